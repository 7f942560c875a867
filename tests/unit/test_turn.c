/*
 * Unit tests for turn.c, the decisions of a consumer turn: a few cases
 * spelled out, then a model of the consumer loop (fetch, plan, handle, dead
 * letters, decide twice, store or rewind) run over every combination of
 * record fates for short partitions, and over random longer ones, checking
 * the rules of turn.h after every turn and at the end.
 */
#include "unit.h"

#include <stdlib.h>

#include "eb_int.h"
#include "turn.h"

static double half(void *opaque)
{
    (void)opaque;
    return 0.5;
}

static const eb_turn_params_t params = {3, 200, 10000, 250, half, NULL};

static eb_turn_work_t work(size_t part, int64_t offset, eb_turn_outcome_t o, int attempt)
{
    eb_turn_work_t w = {part, offset, o, attempt, EB_TURN_KEEP};

    return w;
}

/* The live-lock of a partition-wide block: poison, then a record that fails
 * retriably. The poison goes to the DLQ in this very turn. */
static void poison_before_retry_is_dead_lettered(void **state)
{
    eb_turn_work_t w[] = {work(0, 10, EB_TURN_POISON, 1), work(0, 11, EB_TURN_RETRY, 1),
                          work(0, 12, EB_TURN_OK, 1)};
    eb_turn_mem_t r[1] = {{.n = 0}};
    eb_turn_action_t a[3];
    eb_turn_part_t p[1];

    (void)state;
    assert_int_equal(eb__turn_decide(w, 3, r, 1, &params, a, p), 0);
    assert_int_equal(a[0], EB_TURN_DLQ_PERMANENT);
    assert_int_equal(a[1], EB_TURN_KEEP);
    assert_int_equal(a[2], EB_TURN_KEEP);
    assert_int_equal(p[0].store, -1); /* the dead letter is not acknowledged yet */
    assert_int_equal(p[0].rewind, 11);

    w[0].outcome = EB_TURN_DEAD;
    eb__turn_decide(w, 3, r, 1, &params, a, p);
    assert_int_equal(p[0].store, 11);
    assert_int_equal(p[0].rewind, 11);
    assert_int_equal(p[0].mem.n, 1);
    assert_int_equal(p[0].mem.mark[0].offset, 11);
    assert_int_equal(p[0].mem.mark[0].failures, 1);
    assert_int_equal(p[0].pause_ms, 100); /* half of the first ceiling, 200 */
    assert_int_equal(p[0].infra, 0);
}

/* Two records that keep failing (a full disk): the first is dead-lettered
 * once its attempts are spent, although the second fails behind it. */
static void exhausted_record_leaves_before_a_failing_one(void **state)
{
    eb_turn_work_t w[] = {work(0, 5, EB_TURN_RETRY, 4), work(0, 6, EB_TURN_RETRY, 1)};
    eb_turn_mem_t r[1] = {{.mark = {{5, 3, EB_TURN_KEEP}}, .n = 1}};
    eb_turn_action_t a[2];
    eb_turn_part_t p[1];
    int attempt;

    (void)state;
    assert_int_equal(eb__turn_plan(&r[0], 5, 3, &attempt), EB_TURN_KEEP);
    assert_int_equal(attempt, 4);
    assert_false(eb__turn_blocks(EB_TURN_RETRY, 4, 3));
    assert_true(eb__turn_blocks(EB_TURN_RETRY, 3, 3));
    eb__turn_decide(w, 2, r, 1, &params, a, p);
    assert_int_equal(a[0], EB_TURN_DLQ_RETRIES);
    assert_int_equal(a[1], EB_TURN_KEEP);
    w[0].outcome = EB_TURN_DEAD;
    eb__turn_decide(w, 2, r, 1, &params, a, p);
    assert_int_equal(p[0].store, 6);
    assert_int_equal(p[0].rewind, 6);
    assert_int_equal(p[0].mem.n, 1); /* 5 is settled, 6 failed once */
    assert_int_equal(p[0].mem.mark[0].offset, 6);
    assert_int_equal(p[0].mem.mark[0].failures, 1);
}

/* A dead letter the DLQ refused: the record is not run again, it is
 * dead-lettered again, and the partition waits for Kafka. */
static void failed_dead_letter_is_remembered(void **state)
{
    eb_turn_work_t w[] = {work(0, 7, EB_TURN_DLQ_FAILED, 2)};
    eb_turn_mem_t r[1] = {{.n = 0}};
    eb_turn_action_t a[1];
    eb_turn_part_t p[1];
    int attempt;

    (void)state;
    w[0].dlq = EB_TURN_DLQ_PERMANENT;
    assert_int_equal(eb__turn_decide(w, 1, r, 1, &params, a, p), 1);
    assert_int_equal(p[0].rewind, 7);
    assert_int_equal(p[0].infra, 1);
    assert_int_equal(p[0].pause_ms, 250);
    assert_int_equal(eb__turn_plan(&p[0].mem, 7, 3, &attempt), EB_TURN_DLQ_PERMANENT);
    assert_int_equal(attempt, 2);
    assert_int_equal(eb__turn_plan(&p[0].mem, 8, 3, &attempt), EB_TURN_KEEP);
    assert_int_equal(attempt, 1);
}

/* Partitions are independent: one waiting does not hold another back. */
static void partitions_do_not_block_each_other(void **state)
{
    eb_turn_work_t w[] = {work(0, 1, EB_TURN_WAIT, 1), work(1, 1, EB_TURN_OK, 1),
                          work(0, 2, EB_TURN_OK, 1), work(1, 2, EB_TURN_POISON, 1),
                          work(1, 3, EB_TURN_OK, 1)};
    eb_turn_mem_t r[2] = {{.n = 0}, {.n = 0}};
    eb_turn_action_t a[5];
    eb_turn_part_t p[2];

    (void)state;
    eb__turn_decide(w, 5, r, 2, &params, a, p);
    assert_int_equal(p[0].store, -1);
    assert_int_equal(p[0].rewind, 1);
    assert_int_equal(a[3], EB_TURN_DLQ_PERMANENT);
    assert_int_equal(p[1].store, 2);
    w[3].outcome = EB_TURN_DEAD;
    assert_int_equal(eb__turn_decide(w, 5, r, 2, &params, a, p), 1);
    assert_int_equal(p[1].store, 4);
    assert_int_equal(p[1].rewind, -1);
}

/* The cooperative protocol takes incremental calls only, also when a
 * rebalance fails (librdkafka rejects rd_kafka_assign() there). */
static void rebalance_calls_match_the_protocol(void **state)
{
    (void)state;
    assert_int_equal(eb__turn_rebalance_op(EB_REBALANCE_ASSIGN, 0), EB_REBALANCE_OP_ASSIGN);
    assert_int_equal(eb__turn_rebalance_op(EB_REBALANCE_REVOKE, 0), EB_REBALANCE_OP_UNASSIGN);
    assert_int_equal(eb__turn_rebalance_op(EB_REBALANCE_ERROR, 0), EB_REBALANCE_OP_UNASSIGN);
    assert_int_equal(eb__turn_rebalance_op(EB_REBALANCE_ASSIGN, 1), EB_REBALANCE_OP_INCR_ASSIGN);
    assert_int_equal(eb__turn_rebalance_op(EB_REBALANCE_REVOKE, 1), EB_REBALANCE_OP_INCR_UNASSIGN);
    assert_int_equal(eb__turn_rebalance_op(EB_REBALANCE_ERROR, 1), EB_REBALANCE_OP_INCR_UNASSIGN);
}

/* ---- the model ---------------------------------------------------------- */

enum { T_OK, T_POISON, T_UNREADABLE, T_DUPLICATE };

/* What a record does: fails its first `fails` attempts retriably, then ends
 * in `terminal`; may first meet an infrastructure failure; its first dead
 * letter may be refused. */
typedef struct fate_s {
    int terminal, fails, wait_first, dlq_fail_first;
} fate_t;

typedef struct rec_s {
    fate_t f;
    int runs, attempts, failed, waited, dlq_failed, dead, poisoned, runs_after_poison;
    int done; /* handled: marked done, a duplicate when it comes back */
    eb_turn_action_t dead_as;
} rec_t;

#define MAXP 4
#define MAXK 6

typedef struct model_s {
    int nparts, k, retry_max, batch;
    rec_t rec[MAXP][MAXK];
    int64_t position[MAXP], committed[MAXP];
    eb_turn_mem_t mem[MAXP];
    int64_t dead_log[MAXP][MAXK];
    int ndead[MAXP];
} model_t;

/* Runs the handler on a record: the outcome its fate gives this run. */
static eb_turn_outcome_t run(model_t *m, rec_t *r)
{
    r->runs++;
    if (r->poisoned)
        r->runs_after_poison++;
    if (r->f.wait_first && !r->waited) {
        r->waited = 1;
        return EB_TURN_WAIT; /* e.g. Redis down inside the handler: no attempt */
    }
    r->attempts++;
    if (r->failed < r->f.fails) {
        r->failed++;
        return EB_TURN_RETRY;
    }
    (void)m;
    if (r->f.terminal == T_POISON) {
        r->poisoned = 1;
        return EB_TURN_POISON;
    }
    return EB_TURN_OK;
}

static void check_turn(const model_t *m, const eb_turn_work_t *w, size_t n,
                       const eb_turn_action_t *a, const eb_turn_part_t *p)
{
    for (int q = 0; q < m->nparts; q++) {
        int64_t first_open = -1;

        for (size_t i = 0; i < n; i++)
            if (w[i].part == (size_t)q && w[i].outcome != EB_TURN_OK &&
                w[i].outcome != EB_TURN_DUPLICATE && w[i].outcome != EB_TURN_DEAD) {
                first_open = w[i].offset;
                break;
            }
        /* Never stored past an unsettled record, never backwards. */
        if (first_open >= 0)
            assert_true(p[q].store < 0 || p[q].store <= first_open);
        assert_true(p[q].store < 0 || p[q].store >= m->committed[q]);
        /* The rewind is the first unsettled record, exactly. */
        assert_int_equal(p[q].rewind, first_open);
        if (p[q].rewind >= 0 && p[q].store >= 0)
            assert_int_equal(p[q].store, p[q].rewind);
        if (p[q].rewind >= 0 && !p[q].infra) {
            int attempt = 1;

            (void)eb__turn_plan(&p[q].mem, p[q].rewind, m->retry_max, &attempt);
            assert_true(p[q].pause_ms >= 0 &&
                        p[q].pause_ms <= eb__backoff_ceiling(attempt - 1, 200, 10000));
        }
        if (p[q].infra)
            assert_int_equal(p[q].pause_ms, 250);
    }
    /* The second answer has no dead letter left to send. */
    for (size_t i = 0; i < n; i++)
        assert_int_equal(a[i], EB_TURN_KEEP);
}

static uint64_t model_rnd_state;

static double model_rnd(void *opaque)
{
    (void)opaque;
    model_rnd_state =
        model_rnd_state * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
    return (double)(model_rnd_state >> 11) / 9007199254740992.0;
}

/* One turn: every partition's records from its position on. Returns 0 when
 * there was nothing left to fetch. */
static int turn(model_t *m)
{
    eb_turn_work_t w[MAXP * MAXK];
    eb_turn_action_t a[MAXP * MAXK];
    eb_turn_part_t p[MAXP];
    eb_turn_params_t prm = {m->retry_max, 200, 10000, 250, model_rnd, NULL};
    int blocked[MAXP] = {0}, retrying[MAXP] = {0}, first[MAXP], torun[MAXP * MAXK] = {0};
    size_t n = 0;

    /* Fetch: partitions interleaved, each in offset order. */
    for (int o = 0; o < m->k; o++)
        for (int q = 0; q < m->nparts; q++)
            if (o >= m->position[q])
                w[n++] = work((size_t)q, o, EB_TURN_WAIT, 0);
    if (n == 0)
        return 0;
    for (int q = 0; q < MAXP; q++)
        first[q] = 1;

    /* Decode, claim, plan; in a batch, a retrying partition sends its
     * first record alone. */
    for (size_t i = 0; i < n; i++) {
        rec_t *r = &m->rec[w[i].part][w[i].offset];
        int q = (int)w[i].part;
        eb_turn_action_t doom;

        if (r->done) {
            w[i].outcome = EB_TURN_DUPLICATE;
        } else if (r->f.terminal == T_UNREADABLE) {
            w[i].outcome = EB_TURN_POISON;
            w[i].attempt = 1;
        } else if (r->f.terminal == T_DUPLICATE) {
            w[i].outcome = EB_TURN_DUPLICATE;
        } else if (m->batch && retrying[q]) {
            w[i].outcome = EB_TURN_HELD;
        } else if ((doom = eb__turn_plan(&m->mem[q], w[i].offset, m->retry_max, &w[i].attempt)) !=
                   EB_TURN_KEEP) {
            w[i].outcome = doom == EB_TURN_DLQ_PERMANENT ? EB_TURN_POISON : EB_TURN_RETRY;
            w[i].attempt = doom == EB_TURN_DLQ_PERMANENT ? w[i].attempt : m->retry_max + 1;
            retrying[q] = 1;
        } else {
            torun[i] = 1;
            if (first[q] && w[i].attempt > 1)
                retrying[q] = 1;
        }
        first[q] = 0;
    }
    /* Handle: per event, not past a blocking record; a batch runs all. */
    for (size_t i = 0; i < n; i++) {
        rec_t *r = &m->rec[w[i].part][w[i].offset];
        int q = (int)w[i].part;

        if (!torun[i]) {
            if (!m->batch && blocked[q] && w[i].outcome != EB_TURN_DUPLICATE)
                w[i].outcome = EB_TURN_HELD;
            else if (eb__turn_blocks(w[i].outcome, w[i].attempt, m->retry_max))
                blocked[q] = 1;
            continue;
        }
        if (!m->batch && blocked[q]) {
            w[i].outcome = EB_TURN_HELD;
            continue;
        }
        w[i].outcome = run(m, r);
        r->done = w[i].outcome == EB_TURN_OK;
        if (eb__turn_blocks(w[i].outcome, w[i].attempt, m->retry_max))
            blocked[q] = 1;
    }
    /* Decide, send the dead letters in order, decide again. */
    eb__turn_decide(w, n, m->mem, (size_t)m->nparts, &prm, a, p);
    for (size_t i = 0; i < n; i++) {
        rec_t *r = &m->rec[w[i].part][w[i].offset];

        if (a[i] == EB_TURN_KEEP)
            continue;
        if (w[i].outcome == EB_TURN_POISON)
            r->poisoned = 1;
        if (r->f.dlq_fail_first && !r->dlq_failed) {
            r->dlq_failed = 1;
            w[i].outcome = EB_TURN_DLQ_FAILED;
        } else {
            w[i].outcome = EB_TURN_DEAD;
        }
    }
    eb__turn_dlq_settle(w, n, a);
    for (size_t i = 0; i < n; i++) {
        rec_t *r = &m->rec[w[i].part][w[i].offset];
        int q = (int)w[i].part;

        if (a[i] == EB_TURN_KEEP || w[i].outcome != EB_TURN_DEAD)
            continue;
        r->dead++;
        r->dead_as = a[i];
        m->dead_log[q][m->ndead[q]++] = w[i].offset;
    }
    eb__turn_decide(w, n, m->mem, (size_t)m->nparts, &prm, a, p);
    check_turn(m, w, n, a, p);

    for (int q = 0; q < m->nparts; q++) {
        if (p[q].store >= 0)
            m->committed[q] = p[q].store;
        if (p[q].rewind >= 0)
            m->position[q] = p[q].rewind;
        else
            m->position[q] = m->k;
        m->mem[q] = p[q].mem;
    }
    return 1;
}

static void simulate(model_t *m)
{
    int turns = 0;
    /* Every record settles within its attempts plus a wait plus a refused
     * dead letter, plus held turns: a generous bound on turns. */
    int limit = m->nparts * m->k * (m->retry_max + 6) + 4;

    for (int q = 0; q < m->nparts; q++) {
        m->position[q] = 0;
        m->committed[q] = 0;
        m->mem[q].n = 0;
        m->ndead[q] = 0;
    }
    while (turn(m))
        assert_true(++turns <= limit); /* stuck */

    for (int q = 0; q < m->nparts; q++) {
        assert_int_equal(m->committed[q], m->k);
        for (int i = 1; i < m->ndead[q]; i++)
            assert_true(m->dead_log[q][i] > m->dead_log[q][i - 1]); /* offset order */
        for (int o = 0; o < m->k; o++) {
            const rec_t *r = &m->rec[q][o];
            int exhausted = r->f.fails > m->retry_max;

            assert_int_equal(r->runs_after_poison, 0);
            assert_true(r->attempts <= 1 + m->retry_max);
            switch (r->f.terminal) {
            case T_UNREADABLE:
                assert_int_equal(r->runs, 0);
                assert_int_equal(r->dead, 1);
                assert_int_equal(r->dead_as, EB_TURN_DLQ_PERMANENT);
                break;
            case T_DUPLICATE:
                assert_int_equal(r->runs, 0);
                assert_int_equal(r->dead, 0);
                break;
            default:
                assert_int_equal(r->dead, exhausted || r->f.terminal == T_POISON);
                if (exhausted)
                    assert_int_equal(r->dead_as, EB_TURN_DLQ_RETRIES);
                else if (r->f.terminal == T_POISON)
                    assert_int_equal(r->dead_as, EB_TURN_DLQ_PERMANENT);
                if (exhausted)
                    assert_int_equal(r->attempts, 1 + m->retry_max);
                else
                    assert_int_equal(r->attempts, r->f.fails + 1);
                break;
            }
        }
    }
}

/* Every fate a record can have for retry_max, into out; returns the count. */
static int fates(int retry_max, fate_t *out)
{
    int n = 0;

    for (int t = T_OK; t <= T_POISON; t++)
        for (int fails = 0; fails <= retry_max + 1; fails++)
            for (int wf = 0; wf <= 1; wf++)
                for (int df = 0; df <= 1; df++) {
                    fate_t f = {t, fails, wf, df};

                    out[n++] = f;
                }
    for (int df = 0; df <= 1; df++) {
        fate_t f = {T_UNREADABLE, 0, 0, df};

        out[n++] = f;
    }
    out[n].terminal = T_DUPLICATE;
    out[n].fails = out[n].wait_first = out[n].dlq_fail_first = 0;
    return n + 1;
}

static void set_fate(model_t *m, int q, int o, fate_t f)
{
    memset(&m->rec[q][o], 0, sizeof(m->rec[q][o]));
    m->rec[q][o].f = f;
}

/* One partition of three records: every combination of fates, for
 * retry_max 0, 1 and 2, with a per-event and with a batch handler. */
static void exhaustive_three_records(void **state)
{
    fate_t fs[64];
    model_t m;
    long runs = 0;

    (void)state;
    for (int rm = 0; rm <= 2; rm++) {
        int nf = fates(rm, fs);

        for (int batch = 0; batch <= 1; batch++)
            for (int a = 0; a < nf; a++)
                for (int b = 0; b < nf; b++)
                    for (int c = 0; c < nf; c++) {
                        memset(&m, 0, sizeof(m));
                        m.nparts = 1;
                        m.k = 3;
                        m.retry_max = rm;
                        m.batch = batch;
                        set_fate(&m, 0, 0, fs[a]);
                        set_fate(&m, 0, 1, fs[b]);
                        set_fate(&m, 0, 2, fs[c]);
                        simulate(&m);
                        runs++;
                    }
    }
    assert_true(runs > 100000);
}

/* Random fates on several interleaved partitions of up to MAXK records. */
static void random_partitions(void **state)
{
    fate_t fs[64];
    model_t m;
    unsigned seed = 12345;

    (void)state;
    for (int iter = 0; iter < 5000; iter++) {
        int rm = (int)(rand_r(&seed) % 4);
        int nf = fates(rm, fs);

        memset(&m, 0, sizeof(m));
        m.nparts = 1 + (int)(rand_r(&seed) % MAXP);
        m.k = 1 + (int)(rand_r(&seed) % MAXK);
        m.retry_max = rm;
        m.batch = (int)(rand_r(&seed) % 2);
        model_rnd_state = (uint64_t)iter;
        for (int q = 0; q < m.nparts; q++)
            for (int o = 0; o < m.k; o++)
                set_fate(&m, q, o, fs[rand_r(&seed) % (unsigned)nf]);
        simulate(&m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(poison_before_retry_is_dead_lettered),
        cmocka_unit_test(exhausted_record_leaves_before_a_failing_one),
        cmocka_unit_test(failed_dead_letter_is_remembered),
        cmocka_unit_test(partitions_do_not_block_each_other),
        cmocka_unit_test(rebalance_calls_match_the_protocol),
        cmocka_unit_test(exhaustive_three_records),
        cmocka_unit_test(random_partitions),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
