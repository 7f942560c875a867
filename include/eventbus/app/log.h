/*
 * Log set-up for an executable of the suite (see cli.h for the layer).
 */
#ifndef EVENTBUS_APP_LOG_H
#define EVENTBUS_APP_LOG_H

#include "eventbus/config.h"

/* Completes the common settings (INSTANCE_ID) and configures eb_log from
 * LOG_LEVEL and LOG_FORMAT. Call once, after app_cli_parse(). */
void app_log_setup(const char *service, eb_common_conf_t *common);

#endif /* EVENTBUS_APP_LOG_H */
