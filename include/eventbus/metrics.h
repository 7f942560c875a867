/*
 * Prometheus metrics: counters, gauges and histograms with labels, rendered
 * in the text exposition format (version 0.0.4).
 *
 * One process-wide registry, as the Prometheus client libraries have. A
 * metric family is registered once at start-up; eb_metric_series() returns
 * the series for a set of label values, creating it on first use (under a
 * mutex), and callers on hot paths keep that pointer. Updating a series is
 * lock-free (C11 atomics), so any thread may update any series.
 */
#ifndef EVENTBUS_METRICS_H
#define EVENTBUS_METRICS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct eb_metric_s eb_metric_t; /* a family: name, help, type, label names */
typedef struct eb_series_s eb_series_t; /* one labelled time series of a family */

/* Latency buckets in seconds for work that takes milliseconds: 0.5 ms..10 s. */
extern const double eb_metrics_latency_buckets[];
extern const size_t eb_metrics_latency_bucket_count;

/* Registers a family. labels is a comma-separated list ("route,code") or
 * NULL. Registering the same name again returns the existing family. The
 * strings must be static. Returns NULL only when out of memory. The family
 * belongs to the registry: never freed by the caller, valid until
 * eb_metrics_reset(). Any thread (registration takes a lock). */
eb_metric_t *eb_metrics_counter(const char *name, const char *help, const char *labels);
eb_metric_t *eb_metrics_gauge(const char *name, const char *help, const char *labels);
eb_metric_t *eb_metrics_histogram(const char *name, const char *help, const char *labels,
                                  const double *buckets, size_t bucket_count);

/* Returns the series for the label values (as many as the family has label
 * names, given as const char *), creating it on first use. Values are copied.
 * Returns NULL when out of memory or when m is NULL. The series belongs to
 * the registry and stays valid until eb_metrics_reset(): keep the pointer.
 * Any thread. */
eb_series_t *eb_metric_series(eb_metric_t *m, ...);

/* Counter: add v >= 0. Gauge: add any v. NULL is a no-op. */
void eb_series_add(eb_series_t *s, double v);

/* Gauge: set to v. NULL is a no-op. */
void eb_series_set(eb_series_t *s, double v);

/* Leaves the series out of the output until it is updated again: for a
 * gauge that stopped meaning anything here, such as the lag of a partition
 * this instance no longer consumes. NULL is a no-op. */
void eb_series_hide(eb_series_t *s);

/* Histogram: record one observation. NULL is a no-op. */
void eb_series_observe(eb_series_t *s, double v);

/* Current value of a counter or gauge (0 for a histogram); for tests. */
double eb_series_value(const eb_series_t *s);

/* Renders every family into a malloc'd buffer the caller frees (free()).
 * Returns NULL when out of memory. Any thread. */
char *eb_metrics_render(size_t *len);

/* Drops every family; for tests and for valgrind-clean exits. Every
 * family and series pointer is invalid after it, so call it last, after
 * the consumers, producers and servers that update metrics were destroyed.
 * Not thread-safe: call when no other thread uses metrics. */
void eb_metrics_reset(void);

#ifdef __cplusplus
}
#endif
#endif /* EVENTBUS_METRICS_H */
