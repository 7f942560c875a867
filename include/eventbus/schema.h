/*
 * Event versions (schema.c): the JSON Schema an event's data follows, named
 * by its CloudEvents dataschema attribute, and upcasters that bring the data
 * of older versions to the version a consumer is written for.
 *
 * A registry lists, per event type, versions 1, 2, ... each with the URI of
 * its schema (the schema's $id) and, from version 2 on, the upcaster from the
 * version before. Producers stamp the newest dataschema on what they emit
 * (eb_schemas_stamp); consumers hand the registry to eb_consumer_new(), which
 * upcasts every event before its handler sees it and dead-letters an event
 * whose dataschema it does not know, such as a version newer than the
 * consumer, with a reason naming it. An event that names no dataschema is
 * taken as version 1: events written before versions existed keep flowing.
 *
 * A change that old readers could not read ships as a new version: the new
 * schema, its upcaster, and the producer stamping it, while version-1 events
 * still on the topics reach the handler upcast.
 *
 * Threading: build the registry before the consumers start; afterwards it is
 * only read, from any thread. The caller owns it and frees it after them.
 */
#ifndef EVENTBUS_SCHEMA_H
#define EVENTBUS_SCHEMA_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "eventbus/envelope.h"
#include "eventbus/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Turns data of the version before into this version, in place (data is an
 * object of the event's type, at the version before). A refusal (the data
 * cannot be expressed in the new version) returns EB_ERR_BAD_EVENT with the
 * reason in errstr, and the event is dead-lettered with it. */
typedef eb_err_t(eb_upcast_fn)(cJSON *data, char *errstr, size_t errstr_size);

typedef struct eb_schemas_s eb_schemas_t;

/* An empty registry, or NULL when out of memory. The caller owns it
 * (eb_schemas_free), and frees it only after every consumer given it was
 * destroyed. */
eb_schemas_t *eb_schemas_new(void);

/* Frees s. NULL is a no-op. */
void eb_schemas_free(eb_schemas_t *s);

/* Declares version `version` of event type `type`, its data following the
 * JSON Schema whose $id is dataschema (an absolute URI, unique in s). up
 * upgrades the version before to this one: NULL for version 1, required
 * after. A type's versions are added in order from 1. Copies the strings.
 * EB_ERR_INVALID on a gap, a repeat, a missing upcaster or an over-long
 * string; EB_ERR_NOMEM. */
eb_err_t eb_schemas_add(eb_schemas_t *s, const char *type, int version, const char *dataschema,
                        eb_upcast_fn *up);

/* The newest version of type, and its dataschema in *dataschema (may be
 * NULL; the string is s's, valid until eb_schemas_free); 0 when s has no
 * version of type. */
int eb_schemas_newest(const eb_schemas_t *s, const char *type, const char **dataschema);

/* Sets ev->dataschema to the newest version of ev->type, as a producer
 * does before encoding. EB_ERR_INVALID when s does not know the type. */
eb_err_t eb_schemas_stamp(const eb_schemas_t *s, eb_event_t *ev);

/* Brings ev->data to the newest version of ev->type: finds the version ev
 * names (1 when its dataschema is empty), runs the upcasters after it in
 * order and stamps the newest dataschema. An event of a type s does not
 * know passes untouched. EB_ERR_BAD_EVENT with the reason in errstr when
 * the dataschema is not one of the type's versions (a newer version is
 * named as such) or an upcaster refused; ev is unchanged but for data, which
 * an upcaster may have half changed. */
eb_err_t eb_schemas_upcast(const eb_schemas_t *s, eb_event_t *ev, char *errstr, size_t errstr_size);

#ifdef __cplusplus
}
#endif
#endif /* EVENTBUS_SCHEMA_H */
