/*
 * The hiredis side door of eventbus/redis.h, for store code only.
 *
 * Everything else talks to Redis through eb_redis_pipeline_t and its plain
 * results. This header exists for the one store function whose callers still
 * take a raw reply (order_store_load() hands its HGETALL reply to the order
 * API, which frees it); new code should not include it.
 */
#ifndef EVENTBUS_REDIS_HIREDIS_H
#define EVENTBUS_REDIS_HIREDIS_H

#include <hiredis/hiredis.h>

#include "eventbus/redis.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Runs one command. Returns the reply (caller frees with freeReplyObject) or
 * NULL when Redis is unreachable or timed out, in which case the connection
 * is dropped. A Redis error reply is returned as a reply of type
 * REDIS_REPLY_ERROR, not as NULL. */
redisReply *eb_redis_command(eb_redis_t *r, const char *fmt, ...);

#ifdef __cplusplus
}
#endif
#endif /* EVENTBUS_REDIS_HIREDIS_H */
