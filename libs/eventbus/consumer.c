/*
 * The group consumer: the loop and the steps of a turn.
 *
 * One thread turns a loop (eb_consumer_run); each turn takes a batch of
 * records ("works") and moves them through the steps of consumer.h. What a
 * step finds is written into each work's outcome (turn.h): OK, DUPLICATE,
 * POISON, RETRY, WAIT, HELD; the decisions about those outcomes (what to
 * dead-letter, which offsets to store, where to rewind, how long to pause,
 * what each partition remembers) are made by eb__turn_decide(), a pure
 * function with its own exhaustive tests. This file does the I/O around
 * it: librdkafka, Redis, the producer, the handler calls.
 *
 * Per partition, the unit of blocking is an offset: the first record that
 * is not settled holds back the records behind it (a per-event handler is
 * not run on them; they are seeked back to and come again), never the ones
 * before it, which are dead-lettered or stored in this very turn. Other
 * partitions keep flowing.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eb_int.h"
#include "eventbus/backoff.h"
#include "eventbus/consumer.h"
#include "eventbus/dlq.h"
#include "eventbus/kafka.h"
#include "eventbus/log.h"
#include "eventbus/metrics.h"
#include "group.h"
#include "redis_int.h"
#include "turn.h"
#include "work_int.h"

#define DEFAULT_BATCH           500
#define DEFAULT_LEASE_MS        15000
#define DEFAULT_DONE_TTL_S      (7 * 24 * 3600)
#define DEFAULT_PUBLISH_TIMEOUT 30000
#define DEFAULT_BACKOFF_CAP     10000
#define DEFAULT_STATS_MS        5000
#define INFRA_BACKOFF_MIN_MS    250
#define INFRA_BACKOFF_MAX_MS    5000

struct eb_consumer_s {
    eb_group_t g; /* membership and partition state (group.c) */
    eb_batch_t b; /* this turn's records (work.c) */
    eb_consumer_opts_t o;
    char token[256]; /* claim token: unique to this process */

    /* Scratch for the decisions, sized for b.cap works and tpcap partitions. */
    eb_turn_work_t *tw;
    eb_turn_action_t *act;
    eb_turn_part_t *tpart;
    eb_turn_mem_t *tmem;
    int *tflag;
    size_t tpcap;

    eb_backoff_t infra;        /* the wait for Redis or Kafka, while they are away */
    int64_t claims_renewed_ms; /* monotonic; this turn's claims were taken or renewed */

    _Atomic int64_t last_loop_ms;

    /* Exactly-once mode (consumer.h): the producer is transactional, a
     * transaction spans each turn. */
    rd_kafka_t *txn; /* the producer's handle in that mode, else NULL */
    int txn_open;    /* a transaction was begun this turn */
    int arena_kept;  /* said once that trees outlived their turn */

    eb_metric_t *m_consumed, *m_duration;
};

/* ---- works ---------------------------------------------------------------- */

static void work_release(eb_work_t *w)
{
    if (w->decoded)
        eb_event_close(&w->ev);
    if (w->msg)
        rd_kafka_message_destroy(w->msg);
    memset(w, 0, sizeof(*w));
}

static void works_clear(eb_consumer_t *c)
{
    for (size_t i = 0; i < c->b.nworks; i++)
        work_release(&c->b.works[i]);
    c->b.nworks = 0;
}

/* Partitions are taken away (eb_group_revoked_cb_t): their works of the
 * turn being collected go, unsettled; the next owner gets them. */
static void drop_works(const rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    eb_consumer_t *c = opaque;
    size_t o = 0;

    for (size_t k = 0; k < c->b.nworks; k++) {
        eb_work_t *w = &c->b.works[k];

        if (rd_kafka_topic_partition_list_find(parts, w->topic, w->msg->partition))
            work_release(w);
        else
            c->b.works[o++] = *w;
    }
    c->b.nworks = o;
}

static void set_reason(eb_work_t *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_reason(eb_work_t *w, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(w->reason, sizeof(w->reason), fmt, ap);
    va_end(ap);
}

/* The work waits (infrastructure, a claim held elsewhere): not an attempt. */
static void wait_for(eb_work_t *w, const char *reason)
{
    w->outcome = EB_TURN_WAIT;
    w->ready = 0;
    set_reason(w, "%s", reason);
}

static int type_known(const eb_consumer_t *c, const char *type)
{
    for (size_t i = 0; i < c->o.event_type_count; i++)
        if (strcmp(c->o.event_types[i], type) == 0)
            return 1;
    return 0;
}

/* ---- construction ----------------------------------------------------------- */

/* Sets statistics.interval.ms unless the configuration already did:
 * consumer_lag comes from the statistics, and must be there by default. */
static eb_err_t stats_default(rd_kafka_conf_t *conf, int interval_ms, char *errstr,
                              size_t errstr_size)
{
    char val[32];
    size_t len = sizeof(val);

    if (interval_ms < 0)
        return EB_OK;
    if (rd_kafka_conf_get(conf, "statistics.interval.ms", val, &len) == RD_KAFKA_CONF_OK &&
        strcmp(val, "0") != 0)
        return EB_OK;
    snprintf(val, sizeof(val), "%d", interval_ms ? interval_ms : DEFAULT_STATS_MS);
    return eb_kafka_conf_set(conf, "statistics.interval.ms", val, errstr, errstr_size);
}

eb_consumer_t *eb_consumer_new(rd_kafka_conf_t *cconf, rd_kafka_conf_t *pconf,
                               const eb_consumer_opts_t *opts, char *errstr, size_t errstr_size)
{
    eb_consumer_t *c = calloc(1, sizeof(*c));
    rd_kafka_topic_partition_list_t *topics = NULL;
    rd_kafka_resp_err_t err;
    char nonce[EB_UUID_LEN + 1];

    if (!c) {
        eb__seterr(errstr, errstr_size, EB_ERR_NOMEM, "out of memory");
        goto fail;
    }
    /* cJSON's hooks for the decode arena, set while the daemon has no
     * other thread that could be using cJSON. */
    eb__json_arena_install();
    eb__group_init(&c->g, opts->group_id, drop_works, c);
    c->o = *opts;
    if (!c->o.batch_size)
        c->o.batch_size = DEFAULT_BATCH;
    if (!c->o.claim_lease_ms)
        c->o.claim_lease_ms = DEFAULT_LEASE_MS;
    if (!c->o.done_ttl_s)
        c->o.done_ttl_s = DEFAULT_DONE_TTL_S;
    if (!c->o.publish_timeout_ms)
        c->o.publish_timeout_ms = DEFAULT_PUBLISH_TIMEOUT;
    if (!c->o.retry_backoff_max_ms)
        c->o.retry_backoff_max_ms = DEFAULT_BACKOFF_CAP;
    if (!opts->redis || !opts->handler == !opts->batch_handler || !opts->group_id ||
        !opts->topic_count) {
        eb__seterr(
            errstr, errstr_size, EB_ERR_INVALID,
            "consumer needs a group, topics, one handler (per event or per batch) and Redis");
        goto fail;
    }
    eb_uuid_generate(nonce);
    snprintf(c->token, sizeof(c->token), "claim:%s:%.8s",
             opts->instance_id ? opts->instance_id : "", nonce);
    eb_backoff_init(&c->infra, INFRA_BACKOFF_MIN_MS, INFRA_BACKOFF_MAX_MS, 0);
    atomic_init(&c->last_loop_ms, eb_time_mono_ms());
    c->m_consumed = eb_metrics_counter("events_consumed_total",
                                       "Consumed events by outcome (ok, retry, dlq, duplicate)",
                                       "topic,result");
    c->m_duration =
        eb_metrics_histogram("event_processing_duration_seconds", "Time a handler took per event",
                             "topic", eb_metrics_latency_buckets, eb_metrics_latency_bucket_count);

    c->b.redis = eb_redis_new(opts->redis);
    if (opts->exactly_once) {
        char tid[512];

        snprintf(tid, sizeof(tid), "%s-%s", opts->group_id,
                 opts->instance_id ? opts->instance_id : "");
        /* Offsets go with the transaction, never on their own. */
        if (eb_kafka_conf_set(pconf, "transactional.id", tid, errstr, errstr_size) ||
            eb_kafka_conf_set(cconf, "enable.auto.commit", "false", errstr, errstr_size) ||
            eb_kafka_conf_set(cconf, "isolation.level", "read_committed", errstr, errstr_size))
            goto fail;
    }
    c->b.producer = eb_producer_new(pconf, eb__work_delivered, &c->b, errstr, errstr_size);
    pconf = NULL;
    if (!c->b.redis || !c->b.producer)
        goto fail;
    if (opts->exactly_once)
        c->txn = eb_producer_handle(c->b.producer);

    /* Settings the at-least-once contract rests on. */
    if (eb_kafka_conf_set(cconf, "group.id", opts->group_id, errstr, errstr_size) ||
        eb_kafka_conf_set(cconf, "enable.auto.offset.store", "false", errstr, errstr_size) ||
        stats_default(cconf, opts->stats_interval_ms, errstr, errstr_size))
        goto fail;
    eb__group_conf(&c->g, cconf);
    c->g.rk = rd_kafka_new(RD_KAFKA_CONSUMER, cconf, errstr, errstr_size);
    if (!c->g.rk)
        goto fail;
    cconf = NULL;
    rd_kafka_poll_set_consumer(c->g.rk);

    topics = rd_kafka_topic_partition_list_new((int)opts->topic_count);
    for (size_t i = 0; i < opts->topic_count; i++)
        rd_kafka_topic_partition_list_add(topics, opts->topics[i], RD_KAFKA_PARTITION_UA);
    err = rd_kafka_subscribe(c->g.rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (err) {
        eb__seterr(errstr, errstr_size, EB_ERR_KAFKA, "subscribe: %s", rd_kafka_err2str(err));
        goto fail;
    }
    c->b.cap = (size_t)c->o.batch_size;
    c->b.publish_timeout_ms = c->o.publish_timeout_ms;
    c->b.works = calloc(c->b.cap, sizeof(*c->b.works));
    c->tw = calloc(c->b.cap, sizeof(*c->tw));
    c->act = calloc(c->b.cap, sizeof(*c->act));
    if (!c->b.works || !c->tw || !c->act) {
        eb__seterr(errstr, errstr_size, EB_ERR_NOMEM, "out of memory");
        goto fail;
    }
    return c;

fail:
    if (cconf)
        rd_kafka_conf_destroy(cconf);
    if (pconf)
        rd_kafka_conf_destroy(pconf);
    eb_consumer_destroy(c);
    return NULL;
}

void eb_consumer_destroy(eb_consumer_t *c)
{
    if (!c)
        return;
    works_clear(c);
    /* eb_consumer_run() closed the consumer, or gave up after
     * EB_CLOSE_LEAVE_MS: never let rd_kafka_destroy() try again, unbounded. */
    if (c->g.rk)
        rd_kafka_destroy_flags(c->g.rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    eb_producer_destroy(c->b.producer, EB_CLOSE_FLUSH_MS);
    eb_redis_destroy(c->b.redis);
    free(c->b.works);
    eb__group_free(&c->g);
    free(c->tw);
    free(c->act);
    free(c->tpart);
    free(c->tmem);
    free(c->tflag);
    free(c);
}

void eb_consumer_status(const eb_consumer_t *c, eb_consumer_status_t *st)
{
    eb_consumer_t *m = (eb_consumer_t *)c;

    st->joined = atomic_load(&m->g.joined);
    st->assigned = atomic_load(&m->g.assigned);
    st->last_loop_ms = atomic_load(&m->last_loop_ms);
}

rd_kafka_t *eb_consumer_handle(eb_consumer_t *c)
{
    return c->g.rk;
}

/* ---- step 1: collect -------------------------------------------------------- */

/* Takes up to batch_size messages off the queue. Returns the number taken. */
static size_t collect(eb_consumer_t *c)
{
    int timeout = eb__group_poll_timeout(&c->g);

    c->b.turn++;
    c->b.pending_total = 0;
    while (c->b.nworks < c->b.cap) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c->g.rk, timeout);

        timeout = 0;
        if (!m)
            break;
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                EB_WARN("consume: %s", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        eb_work_t *w = &c->b.works[c->b.nworks++];
        memset(w, 0, sizeof(*w));
        w->b = &c->b;
        w->msg = m;
        w->topic = rd_kafka_topic_name(m->rkt);
        w->outcome = EB_TURN_WAIT;
    }
    return c->b.nworks;
}

/* Ties every work to its partition's state and sizes the decisions'
 * scratch. No rebalance callback runs from here to the end of the turn (they
 * are served by rd_kafka_consumer_poll() only), so the indices hold. */
static eb_err_t index_parts(eb_consumer_t *c)
{
    for (size_t i = 0; i < c->b.nworks; i++) {
        long pi = eb__group_part(&c->g, c->b.works[i].topic, c->b.works[i].msg->partition, 1);

        if (pi < 0)
            return EB_ERR_NOMEM;
        c->b.works[i].part = (size_t)pi;
    }
    if (c->tpcap < c->g.pcap) {
        eb_turn_part_t *tp = realloc(c->tpart, c->g.pcap * sizeof(*tp));
        eb_turn_mem_t *tm = tp ? realloc(c->tmem, c->g.pcap * sizeof(*tm)) : NULL;
        int *tf = tm ? realloc(c->tflag, c->g.pcap * sizeof(*tf)) : NULL;

        if (tp)
            c->tpart = tp;
        if (tm)
            c->tmem = tm;
        if (tf)
            c->tflag = tf;
        if (!tp || !tm || !tf)
            return EB_ERR_NOMEM;
        c->tpcap = c->g.pcap;
    }
    return EB_OK;
}

/* ---- step 2: decode ------------------------------------------------------------ */

static void decode(eb_consumer_t *c, eb_work_t *w)
{
    rd_kafka_headers_t *h = NULL;
    const void *tp = NULL, *ts = NULL;
    size_t tplen = 0, tslen = 0;

    if (rd_kafka_message_headers(w->msg, &h) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (rd_kafka_header_get_last(h, "traceparent", &tp, &tplen) != RD_KAFKA_RESP_ERR_NO_ERROR)
            tp = NULL;
        if (rd_kafka_header_get_last(h, "tracestate", &ts, &tslen) != RD_KAFKA_RESP_ERR_NO_ERROR)
            ts = NULL;
    }
    /* This hop's span: a child of the producer's, or a new trace. */
    eb_trace_start(&w->trace, tp, tplen, ts, tslen);
    w->attempt = 1; /* seen once, found unreadable */
    if (eb_kafka_event_decode(w->msg, &w->ev, w->reason, sizeof(w->reason)) != EB_OK) {
        w->outcome = EB_TURN_POISON;
        return;
    }
    w->decoded = 1;
    if (!type_known(c, w->ev.type)) {
        set_reason(w, "unknown event type '%s' on %s", w->ev.type, w->topic);
        w->outcome = EB_TURN_POISON;
    } else if (c->o.schemas &&
               eb_schemas_upcast(c->o.schemas, &w->ev, w->reason, sizeof(w->reason)) != EB_OK) {
        w->outcome = EB_TURN_POISON;
    }
}

/* ---- step 3: claim -------------------------------------------------------------- */

/* Another work earlier in this batch holds the claim on the same event id. */
static int claimed_earlier(const eb_consumer_t *c, const eb_work_t *w)
{
    for (const eb_work_t *o = c->b.works; o < w; o++)
        if (o->claimed && strcmp(o->ev.id, w->ev.id) == 0)
            return 1;
    return 0;
}

/* Claims every decoded event id in one pipeline, written to Redis in
 * pieces of CLAIM_FLUSH as the batch decodes, so that Redis takes the
 * claims while the rest decodes; the replies are read once all are
 * decoded. */
#define CLAIM_FLUSH 256

typedef struct claims_s {
    eb_redis_pipeline_t *p;
    eb_work_t **who; /* the claimed works, in pipeline order */
    size_t n;
} claims_t;

static void decode_and_claim(eb_consumer_t *c, claims_t *cl)
{
    cl->p = eb_redis_pipeline_new(c->b.redis);
    cl->who = malloc(c->b.nworks * sizeof(*cl->who));
    cl->n = 0;
    /* The turn's trees come from this thread's arena; works_clear()
     * deletes them all on this thread. */
    eb__json_arena_enter();
    for (size_t i = 0; i < c->b.nworks; i++) {
        eb_work_t *w = &c->b.works[i];

        decode(c, w);
        if (!cl->p || !cl->who || !w->decoded || w->outcome != EB_TURN_WAIT)
            continue;
        eb__idempotency_claim_append(cl->p, c->o.group_id, c->token, w->ev.id, c->o.claim_lease_ms);
        cl->who[cl->n++] = w;
        if (cl->n % CLAIM_FLUSH == 0)
            (void)eb_redis_pipeline_flush(cl->p); /* a failure shows at exec */
    }
    eb__json_arena_leave();
}

static void claim(eb_consumer_t *c, claims_t *cl)
{
    eb_err_t err = EB_OK;

    if (!cl->p || !cl->who) {
        for (size_t i = 0; i < c->b.nworks; i++)
            if (c->b.works[i].decoded && c->b.works[i].outcome == EB_TURN_WAIT)
                wait_for(&c->b.works[i], "out of memory");
        goto out;
    }
    if (cl->n == 0)
        goto out;
    err = eb_redis_pipeline_exec(cl->p);
    for (size_t i = 0; err == EB_OK && i < cl->n; i++) {
        eb_claim_t res;

        if (eb__idempotency_claim_read(cl->p, i, c->token, &res) != EB_OK) {
            err = EB_ERR_REDIS;
            break;
        }
        eb_work_t *w = cl->who[i];

        switch (res) {
        case EB_CLAIM_NEW:
            w->claimed = w->ready = 1;
            break;
        case EB_CLAIM_OURS:
            if (claimed_earlier(c, w))
                wait_for(w, "same event earlier in this batch");
            else
                w->claimed = w->ready = 1;
            break;
        case EB_CLAIM_DONE:
            w->outcome = EB_TURN_DUPLICATE;
            break;
        case EB_CLAIM_BUSY:
            wait_for(w, "claimed by another instance");
            break;
        }
    }
    if (err != EB_OK) {
        /* Nothing of the answers holds: every claim of the turn waits. */
        for (size_t i = 0; i < cl->n; i++) {
            cl->who[i]->claimed = 0;
            wait_for(cl->who[i], "redis unavailable for idempotency claim");
        }
        goto out;
    }
    c->claims_renewed_ms = eb_time_mono_ms();
out:
    eb_redis_pipeline_destroy(cl->p);
    free(cl->who);
    memset(cl, 0, sizeof(*cl));
}

/* Extends this turn's claims when a third of their lease has passed, so a
 * turn that spends long in its handlers or waiting for Kafka does not lose
 * them to another instance. */
static void renew_claims(eb_consumer_t *c)
{
    const char **ids;
    size_t n = 0;

    if (eb_time_mono_ms() - c->claims_renewed_ms < c->o.claim_lease_ms / 3)
        return;
    c->claims_renewed_ms = eb_time_mono_ms();
    ids = malloc(c->b.nworks * sizeof(*ids));
    if (!ids)
        return;
    for (size_t i = 0; i < c->b.nworks; i++)
        if (c->b.works[i].claimed)
            ids[n++] = c->b.works[i].ev.id;
    /* A failed renewal shows again at the next claim or finish. */
    (void)eb__idempotency_renew(c->b.redis, c->o.group_id, c->token, ids, n, c->o.claim_lease_ms);
    free(ids);
}

/* ---- step 4: plan and handle ------------------------------------------------------ */

/* The reason a condemned record is to be dead-lettered, as remembered. */
static const char *why(const eb_part_t *p, int64_t offset)
{
    for (size_t i = 0; i < p->nwhy; i++)
        if (p->why[i].offset == offset)
            return p->why[i].text;
    return "";
}

/* Gives each claimed work its attempt number, or its dead letter when an
 * earlier turn condemned it (it is not run again). A batch handler gets a
 * partition's retried record alone: the works behind it are held back. */
static void plan(eb_consumer_t *c)
{
    int *retrying = c->tflag;

    memset(retrying, 0, c->g.nparts * sizeof(*retrying));
    for (size_t i = 0; i < c->b.nworks; i++) {
        eb_work_t *w = &c->b.works[i];
        eb_part_t *p = &c->g.parts[w->part];
        eb_turn_action_t doom;

        if (!w->ready)
            continue;
        if (c->o.batch_handler && retrying[w->part]) {
            w->ready = 0;
            w->outcome = EB_TURN_HELD;
            continue;
        }
        doom = eb__turn_plan(&p->mem, w->msg->offset, c->o.retry_max, &w->attempt);
        if (doom != EB_TURN_KEEP) {
            w->ready = 0;
            w->outcome = doom == EB_TURN_DLQ_PERMANENT ? EB_TURN_POISON : EB_TURN_RETRY;
            set_reason(w, "%s", why(p, w->msg->offset));
        }
        if (doom != EB_TURN_KEEP || w->attempt > 1)
            retrying[w->part] = 1;
    }
}

/* Turns a handler's result into the work's outcome. */
static void settle_result(eb_consumer_t *c, eb_work_t *w, eb_err_t err)
{
    const char *next;
    eb_log_fields_t f;

    if (err == EB_OK) {
        w->outcome = EB_TURN_OK;
        return;
    }
    if (!w->reason[0])
        set_reason(w, "%s", eb_err2str(err));
    if (eb_err_is_infra(err)) {
        w->outcome = EB_TURN_WAIT;
        next = "will retry when it is back";
    } else if (eb_err_is_retriable(err)) {
        w->outcome = EB_TURN_RETRY;
        next = w->attempt > c->o.retry_max ? "retries exhausted: dead-lettering" : "will retry";
    } else {
        w->outcome = EB_TURN_POISON;
        next = "permanent: dead-lettering";
    }
    eb_work_log_fields(w, &f);
    EB_LOG_EV(EB_LOG_WARN, &f, "handler failed (attempt %d): %s; %s", w->attempt, w->reason, next);
}

static void observe(eb_consumer_t *c, const eb_work_t *w, double seconds)
{
    eb_series_observe(eb_metric_series(c->m_duration, w->topic), seconds);
}

/* Runs the handler on every planned work, partitions in offset order. A
 * per-event handler is not run on the works behind one that blocks its
 * partition (they are held and come back). A batch handler gets every
 * planned work at once; the decisions then hold back what follows a
 * failure. Claims are renewed between handlers. */
static void handle(eb_consumer_t *c)
{
    int *blocked = c->tflag;

    if (c->o.batch_handler) {
        eb_work_t **todo = malloc(c->b.nworks * sizeof(*todo));
        size_t n = 0;
        int64_t t0;

        for (size_t i = 0; i < c->b.nworks; i++) {
            eb_work_t *w = &c->b.works[i];

            if (!w->ready)
                continue;
            w->reason[0] = '\0';
            w->result = EB_OK;
            if (todo)
                todo[n++] = w;
            else
                settle_result(c, w, eb_work_fail(w, EB_ERR_NOMEM, "out of memory"));
        }
        if (n == 0) {
            free(todo);
            return;
        }
        renew_claims(c);
        t0 = eb_time_mono_us();
        c->o.batch_handler(todo, n, c->o.opaque);
        eb_work_log_context(NULL); /* what the handler set, per work */
        /* The batch's time, shared out: each event's part of it. */
        double each = (double)(eb_time_mono_us() - t0) / 1e6 / (double)n;
        for (size_t i = 0; i < n; i++) {
            observe(c, todo[i], each);
            settle_result(c, todo[i], todo[i]->result);
        }
        free(todo);
        renew_claims(c);
        return;
    }
    memset(blocked, 0, c->g.nparts * sizeof(*blocked));
    for (size_t i = 0; i < c->b.nworks; i++) {
        eb_work_t *w = &c->b.works[i];
        int64_t t0;

        if (blocked[w->part] && (w->ready || w->outcome == EB_TURN_WAIT)) {
            w->ready = 0;
            w->outcome = EB_TURN_HELD;
            continue;
        }
        if (w->ready) {
            renew_claims(c);
            w->reason[0] = '\0';
            w->result = EB_OK;
            t0 = eb_time_mono_us();
            eb_work_log_context(w); /* the handler's own lines name its event and span */
            settle_result(c, w, c->o.handler(w, c->o.opaque));
            eb_work_log_context(NULL);
            observe(c, w, (double)(eb_time_mono_us() - t0) / 1e6);
            atomic_store(&c->last_loop_ms, eb_time_mono_ms()); /* handling, not stuck */
        }
        if (eb__turn_blocks(w->outcome, w->attempt, c->o.retry_max))
            blocked[w->part] = 1;
    }
}

/* ---- step 5: acknowledgements ------------------------------------------------------ */

/* Waits until every record of this turn is acknowledged or
 * publish_timeout_ms passed or a stop was requested. */
static void await_acks(eb_consumer_t *c, const atomic_int *stop)
{
    int64_t deadline = eb_time_mono_ms() + c->o.publish_timeout_ms;

    while (c->b.pending_total > 0 && eb_time_mono_ms() < deadline && !*stop) {
        eb_producer_poll(c->b.producer, 50);
        atomic_store(&c->last_loop_ms, eb_time_mono_ms()); /* waiting, not stuck */
        renew_claims(c);
    }
    eb_producer_poll(c->b.producer, 0);
}

/* A handled work whose publishes were not all acknowledged waits. */
static void settle_publishes(eb_consumer_t *c)
{
    for (size_t i = 0; i < c->b.nworks; i++) {
        eb_work_t *w = &c->b.works[i];

        if (w->outcome != EB_TURN_OK || (w->pending <= 0 && !w->publish_failed))
            continue;
        if (w->pending > 0)
            set_reason(w, "publish not acknowledged in time");
        w->outcome = EB_TURN_WAIT;
    }
}

/* The batch end callback (e.g. an fsync); its failure makes every handled
 * work of the batch wait. */
static void run_batch_end(eb_consumer_t *c)
{
    eb_err_t err;
    int any = 0;

    if (!c->o.batch_end)
        return;
    for (size_t i = 0; i < c->b.nworks && !any; i++)
        any = c->b.works[i].outcome == EB_TURN_OK;
    if (!any || (err = c->o.batch_end(c->o.opaque)) == EB_OK)
        return;
    for (size_t i = 0; i < c->b.nworks; i++) {
        eb_work_t *w = &c->b.works[i];

        if (w->outcome == EB_TURN_OK) {
            set_reason(w, "batch end failed: %s", eb_err2str(err));
            w->outcome = EB_TURN_WAIT;
        }
    }
}

/* ---- step 6: decide, dead-letter ------------------------------------------------- */

static double jitter(void *opaque)
{
    (void)opaque;
    return eb__random_unit();
}

static const eb_turn_params_t *turn_params(const eb_consumer_t *c, eb_turn_params_t *prm)
{
    prm->retry_max = c->o.retry_max;
    prm->backoff_ms = c->o.retry_backoff_ms;
    prm->backoff_max_ms = c->o.retry_backoff_max_ms;
    prm->infra_backoff_ms = eb_backoff_peek(&c->infra);
    prm->rnd = jitter;
    prm->rnd_opaque = NULL;
    return prm;
}

/* Asks the decisions about the outcomes so far: c->act and c->tpart. */
static int decide(eb_consumer_t *c)
{
    eb_turn_params_t prm;

    for (size_t i = 0; i < c->b.nworks; i++) {
        const eb_work_t *w = &c->b.works[i];
        eb_turn_work_t tw = {w->part, w->msg->offset, w->outcome, w->attempt, w->dlq};

        c->tw[i] = tw;
    }
    for (size_t i = 0; i < c->g.nparts; i++)
        c->tmem[i] = c->g.parts[i].mem;
    return eb__turn_decide(c->tw, c->b.nworks, c->tmem, c->g.nparts, turn_params(c, &prm), c->act,
                           c->tpart);
}

/* Sends the dead letter of w. Returns EB_OK when it is on its way. */
static eb_err_t send_dead_letter(eb_consumer_t *c, eb_work_t *w)
{
    char topic[300], errstr[256];
    rd_kafka_headers_t *orig = NULL, *h;
    eb_dlq_info_t info;
    eb_err_t err;

    if (eb_dlq_topic(w->topic, topic, sizeof(topic)) != EB_OK) {
        set_reason(w, "topic name too long for a DLQ");
        return EB_ERR_INVALID;
    }
    rd_kafka_message_headers(w->msg, &orig);
    info.topic = w->topic;
    info.partition = w->msg->partition;
    info.offset = w->msg->offset;
    info.timestamp_ms = rd_kafka_message_timestamp(w->msg, NULL);
    info.group = c->o.group_id;
    info.fqcn = w->dlq == EB_TURN_DLQ_RETRIES ? EB_DLT_FQCN_RETRIES : EB_DLT_FQCN_PERMANENT;
    eb__json_utf8_trim(w->reason); /* a header of UTF-8 text, even when cut short */
    info.message = w->reason;
    info.attempts = w->attempt > 0 ? w->attempt : 1;
    info.failed_at_ms = eb_time_now_ms();
    h = eb_dlq_headers(orig, &info);
    eb_record_t rec = {topic,
                       w->msg->partition,
                       w->msg->key,
                       w->msg->key_len,
                       w->msg->payload,
                       w->msg->len,
                       NULL,
                       0,
                       h};

    err = eb_producer_send_wait(c->b.producer, &rec, eb__work_ticket(&c->b, w),
                                c->o.publish_timeout_ms, errstr, sizeof(errstr));
    rd_kafka_headers_destroy(h);
    if (err)
        EB_WARN("dead letter to %s: %s", topic, errstr);
    return err;
}

/* Sends the dead letters decided, in offset order, and waits for them: each
 * is then EB_TURN_DEAD or EB_TURN_DLQ_FAILED. */
static void dead_letter(eb_consumer_t *c, const atomic_int *stop)
{
    int any = 0;

    for (size_t i = 0; i < c->b.nworks; i++) {
        eb_work_t *w = &c->b.works[i];

        if (c->act[i] == EB_TURN_KEEP)
            continue;
        w->dlq = c->act[i];
        /* Judged by its own report; a handler's publish still pending
         * makes it count as failed, which errs towards sending it again. */
        w->publish_failed = 0;
        if (send_dead_letter(c, w) != EB_OK) {
            w->outcome = EB_TURN_DLQ_FAILED;
            continue;
        }
        w->pending++;
        c->b.pending_total++;
        w->outcome = EB_TURN_DEAD;
        any = 1;
    }
    if (any)
        await_acks(c, stop);
    for (size_t i = 0; i < c->b.nworks; i++) {
        eb_work_t *w = &c->b.works[i];

        if (w->outcome == EB_TURN_DEAD && (w->pending > 0 || w->publish_failed))
            w->outcome = EB_TURN_DLQ_FAILED;
        c->tw[i].outcome = w->outcome;
    }
    /* Behind a failed dead letter, later ones of its partition wait too. */
    eb__turn_dlq_settle(c->tw, c->b.nworks, c->act);
    for (size_t i = 0; i < c->b.nworks; i++) {
        eb_work_t *w = &c->b.works[i];
        eb_log_fields_t f;

        w->outcome = c->tw[i].outcome;
        if (c->act[i] == EB_TURN_KEEP || w->outcome != EB_TURN_DEAD)
            continue;
        eb_work_log_fields(w, &f);
        EB_LOG_EV(EB_LOG_WARN, &f, "dead-lettered to %s-dlq (%s): %s", w->topic,
                  w->dlq == EB_TURN_DLQ_RETRIES ? EB_DLT_FQCN_RETRIES : EB_DLT_FQCN_PERMANENT,
                  w->reason);
    }
}

/* ---- step 7: done-marks and claim releases ----------------------------------------- */

static void finish_claims(eb_consumer_t *c)
{
    const char **done = malloc(c->b.nworks * sizeof(*done));
    const char **release = malloc(c->b.nworks * sizeof(*release));
    size_t nd = 0, nr = 0;

    if (!done || !release)
        goto out; /* claims expire with their lease */
    for (size_t i = 0; i < c->b.nworks; i++) {
        eb_work_t *w = &c->b.works[i];

        if (!w->claimed)
            continue;
        if (w->outcome == EB_TURN_OK)
            done[nd++] = w->ev.id;
        else
            release[nr++] = w->ev.id;
    }
    /* Sent, not awaited: Redis writes them while the next turn polls and
     * decodes, and finished_check() reads the replies before the claims. */
    if (eb__idempotency_finish(c->b.redis, c->o.group_id, c->token, done, nd, c->o.done_ttl_s,
                               release, nr, 0) != EB_OK) {
        /* The handlers' effects happened and their offsets will be stored;
         * only a redelivery before the lease ends could repeat them. */
        EB_WARN("could not record %zu handled and %zu released event ids in redis", nd, nr);
    }
out:
    free(done);
    free(release);
}

/* Reads the replies to the done-marks and releases an earlier turn sent,
 * and says when some failed. */
static void finished_check(eb_consumer_t *c)
{
    char why[128];
    size_t failed = eb__redis_owed_check(c->b.redis, why, sizeof(why));

    /* As when the write itself failed: the effects happened and the
     * offsets were stored; only a redelivery before the lease ends could
     * repeat them. */
    if (failed)
        EB_WARN("could not record %zu handled or released event ids in redis: %s", failed, why);
}

/* ---- step 8: store, rewind, remember ------------------------------------------------ */

static void count(eb_consumer_t *c, const eb_work_t *w, const char *result)
{
    eb_series_add(eb_metric_series(c->m_consumed, w->topic, result), 1);
}

/* Keeps the reasons of the records the partition's new memory condemns. */
static void keep_reasons(eb_consumer_t *c, eb_part_t *p, size_t pi)
{
    eb_part_why_t old[EB_TURN_MARKS];
    size_t nold = p->nwhy;

    memcpy(old, p->why, nold * sizeof(old[0]));
    p->nwhy = 0;
    for (size_t m = 0; m < p->mem.n; m++) {
        const eb_turn_mark_t *mk = &p->mem.mark[m];
        const char *text = NULL;

        if (mk->doom == EB_TURN_KEEP)
            continue;
        for (size_t i = 0; i < c->b.nworks && !text; i++)
            if (c->b.works[i].part == pi && c->b.works[i].msg->offset == mk->offset &&
                c->b.works[i].reason[0])
                text = c->b.works[i].reason;
        for (size_t i = 0; i < nold && !text; i++)
            if (old[i].offset == mk->offset)
                text = old[i].text;
        p->why[p->nwhy].offset = mk->offset;
        snprintf(p->why[p->nwhy++].text, sizeof(p->why[0].text), "%s", text ? text : "");
    }
}

/* The offsets the turn settles: per partition, the one after its last
 * settled work (the next to read), as the decisions say. Caller destroys. */
static rd_kafka_topic_partition_list_t *settled_offsets(const eb_consumer_t *c)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);

    for (size_t pi = 0; pi < c->g.nparts; pi++)
        if (c->tpart[pi].store >= 0)
            rd_kafka_topic_partition_list_add(l, c->g.parts[pi].topic, c->g.parts[pi].partition)
                ->offset = c->tpart[pi].store;
    return l;
}

/* Applies the final decisions: stores the offsets of settled works (in
 * exactly-once mode they went with the transaction already), pauses and
 * rewinds partitions to their first unsettled work, and keeps what each
 * partition must remember. */
static void store_and_rewind(eb_consumer_t *c, int infra)
{
    rd_kafka_topic_partition_list_t *store = settled_offsets(c);
    rd_kafka_topic_partition_list_t *rewind = rd_kafka_topic_partition_list_new(4);
    int64_t now = eb_time_mono_ms();

    for (size_t i = 0; i < c->b.nworks; i++) {
        const eb_work_t *w = &c->b.works[i];
        const eb_turn_part_t *tp = &c->tpart[w->part];

        if (tp->store > w->msg->offset)
            count(c, w,
                  w->outcome == EB_TURN_OK          ? "ok"
                  : w->outcome == EB_TURN_DUPLICATE ? "duplicate"
                                                    : "dlq");
        else if (tp->rewind == w->msg->offset && w->outcome != EB_TURN_HELD)
            count(c, w, "retry");
    }
    for (size_t pi = 0; pi < c->g.nparts; pi++) {
        const eb_turn_part_t *tp = &c->tpart[pi];
        eb_part_t *p = &c->g.parts[pi];

        if (tp->rewind >= 0) {
            rd_kafka_topic_partition_list_add(rewind, p->topic, p->partition)->offset = tp->rewind;
            p->resume_at = now + tp->pause_ms;
        }
        p->mem = tp->mem;
        keep_reasons(c, p, pi);
    }
    /* While the outage lasts, each turn waits twice as long, up to the cap. */
    if (infra)
        (void)eb_backoff_next(&c->infra);
    else
        eb_backoff_reset(&c->infra);
    if (store->cnt && !c->txn) {
        rd_kafka_resp_err_t err = rd_kafka_offsets_store(c->g.rk, store);

        if (err)
            EB_WARN("offsets store: %s", rd_kafka_err2str(err));
    }
    if (rewind->cnt)
        eb__group_rewind(&c->g, rewind);
    rd_kafka_topic_partition_list_destroy(store);
    rd_kafka_topic_partition_list_destroy(rewind);
}

/* ---- the loop ------------------------------------------------------------------- */

/* Nothing of the turn holds (out of memory before anything was decided, or
 * its transaction aborted): seek every partition of the batch back to its
 * first record, so that the batch comes again. */
static void hand_back(eb_consumer_t *c, const char *why)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);
    rd_kafka_error_t *error;

    EB_WARN("%s: handing back a turn of %zu records", why, c->b.nworks);
    for (size_t i = 0; l && i < c->b.nworks; i++) {
        const eb_work_t *w = &c->b.works[i];

        if (!rd_kafka_topic_partition_list_find(l, w->topic, w->msg->partition))
            rd_kafka_topic_partition_list_add(l, w->topic, w->msg->partition)->offset =
                w->msg->offset;
    }
    if (l && (error = rd_kafka_seek_partitions(c->g.rk, l, 5000)) != NULL) {
        EB_ERROR("seek back: %s", rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    }
    if (l)
        rd_kafka_topic_partition_list_destroy(l);
    works_clear(c);
}

/* ---- exactly-once: one transaction a turn ----------------------------------------- */

/* Logs a failed transaction call; a fatal error (this producer was fenced
 * by a newer instance with its transactional.id, say) stops the loop, as
 * any fatal client error does. Destroys error. */
static void txn_failed(eb_consumer_t *c, const char *what, rd_kafka_error_t *error)
{
    if (rd_kafka_error_is_fatal(error)) {
        EB_ERROR("exactly-once: %s: %s (fatal: stopping)", what, rd_kafka_error_string(error));
        c->g.fatal = 1;
    } else {
        EB_WARN("exactly-once: %s: %s", what, rd_kafka_error_string(error));
    }
    rd_kafka_error_destroy(error);
}

/* Makes the producer transactional (and aborts what an earlier instance of
 * the same transactional.id left open), retrying until it works or *stop. */
static eb_err_t txn_init(eb_consumer_t *c, const atomic_int *stop)
{
    while (!*stop && !c->g.fatal) {
        rd_kafka_error_t *error = rd_kafka_init_transactions(c->txn, c->o.publish_timeout_ms);

        if (!error) {
            EB_INFO("exactly-once: transactions ready");
            return EB_OK;
        }
        txn_failed(c, "init", error);
        eb_producer_poll(c->b.producer, eb_backoff_next(&c->infra));
    }
    return EB_ERR_KAFKA;
}

static void txn_abort(eb_consumer_t *c)
{
    rd_kafka_error_t *error = rd_kafka_abort_transaction(c->txn, c->o.publish_timeout_ms);

    c->txn_open = 0;
    if (error)
        txn_failed(c, "abort", error);
}

/* Commits the turn's transaction with the offsets it settles. EB_OK:
 * committed; else it was aborted (or the producer is fatally broken), and
 * nothing the turn published, dead letters included, nor any of its
 * offsets, took effect. */
static eb_err_t txn_commit(eb_consumer_t *c)
{
    rd_kafka_topic_partition_list_t *offsets = settled_offsets(c);
    rd_kafka_consumer_group_metadata_t *md = rd_kafka_consumer_group_metadata(c->g.rk);
    rd_kafka_error_t *error = NULL;
    const char *what = "send offsets";

    /* Retriable errors (a timeout, a coordinator moving) may be retried:
     * the call picks up where it was. */
    for (int i = 0; i < 3; i++) {
        if (error)
            rd_kafka_error_destroy(error);
        error = offsets->cnt ? rd_kafka_send_offsets_to_transaction(c->txn, offsets, md,
                                                                    c->o.publish_timeout_ms)
                             : NULL;
        if (!error || !rd_kafka_error_is_retriable(error))
            break;
    }
    rd_kafka_consumer_group_metadata_destroy(md);
    rd_kafka_topic_partition_list_destroy(offsets);
    if (!error) {
        what = "commit";
        for (int i = 0; i < 3; i++) {
            if (error)
                rd_kafka_error_destroy(error);
            error = rd_kafka_commit_transaction(c->txn, c->o.publish_timeout_ms);
            if (!error || !rd_kafka_error_is_retriable(error))
                break;
        }
    }
    if (!error) {
        c->txn_open = 0;
        return EB_OK;
    }
    txn_failed(c, what, error);
    if (!c->g.fatal)
        txn_abort(c);
    return EB_ERR_KAFKA;
}

/* 1 when everything the turn published was acknowledged. A record still
 * pending or failed would be committed by the transaction all the same,
 * while its work comes again (its offset is not settled) and publishes it a
 * second time: such a turn is aborted instead. */
static int txn_clean(const eb_consumer_t *c)
{
    if (c->b.pending_total > 0)
        return 0;
    for (size_t i = 0; i < c->b.nworks; i++)
        if (c->b.works[i].publish_failed || c->b.works[i].outcome == EB_TURN_DLQ_FAILED)
            return 0;
    return 1;
}

static void one_turn(eb_consumer_t *c, const atomic_int *stop)
{
    claims_t cl;
    int infra;

    if (index_parts(c) != EB_OK) {
        hand_back(c, "out of memory");
        return;
    }
    if (c->txn) {
        rd_kafka_error_t *error = rd_kafka_begin_transaction(c->txn);

        if (error) {
            txn_failed(c, "begin", error);
            hand_back(c, "no transaction");
            return;
        }
        c->txn_open = 1;
    }
    decode_and_claim(c, &cl);
    claim(c, &cl);
    finished_check(c);
    plan(c);
    handle(c);
    await_acks(c, stop);
    settle_publishes(c);
    run_batch_end(c);
    decide(c);
    dead_letter(c, stop);
    infra = decide(c);
    if (c->txn && !txn_clean(c)) {
        EB_WARN("exactly-once: a record of the turn was not acknowledged; aborting the turn");
        txn_abort(c);
    }
    if (c->txn && (!c->txn_open || txn_commit(c) != EB_OK)) {
        /* Aborted: what the handlers did outside Kafka stays (the Redis
         * idempotency of the effects), their events are released to run
         * again, and the whole batch comes again. */
        for (size_t i = 0; i < c->b.nworks; i++)
            if (c->b.works[i].outcome == EB_TURN_OK)
                c->b.works[i].outcome = EB_TURN_WAIT;
        finish_claims(c);
        hand_back(c, "transaction aborted");
        (void)eb_backoff_next(&c->infra);
        return;
    }
    /* Done-marks only once the outputs are committed: a mark without them
     * would make a redelivery skip the event. */
    finish_claims(c);
    store_and_rewind(c, infra);
    works_clear(c);
    /* Every tree of the turn is gone, so the arena starts again; a block
     * still alive (a tree a handler kept) would make it grow to its cap. */
    if (eb__json_arena_live() && !c->arena_kept) {
        c->arena_kept = 1;
        EB_WARN("%zu JSON blocks of a turn outlived it: the decode arena cannot start again",
                eb__json_arena_live());
    }
}

eb_err_t eb_consumer_run(eb_consumer_t *c, const atomic_int *stop)
{
    rd_kafka_resp_err_t err;

    EB_INFO("consumer %s started on %zu topic(s)%s", c->o.group_id, c->o.topic_count,
            c->txn ? ", exactly-once" : "");
    if (c->txn && txn_init(c, stop) != EB_OK && !*stop)
        c->g.fatal = 1;
    while (!*stop && !c->g.fatal && !eb_producer_fatal(c->b.producer)) {
        atomic_store(&c->last_loop_ms, eb_time_mono_ms());
        if (c->o.tick)
            c->o.tick(c->o.opaque);
        eb__group_resume_due(&c->g);
        if (collect(c) > 0)
            one_turn(c, stop);
    }

    EB_INFO("consumer %s stopping: committing offsets and leaving the group", c->o.group_id);
    c->g.closing = 1;
    works_clear(c);
    finished_check(c);
    err = eb__group_commit(c->g.rk, EB_CLOSE_COMMIT_MS);
    if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
        EB_WARN("final commit: %s", rd_kafka_err2str(err));
    if (!eb__group_close(&c->g, EB_CLOSE_LEAVE_MS))
        EB_WARN("could not leave group %s within %d ms (no coordinator answers): exiting "
                "anyway; the group expires this member after session.timeout.ms",
                c->o.group_id, EB_CLOSE_LEAVE_MS);
    return c->g.fatal || eb_producer_fatal(c->b.producer) ? EB_ERR_KAFKA : EB_OK;
}
