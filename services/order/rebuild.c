/*
 * order-service --rebuild: the order read model rebuilt from the topics.
 *
 * Two passes over what Kafka retains, each topic from its beginning to its
 * end when the pass starts: first order-created (every order, PENDING, with
 * the fields of its OrderCreated), then the six topics whose events move a
 * status, applied with the same status machine and the same script as the
 * live updater (order_store_apply). Reading the orders first means no
 * status event meets an order not yet there; the status machine makes the
 * result independent of how the other topics interleave (lifecycle.h).
 * Done-marks and the idempotency records are neither read nor written: a
 * repeated event changes nothing by construction.
 *
 * Into a fresh database only: the rebuild refuses a REDIS_URL database that
 * holds any key, so that it never mixes with a live model.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eventbus/app/cli.h"
#include "eventbus/eventbus.h"
#include "lifecycle.h"
#include "rebuild.h"
#include "status.h"
#include "store.h"

#define FLUSH_EVERY 500

typedef struct rebuild_s {
    eb_redis_t *redis;
    eb_redis_pipeline_t *pipe;
    size_t queued;
    size_t orders, events, skipped;
    int failed; /* Redis failed: stop */
    svc_order_t *order;
    int64_t retention_s; /* ORDER_RETENTION_S: a terminal order expires after it */
} rebuild_t;

static void flush(rebuild_t *b)
{
    if (!b->queued)
        return;
    if (eb_redis_pipeline_exec(b->pipe) != EB_OK)
        b->failed = 1;
    for (size_t i = 0; !b->failed && i < b->queued; i++) {
        eb_redis_result_t res = eb_redis_pipeline_result(b->pipe, i);

        if (res.kind == EB_REDIS_ERROR || res.kind == EB_REDIS_NOREPLY) {
            EB_ERROR("rebuild: redis: %s", res.str);
            b->failed = 1;
        }
    }
    eb_redis_pipeline_clear(b->pipe);
    b->queued = 0;
}

static int decode(rebuild_t *b, const rd_kafka_message_t *m, eb_event_t *ev)
{
    char errstr[256];

    /* What the live consumer dead-letters, the rebuild skips: the same
     * decode, content-type header first. */
    if (eb_kafka_event_decode(m, ev, errstr, sizeof(errstr)) == EB_OK) {
        /* Every version the live consumer reads, upcast the same way. */
        if (eb_schemas_upcast(svc_schemas(), ev, errstr, sizeof(errstr)) == EB_OK)
            return 1;
        eb_event_close(ev);
    }
    b->skipped++;
    EB_WARN("rebuild: %s[%d]@%lld skipped: %s", rd_kafka_topic_name(m->rkt), (int)m->partition,
            (long long)m->offset, errstr);
    return 0;
}

/* Pass 1: an OrderCreated becomes the order, as POST /orders stored it. */
static void on_created(void *arg, const rd_kafka_message_t *m)
{
    rebuild_t *b = arg;
    svc_verr_t verr;
    eb_event_t ev;
    char key[160], total[EB_MONEY_TEXT_MAX];
    char *items = NULL;
    cJSON *arr;

    if (b->failed || !decode(b, m, &ev))
        return;
    if (strcmp(ev.type, TYPE_ORDER_CREATED) != 0 ||
        svc_order_parse(ev.data, SVC_ORDER_EVENT, b->order, &verr) != EB_OK) {
        b->skipped++;
        eb_event_close(&ev);
        return;
    }
    arr = svc_items_json(b->order);
    items = arr ? cJSON_PrintUnformatted(arr) : NULL;
    cJSON_Delete(arr);
    if (!items) {
        b->failed = 1;
        eb_event_close(&ev);
        return;
    }
    eb_money_format(b->order->total, total, sizeof(total));
    snprintf(key, sizeof(key), "order:%s", b->order->order_id);
    /* A republished OrderCreated (the relay after a crash) is the same
     * bytes: writing it again changes nothing. */
    const char *argv[] = {"HSET",          key,
                          "userId",        b->order->user_id,
                          "currency",      b->order->currency,
                          "total",         total,
                          "items",         items,
                          "createdAt",     ev.time,
                          "updatedAt",     ev.time,
                          "status",        ORDER_STATUS_PENDING,
                          "correlationId", ev.correlationid[0] ? ev.correlationid : ev.id};

    eb_redis_pipeline_append_argv(b->pipe, sizeof(argv) / sizeof(argv[0]), argv, NULL);
    cJSON_free(items);
    b->queued++;
    b->orders++;
    b->events++;
    eb_event_close(&ev);
    if (b->queued >= FLUSH_EVERY)
        flush(b);
}

/* Pass 2: an event that moves a status, through the live status machine. */
static void on_status(void *arg, const rd_kafka_message_t *m)
{
    rebuild_t *b = arg;
    char order_id[SVC_ID_MAX + 1], errstr[256];
    eb_event_t ev;
    int e;

    if (b->failed || !decode(b, m, &ev))
        return;
    e = order_event_of_type(ev.type);
    if (e < 0 ||
        order_event_order_id(&ev, (order_event_t)e, order_id, errstr, sizeof(errstr)) != EB_OK) {
        b->skipped++;
        eb_event_close(&ev);
        return;
    }
    eb_event_close(&ev);
    switch (order_store_apply(b->redis, order_id, (order_event_t)e, b->retention_s)) {
    case EB_OK:
        b->events++;
        break;
    case EB_ERR_NOT_FOUND: /* its OrderCreated is no longer retained */
        b->skipped++;
        break;
    default:
        b->failed = 1;
        break;
    }
}

int order_rebuild(const eb_common_conf_t *common, const eb_redis_addr_t *raddr,
                  rd_kafka_conf_t *cconf, int64_t retention_s)
{
    static const char *const status_topics[] = {
        TOPIC_PAYMENT_PROCESSED,      TOPIC_PAYMENT_FAILED,  TOPIC_INVENTORY_RESERVED,
        TOPIC_INVENTORY_INSUFFICIENT, TOPIC_ORDER_CANCELLED, TOPIC_ORDER_COMPLETED,
    };
    rebuild_t b = {0};
    rd_kafka_t *rk = NULL;
    eb_redis_result_t res;
    char errstr[512];
    int rc = APP_EXIT_FAIL;

    (void)common;
    b.retention_s = retention_s;
    b.order = malloc(sizeof(*b.order));
    b.redis = eb_redis_new(raddr);
    b.pipe = b.redis ? eb_redis_pipeline_new(b.redis) : NULL;
    if (!b.order || !b.pipe) {
        EB_ERROR("rebuild: out of memory");
        rd_kafka_conf_destroy(cconf);
        goto out;
    }
    eb_redis_pipeline_append(b.pipe, "DBSIZE");
    eb_redis_pipeline_exec(b.pipe);
    res = eb_redis_pipeline_result(b.pipe, 0);
    if (res.kind != EB_REDIS_INTEGER) {
        EB_ERROR("rebuild: redis: %s", res.str);
        rd_kafka_conf_destroy(cconf);
        goto out;
    }
    if (res.integer != 0) {
        EB_ERROR("rebuild: the Redis database of REDIS_URL holds %lld keys; rebuild into a fresh "
                 "(empty) one",
                 res.integer);
        rd_kafka_conf_destroy(cconf);
        goto out;
    }
    eb_redis_pipeline_clear(b.pipe);

    /* A partition whose last offsets hold no record (a transaction's
     * marker, compaction) ends at its EOF, not after eb_kafka_scan's wait. */
    if (rd_kafka_conf_set(cconf, "enable.partition.eof", "true", errstr, sizeof(errstr)) !=
        RD_KAFKA_CONF_OK) {
        EB_ERROR("rebuild: %s", errstr);
        rd_kafka_conf_destroy(cconf);
        goto out;
    }
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, cconf, errstr, sizeof(errstr));
    if (!rk) {
        EB_ERROR("rebuild: kafka: %s", errstr);
        rd_kafka_conf_destroy(cconf);
        goto out;
    }
    if (eb_kafka_scan(rk, TOPIC_ORDER_CREATED, on_created, &b, &eb_stop_flag, errstr,
                      sizeof(errstr)) != EB_OK) {
        EB_ERROR("rebuild: %s", errstr);
        goto out;
    }
    flush(&b);
    for (size_t i = 0; !b.failed && i < sizeof(status_topics) / sizeof(status_topics[0]); i++)
        if (eb_kafka_scan(rk, status_topics[i], on_status, &b, &eb_stop_flag, errstr,
                          sizeof(errstr)) != EB_OK) {
            EB_ERROR("rebuild: %s", errstr);
            goto out;
        }
    if (b.failed) {
        EB_ERROR("rebuild: Redis failed; the database is incomplete: flush it and run again");
        goto out;
    }
    EB_INFO("rebuild: %zu orders from %zu events, %zu records skipped", b.orders, b.events,
            b.skipped);
    printf("rebuilt %zu orders from %zu events (%zu records skipped)\n", b.orders, b.events,
           b.skipped);
    fflush(stdout);
    rc = APP_EXIT_OK;
out:
    if (rk) {
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
    }
    eb_redis_pipeline_destroy(b.pipe);
    eb_redis_destroy(b.redis);
    free(b.order);
    return rc;
}
