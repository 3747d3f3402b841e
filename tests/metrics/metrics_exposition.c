/*
 * metrics_exposition.c - prints a metrics exposition for promtool_check.sh
 * to hand to an independent parser and linter (`promtool check metrics`).
 *
 *   metrics_exposition gateway   every metric of docs/metrics.md, registered
 *                                as the gateway's subsystems will, after a
 *                                small simulated workload
 *   metrics_exposition edge      the awkward corners: escaped label values,
 *                                overflow series with the dropped counter,
 *                                NaN and infinities, empty histograms
 *
 * Exit 0 with the text on stdout, 1 if any registration failed.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gw/alloc.h"
#include "metrics.h"

#define N_BOUNDS(a) (sizeof(a) / sizeof((a)[0]))

static const double latency_bounds[] = {
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10
};
static const double fsync_bounds[] = {
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1
};

static int failed;

/* Registration results are checked once here: any failure fails the run. */
static void must(enum gw_metrics_result res, const char *name)
{
  if(res != GW_METRICS_OK) {
    fprintf(stderr, "metrics_exposition: %s: %s\n", name, gw_metrics_result_name(res));
    failed = 1;
  }
}

#define COUNTER(r, var, name, help, labels) \
  must(gw_metrics_counter(r, name, help, labels, &var), name)
#define GAUGE(r, var, name, help, labels) \
  must(gw_metrics_gauge(r, name, help, labels, &var), name)
#define HISTOGRAM(r, var, name, help, labels, bounds) \
  must(gw_metrics_histogram(r, name, help, labels, bounds, N_BOUNDS(bounds), &var), name)
#define GAUGE_FUNC(r, var, name, help, fn, arg) \
  must(gw_metrics_gauge_func(r, name, help, fn, arg, &var), name)

/* Stand-ins for the numbers other subsystems keep (cache statistics, open
 * connections), read at render time as the gateway will. */
struct fake_cache {
  double hits, misses, coalesced, stale_served, evictions, bytes, entries;
};

static double read_double(void *arg)
{
  return *(const double *)arg;
}

static void bind_or_fail(struct gw_metric *m, double *value)
{
  if(gw_metric_bind(gw_metric_series(m, NULL), read_double, value) != GW_METRICS_OK) {
    fprintf(stderr, "metrics_exposition: bind failed\n");
    failed = 1;
  }
}

static void gateway_set(struct gw_metrics *r)
{
  static const char *const adapters[] = {
    "chsi-degrees", "mps-identity", "si-insurance", "credit-status",
    "cscse-overseas", "qual-certificates", "talent-level"
  };
  static const char *const purposes[] = {
    "talent.graduate", "talent.inservice", "talent.overseas", "talent.postdoc",
    "talent.highlevel"
  };
  static struct fake_cache cache = { 1500, 420, 37, 4, 12, 7340032, 1380 };
  static double api_conns = 17, ops_conns = 1;
  struct gw_metric *http_req, *http_dur, *conns, *q_dur, *q_facts, *up_req, *up_dur, *fetches, *queue;
  struct gw_metric *breaker, *c_hits, *c_miss, *c_coal, *c_stale, *c_evict, *c_bytes, *c_entries;
  struct gw_metric *a_entries, *a_fsync, *a_fsyncs, *a_size, *build;
  struct gw_metric *a_failed, *a_recov, *a_bytes, *a_ckpt_t, *a_ckpt_n, *cert, *started;
  struct gw_metric *cl_up, *cl_lookups, *cl_fallbacks, *cl_writes, *cl_rate, *redis_cmds;
  struct gw_metric *w_cosig, *w_refused, *w_received, *w_failed;
  struct gw_metric_series *s;

  COUNTER(r, http_req, "gw_http_requests_total",
          "HTTP requests answered, by route pattern, method and status code.",
          GW_LABELS("route", "method", "status"));
  HISTOGRAM(r, http_dur, "gw_http_request_duration_seconds",
            "Time from a request's head to its last response byte, by route pattern.",
            GW_LABELS("route"), latency_bounds);
  GAUGE(r, conns, "gw_http_open_connections",
        "Client connections currently open, by listener.", GW_LABELS("listener"));
  HISTOGRAM(r, q_dur, "gw_query_duration_seconds",
            "Time to answer a fact query, by purpose and whether every fact was ok.",
            GW_LABELS("purpose", "result"), latency_bounds);
  COUNTER(r, q_facts, "gw_query_facts_total",
          "Facts answered in queries, by fact and per-fact status.",
          GW_LABELS("fact", "status"));
  COUNTER(r, up_req, "gw_upstream_requests_total",
          "HTTP exchanges attempted with agencies (retries included), by adapter and "
          "transport outcome.", GW_LABELS("adapter", "outcome"));
  HISTOGRAM(r, up_dur, "gw_upstream_request_duration_seconds",
            "Time of one agency exchange, by adapter.", GW_LABELS("adapter"), latency_bounds);
  HISTOGRAM(r, queue, "gw_adapter_queue_seconds",
            "Time a call to an agency waited, by adapter and stage (limiter, connection_pool).",
            GW_LABELS("adapter", "stage"), latency_bounds);
  COUNTER(r, fetches, "gw_adapter_fetches_total",
          "Fact fetches from agencies after retries and verification, by adapter and result.",
          GW_LABELS("adapter", "result"));
  GAUGE(r, breaker, "gw_breaker_state",
        "Circuit breaker state by adapter: 0 closed, 1 open, 2 half-open.",
        GW_LABELS("adapter"));
  COUNTER(r, c_hits, "gw_cache_hits_total", "Fact cache lookups answered from the cache.", NULL);
  COUNTER(r, c_miss, "gw_cache_misses_total",
          "Fact cache lookups that found no usable entry (coalesced ones included).", NULL);
  COUNTER(r, c_coal, "gw_cache_coalesced_total",
          "Cache misses that waited for another request's fetch of the same key.", NULL);
  COUNTER(r, c_stale, "gw_cache_stale_served_total",
          "Failed fetches answered with a stale entry (stale-if-error).", NULL);
  COUNTER(r, c_evict, "gw_cache_evictions_total",
          "Entries evicted to stay within the cache's byte cap.", NULL);
  GAUGE_FUNC(r, c_bytes, "gw_cache_bytes", "Bytes held by the fact cache.",
             read_double, &cache.bytes);
  GAUGE_FUNC(r, c_entries, "gw_cache_entries", "Entries held by the fact cache.",
             read_double, &cache.entries);
  COUNTER(r, a_entries, "gw_audit_entries_total",
          "Records appended to the audit log, by kind.", GW_LABELS("kind"));
  COUNTER(r, a_fsync, "gw_audit_fsync_seconds_total",
          "Time spent making audit group commits durable.", NULL);
  COUNTER(r, a_fsyncs, "gw_audit_fsyncs_total", "Audit group commits made durable.", NULL);
  GAUGE(r, a_size, "gw_audit_tree_size", "Records in the audit log's Merkle tree.", NULL);
  GAUGE(r, a_failed, "gw_audit_failed", "1 while the audit log refuses appends.", NULL);
  COUNTER(r, a_recov, "gw_audit_recoveries_total",
          "Times the audit log came back by itself after a full disk.", NULL);
  GAUGE(r, a_bytes, "gw_audit_bytes", "Bytes of audit records on disk.", NULL);
  GAUGE(r, a_ckpt_t, "gw_audit_checkpoint_timestamp_seconds",
        "When a signed checkpoint last covered the whole log.", NULL);
  GAUGE(r, a_ckpt_n, "gw_audit_checkpoint_tree_size",
        "Records the latest signed checkpoint covers.", NULL);
  GAUGE(r, cert, "gw_tls_certificate_expiry_timestamp_seconds",
        "When the listener's server certificate expires.", GW_LABELS("listener"));
  GAUGE(r, started, "gw_start_time_seconds", "When gatewayd started.", NULL);
  GAUGE(r, cl_up, "gw_cluster_redis_connections_up",
        "Worker connections to the cluster's Redis that are up now.", NULL);
  COUNTER(r, cl_lookups, "gw_cluster_lookups_total",
          "Shared-cache claims answered by Redis, by result.", GW_LABELS("result"));
  COUNTER(r, cl_fallbacks, "gw_cluster_fallbacks_total",
          "Times an instance worked on local state because Redis failed it.",
          GW_LABELS("reason"));
  COUNTER(r, cl_writes, "gw_cluster_writes_total",
          "Shared values written under a lease, or refused as late.", GW_LABELS("result"));
  COUNTER(r, cl_rate, "gw_cluster_rate_checks_total",
          "Cluster-wide agency rate bucket round trips.", NULL);
  COUNTER(r, redis_cmds, "gw_redis_commands_total", "Commands sent to Redis.", NULL);
  COUNTER(r, w_cosig, "gw_witness_cosignatures_total",
          "Checkpoints of a peer's audit log this instance cosigned.", GW_LABELS("peer"));
  COUNTER(r, w_refused, "gw_witness_refusals_total",
          "Checkpoints of a peer refused as inconsistent with what was cosigned.",
          GW_LABELS("peer"));
  COUNTER(r, w_received, "gw_witness_received_total",
          "Valid cosignatures received from a peer.", GW_LABELS("peer"));
  COUNTER(r, w_failed, "gw_witness_submit_failures_total",
          "Checkpoint submissions to a peer that failed or were refused.", GW_LABELS("peer"));
  GAUGE(r, build, "gw_build_info", "Always 1; the gateway's version as a label.",
        GW_LABELS("version"));
  if(failed)
    return;
  gw_metric_set(gw_metric_series(cl_up, NULL), 2);
  gw_metric_add_labels(cl_lookups, GW_LABELS("value"), 12);
  gw_metric_add_labels(cl_fallbacks, GW_LABELS("timeout"), 1);
  gw_metric_add_labels(cl_writes, GW_LABELS("published"), 3);
  gw_metric_add(gw_metric_series(cl_rate, NULL), 4);
  gw_metric_add(gw_metric_series(redis_cmds, NULL), 20);
  gw_metric_add_labels(w_cosig, GW_LABELS("gw-b"), 5);
  gw_metric_add_labels(w_refused, GW_LABELS("gw-b"), 1);
  gw_metric_add_labels(w_received, GW_LABELS("gw-b"), 5);
  gw_metric_add_labels(w_failed, GW_LABELS("gw-b"), 2);

  /* the cache's own statistics, read at render time */
  bind_or_fail(c_hits, &cache.hits);
  bind_or_fail(c_miss, &cache.misses);
  bind_or_fail(c_coal, &cache.coalesced);
  bind_or_fail(c_stale, &cache.stale_served);
  bind_or_fail(c_evict, &cache.evictions);
  if(gw_metric_bind(gw_metric_series(conns, GW_LABELS("api")), read_double, &api_conns) ||
     gw_metric_bind(gw_metric_series(conns, GW_LABELS("ops")), read_double, &ops_conns))
    failed = 1;

  /* a small workload */
  for(int i = 0; i < 40; i++) {
    const char *purpose = purposes[i % 5];
    int partial = i % 7 == 0;
    gw_metric_inc_labels(http_req, GW_LABELS("/v1/facts/query", "POST", "200"));
    gw_metric_observe_labels(http_dur, GW_LABELS("/v1/facts/query"), 0.004 * (i + 1));
    gw_metric_observe_labels(q_dur, GW_LABELS(purpose, partial ? "incomplete" : "complete"),
                             0.0035 * (i + 1));
    gw_metric_inc_labels(q_facts, GW_LABELS("identity.match", "ok"));
    gw_metric_inc_labels(q_facts, GW_LABELS("credit.status", partial ? "unavailable" : "ok"));
  }
  gw_metric_inc_labels(q_facts, GW_LABELS("education.degrees", "not_found"));
  gw_metric_inc_labels(q_facts, GW_LABELS("talent.level", "denied"));
  gw_metric_add_labels(http_req, GW_LABELS("/v1/facts/query", "POST", "400"), 3);
  gw_metric_add_labels(http_req, GW_LABELS("/v1/audit/proof", "GET", "200"), 5);
  gw_metric_add_labels(http_req, GW_LABELS("/v1/adapters/{id}", "PUT", "201"), 1);
  gw_metric_add_labels(http_req, GW_LABELS("none", "GET", "404"), 2);
  gw_metric_add_labels(http_req, GW_LABELS("/metrics", "GET", "200"), 9);
  gw_metric_observe_labels(http_dur, GW_LABELS("/metrics"), 0.0007);
  for(size_t a = 0; a < N_BOUNDS(adapters); a++) {
    s = gw_metric_series(up_dur, GW_LABELS(adapters[a]));
    for(int i = 0; i < 10; i++)
      gw_metric_observe(s, 0.012 * (double)(a + 1) * (i + 1));
    gw_metric_add_labels(up_req, GW_LABELS(adapters[a], "ok"), 10);
    gw_metric_add_labels(fetches, GW_LABELS(adapters[a], "ok"), 9);
    gw_metric_set_labels(breaker, GW_LABELS(adapters[a]), 0);
  }
  gw_metric_set_labels(cert, GW_LABELS("api"), 1798761600);
  gw_metric_set_labels(a_ckpt_t, NULL, 1796000000.25);
  (void)a_failed; (void)a_recov; (void)a_bytes; (void)a_ckpt_n; (void)started;
  gw_metric_add_labels(up_req, GW_LABELS("credit-status", "timeout"), 4);
  gw_metric_inc_labels(up_req, GW_LABELS("mps-identity", "tls"));
  gw_metric_observe_labels(queue, GW_LABELS("chsi-degrees", "limiter"), 0);
  gw_metric_observe_labels(queue, GW_LABELS("chsi-degrees", "connection_pool"), 0.0004);
  gw_metric_inc_labels(fetches, GW_LABELS("chsi-degrees", "not_found"));
  gw_metric_add_labels(fetches, GW_LABELS("credit-status", "timeout"), 2);
  gw_metric_add_labels(fetches, GW_LABELS("credit-status", "circuit_open"), 6);
  gw_metric_inc_labels(fetches, GW_LABELS("chsi-degrees", "bad_signature"));
  gw_metric_set_labels(breaker, GW_LABELS("credit-status"), 1);
  gw_metric_set_labels(breaker, GW_LABELS("mps-identity"), 2);
  gw_metric_add_labels(a_entries, GW_LABELS("fetch"), 84);
  gw_metric_add_labels(a_entries, GW_LABELS("query"), 40);
  s = gw_metric_series(a_fsync, NULL);
  gw_metric_add(s, 1);
  gw_metric_add(gw_metric_series(a_fsyncs, NULL), 30);
  gw_metric_set(gw_metric_series(a_size, NULL), 1024);
  gw_metric_set_labels(build, GW_LABELS("0.1.0"), 1);
}

static void edge_set(struct gw_metrics *r)
{
  struct gw_metric *esc, *cap, *val, *empty, *hist;
  COUNTER(r, esc, "gw_edge_escape_total", "Label values that need escaping: \\ and \".",
          GW_LABELS("value"));
  COUNTER(r, cap, "gw_edge_capped_total", "A metric over its series cap.", GW_LABELS("id"));
  GAUGE(r, val, "gw_edge_value", "Special floating-point values.", GW_LABELS("case"));
  HISTOGRAM(r, empty, "gw_edge_empty_seconds", "A histogram never observed.", NULL,
            latency_bounds);
  HISTOGRAM(r, hist, "gw_edge_extreme_seconds", "Observations at the extremes.",
            GW_LABELS("case"), fsync_bounds);
  if(failed)
    return;
  gw_metric_inc_labels(esc, GW_LABELS("back\\slash"));
  gw_metric_inc_labels(esc, GW_LABELS("quote\"d"));
  gw_metric_inc_labels(esc, GW_LABELS("\\\"\\\\\"\""));
  gw_metric_inc_labels(esc, GW_LABELS(" spaces and {braces}, = signs "));
  gw_metric_inc_labels(esc, GW_LABELS("new\nline"));          /* refused: _other */
  for(int i = 0; i < 10; i++) {                                /* the registry's cap is 8 */
    char id[8];
    snprintf(id, sizeof(id), "id%d", i);
    gw_metric_inc_labels(cap, GW_LABELS(id));
  }
  gw_metric_set_labels(val, GW_LABELS("nan"), (double)NAN);
  gw_metric_set_labels(val, GW_LABELS("plus_inf"), (double)INFINITY);
  gw_metric_set_labels(val, GW_LABELS("minus_inf"), -(double)INFINITY);
  gw_metric_set_labels(val, GW_LABELS("tiny"), 4.9e-324);
  gw_metric_set_labels(val, GW_LABELS("huge"), 1.7976931348623157e308);
  gw_metric_set_labels(val, GW_LABELS("negative"), -0.1);
  gw_metric_observe_labels(hist, GW_LABELS("inf"), (double)INFINITY);
  gw_metric_observe_labels(hist, GW_LABELS("tiny"), 1e-9);
  gw_metric_observe_labels(hist, GW_LABELS("bound"), 0.0005);
}

int main(int argc, char **argv)
{
  struct gw_metrics *r;
  char *text = NULL;
  size_t len = 0;
  int rc = 1;
  if(argc != 2 || (strcmp(argv[1], "gateway") && strcmp(argv[1], "edge"))) {
    fprintf(stderr, "usage: metrics_exposition gateway|edge\n");
    return 2;
  }
  r = gw_metrics_new(strcmp(argv[1], "edge") ? 0 : 8);
  if(!strcmp(argv[1], "gateway"))
    gateway_set(r);
  else
    edge_set(r);
  if(failed)
    goto out;
  if(gw_metrics_render(r, &text, &len) != GW_METRICS_OK)
    goto out;
  if(fwrite(text, 1, len, stdout) != len || fflush(stdout))
    goto out;
  rc = 0;
out:
  gw_free(text);
  gw_metrics_free(r);
  return rc;
}
