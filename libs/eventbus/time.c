/*
 * Times: wall clock and monotonic milliseconds, and RFC 3339 text.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "eventbus/time.h"

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

/* Days from 1970-01-01 to the given proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

int eb_time_parse(const char *s, int64_t *ms)
{
    int y, mo, d, h, mi, se, oh = 0, om = 0, frac = 0, scale = 100, sign = 0;

    if (!eb_time_valid(s))
        return -1;
    digits(&s, 4, &y);
    s++;
    digits(&s, 2, &mo);
    s++;
    digits(&s, 2, &d);
    s++;
    digits(&s, 2, &h);
    s++;
    digits(&s, 2, &mi);
    s++;
    digits(&s, 2, &se);
    if (*s == '.') {
        /* Milliseconds; finer digits are cut, not rounded. */
        for (s++; isdigit((unsigned char)*s); s++, scale /= 10)
            frac += (*s - '0') * scale;
    }
    if (*s == '+' || *s == '-') {
        sign = *s == '+' ? 1 : -1;
        s++;
        digits(&s, 2, &oh);
        s++;
        digits(&s, 2, &om);
    }
    *ms = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60 + se; /* seconds, local */
    *ms = (*ms - sign * (oh * 3600 + om * 60)) * 1000 + frac;
    return 0;
}
