/*
 * Orders: creation, rendering, fingerprints.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "order.h"

eb_err_t order_parse_request(const char *body, size_t len, svc_order_t *out, svc_verr_t *verr)
{
    char why[128];
    cJSON *json = eb_json_parse(body, len, EB_JSON_MAX_DEPTH, why, sizeof(why));
    eb_err_t err;

    if (!json) {
        verr->code = "INVALID_JSON";
        verr->field[0] = '\0';
        snprintf(verr->message, sizeof(verr->message), "the request body is not valid JSON: %s",
                 why);
        return EB_ERR_INVALID;
    }
    err = svc_order_parse(json, SVC_ORDER_REQUEST, out, verr);
    cJSON_Delete(json);
    return err;
}

eb_err_t order_record_init(const svc_order_t *req, order_record_t *o)
{
    cJSON *items, *data;
    eb_event_t ev;

    memset(o, 0, sizeof(*o));
    eb_uuid_generate(o->order_id);
    eb_time_format(eb_time_now_ms(), o->created_at);
    eb_money_format(req->total, o->total, sizeof(o->total));
    order_fingerprint(req, o->fingerprint);

    items = svc_items_json(req);
    if (!items)
        return EB_ERR_NOMEM;
    o->items_json = cJSON_PrintUnformatted(items);

    /* OrderCreated data: orderId, userId, items, total, currency. The items
     * node moves into the event and is freed with it. */
    data = cJSON_CreateObject();
    if (!o->items_json || !data || !cJSON_AddStringToObject(data, "orderId", o->order_id) ||
        !cJSON_AddStringToObject(data, "userId", req->user_id) ||
        !cJSON_AddItemToObject(data, "items", items) ||
        !cJSON_AddItemToObject(data, "total", eb_money_to_json(req->total)) ||
        !cJSON_AddStringToObject(data, "currency", req->currency)) {
        if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(data, "items")))
            cJSON_Delete(items);
        cJSON_Delete(data);
        return EB_ERR_NOMEM;
    }
    if (eb_event_init(&ev, TYPE_ORDER_CREATED, SOURCE_ORDER_SERVICE, o->order_id, NULL, data) !=
        EB_OK) {
        cJSON_Delete(data);
        return EB_ERR_NOMEM;
    }
    /* The event's time is the order's createdAt, to the millisecond: the
     * rebuild reads createdAt back from it. */
    snprintf(ev.time, sizeof(ev.time), "%s", o->created_at);
    memcpy(o->event_id, ev.id, sizeof(o->event_id));
    o->event = svc_stamp(&ev) == EB_OK ? eb_event_encode(&ev, &o->event_len) : NULL;
    eb_event_close(&ev);
    return o->event ? EB_OK : EB_ERR_NOMEM;
}

void order_record_close(order_record_t *o)
{
    cJSON_free(o->items_json);
    free(o->event);
    memset(o, 0, sizeof(*o));
}

void order_record_view(const order_record_t *o, const svc_order_t *req, order_view_t *v)
{
    v->order_id = o->order_id;
    v->status = ORDER_STATUS_PENDING;
    v->user_id = req->user_id;
    v->items_json = o->items_json;
    v->total = o->total;
    v->currency = req->currency;
    v->created_at = o->created_at;
    v->reason = NULL;
    v->correlation_id = o->event_id;
}

char *order_render(const order_view_t *v, size_t *len)
{
    cJSON *o = cJSON_CreateObject();
    char *out = NULL;

    /* items and total are stored as JSON text and go out verbatim. */
    if (o && cJSON_AddStringToObject(o, "orderId", v->order_id) &&
        cJSON_AddStringToObject(o, "status", v->status) &&
        cJSON_AddStringToObject(o, "userId", v->user_id) &&
        cJSON_AddRawToObject(o, "items", v->items_json) &&
        cJSON_AddRawToObject(o, "total", v->total) &&
        cJSON_AddStringToObject(o, "currency", v->currency) &&
        cJSON_AddStringToObject(o, "createdAt", v->created_at) &&
        (!v->reason || !v->reason[0] || cJSON_AddStringToObject(o, "reason", v->reason)))
        out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (out && len)
        *len = strlen(out);
    return out;
}

/* FNV-1a, 64 bits: fast, and collisions need effort a client with its own
 * Idempotency-Key gains nothing from. */
static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

void order_fingerprint(const svc_order_t *req, char out[17])
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);

    /* Each field with its terminating NUL, so "ab"+"c" differs from "a"+"bc". */
    h = fnv1a(h, req->user_id, strlen(req->user_id) + 1);
    h = fnv1a(h, req->currency, strlen(req->currency) + 1);
    for (size_t i = 0; i < req->item_count; i++) {
        const svc_item_t *it = &req->items[i];

        h = fnv1a(h, it->product_id, strlen(it->product_id) + 1);
        h = fnv1a(h, &it->quantity, sizeof(it->quantity));
        h = fnv1a(h, &it->price, sizeof(it->price));
    }
    snprintf(out, 17, "%016" PRIx64, h);
}

char *order_change_event(const order_view_t *v, int cancelled, char *event_id, size_t *len)
{
    svc_order_change_t c;
    eb_event_t cause, ev;
    cJSON *data;
    char *out;

    memset(&c, 0, sizeof(c));
    snprintf(c.order_id, sizeof(c.order_id), "%s", v->order_id);
    snprintf(c.user_id, sizeof(c.user_id), "%s", v->user_id ? v->user_id : "");
    if (cancelled)
        snprintf(c.reason, sizeof(c.reason), "%s", REASON_CANCELLED);
    data = svc_order_change_json(&c);
    if (!data)
        return NULL;
    /* Caused by the order's creation: its OrderCreated id is the chain's
     * correlation id (an order stored before the field existed starts its
     * own chain). */
    memset(&cause, 0, sizeof(cause));
    if (v->correlation_id && v->correlation_id[0]) {
        snprintf(cause.id, sizeof(cause.id), "%s", v->correlation_id);
        snprintf(cause.correlationid, sizeof(cause.correlationid), "%s", v->correlation_id);
    }
    if (eb_event_init(&ev, cancelled ? TYPE_ORDER_CANCELLED : TYPE_ORDER_COMPLETED,
                      SOURCE_ORDER_SERVICE, v->order_id, cause.id[0] ? &cause : NULL,
                      data) != EB_OK) {
        cJSON_Delete(data);
        return NULL;
    }
    memcpy(event_id, ev.id, EB_UUID_LEN + 1);
    out = svc_stamp(&ev) == EB_OK ? eb_event_encode(&ev, len) : NULL;
    eb_event_close(&ev);
    return out;
}
