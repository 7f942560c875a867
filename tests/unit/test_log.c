/*
 * Logging (log.c): the event context a thread sets, and which lines carry it.
 */
#include "unit.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "eventbus/log.h"

static char last[2048];

static void capture(eb_log_level_t level, const char *line, size_t len, void *opaque)
{
    (void)level;
    (void)opaque;
    snprintf(last, sizeof(last), "%.*s", (int)len, line);
}

static int setup(void **state)
{
    (void)state;
    eb_log_init("test", "t-1", EB_LOG_DEBUG, 1);
    eb_log_set_callback(capture, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    eb_log_set_context(NULL);
    eb_log_set_callback(NULL, NULL);
    return 0;
}

static const eb_log_fields_t ctx = {"ev-1",
                                    "OrderCreated",
                                    "o-1",
                                    "c-1",
                                    "4bf92f3577b34da6a3ce929d0e0e4736",
                                    "b7ad6b7169203331",
                                    "00f067aa0ba902b7",
                                    "order-created",
                                    3,
                                    42};

static void *log_from_another_thread(void *arg)
{
    (void)arg;
    EB_WARN("from elsewhere");
    return NULL;
}

static void context_goes_on_lines_without_fields(void **state)
{
    eb_log_fields_t own = EB_LOG_FIELDS_INIT;
    pthread_t t;

    (void)state;
    EB_WARN("before");
    assert_null(strstr(last, "trace_id"));

    eb_log_set_context(&ctx);
    EB_WARN("inside %d", 1);
    assert_contains(last, "\"msg\":\"inside 1\"");
    assert_contains(last, "\"eventId\":\"ev-1\"");
    assert_contains(last, "\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\"");
    assert_contains(last, "\"span_id\":\"b7ad6b7169203331\"");
    assert_contains(last, "\"parent_span_id\":\"00f067aa0ba902b7\"");
    assert_contains(last, "\"partition\":3");
    assert_contains(last, "\"offset\":42");

    /* A line with fields of its own shows those, not the context. */
    own.event_id = "ev-2";
    EB_LOG_EV(EB_LOG_WARN, &own, "own");
    assert_contains(last, "\"eventId\":\"ev-2\"");
    assert_null(strstr(last, "trace_id"));

    /* The context is this thread's: another thread's lines do not get it. */
    assert_int_equal(pthread_create(&t, NULL, log_from_another_thread, NULL), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_contains(last, "from elsewhere");
    assert_null(strstr(last, "trace_id"));

    eb_log_set_context(NULL);
    EB_WARN("after");
    assert_contains(last, "after");
    assert_null(strstr(last, "trace_id"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(context_goes_on_lines_without_fields, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
