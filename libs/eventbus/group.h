/*
 * A consumer's membership of its group, and the state of the partitions it
 * holds (group.c). Internal to the library.
 *
 * What librdkafka's rebalance, error and statistics callbacks do; commits
 * and a close that never wait for ever; the pause, seek back and resume of
 * partitions whose first record is not settled. The group knows nothing of
 * turns or handlers: when partitions are taken away it tells its owner
 * through a callback, so that the owner drops what it holds of them.
 *
 * @locality: the consumer thread. librdkafka serves these callbacks from
 * rd_kafka_consumer_poll() (and from the close queue), which only the loop
 * calls, between turns.
 */
#ifndef EVENTBUS_GROUP_H
#define EVENTBUS_GROUP_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "eventbus/metrics.h"
#include "turn.h"

#define EB_GROUP_POLL_MS  100 /* the loop turns at least this often */
#define EB_REASON_MAX     256
#define EB_MAX_LAG_SERIES 256

/* Shutdown never waits on brokers for longer than this, whatever they do
 * (the contract: exit within 10 s of SIGTERM): the final commit, leaving
 * the group, and the producer's flush each get a bounded share. A member
 * that could not leave is expired by the group after session.timeout.ms,
 * and offsets that could not be committed are processed again by the next
 * owner, who finds them done in Redis. */
#define EB_CLOSE_COMMIT_MS 1500
#define EB_CLOSE_LEAVE_MS  2500
#define EB_CLOSE_FLUSH_MS  3000
/* A commit on revoke outside shutdown may wait longer (a coordinator that
 * moves takes seconds), but never for ever. */
#define EB_REVOKE_COMMIT_MS 10000

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

/* Partitions are being taken away: drop what is held of them. */
typedef void(eb_group_revoked_cb_t)(const rd_kafka_topic_partition_list_t *parts, void *opaque);

typedef struct eb_group_s {
    rd_kafka_t *rk;  /* the consumer handle, once created */
    int cooperative; /* the group's rebalance protocol, as of the last rebalance */
    int closing;     /* stopping: broker waits are short */
    int fatal;       /* librdkafka reported a fatal error */

    eb_part_t *parts;
    size_t nparts, pcap;

    atomic_int joined, assigned; /* read from other threads (/ready) */

    const char *group_id; /* the consumer's, for consumer_lag's group label; not copied */
    eb_metric_t *m_lag;
    eb_series_t *lag_series[EB_MAX_LAG_SERIES]; /* consumer_lag series set by the last stats */
    size_t nlag;

    eb_group_revoked_cb_t *revoked;
    void *opaque;
} eb_group_t;

/* Sets g up for the consumer group group_id, which names the group in
 * consumer_lag{group,topic,partition} and must outlive g (the consumer's
 * options already must); revoked(parts, opaque) is called when partitions
 * go. */
void eb__group_init(eb_group_t *g, const char *group_id, eb_group_revoked_cb_t *revoked,
                    void *opaque);

/* Installs the group callbacks (rebalance, error, statistics) on conf. */
void eb__group_conf(eb_group_t *g, rd_kafka_conf_t *conf);

/* Frees the partition state (not the handle). */
void eb__group_free(eb_group_t *g);

/* Commits the stored offsets, waiting at most timeout_ms for the
 * coordinator's answer. Returns the commit's error, _TIMED_OUT when no
 * answer came. */
rd_kafka_resp_err_t eb__group_commit(rd_kafka_t *rk, int timeout_ms);

/* Leaves the group for at most timeout_ms. Returns 1 when closed. */
int eb__group_close(eb_group_t *g, int timeout_ms);

/* The state of topic[partition], created when create is set. Returns its
 * index in g->parts, or -1 (not known, or out of memory). */
long eb__group_part(eb_group_t *g, const char *topic, int32_t partition, int create);

/* Time until the earliest paused partition is due, capped at
 * EB_GROUP_POLL_MS. */
int eb__group_poll_timeout(const eb_group_t *g);

/* Pauses the partitions of list (offsets set) and seeks them back there;
 * a seek that did not take is tried again before the partition resumes. */
void eb__group_rewind(eb_group_t *g, rd_kafka_topic_partition_list_t *list);

/* Resumes the paused partitions that are due. */
void eb__group_resume_due(eb_group_t *g);

#endif /* EVENTBUS_GROUP_H */
