/*
 * inventory-service's domain: the pure parts of keeping stock per product
 * and one outcome per order (docs/saga.md, "inventory-service").
 *
 * Everything here works on plain data and is unit-tested
 * (tests/unit/test_inventory.c): merging an order's items per product, the
 * PUT /inventory body, the stock document the API answers, and the events
 * the Redis scripts (store.c) store and hand back. The scripts need events
 * whose item list only Redis knows (what was short, with the availability
 * seen; what an order holds), so an event is prepared here as an envelope
 * with an empty item list, cut in two around it (inventory_event_t), and
 * the script joins the two halves around the list.
 */
#ifndef SERVICES_INVENTORY_INVENTORY_H
#define SERVICES_INVENTORY_INVENTORY_H

#include <stddef.h>
#include <stdint.h>

#include "../common/domain.h"
#include "eventbus/envelope.h"

/* The largest stock a PUT may set: 2^52, exact in a JSON number. */
#define INVENTORY_MAX_STOCK (INT64_C(1) << 52)

/* The Redis key prefixes (docs/saga.md). */
#define INVENTORY_KEY_PRODUCT "inventory:"
#define INVENTORY_KEY_ORDER   "inventory:order:"

/* Merges the items of a PaymentProcessed per product, in the order products
 * first appear, summing the quantities of a product named twice, so that
 * each product is checked once against its whole demand. Fills out's
 * order_id and items (quantity only); returns EB_OK, or EB_ERR_INVALID
 * with the reason in errstr when the order has no items or a productId
 * would name an order record's key (it begins with "order:"). */
eb_err_t inventory_merge(const svc_payment_t *p, svc_stock_t *out, char *errstr,
                         size_t errstr_size);

/* Parses a PUT /inventory/<id> body, {"available": N} with N an integer
 * 0..INVENTORY_MAX_STOCK. Returns EB_OK, or EB_ERR_INVALID with verr set as
 * order-service sets it (INVALID_JSON, MISSING_FIELD, INVALID_FIELD with
 * the field). */
eb_err_t inventory_parse_put(const char *body, size_t len, int64_t *available, svc_verr_t *verr);

/* One product's stock as the API answers it. */
typedef struct inventory_stock_s {
    const char *product_id;
    int64_t available;
    int64_t reserved;
    int64_t shipped;
} inventory_stock_t;

/* {"productId","available","reserved","shipped"}: a malloc'd string of
 * *len bytes the caller frees with cJSON_free(), or NULL when out of
 * memory. */
char *inventory_render(const inventory_stock_t *s, size_t *len);

/* Reads a counter Redis stored: absent (NULL or "") gives dflt; anything
 * but a decimal integer gives -1. */
int64_t inventory_counter(const char *s, int64_t dflt);

/* A JSON string literal of s (quotes and escapes as cJSON writes them):
 * how a script writes a productId into an event. malloc'd; cJSON_free()
 * it. NULL when out of memory. */
char *inventory_json_string(const char *s);

/* An event the order's outcome publishes, encoded, and where its
 * "items":[] is: head is the bytes up to and including "items":, tail
 * those after the empty array. head + <an items array> + tail is the event
 * with that array. */
typedef struct inventory_event_s {
    char *json; /* malloc'd; the event with no items */
    size_t len;
    size_t head_len;  /* json[0 .. head_len) */
    const char *tail; /* into json */
    size_t tail_len;
} inventory_event_t;

/* Finds the one "items":[] of an encoded event (its data's; every other
 * "items" would be inside an escaped string). Returns EB_OK and sets
 * head_len, tail and tail_len, or EB_ERR_INVALID when there is not exactly
 * one. */
eb_err_t inventory_event_cut(inventory_event_t *e);

/* Prepares the event of type (InventoryReserved, InventoryInsufficient or
 * InventoryReleased) that cause leads to, for order_id, derived from cause
 * (eb_event_derive: the same cause, the same bytes), with data
 * {"orderId","items":[]}; or, when s is not NULL, with s's items (and
 * s->insufficient deciding their shape). Returns EB_OK, EB_ERR_NOMEM, or
 * EB_ERR_INVALID. Close with inventory_event_close(). */
eb_err_t inventory_event_prepare(inventory_event_t *e, const eb_event_t *cause, const char *type,
                                 const char *order_id, const svc_stock_t *s);
void inventory_event_close(inventory_event_t *e);

/* The items array of s, as the events carry it: malloc'd; cJSON_free() it.
 * NULL when out of memory. */
char *inventory_items_json(const svc_stock_t *s);

#endif /* SERVICES_INVENTORY_INVENTORY_H */
