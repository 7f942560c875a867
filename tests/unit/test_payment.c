/*
 * Unit tests for services/payment/payment.c: the payment decision against
 * PAYMENT_LIMIT.
 */
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#include "payment/payment.h"

#define CAUSE_ID      "11111111-2222-4333-8444-555555555555"
#define PAYMENT_ID_V5 "1bb5d72f-c722-5f90-90b2-64224b7ce60f"

static svc_order_t *order;

static int setup(void **state)
{
    order = calloc(1, sizeof(*order));
    if (!order)
        return -1;
    strcpy(order->order_id, "o-1");
    strcpy(order->user_id, "u-1");
    strcpy(order->currency, "EUR");
    order->item_count = 1;
    strcpy(order->items[0].product_id, "p1");
    order->items[0].quantity = 1;
    order->items[0].price = 1000000;
    order->total = 1000000; /* 10000.00 */
    return 0;
}

static int teardown(void **state)
{
    free(order);
    order = NULL;
    return 0;
}

static void assert_copied(const svc_payment_t *p, int64_t amount)
{
    assert_string_equal(p->order_id, "o-1");
    assert_string_equal(p->user_id, "u-1");
    assert_string_equal(p->currency, "EUR");
    assert_int_equal(p->amount, amount);
}

static void at_limit_is_processed(void **state)
{
    svc_payment_t p;

    memset(&p, 0x55, sizeof(p));
    payment_decide(order, 1000000, CAUSE_ID, &p);
    assert_int_equal(p.failed, 0);
    assert_true(is_uuid(p.payment_id, '5'));
    assert_string_equal(p.reason, "");
    assert_copied(&p, 1000000);
}

static void below_limit_is_processed(void **state)
{
    svc_payment_t p;

    order->total = 999999;
    payment_decide(order, 1000000, CAUSE_ID, &p);
    assert_int_equal(p.failed, 0);
    assert_true(is_uuid(p.payment_id, '5'));
    assert_string_equal(p.reason, "");
    assert_copied(&p, 999999);

    order->total = 0;
    payment_decide(order, 0, CAUSE_ID, &p);
    assert_int_equal(p.failed, 0);
    assert_true(is_uuid(p.payment_id, '5'));
    assert_copied(&p, 0);
}

static void above_limit_fails(void **state)
{
    svc_payment_t p;

    memset(&p, 0x55, sizeof(p));
    order->total = 1000001;
    payment_decide(order, 1000000, CAUSE_ID, &p);
    assert_int_equal(p.failed, 1);
    assert_string_equal(p.payment_id, "");
    assert_string_equal(p.reason, "amount exceeds limit");
    assert_string_equal(p.reason, PAYMENT_REASON_LIMIT);
    assert_copied(&p, 1000001);

    order->total = 1;
    payment_decide(order, 0, CAUSE_ID, &p);
    assert_int_equal(p.failed, 1);
    assert_string_equal(p.payment_id, "");
    assert_copied(&p, 1);
}

/* The payment id is derived from the OrderCreated event: the same event,
 * the same id (a decision taken again is the same decision); another
 * event, another id. */
static void payment_ids_are_derived_from_the_event(void **state)
{
    svc_payment_t a, b, c;

    payment_decide(order, 1000000, CAUSE_ID, &a);
    payment_decide(order, 1000000, CAUSE_ID, &b);
    payment_decide(order, 1000000, "aaaaaaaa-2222-4333-8444-555555555555", &c);
    assert_string_equal(a.payment_id, b.payment_id);
    assert_string_not_equal(a.payment_id, c.payment_id);
    /* UUID v5 of "<cause id>\npaymentId" in the namespace
     * 3f8a5c1e-27d4-4b90-a613-5e0c9b712d48, computed independently
     * (Python uuid.uuid5). */
    assert_string_equal(a.payment_id, PAYMENT_ID_V5);
}

static void decision_survives_the_wire(void **state)
{
    static const int64_t totals[] = {1000000, 1000001};

    for (size_t i = 0; i < 2; i++) {
        svc_payment_t p, back;
        char err[256] = "";
        cJSON *data, *parsed;
        char *text;

        order->total = totals[i];
        payment_decide(order, 1000000, CAUSE_ID, &p);
        data = svc_payment_json(&p);
        assert_non_null(data);
        text = cJSON_PrintUnformatted(data);
        parsed = cJSON_Parse(text);
        assert_non_null(parsed);
        if (svc_payment_parse(parsed, p.failed, &back, err, sizeof(err)) != EB_OK)
            fail_msg("decision does not parse back: %s: %s", text, err);
        assert_memory_equal(&back, &p, sizeof(p));
        cJSON_Delete(parsed);
        cJSON_free(text);
        cJSON_Delete(data);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(at_limit_is_processed, setup, teardown),
        cmocka_unit_test_setup_teardown(below_limit_is_processed, setup, teardown),
        cmocka_unit_test_setup_teardown(above_limit_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(payment_ids_are_derived_from_the_event, setup, teardown),
        cmocka_unit_test_setup_teardown(decision_survives_the_wire, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
