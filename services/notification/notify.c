/*
 * Notifications: rendering and delivery to NOTIFY_FILE.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uuid/uuid.h>

#include "../common/domain.h"
#include "eventbus/idempotency.h"
#include "eventbus/lifecycle.h"
#include "eventbus/log.h"
#include "eventbus/money.h"
#include "notify.h"

/* Namespace for notification ids (a random UUID fixed for this suite). */
static const uuid_t notify_ns = {0x6b, 0x1d, 0x3c, 0x52, 0x8e, 0x0a, 0x4f, 0x37,
                                 0x9d, 0x25, 0x1a, 0x44, 0xc3, 0x7e, 0x90, 0x12};

void notify_id(const char *event_id, char *out)
{
    uuid_t u;

    uuid_generate_sha1(u, notify_ns, event_id, strlen(event_id));
    uuid_unparse_lower(u, out);
}

eb_err_t notify_render(const eb_event_t *ev, const char *sent_at, char **out, size_t *len,
                       char *errstr, size_t errstr_size)
{
    char message[512], amount[EB_MONEY_TEXT_MAX], nid[EB_UUID_LEN + 1];
    const char *type, *order_id, *user_id;
    svc_order_t *order = NULL;
    svc_payment_t pay;
    svc_verr_t verr;
    char *line = NULL;
    cJSON *o;

    *out = NULL;
    if (strcmp(ev->type, TYPE_ORDER_CREATED) == 0) {
        order = malloc(sizeof(*order));
        if (!order) {
            snprintf(errstr, errstr_size, "out of memory");
            return EB_ERR_NOMEM;
        }
        if (svc_order_parse(ev->data, SVC_ORDER_EVENT, order, &verr) != EB_OK) {
            snprintf(errstr, errstr_size, "invalid OrderCreated data: %s", verr.message);
            free(order);
            return EB_ERR_BAD_EVENT;
        }
        eb_money_format_fixed(order->total, amount, sizeof(amount));
        snprintf(message, sizeof(message),
                 "Your order %s has been received: %zu item%s, total %s %s.", order->order_id,
                 order->item_count, order->item_count == 1 ? "" : "s", amount, order->currency);
        type = "ORDER_CONFIRMATION";
        order_id = order->order_id;
        user_id = order->user_id;
    } else {
        int failed = strcmp(ev->type, TYPE_PAYMENT_FAILED) == 0;

        if (!failed && strcmp(ev->type, TYPE_PAYMENT_PROCESSED) != 0) {
            snprintf(errstr, errstr_size, "no notification for event type %s", ev->type);
            return EB_ERR_BAD_EVENT;
        }
        if (svc_payment_parse(ev->data, failed, &pay, errstr, errstr_size) != EB_OK)
            return EB_ERR_BAD_EVENT;
        eb_money_format_fixed(pay.amount, amount, sizeof(amount));
        if (failed)
            snprintf(message, sizeof(message), "Payment of %s %s for order %s failed: %s.", amount,
                     pay.currency, pay.order_id, pay.reason);
        else
            snprintf(message, sizeof(message), "Payment %s of %s %s received for order %s.",
                     pay.payment_id, amount, pay.currency, pay.order_id);
        type = failed ? "PAYMENT_FAILED" : "PAYMENT_RECEIPT";
        order_id = pay.order_id;
        user_id = pay.user_id[0] ? pay.user_id : NULL;
    }

    notify_id(ev->id, nid);
    o = cJSON_CreateObject();
    if (o && cJSON_AddStringToObject(o, "notificationId", nid) &&
        cJSON_AddStringToObject(o, "eventId", ev->id) && cJSON_AddStringToObject(o, "type", type) &&
        cJSON_AddStringToObject(o, "orderId", order_id) &&
        (user_id ? cJSON_AddStringToObject(o, "userId", user_id)
                 : cJSON_AddNullToObject(o, "userId")) &&
        cJSON_AddStringToObject(o, "channel", "email") &&
        cJSON_AddStringToObject(o, "message", message) &&
        cJSON_AddStringToObject(o, "sentAt", sent_at)) {
        char *json = cJSON_PrintUnformatted(o);

        if (json) {
            size_t n = strlen(json);

            line = malloc(n + 2);
            if (line) {
                memcpy(line, json, n);
                line[n] = '\n';
                line[n + 1] = '\0';
                *len = n + 1;
            }
            cJSON_free(json);
        }
    }
    cJSON_Delete(o);
    free(order);
    *out = line;
    if (!line) {
        snprintf(errstr, errstr_size, "out of memory");
        return EB_ERR_NOMEM;
    }
    return EB_OK;
}

int notify_open(notify_ctx_t *ctx)
{
    ctx->fd = open(ctx->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    return ctx->fd < 0 ? -1 : 0;
}

void notify_close(notify_ctx_t *ctx)
{
    if (ctx->fd >= 0)
        close(ctx->fd);
    ctx->fd = -1;
}

/* Reopens the file after SIGHUP; on failure keeps the old descriptor. */
void notify_tick(void *opaque)
{
    notify_ctx_t *ctx = opaque;
    int old = ctx->fd;

    if (!atomic_exchange(&eb_reopen_flag, 0))
        return;
    if (notify_open(ctx) != 0) {
        EB_ERROR("reopening %s: %s; still writing to the old file", ctx->path, strerror(errno));
        ctx->fd = old;
        return;
    }
    close(old);
    EB_INFO("reopened %s", ctx->path);
}

/* Appends one whole line or nothing. O_APPEND puts a single write(2) at the
 * end of the file whole; if the disk fills up mid-line the rest is tried
 * again, and failing that the fragment is cut off (when nobody appended
 * after it), so a retry never lands behind half a line. Returns 0, or -1
 * with errno set. */
static int append_line(int fd, const char *line, size_t len)
{
    struct stat st;
    off_t before = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? st.st_size : -1;
    ssize_t n = write(fd, line, len);
    size_t done = n > 0 ? (size_t)n : 0;
    int saved = n < 0 ? errno : ENOSPC;

    while (done > 0 && done < len) {
        n = write(fd, line + done, len - done);
        if (n <= 0) {
            saved = n < 0 ? errno : ENOSPC;
            break;
        }
        done += (size_t)n;
    }
    if (done == len)
        return 0;
    if (done > 0 && before >= 0 && fstat(fd, &st) == 0 && st.st_size == before + (off_t)done &&
        ftruncate(fd, before) != 0)
        EB_ERROR("could not remove a partial line from the notification file: %s", strerror(errno));
    errno = saved;
    return -1;
}

eb_err_t notify_handle(eb_work_t *w, void *opaque)
{
    notify_ctx_t *ctx = opaque;
    const eb_event_t *ev = eb_work_event(w);
    char sent_at[EB_TIME_LEN + 1], errstr[256];
    eb_log_fields_t f;
    size_t len = 0;
    char *line;
    eb_err_t err;
    int rc;

    eb_time_format(eb_time_now_ms(), sent_at);
    err = notify_render(ev, sent_at, &line, &len, errstr, sizeof(errstr));
    if (err)
        return eb_work_fail(w, err, "%s", errstr);
    rc = append_line(ctx->fd, line, len);
    free(line);
    if (rc != 0)
        return eb_work_fail(w, EB_ERR_TRANSIENT, "writing %s: %s", ctx->path, strerror(errno));
    eb_work_log_fields(w, &f);
    EB_LOG_EV(EB_LOG_DEBUG, &f, "notification written");
    return EB_OK;
}

eb_err_t notify_sync(void *opaque)
{
    notify_ctx_t *ctx = opaque;

    if (fdatasync(ctx->fd) != 0) {
        EB_ERROR("fdatasync %s: %s", ctx->path, strerror(errno));
        return EB_ERR_IO;
    }
    return EB_OK;
}

/* Collects the eventId of every whole line in buf (len bytes). */
static size_t collect_ids(char *buf, size_t len, char ***ids)
{
    size_t n = 0, cap = 0;

    *ids = NULL;
    for (char *line = buf, *end; line < buf + len; line = end + 1) {
        cJSON *o, *id;

        end = memchr(line, '\n', (size_t)(buf + len - line));
        if (!end)
            break; /* a torn last line was never a delivered notification */
        o = cJSON_ParseWithLength(line, (size_t)(end - line));
        id = cJSON_GetObjectItemCaseSensitive(o, "eventId");
        if (cJSON_IsString(id)) {
            if (n == cap) {
                char **grown = realloc(*ids, (cap = cap ? cap * 2 : 256) * sizeof(char *));

                if (!grown) {
                    cJSON_Delete(o);
                    break;
                }
                *ids = grown;
            }
            (*ids)[n] = strdup(id->valuestring);
            if ((*ids)[n])
                n++;
        }
        cJSON_Delete(o);
    }
    return n;
}

eb_err_t notify_recover(notify_ctx_t *ctx, eb_redis_t *r, const char *group, int64_t ttl_s,
                        size_t *recovered)
{
    int fd = open(ctx->path, O_RDONLY | O_CLOEXEC);
    off_t size, from;
    char *buf, *start, **ids = NULL;
    size_t n = 0, len;
    ssize_t got;
    eb_err_t err = EB_OK;

    *recovered = 0;
    if (fd < 0)
        return EB_ERR_IO;
    size = lseek(fd, 0, SEEK_END);
    from = size > NOTIFY_RECOVER_BYTES ? size - NOTIFY_RECOVER_BYTES : 0;
    buf = size > 0 ? malloc((size_t)(size - from)) : NULL;
    if (size <= 0 || !buf) {
        close(fd);
        free(buf);
        return size < 0 ? EB_ERR_IO : EB_OK;
    }
    got = pread(fd, buf, (size_t)(size - from), from);
    close(fd);
    if (got != size - from) {
        free(buf);
        return EB_ERR_IO;
    }
    /* Not from the start of the file: the first line is partial. */
    start = buf;
    len = (size_t)got;
    if (from > 0) {
        char *nl = memchr(buf, '\n', len);

        len = nl ? len - (size_t)(nl + 1 - buf) : 0;
        start = nl ? nl + 1 : buf;
    }
    n = collect_ids(start, len, &ids);
    for (size_t i = 0; i < n && err == EB_OK; i += 500)
        err = eb_idempotency_mark_done(r, group, (const char *const *)ids + i,
                                       n - i < 500 ? n - i : 500, ttl_s);
    /* End a torn last line so the next notification starts on its own. */
    if (err == EB_OK && buf[got - 1] != '\n' && write(ctx->fd, "\n", 1) != 1)
        err = EB_ERR_IO;
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    free(buf);
    if (err == EB_OK)
        *recovered = n;
    return err;
}
