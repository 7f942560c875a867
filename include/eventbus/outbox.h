/*
 * The transactional outbox (outbox.c): events stored in a Redis stream in
 * the same MULTI/EXEC (or Lua script) as the state change that causes them,
 * and the relay that publishes them to Kafka. order-service and
 * user-service each run one relay over their own stream.
 *
 * An entry is a stream entry with the fields
 *   topic, key, value (the encoded event, binary-safe), eventId, and
 *   optionally traceparent;
 * eb_outbox_append() writes one into a pipeline; a Lua script that writes
 * its own must use the same fields.
 *
 * The relay publishes what the service stored in its outbox stream.
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
 * (XINFO CONSUMERS <stream> relay). It never holds more
 * than OUTBOX_MAX_INFLIGHT entries: the rest waits in Redis. Failed
 * deliveries are produced again after a backoff.
 */
#ifndef EVENTBUS_OUTBOX_H
#define EVENTBUS_OUTBOX_H

#include <librdkafka/rdkafka.h>

#include "eventbus/redis.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The Redis consumer group every relay reads its stream as. */
#define EB_OUTBOX_GROUP "relay"

/* One event for the outbox. value is value_len bytes; traceparent and
 * tracestate (the trace context of the span that wrote it, traceparent.h)
 * may be NULL or empty; tracestate goes with a traceparent only. The relay
 * sends them as the record's headers. */
typedef struct eb_outbox_entry_s {
    const char *topic;
    const char *key;
    const char *value;
    size_t value_len;
    const char *event_id;
    const char *traceparent;
    const char *tracestate;
} eb_outbox_entry_t;

/* Appends the XADD of e to stream to p (inside the caller's MULTI). The
 * strings are copied into p. On the thread that owns p. */
void eb_outbox_append(eb_redis_pipeline_t *p, const char *stream, const eb_outbox_entry_t *e);

typedef struct eb_outbox_s eb_outbox_t;

typedef struct eb_outbox_opts_s {
    const eb_redis_addr_t *redis;
    const char *stream;   /* the outbox stream, "orders:outbox" */
    const char *consumer; /* member name in the relay group: INSTANCE_ID */
    int batch;            /* entries read per XREADGROUP */
    int max_inflight;     /* entries produced and not yet acknowledged */
    int claim_idle_ms;    /* pending longer than this: abandoned */
} eb_outbox_opts_t;

/* Creates the relay and its producer (takes pconf in every case). opts and
 * its strings are copied. Starts no thread. Returns NULL with the reason in
 * errstr; the caller owns the relay (eb_outbox_destroy). eb_outbox_new(),
 * eb_outbox_start() and eb_outbox_destroy() are called from one thread; the
 * relay's own thread owns its Redis connection and producer. */
eb_outbox_t *eb_outbox_new(rd_kafka_conf_t *pconf, const eb_outbox_opts_t *opts, char *errstr,
                           size_t errstr_size);

/* Starts the relay thread. It runs until eb_stop_flag is set, then waits up
 * to 5 s for in-flight deliveries and acknowledges them. Returns 0 or -1. */
int eb_outbox_start(eb_outbox_t *r);

/* Joins the thread (if started; it ends once eb_stop_flag is set) and
 * frees everything, the handle of eb_outbox_kafka() included. NULL is a
 * no-op. */
void eb_outbox_destroy(eb_outbox_t *r);

/* Returns 1 if the relay stopped on a fatal error (the process should exit
 * non-zero). Any thread. */
int eb_outbox_failed(eb_outbox_t *r);

/* Monotonic ms when the relay loop last turned, for liveness. Any thread. */
int64_t eb_outbox_last_loop_ms(eb_outbox_t *r);

/* The producer's handle, for readiness probes from other threads
 * (metadata queries only). Owned by r, valid until eb_outbox_destroy(). */
rd_kafka_t *eb_outbox_kafka(eb_outbox_t *r);

#ifdef __cplusplus
}
#endif
#endif /* EVENTBUS_OUTBOX_H */
