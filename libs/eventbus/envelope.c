/*
 * CloudEvents 1.0 structured-mode JSON, plus ids, times and trace context.
 *
 * Decoding is strict about what the spec requires (specversion "1.0",
 * non-empty id, source and type) and about what the suite relies on (string
 * extension attributes, JSON data), and lenient about unknown extension
 * attributes, which CloudEvents says consumers must tolerate.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <uuid/uuid.h>

#include "eb_int.h"
#include "eventbus/envelope.h"

/*
 * Random bytes for identifiers, from a per-thread buffer refilled by one
 * getrandom(2) call. libuuid's uuid_generate_random() costs about 2 us a
 * call; with four ids per order that was 13 % of order-service's CPU
 * (bench/RESULTS.md). The buffer is dropped after fork(), so a child never
 * repeats its parent's ids.
 */
#define RANDOM_POOL 512

static __thread unsigned char rnd_pool[RANDOM_POOL];
static __thread size_t rnd_left;
static __thread pid_t rnd_pid;

static void random_bytes(unsigned char *out, size_t n)
{
    if (rnd_pid != getpid()) {
        rnd_left = 0;
        rnd_pid = getpid();
    }
    while (n > 0) {
        size_t take;

        if (rnd_left == 0) {
            size_t got = 0;

            while (got < RANDOM_POOL) {
                ssize_t r = getrandom(rnd_pool + got, RANDOM_POOL - got, 0);

                if (r > 0) {
                    got += (size_t)r;
                } else if (errno != EINTR) {
                    /* No getrandom(2) (old kernel, seccomp): libuuid finds
                     * another source. */
                    uuid_t u;

                    uuid_generate(u);
                    size_t fill = RANDOM_POOL - got < sizeof(u) ? RANDOM_POOL - got : sizeof(u);
                    memcpy(rnd_pool + got, u, fill);
                    got += fill;
                }
            }
            rnd_left = RANDOM_POOL;
        }
        take = n < rnd_left ? n : rnd_left;
        memcpy(out, rnd_pool + RANDOM_POOL - rnd_left, take);
        rnd_left -= take;
        out += take;
        n -= take;
    }
}

static char *hex(char *out, const unsigned char *b, size_t n)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        *out++ = digits[b[i] >> 4];
        *out++ = digits[b[i] & 0xf];
    }
    return out;
}

static int all_zero(const unsigned char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

void eb_uuid_generate(char *out)
{
    unsigned char b[16];
    char *p = out;

    random_bytes(b, sizeof(b));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    p = hex(p, b, 4);
    *p++ = '-';
    p = hex(p, b + 4, 2);
    *p++ = '-';
    p = hex(p, b + 6, 2);
    *p++ = '-';
    p = hex(p, b + 8, 2);
    *p++ = '-';
    p = hex(p, b + 10, 6);
    *p = '\0';
}

int64_t eb_time_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t eb_time_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t eb_time_mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void eb_time_format(int64_t ms, char *out)
{
    /* Floor division, so times before 1970 keep a positive millisecond part. */
    int64_t rem = ((ms % 1000) + 1000) % 1000;
    time_t secs = (time_t)((ms - rem) / 1000);
    struct tm tm;

    gmtime_r(&secs, &tm);
    snprintf(out, EB_TIME_LEN + 1, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             (tm.tm_year + 1900) % 10000, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
             tm.tm_sec, (int)rem);
}

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

    return month == 2 && leap ? 29 : days[month - 1];
}

/* Reads n digits at *p into *v and advances. Returns 0 if they are not. */
static int digits(const char **p, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (!isdigit((unsigned char)**p))
            return 0;
        *v = *v * 10 + (**p - '0');
    }
    return 1;
}

int eb_time_valid(const char *s)
{
    int y, mo, d, h, mi, se, oh, om;

    if (!digits(&s, 4, &y) || *s++ != '-' || !digits(&s, 2, &mo) || *s++ != '-' ||
        !digits(&s, 2, &d) || (*s != 'T' && *s != 't' && *s != ' '))
        return 0;
    s++;
    if (!digits(&s, 2, &h) || *s++ != ':' || !digits(&s, 2, &mi) || *s++ != ':' ||
        !digits(&s, 2, &se))
        return 0;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || se > 60)
        return 0;
    if (*s == '.') {
        s++;
        if (!isdigit((unsigned char)*s))
            return 0;
        while (isdigit((unsigned char)*s))
            s++;
    }
    if (*s == 'Z' || *s == 'z')
        return s[1] == '\0';
    if (*s != '+' && *s != '-')
        return 0;
    s++;
    if (!digits(&s, 2, &oh) || *s++ != ':' || !digits(&s, 2, &om))
        return 0;
    return *s == '\0' && oh <= 23 && om <= 59;
}

static int hex_run(const char *s, size_t n, int *all_zero)
{
    *all_zero = 1;
    for (size_t i = 0; i < n; i++) {
        if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
            return 0;
        if (s[i] != '0')
            *all_zero = 0;
    }
    return 1;
}

int eb_traceparent_valid(const char *s, size_t len)
{
    int zero;

    /* version 00: "00-" trace-id(32) "-" parent-id(16) "-" flags(2) */
    if (len != EB_TRACEPARENT_LEN || memcmp(s, "00-", 3) != 0 || s[35] != '-' || s[52] != '-')
        return 0;
    if (!hex_run(s + 3, 32, &zero) || zero)
        return 0;
    if (!hex_run(s + 36, 16, &zero) || zero)
        return 0;
    return hex_run(s + 53, 2, &zero);
}

void eb_traceparent_generate(char *out)
{
    unsigned char b[24];
    char *p = out;

    /* An all-zero trace or parent id is invalid: negligible odds, cheap to rule out. */
    do
        random_bytes(b, sizeof(b));
    while (all_zero(b, 16) || all_zero(b + 16, 8));
    memcpy(p, "00-", 3);
    p = hex(p + 3, b, 16);
    *p++ = '-';
    p = hex(p, b + 16, 8);
    memcpy(p, "-01", 4); /* sampled; the NUL comes with it */
}

/* The namespace of the suite's derived ids (a random UUID, fixed). */
static const uuid_t derive_ns = {0x3f, 0x8a, 0x5c, 0x1e, 0x27, 0xd4, 0x4b, 0x90,
                                 0xa6, 0x13, 0x5e, 0x0c, 0x9b, 0x71, 0x2d, 0x48};

void eb_uuid_derive(const char *a, const char *b, char *out)
{
    size_t la = strlen(a), lb = strlen(b);
    char name[2 * EB_EVENT_ID_MAX + 72];
    uuid_t u;

    /* "<a>\n<b>": a newline is in no id or type, so no two pairs collide. */
    if (la + lb + 1 > sizeof(name)) {
        la = la > EB_EVENT_ID_MAX ? EB_EVENT_ID_MAX : la;
        lb = lb > sizeof(name) - la - 1 ? sizeof(name) - la - 1 : lb;
    }
    memcpy(name, a, la);
    name[la] = '\n';
    memcpy(name + la + 1, b, lb);
    uuid_generate_sha1(u, derive_ns, name, la + 1 + lb);
    uuid_unparse_lower(u, out);
}

eb_err_t eb_event_derive(eb_event_t *ev, const char *type, const char *source, const char *subject,
                         const eb_event_t *cause, cJSON *data)
{
    eb_err_t err;

    if (!cause || !cause->id[0]) {
        memset(ev, 0, sizeof(*ev));
        return EB_ERR_INVALID;
    }
    err = eb_event_init(ev, type, source, subject, cause, data);
    if (err)
        return err;
    eb_uuid_derive(cause->id, type, ev->id);
    if (cause->time[0])
        snprintf(ev->time, sizeof(ev->time), "%s", cause->time);
    return EB_OK;
}

eb_err_t eb_event_init(eb_event_t *ev, const char *type, const char *source, const char *subject,
                       const eb_event_t *cause, cJSON *data)
{
    memset(ev, 0, sizeof(*ev));
    if (!type || strlen(type) >= sizeof(ev->type) || !source ||
        strlen(source) >= sizeof(ev->source) || (subject && strlen(subject) >= sizeof(ev->subject)))
        return EB_ERR_INVALID;
    eb_uuid_generate(ev->id);
    strcpy(ev->type, type);
    strcpy(ev->source, source);
    if (subject)
        strcpy(ev->subject, subject);
    eb_time_format(eb_time_now_ms(), ev->time);
    if (cause) {
        strcpy(ev->correlationid, cause->correlationid[0] ? cause->correlationid : cause->id);
        strcpy(ev->causationid, cause->id);
    } else {
        strcpy(ev->correlationid, ev->id);
        strcpy(ev->causationid, ev->id);
    }
    ev->data = data;
    return EB_OK;
}

void eb_event_close(eb_event_t *ev)
{
    if (!ev)
        return;
    cJSON_Delete(ev->data);
    memset(ev, 0, sizeof(*ev));
}

static int add_str(cJSON *o, const char *k, const char *v)
{
    return !*v || cJSON_AddStringToObject(o, k, v) != NULL;
}

char *eb_event_encode(const eb_event_t *ev, size_t *len)
{
    cJSON *o = cJSON_CreateObject();
    char *out = NULL;

    if (!o)
        return NULL;
    /* Attribute order follows the contract's example, for readable topics. */
    if (cJSON_AddStringToObject(o, "specversion", "1.0") && add_str(o, "id", ev->id) &&
        add_str(o, "source", ev->source) && add_str(o, "type", ev->type) &&
        add_str(o, "time", ev->time) &&
        cJSON_AddStringToObject(o, "datacontenttype", "application/json") &&
        add_str(o, "subject", ev->subject) && add_str(o, "correlationid", ev->correlationid) &&
        add_str(o, "causationid", ev->causationid) &&
        (!ev->data || cJSON_AddItemReferenceToObject(o, "data", ev->data)))
        out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o); /* a reference item does not free ev->data */
    if (out && len)
        *len = strlen(out);
    return out;
}

/* Copies an optional (required != 0: mandatory, non-empty) string attribute. */
static eb_err_t take_attr(const cJSON *root, const char *name, int required, char *dst,
                          size_t dst_size, char *errstr, size_t errstr_size)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, name);
    size_t n;

    if (!it) {
        if (required)
            return eb__seterr(errstr, errstr_size, EB_ERR_BAD_EVENT,
                              "not a CloudEvent: missing \"%s\"", name);
        return EB_OK;
    }
    if (!cJSON_IsString(it))
        return eb__seterr(errstr, errstr_size, EB_ERR_BAD_EVENT, "\"%s\" is not a string", name);
    n = strlen(it->valuestring);
    if (required && n == 0)
        return eb__seterr(errstr, errstr_size, EB_ERR_BAD_EVENT, "\"%s\" is empty", name);
    if (n >= dst_size)
        return eb__seterr(errstr, errstr_size, EB_ERR_BAD_EVENT, "\"%s\" longer than %zu bytes",
                          name, dst_size - 1);
    memcpy(dst, it->valuestring, n + 1);
    return EB_OK;
}

/* Returns 1 if the JSON text nests objects and arrays at most max deep
 * (strings and their escapes skipped). */
static int depth_ok(const char *p, size_t len, int max)
{
    int depth = 0, in_string = 0;

    for (size_t i = 0; i < len; i++) {
        char c = p[i];

        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = 0;
        } else if (c == '"') {
            in_string = 1;
        } else if (c == '{' || c == '[') {
            if (++depth > max)
                return 0;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return 1;
}

cJSON *eb_json_parse(const void *buf, size_t len, int max_depth, char *errstr, size_t errstr_size)
{
    const char *end = NULL;
    cJSON *root;

    if (!buf || len == 0) {
        eb__seterr(errstr, errstr_size, EB_ERR_INVALID, "not JSON: empty");
        return NULL;
    }
    if (!eb__utf8_valid(buf, len)) {
        eb__seterr(errstr, errstr_size, EB_ERR_INVALID, "not JSON: invalid UTF-8");
        return NULL;
    }
    if (!depth_ok(buf, len, max_depth)) {
        eb__seterr(errstr, errstr_size, EB_ERR_INVALID, "JSON nested deeper than %d levels",
                   max_depth);
        return NULL;
    }
    root = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
    if (!root) {
        size_t at = end ? (size_t)(end - (const char *)buf) : 0;

        eb__seterr(errstr, errstr_size, EB_ERR_INVALID, "not JSON: parse error at byte %zu", at);
        return NULL;
    }
    while (end && end < (const char *)buf + len && isspace((unsigned char)*end))
        end++;
    if (end != (const char *)buf + len) {
        eb__seterr(errstr, errstr_size, EB_ERR_INVALID, "not JSON: trailing data at byte %zu",
                   (size_t)(end - (const char *)buf));
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

eb_err_t eb_event_decode(const void *buf, size_t len, eb_event_t *ev, char *errstr,
                         size_t errstr_size)
{
    const cJSON *it;
    cJSON *root;
    eb_err_t err;

    memset(ev, 0, sizeof(*ev));
    root = eb_json_parse(buf, len, EB_JSON_MAX_DEPTH, errstr, errstr_size);
    if (!root)
        return EB_ERR_BAD_EVENT;
    if (!cJSON_IsObject(root)) {
        err = eb__seterr(errstr, errstr_size, EB_ERR_BAD_EVENT,
                         "not a CloudEvent: value is not a JSON object");
        goto fail;
    }
    it = cJSON_GetObjectItemCaseSensitive(root, "specversion");
    if (!it) {
        err = eb__seterr(errstr, errstr_size, EB_ERR_BAD_EVENT,
                         "not a CloudEvent: missing \"specversion\"");
        goto fail;
    }
    if (!cJSON_IsString(it) || strcmp(it->valuestring, "1.0") != 0) {
        err = eb__seterr(errstr, errstr_size, EB_ERR_BAD_EVENT,
                         "unsupported CloudEvents specversion (want \"1.0\")");
        goto fail;
    }
    if ((err = take_attr(root, "id", 1, ev->id, sizeof(ev->id), errstr, errstr_size)) ||
        (err = take_attr(root, "source", 1, ev->source, sizeof(ev->source), errstr, errstr_size)) ||
        (err = take_attr(root, "type", 1, ev->type, sizeof(ev->type), errstr, errstr_size)) ||
        (err = take_attr(root, "time", 0, ev->time, sizeof(ev->time), errstr, errstr_size)) ||
        (err = take_attr(root, "subject", 0, ev->subject, sizeof(ev->subject), errstr,
                         errstr_size)) ||
        (err = take_attr(root, "correlationid", 0, ev->correlationid, sizeof(ev->correlationid),
                         errstr, errstr_size)) ||
        (err = take_attr(root, "causationid", 0, ev->causationid, sizeof(ev->causationid), errstr,
                         errstr_size)))
        goto fail;
    if (ev->time[0] && !eb_time_valid(ev->time)) {
        err = eb__seterr(errstr, errstr_size, EB_ERR_BAD_EVENT,
                         "\"time\" is not an RFC 3339 timestamp");
        goto fail;
    }
    it = cJSON_GetObjectItemCaseSensitive(root, "datacontenttype");
    if (it && (!cJSON_IsString(it) || strncmp(it->valuestring, "application/json", 16) != 0)) {
        err = eb__seterr(errstr, errstr_size, EB_ERR_BAD_EVENT,
                         "\"datacontenttype\" is not application/json");
        goto fail;
    }
    if (cJSON_GetObjectItemCaseSensitive(root, "data_base64")) {
        err = eb__seterr(errstr, errstr_size, EB_ERR_BAD_EVENT,
                         "\"data_base64\" is not supported: data must be JSON");
        goto fail;
    }
    ev->data = cJSON_DetachItemFromObjectCaseSensitive(root, "data");
    cJSON_Delete(root);
    return EB_OK;

fail:
    cJSON_Delete(root);
    memset(ev, 0, sizeof(*ev));
    return err;
}

int eb__utf8_valid(const void *p, size_t len)
{
    const unsigned char *s = p, *e = s + len;

    while (s < e) {
        unsigned char c = *s;
        size_t n;
        uint32_t cp;

        if (c < 0x80) {
            s++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            n = 1;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if ((size_t)(e - s) <= n)
            return 0;
        for (size_t i = 1; i <= n; i++) {
            if ((s[i] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i] & 0x3f);
        }
        /* Reject overlong forms, surrogates and values past U+10FFFF. */
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
            return 0;
        s += n + 1;
    }
    return 1;
}

void eb__utf8_trim(char *s)
{
    size_t n = strlen(s), start = n;

    /* Find the lead byte of the last character. */
    while (start > 0 && ((unsigned char)s[start - 1] & 0xc0) == 0x80)
        start--;
    if (start == 0)
        return;
    start--;
    unsigned char lead = (unsigned char)s[start];
    size_t want = lead < 0x80 ? 1 : (lead & 0xe0) == 0xc0 ? 2 : (lead & 0xf0) == 0xe0 ? 3 : 4;

    if (n - start < want)
        s[start] = '\0';
}
