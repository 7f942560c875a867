/*
 * payment-service's domain: deciding a payment, refunding it when the saga
 * compensates (docs/saga.md), and the consumer handler that makes each of
 * these decisions once per order.
 */
#ifndef SERVICES_PAYMENT_PAYMENT_H
#define SERVICES_PAYMENT_PAYMENT_H

#include <stdint.h>

#include "../common/domain.h"
#include "eventbus/consumer.h"

/* What payment:decision:<orderId> holds for an order cancelled before its
 * payment was decided: not an event, so it is never published. */
#define PAYMENT_TOMBSTONE "cancelled"

typedef struct payment_ctx_s {
    int64_t limit; /* PAYMENT_LIMIT in minor units */
} payment_ctx_t;

/* Decides the payment of order o against limit (minor units): an order whose
 * total is above the limit fails with PAYMENT_REASON_LIMIT, any other is
 * processed under a payment id derived from cause_id, the id of the
 * OrderCreated event. Pure: the same input, the same decision. The items
 * of out past out->item_count are left as they were. */
void payment_decide(const svc_order_t *o, int64_t limit, const char *cause_id, svc_payment_t *out);

/* The refund of the processed payment p (PaymentProcessed data) for reason
 * (REASON_CANCELLED or REASON_OUT_OF_STOCK): the payment's order, payment
 * id, user (if any), amount and currency. Pure. */
void payment_refund(const svc_payment_t *p, const char *reason, svc_refund_t *out);

/* Encodes the PaymentRefunded event that refunds the stored PaymentProcessed
 * event processed (len bytes, as payment:decision:<orderId> holds it), for
 * reason. The event is derived from the payment event, not from what caused
 * the refund (eb_event_derive with the payment event as the cause): its id
 * and time follow from the payment alone, so an OrderCancelled and an
 * InventoryInsufficient for the same order yield the same event id, and its
 * causationid is the payment event's id. Pure. Returns EB_OK with a
 * malloc'd event in *out (length in *out_len) that the caller frees;
 * EB_ERR_INVALID with the reason in errstr when processed is not a valid
 * PaymentProcessed event; EB_ERR_NOMEM. */
eb_err_t payment_refund_event(const char *processed, size_t len, const char *reason, char **out,
                              size_t *out_len, char *errstr, size_t errstr_size);

/* The handler, per batch (eb_batch_handler_t; opaque is a
 * payment_ctx_t), for OrderCreated, OrderCancelled and InventoryInsufficient.
 *
 * OrderCreated:
 * Each decision is stored in Redis (SET NX, key payment:decision:<orderId>)
 * before it is published, the whole batch in one pipeline. A redelivered
 * OrderCreated, or a second OrderCreated for the same order, finds the stored
 * decision and publishes it again unchanged, with the same event id, so there
 * is one decision per order, ever, and consumers downstream recognise the
 * repeat. Should the store lose the decision (Redis lost its data), the
 * decision taken again is the same bytes: its ids and time are derived from
 * the OrderCreated event (eb_event_derive). An order whose decision is the
 * tombstone (PAYMENT_TOMBSTONE) was cancelled first: it is never charged
 * and nothing is published.
 *
 * OrderCancelled and InventoryInsufficient, one Redis script each (check and
 * change in one atomic step): no decision yet -> the tombstone is stored, and
 * the OrderCreated read later charges nothing; a PaymentProcessed stored ->
 * the refund is stored once (SET NX, key payment:refund:<orderId>) and
 * published to payment-refunded; a second cause finds the stored refund and
 * publishes it again unchanged. A PaymentFailed or the tombstone: nothing was
 * charged, nothing is published. */
void payment_handle_batch(eb_work_t *const *works, size_t n, void *opaque);

#endif /* SERVICES_PAYMENT_PAYMENT_H */
