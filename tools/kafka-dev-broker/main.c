/*
 * kafka-dev-broker: librdkafka's mock cluster as a standalone process.
 *
 * An in-memory Kafka cluster speaking the real protocol over TCP on
 * 127.0.0.1, for development, the demo and the tests. It creates the suite's
 * topics (with their dead-letter topics) before any client can auto-create
 * them with the wrong partition count, prints the bootstrap servers as the
 * first line on stdout, and runs until SIGTERM or SIGINT.
 *
 * Not for production: nothing is persisted, each partition keeps at most
 * 5 MiB, there is no SASL/SSL and no leader failover
 * (docs/mock-cluster.md has the measured limits).
 *
 * With --control PATH it also serves a UNIX socket for fault injection, one
 * command per line, each answered "ok" or "error: <why>":
 *   down <broker-id|all>     disconnect and refuse connections
 *   up <broker-id|all>       accept connections again
 *   rtt <broker-id|all> <ms> delay every response
 *   leader <topic> <partition> <broker-id>
 *   coordinator <group> <broker-id>   (an addition: the mock never moves a
 *                            group's coordinator on its own)
 * Mock calls block until the mock thread ran them, so they are made from the
 * main thread, never from a signal handler.
 */
#define _GNU_SOURCE /* RTLD_NEXT */
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "control.h"
#include "eventbus/app/cli.h"
#include "eventbus/app/setup.h"
#include "eventbus/app/topics.h"
#include "eventbus/eventbus.h"

/*
 * The mock cluster leaves Nagle's algorithm on for the connections it
 * accepts: a response written while an earlier one is unacknowledged then
 * waits for the client's delayed ACK, about 40 ms. Under load that turned
 * a 0.1 ms produce round trip into 40 ms now and then (bench/RESULTS.md).
 * librdkafka calls accept(2) through the PLT, so defining it here wraps its
 * calls: every accepted broker connection gets TCP_NODELAY, as a Kafka
 * broker's do.
 */
static int (*real_accept)(int, struct sockaddr *, socklen_t *);

static void find_real_accept(void)
{
    *(void **)&real_accept = dlsym(RTLD_NEXT, "accept");
}

int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    int one = 1, c;

    pthread_once(&once, find_real_accept); /* mock brokers accept on their own threads */
    c = real_accept(fd, addr, len);
    if (c >= 0)
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)); /* fails on UNIX sockets */
    return c;
}

typedef struct broker_conf_s {
    int64_t brokers;
    int64_t partitions;
    const char *control;
} broker_conf_t;

static eb_common_conf_t common;
static broker_conf_t conf;

static const eb_conf_entry_t broker_entries[] = {
    {"KAFKA_DEV_BROKERS", EB_CONF_INT, offsetof(broker_conf_t, brokers), "1", 1, 16, NULL, NULL,
     "Number of brokers (ids 1..N)", "brokers"},
    {"KAFKA_DEV_PARTITIONS", EB_CONF_INT, offsetof(broker_conf_t, partitions), "6", 1, 256, NULL,
     NULL, "Partitions of every topic created", "partitions"},
    {"KAFKA_DEV_CONTROL", EB_CONF_PATH, offsetof(broker_conf_t, control), "", 0, 0, NULL, "(none)",
     "UNIX socket path for fault-injection commands", "control"},
};

static const eb_conf_section_t sections[] = {
    {"kafka-dev-broker", broker_entries, sizeof(broker_entries) / sizeof(broker_entries[0]), &conf},
    EB_CONF_SECTION_LOG(&common),
};

static const eb_conf_program_t prog = {
    "kafka-dev-broker",
    "An in-memory Kafka cluster (librdkafka's mock cluster) for development and tests. Creates "
    "the suite's topics, prints the bootstrap servers as its first stdout line and runs until "
    "SIGTERM. Not for production.",
    "[--brokers N] [--partitions P] [--control PATH]",
    sections,
    sizeof(sections) / sizeof(sections[0]),
    0,
    0,
};

/* A broker argument: "all" (-1) or an id within 1..brokers. */
static int parse_broker(const char *s, int32_t *id)
{
    int v;

    if (!tool_control_node(s, (int)conf.brokers, &v))
        return 0;
    *id = v;
    return 1;
}

/* Runs one control command; writes the answer into out. */
static void run_command(char *line, char *out, size_t size, void *opaque)
{
    rd_kafka_mock_cluster_t *mc = opaque;
    char *save = NULL, *cmd = strtok_r(line, " \t", &save);
    char *a1 = strtok_r(NULL, " \t", &save), *a2 = strtok_r(NULL, " \t", &save);
    char *a3 = strtok_r(NULL, " \t", &save), *extra = strtok_r(NULL, " \t", &save);
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    int32_t id;

    if (!cmd) {
        snprintf(out, size, "error: empty command");
        return;
    }
    if (strcmp(cmd, "down") == 0 || strcmp(cmd, "up") == 0) {
        if (!parse_broker(a1, &id) || a2) {
            snprintf(out, size, "error: usage: %s <broker-id 1..%lld|all>", cmd,
                     (long long)conf.brokers);
            return;
        }
        err = cmd[0] == 'd' ? rd_kafka_mock_broker_set_down(mc, id)
                            : rd_kafka_mock_broker_set_up(mc, id);
    } else if (strcmp(cmd, "rtt") == 0) {
        char *end = NULL;
        long ms = a2 ? strtol(a2, &end, 10) : -1;

        if (!parse_broker(a1, &id) || !a2 || *end || ms < 0 || ms > 600000 || a3) {
            snprintf(out, size, "error: usage: rtt <broker-id|all> <ms 0..600000>");
            return;
        }
        err = rd_kafka_mock_broker_set_rtt(mc, id, (int)ms);
    } else if (strcmp(cmd, "leader") == 0) {
        char *end = NULL;
        long part = a2 ? strtol(a2, &end, 10) : -1;
        /* set_leader would create an unknown topic: refuse typos instead. */
        if (!tool_control_topic(a1) || !a2 || *end || part < 0 || part >= conf.partitions ||
            !parse_broker(a3, &id) || id < 0 || extra) {
            snprintf(out, size,
                     "error: usage: leader <topic> <partition 0..%lld> <broker-id 1..%lld>",
                     (long long)conf.partitions - 1, (long long)conf.brokers);
            return;
        }
        err = rd_kafka_mock_partition_set_leader(mc, a1, (int32_t)part, id);
    } else if (strcmp(cmd, "coordinator") == 0) {
        if (!a1 || !parse_broker(a2, &id) || id < 0 || a3) {
            snprintf(out, size, "error: usage: coordinator <group> <broker-id 1..%lld>",
                     (long long)conf.brokers);
            return;
        }
        err = rd_kafka_mock_coordinator_set(mc, "group", a1, id);
    } else {
        snprintf(out, size, "error: unknown command '%s' (down, up, rtt, leader, coordinator)",
                 cmd);
        return;
    }
    if (err)
        snprintf(out, size, "error: %s", rd_kafka_err2str(err));
    else
        snprintf(out, size, "ok");
    EB_INFO("control: %s %s%s%s%s%s -> %s", cmd, a1 ? a1 : "", a2 ? " " : "", a2 ? a2 : "",
            a3 ? " " : "", a3 ? a3 : "", out);
}

/* One topic's creation, on a thread of its own. */
typedef struct topic_job_s {
    rd_kafka_mock_cluster_t *mc;
    const char *topic;
    pthread_t thread;
    int started;
} topic_job_t;

static void *create_topic(void *arg)
{
    topic_job_t *j = arg;
    rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(j->mc, j->topic, (int)conf.partitions,
                                                         conf.brokers < 3 ? (int)conf.brokers : 3);

    if (err)
        EB_WARN("creating topic %s: %s", j->topic, rd_kafka_err2str(err));
    return NULL;
}

/* Creates the suite's topics, all at once. Each creation is a request to
 * the mock cluster's thread, which in librdkafka 2.0.2 now and then misses
 * its wake-up and answers only after its 1 s poll timeout: one after the
 * other, 20 topics took 6 to 7 s; side by side the misses overlap. */
static void create_topics(rd_kafka_mock_cluster_t *mc)
{
    topic_job_t jobs[64];
    size_t n = app_topic_count < 64 ? app_topic_count : 64;

    for (size_t i = 0; i < n; i++) {
        jobs[i] = (topic_job_t){mc, app_topics[i], 0, 0};
        jobs[i].started = pthread_create(&jobs[i].thread, NULL, create_topic, &jobs[i]) == 0;
        if (!jobs[i].started)
            create_topic(&jobs[i]);
    }
    for (size_t i = 0; i < n; i++)
        if (jobs[i].started)
            pthread_join(jobs[i].thread, NULL);
}

int main(int argc, char **argv)
{
    rd_kafka_mock_cluster_t *mc;
    rd_kafka_conf_t *kconf;
    eb_conf_args_t args;
    rd_kafka_t *rk;
    char errstr[512];
    int rc, lfd = -1;

    if ((rc = app_cli_parse(&prog, argc, argv, &args)) != APP_CONTINUE)
        return rc;
    app_setup_log(prog.name, &common);
    eb_lifecycle_install_signals();

    /* The control socket first: a bad path is a bad setting (exit 2), found
     * before anything else starts. */
    if (conf.control && conf.control[0]) {
        lfd = tool_control_listen(conf.control);
        if (lfd < 0) {
            app_cli_error(prog.name, "invalid --control '%s': %s", conf.control, strerror(errno));
            return APP_EXIT_USAGE;
        }
    }

    /* The mock cluster hangs off a client instance it uses for bookkeeping. */
    kconf = eb_kafka_conf_new(&common, "kafka-dev-broker", NULL, errstr, sizeof(errstr));
    if (!kconf) {
        app_cli_error(prog.name, "%s", errstr);
        goto fail;
    }
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, kconf, errstr, sizeof(errstr));
    if (!rk) {
        rd_kafka_conf_destroy(kconf);
        app_cli_error(prog.name, "%s", errstr);
        goto fail;
    }
    mc = rd_kafka_mock_cluster_new(rk, (int)conf.brokers);
    if (!mc) {
        app_cli_error(prog.name, "cannot create the mock cluster");
        rd_kafka_destroy(rk);
        goto fail;
    }
    create_topics(mc);
    /* The contract: bootstrap servers are the first line on stdout. */
    printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);
    EB_INFO("mock cluster up: %lld broker(s), %zu topics x %lld partitions, bootstrap %s%s%s",
            (long long)conf.brokers, app_topic_count, (long long)conf.partitions,
            rd_kafka_mock_cluster_bootstraps(mc), lfd >= 0 ? ", control " : "",
            lfd >= 0 ? conf.control : "");

    tool_control_serve(lfd, run_command, NULL, mc);

    EB_INFO("stopping");
    tool_control_close(lfd, conf.control);
    /* The cluster must go before its client instance (librdkafka asserts). */
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return APP_EXIT_OK;

fail:
    tool_control_close(lfd, conf.control);
    return APP_EXIT_FAIL;
}
