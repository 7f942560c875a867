/*
 * The suite's topic catalogue (see cli.h for the layer): every topic the
 * services produce to or consume from, and their dead-letter topics. One
 * list, so that the dev broker, kafka-local and docker-compose create the
 * same topics the services use. The services' domain (services/common)
 * names the topics through these; the tools, which must not include
 * services/, take them from here.
 */
#ifndef EVENTBUS_APP_TOPICS_H
#define EVENTBUS_APP_TOPICS_H

#include <stddef.h>

#define APP_TOPIC_ORDER_CREATED     "order-created"
#define APP_TOPIC_PAYMENT_PROCESSED "payment-processed"
#define APP_TOPIC_PAYMENT_FAILED    "payment-failed"
/* The saga (inventory, refunds, cancel, complete) and the users. */
#define APP_TOPIC_PAYMENT_REFUNDED       "payment-refunded"
#define APP_TOPIC_INVENTORY_RESERVED     "inventory-reserved"
#define APP_TOPIC_INVENTORY_INSUFFICIENT "inventory-insufficient"
#define APP_TOPIC_INVENTORY_RELEASED     "inventory-released"
#define APP_TOPIC_ORDER_CANCELLED        "order-cancelled"
#define APP_TOPIC_ORDER_COMPLETED        "order-completed"
#define APP_TOPIC_USER_REGISTERED        "user-registered"
#define APP_TOPIC_USER_UPDATED           "user-updated"

/* Every topic of the suite, dead-letter topics included: what the dev
 * broker, kafka-local and docker-compose create. Static storage. */
extern const char *const app_topics[];
extern const size_t app_topic_count;

#endif /* EVENTBUS_APP_TOPICS_H */
