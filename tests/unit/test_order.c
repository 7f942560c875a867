/*
 * Unit tests for services/order/order.c: a new order and its OrderCreated
 * event, the order document, request fingerprints and status transitions.
 */
#include "unit.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "order/lifecycle.h"
#include "order/order.h"

/* A request as svc_order_parse() leaves it; off the stack (100 items). */
static svc_order_t *req;

static int setup(void **state)
{
    req = calloc(1, sizeof(*req));
    return req ? 0 : -1;
}

static int teardown(void **state)
{
    free(req);
    req = NULL;
    return 0;
}

static void parse_request(const char *json, svc_order_t *out)
{
    cJSON *obj = cJSON_Parse(json);
    svc_verr_t v;

    if (!obj)
        fail_msg("test JSON does not parse: %s", json);
    if (svc_order_parse(obj, SVC_ORDER_REQUEST, out, &v) != EB_OK)
        fail_msg("request rejected: %s %s %s", v.code, v.field, v.message);
    cJSON_Delete(obj);
}

#define REQUEST                                                                                    \
    "{\"userId\":\"u-1\",\"items\":[{\"productId\":\"p1\",\"quantity\":2,\"price\":10.25},"        \
    "{\"productId\":\"p2\",\"quantity\":1,\"price\":0.5}],\"currency\":\"EUR\"}"

static void new_order_fields(void **state)
{
    order_record_t o;
    char fp[17];

    parse_request(REQUEST, req);
    assert_int_equal(order_record_init(req, &o), EB_OK);
    assert_true(is_uuid(o.order_id, '4'));
    assert_int_equal(strlen(o.created_at), EB_TIME_LEN);
    assert_true(eb_time_valid(o.created_at));
    /* 2 * 10.25 + 0.50 = 21.00 */
    assert_string_equal(o.total, "21");
    assert_non_null(o.items_json);
    assert_string_equal(o.items_json, "[{\"productId\":\"p1\",\"quantity\":2,\"price\":10.25},"
                                      "{\"productId\":\"p2\",\"quantity\":1,\"price\":0.5}]");
    order_fingerprint(req, fp);
    assert_string_equal(o.fingerprint, fp);
    assert_true(is_uuid(o.event_id, '4'));
    assert_string_not_equal(o.event_id, o.order_id);
    assert_non_null(o.event);
    assert_int_equal(o.event_len, strlen(o.event));
    order_record_close(&o);
    assert_null(o.event);
    assert_null(o.items_json);
}

static void new_order_event_decodes(void **state)
{
    const cJSON *data, *it;
    order_record_t o;
    eb_event_t ev;
    svc_order_t *back = malloc(sizeof(*back));
    svc_verr_t v;
    char err[256] = "";
    cJSON *items;
    int64_t total = 0;

    assert_non_null(back);
    parse_request(REQUEST, req);
    assert_int_equal(order_record_init(req, &o), EB_OK);
    if (eb_event_decode(o.event, o.event_len, &ev, err, sizeof(err)) != EB_OK)
        fail_msg("OrderCreated does not decode: %s", err);
    assert_string_equal(ev.type, "OrderCreated");
    assert_string_equal(ev.source, "/order-service");
    assert_string_equal(ev.subject, o.order_id);
    assert_string_equal(ev.id, o.event_id);
    assert_string_equal(ev.correlationid, ev.id); /* an order starts a chain */
    assert_string_equal(ev.causationid, ev.id);
    assert_true(eb_time_valid(ev.time));

    data = ev.data;
    assert_true(cJSON_IsObject(data));
    it = cJSON_GetObjectItemCaseSensitive(data, "orderId");
    assert_true(cJSON_IsString(it));
    assert_string_equal(it->valuestring, o.order_id);
    it = cJSON_GetObjectItemCaseSensitive(data, "userId");
    assert_true(cJSON_IsString(it));
    assert_string_equal(it->valuestring, "u-1");
    it = cJSON_GetObjectItemCaseSensitive(data, "currency");
    assert_true(cJSON_IsString(it));
    assert_string_equal(it->valuestring, "EUR");
    it = cJSON_GetObjectItemCaseSensitive(data, "total");
    assert_int_equal(eb_money_from_json(it, &total), EB_OK);
    assert_int_equal(total, 2100);
    items = cJSON_Parse(o.items_json);
    assert_true(cJSON_Compare(cJSON_GetObjectItemCaseSensitive(data, "items"), items, 1));
    cJSON_Delete(items);

    /* What order-service publishes, the consumers accept. */
    assert_int_equal(svc_order_parse(data, SVC_ORDER_EVENT, back, &v), EB_OK);
    assert_string_equal(back->order_id, o.order_id);
    assert_string_equal(back->user_id, "u-1");
    assert_int_equal(back->item_count, 2);
    assert_int_equal(back->total, 2100);

    eb_event_close(&ev);
    order_record_close(&o);
    free(back);
}

static void new_orders_are_distinct(void **state)
{
    order_record_t a, b;

    parse_request(REQUEST, req);
    assert_int_equal(order_record_init(req, &a), EB_OK);
    assert_int_equal(order_record_init(req, &b), EB_OK);
    assert_string_not_equal(a.order_id, b.order_id);
    assert_string_not_equal(a.event_id, b.event_id);
    assert_string_equal(a.fingerprint, b.fingerprint);
    order_record_close(&a);
    order_record_close(&b);
}

static void new_order_view(void **state)
{
    order_view_t v;
    order_record_t o;

    parse_request(REQUEST, req);
    assert_int_equal(order_record_init(req, &o), EB_OK);
    order_record_view(&o, req, &v);
    assert_string_equal(v.order_id, o.order_id);
    assert_string_equal(v.status, "PENDING");
    assert_string_equal(v.user_id, "u-1");
    assert_ptr_equal(v.items_json, o.items_json);
    assert_string_equal(v.total, "21");
    assert_string_equal(v.currency, "EUR");
    assert_string_equal(v.created_at, o.created_at);
    order_record_close(&o);
}

static void render_exact(void **state)
{
    order_view_t v = {
        .order_id = "o-1",
        .status = "PAID",
        .user_id = "u-1",
        .items_json = "[{\"productId\":\"p1\",\"quantity\":2,\"price\":10.25}]",
        .total = "20.5",
        .currency = "USD",
        .created_at = "2026-11-21T13:17:14.839Z",
    };
    size_t len = 0;
    char *text = order_render(&v, &len);

    assert_non_null(text);
    assert_string_equal(text, "{\"orderId\":\"o-1\",\"status\":\"PAID\",\"userId\":\"u-1\","
                              "\"items\":[{\"productId\":\"p1\",\"quantity\":2,\"price\":10.25}],"
                              "\"total\":20.5,\"currency\":\"USD\","
                              "\"createdAt\":\"2026-11-21T13:17:14.839Z\"}");
    assert_int_equal(len, strlen(text));
    free(text);

    /* Strings are escaped; items and total go out verbatim. */
    v.user_id = "u\"1\\";
    v.total = "100";
    text = order_render(&v, NULL);
    assert_non_null(text);
    assert_string_equal(text, "{\"orderId\":\"o-1\",\"status\":\"PAID\",\"userId\":\"u\\\"1\\\\\","
                              "\"items\":[{\"productId\":\"p1\",\"quantity\":2,\"price\":10.25}],"
                              "\"total\":100,\"currency\":\"USD\","
                              "\"createdAt\":\"2026-11-21T13:17:14.839Z\"}");
    free(text);
}

static void fingerprint(const char *json, char out[17])
{
    svc_order_t *o = malloc(sizeof(*o));

    assert_non_null(o);
    parse_request(json, o);
    order_fingerprint(o, out);
    free(o);
}

static void fingerprint_equal_for_equal_requests(void **state)
{
    char a[17], b[17], c[17];

    fingerprint(REQUEST, a);
    assert_int_equal(strlen(a), 16);
    for (int i = 0; i < 16; i++)
        assert_true(isxdigit((unsigned char)a[i]) && !isupper((unsigned char)a[i]));
    /* Formatting, key order and number spelling do not matter. */
    fingerprint("{ \"currency\" : \"EUR\", \"items\" : [ {\"price\":10.250,\"productId\":\"p1\","
                "\"quantity\":2.0}, {\"quantity\":1,\"price\":0.50,\"productId\":\"p2\"} ],"
                " \"userId\" : \"u-1\" }",
                b);
    assert_string_equal(a, b);
    /* The default currency is the same as stating it. */
    fingerprint("{\"userId\":\"u\",\"items\":[{\"productId\":\"p\",\"quantity\":1,\"price\":1}]}",
                b);
    fingerprint("{\"userId\":\"u\",\"items\":[{\"productId\":\"p\",\"quantity\":1,\"price\":1}],"
                "\"currency\":\"USD\"}",
                c);
    assert_string_equal(b, c);
}

static void fingerprint_known_value(void **state)
{
    char fp[17];

    /* FNV-1a 64 over "u-1\0" "EUR\0" then per item productId "\0", quantity
     * and price as int64 in host order (little-endian here), computed
     * independently. The value is stored with Idempotency-Keys, so it must
     * not change between versions. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    fingerprint(REQUEST, fp);
    assert_string_equal(fp, "f15bbdc6a544d15d");
#else
    (void)fp;
    skip();
#endif
}

static void fingerprint_differs(void **state)
{
    static const char *const other[] = {
        /* user */
        "{\"userId\":\"u-2\",\"items\":[{\"productId\":\"p1\",\"quantity\":2,\"price\":10.25},"
        "{\"productId\":\"p2\",\"quantity\":1,\"price\":0.5}],\"currency\":\"EUR\"}",
        /* product */
        "{\"userId\":\"u-1\",\"items\":[{\"productId\":\"p3\",\"quantity\":2,\"price\":10.25},"
        "{\"productId\":\"p2\",\"quantity\":1,\"price\":0.5}],\"currency\":\"EUR\"}",
        /* quantity */
        "{\"userId\":\"u-1\",\"items\":[{\"productId\":\"p1\",\"quantity\":3,\"price\":10.25},"
        "{\"productId\":\"p2\",\"quantity\":1,\"price\":0.5}],\"currency\":\"EUR\"}",
        /* price */
        "{\"userId\":\"u-1\",\"items\":[{\"productId\":\"p1\",\"quantity\":2,\"price\":10.26},"
        "{\"productId\":\"p2\",\"quantity\":1,\"price\":0.5}],\"currency\":\"EUR\"}",
        /* currency */
        "{\"userId\":\"u-1\",\"items\":[{\"productId\":\"p1\",\"quantity\":2,\"price\":10.25},"
        "{\"productId\":\"p2\",\"quantity\":1,\"price\":0.5}],\"currency\":\"USD\"}",
        /* one item fewer */
        "{\"userId\":\"u-1\",\"items\":[{\"productId\":\"p1\",\"quantity\":2,\"price\":10.25}],"
        "\"currency\":\"EUR\"}",
        /* one item more */
        "{\"userId\":\"u-1\",\"items\":[{\"productId\":\"p1\",\"quantity\":2,\"price\":10.25},"
        "{\"productId\":\"p2\",\"quantity\":1,\"price\":0.5},"
        "{\"productId\":\"p2\",\"quantity\":1,\"price\":0.5}],\"currency\":\"EUR\"}",
        /* same total, different split */
        "{\"userId\":\"u-1\",\"items\":[{\"productId\":\"p1\",\"quantity\":1,\"price\":20.5},"
        "{\"productId\":\"p2\",\"quantity\":1,\"price\":0.5}],\"currency\":\"EUR\"}",
        /* a product id boundary moved: "p1"+"p2" vs "p1p"+"2" */
        "{\"userId\":\"u-1\",\"items\":[{\"productId\":\"p1p\",\"quantity\":2,\"price\":10.25},"
        "{\"productId\":\"2\",\"quantity\":1,\"price\":0.5}],\"currency\":\"EUR\"}",
    };
    char base[17], fp[17];

    fingerprint(REQUEST, base);
    for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
        fingerprint(other[i], fp);
        if (strcmp(fp, base) == 0)
            fail_msg("same fingerprint %s for a different request:\n%s", fp, other[i]);
    }
}

/* ---- the status machine (lifecycle.c) ---------------------------------------------- */

static void event_of_type(void **state)
{
    (void)state;
    assert_int_equal(order_event_of_type("PaymentProcessed"), ORDER_EV_PAYMENT_PROCESSED);
    assert_int_equal(order_event_of_type("PaymentFailed"), ORDER_EV_PAYMENT_FAILED);
    assert_int_equal(order_event_of_type("InventoryReserved"), ORDER_EV_INVENTORY_RESERVED);
    assert_int_equal(order_event_of_type("InventoryInsufficient"), ORDER_EV_INVENTORY_INSUFFICIENT);
    assert_int_equal(order_event_of_type("OrderCancelled"), ORDER_EV_CANCELLED);
    assert_int_equal(order_event_of_type("OrderCompleted"), ORDER_EV_COMPLETED);
    assert_int_equal(order_event_of_type("OrderCreated"), -1);
    assert_int_equal(order_event_of_type("paymentprocessed"), -1);
    assert_int_equal(order_event_of_type("PaymentProcessedX"), -1);
    assert_int_equal(order_event_of_type(""), -1);
}

/* Every transition, written out: rows are states, columns events in the
 * order of order_event_t. */
static void transition_table(void **state)
{
    enum {
        P = ORDER_PENDING,
        D = ORDER_PAID,
        C = ORDER_CONFIRMED,
        X = ORDER_COMPLETED,
        F = ORDER_PAYMENT_FAILED,
        S = ORDER_CANCELLED_STOCK,
        K = ORDER_CANCELLED
    };
    static const int want[ORDER_STATE_COUNT][ORDER_EV_COUNT] = {
        /*            processed failed reserved insufficient cancelled completed */
        [P] = {D, F, C, S, K, X}, [D] = {D, D, C, S, K, X}, [C] = {C, C, C, C, K, X},
        [X] = {X, X, X, X, X, X}, [F] = {F, F, F, F, K, X}, [S] = {S, S, S, S, K, X},
        [K] = {K, K, K, K, K, K},
    };

    (void)state;
    for (int s = 0; s < ORDER_STATE_COUNT; s++)
        for (int e = 0; e < ORDER_EV_COUNT; e++)
            if ((int)order_status_next((order_state_t)s, (order_event_t)e) != want[s][e])
                fail_msg("state %d + event %d: got %d, want %d", s, e,
                         order_status_next((order_state_t)s, (order_event_t)e), want[s][e]);
}

/* Never backwards, terminal stays: for the events other services send. */
static void never_backwards(void **state)
{
    static const int rank[ORDER_STATE_COUNT] = {0, 1, 2, 3, 3, 3, 3};

    (void)state;
    for (int s = 0; s < ORDER_STATE_COUNT; s++)
        for (int e = 0; e < ORDER_EV_COUNT; e++) {
            order_state_t to = order_status_next((order_state_t)s, (order_event_t)e);

            assert_true(rank[to] >= rank[s]);
            if (order_state_terminal((order_state_t)s) && e != ORDER_EV_CANCELLED &&
                e != ORDER_EV_COMPLETED)
                assert_int_equal(to, s);
        }
}

/* The sets of events one order can have in the log (docs/saga.md): one
 * payment decision; inventory answers only a processed payment, once; a
 * completion needs a reservation and excludes a cancel. */
static int possible(unsigned set)
{
#define HAS(e) ((set >> (e)) & 1u)
    if (HAS(ORDER_EV_PAYMENT_FAILED) && HAS(ORDER_EV_PAYMENT_PROCESSED))
        return 0;
    if ((HAS(ORDER_EV_INVENTORY_RESERVED) || HAS(ORDER_EV_INVENTORY_INSUFFICIENT)) &&
        !HAS(ORDER_EV_PAYMENT_PROCESSED))
        return 0;
    if (HAS(ORDER_EV_INVENTORY_RESERVED) && HAS(ORDER_EV_INVENTORY_INSUFFICIENT))
        return 0;
    if (HAS(ORDER_EV_COMPLETED) && (!HAS(ORDER_EV_INVENTORY_RESERVED) || HAS(ORDER_EV_CANCELLED)))
        return 0;
    return 1;
#undef HAS
}

static order_state_t fold(const int *evs, int n)
{
    order_state_t s = ORDER_PENDING;

    for (int i = 0; i < n; i++)
        s = order_status_next(s, (order_event_t)evs[i]);
    return s;
}

/* Heap's algorithm over evs[0..n): calls check on every permutation. */
static void permute(int *evs, int n, int k, order_state_t want, unsigned set, int *count)
{
    if (k == 1) {
        order_state_t got = fold(evs, n);

        if (got != want)
            fail_msg("event set %#x: order gives %d, another order %d", set, got, want);
        /* Every event again, at the end (redelivered late): no change. */
        for (int i = 0; i < n; i++)
            assert_int_equal(order_status_next(got, (order_event_t)evs[i]), got);
        (*count)++;
        return;
    }
    for (int i = 0; i < k; i++) {
        permute(evs, n, k - 1, want, set, count);
        int j = k % 2 ? 0 : i, t = evs[j];

        evs[j] = evs[k - 1];
        evs[k - 1] = t;
    }
}

/* The rebuild reads an order's events in any order: every order of every
 * possible set ends in the same status, and that is the live status (the
 * causal order is one of the orders). */
static void order_independent(void **state)
{
    int count = 0, sets = 0;

    (void)state;
    for (unsigned set = 0; set < (1u << ORDER_EV_COUNT); set++) {
        int evs[ORDER_EV_COUNT], n = 0;

        if (!possible(set))
            continue;
        for (int e = 0; e < ORDER_EV_COUNT; e++)
            if ((set >> e) & 1u)
                evs[n++] = e;
        sets++;
        if (n)
            permute(evs, n, n, fold(evs, n), set, &count);
    }
    assert_int_equal(sets, 11);  /* 5 without a cancel, 5 with, 1 completed */
    assert_int_equal(count, 29); /* the sum of n! over those sets */
}

static void actions_and_texts(void **state)
{
    (void)state;
    assert_true(order_can_cancel(ORDER_PENDING));
    assert_true(order_can_cancel(ORDER_PAID));
    assert_true(order_can_cancel(ORDER_CONFIRMED));
    assert_false(order_can_cancel(ORDER_COMPLETED));
    assert_false(order_can_cancel(ORDER_PAYMENT_FAILED));
    assert_false(order_can_cancel(ORDER_CANCELLED_STOCK));
    assert_false(order_can_cancel(ORDER_CANCELLED));
    for (int s = 0; s < ORDER_STATE_COUNT; s++) {
        assert_int_equal(order_can_complete((order_state_t)s), s == ORDER_CONFIRMED);
        /* Text and back. */
        assert_int_equal(order_state_parse(order_state_status((order_state_t)s),
                                           order_state_reason((order_state_t)s)),
                         s);
    }
    assert_string_equal(order_state_status(ORDER_CANCELLED_STOCK), "CANCELLED");
    assert_string_equal(order_state_reason(ORDER_CANCELLED_STOCK), "out of stock");
    assert_string_equal(order_state_reason(ORDER_CANCELLED), "cancelled");
    assert_string_equal(order_state_reason(ORDER_PAID), "");
    assert_int_equal(order_state_parse("SHIPPED", NULL), -1);
    assert_int_equal(order_state_parse(NULL, NULL), -1);
}

/* ---- the renderers against the cJSON trees they replaced -------------------- */

/* The order document as order_render() built it with cJSON (the oracle). */
static char *cjson_render(const order_view_t *v)
{
    cJSON *o = cJSON_CreateObject();
    char *out = NULL;

    if (o && cJSON_AddStringToObject(o, "orderId", v->order_id) &&
        cJSON_AddStringToObject(o, "status", v->status) &&
        cJSON_AddStringToObject(o, "userId", v->user_id) &&
        cJSON_AddRawToObject(o, "items", v->items_json) &&
        cJSON_AddRawToObject(o, "total", v->total) &&
        cJSON_AddStringToObject(o, "currency", v->currency) &&
        cJSON_AddStringToObject(o, "createdAt", v->created_at) &&
        (!v->reason || !v->reason[0] || cJSON_AddStringToObject(o, "reason", v->reason)))
        out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return out;
}

/* An event as eb_event_encode() printed it with a cJSON object (the oracle). */
static char *cjson_event(const eb_event_t *ev)
{
    const char *names[] = {"id",      "source",        "type",        "time",
                           "subject", "correlationid", "causationid", "dataschema"};
    const char *vals[] = {ev->id,      ev->source,        ev->type,        ev->time,
                          ev->subject, ev->correlationid, ev->causationid, ev->dataschema};
    cJSON *o = cJSON_CreateObject();
    char *out;

    cJSON_AddStringToObject(o, "specversion", "1.0");
    for (size_t i = 0; i < 8; i++) {
        if (i == 4)
            cJSON_AddStringToObject(o, "datacontenttype", "application/json");
        if (vals[i][0])
            cJSON_AddStringToObject(o, names[i], vals[i]);
    }
    if (ev->data)
        cJSON_AddItemReferenceToObject(o, "data", ev->data);
    out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return out;
}

/* A random string of 1..max bytes: ASCII, every control byte, quotes,
 * backslashes, DEL, and 2-, 3- and 4-byte UTF-8 characters. */
static void random_text(char *out, size_t max, unsigned *seed)
{
    static const char *const pieces[] = {"a",
                                         "Z",
                                         "9",
                                         "-",
                                         " ",
                                         "\"",
                                         "\\",
                                         "/",
                                         "\x7f",
                                         "\xc3\xa9",
                                         "\xe2\x82\xac",
                                         "\xf0\x9f\x98\x80",
                                         "\x01",
                                         "\x08",
                                         "\x09",
                                         "\x0a",
                                         "\x0c",
                                         "\x0d",
                                         "\x1f"};
    size_t n = 0, want = 1 + (size_t)rand_r(seed) % max;

    while (n < want) {
        const char *p = pieces[(size_t)rand_r(seed) % (sizeof(pieces) / sizeof(pieces[0]))];

        if (n + strlen(p) > max)
            break;
        memcpy(out + n, p, strlen(p));
        n += strlen(p);
    }
    if (n == 0)
        out[n++] = 'x';
    out[n] = '\0';
}

static void renders_like_cjson(void **state)
{
    static const int64_t prices[] = {0, 1, 10, 99, 100, 1050, 123456789, 9999999999999};
    unsigned seed = 13;

    (void)state;
    for (int round = 0; round < 100; round++) {
        order_record_t o;
        order_view_t v;
        eb_event_t ev;
        cJSON *items, *data;
        char *want, *got, *text;
        size_t len;

        memset(req, 0, sizeof(*req));
        random_text(req->user_id, SVC_ID_MAX, &seed);
        memcpy(req->currency, round % 2 ? "EUR" : "USD", 4);
        req->item_count = 1 + (size_t)rand_r(&seed) % (round % 10 ? 5 : SVC_MAX_ITEMS);
        for (size_t i = 0; i < req->item_count; i++) {
            random_text(req->items[i].product_id, SVC_ID_MAX, &seed);
            req->items[i].quantity = 1 + rand_r(&seed) % SVC_MAX_QUANTITY;
            req->items[i].price = prices[(size_t)rand_r(&seed) % 8];
            req->total += req->items[i].quantity * req->items[i].price;
        }
        assert_int_equal(order_record_init(req, &o), EB_OK);

        /* The stored items. */
        items = svc_items_json(req);
        want = cJSON_PrintUnformatted(items);
        assert_string_equal(o.items_json, want);
        assert_int_equal(o.items_len, strlen(want));
        free(want);

        /* The event: its data and envelope as the cJSON trees printed them. */
        assert_int_equal(eb_event_decode(o.event, o.event_len, &ev, NULL, 0), EB_OK);
        data = cJSON_CreateObject();
        cJSON_AddStringToObject(data, "orderId", o.order_id);
        cJSON_AddStringToObject(data, "userId", req->user_id);
        cJSON_AddItemToObject(data, "items", items);
        cJSON_AddItemToObject(data, "total", eb_money_to_json(req->total));
        cJSON_AddStringToObject(data, "currency", req->currency);
        cJSON_Delete(ev.data);
        ev.data = data;
        want = cjson_event(&ev);
        assert_string_equal(o.event, want);
        assert_int_equal(o.event_len, strlen(want));
        /* eb_event_encode() itself, with every attribute and escapes. */
        random_text(ev.subject, EB_EVENT_ID_MAX, &seed);
        random_text(ev.causationid, EB_EVENT_ID_MAX, &seed);
        free(want);
        want = cjson_event(&ev);
        got = eb_event_encode(&ev, &len);
        assert_string_equal(got, want);
        assert_int_equal(len, strlen(want));
        free(got);
        free(want);
        eb_event_close(&ev);

        /* The 201 body, and a cancelled order's document. */
        order_record_view(&o, req, &v);
        for (int cancelled = 0; cancelled < 2; cancelled++) {
            v.reason = cancelled ? "out \"of\" stock\n" : NULL;
            want = cjson_render(&v);
            text = order_render(&v, &len);
            assert_string_equal(text, want);
            assert_int_equal(len, strlen(want));
            free(text);
            free(want);
        }
        order_record_close(&o);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(new_order_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(new_order_event_decodes, setup, teardown),
        cmocka_unit_test_setup_teardown(new_orders_are_distinct, setup, teardown),
        cmocka_unit_test_setup_teardown(new_order_view, setup, teardown),
        cmocka_unit_test_setup_teardown(render_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(renders_like_cjson, setup, teardown),
        cmocka_unit_test_setup_teardown(fingerprint_equal_for_equal_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(fingerprint_known_value, setup, teardown),
        cmocka_unit_test_setup_teardown(fingerprint_differs, setup, teardown),
        cmocka_unit_test(event_of_type),
        cmocka_unit_test(transition_table),
        cmocka_unit_test(never_backwards),
        cmocka_unit_test(order_independent),
        cmocka_unit_test(actions_and_texts),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
