/*
 * Order HTTP API: the routes of order-service on the suite's JSON API
 * server (eventbus/api.h), which does the HTTP around them.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "eventbus/envelope.h"
#include "eventbus/log.h"
#include "order.h"
#include "store.h"

struct order_api_s {
    order_api_opts_t o;
    eb_api_t *api;
};

static enum MHD_Result reply_order(eb_api_req_t *q, unsigned int status, const order_view_t *v)
{
    char location[96];
    size_t len;
    char *body = order_render(v, &len);
    enum MHD_Result ret;

    if (!body)
        return eb_api_error(q, MHD_HTTP_INTERNAL_SERVER_ERROR, "INTERNAL", "out of memory", NULL);
    snprintf(location, sizeof(location), "/orders/%s", v->order_id);
    ret = eb_api_reply(q, status, body, len, status == MHD_HTTP_CREATED ? location : NULL);
    free(body);
    return ret;
}

/* Idempotency-Key: 1..255 visible ASCII characters. */
static int valid_idem_key(const char *k)
{
    size_t n = strlen(k);

    if (n == 0 || n > 255)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (k[i] < 0x21 || k[i] > 0x7e)
            return 0;
    return 1;
}

/* ---- handlers ----------------------------------------------------------------- */

static enum MHD_Result send_order(eb_api_req_t *q, const char *id)
{
    order_view_t v;
    eb_redis_pipeline_t *held = NULL;
    eb_err_t err;
    enum MHD_Result ret;

    err = order_store_load(eb_api_redis(q), id, &v, &held);
    if (err == EB_ERR_NOT_FOUND)
        return eb_api_error(q, MHD_HTTP_NOT_FOUND, "NOT_FOUND", "no such order", NULL);
    if (err)
        return eb_api_unavailable(q);
    ret = reply_order(q, MHD_HTTP_OK, &v);
    eb_redis_pipeline_destroy(held);
    return ret;
}

static enum MHD_Result get_order(eb_api_req_t *q, void *opaque)
{
    (void)opaque;
    return send_order(q, eb_api_param(q));
}

static enum MHD_Result post_order(eb_api_req_t *q, void *opaque)
{
    order_api_t *a = opaque;
    const char *ikey = eb_api_header(q, "Idempotency-Key");
    const char *body;
    size_t body_len;
    char existing[EB_UUID_LEN + 1];
    eb_trace_t trace;
    svc_order_t *req = NULL;
    order_record_t o;
    order_view_t v;
    svc_verr_t verr;
    order_store_outcome_t outcome;
    enum MHD_Result ret;
    eb_err_t err;

    if (ikey && !valid_idem_key(ikey))
        return eb_api_error(q, MHD_HTTP_BAD_REQUEST, "INVALID_FIELD",
                            "Idempotency-Key must be 1 to 255 visible ASCII characters",
                            "Idempotency-Key");
    req = malloc(sizeof(*req));
    if (!req)
        return eb_api_error(q, MHD_HTTP_INTERNAL_SERVER_ERROR, "INTERNAL", "out of memory", NULL);
    body = eb_api_body(q, &body_len);
    if (order_parse_request(body, body_len, req, &verr) != EB_OK) {
        free(req);
        return eb_api_error(q, MHD_HTTP_BAD_REQUEST, verr.code, verr.message, verr.field);
    }

    /* This request's span: a child of the caller's, or a new trace. */
    eb_api_trace(q, &trace);

    if (order_record_init(req, &o) != EB_OK) {
        ret = eb_api_error(q, MHD_HTTP_INTERNAL_SERVER_ERROR, "INTERNAL", "out of memory", NULL);
        goto out;
    }
    err = order_store_create(eb_api_redis(q), &o, req, &trace, ikey, a->o.idem_ttl_s, &outcome,
                             existing);
    if (err) {
        ret = eb_api_unavailable(q);
    } else if (outcome == ORDER_STORE_CREATED) {
        order_record_view(&o, req, &v);
        ret = reply_order(q, MHD_HTTP_CREATED, &v);
    } else if (outcome == ORDER_STORE_KEY_MISMATCH) {
        ret = eb_api_error(q, MHD_HTTP_UNPROCESSABLE_CONTENT, "IDEMPOTENCY_KEY_REUSED",
                           "this Idempotency-Key was used with a different request",
                           "Idempotency-Key");
    } else {
        ret = send_order(q, existing); /* the first order, 200 */
    }
out:
    order_record_close(&o);
    free(req);
    return ret;
}

/* POST /orders/<id>/cancel and PUT /orders/<id>/complete: the status
 * change and its event in the outbox, atomically, only from a status that
 * allows it (lifecycle.h); 409 INVALID_STATE otherwise. */
static enum MHD_Result change_order(eb_api_req_t *q, const order_api_t *a, int cancel)
{
    const char *id = eb_api_param(q);
    char event_id[EB_UUID_LEN + 1], current[64], msg[160];
    eb_trace_t trace;
    eb_redis_pipeline_t *held = NULL;
    order_view_t v;
    size_t len = 0;
    char *event = NULL;
    eb_err_t err;

    err = order_store_load(eb_api_redis(q), id, &v, &held);
    if (err == EB_ERR_NOT_FOUND)
        return eb_api_error(q, MHD_HTTP_NOT_FOUND, "NOT_FOUND", "no such order", NULL);
    if (err)
        return eb_api_unavailable(q);
    event = order_change_event(&v, cancel, event_id, &len);
    eb_redis_pipeline_destroy(held); /* v is not used after this */
    if (!event)
        return eb_api_error(q, MHD_HTTP_INTERNAL_SERVER_ERROR, "INTERNAL", "out of memory", NULL);
    eb_api_trace(q, &trace);

    const eb_outbox_entry_t e = {cancel ? TOPIC_ORDER_CANCELLED : TOPIC_ORDER_COMPLETED,
                                 id,
                                 event,
                                 len,
                                 event_id,
                                 trace.traceparent,
                                 trace.tracestate};

    err = order_store_decide(eb_api_redis(q), id, cancel ? ORDER_EV_CANCELLED : ORDER_EV_COMPLETED,
                             &e, a->o.retention_s, current, sizeof(current));
    free(event);
    switch (err) {
    case EB_OK:
        break;
    case EB_ERR_NOT_FOUND:
        return eb_api_error(q, MHD_HTTP_NOT_FOUND, "NOT_FOUND", "no such order", NULL);
    case EB_ERR_CONFLICT:
        snprintf(msg, sizeof(msg), "the order is %s; only %s orders can be %s", current,
                 cancel ? "PENDING, PAID or CONFIRMED" : "CONFIRMED",
                 cancel ? "cancelled" : "completed");
        return eb_api_error(q, MHD_HTTP_CONFLICT, "INVALID_STATE", msg, NULL);
    default:
        return eb_api_unavailable(q);
    }
    err = order_store_load(eb_api_redis(q), id, &v, &held);
    if (err)
        return eb_api_unavailable(q); /* done, but it cannot be shown */
    enum MHD_Result ret = reply_order(q, cancel ? MHD_HTTP_ACCEPTED : MHD_HTTP_OK, &v);

    eb_redis_pipeline_destroy(held);
    return ret;
}

static enum MHD_Result cancel_order(eb_api_req_t *q, void *opaque)
{
    return change_order(q, opaque, 1);
}

static enum MHD_Result complete_order(eb_api_req_t *q, void *opaque)
{
    return change_order(q, opaque, 0);
}

static const eb_api_route_t routes[] = {
    {MHD_HTTP_METHOD_POST, "/orders", post_order, 1},
    {MHD_HTTP_METHOD_GET, "/orders/{id}", get_order, 0},
    {MHD_HTTP_METHOD_POST, "/orders/{id}/cancel", cancel_order, 0},
    {MHD_HTTP_METHOD_PUT, "/orders/{id}/complete", complete_order, 0},
};

order_api_t *order_api_new(const order_api_opts_t *opts, char *errstr, size_t errstr_size)
{
    order_api_t *a = calloc(1, sizeof(*a));
    eb_api_opts_t ao = {
        .bind_address = opts->bind_address,
        .port = opts->port,
        .limits = opts->limits,
        .max_body = opts->max_body,
        .routes = routes,
        .route_count = sizeof(routes) / sizeof(routes[0]),
        .redis = opts->redis,
        .unavailable = "the order store (Redis) is unreachable; retry later",
        .admin = opts->admin,
        .opaque = a,
    };

    if (a)
        a->o = *opts;
    if (!a || !(a->api = eb_api_new(&ao))) {
        free(a);
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    return a;
}

eb_err_t order_api_start(order_api_t *a, char *errstr, size_t errstr_size)
{
    return eb_api_start(a->api, errstr, errstr_size);
}

int order_api_port(const order_api_t *a)
{
    return eb_api_port(a->api);
}

eb_api_t *order_api_server(order_api_t *a)
{
    return a->api;
}

void order_api_stop(order_api_t *a)
{
    if (a)
        eb_api_stop(a->api);
}

void order_api_destroy(order_api_t *a)
{
    if (!a)
        return;
    eb_api_destroy(a->api);
    free(a);
}
