/*
 * The consumer's group membership and partition state: what librdkafka's
 * rebalance, error and statistics callbacks do, commits and the close that
 * never wait for ever, and the pause/seek/resume of partitions that retry.
 *
 * @locality: the consumer thread. librdkafka serves these callbacks from
 * rd_kafka_consumer_poll() (and from the close queue), which only the loop
 * calls, between turns.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "consumer_int.h"
#include "eventbus/log.h"

/* ---- partition state ------------------------------------------------------ */

long eb__group_part(eb_consumer_t *c, const char *topic, int32_t partition, int create)
{
    for (size_t i = 0; i < c->nparts; i++)
        if (c->parts[i].partition == partition && strcmp(c->parts[i].topic, topic) == 0)
            return (long)i;
    if (!create)
        return -1;
    if (c->nparts == c->pcap) {
        size_t cap = c->pcap ? c->pcap * 2 : 16;
        eb_part_t *np = realloc(c->parts, cap * sizeof(*np));

        if (!np)
            return -1;
        c->parts = np;
        c->pcap = cap;
    }
    eb_part_t *p = &c->parts[c->nparts];
    memset(p, 0, sizeof(*p));
    snprintf(p->topic, sizeof(p->topic), "%s", topic);
    p->partition = partition;
    p->seek_offset = -1;
    return (long)c->nparts++;
}

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

/* Forgets collected works and the state of partitions being revoked. */
static void drop_revoked(eb_consumer_t *c, const rd_kafka_topic_partition_list_t *parts)
{
    rd_kafka_topic_partition_list_t *resume = rd_kafka_topic_partition_list_new(parts->cnt);

    for (int i = 0; i < parts->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &parts->elems[i];
        long pi = eb__group_part(c, tp->topic, tp->partition, 0);
        size_t o = 0;

        for (size_t k = 0; k < c->nworks; k++) {
            eb_work_t *w = &c->works[k];

            if (w->msg->partition == tp->partition && strcmp(w->topic, tp->topic) == 0) {
                if (w->decoded)
                    eb_event_close(&w->ev);
                rd_kafka_message_destroy(w->msg);
            } else {
                c->works[o++] = *w;
            }
        }
        c->nworks = o;
        if (pi >= 0) {
            if (c->parts[pi].paused)
                rd_kafka_topic_partition_list_add(resume, tp->topic, tp->partition);
            c->parts[pi] = c->parts[--c->nparts];
        }
    }
    /* A partition handed back paused might stay paused if it comes back. */
    if (resume->cnt)
        rd_kafka_resume_partitions(c->rk, resume);
    rd_kafka_topic_partition_list_destroy(resume);
}

int eb__group_poll_timeout(const eb_consumer_t *c)
{
    int64_t now = eb_time_mono_ms(), t = EB_CONSUMER_POLL_MS;

    for (size_t i = 0; i < c->nparts; i++)
        if (c->parts[i].paused && c->parts[i].resume_at - now < t)
            t = c->parts[i].resume_at - now;
    return t < 0 ? 0 : (int)t;
}

/* Seeks the partitions of list (offsets set) and records which seeks did
 * not take, so they stay paused and are tried again. A resumed partition
 * that did not seek back would skip the unsettled message. */
static void seek_back(eb_consumer_t *c, rd_kafka_topic_partition_list_t *list)
{
    rd_kafka_error_t *error = rd_kafka_seek_partitions(c->rk, list, 5000);

    if (error) /* timed out: whether the seeks took is unknown */
        EB_WARN("seek back: %s", rd_kafka_error_string(error));
    for (int i = 0; i < list->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &list->elems[i];
        long pi = eb__group_part(c, tp->topic, tp->partition, 0);
        eb_part_t *p = pi >= 0 ? &c->parts[pi] : NULL;

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

void eb__group_rewind(eb_consumer_t *c, rd_kafka_topic_partition_list_t *list)
{
    for (int i = 0; i < list->cnt; i++) {
        long pi = eb__group_part(c, list->elems[i].topic, list->elems[i].partition, 0);

        if (pi >= 0)
            c->parts[pi].paused = 1;
    }
    rd_kafka_pause_partitions(c->rk, list);
    seek_back(c, list);
}

void eb__group_resume_due(eb_consumer_t *c)
{
    int64_t now = eb_time_mono_ms();
    rd_kafka_topic_partition_list_t *l = NULL;

    for (size_t i = 0; i < c->nparts; i++) {
        eb_part_t *p = &c->parts[i];

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

/* ---- commits and leaving ------------------------------------------------- */

/* rd_kafka_commit() waits for ever when no coordinator is reachable: commit
 * through a queue and wait on it with a deadline instead. */
rd_kafka_resp_err_t eb__group_commit(rd_kafka_t *rk, int timeout_ms)
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

/* Leaves the group, handing the revocation that brings to on_rebalance as
 * the callback would get it (librdkafka 2.0.2's
 * rd_kafka_queue_poll_callback() asserts on the other events of a close
 * queue, so the events are served here). */
int eb__group_close(eb_consumer_t *c, int timeout_ms)
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

/* ---- callbacks ------------------------------------------------------------ */

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    eb_consumer_t *c = opaque;
    eb_rebalance_event_t what = err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS   ? EB_REBALANCE_ASSIGN
                                : err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS ? EB_REBALANCE_REVOKE
                                                                              : EB_REBALANCE_ERROR;
    rd_kafka_topic_partition_list_t *current = NULL;
    rd_kafka_error_t *error = NULL;
    rd_kafka_resp_err_t cerr;

    /* Known only once the group has chosen its assignor. */
    c->cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    if (what == EB_REBALANCE_ASSIGN)
        log_partitions("assigned", parts);
    else if (what == EB_REBALANCE_REVOKE)
        log_partitions("revoked", parts);
    else
        EB_WARN("rebalance error: %s; giving up the assignment", rd_kafka_err2str(err));
    if (what == EB_REBALANCE_ERROR) {
        /* Whatever the error came with, what this member holds is its
         * assignment: that is what it gives up. */
        if (rd_kafka_assignment(rk, &current) == RD_KAFKA_RESP_ERR_NO_ERROR)
            parts = current;
    }
    if (what != EB_REBALANCE_ASSIGN) {
        drop_revoked(c, parts);
        /* Hand over what is settled: commit stored offsets before the next
         * owner starts from the committed position. */
        cerr = eb__group_commit(rk, c->closing ? EB_CLOSE_COMMIT_MS : EB_REVOKE_COMMIT_MS);
        if (cerr && cerr != RD_KAFKA_RESP_ERR__NO_OFFSET)
            EB_WARN("commit on revoke failed: %s", rd_kafka_err2str(cerr));
    }
    switch (eb__turn_rebalance_op(what, c->cooperative)) {
    case EB_REBALANCE_OP_ASSIGN:
        rd_kafka_assign(rk, parts);
        atomic_store(&c->assigned, parts->cnt);
        break;
    case EB_REBALANCE_OP_INCR_ASSIGN:
        error = rd_kafka_incremental_assign(rk, parts);
        atomic_store(&c->assigned, atomic_load(&c->assigned) + parts->cnt);
        break;
    case EB_REBALANCE_OP_UNASSIGN:
        rd_kafka_assign(rk, NULL);
        atomic_store(&c->assigned, 0);
        break;
    case EB_REBALANCE_OP_INCR_UNASSIGN:
        error = rd_kafka_incremental_unassign(rk, parts);
        atomic_store(&c->assigned, atomic_load(&c->assigned) - parts->cnt);
        break;
    }
    if (what == EB_REBALANCE_ASSIGN)
        atomic_store(&c->joined, 1);
    else if (what == EB_REBALANCE_ERROR && atomic_load(&c->assigned) <= 0)
        atomic_store(&c->joined, 0);
    if (current)
        rd_kafka_topic_partition_list_destroy(current);
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
 * no longer does, so summing over instances counts each partition once. */
static int on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
    eb_consumer_t *c = opaque;
    eb_series_t *now[EB_MAX_LAG_SERIES];
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
            if (strcmp(part->string, "-1") == 0 || !cJSON_IsTrue(desired) || n == EB_MAX_LAG_SERIES)
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

void eb__group_conf(eb_consumer_t *c, rd_kafka_conf_t *conf)
{
    rd_kafka_conf_set_opaque(conf, c);
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_stats_cb(conf, on_stats);
}
