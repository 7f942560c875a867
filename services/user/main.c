/*
 * user-service: the user HTTP API and the outbox relay that publishes its
 * UserRegistered and UserUpdated events, in one process.
 *
 * Wiring and lifecycle only. Threads:
 *   - libmicrohttpd's worker pool (api.c): intake, reads, admin endpoints;
 *   - the outbox relay (eventbus/outbox.h): users:outbox -> Kafka;
 *   - main: waits for SIGTERM/SIGINT.
 * Start-up goes relay, admin router, API, so that every probe the API
 * answers finds what it looks at.
 *
 * Shutdown order, once the stop flag is set (by a signal, or by the relay
 * failing for good):
 *   0. the flag itself is the relay's stop: from now on, on its own thread
 *      and in parallel with step 1, it stops reading the outbox and drains
 *      (waits up to 5 s for deliveries in flight and acknowledges them; the
 *      rest stays in Redis for next time);
 *   1. stop intake: eb_api_stop() lets the HTTP server finish requests in
 *      progress and close (every 201 or 200 sent has its event in the
 *      outbox), and joins the workers, which also answer the admin probes
 *      that read the relay: so they go first;
 *   2. eb_outbox_destroy() joins the relay and frees its producer;
 *   3. the API and the admin router are freed; exit 0.
 */
#include <stddef.h>
#include <string.h>

#include "../common/domain.h"
#include "api.h"
#include "eventbus/app/cli.h"
#include "eventbus/app/probe.h"
#include "eventbus/app/setup.h"
#include "eventbus/eventbus.h"
#include "eventbus/outbox.h"
#include "store.h"

typedef struct user_conf_s {
    int64_t http_port;
    const char *bind_address;
} user_conf_t;

static eb_common_conf_t common;
static user_conf_t conf;

#define U(name, type, field, def, min, max, desc)                                                  \
    {                                                                                              \
        name, type, offsetof(user_conf_t, field), def, min, max, NULL, NULL, desc, NULL            \
    }

static const eb_conf_entry_t user_entries[] = {
    U("HTTP_PORT", EB_CONF_PORT, http_port, "3003", 0, 65535,
      "Port of the user API (also /health /ready /metrics); 0 picks a free port and logs it"),
    U("BIND_ADDRESS", EB_CONF_STRING, bind_address, "0.0.0.0", 0, 0,
      "IPv4 address the API listens on"),
};

static const eb_conf_section_t sections[] = {
    {"user-service", user_entries, sizeof(user_entries) / sizeof(user_entries[0]), &conf},
    EB_CONF_SECTION_HTTP(&common),
    EB_CONF_SECTION_OUTBOX(&common),
    EB_CONF_SECTION_KAFKA(&common),
    EB_CONF_SECTION_REDIS(&common),
    EB_CONF_SECTION_LOG(&common),
};

static const eb_conf_program_t prog = {
    "user-service",
    "The user HTTP API with a transactional outbox to Kafka (UserRegistered, UserUpdated).",
    "[options]",
    sections,
    sizeof(sections) / sizeof(sections[0]),
    1,
    0,
};

typedef struct user_app_s {
    eb_api_t *api;
    eb_outbox_t *relay;
    app_probe_intake_t probe; /* the two above, for /ready and /health */
} user_app_t;

int main(int argc, char **argv)
{
    static user_app_t app;
    eb_conf_args_t args;
    eb_redis_addr_t raddr;
    rd_kafka_conf_t *relay_conf = NULL;
    eb_admin_t *admin = NULL;
    char errstr[512];
    int rc;

    if ((rc = app_cli_parse(&prog, argc, argv, &args)) != APP_CONTINUE)
        return rc;
    app_setup_log(prog.name, &common);
    app_setup_limits(&common);
    /* Validate everything before the first connection: exit 2 on bad input. */
    if (app_setup_redis_addr(&common, &raddr, errstr, sizeof(errstr)) != EB_OK ||
        app_setup_kafka_confs(&common, &args, common.instance_id, NULL, &relay_conf, errstr,
                              sizeof(errstr)) != EB_OK) {
        app_cli_error(prog.name, "%s", errstr);
        return APP_EXIT_USAGE;
    }
    eb_lifecycle_install_signals();
    rc = APP_EXIT_FAIL;

    app.relay = app_setup_relay(&common, &raddr, USER_OUTBOX_STREAM, relay_conf);
    if (!app.relay) {
        goto out;
    }

    app.probe.relay = app.relay;
    eb_admin_opts_t aopts = {app_probe_intake_ready, app_probe_intake_live,
                             app_probe_intake_collect, &app.probe};
    app_setup_build_info(prog.name);
    admin = eb_admin_new(&aopts);
    eb_api_opts_t hopts = {
        .bind_address = conf.bind_address,
        .port = (int)conf.http_port,
        .limits = eb_http_limits_from_conf(&common),
        .max_body = common.http_max_body,
        .redis = &raddr,
        .admin = admin,
    };
    app.api = admin ? user_api_new(&hopts) : NULL;
    if (!app.api) {
        EB_ERROR("http: out of memory");
        goto out;
    }
    app.probe.api = app.api;
    if (eb_api_start(app.api, errstr, sizeof(errstr)) != EB_OK) {
        EB_ERROR("http: %s", errstr);
        goto out;
    }
    EB_INFO("user-service %s started: http on %s:%d, brokers %s", EB_VERSION, conf.bind_address,
            eb_api_port(app.api), common.kafka_brokers);

    while (!eb_stop_flag)
        eb_lifecycle_sleep(1000);
    EB_INFO("user-service stopping");
    /* A relay that failed for good set its flag before asking for the stop. */
    rc = eb_outbox_failed(app.relay) ? APP_EXIT_FAIL : APP_EXIT_OK;

out:
    /* The shutdown order of the header comment. */
    eb_lifecycle_request_stop();  /* 0. on the error paths, stop the relay too */
    eb_api_stop(app.api);         /* 1. intake */
    eb_outbox_destroy(app.relay); /* 2. relay drained */
    eb_api_destroy(app.api);      /* 3. */
    app.api = NULL;
    eb_admin_destroy(admin);
    EB_INFO("user-service stopped");
    eb_metrics_reset();
    return rc;
}
