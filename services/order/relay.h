/*
 * The outbox relay: publishes what POST /orders stored in the outbox stream.
 *
 * One thread owns a Redis connection and an idempotent producer. It reads
 * the stream as member <instance> of consumer group "relay", produces every
 * entry, and acknowledges and deletes entries (XACK + XDEL, batched) only
 * from the delivery report. So an entry leaves the outbox only once the
 * broker has it; a crash in between publishes it again, byte for byte, with
 * the same event id, and idempotent consumers drop the repeat.
 *
 * Recovery: at start the relay re-reads its own pending entries; every half
 * OUTBOX_CLAIM_IDLE_MS it resets the idle time of the entries it has in
 * flight (XCLAIM ... JUSTID to itself, so a long Kafka outage does not make
 * them look abandoned) and takes over entries another (dead) relay left
 * pending longer than OUTBOX_CLAIM_IDLE_MS (XAUTOCLAIM), then removes the
 * group members such relays leave behind once they hold nothing and have
 * been idle twice that long, so restarts do not pile names up in Redis
 * (XINFO CONSUMERS orders:outbox relay). It never holds more
 * than OUTBOX_MAX_INFLIGHT entries: the rest waits in Redis. Failed
 * deliveries are produced again after a backoff.
 */
#ifndef SERVICES_ORDER_RELAY_H
#define SERVICES_ORDER_RELAY_H

#include <librdkafka/rdkafka.h>

#include "eventbus/redis.h"

typedef struct order_relay_s order_relay_t;

typedef struct order_relay_opts_s {
    const eb_redis_addr_t *redis;
    const char *consumer; /* member name in the relay group: INSTANCE_ID */
    int batch;            /* entries read per XREADGROUP */
    int max_inflight;     /* entries produced and not yet acknowledged */
    int claim_idle_ms;    /* pending longer than this: abandoned */
} order_relay_opts_t;

/* Creates the relay and its producer (takes pconf in every case). Starts no
 * thread. Returns NULL with the reason in errstr. */
order_relay_t *order_relay_new(rd_kafka_conf_t *pconf, const order_relay_opts_t *opts, char *errstr,
                               size_t errstr_size);

/* Starts the relay thread. It runs until eb_stop_flag is set, then waits up
 * to 5 s for in-flight deliveries and acknowledges them. Returns 0 or -1. */
int order_relay_start(order_relay_t *r);

/* Joins the thread (if started) and frees everything. NULL is a no-op. */
void order_relay_destroy(order_relay_t *r);

/* Returns 1 if the relay stopped on a fatal error (the process should exit
 * non-zero). Any thread. */
int order_relay_failed(order_relay_t *r);

/* Monotonic ms when the relay loop last turned, for liveness. Any thread. */
int64_t order_relay_last_loop_ms(order_relay_t *r);

/* The producer's handle, for readiness probes from other threads. */
rd_kafka_t *order_relay_kafka(order_relay_t *r);

#endif /* SERVICES_ORDER_RELAY_H */
