/*
 * Unit tests for services/order/lifecycle.c: the retention decisions
 * (docs/retention.md). The status machine's table is in test_order.c.
 */
#include "unit.h"

#include <stdint.h>

#include "order/lifecycle.h"

#define DAY_S  86400
#define NOW_MS INT64_C(1780000000000) /* 2026-05-28 */

/* Without a retention no record expires: a missing order is unknown,
 * whatever the event's age. */
static void no_retention_never_expired(void **state)
{
    (void)state;
    assert_int_equal(order_missing_expired(NOW_MS, NOW_MS, 0), 0);
    assert_int_equal(order_missing_expired(NOW_MS, 0, 0), 0);
    assert_int_equal(order_missing_expired(NOW_MS, NOW_MS - INT64_C(3650) * DAY_S * 1000, 0), 0);
    assert_int_equal(order_missing_expired(NOW_MS, 0, -1), 0);
}

/* The boundary: an event exactly the retention old may be late for an
 * expired order, one millisecond younger may not. */
static void boundary_at_the_retention(void **state)
{
    const int64_t r = 7 * DAY_S;

    (void)state;
    assert_int_equal(order_missing_expired(NOW_MS, NOW_MS - r * 1000, r), 1);
    assert_int_equal(order_missing_expired(NOW_MS, NOW_MS - r * 1000 + 1, r), 0);
    assert_int_equal(order_missing_expired(NOW_MS, NOW_MS - r * 1000 - 1, r), 1);
    assert_int_equal(order_missing_expired(NOW_MS, NOW_MS, r), 0);
    assert_int_equal(order_missing_expired(NOW_MS, NOW_MS - 999, 1), 0);
    assert_int_equal(order_missing_expired(NOW_MS, NOW_MS - 1000, 1), 1);
}

/* An event from the future (another host's clock ahead) is young. */
static void future_event_is_young(void **state)
{
    (void)state;
    assert_int_equal(order_missing_expired(NOW_MS, NOW_MS + 5000, 1), 0);
    assert_int_equal(order_missing_expired(NOW_MS, NOW_MS + INT64_C(3650) * DAY_S * 1000, 1), 0);
}

/* The extremes a CloudEvent time can carry (years 0001 to 9999) and the
 * largest ORDER_RETENTION_S do not overflow. */
static void extremes(void **state)
{
    const int64_t year1 = INT64_C(-62135596800000), year9999 = INT64_C(253402300799999);

    (void)state;
    assert_int_equal(order_missing_expired(NOW_MS, year1, 315360000), 1);
    assert_int_equal(order_missing_expired(year9999, year1, 315360000), 1);
    assert_int_equal(order_missing_expired(year1, year9999, 315360000), 0);
    assert_int_equal(order_missing_expired(NOW_MS, NOW_MS - 1000, 315360000), 0);
}

/* The retention starts at a terminal status, and only there: the statuses
 * the store gives a TTL are exactly the terminal ones. */
static void terminal_statuses(void **state)
{
    (void)state;
    for (int s = 0; s < ORDER_STATE_COUNT; s++)
        assert_int_equal(order_state_terminal((order_state_t)s),
                         s == ORDER_COMPLETED || s == ORDER_PAYMENT_FAILED ||
                             s == ORDER_CANCELLED_STOCK || s == ORDER_CANCELLED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_retention_never_expired), cmocka_unit_test(boundary_at_the_retention),
        cmocka_unit_test(future_event_is_young),      cmocka_unit_test(extremes),
        cmocka_unit_test(terminal_statuses),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
