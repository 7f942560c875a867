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

/* The handler (eb_handler_t): a payment event for an unknown order, or one
 * contradicting a final status, is dead-lettered with the reason. */
eb_err_t order_status_handle(eb_work_t *w, void *opaque);

typedef struct order_status_s order_status_t;

/* Creates the consumer (taking both confs) and starts its thread, which runs
 * until eb_stop_flag is set. Returns NULL with the reason in errstr. */
order_status_t *order_status_new(rd_kafka_conf_t *cconf, rd_kafka_conf_t *pconf,
                                 const eb_consumer_opts_t *opts, char *errstr, size_t errstr_size);

/* Returns 1 if the updater stopped on a fatal error. Any thread. */
int order_status_failed(order_status_t *s);

/* The consumer, for readiness probes. */
eb_consumer_t *order_status_consumer(order_status_t *s);

/* Joins the thread and frees everything. NULL is a no-op. */
void order_status_destroy(order_status_t *s);

#endif /* SERVICES_ORDER_STATUS_H */
