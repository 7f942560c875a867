/*
 * Unit tests for envelope.c: CloudEvents init/encode/decode, the decoder's
 * rejections, RFC 3339 times, W3C traceparent values and UUIDs.
 */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eventbus/envelope.h"

/* A fully populated event with fixed attributes and data {"a":1}. */
static void fixed_event(eb_event_t *ev)
{
    memset(ev, 0, sizeof(*ev));
    strcpy(ev->id, "e1");
    strcpy(ev->source, "/s");
    strcpy(ev->type, "T");
    strcpy(ev->time, "2026-11-21T13:17:14.839Z");
    strcpy(ev->correlationid, "c");
    strcpy(ev->causationid, "d");
    ev->data = cJSON_Parse("{\"a\":1}");
    assert_non_null(ev->data);
}

/* ---- eb_event_init ------------------------------------------------------ */

static void init_starts_chain(void **state)
{
    cJSON *data = cJSON_CreateObject();
    eb_event_t ev;

    assert_int_equal(eb_event_init(&ev, "OrderCreated", "/order-service", "o-1", NULL, data),
                     EB_OK);
    assert_true(is_uuid(ev.id, '4'));
    assert_string_equal(ev.type, "OrderCreated");
    assert_string_equal(ev.source, "/order-service");
    assert_string_equal(ev.subject, "o-1");
    assert_string_equal(ev.correlationid, ev.id);
    assert_string_equal(ev.causationid, ev.id);
    assert_int_equal(strlen(ev.time), EB_TIME_LEN);
    assert_true(eb_time_valid(ev.time));
    assert_ptr_equal(ev.data, data);
    eb_event_close(&ev);
    assert_null(ev.data);
    assert_string_equal(ev.id, "");
    eb_event_close(&ev); /* closing twice is safe */
}

static void init_with_cause(void **state)
{
    eb_event_t cause, ev;

    memset(&cause, 0, sizeof(cause));
    strcpy(cause.id, "cause-id");
    strcpy(cause.correlationid, "corr-1");
    strcpy(cause.causationid, "older");
    assert_int_equal(eb_event_init(&ev, "PaymentProcessed", "/payment-service", NULL, &cause, NULL),
                     EB_OK);
    assert_string_equal(ev.correlationid, "corr-1");
    assert_string_equal(ev.causationid, "cause-id");
    assert_string_not_equal(ev.id, "cause-id");
    assert_string_equal(ev.subject, "");
    assert_null(ev.data);
    eb_event_close(&ev);

    /* A cause without correlationid started its own chain. */
    cause.correlationid[0] = '\0';
    assert_int_equal(eb_event_init(&ev, "T", "/s", NULL, &cause, NULL), EB_OK);
    assert_string_equal(ev.correlationid, "cause-id");
    assert_string_equal(ev.causationid, "cause-id");
    eb_event_close(&ev);
}

static void init_ids_are_fresh(void **state)
{
    eb_event_t a, b;

    assert_int_equal(eb_event_init(&a, "T", "/s", NULL, NULL, NULL), EB_OK);
    assert_int_equal(eb_event_init(&b, "T", "/s", NULL, NULL, NULL), EB_OK);
    assert_string_not_equal(a.id, b.id);
    eb_event_close(&a);
    eb_event_close(&b);
}

/* A derived event is a function of its cause: deriving twice gives the same
 * bytes; its id is the UUID v5 of (cause id, type), its time the cause's. */
static void derive_is_deterministic(void **state)
{
    eb_event_t cause, a, b, other;
    char *ea, *eb;
    size_t la, lb;

    (void)state;
    fixed_event(&cause);
    strcpy(cause.id, "11111111-2222-4333-8444-555555555555");
    assert_int_equal(eb_event_derive(&a, "PaymentProcessed", "/payment-service", "o-1", &cause,
                                     cJSON_CreateObject()),
                     EB_OK);
    assert_int_equal(eb_event_derive(&b, "PaymentProcessed", "/payment-service", "o-1", &cause,
                                     cJSON_CreateObject()),
                     EB_OK);
    /* Computed independently: Python uuid.uuid5 in the namespace
     * 3f8a5c1e-27d4-4b90-a613-5e0c9b712d48 of "<cause id>\n<type>". */
    assert_string_equal(a.id, "1e9cb20c-fc55-5cfd-814e-42a83457f4b3");
    assert_string_equal(a.time, cause.time);
    assert_string_equal(a.causationid, cause.id);
    assert_string_equal(a.correlationid, cause.correlationid);
    ea = eb_event_encode(&a, &la);
    eb = eb_event_encode(&b, &lb);
    assert_non_null(ea);
    assert_non_null(eb);
    assert_int_equal(la, lb);
    assert_memory_equal(ea, eb, la);
    free(ea);
    free(eb);
    /* Another output type of the same cause: another id. */
    assert_int_equal(
        eb_event_derive(&other, "PaymentFailed", "/payment-service", "o-1", &cause, NULL), EB_OK);
    assert_string_not_equal(other.id, a.id);
    assert_int_equal(
        eb_event_derive(&other, "PaymentFailed", "/payment-service", "o-1", NULL, NULL),
        EB_ERR_INVALID);
    eb_event_close(&a);
    eb_event_close(&b);
    eb_event_close(&cause);
}

static void init_rejects_bad_arguments(void **state)
{
    char longtype[65], longsubject[EB_EVENT_ID_MAX + 2];
    eb_event_t ev;

    memset(longtype, 't', 64);
    longtype[64] = '\0';
    memset(longsubject, 's', EB_EVENT_ID_MAX + 1);
    longsubject[EB_EVENT_ID_MAX + 1] = '\0';
    assert_int_equal(eb_event_init(&ev, NULL, "/s", NULL, NULL, NULL), EB_ERR_INVALID);
    assert_int_equal(eb_event_init(&ev, "T", NULL, NULL, NULL, NULL), EB_ERR_INVALID);
    assert_int_equal(eb_event_init(&ev, longtype, "/s", NULL, NULL, NULL), EB_ERR_INVALID);
    assert_int_equal(eb_event_init(&ev, "T", "/s", longsubject, NULL, NULL), EB_ERR_INVALID);
    longtype[63] = '\0'; /* 63 characters fit */
    assert_int_equal(eb_event_init(&ev, longtype, "/s", NULL, NULL, NULL), EB_OK);
    eb_event_close(&ev);
}

/* ---- encode / decode ---------------------------------------------------- */

static void encode_exact(void **state)
{
    eb_event_t ev;
    size_t len = 0;
    char *text;

    fixed_event(&ev);
    text = eb_event_encode(&ev, &len);
    assert_non_null(text);
    assert_string_equal(text,
                        "{\"specversion\":\"1.0\",\"id\":\"e1\",\"source\":\"/s\",\"type\":\"T\","
                        "\"time\":\"2026-11-21T13:17:14.839Z\","
                        "\"datacontenttype\":\"application/json\","
                        "\"correlationid\":\"c\",\"causationid\":\"d\",\"data\":{\"a\":1}}");
    assert_int_equal(len, strlen(text));
    cJSON_free(text);

    /* Encoding does not consume the data. */
    assert_non_null(ev.data);
    assert_int_equal(cJSON_GetObjectItem(ev.data, "a")->valueint, 1);

    /* Without data there is no "data" member; a subject is written. */
    cJSON_Delete(ev.data);
    ev.data = NULL;
    strcpy(ev.subject, "o-1");
    text = eb_event_encode(&ev, NULL);
    assert_non_null(text);
    assert_string_equal(text,
                        "{\"specversion\":\"1.0\",\"id\":\"e1\",\"source\":\"/s\",\"type\":\"T\","
                        "\"time\":\"2026-11-21T13:17:14.839Z\","
                        "\"datacontenttype\":\"application/json\",\"subject\":\"o-1\","
                        "\"correlationid\":\"c\",\"causationid\":\"d\"}");
    cJSON_free(text);
}

/* The dataschema attribute is written when set and read back. */
static void dataschema_round_trip(void **state)
{
    eb_event_t ev, back;
    char err[256] = "";
    size_t len = 0;
    char *text;

    fixed_event(&ev);
    strcpy(ev.dataschema, "urn:eventbus:schema:T:2");
    text = eb_event_encode(&ev, &len);
    assert_non_null(text);
    assert_contains(text, ",\"causationid\":\"d\",\"dataschema\":\"urn:eventbus:schema:T:2\",");
    assert_int_equal(eb_event_decode(text, len, &back, err, sizeof(err)), EB_OK);
    assert_string_equal(back.dataschema, "urn:eventbus:schema:T:2");
    eb_event_close(&back);
    cJSON_free(text);
    eb_event_close(&ev);
}

static void media_types(void **state)
{
    static const struct {
        const char *v;
        int json;
    } cases[] = {
        {"application/json", 1},
        {"Application/JSON", 1},
        {"application/json; charset=utf-8", 1},
        {" application/json ;charset=utf-8", 1},
        {"application/cloudevents+json", 1},
        {"application/vnd.acme+json;v=1", 1},
        {"text/x+json", 1},
        {"application/jsonx", 0},
        {"application/xml", 0},
        {"application/+json", 0},
        {"/+json", 0},
        {"json", 0},
        {"", 0},
        {"application/json-seq", 0},
        {"application/x-json+xml", 0},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (eb_media_type_is_json(cases[i].v, strlen(cases[i].v)) != cases[i].json)
            fail_msg("eb_media_type_is_json(\"%s\") != %d", cases[i].v, cases[i].json);
}

/* The structured-mode header of the CloudEvents Kafka binding. */
static void content_type_header(void **state)
{
    static const char *const good[] = {
        EB_CE_CONTENT_TYPE,
        "application/cloudevents+json",
        "APPLICATION/CLOUDEVENTS+JSON;charset=utf-8",
        " application/cloudevents+json ; charset=UTF-8",
    };
    static const char *const bad[] = {
        "application/json", /* binary mode: the data alone */
        "application/cloudevents-batch+json",
        "application/cloudevents+avro",
        "text/plain",
        "",
    };
    char err[256];

    assert_string_equal(EB_CE_CONTENT_TYPE, "application/cloudevents+json; charset=UTF-8");
    assert_int_equal(eb_event_check_content_type(NULL, 0, err, sizeof(err)), EB_OK);
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (eb_event_check_content_type(good[i], strlen(good[i]), err, sizeof(err)) != EB_OK)
            fail_msg("content-type \"%s\" refused: %s", good[i], err);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        if (eb_event_check_content_type(bad[i], strlen(bad[i]), err, sizeof(err)) !=
            EB_ERR_BAD_EVENT)
            fail_msg("content-type \"%s\" accepted", bad[i]);
        assert_contains(err, "content-type");
        assert_contains(err, "application/cloudevents+json");
    }
    /* not NUL-terminated: only len bytes count */
    assert_int_equal(
        eb_event_check_content_type("application/cloudevents+jsonXYZ", 28, err, sizeof(err)),
        EB_OK);
    /* A binary header shows as text in the reason (a DLQ header, a log line). */
    assert_int_equal(eb_event_check_content_type("a\xff\x00\n\xc3", 5, err, sizeof(err)),
                     EB_ERR_BAD_EVENT);
    assert_contains(err, "content-type 'a\\xff\\x00\\x0a\\xc3' is not");
}

static void round_trip(void **state)
{
    cJSON *data =
        cJSON_Parse("{\"orderId\":\"o-1\",\"items\":[{\"q\":2}],\"note\":\"caf\xc3\xa9\"}");
    eb_event_t ev, back;
    char err[256] = "";
    size_t len = 0;
    char *text;

    assert_non_null(data);
    assert_int_equal(eb_event_init(&ev, "OrderCreated", "/order-service", "o-1", NULL, data),
                     EB_OK);
    text = eb_event_encode(&ev, &len);
    assert_non_null(text);
    assert_int_equal(eb_event_decode(text, len, &back, err, sizeof(err)), EB_OK);
    assert_string_equal(back.id, ev.id);
    assert_string_equal(back.source, ev.source);
    assert_string_equal(back.type, ev.type);
    assert_string_equal(back.time, ev.time);
    assert_string_equal(back.subject, "o-1");
    assert_string_equal(back.correlationid, ev.id);
    assert_string_equal(back.causationid, ev.id);
    assert_non_null(back.data);
    assert_true(cJSON_Compare(back.data, ev.data, 1));
    cJSON_free(text);
    eb_event_close(&back);
    eb_event_close(&ev);
}

/* Decodes a copy of text in a buffer of exactly strlen(text) bytes, so that
 * a read past the end shows under valgrind or ASan. */
static eb_err_t decode_text(const char *text, eb_event_t *ev, char *err, size_t err_size)
{
    size_t n = strlen(text);
    char *buf = malloc(n ? n : 1);
    eb_err_t rc;

    assert_non_null(buf);
    memcpy(buf, text, n);
    err[0] = '\0';
    rc = eb_event_decode(buf, n, ev, err, err_size);
    free(buf);
    return rc;
}

static void decode_minimal_and_optional(void **state)
{
    eb_event_t ev;
    char err[256];

    /* Only the four required attributes: the rest stays empty. */
    assert_int_equal(
        decode_text("{\"specversion\":\"1.0\",\"id\":\"x\",\"source\":\"/s\",\"type\":\"T\"}", &ev,
                    err, sizeof(err)),
        EB_OK);
    assert_string_equal(ev.id, "x");
    assert_string_equal(ev.source, "/s");
    assert_string_equal(ev.type, "T");
    assert_string_equal(ev.time, "");
    assert_string_equal(ev.subject, "");
    assert_string_equal(ev.correlationid, "");
    assert_string_equal(ev.causationid, "");
    assert_null(ev.data);
    eb_event_close(&ev);
}

/* A member given twice: the first counts (as cJSON's lookup by name found
 * it before decode read all members in one pass), and the second data
 * member is freed with the rest (ASan, valgrind). */
static void decode_duplicate_members(void **state)
{
    eb_event_t ev;
    char err[256];

    (void)state;
    assert_int_equal(decode_text("{\"specversion\":\"1.0\",\"id\":\"first\",\"source\":\"/s\","
                                 "\"type\":\"T\",\"data\":{\"n\":1},\"id\":\"second\","
                                 "\"type\":7,\"data\":{\"n\":2},\"time\":\"2026-11-21T10:30:00Z\"}",
                                 &ev, err, sizeof(err)),
                     EB_OK);
    assert_string_equal(ev.id, "first");
    assert_string_equal(ev.type, "T");
    assert_string_equal(ev.time, "2026-11-21T10:30:00Z");
    assert_non_null(ev.data);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(ev.data, "n")->valueint, 1);
    eb_event_close(&ev);
    /* The first specversion decides, even when a valid one follows. */
    assert_int_equal(decode_text("{\"specversion\":\"0.3\",\"specversion\":\"1.0\",\"id\":\"x\","
                                 "\"source\":\"/s\",\"type\":\"T\"}",
                                 &ev, err, sizeof(err)),
                     EB_ERR_BAD_EVENT);
    assert_non_null(strstr(err, "specversion"));
}

static void decode_accepts(void **state)
{
    static const char *const good[] = {
        /* unknown extension attributes, of any JSON type */
        "{\"specversion\":\"1.0\",\"id\":\"x\",\"source\":\"/s\",\"type\":\"T\","
        "\"traceparent\":\"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\","
        "\"myext\":\"v\",\"count\":5,\"flag\":true,\"data\":{}}",
        /* datacontenttype with parameters */
        "{\"specversion\":\"1.0\",\"id\":\"x\",\"source\":\"/s\",\"type\":\"T\","
        "\"datacontenttype\":\"application/json; charset=utf-8\",\"data\":{}}",
        /* a +json structured syntax suffix (RFC 6839), any letter case */
        "{\"specversion\":\"1.0\",\"id\":\"x\",\"source\":\"/s\",\"type\":\"T\","
        "\"datacontenttype\":\"application/vnd.acme.order+JSON; v=2\",\"data\":{}}",
        /* time with an offset, surrounding whitespace */
        "  \n{\"specversion\":\"1.0\",\"id\":\"x\",\"source\":\"/s\",\"type\":\"T\","
        "\"time\":\"2026-11-21T10:30:00+02:00\"}\r\n\t ",
        /* attributes in any order */
        "{\"data\":{\"k\":[1,2]},\"type\":\"T\",\"source\":\"/s\",\"id\":\"x\","
        "\"specversion\":\"1.0\"}",
    };
    eb_event_t ev;
    char err[256];

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (decode_text(good[i], &ev, err, sizeof(err)) != EB_OK)
            fail_msg("rejected case %zu: %s", i, err);
        assert_string_equal(ev.id, "x");
        assert_string_equal(ev.type, "T");
        eb_event_close(&ev);
    }
}

static void decode_id_length_limit(void **state)
{
    char text[400], id[EB_EVENT_ID_MAX + 2];
    eb_event_t ev;
    char err[256];

    memset(id, 'i', EB_EVENT_ID_MAX);
    id[EB_EVENT_ID_MAX] = '\0';
    snprintf(text, sizeof(text),
             "{\"specversion\":\"1.0\",\"id\":\"%s\",\"source\":\"/s\",\"type\":\"T\"}", id);
    assert_int_equal(decode_text(text, &ev, err, sizeof(err)), EB_OK);
    assert_string_equal(ev.id, id);
    eb_event_close(&ev);

    strcat(id, "i"); /* 129 bytes */
    snprintf(text, sizeof(text),
             "{\"specversion\":\"1.0\",\"id\":\"%s\",\"source\":\"/s\",\"type\":\"T\"}", id);
    assert_int_equal(decode_text(text, &ev, err, sizeof(err)), EB_ERR_BAD_EVENT);
    assert_contains(err, "id");
}

#define HEAD "\"specversion\":\"1.0\","
#define REQ  "\"id\":\"x\",\"source\":\"/s\",\"type\":\"T\""

static void decode_rejects(void **state)
{
    static const struct {
        const char *text;
        const char *why; /* a word errstr must contain */
    } bad[] = {
        {"", "empty"},
        {"{\"specversion\":\"1.0\",\"id\":\"\xff\",\"source\":\"/s\",\"type\":\"T\"}", "UTF-8"},
        {"{\"specversion\":\"1.0\",\"id\":\"\xc0\xaf\",\"source\":\"/s\",\"type\":\"T\"}", "UTF-8"},
        {"hello", "not JSON"},
        {"{\"specversion\":\"1.0\",", "not JSON"},
        {"{" HEAD REQ "} x", "trailing"},
        {"{" HEAD REQ "}{}", "trailing"},
        {"[1,2]", "object"},
        {"\"1.0\"", "object"},
        {"42", "object"},
        {"null", "object"},
        {"{" REQ "}", "specversion"},
        {"{\"specversion\":\"0.3\"," REQ "}", "specversion"},
        {"{\"specversion\":1.0," REQ "}", "specversion"},
        {"{\"specversion\":\"1.0 \"," REQ "}", "specversion"},
        {"{" HEAD "\"source\":\"/s\",\"type\":\"T\"}", "\"id\""},
        {"{" HEAD "\"id\":\"\",\"source\":\"/s\",\"type\":\"T\"}", "\"id\""},
        {"{" HEAD "\"id\":7,\"source\":\"/s\",\"type\":\"T\"}", "\"id\""},
        {"{" HEAD "\"id\":\"x\",\"type\":\"T\"}", "\"source\""},
        {"{" HEAD "\"id\":\"x\",\"source\":\"\",\"type\":\"T\"}", "\"source\""},
        {"{" HEAD "\"id\":\"x\",\"source\":[],\"type\":\"T\"}", "\"source\""},
        {"{" HEAD "\"id\":\"x\",\"source\":\"/s\"}", "\"type\""},
        {"{" HEAD "\"id\":\"x\",\"source\":\"/s\",\"type\":\"\"}", "\"type\""},
        {"{" HEAD "\"id\":\"x\",\"source\":\"/s\",\"type\":{}}", "\"type\""},
        {"{" HEAD REQ ",\"subject\":5}", "\"subject\""},
        {"{" HEAD REQ ",\"correlationid\":true}", "\"correlationid\""},
        {"{" HEAD REQ ",\"causationid\":[\"a\"]}", "\"causationid\""},
        {"{" HEAD REQ ",\"time\":12345}", "\"time\""},
        {"{" HEAD REQ ",\"time\":\"yesterday\"}", "\"time\""},
        {"{" HEAD REQ ",\"time\":\"2026-11-21 10:30\"}", "\"time\""},
        {"{" HEAD REQ ",\"datacontenttype\":\"text/plain\"}", "datacontenttype"},
        {"{" HEAD REQ ",\"datacontenttype\":\"application/xml\"}", "datacontenttype"},
        {"{" HEAD REQ ",\"datacontenttype\":5}", "datacontenttype"},
        {"{" HEAD REQ ",\"datacontenttype\":\"application/jsonx\"}", "datacontenttype"},
        {"{" HEAD REQ ",\"datacontenttype\":\"application/+json\"}", "datacontenttype"},
        {"{" HEAD REQ ",\"dataschema\":7}", "\"dataschema\""},
        {"{" HEAD REQ ",\"dataschema\":\"\"}", "\"dataschema\" is empty"},
        {"{" HEAD REQ ",\"data_base64\":\"e30=\"}", "data_base64"},
    };
    eb_event_t ev;
    char err[256];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&ev, 0x55, sizeof(ev));
        if (decode_text(bad[i].text, &ev, err, sizeof(err)) != EB_ERR_BAD_EVENT)
            fail_msg("accepted case %zu: %s", i, bad[i].text);
        if (strstr(err, bad[i].why) == NULL)
            fail_msg("case %zu (%s): errstr \"%s\" does not mention %s", i, bad[i].text, err,
                     bad[i].why);
        /* On failure ev needs no closing: it is cleared. */
        assert_null(ev.data);
        assert_string_equal(ev.id, "");
    }
}

static void decode_rejects_null_and_embedded_nul(void **state)
{
    static const char text[] = "{" HEAD REQ "}";
    char buf[sizeof(text) + 4];
    eb_event_t ev;
    char err[256] = "";

    assert_int_equal(eb_event_decode(NULL, 10, &ev, err, sizeof(err)), EB_ERR_BAD_EVENT);
    /* A NUL inside the given length is not whitespace. */
    memcpy(buf, text, sizeof(text)); /* includes the NUL */
    memcpy(buf + sizeof(text), "{}", 2);
    assert_int_equal(eb_event_decode(buf, sizeof(text) + 2, &ev, err, sizeof(err)),
                     EB_ERR_BAD_EVENT);
    /* Only len bytes count: a valid prefix decodes. */
    assert_int_equal(eb_event_decode(buf, sizeof(text) - 1, &ev, err, sizeof(err)), EB_OK);
    eb_event_close(&ev);
    /* errstr may be NULL. */
    assert_int_equal(eb_event_decode("[]", 2, &ev, NULL, 0), EB_ERR_BAD_EVENT);
}

/* ---- times -------------------------------------------------------------- */

static void time_format_known_values(void **state)
{
    static const struct {
        int64_t ms;
        const char *text;
    } cases[] = {
        {0, "1970-01-01T00:00:00.000Z"},
        {999, "1970-01-01T00:00:00.999Z"},
        {1000, "1970-01-01T00:00:01.000Z"},
        {86400000, "1970-01-02T00:00:00.000Z"},
        {951782400123, "2000-02-29T00:00:00.123Z"},
        {1795267034839, "2026-11-21T13:17:14.839Z"},
        {253402300799999, "9999-12-31T23:59:59.999Z"},
    };
    char out[EB_TIME_LEN + 1];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(out, 'x', sizeof(out));
        eb_time_format(cases[i].ms, out);
        assert_string_equal(out, cases[i].text);
        assert_true(eb_time_valid(out));
    }
}

static void time_now_is_plausible(void **state)
{
    int64_t now = eb_time_now_ms();
    int64_t m1 = eb_time_mono_ms(), m2 = eb_time_mono_ms();

    /* After 2024-01-01 and before 2100-01-01. */
    assert_true(now > INT64_C(1704067200000));
    assert_true(now < INT64_C(4102444800000));
    assert_true(m2 >= m1);
}

static void time_valid_cases(void **state)
{
    static const char *const good[] = {
        "2026-11-21T10:30:00.123Z",  "2026-11-21T10:30:00Z",           "2026-11-21t10:30:00z",
        "2026-11-21T10:30:00+05:30", "2026-11-21T10:30:00.1-08:00",    "2016-12-31T23:59:60Z",
        "0000-01-01T00:00:00Z",      "2026-11-21T10:30:00.123456789Z", "2024-02-29T00:00:00Z",
    };
    static const char *const bad[] = {
        "",
        "2026-11-21",
        "2026-11-21T10:30Z",
        "2026-11-21T10:30:00",
        "2026-13-01T00:00:00Z",
        "2026-00-01T00:00:00Z",
        "2026-11-00T00:00:00Z",
        "2026-11-32T00:00:00Z",
        "2026-11-21T24:00:00Z",
        "2026-11-21T10:60:00Z",
        "2026-11-21T10:30:61Z",
        "2026-11-21T10:30:00.Z",
        "2026-11-21T10:30:00+0530",
        "2026-11-21T10:30:00+24:00",
        "2026-11-21T10:30:00+05:60",
        "2026-11-21T10:30:00Zjunk",
        "2026-11-21T10:30:00+05:30 ",
        "26-11-21T10:30:00Z",
        "2026-11-21X10:30:00Z",
        "2026/11/21T10:30:00Z",
        "2026-1-21T10:30:00Z",
    };

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (!eb_time_valid(good[i]))
            fail_msg("rejected \"%s\"", good[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (eb_time_valid(bad[i]))
            fail_msg("accepted \"%s\"", bad[i]);
}

/* ---- trace context and ids ---------------------------------------------- */

#define TP_GOOD "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

static int tp_valid(const char *s)
{
    return eb_traceparent_valid(s, strlen(s));
}

static void traceparent_valid_cases(void **state)
{
    static const char *const bad[] = {
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  /* upper-case trace id */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",  /* upper-case parent id */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A",  /* upper-case flags */
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  /* all-zero trace id */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  /* all-zero parent id */
        "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  /* non-hex version */
        "0A-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  /* upper-case version */
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-011", /* later version, no '-' */
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  /* version ff */
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",   /* 54 chars */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-011", /* 56 chars */
        "00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",  /* separator */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01",  /* separator */
        "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  /* separator */
        "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",  /* non-hex */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",  /* non-hex flags */
        "",
    };

    assert_true(tp_valid(TP_GOOD));
    assert_true(tp_valid("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"));
    /* A later version: version 00's fields, then the end or '-' and more. */
    assert_true(tp_valid("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
    assert_true(tp_valid("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09-what-next"));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (tp_valid(bad[i]))
            fail_msg("accepted \"%s\"", bad[i]);
    /* The length is what the caller says, not strlen. */
    assert_false(eb_traceparent_valid(TP_GOOD, EB_TRACEPARENT_LEN - 1));
    assert_false(eb_traceparent_valid(TP_GOOD "x", EB_TRACEPARENT_LEN + 1));
    assert_true(eb_traceparent_valid(TP_GOOD "garbage", EB_TRACEPARENT_LEN));
}

static void traceparent_generate_validates(void **state)
{
    char a[EB_TRACEPARENT_LEN + 1], b[EB_TRACEPARENT_LEN + 1];

    for (int i = 0; i < 100; i++) {
        eb_traceparent_generate(a);
        assert_int_equal(strlen(a), EB_TRACEPARENT_LEN);
        if (!tp_valid(a))
            fail_msg("generated an invalid traceparent \"%s\"", a);
        assert_memory_equal(a, "00-", 3);
        assert_string_equal(a + 52, "-01"); /* sampled */
    }
    eb_traceparent_generate(b);
    assert_string_not_equal(a, b);
    assert_memory_not_equal(a + 3, b + 3, 32);
}

static void uuid_format(void **state)
{
    char a[EB_UUID_LEN + 1], b[EB_UUID_LEN + 1];

    for (int i = 0; i < 100; i++) {
        memset(a, 'X', sizeof(a));
        eb_uuid_generate(a);
        if (!is_uuid(a, '4'))
            fail_msg("not a lower-case v4 UUID: \"%s\"", a);
    }
    eb_uuid_generate(b);
    assert_string_not_equal(a, b);
}

/*
 * Regressions: each of these failed against the first version of the code.
 */

/* Regression: eb_time_valid() promises "a well-formed RFC 3339 date-time", but it
 * only checks that the day is 01..31 whatever the month. RFC 3339 section
 * 5.7 limits date-mday by month and year, so 2026-02-30, 2026-04-31 and
 * 2025-02-29 (not a leap year) are not valid timestamps; the decoder lets
 * events with such a "time" through. (2024-02-29 and 2000-02-29 are valid;
 * 1900-02-29 is not.) */
static void time_valid_rejects_impossible_dates(void **state)
{
    static const char *const bad[] = {"2026-02-30T00:00:00Z", "2026-04-31T00:00:00Z",
                                      "2025-02-29T00:00:00Z", "1900-02-29T00:00:00Z",
                                      "2026-06-31T12:00:00.000Z"};

    assert_true(eb_time_valid("2000-02-29T00:00:00Z"));
    assert_true(eb_time_valid("2026-01-31T00:00:00Z"));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (eb_time_valid(bad[i]))
            fail_msg("accepted impossible date \"%s\"", bad[i]);
}

/* Regression: eb_time_format() takes any int64_t ms since the epoch, but for a
 * negative value it truncates the seconds toward zero and prints ms % 1000
 * as a negative number: -1 gives "1970-01-01T00:00:00.-01Z" instead of
 * "1969-12-31T23:59:59.999Z", and -1500 gives "1969-12-31T23:59:59.-500"
 * (truncated, no 'Z'). Neither is RFC 3339; eb_time_valid() rejects both. */
static void time_format_before_1970(void **state)
{
    char out[EB_TIME_LEN + 1];

    eb_time_format(-1, out);
    assert_string_equal(out, "1969-12-31T23:59:59.999Z");
    eb_time_format(-1500, out);
    assert_string_equal(out, "1969-12-31T23:59:58.500Z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(init_starts_chain),
        cmocka_unit_test(init_with_cause),
        cmocka_unit_test(init_ids_are_fresh),
        cmocka_unit_test(derive_is_deterministic),
        cmocka_unit_test(init_rejects_bad_arguments),
        cmocka_unit_test(encode_exact),
        cmocka_unit_test(round_trip),
        cmocka_unit_test(dataschema_round_trip),
        cmocka_unit_test(media_types),
        cmocka_unit_test(content_type_header),
        cmocka_unit_test(decode_minimal_and_optional),
        cmocka_unit_test(decode_accepts),
        cmocka_unit_test(decode_duplicate_members),
        cmocka_unit_test(decode_id_length_limit),
        cmocka_unit_test(decode_rejects),
        cmocka_unit_test(decode_rejects_null_and_embedded_nul),
        cmocka_unit_test(time_format_known_values),
        cmocka_unit_test(time_now_is_plausible),
        cmocka_unit_test(time_valid_cases),
        cmocka_unit_test(traceparent_valid_cases),
        cmocka_unit_test(traceparent_generate_validates),
        cmocka_unit_test(uuid_format),
        /* Regressions. */
        cmocka_unit_test(time_valid_rejects_impossible_dates),
        cmocka_unit_test(time_format_before_1970),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
