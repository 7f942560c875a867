/*
 * Trace context (traceparent.c): the span a hop starts from what it was
 * given, and the tracestate it forwards.
 */
#include "unit.h"

#include <stdio.h>
#include <string.h>

#include "eventbus/traceparent.h"

#define TP "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

static void start(eb_trace_t *t, const char *tp, const char *ts)
{
    eb_trace_start(t, tp, tp ? strlen(tp) : 0, ts, ts ? strlen(ts) : 0);
}

/* t's traceparent is version 00 of its own members. */
static void assert_consistent(const eb_trace_t *t)
{
    char want[EB_TRACEPARENT_LEN + 1];

    snprintf(want, sizeof(want), "00-%s-%s-%s", t->trace_id, t->span_id, t->flags);
    assert_string_equal(t->traceparent, want);
    assert_true(eb_traceparent_valid(t->traceparent, strlen(t->traceparent)));
}

static void a_child_span_of_the_callers(void **state)
{
    eb_trace_t a, b;

    (void)state;
    start(&a, TP, "congo=t61rcWkgMzE");
    assert_consistent(&a);
    assert_string_equal(a.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_string_equal(a.parent_id, "00f067aa0ba902b7");
    assert_string_not_equal(a.span_id, a.parent_id);
    assert_string_equal(a.flags, "01");
    assert_string_equal(a.tracestate, "congo=t61rcWkgMzE");
    /* The next hop: same trace, a new span, this one its parent. */
    start(&b, a.traceparent, a.tracestate);
    assert_consistent(&b);
    assert_string_equal(b.trace_id, a.trace_id);
    assert_string_equal(b.parent_id, a.span_id);
    assert_string_not_equal(b.span_id, a.span_id);
    /* Two hops given the same traceparent start different spans. */
    start(&b, TP, NULL);
    assert_string_not_equal(b.span_id, a.span_id);
    assert_string_equal(b.tracestate, "");
}

static void a_new_trace_without_a_valid_one(void **state)
{
    static const char *const given[] = {
        NULL,
        "",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-more",
    };
    eb_trace_t t;

    (void)state;
    for (size_t i = 0; i < sizeof(given) / sizeof(given[0]); i++) {
        start(&t, given[i], "congo=t61rcWkgMzE");
        assert_consistent(&t);
        assert_string_not_equal(t.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_string_equal(t.parent_id, "");
        assert_string_equal(t.flags, "01");
        assert_string_equal(t.tracestate, ""); /* it belonged to the trace we dropped */
    }
}

static void a_later_version_is_continued_as_00(void **state)
{
    eb_trace_t t;

    (void)state;
    start(&t, "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff-later-fields", "a=b");
    assert_consistent(&t);
    assert_string_equal(t.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_string_equal(t.parent_id, "00f067aa0ba902b7");
    assert_string_equal(t.flags, "01"); /* only the flag version 00 knows */
    assert_string_equal(t.tracestate, "a=b");
    start(&t, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", NULL);
    assert_string_equal(t.flags, "00"); /* not sampled stays not sampled */
}

static void clean(const char *in, const char *want)
{
    char out[EB_TRACESTATE_MAX + 1];
    int n = eb_tracestate_clean(in, strlen(in), out);

    if (!want) {
        if (n != -1)
            fail_msg("accepted tracestate \"%s\" as \"%s\"", in, out);
        assert_string_equal(out, "");
        return;
    }
    if (n < 0)
        fail_msg("refused tracestate \"%s\"", in);
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
}

static void tracestate_checked_and_cleaned(void **state)
{
    (void)state;
    clean("rojo=00f067aa0ba902b7", "rojo=00f067aa0ba902b7");
    clean(" rojo=1 ,\tcongo=t61rcWkgMzE ,, ", "rojo=1,congo=t61rcWkgMzE");
    clean("tenant1@sys=v,a_b-c*d/e=x y", "tenant1@sys=v,a_b-c*d/e=x y");
    clean("", "");
    clean(",", "");
    clean("Rojo=1", NULL);          /* upper-case key */
    clean("1rojo=1", NULL);         /* a simple key starts with a letter */
    clean("rojo", NULL);            /* no value */
    clean("rojo=", NULL);           /* empty value */
    clean("rojo=a b ", "rojo=a b"); /* the blank after it is list whitespace */
    clean("rojo=a=b", NULL);        /* '=' in a value */
    clean("rojo=1,rojo=2", NULL);   /* a repeated key */
    clean("t@Sys=1", NULL);         /* system id starts lower-case */
    clean("t@systemidtoolong1=1", NULL);
    clean("rojo=\x01", NULL); /* a control character */
}

static void tracestate_limits(void **state)
{
    char in[2048], out[EB_TRACESTATE_MAX + 1];
    size_t n = 0;

    (void)state;
    /* 33 members: refused. */
    for (int i = 0; i < 33; i++)
        n += (size_t)snprintf(in + n, sizeof(in) - n, "%sk%d=v", i ? "," : "", i);
    assert_int_equal(eb_tracestate_clean(in, n, out), -1);
    /* 10 members of 100 bytes (1009 in all): the last ones go until it fits. */
    n = 0;
    for (int i = 0; i < 10; i++) {
        n += (size_t)snprintf(in + n, sizeof(in) - n, "%sk%d=", i ? "," : "", i);
        memset(in + n, 'v', 97);
        n += 97;
    }
    in[n] = '\0';
    assert_int_equal(eb_tracestate_clean(in, n, out), 5 * 100 + 4);
    assert_memory_equal(out, in, 5 * 100 + 4);
    assert_int_equal(strchr(out + 500, ',') == NULL, 1);
    /* A 200-byte member first, then 10 of 60: the long one goes first, and
     * then what is left (10 x 60 + 9 = 609) loses members from the end. */
    n = (size_t)snprintf(in, sizeof(in), "big=");
    memset(in + n, 'b', 196);
    n += 196;
    for (int i = 0; i < 10; i++) {
        n += (size_t)snprintf(in + n, sizeof(in) - n, ",k%d=", i);
        memset(in + n, 'v', 57);
        n += 57;
    }
    in[n] = '\0';
    assert_int_equal(eb_tracestate_clean(in, n, out), 8 * 60 + 7);
    assert_memory_equal(out, in + 201, 8 * 60 + 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_child_span_of_the_callers),
        cmocka_unit_test(a_new_trace_without_a_valid_one),
        cmocka_unit_test(a_later_version_is_continued_as_00),
        cmocka_unit_test(tracestate_checked_and_cleaned),
        cmocka_unit_test(tracestate_limits),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
