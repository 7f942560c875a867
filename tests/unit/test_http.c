/*
 * The suite's HTTP servers (libs/eventbus/http.c): the listener start-up
 * (bind address checks, port 0, stop) and the connection guard's pure
 * parts: deadlines per phase, which connection makes room for a newcomer,
 * and the replies the guard writes itself.
 */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "eventbus/http.h"
#include "http_int.h"

static enum MHD_Result refuse(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
    return MHD_NO;
}

static void port_zero_picks_a_port_and_reports_it(void **state)
{
    const eb_http_listen_opts_t lo = {
        .bind_addr = "127.0.0.1",
        .port = 0,
        .limits = {.threads = 2, .max_connections = 4, .max_per_ip = 2, .idle_timeout_s = 1},
        .handler = refuse,
    };
    eb_http_server_t *s = NULL;
    char errstr[128] = "";
    int port;

    assert_int_equal(eb_http_listen(&lo, &s, errstr, sizeof(errstr)), EB_OK);
    assert_non_null(s);
    port = eb_http_port(s);
    assert_true(port > 0 && port < 65536);
    eb_http_stop(s);
}

static void a_bad_bind_address_is_invalid(void **state)
{
    const char *bad[] = {"localhost", "0.0.0", "::1", "256.0.0.1", ""};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const eb_http_listen_opts_t lo = {.bind_addr = bad[i],
                                          .limits = {.max_connections = 4, .idle_timeout_s = 1},
                                          .handler = refuse};
        eb_http_server_t *s = (eb_http_server_t *)&lo; /* must be reset */
        char errstr[128] = "";

        assert_int_equal(eb_http_listen(&lo, &s, errstr, sizeof(errstr)), EB_ERR_INVALID);
        assert_null(s);
        assert_contains(errstr, "bad bind address");
    }
}

static void zero_limits_are_invalid(void **state)
{
    const eb_http_listen_opts_t lo = {
        .bind_addr = "127.0.0.1", .limits = {.idle_timeout_s = 1}, .handler = refuse};
    eb_http_server_t *s = NULL;
    char errstr[128] = "";

    assert_int_equal(eb_http_listen(&lo, &s, errstr, sizeof(errstr)), EB_ERR_INVALID);
    assert_null(s);
    assert_contains(errstr, "max_connections");
}

static void stopping_nothing_is_a_no_op(void **state)
{
    eb_http_stop(NULL);
    assert_int_equal(eb_http_port(NULL), -1);
}

/* ---- deadlines ---------------------------------------------------------------------------- */

static const eb_http_deadlines_t dl = {
    .header_us = 10000000, .request_us = 30000000, .idle_us = 5000000};

static void headers_must_arrive_within_the_header_deadline(void **state)
{
    assert_int_equal(eb__http_expired(EB_HTTP_HEADERS, 1000, &dl, 1000 + 9999999), EB_HTTP_KEEP);
    assert_int_equal(eb__http_expired(EB_HTTP_HEADERS, 1000, &dl, 1000 + 10000000),
                     EB_HTTP_HEADER_TIMEOUT);
}

static void a_request_deadline_shorter_than_the_header_one_bounds_the_headers_too(void **state)
{
    const eb_http_deadlines_t d = {.header_us = 10000000, .request_us = 2000000, .idle_us = 1};

    assert_int_equal(eb__http_expired(EB_HTTP_HEADERS, 0, &d, 1999999), EB_HTTP_KEEP);
    assert_int_equal(eb__http_expired(EB_HTTP_HEADERS, 0, &d, 2000000), EB_HTTP_REQUEST_TIMEOUT);
}

static void the_body_counts_from_the_start_of_the_request(void **state)
{
    /* since_us of BODY is the request's start: 25 s of headers leave 5 s */
    assert_int_equal(eb__http_expired(EB_HTTP_BODY, 0, &dl, 29999999), EB_HTTP_KEEP);
    assert_int_equal(eb__http_expired(EB_HTTP_BODY, 0, &dl, 30000000), EB_HTTP_REQUEST_TIMEOUT);
}

static void an_idle_connection_closes_after_the_idle_timeout(void **state)
{
    assert_int_equal(eb__http_expired(EB_HTTP_IDLE, 0, &dl, 4999999), EB_HTTP_KEEP);
    assert_int_equal(eb__http_expired(EB_HTTP_IDLE, 0, &dl, 5000000), EB_HTTP_IDLE_TIMEOUT);
}

static void a_request_being_answered_or_closing_never_expires(void **state)
{
    assert_int_equal(eb__http_expired(EB_HTTP_HANDLING, 0, &dl, INT64_MAX / 2), EB_HTTP_KEEP);
    assert_int_equal(eb__http_expired(EB_HTTP_CLOSING, 0, &dl, INT64_MAX / 2), EB_HTTP_KEEP);
}

/* ---- the victim ----------------------------------------------------------------------------- */

#define A 0x0100007fu /* 127.0.0.1 in network order, on little-endian; any value will do */
#define B 0x0200007fu
#define C 0x0300007fu

typedef struct {
    eb_http_conn_t c[16];
    eb_http_conn_t *p[16];
    size_t n;
    eb_http_addr_slot_t slots[64];
} table_t;

static void add(table_t *t, uint32_t addr, int phase, int64_t since)
{
    eb_http_conn_t *c = &t->c[t->n];

    c->addr = addr;
    c->stalled = 1;
    atomic_init(&c->phase, phase);
    atomic_init(&c->since_us, since);
    t->p[t->n++] = c;
}

static size_t pick(table_t *t)
{
    return eb__http_pick_victim(t->p, t->n, t->slots, 64);
}

static void the_address_holding_the_most_gives_up_its_oldest(void **state)
{
    table_t t = {0};

    add(&t, B, EB_HTTP_HEADERS, 5); /* the oldest overall, but B holds one */
    add(&t, A, EB_HTTP_HEADERS, 30);
    add(&t, A, EB_HTTP_BODY, 20); /* A's oldest */
    add(&t, A, EB_HTTP_IDLE, 40);
    assert_int_equal(pick(&t), 2);
}

static void a_tie_goes_to_the_older_candidate(void **state)
{
    table_t t = {0};

    add(&t, B, EB_HTTP_HEADERS, 50);
    add(&t, B, EB_HTTP_HEADERS, 51);
    add(&t, A, EB_HTTP_HEADERS, 10);
    add(&t, A, EB_HTTP_HEADERS, 11);
    assert_int_equal(pick(&t), 2);
}

static void a_request_being_answered_is_never_the_victim(void **state)
{
    table_t t = {0};

    add(&t, A, EB_HTTP_HANDLING, 1);
    add(&t, A, EB_HTTP_HANDLING, 2);
    add(&t, A, EB_HTTP_HANDLING, 3);
    add(&t, B, EB_HTTP_HEADERS, 9);
    /* A holds the most, but only B has a connection that can close */
    assert_int_equal(pick(&t), 3);
}

static void closing_connections_neither_count_nor_close_again(void **state)
{
    table_t t = {0};

    add(&t, A, EB_HTTP_CLOSING, 1);
    add(&t, A, EB_HTTP_CLOSING, 2);
    add(&t, A, EB_HTTP_HEADERS, 40);
    add(&t, B, EB_HTTP_HEADERS, 30);
    add(&t, B, EB_HTTP_HEADERS, 31);
    assert_int_equal(pick(&t), 3);
}

static void only_stalled_connections_close(void **state)
{
    table_t t = {0};

    add(&t, A, EB_HTTP_HEADERS, 1);
    add(&t, A, EB_HTTP_IDLE, 2);
    add(&t, A, EB_HTTP_BODY, 3);
    add(&t, B, EB_HTTP_HEADERS, 9);
    t.c[0].stalled = t.c[1].stalled = 0; /* a request waiting for the workers, say */
    assert_int_equal(pick(&t), 2);
    t.c[2].stalled = 0;
    assert_int_equal(pick(&t), 3);
    t.c[3].stalled = 0;
    assert_int_equal(pick(&t), 4);
}

static void nothing_to_close_gives_n(void **state)
{
    table_t t = {0};

    assert_int_equal(pick(&t), 0);
    add(&t, A, EB_HTTP_HANDLING, 1);
    add(&t, B, EB_HTTP_CLOSING, 1);
    assert_int_equal(pick(&t), 2);
}

static void many_addresses_share_the_scratch_table(void **state)
{
    table_t t = {0};

    /* 15 addresses, one connection each, and a 16th that holds two */
    for (uint32_t i = 0; i < 14; i++)
        add(&t, 0x0a000000u + i, EB_HTTP_HEADERS, 100 + i);
    add(&t, B, EB_HTTP_HEADERS, 500);
    add(&t, B, EB_HTTP_HEADERS, 400);
    assert_int_equal(pick(&t), 15);
}

/* ---- how much room to make ----------------------------------------------------------------- */

static void no_room_is_made_when_nobody_waits(void **state)
{
    assert_int_equal(eb__http_room_to_make(0, 1024, 0, 1024), 0);
}

static void no_room_is_made_while_the_table_has_room(void **state)
{
    /* newcomers queue for a moment whenever the workers are slow to accept */
    assert_int_equal(eb__http_room_to_make(5, 900, 0, 1024), 0);
    assert_int_equal(eb__http_room_to_make(5, 959, 0, 1024), 0);
    assert_int_equal(eb__http_room_to_make(5, 960, 0, 1024), 5); /* within a sixteenth */
}

static void connections_already_closing_count_as_room(void **state)
{
    assert_int_equal(eb__http_room_to_make(76, 1024, 0, 1024), 76);
    assert_int_equal(eb__http_room_to_make(76, 1000, 24, 1024), 52);
    assert_int_equal(eb__http_room_to_make(10, 1000, 24, 1024), 0);
}

static void a_tiny_table_is_full_at_its_size(void **state)
{
    assert_int_equal(eb__http_room_to_make(1, 0, 0, 1), 0);
    assert_int_equal(eb__http_room_to_make(1, 1, 0, 1), 1);
}

/* ---- canned replies ------------------------------------------------------------------------ */

static void a_canned_reply_is_whole_http_with_a_json_error(void **state)
{
    char buf[512];
    size_t n = eb__http_canned(buf, sizeof(buf), 408, "Request Timeout", "REQUEST_TIMEOUT",
                               "the \"headers\" were late");
    const char *body;
    cJSON *root, *err;
    unsigned long len;

    assert_true(n > 0);
    assert_int_equal(strlen(buf), n);
    assert_true(strncmp(buf, "HTTP/1.1 408 Request Timeout\r\n", 30) == 0);
    assert_contains(buf, "\r\nContent-Type: application/json\r\n");
    assert_contains(buf, "\r\nConnection: close\r\n");
    body = strstr(buf, "\r\n\r\n");
    assert_non_null(body);
    body += 4;
    assert_int_equal(sscanf(strstr(buf, "Content-Length: "), "Content-Length: %lu", &len), 1);
    assert_int_equal(len, strlen(body));
    root = cJSON_Parse(body);
    err = cJSON_GetObjectItem(root, "error");
    assert_string_equal(cJSON_GetObjectItem(err, "code")->valuestring, "REQUEST_TIMEOUT");
    assert_string_equal(cJSON_GetObjectItem(err, "message")->valuestring,
                        "the \"headers\" were late");
    cJSON_Delete(root);
}

static void a_canned_reply_that_does_not_fit_is_zero(void **state)
{
    char buf[64];

    assert_int_equal(eb__http_canned(buf, sizeof(buf), 503, "Service Unavailable",
                                     "SERVICE_UNAVAILABLE", "a message far too long to fit here"),
                     0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(port_zero_picks_a_port_and_reports_it),
        cmocka_unit_test(a_bad_bind_address_is_invalid),
        cmocka_unit_test(zero_limits_are_invalid),
        cmocka_unit_test(stopping_nothing_is_a_no_op),
        cmocka_unit_test(headers_must_arrive_within_the_header_deadline),
        cmocka_unit_test(a_request_deadline_shorter_than_the_header_one_bounds_the_headers_too),
        cmocka_unit_test(the_body_counts_from_the_start_of_the_request),
        cmocka_unit_test(an_idle_connection_closes_after_the_idle_timeout),
        cmocka_unit_test(a_request_being_answered_or_closing_never_expires),
        cmocka_unit_test(the_address_holding_the_most_gives_up_its_oldest),
        cmocka_unit_test(a_tie_goes_to_the_older_candidate),
        cmocka_unit_test(a_request_being_answered_is_never_the_victim),
        cmocka_unit_test(closing_connections_neither_count_nor_close_again),
        cmocka_unit_test(only_stalled_connections_close),
        cmocka_unit_test(nothing_to_close_gives_n),
        cmocka_unit_test(many_addresses_share_the_scratch_table),
        cmocka_unit_test(no_room_is_made_when_nobody_waits),
        cmocka_unit_test(no_room_is_made_while_the_table_has_room),
        cmocka_unit_test(connections_already_closing_count_as_room),
        cmocka_unit_test(a_tiny_table_is_full_at_its_size),
        cmocka_unit_test(a_canned_reply_is_whole_http_with_a_json_error),
        cmocka_unit_test(a_canned_reply_that_does_not_fit_is_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
