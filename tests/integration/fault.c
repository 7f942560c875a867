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
 *
 * The disk cannot be made to fail on demand without root; the call that
 * reports its failure can.
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
