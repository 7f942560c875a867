/*
 * A consumer's group membership and partition state (group.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "eventbus/log.h"
#include "eventbus/time.h"
#include "group.h"

/* ---- partition state ------------------------------------------------------ */

long eb__group_part(eb_group_t *g, const char *topic, int32_t partition, int create)
{
    for (size_t i = 0; i < g->nparts; i++)
        if (g->parts[i].partition == partition && strcmp(g->parts[i].topic, topic) == 0)
            return (long)i;
    if (!create)
        return -1;
    if (g->nparts == g->pcap) {
        size_t cap = g->pcap ? g->pcap * 2 : 16;
        eb_part_t *np = realloc(g->parts, cap * sizeof(*np));

        if (!np)
            return -1;
        g->parts = np;
        g->pcap = cap;
    }
    eb_part_t *p = &g->parts[g->nparts];
    memset(p, 0, sizeof(*p));
    snprintf(p->topic, sizeof(p->topic), "%s", topic);
    p->partition = partition;
    p->seek_offset = -1;
    return (long)g->nparts++;
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

/* Forgets the state of partitions being revoked, after the owner dropped
 * what it held of them. */
static void drop_revoked(eb_group_t *g, const rd_kafka_topic_partition_list_t *parts)
{
    rd_kafka_topic_partition_list_t *resume = rd_kafka_topic_partition_list_new(parts->cnt);

    if (g->revoked)
        g->revoked(parts, g->opaque);
    for (int i = 0; i < parts->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &parts->elems[i];
        long pi = eb__group_part(g, tp->topic, tp->partition, 0);

        if (pi >= 0) {
            if (g->parts[pi].paused)
                rd_kafka_topic_partition_list_add(resume, tp->topic, tp->partition);
            g->parts[pi] = g->parts[--g->nparts];
        }
    }
    /* A partition handed back paused might stay paused if it comes back. */
    if (resume->cnt)
        rd_kafka_resume_partitions(g->rk, resume);
    rd_kafka_topic_partition_list_destroy(resume);
}

int eb__group_poll_timeout(const eb_group_t *g)
{
    int64_t now = eb_time_mono_ms(), t = EB_GROUP_POLL_MS;

    for (size_t i = 0; i < g->nparts; i++)
        if (g->parts[i].paused && g->parts[i].resume_at - now < t)
            t = g->parts[i].resume_at - now;
    return t < 0 ? 0 : (int)t;
}

/* Seeks the partitions of list (offsets set) and records which seeks did
 * not take, so they stay paused and are tried again. A resumed partition
 * that did not seek back would skip the unsettled message. */
static void seek_back(eb_group_t *g, rd_kafka_topic_partition_list_t *list)
{
    rd_kafka_error_t *error = rd_kafka_seek_partitions(g->rk, list, 5000);

    if (error) /* timed out: whether the seeks took is unknown */
        EB_WARN("seek back: %s", rd_kafka_error_string(error));
    for (int i = 0; i < list->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &list->elems[i];
        long pi = eb__group_part(g, tp->topic, tp->partition, 0);
        eb_part_t *p = pi >= 0 ? &g->parts[pi] : NULL;

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

void eb__group_rewind(eb_group_t *g, rd_kafka_topic_partition_list_t *list)
{
    for (int i = 0; i < list->cnt; i++) {
        long pi = eb__group_part(g, list->elems[i].topic, list->elems[i].partition, 0);

        if (pi >= 0)
            g->parts[pi].paused = 1;
    }
    rd_kafka_pause_partitions(g->rk, list);
    seek_back(g, list);
}

void eb__group_resume_due(eb_group_t *g)
{
    int64_t now = eb_time_mono_ms();
    rd_kafka_topic_partition_list_t *l = NULL;

    for (size_t i = 0; i < g->nparts; i++) {
        eb_part_t *p = &g->parts[i];

        if (!p->paused || p->resume_at > now)
            continue;
        if (p->seek_offset >= 0) {
            rd_kafka_topic_partition_list_t *one = rd_kafka_topic_partition_list_new(1);

            rd_kafka_topic_partition_list_add(one, p->topic, p->partition)->offset = p->seek_offset;
            seek_back(g, one);
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
        rd_kafka_resume_partitions(g->rk, l);
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
int eb__group_close(eb_group_t *g, int timeout_ms)
{
    rd_kafka_queue_t *q = rd_kafka_queue_new(g->rk);
    rd_kafka_error_t *error = rd_kafka_consumer_close_queue(g->rk, q);
    int64_t deadline = eb_time_mono_ms() + timeout_ms;

    if (error) {
        EB_WARN("consumer close: %s", rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    } else {
        while (!rd_kafka_consumer_closed(g->rk) && eb_time_mono_ms() < deadline) {
            rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 100);

            if (ev && rd_kafka_event_type(ev) == RD_KAFKA_EVENT_REBALANCE)
                on_rebalance(g->rk, rd_kafka_event_error(ev),
                             rd_kafka_event_topic_partition_list(ev), g);
            if (ev)
                rd_kafka_event_destroy(ev);
        }
    }
    rd_kafka_queue_destroy(q);
    return rd_kafka_consumer_closed(g->rk);
}

/* ---- callbacks ------------------------------------------------------------ */

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    eb_group_t *g = opaque;
    eb_rebalance_event_t what = err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS   ? EB_REBALANCE_ASSIGN
                                : err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS ? EB_REBALANCE_REVOKE
                                                                              : EB_REBALANCE_ERROR;
    rd_kafka_topic_partition_list_t *current = NULL;
    rd_kafka_error_t *error = NULL;
    rd_kafka_resp_err_t cerr;

    /* Known only once the group has chosen its assignor. */
    g->cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
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
    if (!parts) {
        EB_ERROR("rebalance: no partition list to act on");
        return;
    }
    if (what != EB_REBALANCE_ASSIGN) {
        drop_revoked(g, parts);
        /* Hand over what is settled: commit stored offsets before the next
         * owner starts from the committed position. */
        cerr = eb__group_commit(rk, g->closing ? EB_CLOSE_COMMIT_MS : EB_REVOKE_COMMIT_MS);
        if (cerr && cerr != RD_KAFKA_RESP_ERR__NO_OFFSET)
            EB_WARN("commit on revoke failed: %s", rd_kafka_err2str(cerr));
    }
    switch (eb__turn_rebalance_op(what, g->cooperative)) {
    case EB_REBALANCE_OP_ASSIGN:
        rd_kafka_assign(rk, parts);
        atomic_store(&g->assigned, parts->cnt);
        break;
    case EB_REBALANCE_OP_INCR_ASSIGN:
        error = rd_kafka_incremental_assign(rk, parts);
        atomic_store(&g->assigned, atomic_load(&g->assigned) + parts->cnt);
        break;
    case EB_REBALANCE_OP_UNASSIGN:
        rd_kafka_assign(rk, NULL);
        atomic_store(&g->assigned, 0);
        break;
    case EB_REBALANCE_OP_INCR_UNASSIGN:
        error = rd_kafka_incremental_unassign(rk, parts);
        atomic_store(&g->assigned, atomic_load(&g->assigned) - parts->cnt);
        break;
    }
    if (what == EB_REBALANCE_ASSIGN)
        atomic_store(&g->joined, 1);
    else if (what == EB_REBALANCE_ERROR && atomic_load(&g->assigned) <= 0)
        atomic_store(&g->joined, 0);
    if (current)
        rd_kafka_topic_partition_list_destroy(current);
    if (error) {
        EB_ERROR("rebalance: %s", rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    }
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    eb_group_t *g = opaque;

    if (rd_kafka_fatal_error(rk, NULL, 0)) {
        EB_ERROR("kafka consumer fatal error: %s", reason);
        g->fatal = 1;
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

/* Publishes consumer_lag{group,topic,partition} from librdkafka's statistics
 * for the partitions this member consumes, and hides the series of partitions
 * it no longer does, so summing over a group's instances counts each
 * partition once. */
static int on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
    eb_group_t *g = opaque;
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
            now[n] = eb_metric_series(g->m_lag, g->group_id, topic->string, part->string);
            eb_series_set(now[n++], lag);
        }
    }
    cJSON_Delete(root);
    for (size_t i = 0; i < g->nlag; i++) {
        size_t k = 0;

        while (k < n && now[k] != g->lag_series[i])
            k++;
        if (k == n)
            eb_series_hide(g->lag_series[i]);
    }
    memcpy(g->lag_series, now, n * sizeof(now[0]));
    g->nlag = n;
    return 0; /* librdkafka frees json */
}

void eb__group_init(eb_group_t *g, const char *group_id, eb_group_revoked_cb_t *revoked,
                    void *opaque)
{
    memset(g, 0, sizeof(*g));
    atomic_init(&g->joined, 0);
    atomic_init(&g->assigned, 0);
    g->revoked = revoked;
    g->opaque = opaque;
    g->group_id = group_id;
    g->m_lag = eb_metrics_gauge("consumer_lag",
                                "Messages behind the end of each partition this member consumes, "
                                "from librdkafka statistics",
                                "group,topic,partition");
}

void eb__group_free(eb_group_t *g)
{
    free(g->parts);
    g->parts = NULL;
    g->nparts = g->pcap = 0;
}

void eb__group_conf(eb_group_t *g, rd_kafka_conf_t *conf)
{
    rd_kafka_conf_set_opaque(conf, g);
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_stats_cb(conf, on_stats);
}
