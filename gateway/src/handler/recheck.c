/*
 * recheck.c - POST /v1/facts/recheck: post-approval re-checks (定期返查,
 * DESIGN section 3).
 *
 * The gateway finds the original query record in its log, asks the same
 * agencies again without the cache (query.c runs it as a query with
 * max_age 0), and answers per fact and per predicate `unchanged`,
 * `changed` (with the previous and the current attestation) or
 * `unavailable`.  The re-check is recorded (`kind` `recheck`, citing the
 * original query id) before it is answered.
 *
 * The subject: the log holds the identity number only sealed to the
 * auditors, and the gateway cannot (and must not be able to) unseal its own
 * history.  Keeping a gateway-side reversible copy of every subject would
 * give it exactly that ability, so the caller sends the subject again (the
 * engine holds the application; an auditor unseals the record) and the
 * gateway checks that its HMAC is the original query's subject_ref.  A
 * mismatch is refused; nothing is fetched.
 *
 * Only the client that made the original query, or an auditor, may re-check
 * it; an unknown query id and another client's are the same 404.  The
 * re-check asks under the original client's ACL and purpose.  A client is
 * shown only the facts it was served (facts read only by its predicates stay
 * hidden: their change shows as a predicate's change).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "acl.h"
#include "gw/alloc.h"
#include "gw/app.h"
#include "gw/attest.h"
#include "gw/b64.h"
#include "gw/config.h"
#include "gw/evidence.h"
#include "gw/front.h"
#include "gen.h"
#include "gw/idnum.h"
#include "jsonw.h"
#include "msg.h"
#include "gw/recheck.h"

#include "query_pred_int.h"

#define RECHECK_NAME_MAX_BYTES 256
#define RECHECK_OLD_MAX 64            /* previous attestations looked up */
#define RECHECK_INDEXED_MAX 256       /* records naming one query id read */

struct gw_recheck {
  char original[48];
  json_t *record;                     /* the original query record */
  int auditor;
  char old_sha[RECHECK_OLD_MAX][65];
  char *old_att[RECHECK_OLD_MAX];     /* compact JWS, owned; NULL until found */
  char *old_sm2[RECHECK_OLD_MAX];     /* dual: its GmSM2 twin, owned, or NULL */
  size_t n_old, n_found;
};

void gw_recheck_free(struct gw_recheck *rc)
{
  if(!rc)
    return;
  json_decref(rc->record);
  for(size_t i = 0; i < rc->n_old; i++) {
    gw_free(rc->old_att[i]);
    gw_free(rc->old_sm2[i]);
  }
  gw_free(rc);
}

/* ---- finding the original ---------------------------------------------- */

struct find {
  struct gw_recheck *rc;
  const char *client;
  char needle[80];
  int foreign;
};

static int on_record(uint64_t index, const uint8_t *bytes, size_t len, void *arg)
{
  struct find *f = arg;
  struct gw_recheck *rc = f->rc;
  json_t *doc, *v;
  const char *k;
  (void)index;

  if(!rc->record) {
    if(!memmem(bytes, len, f->needle, strlen(f->needle)) ||
       !memmem(bytes, len, "\"kind\":\"query\"", 14))
      return 0;
    doc = json_loadb((const char *)bytes, len, 0, NULL);
    if(!doc || !json_is_string(json_object_get(doc, "query_id")) ||
       strcmp(json_string_value(json_object_get(doc, "query_id")), rc->original)) {
      json_decref(doc);
      return 0;
    }
    if(!rc->auditor && (!json_is_string(json_object_get(doc, "client")) ||
                        strcmp(json_string_value(json_object_get(doc, "client")), f->client))) {
      json_decref(doc);
      f->foreign = 1;
      return 1;
    }
    rc->record = doc;
    json_object_foreach(json_object_get(doc, "facts"), k, v) {
      const char *sha = json_string_value(json_object_get(v, "attestation_sha256"));
      if(sha && strlen(sha) == 64 && !json_is_true(json_object_get(v, "predicate_input")) &&
         rc->n_old < RECHECK_OLD_MAX)
        memcpy(rc->old_sha[rc->n_old++], sha, 65);
    }
    return rc->n_old == 0;
  }
  /* the fetch records holding the previous attestations come before it */
  if(!memmem(bytes, len, "\"kind\":\"fetch\"", 14))
    return 0;
  for(size_t i = 0; i < rc->n_old; i++) {
    if(rc->old_att[i] || !memmem(bytes, len, rc->old_sha[i], 64))
      continue;
    doc = json_loadb((const char *)bytes, len, 0, NULL);
    json_object_foreach(json_object_get(doc, "facts"), k, v) {
      const char *sha = json_string_value(json_object_get(v, "attestation_sha256"));
      const char *att = json_string_value(json_object_get(v, "attestation"));
      const char *sm2 = json_string_value(json_object_get(v, "attestation_sm2"));
      for(size_t j = 0; sha && att && j < rc->n_old; j++)
        if(!rc->old_att[j] && !strcmp(sha, rc->old_sha[j])) {
          rc->old_att[j] = gw_strdup(att);
          rc->old_sm2[j] = sm2 ? gw_strdup(sm2) : NULL;
          rc->n_found++;
        }
    }
    json_decref(doc);
    break;
  }
  return rc->n_found == rc->n_old;
}

/* The original and the fetch records holding its attestations, through the
 * log's query index: the records naming the query id, newest first (its
 * query record, then its own fetch records); attestations the cache served
 * from an earlier query's fetch are looked for below the query record. */
static enum gw_audit_result find_original(struct gw_audit_log *log, const char *qid,
                                          struct find *f)
{
  uint64_t idx[RECHECK_INDEXED_MAX], below = 0;
  size_t n = 0;
  enum gw_audit_result r = gw_audit_find_query(log, qid, idx, RECHECK_INDEXED_MAX, &n);

  if(r != GW_AUDIT_OK)
    return r;
  if(n > RECHECK_INDEXED_MAX)
    n = RECHECK_INDEXED_MAX;
  for(size_t i = n; i-- > 0;) {
    uint8_t *bytes = NULL;
    size_t len = 0;
    int stop;
    int had = f->rc->record != NULL;
    r = gw_audit_get_entry(log, idx[i], &bytes, &len);
    if(r != GW_AUDIT_OK)
      return r;
    stop = on_record(idx[i], bytes, len, f);
    gw_free(bytes);
    if(!had && f->rc->record)
      below = idx[i];
    if(stop || f->foreign)
      return GW_AUDIT_OK;
  }
  if(!f->rc->record || f->rc->n_found == f->rc->n_old)
    return GW_AUDIT_OK;
  return gw_evidence_scan(log, below, GW_EVIDENCE_SCAN_MAX, on_record, f);
}

static const char *old_attestation(const struct gw_recheck *rc, const char *sha)
{
  for(size_t i = 0; sha && i < rc->n_old; i++)
    if(!strcmp(rc->old_sha[i], sha))
      return rc->old_att[i];
  return NULL;
}

/* The GmSM2 twin of that attestation (dual), or NULL. */
static const char *old_attestation_sm2(const struct gw_recheck *rc, const char *sha)
{
  for(size_t i = 0; sha && i < rc->n_old; i++)
    if(!strcmp(rc->old_sha[i], sha))
      return rc->old_sm2[i];
  return NULL;
}

/* The "value" of a compact JWS's payload (new reference) or NULL. */
static json_t *payload_value(const char *jws)
{
  const char *a = jws ? strchr(jws, '.') : NULL, *b = a ? strchr(a + 1, '.') : NULL;
  unsigned char *p = NULL;
  size_t n = 0;
  json_t *doc, *v = NULL;
  if(!b || gw_b64_decode_alloc(GW_B64_URL, a + 1, (size_t)(b - a - 1), &p, &n) != GW_B64_OK)
    return NULL;
  doc = json_loadb((const char *)p, n, 0, NULL);
  gw_free(p);
  if(doc) {
    v = json_incref(json_object_get(doc, "value"));
    json_decref(doc);
  }
  return v;
}

/* ---- the handler ----------------------------------------------------------- */

static int valid_query_id(const char *s)
{
  if(!s || strlen(s) != 26 || strncmp(s, "q_", 2))
    return 0;
  for(const char *p = s + 2; *p; p++)
    if(!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
      return 0;
  return 1;
}

void gw_recheck_handle(struct gw_req *req, void *arg)
{
  static const char *const known[] = { "query_id", "subject", "deadline_ms", NULL };
  struct gw_app *app = arg;
  const char *client = gw_req_client(req), *body, *ctype, *key, *qid, *s;
  struct gw_gen *gen = gw_gen_acquire(app->gens);   /* the re-check's generation */
  unsigned roles = gw_acl_roles(gen->acl, client);
  size_t len, ctlen;
  json_t *root = NULL, *v, *subj;
  char detail[256], subject_id[GW_IDNUM_LEN + 1], ref[GW_SUBJECT_REF_LEN + 1];
  struct gw_recheck *rc = NULL;
  struct find f;
  struct query_spec spec;
  struct qpreds preds;
  json_t *asks = NULL;
  uint64_t deadline;
  enum gw_idnum_result ir;

  memset(&preds, 0, sizeof(preds));
  memset(subject_id, 0, sizeof(subject_id));
  if(!(roles & (GW_ROLE_CLIENT | GW_ROLE_AUDITOR))) {
    gw_req_problem(req, 403, "forbidden", "this client may not re-check queries");
    gw_gen_release(gen);
    return;
  }
  ctype = gw_req_header(req, "content-type", &ctlen);
  if(!ctype || ctlen < 16 || strncasecmp(ctype, "application/json", 16)) {
    gw_req_problem(req, 415, "unsupported-media-type", "send the re-check as application/json");
    gw_gen_release(gen);
    return;
  }
  body = gw_req_body(req, &len);
  root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
  if(!json_is_object(root)) {
    gw_req_problem(req, 400, "invalid-request", "body must be a JSON object");
    goto out;
  }
  json_object_foreach(root, key, v) {
    int ok = 0;
    for(const char *const *k = known; *k; k++)
      ok |= !strcmp(*k, key);
    if(!ok) {
      char echo[GW_MSG_ECHO_BUF];
      /* the client's key may hold an identity number: digits masked */
      snprintf(detail, sizeof(detail), "%s: unknown field", gw_msg_echo_str(key, echo, sizeof(echo)));
      gw_req_problem(req, 400, "invalid-request", detail);
      goto out;
    }
  }
  qid = json_string_value(json_object_get(root, "query_id"));
  if(!valid_query_id(qid)) {
    gw_req_problem(req, 400, "invalid-request", "query_id: must be a query id (q_ and 24 hex)");
    goto out;
  }
  subj = json_object_get(root, "subject");
  if(!json_is_object(subj) || json_object_size(subj) != 3 ||
     !(s = json_string_value(json_object_get(subj, "id_type"))) || strcmp(s, "cn-resident-id") ||
     !json_is_string(json_object_get(subj, "name")) ||
     !json_string_length(json_object_get(subj, "name")) ||
     json_string_length(json_object_get(subj, "name")) > RECHECK_NAME_MAX_BYTES) {
    gw_req_problem(req, 400, "invalid-request",
                   "subject: the original query's subject, {id_type, id, name} (the gateway "
                   "cannot read it back from its log)");
    goto out;
  }
  ir = gw_idnum_normalize(json_string_value(json_object_get(subj, "id")) ?
                          json_string_value(json_object_get(subj, "id")) : "", subject_id, 0);
  if(ir != GW_IDNUM_OK) {
    snprintf(detail, sizeof(detail), "subject.id: %s", gw_idnum_strerror(ir));
    gw_req_problem(req, 400, "invalid-request", detail);
    goto out;
  }
  deadline = (uint64_t)app->cfg->deadline_default_ms;
  v = json_object_get(root, "deadline_ms");
  if(v) {
    if(!json_is_integer(v) || json_integer_value(v) < 1 ||
       json_integer_value(v) > app->cfg->deadline_max_ms) {
      snprintf(detail, sizeof(detail), "deadline_ms: must be an integer from 1 to %d",
               app->cfg->deadline_max_ms);
      gw_req_problem(req, 400, "invalid-request", detail);
      goto out;
    }
    deadline = (uint64_t)json_integer_value(v);
  }
  if(!app->audit) {
    gw_req_problem(req, 503, "audit-unavailable", "this gateway has no audit log open");
    goto out;
  }

  rc = gw_calloc(1, sizeof(*rc));
  snprintf(rc->original, sizeof(rc->original), "%s", qid);
  rc->auditor = (roles & GW_ROLE_AUDITOR) != 0;
  memset(&f, 0, sizeof(f));
  f.rc = rc;
  f.client = client ? client : "";
  snprintf(f.needle, sizeof(f.needle), "\"query_id\":\"%s\"", qid);
  if(find_original(app->audit, qid, &f) != GW_AUDIT_OK) {
    gw_req_problem(req, 500, "internal", "the audit log could not be read");
    goto out;
  }
  if(!rc->record) {
    /* unknown and foreign look the same */
    gw_req_problem(req, 404, "not-found", "no query with this id for this client");
    goto out;
  }
  if(gw_subject_ref_keyed(app->subject_mac, subject_id, ref) ||
     !json_is_string(json_object_get(rc->record, "subject_ref")) ||
     strcmp(ref, json_string_value(json_object_get(rc->record, "subject_ref")))) {
    gw_req_problem(req, 422, "subject-mismatch",
                   "subject: not the subject of the original query (its HMAC is not the "
                   "query's subject_ref)");
    goto out;
  }

  memset(&spec, 0, sizeof(spec));
  spec.subject_id = subject_id;
  spec.subject_name = json_string_value(json_object_get(subj, "name"));
  json_object_foreach(json_object_get(rc->record, "facts"), key, v)
    if(!json_is_true(json_object_get(v, "predicate_input")) && spec.n_facts < 16)
      spec.facts[spec.n_facts++] = key;
  asks = json_array();
  json_object_foreach(json_object_get(rc->record, "predicates"), key, v) {
    const char *id = json_string_value(json_object_get(v, "id"));
    json_t *a = json_object_get(v, "arg"), *o;
    if(!id || !gw_predset_find(gen->preds, id))
      continue;                /* answered "unavailable" by gw_recheck_finish */
    o = json_pack("{s:s}", "id", id);
    if(a && !json_is_null(a))
      json_object_set(o, "arg", a);
    json_array_append_new(asks, o);
  }
  if(json_array_size(asks) &&
     qpred_parse(&preds, gen->preds, asks, detail, sizeof(detail))) {
    /* an argument no longer allowed: that predicate stays unavailable */
    qpred_free(&preds);
    memset(&preds, 0, sizeof(preds));
  }
  spec.purpose = json_string_value(json_object_get(rc->record, "purpose"));
  spec.case_ref = json_string_value(json_object_get(rc->record, "case_ref"));
  spec.client = json_string_value(json_object_get(rc->record, "client"));
  spec.deadline_ms = deadline;
  if(!spec.purpose || !spec.client) {
    gw_req_problem(req, 500, "internal", "the original query record lacks purpose or client");
    goto out;
  }
  query_start_recheck(req, app, gen, &spec, &preds, rc);
  rc = NULL;                   /* the query owns it now */
  gen = NULL;                  /* and the generation */
out:
  gw_gen_release(gen);
  OPENSSL_cleanse(subject_id, sizeof(subject_id));
  qpred_free(&preds);
  json_decref(asks);
  gw_recheck_free(rc);
  json_decref(root);
}

/* ---- the answer and the record ------------------------------------------------ */

static const struct qpred_fact *find_fact(const struct qpred_fact *facts, size_t n, const char *name)
{
  for(size_t i = 0; i < n; i++)
    if(!strcmp(facts[i].name, name))
      return &facts[i];
  return NULL;
}

static const struct qpred *find_pred(const struct qpreds *ps, const char *key)
{
  for(size_t i = 0; i < ps->n; i++)
    if(!strcmp(ps->p[i].key, key))
      return &ps->p[i];
  return NULL;
}

static const char *status_name(enum gw_pred_fact_status s)
{
  return s == GW_PRED_FACT_OK ? "ok" : s == GW_PRED_FACT_NOT_FOUND ? "not_found" : "unavailable";
}

static json_t *strip_quotes(const char *lit, size_t len)
{
  return len >= 2 ? json_stringn(lit + 1, len - 2) : json_null();
}

static json_t *result_json(const struct qpred *p)
{
  if(p->denied || p->result == GW_PRED_UNKNOWN)
    return json_string("unknown");
  return json_boolean(p->result == GW_PRED_TRUE);
}

char *gw_recheck_finish(struct gw_recheck *rc, const struct gw_gen *gen,
                        const struct qpred_fact *facts, size_t n_facts,
                        const struct qpreds *ps, const char *query_id, const char *subject_ref,
                        const char *request_id, struct gw_jw *answer, size_t *record_len)
{
  json_t *afacts = json_object(), *apreds = json_object();
  json_t *rfacts = json_object(), *rpreds = json_object(), *rec, *v;
  const char *key, *case_ref = json_string_value(json_object_get(rc->record, "case_ref"));
  int changed = 0, unavailable = 0;
  char *text, *s;

  json_object_foreach(json_object_get(rc->record, "facts"), key, v) {
    const char *old_status = json_string_value(json_object_get(v, "status"));
    const char *old_sha = json_string_value(json_object_get(v, "attestation_sha256"));
    const struct qpred_fact *nf = find_fact(facts, n_facts, key);
    json_t *a = json_object(), *r = json_object();
    const char *outcome;
    if(json_is_true(json_object_get(v, "predicate_input"))) {
      json_decref(a);
      json_decref(r);
      continue;
    }
    if(!nf || nf->status == GW_PRED_FACT_UNAVAILABLE) {
      outcome = "unavailable";
      json_object_set_new(a, "error", json_pack("{s:s, s:s, s:s}", "code",
                          gw_fact_error_name(nf && nf->error ? nf->error : GW_FERR_TRANSPORT),
                          "agency", nf && nf->agency ? nf->agency : "",
                          "detail", nf && nf->detail ? nf->detail : "not asked again"));
      unavailable = 1;
    }
    else {
      int same = old_status && !strcmp(old_status, status_name(nf->status));
      if(same && nf->status == GW_PRED_FACT_OK) {
        json_t *ov = payload_value(old_attestation(rc, old_sha));
        json_t *nv = json_loadb(nf->value_json, nf->value_len, JSON_DECODE_ANY, NULL);
        same = ov && nv && json_equal(ov, nv);
        json_decref(ov);
        json_decref(nv);
      }
      outcome = same ? "unchanged" : "changed";
      if(!same) {
        const char *oa = old_attestation(rc, old_sha);
        changed = 1;
        json_object_set_new(a, "previous", json_pack("{s:s}", "status", old_status ? old_status : "?"));
        const char *os = old_attestation_sm2(rc, old_sha);
        if(oa)
          json_object_set_new(json_object_get(a, "previous"), "attestation", json_string(oa));
        if(oa && os)
          json_object_set_new(json_object_get(a, "previous"), "attestation_sm2",
                              json_string(os));
        json_object_set_new(a, "current", json_pack("{s:s}", "status", status_name(nf->status)));
        if(nf->attestation)
          json_object_set_new(json_object_get(a, "current"), "attestation",
                              strip_quotes(nf->attestation, nf->attestation_len));
        if(nf->attestation && nf->attestation_sm2)
          json_object_set_new(json_object_get(a, "current"), "attestation_sm2",
                              strip_quotes(nf->attestation_sm2, nf->attestation_sm2_len));
      }
      if(nf->attestation_sha256)
        json_object_set_new(r, "attestation_sha256", json_string(nf->attestation_sha256));
    }
    json_object_set_new(a, "outcome", json_string(outcome));
    json_object_set_new(r, "outcome", json_string(outcome));
    if(old_sha)
      json_object_set_new(r, "previous_sha256", json_string(old_sha));
    json_object_set_new(afacts, key, a);
    json_object_set_new(rfacts, key, r);
  }
  json_object_foreach(json_object_get(rc->record, "predicates"), key, v) {
    const struct qpred *np = find_pred(ps, key);
    json_t *old_result = json_object_get(v, "result");
    json_t *a = json_object(), *r = json_object();
    const char *outcome;
    if(!np || np->denied || np->result == GW_PRED_UNKNOWN) {
      outcome = "unavailable";
      json_object_set_new(a, "error", json_pack("{s:s, s:s}", "code",
                          !np ? "denied" : np->denied ? "denied" : gw_fact_error_name(np->error),
                          "detail", !np ? "the predicate or its argument is no longer defined"
                                        : np->denied ? np->deny_reason : np->why));
      unavailable = 1;
    }
    else {
      json_t *nr = result_json(np);
      int same = json_equal(nr, old_result);
      outcome = same ? "unchanged" : "changed";
      json_object_set(a, "result", nr);
      if(!same) {
        json_t *prev = json_object();
        changed = 1;
        json_object_set(prev, "result", old_result ? old_result : json_null());
        if(json_is_string(json_object_get(v, "attestation")))
          json_object_set(prev, "attestation", json_object_get(v, "attestation"));
        if(json_is_string(json_object_get(v, "attestation_sm2")))
          json_object_set(prev, "attestation_sm2", json_object_get(v, "attestation_sm2"));
        json_object_set_new(a, "previous", prev);
        json_object_set_new(a, "current", json_pack("{s:O, s:s}", "result", nr,
                                                    "attestation", np->attestation));
        json_object_set_new(r, "attestation", json_string(np->attestation));
        if(np->attestation_sm2) {
          json_object_set_new(json_object_get(a, "current"), "attestation_sm2",
                              json_string(np->attestation_sm2));
          json_object_set_new(r, "attestation_sm2", json_string(np->attestation_sm2));
        }
      }
      json_object_set_new(r, "attestation_sha256", json_string(np->attestation_sha256));
      json_object_set_new(r, "result", nr);
    }
    json_object_set_new(a, "outcome", json_string(outcome));
    json_object_set_new(r, "outcome", json_string(outcome));
    if(old_result)
      json_object_set(r, "previous_result", old_result);
    json_object_set_new(apreds, key, a);
    json_object_set_new(rpreds, key, r);
  }

  gw_jw_kstr(answer, "query_id", query_id);
  gw_jw_kstr(answer, "recheck_of", rc->original);
  gw_jw_kstr(answer, "subject_ref", subject_ref);
  gw_jw_kstr(answer, "purpose", json_string_value(json_object_get(rc->record, "purpose")));
  if(case_ref)
    gw_jw_kstr(answer, "case_ref", case_ref);
  gw_jw_kbool(answer, "changed", changed);
  gw_jw_kbool(answer, "complete", !unavailable);
  gw_jw_key(answer, "facts");
  s = json_dumps(afacts, JSON_COMPACT | JSON_PRESERVE_ORDER);
  gw_jw_raw(answer, s, strlen(s));
  free(s);
  gw_jw_key(answer, "predicates");
  s = json_dumps(apreds, JSON_COMPACT | JSON_PRESERVE_ORDER);
  gw_jw_raw(answer, s, strlen(s));
  free(s);

  rec = json_object();
  json_object_set_new(rec, "kind", json_string("recheck"));
  json_object_set_new(rec, "generation", json_integer((json_int_t)gen->id));
  if(gen->recorded)
    json_object_set_new(rec, "generation_index", json_integer((json_int_t)gen->record_index));
  json_object_set_new(rec, "query_id", json_string(query_id));
  json_object_set_new(rec, "recheck_of", json_string(rc->original));
  json_object_set(rec, "client", json_object_get(rc->record, "client"));
  json_object_set(rec, "purpose", json_object_get(rc->record, "purpose"));
  json_object_set_new(rec, "case_ref", case_ref ? json_string(case_ref) : json_null());
  json_object_set_new(rec, "subject_ref", json_string(subject_ref));
  json_object_set_new(rec, "request_id", json_string(request_id ? request_id : ""));
  json_object_set_new(rec, "changed", json_boolean(changed));
  json_object_set_new(rec, "facts", rfacts);
  json_object_set_new(rec, "predicates", rpreds);
  {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    json_object_set_new(rec, "time", json_integer((json_int_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000));
  }
  s = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(rec);
  json_decref(afacts);
  json_decref(apreds);
  if(!s)
    return NULL;
  *record_len = strlen(s);
  text = gw_malloc(*record_len + 1);
  memcpy(text, s, *record_len + 1);
  free(s);
  return text;
}
