/*
 * gw/observe.h - the gateway's metrics, as named in docs/metrics.md.
 *
 * One place registers every metric the gateway exposes and offers one small
 * function per event, so subsystems record what happened without knowing
 * the metrics API.  This is the bottom of observability (base layer: it knows
 * only the metrics registry); the collectors that read other subsystems at
 * scrape time are gw/obs_collect.h (runtime layer).  Label values are route
 * patterns, adapter ids, fact names, purposes, statuses and outcome names —
 * never identity numbers, names, tokens or raw paths.  Until
 * gw_obs_init_hooks() has run every function is a no-op (tools and unit tests pay nothing).
 */
#ifndef GW_OBSERVE_H
#define GW_OBSERVE_H

#include <stddef.h>
#include <stdint.h>

/* Registers the hook-fed metrics (and gw_build_info{version}) in the default
 * registry and turns the hooks on.  Start-up thread only; the runtime's
 * gw_obs_init (gw/obs_collect.h) calls it. */
int gw_obs_init_hooks(const char *version) __attribute__((warn_unused_result));

/* Turns the hooks back into no-ops (at exit). */
void gw_obs_stop_hooks(void);

void gw_obs_http(const char *route, const char *method, int status, int64_t duration_us);
void gw_obs_query(const char *purpose, const char *result, int64_t duration_us);
void gw_obs_query_fact(const char *fact, const char *status);
void gw_obs_upstream(const char *adapter, const char *outcome, int64_t duration_us);
void gw_obs_fetch(const char *adapter, const char *result);
void gw_obs_audit(const char *kind);

/* The Prometheus text exposition of everything (caller frees with gw_free). */
char *gw_obs_render(size_t *len);

#endif
