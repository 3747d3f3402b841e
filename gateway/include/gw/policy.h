/*
 * gw/policy.h - how hard the gateway may lean on one agency: a circuit
 * breaker, retry decisions (full-jitter backoff, a retry budget, deadline
 * fit), a concurrency limiter with a deadline-aware FIFO queue, and a
 * token-bucket rate limiter.
 *
 * The one idea: these objects hold numbers and decide, they never act.  They
 * read no clock (every call takes the caller's monotonic `now_ms`, so tests
 * are exact and need no sleeping), never sleep, never start I/O or timers,
 * and never see a request.  The upstream engine asks them and does the
 * waiting, the sending and the reporting.  The one exception to "never acts"
 * is the limiter's wake-up, which must cross threads (see below).
 *
 * One struct gw_policy_state exists per adapter and is shared by every worker
 * thread.  Every object in this header is thread-safe: each has its own
 * mutex, held only for a few arithmetic steps (no allocation but the
 * limiter's queued waiter, no I/O but a rare breaker transition log line).
 * `now_ms` values may reach an object slightly out of order from different
 * threads; each object clamps time to the latest it has seen, so time never
 * runs backwards inside it.  Use gw_policy_now_ms() or any other monotonic
 * millisecond clock, the same one everywhere.
 *
 * Which objects the caller uses, in order, for one request to one adapter:
 *   gw_policy_budget_deposit       once per request
 *   per attempt:
 *     gw_policy_bucket_try_acquire   rate; wait or report `rate_limited`
 *     gw_policy_limiter_acquire      concurrency; maybe queued
 *     gw_policy_breaker_admit        last, just before sending (a half-open
 *                                    probe slot should be held briefly)
 *     ... attempt ...
 *     gw_policy_breaker_report       SUCCESS / FAILURE / CANCEL
 *     gw_policy_limiter_release
 *     gw_policy_retry_decide         retry after the backoff, or give up
 * Design note with the defaults: docs/policy.md.
 */
#ifndef GW_POLICY_H
#define GW_POLICY_H

#include <stdint.h>

#include <jansson.h>

struct event_base;
struct gw_policy;              /* gw/adapter.h: an adapter's numbers */

/* Opaque; each made by its _new function and freed by its _free. */
struct gw_policy_breaker;
struct gw_policy_budget;
struct gw_policy_limiter;
struct gw_policy_waiter;       /* made by acquire, freed by the wake-up or cancel */
struct gw_policy_bucket;
struct gw_policy_state;

#define GW_POLICY_WUR __attribute__((warn_unused_result))

/* ---- defaults and time ---------------------------------------------------- */

/* Fills every member of *p with the documented default (docs/policy.md), for
 * loaders to start from before applying what an adapter file says. */
void gw_policy_defaults(struct gw_policy *p);

/* CLOCK_MONOTONIC in milliseconds.  A convenience; nothing here calls it. */
uint64_t gw_policy_now_ms(void);

/* ---- circuit breaker ------------------------------------------------------- */

/* Rolling failure window granularity: the window is cut in this many buckets,
 * so a failure is forgotten between window_s * 9/10 and window_s after it. */
#define GW_POLICY_BREAKER_BUCKETS 10

enum gw_policy_breaker_state {
  GW_POLICY_BREAKER_CLOSED = 0,   /* requests pass; failures are counted */
  GW_POLICY_BREAKER_OPEN,         /* every request refused (`circuit_open`) */
  GW_POLICY_BREAKER_HALF_OPEN     /* a few probe requests pass */
};

enum gw_policy_outcome {
  GW_POLICY_SUCCESS = 0,  /* the agency answered properly (incl. not_found) */
  GW_POLICY_FAILURE,      /* timeout, transport, 5xx, bad signature...: the
                             caller decides what counts */
  GW_POLICY_CANCEL        /* the attempt never ran to a verdict (the query
                             ended, the deadline fired first): releases a
                             probe slot, counts nothing */
};

enum gw_policy_permit_kind {
  GW_POLICY_PERMIT_NONE = 0,  /* refused, or already reported */
  GW_POLICY_PERMIT_NORMAL,    /* admitted while closed */
  GW_POLICY_PERMIT_PROBE      /* admitted as a half-open probe */
};

/* The proof of one admission, held by the caller until it reports.  A plain
 * value the caller owns (embed it in the attempt); members are private.
 * Reporting clears it, so a second report is a harmless no-op and a probe
 * slot is released exactly once.  An outcome only counts in the breaker
 * period (closed / half-open episode) it was admitted in: a late answer to a
 * request admitted before the breaker opened changes nothing. */
struct gw_policy_permit {
  struct gw_policy_breaker *breaker;
  uint64_t epoch;
  enum gw_policy_permit_kind kind;
};

/* What the health endpoint and tests read.  A copy; no lock held. */
struct gw_policy_breaker_info {
  enum gw_policy_breaker_state state;
  unsigned failures;            /* in the window (closed); 0 otherwise */
  unsigned requests;            /* reported outcomes in the window (closed) */
  unsigned probes_in_flight;    /* half-open only */
  uint64_t until_half_open_ms;  /* open only: time left; 0 otherwise */
  uint64_t last_transition_ms;  /* now_ms of the last transition; 0 = never */
  uint64_t opened;              /* closed -> open */
  uint64_t half_opened;         /* open -> half_open */
  uint64_t closed;              /* half_open -> closed */
  uint64_t reopened;            /* half_open -> open */
  uint64_t refused;             /* admissions refused (open, or probes full) */
};

/* Creates a closed breaker for adapter `adapter_id` (copied; used in log
 * lines) with the breaker_* numbers of *p (copied; out-of-range values are
 * clamped as docs/policy.md says).  Never returns NULL.  Free with
 * gw_policy_breaker_free() once no permit is outstanding. */
struct gw_policy_breaker *gw_policy_breaker_new(const char *adapter_id,
                                                const struct gw_policy *p)
  GW_POLICY_WUR;
void gw_policy_breaker_free(struct gw_policy_breaker *b);

/* Asks to send one attempt.  Returns 1 and fills *permit (NORMAL when
 * closed, PROBE when half-open and a probe slot is free), or 0 with *permit
 * cleared: refused, report `circuit_open`.  An open breaker whose open_s has
 * passed turns half-open here.  Any thread. */
int gw_policy_breaker_admit(struct gw_policy_breaker *b, uint64_t now_ms,
                            struct gw_policy_permit *permit) GW_POLICY_WUR;

/* Reports how the admitted attempt ended and clears *permit.  Closed: a
 * FAILURE that brings the window's failures to breaker_failure_threshold
 * opens.  Half-open probe: SUCCESS closes (window emptied), FAILURE re-opens
 * with the open time restarted, CANCEL only frees the slot.  A cleared permit
 * is ignored.  Any thread. */
void gw_policy_breaker_report(struct gw_policy_permit *permit,
                              enum gw_policy_outcome outcome, uint64_t now_ms);

/* Applies any transition that time alone makes due (open -> half_open after
 * open_s; a probe lost for too long -> open), then copies the state out. */
void gw_policy_breaker_info(struct gw_policy_breaker *b, uint64_t now_ms,
                            struct gw_policy_breaker_info *out);

/* "closed" | "open" | "half_open"; static storage. */
const char *gw_policy_breaker_state_name(enum gw_policy_breaker_state s);

/* ---- retry decisions ------------------------------------------------------- */

/* A small PRNG (xorshift64*) for jitter; not for secrets.  A plain value;
 * members are private.  NOT thread-safe: one per thread, or per test. */
struct gw_policy_rng {
  uint64_t s;
};

/* Deterministic seeding (tests).  Any seed, 0 included, is fine. */
void gw_policy_rng_seed(struct gw_policy_rng *rng, uint64_t seed);

/* Seeds from OpenSSL RAND_bytes (falls back to clock and address mixing if
 * that fails, and says so in the log). */
void gw_policy_rng_seed_random(struct gw_policy_rng *rng);

/* Uniform in [0, max], unbiased.  rng NULL = this thread's own generator,
 * seeded from RAND_bytes on first use. */
uint64_t gw_policy_rng_between(struct gw_policy_rng *rng, uint64_t max)
  GW_POLICY_WUR;

/* Full-jitter exponential backoff (AWS Architecture Blog, "Exponential
 * Backoff and Jitter"): uniform in [0, min(cap_ms, base_ms * 2^attempt)],
 * where `attempt` counts the retries already made (0 before the first
 * retry).  Negative numbers count as 0; never overflows.  rng as above. */
uint64_t gw_policy_backoff_ms(int base_ms, int cap_ms, unsigned attempt,
                              struct gw_policy_rng *rng) GW_POLICY_WUR;

/* Does one more attempt fit?  1 if now + backoff + min_attempt <= deadline
 * (all in ms), else 0.  Overflow-safe. */
int gw_policy_retry_fits(uint64_t now_ms, uint64_t deadline_ms,
                         uint64_t backoff_ms, uint64_t min_attempt_ms)
  GW_POLICY_WUR;

/* The least time worth starting an attempt with, used by
 * gw_policy_retry_decide: less than this and a TLS handshake to an agency
 * rarely finishes. */
#define GW_POLICY_MIN_ATTEMPT_MS 200

/* Retry budget (Finagle's RetryBudget, gRPC's retry throttling): each
 * request deposits `retry_budget_ratio` tokens, each retry withdraws one.
 * Deposits and withdrawals are forgotten after GW_POLICY_BUDGET_TTL_S, and a
 * reserve of GW_POLICY_BUDGET_RESERVE_PER_S * GW_POLICY_BUDGET_TTL_S tokens
 * lets low traffic retry too.  So over any TTL, retries <= ratio * requests
 * + reserve: a failing agency never sees much more than (1 + ratio) times
 * its normal load. */
#define GW_POLICY_BUDGET_TTL_S 10
#define GW_POLICY_BUDGET_RESERVE_PER_S 1

/* ratio < 0 counts as 0, above 1000 as 1000.  Never returns NULL. */
struct gw_policy_budget *gw_policy_budget_new(double ratio) GW_POLICY_WUR;
void gw_policy_budget_free(struct gw_policy_budget *bg);

/* Once per request (not per attempt).  Any thread. */
void gw_policy_budget_deposit(struct gw_policy_budget *bg, uint64_t now_ms);

/* Takes one retry token: 1 = retry allowed (token taken), 0 = budget empty,
 * do not retry.  Any thread. */
int gw_policy_budget_withdraw(struct gw_policy_budget *bg, uint64_t now_ms)
  GW_POLICY_WUR;

/* Tokens available now, reserve included (for the snapshot). */
double gw_policy_budget_tokens(struct gw_policy_budget *bg, uint64_t now_ms);

/* ---- concurrency limiter --------------------------------------------------- */

enum gw_policy_limit {
  GW_POLICY_LIMIT_GRANTED = 0,  /* a slot is yours: release it when done */
  GW_POLICY_LIMIT_QUEUED,       /* you wait; your callback will say */
  GW_POLICY_LIMIT_FULL,         /* queue full: report `rate_limited` */
  GW_POLICY_LIMIT_EXPIRED       /* deadline passed before a slot came:
                                   report `timeout` */
};

struct gw_policy_limiter_info {
  unsigned in_flight;    /* slots held, including ones handed to a waiter
                            whose callback has not run yet */
  unsigned queued;
  unsigned max_concurrency;
  unsigned max_queue;
  uint64_t granted;      /* admissions, immediate or after waiting */
  uint64_t rejected;     /* GW_POLICY_LIMIT_FULL */
  uint64_t expired;      /* GW_POLICY_LIMIT_EXPIRED, at acquire or later */
  uint64_t cancelled;    /* waiters cancelled */
};

/* At most max_concurrency (>= 1) in flight; up to max_queue (>= 0) waiters.
 * Never returns NULL.  Free with gw_policy_limiter_free() only when nothing
 * is in flight, queued or waiting for its callback (asserted). */
struct gw_policy_limiter *gw_policy_limiter_new(int max_concurrency, int max_queue)
  GW_POLICY_WUR;
void gw_policy_limiter_free(struct gw_policy_limiter *l);

/*
 * Asks for a slot before `deadline_ms`.  Returns:
 *   GRANTED   now; *waiter = NULL.  Call gw_policy_limiter_release() later.
 *   FULL      max_queue waiters already wait; *waiter = NULL.
 *   EXPIRED   deadline_ms <= now_ms; *waiter = NULL.
 *   QUEUED    *waiter is set and exactly one of these happens later:
 *     - cb(GRANTED, arg): a slot is yours (release it when done);
 *     - cb(EXPIRED, arg): a slot came free after deadline_ms, so you were
 *       skipped (report `timeout`);
 *     - you call gw_policy_waiter_cancel(*waiter) first: cb never runs.
 *     The waiter handle dies as cb is entered (forget it there) or inside
 *     cancel.  Waiters are served strictly first in, first out.
 *
 * The wake-up, and its thread rules:
 *   - cb runs ON `base`'s OWN THREAD, from its event loop, never inside
 *     acquire, release or cancel, and never on the releasing thread's loop
 *     (unless that thread also runs `base`).  It is an event made with
 *     event_new() on `base` at queue time and made active with event_active()
 *     by whichever thread releases the slot.  Crossing threads that way is
 *     safe only once evthread_use_pthreads() has been called before `base`
 *     was created (gatewayd does).
 *   - acquire and gw_policy_waiter_cancel must be called on the thread that
 *     runs `base` (or while no thread runs it): cancel frees the event, and
 *     only on that thread can it not race the callback.
 *   - gw_policy_limiter_release may be called from any thread.
 *   - The limiter does not watch deadlines itself: it only notices an
 *     expired waiter when a slot frees.  The caller keeps its own deadline
 *     timer on `base` and calls cancel when it fires (report `timeout`).
 *   - The limiter must outlive every queued waiter and every pending
 *     callback.
 */
enum gw_policy_limit gw_policy_limiter_acquire(struct gw_policy_limiter *l,
                                               uint64_t now_ms, uint64_t deadline_ms,
                                               struct event_base *base,
                                               void (*cb)(enum gw_policy_limit result,
                                                          void *arg),
                                               void *arg,
                                               struct gw_policy_waiter **waiter)
  GW_POLICY_WUR;

/* Gives back one slot.  If waiters queue, the slot passes straight to the
 * first whose deadline is still ahead of now_ms (in-flight count unchanged),
 * and those expired in front of it get cb(EXPIRED).  Any thread. */
void gw_policy_limiter_release(struct gw_policy_limiter *l, uint64_t now_ms);

/* Withdraws a queued waiter: its callback will not run, and if a slot had
 * already been handed to it (callback pending), the slot goes to the next
 * waiter.  Frees the waiter.  On `base`'s thread only (see acquire). */
void gw_policy_waiter_cancel(struct gw_policy_waiter *w, uint64_t now_ms);

void gw_policy_limiter_info(struct gw_policy_limiter *l,
                            struct gw_policy_limiter_info *out);

/* ---- rate limiter ------------------------------------------------------------ */

/* Token bucket: `rate_per_s` tokens a second (resolution 0.001/s), holding at
 * most `burst` (>= 1), starting full.  rate_per_s <= 0 means unlimited.
 * Never returns NULL. */
struct gw_policy_bucket *gw_policy_bucket_new(double rate_per_s, int burst)
  GW_POLICY_WUR;
void gw_policy_bucket_free(struct gw_policy_bucket *tb);

/* Takes one token: returns 0 (taken) or the exact ms until one will be
 * there (nothing taken; the caller waits within its deadline and calls
 * again, or reports `rate_limited`).  Not a reservation: another thread may
 * take that token first.  Any thread. */
uint64_t gw_policy_bucket_try_acquire(struct gw_policy_bucket *tb, uint64_t now_ms)
  GW_POLICY_WUR;

/* Tokens now (for the snapshot); -1 when unlimited. */
double gw_policy_bucket_tokens(struct gw_policy_bucket *tb, uint64_t now_ms);

/* ---- everything for one adapter -------------------------------------------- */

enum gw_policy_retry {
  GW_POLICY_RETRY = 0,        /* retry after *sleep_ms (a token was taken) */
  GW_POLICY_RETRY_EXHAUSTED,  /* policy.retries retries made already */
  GW_POLICY_RETRY_NO_TIME,    /* backoff + GW_POLICY_MIN_ATTEMPT_MS would pass
                                 the deadline */
  GW_POLICY_RETRY_NO_BUDGET   /* retry budget empty */
};

/* Breaker, retry budget, limiter and bucket built from *p (copied) for
 * adapter `adapter_id` (copied).  Never returns NULL.  The owner (the
 * registry) frees it with gw_policy_state_free() once no request uses it:
 * the limiter and breaker rules above apply. */
struct gw_policy_state *gw_policy_state_new(const char *adapter_id,
                                            const struct gw_policy *p)
  GW_POLICY_WUR;
void gw_policy_state_free(struct gw_policy_state *st);

/* The parts, owned by st; valid as long as st. */
const struct gw_policy *gw_policy_state_policy(const struct gw_policy_state *st);
struct gw_policy_breaker *gw_policy_state_breaker(struct gw_policy_state *st);
struct gw_policy_budget *gw_policy_state_budget(struct gw_policy_state *st);
struct gw_policy_limiter *gw_policy_state_limiter(struct gw_policy_state *st);
struct gw_policy_bucket *gw_policy_state_bucket(struct gw_policy_state *st);

/* After a failed attempt that is safe to repeat: `retries_done` retries have
 * been made.  Checks, in order, policy.retries, the deadline (with a
 * full-jitter backoff drawn from rng, NULL = per-thread) and last the budget,
 * so no token is spent on a retry that would not happen.  *sleep_ms is set
 * only for GW_POLICY_RETRY.  The breaker is not consulted: the retry's own
 * admission does that. */
enum gw_policy_retry gw_policy_retry_decide(struct gw_policy_state *st,
                                            unsigned retries_done, uint64_t now_ms,
                                            uint64_t deadline_ms,
                                            struct gw_policy_rng *rng,
                                            uint64_t *sleep_ms) GW_POLICY_WUR;

/* A new JSON object (the caller's reference) for GET /v1/agencies:
 *   {"adapter", "breaker": {"state", "failures", "requests",
 *    "probes_in_flight", "until_half_open_ms", "since_transition_ms",
 *    "transitions": {"opened", "half_opened", "closed", "reopened"},
 *    "refused"},
 *    "concurrency": {"in_flight", "queued", "max", "max_queue", "granted",
 *    "rejected", "expired", "cancelled"},
 *    "rate": {"unlimited": true} | {"tokens", "rate_per_s", "burst"},
 *    "retry_budget": {"tokens", "ratio"}}
 * Each part is read under its own lock: consistent per part, not across. */
json_t *gw_policy_state_snapshot(struct gw_policy_state *st, uint64_t now_ms)
  GW_POLICY_WUR;

#endif
