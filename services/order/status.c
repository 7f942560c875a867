/*
 * Order status from payment and inventory events (lifecycle.h).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/domain.h"
#include "eventbus/lifecycle.h"
#include "eventbus/log.h"
#include "lifecycle.h"
#include "order.h"
#include "status.h"
#include "store.h"

struct order_status_s {
    eb_consumer_t *consumer;
    pthread_t thread;
    int started;
    atomic_int failed;
};

eb_err_t order_event_order_id(const eb_event_t *ev, order_event_t e, char *order_id, char *errstr,
                              size_t errstr_size)
{
    union {
        svc_payment_t pay;
        svc_stock_t stock;
        svc_order_change_t change;
    } *u = malloc(sizeof(*u));
    const char *id = NULL;
    eb_err_t err = EB_ERR_INVALID;

    if (!u) {
        snprintf(errstr, errstr_size, "out of memory");
        return EB_ERR_NOMEM;
    }
    switch (e) {
    case ORDER_EV_PAYMENT_PROCESSED:
    case ORDER_EV_PAYMENT_FAILED:
        err =
            svc_payment_parse(ev->data, e == ORDER_EV_PAYMENT_FAILED, &u->pay, errstr, errstr_size);
        id = u->pay.order_id;
        break;
    case ORDER_EV_INVENTORY_RESERVED:
    case ORDER_EV_INVENTORY_INSUFFICIENT:
        err = svc_stock_parse(ev->data, e == ORDER_EV_INVENTORY_INSUFFICIENT, &u->stock, errstr,
                              errstr_size);
        id = u->stock.order_id;
        break;
    case ORDER_EV_CANCELLED:
    case ORDER_EV_COMPLETED:
        err = svc_order_change_parse(ev->data, e == ORDER_EV_CANCELLED, &u->change, errstr,
                                     errstr_size);
        id = u->change.order_id;
        break;
    default:
        snprintf(errstr, errstr_size, "no status for this event");
        break;
    }
    if (err == EB_OK)
        snprintf(order_id, SVC_ID_MAX + 1, "%s", id);
    free(u);
    return err;
}

eb_err_t order_status_handle(eb_work_t *w, void *opaque)
{
    const eb_event_t *ev = eb_work_event(w);
    const int64_t retention_s = opaque ? *(const int64_t *)opaque : 0;
    int e = order_event_of_type(ev->type);
    char order_id[SVC_ID_MAX + 1], errstr[256];
    int64_t ev_ms;
    eb_err_t err;

    if (e < 0)
        return eb_work_fail(w, EB_ERR_BAD_EVENT, "no status for event type %s", ev->type);
    err = order_event_order_id(ev, (order_event_t)e, order_id, errstr, sizeof(errstr));
    if (err == EB_ERR_NOMEM)
        return eb_work_fail(w, EB_ERR_NOMEM, "out of memory");
    if (err != EB_OK)
        return eb_work_fail(w, EB_ERR_BAD_EVENT, "invalid %s data: %s", ev->type, errstr);
    if (ev->subject[0] && strcmp(ev->subject, order_id) != 0)
        return eb_work_fail(w, EB_ERR_BAD_EVENT, "subject %s does not match orderId %s",
                            ev->subject, order_id);

    err = order_store_apply(eb_work_redis(w), order_id, (order_event_t)e, retention_s);
    switch (err) {
    case EB_OK:
        return EB_OK;
    case EB_ERR_NOT_FOUND:
        /* Late for an order whose record is past its retention: settled,
         * nothing written (the record is not recreated half). */
        if (eb_time_parse(ev->time, &ev_ms) == 0 &&
            order_missing_expired(eb_time_now_ms(), ev_ms, retention_s)) {
            EB_INFO("%s %s for order %s ignored: no record, and the event is older than "
                    "ORDER_RETENTION_S (%llds): the order expired",
                    ev->type, ev->id, order_id, (long long)retention_s);
            return EB_OK;
        }
        return eb_work_fail(w, EB_ERR_NOT_FOUND, "order %s does not exist", order_id);
    default:
        return eb_work_fail(w, EB_ERR_REDIS, "updating order %s: redis unavailable", order_id);
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
