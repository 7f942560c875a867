/*
 * Payment decisions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eventbus/log.h"
#include "eventbus/redis.h"
#include "payment.h"

void payment_decide(const svc_order_t *o, int64_t limit, const char *cause_id, svc_payment_t *p)
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
        eb_uuid_derive(cause_id, "paymentId", p->payment_id);
        /* What inventory-service reserves (docs/saga.md). */
        p->item_count = o->item_count;
        for (size_t i = 0; i < o->item_count; i++) {
            memcpy(p->items[i].product_id, o->items[i].product_id, sizeof(p->items[i].product_id));
            p->items[i].quantity = o->items[i].quantity;
        }
    }
}

/* Encodes the decision as the event to publish. Returns a malloc'd string. */
static char *decision_event(const eb_event_t *cause, const svc_payment_t *p, size_t *len)
{
    eb_event_t ev;
    char *value;

    if (eb_event_derive(&ev, p->failed ? TYPE_PAYMENT_FAILED : TYPE_PAYMENT_PROCESSED,
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

/* A decision made for one work of the batch, before it is stored. */
typedef struct pending_s {
    eb_work_t *w;
    char order_id[SVC_ID_MAX + 1];
    char *event; /* our decision, encoded; malloc'd */
    size_t len;
    int failed; /* our decision is PaymentFailed */
} pending_t;

/* Decides the payment of one OrderCreated; 0 when the work failed. */
static int decide(const payment_ctx_t *ctx, eb_work_t *w, svc_order_t *order, pending_t *d)
{
    const eb_event_t *ev = eb_work_event(w);
    svc_payment_t p;
    svc_verr_t verr;

    if (svc_order_parse(ev->data, SVC_ORDER_EVENT, order, &verr) != EB_OK) {
        eb_work_fail(w, EB_ERR_BAD_EVENT, "invalid OrderCreated data: %s", verr.message);
        return 0;
    }
    if (ev->subject[0] && strcmp(order->order_id, ev->subject) != 0) {
        eb_work_fail(w, EB_ERR_BAD_EVENT, "subject %s does not match orderId %s", ev->subject,
                     order->order_id);
        return 0;
    }
    payment_decide(order, ctx->limit, ev->id, &p);
    d->w = w;
    d->failed = p.failed;
    snprintf(d->order_id, sizeof(d->order_id), "%s", p.order_id);
    d->event = decision_event(ev, &p, &d->len);
    if (!d->event) {
        eb_work_fail(w, EB_ERR_NOMEM, "out of memory");
        return 0;
    }
    return 1;
}

/* Publishes what the store answered for d: the decision stored before (a
 * redelivery, res a string) or ours, just stored (res nil). */
static void publish(pending_t *d, const eb_redis_result_t *res)
{
    int stored_before = res->kind == EB_REDIS_STRING;
    const char *value = stored_before ? res->str : d->event;
    size_t len = stored_before ? res->len : d->len;
    const char *topic = !stored_before
                            ? (d->failed ? TOPIC_PAYMENT_FAILED : TOPIC_PAYMENT_PROCESSED)
                            : decision_topic(value, len);
    eb_log_fields_t f;

    if (!topic) {
        eb_work_fail(d->w, EB_ERR_INVALID, "stored decision for %s is unreadable", d->order_id);
        return;
    }
    eb_work_log_fields(d->w, &f);
    EB_LOG_EV(EB_LOG_DEBUG, &f, "%s payment decision for %s: %s", stored_before ? "stored" : "new",
              d->order_id, topic);
    eb_work_publish_raw(d->w, topic, d->order_id, value, len);
}

void payment_handle_batch(eb_work_t *const *works, size_t n, void *opaque)
{
    const payment_ctx_t *ctx = opaque;
    pending_t *ds = calloc(n, sizeof(*ds));
    svc_order_t *order = malloc(sizeof(*order));
    eb_redis_t *redis = n ? eb_work_redis(works[0]) : NULL;
    eb_redis_pipeline_t *pipe = NULL;
    size_t nd = 0, i;
    eb_err_t err;

    if (!ds || !order) {
        for (i = 0; i < n; i++)
            eb_work_fail(works[i], EB_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < n; i++)
        nd += (size_t)decide(ctx, works[i], order, &ds[nd]);
    if (nd == 0)
        goto out;

    /* Store first, publish second: one decision per order, ever. One
     * pipeline for the batch; SET NX GET answers nil when ours was stored,
     * or the decision stored before. */
    pipe = eb_redis_pipeline_new(redis);
    if (!pipe) {
        for (i = 0; i < nd; i++)
            eb_work_fail(ds[i].w, EB_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < nd; i++)
        eb_redis_pipeline_append(pipe, "SET payment:decision:%s %b NX GET", ds[i].order_id,
                                 ds[i].event, ds[i].len);
    err = eb_redis_pipeline_exec(pipe);
    for (i = 0; i < nd; i++) {
        /* No connection, or it broke (and was dropped): the rest waits for
         * Redis too ("redis unreachable"). An error reply fails only its
         * own command. */
        eb_redis_result_t res = eb_redis_pipeline_result(pipe, i);

        if (res.kind == EB_REDIS_NOREPLY || res.kind == EB_REDIS_ERROR)
            eb_work_fail(ds[i].w, err == EB_ERR_NOMEM ? EB_ERR_NOMEM : EB_ERR_REDIS,
                         "storing the payment decision: %s", res.str);
        else
            publish(&ds[i], &res);
    }
out:
    eb_redis_pipeline_destroy(pipe);
    for (i = 0; ds && i < nd; i++)
        free(ds[i].event);
    free(ds);
    free(order);
}
