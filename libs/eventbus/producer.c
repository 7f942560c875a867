/*
 * The idempotent producer.
 *
 * A thin layer over rd_kafka_producev(): it forces the settings the suite's
 * guarantees rest on (enable.idempotence=true, acks=all), turns delivery
 * reports into eb_delivery_cb_t calls carrying the caller's pointer, and
 * counts events_published_total{topic}.
 */
#include <stdlib.h>
#include <string.h>

#include "eb_int.h"
#include "eventbus/envelope.h"
#include "eventbus/kafka.h"
#include "eventbus/log.h"
#include "eventbus/metrics.h"
#include "eventbus/producer.h"

struct eb_producer_s {
    rd_kafka_t *rk;
    eb_delivery_cb_t *cb;
    void *opaque;
    eb_metric_t *published; /* events_published_total{topic} */
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    eb_producer_t *p = opaque;

    (void)rk;
    if (!m->err)
        eb_series_add(eb_metric_series(p->published, rd_kafka_topic_name(m->rkt)), 1);
    if (p->cb)
        p->cb(m->_private, m->err ? EB_ERR_KAFKA : EB_OK, m->err ? rd_kafka_err2str(m->err) : NULL,
              p->opaque);
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)opaque;
    if (rd_kafka_fatal_error(rk, NULL, 0))
        EB_ERROR("kafka producer fatal error: %s", reason);
    else
        EB_WARN("kafka producer: %s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

eb_producer_t *eb_producer_new(rd_kafka_conf_t *conf, eb_delivery_cb_t *cb, void *opaque,
                               char *errstr, size_t errstr_size)
{
    eb_producer_t *p = calloc(1, sizeof(*p));

    if (!p) {
        rd_kafka_conf_destroy(conf);
        eb__seterr(errstr, errstr_size, EB_ERR_NOMEM, "out of memory");
        return NULL;
    }
    /* The guarantees rest on these: no reordering or duplicates from
     * producer retries, and an acknowledgement means every in-sync replica
     * has the record. They override whatever the user configured. */
    if (eb_kafka_conf_set(conf, "enable.idempotence", "true", errstr, errstr_size) != EB_OK ||
        eb_kafka_conf_set(conf, "acks", "all", errstr, errstr_size) != EB_OK) {
        rd_kafka_conf_destroy(conf);
        free(p);
        return NULL;
    }
    p->cb = cb;
    p->opaque = opaque;
    p->published = eb_metrics_counter("events_published_total",
                                      "Events acknowledged by the broker, by topic", "topic");
    rd_kafka_conf_set_opaque(conf, p);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_error_cb(conf, on_error);
    p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, errstr_size);
    if (!p->rk) {
        rd_kafka_conf_destroy(conf);
        free(p);
        return NULL;
    }
    return p;
}

/* Queues rec; *full is set when librdkafka's local queue had no room. */
static eb_err_t produce_one(eb_producer_t *p, const eb_record_t *rec, void *msg_opaque, int *full,
                            char *errstr, size_t errstr_size)
{
    rd_kafka_headers_t *h = NULL;
    rd_kafka_resp_err_t err;

    if (rec->copy_headers || rec->header_count) {
        h = rec->copy_headers ? rd_kafka_headers_copy(rec->copy_headers)
                              : rd_kafka_headers_new(rec->header_count);
        for (size_t i = 0; i < rec->header_count; i++)
            rd_kafka_header_add(h, rec->headers[i].name, -1, rec->headers[i].value,
                                (ssize_t)rec->headers[i].size);
    }
    err =
        rd_kafka_producev(p->rk, RD_KAFKA_V_TOPIC(rec->topic), RD_KAFKA_V_PARTITION(rec->partition),
                          RD_KAFKA_V_KEY((void *)rec->key, rec->key_len),
                          RD_KAFKA_V_VALUE((void *)rec->value, rec->value_len),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(h),
                          RD_KAFKA_V_OPAQUE(msg_opaque), RD_KAFKA_V_END);
    if (!err)
        return EB_OK; /* librdkafka owns h now */
    if (h)
        rd_kafka_headers_destroy(h);
    *full = err == RD_KAFKA_RESP_ERR__QUEUE_FULL;
    if (*full)
        return eb__seterr(errstr, errstr_size, EB_ERR_KAFKA, "local produce queue full");
    if (err == RD_KAFKA_RESP_ERR__FATAL)
        return eb__seterr(errstr, errstr_size, EB_ERR_KAFKA, "producer fatal error");
    return eb__seterr(errstr, errstr_size, EB_ERR_INVALID, "%s: %s", rec->topic,
                      rd_kafka_err2str(err));
}

eb_err_t eb_producer_send(eb_producer_t *p, const eb_record_t *rec, void *msg_opaque, char *errstr,
                          size_t errstr_size)
{
    int full;

    return produce_one(p, rec, msg_opaque, &full, errstr, errstr_size);
}

eb_err_t eb_producer_send_wait(eb_producer_t *p, const eb_record_t *rec, void *msg_opaque,
                               int timeout_ms, char *errstr, size_t errstr_size)
{
    int64_t deadline = eb_time_mono_ms() + timeout_ms;
    int full;
    eb_err_t err;

    while ((err = produce_one(p, rec, msg_opaque, &full, errstr, errstr_size)) != EB_OK && full &&
           eb_time_mono_ms() < deadline)
        rd_kafka_poll(p->rk, 10); /* delivery reports make room */
    return err;
}

int eb_producer_poll(eb_producer_t *p, int timeout_ms)
{
    return rd_kafka_poll(p->rk, timeout_ms);
}

eb_err_t eb_producer_flush(eb_producer_t *p, int timeout_ms)
{
    return rd_kafka_flush(p->rk, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR ? EB_OK : EB_ERR_KAFKA;
}

int eb_producer_fatal(eb_producer_t *p)
{
    return rd_kafka_fatal_error(p->rk, NULL, 0) != RD_KAFKA_RESP_ERR_NO_ERROR;
}

rd_kafka_t *eb_producer_handle(eb_producer_t *p)
{
    return p->rk;
}

void eb_producer_destroy(eb_producer_t *p, int timeout_ms)
{
    if (!p)
        return;
    if (rd_kafka_flush(p->rk, timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        EB_WARN("producer closing with %d records undelivered", rd_kafka_outq_len(p->rk));
        /* Report what is left as failed, so owners can release what they
         * attached to each record. */
        rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_flush(p->rk, 1000);
    }
    rd_kafka_destroy(p->rk);
    free(p);
}

size_t eb__event_headers(eb_header_t *hs, const char *traceparent, const char *tracestate)
{
    size_t n = 0;

    hs[n++] = (eb_header_t){EB_CE_CONTENT_TYPE_HEADER, EB_CE_CONTENT_TYPE,
                            sizeof(EB_CE_CONTENT_TYPE) - 1};
    if (traceparent && *traceparent) {
        hs[n++] = (eb_header_t){"traceparent", traceparent, strlen(traceparent)};
        if (tracestate && *tracestate)
            hs[n++] = (eb_header_t){"tracestate", tracestate, strlen(tracestate)};
    }
    return n;
}
