/*
 * gwctl_audit_sample.c - "gwctl audit sample": the post-approval spot check
 * (业务抽查): pick past queries from the log, ask the agencies again, and
 * report every fact that changed.
 *
 *   gwctl audit sample --stack S --fraction F --seed N [--unseal-key KEY]
 *                      [--unseal-cert CERT] [--vkey VKEY | --vkey-file FILE]
 *
 * The one idea: every input comes from the log, checked against a signed
 * checkpoint, and nothing is compared that the log cannot vouch for.
 *   1. The checkpoint note is verified; every entry is read (auditor role),
 *      hashed, and the recomputed root at the checkpoint's size must be the
 *      signed one.
 *   2. Of the query records (earlier re-checks, case_ref "recheck.*", left
 *      out), exactly ceil(F x N) are chosen: those with the smallest
 *      SHA-256("gwctl-sample" || seed || index), so the same seed over the
 *      same log picks the same records, and a record's rank never changes
 *      as the log grows.
 *   3. Each chosen record's subject is unsealed with the auditors' key (CMS,
 *      in process).  The sealed text is "id\nname" (or "id" alone in older
 *      records: then no fact is judged, since any agency may answer from the
 *      name; they are reported not comparable).
 *   4. The facts the record served are fetched again through the gateway as
 *      the engine client, with the record's purpose and max_age_s 0 (fresh
 *      from the agencies).  The new subject_ref must equal the record's: that
 *      proves the unsealed subject is the one the record is about.
 *   5. The old value is the one in the attestation the record cites (the
 *      signed JWS, verified with the gateway's JWKS, its SHA-256 equal to
 *      attestation_sha256, its fact and sub the record's).  An attestation
 *      is made once per fetch and served from the cache, so the fetch record
 *      holds it and query records cite it by attestation_sha256; phase 1
 *      keeps, per attestation a fetch record holds, only its SHA-256 and the
 *      record's index (sorted, bsearch), and the record is read again when
 *      a sampled fact cites it.  Older query records carry the attestation
 *      themselves, and that one is used.  A cited attestation that no fetch
 *      record holds means the log is incomplete: "not comparable" and a
 *      problem.  Query records written before any fetch record held
 *      attestations (the oldest format: the hash alone) have no value to
 *      compare: "not comparable", never a guess.
 * Per fact: same, different (old -> new), or not comparable (why).  Exit 0
 * when nothing differs and nothing failed, 1 otherwise, 2 on usage errors.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "seal_sm2.h"
#include "gw/alloc.h"
#include "gw/attest.h"
#include "gw/b64.h"
#include "gw/checkpoint.h"
#include "gw/idnum.h"
#include "gw/jws.h"
#include "gw/merkle.h"
#include "gwctl_audit_int.h"

/* Largest answer read for one entry read again. */
#define SAMPLE_PAGE_MAX (8u << 20)
#define SAMPLE_ANSWER_MAX (4u << 20)
#define SAMPLE_CASE_PREFIX "recheck."
/* The name sent when the record sealed only the number. */
#define SAMPLE_NO_NAME "(unknown)"

struct candidate {
  uint64_t index;
  uint64_t rank;
  uint8_t leaf[GW_MERKLE_HASH_LEN];
};

/* An attestation a fetch record holds: its SHA-256 and that record's index.
 * The JWS itself is read again only when a sampled fact cites it, so memory
 * stays at 40 bytes per attestation however long the log. */
struct held {
  uint8_t sha256[32];
  uint64_t index;
};

struct sampler {
  struct gwctl_http auditor, engine;
  struct gw_jws_key **keys;
  size_t n_keys;
  EVP_PKEY *unseal_key;
  X509 *unseal_cert;
  struct candidate *cand;
  size_t n_cand, cap_cand;
  struct held *held;       /* sorted by sha256 after phase 1 */
  size_t n_held, cap_held;
  uint64_t first_held;     /* index of the first fetch record holding one */
  json_t *fetch_rec;       /* the fetch record last read again, and its index */
  uint64_t fetch_index;
  uint64_t seed;
  uint64_t cp_size;        /* the verified checkpoint's */
  /* counters */
  uint64_t records, queries, fetches, skipped_rechecks, past_checkpoint;
  unsigned long same, different, not_comparable, problems;
  json_t *diffs;           /* array of lines printed at the end */
};

static uint64_t rank_of(uint64_t seed, uint64_t index)
{
  static const char tag[] = "gwctl-sample";
  unsigned char buf[sizeof(tag) - 1 + 16], md[32];
  uint64_t r = 0;
  memcpy(buf, tag, sizeof(tag) - 1);
  for(int i = 0; i < 8; i++) {
    buf[sizeof(tag) - 1 + i] = (unsigned char)(seed >> (56 - 8 * i));
    buf[sizeof(tag) - 1 + 8 + i] = (unsigned char)(index >> (56 - 8 * i));
  }
  EVP_Digest(buf, sizeof(buf), md, NULL, EVP_sha256(), NULL);
  for(int i = 0; i < 8; i++)
    r = r << 8 | md[i];
  return r;
}

static int by_rank(const void *a, const void *b)
{
  const struct candidate *x = a, *y = b;
  if(x->rank != y->rank)
    return x->rank < y->rank ? -1 : 1;
  return x->index < y->index ? -1 : x->index > y->index;
}

static int by_index(const void *a, const void *b)
{
  const struct candidate *x = a, *y = b;
  return x->index < y->index ? -1 : x->index > y->index;
}

static int by_sha256(const void *a, const void *b)
{
  const struct held *x = a, *y = b;
  return memcmp(x->sha256, y->sha256, sizeof(x->sha256));
}

/* 64 lowercase hex digits (as records write attestation_sha256) into 32
 * bytes; 0, or -1 when `hex` is anything else. */
static int hex_sha256(const char *hex, uint8_t out[32])
{
  static const char digits[] = "0123456789abcdef";
  if(!hex || strlen(hex) != 64)
    return -1;
  for(int i = 0; i < 64; i++) {
    const char *d = strchr(digits, hex[i]);
    if(!d)
      return -1;
    if(i % 2)
      out[i / 2] = (uint8_t)(out[i / 2] | (d - digits));
    else
      out[i / 2] = (uint8_t)((d - digits) << 4);
  }
  return 0;
}

/* Phase 1 for a fetch record: keeps where each attestation it holds is,
 * once its SHA-256 is checked against the recorded attestation_sha256 (a
 * mismatch is a problem, and that attestation is not kept).  Fetch records
 * written before they held attestations have none: nothing to keep. */
static void collect_attestations(struct sampler *s, json_t *rec, uint64_t index)
{
  const char *fact;
  json_t *f;

  s->fetches++;
  json_object_foreach(json_object_get(rec, "facts"), fact, f) {
    const char *jws = json_string_value(json_object_get(f, "attestation"));
    uint8_t md[32], want[32];

    if(!jws)
      continue;
    EVP_Digest(jws, strlen(jws), md, NULL, EVP_sha256(), NULL);
    if(hex_sha256(json_string_value(json_object_get(f, "attestation_sha256")), want) ||
       memcmp(md, want, sizeof(md))) {
      printf("PROBLEM: fetch record %llu, %s: the attestation does not match its recorded "
             "attestation_sha256\n", (unsigned long long)index, fact);
      s->problems++;
      continue;
    }
    if(s->n_held == s->cap_held) {
      s->cap_held = s->cap_held ? 2 * s->cap_held : 256;
      s->held = gw_realloc(s->held, s->cap_held * sizeof(*s->held));
    }
    memcpy(s->held[s->n_held].sha256, md, sizeof(md));
    s->held[s->n_held].index = index;
    if(!s->n_held)
      s->first_held = index;
    s->n_held++;
  }
}

/* Phase 1, each entry the gateway serves (gwctl_audit_log_walk, to the
 * end: the root at the checkpoint's size is checked there): collects the
 * query records with their rank, and where fetch records hold
 * attestations. */
static int take_entry(void *arg, uint64_t index, const unsigned char *data, size_t len,
                      const uint8_t leaf[GW_MERKLE_HASH_LEN])
{
  struct sampler *s = arg;
  json_t *rec = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, NULL);
  const char *kind = json_string_value(json_object_get(rec, "kind"));
  const char *case_ref = json_string_value(json_object_get(rec, "case_ref"));

  if(kind && !strcmp(kind, "fetch"))
    collect_attestations(s, rec, index);
  else if(kind && !strcmp(kind, "query")) {
    if(case_ref && !strncmp(case_ref, SAMPLE_CASE_PREFIX, strlen(SAMPLE_CASE_PREFIX)))
      s->skipped_rechecks++;
    else {
      if(s->n_cand == s->cap_cand) {
        s->cap_cand = s->cap_cand ? 2 * s->cap_cand : 256;
        s->cand = gw_realloc(s->cand, s->cap_cand * sizeof(*s->cand));
      }
      s->cand[s->n_cand].index = index;
      s->cand[s->n_cand].rank = rank_of(s->seed, index);
      memcpy(s->cand[s->n_cand].leaf, leaf, GW_MERKLE_HASH_LEN);
      s->n_cand++;
      s->queries++;
      if(index >= s->cp_size)
        s->past_checkpoint++;
    }
  }
  json_decref(rec);
  return 0;
}

/* Reads record `index` again.  With `leaf`, it must be the leaf phase 1
 * hashed; without, the caller checks what it takes from it.  A new
 * reference, or NULL (said, as a PROBLEM line). */
static json_t *read_record(struct sampler *s, uint64_t index, const uint8_t *leaf)
{
  struct gwctl_http_resp r;
  char path[96], err[512];
  unsigned char *data = NULL;
  size_t len;
  uint8_t md[GW_MERKLE_HASH_LEN];
  json_t *doc, *rec = NULL;

  snprintf(path, sizeof(path), "/v1/audit/entries?start=%llu&count=1",
           (unsigned long long)index);
  if(gwctl_http_get_ok(&s->auditor, path, SAMPLE_PAGE_MAX, &r, err, sizeof(err))) {
    printf("  PROBLEM: %s\n", err);
    return NULL;
  }
  doc = json_loadb(r.body, r.len, JSON_REJECT_DUPLICATES, NULL);
  gwctl_http_free(&r);
  if(gwctl_audit_entry_bytes(json_array_get(json_object_get(doc, "entries"), 0), index, &data,
                             &len) ||
     (leaf && (gw_merkle_hash_leaf(data, len, md) != GW_MERKLE_OK ||
               memcmp(md, leaf, GW_MERKLE_HASH_LEN))))
    printf("  PROBLEM: record %llu changed since it was read\n", (unsigned long long)index);
  else
    rec = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, NULL);
  gw_free(data);
  json_decref(doc);
  return rec;
}

/* Opens subject_sealed (base64 DER CMS EnvelopedData, or the gm profile's
 * SM2/SM4 envelope, crypto/seal_sm2.h) into "id[\nname]". */
static int unseal(struct sampler *s, const char *b64, char id[GW_IDNUM_LEN + 1], char *name,
                  size_t name_cap, char *why, size_t whylen)
{
  unsigned char *der = NULL;
  size_t dlen;
  BIO *in = NULL, *out = NULL;
  CMS_ContentInfo *cms = NULL;
  char *plain;
  long plen;
  int rc = -1;

  if(!b64 || gw_b64_decode_alloc(GW_B64_STD, b64, strlen(b64), &der, &dlen) != GW_B64_OK) {
    snprintf(why, whylen, "subject_sealed is missing or not base64");
    return -1;
  }
  out = BIO_new(BIO_s_mem());
  if(gw_seal_sm2_is(der, dlen)) {
    unsigned char *pt = NULL;
    size_t pt_len = 0;
    if(gw_seal_sm2_open(s->unseal_key, der, dlen, &pt, &pt_len) != GW_SEAL_OK || !out ||
       BIO_write(out, pt, (int)pt_len) != (int)pt_len) {
      snprintf(why, whylen, "cannot unseal the subject with this key (SM2/SM4 envelope)");
      if(pt) {
        OPENSSL_cleanse(pt, pt_len);
        gw_free(pt);
      }
      goto out;
    }
    OPENSSL_cleanse(pt, pt_len);
    gw_free(pt);
  }
  else {
    in = BIO_new_mem_buf(der, (int)dlen);
    cms = in ? d2i_CMS_bio(in, NULL) : NULL;
    if(!cms || !out || CMS_decrypt(cms, s->unseal_key, s->unseal_cert, NULL, out, 0) != 1) {
      snprintf(why, whylen, "cannot unseal the subject with this key");
      goto out;
    }
  }
  plen = BIO_get_mem_data(out, &plain);
  if(plen <= 0 || plen > 1024) {
    snprintf(why, whylen, "the sealed subject is empty or too long");
    goto out;
  }
  {
    char buf[1025], *nl;
    memcpy(buf, plain, (size_t)plen);
    buf[plen] = '\0';
    nl = strchr(buf, '\n');
    if(nl)
      *nl = '\0';
    if(gw_idnum_normalize(buf, id, 0) != GW_IDNUM_OK) {
      snprintf(why, whylen, "the sealed subject is not a valid identity number");
      OPENSSL_cleanse(buf, sizeof(buf));
      goto out;
    }
    snprintf(name, name_cap, "%s", nl ? nl + 1 : "");
    OPENSSL_cleanse(buf, sizeof(buf));
  }
  rc = 0;
out:
  CMS_ContentInfo_free(cms);
  BIO_free(in);
  BIO_free(out);
  gw_free(der);
  return rc;
}

/* The attestation whose SHA-256 is `sha256`, as the fetch record phase 1
 * found it in holds it now (a new reference to the JSON string), or NULL
 * with the reason (each one a problem). */
static json_t *held_attestation(struct sampler *s, const uint8_t sha256[32], const char **why)
{
  struct held key, *h = NULL;
  const char *fact;
  json_t *f;

  memcpy(key.sha256, sha256, sizeof(key.sha256));
  if(s->n_held)
    h = bsearch(&key, s->held, s->n_held, sizeof(*s->held), by_sha256);
  if(!h) {
    *why = "no fetch record in the log holds the attestation this record cites";
    s->problems++;
    return NULL;
  }
  /* The facts of one query often come from one fetch: read it once. */
  if(!s->fetch_rec || s->fetch_index != h->index) {
    json_decref(s->fetch_rec);
    s->fetch_index = h->index;
    s->fetch_rec = read_record(s, h->index, NULL);
  }
  if(!s->fetch_rec) {
    *why = "the fetch record holding the cited attestation cannot be read again";
    s->problems++;
    return NULL;
  }
  json_object_foreach(json_object_get(s->fetch_rec, "facts"), fact, f) {
    json_t *a = json_object_get(f, "attestation");
    uint8_t md[32];
    if(!json_is_string(a))
      continue;
    EVP_Digest(json_string_value(a), json_string_length(a), md, NULL, EVP_sha256(), NULL);
    if(!memcmp(md, sha256, sizeof(md)))
      return json_incref(a);
  }
  *why = "the fetch record holding the cited attestation changed since it was read";
  s->problems++;
  return NULL;
}

/* The value the attestation a record cites vouches for (a new reference),
 * or NULL with the reason it cannot be used.  `index` is the record's. */
static json_t *recorded_value(struct sampler *s, uint64_t index, json_t *old, const char *fact,
                              const char *subject_ref, const char **why)
{
  const char *jws = json_string_value(json_object_get(old, "attestation"));
  const char *hash = json_string_value(json_object_get(old, "attestation_sha256"));
  unsigned char md[32], *payload = NULL;
  uint8_t cited[32];
  char hex[65];
  size_t plen;
  json_t *from_fetch = NULL, *p, *v = NULL;

  if(!jws) {
    /* The record cites the attestation a fetch record holds. */
    if(!hash) {
      *why = "the record cites no attestation";
      s->problems++;
      return NULL;
    }
    if(hex_sha256(hash, cited)) {
      *why = "the record's attestation_sha256 is not a SHA-256 in hex";
      s->problems++;
      return NULL;
    }
    if(!s->n_held || index < s->first_held) {
      *why = "the record holds only the attestation's hash, and was written before fetch "
             "records held attestations";
      return NULL;
    }
    if(!(from_fetch = held_attestation(s, cited, why)))
      return NULL;
    jws = json_string_value(from_fetch);
  }
  EVP_Digest(jws, strlen(jws), md, NULL, EVP_sha256(), NULL);
  gw_hex_encode(md, 32, hex);
  if(hash && strcmp(hash, hex)) {
    *why = "the recorded attestation does not match its recorded hash";
    s->problems++;
    goto out;
  }
  if(gw_jws_verify_compact_set((const struct gw_jws_key *const *)s->keys, s->n_keys,
                               GW_ATTEST_TYP, jws, strlen(jws), &payload, &plen, NULL)
     != GW_JWS_OK) {
    *why = "the recorded attestation does not verify with the gateway's current keys";
    goto out;
  }
  p = json_loadb((const char *)payload, plen, JSON_REJECT_DUPLICATES, NULL);
  gw_free(payload);
  if(!json_is_string(json_object_get(p, "fact")) ||
     strcmp(json_string_value(json_object_get(p, "fact")), fact) ||
     !json_is_string(json_object_get(p, "sub")) ||
     strcmp(json_string_value(json_object_get(p, "sub")), subject_ref)) {
    *why = "the recorded attestation is for another fact or subject";
    s->problems++;
  }
  else if(!(v = json_object_get(p, "value")))
    *why = "the recorded attestation carries no value";
  else
    json_incref(v);
  json_decref(p);
out:
  json_decref(from_fetch);
  return v;
}

static char *compact(json_t *v)
{
  char *t = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS) : NULL;
  return t ? t : strdup("(none)");
}

static void fact_line(const char *fact, const char *verdict, const char *detail)
{
  if(detail)
    printf("  %-34s %-14s %s\n", fact, verdict, detail);
  else
    printf("  %-34s %s\n", fact, verdict);
}

static void different(struct sampler *s, uint64_t index, const char *qid, const char *fact,
                      json_t *old_v, const char *old_status, json_t *new_v,
                      const char *new_status)
{
  char *o = old_v ? compact(old_v) : strdup(old_status);
  char *n = new_v ? compact(new_v) : strdup(new_status);
  char line[8192];
  snprintf(line, sizeof(line), "record %llu (query %s) %s: %s -> %s",
           (unsigned long long)index, qid, fact, o ? o : "?", n ? n : "?");
  fact_line(fact, "DIFFERENT", NULL);
  printf("      old %s\n      new %s\n", o ? o : "?", n ? n : "?");
  json_array_append_new(s->diffs, json_string(line));
  s->different++;
  free(o);
  free(n);
}

/* Compares one fact of the record with the fresh answer. */
static void compare_fact(struct sampler *s, uint64_t index, const char *qid, const char *fact,
                         json_t *old, json_t *fresh, const char *subject_ref)
{
  const char *os = json_string_value(json_object_get(old, "status"));
  const char *ns = json_string_value(json_object_get(fresh, "status"));
  const char *why = NULL;
  char detail[256];
  json_t *ov;

  if(!os)
    os = "?";
  if(!ns) {
    fact_line(fact, "not comparable", "(no answer for it now)");
    s->not_comparable++;
    return;
  }
  if(!strcmp(ns, "unavailable") || !strcmp(ns, "denied")) {
    const char *code = json_string_value(json_object_get(json_object_get(fresh, "error"), "code"));
    snprintf(detail, sizeof(detail), "(now %s%s%s)", ns, code ? ": " : "", code ? code : "");
    fact_line(fact, "not comparable", detail);
    s->not_comparable++;
    return;
  }
  if(strcmp(os, "ok") && strcmp(os, "not_found")) {
    const char *code = json_string_value(json_object_get(old, "error"));
    snprintf(detail, sizeof(detail), "(was %s%s%s at the time; now %s)", os,
             code ? ": " : "", code ? code : "", ns);
    fact_line(fact, "not comparable", detail);
    s->not_comparable++;
    return;
  }
  if(!strcmp(os, "not_found")) {
    if(!strcmp(ns, "not_found")) {
      fact_line(fact, "same", "(not found)");
      s->same++;
    }
    else
      different(s, index, qid, fact, NULL, "not_found", json_object_get(fresh, "value"), ns);
    return;
  }
  ov = recorded_value(s, index, old, fact, subject_ref, &why);
  if(!ov) {
    snprintf(detail, sizeof(detail), "(%s)", why);
    fact_line(fact, "not comparable", detail);
    s->not_comparable++;
    return;
  }
  if(!strcmp(ns, "ok") && json_equal(ov, json_object_get(fresh, "value"))) {
    fact_line(fact, "same", NULL);
    s->same++;
  }
  else
    different(s, index, qid, fact, ov, "ok", strcmp(ns, "ok") ? NULL : json_object_get(fresh, "value"),
              ns);
  json_decref(ov);
}

/* Phase 2 for one record: unseal, ask again, compare. */
static void recheck(struct sampler *s, const struct candidate *c)
{
  json_t *rec = read_record(s, c->index, c->leaf), *facts, *f, *list, *query = NULL, *ans = NULL;
  const char *qid, *purpose, *subject_ref, *case_ref, *fact;
  char id[GW_IDNUM_LEN + 1], name[512], why[160], path[] = "/v1/facts/query", err[512];
  char case_buf[65];
  struct gwctl_http_resp r = { 0, NULL, 0 };
  time_t t;
  struct tm tm;
  char when[32] = "?";
  int have_name;

  if(!rec) {
    s->problems++;
    return;
  }
  qid = json_string_value(json_object_get(rec, "query_id"));
  purpose = json_string_value(json_object_get(rec, "purpose"));
  subject_ref = json_string_value(json_object_get(rec, "subject_ref"));
  case_ref = json_string_value(json_object_get(rec, "case_ref"));
  facts = json_object_get(rec, "facts");
  t = (time_t)(json_integer_value(json_object_get(rec, "time")) / 1000);
  if(gmtime_r(&t, &tm))
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
  printf("record %llu: query %s, %s, purpose %s, case %s\n", (unsigned long long)c->index,
         qid ? qid : "?", when, purpose ? purpose : "?", case_ref ? case_ref : "-");
  if(!qid || !purpose || !subject_ref || !json_is_object(facts)) {
    printf("  PROBLEM: not a complete query record\n");
    s->problems++;
    goto out;
  }
  if(unseal(s, json_string_value(json_object_get(rec, "subject_sealed")), id, name, sizeof(name),
            why, sizeof(why))) {
    printf("  PROBLEM: %s\n", why);
    s->problems++;
    goto out;
  }
  have_name = name[0] != '\0';
  list = json_array();
  json_object_foreach(facts, fact, f) {
    const char *st = json_string_value(json_object_get(f, "status"));
    if(st && !strcmp(st, "denied"))
      continue;
    json_array_append_new(list, json_string(fact));
  }
  snprintf(case_buf, sizeof(case_buf), SAMPLE_CASE_PREFIX "%s", qid);
  query = json_pack("{s:{s:s, s:s, s:s}, s:o, s:s, s:s, s:i}",
                    "subject", "id_type", "cn-resident-id", "id", id, "name",
                    have_name ? name : SAMPLE_NO_NAME,
                    "facts", list, "purpose", purpose, "case_ref", case_buf, "max_age_s", 0);
  OPENSSL_cleanse(id, sizeof(id));
  OPENSSL_cleanse(name, sizeof(name));
  if(json_array_size(list)) {
    char *body = json_dumps(query, JSON_COMPACT);
    int hr = gwctl_http(&s->engine, "POST", path, body, SAMPLE_ANSWER_MAX, &r, err, sizeof(err));
    if(body) {
      OPENSSL_cleanse(body, strlen(body));
      free(body);
    }
    if(hr) {
      printf("  PROBLEM: %s\n", err);
      s->problems++;
      goto out;
    }
    if(r.status != 200) {
      gwctl_http_problem(path, &r, err, sizeof(err));
      printf("  PROBLEM: the re-check query failed: %s\n", err);
      s->problems++;
      goto out;
    }
    ans = json_loadb(r.body, r.len, JSON_REJECT_DUPLICATES, NULL);
    if(!json_is_string(json_object_get(ans, "subject_ref")) ||
       strcmp(json_string_value(json_object_get(ans, "subject_ref")), subject_ref)) {
      printf("  PROBLEM: the unsealed subject is not the record's subject (subject_ref differs)\n");
      s->problems++;
      goto out;
    }
  }
  json_object_foreach(facts, fact, f) {
    const char *st = json_string_value(json_object_get(f, "status"));
    if(st && !strcmp(st, "denied")) {
      fact_line(fact, "not comparable", "(denied at the time: nothing was served)");
      s->not_comparable++;
    }
    else if(!have_name) {
      /* which facts an agency answers from the name is the adapters'
       * business, not a list of names here: none is judged */
      fact_line(fact, "not comparable", "(not re-checkable without the name: the record "
                "seals only the number)");
      s->not_comparable++;
    }
    else
      compare_fact(s, c->index, qid, fact, f, json_object_get(json_object_get(ans, "facts"), fact),
                   subject_ref);
  }
  if(!have_name)
    printf("  note: the record seals only the number; agencies asked with the name got "
           "\"" SAMPLE_NO_NAME "\"\n");
out:
  gwctl_http_free(&r);
  json_decref(ans);
  json_decref(query);
  json_decref(rec);
}

static int load_unseal(struct sampler *s, const char *key, const char *cert)
{
  FILE *fp = fopen(key, "r");
  if(!fp) {
    fprintf(stderr, "gwctl audit sample: %s: %s\n", key, strerror(errno));
    return -1;
  }
  s->unseal_key = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
  fclose(fp);
  if(!s->unseal_key) {
    fprintf(stderr, "gwctl audit sample: %s: not an unencrypted PEM private key\n", key);
    return -1;
  }
  if(cert && (fp = fopen(cert, "r"))) {
    s->unseal_cert = PEM_read_X509(fp, NULL, NULL, NULL);
    fclose(fp);
  }
  return 0;
}

static int load_jwks(struct sampler *s)
{
  struct gwctl_http_resp r;
  char err[512];
  enum gw_jws_result jr;
  if(gwctl_http_get_ok(&s->auditor, "/v1/keys", GW_JWS_JWKS_MAX, &r, err, sizeof(err))) {
    printf("PROBLEM: %s\n", err);
    return -1;
  }
  jr = gw_jws_jwks_import(r.body, r.len, &s->keys, &s->n_keys);
  gwctl_http_free(&r);
  if(jr != GW_JWS_OK) {
    printf("PROBLEM: /v1/keys: %s\n", gw_jws_strerror(jr));
    return -1;
  }
  return 0;
}

int gwctl_audit_sample(int argc, char **argv)
{
  static const struct option opts[] = {
    GWCTL_AUDIT_LOG_OPTS,
    { "fraction", required_argument, NULL, 'f' },
    { "seed", required_argument, NULL, 'S' },
    { "unseal-key", required_argument, NULL, 'k' },
    { "unseal-cert", required_argument, NULL, 'c' },
    { NULL, 0, NULL, 0 }
  };
  struct sampler s;
  struct gwctl_audit_log log;
  const char *key = NULL, *cert = NULL;
  char err[512], *end, cert_buf[4096];
  double fraction = -1;
  int opt, rc = 2, have_seed = 0;
  size_t k;

  memset(&s, 0, sizeof(s));
  gwctl_audit_log_init(&log);
  while((opt = gwctl_audit_log_getopt(&log, argc, argv, opts)) != -1) {
    switch(opt) {
    case 'f':
      errno = 0;
      fraction = strtod(optarg, &end);
      if(errno || *end || !(fraction > 0.0 && fraction <= 1.0))
        goto usage;
      break;
    case 'S':
      errno = 0;
      s.seed = strtoull(optarg, &end, 10);
      if(errno || *end || !*optarg || *optarg == '-')
        goto usage;
      have_seed = 1;
      break;
    case 'k': key = optarg; break;
    case 'c': cert = optarg; break;
    default: goto usage;
    }
  }
  if(optind != argc || !gwctl_audit_log_opts_ok(&log) || fraction < 0 || !have_seed)
    goto usage;
  if(gwctl_audit_log_open(&log, err, sizeof(err))) {
    fprintf(stderr, "gwctl audit sample: %s\n", err);
    goto out;
  }
  if(!log.st.engine_cert || !log.st.engine_key) {
    fprintf(stderr, "gwctl audit sample: %s: no pki.clients.engine to re-query with\n",
            log.stack);
    goto out;
  }
  if(!key)
    key = log.st.unseal_key;
  if(!cert && log.st.pki_dir) {
    snprintf(cert_buf, sizeof(cert_buf), "%s/auditor/seal.pem", log.st.pki_dir);
    if(!access(cert_buf, R_OK))
      cert = cert_buf;
  }
  if(!key) {
    fprintf(stderr, "gwctl audit sample: no --unseal-key and none in the stack\n");
    goto out;
  }
  if(load_unseal(&s, key, cert))
    goto out;
  s.auditor = log.auditor;
  s.engine = (struct gwctl_http){ log.st.url, log.st.gateway_ca, log.st.engine_cert,
                                  log.st.engine_key };
  s.diffs = json_array();
  rc = 1;

  if(gwctl_audit_log_checkpoint(&log, err, sizeof(err))) {
    printf("PROBLEM: %s\n", err);
    goto out;
  }
  s.cp_size = log.cp.size;
  printf("checkpoint: %s, size %llu (key %s%s)\n", log.cp.origin,
         (unsigned long long)log.cp.size, log.vkey,
         log.pinned ? "" : ", fetched from the gateway");
  if(load_jwks(&s))
    goto out;
  if(gwctl_audit_log_walk(&log, GWCTL_WALK_TO_END, take_entry, &s, &s.records, err,
                          sizeof(err))) {
    printf("PROBLEM: %s\n", err);
    goto out;
  }
  if(s.n_held)
    qsort(s.held, s.n_held, sizeof(*s.held), by_sha256);
  k = s.n_cand ? (size_t)ceil(fraction * (double)s.n_cand - 1e-9) : 0;
  if(k > s.n_cand)
    k = s.n_cand;
  printf("log: %llu records, root at %llu matches the checkpoint; %llu query records "
         "(%llu past the checkpoint), %llu earlier re-checks left out\n",
         (unsigned long long)s.records, (unsigned long long)log.cp.size,
         (unsigned long long)s.queries, (unsigned long long)s.past_checkpoint,
         (unsigned long long)s.skipped_rechecks);
  printf("attestations: %zu held by %llu fetch records\n", s.n_held,
         (unsigned long long)s.fetches);
  printf("sample: %zu of %zu query records (fraction %g, seed %llu)\n\n", k, s.n_cand, fraction,
         (unsigned long long)s.seed);
  qsort(s.cand, s.n_cand, sizeof(*s.cand), by_rank);
  qsort(s.cand, k, sizeof(*s.cand), by_index);
  for(size_t i = 0; i < k; i++)
    recheck(&s, &s.cand[i]);

  printf("\ndifferences: %lu\n", s.different);
  for(size_t i = 0; i < json_array_size(s.diffs); i++)
    printf("  %s\n", json_string_value(json_array_get(s.diffs, i)));
  printf("summary: %zu records re-checked, facts: %lu same, %lu different, %lu not comparable; "
         "%lu problems\n", k, s.same, s.different, s.not_comparable, s.problems);
  rc = s.different || s.problems ? 1 : 0;
out:
  json_decref(s.diffs);
  gw_jws_keys_free(s.keys, s.n_keys);
  EVP_PKEY_free(s.unseal_key);
  X509_free(s.unseal_cert);
  gw_free(s.cand);
  gw_free(s.held);
  json_decref(s.fetch_rec);
  gwctl_audit_log_close(&log);
  return rc;

usage:
  fprintf(stderr,
          "usage: gwctl audit sample --stack S --fraction F --seed N [--unseal-key KEY]\n"
          "                          [--unseal-cert CERT] [--vkey VKEY | --vkey-file FILE]\n"
          "  F in (0, 1]: ceil(F x query records) are re-checked; the same seed picks the same\n");
  return 2;
}
