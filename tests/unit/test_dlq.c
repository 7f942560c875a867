/*
 * Unit tests for dlq.c: DLQ topic names, big-endian codecs and the
 * Spring-Kafka-compatible dead-letter headers.
 */
#include "unit.h"

#include <string.h>

#include "eventbus/dlq.h"

static void topic_name(void **state)
{
    char out[64];

    assert_int_equal(eb_dlq_topic("order-created", out, sizeof(out)), EB_OK);
    assert_string_equal(out, "order-created-dlq");
    assert_int_equal(eb_dlq_topic("", out, sizeof(out)), EB_OK);
    assert_string_equal(out, "-dlq");
}

static void topic_name_must_fit(void **state)
{
    char out[11];

    /* "orders-dlq" is 10 characters: 11 bytes fit, 10 do not. */
    assert_int_equal(eb_dlq_topic("orders", out, 11), EB_OK);
    assert_string_equal(out, "orders-dlq");
    assert_int_equal(eb_dlq_topic("orders", out, 10), EB_ERR_INVALID);
    assert_int_equal(eb_dlq_topic("orders", out, 0), EB_ERR_INVALID);
}

static void be32_known_bytes(void **state)
{
    static const struct {
        int32_t v;
        unsigned char b[4];
    } cases[] = {
        {0, {0, 0, 0, 0}},
        {1, {0, 0, 0, 1}},
        {0x01020304, {1, 2, 3, 4}},
        {-1, {0xff, 0xff, 0xff, 0xff}},
        {-2, {0xff, 0xff, 0xff, 0xfe}},
        {INT32_MAX, {0x7f, 0xff, 0xff, 0xff}},
        {INT32_MIN, {0x80, 0, 0, 0}},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        unsigned char out[4];
        int32_t back = 12345;

        eb_dlq_be32(cases[i].v, out);
        assert_memory_equal(out, cases[i].b, 4);
        assert_int_equal(eb_dlq_read_be32(cases[i].b, 4, &back), 0);
        assert_true(back == cases[i].v);
    }
}

static void be64_known_bytes(void **state)
{
    static const struct {
        int64_t v;
        unsigned char b[8];
    } cases[] = {
        {0, {0, 0, 0, 0, 0, 0, 0, 0}},
        {42, {0, 0, 0, 0, 0, 0, 0, 42}},
        {INT64_C(0x0102030405060708), {1, 2, 3, 4, 5, 6, 7, 8}},
        {INT64_C(1795267034839), {0, 0, 0x01, 0xa1, 0xfe, 0x40, 0xfe, 0xd7}},
        {-1, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
        {INT64_MAX, {0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
        {INT64_MIN, {0x80, 0, 0, 0, 0, 0, 0, 0}},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        unsigned char out[8];
        int64_t back = 12345;

        eb_dlq_be64(cases[i].v, out);
        assert_memory_equal(out, cases[i].b, 8);
        assert_int_equal(eb_dlq_read_be64(cases[i].b, 8, &back), 0);
        assert_true(back == cases[i].v);
    }
}

static void read_rejects_wrong_size(void **state)
{
    static const unsigned char b[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    int32_t v32 = 7;
    int64_t v64 = 7;

    assert_int_equal(eb_dlq_read_be32(b, 3, &v32), -1);
    assert_int_equal(eb_dlq_read_be32(b, 5, &v32), -1);
    assert_int_equal(eb_dlq_read_be32(b, 0, &v32), -1);
    assert_int_equal(eb_dlq_read_be32(b, 8, &v32), -1);
    assert_int_equal(v32, 7);
    assert_int_equal(eb_dlq_read_be64(b, 7, &v64), -1);
    assert_int_equal(eb_dlq_read_be64(b, 9, &v64), -1);
    assert_int_equal(eb_dlq_read_be64(b, 4, &v64), -1);
    assert_int_equal(v64, 7);
}

static void round_trips(void **state)
{
    static const int64_t values[] = {
        0, 1, -1, 255, 256, 65535, -65536, INT64_C(1) << 40, INT64_MAX, INT64_MIN};

    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        unsigned char b4[4], b8[8];
        int32_t v32 = (int32_t)values[i], back32 = 0;
        int64_t back64 = 0;

        eb_dlq_be32(v32, b4);
        assert_int_equal(eb_dlq_read_be32(b4, 4, &back32), 0);
        assert_true(back32 == v32);
        eb_dlq_be64(values[i], b8);
        assert_int_equal(eb_dlq_read_be64(b8, 8, &back64), 0);
        assert_true(back64 == values[i]);
    }
}

/* ---- headers -------------------------------------------------------------- */

static const unsigned char bin_value[3] = {0x00, 0xff, 0x10};

static rd_kafka_headers_t *original_headers(void)
{
    rd_kafka_headers_t *h = rd_kafka_headers_new(4);

    assert_non_null(h);
    assert_int_equal(rd_kafka_header_add(h, "traceparent", -1,
                                         "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                                         -1),
                     RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(rd_kafka_header_add(h, "x-bin", -1, bin_value, sizeof(bin_value)),
                     RD_KAFKA_RESP_ERR_NO_ERROR);
    return h;
}

static eb_dlq_info_t sample_info(void)
{
    eb_dlq_info_t info = {
        .topic = "order-created",
        .partition = 3,
        .offset = 42,
        .timestamp_ms = INT64_C(1795267034839),
        .group = "payment-service",
        .fqcn = EB_DLT_FQCN_PERMANENT,
        .message = "invalid OrderCreated data: total does not match the items",
        .attempts = 4,
        .failed_at_ms = 0,
    };
    return info;
}

/* Asserts the last header called name has exactly size bytes equal to want. */
static void assert_header(const rd_kafka_headers_t *h, const char *name, const void *want,
                          size_t size)
{
    const void *val = NULL;
    size_t got = 0;

    if (rd_kafka_header_get_last(h, name, &val, &got) != RD_KAFKA_RESP_ERR_NO_ERROR)
        fail_msg("header %s missing", name);
    if (got != size)
        fail_msg("header %s: %zu bytes, want %zu", name, got, size);
    assert_memory_equal(val, want, size);
}

static void assert_header_str(const rd_kafka_headers_t *h, const char *name, const char *want)
{
    assert_header(h, name, want, strlen(want));
}

static void headers_copy_then_append(void **state)
{
    static const char *const order[] = {
        "traceparent",
        "x-bin",
        EB_DLT_ORIGINAL_TOPIC,
        EB_DLT_ORIGINAL_PARTITION,
        EB_DLT_ORIGINAL_OFFSET,
        EB_DLT_ORIGINAL_TIMESTAMP,
        EB_DLT_ORIGINAL_GROUP,
        EB_DLT_EXCEPTION_FQCN,
        EB_DLT_EXCEPTION_MESSAGE,
        EB_DLT_ATTEMPTS,
        EB_DLT_FAILED_AT,
    };
    static const unsigned char partition[4] = {0, 0, 0, 3};
    static const unsigned char offset[8] = {0, 0, 0, 0, 0, 0, 0, 42};
    static const unsigned char timestamp[8] = {0, 0, 0x01, 0xa1, 0xfe, 0x40, 0xfe, 0xd7};
    rd_kafka_headers_t *orig = original_headers();
    eb_dlq_info_t info = sample_info();
    rd_kafka_headers_t *h = eb_dlq_headers(orig, &info);

    assert_non_null(h);
    assert_ptr_not_equal(h, orig);
    assert_int_equal(rd_kafka_header_cnt(h), 11);
    for (size_t i = 0; i < 11; i++) {
        const char *name = NULL;
        const void *val;
        size_t size;

        assert_int_equal(rd_kafka_header_get_all(h, i, &name, &val, &size),
                         RD_KAFKA_RESP_ERR_NO_ERROR);
        assert_string_equal(name, order[i]);
    }
    /* Originals byte for byte. */
    assert_header_str(h, "traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    assert_header(h, "x-bin", bin_value, sizeof(bin_value));
    /* Dead-letter headers with their encodings. */
    assert_header_str(h, EB_DLT_ORIGINAL_TOPIC, "order-created");
    assert_header(h, EB_DLT_ORIGINAL_PARTITION, partition, 4);
    assert_header(h, EB_DLT_ORIGINAL_OFFSET, offset, 8);
    assert_header(h, EB_DLT_ORIGINAL_TIMESTAMP, timestamp, 8);
    assert_header_str(h, EB_DLT_ORIGINAL_GROUP, "payment-service");
    assert_header_str(h, EB_DLT_EXCEPTION_FQCN, "eventbus.PermanentError");
    assert_header_str(h, EB_DLT_EXCEPTION_MESSAGE,
                      "invalid OrderCreated data: total does not match the items");
    assert_header_str(h, EB_DLT_ATTEMPTS, "4");
    assert_header_str(h, EB_DLT_FAILED_AT, "1970-01-01T00:00:00.000Z");
    /* The original list is untouched. */
    assert_int_equal(rd_kafka_header_cnt(orig), 2);
    rd_kafka_headers_destroy(h);
    rd_kafka_headers_destroy(orig);
}

static void headers_without_original(void **state)
{
    static const unsigned char minus_one[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    static const unsigned char partition[4] = {0, 0, 0x01, 0x00};
    eb_dlq_info_t info = sample_info();
    rd_kafka_headers_t *h;
    const char *name = NULL;
    const void *val;
    size_t size;

    info.partition = 256;
    info.timestamp_ms = -1; /* no record timestamp */
    info.fqcn = EB_DLT_FQCN_RETRIES;
    info.attempts = 0;
    info.failed_at_ms = INT64_C(1795267034839);
    h = eb_dlq_headers(NULL, &info);
    assert_non_null(h);
    assert_int_equal(rd_kafka_header_cnt(h), 9);
    assert_int_equal(rd_kafka_header_get_all(h, 0, &name, &val, &size), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_string_equal(name, EB_DLT_ORIGINAL_TOPIC);
    assert_header(h, EB_DLT_ORIGINAL_PARTITION, partition, 4);
    assert_header(h, EB_DLT_ORIGINAL_TIMESTAMP, minus_one, 8);
    assert_header_str(h, EB_DLT_EXCEPTION_FQCN, "eventbus.RetriesExhausted");
    assert_header_str(h, EB_DLT_ATTEMPTS, "0");
    assert_header_str(h, EB_DLT_FAILED_AT, "2026-11-21T13:17:14.839Z");
    rd_kafka_headers_destroy(h);
}

static void is_dlq_header(void **state)
{
    static const char *const ours[] = {
        "kafka_dlt-original-topic",
        "kafka_dlt-original-partition",
        "kafka_dlt-original-offset",
        "kafka_dlt-original-timestamp",
        "kafka_dlt-original-consumer-group",
        "kafka_dlt-exception-fqcn",
        "kafka_dlt-exception-message",
        "eventbus-attempts",
        "eventbus-failed-at",
    };
    static const char *const theirs[] = {
        "traceparent",
        "",
        "kafka_dlt-original",
        "kafka_dlt-original-topic ",
        "Kafka_dlt-original-topic",
        "eventbus-attempt",
        "kafka_dlt-exception-stacktrace",
    };

    for (size_t i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
        if (!eb_dlq_is_dlq_header(ours[i]))
            fail_msg("%s should be a DLQ header", ours[i]);
    for (size_t i = 0; i < sizeof(theirs) / sizeof(theirs[0]); i++)
        if (eb_dlq_is_dlq_header(theirs[i]))
            fail_msg("\"%s\" should not be a DLQ header", theirs[i]);
}

static void strip_leaves_originals(void **state)
{
    rd_kafka_headers_t *orig = original_headers();
    eb_dlq_info_t info = sample_info();
    rd_kafka_headers_t *h = eb_dlq_headers(orig, &info);
    const char *name = NULL;
    const void *val;
    size_t size;

    eb_dlq_strip_headers(h);
    assert_int_equal(rd_kafka_header_cnt(h), 2);
    assert_int_equal(rd_kafka_header_get_all(h, 0, &name, &val, &size), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_string_equal(name, "traceparent");
    assert_int_equal(rd_kafka_header_get_all(h, 1, &name, &val, &size), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_string_equal(name, "x-bin");
    assert_header(h, "x-bin", bin_value, sizeof(bin_value));
    for (size_t i = 0; i < rd_kafka_header_cnt(h); i++) {
        assert_int_equal(rd_kafka_header_get_all(h, i, &name, &val, &size),
                         RD_KAFKA_RESP_ERR_NO_ERROR);
        assert_false(eb_dlq_is_dlq_header(name));
    }
    /* Stripping a list without DLQ headers changes nothing. */
    eb_dlq_strip_headers(orig);
    assert_int_equal(rd_kafka_header_cnt(orig), 2);
    /* A second dead-lettering of a replayed record carries one set only. */
    rd_kafka_headers_destroy(orig);
    orig = eb_dlq_headers(h, &info);
    assert_int_equal(rd_kafka_header_cnt(orig), 11);
    rd_kafka_headers_destroy(orig);
    rd_kafka_headers_destroy(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(topic_name),
        cmocka_unit_test(topic_name_must_fit),
        cmocka_unit_test(be32_known_bytes),
        cmocka_unit_test(be64_known_bytes),
        cmocka_unit_test(read_rejects_wrong_size),
        cmocka_unit_test(round_trips),
        cmocka_unit_test(headers_copy_then_append),
        cmocka_unit_test(headers_without_original),
        cmocka_unit_test(is_dlq_header),
        cmocka_unit_test(strip_leaves_originals),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
