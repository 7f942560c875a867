/*
 * The records of one turn and what their handlers published (work.c, and
 * consumer.c which runs the turn). Internal to the library.
 *
 * Everything a handler publishes carries a ticket (turn number, work index)
 * as its librdkafka opaque, so a delivery report arriving after its turn
 * ended is recognised and ignored: that work was retried already.
 */
#ifndef EVENTBUS_WORK_INT_H
#define EVENTBUS_WORK_INT_H

#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "eventbus/envelope.h"
#include "eventbus/log.h"
#include "eventbus/producer.h"
#include "eventbus/redis.h"
#include "eventbus/traceparent.h"
#include "group.h"
#include "turn.h"

/* A turn's batch: its records, and the clients their handlers use. */
typedef struct eb_batch_s {
    eb_producer_t *producer; /* results and dead letters */
    eb_redis_t *redis;       /* the consumer thread's connection */
    int publish_timeout_ms;
    struct eb_work_s *works;
    size_t nworks, cap;
    uint64_t turn;     /* increments every batch; tickets carry it */
    int pending_total; /* published records awaiting acknowledgement */
} eb_batch_t;

struct eb_work_s {
    eb_batch_t *b;
    rd_kafka_message_t *msg;
    const char *topic;
    eb_event_t ev;
    int decoded;
    size_t part;               /* index of its partition in the group's state, this turn */
    eb_turn_outcome_t outcome; /* so far in this turn */
    eb_turn_action_t dlq;      /* the dead letter decided for it */
    int ready;                 /* claimed, planned, to be handed to the handler */
    int claimed;               /* holds an idempotency claim */
    int attempt;               /* 1-based handler attempt */
    int pending;               /* published records awaiting acknowledgement */
    int publish_failed;
    eb_err_t result; /* what a batch handler decided (eb_work_fail sets it) */
    char reason[EB_REASON_MAX];
    eb_trace_t trace;     /* this hop's span, started when the record was decoded */
    eb_log_fields_t logf; /* the thread's log context while it is handled */
};

/* The producer's delivery report for what a work published
 * (eb_delivery_cb_t; opaque: the batch). */
void eb__work_delivered(void *msg_opaque, eb_err_t err, const char *reason, void *opaque);

/* The librdkafka opaque that ties a record published now to its work. */
void *eb__work_ticket(const eb_batch_t *b, const struct eb_work_s *w);

#endif /* EVENTBUS_WORK_INT_H */
