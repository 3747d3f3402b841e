/*
 * test_cache.c - the fact cache: hits, TTL and max_age, negative entries,
 * stale-if-error, LRU eviction by bytes, and single-flight across threads
 * (N concurrent misses make one fetch; every waiter wakes on its own loop).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "cache.h"

static atomic_int frees;

static void count_free(void *p)
{
  atomic_fetch_add(&frees, 1);
  free(p);
}

static struct gw_cache_value val(const char *s)
{
  struct gw_cache_value v = { strdup(s), strlen(s) + 1, count_free };
  return v;
}

/* Leads a flight for `key` at `now` and finishes it with `s`. */
static void fill(struct gw_cache *c, const char *key, const char *s, int64_t now,
                 int64_t ttl, int64_t stale, int negative)
{
  struct gw_cache_entry *e;
  struct gw_cache_flight *f;
  struct gw_cache_waiter *w;
  struct gw_cache_value v = val(s);
  assert_int_equal(gw_cache_get(c, key, now, 1000000, NULL, NULL, NULL, &e, &f, &w), GW_CACHE_LEAD);
  e = gw_cache_finish(c, f, &v, negative, now, ttl, stale);
  assert_non_null(e);
  gw_cache_entry_unref(e);
}

static void hit_after_fill(void **state)
{
  struct gw_cache *c = gw_cache_new(1 << 20);
  struct gw_cache_entry *e;
  struct gw_cache_flight *f;
  struct gw_cache_waiter *w;
  struct gw_cache_stats st;
  (void)state;
  fill(c, "chsi:abc", "degrees", 1000, 60000, 0, 0);
  assert_int_equal(gw_cache_get(c, "chsi:abc", 2000, 86400000, NULL, NULL, NULL, &e, &f, &w),
                   GW_CACHE_HIT);
  assert_string_equal(gw_cache_entry_data(e), "degrees");
  assert_int_equal(gw_cache_entry_fetched_ms(e), 1000);
  assert_false(gw_cache_entry_negative(e));
  gw_cache_entry_unref(e);
  gw_cache_get_stats(c, &st);
  assert_int_equal(st.hits, 1);
  assert_int_equal(st.misses, 1);
  assert_int_equal(st.entries, 1);
  gw_cache_free(c);
}

static void ttl_and_max_age(void **state)
{
  struct gw_cache *c = gw_cache_new(1 << 20);
  struct gw_cache_entry *e;
  struct gw_cache_flight *f;
  struct gw_cache_waiter *w;
  (void)state;
  fill(c, "k", "v", 1000, 5000, 0, 0);
  /* younger than max_age: hit; older: miss; max_age 0: always a fetch */
  assert_int_equal(gw_cache_get(c, "k", 3000, 2000, NULL, NULL, NULL, &e, &f, &w), GW_CACHE_HIT);
  gw_cache_entry_unref(e);
  assert_int_equal(gw_cache_get(c, "k", 3001, 2000, NULL, NULL, NULL, &e, &f, &w), GW_CACHE_LEAD);
  /* the fetch fails: what is kept is served, and its age says how old */
  e = gw_cache_finish(c, f, NULL, 0, 3001, 0, 0);
  assert_non_null(e);
  assert_int_equal(gw_cache_entry_fetched_ms(e), 1000);
  gw_cache_entry_unref(e);
  assert_int_equal(gw_cache_get(c, "k", 1000, 0, NULL, NULL, NULL, &e, &f, &w), GW_CACHE_LEAD);
  gw_cache_entry_unref(gw_cache_finish(c, f, NULL, 0, 1000, 0, 0));
  /* past the TTL: a miss whatever max_age says */
  assert_int_equal(gw_cache_get(c, "k", 6000, 1000000, NULL, NULL, NULL, &e, &f, &w), GW_CACHE_LEAD);
  assert_null(gw_cache_finish(c, f, NULL, 0, 6000, 0, 0));
  gw_cache_free(c);
}

static void negative_entries(void **state)
{
  struct gw_cache *c = gw_cache_new(1 << 20);
  struct gw_cache_entry *e;
  struct gw_cache_flight *f;
  struct gw_cache_waiter *w;
  (void)state;
  fill(c, "k", "no record", 0, 1000, 0, 1);
  assert_int_equal(gw_cache_get(c, "k", 10, 1000000, NULL, NULL, NULL, &e, &f, &w), GW_CACHE_HIT);
  assert_true(gw_cache_entry_negative(e));
  gw_cache_entry_unref(e);
  gw_cache_free(c);
}

static void stale_if_error(void **state)
{
  struct gw_cache *c = gw_cache_new(1 << 20);
  struct gw_cache_entry *e;
  struct gw_cache_flight *f;
  struct gw_cache_waiter *w;
  (void)state;
  fill(c, "k", "old", 1000, 1000, 10000, 0);
  /* fresh time over: a fetch is needed; it fails; the kept entry is served */
  assert_int_equal(gw_cache_get(c, "k", 3000, 1000000, NULL, NULL, NULL, &e, &f, &w), GW_CACHE_LEAD);
  e = gw_cache_finish(c, f, NULL, 0, 3000, 0, 0);
  assert_non_null(e);
  assert_string_equal(gw_cache_entry_data(e), "old");
  assert_true(gw_cache_entry_stale(e, 3000));
  assert_int_equal(3000 - gw_cache_entry_fetched_ms(e), 2000);   /* how old it is */
  gw_cache_entry_unref(e);
  /* past the stale window: nothing to serve */
  assert_int_equal(gw_cache_get(c, "k", 12000, 1000000, NULL, NULL, NULL, &e, &f, &w), GW_CACHE_LEAD);
  assert_null(gw_cache_finish(c, f, NULL, 0, 12000, 0, 0));
  gw_cache_free(c);
}

static void lru_eviction_by_bytes(void **state)
{
  struct gw_cache *c = gw_cache_new(16 * 4096);   /* 4 KiB a shard */
  struct gw_cache_entry *e, *held;
  struct gw_cache_flight *f;
  struct gw_cache_waiter *w;
  struct gw_cache_stats st;
  char key[32], big[1000];
  int before = atomic_load(&frees);
  (void)state;
  memset(big, 'x', sizeof(big) - 1);
  big[sizeof(big) - 1] = 0;
  fill(c, "first", big, 0, 100000, 0, 0);
  assert_int_equal(gw_cache_get(c, "first", 1, 100000, NULL, NULL, NULL, &held, &f, &w), GW_CACHE_HIT);
  for(int i = 0; i < 400; i++) {
    snprintf(key, sizeof(key), "k%d", i);
    fill(c, key, big, 10 + i, 100000, 0, 0);
  }
  gw_cache_get_stats(c, &st);
  assert_true(st.bytes <= 16 * 4096);
  assert_true(st.evictions > 0);
  assert_true(st.entries < 401);
  /* "first" was evicted long ago, but the reader's reference keeps it alive */
  assert_int_equal(gw_cache_get(c, "first", 500, 100000, NULL, NULL, NULL, &e, &f, &w), GW_CACHE_LEAD);
  assert_null(gw_cache_finish(c, f, NULL, 0, 500, 0, 0));
  assert_string_equal(gw_cache_entry_data(held), big);
  gw_cache_entry_unref(held);
  gw_cache_free(c);
  /* every value freed exactly once */
  assert_int_equal(atomic_load(&frees) - before, 401);
}

/* ---- single-flight ---------------------------------------------------- */

struct waiter_ctx {
  atomic_int woken;
  atomic_int with_value;
};

static void on_wake(struct gw_cache_waiter *w, void *arg)
{
  struct waiter_ctx *ctx = arg;
  struct gw_cache_entry *e = gw_cache_waiter_take(w);
  if(e && !strcmp(gw_cache_entry_data(e), "fetched"))
    atomic_fetch_add(&ctx->with_value, 1);
  gw_cache_entry_unref(e);
  atomic_fetch_add(&ctx->woken, 1);
}

static void coalescing_one_base(void **state)
{
  struct gw_cache *c = gw_cache_new(1 << 20);
  struct event_base *base = event_base_new();
  struct waiter_ctx ctx = { 0, 0 };
  struct gw_cache_entry *e;
  struct gw_cache_flight *f, *lead = NULL;
  struct gw_cache_waiter *w;
  struct gw_cache_value v = val("fetched");
  struct gw_cache_stats st;
  int leads = 0;
  (void)state;
  for(int i = 0; i < 100; i++) {
    enum gw_cache_result r = gw_cache_get(c, "k", 100, 1000, base, on_wake, &ctx, &e, &f, &w);
    if(r == GW_CACHE_LEAD) {
      leads++;
      lead = f;
    }
  }
  assert_int_equal(leads, 1);                 /* one agency call for 100 misses */
  e = gw_cache_finish(c, lead, &v, 0, 150, 10000, 0);
  gw_cache_entry_unref(e);
  event_base_loop(base, EVLOOP_NONBLOCK);
  assert_int_equal(atomic_load(&ctx.woken), 99);
  assert_int_equal(atomic_load(&ctx.with_value), 99);
  gw_cache_get_stats(c, &st);
  assert_int_equal(st.coalesced, 99);
  assert_int_equal(st.flights, 0);
  event_base_free(base);
  gw_cache_free(c);
}

static void fresh_only_does_not_join_older_flight(void **state)
{
  struct gw_cache *c = gw_cache_new(1 << 20);
  struct event_base *base = event_base_new();
  struct waiter_ctx ctx = { 0, 0 };
  struct gw_cache_entry *e;
  struct gw_cache_flight *f1, *f2;
  struct gw_cache_waiter *w;
  (void)state;
  assert_int_equal(gw_cache_get(c, "k", 100, 1000, base, on_wake, &ctx, &e, &f1, &w), GW_CACHE_LEAD);
  assert_int_equal(gw_cache_get(c, "k", 101, 0, base, on_wake, &ctx, &e, &f2, &w), GW_CACHE_LEAD);
  gw_cache_entry_unref(gw_cache_finish(c, f1, NULL, 0, 102, 0, 0));
  gw_cache_entry_unref(gw_cache_finish(c, f2, NULL, 0, 102, 0, 0));
  event_base_free(base);
  gw_cache_free(c);
}

static void cancelled_waiters_never_run(void **state)
{
  struct gw_cache *c = gw_cache_new(1 << 20);
  struct event_base *base = event_base_new();
  struct waiter_ctx ctx = { 0, 0 };
  struct gw_cache_entry *e;
  struct gw_cache_flight *f, *lead;
  struct gw_cache_waiter *w1, *w2, *w3;
  struct gw_cache_value v = val("fetched");
  (void)state;
  assert_int_equal(gw_cache_get(c, "k", 0, 1000, base, on_wake, &ctx, &e, &lead, &w1), GW_CACHE_LEAD);
  assert_int_equal(gw_cache_get(c, "k", 1, 1000, base, on_wake, &ctx, &e, &f, &w1), GW_CACHE_WAIT);
  assert_int_equal(gw_cache_get(c, "k", 1, 1000, base, on_wake, &ctx, &e, &f, &w2), GW_CACHE_WAIT);
  assert_int_equal(gw_cache_get(c, "k", 1, 1000, base, on_wake, &ctx, &e, &f, &w3), GW_CACHE_WAIT);
  gw_cache_waiter_cancel(w1);                  /* before the flight ends */
  gw_cache_entry_unref(gw_cache_finish(c, lead, &v, 0, 5, 1000, 0));
  gw_cache_waiter_cancel(w2);                  /* woken but not yet run */
  event_base_loop(base, EVLOOP_NONBLOCK);
  assert_int_equal(atomic_load(&ctx.woken), 1);   /* only w3 */
  event_base_free(base);
  gw_cache_free(c);
}

struct thread_arg {
  struct gw_cache *c;
  struct event_base *base;
  struct waiter_ctx ctx;
  int waits, leads;
  struct gw_cache_flight *lead;
  pthread_barrier_t *ready;
  int expected;
};

static void *worker(void *p)
{
  struct thread_arg *a = p;
  for(int i = 0; i < a->expected; i++) {
    struct gw_cache_entry *e;
    struct gw_cache_flight *f;
    struct gw_cache_waiter *w;
    enum gw_cache_result r = gw_cache_get(a->c, "shared", 10, 60000, a->base, on_wake,
                                          &a->ctx, &e, &f, &w);
    if(r == GW_CACHE_WAIT)
      a->waits++;
    else if(r == GW_CACHE_LEAD) {
      a->leads++;
      a->lead = f;
    }
  }
  pthread_barrier_wait(a->ready);
  /* run this worker's loop until all its waiters woke */
  while(atomic_load(&a->ctx.woken) < a->waits)
    event_base_loop(a->base, EVLOOP_ONCE);
  return NULL;
}

static void coalescing_across_threads(void **state)
{
  struct gw_cache *c = gw_cache_new(1 << 20);
  pthread_barrier_t ready;
  pthread_t th[2];
  struct thread_arg args[2];
  struct gw_cache_value v = val("fetched");
  struct gw_cache_flight *lead = NULL;
  int leads = 0;
  (void)state;
  evthread_use_pthreads();
  pthread_barrier_init(&ready, NULL, 3);
  memset(args, 0, sizeof(args));
  for(int i = 0; i < 2; i++) {
    args[i].c = c;
    args[i].base = event_base_new();
    args[i].ready = &ready;
    args[i].expected = 500;
    pthread_create(&th[i], NULL, worker, &args[i]);
  }
  pthread_barrier_wait(&ready);
  for(int i = 0; i < 2; i++) {
    leads += args[i].leads;
    if(args[i].lead)
      lead = args[i].lead;
  }
  assert_int_equal(leads, 1);                 /* 1000 concurrent misses, one fetch */
  gw_cache_entry_unref(gw_cache_finish(c, lead, &v, 0, 20, 60000, 0));
  for(int i = 0; i < 2; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(atomic_load(&args[i].ctx.with_value), args[i].waits);
    event_base_free(args[i].base);
  }
  assert_int_equal(args[0].waits + args[1].waits, 999);
  pthread_barrier_destroy(&ready);
  gw_cache_free(c);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(hit_after_fill),
    cmocka_unit_test(ttl_and_max_age),
    cmocka_unit_test(negative_entries),
    cmocka_unit_test(stale_if_error),
    cmocka_unit_test(lru_eviction_by_bytes),
    cmocka_unit_test(coalescing_one_base),
    cmocka_unit_test(fresh_only_does_not_join_older_flight),
    cmocka_unit_test(cancelled_waiters_never_run),
    cmocka_unit_test(coalescing_across_threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
