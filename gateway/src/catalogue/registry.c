/*
 * registry.c - the adapters of one generation as one immutable set
 * (contract in registry.h).
 *
 * The one idea: a set is built whole and never changed.  Loading a
 * directory reads every adapter file, checks the adapters as a whole (ids
 * unique, no fact served twice at one order, every fact in the catalogue
 * being built, no TTL beyond the fact's cache limit) and only then makes a
 * set.  Swapping sets is the generation's business (runtime/gen.h): a
 * reload builds a new set inside a new generation, and requests hold the
 * generation, so nothing here is shared mutably and nothing needs a lock.
 */
#include "registry.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw/alloc.h"
#include "gw/facts.h"

struct gw_registry {
  size_t n;
  struct gw_adapter **adapters;        /* sorted by id; one reference each */
};

void gw_registry_free(struct gw_registry *s)
{
  if(!s)
    return;
  for(size_t i = 0; i < s->n; i++)
    gw_adapter_unref(s->adapters[i]);
  gw_free(s->adapters);
  gw_free(s);
}

static int by_id(const void *x, const void *y)
{
  const struct gw_adapter *const *a = x, *const *b = y;
  return strcmp((*a)->id, (*b)->id);
}

/* The first adapter before index `upto` of `v` that provides `fact` at
 * the same order as v[upto] does. */
static const struct gw_adapter *provider(struct gw_adapter **v, size_t upto,
                                         const char *fact, size_t *idx)
{
  for(size_t i = 0; i < upto; i++)
    for(size_t f = 0; f < v[i]->n_facts; f++)
      if(!strcmp(v[i]->facts[f], fact) && v[i]->order == v[upto]->order) {
        *idx = i;
        return v[i];
      }
  return NULL;
}

/* Takes ownership of the n references in v (freed on failure too) and
 * checks the set as a whole.  `labels[i]` names adapter i in messages (its
 * file, or its id); NULL labels mean "use the id". */
static struct gw_registry *set_build(struct gw_adapter **v, size_t n,
                                     const char *const *labels, char *err, size_t errlen)
{
  struct gw_registry *s = NULL;

  for(size_t i = 0; i < n; i++) {
    const char *label = labels ? labels[i] : v[i]->id;
    for(size_t j = 0; j < i; j++)
      if(!strcmp(v[i]->id, v[j]->id)) {
        snprintf(err, errlen, "%s: id: \"%s\" is already used by %s", label,
                 v[i]->id, labels ? labels[j] : "another adapter");
        goto fail;
      }
    for(size_t f = 0; f < v[i]->n_facts; f++) {
      size_t j = 0;
      const struct gw_adapter *other = provider(v, i, v[i]->facts[f], &j);
      const struct gw_fact_def *def = gw_fact_find(v[i]->facts[f]);
      if(other) {
        snprintf(err, errlen, "%s: order: %d: \"%s\" is already provided at order %d by "
                 "adapter \"%s\"%s%s%s (two adapters may serve one fact only at different "
                 "orders)", label, v[i]->order, v[i]->facts[f], other->order, other->id,
                 labels ? " (" : "", labels ? labels[j] : "", labels ? ")" : "");
        goto fail;
      }
      /* the catalogue may have changed since the adapter was loaded */
      if(!def) {
        snprintf(err, errlen, "%s: facts[%zu]: \"%s\" is not a fact of the catalogue",
                 label, f, v[i]->facts[f]);
        goto fail;
      }
      if(v[i]->ttl_s > def->max_cache_s) {
        snprintf(err, errlen, "%s: cache.ttl_s: %d exceeds the %d s fact %s may be cached "
                 "(its x-gw.max_cache_age_s)", label, v[i]->ttl_s, def->max_cache_s, def->name);
        goto fail;
      }
    }
  }
  s = gw_calloc(1, sizeof(*s));
  s->n = n;
  s->adapters = v;
  if(n)
    qsort(v, n, sizeof(*v), by_id);
  return s;

fail:
  for(size_t i = 0; i < n; i++)
    gw_adapter_unref(v[i]);
  gw_free(v);
  return NULL;
}

/* --- loading ------------------------------------------------------------ */

static int is_adapter_file(const char *name)
{
  size_t len = strlen(name);
  return name[0] != '.' && len > 5 && !strcmp(name + len - 5, ".json");
}

static int by_name(const void *x, const void *y)
{
  return strcmp(*(char *const *)x, *(char *const *)y);
}

int gw_registry_load_dir(const char *dir, struct gw_registry **out, char *err, size_t errlen)
{
  struct gw_adapter **v = NULL;
  struct gw_registry *s;
  char **paths = NULL;
  size_t n = 0, loaded = 0;
  struct dirent *e;
  DIR *d = opendir(dir);
  int rc = -1;

  err[0] = '\0';
  *out = NULL;
  if(!d) {
    snprintf(err, errlen, "%s: cannot open: %s", dir, strerror(errno));
    return -1;
  }
  paths = gw_calloc(GW_REGISTRY_MAX_ADAPTERS, sizeof(*paths));
  while((e = readdir(d))) {
    size_t len;
    if(!is_adapter_file(e->d_name))
      continue;
    if(n == GW_REGISTRY_MAX_ADAPTERS) {
      snprintf(err, errlen, "%s: more than %d adapter files (at most %d)", dir,
               GW_REGISTRY_MAX_ADAPTERS, GW_REGISTRY_MAX_ADAPTERS);
      goto out;
    }
    len = strlen(dir) + 1 + strlen(e->d_name) + 1;
    paths[n] = gw_malloc(len);
    snprintf(paths[n], len, "%s/%s", dir, e->d_name);
    n++;
  }
  qsort(paths, n, sizeof(*paths), by_name);
  v = gw_calloc(n ? n : 1, sizeof(*v));
  for(loaded = 0; loaded < n; loaded++)
    if(gw_adapter_load(paths[loaded], &v[loaded], err, errlen))
      goto out;
  s = set_build(v, n, (const char *const *)paths, err, errlen);
  v = NULL;                    /* set_build owns them now */
  *out = s;
  rc = s ? 0 : -1;
out:
  if(v) {
    for(size_t i = 0; i < loaded; i++)
      gw_adapter_unref(v[i]);
    gw_free(v);
  }
  for(size_t i = 0; i < n; i++)
    gw_free(paths[i]);
  gw_free(paths);
  closedir(d);
  return rc;
}

/* --- lookups ------------------------------------------------------------- */

const struct gw_adapter *gw_registry_find(const struct gw_registry *s,
                                          const char *id)
{
  size_t lo = 0, hi = s->n;
  while(lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(id, s->adapters[mid]->id);
    if(!c)
      return s->adapters[mid];
    if(c < 0)
      hi = mid;
    else
      lo = mid + 1;
  }
  return NULL;
}

const struct gw_adapter *gw_registry_for_fact_nth(const struct gw_registry *s,
                                                  const char *fact, size_t k)
{
  const struct gw_adapter *found[GW_REGISTRY_MAX_ORDER];
  size_t n = 0;

  /* A fact has a few providers at most: collect, then pick the k-th order. */
  for(size_t i = 0; i < s->n && n < GW_REGISTRY_MAX_ORDER; i++)
    for(size_t f = 0; f < s->adapters[i]->n_facts; f++)
      if(!strcmp(s->adapters[i]->facts[f], fact)) {
        size_t at = n++;
        while(at > 0 && found[at - 1]->order > s->adapters[i]->order) {
          found[at] = found[at - 1];
          at--;
        }
        found[at] = s->adapters[i];
      }
  return k < n ? found[k] : NULL;
}

const struct gw_adapter *gw_registry_for_fact(const struct gw_registry *s,
                                              const char *fact)
{
  return gw_registry_for_fact_nth(s, fact, 0);
}

size_t gw_registry_count(const struct gw_registry *s)
{
  return s->n;
}

const struct gw_adapter *gw_registry_at(const struct gw_registry *s, size_t i)
{
  return i < s->n ? s->adapters[i] : NULL;
}
