/*
 * The fault-injection control socket that kafka-dev-broker and kafka-local
 * both serve: a UNIX stream socket taking one command per line, each
 * answered with one line ("ok", "ok <value>" or "error: <why>").
 *
 * The protocol is the tools' own; what a command does is up to the tool,
 * which hands a callback to tool_control_serve(). Everything runs on the
 * calling thread: a command that takes long (kafka-local waits for a broker
 * to come back) holds the other clients until it answers, which keeps the
 * tool single-threaded and the commands ordered.
 */
#ifndef TOOLS_COMMON_CONTROL_H
#define TOOLS_COMMON_CONTROL_H

#include <stddef.h>

/* Longest command line accepted; a longer one closes the connection. */
#define TOOL_CONTROL_LINE_MAX 512

/* Runs one command. line is the command without its newline, writable
 * (strtok_r may cut it); the answer goes into answer (size bytes, no
 * newline). */
typedef void tool_control_cb_t(char *line, char *answer, size_t size, void *opaque);

/* Called about every 200 ms and after each command, for work the tool does
 * between commands (kafka-local reaps its JVMs). May be NULL. */
typedef void tool_control_tick_t(void *opaque);

/* Binds and listens on path (an existing socket file there is replaced).
 * Returns the listening fd, or -1 with errno set. */
int tool_control_listen(const char *path);

/* Serves clients of lfd until eb_stop_flag is set; lfd may be -1 (no
 * socket: only ticks). Returns with every client closed; lfd stays open. */
void tool_control_serve(int lfd, tool_control_cb_t *cb, tool_control_tick_t *tick, void *opaque);

/* Parses a command's node argument: "all" as -1, or a node id within
 * 1..nodes. Returns 1 when valid, else 0. */
int tool_control_node(const char *arg, int nodes, int *id);

/* 1 when topic is one of the suite's topics (app_topics): commands refuse
 * typos rather than create or touch another topic. */
int tool_control_topic(const char *topic);

/* Closes lfd (when >= 0) and removes the socket file. */
void tool_control_close(int lfd, const char *path);

#endif /* TOOLS_COMMON_CONTROL_H */
