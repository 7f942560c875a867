/*
 * Cluster operations over the Kafka protocol: readiness from metadata,
 * topics and reset through librdkafka's Admin API, and the two operations
 * librdkafka 2.0.2 has no API for (partition reassignment with leader
 * election, and the metadata quorum's status) through Kafka's own Java
 * tools from the same release.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eventbus/app/topics.h"
#include "eventbus/envelope.h"
#include "eventbus/kafka.h"
#include "eventbus/lifecycle.h"
#include "eventbus/log.h"
#include "kafka_local.h"

/* A client for one bootstrap list. librdkafka's own log goes to eb_log, at
 * most warnings: refused connections while a node starts are expected. */
static rd_kafka_t *client_new(const char *bootstrap, char *errstr, size_t errstr_size)
{
    eb_common_conf_t common = {0};
    rd_kafka_conf_t *conf;
    rd_kafka_t *rk;

    common.kafka_brokers = bootstrap;
    conf = eb_kafka_conf_new(&common, "kafka-local", NULL, errstr, errstr_size);
    if (!conf)
        return NULL;
    if (eb_kafka_conf_set(conf, "log_level", "2", errstr, errstr_size) != EB_OK ||
        eb_kafka_conf_set(conf, "reconnect.backoff.max.ms", "500", errstr, errstr_size) != EB_OK) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, errstr_size);
    if (!rk)
        rd_kafka_conf_destroy(conf);
    return rk;
}

int kl_admin_open(kl_cluster_t *c, char *errstr, size_t errstr_size)
{
    c->admin = client_new(c->bootstrap, errstr, errstr_size);
    return c->admin ? 0 : -1;
}

void kl_admin_close(kl_cluster_t *c)
{
    if (c->admin)
        rd_kafka_destroy(c->admin);
    c->admin = NULL;
}

int kl_node_serves(const kl_node_t *node, int timeout_ms)
{
    const struct rd_kafka_metadata *md = NULL;
    char addr[32], errstr[256];
    rd_kafka_t *rk;
    int ok = 0;

    snprintf(addr, sizeof(addr), "127.0.0.1:%d", node->port);
    if (!(rk = client_new(addr, errstr, sizeof(errstr))))
        return 0;
    if (rd_kafka_metadata(rk, 0, NULL, &md, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        for (int i = 0; i < md->broker_cnt && md->orig_broker_id == node->id; i++)
            ok |= md->brokers[i].id == node->id;
        rd_kafka_metadata_destroy(md);
    }
    rd_kafka_destroy(rk);
    return ok;
}

/* Metadata of every topic (all_topics) or of brokers only, fresh from a
 * broker; NULL when none answered within timeout_ms. */
static const struct rd_kafka_metadata *metadata(kl_cluster_t *c, int all_topics, int timeout_ms)
{
    const struct rd_kafka_metadata *md = NULL;

    if (rd_kafka_metadata(c->admin, all_topics, NULL, &md, timeout_ms) !=
        RD_KAFKA_RESP_ERR_NO_ERROR)
        return NULL;
    return md;
}

/* Fails with a node's console tail when a node that should run died. */
static int nodes_alive(kl_cluster_t *c, const int *expected, char *errstr, size_t errstr_size)
{
    kl_nodes_reap(c);
    for (int i = 0; i < c->n; i++) {
        if (expected[i] && !c->nodes[i].pid) {
            char tail[400];

            kl_node_tail(&c->nodes[i], tail, sizeof(tail));
            snprintf(errstr, errstr_size, "node %d exited during start-up: %s", c->nodes[i].id,
                     tail);
            return 0;
        }
    }
    return 1;
}

int kl_wait_brokers(kl_cluster_t *c, int timeout_ms, char *errstr, size_t errstr_size)
{
    int64_t deadline = eb_time_mono_ms() + timeout_ms;
    int expected[KL_MAX_NODES];

    for (int i = 0; i < c->n; i++)
        expected[i] = c->nodes[i].pid != 0;
    while (!eb_stop_flag) {
        const struct rd_kafka_metadata *md;

        if (!nodes_alive(c, expected, errstr, errstr_size))
            return -1;
        if ((md = metadata(c, 0, 1000))) {
            int missing = 0;

            for (int i = 0; i < c->n; i++) {
                int seen = 0;

                for (int b = 0; b < md->broker_cnt; b++)
                    seen |= md->brokers[b].id == c->nodes[i].id;
                missing += expected[i] && !seen;
            }
            rd_kafka_metadata_destroy(md);
            if (!missing)
                return 0;
        }
        if (eb_time_mono_ms() > deadline) {
            snprintf(errstr, errstr_size, "the brokers did not all register within %d s",
                     timeout_ms / 1000);
            return -1;
        }
        eb_lifecycle_sleep(200);
    }
    snprintf(errstr, errstr_size, "stopped");
    return -1;
}

/* Waits for the result event of an admin call; NULL on timeout or stop. */
static rd_kafka_event_t *admin_result(rd_kafka_queue_t *q, int timeout_ms)
{
    int64_t deadline = eb_time_mono_ms() + timeout_ms;

    while (!eb_stop_flag && eb_time_mono_ms() < deadline) {
        rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 200);

        if (ev)
            return ev;
    }
    return NULL;
}

static rd_kafka_AdminOptions_t *admin_options(rd_kafka_t *rk, rd_kafka_admin_op_t op,
                                              int timeout_ms)
{
    rd_kafka_AdminOptions_t *opts = rd_kafka_AdminOptions_new(rk, op);
    char errstr[256];

    rd_kafka_AdminOptions_set_request_timeout(opts, timeout_ms, errstr, sizeof(errstr));
    if (op == RD_KAFKA_ADMIN_OP_CREATETOPICS)
        rd_kafka_AdminOptions_set_operation_timeout(opts, timeout_ms, errstr, sizeof(errstr));
    return opts;
}

/* One CreateTopics round. Returns 0 when every topic exists now, 1 to try
 * again (a controller not ready yet), -1 on a permanent error. */
static int create_round(kl_cluster_t *c, char *errstr, size_t errstr_size)
{
    rd_kafka_NewTopic_t *nt[64]; /* app_topic_count, checked below */
    rd_kafka_queue_t *q = rd_kafka_queue_new(c->admin);
    rd_kafka_AdminOptions_t *opts = admin_options(c->admin, RD_KAFKA_ADMIN_OP_CREATETOPICS, 10000);
    char isr[8];
    int rc = 0;
    rd_kafka_event_t *ev;

    snprintf(isr, sizeof(isr), "%d", c->min_isr);
    if (app_topic_count > sizeof(nt) / sizeof(nt[0])) {
        snprintf(errstr, errstr_size, "more topics than kafka-local can create at once");
        rd_kafka_AdminOptions_destroy(opts);
        rd_kafka_queue_destroy(q);
        return -1;
    }
    for (size_t i = 0; i < app_topic_count; i++) {
        nt[i] = rd_kafka_NewTopic_new(app_topics[i], c->partitions, c->rf, errstr, errstr_size);
        rd_kafka_NewTopic_set_config(nt[i], "min.insync.replicas", isr);
    }
    rd_kafka_CreateTopics(c->admin, nt, app_topic_count, opts, q);
    ev = admin_result(q, 15000);
    if (!ev || rd_kafka_event_error(ev)) {
        snprintf(errstr, errstr_size, "CreateTopics: %s",
                 ev ? rd_kafka_event_error_string(ev) : "no answer");
        rc = 1;
    } else {
        size_t cnt;
        const rd_kafka_topic_result_t **res =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &cnt);

        for (size_t i = 0; i < cnt; i++) {
            rd_kafka_resp_err_t err = rd_kafka_topic_result_error(res[i]);

            if (err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
                continue;
            snprintf(errstr, errstr_size, "creating %s: %s", rd_kafka_topic_result_name(res[i]),
                     rd_kafka_topic_result_error_string(res[i]));
            rc = err == RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR ||
                         err == RD_KAFKA_RESP_ERR_POLICY_VIOLATION
                     ? -1
                     : 1;
        }
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    for (size_t i = 0; i < app_topic_count; i++)
        rd_kafka_NewTopic_destroy(nt[i]);
    rd_kafka_AdminOptions_destroy(opts);
    rd_kafka_queue_destroy(q);
    return rc;
}

int kl_create_topics(kl_cluster_t *c, int timeout_ms, char *errstr, size_t errstr_size)
{
    int64_t deadline = eb_time_mono_ms() + timeout_ms;
    int rc;

    while ((rc = create_round(c, errstr, errstr_size)) == 1 && !eb_stop_flag &&
           eb_time_mono_ms() < deadline)
        eb_lifecycle_sleep(500);
    return rc == 0 ? 0 : -1;
}

/* Why a suite topic is not healthy yet, or NULL when it is. */
static const char *topic_unhealthy(const kl_cluster_t *c, const struct rd_kafka_metadata *md,
                                   const char *name, int full_isr)
{
    for (int t = 0; t < md->topic_cnt; t++) {
        const struct rd_kafka_metadata_topic *mt = &md->topics[t];

        if (strcmp(mt->topic, name) != 0)
            continue;
        if (mt->err)
            return rd_kafka_err2str(mt->err);
        if (mt->partition_cnt != c->partitions)
            return "not every partition exists yet";
        for (int p = 0; p < mt->partition_cnt; p++) {
            if (mt->partitions[p].leader < 0)
                return "a partition has no leader";
            if (full_isr && mt->partitions[p].isr_cnt < mt->partitions[p].replica_cnt)
                return "a partition's replicas are not all in sync";
        }
        return NULL;
    }
    return "missing";
}

int kl_wait_topics(kl_cluster_t *c, int full_isr, int timeout_ms, char *errstr, size_t errstr_size)
{
    int64_t deadline = eb_time_mono_ms() + timeout_ms;

    while (!eb_stop_flag) {
        const struct rd_kafka_metadata *md = metadata(c, 1, 2000);
        const char *why = md ? NULL : "no broker answered";
        const char *topic = "";

        for (size_t i = 0; md && !why && i < app_topic_count; i++)
            why = topic_unhealthy(c, md, topic = app_topics[i], full_isr);
        if (md)
            rd_kafka_metadata_destroy(md);
        if (!why)
            return 0;
        if (eb_time_mono_ms() > deadline) {
            snprintf(errstr, errstr_size, "topic %s: %s (after %d s)", topic, why,
                     timeout_ms / 1000);
            return -1;
        }
        eb_lifecycle_sleep(200);
    }
    snprintf(errstr, errstr_size, "stopped");
    return -1;
}

/* Deletes every record of the suite's topics. Returns 0, or 1 when a
 * partition answered an error (a leader that just moved: try again). */
static int delete_records(kl_cluster_t *c, char *errstr, size_t errstr_size)
{
    rd_kafka_topic_partition_list_t *parts =
        rd_kafka_topic_partition_list_new((int)app_topic_count * c->partitions);
    rd_kafka_queue_t *q = rd_kafka_queue_new(c->admin);
    rd_kafka_AdminOptions_t *opts = admin_options(c->admin, RD_KAFKA_ADMIN_OP_DELETERECORDS, 15000);
    rd_kafka_DeleteRecords_t *del;
    rd_kafka_event_t *ev;
    int rc = 0;

    for (size_t i = 0; i < app_topic_count; i++)
        for (int p = 0; p < c->partitions; p++)
            rd_kafka_topic_partition_list_add(parts, app_topics[i], p)->offset =
                RD_KAFKA_OFFSET_END;
    del = rd_kafka_DeleteRecords_new(parts);
    rd_kafka_DeleteRecords(c->admin, &del, 1, opts, q);
    ev = admin_result(q, 20000);
    if (!ev || rd_kafka_event_error(ev)) {
        snprintf(errstr, errstr_size, "DeleteRecords: %s",
                 ev ? rd_kafka_event_error_string(ev) : "no answer");
        rc = 1;
    } else {
        const rd_kafka_topic_partition_list_t *res =
            rd_kafka_DeleteRecords_result_offsets(rd_kafka_event_DeleteRecords_result(ev));

        for (int i = 0; res && i < res->cnt && rc == 0; i++) {
            if (res->elems[i].err) {
                snprintf(errstr, errstr_size, "DeleteRecords %s[%d]: %s", res->elems[i].topic,
                         res->elems[i].partition, rd_kafka_err2str(res->elems[i].err));
                rc = 1;
            }
        }
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_DeleteRecords_destroy(del);
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_AdminOptions_destroy(opts);
    rd_kafka_queue_destroy(q);
    return rc;
}

/* One round of deleting every consumer group. Returns 0 when none is left,
 * 1 when some could not be deleted yet (a member's session lingers after a
 * kill -9, or a coordinator is loading), -1 on an error. */
static int delete_groups_round(rd_kafka_t *rk, char *errstr, size_t errstr_size)
{
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *opts = admin_options(rk, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS, 10000);
    rd_kafka_DeleteGroup_t *dels[256];
    size_t ndel = 0, cnt = 0;
    rd_kafka_event_t *ev;
    int rc = 0;

    rd_kafka_ListConsumerGroups(rk, opts, q);
    ev = admin_result(q, 15000);
    rd_kafka_AdminOptions_destroy(opts);
    if (!ev || rd_kafka_event_error(ev)) {
        snprintf(errstr, errstr_size, "ListConsumerGroups: %s",
                 ev ? rd_kafka_event_error_string(ev) : "no answer");
        if (ev)
            rd_kafka_event_destroy(ev);
        rd_kafka_queue_destroy(q);
        return 1;
    }
    {
        const rd_kafka_ConsumerGroupListing_t **groups = rd_kafka_ListConsumerGroups_result_valid(
            rd_kafka_event_ListConsumerGroups_result(ev), &cnt);

        for (size_t i = 0; i < cnt && ndel < sizeof(dels) / sizeof(dels[0]); i++)
            dels[ndel++] =
                rd_kafka_DeleteGroup_new(rd_kafka_ConsumerGroupListing_group_id(groups[i]));
    }
    rd_kafka_event_destroy(ev);
    if (ndel == 0) {
        rd_kafka_queue_destroy(q);
        return 0;
    }
    opts = admin_options(rk, RD_KAFKA_ADMIN_OP_DELETEGROUPS, 10000);
    rd_kafka_DeleteGroups(rk, dels, ndel, opts, q);
    ev = admin_result(q, 15000);
    if (!ev || rd_kafka_event_error(ev)) {
        snprintf(errstr, errstr_size, "DeleteGroups: %s",
                 ev ? rd_kafka_event_error_string(ev) : "no answer");
        rc = 1;
    } else {
        const rd_kafka_group_result_t **res =
            rd_kafka_DeleteGroups_result_groups(rd_kafka_event_DeleteGroups_result(ev), &cnt);

        for (size_t i = 0; i < cnt; i++) {
            const rd_kafka_error_t *err = rd_kafka_group_result_error(res[i]);

            if (err && rd_kafka_error_code(err) != RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND) {
                snprintf(errstr, errstr_size, "group %s: %s", rd_kafka_group_result_name(res[i]),
                         rd_kafka_error_string(err));
                rc = 1;
            }
        }
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_DeleteGroup_destroy_array(dels, ndel);
    rd_kafka_AdminOptions_destroy(opts);
    rd_kafka_queue_destroy(q);
    return rc;
}

int kl_reset(kl_cluster_t *c, int timeout_ms, char *errstr, size_t errstr_size)
{
    int64_t deadline = eb_time_mono_ms() + timeout_ms;
    int rc;

    while ((rc = delete_records(c, errstr, errstr_size)) == 1 && !eb_stop_flag &&
           eb_time_mono_ms() < deadline)
        eb_lifecycle_sleep(500);
    if (rc != 0)
        return -1;
    /* librdkafka 2.0.2 keeps answering from a group's cached coordinator
     * after it moved (NOT_COORDINATOR for more than a minute after broker
     * restarts, seen in CI): each round asks through a client of its own. */
    do {
        rd_kafka_t *rk = client_new(c->bootstrap, errstr, errstr_size);

        if (!rk)
            return -1;
        rc = delete_groups_round(rk, errstr, errstr_size);
        rd_kafka_destroy(rk);
    } while (rc == 1 && !eb_lifecycle_sleep(500) && eb_time_mono_ms() < deadline);
    return rc == 0 ? 0 : -1;
}

/* The replicas of topic/partition and its leader, from fresh metadata.
 * Returns the replica count, 0 when unknown. */
static int partition_replicas(kl_cluster_t *c, const char *topic, int partition, int32_t *replicas,
                              int max, int32_t *leader)
{
    const struct rd_kafka_metadata *md = metadata(c, 1, 5000);
    int n = 0;

    for (int t = 0; md && t < md->topic_cnt; t++) {
        const struct rd_kafka_metadata_topic *mt = &md->topics[t];

        if (strcmp(mt->topic, topic) != 0)
            continue;
        for (int p = 0; p < mt->partition_cnt; p++) {
            if (mt->partitions[p].id != partition)
                continue;
            *leader = mt->partitions[p].leader;
            for (int r = 0; r < mt->partitions[p].replica_cnt && n < max; r++)
                replicas[n++] = mt->partitions[p].replicas[r];
        }
    }
    if (md)
        rd_kafka_metadata_destroy(md);
    return n;
}

int kl_move_leader(kl_cluster_t *c, const char *topic, int partition, int id, char *errstr,
                   size_t errstr_size)
{
    int32_t replicas[KL_MAX_NODES], leader = -1;
    int n = partition_replicas(c, topic, partition, replicas, KL_MAX_NODES, &leader);
    char json[512], path[PATH_MAX + 32], part[16], out[4096];
    size_t len;
    FILE *f;
    int failed;
    int64_t deadline;

    if (n == 0) {
        snprintf(errstr, errstr_size, "no such partition %s[%d]", topic, partition);
        return -1;
    }
    if (leader == id)
        return 0;
    /* The preferred replica is the first of the list: put id first and keep
     * the others (replacing the last one when id holds no replica). */
    {
        int32_t order[KL_MAX_NODES];
        int m = 0;

        order[m++] = id;
        for (int i = 0; i < n && m < n; i++)
            if (replicas[i] != id)
                order[m++] = replicas[i];
        len = (size_t)snprintf(json, sizeof(json),
                               "{\"version\":1,\"partitions\":[{\"topic\":\"%s\",\"partition\":%d,"
                               "\"replicas\":[",
                               topic, partition);
        for (int i = 0; i < m; i++)
            len += (size_t)snprintf(json + len, sizeof(json) - len, "%s%d", i ? "," : "", order[i]);
        snprintf(json + len, sizeof(json) - len, "]}]}\n");
    }
    snprintf(path, sizeof(path), "%s/reassign.json", c->data);
    if (!(f = fopen(path, "w"))) {
        snprintf(errstr, errstr_size, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    failed = fputs(json, f) < 0;
    if (fclose(f) != 0 || failed) { /* close whatever fputs said */
        snprintf(errstr, errstr_size, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    {
        const char *args[] = {"--bootstrap-server", c->bootstrap, "--reassignment-json-file", path,
                              "--execute",          NULL};

        if (kl_java_tool(c, "org.apache.kafka.tools.reassign.ReassignPartitionsCommand", args, out,
                         sizeof(out), 60000) != 0) {
            snprintf(errstr, errstr_size, "reassignment failed: %.300s", out);
            return -1;
        }
    }
    snprintf(part, sizeof(part), "%d", partition);
    deadline = eb_time_mono_ms() + 30000;
    /* The election needs the reordered list in place and id in the ISR;
     * retry until both hold. */
    for (;;) {
        const char *args[] = {"--bootstrap-server", c->bootstrap, "--election-type",
                              "PREFERRED",          "--topic",    topic,
                              "--partition",        part,         NULL};

        kl_java_tool(c, "org.apache.kafka.tools.LeaderElectionCommand", args, out, sizeof(out),
                     60000);
        for (int i = 0; i < 10; i++) {
            partition_replicas(c, topic, partition, replicas, KL_MAX_NODES, &leader);
            if (leader == id)
                return 0;
            eb_lifecycle_sleep(200);
        }
        if (eb_stop_flag || eb_time_mono_ms() > deadline) {
            snprintf(errstr, errstr_size, "node %d did not become the leader (leader %d): %.300s",
                     id, (int)leader, out);
            return -1;
        }
    }
}

int kl_active_controller(kl_cluster_t *c, char *errstr, size_t errstr_size)
{
    const char *args[] = {"--bootstrap-server", c->bootstrap, "describe", "--status", NULL};
    char out[8192];
    const char *p;
    int rc = kl_java_tool(c, "org.apache.kafka.tools.MetadataQuorumCommand", args, out, sizeof(out),
                          60000);

    if (rc != 0 || !(p = strstr(out, "LeaderId:"))) {
        snprintf(errstr, errstr_size, "the metadata quorum tool failed: %.300s", out);
        return -1;
    }
    return atoi(p + strlen("LeaderId:"));
}
