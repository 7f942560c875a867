/*
 * The order status machine (docs/saga.md): a pure function of the status
 * and an event, and which API actions a status allows.
 *
 * Events of one order come on different topics, so they arrive in any
 * order, late or twice. The machine never moves a status backwards, keeps
 * terminal statuses, and lets order-service's own decisions (OrderCancelled,
 * OrderCompleted, which it takes only from a live status, atomically with
 * the status change) win when the rebuild reads them after another
 * terminal event: so the status is a function of the set of an order's
 * events, whatever order they are read in.
 */
#ifndef SERVICES_ORDER_LIFECYCLE_H
#define SERVICES_ORDER_LIFECYCLE_H

#include <stdint.h>

#include "order.h"

typedef enum order_state_e {
    ORDER_PENDING,
    ORDER_PAID,
    ORDER_CONFIRMED,
    ORDER_COMPLETED,
    ORDER_PAYMENT_FAILED,
    ORDER_CANCELLED_STOCK, /* CANCELLED, reason "out of stock" */
    ORDER_CANCELLED,       /* CANCELLED, reason "cancelled" (by the customer) */
    ORDER_STATE_COUNT
} order_state_t;

typedef enum order_event_e {
    ORDER_EV_PAYMENT_PROCESSED,
    ORDER_EV_PAYMENT_FAILED,
    ORDER_EV_INVENTORY_RESERVED,
    ORDER_EV_INVENTORY_INSUFFICIENT,
    ORDER_EV_CANCELLED, /* OrderCancelled: the customer's cancel */
    ORDER_EV_COMPLETED, /* OrderCompleted */
    ORDER_EV_COUNT
} order_event_t;

/* The status after ev. Pure. */
order_state_t order_status_next(order_state_t s, order_event_t ev);

/* 1 when the status is terminal (no event moves it in live operation). */
int order_state_terminal(order_state_t s);

/* 1 when POST /orders/<id>/cancel is allowed (PENDING, PAID, CONFIRMED);
 * 1 when PUT /orders/<id>/complete is allowed (CONFIRMED). */
int order_can_cancel(order_state_t s);
int order_can_complete(order_state_t s);

/* The stored/shown status ("CANCELLED") and reason ("" or the reason). */
const char *order_state_status(order_state_t s);
const char *order_state_reason(order_state_t s);

/* The state of a stored status and reason (reason may be NULL); -1 for text
 * that is no status. */
int order_state_parse(const char *status, const char *reason);

/* Whether a status event for an order that is not stored may be late for
 * an order whose record expired under the retention retention_s
 * (ORDER_RETENTION_S; 0 keeps records for good). Every event that moves
 * a status carries a time no later than the moment its order became
 * terminal (a reaction's time is its cause's, back to the OrderCreated or
 * the customer's cancel or complete, all stamped by order-service), and a
 * record expires retention_s after that moment; so an event younger than
 * the retention (now_ms - event_ms < retention_s s) cannot be for an
 * expired order: its order is unknown. 1 when it may be, 0 otherwise.
 * Pure. */
int order_missing_expired(int64_t now_ms, int64_t event_ms, int64_t retention_s);

/* The event of a CloudEvent type, or -1 when the type moves no status. */
int order_event_of_type(const char *type);

#endif /* SERVICES_ORDER_LIFECYCLE_H */
