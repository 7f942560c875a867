/*
 * inventory-service's consumer handler and HTTP routes.
 */
#ifndef SERVICES_INVENTORY_HANDLER_H
#define SERVICES_INVENTORY_HANDLER_H

#include <stddef.h>
#include <stdint.h>

#include "eventbus/api.h"
#include "eventbus/consumer.h"

typedef struct inventory_ctx_s {
    int64_t default_stock; /* INVENTORY_DEFAULT_STOCK; set before any thread starts */
} inventory_ctx_t;

/* The event handler (eb_handler_t; opaque is an inventory_ctx_t):
 * PaymentProcessed reserves, OrderCancelled releases, OrderCompleted ships
 * (store.h). The outcome is stored before it is published, and what the
 * store answers is what goes out: a redelivery republishes the stored
 * bytes, keyed by orderId. Invalid data is EB_ERR_BAD_EVENT (the DLQ); no
 * answer from Redis EB_ERR_REDIS (the consumer waits). Runs on the
 * consumer thread. */
eb_err_t inventory_handle(eb_work_t *w, void *opaque);

/* PUT and GET /inventory/{id}, for app_daemon_t.routes (opaque is the
 * inventory_ctx_t). */
extern const eb_api_route_t inventory_routes[];
extern const size_t inventory_route_count;

#endif /* SERVICES_INVENTORY_HANDLER_H */
