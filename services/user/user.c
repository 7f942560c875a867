/*
 * Users: records, events, documents.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "user.h"

eb_err_t user_parse_request(const char *body, size_t len, svc_user_t *out, svc_verr_t *verr)
{
    char why[128];
    cJSON *json = eb_json_parse(body, len, EB_JSON_MAX_DEPTH, why, sizeof(why));
    eb_err_t err;

    if (!json) {
        memset(out, 0, sizeof(*out));
        out->age = -1;
        verr->code = "INVALID_JSON";
        verr->field[0] = '\0';
        snprintf(verr->message, sizeof(verr->message), "the request body is not valid JSON: %s",
                 why);
        return EB_ERR_INVALID;
    }
    err = svc_user_parse(json, SVC_USER_REQUEST, out, verr);
    cJSON_Delete(json);
    return err;
}

cJSON *user_json(const svc_user_t *u, const char *updated_at)
{
    cJSON *d = svc_user_json(u);

    if (d && updated_at && updated_at[0] && !cJSON_AddStringToObject(d, "updatedAt", updated_at)) {
        cJSON_Delete(d);
        return NULL;
    }
    return d;
}

char *user_render(const svc_user_t *u, const char *updated_at, size_t *len)
{
    cJSON *d = user_json(u, updated_at);
    char *out = d ? cJSON_PrintUnformatted(d) : NULL;

    cJSON_Delete(d);
    if (out && len)
        *len = strlen(out);
    return out;
}

/* Fills o's document and event from o->user and o->updated_at. */
static eb_err_t build(user_record_t *o, const char *type)
{
    cJSON *data = user_json(&o->user, o->updated_at);
    eb_event_t ev;

    o->topic = strcmp(type, TYPE_USER_REGISTERED) == 0 ? TOPIC_USER_REGISTERED : TOPIC_USER_UPDATED;
    if (!data || !(o->doc = cJSON_PrintUnformatted(data))) {
        cJSON_Delete(data);
        return EB_ERR_NOMEM;
    }
    o->doc_len = strlen(o->doc);
    /* The event takes data. */
    if (eb_event_init(&ev, type, SOURCE_USER_SERVICE, o->user.user_id, NULL, data) != EB_OK) {
        cJSON_Delete(data);
        return EB_ERR_NOMEM;
    }
    /* correlationid: the user (see user.h); causationid stays the own id. */
    snprintf(ev.correlationid, sizeof(ev.correlationid), "%s", o->user.user_id);
    memcpy(o->event_id, ev.id, sizeof(o->event_id));
    o->event = svc_stamp(&ev) == EB_OK ? eb_event_encode(&ev, &o->event_len) : NULL;
    eb_event_close(&ev);
    return o->event ? EB_OK : EB_ERR_NOMEM;
}

eb_err_t user_record_register(const svc_user_t *req, user_record_t *o)
{
    memset(o, 0, sizeof(*o));
    o->user = *req;
    eb_uuid_generate(o->user.user_id);
    eb_time_format(eb_time_now_ms(), o->user.created_at);
    return build(o, TYPE_USER_REGISTERED);
}

eb_err_t user_record_update(const svc_user_t *req, const char *user_id, const char *created_at,
                            user_record_t *o)
{
    memset(o, 0, sizeof(*o));
    o->user = *req;
    if (strlen(user_id) == 0 || strlen(user_id) > SVC_ID_MAX || strlen(created_at) == 0 ||
        strlen(created_at) >= sizeof(o->user.created_at))
        return EB_ERR_INVALID;
    memcpy(o->user.user_id, user_id, strlen(user_id) + 1);
    memcpy(o->user.created_at, created_at, strlen(created_at) + 1);
    eb_time_format(eb_time_now_ms(), o->updated_at);
    return build(o, TYPE_USER_UPDATED);
}

void user_record_close(user_record_t *o)
{
    cJSON_free(o->doc);
    free(o->event);
    memset(o, 0, sizeof(*o));
}
