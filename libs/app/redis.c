/*
 * REDIS_URL and REDIS_TIMEOUT_MS -> eb_redis_addr_t.
 */
#include "eventbus/app/redis.h"

eb_err_t app_redis_addr(const eb_common_conf_t *common, eb_redis_addr_t *addr, char *errstr,
                        size_t errstr_size)
{
    eb_err_t err = eb_redis_url_parse(common->redis_url, addr, errstr, errstr_size);

    if (err == EB_OK && common->redis_timeout_ms > 0)
        addr->timeout_ms = (int)common->redis_timeout_ms;
    return err;
}
