/*
 * Orders in Redis.
 *
 *   order:<id>          hash: userId currency total items createdAt status updatedAt
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

#include "eventbus/redis.h"
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
                            const char *traceparent, const char *idem_key, int64_t idem_ttl_s,
                            order_store_outcome_t *outcome, char existing_id[EB_UUID_LEN + 1]);

/* Loads order id. On EB_OK, *held holds the strings v points into; free it
 * with eb_redis_pipeline_destroy(). EB_ERR_NOT_FOUND or EB_ERR_REDIS
 * otherwise. */
eb_err_t order_store_load(eb_redis_t *r, const char *id, order_view_t *v,
                          eb_redis_pipeline_t **held);

/* Moves order id from PENDING to status. Returns EB_OK when set (or already
 * so), EB_ERR_NOT_FOUND for an unknown order, EB_ERR_CONFLICT when the order
 * already has another final status, EB_ERR_REDIS when Redis fails. */
eb_err_t order_store_set_status(eb_redis_t *r, const char *id, const char *status);

#endif /* SERVICES_ORDER_STORE_H */
