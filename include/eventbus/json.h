/*
 * JSON documents from outside (json.c): parsed whole and strictly.
 * Reentrant: any thread.
 */
#ifndef EVENTBUS_JSON_H
#define EVENTBUS_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Deepest nesting of objects and arrays a JSON document from outside may
 * have; cJSON recurses once per level. */
#define EB_JSON_MAX_DEPTH 32

/* Parses a JSON document from outside (an HTTP body, a Kafka value): all of
 * the len bytes must be one JSON value, with only whitespace after it, in
 * valid UTF-8, nested at most max_depth deep. Returns the tree (the caller
 * frees it with cJSON_Delete) or NULL with the reason in errstr. */
cJSON *eb_json_parse(const void *buf, size_t len, int max_depth, char *errstr, size_t errstr_size);

/* The most bytes eb_json_quote() writes for n bytes of text. */
#define EB_JSON_QUOTED_MAX(n) (6 * (size_t)(n) + 2)

/* Writes the n bytes at s as a JSON string, quotes included and no NUL, at
 * out, which has room for EB_JSON_QUOTED_MAX(n) bytes. The escapes are
 * exactly cJSON's (\" \\ \b \f \n \r \t, other bytes below 0x20 as
 * \u00xx), every other byte goes out as it is (s is UTF-8), so a document
 * written with it has the bytes cJSON_PrintUnformatted() would give.
 * Returns the end of what was written. */
char *eb_json_quote(char *out, const char *s, size_t n);

/* The most bytes eb_json_uint() writes. */
#define EB_JSON_UINT_MAX 20

/* Writes the decimal digits of v, no sign and no NUL, at out, which has room
 * for EB_JSON_UINT_MAX bytes (a JSON number, a RESP length). Returns the end
 * of what was written. */
char *eb_json_uint(char *out, uint64_t v);

#ifdef __cplusplus
}
#endif
#endif /* EVENTBUS_JSON_H */
