/*
 * Prometheus registry.
 *
 * Families live in a global list; each family keeps its series in a list
 * that only grows. Creating a series takes the family's mutex; updating one
 * is a relaxed atomic add (counters, histogram buckets) or a compare-and-swap
 * on the bits of a double (gauges, sums). Rendering walks the lists under the
 * registry mutex; a series published with a release store is complete before
 * a reader can reach it.
 */
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eventbus/metrics.h"

#define MAX_LABELS 4

typedef enum { KIND_COUNTER, KIND_GAUGE, KIND_HISTOGRAM } kind_t;

struct eb_series_s {
    struct eb_series_s *_Atomic next;
    char *values[MAX_LABELS];
    _Atomic uint64_t bits;     /* double: counter or gauge value, histogram sum */
    _Atomic uint64_t count;    /* histogram observations */
    _Atomic uint64_t *buckets; /* histogram, per bucket (not cumulative) */
    atomic_int hidden;         /* left out of the output until updated again */
    const eb_metric_t *family;
};

struct eb_metric_s {
    struct eb_metric_s *next;
    const char *name, *help;
    kind_t kind;
    char *labels[MAX_LABELS];
    int nlabels;
    const double *bounds;
    size_t nbounds;
    pthread_mutex_t lock;
    eb_series_t *_Atomic series;
};

const double eb_metrics_latency_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                             0.1,    0.25,  0.5,    1,     2.5,  5,     10};
const size_t eb_metrics_latency_bucket_count =
    sizeof(eb_metrics_latency_buckets) / sizeof(eb_metrics_latency_buckets[0]);

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static eb_metric_t *registry;

static uint64_t d2u(double d)
{
    uint64_t u;

    memcpy(&u, &d, sizeof(u));
    return u;
}

static double u2d(uint64_t u)
{
    double d;

    memcpy(&d, &u, sizeof(d));
    return d;
}

static void atomic_add_double(_Atomic uint64_t *bits, double v)
{
    uint64_t old = atomic_load_explicit(bits, memory_order_relaxed);

    while (!atomic_compare_exchange_weak_explicit(bits, &old, d2u(u2d(old) + v),
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
}

static eb_series_t *series_new(eb_metric_t *m, const char *const *values)
{
    eb_series_t *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    s->family = m;
    atomic_init(&s->bits, d2u(0.0));
    for (int i = 0; i < m->nlabels; i++) {
        s->values[i] = strdup(values[i] ? values[i] : "");
        if (!s->values[i])
            goto fail;
    }
    if (m->kind == KIND_HISTOGRAM) {
        s->buckets = calloc(m->nbounds, sizeof(*s->buckets));
        if (!s->buckets)
            goto fail;
    }
    return s;
fail:
    for (int i = 0; i < m->nlabels; i++)
        free(s->values[i]);
    free(s);
    return NULL;
}

static eb_metric_t *family_new(const char *name, const char *help, kind_t kind, const char *labels,
                               const double *bounds, size_t nbounds)
{
    eb_metric_t *m;

    pthread_mutex_lock(&registry_lock);
    for (m = registry; m; m = m->next)
        if (strcmp(m->name, name) == 0)
            goto out;
    m = calloc(1, sizeof(*m));
    if (!m)
        goto out;
    m->name = name;
    m->help = help;
    m->kind = kind;
    m->bounds = bounds;
    m->nbounds = nbounds;
    pthread_mutex_init(&m->lock, NULL);
    for (const char *p = labels; p && *p && m->nlabels < MAX_LABELS;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);

        m->labels[m->nlabels++] = strndup(p, len);
        p = comma ? comma + 1 : NULL;
    }
    if (m->nlabels == 0) /* an unlabelled family shows its zero from the start */
        atomic_store(&m->series, series_new(m, NULL));
    m->next = registry;
    registry = m;
out:
    pthread_mutex_unlock(&registry_lock);
    return m;
}

eb_metric_t *eb_metrics_counter(const char *name, const char *help, const char *labels)
{
    return family_new(name, help, KIND_COUNTER, labels, NULL, 0);
}

eb_metric_t *eb_metrics_gauge(const char *name, const char *help, const char *labels)
{
    return family_new(name, help, KIND_GAUGE, labels, NULL, 0);
}

eb_metric_t *eb_metrics_histogram(const char *name, const char *help, const char *labels,
                                  const double *buckets, size_t bucket_count)
{
    return family_new(name, help, KIND_HISTOGRAM, labels, buckets, bucket_count);
}

static int series_matches(const eb_series_t *s, int n, const char *const *values)
{
    for (int i = 0; i < n; i++)
        if (strcmp(s->values[i], values[i] ? values[i] : "") != 0)
            return 0;
    return 1;
}

eb_series_t *eb_metric_series(eb_metric_t *m, ...)
{
    const char *values[MAX_LABELS] = {0};
    eb_series_t *s;
    va_list ap;

    if (!m)
        return NULL;
    va_start(ap, m);
    for (int i = 0; i < m->nlabels; i++)
        values[i] = va_arg(ap, const char *);
    va_end(ap);

    for (s = atomic_load_explicit(&m->series, memory_order_acquire); s;
         s = atomic_load_explicit(&s->next, memory_order_acquire))
        if (series_matches(s, m->nlabels, values))
            return s;

    pthread_mutex_lock(&m->lock);
    for (s = atomic_load(&m->series); s; s = atomic_load(&s->next))
        if (series_matches(s, m->nlabels, values))
            goto out;
    s = series_new(m, values);
    if (s) {
        atomic_store_explicit(&s->next, atomic_load(&m->series), memory_order_relaxed);
        atomic_store_explicit(&m->series, s, memory_order_release);
    }
out:
    pthread_mutex_unlock(&m->lock);
    return s;
}

/* An update brings a hidden series back (read first: no store on the hot path). */
static void show(eb_series_t *s)
{
    if (atomic_load_explicit(&s->hidden, memory_order_relaxed))
        atomic_store_explicit(&s->hidden, 0, memory_order_relaxed);
}

void eb_series_add(eb_series_t *s, double v)
{
    if (!s)
        return;
    show(s);
    atomic_add_double(&s->bits, v);
}

void eb_series_set(eb_series_t *s, double v)
{
    if (!s)
        return;
    show(s);
    atomic_store_explicit(&s->bits, d2u(v), memory_order_relaxed);
}

void eb_series_hide(eb_series_t *s)
{
    if (s)
        atomic_store_explicit(&s->hidden, 1, memory_order_relaxed);
}

void eb_series_observe(eb_series_t *s, double v)
{
    const eb_metric_t *m;
    size_t i;

    if (!s || !s->buckets)
        return;
    show(s);
    m = s->family;
    for (i = 0; i < m->nbounds && v > m->bounds[i]; i++)
        ;
    if (i < m->nbounds)
        atomic_fetch_add_explicit(&s->buckets[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
    atomic_add_double(&s->bits, v);
}

double eb_series_value(const eb_series_t *s)
{
    if (!s || s->buckets) /* a histogram has no single value */
        return 0;
    return u2d(atomic_load_explicit(&((eb_series_t *)s)->bits, memory_order_relaxed));
}

/* ---- rendering ---------------------------------------------------------- */

typedef struct buf_s {
    char *p;
    size_t len, cap;
    int oom;
} buf_t;

static void buf_printf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_printf(buf_t *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (b->oom)
        return;
    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = (b->cap + (size_t)n + 1) * 2;
        char *np = realloc(b->p, cap);

        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
}

/* Label values escape backslash, double quote and newline. */
static void buf_label_value(buf_t *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\')
            buf_printf(b, "\\\\");
        else if (*v == '"')
            buf_printf(b, "\\\"");
        else if (*v == '\n')
            buf_printf(b, "\\n");
        else
            buf_printf(b, "%c", *v);
    }
}

/* Writes {a="x",b="y"[,le="..."]} or nothing when there are no labels. */
static void buf_labels(buf_t *b, const eb_metric_t *m, const eb_series_t *s, const char *le)
{
    if (m->nlabels == 0 && !le)
        return;
    buf_printf(b, "{");
    for (int i = 0; i < m->nlabels; i++) {
        buf_printf(b, "%s%s=\"", i ? "," : "", m->labels[i]);
        buf_label_value(b, s->values[i]);
        buf_printf(b, "\"");
    }
    if (le)
        buf_printf(b, "%sle=\"%s\"", m->nlabels ? "," : "", le);
    buf_printf(b, "}");
}

static void buf_number(buf_t *b, double v)
{
    if (v == floor(v) && fabs(v) < 1e15)
        buf_printf(b, " %.0f\n", v);
    else
        buf_printf(b, " %.17g\n", v);
}

static void render_family(buf_t *b, const eb_metric_t *m)
{
    static const char *const type_names[] = {"counter", "gauge", "histogram"};

    buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help, m->name, type_names[m->kind]);
    for (eb_series_t *s = atomic_load_explicit(&((eb_metric_t *)m)->series, memory_order_acquire);
         s; s = atomic_load_explicit(&s->next, memory_order_acquire)) {
        if (atomic_load_explicit(&s->hidden, memory_order_relaxed))
            continue;
        if (m->kind != KIND_HISTOGRAM) {
            buf_printf(b, "%s", m->name);
            buf_labels(b, m, s, NULL);
            buf_number(b, u2d(atomic_load_explicit(&s->bits, memory_order_relaxed)));
            continue;
        }
        uint64_t cumulative = 0;
        char le[32];

        for (size_t i = 0; i < m->nbounds; i++) {
            cumulative += atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
            snprintf(le, sizeof(le), "%g", m->bounds[i]);
            buf_printf(b, "%s_bucket", m->name);
            buf_labels(b, m, s, le);
            buf_printf(b, " %" PRIu64 "\n", cumulative);
        }
        /* +Inf and _count read the same counter, so they always agree. */
        uint64_t count = atomic_load_explicit(&s->count, memory_order_relaxed);
        if (count < cumulative)
            count = cumulative;
        buf_printf(b, "%s_bucket", m->name);
        buf_labels(b, m, s, "+Inf");
        buf_printf(b, " %" PRIu64 "\n%s_sum", count, m->name);
        buf_labels(b, m, s, NULL);
        buf_number(b, u2d(atomic_load_explicit(&s->bits, memory_order_relaxed)));
        buf_printf(b, "%s_count", m->name);
        buf_labels(b, m, s, NULL);
        buf_printf(b, " %" PRIu64 "\n", count);
    }
}

char *eb_metrics_render(size_t *len)
{
    buf_t b = {NULL, 0, 0, 0};

    buf_printf(&b, "%s", "");
    pthread_mutex_lock(&registry_lock);
    /* The registry is a stack; render in registration order for stable
     * output by walking it into a small array first. */
    size_t n = 0;
    for (eb_metric_t *m = registry; m; m = m->next)
        n++;
    const eb_metric_t **order = calloc(n ? n : 1, sizeof(*order));
    if (order) {
        size_t i = n;
        for (eb_metric_t *m = registry; m; m = m->next)
            order[--i] = m;
        for (i = 0; i < n; i++)
            render_family(&b, order[i]);
        free(order);
    } else {
        b.oom = 1;
    }
    pthread_mutex_unlock(&registry_lock);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    if (len)
        *len = b.len;
    return b.p;
}

void eb_metrics_reset(void)
{
    pthread_mutex_lock(&registry_lock);
    while (registry) {
        eb_metric_t *m = registry;
        eb_series_t *s = atomic_load(&m->series);

        registry = m->next;
        while (s) {
            eb_series_t *next = atomic_load(&s->next);

            for (int i = 0; i < m->nlabels; i++)
                free(s->values[i]);
            free(s->buckets);
            free(s);
            s = next;
        }
        for (int i = 0; i < m->nlabels; i++)
            free(m->labels[i]);
        pthread_mutex_destroy(&m->lock);
        free(m);
    }
    pthread_mutex_unlock(&registry_lock);
}
