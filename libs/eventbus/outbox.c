/*
 * The transactional outbox and its relay. See outbox.h for the design.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eb_int.h"
#include "eventbus/backoff.h"
#include "eventbus/envelope.h"
#include "eventbus/lifecycle.h"
#include "eventbus/log.h"
#include "eventbus/metrics.h"
#include "eventbus/outbox.h"
#include "eventbus/producer.h"

#define BUCKETS      4096 /* in-flight table, power of two */
#define RETRY_MIN_MS 250
/* Failed deliveries wait 250 ms, doubling: 250, 500, ..., 4000, then 8000
 * for good. (The relay once doubled "while below 5000", which settles at
 * 8000; eb_backoff_t with this cap keeps that sequence exactly.) */
#define RETRY_MAX_MS   8000
#define DRAIN_MS       5000
#define GAUGE_EVERY_MS 1000
#define CLAIM_COUNT    200

/* One outbox entry between XREADGROUP and XACK. */
typedef struct entry_s {
    struct entry_s *hnext; /* in-flight table chain */
    struct entry_s *qnext; /* ack or retry queue */
    uint64_t ms, seq;      /* the stream id */
    char id[48];
    char *topic, *key, *value, *traceparent, *tracestate;
    size_t value_len;
} entry_t;

typedef struct queue_s {
    entry_t *head, *tail;
    size_t len;
} queue_t;

struct eb_outbox_s {
    eb_outbox_opts_t o;
    eb_redis_addr_t redis_addr;
    char consumer[128];
    char stream[128];
    eb_redis_t *redis;
    eb_redis_pipeline_t *pipe; /* every command's; a result lives until the next */
    eb_producer_t *producer;
    pthread_t thread;
    int started;

    entry_t *table[BUCKETS];
    size_t inflight;
    queue_t acks;  /* delivered, to XACK + XDEL */
    queue_t retry; /* delivery failed, to produce again */
    int64_t retry_at;
    eb_backoff_t retry_backoff; /* for failed deliveries; reset by a success */
    int64_t next_claim, next_gauge, redis_backoff_until;
    int group_ready;
    int redis_down;   /* the last Redis call failed */
    int prune_warned; /* prune_members logged a refusal */

    eb_series_t *pending_gauge;
    _Atomic int64_t last_loop_ms;
    atomic_int failed; /* stopped on a fatal producer error */
};

/* ---- the write side ----------------------------------------------------------- */

void eb_outbox_append(eb_redis_pipeline_t *p, const char *stream, const eb_outbox_entry_t *e)
{
    const char *argv[] = {"XADD",         stream,       "*",          "topic",
                          e->topic,       "key",        e->key,       "value",
                          e->value,       "eventId",    e->event_id,  "traceparent",
                          e->traceparent, "tracestate", e->tracestate};
    size_t len[sizeof(argv) / sizeof(argv[0])];
    int argc = 11; /* the trace context is optional */

    if (e->traceparent && e->traceparent[0])
        argc = e->tracestate && e->tracestate[0] ? 15 : 13;

    for (int i = 0; i < argc; i++)
        len[i] = i == 8 ? e->value_len : strlen(argv[i]); /* the event, binary-safe */
    eb_redis_pipeline_append_argv(p, argc, argv, len);
}

/* ---- in-flight table ------------------------------------------------------ */

static int parse_id(const char *id, uint64_t *ms, uint64_t *seq)
{
    return sscanf(id, "%" SCNu64 "-%" SCNu64, ms, seq) == 2;
}

static entry_t **slot(eb_outbox_t *r, uint64_t ms, uint64_t seq)
{
    return &r->table[(ms * 31 + seq) & (BUCKETS - 1)];
}

static entry_t *lookup(eb_outbox_t *r, uint64_t ms, uint64_t seq)
{
    for (entry_t *e = *slot(r, ms, seq); e; e = e->hnext)
        if (e->ms == ms && e->seq == seq)
            return e;
    return NULL;
}

static void entry_free(entry_t *e)
{
    free(e->topic);
    free(e->key);
    free(e->value);
    free(e->traceparent);
    free(e->tracestate);
    free(e);
}

static void forget(eb_outbox_t *r, entry_t *e)
{
    for (entry_t **p = slot(r, e->ms, e->seq); *p; p = &(*p)->hnext) {
        if (*p == e) {
            *p = e->hnext;
            r->inflight--;
            break;
        }
    }
    entry_free(e);
}

static void enqueue(queue_t *q, entry_t *e)
{
    e->qnext = NULL;
    if (q->tail)
        q->tail->qnext = e;
    else
        q->head = e;
    q->tail = e;
    q->len++;
}

/* ---- producing ---------------------------------------------------------------- */

static void on_delivery(void *msg_opaque, eb_err_t err, const char *reason, void *opaque)
{
    eb_outbox_t *r = opaque;
    entry_t *e = msg_opaque;
    int64_t wait;

    if (err == EB_OK) {
        enqueue(&r->acks, e);
        eb_backoff_reset(&r->retry_backoff);
        return;
    }
    EB_WARN("outbox entry %s (%s) not delivered: %s; will retry", e->id, e->key, reason);
    /* Every failure counts; the first of a round of retries sets its time. */
    wait = eb_backoff_next(&r->retry_backoff);
    if (!r->retry.len)
        r->retry_at = eb_time_mono_ms() + wait;
    enqueue(&r->retry, e);
}

static void produce(eb_outbox_t *r, entry_t *e)
{
    eb_header_t hs[EB_EVENT_HEADERS_MAX];
    eb_record_t rec = {
        e->topic, EB_PARTITION_ANY, e->key, strlen(e->key),
        e->value, e->value_len,     hs,     eb__event_headers(hs, e->traceparent, e->tracestate),
        NULL};
    char errstr[256];

    if (eb_producer_send(r->producer, &rec, e, errstr, sizeof(errstr)) != EB_OK) {
        EB_WARN("outbox entry %s: %s; will retry", e->id, errstr);
        if (!r->retry.len) /* waits at the current step: a refusal is no delivery attempt */
            r->retry_at = eb_time_mono_ms() + eb_backoff_peek(&r->retry_backoff);
        enqueue(&r->retry, e);
    }
}

static char *dup_field(const eb_redis_result_t *v)
{
    char *s = malloc(v->len + 1);

    if (s) {
        memcpy(s, v->str, v->len);
        s[v->len] = '\0';
    }
    return s;
}

/* Takes one [id, [field, value, ...]] element; produces it unless it is
 * already in flight here. Malformed entries are logged and acknowledged. */
static void take_entry(eb_outbox_t *r, const eb_redis_result_t *el)
{
    eb_redis_result_t id, fields;
    uint64_t ms, seq;
    entry_t *e;

    if (el->kind != EB_REDIS_ARRAY || el->elements != 2)
        return;
    id = eb_redis_result_element(el, 0);
    fields = eb_redis_result_element(el, 1);
    if (id.kind != EB_REDIS_STRING || !parse_id(id.str, &ms, &seq) || id.len >= sizeof(e->id) ||
        lookup(r, ms, seq))
        return;
    if (fields.kind != EB_REDIS_ARRAY)
        return; /* deleted since it was read: nothing to publish */
    e = calloc(1, sizeof(*e));
    if (!e)
        return; /* stays pending; claimed again later */
    e->ms = ms;
    e->seq = seq;
    memcpy(e->id, id.str, id.len + 1);
    int present = 0, copied = 0;
    for (size_t i = 0; i + 1 < fields.elements; i += 2) {
        eb_redis_result_t k = eb_redis_result_element(&fields, i);
        eb_redis_result_t v = eb_redis_result_element(&fields, i + 1);
        char **dst = strcmp(k.str, "topic") == 0         ? &e->topic
                     : strcmp(k.str, "key") == 0         ? &e->key
                     : strcmp(k.str, "value") == 0       ? &e->value
                     : strcmp(k.str, "traceparent") == 0 ? &e->traceparent
                     : strcmp(k.str, "tracestate") == 0  ? &e->tracestate
                                                         : NULL;

        if (!dst || *dst)
            continue;
        present++;
        if ((*dst = dup_field(&v)) != NULL)
            copied++;
        if (dst == &e->value)
            e->value_len = v.len;
    }
    if (copied < present) {
        entry_free(e); /* out of memory: it stays pending and is claimed again later */
        return;
    }
    e->hnext = *slot(r, ms, seq);
    *slot(r, ms, seq) = e;
    r->inflight++;
    if (!e->topic || !e->key || !e->value) {
        EB_ERROR("outbox entry %s is malformed (needs topic, key, value); dropping it", e->id);
        enqueue(&r->acks, e);
        return;
    }
    produce(r, e);
}

static void take_entries(eb_outbox_t *r, const eb_redis_result_t *list)
{
    for (size_t i = 0; list->kind == EB_REDIS_ARRAY && i < list->elements; i++) {
        eb_redis_result_t el = eb_redis_result_element(list, i);

        take_entry(r, &el);
    }
}

/* The entries of an XREADGROUP reply on the one stream read,
 * [[stream, [entry, ...]]]; EB_REDIS_NOREPLY when it has another shape. */
static eb_redis_result_t stream_entries(const eb_redis_result_t *rep)
{
    eb_redis_result_t stream = eb_redis_result_element(rep, 0);
    eb_redis_result_t none = {EB_REDIS_NOREPLY, "", 0, 0, 0, NULL};

    if (rep->kind != EB_REDIS_ARRAY || rep->elements != 1 || stream.elements != 2)
        return none;
    return eb_redis_result_element(&stream, 1);
}

/* ---- Redis side --------------------------------------------------------------- */

/* Runs one command on the relay's pipeline. The result lives until the next
 * command: copy what must last longer. */
static eb_redis_result_t command(eb_outbox_t *r, const char *fmt, ...)
{
    va_list ap;

    eb_redis_pipeline_clear(r->pipe);
    va_start(ap, fmt);
    eb_redis_pipeline_appendv(r->pipe, fmt, ap);
    va_end(ap);
    (void)eb_redis_pipeline_exec(r->pipe);
    return eb_redis_pipeline_result(r->pipe, 0);
}

/* The outbox stream or its group is gone: Redis lost its data (restarted
 * without persistence, FLUSHALL). Every step that names the group says so
 * its own way. */
static int group_lost(const eb_redis_result_t *rep)
{
    return rep && rep->kind == EB_REDIS_ERROR &&
           (strncmp(rep->str, "NOGROUP", 7) == 0 || strstr(rep->str, "no such key") != NULL);
}

/* Logs the first failure of an outage (not every retry) and backs off. A
 * lost group is created again on the next turn (ensure_group), whichever
 * step noticed: orders accepted after the loss must still be published. */
static int redis_failed(eb_outbox_t *r, const char *what, const eb_redis_result_t *rep)
{
    int error_reply = rep && rep->kind == EB_REDIS_ERROR;

    if (group_lost(rep))
        r->group_ready = 0;
    if (!r->redis_down || error_reply)
        EB_WARN("outbox relay: %s: %s; retrying", what,
                error_reply ? rep->str : "redis unreachable");
    r->redis_down = 1;
    r->redis_backoff_until = eb_time_mono_ms() + 500;
    return -1;
}

static int ensure_group(eb_outbox_t *r)
{
    /* "0": entries written before the group existed are published too. */
    eb_redis_result_t rep =
        command(r, "XGROUP CREATE %s %s 0 MKSTREAM", r->stream, EB_OUTBOX_GROUP);

    if (rep.kind == EB_REDIS_NOREPLY ||
        (rep.kind == EB_REDIS_ERROR && strncmp(rep.str, "BUSYGROUP", 9) != 0))
        return redis_failed(r, "creating the relay group", &rep);
    r->group_ready = 1;
    return 0;
}

/* How many more entries may be taken in flight, at most want. */
static int room(const eb_outbox_t *r, int want)
{
    size_t max = (size_t)r->o.max_inflight;
    size_t left = r->inflight >= max ? 0 : max - r->inflight;

    return left < (size_t)want ? (int)left : want;
}

/* Reads entries delivered to this consumer before (after a restart with the
 * same INSTANCE_ID). What does not fit in flight now stays pending and is
 * claimed back once it has been idle long enough. */
static int read_own_pending(eb_outbox_t *r)
{
    char after[48] = "0";

    while (room(r, r->o.batch) > 0) {
        eb_redis_result_t rep =
            command(r, "XREADGROUP GROUP %s %s COUNT %d STREAMS %s %s", EB_OUTBOX_GROUP,
                    r->consumer, room(r, r->o.batch), r->stream, after);
        eb_redis_result_t entries, last, last_id;

        if (rep.kind == EB_REDIS_NOREPLY || rep.kind == EB_REDIS_ERROR)
            return redis_failed(r, "reading own pending entries", &rep);
        entries = stream_entries(&rep);
        if (entries.elements == 0)
            return 0;
        take_entries(r, &entries);
        last = eb_redis_result_element(&entries, entries.elements - 1);
        last_id = eb_redis_result_element(&last, 0);
        if (last_id.kind != EB_REDIS_STRING)
            return 0;
        snprintf(after, sizeof(after), "%s", last_id.str);
    }
    return 0;
}

/* Resets the idle time of the entries this relay has in flight (XCLAIM
 * JUSTID to itself), so that during a long Kafka outage they do not look
 * abandoned to another relay's XAUTOCLAIM. */
static int touch_inflight(eb_outbox_t *r)
{
    size_t n = 0, cap = r->inflight + 6;
    const char **argv;
    eb_redis_result_t rep;

    if (r->inflight == 0)
        return 0;
    argv = malloc(cap * sizeof(*argv));
    if (!argv)
        return 0; /* they may be claimed twice; consumers skip the repeat */
    argv[n++] = "XCLAIM";
    argv[n++] = r->stream;
    argv[n++] = EB_OUTBOX_GROUP;
    argv[n++] = r->consumer;
    argv[n++] = "0";
    for (size_t b = 0; b < BUCKETS; b++)
        for (entry_t *e = r->table[b]; e && n < cap - 1; e = e->hnext)
            argv[n++] = e->id;
    argv[n++] = "JUSTID";
    eb_redis_pipeline_clear(r->pipe);
    eb_redis_pipeline_append_argv(r->pipe, (int)n, argv, NULL);
    free(argv);
    (void)eb_redis_pipeline_exec(r->pipe);
    rep = eb_redis_pipeline_result(r->pipe, 0);
    if (rep.kind != EB_REDIS_ARRAY)
        return redis_failed(r, "XCLAIM of in-flight entries", &rep);
    return 0;
}

/* Takes over entries pending longer than claim_idle_ms, whoever had them,
 * as many as fit in flight. */
static int autoclaim(eb_outbox_t *r)
{
    char start[48] = "0-0";

    for (int round = 0; round < 50 && room(r, CLAIM_COUNT) > 0; round++) {
        eb_redis_result_t rep =
            command(r, "XAUTOCLAIM %s %s %s %d %s COUNT %d", r->stream, EB_OUTBOX_GROUP,
                    r->consumer, r->o.claim_idle_ms, start, room(r, CLAIM_COUNT));
        eb_redis_result_t entries = eb_redis_result_element(&rep, 1);
        eb_redis_result_t next = eb_redis_result_element(&rep, 0);

        if (rep.kind != EB_REDIS_ARRAY || rep.elements < 2)
            return redis_failed(r, "XAUTOCLAIM", &rep);
        take_entries(r, &entries);
        snprintf(start, sizeof(start), "%s", next.str);
        if (strcmp(start, "0-0") == 0)
            break;
    }
    return 0;
}

/* Reads new entries; blocks up to block_ms when there is nothing else to do. */
static int read_new(eb_outbox_t *r, int block_ms)
{
    int count = room(r, r->o.batch);
    eb_redis_result_t rep, entries;
    size_t before = r->inflight;

    if (count == 0)
        return 0;
    if (block_ms > 0)
        rep = command(r, "XREADGROUP GROUP %s %s COUNT %d BLOCK %d STREAMS %s >", EB_OUTBOX_GROUP,
                      r->consumer, count, block_ms, r->stream);
    else
        rep = command(r, "XREADGROUP GROUP %s %s COUNT %d STREAMS %s >", EB_OUTBOX_GROUP,
                      r->consumer, count, r->stream);
    if (rep.kind == EB_REDIS_NOREPLY || rep.kind == EB_REDIS_ERROR)
        return redis_failed(r, "XREADGROUP", &rep);
    entries = stream_entries(&rep);
    take_entries(r, &entries);
    return (int)(r->inflight - before);
}

/* Removes idle, empty members from the relay group. Every start under a
 * new INSTANCE_ID (hostname-pid by default) adds a member, and XAUTOCLAIM
 * takes a dead relay's entries but not its name, so without this the group
 * grows with every restart. The script removes every member other than
 * this relay's with nothing pending and idle for twice the claim time.
 * That can include a live relay that has had nothing to read for that
 * long (on Redis 7.0 an empty XREADGROUP does not reset a member's idle
 * time); that is harmless: having nothing pending, it loses nothing, and
 * its next XREADGROUP adds it back. The check and the removal are one
 * script, so no entry can be delivered to a member between the two. */
static const char prune_script[] =
    "local n = 0 "
    "for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do "
    "  local f = {} "
    "  for i = 1, #c, 2 do f[c[i]] = c[i + 1] end "
    "  if f['name'] ~= ARGV[2] and f['pending'] == 0 and f['idle'] > tonumber(ARGV[3]) then "
    "    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], f['name']) "
    "    n = n + 1 "
    "  end "
    "end "
    "return n";

/* Housekeeping: a failure here must never hold up publishing. A lost
 * group or a dropped connection is left to the next step to handle; any
 * other refusal (say an ACL without XINFO) is logged once. */
static void prune_members(eb_outbox_t *r)
{
    eb_redis_result_t rep = command(r, "EVAL %s 1 %s %s %s %d", prune_script, r->stream,
                                    EB_OUTBOX_GROUP, r->consumer, 2 * r->o.claim_idle_ms);

    if (rep.kind == EB_REDIS_INTEGER && rep.integer > 0)
        EB_DEBUG("outbox relay: removed %lld idle member(s) with nothing pending from the group",
                 (long long)rep.integer);
    else if (rep.kind == EB_REDIS_ERROR && !group_lost(&rep) && !r->prune_warned) {
        EB_WARN("outbox relay: cannot remove idle group members (%s); the group keeps them",
                rep.str);
        r->prune_warned = 1;
    }
}

/* XACK + XDEL every delivered entry, in one pipeline. */
static int flush_acks(eb_outbox_t *r)
{
    size_t n = r->acks.len, i = 0;
    const char **argv;
    eb_redis_result_t a, d;

    if (n == 0)
        return 0;
    argv = malloc((n + 3) * sizeof(*argv));
    if (!argv)
        return redis_failed(r, "acknowledging delivered entries", NULL);
    eb_redis_pipeline_clear(r->pipe);
    argv[0] = "XACK";
    argv[1] = r->stream;
    argv[2] = EB_OUTBOX_GROUP;
    for (entry_t *e = r->acks.head; e; e = e->qnext)
        argv[3 + i++] = e->id;
    eb_redis_pipeline_append_argv(r->pipe, (int)(n + 3), argv, NULL);
    argv[1] = "XDEL";
    argv[2] = r->stream;
    eb_redis_pipeline_append_argv(r->pipe, (int)(n + 2), argv + 1, NULL);
    free(argv);
    (void)eb_redis_pipeline_exec(r->pipe);
    a = eb_redis_pipeline_result(r->pipe, 0);
    d = eb_redis_pipeline_result(r->pipe, 1);
    if (a.kind != EB_REDIS_INTEGER || d.kind != EB_REDIS_INTEGER)
        return redis_failed(r, "XACK/XDEL", &d);
    while (r->acks.head) {
        entry_t *e = r->acks.head;

        r->acks.head = e->qnext;
        forget(r, e);
    }
    r->acks.tail = NULL;
    r->acks.len = 0;
    return 0;
}

static void produce_retries(eb_outbox_t *r)
{
    queue_t q = r->retry;

    if (!q.len || eb_time_mono_ms() < r->retry_at)
        return;
    memset(&r->retry, 0, sizeof(r->retry));
    while (q.head) {
        entry_t *e = q.head;

        q.head = e->qnext;
        produce(r, e);
    }
}

static void update_gauge(eb_outbox_t *r)
{
    eb_redis_result_t rep;

    if (eb_time_mono_ms() < r->next_gauge)
        return;
    r->next_gauge = eb_time_mono_ms() + GAUGE_EVERY_MS;
    rep = command(r, "XLEN %s", r->stream);
    if (rep.kind == EB_REDIS_INTEGER)
        eb_series_set(r->pending_gauge, (double)rep.integer);
}

/* ---- the thread ---------------------------------------------------------------- */

static void *relay_main(void *arg)
{
    eb_outbox_t *r = arg;
    int recovered = 0;

    EB_INFO("outbox relay started as %s", r->consumer);
    while (!eb_stop_flag) {
        int64_t now = eb_time_mono_ms();
        int got = 0, busy;

        if (eb_producer_fatal(r->producer)) {
            EB_ERROR("outbox relay: the producer failed for good; stopping the service");
            atomic_store(&r->failed, 1);
            eb_lifecycle_request_stop();
            break;
        }
        atomic_store(&r->last_loop_ms, now);
        if (now < r->redis_backoff_until) {
            eb_producer_poll(r->producer, 50);
            continue;
        }
        if (!r->group_ready && ensure_group(r) != 0)
            continue;
        if (!recovered) {
            if (read_own_pending(r) != 0)
                continue;
            recovered = 1;
        }
        if (now >= r->next_claim) {
            if (touch_inflight(r) != 0 || autoclaim(r) != 0)
                continue;
            prune_members(r);
            r->next_claim = now + r->o.claim_idle_ms / 2;
        }
        produce_retries(r);
        busy = r->inflight > 0 || r->acks.len > 0;
        got = read_new(r, busy ? 0 : 100);
        if (got >= 0 && r->redis_down) {
            EB_INFO("outbox relay: redis reachable again");
            r->redis_down = 0;
        }
        /* Wait briefly for delivery reports only when nothing new came in. */
        eb_producer_poll(r->producer, got > 0 || !busy ? 0 : 2);
        flush_acks(r);
        update_gauge(r);
    }

    /* Drain: what is in flight gets its delivery report and acknowledgement;
     * what was never read stays in the stream for the next start. */
    int64_t deadline = eb_time_mono_ms() + DRAIN_MS;
    while ((r->inflight > r->retry.len) && eb_time_mono_ms() < deadline) {
        eb_producer_poll(r->producer, 50);
        if (flush_acks(r) != 0)
            break;
    }
    EB_INFO("outbox relay stopped (%zu entries left pending for the next start)", r->inflight);
    return NULL;
}

eb_outbox_t *eb_outbox_new(rd_kafka_conf_t *pconf, const eb_outbox_opts_t *opts, char *errstr,
                           size_t errstr_size)
{
    eb_outbox_t *r = calloc(1, sizeof(*r));

    if (!r) {
        rd_kafka_conf_destroy(pconf);
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    r->o = *opts;
    r->redis_addr = *opts->redis;
    snprintf(r->consumer, sizeof(r->consumer), "%s", opts->consumer);
    snprintf(r->stream, sizeof(r->stream), "%s", opts->stream);
    eb_backoff_init(&r->retry_backoff, RETRY_MIN_MS, RETRY_MAX_MS, 0);
    atomic_init(&r->last_loop_ms, eb_time_mono_ms());
    r->pending_gauge = eb_metric_series(
        eb_metrics_gauge("outbox_pending", "Outbox entries not yet acknowledged by Kafka", NULL));
    r->redis = eb_redis_new(&r->redis_addr);
    r->pipe = r->redis ? eb_redis_pipeline_new(r->redis) : NULL;
    r->producer = eb_producer_new(pconf, on_delivery, r, errstr, errstr_size);
    if (!r->redis || !r->pipe || !r->producer) {
        eb_outbox_destroy(r);
        return NULL;
    }
    return r;
}

int eb_outbox_start(eb_outbox_t *r)
{
    if (pthread_create(&r->thread, NULL, relay_main, r) != 0)
        return -1;
    r->started = 1;
    return 0;
}

int eb_outbox_failed(eb_outbox_t *r)
{
    return r && atomic_load(&r->failed);
}

int64_t eb_outbox_last_loop_ms(eb_outbox_t *r)
{
    return atomic_load(&r->last_loop_ms);
}

rd_kafka_t *eb_outbox_kafka(eb_outbox_t *r)
{
    return eb_producer_handle(r->producer);
}

void eb_outbox_destroy(eb_outbox_t *r)
{
    if (!r)
        return;
    if (r->started)
        pthread_join(r->thread, NULL);
    /* Reports still outstanding arrive as failures here and land in the
     * retry queue; they stay pending in Redis for the next start. */
    eb_producer_destroy(r->producer, 0);
    for (size_t i = 0; i < BUCKETS; i++) {
        while (r->table[i]) {
            entry_t *e = r->table[i];

            r->table[i] = e->hnext;
            entry_free(e);
        }
    }
    eb_redis_pipeline_destroy(r->pipe);
    eb_redis_destroy(r->redis);
    free(r);
}
