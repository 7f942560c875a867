/* eb_err_t names and classes. */
#include "eventbus/error.h"

const char *eb_err2str(eb_err_t err)
{
    switch (err) {
    case EB_OK:
        return "success";
    case EB_ERR_INVALID:
        return "invalid";
    case EB_ERR_BAD_EVENT:
        return "bad event";
    case EB_ERR_NOT_FOUND:
        return "not found";
    case EB_ERR_CONFLICT:
        return "conflict";
    case EB_ERR_TRANSIENT:
        return "transient failure";
    case EB_ERR_REDIS:
        return "redis unavailable";
    case EB_ERR_KAFKA:
        return "kafka unavailable";
    case EB_ERR_NOMEM:
        return "out of memory";
    case EB_ERR_IO:
        return "i/o error";
    }
    return "unknown error";
}

int eb_err_is_retriable(eb_err_t err)
{
    /* A full disk or a failed allocation may pass; bad input never will. */
    return err == EB_ERR_TRANSIENT || err == EB_ERR_IO || err == EB_ERR_NOMEM ||
           eb_err_is_infra(err);
}

int eb_err_is_infra(eb_err_t err)
{
    return err == EB_ERR_REDIS || err == EB_ERR_KAFKA;
}
