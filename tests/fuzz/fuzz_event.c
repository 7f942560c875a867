/*
 * libFuzzer harness: the CloudEvents decoder and the consumers' data
 * validation and rendering.
 *
 * Input: a Kafka record value. Properties checked besides memory errors: a
 * decoded event encodes and decodes again to the same attributes; data the
 * validators accept renders as a notification.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/domain.h"
#include "eventbus/envelope.h"
#include "notification/notify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static svc_order_t order;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    eb_event_t ev, again;
    char errstr[256], *out, *line = NULL;
    size_t len, line_len;
    svc_payment_t pay;
    svc_verr_t verr;

    if (eb_event_decode(data, size, &ev, errstr, sizeof(errstr)) != EB_OK) {
        if (!errstr[0])
            abort();
        return 0;
    }
    out = eb_event_encode(&ev, &len);
    if (!out)
        abort();
    if (eb_event_decode(out, len, &again, errstr, sizeof(errstr)) != EB_OK)
        abort(); /* what we decode, we can encode and decode again */
    if (strcmp(ev.id, again.id) || strcmp(ev.type, again.type) || strcmp(ev.source, again.source) ||
        strcmp(ev.subject, again.subject) || strcmp(ev.correlationid, again.correlationid) ||
        strcmp(ev.causationid, again.causationid))
        abort();
    free(out);
    eb_event_close(&again);

    if (strcmp(ev.type, TYPE_ORDER_CREATED) == 0)
        (void)svc_order_parse(ev.data, SVC_ORDER_EVENT, &order, &verr);
    else if (strcmp(ev.type, TYPE_PAYMENT_PROCESSED) == 0 ||
             strcmp(ev.type, TYPE_PAYMENT_FAILED) == 0)
        (void)svc_payment_parse(ev.data, strcmp(ev.type, TYPE_PAYMENT_FAILED) == 0, &pay, errstr,
                                sizeof(errstr));
    if (notify_render(&ev, "2026-11-21T10:30:00.000Z", &line, &line_len, errstr, sizeof(errstr)) ==
        EB_OK) {
        if (!line || line_len == 0 || line[line_len - 1] != '\n')
            abort();
        free(line);
    }
    eb_event_close(&ev);
    return 0;
}
