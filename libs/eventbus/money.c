/*
 * Money in minor units.
 *
 * cJSON hands numbers over as doubles. Below EB_MONEY_MAX minor units a
 * double is exact to well under a thousandth of a minor unit, so "at most two
 * decimals" is checked by scaling by 100 and asking whether the result is
 * within a rounding error of an integer. Output never goes through a double:
 * eb_money_format() prints the integer parts.
 */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eventbus/money.h"

eb_err_t eb_money_from_json(const cJSON *item, int64_t *minor)
{
    double v, scaled, rounded;

    if (!cJSON_IsNumber(item))
        return EB_ERR_INVALID;
    v = item->valuedouble;
    if (!isfinite(v))
        return EB_ERR_INVALID;
    scaled = v * 100.0;
    if (fabs(scaled) > (double)EB_MONEY_MAX)
        return EB_ERR_INVALID;
    rounded = nearbyint(scaled);
    /* A number with two decimals, once parsed and scaled, is within a few
     * units in the last place of an integer (0.29 * 100 = 28.999999999999996);
     * anything further off has more decimals (50.120000001). */
    if (fabs(scaled - rounded) > 1e-12 + fabs(scaled) * 1e-15)
        return EB_ERR_INVALID;
    *minor = (int64_t)rounded;
    return EB_OK;
}

eb_err_t eb_money_parse(const char *text, int64_t *minor)
{
    const char *p = text;
    int64_t units = 0, cents = 0;
    int neg = 0, digits = 0;

    if (!p)
        return EB_ERR_INVALID;
    if (*p == '-') {
        neg = 1;
        p++;
    }
    while (isdigit((unsigned char)*p)) {
        units = units * 10 + (*p++ - '0');
        if (units * 100 > EB_MONEY_MAX)
            return EB_ERR_INVALID;
        digits++;
    }
    if (*p == '.') {
        int frac = 0;

        p++;
        while (isdigit((unsigned char)*p) && frac < 2) {
            cents = cents * 10 + (*p++ - '0');
            frac++;
        }
        if (frac == 0 || isdigit((unsigned char)*p))
            return EB_ERR_INVALID;
        if (frac == 1)
            cents *= 10;
        digits += frac;
    }
    if (*p != '\0' || digits == 0 || units * 100 + cents > EB_MONEY_MAX)
        return EB_ERR_INVALID;
    *minor = (units * 100 + cents) * (neg ? -1 : 1);
    return EB_OK;
}

/* Writes minor as units and cents; fixed: always two decimals. */
static size_t format(int64_t minor, char *buf, size_t size, int fixed)
{
    /* Work on the magnitude as unsigned so INT64_MIN cannot overflow. */
    uint64_t mag = minor < 0 ? (uint64_t)0 - (uint64_t)minor : (uint64_t)minor;
    uint64_t units = mag / 100, cents = mag % 100;
    const char *sign = minor < 0 ? "-" : "";
    int n;

    if (fixed)
        n = snprintf(buf, size, "%s%" PRIu64 ".%02" PRIu64, sign, units, cents);
    else if (cents == 0)
        n = snprintf(buf, size, "%s%" PRIu64, sign, units);
    else if (cents % 10 == 0)
        n = snprintf(buf, size, "%s%" PRIu64 ".%" PRIu64, sign, units, cents / 10);
    else
        n = snprintf(buf, size, "%s%" PRIu64 ".%02" PRIu64, sign, units, cents);
    return n < 0 ? 0 : (size_t)n;
}

size_t eb_money_format(int64_t minor, char *buf, size_t size)
{
    return format(minor, buf, size, 0);
}

size_t eb_money_format_fixed(int64_t minor, char *buf, size_t size)
{
    return format(minor, buf, size, 1);
}

cJSON *eb_money_to_json(int64_t minor)
{
    char buf[EB_MONEY_TEXT_MAX];

    eb_money_format(minor, buf, sizeof(buf));
    /* A raw node prints our exact text instead of cJSON's %.17g rendering. */
    return cJSON_CreateRaw(buf);
}
