/*
 * The application layer (libs/app): what every executable of the suite,
 * daemon or tool, does the same way. It sits between the executables and
 * libeventbus: services/ and tools/ include it, it includes only
 * libeventbus, and libeventbus knows nothing of it.
 *
 * Unlike libeventbus, which never prints or exits, this layer prints to the
 * terminal and decides exit codes: that is its reason to exist.
 *
 * cli: reading the settings. --help and --version exit 0, a bad flag or
 * setting exits 2 with one line on stderr naming it, before any connection.
 */
#ifndef EVENTBUS_APP_CLI_H
#define EVENTBUS_APP_CLI_H

#include "eventbus/config.h"

/* Exit codes of every executable of the suite. */
#define APP_EXIT_OK    0
#define APP_EXIT_FAIL  1 /* a runtime failure after start-up */
#define APP_EXIT_USAGE 2 /* bad flag or setting, before any connection */
#define APP_CONTINUE   -1

/* Parses settings for prog. Returns APP_CONTINUE to go on, or the exit code
 * after printing help, the version or the error. */
int app_cli_parse(const eb_conf_program_t *prog, int argc, char **argv, eb_conf_args_t *args);

/* Prints "<prog>: <message>" on stderr; for start-up errors before logging. */
void app_cli_error(const char *prog, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* EVENTBUS_APP_CLI_H */
