/*
 * order-service: the order HTTP API, the outbox relay and the order status
 * updater, in one process.
 *
 * Wiring and lifecycle only. Threads:
 *   - libmicrohttpd's worker pool (api.c): intake, reads, admin endpoints;
 *   - the outbox relay (eventbus/outbox.h): Redis outbox -> Kafka;
 *   - the status updater (status.c): payment events -> order status;
 *   - main: waits for SIGTERM/SIGINT.
 * Each part has the same lifecycle, driven from main: _new (nothing runs
 * yet), _start (its threads run), stop, _destroy. Start-up goes relay,
 * status updater, admin router, API, so that every probe the API answers
 * finds what it looks at.
 *
 * Shutdown order, once the stop flag is set (by a signal, or by a thread
 * that failed for good):
 *   0. the flag itself is the relay's and the status updater's stop: from
 *      now on, on their own threads and in parallel with step 1, the relay
 *      stops reading the outbox and drains (waits up to 5 s for deliveries
 *      in flight and acknowledges them; the rest stays in Redis for next
 *      time), and the status updater finishes or hands back its batch,
 *      commits its stored offsets and leaves its group;
 *   1. stop intake: order_api_stop() lets the HTTP server finish requests
 *      in progress and close (every 201 sent has its event in the outbox),
 *      and joins the workers, which also answer the admin probes that read
 *      the relay and the status updater: so they go first;
 *   2. eb_outbox_destroy() joins the relay and frees its producer;
 *   3. order_status_destroy() joins the status updater, flushes its
 *      producer and frees the consumer;
 *   4. the API and the admin router are freed; exit 0.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "../common/domain.h"
#include "api.h"
#include "eventbus/app/cli.h"
#include "eventbus/app/probe.h"
#include "eventbus/app/setup.h"
#include "eventbus/eventbus.h"
#include "eventbus/outbox.h"
#include "rebuild.h"
#include "status.h"
#include "store.h"

typedef struct order_conf_s {
    int64_t http_port;
    const char *bind_address;
    int64_t idem_ttl_s;
    int64_t retention_s;
} order_conf_t;

static eb_common_conf_t common;
static order_conf_t conf;

#define O(name, type, field, def, min, max, desc)                                                  \
    {                                                                                              \
        name, type, offsetof(order_conf_t, field), def, min, max, NULL, NULL, desc, NULL           \
    }

static const eb_conf_entry_t order_entries[] = {
    O("HTTP_PORT", EB_CONF_PORT, http_port, "3000", 0, 65535,
      "Port of the order API (also /health /ready /metrics); 0 picks a free port and logs it"),
    O("BIND_ADDRESS", EB_CONF_STRING, bind_address, "0.0.0.0", 0, 0,
      "IPv4 address the API listens on"),
    O("IDEMPOTENCY_KEY_TTL_S", EB_CONF_INT, idem_ttl_s, "86400", 1, 31536000,
      "How long an Idempotency-Key is remembered, in seconds"),
    O("ORDER_RETENTION_S", EB_CONF_INT, retention_s, "604800", 0, 315360000,
      "How long an order is kept once its status is terminal, in seconds; 0 keeps orders for "
      "good. At least IDEMPOTENCY_KEY_TTL_S"),
};

static const eb_conf_section_t sections[] = {
    {"order-service", order_entries, sizeof(order_entries) / sizeof(order_entries[0]), &conf},
    EB_CONF_SECTION_HTTP(&common),
    EB_CONF_SECTION_OUTBOX(&common),
    EB_CONF_SECTION_KAFKA(&common),
    EB_CONF_SECTION_REDIS(&common),
    EB_CONF_SECTION_CONSUMER(&common),
    EB_CONF_SECTION_LOG(&common),
};

static const eb_conf_program_t prog = {
    "order-service",
    "The order HTTP API with a transactional outbox to Kafka, and the order status updater.",
    "[--rebuild] [options]",
    sections,
    sizeof(sections) / sizeof(sections[0]),
    1,
    0,
};

typedef struct order_app_s {
    order_api_t *api;
    eb_outbox_t *relay;
    order_status_t *status;
    app_probe_intake_t probe; /* the three above, for /ready and /health */
} order_app_t;

int main(int argc, char **argv)
{
    static const char *const topics[] = {TOPIC_PAYMENT_PROCESSED, TOPIC_PAYMENT_FAILED,
                                         TOPIC_INVENTORY_RESERVED, TOPIC_INVENTORY_INSUFFICIENT};
    static const char *const types[] = {TYPE_PAYMENT_PROCESSED, TYPE_PAYMENT_FAILED,
                                        TYPE_INVENTORY_RESERVED, TYPE_INVENTORY_INSUFFICIENT};
    static order_app_t app;
    eb_conf_args_t args;
    eb_redis_addr_t raddr;
    rd_kafka_conf_t *relay_conf = NULL, *status_cconf = NULL, *status_pconf = NULL;
    eb_admin_t *admin = NULL;
    char errstr[512];
    int rc;

    int rebuild = 0, n = 1;

    /* --rebuild is a mode, not a setting: taken out before the settings. */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rebuild") == 0)
            rebuild = 1;
        else
            argv[n++] = argv[i];
    }
    argc = n;
    if ((rc = app_cli_parse(&prog, argc, argv, &args)) != APP_CONTINUE) {
        if (rc == APP_EXIT_OK && args.action == EB_CONF_ACTION_HELP)
            printf("\n--rebuild: rebuild every order's status from the topics, from their "
                   "beginning,\n  into the (empty) Redis database of REDIS_URL, ignoring "
                   "done-marks; prints\n  the count of orders rebuilt and exits.\n");
        return rc;
    }
    /* A remembered Idempotency-Key answers with its order: the order must
     * outlive the key (docs/retention.md). */
    if (conf.retention_s > 0 && conf.retention_s < conf.idem_ttl_s) {
        app_cli_error(prog.name,
                      "ORDER_RETENTION_S must be 0 or at least IDEMPOTENCY_KEY_TTL_S (%lld), not "
                      "%lld: a repeated Idempotency-Key would name an order already gone",
                      (long long)conf.idem_ttl_s, (long long)conf.retention_s);
        return APP_EXIT_USAGE;
    }
    app_setup_log(prog.name, &common);
    app_setup_limits(&common);
    /* Validate everything before the first connection: exit 2 on bad input. */
    if (app_setup_redis_addr(&common, &raddr, errstr, sizeof(errstr)) != EB_OK ||
        app_setup_kafka_confs(&common, &args, common.instance_id, NULL, &relay_conf, errstr,
                              sizeof(errstr)) != EB_OK ||
        app_setup_kafka_confs(&common, &args, common.instance_id, &status_cconf, &status_pconf,
                              errstr, sizeof(errstr)) != EB_OK) {
        app_cli_error(prog.name, "%s", errstr);
        if (relay_conf)
            rd_kafka_conf_destroy(relay_conf);
        return APP_EXIT_USAGE;
    }
    eb_lifecycle_install_signals();
    if (rebuild) {
        rd_kafka_conf_destroy(relay_conf);
        rd_kafka_conf_destroy(status_pconf);
        if (eb_kafka_conf_set(status_cconf, "group.id", "order-service-rebuild", errstr,
                              sizeof(errstr)) != EB_OK) {
            app_cli_error(prog.name, "%s", errstr);
            rd_kafka_conf_destroy(status_cconf);
            return APP_EXIT_USAGE;
        }
        return order_rebuild(&common, &raddr, status_cconf, conf.retention_s);
    }
    rc = APP_EXIT_FAIL;

    app.relay = app_setup_relay(&common, &raddr, ORDER_OUTBOX_STREAM, relay_conf);
    if (!app.relay) {
        rd_kafka_conf_destroy(status_cconf);
        rd_kafka_conf_destroy(status_pconf);
        goto out;
    }

    eb_consumer_opts_t copts;

    app_setup_consumer_opts(&common, &raddr, "order-service", &copts);
    copts.topics = topics;
    copts.topic_count = sizeof(topics) / sizeof(topics[0]);
    copts.event_types = types;
    copts.event_type_count = sizeof(types) / sizeof(types[0]);
    copts.schemas = svc_schemas();
    copts.handler = order_status_handle;
    copts.opaque = &conf.retention_s;
    app.status = order_status_new(status_cconf, status_pconf, &copts, errstr, sizeof(errstr));
    if (!app.status || order_status_start(app.status) != 0) {
        EB_ERROR("status updater: %s", app.status ? "cannot start the status thread" : errstr);
        goto out;
    }

    app.probe =
        (app_probe_intake_t){NULL, app.relay, order_status_consumer(app.status), "status updater"};
    eb_admin_opts_t aopts = {app_probe_intake_ready, app_probe_intake_live,
                             app_probe_intake_collect, &app.probe};
    app_setup_build_info(prog.name);
    admin = eb_admin_new(&aopts);
    order_api_opts_t hopts = {
        .bind_address = conf.bind_address,
        .port = (int)conf.http_port,
        .limits = eb_http_limits_from_conf(&common),
        .max_body = common.http_max_body,
        .idem_ttl_s = conf.idem_ttl_s,
        .retention_s = conf.retention_s,
        .redis = &raddr,
        .admin = admin,
    };
    app.api = admin ? order_api_new(&hopts, errstr, sizeof(errstr)) : NULL;
    app.probe.api = app.api ? order_api_server(app.api) : NULL;
    if (!app.api || order_api_start(app.api, errstr, sizeof(errstr)) != EB_OK) {
        EB_ERROR("http: %s", admin ? errstr : "out of memory");
        goto out;
    }
    EB_INFO("order-service %s started: http on %s:%d, brokers %s", EB_VERSION, conf.bind_address,
            order_api_port(app.api), common.kafka_brokers);

    while (!eb_stop_flag)
        eb_lifecycle_sleep(1000);
    EB_INFO("order-service stopping");
    /* A thread that failed for good set its flag before asking for the stop. */
    rc = eb_outbox_failed(app.relay) || order_status_failed(app.status) ? APP_EXIT_FAIL
                                                                        : APP_EXIT_OK;

out:
    /* The shutdown order of the header comment. */
    eb_lifecycle_request_stop();      /* 0. on the error paths, stop the threads too */
    order_api_stop(app.api);          /* 1. intake */
    eb_outbox_destroy(app.relay);     /* 2. relay drained */
    order_status_destroy(app.status); /* 3. status updater left its group */
    order_api_destroy(app.api);       /* 4. */
    app.api = NULL;
    eb_admin_destroy(admin);
    EB_INFO("order-service stopped");
    eb_metrics_reset();
    return rc;
}
