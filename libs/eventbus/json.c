/*
 * JSON from outside: strict parsing (whole, valid UTF-8, bounded depth), and
 * the escapes of JSON strings.
 */
#include <ctype.h>
#include <stdint.h>
#include <string.h>

#include "eb_int.h"
#include "eventbus/json.h"

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
    if (!eb__json_utf8_valid(buf, len)) {
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

int eb__json_utf8_valid(const void *p, size_t len)
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

void eb__json_utf8_trim(char *s)
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

size_t eb__json_escape_char(unsigned char c, char out[8])
{
    static const char hex[] = "0123456789abcdef";

    switch (c) {
    case '"':
        memcpy(out, "\\\"", 2);
        return 2;
    case '\\':
        memcpy(out, "\\\\", 2);
        return 2;
    case '\n':
        memcpy(out, "\\n", 2);
        return 2;
    case '\r':
        memcpy(out, "\\r", 2);
        return 2;
    case '\t':
        memcpy(out, "\\t", 2);
        return 2;
    default:
        if (c < 0x20) {
            memcpy(out, "\\u00", 4);
            out[4] = hex[c >> 4];
            out[5] = hex[c & 0xf];
            return 6;
        }
        out[0] = (char)c;
        return 1;
    }
}

char *eb_json_uint(char *out, uint64_t v)
{
    char tmp[EB_JSON_UINT_MAX];
    size_t n = 0;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *out++ = tmp[--n];
    return out;
}

char *eb_json_quote(char *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *b = (const unsigned char *)s, *end = b + n;

    *out++ = '"';
    while (b < end) {
        const unsigned char *run = b;

        while (b < end && *b >= 0x20 && *b != '"' && *b != '\\')
            b++;
        if (b > run) {
            memcpy(out, run, (size_t)(b - run));
            out += b - run;
        }
        if (b == end)
            break;
        *out++ = '\\';
        switch (*b) {
        case '"':
        case '\\':
            *out++ = (char)*b;
            break;
        case '\b':
            *out++ = 'b';
            break;
        case '\f':
            *out++ = 'f';
            break;
        case '\n':
            *out++ = 'n';
            break;
        case '\r':
            *out++ = 'r';
            break;
        case '\t':
            *out++ = 't';
            break;
        default:
            memcpy(out, "u00", 3);
            out[3] = hex[*b >> 4];
            out[4] = hex[*b & 0xf];
            out += 5;
        }
        b++;
    }
    *out++ = '"';
    return out;
}
