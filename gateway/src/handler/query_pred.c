/*
 * query_pred.c - the predicates of one query (DESIGN section 3).
 *
 * The client asks "education.at_least(bachelor)", not for the degrees: the
 * gateway fetches the facts behind it (query.c, as hidden slots), evaluates
 * the rule (predicate_eval.c) and answers true, false or "unknown" with a
 * signed predicate attestation whose basis cites the SHA-256 of each fact
 * attestation it read; those attestations are in the log's fetch records,
 * so an auditor can recompute every answer and the client never holds the
 * values.
 *
 * The probing defence lives here too: a fixed list of args stops "age.under
 * every number", and asking one predicate about one subject with a
 * different arg inside the configured window is denied.  The table behind
 * it is per process, bounded (PROBE_SLOTS), keyed by SHA-256 of client,
 * subject_ref and predicate id (never the raw number), shared by the
 * workers under one mutex.
 */
#include "query_pred_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "acl.h"
#include "gw/alloc.h"
#include "gw/app.h"
#include "gw/attest.h"
#include "gw/b64.h"
#include "gw/config.h"

#define PROBE_SLOTS 65536             /* remembered (client, subject, predicate) triples */
#define PROBE_SPAN 8                  /* linear probing distance */
#define PRED_TTL_S 86400              /* a predicate attestation holds for a day */

/* ---- parsing ------------------------------------------------------------- */

int qpred_parse(struct qpreds *ps, const struct gw_predset *set, const json_t *arr,
                char *detail, size_t detail_len)
{
  size_t i;
  json_t *item;

  if(!arr)
    return 0;
  if(!json_is_array(arr) || !json_array_size(arr) || json_array_size(arr) > QUERY_MAX_PREDICATES) {
    snprintf(detail, detail_len, "predicates: must be an array of 1 to %d {\"id\", \"arg\"} objects",
             QUERY_MAX_PREDICATES);
    return -1;
  }
  json_array_foreach(arr, i, item) {
    struct qpred *p = &ps->p[ps->n];
    const char *key, *id;
    json_t *v, *arg;
    if(!json_is_object(item)) {
      snprintf(detail, detail_len, "predicates[%zu]: must be an object with id and, for some, arg", i);
      return -1;
    }
    json_object_foreach(item, key, v)
      if(strcmp(key, "id") && strcmp(key, "arg")) {
        snprintf(detail, detail_len, "predicates[%zu].%.32s: unknown field", i, key);
        return -1;
      }
    id = json_string_value(json_object_get(item, "id"));
    if(!id || !(p->def = gw_predset_find(set, id))) {
      snprintf(detail, detail_len,
               "predicates[%zu].id: not a predicate the gateway defines (docs/predicates.md)", i);
      return -1;
    }
    arg = json_object_get(item, "arg");
    if(gw_pred_arg_index(p->def, arg) < 0) {
      char *list = p->def->args ? json_dumps(p->def->args, JSON_COMPACT) : NULL;
      if(list)
        snprintf(detail, detail_len, "predicates[%zu].arg: %s takes one of %s", i, id, list);
      else
        snprintf(detail, detail_len, "predicates[%zu].arg: %s takes no argument", i, id);
      free(list);
      return -1;
    }
    if(gw_pred_key(p->def, arg, p->key, sizeof(p->key))) {
      snprintf(detail, detail_len, "predicates[%zu]: too long", i);
      return -1;
    }
    for(size_t j = 0; j < ps->n; j++)
      if(!strcmp(ps->p[j].key, p->key)) {
        snprintf(detail, detail_len, "predicates[%zu]: %s is listed twice", i, p->key);
        return -1;
      }
    p->arg = arg ? json_incref(arg) : NULL;
    for(size_t k = 0; k < GW_PRED_MAX_FACTS; k++)
      p->slot[k] = -1;
    p->result = GW_PRED_UNKNOWN;
    ps->n++;
  }
  return 0;
}

void qpred_free(struct qpreds *ps)
{
  for(size_t i = 0; i < ps->n; i++) {
    json_decref(ps->p[i].arg);
    gw_free(ps->p[i].attestation);
    gw_free(ps->p[i].attestation_sm2);
  }
  ps->n = 0;
}

/* ---- the probing defence ------------------------------------------------- */

struct probe_slot {
  unsigned char key[32];
  int arg_index;
  int64_t expires_ms;                 /* 0: empty */
};

static pthread_mutex_t probe_lock = PTHREAD_MUTEX_INITIALIZER;
static struct probe_slot *probe_table;

/* 0: allowed (and remembered); 1: a different arg was asked inside the window. */
static int probe_check(const char *client, const char *subject_ref, const char *id, int arg_index,
                       int64_t now_ms, int64_t window_ms)
{
  unsigned char key[32];
  EVP_MD_CTX *c = EVP_MD_CTX_new();
  size_t base, pick = SIZE_MAX;
  int denied = 0;

  EVP_DigestInit_ex(c, EVP_sha256(), NULL);
  EVP_DigestUpdate(c, client, strlen(client) + 1);
  EVP_DigestUpdate(c, subject_ref, strlen(subject_ref) + 1);
  EVP_DigestUpdate(c, id, strlen(id) + 1);
  EVP_DigestFinal_ex(c, key, NULL);
  EVP_MD_CTX_free(c);
  base = ((size_t)key[0] << 8 | key[1]) % PROBE_SLOTS;

  pthread_mutex_lock(&probe_lock);
  if(!probe_table)
    probe_table = gw_calloc(PROBE_SLOTS, sizeof(*probe_table));
  for(size_t k = 0; k < PROBE_SPAN; k++) {
    struct probe_slot *s = &probe_table[(base + k) % PROBE_SLOTS];
    if(s->expires_ms > now_ms && !memcmp(s->key, key, 32)) {
      if(s->arg_index != arg_index)
        denied = 1;
      else
        s->expires_ms = now_ms + window_ms;
      pick = SIZE_MAX;
      goto out;
    }
    /* the first free slot, else the one closest to expiry */
    if(pick == SIZE_MAX || s->expires_ms < probe_table[pick].expires_ms)
      pick = (base + k) % PROBE_SLOTS;
  }
out:
  if(!denied && pick != SIZE_MAX) {
    memcpy(probe_table[pick].key, key, 32);
    probe_table[pick].arg_index = arg_index;
    probe_table[pick].expires_ms = now_ms + window_ms;
  }
  pthread_mutex_unlock(&probe_lock);
  return denied;
}

void qpred_authorize(struct qpreds *ps, struct gw_app *app, const struct gw_acl *acl,
                     const char *client,
                     const char *purpose, const char *subject_ref, int64_t now_ms)
{
  int64_t window_ms = (int64_t)app->cfg->predicate_probe_window_s * 1000;

  for(size_t i = 0; i < ps->n; i++) {
    struct qpred *p = &ps->p[i];
    if(!gw_pred_purpose_allowed(p->def, purpose)) {
      p->denied = 1;
      snprintf(p->deny_reason, sizeof(p->deny_reason),
               "%s may not be asked for purpose %s", p->def->id, purpose);
    }
    else if(!gw_acl_predicate_allowed(acl, client, purpose, p->def->id)) {
      p->denied = 1;
      snprintf(p->deny_reason, sizeof(p->deny_reason),
               "not allowed for this client and purpose");
    }
    else if(p->def->args && window_ms > 0 &&
            probe_check(client, subject_ref, p->def->id, gw_pred_arg_index(p->def, p->arg),
                        now_ms, window_ms)) {
      p->denied = 1;
      snprintf(p->deny_reason, sizeof(p->deny_reason),
               "%s was asked about this subject with a different argument within the last "
               "%d s; one argument per subject and window (probing defence)",
               p->def->id, app->cfg->predicate_probe_window_s);
    }
  }
}

/* ---- evaluation ------------------------------------------------------------ */

/* Signs p's attestation (and, in dual, its GmSM2 twin into
 * p->attestation_sm2); the JWS or NULL with err. */
static char *attest(struct qpred *p, const struct gw_attest_signer *signer,
                    const char *subject_ref, int64_t now_s, char *err, size_t errlen)
{
  json_t *pl = json_object(), *pd = json_object(), *basis = json_array();
  char *jws;

  json_object_set_new(pd, "id", json_string(p->def->id));
  json_object_set_new(pd, "version", json_integer(p->def->version));
  json_object_set_new(pd, "sha256", json_string(p->def->sha256));
  for(size_t i = 0; i < p->n_basis; i++)
    json_array_append_new(basis, json_string(p->basis[i]));
  json_object_set_new(pl, "sub", json_string(subject_ref));
  json_object_set_new(pl, "predicate", pd);
  json_object_set_new(pl, "arg", p->arg ? json_incref(p->arg) : json_null());
  json_object_set_new(pl, "result", json_boolean(p->result == GW_PRED_TRUE));
  json_object_set_new(pl, "as_of", json_string(p->as_of));
  json_object_set_new(pl, "iat", json_integer(now_s));
  json_object_set_new(pl, "exp", json_integer(now_s + PRED_TTL_S));
  json_object_set_new(pl, "basis", basis);
  jws = gw_attest_make_typed(signer, GW_ATTEST_PREDICATE_TYP, pl, &p->attestation_sm2, err,
                             errlen);
  json_decref(pl);
  return jws;
}

int qpred_evaluate(struct qpreds *ps, const struct qpred_fact *facts, size_t n_facts,
                   const struct gw_attest_signer *signer, const char *subject_ref, int64_t now_s)
{
  int definitive = 1;
  char as_of[11];

  gw_pred_date_cst(now_s, as_of);
  for(size_t i = 0; i < ps->n; i++) {
    struct qpred *p = &ps->p[i];
    struct gw_pred_input in[GW_PRED_MAX_FACTS];
    json_t *vals[GW_PRED_MAX_FACTS] = { NULL };
    size_t n_in = 0;

    memcpy(p->as_of, as_of, sizeof(as_of));
    if(p->denied) {
      definitive = 0;
      continue;
    }
    p->n_basis = 0;
    for(size_t k = 0; k < p->def->n_facts; k++) {
      const struct qpred_fact *f = p->slot[k] >= 0 && (size_t)p->slot[k] < n_facts
                                   ? &facts[p->slot[k]] : NULL;
      in[n_in].fact = p->def->facts[k];
      in[n_in].value = NULL;
      p->src_agency[k] = f ? f->agency : NULL;
      if(!f || (f->status == GW_PRED_FACT_UNAVAILABLE && !f->agency))
        p->unserved = 1;
      if(!f) {
        /* a fact nothing serves yet: unknown, never false */
        in[n_in].status = GW_PRED_FACT_UNAVAILABLE;
        if(p->error == GW_FERR_NONE) {
          p->error = GW_FERR_TRANSPORT;
          p->agency = NULL;
        }
      }
      else {
        in[n_in].status = f->status;
        if(f->status == GW_PRED_FACT_OK) {
          vals[k] = json_loadb(f->value_json, f->value_len, JSON_DECODE_ANY, NULL);
          in[n_in].value = vals[k];
          if(!vals[k])
            in[n_in].status = GW_PRED_FACT_UNAVAILABLE;
          else if(f->attestation_sha256)
            snprintf(p->basis[p->n_basis++], 65, "%s", f->attestation_sha256);
        }
        else if(f->status == GW_PRED_FACT_UNAVAILABLE && p->error == GW_FERR_NONE) {
          p->error = f->error != GW_FERR_NONE ? f->error : GW_FERR_TRANSPORT;
          p->agency = f->agency;
        }
      }
      n_in++;
    }
    p->result = gw_pred_eval(p->def, p->arg, in, n_in, as_of, p->why, sizeof(p->why));
    for(size_t k = 0; k < GW_PRED_MAX_FACTS; k++)
      json_decref(vals[k]);
    if(p->result == GW_PRED_UNKNOWN) {
      definitive = 0;
      if(p->unserved)
        snprintf(p->why, sizeof(p->why), "no adapter serves a fact %s reads yet (%s%s%s)",
                 p->def->id, p->def->facts[0], p->def->n_facts > 1 ? ", " : "",
                 p->def->n_facts > 1 ? p->def->facts[1] : "");
      if(p->error == GW_FERR_NONE)
        p->error = GW_FERR_BAD_RESPONSE;
      continue;
    }
    {
      char err[160];
      p->attestation = attest(p, signer, subject_ref, now_s, err, sizeof(err));
      if(!p->attestation) {
        p->result = GW_PRED_UNKNOWN;
        p->error = GW_FERR_BAD_RESPONSE;
        snprintf(p->why, sizeof(p->why), "attestation: %s", err);
        definitive = 0;
        continue;
      }
    }
    {
      unsigned char md[32];
      EVP_Digest(p->attestation, strlen(p->attestation), md, NULL, EVP_sha256(), NULL);
      gw_hex_encode(md, 32, p->attestation_sha256);
    }
  }
  return definitive;
}

/* ---- writing ------------------------------------------------------------------ */

static void write_result(struct gw_jw *w, const struct qpred *p)
{
  gw_jw_key(w, "result");
  if(p->result == GW_PRED_UNKNOWN || p->denied)
    gw_jw_str(w, "unknown");
  else
    gw_jw_bool(w, p->result == GW_PRED_TRUE);
}

static void write_basis(struct gw_jw *w, const struct qpred *p)
{
  char buf[GW_PRED_MAX_FACTS * 68 + 4];
  size_t n = 0;
  buf[n++] = '[';
  for(size_t i = 0; i < p->n_basis; i++)
    n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s\"%s\"", i ? "," : "", p->basis[i]);
  buf[n++] = ']';
  gw_jw_key(w, "basis");
  gw_jw_raw(w, buf, n);
}

static void write_error(struct gw_jw *w, const struct qpred *p)
{
  gw_jw_key(w, "error");
  gw_jw_open(w);
  if(p->denied) {
    gw_jw_kstr(w, "code", "denied");
    gw_jw_kstr(w, "detail", p->deny_reason);
  }
  else {
    if(p->agency)
      gw_jw_kstr(w, "agency", p->agency);
    gw_jw_kstr(w, "code", gw_fact_error_name(p->error));
    gw_jw_kstr(w, "detail", p->why);
  }
  gw_jw_close(w);
}

void qpred_write_answer(const struct qpreds *ps, struct gw_jw *w)
{
  gw_jw_key(w, "predicates");
  gw_jw_open(w);
  for(size_t i = 0; i < ps->n; i++) {
    const struct qpred *p = &ps->p[i];
    gw_jw_key(w, p->key);
    gw_jw_open(w);
    write_result(w, p);
    if(p->denied)
      gw_jw_kstr(w, "status", "denied");
    if(p->attestation) {
      gw_jw_kstr(w, "as_of", p->as_of);
      /* which agencies the answer rests on: names, never values */
      gw_jw_key(w, "sources");
      gw_jw_open(w);
      for(size_t k = 0; k < p->def->n_facts; k++)
        gw_jw_kstr(w, p->def->facts[k], p->src_agency[k] ? p->src_agency[k] : "");
      gw_jw_close(w);
      gw_jw_kstr(w, "attestation", p->attestation);
      if(p->attestation_sm2)
        gw_jw_kstr(w, "attestation_sm2", p->attestation_sm2);
    }
    else
      write_error(w, p);
    gw_jw_close(w);
  }
  gw_jw_close(w);
}

void qpred_write_record(const struct qpreds *ps, struct gw_jw *w)
{
  gw_jw_key(w, "predicates");
  gw_jw_open(w);
  for(size_t i = 0; i < ps->n; i++) {
    const struct qpred *p = &ps->p[i];
    gw_jw_key(w, p->key);
    gw_jw_open(w);
    gw_jw_key(w, "arg");
    if(p->arg) {
      char *a = json_dumps(p->arg, JSON_COMPACT | JSON_ENCODE_ANY);
      gw_jw_raw(w, a, strlen(a));
      free(a);
    }
    else
      gw_jw_null(w);
    gw_jw_kstr(w, "as_of", p->as_of);
    if(p->attestation) {
      gw_jw_kstr(w, "attestation", p->attestation);
      gw_jw_kstr(w, "attestation_sha256", p->attestation_sha256);
      if(p->attestation_sm2)
        gw_jw_kstr(w, "attestation_sm2", p->attestation_sm2);
    }
    write_basis(w, p);
    if(p->denied)
      gw_jw_kstr(w, "denied", p->deny_reason);
    else if(!p->attestation)
      gw_jw_kstr(w, "error", gw_fact_error_name(p->error));
    gw_jw_kstr(w, "id", p->def->id);
    write_result(w, p);
    gw_jw_kstr(w, "sha256", p->def->sha256);
    gw_jw_kint(w, "version", p->def->version);
    gw_jw_close(w);
  }
  gw_jw_close(w);
}
