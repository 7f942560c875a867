/*
 * kafka-local's parts: the release (release.c: Apache Kafka's jars through
 * Maven), the nodes (node.c: one JVM per KRaft node, started, stopped and
 * killed by PID) and the cluster operations over the Kafka protocol
 * (admin.c: librdkafka's metadata and Admin API, and Kafka's own Java tools
 * where librdkafka 2.0.2 has no API). main.c wires them to the command line
 * and the control socket.
 *
 * Everything runs on the main thread: forks happen from it only, so every
 * JVM's parent-death signal (PR_SET_PDEATHSIG) is tied to a thread that
 * lives as long as the process.
 */
#ifndef TOOLS_KAFKA_LOCAL_H
#define TOOLS_KAFKA_LOCAL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <librdkafka/rdkafka.h>

#define KL_MAX_NODES    9
#define KL_JVM_OPTS_MAX 24 /* words in KAFKA_LOCAL_JVM_OPTS */

typedef struct kl_node_s {
    int id;              /* node.id, 1..N */
    int port;            /* PLAINTEXT listener on 127.0.0.1 */
    int controller_port; /* CONTROLLER listener on 127.0.0.1 */
    pid_t pid;           /* the JVM, 0 when not running */
    int64_t started_ms;  /* when the JVM was started (monotonic) */
    char dir[PATH_MAX];  /* <data>/node-<id>: config, logs, data */
} kl_node_t;

typedef struct kl_cluster_s {
    int n;          /* nodes, each broker+controller, all voters */
    int partitions; /* of every suite topic */
    int rf;         /* replication factor: min(3, n) */
    int min_isr;    /* min.insync.replicas: min(2, n) */
    int heap_mb;    /* -Xms/-Xmx of each node */
    /* Borrowed from the settings (environment, argv or static defaults):
     * valid for the life of the process. */
    const char *version;
    const char *jvm_opts; /* extra JVM options, may be "" */
    char java[PATH_MAX];
    char *classpath; /* the release's jars, ':'-separated (owned) */
    char data[PATH_MAX];
    char cluster_id[32];
    char bootstrap[KL_MAX_NODES * 24];
    kl_node_t nodes[KL_MAX_NODES];
    rd_kafka_t *admin; /* metadata and Admin API client, all nodes bootstrap */
} kl_cluster_t;

/* ---- release.c ------------------------------------------------------- */

/* Starts argv[0] (a path) as a child that dies with kafka-local
 * (PR_SET_PDEATHSIG) in a process group of its own, stdin from /dev/null,
 * stdout and stderr to out_fd (or kafka-local's stderr when out_fd < 0:
 * never its stdout, which carries the bootstrap line). Returns the PID, or
 * -1 with errno. Call from the main thread only. */
pid_t kl_spawn(const char *const *argv, int out_fd);

/* Waits for pid to exit, for at most timeout_ms (< 0: no limit), killing
 * it (SIGKILL) and reaping it when the time is up or, with stoppable, when
 * eb_stop_flag is set. Returns its wait status, or -1 when it was killed. */
int kl_reap(pid_t pid, int timeout_ms, int stoppable);

/* Finds java: $JAVA_HOME/bin/java, else the first java on PATH. Returns 0
 * when none is executable. */
int kl_find_java(char *out, size_t size);

/* The classpath of Apache Kafka `version`: read from the cache, else
 * resolved once through Maven with the pom beside the executable (which may
 * download the release). Returns a malloc'd string, or NULL with the reason
 * in errstr. */
char *kl_release_classpath(const char *version, const char *cache_dir, char *errstr,
                           size_t errstr_size);

/* True when opts (space-separated JVM options, may be NULL) choose a garbage
 * collector (-XX:+Use...GC), so a node does not add the serial one. */
bool kl_names_collector(const char *opts);

/* Runs a Java main class from the release with a small heap, waiting up to
 * timeout_ms; its stdout and stderr go into out (NUL-terminated, truncated
 * to size). Returns the exit status, or -1 if it could not run or timed
 * out (then killed). */
int kl_java_tool(const kl_cluster_t *c, const char *main_class, const char *const *args, char *out,
                 size_t size, int timeout_ms);

/* ---- node.c ---------------------------------------------------------- */

/* Picks ports, writes each node's server.properties and the logging
 * configuration, and formats the storage of nodes not formatted yet.
 * Returns 0, -1 with the reason in errstr, or -2 when --data holds a
 * cluster of another shape (a bad setting). */
int kl_nodes_prepare(kl_cluster_t *c, char *errstr, size_t errstr_size);

/* Starts the JVM of a node that is not running. Returns 0 or -1 (errno). */
int kl_node_start(kl_cluster_t *c, kl_node_t *node);

/* SIGKILL and reap, as a crash would. */
void kl_node_kill(kl_node_t *node);

/* SIGTERM (a controlled shutdown) and wait up to timeout_ms; killed past
 * it. Returns 1 if it exited by itself in time, else 0. */
int kl_node_stop(kl_node_t *node, int timeout_ms);

/* Stops every running node: SIGTERM to all at once, SIGKILL to those still
 * running after timeout_ms. */
void kl_nodes_stop_all(kl_cluster_t *c, int timeout_ms);

/* Reaps nodes that exited on their own and logs it (pid becomes 0). */
void kl_nodes_reap(kl_cluster_t *c);

/* The node's resident memory in KiB (from /proc), 0 if unknown. */
long kl_node_rss_kib(const kl_node_t *node);

/* The last lines of a node's console output, for error messages. */
void kl_node_tail(const kl_node_t *node, char *out, size_t size);

/* ---- admin.c --------------------------------------------------------- */

/* Creates c->admin for c->bootstrap. Returns 0 or -1 with errstr. */
int kl_admin_open(kl_cluster_t *c, char *errstr, size_t errstr_size);
void kl_admin_close(kl_cluster_t *c);

/* 1 when node answers a metadata request on its own listener as itself. */
int kl_node_serves(const kl_node_t *node, int timeout_ms);

/* Waits until every running node is a registered broker in the cluster's
 * metadata. Returns 0, or -1 with errstr (a node died, or the deadline). */
int kl_wait_brokers(kl_cluster_t *c, int timeout_ms, char *errstr, size_t errstr_size);

/* Creates the suite's topics that do not exist yet (partitions, replication
 * factor, min.insync.replicas of c). Returns 0 or -1 with errstr. */
int kl_create_topics(kl_cluster_t *c, int timeout_ms, char *errstr, size_t errstr_size);

/* Waits until every partition of every suite topic has a leader and, when
 * full_isr, every replica in sync. Returns 0 or -1 with errstr. */
int kl_wait_topics(kl_cluster_t *c, int full_isr, int timeout_ms, char *errstr, size_t errstr_size);

/* An empty cluster again for the next test: deletes every record of the
 * suite's topics (DeleteRecords to the high watermark) and every consumer
 * group (retrying while a departed member's session lingers). */
int kl_reset(kl_cluster_t *c, int timeout_ms, char *errstr, size_t errstr_size);

/* Makes node `id` the leader of topic/partition: the replica list is
 * reordered with Kafka's reassignment tool so that id comes first, then a
 * preferred leader election is run. Waits until metadata shows it. */
int kl_move_leader(kl_cluster_t *c, const char *topic, int partition, int id, char *errstr,
                   size_t errstr_size);

/* The node id of the active KRaft controller (Kafka's metadata quorum
 * tool), or -1 with errstr. */
int kl_active_controller(kl_cluster_t *c, char *errstr, size_t errstr_size);

#endif /* TOOLS_KAFKA_LOCAL_H */
