/*
 * payment-service's domain: deciding a payment, and the consumer handler
 * that makes the decision once per order.
 */
#ifndef SERVICES_PAYMENT_PAYMENT_H
#define SERVICES_PAYMENT_PAYMENT_H

#include <stdint.h>

#include "../common/domain.h"
#include "eventbus/consumer.h"

#define PAYMENT_REASON_LIMIT "amount exceeds limit"

typedef struct payment_ctx_s {
    int64_t limit; /* PAYMENT_LIMIT in minor units */
} payment_ctx_t;

/* Decides the payment of order o against limit (minor units): an order whose
 * total is above the limit fails with PAYMENT_REASON_LIMIT, any other is
 * processed under a payment id derived from cause_id, the id of the
 * OrderCreated event. Pure: the same input, the same decision. */
void payment_decide(const svc_order_t *o, int64_t limit, const char *cause_id, svc_payment_t *out);

/* The OrderCreated handler, per batch (eb_batch_handler_t; opaque is a
 * payment_ctx_t).
 *
 * Each decision is stored in Redis (SET NX, key payment:decision:<orderId>)
 * before it is published, the whole batch in one pipeline. A redelivered
 * OrderCreated, or a second OrderCreated for the same order, finds the stored
 * decision and publishes it again unchanged, with the same event id, so there
 * is one decision per order, ever, and consumers downstream recognise the
 * repeat. Should the store lose the decision (Redis lost its data), the
 * decision taken again is the same bytes: its ids and time are derived from
 * the OrderCreated event (eb_event_derive). */
void payment_handle_batch(eb_work_t *const *works, size_t n, void *opaque);

#endif /* SERVICES_PAYMENT_PAYMENT_H */
