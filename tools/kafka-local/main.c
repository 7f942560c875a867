/*
 * kafka-local: a real Apache Kafka cluster in KRaft mode on 127.0.0.1,
 * without Docker, for development, the demo and the real-broker test tier.
 *
 * N nodes (default 1), each a combined broker and controller and all of
 * them voters, on free ports; the suite's topics created with P partitions
 * (default 6), replication factor min(3, N) and min.insync.replicas
 * min(2, N). The bootstrap servers are the first line on stdout, printed
 * once every broker is registered and every partition has a leader with its
 * replicas in sync. On SIGTERM or SIGINT every JVM it started is stopped
 * (by PID) and its data removed, unless --data DIR was given.
 *
 * The Apache Kafka release comes from Maven Central through Maven, pinned by
 * the pom installed beside this executable (release.c); the first start
 * fetches it, later starts are offline.
 *
 * With --control PATH it serves the same line protocol as kafka-dev-broker,
 * with real effects:
 *   down <id|all>    kill -9 the node's JVM
 *   up <id|all>      start it again on its own data; answered once it serves
 *   stop <id>        graceful shutdown (SIGTERM); answered once it exited
 *   leader <topic> <partition> <id>   make id the partition's leader
 *   controller       "ok <id>": the active KRaft controller (an addition)
 *   reset            every node up, every replica in sync, every record of
 *                    the suite's topics and every consumer group deleted:
 *                    a clean cluster for the next test (an addition)
 *   rtt              error: unsupported (a real broker's latency cannot be
 *                    injected from here)
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control.h"
#include "eventbus/app/cli.h"
#include "eventbus/app/setup.h"
#include "eventbus/app/topics.h"
#include "eventbus/envelope.h"
#include "eventbus/eventbus.h"
#include "kafka_local.h"

/* Versions this tool can run: KRaft with the tools it calls
 * (org.apache.kafka.tools.*), that is 3.7 and later. */
#define KL_MIN_MAJOR 3
#define KL_MIN_MINOR 7

typedef struct local_conf_s {
    int64_t brokers;
    int64_t partitions;
    const char *control;
    const char *data;
    const char *version;
    int64_t heap_mb;
    const char *jvm_opts;
    const char *cache;
} local_conf_t;

static eb_common_conf_t common;
static local_conf_t conf;

static const eb_conf_entry_t local_entries[] = {
    {"KAFKA_LOCAL_BROKERS", EB_CONF_INT, offsetof(local_conf_t, brokers), "1", 1, KL_MAX_NODES,
     NULL, NULL, "Nodes, each a broker and a KRaft controller (ids 1..N)", "brokers"},
    {"KAFKA_LOCAL_PARTITIONS", EB_CONF_INT, offsetof(local_conf_t, partitions), "6", 1, 256, NULL,
     NULL, "Partitions of every topic created", "partitions"},
    {"KAFKA_LOCAL_CONTROL", EB_CONF_PATH, offsetof(local_conf_t, control), "", 0, 0, NULL, "(none)",
     "UNIX socket path for fault-injection commands", "control"},
    {"KAFKA_LOCAL_DATA", EB_CONF_PATH, offsetof(local_conf_t, data), "", 0, 0, NULL,
     "(a temporary directory, removed at exit)",
     "Directory for the nodes' data and logs, kept at exit and reused", "data"},
    {"KAFKA_LOCAL_VERSION", EB_CONF_STRING, offsetof(local_conf_t, version), "4.4.0", 0, 0, NULL,
     NULL, "Apache Kafka release to run (3.7.0 or later)", "kafka-version"},
    {"KAFKA_LOCAL_HEAP_MB", EB_CONF_INT, offsetof(local_conf_t, heap_mb), "256", 96, 8192, NULL,
     NULL, "Java heap of each node, MiB", "heap-mb"},
    {"KAFKA_LOCAL_JVM_OPTS", EB_CONF_PATH, offsetof(local_conf_t, jvm_opts), "", 0, 0, NULL,
     "(none)", "Extra JVM options for each node, space-separated", "jvm-opts"},
    {"KAFKA_LOCAL_CACHE", EB_CONF_PATH, offsetof(local_conf_t, cache), "", 0, 0, NULL,
     "$XDG_CACHE_HOME/eventbus or ~/.cache/eventbus",
     "Where the resolved release's classpath is cached", "cache"},
};

static const eb_conf_section_t sections[] = {
    {"kafka-local", local_entries, sizeof(local_entries) / sizeof(local_entries[0]), &conf},
    EB_CONF_SECTION_LOG(&common),
};

static const eb_conf_program_t prog = {
    "kafka-local",
    "A real Apache Kafka cluster (KRaft, each node broker and controller) on 127.0.0.1 for "
    "development and tests: creates the suite's topics, prints the bootstrap servers as its first "
    "stdout line and runs until SIGTERM, then stops every JVM it started. Java from JAVA_HOME or "
    "PATH; the release through Maven on first use.",
    "[--brokers N] [--partitions P] [--control PATH] [--data DIR] [--kafka-version V]",
    sections,
    sizeof(sections) / sizeof(sections[0]),
    0,
    0,
};

static kl_cluster_t cluster;

/* Starts the nodes selected (id or -1 for all) that are down, and waits
 * until each serves again. */
static int nodes_up(int id, char *errstr, size_t size)
{
    int64_t deadline = eb_time_mono_ms() + 120000;

    for (int i = 0; i < cluster.n; i++) {
        kl_node_t *node = &cluster.nodes[i];

        if ((id < 0 || node->id == id) && !node->pid && kl_node_start(&cluster, node) != 0) {
            snprintf(errstr, size, "cannot start node %d: %s", node->id, strerror(errno));
            return -1;
        }
    }
    for (int i = 0; i < cluster.n; i++) {
        kl_node_t *node = &cluster.nodes[i];

        if (id >= 0 && node->id != id)
            continue;
        while (!kl_node_serves(node, 1000)) {
            kl_nodes_reap(&cluster);
            if (!node->pid) {
                char tail[300];

                kl_node_tail(node, tail, sizeof(tail));
                snprintf(errstr, size, "node %d exited: %s", node->id, tail);
                return -1;
            }
            if (eb_stop_flag || eb_time_mono_ms() > deadline) {
                snprintf(errstr, size, "node %d does not serve after 120 s", node->id);
                return -1;
            }
            eb_lifecycle_sleep(200);
        }
    }
    return 0;
}

/* Runs one control command (tool_control_cb_t). */
static void run_command(char *line, char *out, size_t size, void *opaque)
{
    char *save = NULL, *cmd = strtok_r(line, " \t", &save);
    char *a1 = strtok_r(NULL, " \t", &save), *a2 = strtok_r(NULL, " \t", &save);
    char *a3 = strtok_r(NULL, " \t", &save), *extra = strtok_r(NULL, " \t", &save);
    char err[400] = "";
    int64_t start = eb_time_mono_ms();
    int id, rc = 0;

    if (!cmd) {
        snprintf(out, size, "error: empty command");
        return;
    }
    if (strcmp(cmd, "down") == 0 || strcmp(cmd, "up") == 0) {
        if (!tool_control_node(a1, cluster.n, &id) || a2) {
            snprintf(out, size, "error: usage: %s <node-id 1..%d|all>", cmd, cluster.n);
            return;
        }
        if (cmd[0] == 'd') {
            for (int i = 0; i < cluster.n; i++)
                if (id < 0 || cluster.nodes[i].id == id)
                    kl_node_kill(&cluster.nodes[i]);
        } else {
            rc = nodes_up(id, err, sizeof(err));
        }
    } else if (strcmp(cmd, "stop") == 0) {
        if (!tool_control_node(a1, cluster.n, &id) || id < 0 || a2) {
            snprintf(out, size, "error: usage: stop <node-id 1..%d>", cluster.n);
            return;
        }
        if (!kl_node_stop(&cluster.nodes[id - 1], 60000)) {
            snprintf(err, sizeof(err), "node %d did not stop within 60 s and was killed", id);
            rc = -1;
        }
    } else if (strcmp(cmd, "leader") == 0) {
        char *end = NULL;
        long part = a2 ? strtol(a2, &end, 10) : -1;

        if (!tool_control_topic(a1) || !a2 || *end || part < 0 || part >= cluster.partitions ||
            !tool_control_node(a3, cluster.n, &id) || id < 0 || extra) {
            snprintf(out, size, "error: usage: leader <topic> <partition 0..%d> <node-id 1..%d>",
                     cluster.partitions - 1, cluster.n);
            return;
        }
        rc = kl_move_leader(&cluster, a1, (int)part, id, err, sizeof(err));
    } else if (strcmp(cmd, "controller") == 0 && !a1) {
        if ((id = kl_active_controller(&cluster, err, sizeof(err))) > 0) {
            snprintf(out, size, "ok %d", id);
            EB_INFO("control: controller -> %s", out);
            return;
        }
        rc = -1;
    } else if (strcmp(cmd, "reset") == 0 && !a1) {
        rc = nodes_up(-1, err, sizeof(err));
        if (rc == 0)
            rc = kl_wait_topics(&cluster, 1, 120000, err, sizeof(err));
        if (rc == 0)
            rc = kl_reset(&cluster, 60000, err, sizeof(err));
    } else if (strcmp(cmd, "rtt") == 0 || strcmp(cmd, "coordinator") == 0) {
        snprintf(out, size, "error: unsupported on a real cluster");
        return;
    } else {
        snprintf(out, size,
                 "error: unknown command '%s' (down, up, stop, leader, controller, reset)", cmd);
        return;
    }
    if (rc != 0)
        snprintf(out, size, "error: %s", err);
    else
        snprintf(out, size, "ok");
    EB_INFO("control: %s %s%s%s%s%s -> %s (%lld ms)", cmd, a1 ? a1 : "", a2 ? " " : "",
            a2 ? a2 : "", a3 ? " " : "", a3 ? a3 : "", out, (long long)(eb_time_mono_ms() - start));
}

/* Between commands: notice nodes that died on their own. */
static void tick(void *opaque)
{
    kl_nodes_reap(&cluster);
}

/* "3.9.2" -> 1 when it is a version this tool can run. */
static int version_ok(const char *v)
{
    int major, minor, patch, n = 0;

    if (sscanf(v, "%d.%d.%d%n", &major, &minor, &patch, &n) != 3 || v[n])
        return 0;
    return major > KL_MIN_MAJOR || (major == KL_MIN_MAJOR && minor >= KL_MIN_MINOR);
}

/* Words of a space-separated option list. */
static int word_count(const char *s)
{
    int n = 0;

    for (const char *p = s; p && *p; p++)
        n += (*p != ' ' && *p != '\t') && (p == s || p[-1] == ' ' || p[-1] == '\t');
    return n;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

int main(int argc, char **argv)
{
    char errstr[1024];
    eb_conf_args_t args;
    int rc, lfd = -1, tmp_data = 0, exit_code = APP_EXIT_FAIL;
    int64_t t0;

    if ((rc = app_cli_parse(&prog, argc, argv, &args)) != APP_CONTINUE)
        return rc;
    if (!version_ok(conf.version)) {
        app_cli_error(prog.name,
                      "invalid KAFKA_LOCAL_VERSION (--kafka-version) '%s': want X.Y.Z, %d.%d.0 "
                      "or later",
                      conf.version, KL_MIN_MAJOR, KL_MIN_MINOR);
        return APP_EXIT_USAGE;
    }
    app_setup_log(prog.name, &common);
    eb_lifecycle_install_signals();
    t0 = eb_time_mono_ms();

    cluster.n = (int)conf.brokers;
    cluster.partitions = (int)conf.partitions;
    cluster.rf = cluster.n < 3 ? cluster.n : 3;
    cluster.min_isr = cluster.n < 2 ? cluster.n : 2;
    cluster.heap_mb = (int)conf.heap_mb;
    cluster.version = conf.version;
    cluster.jvm_opts = conf.jvm_opts;
    for (int i = 0; i < cluster.n; i++)
        cluster.nodes[i].id = i + 1;

    /* What cannot be had is a bad setting (exit 2), found before anything
     * starts: the JVM options, Java, the control socket, the data
     * directory, and last (it may download) the release. */
    if (word_count(conf.jvm_opts) > KL_JVM_OPTS_MAX) {
        app_cli_error(prog.name, "invalid KAFKA_LOCAL_JVM_OPTS (--jvm-opts): more than %d options",
                      KL_JVM_OPTS_MAX);
        return APP_EXIT_USAGE;
    }
    if (!kl_find_java(cluster.java, sizeof(cluster.java))) {
        app_cli_error(prog.name, "java not found (JAVA_HOME or PATH): install a JRE 17, e.g. "
                                 "scripts/install-deps.sh --kafka");
        return APP_EXIT_USAGE;
    }
    if (conf.control && conf.control[0]) {
        lfd = tool_control_listen(conf.control);
        if (lfd < 0) {
            app_cli_error(prog.name, "invalid KAFKA_LOCAL_CONTROL (--control) '%s': %s",
                          conf.control, strerror(errno));
            return APP_EXIT_USAGE;
        }
    }
    exit_code = APP_EXIT_USAGE;
    if (conf.data && conf.data[0]) {
        snprintf(cluster.data, sizeof(cluster.data), "%s", conf.data);
        if (mkdir(cluster.data, 0755) != 0 && errno != EEXIST) {
            app_cli_error(prog.name, "invalid KAFKA_LOCAL_DATA (--data) '%s': %s", conf.data,
                          strerror(errno));
            goto out;
        }
    }
    cluster.classpath = kl_release_classpath(conf.version, conf.cache, errstr, sizeof(errstr));
    if (!cluster.classpath) {
        app_cli_error(prog.name, "%s", errstr);
        exit_code = eb_stop_flag ? APP_EXIT_OK : APP_EXIT_USAGE;
        goto out;
    }
    exit_code = APP_EXIT_FAIL;
    if (!conf.data || !conf.data[0]) {
        const char *tmp = getenv("TMPDIR");

        snprintf(cluster.data, sizeof(cluster.data), "%s/kafka-local-XXXXXX",
                 tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(cluster.data)) {
            app_cli_error(prog.name, "cannot create a data directory: %s", strerror(errno));
            goto out;
        }
        tmp_data = 1;
    }

    if ((rc = kl_nodes_prepare(&cluster, errstr, sizeof(errstr))) != 0) {
        if (rc == -2) { /* --data holds another cluster: a bad setting */
            app_cli_error(prog.name, "%s", errstr);
            exit_code = APP_EXIT_USAGE;
        } else if (!eb_stop_flag) {
            EB_ERROR("%s", errstr);
        }
        goto stop; /* removes a temporary data directory */
    }
    if (eb_stop_flag) {
        exit_code = APP_EXIT_OK;
        goto stop;
    }
    for (int i = 0, len = 0; i < cluster.n; i++)
        len += snprintf(cluster.bootstrap + len, sizeof(cluster.bootstrap) - (size_t)len,
                        "%s127.0.0.1:%d", i ? "," : "", cluster.nodes[i].port);
    for (int i = 0; i < cluster.n; i++) {
        if (kl_node_start(&cluster, &cluster.nodes[i]) != 0) {
            EB_ERROR("cannot start node %d: %s", i + 1, strerror(errno));
            goto stop;
        }
    }
    if (kl_admin_open(&cluster, errstr, sizeof(errstr)) != 0 ||
        kl_wait_brokers(&cluster, 180000, errstr, sizeof(errstr)) != 0 ||
        kl_create_topics(&cluster, 60000, errstr, sizeof(errstr)) != 0 ||
        kl_wait_topics(&cluster, 1, 60000, errstr, sizeof(errstr)) != 0) {
        if (!eb_stop_flag)
            EB_ERROR("the cluster did not come up: %s", errstr);
        exit_code = eb_stop_flag ? APP_EXIT_OK : APP_EXIT_FAIL;
        goto stop;
    }

    /* The contract: bootstrap servers are the first line on stdout. */
    printf("%s\n", cluster.bootstrap);
    fflush(stdout);
    {
        long rss = 0;

        for (int i = 0; i < cluster.n; i++)
            rss += kl_node_rss_kib(&cluster.nodes[i]);
        EB_INFO("Apache Kafka %s up in %lld ms: %d node(s), %zu topics x %d partitions (RF %d, "
                "min ISR %d), bootstrap %s, data %s, JVM RSS %ld MiB in all%s%s",
                cluster.version, (long long)(eb_time_mono_ms() - t0), cluster.n, app_topic_count,
                cluster.partitions, cluster.rf, cluster.min_isr, cluster.bootstrap, cluster.data,
                rss / 1024, lfd >= 0 ? ", control " : "", lfd >= 0 ? conf.control : "");
    }

    tool_control_serve(lfd, run_command, tick, NULL);
    exit_code = APP_EXIT_OK;
    EB_INFO("stopping");

stop:
    kl_admin_close(&cluster);
    /* A graceful stop matters only for data that is kept. */
    if (tmp_data) {
        for (int i = 0; i < cluster.n; i++)
            kl_node_kill(&cluster.nodes[i]);
    } else {
        kl_nodes_stop_all(&cluster, 60000);
    }
    if (tmp_data && nftw(cluster.data, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        EB_WARN("could not remove %s: %s", cluster.data, strerror(errno));
out:
    tool_control_close(lfd, conf.control);
    free(cluster.classpath);
    return exit_code;
}
