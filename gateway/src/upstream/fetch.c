/*
 * fetch.c - one agency call as a state machine on a worker's loop.
 *
 * Every step that waits (a concurrency slot, a rate token, a token fetch,
 * an exchange, a backoff) is cancellable, and fetch_set_state() is the only
 * place the state changes, so the deadline handler knows exactly what to
 * undo.  Breaker accounting: each attempt takes a permit; it is reported as
 * a success when the agency answered properly (data or "not found"), a
 * failure when it timed out, broke the transport, faulted or sent something
 * unverifiable, and cancelled otherwise (our deadline, a token refresh).
 *
 * Paged adapters (request.paging): page 1 is fetched as any answer; when
 * gw_codec_page_total says it carries data and counts more pages, the next
 * page's request is built and the fetch goes back to ADMIT, so every page
 * is a full exchange of its own (rate token, breaker permit, token, retries
 * with the retry count reset per page), all under the one deadline and the
 * one concurrency slot.  The pages are kept (bounded by the loader:
 * max_pages x response.max_bytes) until the last, then processed together;
 * the evidence is SHA-256 over the pages' SHA-256 digests in page order.
 */
#include "gw/fetch.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "gw/alloc.h"
#include "gw/b64.h"
#include "gw/cluster.h"
#include "hmac.h"
#include "jsonw.h"
#include "gw/log.h"
#include "gw/observe.h"
#include "gw/policy.h"
#include "gw/sigauth.h"
#include "gw/upstream.h"

#define FETCH_MAGIC 0x66657463U   /* "fetc" */
#define FETCH_MAX_HEADERS (GW_CODEC_MAX_HEADERS + 5)   /* + auth's (signed: 4) + Expect */

enum fetch_state {
  F_QUEUED,        /* waiting for a concurrency slot */
  F_ADMIT,         /* rate token and breaker permit */
  F_RATE_CHECK,    /* asking the cluster-wide bucket (Redis) */
  F_RATE_WAIT,     /* a rate token is coming */
  F_AUTH,          /* waiting for an OAuth token */
  F_SEND,          /* exchange in flight */
  F_BACKOFF,       /* waiting to retry */
  F_DONE           /* callback pending */
};

static const char *const state_names[] = {
  "queued", "admit", "rate_check", "rate_wait", "auth", "send", "backoff", "done"
};

/* One page of a paged answer, kept until the last arrives. */
struct fetch_page {
  unsigned char *body;         /* a copy; wiped when freed */
  size_t len;
  int status;
  unsigned char md[32];        /* SHA-256 of the exact bytes */
};

struct gw_fetch {
  unsigned magic;
  enum fetch_state state;
  struct gw_fetch_env *env;
  struct gw_adapter_rt *rt;
  char *subject_id;
  char *subject_name;
  char request_id[64];
  uint64_t deadline_ms;
  uint64_t started_ms;
  struct timespec started;
  struct gw_codec_request req;
  struct event *deadline;
  struct event *step;          /* backoff / rate wait / deferred completion */
  struct gw_policy_permit permit;
  int have_slot;
  struct gw_policy_waiter *waiter;
  int64_t queued_at_us;        /* asked the limiter for a slot (monotonic) */
  int64_t queue_us;            /* waited in the limiter and the pool, all attempts */
  struct gw_cluster_op *rop;   /* a cluster-wide rate check in flight */
  struct gw_oauth_wait *owait;
  char *token;                 /* bearer token in use (oauth) */
  int refreshed;
  struct gw_upstream_exchange *ex;
  unsigned retries;
  struct fetch_page *pages;    /* paged adapters: paging.max_pages slots */
  size_t n_pages;
  long long want_pages;        /* what page 1 counted; 0 until then */
  struct gw_fetch_result result;
  gw_fetch_done_fn *cb;
  void *arg;
};

static void attempt(struct gw_fetch *f);

static int64_t mono_us(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}
static void finish(struct gw_fetch *f);

/* ---- the per-adapter runtime ------------------------------------------------ */

struct gw_adapter_rt *gw_adapter_rt_new(struct gw_adapter *a, char *err, size_t errlen)
{
  struct gw_adapter_rt *rt = gw_calloc(1, sizeof(*rt));
  atomic_init(&rt->refs, 1);
  rt->recent.lock = gw_malloc(sizeof(pthread_mutex_t));
  pthread_mutex_init(rt->recent.lock, NULL);
  rt->adapter = gw_adapter_ref(a);
  if(gw_codec_keys_init(&rt->keys, a, err, errlen))
    goto fail;
  rt->policy = gw_policy_state_new(a->id, &a->policy);
  if(!rt->policy) {
    snprintf(err, errlen, "%s: cannot create the policy state", a->id);
    goto fail;
  }
  rt->channel = a->client_cert ? "mtls" : "tls";
  if(a->auth == GW_AUTH_OAUTH2) {
    rt->oauth.token_url = a->token_url;
    rt->oauth.client_id = a->client_id;
    rt->oauth.client_secret = a->client_secret;
    rt->oauth.scope = a->scope;
    rt->oauth.tls.ca_file = a->ca_file;
    rt->oauth.tls.client_cert = a->client_cert;
    rt->oauth.tls.client_key = a->client_key;
    rt->oauth.tls.pin_sha256 = a->pin_sha256;
    rt->oauth.allowed_cidrs = (const char *const *)a->allow_cidrs;
    rt->oauth.n_allowed_cidrs = a->n_allow;
    rt->oauth.connect_timeout_ms = a->policy.connect_timeout_ms;
    rt->oauth.timeout_ms = a->policy.timeout_ms;
  }
  return rt;

fail:
  gw_adapter_rt_unref(rt);
  return NULL;
}

struct gw_adapter_rt *gw_adapter_rt_ref(struct gw_adapter_rt *rt)
{
  atomic_fetch_add(&rt->refs, 1);
  return rt;
}

void gw_adapter_rt_unref(struct gw_adapter_rt *rt)
{
  if(!rt || atomic_fetch_sub(&rt->refs, 1) != 1)
    return;
  gw_codec_keys_clear(&rt->keys);
  if(rt->share)
    gw_policy_bucket_free(rt->share);
  pthread_mutex_destroy(rt->recent.lock);
  gw_free(rt->recent.lock);
  if(rt->policy)
    gw_policy_state_free(rt->policy);
  gw_adapter_unref(rt->adapter);
  gw_free(rt);
}

/* ---- helpers ------------------------------------------------------------------ */

static void fetch_set_state(struct gw_fetch *f, enum fetch_state s)
{
  if(gw_log_enabled(GW_LOG_DEBUG))
    gw_log(GW_LOG_DEBUG, "fetch_state", "%s %s: %s -> %s", f->rt->adapter->id,
           f->request_id, state_names[f->state], state_names[s]);
  f->state = s;
}

static void fail_all(struct gw_fetch *f, enum gw_fact_error e, const char *outcome,
                     const char *detail)
{
  gw_codec_result_clear(&f->result.codec);
  memset(&f->result.codec, 0, sizeof(f->result.codec));
  f->result.codec.signature = "none";
  gw_codec_result_fail(&f->result.codec, f->rt->adapter->n_facts, e, detail);
  f->result.outcome = outcome;
}

static void arm(struct event *ev, uint64_t ms)
{
  struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };
  evtimer_add(ev, &tv);
}

static void report(struct gw_fetch *f, enum gw_policy_outcome o)
{
  if(f->permit.kind != GW_POLICY_PERMIT_NONE)
    gw_policy_breaker_report(&f->permit, o, gw_policy_now_ms());
}

/* Releases everything still held or pending (not the callback). */
static void release_all(struct gw_fetch *f, enum gw_policy_outcome breaker_outcome)
{
  uint64_t now = gw_policy_now_ms();
  if(f->ex) {
    gw_upstream_cancel(f->ex);
    f->ex = NULL;
  }
  if(f->owait) {
    gw_oauth_cancel(f->owait);
    f->owait = NULL;
  }
  if(f->rop) {
    gw_cluster_op_cancel(f->rop);
    f->rop = NULL;
  }
  if(f->waiter) {
    gw_policy_waiter_cancel(f->waiter, now);
    f->waiter = NULL;
  }
  report(f, breaker_outcome);
  if(f->have_slot) {
    gw_policy_limiter_release(gw_policy_state_limiter(f->rt->policy), now);
    f->have_slot = 0;
  }
  evtimer_del(f->deadline);
  evtimer_del(f->step);
}

static void drop_last_page(struct gw_fetch *f)
{
  struct fetch_page *p;
  if(!f->n_pages)
    return;
  p = &f->pages[--f->n_pages];
  OPENSSL_cleanse(p->body, p->len);
  gw_free(p->body);
  memset(p, 0, sizeof(*p));
}

static void fetch_free(struct gw_fetch *f)
{
  while(f->n_pages)
    drop_last_page(f);
  gw_free(f->pages);
  gw_codec_result_clear(&f->result.codec);
  gw_codec_request_clear(&f->req);
  if(f->subject_id)
    OPENSSL_cleanse(f->subject_id, strlen(f->subject_id));
  if(f->subject_name)
    OPENSSL_cleanse(f->subject_name, strlen(f->subject_name));
  gw_free(f->subject_id);
  gw_free(f->subject_name);
  if(f->token)
    OPENSSL_cleanse(f->token, strlen(f->token));
  gw_free(f->token);
  event_free(f->deadline);
  event_free(f->step);
  gw_adapter_rt_unref(f->rt);
  f->magic = 0;
  gw_free(f);
}

static void deliver(evutil_socket_t fd, short what, void *arg)
{
  struct gw_fetch *f = arg;
  (void)fd; (void)what;
  f->cb(&f->result, f->arg);
  fetch_free(f);
}

/* What the fetch came to, for gw_adapter_fetches_total: "ok", "not_found",
 * or the first unavailable fact's error code. */
static const char *fetch_result(const struct gw_fetch *f)
{
  const struct gw_codec_result *r = &f->result.codec;
  int nf = 0;
  for(size_t i = 0; i < r->n_facts; i++) {
    if(r->facts[i].status == GW_FACT_UNAVAILABLE)
      return gw_fact_error_name(r->facts[i].error);
    nf += r->facts[i].status == GW_FACT_NOT_FOUND;
  }
  return r->n_facts && (size_t)nf == r->n_facts ? "not_found" : "ok";
}

static int cmp_u32(const void *a, const void *b)
{
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

json_t *gw_fetch_result_json(const struct gw_fetch_result *res)
{
  const struct gw_adapter *a = res->rt->adapter;
  json_t *facts = json_object();
  for(size_t i = 0; i < res->codec.n_facts; i++) {
    const struct gw_fact_result *f = &res->codec.facts[i];
    json_t *o = json_pack("{s:s}", "status", gw_fact_status_name(f->status));
    if(f->status == GW_FACT_OK)
      json_object_set(o, "value", f->value);
    if(f->status == GW_FACT_UNAVAILABLE)
      json_object_set_new(o, "error", json_string(gw_fact_error_name(f->error)));
    if(f->detail[0])
      json_object_set_new(o, "detail", json_string(f->detail));
    json_object_set_new(facts, a->facts[i], o);
  }
  return json_pack("{s:s, s:i, s:s, s:s?, s:i, s:i, s:f, s:s, s:s?, s:s, s:o}", "adapter", a->id,
                   "version", a->version, "agency", a->agency, "outcome", res->outcome,
                   "http_status", res->http_status, "attempts", (int)res->attempts,
                   "duration_ms", (double)res->latency_us / 1000.0, "channel", res->rt->channel,
                   "agency_signature", res->codec.signature, "response_sha256", res->evidence,
                   "facts", facts);
}

json_t *gw_adapter_rt_recent(struct gw_adapter_rt *rt)
{
  struct gw_rt_recent *r = &rt->recent;
  uint32_t lat[GW_RT_RECENT], queue[GW_RT_RECENT];
  size_t n, failed = 0;
  json_t *o = json_object();
  pthread_mutex_lock(r->lock);
  n = r->count;
  memcpy(lat, r->latency_us, n * sizeof(lat[0]));
  memcpy(queue, r->queue_us, n * sizeof(queue[0]));
  for(size_t i = 0; i < n; i++)
    failed += r->failed[i];
  json_object_set_new(o, "fetches", json_integer((json_int_t)r->total));
  json_object_set_new(o, "window", json_integer((json_int_t)n));
  json_object_set_new(o, "last_error", r->last_error
    ? json_pack("{s:s, s:I}", "code", r->last_error, "at", (json_int_t)r->last_error_at)
    : json_null());
  pthread_mutex_unlock(r->lock);
  qsort(lat, n, sizeof(lat[0]), cmp_u32);
  if(n)
    json_object_set_new(o, "latency_ms",
                        json_pack("{s:f, s:f, s:f}", "p50", lat[(n - 1) / 2] / 1000.0,
                                  "p90", lat[(n - 1) * 9 / 10] / 1000.0,
                                  "p99", lat[(n - 1) * 99 / 100] / 1000.0));
  else
    json_object_set_new(o, "latency_ms", json_null());
  qsort(queue, n, sizeof(queue[0]), cmp_u32);
  if(n)
    json_object_set_new(o, "queue_ms",
                        json_pack("{s:f, s:f}", "p50", queue[(n - 1) / 2] / 1000.0,
                                  "p99", queue[(n - 1) * 99 / 100] / 1000.0));
  else
    json_object_set_new(o, "queue_ms", json_null());
  json_object_set_new(o, "error_rate", json_real(n ? (double)failed / (double)n : 0.0));
  return o;
}

/* Records a finished fetch in the adapter's recent figures. */
static void note_recent(const struct gw_fetch *f, const char *result)
{
  struct gw_rt_recent *r = &f->rt->recent;
  int bad = strcmp(result, "ok") && strcmp(result, "not_found");
  pthread_mutex_lock(r->lock);
  r->latency_us[r->next] = f->result.latency_us > UINT32_MAX ? UINT32_MAX
                                                             : (uint32_t)f->result.latency_us;
  r->queue_us[r->next] = f->queue_us <= 0 ? 0 : f->queue_us > UINT32_MAX ? UINT32_MAX
                                                                          : (uint32_t)f->queue_us;
  r->failed[r->next] = (uint8_t)bad;
  r->next = (r->next + 1) % GW_RT_RECENT;
  if(r->count < GW_RT_RECENT)
    r->count++;
  r->total++;
  if(bad) {
    r->total_failed++;
    r->last_error = result;
    r->last_error_at = (int64_t)time(NULL);
  }
  pthread_mutex_unlock(r->lock);
}

/* One line per fetch, written without a tree (gw_log_begin): it is logged
 * for every uncached fact query. */
static void log_exchange(const struct gw_fetch *f)
{
  struct gw_jw w;
  const char *result = fetch_result(f);
  gw_obs_fetch(f->rt->adapter->id, result);
  note_recent(f, result);
  if(!gw_log_enabled(GW_LOG_INFO))
    return;
  gw_log_begin(&w, GW_LOG_INFO, "agency_exchange");
  gw_jw_kstr(&w, "request_id", f->request_id);
  gw_jw_kstr(&w, "adapter", f->rt->adapter->id);
  gw_jw_kstr(&w, "agency", f->rt->adapter->agency);
  gw_jw_kstr(&w, "outcome", f->result.outcome);
  gw_jw_kint(&w, "http_status", f->result.http_status);
  gw_jw_kint(&w, "attempts", (int64_t)f->result.attempts);
  if(f->rt->adapter->paging.page_param)
    gw_jw_kint(&w, "pages", (int64_t)f->result.pages);
  gw_jw_kint(&w, "duration_us", f->result.latency_us);
  gw_jw_kstr(&w, "signature", f->result.codec.signature);
  gw_log_end(&w);
}

/* Ends the fetch: everything released, callback scheduled. */
static void finish(struct gw_fetch *f)
{
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  f->result.latency_us = (int64_t)(now.tv_sec - f->started.tv_sec) * 1000000 +
                         (now.tv_nsec - f->started.tv_nsec) / 1000;
  release_all(f, GW_POLICY_CANCEL);
  fetch_set_state(f, F_DONE);
  log_exchange(f);
  event_assign(f->step, f->env->base, -1, 0, deliver, f);
  event_active(f->step, 0, 0);
}

/* ---- steps ---------------------------------------------------------------------- */

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
  struct gw_fetch *f = arg;
  (void)fd; (void)what;
  /* A hung agency is a failing agency; waiting in our own queues (the
   * limiter, the pool, an opening slot) is not. */
  release_all(f, f->state == F_SEND && gw_upstream_reached_agency(f->ex)
                 ? GW_POLICY_FAILURE : GW_POLICY_CANCEL);
  fail_all(f, GW_FERR_TIMEOUT, "timeout", "the query deadline passed");
  finish(f);
}

static void on_step_timer(evutil_socket_t fd, short what, void *arg)
{
  struct gw_fetch *f = arg;
  (void)fd; (void)what;
  fetch_set_state(f, F_ADMIT);
  attempt(f);
}

static enum gw_fact_error transport_error(enum gw_upstream_outcome o, int *retryable)
{
  *retryable = 0;
  switch(o) {
  case GW_UP_TIMEOUT:
    *retryable = 1;
    return GW_FERR_TIMEOUT;
  case GW_UP_CONNECT:
  case GW_UP_RESET:
  case GW_UP_PROTOCOL:
    *retryable = 1;
    return GW_FERR_TRANSPORT;
  case GW_UP_TOO_LARGE:
    return GW_FERR_BAD_RESPONSE;
  default:
    return GW_FERR_TRANSPORT;
  }
}

/* A retryable failure: back off and go again, or give up with what we have. */
static void maybe_retry(struct gw_fetch *f)
{
  uint64_t sleep_ms = 0, now = gw_policy_now_ms();
  enum gw_policy_retry r = gw_policy_retry_decide(f->rt->policy, f->retries, now,
                                                  f->deadline_ms, NULL, &sleep_ms);
  if(r != GW_POLICY_RETRY) {
    finish(f);
    return;
  }
  f->retries++;
  fetch_set_state(f, F_BACKOFF);
  event_assign(f->step, f->env->base, -1, 0, on_step_timer, f);
  arm(f->step, sleep_ms);
}

static int all_answered(const struct gw_codec_result *r)
{
  for(size_t i = 0; i < r->n_facts; i++)
    if(r->facts[i].status == GW_FACT_UNAVAILABLE &&
       r->facts[i].error != GW_FERR_BAD_RESPONSE)
      return 0;
  return 1;
}

/* Keeps the page just received; when it counts more pages than we have,
 * starts the next one and returns 1.  0: the pages are complete, or this
 * page decides the outcome (gw_codec_process_pages says how). */
static int next_page(struct gw_fetch *f, const struct gw_upstream_result *res,
                     const unsigned char *md)
{
  const struct gw_adapter *a = f->rt->adapter;
  struct fetch_page *p;
  long long total;
  char err[256];

  if(!f->pages)
    f->pages = gw_calloc((size_t)a->paging.max_pages, sizeof(*f->pages));
  if(f->n_pages >= (size_t)a->paging.max_pages)
    return 0;                  /* cannot happen: we stop at max_pages */
  p = &f->pages[f->n_pages++];
  p->body = gw_malloc(res->body_len ? res->body_len : 1);
  if(res->body_len)
    memcpy(p->body, res->body, res->body_len);
  p->len = res->body_len;
  p->status = (int)res->status;
  memcpy(p->md, md, sizeof(p->md));
  f->result.pages = (unsigned)f->n_pages;
  if(gw_log_enabled(GW_LOG_DEBUG))
    gw_log(GW_LOG_DEBUG, "agency_page", "%s %s: page %zu: HTTP %d, %zu bytes", a->id,
           f->request_id, f->n_pages, p->status, p->len);
  if(gw_codec_page_total(a, &f->rt->keys, f->subject_id, p->status, p->body, p->len, &total))
    return 0;
  if(f->n_pages == 1)
    f->want_pages = total ? total : 1;
  if(f->want_pages > a->paging.max_pages || (long long)f->n_pages >= f->want_pages)
    return 0;
  report(f, GW_POLICY_SUCCESS);
  f->retries = 0;
  gw_codec_request_clear(&f->req);
  if(gw_codec_build_page(a, f->subject_id, f->subject_name, f->request_id, time(NULL),
                         a->paging.first + (long)f->n_pages, &f->req, err, sizeof(err))) {
    fail_all(f, GW_FERR_TRANSPORT, "request", err);
    finish(f);
    return 1;
  }
  fetch_set_state(f, F_ADMIT);
  attempt(f);
  return 1;
}

/* Processes the pages kept so far; evidence over their digests. */
static void process_pages(struct gw_fetch *f)
{
  struct gw_codec_page pages[GW_ADAPTER_MAX_PAGES];
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();

  if(!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
    abort();                   /* out of memory in OpenSSL: the alloc policy */
  for(size_t i = 0; i < f->n_pages; i++) {
    pages[i].http_status = f->pages[i].status;
    pages[i].body = f->pages[i].body;
    pages[i].len = f->pages[i].len;
    EVP_DigestUpdate(ctx, f->pages[i].md, sizeof(f->pages[i].md));
  }
  EVP_DigestFinal_ex(ctx, md, &mdlen);
  EVP_MD_CTX_free(ctx);
  gw_hex_encode(md, mdlen, f->result.evidence);
  gw_codec_process_pages_named(f->rt->adapter, &f->rt->keys,
                               f->rt->schemas ? f->rt->schemas : f->env->schemas, f->subject_id,
                               f->subject_name, pages, f->n_pages, &f->result.codec);
}

static void on_exchange(struct gw_upstream_exchange *ex, const struct gw_upstream_result *res,
                        void *arg)
{
  struct gw_fetch *f = arg;
  int paged = f->rt->adapter->paging.page_param != NULL;
  (void)ex;
  f->ex = NULL;
  f->result.attempts++;
  f->result.http_status = (int)res->status;
  gw_obs_upstream(f->rt->adapter->id, gw_upstream_outcome_name(res->outcome), res->total_us);
  gw_obs_queue(f->rt->adapter->id, "connection_pool", res->queued_us - res->open_wait_us);
  gw_obs_queue(f->rt->adapter->id, "connection_open", res->open_wait_us);
  f->queue_us += res->queued_us > 0 ? res->queued_us : 0;
  if(res->outcome != GW_UP_OK) {
    int retryable;
    char detail[GW_UP_DETAIL_LEN + 32];
    enum gw_fact_error e = transport_error(res->outcome, &retryable);
    snprintf(detail, sizeof(detail), "%s: %s", gw_upstream_outcome_name(res->outcome),
             res->detail);
    fail_all(f, e, gw_upstream_outcome_name(res->outcome), detail);
    report(f, GW_POLICY_FAILURE);
    if(retryable)
      maybe_retry(f);
    else
      finish(f);
    return;
  }
  f->result.fetched_at = (int64_t)time(NULL);
  gw_codec_result_clear(&f->result.codec);
  {
    unsigned char md[32];
    if(gw_sha256(res->body, res->body_len, md))
      abort();                 /* OpenSSL cannot hash: the alloc policy */
    if(paged) {
      if(next_page(f, res, md))
        return;
      process_pages(f);
    }
    else {
      gw_hex_encode(md, 32, f->result.evidence);
      gw_codec_process_named(f->rt->adapter, &f->rt->keys,
                             f->rt->schemas ? f->rt->schemas : f->env->schemas, f->subject_id,
                             f->subject_name, (int)res->status, res->body, res->body_len,
                             &f->result.codec);
    }
  }
  f->result.outcome = "ok";
  if(f->result.codec.auth_rejected && f->rt->adapter->auth == GW_AUTH_OAUTH2 && !f->refreshed) {
    /* one refresh on a 401: the token may have expired early */
    drop_last_page(f);
    f->refreshed = 1;
    (void)gw_oauth_invalidate(f->env->oauth, &f->rt->oauth, f->token ? f->token : "");
    report(f, GW_POLICY_CANCEL);
    fetch_set_state(f, F_ADMIT);
    attempt(f);
    return;
  }
  if(all_answered(&f->result.codec)) {
    int bad = 0;
    for(size_t i = 0; i < f->result.codec.n_facts; i++)
      bad |= f->result.codec.facts[i].status == GW_FACT_UNAVAILABLE;
    report(f, bad ? GW_POLICY_FAILURE : GW_POLICY_SUCCESS);
    finish(f);
    return;
  }
  report(f, GW_POLICY_FAILURE);
  if(f->result.codec.retryable) {
    drop_last_page(f);         /* the same page is asked again */
    maybe_retry(f);
  }
  else
    finish(f);
}

static void send_request(struct gw_fetch *f)
{
  const struct gw_adapter *a = f->rt->adapter;
  struct gw_upstream_header hdrs[FETCH_MAX_HEADERS];
  struct gw_upstream_request r;
  char bearer[GW_OAUTH_MAX_TOKEN_LEN + 16];
  struct gw_sigauth_headers sig;
  char *wsse_body = NULL;
  size_t n = 0, wsse_len = 0;
  uint64_t now = gw_policy_now_ms(), left;
  enum gw_upstream_start_result sr;

  if(now >= f->deadline_ms) {
    fail_all(f, GW_FERR_TIMEOUT, "timeout", "the query deadline passed");
    finish(f);
    return;
  }
  left = f->deadline_ms - now;
  for(size_t i = 0; i < f->req.n_headers && n < FETCH_MAX_HEADERS - 1; i++) {
    hdrs[n].name = f->req.header_names[i];
    hdrs[n].value = f->req.header_values[i];
    hdrs[n].value_len = 0;
    n++;
  }
  if(a->auth == GW_AUTH_API_KEY) {
    hdrs[n].name = a->api_key_header;
    hdrs[n].value = a->api_key;
    hdrs[n].value_len = 0;
    n++;
  }
  else if(a->auth == GW_AUTH_OAUTH2 && f->token) {
    snprintf(bearer, sizeof(bearer), "Bearer %s", f->token);
    hdrs[n].name = "Authorization";
    hdrs[n].value = bearer;
    hdrs[n].value_len = 0;
    n++;
  }
  else if(a->auth == GW_AUTH_SIGNED_HEADERS || a->auth == GW_AUTH_WSSE_USERNAME_TOKEN) {
    /* Signed afresh per attempt: a retry carries a new nonce, not a replay. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if(a->auth == GW_AUTH_SIGNED_HEADERS) {
      struct gw_sigauth_msg m = { f->req.method, f->req.url, f->req.body, f->req.body_len,
                                  ts.tv_sec, (unsigned)(ts.tv_nsec / 1000000), NULL };
      const struct gw_sigauth_signed *s = &a->signed_auth;
      if(gw_sigauth_sign(s, &m, &sig, NULL) == 0) {
        struct gw_upstream_header add[4] = { { s->h_app_id, s->app_id, 0 },
                                             { s->h_timestamp, sig.timestamp, 0 },
                                             { s->h_nonce, sig.nonce, 0 },
                                             { s->h_signature, sig.signature, 0 } };
        memcpy(hdrs + n, add, sizeof(add));
        n += 4;
      }
      else
        goto sign_failed;
    }
    else if(!(wsse_body = gw_sigauth_wsse_apply(&a->wsse, f->req.body, f->req.body_len,
                                                ts.tv_sec, NULL, GW_UP_MAX_REQUEST_BODY,
                                                &wsse_len)))
      goto sign_failed;
  }
  memset(&r, 0, sizeof(r));
  r.url = f->req.url;
  r.method = f->req.method;
  r.headers = hdrs;
  r.n_headers = n;
  r.body = wsse_body ? wsse_body : f->req.body;
  r.body_len = wsse_body ? wsse_len : f->req.body_len;
  r.tls.ca_file = a->ca_file;
  r.tls.client_cert = a->client_cert;
  r.tls.client_key = a->client_key;
  r.tls.pin_sha256 = a->pin_sha256;
  r.timeout_ms = (long)(left < (uint64_t)a->policy.timeout_ms ? left : (uint64_t)a->policy.timeout_ms);
  if(r.timeout_ms < 1)
    r.timeout_ms = 1;
  r.connect_timeout_ms = a->policy.connect_timeout_ms < r.timeout_ms ? a->policy.connect_timeout_ms
                                                                     : r.timeout_ms;
  r.max_response_bytes = a->max_response_bytes;
  r.allowed_cidrs = (const char *const *)a->allow_cidrs;
  r.n_allowed_cidrs = a->n_allow;
  r.on_done = on_exchange;
  r.arg = f;
  fetch_set_state(f, F_SEND);
  sr = gw_upstream_start(f->env->up, &r, &f->ex);
  OPENSSL_cleanse(bearer, sizeof(bearer));
  if(wsse_body) {
    OPENSSL_cleanse(wsse_body, wsse_len);
    gw_free(wsse_body);
  }
  if(sr != GW_UP_START_OK) {
    f->ex = NULL;
    fail_all(f, sr == GW_UP_START_BUSY ? GW_FERR_RATE_LIMITED : GW_FERR_TRANSPORT,
             "transport", sr == GW_UP_START_BUSY ? "too many agency exchanges in flight"
                                                 : "the request was refused before sending");
    finish(f);
  }
  return;

sign_failed:
  fail_all(f, GW_FERR_TRANSPORT, "auth", "cannot sign the request (signed_headers or "
           "wsse_username_token)");
  finish(f);
}

static void on_token(const struct gw_oauth_token *tok, void *arg)
{
  struct gw_fetch *f = arg;
  f->owait = NULL;
  if(tok->status != GW_OAUTH_OK) {
    char detail[192];
    snprintf(detail, sizeof(detail), "token endpoint: %s %s", gw_oauth_status_name(tok->status),
             tok->detail ? tok->detail : "");
    f->result.http_status = (int)tok->http_status;   /* the token endpoint's, if it answered */
    fail_all(f, tok->status == GW_OAUTH_TRANSPORT      ? GW_FERR_TRANSPORT
                : tok->status == GW_OAUTH_BAD_RESPONSE ? GW_FERR_BAD_RESPONSE
                                                       : GW_FERR_AGENCY_FAULT,
             "auth", detail);
    report(f, GW_POLICY_FAILURE);
    finish(f);
    return;
  }
  if(f->token) {
    OPENSSL_cleanse(f->token, strlen(f->token));
    gw_free(f->token);
  }
  f->token = gw_strdup(tok->access_token);
  send_request(f);
}

/* The rest of an attempt once the rate said how long to wait (0: go). */
static void admitted(struct gw_fetch *f, uint64_t wait)
{
  struct gw_policy_state *st = f->rt->policy;
  uint64_t now = gw_policy_now_ms();

  if(wait) {
    if(now + wait >= f->deadline_ms) {
      fail_all(f, GW_FERR_RATE_LIMITED, "rate_limited", "the agency's rate limit is reached");
      finish(f);
      return;
    }
    fetch_set_state(f, F_RATE_WAIT);
    event_assign(f->step, f->env->base, -1, 0, on_step_timer, f);
    arm(f->step, wait);
    return;
  }
  if(!gw_policy_breaker_admit(gw_policy_state_breaker(st), now, &f->permit)) {
    fail_all(f, GW_FERR_CIRCUIT_OPEN, "circuit_open", "the agency's circuit breaker is open");
    finish(f);
    return;
  }
  if(f->rt->adapter->auth == GW_AUTH_OAUTH2) {
    fetch_set_state(f, F_AUTH);
    if(gw_oauth_get(f->env->oauth, &f->rt->oauth, on_token, f, &f->owait) != GW_OAUTH_GET_OK) {
      f->owait = NULL;
      fail_all(f, GW_FERR_TRANSPORT, "auth", "cannot ask the token endpoint");
      finish(f);
    }
    return;
  }
  send_request(f);
}

/* The local bucket: this instance's share in a cluster, else the whole rate. */
static uint64_t local_rate(struct gw_fetch *f)
{
  struct gw_policy_bucket *b = f->rt->share ? f->rt->share
                                            : gw_policy_state_bucket(f->rt->policy);
  return gw_policy_bucket_try_acquire(b, gw_policy_now_ms());
}

static void on_cluster_rate(int failed, uint64_t wait_ms, void *arg)
{
  struct gw_fetch *f = arg;
  f->rop = NULL;
  fetch_set_state(f, F_ADMIT);
  admitted(f, failed ? local_rate(f) : wait_ms);
}

/* One attempt: rate token (cluster-wide when there is a cluster, one round
 * trip; this instance's share when Redis cannot say), breaker permit,
 * token, exchange. */
static void attempt(struct gw_fetch *f)
{
  const struct gw_adapter *a = f->rt->adapter;
  if(f->env->cluster && f->rt->share && a->policy.rate_per_s > 0) {
    f->rop = gw_cluster_rate_take(f->env->cluster, f->env->redis, a->id, a->policy.rate_per_s,
                                  (double)a->policy.burst, on_cluster_rate, f);
    if(f->rop) {
      fetch_set_state(f, F_RATE_CHECK);
      return;
    }
    gw_cluster_count_fallback(f->env->cluster, GW_CF_UNAVAILABLE);
  }
  admitted(f, local_rate(f));
}

static void on_slot(enum gw_policy_limit r, void *arg)
{
  struct gw_fetch *f = arg;
  f->waiter = NULL;
  gw_obs_queue(f->rt->adapter->id, "limiter", mono_us() - f->queued_at_us);
  f->queue_us += mono_us() - f->queued_at_us;
  if(r != GW_POLICY_LIMIT_GRANTED) {
    fail_all(f, GW_FERR_TIMEOUT, "timeout", "no agency slot came free before the deadline");
    finish(f);
    return;
  }
  f->have_slot = 1;
  fetch_set_state(f, F_ADMIT);
  attempt(f);
}

static void begin(evutil_socket_t fd, short what, void *arg)
{
  struct gw_fetch *f = arg;
  uint64_t now = gw_policy_now_ms();
  enum gw_policy_limit lr;
  (void)fd; (void)what;
  gw_policy_budget_deposit(gw_policy_state_budget(f->rt->policy), now);
  f->queued_at_us = mono_us();
  lr = gw_policy_limiter_acquire(gw_policy_state_limiter(f->rt->policy), now, f->deadline_ms,
                                 f->env->base, on_slot, f, &f->waiter);
  switch(lr) {
  case GW_POLICY_LIMIT_GRANTED:
    gw_obs_queue(f->rt->adapter->id, "limiter", 0);
    f->have_slot = 1;
    fetch_set_state(f, F_ADMIT);
    attempt(f);
    break;
  case GW_POLICY_LIMIT_QUEUED:
    break;
  case GW_POLICY_LIMIT_FULL:
    fail_all(f, GW_FERR_RATE_LIMITED, "rate_limited", "too many requests wait for this agency");
    finish(f);
    break;
  default:
    fail_all(f, GW_FERR_TIMEOUT, "timeout", "the query deadline passed");
    finish(f);
    break;
  }
}

struct gw_fetch *gw_fetch_start(struct gw_fetch_env *env, struct gw_adapter_rt *rt,
                                const char *subject_id, const char *subject_name,
                                const char *request_id, uint64_t deadline_ms,
                                gw_fetch_done_fn *cb, void *arg)
{
  struct gw_fetch *f = gw_calloc(1, sizeof(*f));
  char err[256];
  uint64_t now = gw_policy_now_ms();

  f->magic = FETCH_MAGIC;
  f->state = F_QUEUED;
  f->env = env;
  f->rt = gw_adapter_rt_ref(rt);
  f->subject_id = gw_strdup(subject_id);
  f->subject_name = gw_strdup(subject_name ? subject_name : "");
  snprintf(f->request_id, sizeof(f->request_id), "%s", request_id);
  f->deadline_ms = deadline_ms;
  f->started_ms = now;
  clock_gettime(CLOCK_MONOTONIC, &f->started);
  f->cb = cb;
  f->arg = arg;
  f->result.rt = rt;
  f->result.outcome = "ok";
  f->result.codec.signature = "none";
  f->deadline = evtimer_new(env->base, on_deadline, f);
  f->step = evtimer_new(env->base, begin, f);
  if(!f->deadline || !f->step)
    abort();                   /* out of memory in libevent: the alloc policy */

  if(gw_codec_build(rt->adapter, f->subject_id, f->subject_name, f->request_id, time(NULL),
                    &f->req, err, sizeof(err))) {
    fail_all(f, GW_FERR_TRANSPORT, "request", err);
    finish(f);
    return f;
  }
  if(env->hmac) {
    /* Keyed, so the audit log's request hash cannot be brute-forced back
     * to an identity number: HMAC(method "\n" url "\n" body). */
    size_t ulen = strlen(f->req.url), mlen = strlen(f->req.method);
    size_t n = mlen + 1 + ulen + 1 + f->req.body_len;
    unsigned char *buf = gw_malloc(n), mac[32];
    memcpy(buf, f->req.method, mlen);
    buf[mlen] = '\n';
    memcpy(buf + mlen + 1, f->req.url, ulen);
    buf[mlen + 1 + ulen] = '\n';
    if(f->req.body_len)
      memcpy(buf + mlen + ulen + 2, f->req.body, f->req.body_len);
    if(!gw_hmac_sha256(env->hmac, buf, n, mac))
      gw_hex_encode(mac, sizeof(mac), f->result.request_hmac);
    OPENSSL_cleanse(buf, n);
    gw_free(buf);
  }
  arm(f->deadline, deadline_ms > now ? deadline_ms - now : 0);
  event_active(f->step, 0, 0);   /* begin() on the loop, never inside this call */
  return f;
}

void gw_fetch_cancel(struct gw_fetch *f)
{
  if(f->magic != FETCH_MAGIC)
    abort();
  release_all(f, GW_POLICY_CANCEL);
  fetch_free(f);
}
