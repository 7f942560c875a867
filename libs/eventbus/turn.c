/*
 * The decisions of a consumer turn: pure functions, see turn.h.
 */
#include "turn.h"

#include <string.h>

#include "eb_int.h"

/* ---- a partition's memory ------------------------------------------------ */

static const eb_turn_mark_t *mark_find(const eb_turn_mem_t *m, int64_t offset)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->mark[i].offset == offset)
            return &m->mark[i];
    return NULL;
}

/* Remembers that the record at offset failed failures attempts (or more, if
 * it remembered more) and, unless doom is EB_TURN_KEEP, that it is to be
 * dead-lettered. Keeps the marks in offset order; when full, forgets the
 * highest offset. */
static void mark_put(eb_turn_mem_t *m, int64_t offset, int failures, eb_turn_action_t doom)
{
    size_t i = 0;

    while (i < m->n && m->mark[i].offset < offset)
        i++;
    if (i < m->n && m->mark[i].offset == offset) {
        if (failures > m->mark[i].failures)
            m->mark[i].failures = failures;
        if (doom != EB_TURN_KEEP)
            m->mark[i].doom = doom;
        return;
    }
    if (i == EB_TURN_MARKS)
        return; /* full of earlier records: forget this one */
    if (m->n == EB_TURN_MARKS)
        m->n--; /* forget the last */
    memmove(&m->mark[i + 1], &m->mark[i], (m->n - i) * sizeof(m->mark[0]));
    m->mark[i].offset = offset;
    m->mark[i].failures = failures;
    m->mark[i].doom = doom;
    m->n++;
}

/* Forgets the records up to offset: they are settled. */
static void mark_settle(eb_turn_mem_t *m, int64_t offset)
{
    size_t k = 0;

    while (k < m->n && m->mark[k].offset <= offset)
        k++;
    memmove(&m->mark[0], &m->mark[k], (m->n - k) * sizeof(m->mark[0]));
    m->n -= k;
}

/* ---- decisions ------------------------------------------------------------ */

eb_turn_action_t eb__turn_plan(const eb_turn_mem_t *m, int64_t offset, int retry_max, int *attempt)
{
    const eb_turn_mark_t *mk = mark_find(m, offset);

    if (!mk) {
        *attempt = 1;
        return EB_TURN_KEEP;
    }
    if (mk->doom == EB_TURN_DLQ_PERMANENT) {
        *attempt = mk->failures > 0 ? mk->failures : 1;
        return EB_TURN_DLQ_PERMANENT;
    }
    if (mk->doom == EB_TURN_DLQ_RETRIES || mk->failures > retry_max) {
        *attempt = mk->failures > retry_max ? mk->failures : retry_max + 1;
        return EB_TURN_DLQ_RETRIES;
    }
    *attempt = mk->failures + 1;
    return EB_TURN_KEEP;
}

int eb__turn_blocks(eb_turn_outcome_t outcome, int attempt, int retry_max)
{
    switch (outcome) {
    case EB_TURN_RETRY:
        return attempt <= retry_max;
    case EB_TURN_WAIT:
    case EB_TURN_DLQ_FAILED:
    case EB_TURN_HELD:
        return 1;
    case EB_TURN_OK:
    case EB_TURN_DUPLICATE:
    case EB_TURN_DEAD:
    case EB_TURN_POISON:
        break;
    }
    return 0;
}

static int is_final(eb_turn_outcome_t o)
{
    return o == EB_TURN_OK || o == EB_TURN_DUPLICATE || o == EB_TURN_DEAD;
}

/* Remembers what a record that comes back must not forget: its failed
 * attempts, or that it is to be dead-lettered. */
static void remember(const eb_turn_work_t *w, int retry_max, eb_turn_mem_t *m)
{
    switch (w->outcome) {
    case EB_TURN_RETRY:
        mark_put(m, w->offset, w->attempt,
                 w->attempt > retry_max ? EB_TURN_DLQ_RETRIES : EB_TURN_KEEP);
        break;
    case EB_TURN_POISON:
        mark_put(m, w->offset, w->attempt, EB_TURN_DLQ_PERMANENT);
        break;
    case EB_TURN_DLQ_FAILED:
        mark_put(m, w->offset, w->attempt, w->dlq == EB_TURN_KEEP ? EB_TURN_DLQ_PERMANENT : w->dlq);
        break;
    case EB_TURN_OK:
    case EB_TURN_DUPLICATE:
    case EB_TURN_DEAD:
    case EB_TURN_WAIT:
    case EB_TURN_HELD:
        break;
    }
}

/* The record at w is the first of its partition that this turn does not
 * settle: rewind to it, and decide how long it waits. Returns 1 when it
 * waits for infrastructure. */
static int block_at(const eb_turn_work_t *w, const eb_turn_params_t *prm, eb_turn_part_t *p)
{
    p->rewind = w->offset;
    remember(w, prm->retry_max, &p->mem);
    if (w->outcome == EB_TURN_RETRY) {
        p->pause_ms = eb__backoff_delay(w->attempt, prm->backoff_ms, prm->backoff_max_ms,
                                        prm->rnd(prm->rnd_opaque));
        return 0;
    }
    if (w->outcome == EB_TURN_HELD)
        return 0; /* comes back in the next turn */
    p->pause_ms = prm->infra_backoff_ms;
    p->infra = 1;
    return 1;
}

int eb__turn_decide(const eb_turn_work_t *works, size_t n, const eb_turn_mem_t *mem, size_t nparts,
                    const eb_turn_params_t *prm, eb_turn_action_t *actions, eb_turn_part_t *parts)
{
    int infra = 0;

    for (size_t i = 0; i < nparts; i++) {
        parts[i].store = -1;
        parts[i].rewind = -1;
        parts[i].pause_ms = 0;
        parts[i].infra = 0;
        parts[i].held = 0;
        parts[i].mem = mem[i];
    }
    for (size_t i = 0; i < n; i++) {
        const eb_turn_work_t *w = &works[i];
        eb_turn_part_t *p = &parts[w->part];

        actions[i] = EB_TURN_KEEP;
        if (p->rewind >= 0) {
            /* Behind the first unsettled record: it comes back. */
            remember(w, prm->retry_max, &p->mem);
            continue;
        }
        if (is_final(w->outcome)) {
            if (p->held)
                continue; /* settled, but behind a dead letter on its way */
            p->store = w->offset + 1;
            mark_settle(&p->mem, w->offset);
            continue;
        }
        if (w->outcome == EB_TURN_POISON) {
            actions[i] = EB_TURN_DLQ_PERMANENT;
            p->held = 1;
            continue;
        }
        if (w->outcome == EB_TURN_RETRY &&
            !eb__turn_blocks(w->outcome, w->attempt, prm->retry_max)) {
            actions[i] = EB_TURN_DLQ_RETRIES;
            p->held = 1;
            continue;
        }
        infra |= block_at(w, prm, p);
    }
    return infra;
}

void eb__turn_dlq_settle(eb_turn_work_t *works, size_t n, const eb_turn_action_t *dlq)
{
    for (size_t i = 0; i < n; i++) {
        if (dlq[i] == EB_TURN_KEEP)
            continue;
        works[i].dlq = dlq[i];
        if (works[i].outcome != EB_TURN_DLQ_FAILED)
            continue;
        for (size_t k = i + 1; k < n; k++)
            if (works[k].part == works[i].part && dlq[k] != EB_TURN_KEEP)
                works[k].outcome = EB_TURN_DLQ_FAILED;
    }
}

eb_rebalance_op_t eb__turn_rebalance_op(eb_rebalance_event_t what, int cooperative)
{
    if (what == EB_REBALANCE_ASSIGN)
        return cooperative ? EB_REBALANCE_OP_INCR_ASSIGN : EB_REBALANCE_OP_ASSIGN;
    return cooperative ? EB_REBALANCE_OP_INCR_UNASSIGN : EB_REBALANCE_OP_UNASSIGN;
}
