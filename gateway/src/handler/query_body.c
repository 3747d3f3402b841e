/*
 * query_body.c - the rules of a POST /v1/facts/query body, written once
 * (query_int.h).
 *
 * The one idea: finding what a body says and judging it are two jobs.  Two
 * finders fill the same struct query_body: query_fast.c straight off the
 * bytes for the plain shape nearly every body has, and the jansson reader
 * below for everything else (it also refuses what only a tree can see:
 * broken syntax, nesting, unknown or repeated members).  One judge,
 * query_body_check, then applies every rule - types, lengths, the
 * identity number, the catalogue's facts and purposes, case_ref,
 * deadline_ms, max_age_s, sign - in one fixed order, so a body gets the
 * same verdict and the same detail whichever finder read it (the fuzz
 * harness fuzz_query_parse checks exactly that).
 *
 * Details name the member and what it must be; client text (an unknown
 * member's name, the token the JSON parser stopped at) is repeated only
 * through gw_msg_echo, digits masked, since it may hold an identity number.
 */
#include "query_int.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "gw/alloc.h"
#include "gw/config.h"
#include "gw/facts.h"
#include "gw/idnum.h"
#include "msg.h"
#include "query_pred_int.h"

/* Longest fact name looked up (the catalogue's are far shorter). */
#define QUERY_FACT_NAME_BUF 128

/* ---- the judge ------------------------------------------------------------ */

static int slice_is(struct query_slice s, const char *want)
{
  return s.p && strlen(want) == s.n && !memcmp(s.p, want, s.n);
}

/* s copied with a NUL into buf (cap bytes); 0 when it does not fit or is
 * absent, so a lookup of an overlong name simply finds nothing. */
static int slice_z(char *buf, size_t cap, struct query_slice s)
{
  if(!s.p || s.n >= cap)
    return 0;
  memcpy(buf, s.p, s.n);
  buf[s.n] = '\0';
  return 1;
}

/* 1 to 64 of A-Z a-z 0-9 . _ - */
static int valid_case_ref(struct query_slice s)
{
  if(!s.p || !s.n || s.n > QUERY_CASE_REF_BUF - 1)
    return 0;
  for(size_t i = 0; i < s.n; i++) {
    char c = s.p[i];
    if(!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         c == '.' || c == '_' || c == '-'))
      return 0;
  }
  return 1;
}

/* 1 to QUERY_NAME_MAX_BYTES bytes, no control character (NUL included). */
static int valid_name(struct query_slice s)
{
  if(!s.p || !s.n || s.n > QUERY_NAME_MAX_BYTES)
    return 0;
  for(size_t i = 0; i < s.n; i++)
    if((unsigned char)s.p[i] < 0x20 || s.p[i] == 0x7f)
      return 0;
  return 1;
}

int query_body_check(const struct query_body *b, const struct gw_config *cfg,
                     const struct gw_predset *set, struct qpreds *preds,
                     struct query_ask *out, char *detail, size_t detail_len)
{
  const struct gw_fact_def *defs[QUERY_MAX_FACTS];
  char id[GW_IDNUM_LEN + 2], subject_id[GW_IDNUM_LEN + 1], word[QUERY_FACT_NAME_BUF];
  char purpose[QUERY_PURPOSE_BUF];
  size_t n_facts = 0;
  enum gw_idnum_result ir;
  int rc = -1;

  if(!b->subject_ok) {
    snprintf(detail, detail_len, "subject: must be an object with id_type, id and name");
    goto out;
  }
  if(!slice_is(b->id_type, "cn-resident-id")) {
    snprintf(detail, detail_len, "subject.id_type: must be \"cn-resident-id\"");
    goto out;
  }
  if(!b->id.p) {
    snprintf(detail, detail_len, "subject.id: must be a string");
    goto out;
  }
  /* normalization judges the length first: a longer id stays too long */
  {
    size_t n = b->id.n < sizeof(id) - 1 ? b->id.n : sizeof(id) - 1;
    memcpy(id, b->id.p, n);
    id[n] = '\0';
  }
  ir = gw_idnum_normalize(id, subject_id, 0);
  if(ir != GW_IDNUM_OK) {
    snprintf(detail, detail_len, "subject.id: %s", gw_idnum_strerror(ir));
    goto out;
  }
  if(!valid_name(b->name)) {
    snprintf(detail, detail_len, "subject.name: must be 1 to %d bytes of text",
             QUERY_NAME_MAX_BYTES);
    goto out;
  }
  if(qpred_parse(preds, set, b->predicates, detail, detail_len))
    goto out;
  if(b->facts != QUERY_M_ABSENT || !preds->n) {   /* a predicates-only query may omit facts */
    if(b->facts != QUERY_M_OK || (!b->n_facts && !preds->n)) {
      snprintf(detail, detail_len, "facts: must be an array of 1 to %d fact names "
               "(or absent when predicates are asked)", QUERY_MAX_FACTS);
      goto out;
    }
    for(size_t i = 0; i < b->n_facts; i++) {
      defs[i] = slice_z(word, sizeof(word), b->fact[i]) ? gw_fact_find(word) : NULL;
      if(!defs[i]) {
        snprintf(detail, detail_len,
                 "facts[%zu]: not a fact in the catalogue (GET /v1/facts/catalogue)", i);
        goto out;
      }
      for(size_t j = 0; j < i; j++)
        if(defs[j] == defs[i]) {
          snprintf(detail, detail_len, "facts[%zu]: %s is listed twice", i, defs[i]->name);
          goto out;
        }
    }
    n_facts = b->n_facts;
  }
  /* the vocabulary is the catalogue's (purposes.json), nowhere else */
  if(!slice_z(purpose, sizeof(purpose), b->purpose) || !gw_purpose_known(purpose)) {
    size_t off = (size_t)snprintf(detail, detail_len, "purpose: must be one of");
    for(size_t p = 0; p < gw_purpose_count() && off < detail_len; p++)
      off += (size_t)snprintf(detail + off, detail_len - off, "%s %s", p ? "," : "",
                              gw_purpose_at(p));
    goto out;
  }
  if(b->case_ref_m == QUERY_M_BAD ||
     (b->case_ref_m == QUERY_M_OK && !valid_case_ref(b->case_ref))) {
    snprintf(detail, detail_len, "case_ref: must be 1 to 64 of A-Z a-z 0-9 . _ -");
    goto out;
  }
  if(b->deadline_m == QUERY_M_BAD ||
     (b->deadline_m == QUERY_M_OK &&
      (b->deadline_ms < 1 || b->deadline_ms > cfg->deadline_max_ms))) {
    snprintf(detail, detail_len, "deadline_ms: must be an integer from 1 to %d",
             cfg->deadline_max_ms);
    goto out;
  }
  if(b->max_age_m == QUERY_M_BAD ||
     (b->max_age_m == QUERY_M_OK && (b->max_age_s < 0 || b->max_age_s > QUERY_MAX_AGE_S))) {
    snprintf(detail, detail_len, "max_age_s: must be an integer from 0 to %d", QUERY_MAX_AGE_S);
    goto out;
  }
  if(b->sign_m == QUERY_M_BAD) {
    snprintf(detail, detail_len, "sign: must be true or false");
    goto out;
  }

  memcpy(out->subject_id, subject_id, sizeof(subject_id));
  out->subject_name = gw_strndup(b->name.p, b->name.n);
  for(size_t i = 0; i < n_facts; i++)
    out->facts[i] = defs[i]->name;
  out->n_facts = n_facts;
  memcpy(out->purpose, purpose, sizeof(purpose));
  out->case_ref[0] = '\0';
  if(b->case_ref_m == QUERY_M_OK) {
    memcpy(out->case_ref, b->case_ref.p, b->case_ref.n);
    out->case_ref[b->case_ref.n] = '\0';
  }
  out->deadline_ms = b->deadline_m == QUERY_M_OK ? (uint64_t)b->deadline_ms
                                                 : (uint64_t)cfg->deadline_default_ms;
  out->max_age_ms = (b->max_age_m == QUERY_M_OK ? b->max_age_s
                                                : (int64_t)cfg->max_age_default_s) * 1000;
  out->sign = b->sign_m == QUERY_M_OK && b->sign;
  rc = 0;
out:
  OPENSSL_cleanse(id, sizeof(id));
  OPENSSL_cleanse(subject_id, sizeof(subject_id));
  return rc;
}

void query_ask_clear(struct query_ask *a)
{
  OPENSSL_cleanse(a->subject_id, sizeof(a->subject_id));
  if(a->subject_name) {
    OPENSSL_cleanse(a->subject_name, strlen(a->subject_name));
    gw_free(a->subject_name);
  }
  memset(a, 0, sizeof(*a));
}

/* ---- the full finder: jansson --------------------------------------------- */

static int json_depth(const json_t *v, int depth)
{
  const char *k;
  json_t *x;
  size_t i;
  int max = depth;
  if(depth > QUERY_MAX_DEPTH)
    return depth;
  if(json_is_object(v)) {
    json_object_foreach((json_t *)v, k, x) {
      int d = json_depth(x, depth + 1);
      if(d > max)
        max = d;
    }
  }
  else if(json_is_array(v)) {
    json_array_foreach(v, i, x) {
      int d = json_depth(x, depth + 1);
      if(d > max)
        max = d;
    }
  }
  return max;
}

/* jansson's error text, for a detail: its own words kept, the token it
 * stopped at ("... near '<token>'") echoed by shape only, since that token is
 * the client's text and may be an identity number. */
static const char *json_error_echo(const char *text, char *buf, size_t buflen)
{
  const char *near = strstr(text, " near '");
  size_t head = near ? (size_t)(near - text) + 7 : strlen(text);
  char tail[GW_MSG_ECHO_BUF];

  if(!near) {
    snprintf(buf, buflen, "%s", text);
    return buf;
  }
  gw_msg_echo(near + 7, strlen(near + 7), GW_MSG_ECHO_MAX, tail, sizeof(tail));
  snprintf(buf, buflen, "%.*s%s", (int)head, text, tail);
  return buf;
}

/* A string member as a slice.  Every string but the name is read as a C
 * string, up to its first NUL, as the rules always read them; the name
 * keeps its full length so a NUL in it is refused. */
static struct query_slice str_slice(const json_t *v)
{
  struct query_slice s = { NULL, 0 };
  if(json_is_string(v)) {
    s.p = json_string_value(v);
    s.n = strlen(s.p);
  }
  return s;
}

static enum query_member member(const json_t *v, int right_type)
{
  return !v ? QUERY_M_ABSENT : right_type ? QUERY_M_OK : QUERY_M_BAD;
}

/* Fills *b from a parsed body (an object); b points into root. */
static void body_from_json(const json_t *root, struct query_body *b)
{
  const json_t *subj = json_object_get(root, "subject"), *v;
  size_t i;

  memset(b, 0, sizeof(*b));
  b->subject_ok = json_is_object(subj) && json_object_size(subj) == 3;
  b->id_type = str_slice(json_object_get(subj, "id_type"));
  b->id = str_slice(json_object_get(subj, "id"));
  v = json_object_get(subj, "name");
  if(json_is_string(v)) {
    b->name.p = json_string_value(v);
    b->name.n = json_string_length(v);
  }
  b->predicates = json_object_get(root, "predicates");
  v = json_object_get(root, "facts");
  b->facts = member(v, json_is_array(v) && json_array_size(v) <= QUERY_MAX_FACTS);
  if(b->facts == QUERY_M_OK) {
    json_t *item;
    json_array_foreach(v, i, item)
      b->fact[b->n_facts++] = str_slice(item);
  }
  b->purpose = str_slice(json_object_get(root, "purpose"));
  v = json_object_get(root, "case_ref");
  b->case_ref_m = member(v, json_is_string(v));
  b->case_ref = str_slice(v);
  v = json_object_get(root, "deadline_ms");
  b->deadline_m = member(v, json_is_integer(v));
  b->deadline_ms = json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
  v = json_object_get(root, "max_age_s");
  b->max_age_m = member(v, json_is_integer(v));
  b->max_age_s = json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
  v = json_object_get(root, "sign");
  b->sign_m = member(v, json_is_boolean(v));
  b->sign = json_is_true(v);
}

/* The full reader: what only a tree shows is refused here, the rest judged
 * by query_body_check. */
static int read_full(const char *body, size_t len, const struct gw_config *cfg,
                     const struct gw_predset *set, struct qpreds *preds,
                     struct query_ask *out, char *detail, size_t detail_len)
{
  static const char *const known[] = { "subject", "facts", "purpose", "case_ref",
                                       "deadline_ms", "max_age_s", "sign", "predicates", NULL };
  json_error_t jerr;
  json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr), *v;
  const char *key;
  char echo[JSON_ERROR_TEXT_LENGTH + GW_MSG_ECHO_BUF];
  struct query_body b;
  int rc = -1;

  if(!root) {
    snprintf(detail, detail_len, "body is not valid JSON: %s (line %d, column %d)",
             json_error_echo(jerr.text, echo, sizeof(echo)), jerr.line, jerr.column);
    return -1;
  }
  if(!json_is_object(root)) {
    snprintf(detail, detail_len, "body must be a JSON object");
    goto out;
  }
  if(json_depth(root, 1) > QUERY_MAX_DEPTH) {
    snprintf(detail, detail_len, "body nests deeper than %d levels", QUERY_MAX_DEPTH);
    goto out;
  }
  json_object_foreach(root, key, v) {
    int ok = 0;
    for(const char *const *k = known; *k; k++)
      ok |= !strcmp(*k, key);
    if(!ok) {
      snprintf(detail, detail_len, "%s: unknown field",
               gw_msg_echo_str(key, echo, sizeof(echo)));
      goto out;
    }
  }
  body_from_json(root, &b);
  rc = query_body_check(&b, cfg, set, preds, out, detail, detail_len);
out:
  json_decref(root);
  return rc;
}

int query_body_read(const char *body, size_t len, const struct gw_config *cfg,
                    const struct gw_predset *set, struct qpreds *preds,
                    struct query_ask *out, char *detail, size_t detail_len)
{
  struct query_body b;

  /* A body the scanner reads is one the full reader would read the same
   * way (fuzz_query_parse), so the judge's verdict on it is final. */
  if(!query_scan_fast(body, len, &b))
    return query_body_check(&b, cfg, set, preds, out, detail, detail_len);
  return read_full(body, len, cfg, set, preds, out, detail, detail_len);
}
