/*
 * W3C trace context: traceparent values (version 00), checked and made.
 */
#include <ctype.h>
#include <string.h>

#include "eb_int.h"
#include "eventbus/traceparent.h"

static int all_zero(const unsigned char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
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
        eb__random_bytes(b, sizeof(b));
    while (all_zero(b, 16) || all_zero(b + 16, 8));
    memcpy(p, "00-", 3);
    p = eb__random_hex(p + 3, b, 16);
    *p++ = '-';
    p = eb__random_hex(p, b + 16, 8);
    memcpy(p, "-01", 4); /* sampled; the NUL comes with it */
}
