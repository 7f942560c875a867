/*
 * Private to the HTTP modules (http.c, admin.c).
 */
#ifndef EVENTBUS_HTTP_INT_H
#define EVENTBUS_HTTP_INT_H

/* Registers http_requests_total and http_request_duration_seconds, once
 * per process; thread-safe. eb_admin_new() calls it so that /metrics lists
 * them before the first request is counted. */
void eb__http_metrics_init(void);

#endif /* EVENTBUS_HTTP_INT_H */
