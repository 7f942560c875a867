/*
 * Users in Redis: create and update (each with its outbox entry), load.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eventbus/outbox.h"
#include "store.h"

static void age_text(const svc_user_t *u, char out[24])
{
    if (u->age >= 0)
        snprintf(out, 24, "%lld", (long long)u->age);
    else
        out[0] = '\0';
}

eb_err_t user_store_create(eb_redis_t *r, const user_record_t *o, const eb_trace_t *trace)
{
    eb_redis_pipeline_t *p = eb_redis_pipeline_new(r);
    eb_redis_result_t exec;
    char key[32 + SVC_ID_MAX], age[24];
    const char *hset[] = {"HSET",        key,   "name", o->user.name, "email",
                          o->user.email, "age", age,    "createdAt",  o->user.created_at};
    const eb_outbox_entry_t e = {o->topic,    o->user.user_id,    o->event,         o->event_len,
                                 o->event_id, trace->traceparent, trace->tracestate};
    eb_err_t err = EB_ERR_REDIS;

    if (!p)
        return EB_ERR_REDIS;
    snprintf(key, sizeof(key), "user:%s", o->user.user_id);
    age_text(&o->user, age);
    eb_redis_pipeline_append(p, "MULTI");
    eb_redis_pipeline_append_argv(p, sizeof(hset) / sizeof(hset[0]), hset, NULL);
    eb_outbox_append(p, USER_OUTBOX_STREAM, &e);
    eb_redis_pipeline_append(p, "EXEC");
    if (eb_redis_pipeline_exec(p) == EB_OK) {
        exec = eb_redis_pipeline_result(p, eb_redis_pipeline_count(p) - 1);
        if (exec.kind == EB_REDIS_ARRAY && exec.elements == 2) {
            err = EB_OK;
            for (size_t i = 0; i < exec.elements; i++)
                if (eb_redis_result_element(&exec, i).kind == EB_REDIS_ERROR)
                    err = EB_ERR_REDIS;
        }
    }
    eb_redis_pipeline_destroy(p);
    return err;
}

eb_err_t user_store_created_at(eb_redis_t *r, const char *id, char out[40])
{
    eb_redis_pipeline_t *p = eb_redis_pipeline_new(r);
    eb_redis_result_t res;
    eb_err_t err = EB_ERR_REDIS;

    if (!p)
        return EB_ERR_REDIS;
    eb_redis_pipeline_append(p, "HGET user:%s createdAt", id);
    if (eb_redis_pipeline_exec(p) == EB_OK) {
        res = eb_redis_pipeline_result(p, 0);
        if (res.kind == EB_REDIS_NIL) {
            err = EB_ERR_NOT_FOUND;
        } else if (res.kind == EB_REDIS_STRING && res.len > 0 && res.len < 40) {
            memcpy(out, res.str, res.len + 1);
            err = EB_OK;
        } else if (res.kind == EB_REDIS_STRING) {
            err = EB_ERR_NOT_FOUND; /* not a user we wrote */
        }
    }
    eb_redis_pipeline_destroy(p);
    return err;
}

/* The update, atomically: 1 written, 0 no such user, -1 another createdAt.
 * The XADD goes first: should it fail (the stream key of another type),
 * nothing is written; the HSET cannot fail once HGET read the hash. The
 * entry's fields are eb_outbox_append()'s. */
static const char update_script[] =
    "local cur = redis.call('HGET', KEYS[1], 'createdAt') "
    "if not cur then return 0 end "
    "if cur ~= ARGV[1] then return -1 end "
    "local e = {'XADD', KEYS[2], '*', 'topic', ARGV[6], 'key', ARGV[7], 'value', ARGV[8], "
    "'eventId', ARGV[9]} "
    "if ARGV[10] ~= '' then "
    "table.insert(e, 'traceparent') table.insert(e, ARGV[10]) "
    "if ARGV[11] ~= '' then table.insert(e, 'tracestate') table.insert(e, ARGV[11]) end "
    "end "
    "redis.call(unpack(e)) "
    "redis.call('HSET', KEYS[1], 'name', ARGV[2], 'email', ARGV[3], 'age', ARGV[4], "
    "'updatedAt', ARGV[5]) "
    "return 1";

eb_err_t user_store_update(eb_redis_t *r, const user_record_t *o, const eb_trace_t *trace)
{
    eb_redis_pipeline_t *p = eb_redis_pipeline_new(r);
    eb_redis_result_t rep;
    char key[32 + SVC_ID_MAX], age[24];
    const char *argv[] = {"EVAL",
                          update_script,
                          "2",
                          key,
                          USER_OUTBOX_STREAM,
                          o->user.created_at,
                          o->user.name,
                          o->user.email,
                          age,
                          o->updated_at,
                          o->topic,
                          o->user.user_id,
                          o->event,
                          o->event_id,
                          trace->traceparent,
                          trace->tracestate};
    size_t len[sizeof(argv) / sizeof(argv[0])];
    const int argc = (int)(sizeof(argv) / sizeof(argv[0]));
    eb_err_t err = EB_ERR_REDIS;

    if (!p)
        return EB_ERR_REDIS;
    snprintf(key, sizeof(key), "user:%s", o->user.user_id);
    age_text(&o->user, age);
    for (int i = 0; i < argc; i++)
        len[i] = argv[i] == o->event ? o->event_len : strlen(argv[i]); /* binary-safe */
    eb_redis_pipeline_append_argv(p, argc, argv, len);
    if (eb_redis_pipeline_exec(p) == EB_OK) {
        rep = eb_redis_pipeline_result(p, 0);
        if (rep.kind == EB_REDIS_INTEGER)
            err = rep.integer > 0 ? EB_OK : rep.integer == 0 ? EB_ERR_NOT_FOUND : EB_ERR_CONFLICT;
    }
    eb_redis_pipeline_destroy(p);
    return err;
}

/* Copies a field of at most size - 1 bytes; 0 when it does not fit. */
static int copy(char *dst, size_t size, const eb_redis_result_t *v)
{
    if (v->kind != EB_REDIS_STRING || v->len >= size)
        return 0;
    memcpy(dst, v->str, v->len + 1);
    return 1;
}

eb_err_t user_store_load(eb_redis_t *r, const char *id, svc_user_t *u,
                         char updated_at[EB_TIME_LEN + 1])
{
    eb_redis_pipeline_t *p = eb_redis_pipeline_new(r);
    eb_redis_result_t res;
    int have = 0, ok = 1;
    char age[24] = "";

    memset(u, 0, sizeof(*u));
    u->age = -1;
    updated_at[0] = '\0';
    if (!p)
        return EB_ERR_REDIS;
    eb_redis_pipeline_append(p, "HGETALL user:%s", id);
    eb_redis_pipeline_exec(p);
    res = eb_redis_pipeline_result(p, 0);
    if (res.kind != EB_REDIS_ARRAY) {
        eb_redis_pipeline_destroy(p);
        return EB_ERR_REDIS;
    }
    for (size_t i = 0; ok && i + 1 < res.elements; i += 2) {
        eb_redis_result_t k = eb_redis_result_element(&res, i);
        eb_redis_result_t v = eb_redis_result_element(&res, i + 1);

        if (strcmp(k.str, "name") == 0) {
            ok = copy(u->name, sizeof(u->name), &v);
            have |= 1;
        } else if (strcmp(k.str, "email") == 0) {
            ok = copy(u->email, sizeof(u->email), &v);
            have |= 2;
        } else if (strcmp(k.str, "age") == 0) {
            ok = copy(age, sizeof(age), &v);
            have |= 4;
        } else if (strcmp(k.str, "createdAt") == 0) {
            ok = copy(u->created_at, sizeof(u->created_at), &v);
            have |= 8;
        } else if (strcmp(k.str, "updatedAt") == 0)
            ok = copy(updated_at, EB_TIME_LEN + 1, &v);
    }
    eb_redis_pipeline_destroy(p);
    if (age[0]) {
        char *end;

        errno = 0;
        u->age = strtoll(age, &end, 10);
        if (errno || *end || u->age < 0 || u->age > SVC_AGE_MAX)
            ok = 0;
    }
    if (!ok || have != 15 || strlen(id) > SVC_ID_MAX)
        return EB_ERR_NOT_FOUND; /* none, or not a user we wrote */
    memcpy(u->user_id, id, strlen(id) + 1);
    return EB_OK;
}
