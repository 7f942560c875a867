/*
 * libmicrohttpd glue: the listener, JSON replies, request metrics.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "eb_int.h"
#include "eventbus/envelope.h"
#include "eventbus/http.h"
#include "eventbus/log.h"
#include "eventbus/metrics.h"
#include "http_int.h"

/* http_requests_total{route,code} and http_request_duration_seconds{route},
 * registered once for every server. */
static pthread_once_t http_metrics_once = PTHREAD_ONCE_INIT;
static eb_metric_t *http_requests, *http_duration;

eb_err_t eb_http_listen(const eb_http_listen_opts_t *opts, struct MHD_Daemon **daemon,
                        int *bound_port, char *errstr, size_t errstr_size)
{
    struct sockaddr_in sa;
    struct MHD_OptionItem ops[8];
    size_t n = 0;

    *daemon = NULL;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)opts->port);
    if (inet_pton(AF_INET, opts->bind_addr, &sa.sin_addr) != 1)
        return eb__seterr(errstr, errstr_size, EB_ERR_INVALID, "bad bind address '%s'",
                          opts->bind_addr);
    /* The logger must be the first option, or early messages bypass it. A
     * pool size of 1 draws a warning: leave the option out then. (An
     * MHD_OPTION_END in the middle would end the list.) */
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)eb_http_mhd_log, NULL};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &sa};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, opts->max_connections, NULL};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, opts->timeout_s, NULL};
    if (opts->completed)
        ops[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)opts->completed,
                                           opts->completed_cls};
    if (opts->max_per_ip > 0)
        ops[n++] =
            (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT, opts->max_per_ip, NULL};
    if (opts->threads > 1)
        ops[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, opts->threads, NULL};
    ops[n] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    *daemon = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG,
                               (uint16_t)opts->port, NULL, NULL, opts->handler, opts->handler_cls,
                               MHD_OPTION_ARRAY, ops, MHD_OPTION_END);
    if (!*daemon)
        return eb__seterr(errstr, errstr_size, EB_ERR_IO, "cannot listen on %s:%d", opts->bind_addr,
                          opts->port);
    if (bound_port)
        *bound_port = eb_http_daemon_port(*daemon);
    return EB_OK;
}

void eb_http_stop(struct MHD_Daemon *daemon)
{
    if (daemon)
        MHD_stop_daemon(daemon);
}

int eb_http_daemon_port(struct MHD_Daemon *d)
{
    const union MHD_DaemonInfo *info = d ? MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT) : NULL;

    return info ? (int)info->port : -1;
}

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

void eb__http_metrics_init(void)
{
    pthread_once(&http_metrics_once, http_metrics_register);
}

void eb_http_observe(const char *route, unsigned int status, int64_t start_us)
{
    char code[8];

    eb__http_metrics_init();
    snprintf(code, sizeof(code), "%u", status);
    eb_series_add(eb_metric_series(http_requests, route, code), 1);
    eb_series_observe(eb_metric_series(http_duration, route),
                      (double)(eb_time_mono_us() - start_us) / 1e6);
}
