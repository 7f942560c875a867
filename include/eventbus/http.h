/*
 * The suite's HTTP servers on libmicrohttpd: one way to start a listener
 * (the admin endpoint of eb_admin_start() and the order API both use it),
 * JSON replies, and the request metrics every server shares.
 *
 * This header includes <microhttpd.h>; that is why eventbus/eventbus.h does
 * not include it. Only code that writes an MHD access handler needs it.
 */
#ifndef EVENTBUS_HTTP_H
#define EVENTBUS_HTTP_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include "eventbus/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How to listen. Every server of the suite runs libmicrohttpd's own
 * threads (MHD_USE_AUTO_INTERNAL_THREAD), logs libmicrohttpd's messages
 * through eb_log (eb_http_mhd_log) and listens on one IPv4 address. */
typedef struct eb_http_listen_opts_s {
    const char *bind_addr;        /* IPv4 address, "0.0.0.0" for every interface */
    int port;                     /* 0: pick a free port (see bound_port) */
    unsigned int threads;         /* worker pool size; 0 or 1: one internal thread */
    unsigned int max_connections; /* concurrent connections; more are refused */
    unsigned int max_per_ip;      /* connections from one address; 0: no limit */
    unsigned int timeout_s;       /* a connection idle this long is closed */
    MHD_AccessHandlerCallback handler;
    void *handler_cls;
    MHD_RequestCompletedCallback completed; /* may be NULL */
    void *completed_cls;
} eb_http_listen_opts_t;

/* Starts a daemon listening as opts says. Returns EB_OK with the daemon in
 * *daemon and the bound port in *bound_port (when not NULL), or
 * EB_ERR_INVALID (bad bind address) / EB_ERR_IO (cannot listen) with the
 * reason. The caller owns the daemon: eb_http_stop() it. The handler and
 * completed callbacks run on libmicrohttpd's threads from now until
 * eb_http_stop() returns. */
eb_err_t eb_http_listen(const eb_http_listen_opts_t *opts, struct MHD_Daemon **daemon,
                        int *bound_port, char *errstr, size_t errstr_size);

/* Stops accepting, finishes or closes the connections in progress and
 * joins libmicrohttpd's threads. NULL is a no-op. */
void eb_http_stop(struct MHD_Daemon *daemon);

/* Returns the bound TCP port of a running daemon, or -1. */
int eb_http_daemon_port(struct MHD_Daemon *d);

/* Queues a response with Content-Type application/json. body is copied.
 * location, when not NULL, becomes the Location header. Returns MHD_YES or
 * MHD_NO as MHD_queue_response does. */
enum MHD_Result eb_http_reply(struct MHD_Connection *conn, unsigned int status, const char *body,
                              size_t len, const char *location);

/* Queues {"error":{"code":code,"message":message[,"field":field]}}. field may
 * be NULL. For 405 the Allow header is set from allow (may be NULL). */
enum MHD_Result eb_http_error(struct MHD_Connection *conn, unsigned int status, const char *code,
                              const char *message, const char *field, const char *allow);

/* An MHD_OPTION_EXTERNAL_LOGGER that routes libmicrohttpd's own messages
 * into eb_log at warn level. */
void eb_http_mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Counts one answered request in the metrics every HTTP server of the suite
 * shares: http_requests_total{route,code} and
 * http_request_duration_seconds{route}, the latency measured from start_us
 * (eb_time_mono_us() when the request arrived). Thread-safe. */
void eb_http_observe(const char *route, unsigned int status, int64_t start_us);

#ifdef __cplusplus
}
#endif
#endif /* EVENTBUS_HTTP_H */
