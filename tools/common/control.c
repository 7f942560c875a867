/*
 * The control socket of the suite's tools (control.h): a poll loop over one
 * listening UNIX socket and at most TOOL_CONTROL_CLIENTS clients, each with
 * its own line buffer, so commands may arrive in pieces.
 */
#define _GNU_SOURCE /* accept4 */
#include "control.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "eventbus/app/topics.h"
#include "eventbus/lifecycle.h"

#define TOOL_CONTROL_CLIENTS 8

typedef struct client_s {
    int fd;
    char buf[TOOL_CONTROL_LINE_MAX];
    size_t len;
} client_t;

int tool_control_listen(const char *path)
{
    struct sockaddr_un sa;
    int fd;

    if (strlen(path) >= sizeof(sa.sun_path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    strcpy(sa.sun_path, path);
    unlink(path);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 8) != 0) {
        int e = errno;

        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

int tool_control_node(const char *arg, int nodes, int *id)
{
    char *end;
    long v;

    if (arg && strcmp(arg, "all") == 0) {
        *id = -1;
        return 1;
    }
    if (!arg || *arg < '0' || *arg > '9') /* strtol would skip spaces and take a sign */
        return 0;
    v = strtol(arg, &end, 10);
    if (*end || v < 1 || v > nodes)
        return 0;
    *id = (int)v;
    return 1;
}

int tool_control_topic(const char *topic)
{
    for (size_t i = 0; topic && i < app_topic_count; i++)
        if (strcmp(topic, app_topics[i]) == 0)
            return 1;
    return 0;
}

void tool_control_close(int lfd, const char *path)
{
    if (lfd < 0)
        return;
    close(lfd);
    unlink(path);
}

/* Reads what a client sent and answers each complete line. Returns 0 when
 * the client is gone or sent a line longer than any command. */
static int serve_client(client_t *c, tool_control_cb_t *cb, void *opaque)
{
    char answer[TOOL_CONTROL_LINE_MAX];
    ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
    char *nl;

    if (n <= 0)
        return 0;
    c->len += (size_t)n;
    c->buf[c->len] = '\0';
    while ((nl = strchr(c->buf, '\n'))) {
        size_t len;

        *nl = '\0';
        if (nl > c->buf && nl[-1] == '\r')
            nl[-1] = '\0';
        answer[0] = '\0';
        cb(c->buf, answer, sizeof(answer) - 1, opaque);
        len = strlen(answer);
        answer[len++] = '\n';
        if (write(c->fd, answer, len) < 0)
            return 0;
        c->len -= (size_t)(nl + 1 - c->buf);
        memmove(c->buf, nl + 1, c->len + 1);
    }
    return c->len < sizeof(c->buf) - 1;
}

void tool_control_serve(int lfd, tool_control_cb_t *cb, tool_control_tick_t *tick, void *opaque)
{
    client_t clients[TOOL_CONTROL_CLIENTS];
    int nclients = 0;

    while (!eb_stop_flag) {
        struct pollfd pfd[TOOL_CONTROL_CLIENTS + 1];
        int n = 0, ready;

        if (lfd >= 0)
            pfd[n++] = (struct pollfd){lfd, POLLIN, 0};
        for (int i = 0; i < nclients; i++)
            pfd[n++] = (struct pollfd){clients[i].fd, POLLIN, 0};
        ready = poll(pfd, (nfds_t)n, 200);
        if (tick)
            tick(opaque);
        if (ready <= 0)
            continue;
        for (int i = nclients - 1; i >= 0; i--) {
            if (pfd[(lfd >= 0) + i].revents && !serve_client(&clients[i], cb, opaque)) {
                close(clients[i].fd);
                clients[i] = clients[--nclients];
            }
        }
        if (lfd >= 0 && (pfd[0].revents & POLLIN)) {
            int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

            if (fd >= 0 && nclients < TOOL_CONTROL_CLIENTS)
                clients[nclients++] = (client_t){fd, {0}, 0};
            else if (fd >= 0)
                close(fd);
        }
    }
    for (int i = 0; i < nclients; i++)
        close(clients[i].fd);
}
