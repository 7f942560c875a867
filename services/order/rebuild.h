/*
 * order-service --rebuild (rebuild.c): rebuilds every order's read model
 * from the topics, from their beginning, into an empty Redis database.
 */
#ifndef SERVICES_ORDER_REBUILD_H
#define SERVICES_ORDER_REBUILD_H

#include <librdkafka/rdkafka.h>

#include "eventbus/config.h"
#include "eventbus/redis.h"

/* Runs the rebuild on the calling thread with a consumer made from cconf
 * (taken in every case), prints "rebuilt N orders from M events (K records
 * skipped)" on stdout and returns APP_EXIT_OK; APP_EXIT_FAIL when Redis is
 * not empty, unreachable or fails, or Kafka cannot be read. A terminal
 * order expires retention_s seconds (0: never) after the rebuild set its
 * status, as live (order_store_apply()). */
int order_rebuild(const eb_common_conf_t *common, const eb_redis_addr_t *raddr,
                  rd_kafka_conf_t *cconf, int64_t retention_s);

#endif /* SERVICES_ORDER_REBUILD_H */
