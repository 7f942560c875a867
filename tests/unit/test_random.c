/*
 * Unit tests for random.c: a forked child never hands out the bytes its
 * parent hands out next (the per-thread pool is dropped after fork()).
 */
#include "unit.h"

#include <sys/wait.h>
#include <unistd.h>

#include "eb_int.h"

static void child_differs_from_parent(void **state)
{
    unsigned char first[16], mine[16], childs[16];
    int fds[2], status;
    pid_t pid;

    (void)state;
    eb__random_bytes(first, sizeof(first));   /* the pool is filled now */
    for (int round = 0; round < 3; round++) { /* three forks, one after the other */
        assert_int_equal(pipe(fds), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            eb__random_bytes(childs, sizeof(childs));
            _exit(write(fds[1], childs, sizeof(childs)) == (ssize_t)sizeof(childs) ? 0 : 1);
        }
        close(fds[1]);
        assert_int_equal(read(fds[0], childs, sizeof(childs)), (ssize_t)sizeof(childs));
        close(fds[0]);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        eb__random_bytes(mine, sizeof(mine));
        assert_memory_not_equal(mine, childs, sizeof(mine));
        assert_memory_not_equal(mine, first, sizeof(mine));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(child_differs_from_parent),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
