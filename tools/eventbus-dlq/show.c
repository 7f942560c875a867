/*
 * Bytes as JSON without losing any (show.h).
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eventbus/dlq.h"
#include "show.h"

int dlq_is_text(const void *p, size_t size)
{
    const unsigned char *s = p, *e = s + size;

    while (s < e) {
        unsigned char c = *s++;
        size_t n;
        uint32_t cp, min;

        if (c == 0)
            return 0;
        if (c < 0x80)
            continue;
        if ((c & 0xe0) == 0xc0) {
            n = 1, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        if ((size_t)(e - s) < n)
            return 0;
        for (size_t i = 0; i < n; i++, s++) {
            if ((*s & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (*s & 0x3f);
        }
        /* overlong forms, UTF-16 surrogates, past U+10FFFF */
        if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
            return 0;
    }
    return 1;
}

char *dlq_base64(const void *p, size_t size)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *b = p;
    char *out = malloc((size + 2) / 3 * 4 + 1), *o = out;

    if (!out)
        return NULL;
    for (size_t i = 0; i < size; i += 3) {
        uint32_t v = (uint32_t)b[i] << 16;
        size_t left = size - i;

        if (left > 1)
            v |= (uint32_t)b[i + 1] << 8;
        if (left > 2)
            v |= b[i + 2];
        *o++ = abc[(v >> 18) & 63];
        *o++ = abc[(v >> 12) & 63];
        *o++ = left > 1 ? abc[(v >> 6) & 63] : '=';
        *o++ = left > 2 ? abc[v & 63] : '=';
    }
    *o = '\0';
    return out;
}

cJSON *dlq_show_bytes(const char *name, const void *p, size_t size)
{
    int is32 = name && strcmp(name, EB_DLT_ORIGINAL_PARTITION) == 0;
    int is64 = name && (strcmp(name, EB_DLT_ORIGINAL_OFFSET) == 0 ||
                        strcmp(name, EB_DLT_ORIGINAL_TIMESTAMP) == 0);
    cJSON *o;
    char *s;

    if (!p)
        return cJSON_CreateNull();
    if (!is32 && !is64 && dlq_is_text(p, size)) {
        if (!(s = malloc(size + 1)))
            return NULL;
        memcpy(s, p, size);
        s[size] = '\0';
        o = cJSON_CreateString(s);
        free(s);
        return o;
    }
    if (!(o = cJSON_CreateObject()) || !(s = dlq_base64(p, size))) {
        cJSON_Delete(o);
        return NULL;
    }
    cJSON_AddStringToObject(o, "base64", s);
    free(s);
    {
        int32_t i32;
        int64_t i64;
        char num[24];

        /* The integer only when the size is the encoding's: else the bytes
         * alone say what is there. Written as text: a double would round
         * past 2^53. */
        if (is32 && eb_dlq_read_be32(p, size, &i32) == 0)
            snprintf(num, sizeof(num), "%" PRId32, i32);
        else if (is64 && eb_dlq_read_be64(p, size, &i64) == 0)
            snprintf(num, sizeof(num), "%" PRId64, i64);
        else
            num[0] = '\0';
        if (num[0])
            cJSON_AddItemToObject(o, "int", cJSON_CreateRaw(num));
    }
    return o;
}
