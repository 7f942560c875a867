/*
 * Backoff arithmetic for retries: exponential with full jitter.
 *
 * Kept apart from the consumer so it can be tested without a broker.
 */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "eb_int.h"

int64_t eb__backoff_ceiling(int attempt, int64_t base_ms, int64_t cap_ms)
{
    int64_t ceiling = base_ms;

    if (attempt < 1)
        attempt = 1;
    for (int i = 1; i < attempt && ceiling < cap_ms; i++)
        ceiling *= 2;
    return ceiling < cap_ms ? ceiling : cap_ms;
}

int64_t eb__backoff_delay(int attempt, int64_t base_ms, int64_t cap_ms, double rnd)
{
    int64_t ceiling = eb__backoff_ceiling(attempt, base_ms, cap_ms);
    int64_t d = (int64_t)(rnd * (double)(ceiling + 1));

    return d > ceiling ? ceiling : d;
}

static __thread unsigned short rnd_state[3];
static __thread int rnd_seeded;

double eb__random_unit(void)
{
    if (!rnd_seeded) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        rnd_state[0] = (unsigned short)ts.tv_nsec;
        rnd_state[1] = (unsigned short)(ts.tv_nsec >> 16) ^ (unsigned short)pthread_self();
        rnd_state[2] = (unsigned short)ts.tv_sec;
        rnd_seeded = 1;
    }
    return erand48(rnd_state);
}
