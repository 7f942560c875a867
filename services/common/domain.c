/*
 * Order and payment shapes: validation and JSON.
 */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "eventbus/json.h"
#include "eventbus/money.h"

static eb_err_t reject(svc_verr_t *v, const char *code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static eb_err_t reject(svc_verr_t *v, const char *code, const char *field, const char *fmt, ...)
{
    va_list ap;

    v->code = code;
    snprintf(v->field, sizeof(v->field), "%s", field);
    va_start(ap, fmt);
    vsnprintf(v->message, sizeof(v->message), fmt, ap);
    va_end(ap);
    return EB_ERR_INVALID;
}

/* A required (or optional, when dst may stay empty) string of 1..max bytes. */
static eb_err_t take_string(const cJSON *obj, const char *name, const char *field, int required,
                            size_t max, char *dst, svc_verr_t *v)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
    size_t n;

    if (!it || cJSON_IsNull(it)) {
        if (required)
            return reject(v, "MISSING_FIELD", field, "%s is required", field);
        return EB_OK;
    }
    if (!cJSON_IsString(it))
        return reject(v, "INVALID_FIELD", field, "%s must be a string", field);
    n = strlen(it->valuestring);
    if (n == 0 || n > max)
        return reject(v, "INVALID_FIELD", field, "%s must be 1 to %zu bytes long", field, max);
    memcpy(dst, it->valuestring, n + 1);
    return EB_OK;
}

static eb_err_t take_money(const cJSON *obj, const char *name, const char *field, int64_t *dst,
                           svc_verr_t *v)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);

    if (!it)
        return reject(v, "MISSING_FIELD", field, "%s is required", field);
    if (!cJSON_IsNumber(it))
        return reject(v, "INVALID_FIELD", field, "%s must be a number", field);
    if (it->valuedouble < 0)
        return reject(v, "INVALID_FIELD", field, "%s must not be negative", field);
    if (eb_money_from_json(it, dst) != EB_OK)
        return reject(v, "INVALID_FIELD", field,
                      "%s must have at most two decimals and be below 100000000000", field);
    return EB_OK;
}

/* A required (or optional: dst keeps its value) integer min..max. */
static eb_err_t take_int(const cJSON *obj, const char *name, const char *field, int required,
                         int64_t min, int64_t max, int64_t *dst, svc_verr_t *v)
{
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(obj, name);

    if (!q || (!required && cJSON_IsNull(q))) {
        if (required)
            return reject(v, "MISSING_FIELD", field, "%s is required", field);
        return EB_OK;
    }
    if (!cJSON_IsNumber(q) || q->valuedouble != floor(q->valuedouble) ||
        q->valuedouble < (double)min || q->valuedouble > (double)max)
        return reject(v, "INVALID_FIELD", field, "%s must be an integer from %lld to %lld", field,
                      (long long)min, (long long)max);
    *dst = (int64_t)q->valuedouble;
    return EB_OK;
}

/* Writes "items[<i>]" and then name (may be "") into field[64]: the path of
 * an item's field, without snprintf (three per item were a tenth of the
 * parse). i < SVC_MAX_ITEMS. */
static const char *item_field(char field[64], size_t i, const char *name)
{
    char *o = field + 6;

    memcpy(field, "items[", 6);
    if (i >= 100)
        *o++ = (char)('0' + i / 100 % 10);
    if (i >= 10)
        *o++ = (char)('0' + i / 10 % 10);
    *o++ = (char)('0' + i % 10);
    *o++ = ']';
    memcpy(o, name, strlen(name) + 1); /* names are short literals: fits */
    return field;
}

static eb_err_t take_item(const cJSON *it, size_t i, svc_item_t *item, svc_verr_t *v)
{
    char field[64];
    const cJSON *q;
    eb_err_t err;

    if (!cJSON_IsObject(it))
        return reject(v, "INVALID_FIELD", item_field(field, i, ""), "%s must be an object", field);
    if ((err = take_string(it, "productId", item_field(field, i, ".productId"), 1, SVC_ID_MAX,
                           item->product_id, v)))
        return err;
    item_field(field, i, ".quantity");
    q = cJSON_GetObjectItemCaseSensitive(it, "quantity");
    if (!q)
        return reject(v, "MISSING_FIELD", field, "%s is required", field);
    if (!cJSON_IsNumber(q) || q->valuedouble != floor(q->valuedouble) || q->valuedouble < 1 ||
        q->valuedouble > SVC_MAX_QUANTITY)
        return reject(v, "INVALID_FIELD", field, "%s must be an integer from 1 to %d", field,
                      SVC_MAX_QUANTITY);
    item->quantity = (int64_t)q->valuedouble;
    return take_money(it, "price", item_field(field, i, ".price"), &item->price, v);
}

static int currency_ok(const char *c)
{
    if (strlen(c) != SVC_CURRENCY_LEN)
        return 0;
    for (int i = 0; i < SVC_CURRENCY_LEN; i++)
        if (c[i] < 'A' || c[i] > 'Z')
            return 0;
    return 1;
}

eb_err_t svc_order_parse(const cJSON *obj, svc_order_mode_t mode, svc_order_t *o, svc_verr_t *v)
{
    const cJSON *items, *it;
    eb_err_t err;
    size_t i = 0;

    /* Only the fields before the items and the counts: clearing all of the
     * 15.5 KB (100 items) was a tenth of an order's instructions. Items past
     * item_count are left as they were (see domain.h). */
    o->order_id[0] = o->user_id[0] = o->currency[0] = '\0';
    o->item_count = 0;
    o->total = 0;
    if (!cJSON_IsObject(obj))
        return reject(v, "INVALID_JSON", "", "the order must be a JSON object");
    if (mode == SVC_ORDER_EVENT &&
        (err = take_string(obj, "orderId", "orderId", 1, SVC_ID_MAX, o->order_id, v)))
        return err;
    if ((err = take_string(obj, "userId", "userId", 1, SVC_ID_MAX, o->user_id, v)))
        return err;

    items = cJSON_GetObjectItemCaseSensitive(obj, "items");
    if (!items)
        return reject(v, "MISSING_FIELD", "items", "items is required");
    if (!cJSON_IsArray(items))
        return reject(v, "INVALID_FIELD", "items", "items must be an array");
    cJSON_ArrayForEach(it, items)
    {
        if (i == SVC_MAX_ITEMS)
            return reject(v, "INVALID_FIELD", "items", "items must have 1 to %d entries",
                          SVC_MAX_ITEMS);
        if ((err = take_item(it, i, &o->items[i], v)))
            return err;
        /* quantity <= 10^4 and price <= 10^13 fit in int64 after multiplying;
         * the running sum is checked against the money limit each step. */
        o->total += o->items[i].quantity * o->items[i].price;
        if (o->total > EB_MONEY_MAX)
            return reject(v, "INVALID_FIELD", "items",
                          "the order total must be below 100000000000");
        i++;
    }
    if (i == 0)
        return reject(v, "INVALID_FIELD", "items", "items must have 1 to %d entries",
                      SVC_MAX_ITEMS);
    o->item_count = i;

    if ((err = take_string(obj, "currency", "currency", mode == SVC_ORDER_EVENT, SVC_CURRENCY_LEN,
                           o->currency, v)))
        return err;
    if (!o->currency[0])
        strcpy(o->currency, SVC_DEFAULT_CURRENCY);
    if (!currency_ok(o->currency))
        return reject(v, "INVALID_FIELD", "currency",
                      "currency must be a three-letter ISO 4217 code such as USD");

    if (mode == SVC_ORDER_EVENT) {
        int64_t stated;

        if ((err = take_money(obj, "total", "total", &stated, v)))
            return err;
        if (stated != o->total)
            return reject(v, "INVALID_FIELD", "total", "total does not match the items");
    }
    return EB_OK;
}

cJSON *svc_items_json(const svc_order_t *o)
{
    cJSON *arr = cJSON_CreateArray();

    for (size_t i = 0; arr && i < o->item_count; i++) {
        cJSON *item = cJSON_CreateObject();

        if (!item || !cJSON_AddItemToArray(arr, item) ||
            !cJSON_AddStringToObject(item, "productId", o->items[i].product_id) ||
            !cJSON_AddNumberToObject(item, "quantity", (double)o->items[i].quantity) ||
            !cJSON_AddItemToObject(item, "price", eb_money_to_json(o->items[i].price))) {
            cJSON_Delete(arr);
            return NULL;
        }
    }
    return arr;
}

/* The items of a payment event ([{productId, quantity}] into items) or of a
 * stock event (into stock: [{productId, quantity}], or with shortage
 * [{productId, requested, available}]). One of items and stock is NULL.
 * required: at least one item. */
static eb_err_t take_items(const cJSON *data, int required, int shortage, size_t *count,
                           svc_item_t *items, svc_stock_item_t *stock, svc_verr_t *v)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(data, "items"), *it;
    char field[64];
    size_t i = 0;
    eb_err_t err;

    *count = 0;
    if (!arr && !required)
        return EB_OK;
    if (!arr)
        return reject(v, "MISSING_FIELD", "items", "items is required");
    if (!cJSON_IsArray(arr))
        return reject(v, "INVALID_FIELD", "items", "items must be an array");
    cJSON_ArrayForEach(it, arr)
    {
        if (i == SVC_MAX_ITEMS)
            return reject(v, "INVALID_FIELD", "items", "items must have at most %d entries",
                          SVC_MAX_ITEMS);
        char *pid = stock ? stock[i].product_id : items[i].product_id;
        int64_t *qty = stock ? &stock[i].quantity : &items[i].quantity;

        snprintf(field, sizeof(field), "items[%zu]", i);
        if (!cJSON_IsObject(it))
            return reject(v, "INVALID_FIELD", field, "%s must be an object", field);
        snprintf(field, sizeof(field), "items[%zu].productId", i);
        if ((err = take_string(it, "productId", field, 1, SVC_ID_MAX, pid, v)))
            return err;
        if (!shortage) {
            snprintf(field, sizeof(field), "items[%zu].quantity", i);
            if ((err = take_int(it, "quantity", field, 1, 1,
                                stock ? SVC_MAX_PRODUCT_QUANTITY : SVC_MAX_QUANTITY, qty, v)))
                return err;
        } else {
            snprintf(field, sizeof(field), "items[%zu].requested", i);
            if ((err = take_int(it, "requested", field, 1, 1, SVC_MAX_PRODUCT_QUANTITY,
                                &stock[i].requested, v)))
                return err;
            snprintf(field, sizeof(field), "items[%zu].available", i);
            if ((err = take_int(it, "available", field, 1, 0, INT64_C(1) << 52, &stock[i].available,
                                v)))
                return err;
        }
        i++;
    }
    if (required && i == 0)
        return reject(v, "INVALID_FIELD", "items", "items must have 1 to %d entries",
                      SVC_MAX_ITEMS);
    *count = i;
    return EB_OK;
}

/* Adds a payment event's "items" to d; 0 when out of memory. */
static int add_items(cJSON *d, size_t n, const svc_item_t *items)
{
    cJSON *arr = cJSON_AddArrayToObject(d, "items");

    for (size_t i = 0; arr && i < n; i++) {
        cJSON *item = cJSON_CreateObject();

        if (!item || !cJSON_AddItemToArray(arr, item) ||
            !cJSON_AddStringToObject(item, "productId", items[i].product_id) ||
            !cJSON_AddNumberToObject(item, "quantity", (double)items[i].quantity))
            return 0;
    }
    return arr != NULL;
}

static eb_err_t fail(char *errstr, size_t size, const svc_verr_t *v)
{
    snprintf(errstr, size, "%s", v->message);
    return EB_ERR_INVALID;
}

eb_err_t svc_payment_parse(const cJSON *data, int failed, svc_payment_t *p, char *errstr,
                           size_t errstr_size)
{
    svc_verr_t v;

    memset(p, 0, sizeof(*p));
    p->failed = failed;
    if (!cJSON_IsObject(data)) {
        snprintf(errstr, errstr_size, "data must be a JSON object");
        return EB_ERR_INVALID;
    }
    if (take_string(data, "orderId", "orderId", 1, SVC_ID_MAX, p->order_id, &v) ||
        take_string(data, "userId", "userId", 0, SVC_ID_MAX, p->user_id, &v) ||
        take_money(data, "amount", "amount", &p->amount, &v) ||
        take_string(data, "currency", "currency", 1, SVC_CURRENCY_LEN, p->currency, &v))
        return fail(errstr, errstr_size, &v);
    if (!currency_ok(p->currency)) {
        snprintf(errstr, errstr_size, "currency must be a three-letter ISO 4217 code");
        return EB_ERR_INVALID;
    }
    if (!failed && take_string(data, "paymentId", "paymentId", 1, SVC_ID_MAX, p->payment_id, &v))
        return fail(errstr, errstr_size, &v);
    if (failed && (take_string(data, "reason", "reason", 1, sizeof(p->reason) - 1, p->reason, &v) ||
                   take_string(data, "code", "code", 1, sizeof(p->code) - 1, p->code, &v)))
        return fail(errstr, errstr_size, &v);
    if (!failed && take_items(data, 0, 0, &p->item_count, p->items, NULL, &v))
        return fail(errstr, errstr_size, &v);
    return EB_OK;
}

cJSON *svc_payment_json(const svc_payment_t *p)
{
    cJSON *d = cJSON_CreateObject();

    if (!d || !cJSON_AddStringToObject(d, "orderId", p->order_id) ||
        (!p->failed && !cJSON_AddStringToObject(d, "paymentId", p->payment_id)) ||
        (p->user_id[0] && !cJSON_AddStringToObject(d, "userId", p->user_id)) ||
        !cJSON_AddItemToObject(d, "amount", eb_money_to_json(p->amount)) ||
        !cJSON_AddStringToObject(d, "currency", p->currency) ||
        (p->failed && !cJSON_AddStringToObject(d, "reason", p->reason)) ||
        (p->failed && !cJSON_AddStringToObject(d, "code", p->code)) ||
        (!p->failed && p->item_count && !add_items(d, p->item_count, p->items))) {
        cJSON_Delete(d);
        return NULL;
    }
    return d;
}

char *svc_payment_render(const svc_payment_t *p, size_t *len)
{
    /* Keys and punctuation take 90 bytes, an item's 40 besides its id. */
    size_t cap = 90 + EB_MONEY_TEXT_MAX + EB_JSON_QUOTED_MAX(strlen(p->order_id)) +
                 EB_JSON_QUOTED_MAX(strlen(p->payment_id)) +
                 EB_JSON_QUOTED_MAX(strlen(p->user_id)) + EB_JSON_QUOTED_MAX(strlen(p->currency)) +
                 EB_JSON_QUOTED_MAX(strlen(p->reason)) + EB_JSON_QUOTED_MAX(strlen(p->code));
    char *out, *o;

    for (size_t i = 0; !p->failed && i < p->item_count; i++)
        cap += 40 + EB_JSON_UINT_MAX + EB_JSON_QUOTED_MAX(strlen(p->items[i].product_id));
    if (!(out = malloc(cap)))
        return NULL;
    /* The keys in svc_payment_json()'s order. */
    o = SVC_PUT_LIT(out, "{\"orderId\":");
    o = svc_put_str(o, p->order_id);
    if (!p->failed) {
        o = SVC_PUT_LIT(o, ",\"paymentId\":");
        o = svc_put_str(o, p->payment_id);
    }
    if (p->user_id[0]) {
        o = SVC_PUT_LIT(o, ",\"userId\":");
        o = svc_put_str(o, p->user_id);
    }
    o = SVC_PUT_LIT(o, ",\"amount\":");
    o += eb_money_format(p->amount, o, EB_MONEY_TEXT_MAX);
    o = SVC_PUT_LIT(o, ",\"currency\":");
    o = svc_put_str(o, p->currency);
    if (p->failed) {
        o = SVC_PUT_LIT(o, ",\"reason\":");
        o = svc_put_str(o, p->reason);
        o = SVC_PUT_LIT(o, ",\"code\":");
        o = svc_put_str(o, p->code);
    } else if (p->item_count) {
        o = SVC_PUT_LIT(o, ",\"items\":[");
        for (size_t i = 0; i < p->item_count; i++) {
            if (i)
                *o++ = ',';
            o = SVC_PUT_LIT(o, "{\"productId\":");
            o = svc_put_str(o, p->items[i].product_id);
            /* A quantity is whole and positive (svc_order_parse). */
            o = SVC_PUT_LIT(o, ",\"quantity\":");
            o = eb_json_uint(o, (uint64_t)p->items[i].quantity);
            *o++ = '}';
        }
        *o++ = ']';
    }
    *o++ = '}';
    *o = '\0';
    *len = (size_t)(o - out);
    return out;
}

/* ---- the saga's events ---------------------------------------------------------- */

static eb_err_t need_object(const cJSON *data, char *errstr, size_t errstr_size)
{
    if (cJSON_IsObject(data))
        return EB_OK;
    snprintf(errstr, errstr_size, "data must be a JSON object");
    return EB_ERR_INVALID;
}

eb_err_t svc_refund_parse(const cJSON *data, svc_refund_t *r, char *errstr, size_t errstr_size)
{
    svc_verr_t v;

    memset(r, 0, sizeof(*r));
    if (need_object(data, errstr, errstr_size))
        return EB_ERR_INVALID;
    if (take_string(data, "orderId", "orderId", 1, SVC_ID_MAX, r->order_id, &v) ||
        take_string(data, "paymentId", "paymentId", 1, SVC_ID_MAX, r->payment_id, &v) ||
        take_string(data, "userId", "userId", 0, SVC_ID_MAX, r->user_id, &v) ||
        take_money(data, "amount", "amount", &r->amount, &v) ||
        take_string(data, "currency", "currency", 1, SVC_CURRENCY_LEN, r->currency, &v) ||
        take_string(data, "reason", "reason", 1, sizeof(r->reason) - 1, r->reason, &v))
        return fail(errstr, errstr_size, &v);
    if (!currency_ok(r->currency)) {
        snprintf(errstr, errstr_size, "currency must be a three-letter ISO 4217 code");
        return EB_ERR_INVALID;
    }
    return EB_OK;
}

cJSON *svc_refund_json(const svc_refund_t *r)
{
    cJSON *d = cJSON_CreateObject();

    if (!d || !cJSON_AddStringToObject(d, "orderId", r->order_id) ||
        !cJSON_AddStringToObject(d, "paymentId", r->payment_id) ||
        (r->user_id[0] && !cJSON_AddStringToObject(d, "userId", r->user_id)) ||
        !cJSON_AddItemToObject(d, "amount", eb_money_to_json(r->amount)) ||
        !cJSON_AddStringToObject(d, "currency", r->currency) ||
        !cJSON_AddStringToObject(d, "reason", r->reason)) {
        cJSON_Delete(d);
        return NULL;
    }
    return d;
}

eb_err_t svc_order_change_parse(const cJSON *data, int cancelled, svc_order_change_t *c,
                                char *errstr, size_t errstr_size)
{
    svc_verr_t v;

    memset(c, 0, sizeof(*c));
    if (need_object(data, errstr, errstr_size))
        return EB_ERR_INVALID;
    if (take_string(data, "orderId", "orderId", 1, SVC_ID_MAX, c->order_id, &v) ||
        take_string(data, "userId", "userId", 0, SVC_ID_MAX, c->user_id, &v) ||
        (cancelled &&
         take_string(data, "reason", "reason", 1, sizeof(c->reason) - 1, c->reason, &v)))
        return fail(errstr, errstr_size, &v);
    return EB_OK;
}

cJSON *svc_order_change_json(const svc_order_change_t *c)
{
    cJSON *d = cJSON_CreateObject();

    if (!d || !cJSON_AddStringToObject(d, "orderId", c->order_id) ||
        (c->user_id[0] && !cJSON_AddStringToObject(d, "userId", c->user_id)) ||
        (c->reason[0] && !cJSON_AddStringToObject(d, "reason", c->reason))) {
        cJSON_Delete(d);
        return NULL;
    }
    return d;
}

eb_err_t svc_stock_parse(const cJSON *data, int insufficient, svc_stock_t *s, char *errstr,
                         size_t errstr_size)
{
    svc_verr_t v;

    memset(s, 0, sizeof(*s));
    s->insufficient = insufficient;
    if (need_object(data, errstr, errstr_size))
        return EB_ERR_INVALID;
    if (take_string(data, "orderId", "orderId", 1, SVC_ID_MAX, s->order_id, &v))
        return fail(errstr, errstr_size, &v);
    if (take_items(data, insufficient, insufficient, &s->item_count, NULL, s->items, &v))
        return fail(errstr, errstr_size, &v);
    return EB_OK;
}

cJSON *svc_stock_json(const svc_stock_t *s)
{
    cJSON *d = cJSON_CreateObject();
    cJSON *arr = d && cJSON_AddStringToObject(d, "orderId", s->order_id)
                     ? cJSON_AddArrayToObject(d, "items")
                     : NULL;

    for (size_t i = 0; arr && i < s->item_count; i++) {
        const svc_stock_item_t *it = &s->items[i];
        cJSON *item = cJSON_CreateObject();

        if (!item || !cJSON_AddItemToArray(arr, item) ||
            !cJSON_AddStringToObject(item, "productId", it->product_id) ||
            (s->insufficient
                 ? !cJSON_AddNumberToObject(item, "requested", (double)it->requested) ||
                       !cJSON_AddNumberToObject(item, "available", (double)it->available)
                 : !cJSON_AddNumberToObject(item, "quantity", (double)it->quantity)))
            arr = NULL;
    }
    if (!arr) {
        cJSON_Delete(d);
        return NULL;
    }
    return d;
}

/* local@domain.tld, visible ASCII, no spaces: what a sign-up form checks. */
static int email_ok(const char *e)
{
    const char *at = strchr(e, '@'), *dot;

    if (!at || at == e || strchr(at + 1, '@'))
        return 0;
    for (const char *c = e; *c; c++)
        if (*c <= 0x20 || *c >= 0x7f)
            return 0;
    dot = strrchr(at + 1, '.');
    return dot && dot > at + 1 && dot[1] != '\0';
}

eb_err_t svc_user_parse(const cJSON *obj, svc_user_mode_t mode, svc_user_t *u, svc_verr_t *v)
{
    eb_err_t err;

    memset(u, 0, sizeof(*u));
    u->age = -1;
    if (!cJSON_IsObject(obj))
        return reject(v, "INVALID_JSON", "", "the user must be a JSON object");
    if (mode == SVC_USER_EVENT &&
        ((err = take_string(obj, "userId", "userId", 1, SVC_ID_MAX, u->user_id, v)) ||
         (err = take_string(obj, "createdAt", "createdAt", 1, sizeof(u->created_at) - 1,
                            u->created_at, v))))
        return err;
    if ((err = take_string(obj, "name", "name", 1, SVC_NAME_MAX, u->name, v)) ||
        (err = take_string(obj, "email", "email", 1, SVC_EMAIL_MAX, u->email, v)) ||
        (err = take_int(obj, "age", "age", 0, 0, SVC_AGE_MAX, &u->age, v)))
        return err;
    if (!email_ok(u->email))
        return reject(v, "INVALID_FIELD", "email",
                      "email must be an address such as a@example.com");
    return EB_OK;
}

cJSON *svc_user_json(const svc_user_t *u)
{
    cJSON *d = cJSON_CreateObject();

    if (!d || !cJSON_AddStringToObject(d, "userId", u->user_id) ||
        !cJSON_AddStringToObject(d, "name", u->name) ||
        !cJSON_AddStringToObject(d, "email", u->email) ||
        !(u->age >= 0 ? cJSON_AddNumberToObject(d, "age", (double)u->age)
                      : cJSON_AddNullToObject(d, "age")) ||
        !cJSON_AddStringToObject(d, "createdAt", u->created_at)) {
        cJSON_Delete(d);
        return NULL;
    }
    return d;
}

/* ---- versions ------------------------------------------------------------------- */

eb_err_t svc_upcast_payment_failed_v2(cJSON *data, char *errstr, size_t errstr_size)
{
    const cJSON *reason = cJSON_GetObjectItemCaseSensitive(data, "reason");
    const char *code = PAYMENT_CODE_UNSPECIFIED;

    if (!cJSON_IsString(reason)) {
        snprintf(errstr, errstr_size, "no reason to derive the code from");
        return EB_ERR_BAD_EVENT;
    }
    if (strcmp(reason->valuestring, PAYMENT_REASON_LIMIT) == 0)
        code = PAYMENT_CODE_LIMIT;
    cJSON_DeleteItemFromObjectCaseSensitive(data, "code");
    if (!cJSON_AddStringToObject(data, "code", code)) {
        snprintf(errstr, errstr_size, "out of memory");
        return EB_ERR_BAD_EVENT;
    }
    return EB_OK;
}

static eb_schemas_t *schemas;
static pthread_once_t schemas_once = PTHREAD_ONCE_INIT;

static void schemas_build(void)
{
    static const struct {
        const char *type, *urn;
        int version;
        eb_upcast_fn *up;
    } v[] = {
        {TYPE_ORDER_CREATED, SCHEMA_URN(TYPE_ORDER_CREATED, 1), 1, NULL},
        {TYPE_PAYMENT_PROCESSED, SCHEMA_URN(TYPE_PAYMENT_PROCESSED, 1), 1, NULL},
        {TYPE_PAYMENT_FAILED, SCHEMA_URN(TYPE_PAYMENT_FAILED, 1), 1, NULL},
        {TYPE_PAYMENT_FAILED, SCHEMA_URN(TYPE_PAYMENT_FAILED, 2), 2, svc_upcast_payment_failed_v2},
        {TYPE_PAYMENT_REFUNDED, SCHEMA_URN(TYPE_PAYMENT_REFUNDED, 1), 1, NULL},
        {TYPE_INVENTORY_RESERVED, SCHEMA_URN(TYPE_INVENTORY_RESERVED, 1), 1, NULL},
        {TYPE_INVENTORY_INSUFFICIENT, SCHEMA_URN(TYPE_INVENTORY_INSUFFICIENT, 1), 1, NULL},
        {TYPE_INVENTORY_RELEASED, SCHEMA_URN(TYPE_INVENTORY_RELEASED, 1), 1, NULL},
        {TYPE_ORDER_CANCELLED, SCHEMA_URN(TYPE_ORDER_CANCELLED, 1), 1, NULL},
        {TYPE_ORDER_COMPLETED, SCHEMA_URN(TYPE_ORDER_COMPLETED, 1), 1, NULL},
        {TYPE_USER_REGISTERED, SCHEMA_URN(TYPE_USER_REGISTERED, 1), 1, NULL},
        {TYPE_USER_UPDATED, SCHEMA_URN(TYPE_USER_UPDATED, 1), 1, NULL},
    };
    eb_schemas_t *s = eb_schemas_new();

    for (size_t i = 0; s && i < sizeof(v) / sizeof(v[0]); i++)
        if (eb_schemas_add(s, v[i].type, v[i].version, v[i].urn, v[i].up) != EB_OK) {
            eb_schemas_free(s);
            s = NULL;
        }
    if (!s) {
        /* Without it, version-1 events would be dead-lettered: a daemon
         * must not start so. Only at start-up, before any connection. */
        fputs("out of memory building the event versions registry\n", stderr);
        exit(1);
    }
    schemas = s;
}

const eb_schemas_t *svc_schemas(void)
{
    pthread_once(&schemas_once, schemas_build);
    return schemas;
}

eb_err_t svc_stamp(eb_event_t *ev)
{
    const eb_schemas_t *s = svc_schemas();

    return s ? eb_schemas_stamp(s, ev) : EB_ERR_NOMEM;
}
