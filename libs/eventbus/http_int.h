/*
 * Private to the HTTP modules (http.c, admin.c) and their unit tests.
 */
#ifndef EVENTBUS_HTTP_INT_H
#define EVENTBUS_HTTP_INT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Registers http_requests_total and http_request_duration_seconds, once
 * per process; thread-safe. eb_admin_new() calls it so that /metrics lists
 * them before the first request is counted. */
void eb__http_metrics_init(void);

/*
 * The connection guard. libmicrohttpd's own timeout is an idle timeout, so
 * a client that sends a byte now and then holds a connection forever, and
 * its connection limit refuses newcomers rather than the connections that
 * hold the table. The guard keeps one record per open connection, follows
 * each request through its phases and closes what overstays:
 *
 *   open ──> HEADERS ──(headers parsed)──> BODY ──(body read)──> HANDLING
 *   (and HANDLING during each call of the access handler)
 *               ^                                                    │
 *               └──(request line)── IDLE <──(reply sent, keep-alive)─┘
 *
 * A connection is closed by the guard (CLOSING) only in IDLE, HEADERS or
 * BODY; a request being answered (HANDLING) is never cut. Phase changes
 * are atomic compare-and-swaps, so the guard's thread and libmicrohttpd's
 * workers agree on who closes and who answers. libmicrohttpd accepts at
 * most max_connections; when newcomers wait in the accept queue, the guard
 * closes as many stalled connections (see guard_make_room()).
 */
enum eb_http_phase {
    EB_HTTP_IDLE,     /* keep-alive, between requests: since = the last reply */
    EB_HTTP_HEADERS,  /* reading the request line and headers: since = its start */
    EB_HTTP_BODY,     /* reading the body: since = the request's start */
    EB_HTTP_HANDLING, /* the handler has the request: the guard stays out */
    EB_HTTP_CLOSING,  /* closed by the guard; libmicrohttpd has yet to notice */
};

/* Why the guard closed a connection: the reason label of
 * http_connections_closed_total. */
enum eb_http_close {
    EB_HTTP_KEEP,            /* not closed */
    EB_HTTP_HEADER_TIMEOUT,  /* 408: headers past header_timeout_s */
    EB_HTTP_REQUEST_TIMEOUT, /* 408: headers and body past request_timeout_s */
    EB_HTTP_IDLE_TIMEOUT,    /* closed silently: idle past idle_timeout_s */
    EB_HTTP_EVICTED,         /* 408 (silently when IDLE): stalled, room for a newcomer */
    EB_HTTP_REFUSED,         /* 503: the table overflowed (libmicrohttpd's limit prevents it) */
    EB_HTTP_PER_IP,          /* 429: the address holds max_per_ip connections */
    EB_HTTP_CLOSE_COUNT,
};

typedef struct eb_http_conn_s {
    _Atomic int phase;        /* enum eb_http_phase */
    _Atomic int64_t since_us; /* eb_time_mono_us() when the phase's clock started */
    int fd;
    int stalled;   /* quiet: may close to make room (the guard's, under its lock) */
    uint32_t addr; /* the client's IPv4 address, network order; 0 when unknown */
    size_t slot;   /* index in the guard's table */
} eb_http_conn_t;

/* Deadlines, in microseconds. */
typedef struct eb_http_deadlines_s {
    int64_t header_us, request_us, idle_us;
} eb_http_deadlines_t;

/* Whether a connection in phase since since_us has overstayed at now_us:
 * EB_HTTP_KEEP, or the timeout that closes it. Pure. */
enum eb_http_close eb__http_expired(int phase, int64_t since_us, const eb_http_deadlines_t *d,
                                    int64_t now_us);

/* Scratch for eb__http_pick_victim(): an open-addressing table of
 * addresses, nslots a power of two larger than twice the connections. */
typedef struct eb_http_addr_slot_s {
    uint32_t addr, count;
    size_t oldest; /* index of the address's oldest closable connection, or SIZE_MAX */
    int used;
} eb_http_addr_slot_t;

/* The connection to close to make room: among the addresses holding a
 * closable connection (stalled, and IDLE, HEADERS or BODY), the one
 * holding the most connections (a tie goes to the older candidate), and of
 * its connections the oldest by since_us. Returns its index in conns, or n
 * when there is none. O(n); slots has room for nslots (a power of two), of
 * which the smallest power of two above 2 * n is used. */
size_t eb__http_pick_victim(eb_http_conn_t *const *conns, size_t n, eb_http_addr_slot_t *slots,
                            size_t nslots);

/* How many stalled connections to close when waiting connections wait in
 * the accept queue, live are open and closing are closed but not yet gone
 * (they still count against libmicrohttpd's limit and free a slot soon):
 * none unless the table is nearly full (within a sixteenth), else those
 * waiting that the closing ones do not already make room for. Pure. */
unsigned int eb__http_room_to_make(unsigned int waiting, size_t live, size_t closing,
                                   unsigned int max_connections);

/* Writes a whole HTTP/1.1 response, "Connection: close", with the body
 * {"error":{"code":code,"message":message}}, to buf. Returns its length,
 * or 0 when it does not fit. The guard sends these itself: libmicrohttpd
 * has no way to answer a request whose headers have not arrived. */
size_t eb__http_canned(char *buf, size_t size, unsigned int status, const char *reason,
                       const char *code, const char *message);

#endif /* EVENTBUS_HTTP_INT_H */
