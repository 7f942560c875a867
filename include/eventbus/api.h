/*
 * A JSON HTTP API on libmicrohttpd (api.c): the part every service's API
 * shares, so that each service writes only its routes.
 *
 * A service gives a table of routes (method, path pattern with at most one
 * "{id}" segment, handler). The server matches every request against it:
 * a path that matches no pattern is 404, a known path with another method
 * 405 with an Allow header; /health, /ready and /metrics are answered by
 * the admin router. A route that takes a body gets it whole, checked
 * before it is read: Content-Type must be application/json (else 415) and
 * no larger than max_body (else 413). Every error is the suite's JSON
 * error document. Requests are counted in http_requests_total and
 * http_request_duration_seconds with the route's pattern as its label.
 *
 * Threads: libmicrohttpd's worker pool calls the handlers; each worker
 * keeps its own Redis connection (eb_api_redis()), opened on first use, so
 * no handler takes a lock for Redis.
 */
#ifndef EVENTBUS_API_H
#define EVENTBUS_API_H

#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include "eventbus/admin.h"
#include "eventbus/error.h"
#include "eventbus/http.h"
#include "eventbus/redis.h"
#include "eventbus/traceparent.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One request, from its headers to its completion. Valid only during the
 * handler call. */
typedef struct eb_api_req_s eb_api_req_t;

/* Answers the request (eb_api_reply / eb_api_error / ...) and returns
 * what that returned. opaque is eb_api_opts_t.opaque. */
typedef enum MHD_Result(eb_api_handler_t)(eb_api_req_t *q, void *opaque);

typedef struct eb_api_route_s {
    const char *method;  /* "GET" (also serves HEAD), "POST", "PUT", ... */
    const char *pattern; /* "/orders", "/orders/{id}", "/orders/{id}/cancel" */
    eb_api_handler_t *handler;
    int body; /* takes a JSON body */
} eb_api_route_t;

typedef struct eb_api_opts_s {
    const char *bind_address;
    int port;                /* 0: pick a free port */
    eb_http_limits_t limits; /* see eventbus/http.h */
    int64_t max_body;        /* larger bodies get 413 */
    const eb_api_route_t *routes;
    size_t route_count;
    const eb_redis_addr_t *redis; /* the workers' Redis; copied */
    /* The message of eb_api_unavailable(): what is unreachable. */
    const char *unavailable;
    eb_admin_t *admin; /* serves /health /ready /metrics; not owned; may be NULL */
    void *opaque;      /* for the handlers */
    int suspendable;   /* handlers may eb_api_suspend() */
} eb_api_opts_t;

typedef struct eb_api_s eb_api_t;

/* Lifecycle, from the main thread: eb_api_new() -> eb_api_start() ->
 * eb_api_stop() (finishes requests in progress, joins the workers) ->
 * eb_api_destroy(). opts is copied; routes, strings, admin and opaque must
 * outlive the API (until eb_api_destroy). eb_api_new() returns NULL when
 * out of memory; the caller owns the API. eb_api_port() may be called from
 * any thread once eb_api_start() returned. */
eb_api_t *eb_api_new(const eb_api_opts_t *opts);
eb_err_t eb_api_start(eb_api_t *a, char *errstr, size_t errstr_size);
int eb_api_port(const eb_api_t *a); /* the bound port; -1 when not listening */
void eb_api_stop(eb_api_t *a);
void eb_api_destroy(eb_api_t *a); /* NULL is a no-op */

/* Answers PING on the calling worker's Redis connection (for /ready, which
 * runs on a worker). Call it from a worker thread only (a handler or an
 * admin callback routed through the API). Returns 1 when Redis answered. */
int eb_api_redis_ping(eb_api_t *a);

/* eb_redis_probe_write() on the calling worker's connection: 1 Redis
 * accepted the write, 0 refused it (why in reason), -1 unreachable. From a
 * worker thread only, as eb_api_redis_ping(). */
int eb_api_redis_probe_write(eb_api_t *a, const char *key, char *reason, size_t size);

/* ---- for handlers --------------------------------------------------------
 *
 * On the worker thread running the handler, during the call. The strings
 * returned belong to the request and stay valid until the handler returns. */

/* The "{id}" segment of the path ("" when the pattern has none). Checked:
 * 1..128 bytes of letters, digits, '-' and '_'; a request whose segment is
 * not such an id is answered 404 before any handler runs. */
const char *eb_api_param(const eb_api_req_t *q);

/* The body (NUL-terminated; len bytes) of a route that takes one. */
const char *eb_api_body(const eb_api_req_t *q, size_t *len);

/* A request header, or NULL. */
const char *eb_api_header(const eb_api_req_t *q, const char *name);

/* Starts this request's span in t (traceparent.h): a child of the span in
 * the request's traceparent header, with its tracestate (several tracestate
 * fields are joined), or a new trace when there is no valid traceparent or
 * more than one.
 * What the request writes to the outbox carries t's traceparent on. */
void eb_api_trace(const eb_api_req_t *q, eb_trace_t *t);

/* The calling worker's Redis connection (NULL when out of memory). Owned by
 * the worker: use it during the call, never destroy or keep it. */
eb_redis_t *eb_api_redis(eb_api_req_t *q);

/* Queues a JSON reply (body and location are copied); location, when not
 * NULL, is sent as Location. */
enum MHD_Result eb_api_reply(eb_api_req_t *q, unsigned int status, const char *body, size_t len,
                             const char *location);

/* Queues the suite's JSON error {"error":{"code","message","field"}};
 * field may be NULL. */
enum MHD_Result eb_api_error(eb_api_req_t *q, unsigned int status, const char *code,
                             const char *message, const char *field);

/* 503 SERVICE_UNAVAILABLE with opts.unavailable as the message, or, when a
 * Redis command of this request was refused (OOM, READONLY, MISCONF:
 * eb_redis_is_refusal), a message naming that refusal. */
enum MHD_Result eb_api_unavailable(eb_api_req_t *q);

/* The same 503, for a store that another thread wrote: refusal is the error
 * Redis refused the write with, or NULL when it was unreachable. */
enum MHD_Result eb_api_refused(eb_api_req_t *q, const char *refusal);

/* ---- suspended requests (opts.suspendable) ---------------------------------
 *
 * A handler that has another thread do its work suspends its request and
 * returns MHD_YES without a reply; its worker goes on serving the other
 * connections. The other thread calls eb_api_resume(q) once (any thread);
 * the same handler is then called again on a worker with the same q, finds
 * its state in eb_api_state(q) and answers. The state belongs to q from
 * eb_api_suspend() on: free_state(state) runs when the request ends, answered
 * or not. Every suspended request must be resumed before eb_api_stop(). */
void eb_api_suspend(eb_api_req_t *q, void *state, void (*free_state)(void *));
void *eb_api_state(const eb_api_req_t *q); /* NULL: not (yet) suspended */
void eb_api_resume(eb_api_req_t *q);

#ifdef __cplusplus
}
#endif
#endif /* EVENTBUS_API_H */
