/*
 * Exponential backoff, one type for every retry loop of the suite.
 *
 * An eb_backoff_t counts the attempts of one thing being retried (a
 * partition's failing message, the outbox relay's failed deliveries) and
 * answers how long to wait before the next one: base, then twice that per
 * attempt, never above cap. With jitter the wait is drawn uniformly from
 * [0, that ceiling] instead ("full jitter", which spreads the retries of many
 * clients that failed together; AWS Architecture Blog, "Exponential Backoff
 * And Jitter"). Success calls eb_backoff_reset() and the next failure starts
 * from base again.
 *
 * Typical use:
 *
 *     eb_backoff_t b;
 *     eb_backoff_init(&b, 250, 5000, 0);   250, 500, 1000, 2000, 4000, 5000, ...
 *     ...
 *     on failure:  retry_at = now + eb_backoff_next(&b);
 *     on success:  eb_backoff_reset(&b);
 *
 * The consumer uses it for the wait for Redis or Kafka to come back (one
 * per consumer: each paused partition resumes after eb_backoff_peek(), one
 * eb_backoff_next() per turn while the outage lasts, eb_backoff_reset() when
 * a turn meets none). A failing record's retries are decided by the pure
 * turn.c, which calls the same arithmetic (eb__backoff_delay) with the
 * attempt count it keeps per record.
 *
 * The struct is caller-owned storage (embed it; nothing to free); read it
 * only through these functions. Threading: one owner thread per value.
 */
#ifndef EVENTBUS_BACKOFF_H
#define EVENTBUS_BACKOFF_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct eb_backoff_s {
    int64_t base_ms; /* the first wait (the ceiling of attempt 1) */
    int64_t cap_ms;  /* no wait, and no ceiling, is ever above this */
    int jitter;      /* draw each wait from [0, ceiling] */
    int attempts;    /* eb_backoff_next() calls since init or reset */
} eb_backoff_t;

/* Sets b up with no attempts made. base_ms and cap_ms are clamped to at
 * least 0; a base above the cap is capped. jitter: 0 for exact doubling,
 * 1 for full jitter. */
void eb_backoff_init(eb_backoff_t *b, int64_t base_ms, int64_t cap_ms, int jitter);

/* Counts one more attempt and returns how long to wait before making it, in
 * milliseconds: the ceiling base * 2^(n-1) capped at cap for the n-th call
 * since init or reset, or with jitter a uniform draw from [0, ceiling]. */
int64_t eb_backoff_next(eb_backoff_t *b);

/* The ceiling the next eb_backoff_next() will use, without counting an
 * attempt (without jitter, exactly what it will return): for waiting again
 * at the current step. */
int64_t eb_backoff_peek(const eb_backoff_t *b);

/* How many attempts were counted since init or reset. */
int eb_backoff_attempts(const eb_backoff_t *b);

/* Forgets the attempts: the next wait is base again. */
void eb_backoff_reset(eb_backoff_t *b);

#ifdef __cplusplus
}
#endif
#endif /* EVENTBUS_BACKOFF_H */
