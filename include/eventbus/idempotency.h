/*
 * Idempotency records, for handlers and start-up recovery.
 *
 * The consumer claims and marks event ids itself (see consumer.h); this is
 * the part a service needs on its own: recording that events were handled
 * outside the consume loop, e.g. after finding their effects already done
 * when it restarts after a crash.
 *
 * Records live under "idem:<group>:<event id>": a claim token while an
 * instance works on the event, "done" once it was handled.
 */
#ifndef EVENTBUS_IDEMPOTENCY_H
#define EVENTBUS_IDEMPOTENCY_H

#include <stddef.h>
#include <stdint.h>

#include "eventbus/error.h"
#include "eventbus/redis.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Marks n event ids of group done for ttl_s seconds, in one pipeline.
 * Nothing is kept. On the thread that owns r. Returns EB_OK or
 * EB_ERR_REDIS. */
eb_err_t eb_idempotency_mark_done(eb_redis_t *r, const char *group, const char *const *ids,
                                  size_t n, int64_t ttl_s);

#ifdef __cplusplus
}
#endif
#endif /* EVENTBUS_IDEMPOTENCY_H */
