/*
 * notification-service: consumes order, payment, refund and user events
 * and delivers exactly one notification per event (one JSON line in
 * NOTIFY_FILE).
 *
 * Wiring only; rendering and delivery live in notify.c. Shutdown order
 * (app_daemon_main, eventbus/app/daemon.h): SIGTERM sets the stop flag ->
 * the consume loop finishes its batch (lines written are fsynced before
 * their events are marked done) or hands it back -> offsets committed,
 * group left -> the admin endpoint stops -> the producer is flushed -> the
 * file is closed (notify_stop) -> exit 0.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "../common/domain.h"
#include "eventbus/app/cli.h"
#include "eventbus/app/daemon.h"
#include "eventbus/eventbus.h"
#include "notify.h"

typedef struct notify_conf_s {
    int64_t admin_port;
    const char *bind_address;
    const char *notify_file;
} notify_conf_t;

static eb_common_conf_t common;
static notify_conf_t conf;
static notify_ctx_t ctx = NOTIFY_CTX_INIT;

#define N(name, type, field, def, desc)                                                            \
    {                                                                                              \
        name, type, offsetof(notify_conf_t, field), def, 0, 0, NULL, NULL, desc, NULL              \
    }

static const eb_conf_entry_t notify_entries[] = {
    N("ADMIN_PORT", EB_CONF_PORT, admin_port, "3002",
      "Port of /health, /ready and /metrics; 0 picks a free port and logs it"),
    N("BIND_ADDRESS", EB_CONF_STRING, bind_address, "0.0.0.0",
      "IPv4 address the admin endpoint listens on"),
    N("NOTIFY_FILE", EB_CONF_STRING, notify_file, "notifications.jsonl",
      "File that delivered notifications are appended to, one JSON object per line"),
};

static const eb_conf_section_t sections[] = {
    {"notification-service", notify_entries, sizeof(notify_entries) / sizeof(notify_entries[0]),
     &conf},
    EB_CONF_SECTION_KAFKA(&common),
    EB_CONF_SECTION_REDIS(&common),
    EB_CONF_SECTION_CONSUMER(&common),
    EB_CONF_SECTION_LOG(&common),
};

static const eb_conf_program_t prog = {
    "notification-service",
    "Consumes OrderCreated, PaymentProcessed, PaymentFailed, PaymentRefunded, OrderCancelled, "
    "OrderCompleted and UserRegistered events and writes exactly one notification per event.",
    "[options]",
    sections,
    sizeof(sections) / sizeof(sections[0]),
    1,
    0,
};

/* Opens NOTIFY_FILE, then recovers from a crash before consuming: the
 * events of the last lines written are marked handled (notify_recover). Waits
 * for Redis if it is down: consuming before recovery could repeat lines. */
static int notify_start(void *opaque, const eb_redis_addr_t *raddr)
{
    notify_ctx_t *c = opaque;
    eb_redis_t *r;
    size_t n = 0;
    eb_err_t err;

    c->path = conf.notify_file;
    if (notify_open(c) != 0) {
        app_cli_error(prog.name, "invalid NOTIFY_FILE '%s': %s", c->path, strerror(errno));
        return APP_EXIT_USAGE;
    }
    r = eb_redis_new(raddr);
    while (r && (err = notify_recover(c, r, "notification-service", common.idempotency_ttl_s,
                                      &n)) == EB_ERR_REDIS) {
        EB_WARN("waiting for redis to recover %s", c->path);
        if (eb_lifecycle_sleep(1000))
            break;
    }
    eb_redis_destroy(r);
    if (!r || eb_stop_flag || err != EB_OK) {
        if (!eb_stop_flag)
            EB_ERROR("recovering %s: %s", c->path, r ? eb_err2str(err) : "out of memory");
        notify_close(c);
        return eb_stop_flag ? APP_EXIT_OK : APP_EXIT_FAIL;
    }
    EB_INFO("%s: %zu recent notification(s) recorded as delivered", c->path, n);
    return APP_CONTINUE;
}

static void notify_stop(void *opaque)
{
    notify_close(opaque);
}

int main(int argc, char **argv)
{
    static const char *const topics[] = {TOPIC_ORDER_CREATED,   TOPIC_PAYMENT_PROCESSED,
                                         TOPIC_PAYMENT_FAILED,  TOPIC_PAYMENT_REFUNDED,
                                         TOPIC_ORDER_CANCELLED, TOPIC_ORDER_COMPLETED,
                                         TOPIC_USER_REGISTERED};
    static const char *const types[] = {
        TYPE_ORDER_CREATED,   TYPE_PAYMENT_PROCESSED, TYPE_PAYMENT_FAILED, TYPE_PAYMENT_REFUNDED,
        TYPE_ORDER_CANCELLED, TYPE_ORDER_COMPLETED,   TYPE_USER_REGISTERED};
    const app_daemon_t d = {
        .service = "notification-service",
        .prog = &prog,
        .common = &common,
        .admin_port = &conf.admin_port,
        .bind_addr = &conf.bind_address,
        .topics = topics,
        .topic_count = sizeof(topics) / sizeof(topics[0]),
        .event_types = types,
        .event_type_count = sizeof(types) / sizeof(types[0]),
        .schemas = svc_schemas(),
        .handler = notify_handle,
        .batch_end = notify_sync,
        .tick = notify_tick,
        .start = notify_start,
        .stop = notify_stop,
        .opaque = &ctx,
    };

    return app_daemon_main(&d, argc, argv);
}
