/*
 * Unit tests for services/notification/notify.c: rendering the notification
 * line for each event type, rejections, and notification ids. Amounts in
 * messages are written with two decimals (eb_money_format_fixed). Also the
 * delivered set (delivered.c) and exactly-once delivery into a file shared
 * by two instances (notify_deliver), on real temporary files.
 */
#include "unit.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "notification/delivered.h"

#include "notification/notify.h"

#define EVENT_ID "11111111-2222-4333-8444-555555555555"
#define SENT_AT  "2026-11-21T13:17:14.839Z"

static void make_event(eb_event_t *ev, const char *type, const char *data_json)
{
    memset(ev, 0, sizeof(*ev));
    strcpy(ev->id, EVENT_ID);
    strcpy(ev->source, "/test");
    strcpy(ev->type, type);
    strcpy(ev->time, SENT_AT);
    if (data_json) {
        ev->data = cJSON_Parse(data_json);
        if (!ev->data)
            fail_msg("test JSON does not parse: %s", data_json);
    }
}

/* Renders ev, checks the line's framing and returns it parsed. */
static cJSON *render_ok(const eb_event_t *ev)
{
    char err[256] = "";
    size_t len = 0;
    char *line = NULL;
    cJSON *doc;

    if (notify_render(ev, SENT_AT, &line, &len, err, sizeof(err)) != EB_OK || !line)
        fail_msg("notify_render failed: %s", err);
    assert_int_equal(len, strlen(line));
    assert_true(len > 1);
    assert_int_equal(line[len - 1], '\n');
    assert_ptr_equal(strchr(line, '\n'), line + len - 1); /* one line */
    doc = cJSON_Parse(line);
    free(line);
    assert_non_null(doc);
    assert_true(cJSON_IsObject(doc));
    return doc;
}

static const char *str(const cJSON *doc, const char *name)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(doc, name);

    if (!cJSON_IsString(it))
        fail_msg("\"%s\" is missing or not a string", name);
    return it->valuestring;
}

/* Checks the fields every notification has. */
static void assert_common(const cJSON *doc, const char *type, const char *order_id)
{
    char nid[EB_UUID_LEN + 1];

    notify_id(EVENT_ID, nid);
    assert_string_equal(str(doc, "notificationId"), nid);
    assert_string_equal(str(doc, "eventId"), EVENT_ID);
    assert_string_equal(str(doc, "type"), type);
    assert_string_equal(str(doc, "orderId"), order_id);
    assert_string_equal(str(doc, "channel"), "email");
    assert_string_equal(str(doc, "sentAt"), SENT_AT);
    assert_true(str(doc, "message")[0] != '\0');
    assert_non_null(cJSON_GetObjectItemCaseSensitive(doc, "userId"));
    assert_int_equal(cJSON_GetArraySize(doc), 8);
}

static void order_confirmation(void **state)
{
    eb_event_t ev;
    cJSON *doc;

    make_event(&ev, "OrderCreated",
               "{\"orderId\":\"o-1\",\"userId\":\"u-1\",\"items\":[{\"productId\":\"p1\","
               "\"quantity\":2,\"price\":10.25}],\"total\":20.5,\"currency\":\"USD\"}");
    doc = render_ok(&ev);
    assert_common(doc, "ORDER_CONFIRMATION", "o-1");
    assert_string_equal(str(doc, "userId"), "u-1");
    assert_contains(str(doc, "message"), "o-1");
    assert_contains(str(doc, "message"), "20.50 USD");
    assert_contains(str(doc, "message"), "1 item");
    cJSON_Delete(doc);
    eb_event_close(&ev);

    make_event(&ev, "OrderCreated",
               "{\"orderId\":\"o-3\",\"userId\":\"u-1\",\"items\":[{\"productId\":\"p1\","
               "\"quantity\":2,\"price\":10.25},{\"productId\":\"p2\",\"quantity\":1,"
               "\"price\":1}],\"total\":21.5,\"currency\":\"EUR\"}");
    doc = render_ok(&ev);
    assert_common(doc, "ORDER_CONFIRMATION", "o-3");
    assert_contains(str(doc, "message"), "2 items");
    assert_contains(str(doc, "message"), "21.50 EUR");
    cJSON_Delete(doc);
    eb_event_close(&ev);
}

static void payment_receipt(void **state)
{
    eb_event_t ev;
    cJSON *doc;

    make_event(&ev, "PaymentProcessed",
               "{\"orderId\":\"o-1\",\"paymentId\":\"pay-1\",\"userId\":\"u-1\","
               "\"amount\":20.5,\"currency\":\"USD\"}");
    doc = render_ok(&ev);
    assert_common(doc, "PAYMENT_RECEIPT", "o-1");
    assert_string_equal(str(doc, "userId"), "u-1");
    assert_contains(str(doc, "message"), "pay-1");
    assert_contains(str(doc, "message"), "20.50 USD");
    assert_contains(str(doc, "message"), "o-1");
    cJSON_Delete(doc);
    eb_event_close(&ev);

    /* userId is optional in payment data: null in the notification. */
    make_event(
        &ev, "PaymentProcessed",
        "{\"orderId\":\"o-1\",\"paymentId\":\"pay-1\",\"amount\":20.5,\"currency\":\"USD\"}");
    doc = render_ok(&ev);
    assert_common(doc, "PAYMENT_RECEIPT", "o-1");
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(doc, "userId")));
    cJSON_Delete(doc);
    eb_event_close(&ev);
}

static void payment_failed(void **state)
{
    eb_event_t ev;
    cJSON *doc;

    make_event(&ev, "PaymentFailed",
               "{\"orderId\":\"o-2\",\"amount\":20000,\"currency\":\"EUR\","
               "\"reason\":\"amount exceeds limit\",\"code\":\"AMOUNT_LIMIT\"}");
    doc = render_ok(&ev);
    assert_common(doc, "PAYMENT_FAILED", "o-2");
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(doc, "userId")));
    assert_contains(str(doc, "message"), "amount exceeds limit");
    assert_contains(str(doc, "message"), "20000.00 EUR");
    assert_contains(str(doc, "message"), "o-2");
    cJSON_Delete(doc);
    eb_event_close(&ev);

    make_event(&ev, "PaymentFailed",
               "{\"orderId\":\"o-2\",\"userId\":\"u-9\",\"amount\":0.05,\"currency\":\"EUR\","
               "\"reason\":\"card declined\",\"code\":\"UNSPECIFIED\"}");
    doc = render_ok(&ev);
    assert_string_equal(str(doc, "userId"), "u-9");
    assert_contains(str(doc, "message"), "0.05 EUR");
    cJSON_Delete(doc);
    eb_event_close(&ev);
}

static void refund_issued(void **state)
{
    eb_event_t ev;
    cJSON *doc;

    make_event(&ev, "PaymentRefunded",
               "{\"orderId\":\"o-4\",\"paymentId\":\"pay-4\",\"userId\":\"u-4\","
               "\"amount\":20.5,\"currency\":\"USD\",\"reason\":\"out of stock\"}");
    doc = render_ok(&ev);
    assert_common(doc, "REFUND_ISSUED", "o-4");
    assert_string_equal(str(doc, "userId"), "u-4");
    assert_contains(str(doc, "message"), "pay-4");
    assert_contains(str(doc, "message"), "20.50 USD");
    assert_contains(str(doc, "message"), "o-4");
    assert_contains(str(doc, "message"), "out of stock");
    cJSON_Delete(doc);
    eb_event_close(&ev);

    /* userId is optional: null in the notification. */
    make_event(&ev, "PaymentRefunded",
               "{\"orderId\":\"o-4\",\"paymentId\":\"pay-4\",\"amount\":0.05,"
               "\"currency\":\"EUR\",\"reason\":\"cancelled\"}");
    doc = render_ok(&ev);
    assert_common(doc, "REFUND_ISSUED", "o-4");
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(doc, "userId")));
    assert_contains(str(doc, "message"), "0.05 EUR");
    assert_contains(str(doc, "message"), "cancelled");
    cJSON_Delete(doc);
    eb_event_close(&ev);
}

static void order_cancelled_and_completed(void **state)
{
    eb_event_t ev;
    cJSON *doc;

    make_event(&ev, "OrderCancelled",
               "{\"orderId\":\"o-5\",\"userId\":\"u-5\",\"reason\":\"cancelled\"}");
    doc = render_ok(&ev);
    assert_common(doc, "ORDER_CANCELLED", "o-5");
    assert_string_equal(str(doc, "userId"), "u-5");
    assert_contains(str(doc, "message"), "o-5");
    assert_contains(str(doc, "message"), "cancelled");
    cJSON_Delete(doc);
    eb_event_close(&ev);

    make_event(&ev, "OrderCancelled", "{\"orderId\":\"o-5\",\"reason\":\"out of stock\"}");
    doc = render_ok(&ev);
    assert_common(doc, "ORDER_CANCELLED", "o-5");
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(doc, "userId")));
    assert_contains(str(doc, "message"), "out of stock");
    cJSON_Delete(doc);
    eb_event_close(&ev);

    make_event(&ev, "OrderCompleted", "{\"orderId\":\"o-6\",\"userId\":\"u-6\"}");
    doc = render_ok(&ev);
    assert_common(doc, "ORDER_COMPLETED", "o-6");
    assert_string_equal(str(doc, "userId"), "u-6");
    assert_contains(str(doc, "message"), "o-6");
    cJSON_Delete(doc);
    eb_event_close(&ev);

    make_event(&ev, "OrderCompleted", "{\"orderId\":\"o-6\"}");
    doc = render_ok(&ev);
    assert_common(doc, "ORDER_COMPLETED", "o-6");
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(doc, "userId")));
    cJSON_Delete(doc);
    eb_event_close(&ev);
}

static void welcome(void **state)
{
    char nid[EB_UUID_LEN + 1];
    eb_event_t ev;
    cJSON *doc;

    make_event(&ev, "UserRegistered",
               "{\"userId\":\"u-7\",\"name\":\"Ada \\\"A\\\" Lovelace\","
               "\"email\":\"ada@example.com\",\"age\":36,"
               "\"createdAt\":\"2026-11-21T10:30:00.123Z\"}");
    doc = render_ok(&ev);
    notify_id(EVENT_ID, nid);
    assert_string_equal(str(doc, "notificationId"), nid);
    assert_string_equal(str(doc, "eventId"), EVENT_ID);
    assert_string_equal(str(doc, "type"), "WELCOME");
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(doc, "orderId")));
    assert_string_equal(str(doc, "userId"), "u-7");
    assert_string_equal(str(doc, "channel"), "email");
    assert_string_equal(str(doc, "sentAt"), SENT_AT);
    assert_contains(str(doc, "message"), "Welcome, Ada \"A\" Lovelace!");
    assert_int_equal(cJSON_GetArraySize(doc), 8);
    cJSON_Delete(doc);
    eb_event_close(&ev);

    /* age is optional (null). */
    make_event(&ev, "UserRegistered",
               "{\"userId\":\"u-8\",\"name\":\"Bo\",\"email\":\"bo@example.com\","
               "\"age\":null,\"createdAt\":\"2026-11-21T10:30:00.123Z\"}");
    doc = render_ok(&ev);
    assert_string_equal(str(doc, "type"), "WELCOME");
    assert_string_equal(str(doc, "userId"), "u-8");
    assert_contains(str(doc, "message"), "Welcome, Bo!");
    cJSON_Delete(doc);
    eb_event_close(&ev);
}

static void invalid_data_rejected(void **state)
{
    static const struct {
        const char *type;
        const char *data; /* NULL: no data */
    } bad[] = {
        /* total does not match the items */
        {"OrderCreated", "{\"orderId\":\"o\",\"userId\":\"u\",\"items\":[{\"productId\":\"p\","
                         "\"quantity\":1,\"price\":1}],\"total\":2,\"currency\":\"USD\"}"},
        /* no orderId */
        {"OrderCreated", "{\"userId\":\"u\",\"items\":[{\"productId\":\"p\",\"quantity\":1,"
                         "\"price\":1}],\"total\":1,\"currency\":\"USD\"}"},
        {"OrderCreated", NULL},
        {"OrderCreated", "[]"},
        /* no paymentId */
        {"PaymentProcessed", "{\"orderId\":\"o\",\"amount\":1,\"currency\":\"USD\"}"},
        {"PaymentProcessed", NULL},
        /* no reason */
        {"PaymentFailed", "{\"orderId\":\"o\",\"amount\":1,\"currency\":\"USD\"}"},
        /* negative amount */
        {"PaymentFailed",
         "{\"orderId\":\"o\",\"amount\":-1,\"currency\":\"USD\",\"reason\":\"r\"}"},
        /* no paymentId */
        {"PaymentRefunded",
         "{\"orderId\":\"o\",\"amount\":1,\"currency\":\"USD\",\"reason\":\"cancelled\"}"},
        /* no reason */
        {"PaymentRefunded", "{\"orderId\":\"o\",\"paymentId\":\"p\",\"amount\":1,"
                            "\"currency\":\"USD\"}"},
        {"PaymentRefunded", NULL},
        /* no reason */
        {"OrderCancelled", "{\"orderId\":\"o\",\"userId\":\"u\"}"},
        /* no orderId */
        {"OrderCancelled", "{\"userId\":\"u\",\"reason\":\"cancelled\"}"},
        {"OrderCancelled", "[]"},
        /* no orderId */
        {"OrderCompleted", "{\"userId\":\"u\"}"},
        {"OrderCompleted", NULL},
        /* no userId */
        {"UserRegistered", "{\"name\":\"n\",\"email\":\"n@example.com\","
                           "\"createdAt\":\"2026-11-21T10:30:00.123Z\"}"},
        /* bad email */
        {"UserRegistered", "{\"userId\":\"u\",\"name\":\"n\",\"email\":\"nope\","
                           "\"createdAt\":\"2026-11-21T10:30:00.123Z\"}"},
        {"UserRegistered", NULL},
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        eb_event_t ev;
        char err[256] = "";
        size_t len = 12345;
        char *line;

        make_event(&ev, bad[i].type, bad[i].data);
        assert_int_equal(notify_render(&ev, SENT_AT, &line, &len, err, sizeof(err)),
                         EB_ERR_BAD_EVENT);
        if (line) {
            fail_msg("rendered invalid %s data %s as %s", bad[i].type,
                     bad[i].data ? bad[i].data : "(none)", line);
        }
        if (!err[0])
            fail_msg("no reason for invalid %s data %s", bad[i].type,
                     bad[i].data ? bad[i].data : "(none)");
        eb_event_close(&ev);
    }
}

static void unknown_type_rejected(void **state)
{
    eb_event_t ev;
    char err[256] = "";
    size_t len = 0;
    char *line = NULL;

    make_event(&ev, "OrderShipped", "{\"orderId\":\"o\"}");
    assert_int_equal(notify_render(&ev, SENT_AT, &line, &len, err, sizeof(err)), EB_ERR_BAD_EVENT);
    assert_null(line);
    assert_contains(err, "OrderShipped");
    eb_event_close(&ev);
}

static void notification_ids(void **state)
{
    char a[EB_UUID_LEN + 1], b[EB_UUID_LEN + 1], c[EB_UUID_LEN + 1];

    notify_id(EVENT_ID, a);
    notify_id(EVENT_ID, b);
    notify_id("11111111-2222-4333-8444-555555555556", c);
    assert_true(is_uuid(a, '5'));
    assert_true(is_uuid(c, '5'));
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    /* UUID v5 (SHA-1) in the suite's namespace
     * 6b1d3c52-8e0a-4f37-9d25-1a44c37e9012, computed independently (Python
     * uuid.uuid5). Downstream deduplicates on it: it must never change. */
    assert_string_equal(a, "fe1b3e7b-0c5e-598d-baa2-0d36f6aa0fa8");
    notify_id("abc", b);
    assert_string_equal(b, "12f54e4c-d96c-5ce1-9571-f84f2ac7f2cb");
}

static void delivered_remembers_the_most_recent(void **state)
{
    delivered_t *d = delivered_new(1000);
    char id[32];

    (void)state;
    assert_non_null(d);
    for (int i = 0; i < 200000; i++) {
        snprintf(id, sizeof(id), "ev-%d", i);
        assert_int_equal(delivered_add(d, id), 0);
        assert_true(delivered_has(d, id));
    }
    assert_int_equal(delivered_count(d), 1000);
    for (int i = 0; i < 200000; i++) {
        snprintf(id, sizeof(id), "ev-%d", i);
        assert_int_equal(delivered_has(d, id), i >= 199000);
    }
    /* Adding one already there changes nothing. */
    assert_int_equal(delivered_add(d, "ev-199500"), 0);
    assert_true(delivered_has(d, "ev-199000"));
    delivered_free(d);
    assert_null(delivered_new(0));
}

/* A temporary file path, removed by the caller. */
static void temp_path(char *out, size_t size)
{
    int fd;

    snprintf(out, size, "/tmp/test_notify.XXXXXX");
    fd = mkstemp(out);
    assert_true(fd >= 0);
    close(fd);
}

static int count_lines(const char *path, const char *needle)
{
    char buf[4096];
    int n = 0;
    FILE *f = fopen(path, "r");

    assert_non_null(f);
    while (fgets(buf, sizeof(buf), f))
        n += strstr(buf, needle) != NULL;
    fclose(f);
    return n;
}

static void deliver(notify_ctx_t *ctx, const char *id, int expect_written)
{
    char line[256];
    int written = -1;

    snprintf(line, sizeof(line), "{\"notificationId\":\"n\",\"eventId\":\"%s\"}\n", id);
    assert_int_equal(notify_deliver(ctx, id, line, strlen(line), &written), 0);
    assert_int_equal(written, expect_written);
}

/* Two instances share the file: an event one of them wrote is not written
 * again by the other (a takeover), nor by itself (a failed sync). */
static void shared_file_gets_one_line_per_event(void **state)
{
    char path[64];
    notify_ctx_t a = NOTIFY_CTX_INIT, b = NOTIFY_CTX_INIT;

    (void)state;
    temp_path(path, sizeof(path));
    a.path = b.path = path;
    assert_int_equal(notify_open(&a), 0);
    assert_int_equal(notify_open(&b), 0);
    deliver(&a, "ev-1", 1);
    deliver(&a, "ev-1", 0); /* again after a failed fdatasync */
    deliver(&b, "ev-1", 0); /* b read a's line back */
    deliver(&b, "ev-2", 1);
    deliver(&a, "ev-2", 0);
    deliver(&a, "ev-3", 1);
    assert_int_equal(count_lines(path, "\"ev-1\""), 1);
    assert_int_equal(count_lines(path, "\"ev-2\""), 1);
    assert_int_equal(count_lines(path, "\"ev-3\""), 1);
    notify_close(&a);
    notify_close(&b);

    /* A restart reads the recent lines back. */
    assert_int_equal(notify_open(&a), 0);
    deliver(&a, "ev-2", 0);
    notify_close(&a);
    unlink(path);
}

/* Appends raw bytes to path, as a writer killed mid-write leaves them. */
static void append_raw(const char *path, const char *bytes)
{
    int fd = open(path, O_WRONLY | O_APPEND);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, bytes, strlen(bytes)), (ssize_t)strlen(bytes));
    close(fd);
}

/* A writer killed mid-line leaves a fragment. It was never a notification:
 * it is cut off, the next line starts on its own, and the fragment's event
 * (not marked done either) gets exactly one whole line when it comes. Also
 * when the fragment lacks only its newline: ending it instead would have
 * made it a line whose event the file's reader never saw, written again. */
static void torn_line_is_cut_off(void **state)
{
    static const char *const fragments[] = {"{\"eventId\":\"ev-2",
                                            "{\"notificationId\":\"n\",\"eventId\":\"ev-2\"}"};
    char path[64];

    (void)state;
    for (size_t i = 0; i < 2; i++) {
        notify_ctx_t a = NOTIFY_CTX_INIT;

        temp_path(path, sizeof(path));
        a.path = path;
        assert_int_equal(notify_open(&a), 0);
        deliver(&a, "ev-1", 1);
        append_raw(path, fragments[i]);
        deliver(&a, "ev-2", 1);
        deliver(&a, "ev-2", 0);
        assert_int_equal(count_lines(path, "\"ev-2\""), 1);
        assert_int_equal(count_lines(path, "\n"), 2); /* ev-1, ev-2 */
        notify_close(&a);

        /* A restart finds the same: the torn tail, if left, is cut. */
        append_raw(path, fragments[i]);
        assert_int_equal(notify_open(&a), 0);
        deliver(&a, "ev-2", 0);
        deliver(&a, "ev-3", 1);
        assert_int_equal(count_lines(path, "\"ev-2\""), 1);
        assert_int_equal(count_lines(path, "\n"), 3);
        notify_close(&a);
        unlink(path);
    }
}

/* Not a regular file (here /dev/null): written to, never read back. */
static void device_is_written_without_dedup(void **state)
{
    notify_ctx_t a = NOTIFY_CTX_INIT;

    (void)state;
    a.path = "/dev/null";
    assert_int_equal(notify_open(&a), 0);
    assert_false(a.regular);
    deliver(&a, "ev-1", 1);
    deliver(&a, "ev-1", 1);
    assert_int_equal(notify_sync(&a), EB_OK); /* EINVAL: nothing to sync */
    notify_close(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(order_confirmation),
        cmocka_unit_test(payment_receipt),
        cmocka_unit_test(payment_failed),
        cmocka_unit_test(refund_issued),
        cmocka_unit_test(order_cancelled_and_completed),
        cmocka_unit_test(welcome),
        cmocka_unit_test(invalid_data_rejected),
        cmocka_unit_test(unknown_type_rejected),
        cmocka_unit_test(notification_ids),
        cmocka_unit_test(delivered_remembers_the_most_recent),
        cmocka_unit_test(shared_file_gets_one_line_per_event),
        cmocka_unit_test(torn_line_is_cut_off),
        cmocka_unit_test(device_is_written_without_dedup),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
