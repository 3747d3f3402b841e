/*
 * cache.c - sharded LRU cache with TTLs, stale-if-error and single-flight.
 *
 * The one idea: entries and flights live in the same shard under the same
 * mutex, so "is it cached, is someone fetching it, or do I fetch it" is one
 * atomic decision.  Everything slow — fetching, serializing, freeing values
 * — happens outside the lock, on references.
 *
 * An entry is linked in its shard's hash chain and LRU list while the table
 * owns it (one reference); readers take their own reference.  Waiters are
 * woken with event_active() on their own base; their callback runs on their
 * own thread and the waiter is freed right after the callback returns.
 */
#include "cache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/queue.h>

#include "gw/alloc.h"

#define CACHE_SHARDS 16
#define CACHE_MIN_BUCKETS 64
#define FLIGHT_BUCKETS 64

struct gw_cache_entry {
  atomic_int refs;
  int linked;                  /* in the table (holds one reference) */
  char *key;
  uint64_t hash;
  struct gw_cache_entry *hnext;
  TAILQ_ENTRY(gw_cache_entry) lru;   /* in shard.lru while linked */
  struct gw_cache_value value;
  size_t cost;
  int negative;
  int64_t fetched_ms;
  int64_t fresh_until_ms;
  int64_t keep_until_ms;       /* fresh + stale-if-error window */
};

struct gw_cache_flight {
  struct shard *shard;
  char *key;
  uint64_t hash;
  int64_t started_ms;
  int registered;              /* joinable: in the shard's flight table */
  LIST_ENTRY(gw_cache_flight) chain; /* in shard.flights[] while registered */
  LIST_HEAD(, gw_cache_waiter) waiters;
};

struct gw_cache_waiter {
  struct shard *shard;
  struct gw_cache_flight *flight;   /* NULL once completed */
  LIST_ENTRY(gw_cache_waiter) link;  /* in flight->waiters until done */
  struct event *ev;
  void (*cb)(struct gw_cache_waiter *w, void *arg);
  void *arg;
  struct gw_cache_entry *result;
  int done;
};

struct shard {
  pthread_mutex_t lock;
  struct gw_cache_entry **buckets;
  size_t n_buckets;
  size_t entries;
  size_t bytes;
  size_t max_bytes;
  TAILQ_HEAD(gw_cache_lru, gw_cache_entry) lru;            /* first = most recent */
  LIST_HEAD(, gw_cache_flight) flights[FLIGHT_BUCKETS];
  size_t n_flights;
  uint64_t hits, misses, coalesced, stale_served, evictions, inserts;
};

struct gw_cache {
  struct shard shards[CACHE_SHARDS];
};

static uint64_t hash_key(const char *k)
{
  uint64_t h = 1469598103934665603ULL;          /* FNV-1a */
  for(; *k; k++) {
    h ^= (unsigned char)*k;
    h *= 1099511628211ULL;
  }
  return h;
}

struct gw_cache *gw_cache_new(size_t max_bytes)
{
  struct gw_cache *c = gw_calloc(1, sizeof(*c));
  for(int i = 0; i < CACHE_SHARDS; i++) {
    struct shard *s = &c->shards[i];
    pthread_mutex_init(&s->lock, NULL);
    s->n_buckets = CACHE_MIN_BUCKETS;
    s->buckets = gw_calloc(s->n_buckets, sizeof(*s->buckets));
    s->max_bytes = max_bytes / CACHE_SHARDS;
    TAILQ_INIT(&s->lru);
    for(int b = 0; b < FLIGHT_BUCKETS; b++)
      LIST_INIT(&s->flights[b]);
  }
  return c;
}

static void entry_destroy(struct gw_cache_entry *e)
{
  if(e->value.free_fn)
    e->value.free_fn(e->value.data);
  gw_free(e->key);
  gw_free(e);
}

void gw_cache_entry_unref(struct gw_cache_entry *e)
{
  if(e && atomic_fetch_sub(&e->refs, 1) == 1)
    entry_destroy(e);
}

static struct gw_cache_entry *entry_ref(struct gw_cache_entry *e)
{
  atomic_fetch_add(&e->refs, 1);
  return e;
}

/* ---- shard internals: called with s->lock held ---------------------------- */

static void lru_remove(struct shard *s, struct gw_cache_entry *e)
{
  TAILQ_REMOVE(&s->lru, e, lru);
}

static void lru_push_front(struct shard *s, struct gw_cache_entry *e)
{
  TAILQ_INSERT_HEAD(&s->lru, e, lru);
}

static struct gw_cache_entry *table_find(struct shard *s, const char *key, uint64_t h)
{
  for(struct gw_cache_entry *e = s->buckets[h & (s->n_buckets - 1)]; e; e = e->hnext)
    if(e->hash == h && !strcmp(e->key, key))
      return e;
  return NULL;
}

/* Unlinks e from the table; the table's reference is returned to the caller
 * in *drop so it is released after the lock (values may be large). */
static void table_unlink(struct shard *s, struct gw_cache_entry *e)
{
  struct gw_cache_entry **pp = &s->buckets[e->hash & (s->n_buckets - 1)];
  while(*pp && *pp != e)
    pp = &(*pp)->hnext;
  if(*pp)
    *pp = e->hnext;
  e->hnext = NULL;
  lru_remove(s, e);
  e->linked = 0;
  s->entries--;
  s->bytes -= e->cost;
}

static void table_grow(struct shard *s)
{
  size_t n = s->n_buckets * 2;
  struct gw_cache_entry **b = gw_calloc(n, sizeof(*b));
  for(size_t i = 0; i < s->n_buckets; i++) {
    struct gw_cache_entry *e = s->buckets[i], *next;
    for(; e; e = next) {
      next = e->hnext;
      e->hnext = b[e->hash & (n - 1)];
      b[e->hash & (n - 1)] = e;
    }
  }
  gw_free(s->buckets);
  s->buckets = b;
  s->n_buckets = n;
}

/* Collects entries to release after unlocking. */
struct droplist {
  struct gw_cache_entry *items[64];
  size_t n;
  struct gw_cache_entry *overflow;   /* chained through hnext */
};

static void drop_later(struct droplist *d, struct gw_cache_entry *e)
{
  if(d->n < 64) {
    d->items[d->n++] = e;
    return;
  }
  e->hnext = d->overflow;
  d->overflow = e;
}

static void drop_now(struct droplist *d)
{
  for(size_t i = 0; i < d->n; i++)
    gw_cache_entry_unref(d->items[i]);
  while(d->overflow) {
    struct gw_cache_entry *e = d->overflow;
    d->overflow = e->hnext;
    gw_cache_entry_unref(e);
  }
  d->n = 0;
}

static void table_insert(struct shard *s, struct gw_cache_entry *e, struct droplist *drop)
{
  struct gw_cache_entry *old = table_find(s, e->key, e->hash);
  size_t b;
  if(old) {
    table_unlink(s, old);
    drop_later(drop, old);
  }
  if(e->cost > s->max_bytes)
    return;                    /* too big to keep; still served to this flight */
  while(s->bytes + e->cost > s->max_bytes && !TAILQ_EMPTY(&s->lru)) {
    struct gw_cache_entry *victim = TAILQ_LAST(&s->lru, gw_cache_lru);
    table_unlink(s, victim);
    drop_later(drop, victim);
    s->evictions++;
  }
  if(s->entries + 1 > s->n_buckets)
    table_grow(s);
  b = e->hash & (s->n_buckets - 1);
  e->hnext = s->buckets[b];
  s->buckets[b] = e;
  lru_push_front(s, e);
  e->linked = 1;
  entry_ref(e);                /* the table's reference */
  s->entries++;
  s->bytes += e->cost;
  s->inserts++;
}

static struct gw_cache_flight *flight_find(struct shard *s, const char *key, uint64_t h)
{
  struct gw_cache_flight *f;
  LIST_FOREACH(f, &s->flights[h % FLIGHT_BUCKETS], chain)
    if(f->hash == h && !strcmp(f->key, key))
      return f;
  return NULL;
}

static void flight_unregister(struct shard *s, struct gw_cache_flight *f)
{
  (void)s;
  LIST_REMOVE(f, chain);
  f->registered = 0;
  s->n_flights--;
}

/* ---- public ------------------------------------------------------------- */

static void waiter_fire(evutil_socket_t fd, short what, void *arg)
{
  struct gw_cache_waiter *w = arg;
  (void)fd; (void)what;
  w->cb(w, w->arg);
  /* The callback had its chance to take the result; release what is left. */
  gw_cache_entry_unref(w->result);
  event_free(w->ev);
  gw_free(w);
}

enum gw_cache_result gw_cache_get(struct gw_cache *c, const char *key,
                                  int64_t now_ms, int64_t max_age_ms,
                                  struct event_base *base,
                                  void (*cb)(struct gw_cache_waiter *w, void *arg),
                                  void *arg,
                                  struct gw_cache_entry **entry,
                                  struct gw_cache_flight **flight,
                                  struct gw_cache_waiter **waiter)
{
  uint64_t h = hash_key(key);
  struct shard *s = &c->shards[h % CACHE_SHARDS];
  struct droplist drop = { .n = 0 };
  struct gw_cache_entry *e;
  struct gw_cache_flight *f;
  enum gw_cache_result r;

  *entry = NULL;
  *flight = NULL;
  *waiter = NULL;
  pthread_mutex_lock(&s->lock);
  e = table_find(s, key, h);
  if(e && now_ms >= e->keep_until_ms) {   /* past even stale-if-error */
    table_unlink(s, e);
    drop_later(&drop, e);
    e = NULL;
  }
  if(e && max_age_ms > 0 && now_ms < e->fresh_until_ms && now_ms - e->fetched_ms <= max_age_ms) {
    lru_remove(s, e);
    lru_push_front(s, e);
    *entry = entry_ref(e);
    s->hits++;
    r = GW_CACHE_HIT;
    goto out;
  }
  s->misses++;
  f = flight_find(s, key, h);
  if(f && max_age_ms > 0 && f->started_ms >= now_ms - max_age_ms) {
    struct gw_cache_waiter *w = gw_calloc(1, sizeof(*w));
    w->ev = event_new(base, -1, 0, waiter_fire, w);
    if(!w->ev) {
      gw_free(w);
      goto lead;               /* cannot wait: fetch ourselves */
    }
    w->shard = s;
    w->flight = f;
    w->cb = cb;
    w->arg = arg;
    LIST_INSERT_HEAD(&f->waiters, w, link);
    s->coalesced++;
    *waiter = w;
    r = GW_CACHE_WAIT;
    goto out;
  }
lead:
  f = gw_calloc(1, sizeof(*f));
  f->shard = s;
  f->key = gw_strdup(key);
  f->hash = h;
  f->started_ms = now_ms;
  LIST_INIT(&f->waiters);
  {
    /* The newest flight is the one later requests join. */
    struct gw_cache_flight *old = flight_find(s, key, h);
    if(old)
      flight_unregister(s, old);
  }
  f->registered = 1;
  LIST_INSERT_HEAD(&s->flights[h % FLIGHT_BUCKETS], f, chain);
  s->n_flights++;
  *flight = f;
  r = GW_CACHE_LEAD;

out:
  pthread_mutex_unlock(&s->lock);
  drop_now(&drop);
  return r;
}

struct gw_cache_entry *gw_cache_finish(struct gw_cache *c, struct gw_cache_flight *f,
                                       struct gw_cache_value *value, int negative,
                                       int64_t now_ms, int64_t ttl_ms, int64_t stale_ms)
{
  return gw_cache_finish_ex(c, f, value, negative, now_ms, ttl_ms, stale_ms, 0);
}

struct gw_cache_entry *gw_cache_finish_ex(struct gw_cache *c, struct gw_cache_flight *f,
                                          struct gw_cache_value *value, int negative,
                                          int64_t now_ms, int64_t ttl_ms, int64_t stale_ms,
                                          int failed)
{
  struct shard *s = f->shard;
  struct droplist drop = { .n = 0 };
  struct gw_cache_entry *result = NULL, *e;
  struct gw_cache_waiter *w;
  (void)c;

  if(value) {
    e = gw_calloc(1, sizeof(*e));
    atomic_init(&e->refs, 1);  /* the leader's reference */
    e->key = gw_strdup(f->key);
    e->hash = f->hash;
    e->value = *value;
    e->negative = negative;
    e->fetched_ms = now_ms;
    e->fresh_until_ms = now_ms + (ttl_ms > 0 ? ttl_ms : 0);
    e->keep_until_ms = e->fresh_until_ms + (stale_ms > 0 ? stale_ms : 0);
    e->cost = sizeof(*e) + strlen(e->key) + 1 + value->bytes;
    value->data = NULL;
    value->free_fn = NULL;
    result = e;
  }
  pthread_mutex_lock(&s->lock);
  if(result && !failed) {
    if(ttl_ms > 0 || stale_ms > 0)
      table_insert(s, result, &drop);
  }
  else {
    /* The fetch failed: what is kept for stale-if-error beats the failure. */
    e = table_find(s, f->key, f->hash);
    if(e && now_ms < e->keep_until_ms) {
      if(result)
        drop_later(&drop, result);    /* the failure record, never stored */
      result = entry_ref(e);
      s->stale_served++;
      failed = 2;                     /* serving stale */
    }
  }
  while((w = LIST_FIRST(&f->waiters))) {
    LIST_REMOVE(w, link);
    w->result = result ? entry_ref(result) : NULL;
    if(failed == 2)
      s->stale_served++;
    w->done = 1;
    w->flight = NULL;
    event_active(w->ev, 0, 0);
  }
  if(f->registered)
    flight_unregister(s, f);
  pthread_mutex_unlock(&s->lock);
  drop_now(&drop);
  gw_free(f->key);
  gw_free(f);
  return result;
}

struct gw_cache_entry *gw_cache_waiter_take(struct gw_cache_waiter *w)
{
  struct gw_cache_entry *e = w->result;
  w->result = NULL;
  return e;
}

void gw_cache_waiter_cancel(struct gw_cache_waiter *w)
{
  struct shard *s = w->shard;
  pthread_mutex_lock(&s->lock);
  if(!w->done && w->flight)
    LIST_REMOVE(w, link);
  pthread_mutex_unlock(&s->lock);
  event_free(w->ev);           /* also removes it from the active queue */
  gw_cache_entry_unref(w->result);
  gw_free(w);
}

const void *gw_cache_entry_data(const struct gw_cache_entry *e) { return e->value.data; }
int gw_cache_entry_negative(const struct gw_cache_entry *e) { return e->negative; }
int64_t gw_cache_entry_fetched_ms(const struct gw_cache_entry *e) { return e->fetched_ms; }

int gw_cache_entry_stale(const struct gw_cache_entry *e, int64_t now_ms)
{
  return now_ms >= e->fresh_until_ms;
}

void gw_cache_clear(struct gw_cache *c)
{
  for(int i = 0; i < CACHE_SHARDS; i++) {
    struct shard *s = &c->shards[i];
    struct droplist drop = { .n = 0 };
    pthread_mutex_lock(&s->lock);
    while(!TAILQ_EMPTY(&s->lru)) {
      struct gw_cache_entry *e = TAILQ_FIRST(&s->lru);
      table_unlink(s, e);
      drop_later(&drop, e);
    }
    pthread_mutex_unlock(&s->lock);
    drop_now(&drop);
  }
}

void gw_cache_get_stats(struct gw_cache *c, struct gw_cache_stats *out)
{
  memset(out, 0, sizeof(*out));
  for(int i = 0; i < CACHE_SHARDS; i++) {
    struct shard *s = &c->shards[i];
    pthread_mutex_lock(&s->lock);
    out->hits += s->hits;
    out->misses += s->misses;
    out->coalesced += s->coalesced;
    out->stale_served += s->stale_served;
    out->evictions += s->evictions;
    out->inserts += s->inserts;
    out->bytes += s->bytes;
    out->entries += s->entries;
    out->flights += s->n_flights;
    pthread_mutex_unlock(&s->lock);
  }
}

void gw_cache_free(struct gw_cache *c)
{
  if(!c)
    return;
  gw_cache_clear(c);
  for(int i = 0; i < CACHE_SHARDS; i++) {
    pthread_mutex_destroy(&c->shards[i].lock);
    gw_free(c->shards[i].buckets);
  }
  gw_free(c);
}
