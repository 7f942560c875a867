/*
 * The group consumer.
 *
 * Design. One thread turns a loop; each turn works on a batch of messages and
 * moves every message ("work") through these states:
 *
 *   NEW ──claim──> CLAIMED ──handler──> DONE ──acks──> final
 *    │               │                   └─(publish failed)──> WAIT
 *    │               ├──> RETRY (transient, attempts left)
 *    │               ├──> WAIT  (Redis/Kafka down: not an attempt)
 *    │               └──> DLQ ──ack──> DLQ_SENT (final)
 *    ├──> DUPLICATE (final: the group handled this id before)
 *    ├──> WAIT (another instance holds the claim)
 *    └──> DLQ (cannot be decoded, or a type we do not handle)
 *
 * Per partition, works are considered in offset order. The first work that is
 * not final "blocks" its partition for this turn: later works of that
 * partition are skipped (SKIP), the partition is paused and seeked back to the
 * blocking offset, and resumed after a backoff. Offsets are stored only up to
 * the first blocking work, so a committed offset never passes a message whose
 * outcome is not settled. Other partitions keep flowing.
 *
 * A retriable failure counts an attempt against the message at that offset;
 * the count lives in the partition's state, so it survives the seek and is
 * dropped when the partition is revoked (the next owner starts afresh, which
 * errs on the side of more attempts, never fewer).
 *
 * Everything published during a turn carries a ticket (turn number, work
 * index) as its librdkafka opaque, so a delivery report arriving after its
 * turn ended is recognised and ignored.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "eb_int.h"
#include "eventbus/consumer.h"
#include "eventbus/dlq.h"
#include "eventbus/kafka.h"
#include "eventbus/log.h"
#include "eventbus/metrics.h"
#include "eventbus/producer.h"

#define DEFAULT_BATCH           500
#define DEFAULT_LEASE_MS        15000
#define DEFAULT_DONE_TTL_S      (7 * 24 * 3600)
#define DEFAULT_PUBLISH_TIMEOUT 30000
#define DEFAULT_BACKOFF_CAP     10000
#define POLL_MS                 100
#define INFRA_BACKOFF_MIN_MS    250
#define INFRA_BACKOFF_MAX_MS    5000
#define TICKET_INDEX_BITS       24
#define MAX_LAG_SERIES          256
/* Shutdown never waits on brokers for longer than this, whatever they do
 * (the contract: exit within 10 s of SIGTERM): the final commit, leaving
 * the group, and the producer's flush (eb_consumer_destroy) each get a
 * bounded share. A member that could not leave is expired by the group
 * after session.timeout.ms, and offsets that could not be committed are
 * processed again by the next owner, who finds them done in Redis. */
#define CLOSE_COMMIT_MS 1500
#define CLOSE_LEAVE_MS  2500
#define CLOSE_FLUSH_MS  3000
/* A commit on revoke outside shutdown may wait longer (a coordinator that
 * moves takes seconds), but never for ever. */
#define REVOKE_COMMIT_MS 10000

typedef enum wstate_e {
    W_NEW,
    W_CLAIMED,
    W_DONE,
    W_DUPLICATE,
    W_DLQ,
    W_DLQ_SENT,
    W_RETRY,
    W_WAIT,
    W_SKIP
} wstate_t;

struct eb_work_s {
    eb_consumer_t *c;
    rd_kafka_message_t *msg;
    const char *topic;
    eb_event_t ev;
    int decoded;
    wstate_t state;
    int claimed;     /* holds an idempotency claim */
    int attempt;     /* 1-based handler attempt */
    int pending;     /* published records awaiting acknowledgement */
    eb_err_t result; /* what a batch handler decided (eb_work_fail sets it) */
    int publish_failed;
    const char *fqcn; /* DLQ reason class */
    char reason[256];
    char traceparent[EB_TRACEPARENT_LEN + 1];
};

/* Retry and pause bookkeeping for one partition. */
typedef struct part_s {
    char topic[256];
    int32_t partition;
    int paused;
    int64_t resume_at;    /* monotonic ms */
    int64_t retry_offset; /* offset whose failures are counted, -1 none */
    int failures;
    int blocked;         /* this turn: a work of this partition is not final */
    int64_t seek_offset; /* a seek back to here did not take: retry before resuming */
} part_t;

struct eb_consumer_s {
    rd_kafka_t *rk;
    eb_producer_t *producer;
    eb_redis_t *redis;
    eb_consumer_opts_t o;
    char token[256]; /* claim token: unique to this process */
    int cooperative; /* the group's rebalance protocol, as of the last rebalance */
    int closing;     /* eb_consumer_run() is stopping: broker waits are short */

    eb_work_t *works;
    size_t nworks, cap;
    uint64_t turn; /* increments every batch; tickets carry it */
    int pending_total;

    part_t *parts;
    size_t nparts, pcap;

    int64_t infra_backoff_ms;
    int64_t claims_renewed_ms; /* monotonic; this turn's claims were taken or renewed */
    int fatal;

    atomic_int joined, assigned;
    _Atomic int64_t last_loop_ms;

    eb_metric_t *m_consumed, *m_duration, *m_lag;
    eb_series_t *lag_series[MAX_LAG_SERIES]; /* consumer_lag series set by the last stats */
    size_t nlag;
};

/* ---- partition state ---------------------------------------------------- */

static part_t *part_get(eb_consumer_t *c, const char *topic, int32_t partition, int create)
{
    for (size_t i = 0; i < c->nparts; i++)
        if (c->parts[i].partition == partition && strcmp(c->parts[i].topic, topic) == 0)
            return &c->parts[i];
    if (!create)
        return NULL;
    if (c->nparts == c->pcap) {
        size_t cap = c->pcap ? c->pcap * 2 : 16;
        part_t *np = realloc(c->parts, cap * sizeof(*np));

        if (!np)
            return NULL;
        c->parts = np;
        c->pcap = cap;
    }
    part_t *p = &c->parts[c->nparts++];
    memset(p, 0, sizeof(*p));
    snprintf(p->topic, sizeof(p->topic), "%s", topic);
    p->partition = partition;
    p->retry_offset = -1;
    p->seek_offset = -1;
    return p;
}

static void part_remove(eb_consumer_t *c, part_t *p)
{
    *p = c->parts[--c->nparts];
}

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
    for (size_t i = 0; i < c->nworks; i++)
        work_release(&c->works[i]);
    c->nworks = 0;
}

static void *ticket(eb_consumer_t *c, const eb_work_t *w)
{
    uint64_t idx = (uint64_t)(w - c->works) + 1;

    return (void *)(uintptr_t)((c->turn << TICKET_INDEX_BITS) | idx);
}

static void on_delivery(void *msg_opaque, eb_err_t err, const char *reason, void *opaque)
{
    eb_consumer_t *c = opaque;
    uint64_t t = (uint64_t)(uintptr_t)msg_opaque;
    uint64_t idx = t & ((UINT64_C(1) << TICKET_INDEX_BITS) - 1);
    eb_work_t *w;

    if (!msg_opaque || t >> TICKET_INDEX_BITS != (c->turn & (UINT64_MAX >> TICKET_INDEX_BITS)) ||
        idx == 0 || idx > c->nworks)
        return; /* a late report from an earlier turn: that work was already retried */
    w = &c->works[idx - 1];
    w->pending--;
    c->pending_total--;
    if (err) {
        w->publish_failed = 1;
        snprintf(w->reason, sizeof(w->reason), "publish failed: %s", reason ? reason : "?");
    }
}

/* ---- handler API ---------------------------------------------------------- */

const eb_event_t *eb_work_event(const eb_work_t *w)
{
    return &w->ev;
}

const char *eb_work_topic(const eb_work_t *w)
{
    return w->topic;
}

int32_t eb_work_partition(const eb_work_t *w)
{
    return w->msg->partition;
}

int64_t eb_work_offset(const eb_work_t *w)
{
    return w->msg->offset;
}

const char *eb_work_traceparent(const eb_work_t *w)
{
    return w->traceparent[0] ? w->traceparent : NULL;
}

int eb_work_attempt(const eb_work_t *w)
{
    return w->attempt;
}

eb_redis_t *eb_work_redis(eb_work_t *w)
{
    return w->c->redis;
}

void eb_work_log_fields(const eb_work_t *w, eb_log_fields_t *f)
{
    eb_log_fields_t init = EB_LOG_FIELDS_INIT;

    *f = init;
    if (w->decoded) {
        f->event_id = w->ev.id;
        f->type = w->ev.type;
        f->order_id = w->ev.subject;
        f->correlation_id = w->ev.correlationid;
    }
    f->traceparent = eb_work_traceparent(w);
    f->topic = w->topic;
    f->partition = w->msg->partition;
    f->offset = w->msg->offset;
}

eb_err_t eb_work_fail(eb_work_t *w, eb_err_t err, const char *fmt, ...)
{
    va_list ap;

    w->result = err;
    va_start(ap, fmt);
    vsnprintf(w->reason, sizeof(w->reason), fmt, ap);
    va_end(ap);
    return err;
}

eb_err_t eb_work_publish_raw(eb_work_t *w, const char *topic, const char *key, const void *value,
                             size_t value_len)
{
    eb_consumer_t *c = w->c;
    eb_header_t tp = {"traceparent", w->traceparent, strlen(w->traceparent)};
    eb_record_t rec = {topic,
                       EB_PARTITION_ANY,
                       key,
                       key ? strlen(key) : 0,
                       value,
                       value_len,
                       w->traceparent[0] ? &tp : NULL,
                       w->traceparent[0] ? 1u : 0u,
                       NULL};
    char errstr[256];
    eb_err_t err;

    err = eb_producer_send_wait(c->producer, &rec, ticket(c, w), c->o.publish_timeout_ms, errstr,
                                sizeof(errstr));
    if (err)
        return eb_work_fail(w, err, "publish to %s: %s", topic, errstr);
    w->pending++;
    c->pending_total++;
    return EB_OK;
}

eb_err_t eb_work_publish(eb_work_t *w, const char *topic, const char *key, const eb_event_t *ev)
{
    size_t len;
    char *value = eb_event_encode(ev, &len);
    eb_err_t err;

    if (!value)
        return eb_work_fail(w, EB_ERR_NOMEM, "out of memory encoding %s", ev->type);
    err = eb_work_publish_raw(w, topic, key, value, len);
    free(value);
    return err;
}

/* ---- callbacks from librdkafka -------------------------------------------- */

static void log_partitions(const char *what, const rd_kafka_topic_partition_list_t *parts)
{
    char buf[1024];
    size_t o = 0;

    buf[0] = '\0';
    for (int i = 0; i < parts->cnt && o < sizeof(buf) - 64; i++)
        o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s[%" PRId32 "]", i ? " " : "",
                              parts->elems[i].topic, parts->elems[i].partition);
    EB_INFO("partitions %s: %s", what, parts->cnt ? buf : "(none)");
}

/* Forgets collected works and retry state of partitions being revoked. */
static void drop_revoked(eb_consumer_t *c, const rd_kafka_topic_partition_list_t *parts)
{
    rd_kafka_topic_partition_list_t *resume = rd_kafka_topic_partition_list_new(parts->cnt);

    for (int i = 0; i < parts->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &parts->elems[i];
        part_t *p = part_get(c, tp->topic, tp->partition, 0);
        size_t o = 0;

        for (size_t k = 0; k < c->nworks; k++) {
            eb_work_t *w = &c->works[k];

            if (w->msg->partition == tp->partition && strcmp(w->topic, tp->topic) == 0)
                work_release(w);
            else
                c->works[o++] = *w;
        }
        c->nworks = o;
        if (p) {
            if (p->paused)
                rd_kafka_topic_partition_list_add(resume, p->topic, p->partition);
            part_remove(c, p);
        }
    }
    /* A partition handed back paused might stay paused if it comes back. */
    if (resume->cnt)
        rd_kafka_resume_partitions(c->rk, resume);
    rd_kafka_topic_partition_list_destroy(resume);
}

/* Commits the stored offsets, waiting at most timeout_ms for the
 * coordinator's answer (rd_kafka_commit() waits for ever when none is
 * reachable). Returns the commit's error, _TIMED_OUT when no answer came. */
static rd_kafka_resp_err_t commit_bounded(rd_kafka_t *rk, int timeout_ms)
{
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_resp_err_t err = rd_kafka_commit_queue(rk, NULL, q, NULL, NULL);

    if (!err) {
        rd_kafka_event_t *ev = rd_kafka_queue_poll(q, timeout_ms);

        err = ev ? rd_kafka_event_error(ev) : RD_KAFKA_RESP_ERR__TIMED_OUT;
        if (ev)
            rd_kafka_event_destroy(ev);
    }
    rd_kafka_queue_destroy(q);
    return err;
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque);

/* Leaves the group for at most timeout_ms, handing the revocation that
 * brings to on_rebalance as the callback would get it (librdkafka 2.0.2's
 * rd_kafka_queue_poll_callback() asserts on the other events of a close
 * queue, so the events are served here). Returns 1 when closed. */
static int close_bounded(eb_consumer_t *c, int timeout_ms)
{
    rd_kafka_queue_t *q = rd_kafka_queue_new(c->rk);
    rd_kafka_error_t *error = rd_kafka_consumer_close_queue(c->rk, q);
    int64_t deadline = eb_time_mono_ms() + timeout_ms;

    if (error) {
        EB_WARN("consumer close: %s", rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    } else {
        while (!rd_kafka_consumer_closed(c->rk) && eb_time_mono_ms() < deadline) {
            rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 100);

            if (ev && rd_kafka_event_type(ev) == RD_KAFKA_EVENT_REBALANCE)
                on_rebalance(c->rk, rd_kafka_event_error(ev),
                             rd_kafka_event_topic_partition_list(ev), c);
            if (ev)
                rd_kafka_event_destroy(ev);
        }
    }
    rd_kafka_queue_destroy(q);
    return rd_kafka_consumer_closed(c->rk);
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    eb_consumer_t *c = opaque;
    rd_kafka_error_t *error = NULL;
    rd_kafka_resp_err_t cerr;

    /* Known only once the group has chosen its assignor. */
    c->cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        log_partitions("assigned", parts);
        if (c->cooperative)
            error = rd_kafka_incremental_assign(rk, parts);
        else
            rd_kafka_assign(rk, parts);
        atomic_store(&c->assigned,
                     c->cooperative ? atomic_load(&c->assigned) + parts->cnt : parts->cnt);
        atomic_store(&c->joined, 1);
    } else {
        if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS)
            log_partitions("revoked", parts);
        else
            EB_WARN("rebalance error: %s", rd_kafka_err2str(err));
        drop_revoked(c, parts);
        /* Hand over what is settled: commit stored offsets before the next
         * owner starts from the committed position. */
        cerr = commit_bounded(rk, c->closing ? CLOSE_COMMIT_MS : REVOKE_COMMIT_MS);
        if (cerr && cerr != RD_KAFKA_RESP_ERR__NO_OFFSET)
            EB_WARN("commit on revoke failed: %s", rd_kafka_err2str(cerr));
        if (c->cooperative && err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
            error = rd_kafka_incremental_unassign(rk, parts);
            atomic_store(&c->assigned, atomic_load(&c->assigned) - parts->cnt);
        } else {
            rd_kafka_assign(rk, NULL);
            atomic_store(&c->assigned, 0);
        }
        if (atomic_load(&c->assigned) <= 0 && err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS)
            atomic_store(&c->joined, 0);
    }
    if (error) {
        EB_ERROR("rebalance: %s", rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    }
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    eb_consumer_t *c = opaque;

    if (rd_kafka_fatal_error(rk, NULL, 0)) {
        EB_ERROR("kafka consumer fatal error: %s", reason);
        c->fatal = 1;
        return;
    }
    EB_WARN("kafka consumer: %s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

/* A number field of a statistics object, or -1 when absent. */
static double stats_num(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/* Publishes consumer_lag{topic,partition} from librdkafka's statistics for
 * the partitions this member consumes, and hides the series of partitions it
 * no longer does, so summing over instances counts each partition once.
 * @locality: the consumer thread (stats are served by its poll). */
static int on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
    eb_consumer_t *c = opaque;
    eb_series_t *now[MAX_LAG_SERIES];
    size_t n = 0;
    cJSON *root = cJSON_ParseWithLength(json, len), *topic, *part;

    (void)rk;
    cJSON_ArrayForEach(topic, cJSON_GetObjectItemCaseSensitive(root, "topics"))
    {
        cJSON_ArrayForEach(part, cJSON_GetObjectItemCaseSensitive(topic, "partitions"))
        {
            const cJSON *desired = cJSON_GetObjectItemCaseSensitive(part, "desired");
            double lag = stats_num(part, "consumer_lag");

            /* "-1" is librdkafka's internal unassigned partition. */
            if (strcmp(part->string, "-1") == 0 || !cJSON_IsTrue(desired) || n == MAX_LAG_SERIES)
                continue;
            /* librdkafka reports -1 until the group has committed an offset
             * here; with nothing committed, everything retained is behind. */
            if (lag < 0 && stats_num(part, "committed_offset") < 0 &&
                stats_num(part, "hi_offset") >= 0) {
                double lo = stats_num(part, "lo_offset");

                lag = stats_num(part, "hi_offset") - (lo > 0 ? lo : 0);
            }
            if (lag < 0)
                continue;
            now[n] = eb_metric_series(c->m_lag, topic->string, part->string);
            eb_series_set(now[n++], lag);
        }
    }
    cJSON_Delete(root);
    for (size_t i = 0; i < c->nlag; i++) {
        size_t k = 0;

        while (k < n && now[k] != c->lag_series[i])
            k++;
        if (k == n)
            eb_series_hide(c->lag_series[i]);
    }
    memcpy(c->lag_series, now, n * sizeof(now[0]));
    c->nlag = n;
    return 0; /* librdkafka frees json */
}

/* ---- construction ----------------------------------------------------------- */

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
    c->infra_backoff_ms = INFRA_BACKOFF_MIN_MS;
    atomic_init(&c->last_loop_ms, eb_time_mono_ms());
    c->m_consumed = eb_metrics_counter("events_consumed_total",
                                       "Consumed events by outcome (ok, retry, dlq, duplicate)",
                                       "topic,result");
    c->m_lag = eb_metrics_gauge("consumer_lag",
                                "Messages behind the end of each partition this member consumes, "
                                "from librdkafka statistics",
                                "topic,partition");
    c->m_duration =
        eb_metrics_histogram("event_processing_duration_seconds", "Time a handler took per event",
                             "topic", eb_metrics_latency_buckets, eb_metrics_latency_bucket_count);

    c->redis = eb_redis_new(opts->redis);
    c->producer = eb_producer_new(pconf, on_delivery, c, errstr, errstr_size);
    pconf = NULL;
    if (!c->redis || !c->producer)
        goto fail;

    /* Settings the at-least-once contract rests on. */
    if (eb_kafka_conf_set(cconf, "group.id", opts->group_id, errstr, errstr_size) ||
        eb_kafka_conf_set(cconf, "enable.auto.offset.store", "false", errstr, errstr_size))
        goto fail;
    rd_kafka_conf_set_opaque(cconf, c);
    rd_kafka_conf_set_rebalance_cb(cconf, on_rebalance);
    rd_kafka_conf_set_error_cb(cconf, on_error);
    rd_kafka_conf_set_stats_cb(cconf, on_stats);
    c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, cconf, errstr, errstr_size);
    if (!c->rk)
        goto fail;
    cconf = NULL;
    rd_kafka_poll_set_consumer(c->rk);

    topics = rd_kafka_topic_partition_list_new((int)opts->topic_count);
    for (size_t i = 0; i < opts->topic_count; i++)
        rd_kafka_topic_partition_list_add(topics, opts->topics[i], RD_KAFKA_PARTITION_UA);
    err = rd_kafka_subscribe(c->rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (err) {
        eb__seterr(errstr, errstr_size, EB_ERR_KAFKA, "subscribe: %s", rd_kafka_err2str(err));
        goto fail;
    }
    c->cap = (size_t)c->o.batch_size;
    c->works = calloc(c->cap, sizeof(*c->works));
    if (!c->works) {
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
     * CLOSE_LEAVE_MS: never let rd_kafka_destroy() try again, unbounded. */
    if (c->rk)
        rd_kafka_destroy_flags(c->rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    eb_producer_destroy(c->producer, CLOSE_FLUSH_MS);
    eb_redis_destroy(c->redis);
    free(c->works);
    free(c->parts);
    free(c);
}

void eb_consumer_status(const eb_consumer_t *c, eb_consumer_status_t *st)
{
    eb_consumer_t *m = (eb_consumer_t *)c;

    st->joined = atomic_load(&m->joined);
    st->assigned = atomic_load(&m->assigned);
    st->last_loop_ms = atomic_load(&m->last_loop_ms);
}

rd_kafka_t *eb_consumer_handle(eb_consumer_t *c)
{
    return c->rk;
}

/* ---- one turn --------------------------------------------------------------- */

static int type_known(const eb_consumer_t *c, const char *type)
{
    for (size_t i = 0; i < c->o.event_type_count; i++)
        if (strcmp(c->o.event_types[i], type) == 0)
            return 1;
    return 0;
}

static void count(eb_consumer_t *c, const eb_work_t *w, const char *result)
{
    eb_series_add(eb_metric_series(c->m_consumed, w->topic, result), 1);
}

static void set_dlq(eb_work_t *w, const char *fqcn)
{
    w->state = W_DLQ;
    w->fqcn = fqcn;
}

/* Time until the earliest paused partition is due, capped at POLL_MS. */
static int poll_timeout(const eb_consumer_t *c)
{
    int64_t now = eb_time_mono_ms(), t = POLL_MS;

    for (size_t i = 0; i < c->nparts; i++)
        if (c->parts[i].paused && c->parts[i].resume_at - now < t)
            t = c->parts[i].resume_at - now;
    return t < 0 ? 0 : (int)t;
}

/* Seeks the partitions of list (offsets set) and records in their part_t
 * which seeks did not take, so they stay paused and are tried again. A
 * resumed partition that did not seek back would skip the unsettled message. */
static void seek_back(eb_consumer_t *c, rd_kafka_topic_partition_list_t *list)
{
    rd_kafka_error_t *error = rd_kafka_seek_partitions(c->rk, list, 5000);

    if (error) /* timed out: whether the seeks took is unknown */
        EB_WARN("seek back: %s", rd_kafka_error_string(error));
    for (int i = 0; i < list->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &list->elems[i];
        part_t *p = part_get(c, tp->topic, tp->partition, 0);

        if (!p)
            continue;
        if (error || tp->err) {
            EB_WARN("seek of %s[%d] back to offset %lld failed (%s); retrying", tp->topic,
                    (int)tp->partition, (long long)tp->offset,
                    error ? "timed out" : rd_kafka_err2str(tp->err));
            p->seek_offset = tp->offset;
            if (p->resume_at < eb_time_mono_ms() + 1000)
                p->resume_at = eb_time_mono_ms() + 1000;
        } else {
            p->seek_offset = -1;
        }
    }
    if (error)
        rd_kafka_error_destroy(error);
}

static void resume_due(eb_consumer_t *c)
{
    int64_t now = eb_time_mono_ms();
    rd_kafka_topic_partition_list_t *l = NULL;

    for (size_t i = 0; i < c->nparts; i++) {
        part_t *p = &c->parts[i];

        if (!p->paused || p->resume_at > now)
            continue;
        if (p->seek_offset >= 0) {
            rd_kafka_topic_partition_list_t *one = rd_kafka_topic_partition_list_new(1);

            rd_kafka_topic_partition_list_add(one, p->topic, p->partition)->offset = p->seek_offset;
            seek_back(c, one);
            rd_kafka_topic_partition_list_destroy(one);
            if (p->seek_offset >= 0)
                continue; /* still not where it must be: stay paused */
        }
        if (!l)
            l = rd_kafka_topic_partition_list_new(4);
        rd_kafka_topic_partition_list_add(l, p->topic, p->partition);
        p->paused = 0;
    }
    if (l) {
        rd_kafka_resume_partitions(c->rk, l);
        rd_kafka_topic_partition_list_destroy(l);
    }
}

/* Takes up to batch_size messages off the queue. Returns the number taken. */
static size_t collect(eb_consumer_t *c)
{
    int timeout = poll_timeout(c);

    c->turn++;
    c->pending_total = 0;
    while (c->nworks < c->cap) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, timeout);

        timeout = 0;
        if (!m)
            break;
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                EB_WARN("consume: %s", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        eb_work_t *w = &c->works[c->nworks++];
        memset(w, 0, sizeof(*w));
        w->c = c;
        w->msg = m;
        w->topic = rd_kafka_topic_name(m->rkt);
        w->state = W_NEW;
    }
    return c->nworks;
}

static void decode(eb_consumer_t *c, eb_work_t *w)
{
    rd_kafka_headers_t *h = NULL;
    const void *tp;
    size_t tplen;

    if (rd_kafka_message_headers(w->msg, &h) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        rd_kafka_header_get_last(h, "traceparent", &tp, &tplen) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        tp && eb_traceparent_valid(tp, tplen)) {
        memcpy(w->traceparent, tp, tplen);
        w->traceparent[tplen] = '\0';
    }
    if (eb_event_decode(w->msg->payload, w->msg->len, &w->ev, w->reason, sizeof(w->reason)) !=
        EB_OK) {
        set_dlq(w, EB_DLT_FQCN_PERMANENT);
        return;
    }
    w->decoded = 1;
    if (!type_known(c, w->ev.type)) {
        snprintf(w->reason, sizeof(w->reason), "unknown event type '%s' on %s", w->ev.type,
                 w->topic);
        set_dlq(w, EB_DLT_FQCN_PERMANENT);
    }
}

/* Marks w's partition blocked for the rest of this turn. */
static void block(eb_consumer_t *c, const eb_work_t *w)
{
    part_t *p = part_get(c, w->topic, w->msg->partition, 1);

    if (p)
        p->blocked = 1;
}

static int blocked(eb_consumer_t *c, const eb_work_t *w)
{
    part_t *p = part_get(c, w->topic, w->msg->partition, 0);

    return p && p->blocked;
}

/* Another work earlier in this batch holds the claim on the same event id. */
static int claimed_earlier(const eb_consumer_t *c, const eb_work_t *w)
{
    for (const eb_work_t *o = c->works; o < w; o++)
        if (o->claimed && strcmp(o->ev.id, w->ev.id) == 0)
            return 1;
    return 0;
}

static void wait_for(eb_work_t *w, const char *reason)
{
    w->state = W_WAIT;
    snprintf(w->reason, sizeof(w->reason), "%s", reason);
}

/* Step 3: claim every decoded event id in one pipeline. */
static void claim(eb_consumer_t *c)
{
    const char **ids = malloc(c->nworks * sizeof(*ids));
    eb_claim_t *res = malloc(c->nworks * sizeof(*res));
    eb_work_t **who = malloc(c->nworks * sizeof(*who));
    size_t n = 0;

    if (!ids || !res || !who) {
        for (size_t i = 0; i < c->nworks; i++)
            if (c->works[i].state == W_NEW)
                wait_for(&c->works[i], "out of memory");
        goto out;
    }
    for (size_t i = 0; i < c->nworks; i++) {
        if (c->works[i].state != W_NEW)
            continue;
        ids[n] = c->works[i].ev.id;
        who[n++] = &c->works[i];
    }
    if (n == 0)
        goto out;
    if (eb__idem_claim(c->redis, c->o.group_id, c->token, ids, n, c->o.claim_lease_ms, res) !=
        EB_OK) {
        for (size_t i = 0; i < n; i++)
            wait_for(who[i], "redis unavailable for idempotency claim");
        goto out;
    }
    c->claims_renewed_ms = eb_time_mono_ms();
    for (size_t i = 0; i < n; i++) {
        eb_work_t *w = who[i];

        switch (res[i]) {
        case EB_CLAIM_NEW:
            w->state = W_CLAIMED;
            w->claimed = 1;
            break;
        case EB_CLAIM_OURS:
            if (claimed_earlier(c, w)) {
                w->state = W_WAIT;
                snprintf(w->reason, sizeof(w->reason), "same event earlier in this batch");
            } else {
                w->state = W_CLAIMED;
                w->claimed = 1;
            }
            break;
        case EB_CLAIM_DONE:
            w->state = W_DUPLICATE;
            break;
        case EB_CLAIM_BUSY:
            w->state = W_WAIT;
            snprintf(w->reason, sizeof(w->reason), "claimed by another instance");
            break;
        }
    }
out:
    free(ids);
    free(res);
    free(who);
}

/* Step 4: run the handler on each claimed work, partitions in offset order. */
/* Turns a handler's result into the work's next state, blocking the
 * partition when the work must be tried again. */
static void settle_result(eb_consumer_t *c, eb_work_t *w, eb_err_t err)
{
    eb_log_fields_t f;

    if (err == EB_OK) {
        w->state = W_DONE;
        return;
    }
    if (!w->reason[0])
        snprintf(w->reason, sizeof(w->reason), "%s", eb_err2str(err));
    if (eb_err_is_infra(err)) {
        w->state = W_WAIT;
    } else if (eb_err_is_retriable(err)) {
        w->state = w->attempt > c->o.retry_max ? W_DLQ : W_RETRY;
        w->fqcn = EB_DLT_FQCN_RETRIES;
    } else {
        set_dlq(w, EB_DLT_FQCN_PERMANENT);
    }
    if (w->state == W_RETRY || w->state == W_WAIT)
        block(c, w);
    eb_work_log_fields(w, &f);
    EB_LOG_EV(EB_LOG_WARN, &f, "handler failed (attempt %d): %s; %s", w->attempt, w->reason,
              w->state == W_DLQ ? "dead-lettering" : "will retry");
}

/* Readies w for its handler: 1 if it is to be handled in this turn. */
static int to_handle(eb_consumer_t *c, eb_work_t *w)
{
    part_t *p;

    if (blocked(c, w)) {
        if (w->state != W_DUPLICATE)
            w->state = W_SKIP;
        return 0;
    }
    if (w->state == W_WAIT) {
        block(c, w);
        return 0;
    }
    if (w->state != W_CLAIMED)
        return 0;
    p = part_get(c, w->topic, w->msg->partition, 1);
    w->attempt = (p && p->retry_offset == w->msg->offset ? p->failures : 0) + 1;
    w->reason[0] = '\0';
    w->result = EB_OK;
    return 1;
}

/* Step 4: run the handler on each claimed work, partitions in offset order.
 * A per-event handler is not called for the works after a failed one of
 * the same partition. A batch handler gets every claimed work at once (so
 * it can pipeline its own Redis work); a failure then blocks its partition
 * from that work on, and the works after it, although handled, are not
 * committed: they come back and are recognised as duplicates. */
static void handle(eb_consumer_t *c)
{
    if (c->o.batch_handler) {
        eb_work_t **todo = malloc(c->nworks * sizeof(*todo));
        size_t n = 0;
        int64_t t0;

        if (!todo) {
            for (size_t i = 0; i < c->nworks; i++)
                if (to_handle(c, &c->works[i]))
                    settle_result(c, &c->works[i],
                                  eb_work_fail(&c->works[i], EB_ERR_NOMEM, "out of memory"));
            return;
        }
        for (size_t i = 0; i < c->nworks; i++)
            if (to_handle(c, &c->works[i]))
                todo[n++] = &c->works[i];
        if (n) {
            t0 = eb_time_mono_us();
            c->o.batch_handler(todo, n, c->o.opaque);
            /* The batch's time, shared out: each event's part of it. */
            double each = (double)(eb_time_mono_us() - t0) / 1e6 / (double)n;
            for (size_t i = 0; i < n; i++) {
                eb_series_observe(eb_metric_series(c->m_duration, todo[i]->topic), each);
                settle_result(c, todo[i], todo[i]->result);
            }
        }
        free(todo);
        return;
    }
    for (size_t i = 0; i < c->nworks; i++) {
        eb_work_t *w = &c->works[i];
        int64_t t0;
        eb_err_t err;

        if (!to_handle(c, w))
            continue;
        t0 = eb_time_mono_us();
        err = c->o.handler(w, c->o.opaque);
        eb_series_observe(eb_metric_series(c->m_duration, w->topic),
                          (double)(eb_time_mono_us() - t0) / 1e6);
        settle_result(c, w, err);
    }
}

/* Extends this turn's claims when a third of their lease has passed, so a
 * turn that waits long for Kafka does not lose them to another instance. */
static void renew_claims(eb_consumer_t *c)
{
    const char **ids;
    size_t n = 0;

    if (eb_time_mono_ms() - c->claims_renewed_ms < c->o.claim_lease_ms / 3)
        return;
    c->claims_renewed_ms = eb_time_mono_ms();
    ids = malloc(c->nworks * sizeof(*ids));
    if (!ids)
        return;
    for (size_t i = 0; i < c->nworks; i++)
        if (c->works[i].claimed)
            ids[n++] = c->works[i].ev.id;
    /* A failed renewal shows again at the next claim or finish. */
    (void)eb__idem_renew(c->redis, c->o.group_id, c->token, ids, n, c->o.claim_lease_ms);
    free(ids);
}

/* Step 5 and 6: wait until every record of this turn is acknowledged or
 * publish_timeout_ms passed or a stop was requested. */
static void await_acks(eb_consumer_t *c, const atomic_int *stop)
{
    int64_t deadline = eb_time_mono_ms() + c->o.publish_timeout_ms;

    while (c->pending_total > 0 && eb_time_mono_ms() < deadline && !*stop) {
        eb_producer_poll(c->producer, 50);
        atomic_store(&c->last_loop_ms, eb_time_mono_ms()); /* waiting, not stuck */
        renew_claims(c);
    }
    eb_producer_poll(c->producer, 0);
}

static void settle_publishes(eb_consumer_t *c)
{
    for (size_t i = 0; i < c->nworks; i++) {
        eb_work_t *w = &c->works[i];

        if (w->state != W_DONE)
            continue;
        if (w->pending > 0 || w->publish_failed) {
            if (w->pending > 0)
                snprintf(w->reason, sizeof(w->reason), "publish not acknowledged in time");
            w->state = W_WAIT;
            block(c, w);
        }
    }
}

/* Step 6: dead-letter. */
static void dead_letter(eb_consumer_t *c, const atomic_int *stop)
{
    char topic[300], errstr[256];
    int any = 0;

    for (size_t i = 0; i < c->nworks; i++) {
        eb_work_t *w = &c->works[i];
        rd_kafka_headers_t *orig = NULL, *h;
        eb_dlq_info_t info;

        if (w->state != W_DLQ)
            continue;
        if (blocked(c, w)) {
            w->state = W_SKIP;
            continue;
        }
        if (eb_dlq_topic(w->topic, topic, sizeof(topic)) != EB_OK) {
            wait_for(w, "topic name too long for a DLQ");
            block(c, w);
            continue;
        }
        rd_kafka_message_headers(w->msg, &orig);
        info.topic = w->topic;
        info.partition = w->msg->partition;
        info.offset = w->msg->offset;
        info.timestamp_ms = rd_kafka_message_timestamp(w->msg, NULL);
        info.group = c->o.group_id;
        info.fqcn = w->fqcn ? w->fqcn : EB_DLT_FQCN_PERMANENT;
        eb__utf8_trim(w->reason); /* a header of UTF-8 text, even when cut short */
        info.message = w->reason;
        info.attempts = w->attempt > 0 ? w->attempt : 1; /* seen once, found unreadable */
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
        eb_err_t err;

        err = eb_producer_send_wait(c->producer, &rec, ticket(c, w), c->o.publish_timeout_ms,
                                    errstr, sizeof(errstr));
        rd_kafka_headers_destroy(h);
        if (err) {
            snprintf(w->reason, sizeof(w->reason), "dead letter to %s: %s", topic, errstr);
            w->state = W_WAIT;
            block(c, w);
            continue;
        }
        w->pending++;
        c->pending_total++;
        w->state = W_DLQ_SENT;
        any = 1;
    }
    if (!any)
        return;
    await_acks(c, stop);
    for (size_t i = 0; i < c->nworks; i++) {
        eb_work_t *w = &c->works[i];

        if (w->state != W_DLQ_SENT)
            continue;
        if (w->pending > 0 || w->publish_failed) {
            w->state = W_WAIT;
            block(c, w);
            continue;
        }
        eb_log_fields_t f;
        eb_work_log_fields(w, &f);
        EB_LOG_EV(EB_LOG_WARN, &f, "dead-lettered to %s-dlq (%s): %s", w->topic, w->fqcn,
                  w->reason);
    }
}

/* Step 7: done-marks and claim releases. */
static void finish_claims(eb_consumer_t *c)
{
    const char **done = malloc(c->nworks * sizeof(*done));
    const char **release = malloc(c->nworks * sizeof(*release));
    size_t nd = 0, nr = 0;

    if (!done || !release)
        goto out; /* claims expire with their lease */
    for (size_t i = 0; i < c->nworks; i++) {
        eb_work_t *w = &c->works[i];

        if (!w->claimed)
            continue;
        if (w->state == W_DONE)
            done[nd++] = w->ev.id;
        else
            release[nr++] = w->ev.id;
    }
    if (eb__idem_finish(c->redis, c->o.group_id, c->token, done, nd, c->o.done_ttl_s, release,
                        nr) != EB_OK) {
        /* The handlers' effects happened and their offsets will be stored;
         * only a redelivery before the lease ends could repeat them. */
        EB_WARN("could not record %zu handled and %zu released event ids in redis", nd, nr);
    }
out:
    free(done);
    free(release);
}

static int is_final(const eb_work_t *w)
{
    return w->state == W_DONE || w->state == W_DUPLICATE || w->state == W_DLQ_SENT;
}

/* Step 8: store offsets of final works, pause and rewind blocked partitions. */
static void store_and_rewind(eb_consumer_t *c)
{
    rd_kafka_topic_partition_list_t *store = rd_kafka_topic_partition_list_new(8);
    rd_kafka_topic_partition_list_t *rewind = rd_kafka_topic_partition_list_new(4);
    int64_t now = eb_time_mono_ms();
    int infra = 0;

    for (size_t i = 0; i < c->nparts; i++)
        c->parts[i].blocked = 0;

    for (size_t i = 0; i < c->nworks; i++) {
        eb_work_t *w = &c->works[i];
        part_t *p = part_get(c, w->topic, w->msg->partition, 1);

        if (!p || p->blocked)
            continue;
        if (is_final(w)) {
            rd_kafka_topic_partition_t *tp =
                rd_kafka_topic_partition_list_add(store, w->topic, w->msg->partition);

            tp->offset = w->msg->offset + 1;
            count(c, w, w->state == W_DONE ? "ok" : w->state == W_DUPLICATE ? "duplicate" : "dlq");
            if (p->retry_offset >= 0 && p->retry_offset <= w->msg->offset) {
                p->retry_offset = -1;
                p->failures = 0;
            }
            continue;
        }
        /* The first unsettled work of its partition. */
        p->blocked = 1;
        p->paused = 1;
        count(c, w, "retry");
        if (w->state == W_RETRY) {
            if (p->retry_offset != w->msg->offset) {
                p->retry_offset = w->msg->offset;
                p->failures = 0;
            }
            p->failures++;
            p->resume_at = now + eb__backoff_delay(p->failures, c->o.retry_backoff_ms,
                                                   c->o.retry_backoff_max_ms, eb__random_unit());
        } else {
            infra = 1;
            p->resume_at = now + c->infra_backoff_ms;
        }
        rd_kafka_topic_partition_t *tp =
            rd_kafka_topic_partition_list_add(rewind, w->topic, w->msg->partition);
        tp->offset = w->msg->offset;
    }
    c->infra_backoff_ms =
        infra ? (c->infra_backoff_ms * 2 > INFRA_BACKOFF_MAX_MS ? INFRA_BACKOFF_MAX_MS
                                                                : c->infra_backoff_ms * 2)
              : INFRA_BACKOFF_MIN_MS;

    if (store->cnt) {
        rd_kafka_resp_err_t err = rd_kafka_offsets_store(c->rk, store);

        if (err)
            EB_WARN("offsets store: %s", rd_kafka_err2str(err));
    }
    if (rewind->cnt) {
        rd_kafka_pause_partitions(c->rk, rewind);
        seek_back(c, rewind);
    }
    for (size_t i = 0; i < c->nparts; i++)
        c->parts[i].blocked = 0;
    rd_kafka_topic_partition_list_destroy(store);
    rd_kafka_topic_partition_list_destroy(rewind);
}

static eb_err_t run_batch_end(eb_consumer_t *c)
{
    eb_err_t err;
    int any = 0;

    if (!c->o.batch_end)
        return EB_OK;
    for (size_t i = 0; i < c->nworks && !any; i++)
        any = c->works[i].state == W_DONE;
    if (!any)
        return EB_OK;
    err = c->o.batch_end(c->o.opaque);
    if (err == EB_OK)
        return EB_OK;
    for (size_t i = 0; i < c->nworks; i++) {
        eb_work_t *w = &c->works[i];

        if (w->state == W_DONE) {
            snprintf(w->reason, sizeof(w->reason), "batch end failed: %s", eb_err2str(err));
            w->state = W_WAIT;
            block(c, w);
        }
    }
    return err;
}

eb_err_t eb_consumer_run(eb_consumer_t *c, const atomic_int *stop)
{
    rd_kafka_resp_err_t err;

    EB_INFO("consumer %s started on %zu topic(s)", c->o.group_id, c->o.topic_count);
    while (!*stop && !c->fatal && !eb_producer_fatal(c->producer)) {
        atomic_store(&c->last_loop_ms, eb_time_mono_ms());
        if (c->o.tick)
            c->o.tick(c->o.opaque);
        resume_due(c);
        if (collect(c) == 0)
            continue;

        for (size_t i = 0; i < c->nworks; i++)
            decode(c, &c->works[i]);
        claim(c);
        handle(c);
        await_acks(c, stop);
        settle_publishes(c);
        run_batch_end(c);
        dead_letter(c, stop);
        finish_claims(c);
        /* Works settled above might now be blocked by an earlier one: the
         * final pass decides offsets per partition in order. */
        store_and_rewind(c);
        works_clear(c);
    }

    EB_INFO("consumer %s stopping: committing offsets and leaving the group", c->o.group_id);
    c->closing = 1;
    works_clear(c);
    err = commit_bounded(c->rk, CLOSE_COMMIT_MS);
    if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
        EB_WARN("final commit: %s", rd_kafka_err2str(err));
    if (!close_bounded(c, CLOSE_LEAVE_MS))
        EB_WARN("could not leave group %s within %d ms (no coordinator answers): exiting "
                "anyway; the group expires this member after session.timeout.ms",
                c->o.group_id, CLOSE_LEAVE_MS);
    return c->fatal || eb_producer_fatal(c->producer) ? EB_ERR_KAFKA : EB_OK;
}
