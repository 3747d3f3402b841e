/*
 * gw/redis.h - one worker's connection to the cluster's Redis, on the
 * worker's own event loop (hiredis async with its libevent adapter).
 *
 * The one idea: Redis is an accelerator the gateway can lose at any time.
 * Every command is bounded by its own timer; a command that times out, a
 * connection that breaks or an AUTH that is refused all end the same way:
 * the caller's callback runs with reply NULL and a reason, and the caller
 * falls back to what it would have done without Redis.  After a failure the
 * connection is dropped and tried again every retry_ms; until it is back
 * (connected and authenticated), gw_redis_command returns NULL at once, so
 * a Redis that is gone or hung costs a query at most one command timeout.
 *
 * No call here blocks: the host must be a numeric address (no resolver on
 * the loop), connect is non-blocking, and AUTH is the first command of
 * every connection.  Thread rules: a gw_redis belongs to the thread of its
 * event_base; only gw_redis_health_* is read from other threads.
 */
#ifndef GW_REDIS_H
#define GW_REDIS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct redisReply;

/* Connection settings (strings borrowed; must outlive every gw_redis). */
struct gw_redis_cfg {
  const char *host;            /* numeric IPv4/IPv6 address */
  int port;
  const char *user;            /* ACL user, NULL: the default user */
  const char *password;        /* NULL: no AUTH */
  int connect_timeout_ms;      /* connect + AUTH */
  int command_timeout_ms;      /* one command, send to reply */
  int retry_ms;                /* between reconnection attempts */
};

/* Process-wide state, shared by every worker's connection. */
struct gw_redis_health {
  atomic_int connections;      /* workers configured */
  atomic_int up;               /* of those, connected and authenticated now */
  atomic_uint_fast64_t commands, replies, timeouts, errors, reconnects;
};

struct gw_redis;
struct gw_redis_cmd;

/* reply: the reply (valid only during the call; may be a Redis error
 * reply), or NULL when there is none, with `why` naming the cause
 * ("timeout", "disconnected", "cancelled" never reaches a callback). */
typedef void gw_redis_cb(const struct redisReply *reply, const char *why, void *arg);

/* A connection for `base`'s thread; it connects in the background.
 * `cfg` and `health` are borrowed.  Never NULL. */
struct gw_redis *gw_redis_new(struct event_base *base, const struct gw_redis_cfg *cfg,
                              struct gw_redis_health *health);

/* Drops the connection; callbacks of pending commands do not run. */
void gw_redis_free(struct gw_redis *r);

/* 1 when connected and authenticated. */
int gw_redis_usable(const struct gw_redis *r);

/* Sends a command (argv copied).  Returns a handle, or NULL without
 * calling cb when the connection is not usable (fall back at once).
 * cb runs exactly once, from the loop, unless gw_redis_cancel came first. */
struct gw_redis_cmd *gw_redis_command(struct gw_redis *r, int argc, const char **argv,
                                      const size_t *argvlen, gw_redis_cb *cb, void *arg);

/* The callback of `c` will not run.  On the connection's thread only. */
void gw_redis_cancel(struct gw_redis_cmd *c);

/* Whether every configured connection is up (0 when none is configured
 * or one is down: then the gateway runs degraded, on local state). */
int gw_redis_health_ok(struct gw_redis_health *h);

#endif
