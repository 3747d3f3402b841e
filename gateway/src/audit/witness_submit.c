/*
 * witness_submit.c - the log's half of mutual witnessing: sends this
 * instance's latest checkpoint to every peer (c2sp.org/tlog-witness
 * add-checkpoint, mutual TLS through the upstream engine) and keeps the
 * cosignatures they return.  See gw/witness.h.
 *
 * The one idea: everything runs on one event loop (the daemon's main loop,
 * not a worker's), one call per peer at a time, each bounded by
 * timeout_ms; a peer that is down or refuses is retried at the next tick
 * and shows in the counters and the console, and nothing else waits.
 */
#include "gw/witness.h"
#include "witness_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "gw/alloc.h"
#include "gw/audit.h"
#include "gw/b64.h"
#include "gw/checkpoint.h"
#include "gw/log.h"
#include "gw/merkle.h"
#include "gw/upstream.h"

/* How often the latest checkpoint is looked at, ms. */
#define SUBMIT_TICK_MS 1000
/* 409 answers followed in one round (the peer's size, then the retry). */
#define SUBMIT_CONFLICTS_MAX 2
/* A witness's answer, bytes (cosignature lines, or a short reason). */
#define SUBMIT_ANSWER_MAX 8192

struct submit_peer {
  uint64_t old;                       /* the size it cosigned, as far as we know */
  struct gw_upstream_exchange *ex;    /* NULL: idle */
  char *refused;                      /* the note text it refused (not sent again) */
  size_t refused_len;
};

struct submit_call {
  struct witness_submit *s;
  size_t i;
  char *note;
  size_t len;
  uint64_t size;
  int conflicts;
};

struct witness_submit {
  struct gw_witness *w;
  struct gw_audit_log *log;
  struct event_base *base;
  struct gw_upstream *up;
  struct event *tick;
  struct submit_peer *peers;
  struct submit_call **calls;         /* in flight, per peer (freed on cancel) */
};

static void submit_send(struct witness_submit *s, struct submit_call *c, uint64_t old);

static size_t text_len_of(const char *note, size_t len)
{
  size_t t = 0;
  for(size_t i = 1; i < len; i++)
    if(note[i] == '\n' && note[i - 1] == '\n')
      t = i;
  return t;
}

static void call_free(struct submit_call *c)
{
  if(!c)
    return;
  gw_free(c->note);
  gw_free(c);
}

static void fail(struct witness_submit *s, size_t i, enum gw_log_level lvl, const char *why)
{
  struct witness_peer *p = &s->w->peers[i];
  witness_note_failure(s->w, i, why);
  gw_log(lvl, "witness_submit_failed", "peer %s: %s", p->gateway_id, why);
}

static void on_answer(struct gw_upstream_exchange *ex, const struct gw_upstream_result *res,
                      void *arg)
{
  struct submit_call *c = arg;
  struct witness_submit *s = c->s;
  size_t i = c->i, tl;
  char why[256];
  const char *body = (const char *)res->body, *nl;
  (void)ex;

  s->peers[i].ex = NULL;
  s->calls[i] = NULL;
  if(res->outcome != GW_UP_OK) {
    snprintf(why, sizeof(why), "%s%s%s", gw_upstream_outcome_name(res->outcome),
             res->detail[0] ? ": " : "", res->detail);
    fail(s, i, GW_LOG_WARN, why);
    goto out;
  }
  tl = text_len_of(c->note, c->len);
  if(res->status == 200) {
    nl = memchr(body, '\n', res->body_len);
    if(!nl || gw_witness_accept_cosignature(s->w, i, c->note, tl, body, (size_t)(nl - body), why,
                                            sizeof(why))) {
      if(!nl)
        snprintf(why, sizeof(why), "its answer holds no cosignature line");
      fail(s, i, GW_LOG_ERROR, why);
      goto out;
    }
    s->peers[i].old = c->size;
    gw_log(GW_LOG_DEBUG, "witness_cosigned", "peer %s cosigned size %llu",
           s->w->peers[i].gateway_id, (unsigned long long)c->size);
    goto out;
  }
  if(res->status == 409 && !strncmp(res->content_type, "text/x.tlog.size", 16)) {
    char *end;
    unsigned long long n = strtoull(body, &end, 10);
    if(end == body || *end != '\n') {
      fail(s, i, GW_LOG_WARN, "a 409 answer without a size");
      goto out;
    }
    if(n > c->size) {
      snprintf(why, sizeof(why), "it has cosigned size %llu of this log, which now has %llu: "
               "this log lost records", n, (unsigned long long)c->size);
      fail(s, i, GW_LOG_ERROR, why);
      s->peers[i].old = n;
      gw_free(s->peers[i].refused);       /* a verdict on this checkpoint too */
      s->peers[i].refused = gw_strndup(c->note, tl);
      s->peers[i].refused_len = tl;
      goto out;
    }
    s->peers[i].old = n;
    if(++c->conflicts <= SUBMIT_CONFLICTS_MAX) {
      submit_send(s, c, n);
      return;
    }
    fail(s, i, GW_LOG_WARN, "its size keeps changing");
    goto out;
  }
  if(res->status == 422 || res->status == 403 || res->status == 409) {
    /* A verdict on this checkpoint: asking again would be refused again. */
    gw_free(s->peers[i].refused);
    s->peers[i].refused = gw_strndup(c->note, tl);
    s->peers[i].refused_len = tl;
  }
  nl = memchr(body, '\n', res->body_len);
  snprintf(why, sizeof(why), "HTTP %ld: %.*s", res->status,
           (int)(nl ? (size_t)(nl - body) : res->body_len > 160 ? 160 : res->body_len), body);
  fail(s, i, res->status == 422 || res->status == 403 || res->status == 409 ? GW_LOG_ERROR
                                                                            : GW_LOG_WARN, why);
out:
  call_free(c);
}

static void submit_send(struct witness_submit *s, struct submit_call *c, uint64_t old)
{
  const struct gw_witness_config *cfg = s->w->cfg;
  const struct gw_witness_peer_config *pc = &cfg->peers[c->i];
  struct gw_merkle_proof proof;
  struct gw_upstream_request rq;
  struct gw_upstream_header h = { "Content-Type", "text/plain; charset=utf-8", 0 };
  char url[GW_UP_MAX_URL_LEN], *body, why[160];
  size_t n = 0;
  enum gw_upstream_start_result sr;
  enum gw_audit_result ar;

  proof.len = 0;
  if(old && old < c->size) {
    ar = gw_audit_consistency_proof(s->log, old, c->size, &proof);
    if(ar != GW_AUDIT_OK) {
      snprintf(why, sizeof(why), "no consistency proof from %llu: %s", (unsigned long long)old,
               gw_audit_strerror(ar));
      fail(s, c->i, GW_LOG_ERROR, why);
      call_free(c);
      return;
    }
  }
  body = gw_malloc(32 + proof.len * 46 + c->len);
  n += (size_t)sprintf(body, "old %llu\n", (unsigned long long)old);
  for(size_t k = 0; k < proof.len; k++) {
    size_t l = 0;
    if(gw_b64_encode(GW_B64_STD, proof.hash[k], 32, body + n, 46, &l) != GW_B64_OK) {
      gw_free(body);
      call_free(c);
      return;
    }
    n += l;
    body[n++] = '\n';
  }
  body[n++] = '\n';
  memcpy(body + n, c->note, c->len);
  n += c->len;
  snprintf(url, sizeof(url), "%s/v1/audit/witness/add-checkpoint", pc->url);
  memset(&rq, 0, sizeof(rq));
  rq.url = url;
  rq.method = "POST";
  rq.headers = &h;
  rq.n_headers = 1;
  rq.body = body;
  rq.body_len = n;
  rq.tls.ca_file = cfg->ca;
  rq.tls.client_cert = cfg->client_cert;
  rq.tls.client_key = cfg->client_key;
  rq.timeout_ms = cfg->timeout_ms;
  rq.max_response_bytes = SUBMIT_ANSWER_MAX;
  rq.on_done = on_answer;
  rq.arg = c;
  sr = gw_upstream_start(s->up, &rq, &s->peers[c->i].ex);
  gw_free(body);
  if(sr != GW_UP_START_OK) {
    snprintf(why, sizeof(why), "the call cannot start (%d): check its url", (int)sr);
    fail(s, c->i, GW_LOG_ERROR, why);
    call_free(c);
    return;
  }
  s->calls[c->i] = c;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
  struct witness_submit *s = arg;
  struct gw_checkpoint cp;
  char *note = NULL;
  size_t len = 0, tl;

  (void)fd; (void)what;
  if(gw_audit_latest_checkpoint(s->log, &note, &len) != GW_AUDIT_OK)
    return;
  tl = text_len_of(note, len);
  if(!tl || gw_checkpoint_parse_body(note, tl, &cp) != GW_CHECKPOINT_OK) {
    gw_free(note);
    return;
  }
  for(size_t i = 0; i < s->w->n_peers; i++) {
    struct witness_peer *p = &s->w->peers[i];
    struct submit_call *c;
    int have;
    if(s->peers[i].ex)
      continue;
    pthread_mutex_lock(&s->w->mu);
    have = p->cos_text && p->cos_text_len == tl && !memcmp(p->cos_text, note, tl);
    pthread_mutex_unlock(&s->w->mu);
    if(have || (s->peers[i].refused && s->peers[i].refused_len == tl &&
                !memcmp(s->peers[i].refused, note, tl)))
      continue;
    witness_mark_stale(s->w, i);
    c = gw_calloc(1, sizeof(*c));
    c->s = s;
    c->i = i;
    c->note = gw_strndup(note, len);
    c->len = len;
    c->size = cp.size;
    if(s->peers[i].old > cp.size)
      s->peers[i].old = 0;          /* ask again: the witness says its size */
    submit_send(s, c, s->peers[i].old);
  }
  gw_free(note);
}

int gw_witness_submit_start(struct gw_witness *w, struct gw_audit_log *log,
                            struct event_base *base, char *err, size_t errlen)
{
  struct witness_submit *s;
  struct timeval tv = { SUBMIT_TICK_MS / 1000, (SUBMIT_TICK_MS % 1000) * 1000 };

  if(!w || w->submit)
    return w ? 0 : -1;
  s = gw_calloc(1, sizeof(*s));
  s->w = w;
  s->log = log;
  s->base = base;
  s->peers = gw_calloc(w->n_peers ? w->n_peers : 1, sizeof(*s->peers));
  s->calls = gw_calloc(w->n_peers ? w->n_peers : 1, sizeof(*s->calls));
  s->up = gw_upstream_new(base, NULL, err, errlen);
  s->tick = s->up ? event_new(base, -1, EV_PERSIST, on_tick, s) : NULL;
  if(!s->up || !s->tick || event_add(s->tick, &tv)) {
    if(s->up && !s->tick)
      snprintf(err, errlen, "cannot make the witness timer");
    if(s->tick)
      event_free(s->tick);
    gw_upstream_free(s->up);
    gw_free(s->peers);
    gw_free(s->calls);
    gw_free(s);
    return -1;
  }
  w->submit = s;
  return 0;
}

void gw_witness_submit_stop(struct gw_witness *w)
{
  struct witness_submit *s = w ? w->submit : NULL;
  if(!s)
    return;
  event_free(s->tick);
  for(size_t i = 0; i < w->n_peers; i++) {
    if(s->peers[i].ex)
      gw_upstream_cancel(s->peers[i].ex);
    call_free(s->calls[i]);
    gw_free(s->peers[i].refused);
  }
  gw_upstream_free(s->up);
  gw_free(s->peers);
  gw_free(s->calls);
  gw_free(s);
  w->submit = NULL;
}
