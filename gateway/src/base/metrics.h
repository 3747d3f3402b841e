/*
 * gw/metrics.h - counters, gauges and histograms, updated lock-free from
 * every worker thread and rendered in the Prometheus text exposition format
 * (version 0.0.4) for GET /metrics on the ops listener.
 *
 * The one idea: everything that can grow is bounded up front.  A metric (a
 * "family": name, help, type, label NAMES, histogram buckets) is registered
 * once, normally at start-up.  Each distinct tuple of label VALUES is a
 * series, created on first use and never removed, so a series handle stays
 * valid for the life of its registry: hot paths resolve a handle once
 * (gw_metric_series) and then update it with a single atomic operation.
 * The convenience forms that take label values (gw_metric_inc_labels, ...)
 * resolve on every call: a lock-free hash lookup; only the first use of a
 * tuple takes the metric's creation mutex.  A metric holds at most its
 * series cap (GW_METRICS_SERIES_MAX); past it, and for any label value that
 * fails validation, updates go to one overflow series whose values are all
 * "_other", and gw_metrics_series_dropped_total{metric,reason} counts each
 * such redirected resolution.
 *
 * ======================================================================
 *  LABEL VALUES ARE PUBLISHED TO ANYONE WHO CAN SCRAPE /metrics, AND EVERY
 *  DISTINCT VALUE COSTS MEMORY FOREVER.  NEVER put in a label value:
 *    - identity numbers, names, subject_refs, case_refs, query ids,
 *      request ids, certificate serials or any other per-person or
 *      per-request value;
 *    - tokens, API keys, passwords, secrets of any kind;
 *    - raw request paths or query strings, URLs, agency response text,
 *      error messages.
 *  DO use values from a small closed set: route PATTERNS
 *  ("/v1/adapters/{id}"), adapter ids, fact names, purposes after
 *  validation, outcome enum names, HTTP status codes, listener names.
 *  docs/metrics.md lists every metric and the values each label may take.
 * ======================================================================
 *
 * Label values must be 1..GW_METRICS_LABEL_VALUE_MAX bytes of printable
 * ASCII (0x20-0x7e); they are escaped on output as the format requires.
 * Metric names match [a-zA-Z_:][a-zA-Z0-9_:]*, label names
 * [a-zA-Z_][a-zA-Z0-9_]* without a "__" prefix, and registration enforces
 * the naming conventions promtool checks (counters end in "_total", nothing
 * else does; no name ends in "_bucket", "_sum" or "_count"; no label is
 * named "le" or "quantile").  Durations are observed in seconds, sizes in bytes.
 *
 * Thread rules:
 *   - Updates (gw_metric_inc ... gw_metric_observe, their _labels forms)
 *     and gw_metric_series: any thread, any time; never block on an
 *     existing series.
 *   - Registration, gw_metric_bind and gw_metrics_render: any thread; they
 *     serialize on the registry's mutex.  Registration is meant for
 *     start-up.  A bound function runs inside gw_metrics_render on the
 *     rendering thread with that mutex held: it must be thread-safe with
 *     respect to the data it reads, quick, and must not register, bind or
 *     render (that would deadlock); updating metrics from it is allowed.
 *   - gw_metrics_free: when no other thread uses the registry or any of its
 *     handles any more.
 * Floating-point output assumes the "C" LC_NUMERIC locale (the gateway
 * never calls setlocale).
 */
#ifndef GW_METRICS_H
#define GW_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define GW_METRICS_NAME_MAX 64          /* bytes of a metric or label name */
#define GW_METRICS_HELP_MAX 512         /* bytes of a help text */
#define GW_METRICS_LABELS_MAX 8         /* label names of one metric */
#define GW_METRICS_LABEL_VALUE_MAX 64   /* bytes of one label value */
#define GW_METRICS_SERIES_MAX 1024      /* series of one metric, overflow not counted */
#define GW_METRICS_BUCKETS_MAX 32       /* finite bucket bounds of one histogram */
#define GW_METRICS_MAX 256              /* metrics of one registry */

/* The value of every label of the overflow series. */
#define GW_METRICS_OTHER "_other"
/* The metric counting resolutions redirected to an overflow series; labels
 * metric (the metric's name) and reason ("limit": the series cap was
 * reached; "invalid": a label value failed validation).  Every registry
 * has it; it is rendered once something was dropped. */
#define GW_METRICS_DROPPED_NAME "gw_metrics_series_dropped_total"
/* The Content-Type of gw_metrics_render's output. */
#define GW_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* A NULL-terminated list of label names or values, for the arguments
 * below: GW_LABELS("route", "status"). */
#define GW_LABELS(...) ((const char *const[]){__VA_ARGS__, NULL})

struct gw_metrics;          /* a registry */
struct gw_metric;           /* one registered metric */
struct gw_metric_series;    /* one series of a metric: a stable handle */

enum gw_metrics_result {
  GW_METRICS_OK = 0,
  GW_METRICS_BAD_NAME,      /* metric name: syntax, length or convention */
  GW_METRICS_BAD_LABEL,     /* label name: syntax, reserved, duplicate, too many;
                               or binding an overflow series */
  GW_METRICS_BAD_HELP,      /* empty, too long, or not printable ASCII */
  GW_METRICS_BAD_BUCKETS,   /* none, too many, not finite, not increasing */
  GW_METRICS_BAD_TYPE,      /* gw_metric_bind on a histogram */
  GW_METRICS_DUPLICATE,     /* a metric of that name exists */
  GW_METRICS_FULL           /* GW_METRICS_MAX metrics registered */
};

/* A stable lower-case name for a result ("ok", "bad_name", ...). */
const char *gw_metrics_result_name(enum gw_metrics_result r);

/* ---- registries ------------------------------------------------------- */

/* A new empty registry (holding only GW_METRICS_DROPPED_NAME) whose metrics
 * take at most series_max series each: 0 means GW_METRICS_SERIES_MAX,
 * larger values are clamped to it (tests use small caps).  Never NULL; the
 * caller owns it and frees it with gw_metrics_free(). */
struct gw_metrics *gw_metrics_new(size_t series_max)
  __attribute__((warn_unused_result));

/* Frees a registry with every metric and series in it; all handles become
 * invalid.  NULL is a no-op.  Never call it on gw_metrics_default(). */
void gw_metrics_free(struct gw_metrics *r);

/* The process-wide registry the gateway's subsystems register into and the
 * ops listener renders.  Created on first call (thread-safe), lives until
 * the process exits. */
struct gw_metrics *gw_metrics_default(void);

/* ---- registration ------------------------------------------------------ */

/* Registers a metric named `name` with help text `help` (both copied) and
 * label names `labels` (a NULL-terminated list, copied; NULL for none).
 * On success sets *out to a handle owned by the registry and valid for its
 * life; on error sets *out to NULL and nothing is registered.  A metric
 * without labels has its one series from the start (rendered as 0). */
enum gw_metrics_result gw_metrics_counter(struct gw_metrics *r, const char *name,
                                          const char *help, const char *const *labels,
                                          struct gw_metric **out)
  __attribute__((warn_unused_result));

enum gw_metrics_result gw_metrics_gauge(struct gw_metrics *r, const char *name,
                                        const char *help, const char *const *labels,
                                        struct gw_metric **out)
  __attribute__((warn_unused_result));

/* A histogram with the n_bounds finite, strictly increasing upper bounds
 * `bounds` (copied); the +Inf bucket is implicit.  A value equal to a bound
 * is counted in that bound's bucket (le means "less than or equal"). */
enum gw_metrics_result gw_metrics_histogram(struct gw_metrics *r, const char *name,
                                            const char *help, const char *const *labels,
                                            const double *bounds, size_t n_bounds,
                                            struct gw_metric **out)
  __attribute__((warn_unused_result));

/* A gauge without labels whose value is fn(arg), read at render time (cache
 * bytes, open connections...).  Same as gw_metrics_gauge plus gw_metric_bind
 * on its series; `arg` must stay valid for the registry's life (or until
 * the series is unbound). */
enum gw_metrics_result gw_metrics_gauge_func(struct gw_metrics *r, const char *name,
                                             const char *help,
                                             double (*fn)(void *arg), void *arg,
                                             struct gw_metric **out)
  __attribute__((warn_unused_result));

/* ---- series ------------------------------------------------------------- */

/* The series of `m` for `values`: a NULL-terminated list with exactly one
 * value per label name, in registration order (NULL or empty for a metric
 * without labels).  Creates the series on first use.  Never returns NULL
 * for a non-NULL `m`: a wrong number of values, an invalid value, or a full
 * metric yields the overflow series (and counts in
 * GW_METRICS_DROPPED_NAME).  The handle is owned by the registry, valid for
 * its life; cache it on hot paths.  NULL `m` gives NULL. */
struct gw_metric_series *gw_metric_series(struct gw_metric *m, const char *const *values);

/* Binds a counter or gauge series to fn(arg), called at render time in
 * place of the stored value (which updates then no longer show).  A counter
 * function must never decrease.  fn == NULL unbinds: once that returns, fn
 * is not called again and arg may be freed.  Refuses NULL and histograms
 * (GW_METRICS_BAD_TYPE) and overflow series (GW_METRICS_BAD_LABEL). */
enum gw_metrics_result gw_metric_bind(struct gw_metric_series *s,
                                      double (*fn)(void *arg), void *arg)
  __attribute__((warn_unused_result));

/* ---- updates: lock-free, any thread; NULL handles are no-ops ------------
 * Calling an update of the wrong type (gw_metric_set on a counter...) is a
 * programming error: it asserts in debug builds and does nothing otherwise. */

/* Counters: add one, or n. */
void gw_metric_inc(struct gw_metric_series *s);
void gw_metric_add(struct gw_metric_series *s, uint64_t n);

/* Gauges: set to v, or add d (negative to decrease). */
void gw_metric_set(struct gw_metric_series *s, double v);
void gw_metric_gauge_add(struct gw_metric_series *s, double d);

/* Histograms: count v in the first bucket whose bound is >= v (else +Inf)
 * and add it to the sum.  NaN is ignored. */
void gw_metric_observe(struct gw_metric_series *s, double v);

/* The same, resolving the series from label values on each call. */
void gw_metric_inc_labels(struct gw_metric *m, const char *const *values);
void gw_metric_add_labels(struct gw_metric *m, const char *const *values, uint64_t n);
void gw_metric_set_labels(struct gw_metric *m, const char *const *values, double v);
void gw_metric_gauge_add_labels(struct gw_metric *m, const char *const *values, double d);
void gw_metric_observe_labels(struct gw_metric *m, const char *const *values, double v);

/* ---- reading (tests, health endpoints) ---------------------------------- */

/* The stored value of a counter / gauge series (bound functions are not
 * called); 0 for NULL or the wrong type. */
uint64_t gw_metric_counter_value(const struct gw_metric_series *s);
double gw_metric_gauge_value(const struct gw_metric_series *s);

/* A histogram series' observation count and sum; 0 for NULL or the wrong
 * type.  Read without a snapshot: under concurrent updates the two may be
 * a few observations apart. */
uint64_t gw_metric_histogram_count(const struct gw_metric_series *s);
double gw_metric_histogram_sum(const struct gw_metric_series *s);

/* ---- exposition ---------------------------------------------------------- */

/* Renders every metric of `r` that has a series, in the text format 0.0.4
 * (Content-Type GW_METRICS_CONTENT_TYPE): "# HELP" and "# TYPE" lines,
 * metrics sorted by name, series sorted by label values (byte order, label
 * by label), histograms as cumulative _bucket{le=...} lines ending with
 * le="+Inf", then _sum and _count (always equal to the +Inf bucket).
 * Bound functions are called here.  On success *out is a NUL-terminated
 * buffer of *len bytes (plus the NUL) that the caller frees with gw_free().
 * Cannot fail for a valid registry (memory exhaustion aborts, see
 * gw/alloc.h). */
enum gw_metrics_result gw_metrics_render(struct gw_metrics *r, char **out, size_t *len)
  __attribute__((warn_unused_result));

#endif
