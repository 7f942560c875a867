/*
 * Dead-letter records, with Spring Kafka's header names and encodings so that
 * existing Kafka tooling understands them (docs/contract.md section 5).
 *
 * A dead letter goes to "<topic>-dlq", same partition number, with the
 * original key, value and headers byte for byte, plus the headers below.
 */
#ifndef EVENTBUS_DLQ_H
#define EVENTBUS_DLQ_H

#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "eventbus/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EB_DLQ_SUFFIX "-dlq"

#define EB_DLT_ORIGINAL_TOPIC     "kafka_dlt-original-topic"
#define EB_DLT_ORIGINAL_PARTITION "kafka_dlt-original-partition" /* 4-byte big-endian */
#define EB_DLT_ORIGINAL_OFFSET    "kafka_dlt-original-offset"    /* 8-byte big-endian */
#define EB_DLT_ORIGINAL_TIMESTAMP "kafka_dlt-original-timestamp" /* 8-byte big-endian ms */
#define EB_DLT_ORIGINAL_GROUP     "kafka_dlt-original-consumer-group"
#define EB_DLT_EXCEPTION_FQCN     "kafka_dlt-exception-fqcn"
#define EB_DLT_EXCEPTION_MESSAGE  "kafka_dlt-exception-message"
#define EB_DLT_ATTEMPTS           "eventbus-attempts"  /* decimal text */
#define EB_DLT_FAILED_AT          "eventbus-failed-at" /* RFC 3339 text */

#define EB_DLT_FQCN_PERMANENT "eventbus.PermanentError"
#define EB_DLT_FQCN_RETRIES   "eventbus.RetriesExhausted"

/* Why and where a message failed. */
typedef struct eb_dlq_info_s {
    const char *topic; /* original topic */
    int32_t partition;
    int64_t offset;
    int64_t timestamp_ms; /* original record timestamp, -1 if none */
    const char *group;    /* consumer group that gave up */
    const char *fqcn;     /* EB_DLT_FQCN_PERMANENT or EB_DLT_FQCN_RETRIES */
    const char *message;  /* reason, UTF-8 */
    int attempts;         /* handler attempts made (0 when never handled) */
    int64_t failed_at_ms; /* wall clock */
} eb_dlq_info_t;

/* Writes "<topic>-dlq" into out. Returns EB_ERR_INVALID if it does not fit. */
eb_err_t eb_dlq_topic(const char *topic, char *out, size_t size);

/* Returns a new header list: a copy of original (may be NULL; not taken
 * over) followed by the dead-letter headers of info (copied). The caller
 * owns it: rd_kafka_headers_destroy(), or hand it to librdkafka. */
rd_kafka_headers_t *eb_dlq_headers(const rd_kafka_headers_t *original, const eb_dlq_info_t *info);

/* Returns 1 if name is one of the headers eb_dlq_headers() adds. */
int eb_dlq_is_dlq_header(const char *name);

/* Removes every header eb_dlq_headers() adds, leaving the original ones
 * (what a replay publishes). */
void eb_dlq_strip_headers(rd_kafka_headers_t *h);

/* Big-endian integer codecs used by the headers. decode returns -1 when size
 * does not match. */
void eb_dlq_be32(int32_t v, unsigned char out[4]);
void eb_dlq_be64(int64_t v, unsigned char out[8]);
int eb_dlq_read_be32(const void *p, size_t size, int32_t *v);
int eb_dlq_read_be64(const void *p, size_t size, int64_t *v);

#ifdef __cplusplus
}
#endif
#endif /* EVENTBUS_DLQ_H */
