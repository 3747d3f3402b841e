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
#include <string.h>
#include <time.h>

#include "gw/app.h"
#include "gw/audit.h"
#include "gw/cluster.h"
#include "gw/front.h"
#include "gen.h"
#include "gw/log.h"
#include "gw/observe.h"
#include "gw/policy.h"
#include "cache.h"
#include "metrics.h"

static struct {
  atomic_int ready;
  struct gw_app *app;
  struct gw_gen *bound;          /* the generation whose runtimes the breaker
                                   series read (held) */
  struct gw_metric *open_conns;
  struct gw_metric *breaker_state;
  struct gw_metric *cache_hits, *cache_misses, *cache_coalesced, *cache_stale, *cache_evictions;
  struct gw_metric *cache_bytes, *cache_entries;
  struct gw_metric *audit_fsync_seconds, *audit_fsyncs, *audit_tree_size;
  struct gw_metric *audit_failed, *audit_recoveries, *audit_bytes;
  struct gw_metric *audit_ckpt_time, *audit_ckpt_size;
  struct gw_metric *cert_expiry, *start_time;
  double started;                /* Unix seconds at gw_obs_init */
  struct gw_metric *cl_up, *cl_lookups, *cl_fallbacks, *cl_writes, *cl_rate, *redis_cmds;
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

enum audit_field { A_FAILED, A_RECOVERIES, A_BYTES, A_CKPT_TIME, A_CKPT_SIZE };

static double audit_value(void *arg)
{
  struct gw_audit_metrics m;
  if(!obs.app || !obs.app->audit)
    return 0;
  gw_audit_metrics(obs.app->audit, &m);
  switch((enum audit_field)(intptr_t)arg) {
  case A_FAILED:     return m.failed;
  case A_RECOVERIES: return (double)m.recoveries;
  case A_BYTES:      return (double)m.bytes;
  case A_CKPT_TIME:  return m.checkpoint_unix;
  case A_CKPT_SIZE:  return (double)m.checkpoint_size;
  }
  return 0;
}

static int bind0(struct gw_metric *m, double (*fn)(void *), void *arg);

/* Cluster figures: arg = field << 8 | index. */
enum cluster_field { CL_LOOKUP, CL_FALLBACK, CL_WRITE, CL_RATE, CL_COMMANDS, CL_UP };

static double cluster_value(void *arg)
{
  struct gw_cluster_stats st;
  intptr_t a = (intptr_t)arg;
  int i = (int)(a & 0xff);
  struct gw_redis_health *h;
  if(!obs.app || !obs.app->cluster)
    return 0;
  h = gw_cluster_health(obs.app->cluster);
  gw_cluster_get_stats(obs.app->cluster, &st);
  switch((enum cluster_field)(a >> 8)) {
  case CL_LOOKUP:   return (double)(i == 0 ? st.hits : i == 1 ? st.leases : st.busy);
  case CL_FALLBACK: return (double)st.fallbacks[i];
  case CL_WRITE:    return (double)(i == 0 ? st.published : st.refused);
  case CL_RATE:     return (double)st.rate_checks;
  case CL_COMMANDS: return (double)atomic_load(&h->commands);
  case CL_UP:       return (double)atomic_load(&h->up);
  }
  return 0;
}

static double cert_not_after(void *arg)
{
  double t;
  return gw_server_cert_not_after(arg, &t) ? 0 : t;
}

static double start_time(void *arg)
{
  (void)arg;
  return obs.started;
}

#define CL_ARG(f, i) ((void *)(intptr_t)(((intptr_t)(f) << 8) | (i)))

static int bind_cluster(void)
{
  static const char *const lookups[] = { "value", "lease", "busy" };
  static const char *const writes[] = { "published", "refused" };
  int bad = 0;
  for(int i = 0; i < 3; i++)
    bad |= gw_metric_bind(gw_metric_series(obs.cl_lookups, GW_LABELS(lookups[i])), cluster_value,
                          CL_ARG(CL_LOOKUP, i)) != GW_METRICS_OK;
  for(int i = 0; i < GW_CF_COUNT; i++)
    bad |= gw_metric_bind(gw_metric_series(obs.cl_fallbacks,
                                           GW_LABELS(gw_cluster_fallback_name(i))),
                          cluster_value, CL_ARG(CL_FALLBACK, i)) != GW_METRICS_OK;
  for(int i = 0; i < 2; i++)
    bad |= gw_metric_bind(gw_metric_series(obs.cl_writes, GW_LABELS(writes[i])), cluster_value,
                          CL_ARG(CL_WRITE, i)) != GW_METRICS_OK;
  bad |= bind0(obs.cl_rate, cluster_value, CL_ARG(CL_RATE, 0));
  bad |= bind0(obs.redis_cmds, cluster_value, CL_ARG(CL_COMMANDS, 0));
  bad |= bind0(obs.cl_up, cluster_value, CL_ARG(CL_UP, 0));
  return bad;
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
  REG(gw_metrics_gauge(r, "gw_audit_failed",
                       "1 while the audit log refuses appends (queries are refused), else 0.",
                       NULL, &obs.audit_failed));
  REG(gw_metrics_counter(r, "gw_audit_recoveries_total",
                         "Times the audit log came back by itself after a full disk.",
                         NULL, &obs.audit_recoveries));
  REG(gw_metrics_gauge(r, "gw_audit_bytes", "Bytes of audit records on disk.", NULL,
                       &obs.audit_bytes));
  REG(gw_metrics_gauge(r, "gw_audit_checkpoint_timestamp_seconds",
                       "When a signed checkpoint last covered the whole log (Unix time; "
                       "the start until the first).", NULL, &obs.audit_ckpt_time));
  REG(gw_metrics_gauge(r, "gw_audit_checkpoint_tree_size",
                       "Records the latest signed checkpoint covers.", NULL,
                       &obs.audit_ckpt_size));
  REG(gw_metrics_gauge(r, "gw_tls_certificate_expiry_timestamp_seconds",
                       "When the listener's server certificate expires (notAfter, Unix time).",
                       GW_LABELS("listener"), &obs.cert_expiry));
  REG(gw_metrics_gauge(r, "gw_start_time_seconds", "When gatewayd started (Unix time).", NULL,
                       &obs.start_time));
  REG(gw_metrics_gauge(r, "gw_cluster_redis_connections_up",
                       "Worker connections to the cluster's Redis that are up now.", NULL,
                       &obs.cl_up));
  REG(gw_metrics_counter(r, "gw_cluster_lookups_total",
                         "Shared-cache claims answered by Redis: a value, the lease, or busy.",
                         GW_LABELS("result"), &obs.cl_lookups));
  REG(gw_metrics_counter(r, "gw_cluster_fallbacks_total",
                         "Times an instance worked on local state because Redis failed it.",
                         GW_LABELS("reason"), &obs.cl_fallbacks));
  REG(gw_metrics_counter(r, "gw_cluster_writes_total",
                         "Shared values written under a lease, or refused as late.",
                         GW_LABELS("result"), &obs.cl_writes));
  REG(gw_metrics_counter(r, "gw_cluster_rate_checks_total",
                         "Cluster-wide agency rate bucket round trips.", NULL, &obs.cl_rate));
  REG(gw_metrics_counter(r, "gw_redis_commands_total",
                         "Commands sent to Redis (round trips), AUTH included.", NULL,
                         &obs.redis_cmds));
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
  bad |= bind0(obs.audit_failed, audit_value, (void *)(intptr_t)A_FAILED);
  bad |= bind0(obs.audit_recoveries, audit_value, (void *)(intptr_t)A_RECOVERIES);
  bad |= bind0(obs.audit_bytes, audit_value, (void *)(intptr_t)A_BYTES);
  bad |= bind0(obs.audit_ckpt_time, audit_value, (void *)(intptr_t)A_CKPT_TIME);
  bad |= bind0(obs.audit_ckpt_size, audit_value, (void *)(intptr_t)A_CKPT_SIZE);
  bad |= bind0(obs.start_time, start_time, NULL);
  {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    obs.started = (double)now.tv_sec;
  }
  if(app->cluster)
    bad |= bind_cluster();
  atomic_store(&obs.ready, !bad);
  if(!bad)
    gw_obs_rebind_breakers(app);
  return bad ? -1 : 0;
}

void gw_obs_rebind_breakers(struct gw_app *app)
{
  struct gw_gen *gen, *old = obs.bound;
  if(!atomic_load(&obs.ready))
    return;
  gen = gw_gen_acquire(app->gens);
  /* Old bindings first, so no render can call into a runtime about to go. */
  for(size_t i = 0; old && i < old->n_rt; i++)
    (void)!gw_metric_bind(gw_metric_series(obs.breaker_state,
                                           GW_LABELS(old->rt[i]->adapter->id)), NULL, NULL);
  for(size_t i = 0; i < gen->n_rt; i++)
    if(gw_metric_bind(gw_metric_series(obs.breaker_state, GW_LABELS(gen->rt[i]->adapter->id)),
                      breaker_value, gen->rt[i]) != GW_METRICS_OK)
      gw_log(GW_LOG_WARN, "metrics_unavailable", "breaker state of %s", gen->rt[i]->adapter->id);
  obs.bound = gen;              /* keeps the bound runtimes alive */
  gw_gen_release(old);
}

void gw_obs_shutdown(void)
{
  struct gw_gen *old = obs.bound;
  gw_obs_stop_hooks();
  atomic_store(&obs.ready, 0);
  for(size_t i = 0; old && i < old->n_rt; i++)
    (void)!gw_metric_bind(gw_metric_series(obs.breaker_state,
                                           GW_LABELS(old->rt[i]->adapter->id)), NULL, NULL);
  obs.bound = NULL;
  gw_gen_release(old);
}

void gw_obs_bind_listener(const char *name, const struct gw_server *srv)
{
  if(!atomic_load(&obs.ready))
    return;
  if(gw_metric_bind(gw_metric_series(obs.open_conns, GW_LABELS(name)), open_connections,
                    (void *)srv) != GW_METRICS_OK)
    gw_log(GW_LOG_WARN, "metrics_unavailable", "cannot bind open connections of %s", name);
  {
    double t;
    if(!gw_server_cert_not_after(srv, &t) &&
       gw_metric_bind(gw_metric_series(obs.cert_expiry, GW_LABELS(name)), cert_not_after,
                      (void *)srv) != GW_METRICS_OK)
      gw_log(GW_LOG_WARN, "metrics_unavailable", "cannot bind the certificate expiry of %s", name);
  }
}

