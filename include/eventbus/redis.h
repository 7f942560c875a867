/*
 * A Redis connection that knows how to come back.
 *
 * eb_redis_t wraps one hiredis blocking context with bounded connect and
 * command timeouts. After any I/O error the context is dropped; the next call
 * reconnects, but no more often than every reconnect interval, so a caller
 * facing a dead Redis fails in microseconds instead of waiting out a connect
 * timeout on every request (what lets intake answer 503 fast).
 *
 * Commands go through pipelines (below), whose replies are plain data:
 * hiredis stays inside redis.c.
 *
 * Threading: an eb_redis_t belongs to one thread at a time. Threads that need
 * Redis keep their own (order-service keeps one per HTTP worker).
 */
#ifndef EVENTBUS_REDIS_H
#define EVENTBUS_REDIS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

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

/* Parses redis://[[username]:password@]host[:port][/db] into *addr (caller's
 * storage; url is not kept). Returns EB_ERR_INVALID with a reason in errstr
 * for anything else. timeout_ms is set to 1000. */
eb_err_t eb_redis_url_parse(const char *url, eb_redis_addr_t *addr, char *errstr,
                            size_t errstr_size);

typedef struct eb_redis_s eb_redis_t;

/* Creates a handle; does not connect yet. The address is copied. Returns
 * NULL when out of memory; the caller owns the handle (eb_redis_destroy) and
 * the thread that uses it owns it for the time being (see above). */
eb_redis_t *eb_redis_new(const eb_redis_addr_t *addr);

/* Closes the connection and frees r, once no pipeline of r is left. NULL
 * is a no-op. */
void eb_redis_destroy(eb_redis_t *r);

/* ---- Pipelines ------------------------------------------------------------
 *
 * A pipeline sends many commands in one round trip and hands back each
 * reply as plain data (eb_redis_result_t), so no caller sees hiredis.
 *
 *     eb_redis_pipeline_t *p = eb_redis_pipeline_new(r);
 *     eb_redis_pipeline_append(p, "SET %s %b NX GET", key, value, len);
 *     ...                                   (more commands)
 *     eb_redis_pipeline_exec(p);            (one write, then every reply)
 *     eb_redis_result_t res = eb_redis_pipeline_result(p, 0);
 *     ...                                   (res.kind: NIL, STRING, ERROR, ...)
 *     eb_redis_pipeline_destroy(p);
 *
 * Failure rule: when Redis cannot be reached, or the connection breaks in
 * the middle (I/O error, timeout), every command that got no reply reports
 * EB_REDIS_NOREPLY with str "redis unreachable", and the connection is
 * dropped (the next call reconnects). An error reply (EB_REDIS_ERROR) fails
 * only its own command; the replies after it are read as usual.
 *
 * Threading: a pipeline belongs to the thread that owns its eb_redis_t.
 */

typedef struct eb_redis_pipeline_s eb_redis_pipeline_t;

typedef enum eb_redis_kind_e {
    EB_REDIS_NOREPLY, /* no reply: str says why ("redis unreachable", ...) */
    EB_REDIS_NIL,     /* nil (missing key, SET NX that did not set, ...) */
    EB_REDIS_STRING,  /* bulk string: str, len */
    EB_REDIS_STATUS,  /* simple string ("OK", "QUEUED"): str, len */
    EB_REDIS_INTEGER, /* integer */
    EB_REDIS_ERROR,   /* error reply: str, len hold its text ("NOGROUP ...") */
    EB_REDIS_ARRAY    /* elements; read them with eb_redis_result_element() */
} eb_redis_kind_t;

/* One reply, or one element of an array reply. Pointers stay valid until
 * the pipeline it came from is cleared or destroyed. */
typedef struct eb_redis_result_s {
    eb_redis_kind_t kind;
    const char *str;   /* never NULL; NUL-terminated; "" for NIL, INTEGER, ARRAY */
    size_t len;        /* bytes of str (binary-safe for STRING) */
    long long integer; /* for INTEGER; 0 otherwise */
    size_t elements;   /* for ARRAY; 0 otherwise */
    const void *node;  /* private to redis.c */
} eb_redis_result_t;

/* Creates an empty pipeline on r, which must outlive it. NULL when out of
 * memory; the caller owns it (eb_redis_pipeline_destroy). Nothing is sent
 * before eb_redis_pipeline_exec(). */
eb_redis_pipeline_t *eb_redis_pipeline_new(eb_redis_t *r);

/* Queues one command, written as for hiredis's redisCommand(): %s a C
 * string, %b a pointer and a size_t length (binary-safe), %d %lld etc.
 * Arguments are copied. Returns EB_OK, or EB_ERR_NOMEM, in which case the
 * pipeline will send nothing and every command reports EB_REDIS_NOREPLY
 * "out of memory". */
eb_err_t eb_redis_pipeline_append(eb_redis_pipeline_t *p, const char *fmt, ...);

/* Same with a va_list, for wrappers of their own. */
eb_err_t eb_redis_pipeline_appendv(eb_redis_pipeline_t *p, const char *fmt, va_list ap);

/* Same with an argument vector; argvlen NULL means every argv[i] is a C
 * string. */
eb_err_t eb_redis_pipeline_append_argv(eb_redis_pipeline_t *p, int argc, const char **argv,
                                       const size_t *argvlen);

/* Writes the commands appended since the last flush now, without reading
 * any reply, so that Redis works on them while the caller appends more
 * (a batch built piece by piece). eb_redis_pipeline_exec() then writes the
 * rest and reads every reply. Until p is executed (or destroyed, which
 * leaves its replies to be read and dropped by the next user of r), nothing
 * else may run on r: another pipeline's exec or flush, and any other call
 * that talks to Redis, fails (EB_ERR_REDIS). Returns EB_OK, or EB_ERR_REDIS when Redis was
 * unreachable or the write failed: exec then reports the same for every command. */
eb_err_t eb_redis_pipeline_flush(eb_redis_pipeline_t *p);

/* Sends every queued command in one write and reads every reply, connecting
 * first if needed (also with no command queued: a cheap "is Redis there").
 * Returns EB_OK when each command got its reply (error replies included),
 * EB_ERR_REDIS when Redis was unreachable or the connection broke (the
 * commands without a reply report EB_REDIS_NOREPLY), EB_ERR_NOMEM when the
 * commands could not be queued. Runs once; a second call returns the same. */
eb_err_t eb_redis_pipeline_exec(eb_redis_pipeline_t *p);

/* How many commands were queued. */
size_t eb_redis_pipeline_count(const eb_redis_pipeline_t *p);

/* The reply to command i (0 = the first appended), returned by value; its
 * pointers point into p (see eb_redis_result_t). An index past the end, or a
 * pipeline not yet executed, gives EB_REDIS_NOREPLY. */
eb_redis_result_t eb_redis_pipeline_result(const eb_redis_pipeline_t *p, size_t i);

/* Element i of an array reply; EB_REDIS_NOREPLY ("no such element") when
 * array is not an array or has no element i. */
eb_redis_result_t eb_redis_result_element(const eb_redis_result_t *array, size_t i);

/* Forgets the commands and replies, for reusing p: results read from it
 * before are invalid after. */
void eb_redis_pipeline_clear(eb_redis_pipeline_t *p);

/* Frees p and its replies. NULL is a no-op. */
void eb_redis_pipeline_destroy(eb_redis_pipeline_t *p);

/* Drops the connection; the next call reconnects. */
void eb_redis_reset(eb_redis_t *r);

/* 1 when err, the text of an error reply, says Redis refuses writes while
 * it is up: OOM (maxmemory reached, policy noeviction), READONLY (a
 * replica), MISCONF (persistence failing, stop-writes-on-bgsave-error),
 * NOREPLICAS (min-replicas-to-write). Such a refusal is not "unreachable":
 * reads work, and it lasts until an operator acts. */
int eb_redis_is_refusal(const char *err);

/* The text of the last refusal (eb_redis_is_refusal) any command on r got,
 * or NULL; *seq (may be NULL) counts them, so a caller can tell whether one
 * came after an earlier look. The text is r's: the next refusal overwrites
 * it and eb_redis_destroy() frees it; copy it to keep it. Same thread as r. */
const char *eb_redis_refusal(const eb_redis_t *r, uint64_t *seq);

/* Writes a short-lived key (SET key PX 10 s) to learn whether Redis accepts
 * writes. Returns 1 when it did, 0 when it refused (the error text in
 * reason), -1 when Redis is unreachable. */
int eb_redis_probe_write(eb_redis_t *r, const char *key, char *reason, size_t size);

/* PING with the handle's timeout. Returns 1 when Redis answered PONG. */
int eb_redis_ping(eb_redis_t *r);

#ifdef __cplusplus
}
#endif
#endif /* EVENTBUS_REDIS_H */
