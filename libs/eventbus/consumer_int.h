/*
 * The consumer's parts and what they share (consumer.c, group.c,
 * work.c; the decisions are in turn.h). Internal to the library.
 *
 *   consumer.c        the loop: a turn's steps, construction, destruction
 *   group.c  group membership and partition state: rebalances,
 *                     bounded commit and close, pause/seek/resume, errors,
 *                     statistics (consumer_lag)
 *   work.c            the handler's view of one record (eb_work_*), and
 *                     the delivery reports of what it publishes
 *   turn.c            the decisions of a turn, pure
 *
 * One thread owns all of it: the one in eb_consumer_run().
 */
#ifndef EVENTBUS_CONSUMER_INT_H
#define EVENTBUS_CONSUMER_INT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "eventbus/backoff.h"
#include "eventbus/consumer.h"
#include "eventbus/metrics.h"
#include "eventbus/producer.h"
#include "turn.h"

#define EB_CONSUMER_POLL_MS 100 /* the loop turns at least this often */
#define EB_REASON_MAX       256
#define EB_MAX_LAG_SERIES   256

/* Shutdown never waits on brokers for longer than this, whatever they do
 * (the contract: exit within 10 s of SIGTERM): the final commit, leaving
 * the group, and the producer's flush (eb_consumer_destroy) each get a
 * bounded share. A member that could not leave is expired by the group
 * after session.timeout.ms, and offsets that could not be committed are
 * processed again by the next owner, who finds them done in Redis. */
#define EB_CLOSE_COMMIT_MS 1500
#define EB_CLOSE_LEAVE_MS  2500
#define EB_CLOSE_FLUSH_MS  3000
/* A commit on revoke outside shutdown may wait longer (a coordinator that
 * moves takes seconds), but never for ever. */
#define EB_REVOKE_COMMIT_MS 10000

struct eb_work_s {
    eb_consumer_t *c;
    rd_kafka_message_t *msg;
    const char *topic;
    eb_event_t ev;
    int decoded;
    size_t part;               /* index of its partition in c->parts, this turn */
    eb_turn_outcome_t outcome; /* so far in this turn */
    eb_turn_action_t dlq;      /* the dead letter decided for it */
    int ready;                 /* claimed, planned, to be handed to the handler */
    int claimed;               /* holds an idempotency claim */
    int attempt;               /* 1-based handler attempt */
    int pending;               /* published records awaiting acknowledgement */
    int publish_failed;
    eb_err_t result; /* what a batch handler decided (eb_work_fail sets it) */
    char reason[EB_REASON_MAX];
    char traceparent[EB_TRACEPARENT_LEN + 1];
};

/* Why a record the partition's memory condemns is to be dead-lettered. */
typedef struct eb_part_why_s {
    int64_t offset;
    char text[EB_REASON_MAX];
} eb_part_why_t;

/* Pause and retry bookkeeping for one assigned partition. */
typedef struct eb_part_s {
    char topic[256];
    int32_t partition;
    int paused;
    int64_t resume_at;   /* monotonic ms */
    int64_t seek_offset; /* a seek back to here did not take: retry before resuming */
    eb_turn_mem_t mem;   /* what the decisions remember across turns */
    eb_part_why_t why[EB_TURN_MARKS];
    size_t nwhy;
} eb_part_t;

struct eb_consumer_s {
    rd_kafka_t *rk;
    eb_producer_t *producer;
    eb_redis_t *redis;
    eb_consumer_opts_t o;
    char token[256]; /* claim token: unique to this process */
    int cooperative; /* the group's rebalance protocol, as of the last rebalance */
    int closing;     /* eb_consumer_run() is stopping: broker waits are short */
    int fatal;

    eb_work_t *works;
    size_t nworks, cap;
    uint64_t turn; /* increments every batch; delivery tickets carry it */
    int pending_total;

    eb_part_t *parts;
    size_t nparts, pcap;

    /* Scratch for the decisions, sized for cap works and pcap partitions. */
    eb_turn_work_t *tw;
    eb_turn_action_t *act;
    eb_turn_part_t *tpart;
    eb_turn_mem_t *tmem;
    int *tflag;
    size_t tpcap;

    eb_backoff_t infra;        /* the wait for Redis or Kafka, while they are away */
    int64_t claims_renewed_ms; /* monotonic; this turn's claims were taken or renewed */

    atomic_int joined, assigned;
    _Atomic int64_t last_loop_ms;

    eb_metric_t *m_consumed, *m_duration, *m_lag;
    eb_series_t *lag_series[EB_MAX_LAG_SERIES]; /* consumer_lag series set by the last stats */
    size_t nlag;
};

/* ---- group.c ---------------------------------------------------- */

/* Installs the group callbacks (rebalance, error, statistics) on conf. */
void eb__group_conf(eb_consumer_t *c, rd_kafka_conf_t *conf);

/* Commits the stored offsets, waiting at most timeout_ms for the
 * coordinator's answer. Returns the commit's error, _TIMED_OUT when no
 * answer came. */
rd_kafka_resp_err_t eb__group_commit(rd_kafka_t *rk, int timeout_ms);

/* Leaves the group for at most timeout_ms. Returns 1 when closed. */
int eb__group_close(eb_consumer_t *c, int timeout_ms);

/* The state of topic[partition], created when create is set. Returns its
 * index in c->parts, or -1 (not known, or out of memory). */
long eb__group_part(eb_consumer_t *c, const char *topic, int32_t partition, int create);

/* Time until the earliest paused partition is due, capped at
 * EB_CONSUMER_POLL_MS. */
int eb__group_poll_timeout(const eb_consumer_t *c);

/* Pauses the partitions of list (offsets set) and seeks them back there;
 * a seek that did not take is tried again before the partition resumes. */
void eb__group_rewind(eb_consumer_t *c, rd_kafka_topic_partition_list_t *list);

/* Resumes the paused partitions that are due. */
void eb__group_resume_due(eb_consumer_t *c);

/* ---- work.c -------------------------------------------------------------- */

/* The producer's delivery report for what a work published
 * (eb_delivery_cb_t; opaque: the consumer). */
void eb__work_delivered(void *msg_opaque, eb_err_t err, const char *reason, void *opaque);

/* The librdkafka opaque that ties a record published now to its work. */
void *eb__work_ticket(const eb_consumer_t *c, const eb_work_t *w);

#endif /* EVENTBUS_CONSUMER_INT_H */
