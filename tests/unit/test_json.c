/*
 * Unit tests for json.c: the UTF-8 check and cut of JSON text from outside.
 * (Parsing itself is tested through eb_event_decode in test_envelope.c.)
 */
#include "unit.h"

#include <string.h>

#include <stdlib.h>

#include "eb_int.h"
#include "eventbus/json.h"

/* ---- UTF-8 ---------------------------------------------------------------- */

typedef struct {
    const char *bytes;
    size_t len;
    const char *what;
} utf8_case_t;

#define U(s, what)                                                                                 \
    {                                                                                              \
        s, sizeof(s) - 1, what                                                                     \
    }

static void utf8_valid_cases(void **state)
{
    static const utf8_case_t good[] = {
        U("", "empty"),
        U("hello, world", "ASCII"),
        U("a\0b", "NUL is a valid code point"),
        U("\x7f", "U+007F"),
        U("\xc2\x80", "U+0080, smallest 2-byte"),
        U("caf\xc3\xa9", "2-byte e acute"),
        U("\xdf\xbf", "U+07FF, largest 2-byte"),
        U("\xe0\xa0\x80", "U+0800, smallest 3-byte"),
        U("\xe2\x82\xac", "3-byte euro sign"),
        U("\xed\x9f\xbf", "U+D7FF, just below the surrogates"),
        U("\xee\x80\x80", "U+E000, just above the surrogates"),
        U("\xef\xbf\xbf", "U+FFFF"),
        U("\xf0\x90\x80\x80", "U+10000, smallest 4-byte"),
        U("\xf0\x9f\x98\x80", "4-byte emoji"),
        U("\xf4\x8f\xbf\xbf", "U+10FFFF, the last code point"),
        U("x\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80y", "mixed"),
    };

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (!eb__json_utf8_valid(good[i].bytes, good[i].len))
            fail_msg("rejected %s", good[i].what);
}

static void utf8_invalid_cases(void **state)
{
    static const utf8_case_t bad[] = {
        U("\x80", "lone continuation byte"),
        U("a\xbf", "continuation byte after ASCII"),
        U("\xc3\x28", "2-byte lead with an ASCII second byte"),
        U("\xc0\x80", "overlong NUL"),
        U("\xc0\xaf", "overlong '/'"),
        U("\xc1\xbf", "overlong U+007F"),
        U("\xe0\x80\xaf", "overlong 3-byte '/'"),
        U("\xe0\x9f\xbf", "overlong U+07FF"),
        U("\xf0\x80\x80\xaf", "overlong 4-byte '/'"),
        U("\xf0\x8f\xbf\xbf", "overlong U+FFFF"),
        U("\xed\xa0\x80", "surrogate U+D800"),
        U("\xed\xbf\xbf", "surrogate U+DFFF"),
        U("\xed\xa0\xbd\xed\xb8\x80", "CESU-8 surrogate pair"),
        U("\xc3", "truncated 2-byte"),
        U("\xe2\x82", "truncated 3-byte"),
        U("\xf0\x9f\x98", "truncated 4-byte"),
        U("ok\xe2", "truncated at the end"),
        U("\xe2\x82\x28", "3-byte with a bad third byte"),
        U("\xf4\x90\x80\x80", "U+110000"),
        U("\xf5\x80\x80\x80", "lead byte F5"),
        U("\xf7\xbf\xbf\xbf", "lead byte F7"),
        U("\xf8\x88\x80\x80\x80", "5-byte form"),
        U("\xfc\x84\x80\x80\x80\x80", "6-byte form"),
        U("\xfe", "byte FE"),
        U("\xff", "byte FF"),
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (eb__json_utf8_valid(bad[i].bytes, bad[i].len))
            fail_msg("accepted %s", bad[i].what);
}

static void utf8_respects_length(void **state)
{
    /* Only len bytes are looked at. */
    assert_false(eb__json_utf8_valid("\xc3\xa9", 1));
    assert_true(eb__json_utf8_valid("\xc3\xa9\xff", 2));
    assert_true(eb__json_utf8_valid("\xff", 0));
}

/* eb_json_quote() escapes as cJSON prints: every byte alone, and strings. */
static void quote_like_cjson(void **state)
{
    char in[64], out[EB_JSON_QUOTED_MAX(sizeof(in))];
    unsigned seed = 7;

    (void)state;
    for (int round = 0; round < 256 + 500; round++) {
        size_t n = round < 256 ? 1 : (size_t)rand_r(&seed) % sizeof(in);
        cJSON *str;
        char *want, *end;

        if (round == 0)
            continue; /* a C string has no NUL inside */
        for (size_t i = 0; i < n; i++)
            in[i] = round < 256 ? (char)round : (char)(1 + rand_r(&seed) % 255);
        in[n] = '\0';
        str = cJSON_CreateString(in);
        want = cJSON_PrintUnformatted(str);
        end = eb_json_quote(out, in, n);
        assert_true((size_t)(end - out) <= EB_JSON_QUOTED_MAX(n));
        if ((size_t)(end - out) != strlen(want) || memcmp(out, want, strlen(want)) != 0)
            fail_msg("round %d: %.*s, cJSON %s", round, (int)(end - out), out, want);
        cJSON_free(want);
        cJSON_Delete(str);
    }
}

static void uint_digits(void **state)
{
    const uint64_t v[] = {0, 7, 10, 99, 100, 4294967296ULL, UINT64_MAX};
    char want[32], got[EB_JSON_UINT_MAX + 1];

    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        char *end = eb_json_uint(got, v[i]);

        *end = '\0';
        snprintf(want, sizeof(want), "%llu", (unsigned long long)v[i]);
        assert_string_equal(got, want);
        assert_true((size_t)(end - got) <= EB_JSON_UINT_MAX);
    }
}

/* The nesting rule counts brackets outside strings only; an escaped quote
 * does not end a string, an escaped backslash does not escape the quote. */
static void depth_counts_brackets_outside_strings(void **state)
{
    static const struct {
        const char *text;
        int max, ok;
    } cases[] = {
        {"{}", 1, 1},
        {"{}", 0, 0},
        {"[[[]]]", 3, 1},
        {"[[[]]]", 2, 0},
        {"{\"a\":[1,{\"b\":[]}]}", 4, 1},
        {"{\"a\":[1,{\"b\":[]}]}", 3, 0},
        {"[\"[[[[\"]", 1, 1},
        {"[\"\\\"[[[\"]", 1, 1},     /* "\"[[[": an escaped quote */
        {"[\"\\\\\",[[[]]]]", 1, 0}, /* "\\" ends, then 4 deep */
        {"[\"\\\\\",[[[]]]]", 4, 1},
        {"[] [] [] []", 1, 1}, /* depth returns to zero */
        {"\"unterminated [[[", 1, 1},
        {"[\"tail\\", 1, 1},
        {"0123456789abcdef0123456789abcdef[[", 1, 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (eb__json_depth_ok(cases[i].text, strlen(cases[i].text), cases[i].max) != cases[i].ok)
            fail_msg("depth_ok(%s, %d) != %d", cases[i].text, cases[i].max, cases[i].ok);
}

/* The word-at-a-time ASCII path: a bad byte at every position of a long
 * ASCII run is found, and a good one passes. */
static void utf8_long_runs(void **state)
{
    char buf[40];

    (void)state;
    for (size_t at = 0; at < sizeof(buf); at++) {
        memset(buf, 'a', sizeof(buf));
        buf[at] = (char)0xff;
        assert_false(eb__json_utf8_valid(buf, sizeof(buf)));
        if (at + 1 < sizeof(buf)) {
            buf[at] = (char)0xc3;
            buf[at + 1] = (char)0xa9;
            assert_true(eb__json_utf8_valid(buf, sizeof(buf)));
        }
    }
}

/* ---- the decode arena ---- */

static const char doc[] = "{\"id\":\"e-1\",\"data\":{\"items\":[{\"productId\":\"p-1\","
                          "\"quantity\":2},{\"productId\":\"p-2\",\"quantity\":1}],"
                          "\"total\":12.5,\"note\":\"caf\u00e9\"}}";

static cJSON *parse_doc(void)
{
    char err[128];
    cJSON *t = eb_json_parse(doc, strlen(doc), 8, err, sizeof(err));

    assert_non_null(t);
    return t;
}

/* Trees made inside come from the arena, which starts again at the same
 * place once they are all deleted: the memory of one turn is the next's. */
static void arena_blocks_come_back(void **state)
{
    cJSON *a, *b;
    size_t size;

    (void)state;
    eb__json_arena_enter();
    a = parse_doc();
    b = parse_doc();
    eb__json_arena_leave();
    assert_true(eb__json_arena_live() > 10);
    size = eb__json_arena_size();
    assert_true(size > 0);
    /* The trees read as parsed. */
    assert_string_equal(cJSON_GetObjectItem(a, "id")->valuestring, "e-1");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(b, "data"), "note")->valuestring,
                        "caf\xc3\xa9");
    cJSON_Delete(a);
    assert_true(eb__json_arena_live() > 0);
    cJSON_Delete(b);
    assert_int_equal(eb__json_arena_live(), 0);

    /* Empty: the next tree lands where the first did, and nothing grew. */
    eb__json_arena_enter();
    b = parse_doc();
    eb__json_arena_leave();
    cJSON_Delete(parse_doc()); /* outside: malloc's, freed by free() */
    assert_ptr_equal(b, a);
    assert_int_equal(eb__json_arena_size(), size);
    cJSON_Delete(b);
    assert_int_equal(eb__json_arena_live(), 0);
}

/* One tree of both kinds: nodes made outside the arena, added to a tree
 * made inside (an upcast), and the reverse, are each freed their way. */
static void arena_mixed_trees(void **state)
{
    cJSON *in, *out;

    (void)state;
    out = parse_doc();
    eb__json_arena_enter();
    in = parse_doc();
    assert_non_null(cJSON_AddStringToObject(out, "added", "inside"));
    eb__json_arena_leave();
    assert_non_null(cJSON_AddStringToObject(in, "added", "outside"));
    assert_string_equal(cJSON_GetObjectItem(out, "added")->valuestring, "inside");
    cJSON_Delete(in);
    assert_true(eb__json_arena_live() > 0); /* out's new node */
    cJSON_Delete(out);
    assert_int_equal(eb__json_arena_live(), 0);
}

/* A block larger than a chunk gets a chunk of its own; past the cap the
 * arena hands allocation back to malloc instead of growing. */
static void arena_large_and_capped(void **state)
{
    size_t big = (size_t)3 << 20;
    char *text = malloc(big + 3);
    cJSON *s, *more[40];
    size_t n = 0;

    (void)state;
    assert_non_null(text);
    memset(text, 'x', big);
    text[big] = '\0';
    eb__json_arena_enter();
    s = cJSON_CreateString(text);
    assert_non_null(s);
    assert_true(eb__json_arena_size() >= big);
    /* 40 more of 3 MiB pass the 64 MiB cap: all succeed all the same. */
    for (n = 0; n < 40; n++)
        assert_non_null(more[n] = cJSON_CreateString(text));
    eb__json_arena_leave();
    assert_true(eb__json_arena_size() <= ((size_t)64 << 20));
    assert_int_equal(strlen(more[39]->valuestring), big);
    for (size_t i = 0; i < n; i++)
        cJSON_Delete(more[i]);
    cJSON_Delete(s);
    assert_int_equal(eb__json_arena_live(), 0);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(utf8_valid_cases),
        cmocka_unit_test(utf8_invalid_cases),
        cmocka_unit_test(utf8_respects_length),
        cmocka_unit_test(quote_like_cjson),
        cmocka_unit_test(uint_digits),
        cmocka_unit_test(depth_counts_brackets_outside_strings),
        cmocka_unit_test(utf8_long_runs),
        cmocka_unit_test(arena_blocks_come_back),
        cmocka_unit_test(arena_mixed_trees),
        cmocka_unit_test(arena_large_and_capped),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
