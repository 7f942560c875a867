/*
 * The consumer daemons' main: start-up, the consume loop, shutdown.
 *
 * Lifecycle of the two long-running parts, both owned by the main thread:
 * the consumer (eb_consumer_new -> eb_consumer_run, which returns once the
 * stop flag is set -> eb_consumer_destroy) and the admin server
 * (eb_admin_new -> eb_admin_start -> eb_admin_stop -> eb_admin_destroy).
 */
#include "eventbus/app/daemon.h"
#include "eventbus/admin.h"
#include "eventbus/app/cli.h"
#include "eventbus/app/probe.h"
#include "eventbus/app/setup.h"
#include "eventbus/lifecycle.h"
#include "eventbus/log.h"
#include "eventbus/metrics.h"

int app_daemon_main(const app_daemon_t *d, int argc, char **argv)
{
    eb_conf_args_t args;
    eb_redis_addr_t raddr;
    rd_kafka_conf_t *cconf, *pconf;
    eb_consumer_t *consumer = NULL;
    eb_admin_t *admin = NULL;
    eb_api_t *api = NULL;
    app_probe_t probe = {NULL, NULL, NULL};
    char errstr[512];
    int rc, port = 0;

    if ((rc = app_cli_parse(d->prog, argc, argv, &args)) != APP_CONTINUE)
        return rc;
    app_setup_log(d->service, d->common);
    app_setup_limits(d->common);
    /* Everything below up to the first connection only validates: a bad
     * setting exits 2 before the daemon touches the network. */
    if (app_setup_redis_addr(d->common, &raddr, errstr, sizeof(errstr)) != EB_OK ||
        app_setup_kafka_confs(d->common, &args, d->common->instance_id, &cconf, &pconf, errstr,
                              sizeof(errstr)) != EB_OK) {
        app_cli_error(d->service, "%s", errstr);
        return APP_EXIT_USAGE;
    }
    eb_lifecycle_install_signals();
    if (d->start && (rc = d->start(d->opaque, &raddr)) != APP_CONTINUE) {
        rd_kafka_conf_destroy(cconf);
        rd_kafka_conf_destroy(pconf);
        return rc;
    }

    eb_consumer_opts_t opts;

    app_setup_consumer_opts(d->common, &raddr, d->service, &opts);
    opts.topics = d->topics;
    opts.topic_count = d->topic_count;
    opts.event_types = d->event_types;
    opts.event_type_count = d->event_type_count;
    opts.schemas = d->schemas;
    opts.handler = d->handler;
    opts.batch_handler = d->batch_handler;
    opts.batch_end = d->batch_end;
    opts.tick = d->tick;
    opts.opaque = d->opaque;
    consumer = eb_consumer_new(cconf, pconf, &opts, errstr, sizeof(errstr));
    if (!consumer) {
        EB_ERROR("cannot create consumer: %s", errstr);
        rc = APP_EXIT_FAIL;
        goto out;
    }
    probe.consumer = consumer;
    eb_admin_opts_t aopts = {app_probe_ready, app_probe_live, app_probe_collect, &probe};
    app_setup_build_info(d->service);
    admin = eb_admin_new(&aopts);
    if (admin && d->route_count) {
        eb_api_opts_t ao = {
            .bind_address = *d->bind_addr,
            .port = (int)*d->admin_port,
            .limits = eb_http_limits_from_conf(d->common),
            .max_body = d->common->http_max_body,
            .routes = d->routes,
            .route_count = d->route_count,
            .redis = &raddr,
            .unavailable = d->unavailable,
            .admin = admin,
            .opaque = d->opaque,
        };

        probe.api = api = eb_api_new(&ao);
        if (!api || eb_api_start(api, errstr, sizeof(errstr)) != EB_OK) {
            EB_ERROR("http: %s", api ? errstr : "out of memory");
            rc = APP_EXIT_FAIL;
            goto out;
        }
        port = eb_api_port(api);
    } else {
        probe.redis = admin ? eb_redis_new(&raddr) : NULL;
        if (!probe.redis || eb_admin_start(admin, *d->bind_addr, (int)*d->admin_port, &port, errstr,
                                           sizeof(errstr)) != EB_OK) {
            EB_ERROR("admin endpoint: %s", probe.redis ? errstr : "out of memory");
            rc = APP_EXIT_FAIL;
            goto out;
        }
    }
    EB_INFO("%s %s started: %s on %s:%d, brokers %s", d->service, EB_VERSION,
            api ? "http" : "admin", *d->bind_addr, port, d->common->kafka_brokers);

    rc = eb_consumer_run(consumer, &eb_stop_flag) == EB_OK ? APP_EXIT_OK : APP_EXIT_FAIL;

out:
    /* The shutdown order of daemon.h, from step 3: eb_consumer_run() has
     * returned (or never ran, on an error path). */
    eb_api_stop(api); /* the probes use the consumer: no probe after this */
    eb_admin_stop(admin);
    eb_consumer_destroy(consumer); /* flushes the producer, frees the handle */
    if (d->stop)
        d->stop(d->opaque);
    eb_api_destroy(api);
    eb_admin_destroy(admin);
    eb_redis_destroy(probe.redis);
    EB_INFO("%s stopped", d->service);
    eb_metrics_reset();
    return rc;
}
