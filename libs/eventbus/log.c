/*
 * JSON-lines logging.
 *
 * A line is built in a stack buffer and handed to the callback whole; the
 * default callback writes it with one write(2), which keeps lines from
 * different threads apart. Lines longer than the buffer are cut, never split.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "eb_int.h"
#include "eventbus/envelope.h"
#include "eventbus/log.h"

#define LINE_MAX_BYTES 8192

eb_log_level_t eb_log_threshold = EB_LOG_INFO;

static char log_service[64] = "eventbus";
static char log_instance[128] = "";
static int log_json = 1;
static eb_log_cb_t *log_cb = NULL;
static void *log_cb_opaque = NULL;
static _Thread_local const eb_log_fields_t *log_context;

void eb_log_set_context(const eb_log_fields_t *fields)
{
    log_context = fields;
}

static void stderr_sink(eb_log_level_t level, const char *line, size_t len, void *opaque)
{
    (void)level;
    (void)opaque;
    /* The line buffer holds the newline at line[len]. */
    ssize_t r = write(STDERR_FILENO, line, len + 1);
    (void)r;
}

void eb_log_init(const char *service, const char *instance, eb_log_level_t level, int json)
{
    if (service)
        snprintf(log_service, sizeof(log_service), "%s", service);
    if (instance)
        snprintf(log_instance, sizeof(log_instance), "%s", instance);
    eb_log_threshold = level;
    log_json = json;
}

void eb_log_set_callback(eb_log_cb_t *cb, void *opaque)
{
    log_cb = cb;
    log_cb_opaque = opaque;
}

int eb_log_level_parse(const char *name, eb_log_level_t *level)
{
    static const struct {
        const char *name;
        eb_log_level_t level;
    } names[] = {{"error", EB_LOG_ERROR},
                 {"warn", EB_LOG_WARN},
                 {"warning", EB_LOG_WARN},
                 {"info", EB_LOG_INFO},
                 {"debug", EB_LOG_DEBUG}};

    for (size_t i = 0; name && i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcasecmp(name, names[i].name) == 0) {
            *level = names[i].level;
            return 0;
        }
    }
    return -1;
}

static const char *level_name(eb_log_level_t level)
{
    switch (level) {
    case EB_LOG_ERROR:
        return "error";
    case EB_LOG_WARN:
        return "warn";
    case EB_LOG_INFO:
        return "info";
    case EB_LOG_DEBUG:
        return "debug";
    }
    return "info";
}

/* A bounded string builder over a fixed buffer; keeps one byte for '\n'. */
typedef struct line_s {
    char *buf;
    size_t size, len;
} line_t;

static void line_put(line_t *l, const char *s, size_t n)
{
    size_t room = l->size - 1 - l->len;

    if (n > room)
        n = room;
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

static void line_puts(line_t *l, const char *s)
{
    line_put(l, s, strlen(s));
}

static void line_printf(line_t *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line_printf(line_t *l, const char *fmt, ...)
{
    va_list ap;
    size_t room = l->size - 1 - l->len;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(l->buf + l->len, room + 1, fmt, ap);
    va_end(ap);
    if (n > 0)
        l->len += (size_t)n < room ? (size_t)n : room;
}

static void line_json_str(line_t *l, const char *s)
{
    char esc[8];

    line_put(l, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        size_t n = eb__json_escape_char(*p, esc);
        line_put(l, esc, n);
    }
    line_put(l, "\"", 1);
}

static void line_field(line_t *l, const char *key, const char *value)
{
    if (!value || !*value)
        return;
    if (log_json) {
        line_printf(l, ",\"%s\":", key);
        line_json_str(l, value);
    } else {
        line_printf(l, " %s=%s", key, value);
    }
}

void eb_log_write(eb_log_level_t level, const eb_log_fields_t *f, const char *fmt, ...)
{
    char buf[LINE_MAX_BYTES];
    char msg[LINE_MAX_BYTES / 2];
    char ts[EB_TIME_LEN + 1];
    line_t l = {buf, sizeof(buf), 0};
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    eb_time_format(eb_time_now_ms(), ts);
    if (!f)
        f = log_context;

    if (log_json) {
        line_printf(&l, "{\"time\":\"%s\",\"level\":\"%s\"", ts, level_name(level));
        line_field(&l, "service", log_service);
        line_field(&l, "instance", log_instance);
        line_puts(&l, ",\"msg\":");
        line_json_str(&l, msg);
    } else {
        line_printf(&l, "%s %-5s %s[%s] %s", ts, level_name(level), log_service, log_instance, msg);
    }
    if (f) {
        line_field(&l, "eventId", f->event_id);
        line_field(&l, "type", f->type);
        line_field(&l, "orderId", f->order_id);
        line_field(&l, "correlationid", f->correlation_id);
        line_field(&l, "trace_id", f->trace_id);
        line_field(&l, "span_id", f->span_id);
        line_field(&l, "parent_span_id", f->parent_span_id);
        line_field(&l, "topic", f->topic);
        if (f->partition >= 0)
            line_printf(&l, log_json ? ",\"partition\":%" PRId32 : " partition=%" PRId32,
                        f->partition);
        if (f->offset >= 0)
            line_printf(&l, log_json ? ",\"offset\":%" PRId64 : " offset=%" PRId64, f->offset);
    }
    if (log_json)
        line_put(&l, "}", 1);
    buf[l.len] = '\n';

    if (log_cb)
        log_cb(level, buf, l.len, log_cb_opaque);
    else
        stderr_sink(level, buf, l.len, NULL);
}
