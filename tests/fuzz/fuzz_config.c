/*
 * libFuzzer harness: the settings parsers (every setting type, REDIS_URL,
 * money amounts) and the command line.
 *
 * Input: NUL-separated words. The first byte picks a setting type for the
 * first word; the words are also parsed as a command line. Properties: an
 * accepted money amount formats back to text that parses to the same amount;
 * a rejected value always comes with a reason.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eventbus/config.h"
#include "eventbus/money.h"
#include "eventbus/redis.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct fz_conf_s {
    const char *s;
    int64_t i;
} fz_conf_t;

static fz_conf_t conf;
static eb_common_conf_t common;

#define F(name, type, field, min, max, choices)                                                    \
    {                                                                                              \
        name, type, offsetof(fz_conf_t, field), NULL, min, max, choices, NULL, "fuzz", NULL        \
    }

static const eb_conf_entry_t entries[] = {
    F("FZ_STRING", EB_CONF_STRING, s, 0, 0, NULL),
    F("FZ_INT", EB_CONF_INT, i, -1000, 1000, NULL),
    F("FZ_PORT", EB_CONF_PORT, i, 0, 0, NULL),
    F("FZ_MONEY", EB_CONF_MONEY, i, 0, INT64_C(10000000000000), NULL),
    F("FZ_ENUM", EB_CONF_ENUM, s, 0, 0, "json|text|a|"),
    F("FZ_PATH", EB_CONF_PATH, s, 0, 0, NULL),
    F("FZ_URL", EB_CONF_URL, s, 0, 0, NULL),
};

static const eb_conf_section_t sections[] = {
    {"fuzz", entries, sizeof(entries) / sizeof(entries[0]), &conf},
    EB_CONF_SECTION_KAFKA(&common),
    EB_CONF_SECTION_CONSUMER(&common),
};

static const eb_conf_program_t prog = {
    "fuzz", "fuzz", "[options]", sections, sizeof(sections) / sizeof(sections[0]), 1, 2,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy, *argv[64], errstr[256];
    eb_redis_addr_t addr;
    eb_conf_args_t args;
    int64_t minor, again;
    int argc = 1;

    if (size == 0 || size > 4096)
        return 0;
    copy = malloc(size + 1);
    memcpy(copy, data + 1, size - 1);
    copy[size - 1] = '\0';

    errstr[0] = '\0';
    if (eb_config_set(&entries[data[0] % (sizeof(entries) / sizeof(entries[0]))], &conf, copy,
                      errstr, sizeof(errstr)) != EB_OK &&
        !errstr[0])
        abort();
    (void)eb_redis_url_parse(copy, &addr, errstr, sizeof(errstr));
    if (eb_money_parse(copy, &minor) == EB_OK) {
        char text[EB_MONEY_TEXT_MAX];

        eb_money_format(minor, text, sizeof(text));
        if (eb_money_parse(text, &again) != EB_OK || again != minor)
            abort();
    }

    /* The words as a command line (the environment is left alone). */
    argv[0] = (char *)"fuzz";
    for (char *p = copy; p < copy + size - 1 && argc < 63; p += strlen(p) + 1)
        argv[argc++] = p;
    argv[argc] = NULL;
    errstr[0] = '\0';
    if (eb_config_parse(&prog, argc, argv, &args, errstr, sizeof(errstr)) != EB_OK && !errstr[0])
        abort();
    free(copy);
    return 0;
}
