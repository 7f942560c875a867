/*
 * The order status updater: order-service's consumer of payment events.
 *
 * Runs an eb_consumer (group "order-service", topics payment-processed and
 * payment-failed) on its own thread and moves each order from PENDING to
 * PAID or PAYMENT_FAILED. The transition is a compare-and-set in Redis, so a
 * repeated event changes nothing.
 */
#ifndef SERVICES_ORDER_STATUS_H
#define SERVICES_ORDER_STATUS_H

#include "eventbus/consumer.h"
#include "lifecycle.h"

/* The handler (eb_handler_t; opaque NULL or a const int64_t *, the
 * retention ORDER_RETENTION_S in seconds, read-only and alive as long as
 * the consumer). An event for an unknown order is dead-lettered with the
 * reason, unless it is older than the retention (order_missing_expired():
 * its order may have expired), which is settled with a log line and no
 * write. An event contradicting a final status changes nothing. */
eb_err_t order_status_handle(eb_work_t *w, void *opaque);

typedef struct order_status_s order_status_t;

/* Lifecycle, from the main thread, as for the relay (eventbus/outbox.h):
 * order_status_new() -> order_status_start() -> (eb_stop_flag set) ->
 * order_status_destroy(). */

/* Creates the consumer (taking both confs in every case). Starts no
 * thread. Returns NULL with the reason in errstr. */
order_status_t *order_status_new(rd_kafka_conf_t *cconf, rd_kafka_conf_t *pconf,
                                 const eb_consumer_opts_t *opts, char *errstr, size_t errstr_size);

/* Starts the updater's thread, which runs the consumer until eb_stop_flag
 * is set, then commits its stored offsets and leaves the group. Returns 0,
 * or -1 when the thread cannot be started. */
int order_status_start(order_status_t *s);

/* Returns 1 if the updater stopped on a fatal error. Any thread. */
int order_status_failed(order_status_t *s);

/* The consumer, for readiness probes. */
eb_consumer_t *order_status_consumer(order_status_t *s);

/* Joins the thread (if started), flushes the producer and frees
 * everything. NULL is a no-op. */
void order_status_destroy(order_status_t *s);

/* The orderId of event ev (of kind e), from its validated data, into
 * order_id[SVC_ID_MAX + 1]. EB_ERR_INVALID with the reason in errstr when
 * the data is not valid for its type; EB_ERR_NOMEM. */
eb_err_t order_event_order_id(const eb_event_t *ev, order_event_t e, char *order_id, char *errstr,
                              size_t errstr_size);

#endif /* SERVICES_ORDER_STATUS_H */
