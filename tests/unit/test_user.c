/*
 * Unit tests for services/user/user.c: parsing a request, a new user and
 * its UserRegistered event, an update and its UserUpdated event, and the
 * user document.
 */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "user/user.h"

#define REQUEST "{\"name\":\"Ann\",\"email\":\"ann@example.com\",\"age\":30}"

static void parse(const char *json, svc_user_t *out)
{
    svc_verr_t v;

    if (user_parse_request(json, strlen(json), out, &v) != EB_OK)
        fail_msg("request rejected: %s %s %s", v.code, v.field, v.message);
}

/* Decodes o's event and checks what every user event carries. */
static void decode_event(const user_record_t *o, const char *type, eb_event_t *ev)
{
    char err[256] = "";
    char *data;

    if (eb_event_decode(o->event, o->event_len, ev, err, sizeof(err)) != EB_OK)
        fail_msg("event does not decode: %s", err);
    assert_string_equal(ev->type, type);
    assert_string_equal(ev->source, SOURCE_USER_SERVICE);
    assert_string_equal(ev->subject, o->user.user_id);
    assert_string_equal(ev->correlationid, o->user.user_id);
    assert_string_equal(ev->causationid, ev->id);
    assert_string_equal(ev->id, o->event_id);
    assert_true(is_uuid(ev->id, '4'));
    /* The data is the document the API answers with, byte for byte. */
    data = cJSON_PrintUnformatted(ev->data);
    assert_non_null(data);
    assert_string_equal(data, o->doc);
    cJSON_free(data);
}

static void request_valid(void **state)
{
    svc_user_t u;

    (void)state;
    parse(REQUEST, &u);
    assert_string_equal(u.name, "Ann");
    assert_string_equal(u.email, "ann@example.com");
    assert_int_equal(u.age, 30);
    assert_string_equal(u.user_id, "");
    parse("{\"name\":\"Ann\",\"email\":\"ann@example.com\",\"age\":null}", &u);
    assert_int_equal(u.age, -1);
    /* A userId or createdAt in a request is ignored, not taken. */
    parse("{\"userId\":\"x\",\"createdAt\":\"y\",\"name\":\"A\",\"email\":\"a@b.io\"}", &u);
    assert_string_equal(u.user_id, "");
    assert_string_equal(u.created_at, "");
}

static void request_invalid(void **state)
{
    static const struct {
        const char *json;
        const char *code, *field;
    } bad[] = {
        {"", "INVALID_JSON", ""},
        {"{\"name\":\"Ann\"", "INVALID_JSON", ""},
        {"[1]", "INVALID_JSON", ""},
        {REQUEST " {}", "INVALID_JSON", ""},
        {"{\"name\":\"\xff\",\"email\":\"a@b.io\"}", "INVALID_JSON", ""},
        {"{\"email\":\"a@b.io\"}", "MISSING_FIELD", "name"},
        {"{\"name\":\"Ann\"}", "MISSING_FIELD", "email"},
        {"{\"name\":\"Ann\",\"email\":\"nope\"}", "INVALID_FIELD", "email"},
        {"{\"name\":\"Ann\",\"email\":\"a@b.io\",\"age\":151}", "INVALID_FIELD", "age"},
    };
    svc_user_t u;
    svc_verr_t v;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&v, 0, sizeof(v));
        if (user_parse_request(bad[i].json, strlen(bad[i].json), &u, &v) != EB_ERR_INVALID)
            fail_msg("accepted %s", bad[i].json);
        if (strcmp(v.code, bad[i].code) != 0 || strcmp(v.field, bad[i].field) != 0)
            fail_msg("%s: got %s at %s, want %s at %s", bad[i].json, v.code, v.field, bad[i].code,
                     bad[i].field);
        assert_true(v.message[0] != '\0');
    }
}

static void register_new_user(void **state)
{
    svc_user_t req, back;
    user_record_t o;
    eb_event_t ev;
    svc_verr_t v;

    (void)state;
    parse(REQUEST, &req);
    assert_int_equal(user_record_register(&req, &o), EB_OK);
    assert_true(is_uuid(o.user.user_id, '4'));
    assert_true(eb_time_valid(o.user.created_at));
    assert_string_equal(o.updated_at, "");
    assert_string_equal(o.topic, TOPIC_USER_REGISTERED);
    assert_string_equal(o.user.name, "Ann");
    assert_int_equal(o.doc_len, strlen(o.doc));
    assert_int_equal(o.event_len, strlen(o.event));
    assert_string_not_equal(o.event_id, o.user.user_id);

    decode_event(&o, TYPE_USER_REGISTERED, &ev);
    /* Exactly the contract's five fields. */
    assert_int_equal(cJSON_GetArraySize(ev.data), 5);
    assert_null(cJSON_GetObjectItemCaseSensitive(ev.data, "updatedAt"));
    /* Consumers validate the data with the same rules. */
    assert_int_equal(svc_user_parse(ev.data, SVC_USER_EVENT, &back, &v), EB_OK);
    assert_string_equal(back.user_id, o.user.user_id);
    assert_string_equal(back.created_at, o.user.created_at);
    assert_int_equal(back.age, 30);
    eb_event_close(&ev);
    user_record_close(&o);
    assert_null(o.doc);
    assert_null(o.event);
}

static void new_users_are_distinct(void **state)
{
    svc_user_t req;
    user_record_t a, b;

    (void)state;
    parse(REQUEST, &req);
    assert_int_equal(user_record_register(&req, &a), EB_OK);
    assert_int_equal(user_record_register(&req, &b), EB_OK);
    assert_string_not_equal(a.user.user_id, b.user.user_id);
    assert_string_not_equal(a.event_id, b.event_id);
    user_record_close(&a);
    user_record_close(&b);
}

static void update_user(void **state)
{
    static const char id[] = "8d2f1c8e-0c61-4a3e-9e0b-2f3c4d5e6f70";
    static const char created[] = "2026-12-01T08:00:00.000Z";
    svc_user_t req, back;
    user_record_t o;
    eb_event_t ev;
    svc_verr_t v;
    char want[512];

    (void)state;
    parse("{\"name\":\"Bob\",\"email\":\"bob@example.com\"}", &req);
    assert_int_equal(user_record_update(&req, id, created, &o), EB_OK);
    assert_string_equal(o.user.user_id, id);
    assert_string_equal(o.user.created_at, created);
    assert_true(eb_time_valid(o.updated_at));
    assert_string_equal(o.topic, TOPIC_USER_UPDATED);
    snprintf(want, sizeof(want),
             "{\"userId\":\"%s\",\"name\":\"Bob\",\"email\":\"bob@example.com\",\"age\":null,"
             "\"createdAt\":\"%s\",\"updatedAt\":\"%s\"}",
             id, created, o.updated_at);
    assert_string_equal(o.doc, want);
    decode_event(&o, TYPE_USER_UPDATED, &ev);
    assert_int_equal(svc_user_parse(ev.data, SVC_USER_EVENT, &back, &v), EB_OK);
    assert_int_equal(back.age, -1);
    eb_event_close(&ev);
    user_record_close(&o);
}

static void update_rejects_what_was_never_stored(void **state)
{
    char long_id[SVC_ID_MAX + 2];
    svc_user_t req;
    user_record_t o;

    (void)state;
    parse(REQUEST, &req);
    memset(long_id, 'a', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';
    assert_int_equal(user_record_update(&req, long_id, "2026-12-01T08:00:00.000Z", &o),
                     EB_ERR_INVALID);
    user_record_close(&o);
    assert_int_equal(user_record_update(&req, "", "2026-12-01T08:00:00.000Z", &o), EB_ERR_INVALID);
    user_record_close(&o);
    assert_int_equal(user_record_update(&req, "u1", "", &o), EB_ERR_INVALID);
    user_record_close(&o);
    assert_int_equal(
        user_record_update(&req, "u1", "2026-12-01T08:00:00.000Z-and-then-some-more-text", &o),
        EB_ERR_INVALID);
    user_record_close(&o);
}

static void render_exact(void **state)
{
    svc_user_t u;
    char *text;
    size_t len = 0;

    (void)state;
    memset(&u, 0, sizeof(u));
    snprintf(u.user_id, sizeof(u.user_id), "u1");
    snprintf(u.name, sizeof(u.name), "Zo\xc3\xab \"Z\"");
    snprintf(u.email, sizeof(u.email), "z@example.com");
    snprintf(u.created_at, sizeof(u.created_at), "2026-12-01T08:00:00.000Z");
    u.age = 0;
    text = user_render(&u, NULL, &len);
    assert_string_equal(text, "{\"userId\":\"u1\",\"name\":\"Zo\xc3\xab \\\"Z\\\"\",\"email\":"
                              "\"z@example.com\",\"age\":0,\"createdAt\":"
                              "\"2026-12-01T08:00:00.000Z\"}");
    assert_int_equal(len, strlen(text));
    cJSON_free(text);
    u.age = -1;
    text = user_render(&u, "", NULL);
    assert_contains(text, "\"age\":null");
    assert_null(strstr(text, "updatedAt"));
    cJSON_free(text);
    text = user_render(&u, "2026-12-02T08:00:00.000Z", NULL);
    assert_contains(text, "\"createdAt\":\"2026-12-01T08:00:00.000Z\","
                          "\"updatedAt\":\"2026-12-02T08:00:00.000Z\"}");
    cJSON_free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(request_valid),     cmocka_unit_test(request_invalid),
        cmocka_unit_test(register_new_user), cmocka_unit_test(new_users_are_distinct),
        cmocka_unit_test(update_user),       cmocka_unit_test(update_rejects_what_was_never_stored),
        cmocka_unit_test(render_exact),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
