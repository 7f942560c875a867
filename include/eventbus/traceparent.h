/*
 * W3C trace context (traceparent.c): the traceparent header, version 00.
 * Any thread; out buffers are the caller's.
 */
#ifndef EVENTBUS_TRACEPARENT_H
#define EVENTBUS_TRACEPARENT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EB_TRACEPARENT_LEN 55 /* "00-<32 hex>-<16 hex>-<2 hex>" */

/* Returns 1 if s (len bytes) is a valid W3C traceparent of version 00. */
int eb_traceparent_valid(const char *s, size_t len);

/* Writes a new traceparent (random trace and parent ids, sampled) into
 * out[EB_TRACEPARENT_LEN+1]. */
void eb_traceparent_generate(char *out);

#ifdef __cplusplus
}
#endif
#endif /* EVENTBUS_TRACEPARENT_H */
