/*
 * policy.c - per-adapter circuit breaker, retry decisions, concurrency
 * limiter and rate limiter (contracts in gw/policy.h, design note in
 * docs/policy.md).
 *
 * The one idea: every object is a few integers behind its own mutex, and
 * time only ever arrives as an argument.  Nothing here owns a timer, so no
 * object can fire by itself: state that time alone changes (an open breaker
 * turning half-open, tokens refilling, old failures leaving the window) is
 * brought up to date lazily, at the top of every call, from `now_ms`.
 * Counts that must be exact (tokens, retry credit) are integers in
 * millionths, so "ratio 0.1, 100 requests" means exactly 10 retries.
 *
 * Locks: one pthread mutex per object, never two of ours at once.  The
 * limiter calls event_active() (which takes the target event_base's lock)
 * with its mutex held, and libevent never calls into us holding a base lock,
 * so the order is always limiter -> base.
 */
#include "gw/policy.h"

#include <assert.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/rand.h>

#include "gw/adapter.h"
#include "gw/alloc.h"
#include "gw/log.h"

#define BREAKER_MAGIC 0x42524b52u /* "BRKR" */
#define BUDGET_MAGIC 0x42444754u  /* "BDGT" */
#define LIMITER_MAGIC 0x4c494d54u /* "LIMT" */
#define WAITER_MAGIC 0x57414954u  /* "WAIT" */
#define BUCKET_MAGIC 0x544b4e42u  /* "TKNB" */
#define STATE_MAGIC 0x504f4c53u   /* "POLS" */

#define MICRO INT64_C(1000000)

/* Upper clamps: far above any sane adapter, low enough that no product of
 * two of them overflows 64 bits. */
#define MAX_SECONDS 86400
#define MAX_COUNT 1000000
#define MAX_RATIO 1000.0
#define MAX_RATE 1000000.0

/* A probe that has not reported after this long is taken as lost (a caller
 * bug, or a crash in a callback) and counted as a failed probe, so a lost
 * permit cannot wedge an adapter half-open forever. */
#define PROBE_TTL_FLOOR_MS 10000

static uint64_t max_u64(uint64_t a, uint64_t b)
{
  return a > b ? a : b;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
  return a < b ? a : b;
}

static int clamp_int(int v, int lo, int hi)
{
  return v < lo ? lo : v > hi ? hi : v;
}

static double clamp_double(double v, double lo, double hi)
{
  if(!(v >= lo))               /* also NaN */
    return lo;
  return v > hi ? hi : v;
}

/* Nearest integer of a non-negative, clamped value (no libm in gwcore). */
static int64_t round_micro(double v)
{
  return (int64_t)(v + 0.5);
}

/* Time never runs backwards inside one object: callers on different threads
 * read the clock before taking the lock, so their now_ms may cross. */
static uint64_t advance_clock(uint64_t *last, uint64_t now_ms)
{
  if(now_ms > *last)
    *last = now_ms;
  return *last;
}

static void lock(pthread_mutex_t *mu)
{
  int rc = pthread_mutex_lock(mu);
  assert(rc == 0);
  (void)rc;
}

static void unlock(pthread_mutex_t *mu)
{
  int rc = pthread_mutex_unlock(mu);
  assert(rc == 0);
  (void)rc;
}

void gw_policy_defaults(struct gw_policy *p)
{
  memset(p, 0, sizeof(*p));
  p->connect_timeout_ms = 1000;
  p->timeout_ms = 2000;
  p->retries = 2;
  p->backoff_base_ms = 100;
  p->backoff_max_ms = 1000;
  p->retry_budget_ratio = 0.1;
  p->max_concurrency = 8;
  p->max_queue = 32;
  p->rate_per_s = 0;
  p->burst = 10;
  p->breaker_failure_threshold = 5;
  p->breaker_window_s = 30;
  p->breaker_open_s = 30;
  p->breaker_half_open_max = 1;
}

/* The numbers every object here actually uses (docs/policy.md, "Clamps"). */
static void policy_clamp(const struct gw_policy *in, struct gw_policy *out)
{
  *out = *in;
  out->connect_timeout_ms = clamp_int(in->connect_timeout_ms, 0, MAX_SECONDS * 1000);
  out->timeout_ms = clamp_int(in->timeout_ms, 0, MAX_SECONDS * 1000);
  out->retries = clamp_int(in->retries, 0, 100);
  out->backoff_base_ms = clamp_int(in->backoff_base_ms, 0, MAX_SECONDS * 1000);
  out->backoff_max_ms = clamp_int(in->backoff_max_ms, 0, MAX_SECONDS * 1000);
  out->retry_budget_ratio = clamp_double(in->retry_budget_ratio, 0.0, MAX_RATIO);
  out->max_concurrency = clamp_int(in->max_concurrency, 1, MAX_COUNT);
  out->max_queue = clamp_int(in->max_queue, 0, MAX_COUNT);
  out->rate_per_s = clamp_double(in->rate_per_s, 0.0, MAX_RATE);
  out->burst = clamp_int(in->burst, 1, MAX_COUNT);
  out->breaker_failure_threshold = clamp_int(in->breaker_failure_threshold, 1, MAX_COUNT);
  out->breaker_window_s = clamp_int(in->breaker_window_s, 1, MAX_SECONDS);
  out->breaker_open_s = clamp_int(in->breaker_open_s, 0, MAX_SECONDS);
  out->breaker_half_open_max = clamp_int(in->breaker_half_open_max, 1, MAX_COUNT);
}

uint64_t gw_policy_now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- circuit breaker ----------------------------------------------------- */

struct window_bucket {
  uint64_t idx;                /* now_ms / bucket_ms when last reset */
  unsigned failures;
  unsigned requests;
};

struct gw_policy_breaker {
  unsigned magic;
  pthread_mutex_t mu;
  char *adapter_id;
  unsigned threshold;
  uint64_t bucket_ms;
  uint64_t open_ms;
  unsigned half_open_max;
  uint64_t probe_ttl_ms;

  enum gw_policy_breaker_state state;
  uint64_t epoch;              /* bumped by every transition */
  uint64_t last_now;
  uint64_t opened_at;          /* open: when */
  uint64_t probe_since;        /* half-open: first probe of the current batch */
  unsigned probes;             /* half-open: probes in flight */
  uint64_t last_transition;
  struct window_bucket win[GW_POLICY_BREAKER_BUCKETS];
  uint64_t n_opened, n_half_opened, n_closed, n_reopened, n_refused;
};

static const char *const breaker_state_names[] = { "closed", "open", "half_open" };

const char *gw_policy_breaker_state_name(enum gw_policy_breaker_state s)
{
  if((unsigned)s >= sizeof(breaker_state_names) / sizeof(breaker_state_names[0]))
    return "unknown";
  return breaker_state_names[s];
}

struct gw_policy_breaker *gw_policy_breaker_new(const char *adapter_id,
                                                const struct gw_policy *p)
{
  struct gw_policy_breaker *b = gw_calloc(1, sizeof(*b));
  struct gw_policy c;

  policy_clamp(p, &c);
  b->magic = BREAKER_MAGIC;
  pthread_mutex_init(&b->mu, NULL);
  b->adapter_id = gw_strdup(adapter_id ? adapter_id : "");
  b->threshold = (unsigned)c.breaker_failure_threshold;
  b->bucket_ms = (uint64_t)c.breaker_window_s * 1000u / GW_POLICY_BREAKER_BUCKETS;
  b->open_ms = (uint64_t)c.breaker_open_s * 1000u;
  b->half_open_max = (unsigned)c.breaker_half_open_max;
  b->probe_ttl_ms = max_u64(max_u64(b->open_ms, PROBE_TTL_FLOOR_MS),
                            2u * (uint64_t)c.timeout_ms);
  b->state = GW_POLICY_BREAKER_CLOSED;
  return b;
}

void gw_policy_breaker_free(struct gw_policy_breaker *b)
{
  if(!b)
    return;
  assert(b->magic == BREAKER_MAGIC);
  pthread_mutex_destroy(&b->mu);
  gw_free(b->adapter_id);
  b->magic = 0;
  gw_free(b);
}

static struct window_bucket *window_slot(struct gw_policy_breaker *b, uint64_t now)
{
  uint64_t idx = now / b->bucket_ms;
  struct window_bucket *s = &b->win[idx % GW_POLICY_BREAKER_BUCKETS];
  if(s->idx != idx) {
    s->idx = idx;
    s->failures = 0;
    s->requests = 0;
  }
  return s;
}

static void window_sum(const struct gw_policy_breaker *b, uint64_t now,
                       unsigned *failures, unsigned *requests)
{
  uint64_t idx = now / b->bucket_ms;
  *failures = 0;
  *requests = 0;
  for(size_t i = 0; i < GW_POLICY_BREAKER_BUCKETS; i++) {
    const struct window_bucket *s = &b->win[i];
    if(s->idx <= idx && idx - s->idx < GW_POLICY_BREAKER_BUCKETS) {
      *failures += s->failures;
      *requests += s->requests;
    }
  }
}

/* The one function that changes a breaker's state.  Called with b->mu held;
 * it logs there too, which keeps log lines in transition order (transitions
 * are rare: at most two per open_s). */
static void breaker_enter(struct gw_policy_breaker *b, enum gw_policy_breaker_state to,
                          uint64_t now, unsigned failures)
{
  enum gw_policy_breaker_state from = b->state;

  if(from == GW_POLICY_BREAKER_CLOSED && to == GW_POLICY_BREAKER_OPEN)
    b->n_opened++;
  else if(from == GW_POLICY_BREAKER_OPEN && to == GW_POLICY_BREAKER_HALF_OPEN)
    b->n_half_opened++;
  else if(from == GW_POLICY_BREAKER_HALF_OPEN && to == GW_POLICY_BREAKER_CLOSED)
    b->n_closed++;
  else if(from == GW_POLICY_BREAKER_HALF_OPEN && to == GW_POLICY_BREAKER_OPEN)
    b->n_reopened++;
  else
    assert(!"impossible breaker transition");

  b->state = to;
  b->epoch++;
  b->last_transition = now;
  b->probes = 0;
  if(to == GW_POLICY_BREAKER_OPEN)
    b->opened_at = now;
  else if(to == GW_POLICY_BREAKER_CLOSED)
    memset(b->win, 0, sizeof(b->win));

  gw_log_fields(GW_LOG_WARN, "breaker_transition",
                json_pack("{s:s, s:s, s:s, s:i}", "adapter", b->adapter_id,
                          "from", gw_policy_breaker_state_name(from),
                          "to", gw_policy_breaker_state_name(to),
                          "failures", (int)failures));
}

/* Transitions that time alone makes due.  b->mu held. */
static void breaker_advance(struct gw_policy_breaker *b, uint64_t now)
{
  if(b->state == GW_POLICY_BREAKER_OPEN && now - b->opened_at >= b->open_ms)
    breaker_enter(b, GW_POLICY_BREAKER_HALF_OPEN, now, 0);
  else if(b->state == GW_POLICY_BREAKER_HALF_OPEN && b->probes > 0 &&
          now - b->probe_since >= b->probe_ttl_ms)
    breaker_enter(b, GW_POLICY_BREAKER_OPEN, now, b->probes);
}

int gw_policy_breaker_admit(struct gw_policy_breaker *b, uint64_t now_ms,
                            struct gw_policy_permit *permit)
{
  int ok = 0;
  uint64_t now;

  assert(b && b->magic == BREAKER_MAGIC);
  memset(permit, 0, sizeof(*permit));
  lock(&b->mu);
  now = advance_clock(&b->last_now, now_ms);
  breaker_advance(b, now);
  switch(b->state) {
  case GW_POLICY_BREAKER_CLOSED:
    permit->kind = GW_POLICY_PERMIT_NORMAL;
    ok = 1;
    break;
  case GW_POLICY_BREAKER_HALF_OPEN:
    if(b->probes < b->half_open_max) {
      if(b->probes++ == 0)
        b->probe_since = now;
      permit->kind = GW_POLICY_PERMIT_PROBE;
      ok = 1;
    }
    break;
  case GW_POLICY_BREAKER_OPEN:
    break;
  }
  if(ok) {
    permit->breaker = b;
    permit->epoch = b->epoch;
  }
  else {
    b->n_refused++;
  }
  unlock(&b->mu);
  return ok;
}

void gw_policy_breaker_report(struct gw_policy_permit *permit,
                              enum gw_policy_outcome outcome, uint64_t now_ms)
{
  struct gw_policy_breaker *b = permit->breaker;
  struct gw_policy_permit p = *permit;
  unsigned failures, requests;
  uint64_t now;

  memset(permit, 0, sizeof(*permit));
  if(!b || p.kind == GW_POLICY_PERMIT_NONE)
    return;
  assert(b->magic == BREAKER_MAGIC);
  lock(&b->mu);
  now = advance_clock(&b->last_now, now_ms);
  if(p.epoch != b->epoch)
    goto out;                  /* admitted in an earlier period: stale */

  if(b->state == GW_POLICY_BREAKER_CLOSED && outcome != GW_POLICY_CANCEL) {
    struct window_bucket *s = window_slot(b, now);
    s->requests++;
    if(outcome == GW_POLICY_FAILURE) {
      s->failures++;
      window_sum(b, now, &failures, &requests);
      if(failures >= b->threshold)
        breaker_enter(b, GW_POLICY_BREAKER_OPEN, now, failures);
    }
  }
  else if(b->state == GW_POLICY_BREAKER_HALF_OPEN && p.kind == GW_POLICY_PERMIT_PROBE) {
    assert(b->probes > 0);
    b->probes--;
    if(outcome == GW_POLICY_SUCCESS)
      breaker_enter(b, GW_POLICY_BREAKER_CLOSED, now, 0);
    else if(outcome == GW_POLICY_FAILURE)
      breaker_enter(b, GW_POLICY_BREAKER_OPEN, now, 1);
  }

out:
  unlock(&b->mu);
}

void gw_policy_breaker_info(struct gw_policy_breaker *b, uint64_t now_ms,
                            struct gw_policy_breaker_info *out)
{
  uint64_t now;

  assert(b && b->magic == BREAKER_MAGIC);
  memset(out, 0, sizeof(*out));
  lock(&b->mu);
  now = advance_clock(&b->last_now, now_ms);
  breaker_advance(b, now);
  out->state = b->state;
  if(b->state == GW_POLICY_BREAKER_CLOSED)
    window_sum(b, now, &out->failures, &out->requests);
  if(b->state == GW_POLICY_BREAKER_OPEN)
    out->until_half_open_ms = b->open_ms - (now - b->opened_at);
  if(b->state == GW_POLICY_BREAKER_HALF_OPEN)
    out->probes_in_flight = b->probes;
  out->last_transition_ms = b->last_transition;
  out->opened = b->n_opened;
  out->half_opened = b->n_half_opened;
  out->closed = b->n_closed;
  out->reopened = b->n_reopened;
  out->refused = b->n_refused;
  unlock(&b->mu);
}

/* ---- random numbers and backoff ----------------------------------------- */

static uint64_t splitmix64(uint64_t x)
{
  x += UINT64_C(0x9e3779b97f4a7c15);
  x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
  return x ^ (x >> 31);
}

void gw_policy_rng_seed(struct gw_policy_rng *rng, uint64_t seed)
{
  rng->s = splitmix64(seed);
  if(!rng->s)                  /* xorshift's one fixed point */
    rng->s = UINT64_C(0x9e3779b97f4a7c15);
}

void gw_policy_rng_seed_random(struct gw_policy_rng *rng)
{
  uint64_t seed;

  if(RAND_bytes((unsigned char *)&seed, sizeof(seed)) != 1) {
    /* Jitter only needs to differ between processes and threads, not to be
     * secret: a weak seed is acceptable, silence is not. */
    gw_log(GW_LOG_WARN, "policy_rng_weak_seed", "RAND_bytes failed; seeding from the clock");
    seed = gw_policy_now_ms() ^ (uint64_t)(uintptr_t)rng ^ ((uint64_t)time(NULL) << 32);
  }
  gw_policy_rng_seed(rng, seed);
}

static _Thread_local struct gw_policy_rng thread_rng;
static _Thread_local int thread_rng_ready;

static uint64_t rng_next(struct gw_policy_rng *rng)
{
  uint64_t x;

  if(!rng) {
    if(!thread_rng_ready) {
      gw_policy_rng_seed_random(&thread_rng);
      thread_rng_ready = 1;
    }
    rng = &thread_rng;
  }
  x = rng->s;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  rng->s = x;
  return x * UINT64_C(0x2545f4914f6cdd1d);
}

uint64_t gw_policy_rng_between(struct gw_policy_rng *rng, uint64_t max)
{
  uint64_t range, threshold, r;

  if(max == UINT64_MAX)
    return rng_next(rng);
  range = max + 1;
  threshold = (0 - range) % range;   /* 2^64 mod range: the biased low end */
  do {
    r = rng_next(rng);
  } while(r < threshold);
  return r % range;
}

uint64_t gw_policy_backoff_ms(int base_ms, int cap_ms, unsigned attempt,
                              struct gw_policy_rng *rng)
{
  uint64_t base = base_ms > 0 ? (uint64_t)base_ms : 0;
  uint64_t cap = cap_ms > 0 ? (uint64_t)cap_ms : 0;
  uint64_t ceiling;

  if(base == 0 || cap == 0)
    return 0;
  /* base * 2^attempt, stopping at cap before it can overflow */
  if(attempt >= 63 || base > (cap >> attempt))
    ceiling = cap;
  else
    ceiling = min_u64(cap, base << attempt);
  return gw_policy_rng_between(rng, ceiling);
}

int gw_policy_retry_fits(uint64_t now_ms, uint64_t deadline_ms,
                         uint64_t backoff_ms, uint64_t min_attempt_ms)
{
  uint64_t left;

  if(deadline_ms <= now_ms)
    return 0;
  left = deadline_ms - now_ms;
  return backoff_ms <= left && min_attempt_ms <= left - backoff_ms;
}

/* ---- retry budget ---------------------------------------------------------- */

struct budget_bucket {
  uint64_t idx;                /* second (now_ms / 1000) when last reset */
  int64_t micro;               /* deposits minus withdrawals, millionths */
};

struct gw_policy_budget {
  unsigned magic;
  pthread_mutex_t mu;
  double ratio;
  int64_t deposit_micro;
  int64_t reserve_micro;
  uint64_t last_now;
  struct budget_bucket win[GW_POLICY_BUDGET_TTL_S];
};

struct gw_policy_budget *gw_policy_budget_new(double ratio)
{
  struct gw_policy_budget *bg = gw_calloc(1, sizeof(*bg));

  bg->magic = BUDGET_MAGIC;
  pthread_mutex_init(&bg->mu, NULL);
  bg->ratio = clamp_double(ratio, 0.0, MAX_RATIO);
  bg->deposit_micro = round_micro(bg->ratio * (double)MICRO);
  bg->reserve_micro = (int64_t)GW_POLICY_BUDGET_RESERVE_PER_S * GW_POLICY_BUDGET_TTL_S * MICRO;
  return bg;
}

void gw_policy_budget_free(struct gw_policy_budget *bg)
{
  if(!bg)
    return;
  assert(bg->magic == BUDGET_MAGIC);
  pthread_mutex_destroy(&bg->mu);
  bg->magic = 0;
  gw_free(bg);
}

/* bg->mu held.  The current second's bucket, reset if it held an old one. */
static struct budget_bucket *budget_slot(struct gw_policy_budget *bg, uint64_t now)
{
  uint64_t idx = now / 1000u;
  struct budget_bucket *s = &bg->win[idx % GW_POLICY_BUDGET_TTL_S];
  if(s->idx != idx) {
    s->idx = idx;
    s->micro = 0;
  }
  return s;
}

/* bg->mu held.  Reserve plus what the last TTL deposited and withdrew. */
static int64_t budget_balance(const struct gw_policy_budget *bg, uint64_t now)
{
  uint64_t idx = now / 1000u;
  int64_t sum = bg->reserve_micro;
  for(size_t i = 0; i < GW_POLICY_BUDGET_TTL_S; i++) {
    const struct budget_bucket *s = &bg->win[i];
    if(s->idx <= idx && idx - s->idx < GW_POLICY_BUDGET_TTL_S)
      sum += s->micro;
  }
  return sum;
}

void gw_policy_budget_deposit(struct gw_policy_budget *bg, uint64_t now_ms)
{
  assert(bg && bg->magic == BUDGET_MAGIC);
  lock(&bg->mu);
  budget_slot(bg, advance_clock(&bg->last_now, now_ms))->micro += bg->deposit_micro;
  unlock(&bg->mu);
}

int gw_policy_budget_withdraw(struct gw_policy_budget *bg, uint64_t now_ms)
{
  int ok = 0;
  uint64_t now;

  assert(bg && bg->magic == BUDGET_MAGIC);
  lock(&bg->mu);
  now = advance_clock(&bg->last_now, now_ms);
  if(budget_balance(bg, now) >= MICRO) {
    budget_slot(bg, now)->micro -= MICRO;
    ok = 1;
  }
  unlock(&bg->mu);
  return ok;
}

double gw_policy_budget_tokens(struct gw_policy_budget *bg, uint64_t now_ms)
{
  int64_t micro;

  assert(bg && bg->magic == BUDGET_MAGIC);
  lock(&bg->mu);
  micro = budget_balance(bg, advance_clock(&bg->last_now, now_ms));
  unlock(&bg->mu);
  return (double)micro / (double)MICRO;
}

/* ---- concurrency limiter --------------------------------------------------- */

enum waiter_state {
  WAITER_QUEUED = 0,           /* in the queue */
  WAITER_GRANTED,              /* holds a slot; wake-up active on its base */
  WAITER_EXPIRED               /* skipped as expired; wake-up active */
};

struct gw_policy_waiter {
  unsigned magic;
  struct gw_policy_limiter *lim;
  TAILQ_ENTRY(gw_policy_waiter) link;  /* in lim->queue while queued */
  uint64_t deadline_ms;
  enum waiter_state state;     /* under lim->mu */
  struct event *wake;          /* on the waiter's base */
  void (*cb)(enum gw_policy_limit result, void *arg);
  void *arg;
};

struct gw_policy_limiter {
  unsigned magic;
  pthread_mutex_t mu;
  unsigned max_concurrency;
  unsigned max_queue;
  unsigned in_flight;
  unsigned queued;
  unsigned pending;            /* wake-ups made active, not yet run/cancelled */
  TAILQ_HEAD(, gw_policy_waiter) queue;   /* first come, first served */
  uint64_t n_granted, n_rejected, n_expired, n_cancelled;
};

struct gw_policy_limiter *gw_policy_limiter_new(int max_concurrency, int max_queue)
{
  struct gw_policy_limiter *l = gw_calloc(1, sizeof(*l));

  l->magic = LIMITER_MAGIC;
  pthread_mutex_init(&l->mu, NULL);
  TAILQ_INIT(&l->queue);
  l->max_concurrency = (unsigned)clamp_int(max_concurrency, 1, MAX_COUNT);
  l->max_queue = (unsigned)clamp_int(max_queue, 0, MAX_COUNT);
  return l;
}

void gw_policy_limiter_free(struct gw_policy_limiter *l)
{
  if(!l)
    return;
  assert(l->magic == LIMITER_MAGIC);
  assert(!l->in_flight && !l->queued && !l->pending && TAILQ_EMPTY(&l->queue));
  pthread_mutex_destroy(&l->mu);
  l->magic = 0;
  gw_free(l);
}

/* The one function that changes a waiter's state.  lim->mu held.  Not
 * logged: a waiter lives for one request, whose own log line says how it
 * ended; the counters in gw_policy_limiter_info say the rest. */
static void waiter_set_state(struct gw_policy_waiter *w, enum waiter_state to)
{
  assert((w->state == WAITER_QUEUED && to != WAITER_QUEUED));
  w->state = to;
}

/* lim->mu held. */
static void queue_unlink(struct gw_policy_limiter *l, struct gw_policy_waiter *w)
{
  TAILQ_REMOVE(&l->queue, w, link);
  l->queued--;
}

/* One slot has come free: hand it to the first live waiter, waking the
 * expired ones in front of it, or give it back.  lim->mu held; event_active
 * is called under it so a waiter's thread cannot free the event meanwhile
 * (cancel takes lim->mu before it looks at the state). */
static void limiter_pass_slot(struct gw_policy_limiter *l, uint64_t now)
{
  struct gw_policy_waiter *w;

  while((w = TAILQ_FIRST(&l->queue)) != NULL) {
    queue_unlink(l, w);
    l->pending++;
    if(w->deadline_ms <= now) {
      waiter_set_state(w, WAITER_EXPIRED);
      l->n_expired++;
      event_active(w->wake, 0, 0);
      continue;
    }
    waiter_set_state(w, WAITER_GRANTED);
    l->n_granted++;
    event_active(w->wake, 0, 0);
    return;                    /* the slot moved; in_flight unchanged */
  }
  assert(l->in_flight > 0);
  if(l->in_flight > 0)
    l->in_flight--;
}

/* Runs on the waiter's own base thread. */
static void waiter_wake(evutil_socket_t fd, short what, void *arg)
{
  struct gw_policy_waiter *w = arg;
  struct gw_policy_limiter *l = w->lim;
  void (*cb)(enum gw_policy_limit, void *) = w->cb;
  void *cb_arg = w->arg;
  enum waiter_state st;

  (void)fd;
  (void)what;
  assert(w->magic == WAITER_MAGIC);
  lock(&l->mu);
  st = w->state;
  assert(st == WAITER_GRANTED || st == WAITER_EXPIRED);
  l->pending--;
  unlock(&l->mu);

  /* A one-shot, non-persistent event may be freed in its own callback;
   * nothing below touches w. */
  event_free(w->wake);
  w->magic = 0;
  gw_free(w);
  cb(st == WAITER_GRANTED ? GW_POLICY_LIMIT_GRANTED : GW_POLICY_LIMIT_EXPIRED, cb_arg);
}

enum gw_policy_limit gw_policy_limiter_acquire(struct gw_policy_limiter *l,
                                               uint64_t now_ms, uint64_t deadline_ms,
                                               struct event_base *base,
                                               void (*cb)(enum gw_policy_limit result,
                                                          void *arg),
                                               void *arg,
                                               struct gw_policy_waiter **waiter)
{
  enum gw_policy_limit r;
  struct gw_policy_waiter *w;

  assert(l && l->magic == LIMITER_MAGIC);
  *waiter = NULL;
  lock(&l->mu);
  if(deadline_ms <= now_ms) {
    l->n_expired++;
    r = GW_POLICY_LIMIT_EXPIRED;
    goto out;
  }
  if(l->in_flight < l->max_concurrency) {
    assert(TAILQ_EMPTY(&l->queue)); /* slots pass straight to waiters */
    l->in_flight++;
    l->n_granted++;
    r = GW_POLICY_LIMIT_GRANTED;
    goto out;
  }
  if(l->queued >= l->max_queue || !base || !cb) {
    l->n_rejected++;
    r = GW_POLICY_LIMIT_FULL;
    goto out;
  }
  w = gw_calloc(1, sizeof(*w));
  w->wake = event_new(base, -1, 0, waiter_wake, w);
  if(!w->wake) {
    gw_free(w);
    gw_log(GW_LOG_ERROR, "policy_waiter_event", "event_new failed");
    l->n_rejected++;
    r = GW_POLICY_LIMIT_FULL;
    goto out;
  }
  w->magic = WAITER_MAGIC;
  w->lim = l;
  w->deadline_ms = deadline_ms;
  w->state = WAITER_QUEUED;
  w->cb = cb;
  w->arg = arg;
  TAILQ_INSERT_TAIL(&l->queue, w, link);
  l->queued++;
  *waiter = w;
  r = GW_POLICY_LIMIT_QUEUED;

out:
  unlock(&l->mu);
  return r;
}

void gw_policy_limiter_release(struct gw_policy_limiter *l, uint64_t now_ms)
{
  assert(l && l->magic == LIMITER_MAGIC);
  lock(&l->mu);
  limiter_pass_slot(l, now_ms);
  unlock(&l->mu);
}

void gw_policy_waiter_cancel(struct gw_policy_waiter *w, uint64_t now_ms)
{
  struct gw_policy_limiter *l;

  if(!w)
    return;
  assert(w->magic == WAITER_MAGIC);
  l = w->lim;
  lock(&l->mu);
  l->n_cancelled++;
  switch(w->state) {
  case WAITER_QUEUED:
    queue_unlink(l, w);
    break;
  case WAITER_GRANTED:
    /* The slot reached us but the wake-up has not run: pass it on. */
    l->pending--;
    l->n_granted--;
    limiter_pass_slot(l, now_ms);
    break;
  case WAITER_EXPIRED:
    l->pending--;
    break;
  }
  unlock(&l->mu);

  /* Nobody else can reach w now: it left the queue, or its wake-up (which
   * would run on this same thread) is still only active.  event_free
   * deletes it from the base's active queue. */
  event_free(w->wake);
  w->magic = 0;
  gw_free(w);
}

void gw_policy_limiter_info(struct gw_policy_limiter *l,
                            struct gw_policy_limiter_info *out)
{
  assert(l && l->magic == LIMITER_MAGIC);
  lock(&l->mu);
  out->in_flight = l->in_flight;
  out->queued = l->queued;
  out->max_concurrency = l->max_concurrency;
  out->max_queue = l->max_queue;
  out->granted = l->n_granted;
  out->rejected = l->n_rejected;
  out->expired = l->n_expired;
  out->cancelled = l->n_cancelled;
  unlock(&l->mu);
}

/* ---- rate limiter ------------------------------------------------------------ */

struct gw_policy_bucket {
  unsigned magic;
  pthread_mutex_t mu;
  int unlimited;
  double rate_per_s;
  int burst;
  int64_t per_ms_micro;        /* refill per millisecond, millionths of a token */
  int64_t cap_micro;
  int64_t micro;               /* tokens now, millionths */
  uint64_t last_now;           /* time of `micro` */
};

struct gw_policy_bucket *gw_policy_bucket_new(double rate_per_s, int burst)
{
  struct gw_policy_bucket *tb = gw_calloc(1, sizeof(*tb));

  tb->magic = BUCKET_MAGIC;
  pthread_mutex_init(&tb->mu, NULL);
  tb->rate_per_s = clamp_double(rate_per_s, 0.0, MAX_RATE);
  tb->unlimited = tb->rate_per_s <= 0.0;
  tb->burst = clamp_int(burst, 1, MAX_COUNT);
  /* tokens/s * 10^6 / 1000 ms; the floor keeps a tiny rate from being none */
  tb->per_ms_micro = round_micro(tb->rate_per_s * 1000.0);
  if(tb->per_ms_micro < 1)
    tb->per_ms_micro = 1;
  tb->cap_micro = (int64_t)tb->burst * MICRO;
  tb->micro = tb->cap_micro;
  return tb;
}

void gw_policy_bucket_free(struct gw_policy_bucket *tb)
{
  if(!tb)
    return;
  assert(tb->magic == BUCKET_MAGIC);
  pthread_mutex_destroy(&tb->mu);
  tb->magic = 0;
  gw_free(tb);
}

/* tb->mu held. */
static void bucket_refill(struct gw_policy_bucket *tb, uint64_t now_ms)
{
  uint64_t elapsed;

  if(now_ms <= tb->last_now)
    return;
  elapsed = now_ms - tb->last_now;
  tb->last_now = now_ms;
  /* the bucket is full after cap/per_ms ms; more time cannot overflow */
  if(elapsed >= (uint64_t)(tb->cap_micro / tb->per_ms_micro) + 1)
    tb->micro = tb->cap_micro;
  else
    tb->micro = (int64_t)min_u64((uint64_t)tb->cap_micro,
                                 (uint64_t)tb->micro + elapsed * (uint64_t)tb->per_ms_micro);
}

uint64_t gw_policy_bucket_try_acquire(struct gw_policy_bucket *tb, uint64_t now_ms)
{
  uint64_t wait = 0;
  int64_t missing;

  assert(tb && tb->magic == BUCKET_MAGIC);
  if(tb->unlimited)
    return 0;
  lock(&tb->mu);
  bucket_refill(tb, now_ms);
  if(tb->micro >= MICRO) {
    tb->micro -= MICRO;
  }
  else {
    missing = MICRO - tb->micro;
    wait = (uint64_t)((missing + tb->per_ms_micro - 1) / tb->per_ms_micro);
  }
  unlock(&tb->mu);
  return wait;
}

double gw_policy_bucket_tokens(struct gw_policy_bucket *tb, uint64_t now_ms)
{
  int64_t micro;

  assert(tb && tb->magic == BUCKET_MAGIC);
  if(tb->unlimited)
    return -1.0;
  lock(&tb->mu);
  bucket_refill(tb, now_ms);
  micro = tb->micro;
  unlock(&tb->mu);
  return (double)micro / (double)MICRO;
}

/* ---- one adapter's state ----------------------------------------------------- */

struct gw_policy_state {
  unsigned magic;
  char *adapter_id;
  struct gw_policy policy;     /* clamped copy */
  struct gw_policy_breaker *breaker;
  struct gw_policy_budget *budget;
  struct gw_policy_limiter *limiter;
  struct gw_policy_bucket *bucket;
};

struct gw_policy_state *gw_policy_state_new(const char *adapter_id,
                                            const struct gw_policy *p)
{
  struct gw_policy_state *st = gw_calloc(1, sizeof(*st));

  st->magic = STATE_MAGIC;
  st->adapter_id = gw_strdup(adapter_id ? adapter_id : "");
  policy_clamp(p, &st->policy);
  st->breaker = gw_policy_breaker_new(st->adapter_id, &st->policy);
  st->budget = gw_policy_budget_new(st->policy.retry_budget_ratio);
  st->limiter = gw_policy_limiter_new(st->policy.max_concurrency, st->policy.max_queue);
  st->bucket = gw_policy_bucket_new(st->policy.rate_per_s, st->policy.burst);
  return st;
}

void gw_policy_state_free(struct gw_policy_state *st)
{
  if(!st)
    return;
  assert(st->magic == STATE_MAGIC);
  gw_policy_breaker_free(st->breaker);
  gw_policy_budget_free(st->budget);
  gw_policy_limiter_free(st->limiter);
  gw_policy_bucket_free(st->bucket);
  gw_free(st->adapter_id);
  st->magic = 0;
  gw_free(st);
}

const struct gw_policy *gw_policy_state_policy(const struct gw_policy_state *st)
{
  return &st->policy;
}

struct gw_policy_breaker *gw_policy_state_breaker(struct gw_policy_state *st)
{
  return st->breaker;
}

struct gw_policy_budget *gw_policy_state_budget(struct gw_policy_state *st)
{
  return st->budget;
}

struct gw_policy_limiter *gw_policy_state_limiter(struct gw_policy_state *st)
{
  return st->limiter;
}

struct gw_policy_bucket *gw_policy_state_bucket(struct gw_policy_state *st)
{
  return st->bucket;
}

enum gw_policy_retry gw_policy_retry_decide(struct gw_policy_state *st,
                                            unsigned retries_done, uint64_t now_ms,
                                            uint64_t deadline_ms,
                                            struct gw_policy_rng *rng,
                                            uint64_t *sleep_ms)
{
  uint64_t backoff;

  assert(st && st->magic == STATE_MAGIC);
  if(retries_done >= (unsigned)st->policy.retries)
    return GW_POLICY_RETRY_EXHAUSTED;
  backoff = gw_policy_backoff_ms(st->policy.backoff_base_ms, st->policy.backoff_max_ms,
                                 retries_done, rng);
  if(!gw_policy_retry_fits(now_ms, deadline_ms, backoff, GW_POLICY_MIN_ATTEMPT_MS))
    return GW_POLICY_RETRY_NO_TIME;
  if(!gw_policy_budget_withdraw(st->budget, now_ms))
    return GW_POLICY_RETRY_NO_BUDGET;
  *sleep_ms = backoff;
  return GW_POLICY_RETRY;
}

static json_t *json_u64(uint64_t v)
{
  return json_integer(v > (uint64_t)INT64_MAX ? INT64_MAX : (json_int_t)v);
}

json_t *gw_policy_state_snapshot(struct gw_policy_state *st, uint64_t now_ms)
{
  struct gw_policy_breaker_info bi;
  struct gw_policy_limiter_info li;
  json_t *root, *br, *tr, *cc, *rate, *budget;

  assert(st && st->magic == STATE_MAGIC);
  gw_policy_breaker_info(st->breaker, now_ms, &bi);
  gw_policy_limiter_info(st->limiter, &li);

  br = json_object();
  json_object_set_new(br, "state", json_string(gw_policy_breaker_state_name(bi.state)));
  json_object_set_new(br, "failures", json_u64(bi.failures));
  json_object_set_new(br, "requests", json_u64(bi.requests));
  json_object_set_new(br, "probes_in_flight", json_u64(bi.probes_in_flight));
  json_object_set_new(br, "until_half_open_ms", json_u64(bi.until_half_open_ms));
  json_object_set_new(br, "since_transition_ms",
                      bi.last_transition_ms && now_ms >= bi.last_transition_ms
                        ? json_u64(now_ms - bi.last_transition_ms) : json_null());
  tr = json_object();
  json_object_set_new(tr, "opened", json_u64(bi.opened));
  json_object_set_new(tr, "half_opened", json_u64(bi.half_opened));
  json_object_set_new(tr, "closed", json_u64(bi.closed));
  json_object_set_new(tr, "reopened", json_u64(bi.reopened));
  json_object_set_new(br, "transitions", tr);
  json_object_set_new(br, "refused", json_u64(bi.refused));

  cc = json_object();
  json_object_set_new(cc, "in_flight", json_u64(li.in_flight));
  json_object_set_new(cc, "queued", json_u64(li.queued));
  json_object_set_new(cc, "max", json_u64(li.max_concurrency));
  json_object_set_new(cc, "max_queue", json_u64(li.max_queue));
  json_object_set_new(cc, "granted", json_u64(li.granted));
  json_object_set_new(cc, "rejected", json_u64(li.rejected));
  json_object_set_new(cc, "expired", json_u64(li.expired));
  json_object_set_new(cc, "cancelled", json_u64(li.cancelled));

  rate = json_object();
  if(st->bucket->unlimited) {
    json_object_set_new(rate, "unlimited", json_true());
  }
  else {
    json_object_set_new(rate, "tokens", json_real(gw_policy_bucket_tokens(st->bucket, now_ms)));
    json_object_set_new(rate, "rate_per_s", json_real(st->policy.rate_per_s));
    json_object_set_new(rate, "burst", json_integer(st->policy.burst));
  }

  budget = json_object();
  json_object_set_new(budget, "tokens", json_real(gw_policy_budget_tokens(st->budget, now_ms)));
  json_object_set_new(budget, "ratio", json_real(st->policy.retry_budget_ratio));

  root = json_object();
  json_object_set_new(root, "adapter", json_string(st->adapter_id));
  json_object_set_new(root, "breaker", br);
  json_object_set_new(root, "concurrency", cc);
  json_object_set_new(root, "rate", rate);
  json_object_set_new(root, "retry_budget", budget);
  return root;
}
