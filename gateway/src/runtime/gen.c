/*
 * gen.c - the running generation (contract in gen.h).
 *
 * The one idea: nothing a reload replaces is reachable except through a
 * generation someone holds a reference to.  The slot's mutex guards only
 * the moment between reading the current pointer and counting the
 * reference (a reader's whole critical section is those two steps); no one
 * ever waits for a request, and a generation is freed by whichever thread
 * drops its last reference - a query ending on a worker, a cache flight
 * ending after its query, or the activation itself when nothing held the
 * old one.  A second mutex serializes activations, which are rare.
 */
#include "gen.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "acl.h"
#include "gw/alloc.h"
#include "gw/attest.h"
#include "gw/config.h"
#include "gw/facts.h"
#include "gw/factschema.h"
#include "gw/fetch.h"
#include "gw/policy.h"
#include "gw/predicate.h"
#include "registry.h"

struct gw_gen_slot {
  pthread_mutex_t lock;              /* current and its reference count step */
  pthread_mutex_t activate;          /* one activation at a time */
  struct gw_gen *current;            /* one reference, the slot's */
  uint64_t published;                /* the last id published */
};

static atomic_long live;

static const char *base_name(const char *path)
{
  const char *s = strrchr(path, '/');
  return s ? s + 1 : path;
}

static void add_file(struct gw_gen *g, enum gw_gen_part part, const char *path,
                     const char *sha256, long long version, const char *id)
{
  struct gw_gen_file *f;
  g->files = gw_realloc(g->files, (g->n_files + 1) * sizeof(*g->files));
  f = &g->files[g->n_files++];
  f->part = part;
  f->path = gw_strdup(base_name(path));
  snprintf(f->sha256, sizeof(f->sha256), "%s", sha256);
  f->version = version;
  f->id = id ? gw_strdup(id) : NULL;
}

static void gen_free(struct gw_gen *g)
{
  for(size_t i = 0; i < g->n_rt; i++)
    gw_adapter_rt_unref(g->rt[i]);
  gw_free(g->rt);
  gw_registry_free(g->registry);
  gw_attest_signer_free(g->signer);
  gw_predset_free(g->preds);
  gw_acl_free(g->acl);
  gw_factschema_set_free(g->schemas);
  /* never the installed one: that belongs to the current generation */
  if(g->catalogue && gw_catalogue_current() == g->catalogue)
    gw_catalogue_install(NULL);
  gw_catalogue_free(g->catalogue);
  for(size_t i = 0; i < g->n_files; i++) {
    gw_free(g->files[i].path);
    gw_free(g->files[i].id);
  }
  gw_free(g->files);
  gw_free(g);
  atomic_fetch_sub(&live, 1);
}

/* The attestation signer of crypto.profile (docs/crypto.md): intl signs
 * with the P-256 keys, gm with the SM2 keys only (keys.attestation, if
 * given, is not used), dual with both. */
static struct gw_attest_signer *make_signer(const struct gw_config *cfg, char *why,
                                            size_t whylen)
{
  struct gw_attest_keys k = { NULL, NULL, 0, NULL, NULL, 0, NULL };
  if(cfg->crypto.profile != GW_CRYPTO_GM) {
    k.es256 = cfg->attest_key;
    k.es256_previous = (const char *const *)cfg->attest_previous;
    k.n_es256_previous = cfg->n_attest_previous;
  }
  if(cfg->crypto.profile != GW_CRYPTO_INTL) {
    k.sm2 = cfg->crypto.attest_sm2;
    k.sm2_previous = (const char *const *)cfg->crypto.previous_sm2;
    k.n_sm2_previous = cfg->crypto.n_previous_sm2;
    k.sm2_id = cfg->crypto.sm2_id;
  }
  return gw_attest_signer_new_keys(cfg->gateway_id, &k, why, whylen);
}

/* The runtimes of the generation's adapters; instances > 1: a cluster,
 * each runtime also gets its share of the adapter's rate (rate /
 * instances), used when Redis cannot be asked. */
static int build_rts(struct gw_gen *g, int instances, char *err, size_t errlen)
{
  size_t n = gw_registry_count(g->registry);
  g->rt = gw_calloc(n ? n : 1, sizeof(*g->rt));
  for(size_t i = 0; i < n; i++) {
    char why[256];
    struct gw_adapter *a = (struct gw_adapter *)gw_registry_at(g->registry, i);
    struct gw_adapter_rt *rt = gw_adapter_rt_new(a, why, sizeof(why));
    if(!rt) {
      snprintf(err, errlen, "adapters_dir: adapter %s: %s", a->id, why);
      return -1;
    }
    if(instances > 1 && a->policy.rate_per_s > 0) {
      int burst = a->policy.burst / instances;
      rt->share = gw_policy_bucket_new(a->policy.rate_per_s / instances, burst > 0 ? burst : 1);
    }
    rt->schemas = g->schemas;
    g->rt[g->n_rt++] = rt;
  }
  return 0;
}

/* The file list of a loaded generation, in record order. */
static void list_files(struct gw_gen *g, const struct gw_config *cfg)
{
  const struct gw_catalogue_file *cf;
  const struct gw_pred_def *pd;
  size_t n = gw_catalogue_files(g->catalogue, &cf), np;

  const struct gw_catalogue *prev = gw_catalogue_use(g->catalogue);
  size_t nf;
  const struct gw_fact_def *facts = gw_fact_all(&nf);

  for(size_t i = 0; i < n; i++)
    if(strcmp(cf[i].path, cfg->purposes_file)) {
      /* a fact file's version is its x-gw.version */
      long long version = -1;
      for(size_t j = 0; j < nf; j++)
        if(facts[j].file && !strcmp(facts[j].file, cf[i].path))
          version = facts[j].version;
      add_file(g, GW_GEN_FACT, cf[i].path, cf[i].sha256, version, NULL);
    }
  (void)gw_catalogue_use(prev);
  for(size_t i = 0; i < n; i++)
    if(!strcmp(cf[i].path, cfg->purposes_file))
      add_file(g, GW_GEN_PURPOSES, cf[i].path, cf[i].sha256,
               gw_catalogue_version(g->catalogue), NULL);
  pd = gw_predset_all(g->preds, &np);
  for(size_t i = 0; i < np; i++)
    add_file(g, GW_GEN_PREDICATE, pd[i].file ? pd[i].file : pd[i].id, pd[i].sha256,
             pd[i].version, pd[i].id);
  for(size_t i = 0; i < g->n_rt; i++) {
    const struct gw_adapter *a = g->rt[i]->adapter;
    add_file(g, GW_GEN_ADAPTER, a->file ? a->file : a->id, a->sha256, a->version, a->id);
  }
  add_file(g, GW_GEN_ACL, cfg->acl_file, gw_acl_sha256(g->acl), -1, NULL);
}

struct gw_gen *gw_gen_load(const struct gw_config *cfg, int instances, char *err, size_t errlen)
{
  struct gw_gen *g = gw_calloc(1, sizeof(*g));
  const struct gw_catalogue *prev = NULL;
  char why[512];

  atomic_init(&g->refs, 1);
  atomic_fetch_add(&live, 1);
  /* Facts, purposes, schemas, ACL, predicates and adapters are one
   * generation: each is checked against the new catalogue (on this thread
   * only) before any of it can be published. */
  if(gw_catalogue_load(cfg->schemas_dir, cfg->purposes_file, &g->catalogue, why,
                       sizeof(why))) {
    snprintf(err, errlen, "catalogue: %s", why);
    goto fail;
  }
  prev = gw_catalogue_use(g->catalogue);
  if(gw_factschema_set_load(cfg->schemas_dir, &g->schemas, why, sizeof(why))) {
    snprintf(err, errlen, "schemas_dir: %s", why);
    goto fail;
  }
  g->acl = gw_acl_load(cfg->acl_file, why, sizeof(why));
  if(!g->acl) {
    snprintf(err, errlen, "acl: %s", why);
    goto fail;
  }
  if(gw_predset_load(cfg->predicates_dir, &g->preds, why, sizeof(why))) {
    snprintf(err, errlen, "predicates_dir: %s", why);
    goto fail;
  }
  if(gw_registry_load_dir(cfg->adapters_dir, &g->registry, why, sizeof(why))) {
    snprintf(err, errlen, "adapters_dir: %s", why);
    goto fail;
  }
  if(build_rts(g, instances, err, errlen))
    goto fail;
  g->signer = make_signer(cfg, why, sizeof(why));
  if(!g->signer) {
    snprintf(err, errlen, "keys.attestation: %s", why);
    goto fail;
  }
  gw_catalogue_use(prev);
  list_files(g, cfg);
  return g;

fail:
  if(g->catalogue)
    gw_catalogue_use(prev);
  gen_free(g);
  return NULL;
}

struct gw_gen *gw_gen_ref(struct gw_gen *g)
{
  atomic_fetch_add(&g->refs, 1);
  return g;
}

void gw_gen_release(struct gw_gen *g)
{
  if(g && atomic_fetch_sub(&g->refs, 1) == 1)
    gen_free(g);
}

struct gw_adapter_rt *gw_gen_rt_for_fact_nth(const struct gw_gen *g, const char *fact, size_t k)
{
  struct gw_adapter_rt *found[GW_REGISTRY_MAX_ORDER];
  size_t n = 0;

  for(size_t i = 0; i < g->n_rt && n < GW_REGISTRY_MAX_ORDER; i++) {
    const struct gw_adapter *a = g->rt[i]->adapter;
    for(size_t f = 0; f < a->n_facts; f++)
      if(!strcmp(a->facts[f], fact)) {
        size_t at = n++;
        while(at > 0 && found[at - 1]->adapter->order > a->order) {
          found[at] = found[at - 1];
          at--;
        }
        found[at] = g->rt[i];
        break;
      }
  }
  return k < n ? found[k] : NULL;
}

struct gw_adapter_rt *gw_gen_rt_for_fact(const struct gw_gen *g, const char *fact)
{
  return gw_gen_rt_for_fact_nth(g, fact, 0);
}

struct gw_adapter_rt *gw_gen_rt_by_id(const struct gw_gen *g, const char *id)
{
  for(size_t i = 0; i < g->n_rt; i++)
    if(!strcmp(g->rt[i]->adapter->id, id))
      return g->rt[i];
  return NULL;
}

/* ---- the config record ------------------------------------------------------ */

static json_t *file_json(const struct gw_gen_file *f)
{
  json_t *o = json_object();
  json_object_set_new(o, "path", json_string(f->path));
  json_object_set_new(o, "sha256", json_string(f->sha256));
  if(f->version >= 0)
    json_object_set_new(o, "version", json_integer((json_int_t)f->version));
  if(f->id)
    json_object_set_new(o, "id", json_string(f->id));
  return o;
}

char *gw_gen_record(const struct gw_gen *g, size_t *len)
{
  json_t *rec = json_object(), *facts = json_array(), *preds = json_array(),
         *adapters = json_array(), *cat = json_object();
  char *s, *text;

  for(size_t i = 0; i < g->n_files; i++) {
    const struct gw_gen_file *f = &g->files[i];
    switch(f->part) {
    case GW_GEN_FACT: json_array_append_new(facts, file_json(f)); break;
    case GW_GEN_PURPOSES: json_object_set_new(cat, "purposes", file_json(f)); break;
    case GW_GEN_PREDICATE: json_array_append_new(preds, file_json(f)); break;
    case GW_GEN_ADAPTER: json_array_append_new(adapters, file_json(f)); break;
    case GW_GEN_ACL: json_object_set_new(rec, "acl", file_json(f)); break;
    }
  }
  json_object_set_new(cat, "version", json_integer(gw_catalogue_version(g->catalogue)));
  json_object_set_new(cat, "digest", json_string(gw_catalogue_digest(g->catalogue)));
  json_object_set_new(cat, "facts", facts);
  json_object_set_new(rec, "catalogue", cat);
  json_object_set_new(rec, "predicates", preds);
  json_object_set_new(rec, "adapters", adapters);
  json_object_set_new(rec, "generation", json_integer((json_int_t)g->id));
  json_object_set_new(rec, "kind", json_string("config"));
  json_object_set_new(rec, "time", json_integer((json_int_t)g->when_ms));
  json_object_set_new(rec, "who", json_string(g->who));
  s = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(rec);
  if(!s)
    return NULL;
  *len = strlen(s);
  text = gw_malloc(*len + 1);
  memcpy(text, s, *len + 1);
  free(s);
  return text;
}

/* ---- the slot --------------------------------------------------------------- */

struct gw_gen_slot *gw_gen_slot_new(void)
{
  struct gw_gen_slot *s = gw_calloc(1, sizeof(*s));
  pthread_mutex_init(&s->lock, NULL);
  pthread_mutex_init(&s->activate, NULL);
  return s;
}

void gw_gen_slot_free(struct gw_gen_slot *slot)
{
  if(!slot)
    return;
  gw_gen_release(slot->current);
  pthread_mutex_destroy(&slot->activate);
  pthread_mutex_destroy(&slot->lock);
  gw_free(slot);
}

void gw_gen_slot_lock(struct gw_gen_slot *slot)
{
  pthread_mutex_lock(&slot->activate);
}

void gw_gen_slot_unlock(struct gw_gen_slot *slot)
{
  pthread_mutex_unlock(&slot->activate);
}

void gw_gen_number(struct gw_gen_slot *slot, struct gw_gen *next, const char *who)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  next->id = slot->published + 1;     /* only activations write published */
  next->when_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
  snprintf(next->who, sizeof(next->who), "%s", who && *who ? who : "unknown");
}

struct gw_gen *gw_gen_acquire(struct gw_gen_slot *slot)
{
  struct gw_gen *g;
  pthread_mutex_lock(&slot->lock);
  g = slot->current ? gw_gen_ref(slot->current) : NULL;
  pthread_mutex_unlock(&slot->lock);
  return g;
}

void gw_gen_publish(struct gw_gen_slot *slot, struct gw_gen *next)
{
  struct gw_gen *old;
  pthread_mutex_lock(&slot->lock);
  slot->published = next->id;
  gw_catalogue_install(next->catalogue);
  old = slot->current;
  slot->current = next;
  pthread_mutex_unlock(&slot->lock);
  gw_gen_release(old);       /* outside the lock: freeing may take a while */
}

long gw_gen_live(void)
{
  return atomic_load(&live);
}
