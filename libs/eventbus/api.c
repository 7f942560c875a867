/*
 * A JSON HTTP API. See api.h for what it does.
 *
 * A request's life in libmicrohttpd: the access handler is called once with
 * the headers (we match the route, and refuse oversized or non-JSON bodies
 * before reading them), then once per chunk of body (we copy it, up to
 * max_body), then once more with no data (the route's handler answers). The
 * completion callback records the metrics and frees the request state.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "eventbus/api.h"
#include "eventbus/http.h"
#include "eventbus/time.h"

#define PARAM_MAX 128

struct eb_api_s {
    eb_api_opts_t o;
    eb_redis_addr_t redis_addr;
    eb_http_server_t *server;
    pthread_key_t redis_key;
};

struct eb_api_req_s {
    eb_api_t *api;
    struct MHD_Connection *conn;
    const eb_api_route_t *route; /* NULL: no route for this method and path */
    const char *label;           /* metrics label: the pattern, the admin path, "other" */
    const char *path_match;      /* a pattern the path matches (for 405), or NULL */
    char param[PARAM_MAX + 1];
    int param_bad; /* the {id} segment cannot be an id: 404 */
    unsigned int status;
    int answered; /* a response was queued from the headers; discard the body */
    int too_large;
    int no_memory; /* the body could not be kept: 500 */
    char *body;
    size_t len, cap;
    int64_t start_us;
    uint64_t refusal_seq; /* the worker's Redis refusals before this request */
    void *state;          /* a suspended handler's (eb_api_suspend) */
    void (*free_state)(void *);
};

/* ---- matching ---------------------------------------------------------------- */

static int id_char(int c)
{
    return isalnum(c) || c == '-' || c == '_' || c == '.' || c == ':';
}

/* Matches path against pattern; the "{id}" segment goes to param. Returns
 * 1 on a match (param_bad set when the segment is not an id), else 0. */
static int match(const char *pattern, const char *path, char *param, int *param_bad)
{
    const char *p = pattern, *u = path;

    *param_bad = 0;
    while (*p) {
        if (strncmp(p, "{id}", 4) == 0) {
            size_t n = strcspn(u, "/");

            if (n == 0)
                return 0;
            if (n > PARAM_MAX)
                *param_bad = 1;
            for (size_t i = 0; i < n && !*param_bad; i++)
                if (!id_char((unsigned char)u[i]))
                    *param_bad = 1;
            if (!*param_bad) {
                memcpy(param, u, n);
                param[n] = '\0';
            }
            p += 4;
            u += n;
            continue;
        }
        if (*p != *u)
            return 0;
        p++;
        u++;
    }
    return *u == '\0';
}

static int is_get(const char *method)
{
    return strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
}

static void route(eb_api_t *a, eb_api_req_t *q, const char *method, const char *url)
{
    for (size_t i = 0; i < a->o.route_count; i++) {
        const eb_api_route_t *r = &a->o.routes[i];
        int bad;

        if (!match(r->pattern, url, q->param, &bad))
            continue;
        q->path_match = r->pattern;
        q->label = r->pattern;
        q->param_bad = bad;
        if (strcmp(r->method, method) == 0 ||
            (strcmp(r->method, MHD_HTTP_METHOD_GET) == 0 && is_get(method))) {
            q->route = r;
            return;
        }
    }
}

/* "GET, HEAD" / "POST" / ...: the methods of every route of this path. */
static void allow_header(eb_api_t *a, const char *pattern, char *out, size_t size)
{
    size_t n = 0;

    out[0] = '\0';
    for (size_t i = 0; i < a->o.route_count; i++) {
        const eb_api_route_t *r = &a->o.routes[i];

        if (strcmp(r->pattern, pattern) != 0)
            continue;
        n += (size_t)snprintf(out + n, n < size ? size - n : 0, "%s%s%s", n ? ", " : "", r->method,
                              strcmp(r->method, MHD_HTTP_METHOD_GET) == 0 ? ", HEAD" : "");
        if (n >= size)
            break;
    }
}

/* ---- replies ------------------------------------------------------------------- */

enum MHD_Result eb_api_reply(eb_api_req_t *q, unsigned int status, const char *body, size_t len,
                             const char *location)
{
    q->status = status;
    return eb_http_reply(q->conn, status, body, len, location);
}

enum MHD_Result eb_api_error(eb_api_req_t *q, unsigned int status, const char *code,
                             const char *message, const char *field)
{
    char allow[128];

    if (status == MHD_HTTP_METHOD_NOT_ALLOWED && q->path_match)
        allow_header(q->api, q->path_match, allow, sizeof(allow));
    q->status = status;
    return eb_http_error(q->conn, status, code, message, field && field[0] ? field : NULL,
                         status == MHD_HTTP_METHOD_NOT_ALLOWED && q->path_match ? allow : NULL);
}

static eb_redis_t *thread_redis(eb_api_t *a);

enum MHD_Result eb_api_refused(eb_api_req_t *q, const char *refusal)
{
    if (refusal) {
        /* Up, but refusing writes: say so, an operator acts on it differently. */
        char message[300];

        snprintf(message, sizeof(message),
                 "Redis refuses writes (%s); nothing was stored, retry later", refusal);
        return eb_api_error(q, MHD_HTTP_SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE", message, NULL);
    }
    return eb_api_error(q, MHD_HTTP_SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE",
                        q->api->o.unavailable ? q->api->o.unavailable
                                              : "the store (Redis) is unreachable; retry later",
                        NULL);
}

enum MHD_Result eb_api_unavailable(eb_api_req_t *q)
{
    uint64_t seq = 0;
    const char *refusal = eb_redis_refusal(thread_redis(q->api), &seq);

    return eb_api_refused(q, refusal && seq > q->refusal_seq ? refusal : NULL);
}

void eb_api_suspend(eb_api_req_t *q, void *state, void (*free_state)(void *))
{
    q->state = state;
    q->free_state = free_state;
    MHD_suspend_connection(q->conn);
}

void *eb_api_state(const eb_api_req_t *q)
{
    return q->state;
}

void eb_api_resume(eb_api_req_t *q)
{
    MHD_resume_connection(q->conn);
}

/* ---- for handlers ----------------------------------------------------------------- */

const char *eb_api_param(const eb_api_req_t *q)
{
    return q->param;
}

const char *eb_api_body(const eb_api_req_t *q, size_t *len)
{
    *len = q->len;
    return q->body ? q->body : "";
}

const char *eb_api_header(const eb_api_req_t *q, const char *name)
{
    return MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, name);
}

/* The trace headers of a request, as the W3C recommendation reads them:
 * one traceparent (two or more: none), every tracestate field joined. */
typedef struct trace_headers_s {
    const char *traceparent;
    int traceparents;
    char tracestate[4 * EB_TRACESTATE_MAX];
    size_t ts_len;
    int ts_full; /* a field did not fit: the ones after it are dropped too */
} trace_headers_t;

static enum MHD_Result on_trace_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                       const char *value)
{
    trace_headers_t *h = cls;
    size_t n = value ? strlen(value) : 0;

    (void)kind;
    if (strcasecmp(key, "traceparent") == 0) {
        h->traceparent = value;
        h->traceparents++;
    } else if (strcasecmp(key, "tracestate") == 0 && n && !h->ts_full) {
        if (h->ts_len + n + 1 >= sizeof(h->tracestate)) {
            h->ts_full = 1; /* members from the end may go (eb_tracestate_clean) */
        } else {
            if (h->ts_len)
                h->tracestate[h->ts_len++] = ',';
            memcpy(h->tracestate + h->ts_len, value, n);
            h->ts_len += n;
        }
    }
    return MHD_YES;
}

void eb_api_trace(const eb_api_req_t *q, eb_trace_t *t)
{
    trace_headers_t h;

    h.traceparent = NULL;
    h.traceparents = 0;
    h.ts_len = 0;
    h.ts_full = 0;
    MHD_get_connection_values(q->conn, MHD_HEADER_KIND, on_trace_header, &h);
    if (h.traceparents != 1)
        h.traceparent = NULL; /* none, or ambiguous: a new trace */
    eb_trace_start(t, h.traceparent, h.traceparent ? strlen(h.traceparent) : 0, h.tracestate,
                   h.ts_len);
}

static eb_redis_t *thread_redis(eb_api_t *a)
{
    eb_redis_t *r = pthread_getspecific(a->redis_key);

    if (!r) {
        r = eb_redis_new(&a->redis_addr);
        pthread_setspecific(a->redis_key, r);
    }
    return r;
}

eb_redis_t *eb_api_redis(eb_api_req_t *q)
{
    return thread_redis(q->api);
}

int eb_api_redis_ping(eb_api_t *a)
{
    eb_redis_t *r = thread_redis(a);

    return r && eb_redis_ping(r);
}

int eb_api_redis_probe_write(eb_api_t *a, const char *key, char *reason, size_t size)
{
    eb_redis_t *r = thread_redis(a);

    if (!r) {
        snprintf(reason, size, "out of memory");
        return -1;
    }
    return eb_redis_probe_write(r, key, reason, size);
}

static void redis_key_destroy(void *p)
{
    eb_redis_destroy(p);
}

/* ---- libmicrohttpd callbacks -------------------------------------------------------- */

/* Content-Type must be application/json, optionally with parameters. */
static int is_json(const char *ct)
{
    if (!ct || strncasecmp(ct, "application/json", 16) != 0)
        return 0;
    return ct[16] == '\0' || ct[16] == ';' || ct[16] == ' ';
}

/* First call: decide what can be decided from the headers alone. */
static enum MHD_Result on_headers(eb_api_t *a, eb_api_req_t *q)
{
    const char *cl;

    if (!q->route || !q->route->body || q->param_bad)
        return MHD_YES;
    if (!is_json(eb_api_header(q, "Content-Type"))) {
        q->answered = 1;
        return eb_api_error(q, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE",
                            "Content-Type must be application/json", NULL);
    }
    cl = eb_api_header(q, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoll(cl, NULL, 10) > a->o.max_body) {
        /* Refuse before reading: the client may not even send it. */
        q->answered = 1;
        return eb_api_error(q, MHD_HTTP_CONTENT_TOO_LARGE, "PAYLOAD_TOO_LARGE",
                            "the request body is larger than HTTP_MAX_BODY", NULL);
    }
    return MHD_YES;
}

static void take_body(eb_api_t *a, eb_api_req_t *q, const char *data, size_t n)
{
    if (q->too_large || q->no_memory || q->answered || !q->route || !q->route->body)
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
    q->body[q->len] = '\0';
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    eb_api_t *a = cls;
    eb_api_req_t *q = *con_cls;

    (void)version;
    if (!q) {
        q = calloc(1, sizeof(*q));
        if (!q)
            return MHD_NO;
        q->api = a;
        q->conn = conn;
        q->start_us = eb_time_mono_us();
        q->label = "other";
        (void)eb_redis_refusal(thread_redis(a), &q->refusal_seq);
        route(a, q, method, url);
        *con_cls = q;
        return on_headers(a, q);
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
    if (q->param_bad)
        return eb_api_error(q, MHD_HTTP_NOT_FOUND, "NOT_FOUND", "no such resource", NULL);
    if (q->route) {
        if (q->too_large)
            return eb_api_error(q, MHD_HTTP_CONTENT_TOO_LARGE, "PAYLOAD_TOO_LARGE",
                                "the request body is larger than HTTP_MAX_BODY", NULL);
        if (q->no_memory)
            return eb_api_error(q, MHD_HTTP_INTERNAL_SERVER_ERROR, "INTERNAL", "out of memory",
                                NULL);
        return q->route->handler(q, a->o.opaque);
    }
    if (q->path_match) {
        char message[160];

        snprintf(message, sizeof(message), "%s is not allowed on %s", method, q->path_match);
        return eb_api_error(q, MHD_HTTP_METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED", message, NULL);
    }
    /* /health /ready /metrics, labelled by their path */
    if (a->o.admin && eb_admin_route(a->o.admin, conn, method, url, &q->status)) {
        q->label = url;
        return MHD_YES;
    }
    return eb_api_error(q, MHD_HTTP_NOT_FOUND, "NOT_FOUND", "no such route", NULL);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    eb_api_req_t *q = *con_cls;

    (void)cls;
    (void)conn;
    (void)toe;
    if (!q)
        return;
    if (q->status)
        eb_http_observe(q->label, q->status, q->start_us);
    if (q->state)
        q->free_state(q->state);
    free(q->body);
    free(q);
    *con_cls = NULL;
}

/* ---- lifecycle ------------------------------------------------------------------------ */

eb_api_t *eb_api_new(const eb_api_opts_t *opts)
{
    eb_api_t *a = calloc(1, sizeof(*a));

    if (!a || pthread_key_create(&a->redis_key, redis_key_destroy) != 0) {
        free(a);
        return NULL;
    }
    a->o = *opts;
    if (opts->redis)
        a->redis_addr = *opts->redis;
    return a;
}

eb_err_t eb_api_start(eb_api_t *a, char *errstr, size_t errstr_size)
{
    const eb_http_listen_opts_t lo = {
        .bind_addr = a->o.bind_address,
        .port = a->o.port,
        .limits = a->o.limits,
        .handler = on_request,
        .handler_cls = a,
        .completed = on_completed,
        .completed_cls = a,
        .suspendable = a->o.suspendable,
    };

    return eb_http_listen(&lo, &a->server, errstr, errstr_size);
}

int eb_api_port(const eb_api_t *a)
{
    return a ? eb_http_port(a->server) : -1;
}

void eb_api_stop(eb_api_t *a)
{
    if (!a)
        return;
    eb_http_stop(a->server); /* joins the workers: their Redis connections close */
    a->server = NULL;
}

void eb_api_destroy(eb_api_t *a)
{
    if (!a)
        return;
    eb_api_stop(a);
    pthread_key_delete(a->redis_key);
    free(a);
}
