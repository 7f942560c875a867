/*
 * Randomness: the bytes identifiers are made of, their hex text, and the
 * uniform values of backoff jitter.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <uuid/uuid.h>

#include "eb_int.h"

/*
 * Random bytes for identifiers, from a per-thread buffer refilled by one
 * getrandom(2) call. libuuid's uuid_generate_random() costs about 2 us a
 * call; with four ids per order that was 13 % of order-service's CPU
 * (bench/RESULTS.md). The buffer is dropped after fork(), so a child never
 * repeats its parent's ids.
 */
#define RANDOM_POOL 512

static __thread unsigned char rnd_pool[RANDOM_POOL];
static __thread size_t rnd_left;
static __thread pid_t rnd_pid;

void eb__random_bytes(unsigned char *out, size_t n)
{
    if (rnd_pid != getpid()) {
        rnd_left = 0;
        rnd_pid = getpid();
    }
    while (n > 0) {
        size_t take;

        if (rnd_left == 0) {
            size_t got = 0;

            while (got < RANDOM_POOL) {
                ssize_t r = getrandom(rnd_pool + got, RANDOM_POOL - got, 0);

                if (r > 0) {
                    got += (size_t)r;
                } else if (errno != EINTR) {
                    /* No getrandom(2) (old kernel, seccomp): libuuid finds
                     * another source. */
                    uuid_t u;

                    uuid_generate(u);
                    size_t fill = RANDOM_POOL - got < sizeof(u) ? RANDOM_POOL - got : sizeof(u);
                    memcpy(rnd_pool + got, u, fill);
                    got += fill;
                }
            }
            rnd_left = RANDOM_POOL;
        }
        take = n < rnd_left ? n : rnd_left;
        memcpy(out, rnd_pool + RANDOM_POOL - rnd_left, take);
        rnd_left -= take;
        out += take;
        n -= take;
    }
}

char *eb__random_hex(char *out, const unsigned char *b, size_t n)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        *out++ = digits[b[i] >> 4];
        *out++ = digits[b[i] & 0xf];
    }
    return out;
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
