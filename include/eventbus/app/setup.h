/*
 * What an executable of the suite sets up from its settings: the log, the
 * Redis address, the Kafka client confs and consumer options (setup.c; see
 * cli.h for the layer).
 */
#ifndef EVENTBUS_APP_SETUP_H
#define EVENTBUS_APP_SETUP_H

#include <stddef.h>

#include <librdkafka/rdkafka.h>

#include "eventbus/config.h"
#include "eventbus/consumer.h"
#include "eventbus/outbox.h"
#include "eventbus/redis.h"

/* Completes the common settings (INSTANCE_ID) and configures eb_log from
 * LOG_LEVEL and LOG_FORMAT. Call once, after app_cli_parse(). */
void app_setup_log(const char *service, eb_common_conf_t *common);

/* Registers build_info{service,version,librdkafka,revision} 1 on /metrics:
 * the constant gauge Prometheus exporters use to tell which build runs where
 * (version as --version prints it, the librdkafka linked at run time, the
 * git commit built from or "unknown"). Call once at start-up, in every
 * daemon that serves /metrics. */
void app_setup_build_info(const char *service);

/* Raises the open-files limit to its hard limit: a server holds a
 * descriptor per connection (HTTP_MAX_CONNECTIONS, and those closing), and
 * a soft limit of 1024 would refuse connections before the setting does.
 * Warns when even the hard limit is below what the settings need. Call
 * after app_setup_log(), before any server starts. */
void app_setup_limits(const eb_common_conf_t *common);

/* The Redis address from REDIS_URL and REDIS_TIMEOUT_MS. Returns EB_OK, or
 * the error with the reason (naming REDIS_URL) in errstr. */
eb_err_t app_setup_redis_addr(const eb_common_conf_t *common, eb_redis_addr_t *addr, char *errstr,
                              size_t errstr_size);

/* librdkafka defaults for the suite's clients (before KAFKA_CONFIG_FILE),
 * as NULL-terminated name, value pairs. */
extern const char *const app_setup_consumer_defaults[];
extern const char *const app_setup_producer_defaults[];

/* Builds a consumer conf (unless consumer is NULL) and a producer conf with
 * the suite's defaults. Returns EB_OK or EB_ERR_INVALID with the offending
 * property in errstr; on failure nothing needs destroying. On success the
 * caller owns the confs (eb_consumer_new() and the like take them). */
eb_err_t app_setup_kafka_confs(const eb_common_conf_t *common, const eb_conf_args_t *args,
                               const char *client_id, rd_kafka_conf_t **consumer,
                               rd_kafka_conf_t **producer, char *errstr, size_t errstr_size);

/* Fills the consumer options every daemon sets the same way: group and
 * instance ids, Redis, and the Consumer section's settings (retries, batch
 * size, idempotency TTL and lease). The caller adds topics and handlers.
 * opts points into common, redis and group_id: they must outlive it. */
void app_setup_consumer_opts(const eb_common_conf_t *common, const eb_redis_addr_t *redis,
                             const char *group_id, eb_consumer_opts_t *opts);

/* Creates and starts the outbox relay of stream with the Outbox settings of
 * common (takes pconf in every case). Returns it, or NULL after logging why. */
eb_outbox_t *app_setup_relay(const eb_common_conf_t *common, const eb_redis_addr_t *redis,
                             const char *stream, rd_kafka_conf_t *pconf);

#endif /* EVENTBUS_APP_SETUP_H */
