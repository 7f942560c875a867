/*
 * Bytes as JSON without losing any (show.c), for eventbus-dlq list.
 *
 * A byte string (a key, a value, a header value) is shown as:
 *   null                      when absent (a null key, a header without value);
 *   "text"                    a JSON string, when it is UTF-8 text: valid
 *                             UTF-8 without a NUL byte;
 *   {"base64":"AAE="}         otherwise: its bytes in base64 (RFC 4648,
 *                             padded), the object marking them as such.
 * The headers whose encoding is known to be binary (the big-endian
 * kafka_dlt-original-partition, -offset and -timestamp) are always shown
 * as base64, with the integer beside it: {"base64":"AAAAAw==","int":3}.
 */
#ifndef DLQ_SHOW_H
#define DLQ_SHOW_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* 1 if the size bytes at p are valid UTF-8 without a NUL byte. */
int dlq_is_text(const void *p, size_t size);

/* Writes the padded base64 of the size bytes at p, NUL-terminated, into a
 * new string the caller frees with free(). NULL when out of memory. */
char *dlq_base64(const void *p, size_t size);

/* The JSON shown for the size bytes at p (NULL: absent), as described
 * above; name, when not NULL, is the header's name (to recognise the
 * binary ones). Returns a new item the caller owns, NULL when out of memory. */
cJSON *dlq_show_bytes(const char *name, const void *p, size_t size);

#endif /* DLQ_SHOW_H */
