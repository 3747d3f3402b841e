/*
 * obs_collect.c - the metrics collectors: values the gateway does not count
 * as events but reads from its subsystems when /metrics is scraped (cache
 * statistics, the audit log, breaker states, open connections).
 *
 * The shape of h2o's status handlers: the hooks at the bottom (base/observe.c)
 * know only the metrics registry; the collectors sit in the runtime, above
 * every layer they read, and register their own gauges and counters bound to
 * functions that pull the value at render time.
 */
#include "gw/obs_collect.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "gw/app.h"
#include "gw/audit.h"
#include "gw/front.h"
#include "gw/log.h"
#include "gw/observe.h"
#include "gw/policy.h"
#include "cache.h"
#include "metrics.h"

static struct {
  atomic_int ready;
  struct gw_app *app;
  struct gw_rtset *bound;        /* the runtimes gw_breaker_state reads */
  struct gw_metric *open_conns;
  struct gw_metric *breaker_state;
  struct gw_metric *cache_hits, *cache_misses, *cache_coalesced, *cache_stale, *cache_evictions;
  struct gw_metric *cache_bytes, *cache_entries;
  struct gw_metric *audit_fsync_seconds, *audit_fsyncs, *audit_tree_size;
} obs;

/* ---- values read at render time --------------------------------------------- */

enum cache_field { C_HITS, C_MISSES, C_COALESCED, C_STALE, C_EVICTIONS, C_BYTES, C_ENTRIES };

static double cache_value(void *arg)
{
  struct gw_cache_stats st;
  if(!obs.app || !obs.app->cache)
    return 0;
  gw_cache_get_stats(obs.app->cache, &st);
  switch((enum cache_field)(intptr_t)arg) {
  case C_HITS:      return (double)st.hits;
  case C_MISSES:    return (double)st.misses;
  case C_COALESCED: return (double)st.coalesced;
  case C_STALE:     return (double)st.stale_served;
  case C_EVICTIONS: return (double)st.evictions;
  case C_BYTES:     return (double)st.bytes;
  case C_ENTRIES:   return (double)st.entries;
  }
  return 0;
}

static double audit_fsync_sum(void *arg)
{
  struct gw_audit_metrics m;
  (void)arg;
  gw_audit_metrics(obs.app->audit, &m);
  return m.fsync_sum_s;
}

static double audit_fsync_count(void *arg)
{
  struct gw_audit_metrics m;
  (void)arg;
  gw_audit_metrics(obs.app->audit, &m);
  return (double)m.fsync_count;
}

static double audit_tree_size(void *arg)
{
  (void)arg;
  return (double)gw_audit_size(obs.app->audit);
}

static double breaker_value(void *arg)
{
  struct gw_adapter_rt *rt = arg;
  struct gw_policy_breaker_info info;
  gw_policy_breaker_info(gw_policy_state_breaker(rt->policy), gw_policy_now_ms(), &info);
  return info.state == GW_POLICY_BREAKER_CLOSED ? 0 : info.state == GW_POLICY_BREAKER_OPEN ? 1 : 2;
}

static double open_connections(void *arg)
{
  return (double)gw_server_open_connections(arg);
}

/* ---- registration ------------------------------------------------------------- */

static int bind0(struct gw_metric *m, double (*fn)(void *), void *arg)
{
  struct gw_metric_series *s = gw_metric_series(m, NULL);
  return gw_metric_bind(s, fn, arg) == GW_METRICS_OK ? 0 : -1;
}

int gw_obs_init(struct gw_app *app, const char *version)
{
  struct gw_metrics *r = gw_metrics_default();
  int bad = 0;

  if(gw_obs_init_hooks(version))
    return -1;
#define REG(call) do { if((call) != GW_METRICS_OK) bad = 1; } while(0)
  REG(gw_metrics_gauge(r, "gw_http_open_connections", "Client connections open now.",
                       GW_LABELS("listener"), &obs.open_conns));
  REG(gw_metrics_gauge(r, "gw_breaker_state",
                       "Circuit breaker state: 0 closed, 1 open, 2 half-open.",
                       GW_LABELS("adapter"), &obs.breaker_state));
  REG(gw_metrics_counter(r, "gw_cache_hits_total", "Cache lookups answered from the cache.",
                         NULL, &obs.cache_hits));
  REG(gw_metrics_counter(r, "gw_cache_misses_total", "Cache lookups that found no usable entry.",
                         NULL, &obs.cache_misses));
  REG(gw_metrics_counter(r, "gw_cache_coalesced_total",
                         "Misses that waited for a fetch of the same key already in flight.",
                         NULL, &obs.cache_coalesced));
  REG(gw_metrics_counter(r, "gw_cache_stale_served_total",
                         "Failed fetches answered with a stale entry (stale-if-error).",
                         NULL, &obs.cache_stale));
  REG(gw_metrics_counter(r, "gw_cache_evictions_total",
                         "Entries evicted to stay within the cache's byte cap.",
                         NULL, &obs.cache_evictions));
  REG(gw_metrics_gauge(r, "gw_cache_bytes", "Bytes held by the fact cache.", NULL,
                       &obs.cache_bytes));
  REG(gw_metrics_gauge(r, "gw_cache_entries", "Entries held by the fact cache.", NULL,
                       &obs.cache_entries));
  REG(gw_metrics_counter(r, "gw_audit_fsync_seconds_total",
                         "Time spent making audit group commits durable (fdatasync).",
                         NULL, &obs.audit_fsync_seconds));
  REG(gw_metrics_counter(r, "gw_audit_fsyncs_total", "Audit group commits made durable.",
                         NULL, &obs.audit_fsyncs));
  REG(gw_metrics_gauge(r, "gw_audit_tree_size", "Records in the audit log's Merkle tree.",
                       NULL, &obs.audit_tree_size));
#undef REG
  if(bad)
    return -1;
  obs.app = app;
  bad |= bind0(obs.cache_hits, cache_value, (void *)(intptr_t)C_HITS);
  bad |= bind0(obs.cache_misses, cache_value, (void *)(intptr_t)C_MISSES);
  bad |= bind0(obs.cache_coalesced, cache_value, (void *)(intptr_t)C_COALESCED);
  bad |= bind0(obs.cache_stale, cache_value, (void *)(intptr_t)C_STALE);
  bad |= bind0(obs.cache_evictions, cache_value, (void *)(intptr_t)C_EVICTIONS);
  bad |= bind0(obs.cache_bytes, cache_value, (void *)(intptr_t)C_BYTES);
  bad |= bind0(obs.cache_entries, cache_value, (void *)(intptr_t)C_ENTRIES);
  bad |= bind0(obs.audit_fsync_seconds, audit_fsync_sum, NULL);
  bad |= bind0(obs.audit_fsyncs, audit_fsync_count, NULL);
  bad |= bind0(obs.audit_tree_size, audit_tree_size, NULL);
  atomic_store(&obs.ready, !bad);
  if(!bad)
    gw_obs_rebind_breakers(app);
  return bad ? -1 : 0;
}

void gw_obs_rebind_breakers(struct gw_app *app)
{
  struct gw_rtset *rts, *old = obs.bound;
  if(!atomic_load(&obs.ready))
    return;
  rts = gw_app_rts_acquire(app);
  /* Old bindings first, so no render can call into a runtime about to go. */
  for(size_t i = 0; old && i < old->n; i++)
    (void)!gw_metric_bind(gw_metric_series(obs.breaker_state,
                                           GW_LABELS(old->rt[i]->adapter->id)), NULL, NULL);
  for(size_t i = 0; i < rts->n; i++)
    if(gw_metric_bind(gw_metric_series(obs.breaker_state, GW_LABELS(rts->rt[i]->adapter->id)),
                      breaker_value, rts->rt[i]) != GW_METRICS_OK)
      gw_log(GW_LOG_WARN, "metrics_unavailable", "breaker state of %s", rts->rt[i]->adapter->id);
  obs.bound = rts;              /* keeps the bound runtimes alive */
  gw_rtset_release(old);
}

void gw_obs_shutdown(void)
{
  struct gw_rtset *old = obs.bound;
  gw_obs_stop_hooks();
  atomic_store(&obs.ready, 0);
  for(size_t i = 0; old && i < old->n; i++)
    (void)!gw_metric_bind(gw_metric_series(obs.breaker_state,
                                           GW_LABELS(old->rt[i]->adapter->id)), NULL, NULL);
  obs.bound = NULL;
  gw_rtset_release(old);
}

void gw_obs_bind_listener(const char *name, const struct gw_server *srv)
{
  if(!atomic_load(&obs.ready))
    return;
  if(gw_metric_bind(gw_metric_series(obs.open_conns, GW_LABELS(name)), open_connections,
                    (void *)srv) != GW_METRICS_OK)
    gw_log(GW_LOG_WARN, "metrics_unavailable", "cannot bind open connections of %s", name);
}

