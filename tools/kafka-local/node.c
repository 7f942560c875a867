/*
 * The nodes of a kafka-local cluster: one JVM each, running kafka.Kafka as
 * a combined KRaft broker and controller, every node a voter of the
 * metadata quorum.
 *
 * Each node is configured for a small machine: a fixed heap (-Xms = -Xmx,
 * so the footprint is known up front), the serial collector (unless
 * KAFKA_LOCAL_JVM_OPTS names another), two network
 * and two I/O threads, one replica fetcher, one log cleaner with an 8 MiB
 * dedupe buffer (the default 128 MiB alone would not fit the heap), and
 * internal topics with fewer partitions than Kafka's production defaults.
 * Failure detection (broker.session.timeout.ms, replica.lag.time.max.ms)
 * keeps Kafka's defaults, so the recovery times the tests measure are the
 * ones a user sees.
 *
 * A JVM is started in its own process group, so a ^C on the terminal
 * reaches kafka-local alone, which then stops the nodes in order; and with
 * PR_SET_PDEATHSIG, so no JVM outlives a kafka-local that was killed.
 */
#define _GNU_SOURCE /* strchrnul */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <uuid/uuid.h>

#include "eventbus/envelope.h"
#include "eventbus/lifecycle.h"
#include "eventbus/log.h"
#include "kafka_local.h"

#define KL_JVM_ARGS_MAX (19 + KL_JVM_OPTS_MAX)

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    int ok;

    if (!f)
        return -1;
    ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* Ports for every listener, all held open together so they are distinct;
 * free a moment ago, like the tests' free_port(). */
static int pick_ports(kl_cluster_t *c)
{
    int fds[2 * KL_MAX_NODES], rc = 0;

    for (int i = 0; i < 2 * c->n; i++) {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof(sa);

        fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fds[i] < 0 || bind(fds[i], (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
            getsockname(fds[i], (struct sockaddr *)&sa, &len) != 0) {
            rc = -1;
            for (int j = 0; j <= i; j++)
                if (fds[j] >= 0)
                    close(fds[j]);
            return rc;
        }
        if (i < c->n)
            c->nodes[i].port = ntohs(sa.sin_port);
        else
            c->nodes[i - c->n].controller_port = ntohs(sa.sin_port);
    }
    for (int i = 0; i < 2 * c->n; i++)
        close(fds[i]);
    return rc;
}

/* 16 random bytes in URL-safe base64 without padding (22 characters). */
static void random_id(char *out)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char u[16];
    uint32_t bits = 0;
    int nbits = 0, n = 0;

    uuid_generate_random(u);
    for (int i = 0; i < 16; i++) {
        bits = (bits << 8) | u[i];
        nbits += 8;
        while (nbits >= 6) {
            out[n++] = b64[(bits >> (nbits - 6)) & 63];
            nbits -= 6;
        }
    }
    out[n++] = b64[(bits << (6 - nbits)) & 63];
    out[n] = '\0';
}

/* A KRaft cluster id, never starting with '-' (the storage tool would take
 * it for an option; Kafka's own random ids avoid it the same way). */
static void new_cluster_id(char *out)
{
    do
        random_id(out);
    while (out[0] == '-');
}

/* <data>/cluster.properties keeps the cluster id and size, so --data DIR
 * can be started again. */
static int cluster_identity(kl_cluster_t *c, char *errstr, size_t errstr_size)
{
    char path[PATH_MAX + 32], text[128];
    FILE *f;
    int n = 0, partitions = 0;

    snprintf(path, sizeof(path), "%s/cluster.properties", c->data);
    f = fopen(path, "r");
    if (f) {
        char line[128];

        while (fgets(line, sizeof(line), f)) {
            if (strncmp(line, "cluster.id=", 11) == 0)
                snprintf(c->cluster_id, sizeof(c->cluster_id), "%.*s",
                         (int)strcspn(line + 11, "\r\n"), line + 11);
            else if (strncmp(line, "nodes=", 6) == 0)
                n = atoi(line + 6);
            else if (strncmp(line, "partitions=", 11) == 0)
                partitions = atoi(line + 11);
        }
        fclose(f);
        if (!c->cluster_id[0] || n != c->n || partitions != c->partitions) {
            snprintf(errstr, errstr_size,
                     "invalid KAFKA_LOCAL_DATA (--data) '%s': it holds a cluster of %d node(s) "
                     "and %d partitions, not %d and %d",
                     c->data, n, partitions, c->n, c->partitions);
            return -2;
        }
        return 0;
    }
    new_cluster_id(c->cluster_id);
    snprintf(text, sizeof(text), "cluster.id=%s\nnodes=%d\npartitions=%d\n", c->cluster_id, c->n,
             c->partitions);
    if (write_file(path, text) != 0) {
        snprintf(errstr, errstr_size, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Logging of every node to <node dir>/server.log: log4j 2 for Kafka 4,
 * reload4j (log4j 1 syntax) for Kafka 3; each JVM is given both. */
static const char log4j2_props[] = "status = warn\n"
                                   "appender.f.type = File\n"
                                   "appender.f.name = f\n"
                                   "appender.f.fileName = ${sys:kafka.logs.dir}/server.log\n"
                                   "appender.f.layout.type = PatternLayout\n"
                                   "appender.f.layout.pattern = [%d] %p %m (%c)%n\n"
                                   "rootLogger.level = INFO\n"
                                   "rootLogger.appenderRef.f.ref = f\n"
                                   "logger.req.name = kafka.request.logger\n"
                                   "logger.req.level = WARN\n";

static const char log4j1_props[] = "log4j.rootLogger=INFO, f\n"
                                   "log4j.appender.f=org.apache.log4j.FileAppender\n"
                                   "log4j.appender.f.File=${kafka.logs.dir}/server.log\n"
                                   "log4j.appender.f.layout=org.apache.log4j.PatternLayout\n"
                                   "log4j.appender.f.layout.ConversionPattern=[%d] %p %m (%c)%n\n"
                                   "log4j.logger.kafka.request.logger=WARN\n";

static int write_node_config(const kl_cluster_t *c, const kl_node_t *node)
{
    char path[PATH_MAX + 32], voters[KL_MAX_NODES * 32] = "", text[4096];
    size_t vlen = 0;

    for (int i = 0; i < c->n; i++)
        vlen += (size_t)snprintf(voters + vlen, sizeof(voters) - vlen, "%s%d@127.0.0.1:%d",
                                 i ? "," : "", c->nodes[i].id, c->nodes[i].controller_port);
    snprintf(text, sizeof(text),
             "# Written by kafka-local: node %d of %d (broker and controller).\n"
             "process.roles=broker,controller\n"
             "node.id=%d\n"
             "controller.quorum.voters=%s\n"
             "listeners=PLAINTEXT://127.0.0.1:%d,CONTROLLER://127.0.0.1:%d\n"
             "advertised.listeners=PLAINTEXT://127.0.0.1:%d\n"
             "controller.listener.names=CONTROLLER\n"
             "inter.broker.listener.name=PLAINTEXT\n"
             "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT\n"
             "log.dirs=%s/data\n"
             "num.partitions=%d\n"
             "default.replication.factor=%d\n"
             "min.insync.replicas=%d\n"
             "offsets.topic.replication.factor=%d\n"
             "offsets.topic.num.partitions=12\n"
             "transaction.state.log.replication.factor=%d\n"
             "transaction.state.log.min.isr=%d\n"
             "transaction.state.log.num.partitions=6\n"
             "auto.create.topics.enable=false\n"
             "unclean.leader.election.enable=false\n"
             "group.initial.rebalance.delay.ms=0\n"
             "num.network.threads=2\n"
             "num.io.threads=2\n"
             "background.threads=2\n"
             "num.replica.fetchers=1\n"
             "num.recovery.threads.per.data.dir=1\n"
             "log.cleaner.threads=1\n"
             "log.cleaner.dedupe.buffer.size=8388608\n",
             node->id, c->n, node->id, voters, node->port, node->controller_port, node->port,
             node->dir, c->partitions, c->rf, c->min_isr, c->rf, c->rf, c->min_isr);
    snprintf(path, sizeof(path), "%s/server.properties", node->dir);
    return write_file(path, text);
}

/* Formats a node's storage unless an earlier run did. */
static int format_node(const kl_cluster_t *c, const kl_node_t *node, char *errstr,
                       size_t errstr_size)
{
    char meta[PATH_MAX + 32], config[PATH_MAX + 32], out[4096];
    const char *args[] = {"format", "-t", c->cluster_id, "-c", config, NULL};
    int rc;

    snprintf(meta, sizeof(meta), "%s/data/meta.properties", node->dir);
    if (access(meta, F_OK) == 0)
        return 0;
    snprintf(config, sizeof(config), "%s/server.properties", node->dir);
    rc = kl_java_tool(c, "kafka.tools.StorageTool", args, out, sizeof(out), 120000);
    if (rc != 0) {
        snprintf(errstr, errstr_size, "formatting node %d failed (%d): %.300s", node->id, rc, out);
        return -1;
    }
    return 0;
}

int kl_nodes_prepare(kl_cluster_t *c, char *errstr, size_t errstr_size)
{
    char path[PATH_MAX + 32];
    int rc;

    if ((rc = cluster_identity(c, errstr, errstr_size)) != 0)
        return rc;
    if (pick_ports(c) != 0) {
        snprintf(errstr, errstr_size, "cannot pick free ports on 127.0.0.1: %s", strerror(errno));
        return -1;
    }
    snprintf(path, sizeof(path), "%s/log4j2.properties", c->data);
    if (write_file(path, log4j2_props) != 0)
        goto io;
    snprintf(path, sizeof(path), "%s/log4j.properties", c->data);
    if (write_file(path, log4j1_props) != 0)
        goto io;
    for (int i = 0; i < c->n; i++) {
        kl_node_t *node = &c->nodes[i];

        snprintf(node->dir, sizeof(node->dir), "%s/node-%d", c->data, node->id);
        if ((mkdir(node->dir, 0755) != 0 && errno != EEXIST) || write_node_config(c, node) != 0) {
            snprintf(path, sizeof(path), "%s", node->dir);
            goto io;
        }
    }
    for (int i = 0; i < c->n; i++)
        if (format_node(c, &c->nodes[i], errstr, errstr_size) != 0)
            return -1;
    return 0;
io:
    snprintf(errstr, errstr_size, "cannot write %s: %s", path, strerror(errno));
    return -1;
}

int kl_node_start(kl_cluster_t *c, kl_node_t *node)
{
    char heap_min[32], heap_max[32], logs_dir[PATH_MAX + 32], log4j2[PATH_MAX + 64];
    char log4j1[PATH_MAX + 64], config[PATH_MAX + 32], out[PATH_MAX + 32];
    char *extra = strdup(c->jvm_opts ? c->jvm_opts : "");
    const char *argv[KL_JVM_ARGS_MAX];
    char *save = NULL;
    size_t n = 0;
    pid_t pid;
    int fd;

    if (!extra)
        return -1;
    snprintf(heap_min, sizeof(heap_min), "-Xms%dm", c->heap_mb);
    snprintf(heap_max, sizeof(heap_max), "-Xmx%dm", c->heap_mb);
    snprintf(logs_dir, sizeof(logs_dir), "-Dkafka.logs.dir=%s", node->dir);
    snprintf(log4j2, sizeof(log4j2), "-Dlog4j2.configurationFile=%s/log4j2.properties", c->data);
    snprintf(log4j1, sizeof(log4j1), "-Dlog4j.configuration=file:%s/log4j.properties", c->data);
    snprintf(config, sizeof(config), "%s/server.properties", node->dir);
    snprintf(out, sizeof(out), "%s/server.out", node->dir);

    argv[n++] = c->java;
    argv[n++] = heap_min;
    argv[n++] = heap_max;
    /* The serial collector unless the extra options choose another one (two
     * collectors make the JVM refuse to start). */
    if (!kl_names_collector(c->jvm_opts))
        argv[n++] = "-XX:+UseSerialGC";
    argv[n++] = "-XX:CICompilerCount=2";
    argv[n++] = "-XX:ReservedCodeCacheSize=64m";
    argv[n++] = "-XX:MaxMetaspaceSize=160m";
    argv[n++] = "-Xss512k";
    argv[n++] = "-XX:-UsePerfData";
    argv[n++] = "-XX:+ExitOnOutOfMemoryError";
    argv[n++] = "-Djava.awt.headless=true";
    argv[n++] = logs_dir;
    argv[n++] = log4j2;
    argv[n++] = log4j1;
    /* main() refused more than KL_JVM_OPTS_MAX words (a bad setting). */
    for (char *o = strtok_r(extra, " \t", &save); o && n < KL_JVM_ARGS_MAX - 5;
         o = strtok_r(NULL, " \t", &save))
        argv[n++] = o;
    argv[n++] = "-cp";
    argv[n++] = c->classpath;
    argv[n++] = "kafka.Kafka";
    argv[n++] = config;
    argv[n] = NULL;

    fd = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    pid = fd < 0 ? -1 : kl_spawn(argv, fd);
    if (fd >= 0)
        close(fd);
    free(extra);
    if (pid < 0)
        return -1;
    node->pid = pid;
    node->started_ms = eb_time_mono_ms();
    EB_INFO("node %d started (pid %d, broker 127.0.0.1:%d, controller 127.0.0.1:%d)", node->id,
            (int)pid, node->port, node->controller_port);
    return 0;
}

void kl_node_kill(kl_node_t *node)
{
    if (!node->pid)
        return;
    kl_reap(node->pid, 0, 0);
    EB_INFO("node %d killed (pid %d)", node->id, (int)node->pid);
    node->pid = 0;
}

int kl_node_stop(kl_node_t *node, int timeout_ms)
{
    int64_t start = eb_time_mono_ms();
    int clean;

    if (!node->pid)
        return 1;
    kill(node->pid, SIGTERM);
    clean = kl_reap(node->pid, timeout_ms, 0) != -1;
    if (!clean)
        EB_WARN("node %d did not stop within %d ms: killed", node->id, timeout_ms);
    EB_INFO("node %d stopped in %lld ms", node->id, (long long)(eb_time_mono_ms() - start));
    node->pid = 0;
    return clean;
}

void kl_nodes_stop_all(kl_cluster_t *c, int timeout_ms)
{
    int64_t deadline = eb_time_mono_ms() + timeout_ms;

    for (int i = 0; i < c->n; i++)
        if (c->nodes[i].pid)
            kill(c->nodes[i].pid, SIGTERM);
    for (int i = 0; i < c->n; i++) {
        kl_node_t *node = &c->nodes[i];
        int64_t left = deadline - eb_time_mono_ms();

        if (!node->pid)
            continue;
        if (kl_reap(node->pid, left > 0 ? (int)left : 0, 0) == -1)
            EB_WARN("node %d did not stop in time: killed", node->id);
        node->pid = 0;
    }
}

void kl_nodes_reap(kl_cluster_t *c)
{
    for (int i = 0; i < c->n; i++) {
        kl_node_t *node = &c->nodes[i];
        int status;

        if (node->pid && waitpid(node->pid, &status, WNOHANG) == node->pid) {
            char tail[600];

            kl_node_tail(node, tail, sizeof(tail));
            EB_ERROR("node %d (pid %d) exited on its own (%s %d): %s", node->id, (int)node->pid,
                     WIFEXITED(status) ? "status" : "signal",
                     WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), tail);
            node->pid = 0;
        }
    }
}

long kl_node_rss_kib(const kl_node_t *node)
{
    char path[64], line[256];
    long kib = 0;
    FILE *f;

    if (!node->pid)
        return 0;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)node->pid);
    if (!(f = fopen(path, "r")))
        return 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

void kl_node_tail(const kl_node_t *node, char *out, size_t size)
{
    char path[PATH_MAX + 32];
    FILE *f;
    long len;
    size_t n;

    out[0] = '\0';
    snprintf(path, sizeof(path), "%s/server.out", node->dir);
    if (!(f = fopen(path, "r")))
        return;
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, len > (long)size - 1 ? len - (long)size + 1 : 0, SEEK_SET);
    n = fread(out, 1, size - 1, f);
    out[n] = '\0';
    fclose(f);
    for (char *p = out; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
}
