/*
 * test_policy.c - the per-adapter policy objects, driven by explicit clocks:
 * every breaker transition (and its log line), full-jitter backoff bounds
 * and spread, the retry budget's arithmetic, deadline fit, the concurrency
 * limiter's queue and its cross-thread wake-up on real event bases, and the
 * token bucket's exact waits.  Nothing sleeps.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <jansson.h>

#include "gw/adapter.h"
#include "gw/policy.h"

/* Far from 0, so a last-transition time of 0 still means "never". */
#define T0 UINT64_C(1000000)

static struct gw_policy breaker_policy(void)
{
  struct gw_policy p;
  gw_policy_defaults(&p);
  p.breaker_failure_threshold = 3;
  p.breaker_window_s = 10;      /* buckets of 1 s */
  p.breaker_open_s = 5;
  p.breaker_half_open_max = 2;
  p.timeout_ms = 1000;          /* lost-probe time: max(5 s, 10 s, 2 s) = 10 s */
  return p;
}

static struct gw_policy_breaker_info info_of(struct gw_policy_breaker *b, uint64_t now)
{
  struct gw_policy_breaker_info i;
  gw_policy_breaker_info(b, now, &i);
  return i;
}

static void fail_once(struct gw_policy_breaker *b, uint64_t now)
{
  struct gw_policy_permit p;
  assert_true(gw_policy_breaker_admit(b, now, &p));
  assert_int_equal(p.kind, GW_POLICY_PERMIT_NORMAL);
  gw_policy_breaker_report(&p, GW_POLICY_FAILURE, now);
  assert_int_equal(p.kind, GW_POLICY_PERMIT_NONE);
}

/* A breaker opened at T0 + 2 by three failures. */
static struct gw_policy_breaker *opened_breaker(void)
{
  struct gw_policy p = breaker_policy();
  struct gw_policy_breaker *b = gw_policy_breaker_new("chsi", &p);
  fail_once(b, T0);
  fail_once(b, T0 + 1);
  fail_once(b, T0 + 2);
  assert_int_equal(info_of(b, T0 + 2).state, GW_POLICY_BREAKER_OPEN);
  return b;
}

/* ---- breaker ----------------------------------------------------------------- */

static void breaker_opens_at_threshold_not_before(void **state)
{
  struct gw_policy p = breaker_policy();
  struct gw_policy_breaker *b = gw_policy_breaker_new("chsi", &p);
  struct gw_policy_permit ok;
  struct gw_policy_breaker_info i;
  (void)state;

  fail_once(b, T0);
  fail_once(b, T0 + 1);
  assert_true(gw_policy_breaker_admit(b, T0 + 1, &ok));
  gw_policy_breaker_report(&ok, GW_POLICY_SUCCESS, T0 + 1);
  i = info_of(b, T0 + 1);
  assert_int_equal(i.state, GW_POLICY_BREAKER_CLOSED);
  assert_int_equal(i.failures, 2);
  assert_int_equal(i.requests, 3);
  assert_int_equal(i.opened, 0);
  assert_int_equal(i.last_transition_ms, 0);

  fail_once(b, T0 + 2);
  i = info_of(b, T0 + 2);
  assert_int_equal(i.state, GW_POLICY_BREAKER_OPEN);
  assert_int_equal(i.opened, 1);
  assert_int_equal(i.until_half_open_ms, 5000);
  assert_int_equal(i.last_transition_ms, T0 + 2);
  gw_policy_breaker_free(b);
}

static void breaker_open_refuses_until_open_s_exactly(void **state)
{
  struct gw_policy_breaker *b = opened_breaker();
  struct gw_policy_permit p;
  struct gw_policy_breaker_info i;
  (void)state;

  assert_false(gw_policy_breaker_admit(b, T0 + 2, &p));
  assert_int_equal(p.kind, GW_POLICY_PERMIT_NONE);
  assert_null(p.breaker);
  assert_false(gw_policy_breaker_admit(b, T0 + 5001, &p));
  i = info_of(b, T0 + 5001);
  assert_int_equal(i.state, GW_POLICY_BREAKER_OPEN);
  assert_int_equal(i.until_half_open_ms, 1);
  assert_int_equal(i.refused, 2);

  assert_true(gw_policy_breaker_admit(b, T0 + 5002, &p));
  assert_int_equal(p.kind, GW_POLICY_PERMIT_PROBE);
  i = info_of(b, T0 + 5002);
  assert_int_equal(i.state, GW_POLICY_BREAKER_HALF_OPEN);
  assert_int_equal(i.half_opened, 1);
  assert_int_equal(i.last_transition_ms, T0 + 5002);
  assert_int_equal(i.probes_in_flight, 1);
  gw_policy_breaker_report(&p, GW_POLICY_CANCEL, T0 + 5002);
  gw_policy_breaker_free(b);
}

static void breaker_half_open_admits_at_most_n_probes(void **state)
{
  struct gw_policy_breaker *b = opened_breaker();
  struct gw_policy_permit p1, p2, p3;
  (void)state;

  assert_true(gw_policy_breaker_admit(b, T0 + 5002, &p1));
  assert_true(gw_policy_breaker_admit(b, T0 + 5003, &p2));
  assert_false(gw_policy_breaker_admit(b, T0 + 5004, &p3));
  assert_int_equal(p1.kind, GW_POLICY_PERMIT_PROBE);
  assert_int_equal(p2.kind, GW_POLICY_PERMIT_PROBE);
  assert_int_equal(info_of(b, T0 + 5004).probes_in_flight, 2);
  gw_policy_breaker_report(&p1, GW_POLICY_CANCEL, T0 + 5005);
  gw_policy_breaker_report(&p2, GW_POLICY_CANCEL, T0 + 5005);
  gw_policy_breaker_free(b);
}

static void breaker_probe_success_closes(void **state)
{
  struct gw_policy_breaker *b = opened_breaker();
  struct gw_policy_permit p1, p2, n;
  struct gw_policy_breaker_info i;
  (void)state;

  assert_true(gw_policy_breaker_admit(b, T0 + 5002, &p1));
  assert_true(gw_policy_breaker_admit(b, T0 + 5002, &p2));
  gw_policy_breaker_report(&p1, GW_POLICY_SUCCESS, T0 + 5100);
  i = info_of(b, T0 + 5100);
  assert_int_equal(i.state, GW_POLICY_BREAKER_CLOSED);
  assert_int_equal(i.closed, 1);
  assert_int_equal(i.failures, 0);   /* the window starts empty */

  /* The other probe answers late: its period is over, it changes nothing. */
  gw_policy_breaker_report(&p2, GW_POLICY_FAILURE, T0 + 5101);
  i = info_of(b, T0 + 5101);
  assert_int_equal(i.state, GW_POLICY_BREAKER_CLOSED);
  assert_int_equal(i.failures, 0);
  assert_true(gw_policy_breaker_admit(b, T0 + 5101, &n));
  assert_int_equal(n.kind, GW_POLICY_PERMIT_NORMAL);
  gw_policy_breaker_report(&n, GW_POLICY_SUCCESS, T0 + 5101);
  gw_policy_breaker_free(b);
}

static void breaker_probe_failure_reopens_with_new_timer(void **state)
{
  struct gw_policy_breaker *b = opened_breaker();
  struct gw_policy_permit p;
  struct gw_policy_breaker_info i;
  const uint64_t tf = T0 + 7000;
  (void)state;

  assert_true(gw_policy_breaker_admit(b, T0 + 5002, &p));
  gw_policy_breaker_report(&p, GW_POLICY_FAILURE, tf);
  i = info_of(b, tf);
  assert_int_equal(i.state, GW_POLICY_BREAKER_OPEN);
  assert_int_equal(i.reopened, 1);
  assert_int_equal(i.opened, 1);
  assert_int_equal(i.until_half_open_ms, 5000);
  assert_int_equal(i.last_transition_ms, tf);

  assert_false(gw_policy_breaker_admit(b, tf + 4999, &p));
  assert_true(gw_policy_breaker_admit(b, tf + 5000, &p));
  assert_int_equal(p.kind, GW_POLICY_PERMIT_PROBE);
  assert_int_equal(info_of(b, tf + 5000).half_opened, 2);
  gw_policy_breaker_report(&p, GW_POLICY_SUCCESS, tf + 5001);
  i = info_of(b, tf + 5001);
  assert_int_equal(i.state, GW_POLICY_BREAKER_CLOSED);
  assert_int_equal(i.opened + i.half_opened + i.closed + i.reopened, 5);
  gw_policy_breaker_free(b);
}

static void breaker_forgets_failures_outside_window(void **state)
{
  struct gw_policy p = breaker_policy();
  struct gw_policy_breaker *b;
  struct gw_policy_breaker_info i;
  (void)state;

  /* T0 starts a 1 s bucket; a failure is remembered for 10 buckets. */
  b = gw_policy_breaker_new("chsi", &p);
  fail_once(b, T0);
  fail_once(b, T0);
  assert_int_equal(info_of(b, T0 + 9999).failures, 2);
  assert_int_equal(info_of(b, T0 + 10000).failures, 0);
  fail_once(b, T0 + 10000);
  i = info_of(b, T0 + 10000);
  assert_int_equal(i.state, GW_POLICY_BREAKER_CLOSED);
  assert_int_equal(i.failures, 1);
  gw_policy_breaker_free(b);

  /* ...and inside the window they still add up. */
  b = gw_policy_breaker_new("chsi", &p);
  fail_once(b, T0);
  fail_once(b, T0 + 5000);
  fail_once(b, T0 + 9999);
  assert_int_equal(info_of(b, T0 + 9999).state, GW_POLICY_BREAKER_OPEN);
  gw_policy_breaker_free(b);
}

static void breaker_cancelled_probe_releases_slot_once(void **state)
{
  struct gw_policy p = breaker_policy();
  struct gw_policy_breaker *b;
  struct gw_policy_permit p1, p2;
  struct gw_policy_breaker_info i;
  (void)state;

  p.breaker_half_open_max = 1;
  b = gw_policy_breaker_new("chsi", &p);
  fail_once(b, T0);
  fail_once(b, T0);
  fail_once(b, T0);
  assert_true(gw_policy_breaker_admit(b, T0 + 5000, &p1));
  assert_false(gw_policy_breaker_admit(b, T0 + 5000, &p2));
  gw_policy_breaker_report(&p1, GW_POLICY_CANCEL, T0 + 5001);
  gw_policy_breaker_report(&p1, GW_POLICY_CANCEL, T0 + 5001);    /* no-op */
  gw_policy_breaker_report(&p1, GW_POLICY_SUCCESS, T0 + 5001);   /* no-op */
  i = info_of(b, T0 + 5001);
  assert_int_equal(i.state, GW_POLICY_BREAKER_HALF_OPEN);
  assert_int_equal(i.probes_in_flight, 0);
  assert_int_equal(i.closed + i.reopened, 0);

  assert_true(gw_policy_breaker_admit(b, T0 + 5002, &p2));
  assert_int_equal(p2.kind, GW_POLICY_PERMIT_PROBE);
  gw_policy_breaker_report(&p2, GW_POLICY_SUCCESS, T0 + 5003);
  assert_int_equal(info_of(b, T0 + 5003).state, GW_POLICY_BREAKER_CLOSED);
  gw_policy_breaker_free(b);
}

static void breaker_ignores_outcomes_from_earlier_periods(void **state)
{
  struct gw_policy p = breaker_policy();
  struct gw_policy_breaker *b = gw_policy_breaker_new("chsi", &p);
  struct gw_policy_permit early;
  struct gw_policy_breaker_info i;
  (void)state;

  assert_true(gw_policy_breaker_admit(b, T0, &early));
  fail_once(b, T0 + 1);
  fail_once(b, T0 + 1);
  fail_once(b, T0 + 1);
  /* A slow request admitted before the breaker opened fails now: the open
   * timer is not restarted and nothing is counted. */
  gw_policy_breaker_report(&early, GW_POLICY_FAILURE, T0 + 3000);
  i = info_of(b, T0 + 3000);
  assert_int_equal(i.state, GW_POLICY_BREAKER_OPEN);
  assert_int_equal(i.until_half_open_ms, 2001);
  assert_int_equal(i.opened, 1);
  gw_policy_breaker_free(b);
}

static void breaker_lost_probe_counts_as_failure(void **state)
{
  struct gw_policy_breaker *b = opened_breaker();
  struct gw_policy_permit p;
  struct gw_policy_breaker_info i;
  (void)state;

  assert_true(gw_policy_breaker_admit(b, T0 + 5002, &p));
  assert_int_equal(info_of(b, T0 + 15001).state, GW_POLICY_BREAKER_HALF_OPEN);
  i = info_of(b, T0 + 15002);
  assert_int_equal(i.state, GW_POLICY_BREAKER_OPEN);
  assert_int_equal(i.reopened, 1);
  gw_policy_breaker_report(&p, GW_POLICY_SUCCESS, T0 + 15003);    /* stale */
  assert_int_equal(info_of(b, T0 + 15003).state, GW_POLICY_BREAKER_OPEN);
  gw_policy_breaker_free(b);
}

/* Runs fn with stderr going to a temporary file; returns what was written
 * (caller frees). */
static char *capture_stderr(void (*fn)(void))
{
  FILE *f = tmpfile();
  int saved;
  long len;
  char *buf;

  assert_non_null(f);
  fflush(stderr);
  saved = dup(STDERR_FILENO);
  assert_true(saved >= 0);
  assert_true(dup2(fileno(f), STDERR_FILENO) >= 0);
  fn();
  fflush(stderr);
  assert_true(dup2(saved, STDERR_FILENO) >= 0);
  close(saved);
  len = ftell(f);
  assert_true(len >= 0);
  buf = calloc(1, (size_t)len + 1);
  assert_non_null(buf);
  rewind(f);
  assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
  fclose(f);
  return buf;
}

static void full_cycle(void)
{
  struct gw_policy_breaker *b = opened_breaker();
  struct gw_policy_permit p;

  assert_true(gw_policy_breaker_admit(b, T0 + 5002, &p));
  gw_policy_breaker_report(&p, GW_POLICY_FAILURE, T0 + 5003);
  assert_true(gw_policy_breaker_admit(b, T0 + 10003, &p));
  gw_policy_breaker_report(&p, GW_POLICY_SUCCESS, T0 + 10004);
  gw_policy_breaker_free(b);
}

static void breaker_transitions_logged(void **state)
{
  static const char *const want[][2] = {
    { "closed", "open" }, { "open", "half_open" }, { "half_open", "open" },
    { "open", "half_open" }, { "half_open", "closed" }
  };
  char *out = capture_stderr(full_cycle);
  char *line, *end;
  size_t n = 0;
  (void)state;

  for(line = out; *line; line = end + 1) {
    json_error_t err;
    json_t *j;
    end = strchr(line, '\n');
    assert_non_null(end);      /* every line ends with one */
    *end = '\0';
    j = json_loads(line, 0, &err);
    if(!j)
      fail_msg("not a JSON line: %s", line);
    if(strcmp(json_string_value(json_object_get(j, "event")), "breaker_transition")) {
      json_decref(j);
      continue;
    }
    assert_true(n < 5);
    assert_string_equal(json_string_value(json_object_get(j, "level")), "warn");
    assert_string_equal(json_string_value(json_object_get(j, "adapter")), "chsi");
    assert_string_equal(json_string_value(json_object_get(j, "from")), want[n][0]);
    assert_string_equal(json_string_value(json_object_get(j, "to")), want[n][1]);
    assert_true(json_is_integer(json_object_get(j, "failures")));
    if(n == 0)
      assert_int_equal(json_integer_value(json_object_get(j, "failures")), 3);
    n++;
    json_decref(j);
  }
  assert_int_equal(n, 5);
  free(out);
}

/* ---- backoff and retry decisions ------------------------------------------- */

static void backoff_within_bounds_and_spread(void **state)
{
  struct gw_policy_rng rng;
  const int base = 100, cap = 5000;
  (void)state;

  gw_policy_rng_seed(&rng, 42);
  for(unsigned attempt = 0; attempt < 12; attempt++) {
    uint64_t ceiling = (uint64_t)base << attempt;
    uint64_t lo = UINT64_MAX, hi = 0;
    double sum = 0;
    if(ceiling > (uint64_t)cap)
      ceiling = (uint64_t)cap;
    for(int i = 0; i < 10000; i++) {
      uint64_t v = gw_policy_backoff_ms(base, cap, attempt, &rng);
      if(v > ceiling)
        fail_msg("attempt %u: %llu > %llu", attempt, (unsigned long long)v,
                 (unsigned long long)ceiling);
      lo = v < lo ? v : lo;
      hi = v > hi ? v : hi;
      sum += (double)v;
    }
    /* Uniform: the mean sits near half the ceiling (the standard error is
     * ceiling/346; the tolerance is 5% of the ceiling), and the draws reach
     * both ends. */
    assert_true(sum / 10000 > (double)ceiling * 0.45);
    assert_true(sum / 10000 < (double)ceiling * 0.55);
    assert_true((double)lo <= (double)ceiling * 0.01);
    assert_true((double)hi >= (double)ceiling * 0.99);
  }
}

static void backoff_edges_and_determinism(void **state)
{
  struct gw_policy_rng a, b;
  int seen[2] = { 0, 0 };
  (void)state;

  assert_int_equal(gw_policy_backoff_ms(0, 1000, 3, NULL), 0);
  assert_int_equal(gw_policy_backoff_ms(100, 0, 3, NULL), 0);
  assert_int_equal(gw_policy_backoff_ms(-5, -5, 3, NULL), 0);
  for(int i = 0; i < 1000; i++) {
    assert_true(gw_policy_backoff_ms(INT_MAX, INT_MAX, 1000, NULL) <= (uint64_t)INT_MAX);
    assert_true(gw_policy_backoff_ms(3, 1000, 62, NULL) <= 1000);
    assert_true(gw_policy_backoff_ms(100, 1000, 0, NULL) <= 100);   /* thread rng */
  }

  gw_policy_rng_seed(&a, 7);
  gw_policy_rng_seed(&b, 7);
  for(int i = 0; i < 100; i++)
    assert_int_equal(gw_policy_backoff_ms(100, 5000, 5, &a), gw_policy_backoff_ms(100, 5000, 5, &b));
  gw_policy_rng_seed(&b, 8);
  {
    int differ = 0;
    for(int i = 0; i < 100; i++)
      differ += gw_policy_rng_between(&a, 1000000) != gw_policy_rng_between(&b, 1000000);
    assert_true(differ > 90);
  }

  gw_policy_rng_seed(&a, 0);
  for(int i = 0; i < 100; i++) {
    assert_int_equal(gw_policy_rng_between(&a, 0), 0);
    seen[gw_policy_rng_between(&a, 1)]++;
  }
  assert_true(seen[0] > 20 && seen[1] > 20);
  gw_policy_rng_seed_random(&a);
  gw_policy_rng_seed_random(&b);
  assert_true(gw_policy_rng_between(&a, UINT64_MAX) != gw_policy_rng_between(&b, UINT64_MAX));
}

static void retry_budget_ratio_plus_reserve(void **state)
{
  struct gw_policy_budget *bg = gw_policy_budget_new(0.1);
  const int reserve = GW_POLICY_BUDGET_RESERVE_PER_S * GW_POLICY_BUDGET_TTL_S;
  int n = 0;
  (void)state;

  for(int i = 0; i < 100; i++)
    gw_policy_budget_deposit(bg, T0);
  assert_true(gw_policy_budget_tokens(bg, T0) > 19.99);
  while(gw_policy_budget_withdraw(bg, T0 + 500))
    n++;
  assert_int_equal(n, 10 + reserve);
  assert_false(gw_policy_budget_withdraw(bg, T0 + 9999));
  assert_true(gw_policy_budget_tokens(bg, T0 + 9999) < 1.0);

  /* A TTL later, deposits and withdrawals alike are forgotten: the reserve
   * is back, and only it. */
  n = 0;
  while(gw_policy_budget_withdraw(bg, T0 + 10000))
    n++;
  assert_int_equal(n, reserve);
  gw_policy_budget_free(bg);
}

static void retry_budget_low_traffic_and_zero_ratio(void **state)
{
  struct gw_policy_budget *bg = gw_policy_budget_new(0.0);
  const int reserve = GW_POLICY_BUDGET_RESERVE_PER_S * GW_POLICY_BUDGET_TTL_S;
  int n = 0;
  (void)state;

  for(int i = 0; i < 1000; i++)
    gw_policy_budget_deposit(bg, T0);
  while(gw_policy_budget_withdraw(bg, T0))
    n++;
  assert_int_equal(n, reserve);
  gw_policy_budget_free(bg);

  /* Steady traffic: 50 requests a second, 10% may retry -> 5 a second. */
  bg = gw_policy_budget_new(0.1);
  n = 0;
  for(uint64_t s = 0; s < 100; s++) {
    for(int i = 0; i < 50; i++)
      gw_policy_budget_deposit(bg, T0 + s * 1000);
    while(gw_policy_budget_withdraw(bg, T0 + s * 1000 + 999))
      n++;
  }
  /* 100 s * 5/s, plus the reserve's 1/s once its first 10 s are spent */
  assert_true(n >= 500 && n <= 500 + 100 + reserve);
  gw_policy_budget_free(bg);
}

static void retry_fits_deadline(void **state)
{
  (void)state;
  assert_true(gw_policy_retry_fits(1000, 2000, 800, 200));
  assert_false(gw_policy_retry_fits(1000, 2000, 801, 200));
  assert_false(gw_policy_retry_fits(1000, 2000, 0, 1001));
  assert_true(gw_policy_retry_fits(1000, 2000, 0, 1000));
  assert_false(gw_policy_retry_fits(2000, 2000, 0, 0));
  assert_false(gw_policy_retry_fits(3000, 2000, 0, 0));
  assert_false(gw_policy_retry_fits(0, UINT64_MAX, UINT64_MAX, 1));
  assert_false(gw_policy_retry_fits(0, 10, UINT64_MAX - 5, UINT64_MAX - 5));
}

static void retry_decide_order(void **state)
{
  struct gw_policy p;
  struct gw_policy_state *st;
  struct gw_policy_rng rng;
  uint64_t sleep_ms = 12345;
  double before;
  (void)state;

  gw_policy_defaults(&p);
  p.retries = 2;
  p.backoff_base_ms = 0;       /* backoff 0: the deadline arithmetic is exact */
  p.retry_budget_ratio = 0.0;
  st = gw_policy_state_new("cscse", &p);
  gw_policy_rng_seed(&rng, 1);

  assert_int_equal(gw_policy_retry_decide(st, 2, T0, T0 + 5000, &rng, &sleep_ms),
                   GW_POLICY_RETRY_EXHAUSTED);
  before = gw_policy_budget_tokens(gw_policy_state_budget(st), T0);
  assert_int_equal(gw_policy_retry_decide(st, 0, T0, T0 + GW_POLICY_MIN_ATTEMPT_MS - 1,
                                          &rng, &sleep_ms),
                   GW_POLICY_RETRY_NO_TIME);
  assert_true(gw_policy_budget_tokens(gw_policy_state_budget(st), T0) == before);
  assert_int_equal(sleep_ms, 12345);
  assert_int_equal(gw_policy_retry_decide(st, 1, T0, T0 + GW_POLICY_MIN_ATTEMPT_MS,
                                          &rng, &sleep_ms),
                   GW_POLICY_RETRY);
  assert_int_equal(sleep_ms, 0);
  while(gw_policy_budget_withdraw(gw_policy_state_budget(st), T0))
    ;
  assert_int_equal(gw_policy_retry_decide(st, 0, T0, T0 + 5000, &rng, &sleep_ms),
                   GW_POLICY_RETRY_NO_BUDGET);
  gw_policy_state_free(st);

  /* With jitter: a retry is granted only if its sleep leaves the minimum. */
  gw_policy_defaults(&p);
  p.backoff_base_ms = 1000;
  p.backoff_max_ms = 1000;
  st = gw_policy_state_new("cscse", &p);
  for(int i = 0; i < 200; i++) {
    enum gw_policy_retry r = gw_policy_retry_decide(st, 0, T0 + (uint64_t)i * 10000,
                                                    T0 + (uint64_t)i * 10000 + 700,
                                                    &rng, &sleep_ms);
    if(r == GW_POLICY_RETRY)
      assert_true(sleep_ms + GW_POLICY_MIN_ATTEMPT_MS <= 700);
    else
      assert_int_equal(r, GW_POLICY_RETRY_NO_TIME);
  }
  gw_policy_state_free(st);
}

/* ---- concurrency limiter ---------------------------------------------------- */

struct wake {
  int calls;
  enum gw_policy_limit result;
  int order;                   /* value of *counter when called */
  int *counter;
  struct gw_policy_waiter *w;
  pthread_t thread;
  struct event_base *stop;     /* loopbreak this base when called */
};

static void on_wake(enum gw_policy_limit r, void *arg)
{
  struct wake *k = arg;
  k->calls++;
  k->result = r;
  k->w = NULL;                 /* the handle died as we were called */
  k->thread = pthread_self();
  if(k->counter)
    k->order = (*k->counter)++;
  if(k->stop)
    event_base_loopbreak(k->stop);
}

static void run_base(struct event_base *base)
{
  /* Only active events are involved; a few non-blocking passes run them. */
  for(int i = 0; i < 4; i++)
    assert_true(event_base_loop(base, EVLOOP_NONBLOCK) >= 0);
}

static void limiter_admit_queue_reject(void **state)
{
  struct event_base *base = event_base_new();
  struct gw_policy_limiter *l = gw_policy_limiter_new(2, 2);
  struct gw_policy_limiter_info i;
  struct wake a = { 0 }, b = { 0 }, c = { 0 };
  struct gw_policy_waiter *w;
  (void)state;

  assert_int_equal(gw_policy_limiter_acquire(l, T0, T0 + 1000, base, on_wake, &c, &w),
                   GW_POLICY_LIMIT_GRANTED);
  assert_null(w);
  assert_int_equal(gw_policy_limiter_acquire(l, T0, T0 + 1000, base, on_wake, &c, &w),
                   GW_POLICY_LIMIT_GRANTED);
  assert_int_equal(gw_policy_limiter_acquire(l, T0, T0 + 1000, base, on_wake, &a, &a.w),
                   GW_POLICY_LIMIT_QUEUED);
  assert_non_null(a.w);
  assert_int_equal(gw_policy_limiter_acquire(l, T0, T0 + 1000, base, on_wake, &b, &b.w),
                   GW_POLICY_LIMIT_QUEUED);
  assert_int_equal(gw_policy_limiter_acquire(l, T0, T0 + 1000, base, on_wake, &c, &w),
                   GW_POLICY_LIMIT_FULL);
  assert_null(w);
  assert_int_equal(gw_policy_limiter_acquire(l, T0, T0, base, on_wake, &c, &w),
                   GW_POLICY_LIMIT_EXPIRED);
  gw_policy_limiter_info(l, &i);
  assert_int_equal(i.in_flight, 2);
  assert_int_equal(i.queued, 2);
  assert_int_equal(i.granted, 2);
  assert_int_equal(i.rejected, 1);
  assert_int_equal(i.expired, 1);

  /* Nothing runs before the loop does. */
  gw_policy_limiter_release(l, T0 + 1);
  gw_policy_limiter_release(l, T0 + 1);
  assert_int_equal(a.calls + b.calls, 0);
  run_base(base);
  assert_int_equal(a.calls, 1);
  assert_int_equal(b.calls, 1);
  assert_int_equal(a.result, GW_POLICY_LIMIT_GRANTED);
  assert_int_equal(b.result, GW_POLICY_LIMIT_GRANTED);
  assert_int_equal(c.calls, 0);
  gw_policy_limiter_info(l, &i);
  assert_int_equal(i.in_flight, 2);
  assert_int_equal(i.queued, 0);
  gw_policy_limiter_release(l, T0 + 2);
  gw_policy_limiter_release(l, T0 + 2);
  gw_policy_limiter_info(l, &i);
  assert_int_equal(i.in_flight, 0);
  assert_int_equal(i.granted, 4);
  gw_policy_limiter_free(l);
  event_base_free(base);
}

static void limiter_fifo_and_cancel(void **state)
{
  struct event_base *base = event_base_new();
  struct gw_policy_limiter *l = gw_policy_limiter_new(1, 4);
  struct gw_policy_limiter_info i;
  struct wake k[4];
  struct gw_policy_waiter *none;
  int counter = 0;
  (void)state;

  memset(k, 0, sizeof(k));
  assert_int_equal(gw_policy_limiter_acquire(l, T0, T0 + 1000, base, on_wake, NULL, &none),
                   GW_POLICY_LIMIT_GRANTED);
  for(int j = 0; j < 4; j++) {
    k[j].counter = &counter;
    assert_int_equal(gw_policy_limiter_acquire(l, T0, T0 + 1000, base, on_wake, &k[j], &k[j].w),
                     GW_POLICY_LIMIT_QUEUED);
  }
  /* k[1] gives up while queued: it must never be called. */
  gw_policy_waiter_cancel(k[1].w, T0 + 1);
  k[1].w = NULL;
  gw_policy_limiter_info(l, &i);
  assert_int_equal(i.queued, 3);
  assert_int_equal(i.cancelled, 1);

  for(int round = 0; round < 3; round++) {
    gw_policy_limiter_release(l, T0 + 10);
    run_base(base);
  }
  assert_int_equal(k[0].calls, 1);
  assert_int_equal(k[1].calls, 0);
  assert_int_equal(k[2].calls, 1);
  assert_int_equal(k[3].calls, 1);
  assert_int_equal(k[0].order, 0);
  assert_int_equal(k[2].order, 1);
  assert_int_equal(k[3].order, 2);
  gw_policy_limiter_release(l, T0 + 11);
  gw_policy_limiter_info(l, &i);
  assert_int_equal(i.in_flight, 0);
  assert_int_equal(i.queued, 0);
  gw_policy_limiter_free(l);
  event_base_free(base);
}

static void limiter_cancel_after_grant_passes_slot(void **state)
{
  struct event_base *base = event_base_new();
  struct gw_policy_limiter *l = gw_policy_limiter_new(1, 2);
  struct gw_policy_limiter_info i;
  struct wake a = { 0 }, b = { 0 };
  struct gw_policy_waiter *none;
  (void)state;

  assert_int_equal(gw_policy_limiter_acquire(l, T0, T0 + 1000, base, on_wake, NULL, &none),
                   GW_POLICY_LIMIT_GRANTED);
  assert_int_equal(gw_policy_limiter_acquire(l, T0, T0 + 1000, base, on_wake, &a, &a.w),
                   GW_POLICY_LIMIT_QUEUED);
  assert_int_equal(gw_policy_limiter_acquire(l, T0, T0 + 1000, base, on_wake, &b, &b.w),
                   GW_POLICY_LIMIT_QUEUED);
  /* The slot goes to a, but a's deadline timer fires before the wake-up
   * runs: the slot must move on to b, and a must hear nothing. */
  gw_policy_limiter_release(l, T0 + 5);
  gw_policy_waiter_cancel(a.w, T0 + 5);
  run_base(base);
  assert_int_equal(a.calls, 0);
  assert_int_equal(b.calls, 1);
  assert_int_equal(b.result, GW_POLICY_LIMIT_GRANTED);
  gw_policy_limiter_info(l, &i);
  assert_int_equal(i.in_flight, 1);
  assert_int_equal(i.queued, 0);
  assert_int_equal(i.granted, 2);
  gw_policy_limiter_release(l, T0 + 6);
  gw_policy_limiter_free(l);
  event_base_free(base);
}

static void limiter_skips_expired_waiters(void **state)
{
  struct event_base *base = event_base_new();
  struct gw_policy_limiter *l = gw_policy_limiter_new(1, 3);
  struct gw_policy_limiter_info i;
  struct wake a = { 0 }, b = { 0 }, c = { 0 };
  struct gw_policy_waiter *none;
  int counter = 0;
  (void)state;

  a.counter = b.counter = c.counter = &counter;
  assert_int_equal(gw_policy_limiter_acquire(l, T0, T0 + 1000, base, on_wake, NULL, &none),
                   GW_POLICY_LIMIT_GRANTED);
  assert_int_equal(gw_policy_limiter_acquire(l, T0, T0 + 100, base, on_wake, &a, &a.w),
                   GW_POLICY_LIMIT_QUEUED);
  assert_int_equal(gw_policy_limiter_acquire(l, T0, T0 + 150, base, on_wake, &b, &b.w),
                   GW_POLICY_LIMIT_QUEUED);
  assert_int_equal(gw_policy_limiter_acquire(l, T0, T0 + 1000, base, on_wake, &c, &c.w),
                   GW_POLICY_LIMIT_QUEUED);
  gw_policy_limiter_release(l, T0 + 150);   /* a and b are too late */
  run_base(base);
  assert_int_equal(a.result, GW_POLICY_LIMIT_EXPIRED);
  assert_int_equal(b.result, GW_POLICY_LIMIT_EXPIRED);
  assert_int_equal(c.result, GW_POLICY_LIMIT_GRANTED);
  assert_int_equal(a.calls + b.calls + c.calls, 3);
  gw_policy_limiter_info(l, &i);
  assert_int_equal(i.expired, 2);
  assert_int_equal(i.in_flight, 1);

  /* Everyone expired: the slot is simply given back. */
  memset(&a, 0, sizeof(a));
  assert_int_equal(gw_policy_limiter_acquire(l, T0 + 200, T0 + 300, base, on_wake, &a, &a.w),
                   GW_POLICY_LIMIT_QUEUED);
  gw_policy_limiter_release(l, T0 + 300);
  run_base(base);
  assert_int_equal(a.result, GW_POLICY_LIMIT_EXPIRED);
  gw_policy_limiter_info(l, &i);
  assert_int_equal(i.in_flight, 0);
  gw_policy_limiter_free(l);
  event_base_free(base);
}

static void *loop_thread(void *arg)
{
  struct event_base *base = arg;
  event_base_loop(base, EVLOOP_NO_EXIT_ON_EMPTY);
  return NULL;
}

static void limiter_wakes_waiter_on_its_own_thread(void **state)
{
  struct event_base *base = event_base_new();
  struct gw_policy_limiter *l = gw_policy_limiter_new(1, 1);
  struct wake k = { 0 };
  struct gw_policy_waiter *none;
  pthread_t t;
  (void)state;

  k.stop = base;
  assert_int_equal(gw_policy_limiter_acquire(l, T0, T0 + 1000, base, on_wake, NULL, &none),
                   GW_POLICY_LIMIT_GRANTED);
  /* Queued while no thread runs the base (allowed), then the base's thread
   * starts and this thread releases. */
  assert_int_equal(gw_policy_limiter_acquire(l, T0, T0 + 1000, base, on_wake, &k, &k.w),
                   GW_POLICY_LIMIT_QUEUED);
  assert_int_equal(pthread_create(&t, NULL, loop_thread, base), 0);
  gw_policy_limiter_release(l, T0 + 1);
  assert_int_equal(pthread_join(t, NULL), 0);
  assert_int_equal(k.calls, 1);
  assert_int_equal(k.result, GW_POLICY_LIMIT_GRANTED);
  assert_true(pthread_equal(k.thread, t));
  assert_false(pthread_equal(k.thread, pthread_self()));
  gw_policy_limiter_release(l, T0 + 2);
  gw_policy_limiter_free(l);
  event_base_free(base);
}

#define HAMMER_THREADS 4
#define HAMMER_ITER 20000
#define HAMMER_MAX 2

struct hammer {
  struct gw_policy_limiter *l;
  atomic_int *in_flight;
  atomic_int *peak;
  atomic_int *violations;
  int granted, queued, full, cancelled, expired;
};

struct hammer_wait {
  int done;
  enum gw_policy_limit result;
};

static void hammer_wake(enum gw_policy_limit r, void *arg)
{
  struct hammer_wait *hw = arg;
  hw->done = 1;
  hw->result = r;
}

static void hammer_work(struct hammer *h)
{
  int n = atomic_fetch_add(h->in_flight, 1) + 1;
  int p = atomic_load(h->peak);
  if(n > HAMMER_MAX)
    atomic_fetch_add(h->violations, 1);
  while(n > p && !atomic_compare_exchange_weak(h->peak, &p, n))
    ;
  sched_yield();               /* hold the slot a moment: others must queue */
  atomic_fetch_sub(h->in_flight, 1);
  gw_policy_limiter_release(h->l, gw_policy_now_ms());
}

static void *hammer_thread(void *arg)
{
  struct hammer *h = arg;
  struct event_base *base = event_base_new();

  for(int i = 0; i < HAMMER_ITER; i++) {
    struct hammer_wait hw = { 0, GW_POLICY_LIMIT_FULL };
    struct gw_policy_waiter *w;
    uint64_t now = gw_policy_now_ms();
    /* every fifth waiter is in a hurry and may be skipped as expired */
    uint64_t deadline = now + (i % 5 == 1 ? 1 : 3600000);
    switch(gw_policy_limiter_acquire(h->l, now, deadline, base, hammer_wake, &hw, &w)) {
    case GW_POLICY_LIMIT_GRANTED:
      h->granted++;
      hammer_work(h);
      break;
    case GW_POLICY_LIMIT_QUEUED:
      h->queued++;
      if(i % 3 == 0) {
        /* Races a release on another thread: the waiter may be queued or
         * already hold a slot whose wake-up is pending. */
        gw_policy_waiter_cancel(w, gw_policy_now_ms());
        h->cancelled++;
        break;
      }
      while(!hw.done)
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NO_EXIT_ON_EMPTY);
      if(hw.result == GW_POLICY_LIMIT_GRANTED)
        hammer_work(h);
      else
        h->expired++;
      break;
    default:
      h->full++;
      break;
    }
  }
  event_base_free(base);
  return NULL;
}

static void limiter_threads_never_exceed_max(void **state)
{
  struct gw_policy_limiter *l = gw_policy_limiter_new(HAMMER_MAX, 1);
  struct gw_policy_limiter_info i;
  struct hammer h[HAMMER_THREADS];
  pthread_t t[HAMMER_THREADS];
  atomic_int in_flight = 0, peak = 0, violations = 0;
  int granted = 0, cancelled = 0, expired = 0;
  (void)state;

  for(int j = 0; j < HAMMER_THREADS; j++) {
    h[j] = (struct hammer){ .l = l, .in_flight = &in_flight, .peak = &peak,
                            .violations = &violations };
    assert_int_equal(pthread_create(&t[j], NULL, hammer_thread, &h[j]), 0);
  }
  for(int j = 0; j < HAMMER_THREADS; j++) {
    assert_int_equal(pthread_join(t[j], NULL), 0);
    granted += h[j].granted;
    cancelled += h[j].cancelled;
    expired += h[j].expired;
  }
  assert_int_equal(atomic_load(&violations), 0);
  assert_true(atomic_load(&peak) <= HAMMER_MAX);
  assert_true(granted > 0);
  gw_policy_limiter_info(l, &i);
  assert_int_equal(i.in_flight, 0);
  assert_int_equal(i.queued, 0);
  assert_int_equal(i.cancelled, (uint64_t)cancelled);
  assert_true(i.expired >= (uint64_t)expired);   /* plus any at acquire */
  gw_policy_limiter_free(l);
}

/* ---- rate limiter ------------------------------------------------------------- */

static void bucket_burst_then_exact_waits(void **state)
{
  struct gw_policy_bucket *tb = gw_policy_bucket_new(10.0, 5);
  (void)state;

  for(int i = 0; i < 5; i++)
    assert_int_equal(gw_policy_bucket_try_acquire(tb, T0), 0);
  assert_int_equal(gw_policy_bucket_try_acquire(tb, T0), 100);
  assert_int_equal(gw_policy_bucket_try_acquire(tb, T0 + 1), 99);
  assert_int_equal(gw_policy_bucket_try_acquire(tb, T0 + 99), 1);
  assert_int_equal(gw_policy_bucket_try_acquire(tb, T0 + 100), 0);
  assert_int_equal(gw_policy_bucket_try_acquire(tb, T0 + 100), 100);
  assert_int_equal(gw_policy_bucket_try_acquire(tb, T0 + 50), 100);  /* late clock */
  /* A long idle fills the bucket to the burst, no further. */
  assert_true(gw_policy_bucket_tokens(tb, T0 + 1000000000) == 5.0);
  for(int i = 0; i < 5; i++)
    assert_int_equal(gw_policy_bucket_try_acquire(tb, T0 + 1000000000), 0);
  assert_int_equal(gw_policy_bucket_try_acquire(tb, T0 + 1000000000), 100);
  gw_policy_bucket_free(tb);

  /* 3/s: a token every 333.3 ms, waits rounded up. */
  tb = gw_policy_bucket_new(3.0, 1);
  assert_int_equal(gw_policy_bucket_try_acquire(tb, T0), 0);
  assert_int_equal(gw_policy_bucket_try_acquire(tb, T0), 334);
  assert_int_equal(gw_policy_bucket_try_acquire(tb, T0 + 333), 1);
  assert_int_equal(gw_policy_bucket_try_acquire(tb, T0 + 334), 0);
  /* A full bucket (burst 1) dropped the 0.002 token past its top... */
  assert_int_equal(gw_policy_bucket_try_acquire(tb, T0 + 334), 334);
  gw_policy_bucket_free(tb);

  /* ...a roomier one keeps it, and the next wait is shorter. */
  tb = gw_policy_bucket_new(3.0, 2);
  assert_int_equal(gw_policy_bucket_try_acquire(tb, T0), 0);
  assert_int_equal(gw_policy_bucket_try_acquire(tb, T0), 0);
  assert_int_equal(gw_policy_bucket_try_acquire(tb, T0), 334);
  assert_int_equal(gw_policy_bucket_try_acquire(tb, T0 + 334), 0);
  assert_int_equal(gw_policy_bucket_try_acquire(tb, T0 + 334), 333);
  gw_policy_bucket_free(tb);
}

static void bucket_steady_rate_and_unlimited(void **state)
{
  struct gw_policy_bucket *tb = gw_policy_bucket_new(10.0, 5);
  int n = 0;
  (void)state;

  for(uint64_t t = T0; t <= T0 + 10000; t++)
    if(gw_policy_bucket_try_acquire(tb, t) == 0)
      n++;
  assert_int_equal(n, 5 + 100);
  gw_policy_bucket_free(tb);

  tb = gw_policy_bucket_new(0.0, 0);
  for(int i = 0; i < 10000; i++)
    assert_int_equal(gw_policy_bucket_try_acquire(tb, T0), 0);
  assert_true(gw_policy_bucket_tokens(tb, T0) < 0);
  gw_policy_bucket_free(tb);
}

/* ---- the combined state ---------------------------------------------------------- */

static void state_snapshot_and_clamps(void **state)
{
  struct gw_policy p;
  struct gw_policy_state *st;
  struct gw_policy_permit pm;
  struct gw_policy_waiter *w;
  json_t *j;
  (void)state;

  memset(&p, 0, sizeof(p));
  p.max_concurrency = -3;
  p.burst = 0;
  p.rate_per_s = -1;
  p.retry_budget_ratio = -0.5;
  st = gw_policy_state_new("credit", &p);
  assert_int_equal(gw_policy_state_policy(st)->max_concurrency, 1);
  assert_int_equal(gw_policy_state_policy(st)->max_queue, 0);
  assert_int_equal(gw_policy_state_policy(st)->burst, 1);
  assert_int_equal(gw_policy_state_policy(st)->breaker_failure_threshold, 1);
  assert_true(gw_policy_state_policy(st)->retry_budget_ratio == 0.0);
  j = gw_policy_state_snapshot(st, T0);
  assert_true(json_is_true(json_object_get(json_object_get(j, "rate"), "unlimited")));
  json_decref(j);
  gw_policy_state_free(st);

  gw_policy_defaults(&p);
  p.rate_per_s = 2.0;
  p.burst = 4;
  st = gw_policy_state_new("credit", &p);
  assert_true(gw_policy_breaker_admit(gw_policy_state_breaker(st), T0, &pm));
  gw_policy_breaker_report(&pm, GW_POLICY_FAILURE, T0);
  assert_int_equal(gw_policy_limiter_acquire(gw_policy_state_limiter(st), T0, T0 + 10,
                                             NULL, NULL, NULL, &w),
                   GW_POLICY_LIMIT_GRANTED);
  assert_int_equal(gw_policy_bucket_try_acquire(gw_policy_state_bucket(st), T0), 0);
  gw_policy_budget_deposit(gw_policy_state_budget(st), T0);

  j = gw_policy_state_snapshot(st, T0);
  assert_string_equal(json_string_value(json_object_get(j, "adapter")), "credit");
  {
    json_t *br = json_object_get(j, "breaker");
    json_t *cc = json_object_get(j, "concurrency");
    json_t *rate = json_object_get(j, "rate");
    json_t *bud = json_object_get(j, "retry_budget");
    assert_string_equal(json_string_value(json_object_get(br, "state")), "closed");
    assert_int_equal(json_integer_value(json_object_get(br, "failures")), 1);
    assert_true(json_is_null(json_object_get(br, "since_transition_ms")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(br, "transitions"),
                                                        "opened")), 0);
    assert_int_equal(json_integer_value(json_object_get(cc, "in_flight")), 1);
    assert_int_equal(json_integer_value(json_object_get(cc, "queued")), 0);
    assert_int_equal(json_integer_value(json_object_get(cc, "max")), 8);
    assert_true(json_real_value(json_object_get(rate, "tokens")) == 3.0);
    assert_int_equal(json_integer_value(json_object_get(rate, "burst")), 4);
    assert_true(json_real_value(json_object_get(bud, "tokens")) > 10.09);
    assert_true(json_real_value(json_object_get(bud, "tokens")) < 10.11);
  }
  json_decref(j);
  gw_policy_limiter_release(gw_policy_state_limiter(st), T0);
  gw_policy_state_free(st);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(breaker_opens_at_threshold_not_before),
    cmocka_unit_test(breaker_open_refuses_until_open_s_exactly),
    cmocka_unit_test(breaker_half_open_admits_at_most_n_probes),
    cmocka_unit_test(breaker_probe_success_closes),
    cmocka_unit_test(breaker_probe_failure_reopens_with_new_timer),
    cmocka_unit_test(breaker_forgets_failures_outside_window),
    cmocka_unit_test(breaker_cancelled_probe_releases_slot_once),
    cmocka_unit_test(breaker_ignores_outcomes_from_earlier_periods),
    cmocka_unit_test(breaker_lost_probe_counts_as_failure),
    cmocka_unit_test(breaker_transitions_logged),
    cmocka_unit_test(backoff_within_bounds_and_spread),
    cmocka_unit_test(backoff_edges_and_determinism),
    cmocka_unit_test(retry_budget_ratio_plus_reserve),
    cmocka_unit_test(retry_budget_low_traffic_and_zero_ratio),
    cmocka_unit_test(retry_fits_deadline),
    cmocka_unit_test(retry_decide_order),
    cmocka_unit_test(limiter_admit_queue_reject),
    cmocka_unit_test(limiter_fifo_and_cancel),
    cmocka_unit_test(limiter_cancel_after_grant_passes_slot),
    cmocka_unit_test(limiter_skips_expired_waiters),
    cmocka_unit_test(limiter_wakes_waiter_on_its_own_thread),
    cmocka_unit_test(limiter_threads_never_exceed_max),
    cmocka_unit_test(bucket_burst_then_exact_waits),
    cmocka_unit_test(bucket_steady_rate_and_unlimited),
    cmocka_unit_test(state_snapshot_and_clamps),
  };

  /* Cross-thread event_active needs libevent's locking, switched on before
   * any base exists (gatewayd does the same). */
  if(evthread_use_pthreads() != 0)
    return 1;
  return cmocka_run_group_tests(tests, NULL, NULL);
}
