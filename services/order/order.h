/*
 * order-service's domain: turning a validated request into an order and its
 * OrderCreated event, and rendering orders as JSON.
 */
#ifndef SERVICES_ORDER_ORDER_H
#define SERVICES_ORDER_ORDER_H

#include <stddef.h>
#include <stdint.h>

#include "../common/domain.h"
#include "eventbus/envelope.h"
#include "eventbus/money.h"

#define ORDER_STATUS_PENDING   "PENDING"
#define ORDER_STATUS_PAID      "PAID"
#define ORDER_STATUS_FAILED    "PAYMENT_FAILED"
#define ORDER_STATUS_CONFIRMED "CONFIRMED"
#define ORDER_STATUS_COMPLETED "COMPLETED"
#define ORDER_STATUS_CANCELLED "CANCELLED"

/* An order as stored and shown: every field as the text that goes on the
 * wire, so that reading an order back needs no JSON parsing. */
typedef struct order_view_s {
    const char *order_id;
    const char *status;
    const char *user_id;
    const char *items_json; /* a JSON array */
    const char *total;      /* a JSON number with at most two decimals */
    const char *currency;
    const char *created_at;
    const char *reason;         /* why it was CANCELLED; NULL otherwise */
    const char *correlation_id; /* of the order's events (its OrderCreated id); may be NULL */
} order_view_t;

/* A new order with everything fixed before it is stored: its id, its
 * OrderCreated event (id included) and the text of each field. */
typedef struct order_record_s {
    char order_id[EB_UUID_LEN + 1];
    char created_at[EB_TIME_LEN + 1];
    char total[EB_MONEY_TEXT_MAX];
    char *items_json; /* malloc'd JSON array (order_items_render) */
    size_t items_len;
    char *event; /* malloc'd CloudEvent JSON */
    size_t event_len;
    char event_id[EB_UUID_LEN + 1];
    char fingerprint[17]; /* of the request, for Idempotency-Key */
} order_record_t;

/* Parses and validates a POST /orders body (len bytes): one JSON object, in
 * UTF-8, nested at most EB_JSON_MAX_DEPTH deep, following every rule of
 * svc_order_parse(). Returns EB_OK, or EB_ERR_INVALID with verr filled
 * (code INVALID_JSON when the body is not such a document). */
eb_err_t order_parse_request(const char *body, size_t len, svc_order_t *out, svc_verr_t *verr);

/* Builds a new order from a validated request. Returns EB_OK or
 * EB_ERR_NOMEM. order_record_close() frees it either way. */
eb_err_t order_record_init(const svc_order_t *req, order_record_t *out);
void order_record_close(order_record_t *o);

/* The view of a new order (status PENDING); its strings point into o and req. */
void order_record_view(const order_record_t *o, const svc_order_t *req, order_view_t *v);

/* Renders a view as the API's order document. Returns a malloc'd string
 * (free()) or NULL when out of memory; *len (len may be NULL) its length. */
char *order_render(const order_view_t *v, size_t *len);

/* The items of a request as the JSON array stored with the order and put in
 * its OrderCreated: [{"productId","quantity","price"},...], the bytes
 * cJSON_PrintUnformatted(svc_items_json(req)) gives. Returns a malloc'd
 * string, *len (may be NULL) its length, or NULL when out of memory. */
char *order_items_render(const svc_order_t *req, size_t *len);

/* The data of o's OrderCreated: {"orderId","userId","items","total",
 * "currency"}, from o's text fields (items_json, total) and req. Returns a
 * malloc'd string of *len bytes, or NULL when out of memory. */
char *order_created_data(const order_record_t *o, const svc_order_t *req, size_t *len);

/* A 16-hex-digit fingerprint of what a request asks for (user, items,
 * currency), independent of JSON formatting and key order. Two requests with
 * the same Idempotency-Key must have the same fingerprint. */
void order_fingerprint(const svc_order_t *req, char out[17]);

/* Builds the OrderCancelled (cancelled = 1, reason "cancelled") or
 * OrderCompleted event of order v, caused by its OrderCreated (correlation
 * id). Writes its id to event_id[EB_UUID_LEN + 1]. Returns the encoded
 * event (malloc'd, *len bytes) or NULL when out of memory. */
char *order_change_event(const order_view_t *v, int cancelled, char *event_id, size_t *len);

#endif /* SERVICES_ORDER_ORDER_H */
