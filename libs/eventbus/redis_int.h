/*
 * RESP command encoding (redis.c), private to the library and its tests.
 *
 * Pipelines write their commands with these instead of hiredis's
 * redisFormatCommand(): the same bytes, without a sprintf per argument.
 */
#ifndef EVENTBUS_REDIS_INT_H
#define EVENTBUS_REDIS_INT_H

#include <stdarg.h>
#include <stddef.h>

#include "eventbus/error.h"

/* A growing buffer of RESP commands, back to back. Zero it to start; free
 * p when done. */
typedef struct eb_resp_buf_s {
    char *p;
    size_t len, cap;
} eb_resp_buf_t;

/* Appends one command of argc arguments (argvlen NULL: each argv[i] is a C
 * string; otherwise argvlen[i] bytes, binary-safe), byte for byte what
 * hiredis's redisFormatCommandArgv() writes. Returns 1, or 0 when out of
 * memory (b unchanged). */
int eb__resp_append_argv(eb_resp_buf_t *b, int argc, const char **argv, const size_t *argvlen);

/* Appends one command written as for hiredis's redisvFormatCommand(),
 * byte for byte what it writes: %s, %b, %% and the integer conversions are
 * written here, anything else is handed to hiredis. Returns 1, or 0 when
 * out of memory or when hiredis refuses the format (b unchanged). */
int eb__resp_appendv(eb_resp_buf_t *b, const char *fmt, va_list ap);

/* ---- commands whose replies are read later ---- */

typedef struct eb_redis_pipeline_s eb_redis_pipeline_t;
typedef struct eb_redis_s eb_redis_t;

/* Sends p's commands now, as eb_redis_pipeline_exec() does, but does not
 * wait for their replies: the connection owes them, and the next use of it
 * (a pipeline, a command, eb__redis_owed_check) reads them first. For
 * writes whose outcome nothing waits on (a consumer's done-marks): Redis
 * runs them while the caller goes on. p has no results; destroy it at
 * once. EB_OK when every command was written; EB_ERR_REDIS when Redis was
 * unreachable or the write failed. */
eb_err_t eb__redis_pipeline_send(eb_redis_pipeline_t *p);

/* Reads the replies r still owes and returns how many commands sent with
 * eb__redis_pipeline_send() failed since the last call: error replies, and
 * commands whose replies were lost with the connection (whether Redis ran
 * them is not known). The first failure's text goes to why (may be NULL). */
size_t eb__redis_owed_check(eb_redis_t *r, char *why, size_t size);

#endif /* EVENTBUS_REDIS_INT_H */
