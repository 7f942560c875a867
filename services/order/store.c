/*
 * Orders in Redis: create (with outbox), load, status transitions.
 */
#include <stdio.h>
#include <string.h>

#include "eventbus/outbox.h"
#include "store.h"

#define IDEM_PREFIX "idem:http:"

/* Appends HSET order:<id> and XADD outbox to the pipeline. */
static void append_order(eb_redis_pipeline_t *p, const order_record_t *o, const svc_order_t *req,
                         const eb_trace_t *trace)
{
    char key[64];
    const char *hset[] = {
        "HSET",      key,           "userId", req->user_id,         "currency",      req->currency,
        "total",     o->total,      "items",  o->items_json,        "createdAt",     o->created_at,
        "updatedAt", o->created_at, "status", ORDER_STATUS_PENDING, "correlationId", o->event_id};
    const eb_outbox_entry_t e = {TOPIC_ORDER_CREATED, o->order_id, o->event,
                                 o->event_len,        o->event_id, trace->traceparent,
                                 trace->tracestate};

    snprintf(key, sizeof(key), "order:%s", o->order_id);
    eb_redis_pipeline_append_argv(p, sizeof(hset) / sizeof(hset[0]), hset, NULL);
    eb_outbox_append(p, ORDER_OUTBOX_STREAM, &e);
}

/* Runs p. Returns 1 when every command got a reply, with the last in *last
 * (valid until p is cleared), 0 when Redis was unreachable or broke. */
static int run(eb_redis_pipeline_t *p, eb_redis_result_t *last)
{
    if (eb_redis_pipeline_exec(p) != EB_OK)
        return 0;
    *last = eb_redis_pipeline_result(p, eb_redis_pipeline_count(p) - 1);
    return 1;
}

/* Looks up an Idempotency-Key under WATCH. Returns 1 if it exists (filling
 * existing_id and comparing fingerprints), 0 if not (the WATCH stays on),
 * -1 on Redis failure. p is empty on entry and cleared on return. */
static int idem_lookup(eb_redis_pipeline_t *p, const char *ikey, const char *fingerprint,
                       order_store_outcome_t *outcome, char *existing_id)
{
    eb_redis_result_t rep;
    const char *sp;
    int found;

    eb_redis_pipeline_append(p, "WATCH %s", ikey);
    eb_redis_pipeline_append(p, "GET %s", ikey);
    if (!run(p, &rep)) {
        eb_redis_pipeline_clear(p);
        return -1;
    }
    if (rep.kind == EB_REDIS_NIL) {
        eb_redis_pipeline_clear(p);
        return 0;
    }
    found =
        rep.kind == EB_REDIS_STRING && (sp = strchr(rep.str, ' ')) && sp - rep.str == EB_UUID_LEN;
    if (found) {
        memcpy(existing_id, rep.str, EB_UUID_LEN);
        existing_id[EB_UUID_LEN] = '\0';
        *outcome =
            strcmp(sp + 1, fingerprint) == 0 ? ORDER_STORE_REPLAYED : ORDER_STORE_KEY_MISMATCH;
    }
    eb_redis_pipeline_clear(p);
    eb_redis_pipeline_append(p, "UNWATCH");
    (void)eb_redis_pipeline_exec(p);
    eb_redis_pipeline_clear(p);
    return found ? 1 : -1;
}

/* 1 when exec, an EXEC's reply, says every command of its transaction ran
 * (an array without an error in it), else 0. */
static int exec_ran(const eb_redis_result_t *exec)
{
    if (exec->kind != EB_REDIS_ARRAY)
        return 0;
    for (size_t i = 0; i < exec->elements; i++)
        if (eb_redis_result_element(exec, i).kind == EB_REDIS_ERROR)
            return 0;
    return 1;
}

/* One attempt at the MULTI/EXEC of order_store_create(): 1 stored, 0 the
 * WATCHed key changed, -1 Redis failed. */
static int store_once(eb_redis_pipeline_t *p, const order_record_t *o, const svc_order_t *req,
                      const eb_trace_t *trace, const char *ikey, int64_t idem_ttl_s)
{
    eb_redis_result_t exec;
    char ival[64];
    int ok = 1;

    eb_redis_pipeline_append(p, "MULTI");
    if (ikey) {
        snprintf(ival, sizeof(ival), "%s %s", o->order_id, o->fingerprint);
        eb_redis_pipeline_append(p, "SET %s %s EX %lld", ikey, ival, (long long)idem_ttl_s);
    }
    append_order(p, o, req, trace);
    eb_redis_pipeline_append(p, "EXEC");
    if (!run(p, &exec)) {
        ok = -1;
    } else if (exec.kind == EB_REDIS_ARRAY) {
        ok = exec_ran(&exec) ? 1 : -1;
    } else {
        /* nil: the WATCHed key changed (another request took it); an error:
         * the transaction was discarded. */
        ok = exec.kind == EB_REDIS_NIL && ikey ? 0 : -1;
    }
    eb_redis_pipeline_clear(p);
    return ok;
}

eb_err_t order_store_create(eb_redis_t *r, const order_record_t *o, const svc_order_t *req,
                            const eb_trace_t *trace, const char *idem_key, int64_t idem_ttl_s,
                            order_store_outcome_t *outcome, char existing_id[EB_UUID_LEN + 1])
{
    eb_redis_pipeline_t *p = eb_redis_pipeline_new(r);
    char ikey[320];
    eb_err_t err = EB_ERR_REDIS;

    *outcome = ORDER_STORE_CREATED;
    if (!p)
        return EB_ERR_REDIS;
    if (idem_key)
        snprintf(ikey, sizeof(ikey), IDEM_PREFIX "%s", idem_key);
    /* With a key, a concurrent request with the same key can slip in between
     * the lookup and EXEC; WATCH makes that EXEC fail, and we look again. */
    for (int attempt = 0; attempt < 3; attempt++) {
        int stored;

        if (idem_key) {
            int found = idem_lookup(p, ikey, o->fingerprint, outcome, existing_id);

            if (found < 0)
                break;
            if (found) {
                err = EB_OK;
                break;
            }
        }
        stored = store_once(p, o, req, trace, idem_key ? ikey : NULL, idem_ttl_s);
        if (stored != 0) {
            err = stored > 0 ? EB_OK : EB_ERR_REDIS;
            break;
        }
    }
    eb_redis_pipeline_destroy(p);
    return err;
}

void order_store_create_batch(eb_redis_pipeline_t *p, order_store_item_t *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        eb_redis_pipeline_append(p, "MULTI");
        append_order(p, items[i].o, items[i].req, items[i].trace);
        eb_redis_pipeline_append(p, "EXEC");
    }
    /* a command not queued (out of memory) would shift every reply: none
     * is sent then; a failure of Redis shows in every reply */
    if (eb_redis_pipeline_count(p) != 4 * n)
        eb_redis_pipeline_clear(p);
    else
        (void)eb_redis_pipeline_exec(p);
    for (size_t i = 0; i < n; i++) {
        eb_redis_result_t exec = eb_redis_pipeline_result(p, 4 * i + 3);

        items[i].stored = exec_ran(&exec);
    }
    eb_redis_pipeline_clear(p);
}

eb_err_t order_store_load(eb_redis_t *r, const char *id, order_view_t *v,
                          eb_redis_pipeline_t **held)
{
    eb_redis_pipeline_t *p = eb_redis_pipeline_new(r);
    eb_redis_result_t res;

    *held = NULL;
    memset(v, 0, sizeof(*v));
    if (!p)
        return EB_ERR_REDIS;
    eb_redis_pipeline_append(p, "HGETALL order:%s", id);
    eb_redis_pipeline_exec(p);
    res = eb_redis_pipeline_result(p, 0);
    if (res.kind != EB_REDIS_ARRAY) {
        eb_redis_pipeline_destroy(p);
        return EB_ERR_REDIS;
    }
    if (res.elements == 0) {
        eb_redis_pipeline_destroy(p);
        return EB_ERR_NOT_FOUND;
    }
    for (size_t i = 0; i + 1 < res.elements; i += 2) {
        const char *k = eb_redis_result_element(&res, i).str;
        const char *val = eb_redis_result_element(&res, i + 1).str;

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
        else if (strcmp(k, "reason") == 0)
            v->reason = val;
        else if (strcmp(k, "correlationId") == 0)
            v->correlation_id = val;
    }
    if (!v->user_id || !v->currency || !v->total || !v->items_json || !v->created_at ||
        !v->status) {
        eb_redis_pipeline_destroy(p);
        return EB_ERR_NOT_FOUND; /* not an order we wrote */
    }
    v->order_id = id;
    *held = p;
    return EB_OK;
}

/* The status machine applied atomically: ARGV[1] is the time, ARGV[2] the
 * retention in seconds ("0": none), then quadruples (from "status|reason",
 * to status, to reason, "1" when to is terminal) computed by
 * order_status_next() for one event; the script only looks the current
 * status up in them. A change into a terminal status starts the record's
 * retention (EXPIRE); nothing else touches the TTL, so a late event for a
 * terminal order leaves its clock alone. 2 changed, 1 unchanged, 0 no such
 * order (nothing written: a missing record is never recreated). */
static const char apply_script[] =
    "local cur = redis.call('HMGET', KEYS[1], 'status', 'reason') "
    "if not cur[1] then return 0 end "
    "local k = cur[1] .. '|' .. (cur[2] or '') "
    "for i = 3, #ARGV, 4 do "
    "  if ARGV[i] == k then "
    "    if ARGV[i + 2] == '' then redis.call('HDEL', KEYS[1], 'reason') "
    "    else redis.call('HSET', KEYS[1], 'reason', ARGV[i + 2]) end "
    "    redis.call('HSET', KEYS[1], 'status', ARGV[i + 1], 'updatedAt', ARGV[1]) "
    "    if ARGV[i + 3] == '1' and ARGV[2] ~= '0' then "
    "      redis.call('EXPIRE', KEYS[1], ARGV[2]) "
    "    end "
    "    return 2 "
    "  end "
    "end "
    "return 1";

/* "STATUS|reason", the form the scripts compare. */
static void state_key(order_state_t s, char *out, size_t size)
{
    snprintf(out, size, "%s|%s", order_state_status(s), order_state_reason(s));
}

eb_err_t order_store_apply(eb_redis_t *r, const char *id, order_event_t ev, int64_t retention_s)
{
    char now[EB_TIME_LEN + 1], key[160], from[ORDER_STATE_COUNT][64], keep[24];
    const char *argv[6 + 4 * ORDER_STATE_COUNT];
    eb_redis_pipeline_t *p = eb_redis_pipeline_new(r);
    eb_redis_result_t rep;
    int argc = 0, ok;
    long long v = 0;

    if (!p)
        return EB_ERR_REDIS;
    eb_time_format(eb_time_now_ms(), now);
    snprintf(key, sizeof(key), "order:%s", id);
    argv[argc++] = "EVAL";
    argv[argc++] = apply_script;
    argv[argc++] = "1";
    argv[argc++] = key;
    argv[argc++] = now;
    snprintf(keep, sizeof(keep), "%lld", (long long)(retention_s > 0 ? retention_s : 0));
    argv[argc++] = keep;
    for (int s = 0; s < ORDER_STATE_COUNT; s++) {
        order_state_t to = order_status_next((order_state_t)s, ev);

        if (to == (order_state_t)s)
            continue;
        state_key((order_state_t)s, from[s], sizeof(from[s]));
        argv[argc++] = from[s];
        argv[argc++] = order_state_status(to);
        argv[argc++] = order_state_reason(to);
        argv[argc++] = order_state_terminal(to) ? "1" : "0";
    }
    eb_redis_pipeline_append_argv(p, argc, argv, NULL);
    ok = run(p, &rep) && rep.kind == EB_REDIS_INTEGER;
    if (ok)
        v = rep.integer;
    eb_redis_pipeline_destroy(p);
    if (!ok)
        return EB_ERR_REDIS;
    return v > 0 ? EB_OK : EB_ERR_NOT_FOUND;
}

/* A decision of order-service's own (cancel, complete): the status change
 * and its event's outbox entry in one script, taken only from the allowed
 * statuses. KEYS: the order, the outbox stream. ARGV: time, to status, to
 * reason, topic, key, value, eventId, traceparent, tracestate ("" for none), the
 * seconds to keep the record from now on ("0": no TTL; the caller passes the
 * retention when the new status is terminal), then the allowed
 * "status|reason" keys. Answers {2} done, {0} no such order, or {-1, status}
 * not allowed from status. */
static const char decide_script[] =
    "local cur = redis.call('HMGET', KEYS[1], 'status', 'reason') "
    "if not cur[1] then return {0} end "
    "local k = cur[1] .. '|' .. (cur[2] or '') "
    "for i = 11, #ARGV do "
    "  if ARGV[i] == k then "
    "    if ARGV[3] == '' then redis.call('HDEL', KEYS[1], 'reason') "
    "    else redis.call('HSET', KEYS[1], 'reason', ARGV[3]) end "
    "    redis.call('HSET', KEYS[1], 'status', ARGV[2], 'updatedAt', ARGV[1]) "
    "    if ARGV[10] ~= '0' then redis.call('EXPIRE', KEYS[1], ARGV[10]) end "
    "    local e = {'XADD', KEYS[2], '*', 'topic', ARGV[4], 'key', ARGV[5], 'value', ARGV[6], "
    "               'eventId', ARGV[7]} "
    "    if ARGV[8] ~= '' then "
    "      table.insert(e, 'traceparent') table.insert(e, ARGV[8]) "
    "      if ARGV[9] ~= '' then table.insert(e, 'tracestate') table.insert(e, ARGV[9]) end "
    "    end "
    "    redis.call(unpack(e)) "
    "    return {2} "
    "  end "
    "end "
    "return {-1, cur[1]}";

eb_err_t order_store_decide(eb_redis_t *r, const char *id, order_event_t ev,
                            const eb_outbox_entry_t *e, int64_t retention_s, char *current,
                            size_t current_size)
{
    char now[EB_TIME_LEN + 1], key[160], allowed[ORDER_STATE_COUNT][64], keep[24];
    const char *argv[15 + ORDER_STATE_COUNT];
    size_t len[15 + ORDER_STATE_COUNT];
    order_state_t to = order_status_next(ORDER_PENDING, ev);
    eb_redis_pipeline_t *p = eb_redis_pipeline_new(r);
    eb_redis_result_t rep, first;
    int argc = 0, ok;
    eb_err_t err = EB_ERR_REDIS;

    current[0] = '\0';
    if (!p)
        return EB_ERR_REDIS;
    eb_time_format(eb_time_now_ms(), now);
    snprintf(key, sizeof(key), "order:%s", id);
    argv[argc++] = "EVAL";
    argv[argc++] = decide_script;
    argv[argc++] = "2";
    argv[argc++] = key;
    argv[argc++] = ORDER_OUTBOX_STREAM;
    argv[argc++] = now;
    argv[argc++] = order_state_status(to);
    argv[argc++] = order_state_reason(to);
    argv[argc++] = e->topic;
    argv[argc++] = e->key;
    argv[argc++] = e->value; /* index 10: binary-safe below */
    argv[argc++] = e->event_id;
    argv[argc++] = e->traceparent ? e->traceparent : "";
    argv[argc++] = e->traceparent && e->tracestate ? e->tracestate : "";
    snprintf(keep, sizeof(keep), "%lld",
             (long long)(retention_s > 0 && order_state_terminal(to) ? retention_s : 0));
    argv[argc++] = keep;
    for (int s = 0; s < ORDER_STATE_COUNT; s++) {
        if (ev == ORDER_EV_CANCELLED ? !order_can_cancel((order_state_t)s)
                                     : !order_can_complete((order_state_t)s))
            continue;
        state_key((order_state_t)s, allowed[s], sizeof(allowed[s]));
        argv[argc++] = allowed[s];
    }
    for (int i = 0; i < argc; i++)
        len[i] = i == 10 ? e->value_len : strlen(argv[i]);
    eb_redis_pipeline_append_argv(p, argc, argv, len);
    ok = run(p, &rep) && rep.kind == EB_REDIS_ARRAY && rep.elements >= 1;
    if (ok) {
        first = eb_redis_result_element(&rep, 0);
        if (first.kind != EB_REDIS_INTEGER) {
            err = EB_ERR_REDIS;
        } else if (first.integer == 2) {
            err = EB_OK;
        } else if (first.integer == 0) {
            err = EB_ERR_NOT_FOUND;
        } else {
            eb_redis_result_t st = eb_redis_result_element(&rep, 1);

            snprintf(current, current_size, "%s", st.kind == EB_REDIS_STRING ? st.str : "");
            err = EB_ERR_CONFLICT;
        }
    }
    eb_redis_pipeline_destroy(p);
    return err;
}
