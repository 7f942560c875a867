/*
 * Private helpers shared by the library's modules. Not installed, not part
 * of the API; unit tests may include it to reach pure logic.
 */
#ifndef EVENTBUS_EB_INT_H
#define EVENTBUS_EB_INT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "eventbus/error.h"
#include "eventbus/producer.h"

/* snprintf into errstr when errstr is not NULL; returns err. */
static inline eb_err_t eb__seterr(char *errstr, size_t errstr_size, eb_err_t err, const char *fmt,
                                  ...) __attribute__((format(printf, 4, 5)));

static inline eb_err_t eb__seterr(char *errstr, size_t errstr_size, eb_err_t err, const char *fmt,
                                  ...)
{
    va_list ap;

    if (errstr && errstr_size) {
        va_start(ap, fmt);
        vsnprintf(errstr, errstr_size, fmt, ap);
        va_end(ap);
    }
    return err;
}

/* ---- producer.c ---- */

#define EB_EVENT_HEADERS_MAX 3

/* Fills hs[EB_EVENT_HEADERS_MAX] with the Kafka headers every event the
 * library publishes carries: content-type (the CloudEvents Kafka binding's
 * structured mode), then traceparent and tracestate when given and not
 * empty. The values are referenced, not copied. Returns the count. */
size_t eb__event_headers(eb_header_t *hs, const char *traceparent, const char *tracestate);

/* ---- json.c ---- */

/* Writes the JSON string escape of byte c into out (no quotes). Returns the
 * length written (1 to 6). Bytes >= 0x80 pass through: input is UTF-8. */
size_t eb__json_escape_char(unsigned char c, char out[8]);

/* Returns 1 if the len bytes at p are valid UTF-8. */
int eb__json_utf8_valid(const void *p, size_t len);

/* Returns 1 if the JSON text (len bytes) nests objects and arrays at most max
 * deep; brackets inside strings, escaped quotes included, do not count. */
int eb__json_depth_ok(const void *text, size_t len, int max);

/* Cuts a NUL-terminated UTF-8 string before a multi-byte character that
 * truncation left incomplete at its end. */
void eb__json_utf8_trim(char *s);

/* The calling thread's cJSON allocations come from its decode arena until
 * eb__json_arena_leave() (json.c says how and why). Trees made meanwhile
 * must be deleted by the same thread. eb__json_arena_install() sets the
 * library's cJSON hooks for the whole process, once: eb_consumer_new()
 * calls it, before a daemon starts threads that print or parse JSON (the
 * hooks are plain globals of cJSON's); an application that sets its own
 * with cJSON_InitHooks() must not use the consumer. */
void eb__json_arena_install(void);
void eb__json_arena_enter(void);
void eb__json_arena_leave(void);

/* The calling thread's arena: blocks not freed yet, and bytes held. */
size_t eb__json_arena_live(void);
size_t eb__json_arena_size(void);

/* ---- random.c ---- */

/* n random bytes from a per-thread pool (getrandom(2)). */
void eb__random_bytes(unsigned char *out, size_t n);

/* Writes the lower-case hex of the n bytes at b (2n characters, no NUL) and
 * returns the end. */
char *eb__random_hex(char *out, const unsigned char *b, size_t n);

/* A uniformly distributed double in [0, 1), thread-safe. */
double eb__random_unit(void);

/*
 * Backoff with full jitter (backoff.c).
 *
 * The ceiling for attempt n (1 = the first retry) is base * 2^(n-1), capped
 * at cap; the delay is drawn uniformly from [0, ceiling] using rnd, a value
 * in [0, 1). "Full jitter" spreads the retries of many consumers that failed
 * together (AWS Architecture Blog, "Exponential Backoff And Jitter").
 * eb_backoff_t (eventbus/backoff.h) is the public type built on these.
 */
int64_t eb__backoff_ceiling(int attempt, int64_t base_ms, int64_t cap_ms);
int64_t eb__backoff_delay(int attempt, int64_t base_ms, int64_t cap_ms, double rnd);

#endif /* EVENTBUS_EB_INT_H */

/*
 * Idempotency records in Redis (idempotency.c), one key per consumer group
 * and event id: "idem:<group>:<event id>". The value is the claim token of
 * the instance working on it (with a lease, SET NX PX) or "done" (with a
 * long TTL) once its handler succeeded.
 */
struct eb_redis_s;
struct eb_redis_pipeline_s;

typedef enum eb_claim_e {
    EB_CLAIM_NEW,  /* we hold a fresh claim */
    EB_CLAIM_OURS, /* the key already held our own token */
    EB_CLAIM_DONE, /* handled before: a duplicate */
    EB_CLAIM_BUSY  /* another instance holds a claim */
} eb_claim_t;

/* Claims event id for group with token: appends SET idem:<group>:<id>
 * <token> NX GET PX <lease_ms> to p (a consumer builds one pipeline for a
 * turn, flushing it as the batch decodes). After p is executed,
 * eb__idempotency_claim_read() gives the outcome of its i-th claim:
 * EB_OK with *claim set, or EB_ERR_REDIS when Redis failed or answered
 * nothing a claim can tell (an error reply: Redis older than 7.0). */
void eb__idempotency_claim_append(struct eb_redis_pipeline_s *p, const char *group,
                                  const char *token, const char *id, int lease_ms);
eb_err_t eb__idempotency_claim_read(const struct eb_redis_pipeline_s *p, size_t i,
                                    const char *token, eb_claim_t *claim);

/* Extends the lease of the claims of ids that still hold token, in one
 * pipeline (a turn that waits long on Kafka keeps its claims). Returns EB_OK
 * or EB_ERR_REDIS. */
eb_err_t eb__idempotency_renew(struct eb_redis_s *r, const char *group, const char *token,
                               const char *const *ids, size_t n, int lease_ms);

/* Marks done_ids done (TTL ttl_s) and releases the claims of release_ids that
 * still hold token, in one pipeline. wait 1: returns once Redis answered,
 * EB_OK or EB_ERR_REDIS. wait 0: returns once the commands are written
 * (EB_ERR_REDIS if they could not be); their failures are counted by the
 * next eb__redis_owed_check() on r. */
eb_err_t eb__idempotency_finish(struct eb_redis_s *r, const char *group, const char *token,
                                const char *const *done_ids, size_t ndone, int64_t ttl_s,
                                const char *const *release_ids, size_t nrelease, int wait);
