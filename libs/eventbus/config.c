/*
 * Table-driven settings: defaults, environment, flags; --help from the tables.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "eb_int.h"
#include "eventbus/config.h"
#include "eventbus/money.h"
#include "eventbus/redis.h"

#define ENTRY(name, type, field, def, min, max, choices, def_help, desc)                           \
    {                                                                                              \
        name, type, offsetof(eb_common_conf_t, field), def, min, max, choices, def_help, desc,     \
            NULL                                                                                   \
    }

const eb_conf_entry_t eb_config_kafka_entries[EB_CONF_KAFKA_COUNT] = {
    ENTRY("KAFKA_BROKERS", EB_CONF_STRING, kafka_brokers, "localhost:9092", 0, 0, NULL, NULL,
          "Kafka bootstrap servers, host:port[,host:port...]"),
    ENTRY("KAFKA_CONFIG_FILE", EB_CONF_PATH, kafka_config_file, "", 0, 0, NULL, "(none)",
          "librdkafka key=value properties applied to every client (SASL/SSL, tuning)"),
};

const eb_conf_entry_t eb_config_redis_entries[EB_CONF_REDIS_COUNT] = {
    ENTRY("REDIS_URL", EB_CONF_URL, redis_url, "redis://127.0.0.1:6379/0", 0, 0, NULL, NULL,
          "Redis address, redis://[:password@]host:port/db"),
    ENTRY("REDIS_TIMEOUT_MS", EB_CONF_INT, redis_timeout_ms, "1000", 200, 60000, NULL, NULL,
          "Redis connect and command timeout in milliseconds"),
};

const eb_conf_entry_t eb_config_log_entries[EB_CONF_LOG_COUNT] = {
    ENTRY("LOG_LEVEL", EB_CONF_ENUM, log_level, "info", 0, 0, "error|warn|info|debug", NULL,
          "Least severe level logged"),
    ENTRY("LOG_FORMAT", EB_CONF_ENUM, log_format, "json", 0, 0, "json|text", NULL,
          "json: one JSON object per line on stderr; text: plain lines"),
    ENTRY("INSTANCE_ID", EB_CONF_STRING, instance_id, NULL, 0, 0, NULL, "hostname-pid",
          "Names this instance in logs, metrics and the Kafka client.id"),
};

const eb_conf_entry_t eb_config_consumer_entries[EB_CONF_CONSUMER_COUNT] = {
    ENTRY("RETRY_MAX", EB_CONF_INT, retry_max, "3", 0, 100, NULL, NULL,
          "Attempts after the first before a failing message goes to its DLQ"),
    ENTRY("RETRY_BACKOFF_MS", EB_CONF_INT, retry_backoff_ms, "200", 1, 600000, NULL, NULL,
          "First retry backoff; doubles per attempt, full jitter, capped at 10 s"),
    ENTRY("CONSUMER_BATCH_SIZE", EB_CONF_INT, batch_size, "500", 1, 100000, NULL, NULL,
          "Messages handled per turn of the consumer loop (Redis work is pipelined per batch)"),
    ENTRY("IDEMPOTENCY_TTL_S", EB_CONF_INT, idempotency_ttl_s, "604800", 60, 31536000, NULL, NULL,
          "How long a handled event id is remembered, in seconds"),
    ENTRY("IDEMPOTENCY_LEASE_MS", EB_CONF_INT, claim_lease_ms, "15000", 1000, 3600000, NULL, NULL,
          "How long a claim on an event lives; a crashed instance's claims expire after it"),
    ENTRY("EXACTLY_ONCE", EB_CONF_ENUM, exactly_once, "false", 0, 0, "true|false", NULL,
          "true: a turn's output events and input offsets are committed in one Kafka transaction "
          "(transactional.id <group>-<INSTANCE_ID>; needs a real Kafka cluster)"),
};

const eb_conf_entry_t eb_config_http_entries[EB_CONF_HTTP_COUNT] = {
    ENTRY("HTTP_MAX_BODY", EB_CONF_INT, http_max_body, "65536", 64, 16777216, NULL, NULL,
          "Largest request body in bytes; larger ones get 413"),
    ENTRY("HTTP_THREADS", EB_CONF_INT, http_threads, "16", 1, 256, NULL, NULL,
          "HTTP worker threads, each with its own Redis connection"),
    ENTRY("HTTP_MAX_CONNECTIONS", EB_CONF_INT, http_max_connections, "1024", 1, 65536, NULL, NULL,
          "Open connections at most; newcomers past it wait in the accept queue while stalled "
          "connections (idle, unfinished requests) of the address holding the most are closed"),
    ENTRY("HTTP_MAX_CONNECTIONS_PER_IP", EB_CONF_INT, http_per_ip, "0", 0, 65536, NULL, NULL,
          "Concurrent connections from one client address; 0: no limit (behind a proxy all share "
          "one); past it 429"),
    ENTRY("HTTP_TIMEOUT_S", EB_CONF_INT, http_timeout_s, "30", 1, 3600, NULL, NULL,
          "A kept-alive connection with no request this long is closed"),
    ENTRY("HTTP_HEADER_TIMEOUT_S", EB_CONF_INT, http_header_timeout_s, "10", 1, 3600, NULL, NULL,
          "A request's line and headers must arrive within this many seconds (total, not idle "
          "time); past it 408"),
    ENTRY("HTTP_REQUEST_TIMEOUT_S", EB_CONF_INT, http_request_timeout_s, "30", 1, 3600, NULL, NULL,
          "A request's headers and body must arrive within this many seconds; past it 408"),
    ENTRY("HTTP_EVENT_LOOP", EB_CONF_ENUM, http_event_loop, "epoll", 0, 0, "epoll|poll", NULL,
          "How each HTTP worker waits for its connections. poll: cheaper per request when each "
          "worker holds a few busy connections (order-service at tens of connections, with "
          "HTTP_THREADS near the cores); epoll: for many, mostly idle ones"),
};

const eb_conf_entry_t eb_config_outbox_entries[EB_CONF_OUTBOX_COUNT] = {
    ENTRY("OUTBOX_BATCH", EB_CONF_INT, outbox_batch, "500", 1, 10000, NULL, NULL,
          "Outbox entries the relay reads at once"),
    ENTRY("OUTBOX_MAX_INFLIGHT", EB_CONF_INT, outbox_inflight, "5000", 1, 100000, NULL, NULL,
          "Outbox entries produced and not yet acknowledged by Kafka"),
    ENTRY("OUTBOX_CLAIM_IDLE_MS", EB_CONF_INT, outbox_claim_idle_ms, "30000", 1000, 3600000, NULL,
          NULL, "Outbox entries pending this long are taken over from a relay presumed dead"),
};

void eb_config_common_finish(eb_common_conf_t *conf)
{
    char host[64];

    if (conf->instance_id)
        return;
    if (gethostname(host, sizeof(host)) != 0)
        strcpy(host, "localhost");
    host[sizeof(host) - 1] = '\0';
    snprintf(conf->instance_buf, sizeof(conf->instance_buf), "%s-%ld", host, (long)getpid());
    conf->instance_id = conf->instance_buf;
}

/* "HTTP_PORT" -> "http-port", unless the entry names its flag. */
static void flag_name(const eb_conf_entry_t *e, char *out, size_t size)
{
    const char *name = e->flag ? e->flag : e->name;
    size_t i;

    for (i = 0; name[i] && i + 1 < size; i++)
        out[i] = name[i] == '_' ? '-' : (char)tolower((unsigned char)name[i]);
    out[i] = '\0';
}

static int choice_ok(const char *choices, const char *value)
{
    size_t n = strlen(value);

    for (const char *p = choices; p && *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);

        if (len == n && strncasecmp(p, value, n) == 0)
            return 1;
        p = bar ? bar + 1 : NULL;
    }
    return 0;
}

static int parse_int(const char *s, int64_t *v)
{
    char *end;
    long long x;

    if (!*s || isspace((unsigned char)*s))
        return 0;
    errno = 0;
    x = strtoll(s, &end, 10);
    if (errno || *end)
        return 0;
    *v = x;
    return 1;
}

eb_err_t eb_config_set(const eb_conf_entry_t *e, void *base, const char *value, char *errstr,
                       size_t errstr_size)
{
    char *field = (char *)base + e->offset;
    char why[160];
    int64_t v;

    switch (e->type) {
    case EB_CONF_STRING:
        if (!*value)
            return eb__seterr(errstr, errstr_size, EB_ERR_INVALID, "must not be empty");
        *(const char **)field = value;
        return EB_OK;
    case EB_CONF_PATH:
        *(const char **)field = value;
        return EB_OK;
    case EB_CONF_ENUM:
        if (!choice_ok(e->choices, value))
            return eb__seterr(errstr, errstr_size, EB_ERR_INVALID, "must be one of %s", e->choices);
        *(const char **)field = value;
        return EB_OK;
    case EB_CONF_URL: {
        eb_redis_addr_t addr;

        if (eb_redis_url_parse(value, &addr, why, sizeof(why)) != EB_OK)
            return eb__seterr(errstr, errstr_size, EB_ERR_INVALID, "%s", why);
        *(const char **)field = value;
        return EB_OK;
    }
    case EB_CONF_INT:
    case EB_CONF_PORT: {
        int64_t min = e->type == EB_CONF_PORT ? 0 : e->min;
        int64_t max = e->type == EB_CONF_PORT ? 65535 : e->max;

        if (!parse_int(value, &v) || v < min || v > max)
            return eb__seterr(errstr, errstr_size, EB_ERR_INVALID,
                              "must be an integer from %" PRId64 " to %" PRId64, min, max);
        *(int64_t *)field = v;
        return EB_OK;
    }
    case EB_CONF_MONEY: {
        char lo[EB_MONEY_TEXT_MAX], hi[EB_MONEY_TEXT_MAX];

        if (eb_money_parse(value, &v) != EB_OK || v < e->min || v > e->max) {
            eb_money_format(e->min, lo, sizeof(lo));
            eb_money_format(e->max, hi, sizeof(hi));
            return eb__seterr(errstr, errstr_size, EB_ERR_INVALID,
                              "must be an amount with at most two decimals from %s to %s", lo, hi);
        }
        *(int64_t *)field = v;
        return EB_OK;
    }
    }
    return eb__seterr(errstr, errstr_size, EB_ERR_INVALID, "unknown setting type");
}

/* Sets one entry and words a failure as "invalid <source> 'value': why". */
static eb_err_t set_from(const eb_conf_entry_t *e, void *base, const char *value,
                         const char *source, char *errstr, size_t errstr_size)
{
    char why[200];

    if (eb_config_set(e, base, value, why, sizeof(why)) == EB_OK)
        return EB_OK;
    return eb__seterr(errstr, errstr_size, EB_ERR_INVALID, "invalid %s '%.64s': %s", source, value,
                      why);
}

static const eb_conf_entry_t *find_flag(const eb_conf_program_t *prog, const char *flag,
                                        size_t flag_len, void **base)
{
    char name[64];

    for (size_t s = 0; s < prog->section_count; s++) {
        const eb_conf_section_t *sec = &prog->sections[s];

        for (size_t i = 0; i < sec->count; i++) {
            flag_name(&sec->entries[i], name, sizeof(name));
            if (strlen(name) == flag_len && strncmp(name, flag, flag_len) == 0) {
                *base = sec->base;
                return &sec->entries[i];
            }
        }
    }
    return NULL;
}

eb_err_t eb_config_parse(const eb_conf_program_t *prog, int argc, char **argv, eb_conf_args_t *args,
                         char *errstr, size_t errstr_size)
{
    int only_positional = 0;

    memset(args, 0, sizeof(*args));

    /* --help and --version answer whatever the settings say: a user asking
     * for help with a broken environment must get it. */
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            args->action = EB_CONF_ACTION_HELP;
            return EB_OK;
        }
        if (strcmp(argv[i], "--help-markdown") == 0)
            args->action = EB_CONF_ACTION_MARKDOWN;
        else if ((strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-V") == 0) &&
                 args->action == EB_CONF_ACTION_RUN)
            args->action = EB_CONF_ACTION_VERSION;
    }
    if (args->action != EB_CONF_ACTION_RUN)
        return EB_OK;

    /* 1. defaults, 2. environment */
    for (size_t s = 0; s < prog->section_count; s++) {
        const eb_conf_section_t *sec = &prog->sections[s];

        for (size_t i = 0; i < sec->count; i++) {
            const eb_conf_entry_t *e = &sec->entries[i];
            const char *env = getenv(e->name);

            if (e->def && set_from(e, sec->base, e->def, e->name, errstr, errstr_size) != EB_OK)
                return EB_ERR_INVALID; /* a bad table is a programming error */
            if (env && set_from(e, sec->base, env, e->name, errstr, errstr_size) != EB_OK)
                return EB_ERR_INVALID;
        }
    }

    /* 3. command line */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (only_positional || a[0] != '-' || a[1] == '\0') {
            if (args->positional_count >= prog->max_positional ||
                args->positional_count >= (int)(sizeof(args->positional) / sizeof(char *)))
                return eb__seterr(errstr, errstr_size, EB_ERR_INVALID,
                                  "unexpected argument '%.64s' (see --help)", a);
            args->positional[args->positional_count++] = a;
        } else if (strcmp(a, "--") == 0) {
            only_positional = 1;
        } else if (prog->accepts_kafka_props && strncmp(a, "-X", 2) == 0) {
            const char *prop = a[2] ? a + 2 : (i + 1 < argc ? argv[++i] : NULL);

            if (!prop || !strchr(prop, '=') || prop[0] == '=')
                return eb__seterr(errstr, errstr_size, EB_ERR_INVALID,
                                  "option -X needs a librdkafka property as key=value");
            if (args->kafka_prop_count >= EB_CONF_MAX_KAFKA_PROPS)
                return eb__seterr(errstr, errstr_size, EB_ERR_INVALID,
                                  "too many -X properties (at most %d)", EB_CONF_MAX_KAFKA_PROPS);
            args->kafka_props[args->kafka_prop_count++] = prop;
        } else if (strncmp(a, "--", 2) == 0) {
            const char *name = a + 2, *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            void *base = NULL;
            const eb_conf_entry_t *e = find_flag(prog, name, len, &base);
            char source[80];

            if (!e)
                return eb__seterr(errstr, errstr_size, EB_ERR_INVALID,
                                  "unknown option '--%.*s' (see --help)", (int)len, name);
            snprintf(source, sizeof(source), "--%.*s", (int)len, name);
            if (!eq && i + 1 >= argc)
                return eb__seterr(errstr, errstr_size, EB_ERR_INVALID, "option %s needs a value",
                                  source);
            if (set_from(e, base, eq ? eq + 1 : argv[++i], source, errstr, errstr_size) != EB_OK)
                return EB_ERR_INVALID;
        } else {
            return eb__seterr(errstr, errstr_size, EB_ERR_INVALID,
                              "unknown option '%.64s' (see --help)", a);
        }
    }
    return EB_OK;
}

static const char *shown_default(const eb_conf_entry_t *e)
{
    if (e->def_help)
        return e->def_help;
    return e->def ? e->def : "(none)";
}

void eb_config_write_usage(const eb_conf_program_t *prog, FILE *out)
{
    char flag[64];

    fprintf(out, "Usage: %s %s\n\n%s\n\n", prog->name, prog->synopsis ? prog->synopsis : "",
            prog->summary);
    fprintf(out, "Options:\n");
    fprintf(out, "  -h, --help      show this help and exit\n");
    fprintf(out, "  -V, --version   show the version and exit\n");
    if (prog->accepts_kafka_props)
        fprintf(out, "  -X key=value    set a librdkafka property (repeatable; after "
                     "KAFKA_CONFIG_FILE)\n");
    fprintf(out, "\nSettings come from the environment; each also has a flag that overrides "
                 "it.\n");
    for (size_t s = 0; s < prog->section_count; s++) {
        const eb_conf_section_t *sec = &prog->sections[s];

        fprintf(out, "\n%s:\n", sec->title);
        for (size_t i = 0; i < sec->count; i++) {
            const eb_conf_entry_t *e = &sec->entries[i];

            flag_name(e, flag, sizeof(flag));
            fprintf(out, "  %-20s --%-20s default: %s\n      %s", e->name, flag, shown_default(e),
                    e->desc);
            if (e->type == EB_CONF_ENUM)
                fprintf(out, " (%s)", e->choices);
            fputc('\n', out);
        }
    }
}

void eb_config_write_markdown(const eb_conf_program_t *prog, FILE *out)
{
    char flag[64];

    fprintf(out, "#### %s\n\n%s\n\n", prog->name, prog->summary);
    fprintf(out, "| variable | flag | default | meaning |\n|---|---|---|---|\n");
    for (size_t s = 0; s < prog->section_count; s++) {
        const eb_conf_section_t *sec = &prog->sections[s];

        for (size_t i = 0; i < sec->count; i++) {
            const eb_conf_entry_t *e = &sec->entries[i];

            flag_name(e, flag, sizeof(flag));
            fprintf(out, "| `%s` | `--%s` | `%s` | %s", e->name, flag, shown_default(e), e->desc);
            if (e->type == EB_CONF_ENUM) {
                /* '|' would end the table cell: list the choices with commas. */
                fputs(" (", out);
                for (const char *c = e->choices; *c; c++) {
                    if (*c == '|')
                        fputs(", ", out);
                    else
                        fputc(*c, out);
                }
                fputc(')', out);
            }
            fprintf(out, " |\n");
        }
    }
    if (prog->accepts_kafka_props)
        fprintf(out, "| | `-X key=value` | | librdkafka property, applied after "
                     "`KAFKA_CONFIG_FILE` |\n");
    fputc('\n', out);
}
