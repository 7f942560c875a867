/*
 * The handler's view of one consumed record (eb_work_*), and the delivery
 * reports of what a handler publishes (tickets: see work_int.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eb_int.h"
#include "eventbus/log.h"
#include "eventbus/work.h"
#include "work_int.h"

#define TICKET_INDEX_BITS 24

void *eb__work_ticket(const eb_batch_t *b, const eb_work_t *w)
{
    uint64_t idx = (uint64_t)(w - b->works) + 1;

    return (void *)(uintptr_t)((b->turn << TICKET_INDEX_BITS) | idx);
}

void eb__work_delivered(void *msg_opaque, eb_err_t err, const char *reason, void *opaque)
{
    eb_batch_t *b = opaque;
    uint64_t t = (uint64_t)(uintptr_t)msg_opaque;
    uint64_t idx = t & ((UINT64_C(1) << TICKET_INDEX_BITS) - 1);
    eb_work_t *w;

    if (!msg_opaque || t >> TICKET_INDEX_BITS != (b->turn & (UINT64_MAX >> TICKET_INDEX_BITS)) ||
        idx == 0 || idx > b->nworks)
        return; /* a late report from an earlier turn */
    w = &b->works[idx - 1];
    w->pending--;
    b->pending_total--;
    if (err) {
        w->publish_failed = 1;
        /* A failed dead letter keeps the reason it carries (the record is
         * dead-lettered again with it); a failed result is the reason. */
        if (w->dlq == EB_TURN_KEEP)
            snprintf(w->reason, sizeof(w->reason), "publish failed: %s", reason ? reason : "?");
        else
            EB_WARN("dead letter of %s[%d] offset %lld not acknowledged: %s", w->topic,
                    (int)w->msg->partition, (long long)w->msg->offset, reason ? reason : "?");
    }
}

const eb_event_t *eb_work_event(const eb_work_t *w)
{
    return &w->ev;
}

const char *eb_work_topic(const eb_work_t *w)
{
    return w->topic;
}

int32_t eb_work_partition(const eb_work_t *w)
{
    return w->msg->partition;
}

int64_t eb_work_offset(const eb_work_t *w)
{
    return w->msg->offset;
}

const char *eb_work_traceparent(const eb_work_t *w)
{
    return w->trace.traceparent;
}

const eb_trace_t *eb_work_trace(const eb_work_t *w)
{
    return &w->trace;
}

int eb_work_attempt(const eb_work_t *w)
{
    return w->attempt;
}

eb_redis_t *eb_work_redis(eb_work_t *w)
{
    return w->b->redis;
}

void eb_work_log_fields(const eb_work_t *w, eb_log_fields_t *f)
{
    eb_log_fields_t init = EB_LOG_FIELDS_INIT;

    *f = init;
    if (w->decoded) {
        f->event_id = w->ev.id;
        f->type = w->ev.type;
        f->order_id = w->ev.subject;
        f->correlation_id = w->ev.correlationid;
    }
    f->trace_id = w->trace.trace_id;
    f->span_id = w->trace.span_id;
    f->parent_span_id = w->trace.parent_id[0] ? w->trace.parent_id : NULL;
    f->topic = w->topic;
    f->partition = w->msg->partition;
    f->offset = w->msg->offset;
}

void eb_work_log_context(eb_work_t *w)
{
    if (!w) {
        eb_log_set_context(NULL);
        return;
    }
    eb_work_log_fields(w, &w->logf);
    eb_log_set_context(&w->logf);
}

eb_err_t eb_work_fail(eb_work_t *w, eb_err_t err, const char *fmt, ...)
{
    va_list ap;

    w->result = err;
    va_start(ap, fmt);
    vsnprintf(w->reason, sizeof(w->reason), fmt, ap);
    va_end(ap);
    return err;
}

eb_err_t eb_work_publish_raw(eb_work_t *w, const char *topic, const char *key, const void *value,
                             size_t value_len)
{
    eb_batch_t *b = w->b;
    eb_header_t hs[EB_EVENT_HEADERS_MAX];
    eb_record_t rec = {topic, EB_PARTITION_ANY,
                       key,   key ? strlen(key) : 0,
                       value, value_len,
                       hs,    eb__event_headers(hs, w->trace.traceparent, w->trace.tracestate),
                       NULL};
    char errstr[256];
    eb_err_t err;

    err = eb_producer_send_wait(b->producer, &rec, eb__work_ticket(b, w), b->publish_timeout_ms,
                                errstr, sizeof(errstr));
    if (err)
        return eb_work_fail(w, err, "publish to %s: %s", topic, errstr);
    w->pending++;
    b->pending_total++;
    return EB_OK;
}

eb_err_t eb_work_publish(eb_work_t *w, const char *topic, const char *key, const eb_event_t *ev)
{
    size_t len;
    char *value = eb_event_encode(ev, &len);
    eb_err_t err;

    if (!value)
        return eb_work_fail(w, EB_ERR_NOMEM, "out of memory encoding %s", ev->type);
    err = eb_work_publish_raw(w, topic, key, value, len);
    free(value);
    return err;
}
