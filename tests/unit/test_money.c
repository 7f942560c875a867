/*
 * Unit tests for money.c: JSON numbers and decimal text to minor units and
 * back, with the two-decimal and EB_MONEY_MAX limits.
 */
#include "unit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eventbus/money.h"

/* Parses json (a JSON value) and converts it. */
static eb_err_t from_json_text(const char *json, int64_t *minor)
{
    cJSON *item = cJSON_Parse(json);
    eb_err_t err;

    if (!item)
        fail_msg("test JSON does not parse: %s", json);
    err = eb_money_from_json(item, minor);
    cJSON_Delete(item);
    return err;
}

static void from_json_accepts(void **state)
{
    static const struct {
        const char *json;
        int64_t minor;
    } cases[] = {
        {"50", 5000},
        {"50.1", 5010},
        {"50.12", 5012},
        {"50.10", 5010},
        {"0.29", 29}, /* 0.29 * 100 is 28.999999999999996 in binary */
        {"0.07", 7},  /* 7.000000000000001 */
        {"1.15", 115},
        {"19.99", 1999},
        {"1e2", 10000},
        {"1.5E1", 1500},
        {"-3.5", -350},
        {"0", 0},
        {"-0", 0},
        {"0.01", 1},
        {"1234567.89", 123456789},
        {"99999999999.99", INT64_C(9999999999999)},
        {"100000000000", INT64_C(10000000000000)}, /* exactly EB_MONEY_MAX */
        {"-100000000000", -INT64_C(10000000000000)},
    };
    int64_t minor;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        minor = -999;
        if (from_json_text(cases[i].json, &minor) != EB_OK)
            fail_msg("rejected %s", cases[i].json);
        if (minor != cases[i].minor)
            fail_msg("%s: got %lld, want %lld", cases[i].json, (long long)minor,
                     (long long)cases[i].minor);
    }
}

static void from_json_rejects(void **state)
{
    static const char *const bad[] = {
        "50.123",          /* third decimal */
        "0.005",           /* half a cent */
        "0.001",           /* a tenth of a cent */
        "1.999",           /* rounds to 2.00 but is not 2.00 */
        "-3.555",          /* negative with a third decimal */
        "100000000000.01", /* just past EB_MONEY_MAX */
        "1e12",            /* huge */
        "-1e12",           /* huge negative */
        "1e300",           /* far beyond int64 */
        "99999999999.999", /* third decimal near the limit */
        "\"50\"",          /* a string, even of a number */
        "\"NaN\"",         /* NaN cannot come from JSON; the string is a string */
        "true",
        "null",
        "[50]",
        "{\"amount\":50}",
    };
    int64_t minor;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        minor = 4242;
        if (from_json_text(bad[i], &minor) != EB_ERR_INVALID)
            fail_msg("accepted %s as %lld", bad[i], (long long)minor);
        assert_int_equal(minor, 4242); /* untouched on failure */
    }
    /* cJSON itself rejects the NaN and Infinity spellings. */
    assert_null(cJSON_Parse("NaN"));
    assert_null(cJSON_Parse("Infinity"));
}

static void from_json_rejects_non_finite_and_null(void **state)
{
    cJSON *nan = cJSON_CreateNumber(NAN);
    cJSON *inf = cJSON_CreateNumber(INFINITY);
    cJSON *ninf = cJSON_CreateNumber(-INFINITY);
    int64_t minor = 1;

    assert_int_equal(eb_money_from_json(nan, &minor), EB_ERR_INVALID);
    assert_int_equal(eb_money_from_json(inf, &minor), EB_ERR_INVALID);
    assert_int_equal(eb_money_from_json(ninf, &minor), EB_ERR_INVALID);
    assert_int_equal(eb_money_from_json(NULL, &minor), EB_ERR_INVALID);
    assert_int_equal(minor, 1);
    cJSON_Delete(nan);
    cJSON_Delete(inf);
    cJSON_Delete(ninf);
}

static void parse_accepts(void **state)
{
    static const struct {
        const char *text;
        int64_t minor;
    } cases[] = {
        {"10000.00", 1000000},
        {"12.5", 1250},
        {"7", 700},
        {"-1.25", -125},
        {"0", 0},
        {"0.01", 1},
        {"0.10", 10},
        {"007.50", 750},
        {"100000000000", INT64_C(10000000000000)}, /* exactly EB_MONEY_MAX */
        {"-100000000000.00", -INT64_C(10000000000000)},
    };
    int64_t minor;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        minor = -999;
        if (eb_money_parse(cases[i].text, &minor) != EB_OK)
            fail_msg("rejected \"%s\"", cases[i].text);
        if (minor != cases[i].minor)
            fail_msg("\"%s\": got %lld, want %lld", cases[i].text, (long long)minor,
                     (long long)cases[i].minor);
    }
}

static void parse_rejects(void **state)
{
    static const char *const bad[] = {
        "",   ".",   "1.",   "1.234", "abc",          "-",    "-.",  "12a", "1.2.3",  "1,50", " 7",
        "7 ", "1e2", "0x10", "1.5x",  "100000000001", "1..5", "--1", "1-",  "1.00\n", "1. 5", "NaN",
    };
    int64_t minor;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        minor = 4242;
        if (eb_money_parse(bad[i], &minor) != EB_ERR_INVALID)
            fail_msg("accepted \"%s\" as %lld", bad[i], (long long)minor);
        assert_int_equal(minor, 4242);
    }
    assert_int_equal(eb_money_parse(NULL, &minor), EB_ERR_INVALID);
}

static void format_cases(void **state)
{
    static const struct {
        int64_t minor;
        const char *text;
    } cases[] = {
        {0, "0"},
        {5, "0.05"},
        {50, "0.5"},
        {1, "0.01"},
        {99, "0.99"},
        {100, "1"},
        {10000, "100"},
        {10050, "100.5"},
        {10005, "100.05"},
        {123456789, "1234567.89"},
        {-150, "-1.5"},
        {-5, "-0.05"},
        {-100, "-1"},
        {INT64_C(10000000000000), "100000000000"},
        {INT64_MAX, "92233720368547758.07"},
        {INT64_MIN, "-92233720368547758.08"},
    };
    char buf[EB_MONEY_TEXT_MAX];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n;

        memset(buf, 'x', sizeof(buf));
        n = eb_money_format(cases[i].minor, buf, sizeof(buf));
        assert_string_equal(buf, cases[i].text);
        assert_int_equal(n, strlen(cases[i].text));
    }
}

static void format_fixed_cases(void **state)
{
    static const struct {
        int64_t minor;
        const char *text;
    } cases[] = {
        {0, "0.00"},
        {5, "0.05"},
        {50, "0.50"},
        {1260, "12.60"},
        {10000, "100.00"},
        {10050, "100.50"},
        {10005, "100.05"},
        {-150, "-1.50"},
        {-5, "-0.05"},
        {INT64_C(10000000000000), "100000000000.00"},
        {INT64_MAX, "92233720368547758.07"},
        {INT64_MIN, "-92233720368547758.08"},
    };
    char buf[EB_MONEY_TEXT_MAX];
    int64_t back;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n;

        memset(buf, 'x', sizeof(buf));
        n = eb_money_format_fixed(cases[i].minor, buf, sizeof(buf));
        assert_string_equal(buf, cases[i].text);
        assert_int_equal(n, strlen(cases[i].text));
    }
    /* The fixed form parses back too. */
    eb_money_format_fixed(1260, buf, sizeof(buf));
    assert_int_equal(eb_money_parse(buf, &back), EB_OK);
    assert_int_equal(back, 1260);
}

static void format_parse_round_trip(void **state)
{
    static const int64_t values[] = {
        0, 1, 10, 99, 100, 101, 1250, -125, 999999, 123456789, -123456789, INT64_C(10000000000000)};
    char buf[EB_MONEY_TEXT_MAX];
    int64_t back;

    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        eb_money_format(values[i], buf, sizeof(buf));
        assert_int_equal(eb_money_parse(buf, &back), EB_OK);
        assert_true(back == values[i]);
    }
}

/* Prints {"v":<eb_money_to_json(minor)>}. */
static char *print_in_object(int64_t minor)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *n = eb_money_to_json(minor);
    char *text;

    assert_non_null(o);
    assert_non_null(n);
    assert_true(cJSON_AddItemToObject(o, "v", n));
    text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    assert_non_null(text);
    return text;
}

static void to_json_prints_format_text(void **state)
{
    static const struct {
        int64_t minor;
        const char *json;
    } cases[] = {
        {10050, "{\"v\":100.5}"},
        {10000, "{\"v\":100}"},
        {1, "{\"v\":0.01}"},
        {29, "{\"v\":0.29}"},
        {0, "{\"v\":0}"},
        {-150, "{\"v\":-1.5}"},
        {123456789, "{\"v\":1234567.89}"},
        {INT64_C(9999999999999), "{\"v\":99999999999.99}"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *text = print_in_object(cases[i].minor);
        cJSON *back;
        int64_t minor = 0;

        assert_string_equal(text, cases[i].json);
        /* What we print parses back to the same amount. */
        back = cJSON_Parse(text);
        assert_non_null(back);
        assert_int_equal(eb_money_from_json(cJSON_GetObjectItem(back, "v"), &minor), EB_OK);
        assert_true(minor == cases[i].minor);
        cJSON_Delete(back);
        cJSON_free(text);
    }
}

/*
 * Regressions: each of these failed against the first version of the code.
 */

/* Regression: money.h says EB_MONEY_MAX (1e13 minor units) is the largest magnitude
 * accepted, and eb_money_from_json() rejects 100000000000.01. eb_money_parse()
 * only checks the units part (units * 100 > EB_MONEY_MAX) and never the
 * total after adding the cents, so "100000000000.01" parses to
 * 10000000000001, one cent past EB_MONEY_MAX. */
static void parse_rejects_cents_past_max(void **state)
{
    int64_t minor = 4242;

    assert_int_equal(eb_money_parse("100000000000.01", &minor), EB_ERR_INVALID);
    assert_int_equal(eb_money_parse("-100000000000.99", &minor), EB_ERR_INVALID);
    assert_int_equal(minor, 4242);
}

/* Regression: money.h says eb_money_from_json() returns EB_ERR_INVALID when the
 * number "has more than two decimals". The check allows an absolute error
 * of 1e-6 minor units, far more than a double's rounding error for small
 * amounts (about 1e-13 at 5012), so 50.120000001 is accepted as 5012 and
 * 0.000000001 as 0: a price with nine decimals is silently rounded. */
static void from_json_rejects_tiny_fractions(void **state)
{
    int64_t minor = 4242;

    assert_int_equal(from_json_text("50.120000001", &minor), EB_ERR_INVALID);
    assert_int_equal(from_json_text("0.000000001", &minor), EB_ERR_INVALID);
    assert_int_equal(minor, 4242);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(from_json_accepts),
        cmocka_unit_test(from_json_rejects),
        cmocka_unit_test(from_json_rejects_non_finite_and_null),
        cmocka_unit_test(parse_accepts),
        cmocka_unit_test(parse_rejects),
        cmocka_unit_test(format_cases),
        cmocka_unit_test(format_fixed_cases),
        cmocka_unit_test(format_parse_round_trip),
        cmocka_unit_test(to_json_prints_format_text),
        /* Regressions. */
        cmocka_unit_test(parse_rejects_cents_past_max),
        cmocka_unit_test(from_json_rejects_tiny_fractions),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
