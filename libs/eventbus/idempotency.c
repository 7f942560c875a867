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
#include "redis_int.h"

#define DONE_VALUE "done"

static const char release_script[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end "
    "return 0";

static const char renew_script[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) "
    "end return 0";

/* Runs a pipeline whose answers only need to be successes, and frees it.
 * EB_ERR_REDIS when one is an error reply or the connection failed (or the
 * pipeline could not be built: the consumer waits for Redis either way). */
static eb_err_t run_all(eb_redis_pipeline_t *p)
{
    eb_err_t err = eb_redis_pipeline_exec(p);

    for (size_t i = 0; err == EB_OK && i < eb_redis_pipeline_count(p); i++)
        if (eb_redis_pipeline_result(p, i).kind == EB_REDIS_ERROR)
            err = EB_ERR_REDIS;
    eb_redis_pipeline_destroy(p);
    return err == EB_OK ? EB_OK : EB_ERR_REDIS;
}

/* The claim a SET NX GET reply stands for; 0 when it tells nothing. */
static int claim_of(const eb_redis_result_t *res, const char *token, eb_claim_t *claim)
{
    if (res->kind == EB_REDIS_NIL)
        *claim = EB_CLAIM_NEW;
    else if (res->kind == EB_REDIS_STRING && strcmp(res->str, DONE_VALUE) == 0)
        *claim = EB_CLAIM_DONE;
    else if (res->kind == EB_REDIS_STRING && strcmp(res->str, token) == 0)
        *claim = EB_CLAIM_OURS;
    else if (res->kind == EB_REDIS_STRING)
        *claim = EB_CLAIM_BUSY;
    else
        return 0;
    return 1;
}

void eb__idempotency_claim_append(eb_redis_pipeline_t *p, const char *group, const char *token,
                                  const char *id, int lease_ms)
{
    /* The key idem:<group>:<id> is formatted into the command itself. */
    eb_redis_pipeline_append(p, "SET idem:%s:%s %s NX GET PX %d", group, id, token, lease_ms);
}

eb_err_t eb__idempotency_claim_read(const eb_redis_pipeline_t *p, size_t i, const char *token,
                                    eb_claim_t *claim)
{
    eb_redis_result_t res = eb_redis_pipeline_result(p, i);

    /* An error reply (e.g. a Redis older than 7.0 refusing NX+GET) means
     * we know nothing: treat it as Redis being unusable. */
    return claim_of(&res, token, claim) ? EB_OK : EB_ERR_REDIS;
}

eb_err_t eb__idempotency_renew(eb_redis_t *r, const char *group, const char *token,
                               const char *const *ids, size_t n, int lease_ms)
{
    eb_redis_pipeline_t *p;

    if (n == 0)
        return EB_OK;
    if (!(p = eb_redis_pipeline_new(r)))
        return EB_ERR_REDIS;
    for (size_t i = 0; i < n; i++)
        eb_redis_pipeline_append(p, "EVAL %s 1 idem:%s:%s %s %d", renew_script, group, ids[i],
                                 token, lease_ms);
    return run_all(p);
}

eb_err_t eb__idempotency_finish(eb_redis_t *r, const char *group, const char *token,
                                const char *const *done_ids, size_t ndone, int64_t ttl_s,
                                const char *const *release_ids, size_t nrelease, int wait)
{
    eb_redis_pipeline_t *p;
    eb_err_t err;

    if (ndone + nrelease == 0)
        return EB_OK;
    if (!(p = eb_redis_pipeline_new(r)))
        return EB_ERR_REDIS;
    for (size_t i = 0; i < ndone; i++)
        eb_redis_pipeline_append(p, "SET idem:%s:%s " DONE_VALUE " EX %lld", group, done_ids[i],
                                 (long long)ttl_s);
    for (size_t i = 0; i < nrelease; i++)
        eb_redis_pipeline_append(p, "EVAL %s 1 idem:%s:%s %s", release_script, group,
                                 release_ids[i], token);
    if (wait)
        return run_all(p);
    err = eb__redis_pipeline_send(p);
    eb_redis_pipeline_destroy(p);
    return err == EB_OK ? EB_OK : EB_ERR_REDIS;
}

eb_err_t eb_idempotency_mark_done(eb_redis_t *r, const char *group, const char *const *ids,
                                  size_t n, int64_t ttl_s)
{
    return eb__idempotency_finish(r, group, "", ids, n, ttl_s, NULL, 0, 1);
}
