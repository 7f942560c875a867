/*
 * eventbus-dlq: inspect and replay dead letters, as kcat would.
 *
 *   eventbus-dlq list <dlq-topic> [filters]
 *       One JSON object per dead letter on stdout: where it was dead-lettered
 *       from and why (the kafka_dlt-* headers, decoded), its key, value and
 *       every header, none of their bytes lost (show.h).
 *
 *   eventbus-dlq replay <dlq-topic> [filters] [--dry-run]
 *       Publishes the selected dead letters again to the topic they came
 *       from (kafka_dlt-original-topic), its partition
 *       (kafka_dlt-original-partition), same key, same value, the original
 *       headers without the dead-letter ones, byte for byte: a dead letter
 *       that is not a CloudEvent is selected by offset. With --dry-run only
 *       prints what it would publish. Safe to repeat: consumers skip events
 *       they already handled, and a dead-lettered event was never marked
 *       handled.
 *
 * Filters (select.h): partitions, an offset range and a count, the
 * original consumer group, a time range on the dead letter's timestamp,
 * event ids. Both commands read each selected partition from its start
 * offset up to the end it had at start (its high watermark), without a
 * consumer group and without committing anything; the time filter is
 * applied to each record read, not through ListOffsets by time, so it
 * works on the dev broker too (docs/mock-cluster.md).
 *
 * Shutdown: SIGINT/SIGTERM stop the scan; replay then flushes what it
 * queued (30 s at most), destroys the producer, and the consumer closes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "eventbus/app/cli.h"
#include "eventbus/app/setup.h"
#include "eventbus/eventbus.h"
#include "select.h"
#include "show.h"

static eb_common_conf_t common;

static const eb_conf_section_t sections[] = {
    EB_CONF_SECTION_KAFKA(&common),
    EB_CONF_SECTION_LOG(&common),
};

static const eb_conf_program_t prog = {
    "eventbus-dlq",
    "Inspects and replays dead letters.\n\n"
    "Commands:\n"
    "  list <dlq-topic>       print one JSON line per dead letter: key, value and headers\n"
    "                         without losing a byte (text as strings, other bytes as\n"
    "                         {\"base64\":...}), the dead-letter headers decoded\n"
    "  replay <dlq-topic>     publish dead letters again, byte for byte, to their\n"
    "                         original topic and partition\n"
    "      --dry-run          print what would be published, publish nothing\n\n"
    "Filters (list and replay; all must match, a repeated filter any of its values):\n"
    "  -p, --partition N[,N...]  only these partitions of the DLQ (repeatable)\n"
    "  -o, --offset beginning|end|N|-N\n"
    "                         start offset in each partition: the first (default), the\n"
    "                         end, offset N, or N records before the end\n"
    "      --end-offset N     stop before offset N (exclusive)\n"
    "  -c, --count N          at most N dead letters in all (one: -p P -o O -c 1)\n"
    "      --group G          dead-lettered by consumer group G\n"
    "                         (kafka_dlt-original-consumer-group; repeatable)\n"
    "      --since T          dead-lettered at or after T: the DLQ record's timestamp;\n"
    "      --until T          before T (T: RFC 3339, 2026-11-21T10:30:00Z, or ms since\n"
    "                         the epoch)\n"
    "      --event-id ID      the CloudEvent with this id (repeatable)\n\n"
    "Kafka, as kcat:\n"
    "  -b BROKERS             bootstrap servers (KAFKA_BROKERS)\n"
    "  -F FILE                librdkafka properties file (KAFKA_CONFIG_FILE)\n"
    "  -X key=value           librdkafka property, for every client (below)",
    "list|replay <dlq-topic> [filters] [--dry-run] [-b brokers] [-F file] [-X key=value]... "
    "[options]",
    sections,
    sizeof(sections) / sizeof(sections[0]),
    1,
    2,
};

/* The event id inside a value: the "id" of a JSON object, so that an
 * event dead-lettered for being an invalid CloudEvent (a bad time, an
 * unknown version) can still be found by it. 0 when it has none. */
static int event_id_of(const rd_kafka_message_t *m, char *out, size_t size)
{
    cJSON *root = m->payload ? cJSON_ParseWithLength(m->payload, m->len) : NULL;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "id");
    int ok = cJSON_IsString(id) && id->valuestring[0] && strlen(id->valuestring) < size;

    if (ok)
        snprintf(out, size, "%s", id->valuestring);
    cJSON_Delete(root);
    return ok;
}

/* The decoded view of a dead-letter header: the integer of a big-endian
 * one, else what dlq_show_bytes() shows. */
static cJSON *decoded(const char *name, const void *v, size_t size)
{
    cJSON *o = dlq_show_bytes(name, v, size), *i = cJSON_DetachItemFromObject(o, "int");

    if (i) {
        cJSON_Delete(o);
        return i;
    }
    return o;
}

static void print_record(const rd_kafka_message_t *m, const char *event_id)
{
    cJSON *o = cJSON_CreateObject(), *dlt = cJSON_CreateObject(), *all = cJSON_CreateArray();
    rd_kafka_headers_t *h = NULL;
    const char *name;
    const void *v;
    size_t size;
    char *line;

    cJSON_AddStringToObject(o, "topic", rd_kafka_topic_name(m->rkt));
    cJSON_AddNumberToObject(o, "partition", m->partition);
    cJSON_AddNumberToObject(o, "offset", (double)m->offset);
    cJSON_AddNumberToObject(o, "timestamp", (double)rd_kafka_message_timestamp(m, NULL));
    if (event_id)
        cJSON_AddStringToObject(o, "eventId", event_id);
    else
        cJSON_AddNullToObject(o, "eventId");
    cJSON_AddItemToObject(o, "key", dlq_show_bytes(NULL, m->key, m->key_len));
    cJSON_AddItemToObject(o, "value", dlq_show_bytes(NULL, m->payload, m->len));
    if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        for (size_t i = 0; rd_kafka_header_get_all(h, i, &name, &v, &size) == 0; i++) {
            cJSON *e = cJSON_CreateObject();

            cJSON_AddStringToObject(e, "name", name);
            cJSON_AddItemToObject(e, "value", dlq_show_bytes(name, v, size));
            cJSON_AddItemToArray(all, e);
            /* the last one wins, as rd_kafka_header_get_last() */
            if (dlq_is_dead_letter_header(name)) {
                cJSON_DeleteItemFromObjectCaseSensitive(dlt, name);
                cJSON_AddItemToObject(dlt, name, decoded(name, v, size));
            }
        }
    }
    cJSON_AddItemToObject(o, "deadLetter", dlt);
    cJSON_AddItemToObject(o, "headers", all);
    line = cJSON_PrintUnformatted(o);
    if (line)
        printf("%s\n", line);
    else
        fprintf(stderr, "eventbus-dlq: out of memory printing offset %lld\n", (long long)m->offset);
    cJSON_free(line);
    cJSON_Delete(o);
}

/* What a scan carries from record to record. */
typedef struct run_s {
    const dlq_args_t *args;
    int replay;
    eb_producer_t *producer;
    int64_t selected; /* matched the filters */
    int64_t queued;   /* replayed (or would be, with --dry-run) */
    int failed;       /* could not be sent, or not acknowledged */
    int unacked;      /* queued but not acknowledged */
} run_t;

static void replay_record(run_t *rp, const rd_kafka_message_t *m, const char *event_id)
{
    rd_kafka_headers_t *h = NULL, *orig;
    char topic[256], errstr[256];
    const char *name;
    const void *v;
    size_t size;
    int32_t partition = EB_PARTITION_ANY;

    rd_kafka_message_headers(m, &h);
    if (!h || rd_kafka_header_get_last(h, EB_DLT_ORIGINAL_TOPIC, &v, &size) != 0 || !v ||
        size == 0 || size >= sizeof(topic)) {
        fprintf(stderr, "eventbus-dlq: %s[%d] offset %lld has no %s header; skipped\n",
                rd_kafka_topic_name(m->rkt), (int)m->partition, (long long)m->offset,
                EB_DLT_ORIGINAL_TOPIC);
        return;
    }
    memcpy(topic, v, size);
    topic[size] = '\0';
    if (rd_kafka_header_get_last(h, EB_DLT_ORIGINAL_PARTITION, &v, &size) == 0 && v)
        eb_dlq_read_be32(v, size, &partition);

    /* The original headers, in their order: all but the dead-letter ones. */
    orig = rd_kafka_headers_new(8);
    for (size_t i = 0; rd_kafka_header_get_all(h, i, &name, &v, &size) == 0; i++)
        if (!dlq_is_dead_letter_header(name))
            rd_kafka_header_add(orig, name, -1, v, v ? (ssize_t)size : 0);

    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "action", rp->args->dry_run ? "would replay" : "replayed");
    if (event_id)
        cJSON_AddStringToObject(o, "eventId", event_id);
    cJSON_AddStringToObject(o, "to", topic);
    cJSON_AddNumberToObject(o, "partition", partition);
    cJSON_AddNumberToObject(o, "dlqPartition", m->partition);
    cJSON_AddNumberToObject(o, "dlqOffset", (double)m->offset);

    if (!rp->args->dry_run) {
        eb_record_t rec = {topic, partition, m->key, m->key_len, m->payload, m->len, NULL, 0, orig};

        if (eb_producer_send_wait(rp->producer, &rec, NULL, 30000, errstr, sizeof(errstr)) !=
            EB_OK) {
            fprintf(stderr, "eventbus-dlq: replay of %s[%d] offset %lld: %s\n",
                    rd_kafka_topic_name(m->rkt), (int)m->partition, (long long)m->offset, errstr);
            rp->failed++;
            cJSON_Delete(o);
            rd_kafka_headers_destroy(orig);
            return;
        }
    }
    rp->queued++;
    char *line = cJSON_PrintUnformatted(o);
    if (line)
        printf("%s\n", line);
    cJSON_free(line);
    cJSON_Delete(o);
    rd_kafka_headers_destroy(orig);
}

static void on_replayed(void *msg_opaque, eb_err_t err, const char *reason, void *opaque)
{
    run_t *rp = opaque;

    (void)msg_opaque;
    if (err) {
        fprintf(stderr, "eventbus-dlq: replay not acknowledged: %s\n", reason);
        rp->failed++;
        rp->unacked++;
    }
}

/* One record read: filtered, then listed or replayed. Returns 1 once -c
 * records were selected, which ends the scan. */
static int on_record(void *arg, const rd_kafka_message_t *m)
{
    run_t *rp = arg;
    const dlq_select_t *sel = &rp->args->sel;
    rd_kafka_headers_t *h = NULL;
    char event_id[EB_EVENT_ID_MAX + 1];
    const void *g = NULL;
    size_t glen = 0;
    int has_id = event_id_of(m, event_id, sizeof(event_id));
    dlq_view_t view = {rd_kafka_message_timestamp(m, NULL), NULL, 0, has_id ? event_id : NULL};

    if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        rd_kafka_header_get_last(h, EB_DLT_ORIGINAL_GROUP, &g, &glen) == 0 && g) {
        view.group = g;
        view.group_len = glen;
    }
    if (!dlq_select_match(sel, &view))
        return 0;
    rp->selected++;
    if (rp->replay)
        replay_record(rp, m, view.event_id);
    else
        print_record(m, view.event_id);
    return sel->count > 0 && rp->selected >= sel->count;
}

/* Reads the selected part of topic into on_record. Returns an exit code. */
static int scan(rd_kafka_t *rk, const char *topic, run_t *rp)
{
    const dlq_select_t *sel = &rp->args->sel;
    eb_kafka_range_t *parts, *want = NULL;
    char errstr[256];
    int count, n = 0, rc = APP_EXIT_FAIL;

    if (eb_kafka_topic_ranges(rk, topic, &parts, &count, errstr, sizeof(errstr)) != EB_OK) {
        fprintf(stderr, "eventbus-dlq: %s\n", errstr);
        return APP_EXIT_FAIL;
    }
    for (int i = 0; i < sel->partition_count; i++) {
        if (sel->partitions[i] >= count) {
            fprintf(stderr, "eventbus-dlq: %s has no partition %d (it has %d)\n", topic,
                    (int)sel->partitions[i], count);
            goto out;
        }
    }
    want = calloc((size_t)count + 1, sizeof(*want));
    if (!want) {
        fprintf(stderr, "eventbus-dlq: out of memory\n");
        goto out;
    }
    for (int i = 0; i < count; i++) {
        eb_kafka_range_t r = {parts[i].partition, 0, 0};

        if (dlq_select_partition(sel, r.partition) &&
            dlq_select_range(sel, parts[i].start, parts[i].end, &r.start, &r.end))
            want[n++] = r;
    }
    if (eb_kafka_scan_ranges(rk, topic, want, n, on_record, rp, &eb_stop_flag, errstr,
                             sizeof(errstr)) != EB_OK) {
        fprintf(stderr, "eventbus-dlq: %s\n", errstr);
        goto out;
    }
    rc = APP_EXIT_OK;
out:
    free(want);
    free(parts);
    return rc;
}

/* -b and -F: the settings KAFKA_BROKERS and KAFKA_CONFIG_FILE, validated by
 * their table entries. Returns 0, or -1 after printing the error. */
static int apply_kcat_flags(const dlq_args_t *a)
{
    const char *flag[2] = {"-b", "-F"}, *value[2] = {a->brokers, a->config};
    char why[256];

    for (int i = 0; i < 2; i++) {
        if (value[i] && eb_config_set(&eb_config_kafka_entries[i], &common, value[i], why,
                                      sizeof(why)) != EB_OK) {
            app_cli_error(prog.name, "invalid %s '%.64s': %s", flag[i], value[i], why);
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const char *const consumer_defaults[] = {"enable.auto.commit", "false",
                                                    "enable.partition.eof", "true", NULL};
    dlq_args_t dargs;
    eb_conf_args_t args;
    rd_kafka_conf_t *cconf, *pconf = NULL;
    rd_kafka_t *rk;
    run_t rp = {0};
    char errstr[512], own_err[512] = "";
    int rc;

    /* Our flags first, so that the settings parser sees only its own; an
     * error waits until --help and --version had their say. */
    dlq_args_init(&dargs);
    if (dlq_args_take(&dargs, &argc, argv, own_err, sizeof(own_err)) != 0) {
        /* argv is half taken apart: only --help and --version still count */
        for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
            char *only[] = {argv[0], argv[i], NULL};

            if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0 ||
                strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-V") == 0)
                return app_cli_parse(&prog, 2, only, &args);
        }
    } else if ((rc = app_cli_parse(&prog, argc, argv, &args)) != APP_CONTINUE) {
        return rc;
    }
    if (own_err[0] || dlq_select_check(&dargs.sel, own_err, sizeof(own_err)) != 0) {
        app_cli_error(prog.name, "%s", own_err);
        return APP_EXIT_USAGE;
    }
    if (apply_kcat_flags(&dargs) != 0)
        return APP_EXIT_USAGE;
    if (args.positional_count != 2 ||
        (strcmp(args.positional[0], "list") != 0 && strcmp(args.positional[0], "replay") != 0)) {
        app_cli_error(prog.name, "usage: eventbus-dlq list|replay <dlq-topic> (see --help)");
        return APP_EXIT_USAGE;
    }
    rp.args = &dargs;
    rp.replay = strcmp(args.positional[0], "replay") == 0;
    if (!rp.replay && dargs.dry_run) {
        app_cli_error(prog.name, "--dry-run applies to replay only");
        return APP_EXIT_USAGE;
    }
    /* Logs go to stderr in text form unless asked otherwise: stdout is data. */
    if (!getenv("LOG_FORMAT"))
        common.log_format = "text";
    if (!getenv("LOG_LEVEL"))
        common.log_level = "warn";
    app_setup_log(prog.name, &common);

    /* Both confs, for list too: every -X is checked against the client
     * it is for before anything connects. */
    eb_kafka_props_t cprops = {consumer_defaults, args.kafka_props, args.kafka_prop_count,
                               "consumer"};
    cconf = eb_kafka_conf_new(&common, "eventbus-dlq", &cprops, errstr, sizeof(errstr));
    if (!cconf || app_setup_kafka_confs(&common, &args, "eventbus-dlq", NULL, &pconf, errstr,
                                        sizeof(errstr)) != EB_OK) {
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
        rd_kafka_conf_destroy(pconf);
        return APP_EXIT_FAIL;
    }

    if (!rp.replay) {
        rd_kafka_conf_destroy(pconf);
        rc = scan(rk, args.positional[1], &rp);
    } else {
        rp.producer = eb_producer_new(pconf, on_replayed, &rp, errstr, sizeof(errstr));
        if (!rp.producer) {
            app_cli_error(prog.name, "%s", errstr);
            rc = APP_EXIT_FAIL;
        } else {
            rc = scan(rk, args.positional[1], &rp);
            if (eb_producer_flush(rp.producer, 30000) != EB_OK) {
                fprintf(stderr, "eventbus-dlq: replays not acknowledged within 30 s\n");
                rp.failed++;
            }
            eb_producer_destroy(rp.producer, 1000);
            fprintf(stderr, "eventbus-dlq: %s %lld dead letter(s)%s\n",
                    dargs.dry_run ? "would replay" : "replayed",
                    (long long)(rp.queued - rp.unacked), rp.failed ? ", some failed" : "");
            if (rp.failed)
                rc = APP_EXIT_FAIL;
        }
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    eb_metrics_reset();
    return rc;
}
