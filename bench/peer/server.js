'use strict';
/*
 * The peer of bench/intake.sh --peer: POST /orders the way the Express +
 * kafkajs tutorials write it, so that order-service is measured against what
 * a user would pick instead, in the same run, on the same broker.
 *
 * parse JSON -> validate -> await producer.send(acks -1) -> 201 with the
 * order. No outbox, no Redis: a 201 means the broker acknowledged the event.
 * The producer keeps kafkajs' defaults (idempotent off, the default
 * partitioner, retries), as the tutorials do; the event is a CloudEvent
 * shaped like order-service's, with the same content-type header.
 *
 * Settings (environment): KAFKA_BROKERS (host:port[,...], required),
 * PORT (default 0: any free port), BIND_ADDRESS (default 127.0.0.1).
 * Prints "port N" on stdout once it listens. GET /stats answers the number
 * of 201s and of failed sends, for the benchmark's delivery check.
 * SIGTERM: stop listening, disconnect the producer, exit 0.
 */
const crypto = require('crypto');
const express = require('express');
const { Kafka, logLevel } = require('kafkajs');

const brokers = (process.env.KAFKA_BROKERS || '').split(',').filter(Boolean);
if (brokers.length === 0) {
  console.error('KAFKA_BROKERS is not set');
  process.exit(2);
}
const port = Number(process.env.PORT || 0);
const host = process.env.BIND_ADDRESS || '127.0.0.1';

const kafka = new Kafka({ clientId: 'bench-peer', brokers, logLevel: logLevel.WARN });
const producer = kafka.producer();
const stats = { created: 0, failed: 0, invalid: 0 };

function error(res, status, code, message) {
  res.status(status).json({ error: { code, message } });
}

/* null when the order is valid, else what is wrong with it. */
function invalid(body) {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return 'body must be a JSON object';
  if (typeof body.userId !== 'string' || body.userId.length === 0) return 'userId must be a non-empty string';
  if (!Array.isArray(body.items) || body.items.length === 0) return 'items must be a non-empty array';
  for (const it of body.items) {
    if (it === null || typeof it !== 'object') return 'each item must be an object';
    if (typeof it.productId !== 'string' || it.productId.length === 0) return 'productId must be a non-empty string';
    if (!Number.isInteger(it.quantity) || it.quantity < 1 || it.quantity > 10000)
      return 'quantity must be an integer from 1 to 10000';
    if (typeof it.price !== 'number' || !Number.isFinite(it.price) || it.price < 0)
      return 'price must be a number >= 0';
  }
  if (body.currency !== undefined && typeof body.currency !== 'string') return 'currency must be a string';
  return null;
}

const app = express();
app.use(express.json());

app.post('/orders', async (req, res) => {
  const why = invalid(req.body);
  if (why) {
    stats.invalid++;
    return error(res, 400, 'VALIDATION_ERROR', why);
  }
  const { userId, items } = req.body;
  const order = {
    orderId: crypto.randomUUID(),
    status: 'PENDING',
    userId,
    items: items.map(({ productId, quantity, price }) => ({ productId, quantity, price })),
    total: items.reduce((sum, it) => sum + it.quantity * it.price, 0),
    currency: req.body.currency || 'USD',
    createdAt: new Date().toISOString(),
  };
  const event = {
    specversion: '1.0',
    id: crypto.randomUUID(),
    source: '/order-service',
    type: 'OrderCreated',
    time: order.createdAt,
    datacontenttype: 'application/json',
    subject: order.orderId,
    correlationid: order.orderId,
    dataschema: 'urn:eventbus:schema:OrderCreated:1',
    data: {
      orderId: order.orderId,
      userId: order.userId,
      items: order.items,
      total: order.total,
      currency: order.currency,
    },
  };
  try {
    await producer.send({
      topic: 'order-created',
      acks: -1,
      messages: [
        {
          key: order.orderId,
          value: JSON.stringify(event),
          headers: { 'content-type': 'application/cloudevents+json; charset=UTF-8' },
        },
      ],
    });
  } catch (e) {
    stats.failed++;
    return error(res, 503, 'SERVICE_UNAVAILABLE', `the event could not be published: ${e.message}`);
  }
  stats.created++;
  res.status(201).location(`/orders/${order.orderId}`).json(order);
});

app.get('/stats', (req, res) => res.json(stats));

/* Body parser errors (bad JSON, too large) as the suite's JSON errors. */
app.use((err, req, res, next) => {
  if (res.headersSent) return next(err);
  stats.invalid++;
  error(res, err.status || 400, 'VALIDATION_ERROR', err.message);
});

async function main() {
  await producer.connect();
  const server = app.listen(port, host, () => {
    console.log(`port ${server.address().port}`);
  });
  const stop = async () => {
    server.close();
    if (server.closeAllConnections) server.closeAllConnections();
    await producer.disconnect();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e) => {
  console.error(`bench-peer: ${e.message}`);
  process.exit(1);
});
