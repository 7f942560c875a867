/*
 * Dependency probes, readiness and liveness verdicts.
 */
#include <stdio.h>

#include "eventbus/app/probe.h"
#include "eventbus/envelope.h"
#include "eventbus/kafka.h"
#include "eventbus/metrics.h"

#define PROBE_KEY "eventbus:probe:writable"

void app_probe_up_gauges(int kafka_ok, int redis)
{
    eb_series_set(eb_metric_series(eb_metrics_gauge(
                      "kafka_up", "1 when a Kafka broker answered the last probe, else 0", NULL)),
                  kafka_ok);
    eb_series_set(eb_metric_series(eb_metrics_gauge(
                      "redis_up", "1 when Redis answered the last probe, else 0", NULL)),
                  redis >= 0);
    eb_series_set(eb_metric_series(eb_metrics_gauge(
                      "redis_writable",
                      "1 when Redis accepted the last probe write, 0 when it refused it (OOM, "
                      "READONLY, MISCONF) or was unreachable",
                      NULL)),
                  redis > 0);
}

/* Probes both dependencies, records them in the gauges. Redis is probed
 * with a write: it proves it is reachable and that it accepts writes. */
static void probe_deps(app_probe_t *probe, int *kafka_ok, int *redis, char *refused,
                       size_t refused_size)
{
    *redis = probe->api ? eb_api_redis_probe_write(probe->api, PROBE_KEY, refused, refused_size)
                        : eb_redis_probe_write(probe->redis, PROBE_KEY, refused, refused_size);
    *kafka_ok = eb_kafka_reachable(eb_consumer_handle(probe->consumer), 1000);
    app_probe_up_gauges(*kafka_ok, *redis);
}

void app_probe_collect(void *opaque)
{
    char refused[200];
    int kafka_ok, redis;

    probe_deps(opaque, &kafka_ok, &redis, refused, sizeof(refused));
}

int app_probe_deps_ready(int kafka_ok, int redis, const char *refused, char *reason, size_t size)
{
    if (redis < 0) {
        snprintf(reason, size, "redis unreachable");
        return 0;
    }
    if (redis == 0) {
        snprintf(reason, size, "redis refuses writes: %s", refused ? refused : "");
        return 0;
    }
    if (!kafka_ok) {
        snprintf(reason, size, "kafka unreachable");
        return 0;
    }
    return 1;
}

int app_probe_ready(char *reason, size_t size, void *opaque)
{
    app_probe_t *probe = opaque;
    eb_consumer_status_t st;
    char refused[200] = "";
    int kafka_ok, redis;

    eb_consumer_status(probe->consumer, &st);
    probe_deps(probe, &kafka_ok, &redis, refused, sizeof(refused));
    if (!app_probe_deps_ready(kafka_ok, redis, refused, reason, size))
        return 0;
    if (!st.joined) {
        snprintf(reason, size, "not yet a member of the consumer group");
        return 0;
    }
    return 1;
}

int app_probe_live(char *reason, size_t size, void *opaque)
{
    app_probe_t *probe = opaque;
    eb_consumer_status_t st;

    eb_consumer_status(probe->consumer, &st);
    return app_probe_loop_alive("consumer loop", st.last_loop_ms, reason, size);
}

int app_probe_loop_alive(const char *what, int64_t last_loop_ms, char *reason, size_t size)
{
    int64_t idle = eb_time_mono_ms() - last_loop_ms;

    if (idle <= APP_PROBE_STALL_MS)
        return 1;
    snprintf(reason, size, "%s stalled for %lld ms", what, (long long)idle);
    return 0;
}

/* ---- a service with an API and an outbox relay ---------------------------------- */

static void intake_deps(app_probe_intake_t *p, int *kafka_ok, int *redis, char *refused,
                        size_t refused_size)
{
    *redis = p->api ? eb_api_redis_probe_write(p->api, PROBE_KEY, refused, refused_size) : -1;
    *kafka_ok = p->relay && eb_kafka_reachable(eb_outbox_kafka(p->relay), 1000);
    app_probe_up_gauges(*kafka_ok, *redis);
}

void app_probe_intake_collect(void *opaque)
{
    char refused[200];
    int kafka_ok, redis;

    intake_deps(opaque, &kafka_ok, &redis, refused, sizeof(refused));
}

int app_probe_intake_ready(char *reason, size_t size, void *opaque)
{
    char refused[200] = "";
    int kafka_ok, redis;

    intake_deps(opaque, &kafka_ok, &redis, refused, sizeof(refused));
    return app_probe_deps_ready(kafka_ok, redis, refused, reason, size);
}

int app_probe_intake_live(char *reason, size_t size, void *opaque)
{
    app_probe_intake_t *p = opaque;
    eb_consumer_status_t st;

    if (!app_probe_loop_alive("outbox relay", eb_outbox_last_loop_ms(p->relay), reason, size))
        return 0;
    if (!p->consumer)
        return 1;
    eb_consumer_status(p->consumer, &st);
    return app_probe_loop_alive(p->consumer_name ? p->consumer_name : "consumer loop",
                                st.last_loop_ms, reason, size);
}
