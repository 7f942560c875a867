/*
 * The suite's Kafka clients: librdkafka defaults, client confs and consumer
 * options built from the settings (see cli.h for the layer).
 */
#ifndef EVENTBUS_APP_KAFKA_H
#define EVENTBUS_APP_KAFKA_H

#include <stddef.h>

#include <librdkafka/rdkafka.h>

#include "eventbus/config.h"
#include "eventbus/consumer.h"
#include "eventbus/redis.h"

/* librdkafka defaults for the suite's clients (before KAFKA_CONFIG_FILE),
 * as NULL-terminated name, value pairs. */
extern const char *const app_kafka_consumer_defaults[];
extern const char *const app_kafka_producer_defaults[];

/* Builds a consumer conf (unless consumer is NULL) and a producer conf with
 * the suite's defaults. Returns EB_OK or EB_ERR_INVALID with the offending
 * property in errstr; on failure nothing needs destroying. On success the
 * caller owns the confs (eb_consumer_new() and the like take them). */
eb_err_t app_kafka_confs(const eb_common_conf_t *common, const eb_conf_args_t *args,
                         const char *client_id, rd_kafka_conf_t **consumer,
                         rd_kafka_conf_t **producer, char *errstr, size_t errstr_size);

/* Fills the consumer options every daemon sets the same way: group and
 * instance ids, Redis, and the Consumer section's settings (retries, batch
 * size, idempotency TTL and lease). The caller adds topics and handlers.
 * opts points into common, redis and group_id: they must outlive it. */
void app_kafka_consumer_opts(const eb_common_conf_t *common, const eb_redis_addr_t *redis,
                             const char *group_id, eb_consumer_opts_t *opts);

#endif /* EVENTBUS_APP_KAFKA_H */
