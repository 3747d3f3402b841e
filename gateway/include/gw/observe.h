/*
 * gw/observe.h - the gateway's metrics, as named in docs/metrics.md.
 *
 * One place registers every metric the gateway exposes and offers one small
 * function per event, so subsystems record what happened without knowing
 * the metrics API.  Label values are route patterns, adapter ids, fact
 * names, purposes, statuses and outcome names — never identity numbers,
 * names, tokens or raw paths.  Until gw_obs_init() has run every function
 * is a no-op (tools and unit tests pay nothing).
 */
#ifndef GW_OBSERVE_H
#define GW_OBSERVE_H

#include <stddef.h>
#include <stdint.h>

struct gw_app;
struct gw_server;

/* Registers the metrics in the default registry and binds the ones read
 * at render time (cache, audit, breakers).  Start-up thread only. */
int gw_obs_init(struct gw_app *app, const char *version) __attribute__((warn_unused_result));

/* After a reload: binds gw_breaker_state to the new adapter runtimes and
 * unbinds the old ones before they can be freed.  Main thread only. */
void gw_obs_rebind_breakers(struct gw_app *app);

/* Drops the module's references (at exit, before the app is freed). */
void gw_obs_shutdown(void);

/* Binds gw_http_open_connections{listener=name} to the server's count. */
void gw_obs_bind_listener(const char *name, const struct gw_server *srv);

void gw_obs_http(const char *route, const char *method, int status, int64_t duration_us);
void gw_obs_query(const char *purpose, const char *result, int64_t duration_us);
void gw_obs_query_fact(const char *fact, const char *status);
void gw_obs_upstream(const char *adapter, const char *outcome, int64_t duration_us);
void gw_obs_fetch(const char *adapter, const char *result);
/* Time a call to `adapter` waited at `stage`: "limiter" (a concurrency
 * slot, policy.max_concurrency) or "connection_pool" (a connection of the
 * worker's pool, upstream.max_connections_per_agency / max_connections). */
void gw_obs_queue(const char *adapter, const char *stage, int64_t waited_us);
void gw_obs_audit(const char *kind);

/* The Prometheus text exposition of everything (caller frees with gw_free). */
char *gw_obs_render(size_t *len);

#endif
