/*
 * eventbus error codes.
 *
 * Every fallible call in the library returns an eb_err_t and, where a reason
 * helps, fills a caller-supplied errstr buffer (the rd_kafka_conf_set habit).
 * Whether a failure is worth retrying is a property of the error code alone:
 * the consumer looks only at eb_err_is_retriable() and eb_err_is_infra() to
 * choose between retry, wait and dead letter.
 */
#ifndef EVENTBUS_ERROR_H
#define EVENTBUS_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum eb_err_e {
    EB_OK = 0,

    /* Permanent: the same input will fail the same way every time. */
    EB_ERR_INVALID = 1,   /* invalid argument, setting or request */
    EB_ERR_BAD_EVENT = 2, /* not JSON, not a CloudEvent, unknown type, invalid data */
    EB_ERR_NOT_FOUND = 3, /* the thing asked for does not exist */
    EB_ERR_CONFLICT = 4,  /* the request contradicts stored state */

    /* Retriable handler failure: retried with backoff RETRY_MAX times, then
     * dead-lettered as eventbus.RetriesExhausted. */
    EB_ERR_TRANSIENT = 10,

    /* Infrastructure failure: the retry machinery itself is impaired. The
     * consumer waits for it to come back, never counts it as an attempt and
     * never dead-letters because of it. */
    EB_ERR_REDIS = 20,
    EB_ERR_KAFKA = 21,

    /* Local resource failures: retriable like EB_ERR_TRANSIENT. */
    EB_ERR_NOMEM = 30,
    EB_ERR_IO = 31
} eb_err_t;

/* Returns a static, human-readable name for err (never NULL). */
const char *eb_err2str(eb_err_t err);

/* Returns 1 if a later attempt may succeed: transient, local resource
 * (I/O, memory) or infrastructure failures. */
int eb_err_is_retriable(eb_err_t err);

/* Returns 1 if err means Redis or Kafka is unavailable rather than that the
 * work itself failed. */
int eb_err_is_infra(eb_err_t err);

#ifdef __cplusplus
}
#endif
#endif /* EVENTBUS_ERROR_H */
