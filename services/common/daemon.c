/*
 * Shared start-up and the consumer daemons' main loop.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "daemon.h"

const char *const svc_consumer_defaults[] = {
    /* Every member of every group lists the same assignor: mixed lists abort
     * the dev broker, and cooperative rebalancing keeps partitions that do
     * not move flowing during a rebalance. */
    "partition.assignment.strategy", "cooperative-sticky",
    /* A new group starts at the beginning: events published before the
     * consumers first started must not be skipped. */
    "auto.offset.reset", "earliest",
    /* Offsets are stored by the consumer only once an event is settled;
     * auto-commit then commits what was stored, every second. */
    "enable.auto.commit", "true", "auto.commit.interval.ms", "1000", NULL};

const char *const svc_producer_defaults[] = {
    /* Java clients' partitioner, so a key lands on the same partition
     * whichever client produced it. */
    "partitioner", "murmur2_random",
    /* Results and relay batches go out promptly; librdkafka still batches
     * what queues up while a request is in flight. */
    "linger.ms", "1", NULL};

void svc_cli_error(const char *prog, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int svc_cli_parse(const eb_conf_program_t *prog, int argc, char **argv, eb_conf_args_t *args)
{
    char errstr[512];

    if (eb_config_parse(prog, argc, argv, args, errstr, sizeof(errstr)) != EB_OK) {
        svc_cli_error(prog->name, "%s", errstr);
        return SVC_EXIT_USAGE;
    }
    if (args->action == EB_CONF_ACTION_HELP) {
        eb_config_write_usage(prog, stdout);
        return SVC_EXIT_OK;
    }
    if (args->action == EB_CONF_ACTION_MARKDOWN) {
        eb_config_write_markdown(prog, stdout);
        return SVC_EXIT_OK;
    }
    if (args->action == EB_CONF_ACTION_VERSION) {
        printf("%s %s (librdkafka %s)\n", prog->name, EB_VERSION, rd_kafka_version_str());
        return SVC_EXIT_OK;
    }
    return SVC_CONTINUE;
}

void svc_log_setup(const char *service, eb_common_conf_t *common)
{
    eb_log_level_t level = EB_LOG_INFO;

    eb_common_conf_finish(common);
    if (common->log_level)
        eb_log_level_parse(common->log_level, &level);
    eb_log_init(service, common->instance_id, level,
                !common->log_format || strcasecmp(common->log_format, "json") == 0);
}

eb_err_t svc_redis_addr(const eb_common_conf_t *common, eb_redis_addr_t *addr, char *errstr,
                        size_t errstr_size)
{
    eb_err_t err = eb_redis_url_parse(common->redis_url, addr, errstr, errstr_size);

    if (err == EB_OK && common->redis_timeout_ms > 0)
        addr->timeout_ms = (int)common->redis_timeout_ms;
    return err;
}

eb_err_t svc_kafka_confs(const eb_common_conf_t *common, const eb_conf_args_t *args,
                         const char *client_id, rd_kafka_conf_t **consumer,
                         rd_kafka_conf_t **producer, char *errstr, size_t errstr_size)
{
    eb_kafka_props_t cprops = {svc_consumer_defaults, args->kafka_props, args->kafka_prop_count,
                               "consumer"};
    eb_kafka_props_t pprops = {svc_producer_defaults, args->kafka_props, args->kafka_prop_count,
                               "producer"};

    *producer = NULL;
    if (consumer) {
        *consumer = eb_kafka_conf_new(common, client_id, &cprops, errstr, errstr_size);
        if (!*consumer)
            return EB_ERR_INVALID;
    }
    *producer = eb_kafka_conf_new(common, client_id, &pprops, errstr, errstr_size);
    if (!*producer) {
        if (consumer) {
            rd_kafka_conf_destroy(*consumer);
            *consumer = NULL;
        }
        return EB_ERR_INVALID;
    }
    return EB_OK;
}

void svc_up_gauges(int kafka_ok, int redis_ok)
{
    eb_series_set(eb_metric_series(eb_metrics_gauge(
                      "kafka_up", "1 when a Kafka broker answered the last probe, else 0", NULL)),
                  kafka_ok);
    eb_series_set(eb_metric_series(eb_metrics_gauge(
                      "redis_up", "1 when Redis answered the last probe, else 0", NULL)),
                  redis_ok);
}

/* Probes both dependencies, records them in the gauges. */
static void probe_deps(svc_probe_t *probe, int *kafka_ok, int *redis_ok)
{
    *redis_ok = eb_redis_ping(probe->redis);
    *kafka_ok = eb_kafka_reachable(eb_consumer_handle(probe->consumer), 1000);
    svc_up_gauges(*kafka_ok, *redis_ok);
}

void svc_consumer_collect(void *opaque)
{
    int kafka_ok, redis_ok;

    probe_deps(opaque, &kafka_ok, &redis_ok);
}

int svc_deps_ready(int kafka_ok, int redis_ok, char *reason, size_t size)
{
    if (!redis_ok) {
        snprintf(reason, size, "redis unreachable");
        return 0;
    }
    if (!kafka_ok) {
        snprintf(reason, size, "kafka unreachable");
        return 0;
    }
    return 1;
}

int svc_consumer_ready(char *reason, size_t size, void *opaque)
{
    svc_probe_t *probe = opaque;
    eb_consumer_status_t st;
    int kafka_ok, redis_ok;

    eb_consumer_status(probe->consumer, &st);
    probe_deps(probe, &kafka_ok, &redis_ok);
    if (!svc_deps_ready(kafka_ok, redis_ok, reason, size))
        return 0;
    if (!st.joined) {
        snprintf(reason, size, "not yet a member of the consumer group");
        return 0;
    }
    return 1;
}

int svc_consumer_live(char *reason, size_t size, void *opaque)
{
    svc_probe_t *probe = opaque;
    eb_consumer_status_t st;

    eb_consumer_status(probe->consumer, &st);
    return svc_loop_alive("consumer loop", st.last_loop_ms, reason, size);
}

int svc_loop_alive(const char *what, int64_t last_loop_ms, char *reason, size_t size)
{
    int64_t idle = eb_time_mono_ms() - last_loop_ms;

    if (idle <= SVC_STALL_MS)
        return 1;
    snprintf(reason, size, "%s stalled for %lld ms", what, (long long)idle);
    return 0;
}

void svc_consumer_opts(const eb_common_conf_t *common, const eb_redis_addr_t *redis,
                       const char *group_id, eb_consumer_opts_t *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->group_id = group_id;
    opts->instance_id = common->instance_id;
    opts->redis = redis;
    opts->retry_max = (int)common->retry_max;
    opts->retry_backoff_ms = (int)common->retry_backoff_ms;
    opts->batch_size = (int)common->batch_size;
    opts->done_ttl_s = common->idempotency_ttl_s;
    opts->claim_lease_ms = (int)common->claim_lease_ms;
}

int svc_consumer_daemon_main(const svc_consumer_daemon_t *d, int argc, char **argv)
{
    eb_conf_args_t args;
    eb_redis_addr_t raddr;
    rd_kafka_conf_t *cconf, *pconf;
    eb_consumer_t *consumer = NULL;
    eb_admin_t *admin = NULL;
    svc_probe_t probe = {NULL, NULL};
    char errstr[512];
    int rc, port = 0;

    if ((rc = svc_cli_parse(d->prog, argc, argv, &args)) != SVC_CONTINUE)
        return rc;
    svc_log_setup(d->service, d->common);
    /* Everything below up to the first connection only validates: a bad
     * setting exits 2 before the daemon touches the network. */
    if (svc_redis_addr(d->common, &raddr, errstr, sizeof(errstr)) != EB_OK ||
        svc_kafka_confs(d->common, &args, d->common->instance_id, &cconf, &pconf, errstr,
                        sizeof(errstr)) != EB_OK) {
        svc_cli_error(d->service, "%s", errstr);
        return SVC_EXIT_USAGE;
    }
    eb_lifecycle_install_signals();
    if (d->start && (rc = d->start(d->opaque, &raddr)) != SVC_CONTINUE) {
        rd_kafka_conf_destroy(cconf);
        rd_kafka_conf_destroy(pconf);
        return rc;
    }

    eb_consumer_opts_t opts;

    svc_consumer_opts(d->common, &raddr, d->service, &opts);
    opts.topics = d->topics;
    opts.topic_count = d->topic_count;
    opts.event_types = d->event_types;
    opts.event_type_count = d->event_type_count;
    opts.handler = d->handler;
    opts.batch_handler = d->batch_handler;
    opts.batch_end = d->batch_end;
    opts.tick = d->tick;
    opts.opaque = d->opaque;
    consumer = eb_consumer_new(cconf, pconf, &opts, errstr, sizeof(errstr));
    if (!consumer) {
        EB_ERROR("cannot create consumer: %s", errstr);
        rc = SVC_EXIT_FAIL;
        goto out;
    }
    probe.consumer = consumer;
    probe.redis = eb_redis_new(&raddr);
    eb_admin_opts_t aopts = {svc_consumer_ready, svc_consumer_live, svc_consumer_collect, &probe};
    admin = probe.redis ? eb_admin_new(&aopts) : NULL;
    if (!admin || eb_admin_listen(admin, *d->bind_addr, (int)*d->admin_port, &port, errstr,
                                  sizeof(errstr)) != EB_OK) {
        EB_ERROR("admin endpoint: %s", admin ? errstr : "out of memory");
        rc = SVC_EXIT_FAIL;
        goto out;
    }
    EB_INFO("%s %s started: admin on %s:%d, brokers %s", d->service, EB_VERSION, *d->bind_addr,
            port, d->common->kafka_brokers);

    rc = eb_consumer_run(consumer, &eb_stop_flag) == EB_OK ? SVC_EXIT_OK : SVC_EXIT_FAIL;

out:
    /* The admin thread's probes use the consumer: stop it first. */
    eb_admin_destroy(admin);
    eb_redis_destroy(probe.redis);
    eb_consumer_destroy(consumer); /* flushes the producer */
    if (d->stop)
        d->stop(d->opaque);
    EB_INFO("%s stopped", d->service);
    eb_metrics_reset();
    return rc;
}
