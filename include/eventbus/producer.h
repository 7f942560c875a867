/*
 * The producer: librdkafka's idempotent producer with delivery reports
 * surfaced to the caller.
 *
 * Every record sent carries an opaque pointer; when the broker acknowledged
 * (acks=all) or finally rejected it, the delivery callback receives that
 * pointer and the outcome. Callers build their guarantees on that moment:
 * the outbox relay deletes an entry, a consumer stores an offset.
 *
 * Threading: the producer may be sent to from any thread (librdkafka is
 * thread-safe), but delivery callbacks run only inside eb_producer_poll() and
 * eb_producer_flush(), on the calling thread. One thread, the owner, polls.
 */
#ifndef EVENTBUS_PRODUCER_H
#define EVENTBUS_PRODUCER_H

#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "eventbus/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EB_PARTITION_ANY (-1) /* partition by key (librdkafka's default partitioner) */

/* One Kafka header. value need not be NUL-terminated. */
typedef struct eb_header_s {
    const char *name;
    const void *value;
    size_t size;
} eb_header_t;

/* A record to send. Everything is copied by eb_producer_send(). */
typedef struct eb_record_s {
    const char *topic;
    int32_t partition; /* EB_PARTITION_ANY or an explicit partition */
    const void *key;
    size_t key_len;
    const void *value;
    size_t value_len;
    const eb_header_t *headers; /* may be NULL */
    size_t header_count;
    /* Raw headers copied as they are (the DLQ keeps the original headers byte
     * for byte); added before headers[]. May be NULL. Not taken over. */
    const rd_kafka_headers_t *copy_headers;
} eb_record_t;

/* Called once per record from eb_producer_poll()/flush(): err is EB_OK when
 * the broker acknowledged it, else EB_ERR_KAFKA with librdkafka's reason. */
typedef void(eb_delivery_cb_t)(void *msg_opaque, eb_err_t err, const char *reason, void *opaque);

typedef struct eb_producer_s eb_producer_t;

/* Creates the producer. Takes ownership of conf in every case (also on
 * failure). Forces enable.idempotence=true and acks=all. cb (may be NULL)
 * receives delivery reports with opaque, which must stay valid until
 * eb_producer_destroy() returned. Returns NULL with the reason in errstr;
 * the caller owns the producer (eb_producer_destroy). The thread that
 * creates it is normally its owner, the polling one. */
eb_producer_t *eb_producer_new(rd_kafka_conf_t *conf, eb_delivery_cb_t *cb, void *opaque,
                               char *errstr, size_t errstr_size);

/* Queues one record. Returns EB_OK when queued (the outcome arrives through
 * the delivery callback), EB_ERR_KAFKA when the local queue is full (poll and
 * try again) and EB_ERR_INVALID for records that can never be sent. Any
 * thread. msg_opaque is handed back as is; what it points to is the
 * caller's and must live until its delivery report. */
eb_err_t eb_producer_send(eb_producer_t *p, const eb_record_t *rec, void *msg_opaque, char *errstr,
                          size_t errstr_size);

/* Like eb_producer_send(), but when the local queue is full it serves
 * delivery reports (on the calling thread, which must be the polling one)
 * until there is room or timeout_ms passed. */
eb_err_t eb_producer_send_wait(eb_producer_t *p, const eb_record_t *rec, void *msg_opaque,
                               int timeout_ms, char *errstr, size_t errstr_size);

/* Serves delivery reports for up to timeout_ms, on the calling thread (the
 * owner). Returns the number served. */
int eb_producer_poll(eb_producer_t *p, int timeout_ms);

/* Waits until every queued record has its delivery report or timeout_ms
 * passed, serving the reports on the calling thread (the owner). Returns
 * EB_OK when nothing is outstanding, else EB_ERR_KAFKA. */
eb_err_t eb_producer_flush(eb_producer_t *p, int timeout_ms);

/* Returns 1 once the producer hit a fatal error (e.g. the idempotent
 * producer's sequence broke): every later send fails, so the owner should
 * stop and let the process be restarted. Thread-safe. */
int eb_producer_fatal(eb_producer_t *p);

/* The librdkafka handle, for metadata queries from any thread. Owned by p
 * and valid until eb_producer_destroy(): do not poll or destroy it. */
rd_kafka_t *eb_producer_handle(eb_producer_t *p);

/* Flushes for up to timeout_ms (records still outstanding then are reported
 * as failed through the callback), destroys the handle and frees p. On the
 * owner thread, once no other thread sends. NULL is a no-op. */
void eb_producer_destroy(eb_producer_t *p, int timeout_ms);

#ifdef __cplusplus
}
#endif
#endif /* EVENTBUS_PRODUCER_H */
