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

#include "eventbus/config.h"
#include "eventbus/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The limits every server of the suite applies to its clients (the HTTP_*
 * settings). A request must arrive whole in time: its headers within
 * header_timeout_s of its first line (of the connection's opening, for the
 * first request), headers and body within request_timeout_s; past either
 * deadline the client gets 408 REQUEST_TIMEOUT as JSON and the connection
 * is closed. A connection with no request in progress is closed after
 * idle_timeout_s. At most max_connections are open; newcomers wait in the
 * kernel's accept queue, and while any wait, as many stalled connections
 * (idle, or a request unfinished with nothing left unread) are closed, the
 * oldest of the client address holding the most connections first. A
 * request being answered is never cut. */
typedef struct eb_http_limits_s {
    unsigned int threads;           /* worker pool size; 0 or 1: one internal thread */
    unsigned int max_connections;   /* open connections at most */
    unsigned int max_per_ip;        /* connections from one address; 0: no limit (429 past it) */
    unsigned int idle_timeout_s;    /* keep-alive connection between requests */
    unsigned int header_timeout_s;  /* request line and headers; 0: 10 */
    unsigned int request_timeout_s; /* headers and body; 0: 30 */
    /* Each worker waits with poll(2) over its connections, not epoll: no
     * epoll_ctl per suspended request (two under epoll), a scan of every
     * connection per wake-up. */
    int use_poll;
} eb_http_limits_t;

/* The limits the HTTP_* settings of c give. */
eb_http_limits_t eb_http_limits_from_conf(const eb_common_conf_t *c);

/* How to listen. Every server of the suite runs libmicrohttpd's own
 * threads (MHD_USE_AUTO_INTERNAL_THREAD: epoll on Linux; with
 * limits.use_poll, MHD_USE_POLL_INTERNAL_THREAD), logs libmicrohttpd's messages
 * through eb_log (eb_http_mhd_log) and listens on one IPv4 address. */
typedef struct eb_http_listen_opts_s {
    const char *bind_addr; /* IPv4 address, "0.0.0.0" for every interface */
    int port;              /* 0: pick a free port (see eb_http_port()) */
    eb_http_limits_t limits;
    MHD_AccessHandlerCallback handler;
    void *handler_cls;
    MHD_RequestCompletedCallback completed; /* may be NULL */
    void *completed_cls;
    /* The handler may MHD_suspend_connection() a request and have any thread
     * MHD_resume_connection() it (MHD_ALLOW_SUSPEND_RESUME); the guard leaves
     * a suspended request alone (HANDLING). Every suspended request must be
     * resumed before eb_http_stop(). */
    int suspendable;
} eb_http_listen_opts_t;

typedef struct eb_http_server_s eb_http_server_t;

/* Starts a server listening as opts says. Returns EB_OK with the server in
 * *server, or EB_ERR_INVALID (bad bind address or limits) / EB_ERR_IO
 * (cannot listen) / EB_ERR_NOMEM with the reason. The caller owns the
 * server: eb_http_stop() it. The handler and completed callbacks run on
 * libmicrohttpd's threads from now until eb_http_stop() returns; they see
 * the per-request pointer (con_cls) as libmicrohttpd gives it, NULL at
 * the first call of each request. */
eb_err_t eb_http_listen(const eb_http_listen_opts_t *opts, eb_http_server_t **server, char *errstr,
                        size_t errstr_size);

/* Stops accepting, finishes or closes the connections in progress, joins
 * the server's threads and frees it. NULL is a no-op. */
void eb_http_stop(eb_http_server_t *server);

/* Returns the bound TCP port of a running server, or -1 (NULL). Any thread
 * until eb_http_stop(). */
int eb_http_port(const eb_http_server_t *server);

/* Queues a response with Content-Type application/json, from the handler's
 * thread (libmicrohttpd's). body is copied.
 * location, when not NULL, becomes the Location header. Returns MHD_YES or
 * MHD_NO as MHD_queue_response does. */
enum MHD_Result eb_http_reply(struct MHD_Connection *conn, unsigned int status, const char *body,
                              size_t len, const char *location);

/* Queues {"error":{"code":code,"message":message[,"field":field]}}. field may
 * be NULL. For 405 the Allow header is set from allow (may be NULL). The
 * strings are copied. On the thread libmicrohttpd called the handler on. */
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
