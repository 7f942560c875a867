/*
 * Fault injection for the integration tests, loaded into a daemon with
 * LD_PRELOAD: fdatasync(2) fails or kills the process when a trigger file
 * exists in $EB_FAULT_DIR.
 *
 *   fdatasync-fail   every fdatasync fails with EIO while the file exists
 *   fdatasync-kill   the next fdatasync (of any instance using the same
 *                    directory) kills its process with SIGKILL, after the
 *                    data was written and before the caller learns of it;
 *                    the trigger is removed, so exactly one process dies
 *   txn-commit-kill  the next rd_kafka_commit_transaction first flushes what
 *                    the transaction produced (it is then on the brokers,
 *                    not committed), then kills its process with SIGKILL:
 *                    exactly-once mode's worst moment; removed as above
 *
 * The disk cannot be made to fail on demand without root; the call that
 * reports its failure can. librdkafka's functions are declared here, not
 * included: this module links against nothing but libdl.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int trigger(const char *name, int consume)
{
    const char *dir = getenv("EB_FAULT_DIR");
    char path[4096];

    if (!dir)
        return 0;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return consume ? unlink(path) == 0 : access(path, F_OK) == 0;
}

int fdatasync(int fd)
{
    int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");

    if (trigger("fdatasync-fail", 0)) {
        errno = EIO;
        return -1;
    }
    if (trigger("fdatasync-kill", 1))
        raise(SIGKILL);
    return real ? real(fd) : (errno = ENOSYS, -1);
}

typedef struct rd_kafka_s rd_kafka_t;
typedef struct rd_kafka_error_s rd_kafka_error_t;
rd_kafka_error_t *rd_kafka_commit_transaction(rd_kafka_t *rk, int timeout_ms);

rd_kafka_error_t *rd_kafka_commit_transaction(rd_kafka_t *rk, int timeout_ms)
{
    rd_kafka_error_t *(*real)(rd_kafka_t *, int) =
        (rd_kafka_error_t * (*)(rd_kafka_t *, int)) dlsym(RTLD_NEXT, "rd_kafka_commit_transaction");
    int (*flush)(rd_kafka_t *, int) =
        (int (*)(rd_kafka_t *, int))dlsym(RTLD_NEXT, "rd_kafka_flush");

    if (trigger("txn-commit-kill", 1)) {
        if (flush)
            flush(rk, 10000);
        raise(SIGKILL);
    }
    return real(rk, timeout_ms);
}
