/*
 * Orders in Redis.
 *
 *   order:<id>          hash: userId currency total items createdAt status updatedAt;
 *                       no TTL until a terminal status, then ORDER_RETENTION_S
 *   orders:outbox       stream: one entry per event to publish
 *                       (topic, key, value, traceparent); the relay reads it
 *                       as consumer group "relay"
 *   idem:http:<key>     string "<orderId> <fingerprint>" with a TTL, for
 *                       Idempotency-Key
 *
 * order_store_create() writes the order hash and its outbox entry in one MULTI/EXEC
 * transaction, one round trip: the order exists if and only if its event
 * will be published.
 */
#ifndef SERVICES_ORDER_STORE_H
#define SERVICES_ORDER_STORE_H

#include "eventbus/outbox.h"
#include "eventbus/redis.h"
#include "lifecycle.h"
#include "order.h"

#define ORDER_OUTBOX_STREAM "orders:outbox"

typedef enum order_store_outcome_e {
    ORDER_STORE_CREATED,     /* the order was stored */
    ORDER_STORE_REPLAYED,    /* Idempotency-Key seen before with the same request */
    ORDER_STORE_KEY_MISMATCH /* Idempotency-Key seen before with another request */
} order_store_outcome_t;

/* Stores o atomically with its outbox entry. With idem_key (may be NULL),
 * first looks the key up: a repeat returns ORDER_STORE_REPLAYED or
 * ORDER_STORE_KEY_MISMATCH with the first order's id in existing_id, and stores
 * nothing. Returns EB_OK or EB_ERR_REDIS (Redis unreachable or failing). */
eb_err_t order_store_create(eb_redis_t *r, const order_record_t *o, const svc_order_t *req,
                            const eb_trace_t *trace, const char *idem_key, int64_t idem_ttl_s,
                            order_store_outcome_t *outcome, char existing_id[EB_UUID_LEN + 1]);

/* One order of order_store_create_batch(). */
typedef struct order_store_item_s {
    const order_record_t *o;
    const svc_order_t *req;
    const eb_trace_t *trace;
    int stored; /* out: 1 stored with its outbox entry, 0 not */
} order_store_item_t;

/* Group commit: stores n orders without Idempotency-Key, each atomically
 * with its outbox entry in its own MULTI/EXEC as order_store_create() does,
 * all in one pipeline (one write, one round trip). Sets every item's stored;
 * when Redis is unreachable or breaks, none is stored (a transaction whose
 * EXEC got no reply may have been applied: as for order_store_create(), the
 * client is told 503 and may retry). p: an empty pipeline of the caller's
 * connection, cleared on return. */
void order_store_create_batch(eb_redis_pipeline_t *p, order_store_item_t *items, size_t n);

/* Loads order id. On EB_OK, *held holds the strings v points into; free it
 * with eb_redis_pipeline_destroy(). EB_ERR_NOT_FOUND or EB_ERR_REDIS
 * otherwise. */
eb_err_t order_store_load(eb_redis_t *r, const char *id, order_view_t *v,
                          eb_redis_pipeline_t **held);

/* Applies an event to order id's status (order_status_next(), atomically
 * in Redis). When the status changes into a terminal one and retention_s >
 * 0, the record expires retention_s seconds later (ORDER_RETENTION_S,
 * docs/retention.md); a record is never given a TTL before that, and an
 * unknown order is never created. Returns EB_OK (changed or not),
 * EB_ERR_NOT_FOUND for an unknown order, EB_ERR_REDIS when Redis fails. */
eb_err_t order_store_apply(eb_redis_t *r, const char *id, order_event_t ev, int64_t retention_s);

/* Takes one of order-service's own decisions (ev ORDER_EV_CANCELLED or
 * ORDER_EV_COMPLETED) for order id: only from a status that allows it
 * (order_can_cancel/complete), the status change and the event's outbox
 * entry e in one atomic step; the record then expires after retention_s
 * seconds (0: never), as in order_store_apply(). Returns EB_OK,
 * EB_ERR_NOT_FOUND, EB_ERR_CONFLICT (with the current status in current),
 * EB_ERR_REDIS. */
eb_err_t order_store_decide(eb_redis_t *r, const char *id, order_event_t ev,
                            const eb_outbox_entry_t *e, int64_t retention_s, char *current,
                            size_t current_size);

#endif /* SERVICES_ORDER_STORE_H */
