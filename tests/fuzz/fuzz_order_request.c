/*
 * libFuzzer harness: the POST /orders body parser and validator.
 *
 * Input: a request body. Besides memory errors (ASan/UBSan), it checks a
 * property: a body the validator accepts becomes an order whose OrderCreated
 * event decodes and validates on the consumers' side with the same total and
 * items, and whose JSON renders.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eventbus/envelope.h"
#include "order/order.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static svc_order_t req, back;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    order_record_t rec;
    order_view_t view;
    svc_verr_t verr;
    eb_event_t ev;
    char errstr[256];
    char *json;

    if (order_parse_request((const char *)data, size, &req, &verr) != EB_OK) {
        if (!verr.code || !verr.message[0])
            abort(); /* every rejection must say why */
        return 0;
    }
    if (order_record_init(&req, &rec) != EB_OK) {
        order_record_close(&rec);
        return 0;
    }
    if (eb_event_decode(rec.event, rec.event_len, &ev, errstr, sizeof(errstr)) != EB_OK)
        abort();
    if (svc_order_parse(ev.data, SVC_ORDER_EVENT, &back, &verr) != EB_OK)
        abort(); /* what intake accepts, consumers must accept */
    if (back.total != req.total || back.item_count != req.item_count ||
        strcmp(back.user_id, req.user_id) != 0 || strcmp(back.currency, req.currency) != 0)
        abort();
    for (size_t i = 0; i < req.item_count; i++)
        if (back.items[i].price != req.items[i].price ||
            back.items[i].quantity != req.items[i].quantity ||
            strcmp(back.items[i].product_id, req.items[i].product_id) != 0)
            abort();
    order_record_view(&rec, &req, &view);
    json = order_render(&view, NULL);
    if (!json)
        abort();
    free(json);
    eb_event_close(&ev);
    order_record_close(&rec);
    return 0;
}
