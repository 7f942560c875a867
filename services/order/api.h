/*
 * The order HTTP API (docs/contract.md section 4) on libmicrohttpd.
 *
 *   POST /orders        validate, store order + OrderCreated atomically, 201
 *   GET  /orders/<id>   the order with its current status
 *   GET  /health /ready /metrics
 *
 * Threads: libmicrohttpd's internal pool of HTTP_THREADS workers, each with
 * its own Redis connection (thread-local, created on first use and closed
 * when the worker exits), and one committer thread with its own: a POST
 * /orders without Idempotency-Key is suspended and its order queued, and
 * the committer writes every order queued in one pipeline and resumes
 * their requests (group commit; docs/DESIGN.md). Nothing is logged per
 * request at info level.
 */
#ifndef SERVICES_ORDER_API_H
#define SERVICES_ORDER_API_H

#include <stdint.h>

#include "eventbus/admin.h"
#include "eventbus/api.h"
#include "eventbus/redis.h"

typedef struct order_api_opts_s {
    const char *bind_address;
    int port;                /* 0: pick a free port */
    eb_http_limits_t limits; /* the HTTP_* settings */
    int64_t max_body;        /* larger bodies get 413 */
    int64_t idem_ttl_s;      /* how long an Idempotency-Key is remembered */
    int64_t retention_s;     /* how long a terminal order is kept; 0: for good */
    const eb_redis_addr_t *redis;
    eb_admin_t *admin; /* serves /health /ready /metrics; not owned */
} order_api_opts_t;

typedef struct order_api_s order_api_t;

/* Lifecycle, from the main thread: order_api_new() -> order_api_start()
 * -> order_api_stop() -> order_api_destroy(). */

/* Creates the API without listening yet. opts is copied; opts->admin and
 * the strings must outlive the API. Returns NULL with the reason in
 * errstr. */
order_api_t *order_api_new(const order_api_opts_t *opts, char *errstr, size_t errstr_size);

/* Starts listening (eb_http_listen() with the HTTP_* settings). Returns
 * EB_OK, or the error with the reason in errstr. From now until
 * order_api_stop() returns, requests run on the worker threads, and with
 * them the admin callbacks. */
eb_err_t order_api_start(order_api_t *a, char *errstr, size_t errstr_size);

/* The bound port (useful with port 0); -1 when not listening. */
int order_api_port(const order_api_t *a);

/* The API's server (eventbus/api.h), for the probes. */
eb_api_t *order_api_server(order_api_t *a);

/* Writes every queued order and resumes its request, stops accepting,
 * finishes requests in progress and joins the workers and the committer
 * (closing their Redis connections). Nothing the admin callbacks use is
 * touched after it returns. NULL, or an API not listening, is a no-op. */
void order_api_stop(order_api_t *a);

/* Stops the API if it still listens and frees a. NULL is a no-op. */
void order_api_destroy(order_api_t *a);

#endif /* SERVICES_ORDER_API_H */
