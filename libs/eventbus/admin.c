/*
 * /health, /ready and /metrics.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "eventbus/admin.h"
#include "eventbus/envelope.h"
#include "eventbus/http.h"
#include "eventbus/metrics.h"
#include "http_int.h"

struct eb_admin_s {
    eb_admin_opts_t opts;
    eb_http_server_t *server;
};

eb_admin_t *eb_admin_new(const eb_admin_opts_t *opts)
{
    eb_admin_t *a = calloc(1, sizeof(*a));

    eb__http_metrics_init();
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

eb_err_t eb_admin_start(eb_admin_t *a, const char *bind_addr, int port, int *bound_port,
                        char *errstr, size_t errstr_size)
{
    const eb_http_listen_opts_t lo = {
        .bind_addr = bind_addr,
        .port = port,
        .limits = {.threads = 1, /* one thread: the probes may use resources it owns */
                   .max_connections = 64,
                   .idle_timeout_s = 10,
                   .header_timeout_s = 10,
                   .request_timeout_s = 10},
        .handler = admin_access,
        .handler_cls = a,
        .completed = admin_completed,
        .completed_cls = a,
    };

    eb_err_t err = eb_http_listen(&lo, &a->server, errstr, errstr_size);

    if (err == EB_OK && bound_port)
        *bound_port = eb_http_port(a->server);
    return err;
}

void eb_admin_stop(eb_admin_t *a)
{
    if (!a)
        return;
    eb_http_stop(a->server);
    a->server = NULL;
}

void eb_admin_destroy(eb_admin_t *a)
{
    if (!a)
        return;
    eb_admin_stop(a);
    free(a);
}
