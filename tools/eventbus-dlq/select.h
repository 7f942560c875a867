/*
 * Which dead letters an eventbus-dlq command takes, and the command line
 * that says so (select.c). Pure: no I/O, so tests/unit/test_dlq_tool.c
 * covers every rule.
 *
 * A selection is the conjunction of its filters; a repeated filter (or a
 * comma-separated list of partitions) matches any of its values. Offsets
 * pick, per partition, the records read at all (kcat's -o and -c); the
 * other filters are checked on each record read.
 */
#ifndef DLQ_SELECT_H
#define DLQ_SELECT_H

#include <stddef.h>
#include <stdint.h>

#define DLQ_MAX_VALUES 256 /* values of one repeatable filter */

/* Where reading starts in each partition (-o). */
typedef enum dlq_from_e {
    DLQ_FROM_BEGINNING = 0, /* its low watermark (the default) */
    DLQ_FROM_END,           /* its high watermark: nothing already there */
    DLQ_FROM_OFFSET,        /* from_offset, or the low watermark if later */
    DLQ_FROM_TAIL           /* from_offset records before the high watermark */
} dlq_from_t;

typedef struct dlq_select_s {
    int32_t partitions[DLQ_MAX_VALUES]; /* -p; none: every partition */
    int partition_count;
    dlq_from_t from; /* -o */
    int64_t from_offset;
    int64_t end_offset;                 /* --end-offset, exclusive; -1: the end at start */
    int64_t count;                      /* -c: at most this many records selected; 0: all */
    const char *groups[DLQ_MAX_VALUES]; /* --group: kafka_dlt-original-consumer-group */
    int group_count;
    const char *event_ids[DLQ_MAX_VALUES]; /* --event-id: the CloudEvent id */
    int event_id_count;
    int64_t since_ms; /* --since, inclusive; INT64_MIN: unset */
    int64_t until_ms; /* --until, exclusive; INT64_MAX: unset */
} dlq_select_t;

/* Everything eventbus-dlq reads from its command line besides the settings
 * tables (KAFKA_BROKERS and the rest, which eb_config_parse() reads). The
 * pointers point into argv. */
typedef struct dlq_args_s {
    dlq_select_t sel;
    int dry_run;         /* --dry-run */
    const char *brokers; /* -b: KAFKA_BROKERS; NULL: not given */
    const char *config;  /* -F: KAFKA_CONFIG_FILE; NULL: not given */
    int selecting;       /* 1 when any filter was given */
} dlq_args_t;

/* Sets a to "everything, no filter". */
void dlq_args_init(dlq_args_t *a);

/* Takes eventbus-dlq's own flags out of argv, leaving the rest (settings,
 * -X, positional arguments) for eb_config_parse(), in order. Values may be
 * attached (-p3, --partition=3) or follow (-p 3); a value that follows is
 * taken whatever it looks like (-o -5). The value after a settings flag
 * (--log-level warn) and after -X is left alone. Returns 0, or -1 with one
 * line naming the flag in errstr. */
int dlq_args_take(dlq_args_t *a, int *argc, char **argv, char *errstr, size_t errstr_size);

/* The checks across flags (an --end-offset not after -o). Returns 0, or -1
 * with the reason in errstr. */
int dlq_select_check(const dlq_select_t *s, char *errstr, size_t errstr_size);

/* Reads an RFC 3339 date-time or milliseconds since the epoch. Returns 0,
 * or -1 when text is neither. */
int dlq_parse_time(const char *text, int64_t *ms);

/* 1 if partition p is to be read. */
int dlq_select_partition(const dlq_select_t *s, int32_t p);

/* The offsets to read of a partition whose watermarks are lo and hi: from
 * *start to before *end. Returns 0 when there is nothing to read. */
int dlq_select_range(const dlq_select_t *s, int64_t lo, int64_t hi, int64_t *start, int64_t *end);

/* What a record filter looks at. Pointers may be NULL (no such header, not
 * a CloudEvent); group is not NUL-terminated. */
typedef struct dlq_view_s {
    int64_t timestamp_ms; /* the dead letter's own timestamp; -1: none */
    const char *group;    /* kafka_dlt-original-consumer-group */
    size_t group_len;
    const char *event_id;
} dlq_view_t;

/* 1 if a record read matches the --group, --event-id and time filters. */
int dlq_select_match(const dlq_select_t *s, const dlq_view_t *v);

/* 1 if replay leaves header name out: Spring Kafka's kafka_dlt-* headers
 * and the suite's own dead-letter headers (eb_dlq_is_dlq_header()). */
int dlq_is_dead_letter_header(const char *name);

#endif /* DLQ_SELECT_H */
