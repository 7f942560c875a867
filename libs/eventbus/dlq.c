/*
 * Dead-letter headers with Spring Kafka's names and encodings.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "eventbus/dlq.h"
#include "eventbus/envelope.h"

eb_err_t eb_dlq_topic(const char *topic, char *out, size_t size)
{
    int n = snprintf(out, size, "%s" EB_DLQ_SUFFIX, topic);

    return n < 0 || (size_t)n >= size ? EB_ERR_INVALID : EB_OK;
}

void eb_dlq_be32(int32_t v, unsigned char out[4])
{
    uint32_t u = (uint32_t)v;

    for (int i = 3; i >= 0; i--, u >>= 8)
        out[i] = (unsigned char)(u & 0xff);
}

void eb_dlq_be64(int64_t v, unsigned char out[8])
{
    uint64_t u = (uint64_t)v;

    for (int i = 7; i >= 0; i--, u >>= 8)
        out[i] = (unsigned char)(u & 0xff);
}

int eb_dlq_read_be32(const void *p, size_t size, int32_t *v)
{
    const unsigned char *b = p;
    uint32_t u = 0;

    if (size != 4)
        return -1;
    for (int i = 0; i < 4; i++)
        u = (u << 8) | b[i];
    *v = (int32_t)u;
    return 0;
}

int eb_dlq_read_be64(const void *p, size_t size, int64_t *v)
{
    const unsigned char *b = p;
    uint64_t u = 0;

    if (size != 8)
        return -1;
    for (int i = 0; i < 8; i++)
        u = (u << 8) | b[i];
    *v = (int64_t)u;
    return 0;
}

static const char *const dlq_header_names[] = {
    EB_DLT_ORIGINAL_TOPIC,     EB_DLT_ORIGINAL_PARTITION, EB_DLT_ORIGINAL_OFFSET,
    EB_DLT_ORIGINAL_TIMESTAMP, EB_DLT_ORIGINAL_GROUP,     EB_DLT_EXCEPTION_FQCN,
    EB_DLT_EXCEPTION_MESSAGE,  EB_DLT_ATTEMPTS,           EB_DLT_FAILED_AT,
};

int eb_dlq_is_dlq_header(const char *name)
{
    for (size_t i = 0; i < sizeof(dlq_header_names) / sizeof(dlq_header_names[0]); i++)
        if (strcmp(name, dlq_header_names[i]) == 0)
            return 1;
    return 0;
}

void eb_dlq_strip_headers(rd_kafka_headers_t *h)
{
    for (size_t i = 0; i < sizeof(dlq_header_names) / sizeof(dlq_header_names[0]); i++)
        rd_kafka_header_remove(h, dlq_header_names[i]);
}

rd_kafka_headers_t *eb_dlq_headers(const rd_kafka_headers_t *original, const eb_dlq_info_t *info)
{
    rd_kafka_headers_t *h = original ? rd_kafka_headers_copy(original) : rd_kafka_headers_new(9);
    unsigned char be4[4], be8[8];
    char attempts[16], failed_at[EB_TIME_LEN + 1];

    /* The original headers stay byte for byte; ours follow them. (Replay
     * strips these again, so a record never carries two sets.) */
    rd_kafka_header_add(h, EB_DLT_ORIGINAL_TOPIC, -1, info->topic, -1);
    eb_dlq_be32(info->partition, be4);
    rd_kafka_header_add(h, EB_DLT_ORIGINAL_PARTITION, -1, be4, sizeof(be4));
    eb_dlq_be64(info->offset, be8);
    rd_kafka_header_add(h, EB_DLT_ORIGINAL_OFFSET, -1, be8, sizeof(be8));
    eb_dlq_be64(info->timestamp_ms, be8);
    rd_kafka_header_add(h, EB_DLT_ORIGINAL_TIMESTAMP, -1, be8, sizeof(be8));
    rd_kafka_header_add(h, EB_DLT_ORIGINAL_GROUP, -1, info->group, -1);
    rd_kafka_header_add(h, EB_DLT_EXCEPTION_FQCN, -1, info->fqcn, -1);
    rd_kafka_header_add(h, EB_DLT_EXCEPTION_MESSAGE, -1, info->message, -1);
    snprintf(attempts, sizeof(attempts), "%d", info->attempts);
    rd_kafka_header_add(h, EB_DLT_ATTEMPTS, -1, attempts, -1);
    eb_time_format(info->failed_at_ms, failed_at);
    rd_kafka_header_add(h, EB_DLT_FAILED_AT, -1, failed_at, -1);
    return h;
}
