/*
 * Building librdkafka configurations from the suite's settings.
 *
 * Order of precedence, later winning: the component's defaults (tuned for
 * what the component does), KAFKA_CONFIG_FILE, `-X key=value` flags, then the
 * few properties a component cannot work without (the producer forces
 * enable.idempotence=true and acks=all; the consumer forces
 * enable.auto.offset.store=false). Users thus tune and secure every client
 * (SASL, SSL, timeouts) without code changes.
 *
 * librdkafka's own log lines are routed into eb_log.
 */
#ifndef EVENTBUS_KAFKA_H
#define EVENTBUS_KAFKA_H

#include <stddef.h>
#include <stdint.h>

#include <stdatomic.h>

#include <librdkafka/rdkafka.h>

#include "eventbus/config.h"
#include "eventbus/envelope.h"
#include "eventbus/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Properties a client is built with, besides the common settings.
 *
 * In KAFKA_CONFIG_FILE and -X, a key may carry a role prefix: "consumer."
 * or "producer." applies the property only to clients of that role (the
 * Kafka Connect convention), so one file can tune both without librdkafka
 * warning about properties that do not apply. Unprefixed keys apply to
 * every client. */
typedef struct eb_kafka_props_s {
    const char *const *defaults; /* NULL-terminated key, value, key, value... */
    const char *const *user;     /* "key=value" strings from -X flags */
    int user_count;
    const char *role; /* "consumer", "producer" or NULL (no prefix matches) */
} eb_kafka_props_t;

/* Returns a new conf with bootstrap.servers (unless common->kafka_brokers is
 * NULL), client.id, the defaults, the
 * properties file and the user properties applied, or NULL with the
 * offending property or file line in errstr. The caller owns the conf and
 * normally hands it to eb_producer_new(), eb_consumer_new() or rd_kafka_new(),
 * which take it; else rd_kafka_conf_destroy() it. Nothing of common or
 * props is kept. Any thread. Reads KAFKA_CONFIG_FILE; makes no connection. */
rd_kafka_conf_t *eb_kafka_conf_new(const eb_common_conf_t *common, const char *client_id,
                                   const eb_kafka_props_t *props, char *errstr, size_t errstr_size);

/* Sets one property, formatting the failure as "key=value: reason". */
eb_err_t eb_kafka_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value, char *errstr,
                           size_t errstr_size);

/* Asks the cluster for metadata with the given timeout. Returns 1 when at
 * least one broker answered. Thread-safe; blocks the caller up to timeout. */
int eb_kafka_reachable(rd_kafka_t *rk, int timeout_ms);

/* Decodes a consumed record as an event: its content-type header is
 * checked first (eb_event_check_content_type: none, or structured mode; a
 * header with a null value is not), then its value (eb_event_decode). On
 * EB_OK ev holds the event and must be closed; on EB_ERR_BAD_EVENT errstr
 * says why and ev needs no closing. Any thread; m is only read. */
eb_err_t eb_kafka_event_decode(const rd_kafka_message_t *m, eb_event_t *ev, char *errstr,
                               size_t errstr_size);

/* Reads every partition of topic from its beginning to its end as it was
 * when the scan started, calling fn on each record in partition order, on
 * the calling thread (the message is valid only during that call). rk is
 * a consumer handle (its partitions are assigned and unassigned here;
 * nothing is committed), used by no other thread meanwhile; made with
 * enable.partition.eof=true, or a partition whose last offsets hold no
 * record (transaction markers, compaction) ends only after the 10 s wait. Returns EB_OK once every
 * partition was read to that end; EB_ERR_KAFKA (no such topic, no broker for
 * 10 s) or a stop (*stop set; may be NULL) with the reason in errstr. */
eb_err_t eb_kafka_scan(rd_kafka_t *rk, const char *topic,
                       void (*fn)(void *arg, const rd_kafka_message_t *m), void *arg,
                       const atomic_int *stop, char *errstr, size_t errstr_size);

/* Part of one partition of a topic: the offsets from start to before end. */
typedef struct eb_kafka_range_s {
    int32_t partition;
    int64_t start, end;
} eb_kafka_range_t;

/* Every partition of topic with its low (start) and high (end) watermark,
 * in partition order: *ranges is a new array of *count entries that the
 * caller frees with free(). rk is any handle. Returns EB_OK, or
 * EB_ERR_KAFKA (no such topic, no answer in 10 s) with the reason in errstr. */
eb_err_t eb_kafka_topic_ranges(rd_kafka_t *rk, const char *topic, eb_kafka_range_t **ranges,
                               int *count, char *errstr, size_t errstr_size);

/* Reads the given ranges of topic (empty ones and repeated partitions
 * skipped), calling fn on each record on the calling thread, in offset order
 * within a partition; partitions interleave as the broker delivers them. fn
 * returns nonzero to end the scan there. rk is a consumer handle, assigned
 * and unassigned here; nothing is committed. Returns EB_OK once every range
 * was read or fn ended the scan; EB_ERR_KAFKA (no record for 10 s) or a stop
 * (*stop set; may be NULL) with the reason in errstr. */
eb_err_t eb_kafka_scan_ranges(rd_kafka_t *rk, const char *topic, const eb_kafka_range_t *ranges,
                              int count, int (*fn)(void *arg, const rd_kafka_message_t *m),
                              void *arg, const atomic_int *stop, char *errstr, size_t errstr_size);

#ifdef __cplusplus
}
#endif
#endif /* EVENTBUS_KAFKA_H */
