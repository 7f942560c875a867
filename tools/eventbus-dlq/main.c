/*
 * eventbus-dlq: inspect and replay dead letters.
 *
 *   eventbus-dlq list <dlq-topic>
 *       One JSON object per dead letter on stdout: where it was dead-lettered
 *       from and why (the kafka_dlt-* headers, decoded), its key, value and
 *       original headers.
 *
 *   eventbus-dlq replay <dlq-topic> [--event-id ID]... [--dry-run]
 *       Publishes dead letters again to the topic they came from
 *       (kafka_dlt-original-topic), same partition, same key, same value,
 *       original headers without the dead-letter ones. With --event-id only
 *       those events; with --dry-run only prints what it would publish.
 *       Safe to repeat: consumers skip events they already handled, and a
 *       dead-lettered event was never marked handled.
 *
 * Both read the DLQ from its beginning up to its end at start (high
 * watermarks), without a consumer group and without committing anything.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "eventbus/app/cli.h"
#include "eventbus/app/setup.h"
#include "eventbus/eventbus.h"

#define MAX_EVENT_IDS 256

static eb_common_conf_t common;

static const eb_conf_section_t sections[] = {
    EB_CONF_SECTION_KAFKA(&common),
    EB_CONF_SECTION_LOG(&common),
};

static const eb_conf_program_t prog = {
    "eventbus-dlq",
    "Inspects and replays dead letters.\n\n"
    "Commands:\n"
    "  list <dlq-topic>      print one JSON line per dead letter (headers decoded)\n"
    "  replay <dlq-topic>    publish dead letters again to their original topic\n"
    "      --event-id ID     only this event (repeatable)\n"
    "      --dry-run         print what would be published, publish nothing",
    "list|replay <dlq-topic> [--event-id ID]... [--dry-run] [options]",
    sections,
    sizeof(sections) / sizeof(sections[0]),
    1,
    2,
};

typedef struct dlq_opts_s {
    const char *event_ids[MAX_EVENT_IDS];
    int event_id_count;
    int dry_run;
} dlq_opts_t;

/* Adds a header value to o: integers for the big-endian kafka_dlt-* fields,
 * text (up to the first NUL byte) for everything else. */
static void add_header(cJSON *o, const char *name, const void *v, size_t size)
{
    int32_t i32;
    int64_t i64;

    if (!v) {
        cJSON_AddNullToObject(o, name);
    } else if (strcmp(name, EB_DLT_ORIGINAL_PARTITION) == 0 &&
               eb_dlq_read_be32(v, size, &i32) == 0) {
        cJSON_AddNumberToObject(o, name, i32);
    } else if ((strcmp(name, EB_DLT_ORIGINAL_OFFSET) == 0 ||
                strcmp(name, EB_DLT_ORIGINAL_TIMESTAMP) == 0) &&
               eb_dlq_read_be64(v, size, &i64) == 0) {
        cJSON_AddNumberToObject(o, name, (double)i64);
    } else {
        char *s = strndup(v, size);

        cJSON_AddStringToObject(o, name, s ? s : "");
        free(s);
    }
}

/* The CloudEvent id inside a value, if it is one. */
static int event_id_of(const rd_kafka_message_t *m, char *out, size_t size)
{
    eb_event_t ev;
    char errstr[64];

    if (eb_event_decode(m->payload, m->len, &ev, errstr, sizeof(errstr)) != EB_OK)
        return 0;
    snprintf(out, size, "%s", ev.id);
    eb_event_close(&ev);
    return 1;
}

static void print_record(const rd_kafka_message_t *m)
{
    cJSON *o = cJSON_CreateObject(), *dlt = cJSON_CreateObject(), *orig = cJSON_CreateObject();
    rd_kafka_headers_t *h = NULL;
    char event_id[EB_EVENT_ID_MAX + 1];
    const char *name;
    const void *v;
    size_t size;
    char *line;

    cJSON_AddStringToObject(o, "topic", rd_kafka_topic_name(m->rkt));
    cJSON_AddNumberToObject(o, "partition", m->partition);
    cJSON_AddNumberToObject(o, "offset", (double)m->offset);
    cJSON_AddNumberToObject(o, "timestamp", (double)rd_kafka_message_timestamp(m, NULL));
    if (event_id_of(m, event_id, sizeof(event_id)))
        cJSON_AddStringToObject(o, "eventId", event_id);
    else
        cJSON_AddNullToObject(o, "eventId");
    add_header(o, "key", m->key, m->key_len);
    add_header(o, "value", m->payload, m->len);
    if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        for (size_t i = 0; rd_kafka_header_get_all(h, i, &name, &v, &size) == 0; i++)
            add_header(eb_dlq_is_dlq_header(name) ? dlt : orig, name, v, size);
    }
    cJSON_AddItemToObject(o, "deadLetter", dlt);
    cJSON_AddItemToObject(o, "headers", orig);
    line = cJSON_PrintUnformatted(o);
    if (line)
        printf("%s\n", line);
    cJSON_free(line);
    cJSON_Delete(o);
}

typedef struct replay_s {
    eb_producer_t *producer;
    const dlq_opts_t *opts;
    int selected, failed;
} replay_t;

static int wanted(const dlq_opts_t *o, const char *event_id)
{
    if (o->event_id_count == 0)
        return 1;
    for (int i = 0; event_id && i < o->event_id_count; i++)
        if (strcmp(o->event_ids[i], event_id) == 0)
            return 1;
    return 0;
}

static void replay_record(replay_t *rp, const rd_kafka_message_t *m)
{
    rd_kafka_headers_t *h = NULL, *orig = NULL;
    char event_id[EB_EVENT_ID_MAX + 1], topic[256], errstr[256];
    const void *v;
    size_t size;
    int32_t partition = EB_PARTITION_ANY;
    int has_id = event_id_of(m, event_id, sizeof(event_id));

    if (!wanted(rp->opts, has_id ? event_id : NULL))
        return;
    rd_kafka_message_headers(m, &h);
    if (!h || rd_kafka_header_get_last(h, EB_DLT_ORIGINAL_TOPIC, &v, &size) != 0 || !v ||
        size == 0 || size >= sizeof(topic)) {
        fprintf(stderr, "eventbus-dlq: offset %lld has no %s header; skipped\n",
                (long long)m->offset, EB_DLT_ORIGINAL_TOPIC);
        return;
    }
    memcpy(topic, v, size);
    topic[size] = '\0';
    if (rd_kafka_header_get_last(h, EB_DLT_ORIGINAL_PARTITION, &v, &size) == 0 && v)
        eb_dlq_read_be32(v, size, &partition);

    /* The original headers: everything but what the dead-lettering added. */
    orig = rd_kafka_headers_copy(h);
    eb_dlq_strip_headers(orig);

    rp->selected++;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "action", rp->opts->dry_run ? "would replay" : "replayed");
    if (has_id)
        cJSON_AddStringToObject(o, "eventId", event_id);
    cJSON_AddStringToObject(o, "to", topic);
    cJSON_AddNumberToObject(o, "partition", partition);
    cJSON_AddNumberToObject(o, "dlqOffset", (double)m->offset);

    if (!rp->opts->dry_run) {
        eb_record_t rec = {topic, partition, m->key, m->key_len, m->payload, m->len, NULL, 0, orig};

        if (eb_producer_send(rp->producer, &rec, NULL, errstr, sizeof(errstr)) != EB_OK) {
            fprintf(stderr, "eventbus-dlq: replay of offset %lld: %s\n", (long long)m->offset,
                    errstr);
            rp->failed++;
            cJSON_Delete(o);
            rd_kafka_headers_destroy(orig);
            return;
        }
    }
    char *line = cJSON_PrintUnformatted(o);
    if (line)
        printf("%s\n", line);
    cJSON_free(line);
    cJSON_Delete(o);
    rd_kafka_headers_destroy(orig);
}

static void on_replayed(void *msg_opaque, eb_err_t err, const char *reason, void *opaque)
{
    replay_t *rp = opaque;

    (void)msg_opaque;
    if (err) {
        fprintf(stderr, "eventbus-dlq: replay not acknowledged: %s\n", reason);
        rp->failed++;
    }
}

/* Reads the whole topic (eb_kafka_scan) into fn. Returns an exit code. */
static int scan(rd_kafka_t *rk, const char *topic,
                void (*fn)(void *arg, const rd_kafka_message_t *m), void *arg)
{
    char errstr[256];

    if (eb_kafka_scan(rk, topic, fn, arg, &eb_stop_flag, errstr, sizeof(errstr)) != EB_OK) {
        fprintf(stderr, "eventbus-dlq: %s\n", errstr);
        return APP_EXIT_FAIL;
    }
    return APP_EXIT_OK;
}

static void list_fn(void *arg, const rd_kafka_message_t *m)
{
    (void)arg;
    print_record(m);
}

static void replay_fn(void *arg, const rd_kafka_message_t *m)
{
    replay_record(arg, m);
}

/* Takes --event-id and --dry-run out of argv (they are not settings). */
static int take_own_flags(int *argc, char **argv, dlq_opts_t *o)
{
    int out = 1;

    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "--dry-run") == 0) {
            o->dry_run = 1;
        } else if (strcmp(argv[i], "--event-id") == 0 || strncmp(argv[i], "--event-id=", 11) == 0) {
            const char *v = argv[i][10] == '=' ? argv[i] + 11 : (i + 1 < *argc ? argv[++i] : NULL);

            if (!v || !*v || o->event_id_count == MAX_EVENT_IDS) {
                app_cli_error(prog.name, "--event-id needs an event id (at most %d)",
                              MAX_EVENT_IDS);
                return -1;
            }
            o->event_ids[o->event_id_count++] = v;
        } else {
            argv[out++] = argv[i];
        }
    }
    *argc = out;
    return 0;
}

int main(int argc, char **argv)
{
    static const char *const consumer_defaults[] = {"enable.auto.commit", "false",
                                                    "enable.partition.eof", "false", NULL};
    dlq_opts_t opts = {0};
    eb_conf_args_t args;
    rd_kafka_conf_t *cconf, *pconf = NULL;
    rd_kafka_t *rk;
    replay_t rp = {0};
    char errstr[512];
    int rc, replay;

    if (take_own_flags(&argc, argv, &opts) != 0)
        return APP_EXIT_USAGE;
    if ((rc = app_cli_parse(&prog, argc, argv, &args)) != APP_CONTINUE)
        return rc;
    if (args.positional_count != 2 ||
        (strcmp(args.positional[0], "list") != 0 && strcmp(args.positional[0], "replay") != 0)) {
        app_cli_error(prog.name, "usage: eventbus-dlq list|replay <dlq-topic> (see --help)");
        return APP_EXIT_USAGE;
    }
    replay = strcmp(args.positional[0], "replay") == 0;
    if (!replay && (opts.dry_run || opts.event_id_count)) {
        app_cli_error(prog.name, "--event-id and --dry-run apply to replay only");
        return APP_EXIT_USAGE;
    }
    /* Logs go to stderr in text form unless asked otherwise: stdout is data. */
    if (!getenv("LOG_FORMAT"))
        common.log_format = "text";
    if (!getenv("LOG_LEVEL"))
        common.log_level = "warn";
    app_setup_log(prog.name, &common);

    eb_kafka_props_t cprops = {consumer_defaults, args.kafka_props, args.kafka_prop_count,
                               "consumer"};
    cconf = eb_kafka_conf_new(&common, "eventbus-dlq", &cprops, errstr, sizeof(errstr));
    if (!cconf || (replay && app_setup_kafka_confs(&common, &args, "eventbus-dlq", NULL, &pconf,
                                                   errstr, sizeof(errstr)) != EB_OK)) {
        app_cli_error(prog.name, "%s", errstr);
        if (cconf)
            rd_kafka_conf_destroy(cconf);
        return APP_EXIT_USAGE;
    }
    eb_kafka_conf_set(cconf, "group.id", "eventbus-dlq", NULL, 0);
    eb_lifecycle_install_signals();
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, cconf, errstr, sizeof(errstr));
    if (!rk) {
        app_cli_error(prog.name, "%s", errstr);
        rd_kafka_conf_destroy(cconf);
        if (pconf)
            rd_kafka_conf_destroy(pconf);
        return APP_EXIT_FAIL;
    }

    if (!replay) {
        rc = scan(rk, args.positional[1], list_fn, NULL);
    } else {
        rp.opts = &opts;
        rp.producer = eb_producer_new(pconf, on_replayed, &rp, errstr, sizeof(errstr));
        if (!rp.producer) {
            app_cli_error(prog.name, "%s", errstr);
            rc = APP_EXIT_FAIL;
        } else {
            rc = scan(rk, args.positional[1], replay_fn, &rp);
            if (eb_producer_flush(rp.producer, 30000) != EB_OK)
                rp.failed++;
            eb_producer_destroy(rp.producer, 1000);
            fprintf(stderr, "eventbus-dlq: %s %d dead letter(s)%s\n",
                    opts.dry_run ? "would replay" : "replayed", rp.selected - rp.failed,
                    rp.failed ? ", some failed" : "");
            if (rp.failed)
                rc = APP_EXIT_FAIL;
        }
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    eb_metrics_reset();
    return rc;
}
