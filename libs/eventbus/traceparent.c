/*
 * W3C trace context: traceparent values checked and made, tracestate
 * checked and cleaned, and the span a hop starts (traceparent.h).
 */
#include <string.h>

#include "eb_int.h"
#include "eventbus/traceparent.h"

#define TRACESTATE_MEMBERS_MAX 32

static int all_zero(const unsigned char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

static int is_lhex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* 1 when s[0..n) is lowercase hex; *zero says whether it is all '0'. */
static int hex_run(const char *s, size_t n, int *zero)
{
    *zero = 1;
    for (size_t i = 0; i < n; i++) {
        if (!is_lhex(s[i]))
            return 0;
        if (s[i] != '0')
            *zero = 0;
    }
    return 1;
}

int eb_traceparent_valid(const char *s, size_t len)
{
    int zero;

    /* "vv-" trace-id(32) "-" parent-id(16) "-" flags(2) */
    if (len < EB_TRACEPARENT_LEN || s[2] != '-' || s[35] != '-' || s[52] != '-')
        return 0;
    if (!hex_run(s, 2, &zero) || memcmp(s, "ff", 2) == 0)
        return 0;
    if (memcmp(s, "00", 2) == 0 ? len != EB_TRACEPARENT_LEN
                                : len > EB_TRACEPARENT_LEN && s[EB_TRACEPARENT_LEN] != '-')
        return 0; /* a later version may add fields after a '-', version 00 nothing */
    if (!hex_run(s + 3, 32, &zero) || zero)
        return 0;
    if (!hex_run(s + 36, 16, &zero) || zero)
        return 0;
    return hex_run(s + 53, 2, &zero);
}

/* Writes 16 random lowercase hex digits (a span id, never all zeros). */
static void new_span_id(char *out)
{
    unsigned char b[8];

    do
        eb__random_bytes(b, sizeof(b));
    while (all_zero(b, sizeof(b)));
    *eb__random_hex(out, b, sizeof(b)) = '\0';
}

void eb_traceparent_generate(char *out)
{
    unsigned char b[16];
    char *p = out;

    do
        eb__random_bytes(b, sizeof(b));
    while (all_zero(b, sizeof(b)));
    memcpy(p, "00-", 3);
    p = eb__random_hex(p + 3, b, sizeof(b));
    *p++ = '-';
    new_span_id(p);
    memcpy(p + 16, "-01", 4); /* sampled; the NUL comes with it */
}

/* tracestate key characters after the first (the W3C grammar). */
static int key_chr(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '*' ||
           c == '/';
}

/* 1 when k[0..n) is a tracestate key: simple-key, or tenant-id@system-id. */
static int valid_key(const char *k, size_t n)
{
    const char *at = memchr(k, '@', n);
    size_t tn = at ? (size_t)(at - k) : n;

    if (tn == 0 || !((k[0] >= 'a' && k[0] <= 'z') || (at && k[0] >= '0' && k[0] <= '9')))
        return 0;
    if (tn > (at ? 241u : 256u))
        return 0;
    for (size_t i = 1; i < tn; i++)
        if (!key_chr(k[i]))
            return 0;
    if (!at)
        return 1;
    k = at + 1;
    n -= tn + 1;
    if (n == 0 || n > 14 || !(k[0] >= 'a' && k[0] <= 'z'))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!key_chr(k[i]))
            return 0;
    return 1;
}

/* 1 when v[0..n) is a tracestate value: 1-256 printable ASCII but ',' and
 * '=', the last one not a blank. */
static int valid_value(const char *v, size_t n)
{
    if (n == 0 || n > 256 || v[n - 1] == ' ')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (v[i] < 0x20 || v[i] > 0x7e || v[i] == ',' || v[i] == '=')
            return 0;
    return 1;
}

int eb_tracestate_clean(const char *s, size_t len, char *out)
{
    struct {
        const char *p;
        size_t n, key;
    } m[TRACESTATE_MEMBERS_MAX];
    size_t nm = 0, total = 0, o = 0;
    const char *end = s + len;

    out[0] = '\0';
    while (s && s <= end) {
        const char *comma = memchr(s, ',', (size_t)(end - s));
        const char *b = s, *e = comma ? comma : end, *eq;

        while (b < e && (*b == ' ' || *b == '\t'))
            b++;
        while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (b < e) { /* an empty member is allowed and dropped */
            eq = memchr(b, '=', (size_t)(e - b));
            if (nm == TRACESTATE_MEMBERS_MAX || !eq || !valid_key(b, (size_t)(eq - b)) ||
                !valid_value(eq + 1, (size_t)(e - eq - 1)))
                return -1;
            for (size_t i = 0; i < nm; i++)
                if (m[i].key == (size_t)(eq - b) && memcmp(m[i].p, b, m[i].key) == 0)
                    return -1; /* keys are unique */
            m[nm].p = b;
            m[nm].n = (size_t)(e - b);
            m[nm].key = (size_t)(eq - b);
            total += m[nm].n + (nm ? 1 : 0);
            nm++;
        }
        if (!comma)
            break;
        s = comma + 1;
    }
    /* Too long to forward whole: as the W3C recommendation says, members
     * longer than 128 characters go first (from the end), then members from
     * the end. */
    for (size_t i = nm; i-- > 0 && total > EB_TRACESTATE_MAX;) {
        if (m[i].n <= 128)
            continue;
        total -= m[i].n + (nm > 1 ? 1 : 0);
        memmove(&m[i], &m[i + 1], (nm - i - 1) * sizeof(m[0]));
        nm--;
    }
    while (nm && total > EB_TRACESTATE_MAX) {
        nm--;
        total -= m[nm].n + (nm ? 1 : 0);
    }
    for (size_t i = 0; i < nm; i++) {
        if (i)
            out[o++] = ',';
        memcpy(out + o, m[i].p, m[i].n);
        o += m[i].n;
    }
    out[o] = '\0';
    return (int)o;
}

void eb_trace_start(eb_trace_t *t, const char *traceparent, size_t tp_len, const char *tracestate,
                    size_t ts_len)
{
    memset(t, 0, sizeof(*t));
    if (traceparent && eb_traceparent_valid(traceparent, tp_len)) {
        static const char hex[] = "0123456789abcdef";
        unsigned flags = (unsigned)((strchr(hex, traceparent[53]) - hex) * 16 +
                                    (strchr(hex, traceparent[54]) - hex));

        memcpy(t->trace_id, traceparent + 3, 32);
        memcpy(t->parent_id, traceparent + 36, 16);
        /* Version 00 (Trace Context Level 1) knows one flag, sampled (01):
         * the others, perhaps a later version's, are sent on as zero. */
        flags &= 0x01u;
        t->flags[0] = hex[flags >> 4];
        t->flags[1] = hex[flags & 0x0fu];
        if (tracestate && eb_tracestate_clean(tracestate, ts_len, t->tracestate) < 0)
            t->tracestate[0] = '\0';
    } else {
        char tp[EB_TRACEPARENT_LEN + 1];

        eb_traceparent_generate(tp);
        memcpy(t->trace_id, tp + 3, 32);
        memcpy(t->flags, "01", 2);
    }
    new_span_id(t->span_id);
    memcpy(t->traceparent, "00-", 3);
    memcpy(t->traceparent + 3, t->trace_id, 32);
    t->traceparent[35] = '-';
    memcpy(t->traceparent + 36, t->span_id, 16);
    t->traceparent[52] = '-';
    memcpy(t->traceparent + 53, t->flags, 2);
    t->traceparent[55] = '\0';
}
