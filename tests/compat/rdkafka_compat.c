/*
 * rdkafka_compat: does this librdkafka still work against this Kafka cluster?
 *
 *   rdkafka_compat <bootstrap-servers> [<topic-prefix>]
 *
 * Why. The suite is built on Debian 12's librdkafka 2.0.2 (January 2023).
 * Kafka 4.0 removed the protocol versions deprecated in 3.x (KIP-896). Going
 * by the ApiVersions a 3.9.2 and a 4.4.0 broker advertise, the oldest
 * versions went up for Fetch (v4), ListOffsets (v1), OffsetCommit (v2),
 * OffsetFetch (v1), OffsetForLeaderEpoch (v2), CreateTopics (v2),
 * DeleteTopics (v1) and DescribeConfigs (v1); Produce v0-v2 are gone too but
 * still advertised (KAFKA-18659: librdkafka's compression check looks for
 * Produce v0). Later releases keep moving (KIP-890 transactions v2, KIP-848
 * group protocol). librdkafka 2.0.2 predates all of that: it negotiates
 * versions with ApiVersions and picks the highest one both sides know, which
 * works only as long as the broker still accepts one of the versions 2.0.2
 * implements for every request the suite sends. A broker that no longer does
 * answers UNSUPPORTED_VERSION, or librdkafka gives up locally with
 * _UNSUPPORTED_FEATURE, and the symptom in a service is a stuck consumer
 * group or a producer that never initialises. This probe exercises, against
 * a running cluster, each librdkafka feature the suite relies on, so an
 * upgrade of either side is checked in a minute instead of being discovered
 * by a service:
 *
 *   idempotent-producer          enable.idempotence, acks=all, 1000 messages
 *   cooperative-sticky           two members, incremental (un)assign, every
 *                                message consumed exactly once, commits
 *   transactions                 commit and abort; read_committed sees only
 *                                the committed records, read_uncommitted all
 *   send-offsets-to-transaction  consume-transform-produce with the group's
 *                                offsets committed inside the transaction
 *   fencing                      a second producer with the same
 *                                transactional.id fences the first (fatal)
 *   statistics                   statistics.interval.ms JSON with brokers and
 *                                per-partition consumer_lag (the suite's lag
 *                                metric is read from it)
 *   admin                        CreateTopics, DescribeConfigs, DeleteRecords,
 *                                ListConsumerGroups, DeleteGroups (kafka-local)
 *
 * Output, on stdout: a first line "cluster: ..." (brokers, controller, cluster
 * id, and the ApiVersions ranges the broker advertised for the requests the
 * suite uses, taken from librdkafka's "feature" debug log), then one line per
 * feature, "<feature>: ok (<detail>)" or "<feature>: FAIL (<error name>:
 * <text>, in <librdkafka API>())". librdkafka's own log lines go to stderr.
 * Exit status: 0 when every feature passed, 1 when one failed (or the cluster
 * could not be reached), 2 on bad usage.
 *
 * Every wait has a deadline: each feature has its own budget, all of them
 * together at most RUN_BUDGET_MS, and a SIGALRM watchdog ends the process
 * after WATCHDOG_S whatever a broker does. Topics and groups are named
 * <prefix><pid>-<time>-<feature> (prefix "compat-" by default), so runs never
 * see each other's data; they are deleted at the end (best effort).
 *
 * Everything runs on the main thread: the two members of the cooperative
 * group are two rd_kafka_t polled in turn, and every callback (delivery
 * reports, rebalances, statistics, errors) is served by those polls.
 */
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#define PARTITIONS    3     /* of every topic the probe creates */
#define N_IDEM        1000  /* messages of idempotent-producer, consumed by cooperative-sticky */
#define N_FIRST       300   /* of those, consumed by the first member before the second joins */
#define N_TXN         10    /* records per transaction in transactions */
#define N_SOTX        20    /* records through the consume-transform-produce round */
#define RUN_BUDGET_MS 75000 /* all features together */
#define CLEANUP_MS    6000  /* deleting what the run created, after the features... */
#define END_MS        85000 /* ...but done by then */
#define WATCHDOG_S    90    /* hard limit for the whole process */
#define SETTLE_MS     500   /* extra polling after the last expected message */
#define CLOSE_MS      10000 /* leaving a group */
#define MAX_NAMES     16
#define NAME_LEN      200
#define API_KEYS      128
#define DETAIL_LEN    1024
#define STR(x)        #x
#define XSTR(x)       STR(x)

/* ---- run-wide state ------------------------------------------------------ */

static const char *g_bootstrap;
static char g_prefix[120];          /* <prefix><pid>-<time> */
static int64_t g_start;             /* monotonic ms at start */
static int64_t g_deadline;          /* monotonic ms by which every feature must be done */
static int g_brokers;               /* in the first metadata answer */
static int g_rf;                    /* replication factor of created topics: min(3, brokers) */
static rd_kafka_t *g_admin;         /* a producer handle that runs the Admin API calls */
static char g_data_topic[NAME_LEN]; /* holds N_IDEM messages once one feature produced them */
static char g_topics[MAX_NAMES][NAME_LEN]; /* created topics, deleted at the end */
static int g_ntopics;
static char g_groups[MAX_NAMES][NAME_LEN]; /* groups with committed offsets, deleted at the end */
static int g_ngroups;
static volatile sig_atomic_t g_running = -1; /* index of the feature running, for the watchdog */

/* Per rd_kafka_t state, the handle's opaque: what its callbacks saw. */
typedef struct client_s {
    const char *label; /* for client.id and messages */
    /* Delivery reports (producers). */
    int delivered, failed;
    rd_kafka_resp_err_t dr_err; /* first failed delivery */
    char dr_errstr[256];
    int per_partition[PARTITIONS];
    /* error_cb: the last error, and whether it was fatal. */
    rd_kafka_resp_err_t err;
    char errstr[256];
    bool fatal;
    /* Group membership (consumers): partitions of topic owned now. */
    const char *topic;
    bool owned[PARTITIONS];
    int rebalances;
    char protocol[16];
    char rb_error[256]; /* the first failed (incremental_)(un)assign or commit */
    int consumed;
    rd_kafka_resp_err_t poll_err; /* the last error message from consumer_poll */
    char poll_errstr[256];
    /* Statistics of topic (consumers with statistics.interval.ms). */
    int stats_count;
    bool stats_seen;    /* a JSON with brokers and consumer_lag on topic's partitions */
    bool stats_settled; /* ... and every partition's consumer_lag >= 0 */
    char stats_detail[512];
    int64_t stats_start;
    /* ApiVersions from the "feature" debug log (the cluster probe). */
    bool capture_log;
    int api_min[API_KEYS], api_max[API_KEYS];
} client_t;

/* ---- time, names, failures ----------------------------------------------- */

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left until until, at least 0. */
static int left(int64_t until)
{
    int64_t l = until - now_ms();

    return l < 0 ? 0 : l > INT_MAX ? INT_MAX : (int)l;
}

static int min_int(int a, int b)
{
    return a < b ? a : b;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

    nanosleep(&ts, NULL);
}

/* <prefix><pid>-<time>-<what> */
static void make_name(char *buf, const char *what)
{
    snprintf(buf, NAME_LEN, "%s-%s", g_prefix, what);
}

static void remember(char list[][NAME_LEN], int *count, const char *name)
{
    if (*count < MAX_NAMES)
        snprintf(list[(*count)++], NAME_LEN, "%s", name);
}

__attribute__((format(printf, 3, 4))) static bool failf(char *d, size_t n, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(d, n, fmt, ap);
    va_end(ap);
    return false;
}

/* "<ERR_NAME>: <text>, in <api>()"; text defaults to librdkafka's for err. */
static bool fail_err(char *d, size_t n, const char *api, rd_kafka_resp_err_t err, const char *text)
{
    return failf(d, n, "%s: %s, in %s()", rd_kafka_err2name(err),
                 text && *text ? text : rd_kafka_err2str(err), api);
}

/* The same for an rd_kafka_error_t, which it destroys. */
static bool fail_error(char *d, size_t n, const char *api, rd_kafka_error_t *e)
{
    failf(d, n, "%s: %s%s, in %s()", rd_kafka_error_name(e), rd_kafka_error_string(e),
          rd_kafka_error_is_fatal(e)             ? " [fatal]"
          : rd_kafka_error_txn_requires_abort(e) ? " [abortable]"
          : rd_kafka_error_is_retriable(e)       ? " [retriable]"
                                                 : "",
          api);
    rd_kafka_error_destroy(e);
    return false;
}

/* Appends the handle's last error_cb error to a failure detail, if any. */
static void add_last_error(char *d, size_t n, const client_t *cl)
{
    size_t len = strlen(d);

    if (cl->err && len + 1 < n)
        snprintf(d + len, n - len, "; last client error %s: %s", rd_kafka_err2name(cl->err),
                 cl->errstr);
}

/* ---- callbacks ----------------------------------------------------------- */

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    client_t *cl = opaque;

    cl->err = (rd_kafka_resp_err_t)err;
    snprintf(cl->errstr, sizeof(cl->errstr), "%s", reason);
    if (err == RD_KAFKA_RESP_ERR__FATAL)
        cl->fatal = true;
    fprintf(stderr, "rdkafka_compat: %s: error %s: %s\n", cl->label,
            rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    client_t *cl = opaque;

    if (m->err) {
        if (!cl->failed++) {
            cl->dr_err = m->err;
            snprintf(cl->dr_errstr, sizeof(cl->dr_errstr), "%s", rd_kafka_message_errstr(m));
        }
        return;
    }
    cl->delivered++;
    if (m->partition >= 0 && m->partition < PARTITIONS)
        cl->per_partition[m->partition]++;
}

/* Records the first failure of the rebalance callback. */
static void rebalance_failed(client_t *cl, const char *api, rd_kafka_resp_err_t err,
                             rd_kafka_error_t *e)
{
    if (!cl->rb_error[0]) {
        if (e)
            snprintf(cl->rb_error, sizeof(cl->rb_error), "%s: %s, in %s()", rd_kafka_error_name(e),
                     rd_kafka_error_string(e), api);
        else
            snprintf(cl->rb_error, sizeof(cl->rb_error), "%s: %s, in %s()", rd_kafka_err2name(err),
                     rd_kafka_err2str(err), api);
    }
    if (e)
        rd_kafka_error_destroy(e);
}

static void mark_owned(client_t *cl, const rd_kafka_topic_partition_list_t *parts, bool owned)
{
    for (int i = 0; parts && i < parts->cnt; i++) {
        const rd_kafka_topic_partition_t *p = &parts->elems[i];

        if (cl->topic && !strcmp(p->topic, cl->topic) && p->partition >= 0 &&
            p->partition < PARTITIONS)
            cl->owned[p->partition] = owned;
    }
}

/* rd_kafka_commit(), synchronous but bounded: a sync rd_kafka_commit() waits
 * for the coordinator as long as it takes. Per-partition errors count, and
 * the API named in failures is rd_kafka_commit_queue(). */
static rd_kafka_resp_err_t
commit_wait(rd_kafka_t *rk, const rd_kafka_topic_partition_list_t *offsets, int timeout_ms)
{
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_resp_err_t err = rd_kafka_commit_queue(rk, offsets, q, NULL, NULL);
    rd_kafka_event_t *ev;

    if (!err) {
        ev = rd_kafka_queue_poll(q, timeout_ms);
        err = ev ? rd_kafka_event_error(ev) : RD_KAFKA_RESP_ERR__TIMED_OUT;
        if (ev && !err) {
            const rd_kafka_topic_partition_list_t *l = rd_kafka_event_topic_partition_list(ev);

            for (int i = 0; l && i < l->cnt && !err; i++)
                err = l->elems[i].err;
        }
        if (ev)
            rd_kafka_event_destroy(ev);
    }
    rd_kafka_queue_destroy(q);
    return err;
}

/* Incremental (COOPERATIVE) or eager assignment, as the group chose; offsets
 * consumed so far are committed before partitions are handed back, so the next
 * owner starts where this one stopped. */
static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    client_t *cl = opaque;
    const char *proto = rd_kafka_rebalance_protocol(rk);
    bool coop = proto && !strcmp(proto, "COOPERATIVE");
    rd_kafka_resp_err_t e;

    snprintf(cl->protocol, sizeof(cl->protocol), "%s", proto ? proto : "NONE");
    cl->rebalances++;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        if (coop) {
            rd_kafka_error_t *error = rd_kafka_incremental_assign(rk, parts);

            if (error)
                rebalance_failed(cl, "rd_kafka_incremental_assign", 0, error);
        } else if ((e = rd_kafka_assign(rk, parts))) {
            rebalance_failed(cl, "rd_kafka_assign", e, NULL);
        }
        mark_owned(cl, parts, true);
        return;
    }
    if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS && !rd_kafka_assignment_lost(rk)) {
        e = commit_wait(rk, NULL, 5000);
        if (e && e != RD_KAFKA_RESP_ERR__NO_OFFSET)
            rebalance_failed(cl, "rd_kafka_commit_queue", e, NULL);
    } else if (err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
        rebalance_failed(cl, "rebalance_cb", err, NULL);
    }
    if (coop && err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
        rd_kafka_error_t *error = rd_kafka_incremental_unassign(rk, parts);

        if (error)
            rebalance_failed(cl, "rd_kafka_incremental_unassign", 0, error);
        mark_owned(cl, parts, false);
    } else {
        rd_kafka_assign(rk, NULL);
        memset(cl->owned, 0, sizeof(cl->owned));
    }
}

/* The "feature" debug log carries the broker's ApiVersions answer, one line
 * per request type: "  ApiKey Produce (0) Versions 3..12". Other debug lines
 * are dropped, everything else goes to stderr. */
static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    client_t *cl = rd_kafka_opaque(rk);
    const char *p = strstr(buf, "ApiKey ");
    int key, lo, hi;

    if (p && (p = strchr(p, '(')) && sscanf(p, "(%d) Versions %d..%d", &key, &lo, &hi) == 3 &&
        key >= 0 && key < API_KEYS && cl->api_max[key] < 0) {
        cl->api_min[key] = lo;
        cl->api_max[key] = hi;
        return;
    }
    if (level < 7)
        fprintf(stderr, "rdkafka_compat: %s: %s: %s\n", cl->label, fac, buf);
}

/* ---- a minimal JSON reader, enough for librdkafka's statistics ----------- */

static const char *json_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    return p;
}

/* Past the value at p (object, array, string or scalar), or NULL. */
static const char *json_skip(const char *p, const char *end)
{
    int depth = 0;
    bool str = false;

    p = json_ws(p, end);
    if (p >= end)
        return NULL;
    if (*p != '{' && *p != '[' && *p != '"') {
        while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n')
            p++;
        return p;
    }
    for (; p < end; p++) {
        if (str) {
            if (*p == '\\') {
                p++;
            } else if (*p == '"') {
                str = false;
                if (depth == 0)
                    return p + 1;
            }
        } else if (*p == '"') {
            str = true;
        } else if (*p == '{' || *p == '[') {
            depth++;
        } else if ((*p == '}' || *p == ']') && --depth == 0) {
            return p + 1;
        }
    }
    return NULL;
}

/* The value of the idx-th member of the object at p, its name in key/klen. */
static const char *json_nth(const char *p, const char *end, int idx, const char **key, size_t *klen)
{
    p = json_ws(p, end);
    if (p >= end || *p != '{')
        return NULL;
    p++;
    for (int i = 0;; i++) {
        const char *k, *kend;

        p = json_ws(p, end);
        if (p >= end || *p != '"')
            return NULL;
        k = p + 1;
        if (!(kend = json_skip(p, end)))
            return NULL;
        p = json_ws(kend, end);
        if (p >= end || *p != ':')
            return NULL;
        p = json_ws(p + 1, end);
        if (i == idx) {
            *key = k;
            *klen = (size_t)(kend - 1 - k);
            return p;
        }
        if (!(p = json_skip(p, end)))
            return NULL;
        p = json_ws(p, end);
        if (p >= end || *p != ',')
            return NULL;
        p++;
    }
}

/* The value of member name of the object at p, or NULL. */
static const char *json_member(const char *p, const char *end, const char *name)
{
    const char *key, *v;
    size_t klen;

    for (int i = 0; (v = json_nth(p, end, i, &key, &klen)); i++)
        if (klen == strlen(name) && !memcmp(key, name, klen))
            return v;
    return NULL;
}

/* Statistics: brokers, and consumer_lag for each partition of cl->topic. */
static int on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
    client_t *cl = opaque;
    const char *end = json + len, *brokers, *topics, *topic = NULL, *parts = NULL, *key, *v;
    char lags[200] = "";
    int nbrokers = 0, nlag = 0, nsettled = 0;
    size_t klen, used = 0;

    if (!cl->topic)
        return 0;
    cl->stats_count++;
    brokers = json_member(json, end, "brokers");
    topics = json_member(json, end, "topics");
    if (topics)
        topic = json_member(topics, end, cl->topic);
    if (topic)
        parts = json_member(topic, end, "partitions");
    for (int i = 0; brokers && (v = json_nth(brokers, end, i, &key, &klen)); i++) {
        /* Real brokers: not the logical coordinator handles, nor the internal one. */
        const char *id = json_member(v, end, "nodeid"), *src = json_member(v, end, "source");

        nbrokers += id && strtol(id, NULL, 10) >= 0 && src && strncmp(src, "\"logical\"", 9) &&
                    strncmp(src, "\"internal\"", 10);
    }
    for (int i = 0; parts && (v = json_nth(parts, end, i, &key, &klen)); i++) {
        const char *lag = json_member(v, end, "consumer_lag");
        long long l;

        if ((klen == 2 && !memcmp(key, "-1", 2)) || !lag) /* -1: librdkafka's UA partition */
            continue;
        l = strtoll(lag, NULL, 10);
        nlag++;
        nsettled += l >= 0;
        if (used < sizeof(lags))
            used += (size_t)snprintf(lags + used, sizeof(lags) - used, "%sp%.*s=%lld",
                                     used ? " " : "", (int)klen, key, l);
    }
    if (!brokers || !nlag)
        return 0; /* not yet: the topic's partitions appear once assigned */
    cl->stats_seen = true;
    cl->stats_settled = nsettled == nlag && nlag == PARTITIONS;
    snprintf(cl->stats_detail, sizeof(cl->stats_detail),
             "JSON #%d (%zu bytes) %.1f s after start: \"brokers\" with %d broker(s), "
             "topic partitions with consumer_lag %s",
             cl->stats_count, len, (double)(now_ms() - cl->stats_start) / 1000.0, nbrokers, lags);
    return 0; /* librdkafka frees json */
}

/* ---- handles ------------------------------------------------------------- */

static bool conf_set(rd_kafka_conf_t *conf, const char *k, const char *v, char *d, size_t n)
{
    char errstr[512];

    if (rd_kafka_conf_set(conf, k, v, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK)
        return failf(d, n, "_INVALID_ARG: %s, in rd_kafka_conf_set(%s=%s)", errstr, k, v);
    return true;
}

/* A producer or consumer for cl, with key/value properties ending with NULL.
 * Consumers get the rebalance and statistics callbacks, and their main queue
 * is served by rd_kafka_consumer_poll(). */
static rd_kafka_t *client_new(rd_kafka_type_t type, client_t *cl, char *d, size_t n, ...)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char id[NAME_LEN + 32], errstr[512];
    const char *k, *v;
    rd_kafka_t *rk;
    va_list ap;
    bool ok;

    snprintf(id, sizeof(id), "%s-%s", g_prefix, cl->label);
    ok = conf_set(conf, "bootstrap.servers", g_bootstrap, d, n) &&
         conf_set(conf, "client.id", id, d, n) &&
         conf_set(conf, "socket.timeout.ms", "10000", d, n) &&
         conf_set(conf, "log.connection.close", "false", d, n);
    va_start(ap, n);
    while (ok && (k = va_arg(ap, const char *))) {
        v = va_arg(ap, const char *);
        ok = conf_set(conf, k, v, d, n);
    }
    va_end(ap);
    if (!ok) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    for (int i = 0; i < API_KEYS; i++)
        cl->api_min[i] = cl->api_max[i] = -1;
    rd_kafka_conf_set_opaque(conf, cl);
    rd_kafka_conf_set_error_cb(conf, on_error);
    if (cl->capture_log)
        rd_kafka_conf_set_log_cb(conf, on_log);
    if (type == RD_KAFKA_PRODUCER) {
        rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    } else {
        rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
        rd_kafka_conf_set_stats_cb(conf, on_stats);
    }
    if (!(rk = rd_kafka_new(type, conf, errstr, sizeof(errstr)))) {
        rd_kafka_conf_destroy(conf);
        failf(d, n, "_INVALID_ARG: %s, in rd_kafka_new()", errstr);
        return NULL;
    }
    if (type == RD_KAFKA_CONSUMER)
        rd_kafka_poll_set_consumer(rk);
    return rk;
}

/* Leaves the group within timeout_ms (rebalance callbacks served meanwhile),
 * and destroys the handle; past the deadline it is destroyed without the
 * consumer close, so a broker that does not answer cannot hold the probe.
 * The close queue is served event by event: librdkafka 2.0.2's
 * rd_kafka_queue_poll_callback() asserts (rd_kafka_q_serve: res !=
 * RD_KAFKA_OP_RES_PASS) when a statistics or error event lands there, as
 * the library's own close (group.c) found before. */
static void consumer_destroy(rd_kafka_t *rk, int timeout_ms)
{
    rd_kafka_queue_t *q;
    rd_kafka_error_t *e;
    int64_t until = now_ms() + timeout_ms;
    bool closed = false;

    if (!rk)
        return;
    q = rd_kafka_queue_new(rk);
    if ((e = rd_kafka_consumer_close_queue(rk, q))) {
        rd_kafka_error_destroy(e);
    } else {
        while (!(closed = rd_kafka_consumer_closed(rk)) && left(until) > 0) {
            rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 100);

            if (ev && rd_kafka_event_type(ev) == RD_KAFKA_EVENT_REBALANCE)
                on_rebalance(rk, rd_kafka_event_error(ev), rd_kafka_event_topic_partition_list(ev),
                             rd_kafka_opaque(rk));
            if (ev)
                rd_kafka_event_destroy(ev);
        }
    }
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy_flags(rk, closed ? 0 : RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
}

/* Transactional producers are destroyed as they are: purging is not allowed
 * in a transaction, and their transaction, if any, times out on the broker. */
static void producer_destroy(rd_kafka_t *rk, bool transactional)
{
    if (!rk)
        return;
    if (!transactional)
        rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_destroy(rk);
}

/* Produces count messages, key "k<i>" and value "<i>" for i from first on. */
static bool produce_n(rd_kafka_t *rk, const char *topic, int32_t partition, int first, int count,
                      int64_t until, char *d, size_t n)
{
    for (int i = first; i < first + count; i++) {
        char key[24], val[24];
        rd_kafka_resp_err_t err;

        snprintf(key, sizeof(key), "k%d", i);
        snprintf(val, sizeof(val), "%d", i);
        while ((err = rd_kafka_producev(
                    rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
                    RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE(val, strlen(val)),
                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END))) {
            if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || left(until) == 0)
                return fail_err(d, n, "rd_kafka_producev", err, NULL);
            rd_kafka_poll(rk, 10);
        }
        rd_kafka_poll(rk, 0);
    }
    return true;
}

/* Waits for every message to be delivered: expect delivery reports, no error. */
static bool flush_all(rd_kafka_t *rk, client_t *cl, int expect, int64_t until, char *d, size_t n)
{
    rd_kafka_resp_err_t err = rd_kafka_flush(rk, left(until)), fatal;
    char fbuf[256];

    if ((fatal = rd_kafka_fatal_error(rk, fbuf, sizeof(fbuf))))
        return failf(d, n, "%s: %s [fatal], in rd_kafka_flush()", rd_kafka_err2name(fatal), fbuf);
    if (cl->failed)
        return failf(d, n,
                     "%s: %s (%d of %d messages failed), in the delivery report of "
                     "rd_kafka_producev()",
                     rd_kafka_err2name(cl->dr_err), cl->dr_errstr, cl->failed,
                     cl->failed + cl->delivered);
    if (err) {
        failf(d, n, "%s: %d message(s) still not delivered, in rd_kafka_flush()",
              rd_kafka_err2name(err), rd_kafka_outq_len(rk));
        add_last_error(d, n, cl);
        return false;
    }
    if (cl->delivered < expect)
        return failf(d, n, "only %d of %d messages delivered, in rd_kafka_flush()", cl->delivered,
                     expect);
    return true;
}

/* ---- Admin API helpers --------------------------------------------------- */

static rd_kafka_AdminOptions_t *admin_options(rd_kafka_admin_op_t op, int64_t until)
{
    rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(g_admin, op);
    int ms = left(until) > 1000 ? left(until) : 1000;
    char errstr[256];

    rd_kafka_AdminOptions_set_request_timeout(o, ms, errstr, sizeof(errstr));
    if (op == RD_KAFKA_ADMIN_OP_CREATETOPICS || op == RD_KAFKA_ADMIN_OP_DELETETOPICS ||
        op == RD_KAFKA_ADMIN_OP_DELETERECORDS)
        rd_kafka_AdminOptions_set_operation_timeout(o, ms > 2000 ? ms - 1000 : ms, errstr,
                                                    sizeof(errstr));
    return o;
}

/* The result event of an Admin API call, or NULL with d set. */
static rd_kafka_event_t *admin_result(rd_kafka_queue_t *q, int64_t until, const char *api, char *d,
                                      size_t n)
{
    rd_kafka_event_t *ev = NULL;

    /* A second more than the request timeout, so librdkafka's own timeout is
     * the one reported. */
    until += 1000;
    while (!ev && left(until) > 0)
        ev = rd_kafka_queue_poll(q, min_int(left(until), 200));
    if (!ev) {
        failf(d, n, "_TIMED_OUT: no result before the deadline, in %s()", api);
        return NULL;
    }
    if (rd_kafka_event_error(ev)) {
        fail_err(d, n, api, rd_kafka_event_error(ev), rd_kafka_event_error_string(ev));
        rd_kafka_event_destroy(ev);
        return NULL;
    }
    return ev;
}

/* Until the metadata shows the topic with a leader for every partition. */
static bool wait_topic(const char *topic, int64_t until, char *d, size_t n)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(g_admin, topic, NULL);
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__TIMED_OUT;
    bool ready = false;

    while (!ready && left(until) > 0) {
        const struct rd_kafka_metadata *md = NULL;

        err = rd_kafka_metadata(g_admin, 0, rkt, &md, min_int(left(until), 5000));
        if (!err && md->topic_cnt == 1) {
            const rd_kafka_metadata_topic_t *t = &md->topics[0];

            err = t->err;
            ready = !err && t->partition_cnt == PARTITIONS;
            for (int i = 0; ready && i < t->partition_cnt; i++)
                ready = t->partitions[i].leader >= 0 && !t->partitions[i].err;
        }
        if (md)
            rd_kafka_metadata_destroy(md);
        if (!ready)
            sleep_ms(100);
    }
    rd_kafka_topic_destroy(rkt);
    if (!ready)
        return fail_err(d, n, "rd_kafka_metadata", err ? err : RD_KAFKA_RESP_ERR__TIMED_OUT,
                        "topic not ready (leaders for every partition) before the deadline");
    return true;
}

/* rd_kafka_CreateTopics: PARTITIONS partitions, replication factor g_rf. */
static bool create_topic(const char *topic, int64_t until, char *d, size_t n)
{
    char errstr[512];
    rd_kafka_NewTopic_t *nt =
        rd_kafka_NewTopic_new(topic, PARTITIONS, g_rf, errstr, sizeof(errstr));
    rd_kafka_queue_t *q;
    rd_kafka_AdminOptions_t *o;
    rd_kafka_event_t *ev;
    const rd_kafka_topic_result_t **res;
    size_t cnt = 0;
    bool ok = true;

    if (!nt)
        return failf(d, n, "_INVALID_ARG: %s, in rd_kafka_NewTopic_new()", errstr);
    q = rd_kafka_queue_new(g_admin);
    o = admin_options(RD_KAFKA_ADMIN_OP_CREATETOPICS, until);
    rd_kafka_CreateTopics(g_admin, &nt, 1, o, q);
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_AdminOptions_destroy(o);
    if (!(ev = admin_result(q, until, "rd_kafka_CreateTopics", d, n))) {
        ok = false;
    } else {
        res = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &cnt);
        if (cnt != 1)
            ok = failf(d, n, "%zu topic results for 1 topic, in rd_kafka_CreateTopics()", cnt);
        else if (rd_kafka_topic_result_error(res[0]))
            ok = fail_err(d, n, "rd_kafka_CreateTopics", rd_kafka_topic_result_error(res[0]),
                          rd_kafka_topic_result_error_string(res[0]));
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_queue_destroy(q);
    if (ok)
        remember(g_topics, &g_ntopics, topic);
    return ok && wait_topic(topic, until, d, n);
}

/* Creates topic and fills it with count messages from a plain producer. */
static bool fill_topic(const char *topic, int count, int64_t until, char *d, size_t n)
{
    client_t cl = {.label = "filler"};
    rd_kafka_t *p;
    bool ok;

    if (!create_topic(topic, until, d, n))
        return false;
    if (!(p = client_new(RD_KAFKA_PRODUCER, &cl, d, n, "acks", "all", "linger.ms", "5", NULL)))
        return false;
    ok = produce_n(p, topic, RD_KAFKA_PARTITION_UA, 0, count, until, d, n) &&
         flush_all(p, &cl, count, until, d, n);
    producer_destroy(p, false);
    return ok;
}

static rd_kafka_topic_partition_list_t *all_partitions(const char *topic, int64_t offset)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(PARTITIONS);

    for (int i = 0; i < PARTITIONS; i++)
        rd_kafka_topic_partition_list_add(l, topic, i)->offset = offset;
    return l;
}

static bool subscribe(rd_kafka_t *rk, const char *topic, char *d, size_t n)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_resp_err_t err;

    rd_kafka_topic_partition_list_add(l, topic, RD_KAFKA_PARTITION_UA);
    err = rd_kafka_subscribe(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    return err ? fail_err(d, n, "rd_kafka_subscribe", err, NULL) : true;
}

/* Reads topic from the beginning, without a group (assign), until every
 * partition reached its end and at least expect records were seen. With
 * read_committed the end is the last stable offset, which moves only once
 * the transaction markers are written: hence "at least", and the deadline. */
static bool count_records(const char *label, const char *topic, const char *isolation, int expect,
                          int64_t until, int *count, char *d, size_t n)
{
    client_t cl = {.label = label};
    char group[NAME_LEN];
    rd_kafka_topic_partition_list_t *l;
    rd_kafka_resp_err_t err;
    bool eof[PARTITIONS] = {false}, done = false;
    rd_kafka_t *c;

    *count = 0;
    make_name(group, label); /* never joined nor committed: no group on the broker */
    if (!(c = client_new(RD_KAFKA_CONSUMER, &cl, d, n, "group.id", group, "isolation.level",
                         isolation, "enable.partition.eof", "true", "enable.auto.commit", "false",
                         NULL)))
        return false;
    l = all_partitions(topic, RD_KAFKA_OFFSET_BEGINNING);
    err = rd_kafka_assign(c, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (err) {
        consumer_destroy(c, 0);
        return fail_err(d, n, "rd_kafka_assign", err, NULL);
    }
    while (!done && left(until) > 0) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, min_int(left(until), 100));

        if (m) {
            if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                if (m->partition >= 0 && m->partition < PARTITIONS)
                    eof[m->partition] = true;
            } else if (m->err) {
                cl.poll_err = m->err;
                snprintf(cl.poll_errstr, sizeof(cl.poll_errstr), "%s", rd_kafka_message_errstr(m));
            } else {
                (*count)++;
                if (m->partition >= 0 && m->partition < PARTITIONS)
                    eof[m->partition] = false;
            }
            rd_kafka_message_destroy(m);
        }
        done = *count >= expect;
        for (int i = 0; i < PARTITIONS; i++)
            done = done && eof[i];
    }
    consumer_destroy(c, 1000);
    if (done)
        return true;
    if (cl.poll_err)
        return failf(d, n, "%s: %s, in rd_kafka_consumer_poll() (%s reader saw %d of %d records)",
                     rd_kafka_err2name(cl.poll_err), cl.poll_errstr, isolation, *count, expect);
    failf(d, n,
          "_TIMED_OUT: %s reader saw %d of %d records before the deadline, in "
          "rd_kafka_consumer_poll()",
          isolation, *count, expect);
    add_last_error(d, n, &cl);
    return false;
}

/* "0,2" */
static void owned_str(const client_t *cl, char *buf, size_t n)
{
    size_t used = 0;

    buf[0] = '\0';
    for (int i = 0; i < PARTITIONS && used < n; i++)
        if (cl->owned[i])
            used += (size_t)snprintf(buf + used, n - used, "%s%d", used ? "," : "", i);
}

/* ---- the cluster --------------------------------------------------------- */

static const struct {
    int key;
    const char *name;
} suite_apis[] = {
    {0, "Produce"},
    {1, "Fetch"},
    {2, "ListOffsets"},
    {3, "Metadata"},
    {8, "OffsetCommit"},
    {9, "OffsetFetch"},
    {10, "FindCoordinator"},
    {11, "JoinGroup"},
    {12, "Heartbeat"},
    {13, "LeaveGroup"},
    {14, "SyncGroup"},
    {16, "ListGroups"},
    {19, "CreateTopics"},
    {20, "DeleteTopics"},
    {21, "DeleteRecords"},
    {22, "InitProducerId"},
    {23, "OffsetForLeaderEpoch"},
    {24, "AddPartitionsToTxn"},
    {25, "AddOffsetsToTxn"},
    {26, "EndTxn"},
    {28, "TxnOffsetCommit"},
    {32, "DescribeConfigs"},
    {42, "DeleteGroups"},
};

/* Metadata (brokers, controller, cluster id) and the broker's ApiVersions,
 * into line; sets g_brokers and g_rf. */
static bool probe_cluster(char *line, size_t n)
{
    client_t cl = {.label = "cluster", .capture_log = true};
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err;
    rd_kafka_t *rk;
    size_t used;
    char *cid;

    if (!(rk = client_new(RD_KAFKA_PRODUCER, &cl, line, n, "debug", "feature", "log.queue", "true",
                          NULL)))
        return false;
    rd_kafka_set_log_queue(rk, NULL); /* log_cb from rd_kafka_poll() on this thread */
    err = rd_kafka_metadata(rk, 0, NULL, &md, 10000);
    if (err) {
        fail_err(line, n, "rd_kafka_metadata", err, NULL);
        add_last_error(line, n, &cl);
        producer_destroy(rk, false);
        return false;
    }
    while (rd_kafka_poll(rk, 50) > 0)
        ;
    g_brokers = md->broker_cnt;
    g_rf = g_brokers < 3 ? g_brokers : 3;
    used = (size_t)snprintf(line, n, "%d broker(s) [", md->broker_cnt);
    for (int i = 0; i < md->broker_cnt && used < n; i++)
        used += (size_t)snprintf(line + used, n - used, "%s%" PRId32 "@%s:%d", i ? " " : "",
                                 md->brokers[i].id, md->brokers[i].host, md->brokers[i].port);
    cid = rd_kafka_clusterid(rk, 2000);
    if (used < n)
        used += (size_t)snprintf(line + used, n - used,
                                 "], controller %" PRId32 ", cluster id %s, librdkafka %s, "
                                 "topics get replication factor %d",
                                 rd_kafka_controllerid(rk, 2000), cid ? cid : "?",
                                 rd_kafka_version_str(), g_rf);
    if (cid)
        rd_kafka_mem_free(rk, cid);
    if (cl.api_max[1] >= 0 && used < n) {
        /* KIP-896 (Kafka 4.0) made Fetch v4 the oldest. Not Produce: brokers
         * still advertise Produce v0-v2 (KAFKA-18659, for librdkafka's
         * compression check) but reject them. */
        used += (size_t)snprintf(line + used, n - used,
                                 "; old protocol versions removed (KIP-896): %s; ApiVersions",
                                 cl.api_min[1] >= 4 ? "yes" : "no");
        for (size_t i = 0; i < sizeof(suite_apis) / sizeof(suite_apis[0]) && used < n; i++) {
            int k = suite_apis[i].key;

            if (cl.api_max[k] >= 0)
                used += (size_t)snprintf(line + used, n - used, " %s %d-%d", suite_apis[i].name,
                                         cl.api_min[k], cl.api_max[k]);
            else
                used += (size_t)snprintf(line + used, n - used, " %s -", suite_apis[i].name);
        }
    }
    rd_kafka_metadata_destroy(md);
    producer_destroy(rk, false);
    return g_brokers > 0 || failf(line, n, "no brokers in the metadata, in rd_kafka_metadata()");
}

/* ---- 1. idempotent-producer ---------------------------------------------- */

static bool feat_idempotent(int64_t until, char *d, size_t n)
{
    client_t cl = {.label = "idem"};
    char topic[NAME_LEN];
    int64_t t0;
    rd_kafka_t *p;
    bool ok;

    make_name(topic, "idem");
    if (!create_topic(topic, until, d, n))
        return false;
    if (!(p = client_new(RD_KAFKA_PRODUCER, &cl, d, n, "enable.idempotence", "true", "acks", "all",
                         "linger.ms", "5", NULL)))
        return false;
    t0 = now_ms();
    ok = produce_n(p, topic, RD_KAFKA_PARTITION_UA, 0, N_IDEM, until, d, n) &&
         flush_all(p, &cl, N_IDEM, until, d, n);
    if (ok) {
        snprintf(d, n, "%d/%d delivered with acks=all in %" PRId64 " ms, per partition %d/%d/%d",
                 cl.delivered, N_IDEM, now_ms() - t0, cl.per_partition[0], cl.per_partition[1],
                 cl.per_partition[2]);
        snprintf(g_data_topic, sizeof(g_data_topic), "%s", topic);
    }
    producer_destroy(p, false);
    return ok;
}

/* ---- 2. cooperative-sticky ----------------------------------------------- */

typedef struct coop_s {
    unsigned char seen[N_IDEM];
    int unique, dups, bad;
} coop_t;

/* One message (or none) from a member: counted once per value. */
static void coop_poll(rd_kafka_t *rk, client_t *cl, coop_t *st, int timeout_ms)
{
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, timeout_ms);
    char val[16];
    long v;

    if (!m)
        return;
    if (m->err) {
        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            cl->poll_err = m->err;
            snprintf(cl->poll_errstr, sizeof(cl->poll_errstr), "%s", rd_kafka_message_errstr(m));
        }
    } else {
        snprintf(val, sizeof(val), "%.*s", (int)(m->len < 15 ? m->len : 15),
                 m->payload ? (const char *)m->payload : "");
        v = strtol(val, NULL, 10);
        cl->consumed++;
        if (v < 0 || v >= N_IDEM || !m->payload)
            st->bad++;
        else if (st->seen[v]++)
            st->dups++;
        else
            st->unique++;
    }
    rd_kafka_message_destroy(m);
}

/* Both members own partitions, none twice, all of them. */
static bool coop_split(const client_t *a, const client_t *b)
{
    int na = 0, nb = 0;

    for (int i = 0; i < PARTITIONS; i++) {
        if (a->owned[i] == b->owned[i])
            return false;
        na += a->owned[i];
        nb += b->owned[i];
    }
    return na > 0 && nb > 0;
}

static bool coop_failed(const client_t *cl, char *d, size_t n)
{
    if (cl->rb_error[0])
        return failf(d, n, "%s (member %s, rebalance_cb)", cl->rb_error, cl->label);
    return true;
}

static bool feat_cooperative(int64_t until, char *d, size_t n)
{
    static coop_t st;
    client_t ca = {.label = "coop-a"}, cb = {.label = "coop-b"};
    char group[NAME_LEN], topic[NAME_LEN], a_parts[16], b_parts[16], note[80] = "";
    rd_kafka_topic_partition_list_t *l = NULL;
    rd_kafka_t *a = NULL, *b = NULL;
    rd_kafka_resp_err_t err;
    int64_t t0, split_ms = -1, settle = 0, committed = 0;
    bool ok = false;

    memset(&st, 0, sizeof(st));
    make_name(group, "coop");
    if (g_data_topic[0]) {
        snprintf(topic, sizeof(topic), "%s", g_data_topic);
    } else {
        make_name(topic, "coop");
        if (!fill_topic(topic, N_IDEM, until, d, n))
            return false;
        snprintf(note, sizeof(note), "; the messages came from a plain producer");
        snprintf(g_data_topic, sizeof(g_data_topic), "%s", topic);
    }
    ca.topic = cb.topic = topic;
#define COOP_CONF                                                                                  \
    "group.id", group, "partition.assignment.strategy", "cooperative-sticky", "auto.offset.reset", \
        "earliest", "enable.auto.commit", "false"
    if (!(a = client_new(RD_KAFKA_CONSUMER, &ca, d, n, COOP_CONF, NULL)) ||
        !subscribe(a, topic, d, n))
        goto out;
    remember(g_groups, &g_ngroups, group);

    /* The first member alone: it gets every partition and consumes N_FIRST
     * messages, one per poll; the rest it fetched stays in its queue. */
    while (st.unique < N_FIRST && !ca.rb_error[0] && left(until) > 0)
        coop_poll(a, &ca, &st, 100);
    if (!coop_failed(&ca, d, n))
        goto out;
    owned_str(&ca, a_parts, sizeof(a_parts));
    if (st.unique < N_FIRST) {
        if (ca.poll_err)
            fail_err(d, n, "rd_kafka_consumer_poll", ca.poll_err, ca.poll_errstr);
        else
            failf(d, n,
                  "_TIMED_OUT: the first member consumed %d of %d messages (owns [%s]) "
                  "before the deadline, in rd_kafka_consumer_poll()",
                  st.unique, N_FIRST, a_parts);
        add_last_error(d, n, &ca);
        goto out;
    }

    /* The second member joins: the partitions must be split between both
     * without a moment where one is owned twice, and consumption resumes
     * from the offsets the first one committed when giving partitions up.
     * The first member pauses its partitions meanwhile (as the suite's
     * consumer does with a blocked partition), so it cannot drain the topic
     * before the split, and resumes the ones it keeps afterwards. */
    l = all_partitions(topic, RD_KAFKA_OFFSET_INVALID);
    err = rd_kafka_pause_partitions(a, l);
    rd_kafka_topic_partition_list_destroy(l);
    l = NULL;
    if (err) {
        fail_err(d, n, "rd_kafka_pause_partitions", err, NULL);
        goto out;
    }
    if (!(b = client_new(RD_KAFKA_CONSUMER, &cb, d, n, COOP_CONF, NULL)) ||
        !subscribe(b, topic, d, n))
        goto out;
    t0 = now_ms();
    while (left(until) > 0 && !ca.rb_error[0] && !cb.rb_error[0]) {
        bool overlap = false;

        coop_poll(a, &ca, &st, 50);
        coop_poll(b, &cb, &st, 50);
        for (int i = 0; i < PARTITIONS; i++)
            overlap = overlap || (ca.owned[i] && cb.owned[i]);
        if (overlap) {
            owned_str(&ca, a_parts, sizeof(a_parts));
            owned_str(&cb, b_parts, sizeof(b_parts));
            failf(d, n, "partition owned by both members: a [%s], b [%s] (protocol %s)", a_parts,
                  b_parts, ca.protocol);
            goto out;
        }
        if (split_ms < 0 && coop_split(&ca, &cb)) {
            split_ms = now_ms() - t0;
            l = rd_kafka_topic_partition_list_new(PARTITIONS);
            for (int i = 0; i < PARTITIONS; i++)
                if (ca.owned[i])
                    rd_kafka_topic_partition_list_add(l, topic, i);
            err = rd_kafka_resume_partitions(a, l);
            rd_kafka_topic_partition_list_destroy(l);
            l = NULL;
            if (err) {
                fail_err(d, n, "rd_kafka_resume_partitions", err, NULL);
                goto out;
            }
        }
        if (split_ms >= 0 && st.unique == N_IDEM && !settle)
            settle = now_ms();
        if (settle && now_ms() - settle >= SETTLE_MS)
            break;
    }
    if (!coop_failed(&ca, d, n) || !coop_failed(&cb, d, n))
        goto out;
    owned_str(&ca, a_parts, sizeof(a_parts));
    owned_str(&cb, b_parts, sizeof(b_parts));
    if (strcmp(ca.protocol, "COOPERATIVE") || strcmp(cb.protocol, "COOPERATIVE")) {
        failf(d, n, "rebalance protocol %s/%s, not COOPERATIVE, in rd_kafka_rebalance_protocol()",
              ca.protocol, cb.protocol);
        goto out;
    }
    if (split_ms < 0) {
        failf(d, n,
              "_TIMED_OUT: partitions not split before the deadline: a [%s], b [%s] after "
              "%" PRId64 " ms (rebalances a %d, b %d)",
              a_parts, b_parts, now_ms() - t0, ca.rebalances, cb.rebalances);
        add_last_error(d, n, &cb);
        goto out;
    }
    if (st.dups || st.bad || st.unique != N_IDEM) {
        failf(d, n,
              "%d of %d messages consumed, %d duplicate(s), %d unexpected (a %d, b %d; split "
              "after %" PRId64 " ms)",
              st.unique, N_IDEM, st.dups, st.bad, ca.consumed, cb.consumed, split_ms);
        if (cb.poll_err || ca.poll_err) {
            size_t len = strlen(d);
            const client_t *e = cb.poll_err ? &cb : &ca;

            snprintf(d + len, n - len, "; last %s, in rd_kafka_consumer_poll()",
                     rd_kafka_err2name(e->poll_err));
        }
        goto out;
    }
    /* Final commits, then the group's committed offsets must add up to every
     * message (offsets are contiguous from 0 in a fresh topic). */
    if (((err = commit_wait(a, NULL, 10000)) && err != RD_KAFKA_RESP_ERR__NO_OFFSET) ||
        ((err = commit_wait(b, NULL, 10000)) && err != RD_KAFKA_RESP_ERR__NO_OFFSET)) {
        fail_err(d, n, "rd_kafka_commit_queue", err, NULL);
        goto out;
    }
    l = all_partitions(topic, RD_KAFKA_OFFSET_INVALID);
    if ((err = rd_kafka_committed(a, l, min_int(left(until) + 2000, 10000)))) {
        fail_err(d, n, "rd_kafka_committed", err, NULL);
        goto out;
    }
    for (int i = 0; i < l->cnt; i++)
        committed += l->elems[i].offset > 0 ? l->elems[i].offset : 0;
    if (committed != N_IDEM) {
        failf(d, n, "committed offsets add up to %" PRId64 ", not %d, in rd_kafka_committed()",
              committed, N_IDEM);
        goto out;
    }
    ok = true;
    snprintf(
        d, n,
        "protocol COOPERATIVE; a owned all, b joined after a consumed %d (a paused): split a [%s] "
        "b [%s] %" PRId64 " ms after b subscribed; %d consumed exactly once (a %d, b %d), "
        "committed offsets add up to %" PRId64 "; rebalance callbacks a %d, b %d%s",
        N_FIRST, a_parts, b_parts, split_ms, st.unique, ca.consumed, cb.consumed, committed,
        ca.rebalances, cb.rebalances, note);
out:
#undef COOP_CONF
    if (l)
        rd_kafka_topic_partition_list_destroy(l);
    consumer_destroy(b, min_int(CLOSE_MS, left(g_deadline) + 1000));
    consumer_destroy(a, min_int(CLOSE_MS, left(g_deadline) + 1000));
    return ok;
}

/* ---- 3. transactions ----------------------------------------------------- */

static bool feat_transactions(int64_t until, char *d, size_t n)
{
    client_t cl = {.label = "txn"};
    char topic[NAME_LEN], txid[NAME_LEN];
    rd_kafka_error_t *e;
    rd_kafka_t *p;
    int committed = 0, uncommitted = 0;
    bool ok = false;

    make_name(topic, "txn");
    make_name(txid, "txn");
    if (!create_topic(topic, until, d, n))
        return false;
    if (!(p = client_new(RD_KAFKA_PRODUCER, &cl, d, n, "transactional.id", txid, NULL)))
        return false;
    if ((e = rd_kafka_init_transactions(p, left(until))))
        fail_error(d, n, "rd_kafka_init_transactions", e);
    else if ((e = rd_kafka_begin_transaction(p)))
        fail_error(d, n, "rd_kafka_begin_transaction", e);
    else if (!produce_n(p, topic, RD_KAFKA_PARTITION_UA, 0, N_TXN, until, d, n))
        ;
    else if ((e = rd_kafka_commit_transaction(p, left(until))))
        fail_error(d, n, "rd_kafka_commit_transaction", e);
    else if ((e = rd_kafka_begin_transaction(p)))
        fail_error(d, n, "rd_kafka_begin_transaction", e);
    else if (!produce_n(p, topic, RD_KAFKA_PARTITION_UA, N_TXN, N_TXN, until, d, n) ||
             /* written to the log before the abort, so read_uncommitted sees them */
             !flush_all(p, &cl, 2 * N_TXN, until, d, n))
        ;
    else if ((e = rd_kafka_abort_transaction(p, left(until))))
        fail_error(d, n, "rd_kafka_abort_transaction", e);
    else
        ok = true;
    if (!ok)
        add_last_error(d, n, &cl);
    producer_destroy(p, true);
    if (!ok)
        return false;
    if (!count_records("txn-rc", topic, "read_committed", N_TXN, until, &committed, d, n) ||
        !count_records("txn-ru", topic, "read_uncommitted", 2 * N_TXN, until, &uncommitted, d, n))
        return false;
    if (committed != N_TXN || uncommitted != 2 * N_TXN)
        return failf(d, n,
                     "read_committed saw %d records (expected %d), read_uncommitted %d "
                     "(expected %d)",
                     committed, N_TXN, uncommitted, 2 * N_TXN);
    snprintf(d, n, "%d committed + %d aborted: read_committed saw %d, read_uncommitted saw %d",
             N_TXN, N_TXN, committed, uncommitted);
    return true;
}

/* ---- 4. send-offsets-to-transaction -------------------------------------- */

static bool feat_send_offsets(int64_t until, char *d, size_t n)
{
    client_t cc = {.label = "sotx-in"}, cp = {.label = "sotx-out"};
    char in[NAME_LEN], out[NAME_LEN], group[NAME_LEN], txid[NAME_LEN], stored[64] = "";
    int64_t next[PARTITIONS] = {0};
    rd_kafka_topic_partition_list_t *offsets = NULL, *check = NULL;
    rd_kafka_consumer_group_metadata_t *cgmd;
    rd_kafka_t *c = NULL, *p = NULL;
    rd_kafka_error_t *e;
    rd_kafka_resp_err_t err;
    int consumed = 0, outputs = 0;
    bool ok = false;

    make_name(in, "sotx-in");
    make_name(out, "sotx-out");
    make_name(group, "sotx");
    make_name(txid, "sotx");
    if (!fill_topic(in, N_SOTX, until, d, n) || !create_topic(out, until, d, n))
        return false;
    if (!(c = client_new(RD_KAFKA_CONSUMER, &cc, d, n, "group.id", group, "auto.offset.reset",
                         "earliest", "enable.auto.commit", "false", "isolation.level",
                         "read_committed", NULL)) ||
        !subscribe(c, in, d, n))
        goto out;
    remember(g_groups, &g_ngroups, group);
    if (!(p = client_new(RD_KAFKA_PRODUCER, &cp, d, n, "transactional.id", txid, NULL)))
        goto out;
    if ((e = rd_kafka_init_transactions(p, left(until)))) {
        fail_error(d, n, "rd_kafka_init_transactions", e);
        goto out;
    }
    if ((e = rd_kafka_begin_transaction(p))) {
        fail_error(d, n, "rd_kafka_begin_transaction", e);
        goto out;
    }
    /* consume -> transform -> produce, inside the transaction */
    while (consumed < N_SOTX && left(until) > 0) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 100);
        char val[40];

        rd_kafka_poll(p, 0);
        if (!m)
            continue;
        if (m->err) {
            cc.poll_err = m->err;
            snprintf(cc.poll_errstr, sizeof(cc.poll_errstr), "%s", rd_kafka_message_errstr(m));
        } else if (m->partition >= 0 && m->partition < PARTITIONS) {
            int len = snprintf(val, sizeof(val), "out-%.*s", (int)(m->len < 20 ? m->len : 20),
                               m->payload ? (const char *)m->payload : "");

            err = rd_kafka_producev(p, RD_KAFKA_V_TOPIC(out), RD_KAFKA_V_VALUE(val, (size_t)len),
                                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
            if (err) {
                rd_kafka_message_destroy(m);
                fail_err(d, n, "rd_kafka_producev", err, NULL);
                goto out;
            }
            next[m->partition] = m->offset + 1;
            consumed++;
        }
        rd_kafka_message_destroy(m);
    }
    if (consumed < N_SOTX) {
        if (cc.poll_err)
            fail_err(d, n, "rd_kafka_consumer_poll", cc.poll_err, cc.poll_errstr);
        else
            failf(d, n,
                  "_TIMED_OUT: consumed %d of %d input records before the deadline, in "
                  "rd_kafka_consumer_poll()",
                  consumed, N_SOTX);
        add_last_error(d, n, &cc);
        goto out;
    }
    offsets = rd_kafka_topic_partition_list_new(PARTITIONS);
    for (int i = 0; i < PARTITIONS; i++)
        if (next[i])
            rd_kafka_topic_partition_list_add(offsets, in, i)->offset = next[i];
    cgmd = rd_kafka_consumer_group_metadata(c);
    e = rd_kafka_send_offsets_to_transaction(p, offsets, cgmd, left(until));
    rd_kafka_consumer_group_metadata_destroy(cgmd);
    if (e) {
        fail_error(d, n, "rd_kafka_send_offsets_to_transaction", e);
        add_last_error(d, n, &cp);
        goto out;
    }
    if ((e = rd_kafka_commit_transaction(p, left(until)))) {
        fail_error(d, n, "rd_kafka_commit_transaction", e);
        add_last_error(d, n, &cp);
        goto out;
    }
    /* The group's offsets, as the coordinator stored them. */
    check = all_partitions(in, RD_KAFKA_OFFSET_INVALID);
    if ((err = rd_kafka_committed(c, check, min_int(left(until) + 2000, 10000)))) {
        fail_err(d, n, "rd_kafka_committed", err, NULL);
        goto out;
    }
    for (int i = 0; i < PARTITIONS; i++) {
        int64_t got = check->elems[i].offset;
        size_t len = strlen(stored);

        snprintf(stored + len, sizeof(stored) - len, "%s%d:%" PRId64, i ? " " : "", i,
                 got < 0 ? -1 : got);
        if (check->elems[i].err) {
            fail_err(d, n, "rd_kafka_committed", check->elems[i].err, NULL);
            goto out;
        }
        if (got != (next[i] ? next[i] : RD_KAFKA_OFFSET_INVALID) && !(next[i] == 0 && got < 0)) {
            failf(d, n,
                  "partition %d: committed offset %" PRId64 ", expected %" PRId64
                  " (sent with the transaction), in rd_kafka_committed()",
                  i, got, next[i]);
            goto out;
        }
    }
    if (!count_records("sotx-rc", out, "read_committed", N_SOTX, until, &outputs, d, n))
        goto out;
    if (outputs != N_SOTX) {
        failf(d, n, "read_committed saw %d output records, expected %d", outputs, N_SOTX);
        goto out;
    }
    ok = true;
    snprintf(d, n,
             "%d consumed, %d produced and committed in one transaction; group offsets "
             "stored by the transaction: %s",
             consumed, outputs, stored);
out:
    if (offsets)
        rd_kafka_topic_partition_list_destroy(offsets);
    if (check)
        rd_kafka_topic_partition_list_destroy(check);
    producer_destroy(p, true);
    consumer_destroy(c, min_int(CLOSE_MS, left(g_deadline) + 1000));
    return ok;
}

/* ---- 5. fencing ---------------------------------------------------------- */

static bool is_fenced(rd_kafka_resp_err_t err)
{
    return err == RD_KAFKA_RESP_ERR__FENCED || err == RD_KAFKA_RESP_ERR_PRODUCER_FENCED ||
           err == RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH;
}

static bool feat_fencing(int64_t until, char *d, size_t n)
{
    client_t c1 = {.label = "fence-1"}, c2 = {.label = "fence-2"};
    char topic[NAME_LEN], txid[NAME_LEN], fatalstr[256] = "", how[400] = "";
    rd_kafka_t *p1 = NULL, *p2 = NULL;
    rd_kafka_error_t *e;
    rd_kafka_resp_err_t code = 0, fatal, err;
    const char *api = "rd_kafka_commit_transaction";
    char late[] = "late";
    bool ok = false, is_fatal = false;

    make_name(topic, "fence");
    make_name(txid, "fence");
    if (!create_topic(topic, until, d, n))
        return false;
    if (!(p1 = client_new(RD_KAFKA_PRODUCER, &c1, d, n, "transactional.id", txid, NULL)))
        return false;
    /* The first producer is in a transaction with a record written. */
    if ((e = rd_kafka_init_transactions(p1, left(until)))) {
        fail_error(d, n, "rd_kafka_init_transactions", e);
        goto out;
    }
    if ((e = rd_kafka_begin_transaction(p1))) {
        fail_error(d, n, "rd_kafka_begin_transaction", e);
        goto out;
    }
    if (!produce_n(p1, topic, 0, 0, 1, until, d, n) || !flush_all(p1, &c1, 1, until, d, n))
        goto out;
    /* The second one, same transactional.id, bumps the epoch. */
    if (!(p2 = client_new(RD_KAFKA_PRODUCER, &c2, d, n, "transactional.id", txid, NULL)))
        goto out;
    if ((e = rd_kafka_init_transactions(p2, left(until)))) {
        fail_error(d, n, "rd_kafka_init_transactions", e);
        add_last_error(d, n, &c2);
        goto out;
    }
    /* The first one goes on: its next produce and its commit must fail. */
    if ((err = rd_kafka_producev(p1, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(0),
                                 RD_KAFKA_V_VALUE(late, strlen(late)), RD_KAFKA_V_END))) {
        code = err;
        api = "rd_kafka_producev";
        snprintf(how, sizeof(how), "%s: %s", rd_kafka_err2name(err), rd_kafka_err2str(err));
    } else {
        rd_kafka_flush(p1, min_int(left(until), 5000));
        if ((e = rd_kafka_commit_transaction(p1, min_int(left(until), 10000)))) {
            code = rd_kafka_error_code(e);
            is_fatal = rd_kafka_error_is_fatal(e);
            snprintf(how, sizeof(how), "%s: %s", rd_kafka_error_name(e), rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
        }
    }
    fatal = rd_kafka_fatal_error(p1, fatalstr, sizeof(fatalstr));
    if (!code && !fatal) {
        failf(d, n,
              "the first producer committed after the second one's init_transactions, in "
              "rd_kafka_commit_transaction()");
        goto out;
    }
    if (!(is_fenced(code) || is_fenced(fatal)) || !(is_fatal || fatal)) {
        failf(d, n, "%s%s, in %s(): not a fatal fencing error (fatal error: %s %s; delivery: %s)",
              how, is_fatal ? " [fatal]" : "", api, fatal ? rd_kafka_err2name(fatal) : "none",
              fatalstr, c1.failed ? rd_kafka_err2name(c1.dr_err) : "ok");
        goto out;
    }
    /* And the new one works. */
    if ((e = rd_kafka_begin_transaction(p2))) {
        fail_error(d, n, "rd_kafka_begin_transaction (second producer)", e);
        goto out;
    }
    if (!produce_n(p2, topic, 0, 1, 1, until, d, n))
        goto out;
    if ((e = rd_kafka_commit_transaction(p2, left(until)))) {
        fail_error(d, n, "rd_kafka_commit_transaction (second producer)", e);
        goto out;
    }
    ok = true;
    snprintf(d, n,
             "first producer fenced: %s(): %s%s; fatal error %s (%s); late record's "
             "delivery %s; second producer committed",
             api, how, is_fatal ? " [fatal]" : "", rd_kafka_err2name(fatal), fatalstr,
             c1.failed ? rd_kafka_err2name(c1.dr_err) : "not failed");
out:
    producer_destroy(p2, true);
    producer_destroy(p1, true);
    return ok;
}

/* ---- 6. statistics ------------------------------------------------------- */

static bool feat_statistics(int64_t until, char *d, size_t n)
{
    client_t cl = {.label = "stats"};
    char group[NAME_LEN], topic[NAME_LEN];
    rd_kafka_t *c;
    int64_t t0;

    make_name(group, "stats");
    if (g_data_topic[0]) {
        snprintf(topic, sizeof(topic), "%s", g_data_topic);
    } else {
        make_name(topic, "stats");
        if (!create_topic(topic, until, d, n))
            return false;
    }
    cl.topic = topic;
    if (!(c = client_new(RD_KAFKA_CONSUMER, &cl, d, n, "group.id", group, "auto.offset.reset",
                         "earliest", "statistics.interval.ms", "1000", "auto.commit.interval.ms",
                         "1000", NULL)))
        return false;
    remember(g_groups, &g_ngroups, group);
    t0 = cl.stats_start = now_ms();
    if (!subscribe(c, topic, d, n)) {
        consumer_destroy(c, 0);
        return false;
    }
    /* Wait for a JSON where every partition has a lag (an offset was
     * committed); one where they are present but still -1 will do after 6 s. */
    while (left(until) > 0 && !cl.stats_settled && !(cl.stats_seen && now_ms() - t0 > 6000)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 100);

        if (m)
            rd_kafka_message_destroy(m);
    }
    consumer_destroy(c, min_int(CLOSE_MS, left(g_deadline) + 1000));
    if (!cl.stats_seen) {
        failf(d, n,
              "_TIMED_OUT: %d statistics JSON(s) in %.1f s, none with \"brokers\" and "
              "consumer_lag for partitions of %s, in the stats_cb",
              cl.stats_count, (double)(now_ms() - t0) / 1000.0, topic);
        add_last_error(d, n, &cl);
        return false;
    }
    snprintf(d, n, "%s", cl.stats_detail);
    return true;
}

/* ---- 7. admin ------------------------------------------------------------ */

static bool admin_describe_configs(const char *topic, int64_t until, char *out, size_t outn,
                                   char *d, size_t n)
{
    rd_kafka_ConfigResource_t *res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
    rd_kafka_queue_t *q = rd_kafka_queue_new(g_admin);
    rd_kafka_AdminOptions_t *o = admin_options(RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, until);
    const rd_kafka_ConfigResource_t **rs;
    const rd_kafka_ConfigEntry_t **entries;
    rd_kafka_event_t *ev;
    size_t cnt = 0, ecnt = 0;
    bool ok = false;

    rd_kafka_DescribeConfigs(g_admin, &res, 1, o, q);
    rd_kafka_ConfigResource_destroy(res);
    rd_kafka_AdminOptions_destroy(o);
    if ((ev = admin_result(q, until, "rd_kafka_DescribeConfigs", d, n))) {
        rs = rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev),
                                                       &cnt);
        if (cnt != 1) {
            failf(d, n, "%zu resources for 1, in rd_kafka_DescribeConfigs()", cnt);
        } else if (rd_kafka_ConfigResource_error(rs[0])) {
            fail_err(d, n, "rd_kafka_DescribeConfigs", rd_kafka_ConfigResource_error(rs[0]),
                     rd_kafka_ConfigResource_error_string(rs[0]));
        } else {
            entries = rd_kafka_ConfigResource_configs(rs[0], &ecnt);
            for (size_t i = 0; i < ecnt && !ok; i++) {
                if (strcmp(rd_kafka_ConfigEntry_name(entries[i]), "min.insync.replicas"))
                    continue;
                snprintf(out, outn, "min.insync.replicas=%s (%s)",
                         rd_kafka_ConfigEntry_value(entries[i])
                             ? rd_kafka_ConfigEntry_value(entries[i])
                             : "null",
                         rd_kafka_ConfigSource_name(rd_kafka_ConfigEntry_source(entries[i])));
                ok = true;
            }
            if (!ok)
                failf(d, n,
                      "min.insync.replicas not among %zu entries, in "
                      "rd_kafka_DescribeConfigs()",
                      ecnt);
        }
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_queue_destroy(q);
    return ok;
}

static bool admin_delete_records(const char *topic, int64_t until, char *out, size_t outn, char *d,
                                 size_t n)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_DeleteRecords_t *dr;
    rd_kafka_queue_t *q = rd_kafka_queue_new(g_admin);
    rd_kafka_AdminOptions_t *o = admin_options(RD_KAFKA_ADMIN_OP_DELETERECORDS, until);
    const rd_kafka_topic_partition_list_t *res;
    rd_kafka_event_t *ev;
    bool ok = false;

    rd_kafka_topic_partition_list_add(l, topic, 0)->offset = 5;
    dr = rd_kafka_DeleteRecords_new(l);
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_DeleteRecords(g_admin, &dr, 1, o, q);
    rd_kafka_DeleteRecords_destroy(dr);
    rd_kafka_AdminOptions_destroy(o);
    if ((ev = admin_result(q, until, "rd_kafka_DeleteRecords", d, n))) {
        res = rd_kafka_DeleteRecords_result_offsets(rd_kafka_event_DeleteRecords_result(ev));
        if (!res || res->cnt != 1)
            failf(d, n, "%d partition results for 1, in rd_kafka_DeleteRecords()",
                  res ? res->cnt : 0);
        else if (res->elems[0].err)
            fail_err(d, n, "rd_kafka_DeleteRecords", res->elems[0].err, NULL);
        else if (res->elems[0].offset != 5)
            failf(d, n,
                  "low watermark %" PRId64 " after deleting before 5, in "
                  "rd_kafka_DeleteRecords()",
                  res->elems[0].offset);
        else
            ok = snprintf(out, outn, "low watermark 5 after deleting the first 5 of 10") > 0;
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_queue_destroy(q);
    return ok;
}

static bool admin_list_groups(const char *group, int64_t until, char *out, size_t outn, char *d,
                              size_t n)
{
    rd_kafka_queue_t *q = rd_kafka_queue_new(g_admin);
    rd_kafka_AdminOptions_t *o = admin_options(RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS, until);
    const rd_kafka_ListConsumerGroups_result_t *r;
    const rd_kafka_ConsumerGroupListing_t **gl;
    const rd_kafka_error_t **errs;
    rd_kafka_event_t *ev;
    size_t cnt = 0, ecnt = 0;
    bool ok = false;

    rd_kafka_ListConsumerGroups(g_admin, o, q);
    rd_kafka_AdminOptions_destroy(o);
    if ((ev = admin_result(q, until, "rd_kafka_ListConsumerGroups", d, n))) {
        r = rd_kafka_event_ListConsumerGroups_result(ev);
        gl = rd_kafka_ListConsumerGroups_result_valid(r, &cnt);
        errs = rd_kafka_ListConsumerGroups_result_errors(r, &ecnt);
        for (size_t i = 0; i < cnt && !ok; i++) {
            if (strcmp(rd_kafka_ConsumerGroupListing_group_id(gl[i]), group))
                continue;
            ok = true;
            snprintf(out, outn, "%zu group(s) listed, ours %s%s", cnt,
                     rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupListing_state(gl[i])),
                     rd_kafka_ConsumerGroupListing_is_simple_consumer_group(gl[i]) ? " (simple)"
                                                                                   : "");
        }
        if (!ok && ecnt)
            failf(d, n, "%s: %s (group not among %zu listed), in rd_kafka_ListConsumerGroups()",
                  rd_kafka_error_name(errs[0]), rd_kafka_error_string(errs[0]), cnt);
        else if (!ok)
            failf(d, n, "group %s not among %zu listed, in rd_kafka_ListConsumerGroups()", group,
                  cnt);
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_queue_destroy(q);
    return ok;
}

/* DeleteGroups for count groups; the first failing group's error in d. */
static int delete_groups(char list[][NAME_LEN], int count, int64_t until, char *d, size_t n)
{
    rd_kafka_DeleteGroup_t *dg[MAX_NAMES];
    rd_kafka_queue_t *q = rd_kafka_queue_new(g_admin);
    rd_kafka_AdminOptions_t *o = admin_options(RD_KAFKA_ADMIN_OP_DELETEGROUPS, until);
    const rd_kafka_group_result_t **res;
    rd_kafka_event_t *ev;
    size_t cnt = 0;
    int deleted = 0, failures = 0;

    for (int i = 0; i < count; i++)
        dg[i] = rd_kafka_DeleteGroup_new(list[i]);
    rd_kafka_DeleteGroups(g_admin, dg, (size_t)count, o, q);
    rd_kafka_DeleteGroup_destroy_array(dg, (size_t)count);
    rd_kafka_AdminOptions_destroy(o);
    if ((ev = admin_result(q, until, "rd_kafka_DeleteGroups", d, n))) {
        res = rd_kafka_DeleteGroups_result_groups(rd_kafka_event_DeleteGroups_result(ev), &cnt);
        for (size_t i = 0; i < cnt; i++) {
            const rd_kafka_error_t *ge = rd_kafka_group_result_error(res[i]);

            if (!ge)
                deleted++;
            else if (!failures++)
                failf(d, n, "%s: %s (group %s), in rd_kafka_DeleteGroups()",
                      rd_kafka_error_name(ge), rd_kafka_error_string(ge),
                      rd_kafka_group_result_name(res[i]));
        }
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_queue_destroy(q);
    return deleted;
}

static bool feat_admin(int64_t until, char *d, size_t n)
{
    client_t cp = {.label = "admin-p"}, cc = {.label = "admin-g"};
    char topic[NAME_LEN], group[1][NAME_LEN], cfg[160] = "", recs[100] = "", groups[160] = "";
    rd_kafka_topic_partition_list_t *l;
    rd_kafka_resp_err_t err;
    rd_kafka_t *p, *c;
    bool ok;

    make_name(topic, "admin");
    make_name(group[0], "admin");
    if (!create_topic(topic, until, d, n) ||
        !admin_describe_configs(topic, until, cfg, sizeof(cfg), d, n))
        return false;
    /* Ten records in partition 0, for DeleteRecords. */
    if (!(p = client_new(RD_KAFKA_PRODUCER, &cp, d, n, "acks", "all", NULL)))
        return false;
    ok = produce_n(p, topic, 0, 0, 10, until, d, n) && flush_all(p, &cp, 10, until, d, n);
    producer_destroy(p, false);
    if (!ok || !admin_delete_records(topic, until, recs, sizeof(recs), d, n))
        return false;
    /* A group with a committed offset and no members, as a group left
     * behind by a stopped service: listed, and deletable. */
    if (!(c = client_new(RD_KAFKA_CONSUMER, &cc, d, n, "group.id", group[0], NULL)))
        return false;
    l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, 0)->offset = 7;
    err = commit_wait(c, l, min_int(left(until) + 1000, 10000));
    rd_kafka_topic_partition_list_destroy(l);
    consumer_destroy(c, 2000);
    if (err)
        return fail_err(d, n, "rd_kafka_commit_queue", err, NULL);
    remember(g_groups, &g_ngroups, group[0]);
    if (!admin_list_groups(group[0], until, groups, sizeof(groups), d, n))
        return false;
    d[0] = '\0';
    if (delete_groups(group, 1, until, d, n) != 1)
        return *d ? false
                  : failf(d, n, "no result for group %s, in rd_kafka_DeleteGroups()", group[0]);
    g_ngroups--; /* deleted already */
    snprintf(d, n,
             "CreateTopics ok; DescribeConfigs %s; DeleteRecords %s; ListConsumerGroups %s; "
             "DeleteGroups ok",
             cfg, recs, groups);
    return true;
}

/* ---- cleanup, watchdog, main --------------------------------------------- */

static void cleanup(void)
{
    int64_t until = now_ms() + CLEANUP_MS;
    rd_kafka_DeleteTopic_t *dt[MAX_NAMES];
    rd_kafka_queue_t *q;
    rd_kafka_AdminOptions_t *o;
    rd_kafka_event_t *ev;
    char d[DETAIL_LEN] = "";
    size_t cnt = 0;
    int topics = 0, groups = 0;

    if (until > g_start + END_MS)
        until = g_start + END_MS;

    if (g_ngroups)
        groups = delete_groups(g_groups, g_ngroups, until, d, sizeof(d));
    if (g_ntopics) {
        q = rd_kafka_queue_new(g_admin);
        o = admin_options(RD_KAFKA_ADMIN_OP_DELETETOPICS, until);
        for (int i = 0; i < g_ntopics; i++)
            dt[i] = rd_kafka_DeleteTopic_new(g_topics[i]);
        rd_kafka_DeleteTopics(g_admin, dt, (size_t)g_ntopics, o, q);
        rd_kafka_DeleteTopic_destroy_array(dt, (size_t)g_ntopics);
        rd_kafka_AdminOptions_destroy(o);
        if ((ev = admin_result(q, until, "rd_kafka_DeleteTopics", d, sizeof(d)))) {
            const rd_kafka_topic_result_t **res =
                rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &cnt);

            for (size_t i = 0; i < cnt; i++)
                topics += !rd_kafka_topic_result_error(res[i]);
            rd_kafka_event_destroy(ev);
        }
        rd_kafka_queue_destroy(q);
    }
    fprintf(stderr, "rdkafka_compat: cleanup: deleted %d of %d topic(s), %d of %d group(s)%s%s\n",
            topics, g_ntopics, groups, g_ngroups, *d ? "; " : "", d);
}

static const struct feature {
    const char *name;
    bool (*run)(int64_t until, char *d, size_t n);
    int budget_ms;
} features[] = {
    {"idempotent-producer", feat_idempotent, 15000},
    /* Two cooperative rounds after the second member joins, each waiting for a
     * heartbeat (3 s by default): on two loaded cores, late in the real tier,
     * that took more than 25 s. */
    {"cooperative-sticky", feat_cooperative, 45000},
    {"transactions", feat_transactions, 15000},
    {"send-offsets-to-transaction", feat_send_offsets, 15000},
    {"fencing", feat_fencing, 15000},
    {"statistics", feat_statistics, 10000},
    {"admin", feat_admin, 15000},
};

/* async-signal-safe: write(2) and _exit(2) only */
static void on_watchdog(int sig)
{
    static const char tail[] = ": FAIL (_TIMED_OUT: the probe's " XSTR(
        WATCHDOG_S) " s watchdog fired while this feature ran)\n";
    const char *name = g_running >= 0 ? features[g_running].name : "watchdog";
    ssize_t ignored;

    ignored = write(STDOUT_FILENO, name, strlen(name));
    ignored = write(STDOUT_FILENO, tail, sizeof(tail) - 1);
    (void)ignored;
    _exit(1);
}

static int usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s <bootstrap-servers> [<topic-prefix>]\n"
            "Checks the librdkafka features the suite relies on against a running Kafka "
            "cluster.\nTopics and groups are named <topic-prefix><pid>-<time>-<feature> "
            "(default prefix \"compat-\").\nExit status: 0 all passed, 1 a feature failed, 2 "
            "bad usage.\n",
            prog);
    return 2;
}

int main(int argc, char **argv)
{
    const char *prefix = argc > 2 ? argv[2] : "compat-";
    char line[4 * DETAIL_LEN], d[DETAIL_LEN], errstr[512];
    rd_kafka_conf_t *conf;
    client_t admin = {.label = "admin"};
    int failed = 0;

    if (argc < 2 || argc > 3 || !argv[1][0] || argv[1][0] == '-')
        return usage(argv[0]);
    if (strlen(prefix) > 80 || strspn(prefix, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                              "0123456789._-") != strlen(prefix)) {
        fprintf(stderr, "%s: the topic prefix must be at most 80 of [a-zA-Z0-9._-]\n", argv[0]);
        return usage(argv[0]);
    }
    g_bootstrap = argv[1];
    snprintf(g_prefix, sizeof(g_prefix), "%s%ld-%ld", prefix, (long)getpid(), (long)time(NULL));
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGALRM, on_watchdog);
    alarm(WATCHDOG_S);
    g_start = now_ms();
    g_deadline = g_start + RUN_BUDGET_MS;

    if (!probe_cluster(line, sizeof(line))) {
        printf("cluster: FAIL (%s)\n", line);
        return 1;
    }
    printf("cluster: %s\n", line);

    conf = rd_kafka_conf_new();
    rd_kafka_conf_set_opaque(conf, &admin);
    rd_kafka_conf_set_error_cb(conf, on_error);
    if (rd_kafka_conf_set(conf, "bootstrap.servers", g_bootstrap, errstr, sizeof(errstr)) ||
        !(g_admin = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr)))) {
        rd_kafka_conf_destroy(conf);
        printf("admin: FAIL (_INVALID_ARG: %s, in rd_kafka_new())\n", errstr);
        return 1;
    }

    for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++) {
        int64_t until = now_ms() + features[i].budget_ms;
        bool ok;

        if (until > g_deadline)
            until = g_deadline;
        if (left(until) < 1000) {
            printf("%s: FAIL (_TIMED_OUT: not run, the probe's %d s budget is spent)\n",
                   features[i].name, RUN_BUDGET_MS / 1000);
            failed++;
            continue;
        }
        g_running = (sig_atomic_t)i;
        d[0] = '\0';
        ok = features[i].run(until, d, sizeof(d));
        rd_kafka_poll(g_admin, 0);
        printf("%s: %s (%s)\n", features[i].name, ok ? "ok" : "FAIL", d);
        failed += !ok;
    }
    g_running = -1;
    cleanup();
    rd_kafka_destroy(g_admin);
    return failed ? 1 : 0;
}
