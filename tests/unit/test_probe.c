/*
 * The verdicts behind /ready and /health (libs/app/probe.c): pure
 * functions of what the probes found.
 */
#include "unit.h"

#include "eventbus/app/probe.h"
#include "eventbus/envelope.h"

static void ready_only_when_both_dependencies_answer(void **state)
{
    char reason[128] = "";

    assert_true(app_probe_deps_ready(1, 1, NULL, reason, sizeof(reason)));
    assert_false(app_probe_deps_ready(1, -1, NULL, reason, sizeof(reason)));
    assert_string_equal(reason, "redis unreachable");
    assert_false(app_probe_deps_ready(0, 1, NULL, reason, sizeof(reason)));
    assert_string_equal(reason, "kafka unreachable");
    /* Both down: Redis is named, as the order API's 503s do. */
    assert_false(app_probe_deps_ready(0, -1, NULL, reason, sizeof(reason)));
    assert_string_equal(reason, "redis unreachable");
    /* Up but refusing writes is its own reason, with Redis's words. */
    assert_false(app_probe_deps_ready(1, 0,
                                      "OOM command not allowed when used memory > "
                                      "'maxmemory'.",
                                      reason, sizeof(reason)));
    assert_string_equal(reason, "redis refuses writes: OOM command not allowed when used memory > "
                                "'maxmemory'.");
    assert_false(app_probe_deps_ready(0, 0, "READONLY You can't write against a read only replica.",
                                      reason, sizeof(reason)));
    assert_contains(reason, "refuses writes: READONLY");
}

static void a_loop_is_alive_until_it_stalls(void **state)
{
    char reason[64] = "";
    int64_t now = eb_time_mono_ms();

    assert_true(app_probe_loop_alive("relay", now, reason, sizeof(reason)));
    assert_true(
        app_probe_loop_alive("relay", now - APP_PROBE_STALL_MS + 1000, reason, sizeof(reason)));
    assert_false(
        app_probe_loop_alive("relay", now - APP_PROBE_STALL_MS - 1000, reason, sizeof(reason)));
    assert_contains(reason, "relay stalled for ");
    assert_contains(reason, " ms");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ready_only_when_both_dependencies_answer),
        cmocka_unit_test(a_loop_is_alive_until_it_stalls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
