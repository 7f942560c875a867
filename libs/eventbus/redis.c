/*
 * Redis connections with bounded timeouts and throttled reconnects, and the
 * pipelines every command goes through.
 *
 * A pipeline formats its commands into one buffer as they are appended (no
 * connection needed yet), writes the buffer at exec, and reads the replies
 * in order into an array it owns. The first read that fails drops the
 * connection, and every command from that one on has no reply: the caller
 * cannot tell which of them Redis executed, only that it must not count on
 * any. Results are views into the hiredis replies, freed with the pipeline.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include "eb_int.h"
#include "eventbus/envelope.h"
#include "eventbus/json.h"
#include "eventbus/log.h"
#include "eventbus/redis.h"
#include "redis_int.h"

/* After a failed connect, calls fail at once for this long instead of paying
 * the connect timeout again: a dead Redis costs requests microseconds. */
#define RECONNECT_INTERVAL_MS 250

struct eb_redis_s {
    eb_redis_addr_t addr;
    redisContext *ctx;
    int64_t next_connect_ms; /* monotonic; no connect attempt before this */
    char last_err[128];
    char refusal[200];    /* the last error reply that refused a write */
    uint64_t refusal_seq; /* how many such replies so far */
    /* Commands sent by eb__redis_pipeline_send() whose replies are still
     * to be read (before anything else on the connection), and what the
     * replies read since eb__redis_owed_check() said. */
    size_t owed;
    size_t owed_failed; /* error replies, and commands whose replies were lost */
    char owed_why[128]; /* the first of those */
    uint64_t conn_gen;  /* counts connections made: a flushed pipeline's replies
                         * come on the connection it was flushed on only */
    const struct eb_redis_pipeline_s *flushing; /* flushed, replies not read yet */
};

static int hex_val(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Copies n bytes of a URL component into dst, decoding %XX escapes. */
static int copy_component(char *dst, size_t size, const char *src, size_t n)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)src[i];

        if (c == '%') {
            int h, l;

            if (i + 2 >= n)
                return 0;
            h = hex_val(src[i + 1]);
            l = hex_val(src[i + 2]);
            if (h < 0 || l < 0)
                return 0;
            c = h * 16 + l;
            i += 2;
        }
        if (o + 1 >= size)
            return 0;
        dst[o++] = (char)c;
    }
    dst[o] = '\0';
    return 1;
}

eb_err_t eb_redis_url_parse(const char *url, eb_redis_addr_t *a, char *errstr, size_t errstr_size)
{
    const char *p, *at, *hostend, *slash;
    char *end;
    long v;

    memset(a, 0, sizeof(*a));
    a->port = 6379;
    a->timeout_ms = 1000;
    if (!url || strncmp(url, "redis://", 8) != 0)
        return eb__seterr(errstr, errstr_size, EB_ERR_INVALID,
                          "must start with redis:// (rediss:// is not supported)");
    p = url + 8;
    slash = strchr(p, '/');
    at = memchr(p, '@', slash ? (size_t)(slash - p) : strlen(p));
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));

        if (!colon)
            return eb__seterr(errstr, errstr_size, EB_ERR_INVALID,
                              "credentials must be written :password@ or user:password@");
        if (!copy_component(a->username, sizeof(a->username), p, (size_t)(colon - p)) ||
            !copy_component(a->password, sizeof(a->password), colon + 1, (size_t)(at - colon - 1)))
            return eb__seterr(errstr, errstr_size, EB_ERR_INVALID, "bad user or password");
        p = at + 1;
    }
    hostend = p;
    if (*p == '[') { /* [IPv6]:port */
        hostend = strchr(p, ']');
        if (!hostend)
            return eb__seterr(errstr, errstr_size, EB_ERR_INVALID, "unclosed '[' in host");
        if (!copy_component(a->host, sizeof(a->host), p + 1, (size_t)(hostend - p - 1)))
            return eb__seterr(errstr, errstr_size, EB_ERR_INVALID, "host too long");
        hostend++;
    } else {
        while (*hostend && *hostend != ':' && *hostend != '/')
            hostend++;
        if (!copy_component(a->host, sizeof(a->host), p, (size_t)(hostend - p)))
            return eb__seterr(errstr, errstr_size, EB_ERR_INVALID, "host too long");
    }
    if (!a->host[0])
        return eb__seterr(errstr, errstr_size, EB_ERR_INVALID, "missing host");
    p = hostend;
    if (*p == ':') {
        errno = 0;
        v = strtol(p + 1, &end, 10);
        if (errno || end == p + 1 || v < 1 || v > 65535 || (*end && *end != '/'))
            return eb__seterr(errstr, errstr_size, EB_ERR_INVALID, "port must be 1..65535");
        a->port = (int)v;
        p = end;
    }
    if (*p == '/' && p[1]) {
        errno = 0;
        v = strtol(p + 1, &end, 10);
        if (errno || end == p + 1 || *end || v < 0 || v > 1000000)
            return eb__seterr(errstr, errstr_size, EB_ERR_INVALID,
                              "database must be a non-negative integer");
        a->db = (int)v;
    } else if (*p && strcmp(p, "/") != 0) {
        return eb__seterr(errstr, errstr_size, EB_ERR_INVALID, "unexpected '%s'", p);
    }
    return EB_OK;
}

eb_redis_t *eb_redis_new(const eb_redis_addr_t *addr)
{
    eb_redis_t *r = calloc(1, sizeof(*r));

    if (r)
        r->addr = *addr;
    return r;
}

/* One more owed reply failed (an error reply, or lost with the connection). */
static void owed_failed(eb_redis_t *r, size_t n, const char *why)
{
    if (!r->owed_failed)
        snprintf(r->owed_why, sizeof(r->owed_why), "%s", why);
    r->owed_failed += n;
}

void eb_redis_reset(eb_redis_t *r)
{
    if (r && r->ctx) {
        redisFree(r->ctx);
        r->ctx = NULL;
    }
    if (r && r->owed) {
        /* Sent, but whether Redis ran them is not known. */
        owed_failed(r, r->owed, "connection lost before the replies");
        r->owed = 0;
    }
}

void eb_redis_destroy(eb_redis_t *r)
{
    if (!r)
        return;
    eb_redis_reset(r);
    free(r);
}

/* Runs a setup command on a fresh context; 0 on failure with last_err set. */
static int setup_cmd(eb_redis_t *r, redisReply *reply, const char *what)
{
    int ok = reply && reply->type != REDIS_REPLY_ERROR;

    if (!ok)
        snprintf(r->last_err, sizeof(r->last_err), "%s failed: %s", what,
                 reply ? reply->str : r->ctx->errstr);
    if (reply)
        freeReplyObject(reply);
    return ok;
}

static int connect_now(eb_redis_t *r)
{
    struct timeval tv = {r->addr.timeout_ms / 1000, (r->addr.timeout_ms % 1000) * 1000};

    r->ctx = redisConnectWithTimeout(r->addr.host, r->addr.port, tv);
    if (!r->ctx || r->ctx->err) {
        snprintf(r->last_err, sizeof(r->last_err), "connect to %s:%d: %s", r->addr.host,
                 r->addr.port, r->ctx ? r->ctx->errstr : "out of memory");
        eb_redis_reset(r);
        return 0;
    }
    redisSetTimeout(r->ctx, tv);
    redisEnableKeepAlive(r->ctx);
    r->conn_gen++;
    if (r->addr.password[0]) {
        redisReply *rep = r->addr.username[0] ? redisCommand(r->ctx, "AUTH %s %s", r->addr.username,
                                                             r->addr.password)
                                              : redisCommand(r->ctx, "AUTH %s", r->addr.password);

        if (!setup_cmd(r, rep, "AUTH"))
            goto fail;
    }
    if (r->addr.db != 0 && !setup_cmd(r, redisCommand(r->ctx, "SELECT %d", r->addr.db), "SELECT"))
        goto fail;
    return 1;
fail:
    eb_redis_reset(r);
    return 0;
}

static redisReply *checked(eb_redis_t *r, void *reply);

/* Reads the replies owed to commands sent earlier, so that the next reply
 * read is the next command's. 0 when the connection broke meanwhile (it is
 * dropped). */
static int settle_owed(eb_redis_t *r)
{
    while (r->owed) {
        void *reply = NULL;

        if (redisGetReply(r->ctx, &reply) != REDIS_OK)
            reply = NULL;
        if (!checked(r, reply))
            return 0;
        r->owed--;
        if (((redisReply *)reply)->type == REDIS_REPLY_ERROR)
            owed_failed(r, 1, ((redisReply *)reply)->str);
        freeReplyObject(reply);
    }
    return 1;
}

/* Returns the connected context, connecting (AUTH, SELECT) if needed and
 * allowed now, or NULL when Redis cannot be reached now. */
static redisContext *connected(eb_redis_t *r)
{
    int64_t now;

    if (r->ctx && r->owed && !settle_owed(r))
        return NULL; /* reconnects at the next call */
    if (r->ctx)
        return r->ctx;
    now = eb_time_mono_ms();
    if (now >= r->next_connect_ms && !connect_now(r))
        r->next_connect_ms = now + RECONNECT_INTERVAL_MS;
    return r->ctx;
}

int eb_redis_is_refusal(const char *err)
{
    static const char *const prefixes[] = {"OOM ", "READONLY ", "MISCONF ", "NOREPLICAS "};

    for (size_t i = 0; err && i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
        if (strncmp(err, prefixes[i], strlen(prefixes[i])) == 0)
            return 1;
    return 0;
}

/* Remembers an error reply (or an error inside an array reply: EXEC) that
 * says Redis refuses writes. */
static void note_refusal(eb_redis_t *r, const redisReply *rep)
{
    if (rep->type == REDIS_REPLY_ERROR && eb_redis_is_refusal(rep->str)) {
        snprintf(r->refusal, sizeof(r->refusal), "%s", rep->str);
        r->refusal_seq++;
    } else if (rep->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i < rep->elements && i < 64; i++)
            if (rep->element[i] && rep->element[i]->type == REDIS_REPLY_ERROR)
                note_refusal(r, rep->element[i]);
    }
}

/* A NULL reply means the connection is unusable (I/O error or timeout). */
static redisReply *checked(eb_redis_t *r, void *reply)
{
    if (reply)
        note_refusal(r, reply);
    if (!reply) {
        snprintf(r->last_err, sizeof(r->last_err), "%s",
                 r->ctx && r->ctx->errstr[0] ? r->ctx->errstr : "connection lost");
        eb_redis_reset(r);
    }
    return reply;
}

/* Runs one command. The reply, or NULL when Redis is unreachable or timed
 * out (the connection is then dropped). */
static redisReply *command(eb_redis_t *r, const char *fmt, ...)
{
    va_list ap;
    void *reply;

    if (r->flushing) {
        /* A flushed pipeline's replies come first. */
        snprintf(r->last_err, sizeof(r->last_err), "a flushed pipeline is not executed yet");
        return NULL;
    }
    if (!connected(r))
        return NULL;
    va_start(ap, fmt);
    reply = redisvCommand(r->ctx, fmt, ap);
    va_end(ap);
    return checked(r, reply);
}

/* ---- pipelines ---------------------------------------------------------------- */

#define WHY_UNREACHABLE "redis unreachable"
#define WHY_NOMEM       "out of memory"

struct eb_redis_pipeline_s {
    eb_redis_t *r;
    eb_resp_buf_t out; /* the formatted commands, back to back */
    size_t n;          /* commands appended */
    redisReply **reps; /* after exec: n replies, NULL where none came */
    int executed;
    eb_err_t err;      /* of append (EB_ERR_NOMEM), flush or exec */
    const char *why;   /* why a command has no reply */
    size_t sent_bytes; /* of out, written by eb_redis_pipeline_flush() */
    size_t sent;       /* commands written so */
    uint64_t gen;      /* the connection they went on */
};

eb_redis_pipeline_t *eb_redis_pipeline_new(eb_redis_t *r)
{
    eb_redis_pipeline_t *p = calloc(1, sizeof(*p));

    if (p)
        p->r = r;
    return p;
}

/* ---- RESP, written without hiredis's formatter --------------------------------
 *
 * hiredis formats each argument's "$<len>\r\n" header with sprintf, about a
 * sixth of an order's instructions (bench/RESULTS.md, issue 13). These write
 * the same bytes with digits and memcpy into one growing buffer. */

/* Makes room for need more bytes; 0 when out of memory. */
static int resp_reserve(eb_resp_buf_t *b, size_t need)
{
    size_t cap;
    char *grown;

    if (b->len + need <= b->cap)
        return 1;
    cap = b->cap ? b->cap * 2 : 512;
    while (cap < b->len + need)
        cap *= 2;
    grown = realloc(b->p, cap);
    if (!grown)
        return 0;
    b->p = grown;
    b->cap = cap;
    return 1;
}

/* "<c><n>\r\n" at out (c is '*' or '$'); returns the end. */
static char *put_header(char *out, char c, size_t n)
{
    *out++ = c;
    out = eb_json_uint(out, n);
    *out++ = '\r';
    *out++ = '\n';
    return out;
}

#define RESP_HEADER_MAX 24 /* '$', 20 digits, CR LF */

int eb__resp_append_argv(eb_resp_buf_t *b, int argc, const char **argv, const size_t *argvlen)
{
    size_t need = RESP_HEADER_MAX;
    char *o;

    if (argc < 0)
        return 0;
    for (int i = 0; i < argc; i++)
        need += RESP_HEADER_MAX + (argvlen ? argvlen[i] : strlen(argv[i])) + 2;
    if (!resp_reserve(b, need))
        return 0;
    o = put_header(b->p + b->len, '*', (size_t)argc);
    for (int i = 0; i < argc; i++) {
        size_t n = argvlen ? argvlen[i] : strlen(argv[i]);

        o = put_header(o, '$', n);
        if (n)
            memcpy(o, argv[i], n);
        o += n;
        *o++ = '\r';
        *o++ = '\n';
    }
    b->len = (size_t)(o - b->p);
    return 1;
}

/* One piece of an argument of a format: bytes, and the argument it ends in. */
typedef struct resp_seg_s {
    const char *p;
    size_t len;
    int arg;
} resp_seg_t;

#define RESP_SEGS 64 /* pieces of one format; more: hiredis formats it */
#define RESP_NUMS 16 /* integer conversions of one format */

/* The integer conversion at f (after '%'): its length in *n and its size
 * class (0 int, 1 long, 2 long long), or -1 if not one we write. */
static int int_conversion(const char *f, size_t *n, int *is_signed)
{
    int cls = 0;
    size_t i = 0;

    if (f[0] == 'l' && f[1] == 'l') {
        cls = 2, i = 2;
    } else if (f[0] == 'l') {
        cls = 1, i = 1;
    }
    if (f[i] != 'd' && f[i] != 'i' && f[i] != 'u')
        return -1;
    *is_signed = f[i] != 'u';
    *n = i + 1;
    return cls;
}

/* Formats as hiredis's redisvFormatCommand does, for the conversions %s,
 * %b, %%, and %d %i %u with the l and ll modifiers. Returns 1 written, 0
 * out of memory, -1 a format this does not know (nothing written; ap is
 * then partly consumed). */
static int resp_appendv_fast(eb_resp_buf_t *b, const char *fmt, va_list ap)
{
    resp_seg_t seg[RESP_SEGS];
    char nums[RESP_NUMS][21];
    size_t nseg = 0, nnum = 0, need = RESP_HEADER_MAX;
    int argc = 0, touched = 0;
    const char *c = fmt;
    char *o;

    while (*c) {
        const char *s;
        size_t n;

        if (nseg == RESP_SEGS)
            return -1;
        if (*c == ' ') {
            if (touched)
                argc++;
            touched = 0;
            c++;
            continue;
        }
        if (*c != '%' || c[1] == '\0') {
            /* A run of literal bytes. */
            s = c;
            while (*c && *c != ' ' && *c != '%')
                c++;
            if (c == s) /* a lone '%' at the very end */
                c++;
            seg[nseg++] = (resp_seg_t){s, (size_t)(c - s), argc};
            touched = 1;
            continue;
        }
        switch (c[1]) {
        case 's':
            s = va_arg(ap, const char *);
            seg[nseg++] = (resp_seg_t){s, strlen(s), argc};
            c += 2;
            break;
        case 'b':
            s = va_arg(ap, const char *);
            n = va_arg(ap, size_t);
            seg[nseg++] = (resp_seg_t){s, n, argc};
            c += 2;
            break;
        case '%':
            seg[nseg++] = (resp_seg_t){c, 1, argc};
            c += 2;
            break;
        default: {
            int is_signed, cls = int_conversion(c + 1, &n, &is_signed);
            unsigned long long u;
            char *d, *e;

            if (cls < 0 || nnum == RESP_NUMS)
                return -1;
            if (is_signed) {
                long long v = cls == 0   ? va_arg(ap, int)
                              : cls == 1 ? va_arg(ap, long)
                                         : va_arg(ap, long long);

                u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
                d = nums[nnum];
                if (v < 0)
                    *d++ = '-';
            } else {
                u = cls == 0   ? va_arg(ap, unsigned int)
                    : cls == 1 ? va_arg(ap, unsigned long)
                               : va_arg(ap, unsigned long long);
                d = nums[nnum];
            }
            e = eb_json_uint(d, u);
            seg[nseg++] = (resp_seg_t){nums[nnum], (size_t)(e - nums[nnum]), argc};
            nnum++;
            c += 1 + n;
            break;
        }
        }
        touched = 1;
    }
    if (touched)
        argc++;

    for (size_t i = 0; i < nseg; i++)
        need += seg[i].len;
    need += (size_t)argc * (RESP_HEADER_MAX + 2);
    if (!resp_reserve(b, need))
        return 0;
    o = put_header(b->p + b->len, '*', (size_t)argc);
    for (size_t i = 0; i < nseg;) {
        size_t j = i, n = 0;

        while (j < nseg && seg[j].arg == seg[i].arg)
            n += seg[j++].len;
        o = put_header(o, '$', n);
        for (; i < j; i++) {
            if (seg[i].len)
                memcpy(o, seg[i].p, seg[i].len);
            o += seg[i].len;
        }
        *o++ = '\r';
        *o++ = '\n';
    }
    b->len = (size_t)(o - b->p);
    return 1;
}

int eb__resp_appendv(eb_resp_buf_t *b, const char *fmt, va_list ap)
{
    va_list again;
    char *cmd = NULL;
    int len, done;

    va_copy(again, ap);
    done = resp_appendv_fast(b, fmt, ap);
    if (done >= 0) {
        va_end(again);
        return done;
    }
    /* Other conversions (%f, %x, widths, ...): hiredis's formatter. */
    len = redisvFormatCommand(&cmd, fmt, again);
    va_end(again);
    if (len < 0)
        return 0;
    done = resp_reserve(b, (size_t)len);
    if (done) {
        memcpy(b->p + b->len, cmd, (size_t)len);
        b->len += (size_t)len;
    }
    redisFreeCommand(cmd);
    return done;
}

/* Counts a command appended (ok: 1) or lost (ok: 0, out of memory: the
 * pipeline will send nothing). */
static eb_err_t took(eb_redis_pipeline_t *p, int ok)
{
    p->n++;
    if (!ok && !p->err) /* a failed flush stays a Redis failure */
        p->err = EB_ERR_NOMEM;
    return p->err;
}

eb_err_t eb_redis_pipeline_appendv(eb_redis_pipeline_t *p, const char *fmt, va_list ap)
{
    return took(p, !p->err && eb__resp_appendv(&p->out, fmt, ap));
}

eb_err_t eb_redis_pipeline_append(eb_redis_pipeline_t *p, const char *fmt, ...)
{
    va_list ap;
    eb_err_t err;

    va_start(ap, fmt);
    err = eb_redis_pipeline_appendv(p, fmt, ap);
    va_end(ap);
    return err;
}

eb_err_t eb_redis_pipeline_append_argv(eb_redis_pipeline_t *p, int argc, const char **argv,
                                       const size_t *argvlen)
{
    return took(p, !p->err && eb__resp_append_argv(&p->out, argc, argv, argvlen));
}

/* A pipeline flushed and never executed: the connection owes its replies. */
static void unflush(eb_redis_pipeline_t *p)
{
    if (p->r->flushing != p)
        return;
    p->r->flushing = NULL;
    if (p->r->ctx && p->r->conn_gen == p->gen)
        p->r->owed += p->sent;
}

eb_err_t eb_redis_pipeline_exec(eb_redis_pipeline_t *p)
{
    redisContext *ctx;

    if (p->executed)
        return p->err;
    p->executed = 1;
    if (p->err) {
        p->why = p->err == EB_ERR_NOMEM ? WHY_NOMEM : WHY_UNREACHABLE;
        unflush(p);
        return p->err;
    }
    if (p->n && !(p->reps = calloc(p->n, sizeof(*p->reps)))) {
        p->why = WHY_NOMEM;
        unflush(p);
        return p->err = EB_ERR_NOMEM;
    }
    p->why = WHY_UNREACHABLE;
    if (p->r->flushing && p->r->flushing != p)
        return p->err = EB_ERR_REDIS; /* its replies would be read as ours */
    p->r->flushing = NULL;            /* ours, if flushed: its replies are read below */
    /* Reads what the connection owes first (settle_owed); a connection
     * made since the flush never got those commands. */
    ctx = connected(p->r);
    if (!ctx || (p->sent && p->r->conn_gen != p->gen))
        return p->err = EB_ERR_REDIS;
    if (p->out.len > p->sent_bytes &&
        redisAppendFormattedCommand(ctx, p->out.p + p->sent_bytes, p->out.len - p->sent_bytes) !=
            REDIS_OK) {
        checked(p->r, NULL);
        return p->err = EB_ERR_REDIS;
    }
    for (size_t i = 0; i < p->n; i++) {
        void *reply = NULL;

        /* A failed read drops the connection: the rest has no reply. */
        if (redisGetReply(ctx, &reply) != REDIS_OK)
            reply = NULL;
        if (!checked(p->r, reply))
            return p->err = EB_ERR_REDIS;
        p->reps[i] = reply;
    }
    return EB_OK;
}

/* Writes out at once; 0 when the connection broke (it is dropped). */
static int write_all(eb_redis_t *r, redisContext *ctx, const char *out, size_t len)
{
    int done = 0;

    if (redisAppendFormattedCommand(ctx, out, len) != REDIS_OK) {
        checked(r, NULL);
        return 0;
    }
    while (!done)
        if (redisBufferWrite(ctx, &done) != REDIS_OK) {
            checked(r, NULL);
            return 0;
        }
    return 1;
}

eb_err_t eb_redis_pipeline_flush(eb_redis_pipeline_t *p)
{
    eb_redis_t *r = p->r;
    redisContext *ctx;

    if (p->executed || p->err)
        return p->err;
    if (p->out.len == p->sent_bytes)
        return EB_OK;
    if (r->flushing && r->flushing != p)
        return p->err = EB_ERR_REDIS;
    /* On the connection as it is: what it owes is read at exec, before
     * these replies. A first flush connects if needed. */
    ctx = r->ctx ? r->ctx : connected(r);
    if (!ctx || (p->sent && r->conn_gen != p->gen) ||
        !write_all(r, ctx, p->out.p + p->sent_bytes, p->out.len - p->sent_bytes)) {
        /* What was flushed went with a connection that is gone. */
        if (r->flushing == p)
            r->flushing = NULL;
        return p->err = EB_ERR_REDIS;
    }
    r->flushing = p;
    p->gen = r->conn_gen;
    p->sent_bytes = p->out.len;
    p->sent = p->n;
    return EB_OK;
}

eb_err_t eb__redis_pipeline_send(eb_redis_pipeline_t *p)
{
    redisContext *ctx;

    if (p->executed)
        return p->err;
    p->executed = 1;
    p->why = p->err ? WHY_NOMEM : WHY_UNREACHABLE;
    if (p->err)
        return p->err;
    if (p->r->flushing || !(ctx = connected(p->r)))
        return p->err = EB_ERR_REDIS;
    if (!p->n)
        return EB_OK;
    /* Written now, so that Redis works on them while the caller goes on;
     * the replies are small and wait in the socket. Owed only once
     * written: a failed write is the caller's to report. */
    if (!write_all(p->r, ctx, p->out.p, p->out.len))
        return p->err = EB_ERR_REDIS;
    p->r->owed += p->n;
    return EB_OK;
}

size_t eb__redis_owed_check(eb_redis_t *r, char *why, size_t size)
{
    size_t failed;

    if (r->ctx && r->owed)
        (void)settle_owed(r);
    failed = r->owed_failed;
    if (failed && why)
        snprintf(why, size, "%s", r->owed_why);
    r->owed_failed = 0;
    r->owed_why[0] = '\0';
    return failed;
}

size_t eb_redis_pipeline_count(const eb_redis_pipeline_t *p)
{
    return p->n;
}

static eb_redis_result_t noreply(const char *why)
{
    eb_redis_result_t res = {EB_REDIS_NOREPLY, why, strlen(why), 0, 0, NULL};

    return res;
}

/* The plain view of one hiredis reply. */
static eb_redis_result_t result_of(const redisReply *rep)
{
    eb_redis_result_t res = {EB_REDIS_NIL, "", 0, 0, 0, rep};

    switch (rep->type) {
    case REDIS_REPLY_NIL:
        break;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
        res.kind = rep->type == REDIS_REPLY_STRING   ? EB_REDIS_STRING
                   : rep->type == REDIS_REPLY_STATUS ? EB_REDIS_STATUS
                                                     : EB_REDIS_ERROR;
        res.str = rep->str ? rep->str : "";
        res.len = rep->str ? rep->len : 0;
        break;
    case REDIS_REPLY_INTEGER:
        res.kind = EB_REDIS_INTEGER;
        res.integer = rep->integer;
        break;
    case REDIS_REPLY_ARRAY:
        res.kind = EB_REDIS_ARRAY;
        res.elements = rep->elements;
        break;
    default:
        return noreply("unexpected reply type");
    }
    return res;
}

eb_redis_result_t eb_redis_pipeline_result(const eb_redis_pipeline_t *p, size_t i)
{
    if (i >= p->n)
        return noreply("no such command");
    if (!p->executed)
        return noreply("not executed");
    if (!p->reps || !p->reps[i])
        return noreply(p->why ? p->why : WHY_UNREACHABLE);
    return result_of(p->reps[i]);
}

eb_redis_result_t eb_redis_result_element(const eb_redis_result_t *array, size_t i)
{
    const redisReply *rep = array->node;

    if (array->kind != EB_REDIS_ARRAY || !rep || i >= rep->elements || !rep->element[i])
        return noreply("no such element");
    return result_of(rep->element[i]);
}

void eb_redis_pipeline_clear(eb_redis_pipeline_t *p)
{
    unflush(p);
    p->sent = p->sent_bytes = 0;
    for (size_t i = 0; p->reps && i < p->n; i++)
        if (p->reps[i])
            freeReplyObject(p->reps[i]);
    free(p->reps);
    p->reps = NULL;
    p->n = 0;
    p->out.len = 0;
    p->executed = 0;
    p->err = EB_OK;
    p->why = NULL;
}

void eb_redis_pipeline_destroy(eb_redis_pipeline_t *p)
{
    if (!p)
        return;
    eb_redis_pipeline_clear(p);
    free(p->out.p);
    free(p);
}

const char *eb_redis_refusal(const eb_redis_t *r, uint64_t *seq)
{
    if (seq)
        *seq = r ? r->refusal_seq : 0;
    return r && r->refusal_seq ? r->refusal : NULL;
}

int eb_redis_probe_write(eb_redis_t *r, const char *key, char *reason, size_t size)
{
    redisReply *rep = command(r, "SET %s 1 PX 10000", key);
    int ok;

    if (!rep) {
        snprintf(reason, size, "redis unreachable");
        return -1;
    }
    ok = rep->type == REDIS_REPLY_STATUS;
    if (!ok)
        snprintf(reason, size, "%s",
                 rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
    freeReplyObject(rep);
    return ok;
}

int eb_redis_ping(eb_redis_t *r)
{
    redisReply *rep = command(r, "PING");
    int ok = rep && rep->type == REDIS_REPLY_STATUS && strcmp(rep->str, "PONG") == 0;

    if (rep)
        freeReplyObject(rep);
    return ok;
}
