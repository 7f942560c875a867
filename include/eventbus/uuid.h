/*
 * UUIDs (uuid.c): random ones for new things, derived ones for things
 * that follow from others. Any thread; out buffers are the caller's.
 */
#ifndef EVENTBUS_UUID_H
#define EVENTBUS_UUID_H

#ifdef __cplusplus
extern "C" {
#endif

#define EB_UUID_LEN 36 /* characters, without the NUL */

/* Writes a new random (version 4) UUID, lower-case, into out[EB_UUID_LEN+1]. */
void eb_uuid_generate(char *out);

/* Writes into out[EB_UUID_LEN+1] a name-based UUID (version 5, SHA-1, in
 * the suite's namespace) of the pair (a, b): the same pair always gives the
 * same id, e.g. a causing event id and what is derived from it. */
void eb_uuid_derive(const char *a, const char *b, char *out);

#ifdef __cplusplus
}
#endif
#endif /* EVENTBUS_UUID_H */
