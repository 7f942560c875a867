/*
 * A program built against the *installed* eventbus library (tests/install/
 * check.sh builds it twice: with pkg-config and with find_package). It makes
 * a CloudEvent, encodes it, decodes it back and checks the round trip, and
 * includes every public header through eventbus/eventbus.h and
 * eventbus/http.h, so that a header missing from the install fails here.
 */
#include <stdio.h>
#include <string.h>

#include <eventbus/eventbus.h>
#include <eventbus/http.h>

int main(void)
{
    eb_event_t ev, back;
    char errstr[256] = "";
    cJSON *data = cJSON_CreateObject();
    eb_backoff_t b;
    size_t len = 0;
    char *doc;
    int ok;

    cJSON_AddStringToObject(data, "orderId", "o-1");
    if (eb_event_init(&ev, "InstallChecked", "/install-check", "o-1", NULL, data) != EB_OK) {
        fprintf(stderr, "eb_event_init failed\n");
        cJSON_Delete(data);
        return 1;
    }
    doc = eb_event_encode(&ev, &len);
    if (!doc || eb_event_decode(doc, len, &back, errstr, sizeof(errstr)) != EB_OK) {
        fprintf(stderr, "round trip failed: %s\n", errstr);
        return 1;
    }
    eb_backoff_init(&b, 100, 1000, 0);
    ok = strcmp(ev.id, back.id) == 0 && strcmp(back.type, "InstallChecked") == 0 &&
         strcmp(cJSON_GetObjectItem(back.data, "orderId")->valuestring, "o-1") == 0 &&
         eb_backoff_next(&b) == 100 && strcmp(eb_err2str(EB_ERR_INVALID), "") != 0;
    printf("%s %s\n", ok ? "ok" : "MISMATCH", doc);
    cJSON_free(doc);
    eb_event_close(&back);
    eb_event_close(&ev);
    return ok ? 0 : 1;
}
