/*
 * The decisions of a consumer turn, as pure functions over plain data
 * (turn.c). Internal to the library; the unit tests include it.
 *
 * A turn of the consumer (consumer.c) takes a batch of records, runs the
 * handler on them and then has to decide, partition by partition: which
 * records go to the dead-letter topic, up to which offset the partition is
 * settled (the offset to store), where it must rewind to, and how long it
 * pauses before the record there comes back. Those decisions live here, with
 * no librdkafka, no Redis, no clock and no random source of their own, so
 * that every rule can be checked exhaustively (tests/unit/test_turn.c):
 *
 *   - an offset is never stored past a record whose outcome is not final;
 *   - a record is attempted at most 1 + retry_max times, then dead-lettered;
 *   - a permanent failure (poison) is dead-lettered at once and never run
 *     again, whatever follows it in its partition;
 *   - dead letters of a partition leave in offset order;
 *   - a partition whose records all reach a final outcome is never stuck.
 *
 * The unit of blocking is an offset, not a partition: the first record of a
 * partition that is not settled in this turn blocks the records after it,
 * never the ones before it.
 */
#ifndef EVENTBUS_TURN_H
#define EVENTBUS_TURN_H

#include <stddef.h>
#include <stdint.h>

/* What happened to one record in this turn. */
typedef enum eb_turn_outcome_e {
    EB_TURN_OK,         /* handled, and the broker acknowledged all it published: final */
    EB_TURN_DUPLICATE,  /* the group handled this event before: final */
    EB_TURN_DEAD,       /* dead-lettered, and the DLQ acknowledged it: final */
    EB_TURN_POISON,     /* permanent failure (unreadable, unknown type, bad data) */
    EB_TURN_RETRY,      /* the handler failed retriably: one attempt spent */
    EB_TURN_WAIT,       /* not settled and no attempt spent: infrastructure
                         * down, a claim held elsewhere, or not reached */
    EB_TURN_DLQ_FAILED, /* was to be dead-lettered, but the DLQ did not
                         * acknowledge it */
    EB_TURN_HELD,       /* held back without a run, to come back at once: its
                         * partition retries an earlier record alone */
} eb_turn_outcome_t;

/* What the turn does with one record. */
typedef enum eb_turn_action_e {
    EB_TURN_KEEP,          /* nothing: final already, or it comes back later */
    EB_TURN_DLQ_PERMANENT, /* dead-letter: a permanent failure */
    EB_TURN_DLQ_RETRIES,   /* dead-letter: its retries are exhausted */
} eb_turn_action_t;

/* One record of the turn, as the decisions see it. Records of one partition
 * appear in the array in offset order; partitions may interleave. */
typedef struct eb_turn_work_s {
    size_t part;    /* index of its partition in the retry-state array */
    int64_t offset; /* its offset in that partition */
    eb_turn_outcome_t outcome;
    int attempt;          /* the attempt this turn made (eb__turn_plan), 1-based */
    eb_turn_action_t dlq; /* for EB_TURN_DLQ_FAILED: the dead letter it was to be */
} eb_turn_work_t;

/* What a partition remembers about one record across turns. */
typedef struct eb_turn_mark_s {
    int64_t offset;
    int failures;          /* its failed attempts so far */
    eb_turn_action_t doom; /* decided to be dead-lettered, but the DLQ did
                            * not take it: dead-letter it again, never run it */
} eb_turn_mark_t;

/* A partition's memory across turns: the records not yet settled that
 * failed, in offset order. Dropped when the partition is revoked: the next
 * owner starts afresh, which errs towards more attempts, never fewer. At
 * most EB_TURN_MARKS records are remembered; past that, the records of
 * highest offset are forgotten (the same bias). */
#define EB_TURN_MARKS 16

typedef struct eb_turn_mem_s {
    eb_turn_mark_t mark[EB_TURN_MARKS];
    size_t n;
} eb_turn_mem_t;

/* What a turn decided for one partition. */
typedef struct eb_turn_part_s {
    int64_t store;     /* offset to store (the next to consume); -1 nothing to store */
    int64_t rewind;    /* pause, seek back here and resume after pause_ms; -1 none */
    int64_t pause_ms;  /* with rewind: how long until the record there comes back */
    int infra;         /* with rewind: it waits for infrastructure, not a backoff */
    int held;          /* store stopped short of rewind: a dead letter is not yet
                        * acknowledged (the first answer of a turn) */
    eb_turn_mem_t mem; /* the partition's memory after this turn */
} eb_turn_part_t;

typedef struct eb_turn_params_s {
    int retry_max;            /* attempts after the first before the DLQ */
    int64_t backoff_ms;       /* first retry backoff; doubles, full jitter */
    int64_t backoff_max_ms;   /* its cap */
    int64_t infra_backoff_ms; /* the pause of a partition waiting for infrastructure */
    double (*rnd)(void *);    /* a value in [0, 1) for the jitter */
    void *rnd_opaque;
} eb_turn_params_t;

/* Before the handler runs on the record at offset of a partition with
 * memory m: EB_TURN_KEEP to run it, with *attempt set to the attempt this
 * is (1 the first time); or the dead letter it is condemned to (its
 * retries ran out, or it was found poison, in an earlier turn whose dead
 * letter did not go out), with *attempt set to the attempts it had. */
eb_turn_action_t eb__turn_plan(const eb_turn_mem_t *m, int64_t offset, int retry_max, int *attempt);

/* 1 when a record with this outcome and attempt is not settled in this turn
 * and so holds back the records after it in its partition: a per-event
 * handler is not run on those. (A batch handler runs on a whole batch
 * before any outcome is known. The failures of records behind a failing one
 * are remembered all the same; and a partition that retries a record gives
 * a batch handler that record alone, the caller holding back the rest,
 * EB_TURN_HELD, so that they do not run again and again meanwhile.) */
int eb__turn_blocks(eb_turn_outcome_t outcome, int attempt, int retry_max);

/* Decides the turn. works[n] as above; mem[nparts] the partitions'
 * memory before the turn. Writes actions[n] and parts[nparts]. Pure: the
 * same input gives the same output, and nothing in the input is changed,
 * so a caller can decide, send the dead letters, update the outcomes of
 * those (EB_TURN_DEAD or EB_TURN_DLQ_FAILED) and decide again; it is the
 * second answer that stores offsets and becomes the partitions' memory.
 * Returns 1 if some partition waits for infrastructure, else 0. */
int eb__turn_decide(const eb_turn_work_t *works, size_t n, const eb_turn_mem_t *mem, size_t nparts,
                    const eb_turn_params_t *prm, eb_turn_action_t *actions, eb_turn_part_t *parts);

/* After the dead letters of a turn were sent: the caller set each one's
 * outcome to EB_TURN_DEAD (acknowledged) or EB_TURN_DLQ_FAILED. A dead
 * letter acknowledged behind a failed one of its partition counts as
 * failed too, so that the partition's dead letters are decided in offset
 * order: it is sent again, after the earlier one, in a later turn. (The
 * DLQ may then hold it twice; never not at all.) dlq[i] is the action
 * eb__turn_decide() gave works[i]. */
void eb__turn_dlq_settle(eb_turn_work_t *works, size_t n, const eb_turn_action_t *dlq);

/* What a rebalance callback does with the assignment. */
typedef enum eb_rebalance_event_e {
    EB_REBALANCE_ASSIGN, /* partitions are given */
    EB_REBALANCE_REVOKE, /* partitions are taken away */
    EB_REBALANCE_ERROR   /* the rebalance failed: the member gives up what it holds */
} eb_rebalance_event_t;

typedef enum eb_rebalance_op_e {
    EB_REBALANCE_OP_ASSIGN,        /* rd_kafka_assign(partitions) */
    EB_REBALANCE_OP_INCR_ASSIGN,   /* rd_kafka_incremental_assign(partitions) */
    EB_REBALANCE_OP_UNASSIGN,      /* rd_kafka_assign(NULL) */
    EB_REBALANCE_OP_INCR_UNASSIGN, /* rd_kafka_incremental_unassign(partitions) */
} eb_rebalance_op_t;

/* The call that answers a rebalance event under the group's protocol. The
 * cooperative protocol only takes incremental calls: librdkafka rejects
 * rd_kafka_assign() there, also on the error path. */
eb_rebalance_op_t eb__turn_rebalance_op(eb_rebalance_event_t what, int cooperative);

#endif /* EVENTBUS_TURN_H */
