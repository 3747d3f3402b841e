/*
 * query_shared.c - the second cache level: a flight asks Redis before it
 * asks the agency.
 *
 * A local miss made this instance the leader of a local flight (one per
 * key per instance, whatever the number of waiting requests).  The leader
 * then claims the key cluster-wide in one round trip (gw_cluster_claim):
 *
 *   value  another instance fetched it: open, decode, check its age
 *          against the query's max_age, end the local flight with it
 *   lease  we fetch; when done the value is published under our fencing
 *          token (or the lease given back if the fetch failed)
 *   busy   another instance fetches: look again every wait_poll_ms, and
 *          when its lease lapses (it died) the next claim gets the lease;
 *          near our own deadline, fetch ourselves
 *   failed Redis is gone, slow or wrong: fetch ourselves, counted
 *
 * Waiting is bounded by the flight's own deadline: past it the flight
 * fetches itself rather than fail (a fetch that then times out fails as it
 * would have without Redis).  Nothing here blocks the loop.
 *
 * The shared form of an answer is the cached form (facts, values, the
 * attestations this cluster signed) as JSON, sealed by gw_cluster_seal
 * before it leaves the process.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "gw/alloc.h"
#include "gw/app.h"
#include "gw/cluster.h"
#include "gw/log.h"
#include "gw/policy.h"

#include "query_int.h"

#define SHARED_MAX_DETAIL 191
#define SHARED_MAX_BYTES (1024 * 1024)   /* an opened value larger than this is refused */

static const char *const signatures[] = { "none", "xmldsig", "jws", "sm2" };

static int64_t wall_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the shared form ------------------------------------------------------------- */

void query_cached_free(void *p)
{
  struct cached_fetch *cf = p;
  for(size_t i = 0; i < cf->n; i++) {
    free(cf->facts[i].value);   /* json_dumps() storage or a malloc copy */
    gw_free(cf->facts[i].attestation);
    gw_free(cf->facts[i].attestation_sm2);
  }
  gw_free(cf->adapter_id);
  gw_free(cf->agency);
  gw_free(cf);
}

char *query_cached_encode(const struct cached_fetch *cf, int negative, size_t *len)
{
  json_t *o = json_object(), *facts = json_array();
  char *text, *out;
  for(size_t i = 0; i < cf->n; i++) {
    const struct cached_fact *c = &cf->facts[i];
    json_t *f = json_pack("{s:i, s:i, s:s}", "s", (int)c->status, "e", (int)c->error, "d",
                          c->detail);
    if(c->value && c->attestation) {
      json_object_set_new(f, "v", json_stringn(c->value, c->value_len));
      /* the JWS without its quotes */
      json_object_set_new(f, "j", json_stringn(c->attestation + 1, c->attestation_len - 2));
      json_object_set_new(f, "h", json_string(c->attestation_sha256));
      if(c->attestation_sm2)     /* dual: the GmSM2 JWS, without its quotes */
        json_object_set_new(f, "j2", json_stringn(c->attestation_sm2 + 1,
                                                  c->attestation_sm2_len - 2));
    }
    json_array_append_new(facts, f);
  }
  json_object_set_new(o, "a", json_string(cf->adapter_id));
  json_object_set_new(o, "av", json_integer(cf->adapter_version));
  json_object_set_new(o, "g", json_string(cf->agency));
  json_object_set_new(o, "sig", json_string(cf->signature ? cf->signature : "none"));
  json_object_set_new(o, "t", json_integer((json_int_t)cf->fetched_at));
  json_object_set_new(o, "neg", json_boolean(negative));
  json_object_set_new(o, "f", facts);
  text = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  if(!text)
    return NULL;
  *len = strlen(text);
  out = gw_malloc(*len + 1);
  memcpy(out, text, *len + 1);
  OPENSSL_cleanse(text, *len);
  free(text);
  return out;
}

struct cached_fetch *query_cached_decode(const char *text, size_t len,
                                         const struct gw_adapter *a, int *negative,
                                         size_t *bytes)
{
  json_t *o, *facts, *f;
  struct cached_fetch *cf = NULL;
  const char *sig;
  size_t i, total;

  if(len > SHARED_MAX_BYTES)
    return NULL;
  o = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
  if(!o)
    return NULL;
  facts = json_object_get(o, "f");
  sig = json_string_value(json_object_get(o, "sig"));
  if(!json_is_array(facts) || json_array_size(facts) != a->n_facts ||
     json_array_size(facts) > GW_ADAPTER_MAX_FACTS || !sig ||
     !json_is_integer(json_object_get(o, "t")) ||
     json_integer_value(json_object_get(o, "av")) != a->version ||
     !json_string_value(json_object_get(o, "a")) ||
     strcmp(json_string_value(json_object_get(o, "a")), a->id))
    goto bad;
  cf = gw_calloc(1, sizeof(*cf));
  total = sizeof(*cf);
  cf->adapter_id = gw_strdup(a->id);
  cf->adapter_version = a->version;
  cf->agency = gw_strdup(a->agency);
  cf->fetched_at = (int64_t)json_integer_value(json_object_get(o, "t"));
  cf->signature = NULL;
  for(i = 0; i < sizeof(signatures) / sizeof(signatures[0]); i++)
    if(!strcmp(sig, signatures[i]))
      cf->signature = signatures[i];
  if(!cf->signature)
    goto bad;
  *negative = json_is_true(json_object_get(o, "neg"));
  json_array_foreach(facts, i, f) {
    struct cached_fact *c = &cf->facts[i];
    json_t *s = json_object_get(f, "s"), *e = json_object_get(f, "e");
    const char *d = json_string_value(json_object_get(f, "d"));
    const char *v = json_string_value(json_object_get(f, "v"));
    const char *j = json_string_value(json_object_get(f, "j"));
    const char *h = json_string_value(json_object_get(f, "h"));
    cf->n = i + 1;
    if(!json_is_integer(s) || !json_is_integer(e) || !d ||
       json_integer_value(s) < GW_FACT_OK || json_integer_value(s) > GW_FACT_DENIED ||
       json_integer_value(e) < GW_FERR_NONE || json_integer_value(e) > GW_FERR_RATE_LIMITED)
      goto bad;
    c->status = (enum gw_fact_status)json_integer_value(s);
    c->error = (enum gw_fact_error)json_integer_value(e);
    snprintf(c->detail, sizeof(c->detail), "%.*s", SHARED_MAX_DETAIL, d);
    if(c->status == GW_FACT_OK) {
      size_t vl, jl;
      if(!v || !j || !h || strlen(h) != 64)
        goto bad;
      vl = json_string_length(json_object_get(f, "v"));
      jl = json_string_length(json_object_get(f, "j"));
      if(strlen(j) != jl || strcspn(j, "\"\\") != jl)
        goto bad;
      c->value = malloc(vl + 1);
      if(!c->value)
        goto bad;
      memcpy(c->value, v, vl + 1);
      c->value_len = vl;
      c->attestation = gw_malloc(jl + 3);
      c->attestation[0] = '"';
      memcpy(c->attestation + 1, j, jl);
      c->attestation[jl + 1] = '"';
      c->attestation[jl + 2] = '\0';
      c->attestation_len = jl + 2;
      memcpy(c->attestation_sha256, h, 65);
      total += c->attestation_len + c->value_len + 64;
      if(json_object_get(f, "j2")) {
        const char *j2 = json_string_value(json_object_get(f, "j2"));
        size_t j2l = j2 ? json_string_length(json_object_get(f, "j2")) : 0;
        if(!j2 || strlen(j2) != j2l || strcspn(j2, "\"\\") != j2l)
          goto bad;
        c->attestation_sm2 = gw_malloc(j2l + 3);
        c->attestation_sm2[0] = '"';
        memcpy(c->attestation_sm2 + 1, j2, j2l);
        c->attestation_sm2[j2l + 1] = '"';
        c->attestation_sm2[j2l + 2] = '\0';
        c->attestation_sm2_len = j2l + 2;
        total += c->attestation_sm2_len;
      }
    }
  }
  json_decref(o);
  *bytes = total;
  return cf;

bad:
  json_decref(o);
  if(cf)
    query_cached_free(cf);
  return NULL;
}

/* ---- the flight's shared steps --------------------------------------------------------- */

static void claim(struct flight *fl);

static void fallback(struct flight *fl, enum gw_cluster_fallback why)
{
  gw_cluster_count_fallback(fl->app->cluster, why);
  if(gw_log_enabled(GW_LOG_DEBUG))
    gw_log(GW_LOG_DEBUG, "cluster_fallback", "%s: %s", fl->query_id,
           gw_cluster_fallback_name(why));
  query_flight_fetch(fl);
}

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
  (void)fd; (void)what;
  claim(arg);
}

static void on_claimed(const struct gw_claim_result *res, void *arg)
{
  struct flight *fl = arg;
  fl->op = NULL;
  switch(res->status) {
  case GW_CLAIM_VALUE: {
    const struct gw_adapter *a = fl->rt->adapter;
    int negative = 0;
    size_t bytes = 0;
    struct cached_fetch *cf = query_cached_decode((const char *)res->plain, res->plain_len, a,
                                                  &negative, &bytes);
    int64_t now = wall_ms(), at;
    if(!cf) {
      gw_log(GW_LOG_WARN, "cluster_bad_value", "%s: a shared answer does not decode",
             fl->query_id);
      fallback(fl, GW_CF_BAD_VALUE);
      return;
    }
    at = cf->fetched_at * 1000;
    if(fl->max_age_ms <= 0 || now - at > fl->max_age_ms ||
       now >= at + (int64_t)(negative ? a->negative_ttl_s : a->ttl_s) * 1000) {
      /* older than this query accepts: a fetch of our own, under a lease */
      query_cached_free(cf);
      fl->skip_value = 1;
      claim(fl);
      return;
    }
    query_flight_shared_value(fl, cf, bytes, negative);
    return;
  }
  case GW_CLAIM_LEASE:
    fl->token = res->token;
    query_flight_fetch(fl);
    return;
  case GW_CLAIM_BUSY: {
    uint64_t now = gw_policy_now_ms(), poll = (uint64_t)gw_cluster_poll_ms(fl->app->cluster);
    struct timeval tv = { (time_t)(poll / 1000), (suseconds_t)((poll % 1000) * 1000) };
    /* Near the deadline: the holder is slow or gone, its lease still
     * there; fetch ourselves with what is left. */
    if(now + poll >= fl->wait_until_ms) {
      fallback(fl, GW_CF_WAIT_DEADLINE);
      return;
    }
    if(!fl->poll)
      fl->poll = evtimer_new(fl->w->base, on_poll, fl);
    if(!fl->poll) {
      fallback(fl, GW_CF_UNAVAILABLE);
      return;
    }
    evtimer_add(fl->poll, &tv);
    return;
  }
  case GW_CLAIM_FAILED:
  default:
    fallback(fl, res->why);
    return;
  }
}

static void claim(struct flight *fl)
{
  uint64_t now = gw_policy_now_ms();
  /* The lease lasts as long as our fetch may: past it, another instance
   * may take over (we are presumed dead). */
  int64_t lease = fl->deadline_ms > now ? (int64_t)(fl->deadline_ms - now) + 250 : 250;
  fl->op = gw_cluster_claim(fl->app->cluster, fl->w->redis, fl->key,
                            fl->skip_value || fl->max_age_ms <= 0, lease, on_claimed, fl);
  if(!fl->op)
    fallback(fl, GW_CF_UNAVAILABLE);
}

void query_flight_begin(struct flight *fl)
{
  uint64_t now = gw_policy_now_ms(), left = fl->deadline_ms > now ? fl->deadline_ms - now : 0;
  /* While another instance's lease lives, wait for its answer: that is the
   * one agency call per miss.  Only the last quarter of the deadline (at
   * most a second) is kept for a fetch of our own, should its holder be
   * alive but too slow; a dead holder's lease lapses and the next look
   * gets it. */
  fl->wait_until_ms = fl->deadline_ms - (left / 4 < 1000 ? left / 4 : 1000);
  if(!fl->app->cluster || !fl->w->redis) {
    query_flight_fetch(fl);
    return;
  }
  claim(fl);
}

void query_flight_share(struct flight *fl, const struct cached_fetch *cf, int negative,
                        int failed)
{
  const struct gw_adapter *a = fl->rt->adapter;
  int64_t ttl_ms = (int64_t)(negative ? a->negative_ttl_s : a->ttl_s) * 1000;
  char *text;
  size_t len = 0;

  if(!fl->token || !fl->app->cluster || !fl->w->redis)
    return;
  if(failed || ttl_ms <= 0) {
    gw_cluster_release(fl->app->cluster, fl->w->redis, fl->key, fl->token);
    return;
  }
  text = query_cached_encode(cf, negative, &len);
  if(!text) {
    gw_cluster_release(fl->app->cluster, fl->w->redis, fl->key, fl->token);
    return;
  }
  /* What is left of the freshness, counted from the agency's answer. */
  ttl_ms -= wall_ms() - cf->fetched_at * 1000;
  if(ttl_ms > 0)
    gw_cluster_publish(fl->app->cluster, fl->w->redis, fl->key, fl->token,
                       (const unsigned char *)text, len, ttl_ms);
  else
    gw_cluster_release(fl->app->cluster, fl->w->redis, fl->key, fl->token);
  OPENSSL_cleanse(text, len);
  gw_free(text);
}
