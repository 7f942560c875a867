/*
 * Stock and order outcomes in Redis.
 *
 * Design: every change is one EVAL, so the check and the change are one
 * atomic step and two deliveries (or two instances) can never both pass a
 * check. The events whose content only the script knows are written by the
 * script itself: InventoryInsufficient names the products found short with
 * the availability seen inside the script, and InventoryReleased lists what
 * the order holds. C prepares each as a complete derived envelope with an
 * empty item list, cut around it (inventory_event_t), and the script stores
 * head .. items .. tail in the same step as the decision. That is simpler
 * than the alternative, a second step storing an event C builds from what
 * the script returned: it needs no guard for a crash between the two steps,
 * and the stored bytes are the only bytes ever published, so a redelivery
 * (with the same or a new event id) republishes them unchanged.
 *
 * The item fragments the script writes ({"productId":<JSON string from
 * C>,"requested":N,"available":M}) are JSON svc_stock_parse() reads; the
 * counters are the integers Redis holds (HINCRBY keeps them integral and
 * exact; Lua never formats a number of stock, it passes Redis's strings
 * through).
 *
 * The release and ship scripts touch the product keys named in the order's
 * stored items, which they decode with cjson: keys not passed as KEYS, fine
 * for the suite's single Redis (not for Redis Cluster).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

/* KEYS[1] the order; KEYS[2..n+1] the products, merged.
 * ARGV[1] default stock; ARGV[2] InventoryReserved; ARGV[3] its items array;
 * ARGV[4], ARGV[5] InventoryInsufficient's head and tail; then per product
 * i (1..n): ARGV[4+2i] quantity, ARGV[5+2i] productId as a JSON string.
 * Returns {kind, "new"|"stored", event}. */
static const char reserve_script[] =
    "local st = redis.call('HMGET', KEYS[1], 'state', 'event') "
    "if st[1] then "
    "  if st[1] == 'cancelled' then return {'none', 'stored', ''} end "
    "  local kind = 'reserved' "
    "  if st[1] == 'insufficient' then kind = 'insufficient' end "
    "  return {kind, 'stored', st[2] or ''} "
    "end "
    "local n = #KEYS - 1 "
    "local short = {} "
    "for i = 1, n do "
    "  local a = redis.call('HGET', KEYS[i + 1], 'available') or ARGV[1] "
    "  local have = tonumber(a) "
    "  if not have then return redis.error_reply('ERR ' .. KEYS[i + 1] .. ' available is not "
    "a number') end "
    "  if have < tonumber(ARGV[4 + 2 * i]) then "
    "    short[#short + 1] = '{\"productId\":' .. ARGV[5 + 2 * i] .. ',\"requested\":' .. "
    "ARGV[4 + 2 * i] .. ',\"available\":' .. a .. '}' "
    "  end "
    "end "
    "if #short > 0 then "
    "  local ev = ARGV[4] .. '[' .. table.concat(short, ',') .. ']' .. ARGV[5] "
    "  redis.call('HSET', KEYS[1], 'state', 'insufficient', 'event', ev) "
    "  return {'insufficient', 'new', ev} "
    "end "
    "for i = 1, n do "
    "  redis.call('HSETNX', KEYS[i + 1], 'available', ARGV[1]) "
    "  redis.call('HINCRBY', KEYS[i + 1], 'available', '-' .. ARGV[4 + 2 * i]) "
    "  redis.call('HINCRBY', KEYS[i + 1], 'reserved', ARGV[4 + 2 * i]) "
    "end "
    "redis.call('HSET', KEYS[1], 'state', 'reserved', 'event', ARGV[2], 'items', ARGV[3]) "
    "return {'reserved', 'new', ARGV[2]}";

/* KEYS[1] the order. ARGV[1], ARGV[2] InventoryReleased's head and tail;
 * ARGV[3] the product key prefix. Returns {kind, "new"|"stored", event}. */
static const char release_script[] =
    "local st = redis.call('HMGET', KEYS[1], 'state', 'items', 'released') "
    "if not st[1] then "
    "  redis.call('HSET', KEYS[1], 'state', 'cancelled') "
    "  return {'none', 'new', ''} "
    "end "
    "if st[1] == 'released' then return {'released', 'stored', st[3] or ''} end "
    "if st[1] ~= 'reserved' then return {'none', 'stored', ''} end "
    "for _, it in ipairs(cjson.decode(st[2])) do "
    "  local k = ARGV[3] .. it.productId "
    "  redis.call('HINCRBY', k, 'available', it.quantity) "
    "  redis.call('HINCRBY', k, 'reserved', -it.quantity) "
    "end "
    "local ev = ARGV[1] .. st[2] .. ARGV[2] "
    "redis.call('HSET', KEYS[1], 'state', 'released', 'released', ev) "
    "return {'released', 'new', ev}";

/* KEYS[1] the order. ARGV[1] the product key prefix. 1 shipped, 0 not. */
static const char ship_script[] = "local st = redis.call('HMGET', KEYS[1], 'state', 'items') "
                                  "if st[1] ~= 'reserved' then return 0 end "
                                  "for _, it in ipairs(cjson.decode(st[2])) do "
                                  "  local k = ARGV[1] .. it.productId "
                                  "  redis.call('HINCRBY', k, 'reserved', -it.quantity) "
                                  "  redis.call('HINCRBY', k, 'shipped', it.quantity) "
                                  "end "
                                  "redis.call('HSET', KEYS[1], 'state', 'shipped') "
                                  "return 1";

/* KEYS[1] the product. ARGV[1] available. The stock after. */
static const char set_script[] =
    "redis.call('HSET', KEYS[1], 'available', ARGV[1]) "
    "return redis.call('HMGET', KEYS[1], 'available', 'reserved', 'shipped')";

void inventory_outcome_close(inventory_outcome_t *o)
{
    eb_redis_pipeline_destroy(o->held);
    memset(o, 0, sizeof(*o));
}

/* Runs the one command queued on p; EB_OK when it answered rep_kind. */
static eb_err_t run(eb_redis_pipeline_t *p, eb_redis_kind_t kind, eb_redis_result_t *rep)
{
    eb_redis_pipeline_exec(p);
    *rep = eb_redis_pipeline_result(p, 0);
    return rep->kind == kind ? EB_OK : EB_ERR_REDIS;
}

/* Reads a script's {kind, "new"|"stored", event} into out, which takes p. */
static eb_err_t take_outcome(eb_redis_pipeline_t *p, inventory_outcome_t *out)
{
    eb_redis_result_t rep, kind, how, ev;

    memset(out, 0, sizeof(*out));
    if (run(p, EB_REDIS_ARRAY, &rep) != EB_OK || rep.elements != 3) {
        eb_redis_pipeline_destroy(p);
        return EB_ERR_REDIS;
    }
    kind = eb_redis_result_element(&rep, 0);
    how = eb_redis_result_element(&rep, 1);
    ev = eb_redis_result_element(&rep, 2);
    out->kind = strcmp(kind.str, "reserved") == 0       ? INVENTORY_RESERVED
                : strcmp(kind.str, "insufficient") == 0 ? INVENTORY_INSUFFICIENT
                : strcmp(kind.str, "released") == 0     ? INVENTORY_RELEASED
                                                        : INVENTORY_NONE;
    out->stored_before = strcmp(how.str, "stored") == 0;
    out->event = ev.str;
    out->len = ev.len;
    if (out->len == 0)
        out->kind = INVENTORY_NONE; /* a decision without its event: publish nothing */
    out->held = p;
    return EB_OK;
}

eb_err_t inventory_store_reserve(eb_redis_t *r, int64_t dflt, const svc_stock_t *s,
                                 const inventory_event_t *reserved,
                                 const inventory_event_t *insufficient, inventory_outcome_t *out)
{
    /* EVAL script numkeys, the order and n products, 5 fixed ARGV, 2 per
     * product. */
    size_t n = s->item_count, argc = 3 + 1 + n + 5 + 2 * n, i, k = 0;
    const char **argv = calloc(argc, sizeof(*argv));
    size_t *lens = calloc(argc, sizeof(*lens));
    char **owned = calloc(3 * n + 4, sizeof(*owned)); /* what argv points to that we made */
    char numkeys[24], dflt_s[24];
    size_t no = 0;
    eb_redis_pipeline_t *p = NULL;
    eb_err_t err = EB_ERR_NOMEM;

    memset(out, 0, sizeof(*out));
    if (!argv || !lens || !owned)
        goto out;
#define ARG(ptr, len)                                                                              \
    do {                                                                                           \
        argv[k] = (ptr);                                                                           \
        lens[k++] = (len);                                                                         \
    } while (0)
#define OWN(expr)                                                                                  \
    do {                                                                                           \
        if (!(owned[no++] = (expr)))                                                               \
            goto out;                                                                              \
    } while (0)
    snprintf(numkeys, sizeof(numkeys), "%zu", n + 1);
    snprintf(dflt_s, sizeof(dflt_s), "%" PRId64, dflt);
    ARG("EVAL", 4);
    ARG(reserve_script, sizeof(reserve_script) - 1);
    ARG(numkeys, strlen(numkeys));
    OWN(malloc(sizeof(INVENTORY_KEY_ORDER) + strlen(s->order_id)));
    sprintf(owned[no - 1], INVENTORY_KEY_ORDER "%s", s->order_id);
    ARG(owned[no - 1], strlen(owned[no - 1]));
    for (i = 0; i < n; i++) {
        OWN(malloc(sizeof(INVENTORY_KEY_PRODUCT) + strlen(s->items[i].product_id)));
        sprintf(owned[no - 1], INVENTORY_KEY_PRODUCT "%s", s->items[i].product_id);
        ARG(owned[no - 1], strlen(owned[no - 1]));
    }
    ARG(dflt_s, strlen(dflt_s));
    ARG(reserved->json, reserved->len);
    OWN(inventory_items_json(s));
    ARG(owned[no - 1], strlen(owned[no - 1]));
    ARG(insufficient->json, insufficient->head_len);
    ARG(insufficient->tail, insufficient->tail_len);
    for (i = 0; i < n; i++) {
        OWN(malloc(24));
        snprintf(owned[no - 1], 24, "%" PRId64, s->items[i].quantity);
        ARG(owned[no - 1], strlen(owned[no - 1]));
        OWN(inventory_json_string(s->items[i].product_id));
        ARG(owned[no - 1], strlen(owned[no - 1]));
    }
#undef ARG
#undef OWN
    if (!(p = eb_redis_pipeline_new(r)) ||
        eb_redis_pipeline_append_argv(p, (int)argc, argv, lens) != EB_OK)
        goto out;
    err = take_outcome(p, out);
    p = NULL;
out:
    eb_redis_pipeline_destroy(p);
    for (i = 0; owned && i < no; i++)
        free(owned[i]); /* cJSON's strings come from malloc too (default hooks) */
    free(owned);
    free(lens);
    free(argv);
    return err;
}

eb_err_t inventory_store_release(eb_redis_t *r, const char *order_id,
                                 const inventory_event_t *released, inventory_outcome_t *out)
{
    eb_redis_pipeline_t *p = eb_redis_pipeline_new(r);

    memset(out, 0, sizeof(*out));
    if (!p)
        return EB_ERR_NOMEM;
    eb_redis_pipeline_append(p, "EVAL %s 1 " INVENTORY_KEY_ORDER "%s %b %b %s", release_script,
                             order_id, released->json, released->head_len, released->tail,
                             released->tail_len, INVENTORY_KEY_PRODUCT);
    return take_outcome(p, out);
}

eb_err_t inventory_store_ship(eb_redis_t *r, const char *order_id, int *changed)
{
    eb_redis_pipeline_t *p = eb_redis_pipeline_new(r);
    eb_redis_result_t rep;
    eb_err_t err;

    *changed = 0;
    if (!p)
        return EB_ERR_NOMEM;
    eb_redis_pipeline_append(p, "EVAL %s 1 " INVENTORY_KEY_ORDER "%s %s", ship_script, order_id,
                             INVENTORY_KEY_PRODUCT);
    err = run(p, EB_REDIS_INTEGER, &rep);
    if (!err)
        *changed = rep.integer == 1;
    eb_redis_pipeline_destroy(p);
    return err;
}

/* Fills out from an HMGET available reserved shipped reply. */
static eb_err_t take_stock(const eb_redis_result_t *rep, const char *product, int64_t dflt,
                           inventory_stock_t *out)
{
    if (rep->kind != EB_REDIS_ARRAY || rep->elements != 3)
        return EB_ERR_REDIS;
    out->product_id = product;
    out->available = inventory_counter(eb_redis_result_element(rep, 0).str, dflt);
    out->reserved = inventory_counter(eb_redis_result_element(rep, 1).str, 0);
    out->shipped = inventory_counter(eb_redis_result_element(rep, 2).str, 0);
    return out->available < 0 || out->reserved < 0 || out->shipped < 0 ? EB_ERR_REDIS : EB_OK;
}

eb_err_t inventory_store_set(eb_redis_t *r, const char *product, int64_t available, int64_t dflt,
                             inventory_stock_t *out)
{
    eb_redis_pipeline_t *p = eb_redis_pipeline_new(r);
    eb_redis_result_t rep;
    eb_err_t err;

    if (!p)
        return EB_ERR_NOMEM;
    eb_redis_pipeline_append(p, "EVAL %s 1 " INVENTORY_KEY_PRODUCT "%s %lld", set_script, product,
                             (long long)available);
    eb_redis_pipeline_exec(p);
    rep = eb_redis_pipeline_result(p, 0);
    err = take_stock(&rep, product, dflt, out);
    eb_redis_pipeline_destroy(p);
    return err;
}

eb_err_t inventory_store_get(eb_redis_t *r, const char *product, int64_t dflt,
                             inventory_stock_t *out)
{
    eb_redis_pipeline_t *p = eb_redis_pipeline_new(r);
    eb_redis_result_t rep;
    eb_err_t err;

    if (!p)
        return EB_ERR_NOMEM;
    eb_redis_pipeline_append(p, "HMGET " INVENTORY_KEY_PRODUCT "%s available reserved shipped",
                             product);
    eb_redis_pipeline_exec(p);
    rep = eb_redis_pipeline_result(p, 0);
    err = take_stock(&rep, product, dflt, out);
    eb_redis_pipeline_destroy(p);
    return err;
}
