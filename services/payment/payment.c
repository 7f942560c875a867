/*
 * Payment decisions and refunds.
 *
 * Per order, Redis holds the decision (payment:decision:<orderId>: the
 * PaymentProcessed or PaymentFailed event as published, or the tombstone of
 * an order cancelled first) and the refund (payment:refund:<orderId>: the
 * PaymentRefunded event as published). Each is written once and then only
 * read, so whatever a redelivery or a second cause finds is republished as
 * it is. The decision path pipelines a whole batch (SET NX GET); each
 * compensation is one script (compensate_script) that checks the decision
 * and stores the tombstone or the refund in one atomic step.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eventbus/log.h"
#include "eventbus/redis.h"
#include "payment.h"

void payment_decide(const svc_order_t *o, int64_t limit, const char *cause_id, svc_payment_t *p)
{
    /* Every field but the items past item_count: the order's items take
     * 15 KB, and clearing them cost more than the rest of the decision. */
    memset(p, 0, offsetof(svc_payment_t, items));
    snprintf(p->order_id, sizeof(p->order_id), "%s", o->order_id);
    snprintf(p->user_id, sizeof(p->user_id), "%s", o->user_id);
    snprintf(p->currency, sizeof(p->currency), "%s", o->currency);
    p->amount = o->total;
    if (o->total > limit) {
        p->failed = 1;
        snprintf(p->reason, sizeof(p->reason), "%s", PAYMENT_REASON_LIMIT);
        snprintf(p->code, sizeof(p->code), "%s", PAYMENT_CODE_LIMIT);
    } else {
        eb_uuid_derive(cause_id, "paymentId", p->payment_id);
        /* What inventory-service reserves (docs/saga.md). */
        p->item_count = o->item_count;
        for (size_t i = 0; i < o->item_count; i++) {
            memcpy(p->items[i].product_id, o->items[i].product_id, sizeof(p->items[i].product_id));
            p->items[i].quantity = o->items[i].quantity;
            p->items[i].price = 0;
        }
    }
}

void payment_refund(const svc_payment_t *p, const char *reason, svc_refund_t *r)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->order_id, sizeof(r->order_id), "%s", p->order_id);
    snprintf(r->payment_id, sizeof(r->payment_id), "%s", p->payment_id);
    snprintf(r->user_id, sizeof(r->user_id), "%s", p->user_id);
    snprintf(r->currency, sizeof(r->currency), "%s", p->currency);
    snprintf(r->reason, sizeof(r->reason), "%s", reason);
    r->amount = p->amount;
}

eb_err_t payment_refund_event(const char *processed, size_t len, const char *reason, char **out,
                              size_t *out_len, char *errstr, size_t errstr_size)
{
    eb_event_t pev, ev;
    svc_payment_t *p = NULL;
    svc_refund_t r;
    cJSON *data;
    eb_err_t err = EB_ERR_INVALID;

    *out = NULL;
    *out_len = 0;
    if (eb_event_decode(processed, len, &pev, errstr, errstr_size) != EB_OK)
        return EB_ERR_INVALID;
    if (strcmp(pev.type, TYPE_PAYMENT_PROCESSED) != 0) {
        snprintf(errstr, errstr_size, "a %s is no processed payment", pev.type);
        goto out;
    }
    p = malloc(sizeof(*p));
    if (!p) {
        err = EB_ERR_NOMEM;
        goto nomem;
    }
    if (svc_payment_parse(pev.data, 0, p, errstr, errstr_size) != EB_OK)
        goto out;
    payment_refund(p, reason, &r);
    /* The payment event is the cause: the id and time follow from the
     * payment, whichever event asked for the refund. */
    data = svc_refund_json(&r);
    if (!data) {
        err = EB_ERR_NOMEM;
        goto nomem;
    }
    if (eb_event_derive(&ev, TYPE_PAYMENT_REFUNDED, SOURCE_PAYMENT_SERVICE, r.order_id, &pev,
                        data) != EB_OK) {
        cJSON_Delete(data);
        snprintf(errstr, errstr_size, "cannot derive a refund from payment event %s", pev.id);
        goto out;
    }
    *out = svc_stamp(&ev) == EB_OK ? eb_event_encode(&ev, out_len) : NULL;
    eb_event_close(&ev);
    err = *out ? EB_OK : EB_ERR_NOMEM;
nomem:
    if (err == EB_ERR_NOMEM)
        snprintf(errstr, errstr_size, "out of memory");
out:
    eb_event_close(&pev);
    free(p);
    return err;
}

/* Encodes the decision as the event to publish, its data written as text
 * (svc_payment_render: the bytes the cJSON tree printed). Returns a
 * malloc'd string. */
static char *decision_event(const eb_event_t *cause, const svc_payment_t *p, size_t *len)
{
    size_t data_len;
    char *data = svc_payment_render(p, &data_len);
    eb_event_t ev;
    char *value = NULL;

    if (data && eb_event_derive(&ev, p->failed ? TYPE_PAYMENT_FAILED : TYPE_PAYMENT_PROCESSED,
                                SOURCE_PAYMENT_SERVICE, p->order_id, cause, NULL) == EB_OK) {
        if (svc_stamp(&ev) == EB_OK)
            value = eb_event_encode_json(&ev, data, data_len, len);
        eb_event_close(&ev);
    }
    free(data);
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

static int is_tombstone(const char *value, size_t len)
{
    return len == strlen(PAYMENT_TOMBSTONE) && memcmp(value, PAYMENT_TOMBSTONE, len) == 0;
}

/* Publishes what the store answered for d: the decision stored before (a
 * redelivery, res a string) or ours, just stored (res nil). A tombstone
 * stored before publishes nothing: the order was cancelled first. */
static void publish(pending_t *d, const eb_redis_result_t *res)
{
    int stored_before = res->kind == EB_REDIS_STRING;
    const char *value = stored_before ? res->str : d->event;
    size_t len = stored_before ? res->len : d->len;
    int cancelled = stored_before && is_tombstone(value, len);
    const char *topic = cancelled ? NULL
                        : !stored_before
                            ? (d->failed ? TOPIC_PAYMENT_FAILED : TOPIC_PAYMENT_PROCESSED)
                            : decision_topic(value, len);
    eb_log_fields_t f;

    eb_work_log_fields(d->w, &f);
    if (cancelled) {
        EB_LOG_EV(EB_LOG_INFO, &f, "order %s was cancelled before its payment: not charged",
                  d->order_id);
        return;
    }
    if (!topic) {
        eb_work_fail(d->w, EB_ERR_INVALID, "stored decision for %s is unreadable", d->order_id);
        return;
    }
    EB_LOG_EV(EB_LOG_DEBUG, &f, "%s payment decision for %s: %s", stored_before ? "stored" : "new",
              d->order_id, topic);
    eb_work_publish_raw(d->w, topic, d->order_id, value, len);
}

/* One compensation, atomically. KEYS[1] payment:decision:<orderId>,
 * KEYS[2] payment:refund:<orderId>; ARGV[1] the tombstone, ARGV[2] our
 * refund, or "" when it is not built yet (the decision is needed for that).
 * Answers {"none"} (no decision: the tombstone is now stored), {"nothing"}
 * (PaymentFailed or tombstone: nothing was charged), {"unreadable"},
 * {"refund", <the stored refund: ours, or the one stored before>} or
 * {"processed", <the PaymentProcessed event>} when a refund is due and
 * ARGV[2] was "": the caller builds the refund from it and runs the script
 * again. The decision never changes once stored, so the second run finds
 * the same payment. */
static const char compensate_script[] =
    "local d = redis.call('GET', KEYS[1])\n"
    "if not d then\n"
    "  redis.call('SET', KEYS[1], ARGV[1])\n"
    "  return {'none'}\n"
    "end\n"
    "if d == ARGV[1] then return {'nothing'} end\n"
    "local ok, ev = pcall(cjson.decode, d)\n"
    "if not ok or type(ev) ~= 'table' then return {'unreadable'} end\n"
    "if ev['type'] ~= '" TYPE_PAYMENT_PROCESSED "' then return {'nothing'} end\n"
    "if ARGV[2] ~= '' then redis.call('SET', KEYS[2], ARGV[2], 'NX') end\n"
    "local r = redis.call('GET', KEYS[2])\n"
    "if r then return {'refund', r} end\n"
    "return {'processed', d}\n";

/* The order an OrderCancelled or InventoryInsufficient is about, into
 * order_id; 0 when the work failed (invalid data: dead-lettered). */
static int compensation_order(eb_work_t *w, int cancel, char *order_id, size_t size)
{
    const eb_event_t *ev = eb_work_event(w);
    svc_order_change_t change;
    svc_stock_t *stock = NULL;
    char errstr[256];
    eb_err_t err;

    if (cancel) {
        err = svc_order_change_parse(ev->data, 1, &change, errstr, sizeof(errstr));
        snprintf(order_id, size, "%s", change.order_id);
    } else {
        stock = malloc(sizeof(*stock));
        if (!stock) {
            eb_work_fail(w, EB_ERR_NOMEM, "out of memory");
            return 0;
        }
        err = svc_stock_parse(ev->data, 1, stock, errstr, sizeof(errstr));
        snprintf(order_id, size, "%s", stock->order_id);
        free(stock);
    }
    if (err != EB_OK) {
        eb_work_fail(w, EB_ERR_BAD_EVENT, "invalid %s data: %s", ev->type, errstr);
        return 0;
    }
    if (ev->subject[0] && strcmp(order_id, ev->subject) != 0) {
        eb_work_fail(w, EB_ERR_BAD_EVENT, "subject %s does not match orderId %s", ev->subject,
                     order_id);
        return 0;
    }
    return 1;
}

/* Handles one OrderCancelled or InventoryInsufficient: the script, run once
 * or, when a refund has to be built first, twice. */
static void compensate(eb_work_t *w)
{
    const eb_event_t *ev = eb_work_event(w);
    int cancel = strcmp(ev->type, TYPE_ORDER_CANCELLED) == 0;
    const char *reason = cancel ? REASON_CANCELLED : REASON_OUT_OF_STOCK;
    char order_id[SVC_ID_MAX + 1], errstr[256];
    char *refund = NULL;
    size_t refund_len = 0;
    eb_log_fields_t f;

    if (!compensation_order(w, cancel, order_id, sizeof(order_id)))
        return;
    eb_work_log_fields(w, &f);
    for (int run = 0; run < 2; run++) {
        eb_redis_pipeline_t *pipe = eb_redis_pipeline_new(eb_work_redis(w));
        eb_redis_result_t res, tag, value;
        eb_err_t err;

        if (!pipe) {
            eb_work_fail(w, EB_ERR_NOMEM, "out of memory");
            break;
        }
        eb_redis_pipeline_append(pipe, "EVAL %s 2 payment:decision:%s payment:refund:%s %s %b",
                                 compensate_script, order_id, order_id, PAYMENT_TOMBSTONE,
                                 refund ? refund : "", refund_len);
        err = eb_redis_pipeline_exec(pipe);
        res = eb_redis_pipeline_result(pipe, 0);
        tag = eb_redis_result_element(&res, 0);
        value = eb_redis_result_element(&res, 1);
        if (res.kind == EB_REDIS_NOREPLY || res.kind == EB_REDIS_ERROR) {
            eb_work_fail(w, err == EB_ERR_NOMEM ? EB_ERR_NOMEM : EB_ERR_REDIS,
                         "compensating the payment: %s", res.str);
        } else if (strcmp(tag.str, "none") == 0) {
            EB_LOG_EV(EB_LOG_INFO, &f,
                      "order %s cancelled before its payment was decided: it will not be charged",
                      order_id);
        } else if (strcmp(tag.str, "nothing") == 0) {
            EB_LOG_EV(EB_LOG_INFO, &f, "order %s was not charged: nothing to refund", order_id);
        } else if (strcmp(tag.str, "refund") == 0 && value.kind == EB_REDIS_STRING) {
            int ours =
                refund && value.len == refund_len && memcmp(value.str, refund, refund_len) == 0;

            EB_LOG_EV(EB_LOG_DEBUG, &f, "%s refund for %s: %s", ours ? "new" : "stored", order_id,
                      TOPIC_PAYMENT_REFUNDED);
            eb_work_publish_raw(w, TOPIC_PAYMENT_REFUNDED, order_id, value.str, value.len);
        } else if (strcmp(tag.str, "processed") == 0 && value.kind == EB_REDIS_STRING && !refund) {
            /* A refund is due and none is stored: build ours, store it. */
            err = payment_refund_event(value.str, value.len, reason, &refund, &refund_len, errstr,
                                       sizeof(errstr));
            eb_redis_pipeline_destroy(pipe);
            if (err == EB_OK)
                continue;
            eb_work_fail(w, err, "stored payment of %s cannot be refunded: %s", order_id, errstr);
            break;
        } else {
            /* "unreadable", or an answer no script run gives. */
            eb_work_fail(w, EB_ERR_INVALID, "stored payment decision for %s is unreadable (%s)",
                         order_id, tag.str);
        }
        eb_redis_pipeline_destroy(pipe);
        break;
    }
    free(refund);
}

/* Decisions written to Redis at a time while the batch is decided. */
#define DECISION_FLUSH 256

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
    /* Store first, publish second: one decision per order, ever. One
     * pipeline for the batch, written to Redis in pieces as the decisions
     * are made (Redis stores some while the rest are decided); SET NX GET
     * answers nil when ours was stored, or the decision stored before. */
    pipe = redis ? eb_redis_pipeline_new(redis) : NULL;
    for (i = 0; i < n; i++)
        if (strcmp(eb_work_event(works[i])->type, TYPE_ORDER_CREATED) == 0) {
            eb_work_log_context(works[i]); /* lines of this event name it and its span */
            if (!decide(ctx, works[i], order, &ds[nd]))
                continue;
            if (pipe)
                eb_redis_pipeline_append(pipe, "SET payment:decision:%s %b NX GET", ds[nd].order_id,
                                         ds[nd].event, ds[nd].len);
            if (++nd % DECISION_FLUSH == 0 && pipe)
                (void)eb_redis_pipeline_flush(pipe); /* a failure shows at exec */
        }
    eb_work_log_context(NULL);
    if (nd == 0)
        goto compensations;
    if (!pipe) {
        for (i = 0; i < nd; i++)
            eb_work_fail(ds[i].w, EB_ERR_NOMEM, "out of memory");
        goto compensations;
    }
    err = eb_redis_pipeline_exec(pipe);
    for (i = 0; i < nd; i++) {
        /* No connection, or it broke (and was dropped): the rest waits for
         * Redis too ("redis unreachable"). An error reply fails only its
         * own command. */
        eb_redis_result_t res = eb_redis_pipeline_result(pipe, i);

        eb_work_log_context(ds[i].w);
        if (res.kind == EB_REDIS_NOREPLY || res.kind == EB_REDIS_ERROR)
            eb_work_fail(ds[i].w, err == EB_ERR_NOMEM ? EB_ERR_NOMEM : EB_ERR_REDIS,
                         "storing the payment decision: %s", res.str);
        else
            publish(&ds[i], &res);
    }
compensations:
    /* After the decisions: a batch that holds an order's OrderCreated and
     * its cancel charges, then refunds. Either order would end consistent. */
    for (i = 0; i < n; i++)
        if (strcmp(eb_work_event(works[i])->type, TYPE_ORDER_CREATED) != 0) {
            eb_work_log_context(works[i]);
            compensate(works[i]);
        }
    eb_work_log_context(NULL);
out:
    eb_redis_pipeline_destroy(pipe);
    for (i = 0; ds && i < nd; i++)
        free(ds[i].event);
    free(ds);
    free(order);
}
