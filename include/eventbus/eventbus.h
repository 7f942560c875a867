/*
 * eventbus: the suite's shared event library, in one include.
 *
 * Modules (one header and one source file each, named alike: eb_<module>_*):
 *   error       eb_err_t and its retriable/permanent classes
 *   log         JSON-lines logging through a callback
 *   config      table-driven settings, --help and validation
 *   kafka       librdkafka configuration from the settings
 *   envelope    CloudEvents events: made, derived, encoded, decoded
 *   schema      event versions: dataschema per (type, version), upcasters
 *   json        strict parsing of JSON from outside
 *   uuid, time, traceparent   the ids, times and trace context events carry
 *   money       integer minor units on the wire and back
 *   redis       a Redis connection that reconnects with bounded timeouts, and
 *               pipelines with plain results
 *   backoff     exponential backoff (eb_backoff_t), optionally with jitter
 *   producer    idempotent producer with delivery reports
 *   consumer    group consumer: batch, idempotency, retry, DLQ, offsets
 *   work        a handler's view of one consumed event
 *   idempotency event ids handled per consumer group, in Redis
 *   dlq         dead-letter headers (Spring Kafka compatible)
 *   metrics     Prometheus registry and text rendering
 *   admin       /health /ready /metrics
 *   http        libmicrohttpd listener, JSON replies, request metrics
 *   lifecycle   signals and stop flag
 *
 * Not included here: eventbus/http.h, which includes <microhttpd.h>. Code
 * that serves HTTP includes it on its own; everything else stays free of
 * libmicrohttpd's header.
 */
#ifndef EVENTBUS_EVENTBUS_H
#define EVENTBUS_EVENTBUS_H

#include "eventbus/admin.h"
#include "eventbus/backoff.h"
#include "eventbus/config.h"
#include "eventbus/consumer.h"
#include "eventbus/dlq.h"
#include "eventbus/envelope.h"
#include "eventbus/error.h"
#include "eventbus/idempotency.h"
#include "eventbus/json.h"
#include "eventbus/kafka.h"
#include "eventbus/lifecycle.h"
#include "eventbus/log.h"
#include "eventbus/metrics.h"
#include "eventbus/money.h"
#include "eventbus/outbox.h"
#include "eventbus/producer.h"
#include "eventbus/redis.h"
#include "eventbus/schema.h"
#include "eventbus/time.h"
#include "eventbus/traceparent.h"
#include "eventbus/uuid.h"
#include "eventbus/work.h"

#endif /* EVENTBUS_EVENTBUS_H */
