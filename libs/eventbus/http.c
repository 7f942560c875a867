/*
 * libmicrohttpd glue: the listener and its connection guard, JSON replies,
 * request metrics.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "eb_int.h"
#include "eventbus/envelope.h"
#include "eventbus/http.h"
#include "eventbus/log.h"
#include "eventbus/metrics.h"
#include "http_int.h"

/* http_requests_total{route,code}, http_request_duration_seconds{route} and
 * http_connections_closed_total{reason}, registered once for every server. */
static pthread_once_t http_metrics_once = PTHREAD_ONCE_INIT;
static eb_metric_t *http_requests, *http_duration;

/* ---- the connection guard (see http_int.h) ---------------------------------------------- */

#define GUARD_TICK_MS 100 /* how often deadlines are checked: the precision of every timeout */
#define STALL_MS      300 /* quiet this long, a connection may close for a waiting newcomer */

struct eb_http_server_s {
    struct MHD_Daemon *daemon;
    eb_http_limits_t lim;
    eb_http_deadlines_t dl;
    MHD_AccessHandlerCallback handler;
    void *handler_cls;
    MHD_RequestCompletedCallback completed;
    void *completed_cls;

    pthread_mutex_t lock; /* the table, live, and every change to EB_HTTP_CLOSING */
    eb_http_conn_t **conns;
    size_t n, cap; /* cap: max_connections, and room for those closing */
    size_t live;   /* open and not closing */
    int listen_fd; /* its accept queue: the newcomers waiting for a slot */
    eb_http_addr_slot_t *slots;
    size_t nslots;

    pthread_t guard;
    pthread_cond_t wake;
    int stopping;

    char canned[EB_HTTP_CLOSE_COUNT][512]; /* the replies the guard sends itself */
    size_t canned_len[EB_HTTP_CLOSE_COUNT];
    int port;
};

static eb_series_t *http_closed[EB_HTTP_CLOSE_COUNT];

enum eb_http_close eb__http_expired(int phase, int64_t since_us, const eb_http_deadlines_t *d,
                                    int64_t now_us)
{
    int64_t age = now_us - since_us;

    switch (phase) {
    case EB_HTTP_IDLE:
        return age >= d->idle_us ? EB_HTTP_IDLE_TIMEOUT : EB_HTTP_KEEP;
    case EB_HTTP_HEADERS:
        if (age >= d->header_us && d->header_us <= d->request_us)
            return EB_HTTP_HEADER_TIMEOUT;
        return age >= d->request_us ? EB_HTTP_REQUEST_TIMEOUT : EB_HTTP_KEEP;
    case EB_HTTP_BODY:
        return age >= d->request_us ? EB_HTTP_REQUEST_TIMEOUT : EB_HTTP_KEEP;
    default:
        return EB_HTTP_KEEP;
    }
}

static eb_http_addr_slot_t *addr_slot(eb_http_addr_slot_t *slots, size_t mask, uint32_t addr)
{
    uint32_t h = addr;
    size_t i;

    h ^= h >> 16;
    h *= 0x45d9f3bu;
    h ^= h >> 16;
    for (i = h & mask; slots[i].used && slots[i].addr != addr; i = (i + 1) & mask)
        ;
    if (!slots[i].used)
        slots[i] = (eb_http_addr_slot_t){addr, 0, SIZE_MAX, 1};
    return &slots[i];
}

static int64_t since_of(const eb_http_conn_t *c)
{
    return atomic_load_explicit(&c->since_us, memory_order_relaxed);
}

size_t eb__http_pick_victim(eb_http_conn_t *const *conns, size_t n, eb_http_addr_slot_t *slots,
                            size_t nslots)
{
    const eb_http_addr_slot_t *best = NULL;
    size_t used = 1, mask;

    while (used <= 2 * n && used < nslots)
        used <<= 1;
    mask = used - 1;
    memset(slots, 0, used * sizeof(*slots));
    for (size_t i = 0; i < n; i++) {
        int phase = atomic_load_explicit(&conns[i]->phase, memory_order_acquire);
        eb_http_addr_slot_t *a;

        if (phase == EB_HTTP_CLOSING)
            continue;
        a = addr_slot(slots, mask, conns[i]->addr);
        a->count++;
        if (conns[i]->stalled && phase != EB_HTTP_HANDLING &&
            (a->oldest == SIZE_MAX || since_of(conns[i]) < since_of(conns[a->oldest])))
            a->oldest = i;
    }
    for (size_t i = 0; i < used; i++) {
        const eb_http_addr_slot_t *a = &slots[i];

        if (!a->used || a->oldest == SIZE_MAX)
            continue;
        if (!best || a->count > best->count ||
            (a->count == best->count && since_of(conns[a->oldest]) < since_of(conns[best->oldest])))
            best = a;
    }
    return best ? best->oldest : n;
}

size_t eb__http_canned(char *buf, size_t size, unsigned int status, const char *reason,
                       const char *code, const char *message)
{
    cJSON *root = cJSON_CreateObject(), *err = cJSON_AddObjectToObject(root, "error");
    char *body;
    int n;

    cJSON_AddStringToObject(err, "code", code);
    cJSON_AddStringToObject(err, "message", message);
    body = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!body)
        return 0;
    n = snprintf(buf, size,
                 "HTTP/1.1 %u %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                 "Connection: close\r\n\r\n%s",
                 status, reason, strlen(body), body);
    cJSON_free(body);
    return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

/* Counts the close (before the client can see it), sends the canned
 * reply for reason when reply is set, and shuts both directions, so that
 * the connection's worker sees the end of the stream and libmicrohttpd
 * closes and forgets it. Lock held: the descriptor stays open while c is
 * in the table (its CLOSED notification, which removes it, comes before
 * the close). */
static void shut_with(const eb_http_server_t *s, const eb_http_conn_t *c, enum eb_http_close reason,
                      int reply)
{
    eb_series_add(http_closed[reason], 1);
    if (reply && s->canned_len[reason])
        (void)send(c->fd, s->canned[reason], s->canned_len[reason], MSG_DONTWAIT | MSG_NOSIGNAL);
    shutdown(c->fd, SHUT_RDWR);
}

/* Closes c for reason, if it is not being answered; a connection idle
 * between requests closes without a reply. Lock held. */
static int guard_close(eb_http_server_t *s, eb_http_conn_t *c, enum eb_http_close reason)
{
    int phase = atomic_load_explicit(&c->phase, memory_order_acquire);

    if (phase == EB_HTTP_CLOSING || phase == EB_HTTP_HANDLING ||
        !atomic_compare_exchange_strong(&c->phase, &phase, EB_HTTP_CLOSING))
        return 0;
    shut_with(s, c, reason, phase != EB_HTTP_IDLE);
    s->live--;
    return 1;
}

/* How many connections wait in the kernel's accept queue: libmicrohttpd
 * accepts no more than max_connections, so these are the newcomers a full
 * table keeps out. (TCP_INFO on a listening socket reports the queue's
 * length in tcpi_unacked.) */
static unsigned int accept_queue(int listen_fd)
{
    struct tcp_info ti;
    socklen_t len = sizeof(ti);

    if (listen_fd < 0 || getsockopt(listen_fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
        return 0;
    return ti.tcpi_unacked;
}

unsigned int eb__http_room_to_make(unsigned int waiting, size_t live, size_t closing,
                                   unsigned int max_connections)
{
    if (!waiting || live + closing + max_connections / 16 < max_connections)
        return 0;
    return waiting > closing ? waiting - (unsigned int)closing : 0;
}

/* Bytes received and not yet read by libmicrohttpd: a request the workers
 * have yet to read is the server's backlog, not a slow client. */
static int unread_bytes(int fd)
{
    int unread = 0;

    return ioctl(fd, FIONREAD, &unread) == 0 ? unread : 0;
}

/* Whether c's client has gone quiet: nothing unread, and no byte received
 * for STALL_MS (a client sending at a round trip's pace is not stalled). */
static int quiet(const eb_http_conn_t *c)
{
    struct tcp_info ti;
    socklen_t len = sizeof(ti);

    return unread_bytes(c->fd) == 0 && getsockopt(c->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 &&
           ti.tcpi_last_data_recv >= STALL_MS;
}

/* Newcomers wait in the accept queue and the table is full: close as many
 * stalled connections (idle, or with an unfinished request, and quiet) as
 * wait, less those already closing, which free their slot once their
 * worker notices. Guard thread, lock held. */
static void guard_make_room(eb_http_server_t *s)
{
    unsigned int room = eb__http_room_to_make(accept_queue(s->listen_fd), s->live, s->n - s->live,
                                              s->lim.max_connections);
    size_t stalled = 0;

    if (!room)
        return;
    for (size_t i = 0; i < s->n; i++) {
        eb_http_conn_t *c = s->conns[i];
        int phase = atomic_load_explicit(&c->phase, memory_order_acquire);

        c->stalled = (phase == EB_HTTP_IDLE || phase == EB_HTTP_HEADERS || phase == EB_HTTP_BODY) &&
                     quiet(c);
        stalled += c->stalled;
    }
    for (unsigned int k = 0; k < room && stalled; k++) {
        size_t v = eb__http_pick_victim(s->conns, s->n, s->slots, s->nslots);

        if (v == s->n)
            break;
        s->conns[v]->stalled = 0;
        stalled--;
        guard_close(s, s->conns[v], EB_HTTP_EVICTED);
    }
}

static void *guard_main(void *arg)
{
    eb_http_server_t *s = arg;
    struct timespec ts;

    pthread_mutex_lock(&s->lock);
    while (!s->stopping) {
        int64_t now;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += GUARD_TICK_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&s->wake, &s->lock, &ts);
        now = eb_time_mono_us();
        for (size_t i = 0; i < s->n; i++) {
            eb_http_conn_t *c = s->conns[i];
            int phase = atomic_load_explicit(&c->phase, memory_order_acquire);
            enum eb_http_close why = eb__http_expired(phase, since_of(c), &s->dl, now);

            /* past its deadline, unless what is late is the workers' reading */
            if (why != EB_HTTP_KEEP && unread_bytes(c->fd) == 0)
                guard_close(s, c, why);
        }
        guard_make_room(s);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

static size_t count_addr(const eb_http_server_t *s, uint32_t addr)
{
    size_t k = 0;

    for (size_t i = 0; i < s->n; i++)
        k += s->conns[i]->addr == addr &&
             atomic_load_explicit(&s->conns[i]->phase, memory_order_relaxed) != EB_HTTP_CLOSING;
    return k;
}

/* A new connection (its worker thread): admitted, or answered and shut. */
static void guard_admit(eb_http_server_t *s, struct MHD_Connection *conn, void **socket_context)
{
    const union MHD_ConnectionInfo *fdi =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    const union MHD_ConnectionInfo *ai =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    eb_http_conn_t *c = calloc(1, sizeof(*c));
    enum eb_http_close why = EB_HTTP_KEEP;

    if (!fdi)
        return;
    if (!c) { /* cannot follow it: do not serve it */
        shutdown(fdi->connect_fd, SHUT_RDWR);
        return;
    }
    c->fd = fdi->connect_fd;
    if (ai && ai->client_addr && ai->client_addr->sa_family == AF_INET)
        c->addr = ((const struct sockaddr_in *)(const void *)ai->client_addr)->sin_addr.s_addr;
    atomic_init(&c->phase, EB_HTTP_HEADERS);
    atomic_init(&c->since_us, eb_time_mono_us());

    pthread_mutex_lock(&s->lock);
    if (s->lim.max_per_ip && count_addr(s, c->addr) >= s->lim.max_per_ip) {
        why = EB_HTTP_PER_IP;
    } else if (s->live >= s->lim.max_connections || s->n == s->cap) {
        /* libmicrohttpd accepts no more than max_connections and counts a
         * closing connection until it is gone: not reached, but refused in
         * JSON if it ever is */
        why = EB_HTTP_REFUSED;
    }
    if (s->n < s->cap) {
        c->slot = s->n;
        s->conns[s->n++] = c;
        *socket_context = c;
        if (why == EB_HTTP_KEEP) {
            s->live++;
        } else {
            atomic_store(&c->phase, EB_HTTP_CLOSING);
            shut_with(s, c, why, 1);
        }
        c = NULL;
    }
    pthread_mutex_unlock(&s->lock);
    if (c) { /* the table is libmicrohttpd's limit: not reached, but never overrun */
        shutdown(c->fd, SHUT_RDWR);
        free(c);
    }
}

static void guard_forget(eb_http_server_t *s, eb_http_conn_t *c)
{
    pthread_mutex_lock(&s->lock);
    s->conns[c->slot] = s->conns[--s->n];
    s->conns[c->slot]->slot = c->slot;
    if (atomic_load(&c->phase) != EB_HTTP_CLOSING)
        s->live--;
    pthread_mutex_unlock(&s->lock);
    free(c);
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        *socket_context = NULL;
        guard_admit(cls, conn, socket_context);
    } else if (*socket_context) {
        guard_forget(cls, *socket_context);
        *socket_context = NULL;
    }
}

static eb_http_conn_t *conn_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *i =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

    return i ? i->socket_context : NULL;
}

/* The request line has arrived: a kept-alive connection starts a request
 * (a new connection's clock runs from its opening). */
static void *on_request_line(void *cls, const char *uri, struct MHD_Connection *conn)
{
    eb_http_conn_t *c = conn_of(conn);
    int idle = EB_HTTP_IDLE;

    (void)cls;
    (void)uri;
    if (c && atomic_load(&c->phase) == EB_HTTP_IDLE) {
        atomic_store(&c->since_us, eb_time_mono_us());
        atomic_compare_exchange_strong(&c->phase, &idle, EB_HTTP_HEADERS);
    }
    return NULL; /* the handler's con_cls starts NULL */
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    eb_http_server_t *s = cls;
    eb_http_conn_t *c = conn_of(conn);
    enum MHD_Result ret;
    int phase, more;

    if (!c)
        return MHD_NO;
    /* The handler's calls run as HANDLING, so that the guard never writes
     * its 408 over a reply the handler queues; between the body's chunks
     * the request is back in BODY, under its deadline. */
    phase = atomic_load(&c->phase);
    if (phase == EB_HTTP_CLOSING)
        return MHD_NO;
    more = phase == EB_HTTP_HEADERS || (phase == EB_HTTP_BODY && *upload_data_size != 0);
    if ((phase == EB_HTTP_HEADERS || phase == EB_HTTP_BODY) &&
        !atomic_compare_exchange_strong(&c->phase, &phase, EB_HTTP_HANDLING))
        return MHD_NO; /* the guard closed it meanwhile */
    ret = s->handler(s->handler_cls, conn, url, method, version, upload_data, upload_data_size,
                     con_cls);
    if (more) {
        /* more to read, unless the handler answered already */
        const union MHD_ConnectionInfo *st =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_HTTP_STATUS);

        if (!st || !st->http_status)
            atomic_store(&c->phase, EB_HTTP_BODY);
    }
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    eb_http_server_t *s = cls;
    eb_http_conn_t *c = conn_of(conn);
    int phase;

    if (s->completed)
        s->completed(s->completed_cls, conn, con_cls, toe);
    if (!c)
        return;
    phase = atomic_load(&c->phase);
    if (phase != EB_HTTP_CLOSING) {
        atomic_store(&c->since_us, eb_time_mono_us());
        atomic_compare_exchange_strong(&c->phase, &phase, EB_HTTP_IDLE);
    }
}

/* Builds the replies the guard sends itself, once per server: 408 for the
 * deadlines and for a stalled connection closed to make room, 503 and 429
 * for the admissions refused. The idle close sends nothing. */
static void guard_canned(eb_http_server_t *s)
{
    static const struct canned_status {
        unsigned int status;
        const char *reason, *code;
    } timeout = {408, "Request Timeout", "REQUEST_TIMEOUT"},
      refused = {503, "Service Unavailable", "SERVICE_UNAVAILABLE"},
      per_ip = {429, "Too Many Requests", "TOO_MANY_REQUESTS"};
    const eb_http_limits_t *l = &s->lim;
    char m[EB_HTTP_CLOSE_COUNT][200];

    snprintf(m[EB_HTTP_HEADER_TIMEOUT], sizeof(m[0]),
             "the request headers did not arrive within %u s (HTTP_HEADER_TIMEOUT_S)",
             l->header_timeout_s);
    snprintf(m[EB_HTTP_REQUEST_TIMEOUT], sizeof(m[0]),
             "the request did not arrive whole within %u s (HTTP_REQUEST_TIMEOUT_S)",
             l->request_timeout_s);
    snprintf(m[EB_HTTP_EVICTED], sizeof(m[0]),
             "closed to make room for waiting clients: %u connections open "
             "(HTTP_MAX_CONNECTIONS) and this unfinished request had stalled",
             l->max_connections);
    snprintf(m[EB_HTTP_REFUSED], sizeof(m[0]),
             "%u connections open (HTTP_MAX_CONNECTIONS), every one being answered; retry later",
             l->max_connections);
    snprintf(m[EB_HTTP_PER_IP], sizeof(m[0]),
             "this client address holds %u connections (HTTP_MAX_CONNECTIONS_PER_IP)",
             l->max_per_ip);
    for (int r = EB_HTTP_HEADER_TIMEOUT; r < EB_HTTP_CLOSE_COUNT; r++) {
        const struct canned_status *st = r == EB_HTTP_REFUSED  ? &refused
                                         : r == EB_HTTP_PER_IP ? &per_ip
                                                               : &timeout;

        if (r != EB_HTTP_IDLE_TIMEOUT)
            s->canned_len[r] = eb__http_canned(s->canned[r], sizeof(s->canned[r]), st->status,
                                               st->reason, st->code, m[r]);
    }
}

eb_http_limits_t eb_http_limits_from_conf(const eb_common_conf_t *c)
{
    return (eb_http_limits_t){
        .threads = (unsigned int)c->http_threads,
        .max_connections = (unsigned int)c->http_max_connections,
        .max_per_ip = (unsigned int)c->http_per_ip,
        .idle_timeout_s = (unsigned int)c->http_timeout_s,
        .header_timeout_s = (unsigned int)c->http_header_timeout_s,
        .request_timeout_s = (unsigned int)c->http_request_timeout_s,
        .use_poll = c->http_event_loop && strcmp(c->http_event_loop, "poll") == 0,
    };
}

static void server_free(eb_http_server_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->conns[i]);
    free(s->conns);
    free(s->slots);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

eb_err_t eb_http_listen(const eb_http_listen_opts_t *opts, eb_http_server_t **server, char *errstr,
                        size_t errstr_size)
{
    struct sockaddr_in sa;
    struct MHD_OptionItem ops[10];
    pthread_condattr_t ca;
    eb_http_server_t *s;
    size_t n = 0;
    unsigned int backstop_s;

    *server = NULL;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)opts->port);
    if (inet_pton(AF_INET, opts->bind_addr, &sa.sin_addr) != 1)
        return eb__seterr(errstr, errstr_size, EB_ERR_INVALID, "bad bind address '%s'",
                          opts->bind_addr);
    if (opts->limits.max_connections == 0 || opts->limits.idle_timeout_s == 0)
        return eb__seterr(errstr, errstr_size, EB_ERR_INVALID,
                          "max_connections and idle_timeout_s must be positive");
    s = calloc(1, sizeof(*s));
    if (!s)
        return eb__seterr(errstr, errstr_size, EB_ERR_NOMEM, "out of memory");
    s->lim = opts->limits;
    if (!s->lim.header_timeout_s)
        s->lim.header_timeout_s = 10;
    if (!s->lim.request_timeout_s)
        s->lim.request_timeout_s = 30;
    s->dl = (eb_http_deadlines_t){(int64_t)s->lim.header_timeout_s * 1000000,
                                  (int64_t)s->lim.request_timeout_s * 1000000,
                                  (int64_t)s->lim.idle_timeout_s * 1000000};
    backstop_s = s->lim.idle_timeout_s;
    if (backstop_s < s->lim.header_timeout_s)
        backstop_s = s->lim.header_timeout_s;
    if (backstop_s < s->lim.request_timeout_s)
        backstop_s = s->lim.request_timeout_s;
    backstop_s++;
    s->handler = opts->handler;
    s->handler_cls = opts->handler_cls;
    s->completed = opts->completed;
    s->completed_cls = opts->completed_cls;
    /* libmicrohttpd enforces max_connections (past it newcomers wait in the
     * kernel's accept queue); the table has room to spare. */
    s->cap = (size_t)s->lim.max_connections + 4 * (size_t)(s->lim.threads + 1);
    for (s->nslots = 1; s->nslots < 2 * (s->cap + 1); s->nslots <<= 1)
        ;
    s->conns = calloc(s->cap, sizeof(*s->conns));
    s->slots = calloc(s->nslots, sizeof(*s->slots));
    pthread_mutex_init(&s->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->wake, &ca);
    pthread_condattr_destroy(&ca);
    if (!s->conns || !s->slots) {
        server_free(s);
        return eb__seterr(errstr, errstr_size, EB_ERR_NOMEM, "out of memory");
    }
    guard_canned(s);
    eb__http_metrics_init();

    /* The logger must be the first option, or early messages bypass it. A
     * pool size of 1 draws a warning: leave the option out then. (An
     * MHD_OPTION_END in the middle would end the list.) libmicrohttpd's own
     * timeout, an idle timeout, stays as a backstop past every deadline of
     * the guard: it bounds a client that stops reading a reply. */
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)eb_http_mhd_log, NULL};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &sa};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT,
                                       (intptr_t)s->lim.max_connections, NULL};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, backstop_s, NULL};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, s};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, s};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)on_request_line, s};
    if (s->lim.threads > 1)
        ops[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, s->lim.threads, NULL};
    ops[n] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    s->daemon = MHD_start_daemon(
        (s->lim.use_poll ? MHD_USE_POLL_INTERNAL_THREAD : MHD_USE_AUTO_INTERNAL_THREAD) |
            MHD_USE_ERROR_LOG | (opts->suspendable ? MHD_ALLOW_SUSPEND_RESUME : 0),
        (uint16_t)opts->port, NULL, NULL, on_access, s, MHD_OPTION_ARRAY, ops, MHD_OPTION_END);
    if (!s->daemon) {
        server_free(s);
        return eb__seterr(errstr, errstr_size, EB_ERR_IO, "cannot listen on %s:%d", opts->bind_addr,
                          opts->port);
    }
    {
        const union MHD_DaemonInfo *info =
            MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);

        s->port = info ? (int)info->port : -1;
        info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_LISTEN_FD);
        s->listen_fd = info ? info->listen_fd : -1;
    }
    if (pthread_create(&s->guard, NULL, guard_main, s) != 0) {
        MHD_stop_daemon(s->daemon);
        server_free(s);
        return eb__seterr(errstr, errstr_size, EB_ERR_IO,
                          "cannot start the connection guard's thread");
    }
    *server = s;
    return EB_OK;
}

void eb_http_stop(eb_http_server_t *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    s->stopping = 1;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->guard, NULL);
    MHD_stop_daemon(s->daemon); /* every connection's CLOSED empties the table */
    server_free(s);
}

int eb_http_port(const eb_http_server_t *s)
{
    return s ? s->port : -1;
}

/* Queues a JSON body (copied) with one optional extra header. */
static enum MHD_Result send_json(struct MHD_Connection *conn, unsigned int status, const char *body,
                                 size_t len, const char *header, const char *value)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret;

    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    if (value)
        MHD_add_response_header(r, header, value);
    ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

enum MHD_Result eb_http_reply(struct MHD_Connection *conn, unsigned int status, const char *body,
                              size_t len, const char *location)
{
    return send_json(conn, status, body, len, MHD_HTTP_HEADER_LOCATION, location);
}

enum MHD_Result eb_http_error(struct MHD_Connection *conn, unsigned int status, const char *code,
                              const char *message, const char *field, const char *allow)
{
    cJSON *root = cJSON_CreateObject(), *err = cJSON_AddObjectToObject(root, "error");
    enum MHD_Result ret;
    char *body;

    cJSON_AddStringToObject(err, "code", code);
    cJSON_AddStringToObject(err, "message", message);
    if (field)
        cJSON_AddStringToObject(err, "field", field);
    body = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!body)
        return MHD_NO;
    ret = send_json(conn, status, body, strlen(body), MHD_HTTP_HEADER_ALLOW, allow);
    cJSON_free(body);
    return ret;
}

void eb_http_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    size_t n;

    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    EB_WARN("libmicrohttpd: %s", msg);
}

static void http_metrics_register(void)
{
    static const char *const reasons[EB_HTTP_CLOSE_COUNT] = {
        [EB_HTTP_HEADER_TIMEOUT] = "header_timeout",
        [EB_HTTP_REQUEST_TIMEOUT] = "request_timeout",
        [EB_HTTP_IDLE_TIMEOUT] = "idle_timeout",
        [EB_HTTP_EVICTED] = "evicted",
        [EB_HTTP_REFUSED] = "refused",
        [EB_HTTP_PER_IP] = "per_ip_limit",
    };
    eb_metric_t *closed = eb_metrics_counter(
        "http_connections_closed_total",
        "HTTP connections the server closed itself (slow or idle clients, a full table) by reason",
        "reason");

    for (int r = EB_HTTP_HEADER_TIMEOUT; r < EB_HTTP_CLOSE_COUNT; r++)
        http_closed[r] = eb_metric_series(closed, reasons[r]);
    http_requests = eb_metrics_counter("http_requests_total", "HTTP requests by route and status",
                                       "route,code");
    http_duration =
        eb_metrics_histogram("http_request_duration_seconds", "HTTP request latency by route",
                             "route", eb_metrics_latency_buckets, eb_metrics_latency_bucket_count);
}

void eb__http_metrics_init(void)
{
    pthread_once(&http_metrics_once, http_metrics_register);
}

void eb_http_observe(const char *route, unsigned int status, int64_t start_us)
{
    char code[8];

    eb__http_metrics_init();
    snprintf(code, sizeof(code), "%u", status);
    eb_series_add(eb_metric_series(http_requests, route, code), 1);
    eb_series_observe(eb_metric_series(http_duration, route),
                      (double)(eb_time_mono_us() - start_us) / 1e6);
}
