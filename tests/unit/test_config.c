/*
 * Unit tests for config.c: table-driven settings (defaults, environment,
 * flags), eb_config_set() per type, --help/--version, -X properties,
 * positional arguments, the usage text and eb_config_common_finish().
 *
 * The tests use a table of their own whose variables start with EBT_ so that
 * nothing in the caller's environment can interfere; every test starts with
 * those variables unset and the struct zeroed.
 */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eventbus/config.h"

typedef struct tconf_s {
    const char *name;
    int64_t count;
    int64_t port;
    int64_t limit;
    const char *mode;
    const char *file;
    const char *url;
    const char *alias;
    int64_t delta;
} tconf_t;

#define E(name, type, field, def, min, max, choices, def_help, desc, flag)                         \
    {                                                                                              \
        name, type, offsetof(tconf_t, field), def, min, max, choices, def_help, desc, flag         \
    }

static const eb_conf_entry_t entries[] = {
    E("EBT_NAME", EB_CONF_STRING, name, "alpha", 0, 0, NULL, NULL, "A name", NULL),
    E("EBT_COUNT", EB_CONF_INT, count, "5", 1, 10, NULL, NULL, "A count from 1 to 10", NULL),
    E("EBT_PORT", EB_CONF_PORT, port, "8080", 0, 0, NULL, NULL, "A TCP port", NULL),
    E("EBT_LIMIT", EB_CONF_MONEY, limit, "100.00", 0, 1000000, NULL, NULL, "An amount", NULL),
    E("EBT_MODE", EB_CONF_ENUM, mode, "fast", 0, 0, "fast|slow|off", NULL, "A mode", NULL),
    E("EBT_FILE", EB_CONF_PATH, file, "", 0, 0, NULL, "(none)", "A file", NULL),
    E("EBT_URL", EB_CONF_URL, url, "redis://127.0.0.1:6379/0", 0, 0, NULL, NULL, "A Redis URL",
      NULL),
    E("EBT_ALIAS", EB_CONF_STRING, alias, NULL, 0, 0, NULL, "computed", "Has its own flag", "nick"),
    E("EBT_DELTA", EB_CONF_INT, delta, "0", -5, 5, NULL, NULL, "A signed integer", NULL),
};
#define NENTRIES (sizeof(entries) / sizeof(entries[0]))

/* Indexes into entries[], for eb_config_set() tests. */
enum { I_NAME, I_COUNT, I_PORT, I_LIMIT, I_MODE, I_FILE, I_URL, I_ALIAS, I_DELTA };

static tconf_t conf;
static eb_conf_section_t sections[] = {{"Test", entries, NENTRIES, &conf}};

static const eb_conf_program_t prog = {
    "test-prog", "Tests the configuration tables.", "[options] [FILE]", sections, 1, 0, 1};
static const eb_conf_program_t prog_kafka = {
    "test-kafka", "Accepts -X.", "[options]", sections, 1, 1, 0};

static int setup(void **state)
{
    for (size_t i = 0; i < NENTRIES; i++)
        unsetenv(entries[i].name);
    memset(&conf, 0, sizeof(conf));
    return 0;
}

/* Runs eb_config_parse() over a NULL-terminated word list (argv[0] first).
 * The words are string literals that outlive the call, as argv would. */
static eb_err_t parse_words(const eb_conf_program_t *p, eb_conf_args_t *args, char *err,
                            size_t err_size, const char *const *words)
{
    char *argv[EB_CONF_MAX_KAFKA_PROPS + 8];
    int argc = 0;

    while (words[argc]) {
        assert_true(argc < EB_CONF_MAX_KAFKA_PROPS + 7);
        argv[argc] = (char *)words[argc];
        argc++;
    }
    argv[argc] = NULL;
    err[0] = '\0';
    return eb_config_parse(p, argc, argv, args, err, err_size);
}

#define PARSE(p, args, err, ...)                                                                   \
    parse_words(p, args, err, sizeof(err), (const char *const[]){"prog", __VA_ARGS__, NULL})
#define PARSE0(p, args, err)                                                                       \
    parse_words(p, args, err, sizeof(err), (const char *const[]){"prog", NULL})

/* ---- sources: default, environment, flag ------------------------------- */

static void defaults_apply(void **state)
{
    eb_conf_args_t args;
    char err[256];

    assert_int_equal(PARSE0(&prog, &args, err), EB_OK);
    assert_string_equal(conf.name, "alpha");
    assert_int_equal(conf.count, 5);
    assert_int_equal(conf.port, 8080);
    assert_int_equal(conf.limit, 10000);
    assert_string_equal(conf.mode, "fast");
    assert_string_equal(conf.file, "");
    assert_string_equal(conf.url, "redis://127.0.0.1:6379/0");
    assert_null(conf.alias); /* no default: stays unset */
    assert_int_equal(conf.delta, 0);
    assert_int_equal(args.action, EB_CONF_ACTION_RUN);
    assert_int_equal(args.positional_count, 0);
    assert_int_equal(args.kafka_prop_count, 0);
}

static void env_overrides_default(void **state)
{
    eb_conf_args_t args;
    char err[256];

    setenv("EBT_NAME", "beta", 1);
    setenv("EBT_COUNT", "7", 1);
    setenv("EBT_PORT", "0", 1);
    setenv("EBT_LIMIT", "12.5", 1);
    setenv("EBT_MODE", "off", 1);
    setenv("EBT_FILE", "/etc/x.conf", 1);
    setenv("EBT_URL", "redis://:pw@cache:6380/2", 1);
    setenv("EBT_ALIAS", "bob", 1);
    setenv("EBT_DELTA", "-5", 1);
    assert_int_equal(PARSE0(&prog, &args, err), EB_OK);
    assert_string_equal(conf.name, "beta");
    assert_int_equal(conf.count, 7);
    assert_int_equal(conf.port, 0);
    assert_int_equal(conf.limit, 1250);
    assert_string_equal(conf.mode, "off");
    assert_string_equal(conf.file, "/etc/x.conf");
    assert_string_equal(conf.url, "redis://:pw@cache:6380/2");
    assert_string_equal(conf.alias, "bob");
    assert_int_equal(conf.delta, -5);
}

static void flag_overrides_env(void **state)
{
    eb_conf_args_t args;
    char err[256];

    setenv("EBT_COUNT", "7", 1);
    setenv("EBT_NAME", "beta", 1);
    setenv("EBT_MODE", "off", 1);
    assert_int_equal(
        PARSE(&prog, &args, err, "--ebt-count", "9", "--ebt-name=gamma", "--ebt-mode", "slow"),
        EB_OK);
    assert_int_equal(conf.count, 9);
    assert_string_equal(conf.name, "gamma");
    assert_string_equal(conf.mode, "slow");
    /* Settings without a flag keep their default. */
    assert_int_equal(conf.port, 8080);
}

static void flag_both_spellings(void **state)
{
    eb_conf_args_t args;
    char err[256];

    assert_int_equal(PARSE(&prog, &args, err, "--ebt-port", "3000"), EB_OK);
    assert_int_equal(conf.port, 3000);
    assert_int_equal(PARSE(&prog, &args, err, "--ebt-port=3001"), EB_OK);
    assert_int_equal(conf.port, 3001);
    /* "--x=" is an explicit empty value, valid for a PATH. */
    setenv("EBT_FILE", "/etc/x.conf", 1);
    assert_int_equal(PARSE(&prog, &args, err, "--ebt-file="), EB_OK);
    assert_string_equal(conf.file, "");
    /* A value that starts with '-' is still the flag's value. */
    assert_int_equal(PARSE(&prog, &args, err, "--ebt-delta", "-3"), EB_OK);
    assert_int_equal(conf.delta, -3);
}

static void last_flag_wins(void **state)
{
    eb_conf_args_t args;
    char err[256];

    assert_int_equal(PARSE(&prog, &args, err, "--ebt-count", "2", "--ebt-count=3"), EB_OK);
    assert_int_equal(conf.count, 3);
}

static void flag_field_overrides_name(void **state)
{
    eb_conf_args_t args;
    char err[256];

    assert_int_equal(PARSE(&prog, &args, err, "--nick", "carol"), EB_OK);
    assert_string_equal(conf.alias, "carol");
    assert_int_equal(PARSE(&prog, &args, err, "--nick=dave"), EB_OK);
    assert_string_equal(conf.alias, "dave");
    /* The name-derived flag does not exist for that entry. */
    assert_int_equal(PARSE(&prog, &args, err, "--ebt-alias", "erin"), EB_ERR_INVALID);
    assert_contains(err, "--ebt-alias");
}

/* ---- errors ------------------------------------------------------------- */

static void unknown_flag(void **state)
{
    eb_conf_args_t args;
    char err[256];

    assert_int_equal(PARSE(&prog, &args, err, "--no-such-thing", "1"), EB_ERR_INVALID);
    assert_contains(err, "--no-such-thing");
    assert_int_equal(PARSE(&prog, &args, err, "--bogus=4"), EB_ERR_INVALID);
    assert_contains(err, "--bogus");
    assert_null(strstr(err, "=4")); /* names the flag, not the value */
    assert_int_equal(PARSE(&prog, &args, err, "-q"), EB_ERR_INVALID);
    assert_contains(err, "-q");
    /* Flags are lower case: the variable name is not a flag. */
    assert_int_equal(PARSE(&prog, &args, err, "--EBT_COUNT", "3"), EB_ERR_INVALID);
    assert_contains(err, "--EBT_COUNT");
}

static void invalid_env_names_setting(void **state)
{
    eb_conf_args_t args;
    char err[256];

    setenv("EBT_COUNT", "11", 1);
    assert_int_equal(PARSE0(&prog, &args, err), EB_ERR_INVALID);
    assert_contains(err, "EBT_COUNT");
    assert_contains(err, "11");
    assert_null(strchr(err, '\n')); /* one line */
    unsetenv("EBT_COUNT");

    setenv("EBT_MODE", "medium", 1);
    assert_int_equal(PARSE0(&prog, &args, err), EB_ERR_INVALID);
    assert_contains(err, "EBT_MODE");
    assert_contains(err, "fast|slow|off");
    unsetenv("EBT_MODE");

    setenv("EBT_URL", "http://x", 1);
    assert_int_equal(PARSE0(&prog, &args, err), EB_ERR_INVALID);
    assert_contains(err, "EBT_URL");
}

static void invalid_flag_names_setting(void **state)
{
    eb_conf_args_t args;
    char err[256];

    assert_int_equal(PARSE(&prog, &args, err, "--ebt-count", "0"), EB_ERR_INVALID);
    assert_contains(err, "--ebt-count");
    assert_contains(err, "from 1 to 10");
    assert_int_equal(PARSE(&prog, &args, err, "--ebt-port=70000"), EB_ERR_INVALID);
    assert_contains(err, "--ebt-port");
    assert_int_equal(PARSE(&prog, &args, err, "--ebt-limit", "1.234"), EB_ERR_INVALID);
    assert_contains(err, "--ebt-limit");
    assert_int_equal(PARSE(&prog, &args, err, "--ebt-name="), EB_ERR_INVALID);
    assert_contains(err, "--ebt-name");
}

static void flag_without_value(void **state)
{
    eb_conf_args_t args;
    char err[256];

    assert_int_equal(PARSE(&prog, &args, err, "--ebt-count"), EB_ERR_INVALID);
    assert_contains(err, "--ebt-count");
}

static void invalid_default_is_reported(void **state)
{
    static const eb_conf_entry_t bad[] = {
        {"EBT_BROKEN", EB_CONF_INT, offsetof(tconf_t, count), "many", 0, 9, NULL, NULL, "x", NULL},
    };
    eb_conf_section_t sec[] = {{"Bad", bad, 1, &conf}};
    eb_conf_program_t p = {"bad", "bad table", "", sec, 1, 0, 0};
    eb_conf_args_t args;
    char err[256];

    assert_int_equal(PARSE0(&p, &args, err), EB_ERR_INVALID);
    assert_contains(err, "EBT_BROKEN");
}

/* ---- actions, -X, positional ------------------------------------------- */

static void help_and_version(void **state)
{
    eb_conf_args_t args;
    char err[256];

    assert_int_equal(PARSE(&prog, &args, err, "--help"), EB_OK);
    assert_int_equal(args.action, EB_CONF_ACTION_HELP);
    assert_int_equal(PARSE(&prog, &args, err, "-h"), EB_OK);
    assert_int_equal(args.action, EB_CONF_ACTION_HELP);
    assert_int_equal(PARSE(&prog, &args, err, "--version"), EB_OK);
    assert_int_equal(args.action, EB_CONF_ACTION_VERSION);
    assert_int_equal(PARSE(&prog, &args, err, "-V"), EB_OK);
    assert_int_equal(args.action, EB_CONF_ACTION_VERSION);
    /* Help wins whatever the order. */
    assert_int_equal(PARSE(&prog, &args, err, "--version", "--help"), EB_OK);
    assert_int_equal(args.action, EB_CONF_ACTION_HELP);
    assert_int_equal(PARSE(&prog, &args, err, "--help", "--version"), EB_OK);
    assert_int_equal(args.action, EB_CONF_ACTION_HELP);
    assert_int_equal(PARSE(&prog, &args, err, "--help-markdown"), EB_OK);
    assert_int_equal(args.action, EB_CONF_ACTION_MARKDOWN);
    /* --help answers whatever the settings say, even invalid ones. */
    assert_int_equal(PARSE(&prog, &args, err, "--ebt-count", "not-a-number", "--help"), EB_OK);
    assert_int_equal(args.action, EB_CONF_ACTION_HELP);
    setenv("EBT_COUNT", "not-a-number", 1);
    assert_int_equal(PARSE(&prog, &args, err, "--version"), EB_OK);
    assert_int_equal(args.action, EB_CONF_ACTION_VERSION);
    assert_int_not_equal(
        parse_words(&prog, &args, err, sizeof(err), (const char *const[]){"prog", NULL}), EB_OK);
    unsetenv("EBT_COUNT");
}

static void kafka_props_collected(void **state)
{
    eb_conf_args_t args;
    char err[256];

    assert_int_equal(PARSE(&prog_kafka, &args, err, "-X", "security.protocol=SASL_SSL",
                           "-Xlinger.ms=5", "--ebt-count", "2", "-X", "a=b=c"),
                     EB_OK);
    assert_int_equal(args.kafka_prop_count, 3);
    assert_string_equal(args.kafka_props[0], "security.protocol=SASL_SSL");
    assert_string_equal(args.kafka_props[1], "linger.ms=5");
    assert_string_equal(args.kafka_props[2], "a=b=c");
    assert_int_equal(conf.count, 2);
}

static void kafka_props_rejected(void **state)
{
    eb_conf_args_t args;
    char err[256];

    assert_int_equal(PARSE(&prog_kafka, &args, err, "-X", "novalue"), EB_ERR_INVALID);
    assert_contains(err, "-X");
    assert_int_equal(PARSE(&prog_kafka, &args, err, "-X", "=value"), EB_ERR_INVALID);
    assert_contains(err, "-X");
    assert_int_equal(PARSE(&prog_kafka, &args, err, "-X"), EB_ERR_INVALID);
    assert_contains(err, "-X");
    /* A program that does not take -X treats it as an unknown option. */
    assert_int_equal(PARSE(&prog, &args, err, "-X", "a=b"), EB_ERR_INVALID);
    assert_contains(err, "-X");
}

static void kafka_props_limit(void **state)
{
    const char *words[EB_CONF_MAX_KAFKA_PROPS + 3];
    eb_conf_args_t args;
    char err[256];
    int n = 0;

    words[n++] = "prog";
    for (int i = 0; i < EB_CONF_MAX_KAFKA_PROPS; i++)
        words[n++] = "-Xk=v";
    words[n] = NULL;
    assert_int_equal(parse_words(&prog_kafka, &args, err, sizeof(err), words), EB_OK);
    assert_int_equal(args.kafka_prop_count, EB_CONF_MAX_KAFKA_PROPS);
    words[n++] = "-Xone=more";
    words[n] = NULL;
    assert_int_equal(parse_words(&prog_kafka, &args, err, sizeof(err), words), EB_ERR_INVALID);
}

static void positional_limit(void **state)
{
    eb_conf_args_t args;
    char err[256];

    /* prog takes one positional argument. */
    assert_int_equal(PARSE(&prog, &args, err, "input.json"), EB_OK);
    assert_int_equal(args.positional_count, 1);
    assert_string_equal(args.positional[0], "input.json");
    assert_int_equal(PARSE(&prog, &args, err, "one", "two"), EB_ERR_INVALID);
    assert_contains(err, "two");
    /* "-" alone is a positional argument (stdin). */
    assert_int_equal(PARSE(&prog, &args, err, "-"), EB_OK);
    assert_int_equal(args.positional_count, 1);
    assert_string_equal(args.positional[0], "-");
    /* After "--" everything is positional, even what looks like a flag. */
    assert_int_equal(PARSE(&prog, &args, err, "--", "--ebt-count"), EB_OK);
    assert_int_equal(args.positional_count, 1);
    assert_string_equal(args.positional[0], "--ebt-count");
    assert_int_equal(conf.count, 5);
    /* A daemon (max_positional 0) takes none. */
    assert_int_equal(PARSE(&prog_kafka, &args, err, "stray"), EB_ERR_INVALID);
    assert_contains(err, "stray");
}

/* ---- eb_config_set per type -------------------------------------------- */

static eb_err_t set(int idx, const char *value, char *err, size_t size)
{
    err[0] = '\0';
    return eb_config_set(&entries[idx], &conf, value, err, size);
}

static void set_string(void **state)
{
    char err[200];

    assert_int_equal(set(I_NAME, "x", err, sizeof(err)), EB_OK);
    assert_string_equal(conf.name, "x");
    assert_int_equal(set(I_NAME, "", err, sizeof(err)), EB_ERR_INVALID);
    assert_true(err[0] != '\0');
    assert_string_equal(conf.name, "x"); /* unchanged on failure */
}

static void set_int_bounds(void **state)
{
    static const char *const bad[] = {"0",  "11", "-1",  "",    "abc",
                                      "5x", " 5", "5.0", "0x5", "99999999999999999999"};
    char err[200];

    assert_int_equal(set(I_COUNT, "1", err, sizeof(err)), EB_OK);
    assert_int_equal(conf.count, 1);
    assert_int_equal(set(I_COUNT, "10", err, sizeof(err)), EB_OK);
    assert_int_equal(conf.count, 10);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        conf.count = 7;
        if (set(I_COUNT, bad[i], err, sizeof(err)) != EB_ERR_INVALID)
            fail_msg("EBT_COUNT accepted \"%s\"", bad[i]);
        assert_string_equal(err, "must be an integer from 1 to 10");
        assert_int_equal(conf.count, 7);
    }
    assert_int_equal(set(I_DELTA, "-5", err, sizeof(err)), EB_OK);
    assert_int_equal(conf.delta, -5);
    assert_int_equal(set(I_DELTA, "5", err, sizeof(err)), EB_OK);
    assert_int_equal(conf.delta, 5);
    assert_int_equal(set(I_DELTA, "-6", err, sizeof(err)), EB_ERR_INVALID);
    assert_int_equal(set(I_DELTA, "6", err, sizeof(err)), EB_ERR_INVALID);
}

static void set_port(void **state)
{
    char err[200];

    assert_int_equal(set(I_PORT, "0", err, sizeof(err)), EB_OK);
    assert_int_equal(conf.port, 0);
    assert_int_equal(set(I_PORT, "65535", err, sizeof(err)), EB_OK);
    assert_int_equal(conf.port, 65535);
    assert_int_equal(set(I_PORT, "65536", err, sizeof(err)), EB_ERR_INVALID);
    assert_string_equal(err, "must be an integer from 0 to 65535");
    assert_int_equal(set(I_PORT, "-1", err, sizeof(err)), EB_ERR_INVALID);
    assert_int_equal(set(I_PORT, "http", err, sizeof(err)), EB_ERR_INVALID);
    assert_int_equal(conf.port, 65535);
}

static void set_money(void **state)
{
    char err[200];

    assert_int_equal(set(I_LIMIT, "10000.00", err, sizeof(err)), EB_OK);
    assert_int_equal(conf.limit, 1000000);
    assert_int_equal(set(I_LIMIT, "0", err, sizeof(err)), EB_OK);
    assert_int_equal(conf.limit, 0);
    assert_int_equal(set(I_LIMIT, "12.5", err, sizeof(err)), EB_OK);
    assert_int_equal(conf.limit, 1250);
    assert_int_equal(set(I_LIMIT, "0.01", err, sizeof(err)), EB_OK);
    assert_int_equal(conf.limit, 1);
    assert_int_equal(set(I_LIMIT, "10000.01", err, sizeof(err)), EB_ERR_INVALID);
    assert_string_equal(err, "must be an amount with at most two decimals from 0 to 10000");
    assert_int_equal(set(I_LIMIT, "-1", err, sizeof(err)), EB_ERR_INVALID);
    assert_int_equal(set(I_LIMIT, "1.234", err, sizeof(err)), EB_ERR_INVALID);
    assert_int_equal(set(I_LIMIT, "ten", err, sizeof(err)), EB_ERR_INVALID);
    assert_int_equal(conf.limit, 1);
}

static void set_enum(void **state)
{
    static const char *const bad[] = {"", "fas", "fastest", "slow|off", "|", "off "};
    char err[200];

    assert_int_equal(set(I_MODE, "fast", err, sizeof(err)), EB_OK);
    assert_string_equal(conf.mode, "fast");
    assert_int_equal(set(I_MODE, "slow", err, sizeof(err)), EB_OK);
    assert_string_equal(conf.mode, "slow");
    assert_int_equal(set(I_MODE, "off", err, sizeof(err)), EB_OK);
    assert_string_equal(conf.mode, "off");
    /* Choices are matched without regard to case (LOG_LEVEL=INFO). */
    assert_int_equal(set(I_MODE, "FAST", err, sizeof(err)), EB_OK);
    assert_string_equal(conf.mode, "FAST");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (set(I_MODE, bad[i], err, sizeof(err)) != EB_ERR_INVALID)
            fail_msg("EBT_MODE accepted \"%s\"", bad[i]);
        assert_string_equal(err, "must be one of fast|slow|off");
    }
    assert_string_equal(conf.mode, "FAST"); /* rejected values changed nothing */
}

static void set_path(void **state)
{
    char err[200];

    assert_int_equal(set(I_FILE, "/tmp/kafka.properties", err, sizeof(err)), EB_OK);
    assert_string_equal(conf.file, "/tmp/kafka.properties");
    assert_int_equal(set(I_FILE, "", err, sizeof(err)), EB_OK); /* "" means none */
    assert_string_equal(conf.file, "");
}

static void set_url(void **state)
{
    static const char *const good[] = {"redis://localhost", "redis://h:6380/3",
                                       "redis://:secret@h:1/0", "redis://user:pw@h",
                                       "redis://[::1]:6379/1"};
    static const char *const bad[] = {"",
                                      "http://h:6379",
                                      "rediss://h",
                                      "redis://",
                                      "redis://h:0",
                                      "redis://h:65536",
                                      "redis://h:1/x",
                                      "h:6379"};
    char err[200];

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (set(I_URL, good[i], err, sizeof(err)) != EB_OK)
            fail_msg("EBT_URL rejected \"%s\": %s", good[i], err);
        assert_string_equal(conf.url, good[i]);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (set(I_URL, bad[i], err, sizeof(err)) != EB_ERR_INVALID)
            fail_msg("EBT_URL accepted \"%s\"", bad[i]);
        assert_true(err[0] != '\0');
    }
    assert_string_equal(conf.url, "redis://[::1]:6379/1");
}

static void set_without_errstr(void **state)
{
    assert_int_equal(eb_config_set(&entries[I_COUNT], &conf, "0", NULL, 0), EB_ERR_INVALID);
    assert_int_equal(eb_config_set(&entries[I_COUNT], &conf, "3", NULL, 0), EB_OK);
    assert_int_equal(conf.count, 3);
}

/* ---- usage and markdown -------------------------------------------------- */

static char *capture(void (*fn)(const eb_conf_program_t *, FILE *), const eb_conf_program_t *p)
{
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);

    assert_non_null(f);
    fn(p, f);
    assert_int_equal(fclose(f), 0);
    assert_non_null(text);
    return text;
}

static void usage_lists_every_setting(void **state)
{
    static const char *const expect[] = {
        "Usage: test-prog [options] [FILE]",
        "Tests the configuration tables.",
        "--help",
        "--version",
        "EBT_NAME",
        "--ebt-name",
        "default: alpha",
        "EBT_COUNT",
        "--ebt-count",
        "default: 5",
        "A count from 1 to 10",
        "EBT_PORT",
        "--ebt-port",
        "default: 8080",
        "EBT_LIMIT",
        "--ebt-limit",
        "default: 100.00",
        "EBT_MODE",
        "--ebt-mode",
        "default: fast",
        "(fast|slow|off)",
        "EBT_FILE",
        "--ebt-file",
        "default: (none)",
        "EBT_URL",
        "--ebt-url",
        "default: redis://127.0.0.1:6379/0",
        "EBT_ALIAS",
        "--nick",
        "default: computed",
        "EBT_DELTA",
        "--ebt-delta",
        "default: 0",
        "Test:",
    };
    char *text = capture(eb_config_write_usage, &prog);

    for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++)
        assert_contains(text, expect[i]);
    assert_null(strstr(text, "--ebt-alias"));
    assert_null(strstr(text, "-X key=value")); /* prog does not take -X */
    assert_int_equal(text[strlen(text) - 1], '\n');
    free(text);

    text = capture(eb_config_write_usage, &prog_kafka);
    assert_contains(text, "Usage: test-kafka [options]");
    assert_contains(text, "-X key=value");
    free(text);
}

static void markdown_lists_every_setting(void **state)
{
    char *text = capture(eb_config_write_markdown, &prog_kafka);

    assert_contains(text, "#### test-kafka");
    assert_contains(text, "| `EBT_NAME` | `--ebt-name` | `alpha` | A name |\n");
    assert_contains(text, "| `EBT_MODE` | `--ebt-mode` | `fast` | A mode (fast, slow, off) |\n");
    assert_contains(text, "| `EBT_FILE` | `--ebt-file` | `(none)` | A file |\n");
    assert_contains(text, "| `EBT_ALIAS` | `--nick` | `computed` | Has its own flag |\n");
    assert_contains(text, "`-X key=value`");
    free(text);
}

/* ---- the shared sections -------------------------------------------------- */

static void common_sections_defaults(void **state)
{
    static const char *const vars[] = {
        "KAFKA_BROKERS",    "KAFKA_CONFIG_FILE",   "REDIS_URL",        "REDIS_TIMEOUT_MS",
        "LOG_LEVEL",        "LOG_FORMAT",          "INSTANCE_ID",      "RETRY_MAX",
        "RETRY_BACKOFF_MS", "CONSUMER_BATCH_SIZE", "IDEMPOTENCY_TTL_S"};
    eb_common_conf_t c;
    eb_conf_section_t secs[] = {EB_CONF_SECTION_KAFKA(&c), EB_CONF_SECTION_REDIS(&c),
                                EB_CONF_SECTION_LOG(&c), EB_CONF_SECTION_CONSUMER(&c)};
    eb_conf_program_t p = {"svc", "a daemon", "[options]", secs, 4, 1, 0};
    eb_conf_args_t args;
    char err[256];

    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        unsetenv(vars[i]);
    memset(&c, 0, sizeof(c));
    assert_int_equal(parse_words(&p, &args, err, sizeof(err), (const char *const[]){"svc", NULL}),
                     EB_OK);
    assert_string_equal(c.kafka_brokers, "localhost:9092");
    assert_string_equal(c.kafka_config_file, "");
    assert_string_equal(c.redis_url, "redis://127.0.0.1:6379/0");
    assert_int_equal(c.redis_timeout_ms, 1000);
    assert_string_equal(c.log_level, "info");
    assert_string_equal(c.log_format, "json");
    assert_null(c.instance_id);
    assert_int_equal(c.retry_max, 3);
    assert_int_equal(c.retry_backoff_ms, 200);
    assert_int_equal(c.batch_size, 500);
    assert_int_equal(c.idempotency_ttl_s, 604800);

    setenv("LOG_LEVEL", "debug", 1);
    assert_int_equal(parse_words(&p, &args, err, sizeof(err),
                                 (const char *const[]){"svc", "--retry-max", "0", "--instance-id",
                                                       "pod-7", NULL}),
                     EB_OK);
    unsetenv("LOG_LEVEL");
    assert_string_equal(c.log_level, "debug");
    assert_int_equal(c.retry_max, 0);
    assert_string_equal(c.instance_id, "pod-7");
}

static void common_conf_finish_hostname_pid(void **state)
{
    eb_common_conf_t c;
    char host[256], expect[300], suffix[32];

    memset(&c, 0, sizeof(c));
    assert_int_equal(gethostname(host, sizeof(host)), 0);
    snprintf(expect, sizeof(expect), "%s-%ld", host, (long)getpid());
    snprintf(suffix, sizeof(suffix), "-%ld", (long)getpid());
    eb_config_common_finish(&c);
    assert_non_null(c.instance_id);
    assert_ptr_equal(c.instance_id, c.instance_buf);
    if (strlen(host) < 64) {
        assert_string_equal(c.instance_id, expect);
    } else {
        /* A host name longer than the library's buffer: still "<name>-pid". */
        size_t n = strlen(c.instance_id);

        assert_true(n > strlen(suffix));
        assert_string_equal(c.instance_id + n - strlen(suffix), suffix);
    }

    /* A given INSTANCE_ID is kept. */
    memset(&c, 0, sizeof(c));
    c.instance_id = "pod-7";
    eb_config_common_finish(&c);
    assert_string_equal(c.instance_id, "pod-7");
    assert_string_equal(c.instance_buf, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(defaults_apply, setup),
        cmocka_unit_test_setup(env_overrides_default, setup),
        cmocka_unit_test_setup(flag_overrides_env, setup),
        cmocka_unit_test_setup(flag_both_spellings, setup),
        cmocka_unit_test_setup(last_flag_wins, setup),
        cmocka_unit_test_setup(flag_field_overrides_name, setup),
        cmocka_unit_test_setup(unknown_flag, setup),
        cmocka_unit_test_setup(invalid_env_names_setting, setup),
        cmocka_unit_test_setup(invalid_flag_names_setting, setup),
        cmocka_unit_test_setup(flag_without_value, setup),
        cmocka_unit_test_setup(invalid_default_is_reported, setup),
        cmocka_unit_test_setup(help_and_version, setup),
        cmocka_unit_test_setup(kafka_props_collected, setup),
        cmocka_unit_test_setup(kafka_props_rejected, setup),
        cmocka_unit_test_setup(kafka_props_limit, setup),
        cmocka_unit_test_setup(positional_limit, setup),
        cmocka_unit_test_setup(set_string, setup),
        cmocka_unit_test_setup(set_int_bounds, setup),
        cmocka_unit_test_setup(set_port, setup),
        cmocka_unit_test_setup(set_money, setup),
        cmocka_unit_test_setup(set_enum, setup),
        cmocka_unit_test_setup(set_path, setup),
        cmocka_unit_test_setup(set_url, setup),
        cmocka_unit_test_setup(set_without_errstr, setup),
        cmocka_unit_test_setup(usage_lists_every_setting, setup),
        cmocka_unit_test_setup(markdown_lists_every_setting, setup),
        cmocka_unit_test_setup(common_sections_defaults, setup),
        cmocka_unit_test_setup(common_conf_finish_hostname_pid, setup),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
