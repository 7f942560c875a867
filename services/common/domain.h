/*
 * The suite's domain vocabulary: topics, event types, and the order and
 * payment shapes with their validation.
 *
 * One validator serves both sides of the wire: order-service checks a
 * POST /orders body with it (SVC_ORDER_REQUEST), and payment-service and
 * notification-service check OrderCreated data with it (SVC_ORDER_EVENT), so
 * producer and consumers can never disagree on what a valid order is.
 */
#ifndef SERVICES_COMMON_DOMAIN_H
#define SERVICES_COMMON_DOMAIN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "eventbus/app/topics.h"
#include "eventbus/error.h"
#include "eventbus/json.h"
#include "eventbus/schema.h"

/* The topics, from the suite's catalogue (eventbus/app/topics.h, which
 * also lists every topic with the dead-letter topics). */
#define TOPIC_ORDER_CREATED          APP_TOPIC_ORDER_CREATED
#define TOPIC_PAYMENT_PROCESSED      APP_TOPIC_PAYMENT_PROCESSED
#define TOPIC_PAYMENT_FAILED         APP_TOPIC_PAYMENT_FAILED
#define TOPIC_PAYMENT_REFUNDED       APP_TOPIC_PAYMENT_REFUNDED
#define TOPIC_INVENTORY_RESERVED     APP_TOPIC_INVENTORY_RESERVED
#define TOPIC_INVENTORY_INSUFFICIENT APP_TOPIC_INVENTORY_INSUFFICIENT
#define TOPIC_INVENTORY_RELEASED     APP_TOPIC_INVENTORY_RELEASED
#define TOPIC_ORDER_CANCELLED        APP_TOPIC_ORDER_CANCELLED
#define TOPIC_ORDER_COMPLETED        APP_TOPIC_ORDER_COMPLETED
#define TOPIC_USER_REGISTERED        APP_TOPIC_USER_REGISTERED
#define TOPIC_USER_UPDATED           APP_TOPIC_USER_UPDATED

#define TYPE_ORDER_CREATED          "OrderCreated"
#define TYPE_PAYMENT_PROCESSED      "PaymentProcessed"
#define TYPE_PAYMENT_FAILED         "PaymentFailed"
#define TYPE_PAYMENT_REFUNDED       "PaymentRefunded"
#define TYPE_INVENTORY_RESERVED     "InventoryReserved"
#define TYPE_INVENTORY_INSUFFICIENT "InventoryInsufficient"
#define TYPE_INVENTORY_RELEASED     "InventoryReleased"
#define TYPE_ORDER_CANCELLED        "OrderCancelled"
#define TYPE_ORDER_COMPLETED        "OrderCompleted"
#define TYPE_USER_REGISTERED        "UserRegistered"
#define TYPE_USER_UPDATED           "UserUpdated"

/* The JSON Schema of each event's data, by version: its $id, which events
 * carry as their dataschema (docs/schemas/<type>.v<N>.json). svc_schemas()
 * registers them with their upcasters; svc_stamp() names the newest. */
#define SCHEMA_URN(type, version) "urn:eventbus:schema:" type ":" #version

#define SOURCE_ORDER_SERVICE     "/order-service"
#define SOURCE_PAYMENT_SERVICE   "/payment-service"
#define SOURCE_INVENTORY_SERVICE "/inventory-service"
#define SOURCE_USER_SERVICE      "/user-service"

/* Why an order was cancelled (OrderCancelled, PaymentRefunded, the order's
 * reason field). */
#define REASON_CANCELLED    "cancelled"
#define REASON_OUT_OF_STOCK "out of stock"

#define SVC_ID_MAX       128 /* userId, productId, orderId: bytes */
#define SVC_MAX_ITEMS    100
#define SVC_MAX_QUANTITY 10000
/* A product's quantity in the inventory events: inventory-service merges
 * the items of one order per product, so one product may be named up to
 * SVC_MAX_ITEMS times with SVC_MAX_QUANTITY each. */
#define SVC_MAX_PRODUCT_QUANTITY (SVC_MAX_ITEMS * SVC_MAX_QUANTITY)
#define SVC_CURRENCY_LEN         3
#define SVC_DEFAULT_CURRENCY     "USD"

/* Why a document was rejected: an error code for the API, the JSON path of
 * the offending field (empty when the whole document is at fault) and a
 * sentence for humans. */
typedef struct svc_verr_s {
    const char *code; /* "INVALID_JSON", "MISSING_FIELD", "INVALID_FIELD" */
    char field[64];
    char message[200];
} svc_verr_t;

typedef struct svc_item_s {
    char product_id[SVC_ID_MAX + 1];
    int64_t quantity;
    int64_t price; /* minor units */
} svc_item_t;

typedef struct svc_order_s {
    char order_id[SVC_ID_MAX + 1]; /* empty in a request */
    char user_id[SVC_ID_MAX + 1];
    char currency[SVC_CURRENCY_LEN + 1];
    size_t item_count;
    svc_item_t items[SVC_MAX_ITEMS];
    int64_t total; /* minor units, the sum of quantity * price */
} svc_order_t;

typedef enum svc_order_mode_e {
    SVC_ORDER_REQUEST, /* POST /orders: no orderId, no total, currency optional */
    SVC_ORDER_EVENT    /* OrderCreated data: orderId, total and currency required */
} svc_order_mode_t;

/* Validates obj against the order rules of docs/contract.md section 4 and fills
 * out. Returns EB_OK, or EB_ERR_INVALID with the first violation in verr.
 * In SVC_ORDER_EVENT mode the stated total must equal the computed one.
 * Only out->items[0 .. item_count) are written: the items past them keep
 * whatever they held (out is not cleared as a whole, for speed). */
eb_err_t svc_order_parse(const cJSON *obj, svc_order_mode_t mode, svc_order_t *out,
                         svc_verr_t *verr);

/* Returns a new array node [{"productId","quantity","price"},...] for the
 * items, or NULL when out of memory. */
cJSON *svc_items_json(const svc_order_t *o);

/* Why a payment failed, PaymentFailed version 2's `code`: stable values to
 * branch on where `reason` is text for people. Version 1 had only the
 * reason; its upcaster derives the code from it. */
#define PAYMENT_REASON_LIMIT     "amount exceeds limit"
#define PAYMENT_CODE_LIMIT       "AMOUNT_LIMIT"
#define PAYMENT_CODE_UNSPECIFIED "UNSPECIFIED"

/* A payment decision, as PaymentProcessed or PaymentFailed data carry it. */
typedef struct svc_payment_s {
    int failed; /* 0: PaymentProcessed, 1: PaymentFailed */
    char order_id[SVC_ID_MAX + 1];
    char payment_id[SVC_ID_MAX + 1]; /* PaymentProcessed only */
    char user_id[SVC_ID_MAX + 1];    /* optional: not in the contract's data table */
    int64_t amount;
    char currency[SVC_CURRENCY_LEN + 1];
    char reason[256]; /* PaymentFailed only */
    char code[32];    /* PaymentFailed only: a PAYMENT_CODE_* */
    /* PaymentProcessed: the order's items (productId, quantity; price 0),
     * so that inventory-service reserves from the event alone. Optional on
     * the wire (events of earlier versions have none). */
    size_t item_count;
    svc_item_t items[SVC_MAX_ITEMS];
} svc_payment_t;

/* Validates PaymentProcessed (failed=0) or PaymentFailed (failed=1) data,
 * PaymentFailed at version 2 (with its code: consumers upcast first).
 * Returns EB_OK or EB_ERR_INVALID with the reason in errstr. */
eb_err_t svc_payment_parse(const cJSON *data, int failed, svc_payment_t *out, char *errstr,
                           size_t errstr_size);

/* Builds the data object of a payment event; NULL when out of memory. */
cJSON *svc_payment_json(const svc_payment_t *p);

/* Writers of JSON built as text, piece by piece (the order's items and
 * events, svc_payment_render): each writes at o, which has the room, and
 * returns the end. svc_put: n bytes as they are; SVC_PUT_LIT: a string
 * literal; svc_put_str: s as a JSON string (eb_json_quote). */
static inline char *svc_put(char *o, const char *s, size_t n)
{
    memcpy(o, s, n);
    return o + n;
}

#define SVC_PUT_LIT(o, lit) svc_put(o, lit, sizeof(lit) - 1)

static inline char *svc_put_str(char *o, const char *s)
{
    return eb_json_quote(o, s, strlen(s));
}

/* Writes the same data object as text: the bytes cJSON_PrintUnformatted()
 * gives for svc_payment_json(p), without building the tree (the consumer's
 * hot path). Returns a malloc'd, NUL-terminated string and its length in
 * *len, or NULL when out of memory. */
char *svc_payment_render(const svc_payment_t *p, size_t *len);

/* ---- the saga's events (docs/saga.md) --------------------------------------- */

/* PaymentRefunded data. */
typedef struct svc_refund_s {
    char order_id[SVC_ID_MAX + 1];
    char payment_id[SVC_ID_MAX + 1];
    char user_id[SVC_ID_MAX + 1]; /* optional */
    int64_t amount;
    char currency[SVC_CURRENCY_LEN + 1];
    char reason[64]; /* REASON_CANCELLED or REASON_OUT_OF_STOCK */
} svc_refund_t;

eb_err_t svc_refund_parse(const cJSON *data, svc_refund_t *out, char *errstr, size_t errstr_size);
cJSON *svc_refund_json(const svc_refund_t *r);

/* OrderCancelled (reason required) and OrderCompleted (no reason) data. */
typedef struct svc_order_change_s {
    char order_id[SVC_ID_MAX + 1];
    char user_id[SVC_ID_MAX + 1]; /* optional */
    char reason[64];
} svc_order_change_t;

/* cancelled: 1 for OrderCancelled, 0 for OrderCompleted. */
eb_err_t svc_order_change_parse(const cJSON *data, int cancelled, svc_order_change_t *out,
                                char *errstr, size_t errstr_size);
cJSON *svc_order_change_json(const svc_order_change_t *c);

/* InventoryReserved / InventoryReleased (items with quantity) and
 * InventoryInsufficient (items with requested and available) data. */
typedef struct svc_stock_item_s {
    char product_id[SVC_ID_MAX + 1];
    int64_t quantity;  /* reserved, released */
    int64_t requested; /* insufficient */
    int64_t available; /* insufficient */
} svc_stock_item_t;

typedef struct svc_stock_s {
    int insufficient; /* 1: InventoryInsufficient */
    char order_id[SVC_ID_MAX + 1];
    size_t item_count;
    svc_stock_item_t items[SVC_MAX_ITEMS];
} svc_stock_t;

eb_err_t svc_stock_parse(const cJSON *data, int insufficient, svc_stock_t *out, char *errstr,
                         size_t errstr_size);
cJSON *svc_stock_json(const svc_stock_t *s);

/* A user (user-service; UserRegistered and UserUpdated data). */
#define SVC_NAME_MAX  128
#define SVC_EMAIL_MAX 254
#define SVC_AGE_MAX   150

typedef struct svc_user_s {
    char user_id[SVC_ID_MAX + 1]; /* empty in a request */
    char name[SVC_NAME_MAX + 1];
    char email[SVC_EMAIL_MAX + 1];
    int64_t age;         /* -1: not given */
    char created_at[40]; /* empty in a request */
} svc_user_t;

typedef enum svc_user_mode_e {
    SVC_USER_REQUEST, /* POST /users, PUT /users/<id>: name, email, optional age */
    SVC_USER_EVENT    /* UserRegistered / UserUpdated data: userId and createdAt too */
} svc_user_mode_t;

/* Validates a user (contract section 10): name 1..128 bytes, email required
 * and well-formed, age an integer 0..150 when present. */
eb_err_t svc_user_parse(const cJSON *obj, svc_user_mode_t mode, svc_user_t *out, svc_verr_t *verr);
cJSON *svc_user_json(const svc_user_t *u);

/* ---- versions (eventbus/schema.h) ------------------------------------------- */

/* Every version of every event type of the suite with its upcasters, built
 * on first use and never freed. Exits the process (status 1) when out of
 * memory building it, which can happen only on the first call, at start-up. Consumers pass
 * it in their options, so handlers see the newest version of each event. */
const eb_schemas_t *svc_schemas(void);

/* Names the newest version of ev's type as its dataschema, as every
 * producer of the suite does before encoding. EB_ERR_INVALID for a type the
 * suite does not have, EB_ERR_NOMEM when the registry could not be built. */
eb_err_t svc_stamp(eb_event_t *ev);

/* PaymentFailed version 1 to 2: adds the code its reason stands for. */
eb_err_t svc_upcast_payment_failed_v2(cJSON *data, char *errstr, size_t errstr_size);

#endif /* SERVICES_COMMON_DOMAIN_H */
