/*
 * Payment decisions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eventbus/log.h"
#include "eventbus/redis.h"
#include "payment.h"

void payment_decide(const svc_order_t *o, int64_t limit, svc_payment_t *p)
{
    memset(p, 0, sizeof(*p));
    snprintf(p->order_id, sizeof(p->order_id), "%s", o->order_id);
    snprintf(p->user_id, sizeof(p->user_id), "%s", o->user_id);
    snprintf(p->currency, sizeof(p->currency), "%s", o->currency);
    p->amount = o->total;
    if (o->total > limit) {
        p->failed = 1;
        snprintf(p->reason, sizeof(p->reason), "%s", PAYMENT_REASON_LIMIT);
    } else {
        eb_uuid_generate(p->payment_id);
    }
}

/* Encodes the decision as the event to publish. Returns a malloc'd string. */
static char *decision_event(const eb_event_t *cause, const svc_payment_t *p, size_t *len)
{
    eb_event_t ev;
    char *value;

    if (eb_event_init(&ev, p->failed ? TYPE_PAYMENT_FAILED : TYPE_PAYMENT_PROCESSED,
                      SOURCE_PAYMENT_SERVICE, p->order_id, cause, svc_payment_json(p)) != EB_OK)
        return NULL;
    value = ev.data ? eb_event_encode(&ev, len) : NULL;
    eb_event_close(&ev);
    return value;
}

/* The topic a stored decision goes to, from its type. */
static const char *decision_topic(const char *value, size_t len)
{
    eb_event_t ev;
    char errstr[128];
    const char *topic = NULL;

    if (eb_event_decode(value, len, &ev, errstr, sizeof(errstr)) != EB_OK)
        return NULL;
    if (strcmp(ev.type, TYPE_PAYMENT_PROCESSED) == 0)
        topic = TOPIC_PAYMENT_PROCESSED;
    else if (strcmp(ev.type, TYPE_PAYMENT_FAILED) == 0)
        topic = TOPIC_PAYMENT_FAILED;
    eb_event_close(&ev);
    return topic;
}

eb_err_t payment_handle(eb_work_t *w, void *opaque)
{
    const payment_ctx_t *ctx = opaque;
    const eb_event_t *ev = eb_work_event(w);
    eb_log_fields_t f;
    svc_verr_t verr;
    svc_order_t *order;
    svc_payment_t p;
    redisReply *rep;
    const char *topic, *value;
    char *mine = NULL;
    size_t len, value_len;
    eb_err_t err;

    order = malloc(sizeof(*order));
    if (!order)
        return eb_work_fail(w, EB_ERR_NOMEM, "out of memory");
    if (svc_order_parse(ev->data, SVC_ORDER_EVENT, order, &verr) != EB_OK) {
        err = eb_work_fail(w, EB_ERR_BAD_EVENT, "invalid OrderCreated data: %s", verr.message);
        goto out;
    }
    if (strcmp(order->order_id, ev->subject) != 0 && ev->subject[0]) {
        err = eb_work_fail(w, EB_ERR_BAD_EVENT, "subject %s does not match orderId %s", ev->subject,
                           order->order_id);
        goto out;
    }
    payment_decide(order, ctx->limit, &p);
    mine = decision_event(ev, &p, &len);
    if (!mine) {
        err = eb_work_fail(w, EB_ERR_NOMEM, "out of memory");
        goto out;
    }

    /* Store first, publish second: one decision per order, ever. */
    rep = eb_redis_command(eb_work_redis(w), "SET payment:decision:%s %b NX GET", p.order_id, mine,
                           len);
    if (!rep || rep->type == REDIS_REPLY_ERROR) {
        err = eb_work_fail(w, EB_ERR_REDIS, "storing the payment decision: %s",
                           rep ? rep->str : "redis unreachable");
        if (rep)
            freeReplyObject(rep);
        goto out;
    }
    value = rep->type == REDIS_REPLY_STRING ? rep->str : mine;
    value_len = rep->type == REDIS_REPLY_STRING ? rep->len : len;
    topic = decision_topic(value, value_len);
    eb_work_log_fields(w, &f);
    if (!topic) {
        err = eb_work_fail(w, EB_ERR_INVALID, "stored decision for %s is unreadable", p.order_id);
    } else {
        EB_LOG_EV(EB_LOG_DEBUG, &f, "%s payment decision for %s: %s",
                  value == mine ? "new" : "stored", p.order_id, topic);
        err = eb_work_publish_raw(w, topic, p.order_id, value, value_len);
    }
    freeReplyObject(rep);
out:
    free(mine);
    free(order);
    return err;
}
