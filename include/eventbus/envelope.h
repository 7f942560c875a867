/*
 * CloudEvents 1.0 envelopes in structured JSON mode (docs/contract.md section 3).
 *
 * An eb_event_t holds the context attributes as fixed-size strings and the
 * event data as a cJSON tree it owns. eb_event_decode() is the only way bytes
 * from Kafka become an event: it checks everything the CloudEvents spec and
 * the contract require and reports the first violation in errstr, so the
 * caller can dead-letter the message with that reason.
 *
 * The identifiers, times and trace context events are made of have headers
 * of their own (uuid.h, time.h, traceparent.h, json.h), included here.
 */
#ifndef EVENTBUS_ENVELOPE_H
#define EVENTBUS_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "eventbus/error.h"
#include "eventbus/json.h"
#include "eventbus/time.h"
#include "eventbus/traceparent.h"
#include "eventbus/uuid.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EB_EVENT_ID_MAX   128 /* longest id, source, subject we accept */
#define EB_DATASCHEMA_MAX 256 /* longest dataschema URI we accept */

/* The Kafka header the CloudEvents Kafka protocol binding gives an event in
 * structured mode: eb_work_publish() and the outbox relay put it on every
 * event they send, and consumers check it (eb_event_check_content_type). */
#define EB_CE_CONTENT_TYPE_HEADER "content-type"
#define EB_CE_CONTENT_TYPE        "application/cloudevents+json; charset=UTF-8"

/* The context attributes of one event plus its data. Plain storage owned by
 * the caller: eb_event_init() or eb_event_decode() fills it, eb_event_close()
 * frees data. An empty string means "attribute absent". No thread affinity:
 * the functions here are reentrant; one event is used by one thread at a
 * time. */
typedef struct eb_event_s {
    char id[EB_EVENT_ID_MAX + 1];
    char source[EB_EVENT_ID_MAX + 1];
    char type[64];
    char time[40];
    char subject[EB_EVENT_ID_MAX + 1];
    char correlationid[EB_EVENT_ID_MAX + 1];
    char causationid[EB_EVENT_ID_MAX + 1];
    /* The URI of the JSON Schema the data follows, which names the version of
     * the data's shape (schema.h). Empty on events from before versions. */
    char dataschema[EB_DATASCHEMA_MAX + 1];
    cJSON *data; /* owned; an object for every event type of the suite */
} eb_event_t;

/* Starts a new event: a fresh UUID as id, the current time, the given type,
 * source and subject. correlationid and causationid are taken from cause when
 * it is not NULL (the new event reacts to cause); otherwise the new event
 * starts a chain and both are set to its own id. data (may be NULL and set
 * later) is owned by ev on success; on failure it stays the caller's. */
eb_err_t eb_event_init(eb_event_t *ev, const char *type, const char *source, const char *subject,
                       const eb_event_t *cause, cJSON *data);

/* eb_event_init() with the event's time given as text (an RFC 3339 time
 * such as eb_time_format() writes; NULL: now), for a producer that already
 * holds the time it wants the event to carry. EB_ERR_INVALID also when time
 * does not fit. */
eb_err_t eb_event_init_at(eb_event_t *ev, const char *type, const char *source, const char *subject,
                          const eb_event_t *cause, cJSON *data, const char *time);

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

/* Serialises ev as eb_event_encode() does, with data (data_len bytes, one
 * JSON value the caller wrote; not checked) as its data instead of ev->data;
 * data NULL: no data. For producers that write their data as text
 * (eb_json_quote) rather than as a cJSON tree. Returns a malloc'd,
 * NUL-terminated string or NULL when out of memory. */
char *eb_event_encode_json(const eb_event_t *ev, const char *data, size_t data_len, size_t *len);

/* Checks a Kafka record's content-type header value (len bytes; NULL when
 * the record has none) against the structured mode of the CloudEvents Kafka
 * binding: application/cloudevents+json, any parameters, any letter case.
 * A record without the header is accepted as structured JSON too, as the
 * suite wrote them before the header existed. Returns EB_ERR_BAD_EVENT with
 * the reason in errstr otherwise (binary mode is not supported). */
eb_err_t eb_event_check_content_type(const void *value, size_t len, char *errstr,
                                     size_t errstr_size);

/* Returns 1 if the media type (len bytes) is JSON: application/json or any
 * type with a +json structured syntax suffix (RFC 6839), parameters and
 * letter case aside. The datacontenttype values eb_event_decode() accepts. */
int eb_media_type_is_json(const char *value, size_t len);

/* Parses and validates a CloudEvents JSON document of len bytes (not
 * necessarily NUL-terminated). On EB_OK ev holds the event and must be closed;
 * on EB_ERR_BAD_EVENT errstr says what is wrong and ev needs no closing. */
eb_err_t eb_event_decode(const void *buf, size_t len, eb_event_t *ev, char *errstr,
                         size_t errstr_size);

#ifdef __cplusplus
}
#endif
#endif /* EVENTBUS_ENVELOPE_H */
