/*
 * gw/app.h - the gateway's shared state and each worker's own.
 *
 * struct gw_app is built once at start-up from the config: the adapter
 * registry and the runtime of each adapter (keys, policy state), the ACL,
 * the fact schemas, the attestation signer, the subject_ref secret, the
 * cache and the audit log.  Everything in it is immutable or synchronized
 * on its own; workers only read the pointers.  The adapter runtimes are a
 * reference-counted set swapped as a whole, so a request keeps the set it
 * started with while a reload publishes the next.
 *
 * struct gw_worker_ctx is what one worker thread owns: its event_base, its
 * upstream engine (libcurl multi) and OAuth token cache.  A handler finds
 * its worker through gw_worker_current(), a thread-local set when the
 * worker starts.
 */
#ifndef GW_APP_H
#define GW_APP_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "gw/fetch.h"

struct gw_config;
struct gw_registry;
struct gw_acl;
struct gw_predset;
struct gw_factschema_set;
struct gw_catalogue;
struct gw_attest_signer;
struct gw_cache;
struct gw_cluster;
struct gw_redis;
struct gw_audit_log;
struct gw_witness;
struct gw_seal;
struct gw_hmac_key;
struct gw_seal_memo;
struct event_base;

/* The runtimes of one registry generation. */
struct gw_rtset {
  atomic_int refs;
  uint64_t generation;
  size_t n;
  struct gw_adapter_rt **rt;
};

struct gw_app {
  const struct gw_config *cfg;
  struct gw_registry *registry;
  struct gw_rtset *rts;              /* current set; swap under rts_lock */
  void *rts_lock;                    /* pthread_mutex_t, opaque here */
  struct gw_acl *acl;
  struct gw_predset *preds;          /* predicate definitions; swapped like acl */
  struct gw_factschema_set *schemas;
  struct gw_catalogue *catalogue;    /* facts and purposes (gw/facts.h) */
  uint64_t generation;               /* 1 at start, +1 per activated reload */
  struct gw_attest_signer *signer;
  unsigned char *secret;             /* subject_ref HMAC key */
  size_t secret_len;
  struct gw_hmac_key *subject_mac;   /* HMAC under `secret`, keyed once */
  struct gw_cache *cache;
  struct gw_cluster *cluster;        /* NULL: no cluster.redis, local state only */
  struct gw_audit_log *audit;
  struct gw_witness *witness;        /* NULL: no audit.witness (no peers) */
  struct gw_seal *seal;
  struct gw_seal_memo *seal_memo;    /* one sealed blob per subject, reused */
  atomic_int ready;
  atomic_int draining;
  void **retired;                    /* replaced ACLs and registries, freed at exit */
  void (**retired_free)(void *);
  size_t n_retired;
};

struct gw_worker_ctx {
  struct gw_app *app;
  struct event_base *base;
  struct gw_upstream *up;
  struct gw_oauth *oauth;
  struct gw_redis *redis;            /* NULL without a cluster */
  struct gw_fetch_env env;
};

/* Builds the shared state from cfg (borrowed, must outlive the app).
 * With check_only the audit log is not opened (nor created) and no cache is
 * made: --check-config validates everything without touching state.
 * Returns NULL with "what: why" in err. */
struct gw_app *gw_app_new(const struct gw_config *cfg, int check_only, char *err, size_t errlen);
void gw_app_free(struct gw_app *app);

/* Re-reads the catalogue (fact schemas, purposes.json), the adapters
 * directory, the ACL and the attestation keys
 * (SIGHUP; the TLS certificates are the daemon's, see gatewayd.c).  Everything is
 * loaded and checked first; only if all of it is valid is the new set
 * published, atomically: requests in flight finish on what they started
 * with.  On error returns -1 with "what: why" in err and changes nothing.
 * `who` says who asked for it: "sighup", or the admin client's name (an
 * admin API change); it goes into the log (and the generation's record).
 * Main thread or the admin handler, one at a time. */
int gw_app_reload(struct gw_app *app, const char *who, char *err, size_t errlen)
  __attribute__((warn_unused_result));

/* The current adapter runtimes, with a reference (release when done). */
struct gw_rtset *gw_app_rts_acquire(struct gw_app *app);
void gw_rtset_release(struct gw_rtset *set);

/* The runtime asked first for `fact` in `set` (lowest adapter "order"), or
 * NULL; _nth: the k-th by order (k = 1: asked when the first is
 * unavailable), or NULL. */
struct gw_adapter_rt *gw_rtset_for_fact_nth(const struct gw_rtset *set, const char *fact,
                                            size_t k);
struct gw_adapter_rt *gw_rtset_for_fact(const struct gw_rtset *set, const char *fact);

/* Worker life: create on the worker's thread before its loop runs, free
 * after it ended.  gw_worker_current() is the calling thread's context. */
struct gw_worker_ctx *gw_worker_ctx_new(struct gw_app *app, struct event_base *base);
void gw_worker_ctx_free(struct gw_worker_ctx *w);
struct gw_worker_ctx *gw_worker_current(void);

#endif
