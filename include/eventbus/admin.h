/*
 * The admin HTTP endpoints every daemon serves: /health, /ready and
 * /metrics.
 *
 * Consumers run them on their own small libmicrohttpd daemon (ADMIN_PORT);
 * order-service routes them through its API daemon with eb_admin_route().
 * This header does not include <microhttpd.h> (eventbus/http.h does, with
 * the listener and the JSON reply helpers), so eventbus/eventbus.h stays
 * free of it.
 *
 *   GET /health   200 {"status":"ok"} while every registered liveness
 *                 check made progress recently, else 503 naming the stuck one.
 *   GET /ready    200 {"status":"ready"} when the readiness callback says so,
 *                 else 503 {"status":"not ready","reason":"..."}.
 *   GET /metrics  the registry in Prometheus text format.
 */
#ifndef EVENTBUS_ADMIN_H
#define EVENTBUS_ADMIN_H

#include <stddef.h>

#include "eventbus/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Decides readiness. Returns 1 when ready; else 0 with a short reason (e.g.
 * "redis unreachable") in reason. Called on an HTTP thread and should answer
 * in well under a second. On the dedicated server of eb_admin_start() every
 * call comes from the same single thread, so the callback may use resources
 * owned by that thread (a Redis connection); through eb_admin_route() it runs
 * on whichever worker serves the request. */
typedef int(eb_ready_cb_t)(char *reason, size_t reason_size, void *opaque);

/* Reports liveness. Returns 1 while the component makes progress; else 0
 * with the reason. Same rules as eb_ready_cb_t. May be NULL in eb_admin_opts_t
 * (then /health is 200 while the process runs). */
typedef int(eb_live_cb_t)(char *reason, size_t reason_size, void *opaque);

/* Refreshes gauges that are measured when scraped (kafka_up, redis_up)
 * just before /metrics is rendered. Same threading rules as eb_ready_cb_t.
 * May be NULL. */
typedef void(eb_collect_cb_t)(void *opaque);

typedef struct eb_admin_opts_s {
    eb_ready_cb_t *ready;
    eb_live_cb_t *live;
    eb_collect_cb_t *collect;
    void *opaque;
} eb_admin_opts_t;

typedef struct eb_admin_s eb_admin_t;

/* libmicrohttpd's connection, for eb_admin_route() (eventbus/http.h). */
struct MHD_Connection;

/* Lifecycle: eb_admin_new() -> eb_admin_start() (optional: order-service
 * routes through its own server instead) -> eb_admin_stop() ->
 * eb_admin_destroy(). Call them from one thread. */

/* Creates the router (no server). The opts are copied; opts->opaque must
 * stay valid until the server is stopped (or, without a server, for as
 * long as eb_admin_route() is called). Returns NULL when out of memory; the
 * caller owns it (eb_admin_destroy). */
eb_admin_t *eb_admin_new(const eb_admin_opts_t *opts);

/* Starts a dedicated server (eb_http_listen(), one thread, 64 connections,
 * 10 s idle timeout) on bind_addr (an IPv4 address, "0.0.0.0" for every
 * interface) and port (0 = pick a free port). Returns EB_OK with the bound
 * port in *bound_port, or EB_ERR_INVALID / EB_ERR_IO with the reason. From
 * now until eb_admin_stop() returns, the callbacks run on the server's
 * thread. */
eb_err_t eb_admin_start(eb_admin_t *a, const char *bind_addr, int port, int *bound_port,
                        char *errstr, size_t errstr_size);

/* Stops the server, if one runs: closes the listening socket and joins its
 * thread, so no callback runs after it returns and what the probes use may
 * be destroyed. The router stays usable. NULL is a no-op. */
void eb_admin_stop(eb_admin_t *a);

/* Answers url if it is one of the admin routes. Returns 1 and queues the
 * response (status in *status) when it handled the request, 0 when url is
 * not an admin route. Usable from any MHD access handler thread. */
int eb_admin_route(eb_admin_t *a, struct MHD_Connection *conn, const char *method, const char *url,
                   unsigned int *status);

/* Stops the server if it still runs and frees a. NULL is a no-op. */
void eb_admin_destroy(eb_admin_t *a);

#ifdef __cplusplus
}
#endif
#endif /* EVENTBUS_ADMIN_H */
