/*
 * bench-bare-mhd: the floor for the intake benchmark.
 *
 * A libmicrohttpd server with order-service's threading model
 * (MHD_USE_AUTO_INTERNAL_THREAD, a pool of MHD_OPTION_THREAD_POOL_SIZE
 * threads, bound to 127.0.0.1) that reads and discards every request body and
 * answers every request with the same 201 JSON reply. Measured in the same
 * run as order-service, it shows what the order path itself costs.
 *
 * Usage: bench-bare-mhd [PORT [THREADS]]. PORT 0 (the default) picks a free
 * port. The first stdout line is "port <n>"; the server then runs until
 * SIGTERM or SIGINT and exits 0.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

/* The shape and size (204 bytes) of order-service's 201 reply to the
 * benchmark's order, so that the two servers send the same bytes. */
static const char reply_body[] =
    "{\"orderId\":\"00000000-0000-4000-8000-000000000000\",\"status\":\"PENDING\",\"userId\":"
    "\"u1\",\"items\":[{\"productId\":\"p1\",\"quantity\":2,\"price\":50}],\"total\":100,"
    "\"currency\":\"USD\",\"createdAt\":\"2026-11-21T00:00:00.000Z\"}";

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

/* Called once with the headers, once per body chunk, then once with no data:
 * only the last call answers. con_cls marks that the headers were seen. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    static int seen;
    struct MHD_Response *resp = cls;

    (void)url;
    (void)method;
    (void)version;
    (void)upload_data;
    if (!*con_cls) {
        *con_cls = &seen;
        return MHD_YES;
    }
    if (*upload_data_size) {
        *upload_data_size = 0; /* consume and discard the body */
        return MHD_YES;
    }
    return MHD_queue_response(conn, MHD_HTTP_CREATED, resp);
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v > max)
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    unsigned long port = 0, threads = 8;
    struct sockaddr_in sa;
    struct sigaction sact;
    sigset_t block, waitmask;
    struct MHD_Response *resp;
    struct MHD_Daemon *d;
    const union MHD_DaemonInfo *info;

    if (argc > 3 || (argc > 1 && parse_uint(argv[1], 65535, &port) != 0) ||
        (argc > 2 && (parse_uint(argv[2], 256, &threads) != 0 || threads == 0))) {
        fprintf(stderr, "usage: %s [PORT (0 = any free port) [THREADS (1..256, default 8)]]\n",
                argv[0]);
        return 2;
    }

    memset(&sact, 0, sizeof(sact));
    sact.sa_handler = on_signal;
    sigaction(SIGTERM, &sact, NULL);
    sigaction(SIGINT, &sact, NULL);
    /* Block the signals before the pool starts, so its threads inherit the
     * mask and only main, in sigsuspend(), ever runs the handler. */
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    pthread_sigmask(SIG_BLOCK, &block, &waitmask);

    /* One response object shared by every request: the body is static. */
    resp = MHD_create_response_from_buffer(sizeof(reply_body) - 1, (void *)reply_body,
                                           MHD_RESPMEM_PERSISTENT);
    if (!resp || MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json") !=
                     MHD_YES) {
        fprintf(stderr, "bench-bare-mhd: cannot create the response\n");
        return 1;
    }

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    d = MHD_start_daemon(
        MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, (uint16_t)port, NULL, NULL, on_request,
        resp, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)threads,
        MHD_OPTION_CONNECTION_LIMIT, 1024u, MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "bench-bare-mhd: cannot listen on 127.0.0.1:%lu\n", port);
        MHD_destroy_response(resp);
        return 1;
    }
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    printf("port %u\n", info ? (unsigned int)info->port : (unsigned int)port);
    fflush(stdout);

    while (!stop_flag)
        sigsuspend(&waitmask);

    MHD_stop_daemon(d);
    MHD_destroy_response(resp);
    return 0;
}
