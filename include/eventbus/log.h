/*
 * Structured logging: one JSON object per line (or a plain text line).
 *
 * The library never prints on its own: every line goes through the log
 * callback, which by default writes the line to stderr with a single write(2)
 * so lines from different threads never interleave. The EB_LOG macros test
 * the level before any formatting is done, so a disabled debug line costs one
 * comparison.
 *
 * Thread safety: eb_log_init() and eb_log_set_callback() must be called once,
 * before other threads start. eb_log_write() may be called from any thread.
 */
#ifndef EVENTBUS_LOG_H
#define EVENTBUS_LOG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Levels use syslog numbering, as librdkafka's log callback does. */
typedef enum eb_log_level_e {
    EB_LOG_ERROR = 3,
    EB_LOG_WARN = 4,
    EB_LOG_INFO = 6,
    EB_LOG_DEBUG = 7
} eb_log_level_t;

/* Event context attached to a log line. Every member is optional: NULL
 * strings and negative partition/offset are left out of the line. The trace
 * members are the W3C ids of the span doing the work (traceparent.h), as
 * trace_id, span_id and parent_span_id: the names OpenTelemetry's log data
 * model gives them, so log tools join lines to traces. */
typedef struct eb_log_fields_s {
    const char *event_id;
    const char *type;
    const char *order_id;
    const char *correlation_id;
    const char *trace_id;
    const char *span_id;
    const char *parent_span_id;
    const char *topic;
    int32_t partition;
    int64_t offset;
} eb_log_fields_t;

/* Initialiser for an eb_log_fields_t with nothing set. */
#define EB_LOG_FIELDS_INIT                                                                         \
    {                                                                                              \
        NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, -1, -1                                     \
    }

/* Receives one finished line (without the trailing newline in len, but the
 * buffer holds it at line[len]). The buffer is valid only during the call. */
typedef void(eb_log_cb_t)(eb_log_level_t level, const char *line, size_t len, void *opaque);

/* Sets the service and instance names put on every line, the threshold and
 * the format (json != 0: JSON lines, else text). The strings are copied. */
void eb_log_init(const char *service, const char *instance, eb_log_level_t level, int json);

/* Replaces the line sink; NULL restores the stderr writer. cb runs on
 * whichever thread logs, concurrently and without a lock: it must be
 * thread-safe. opaque must stay valid while cb is installed. */
void eb_log_set_callback(eb_log_cb_t *cb, void *opaque);

/* Parses "error", "warn", "info" or "debug". Returns 0 on success, -1 else. */
int eb_log_level_parse(const char *name, eb_log_level_t *level);

/* Sets the calling thread's current event context: every line this thread
 * logs without fields of its own (EB_INFO, EB_WARN, ...) carries it, so a
 * handler's own lines name the event and its span. NULL clears it. The
 * fields and their strings are not copied: they must stay valid until the
 * context is cleared or replaced. The consumer sets it around each
 * per-event handler call. */
void eb_log_set_context(const eb_log_fields_t *fields);

/* Formats and emits one line (fields NULL: the thread's context, if any).
 * Prefer the macros, which skip disabled levels. fields is read during the
 * call only. */
void eb_log_write(eb_log_level_t level, const eb_log_fields_t *fields, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Current threshold; read by the macros. Set through eb_log_init(). */
extern eb_log_level_t eb_log_threshold;

#define EB_LOG(level, ...)                                                                         \
    do {                                                                                           \
        if ((level) <= eb_log_threshold)                                                           \
            eb_log_write((level), NULL, __VA_ARGS__);                                              \
    } while (0)

#define EB_LOG_EV(level, fields, ...)                                                              \
    do {                                                                                           \
        if ((level) <= eb_log_threshold)                                                           \
            eb_log_write((level), (fields), __VA_ARGS__);                                          \
    } while (0)

#define EB_ERROR(...) EB_LOG(EB_LOG_ERROR, __VA_ARGS__)
#define EB_WARN(...)  EB_LOG(EB_LOG_WARN, __VA_ARGS__)
#define EB_INFO(...)  EB_LOG(EB_LOG_INFO, __VA_ARGS__)
#define EB_DEBUG(...) EB_LOG(EB_LOG_DEBUG, __VA_ARGS__)

#ifdef __cplusplus
}
#endif
#endif /* EVENTBUS_LOG_H */
