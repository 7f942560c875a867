/*
 * JSON from outside: strict parsing (whole, valid UTF-8, bounded depth), and
 * the escapes of JSON strings.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eb_int.h"
#include "eventbus/json.h"

/* The bytes depth_ok() stops at: outside a string ('"', the brackets) and
 * inside one ('"', '\\'). Every other byte is skipped by a table lookup. */
enum { SCAN_QUOTE = 1, SCAN_ESCAPE = 2, SCAN_OPEN = 4, SCAN_CLOSE = 8 };
static const unsigned char scan_class[256] = {
    ['"'] = SCAN_QUOTE, ['\\'] = SCAN_ESCAPE, ['{'] = SCAN_OPEN,
    ['['] = SCAN_OPEN,  ['}'] = SCAN_CLOSE,   [']'] = SCAN_CLOSE,
};

/* Returns 1 if the JSON text nests objects and arrays at most max deep
 * (strings and their escapes skipped). */
int eb__json_depth_ok(const void *text, size_t len, int max)
{
    const unsigned char *p = text, *end = p + len;
    int depth = 0;

    while (p < end) {
        /* Outside a string: only quotes and brackets matter. */
        while (p < end && !(scan_class[*p] & (SCAN_QUOTE | SCAN_OPEN | SCAN_CLOSE)))
            p++;
        if (p == end)
            break;
        if (scan_class[*p] & SCAN_OPEN) {
            if (++depth > max)
                return 0;
        } else if (scan_class[*p] & SCAN_CLOSE) {
            depth--;
        } else {
            /* A string: up to its closing quote, an escape taking the byte
             * after it along. */
            p++;
            while (p < end && *p != '"') {
                if (*p == '\\' && ++p == end)
                    break;
                p++;
                while (p < end && !(scan_class[*p] & (SCAN_QUOTE | SCAN_ESCAPE)))
                    p++;
            }
            if (p == end)
                break;
        }
        p++;
    }
    return 1;
}

cJSON *eb_json_parse(const void *buf, size_t len, int max_depth, char *errstr, size_t errstr_size)
{
    const char *end = NULL;
    cJSON *root;

    if (!buf || len == 0) {
        eb__seterr(errstr, errstr_size, EB_ERR_INVALID, "not JSON: empty");
        return NULL;
    }
    if (!eb__json_utf8_valid(buf, len)) {
        eb__seterr(errstr, errstr_size, EB_ERR_INVALID, "not JSON: invalid UTF-8");
        return NULL;
    }
    if (!eb__json_depth_ok(buf, len, max_depth)) {
        eb__seterr(errstr, errstr_size, EB_ERR_INVALID, "JSON nested deeper than %d levels",
                   max_depth);
        return NULL;
    }
    root = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
    if (!root) {
        size_t at = end ? (size_t)(end - (const char *)buf) : 0;

        eb__seterr(errstr, errstr_size, EB_ERR_INVALID, "not JSON: parse error at byte %zu", at);
        return NULL;
    }
    while (end && end < (const char *)buf + len && isspace((unsigned char)*end))
        end++;
    if (end != (const char *)buf + len) {
        eb__seterr(errstr, errstr_size, EB_ERR_INVALID, "not JSON: trailing data at byte %zu",
                   (size_t)(end - (const char *)buf));
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

int eb__json_utf8_valid(const void *p, size_t len)
{
    const unsigned char *s = p, *e = s + len;

    while (s < e) {
        unsigned char c = *s;
        size_t n;
        uint32_t cp;

        /* ASCII, most of an event, eight bytes at a time. */
        while ((size_t)(e - s) >= 8) {
            uint64_t w;

            memcpy(&w, s, 8);
            if (w & 0x8080808080808080u)
                break;
            s += 8;
        }
        if (s == e)
            break;
        c = *s;
        if (c < 0x80) {
            s++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            n = 1;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if ((size_t)(e - s) <= n)
            return 0;
        for (size_t i = 1; i <= n; i++) {
            if ((s[i] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i] & 0x3f);
        }
        /* Reject overlong forms, surrogates and values past U+10FFFF. */
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
            return 0;
        s += n + 1;
    }
    return 1;
}

void eb__json_utf8_trim(char *s)
{
    size_t n = strlen(s), start = n;

    /* Find the lead byte of the last character. */
    while (start > 0 && ((unsigned char)s[start - 1] & 0xc0) == 0x80)
        start--;
    if (start == 0)
        return;
    start--;
    unsigned char lead = (unsigned char)s[start];
    size_t want = lead < 0x80 ? 1 : (lead & 0xe0) == 0xc0 ? 2 : (lead & 0xf0) == 0xe0 ? 3 : 4;

    if (n - start < want)
        s[start] = '\0';
}

size_t eb__json_escape_char(unsigned char c, char out[8])
{
    static const char hex[] = "0123456789abcdef";

    switch (c) {
    case '"':
        memcpy(out, "\\\"", 2);
        return 2;
    case '\\':
        memcpy(out, "\\\\", 2);
        return 2;
    case '\n':
        memcpy(out, "\\n", 2);
        return 2;
    case '\r':
        memcpy(out, "\\r", 2);
        return 2;
    case '\t':
        memcpy(out, "\\t", 2);
        return 2;
    default:
        if (c < 0x20) {
            memcpy(out, "\\u00", 4);
            out[4] = hex[c >> 4];
            out[5] = hex[c & 0xf];
            return 6;
        }
        out[0] = (char)c;
        return 1;
    }
}

char *eb_json_uint(char *out, uint64_t v)
{
    char tmp[EB_JSON_UINT_MAX];
    size_t n = 0;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *out++ = tmp[--n];
    return out;
}

char *eb_json_quote(char *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *b = (const unsigned char *)s, *end = b + n;

    *out++ = '"';
    while (b < end) {
        const unsigned char *run = b;

        while (b < end && *b >= 0x20 && *b != '"' && *b != '\\')
            b++;
        if (b > run) {
            memcpy(out, run, (size_t)(b - run));
            out += b - run;
        }
        if (b == end)
            break;
        *out++ = '\\';
        switch (*b) {
        case '"':
        case '\\':
            *out++ = (char)*b;
            break;
        case '\b':
            *out++ = 'b';
            break;
        case '\f':
            *out++ = 'f';
            break;
        case '\n':
            *out++ = 'n';
            break;
        case '\r':
            *out++ = 'r';
            break;
        case '\t':
            *out++ = 't';
            break;
        default:
            memcpy(out, "u00", 3);
            out[3] = hex[*b >> 4];
            out[4] = hex[*b & 0xf];
            out += 5;
        }
        b++;
    }
    *out++ = '"';
    return out;
}

/* ---- the decode arena ------------------------------------------------------- */

/* A consumer turn decodes a batch of events into cJSON trees (some 70
 * nodes and strings each) and deletes them all at the end of the turn. From
 * malloc that cost a third of payment-service's CPU (perf: _int_malloc,
 * _int_free, cache misses on nodes scattered over the heap). Between
 * eb__json_arena_enter() and _leave() a thread's cJSON allocations come
 * from its arena instead: a bump pointer in chunks kept across turns. A
 * free of an arena block only counts it; when the last one is freed the
 * arena starts again at its first chunk. Every other block, and every
 * allocation outside, is malloc's. The thread that allocated a tree frees
 * it (the consumer's turn does both), which is what makes a thread-local
 * arena safe: another thread would hand our block to free(). */

#define ARENA_CHUNK ((size_t)1 << 20)  /* bytes per chunk */
#define ARENA_MAX   ((size_t)64 << 20) /* past this, malloc again */
#define ARENA_ALIGN 16

#if defined(__SANITIZE_ADDRESS__) /* gcc, newer clang */
#define ARENA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) /* older clang */
#define ARENA_ASAN 1
#endif
#endif
#ifdef ARENA_ASAN
#include <sanitizer/asan_interface.h>
#define ARENA_POISON(p, n)   ASAN_POISON_MEMORY_REGION(p, n)
#define ARENA_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define ARENA_POISON(p, n)   ((void)(p), (void)(n))
#define ARENA_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

typedef struct arena_chunk_s {
    struct arena_chunk_s *next;
    size_t size;
    _Alignas(ARENA_ALIGN) unsigned char data[];
} arena_chunk_t;

typedef struct arena_s {
    arena_chunk_t *first, *cur;
    size_t used;  /* bytes handed out of cur */
    size_t total; /* bytes of all chunks */
    size_t live;  /* blocks not freed yet */
    int active;
} arena_t;

static _Thread_local arena_t tl_arena;
static pthread_once_t arena_once = PTHREAD_ONCE_INIT;
static pthread_key_t arena_key;

static void arena_reset(arena_t *a)
{
    for (arena_chunk_t *c = a->first; c; c = c->next)
        ARENA_POISON(c->data, c->size);
    a->cur = a->first;
    a->used = 0;
}

static void *arena_alloc(arena_t *a, size_t n)
{
    void *p;

    if (n > ARENA_MAX)
        return NULL; /* malloc's, and no size arithmetic can wrap */
    n = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    while (a->cur && a->used + n > a->cur->size && a->cur->next) {
        a->cur = a->cur->next; /* chunks of an earlier turn */
        a->used = 0;
    }
    if (!a->cur || a->used + n > a->cur->size) {
        size_t size = n > ARENA_CHUNK ? n : ARENA_CHUNK;
        arena_chunk_t *c;

        if (a->total + size > ARENA_MAX || !(c = malloc(sizeof(*c) + size)))
            return NULL;
        c->next = NULL;
        c->size = size;
        ARENA_POISON(c->data, size);
        if (a->cur)
            a->cur->next = c;
        else
            a->first = c;
        a->cur = c;
        a->used = 0;
        a->total += size;
        /* The thread's exit frees the chunks. */
        (void)pthread_setspecific(arena_key, a);
    }
    p = a->cur->data + a->used;
    a->used += n;
    a->live++;
    ARENA_UNPOISON(p, n);
    return p;
}

static int arena_owns(const arena_t *a, const void *p)
{
    for (const arena_chunk_t *c = a->first; c; c = c->next)
        if ((const unsigned char *)p >= c->data && (const unsigned char *)p < c->data + c->size)
            return 1;
    return 0;
}

static void *hook_malloc(size_t n)
{
    arena_t *a = &tl_arena;
    void *p;

    if (a->active && (p = arena_alloc(a, n)))
        return p;
    return malloc(n);
}

static void hook_free(void *p)
{
    arena_t *a = &tl_arena;

    if (p && a->first && arena_owns(a, p)) {
        if (--a->live == 0)
            arena_reset(a);
        return;
    }
    free(p);
}

static void arena_drop(void *arg)
{
    arena_t *a = arg;

    /* A block still alive past its thread is a leak of the caller's; its
     * chunk stays rather than being freed under it. */
    if (a->live)
        return;
    while (a->first) {
        arena_chunk_t *next = a->first->next;

        ARENA_UNPOISON(a->first->data, a->first->size);
        free(a->first);
        a->first = next;
    }
    memset(a, 0, sizeof(*a));
}

static void arena_install(void)
{
    cJSON_Hooks hooks = {.malloc_fn = hook_malloc, .free_fn = hook_free};

    (void)pthread_key_create(&arena_key, arena_drop);
    cJSON_InitHooks(&hooks);
}

void eb__json_arena_install(void)
{
    (void)pthread_once(&arena_once, arena_install);
}

void eb__json_arena_enter(void)
{
    eb__json_arena_install();
    tl_arena.active = 1;
}

void eb__json_arena_leave(void)
{
    tl_arena.active = 0;
}

size_t eb__json_arena_live(void)
{
    return tl_arena.live;
}

size_t eb__json_arena_size(void)
{
    return tl_arena.total;
}
