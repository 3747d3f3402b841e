/*
 * test_metrics.c - the metrics registry and its Prometheus text exposition:
 * counters, gauges and histograms rendered byte for byte, bucket bounds
 * (a value equal to a bound is in that bucket), label value escaping and
 * validation, the series cap and its "_other" overflow with the dropped
 * counter, exact totals under 4 threads x 100,000 updates while another
 * thread renders, refused names, and gauge/counter functions read at
 * render time.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gw/alloc.h"
#include "metrics.h"

#define DROPPED_HEAD \
  "# HELP gw_metrics_series_dropped_total Label value sets redirected to their metric's " \
  "overflow series (label values _other), by metric and reason (limit, invalid).\n" \
  "# TYPE gw_metrics_series_dropped_total counter\n"

#define A8 "aaaaaaaa"
#define A64 A8 A8 A8 A8 A8 A8 A8 A8

/* Renders r and checks that the reported length is the string's. */
static char *render(struct gw_metrics *r)
{
  char *text = NULL;
  size_t len = 0;
  assert_int_equal(gw_metrics_render(r, &text, &len), GW_METRICS_OK);
  assert_non_null(text);
  assert_int_equal(len, strlen(text));
  return text;
}

static void assert_render(struct gw_metrics *r, const char *expected)
{
  char *text = render(r);
  assert_string_equal(text, expected);
  gw_free(text);
}

static size_t count_prefix_lines(const char *text, const char *prefix)
{
  size_t n = 0, k = strlen(prefix);
  for(const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
    if(!strncmp(p, prefix, k))
      n++;
  return n;
}

static void empty_registry_renders_nothing(void **state)
{
  struct gw_metrics *r = gw_metrics_new(0);
  (void)state;
  assert_render(r, "");
  assert_ptr_equal(gw_metrics_default(), gw_metrics_default());
  assert_non_null(gw_metrics_default());
  gw_metrics_free(r);
}

static void counters_render_exactly(void **state)
{
  struct gw_metrics *r = gw_metrics_new(0);
  struct gw_metric *req, *audit, *evict, *unused;
  (void)state;
  assert_int_equal(gw_metrics_counter(r, "gw_http_requests_total",
                                      "HTTP requests answered, by route pattern and status.",
                                      GW_LABELS("route", "status"), &req), GW_METRICS_OK);
  assert_int_equal(gw_metrics_counter(r, "gw_audit_entries_total", "Audit log entries appended.",
                                      NULL, &audit), GW_METRICS_OK);
  assert_int_equal(gw_metrics_counter(r, "gw_cache_evictions_total", "Cache evictions.",
                                      NULL, &evict), GW_METRICS_OK);
  assert_int_equal(gw_metrics_counter(r, "gw_unused_total", "Never updated, has labels.",
                                      GW_LABELS("x"), &unused), GW_METRICS_OK);
  gw_metric_inc_labels(req, GW_LABELS("/v1/facts/query", "200"));
  gw_metric_add_labels(req, GW_LABELS("/v1/facts/query", "200"), 41);
  gw_metric_inc_labels(req, GW_LABELS("/v1/audit/proof", "404"));
  gw_metric_inc_labels(req, GW_LABELS("/v1/facts/query", "400"));
  gw_metric_add(gw_metric_series(req, GW_LABELS("/healthz", "200")), UINT64_MAX);
  gw_metric_add(gw_metric_series(audit, NULL), 7);
  /* the same tuple resolves to the same handle */
  assert_ptr_equal(gw_metric_series(req, GW_LABELS("/v1/facts/query", "200")),
                   gw_metric_series(req, GW_LABELS("/v1/facts/query", "200")));
  assert_int_equal(gw_metric_counter_value(gw_metric_series(req, GW_LABELS("/v1/facts/query", "200"))),
                   42);
  assert_render(r,
    "# HELP gw_audit_entries_total Audit log entries appended.\n"
    "# TYPE gw_audit_entries_total counter\n"
    "gw_audit_entries_total 7\n"
    "# HELP gw_cache_evictions_total Cache evictions.\n"
    "# TYPE gw_cache_evictions_total counter\n"
    "gw_cache_evictions_total 0\n"
    "# HELP gw_http_requests_total HTTP requests answered, by route pattern and status.\n"
    "# TYPE gw_http_requests_total counter\n"
    "gw_http_requests_total{route=\"/healthz\",status=\"200\"} 18446744073709551615\n"
    "gw_http_requests_total{route=\"/v1/audit/proof\",status=\"404\"} 1\n"
    "gw_http_requests_total{route=\"/v1/facts/query\",status=\"200\"} 42\n"
    "gw_http_requests_total{route=\"/v1/facts/query\",status=\"400\"} 1\n");
  gw_metrics_free(r);
}

static void gauges_render_exactly(void **state)
{
  struct gw_metrics *r = gw_metrics_new(0);
  struct gw_metric *conn, *val;
  struct gw_metric_series *api;
  (void)state;
  assert_int_equal(gw_metrics_gauge(r, "gw_open_connections", "Open client connections.",
                                    GW_LABELS("listener"), &conn), GW_METRICS_OK);
  assert_int_equal(gw_metrics_gauge(r, "gw_test_value", "Number formatting.",
                                    GW_LABELS("case"), &val), GW_METRICS_OK);
  api = gw_metric_series(conn, GW_LABELS("api"));
  gw_metric_set(api, 3);
  gw_metric_gauge_add(api, -1);
  gw_metric_gauge_add_labels(conn, GW_LABELS("ops"), 0.5);
  gw_metric_gauge_add_labels(conn, GW_LABELS("ops"), 0.25);
  assert_true(gw_metric_gauge_value(api) == 2.0);
  gw_metric_set_labels(val, GW_LABELS("big"), 1e21);
  gw_metric_set_labels(val, GW_LABELS("fraction"), 0.1);
  gw_metric_set_labels(val, GW_LABELS("inf"), (double)INFINITY);
  gw_metric_set_labels(val, GW_LABELS("int"), 12345678);
  gw_metric_set_labels(val, GW_LABELS("minus_inf"), -(double)INFINITY);
  gw_metric_set_labels(val, GW_LABELS("nan"), (double)NAN);
  gw_metric_set_labels(val, GW_LABELS("negative"), -2.5);
  gw_metric_set_labels(val, GW_LABELS("third"), 1.0 / 3.0);
  gw_metric_set_labels(val, GW_LABELS("tiny"), 2.5e-7);
  gw_metric_set_labels(val, GW_LABELS("zero"), 0);
  assert_render(r,
    "# HELP gw_open_connections Open client connections.\n"
    "# TYPE gw_open_connections gauge\n"
    "gw_open_connections{listener=\"api\"} 2\n"
    "gw_open_connections{listener=\"ops\"} 0.75\n"
    "# HELP gw_test_value Number formatting.\n"
    "# TYPE gw_test_value gauge\n"
    "gw_test_value{case=\"big\"} 1e+21\n"
    "gw_test_value{case=\"fraction\"} 0.1\n"
    "gw_test_value{case=\"inf\"} +Inf\n"
    "gw_test_value{case=\"int\"} 12345678\n"
    "gw_test_value{case=\"minus_inf\"} -Inf\n"
    "gw_test_value{case=\"nan\"} NaN\n"
    "gw_test_value{case=\"negative\"} -2.5\n"
    "gw_test_value{case=\"third\"} 0.3333333333333333\n"
    "gw_test_value{case=\"tiny\"} 2.5e-07\n"
    "gw_test_value{case=\"zero\"} 0\n");
  gw_metrics_free(r);
}

static void histograms_render_exactly(void **state)
{
  static const double up_bounds[] = { 0.25, 0.5, 1, 2.5 };
  static const double fsync_bounds[] = { 0.001, 0.01 };
  struct gw_metrics *r = gw_metrics_new(0);
  struct gw_metric *up, *fsync;
  struct gw_metric_series *chsi;
  (void)state;
  assert_int_equal(gw_metrics_histogram(r, "gw_upstream_request_duration_seconds",
                                        "Agency exchange time.", GW_LABELS("adapter"),
                                        up_bounds, 4, &up), GW_METRICS_OK);
  assert_int_equal(gw_metrics_histogram(r, "gw_audit_fsync_duration_seconds",
                                        "Time to make an audit batch durable.", NULL,
                                        fsync_bounds, 2, &fsync), GW_METRICS_OK);
  chsi = gw_metric_series(up, GW_LABELS("chsi"));
  gw_metric_observe(chsi, 0.25);     /* equal to a bound: in that bucket */
  gw_metric_observe(chsi, 0.375);
  gw_metric_observe(chsi, 0.5);
  gw_metric_observe(chsi, 2.5);
  gw_metric_observe(chsi, 4);        /* above every bound: +Inf only */
  gw_metric_observe(chsi, (double)NAN);      /* ignored */
  gw_metric_observe_labels(up, GW_LABELS("mps"), 0.125);
  assert_int_equal(gw_metric_histogram_count(chsi), 5);
  assert_true(gw_metric_histogram_sum(chsi) == 7.625);
  assert_render(r,
    "# HELP gw_audit_fsync_duration_seconds Time to make an audit batch durable.\n"
    "# TYPE gw_audit_fsync_duration_seconds histogram\n"
    "gw_audit_fsync_duration_seconds_bucket{le=\"0.001\"} 0\n"
    "gw_audit_fsync_duration_seconds_bucket{le=\"0.01\"} 0\n"
    "gw_audit_fsync_duration_seconds_bucket{le=\"+Inf\"} 0\n"
    "gw_audit_fsync_duration_seconds_sum 0\n"
    "gw_audit_fsync_duration_seconds_count 0\n"
    "# HELP gw_upstream_request_duration_seconds Agency exchange time.\n"
    "# TYPE gw_upstream_request_duration_seconds histogram\n"
    "gw_upstream_request_duration_seconds_bucket{adapter=\"chsi\",le=\"0.25\"} 1\n"
    "gw_upstream_request_duration_seconds_bucket{adapter=\"chsi\",le=\"0.5\"} 3\n"
    "gw_upstream_request_duration_seconds_bucket{adapter=\"chsi\",le=\"1\"} 3\n"
    "gw_upstream_request_duration_seconds_bucket{adapter=\"chsi\",le=\"2.5\"} 4\n"
    "gw_upstream_request_duration_seconds_bucket{adapter=\"chsi\",le=\"+Inf\"} 5\n"
    "gw_upstream_request_duration_seconds_sum{adapter=\"chsi\"} 7.625\n"
    "gw_upstream_request_duration_seconds_count{adapter=\"chsi\"} 5\n"
    "gw_upstream_request_duration_seconds_bucket{adapter=\"mps\",le=\"0.25\"} 1\n"
    "gw_upstream_request_duration_seconds_bucket{adapter=\"mps\",le=\"0.5\"} 1\n"
    "gw_upstream_request_duration_seconds_bucket{adapter=\"mps\",le=\"1\"} 1\n"
    "gw_upstream_request_duration_seconds_bucket{adapter=\"mps\",le=\"2.5\"} 1\n"
    "gw_upstream_request_duration_seconds_bucket{adapter=\"mps\",le=\"+Inf\"} 1\n"
    "gw_upstream_request_duration_seconds_sum{adapter=\"mps\"} 0.125\n"
    "gw_upstream_request_duration_seconds_count{adapter=\"mps\"} 1\n");
  gw_metrics_free(r);
}

/* The next double above a positive finite v (nextafter without libm,
 * which the unit test executables do not link). */
static double next_up(double v)
{
  uint64_t u;
  memcpy(&u, &v, sizeof(u));
  u++;
  memcpy(&v, &u, sizeof(v));
  return v;
}

/* With the usual latency bounds, a value exactly on each bound is counted
 * in that bound's bucket, and the next double above it in the next one. */
static void bucket_boundaries(void **state)
{
  static const double bounds[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 };
  static const char *const le[] = { "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5",
                                    "1", "2.5", "5", "10", "+Inf" };
  const size_t n = sizeof(bounds) / sizeof(bounds[0]);
  struct gw_metrics *r = gw_metrics_new(0);
  struct gw_metric *h;
  char *text, line[160];
  (void)state;
  assert_int_equal(gw_metrics_histogram(r, "b_seconds", "Bounds.", GW_LABELS("case"),
                                        bounds, n, &h), GW_METRICS_OK);
  for(size_t i = 0; i < n; i++) {
    char name[16];
    snprintf(name, sizeof(name), "eq%02zu", i);
    gw_metric_observe_labels(h, GW_LABELS(name), bounds[i]);
    snprintf(name, sizeof(name), "up%02zu", i);
    gw_metric_observe_labels(h, GW_LABELS(name), next_up(bounds[i]));
  }
  gw_metric_observe_labels(h, GW_LABELS("zero"), 0);
  gw_metric_observe_labels(h, GW_LABELS("negative"), -1);
  gw_metric_observe_labels(h, GW_LABELS("inf"), (double)INFINITY);
  text = render(r);
  for(size_t i = 0; i < n; i++) {
    /* eq: first counted at its own bound; up: first counted at the next */
    for(size_t j = 0; j <= n; j++) {
      snprintf(line, sizeof(line), "b_seconds_bucket{case=\"eq%02zu\",le=\"%s\"} %d\n",
               i, le[j], j >= i);
      assert_non_null(strstr(text, line));
      snprintf(line, sizeof(line), "b_seconds_bucket{case=\"up%02zu\",le=\"%s\"} %d\n",
               i, le[j], j > i);
      assert_non_null(strstr(text, line));
    }
  }
  assert_non_null(strstr(text, "b_seconds_bucket{case=\"zero\",le=\"0.005\"} 1\n"));
  assert_non_null(strstr(text, "b_seconds_bucket{case=\"negative\",le=\"0.005\"} 1\n"));
  assert_non_null(strstr(text, "b_seconds_bucket{case=\"inf\",le=\"10\"} 0\n"));
  assert_non_null(strstr(text, "b_seconds_bucket{case=\"inf\",le=\"+Inf\"} 1\n"));
  assert_non_null(strstr(text, "b_seconds_sum{case=\"inf\"} +Inf\n"));
  assert_non_null(strstr(text, "b_seconds_sum{case=\"up10\"} 10.000000000000002\n"));
  gw_free(text);
  gw_metrics_free(r);
}

static void label_values_escaped_and_validated(void **state)
{
  struct gw_metrics *r = gw_metrics_new(0);
  struct gw_metric *m;
  char long_value[GW_METRICS_LABEL_VALUE_MAX + 2];
  (void)state;
  assert_int_equal(gw_metrics_counter(r, "gw_test_escape_total", "Escapes \\ in help.",
                                      GW_LABELS("v"), &m), GW_METRICS_OK);
  gw_metric_inc_labels(m, GW_LABELS("back\\slash"));
  gw_metric_inc_labels(m, GW_LABELS("quote\"d"));
  gw_metric_inc_labels(m, GW_LABELS("both\\\""));
  gw_metric_inc_labels(m, GW_LABELS("plain"));
  gw_metric_inc_labels(m, GW_LABELS(A64));                  /* exactly the cap: fine */
  /* refused: each goes to the overflow series and counts as invalid */
  memset(long_value, 'a', GW_METRICS_LABEL_VALUE_MAX + 1);
  long_value[GW_METRICS_LABEL_VALUE_MAX + 1] = '\0';
  gw_metric_inc_labels(m, GW_LABELS(long_value));
  gw_metric_inc_labels(m, GW_LABELS("line\nbreak"));
  gw_metric_inc_labels(m, GW_LABELS("tab\there"));
  gw_metric_inc_labels(m, GW_LABELS("\xe5\xbc\xa0\xe4\xb8\x89"));  /* a name: never */
  gw_metric_inc_labels(m, GW_LABELS("del\x7f"));
  gw_metric_inc_labels(m, GW_LABELS(""));
  gw_metric_inc_labels(m, GW_LABELS("one", "too many"));
  gw_metric_inc_labels(m, NULL);
  assert_render(r,
    DROPPED_HEAD
    "gw_metrics_series_dropped_total{metric=\"gw_test_escape_total\",reason=\"invalid\"} 8\n"
    "# HELP gw_test_escape_total Escapes \\\\ in help.\n"
    "# TYPE gw_test_escape_total counter\n"
    "gw_test_escape_total{v=\"_other\"} 8\n"
    "gw_test_escape_total{v=\"" A64 "\"} 1\n"
    "gw_test_escape_total{v=\"back\\\\slash\"} 1\n"
    "gw_test_escape_total{v=\"both\\\\\\\"\"} 1\n"
    "gw_test_escape_total{v=\"plain\"} 1\n"
    "gw_test_escape_total{v=\"quote\\\"d\"} 1\n");
  gw_metrics_free(r);
}

/* A cap of 2: the third tuple and later ones share the overflow series;
 * existing tuples keep resolving to their own. */
static void series_cap_and_overflow(void **state)
{
  struct gw_metrics *r = gw_metrics_new(2);
  struct gw_metric *m;
  struct gw_metric_series *over, *chsi;
  (void)state;
  assert_int_equal(gw_metrics_counter(r, "gw_upstream_requests_total", "Agency exchanges.",
                                      GW_LABELS("adapter", "outcome"), &m), GW_METRICS_OK);
  chsi = gw_metric_series(m, GW_LABELS("chsi", "ok"));
  gw_metric_add(chsi, 3);
  gw_metric_inc_labels(m, GW_LABELS("mps", "timeout"));
  gw_metric_inc_labels(m, GW_LABELS("si", "ok"));          /* over the cap */
  gw_metric_inc_labels(m, GW_LABELS("credit", "ok"));      /* over the cap */
  gw_metric_inc_labels(m, GW_LABELS("chsi", "ok"));        /* existing: its own */
  over = gw_metric_series(m, GW_LABELS("qual", "ok"));
  assert_ptr_equal(over, gw_metric_series(m, GW_LABELS("talent", "ok")));
  assert_ptr_equal(over, gw_metric_series(m, GW_LABELS(GW_METRICS_OTHER, GW_METRICS_OTHER)));
  assert_ptr_equal(chsi, gw_metric_series(m, GW_LABELS("chsi", "ok")));
  gw_metric_inc(over);
  assert_int_equal(gw_metric_bind(over, NULL, NULL), GW_METRICS_BAD_LABEL);
  assert_render(r,
    DROPPED_HEAD
    "gw_metrics_series_dropped_total{metric=\"gw_upstream_requests_total\",reason=\"limit\"} 4\n"
    "# HELP gw_upstream_requests_total Agency exchanges.\n"
    "# TYPE gw_upstream_requests_total counter\n"
    "gw_upstream_requests_total{adapter=\"_other\",outcome=\"_other\"} 3\n"
    "gw_upstream_requests_total{adapter=\"chsi\",outcome=\"ok\"} 4\n"
    "gw_upstream_requests_total{adapter=\"mps\",outcome=\"timeout\"} 1\n");
  gw_metrics_free(r);
}

/* The default cap (a larger request is clamped to it): 1024 series, then
 * the overflow. */
static void default_series_cap(void **state)
{
  static const double bounds[] = { 1 };
  struct gw_metrics *r = gw_metrics_new(1000000);
  struct gw_metric *c, *h;
  char value[16], *text;
  (void)state;
  assert_int_equal(gw_metrics_counter(r, "gw_test_cap_total", "Cap.", GW_LABELS("id"), &c),
                   GW_METRICS_OK);
  assert_int_equal(gw_metrics_histogram(r, "gw_test_cap_seconds", "Cap.", GW_LABELS("id"),
                                        bounds, 1, &h), GW_METRICS_OK);
  for(int i = 0; i <= GW_METRICS_SERIES_MAX; i++) {
    snprintf(value, sizeof(value), "v%04d", i);
    gw_metric_inc_labels(c, GW_LABELS(value));
    gw_metric_observe_labels(h, GW_LABELS(value), 0.5);
  }
  text = render(r);
  assert_int_equal(count_prefix_lines(text, "gw_test_cap_total{"), GW_METRICS_SERIES_MAX + 1);
  assert_int_equal(count_prefix_lines(text, "gw_test_cap_seconds_count{"),
                   GW_METRICS_SERIES_MAX + 1);
  assert_non_null(strstr(text, "gw_test_cap_total{id=\"v1023\"} 1\n"));
  assert_null(strstr(text, "id=\"v1024\""));
  assert_non_null(strstr(text, "gw_test_cap_total{id=\"_other\"} 1\n"));
  assert_non_null(strstr(text, "gw_test_cap_seconds_count{id=\"_other\"} 1\n"));
  assert_non_null(strstr(text,
    "gw_metrics_series_dropped_total{metric=\"gw_test_cap_seconds\",reason=\"limit\"} 1\n"
    "gw_metrics_series_dropped_total{metric=\"gw_test_cap_total\",reason=\"limit\"} 1\n"));
  gw_free(text);
  gw_metrics_free(r);
}

/* ---- concurrency ----------------------------------------------------------- */

#define THREADS 4
#define ITERS 100000
#define SHARED_TUPLES 50            /* divides ITERS */

struct conc {
  struct gw_metric *counter, *hist, *gauge;
  pthread_barrier_t start;          /* the workers begin together */
};

static void *conc_worker(void *arg)
{
  struct conc *c = arg;
  struct gw_metric_series *mine, *g;
  char name[SHARED_TUPLES][8];
  pthread_barrier_wait(&c->start);
  /* every thread resolves the same tuples at once: creation races */
  mine = gw_metric_series(c->counter, GW_LABELS("handle"));
  g = gw_metric_series(c->gauge, NULL);
  for(int k = 0; k < SHARED_TUPLES; k++)
    snprintf(name[k], sizeof(name[k]), "s%02d", k);
  for(int i = 0; i < ITERS; i++) {
    gw_metric_inc(mine);
    gw_metric_inc_labels(c->counter, GW_LABELS(name[i % SHARED_TUPLES]));
    gw_metric_observe_labels(c->hist, GW_LABELS(i % 2 ? "odd" : "even"), (i % 4) * 0.5);
    gw_metric_gauge_add(g, 1.0);
  }
  return NULL;
}

struct renderer {
  struct gw_metrics *r;
  atomic_int stop;
  int renders;
};

static void *conc_renderer(void *arg)
{
  struct renderer *rd = arg;
  while(!atomic_load(&rd->stop)) {
    char *text = NULL;
    size_t len = 0;
    if(gw_metrics_render(rd->r, &text, &len) == GW_METRICS_OK && len == strlen(text))
      rd->renders++;
    gw_free(text);
  }
  return NULL;
}

static void concurrent_updates_exact(void **state)
{
  static const double bounds[] = { 0.5, 1 };
  struct gw_metrics *r = gw_metrics_new(0);
  struct conc c;
  struct renderer rd;
  pthread_t th[THREADS], rth;
  char *text;
  (void)state;
  assert_int_equal(gw_metrics_counter(r, "gw_test_ops_total", "Ops.", GW_LABELS("k"), &c.counter),
                   GW_METRICS_OK);
  assert_int_equal(gw_metrics_histogram(r, "gw_test_op_seconds", "Op time.", GW_LABELS("parity"),
                                        bounds, 2, &c.hist), GW_METRICS_OK);
  assert_int_equal(gw_metrics_gauge(r, "gw_test_level", "Level.", NULL, &c.gauge), GW_METRICS_OK);
  assert_int_equal(pthread_barrier_init(&c.start, NULL, THREADS), 0);
  rd.r = r;
  atomic_init(&rd.stop, 0);
  rd.renders = 0;
  assert_int_equal(pthread_create(&rth, NULL, conc_renderer, &rd), 0);
  for(int t = 0; t < THREADS; t++)
    assert_int_equal(pthread_create(&th[t], NULL, conc_worker, &c), 0);
  for(int t = 0; t < THREADS; t++)
    assert_int_equal(pthread_join(th[t], NULL), 0);
  atomic_store(&rd.stop, 1);
  assert_int_equal(pthread_join(rth, NULL), 0);
  assert_true(rd.renders > 0);
  pthread_barrier_destroy(&c.start);

  assert_int_equal(gw_metric_counter_value(gw_metric_series(c.counter, GW_LABELS("handle"))),
                   THREADS * ITERS);
  for(int k = 0; k < SHARED_TUPLES; k++) {
    char name[8];
    snprintf(name, sizeof(name), "s%02d", k);
    assert_int_equal(gw_metric_counter_value(gw_metric_series(c.counter, GW_LABELS(name))),
                     THREADS * ITERS / SHARED_TUPLES);
  }
  assert_true(gw_metric_gauge_value(gw_metric_series(c.gauge, NULL)) == THREADS * ITERS);
  text = render(r);
  /* even i: 0 and 1 alternate; odd i: 0.5 and 1.5 alternate */
  assert_non_null(strstr(text,
    "gw_test_op_seconds_bucket{parity=\"even\",le=\"0.5\"} 100000\n"
    "gw_test_op_seconds_bucket{parity=\"even\",le=\"1\"} 200000\n"
    "gw_test_op_seconds_bucket{parity=\"even\",le=\"+Inf\"} 200000\n"
    "gw_test_op_seconds_sum{parity=\"even\"} 100000\n"
    "gw_test_op_seconds_count{parity=\"even\"} 200000\n"
    "gw_test_op_seconds_bucket{parity=\"odd\",le=\"0.5\"} 100000\n"
    "gw_test_op_seconds_bucket{parity=\"odd\",le=\"1\"} 100000\n"
    "gw_test_op_seconds_bucket{parity=\"odd\",le=\"+Inf\"} 200000\n"
    "gw_test_op_seconds_sum{parity=\"odd\"} 200000\n"
    "gw_test_op_seconds_count{parity=\"odd\"} 200000\n"));
  assert_non_null(strstr(text, "gw_test_level 400000\n"));
  /* each tuple was created once: 51 series, nothing dropped */
  assert_int_equal(count_prefix_lines(text, "gw_test_ops_total{"), SHARED_TUPLES + 1);
  assert_null(strstr(text, "gw_metrics_series_dropped_total"));
  gw_free(text);
  gw_metrics_free(r);
}

/* ---- registration ----------------------------------------------------------- */

static void invalid_names_refused(void **state)
{
  static const double good[] = { 0.1, 1 };
  static const double unsorted[] = { 1, 0.1 };
  static const double equal[] = { 0.1, 0.1 };
  static const double inf[] = { 0.1, (double)INFINITY };
  static const double nan[] = { (double)NAN };
  double many[GW_METRICS_BUCKETS_MAX + 1];
  char long_name[GW_METRICS_NAME_MAX + 2];
  char help[GW_METRICS_HELP_MAX + 2];
  struct gw_metrics *r = gw_metrics_new(0);
  struct gw_metric *m = (struct gw_metric *)&m;   /* must be reset to NULL */
  (void)state;
  for(size_t i = 0; i < sizeof(many) / sizeof(many[0]); i++)
    many[i] = (double)(i + 1);
  memset(long_name, 'a', sizeof(long_name) - 1);
  long_name[sizeof(long_name) - 1] = '\0';
  memset(help, 'h', sizeof(help) - 1);
  help[sizeof(help) - 1] = '\0';

  /* metric names: syntax and conventions */
  assert_int_equal(gw_metrics_counter(r, "", "h", NULL, &m), GW_METRICS_BAD_NAME);
  assert_null(m);
  assert_int_equal(gw_metrics_counter(r, NULL, "h", NULL, &m), GW_METRICS_BAD_NAME);
  assert_int_equal(gw_metrics_counter(r, "1abc_total", "h", NULL, &m), GW_METRICS_BAD_NAME);
  assert_int_equal(gw_metrics_counter(r, "a-b_total", "h", NULL, &m), GW_METRICS_BAD_NAME);
  assert_int_equal(gw_metrics_counter(r, "a b_total", "h", NULL, &m), GW_METRICS_BAD_NAME);
  assert_int_equal(gw_metrics_counter(r, "caf\xc3\xa9_total", "h", NULL, &m), GW_METRICS_BAD_NAME);
  assert_int_equal(gw_metrics_counter(r, "gw_requests", "h", NULL, &m), GW_METRICS_BAD_NAME);
  assert_int_equal(gw_metrics_gauge(r, "gw_level_total", "h", NULL, &m), GW_METRICS_BAD_NAME);
  assert_int_equal(gw_metrics_gauge(r, "gw_x_count", "h", NULL, &m), GW_METRICS_BAD_NAME);
  assert_int_equal(gw_metrics_gauge(r, "gw_x_sum", "h", NULL, &m), GW_METRICS_BAD_NAME);
  assert_int_equal(gw_metrics_gauge(r, "gw_x_bucket", "h", NULL, &m), GW_METRICS_BAD_NAME);
  assert_int_equal(gw_metrics_histogram(r, "gw_x_total", "h", NULL, good, 2, &m),
                   GW_METRICS_BAD_NAME);
  assert_int_equal(gw_metrics_gauge(r, long_name, "h", NULL, &m), GW_METRICS_BAD_NAME);
  long_name[GW_METRICS_NAME_MAX] = '\0';                      /* exactly the cap: fine */
  assert_int_equal(gw_metrics_gauge(r, long_name, "h", NULL, &m), GW_METRICS_OK);
  assert_int_equal(gw_metrics_counter(r, "gw:recorded_total", "h", NULL, &m), GW_METRICS_OK);
  assert_int_equal(gw_metrics_counter(r, "_x_total", "h", NULL, &m), GW_METRICS_OK);

  /* label names */
  assert_int_equal(gw_metrics_counter(r, "l1_total", "h", GW_LABELS("__reserved"), &m),
                   GW_METRICS_BAD_LABEL);
  assert_null(m);
  assert_int_equal(gw_metrics_counter(r, "l2_total", "h", GW_LABELS("a:b"), &m),
                   GW_METRICS_BAD_LABEL);
  assert_int_equal(gw_metrics_counter(r, "l3_total", "h", GW_LABELS("1a"), &m),
                   GW_METRICS_BAD_LABEL);
  assert_int_equal(gw_metrics_counter(r, "l4_total", "h", GW_LABELS("a", "b", "a"), &m),
                   GW_METRICS_BAD_LABEL);
  assert_int_equal(gw_metrics_histogram(r, "l5_seconds", "h", GW_LABELS("le"), good, 2, &m),
                   GW_METRICS_BAD_LABEL);
  assert_int_equal(gw_metrics_gauge(r, "l6", "h", GW_LABELS("quantile"), &m),
                   GW_METRICS_BAD_LABEL);
  assert_int_equal(gw_metrics_gauge(r, "l7", "h", GW_LABELS(""), &m), GW_METRICS_BAD_LABEL);
  assert_int_equal(gw_metrics_gauge(r, "l8", "h",
                                    GW_LABELS("a", "b", "c", "d", "e", "f", "g", "h", "i"), &m),
                   GW_METRICS_BAD_LABEL);
  assert_int_equal(gw_metrics_gauge(r, "l9", "h", GW_LABELS("a", "b", "c", "d", "e", "f", "g",
                                                            "h"), &m), GW_METRICS_OK);

  /* help */
  assert_int_equal(gw_metrics_gauge(r, "h1", NULL, NULL, &m), GW_METRICS_BAD_HELP);
  assert_int_equal(gw_metrics_gauge(r, "h2", "", NULL, &m), GW_METRICS_BAD_HELP);
  assert_int_equal(gw_metrics_gauge(r, "h3", "two\nlines", NULL, &m), GW_METRICS_BAD_HELP);
  assert_int_equal(gw_metrics_gauge(r, "h4", "\xe7\xbc\x93\xe5\xad\x98", NULL, &m),
                   GW_METRICS_BAD_HELP);
  assert_int_equal(gw_metrics_gauge(r, "h5", help, NULL, &m), GW_METRICS_BAD_HELP);

  /* buckets */
  assert_int_equal(gw_metrics_histogram(r, "b1_seconds", "h", NULL, NULL, 0, &m),
                   GW_METRICS_BAD_BUCKETS);
  assert_int_equal(gw_metrics_histogram(r, "b2_seconds", "h", NULL, good, 0, &m),
                   GW_METRICS_BAD_BUCKETS);
  assert_int_equal(gw_metrics_histogram(r, "b3_seconds", "h", NULL, unsorted, 2, &m),
                   GW_METRICS_BAD_BUCKETS);
  assert_int_equal(gw_metrics_histogram(r, "b4_seconds", "h", NULL, equal, 2, &m),
                   GW_METRICS_BAD_BUCKETS);
  assert_int_equal(gw_metrics_histogram(r, "b5_seconds", "h", NULL, inf, 2, &m),
                   GW_METRICS_BAD_BUCKETS);
  assert_int_equal(gw_metrics_histogram(r, "b6_seconds", "h", NULL, nan, 1, &m),
                   GW_METRICS_BAD_BUCKETS);
  assert_int_equal(gw_metrics_histogram(r, "b7_seconds", "h", NULL, many,
                                        GW_METRICS_BUCKETS_MAX + 1, &m), GW_METRICS_BAD_BUCKETS);
  assert_int_equal(gw_metrics_histogram(r, "b8_seconds", "h", NULL, many,
                                        GW_METRICS_BUCKETS_MAX, &m), GW_METRICS_OK);

  /* duplicates, including the built-in dropped counter */
  assert_int_equal(gw_metrics_gauge(r, "dup", "h", NULL, &m), GW_METRICS_OK);
  assert_int_equal(gw_metrics_gauge(r, "dup", "h", NULL, &m), GW_METRICS_DUPLICATE);
  assert_null(m);
  assert_int_equal(gw_metrics_counter(r, GW_METRICS_DROPPED_NAME, "h", NULL, &m),
                   GW_METRICS_DUPLICATE);
  assert_string_equal(gw_metrics_result_name(GW_METRICS_DUPLICATE), "duplicate");
  gw_metrics_free(r);
}

static void registry_full(void **state)
{
  struct gw_metrics *r = gw_metrics_new(0);
  struct gw_metric *m;
  char name[32];
  (void)state;
  for(int i = 0; i < GW_METRICS_MAX; i++) {
    snprintf(name, sizeof(name), "gw_g%03d", i);
    assert_int_equal(gw_metrics_gauge(r, name, "h", NULL, &m), GW_METRICS_OK);
  }
  assert_int_equal(gw_metrics_gauge(r, "gw_one_more", "h", NULL, &m), GW_METRICS_FULL);
  assert_null(m);
  gw_metrics_free(r);
}

/* ---- functions read at render time ------------------------------------------- */

static double read_double(void *arg)
{
  return *(const double *)arg;
}

static void gauge_callbacks(void **state)
{
  static const double bounds[] = { 1 };
  struct gw_metrics *r = gw_metrics_new(0);
  struct gw_metric *bytes_m, *state_m, *hits_m, *hist_m;
  struct gw_metric_series *chsi;
  double bytes = 1048576, breaker = 2, hits = 12;
  (void)state;
  assert_int_equal(gw_metrics_gauge_func(r, "gw_cache_bytes", "Bytes held by the fact cache.",
                                         read_double, &bytes, &bytes_m), GW_METRICS_OK);
  assert_int_equal(gw_metrics_gauge(r, "gw_breaker_state", "Breaker state by adapter.",
                                    GW_LABELS("adapter"), &state_m), GW_METRICS_OK);
  assert_int_equal(gw_metrics_counter(r, "gw_cache_hits_total", "Cache hits.", NULL, &hits_m),
                   GW_METRICS_OK);
  assert_int_equal(gw_metrics_histogram(r, "gw_wait_seconds", "h", NULL, bounds, 1, &hist_m),
                   GW_METRICS_OK);
  chsi = gw_metric_series(state_m, GW_LABELS("chsi"));
  assert_int_equal(gw_metric_bind(chsi, read_double, &breaker), GW_METRICS_OK);
  gw_metric_set(chsi, 5);                        /* stored, hidden while bound */
  gw_metric_set_labels(state_m, GW_LABELS("mps"), 1);
  assert_int_equal(gw_metric_bind(gw_metric_series(hits_m, NULL), read_double, &hits),
                   GW_METRICS_OK);
  assert_int_equal(gw_metric_bind(gw_metric_series(hist_m, NULL), read_double, &hits),
                   GW_METRICS_BAD_TYPE);
  assert_int_equal(gw_metric_bind(NULL, read_double, &hits), GW_METRICS_BAD_TYPE);
  assert_render(r,
    "# HELP gw_breaker_state Breaker state by adapter.\n"
    "# TYPE gw_breaker_state gauge\n"
    "gw_breaker_state{adapter=\"chsi\"} 2\n"
    "gw_breaker_state{adapter=\"mps\"} 1\n"
    "# HELP gw_cache_bytes Bytes held by the fact cache.\n"
    "# TYPE gw_cache_bytes gauge\n"
    "gw_cache_bytes 1048576\n"
    "# HELP gw_cache_hits_total Cache hits.\n"
    "# TYPE gw_cache_hits_total counter\n"
    "gw_cache_hits_total 12\n"
    "# HELP gw_wait_seconds h\n"
    "# TYPE gw_wait_seconds histogram\n"
    "gw_wait_seconds_bucket{le=\"1\"} 0\n"
    "gw_wait_seconds_bucket{le=\"+Inf\"} 0\n"
    "gw_wait_seconds_sum 0\n"
    "gw_wait_seconds_count 0\n");
  /* read at each render; unbinding shows the stored value again */
  bytes = 2048.5;
  breaker = 0;
  hits = 13;
  assert_int_equal(gw_metric_bind(chsi, NULL, NULL), GW_METRICS_OK);
  assert_render(r,
    "# HELP gw_breaker_state Breaker state by adapter.\n"
    "# TYPE gw_breaker_state gauge\n"
    "gw_breaker_state{adapter=\"chsi\"} 5\n"
    "gw_breaker_state{adapter=\"mps\"} 1\n"
    "# HELP gw_cache_bytes Bytes held by the fact cache.\n"
    "# TYPE gw_cache_bytes gauge\n"
    "gw_cache_bytes 2048.5\n"
    "# HELP gw_cache_hits_total Cache hits.\n"
    "# TYPE gw_cache_hits_total counter\n"
    "gw_cache_hits_total 13\n"
    "# HELP gw_wait_seconds h\n"
    "# TYPE gw_wait_seconds histogram\n"
    "gw_wait_seconds_bucket{le=\"1\"} 0\n"
    "gw_wait_seconds_bucket{le=\"+Inf\"} 0\n"
    "gw_wait_seconds_sum 0\n"
    "gw_wait_seconds_count 0\n");
  gw_metrics_free(r);
}

static void null_handles_are_no_ops(void **state)
{
  (void)state;
  assert_null(gw_metric_series(NULL, GW_LABELS("x")));
  gw_metric_inc(NULL);
  gw_metric_add(NULL, 3);
  gw_metric_set(NULL, 1);
  gw_metric_gauge_add(NULL, 1);
  gw_metric_observe(NULL, 1);
  gw_metric_inc_labels(NULL, GW_LABELS("x"));
  gw_metric_observe_labels(NULL, GW_LABELS("x"), 1);
  assert_int_equal(gw_metric_counter_value(NULL), 0);
  assert_true(gw_metric_gauge_value(NULL) == 0.0);
  assert_int_equal(gw_metric_histogram_count(NULL), 0);
  gw_metrics_free(NULL);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(empty_registry_renders_nothing),
    cmocka_unit_test(counters_render_exactly),
    cmocka_unit_test(gauges_render_exactly),
    cmocka_unit_test(histograms_render_exactly),
    cmocka_unit_test(bucket_boundaries),
    cmocka_unit_test(label_values_escaped_and_validated),
    cmocka_unit_test(series_cap_and_overflow),
    cmocka_unit_test(default_series_cap),
    cmocka_unit_test(concurrent_updates_exact),
    cmocka_unit_test(invalid_names_refused),
    cmocka_unit_test(registry_full),
    cmocka_unit_test(gauge_callbacks),
    cmocka_unit_test(null_handles_are_no_ops),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
