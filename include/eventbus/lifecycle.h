/*
 * Process lifecycle: signals and the flags they set.
 *
 * Signal handlers only set a flag (redis sigShutdownHandler, kcat term());
 * every loop of a daemon watches eb_stop_flag and winds down in the order
 * its main.c writes down. The flags are lock-free atomic_int rather than
 * volatile sig_atomic_t because threads read them too and one thread may
 * set eb_stop_flag for the others (a volatile would be a data race).
 */
#ifndef EVENTBUS_LIFECYCLE_H
#define EVENTBUS_LIFECYCLE_H

#include <stdatomic.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Non-zero once SIGTERM or SIGINT arrived (or eb_lifecycle_request_stop()). */
extern atomic_int eb_stop_flag;

/* Non-zero after SIGHUP: daemons that write files reopen them (logrotate's
 * convention) and clear it. */
extern atomic_int eb_reopen_flag;

/* Installs SIGTERM/SIGINT handlers that set eb_stop_flag, a SIGHUP handler
 * that sets eb_reopen_flag, and ignores SIGPIPE (a client hanging up must
 * not kill a server). Call once from main(), before other threads start. */
void eb_lifecycle_install_signals(void);

/* Sets eb_stop_flag from code, e.g. after a fatal error in a thread. Any
 * thread, and async-signal-safe. */
void eb_lifecycle_request_stop(void);

/* Sleeps up to ms milliseconds, waking early (within 50 ms) when a stop was
 * requested. Returns non-zero if a stop was requested. Any thread. */
int eb_lifecycle_sleep(int64_t ms);

#ifdef __cplusplus
}
#endif
#endif /* EVENTBUS_LIFECYCLE_H */
