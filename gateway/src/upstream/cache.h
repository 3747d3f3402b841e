/*
 * gw/cache.h - the fact cache: bounded in bytes, LRU, TTL per entry,
 * negative entries, stale-if-error, and single-flight across all workers.
 *
 * One cache per process, shared by the worker threads, split into shards
 * with a mutex each (the critical sections only touch pointers).  Keys are
 * opaque strings built by the caller from the adapter id and the subject's
 * HMAC reference: a raw identity number must never be part of a key.
 * Values are immutable once inserted; readers hold a reference to an entry,
 * so eviction never frees a value someone is still serializing.
 *
 * Single-flight: the first request to miss a key becomes the leader of a
 * "flight" and must end it with gw_cache_finish(); requests that miss the
 * same key meanwhile become waiters and are woken on their own event_base
 * (event_active is thread-safe once evthread_use_pthreads() was called).
 * A request that wants fresher data than the running flight can give
 * (max_age_ms smaller than the flight's age) starts its own flight.
 *
 * Thread rules: every function may be called from any thread, except that
 * a waiter is cancelled only from its own event_base's thread, and its
 * callback never runs after gw_cache_waiter_cancel() returns.
 */
#ifndef GW_CACHE_H
#define GW_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>

struct gw_cache;
struct gw_cache_entry;
struct gw_cache_flight;
struct gw_cache_waiter;

/* What a fetch produced.  The cache takes ownership of `data` and calls
 * free_fn(data) when the last reference to the entry goes. */
struct gw_cache_value {
  void *data;
  size_t bytes;                /* counted against the cache's byte cap */
  void (*free_fn)(void *data);
};

struct gw_cache_stats {
  uint64_t hits, misses, coalesced, stale_served, evictions, inserts;
  size_t bytes, entries, flights;
};

/* A cache of at most max_bytes (keys, values and bookkeeping counted). */
struct gw_cache *gw_cache_new(size_t max_bytes);

/* Frees the cache.  No flight or waiter may be outstanding. */
void gw_cache_free(struct gw_cache *c);

enum gw_cache_result {
  GW_CACHE_HIT = 0,            /* *entry is set (one reference, caller's) */
  GW_CACHE_LEAD,               /* *flight is set: fetch, then gw_cache_finish */
  GW_CACHE_WAIT                /* *waiter is set: cb(waiter, arg) will run */
};

/* Looks up `key` for a request that accepts data at most max_age_ms old
 * (0: force a fetch of its own — never an entry, never another's flight).  Expired entries are misses; stale entries stay kept for
 * stale-if-error.  `base`, `cb` and `arg` are used only when the result is
 * GW_CACHE_WAIT. */
enum gw_cache_result gw_cache_get(struct gw_cache *c, const char *key,
                                  int64_t now_ms, int64_t max_age_ms,
                                  struct event_base *base,
                                  void (*cb)(struct gw_cache_waiter *w, void *arg),
                                  void *arg,
                                  struct gw_cache_entry **entry,
                                  struct gw_cache_flight **flight,
                                  struct gw_cache_waiter **waiter)
  __attribute__((warn_unused_result));

/* Ends a flight.  With `value` (ownership passes to the cache) the entry is
 * stored, fresh until now+ttl_ms, kept for stale-if-error until
 * now+ttl_ms+stale_ms; `negative` marks a "not found" answer.  With
 * value == NULL the fetch failed: a kept entry still inside its
 * stale-if-error window is served instead, marked stale.  Returns the entry
 * the leader should answer with (one reference, caller's), or NULL when
 * there is none (the leader reports its own error).  Waiters are woken with
 * the same outcome. */
struct gw_cache_entry *gw_cache_finish(struct gw_cache *c, struct gw_cache_flight *flight,
                                       struct gw_cache_value *value, int negative,
                                       int64_t now_ms, int64_t ttl_ms, int64_t stale_ms);

/* As gw_cache_finish, with `failed`: the fetch failed but `value` records
 * how (so waiters learn the same reasons).  If an entry is kept inside its
 * stale-if-error window it is served instead and `value` is dropped;
 * otherwise `value` is served to this flight without being stored. */
struct gw_cache_entry *gw_cache_finish_ex(struct gw_cache *c, struct gw_cache_flight *flight,
                                          struct gw_cache_value *value, int negative,
                                          int64_t now_ms, int64_t ttl_ms, int64_t stale_ms,
                                          int failed);

/* The outcome of a waiter, valid inside its callback: an entry (one
 * reference, the caller's, to release with gw_cache_entry_unref), or NULL if
 * the flight failed with nothing stale to serve.  Frees the waiter. */
struct gw_cache_entry *gw_cache_waiter_take(struct gw_cache_waiter *w);

/* Cancels a waiter (its deadline fired).  Call on the waiter's own thread;
 * afterwards its callback will not run and the waiter is freed. */
void gw_cache_waiter_cancel(struct gw_cache_waiter *w);

/* Entry accessors. */
const void *gw_cache_entry_data(const struct gw_cache_entry *e);
int gw_cache_entry_negative(const struct gw_cache_entry *e);
int64_t gw_cache_entry_fetched_ms(const struct gw_cache_entry *e);
int gw_cache_entry_stale(const struct gw_cache_entry *e, int64_t now_ms);
void gw_cache_entry_unref(struct gw_cache_entry *e);

/* Drops every entry (admin "purge"); flights continue. */
void gw_cache_clear(struct gw_cache *c);

void gw_cache_get_stats(struct gw_cache *c, struct gw_cache_stats *out);

#endif
