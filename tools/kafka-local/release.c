/*
 * The Apache Kafka release kafka-local runs: Java, and the release's jars
 * resolved by Maven from Maven Central (org.apache.kafka:kafka_2.13 and
 * kafka-tools, with a logging binding), pinned by the pom installed beside
 * the executable. Maven keeps the jars in its local repository; the
 * classpath it resolved is cached in a file, so every later start reads
 * that file and runs offline without starting Maven at all.
 */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "eventbus/envelope.h"
#include "eventbus/lifecycle.h"
#include "eventbus/log.h"
#include "kafka_local.h"

/* JVM options of the short-lived tools (format, reassignment, election):
 * they start fast on C1 alone and need little memory. */
static const char *const tool_jvm_opts[] = {
    "-Xms64m",          "-Xmx128m",     "-XX:+UseSerialGC",         "-XX:TieredStopAtLevel=1",
    "-XX:-UsePerfData", "-Xshare:auto", "-Djava.awt.headless=true", NULL};

pid_t kl_spawn(const char *const *argv, int out_fd)
{
    pid_t parent = getpid();
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    pid_t pid = fork();

    if (pid == 0) {
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) /* kafka-local died before prctl */
            _exit(127);
        if (dup2(out_fd >= 0 ? out_fd : STDERR_FILENO, STDOUT_FILENO) < 0 ||
            (out_fd >= 0 && dup2(out_fd, STDERR_FILENO) < 0))
            _exit(127);
        if (devnull >= 0)
            dup2(devnull, STDIN_FILENO);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    if (devnull >= 0)
        close(devnull);
    return pid;
}

int kl_reap(pid_t pid, int timeout_ms, int stoppable)
{
    int64_t deadline = eb_time_mono_ms() + timeout_ms;
    int status;

    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);

        if (r == pid)
            return status;
        if (r < 0 && errno != EINTR)
            return -1; /* not our child (any more) */
        if ((timeout_ms >= 0 && eb_time_mono_ms() >= deadline) || (stoppable && eb_stop_flag))
            break;
        usleep(20000);
    }
    kill(pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return -1;
}

static int executable(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* The first executable `name` on PATH, into out. */
static int on_path(const char *name, char *out, size_t size)
{
    const char *path = getenv("PATH");
    char *copy, *dir, *save = NULL;
    int found = 0;

    if (!path)
        return 0;
    copy = strdup(path);
    for (dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
        snprintf(out, size, "%s/%s", *dir ? dir : ".", name);
        found = executable(out);
    }
    free(copy);
    return found;
}

int kl_find_java(char *out, size_t size)
{
    const char *home = getenv("JAVA_HOME");

    if (home && *home) {
        snprintf(out, size, "%s/bin/java", home);
        if (executable(out))
            return 1;
    }
    return on_path("java", out, size);
}

/* The pom: <exe dir>/../share/eventbus/kafka-local/pom.xml (the build and
 * the install put it there), else the copy in the source tree. */
static int find_pom(char *out, size_t size)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

    if (n > 0) {
        exe[n] = '\0';
        snprintf(out, size, "%s/../share/eventbus/kafka-local/pom.xml", dirname(exe));
        if (access(out, R_OK) == 0)
            return 1;
    }
    snprintf(out, size, "%s", KL_POM_SOURCE);
    return access(out, R_OK) == 0;
}

static int mkdirs(const char *path)
{
    char tmp[PATH_MAX];

    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    return mkdir(tmp, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

/* Reads a cached classpath; NULL unless every jar in it still exists. */
static char *read_classpath(const char *file)
{
    FILE *f = fopen(file, "r");
    char *cp, *copy, *jar, *save = NULL;
    long len;
    int ok = 1;

    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    rewind(f);
    cp = calloc(1, (size_t)len + 1);
    if (len <= 0 || fread(cp, 1, (size_t)len, f) != (size_t)len) {
        fclose(f);
        free(cp);
        return NULL;
    }
    fclose(f);
    cp[strcspn(cp, "\r\n")] = '\0';
    copy = strdup(cp);
    for (jar = strtok_r(copy, ":", &save); jar && ok; jar = strtok_r(NULL, ":", &save))
        ok = access(jar, R_OK) == 0;
    free(copy);
    if (!ok || !*cp) {
        free(cp);
        return NULL;
    }
    return cp;
}

char *kl_release_classpath(const char *version, const char *cache_dir, char *errstr,
                           size_t errstr_size)
{
    char dir[PATH_MAX], file[PATH_MAX], tmp[PATH_MAX + 8], pom[PATH_MAX], mvn[PATH_MAX];
    char vprop[96], line[32], outprop[PATH_MAX + 32];
    const char *home = getenv("HOME");
    char *cp;
    pid_t pid;
    int status;

    if (cache_dir && *cache_dir)
        snprintf(dir, sizeof(dir), "%s", cache_dir);
    else if (getenv("XDG_CACHE_HOME") && *getenv("XDG_CACHE_HOME"))
        snprintf(dir, sizeof(dir), "%s/eventbus", getenv("XDG_CACHE_HOME"));
    else
        snprintf(dir, sizeof(dir), "%s/.cache/eventbus", home && *home ? home : "/tmp");
    snprintf(file, sizeof(file), "%s/kafka-%s.classpath", dir, version);
    if ((cp = read_classpath(file)))
        return cp;

    if (!find_pom(pom, sizeof(pom))) {
        snprintf(errstr, errstr_size, "the release pom is missing (looked for %s)", pom);
        return NULL;
    }
    if (!on_path("mvn", mvn, sizeof(mvn))) {
        snprintf(errstr, errstr_size,
                 "Apache Kafka %s is not cached and Maven (mvn) is missing: run "
                 "scripts/install-deps.sh --kafka",
                 version);
        return NULL;
    }
    if (mkdirs(dir) != 0) {
        snprintf(errstr, errstr_size, "cannot create the cache directory %s: %s", dir,
                 strerror(errno));
        return NULL;
    }
    EB_INFO("fetching Apache Kafka %s through Maven (first run; later runs are offline)", version);
    snprintf(tmp, sizeof(tmp), "%s.%d", file, (int)getpid());
    snprintf(vprop, sizeof(vprop), "-Dkafka.version=%s", version);
    snprintf(line, sizeof(line), "-Dkafka.line=%c", version[0]);
    snprintf(outprop, sizeof(outprop), "-Dmdep.outputFile=%s", tmp);
    {
        /* stdout is kafka-local's contract (the bootstrap line): Maven
         * talks on stderr (kl_spawn with no out_fd). A first fetch may
         * take minutes; a stop request ends it. */
        const char *argv[] = {
            mvn, "-q", "-B", "-f", pom, vprop, line, outprop, "dependency:build-classpath", NULL};

        pid = kl_spawn(argv, -1);
        status = pid < 0 ? -1 : kl_reap(pid, 30 * 60 * 1000, 1);
    }
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || rename(tmp, file) != 0) {
        unlink(tmp);
        if (eb_stop_flag)
            snprintf(errstr, errstr_size, "stopped while fetching Apache Kafka %s", version);
        else
            snprintf(errstr, errstr_size,
                     "invalid KAFKA_LOCAL_VERSION (--kafka-version) '%s': Maven cannot fetch "
                     "Apache Kafka %s (is it published? Maven's output is above)",
                     version, version);
        return NULL;
    }
    if (!(cp = read_classpath(file)))
        snprintf(errstr, errstr_size, "Maven resolved no usable classpath into %s", file);
    return cp;
}

int kl_java_tool(const kl_cluster_t *c, const char *main_class, const char *const *args, char *out,
                 size_t size, int timeout_ms)
{
    const char *argv[64];
    size_t n = 0, len = 0;
    int64_t deadline = eb_time_mono_ms() + timeout_ms;
    int fds[2], status;
    pid_t pid;

    argv[n++] = c->java;
    for (int i = 0; tool_jvm_opts[i]; i++)
        argv[n++] = tool_jvm_opts[i];
    argv[n++] = "-cp";
    argv[n++] = c->classpath;
    argv[n++] = main_class;
    for (int i = 0; args[i] && n < sizeof(argv) / sizeof(argv[0]) - 1; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    out[0] = '\0';
    if (pipe2(fds, O_CLOEXEC) != 0)
        return -1;
    pid = kl_spawn(argv, fds[1]);
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        return -1;
    }
    /* Read what it says until it closes its end, the deadline passes or a
     * stop is requested; kl_reap then kills it if it is still there. */
    while (!eb_stop_flag) {
        struct pollfd p = {fds[0], POLLIN, 0};
        int64_t left = deadline - eb_time_mono_ms();
        char buf[4096];
        ssize_t r;

        if (left <= 0)
            break;
        if (poll(&p, 1, left < 200 ? (int)left : 200) <= 0)
            continue;
        r = read(fds[0], buf, sizeof(buf));
        if (r <= 0)
            break;
        if (len + 1 < size) {
            size_t take = (size_t)r < size - 1 - len ? (size_t)r : size - 1 - len;

            memcpy(out + len, buf, take);
            len += take;
            out[len] = '\0';
        }
    }
    close(fds[0]);
    status =
        kl_reap(pid, (int)(deadline - eb_time_mono_ms() > 0 ? deadline - eb_time_mono_ms() : 0), 1);
    if (status == -1 || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}
