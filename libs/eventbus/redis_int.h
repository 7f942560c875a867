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

#endif /* EVENTBUS_REDIS_INT_H */
