/*
 * The whole life of a consumer daemon (payment-service,
 * notification-service): settings, logging, the consume loop and its admin
 * endpoints, until SIGTERM (see cli.h for the layer).
 */
#ifndef EVENTBUS_APP_DAEMON_H
#define EVENTBUS_APP_DAEMON_H

#include <stddef.h>
#include <stdint.h>

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
    eb_handler_t *handler;             /* per event; or: */
    eb_batch_handler_t *batch_handler; /* per batch */
    eb_batch_end_cb_t *batch_end;
    eb_tick_cb_t *tick;
    /* Called after settings are valid, signals are installed and before the
     * consumer connects; may open files and use Redis (addr). Returns
     * APP_CONTINUE or an exit code (APP_EXIT_USAGE for bad settings). */
    int (*start)(void *opaque, const eb_redis_addr_t *redis);
    /* Called after the consumer stopped, before exit. May be NULL. */
    void (*stop)(void *opaque);
    void *opaque;
} app_daemon_t;

/* The whole life of a consumer daemon; returns the process exit code.
 * Shutdown order: stop flag -> consume loop hands back unfinished messages,
 * commits and leaves the group -> producer flush -> admin server stop. */
int app_daemon_main(const app_daemon_t *d, int argc, char **argv);

#endif /* EVENTBUS_APP_DAEMON_H */
