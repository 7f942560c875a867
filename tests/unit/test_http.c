/*
 * The one listener start-up of the suite's HTTP servers
 * (libs/eventbus/http.c): bind address checks, port 0, stop.
 */
#include "unit.h"

#include "eventbus/http.h"

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
        .threads = 2,
        .max_connections = 4,
        .max_per_ip = 2,
        .timeout_s = 1,
        .handler = refuse,
    };
    struct MHD_Daemon *d = NULL;
    char errstr[128] = "";
    int port = -1;

    assert_int_equal(eb_http_listen(&lo, &d, &port, errstr, sizeof(errstr)), EB_OK);
    assert_non_null(d);
    assert_true(port > 0 && port < 65536);
    assert_int_equal(eb_http_daemon_port(d), port);
    eb_http_stop(d);
}

static void a_bad_bind_address_is_invalid(void **state)
{
    const char *bad[] = {"localhost", "0.0.0", "::1", "256.0.0.1", ""};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const eb_http_listen_opts_t lo = {
            .bind_addr = bad[i], .max_connections = 4, .timeout_s = 1, .handler = refuse};
        struct MHD_Daemon *d = (struct MHD_Daemon *)&lo; /* must be reset */
        char errstr[128] = "";

        assert_int_equal(eb_http_listen(&lo, &d, NULL, errstr, sizeof(errstr)), EB_ERR_INVALID);
        assert_null(d);
        assert_contains(errstr, "bad bind address");
    }
}

static void stopping_nothing_is_a_no_op(void **state)
{
    eb_http_stop(NULL);
    assert_int_equal(eb_http_daemon_port(NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(port_zero_picks_a_port_and_reports_it),
        cmocka_unit_test(a_bad_bind_address_is_invalid),
        cmocka_unit_test(stopping_nothing_is_a_no_op),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
