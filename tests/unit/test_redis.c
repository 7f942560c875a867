/*
 * Unit tests for redis.c's pipelines, against a scripted fake Redis.
 *
 * A thread in this process listens on 127.0.0.1, accepts one connection per
 * script, reads until the script's number of commands has arrived, answers
 * with the script's bytes (RESP), and then either hangs up or stays silent
 * until the client goes. That is enough to pin down the reply types, the
 * rule for a connection that breaks or times out in the middle of a
 * pipeline, and reconnecting afterwards, without a real redis-server.
 */
#include "unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "eventbus/redis.h"
#include "redis_int.h"

typedef struct script_s {
    int commands;       /* read this many commands before answering */
    const char *answer; /* RESP bytes to send back */
    size_t answer_len;
    int after; /* what the server does after answering: */
} script_t;

#define WAIT_EOF 0 /* wait until the client closes */
#define HANG_UP  1 /* close at once */
#define KEEP     2 /* the next script runs on this connection */

typedef struct server_s {
    int lfd, port;
    const script_t *scripts;
    size_t nscripts;
    pthread_t thread;
    char got[4096]; /* what the last connection sent */
    size_t got_len;
} server_t;

/* Counts the complete RESP commands (*N, then N $len bulk strings) in buf. */
static int count_commands(const char *buf, size_t len)
{
    size_t i = 0;
    int n = 0;

    while (i < len && buf[i] == '*') {
        char *end;
        long args = strtol(buf + i + 1, &end, 10);

        if ((size_t)(end - buf) + 2 > len)
            return n;
        i = (size_t)(end - buf) + 2;
        for (long a = 0; a < args; a++) {
            long blen;

            if (i >= len || buf[i] != '$')
                return n;
            blen = strtol(buf + i + 1, &end, 10);
            i = (size_t)(end - buf) + 2 + (size_t)blen + 2;
            if (i > len)
                return n;
        }
        n++;
    }
    return n;
}

static void *serve(void *arg)
{
    server_t *s = arg;
    int fd = -1;

    for (size_t k = 0; k < s->nscripts; k++) {
        const script_t *sc = &s->scripts[k];
        char tmp[512];
        ssize_t n;

        if (fd < 0 && (fd = accept(s->lfd, NULL, NULL)) < 0)
            return NULL;
        s->got_len = 0;
        while (count_commands(s->got, s->got_len) < sc->commands &&
               (n = read(fd, s->got + s->got_len, sizeof(s->got) - s->got_len)) > 0)
            s->got_len += (size_t)n;
        if (sc->answer_len && write(fd, sc->answer, sc->answer_len) < 0)
            perror("fake redis: write");
        if (sc->after == KEEP)
            continue;
        if (sc->after == WAIT_EOF)
            while (read(fd, tmp, sizeof(tmp)) > 0)
                ;
        close(fd);
        fd = -1;
    }
    return NULL;
}

static void server_start(server_t *s, const script_t *scripts, size_t n)
{
    struct sockaddr_in a = {0};
    socklen_t alen = sizeof(a);
    int one = 1;

    memset(s, 0, sizeof(*s));
    s->scripts = scripts;
    s->nscripts = n;
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->lfd >= 0);
    setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s->lfd, 4), 0);
    assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&a, &alen), 0);
    s->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void server_stop(server_t *s)
{
    pthread_join(s->thread, NULL);
    close(s->lfd);
}

static eb_redis_t *client(int port, int timeout_ms)
{
    eb_redis_addr_t addr;
    char url[64], errstr[128];

    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", port);
    assert_int_equal(eb_redis_url_parse(url, &addr, errstr, sizeof(errstr)), EB_OK);
    addr.timeout_ms = timeout_ms;
    return eb_redis_new(&addr);
}

#define S(lit) lit, sizeof(lit) - 1

static void every_reply_type(void **state)
{
    static const script_t sc[] = {
        {6,
         S("+OK\r\n"
           "$3\r\na\0b\r\n"
           "$-1\r\n"
           ":42\r\n"
           "-ERR nope\r\n"
           "*3\r\n$1\r\nx\r\n:7\r\n*1\r\n$-1\r\n"),
         WAIT_EOF},
    };
    const char *argv[] = {"GET", "bin"};
    server_t srv;
    eb_redis_t *r;
    eb_redis_pipeline_t *p;
    eb_redis_result_t res, el, inner;

    server_start(&srv, sc, 1);
    r = client(srv.port, 2000);
    p = eb_redis_pipeline_new(r);
    assert_non_null(p);
    assert_int_equal(eb_redis_pipeline_append(p, "SET %s %b", "k", "v\0w", (size_t)3), EB_OK);
    assert_int_equal(eb_redis_pipeline_append_argv(p, 2, argv, NULL), EB_OK);
    eb_redis_pipeline_append(p, "GET missing");
    eb_redis_pipeline_append(p, "INCR n");
    eb_redis_pipeline_append(p, "BAD");
    eb_redis_pipeline_append(p, "LRANGE l 0 -1");
    assert_int_equal(eb_redis_pipeline_count(p), 6);
    /* Nothing is sent, and nothing is there to read, before exec. */
    assert_int_equal(eb_redis_pipeline_result(p, 0).kind, EB_REDIS_NOREPLY);
    assert_int_equal(eb_redis_pipeline_exec(p), EB_OK);

    res = eb_redis_pipeline_result(p, 0);
    assert_int_equal(res.kind, EB_REDIS_STATUS);
    assert_string_equal(res.str, "OK");
    res = eb_redis_pipeline_result(p, 1);
    assert_int_equal(res.kind, EB_REDIS_STRING);
    assert_int_equal(res.len, 3);
    assert_memory_equal(res.str, "a\0b", 3);
    res = eb_redis_pipeline_result(p, 2);
    assert_int_equal(res.kind, EB_REDIS_NIL);
    assert_string_equal(res.str, "");
    res = eb_redis_pipeline_result(p, 3);
    assert_int_equal(res.kind, EB_REDIS_INTEGER);
    assert_int_equal(res.integer, 42);
    /* An error reply is that command's alone: the next one is read. */
    res = eb_redis_pipeline_result(p, 4);
    assert_int_equal(res.kind, EB_REDIS_ERROR);
    assert_string_equal(res.str, "ERR nope");
    res = eb_redis_pipeline_result(p, 5);
    assert_int_equal(res.kind, EB_REDIS_ARRAY);
    assert_int_equal(res.elements, 3);
    el = eb_redis_result_element(&res, 0);
    assert_int_equal(el.kind, EB_REDIS_STRING);
    assert_string_equal(el.str, "x");
    assert_int_equal(eb_redis_result_element(&res, 1).integer, 7);
    el = eb_redis_result_element(&res, 2);
    assert_int_equal(el.kind, EB_REDIS_ARRAY);
    inner = eb_redis_result_element(&el, 0);
    assert_int_equal(inner.kind, EB_REDIS_NIL);
    /* Out of range, or not an array: no such element. */
    el = eb_redis_result_element(&res, 3);
    assert_int_equal(el.kind, EB_REDIS_NOREPLY);
    assert_string_equal(el.str, "no such element");
    assert_int_equal(eb_redis_result_element(&inner, 0).kind, EB_REDIS_NOREPLY);
    assert_int_equal(eb_redis_pipeline_result(p, 6).kind, EB_REDIS_NOREPLY);
    /* A second exec changes nothing. */
    assert_int_equal(eb_redis_pipeline_exec(p), EB_OK);
    assert_int_equal(eb_redis_pipeline_result(p, 3).integer, 42);

    eb_redis_pipeline_destroy(p);
    eb_redis_destroy(r);
    server_stop(&srv);
    /* The commands went out as RESP, binary-safe, in order. */
    {
        static const char set[] = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\nv\0w\r\n";
        static const char get[] = "*2\r\n$3\r\nGET\r\n$3\r\nbin\r\n";

        assert_true(srv.got_len > sizeof(set) - 1 + sizeof(get) - 1);
        assert_memory_equal(srv.got, set, sizeof(set) - 1);
        assert_memory_equal(srv.got + sizeof(set) - 1, get, sizeof(get) - 1);
    }
}

static void broken_connection_fails_the_rest(void **state)
{
    static const script_t sc[] = {
        {4, S(":1\r\n-ERR second\r\n"), HANG_UP}, /* two replies of four, then gone */
        {1, S("$4\r\nback\r\n"), WAIT_EOF},       /* the reconnect */
    };
    server_t srv;
    eb_redis_t *r;
    eb_redis_pipeline_t *p;
    eb_redis_result_t res;

    server_start(&srv, sc, 2);
    r = client(srv.port, 2000);
    p = eb_redis_pipeline_new(r);
    for (int i = 0; i < 4; i++)
        eb_redis_pipeline_append(p, "INCR k%d", i);
    assert_int_equal(eb_redis_pipeline_exec(p), EB_ERR_REDIS);
    assert_int_equal(eb_redis_pipeline_result(p, 0).kind, EB_REDIS_INTEGER);
    assert_int_equal(eb_redis_pipeline_result(p, 1).kind, EB_REDIS_ERROR);
    for (size_t i = 2; i < 4; i++) {
        res = eb_redis_pipeline_result(p, i);
        assert_int_equal(res.kind, EB_REDIS_NOREPLY);
        assert_string_equal(res.str, "redis unreachable");
    }

    /* The broken connection was dropped: the next pipeline reconnects. */
    eb_redis_pipeline_clear(p);
    assert_int_equal(eb_redis_pipeline_count(p), 0);
    eb_redis_pipeline_append(p, "GET k");
    assert_int_equal(eb_redis_pipeline_exec(p), EB_OK);
    res = eb_redis_pipeline_result(p, 0);
    assert_int_equal(res.kind, EB_REDIS_STRING);
    assert_string_equal(res.str, "back");

    eb_redis_pipeline_destroy(p);
    eb_redis_destroy(r);
    server_stop(&srv);
}

static void timeout_fails_the_rest(void **state)
{
    static const script_t sc[] = {{3, S("+OK\r\n"), WAIT_EOF}}; /* then silence */
    server_t srv;
    eb_redis_t *r;
    eb_redis_pipeline_t *p;

    server_start(&srv, sc, 1);
    r = client(srv.port, 200);
    p = eb_redis_pipeline_new(r);
    for (int i = 0; i < 3; i++)
        eb_redis_pipeline_append(p, "PING");
    assert_int_equal(eb_redis_pipeline_exec(p), EB_ERR_REDIS);
    assert_int_equal(eb_redis_pipeline_result(p, 0).kind, EB_REDIS_STATUS);
    assert_string_equal(eb_redis_pipeline_result(p, 1).str, "redis unreachable");
    assert_int_equal(eb_redis_pipeline_result(p, 2).kind, EB_REDIS_NOREPLY);
    eb_redis_pipeline_destroy(p);
    eb_redis_destroy(r); /* the server sees the close and ends */
    server_stop(&srv);
}

static void unreachable_fails_every_command(void **state)
{
    static const script_t none[] = {{0}};
    server_t srv;
    eb_redis_t *r;
    eb_redis_pipeline_t *p;
    int port;

    /* A port nobody listens on: one just closed. */
    server_start(&srv, none, 0);
    port = srv.port;
    server_stop(&srv);

    r = client(port, 500);
    p = eb_redis_pipeline_new(r);
    eb_redis_pipeline_append(p, "SET a 1");
    eb_redis_pipeline_append(p, "SET b 2");
    assert_int_equal(eb_redis_pipeline_exec(p), EB_ERR_REDIS);
    for (size_t i = 0; i < 2; i++) {
        eb_redis_result_t res = eb_redis_pipeline_result(p, i);

        assert_int_equal(res.kind, EB_REDIS_NOREPLY);
        assert_string_equal(res.str, "redis unreachable");
        assert_int_equal(res.len, strlen("redis unreachable"));
    }
    /* An empty pipeline still asks for the connection. */
    eb_redis_pipeline_clear(p);
    assert_int_equal(eb_redis_pipeline_exec(p), EB_ERR_REDIS);
    assert_int_equal(eb_redis_ping(r), 0);
    eb_redis_pipeline_destroy(p);

    /* A flush that cannot reach Redis stays a Redis failure through the
     * appends after it (not "out of memory": a caller retries those as
     * attempts), and leaves the connection free for the next pipeline. */
    p = eb_redis_pipeline_new(r);
    eb_redis_pipeline_append(p, "SET a 1");
    assert_int_equal(eb_redis_pipeline_flush(p), EB_ERR_REDIS);
    assert_int_equal(eb_redis_pipeline_append(p, "SET b 2"), EB_ERR_REDIS);
    assert_int_equal(eb_redis_pipeline_exec(p), EB_ERR_REDIS);
    for (size_t i = 0; i < 2; i++)
        assert_string_equal(eb_redis_pipeline_result(p, i).str, "redis unreachable");
    eb_redis_pipeline_destroy(p);
    p = eb_redis_pipeline_new(r);
    eb_redis_pipeline_append(p, "SET c 3");
    assert_int_equal(eb_redis_pipeline_exec(p), EB_ERR_REDIS);
    assert_string_equal(eb_redis_pipeline_result(p, 0).str, "redis unreachable");
    eb_redis_pipeline_destroy(p);
    eb_redis_destroy(r);
    eb_redis_pipeline_destroy(NULL);
}

static void reuse_on_one_connection(void **state)
{
    static const script_t sc[] = {
        {2, S(":1\r\n:2\r\n"), KEEP},
        {1, S(":3\r\n"), WAIT_EOF},
    };
    server_t srv;
    eb_redis_t *r;
    eb_redis_pipeline_t *p, *unused;

    server_start(&srv, sc, 2);
    r = client(srv.port, 2000);
    p = eb_redis_pipeline_new(r);
    eb_redis_pipeline_append(p, "INCR a");
    /* A pipeline destroyed without exec sends nothing. */
    unused = eb_redis_pipeline_new(r);
    eb_redis_pipeline_append(unused, "FLUSHALL");
    eb_redis_pipeline_destroy(unused);
    eb_redis_pipeline_append(p, "INCR a");
    assert_int_equal(eb_redis_pipeline_exec(p), EB_OK);
    assert_int_equal(eb_redis_pipeline_result(p, 0).integer, 1);
    assert_int_equal(eb_redis_pipeline_result(p, 1).integer, 2);

    /* Cleared, the same pipeline runs again on the same connection. */
    eb_redis_pipeline_clear(p);
    assert_int_equal(eb_redis_pipeline_result(p, 0).kind, EB_REDIS_NOREPLY);
    eb_redis_pipeline_append(p, "INCR a");
    assert_int_equal(eb_redis_pipeline_exec(p), EB_OK);
    assert_int_equal(eb_redis_pipeline_result(p, 0).integer, 3);
    eb_redis_pipeline_destroy(p);
    eb_redis_destroy(r);
    server_stop(&srv); /* joined: what it read is ours to look at */
    assert_int_equal(srv.got_len, 21);
    assert_memory_equal(srv.got, "*2\r\n$4\r\nINCR\r\n$1\r\na\r\n", 21);
}

/* Which error replies mean "up, but refusing writes" (not unreachable). */
static void refusals_are_told_apart(void **state)
{
    (void)state;
    assert_true(eb_redis_is_refusal("OOM command not allowed when used memory > 'maxmemory'."));
    assert_true(eb_redis_is_refusal("READONLY You can't write against a read only replica."));
    assert_true(eb_redis_is_refusal("MISCONF Redis is configured to save RDB snapshots, but it's "
                                    "currently unable to persist to disk."));
    assert_true(eb_redis_is_refusal("NOREPLICAS Not enough good replicas to write."));
    assert_false(
        eb_redis_is_refusal("EXECABORT Transaction discarded because of previous errors."));
    assert_false(eb_redis_is_refusal("WRONGTYPE Operation against a key holding the wrong kind"));
    assert_false(eb_redis_is_refusal("ERR unknown command"));
    assert_false(eb_redis_is_refusal("OOMX"));
    assert_false(eb_redis_is_refusal(""));
    assert_false(eb_redis_is_refusal(NULL));
}

/* Commands sent without waiting: the next pipeline on the connection reads
 * their replies first and gets its own; the owed replies' failures are
 * counted once, with the first one's text. */
static void sent_replies_are_read_first(void **state)
{
    static const script_t sc[] = {
        {2, S("+OK\r\n-ERR denied\r\n"), KEEP},
        {1, S(":5\r\n"), WAIT_EOF},
    };
    server_t srv;
    eb_redis_t *r;
    eb_redis_pipeline_t *p;
    char why[128] = "";

    (void)state;
    server_start(&srv, sc, 2);
    r = client(srv.port, 2000);
    assert_int_equal(eb__redis_owed_check(r, why, sizeof(why)), 0);
    p = eb_redis_pipeline_new(r);
    eb_redis_pipeline_append(p, "SET a 1");
    eb_redis_pipeline_append(p, "SET b 2");
    assert_int_equal(eb__redis_pipeline_send(p), EB_OK);
    assert_int_equal(eb_redis_pipeline_result(p, 0).kind, EB_REDIS_NOREPLY);
    eb_redis_pipeline_destroy(p);

    p = eb_redis_pipeline_new(r);
    eb_redis_pipeline_append(p, "INCR n");
    assert_int_equal(eb_redis_pipeline_exec(p), EB_OK);
    assert_int_equal(eb_redis_pipeline_result(p, 0).kind, EB_REDIS_INTEGER);
    assert_int_equal(eb_redis_pipeline_result(p, 0).integer, 5);
    eb_redis_pipeline_destroy(p);
    assert_int_equal(eb__redis_owed_check(r, why, sizeof(why)), 1);
    assert_string_equal(why, "ERR denied");
    assert_int_equal(eb__redis_owed_check(r, why, sizeof(why)), 0);
    eb_redis_destroy(r);
    server_stop(&srv);
}

/* A connection that breaks before the owed replies came loses them: each
 * command without a reply counts as failed (whether Redis ran it is not
 * known), and the connection is dropped. */
static void sent_replies_lost_with_the_connection(void **state)
{
    static const script_t sc[] = {
        {3, S("+OK\r\n"), HANG_UP},
    };
    server_t srv;
    eb_redis_t *r;
    eb_redis_pipeline_t *p;
    char why[128] = "";

    (void)state;
    server_start(&srv, sc, 1);
    r = client(srv.port, 2000);
    p = eb_redis_pipeline_new(r);
    for (int i = 0; i < 3; i++)
        eb_redis_pipeline_append(p, "SET k%d v", i);
    assert_int_equal(eb__redis_pipeline_send(p), EB_OK);
    eb_redis_pipeline_destroy(p);
    assert_int_equal(eb__redis_owed_check(r, why, sizeof(why)), 2);
    assert_string_equal(why, "connection lost before the replies");
    assert_int_equal(eb__redis_owed_check(r, why, sizeof(why)), 0);
    eb_redis_destroy(r);
    server_stop(&srv);
}

/* A flush writes what is appended so far at once: the server answers the
 * first two commands before the third exists. Replies owed by an earlier
 * send come first; another pipeline may not run meanwhile; a flushed
 * pipeline destroyed unexecuted leaves its replies to be dropped. */
static void flush_writes_early_in_order(void **state)
{
    static const script_t sc[] = {
        /* The send's command and the two flushed: answered before the
         * third is appended (were they not written yet, the three would
         * come with it, and the ":7" script would wait for a fourth). */
        {3, S("-ERR owed\r\n+A\r\n+B\r\n"), KEEP},
        {1, S(":7\r\n"), KEEP},
        {1, S("+dropped\r\n"), KEEP}, /* a flushed pipeline never executed */
        {1, S(":8\r\n"), WAIT_EOF},
    };
    server_t srv;
    eb_redis_t *r;
    eb_redis_pipeline_t *sent, *p, *other;
    char why[128] = "";

    (void)state;
    server_start(&srv, sc, 4);
    r = client(srv.port, 2000);
    sent = eb_redis_pipeline_new(r);
    eb_redis_pipeline_append(sent, "SET owed 1");
    assert_int_equal(eb__redis_pipeline_send(sent), EB_OK);
    eb_redis_pipeline_destroy(sent);

    p = eb_redis_pipeline_new(r);
    eb_redis_pipeline_append(p, "SET a 1");
    eb_redis_pipeline_append(p, "SET b 2");
    assert_int_equal(eb_redis_pipeline_flush(p), EB_OK);
    assert_int_equal(eb_redis_pipeline_flush(p), EB_OK); /* nothing new: nothing written */
    /* Nothing else runs on r while p's replies are on their way. */
    other = eb_redis_pipeline_new(r);
    eb_redis_pipeline_append(other, "PING");
    assert_int_equal(eb_redis_pipeline_exec(other), EB_ERR_REDIS);
    assert_int_equal(eb_redis_pipeline_result(other, 0).kind, EB_REDIS_NOREPLY);
    eb_redis_pipeline_destroy(other);

    eb_redis_pipeline_append(p, "INCR n");
    assert_int_equal(eb_redis_pipeline_exec(p), EB_OK);
    assert_string_equal(eb_redis_pipeline_result(p, 0).str, "A");
    assert_string_equal(eb_redis_pipeline_result(p, 1).str, "B");
    assert_int_equal(eb_redis_pipeline_result(p, 2).integer, 7);
    eb_redis_pipeline_destroy(p);
    assert_int_equal(eb__redis_owed_check(r, why, sizeof(why)), 1);
    assert_string_equal(why, "ERR owed");

    p = eb_redis_pipeline_new(r);
    eb_redis_pipeline_append(p, "GET x");
    assert_int_equal(eb_redis_pipeline_flush(p), EB_OK);
    eb_redis_pipeline_destroy(p);
    p = eb_redis_pipeline_new(r);
    eb_redis_pipeline_append(p, "INCR n");
    assert_int_equal(eb_redis_pipeline_exec(p), EB_OK);
    assert_int_equal(eb_redis_pipeline_result(p, 0).integer, 8);
    eb_redis_pipeline_destroy(p);
    assert_int_equal(eb__redis_owed_check(r, why, sizeof(why)), 0);
    eb_redis_destroy(r);
    server_stop(&srv);
}

/* A connection that breaks after a flush fails the whole pipeline, the
 * flushed commands and the rest alike; the next pipeline reconnects. */
static void flush_then_broken_connection(void **state)
{
    static const script_t sc[] = {
        {1, S(""), HANG_UP},
        {1, S("+OK\r\n"), WAIT_EOF},
    };
    server_t srv;
    eb_redis_t *r;
    eb_redis_pipeline_t *p;

    (void)state;
    server_start(&srv, sc, 2);
    r = client(srv.port, 2000);
    p = eb_redis_pipeline_new(r);
    eb_redis_pipeline_append(p, "SET a 1");
    assert_int_equal(eb_redis_pipeline_flush(p), EB_OK);
    eb_redis_pipeline_append(p, "SET b 2");
    assert_int_equal(eb_redis_pipeline_exec(p), EB_ERR_REDIS);
    assert_int_equal(eb_redis_pipeline_result(p, 0).kind, EB_REDIS_NOREPLY);
    assert_int_equal(eb_redis_pipeline_result(p, 1).kind, EB_REDIS_NOREPLY);
    eb_redis_pipeline_destroy(p);
    p = eb_redis_pipeline_new(r);
    eb_redis_pipeline_append(p, "SET c 3");
    assert_int_equal(eb_redis_pipeline_exec(p), EB_OK);
    assert_string_equal(eb_redis_pipeline_result(p, 0).str, "OK");
    eb_redis_pipeline_destroy(p);
    eb_redis_destroy(r);
    server_stop(&srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(refusals_are_told_apart),
        cmocka_unit_test(every_reply_type),
        cmocka_unit_test(broken_connection_fails_the_rest),
        cmocka_unit_test(timeout_fails_the_rest),
        cmocka_unit_test(unreachable_fails_every_command),
        cmocka_unit_test(reuse_on_one_connection),
        cmocka_unit_test(sent_replies_are_read_first),
        cmocka_unit_test(sent_replies_lost_with_the_connection),
        cmocka_unit_test(flush_writes_early_in_order),
        cmocka_unit_test(flush_then_broken_connection),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
