/*
 * Idempotency records: claim, done, release.
 *
 * A claim is SET key token NX GET PX lease: one command that either takes the
 * key (reply nil) or tells who has it (the old value). Redis 7.0 accepts NX
 * together with GET. A crashed instance's claim expires with its lease; a
 * done-mark lives for the TTL, which bounds how late a duplicate can arrive
 * and still be recognised. Releasing compares the token first (in Lua, so
 * atomically) so an instance whose lease ran out cannot delete a claim that
 * another instance has taken since.
 */
#include <stdio.h>
#include <string.h>

#include "eb_int.h"
#include "eventbus/idempotency.h"
#include "eventbus/redis.h"

#define DONE_VALUE "done"

static const char release_script[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end "
    "return 0";

static const char renew_script[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) "
    "end return 0";

static void idem_key(char *out, size_t size, const char *group, const char *id)
{
    snprintf(out, size, "idem:%s:%s", group, id);
}

/* Reads the n replies of a pipeline whose answers only need to be
 * successes. EB_ERR_REDIS when one is an error or the connection failed. */
static eb_err_t read_all(eb_redis_t *r, size_t n)
{
    eb_err_t err = EB_OK;

    for (size_t i = 0; i < n; i++) {
        redisReply *rep = eb_redis_read(r);

        if (!rep)
            return EB_ERR_REDIS; /* the connection was dropped with the rest */
        if (rep->type == REDIS_REPLY_ERROR)
            err = EB_ERR_REDIS;
        freeReplyObject(rep);
    }
    return err;
}

eb_err_t eb__idem_claim(eb_redis_t *r, const char *group, const char *token, const char *const *ids,
                        size_t n, int lease_ms, eb_claim_t *results)
{
    redisContext *ctx = eb_redis_ctx(r, NULL, 0);
    char key[512];

    if (!ctx)
        return EB_ERR_REDIS;
    for (size_t i = 0; i < n; i++) {
        idem_key(key, sizeof(key), group, ids[i]);
        redisAppendCommand(ctx, "SET %s %s NX GET PX %d", key, token, lease_ms);
    }
    for (size_t i = 0; i < n; i++) {
        redisReply *rep = eb_redis_read(r);

        if (!rep)
            return EB_ERR_REDIS;
        if (rep->type == REDIS_REPLY_NIL)
            results[i] = EB_CLAIM_NEW;
        else if (rep->type == REDIS_REPLY_STRING && strcmp(rep->str, DONE_VALUE) == 0)
            results[i] = EB_CLAIM_DONE;
        else if (rep->type == REDIS_REPLY_STRING && strcmp(rep->str, token) == 0)
            results[i] = EB_CLAIM_OURS;
        else if (rep->type == REDIS_REPLY_STRING)
            results[i] = EB_CLAIM_BUSY;
        else {
            /* An error reply (e.g. a Redis older than 7.0 refusing NX+GET)
             * means we know nothing: treat it as Redis being unusable. */
            freeReplyObject(rep);
            (void)read_all(r, n - i - 1); /* the rest of the pipeline */
            return EB_ERR_REDIS;
        }
        freeReplyObject(rep);
    }
    return EB_OK;
}

eb_err_t eb__idem_renew(eb_redis_t *r, const char *group, const char *token, const char *const *ids,
                        size_t n, int lease_ms)
{
    redisContext *ctx;
    char key[512];

    if (n == 0)
        return EB_OK;
    ctx = eb_redis_ctx(r, NULL, 0);
    if (!ctx)
        return EB_ERR_REDIS;
    for (size_t i = 0; i < n; i++) {
        idem_key(key, sizeof(key), group, ids[i]);
        redisAppendCommand(ctx, "EVAL %s 1 %s %s %d", renew_script, key, token, lease_ms);
    }
    return read_all(r, n);
}

eb_err_t eb__idem_finish(eb_redis_t *r, const char *group, const char *token,
                         const char *const *done_ids, size_t ndone, int64_t ttl_s,
                         const char *const *release_ids, size_t nrelease)
{
    redisContext *ctx;
    char key[512];

    if (ndone + nrelease == 0)
        return EB_OK;
    ctx = eb_redis_ctx(r, NULL, 0);
    if (!ctx)
        return EB_ERR_REDIS;
    for (size_t i = 0; i < ndone; i++) {
        idem_key(key, sizeof(key), group, done_ids[i]);
        redisAppendCommand(ctx, "SET %s " DONE_VALUE " EX %lld", key, (long long)ttl_s);
    }
    for (size_t i = 0; i < nrelease; i++) {
        idem_key(key, sizeof(key), group, release_ids[i]);
        redisAppendCommand(ctx, "EVAL %s 1 %s %s", release_script, key, token);
    }
    return read_all(r, ndone + nrelease);
}

eb_err_t eb_idempotency_mark_done(eb_redis_t *r, const char *group, const char *const *ids,
                                  size_t n, int64_t ttl_s)
{
    return eb__idem_finish(r, group, "", ids, n, ttl_s, NULL, 0);
}
