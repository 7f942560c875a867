/*
 * Unit tests for backoff.c (backoff with full jitter, eb_backoff_t) and its
 * random source (random.c).
 */
#include "unit.h"

#include <string.h>

#include "eb_int.h"
#include "eventbus/backoff.h"

static void ceiling_doubles_to_cap(void **state)
{
    /* base 200 ms, cap 10 s: 200 * 2^(n-1), capped. */
    static const int64_t want[] = {200, 400, 800, 1600, 3200, 6400, 10000, 10000};

    for (int n = 1; n <= 8; n++)
        assert_int_equal(eb__backoff_ceiling(n, 200, 10000), want[n - 1]);
    assert_int_equal(eb__backoff_ceiling(100, 200, 10000), 10000);
    assert_int_equal(eb__backoff_ceiling(1000000, 200, 10000), 10000);
}

static void ceiling_edge_cases(void **state)
{
    /* Attempts below 1 count as the first retry. */
    assert_int_equal(eb__backoff_ceiling(0, 200, 10000), 200);
    assert_int_equal(eb__backoff_ceiling(-3, 200, 10000), 200);
    /* A base above the cap is capped. */
    assert_int_equal(eb__backoff_ceiling(1, 20000, 10000), 10000);
    /* Exactly reaching the cap. */
    assert_int_equal(eb__backoff_ceiling(3, 2500, 10000), 10000);
    assert_int_equal(eb__backoff_ceiling(2, 2500, 10000), 5000);
    /* base 1: powers of two. */
    assert_int_equal(eb__backoff_ceiling(11, 1, 600000), 1024);
    /* The configured maximum base (600 s) stays at the cap. */
    assert_int_equal(eb__backoff_ceiling(50, 600000, 10000), 10000);
}

static void delay_bounds(void **state)
{
    static const int64_t ceiling[] = {200, 400, 800, 1600, 3200, 6400, 10000, 10000};

    for (int n = 1; n <= 8; n++) {
        assert_int_equal(eb__backoff_delay(n, 200, 10000, 0.0), 0);
        assert_int_equal(eb__backoff_delay(n, 200, 10000, 0.999999), ceiling[n - 1]);
    }
}

static void delay_midpoints(void **state)
{
    /* rnd spreads uniformly over [0, ceiling]: floor(rnd * (ceiling + 1)). */
    assert_int_equal(eb__backoff_delay(1, 200, 10000, 0.5), 100);
    assert_int_equal(eb__backoff_delay(2, 200, 10000, 0.25), 100);
    assert_int_equal(eb__backoff_delay(7, 200, 10000, 0.5), 5000);
    assert_int_equal(eb__backoff_delay(3, 200, 10000, 0.1), 80);
    /* Out-of-contract rnd values still stay within [0, ceiling]. */
    assert_int_equal(eb__backoff_delay(1, 200, 10000, 1.0), 200);
}

static void delay_never_above_cap(void **state)
{
    for (int n = 1; n <= 40; n++) {
        int64_t c = eb__backoff_ceiling(n, 200, 10000);

        assert_true(c <= 10000);
        for (int k = 0; k <= 1000; k++) {
            double rnd = k / 1000.0 * 0.999999;
            int64_t d = eb__backoff_delay(n, 200, 10000, rnd);

            if (d < 0 || d > c)
                fail_msg("attempt %d rnd %f: delay %lld outside [0, %lld]", n, rnd, (long long)d,
                         (long long)c);
        }
    }
}

static void random_unit_range(void **state)
{
    double sum = 0, lo = 1, hi = 0;
    int below_half = 0;
    const int n = 20000;

    for (int i = 0; i < n; i++) {
        double r = eb__random_unit();

        if (!(r >= 0.0 && r < 1.0))
            fail_msg("eb__random_unit returned %f", r);
        sum += r;
        below_half += r < 0.5;
        lo = r < lo ? r : lo;
        hi = r > hi ? r : hi;
    }
    /* 20000 uniform draws: the mean is 0.5 +- 0.002 (1 sigma), so these
     * bounds fail only if the generator is broken. */
    assert_true(sum / n > 0.45 && sum / n < 0.55);
    assert_true(below_half > n * 45 / 100 && below_half < n * 55 / 100);
    assert_true(lo < 0.01);
    assert_true(hi > 0.99);
}

/* ---- eb_backoff_t ---------------------------------------------------------- */

static void backoff_doubles_to_cap(void **state)
{
    /* The consumer's infrastructure wait: 250 ms doubling to 5 s. */
    static const int64_t want[] = {250, 500, 1000, 2000, 4000, 5000, 5000, 5000};
    eb_backoff_t b;

    eb_backoff_init(&b, 250, 5000, 0);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        assert_int_equal(eb_backoff_attempts(&b), (int)i);
        assert_int_equal(eb_backoff_peek(&b), want[i]);
        assert_int_equal(eb_backoff_next(&b), want[i]);
    }
    for (int i = 0; i < 100000; i++)
        assert_int_equal(eb_backoff_next(&b), 5000);
}

static void backoff_peek_does_not_count(void **state)
{
    eb_backoff_t b;

    eb_backoff_init(&b, 250, 8000, 0);
    assert_int_equal(eb_backoff_next(&b), 250);
    assert_int_equal(eb_backoff_peek(&b), 500);
    assert_int_equal(eb_backoff_peek(&b), 500);
    assert_int_equal(eb_backoff_attempts(&b), 1);
    assert_int_equal(eb_backoff_next(&b), 500);
}

static void backoff_reset_starts_over(void **state)
{
    eb_backoff_t b;

    eb_backoff_init(&b, 200, 10000, 0);
    for (int i = 0; i < 10; i++)
        (void)eb_backoff_next(&b);
    assert_int_equal(eb_backoff_peek(&b), 10000);
    eb_backoff_reset(&b);
    assert_int_equal(eb_backoff_attempts(&b), 0);
    assert_int_equal(eb_backoff_next(&b), 200);
    assert_int_equal(eb_backoff_next(&b), 400);
}

static void backoff_same_as_ceiling(void **state)
{
    /* Without jitter the n-th wait is eb__backoff_ceiling(n). */
    static const int64_t bases[] = {1, 200, 2500, 600000};
    eb_backoff_t b;

    for (size_t k = 0; k < sizeof(bases) / sizeof(bases[0]); k++) {
        eb_backoff_init(&b, bases[k], 10000, 0);
        for (int n = 1; n <= 40; n++)
            assert_int_equal(eb_backoff_next(&b), eb__backoff_ceiling(n, bases[k], 10000));
    }
}

static void backoff_jitter_within_ceiling(void **state)
{
    eb_backoff_t b;
    int64_t top[8] = {0};

    /* RETRY_BACKOFF_MS's default: 200 ms, capped at 10 s. */
    for (int round = 0; round < 2000; round++) {
        eb_backoff_init(&b, 200, 10000, 1);
        for (int n = 1; n <= 8; n++) {
            int64_t c = eb__backoff_ceiling(n, 200, 10000), d = eb_backoff_next(&b);

            if (d < 0 || d > c)
                fail_msg("attempt %d: wait %lld outside [0, %lld]", n, (long long)d, (long long)c);
            top[n - 1] = d > top[n - 1] ? d : top[n - 1];
        }
    }
    /* 2000 uniform draws each: the largest lies near the ceiling. */
    for (int n = 1; n <= 8; n++)
        assert_true(top[n - 1] > eb__backoff_ceiling(n, 200, 10000) * 9 / 10);
}

static void backoff_odd_settings(void **state)
{
    eb_backoff_t b;

    /* A base above the cap waits the cap. */
    eb_backoff_init(&b, 20000, 10000, 0);
    assert_int_equal(eb_backoff_next(&b), 10000);
    /* A zero base never waits, and does not spin. */
    eb_backoff_init(&b, 0, 10000, 0);
    b.attempts = 2000000000;
    assert_int_equal(eb_backoff_next(&b), 0);
    /* Negative settings count as zero. */
    eb_backoff_init(&b, -5, -1, 1);
    assert_int_equal(eb_backoff_next(&b), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ceiling_doubles_to_cap),
        cmocka_unit_test(ceiling_edge_cases),
        cmocka_unit_test(delay_bounds),
        cmocka_unit_test(delay_midpoints),
        cmocka_unit_test(delay_never_above_cap),
        cmocka_unit_test(random_unit_range),
        cmocka_unit_test(backoff_doubles_to_cap),
        cmocka_unit_test(backoff_peek_does_not_count),
        cmocka_unit_test(backoff_reset_starts_over),
        cmocka_unit_test(backoff_same_as_ceiling),
        cmocka_unit_test(backoff_jitter_within_ceiling),
        cmocka_unit_test(backoff_odd_settings),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
