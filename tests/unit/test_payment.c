/*
 * Unit tests for services/payment/payment.c: the payment decision against
 * PAYMENT_LIMIT, and the refund of a processed payment (its data and its
 * event, derived from the payment event whatever caused the refund).
 */
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#include "payment/payment.h"

#define CAUSE_ID      "11111111-2222-4333-8444-555555555555"
#define PAYMENT_ID_V5 "1bb5d72f-c722-5f90-90b2-64224b7ce60f"
/* UUID v5 of "<CAUSE_ID>\nPaymentProcessed", then of "<that>\nPaymentRefunded"
 * (Python uuid.uuid5, the namespace below). */
#define PROCESSED_ID_V5 "1e9cb20c-fc55-5cfd-814e-42a83457f4b3"
#define REFUND_ID_V5    "fafbfdc7-2f8c-540b-9e66-1e8419d86567"
#define CAUSE_TIME      "2026-11-21T10:30:00.123Z"
#define CORRELATION_ID  "99999999-2222-4333-8444-555555555555"

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
        /* payment_decide leaves the items past item_count as they were;
         * the parse clears them. */
        memset(&p, 0, sizeof(p));
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

static void refund_copies_the_payment(void **state)
{
    svc_payment_t p;
    svc_refund_t r;

    payment_decide(order, 1000000, CAUSE_ID, &p);
    memset(&r, 0x55, sizeof(r));
    payment_refund(&p, REASON_CANCELLED, &r);
    assert_string_equal(r.order_id, "o-1");
    assert_string_equal(r.payment_id, PAYMENT_ID_V5);
    assert_string_equal(r.user_id, "u-1");
    assert_int_equal(r.amount, 1000000);
    assert_string_equal(r.currency, "EUR");
    assert_string_equal(r.reason, "cancelled");

    /* A payment event without userId (an earlier version): none in the
     * refund either. */
    p.user_id[0] = '\0';
    payment_refund(&p, REASON_OUT_OF_STOCK, &r);
    assert_string_equal(r.user_id, "");
    assert_string_equal(r.reason, "out of stock");
    assert_string_equal(r.payment_id, PAYMENT_ID_V5);
}

/* The stored PaymentProcessed (or PaymentFailed) event for order, as
 * payment-service publishes it: derived from an OrderCreated CAUSE_ID. */
static char *decision_bytes(int64_t limit, size_t *len)
{
    eb_event_t created, ev;
    svc_payment_t p;
    char *value;

    memset(&created, 0, sizeof(created));
    strcpy(created.id, CAUSE_ID);
    strcpy(created.type, TYPE_ORDER_CREATED);
    strcpy(created.time, CAUSE_TIME);
    strcpy(created.correlationid, CORRELATION_ID);
    payment_decide(order, limit, CAUSE_ID, &p);
    assert_int_equal(eb_event_derive(&ev, p.failed ? TYPE_PAYMENT_FAILED : TYPE_PAYMENT_PROCESSED,
                                     SOURCE_PAYMENT_SERVICE, p.order_id, &created,
                                     svc_payment_json(&p)),
                     EB_OK);
    value = eb_event_encode(&ev, len);
    assert_non_null(value);
    eb_event_close(&ev);
    return value;
}

static void decode_refund(const char *value, size_t len, eb_event_t *ev, svc_refund_t *r)
{
    char err[256] = "";

    if (eb_event_decode(value, len, ev, err, sizeof(err)) != EB_OK)
        fail_msg("refund event does not decode: %s: %s", value, err);
    if (svc_refund_parse(ev->data, r, err, sizeof(err)) != EB_OK)
        fail_msg("refund data does not parse: %s: %s", value, err);
}

/* A cancel and an out-of-stock answer for the same order make the same
 * refund event (id, time, correlation): derived from the payment event. */
static void refund_event_is_the_same_for_both_causes(void **state)
{
    char err[256] = "", derived[EB_UUID_LEN + 1];
    char *processed, *cancel = NULL, *stock = NULL, *again = NULL;
    size_t plen, clen = 0, slen = 0, alen = 0;
    eb_event_t ce, se;
    svc_refund_t cr, sr;

    processed = decision_bytes(1000000, &plen);
    assert_int_equal(
        payment_refund_event(processed, plen, REASON_CANCELLED, &cancel, &clen, err, sizeof(err)),
        EB_OK);
    assert_int_equal(
        payment_refund_event(processed, plen, REASON_OUT_OF_STOCK, &stock, &slen, err, sizeof(err)),
        EB_OK);
    assert_int_equal(
        payment_refund_event(processed, plen, REASON_CANCELLED, &again, &alen, err, sizeof(err)),
        EB_OK);
    /* The same cause: the same bytes. */
    assert_int_equal(alen, clen);
    assert_memory_equal(again, cancel, clen);

    decode_refund(cancel, clen, &ce, &cr);
    decode_refund(stock, slen, &se, &sr);
    assert_string_equal(ce.id, se.id);
    eb_uuid_derive(PROCESSED_ID_V5, TYPE_PAYMENT_REFUNDED, derived);
    assert_string_equal(ce.id, derived);
    assert_string_equal(ce.id, REFUND_ID_V5);
    for (eb_event_t *e = &ce; e; e = e == &ce ? &se : NULL) {
        assert_string_equal(e->type, "PaymentRefunded");
        assert_string_equal(e->source, "/payment-service");
        assert_string_equal(e->subject, "o-1");
        assert_string_equal(e->time, CAUSE_TIME);
        assert_string_equal(e->correlationid, CORRELATION_ID);
        assert_string_equal(e->causationid, PROCESSED_ID_V5); /* the payment event */
    }
    assert_string_equal(cr.reason, "cancelled");
    assert_string_equal(sr.reason, "out of stock");
    assert_string_equal(cr.payment_id, PAYMENT_ID_V5);
    assert_string_equal(sr.payment_id, PAYMENT_ID_V5);
    assert_string_equal(cr.user_id, "u-1");
    assert_int_equal(cr.amount, 1000000);
    assert_string_equal(cr.currency, "EUR");

    eb_event_close(&ce);
    eb_event_close(&se);
    free(again);
    free(stock);
    free(cancel);
    free(processed);
}

/* Only a processed payment can be refunded: a PaymentFailed, the
 * tombstone or garbage is refused. */
static void refund_event_needs_a_processed_payment(void **state)
{
    static const char tombstone[] = PAYMENT_TOMBSTONE;
    char err[256];
    char *failed, *out = (char *)"untouched";
    size_t len, out_len = 7;

    failed = decision_bytes(0, &len);
    assert_contains(failed, "\"PaymentFailed\"");
    err[0] = '\0';
    assert_int_equal(
        payment_refund_event(failed, len, REASON_CANCELLED, &out, &out_len, err, sizeof(err)),
        EB_ERR_INVALID);
    assert_null(out);
    assert_contains(err, "PaymentFailed");
    free(failed);

    err[0] = '\0';
    assert_int_equal(payment_refund_event(tombstone, strlen(tombstone), REASON_CANCELLED, &out,
                                          &out_len, err, sizeof(err)),
                     EB_ERR_INVALID);
    assert_null(out);
    assert_true(err[0] != '\0');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(at_limit_is_processed, setup, teardown),
        cmocka_unit_test_setup_teardown(below_limit_is_processed, setup, teardown),
        cmocka_unit_test_setup_teardown(above_limit_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(payment_ids_are_derived_from_the_event, setup, teardown),
        cmocka_unit_test_setup_teardown(decision_survives_the_wire, setup, teardown),
        cmocka_unit_test_setup_teardown(refund_copies_the_payment, setup, teardown),
        cmocka_unit_test_setup_teardown(refund_event_is_the_same_for_both_causes, setup, teardown),
        cmocka_unit_test_setup_teardown(refund_event_needs_a_processed_payment, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
