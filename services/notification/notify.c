/*
 * Notifications: rendering and delivery to NOTIFY_FILE.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
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

/* What a notification says, before it becomes a line. An empty orderId or
 * userId is written as null. */
typedef struct notice_s {
    const char *type;
    char order_id[SVC_ID_MAX + 1];
    char user_id[SVC_ID_MAX + 1];
    char message[512];
} notice_t;

static void set_ids(notice_t *n, const char *order_id, const char *user_id)
{
    snprintf(n->order_id, sizeof(n->order_id), "%s", order_id);
    snprintf(n->user_id, sizeof(n->user_id), "%s", user_id);
}

static eb_err_t order_created(const eb_event_t *ev, notice_t *n, char *errstr, size_t errstr_size)
{
    char amount[EB_MONEY_TEXT_MAX];
    svc_order_t *order = malloc(sizeof(*order));
    svc_verr_t verr;

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
    snprintf(n->message, sizeof(n->message),
             "Your order %s has been received: %zu item%s, total %s %s.", order->order_id,
             order->item_count, order->item_count == 1 ? "" : "s", amount, order->currency);
    n->type = "ORDER_CONFIRMATION";
    set_ids(n, order->order_id, order->user_id);
    free(order);
    return EB_OK;
}

static eb_err_t payment(const eb_event_t *ev, int failed, notice_t *n, char *errstr,
                        size_t errstr_size)
{
    char amount[EB_MONEY_TEXT_MAX];
    svc_payment_t *pay = malloc(sizeof(*pay));

    if (!pay) {
        snprintf(errstr, errstr_size, "out of memory");
        return EB_ERR_NOMEM;
    }
    if (svc_payment_parse(ev->data, failed, pay, errstr, errstr_size) != EB_OK) {
        free(pay);
        return EB_ERR_BAD_EVENT;
    }
    eb_money_format_fixed(pay->amount, amount, sizeof(amount));
    if (failed)
        snprintf(n->message, sizeof(n->message), "Payment of %s %s for order %s failed: %s.",
                 amount, pay->currency, pay->order_id, pay->reason);
    else
        snprintf(n->message, sizeof(n->message), "Payment %s of %s %s received for order %s.",
                 pay->payment_id, amount, pay->currency, pay->order_id);
    n->type = failed ? "PAYMENT_FAILED" : "PAYMENT_RECEIPT";
    set_ids(n, pay->order_id, pay->user_id);
    free(pay);
    return EB_OK;
}

static eb_err_t refund(const eb_event_t *ev, notice_t *n, char *errstr, size_t errstr_size)
{
    char amount[EB_MONEY_TEXT_MAX];
    svc_refund_t r;

    if (svc_refund_parse(ev->data, &r, errstr, errstr_size) != EB_OK)
        return EB_ERR_BAD_EVENT;
    eb_money_format_fixed(r.amount, amount, sizeof(amount));
    snprintf(n->message, sizeof(n->message),
             "Payment %s of %s %s for order %s has been refunded: %s.", r.payment_id, amount,
             r.currency, r.order_id, r.reason);
    n->type = "REFUND_ISSUED";
    set_ids(n, r.order_id, r.user_id);
    return EB_OK;
}

static eb_err_t order_change(const eb_event_t *ev, int cancelled, notice_t *n, char *errstr,
                             size_t errstr_size)
{
    svc_order_change_t c;

    if (svc_order_change_parse(ev->data, cancelled, &c, errstr, errstr_size) != EB_OK)
        return EB_ERR_BAD_EVENT;
    if (cancelled)
        snprintf(n->message, sizeof(n->message), "Your order %s has been cancelled: %s.",
                 c.order_id, c.reason);
    else
        snprintf(n->message, sizeof(n->message), "Your order %s is complete. Thank you!",
                 c.order_id);
    n->type = cancelled ? "ORDER_CANCELLED" : "ORDER_COMPLETED";
    set_ids(n, c.order_id, c.user_id);
    return EB_OK;
}

static eb_err_t welcome(const eb_event_t *ev, notice_t *n, char *errstr, size_t errstr_size)
{
    svc_user_t u;
    svc_verr_t verr;

    if (svc_user_parse(ev->data, SVC_USER_EVENT, &u, &verr) != EB_OK) {
        snprintf(errstr, errstr_size, "invalid UserRegistered data: %s", verr.message);
        return EB_ERR_BAD_EVENT;
    }
    snprintf(n->message, sizeof(n->message), "Welcome, %s! Your account is ready.", u.name);
    n->type = "WELCOME";
    set_ids(n, "", u.user_id);
    return EB_OK;
}

/* Fills n for ev, by type. */
static eb_err_t notice(const eb_event_t *ev, notice_t *n, char *errstr, size_t errstr_size)
{
    const char *t = ev->type;

    if (strcmp(t, TYPE_ORDER_CREATED) == 0)
        return order_created(ev, n, errstr, errstr_size);
    if (strcmp(t, TYPE_PAYMENT_PROCESSED) == 0 || strcmp(t, TYPE_PAYMENT_FAILED) == 0)
        return payment(ev, strcmp(t, TYPE_PAYMENT_FAILED) == 0, n, errstr, errstr_size);
    if (strcmp(t, TYPE_PAYMENT_REFUNDED) == 0)
        return refund(ev, n, errstr, errstr_size);
    if (strcmp(t, TYPE_ORDER_CANCELLED) == 0 || strcmp(t, TYPE_ORDER_COMPLETED) == 0)
        return order_change(ev, strcmp(t, TYPE_ORDER_CANCELLED) == 0, n, errstr, errstr_size);
    if (strcmp(t, TYPE_USER_REGISTERED) == 0)
        return welcome(ev, n, errstr, errstr_size);
    snprintf(errstr, errstr_size, "no notification for event type %s", t);
    return EB_ERR_BAD_EVENT;
}

static int add_id(cJSON *o, const char *name, const char *value)
{
    return value[0] ? cJSON_AddStringToObject(o, name, value) != NULL
                    : cJSON_AddNullToObject(o, name) != NULL;
}

eb_err_t notify_render(const eb_event_t *ev, const char *sent_at, char **out, size_t *len,
                       char *errstr, size_t errstr_size)
{
    char nid[EB_UUID_LEN + 1];
    notice_t *n;
    char *line = NULL;
    eb_err_t err;
    cJSON *o;

    *out = NULL;
    n = malloc(sizeof(*n));
    if (!n) {
        snprintf(errstr, errstr_size, "out of memory");
        return EB_ERR_NOMEM;
    }
    err = notice(ev, n, errstr, errstr_size);
    if (err != EB_OK) {
        free(n);
        return err;
    }
    notify_id(ev->id, nid);
    o = cJSON_CreateObject();
    if (o && cJSON_AddStringToObject(o, "notificationId", nid) &&
        cJSON_AddStringToObject(o, "eventId", ev->id) &&
        cJSON_AddStringToObject(o, "type", n->type) && add_id(o, "orderId", n->order_id) &&
        add_id(o, "userId", n->user_id) && cJSON_AddStringToObject(o, "channel", "email") &&
        cJSON_AddStringToObject(o, "message", n->message) &&
        cJSON_AddStringToObject(o, "sentAt", sent_at)) {
        char *json = cJSON_PrintUnformatted(o);

        if (json) {
            size_t jn = strlen(json);

            line = malloc(jn + 2);
            if (line) {
                memcpy(line, json, jn);
                line[jn] = '\n';
                line[jn + 1] = '\0';
                *len = jn + 1;
            }
            cJSON_free(json);
        }
    }
    cJSON_Delete(o);
    free(n);
    *out = line;
    if (!line) {
        snprintf(errstr, errstr_size, "out of memory");
        return EB_ERR_NOMEM;
    }
    return EB_OK;
}

/* Calls fn(id, arg) for the eventId of every whole line in buf (len
 * bytes). Returns the bytes of those lines: a torn last line is not one. */
static size_t each_event_id(const char *buf, size_t len, int (*fn)(const char *, void *), void *arg)
{
    const char *line = buf, *end;

    for (; line < buf + len; line = end + 1) {
        cJSON *o, *id;

        end = memchr(line, '\n', (size_t)(buf + len - line));
        if (!end)
            break; /* a torn last line was never a delivered notification */
        o = cJSON_ParseWithLength(line, (size_t)(end - line));
        id = cJSON_GetObjectItemCaseSensitive(o, "eventId");
        if (cJSON_IsString(id) && fn(id->valuestring, arg) != 0) {
            cJSON_Delete(o);
            return (size_t)(line - buf);
        }
        cJSON_Delete(o);
    }
    return (size_t)(line - buf);
}

/* Out of memory loses this id's check, never the reading of the lines
 * after it: catch_up() must stop only at a torn tail. */
static int see(const char *id, void *arg)
{
    (void)delivered_add(arg, id);
    return 0;
}

/* A read-only descriptor on the very file fd appends to, or -1: the path is
 * opened again and kept only if it names the same file (dev, inode). */
static int open_for_reading(const char *path, int fd)
{
    struct stat a, b;
    int rfd = open(path, O_RDONLY | O_CLOEXEC);

    if (rfd >= 0 && (fstat(rfd, &a) != 0 || fstat(fd, &b) != 0 || a.st_ino != b.st_ino ||
                     a.st_dev != b.st_dev)) {
        close(rfd);
        rfd = -1;
    }
    return rfd;
}

/* Reads the whole lines appended since ctx->indexed into ctx->seen, up to
 * the end of the file, looking back NOTIFY_RECOVER_BYTES at most (only the
 * recent past matters). On return, bytes past ctx->indexed are a torn tail:
 * no newline among them. Returns 0, or -1 with errno set. */
static int catch_up(notify_ctx_t *ctx)
{
    char buf[64 * 1024];
    int rfd = ctx->rfd, mid = 0, rc = 0;
    struct stat st;
    long long size;

    if (rfd < 0 || fstat(rfd, &st) != 0) {
        rc = -1;
        goto out;
    }
    size = (long long)st.st_size;
    if (size < ctx->indexed)
        ctx->indexed = 0; /* truncated */
    if (size - ctx->indexed > NOTIFY_RECOVER_BYTES) {
        ctx->indexed = size - NOTIFY_RECOVER_BYTES;
        mid = 1;
    }
    while (ctx->indexed < size) {
        size_t want = size - ctx->indexed < (long long)sizeof(buf) ? (size_t)(size - ctx->indexed)
                                                                   : sizeof(buf);
        ssize_t got = pread(rfd, buf, want, (off_t)ctx->indexed);
        const char *nl;
        size_t used;

        if (got <= 0) {
            rc = got < 0 ? -1 : 0;
            break;
        }
        if (mid) {
            /* Started mid-file: the first whole line follows a newline. */
            nl = memchr(buf, '\n', (size_t)got);
            ctx->indexed += nl ? nl + 1 - buf : got;
            mid = !nl;
            continue;
        }
        used = each_event_id(buf, (size_t)got, see, ctx->seen);
        if (used == 0) {
            if ((size_t)got < sizeof(buf))
                break;          /* a torn line at the end: no more whole lines */
            used = (size_t)got; /* a line longer than buf is none of ours */
        }
        ctx->indexed += (long long)used;
    }
out:
    return rc;
}

int notify_open(notify_ctx_t *ctx)
{
    struct stat st;

    ctx->fd = open(ctx->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (ctx->fd < 0)
        return -1;
    ctx->regular = fstat(ctx->fd, &st) == 0 && S_ISREG(st.st_mode);
    ctx->indexed = 0;
    ctx->rfd = -1;
    if (ctx->regular && (ctx->rfd = open_for_reading(ctx->path, ctx->fd)) < 0) {
        /* Without reading the file back there is no check against a
         * second line: refuse rather than deliver twice. */
        int saved = errno ? errno : ESTALE;

        close(ctx->fd);
        ctx->fd = -1;
        errno = saved;
        return -1;
    }
    if (!ctx->seen)
        ctx->seen = delivered_new(NOTIFY_DELIVERED_MAX);
    if (!ctx->seen) {
        close(ctx->fd);
        ctx->fd = -1;
        errno = ENOMEM;
        return -1;
    }
    /* The recent lines, so that their events are not written again. */
    if (ctx->regular)
        (void)catch_up(ctx);
    return 0;
}

void notify_close(notify_ctx_t *ctx)
{
    if (ctx->fd >= 0)
        close(ctx->fd);
    if (ctx->rfd >= 0)
        close(ctx->rfd);
    ctx->fd = ctx->rfd = -1;
    delivered_free(ctx->seen);
    ctx->seen = NULL;
}

/* Reopens the file after SIGHUP; on failure keeps the old descriptor. */
void notify_tick(void *opaque)
{
    notify_ctx_t *ctx = opaque;
    notify_ctx_t before = *ctx;

    if (!atomic_exchange(&eb_reopen_flag, 0))
        return;
    if (notify_open(ctx) != 0) {
        EB_ERROR("reopening %s: %s; still writing to the old file", ctx->path, strerror(errno));
        *ctx = before;
        return;
    }
    close(before.fd);
    if (before.rfd >= 0)
        close(before.rfd);
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

/* Takes the file's exclusive lock, waiting up to NOTIFY_LOCK_MS for an
 * instance that holds it (a hung one must not stall this consumer for
 * ever); a signal does not cut the wait short. Returns 0, or -1 with errno
 * set (EWOULDBLOCK: still held). */
static int lock_bounded(int fd)
{
    int64_t deadline = eb_time_mono_ms() + NOTIFY_LOCK_MS;

    for (;;) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            return 0;
        if (errno != EWOULDBLOCK && errno != EINTR)
            return -1;
        if (eb_time_mono_ms() >= deadline) {
            errno = EWOULDBLOCK;
            return -1;
        }
        usleep(2000);
    }
}

int notify_deliver(notify_ctx_t *ctx, const char *event_id, const char *line, size_t len,
                   int *written)
{
    struct stat st;
    int rc = -1, saved = 0;

    *written = 0;
    if (!ctx->regular) {
        rc = append_line(ctx->fd, line, len);
        *written = rc == 0;
        return rc;
    }
    if (lock_bounded(ctx->fd) != 0)
        return -1;
    if (catch_up(ctx) != 0 || fstat(ctx->fd, &st) != 0)
        goto out;
    /* Bytes after the last whole line: a writer died mid-line. They were
     * never a notification (no newline ends them); cut them off, so this
     * line starts on its own and the fragment's event, which was not
     * marked done either, gets its one line when it comes again. All
     * writers append under this lock, so nobody is writing them now. */
    if ((long long)st.st_size > ctx->indexed) {
        EB_WARN("%s ends in %lld bytes of a torn line; removing them", ctx->path,
                (long long)st.st_size - ctx->indexed);
        if (ftruncate(ctx->fd, (off_t)ctx->indexed) != 0)
            goto out;
    }
    if (delivered_has(ctx->seen, event_id)) {
        rc = 0; /* delivered before: by us before a failed sync, or by another */
        goto out;
    }
    rc = append_line(ctx->fd, line, len);
    if (rc == 0) {
        *written = 1;
        ctx->indexed += (long long)len;
        (void)delivered_add(ctx->seen, event_id); /* out of memory: the done-mark remains */
    }
out:
    saved = errno;
    flock(ctx->fd, LOCK_UN);
    errno = saved;
    return rc;
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
    int rc, written;

    eb_time_format(eb_time_now_ms(), sent_at);
    err = notify_render(ev, sent_at, &line, &len, errstr, sizeof(errstr));
    if (err)
        return eb_work_fail(w, err, "%s", errstr);
    rc = notify_deliver(ctx, ev->id, line, len, &written);
    free(line);
    if (rc != 0)
        return eb_work_fail(w, EB_ERR_TRANSIENT, "writing %s: %s", ctx->path, strerror(errno));
    eb_work_log_fields(w, &f);
    EB_LOG_EV(EB_LOG_DEBUG, &f, written ? "notification written" : "notification already in %s",
              ctx->path);
    return EB_OK;
}

eb_err_t notify_sync(void *opaque)
{
    notify_ctx_t *ctx = opaque;

    if (fdatasync(ctx->fd) != 0 && errno != EINVAL) {
        EB_ERROR("fdatasync %s: %s", ctx->path, strerror(errno));
        return EB_ERR_IO;
    }
    return EB_OK;
}

typedef struct ids_s {
    char **v;
    size_t n, cap;
} ids_t;

static int collect(const char *id, void *arg)
{
    ids_t *ids = arg;

    if (ids->n == ids->cap) {
        size_t cap = ids->cap ? ids->cap * 2 : 256;
        char **grown = realloc(ids->v, cap * sizeof(char *));

        if (!grown)
            return -1;
        ids->v = grown;
        ids->cap = cap;
    }
    ids->v[ids->n] = strdup(id);
    if (ids->v[ids->n])
        ids->n++;
    return 0;
}

eb_err_t notify_recover(notify_ctx_t *ctx, eb_redis_t *r, const char *group, int64_t ttl_s,
                        size_t *recovered)
{
    int fd;
    off_t size, from;
    char *buf, *start;
    ids_t ids = {NULL, 0, 0};
    size_t n = 0, len;
    ssize_t got;
    eb_err_t err = EB_OK;

    *recovered = 0;
    if (!ctx->regular)
        return EB_OK; /* a pipe or a device keeps no lines to recover */
    fd = open(ctx->path, O_RDONLY | O_CLOEXEC);
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
    (void)each_event_id(start, len, collect, &ids);
    n = ids.n;
    for (size_t i = 0; i < n && err == EB_OK; i += 500)
        err = eb_idempotency_mark_done(r, group, (const char *const *)ids.v + i,
                                       n - i < 500 ? n - i : 500, ttl_s);
    /* A torn last line is cut off by the next delivery, under the lock. */
    for (size_t i = 0; i < n; i++)
        free(ids.v[i]);
    free(ids.v);
    free(buf);
    if (err == EB_OK)
        *recovered = n;
    return err;
}
