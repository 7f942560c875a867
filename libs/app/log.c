/*
 * eb_log configured from the Log section's settings.
 */
#include <strings.h>

#include "eventbus/app/log.h"
#include "eventbus/log.h"

void app_log_setup(const char *service, eb_common_conf_t *common)
{
    eb_log_level_t level = EB_LOG_INFO;

    eb_common_conf_finish(common);
    if (common->log_level)
        eb_log_level_parse(common->log_level, &level);
    eb_log_init(service, common->instance_id, level,
                !common->log_format || strcasecmp(common->log_format, "json") == 0);
}
