/*
 * payment-service: consumes OrderCreated, decides each order's payment once,
 * publishes PaymentProcessed or PaymentFailed; consumes OrderCancelled and
 * InventoryInsufficient, refunds a processed payment once and publishes
 * PaymentRefunded (docs/saga.md).
 *
 * Wiring only; the decision and the handler live in payment.c. Shutdown
 * order (app_daemon_main, eventbus/app/daemon.h): SIGTERM sets the stop
 * flag -> the consume loop finishes its batch or hands it back uncommitted
 * -> stored offsets are committed and the group is left -> the admin
 * endpoint stops -> the producer is flushed -> exit 0.
 */
#include <stddef.h>

#include "eventbus/app/cli.h"
#include "eventbus/app/daemon.h"
#include "eventbus/eventbus.h"
#include "payment.h"

typedef struct payment_conf_s {
    int64_t admin_port;
    const char *bind_address;
    int64_t limit;
} payment_conf_t;

static eb_common_conf_t common;
static payment_conf_t conf;
static payment_ctx_t ctx;

#define P(name, type, field, def, min, max, desc)                                                  \
    {                                                                                              \
        name, type, offsetof(payment_conf_t, field), def, min, max, NULL, NULL, desc, NULL         \
    }

static const eb_conf_entry_t payment_entries[] = {
    P("ADMIN_PORT", EB_CONF_PORT, admin_port, "3001", 0, 65535,
      "Port of /health, /ready and /metrics; 0 picks a free port and logs it"),
    P("BIND_ADDRESS", EB_CONF_STRING, bind_address, "0.0.0.0", 0, 0,
      "IPv4 address the admin endpoint listens on"),
    P("PAYMENT_LIMIT", EB_CONF_MONEY, limit, "10000.00", 0, INT64_C(10000000000000),
      "Orders with a total above this are declined (PaymentFailed)"),
};

static const eb_conf_section_t sections[] = {
    {"payment-service", payment_entries, sizeof(payment_entries) / sizeof(payment_entries[0]),
     &conf},
    EB_CONF_SECTION_KAFKA(&common),
    EB_CONF_SECTION_REDIS(&common),
    EB_CONF_SECTION_CONSUMER(&common),
    EB_CONF_SECTION_LOG(&common),
};

static const eb_conf_program_t prog = {
    "payment-service",
    "Consumes OrderCreated events, decides each order's payment once and publishes "
    "PaymentProcessed or PaymentFailed. Consumes OrderCancelled and InventoryInsufficient "
    "events and refunds a processed payment once (PaymentRefunded); an order cancelled "
    "before its payment is never charged.",
    "[options]",
    sections,
    sizeof(sections) / sizeof(sections[0]),
    1,
    0,
};

static int payment_start(void *opaque, const eb_redis_addr_t *redis)
{
    payment_ctx_t *c = opaque;

    (void)redis;
    c->limit = conf.limit;
    return APP_CONTINUE;
}

int main(int argc, char **argv)
{
    static const char *const topics[] = {TOPIC_ORDER_CREATED, TOPIC_ORDER_CANCELLED,
                                         TOPIC_INVENTORY_INSUFFICIENT};
    static const char *const types[] = {TYPE_ORDER_CREATED, TYPE_ORDER_CANCELLED,
                                        TYPE_INVENTORY_INSUFFICIENT};
    const app_daemon_t d = {
        .service = "payment-service",
        .prog = &prog,
        .common = &common,
        .admin_port = &conf.admin_port,
        .bind_addr = &conf.bind_address,
        .topics = topics,
        .topic_count = sizeof(topics) / sizeof(topics[0]),
        .event_types = types,
        .event_type_count = sizeof(types) / sizeof(types[0]),
        .schemas = svc_schemas(),
        .batch_handler = payment_handle_batch,
        .start = payment_start,
        .opaque = &ctx,
    };

    return app_daemon_main(&d, argc, argv);
}
