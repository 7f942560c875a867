/*
 * What the suite's daemons answer on /health, /ready and /metrics about
 * their dependencies (see cli.h for the layer). The callbacks here plug
 * into eb_admin_opts_t.
 */
#ifndef EVENTBUS_APP_PROBE_H
#define EVENTBUS_APP_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include "eventbus/api.h"
#include "eventbus/consumer.h"
#include "eventbus/outbox.h"
#include "eventbus/redis.h"

/* What a consumer daemon's probes look at. The Redis connection is the
 * admin HTTP thread's own (the consumer's belongs to the consumer thread).
 * Both must outlive the admin server the probe is handed to: stop that
 * server (eb_admin_stop) before destroying either. */
typedef struct app_probe_s {
    eb_consumer_t *consumer;
    eb_redis_t *redis; /* the admin server's one thread's connection; or: */
    eb_api_t *api;     /* probes run on the API's workers: each pings on its own */
} app_probe_t;

/* Records the outcome of a dependency probe in the kafka_up, redis_up and
 * redis_writable gauges. redis: 1 accepted a write, 0 refused it, -1
 * unreachable (eb_redis_probe_write). */
void app_probe_up_gauges(int kafka_ok, int redis);

/* The readiness verdict on the dependencies: 1 when Kafka answered and
 * Redis accepted a write (redis as for app_probe_up_gauges), else 0 with
 * "redis unreachable", "redis refuses writes: <refused>" or "kafka
 * unreachable" in reason. */
int app_probe_deps_ready(int kafka_ok, int redis, const char *refused, char *reason, size_t size);

/* A loop that has not turned for this long is stalled: /health answers 503. */
#define APP_PROBE_STALL_MS 30000

/* 1 if a loop that last turned at last_loop_ms (monotonic) is alive; else 0
 * with "<what> stalled for N ms" in reason. */
int app_probe_loop_alive(const char *what, int64_t last_loop_ms, char *reason, size_t size);

/* Probes Redis (PING) and Kafka (a metadata request) for a consumer daemon
 * and refreshes kafka_up/redis_up (eb_collect_cb_t; opaque: app_probe_t). */
void app_probe_collect(void *opaque);

/* Readiness of a consumer group member (eb_ready_cb_t; opaque: app_probe_t):
 * Redis answers PING, a broker answers a metadata request, and the member
 * has joined its group. Runs on the admin thread. */
int app_probe_ready(char *reason, size_t size, void *opaque);

/* Liveness of a consumer (eb_live_cb_t; opaque: app_probe_t): its loop
 * turned within the last APP_PROBE_STALL_MS. */
int app_probe_live(char *reason, size_t size, void *opaque);

/* The probes of a service with an HTTP API and an outbox relay
 * (order-service, user-service): Redis on the calling API worker's
 * connection, Kafka through the relay's producer; alive while the relay
 * (and the consumer, when there is one) keep turning. The consumer's group
 * membership is not required for readiness: intake works without it. */
typedef struct app_probe_intake_s {
    eb_api_t *api;
    eb_outbox_t *relay;
    eb_consumer_t *consumer;   /* may be NULL */
    const char *consumer_name; /* for the liveness reason: "status updater" */
} app_probe_intake_t;

/* eb_collect_cb_t, eb_ready_cb_t, eb_live_cb_t; opaque: app_probe_intake_t. */
void app_probe_intake_collect(void *opaque);
int app_probe_intake_ready(char *reason, size_t size, void *opaque);
int app_probe_intake_live(char *reason, size_t size, void *opaque);

#endif /* EVENTBUS_APP_PROBE_H */
