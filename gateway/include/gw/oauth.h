/*
 * gw/oauth.h - OAuth 2.0 client-credentials access tokens (RFC 6749 4.4),
 * cached per worker.
 *
 * One struct gw_oauth per worker, beside that worker's gw_upstream, through
 * which it fetches tokens; like the engine it is used from that worker's
 * thread only, so it takes no lock.  (N workers hold N tokens for the same
 * client: token endpoints hand out several valid tokens per client, and this
 * keeps the cache free of cross-thread waits.)
 *
 * A token is cached per (token_url, client_id, scope) until shortly before
 * it expires: expires_in minus min(30 s, 10 % of expires_in), counted from
 * the moment its fetch started.  Concurrent requests for the same token wait
 * on one fetch (single-flight).  When an agency answers 401 to a token, the
 * caller reports it with gw_oauth_invalidate(); the token is dropped only if
 * it is still the cached one, so a burst of 401s for one token causes one
 * refresh.  Errors are not cached: the next request fetches again (the
 * circuit breaker, not this cache, protects a failing endpoint).
 *
 * Secrets and tokens never appear in logs; a token is identified by the
 * first 16 hex digits of its SHA-256 ("token_id").
 */
#ifndef GW_OAUTH_H
#define GW_OAUTH_H

#include <stddef.h>
#include <stdint.h>

#include "gw/upstream.h"

struct gw_oauth;
struct gw_oauth_wait;

#define GW_OAUTH_MAX_RESPONSE     (16u << 10) /* token endpoint response bytes */
#define GW_OAUTH_MAX_TOKEN_LEN    4096        /* access_token characters */
#define GW_OAUTH_MAX_CRED_LEN     512         /* client_id, client_secret, scope */
#define GW_OAUTH_MAX_ENTRIES      64          /* distinct clients per cache */
#define GW_OAUTH_MAX_WAITERS      4096        /* waiting requests per client */
#define GW_OAUTH_SKEW_MAX_MS      30000       /* refresh this long before expiry, */
#define GW_OAUTH_SKEW_PERCENT     10          /* or this share of the lifetime if less */
#define GW_OAUTH_DEFAULT_EXPIRES_S 300        /* when the endpoint omits expires_in */
#define GW_OAUTH_MAX_EXPIRES_S    86400       /* longer lifetimes are cut to this */
#define GW_OAUTH_TOKEN_ID_LEN     17          /* 16 hex digits and a NUL */

/* One client of one token endpoint, filled by the caller.  Copied by
 * gw_oauth_get(); the latest get's secret and transport settings are the
 * ones used for the next fetch (so a rotated secret takes effect). */
struct gw_oauth_client {
  const char *token_url;               /* https URL of the token endpoint */
  const char *client_id;               /* 1..GW_OAUTH_MAX_CRED_LEN bytes */
  const char *client_secret;           /* 1..GW_OAUTH_MAX_CRED_LEN bytes */
  const char *scope;                   /* NULL or "" = none; RFC 6749 3.3 syntax */
  struct gw_upstream_tls tls;          /* for the token endpoint */
  const char *const *allowed_cidrs;    /* as in gw_upstream_request */
  size_t n_allowed_cidrs;
  long connect_timeout_ms;             /* 0 = timeout_ms */
  long timeout_ms;                     /* bound for one token fetch, > 0 */
};

enum gw_oauth_status {
  GW_OAUTH_OK = 0,
  GW_OAUTH_TRANSPORT,       /* the exchange failed: see `transport` */
  GW_OAUTH_REJECTED,        /* 400/401/403: the endpoint refused the client
                             * (`error` holds e.g. "invalid_client") */
  GW_OAUTH_ENDPOINT_ERROR,  /* any other non-200 status */
  GW_OAUTH_BAD_RESPONSE     /* 200 but no usable bearer token in it, or an
                               answer over the response cap */
};

/* What a waiter gets.  Pointers are valid during the callback only: copy
 * the token into the request being built (gw_upstream_start copies it). */
struct gw_oauth_token {
  enum gw_oauth_status status;
  const char *access_token;     /* GW_OAUTH_OK only, else NULL */
  const char *token_id;         /* GW_OAUTH_OK only: for logs */
  int cached;                   /* served without a fetch of its own */
  int64_t expires_at_ms;        /* on the cache's clock; 0 when not OK */
  enum gw_upstream_outcome transport;  /* GW_OAUTH_TRANSPORT, and TOO_LARGE for
                                          an oversized BAD_RESPONSE */
  long http_status;             /* of the token endpoint; 0 if none */
  const char *error;            /* the endpoint's OAuth "error" code, or NULL */
  const char *detail;           /* short reason, never NULL ("" on OK) */
};

typedef void gw_oauth_fn(const struct gw_oauth_token *tok, void *arg);

/* Milliseconds on a monotonic clock; tests inject their own. */
typedef int64_t gw_oauth_clock_fn(void *arg);

/* Creates a cache fetching through `up` (borrowed: it must outlive the
 * cache; free the cache first).  `now` may be NULL for CLOCK_MONOTONIC.
 * Returns NULL if the event for deferred delivery cannot be created. */
struct gw_oauth *gw_oauth_new(struct gw_upstream *up, gw_oauth_clock_fn *now,
                              void *clock_arg)
  __attribute__((warn_unused_result));

/* Cancels the fetches in flight and drops every waiter without calling it,
 * wipes tokens and secrets, frees.  Never from a waiter's callback.  NULL
 * is a no-op. */
void gw_oauth_free(struct gw_oauth *o);

enum gw_oauth_get_result {
  GW_OAUTH_GET_OK = 0,      /* `cb` will be called exactly once, unless cancelled */
  GW_OAUTH_GET_BAD_CLIENT,  /* a client field is invalid; nothing happened */
  GW_OAUTH_GET_BUSY         /* GW_OAUTH_MAX_ENTRIES or _MAX_WAITERS reached,
                             * or the engine is at its exchange limit */
};

/* Asks for a token for `client`.  The callback is always called later from
 * the event loop, never from inside this call, also on a cache hit.  On
 * GW_OAUTH_GET_OK, *wait (if `wait` is not NULL) is a handle for
 * gw_oauth_cancel(), valid until the callback returns. */
enum gw_oauth_get_result gw_oauth_get(struct gw_oauth *o,
                                      const struct gw_oauth_client *client,
                                      gw_oauth_fn *cb, void *arg,
                                      struct gw_oauth_wait **wait)
  __attribute__((warn_unused_result));

/* Stops waiting: the callback will not be called.  The fetch itself goes on
 * (its token serves the next request).  A no-op inside the waiter's own
 * callback. */
void gw_oauth_cancel(struct gw_oauth_wait *w);

enum gw_oauth_invalidate_result {
  GW_OAUTH_INVALIDATED,     /* it was the cached token: dropped */
  GW_OAUTH_NOT_CURRENT      /* already dropped or replaced: nothing to do */
};

/* Reports that the agency refused `token_used` (HTTP 401).  The next
 * gw_oauth_get() for this client fetches a new token. */
enum gw_oauth_invalidate_result gw_oauth_invalidate(struct gw_oauth *o,
                                                    const struct gw_oauth_client *client,
                                                    const char *token_used);

/* Stable names: "ok", "transport", "rejected", "endpoint_error", "bad_response". */
const char *gw_oauth_status_name(enum gw_oauth_status s);

#endif
