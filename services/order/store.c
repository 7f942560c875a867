/*
 * Orders in Redis: create (with outbox), load, status transitions.
 */
#include <stdio.h>
#include <string.h>

#include "store.h"

#define IDEM_PREFIX "idem:http:"

/* Appends HSET order:<id> and XADD outbox to the pipeline. */
static void append_order(redisContext *ctx, const order_record_t *o, const svc_order_t *req,
                         const char *traceparent)
{
    char key[64];
    const char *hset[] = {"HSET",      key,           "userId",    req->user_id,
                          "currency",  req->currency, "total",     o->total,
                          "items",     o->items_json, "createdAt", o->created_at,
                          "updatedAt", o->created_at, "status",    ORDER_STATUS_PENDING};
    const char *xadd[] = {
        "XADD",      ORDER_OUTBOX_STREAM, "*",        "topic",  TOPIC_ORDER_CREATED,
        "key",       o->order_id,         "value",    o->event, "eventId",
        o->event_id, "traceparent",       traceparent};
    int xargc = traceparent && traceparent[0] ? 13 : 11; /* traceparent is optional */
    size_t xlen[sizeof(xadd) / sizeof(xadd[0])];

    snprintf(key, sizeof(key), "order:%s", o->order_id);
    redisAppendCommandArgv(ctx, sizeof(hset) / sizeof(hset[0]), hset, NULL);
    for (int i = 0; i < xargc; i++)
        xlen[i] = strlen(xadd[i]);
    xlen[8] = o->event_len; /* the event, binary-safe */
    redisAppendCommandArgv(ctx, xargc, xadd, xlen);
}

/* Reads n replies; returns 1 if all arrived, last (when asked) kept. */
static int read_replies(eb_redis_t *r, int n, redisReply **last)
{
    for (int i = 0; i < n; i++) {
        redisReply *rep = eb_redis_read(r);

        if (!rep)
            return 0;
        if (last && i == n - 1)
            *last = rep;
        else
            freeReplyObject(rep);
    }
    return 1;
}

/* Looks up an Idempotency-Key under WATCH. Returns 1 if it exists (filling
 * existing_id and comparing fingerprints), 0 if not (the WATCH stays on),
 * -1 on Redis failure. */
static int idem_lookup(eb_redis_t *r, const char *ikey, const char *fingerprint,
                       order_store_outcome_t *outcome, char *existing_id)
{
    redisContext *ctx = eb_redis_ctx(r, NULL, 0);
    redisReply *rep = NULL;
    const char *sp;
    int found;

    if (!ctx)
        return -1;
    redisAppendCommand(ctx, "WATCH %s", ikey);
    redisAppendCommand(ctx, "GET %s", ikey);
    if (!read_replies(r, 2, &rep))
        return -1;
    if (rep->type == REDIS_REPLY_NIL) {
        freeReplyObject(rep);
        return 0;
    }
    found = rep->type == REDIS_REPLY_STRING && (sp = strchr(rep->str, ' ')) &&
            sp - rep->str == EB_UUID_LEN;
    if (found) {
        memcpy(existing_id, rep->str, EB_UUID_LEN);
        existing_id[EB_UUID_LEN] = '\0';
        *outcome =
            strcmp(sp + 1, fingerprint) == 0 ? ORDER_STORE_REPLAYED : ORDER_STORE_KEY_MISMATCH;
    }
    freeReplyObject(rep);
    rep = eb_redis_command(r, "UNWATCH");
    if (rep)
        freeReplyObject(rep);
    return found ? 1 : -1;
}

eb_err_t order_store_create(eb_redis_t *r, const order_record_t *o, const svc_order_t *req,
                            const char *traceparent, const char *idem_key, int64_t idem_ttl_s,
                            order_store_outcome_t *outcome, char existing_id[EB_UUID_LEN + 1])
{
    char ikey[320], ival[64];
    redisContext *ctx;
    redisReply *exec = NULL;

    *outcome = ORDER_STORE_CREATED;
    if (idem_key)
        snprintf(ikey, sizeof(ikey), IDEM_PREFIX "%s", idem_key);
    /* With a key, a concurrent request with the same key can slip in between
     * the lookup and EXEC; WATCH makes that EXEC fail, and we look again. */
    for (int attempt = 0; attempt < 3; attempt++) {
        if (idem_key) {
            int found = idem_lookup(r, ikey, o->fingerprint, outcome, existing_id);

            if (found < 0)
                return EB_ERR_REDIS;
            if (found)
                return EB_OK;
        }
        ctx = eb_redis_ctx(r, NULL, 0);
        if (!ctx)
            return EB_ERR_REDIS;
        redisAppendCommand(ctx, "MULTI");
        if (idem_key) {
            snprintf(ival, sizeof(ival), "%s %s", o->order_id, o->fingerprint);
            redisAppendCommand(ctx, "SET %s %s EX %lld", ikey, ival, (long long)idem_ttl_s);
        }
        append_order(ctx, o, req, traceparent);
        redisAppendCommand(ctx, "EXEC");
        if (!read_replies(r, idem_key ? 5 : 4, &exec))
            return EB_ERR_REDIS;
        if (exec->type == REDIS_REPLY_ARRAY) {
            int ok = 1;

            for (size_t i = 0; i < exec->elements; i++)
                ok &= exec->element[i]->type != REDIS_REPLY_ERROR;
            freeReplyObject(exec);
            return ok ? EB_OK : EB_ERR_REDIS;
        }
        /* nil: the WATCHed key changed (another request took it); an error:
         * the transaction was discarded. */
        int retry = exec->type == REDIS_REPLY_NIL && idem_key;
        freeReplyObject(exec);
        if (!retry)
            return EB_ERR_REDIS;
    }
    return EB_ERR_REDIS;
}

eb_err_t order_store_load(eb_redis_t *r, const char *id, order_view_t *v, redisReply **reply)
{
    redisReply *rep = eb_redis_command(r, "HGETALL order:%s", id);

    *reply = NULL;
    memset(v, 0, sizeof(*v));
    if (!rep || rep->type != REDIS_REPLY_ARRAY) {
        if (rep)
            freeReplyObject(rep);
        return EB_ERR_REDIS;
    }
    if (rep->elements == 0) {
        freeReplyObject(rep);
        return EB_ERR_NOT_FOUND;
    }
    for (size_t i = 0; i + 1 < rep->elements; i += 2) {
        const char *k = rep->element[i]->str, *val = rep->element[i + 1]->str;

        if (strcmp(k, "userId") == 0)
            v->user_id = val;
        else if (strcmp(k, "currency") == 0)
            v->currency = val;
        else if (strcmp(k, "total") == 0)
            v->total = val;
        else if (strcmp(k, "items") == 0)
            v->items_json = val;
        else if (strcmp(k, "createdAt") == 0)
            v->created_at = val;
        else if (strcmp(k, "status") == 0)
            v->status = val;
    }
    if (!v->user_id || !v->currency || !v->total || !v->items_json || !v->created_at ||
        !v->status) {
        freeReplyObject(rep);
        return EB_ERR_NOT_FOUND; /* not an order we wrote */
    }
    v->order_id = id;
    *reply = rep;
    return EB_OK;
}

/* PENDING -> status, atomically. 2 set, 1 already so, 0 unknown, -1 conflict. */
static const char status_script[] =
    "local cur = redis.call('HGET', KEYS[1], 'status') "
    "if not cur then return 0 end "
    "if cur == ARGV[1] then return 1 end "
    "if cur ~= 'PENDING' then return -1 end "
    "redis.call('HSET', KEYS[1], 'status', ARGV[1], 'updatedAt', ARGV[2]) "
    "return 2";

eb_err_t order_store_set_status(eb_redis_t *r, const char *id, const char *status)
{
    char now[EB_TIME_LEN + 1];
    redisReply *rep;
    long long v;

    eb_time_format(eb_time_now_ms(), now);
    rep = eb_redis_command(r, "EVAL %s 1 order:%s %s %s", status_script, id, status, now);
    if (!rep || rep->type != REDIS_REPLY_INTEGER) {
        if (rep)
            freeReplyObject(rep);
        return EB_ERR_REDIS;
    }
    v = rep->integer;
    freeReplyObject(rep);
    return v > 0 ? EB_OK : v == 0 ? EB_ERR_NOT_FOUND : EB_ERR_CONFLICT;
}
