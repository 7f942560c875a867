/* Signals set a flag; loops watch it. */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "eventbus/lifecycle.h"

/* Lock-free atomics are the objects C11 lets a signal handler write and
 * every thread read without a data race (C11 7.14.1.1). */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "atomic_int must be lock-free for signal handlers");

atomic_int eb_stop_flag = 0;
atomic_int eb_reopen_flag = 0;

static void on_stop_signal(int sig)
{
    (void)sig;
    eb_stop_flag = 1;
}

static void on_hangup(int sig)
{
    (void)sig;
    eb_reopen_flag = 1;
}

void eb_lifecycle_install_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_hangup;
    sigaction(SIGHUP, &sa, NULL);

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

void eb_lifecycle_request_stop(void)
{
    eb_stop_flag = 1;
}

int eb_lifecycle_sleep(int64_t ms)
{
    while (ms > 0 && !eb_stop_flag) {
        int64_t step = ms < 50 ? ms : 50;
        struct timespec ts = {(time_t)(step / 1000), (long)(step % 1000) * 1000000L};

        while (nanosleep(&ts, &ts) == -1 && errno == EINTR && !eb_stop_flag)
            ;
        ms -= step;
    }
    return eb_stop_flag != 0;
}
