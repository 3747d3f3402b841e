/*
 * app.c - building the gateway's shared state from its config, activating
 * generations (at start and on reload: load, record, publish; gen.h), and
 * the per-worker contexts.
 */
#include "gw/app.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>

#include "gw/alloc.h"
#include "gw/attest.h"
#include "gw/audit.h"
#include "cache.h"
#include "gw/cluster.h"
#include "gen.h"
#include "gw/config.h"
#include "hmac.h"
#include "gw/log.h"
#include "gw/oauth.h"
#include "gw/obs_collect.h"
#include "gw/observe.h"
#include "gw/redis.h"
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

/* Appends g's config record and waits until it is durable; remembers its
 * index.  0, or -1 with "audit: why" in err. */
static int record_generation(struct gw_app *app, struct gw_gen *g, char *err, size_t errlen)
{
  struct gw_audit_append_result res;
  enum gw_audit_result ar;
  size_t len = 0;
  char *text = gw_gen_record(g, &len);

  if(!text) {
    snprintf(err, errlen, "audit: the config record of generation %llu cannot be built",
             (unsigned long long)g->id);
    return -1;
  }
  ar = gw_audit_append_sync(app->audit, text, len, &res);
  gw_free(text);
  if(ar != GW_AUDIT_OK) {
    snprintf(err, errlen, "audit: the config record of generation %llu: %s",
             (unsigned long long)g->id, gw_audit_strerror(ar));
    return -1;
  }
  g->record_index = res.index;
  g->recorded = 1;
  gw_obs_audit("config");
  return 0;
}

static void log_activated(const struct gw_gen *g)
{
  json_t *f = json_object();
  json_object_set_new(f, "generation", json_integer((json_int_t)g->id));
  json_object_set_new(f, "who", json_string(g->who));
  json_object_set_new(f, "files", json_integer((json_int_t)g->n_files));
  if(g->recorded)
    json_object_set_new(f, "audit_index", json_integer((json_int_t)g->record_index));
  json_object_set_new(f, "generations_live", json_integer(gw_gen_live()));
  gw_log_fields(GW_LOG_INFO, "generation_activated", f);
}

static int instances_of(const struct gw_config *cfg)
{
  return cfg->cluster.enabled ? cfg->cluster.instances : 1;
}

struct gw_app *gw_app_new(const struct gw_config *cfg, int check_only, char *err, size_t errlen)
{
  struct gw_app *app = gw_calloc(1, sizeof(*app));
  struct gw_audit_config acfg;
  struct gw_audit_open_report rep;
  enum gw_audit_result ar;
  struct gw_gen *first = NULL;
  char why[512];

  app->cfg = cfg;
  app->gens = gw_gen_slot_new();
  app->up_gates = gw_upstream_gates_new((int)cfg->upstream.max_connecting);
  gw_xml_init();
  if(gw_xmlsig_global_init()) {
    snprintf(err, errlen, "libxmlsec1: cannot initialize");
    goto fail;
  }
  if(gw_upstream_global_init(why, sizeof(why))) {
    snprintf(err, errlen, "libcurl: %s", why);
    goto fail;
  }
  first = gw_gen_load(cfg, instances_of(cfg), err, errlen);
  if(!first)
    goto fail;
  gw_gen_number(app->gens, first, "start");
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
  if(check_only) {
    gw_gen_publish(app->gens, first);    /* no log, no record: nothing runs */
    return app;
  }
  app->seal_memo = gw_seal_memo_new(app->seal, APP_SEAL_MEMO_SLOTS, APP_SEAL_MEMO_TTL_S);
  app->cache = gw_cache_new(cfg->cache_max_bytes);

  memset(&acfg, 0, sizeof(acfg));
  acfg.dir = cfg->audit_dir;
  acfg.gateway_id = cfg->gateway_id;
  acfg.checkpoint_key = cfg->audit_checkpoint_key;
  acfg.checkpoint_sm2_key = cfg->crypto.checkpoint_sm2;
  acfg.checkpoint_sm2_id = cfg->crypto.sm2_id;
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
  /* the first generation is recorded before anything can be served by it */
  if(record_generation(app, first, err, errlen))
    goto fail;
  gw_gen_publish(app->gens, first);
  log_activated(first);
  return app;

fail:
  gw_gen_release(first);
  gw_app_free(app);
  return NULL;
}

int gw_app_reload(struct gw_app *app, const char *who, char *err, size_t errlen)
{
  struct gw_gen *next;

  gw_gen_slot_lock(app->gens);
  next = gw_gen_load(app->cfg, instances_of(app->cfg), err, errlen);
  if(!next)
    goto refused;
  gw_gen_number(app->gens, next, who);
  /* recorded before it can serve: no query cites a generation the log
   * does not hold */
  if(app->audit && record_generation(app, next, err, errlen))
    goto refused;
  gw_gen_publish(app->gens, next);
  gw_obs_rebind_breakers(app);
  gw_gen_slot_unlock(app->gens);
  log_activated(next);
  return 0;

refused:
  gw_gen_slot_unlock(app->gens);
  gw_gen_release(next);
  return -1;
}

void gw_app_free(struct gw_app *app)
{
  if(!app)
    return;
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
  gw_gen_slot_free(app->gens);
  gw_upstream_gates_free(app->up_gates);   /* after the workers' engines */
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
    .gates = app->up_gates,
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
  w->env.schemas = NULL;           /* each runtime carries its generation's */
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
