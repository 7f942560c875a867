/*
 * Unit tests for eventbus-dlq's pure parts: its command line and the
 * selection of dead letters (tools/eventbus-dlq/select.c), bytes as JSON
 * (show.c), and the RFC 3339 parser under --since (libs/eventbus/time.c).
 */
#include "unit.h"

#include <stdlib.h>

#include <cjson/cJSON.h>

#include "select.h"
#include "show.h"

/* Runs dlq_args_take over a copy of words; returns its result, leaving the
 * arguments it kept in kept (NULL-terminated) and the error in err. */
static int take(dlq_args_t *a, const char *const *words, char **kept, char *err, size_t size)
{
    static char prog[] = "eventbus-dlq";
    char *argv[32];
    int argc = 0;

    argv[argc++] = prog;
    for (; *words; words++)
        argv[argc++] = (char *)*words;
    argv[argc] = NULL;
    dlq_args_init(a);
    err[0] = '\0';
    int rc = dlq_args_take(a, &argc, argv, err, size);
    for (int i = 0; kept && i <= argc && rc == 0; i++)
        kept[i] = argv[i];
    return rc;
}

static void takes_own_flags_and_leaves_the_rest(void **state)
{
    const char *words[] = {"list",
                           "t-dlq",
                           "-p",
                           "3",
                           "--partition=0,5",
                           "-o",
                           "-5",
                           "--log-level",
                           "-p",
                           "-X",
                           "-c",
                           "-b",
                           "h:1",
                           "-Fprops",
                           "--end-offset",
                           "9",
                           "-c2",
                           "--group",
                           "g1",
                           "--group=g2",
                           "--since",
                           "0",
                           "--until",
                           "2026-11-21T10:30:00.5+01:00",
                           "--event-id",
                           "e1",
                           "--",
                           "-p",
                           NULL};
    char *kept[32], err[256];
    dlq_args_t a;

    assert_int_equal(take(&a, words, kept, err, sizeof(err)), 0);
    /* the settings flag's value "-p" and -X's "-c" are not ours */
    assert_string_equal(kept[1], "list");
    assert_string_equal(kept[2], "t-dlq");
    assert_string_equal(kept[3], "--log-level");
    assert_string_equal(kept[4], "-p");
    assert_string_equal(kept[5], "-X");
    assert_string_equal(kept[6], "-c");
    assert_string_equal(kept[7], "--");
    assert_string_equal(kept[8], "-p");
    assert_null(kept[9]);
    assert_int_equal(a.sel.partition_count, 3);
    assert_int_equal(a.sel.partitions[0], 3);
    assert_int_equal(a.sel.partitions[1], 0);
    assert_int_equal(a.sel.partitions[2], 5);
    assert_int_equal(a.sel.from, DLQ_FROM_TAIL);
    assert_int_equal(a.sel.from_offset, 5);
    assert_int_equal(a.sel.end_offset, 9);
    assert_int_equal(a.sel.count, 2);
    assert_string_equal(a.brokers, "h:1");
    assert_string_equal(a.config, "props");
    assert_int_equal(a.sel.group_count, 2);
    assert_string_equal(a.sel.groups[1], "g2");
    assert_int_equal(a.sel.since_ms, 0);
    /* 10:30:00.5 at +01:00 is 09:30:00.500Z */
    assert_int_equal(a.sel.until_ms, 1795253400500LL);
    assert_int_equal(a.sel.event_id_count, 1);
    assert_true(a.selecting);
    assert_false(a.dry_run);
}

static void bad_values_name_their_flag(void **state)
{
    static const struct {
        const char *words[4];
        const char *mentions;
    } cases[] = {
        {{"-p", "x", NULL}, "invalid -p 'x'"},
        {{"-p", "1,", NULL}, "invalid -p"},
        {{"--partition", "-1", NULL}, "invalid --partition"},
        {{"-p", "2147483648", NULL}, "invalid -p"},
        {{"-o", "start", NULL}, "invalid -o 'start'"},
        {{"--offset=1x", NULL}, "invalid --offset"},
        {{"--end-offset", "-1", NULL}, "invalid --end-offset"},
        {{"-c", "0", NULL}, "invalid -c '0'"},
        {{"--count", "many", NULL}, "invalid --count"},
        {{"--group=", NULL}, "invalid --group"},
        {{"--event-id", "", NULL}, "invalid --event-id"},
        {{"--since", "2026-02-30T00:00:00Z", NULL}, "invalid --since"},
        {{"--until", "-5", NULL}, "invalid --until"},
        {{"-b", "", NULL}, "invalid -b"},
        {{"-o", NULL}, "option -o needs a value"},
        {{"--group", NULL}, "option --group needs a value"},
    };
    char err[256];
    dlq_args_t a;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(take(&a, cases[i].words, NULL, err, sizeof(err)), -1);
        assert_contains(err, cases[i].mentions);
    }
}

static void checks_across_flags(void **state)
{
    const char *ok[] = {"-o", "4", "--end-offset", "5", "--since", "1", "--until", "2", NULL};
    const char *empty[] = {"-o", "5", "--end-offset", "5", NULL};
    const char *times[] = {"--since", "2026-01-01T00:00:00Z", "--until", "2025-01-01T00:00:00Z",
                           NULL};
    char err[256];
    dlq_args_t a;

    assert_int_equal(take(&a, ok, NULL, err, sizeof(err)), 0);
    assert_int_equal(dlq_select_check(&a.sel, err, sizeof(err)), 0);
    assert_int_equal(take(&a, empty, NULL, err, sizeof(err)), 0);
    assert_int_equal(dlq_select_check(&a.sel, err, sizeof(err)), -1);
    assert_contains(err, "--end-offset 5 is not after -o 5");
    assert_int_equal(take(&a, times, NULL, err, sizeof(err)), 0);
    assert_int_equal(dlq_select_check(&a.sel, err, sizeof(err)), -1);
    assert_contains(err, "--until");
}

static void ranges_from_the_watermarks(void **state)
{
    static const struct {
        dlq_from_t from;
        int64_t from_offset, end_offset, lo, hi;
        int any;
        int64_t start, end;
    } cases[] = {
        {DLQ_FROM_BEGINNING, 0, -1, 3, 10, 1, 3, 10},
        {DLQ_FROM_BEGINNING, 0, -1, 4, 4, 0, 4, 4}, /* empty partition */
        {DLQ_FROM_END, 0, -1, 3, 10, 0, 10, 10},
        {DLQ_FROM_OFFSET, 5, -1, 3, 10, 1, 5, 10},
        {DLQ_FROM_OFFSET, 1, -1, 3, 10, 1, 3, 10}, /* deleted already: from the first */
        {DLQ_FROM_OFFSET, 10, -1, 3, 10, 0, 10, 10},
        {DLQ_FROM_OFFSET, 5, 6, 3, 10, 1, 5, 6},   /* exactly offset 5 */
        {DLQ_FROM_OFFSET, 5, 99, 3, 10, 1, 5, 10}, /* the end at start bounds it */
        {DLQ_FROM_OFFSET, 5, 2, 3, 10, 0, 5, 2},
        {DLQ_FROM_TAIL, 2, -1, 3, 10, 1, 8, 10},
        {DLQ_FROM_TAIL, 50, -1, 3, 10, 1, 3, 10},
        {DLQ_FROM_BEGINNING, 0, 5, 3, 10, 1, 3, 5},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        dlq_args_t a;
        int64_t start = -7, end = -7;

        dlq_args_init(&a);
        a.sel.from = cases[i].from;
        a.sel.from_offset = cases[i].from_offset;
        a.sel.end_offset = cases[i].end_offset;
        assert_int_equal(dlq_select_range(&a.sel, cases[i].lo, cases[i].hi, &start, &end),
                         cases[i].any);
        if (cases[i].any) {
            assert_int_equal(start, cases[i].start);
            assert_int_equal(end, cases[i].end);
        }
    }
}

static void partitions_and_records_match(void **state)
{
    const char *words[] = {"-p",      "1,3",  "--group", "g1",   "--group", "g2",
                           "--since", "1000", "--until", "2000", NULL};
    const char *ids[] = {"--event-id", "e1", NULL};
    char err[256];
    dlq_args_t a;

    assert_int_equal(take(&a, words, NULL, err, sizeof(err)), 0);
    assert_true(dlq_select_partition(&a.sel, 3));
    assert_false(dlq_select_partition(&a.sel, 2));
    assert_true(dlq_select_match(&a.sel, &(dlq_view_t){1000, "g2", 2, NULL}));
    assert_true(dlq_select_match(&a.sel, &(dlq_view_t){1999, "g1", 2, "e9"}));
    assert_false(dlq_select_match(&a.sel, &(dlq_view_t){2000, "g1", 2, NULL}));
    assert_false(dlq_select_match(&a.sel, &(dlq_view_t){999, "g1", 2, NULL}));
    assert_false(dlq_select_match(&a.sel, &(dlq_view_t){-1, "g1", 2, NULL}));
    assert_false(dlq_select_match(&a.sel, &(dlq_view_t){1500, "g12", 3, NULL}));
    assert_false(dlq_select_match(&a.sel, &(dlq_view_t){1500, "g1", 1, NULL}));
    assert_false(dlq_select_match(&a.sel, &(dlq_view_t){1500, NULL, 0, NULL}));

    assert_int_equal(take(&a, ids, NULL, err, sizeof(err)), 0);
    assert_true(dlq_select_partition(&a.sel, 2));
    assert_true(dlq_select_match(&a.sel, &(dlq_view_t){-1, NULL, 0, "e1"}));
    assert_false(dlq_select_match(&a.sel, &(dlq_view_t){-1, NULL, 0, "e2"}));
    /* not a CloudEvent: never matched by an event id */
    assert_false(dlq_select_match(&a.sel, &(dlq_view_t){-1, NULL, 0, NULL}));
    dlq_args_init(&a);
    assert_true(dlq_select_match(&a.sel, &(dlq_view_t){-1, NULL, 0, NULL}));
}

static void replay_leaves_out_dead_letter_headers(void **state)
{
    assert_true(dlq_is_dead_letter_header("kafka_dlt-original-topic"));
    assert_true(dlq_is_dead_letter_header("kafka_dlt-exception-stacktrace")); /* Spring's */
    assert_true(dlq_is_dead_letter_header("eventbus-attempts"));
    assert_true(dlq_is_dead_letter_header("eventbus-failed-at"));
    assert_false(dlq_is_dead_letter_header("traceparent"));
    assert_false(dlq_is_dead_letter_header("content-type"));
    assert_false(dlq_is_dead_letter_header("kafka_dl"));
}

static void times(void **state)
{
    int64_t ms = 42;

    assert_int_equal(dlq_parse_time("1577836800000", &ms), 0);
    assert_int_equal(ms, 1577836800000LL);
    assert_int_equal(dlq_parse_time("2020-01-01T00:00:00Z", &ms), 0);
    assert_int_equal(ms, 1577836800000LL);
    assert_int_equal(dlq_parse_time("1970-01-01T00:00:00.001Z", &ms), 0);
    assert_int_equal(ms, 1);
    assert_int_equal(dlq_parse_time("1969-12-31T23:00:00-01:00", &ms), 0);
    assert_int_equal(ms, 0);
    assert_int_equal(dlq_parse_time("2024-02-29t12:00:00.123456z", &ms), 0);
    assert_int_equal(ms, 1709208000123LL);
    assert_int_equal(dlq_parse_time("2000-03-01T00:00:00+05:30", &ms), 0);
    assert_int_equal(ms, 951849000000LL);
    ms = 42;
    assert_int_equal(dlq_parse_time("2023-02-29T00:00:00Z", &ms), -1);
    assert_int_equal(dlq_parse_time("2020-01-01", &ms), -1);
    assert_int_equal(dlq_parse_time("", &ms), -1);
    assert_int_equal(dlq_parse_time("12x", &ms), -1);
    assert_int_equal(ms, 42);
}

static void text_or_not(void **state)
{
    assert_true(dlq_is_text("", 0));
    assert_true(dlq_is_text("h\xc3\xa9llo \xf0\x9f\x98\x80", 11));
    assert_false(dlq_is_text("a\0b", 3));
    assert_false(dlq_is_text("\xff", 1));
    assert_false(dlq_is_text("\xc3", 1));             /* cut short */
    assert_false(dlq_is_text("\xc0\xaf", 2));         /* overlong '/' */
    assert_false(dlq_is_text("\xed\xa0\x80", 3));     /* a surrogate */
    assert_false(dlq_is_text("\xf4\x90\x80\x80", 4)); /* past U+10FFFF */
}

static void base64_known_answers(void **state)
{
    /* RFC 4648 section 10 */
    static const char *const want[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                       "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};

    for (size_t n = 0; n < 7; n++) {
        char *s = dlq_base64("foobar", n);

        assert_string_equal(s, want[n]);
        free(s);
    }
    char *s = dlq_base64("\x00\xff\x01", 3);
    assert_string_equal(s, "AP8B");
    free(s);
}

static char *shown(const char *name, const void *p, size_t size)
{
    cJSON *o = dlq_show_bytes(name, p, size);
    char *s = cJSON_PrintUnformatted(o);

    cJSON_Delete(o);
    return s;
}

static void bytes_as_json(void **state)
{
    static const struct {
        const char *name;
        const char *bytes;
        size_t size;
        const char *json;
    } cases[] = {
        {NULL, NULL, 0, "null"},
        {NULL, "", 0, "\"\""},
        {NULL, "{\"a\":\"\\u00e9\"}", 14, "\"{\\\"a\\\":\\\"\\\\u00e9\\\"}\""},
        {NULL, "a\0b", 3, "{\"base64\":\"YQBi\"}"},
        {"x-bin", "\x00\xff\x01", 3, "{\"base64\":\"AP8B\"}"},
        {"x-text", "poison", 6, "\"poison\""},
        {"kafka_dlt-original-partition", "\0\0\0\3", 4, "{\"base64\":\"AAAAAw==\",\"int\":3}"},
        /* text-looking bytes of a binary header stay base64 */
        {"kafka_dlt-original-offset", "ABCDEFGH", 8,
         "{\"base64\":\"QUJDREVGR0g=\",\"int\":4702394921427289928}"},
        {"kafka_dlt-original-timestamp", "\0\0\1\x6f\x5e\x66\xe8\0", 8,
         "{\"base64\":\"AAABb15m6AA=\",\"int\":1577836800000}"},
        /* the wrong size: no integer */
        {"kafka_dlt-original-partition", "\0\3", 2, "{\"base64\":\"AAM=\"}"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *s = shown(cases[i].name, cases[i].bytes, cases[i].size);

        assert_string_equal(s, cases[i].json);
        cJSON_free(s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(takes_own_flags_and_leaves_the_rest),
        cmocka_unit_test(bad_values_name_their_flag),
        cmocka_unit_test(checks_across_flags),
        cmocka_unit_test(ranges_from_the_watermarks),
        cmocka_unit_test(partitions_and_records_match),
        cmocka_unit_test(replay_leaves_out_dead_letter_headers),
        cmocka_unit_test(times),
        cmocka_unit_test(text_or_not),
        cmocka_unit_test(base64_known_answers),
        cmocka_unit_test(bytes_as_json),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
