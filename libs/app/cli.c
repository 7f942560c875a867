/*
 * Settings from flags and environment, --help and --version.
 */
#include <stdarg.h>
#include <stdio.h>

#include <librdkafka/rdkafka.h>

#include "eventbus/app/cli.h"

void app_cli_error(const char *prog, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int app_cli_parse(const eb_conf_program_t *prog, int argc, char **argv, eb_conf_args_t *args)
{
    char errstr[512];

    if (eb_config_parse(prog, argc, argv, args, errstr, sizeof(errstr)) != EB_OK) {
        app_cli_error(prog->name, "%s", errstr);
        return APP_EXIT_USAGE;
    }
    if (args->action == EB_CONF_ACTION_HELP) {
        eb_config_write_usage(prog, stdout);
        return APP_EXIT_OK;
    }
    if (args->action == EB_CONF_ACTION_MARKDOWN) {
        eb_config_write_markdown(prog, stdout);
        return APP_EXIT_OK;
    }
    if (args->action == EB_CONF_ACTION_VERSION) {
        printf("%s %s (librdkafka %s)\n", prog->name, EB_VERSION, rd_kafka_version_str());
        return APP_EXIT_OK;
    }
    return APP_CONTINUE;
}
