/*
 * shipping-notifier: a service written against the installed eventbus
 * library and nothing else (docs/writing-a-service.md walks through it).
 *
 * Once every item of a paid order is reserved (InventoryReserved, topic
 * inventory-reserved), it asks the warehouse to ship them: it publishes
 * ShipmentRequested on topic shipment-requested, keyed by the order id. The
 * library does the rest: event ids claimed in Redis so each event has its
 * effect once, retries with backoff, dead letters in inventory-reserved-dlq,
 * versions through the schema registry, offsets stored only once settled.
 *
 * One thread: main() runs the consume loop and the handler runs inside it.
 * Shutdown order: SIGTERM sets eb_stop_flag -> eb_consumer_run() finishes or
 * hands back its batch, commits the stored offsets, leaves the group and
 * returns -> eb_consumer_destroy() flushes the producer and frees the clients
 * -> the registry, then the metrics registry, are freed -> exit 0.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <eventbus/eventbus.h>

#define SERVICE   "shipping-notifier"
#define VERSION   "0.1.0"
#define IN_TOPIC  "inventory-reserved"
#define IN_TYPE   "InventoryReserved"
#define OUT_TOPIC "shipment-requested"
#define OUT_TYPE  "ShipmentRequested"

/* Settings: the library's tables for Kafka, Redis, the consumer and the log,
 * and one table of our own. */
typedef struct shipping_conf_s {
    const char *warehouse;
} shipping_conf_t;

static eb_common_conf_t common;
static shipping_conf_t conf;

static const eb_conf_entry_t shipping_entries[] = {
    {.name = "SHIPPING_WAREHOUSE",
     .type = EB_CONF_STRING,
     .offset = offsetof(shipping_conf_t, warehouse),
     .def = "main",
     .desc = "Warehouse every ShipmentRequested is addressed to"},
};
static const eb_conf_section_t sections[] = {
    {SERVICE, shipping_entries, 1, &conf},
    EB_CONF_SECTION_KAFKA(&common),
    EB_CONF_SECTION_REDIS(&common),
    EB_CONF_SECTION_CONSUMER(&common), /* RETRY_MAX, RETRY_BACKOFF_MS, IDEMPOTENCY_* */
    EB_CONF_SECTION_LOG(&common),
};
static const eb_conf_program_t prog = {
    .name = SERVICE,
    .summary = "Consumes InventoryReserved and publishes ShipmentRequested (an eventbus example).",
    .synopsis = "[options]",
    .sections = sections,
    .section_count = sizeof(sections) / sizeof(sections[0]),
    .accepts_kafka_props = 1, /* -X key=value */
};

/* The versions we read and write. An event naming a version not listed here
 * (InventoryReserved 2, say) is dead-lettered with a reason naming it; when
 * version 2 ships, add it with the upcaster that turns version-1 data into
 * it, and the handler sees version 2 only. */
static eb_schemas_t *schemas_new(void)
{
    eb_schemas_t *s = eb_schemas_new();

    if (s && (eb_schemas_add(s, IN_TYPE, 1, "urn:eventbus:schema:InventoryReserved:1", NULL) ||
              eb_schemas_add(s, OUT_TYPE, 1, "urn:example:schema:ShipmentRequested:1", NULL))) {
        eb_schemas_free(s);
        return NULL;
    }
    return s;
}

/* Returns EB_OK, or fails the work: EB_ERR_BAD_EVENT dead-letters it at
 * once, EB_ERR_NOMEM retries it with backoff (RETRY_MAX times), a failed
 * publish makes it wait for Kafka. Runs on the consumer thread. */
static eb_err_t handle(eb_work_t *w, void *opaque)
{
    const eb_event_t *in = eb_work_event(w); /* upcast to the newest version */
    const cJSON *order = cJSON_GetObjectItemCaseSensitive(in->data, "orderId");
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(in->data, "items"), *it;
    eb_log_fields_t f;
    eb_event_t out;
    cJSON *data;
    eb_err_t err;

    if (!cJSON_IsString(order) || !cJSON_IsArray(items) || !cJSON_GetArraySize(items))
        return eb_work_fail(w, EB_ERR_BAD_EVENT, "InventoryReserved without orderId or items");
    cJSON_ArrayForEach(it, items)
    {
        const cJSON *q = cJSON_GetObjectItemCaseSensitive(it, "quantity");

        if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(it, "productId")) ||
            !cJSON_IsNumber(q) || q->valuedouble < 1 || q->valuedouble > 1e9 ||
            q->valuedouble != (int)q->valuedouble)
            return eb_work_fail(w, EB_ERR_BAD_EVENT, "an item needs productId and quantity");
    }
    data = cJSON_CreateObject();
    if (!data || !cJSON_AddStringToObject(data, "orderId", order->valuestring) ||
        !cJSON_AddStringToObject(data, "warehouse", conf.warehouse) ||
        !cJSON_AddItemToObject(data, "items", cJSON_Duplicate(items, 1))) {
        cJSON_Delete(data);
        return eb_work_fail(w, EB_ERR_NOMEM, "out of memory");
    }
    /* Derived: the same InventoryReserved always gives the same bytes, so a
     * decision taken twice is one event downstream (same id). */
    if (eb_event_derive(&out, OUT_TYPE, "/" SERVICE, order->valuestring, in, data) != EB_OK) {
        cJSON_Delete(data); /* still ours when derive fails */
        return eb_work_fail(w, EB_ERR_BAD_EVENT, "orderId too long");
    }
    err = eb_schemas_stamp(opaque, &out); /* dataschema: the newest version */
    if (err == EB_OK)
        err = eb_work_publish(w, OUT_TOPIC, order->valuestring, &out); /* fails w itself */
    else
        eb_work_fail(w, err, "no schema for %s", OUT_TYPE);
    eb_work_log_fields(w, &f);
    if (err == EB_OK)
        EB_LOG_EV(EB_LOG_INFO, &f, "shipment of order %s requested", order->valuestring);
    eb_event_close(&out);
    return err;
}

static int usage_error(const char *msg)
{
    fprintf(stderr, "%s: %s\n", SERVICE, msg);
    return 2;
}

/* A librdkafka conf for one role: our defaults, then KAFKA_CONFIG_FILE, then
 * -X flags (a "consumer." or "producer." prefix picks a role). NULL with the
 * offending property in errstr. */
static rd_kafka_conf_t *kafka_conf(const char *role, const char *const *defaults,
                                   const eb_conf_args_t *args, char *errstr, size_t size)
{
    eb_kafka_props_t props = {defaults, args->kafka_props, args->kafka_prop_count, role};

    return eb_kafka_conf_new(&common, common.instance_id, &props, errstr, size);
}

int main(int argc, char **argv)
{
    static const char *const topics[] = {IN_TOPIC}, *const types[] = {IN_TYPE};
    static const char *const cdefaults[] = {"auto.offset.reset", "earliest", NULL};
    static const char *const pdefaults[] = {"partitioner", "murmur2_random", NULL};
    eb_conf_args_t args;
    eb_redis_addr_t redis;
    eb_log_level_t level = EB_LOG_INFO;
    eb_consumer_t *consumer = NULL;
    eb_schemas_t *schemas;
    rd_kafka_conf_t *cconf, *pconf;
    char errstr[512];
    int rc = 1;

    /* Settings first: a bad one exits 2 with one line, before any connection. */
    if (eb_config_parse(&prog, argc, argv, &args, errstr, sizeof(errstr)) != EB_OK)
        return usage_error(errstr);
    if (args.action == EB_CONF_ACTION_HELP || args.action == EB_CONF_ACTION_MARKDOWN) {
        (args.action == EB_CONF_ACTION_HELP ? eb_config_write_usage
                                            : eb_config_write_markdown)(&prog, stdout);
        return 0;
    }
    if (args.action == EB_CONF_ACTION_VERSION) {
        printf("%s %s (librdkafka %s)\n", SERVICE, VERSION, rd_kafka_version_str());
        return 0;
    }
    eb_config_common_finish(&common); /* INSTANCE_ID defaults to hostname-pid */
    eb_log_level_parse(common.log_level, &level);
    eb_log_init(SERVICE, common.instance_id, level, strcmp(common.log_format, "json") == 0);
    if (eb_redis_url_parse(common.redis_url, &redis, errstr, sizeof(errstr)) != EB_OK)
        return usage_error(errstr);
    redis.timeout_ms = (int)common.redis_timeout_ms;
    cconf = kafka_conf("consumer", cdefaults, &args, errstr, sizeof(errstr));
    pconf = cconf ? kafka_conf("producer", pdefaults, &args, errstr, sizeof(errstr)) : NULL;
    if (!pconf) {
        if (cconf)
            rd_kafka_conf_destroy(cconf);
        return usage_error(errstr);
    }

    eb_lifecycle_install_signals();
    schemas = schemas_new();
    eb_consumer_opts_t opts = {
        .group_id = SERVICE, /* also the namespace of the idempotency keys */
        .instance_id = common.instance_id,
        .topics = topics,
        .topic_count = 1,
        .event_types = types,
        .event_type_count = 1,
        .schemas = schemas,
        .handler = handle,
        .opaque = schemas,
        .redis = &redis,
        .retry_max = (int)common.retry_max,
        .retry_backoff_ms = (int)common.retry_backoff_ms,
        .batch_size = (int)common.batch_size,
        .claim_lease_ms = (int)common.claim_lease_ms,
        .done_ttl_s = common.idempotency_ttl_s,
    };
    if (!schemas) {
        EB_ERROR("out of memory");
        rd_kafka_conf_destroy(cconf);
        rd_kafka_conf_destroy(pconf);
    } else if (!(consumer = eb_consumer_new(cconf, pconf, &opts, errstr, sizeof(errstr)))) {
        EB_ERROR("cannot create the consumer: %s", errstr); /* it took both confs */
    } else {
        EB_INFO("%s %s started: brokers %s, warehouse %s", SERVICE, VERSION, common.kafka_brokers,
                conf.warehouse);
        rc = eb_consumer_run(consumer, &eb_stop_flag) == EB_OK ? 0 : 1;
    }
    eb_consumer_destroy(consumer);
    eb_schemas_free(schemas); /* after the consumer, which reads it */
    eb_metrics_reset();       /* the consumer's metrics live in a process-wide registry */
    EB_INFO("%s stopped", SERVICE);
    return rc;
}
