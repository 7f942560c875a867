/*
 * Order status from payment events.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "../common/domain.h"
#include "eventbus/lifecycle.h"
#include "eventbus/log.h"
#include "order.h"
#include "status.h"
#include "store.h"

struct order_status_s {
    eb_consumer_t *consumer;
    pthread_t thread;
    int started;
    atomic_int failed;
};

eb_err_t order_status_handle(eb_work_t *w, void *opaque)
{
    const eb_event_t *ev = eb_work_event(w);
    const char *status = order_status_for_event(ev->type);
    svc_payment_t p;
    char errstr[256];
    eb_err_t err;

    (void)opaque;
    if (!status)
        return eb_work_fail(w, EB_ERR_BAD_EVENT, "no status for event type %s", ev->type);
    if (svc_payment_parse(ev->data, strcmp(status, ORDER_STATUS_FAILED) == 0, &p, errstr,
                          sizeof(errstr)) != EB_OK)
        return eb_work_fail(w, EB_ERR_BAD_EVENT, "invalid %s data: %s", ev->type, errstr);

    err = order_store_set_status(eb_work_redis(w), p.order_id, status);
    switch (err) {
    case EB_OK:
        return EB_OK;
    case EB_ERR_NOT_FOUND:
        return eb_work_fail(w, EB_ERR_NOT_FOUND, "order %s does not exist", p.order_id);
    case EB_ERR_CONFLICT:
        return eb_work_fail(w, EB_ERR_CONFLICT, "order %s already has another final status",
                            p.order_id);
    default:
        return eb_work_fail(w, EB_ERR_REDIS, "updating order %s: redis unavailable", p.order_id);
    }
}

static void *status_main(void *arg)
{
    order_status_t *s = arg;

    if (eb_consumer_run(s->consumer, &eb_stop_flag) != EB_OK) {
        EB_ERROR("status updater stopped on a fatal error; shutting down");
        atomic_store(&s->failed, 1);
        eb_lifecycle_request_stop();
    }
    return NULL;
}

order_status_t *order_status_new(rd_kafka_conf_t *cconf, rd_kafka_conf_t *pconf,
                                 const eb_consumer_opts_t *opts, char *errstr, size_t errstr_size)
{
    order_status_t *s = calloc(1, sizeof(*s));

    if (!s) {
        rd_kafka_conf_destroy(cconf);
        rd_kafka_conf_destroy(pconf);
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    s->consumer = eb_consumer_new(cconf, pconf, opts, errstr, errstr_size);
    if (!s->consumer) {
        free(s);
        return NULL;
    }
    return s;
}

int order_status_start(order_status_t *s)
{
    if (pthread_create(&s->thread, NULL, status_main, s) != 0)
        return -1;
    s->started = 1;
    return 0;
}

int order_status_failed(order_status_t *s)
{
    return s && atomic_load(&s->failed);
}

eb_consumer_t *order_status_consumer(order_status_t *s)
{
    return s->consumer;
}

void order_status_destroy(order_status_t *s)
{
    if (!s)
        return;
    if (s->started)
        pthread_join(s->thread, NULL);
    eb_consumer_destroy(s->consumer);
    free(s);
}
