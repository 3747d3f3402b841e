/*
 * registry.c - the active adapters as immutable, atomically swapped
 * snapshots (contract in gw/registry.h).
 *
 * The one idea: a reader's only risk is the moment between loading the
 * current-snapshot pointer and counting its reference, when a writer could
 * swap the pointer and free the old snapshot.  Instead of a lock, readers
 * announce themselves in one of two counters chosen by the parity of an
 * epoch; a writer publishes the new pointer, flips the epoch, and waits
 * until the counter of the old parity drains (a grace period of a few
 * instructions per reader) before dropping the registry's reference to the
 * old snapshot.  A reader that raced with the flip withdraws and retries, so
 * it never touches a snapshot whose grace period is over.  All atomics are
 * sequentially consistent: the announce/validate/flip/drain steps form a
 * Dekker-style handshake that needs it.
 */
#include "registry.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw/alloc.h"
#include "gw/facts.h"

struct gw_registry_snapshot {
  atomic_int refs;
  uint64_t generation;
  size_t n;
  struct gw_adapter **adapters;        /* sorted by id; one reference each */
};

struct gw_registry {
  _Atomic(struct gw_registry_snapshot *) current;
  atomic_uint epoch;
  atomic_long active[2];               /* readers inside acquire, by epoch parity */
  pthread_mutex_t write_lock;          /* one writer at a time */
  uint64_t generation;                 /* last published; under write_lock */
};

/* --- snapshots ----------------------------------------------------------- */

static void snapshot_free(struct gw_registry_snapshot *s)
{
  for(size_t i = 0; i < s->n; i++)
    gw_adapter_unref(s->adapters[i]);
  gw_free(s->adapters);
  gw_free(s);
}

void gw_registry_release(struct gw_registry_snapshot *s)
{
  if(s && atomic_fetch_sub(&s->refs, 1) == 1)
    snapshot_free(s);
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
static struct gw_registry_snapshot *snapshot_build(struct gw_adapter **v, size_t n,
                                                   const char *const *labels,
                                                   char *err, size_t errlen)
{
  struct gw_registry_snapshot *s = NULL;

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
  atomic_init(&s->refs, 1);
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

/* --- publishing ---------------------------------------------------------- */

/* Called with write_lock held: makes `s` current and retires the old one
 * once no reader can still be about to count a reference to it. */
static void publish(struct gw_registry *reg, struct gw_registry_snapshot *s)
{
  struct gw_registry_snapshot *old;
  unsigned e;

  s->generation = ++reg->generation;
  old = atomic_exchange(&reg->current, s);
  e = atomic_load(&reg->epoch);
  atomic_store(&reg->epoch, e + 1);
  while(atomic_load(&reg->active[e & 1]))
    sched_yield();
  gw_registry_release(old);
}

struct gw_registry_snapshot *gw_registry_acquire(struct gw_registry *reg)
{
  for(;;) {
    unsigned e = atomic_load(&reg->epoch);
    struct gw_registry_snapshot *s;
    atomic_fetch_add(&reg->active[e & 1], 1);
    if(atomic_load(&reg->epoch) != e) {
      /* a writer flipped meanwhile and may not wait for us: withdraw */
      atomic_fetch_sub(&reg->active[e & 1], 1);
      continue;
    }
    s = atomic_load(&reg->current);
    atomic_fetch_add(&s->refs, 1);
    atomic_fetch_sub(&reg->active[e & 1], 1);
    return s;
  }
}

struct gw_registry *gw_registry_new(void)
{
  struct gw_registry *reg = gw_calloc(1, sizeof(*reg));
  struct gw_registry_snapshot *empty = gw_calloc(1, sizeof(*empty));
  atomic_init(&empty->refs, 1);
  atomic_init(&reg->current, empty);
  atomic_init(&reg->epoch, 0);
  atomic_init(&reg->active[0], 0);
  atomic_init(&reg->active[1], 0);
  pthread_mutex_init(&reg->write_lock, NULL);
  return reg;
}

void gw_registry_free(struct gw_registry *reg)
{
  if(!reg)
    return;
  gw_registry_release(atomic_load(&reg->current));
  pthread_mutex_destroy(&reg->write_lock);
  gw_free(reg);
}

/* --- changes -------------------------------------------------------------- */

static int is_adapter_file(const char *name)
{
  size_t len = strlen(name);
  return name[0] != '.' && len > 5 && !strcmp(name + len - 5, ".json");
}

static int by_name(const void *x, const void *y)
{
  return strcmp(*(char *const *)x, *(char *const *)y);
}

int gw_registry_load_dir(struct gw_registry *reg, const char *dir,
                         char *err, size_t errlen)
{
  struct gw_adapter **v = NULL;
  struct gw_registry_snapshot *s;
  char **paths = NULL;
  size_t n = 0, loaded = 0;
  struct dirent *e;
  DIR *d = opendir(dir);
  int rc = -1;

  err[0] = '\0';
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
  pthread_mutex_lock(&reg->write_lock);
  s = snapshot_build(v, n, (const char *const *)paths, err, errlen);
  v = NULL;                    /* snapshot_build owns them now */
  if(s)
    publish(reg, s);
  pthread_mutex_unlock(&reg->write_lock);
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

/* A copy of the current adapter list (new references) without `skip_id`;
 * room for one more.  Called with write_lock held. */
static struct gw_adapter **current_without(struct gw_registry *reg, const char *skip_id,
                                           size_t *n, const struct gw_adapter **skipped)
{
  struct gw_registry_snapshot *cur = atomic_load(&reg->current);
  struct gw_adapter **v = gw_calloc(cur->n + 1, sizeof(*v));
  *n = 0;
  *skipped = NULL;
  for(size_t i = 0; i < cur->n; i++) {
    if(!strcmp(cur->adapters[i]->id, skip_id)) {
      *skipped = cur->adapters[i];
      continue;
    }
    v[(*n)++] = gw_adapter_ref(cur->adapters[i]);
  }
  return v;
}

int gw_registry_put(struct gw_registry *reg, struct gw_adapter *a,
                    char *err, size_t errlen)
{
  const struct gw_adapter *old;
  struct gw_registry_snapshot *s = NULL;
  struct gw_adapter **v;
  size_t n;

  err[0] = '\0';
  pthread_mutex_lock(&reg->write_lock);
  v = current_without(reg, a->id, &n, &old);
  if(old && old->version >= a->version) {
    snprintf(err, errlen, "%s: version %d is not newer than the active version %d",
             a->id, a->version, old->version);
    goto fail;
  }
  if(n >= GW_REGISTRY_MAX_ADAPTERS) {
    snprintf(err, errlen, "%s: the registry holds %d adapters already (at most %d)",
             a->id, GW_REGISTRY_MAX_ADAPTERS, GW_REGISTRY_MAX_ADAPTERS);
    goto fail;
  }
  v[n++] = gw_adapter_ref(a);  /* last, so conflicts are reported against it */
  s = snapshot_build(v, n, NULL, err, errlen);
  if(s)
    publish(reg, s);
  pthread_mutex_unlock(&reg->write_lock);
  return s ? 0 : -1;

fail:
  for(size_t i = 0; i < n; i++)
    gw_adapter_unref(v[i]);
  gw_free(v);
  pthread_mutex_unlock(&reg->write_lock);
  return -1;
}

int gw_registry_remove(struct gw_registry *reg, const char *id, char *err, size_t errlen)
{
  const struct gw_adapter *old;
  struct gw_registry_snapshot *s;
  struct gw_adapter **v;
  size_t n;

  err[0] = '\0';
  pthread_mutex_lock(&reg->write_lock);
  v = current_without(reg, id, &n, &old);
  if(!old) {
    for(size_t i = 0; i < n; i++)
      gw_adapter_unref(v[i]);
    gw_free(v);
    pthread_mutex_unlock(&reg->write_lock);
    snprintf(err, errlen, "%s: no such adapter", id);
    return -1;
  }
  s = snapshot_build(v, n, NULL, err, errlen);
  if(s)
    publish(reg, s);
  pthread_mutex_unlock(&reg->write_lock);
  return s ? 0 : -1;
}

/* --- lookups ------------------------------------------------------------- */

const struct gw_adapter *gw_registry_find(const struct gw_registry_snapshot *s,
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

const struct gw_adapter *gw_registry_for_fact_nth(const struct gw_registry_snapshot *s,
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

const struct gw_adapter *gw_registry_for_fact(const struct gw_registry_snapshot *s,
                                              const char *fact)
{
  return gw_registry_for_fact_nth(s, fact, 0);
}

size_t gw_registry_count(const struct gw_registry_snapshot *s)
{
  return s->n;
}

const struct gw_adapter *gw_registry_at(const struct gw_registry_snapshot *s, size_t i)
{
  return i < s->n ? s->adapters[i] : NULL;
}

uint64_t gw_registry_generation(const struct gw_registry_snapshot *s)
{
  return s->generation;
}
