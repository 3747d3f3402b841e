/*
 * app.c - building the gateway's shared state from its config, and the
 * per-worker contexts.
 */
#include "gw/app.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>

#include "acl.h"
#include "gw/predicate.h"
#include "gw/alloc.h"
#include "gw/attest.h"
#include "gw/audit.h"
#include "cache.h"
#include "gw/cluster.h"
#include "gw/config.h"
#include "gw/facts.h"
#include "gw/factschema.h"
#include "hmac.h"
#include "gw/log.h"
#include "gw/oauth.h"
#include "gw/obs_collect.h"
#include "gw/policy.h"
#include "gw/redis.h"
#include "registry.h"
#include "seal.h"
#include "gw/upstream.h"
#include "gw/witness.h"
#include "gw/xmlsafe.h"
#include "gw/xmlsig.h"

/* Sealed subjects remembered: 4096 subjects (about 2.5 MB), each blob reused
 * for at most an hour (see gw_seal_memo in gw/seal.h). */
#define APP_SEAL_MEMO_SLOTS 4096
#define APP_SEAL_MEMO_TTL_S 3600

static _Thread_local struct gw_worker_ctx *current;

void gw_rtset_release(struct gw_rtset *set)
{
  if(!set || atomic_fetch_sub(&set->refs, 1) != 1)
    return;
  for(size_t i = 0; i < set->n; i++)
    gw_adapter_rt_unref(set->rt[i]);
  gw_free(set->rt);
  gw_free(set);
}

struct gw_rtset *gw_app_rts_acquire(struct gw_app *app)
{
  struct gw_rtset *s;
  pthread_mutex_lock(app->rts_lock);
  s = app->rts;
  atomic_fetch_add(&s->refs, 1);
  pthread_mutex_unlock(app->rts_lock);
  return s;
}

struct gw_adapter_rt *gw_rtset_for_fact_nth(const struct gw_rtset *set, const char *fact,
                                            size_t k)
{
  struct gw_adapter_rt *found[GW_REGISTRY_MAX_ORDER];
  size_t n = 0;

  for(size_t i = 0; i < set->n && n < GW_REGISTRY_MAX_ORDER; i++) {
    const struct gw_adapter *a = set->rt[i]->adapter;
    for(size_t f = 0; f < a->n_facts; f++)
      if(!strcmp(a->facts[f], fact)) {
        size_t at = n++;
        while(at > 0 && found[at - 1]->adapter->order > a->order) {
          found[at] = found[at - 1];
          at--;
        }
        found[at] = set->rt[i];
      }
  }
  return k < n ? found[k] : NULL;
}

struct gw_adapter_rt *gw_rtset_for_fact(const struct gw_rtset *set, const char *fact)
{
  return gw_rtset_for_fact_nth(set, fact, 0);
}

/* Builds the runtimes of the registry's current snapshot. */
/* instances > 1: a cluster; each runtime also gets its share of the
 * adapter's rate (rate / instances), used when Redis cannot be asked. */
static struct gw_rtset *build_rts(struct gw_registry *reg,
                                  const struct gw_factschema_set *schemas, int instances,
                                  char *err, size_t errlen)
{
  struct gw_registry_snapshot *snap = gw_registry_acquire(reg);
  struct gw_rtset *set = gw_calloc(1, sizeof(*set));
  size_t n = gw_registry_count(snap);
  atomic_init(&set->refs, 1);
  set->generation = gw_registry_generation(snap);
  set->rt = gw_calloc(n ? n : 1, sizeof(*set->rt));
  for(size_t i = 0; i < n; i++) {
    char why[256];
    struct gw_adapter *a = (struct gw_adapter *)gw_registry_at(snap, i);
    struct gw_adapter_rt *rt = gw_adapter_rt_new(a, why, sizeof(why));
    if(!rt) {
      snprintf(err, errlen, "adapter %s: %s", a->id, why);
      gw_registry_release(snap);
      gw_rtset_release(set);
      return NULL;
    }
    if(instances > 1 && a->policy.rate_per_s > 0) {
      int burst = a->policy.burst / instances;
      rt->share = gw_policy_bucket_new(a->policy.rate_per_s / instances, burst > 0 ? burst : 1);
    }
    rt->schemas = schemas;
    set->rt[set->n++] = rt;
  }
  gw_registry_release(snap);
  return set;
}

/* The attestation signer of crypto.profile (docs/crypto.md): intl signs
 * with the P-256 keys, gm with the SM2 keys only (keys.attestation, if
 * given, is not used), dual with both. */
static struct gw_attest_signer *make_signer(const struct gw_config *cfg, char *why,
                                            size_t whylen)
{
  struct gw_attest_keys k = { NULL, NULL, 0, NULL, NULL, 0 };
  if(cfg->crypto.profile != GW_CRYPTO_GM) {
    k.es256 = cfg->attest_key;
    k.es256_previous = (const char *const *)cfg->attest_previous;
    k.n_es256_previous = cfg->n_attest_previous;
  }
  if(cfg->crypto.profile != GW_CRYPTO_INTL) {
    k.sm2 = cfg->crypto.attest_sm2;
    k.sm2_previous = (const char *const *)cfg->crypto.previous_sm2;
    k.n_sm2_previous = cfg->crypto.n_previous_sm2;
  }
  return gw_attest_signer_new_keys(cfg->gateway_id, &k, why, whylen);
}

struct gw_app *gw_app_new(const struct gw_config *cfg, int check_only, char *err, size_t errlen)
{
  struct gw_app *app = gw_calloc(1, sizeof(*app));
  struct gw_audit_config acfg;
  struct gw_audit_open_report rep;
  enum gw_audit_result ar;
  char why[512];

  app->cfg = cfg;
  app->rts_lock = gw_malloc(sizeof(pthread_mutex_t));
  pthread_mutex_init(app->rts_lock, NULL);
  gw_xml_init();
  if(gw_xmlsig_global_init()) {
    snprintf(err, errlen, "libxmlsec1: cannot initialize");
    goto fail;
  }
  if(gw_upstream_global_init(why, sizeof(why))) {
    snprintf(err, errlen, "libcurl: %s", why);
    goto fail;
  }
  if(gw_catalogue_load(cfg->schemas_dir, cfg->purposes_file, &app->catalogue, why,
                       sizeof(why))) {
    snprintf(err, errlen, "catalogue: %s", why);
    goto fail;
  }
  gw_catalogue_install(app->catalogue);
  if(gw_factschema_set_load(cfg->schemas_dir, &app->schemas, why, sizeof(why))) {
    snprintf(err, errlen, "schemas_dir: %s", why);
    goto fail;
  }
  app->acl = gw_acl_load(cfg->acl_file, why, sizeof(why));
  if(!app->acl) {
    snprintf(err, errlen, "acl: %s", why);
    goto fail;
  }
  if(gw_predset_load(cfg->predicates_dir, &app->preds, why, sizeof(why))) {
    snprintf(err, errlen, "predicates_dir: %s", why);
    goto fail;
  }
  app->registry = gw_registry_new();
  if(gw_registry_load_dir(app->registry, cfg->adapters_dir, why, sizeof(why))) {
    snprintf(err, errlen, "adapters_dir: %s", why);
    goto fail;
  }
  app->rts = build_rts(app->registry, app->schemas,
                       cfg->cluster.enabled ? cfg->cluster.instances : 1, why, sizeof(why));
  app->generation = 1;
  if(!app->rts) {
    snprintf(err, errlen, "adapters_dir: %s", why);
    goto fail;
  }
  app->signer = make_signer(cfg, why, sizeof(why));
  if(!app->signer) {
    snprintf(err, errlen, "keys.attestation: %s", why);
    goto fail;
  }
  if(gw_secret_load_hex(cfg->subject_secret, &app->secret, &app->secret_len, why, sizeof(why))) {
    snprintf(err, errlen, "keys.subject_secret: %s", why);
    goto fail;
  }
  app->subject_mac = gw_hmac_key_new_digest(app->secret, app->secret_len,
                                            cfg->crypto.subject_ref_sm3 ? "SM3" : "SHA256");
  if(!app->subject_mac) {
    snprintf(err, errlen, "keys.subject_secret: cannot key HMAC-%s with it",
             cfg->crypto.subject_ref_sm3 ? "SM3" : "SHA256");
    goto fail;
  }
  /* gm seals to the auditors' SM2 certificate (docs/crypto.md) */
  if(cfg->crypto.profile == GW_CRYPTO_GM) {
    if(gw_seal_load(cfg->crypto.seal_cert_sm2, &app->seal) != GW_SEAL_OK) {
      snprintf(err, errlen, "crypto.seal_cert_sm2: %s: not an SM2 certificate for sealing",
               cfg->crypto.seal_cert_sm2);
      goto fail;
    }
  }
  else if(gw_seal_load(cfg->audit_seal_cert, &app->seal) != GW_SEAL_OK) {
    snprintf(err, errlen, "audit.seal_cert: %s: not an RSA certificate for sealing",
             cfg->audit_seal_cert);
    goto fail;
  }
  if(cfg->cluster.enabled) {
    app->cluster = gw_cluster_new(&cfg->cluster, why, sizeof(why));
    if(!app->cluster) {
      snprintf(err, errlen, "cluster.redis.seal_key: %s", why);
      goto fail;
    }
  }
  if(check_only)
    return app;
  app->seal_memo = gw_seal_memo_new(app->seal, APP_SEAL_MEMO_SLOTS, APP_SEAL_MEMO_TTL_S);
  app->cache = gw_cache_new(cfg->cache_max_bytes);

  memset(&acfg, 0, sizeof(acfg));
  acfg.dir = cfg->audit_dir;
  acfg.gateway_id = cfg->gateway_id;
  acfg.checkpoint_key = cfg->audit_checkpoint_key;
  acfg.checkpoint_sm2_key = cfg->crypto.checkpoint_sm2;
  acfg.no_prealloc = !cfg->audit_preallocate;
  ar = gw_audit_open(&acfg, &app->audit, &rep);
  if(ar != GW_AUDIT_OK) {
    snprintf(err, errlen, "audit.dir: %s: %s%s%s", cfg->audit_dir, gw_audit_strerror(ar),
             rep.message[0] ? ": " : "", rep.message);
    goto fail;
  }
  {
    json_t *f = json_object();
    json_object_set_new(f, "log_id", json_string(gw_audit_log_id(app->audit)));
    json_object_set_new(f, "size", json_integer((json_int_t)rep.size));
    json_object_set_new(f, "replayed", json_integer((json_int_t)rep.replayed));
    json_object_set_new(f, "truncated_bytes", json_integer((json_int_t)rep.truncated_bytes));
    json_object_set_new(f, "open_seconds", json_real(rep.seconds));
    gw_log_fields(rep.truncated_bytes ? GW_LOG_WARN : GW_LOG_INFO, "audit_opened", f);
  }
  if(cfg->witness.enabled) {
    char state[4096];
    if(cfg->witness.state)
      snprintf(state, sizeof(state), "%s", cfg->witness.state);
    else
      snprintf(state, sizeof(state), "%s/witness-state", cfg->audit_dir);
    app->witness = gw_witness_new(&cfg->witness, cfg->gateway_id, state, why, sizeof(why));
    if(!app->witness) {
      snprintf(err, errlen, "%s", why);
      goto fail;
    }
  }
  return app;

fail:
  gw_app_free(app);
  return NULL;
}

static void retire(struct gw_app *app, void *p, void (*fn)(void *))
{
  app->retired = gw_realloc(app->retired, (app->n_retired + 1) * sizeof(*app->retired));
  app->retired_free = gw_realloc(app->retired_free,
                                 (app->n_retired + 1) * sizeof(*app->retired_free));
  app->retired[app->n_retired] = p;
  app->retired_free[app->n_retired] = fn;
  app->n_retired++;
}

static void acl_free_fn(void *p) { gw_acl_free(p); }
static void catalogue_free_fn(void *p) { gw_catalogue_free(p); }
static void schemas_free_fn(void *p) { gw_factschema_set_free(p); }
static void registry_free_fn(void *p) { gw_registry_free(p); }
static void signer_free_fn(void *p) { gw_attest_signer_free(p); }
static void preds_free_fn(void *p) { gw_predset_free(p); }

int gw_app_reload(struct gw_app *app, const char *who, char *err, size_t errlen)
{
  struct gw_registry *reg = gw_registry_new();
  struct gw_rtset *rts = NULL, *old;
  struct gw_acl *acl = NULL;
  struct gw_attest_signer *signer = NULL;
  struct gw_predset *preds = NULL;
  struct gw_catalogue *cat = NULL;
  struct gw_factschema_set *schemas = NULL;
  char why[512];

  /* Facts, purposes, schemas, ACL and adapters are one generation: all
   * are loaded and checked against the new catalogue (on this thread only)
   * before any of it is published. */
  if(gw_catalogue_load(app->cfg->schemas_dir, app->cfg->purposes_file, &cat, why,
                       sizeof(why))) {
    snprintf(err, errlen, "catalogue: %s", why);
    goto fail;
  }
  gw_catalogue_building(cat);
  if(gw_factschema_set_load(app->cfg->schemas_dir, &schemas, why, sizeof(why))) {
    snprintf(err, errlen, "schemas_dir: %s", why);
    goto fail;
  }
  if(gw_registry_load_dir(reg, app->cfg->adapters_dir, why, sizeof(why))) {
    snprintf(err, errlen, "adapters_dir: %s", why);
    goto fail;
  }
  rts = build_rts(reg, schemas, app->cfg->cluster.enabled ? app->cfg->cluster.instances : 1,
                  why, sizeof(why));
  if(!rts) {
    snprintf(err, errlen, "adapters_dir: %s", why);
    goto fail;
  }
  acl = gw_acl_load(app->cfg->acl_file, why, sizeof(why));
  if(!acl) {
    snprintf(err, errlen, "acl: %s", why);
    goto fail;
  }
  signer = make_signer(app->cfg, why, sizeof(why));
  if(!signer) {
    snprintf(err, errlen, "keys.attestation: %s", why);
    goto fail;
  }
  if(gw_predset_load(app->cfg->predicates_dir, &preds, why, sizeof(why))) {
    snprintf(err, errlen, "predicates_dir: %s", why);
    goto fail;
  }
  /* Readers may still hold the old ACL and registry pointers: they are
   * retired, not freed, until exit (reloads are rare and small). */
  gw_catalogue_building(NULL);
  pthread_mutex_lock(app->rts_lock);
  gw_catalogue_install(cat);
  retire(app, app->catalogue, catalogue_free_fn);
  app->catalogue = cat;
  retire(app, app->schemas, schemas_free_fn);
  app->schemas = schemas;
  app->generation++;
  old = app->rts;
  app->rts = rts;
  retire(app, app->acl, acl_free_fn);
  app->acl = acl;
  retire(app, app->registry, registry_free_fn);
  app->registry = reg;
  retire(app, app->signer, signer_free_fn);
  app->signer = signer;
  retire(app, app->preds, preds_free_fn);
  app->preds = preds;
  pthread_mutex_unlock(app->rts_lock);
  gw_obs_rebind_breakers(app);
  gw_rtset_release(old);
  gw_log(GW_LOG_INFO, "generation_activated", "generation %llu, asked by %s",
         (unsigned long long)app->generation, who ? who : "unknown");
  return 0;

fail:
  gw_predset_free(preds);
  gw_catalogue_building(NULL);
  gw_attest_signer_free(signer);
  gw_acl_free(acl);
  gw_rtset_release(rts);
  gw_registry_free(reg);
  gw_factschema_set_free(schemas);
  gw_catalogue_free(cat);
  return -1;
}

void gw_app_free(struct gw_app *app)
{
  if(!app)
    return;
  for(size_t i = 0; i < app->n_retired; i++)
    app->retired_free[i](app->retired[i]);
  gw_free(app->retired);
  gw_free(app->retired_free);
  gw_witness_free(app->witness);
  if(app->audit)
    gw_audit_close(app->audit);
  gw_cache_free(app->cache);
  gw_cluster_free(app->cluster);
  gw_seal_memo_free(app->seal_memo);
  gw_seal_free(app->seal);
  gw_hmac_key_free(app->subject_mac);
  if(app->secret) {
    OPENSSL_cleanse(app->secret, app->secret_len);
    gw_free(app->secret);
  }
  gw_attest_signer_free(app->signer);
  gw_rtset_release(app->rts);
  gw_registry_free(app->registry);
  gw_acl_free(app->acl);
  gw_predset_free(app->preds);
  gw_factschema_set_free(app->schemas);
  if(gw_catalogue_current() == app->catalogue)
    gw_catalogue_install(NULL);
  gw_catalogue_free(app->catalogue);
  pthread_mutex_destroy(app->rts_lock);
  gw_free(app->rts_lock);
  gw_free(app);
}

struct gw_worker_ctx *gw_worker_ctx_new(struct gw_app *app, struct event_base *base)
{
  struct gw_worker_ctx *w = gw_calloc(1, sizeof(*w));
  char err[256];
  w->app = app;
  w->base = base;
  struct gw_upstream_options uo = {
    .max_host_connections = app->cfg->upstream.max_connections_per_agency,
    .max_total_connections = app->cfg->upstream.max_connections,
    .max_idle_connections = app->cfg->upstream.max_idle_connections,
    .max_idle_age_s = app->cfg->upstream.max_idle_age_s,
    .max_exchanges = (size_t)app->cfg->upstream.max_exchanges,
  };
  w->up = gw_upstream_new(base, &uo, err, sizeof(err));
  if(!w->up) {
    gw_log(GW_LOG_ERROR, "worker_failed", "upstream engine: %s", err);
    gw_free(w);
    return NULL;
  }
  w->oauth = gw_oauth_new(w->up, NULL, NULL);
  w->env.base = base;
  w->env.up = w->up;
  w->env.oauth = w->oauth;
  w->env.schemas = app->schemas;
  w->env.hmac = app->subject_mac;
  if(app->cluster) {
    w->redis = gw_redis_new(base, gw_cluster_redis_cfg(app->cluster),
                            gw_cluster_health(app->cluster));
    w->env.cluster = app->cluster;
    w->env.redis = w->redis;
  }
  current = w;
  return w;
}

void gw_worker_ctx_free(struct gw_worker_ctx *w)
{
  if(!w)
    return;
  if(current == w)
    current = NULL;
  gw_redis_free(w->redis);
  gw_oauth_free(w->oauth);
  gw_upstream_free(w->up);
  gw_free(w);
}

struct gw_worker_ctx *gw_worker_current(void)
{
  return current;
}
