/*
 * observe.c - the gateway's event hooks and the metrics they feed.
 *
 * Hot paths look a series up by label values (lock-free for series that
 * exist).  This file is the bottom half of observability: it knows only the
 * metrics registry, so every layer may call its hooks.  Values read from other
 * subsystems at scrape time (cache statistics, audit log, breaker states, open
 * connections) are the collectors of runtime/obs_collect.c, which register
 * their own metrics in the same registry.
 */
#include "gw/observe.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "metrics.h"

static const double latency_bounds[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                         0.25, 0.5, 1, 2.5, 5, 10 };
#define N_BOUNDS (sizeof(latency_bounds) / sizeof(latency_bounds[0]))
/* Queue waits: most are zero, so the first buckets are fine-grained. */
static const double queue_bounds[] = { 0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                       0.05, 0.1, 0.25, 0.5, 1, 2.5, 5 };
#define N_QUEUE_BOUNDS (sizeof(queue_bounds) / sizeof(queue_bounds[0]))

static struct {
  atomic_int ready;
  struct gw_metric *http_requests, *http_duration;
  struct gw_metric *query_duration, *query_facts;
  struct gw_metric *upstream_requests, *upstream_duration, *fetches, *queue_wait;
  struct gw_metric *audit_entries;
  struct gw_metric *build_info;
} obs;

static double one(void *arg)
{
  (void)arg;
  return 1;
}

/* ---- registration ------------------------------------------------------------- */

int gw_obs_init_hooks(const char *version)
{
  struct gw_metrics *r = gw_metrics_default();
  int bad = 0;

#define REG(call) do { if((call) != GW_METRICS_OK) bad = 1; } while(0)
  REG(gw_metrics_counter(r, "gw_http_requests_total", "HTTP requests answered on both listeners.",
                         GW_LABELS("route", "method", "status"), &obs.http_requests));
  REG(gw_metrics_histogram(r, "gw_http_request_duration_seconds",
                           "Time from a request's complete head to its answer.",
                           GW_LABELS("route"), latency_bounds, N_BOUNDS, &obs.http_duration));
  REG(gw_metrics_histogram(r, "gw_query_duration_seconds",
                           "Time to answer one fact query, to a durable audit record.",
                           GW_LABELS("purpose", "result"), latency_bounds, N_BOUNDS,
                           &obs.query_duration));
  REG(gw_metrics_counter(r, "gw_query_facts_total", "Facts answered in queries.",
                         GW_LABELS("fact", "status"), &obs.query_facts));
  REG(gw_metrics_counter(r, "gw_upstream_requests_total",
                         "HTTP exchanges attempted with an agency, retries included.",
                         GW_LABELS("adapter", "outcome"), &obs.upstream_requests));
  REG(gw_metrics_histogram(r, "gw_upstream_request_duration_seconds",
                           "Time of one exchange with an agency.", GW_LABELS("adapter"),
                           latency_bounds, N_BOUNDS, &obs.upstream_duration));
  REG(gw_metrics_histogram(r, "gw_adapter_queue_seconds",
                           "Time a call to an agency waited: for a concurrency slot (stage "
                           "limiter, once per fetch), for a pooled connection (stage "
                           "connection_pool, once per exchange) and for a slot to open a "
                           "new one (stage connection_open, upstream.max_connecting).",
                           GW_LABELS("adapter", "stage"), queue_bounds, N_QUEUE_BOUNDS,
                           &obs.queue_wait));
  REG(gw_metrics_counter(r, "gw_adapter_fetches_total",
                         "Fetches of facts from an agency after retries, verification and mapping.",
                         GW_LABELS("adapter", "result"), &obs.fetches));
  REG(gw_metrics_counter(r, "gw_audit_entries_total", "Records appended to the audit log.",
                         GW_LABELS("kind"), &obs.audit_entries));
  REG(gw_metrics_gauge(r, "gw_build_info", "Always 1; carries the gateway's version.",
                       GW_LABELS("version"), &obs.build_info));
#undef REG
  if(bad)
    return -1;
  bad |= gw_metric_bind(gw_metric_series(obs.build_info, GW_LABELS(version)), one, NULL)
         != GW_METRICS_OK;
  atomic_store(&obs.ready, !bad);
  return bad ? -1 : 0;
}

void gw_obs_stop_hooks(void)
{
  atomic_store(&obs.ready, 0);
}

static void status_label(int status, char *buf, size_t len)
{
  snprintf(buf, len, "%d", status);
}

void gw_obs_http(const char *route, const char *method, int status, int64_t duration_us)
{
  char st[8];
  if(!atomic_load_explicit(&obs.ready, memory_order_relaxed))
    return;
  status_label(status, st, sizeof(st));
  gw_metric_inc_labels(obs.http_requests, GW_LABELS(route, method, st));
  gw_metric_observe_labels(obs.http_duration, GW_LABELS(route), (double)duration_us / 1e6);
}

void gw_obs_query(const char *purpose, const char *result, int64_t duration_us)
{
  if(!atomic_load_explicit(&obs.ready, memory_order_relaxed))
    return;
  gw_metric_observe_labels(obs.query_duration, GW_LABELS(purpose, result),
                           (double)duration_us / 1e6);
}

void gw_obs_query_fact(const char *fact, const char *status)
{
  if(atomic_load_explicit(&obs.ready, memory_order_relaxed))
    gw_metric_inc_labels(obs.query_facts, GW_LABELS(fact, status));
}

void gw_obs_upstream(const char *adapter, const char *outcome, int64_t duration_us)
{
  if(!atomic_load_explicit(&obs.ready, memory_order_relaxed))
    return;
  gw_metric_inc_labels(obs.upstream_requests, GW_LABELS(adapter, outcome));
  gw_metric_observe_labels(obs.upstream_duration, GW_LABELS(adapter), (double)duration_us / 1e6);
}

void gw_obs_queue(const char *adapter, const char *stage, int64_t waited_us)
{
  if(!atomic_load_explicit(&obs.ready, memory_order_relaxed))
    return;
  gw_metric_observe_labels(obs.queue_wait, GW_LABELS(adapter, stage),
                           (double)(waited_us > 0 ? waited_us : 0) / 1e6);
}

void gw_obs_fetch(const char *adapter, const char *result)
{
  if(atomic_load_explicit(&obs.ready, memory_order_relaxed))
    gw_metric_inc_labels(obs.fetches, GW_LABELS(adapter, result));
}

void gw_obs_audit(const char *kind)
{
  if(atomic_load_explicit(&obs.ready, memory_order_relaxed))
    gw_metric_inc_labels(obs.audit_entries, GW_LABELS(kind));
}

char *gw_obs_render(size_t *len)
{
  char *out = NULL;
  if(gw_metrics_render(gw_metrics_default(), &out, len) != GW_METRICS_OK)
    return NULL;
  return out;
}
