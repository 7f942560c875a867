/*
 * The topic catalogue.
 */
#include "eventbus/app/topics.h"
#include "eventbus/dlq.h"

const char *const app_topics[] = {
    APP_TOPIC_ORDER_CREATED,
    APP_TOPIC_PAYMENT_PROCESSED,
    APP_TOPIC_PAYMENT_FAILED,
    APP_TOPIC_ORDER_CREATED EB_DLQ_SUFFIX,
    APP_TOPIC_PAYMENT_PROCESSED EB_DLQ_SUFFIX,
    APP_TOPIC_PAYMENT_FAILED EB_DLQ_SUFFIX,
};
const size_t app_topic_count = sizeof(app_topics) / sizeof(app_topics[0]);
