/*
 * Unit tests for services/common/domain.c: the order rules in request and
 * event mode (error code and field path for every rule), the items JSON and
 * the payment shapes.
 */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/domain.h"

/* svc_order_t holds 100 items: one per test, off the stack. */
static svc_order_t *order;

static int setup(void **state)
{
    order = malloc(sizeof(*order));
    return order ? 0 : -1;
}

static int teardown(void **state)
{
    free(order);
    order = NULL;
    return 0;
}

#define ITEM  "{\"productId\":\"p1\",\"quantity\":1,\"price\":10}"
#define ITEMS "[" ITEM "]"

static eb_err_t parse_json(const char *json, svc_order_mode_t mode, svc_verr_t *v)
{
    cJSON *obj = cJSON_Parse(json);
    eb_err_t err;

    if (!obj)
        fail_msg("test JSON does not parse: %s", json);
    memset(v, 0, sizeof(*v));
    err = svc_order_parse(obj, mode, order, v);
    cJSON_Delete(obj);
    return err;
}

/* Asserts that json is rejected with code and field. */
static void reject_at(const char *json, svc_order_mode_t mode, const char *code, const char *field,
                      int line)
{
    svc_verr_t v;

    if (parse_json(json, mode, &v) != EB_ERR_INVALID)
        fail_msg("line %d: accepted %s", line, json);
    if (!v.code || strcmp(v.code, code) != 0 || strcmp(v.field, field) != 0)
        fail_msg("line %d: %s\n  got %s at \"%s\" (%s), want %s at \"%s\"", line, json,
                 v.code ? v.code : "(null)", v.field, v.message, code, field);
    if (!v.message[0])
        fail_msg("line %d: no message", line);
}

static void accept(const char *json, svc_order_mode_t mode, int line)
{
    svc_verr_t v;

    if (parse_json(json, mode, &v) != EB_OK)
        fail_msg("line %d: rejected %s: %s %s %s", line, json, v.code, v.field, v.message);
}

#define REJECT(json, code, field)    reject_at(json, SVC_ORDER_REQUEST, code, field, __LINE__)
#define REJECT_EV(json, code, field) reject_at(json, SVC_ORDER_EVENT, code, field, __LINE__)
#define ACCEPT(json)                 accept(json, SVC_ORDER_REQUEST, __LINE__)
#define ACCEPT_EV(json)              accept(json, SVC_ORDER_EVENT, __LINE__)

/* ---- request mode ---------------------------------------------------------- */

static void request_valid(void **state)
{
    ACCEPT("{\"userId\":\"u-1\",\"items\":[{\"productId\":\"p1\",\"quantity\":2,\"price\":10.25},"
           "{\"productId\":\"p2\",\"quantity\":3,\"price\":0.1}],\"currency\":\"EUR\"}");
    assert_string_equal(order->order_id, "");
    assert_string_equal(order->user_id, "u-1");
    assert_string_equal(order->currency, "EUR");
    assert_int_equal(order->item_count, 2);
    assert_string_equal(order->items[0].product_id, "p1");
    assert_int_equal(order->items[0].quantity, 2);
    assert_int_equal(order->items[0].price, 1025);
    assert_string_equal(order->items[1].product_id, "p2");
    assert_int_equal(order->items[1].quantity, 3);
    assert_int_equal(order->items[1].price, 10);
    /* 2 * 10.25 + 3 * 0.10 = 20.80 */
    assert_int_equal(order->total, 2080);
}

static void request_not_object(void **state)
{
    svc_verr_t v;

    REJECT("[]", "INVALID_JSON", "");
    REJECT("\"order\"", "INVALID_JSON", "");
    REJECT("42", "INVALID_JSON", "");
    REJECT("null", "INVALID_JSON", "");
    memset(&v, 0, sizeof(v));
    assert_int_equal(svc_order_parse(NULL, SVC_ORDER_REQUEST, order, &v), EB_ERR_INVALID);
    assert_string_equal(v.code, "INVALID_JSON");
    assert_string_equal(v.field, "");
}

static void request_user_id(void **state)
{
    char json[512], id[130];

    REJECT("{\"items\":" ITEMS "}", "MISSING_FIELD", "userId");
    REJECT("{\"userId\":7,\"items\":" ITEMS "}", "INVALID_FIELD", "userId");
    REJECT("{\"userId\":[\"u\"],\"items\":" ITEMS "}", "INVALID_FIELD", "userId");
    REJECT("{\"userId\":\"\",\"items\":" ITEMS "}", "INVALID_FIELD", "userId");
    /* Member names are case-sensitive. */
    REJECT("{\"userid\":\"u\",\"items\":" ITEMS "}", "MISSING_FIELD", "userId");

    memset(id, 'u', 128);
    id[128] = '\0';
    snprintf(json, sizeof(json), "{\"userId\":\"%s\",\"items\":" ITEMS "}", id);
    ACCEPT(json);
    assert_string_equal(order->user_id, id);
    strcat(id, "u"); /* 129 bytes */
    snprintf(json, sizeof(json), "{\"userId\":\"%s\",\"items\":" ITEMS "}", id);
    REJECT(json, "INVALID_FIELD", "userId");
    /* 128 bytes counted as bytes, not characters: 64 two-byte characters. */
    id[0] = '\0';
    for (int i = 0; i < 64; i++)
        strcat(id, "\xc3\xa9");
    snprintf(json, sizeof(json), "{\"userId\":\"%s\",\"items\":" ITEMS "}", id);
    ACCEPT(json);
    strcat(id, "u");
    snprintf(json, sizeof(json), "{\"userId\":\"%s\",\"items\":" ITEMS "}", id);
    REJECT(json, "INVALID_FIELD", "userId");
}

/* {"userId":"u","items":[ITEM x n]} in a malloc'd buffer. */
static char *order_with_items(int n)
{
    size_t size = 64 + (size_t)n * (sizeof(ITEM) + 1);
    char *json = malloc(size);

    assert_non_null(json);
    strcpy(json, "{\"userId\":\"u\",\"items\":[");
    for (int i = 0; i < n; i++) {
        if (i)
            strcat(json, ",");
        strcat(json, ITEM);
    }
    strcat(json, "]}");
    return json;
}

static void request_items(void **state)
{
    char *json;

    REJECT("{\"userId\":\"u\"}", "MISSING_FIELD", "items");
    REJECT("{\"userId\":\"u\",\"items\":{}}", "INVALID_FIELD", "items");
    REJECT("{\"userId\":\"u\",\"items\":\"p1\"}", "INVALID_FIELD", "items");
    REJECT("{\"userId\":\"u\",\"items\":" ITEM "}", "INVALID_FIELD", "items");
    REJECT("{\"userId\":\"u\",\"items\":[]}", "INVALID_FIELD", "items");
    REJECT("{\"userId\":\"u\",\"items\":[1]}", "INVALID_FIELD", "items[0]");
    REJECT("{\"userId\":\"u\",\"items\":[" ITEM ",\"p2\"]}", "INVALID_FIELD", "items[1]");
    REJECT("{\"userId\":\"u\",\"items\":[" ITEM ",[]]}", "INVALID_FIELD", "items[1]");

    json = order_with_items(100);
    ACCEPT(json);
    assert_int_equal(order->item_count, 100);
    assert_int_equal(order->total, 100000); /* 100 * 1 * 10.00 */
    free(json);
    json = order_with_items(101);
    REJECT(json, "INVALID_FIELD", "items");
    free(json);
}

static void request_product_id(void **state)
{
    char json[512], id[130];

    REJECT("{\"userId\":\"u\",\"items\":[{\"quantity\":1,\"price\":1}]}", "MISSING_FIELD",
           "items[0].productId");
    REJECT("{\"userId\":\"u\",\"items\":[{\"productId\":\"\",\"quantity\":1,\"price\":1}]}",
           "INVALID_FIELD", "items[0].productId");
    REJECT("{\"userId\":\"u\",\"items\":[{\"productId\":5,\"quantity\":1,\"price\":1}]}",
           "INVALID_FIELD", "items[0].productId");
    REJECT("{\"userId\":\"u\",\"items\":[" ITEM ",{\"quantity\":1,\"price\":1}]}", "MISSING_FIELD",
           "items[1].productId");
    memset(id, 'p', 129);
    id[129] = '\0';
    snprintf(json, sizeof(json),
             "{\"userId\":\"u\",\"items\":[{\"productId\":\"%s\",\"quantity\":1,\"price\":1}]}",
             id);
    REJECT(json, "INVALID_FIELD", "items[0].productId");
    id[128] = '\0';
    snprintf(json, sizeof(json),
             "{\"userId\":\"u\",\"items\":[{\"productId\":\"%s\",\"quantity\":1,\"price\":1}]}",
             id);
    ACCEPT(json);
    assert_string_equal(order->items[0].product_id, id);
}

#define QTY(q)                                                                                     \
    "{\"userId\":\"u\",\"items\":[" ITEM ",{\"productId\":\"p2\",\"quantity\":" q ",\"price\":2}]" \
    "}"

static void request_quantity(void **state)
{
    REJECT("{\"userId\":\"u\",\"items\":[" ITEM ",{\"productId\":\"p2\",\"price\":2}]}",
           "MISSING_FIELD", "items[1].quantity");
    REJECT(QTY("0"), "INVALID_FIELD", "items[1].quantity");
    REJECT(QTY("-1"), "INVALID_FIELD", "items[1].quantity");
    REJECT(QTY("10001"), "INVALID_FIELD", "items[1].quantity");
    REJECT(QTY("2.5"), "INVALID_FIELD", "items[1].quantity");
    REJECT(QTY("0.999"), "INVALID_FIELD", "items[1].quantity");
    REJECT(QTY("\"2\""), "INVALID_FIELD", "items[1].quantity");
    REJECT(QTY("true"), "INVALID_FIELD", "items[1].quantity");
    REJECT(QTY("1e5"), "INVALID_FIELD", "items[1].quantity");

    ACCEPT(QTY("1"));
    assert_int_equal(order->items[1].quantity, 1);
    assert_int_equal(order->total, 1000 + 200);
    ACCEPT(QTY("10000"));
    assert_int_equal(order->items[1].quantity, 10000);
    assert_int_equal(order->total, 1000 + 2000000);
    ACCEPT(QTY("2.0"));
    assert_int_equal(order->items[1].quantity, 2);
    ACCEPT(QTY("1e3"));
    assert_int_equal(order->items[1].quantity, 1000);
}

#define PRICE(p)                                                                                   \
    "{\"userId\":\"u\",\"items\":[{\"productId\":\"p1\",\"quantity\":3,\"price\":" p "}]}"

static void request_price(void **state)
{
    REJECT("{\"userId\":\"u\",\"items\":[{\"productId\":\"p1\",\"quantity\":1}]}", "MISSING_FIELD",
           "items[0].price");
    REJECT(PRICE("-1"), "INVALID_FIELD", "items[0].price");
    REJECT(PRICE("-0.01"), "INVALID_FIELD", "items[0].price");
    REJECT(PRICE("1.005"), "INVALID_FIELD", "items[0].price");
    REJECT(PRICE("10.999"), "INVALID_FIELD", "items[0].price");
    REJECT(PRICE("\"10.00\""), "INVALID_FIELD", "items[0].price");
    REJECT(PRICE("1e12"), "INVALID_FIELD", "items[0].price");
    REJECT("{\"userId\":\"u\",\"items\":[" ITEM ",{\"productId\":\"p2\",\"quantity\":1,"
           "\"price\":0.001}]}",
           "INVALID_FIELD", "items[1].price");

    ACCEPT(PRICE("0"));
    assert_int_equal(order->items[0].price, 0);
    assert_int_equal(order->total, 0);
    ACCEPT(PRICE("50.5"));
    assert_int_equal(order->items[0].price, 5050);
    assert_int_equal(order->total, 15150);
    ACCEPT(PRICE("0.29"));
    assert_int_equal(order->items[0].price, 29);
    assert_int_equal(order->total, 87);
}

static void request_total_limit(void **state)
{
    /* 10000 * 10,000,000.00 = 100,000,000,000.00: exactly EB_MONEY_MAX. */
    ACCEPT("{\"userId\":\"u\",\"items\":[{\"productId\":\"p\",\"quantity\":10000,"
           "\"price\":10000000}]}");
    assert_int_equal(order->total, INT64_C(10000000000000));
    /* One more cent in a second item is over. */
    REJECT("{\"userId\":\"u\",\"items\":[{\"productId\":\"p\",\"quantity\":10000,"
           "\"price\":10000000},{\"productId\":\"q\",\"quantity\":1,\"price\":0.01}]}",
           "INVALID_FIELD", "items");
    REJECT("{\"userId\":\"u\",\"items\":[{\"productId\":\"p\",\"quantity\":10000,"
           "\"price\":1000000000}]}",
           "INVALID_FIELD", "items");
}

#define CUR(c) "{\"userId\":\"u\",\"items\":" ITEMS ",\"currency\":" c "}"

static void request_currency(void **state)
{
    ACCEPT("{\"userId\":\"u\",\"items\":" ITEMS "}");
    assert_string_equal(order->currency, "USD");
    ACCEPT(CUR("\"EUR\""));
    assert_string_equal(order->currency, "EUR");
    ACCEPT(CUR("\"JPY\""));
    assert_string_equal(order->currency, "JPY");

    REJECT(CUR("\"usd\""), "INVALID_FIELD", "currency");
    REJECT(CUR("\"Usd\""), "INVALID_FIELD", "currency");
    REJECT(CUR("\"USDX\""), "INVALID_FIELD", "currency");
    REJECT(CUR("\"US\""), "INVALID_FIELD", "currency");
    REJECT(CUR("\"\""), "INVALID_FIELD", "currency");
    REJECT(CUR("\"U1D\""), "INVALID_FIELD", "currency");
    REJECT(CUR("\"US \""), "INVALID_FIELD", "currency");
    REJECT(CUR("840"), "INVALID_FIELD", "currency");
}

static void request_rule_order(void **state)
{
    /* The first violation in document-independent rule order wins. */
    REJECT("{}", "MISSING_FIELD", "userId");
    REJECT("{\"currency\":\"usd\",\"items\":[],\"userId\":\"\"}", "INVALID_FIELD", "userId");
    REJECT("{\"userId\":\"u\",\"currency\":\"usd\",\"items\":[]}", "INVALID_FIELD", "items");
    REJECT("{\"userId\":\"u\",\"items\":[{\"price\":-1,\"quantity\":0}]}", "MISSING_FIELD",
           "items[0].productId");
    REJECT("{\"userId\":\"u\",\"items\":[{\"productId\":\"p\",\"price\":-1,\"quantity\":0}]}",
           "INVALID_FIELD", "items[0].quantity");
}

static void request_ignores_event_fields(void **state)
{
    /* A request's orderId and total are not the client's to choose. */
    ACCEPT("{\"orderId\":\"mine\",\"userId\":\"u\",\"items\":" ITEMS ",\"total\":999}");
    assert_string_equal(order->order_id, "");
    assert_int_equal(order->total, 1000);
}

/* ---- event mode ---------------------------------------------------------- */

#define EV_ITEMS "\"items\":[{\"productId\":\"p1\",\"quantity\":2,\"price\":10.25}]"

static void event_valid(void **state)
{
    ACCEPT_EV("{\"orderId\":\"o-1\",\"userId\":\"u-1\"," EV_ITEMS
              ",\"total\":20.5,\"currency\":\"USD\"}");
    assert_string_equal(order->order_id, "o-1");
    assert_string_equal(order->user_id, "u-1");
    assert_string_equal(order->currency, "USD");
    assert_int_equal(order->item_count, 1);
    assert_int_equal(order->total, 2050);
    ACCEPT_EV("{\"orderId\":\"o-1\",\"userId\":\"u-1\"," EV_ITEMS
              ",\"total\":20.50,\"currency\":\"EUR\"}");
    assert_int_equal(order->total, 2050);
}

static void event_rules(void **state)
{
    REJECT_EV("{\"userId\":\"u\"," EV_ITEMS ",\"total\":20.5,\"currency\":\"USD\"}",
              "MISSING_FIELD", "orderId");
    REJECT_EV("{\"orderId\":\"\",\"userId\":\"u\"," EV_ITEMS
              ",\"total\":20.5,\"currency\":\"USD\"}",
              "INVALID_FIELD", "orderId");
    REJECT_EV("{\"orderId\":1,\"userId\":\"u\"," EV_ITEMS ",\"total\":20.5,\"currency\":\"USD\"}",
              "INVALID_FIELD", "orderId");
    REJECT_EV("{\"orderId\":\"o\",\"userId\":\"u\"," EV_ITEMS ",\"currency\":\"USD\"}",
              "MISSING_FIELD", "total");
    REJECT_EV("{\"orderId\":\"o\",\"userId\":\"u\"," EV_ITEMS
              ",\"total\":20.51,\"currency\":\"USD\"}",
              "INVALID_FIELD", "total");
    REJECT_EV("{\"orderId\":\"o\",\"userId\":\"u\"," EV_ITEMS ",\"total\":0,\"currency\":\"USD\"}",
              "INVALID_FIELD", "total");
    REJECT_EV("{\"orderId\":\"o\",\"userId\":\"u\"," EV_ITEMS
              ",\"total\":\"20.5\",\"currency\":\"USD\"}",
              "INVALID_FIELD", "total");
    REJECT_EV("{\"orderId\":\"o\",\"userId\":\"u\"," EV_ITEMS
              ",\"total\":20.501,\"currency\":\"USD\"}",
              "INVALID_FIELD", "total");
    REJECT_EV("{\"orderId\":\"o\",\"userId\":\"u\"," EV_ITEMS
              ",\"total\":-20.5,\"currency\":\"USD\"}",
              "INVALID_FIELD", "total");
    REJECT_EV("{\"orderId\":\"o\",\"userId\":\"u\"," EV_ITEMS ",\"total\":20.5}", "MISSING_FIELD",
              "currency");
    REJECT_EV("{\"orderId\":\"o\",\"userId\":\"u\"," EV_ITEMS
              ",\"total\":20.5,\"currency\":\"usd\"}",
              "INVALID_FIELD", "currency");
    /* The item rules apply to events too. */
    REJECT_EV("{\"orderId\":\"o\",\"userId\":\"u\",\"items\":[{\"productId\":\"p1\",\"quantity\":0,"
              "\"price\":1}],\"total\":0,\"currency\":\"USD\"}",
              "INVALID_FIELD", "items[0].quantity");
    REJECT_EV("{\"orderId\":\"o\"," EV_ITEMS ",\"total\":20.5,\"currency\":\"USD\"}",
              "MISSING_FIELD", "userId");
}

/* ---- items JSON ----------------------------------------------------------- */

static void items_json_text(void **state)
{
    cJSON *arr;
    char *text;

    memset(order, 0, sizeof(*order));
    order->item_count = 3;
    strcpy(order->items[0].product_id, "p1");
    order->items[0].quantity = 2;
    order->items[0].price = 1025;
    strcpy(order->items[1].product_id, "p\"2");
    order->items[1].quantity = 1;
    order->items[1].price = 1000;
    strcpy(order->items[2].product_id, "p3");
    order->items[2].quantity = 10000;
    order->items[2].price = 5;
    arr = svc_items_json(order);
    assert_non_null(arr);
    text = cJSON_PrintUnformatted(arr);
    assert_string_equal(text, "[{\"productId\":\"p1\",\"quantity\":2,\"price\":10.25},"
                              "{\"productId\":\"p\\\"2\",\"quantity\":1,\"price\":10},"
                              "{\"productId\":\"p3\",\"quantity\":10000,\"price\":0.05}]");
    cJSON_free(text);
    cJSON_Delete(arr);

    order->item_count = 0;
    arr = svc_items_json(order);
    assert_non_null(arr);
    text = cJSON_PrintUnformatted(arr);
    assert_string_equal(text, "[]");
    cJSON_free(text);
    cJSON_Delete(arr);
}

static void items_json_parses_back(void **state)
{
    static const char json[] =
        "{\"orderId\":\"o\",\"userId\":\"u\",\"items\":[{\"productId\":\"a\",\"quantity\":3,"
        "\"price\":0.29},{\"productId\":\"b\",\"quantity\":1,\"price\":100}],\"total\":100.87,"
        "\"currency\":\"USD\"}";
    cJSON *doc, *arr;
    svc_verr_t v;
    char *text;

    ACCEPT_EV(json);
    arr = svc_items_json(order);
    text = cJSON_PrintUnformatted(arr);
    assert_string_equal(text, "[{\"productId\":\"a\",\"quantity\":3,\"price\":0.29},"
                              "{\"productId\":\"b\",\"quantity\":1,\"price\":100}]");
    cJSON_Delete(arr);
    /* The printed items, put back into the event, validate again. (The
     * tree itself holds prices as raw text nodes, so it is the text that
     * goes back in.) */
    doc = cJSON_Parse(json);
    arr = cJSON_Parse(text);
    assert_non_null(arr);
    cJSON_ReplaceItemInObject(doc, "items", arr);
    assert_int_equal(svc_order_parse(doc, SVC_ORDER_EVENT, order, &v), EB_OK);
    assert_int_equal(order->total, 10087);
    cJSON_Delete(doc);
    cJSON_free(text);
}

/* ---- payments ------------------------------------------------------------- */

static eb_err_t payment_text(const char *json, int failed, svc_payment_t *p, char *err, size_t size)
{
    cJSON *d = cJSON_Parse(json);
    eb_err_t rc;

    if (!d)
        fail_msg("test JSON does not parse: %s", json);
    err[0] = '\0';
    rc = svc_payment_parse(d, failed, p, err, size);
    cJSON_Delete(d);
    return rc;
}

static void payment_parse_processed(void **state)
{
    svc_payment_t p;
    char err[256];

    assert_int_equal(payment_text("{\"orderId\":\"o-1\",\"paymentId\":\"pay-1\",\"userId\":\"u-1\","
                                  "\"amount\":100.5,\"currency\":\"USD\"}",
                                  0, &p, err, sizeof(err)),
                     EB_OK);
    assert_int_equal(p.failed, 0);
    assert_string_equal(p.order_id, "o-1");
    assert_string_equal(p.payment_id, "pay-1");
    assert_string_equal(p.user_id, "u-1");
    assert_int_equal(p.amount, 10050);
    assert_string_equal(p.currency, "USD");
    assert_string_equal(p.reason, "");
}

static void payment_parse_failed(void **state)
{
    svc_payment_t p;
    char err[256];

    assert_int_equal(payment_text("{\"orderId\":\"o-2\",\"amount\":20000,\"currency\":\"EUR\","
                                  "\"reason\":\"amount exceeds limit\",\"code\":\"AMOUNT_LIMIT\"}",
                                  1, &p, err, sizeof(err)),
                     EB_OK);
    assert_string_equal(p.code, PAYMENT_CODE_LIMIT);
    /* version 1's data, which consumers upcast before parsing, lacks the code */
    assert_int_equal(payment_text("{\"orderId\":\"o-2\",\"amount\":20000,\"currency\":\"EUR\","
                                  "\"reason\":\"amount exceeds limit\"}",
                                  1, &p, err, sizeof(err)),
                     EB_ERR_INVALID);
    assert_non_null(strstr(err, "code"));
    assert_int_equal(payment_text("{\"orderId\":\"o-2\",\"amount\":20000,\"currency\":\"EUR\","
                                  "\"reason\":\"amount exceeds limit\",\"code\":\"AMOUNT_LIMIT\"}",
                                  1, &p, err, sizeof(err)),
                     EB_OK);
    assert_int_equal(p.failed, 1);
    assert_string_equal(p.order_id, "o-2");
    assert_string_equal(p.payment_id, "");
    assert_string_equal(p.user_id, ""); /* optional */
    assert_int_equal(p.amount, 2000000);
    assert_string_equal(p.currency, "EUR");
    assert_string_equal(p.reason, "amount exceeds limit");
}

/* PaymentFailed version 1 reaches handlers as version 2: the suite's
 * registry upcasts it, deriving the code from the reason. */
static void payment_failed_v1_upcast(void **state)
{
    const eb_schemas_t *s = svc_schemas();
    const char *ds = NULL;
    svc_payment_t p;
    char err[256] = "";
    eb_event_t ev;

    (void)state;
    assert_non_null(s);
    assert_int_equal(eb_schemas_newest(s, TYPE_PAYMENT_FAILED, &ds), 2);
    assert_string_equal(ds, "urn:eventbus:schema:PaymentFailed:2");
    assert_int_equal(eb_schemas_newest(s, TYPE_ORDER_CREATED, &ds), 1);
    assert_string_equal(ds, "urn:eventbus:schema:OrderCreated:1");

    static const struct {
        const char *dataschema, *reason, *code;
    } cases[] = {
        {"", "amount exceeds limit", PAYMENT_CODE_LIMIT},
        {"urn:eventbus:schema:PaymentFailed:1", "amount exceeds limit", PAYMENT_CODE_LIMIT},
        {"urn:eventbus:schema:PaymentFailed:1", "card declined", PAYMENT_CODE_UNSPECIFIED},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char json[256];

        memset(&ev, 0, sizeof(ev));
        strcpy(ev.type, TYPE_PAYMENT_FAILED);
        strcpy(ev.dataschema, cases[i].dataschema);
        snprintf(json, sizeof(json),
                 "{\"orderId\":\"o-1\",\"amount\":5,\"currency\":\"USD\",\"reason\":\"%s\"}",
                 cases[i].reason);
        ev.data = cJSON_Parse(json);
        assert_int_equal(eb_schemas_upcast(s, &ev, err, sizeof(err)), EB_OK);
        assert_string_equal(ev.dataschema, "urn:eventbus:schema:PaymentFailed:2");
        assert_int_equal(svc_payment_parse(ev.data, 1, &p, err, sizeof(err)), EB_OK);
        assert_string_equal(p.code, cases[i].code);
        eb_event_close(&ev);
    }

    /* a producer of the suite names the newest version */
    memset(&ev, 0, sizeof(ev));
    strcpy(ev.type, TYPE_PAYMENT_FAILED);
    assert_int_equal(svc_stamp(&ev), EB_OK);
    assert_string_equal(ev.dataschema, "urn:eventbus:schema:PaymentFailed:2");
    strcpy(ev.type, "NoSuchType");
    assert_int_equal(svc_stamp(&ev), EB_ERR_INVALID);
}

static void payment_parse_rejects(void **state)
{
    static const struct {
        const char *json;
        int failed;
        const char *why; /* a word errstr must contain */
    } bad[] = {
        {"[]", 0, "object"},
        {"{\"paymentId\":\"p\",\"amount\":1,\"currency\":\"USD\"}", 0, "orderId"},
        {"{\"orderId\":\"\",\"paymentId\":\"p\",\"amount\":1,\"currency\":\"USD\"}", 0, "orderId"},
        {"{\"orderId\":\"o\",\"paymentId\":\"p\",\"currency\":\"USD\"}", 0, "amount"},
        {"{\"orderId\":\"o\",\"paymentId\":\"p\",\"amount\":-1,\"currency\":\"USD\"}", 0, "amount"},
        {"{\"orderId\":\"o\",\"paymentId\":\"p\",\"amount\":\"1\",\"currency\":\"USD\"}", 0,
         "amount"},
        {"{\"orderId\":\"o\",\"paymentId\":\"p\",\"amount\":1.001,\"currency\":\"USD\"}", 0,
         "amount"},
        {"{\"orderId\":\"o\",\"paymentId\":\"p\",\"amount\":1}", 0, "currency"},
        {"{\"orderId\":\"o\",\"paymentId\":\"p\",\"amount\":1,\"currency\":\"usd\"}", 0,
         "currency"},
        {"{\"orderId\":\"o\",\"paymentId\":\"p\",\"amount\":1,\"currency\":\"USDX\"}", 0,
         "currency"},
        {"{\"orderId\":\"o\",\"amount\":1,\"currency\":\"USD\"}", 0, "paymentId"},
        {"{\"orderId\":\"o\",\"paymentId\":\"\",\"amount\":1,\"currency\":\"USD\"}", 0,
         "paymentId"},
        {"{\"orderId\":\"o\",\"paymentId\":\"p\",\"userId\":5,\"amount\":1,\"currency\":\"USD\"}",
         0, "userId"},
        {"{\"orderId\":\"o\",\"amount\":1,\"currency\":\"USD\"}", 1, "reason"},
        {"{\"orderId\":\"o\",\"amount\":1,\"currency\":\"USD\",\"reason\":\"\"}", 1, "reason"},
        {"{\"orderId\":\"o\",\"amount\":1,\"currency\":\"USD\",\"reason\":7}", 1, "reason"},
    };
    svc_payment_t p;
    char err[256];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (payment_text(bad[i].json, bad[i].failed, &p, err, sizeof(err)) != EB_ERR_INVALID)
            fail_msg("accepted %s (failed=%d)", bad[i].json, bad[i].failed);
        if (!strstr(err, bad[i].why))
            fail_msg("%s: errstr \"%s\" does not mention %s", bad[i].json, err, bad[i].why);
    }
    assert_int_equal(svc_payment_parse(NULL, 0, &p, err, sizeof(err)), EB_ERR_INVALID);
}

static char *payment_json_text(const svc_payment_t *p)
{
    cJSON *d = svc_payment_json(p);
    char *text;

    assert_non_null(d);
    text = cJSON_PrintUnformatted(d);
    cJSON_Delete(d);
    assert_non_null(text);
    return text;
}

static void payment_json_exact_and_round_trip(void **state)
{
    svc_payment_t p, back;
    char err[256];
    cJSON *d;
    char *text;

    memset(&p, 0, sizeof(p));
    strcpy(p.order_id, "o-1");
    strcpy(p.payment_id, "pay-1");
    strcpy(p.user_id, "u-1");
    p.amount = 10050;
    strcpy(p.currency, "USD");
    text = payment_json_text(&p);
    assert_string_equal(text, "{\"orderId\":\"o-1\",\"paymentId\":\"pay-1\",\"userId\":\"u-1\","
                              "\"amount\":100.5,\"currency\":\"USD\"}");
    d = cJSON_Parse(text);
    assert_int_equal(svc_payment_parse(d, 0, &back, err, sizeof(err)), EB_OK);
    assert_memory_equal(&back, &p, sizeof(p));
    cJSON_Delete(d);
    cJSON_free(text);

    memset(&p, 0, sizeof(p));
    p.failed = 1;
    strcpy(p.order_id, "o-2");
    p.amount = 2000000;
    strcpy(p.currency, "EUR");
    strcpy(p.reason, "amount exceeds limit");
    strcpy(p.code, PAYMENT_CODE_LIMIT);
    text = payment_json_text(&p);
    assert_string_equal(text, "{\"orderId\":\"o-2\",\"amount\":20000,\"currency\":\"EUR\","
                              "\"reason\":\"amount exceeds limit\",\"code\":\"AMOUNT_LIMIT\"}");
    d = cJSON_Parse(text);
    assert_int_equal(svc_payment_parse(d, 1, &back, err, sizeof(err)), EB_OK);
    assert_memory_equal(&back, &p, sizeof(p));
    cJSON_Delete(d);
    cJSON_free(text);
}

/* svc_payment_render() writes the bytes the cJSON tree prints, for every
 * shape: processed with and without items and userId, failed, escapes. */
static void payment_render_is_the_printed_tree(void **state)
{
    svc_payment_t *p = calloc(1, sizeof(*p));
    char *want, *got;
    size_t len;

    (void)state;
    assert_non_null(p);
    for (int shape = 0; shape < 5; shape++) {
        memset(p, 0, sizeof(*p));
        strcpy(p->order_id, shape == 4 ? "o-\"q\"\\\n\x01\xc3\xa9" : "o-1");
        strcpy(p->currency, "USD");
        p->amount = shape == 3 ? -5 : 123456789;
        if (shape != 1)
            strcpy(p->user_id, "u-1");
        if (shape == 2) {
            p->failed = 1;
            strcpy(p->reason, "amount exceeds \"limit\"\t");
            strcpy(p->code, PAYMENT_CODE_LIMIT);
            p->item_count = 2; /* a failed payment carries none */
        } else {
            strcpy(p->payment_id, "pay-1");
            p->item_count = shape == 0 ? SVC_MAX_ITEMS : (size_t)shape;
            for (size_t i = 0; i < p->item_count; i++) {
                snprintf(p->items[i].product_id, sizeof(p->items[i].product_id), "p-%zu\x7f", i);
                p->items[i].quantity = i == 0 ? SVC_MAX_QUANTITY : (int64_t)i;
            }
        }
        want = payment_json_text(p);
        got = svc_payment_render(p, &len);
        assert_non_null(got);
        assert_string_equal(got, want);
        assert_int_equal(len, strlen(want));
        cJSON_free(want);
        free(got);
    }
    free(p);
}

/* ---- the saga's shapes ---------------------------------------------------------- */

static cJSON *json_of(const char *text)
{
    cJSON *obj = cJSON_Parse(text);

    if (!obj)
        fail_msg("test JSON does not parse: %s", text);
    return obj;
}

static char *print_and_free(cJSON *d)
{
    char *text;

    assert_non_null(d);
    text = cJSON_PrintUnformatted(d);
    cJSON_Delete(d);
    return text;
}

static void payment_items_round_trip(void **state)
{
    svc_payment_t *p = malloc(sizeof(*p)), *back = malloc(sizeof(*back));
    char errstr[128], *text;
    cJSON *obj;

    (void)state;
    obj = json_of("{\"orderId\":\"o1\",\"paymentId\":\"pay1\",\"amount\":3,"
                  "\"currency\":\"USD\",\"items\":[{\"productId\":\"p1\",\"quantity\":2},"
                  "{\"productId\":\"p2\",\"quantity\":1}]}");
    assert_int_equal(svc_payment_parse(obj, 0, p, errstr, sizeof(errstr)), EB_OK);
    cJSON_Delete(obj);
    assert_int_equal(p->item_count, 2);
    assert_string_equal(p->items[1].product_id, "p2");
    assert_int_equal(p->items[0].quantity, 2);
    text = print_and_free(svc_payment_json(p));
    assert_string_equal(text, "{\"orderId\":\"o1\",\"paymentId\":\"pay1\",\"amount\":3,"
                              "\"currency\":\"USD\",\"items\":[{\"productId\":\"p1\","
                              "\"quantity\":2},{\"productId\":\"p2\",\"quantity\":1}]}");
    obj = json_of(text);
    assert_int_equal(svc_payment_parse(obj, 0, back, errstr, sizeof(errstr)), EB_OK);
    cJSON_Delete(obj);
    assert_int_equal(back->item_count, 2);
    cJSON_free(text);
    /* An item without a whole quantity is refused, naming it. */
    obj = json_of("{\"orderId\":\"o1\",\"paymentId\":\"pay1\",\"amount\":3,"
                  "\"currency\":\"USD\",\"items\":[{\"productId\":\"p1\",\"quantity\":1.5}]}");
    assert_int_equal(svc_payment_parse(obj, 0, p, errstr, sizeof(errstr)), EB_ERR_INVALID);
    assert_non_null(strstr(errstr, "items[0].quantity"));
    cJSON_Delete(obj);
    free(p);
    free(back);
}

static void refund_round_trip_and_rules(void **state)
{
    svc_refund_t r;
    char errstr[128], *text;
    cJSON *obj;

    (void)state;
    obj = json_of("{\"orderId\":\"o1\",\"paymentId\":\"pay1\",\"userId\":\"u1\","
                  "\"amount\":100.5,\"currency\":\"EUR\",\"reason\":\"out of stock\"}");
    assert_int_equal(svc_refund_parse(obj, &r, errstr, sizeof(errstr)), EB_OK);
    cJSON_Delete(obj);
    assert_int_equal(r.amount, 10050);
    assert_string_equal(r.reason, REASON_OUT_OF_STOCK);
    text = print_and_free(svc_refund_json(&r));
    assert_string_equal(text, "{\"orderId\":\"o1\",\"paymentId\":\"pay1\",\"userId\":\"u1\","
                              "\"amount\":100.5,\"currency\":\"EUR\",\"reason\":\"out of stock\"}");
    cJSON_free(text);
    obj = json_of("{\"orderId\":\"o1\",\"amount\":1,\"currency\":\"EUR\",\"reason\":\"x\"}");
    assert_int_equal(svc_refund_parse(obj, &r, errstr, sizeof(errstr)), EB_ERR_INVALID);
    assert_non_null(strstr(errstr, "paymentId"));
    cJSON_Delete(obj);
}

static void order_change_rules(void **state)
{
    svc_order_change_t c;
    char errstr[128], *text;
    cJSON *obj = json_of("{\"orderId\":\"o1\"}");

    (void)state;
    /* OrderCompleted needs no reason; OrderCancelled does. */
    assert_int_equal(svc_order_change_parse(obj, 0, &c, errstr, sizeof(errstr)), EB_OK);
    assert_int_equal(svc_order_change_parse(obj, 1, &c, errstr, sizeof(errstr)), EB_ERR_INVALID);
    assert_non_null(strstr(errstr, "reason"));
    cJSON_Delete(obj);
    obj = json_of("{\"orderId\":\"o1\",\"userId\":\"u1\",\"reason\":\"cancelled\"}");
    assert_int_equal(svc_order_change_parse(obj, 1, &c, errstr, sizeof(errstr)), EB_OK);
    cJSON_Delete(obj);
    text = print_and_free(svc_order_change_json(&c));
    assert_string_equal(text, "{\"orderId\":\"o1\",\"userId\":\"u1\",\"reason\":\"cancelled\"}");
    cJSON_free(text);
}

static void stock_shapes(void **state)
{
    svc_stock_t *s = malloc(sizeof(*s));
    char errstr[128], *text;
    cJSON *obj;

    (void)state;
    obj = json_of("{\"orderId\":\"o1\",\"items\":[{\"productId\":\"p1\",\"requested\":3,"
                  "\"available\":0}]}");
    assert_int_equal(svc_stock_parse(obj, 1, s, errstr, sizeof(errstr)), EB_OK);
    assert_int_equal(s->items[0].requested, 3);
    text = print_and_free(svc_stock_json(s));
    assert_string_equal(text, "{\"orderId\":\"o1\",\"items\":[{\"productId\":\"p1\","
                              "\"requested\":3,\"available\":0}]}");
    cJSON_free(text);
    /* The same items are not a reservation: those need quantities. */
    assert_int_equal(svc_stock_parse(obj, 0, s, errstr, sizeof(errstr)), EB_ERR_INVALID);
    assert_non_null(strstr(errstr, "items[0].quantity"));
    cJSON_Delete(obj);
    obj = json_of("{\"orderId\":\"o1\",\"items\":[{\"productId\":\"p1\",\"quantity\":3}]}");
    assert_int_equal(svc_stock_parse(obj, 0, s, errstr, sizeof(errstr)), EB_OK);
    assert_int_equal(s->items[0].quantity, 3);
    cJSON_Delete(obj);
    /* A product's merged demand: up to 100 items of 10000 each. */
    obj = json_of("{\"orderId\":\"o1\",\"items\":[{\"productId\":\"p1\",\"quantity\":1000000}]}");
    assert_int_equal(svc_stock_parse(obj, 0, s, errstr, sizeof(errstr)), EB_OK);
    cJSON_Delete(obj);
    obj = json_of("{\"orderId\":\"o1\",\"items\":[{\"productId\":\"p1\",\"quantity\":1000001}]}");
    assert_int_equal(svc_stock_parse(obj, 0, s, errstr, sizeof(errstr)), EB_ERR_INVALID);
    cJSON_Delete(obj);
    obj = json_of("{\"orderId\":\"o1\",\"items\":[{\"productId\":\"p1\",\"requested\":1000000,"
                  "\"available\":0}]}");
    assert_int_equal(svc_stock_parse(obj, 1, s, errstr, sizeof(errstr)), EB_OK);
    cJSON_Delete(obj);
    obj = json_of("{\"orderId\":\"o1\",\"items\":[{\"productId\":\"p1\",\"quantity\":3}]}");
    assert_int_equal(svc_stock_parse(obj, 0, s, errstr, sizeof(errstr)), EB_OK);
    text = print_and_free(svc_stock_json(s));
    assert_string_equal(text, "{\"orderId\":\"o1\",\"items\":[{\"productId\":\"p1\","
                              "\"quantity\":3}]}");
    cJSON_free(text);
    cJSON_Delete(obj);
    free(s);
}

static void user_rules(void **state)
{
    static const struct {
        const char *json, *code, *field;
    } bad[] = {
        {"[]", "INVALID_JSON", ""},
        {"{\"email\":\"a@b.io\"}", "MISSING_FIELD", "name"},
        {"{\"name\":\"\",\"email\":\"a@b.io\"}", "INVALID_FIELD", "name"},
        {"{\"name\":\"Ann\"}", "MISSING_FIELD", "email"},
        {"{\"name\":\"Ann\",\"email\":\"ann\"}", "INVALID_FIELD", "email"},
        {"{\"name\":\"Ann\",\"email\":\"@b.io\"}", "INVALID_FIELD", "email"},
        {"{\"name\":\"Ann\",\"email\":\"a@b\"}", "INVALID_FIELD", "email"},
        {"{\"name\":\"Ann\",\"email\":\"a b@c.io\"}", "INVALID_FIELD", "email"},
        {"{\"name\":\"Ann\",\"email\":\"a@b@c.io\"}", "INVALID_FIELD", "email"},
        {"{\"name\":\"Ann\",\"email\":\"a@b.io\",\"age\":151}", "INVALID_FIELD", "age"},
        {"{\"name\":\"Ann\",\"email\":\"a@b.io\",\"age\":-1}", "INVALID_FIELD", "age"},
        {"{\"name\":\"Ann\",\"email\":\"a@b.io\",\"age\":2.5}", "INVALID_FIELD", "age"},
        {"{\"name\":\"Ann\",\"email\":\"a@b.io\",\"age\":\"3\"}", "INVALID_FIELD", "age"},
    };
    svc_user_t u;
    svc_verr_t v;
    char *text;
    cJSON *obj;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        obj = json_of(bad[i].json);
        memset(&v, 0, sizeof(v));
        if (svc_user_parse(obj, SVC_USER_REQUEST, &u, &v) != EB_ERR_INVALID)
            fail_msg("accepted %s", bad[i].json);
        if (strcmp(v.code, bad[i].code) != 0 || strcmp(v.field, bad[i].field) != 0)
            fail_msg("%s: got %s at %s, want %s at %s", bad[i].json, v.code, v.field, bad[i].code,
                     bad[i].field);
        cJSON_Delete(obj);
    }
    obj = json_of("{\"name\":\"Ann\",\"email\":\"ann@example.com\"}");
    assert_int_equal(svc_user_parse(obj, SVC_USER_REQUEST, &u, &v), EB_OK);
    cJSON_Delete(obj);
    assert_int_equal(u.age, -1);
    /* An event needs the id and the creation time. */
    obj = json_of("{\"name\":\"Ann\",\"email\":\"ann@example.com\",\"age\":150}");
    assert_int_equal(svc_user_parse(obj, SVC_USER_EVENT, &u, &v), EB_ERR_INVALID);
    assert_string_equal(v.field, "userId");
    cJSON_Delete(obj);
    obj = json_of("{\"userId\":\"u1\",\"createdAt\":\"2026-12-02T00:00:00.000Z\",\"name\":"
                  "\"Ann\",\"email\":\"ann@example.com\",\"age\":0}");
    assert_int_equal(svc_user_parse(obj, SVC_USER_EVENT, &u, &v), EB_OK);
    cJSON_Delete(obj);
    text = print_and_free(svc_user_json(&u));
    assert_string_equal(text, "{\"userId\":\"u1\",\"name\":\"Ann\",\"email\":"
                              "\"ann@example.com\",\"age\":0,\"createdAt\":"
                              "\"2026-12-02T00:00:00.000Z\"}");
    cJSON_free(text);
}

/* A struct that held an earlier, bigger order parses to exactly what a
 * cleared one does, up to item_count (svc_order_parse clears only what it
 * uses). */
static void parse_into_used_struct(void **state)
{
    static const char *const docs[] = {
        "{\"userId\":\"u\",\"items\":" ITEMS "}",
        "{\"userId\":\"u2\",\"items\":[" ITEM "," ITEM "],\"currency\":\"EUR\"}",
    };
    svc_order_t *clean = calloc(1, sizeof(*clean));
    svc_verr_t v;

    (void)state;
    assert_non_null(clean);
    for (size_t d = 0; d < sizeof(docs) / sizeof(docs[0]); d++) {
        cJSON *obj = cJSON_Parse(docs[d]);

        memset(order, 0xab, sizeof(*order));
        memset(clean, 0, sizeof(*clean));
        assert_int_equal(svc_order_parse(obj, SVC_ORDER_REQUEST, order, &v), EB_OK);
        assert_int_equal(svc_order_parse(obj, SVC_ORDER_REQUEST, clean, &v), EB_OK);
        assert_string_equal(order->order_id, "");
        assert_string_equal(order->user_id, clean->user_id);
        assert_string_equal(order->currency, clean->currency);
        assert_int_equal(order->item_count, clean->item_count);
        assert_int_equal(order->total, clean->total);
        for (size_t i = 0; i < clean->item_count; i++) {
            assert_string_equal(order->items[i].product_id, clean->items[i].product_id);
            assert_int_equal(order->items[i].quantity, clean->items[i].quantity);
            assert_int_equal(order->items[i].price, clean->items[i].price);
        }
        /* A rejected document leaves no items counted. */
        memset(order, 0xab, sizeof(*order));
        cJSON_DeleteItemFromObject(obj, "userId");
        assert_int_equal(svc_order_parse(obj, SVC_ORDER_REQUEST, order, &v), EB_ERR_INVALID);
        assert_int_equal(order->item_count, 0);
        cJSON_Delete(obj);
    }
    free(clean);
}

/* The path of a field of item 10 and of item 99 (two and three digits). */
static void item_field_paths(void **state)
{
    static char json[100 * 64 + 64];
    char *o = json;

    (void)state;
    o += sprintf(o, "{\"userId\":\"u\",\"items\":[");
    for (int i = 0; i < 10; i++)
        o += sprintf(o, "%s" ITEM, i ? "," : "");
    sprintf(o, ",{\"productId\":\"p\",\"quantity\":0,\"price\":1}]}");
    REJECT(json, "INVALID_FIELD", "items[10].quantity");
    o = json;
    o += sprintf(o, "{\"userId\":\"u\",\"items\":[");
    for (int i = 0; i < 99; i++)
        o += sprintf(o, "%s" ITEM, i ? "," : "");
    sprintf(o, ",{\"productId\":\"p\",\"quantity\":1,\"price\":0.001}]}");
    REJECT(json, "INVALID_FIELD", "items[99].price");
    o = json;
    o += sprintf(o, "{\"userId\":\"u\",\"items\":[");
    for (int i = 0; i < 99; i++)
        o += sprintf(o, "%s" ITEM, i ? "," : "");
    sprintf(o, ",{\"productId\":\"\",\"quantity\":1,\"price\":1}]}");
    REJECT(json, "INVALID_FIELD", "items[99].productId");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(request_valid, setup, teardown),
        cmocka_unit_test_setup_teardown(parse_into_used_struct, setup, teardown),
        cmocka_unit_test_setup_teardown(item_field_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(request_not_object, setup, teardown),
        cmocka_unit_test_setup_teardown(request_user_id, setup, teardown),
        cmocka_unit_test_setup_teardown(request_items, setup, teardown),
        cmocka_unit_test_setup_teardown(request_product_id, setup, teardown),
        cmocka_unit_test_setup_teardown(request_quantity, setup, teardown),
        cmocka_unit_test_setup_teardown(request_price, setup, teardown),
        cmocka_unit_test_setup_teardown(request_total_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(request_currency, setup, teardown),
        cmocka_unit_test_setup_teardown(request_rule_order, setup, teardown),
        cmocka_unit_test_setup_teardown(request_ignores_event_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(event_valid, setup, teardown),
        cmocka_unit_test_setup_teardown(event_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(items_json_text, setup, teardown),
        cmocka_unit_test_setup_teardown(items_json_parses_back, setup, teardown),
        cmocka_unit_test_setup_teardown(payment_parse_processed, setup, teardown),
        cmocka_unit_test_setup_teardown(payment_parse_failed, setup, teardown),
        cmocka_unit_test_setup_teardown(payment_parse_rejects, setup, teardown),
        cmocka_unit_test(payment_failed_v1_upcast),
        cmocka_unit_test_setup_teardown(payment_json_exact_and_round_trip, setup, teardown),
        cmocka_unit_test(payment_render_is_the_printed_tree),
        cmocka_unit_test(payment_items_round_trip),
        cmocka_unit_test(refund_round_trip_and_rules),
        cmocka_unit_test(order_change_rules),
        cmocka_unit_test(stock_shapes),
        cmocka_unit_test(user_rules),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
