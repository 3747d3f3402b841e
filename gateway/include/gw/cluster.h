/*
 * gw/cluster.h - the state gateway instances share through Redis: the
 * second cache level, the cluster-wide single-flight lease and the agency
 * rate buckets (DESIGN section 8, docs/scale-out.md).
 *
 * What reaches Redis is opaque: a key is the prefix and an HMAC of the
 * local cache key (itself built from HMACs), a value is sealed with
 * AES-256-GCM under a key only the gateways hold, with the cache key as
 * associated data, so a value moved to another key does not open.  Both
 * keys are derived from one 32-byte secret (cluster.redis.seal_key).
 *
 * Every operation is one round trip (a Lua script where it must be atomic)
 * on the calling worker's gw_redis.  An operation that cannot be sent
 * returns NULL and the caller falls back to local state at once; one that
 * fails later calls back with GW_CLAIM_FAILED.  The counters are for
 * /metrics; gw_cluster_count_fallback is how callers report a fallback.
 */
#ifndef GW_CLUSTER_H
#define GW_CLUSTER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "gw/redis.h"

struct gw_cluster_config;
struct gw_cluster;
struct gw_cluster_op;

/* Why an instance worked on local state instead of the shared one. */
enum gw_cluster_fallback {
  GW_CF_UNAVAILABLE = 0,       /* no usable connection when asked */
  GW_CF_TIMEOUT,               /* no reply within command_timeout_ms */
  GW_CF_DISCONNECTED,          /* the connection broke under the command */
  GW_CF_ERROR,                 /* Redis answered with an error */
  GW_CF_BAD_VALUE,             /* a value that does not open or parse */
  GW_CF_WAIT_DEADLINE,         /* another instance's fetch ran out of time */
  GW_CF_COUNT
};

struct gw_cluster_stats {
  uint64_t lookups, hits, leases, busy, published, refused, rate_checks;
  uint64_t fallbacks[GW_CF_COUNT];
};

/* Loads the sealing key and derives the value and key-name keys.  NULL
 * with "why" in err.  `cfg` is borrowed and must outlive the cluster. */
struct gw_cluster *gw_cluster_new(const struct gw_cluster_config *cfg, char *err,
                                  size_t errlen);
void gw_cluster_free(struct gw_cluster *c);

/* The connection settings and shared health for the workers' gw_redis. */
const struct gw_redis_cfg *gw_cluster_redis_cfg(const struct gw_cluster *c);
struct gw_redis_health *gw_cluster_health(struct gw_cluster *c);
int gw_cluster_instances(const struct gw_cluster *c);
int gw_cluster_poll_ms(const struct gw_cluster *c);

void gw_cluster_count_fallback(struct gw_cluster *c, enum gw_cluster_fallback why);
const char *gw_cluster_fallback_name(enum gw_cluster_fallback why);
void gw_cluster_get_stats(struct gw_cluster *c, struct gw_cluster_stats *out);

/* ---- second-level cache and single-flight ------------------------------- */

enum gw_claim {
  GW_CLAIM_VALUE,              /* plain holds the shared value */
  GW_CLAIM_LEASE,              /* this instance fetches; token fences its write */
  GW_CLAIM_BUSY,               /* another instance holds the lease: look again */
  GW_CLAIM_FAILED              /* fallback: why says which */
};

struct gw_claim_result {
  enum gw_claim status;
  const unsigned char *plain;  /* GW_CLAIM_VALUE: opened value, valid in the callback */
  size_t plain_len;
  uint64_t token;              /* GW_CLAIM_LEASE */
  enum gw_cluster_fallback why;   /* GW_CLAIM_FAILED */
};

typedef void gw_claim_cb(const struct gw_claim_result *res, void *arg);

/* In one round trip: the value of `cache_key` if Redis holds one (unless
 * skip_value), else the lease for lease_ms with a new fencing token, else
 * "busy".  NULL when nothing could be sent (cb will not run; fall back). */
struct gw_cluster_op *gw_cluster_claim(struct gw_cluster *c, struct gw_redis *r,
                                       const char *cache_key, int skip_value, int64_t lease_ms,
                                       gw_claim_cb *cb, void *arg);

/* The callback of `op` will not run; frees it.  Loop thread only. */
void gw_cluster_op_cancel(struct gw_cluster_op *op);

/* Stores a value fetched under lease `token`, sealed, for ttl_ms, and
 * frees the lease, only if no other instance took a newer token meanwhile
 * (a late write is refused and counted).  Fire and forget. */
void gw_cluster_publish(struct gw_cluster *c, struct gw_redis *r, const char *cache_key,
                        uint64_t token, const unsigned char *plain, size_t len, int64_t ttl_ms);

/* Gives the lease back without a value (the fetch failed), so another
 * instance may try at once.  Fire and forget. */
void gw_cluster_release(struct gw_cluster *c, struct gw_redis *r, const char *cache_key,
                        uint64_t token);

/* ---- agency budgets -------------------------------------------------------- */

/* Takes one token from the cluster-wide bucket `name` (rate per second,
 * burst).  cb gets wait_ms: 0 when a token was taken, else how long until
 * one is due; or failed=1 (fall back to the local share).  NULL when
 * nothing could be sent. */
typedef void gw_rate_cb(int failed, uint64_t wait_ms, void *arg);
struct gw_cluster_op *gw_cluster_rate_take(struct gw_cluster *c, struct gw_redis *r,
                                           const char *name, double rate, double burst,
                                           gw_rate_cb *cb, void *arg);

/* ---- sealing (exposed for tests) ------------------------------------------ */

/* The Redis key for cache_key and kind ('v' value, 'l' lease, 'f' fence,
 * 'r' rate bucket) into out (NUL-terminated); -1 if it does not fit. */
int gw_cluster_key(struct gw_cluster *c, char kind, const char *cache_key, char *out,
                   size_t outlen);

/* Seals plain for cache_key: a new buffer (caller frees with gw_free) of
 * *outlen bytes, or NULL. */
unsigned char *gw_cluster_seal(struct gw_cluster *c, const char *cache_key,
                               const unsigned char *plain, size_t len, size_t *outlen);

/* Opens a sealed value: a new buffer (caller frees with gw_free), or NULL
 * when it was not sealed by these gateways for this cache_key. */
unsigned char *gw_cluster_open(struct gw_cluster *c, const char *cache_key,
                               const unsigned char *sealed, size_t len, size_t *outlen);

#endif
