/*
 * Backoff arithmetic for retries: exponential, optionally with full jitter,
 * and eb_backoff_t (eventbus/backoff.h), the one type built on it.
 *
 * Kept apart from the consumer so it can be tested without a broker.
 */
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "eb_int.h"
#include "eventbus/backoff.h"

int64_t eb__backoff_ceiling(int attempt, int64_t base_ms, int64_t cap_ms)
{
    int64_t ceiling = base_ms;

    if (attempt < 1)
        attempt = 1;
    for (int i = 1; i < attempt && ceiling > 0 && ceiling < cap_ms; i++)
        ceiling *= 2;
    return ceiling < cap_ms ? ceiling : cap_ms;
}

int64_t eb__backoff_delay(int attempt, int64_t base_ms, int64_t cap_ms, double rnd)
{
    int64_t ceiling = eb__backoff_ceiling(attempt, base_ms, cap_ms);
    int64_t d = (int64_t)(rnd * (double)(ceiling + 1));

    return d > ceiling ? ceiling : d;
}

void eb_backoff_init(eb_backoff_t *b, int64_t base_ms, int64_t cap_ms, int jitter)
{
    b->cap_ms = cap_ms > 0 ? cap_ms : 0;
    b->base_ms = base_ms < 0 ? 0 : base_ms > b->cap_ms ? b->cap_ms : base_ms;
    b->jitter = jitter != 0;
    b->attempts = 0;
}

int64_t eb_backoff_peek(const eb_backoff_t *b)
{
    return eb__backoff_ceiling(b->attempts + 1, b->base_ms, b->cap_ms);
}

int64_t eb_backoff_next(eb_backoff_t *b)
{
    int64_t wait =
        b->jitter ? eb__backoff_delay(b->attempts + 1, b->base_ms, b->cap_ms, eb__random_unit())
                  : eb_backoff_peek(b);

    if (b->attempts < INT_MAX)
        b->attempts++;
    return wait;
}

int eb_backoff_attempts(const eb_backoff_t *b)
{
    return b->attempts;
}

void eb_backoff_reset(eb_backoff_t *b)
{
    b->attempts = 0;
}
