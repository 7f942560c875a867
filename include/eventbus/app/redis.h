/*
 * The Redis address of an executable of the suite (see cli.h for the layer).
 */
#ifndef EVENTBUS_APP_REDIS_H
#define EVENTBUS_APP_REDIS_H

#include <stddef.h>

#include "eventbus/config.h"
#include "eventbus/redis.h"

/* The Redis address from REDIS_URL and REDIS_TIMEOUT_MS. Returns EB_OK, or
 * the error with the reason (naming REDIS_URL) in errstr. */
eb_err_t app_redis_addr(const eb_common_conf_t *common, eb_redis_addr_t *addr, char *errstr,
                        size_t errstr_size);

#endif /* EVENTBUS_APP_REDIS_H */
