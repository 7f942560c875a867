/*
 * Table-driven configuration.
 *
 * Each component describes its settings in a static table of eb_conf_entry_t:
 * the environment variable, its type, where the parsed value goes, the
 * default, bounds and a one-line description. The same tables drive start-up
 * validation, `--help` and the README's configuration reference, so the three
 * cannot drift apart (librdkafka generates CONFIGURATION.md the same way).
 *
 * Sources, later ones winning: the default, the environment variable, the
 * command-line flag. The flag of HTTP_PORT is --http-port (lower case, '-' for
 * '_'), written `--http-port 3000` or `--http-port=3000`.
 *
 * librdkafka properties are not in these tables: they pass straight through
 * from KAFKA_CONFIG_FILE and from `-X key=value` flags to rd_kafka_conf_set(),
 * as kcat's -F and -X do.
 */
#ifndef EVENTBUS_CONFIG_H
#define EVENTBUS_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "eventbus/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum eb_conf_type_e {
    EB_CONF_STRING, /* const char *, non-empty */
    EB_CONF_INT,    /* int64_t within [min, max] */
    EB_CONF_PORT,   /* int64_t within [0, 65535]; 0 picks a free port */
    EB_CONF_MONEY,  /* int64_t minor units, parsed from "10000.00" */
    EB_CONF_ENUM,   /* const char *, one of the '|'-separated choices */
    EB_CONF_PATH,   /* const char *, may be empty meaning "none" */
    EB_CONF_URL     /* const char *, redis://[:password@]host:port/db */
} eb_conf_type_t;

/* One setting. Tables are static and never change at run time. */
typedef struct eb_conf_entry_s {
    const char *name;     /* environment variable, e.g. "HTTP_PORT" */
    eb_conf_type_t type;  /* how the text is parsed */
    size_t offset;        /* where the value goes in the section's struct */
    const char *def;      /* default as text; NULL: none (computed or unset) */
    int64_t min, max;     /* bounds for EB_CONF_INT and EB_CONF_MONEY */
    const char *choices;  /* "json|text" for EB_CONF_ENUM */
    const char *def_help; /* shown instead of def in --help when not NULL */
    const char *desc;     /* one line, shown in --help */
    const char *flag;     /* flag without "--"; NULL: derived from name */
} eb_conf_entry_t;

/* A table bound to the struct its offsets point into. */
typedef struct eb_conf_section_s {
    const char *title;
    const eb_conf_entry_t *entries;
    size_t count;
    void *base;
} eb_conf_section_t;

/* Most librdkafka properties a process may be given with -X. */
#define EB_CONF_MAX_KAFKA_PROPS 64

/* A program: its name, a one-line summary, usage synopsis and sections. */
typedef struct eb_conf_program_s {
    const char *name;     /* "order-service" */
    const char *summary;  /* one line for --help */
    const char *synopsis; /* after the name in the usage line, e.g. "[options]" */
    const eb_conf_section_t *sections;
    size_t section_count;
    int accepts_kafka_props; /* 1: -X key=value is allowed */
    int max_positional;      /* positional arguments allowed (0 for daemons) */
} eb_conf_program_t;

/* What eb_config_parse() found on the command line besides settings. */
typedef enum eb_conf_action_e {
    EB_CONF_ACTION_RUN = 0,
    EB_CONF_ACTION_HELP,
    EB_CONF_ACTION_VERSION,
    EB_CONF_ACTION_MARKDOWN /* --help-markdown: the settings as a Markdown table */
} eb_conf_action_t;

/* Parse results that are not settings: positional arguments and -X props.
 * The pointers point into argv and stay valid as long as argv does. */
typedef struct eb_conf_args_s {
    eb_conf_action_t action;
    const char *positional[8];
    int positional_count;
    const char *kafka_props[EB_CONF_MAX_KAFKA_PROPS]; /* "key=value" */
    int kafka_prop_count;
} eb_conf_args_t;

/* Applies defaults, then the environment, then argv to every section.
 * Returns EB_OK, or EB_ERR_INVALID with one line naming the setting or flag
 * in errstr. String values point into the environment, argv or the static
 * defaults, so nothing needs freeing; they stay valid while argv lives and
 * the environment is not changed (no setenv/putenv of those variables).
 * Does no I/O besides getenv(): call it from main() before other threads
 * start. */
eb_err_t eb_config_parse(const eb_conf_program_t *prog, int argc, char **argv, eb_conf_args_t *args,
                         char *errstr, size_t errstr_size);

/* Parses one value as entry describes it, storing it at base + offset.
 * A string setting stores value itself (not a copy): it must outlive its
 * use. Exposed for the unit tests and for tools that take values from
 * elsewhere. */
eb_err_t eb_config_set(const eb_conf_entry_t *entry, void *base, const char *value, char *errstr,
                       size_t errstr_size);

/* Writes the usage text generated from the tables to out. */
void eb_config_write_usage(const eb_conf_program_t *prog, FILE *out);

/* Writes the tables as Markdown (one table per section) to out. */
void eb_config_write_markdown(const eb_conf_program_t *prog, FILE *out);

/*
 * Settings every daemon shares, and the sections that fill them. A program
 * lists the sections it uses; unused fields stay zero.
 */
typedef struct eb_common_conf_s {
    const char *kafka_brokers;      /* KAFKA_BROKERS */
    const char *kafka_config_file;  /* KAFKA_CONFIG_FILE, "" = none */
    const char *redis_url;          /* REDIS_URL */
    int64_t redis_timeout_ms;       /* REDIS_TIMEOUT_MS */
    const char *log_level;          /* LOG_LEVEL */
    const char *log_format;         /* LOG_FORMAT */
    const char *instance_id;        /* INSTANCE_ID, NULL until computed */
    int64_t retry_max;              /* RETRY_MAX */
    int64_t retry_backoff_ms;       /* RETRY_BACKOFF_MS */
    int64_t batch_size;             /* CONSUMER_BATCH_SIZE */
    int64_t idempotency_ttl_s;      /* IDEMPOTENCY_TTL_S */
    int64_t claim_lease_ms;         /* IDEMPOTENCY_LEASE_MS */
    const char *exactly_once;       /* EXACTLY_ONCE: "true" or "false" */
    int64_t http_max_body;          /* HTTP_MAX_BODY */
    int64_t http_threads;           /* HTTP_THREADS */
    int64_t http_max_connections;   /* HTTP_MAX_CONNECTIONS */
    int64_t http_per_ip;            /* HTTP_MAX_CONNECTIONS_PER_IP */
    int64_t http_timeout_s;         /* HTTP_TIMEOUT_S */
    int64_t http_header_timeout_s;  /* HTTP_HEADER_TIMEOUT_S */
    int64_t http_request_timeout_s; /* HTTP_REQUEST_TIMEOUT_S */
    const char *http_event_loop;    /* HTTP_EVENT_LOOP: "epoll" or "poll" */
    int64_t outbox_batch;           /* OUTBOX_BATCH */
    int64_t outbox_inflight;        /* OUTBOX_MAX_INFLIGHT */
    int64_t outbox_claim_idle_ms;   /* OUTBOX_CLAIM_IDLE_MS */
    char instance_buf[128];         /* storage for a computed INSTANCE_ID */
} eb_common_conf_t;

#define EB_CONF_KAFKA_COUNT    2 /* KAFKA_BROKERS, KAFKA_CONFIG_FILE */
#define EB_CONF_REDIS_COUNT    2 /* REDIS_URL, REDIS_TIMEOUT_MS */
#define EB_CONF_LOG_COUNT      3 /* LOG_LEVEL, LOG_FORMAT, INSTANCE_ID */
#define EB_CONF_CONSUMER_COUNT 6 /* RETRY_MAX, RETRY_BACKOFF_MS, CONSUMER_BATCH_SIZE, ... */
#define EB_CONF_HTTP_COUNT     8 /* HTTP_MAX_BODY, HTTP_THREADS, HTTP_MAX_CONNECTIONS, ... */
#define EB_CONF_OUTBOX_COUNT   3 /* OUTBOX_BATCH, OUTBOX_MAX_INFLIGHT, OUTBOX_CLAIM_IDLE_MS */

extern const eb_conf_entry_t eb_config_kafka_entries[EB_CONF_KAFKA_COUNT];
extern const eb_conf_entry_t eb_config_redis_entries[EB_CONF_REDIS_COUNT];
extern const eb_conf_entry_t eb_config_log_entries[EB_CONF_LOG_COUNT];
extern const eb_conf_entry_t eb_config_consumer_entries[EB_CONF_CONSUMER_COUNT];
extern const eb_conf_entry_t eb_config_http_entries[EB_CONF_HTTP_COUNT];
extern const eb_conf_entry_t eb_config_outbox_entries[EB_CONF_OUTBOX_COUNT];

/* Sections over an eb_common_conf_t, for a program's section list. */
#define EB_CONF_SECTION_KAFKA(c)                                                                   \
    {                                                                                              \
        "Kafka", eb_config_kafka_entries, EB_CONF_KAFKA_COUNT, (c)                                 \
    }
#define EB_CONF_SECTION_REDIS(c)                                                                   \
    {                                                                                              \
        "Redis", eb_config_redis_entries, EB_CONF_REDIS_COUNT, (c)                                 \
    }
#define EB_CONF_SECTION_LOG(c)                                                                     \
    {                                                                                              \
        "Logging", eb_config_log_entries, EB_CONF_LOG_COUNT, (c)                                   \
    }
#define EB_CONF_SECTION_CONSUMER(c)                                                                \
    {                                                                                              \
        "Consumer", eb_config_consumer_entries, EB_CONF_CONSUMER_COUNT, (c)                        \
    }

/* The HTTP API's limits (eventbus/api.h); each service names its own
 * HTTP_PORT and BIND_ADDRESS, whose defaults differ. */
#define EB_CONF_SECTION_HTTP(c)                                                                    \
    {                                                                                              \
        "HTTP", eb_config_http_entries, EB_CONF_HTTP_COUNT, (c)                                    \
    }
/* The outbox relay (eventbus/outbox.h). */
#define EB_CONF_SECTION_OUTBOX(c)                                                                  \
    {                                                                                              \
        "Outbox", eb_config_outbox_entries, EB_CONF_OUTBOX_COUNT, (c)                              \
    }

/* Fills instance_id with "hostname-pid" when INSTANCE_ID was not given; it
 * then points into conf->instance_buf, valid as long as conf. */
void eb_config_common_finish(eb_common_conf_t *conf);

#ifdef __cplusplus
}
#endif
#endif /* EVENTBUS_CONFIG_H */
