/*
 * query.c - POST /v1/facts/query and its companions.
 *
 * A query owns its groups (one per adapter it needs).  A group is answered
 * by a cache hit, by a flight this query leads, or by waiting on another
 * request's flight.  A flight is owned by nobody but itself: it outlives a
 * query whose deadline passed, so the answer still reaches the cache, the
 * audit log and every other waiter.  The query answers only after its audit
 * record is durable.
 *
 * Fallback: when the adapter asked first for a fact (lowest "order") finds
 * its agency unavailable (timeout, breaker open, transport, HTTP 5xx), the
 * fact moves to the next adapter by order within the same deadline (a new
 * group, or one the query already has); the answer's source, the
 * attestation's src.agency and the record's adapter then name the agency
 * that answered, and fallback_from the one that did not.  A not_found, a
 * refused (bad or badly signed) answer never falls through.
 */
#include "gw/query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "acl.h"
#include "gw/alloc.h"
#include "gw/app.h"
#include "gw/attest.h"
#include "gw/audit.h"
#include "gw/b64.h"
#include "cache.h"
#include "gw/config.h"
#include "gw/facts.h"
#include "gw/factschema.h"
#include "gw/front.h"
#include "gen.h"
#include "hmac.h"
#include "gw/idnum.h"
#include "jsonw.h"
#include "gw/log.h"
#include "msg.h"
#include "gw/observe.h"
#include "gw/policy.h"
#include "randid.h"
#include "registry.h"
#include "seal.h"

#include "query_int.h"
#include "query_pred_int.h"
#include "query_state.h"

/* fact slots: the facts asked plus those only predicates read */
#define QUERY_MAX_SLOTS (QUERY_MAX_FACTS + 16)
#define QUERY_MAGIC 0x71756572U      /* "quer" */

/* ---- a query ------------------------------------------------------------ */

struct query;


enum group_state { G_PENDING, G_DONE };

struct qgroup {
  struct query *q;
  struct gw_adapter_rt *rt;     /* borrowed from the query's generation */
  enum group_state state;
  struct gw_cache_entry *entry; /* the answer, when there is one */
  int cached;                   /* fetched before this query began */
  int stale;
  struct gw_cache_waiter *waiter;
  struct flight *flight;
  enum gw_fact_error error;     /* no entry: why; stale entry: why the refresh failed */
  char detail[192];
};

struct qfact {
  const char *name;             /* catalogue storage */
  int allowed;
  struct qgroup *g;
  size_t index;                 /* in the adapter's facts */
  int hidden;                   /* a predicate input only: never returned */
  int feeds;                    /* fetched for a predicate although denied as a fact */
  size_t rank;                  /* g's adapter is the rank-th by order (0: first) */
  struct qgroup *prev;          /* the group that failed before g (fallback), or NULL */
  size_t prev_index;            /* the fact's index in prev's adapter */
};

struct query {
  unsigned magic;
  struct gw_req *req;
  struct gw_app *app;
  struct gw_worker_ctx *w;
  struct gw_gen *gen;           /* taken once at the start; everything a
                                   reload swaps is read through it */
  char query_id[48];
  char subject_id[GW_IDNUM_LEN + 1];
  char *subject_name;
  char subject_ref[GW_SUBJECT_REF_LEN + 1];
  char subject_key[GW_SUBJECT_REF_LEN + 1];   /* id + name */
  char purpose[QUERY_PURPOSE_BUF];
  char case_ref[QUERY_CASE_REF_BUF];
  char client[128];
  int sign;
  int64_t max_age_ms;
  int64_t started_ms;           /* wall clock */
  uint64_t deadline_ms;         /* the query's budget in ms */
  uint64_t deadline_at;         /* monotonic: when it ends (gw_policy_now_ms) */
  struct qfact facts[QUERY_MAX_SLOTS];
  size_t n_facts;
  struct qpreds preds;
  struct gw_recheck *recheck;   /* owned; a re-check answers its own way */
  struct qgroup groups[QUERY_MAX_SLOTS];
  size_t n_groups;
  enum query_state state;       /* changed by query_state_set only */
  struct event *deadline;
  struct event *done_ev;        /* GATHERED: finishes the query on the loop */
  int complete;                 /* the answer's "complete": every returned fact
                                   and predicate definitive (query_views) */
  struct gw_jw response;        /* written at finish, closed by the audit callback */
};

static int64_t wall_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The one place a query changes state: a legal move (query_state.h) is
 * made and, in debug builds, logged; an illegal one aborts a debug build
 * and, in a release build, is logged and refused (state unchanged,
 * returns -1), so the caller does not go on as if it had happened. */
static int query_state_set(struct query *q, enum query_state to)
{
  if(!query_state_legal(q->state, to)) {
    gw_log(GW_LOG_ERROR, "query_state_illegal", "%s: %s -> %s",
           q->query_id[0] ? q->query_id : "-", query_state_name(q->state),
           query_state_name(to));
#ifndef NDEBUG
    abort();
#endif
    return -1;
  }
#ifndef NDEBUG
  gw_log(GW_LOG_DEBUG, "query_state", "%s: %s -> %s", q->query_id[0] ? q->query_id : "-",
         query_state_name(q->state), query_state_name(to));
#endif
  q->state = to;
  return 0;
}

/* Frees a query that is NEW (refused before it started) or DONE (answered):
 * in any other state a group, a timer or the audit log may still call it. */
static void query_free(struct query *q)
{
#ifndef NDEBUG
  if(q->magic != QUERY_MAGIC || (q->state != QS_NEW && q->state != QS_DONE))
    abort();
#endif
  for(size_t i = 0; i < q->n_groups; i++)
    gw_cache_entry_unref(q->groups[i].entry);
  if(q->deadline)
    event_free(q->deadline);
  if(q->done_ev)
    event_free(q->done_ev);
  gw_gen_release(q->gen);
  OPENSSL_cleanse(q->subject_id, sizeof(q->subject_id));
  if(q->subject_name) {
    OPENSSL_cleanse(q->subject_name, strlen(q->subject_name));
    gw_free(q->subject_name);
  }
  gw_jw_free(&q->response);
  qpred_free(&q->preds);
  gw_recheck_free(q->recheck);
  q->magic = 0;
  gw_free(q);
}

/* Ends a query that answered (or was refused) after it started: DONE, freed. */
static void query_end(struct query *q)
{
  (void)query_state_set(q, QS_DONE);
  query_free(q);
}

static void query_finish(struct query *q);
static void start_group(struct query *q, struct qgroup *g);

/* Groups still without an answer. */
static size_t groups_waiting(const struct query *q)
{
  size_t n = 0;
  for(size_t i = 0; i < q->n_groups; i++)
    n += q->groups[i].state == G_PENDING;
  return n;
}

/* WAITING with every group answered: GATHERED, finished on the loop (not
 * inside the cache or fetch callback that answered last). */
static void query_check_gathered(struct query *q)
{
  if(q->state == QS_WAITING && !groups_waiting(q) && !query_state_set(q, QS_GATHERED))
    event_active(q->done_ev, 0, 0);
}

/* Did f's agency fail to answer in g (not: answered not_found, or answered
 * something refused)? */
static int agency_down(const struct qfact *f, const struct qgroup *g)
{
  const struct cached_fetch *cf;
  if(!g->entry)
    return g->error == GW_FERR_TIMEOUT || g->error == GW_FERR_CIRCUIT_OPEN ||
           g->error == GW_FERR_TRANSPORT;
  cf = gw_cache_entry_data(g->entry);
  return f->index < cf->n && cf->facts[f->index].status == GW_FACT_UNAVAILABLE &&
         cf->facts[f->index].agency_down;
}

/* Moves every fact g failed for onto its next adapter by order, starting
 * the groups that needs (WAITING only).  The order chain is
 * walked, not hopped once: when the next adapter is a group this query
 * already has and that group is done with its agency down too, the fact
 * moves on again at once (no group will finish later to move it), at most
 * GW_REGISTRY_MAX_ORDER hops.  It stops at a group still pending (its
 * completion walks on), at one that answered (ok, not_found or refused:
 * never fallen through), or when no adapter is left. */
static void fall_back(struct query *q, struct qgroup *g)
{
  struct qgroup *fresh[QUERY_MAX_SLOTS];
  size_t n_fresh = 0;

  for(size_t i = 0; i < q->n_facts; i++) {
    struct qfact *f = &q->facts[i];
    struct qgroup *from = g;
    if(f->g != g || (!f->allowed && !f->feeds) || !agency_down(f, g))
      continue;
    for(int hop = 0; hop < GW_REGISTRY_MAX_ORDER; hop++) {
      struct gw_adapter_rt *rt = gw_gen_rt_for_fact_nth(q->gen, f->name, f->rank + 1);
      struct qgroup *ng = NULL;
      if(!rt)
        break;
      for(size_t gi = 0; gi < q->n_groups; gi++)
        if(q->groups[gi].rt == rt)
          ng = &q->groups[gi];
      if(!ng) {
        if(q->n_groups == QUERY_MAX_SLOTS)
          break;
        ng = &q->groups[q->n_groups++];
        memset(ng, 0, sizeof(*ng));
        ng->q = q;
        ng->rt = rt;
        ng->state = G_PENDING;
        fresh[n_fresh++] = ng;
      }
      gw_log(GW_LOG_INFO, "fact_fallback", "%s: %s: %s unavailable, asking %s", q->query_id,
             f->name, from->rt->adapter->id, rt->adapter->id);
      f->prev = from;
      f->prev_index = f->index;
      f->g = ng;
      f->rank++;
      for(size_t k = 0; k < rt->adapter->n_facts; k++)
        if(!strcmp(rt->adapter->facts[k], f->name))
          f->index = k;
      if(ng->state != G_DONE || !agency_down(f, ng))
        break;
      from = ng;                  /* done, and down as well: on to the next */
    }
  }
  for(size_t i = 0; i < n_fresh; i++)
    start_group(q, fresh[i]);
}

static void group_done(struct qgroup *g)
{
  struct query *q = g->q;
  if(g->state == G_DONE)
    return;
  g->state = G_DONE;
  if(q->state != QS_WAITING)   /* the deadline detached every group first */
    return;
  fall_back(q, g);
  query_check_gathered(q);
}

/* ---- flights: fetch, attest, audit, cache ---------------------------------- */

static void on_fetch_audited(const struct gw_audit_append_result *r, void *arg)
{
  (void)arg;
  if(r->status != GW_AUDIT_OK)
    gw_log(GW_LOG_ERROR, "audit_append_failed", "fetch record %llu: %s",
           (unsigned long long)r->index, gw_audit_strerror(r->status));
}

/* Turns a fetch result into the immutable cached form, signing every ok fact. */
static struct cached_fetch *make_cached(struct flight *fl, const struct gw_fetch_result *res,
                                        size_t *bytes, int *negative, int *failed)
{
  const struct gw_adapter *a = fl->rt->adapter;
  struct cached_fetch *cf = gw_calloc(1, sizeof(*cf));
  size_t total = sizeof(*cf);
  int ok = 0, nf = 0, unavailable = 0;

  cf->n = res->codec.n_facts;
  cf->adapter_id = gw_strdup(a->id);
  cf->adapter_version = a->version;
  cf->agency = gw_strdup(a->agency);
  cf->signature = res->codec.signature;
  cf->fetched_at = res->fetched_at ? res->fetched_at : (int64_t)time(NULL);
  for(size_t i = 0; i < cf->n; i++) {
    const struct gw_fact_result *f = &res->codec.facts[i];
    struct cached_fact *c = &cf->facts[i];
    c->status = f->status;
    c->error = f->error;
    snprintf(c->detail, sizeof(c->detail), "%s", f->detail);
    if(f->status == GW_FACT_OK) {
      struct gw_attest_src src = { a->agency, a->id, a->version, fl->rt->channel,
                                   res->codec.signature, res->evidence };
      char err[160];
      c->attestation = gw_attest_make_dual(fl->gen->signer, fl->subject_ref, a->facts[i],
                                            f->value, &src, cf->fetched_at,
                                            cf->fetched_at + a->ttl_s, &c->attestation_sm2,
                                            err, sizeof(err));
      if(!c->attestation) {
        /* never serve a fact we could not sign */
        c->status = GW_FACT_UNAVAILABLE;
        c->error = GW_FERR_BAD_RESPONSE;
        snprintf(c->detail, sizeof(c->detail), "attestation: %s", err);
        unavailable++;
        continue;
      }
      c->value = json_dumps(f->value, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
      if(!c->value) {
        c->status = GW_FACT_UNAVAILABLE;
        c->error = GW_FERR_BAD_RESPONSE;
        snprintf(c->detail, sizeof(c->detail), "the value cannot be serialized");
        gw_free(c->attestation);
        c->attestation = NULL;
        gw_free(c->attestation_sm2);
        c->attestation_sm2 = NULL;
        unavailable++;
        continue;
      }
      c->value_len = strlen(c->value);
      if(c->attestation_sm2) {
        size_t n = strlen(c->attestation_sm2);
        char *lit = gw_malloc(n + 3);
        lit[0] = '"';
        memcpy(lit + 1, c->attestation_sm2, n);
        lit[n + 1] = '"';
        lit[n + 2] = '\0';
        gw_free(c->attestation_sm2);
        c->attestation_sm2 = lit;
        c->attestation_sm2_len = n + 2;
        total += n + 2;
      }
      {
        unsigned char md[32];
        size_t n = strlen(c->attestation);
        char *lit = gw_malloc(n + 3);
        if(gw_sha256(c->attestation, n, md))
          abort();             /* OpenSSL cannot hash: the alloc policy */
        gw_hex_encode(md, 32, c->attestation_sha256);
        lit[0] = '"';
        memcpy(lit + 1, c->attestation, n);
        lit[n + 1] = '"';
        lit[n + 2] = '\0';
        gw_free(c->attestation);
        c->attestation = lit;
        c->attestation_len = n + 2;
      }
      total += c->attestation_len + c->value_len + 64;
      ok++;
    }
    else if(f->status == GW_FACT_NOT_FOUND)
      nf++;
    else {
      c->agency_down = f->error == GW_FERR_TIMEOUT || f->error == GW_FERR_CIRCUIT_OPEN ||
                       f->error == GW_FERR_TRANSPORT ||
                       (f->error == GW_FERR_AGENCY_FAULT && res->http_status >= 500);
      unavailable++;
    }
  }
  *bytes = total;
  *negative = !ok && nf && !unavailable;
  *failed = unavailable > 0;
  return cf;
}

/* A string member, or null when there is no string. */
static void jw_kstr_or_null(struct gw_jw *w, const char *key, const char *s)
{
  gw_jw_key(w, key);
  if(s)
    gw_jw_str(w, s);
  else
    gw_jw_null(w);
}

/* The fetch record: what was asked, what came back, how it was judged, and
 * the attestation made of every ok fact (query records cite them by hash).
 * Keys in sorted order. */
static enum gw_audit_result audit_fetch(struct flight *fl, const struct gw_fetch_result *res,
                                        const struct cached_fetch *cf)
{
  const struct gw_adapter *a = fl->rt->adapter;
  struct gw_jw w;
  char *text;
  size_t len = 0;
  enum gw_audit_result ar;

  gw_jw_init(&w, 1024 + 1200 * cf->n);
  gw_jw_open(&w);
  gw_jw_kstr(&w, "adapter", a->id);
  gw_jw_kint(&w, "adapter_version", a->version);
  gw_jw_kstr(&w, "agency", a->agency);
  jw_kstr_or_null(&w, "agency_signature", res->codec.signature);
  gw_jw_kint(&w, "attempts", res->attempts);
  gw_jw_key(&w, "facts");
  gw_jw_open(&w);
  for(size_t i = 0; i < res->codec.n_facts; i++) {
    const struct gw_fact_result *f = &res->codec.facts[i];
    const struct cached_fact *c = i < cf->n ? &cf->facts[i] : NULL;
    gw_jw_key(&w, a->facts[i]);
    gw_jw_open(&w);
    if(c && c->attestation) {
      gw_jw_key(&w, "attestation");
      gw_jw_raw(&w, c->attestation, c->attestation_len);
      gw_jw_kstr(&w, "attestation_sha256", c->attestation_sha256);
      if(c->attestation_sm2) {
        gw_jw_key(&w, "attestation_sm2");
        gw_jw_raw(&w, c->attestation_sm2, c->attestation_sm2_len);
      }
    }
    if(f->status == GW_FACT_UNAVAILABLE)
      gw_jw_kstr(&w, "error", gw_fact_error_name(f->error));
    gw_jw_kstr(&w, "status", gw_fact_status_name(f->status));
    gw_jw_close(&w);
  }
  gw_jw_close(&w);
  gw_jw_kint(&w, "generation", (int64_t)fl->gen->id);
  gw_jw_kint(&w, "http_status", res->http_status);
  gw_jw_kstr(&w, "kind", "fetch");
  gw_jw_kint(&w, "latency_us", res->latency_us);
  jw_kstr_or_null(&w, "outcome", res->outcome);
  gw_jw_kstr(&w, "query_id", fl->query_id);
  gw_jw_kstr(&w, "request_hmac", res->request_hmac);
  gw_jw_kstr(&w, "response_sha256", res->evidence);
  gw_jw_kstr(&w, "subject_ref", fl->subject_ref);
  gw_jw_kint(&w, "time", wall_ms());
  gw_jw_close(&w);
  text = gw_jw_finish(&w, &len);
  if(!text) {
    gw_log(GW_LOG_ERROR, "audit_append_failed", "fetch record: could not be written");
    return GW_AUDIT_ERECORD;
  }
  ar = gw_audit_append_ex(fl->app->audit, text, len, GW_AUDIT_BUILT, on_fetch_audited, NULL,
                          gw_worker_current()->base);
  if(ar == GW_AUDIT_OK)
    gw_obs_audit("fetch");
  else
    gw_log(GW_LOG_ERROR, "audit_append_failed", "fetch record: %s", gw_audit_strerror(ar));
  gw_free(text);
  return ar;
}

/* The fetch record holding the attestations could not be appended: query
 * records would cite what the log does not hold, so none of them is served
 * or cached.  Returns whether any fact was withdrawn. */
static int withdraw_unrecorded(struct cached_fetch *cf, enum gw_audit_result why)
{
  int any = 0;
  for(size_t i = 0; i < cf->n; i++) {
    struct cached_fact *c = &cf->facts[i];
    if(!c->attestation)
      continue;
    gw_free(c->attestation);
    c->attestation = NULL;
    gw_free(c->attestation_sm2);
    c->attestation_sm2 = NULL;
    free(c->value);
    c->value = NULL;
    c->status = GW_FACT_UNAVAILABLE;
    c->error = GW_FERR_BAD_RESPONSE;
    snprintf(c->detail, sizeof(c->detail),
             "the answer could not be recorded in the audit log (%s); not served",
             gw_audit_strerror(why));
    any = 1;
  }
  return any;
}

static void on_fetch_done(const struct gw_fetch_result *res, void *arg);

void query_flight_free(struct flight *fl)
{
  if(fl->poll)
    event_free(fl->poll);
  OPENSSL_cleanse(fl->subject_id, sizeof(fl->subject_id));
  if(fl->subject_name) {
    OPENSSL_cleanse(fl->subject_name, strlen(fl->subject_name));
    gw_free(fl->subject_name);
  }
  gw_adapter_rt_unref(fl->rt);
  gw_gen_release(fl->gen);
  gw_free(fl);
}

void query_flight_fetch(struct flight *fl)
{
  fl->fetch = gw_fetch_start(&fl->w->env, fl->rt, fl->subject_id, fl->subject_name,
                             fl->query_id, fl->deadline_ms, on_fetch_done, fl);
}

void query_flight_shared_value(struct flight *fl, struct cached_fetch *cf, size_t bytes,
                               int negative)
{
  const struct gw_adapter *a = fl->rt->adapter;
  struct gw_cache_value v = { cf, bytes, query_cached_free };
  struct gw_cache_entry *e;
  /* Fresh from when the agency answered, not from when Redis was read. */
  e = gw_cache_finish_ex(fl->app->cache, fl->cf, &v, negative, cf->fetched_at * 1000,
                         (int64_t)(negative ? a->negative_ttl_s : a->ttl_s) * 1000,
                         negative ? 0 : (int64_t)a->stale_if_error_s * 1000, 0);
  if(fl->g) {
    struct qgroup *g = fl->g;
    g->flight = NULL;
    g->entry = e;
    g->cached = 1;
    group_done(g);
  }
  else
    gw_cache_entry_unref(e);
  query_flight_free(fl);
}

static void on_fetch_done(const struct gw_fetch_result *res, void *arg)
{
  struct flight *fl = arg;
  const struct gw_adapter *a = fl->rt->adapter;
  struct gw_cache_value v;
  struct gw_cache_entry *e;
  size_t bytes;
  int negative, failed;
  struct cached_fetch *cf;

  fl->fetch = NULL;
  cf = make_cached(fl, res, &bytes, &negative, &failed);
  /* recorded before any query record can cite it */
  {
    enum gw_audit_result ar = audit_fetch(fl, res, cf);
    if(ar != GW_AUDIT_OK && withdraw_unrecorded(cf, ar)) {
      negative = 0;
      failed = 1;
    }
  }
  query_flight_share(fl, cf, negative, failed);
  v.data = cf;
  v.bytes = bytes;
  v.free_fn = query_cached_free;
  e = gw_cache_finish_ex(fl->app->cache, fl->cf, &v, negative, wall_ms(),
                         (int64_t)(negative ? a->negative_ttl_s : a->ttl_s) * 1000,
                         negative ? 0 : (int64_t)a->stale_if_error_s * 1000, failed);
  if(fl->g) {
    struct qgroup *g = fl->g;
    g->flight = NULL;
    g->entry = e;
    g->stale = e && gw_cache_entry_data(e) != cf;   /* stale-if-error served */
    g->cached = g->stale;
    if(g->stale) {
      /* say why the refresh failed: a hostile or failing agency must stay
       * visible even when an older answer is served */
      for(size_t i = 0; i < res->codec.n_facts; i++)
        if(res->codec.facts[i].status == GW_FACT_UNAVAILABLE) {
          g->error = res->codec.facts[i].error;
          snprintf(g->detail, sizeof(g->detail), "%s", res->codec.facts[i].detail);
          break;
        }
    }
    group_done(g);
  }
  else
    gw_cache_entry_unref(e);
  query_flight_free(fl);
}

static void on_waited(struct gw_cache_waiter *w, void *arg)
{
  struct qgroup *g = arg;
  g->waiter = NULL;
  g->entry = gw_cache_waiter_take(w);
  if(g->entry) {
    const struct cached_fetch *cf = gw_cache_entry_data(g->entry);
    g->stale = gw_cache_entry_stale(g->entry, wall_ms());
    g->cached = g->stale || cf->fetched_at * 1000 < g->q->started_ms - 1000;
  }
  else {
    g->error = GW_FERR_TRANSPORT;
    snprintf(g->detail, sizeof(g->detail), "the shared fetch failed");
  }
  group_done(g);
}

/* ---- answering -------------------------------------------------------------- */

/* What one fact of the answer is, decided once, written twice: into the
 * answer and into the query record. */
struct fact_view {
  const char *status;                 /* ok, not_found, unavailable, denied */
  const struct cached_fetch *cf;      /* the agency answer, when there is one */
  const struct cached_fact *c;
  enum gw_fact_error error;           /* unavailable */
  const char *agency, *detail, *adapter;
  int definitive;
};

static void fact_view(const struct qfact *f, struct fact_view *v)
{
  const struct qgroup *g = f->g;

  memset(v, 0, sizeof(*v));
  if(!f->allowed) {
    v->status = "denied";
    return;
  }
  if(!g || !g->entry) {
    v->status = "unavailable";
    v->error = g ? g->error : GW_FERR_TRANSPORT;
    v->agency = g ? g->rt->adapter->agency : NULL;
    v->detail = g ? g->detail : "no adapter serves this fact";
    v->adapter = g ? g->rt->adapter->id : NULL;
    return;
  }
  v->cf = gw_cache_entry_data(g->entry);
  v->c = &v->cf->facts[f->index];
  v->status = gw_fact_status_name(v->c->status);
  v->agency = v->cf->agency;
  v->adapter = v->cf->adapter_id;
  if(v->c->status == GW_FACT_UNAVAILABLE) {
    v->error = v->c->error;
    v->detail = v->c->detail;
  }
  else
    v->definitive = 1;
}

static void write_error(struct gw_jw *w, enum gw_fact_error e, const char *agency,
                        const char *detail)
{
  gw_jw_key(w, "error");
  gw_jw_open(w);
  gw_jw_kstr(w, "code", gw_fact_error_name(e));
  if(agency)
    gw_jw_kstr(w, "agency", agency);
  gw_jw_kstr(w, "detail", detail ? detail : "");
  gw_jw_close(w);
}

/* The per-fact answer (DESIGN section 3). */
static void write_answer_fact(struct gw_jw *w, const struct qfact *f, const struct fact_view *v,
                              int64_t now_s)
{
  const struct qgroup *g = f->g;

  gw_jw_key(w, f->name);
  gw_jw_open(w);
  gw_jw_kstr(w, "status", v->status);
  if(f->prev && f->allowed) {
    /* asked the next adapter by order: say who could not answer */
    const struct qgroup *p = f->prev;
    const struct cached_fetch *pcf = p->entry ? gw_cache_entry_data(p->entry) : NULL;
    gw_jw_key(w, "fallback_from");
    gw_jw_open(w);
    gw_jw_kstr(w, "adapter", p->rt->adapter->id);
    gw_jw_kstr(w, "agency", p->rt->adapter->agency);
    gw_jw_kstr(w, "code", gw_fact_error_name(pcf && f->prev_index < pcf->n
                                               ? pcf->facts[f->prev_index].error : p->error));
    gw_jw_close(w);
  }
  if(!v->cf) {
    if(!f->allowed) {
      gw_jw_key(w, "error");
      gw_jw_open(w);
      gw_jw_kstr(w, "code", "denied");
      gw_jw_kstr(w, "detail", "not allowed for this client and purpose");
      gw_jw_close(w);
    }
    else
      write_error(w, v->error, v->agency, v->detail);
  }
  else if(v->c->status == GW_FACT_OK) {
    gw_jw_key(w, "value");
    gw_jw_raw(w, v->c->value, v->c->value_len);
    gw_jw_kstr(w, "source", v->cf->agency);
    gw_jw_kbool(w, "cached", g->cached);
    gw_jw_kint(w, "age_s", now_s - v->cf->fetched_at);
    if(g->stale) {
      gw_jw_kbool(w, "stale", 1);
      if(g->error != GW_FERR_NONE) {
        gw_jw_key(w, "refresh_error");
        gw_jw_open(w);
        gw_jw_kstr(w, "code", gw_fact_error_name(g->error));
        gw_jw_kstr(w, "detail", g->detail);
        gw_jw_close(w);
      }
    }
    gw_jw_key(w, "attestation");
    gw_jw_raw(w, v->c->attestation, v->c->attestation_len);
    if(v->c->attestation_sm2) {
      gw_jw_key(w, "attestation_sm2");
      gw_jw_raw(w, v->c->attestation_sm2, v->c->attestation_sm2_len);
    }
  }
  else if(v->c->status == GW_FACT_NOT_FOUND) {
    gw_jw_kstr(w, "source", v->cf->agency);
    gw_jw_kbool(w, "cached", g->cached);
    gw_jw_kint(w, "age_s", now_s - v->cf->fetched_at);
  }
  else
    write_error(w, v->error, v->agency, v->detail);
  gw_jw_close(w);
}

/* The per-fact part of the query record, keys sorted.  An ok fact is cited
 * by its attestation's hash; the attestation itself is in the fetch record
 * that made it. */
static void write_record_fact(struct gw_jw *w, const struct qfact *f, const struct fact_view *v)
{
  gw_jw_key(w, f->name);
  gw_jw_open(w);
  if(v->adapter)
    gw_jw_kstr(w, "adapter", v->adapter);
  if(v->cf) {
    gw_jw_kint(w, "adapter_version", v->cf->adapter_version);
    if(v->c->status == GW_FACT_OK)
      gw_jw_kstr(w, "attestation_sha256", v->c->attestation_sha256);
    gw_jw_kbool(w, "cached", f->g->cached);
  }
  if(!strcmp(v->status, "unavailable"))
    gw_jw_kstr(w, "error", gw_fact_error_name(v->error));
  if(f->prev)
    gw_jw_kstr(w, "fallback_from", f->prev->rt->adapter->id);
  if(f->hidden)
    gw_jw_kbool(w, "predicate_input", 1);
  if(v->cf && v->c->status == GW_FACT_OK && f->g->stale)
    gw_jw_kbool(w, "stale", 1);
  gw_jw_kstr(w, "status", v->status);
  gw_jw_close(w);
}

static void respond_with_audit(const struct gw_audit_append_result *r, void *arg)
{
  struct query *q = arg;
  char *body, leaf[64];
  size_t leaf_len = 0, body_len = 0;

  if(r->status != GW_AUDIT_OK) {
    gw_log(GW_LOG_ERROR, "audit_append_failed", "query %s: %s", q->query_id,
           gw_audit_strerror(r->status));
    gw_req_problem(q->req, 503, "audit-unavailable",
                   "the audit log could not record this query; nothing is served unrecorded");
    query_end(q);
    return;
  }
  if(gw_b64_encode(GW_B64_STD, r->leaf_hash, sizeof(r->leaf_hash), leaf, sizeof(leaf), &leaf_len)
     != GW_B64_OK)
    leaf_len = 0;
  leaf[leaf_len] = '\0';
  gw_jw_key(&q->response, "audit");
  gw_jw_open(&q->response);
  gw_jw_kstr(&q->response, "log_id", gw_audit_log_id(q->app->audit));
  gw_jw_kint(&q->response, "index", (int64_t)r->index);
  gw_jw_kstr(&q->response, "leaf_hash", leaf);
  gw_jw_close(&q->response);
  gw_jw_close(&q->response);
  body = gw_jw_finish(&q->response, &body_len);
  if(!body) {
    gw_req_problem(q->req, 500, "internal", "could not serialize the answer");
    query_end(q);
    return;
  }
  if(q->sign) {
    char *sig = gw_attest_sign_body(q->gen->signer, body, body_len);
    if(sig) {
      gw_req_set_header(q->req, "Gateway-Signature", sig);
      gw_free(sig);
    }
  }
  gw_req_respond(q->req, 200, "application/json", body, body_len);
  gw_free(body);
  gw_obs_query(q->purpose, q->complete ? "complete" : "partial",
               (wall_ms() - q->started_ms) * 1000);
  query_end(q);
}

/* The subject sealed to the auditors as "id\nname" (re-checks of
 * identity.match need the name), remembered per subject: a new string
 * (gw_free) or NULL. */
static char *sealed_subject(const struct query *q)
{
  size_t n = strlen(q->subject_id) + 1 + strlen(q->subject_name), sealed_len = 0;
  char *plain = gw_malloc(n + 1), *sealed = NULL;
  enum gw_seal_result r;

  snprintf(plain, n + 1, "%s\n%s", q->subject_id, q->subject_name);
  if(q->app->seal_memo && q->subject_key[0])
    r = gw_seal_memo_seal(q->app->seal_memo, q->subject_key, strlen(q->subject_key), plain, n,
                          &sealed, &sealed_len, NULL);
  else
    r = gw_seal_seal(q->app->seal, plain, n, GW_SEAL_B64_DER, &sealed, &sealed_len);
  OPENSSL_cleanse(plain, n);
  gw_free(plain);
  return r == GW_SEAL_OK ? sealed : NULL;
}

/* Evaluates the predicates on what the fact slots hold (a fact denied to
 * the client is still read when a predicate it may ask needs it).
 * Returns 1 when every predicate is true or false. */
static void fill_pred_facts(struct query *q, struct qpred_fact *pf)
{
  for(size_t i = 0; i < q->n_facts; i++) {
    struct qfact f = q->facts[i];
    struct fact_view v;
    f.allowed = f.allowed || f.feeds;
    fact_view(&f, &v);
    memset(&pf[i], 0, sizeof(pf[i]));
    pf[i].name = f.name;
    pf[i].agency = v.agency;
    pf[i].detail = v.detail;
    pf[i].error = v.error;
    pf[i].hidden = q->facts[i].hidden || !q->facts[i].allowed;
    if(v.c && v.c->status == GW_FACT_OK) {
      pf[i].status = GW_PRED_FACT_OK;
      pf[i].value_json = v.c->value;
      pf[i].value_len = v.c->value_len;
      pf[i].attestation_sha256 = v.c->attestation_sha256;
      pf[i].attestation = v.c->attestation;
      pf[i].attestation_len = v.c->attestation_len;
      pf[i].attestation_sm2 = v.c->attestation_sm2;
      pf[i].attestation_sm2_len = v.c->attestation_sm2_len;
    }
    else if(v.c && v.c->status == GW_FACT_NOT_FOUND)
      pf[i].status = GW_PRED_FACT_NOT_FOUND;
    else
      pf[i].status = GW_PRED_FACT_UNAVAILABLE;
  }
}

static int query_predicates(struct query *q)
{
  struct qpred_fact pf[QUERY_MAX_SLOTS];
  fill_pred_facts(q, pf);
  return qpred_evaluate(&q->preds, pf, q->n_facts, q->gen->signer, q->subject_ref,
                        wall_ms() / 1000);
}

/* The fact slot a predicate reads `name` from: the asked one, or a hidden
 * one added now; -1 when the catalogue has no such fact (yet). */
static int query_slot(struct query *q, const char *name)
{
  const struct gw_fact_def *def = gw_fact_find(name);
  if(!def)
    return -1;
  for(size_t i = 0; i < q->n_facts; i++)
    if(q->facts[i].name == def->name) {
      q->facts[i].feeds = 1;
      return (int)i;
    }
  if(q->n_facts == QUERY_MAX_SLOTS)
    return -1;
  memset(&q->facts[q->n_facts], 0, sizeof(q->facts[0]));
  q->facts[q->n_facts].name = def->name;
  q->facts[q->n_facts].hidden = 1;
  q->facts[q->n_facts].feeds = 1;
  return (int)q->n_facts++;
}

/* ---- finishing: three jobs -------------------------------------------------- */

/* Job 1, the views: decides once what each fact slot says (fact_view) into
 * views[0..q->n_facts), counts each returned fact in the metrics, evaluates
 * and signs the predicates, and sets q->complete.  FINISHING only: every
 * group is done, and the views point into the groups' cache entries, which
 * the query holds until query_free.  Cannot fail: what could not be
 * decided is itself an answer (an unavailable fact, an undecided
 * predicate). */
static void query_views(struct query *q, struct fact_view *views)
{
  q->complete = 1;
  for(size_t i = 0; i < q->n_facts; i++) {
    fact_view(&q->facts[i], &views[i]);
    if(q->facts[i].hidden)
      continue;
    gw_obs_query_fact(q->facts[i].name, views[i].status);
    q->complete &= views[i].definitive;
  }
  if(q->preds.n)
    q->complete &= query_predicates(q);
}

/* Job 2, the answer: writes it into q->response (initialized here, the
 * query's), all but its "audit" member and closing brace, which
 * respond_with_audit adds once the record is durable.  Reads the views of
 * job 1.  Cannot fail here; a writer that ran out of room says so at
 * gw_jw_finish. */
static void query_write_answer(struct query *q, const struct fact_view *views)
{
  int64_t now_s = wall_ms() / 1000;

  gw_jw_init(&q->response, 1024 + 1536 * q->n_facts + 1200 * q->preds.n);
  gw_jw_open(&q->response);
  gw_jw_kstr(&q->response, "query_id", q->query_id);
  gw_jw_kstr(&q->response, "subject_ref", q->subject_ref);
  gw_jw_kstr(&q->response, "purpose", q->purpose);
  if(q->case_ref[0])
    gw_jw_kstr(&q->response, "case_ref", q->case_ref);
  gw_jw_kbool(&q->response, "complete", q->complete);
  gw_jw_key(&q->response, "facts");
  gw_jw_open(&q->response);
  for(size_t i = 0; i < q->n_facts; i++)
    if(!q->facts[i].hidden)
      write_answer_fact(&q->response, &q->facts[i], &views[i], now_s);
  gw_jw_close(&q->response);
  if(q->preds.n)
    qpred_write_answer(&q->preds, &q->response);
}

/* Job 3, the record: the query record, keys sorted, the raw number only
 * sealed to the auditors; a fact fetched only for a predicate is cited as
 * what the predicate read.  Reads the views of job 1.  Returns the text
 * (the caller's, gw_free) with its length in *len, or NULL when it cannot
 * be built (sealing or writing failed): nothing may then be served. */
static char *query_write_record(struct query *q, const struct fact_view *views, size_t *len)
{
  struct gw_jw rec;
  char *sealed = sealed_subject(q), *text;

  gw_jw_init(&rec, 1024 + 256 * q->n_facts + 1600 * q->preds.n);
  gw_jw_open(&rec);
  jw_kstr_or_null(&rec, "case_ref", q->case_ref[0] ? q->case_ref : NULL);
  gw_jw_kstr(&rec, "client", q->client);
  gw_jw_kbool(&rec, "complete", q->complete);
  gw_jw_key(&rec, "facts");
  gw_jw_open(&rec);
  for(size_t i = 0; i < q->n_facts; i++) {
    if(q->facts[i].feeds && !q->facts[i].allowed) {
      /* fetched for a predicate, not returned: the record cites what the
       * predicate read, so its basis can be found */
      struct qfact f = q->facts[i];
      struct fact_view rv;
      f.allowed = 1;
      f.hidden = 1;
      fact_view(&f, &rv);
      write_record_fact(&rec, &f, &rv);
    }
    else
      write_record_fact(&rec, &q->facts[i], &views[i]);
  }
  gw_jw_close(&rec);
  gw_jw_kint(&rec, "generation", (int64_t)q->gen->id);
  if(q->gen->recorded)
    gw_jw_kint(&rec, "generation_index", (int64_t)q->gen->record_index);
  gw_jw_kstr(&rec, "kind", "query");
  if(q->preds.n)
    qpred_write_record(&q->preds, &rec);
  gw_jw_kstr(&rec, "purpose", q->purpose);
  gw_jw_kstr(&rec, "query_id", q->query_id);
  gw_jw_kstr(&rec, "request_id", gw_req_id(q->req));
  gw_jw_kstr(&rec, "sealed_to", gw_seal_fingerprint(q->app->seal));
  gw_jw_kstr(&rec, "subject_ref", q->subject_ref);
  gw_jw_key(&rec, "subject_sealed");
  if(sealed)
    gw_jw_plain(&rec, sealed, strlen(sealed));   /* base64 */
  else
    gw_jw_null(&rec);
  gw_jw_kint(&rec, "time", wall_ms());
  gw_jw_close(&rec);
  text = gw_jw_finish(&rec, len);
  if(!sealed) {
    gw_free(text);
    text = NULL;
  }
  gw_free(sealed);
  return text;
}

/* GATHERED or WAITING (deadline) -> FINISHING: the three jobs (a re-check
 * writes its own answer and record, recheck.c): DONE with a problem when
 * they cannot be built, else AUDITING as the record goes to the audit log
 * (DONE at once, with a problem, when the log refuses it). */
static void query_finish(struct query *q)
{
  struct fact_view views[QUERY_MAX_SLOTS];
  char *text;
  size_t text_len = 0;
  enum gw_audit_result ar;

  if(query_state_set(q, QS_FINISHING))
    return;
  evtimer_del(q->deadline);
  event_del(q->done_ev);
  query_views(q, views);
  if(q->recheck) {
    struct qpred_fact pf[QUERY_MAX_SLOTS];
    fill_pred_facts(q, pf);
    gw_jw_init(&q->response, 2048 + 3072 * (q->n_facts + q->preds.n));
    gw_jw_open(&q->response);
    text = gw_recheck_finish(q->recheck, q->gen, pf, q->n_facts, &q->preds, q->query_id,
                             q->subject_ref,
                             gw_req_id(q->req), &q->response, &text_len);
    if(!text) {
      gw_req_problem(q->req, 500, "internal", "could not build the re-check record");
      query_end(q);
      return;
    }
  }
  else {
    query_write_answer(q, views);
    text = query_write_record(q, views, &text_len);
    if(!text) {
      gw_req_problem(q->req, 500, "internal", "could not build the audit record");
      query_end(q);
      return;
    }
  }
  /* AUDITING before the hand-over: the callback may be the next to touch q */
  (void)query_state_set(q, QS_AUDITING);
  ar = gw_audit_append_ex(q->app->audit, text, text_len, GW_AUDIT_BUILT, respond_with_audit, q,
                          q->w->base);
  gw_free(text);
  if(ar == GW_AUDIT_OK)
    gw_obs_audit("query");
  else {
    gw_log(GW_LOG_ERROR, "audit_append_failed", "query %s: %s", q->query_id,
           gw_audit_strerror(ar));
    gw_req_problem(q->req, 503, "audit-unavailable",
                   "the audit log could not record this query; nothing is served unrecorded");
    query_end(q);
  }
}

static void on_done_event(evutil_socket_t fd, short what, void *arg)
{
  struct query *q = arg;
  (void)fd; (void)what;
  if(q->state == QS_GATHERED)  /* else the deadline finished it in this loop turn */
    query_finish(q);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
  struct query *q = arg;
  (void)fd; (void)what;
  /* WAITING, or GATHERED with the done event still queued in this loop
   * turn; anything later finished it already */
  if(!query_state_legal(q->state, QS_FINISHING))
    return;
  for(size_t i = 0; i < q->n_groups; i++) {
    struct qgroup *g = &q->groups[i];
    if(g->state == G_DONE)
      continue;
    if(g->waiter) {
      gw_cache_waiter_cancel(g->waiter);
      g->waiter = NULL;
    }
    if(g->flight) {
      g->flight->g = NULL;      /* the flight finishes on its own */
      g->flight = NULL;
    }
    g->error = GW_FERR_TIMEOUT;
    snprintf(g->detail, sizeof(g->detail), "no answer within the query deadline");
    g->state = G_DONE;
  }
  query_finish(q);
}

/* ---- the body --------------------------------------------------------------- */

/* Fills q from the body (query_body.c judges it); on error answers 400 with
 * the broken rule and returns -1.  q is NEW. */
static int parse_request(struct query *q, const char *body, size_t len)
{
  struct query_ask ask = { 0 };
  char detail[QUERY_DETAIL_BUF];

  if(query_body_read(body, len, q->app->cfg, q->gen->preds, &q->preds, &ask, detail,
                     sizeof(detail))) {
    gw_req_problem(q->req, 400, "invalid-request", detail);
    return -1;
  }
  memcpy(q->subject_id, ask.subject_id, sizeof(q->subject_id));
  q->subject_name = ask.subject_name;   /* moved */
  ask.subject_name = NULL;
  for(size_t i = 0; i < ask.n_facts; i++)
    q->facts[i].name = ask.facts[i];
  q->n_facts = ask.n_facts;
  memcpy(q->purpose, ask.purpose, sizeof(q->purpose));
  memcpy(q->case_ref, ask.case_ref, sizeof(q->case_ref));
  q->deadline_ms = ask.deadline_ms;
  q->max_age_ms = ask.max_age_ms;
  q->sign = ask.sign;
  query_ask_clear(&ask);
  return 0;
}

/* HMAC of id "\n" name, for cache keys of adapters whose answer depends on
 * the name as well as the number. */
static int subject_key(struct query *q)
{
  unsigned char mac[32];
  size_t n;
  char buf[GW_IDNUM_LEN + 2 + QUERY_NAME_MAX_BYTES];
  int rc;
  n = (size_t)snprintf(buf, sizeof(buf), "%s\n%s", q->subject_id, q->subject_name);
  rc = gw_hmac_sha256(q->app->subject_mac, buf, n, mac);
  OPENSSL_cleanse(buf, sizeof(buf));
  if(rc ||
     gw_b64_encode(GW_B64_URL, mac, 32, q->subject_key, sizeof(q->subject_key), &n) != GW_B64_OK)
    return -1;
  q->subject_key[n] = '\0';
  return 0;
}

static void start_group(struct query *q, struct qgroup *g)
{
  const struct gw_adapter *a = g->rt->adapter;
  char key[256];
  struct gw_cache_entry *e;
  struct gw_cache_flight *cfl;
  struct gw_cache_waiter *w;

  snprintf(key, sizeof(key), "%s@%d:%s", a->id, a->version,
           a->uses_name ? q->subject_key : q->subject_ref);
  switch(gw_cache_get(q->app->cache, key, q->started_ms, q->max_age_ms, q->w->base,
                      on_waited, g, &e, &cfl, &w)) {
  case GW_CACHE_HIT:
    g->entry = e;
    g->cached = 1;
    g->state = G_DONE;
    break;
  case GW_CACHE_WAIT:
    g->waiter = w;
    break;
  case GW_CACHE_LEAD: {
    struct flight *fl = gw_calloc(1, sizeof(*fl));
    fl->app = q->app;
    fl->gen = gw_gen_ref(q->gen);  /* the flight may outlive the query */
    fl->w = q->w;
    fl->rt = gw_adapter_rt_ref(g->rt);
    fl->cf = cfl;
    fl->g = g;
    memcpy(fl->subject_ref, q->subject_ref, sizeof(fl->subject_ref));
    snprintf(fl->query_id, sizeof(fl->query_id), "%s", q->query_id);
    snprintf(fl->key, sizeof(fl->key), "%s", key);
    memcpy(fl->subject_id, q->subject_id, sizeof(fl->subject_id));
    fl->subject_name = gw_strdup(q->subject_name ? q->subject_name : "");
    fl->deadline_ms = q->deadline_at;
    fl->max_age_ms = q->max_age_ms;
    g->flight = fl;
    query_flight_begin(fl);
    break;
  }
  }
}

static void query_start(struct query *q);

void query_start_recheck(struct gw_req *req, struct gw_app *app, struct gw_gen *gen,
                         const struct query_spec *spec, struct qpreds *preds,
                         struct gw_recheck *rc)
{
  struct query *q = gw_calloc(1, sizeof(*q));
  const struct gw_catalogue *prev = gw_catalogue_use(gen->catalogue);
  q->magic = QUERY_MAGIC;
  q->req = req;
  q->app = app;
  q->gen = gen;
  q->w = gw_worker_current();
  q->recheck = rc;
  snprintf(q->client, sizeof(q->client), "%s", spec->client);
  snprintf(q->purpose, sizeof(q->purpose), "%s", spec->purpose);
  snprintf(q->case_ref, sizeof(q->case_ref), "%s", spec->case_ref ? spec->case_ref : "");
  memcpy(q->subject_id, spec->subject_id, sizeof(q->subject_id));
  q->subject_name = gw_strdup(spec->subject_name);
  for(size_t i = 0; i < spec->n_facts && i < QUERY_MAX_FACTS; i++) {
    const struct gw_fact_def *def = gw_fact_find(spec->facts[i]);
    if(def)
      q->facts[q->n_facts++].name = def->name;
  }
  q->preds = *preds;                 /* moved */
  preds->n = 0;
  q->deadline_ms = spec->deadline_ms;
  q->max_age_ms = 0;                 /* a re-check never reads the cache */
  if(!q->w) {
    gw_req_problem(req, 503, "not-ready", "no worker context");
    query_free(q);
  }
  else
    query_start(q);
  gw_catalogue_use(prev);
}

void gw_query_handle(struct gw_req *req, void *arg)
{
  struct gw_app *app = arg;
  struct gw_worker_ctx *w = gw_worker_current();
  const char *client = gw_req_client(req);
  const char *ctype;
  const char *body;
  size_t len, ctlen;
  struct query *q;
  struct gw_gen *gen = gw_gen_acquire(app->gens);
  const struct gw_catalogue *prev;

  if(!(gw_acl_roles(gen->acl, client) & GW_ROLE_CLIENT)) {
    gw_req_problem(req, 403, "forbidden", "this client may not query facts");
    gw_gen_release(gen);
    return;
  }
  ctype = gw_req_header(req, "content-type", &ctlen);
  if(!ctype || ctlen < 16 || strncasecmp(ctype, "application/json", 16) ||
     (ctlen > 16 && ctype[16] != ';' && ctype[16] != ' ')) {
    gw_req_problem(req, 415, "unsupported-media-type", "send the query as application/json");
    gw_gen_release(gen);
    return;
  }
  if(!w) {
    gw_req_problem(req, 503, "not-ready", "no worker context");
    gw_gen_release(gen);
    return;
  }
  q = gw_calloc(1, sizeof(*q));
  q->magic = QUERY_MAGIC;
  q->req = req;
  q->app = app;
  q->w = w;
  q->gen = gen;                      /* the query's from here on */
  snprintf(q->client, sizeof(q->client), "%s", client);
  body = gw_req_body(req, &len);
  /* every name is looked up in this generation's catalogue */
  prev = gw_catalogue_use(gen->catalogue);
  if(parse_request(q, body, len)) {
    query_free(q);
    goto out;
  }
  if(!gw_acl_purpose_allowed(gen->acl, client, q->purpose)) {
    gw_req_problem(req, 403, "purpose-not-allowed",
                   "this client may not state that purpose");
    query_free(q);
    goto out;
  }
  query_start(q);
out:
  gw_catalogue_use(prev);
}

/* From a parsed, permitted query to its fetches: ids, the plan, the timer. */
static void query_start(struct query *q)
{
  struct gw_app *app = q->app;
  struct gw_req *req = q->req;
  struct gw_worker_ctx *w = q->w;
  const char *client = q->client;
  char rhex[25];

  (void)gw_randid_hex(rhex, 12);
  snprintf(q->query_id, sizeof(q->query_id), "q_%s", rhex);
  if(gw_subject_ref_keyed(app->subject_mac, q->subject_id, q->subject_ref) || subject_key(q)) {
    gw_req_problem(req, 500, "internal", "cannot compute the subject reference");
    query_free(q);
    return;
  }
  q->started_ms = wall_ms();
  q->deadline_at = gw_policy_now_ms() + q->deadline_ms;
  q->deadline = evtimer_new(w->base, on_deadline, q);
  q->done_ev = event_new(w->base, -1, 0, on_done_event, q);

  for(size_t i = 0; i < q->n_facts; i++)
    q->facts[i].allowed = gw_acl_fact_allowed(q->gen->acl, client, q->purpose, q->facts[i].name);
  if(q->preds.n) {
    qpred_authorize(&q->preds, app, q->gen->acl, client, q->purpose, q->subject_ref, q->started_ms);
    for(size_t i = 0; i < q->preds.n; i++)
      for(size_t k = 0; !q->preds.p[i].denied && k < q->preds.p[i].def->n_facts; k++)
        q->preds.p[i].slot[k] = query_slot(q, q->preds.p[i].def->facts[k]);
  }
  /* plan: facts onto adapters, one group per adapter */
  for(size_t i = 0; i < q->n_facts; i++) {
    struct qfact *f = &q->facts[i];
    struct gw_adapter_rt *rt;
    if(!f->allowed && !f->feeds)
      continue;
    rt = gw_gen_rt_for_fact(q->gen, f->name);
    if(!rt)
      continue;
    for(size_t k = 0; k < rt->adapter->n_facts; k++)
      if(!strcmp(rt->adapter->facts[k], f->name))
        f->index = k;
    for(size_t gi = 0; gi < q->n_groups; gi++)
      if(q->groups[gi].rt == rt)
        f->g = &q->groups[gi];
    if(!f->g) {
      f->g = &q->groups[q->n_groups++];
      f->g->q = q;
      f->g->rt = rt;
      f->g->state = G_PENDING;
    }
  }
  (void)query_state_set(q, QS_WAITING);   /* NEW: legal by construction */
  {
    struct timeval tv = { (time_t)(q->deadline_ms / 1000),
                          (suseconds_t)((q->deadline_ms % 1000) * 1000) };
    evtimer_add(q->deadline, &tv);
  }
  for(size_t gi = 0; gi < q->n_groups; gi++)
    start_group(q, &q->groups[gi]);
  query_check_gathered(q);     /* every group a cache hit, or none at all */
}
