/*
 * inventory-service: keeps stock per product and reserves, releases and
 * ships the units of each order once (docs/saga.md); serves PUT and GET
 * /inventory/<productId> with /health, /ready and /metrics on HTTP_PORT.
 *
 * Wiring only; the outcomes live in store.c, the handler and the routes in
 * handler.c. Shutdown order (app_daemon_main, eventbus/app/daemon.h):
 * SIGTERM sets the stop flag -> the consume loop finishes its batch or
 * hands it back uncommitted -> stored offsets are committed and the group
 * is left -> the HTTP API stops (requests in progress finish) -> the
 * producer is flushed -> exit 0.
 */
#include <stddef.h>

#include "eventbus/app/cli.h"
#include "eventbus/app/daemon.h"
#include "eventbus/eventbus.h"
#include "handler.h"
#include "inventory.h"

typedef struct inventory_conf_s {
    int64_t http_port;
    const char *bind_address;
    int64_t default_stock;
} inventory_conf_t;

static eb_common_conf_t common;
static inventory_conf_t conf;
static inventory_ctx_t ctx;

#define I(name, type, field, def, min, max, desc)                                                  \
    {                                                                                              \
        name, type, offsetof(inventory_conf_t, field), def, min, max, NULL, NULL, desc, NULL       \
    }

static const eb_conf_entry_t inventory_entries[] = {
    I("HTTP_PORT", EB_CONF_PORT, http_port, "3004", 0, 65535,
      "Port of the inventory API (also /health /ready /metrics); 0 picks a free port and logs it"),
    I("BIND_ADDRESS", EB_CONF_STRING, bind_address, "0.0.0.0", 0, 0,
      "IPv4 address the API listens on"),
    I("INVENTORY_DEFAULT_STOCK", EB_CONF_INT, default_stock, "0", 0, INVENTORY_MAX_STOCK,
      "Units available of a product whose stock was never set (PUT /inventory/<productId>)"),
};

static const eb_conf_section_t sections[] = {
    {"inventory-service", inventory_entries,
     sizeof(inventory_entries) / sizeof(inventory_entries[0]), &conf},
    EB_CONF_SECTION_HTTP(&common),
    EB_CONF_SECTION_KAFKA(&common),
    EB_CONF_SECTION_REDIS(&common),
    EB_CONF_SECTION_CONSUMER(&common),
    EB_CONF_SECTION_LOG(&common),
};

static const eb_conf_program_t prog = {
    "inventory-service",
    "Keeps the stock of each product: reserves an order's items on PaymentProcessed (all or "
    "none), releases them on OrderCancelled, ships them on OrderCompleted; serves PUT and GET "
    "/inventory/<productId>.",
    "[options]",
    sections,
    sizeof(sections) / sizeof(sections[0]),
    1,
    0,
};

static int inventory_start(void *opaque, const eb_redis_addr_t *redis)
{
    inventory_ctx_t *c = opaque;

    (void)redis;
    c->default_stock = conf.default_stock;
    return APP_CONTINUE;
}

int main(int argc, char **argv)
{
    static const char *const topics[] = {TOPIC_PAYMENT_PROCESSED, TOPIC_ORDER_CANCELLED,
                                         TOPIC_ORDER_COMPLETED};
    static const char *const types[] = {TYPE_PAYMENT_PROCESSED, TYPE_ORDER_CANCELLED,
                                        TYPE_ORDER_COMPLETED};
    const app_daemon_t d = {
        .service = "inventory-service",
        .prog = &prog,
        .common = &common,
        .admin_port = &conf.http_port,
        .bind_addr = &conf.bind_address,
        .topics = topics,
        .topic_count = 3,
        .event_types = types,
        .event_type_count = 3,
        .schemas = svc_schemas(),
        .handler = inventory_handle,
        .routes = inventory_routes,
        .route_count = inventory_route_count,
        .unavailable = "the inventory store (Redis) is unreachable; retry later",
        .start = inventory_start,
        .opaque = &ctx,
    };

    return app_daemon_main(&d, argc, argv);
}
