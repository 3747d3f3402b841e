/*
 * gw/obs_collect.h - the metrics collectors: gauges and counters read from
 * the running gateway (cache, audit log, breakers, open connections) when
 * /metrics is scraped.  Runtime layer: it reads every layer below; the event
 * hooks it builds on are gw/observe.h.
 */
#ifndef GW_OBS_COLLECT_H
#define GW_OBS_COLLECT_H

struct gw_app;
struct gw_server;

/* Registers every metric (the hooks' too, gw_obs_init_hooks) in the default
 * registry and binds the ones read at render time (cache, audit, breakers).
 * `app` must outlive gw_obs_shutdown.  Start-up thread only. */
int gw_obs_init(struct gw_app *app, const char *version) __attribute__((warn_unused_result));

/* After a reload: binds gw_breaker_state to the new adapter runtimes and
 * unbinds the old ones before they can be freed.  Main thread only. */
void gw_obs_rebind_breakers(struct gw_app *app);

/* Drops the module's references and turns the hooks off (at exit, before the
 * app is freed). */
void gw_obs_shutdown(void);

/* Binds gw_http_open_connections{listener=name} to the server's count. */
void gw_obs_bind_listener(const char *name, const struct gw_server *srv);

#endif
