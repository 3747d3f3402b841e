/*
 * evidence.c - GET /v1/cases/{case_ref}/evidence (see gw/evidence.h).
 *
 * The one idea: a bundle adds nothing a supervisor has to trust.  It is
 * the exact record bytes with their inclusion proofs to one signed
 * checkpoint, the checkpoint, its verifier key and the JWKS; the query
 * records cite every attestation by hash, so an attestation in the bundle
 * is either cited by a proven record or worthless.  A client sees only its
 * own queries of the case and only the fact attestations it was served
 * (fetch records would show it the values behind its predicates); an
 * auditor sees every query of the case and every fetch record cited.
 */
#include "gw/evidence.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "acl.h"
#include "gw/alloc.h"
#include "gw/app.h"
#include "gw/attest.h"
#include "gw/b64.h"
#include "gw/checkpoint.h"
#include "gw/front.h"
#include "gen.h"
#include "gw/merkle.h"

#define EVIDENCE_HASHES_MAX 1024          /* attestation hashes one case cites */
#define EVIDENCE_RETRY_S "5"

enum gw_audit_result gw_evidence_scan(struct gw_audit_log *log, uint64_t below, uint64_t max,
                                      int (*fn)(uint64_t index, const uint8_t *bytes,
                                                size_t len, void *arg),
                                      void *arg)
{
  uint64_t end = below, seen = 0;

  while(end > 0 && seen < max) {
    uint64_t count = GW_AUDIT_ENTRIES_MAX, start;
    struct gw_audit_entry *e = NULL;
    size_t n = 0;
    enum gw_audit_result r;
    if(count > end)
      count = end;
    if(count > max - seen)
      count = max - seen;
    start = end - count;
    r = gw_audit_get_entries(log, start, count, &e, &n);
    if(r != GW_AUDIT_OK)
      return r;
    if(n < count) {
      /* the byte cap cut the batch: keep what came, ask again below it */
      gw_audit_entries_free(e, n);
      count = n ? n : 1;
      start = end - count;
      r = gw_audit_get_entries(log, start, count, &e, &n);
      if(r != GW_AUDIT_OK)
        return r;
    }
    for(size_t i = n; i-- > 0;) {
      if(fn(e[i].index, e[i].data, e[i].len, arg)) {
        gw_audit_entries_free(e, n);
        return GW_AUDIT_OK;
      }
    }
    gw_audit_entries_free(e, n);
    seen += n;
    end = start;
  }
  return GW_AUDIT_OK;
}

/* ---- collecting one case ------------------------------------------------- */

struct wanted {
  char sha[65];
  int served;                 /* the client received this fact */
  char *attestation;          /* found in a fetch record (owned) */
  char *attestation_sm2;      /* dual: its GmSM2 twin from that record (owned) */
};

struct picked {
  uint64_t index;
  const char *kind;           /* "query" | "fetch" (static) */
  uint8_t *data;              /* owned copy */
  size_t len;
};

struct collect {
  const char *case_ref;
  char needle[96];            /* "case_ref":"X" */
  const char *client;
  int auditor;
  struct wanted want[EVIDENCE_HASHES_MAX];
  size_t n_want, n_found;
  struct picked rec[GW_EVIDENCE_RECORDS_MAX];
  size_t n_rec;
  int overflow;
};

static struct wanted *want_find(struct collect *c, const char *sha)
{
  for(size_t i = 0; i < c->n_want; i++)
    if(!strcmp(c->want[i].sha, sha))
      return &c->want[i];
  return NULL;
}

static void want_add(struct collect *c, const char *sha, int served)
{
  struct wanted *w;
  if(!sha || strlen(sha) != 64)
    return;
  if((w = want_find(c, sha))) {
    w->served |= served;
    return;
  }
  if(c->n_want == EVIDENCE_HASHES_MAX) {
    c->overflow = 1;
    return;
  }
  w = &c->want[c->n_want++];
  memcpy(w->sha, sha, 65);
  w->served = served;
}

static int keep(struct collect *c, uint64_t index, const char *kind, const uint8_t *bytes,
                size_t len)
{
  struct picked *p;
  if(c->n_rec == GW_EVIDENCE_RECORDS_MAX) {
    c->overflow = 1;
    return 1;
  }
  p = &c->rec[c->n_rec++];
  p->index = index;
  p->kind = kind;
  p->data = gw_malloc(len ? len : 1);
  memcpy(p->data, bytes, len);
  p->len = len;
  return 0;
}

static int on_record(uint64_t index, const uint8_t *bytes, size_t len, void *arg)
{
  struct collect *c = arg;
  json_t *doc, *facts, *preds, *v;
  const char *k;

  if(memmem(bytes, len, "\"kind\":\"query\"", 14) &&
     memmem(bytes, len, c->needle, strlen(c->needle))) {
    doc = json_loadb((const char *)bytes, len, 0, NULL);
    if(!doc)
      return 0;
    if(json_is_string(json_object_get(doc, "case_ref")) &&
       !strcmp(json_string_value(json_object_get(doc, "case_ref")), c->case_ref) &&
       (c->auditor || !strcmp(json_string_value(json_object_get(doc, "client")) ?
                              json_string_value(json_object_get(doc, "client")) : "", c->client))) {
      facts = json_object_get(doc, "facts");
      json_object_foreach(facts, k, v)
        want_add(c, json_string_value(json_object_get(v, "attestation_sha256")),
                 !json_is_true(json_object_get(v, "predicate_input")));
      preds = json_object_get(doc, "predicates");
      json_object_foreach(preds, k, v) {
        size_t i;
        json_t *b;
        json_array_foreach(json_object_get(v, "basis"), i, b)
          want_add(c, json_string_value(b), 0);
      }
      if(keep(c, index, "query", bytes, len)) {
        json_decref(doc);
        return 1;
      }
    }
    json_decref(doc);
    return 0;
  }
  if(c->n_found < c->n_want && memmem(bytes, len, "\"kind\":\"fetch\"", 14)) {
    int hit = 0;
    for(size_t i = 0; i < c->n_want && !hit; i++)
      hit = !c->want[i].attestation && memmem(bytes, len, c->want[i].sha, 64) != NULL;
    if(!hit)
      return 0;
    doc = json_loadb((const char *)bytes, len, 0, NULL);
    if(!doc)
      return 0;
    hit = 0;
    facts = json_object_get(doc, "facts");
    json_object_foreach(facts, k, v) {
      const char *sha = json_string_value(json_object_get(v, "attestation_sha256"));
      const char *att = json_string_value(json_object_get(v, "attestation"));
      const char *sm2 = json_string_value(json_object_get(v, "attestation_sm2"));
      struct wanted *w = sha && att ? want_find(c, sha) : NULL;
      if(w && !w->attestation) {
        w->attestation = gw_strdup(att);
        w->attestation_sm2 = sm2 ? gw_strdup(sm2) : NULL;
        c->n_found++;
        hit = 1;
      }
    }
    json_decref(doc);
    if(hit && c->auditor && keep(c, index, "fetch", bytes, len))
      return 1;
  }
  return 0;
}

static void collect_free(struct collect *c)
{
  for(size_t i = 0; i < c->n_want; i++) {
    gw_free(c->want[i].attestation);
    gw_free(c->want[i].attestation_sm2);
  }
  for(size_t i = 0; i < c->n_rec; i++)
    gw_free(c->rec[i].data);
}

/* ---- the handler ---------------------------------------------------------- */

static int valid_case_ref(const char *s, size_t n)
{
  if(!n || n > 64)
    return 0;
  for(size_t i = 0; i < n; i++) {
    char ch = s[i];
    if(!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
         ch == '.' || ch == '_' || ch == '-'))
      return 0;
  }
  return 1;
}

static json_t *b64_json(const void *data, size_t len)
{
  size_t cap = (len + 2) / 3 * 4 + 1, n = 0;
  char *out = gw_malloc(cap);
  json_t *j;
  if(gw_b64_encode(GW_B64_STD, data, len, out, cap, &n) != GW_B64_OK)
    n = 0;
  out[n] = '\0';
  j = json_string(out);
  gw_free(out);
  return j;
}

/* The request on one generation (its ACL and its signer's keys). */
static void evidence(struct gw_req *req, struct gw_app *app, const struct gw_gen *gen)
{
  static const char prefix[] = "/v1/cases/", suffix[] = "/evidence";
  const char *client = gw_req_client(req), *path = gw_req_path(req);
  unsigned roles = gw_acl_roles(gen->acl, client);
  struct collect *c = NULL;
  struct gw_checkpoint cp;
  char case_ref[65], *note = NULL, *vkey = NULL, *jwks = NULL;
  size_t plen = strlen(path), note_len = 0, n;
  enum gw_audit_result r;
  json_t *out, *records, *atts, *atts_sm2;

  if(!(roles & (GW_ROLE_CLIENT | GW_ROLE_AUDITOR))) {
    gw_req_problem(req, 403, "forbidden", "this client may not read case evidence");
    return;
  }
  if(plen <= sizeof(prefix) - 1 + sizeof(suffix) - 1 ||
     strcmp(path + plen - (sizeof(suffix) - 1), suffix) ||
     !valid_case_ref(path + sizeof(prefix) - 1, plen - (sizeof(prefix) - 1) - (sizeof(suffix) - 1))) {
    gw_req_problem(req, 404, "not-found",
                   "no such resource (GET /v1/cases/{case_ref}/evidence, case_ref 1 to 64 of "
                   "A-Z a-z 0-9 . _ -)");
    return;
  }
  if(gw_req_query(req)) {
    gw_req_problem(req, 400, "invalid-parameter", "this endpoint takes no parameters");
    return;
  }
  n = plen - (sizeof(prefix) - 1) - (sizeof(suffix) - 1);
  memcpy(case_ref, path + sizeof(prefix) - 1, n);
  case_ref[n] = '\0';
  if(!app->audit) {
    gw_req_problem(req, 503, "audit-unavailable", "this gateway has no audit log open");
    return;
  }
  r = gw_audit_latest_checkpoint(app->audit, &note, &note_len);
  if(r != GW_AUDIT_OK || gw_checkpoint_parse_body(note, note_len, &cp) != GW_CHECKPOINT_OK ||
     gw_audit_checkpoint_key(app->audit, &vkey) != GW_AUDIT_OK) {
    gw_req_set_header(req, "Retry-After", EVIDENCE_RETRY_S);
    gw_req_problem(req, 503, "no-checkpoint", "no signed checkpoint to prove the records to yet");
    goto out;
  }

  c = gw_calloc(1, sizeof(*c));
  c->case_ref = case_ref;
  c->client = client ? client : "";
  c->auditor = (roles & GW_ROLE_AUDITOR) != 0;
  snprintf(c->needle, sizeof(c->needle), "\"case_ref\":\"%s\"", case_ref);
  r = gw_evidence_scan(app->audit, gw_audit_size(app->audit), GW_EVIDENCE_SCAN_MAX, on_record, c);
  if(r != GW_AUDIT_OK) {
    gw_req_problem(req, 500, "internal", gw_audit_strerror(r));
    goto out;
  }
  {
    int queries = 0;
    uint64_t newest = 0;
    for(size_t i = 0; i < c->n_rec; i++) {
      queries += !strcmp(c->rec[i].kind, "query");
      if(c->rec[i].index >= newest)
        newest = c->rec[i].index;
    }
    if(!queries) {
      /* unknown and foreign cases look the same */
      gw_req_problem(req, 404, "not-found", "no evidence under this case reference");
      goto out;
    }
    if(c->overflow) {
      gw_req_problem(req, 413, "too-large", "the case has more records than one bundle holds");
      goto out;
    }
    if(newest >= cp.size) {
      if(gw_audit_checkpoint_async(app->audit) != GW_AUDIT_OK) {
        gw_req_problem(req, 503, "no-checkpoint", "the checkpoint could not be made");
        goto out;
      }
      gw_req_set_header(req, "Retry-After", EVIDENCE_RETRY_S);
      gw_req_problem(req, 503, "checkpoint-pending",
                     "the case's newest record is not under a signed checkpoint yet; one is "
                     "being made, ask again shortly");
      goto out;
    }
  }

  out = json_object();
  records = json_array();
  atts = json_array();
  atts_sm2 = json_array();
  for(size_t i = c->n_rec; i-- > 0;) {
    struct gw_merkle_proof proof;
    uint8_t leaf[GW_MERKLE_HASH_LEN];
    json_t *o, *pa;
    r = gw_audit_inclusion_proof(app->audit, c->rec[i].index, cp.size, leaf, &proof);
    if(r != GW_AUDIT_OK) {
      json_decref(out);
      json_decref(records);
      json_decref(atts);
      json_decref(atts_sm2);
      gw_req_problem(req, 500, "internal", gw_audit_strerror(r));
      goto out;
    }
    o = json_object();
    pa = json_array();
    for(size_t k = 0; k < proof.len; k++)
      json_array_append_new(pa, b64_json(proof.hash[k], GW_MERKLE_HASH_LEN));
    json_object_set_new(o, "index", json_integer((json_int_t)c->rec[i].index));
    json_object_set_new(o, "kind", json_string(c->rec[i].kind));
    json_object_set_new(o, "data", b64_json(c->rec[i].data, c->rec[i].len));
    json_object_set_new(o, "proof", pa);
    json_array_append_new(records, o);
  }
  for(size_t i = 0; i < c->n_want; i++)
    if(c->want[i].attestation && (c->want[i].served || c->auditor)) {
      json_array_append_new(atts, json_string(c->want[i].attestation));
      if(c->want[i].attestation_sm2)
        json_array_append_new(atts_sm2, json_string(c->want[i].attestation_sm2));
    }
  jwks = gw_attest_jwks(gen->signer);
  json_object_set_new(out, "case_ref", json_string(case_ref));
  json_object_set_new(out, "checkpoint", json_stringn(note, note_len));
  json_object_set_new(out, "checkpoint_key", json_string(vkey));
  json_object_set_new(out, "jwks", jwks ? json_loads(jwks, 0, NULL) : json_null());
  json_object_set_new(out, "tree_size", json_integer((json_int_t)cp.size));
  json_object_set_new(out, "records", records);
  json_object_set_new(out, "attestations", atts);
  /* dual: the GmSM2 twins, each over the payload of one of "attestations" */
  if(json_array_size(atts_sm2))
    json_object_set_new(out, "attestations_sm2", atts_sm2);
  else
    json_decref(atts_sm2);
  gw_req_set_header(req, "Cache-Control", "no-store");
  gw_req_respond_json(req, 200, out);
out:
  if(c) {
    collect_free(c);
    gw_free(c);
  }
  gw_free(jwks);
  gw_free(note);
  gw_free(vkey);
}

void gw_evidence_handle(struct gw_req *req, void *arg)
{
  struct gw_app *app = arg;
  struct gw_gen *gen = gw_gen_acquire(app->gens);
  evidence(req, app, gen);
  gw_gen_release(gen);
}
