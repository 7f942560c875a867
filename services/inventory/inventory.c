/*
 * Stock and order outcomes: the pure parts.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inventory.h"

eb_err_t inventory_merge(const svc_payment_t *p, svc_stock_t *out, char *errstr, size_t errstr_size)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->order_id, sizeof(out->order_id), "%s", p->order_id);
    if (p->item_count == 0) {
        snprintf(errstr, errstr_size, "PaymentProcessed for %s carries no items to reserve",
                 p->order_id);
        return EB_ERR_INVALID;
    }
    for (size_t i = 0; i < p->item_count && i < SVC_MAX_ITEMS; i++) {
        const svc_item_t *it = &p->items[i];
        size_t j;

        /* inventory:order:<id> holds the outcomes: a product named
         * "order:<id>" would share its key. */
        if (strncmp(it->product_id, "order:", 6) == 0) {
            snprintf(errstr, errstr_size, "items[%zu].productId must not begin with \"order:\"", i);
            return EB_ERR_INVALID;
        }
        for (j = 0; j < out->item_count; j++)
            if (strcmp(out->items[j].product_id, it->product_id) == 0)
                break;
        if (j == out->item_count) {
            memcpy(out->items[j].product_id, it->product_id, sizeof(out->items[j].product_id));
            out->item_count++;
        }
        /* At most 100 items of at most 10^4 each: no overflow. */
        out->items[j].quantity += it->quantity;
    }
    return EB_OK;
}

eb_err_t inventory_parse_put(const char *body, size_t len, int64_t *available, svc_verr_t *verr)
{
    char why[128];
    cJSON *json = eb_json_parse(body, len, EB_JSON_MAX_DEPTH, why, sizeof(why));
    const cJSON *a;
    eb_err_t err = EB_ERR_INVALID;

    verr->field[0] = '\0';
    if (!json) {
        verr->code = "INVALID_JSON";
        snprintf(verr->message, sizeof(verr->message), "the request body is not valid JSON: %s",
                 why);
        return EB_ERR_INVALID;
    }
    a = cJSON_GetObjectItemCaseSensitive(json, "available");
    if (!cJSON_IsObject(json)) {
        verr->code = "INVALID_JSON";
        snprintf(verr->message, sizeof(verr->message), "the stock must be a JSON object");
    } else if (!a) {
        verr->code = "MISSING_FIELD";
        snprintf(verr->field, sizeof(verr->field), "available");
        snprintf(verr->message, sizeof(verr->message), "available is required");
    } else if (!cJSON_IsNumber(a) || a->valuedouble != floor(a->valuedouble) ||
               a->valuedouble < 0 || a->valuedouble > (double)INVENTORY_MAX_STOCK) {
        verr->code = "INVALID_FIELD";
        snprintf(verr->field, sizeof(verr->field), "available");
        snprintf(verr->message, sizeof(verr->message),
                 "available must be an integer from 0 to %lld", (long long)INVENTORY_MAX_STOCK);
    } else {
        *available = (int64_t)a->valuedouble;
        err = EB_OK;
    }
    cJSON_Delete(json);
    return err;
}

char *inventory_render(const inventory_stock_t *s, size_t *len)
{
    cJSON *o = cJSON_CreateObject();
    char *out = NULL;

    /* Counters stay below 2^53: exact as JSON numbers. */
    if (o && cJSON_AddStringToObject(o, "productId", s->product_id) &&
        cJSON_AddNumberToObject(o, "available", (double)s->available) &&
        cJSON_AddNumberToObject(o, "reserved", (double)s->reserved) &&
        cJSON_AddNumberToObject(o, "shipped", (double)s->shipped))
        out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (out)
        *len = strlen(out);
    return out;
}

int64_t inventory_counter(const char *s, int64_t dflt)
{
    char *end;
    long long v;

    if (!s || !*s)
        return dflt;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end || end == s)
        return -1;
    return v;
}

char *inventory_json_string(const char *s)
{
    cJSON *str = cJSON_CreateString(s);
    char *out = str ? cJSON_PrintUnformatted(str) : NULL;

    cJSON_Delete(str);
    return out;
}

eb_err_t inventory_event_cut(inventory_event_t *e)
{
    static const char key[] = "\"items\":[]";
    const size_t klen = sizeof(key) - 1;
    const char *at = e->json ? strstr(e->json, key) : NULL;

    if (!at || strstr(at + 1, key))
        return EB_ERR_INVALID;
    e->head_len = (size_t)(at - e->json) + klen - 2; /* up to "items": */
    e->tail = at + klen;
    e->tail_len = e->len - (size_t)(e->tail - e->json);
    return EB_OK;
}

eb_err_t inventory_event_prepare(inventory_event_t *e, const eb_event_t *cause, const char *type,
                                 const char *order_id, const svc_stock_t *s)
{
    svc_stock_t *empty = NULL;
    eb_event_t ev;
    cJSON *data;
    eb_err_t err;

    memset(e, 0, sizeof(*e));
    if (!s) {
        if (!(empty = calloc(1, sizeof(*empty))))
            return EB_ERR_NOMEM;
        snprintf(empty->order_id, sizeof(empty->order_id), "%s", order_id);
        empty->insufficient = strcmp(type, TYPE_INVENTORY_INSUFFICIENT) == 0;
    }
    data = svc_stock_json(s ? s : empty);
    free(empty);
    if (!data)
        return EB_ERR_NOMEM;
    /* eb_event_derive takes data only when it succeeds. */
    err = eb_event_derive(&ev, type, SOURCE_INVENTORY_SERVICE, order_id, cause, data);
    if (err) {
        cJSON_Delete(data);
        return err;
    }
    e->json = svc_stamp(&ev) == EB_OK ? eb_event_encode(&ev, &e->len) : NULL;
    eb_event_close(&ev);
    if (!e->json)
        return EB_ERR_NOMEM;
    if (!s && inventory_event_cut(e) != EB_OK) {
        inventory_event_close(e);
        return EB_ERR_INVALID;
    }
    return EB_OK;
}

void inventory_event_close(inventory_event_t *e)
{
    free(e->json);
    memset(e, 0, sizeof(*e));
}

char *inventory_items_json(const svc_stock_t *s)
{
    cJSON *data = svc_stock_json(s);
    char *out =
        data ? cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(data, "items")) : NULL;

    cJSON_Delete(data);
    return out;
}
