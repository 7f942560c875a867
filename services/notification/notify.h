/*
 * notification-service's domain: turning an event into the notification a
 * customer receives, and delivering it (one JSON line in NOTIFY_FILE).
 */
#ifndef SERVICES_NOTIFICATION_NOTIFY_H
#define SERVICES_NOTIFICATION_NOTIFY_H

#include <stddef.h>

#include "eventbus/consumer.h"
#include "eventbus/envelope.h"
#include "eventbus/redis.h"

#include "delivered.h"

/* The events of the last NOTIFY_DELIVERED_MAX lines written to the file
 * (by any instance) are recognised when they come again. */
#define NOTIFY_DELIVERED_MAX 65536

/* How long a delivery waits for another instance's lock on the file. */
#define NOTIFY_LOCK_MS 5000

typedef struct notify_ctx_s {
    const char *path;  /* NOTIFY_FILE */
    int fd;            /* opened O_APPEND by notify_open() */
    int rfd;           /* the same file, read-only (a regular file only) */
    int regular;       /* a regular file: lines are read back, deduplicated */
    long long indexed; /* the file's lines up to here are in seen */
    delivered_t *seen; /* the events whose line is in the file */
} notify_ctx_t;

#define NOTIFY_CTX_INIT                                                                            \
    {                                                                                              \
        NULL, -1, -1, 0, 0, NULL                                                                   \
    }

/* Renders the notification for ev as one JSON object followed by '\n'.
 * The type follows from the event's: OrderCreated ORDER_CONFIRMATION,
 * PaymentProcessed PAYMENT_RECEIPT, PaymentFailed PAYMENT_FAILED,
 * PaymentRefunded REFUND_ISSUED, OrderCancelled ORDER_CANCELLED,
 * OrderCompleted ORDER_COMPLETED, UserRegistered WELCOME (orderId null).
 * userId is null when the event carries none.
 * notificationId is derived from the event id (UUID v5), so the same event
 * always yields the same notification. sent_at is an RFC 3339 time. Returns
 * EB_OK with a malloc'd line in *line (length in *len); EB_ERR_BAD_EVENT with
 * the reason in errstr when the event's data is invalid (the handler
 * dead-letters it); EB_ERR_NOMEM. */
eb_err_t notify_render(const eb_event_t *ev, const char *sent_at, char **line, size_t *len,
                       char *errstr, size_t errstr_size);

/* Writes into out[EB_UUID_LEN+1] the notification id for an event id. */
void notify_id(const char *event_id, char *out);

/* Opens ctx->path for appending. For a regular file, also reads the event
 * ids of its last NOTIFY_RECOVER_BYTES into ctx->seen. Returns 0, or -1
 * with errno set. */
int notify_open(notify_ctx_t *ctx);
void notify_close(notify_ctx_t *ctx);

/* Delivers one line for event_id, exactly once for every instance that
 * shares the file: under an exclusive flock(2) it first reads what the other
 * instances appended since (and cuts off a line torn by a crash), then appends
 * the line unless the event already has one. *written says which. A file
 * that is not a regular one (a pipe, a device) is written to without this.
 * Bytes a crashed writer left after the last whole line are cut off first.
 * Returns 0, or -1 with errno set (no line was written). */
int notify_deliver(notify_ctx_t *ctx, const char *event_id, const char *line, size_t len,
                   int *written);

/* Crash recovery, run once before consuming. A crash (kill -9) can leave
 * lines written whose events were not yet marked done; the next handler of
 * those events would write them again. The recovery reads the last
 * NOTIFY_RECOVER_BYTES of the file and marks the event ids found there done
 * for group, so exactly one line per event survives crashes (a torn last
 * line is cut off by the next delivery). Returns EB_OK, EB_ERR_REDIS (retry
 * later) or EB_ERR_IO. */
#define NOTIFY_RECOVER_BYTES (1024 * 1024)
eb_err_t notify_recover(notify_ctx_t *ctx, eb_redis_t *r, const char *group, int64_t ttl_s,
                        size_t *recovered);

/* The handler for every event type notify_render() knows (eb_handler_t; opaque is a notify_ctx_t):
 * delivers one line per event (notify_deliver). One line per event id comes from the consumer's
 * claims and done-marks, and, for an event that comes back before its done-mark (a crash, a failed
 * fdatasync, another instance's takeover), from the file itself. A failed write is
 * EB_ERR_TRANSIENT: retried, then dead-lettered. */
eb_err_t notify_handle(eb_work_t *w, void *opaque);

/* Reopens the file if SIGHUP asked for it (eb_tick_cb_t), so logrotate can
 * move it away without waiting for the next event. */
void notify_tick(void *opaque);

/* Makes the lines written in this batch durable before their events are
 * marked done (eb_batch_end_cb_t). A pipe or device that cannot be synced
 * (EINVAL) has nothing to sync. */
eb_err_t notify_sync(void *opaque);

#endif /* SERVICES_NOTIFICATION_NOTIFY_H */
