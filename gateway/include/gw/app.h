/*
 * gw/app.h - the gateway's shared state and each worker's own.
 *
 * struct gw_app is built once at start-up from the config.  What a reload
 * replaces - the catalogue, fact schemas, purposes, ACL, predicates, the
 * adapters with their runtimes, the attestation signer - is one immutable,
 * reference-counted generation (runtime/gen.h) published in app->gens: a
 * request takes it with gw_gen_acquire(app->gens) when it starts and reads
 * those things through it only.  The rest (the subject_ref secret, the
 * seal, the cache, the cluster, the audit log) lives for the whole process
 * and is immutable or synchronized on its own.
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
struct gw_gen_slot;
struct gw_cache;
struct gw_cluster;
struct gw_redis;
struct gw_audit_log;
struct gw_witness;
struct gw_seal;
struct gw_hmac_key;
struct gw_seal_memo;
struct event_base;

struct gw_app {
  const struct gw_config *cfg;
  struct gw_gen_slot *gens;          /* the current generation (runtime/gen.h) */
  unsigned char *secret;             /* subject_ref HMAC key */
  size_t secret_len;
  struct gw_hmac_key *subject_mac;   /* HMAC under `secret`, keyed once */
  struct gw_cache *cache;
  struct gw_cluster *cluster;        /* NULL: no cluster.redis, local state only */
  struct gw_audit_log *audit;
  struct gw_witness *witness;        /* NULL: no audit.witness (no peers) */
  struct gw_seal *seal;
  struct gw_seal_memo *seal_memo;    /* one sealed blob per subject, reused */
  struct gw_upstream_gates *up_gates; /* upstream.max_connecting, all workers */
  atomic_int ready;
  atomic_int draining;
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

/* Re-reads the catalogue (fact schemas, purposes.json), the predicates,
 * the adapters directory, the ACL and the attestation keys (SIGHUP; the TLS
 * certificates are the daemon's, see gatewayd.c) into a new generation.
 * Everything is loaded and checked first, then the generation's `config`
 * audit record is appended and made durable; only then is it published,
 * atomically: requests in flight finish on the generation they started
 * with, which is freed when the last of them ends.  On error (a file, or
 * the audit log refusing the record) returns -1 with "what: why" in err and
 * changes nothing.  `who` says who asked for it: "sighup", or the admin
 * client's name (an admin API change); it goes into the log and the
 * record.  Any thread that may block on a disk write (the main thread, the
 * admin handler); activations are serialized. */
int gw_app_reload(struct gw_app *app, const char *who, char *err, size_t errlen)
  __attribute__((warn_unused_result));

/* Worker life: create on the worker's thread before its loop runs, free
 * after it ended.  gw_worker_current() is the calling thread's context. */
struct gw_worker_ctx *gw_worker_ctx_new(struct gw_app *app, struct event_base *base);
void gw_worker_ctx_free(struct gw_worker_ctx *w);
struct gw_worker_ctx *gw_worker_current(void);

#endif
