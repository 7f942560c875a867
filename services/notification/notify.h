/*
 * notification-service's domain: turning an event into the notification a
 * customer receives, and delivering it (one JSON line in NOTIFY_FILE).
 */
#ifndef SERVICES_NOTIFICATION_NOTIFY_H
#define SERVICES_NOTIFICATION_NOTIFY_H

#include <stddef.h>

#include "eventbus/consumer.h"
#include "eventbus/envelope.h"

typedef struct notify_ctx_s {
    const char *path; /* NOTIFY_FILE */
    int fd;           /* opened O_APPEND by notify_open() */
} notify_ctx_t;

/* Renders the notification for ev as one JSON object followed by '\n'.
 * notificationId is derived from the event id (UUID v5), so the same event
 * always yields the same notification. Returns a malloc'd line (length in
 * *len), or NULL with the reason in errstr when the event's data is invalid
 * (the handler dead-letters it). sent_at is an RFC 3339 time. */
char *notify_render(const eb_event_t *ev, const char *sent_at, size_t *len, char *errstr,
                    size_t errstr_size);

/* Writes into out[EB_UUID_LEN+1] the notification id for an event id. */
void notify_id(const char *event_id, char *out);

/* Opens ctx->path for appending. Returns 0, or -1 with errno set. */
int notify_open(notify_ctx_t *ctx);
void notify_close(notify_ctx_t *ctx);

/* The handler for OrderCreated, PaymentProcessed and PaymentFailed
 * (eb_handler_t; opaque is a notify_ctx_t): appends one line per event with a
 * single write(2). Idempotency (one line per event id) comes from the
 * consumer's claims and done-marks. */
eb_err_t notify_handle(eb_work_t *w, void *opaque);

/* Makes the lines written in this batch durable before their events are
 * marked done (eb_batch_end_cb_t). */
eb_err_t notify_sync(void *opaque);

#endif /* SERVICES_NOTIFICATION_NOTIFY_H */
