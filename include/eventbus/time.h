/*
 * Times (time.c): wall clock and monotonic clocks, RFC 3339 text. Any
 * thread; out buffers are the caller's.
 */
#ifndef EVENTBUS_TIME_H
#define EVENTBUS_TIME_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EB_TIME_LEN 24 /* "2026-11-21T10:30:00.123Z" */

/* Milliseconds since the epoch, wall clock. */
int64_t eb_time_now_ms(void);

/* Monotonic milliseconds, for deadlines and durations. */
int64_t eb_time_mono_ms(void);

/* Monotonic microseconds, for latency histograms. */
int64_t eb_time_mono_us(void);

/* Formats ms since the epoch as RFC 3339 UTC with milliseconds into
 * out[EB_TIME_LEN+1]. */
void eb_time_format(int64_t ms, char *out);

/* Returns 1 if s is a well-formed RFC 3339 date-time. */
int eb_time_valid(const char *s);

/* Reads a well-formed RFC 3339 date-time (eb_time_valid()) into ms since
 * the epoch, UTC; digits past the millisecond are cut. Returns 0, or -1 and
 * leaves *ms alone when s is not one. */
int eb_time_parse(const char *s, int64_t *ms);

#ifdef __cplusplus
}
#endif
#endif /* EVENTBUS_TIME_H */
