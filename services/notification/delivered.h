/*
 * The events whose notification is in NOTIFY_FILE: a bounded set of event
 * ids, the most recent ones, oldest forgotten first.
 *
 * It needs to hold only the recent past: a notification is written again
 * only for an event redelivered before it was marked done (a crash between
 * the write and the done-mark, a failed fdatasync), which happens within a
 * claim lease or a rebalance of the write, thousands of lines at most;
 * older events are recognised by their done-marks in Redis.
 */
#ifndef SERVICES_NOTIFICATION_DELIVERED_H
#define SERVICES_NOTIFICATION_DELIVERED_H

#include <stddef.h>

typedef struct delivered_s delivered_t;

/* A set that remembers the last max ids (max >= 1). NULL when out of
 * memory. */
delivered_t *delivered_new(size_t max);

/* 1 if id is in the set. */
int delivered_has(const delivered_t *d, const char *id);

/* Adds id (a copy), forgetting the oldest id when full. Returns 0, or -1
 * when out of memory (the set is unchanged). */
int delivered_add(delivered_t *d, const char *id);

/* How many ids the set holds. */
size_t delivered_count(const delivered_t *d);

void delivered_free(delivered_t *d);

#endif /* SERVICES_NOTIFICATION_DELIVERED_H */
