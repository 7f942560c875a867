/*
 * The inventory events: PaymentProcessed, OrderCancelled, OrderCompleted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/domain.h"
#include "eventbus/log.h"
#include "handler.h"
#include "store.h"

static const char *kind_topic(inventory_kind_t k)
{
    switch (k) {
    case INVENTORY_RESERVED:
        return TOPIC_INVENTORY_RESERVED;
    case INVENTORY_INSUFFICIENT:
        return TOPIC_INVENTORY_INSUFFICIENT;
    case INVENTORY_RELEASED:
        return TOPIC_INVENTORY_RELEASED;
    default:
        return NULL;
    }
}

/* Publishes what the store answered (nothing for INVENTORY_NONE). */
static eb_err_t publish(eb_work_t *w, const char *order_id, const inventory_outcome_t *o,
                        const char *what)
{
    const char *topic = kind_topic(o->kind);
    eb_log_fields_t f;

    eb_work_log_fields(w, &f);
    EB_LOG_EV(EB_LOG_DEBUG, &f, "%s for %s: %s %s", what, order_id,
              o->stored_before ? "stored" : "new", topic ? topic : "nothing to publish");
    if (!topic)
        return EB_OK;
    return eb_work_publish_raw(w, topic, order_id, o->event, o->len);
}

static eb_err_t store_failed(eb_work_t *w, eb_err_t err, const char *what)
{
    return eb_work_fail(w, err == EB_ERR_NOMEM ? EB_ERR_NOMEM : EB_ERR_REDIS, "%s: %s", what,
                        err == EB_ERR_NOMEM ? "out of memory" : "redis unreachable or failing");
}

/* The subject, when there is one, names the order the data is about. */
static eb_err_t check_subject(eb_work_t *w, const char *order_id)
{
    const eb_event_t *ev = eb_work_event(w);

    if (ev->subject[0] && strcmp(ev->subject, order_id) != 0)
        return eb_work_fail(w, EB_ERR_BAD_EVENT, "subject %s does not match orderId %s",
                            ev->subject, order_id);
    return EB_OK;
}

static eb_err_t reserve(eb_work_t *w, const inventory_ctx_t *ctx)
{
    const eb_event_t *ev = eb_work_event(w);
    svc_payment_t *p = malloc(sizeof(*p));
    svc_stock_t *s = malloc(sizeof(*s));
    inventory_event_t reserved = {0}, insufficient = {0};
    inventory_outcome_t o = {0};
    char errstr[256];
    eb_err_t err;

    if (!p || !s) {
        err = eb_work_fail(w, EB_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (svc_payment_parse(ev->data, 0, p, errstr, sizeof(errstr)) != EB_OK ||
        inventory_merge(p, s, errstr, sizeof(errstr)) != EB_OK) {
        err = eb_work_fail(w, EB_ERR_BAD_EVENT, "invalid PaymentProcessed data: %s", errstr);
        goto out;
    }
    if ((err = check_subject(w, p->order_id)))
        goto out;
    /* Both possible answers, derived from this event; the script stores
     * and returns one of them, or the one stored before. */
    if ((err = inventory_event_prepare(&reserved, ev, TYPE_INVENTORY_RESERVED, s->order_id, s)) ||
        (err = inventory_event_prepare(&insufficient, ev, TYPE_INVENTORY_INSUFFICIENT, s->order_id,
                                       NULL))) {
        err = eb_work_fail(w, err == EB_ERR_NOMEM ? EB_ERR_NOMEM : EB_ERR_BAD_EVENT,
                           "cannot build the inventory event for %s", s->order_id);
        goto out;
    }
    err = inventory_store_reserve(eb_work_redis(w), ctx->default_stock, s, &reserved, &insufficient,
                                  &o);
    if (err)
        err = store_failed(w, err, "reserving");
    else
        err = publish(w, s->order_id, &o, "reservation");
out:
    inventory_outcome_close(&o);
    inventory_event_close(&reserved);
    inventory_event_close(&insufficient);
    free(p);
    free(s);
    return err;
}

static eb_err_t release(eb_work_t *w)
{
    const eb_event_t *ev = eb_work_event(w);
    svc_order_change_t c;
    inventory_event_t released = {0};
    inventory_outcome_t o = {0};
    char errstr[256];
    eb_err_t err;

    if (svc_order_change_parse(ev->data, 1, &c, errstr, sizeof(errstr)) != EB_OK)
        return eb_work_fail(w, EB_ERR_BAD_EVENT, "invalid OrderCancelled data: %s", errstr);
    if ((err = check_subject(w, c.order_id)))
        return err;
    if ((err = inventory_event_prepare(&released, ev, TYPE_INVENTORY_RELEASED, c.order_id, NULL)))
        return eb_work_fail(w, err == EB_ERR_NOMEM ? EB_ERR_NOMEM : EB_ERR_BAD_EVENT,
                            "cannot build the InventoryReleased event for %s", c.order_id);
    err = inventory_store_release(eb_work_redis(w), c.order_id, &released, &o);
    if (err)
        err = store_failed(w, err, "releasing");
    else
        err = publish(w, c.order_id, &o, "release");
    inventory_outcome_close(&o);
    inventory_event_close(&released);
    return err;
}

static eb_err_t ship(eb_work_t *w)
{
    const eb_event_t *ev = eb_work_event(w);
    svc_order_change_t c;
    eb_log_fields_t f;
    char errstr[256];
    int changed;
    eb_err_t err;

    if (svc_order_change_parse(ev->data, 0, &c, errstr, sizeof(errstr)) != EB_OK)
        return eb_work_fail(w, EB_ERR_BAD_EVENT, "invalid OrderCompleted data: %s", errstr);
    if ((err = check_subject(w, c.order_id)))
        return err;
    if ((err = inventory_store_ship(eb_work_redis(w), c.order_id, &changed)))
        return store_failed(w, err, "shipping");
    eb_work_log_fields(w, &f);
    EB_LOG_EV(EB_LOG_DEBUG, &f, "order %s: %s", c.order_id,
              changed ? "reserved units shipped" : "nothing reserved to ship");
    return EB_OK;
}

eb_err_t inventory_handle(eb_work_t *w, void *opaque)
{
    const char *type = eb_work_event(w)->type;

    if (strcmp(type, TYPE_PAYMENT_PROCESSED) == 0)
        return reserve(w, opaque);
    if (strcmp(type, TYPE_ORDER_CANCELLED) == 0)
        return release(w);
    if (strcmp(type, TYPE_ORDER_COMPLETED) == 0)
        return ship(w);
    return eb_work_fail(w, EB_ERR_BAD_EVENT, "inventory-service does not handle %s", type);
}

/* ---- HTTP: PUT and GET /inventory/{id} ------------------------------------------- */

static enum MHD_Result reply_stock(eb_api_req_t *q, const inventory_stock_t *s)
{
    size_t len;
    char *body = inventory_render(s, &len);
    enum MHD_Result ret;

    if (!body)
        return eb_api_error(q, MHD_HTTP_INTERNAL_SERVER_ERROR, "INTERNAL", "out of memory", NULL);
    ret = eb_api_reply(q, MHD_HTTP_OK, body, len, NULL);
    cJSON_free(body);
    return ret;
}

static enum MHD_Result get_stock(eb_api_req_t *q, void *opaque)
{
    const inventory_ctx_t *ctx = opaque;
    eb_redis_t *r = eb_api_redis(q);
    inventory_stock_t s;

    if (!r || inventory_store_get(r, eb_api_param(q), ctx->default_stock, &s) != EB_OK)
        return eb_api_unavailable(q);
    return reply_stock(q, &s);
}

static enum MHD_Result put_stock(eb_api_req_t *q, void *opaque)
{
    const inventory_ctx_t *ctx = opaque;
    eb_redis_t *r = eb_api_redis(q);
    const char *body;
    size_t len;
    int64_t available;
    svc_verr_t verr;
    inventory_stock_t s;

    body = eb_api_body(q, &len);
    if (inventory_parse_put(body, len, &available, &verr) != EB_OK)
        return eb_api_error(q, MHD_HTTP_BAD_REQUEST, verr.code, verr.message,
                            verr.field[0] ? verr.field : NULL);
    if (!r || inventory_store_set(r, eb_api_param(q), available, ctx->default_stock, &s) != EB_OK)
        return eb_api_unavailable(q);
    return reply_stock(q, &s);
}

const eb_api_route_t inventory_routes[] = {
    {MHD_HTTP_METHOD_PUT, "/inventory/{id}", put_stock, 1},
    {MHD_HTTP_METHOD_GET, "/inventory/{id}", get_stock, 0},
};
const size_t inventory_route_count = sizeof(inventory_routes) / sizeof(inventory_routes[0]);
