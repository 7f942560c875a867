/*
 * Order HTTP API: the routes of order-service on the suite's JSON API
 * server (eventbus/api.h), which does the HTTP around them.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "eventbus/envelope.h"
#include "eventbus/log.h"
#include "order.h"
#include "store.h"

/* A POST /orders without Idempotency-Key waiting for the group commit. */
typedef struct pending_s {
    struct pending_s *next;
    eb_api_req_t *q;
    svc_order_t *req;
    order_record_t o;
    eb_trace_t trace;
    int stored;
    char refusal[200]; /* "" unless Redis refused the batch's writes */
} pending_t;

/* Group commit: the workers queue their orders and suspend the requests;
 * one committer thread writes everything queued in one pipeline on its own
 * Redis connection, resumes each request with its outcome, and meanwhile
 * the next batch gathers. A request with Idempotency-Key keeps the
 * synchronous path (its WATCH is per connection). */
typedef struct committer_s {
    pthread_mutex_t lock;
    pthread_cond_t work, idle;
    pending_t *head, **tail;
    int busy;    /* a batch is being written */
    int closing; /* no more queueing: the workers store synchronously */
    int stopping;
    int started;
    eb_redis_t *redis;
    pthread_t thread;
} committer_t;

struct order_api_s {
    order_api_opts_t o;
    eb_api_t *api;
    committer_t c;
};

static enum MHD_Result reply_order(eb_api_req_t *q, unsigned int status, const order_view_t *v)
{
    char location[96];
    size_t len;
    char *body = order_render(v, &len);
    enum MHD_Result ret;

    if (!body)
        return eb_api_error(q, MHD_HTTP_INTERNAL_SERVER_ERROR, "INTERNAL", "out of memory", NULL);
    snprintf(location, sizeof(location), "/orders/%s", v->order_id);
    ret = eb_api_reply(q, status, body, len, status == MHD_HTTP_CREATED ? location : NULL);
    free(body);
    return ret;
}

/* Idempotency-Key: 1..255 visible ASCII characters. */
static int valid_idem_key(const char *k)
{
    size_t n = strlen(k);

    if (n == 0 || n > 255)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (k[i] < 0x21 || k[i] > 0x7e)
            return 0;
    return 1;
}

/* ---- group commit ---------------------------------------------------------------- */

static void pending_free(void *arg)
{
    pending_t *p = arg;

    order_record_close(&p->o);
    free(p->req);
    free(p);
}

/* Writes one batch and resumes its requests. Committer thread. */
static void commit(committer_t *c, eb_redis_pipeline_t *pl, pending_t *batch)
{
    order_store_item_t stack[64], *items = stack;
    size_t n = 0, i = 0;
    uint64_t before = 0, after = 0;
    const char *refusal;

    for (pending_t *p = batch; p; p = p->next)
        n++;
    if (n > sizeof(stack) / sizeof(stack[0]) && !(items = malloc(n * sizeof(*items))))
        n = 0; /* out of memory: every order of the batch fails */
    for (pending_t *p = batch; p && i < n; p = p->next, i++)
        items[i] = (order_store_item_t){&p->o, p->req, &p->trace, 0};
    (void)eb_redis_refusal(c->redis, &before);
    if (pl && n)
        order_store_create_batch(pl, items, n);
    refusal = eb_redis_refusal(c->redis, &after);
    i = 0;
    for (pending_t *p = batch, *next; p; p = next, i++) {
        next = p->next; /* p belongs to its request once resumed */
        p->stored = i < n && items[i].stored;
        p->refusal[0] = '\0';
        if (!p->stored && refusal && after > before)
            snprintf(p->refusal, sizeof(p->refusal), "%s", refusal);
        eb_api_resume(p->q);
    }
    if (items != stack)
        free(items);
}

static void *committer_main(void *arg)
{
    committer_t *c = arg;
    eb_redis_pipeline_t *pl = eb_redis_pipeline_new(c->redis);

    pthread_mutex_lock(&c->lock);
    for (;;) {
        pending_t *batch;

        while (!c->head && !c->stopping)
            pthread_cond_wait(&c->work, &c->lock);
        if (!c->head)
            break;
        batch = c->head;
        c->head = NULL;
        c->tail = &c->head;
        c->busy = 1;
        pthread_mutex_unlock(&c->lock);
        commit(c, pl, batch);
        pthread_mutex_lock(&c->lock);
        c->busy = 0;
        if (!c->head)
            pthread_cond_broadcast(&c->idle);
    }
    pthread_mutex_unlock(&c->lock);
    eb_redis_pipeline_destroy(pl);
    return NULL;
}

/* Suspends p's request and queues p for the committer; 0 when the API is
 * closing (then nothing was done: store it now). Suspended before the
 * committer can see it, since it may resume it at once. */
static int committer_queue(committer_t *c, pending_t *p)
{
    int queued;

    pthread_mutex_lock(&c->lock);
    queued = c->started && !c->closing;
    if (queued) {
        eb_api_suspend(p->q, p, pending_free);
        p->next = NULL;
        *c->tail = p;
        c->tail = &p->next;
        pthread_cond_signal(&c->work);
    }
    pthread_mutex_unlock(&c->lock);
    return queued;
}

/* Stops the queueing and waits until every queued order was written and
 * its request resumed. */
static void committer_drain(committer_t *c)
{
    pthread_mutex_lock(&c->lock);
    c->closing = 1;
    while (c->head || c->busy)
        pthread_cond_wait(&c->idle, &c->lock);
    pthread_mutex_unlock(&c->lock);
}

static void committer_stop(committer_t *c)
{
    if (!c->started)
        return;
    committer_drain(c);
    pthread_mutex_lock(&c->lock);
    c->stopping = 1;
    pthread_cond_signal(&c->work);
    pthread_mutex_unlock(&c->lock);
    pthread_join(c->thread, NULL);
    c->started = 0;
}

/* ---- handlers ----------------------------------------------------------------- */

static enum MHD_Result send_order(eb_api_req_t *q, const char *id)
{
    order_view_t v;
    eb_redis_pipeline_t *held = NULL;
    eb_err_t err;
    enum MHD_Result ret;

    err = order_store_load(eb_api_redis(q), id, &v, &held);
    if (err == EB_ERR_NOT_FOUND)
        return eb_api_error(q, MHD_HTTP_NOT_FOUND, "NOT_FOUND", "no such order", NULL);
    if (err)
        return eb_api_unavailable(q);
    ret = reply_order(q, MHD_HTTP_OK, &v);
    eb_redis_pipeline_destroy(held);
    return ret;
}

static enum MHD_Result get_order(eb_api_req_t *q, void *opaque)
{
    (void)opaque;
    return send_order(q, eb_api_param(q));
}

/* The reply to an order the committer wrote: 201 with it, or 503 (refusal:
 * what Redis refused the write with, "" when it was unreachable). */
static enum MHD_Result reply_created(eb_api_req_t *q, int stored, const order_record_t *o,
                                     const svc_order_t *req, const char *refusal)
{
    order_view_t v;

    if (!stored)
        return eb_api_refused(q, refusal && refusal[0] ? refusal : NULL);
    order_record_view(o, req, &v);
    return reply_order(q, MHD_HTTP_CREATED, &v);
}

static enum MHD_Result post_order(eb_api_req_t *q, void *opaque)
{
    order_api_t *a = opaque;
    const char *ikey = eb_api_header(q, "Idempotency-Key");
    const char *body;
    size_t body_len;
    char existing[EB_UUID_LEN + 1];
    pending_t *p = eb_api_state(q);
    svc_order_t *req = NULL;
    svc_verr_t verr;
    order_store_outcome_t outcome;
    enum MHD_Result ret;
    eb_err_t err;

    if (p) /* resumed by the committer */
        return reply_created(q, p->stored, &p->o, p->req, p->refusal);
    if (ikey && !valid_idem_key(ikey))
        return eb_api_error(q, MHD_HTTP_BAD_REQUEST, "INVALID_FIELD",
                            "Idempotency-Key must be 1 to 255 visible ASCII characters",
                            "Idempotency-Key");
    p = calloc(1, sizeof(*p));
    req = malloc(sizeof(*req));
    if (!p || !req) {
        free(p);
        free(req);
        return eb_api_error(q, MHD_HTTP_INTERNAL_SERVER_ERROR, "INTERNAL", "out of memory", NULL);
    }
    p->req = req;
    body = eb_api_body(q, &body_len);
    if (order_parse_request(body, body_len, req, &verr) != EB_OK) {
        free(p);
        free(req);
        return eb_api_error(q, MHD_HTTP_BAD_REQUEST, verr.code, verr.message, verr.field);
    }

    /* This request's span: a child of the caller's, or a new trace. */
    eb_api_trace(q, &p->trace);

    if (order_record_init(req, &p->o) != EB_OK) {
        ret = eb_api_error(q, MHD_HTTP_INTERNAL_SERVER_ERROR, "INTERNAL", "out of memory", NULL);
        goto out;
    }
    p->q = q;
    if (!ikey && committer_queue(&a->c, p))
        return MHD_YES; /* answered when the committer resumes it */
    /* with Idempotency-Key, or closing: stored by this worker */
    err = order_store_create(eb_api_redis(q), &p->o, req, &p->trace, ikey, a->o.idem_ttl_s,
                             &outcome, existing);
    if (err) {
        ret = eb_api_unavailable(q);
    } else if (outcome == ORDER_STORE_CREATED) {
        ret = reply_created(q, 1, &p->o, req, "");
    } else if (outcome == ORDER_STORE_KEY_MISMATCH) {
        ret = eb_api_error(q, MHD_HTTP_UNPROCESSABLE_CONTENT, "IDEMPOTENCY_KEY_REUSED",
                           "this Idempotency-Key was used with a different request",
                           "Idempotency-Key");
    } else {
        ret = send_order(q, existing); /* the first order, 200 */
    }
out:
    pending_free(p);
    return ret;
}

/* POST /orders/<id>/cancel and PUT /orders/<id>/complete: the status
 * change and its event in the outbox, atomically, only from a status that
 * allows it (lifecycle.h); 409 INVALID_STATE otherwise. */
static enum MHD_Result change_order(eb_api_req_t *q, const order_api_t *a, int cancel)
{
    const char *id = eb_api_param(q);
    char event_id[EB_UUID_LEN + 1], current[64], msg[160];
    eb_trace_t trace;
    eb_redis_pipeline_t *held = NULL;
    order_view_t v;
    size_t len = 0;
    char *event = NULL;
    eb_err_t err;

    err = order_store_load(eb_api_redis(q), id, &v, &held);
    if (err == EB_ERR_NOT_FOUND)
        return eb_api_error(q, MHD_HTTP_NOT_FOUND, "NOT_FOUND", "no such order", NULL);
    if (err)
        return eb_api_unavailable(q);
    event = order_change_event(&v, cancel, event_id, &len);
    eb_redis_pipeline_destroy(held); /* v is not used after this */
    if (!event)
        return eb_api_error(q, MHD_HTTP_INTERNAL_SERVER_ERROR, "INTERNAL", "out of memory", NULL);
    eb_api_trace(q, &trace);

    const eb_outbox_entry_t e = {cancel ? TOPIC_ORDER_CANCELLED : TOPIC_ORDER_COMPLETED,
                                 id,
                                 event,
                                 len,
                                 event_id,
                                 trace.traceparent,
                                 trace.tracestate};

    err = order_store_decide(eb_api_redis(q), id, cancel ? ORDER_EV_CANCELLED : ORDER_EV_COMPLETED,
                             &e, a->o.retention_s, current, sizeof(current));
    free(event);
    switch (err) {
    case EB_OK:
        break;
    case EB_ERR_NOT_FOUND:
        return eb_api_error(q, MHD_HTTP_NOT_FOUND, "NOT_FOUND", "no such order", NULL);
    case EB_ERR_CONFLICT:
        snprintf(msg, sizeof(msg), "the order is %s; only %s orders can be %s", current,
                 cancel ? "PENDING, PAID or CONFIRMED" : "CONFIRMED",
                 cancel ? "cancelled" : "completed");
        return eb_api_error(q, MHD_HTTP_CONFLICT, "INVALID_STATE", msg, NULL);
    default:
        return eb_api_unavailable(q);
    }
    err = order_store_load(eb_api_redis(q), id, &v, &held);
    if (err)
        return eb_api_unavailable(q); /* done, but it cannot be shown */
    enum MHD_Result ret = reply_order(q, cancel ? MHD_HTTP_ACCEPTED : MHD_HTTP_OK, &v);

    eb_redis_pipeline_destroy(held);
    return ret;
}

static enum MHD_Result cancel_order(eb_api_req_t *q, void *opaque)
{
    return change_order(q, opaque, 1);
}

static enum MHD_Result complete_order(eb_api_req_t *q, void *opaque)
{
    return change_order(q, opaque, 0);
}

static const eb_api_route_t routes[] = {
    {MHD_HTTP_METHOD_POST, "/orders", post_order, 1},
    {MHD_HTTP_METHOD_GET, "/orders/{id}", get_order, 0},
    {MHD_HTTP_METHOD_POST, "/orders/{id}/cancel", cancel_order, 0},
    {MHD_HTTP_METHOD_PUT, "/orders/{id}/complete", complete_order, 0},
};

order_api_t *order_api_new(const order_api_opts_t *opts, char *errstr, size_t errstr_size)
{
    order_api_t *a = calloc(1, sizeof(*a));
    eb_api_opts_t ao = {
        .bind_address = opts->bind_address,
        .port = opts->port,
        .limits = opts->limits,
        .max_body = opts->max_body,
        .routes = routes,
        .route_count = sizeof(routes) / sizeof(routes[0]),
        .redis = opts->redis,
        .unavailable = "the order store (Redis) is unreachable; retry later",
        .admin = opts->admin,
        .opaque = a,
        .suspendable = 1,
    };

    if (a) {
        a->o = *opts;
        a->c.tail = &a->c.head;
        pthread_mutex_init(&a->c.lock, NULL);
        pthread_cond_init(&a->c.work, NULL);
        pthread_cond_init(&a->c.idle, NULL);
        a->c.redis = eb_redis_new(opts->redis);
    }
    if (!a || !a->c.redis || !(a->api = eb_api_new(&ao))) {
        order_api_destroy(a);
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    return a;
}

eb_err_t order_api_start(order_api_t *a, char *errstr, size_t errstr_size)
{
    eb_err_t err;

    if (pthread_create(&a->c.thread, NULL, committer_main, &a->c) != 0) {
        snprintf(errstr, errstr_size, "cannot start the group commit's thread");
        return EB_ERR_IO;
    }
    a->c.started = 1;
    err = eb_api_start(a->api, errstr, errstr_size);
    if (err)
        committer_stop(&a->c);
    return err;
}

int order_api_port(const order_api_t *a)
{
    return eb_api_port(a->api);
}

eb_api_t *order_api_server(order_api_t *a)
{
    return a->api;
}

void order_api_stop(order_api_t *a)
{
    if (!a)
        return;
    /* Every queued order written and its request resumed before the
     * workers stop; orders arriving meanwhile are stored by their worker. */
    committer_drain(&a->c);
    eb_api_stop(a->api);
    committer_stop(&a->c);
}

void order_api_destroy(order_api_t *a)
{
    if (!a)
        return;
    order_api_stop(a);
    eb_api_destroy(a->api);
    eb_redis_destroy(a->c.redis);
    pthread_cond_destroy(&a->c.idle);
    pthread_cond_destroy(&a->c.work);
    pthread_mutex_destroy(&a->c.lock);
    free(a);
}
