/*
 * The order status machine. See lifecycle.h and docs/saga.md.
 */
#include <string.h>

#include "lifecycle.h"

order_state_t order_status_next(order_state_t s, order_event_t ev)
{
    /* The customer's cancel and the completion are final for good. */
    if (s == ORDER_CANCELLED || s == ORDER_COMPLETED)
        return s;
    /* order-service's own decisions were taken from a live status: they
     * stand over anything another service's event set (only the rebuild
     * can read them after such an event). */
    if (ev == ORDER_EV_CANCELLED)
        return ORDER_CANCELLED;
    if (ev == ORDER_EV_COMPLETED)
        return ORDER_COMPLETED;
    if (order_state_terminal(s))
        return s;
    switch (ev) {
    case ORDER_EV_PAYMENT_PROCESSED:
        return s == ORDER_PENDING ? ORDER_PAID : s;
    case ORDER_EV_INVENTORY_RESERVED:
        /* inventory reserves only for a processed payment: a reservation
         * read before its PaymentProcessed means that one is paid too. */
        return ORDER_CONFIRMED;
    case ORDER_EV_PAYMENT_FAILED:
        /* One payment decision per order: a failure cannot follow a
         * processed payment. Should one (an injected event), the order
         * keeps the status it has rather than going back. */
        return s == ORDER_PENDING ? ORDER_PAYMENT_FAILED : s;
    case ORDER_EV_INVENTORY_INSUFFICIENT:
        /* Nothing was reserved; a CONFIRMED order cannot get this answer. */
        return s == ORDER_CONFIRMED ? s : ORDER_CANCELLED_STOCK;
    default:
        return s;
    }
}

int order_state_terminal(order_state_t s)
{
    return s == ORDER_COMPLETED || s == ORDER_PAYMENT_FAILED || s == ORDER_CANCELLED_STOCK ||
           s == ORDER_CANCELLED;
}

int order_can_cancel(order_state_t s)
{
    return s == ORDER_PENDING || s == ORDER_PAID || s == ORDER_CONFIRMED;
}

int order_can_complete(order_state_t s)
{
    return s == ORDER_CONFIRMED;
}

static const char *const statuses[ORDER_STATE_COUNT] = {
    ORDER_STATUS_PENDING, ORDER_STATUS_PAID,      ORDER_STATUS_CONFIRMED, ORDER_STATUS_COMPLETED,
    ORDER_STATUS_FAILED,  ORDER_STATUS_CANCELLED, ORDER_STATUS_CANCELLED,
};

const char *order_state_status(order_state_t s)
{
    return statuses[s];
}

const char *order_state_reason(order_state_t s)
{
    return s == ORDER_CANCELLED_STOCK ? REASON_OUT_OF_STOCK
           : s == ORDER_CANCELLED     ? REASON_CANCELLED
                                      : "";
}

int order_state_parse(const char *status, const char *reason)
{
    if (!status)
        return -1;
    if (strcmp(status, ORDER_STATUS_CANCELLED) == 0)
        return reason && strcmp(reason, REASON_OUT_OF_STOCK) == 0 ? ORDER_CANCELLED_STOCK
                                                                  : ORDER_CANCELLED;
    for (int s = 0; s < ORDER_STATE_COUNT; s++)
        if (strcmp(status, statuses[s]) == 0)
            return s;
    return -1;
}

int order_event_of_type(const char *type)
{
    static const char *const types[ORDER_EV_COUNT] = {
        TYPE_PAYMENT_PROCESSED,      TYPE_PAYMENT_FAILED,  TYPE_INVENTORY_RESERVED,
        TYPE_INVENTORY_INSUFFICIENT, TYPE_ORDER_CANCELLED, TYPE_ORDER_COMPLETED,
    };

    for (int e = 0; e < ORDER_EV_COUNT; e++)
        if (strcmp(type, types[e]) == 0)
            return e;
    return -1;
}

int order_missing_expired(int64_t now_ms, int64_t event_ms, int64_t retention_s)
{
    if (retention_s <= 0)
        return 0;
    /* now_ms - event_ms >= retention_s * 1000, without overflow: retention_s
     * is at most a few years, event_ms any time a CloudEvent can carry. */
    return event_ms <= now_ms && now_ms - event_ms >= retention_s * 1000;
}
