/*
 * Unit tests for services/inventory/inventory.c: merging an order's items,
 * the PUT body, the stock document, and the derived events the Redis
 * scripts complete.
 */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inventory/inventory.h"

#define CAUSE_ID "11111111-2222-4333-8444-555555555555"

static svc_payment_t *pay;
static svc_stock_t *stock;

static int setup(void **state)
{
    (void)state;
    pay = calloc(1, sizeof(*pay));
    stock = calloc(1, sizeof(*stock));
    if (!pay || !stock)
        return -1;
    strcpy(pay->order_id, "o-1");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(pay);
    free(stock);
    return 0;
}

static void add_item(const char *product, int64_t quantity)
{
    strcpy(pay->items[pay->item_count].product_id, product);
    pay->items[pay->item_count++].quantity = quantity;
}

static void cause_event(eb_event_t *ev)
{
    memset(ev, 0, sizeof(*ev));
    strcpy(ev->id, CAUSE_ID);
    strcpy(ev->type, TYPE_PAYMENT_PROCESSED);
    strcpy(ev->source, SOURCE_PAYMENT_SERVICE);
    strcpy(ev->time, "2026-01-02T03:04:05.678Z");
    strcpy(ev->subject, "o-1");
    strcpy(ev->correlationid, "corr-1");
}

static void merge_sums_duplicates_in_first_appearance_order(void **state)
{
    char errstr[128];

    (void)state;
    add_item("b", 2);
    add_item("a", 1);
    add_item("b", 3);
    add_item("c", 10000);
    add_item("a", 4);
    assert_int_equal(inventory_merge(pay, stock, errstr, sizeof(errstr)), EB_OK);
    assert_string_equal(stock->order_id, "o-1");
    assert_int_equal(stock->insufficient, 0);
    assert_int_equal(stock->item_count, 3);
    assert_string_equal(stock->items[0].product_id, "b");
    assert_int_equal(stock->items[0].quantity, 5);
    assert_string_equal(stock->items[1].product_id, "a");
    assert_int_equal(stock->items[1].quantity, 5);
    assert_string_equal(stock->items[2].product_id, "c");
    assert_int_equal(stock->items[2].quantity, 10000);
}

static void merge_of_a_full_order_of_one_product(void **state)
{
    char errstr[128];

    (void)state;
    for (int i = 0; i < SVC_MAX_ITEMS; i++)
        add_item("p", SVC_MAX_QUANTITY);
    assert_int_equal(inventory_merge(pay, stock, errstr, sizeof(errstr)), EB_OK);
    assert_int_equal(stock->item_count, 1);
    assert_int_equal(stock->items[0].quantity, (int64_t)SVC_MAX_ITEMS * SVC_MAX_QUANTITY);
}

static void merge_rejects_no_items_and_order_keys(void **state)
{
    char errstr[128];

    (void)state;
    assert_int_equal(inventory_merge(pay, stock, errstr, sizeof(errstr)), EB_ERR_INVALID);
    assert_contains(errstr, "no items");
    add_item("a", 1);
    add_item("order:o-2", 1);
    assert_int_equal(inventory_merge(pay, stock, errstr, sizeof(errstr)), EB_ERR_INVALID);
    assert_contains(errstr, "items[1].productId");
    /* "order" alone, or elsewhere in the id, names no order key. */
    pay->item_count = 0;
    add_item("order", 1);
    add_item("x-order:1", 1);
    assert_int_equal(inventory_merge(pay, stock, errstr, sizeof(errstr)), EB_OK);
}

static void put(const char *body, eb_err_t want, const char *code, const char *field,
                int64_t available)
{
    svc_verr_t v;
    int64_t got = -7;

    assert_int_equal(inventory_parse_put(body, strlen(body), &got, &v), want);
    if (want == EB_OK) {
        assert_int_equal(got, available);
        return;
    }
    assert_string_equal(v.code, code);
    assert_string_equal(v.field, field);
    assert_int_equal(got, -7);
}

static void put_body(void **state)
{
    (void)state;
    put("{\"available\":0}", EB_OK, NULL, NULL, 0);
    put("{\"available\":17,\"other\":1}", EB_OK, NULL, NULL, 17);
    put("{\"available\":4503599627370496}", EB_OK, NULL, NULL, INVENTORY_MAX_STOCK);
    put("{\"available\":4503599627370497}", EB_ERR_INVALID, "INVALID_FIELD", "available", 0);
    put("{\"available\":-1}", EB_ERR_INVALID, "INVALID_FIELD", "available", 0);
    put("{\"available\":1.5}", EB_ERR_INVALID, "INVALID_FIELD", "available", 0);
    put("{\"available\":\"5\"}", EB_ERR_INVALID, "INVALID_FIELD", "available", 0);
    put("{\"available\":null}", EB_ERR_INVALID, "INVALID_FIELD", "available", 0);
    put("{\"available\":1e300}", EB_ERR_INVALID, "INVALID_FIELD", "available", 0);
    put("{}", EB_ERR_INVALID, "MISSING_FIELD", "available", 0);
    put("{\"Available\":1}", EB_ERR_INVALID, "MISSING_FIELD", "available", 0);
    put("[1]", EB_ERR_INVALID, "INVALID_JSON", "", 0);
    put("5", EB_ERR_INVALID, "INVALID_JSON", "", 0);
    put("{\"available\":", EB_ERR_INVALID, "INVALID_JSON", "", 0);
    put("", EB_ERR_INVALID, "INVALID_JSON", "", 0);
}

static void render_and_counters(void **state)
{
    inventory_stock_t s = {"p-1", INVENTORY_MAX_STOCK, 3, 0};
    size_t len;
    char *out;

    (void)state;
    out = inventory_render(&s, &len);
    assert_non_null(out);
    assert_string_equal(out, "{\"productId\":\"p-1\",\"available\":4503599627370496,"
                             "\"reserved\":3,\"shipped\":0}");
    assert_int_equal(len, strlen(out));
    cJSON_free(out);

    assert_int_equal(inventory_counter(NULL, 9), 9);
    assert_int_equal(inventory_counter("", 9), 9);
    assert_int_equal(inventory_counter("0", 9), 0);
    assert_int_equal(inventory_counter("4503599627370496", 9), INVENTORY_MAX_STOCK);
    assert_int_equal(inventory_counter("12x", 9), -1);
    assert_int_equal(inventory_counter("99999999999999999999", 9), -1);
}

static void cut_finds_the_one_empty_item_list(void **state)
{
    char doc[] = "{\"id\":\"x\",\"data\":{\"orderId\":\"o\",\"items\":[]}}";
    char two[] = "{\"items\":[],\"data\":{\"items\":[]}}";
    inventory_event_t e = {doc, sizeof(doc) - 1, 0, NULL, 0};

    (void)state;
    assert_int_equal(inventory_event_cut(&e), EB_OK);
    assert_int_equal(e.head_len, strlen("{\"id\":\"x\",\"data\":{\"orderId\":\"o\",\"items\":"));
    assert_string_equal(e.tail, "}}");
    assert_int_equal(e.tail_len, 2);
    e.json = two;
    e.len = sizeof(two) - 1;
    assert_int_equal(inventory_event_cut(&e), EB_ERR_INVALID);
    e.json = doc;
    e.len = 5;
    doc[5] = '\0'; /* no items at all */
    assert_int_equal(inventory_event_cut(&e), EB_ERR_INVALID);
}

/* What a script writes: head + items + tail. */
static char *complete(const inventory_event_t *e, const char *items)
{
    size_t n = strlen(items);
    char *out = malloc(e->head_len + n + e->tail_len + 1);

    assert_non_null(out);
    memcpy(out, e->json, e->head_len);
    memcpy(out + e->head_len, items, n);
    memcpy(out + e->head_len + n, e->tail, e->tail_len);
    out[e->head_len + n + e->tail_len] = '\0';
    return out;
}

static void insufficient_template_completed_as_the_script_does(void **state)
{
    /* A productId that needs escaping, and one with "items":[] inside. */
    const char *pids[] = {"p\"1\\", "q\"items\":[]"};
    eb_event_t cause, ev;
    inventory_event_t e, again;
    svc_stock_t *got = stock;
    char errstr[128], items[1024], *frag0, *frag1, *full;

    (void)state;
    cause_event(&cause);
    strcpy(cause.subject, pids[1]); /* also an order id with "items":[] in it */
    assert_int_equal(
        inventory_event_prepare(&e, &cause, TYPE_INVENTORY_INSUFFICIENT, pids[1], NULL), EB_OK);
    /* Derived: the same cause, the same bytes. */
    assert_int_equal(
        inventory_event_prepare(&again, &cause, TYPE_INVENTORY_INSUFFICIENT, pids[1], NULL), EB_OK);
    assert_int_equal(e.len, again.len);
    assert_memory_equal(e.json, again.json, e.len);
    inventory_event_close(&again);

    frag0 = inventory_json_string(pids[0]);
    frag1 = inventory_json_string(pids[1]);
    snprintf(items, sizeof(items),
             "[{\"productId\":%s,\"requested\":%d,\"available\":%s},"
             "{\"productId\":%s,\"requested\":%d,\"available\":%s}]",
             frag0, 3, "2", frag1, 1000000, "4503599627370496");
    full = complete(&e, items);
    assert_int_equal(eb_event_decode(full, strlen(full), &ev, errstr, sizeof(errstr)), EB_OK);
    assert_string_equal(ev.type, TYPE_INVENTORY_INSUFFICIENT);
    assert_string_equal(ev.source, SOURCE_INVENTORY_SERVICE);
    assert_string_equal(ev.causationid, CAUSE_ID);
    assert_string_equal(ev.correlationid, "corr-1");
    assert_string_equal(ev.time, cause.time);
    assert_true(is_uuid(ev.id, '5'));
    assert_int_equal(svc_stock_parse(ev.data, 1, got, errstr, sizeof(errstr)), EB_OK);
    assert_string_equal(got->order_id, pids[1]);
    assert_int_equal(got->item_count, 2);
    assert_string_equal(got->items[0].product_id, pids[0]);
    assert_int_equal(got->items[0].requested, 3);
    assert_int_equal(got->items[0].available, 2);
    assert_string_equal(got->items[1].product_id, pids[1]);
    assert_int_equal(got->items[1].requested, 1000000);
    assert_int_equal(got->items[1].available, INVENTORY_MAX_STOCK);
    eb_event_close(&ev);
    free(full);
    cJSON_free(frag0);
    cJSON_free(frag1);
    inventory_event_close(&e);
}

static void released_template_completed_with_the_reserved_items(void **state)
{
    eb_event_t cause, ev, rev;
    inventory_event_t reserved, released;
    char errstr[128], *items, *full;
    svc_stock_t *got = calloc(1, sizeof(*got));

    (void)state;
    assert_non_null(got);
    add_item("a", 2);
    add_item("b", 1);
    add_item("a", 1);
    assert_int_equal(inventory_merge(pay, stock, errstr, sizeof(errstr)), EB_OK);
    cause_event(&cause);

    /* InventoryReserved: complete, from the merged items. */
    assert_int_equal(
        inventory_event_prepare(&reserved, &cause, TYPE_INVENTORY_RESERVED, "o-1", stock), EB_OK);
    assert_int_equal(eb_event_decode(reserved.json, reserved.len, &rev, errstr, sizeof(errstr)),
                     EB_OK);
    assert_string_equal(rev.type, TYPE_INVENTORY_RESERVED);
    assert_string_equal(rev.subject, "o-1");
    assert_int_equal(svc_stock_parse(rev.data, 0, got, errstr, sizeof(errstr)), EB_OK);
    assert_int_equal(got->item_count, 2);
    assert_int_equal(got->items[0].quantity, 3);

    /* InventoryReleased: what the order holds is the reserved items array. */
    items = inventory_items_json(stock);
    assert_string_equal(items, "[{\"productId\":\"a\",\"quantity\":3},"
                               "{\"productId\":\"b\",\"quantity\":1}]");
    strcpy(cause.type, TYPE_ORDER_CANCELLED);
    assert_int_equal(
        inventory_event_prepare(&released, &cause, TYPE_INVENTORY_RELEASED, "o-1", NULL), EB_OK);
    full = complete(&released, items);
    assert_int_equal(eb_event_decode(full, strlen(full), &ev, errstr, sizeof(errstr)), EB_OK);
    assert_string_equal(ev.type, TYPE_INVENTORY_RELEASED);
    assert_string_not_equal(ev.id, rev.id);
    assert_int_equal(svc_stock_parse(ev.data, 0, got, errstr, sizeof(errstr)), EB_OK);
    assert_int_equal(got->item_count, 2);
    assert_string_equal(got->items[1].product_id, "b");
    assert_int_equal(got->items[1].quantity, 1);

    eb_event_close(&ev);
    eb_event_close(&rev);
    free(full);
    cJSON_free(items);
    inventory_event_close(&reserved);
    inventory_event_close(&released);
    free(got);
}

static void prepare_needs_a_cause(void **state)
{
    eb_event_t none;
    inventory_event_t e;

    (void)state;
    memset(&none, 0, sizeof(none));
    assert_int_equal(inventory_event_prepare(&e, &none, TYPE_INVENTORY_RELEASED, "o-1", NULL),
                     EB_ERR_INVALID);
    assert_null(e.json);
    inventory_event_close(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(merge_sums_duplicates_in_first_appearance_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(merge_of_a_full_order_of_one_product, setup, teardown),
        cmocka_unit_test_setup_teardown(merge_rejects_no_items_and_order_keys, setup, teardown),
        cmocka_unit_test(put_body),
        cmocka_unit_test(render_and_counters),
        cmocka_unit_test(cut_finds_the_one_empty_item_list),
        cmocka_unit_test_setup_teardown(insufficient_template_completed_as_the_script_does, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(released_template_completed_with_the_reserved_items, setup,
                                        teardown),
        cmocka_unit_test(prepare_needs_a_cause),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
