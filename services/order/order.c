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

char *order_items_render(const svc_order_t *req, size_t *len)
{
    size_t cap = 3;
    char *out, *o;

    /* Per item: its keys and punctuation (40 bytes), a quantity of at most
     * 5 digits, a price of at most EB_MONEY_TEXT_MAX bytes. */
    for (size_t i = 0; i < req->item_count; i++)
        cap += EB_JSON_QUOTED_MAX(strlen(req->items[i].product_id)) + 48 + EB_MONEY_TEXT_MAX;
    if (!(out = malloc(cap)))
        return NULL;
    o = out;
    *o++ = '[';
    for (size_t i = 0; i < req->item_count; i++) {
        const svc_item_t *it = &req->items[i];

        if (i)
            *o++ = ',';
        o = SVC_PUT_LIT(o, "{\"productId\":");
        o = svc_put_str(o, it->product_id);
        o = SVC_PUT_LIT(o, ",\"quantity\":");
        o = eb_json_uint(o, (uint64_t)it->quantity);
        o = SVC_PUT_LIT(o, ",\"price\":");
        o += eb_money_format(it->price, o, EB_MONEY_TEXT_MAX);
        *o++ = '}';
    }
    *o++ = ']';
    *o = '\0';
    if (len)
        *len = (size_t)(o - out);
    return out;
}

char *order_created_data(const order_record_t *o, const svc_order_t *req, size_t *len)
{
    size_t cap = 80 + EB_JSON_QUOTED_MAX(strlen(o->order_id)) +
                 EB_JSON_QUOTED_MAX(strlen(req->user_id)) + o->items_len + strlen(o->total) +
                 EB_JSON_QUOTED_MAX(strlen(req->currency));
    char *out = malloc(cap), *w;

    if (!out)
        return NULL;
    w = SVC_PUT_LIT(out, "{\"orderId\":");
    w = svc_put_str(w, o->order_id);
    w = SVC_PUT_LIT(w, ",\"userId\":");
    w = svc_put_str(w, req->user_id);
    w = SVC_PUT_LIT(w, ",\"items\":");
    w = svc_put(w, o->items_json, o->items_len);
    w = SVC_PUT_LIT(w, ",\"total\":");
    w = svc_put(w, o->total, strlen(o->total));
    w = SVC_PUT_LIT(w, ",\"currency\":");
    w = svc_put_str(w, req->currency);
    *w++ = '}';
    *w = '\0';
    *len = (size_t)(w - out);
    return out;
}

eb_err_t order_record_init(const svc_order_t *req, order_record_t *o)
{
    eb_event_t ev;
    char *data;
    size_t data_len;

    memset(o, 0, sizeof(*o));
    eb_uuid_generate(o->order_id);
    eb_time_format(eb_time_now_ms(), o->created_at);
    eb_money_format(req->total, o->total, sizeof(o->total));
    order_fingerprint(req, o->fingerprint);
    if (!(o->items_json = order_items_render(req, &o->items_len)))
        return EB_ERR_NOMEM;

    /* OrderCreated data: orderId, userId, items, total, currency, written
     * as text: the bytes a cJSON tree of them printed. */
    if (!(data = order_created_data(o, req, &data_len)))
        return EB_ERR_NOMEM;
    /* The event's time is the order's createdAt, to the millisecond: the
     * rebuild reads createdAt back from it. */
    if (eb_event_init_at(&ev, TYPE_ORDER_CREATED, SOURCE_ORDER_SERVICE, o->order_id, NULL, NULL,
                         o->created_at) != EB_OK) {
        free(data);
        return EB_ERR_NOMEM;
    }
    memcpy(o->event_id, ev.id, sizeof(o->event_id));
    o->event =
        svc_stamp(&ev) == EB_OK ? eb_event_encode_json(&ev, data, data_len, &o->event_len) : NULL;
    free(data);
    return o->event ? EB_OK : EB_ERR_NOMEM;
}

void order_record_close(order_record_t *o)
{
    free(o->items_json);
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
    const int reason = v->reason && v->reason[0];
    size_t cap = 120 + strlen(v->items_json) + strlen(v->total);
    const char *strs[] = {v->order_id, v->status,     v->user_id,
                          v->currency, v->created_at, reason ? v->reason : ""};
    char *out, *o;

    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
        cap += EB_JSON_QUOTED_MAX(strlen(strs[i]));
    if (!(out = malloc(cap)))
        return NULL;
    /* items and total are stored as JSON text and go out verbatim; the bytes
     * are those the cJSON tree this replaced printed. */
    o = SVC_PUT_LIT(out, "{\"orderId\":");
    o = svc_put_str(o, v->order_id);
    o = SVC_PUT_LIT(o, ",\"status\":");
    o = svc_put_str(o, v->status);
    o = SVC_PUT_LIT(o, ",\"userId\":");
    o = svc_put_str(o, v->user_id);
    o = SVC_PUT_LIT(o, ",\"items\":");
    o = svc_put(o, v->items_json, strlen(v->items_json));
    o = SVC_PUT_LIT(o, ",\"total\":");
    o = svc_put(o, v->total, strlen(v->total));
    o = SVC_PUT_LIT(o, ",\"currency\":");
    o = svc_put_str(o, v->currency);
    o = SVC_PUT_LIT(o, ",\"createdAt\":");
    o = svc_put_str(o, v->created_at);
    if (reason) {
        o = SVC_PUT_LIT(o, ",\"reason\":");
        o = svc_put_str(o, v->reason);
    }
    *o++ = '}';
    *o = '\0';
    if (len)
        *len = (size_t)(o - out);
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
