/*
 * inventory-service's Redis state (store.c): stock per product and one
 * outcome per order, each change one Lua script.
 *
 * Keys (docs/saga.md):
 *   inventory:<productId>      hash available, reserved, shipped; an absent
 *                              available is the default stock, an absent
 *                              reserved or shipped 0
 *   inventory:order:<orderId>  hash state (reserved, insufficient, released,
 *                              shipped, cancelled), event (the reservation
 *                              decision, InventoryReserved or
 *                              InventoryInsufficient, as published),
 *                              items (what the order holds, the items array
 *                              of its InventoryReserved), released (the
 *                              InventoryReleased, as published)
 *
 * Invariant: available + reserved + shipped of a product changes only by
 * inventory_store_set(); no script makes a counter negative.
 *
 * Every function runs on the thread that owns r (eventbus/redis.h) and
 * returns EB_ERR_REDIS when Redis did not answer or answered an error.
 */
#ifndef SERVICES_INVENTORY_STORE_H
#define SERVICES_INVENTORY_STORE_H

#include <stdint.h>

#include "eventbus/redis.h"
#include "inventory.h"

typedef enum inventory_kind_e {
    INVENTORY_NONE = 0,     /* nothing to publish */
    INVENTORY_RESERVED,     /* InventoryReserved */
    INVENTORY_INSUFFICIENT, /* InventoryInsufficient */
    INVENTORY_RELEASED      /* InventoryReleased */
} inventory_kind_t;

/* What a script decided: the event to publish (kind NONE: none), and
 * whether it was stored before (a redelivery, or the same order's event
 * again). event stays valid until inventory_outcome_close(). */
typedef struct inventory_outcome_s {
    inventory_kind_t kind;
    int stored_before;
    const char *event;
    size_t len;
    eb_redis_pipeline_t *held; /* owns event */
} inventory_outcome_t;

void inventory_outcome_close(inventory_outcome_t *o);

/* Reserves every item of s (merged per product, inventory_merge()) or
 * none, once per order, in one script:
 *   - the order has an outcome: its stored reservation decision comes back
 *     unchanged (none for a cancelled tombstone);
 *   - every product has available >= quantity: available -= quantity and
 *     reserved += quantity for each, the order's state becomes reserved
 *     holding s's items, and reserved (the complete InventoryReserved) is
 *     stored and comes back;
 *   - else nothing changes but the order's state, insufficient, and the
 *     InventoryInsufficient naming the short products with the
 *     availability seen is stored and comes back: the script writes it as
 *     insufficient's head, the short items, insufficient's tail.
 * dflt is INVENTORY_DEFAULT_STOCK. */
eb_err_t inventory_store_reserve(eb_redis_t *r, int64_t dflt, const svc_stock_t *s,
                                 const inventory_event_t *reserved,
                                 const inventory_event_t *insufficient, inventory_outcome_t *out);

/* Releases what the order holds, once, in one script: state reserved ->
 * every unit goes back (available += q, reserved -= q), state released,
 * and the InventoryReleased (released's head, the held items, its tail) is
 * stored and comes back; released -> the stored InventoryReleased comes
 * back; no outcome yet -> the cancelled tombstone is stored (a later
 * reservation reserves nothing); insufficient, shipped, cancelled ->
 * nothing. */
eb_err_t inventory_store_release(eb_redis_t *r, const char *order_id,
                                 const inventory_event_t *released, inventory_outcome_t *out);

/* State reserved -> reserved -= q, shipped += q for every held item, state
 * shipped; *changed = 1. Any other state: nothing, *changed = 0. */
eb_err_t inventory_store_ship(eb_redis_t *r, const char *order_id, int *changed);

/* Sets product's available to available (reserved and shipped stay) and
 * reads the stock back, in one script. */
eb_err_t inventory_store_set(eb_redis_t *r, const char *product, int64_t available, int64_t dflt,
                             inventory_stock_t *out);

/* Reads product's stock (dflt available for a product never set). */
eb_err_t inventory_store_get(eb_redis_t *r, const char *product, int64_t dflt,
                             inventory_stock_t *out);

#endif /* SERVICES_INVENTORY_STORE_H */
