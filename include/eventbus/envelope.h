/*
 * CloudEvents 1.0 envelopes in structured JSON mode (docs/contract.md section 3).
 *
 * An eb_event_t holds the context attributes as fixed-size strings and the
 * event data as a cJSON tree it owns. eb_event_decode() is the only way bytes
 * from Kafka become an event: it checks everything the CloudEvents spec and
 * the contract require and reports the first violation in errstr, so the
 * caller can dead-letter the message with that reason.
 *
 * Also here: the identifiers and timestamps events are made of (UUIDs,
 * RFC 3339 times, W3C traceparent values).
 */
#ifndef EVENTBUS_ENVELOPE_H
#define EVENTBUS_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "eventbus/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EB_UUID_LEN        36  /* characters, without the NUL */
#define EB_TIME_LEN        24  /* "2026-11-21T10:30:00.123Z" */
#define EB_TRACEPARENT_LEN 55  /* "00-<32 hex>-<16 hex>-<2 hex>" */
#define EB_EVENT_ID_MAX    128 /* longest id, source, subject we accept */

/* The context attributes of one event plus its data. Plain storage owned by
 * the caller: eb_event_init() or eb_event_decode() fills it, eb_event_close()
 * frees data. An empty string means "attribute absent". */
typedef struct eb_event_s {
    char id[EB_EVENT_ID_MAX + 1];
    char source[EB_EVENT_ID_MAX + 1];
    char type[64];
    char time[40];
    char subject[EB_EVENT_ID_MAX + 1];
    char correlationid[EB_EVENT_ID_MAX + 1];
    char causationid[EB_EVENT_ID_MAX + 1];
    cJSON *data; /* owned; an object for every event type of the suite */
} eb_event_t;

/* Deepest nesting of objects and arrays a JSON document from outside may
 * have; cJSON recurses once per level. */
#define EB_JSON_MAX_DEPTH 32

/* Parses a JSON document from outside (an HTTP body, a Kafka value): all of
 * the len bytes must be one JSON value, with only whitespace after it, in
 * valid UTF-8, nested at most max_depth deep. Returns the tree (the caller
 * frees it with cJSON_Delete) or NULL with the reason in errstr. */
cJSON *eb_json_parse(const void *buf, size_t len, int max_depth, char *errstr, size_t errstr_size);

/* Starts a new event: a fresh UUID as id, the current time, the given type,
 * source and subject. correlationid and causationid are taken from cause when
 * it is not NULL (the new event reacts to cause); otherwise the new event
 * starts a chain and both are set to its own id. data takes ownership of the
 * given tree (may be NULL and set later). */
eb_err_t eb_event_init(eb_event_t *ev, const char *type, const char *source, const char *subject,
                       const eb_event_t *cause, cJSON *data);

/* Starts an event that a consumer emits in reaction to cause, as
 * eb_event_init() does, but deterministically: its id is derived from the
 * cause's id and the new type (eb_uuid_derive), and its time is the cause's
 * time. Deciding the same cause again (after Redis lost its data, or a
 * crash before the done-mark) then yields the same bytes, which downstream
 * recognises by id. EB_ERR_INVALID without a cause. */
eb_err_t eb_event_derive(eb_event_t *ev, const char *type, const char *source, const char *subject,
                         const eb_event_t *cause, cJSON *data);

/* Frees the data tree and clears ev. Safe on a zeroed or closed event. */
void eb_event_close(eb_event_t *ev);

/* Serialises ev as a CloudEvents JSON document. Returns a malloc'd,
 * NUL-terminated string the caller frees, or NULL when out of memory. */
char *eb_event_encode(const eb_event_t *ev, size_t *len);

/* Parses and validates a CloudEvents JSON document of len bytes (not
 * necessarily NUL-terminated). On EB_OK ev holds the event and must be closed;
 * on EB_ERR_BAD_EVENT errstr says what is wrong and ev needs no closing. */
eb_err_t eb_event_decode(const void *buf, size_t len, eb_event_t *ev, char *errstr,
                         size_t errstr_size);

/* Writes a new random (version 4) UUID, lower-case, into out[EB_UUID_LEN+1]. */
void eb_uuid_generate(char *out);

/* Writes into out[EB_UUID_LEN+1] a name-based UUID (version 5, SHA-1, in
 * the suite's namespace) of the pair (a, b): the same pair always gives the
 * same id, e.g. a causing event id and what is derived from it. */
void eb_uuid_derive(const char *a, const char *b, char *out);

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

/* Returns 1 if s (len bytes) is a valid W3C traceparent of version 00. */
int eb_traceparent_valid(const char *s, size_t len);

/* Writes a new traceparent (random trace and parent ids, sampled) into
 * out[EB_TRACEPARENT_LEN+1]. */
void eb_traceparent_generate(char *out);

#ifdef __cplusplus
}
#endif
#endif /* EVENTBUS_ENVELOPE_H */
