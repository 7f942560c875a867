/*
 * W3C trace context (traceparent.c): the traceparent and tracestate headers,
 * and the span each hop of the suite starts.
 *
 * A hop (an HTTP request that writes an event, a consumer handling one)
 * continues the trace it was given: it keeps the trace id, starts a span of
 * its own with a new random span id, records the caller's span id as its
 * parent, and sends on `00-<trace id>-<its span id>-<flags>` with the
 * tracestate it received. Without a valid traceparent it starts a new trace
 * and drops any tracestate, as the W3C Trace Context recommendation says.
 *
 * Everything here is pure but for the random ids: any thread. Out buffers
 * and eb_trace_t storage are the caller's.
 */
#ifndef EVENTBUS_TRACEPARENT_H
#define EVENTBUS_TRACEPARENT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EB_TRACEPARENT_LEN 55  /* "00-<32 hex>-<16 hex>-<2 hex>" */
#define EB_TRACESTATE_MAX  512 /* longest tracestate forwarded (the W3C minimum) */

/* One hop's trace context: plain storage owned by the caller, every member
 * a NUL-terminated string. */
typedef struct eb_trace_s {
    char trace_id[33];  /* 32 lowercase hex */
    char span_id[17];   /* this hop's span: 16 lowercase hex */
    char parent_id[17]; /* the caller's span; "" when this hop started the trace */
    char flags[3];      /* trace flags as 2 hex: sampled (01) kept, the others zero */
    char traceparent[EB_TRACEPARENT_LEN + 1]; /* version 00 of the above: what to send on */
    char tracestate[EB_TRACESTATE_MAX + 1];   /* as received (validated), "" for none */
} eb_trace_t;

/* Returns 1 if s (len bytes) is a traceparent this suite continues: version
 * 00 of exactly 55 bytes, or a later version (not ff) whose first 55 bytes
 * read as version 00's fields and which ends there or goes on with '-'.
 * Trace and parent ids must not be all zeros; hex is lowercase. */
int eb_traceparent_valid(const char *s, size_t len);

/* Writes a new traceparent (random trace and parent ids, sampled) into
 * out[EB_TRACEPARENT_LEN+1]. */
void eb_traceparent_generate(char *out);

/* Returns the length of a valid tracestate's canonical form (list members
 * joined by ',' without optional blanks, empty members dropped; while it is
 * longer than EB_TRACESTATE_MAX, members over 128 characters dropped from
 * the end first, then any from the end) and writes
 * it to out[EB_TRACESTATE_MAX+1]; -1 (out "") when s (len bytes) is not a
 * valid tracestate (a bad key or value, a repeated key, over 32 members). */
int eb_tracestate_clean(const char *s, size_t len, char *out);

/* Starts this hop's span in t. traceparent/tracestate (tp_len/ts_len bytes,
 * either may be NULL) are what the caller sent: with a valid traceparent the
 * trace continues (its trace id and flags, its span as the parent, the
 * cleaned tracestate), else a new sampled trace begins without tracestate. */
void eb_trace_start(eb_trace_t *t, const char *traceparent, size_t tp_len, const char *tracestate,
                    size_t ts_len);

#ifdef __cplusplus
}
#endif
#endif /* EVENTBUS_TRACEPARENT_H */
