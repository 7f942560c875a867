/*
 * User HTTP API: the routes of user-service; eventbus/api.h does the HTTP
 * around them.
 *
 * A PUT checks the body before the user: an invalid body is 400 whether
 * or not the user exists; a valid one for an unknown user is 404 and
 * writes nothing.
 */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "store.h"
#include "user.h"

/* An update that races another could in principle find a different
 * createdAt (never, unless a user is deleted and created again under the
 * same id); it reads again this many times. */
#define UPDATE_ATTEMPTS 3

static enum MHD_Result reply_doc(eb_api_req_t *q, unsigned int status, const char *doc, size_t len,
                                 const char *user_id)
{
    char location[32 + SVC_ID_MAX];

    snprintf(location, sizeof(location), "/users/%s", user_id);
    return eb_api_reply(q, status, doc, len, status == MHD_HTTP_CREATED ? location : NULL);
}

static enum MHD_Result no_memory(eb_api_req_t *q)
{
    return eb_api_error(q, MHD_HTTP_INTERNAL_SERVER_ERROR, "INTERNAL", "out of memory", NULL);
}

static enum MHD_Result no_user(eb_api_req_t *q)
{
    return eb_api_error(q, MHD_HTTP_NOT_FOUND, "NOT_FOUND", "no such user", NULL);
}

/* Parses the body into req; on failure answers 400 and returns 0. */
static int parse_body(eb_api_req_t *q, svc_user_t *req, enum MHD_Result *ret)
{
    svc_verr_t verr;
    size_t len;
    const char *body = eb_api_body(q, &len);

    if (user_parse_request(body, len, req, &verr) == EB_OK)
        return 1;
    *ret = eb_api_error(q, MHD_HTTP_BAD_REQUEST, verr.code, verr.message,
                        verr.field[0] ? verr.field : NULL);
    return 0;
}

static enum MHD_Result post_user(eb_api_req_t *q, void *opaque)
{
    eb_trace_t trace;
    svc_user_t req;
    user_record_t o;
    enum MHD_Result ret;

    (void)opaque;
    if (!parse_body(q, &req, &ret))
        return ret;
    eb_api_trace(q, &trace);
    if (user_record_register(&req, &o) != EB_OK)
        ret = no_memory(q);
    else if (user_store_create(eb_api_redis(q), &o, &trace) != EB_OK)
        ret = eb_api_unavailable(q);
    else
        ret = reply_doc(q, MHD_HTTP_CREATED, o.doc, o.doc_len, o.user.user_id);
    user_record_close(&o);
    return ret;
}

static enum MHD_Result put_user(eb_api_req_t *q, void *opaque)
{
    const char *id = eb_api_param(q);
    char created_at[40];
    eb_trace_t trace;
    svc_user_t req;
    user_record_t o;
    enum MHD_Result ret;
    eb_err_t err = EB_ERR_CONFLICT;

    (void)opaque;
    if (!parse_body(q, &req, &ret))
        return ret;
    eb_api_trace(q, &trace);
    memset(&o, 0, sizeof(o));
    for (int i = 0; i < UPDATE_ATTEMPTS && err == EB_ERR_CONFLICT; i++) {
        user_record_close(&o);
        err = user_store_created_at(eb_api_redis(q), id, created_at);
        if (err != EB_OK)
            break;
        err = user_record_update(&req, id, created_at, &o);
        if (err == EB_OK)
            err = user_store_update(eb_api_redis(q), &o, &trace);
        else if (err == EB_ERR_INVALID)
            err = EB_ERR_NOT_FOUND; /* an id or createdAt we never wrote */
    }
    if (err == EB_OK)
        ret = reply_doc(q, MHD_HTTP_OK, o.doc, o.doc_len, id);
    else if (err == EB_ERR_NOT_FOUND)
        ret = no_user(q);
    else if (err == EB_ERR_NOMEM)
        ret = no_memory(q);
    else if (err == EB_ERR_CONFLICT)
        ret = eb_api_error(q, MHD_HTTP_CONFLICT, "CONFLICT",
                           "the user changed while it was being updated; retry", NULL);
    else
        ret = eb_api_unavailable(q);
    user_record_close(&o);
    return ret;
}

static enum MHD_Result get_user(eb_api_req_t *q, void *opaque)
{
    char updated_at[EB_TIME_LEN + 1];
    svc_user_t u;
    size_t len;
    char *doc;
    enum MHD_Result ret;
    eb_err_t err;

    (void)opaque;
    err = user_store_load(eb_api_redis(q), eb_api_param(q), &u, updated_at);
    if (err == EB_ERR_NOT_FOUND)
        return no_user(q);
    if (err)
        return eb_api_unavailable(q);
    doc = user_render(&u, updated_at, &len);
    if (!doc)
        return no_memory(q);
    ret = reply_doc(q, MHD_HTTP_OK, doc, len, u.user_id);
    cJSON_free(doc);
    return ret;
}

static const eb_api_route_t routes[] = {
    {MHD_HTTP_METHOD_POST, "/users", post_user, 1},
    {MHD_HTTP_METHOD_GET, "/users/{id}", get_user, 0},
    {MHD_HTTP_METHOD_PUT, "/users/{id}", put_user, 1},
};

eb_api_t *user_api_new(const eb_api_opts_t *opts)
{
    eb_api_opts_t ao = *opts;

    ao.routes = routes;
    ao.route_count = sizeof(routes) / sizeof(routes[0]);
    ao.unavailable = "the user store (Redis) is unreachable; retry later";
    ao.opaque = NULL;
    return eb_api_new(&ao);
}
