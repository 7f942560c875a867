/*
 * The handler's view of one consumed event (work.c): what it is, where it
 * came from, which attempt this is, and how to fail it or publish what it
 * causes. The consumer (consumer.h) hands each handler its works.
 */
#ifndef EVENTBUS_WORK_H
#define EVENTBUS_WORK_H

#include <stddef.h>
#include <stdint.h>

#include "eventbus/envelope.h"
#include "eventbus/error.h"
#include "eventbus/log.h"
#include "eventbus/redis.h"
#include "eventbus/traceparent.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One consumed event while a handler works on it. Valid only during the
 * handler call; copy what must outlive it. Owned by the consumer: every
 * eb_work_* function is called on the consumer thread, from inside the
 * handler (or batch handler) that received w, never from another thread.
 * Pointers the functions below return point into w or the consumer and
 * share w's lifetime. */
typedef struct eb_work_s eb_work_t;

/* The event, decoded and upcast to the newest version the consumer's
 * registry knows (its data is a cJSON tree owned by w: read it, or
 * cJSON_Duplicate() what must be kept). */
const eb_event_t *eb_work_event(const eb_work_t *w);
const char *eb_work_topic(const eb_work_t *w);
int32_t eb_work_partition(const eb_work_t *w);
int64_t eb_work_offset(const eb_work_t *w);

/* This hop's trace context (traceparent.h): the span the consumer started
 * for this attempt at the event, a child of the span in the record's
 * traceparent header (or a new trace when it had none), with the
 * tracestate it carried. What the handler publishes carries it on. */
const eb_trace_t *eb_work_trace(const eb_work_t *w);

/* The traceparent this hop sends on (this span's), NUL-terminated: the
 * value eb_work_publish() puts on what the handler publishes. */
const char *eb_work_traceparent(const eb_work_t *w);

/* 1 on the first attempt, 2 on the first retry, ... */
int eb_work_attempt(const eb_work_t *w);

/* The consumer thread's Redis connection, for the handler's own state.
 * Owned by the consumer: use it during the call, never destroy or keep it. */
eb_redis_t *eb_work_redis(eb_work_t *w);

/* Makes w's event context (eb_work_log_fields) the calling thread's log
 * context (eb_log_set_context), so every line logged without fields names
 * the event, its trace and span; NULL clears it. The consumer does this
 * around each call of a per-event handler; a batch handler calls it for
 * each work it turns to, and the consumer clears it when the batch handler
 * returns. Consumer thread only. */
void eb_work_log_context(eb_work_t *w);

/* Fills f (caller's storage) with the event's context for EB_LOG_EV; its
 * strings point into w. */
void eb_work_log_fields(const eb_work_t *w, eb_log_fields_t *f);

/* Records that the work failed with err and why (formatted and copied, for
 * logs and the DLQ header) and returns err, so handlers can write
 * `return eb_work_fail(w, EB_ERR_BAD_EVENT, "...")`. */
eb_err_t eb_work_fail(eb_work_t *w, eb_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Publishes an event caused by this work: encodes ev, keys it with key, and
 * copies the traceparent header. Everything is copied: ev stays the caller's
 * (eb_event_close() it). The offset of the work is stored only after
 * the broker acknowledged every record it published; a failed delivery makes
 * the work retry. A failure to queue the record calls eb_work_fail() itself
 * and returns its error (EB_ERR_KAFKA, EB_ERR_NOMEM, ...): return it. */
eb_err_t eb_work_publish(eb_work_t *w, const char *topic, const char *key, const eb_event_t *ev);

/* Same with an already encoded value (a stored event republished as is),
 * copied. The value must be a structured-mode CloudEvent: the record gets
 * the same content-type header as every event. */
eb_err_t eb_work_publish_raw(eb_work_t *w, const char *topic, const char *key, const void *value,
                             size_t value_len);

#ifdef __cplusplus
}
#endif
#endif /* EVENTBUS_WORK_H */
