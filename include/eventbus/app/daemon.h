/*
 * The whole life of a consumer daemon (payment-service,
 * notification-service): settings, logging, the consume loop and its admin
 * endpoints, until SIGTERM (see cli.h for the layer).
 */
#ifndef EVENTBUS_APP_DAEMON_H
#define EVENTBUS_APP_DAEMON_H

#include <stddef.h>
#include <stdint.h>

#include "eventbus/api.h"
#include "eventbus/config.h"
#include "eventbus/consumer.h"
#include "eventbus/redis.h"

/* Everything a consumer daemon differs in. */
typedef struct app_daemon_s {
    const char *service; /* "payment-service" */
    const eb_conf_program_t *prog;
    eb_common_conf_t *common;     /* filled by the prog's sections */
    const int64_t *admin_port;    /* ADMIN_PORT */
    const char *const *bind_addr; /* BIND_ADDRESS */
    const char *const *topics;
    size_t topic_count;
    const char *const *event_types;
    size_t event_type_count;
    const eb_schemas_t *schemas;       /* versions of those types (eb_consumer_opts_t) */
    eb_handler_t *handler;             /* per event; or: */
    eb_batch_handler_t *batch_handler; /* per batch */
    eb_batch_end_cb_t *batch_end;
    eb_tick_cb_t *tick;
    /* An HTTP API of the service's own (eventbus/api.h), served on
     * admin_port with /health /ready /metrics, instead of the admin-only
     * server. Its limits come from common (EB_CONF_SECTION_HTTP); its
     * handlers get opaque. route_count 0: admin endpoints only. */
    const eb_api_route_t *routes;
    size_t route_count;
    const char *unavailable; /* eb_api_unavailable()'s message */
    /* Called after settings are valid, signals are installed and before the
     * consumer connects; may open files and use Redis (addr). Returns
     * APP_CONTINUE or an exit code (APP_EXIT_USAGE for bad settings). */
    int (*start)(void *opaque, const eb_redis_addr_t *redis);
    /* Called after the consumer stopped, before exit. May be NULL. */
    void (*stop)(void *opaque);
    void *opaque;
} app_daemon_t;

/* The whole life of a consumer daemon; returns the process exit code.
 *
 * Shutdown order, as the code performs it:
 *   1. SIGTERM/SIGINT sets the stop flag;
 *   2. the consume loop finishes its batch or hands it back uncommitted,
 *      commits the stored offsets and leaves the group (eb_consumer_run()
 *      returns);
 *   3. the admin server stops (eb_admin_stop(): no probe runs after it);
 *   4. the producer is flushed, up to 3 s, and the consumer freed
 *      (eb_consumer_destroy());
 *   5. the daemon's stop callback runs (files closed); exit.
 * The admin server stops before the producer flush, not after: its probes
 * (/ready, /health, /metrics) read the consumer's status and send metadata
 * requests through the consumer's librdkafka handle, and
 * eb_consumer_destroy() flushes and frees that handle in one call, so a
 * probe answered during the flush would use a freed handle. The endpoint is
 * only ever down while the process is already leaving: by step 3 the member
 * has left its group and is not ready anyway. */
int app_daemon_main(const app_daemon_t *d, int argc, char **argv);

#endif /* EVENTBUS_APP_DAEMON_H */
