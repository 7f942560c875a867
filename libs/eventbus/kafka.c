/*
 * librdkafka configuration from the suite's settings, and librdkafka's log
 * lines routed into eb_log.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eb_int.h"
#include "eventbus/kafka.h"
#include "eventbus/log.h"

eb_err_t eb_kafka_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value, char *errstr,
                           size_t errstr_size)
{
    char why[256];

    if (rd_kafka_conf_set(conf, key, value, why, sizeof(why)) != RD_KAFKA_CONF_OK)
        return eb__seterr(errstr, errstr_size, EB_ERR_INVALID, "%s=%s: %s", key, value, why);
    return EB_OK;
}

/* Routes librdkafka's syslog-levelled lines into eb_log. Called from
 * librdkafka's threads; eb_log_write() is thread-safe. */
static void rdkafka_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    eb_log_level_t l = level <= 2   ? EB_LOG_ERROR
                       : level <= 4 ? EB_LOG_WARN
                       : level <= 6 ? EB_LOG_INFO
                                    : EB_LOG_DEBUG;

    /* "property X is a consumer property and will be ignored by this
     * producer": expected with a shared properties file, not a warning. */
    if (strcmp(fac, "CONFWARN") == 0 && l < EB_LOG_INFO)
        l = EB_LOG_INFO;

    EB_LOG(l, "rdkafka %s %s: %s", rd_kafka_name(rk), fac, buf);
}

static char *trim(char *s)
{
    char *e;

    while (isspace((unsigned char)*s))
        s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

/* Applies "key=value" text unless its role prefix names another role;
 * source names it in errors. */
static eb_err_t apply_prop(rd_kafka_conf_t *conf, char *line, const char *role, const char *source,
                           char *errstr, size_t errstr_size)
{
    static const char *const roles[] = {"consumer.", "producer."};
    char *eq = strchr(line, '='), *key;
    char why[300];

    if (!eq)
        return eb__seterr(errstr, errstr_size, EB_ERR_INVALID, "%s: expected key=value, got '%s'",
                          source, line);
    *eq = '\0';
    key = trim(line);
    for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
        size_t n = strlen(roles[i]);

        if (strncmp(key, roles[i], n) != 0)
            continue;
        if (!role || strncmp(role, roles[i], n - 1) != 0 || role[n - 1] != '\0')
            return EB_OK; /* for the other role */
        key += n;
        break;
    }
    if (eb_kafka_conf_set(conf, key, trim(eq + 1), why, sizeof(why)) != EB_OK)
        return eb__seterr(errstr, errstr_size, EB_ERR_INVALID, "%s: %s", source, why);
    return EB_OK;
}

static eb_err_t apply_file(rd_kafka_conf_t *conf, const char *path, const char *role, char *errstr,
                           size_t errstr_size)
{
    FILE *f = fopen(path, "r");
    char line[1024], source[1100];
    int lineno = 0;
    eb_err_t err = EB_OK;

    if (!f)
        return eb__seterr(errstr, errstr_size, EB_ERR_INVALID, "KAFKA_CONFIG_FILE %s: %s", path,
                          strerror(errno));
    while (err == EB_OK && fgets(line, sizeof(line), f)) {
        char *l = trim(line);

        lineno++;
        if (*l == '\0' || *l == '#')
            continue;
        snprintf(source, sizeof(source), "KAFKA_CONFIG_FILE %s line %d", path, lineno);
        err = apply_prop(conf, l, role, source, errstr, errstr_size);
    }
    fclose(f);
    return err;
}

rd_kafka_conf_t *eb_kafka_conf_new(const eb_common_conf_t *common, const char *client_id,
                                   const eb_kafka_props_t *props, char *errstr, size_t errstr_size)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char buf[1024];

    if ((common->kafka_brokers &&
         eb_kafka_conf_set(conf, "bootstrap.servers", common->kafka_brokers, errstr, errstr_size) !=
             EB_OK) ||
        (client_id &&
         eb_kafka_conf_set(conf, "client.id", client_id, errstr, errstr_size) != EB_OK))
        goto fail;
    for (const char *const *d = props ? props->defaults : NULL; d && d[0]; d += 2)
        if (eb_kafka_conf_set(conf, d[0], d[1], errstr, errstr_size) != EB_OK)
            goto fail;
    if (common->kafka_config_file && common->kafka_config_file[0] &&
        apply_file(conf, common->kafka_config_file, props ? props->role : NULL, errstr,
                   errstr_size) != EB_OK)
        goto fail;
    for (int i = 0; props && i < props->user_count; i++) {
        snprintf(buf, sizeof(buf), "%s", props->user[i]);
        if (apply_prop(conf, buf, props->role, "-X", errstr, errstr_size) != EB_OK)
            goto fail;
    }
    rd_kafka_conf_set_log_cb(conf, rdkafka_log);
    return conf;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

int eb_kafka_reachable(rd_kafka_t *rk, int timeout_ms)
{
    const struct rd_kafka_metadata *md = NULL;
    int ok;

    if (rd_kafka_metadata(rk, 0, NULL, &md, timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return 0;
    ok = md->broker_cnt > 0;
    rd_kafka_metadata_destroy(md);
    return ok;
}

eb_err_t eb_kafka_topic_ranges(rd_kafka_t *rk, const char *topic, eb_kafka_range_t **ranges,
                               int *count, char *errstr, size_t errstr_size)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    eb_kafka_range_t *r;
    int nparts;

    *ranges = NULL;
    *count = 0;
    if (!rkt || rd_kafka_metadata(rk, 0, rkt, &md, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        md->topic_cnt != 1 || md->topics[0].err) {
        snprintf(errstr, errstr_size, "topic %s: %s", topic,
                 md && md->topic_cnt ? rd_kafka_err2str(md->topics[0].err) : "metadata timed out");
        if (md)
            rd_kafka_metadata_destroy(md);
        if (rkt)
            rd_kafka_topic_destroy(rkt);
        return EB_ERR_KAFKA;
    }
    nparts = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);

    r = calloc((size_t)nparts + 1, sizeof(*r));
    if (!r) {
        snprintf(errstr, errstr_size, "out of memory");
        return EB_ERR_NOMEM;
    }
    for (int p = 0; p < nparts; p++) {
        r[p].partition = p;
        if (rd_kafka_query_watermark_offsets(rk, topic, p, &r[p].start, &r[p].end, 10000)) {
            snprintf(errstr, errstr_size, "cannot read the offsets of %s[%d]", topic, p);
            free(r);
            return EB_ERR_KAFKA;
        }
    }
    *ranges = r;
    *count = nparts;
    return EB_OK;
}

eb_err_t eb_kafka_scan_ranges(rd_kafka_t *rk, const char *topic, const eb_kafka_range_t *ranges,
                              int count, int (*fn)(void *arg, const rd_kafka_message_t *m),
                              void *arg, const atomic_int *stop, char *errstr, size_t errstr_size)
{
    rd_kafka_topic_partition_list_t *parts;
    int64_t *end; /* per partition number: where its range ends, -1 when not read */
    int32_t top = -1;
    int remaining = 0, done = 0;

    for (int i = 0; i < count; i++)
        if (ranges[i].partition > top)
            top = ranges[i].partition;
    end = malloc(((size_t)top + 1) * sizeof(*end) + 1);
    parts = rd_kafka_topic_partition_list_new(count > 0 ? count : 1);
    if (!end || !parts) {
        free(end);
        if (parts)
            rd_kafka_topic_partition_list_destroy(parts);
        snprintf(errstr, errstr_size, "out of memory");
        return EB_ERR_NOMEM;
    }
    for (int32_t p = 0; p <= top; p++)
        end[p] = -1;
    for (int i = 0; i < count; i++) {
        const eb_kafka_range_t *r = &ranges[i];

        if (r->partition < 0 || r->end <= r->start || end[r->partition] >= 0)
            continue;
        end[r->partition] = r->end;
        rd_kafka_topic_partition_list_add(parts, topic, r->partition)->offset = r->start;
        remaining++;
    }
    if (remaining)
        rd_kafka_assign(rk, parts);
    snprintf(errstr, errstr_size, "stopped while reading %s", topic);
    while (remaining > 0 && !done && !(stop && atomic_load(stop))) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 10000);
        int32_t p;

        if (!m) {
            snprintf(errstr, errstr_size, "timed out reading %s", topic);
            break;
        }
        p = m->partition;
        if (p < 0 || p > top || end[p] < 0) {
            if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                EB_WARN("reading %s: %s", topic, rd_kafka_message_errstr(m));
        } else if (!m->err || m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            /* A record at or past the end, or the partition's end (EOF,
             * when enabled; its offset is the next one), closes the range:
             * offsets may have gaps (compaction, transaction markers). */
            if (!m->err && m->offset < end[p])
                done = fn(arg, m);
            if (m->offset + (m->err ? 0 : 1) >= end[p]) {
                end[p] = -1;
                remaining--;
            }
        } else {
            EB_WARN("reading %s: %s", topic, rd_kafka_message_errstr(m));
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_assign(rk, NULL);
    rd_kafka_topic_partition_list_destroy(parts);
    free(end);
    return remaining == 0 || done ? EB_OK : EB_ERR_KAFKA;
}

typedef struct scan_all_s {
    void (*fn)(void *arg, const rd_kafka_message_t *m);
    void *arg;
} scan_all_t;

static int scan_all_fn(void *arg, const rd_kafka_message_t *m)
{
    scan_all_t *a = arg;

    a->fn(a->arg, m);
    return 0;
}

eb_err_t eb_kafka_scan(rd_kafka_t *rk, const char *topic,
                       void (*fn)(void *arg, const rd_kafka_message_t *m), void *arg,
                       const atomic_int *stop, char *errstr, size_t errstr_size)
{
    eb_kafka_range_t *ranges;
    scan_all_t a = {fn, arg};
    int count;
    eb_err_t err = eb_kafka_topic_ranges(rk, topic, &ranges, &count, errstr, errstr_size);

    if (err != EB_OK)
        return err;
    err =
        eb_kafka_scan_ranges(rk, topic, ranges, count, scan_all_fn, &a, stop, errstr, errstr_size);
    free(ranges);
    return err;
}

eb_err_t eb_kafka_event_decode(const rd_kafka_message_t *m, eb_event_t *ev, char *errstr,
                               size_t errstr_size)
{
    rd_kafka_headers_t *h = NULL;
    const void *ct = NULL;
    size_t ctlen = 0;
    eb_err_t err;

    if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (rd_kafka_header_get_last(h, EB_CE_CONTENT_TYPE_HEADER, &ct, &ctlen) !=
            RD_KAFKA_RESP_ERR_NO_ERROR)
            ct = NULL;
        else if (!ct)
            ct = ""; /* a header with a null value: not structured mode either */
    }
    err = eb_event_check_content_type(ct, ctlen, errstr, errstr_size);
    return err ? err : eb_event_decode(m->payload, m->len, ev, errstr, errstr_size);
}
