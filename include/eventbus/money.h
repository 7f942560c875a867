/*
 * Money as integer minor units (cents), never as floating point.
 *
 * On the wire amounts are JSON numbers with at most two decimals
 * ("total":100.5). Parsing checks that the number has no third decimal and
 * lies within EB_MONEY_MAX; formatting writes the shortest exact decimal, so
 * 10050 becomes 100.5 and 10000 becomes 100. Pure functions: any thread.
 */
#ifndef EVENTBUS_MONEY_H
#define EVENTBUS_MONEY_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "eventbus/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest magnitude accepted, in minor units: 1e13 (100 billion in major
 * units). Below it a double still resolves the third decimal exactly. */
#define EB_MONEY_MAX INT64_C(10000000000000)

/* Longest text eb_money_format() writes, with the NUL. */
#define EB_MONEY_TEXT_MAX 24

/* Converts a JSON number to minor units. EB_ERR_INVALID if item is not a
 * number, is not finite, has more than two decimals or exceeds EB_MONEY_MAX.
 * Negative amounts are returned as such: range checks are the caller's. */
eb_err_t eb_money_from_json(const cJSON *item, int64_t *minor);

/* Parses decimal text such as "10000.00", "12.5" or "7". */
eb_err_t eb_money_parse(const char *text, int64_t *minor);

/* Writes the shortest exact decimal for minor into buf (>= EB_MONEY_TEXT_MAX
 * bytes). Returns the length written. */
size_t eb_money_format(int64_t minor, char *buf, size_t size);

/* Writes minor with exactly two decimals ("12.60"), for text meant for
 * people. Returns the length written. */
size_t eb_money_format_fixed(int64_t minor, char *buf, size_t size);

/* Returns a new cJSON number node that prints exactly as eb_money_format()
 * would, or NULL when out of memory. The caller owns it (add it to a tree,
 * or cJSON_Delete it). */
cJSON *eb_money_to_json(int64_t minor);

#ifdef __cplusplus
}
#endif
#endif /* EVENTBUS_MONEY_H */
