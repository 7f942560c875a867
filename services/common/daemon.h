/*
 * What every executable of the suite does the same way: read its settings
 * (exit 0 after --help/--version, exit 2 with one line on a bad setting), set
 * up logging, and for the consumer daemons, run the consume loop with its
 * admin endpoints until SIGTERM.
 *
 * These helpers print and decide exit codes; that is why they live with the
 * daemons and not in libeventbus, which never prints or exits.
 */
#ifndef SERVICES_COMMON_DAEMON_H
#define SERVICES_COMMON_DAEMON_H

#include "eventbus/eventbus.h"

/* Exit codes. */
#define SVC_EXIT_OK    0
#define SVC_EXIT_FAIL  1 /* a runtime failure after start-up */
#define SVC_EXIT_USAGE 2 /* bad flag or setting, before any connection */
#define SVC_CONTINUE   -1

/* Parses settings for prog. Returns SVC_CONTINUE to go on, or the exit code
 * after printing help, the version or the error. */
int svc_cli_parse(const eb_conf_program_t *prog, int argc, char **argv, eb_conf_args_t *args);

/* Prints "<prog>: <message>" on stderr; for start-up errors before logging. */
void svc_cli_error(const char *prog, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Completes the common settings (INSTANCE_ID) and configures eb_log. */
void svc_log_setup(const char *service, eb_common_conf_t *common);

/* The Redis address from REDIS_URL and REDIS_TIMEOUT_MS. */
eb_err_t svc_redis_addr(const eb_common_conf_t *common, eb_redis_addr_t *addr, char *errstr,
                        size_t errstr_size);

/* librdkafka defaults for the suite's clients (before KAFKA_CONFIG_FILE). */
extern const char *const svc_consumer_defaults[];
extern const char *const svc_producer_defaults[];

/* Builds a consumer conf (unless consumer is NULL) and a producer conf with
 * the suite's defaults. Returns EB_OK or EB_ERR_INVALID with the offending
 * property in errstr; on failure nothing needs destroying. */
eb_err_t svc_kafka_confs(const eb_common_conf_t *common, const eb_conf_args_t *args,
                         const char *client_id, rd_kafka_conf_t **consumer,
                         rd_kafka_conf_t **producer, char *errstr, size_t errstr_size);

/* What a consumer daemon's probes look at. The Redis connection is the
 * admin HTTP thread's own (the consumer's belongs to the consumer thread). */
typedef struct svc_probe_s {
    eb_consumer_t *consumer;
    eb_redis_t *redis;
} svc_probe_t;

/* Records the outcome of a dependency probe in the kafka_up and redis_up
 * gauges (1 reachable, 0 not). */
void svc_up_gauges(int kafka_ok, int redis_ok);

/* The readiness verdict on the dependencies: 1 when both answered, else 0
 * with "redis unreachable" or "kafka unreachable" in reason. */
int svc_deps_ready(int kafka_ok, int redis_ok, char *reason, size_t size);

/* Probes Redis (PING) and Kafka (a metadata request) for a consumer daemon
 * and refreshes kafka_up/redis_up (eb_collect_cb_t; opaque: svc_probe_t). */
void svc_consumer_collect(void *opaque);

/* Readiness of a consumer group member (opaque: svc_probe_t): Redis answers
 * PING, a broker answers a metadata request, and the member has joined its
 * group. Runs on the admin thread. */
int svc_consumer_ready(char *reason, size_t size, void *opaque);

/* Liveness of a consumer (opaque: svc_probe_t): its loop turned within the
 * last SVC_STALL_MS. */
int svc_consumer_live(char *reason, size_t size, void *opaque);

/* A loop that has not turned for this long is stalled: /health answers 503. */
#define SVC_STALL_MS 30000

/* 1 if a loop that last turned at last_loop_ms (monotonic) is alive; else 0
 * with "<what> stalled for N ms" in reason. */
int svc_loop_alive(const char *what, int64_t last_loop_ms, char *reason, size_t size);

/* Fills the consumer options every daemon sets the same way: group and
 * instance ids, Redis, and the Consumer section's settings (retries, batch
 * size, idempotency TTL and lease). The caller adds topics and handlers. */
void svc_consumer_opts(const eb_common_conf_t *common, const eb_redis_addr_t *redis,
                       const char *group_id, eb_consumer_opts_t *opts);

/* Everything a consumer daemon (payment, notification) differs in. */
typedef struct svc_consumer_daemon_s {
    const char *service; /* "payment-service" */
    const eb_conf_program_t *prog;
    eb_common_conf_t *common;     /* filled by the prog's sections */
    const int64_t *admin_port;    /* ADMIN_PORT */
    const char *const *bind_addr; /* BIND_ADDRESS */
    const char *const *topics;
    size_t topic_count;
    const char *const *event_types;
    size_t event_type_count;
    eb_handler_t *handler;             /* per event; or: */
    eb_batch_handler_t *batch_handler; /* per batch */
    eb_batch_end_cb_t *batch_end;
    eb_tick_cb_t *tick;
    /* Called after settings are valid, signals are installed and before the
     * consumer connects; may open files and use Redis (addr). Returns
     * SVC_CONTINUE or an exit code (SVC_EXIT_USAGE for bad settings). */
    int (*start)(void *opaque, const eb_redis_addr_t *redis);
    /* Called after the consumer stopped, before exit. May be NULL. */
    void (*stop)(void *opaque);
    void *opaque;
} svc_consumer_daemon_t;

/* The whole life of a consumer daemon; returns the process exit code.
 * Shutdown order: stop flag -> consume loop hands back unfinished messages,
 * commits and leaves the group -> producer flush -> admin server stop. */
int svc_consumer_daemon_main(const svc_consumer_daemon_t *d, int argc, char **argv);

#endif /* SERVICES_COMMON_DAEMON_H */
