/*
 * What an executable sets up from its settings: the log (the Log section),
 * the Redis address (REDIS_URL, REDIS_TIMEOUT_MS), and its Kafka clients:
 * the suite's librdkafka defaults, the confs and the consumer options.
 */
#include <string.h>
#include <strings.h>
#include <sys/resource.h>

#include "eb_revision.h" /* generated: EB_REVISION */
#include "eventbus/app/setup.h"
#include "eventbus/kafka.h"
#include "eventbus/log.h"
#include "eventbus/metrics.h"

/* ---- the log and the process's limits ---------------------------------------- */

void app_setup_limits(const eb_common_conf_t *common)
{
    /* a descriptor per connection with room for those closing, the Redis
     * and Kafka connections, files */
    rlim_t need = (rlim_t)(2 * common->http_max_connections + 4 * common->http_threads + 512);
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (common->http_max_connections && rl.rlim_cur < need)
        EB_WARN("open files limited to %llu; HTTP_MAX_CONNECTIONS=%lld needs about %llu "
                "(raise LimitNOFILE or ulimit -n)",
                (unsigned long long)rl.rlim_cur, (long long)common->http_max_connections,
                (unsigned long long)need);
}

void app_setup_log(const char *service, eb_common_conf_t *common)
{
    eb_log_level_t level = EB_LOG_INFO;

    eb_config_common_finish(common);
    if (common->log_level)
        eb_log_level_parse(common->log_level, &level);
    eb_log_init(service, common->instance_id, level,
                !common->log_format || strcasecmp(common->log_format, "json") == 0);
}

void app_setup_build_info(const char *service)
{
    eb_metric_t *m = eb_metrics_gauge("build_info",
                                      "Always 1; the labels name the build: service, version (as "
                                      "--version), librdkafka linked, git revision",
                                      "service,version,librdkafka,revision");

    eb_series_set(eb_metric_series(m, service, EB_VERSION, rd_kafka_version_str(), EB_REVISION), 1);
}

/* ---- Redis ------------------------------------------------------------------- */

eb_err_t app_setup_redis_addr(const eb_common_conf_t *common, eb_redis_addr_t *addr, char *errstr,
                              size_t errstr_size)
{
    eb_err_t err = eb_redis_url_parse(common->redis_url, addr, errstr, errstr_size);

    if (err == EB_OK && common->redis_timeout_ms > 0)
        addr->timeout_ms = (int)common->redis_timeout_ms;
    return err;
}

/* ---- Kafka ------------------------------------------------------------------- */

const char *const app_setup_consumer_defaults[] = {
    /* Every member of every group lists the same assignor: mixed lists abort
     * the dev broker. Range, Kafka's default: it splits each topic's
     * partitions among the members. The sticky assignors balance only the
     * total, so with payment-service reading three topics one member kept
     * all of order-created (the payments) and the other got the two
     * compensation topics. Range rebalances are eager (everything is
     * revoked and handed back first); the consumer is built for both. */
    "partition.assignment.strategy", "range",
    /* A new group starts at the beginning: events published before the
     * consumers first started must not be skipped. */
    "auto.offset.reset", "earliest",
    /* Offsets are stored by the consumer only once an event is settled;
     * auto-commit then commits what was stored, every second. */
    "enable.auto.commit", "true", "auto.commit.interval.ms", "1000", NULL};

const char *const app_setup_producer_defaults[] = {
    /* Java clients' partitioner, so a key lands on the same partition
     * whichever client produced it. */
    "partitioner", "murmur2_random",
    /* Results and relay batches go out promptly; librdkafka still batches
     * what queues up while a request is in flight. */
    "linger.ms", "1", NULL};

eb_err_t app_setup_kafka_confs(const eb_common_conf_t *common, const eb_conf_args_t *args,
                               const char *client_id, rd_kafka_conf_t **consumer,
                               rd_kafka_conf_t **producer, char *errstr, size_t errstr_size)
{
    eb_kafka_props_t cprops = {app_setup_consumer_defaults, args->kafka_props,
                               args->kafka_prop_count, "consumer"};
    eb_kafka_props_t pprops = {app_setup_producer_defaults, args->kafka_props,
                               args->kafka_prop_count, "producer"};

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

void app_setup_consumer_opts(const eb_common_conf_t *common, const eb_redis_addr_t *redis,
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
    opts->exactly_once = common->exactly_once && strcmp(common->exactly_once, "true") == 0;
}

eb_outbox_t *app_setup_relay(const eb_common_conf_t *common, const eb_redis_addr_t *redis,
                             const char *stream, rd_kafka_conf_t *pconf)
{
    eb_outbox_opts_t o = {redis,
                          stream,
                          common->instance_id,
                          (int)common->outbox_batch,
                          (int)common->outbox_inflight,
                          (int)common->outbox_claim_idle_ms};
    char errstr[512];
    eb_outbox_t *r = eb_outbox_new(pconf, &o, errstr, sizeof(errstr));

    if (!r || eb_outbox_start(r) != 0) {
        EB_ERROR("outbox relay: %s", r ? "cannot start thread" : errstr);
        eb_outbox_destroy(r);
        return NULL;
    }
    return r;
}
