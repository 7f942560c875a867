/*
 * A Redis connection that knows how to come back.
 *
 * eb_redis_t wraps one hiredis blocking context with bounded connect and
 * command timeouts. After any I/O error the context is dropped; the next call
 * reconnects, but no more often than every reconnect interval, so a caller
 * facing a dead Redis fails in microseconds instead of waiting out a connect
 * timeout on every request (what lets intake answer 503 fast).
 *
 * Threading: an eb_redis_t belongs to one thread at a time. Threads that need
 * Redis keep their own (order-service keeps one per HTTP worker).
 */
#ifndef EVENTBUS_REDIS_H
#define EVENTBUS_REDIS_H

#include <stddef.h>

#include <hiredis/hiredis.h>

#include "eventbus/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A parsed REDIS_URL. */
typedef struct eb_redis_addr_s {
    char host[256];
    int port;
    char username[128]; /* empty: AUTH with the password only */
    char password[256]; /* empty: no AUTH */
    int db;
    int timeout_ms; /* connect and per-command timeout */
} eb_redis_addr_t;

/* Parses redis://[[username]:password@]host[:port][/db]. Returns EB_ERR_INVALID with a
 * reason in errstr for anything else. timeout_ms is set to 1000. */
eb_err_t eb_redis_url_parse(const char *url, eb_redis_addr_t *addr, char *errstr,
                            size_t errstr_size);

typedef struct eb_redis_s eb_redis_t;

/* Creates a handle; does not connect yet. The address is copied. */
eb_redis_t *eb_redis_new(const eb_redis_addr_t *addr);

/* Closes the connection and frees r. NULL is a no-op. */
void eb_redis_destroy(eb_redis_t *r);

/* Returns a connected context, connecting (AUTH, SELECT) if needed, or NULL
 * when Redis cannot be reached now; the reason goes to errstr when given.
 * The context stays owned by r and valid until the next eb_redis_ call that
 * fails. */
redisContext *eb_redis_ctx(eb_redis_t *r, char *errstr, size_t errstr_size);

/* Runs one command. Returns the reply (caller frees with freeReplyObject) or
 * NULL when Redis is unreachable or timed out, in which case the connection
 * is dropped. A Redis error reply is returned as a reply of type
 * REDIS_REPLY_ERROR, not as NULL. */
redisReply *eb_redis_command(eb_redis_t *r, const char *fmt, ...);

/* Same with an argument vector (binary safe). */
redisReply *eb_redis_command_argv(eb_redis_t *r, int argc, const char **argv,
                                  const size_t *argvlen);

/* Pipelining: queue commands with redisAppendCommand() on eb_redis_ctx(),
 * then collect each reply with eb_redis_read(). Returns NULL (and drops the
 * connection) on I/O error; once that happens every later read of the same
 * pipeline also returns NULL. */
redisReply *eb_redis_read(eb_redis_t *r);

/* Drops the connection, e.g. when a pipeline was abandoned half-read. */
void eb_redis_reset(eb_redis_t *r);

/* PING with the handle's timeout. Returns 1 when Redis answered PONG. */
int eb_redis_ping(eb_redis_t *r);

#ifdef __cplusplus
}
#endif
#endif /* EVENTBUS_REDIS_H */
