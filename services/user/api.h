/*
 * The user HTTP API (docs/contract.md section 10) on the suite's JSON API
 * server (eventbus/api.h).
 *
 *   POST /users         validate, store the user + UserRegistered, 201
 *   PUT  /users/<id>    validate, update the user + UserUpdated, 200 or 404
 *   GET  /users/<id>    the user, 200 or 404
 *   GET  /health /ready /metrics
 *
 * Threads: libmicrohttpd's pool of HTTP_THREADS workers, each with its own
 * Redis connection (eb_api_redis()), so the request path takes no lock.
 */
#ifndef SERVICES_USER_API_H
#define SERVICES_USER_API_H

#include "eventbus/api.h"

/* Creates the API without listening yet, for eb_api_start() and the rest
 * of eb_api_t's lifecycle (main thread). opts is eb_api_opts_t without
 * the routes, the unavailable message and opaque, which this fills in; it
 * is copied, and its strings and admin must outlive the API. Returns NULL
 * when out of memory. */
eb_api_t *user_api_new(const eb_api_opts_t *opts);

#endif /* SERVICES_USER_API_H */
