/*
 * Order HTTP API.
 *
 * A request's life in libmicrohttpd: the access handler is called once with
 * the headers (we classify the route, and refuse oversized or non-JSON
 * bodies before reading them), then once per chunk of body (we copy it, up
 * to HTTP_MAX_BODY), then once more with no data (we answer). The completion
 * callback records the metrics and frees the request state.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "eventbus/envelope.h"
#include "eventbus/http.h"
#include "eventbus/log.h"
#include "eventbus/metrics.h"
#include "order.h"
#include "store.h"

typedef enum route_e {
    ROUTE_ORDERS, /* /orders */
    ROUTE_ORDER,  /* /orders/<id> */
    ROUTE_OTHER
} route_t;

static const char *const route_labels[] = {"/orders", "/orders/{id}", "other"};

struct order_api_s {
    order_api_opts_t o;
    eb_redis_addr_t redis_addr;
    struct MHD_Daemon *daemon;
    pthread_key_t redis_key;
};

/* Per-request state, from the first call of the access handler to the
 * completion callback. */
typedef struct req_s {
    route_t route;
    const char *label; /* route label for metrics */
    unsigned int status;
    int answered; /* a response was queued early; discard the body */
    int too_large;
    int no_memory; /* the body could not be kept: 500 */
    char *body;
    size_t len, cap;
    int64_t start_us;
} req_t;

/* ---- helpers ---------------------------------------------------------------- */

static eb_redis_t *thread_redis(order_api_t *a)
{
    eb_redis_t *r = pthread_getspecific(a->redis_key);

    if (!r) {
        r = eb_redis_new(&a->redis_addr);
        pthread_setspecific(a->redis_key, r);
    }
    return r;
}

static void redis_key_destroy(void *p)
{
    eb_redis_destroy(p);
}

int order_api_redis_ping(order_api_t *a)
{
    eb_redis_t *r = thread_redis(a);

    return r && eb_redis_ping(r);
}

static enum MHD_Result reply_error(req_t *q, struct MHD_Connection *conn, unsigned int status,
                                   const char *code, const char *message, const char *field)
{
    const char *allow = NULL;

    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        allow = q->route == ROUTE_ORDERS ? "POST" : "GET, HEAD";
    q->status = status;
    return eb_http_error(conn, status, code, message, field && field[0] ? field : NULL, allow);
}

static enum MHD_Result reply_order(req_t *q, struct MHD_Connection *conn, unsigned int status,
                                   const order_view_t *v)
{
    char location[96];
    size_t len;
    char *body = order_render(v, &len);
    enum MHD_Result ret;

    if (!body)
        return reply_error(q, conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "INTERNAL", "out of memory",
                           NULL);
    snprintf(location, sizeof(location), "/orders/%s", v->order_id);
    q->status = status;
    ret = eb_http_reply(conn, status, body, len, status == MHD_HTTP_CREATED ? location : NULL);
    cJSON_free(body);
    return ret;
}

static enum MHD_Result unavailable(req_t *q, struct MHD_Connection *conn)
{
    return reply_error(q, conn, MHD_HTTP_SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE",
                       "the order store (Redis) is unreachable; retry later", NULL);
}

/* Content-Type must be application/json, optionally with parameters. */
static int is_json(const char *ct)
{
    if (!ct || strncasecmp(ct, "application/json", 16) != 0)
        return 0;
    return ct[16] == '\0' || ct[16] == ';' || ct[16] == ' ';
}

/* Order ids are UUIDs; anything else cannot exist. */
static int plausible_id(const char *id)
{
    size_t n = strlen(id);

    if (n == 0 || n > SVC_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)id[i]) && id[i] != '-')
            return 0;
    return 1;
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

static enum MHD_Result get_order(order_api_t *a, req_t *q, struct MHD_Connection *conn,
                                 const char *id)
{
    order_view_t v;
    eb_redis_pipeline_t *held = NULL;
    eb_err_t err;
    enum MHD_Result ret;

    if (!plausible_id(id))
        return reply_error(q, conn, MHD_HTTP_NOT_FOUND, "NOT_FOUND", "no such order", NULL);
    err = order_store_load(thread_redis(a), id, &v, &held);
    if (err == EB_ERR_NOT_FOUND)
        return reply_error(q, conn, MHD_HTTP_NOT_FOUND, "NOT_FOUND", "no such order", NULL);
    if (err)
        return unavailable(q, conn);
    ret = reply_order(q, conn, MHD_HTTP_OK, &v);
    eb_redis_pipeline_destroy(held);
    return ret;
}

static enum MHD_Result post_order(order_api_t *a, req_t *q, struct MHD_Connection *conn)
{
    const char *tp = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "traceparent");
    const char *ikey = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Idempotency-Key");
    char traceparent[EB_TRACEPARENT_LEN + 1], existing[EB_UUID_LEN + 1];
    svc_order_t *req = NULL;
    order_record_t o;
    order_view_t v;
    svc_verr_t verr;
    order_store_outcome_t outcome;
    enum MHD_Result ret;
    eb_err_t err;

    if (ikey && !valid_idem_key(ikey))
        return reply_error(q, conn, MHD_HTTP_BAD_REQUEST, "INVALID_FIELD",
                           "Idempotency-Key must be 1 to 255 visible ASCII characters",
                           "Idempotency-Key");
    req = malloc(sizeof(*req));
    if (!req)
        return reply_error(q, conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "INTERNAL", "out of memory",
                           NULL);
    if (order_parse_request(q->body, q->len, req, &verr) != EB_OK) {
        free(req);
        return reply_error(q, conn, MHD_HTTP_BAD_REQUEST, verr.code, verr.message, verr.field);
    }

    /* The trace continues from the caller's traceparent, or starts here. */
    if (tp && eb_traceparent_valid(tp, strlen(tp)))
        snprintf(traceparent, sizeof(traceparent), "%s", tp);
    else
        eb_traceparent_generate(traceparent);

    if (order_record_init(req, &o) != EB_OK) {
        ret =
            reply_error(q, conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "INTERNAL", "out of memory", NULL);
        goto out;
    }
    err = order_store_create(thread_redis(a), &o, req, traceparent, ikey, a->o.idem_ttl_s, &outcome,
                             existing);
    if (err) {
        ret = unavailable(q, conn);
    } else if (outcome == ORDER_STORE_CREATED) {
        order_record_view(&o, req, &v);
        ret = reply_order(q, conn, MHD_HTTP_CREATED, &v);
    } else if (outcome == ORDER_STORE_KEY_MISMATCH) {
        ret = reply_error(q, conn, MHD_HTTP_UNPROCESSABLE_CONTENT, "IDEMPOTENCY_KEY_REUSED",
                          "this Idempotency-Key was used with a different request",
                          "Idempotency-Key");
    } else {
        ret = get_order(a, q, conn, existing); /* the first order, 200 */
    }
out:
    order_record_close(&o);
    free(req);
    return ret;
}

/* ---- libmicrohttpd callbacks --------------------------------------------------- */

static route_t classify(const char *url)
{
    if (strcmp(url, "/orders") == 0)
        return ROUTE_ORDERS;
    if (strncmp(url, "/orders/", 8) == 0)
        return ROUTE_ORDER;
    return ROUTE_OTHER;
}

/* First call: decide what can be decided from the headers alone. */
static enum MHD_Result on_headers(order_api_t *a, req_t *q, struct MHD_Connection *conn,
                                  const char *method)
{
    const char *cl;

    if (q->route != ROUTE_ORDERS || strcmp(method, MHD_HTTP_METHOD_POST) != 0)
        return MHD_YES;
    if (!is_json(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type"))) {
        q->answered = 1;
        return reply_error(q, conn, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE",
                           "Content-Type must be application/json", NULL);
    }
    cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoll(cl, NULL, 10) > a->o.max_body) {
        /* Refuse before reading: the client may not even send it. */
        q->answered = 1;
        return reply_error(q, conn, MHD_HTTP_CONTENT_TOO_LARGE, "PAYLOAD_TOO_LARGE",
                           "the request body is larger than HTTP_MAX_BODY", NULL);
    }
    return MHD_YES;
}

static void take_body(order_api_t *a, req_t *q, const char *data, size_t n)
{
    if (q->too_large || q->no_memory || q->answered)
        return;
    if (q->len + n > (size_t)a->o.max_body) {
        q->too_large = 1; /* chunked upload past the limit: stop keeping it */
        free(q->body);
        q->body = NULL;
        q->len = q->cap = 0;
        return;
    }
    if (q->len + n + 1 > q->cap) {
        size_t cap = q->cap ? q->cap : 1024;
        char *nb;

        while (cap < q->len + n + 1)
            cap *= 2;
        nb = realloc(q->body, cap);
        if (!nb) {
            q->no_memory = 1;
            return;
        }
        q->body = nb;
        q->cap = cap;
    }
    memcpy(q->body + q->len, data, n);
    q->len += n;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    order_api_t *a = cls;
    req_t *q = *con_cls;
    int is_get;

    (void)version;
    if (!q) {
        q = calloc(1, sizeof(*q));
        if (!q)
            return MHD_NO;
        q->start_us = eb_time_mono_us();
        q->route = classify(url);
        q->label = route_labels[q->route];
        *con_cls = q;
        return on_headers(a, q, conn, method);
    }
    if (*upload_data_size) {
        take_body(a, q, upload_data, *upload_data_size);
        /* A chunked body past the limit is read to its end but not kept
         * (libmicrohttpd 0.9.75 cannot answer in the middle of an upload);
         * with a Content-Length it was refused before the first byte. */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (q->answered)
        return MHD_YES;

    is_get = strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    switch (q->route) {
    case ROUTE_ORDERS:
        if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
            return reply_error(q, conn, MHD_HTTP_METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED",
                               "use POST to create an order", NULL);
        if (q->too_large)
            return reply_error(q, conn, MHD_HTTP_CONTENT_TOO_LARGE, "PAYLOAD_TOO_LARGE",
                               "the request body is larger than HTTP_MAX_BODY", NULL);
        if (q->no_memory)
            return reply_error(q, conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "INTERNAL", "out of memory",
                               NULL);
        return post_order(a, q, conn);
    case ROUTE_ORDER:
        if (!is_get)
            return reply_error(q, conn, MHD_HTTP_METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED",
                               "use GET to read an order", NULL);
        return get_order(a, q, conn, url + 8);
    case ROUTE_OTHER:
        /* /health /ready /metrics, labelled by their path */
        if (eb_admin_route(a->o.admin, conn, method, url, &q->status)) {
            q->label = url;
            return MHD_YES;
        }
        break;
    }
    return reply_error(q, conn, MHD_HTTP_NOT_FOUND, "NOT_FOUND", "no such route", NULL);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    req_t *q = *con_cls;

    (void)cls;
    (void)conn;
    (void)toe;
    if (!q)
        return;
    if (q->status)
        eb_http_observe(q->label, q->status, q->start_us);
    free(q->body);
    free(q);
    *con_cls = NULL;
}

order_api_t *order_api_new(const order_api_opts_t *opts, char *errstr, size_t errstr_size)
{
    order_api_t *a = calloc(1, sizeof(*a));

    if (!a || pthread_key_create(&a->redis_key, redis_key_destroy) != 0) {
        free(a);
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    a->o = *opts;
    a->redis_addr = *opts->redis;
    return a;
}

eb_err_t order_api_start(order_api_t *a, char *errstr, size_t errstr_size)
{
    const eb_http_listen_opts_t lo = {
        .bind_addr = a->o.bind_address,
        .port = a->o.port,
        .threads = (unsigned int)a->o.threads,
        .max_connections = (unsigned int)a->o.max_connections,
        .max_per_ip = (unsigned int)a->o.max_per_ip,
        .timeout_s = (unsigned int)a->o.timeout_s,
        .handler = on_request,
        .handler_cls = a,
        .completed = on_completed,
        .completed_cls = a,
    };

    return eb_http_listen(&lo, &a->daemon, NULL, errstr, errstr_size);
}

int order_api_port(const order_api_t *a)
{
    return eb_http_daemon_port(a->daemon);
}

void order_api_stop(order_api_t *a)
{
    if (!a)
        return;
    eb_http_stop(a->daemon); /* joins the workers: their Redis connections close */
    a->daemon = NULL;
}

void order_api_destroy(order_api_t *a)
{
    if (!a)
        return;
    order_api_stop(a);
    pthread_key_delete(a->redis_key);
    free(a);
}
