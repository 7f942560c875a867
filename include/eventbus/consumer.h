/*
 * The consumer: a Kafka consumer group member that turns messages into
 * handled events, at least once, with effects once.
 *
 * One thread, the one calling eb_consumer_run(), owns everything here: the
 * librdkafka consumer, the producer used for results and dead letters, and
 * the Redis connection used for idempotency. Each turn of the loop:
 *
 *   1. takes a batch of messages from the consumer queue;
 *   2. decodes each as a CloudEvent; what cannot be decoded, or has a type
 *      the consumer does not handle, is a permanent failure;
 *   3. claims every event id for this consumer group in Redis (one pipeline,
 *      SET NX PX with a lease); an id already marked done is a duplicate
 *      and is skipped;
 *   4. runs the handler on each claimed event, partition by partition in
 *      offset order, renewing the claims while the handlers run;
 *   5. waits for the broker to acknowledge what the handlers published;
 *   6. decides, per partition in offset order: a permanent failure, or a
 *      retriable one out of attempts, goes to <topic>-dlq (at once, whatever
 *      follows it); the first record that is not settled (retrying, or
 *      waiting for Redis or Kafka) holds back those behind it;
 *   7. marks handled ids done (long TTL) and releases the other claims
 *      (sent, not awaited: the replies are read at the next turn's claims);
 *   8. stores the offsets up to the first record not settled, pauses that
 *      partition and seeks it back there; the record is retried after a
 *      backoff while the loop keeps serving the other partitions (and the
 *      group keeps its members).
 *
 * Each record is attempted at most 1 + retry_max times; the count lives
 * with the partition and is dropped when the partition is revoked (the
 * next owner starts afresh, which errs towards more attempts, never fewer).
 *
 * Offsets are committed by librdkafka's auto-commit of stored offsets, when
 * partitions are revoked and on close, so only final messages are ever
 * committed. Redis or Kafka being unreachable is never a reason to skip or
 * dead-letter a message: the consumer waits, retries and reports not-ready.
 *
 * The events of a turn are decoded into cJSON trees from a per-thread arena,
 * for which eb_consumer_new() sets cJSON's allocation hooks (cJSON_InitHooks)
 * for the whole process: create consumers before other threads use cJSON,
 * and do not set hooks of your own. With hooks set, cJSON prints without
 * realloc (it grows its buffer by copying), everywhere in the process. A
 * handler must not keep an event's data tree, or any part of it, past its
 * turn.
 *
 * Events a handler emits should be derived from the event that caused them
 * (eb_event_derive): the same input then gives byte-identical output, so a
 * decision taken twice (after Redis lost its data, or a crash before the
 * done-mark) is deduplicated downstream by its id.
 */
#ifndef EVENTBUS_CONSUMER_H
#define EVENTBUS_CONSUMER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "eventbus/envelope.h"
#include "eventbus/error.h"
#include "eventbus/log.h"
#include "eventbus/redis.h"
#include "eventbus/schema.h"
#include "eventbus/work.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct eb_consumer_s eb_consumer_t;

/* Handles one event. work is valid only during the call (work.h). Returns
 * EB_OK, or the error (with eb_work_fail() giving
 * the reason) whose class decides what happens: EB_ERR_BAD_EVENT and the other
 * permanent errors dead-letter the message at once, EB_ERR_TRANSIENT retries
 * it with backoff up to retry_max times, EB_ERR_REDIS and EB_ERR_KAFKA make
 * the consumer wait for the infrastructure without counting an attempt.
 * Runs on the consumer thread. */
typedef eb_err_t(eb_handler_t)(eb_work_t *work, void *opaque);

/* Handles every claimed event of a turn at once, in offset order per
 * partition, so a handler can pipeline its own Redis work. Each work's
 * outcome is EB_OK unless the handler calls eb_work_fail() on it; the
 * classes are those of eb_handler_t. After a failed work, the later works of
 * its partition are not committed this turn even though they were handled:
 * they come back and are skipped as duplicates, so a batch handler's effects
 * must be idempotent like any handler's. While a partition retries a record,
 * the batch carries that record alone for it. Runs on the consumer
 * thread. */
typedef void(eb_batch_handler_t)(eb_work_t *const *works, size_t n, void *opaque);

/* Called after the handlers of a batch ran and before their events are
 * marked done, e.g. to fsync a file the handlers appended to. A failure
 * makes every event of the batch that was handled retry (as infrastructure).
 * May be NULL. Runs on the consumer thread. */
typedef eb_err_t(eb_batch_end_cb_t)(void *opaque);

/* Called on the consumer thread at every turn of the loop (at least every
 * 100 ms), before a batch is taken: housekeeping such as reopening a file
 * after SIGHUP. May be NULL. */
typedef void(eb_tick_cb_t)(void *opaque);

typedef struct eb_consumer_opts_s {
    const char *group_id;      /* consumer group, also the idempotency namespace */
    const char *instance_id;   /* names this member in claims and logs */
    const char *const *topics; /* topics to subscribe to */
    size_t topic_count;
    const char *const *event_types; /* CloudEvent types handled; others are dead-lettered */
    size_t event_type_count;
    /* Versions of the handled types (schema.h): every event is upcast to the
     * newest before its handler runs; an unknown dataschema is dead-lettered.
     * NULL: data as it comes. Not copied: must outlive the consumer. */
    const eb_schemas_t *schemas;
    eb_handler_t *handler;             /* per event; or: */
    eb_batch_handler_t *batch_handler; /* per batch (exactly one of the two) */
    eb_batch_end_cb_t *batch_end;
    eb_tick_cb_t *tick;
    void *opaque;                 /* passed to handler, batch_end and tick */
    const eb_redis_addr_t *redis; /* Redis for idempotency and handlers; required */
    int retry_max;                /* attempts after the first before the DLQ */
    int retry_backoff_ms;         /* first backoff; doubles, full jitter */
    int retry_backoff_max_ms;     /* cap; 0 means 10000 */
    int batch_size;               /* messages per turn; 0 means 500 */
    int claim_lease_ms;           /* how long a claim lives; 0 means 15000 */
    int64_t done_ttl_s;           /* how long a done-mark lives; 0 means 7 days */
    int publish_timeout_ms;       /* wait for acknowledgements; 0 means 30000 */
    int stats_interval_ms;        /* librdkafka statistics (consumer_lag) when the conf
                                   * sets no statistics.interval.ms: 0 means 5000,
                                   * negative leaves them off */
    /* Exactly-once mode: what the handlers of a turn publish (results and
     * dead letters) and the input offsets the turn settles are committed in
     * one Kafka transaction; the producer's transactional.id is
     * "<group_id>-<instance_id>", so give an instance the same id when it
     * restarts (its open transaction is then aborted at once; otherwise
     * after transaction.timeout.ms). Consumers downstream must read with
     * isolation.level=read_committed (librdkafka's default). Redis
     * idempotency stays, for effects outside Kafka; done-marks are written
     * only after the commit. Needs a Kafka cluster (2.5 or later): the
     * embedded mock broker accepts the calls but keeps no offsets of a
     * transaction. */
    int exactly_once;
} eb_consumer_opts_t;

/* Creates the consumer and its producer and subscribes. Takes ownership of
 * both confs in every case (do not destroy them after the call, even when it
 * fails). opts itself is copied; what it points to (strings, arrays,
 * schemas, opaque) must stay valid until eb_consumer_destroy() returns.
 * Returns NULL with the reason in errstr; the caller owns the consumer and
 * frees it with eb_consumer_destroy(). Makes no blocking call.
 *
 * Threading: eb_consumer_new(), eb_consumer_run() and eb_consumer_destroy()
 * are called from one thread, the owner; the handlers and callbacks of opts
 * run on it, inside eb_consumer_run(). Only eb_consumer_status() and
 * eb_consumer_handle() may be called from other threads. */
eb_consumer_t *eb_consumer_new(rd_kafka_conf_t *consumer_conf, rd_kafka_conf_t *producer_conf,
                               const eb_consumer_opts_t *opts, char *errstr, size_t errstr_size);

/* Runs the loop on the calling thread until *stop becomes non-zero (stop
 * may be eb_stop_flag, set by a signal, or a flag of the caller's, set from
 * any thread), then hands back unfinished
 * messages, commits stored offsets and leaves the group, waiting on the
 * brokers for a few seconds at most: with no coordinator reachable it
 * gives up (the group expires the member after session.timeout.ms, and
 * uncommitted offsets are redelivered to an idempotent next owner).
 * Returns EB_OK after a clean stop, EB_ERR_KAFKA after a fatal client
 * error. */
eb_err_t eb_consumer_run(eb_consumer_t *c, const atomic_int *stop);

/* Flushes the producer (up to 3 s), closes and frees everything, the
 * handles of eb_consumer_handle() and the works included. Call after
 * eb_consumer_run() returned (or instead of it), on the owner thread, once
 * no other thread uses the consumer. NULL is a no-op. */
void eb_consumer_destroy(eb_consumer_t *c);

/* What /ready needs: fills *st (caller's storage). Any thread, until
 * eb_consumer_destroy(). */
typedef struct eb_consumer_status_s {
    int joined;           /* has received an assignment since it last lost one */
    int assigned;         /* partitions currently assigned */
    int64_t last_loop_ms; /* monotonic time the loop last turned */
} eb_consumer_status_t;

void eb_consumer_status(const eb_consumer_t *c, eb_consumer_status_t *st);

/* The librdkafka consumer handle, for metadata queries from other threads
 * (rd_kafka_metadata, eb_kafka_reachable). Owned by c and valid until
 * eb_consumer_destroy(): do not poll, close or destroy it. */
rd_kafka_t *eb_consumer_handle(eb_consumer_t *c);

#ifdef __cplusplus
}
#endif
#endif /* EVENTBUS_CONSUMER_H */
