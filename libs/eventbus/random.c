/*
 * Randomness: the bytes identifiers are made of, their hex text, and the
 * uniform values of backoff jitter.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
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
 * repeats its parent's ids: a pthread_atfork() child handler bumps a
 * generation that each thread's buffer remembers (comparing getpid() on
 * every call, as this did before, was 5 system calls per order under
 * valgrind). The handler is registered before any buffer is filled, so
 * every fork() after a fill is seen; a raw clone(2) without fork()'s
 * handlers is not (the suite makes none).
 */
#define RANDOM_POOL 512

static atomic_uint fork_gen = 1; /* bumped in the child of every fork() */
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static __thread unsigned char rnd_pool[RANDOM_POOL];
static __thread size_t rnd_left;
static __thread unsigned rnd_gen; /* fork_gen at the last fill; 0: never filled */

static void on_fork_child(void)
{
    atomic_fetch_add_explicit(&fork_gen, 1, memory_order_relaxed);
}

static void register_atfork(void)
{
    pthread_atfork(NULL, NULL, on_fork_child);
}

void eb__random_bytes(unsigned char *out, size_t n)
{
    unsigned gen = atomic_load_explicit(&fork_gen, memory_order_relaxed);

    if (rnd_gen != gen) {
        if (!rnd_gen)
            pthread_once(&atfork_once, register_atfork);
        rnd_left = 0;
        rnd_gen = gen;
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
