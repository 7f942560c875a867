/*
 * Unit tests for redis.c's RESP encoder: every command it writes must be
 * byte for byte what hiredis's own formatter writes for the same input,
 * which is what pipelines sent before the encoder existed.
 */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>

#include <hiredis/hiredis.h>

#include "redis_int.h"

/* Appends argv with the encoder (twice, so the second lands after the
 * first in a buffer that has grown) and checks it against hiredis. */
static void check_argv(int argc, const char **argv, const size_t *lens)
{
    eb_resp_buf_t b = {0};
    char *want = NULL;
    long long n = redisFormatCommandArgv(&want, argc, argv, lens);

    assert_true(n >= 0);
    assert_int_equal(eb__resp_append_argv(&b, argc, argv, lens), 1);
    assert_int_equal(eb__resp_append_argv(&b, argc, argv, lens), 1);
    assert_int_equal(b.len, 2 * (size_t)n);
    assert_memory_equal(b.p, want, (size_t)n);
    assert_memory_equal(b.p + n, want, (size_t)n);
    redisFreeCommand(want);
    free(b.p);
}

static void argv_fixed_shapes(void **state)
{
    const char *hset[] = {"HSET", "order:1", "userId", "u-1", "items", "[{\"a\":1}]"};
    const char *empty[] = {"SET", "", ""};
    const char *one[] = {"PING"};
    const char bin[] = {'a', '\0', '\r', '\n', '$', '*', '\xff', 'z'};
    const char *binv[] = {"SET", "k\0x", bin};
    const size_t binl[] = {3, 3, sizeof(bin)};

    (void)state;
    check_argv(6, hset, NULL);
    check_argv(3, empty, NULL);
    check_argv(1, one, NULL);
    check_argv(3, binv, binl);
    check_argv(0, one, NULL);
}

/* Random argument vectors: 1..40 arguments of 0..N bytes, every byte value,
 * lengths across digit-count boundaries (9/10, 99/100, 9999/10000). */
static void argv_generated(void **state)
{
    static char pool[70000];
    unsigned seed = 13;
    const size_t edges[] = {0, 1, 9, 10, 99, 100, 999, 1000, 9999, 10000, 65536};

    (void)state;
    for (size_t i = 0; i < sizeof(pool); i++)
        pool[i] = (char)(rand_r(&seed) & 0xff);
    for (int round = 0; round < 150; round++) {
        const char *argv[40];
        size_t lens[40];
        int argc = 1 + rand_r(&seed) % 40;

        for (int i = 0; i < argc; i++) {
            int r = rand_r(&seed);

            lens[i] = r % 4 == 0 ? edges[(size_t)(r / 4) % (sizeof(edges) / sizeof(edges[0]))]
                                 : (size_t)(r / 4) % 300;
            argv[i] = pool + (size_t)rand_r(&seed) % (sizeof(pool) - lens[i]);
        }
        check_argv(argc, argv, lens);
    }
}

/* Checks one format with its arguments against redisvFormatCommand. */
static void check_fmt(const char *fmt, ...)
{
    eb_resp_buf_t b = {0};
    char *want = NULL;
    va_list ap, ap2;
    int n;

    va_start(ap, fmt);
    va_copy(ap2, ap);
    n = redisvFormatCommand(&want, fmt, ap);
    assert_true(n >= 0);
    assert_int_equal(eb__resp_appendv(&b, fmt, ap2), 1);
    va_end(ap2);
    va_end(ap);
    if (b.len != (size_t)n || memcmp(b.p, want, (size_t)n) != 0)
        fail_msg("format \"%s\": %zu bytes differ from hiredis's %d", fmt, b.len, n);
    redisFreeCommand(want);
    free(b.p);
}

static void formats_like_hiredis(void **state)
{
    const char bin[] = {'v', '\0', 'w', '\r', '\n'};

    (void)state;
    check_fmt("PING");
    check_fmt("MULTI");
    check_fmt("  GET   %s  ", "k");
    check_fmt("GET %s", "");        /* an empty argument */
    check_fmt("SET %s %s", "", ""); /* two */
    check_fmt("SET %b %b", "", (size_t)0, bin, sizeof(bin));
    check_fmt("SET %s %s EX %lld", "idem:http:k", "id fp", 86400LL);
    check_fmt("SET %s %s NX GET PX %d", "idem:g:e", "tok", 30000);
    check_fmt("EVAL %s 1 %s %s %d", "return 1", "key", "tok", -5);
    check_fmt("INCR k%d", 2147483647);
    check_fmt("X %d %i %u %ld %lu %lld %llu", -2147483647 - 1, 7, 4294967295U, -1L,
              18446744073709551615UL, -9223372036854775807LL - 1, 18446744073709551615ULL);
    check_fmt("HGET user:%s createdAt", "u-1");
    check_fmt("SET a%sb%sc %b", "x", "y", bin, sizeof(bin)); /* pieces of one argument */
    check_fmt("ECHO 100%%");
    check_fmt("ECHO %% %%%s", "x");
    check_fmt("ECHO trailing%");
    check_fmt("ECHO %");
    check_fmt("");
    check_fmt("   ");
    check_fmt("EVAL %s 2 payment:decision:%s payment:refund:%s %s %b", "s", "o", "o", "n", bin,
              sizeof(bin));
    /* Conversions the encoder leaves to hiredis. */
    check_fmt("SET %s %.2f", "k", 3.14159);
    check_fmt("SET %s %5d|%x", "k", 42, 255u);
    check_fmt("SET %s %hhd %hd", "k", 7, 300);
}

static void many_pieces(void **state)
{
    /* More pieces than the encoder keeps on its stack: hiredis's path. */
    char fmt[400] = "MSET";

    (void)state;
    for (int i = 0; i < 70; i++)
        strcat(fmt, " a");
    check_fmt(fmt);
    strcpy(fmt, "X");
    for (int i = 0; i < 20; i++)
        strcat(fmt, " %d");
    check_fmt(fmt, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(argv_fixed_shapes),
        cmocka_unit_test(argv_generated),
        cmocka_unit_test(formats_like_hiredis),
        cmocka_unit_test(many_pieces),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
