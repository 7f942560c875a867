/*
 * eventbus-dlq's command line and the selection of dead letters it makes:
 * pure decisions over plain data (select.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eventbus/dlq.h"
#include "eventbus/time.h"
#include "select.h"

void dlq_args_init(dlq_args_t *a)
{
    memset(a, 0, sizeof(*a));
    a->sel.end_offset = -1;
    a->sel.since_ms = INT64_MIN;
    a->sel.until_ms = INT64_MAX;
}

/* Reads a whole decimal integer within [min, max]. */
static int parse_int(const char *s, int64_t min, int64_t max, int64_t *v)
{
    char *end;
    long long n;

    if (!*s || (*s != '-' && (*s < '0' || *s > '9')))
        return -1;
    errno = 0;
    n = strtoll(s, &end, 10);
    if (errno || *end || n < min || n > max)
        return -1;
    *v = n;
    return 0;
}

int dlq_parse_time(const char *text, int64_t *ms)
{
    if (parse_int(text, 0, INT64_MAX / 2, ms) == 0)
        return 0;
    return eb_time_parse(text, ms);
}

typedef enum flag_e {
    F_PARTITION,
    F_OFFSET,
    F_END_OFFSET,
    F_COUNT,
    F_GROUP,
    F_EVENT_ID,
    F_SINCE,
    F_UNTIL,
    F_DRY_RUN,
    F_BROKERS,
    F_CONFIG
} flag_t;

static const struct {
    const char *shrt, *lng; /* either may be NULL */
    flag_t flag;
    int takes_value;
} flags[] = {
    {"-p", "--partition", F_PARTITION, 1},
    {"-o", "--offset", F_OFFSET, 1},
    {NULL, "--end-offset", F_END_OFFSET, 1},
    {"-c", "--count", F_COUNT, 1},
    {NULL, "--group", F_GROUP, 1},
    {NULL, "--event-id", F_EVENT_ID, 1},
    {NULL, "--since", F_SINCE, 1},
    {NULL, "--until", F_UNTIL, 1},
    {NULL, "--dry-run", F_DRY_RUN, 0},
    {"-b", NULL, F_BROKERS, 1},
    {"-F", NULL, F_CONFIG, 1},
};

#define NFLAGS (sizeof(flags) / sizeof(flags[0]))

static int bad(char *errstr, size_t size, const char *flag, const char *value, const char *why)
{
    snprintf(errstr, size, "invalid %s '%.64s': %s", flag, value, why);
    return -1;
}

static int add_value(const char **list, int *n, const char *v)
{
    if (*n == DLQ_MAX_VALUES)
        return -1;
    list[(*n)++] = v;
    return 0;
}

static int set_flag(dlq_args_t *a, flag_t f, const char *name, const char *v, char *errstr,
                    size_t size)
{
    dlq_select_t *s = &a->sel;
    int64_t n;

    if (f != F_DRY_RUN && f != F_BROKERS && f != F_CONFIG)
        a->selecting = 1;
    switch (f) {
    case F_PARTITION:
        /* "3", or a list "0,2,5" */
        for (const char *p = v;; p++) {
            char one[16];
            size_t len = strcspn(p, ",");

            if (len == 0 || len >= sizeof(one))
                return bad(errstr, size, name, v, "expected partition numbers, e.g. 3 or 0,2,5");
            memcpy(one, p, len);
            one[len] = '\0';
            if (parse_int(one, 0, INT32_MAX, &n) != 0)
                return bad(errstr, size, name, v, "expected partition numbers, e.g. 3 or 0,2,5");
            if (s->partition_count == DLQ_MAX_VALUES)
                return bad(errstr, size, name, v, "too many partitions");
            s->partitions[s->partition_count++] = (int32_t)n;
            p += len;
            if (!*p)
                break;
        }
        return 0;
    case F_OFFSET:
        if (strcmp(v, "beginning") == 0) {
            s->from = DLQ_FROM_BEGINNING;
        } else if (strcmp(v, "end") == 0) {
            s->from = DLQ_FROM_END;
        } else if (parse_int(v, INT64_MIN + 1, INT64_MAX, &n) == 0) {
            s->from = n < 0 ? DLQ_FROM_TAIL : DLQ_FROM_OFFSET;
            s->from_offset = n < 0 ? -n : n;
        } else {
            return bad(errstr, size, name, v, "expected beginning, end, an offset or -N");
        }
        return 0;
    case F_END_OFFSET:
        if (parse_int(v, 0, INT64_MAX, &s->end_offset) != 0)
            return bad(errstr, size, name, v, "expected an offset (0 or more)");
        return 0;
    case F_COUNT:
        if (parse_int(v, 1, INT64_MAX, &s->count) != 0)
            return bad(errstr, size, name, v, "expected a count (1 or more)");
        return 0;
    case F_GROUP:
        if (!*v || add_value(s->groups, &s->group_count, v) != 0)
            return bad(errstr, size, name, v, "expected a consumer group (at most 256)");
        return 0;
    case F_EVENT_ID:
        if (!*v || add_value(s->event_ids, &s->event_id_count, v) != 0)
            return bad(errstr, size, name, v, "expected an event id (at most 256)");
        return 0;
    case F_SINCE:
    case F_UNTIL:
        if (dlq_parse_time(v, f == F_SINCE ? &s->since_ms : &s->until_ms) != 0)
            return bad(errstr, size, name, v,
                       "expected an RFC 3339 time (2026-11-21T10:30:00Z) or ms since the epoch");
        return 0;
    case F_DRY_RUN:
        a->dry_run = 1;
        return 0;
    case F_BROKERS:
        if (!*v)
            return bad(errstr, size, name, v, "expected host:port[,host:port...]");
        a->brokers = v;
        return 0;
    case F_CONFIG:
        a->config = v;
        return 0;
    }
    return 0;
}

int dlq_args_take(dlq_args_t *a, int *argc, char **argv, char *errstr, size_t errstr_size)
{
    int out = 1, i;

    for (i = 1; i < *argc; i++) {
        const char *arg = argv[i], *value = NULL, *name = NULL;
        size_t k;

        if (strcmp(arg, "--") == 0)
            break;
        for (k = 0; k < NFLAGS; k++) {
            size_t sl = flags[k].shrt ? strlen(flags[k].shrt) : 0;
            size_t ll = flags[k].lng ? strlen(flags[k].lng) : 0;

            if ((sl && strcmp(arg, flags[k].shrt) == 0) || (ll && strcmp(arg, flags[k].lng) == 0))
                break;
            if (flags[k].takes_value && sl && strncmp(arg, flags[k].shrt, sl) == 0) {
                value = arg + sl; /* -p3 */
                break;
            }
            if (flags[k].takes_value && ll && strncmp(arg, flags[k].lng, ll) == 0 &&
                arg[ll] == '=') {
                value = arg + ll + 1; /* --partition=3 */
                break;
            }
        }
        if (k == NFLAGS) {
            /* Not ours: keep it, and the value of a setting or of -X. */
            argv[out++] = argv[i];
            if (i + 1 < *argc &&
                ((strcmp(arg, "-X") == 0) ||
                 (strncmp(arg, "--", 2) == 0 && !strchr(arg, '=') && strcmp(arg, "--help") != 0 &&
                  strcmp(arg, "--version") != 0 && strcmp(arg, "--help-markdown") != 0)))
                argv[out++] = argv[++i];
            continue;
        }
        name = flags[k].lng && strncmp(arg, "--", 2) == 0 ? flags[k].lng : flags[k].shrt;
        if (flags[k].takes_value && !value) {
            if (i + 1 >= *argc) {
                snprintf(errstr, errstr_size, "option %s needs a value (see --help)", arg);
                return -1;
            }
            value = argv[++i];
        }
        if (set_flag(a, flags[k].flag, name, value ? value : "", errstr, errstr_size) != 0)
            return -1;
    }
    for (; i < *argc; i++)
        argv[out++] = argv[i];
    argv[out] = NULL;
    *argc = out;
    return 0;
}

int dlq_select_check(const dlq_select_t *s, char *errstr, size_t errstr_size)
{
    if (s->end_offset >= 0 && s->from == DLQ_FROM_OFFSET && s->end_offset <= s->from_offset) {
        snprintf(errstr, errstr_size,
                 "--end-offset %" PRId64 " is not after -o %" PRId64
                 " (the end is exclusive: -o N -c 1 takes offset N alone)",
                 s->end_offset, s->from_offset);
        return -1;
    }
    if (s->since_ms != INT64_MIN && s->until_ms != INT64_MAX && s->until_ms <= s->since_ms) {
        snprintf(errstr, errstr_size, "--until is not after --since");
        return -1;
    }
    return 0;
}

int dlq_select_partition(const dlq_select_t *s, int32_t p)
{
    if (s->partition_count == 0)
        return 1;
    for (int i = 0; i < s->partition_count; i++)
        if (s->partitions[i] == p)
            return 1;
    return 0;
}

int dlq_select_range(const dlq_select_t *s, int64_t lo, int64_t hi, int64_t *start, int64_t *end)
{
    int64_t from = lo;

    switch (s->from) {
    case DLQ_FROM_BEGINNING:
        from = lo;
        break;
    case DLQ_FROM_END:
        from = hi;
        break;
    case DLQ_FROM_OFFSET:
        from = s->from_offset;
        break;
    case DLQ_FROM_TAIL:
        from = s->from_offset >= hi ? lo : hi - s->from_offset;
        break;
    }
    if (from < lo)
        from = lo;
    *start = from;
    *end = s->end_offset >= 0 && s->end_offset < hi ? s->end_offset : hi;
    return *start < *end;
}

int dlq_select_match(const dlq_select_t *s, const dlq_view_t *v)
{
    int ok;

    if (s->since_ms != INT64_MIN || s->until_ms != INT64_MAX) {
        if (v->timestamp_ms < 0 || v->timestamp_ms < s->since_ms || v->timestamp_ms >= s->until_ms)
            return 0;
    }
    if (s->group_count) {
        ok = 0;
        for (int i = 0; v->group && !ok && i < s->group_count; i++)
            ok = strlen(s->groups[i]) == v->group_len &&
                 memcmp(s->groups[i], v->group, v->group_len) == 0;
        if (!ok)
            return 0;
    }
    if (s->event_id_count) {
        ok = 0;
        for (int i = 0; v->event_id && !ok && i < s->event_id_count; i++)
            ok = strcmp(s->event_ids[i], v->event_id) == 0;
        if (!ok)
            return 0;
    }
    return 1;
}

int dlq_is_dead_letter_header(const char *name)
{
    return strncmp(name, "kafka_dlt-", 10) == 0 || eb_dlq_is_dlq_header(name);
}
