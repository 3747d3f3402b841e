/*
 * gw/fetch.h - one agency call: admission, auth, exchange, retries,
 * verification and mapping, for one adapter and one subject.
 *
 * A fetch runs on one worker's event loop and owns everything it started
 * there (a limiter slot, a breaker permit, a token wait, an upstream
 * exchange, timers).  Its life, one state at a time:
 *
 *   QUEUED (concurrency slot) -> ADMIT (rate, breaker) -> AUTH (token)
 *     -> SEND (exchange) -> done, or BACKOFF -> ADMIT again,
 *     or (a paged adapter, more pages counted) ADMIT for the next page
 *
 * One deadline bounds all of it; when it passes, whatever is pending is
 * cancelled and every fact is "unavailable/timeout".  The completion
 * callback runs exactly once, from the loop (never inside gw_fetch_start),
 * unless gw_fetch_cancel() came first; the fetch is freed right after the
 * callback returns.
 *
 * The per-adapter runtime (struct gw_adapter_rt) holds what must be shared
 * by every fetch of one adapter version across workers: the adapter itself,
 * its verification keys and its policy state (breaker, budget, limits).
 */
#ifndef GW_FETCH_H
#define GW_FETCH_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "gw/adapter.h"
#include "codec.h"
#include "gw/oauth.h"

struct event_base;
struct gw_upstream;
struct gw_oauth;
struct gw_factschema_set;
struct gw_policy_state;
struct gw_policy_bucket;
struct gw_cluster;
struct gw_redis;

#define GW_RT_RECENT 256              /* fetches kept for /v1/agencies figures */

/* Recent fetches of one adapter (all workers), for GET /v1/agencies. */
struct gw_rt_recent {
  void *lock;                        /* pthread_mutex_t */
  uint32_t latency_us[GW_RT_RECENT]; /* ring of the last fetches' durations */
  uint32_t queue_us[GW_RT_RECENT];   /* their time queued (limiter + connection pool) */
  uint8_t failed[GW_RT_RECENT];
  size_t next, count;
  uint64_t total, total_failed;
  const char *last_error;            /* static storage: an error code */
  int64_t last_error_at;             /* Unix seconds */
};

struct gw_adapter_rt {
  atomic_int refs;
  struct gw_adapter *adapter;        /* one reference */
  struct gw_codec_keys keys;
  struct gw_policy_state *policy;
  struct gw_oauth_client oauth;      /* GW_AUTH_OAUTH2 only; strings borrowed from adapter */
  const char *channel;               /* "mtls" with a client certificate, else "tls" */
  struct gw_policy_bucket *share;    /* in a cluster: this instance's share of the
                                      * rate (rate / instances), for when the
                                      * cluster-wide bucket cannot be asked; or NULL */
  const struct gw_factschema_set *schemas;   /* of the generation this runtime belongs
                                              * to (borrowed: whoever uses the runtime
                                              * holds that generation); NULL: the env's */
  struct gw_rt_recent recent;
};

/* A JSON object (new reference) with the adapter's recent figures:
 * {"fetches", "window", "latency_ms": {"p50","p90","p99"}, "queue_ms": {"p50","p99"},
 *  "error_rate",
 *  "last_error": {"code", "at"} | null}. */
json_t *gw_adapter_rt_recent(struct gw_adapter_rt *rt);

/* Builds the runtime of an adapter version (takes its own reference).
 * NULL with a reason in err when its keys do not load. */
struct gw_adapter_rt *gw_adapter_rt_new(struct gw_adapter *a, char *err, size_t errlen);
struct gw_adapter_rt *gw_adapter_rt_ref(struct gw_adapter_rt *rt);
void gw_adapter_rt_unref(struct gw_adapter_rt *rt);

/* What a worker lends its fetches. */
struct gw_hmac_key;

struct gw_fetch_env {
  struct event_base *base;
  struct gw_upstream *up;
  struct gw_oauth *oauth;
  const struct gw_factschema_set *schemas;     /* may be NULL (tools) */
  struct gw_hmac_key *hmac;                    /* for request_hmac; NULL: none */
  struct gw_cluster *cluster;                  /* cluster-wide rate buckets; NULL: none */
  struct gw_redis *redis;                      /* this worker's connection to them */
};

struct gw_fetch_result {
  struct gw_codec_result codec;      /* the facts, in adapter->facts order */
  const struct gw_adapter_rt *rt;
  const char *outcome;               /* "ok", "circuit_open", "rate_limited",
                                      * "timeout", or an upstream outcome */
  int http_status;                   /* of the last attempt; 0 if none */
  unsigned attempts;                 /* agency exchanges, every page and retry */
  unsigned pages;                    /* paged adapters: pages received (the
                                      * last may be the one that failed) */
  int64_t latency_us;                /* start to done */
  int64_t fetched_at;                /* Unix seconds when the answer arrived */
  char evidence[65];                 /* hex SHA-256 of the response bytes; for a
                                      * paged adapter SHA-256(d1 || ... || dn),
                                      * di the raw SHA-256 of page i's bytes */
  char request_hmac[65];             /* hex HMAC-SHA256 of the request bytes */
};

/* A fetch result as JSON (a new reference, never NULL): what the adapter
 * dry runs answer, `gwctl adapter test --json` and POST
 * /v1/admin/adapters/{id}/test alike:
 *   {"adapter", "version", "agency", "outcome", "http_status", "attempts",
 *    "duration_ms", "channel", "agency_signature", "response_sha256",
 *    "facts": {FACT: {"status", "value"?, "error"?, "detail"?}}}
 * "value" only for an ok fact, "error" only for an unavailable one.  Values
 * are shared with res (referenced, not copied). */
json_t *gw_fetch_result_json(const struct gw_fetch_result *res);

typedef void gw_fetch_done_fn(const struct gw_fetch_result *res, void *arg);

struct gw_fetch;

/* Starts a fetch.  `subject_id` is normalized; it and `subject_name` are
 * copied (and wiped when the fetch ends).  deadline_ms is on the
 * gw_policy_now_ms() clock.  Never NULL. */
struct gw_fetch *gw_fetch_start(struct gw_fetch_env *env, struct gw_adapter_rt *rt,
                                const char *subject_id, const char *subject_name,
                                const char *request_id, uint64_t deadline_ms,
                                gw_fetch_done_fn *cb, void *arg);

/* Stops a fetch before its callback: the callback will not run and
 * everything pending is released.  On the fetch's loop thread only. */
void gw_fetch_cancel(struct gw_fetch *f);

#endif
