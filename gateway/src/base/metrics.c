/*
 * metrics.c - the metrics registry: metrics, their series, lock-free
 * updates, and the Prometheus text exposition (format 0.0.4).
 *
 * Each metric with labels owns a fixed-size open-addressing table of atomic
 * series pointers, sized at registration for its series cap plus the
 * overflow series at a load factor of at most 3/4, so it never fills and
 * never resizes.  A slot goes from NULL to a series exactly once, under the
 * metric's creation mutex, and never changes again: that is what lets
 * lookups probe without a lock.  A reader that meets NULL knows the series
 * did not exist when it looked, and takes the mutex to create it (looking
 * again first).  Series live until the registry is freed, so handles never
 * dangle.  Values are plain atomics updated with relaxed ordering: they are
 * statistics and publish nothing else.  A gauge and a histogram sum are
 * doubles kept as their bit patterns and added to with compare-exchange; a
 * histogram keeps one counter per bucket (not cumulative) and its count is
 * their sum, so a rendered +Inf bucket always equals _count.
 *
 * It never allocates on the update path except when a series is created,
 * never logs, and never calls back into other subsystems except through the
 * functions bound with gw_metric_bind, at render time.
 */
#include "metrics.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw/alloc.h"

#define REGISTRY_MAGIC 0x4d524547u           /* debug-build invariant checks */
#define METRIC_MAGIC 0x4d4d4554u
#define SERIES_MAGIC 0x4d534552u

/* The dropped-series counter has at most two series (reasons) per metric. */
#define DROPPED_SERIES_MAX (2 * GW_METRICS_MAX)
/* Room for the shortest round-trip text of any double ("-2.2250738585072014e-308"). */
#define DOUBLE_TEXT_MAX 32
/* Digits that make every double round-trip through text. */
#define DOUBLE_DIGITS_MAX 17
/* 2^53: every integer below it is exactly a double. */
#define EXACT_INT_MAX 9007199254740992.0

#define FNV_OFFSET 0xcbf29ce484222325u
#define FNV_PRIME 0x100000001b3u

enum metric_type {
  TYPE_COUNTER = 0,
  TYPE_GAUGE,
  TYPE_HISTOGRAM
};

static const char *const type_names[] = { "counter", "gauge", "histogram" };

struct gw_metric_series {
  unsigned magic;
  struct gw_metric *metric;
  uint64_t hash;
  char **values;                      /* metric->n_labels strings, owned */
  int overflow;                       /* every value is GW_METRICS_OTHER */
  double (*fn)(void *arg);            /* bound function; registry mutex */
  void *fn_arg;
  _Atomic uint64_t value;             /* counter: count; gauge: double bits */
  _Atomic uint64_t sum;               /* histogram: double bits */
  _Atomic uint64_t buckets[];         /* histogram: n_bounds + 1 (+Inf last) */
};

struct gw_metric {
  unsigned magic;
  struct gw_metrics *reg;
  enum metric_type type;
  char *name;
  char *help;
  char *labels[GW_METRICS_LABELS_MAX];
  size_t n_labels;
  double *bounds;                     /* histogram: n_bounds finite, increasing */
  size_t n_bounds;
  size_t series_max;
  pthread_mutex_t lock;               /* series creation */
  _Atomic size_t n_series;            /* created, the overflow series excepted */
  _Atomic(struct gw_metric_series *) *slots;  /* mask + 1 of them */
  size_t mask;
  _Atomic(struct gw_metric_series *) overflow;
  struct gw_metric_series *single;    /* the series of a metric without labels */
};

struct gw_metrics {
  unsigned magic;
  pthread_mutex_t lock;               /* registration, bind, render */
  size_t series_max;
  struct gw_metric *metrics[GW_METRICS_MAX + 1];  /* sorted by name; + dropped */
  size_t n_metrics;
  struct gw_metric *dropped;          /* GW_METRICS_DROPPED_NAME */
};

const char *gw_metrics_result_name(enum gw_metrics_result r)
{
  switch(r) {
  case GW_METRICS_OK: return "ok";
  case GW_METRICS_BAD_NAME: return "bad_name";
  case GW_METRICS_BAD_LABEL: return "bad_label";
  case GW_METRICS_BAD_HELP: return "bad_help";
  case GW_METRICS_BAD_BUCKETS: return "bad_buckets";
  case GW_METRICS_BAD_TYPE: return "bad_type";
  case GW_METRICS_DUPLICATE: return "duplicate";
  case GW_METRICS_FULL: return "full";
  }
  return "unknown";
}

/* ---- doubles as atomic bit patterns --------------------------------------- */

static uint64_t dbl_bits(double d)
{
  uint64_t u;
  memcpy(&u, &d, sizeof(u));
  return u;
}

static double bits_dbl(uint64_t u)
{
  double d;
  memcpy(&d, &u, sizeof(d));
  return d;
}

static void atomic_dbl_add(_Atomic uint64_t *a, double d)
{
  uint64_t old = atomic_load_explicit(a, memory_order_relaxed);
  uint64_t nw;
  do {
    nw = dbl_bits(bits_dbl(old) + d);
  } while(!atomic_compare_exchange_weak_explicit(a, &old, nw, memory_order_relaxed,
                                                 memory_order_relaxed));
}

/* ---- name and value validation ------------------------------------------- */

static int is_alpha_(int c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_digit(int c)
{
  return c >= '0' && c <= '9';
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* (colon only when allow_colon), 1..NAME_MAX bytes. */
static int name_syntax_ok(const char *s, int allow_colon)
{
  size_t len = 0;
  if(!s || !*s)
    return 0;
  for(const char *p = s; *p; p++, len++) {
    int c = (unsigned char)*p;
    if(len == GW_METRICS_NAME_MAX)
      return 0;
    if(!(is_alpha_(c) || (allow_colon && c == ':') || (len > 0 && is_digit(c))))
      return 0;
  }
  return 1;
}

static int ends_with(const char *s, const char *suffix)
{
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && !memcmp(s + n - k, suffix, k);
}

/* The syntax, plus the conventions promtool lints and the suffixes a
 * histogram's samples use (so no two metrics can render the same name). */
static int metric_name_ok(enum metric_type type, const char *name)
{
  if(!name_syntax_ok(name, 1))
    return 0;
  if(ends_with(name, "_total") != (type == TYPE_COUNTER))
    return 0;
  return !ends_with(name, "_bucket") && !ends_with(name, "_sum") && !ends_with(name, "_count");
}

/* Counts a NULL-terminated list of label names into *n and checks each. */
static int label_names_ok(const char *const *labels, size_t *n)
{
  *n = 0;
  if(!labels)
    return 1;
  for(size_t i = 0; labels[i]; i++) {
    if(i == GW_METRICS_LABELS_MAX || !name_syntax_ok(labels[i], 0))
      return 0;
    /* "le" and "quantile" belong to histogram and summary samples */
    if(!strncmp(labels[i], "__", 2) || !strcmp(labels[i], "le") || !strcmp(labels[i], "quantile"))
      return 0;
    for(size_t j = 0; j < i; j++)
      if(!strcmp(labels[i], labels[j]))
        return 0;
    *n = i + 1;
  }
  return 1;
}

/* Printable ASCII, 1..HELP_MAX bytes. */
static int help_ok(const char *help)
{
  size_t len = 0;
  if(!help || !*help)
    return 0;
  for(const unsigned char *p = (const unsigned char *)help; *p; p++, len++)
    if(len == GW_METRICS_HELP_MAX || *p < 0x20 || *p > 0x7e)
      return 0;
  return 1;
}

static int bounds_ok(const double *bounds, size_t n)
{
  if(!bounds || n == 0 || n > GW_METRICS_BUCKETS_MAX)
    return 0;
  for(size_t i = 0; i < n; i++)
    if(!isfinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1])))
      return 0;
  return 1;
}

/* Checks `values` against m (one valid value per label, then NULL) and
 * hashes them on the way (FNV-1a, a NUL after each value).  Returns 0 and
 * sets *hash, or -1. */
static int values_check(const struct gw_metric *m, const char *const *values, uint64_t *hash)
{
  uint64_t h = FNV_OFFSET;
  if(m->n_labels == 0) {
    *hash = h;
    return (!values || !values[0]) ? 0 : -1;
  }
  if(!values)
    return -1;
  for(size_t i = 0; i < m->n_labels; i++) {
    size_t len = 0;
    if(!values[i])
      return -1;
    for(const unsigned char *p = (const unsigned char *)values[i]; *p; p++, len++) {
      if(len == GW_METRICS_LABEL_VALUE_MAX || *p < 0x20 || *p > 0x7e)
        return -1;
      h = (h ^ *p) * FNV_PRIME;
    }
    if(len == 0)
      return -1;
    h *= FNV_PRIME;                   /* the NUL separator: h ^ 0 == h */
  }
  if(values[m->n_labels])
    return -1;
  *hash = h;
  return 0;
}

/* ---- series --------------------------------------------------------------- */

static struct gw_metric_series *series_new(struct gw_metric *m, const char *const *values,
                                           uint64_t hash)
{
  size_t nb = m->type == TYPE_HISTOGRAM ? m->n_bounds + 1 : 0;
  struct gw_metric_series *s = gw_malloc(sizeof(*s) + nb * sizeof(s->buckets[0]));
  s->magic = SERIES_MAGIC;
  s->metric = m;
  s->hash = hash;
  s->values = m->n_labels ? gw_calloc(m->n_labels, sizeof(*s->values)) : NULL;
  s->overflow = m->n_labels > 0;
  for(size_t i = 0; i < m->n_labels; i++) {
    s->values[i] = gw_strdup(values[i]);
    if(strcmp(values[i], GW_METRICS_OTHER))
      s->overflow = 0;
  }
  s->fn = NULL;
  s->fn_arg = NULL;
  atomic_init(&s->value, 0);
  atomic_init(&s->sum, dbl_bits(0.0));
  for(size_t i = 0; i < nb; i++)
    atomic_init(&s->buckets[i], 0);
  return s;
}

static void series_free(struct gw_metric_series *s, size_t n_labels)
{
  for(size_t i = 0; i < n_labels; i++)
    gw_free(s->values[i]);
  gw_free(s->values);
  gw_free(s);
}

static int values_equal(const struct gw_metric_series *s, const char *const *values, size_t n)
{
  for(size_t i = 0; i < n; i++)
    if(strcmp(s->values[i], values[i]))
      return 0;
  return 1;
}

/* Lock-free probe.  Returns the series, or NULL with *slot (if given) set to
 * the empty slot that ended the probe: the place to insert, valid only
 * while holding m->lock.  Terminates because the table is never full. */
static struct gw_metric_series *table_find(struct gw_metric *m, const char *const *values,
                                           uint64_t hash, size_t *slot)
{
  size_t i = (size_t)hash & m->mask;
  for(;;) {
    struct gw_metric_series *s = atomic_load_explicit(&m->slots[i], memory_order_acquire);
    if(!s) {
      if(slot)
        *slot = i;
      return NULL;
    }
    if(s->hash == hash && values_equal(s, values, m->n_labels))
      return s;
    i = (i + 1) & m->mask;
  }
}

/* The series whose every value is "_other", created on first need outside
 * the cap (or found, if a caller created it by name). */
static struct gw_metric_series *overflow_series(struct gw_metric *m)
{
  const char *vals[GW_METRICS_LABELS_MAX + 1];
  struct gw_metric_series *s = atomic_load_explicit(&m->overflow, memory_order_acquire);
  uint64_t hash;
  size_t slot;
  if(s)
    return s;
  if(m->n_labels == 0)
    return m->single;
  for(size_t i = 0; i < m->n_labels; i++)
    vals[i] = GW_METRICS_OTHER;
  vals[m->n_labels] = NULL;
  if(values_check(m, vals, &hash) < 0)
    abort();                          /* "_other" is always a valid value */
  pthread_mutex_lock(&m->lock);
  s = table_find(m, vals, hash, &slot);
  if(!s) {
    s = series_new(m, vals, hash);
    atomic_store_explicit(&m->slots[slot], s, memory_order_release);
  }
  atomic_store_explicit(&m->overflow, s, memory_order_release);
  pthread_mutex_unlock(&m->lock);
  return s;
}

/* The series for `values`, created if the cap allows; NULL with *reason
 * ("invalid" or "limit") when the caller must use the overflow series. */
static struct gw_metric_series *series_get(struct gw_metric *m, const char *const *values,
                                           const char **reason)
{
  struct gw_metric_series *s;
  uint64_t hash;
  size_t slot;
  *reason = "invalid";
  if(values_check(m, values, &hash) < 0)
    return NULL;
  if(m->n_labels == 0)
    return m->single;
  s = table_find(m, values, hash, NULL);
  if(s)
    return s;
  *reason = "limit";
  if(atomic_load_explicit(&m->n_series, memory_order_relaxed) >= m->series_max)
    return NULL;                      /* full: no mutex on this path */
  pthread_mutex_lock(&m->lock);
  s = table_find(m, values, hash, &slot);
  if(!s && atomic_load_explicit(&m->n_series, memory_order_relaxed) < m->series_max) {
    s = series_new(m, values, hash);
    atomic_store_explicit(&m->slots[slot], s, memory_order_release);
    atomic_fetch_add_explicit(&m->n_series, 1, memory_order_relaxed);
  }
  pthread_mutex_unlock(&m->lock);
  return s;
}

struct gw_metric_series *gw_metric_series(struct gw_metric *m, const char *const *values)
{
  struct gw_metric_series *s;
  const char *reason;
  if(!m)
    return NULL;
  assert(m->magic == METRIC_MAGIC);
  s = series_get(m, values, &reason);
  if(s)
    return s;
  s = overflow_series(m);
  /* Counted after m->lock is released; the dropped counter's own overflow
   * is not counted (its cap holds two reasons for every possible metric). */
  if(m != m->reg->dropped)
    gw_metric_inc_labels(m->reg->dropped, GW_LABELS(m->name, reason));
  return s;
}

/* ---- updates ---------------------------------------------------------------- */

/* Whether an update of type t may touch s: NULL is a quiet no-op, a wrong
 * type a programming error. */
static int update_ok(const struct gw_metric_series *s, enum metric_type t)
{
  if(!s)
    return 0;
  assert(s->magic == SERIES_MAGIC);
  assert(s->metric->type == t);
  return s->metric->type == t;
}

static int read_ok(const struct gw_metric_series *s, enum metric_type t)
{
  assert(!s || s->magic == SERIES_MAGIC);
  return s && s->metric->type == t;
}

void gw_metric_inc(struct gw_metric_series *s)
{
  gw_metric_add(s, 1);
}

void gw_metric_add(struct gw_metric_series *s, uint64_t n)
{
  if(update_ok(s, TYPE_COUNTER))
    atomic_fetch_add_explicit(&s->value, n, memory_order_relaxed);
}

void gw_metric_set(struct gw_metric_series *s, double v)
{
  if(update_ok(s, TYPE_GAUGE))
    atomic_store_explicit(&s->value, dbl_bits(v), memory_order_relaxed);
}

void gw_metric_gauge_add(struct gw_metric_series *s, double d)
{
  if(update_ok(s, TYPE_GAUGE))
    atomic_dbl_add(&s->value, d);
}

void gw_metric_observe(struct gw_metric_series *s, double v)
{
  const struct gw_metric *m;
  size_t i = 0;
  if(!update_ok(s, TYPE_HISTOGRAM) || isnan(v))
    return;
  m = s->metric;
  while(i < m->n_bounds && v > m->bounds[i])
    i++;
  atomic_fetch_add_explicit(&s->buckets[i], 1, memory_order_relaxed);
  atomic_dbl_add(&s->sum, v);
}

void gw_metric_inc_labels(struct gw_metric *m, const char *const *values)
{
  gw_metric_add(gw_metric_series(m, values), 1);
}

void gw_metric_add_labels(struct gw_metric *m, const char *const *values, uint64_t n)
{
  gw_metric_add(gw_metric_series(m, values), n);
}

void gw_metric_set_labels(struct gw_metric *m, const char *const *values, double v)
{
  gw_metric_set(gw_metric_series(m, values), v);
}

void gw_metric_gauge_add_labels(struct gw_metric *m, const char *const *values, double d)
{
  gw_metric_gauge_add(gw_metric_series(m, values), d);
}

void gw_metric_observe_labels(struct gw_metric *m, const char *const *values, double v)
{
  gw_metric_observe(gw_metric_series(m, values), v);
}

uint64_t gw_metric_counter_value(const struct gw_metric_series *s)
{
  return read_ok(s, TYPE_COUNTER) ? atomic_load_explicit(&s->value, memory_order_relaxed) : 0;
}

double gw_metric_gauge_value(const struct gw_metric_series *s)
{
  return read_ok(s, TYPE_GAUGE) ? bits_dbl(atomic_load_explicit(&s->value, memory_order_relaxed))
                                : 0.0;
}

uint64_t gw_metric_histogram_count(const struct gw_metric_series *s)
{
  uint64_t n = 0;
  if(!read_ok(s, TYPE_HISTOGRAM))
    return 0;
  for(size_t i = 0; i <= s->metric->n_bounds; i++)
    n += atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
  return n;
}

double gw_metric_histogram_sum(const struct gw_metric_series *s)
{
  return read_ok(s, TYPE_HISTOGRAM) ? bits_dbl(atomic_load_explicit(&s->sum, memory_order_relaxed))
                                    : 0.0;
}

/* ---- registration ------------------------------------------------------------ */

/* A power of two holding max_entries at a load factor of at most 3/4. */
static size_t table_slots(size_t max_entries)
{
  size_t n = 1;
  while(n * 3 < max_entries * 4)
    n <<= 1;
  return n;
}

static struct gw_metric *metric_new(struct gw_metrics *r, enum metric_type type,
                                    const char *name, const char *help,
                                    const char *const *labels, size_t n_labels,
                                    const double *bounds, size_t n_bounds, size_t series_max)
{
  struct gw_metric *m = gw_calloc(1, sizeof(*m));
  size_t n_slots = n_labels ? table_slots(series_max + 1) : 1;
  m->magic = METRIC_MAGIC;
  m->reg = r;
  m->type = type;
  m->name = gw_strdup(name);
  m->help = gw_strdup(help);
  for(size_t i = 0; i < n_labels; i++)
    m->labels[i] = gw_strdup(labels[i]);
  m->n_labels = n_labels;
  if(n_bounds) {
    m->bounds = gw_calloc(n_bounds, sizeof(*m->bounds));
    memcpy(m->bounds, bounds, n_bounds * sizeof(*m->bounds));
  }
  m->n_bounds = n_bounds;
  m->series_max = series_max;
  pthread_mutex_init(&m->lock, NULL);
  atomic_init(&m->n_series, 0);
  atomic_init(&m->overflow, NULL);
  m->slots = gw_calloc(n_slots, sizeof(*m->slots));
  for(size_t i = 0; i < n_slots; i++)
    atomic_init(&m->slots[i], NULL);
  m->mask = n_slots - 1;
  if(!n_labels) {
    m->single = series_new(m, NULL, FNV_OFFSET);
    atomic_init(&m->slots[0], m->single);
  }
  return m;
}

static void metric_free(struct gw_metric *m)
{
  for(size_t i = 0; i <= m->mask; i++) {
    struct gw_metric_series *s = atomic_load_explicit(&m->slots[i], memory_order_relaxed);
    if(s)
      series_free(s, m->n_labels);
  }
  gw_free(m->slots);
  for(size_t i = 0; i < m->n_labels; i++)
    gw_free(m->labels[i]);
  gw_free(m->bounds);
  gw_free(m->help);
  gw_free(m->name);
  pthread_mutex_destroy(&m->lock);
  gw_free(m);
}

static enum gw_metrics_result metric_register(struct gw_metrics *r, enum metric_type type,
                                              const char *name, const char *help,
                                              const char *const *labels,
                                              const double *bounds, size_t n_bounds,
                                              size_t series_max, struct gw_metric **out)
{
  enum gw_metrics_result res = GW_METRICS_OK;
  size_t n_labels, pos = 0;
  int locked = 0;
  *out = NULL;
  assert(r && r->magic == REGISTRY_MAGIC);
  if(!metric_name_ok(type, name)) {
    res = GW_METRICS_BAD_NAME;
    goto out;
  }
  if(!help_ok(help)) {
    res = GW_METRICS_BAD_HELP;
    goto out;
  }
  if(!label_names_ok(labels, &n_labels)) {
    res = GW_METRICS_BAD_LABEL;
    goto out;
  }
  if(type == TYPE_HISTOGRAM ? !bounds_ok(bounds, n_bounds) : n_bounds != 0) {
    res = GW_METRICS_BAD_BUCKETS;
    goto out;
  }
  pthread_mutex_lock(&r->lock);
  locked = 1;
  for(pos = 0; pos < r->n_metrics; pos++) {
    int c = strcmp(r->metrics[pos]->name, name);
    if(c == 0) {
      res = GW_METRICS_DUPLICATE;
      goto out;
    }
    if(c > 0)
      break;
  }
  if(r->n_metrics == GW_METRICS_MAX + 1) {
    res = GW_METRICS_FULL;
    goto out;
  }
  memmove(&r->metrics[pos + 1], &r->metrics[pos], (r->n_metrics - pos) * sizeof(r->metrics[0]));
  r->metrics[pos] = metric_new(r, type, name, help, labels, n_labels, bounds, n_bounds,
                               series_max);
  r->n_metrics++;
  *out = r->metrics[pos];
out:
  if(locked)
    pthread_mutex_unlock(&r->lock);
  return res;
}

enum gw_metrics_result gw_metrics_counter(struct gw_metrics *r, const char *name,
                                          const char *help, const char *const *labels,
                                          struct gw_metric **out)
{
  return metric_register(r, TYPE_COUNTER, name, help, labels, NULL, 0, r->series_max, out);
}

enum gw_metrics_result gw_metrics_gauge(struct gw_metrics *r, const char *name,
                                        const char *help, const char *const *labels,
                                        struct gw_metric **out)
{
  return metric_register(r, TYPE_GAUGE, name, help, labels, NULL, 0, r->series_max, out);
}

enum gw_metrics_result gw_metrics_histogram(struct gw_metrics *r, const char *name,
                                            const char *help, const char *const *labels,
                                            const double *bounds, size_t n_bounds,
                                            struct gw_metric **out)
{
  return metric_register(r, TYPE_HISTOGRAM, name, help, labels, bounds, n_bounds,
                         r->series_max, out);
}

enum gw_metrics_result gw_metrics_gauge_func(struct gw_metrics *r, const char *name,
                                             const char *help,
                                             double (*fn)(void *arg), void *arg,
                                             struct gw_metric **out)
{
  enum gw_metrics_result res = metric_register(r, TYPE_GAUGE, name, help, NULL, NULL, 0,
                                               r->series_max, out);
  if(res == GW_METRICS_OK)
    res = gw_metric_bind((*out)->single, fn, arg);
  return res;
}

enum gw_metrics_result gw_metric_bind(struct gw_metric_series *s,
                                      double (*fn)(void *arg), void *arg)
{
  struct gw_metrics *r;
  assert(!s || s->magic == SERIES_MAGIC);
  if(!s || s->metric->type == TYPE_HISTOGRAM)
    return GW_METRICS_BAD_TYPE;
  if(s->overflow)
    return GW_METRICS_BAD_LABEL;
  r = s->metric->reg;
  pthread_mutex_lock(&r->lock);
  s->fn = fn;
  s->fn_arg = fn ? arg : NULL;
  pthread_mutex_unlock(&r->lock);
  return GW_METRICS_OK;
}

/* ---- registries ---------------------------------------------------------------- */

struct gw_metrics *gw_metrics_new(size_t series_max)
{
  struct gw_metrics *r = gw_calloc(1, sizeof(*r));
  enum gw_metrics_result res;
  r->magic = REGISTRY_MAGIC;
  pthread_mutex_init(&r->lock, NULL);
  r->series_max = (series_max == 0 || series_max > GW_METRICS_SERIES_MAX)
                  ? GW_METRICS_SERIES_MAX : series_max;
  res = metric_register(r, TYPE_COUNTER, GW_METRICS_DROPPED_NAME,
                        "Label value sets redirected to their metric's overflow series "
                        "(label values _other), by metric and reason (limit, invalid).",
                        GW_LABELS("metric", "reason"), NULL, 0, DROPPED_SERIES_MAX,
                        &r->dropped);
  if(res != GW_METRICS_OK)
    abort();                          /* a constant registration cannot fail */
  return r;
}

void gw_metrics_free(struct gw_metrics *r)
{
  if(!r)
    return;
  assert(r->magic == REGISTRY_MAGIC);
  for(size_t i = 0; i < r->n_metrics; i++)
    metric_free(r->metrics[i]);
  pthread_mutex_destroy(&r->lock);
  r->magic = 0;
  gw_free(r);
}

static pthread_once_t default_once = PTHREAD_ONCE_INIT;
static struct gw_metrics *default_registry;

static void default_init(void)
{
  default_registry = gw_metrics_new(0);
}

struct gw_metrics *gw_metrics_default(void)
{
  pthread_once(&default_once, default_init);
  return default_registry;
}

/* ---- exposition --------------------------------------------------------------- */

/* A growing output buffer, always NUL-terminated. */
struct sbuf {
  char *p;
  size_t len, cap;
};

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
  if(b->len + n + 1 > b->cap) {
    while(b->len + n + 1 > b->cap)
      b->cap = b->cap ? 2 * b->cap : 4096;
    b->p = gw_realloc(b->p, b->cap);
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
  sb_put(b, s, strlen(s));
}

/* Escapes as the format requires: backslash and newline in help text, and
 * double quote too in label values (quote != 0).  Validation keeps newlines
 * out of both today; escaping them anyway keeps the output valid whatever
 * validation becomes. */
static void sb_escaped(struct sbuf *b, const char *s, int quote)
{
  for(const char *p = s; *p; p++) {
    if(*p == '\\')
      sb_put(b, "\\\\", 2);
    else if(*p == '\n')
      sb_put(b, "\\n", 2);
    else if(*p == '"' && quote)
      sb_put(b, "\\\"", 2);
    else
      sb_put(b, p, 1);
  }
}

/* The shortest text that reads back as exactly v (Go's client prints the
 * same numbers, if not always the same way); the format's spellings of the
 * special values. */
static void fmt_double(char buf[DOUBLE_TEXT_MAX], double v)
{
  if(isnan(v)) {
    snprintf(buf, DOUBLE_TEXT_MAX, "NaN");
    return;
  }
  if(isinf(v)) {
    snprintf(buf, DOUBLE_TEXT_MAX, "%s", v > 0 ? "+Inf" : "-Inf");
    return;
  }
  /* whole numbers plainly ("100000", not %g's "1e+05") while exact */
  if(v > -EXACT_INT_MAX && v < EXACT_INT_MAX && (double)(int64_t)v == v) {
    snprintf(buf, DOUBLE_TEXT_MAX, "%" PRId64, (int64_t)v);
    return;
  }
  for(int digits = 1; digits <= DOUBLE_DIGITS_MAX; digits++) {
    snprintf(buf, DOUBLE_TEXT_MAX, "%.*g", digits, v);
    if(strtod(buf, NULL) == v)
      return;
  }
}

static void sb_double(struct sbuf *b, double v)
{
  char buf[DOUBLE_TEXT_MAX];
  fmt_double(buf, v);
  sb_str(b, buf);
}

static void sb_u64(struct sbuf *b, uint64_t v)
{
  char buf[DOUBLE_TEXT_MAX];
  snprintf(buf, sizeof(buf), "%" PRIu64, v);
  sb_str(b, buf);
}

/* NAME SUFFIX{labels[,le="LE"]} */
static void sb_sample_name(struct sbuf *b, const struct gw_metric_series *s,
                           const char *suffix, const char *le)
{
  const struct gw_metric *m = s->metric;
  sb_str(b, m->name);
  sb_str(b, suffix);
  if(m->n_labels == 0 && !le)
    return;
  sb_str(b, "{");
  for(size_t i = 0; i < m->n_labels; i++) {
    if(i)
      sb_str(b, ",");
    sb_str(b, m->labels[i]);
    sb_str(b, "=\"");
    sb_escaped(b, s->values[i], 1);
    sb_str(b, "\"");
  }
  if(le) {
    if(m->n_labels)
      sb_str(b, ",");
    sb_str(b, "le=\"");
    sb_str(b, le);
    sb_str(b, "\"");
  }
  sb_str(b, "}");
}

static int series_cmp(const void *pa, const void *pb)
{
  const struct gw_metric_series *a = *(struct gw_metric_series *const *)pa;
  const struct gw_metric_series *b = *(struct gw_metric_series *const *)pb;
  for(size_t i = 0; i < a->metric->n_labels; i++) {
    int c = strcmp(a->values[i], b->values[i]);
    if(c)
      return c;
  }
  return 0;
}

static void render_histogram(struct sbuf *b, const struct gw_metric_series *s)
{
  const struct gw_metric *m = s->metric;
  char le[DOUBLE_TEXT_MAX];
  uint64_t cumulative = 0;
  for(size_t i = 0; i <= m->n_bounds; i++) {
    cumulative += atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
    if(i < m->n_bounds)
      fmt_double(le, m->bounds[i]);
    else
      snprintf(le, sizeof(le), "+Inf");
    sb_sample_name(b, s, "_bucket", le);
    sb_str(b, " ");
    sb_u64(b, cumulative);
    sb_str(b, "\n");
  }
  sb_sample_name(b, s, "_sum", NULL);
  sb_str(b, " ");
  sb_double(b, bits_dbl(atomic_load_explicit(&s->sum, memory_order_relaxed)));
  sb_str(b, "\n");
  sb_sample_name(b, s, "_count", NULL);
  sb_str(b, " ");
  sb_u64(b, cumulative);
  sb_str(b, "\n");
}

/* Called with the registry mutex held (bound functions, s->fn). */
static void render_metric(struct sbuf *b, struct gw_metric *m)
{
  struct gw_metric_series **list = gw_calloc(m->mask + 1, sizeof(*list));
  size_t n = 0;
  for(size_t i = 0; i <= m->mask; i++) {
    struct gw_metric_series *s = atomic_load_explicit(&m->slots[i], memory_order_acquire);
    if(s)
      list[n++] = s;
  }
  if(n == 0)
    goto out;
  qsort(list, n, sizeof(*list), series_cmp);
  sb_str(b, "# HELP ");
  sb_str(b, m->name);
  sb_str(b, " ");
  sb_escaped(b, m->help, 0);
  sb_str(b, "\n# TYPE ");
  sb_str(b, m->name);
  sb_str(b, " ");
  sb_str(b, type_names[m->type]);
  sb_str(b, "\n");
  for(size_t i = 0; i < n; i++) {
    const struct gw_metric_series *s = list[i];
    if(m->type == TYPE_HISTOGRAM) {
      render_histogram(b, s);
      continue;
    }
    sb_sample_name(b, s, "", NULL);
    sb_str(b, " ");
    if(s->fn)
      sb_double(b, s->fn(s->fn_arg));
    else if(m->type == TYPE_COUNTER)
      sb_u64(b, atomic_load_explicit(&s->value, memory_order_relaxed));
    else
      sb_double(b, bits_dbl(atomic_load_explicit(&s->value, memory_order_relaxed)));
    sb_str(b, "\n");
  }
out:
  gw_free(list);
}

enum gw_metrics_result gw_metrics_render(struct gw_metrics *r, char **out, size_t *len)
{
  struct sbuf b = { NULL, 0, 0 };
  assert(r && r->magic == REGISTRY_MAGIC);
  sb_put(&b, "", 0);
  pthread_mutex_lock(&r->lock);
  for(size_t i = 0; i < r->n_metrics; i++)
    render_metric(&b, r->metrics[i]);
  pthread_mutex_unlock(&r->lock);
  *out = b.p;
  *len = b.len;
  return GW_METRICS_OK;
}
