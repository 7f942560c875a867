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

eb_err_t eb_kafka_scan(rd_kafka_t *rk, const char *topic,
                       void (*fn)(void *arg, const rd_kafka_message_t *m), void *arg,
                       const atomic_int *stop, char *errstr, size_t errstr_size)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    rd_kafka_topic_partition_list_t *parts;
    int64_t *end;
    int remaining = 0, nparts;

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

    end = calloc((size_t)nparts + 1, sizeof(*end));
    parts = rd_kafka_topic_partition_list_new(nparts);
    if (!end || !parts) {
        free(end);
        if (parts)
            rd_kafka_topic_partition_list_destroy(parts);
        snprintf(errstr, errstr_size, "out of memory");
        return EB_ERR_NOMEM;
    }
    for (int p = 0; p < nparts; p++) {
        int64_t lo = 0, hi = 0;

        if (rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 10000)) {
            snprintf(errstr, errstr_size, "cannot read the offsets of %s[%d]", topic, p);
            free(end);
            rd_kafka_topic_partition_list_destroy(parts);
            return EB_ERR_KAFKA;
        }
        end[p] = hi;
        if (hi > lo) {
            rd_kafka_topic_partition_list_add(parts, topic, p)->offset = lo;
            remaining++;
        }
    }
    if (remaining)
        rd_kafka_assign(rk, parts);
    snprintf(errstr, errstr_size, "stopped while reading %s", topic);
    while (remaining > 0 && !(stop && atomic_load(stop))) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 10000);

        if (!m) {
            snprintf(errstr, errstr_size, "timed out reading %s", topic);
            break;
        }
        if (!m->err && m->partition >= 0 && m->partition < nparts &&
            m->offset < end[m->partition]) {
            fn(arg, m);
            if (m->offset + 1 >= end[m->partition])
                remaining--;
        } else if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            EB_WARN("reading %s: %s", topic, rd_kafka_message_errstr(m));
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_assign(rk, NULL);
    rd_kafka_topic_partition_list_destroy(parts);
    free(end);
    return remaining == 0 ? EB_OK : EB_ERR_KAFKA;
}
