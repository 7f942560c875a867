/*
 * /health, /ready and /metrics, and the JSON reply helpers.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "eb_int.h"
#include "eventbus/admin_http.h"
#include "eventbus/envelope.h"
#include "eventbus/log.h"
#include "eventbus/metrics.h"

struct eb_admin_s {
    eb_admin_opts_t opts;
    struct MHD_Daemon *daemon;
};

/* http_requests_total{route,code} and http_request_duration_seconds{route},
 * registered once (by the first eb_admin_new) for every server. */
static pthread_once_t http_metrics_once = PTHREAD_ONCE_INIT;
static eb_metric_t *http_requests, *http_duration;

/* Queues a JSON body (copied) with one optional extra header. */
static enum MHD_Result send_json(struct MHD_Connection *conn, unsigned int status, const char *body,
                                 size_t len, const char *header, const char *value)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret;

    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    if (value)
        MHD_add_response_header(r, header, value);
    ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

enum MHD_Result eb_http_reply(struct MHD_Connection *conn, unsigned int status, const char *body,
                              size_t len, const char *location)
{
    return send_json(conn, status, body, len, MHD_HTTP_HEADER_LOCATION, location);
}

enum MHD_Result eb_http_error(struct MHD_Connection *conn, unsigned int status, const char *code,
                              const char *message, const char *field, const char *allow)
{
    cJSON *root = cJSON_CreateObject(), *err = cJSON_AddObjectToObject(root, "error");
    enum MHD_Result ret;
    char *body;

    cJSON_AddStringToObject(err, "code", code);
    cJSON_AddStringToObject(err, "message", message);
    if (field)
        cJSON_AddStringToObject(err, "field", field);
    body = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!body)
        return MHD_NO;
    ret = send_json(conn, status, body, strlen(body), MHD_HTTP_HEADER_ALLOW, allow);
    cJSON_free(body);
    return ret;
}

void eb_http_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    size_t n;

    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    EB_WARN("libmicrohttpd: %s", msg);
}

static void http_metrics_register(void)
{
    http_requests = eb_metrics_counter("http_requests_total", "HTTP requests by route and status",
                                       "route,code");
    http_duration =
        eb_metrics_histogram("http_request_duration_seconds", "HTTP request latency by route",
                             "route", eb_metrics_latency_buckets, eb_metrics_latency_bucket_count);
}

void eb_http_observe(const char *route, unsigned int status, int64_t start_us)
{
    char code[8];

    pthread_once(&http_metrics_once, http_metrics_register);
    snprintf(code, sizeof(code), "%u", status);
    eb_series_add(eb_metric_series(http_requests, route, code), 1);
    eb_series_observe(eb_metric_series(http_duration, route),
                      (double)(eb_time_mono_us() - start_us) / 1e6);
}

int eb_http_daemon_port(struct MHD_Daemon *d)
{
    const union MHD_DaemonInfo *info = d ? MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT) : NULL;

    return info ? (int)info->port : -1;
}

eb_admin_t *eb_admin_new(const eb_admin_opts_t *opts)
{
    eb_admin_t *a = calloc(1, sizeof(*a));

    pthread_once(&http_metrics_once, http_metrics_register);
    if (a && opts)
        a->opts = *opts;
    return a;
}

/* Answers a liveness or readiness probe from cb. */
static void probe(struct MHD_Connection *conn, int (*cb)(char *, size_t, void *), void *opaque,
                  const char *ok_status, const char *bad_status, unsigned int *status)
{
    char reason[256] = "", body[512];
    cJSON *root = cJSON_CreateObject();
    int ok = !cb || cb(reason, sizeof(reason), opaque);
    char *json;

    cJSON_AddStringToObject(root, "status", ok ? ok_status : bad_status);
    if (!ok)
        cJSON_AddStringToObject(root, "reason", reason[0] ? reason : "unknown");
    json = cJSON_PrintUnformatted(root);
    snprintf(body, sizeof(body), "%s", json ? json : "{}");
    cJSON_free(json);
    cJSON_Delete(root);
    *status = ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE;
    eb_http_reply(conn, *status, body, strlen(body), NULL);
}

int eb_admin_route(eb_admin_t *a, struct MHD_Connection *conn, const char *method, const char *url,
                   unsigned int *status)
{
    int get = strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;

    if (strcmp(url, "/health") != 0 && strcmp(url, "/ready") != 0 && strcmp(url, "/metrics") != 0)
        return 0;
    if (!get) {
        *status = MHD_HTTP_METHOD_NOT_ALLOWED;
        eb_http_error(conn, *status, "METHOD_NOT_ALLOWED", "use GET", NULL, "GET, HEAD");
        return 1;
    }
    if (strcmp(url, "/health") == 0) {
        probe(conn, a->opts.live, a->opts.opaque, "ok", "unhealthy", status);
    } else if (strcmp(url, "/ready") == 0) {
        probe(conn, a->opts.ready, a->opts.opaque, "ready", "not ready", status);
    } else {
        size_t len = 0;
        char *text;

        if (a->opts.collect)
            a->opts.collect(a->opts.opaque);
        text = eb_metrics_render(&len);
        struct MHD_Response *r;

        if (!text) {
            *status = MHD_HTTP_INTERNAL_SERVER_ERROR;
            eb_http_error(conn, *status, "INTERNAL", "out of memory", NULL, NULL);
            return 1;
        }
        r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
        if (!r) {
            free(text);
            return 1;
        }
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                                "text/plain; version=0.0.4; charset=utf-8");
        *status = MHD_HTTP_OK;
        MHD_queue_response(conn, *status, r);
        MHD_destroy_response(r);
    }
    return 1;
}

/* The dedicated server's handler. Requests are counted like the order API's
 * (http_requests_total, http_request_duration_seconds), route = the path
 * for the admin routes, "other" for the rest. */
static enum MHD_Result admin_access(void *cls, struct MHD_Connection *conn, const char *url,
                                    const char *method, const char *version,
                                    const char *upload_data, size_t *upload_data_size,
                                    void **con_cls)
{
    eb_admin_t *a = cls;
    unsigned int status = MHD_HTTP_NOT_FOUND;
    int64_t *start = *con_cls;
    const char *route = "other";
    enum MHD_Result ret = MHD_YES;

    (void)version;
    (void)upload_data;
    if (!start) { /* first call: headers only */
        start = malloc(sizeof(*start));
        if (!start)
            return MHD_NO;
        *start = eb_time_mono_us();
        *con_cls = start;
        return MHD_YES;
    }
    if (*upload_data_size) { /* admin routes take no body: discard it */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (eb_admin_route(a, conn, method, url, &status))
        route = url;
    else
        ret = eb_http_error(conn, status, "NOT_FOUND", "no such route", NULL, NULL);
    eb_http_observe(route, status, *start);
    return ret;
}

static void admin_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                            enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    free(*con_cls);
    *con_cls = NULL;
}

eb_err_t eb_admin_listen(eb_admin_t *a, const char *bind_addr, int port, int *bound_port,
                         char *errstr, size_t errstr_size)
{
    struct sockaddr_in sa;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, bind_addr, &sa.sin_addr) != 1)
        return eb__seterr(errstr, errstr_size, EB_ERR_INVALID, "bad bind address '%s'", bind_addr);
    /* The logger must be the first option, or early messages bypass it. */
    a->daemon = MHD_start_daemon(
        MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, (uint16_t)port, NULL, NULL, admin_access,
        a, MHD_OPTION_EXTERNAL_LOGGER, eb_http_mhd_log, NULL, MHD_OPTION_SOCK_ADDR, &sa,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned int)64, MHD_OPTION_NOTIFY_COMPLETED, admin_completed, a, MHD_OPTION_END);
    if (!a->daemon)
        return eb__seterr(errstr, errstr_size, EB_ERR_IO, "cannot listen on %s:%d", bind_addr,
                          port);
    if (bound_port)
        *bound_port = eb_http_daemon_port(a->daemon);
    return EB_OK;
}

void eb_admin_destroy(eb_admin_t *a)
{
    if (!a)
        return;
    if (a->daemon)
        MHD_stop_daemon(a->daemon);
    free(a);
}
