/*
 * Users in Redis.
 *
 *   user:<id>       hash: name email age createdAt [updatedAt]
 *                   (age "" when not given; updatedAt once updated)
 *   users:outbox    stream: one entry per event to publish (the fields of
 *                   eventbus/outbox.h); user-service's relay reads it
 *
 * Every write stores the user and its event's outbox entry in one atomic
 * step: user_store_create() in one MULTI/EXEC, user_store_update() in one
 * Lua script that checks the user exists and writes only then. So a user
 * changes if and only if its event will be published, and a PUT of an
 * unknown user writes nothing.
 *
 * Threads: each function runs on the caller's connection; r belongs to the
 * calling thread (an HTTP worker's own).
 */
#ifndef SERVICES_USER_STORE_H
#define SERVICES_USER_STORE_H

#include "eventbus/redis.h"
#include "user.h"

#define USER_OUTBOX_STREAM "users:outbox"

/* Stores the new user o (user_record_register()) with its outbox entry;
 * trace (the request's span) goes into the entry. Returns EB_OK or
 * EB_ERR_REDIS (Redis unreachable or failing). */
eb_err_t user_store_create(eb_redis_t *r, const user_record_t *o, const eb_trace_t *trace);

/* Reads user id's createdAt into out (for building its update). Returns
 * EB_OK, EB_ERR_NOT_FOUND or EB_ERR_REDIS. */
eb_err_t user_store_created_at(eb_redis_t *r, const char *id, char out[40]);

/* Stores the update o (user_record_update()) with its outbox entry, only if
 * the user exists with o's createdAt, in one script. Returns EB_OK,
 * EB_ERR_NOT_FOUND (no such user: nothing written), EB_ERR_CONFLICT (the
 * stored createdAt differs: read it again) or EB_ERR_REDIS. */
eb_err_t user_store_update(eb_redis_t *r, const user_record_t *o, const eb_trace_t *trace);

/* Loads user id into u and its updatedAt ("" if never updated) into
 * updated_at. Returns EB_OK, EB_ERR_NOT_FOUND (also for a hash that is not
 * a user this service wrote) or EB_ERR_REDIS. */
eb_err_t user_store_load(eb_redis_t *r, const char *id, svc_user_t *u,
                         char updated_at[EB_TIME_LEN + 1]);

#endif /* SERVICES_USER_STORE_H */
