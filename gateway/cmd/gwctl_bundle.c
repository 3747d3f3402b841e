/*
 * gwctl_bundle.c - "gwctl verify --bundle FILE": checks a case's evidence
 * bundle (GET /v1/cases/{case_ref}/evidence, gw/evidence.h) offline.
 *
 *   gwctl verify --bundle FILE [--checkpoint-key VKEY] [--jwks FILE]
 *
 * In order: the checkpoint is a signed note that verifies with the
 * verifier key (the bundle's, or the pinned one, which should be compared
 * with what the gateway publishes); every record's leaf hash, through its
 * RFC 9162 inclusion proof, gives the checkpoint's root; every query record
 * is of this case; every attestation (the predicate attestations inside the
 * query records, the fact attestations in fetch records and in the
 * bundle's list) verifies against the JWKS with its typ and is cited by
 * hash by a proven record; each predicate's basis is cited by its query
 * record.  Any failure is named and the exit status is 1.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "gw/alloc.h"
#include "gw/attest.h"
#include "gw/b64.h"
#include "gw/checkpoint.h"
#include "gw/jws.h"
#include "gw/merkle.h"

#include "gwctl_int.h"

#define BUNDLE_MAX_BYTES (64u << 20)
#define BUNDLE_MAX_CITED 4096

struct bundle_check {
  struct gw_jws_key **keys;
  size_t n_keys;
  char cited[BUNDLE_MAX_CITED][65];   /* attestation hashes proven records cite */
  size_t n_cited;
  int failures;
  int checked;
};

static void problem(struct bundle_check *b, const char *what, const char *why)
{
  printf("FAIL  %s: %s\n", what, why);
  b->failures++;
}

static void sha256_hex(const void *d, size_t n, char out[65])
{
  unsigned char md[32];
  EVP_Digest(d, n, md, NULL, EVP_sha256(), NULL);
  gw_hex_encode(md, 32, out);
}

static void cite(struct bundle_check *b, const char *sha)
{
  if(!sha || strlen(sha) != 64 || b->n_cited == BUNDLE_MAX_CITED)
    return;
  memcpy(b->cited[b->n_cited++], sha, 65);
}

static int is_cited(const struct bundle_check *b, const char *sha)
{
  for(size_t i = 0; i < b->n_cited; i++)
    if(!strcmp(b->cited[i], sha))
      return 1;
  return 0;
}

/* Verifies a JWS of `typ`; returns its payload (json_decref) or NULL. */
static json_t *jws_payload(struct bundle_check *b, const char *what, const char *typ,
                           const char *jws)
{
  unsigned char *payload = NULL;
  size_t plen = 0;
  const struct gw_jws_key *used = NULL;
  enum gw_jws_result r;
  json_t *p;

  r = gw_jws_verify_compact_set((const struct gw_jws_key *const *)b->keys, b->n_keys, typ, jws,
                                strlen(jws), &payload, &plen, &used);
  if(r != GW_JWS_OK) {
    problem(b, what, gw_jws_strerror(r));
    return NULL;
  }
  p = json_loadb((const char *)payload, plen, 0, NULL);
  gw_free(payload);
  if(!p)
    problem(b, what, "the payload is not JSON");
  b->checked++;
  return p;
}

static int b64_decode_alloc(const char *s, uint8_t **out, size_t *len)
{
  size_t cap = strlen(s) / 4 * 3 + 3;
  *out = gw_malloc(cap);
  if(gw_b64_decode(GW_B64_STD, s, strlen(s), *out, cap, len) != GW_B64_OK) {
    gw_free(*out);
    *out = NULL;
    return -1;
  }
  return 0;
}

/* The GmSM2 twin of a verified attestation (dual): same payload, SM2 key. */
static int check_twin(struct bundle_check *b, const char *what, const char *typ,
                      const char *att, const char *sm2)
{
  char why[160], label[224];
  snprintf(label, sizeof(label), "%s (attestation_sm2)", what);
  if(gw_attest_twin_check((const struct gw_jws_key *const *)b->keys, b->n_keys, typ, att, sm2,
                          why, sizeof(why))) {
    problem(b, label, why);
    return -1;
  }
  b->checked++;
  return 0;
}

/* The payload segment of a compact JWS, [*p, *p + *n), or -1. */
static int payload_of(const char *jws, const char **p, size_t *n)
{
  const char *a = strchr(jws, '.'), *z = a ? strchr(a + 1, '.') : NULL;
  if(!z)
    return -1;
  *p = a + 1;
  *n = (size_t)(z - a - 1);
  return 0;
}

/* One record: its proof to the root, then what it cites. */
static json_t *check_record(struct bundle_check *b, json_t *rec, const char *case_ref,
                            uint64_t tree_size, const uint8_t root[32])
{
  char what[64];
  json_int_t index = json_integer_value(json_object_get(rec, "index"));
  const char *data = json_string_value(json_object_get(rec, "data"));
  json_t *path = json_object_get(rec, "proof"), *doc, *v;
  struct gw_merkle_proof proof;
  uint8_t *bytes = NULL, leaf[32];
  size_t len = 0, i;
  enum gw_merkle_result mr;

  snprintf(what, sizeof(what), "record %lld", (long long)index);
  if(!json_is_integer(json_object_get(rec, "index")) || index < 0 || !data ||
     !json_is_array(path) || json_array_size(path) > GW_MERKLE_MAX_PROOF ||
     b64_decode_alloc(data, &bytes, &len)) {
    problem(b, what, "malformed (index, data, proof)");
    return NULL;
  }
  proof.len = 0;
  json_array_foreach(path, i, v) {
    size_t hl = 0;
    const char *h = json_string_value(v);
    if(!h || gw_b64_decode(GW_B64_STD, h, strlen(h), proof.hash[proof.len], 32, &hl) != GW_B64_OK ||
       hl != 32) {
      problem(b, what, "a proof hash is not base64 of 32 bytes");
      gw_free(bytes);
      return NULL;
    }
    proof.len++;
  }
  if(gw_merkle_hash_leaf(bytes, len, leaf) != GW_MERKLE_OK ||
     (mr = gw_merkle_verify_inclusion(leaf, (uint64_t)index, tree_size, &proof, root)) !=
     GW_MERKLE_OK) {
    problem(b, what, "its inclusion proof does not reach the checkpoint's root");
    gw_free(bytes);
    return NULL;
  }
  doc = json_loadb((const char *)bytes, len, 0, NULL);
  gw_free(bytes);
  if(!doc) {
    problem(b, what, "proven, but not JSON");
    return NULL;
  }
  printf("ok    %s (%s) is in the log at the checkpoint\n", what,
         json_string_value(json_object_get(doc, "kind")) ?
         json_string_value(json_object_get(doc, "kind")) : "?");
  if(!strcmp(json_string_value(json_object_get(doc, "kind")) ?
             json_string_value(json_object_get(doc, "kind")) : "", "query")) {
    const char *cr = json_string_value(json_object_get(doc, "case_ref"));
    const char *k;
    if(!cr || strcmp(cr, case_ref))
      problem(b, what, "a query record of another case");
    json_object_foreach(json_object_get(doc, "facts"), k, v)
      cite(b, json_string_value(json_object_get(v, "attestation_sha256")));
  }
  else {
    const char *k;
    json_object_foreach(json_object_get(doc, "facts"), k, v) {
      const char *att = json_string_value(json_object_get(v, "attestation"));
      const char *sha = json_string_value(json_object_get(v, "attestation_sha256"));
      char got[65], label[160];
      json_t *p;
      if(!att)
        continue;
      snprintf(label, sizeof(label), "%s: %s attestation", what, k);
      sha256_hex(att, strlen(att), got);
      if(!sha || strcmp(sha, got))
        problem(b, label, "its sha256 is not the one recorded beside it");
      cite(b, got);
      if((p = jws_payload(b, label, GW_ATTEST_TYP, att)))
        json_decref(p);
      if(json_is_string(json_object_get(v, "attestation_sm2")))
        (void)check_twin(b, label, GW_ATTEST_TYP, att,
                   json_string_value(json_object_get(v, "attestation_sm2")));
    }
  }
  return doc;
}

/* The predicates of one query record: signature, binding, basis. */
static void check_predicates(struct bundle_check *b, json_t *doc)
{
  const char *k, *qid = json_string_value(json_object_get(doc, "query_id"));
  json_t *v;
  json_object_foreach(json_object_get(doc, "predicates"), k, v) {
    const char *att = json_string_value(json_object_get(v, "attestation"));
    const char *sha = json_string_value(json_object_get(v, "attestation_sha256"));
    char label[200], got[65];
    json_t *p, *basis;
    size_t i;
    json_t *h;
    if(!att)
      continue;
    snprintf(label, sizeof(label), "%s %s", qid ? qid : "?", k);
    sha256_hex(att, strlen(att), got);
    if(!sha || strcmp(sha, got))
      problem(b, label, "its sha256 is not the one recorded");
    cite(b, got);
    p = jws_payload(b, label, GW_ATTEST_PREDICATE_TYP, att);
    if(!p)
      continue;
    if(json_is_string(json_object_get(v, "attestation_sm2")))
      (void)check_twin(b, label, GW_ATTEST_PREDICATE_TYP, att,
                 json_string_value(json_object_get(v, "attestation_sm2")));
    if(!json_equal(json_object_get(p, "sub"), json_object_get(doc, "subject_ref")) ||
       !json_equal(json_object_get(json_object_get(p, "predicate"), "id"),
                   json_object_get(v, "id")) ||
       !json_equal(json_object_get(json_object_get(p, "predicate"), "sha256"),
                   json_object_get(v, "sha256")) ||
       !json_equal(json_object_get(p, "result"), json_object_get(v, "result")))
      problem(b, label, "the attestation does not match its query record");
    basis = json_object_get(p, "basis");
    json_array_foreach(basis, i, h)
      if(!json_is_string(h) || !is_cited(b, json_string_value(h)))
        problem(b, label, "a basis hash is cited by no fact of its query record");
    printf("ok    %s = %s, signed%s, basis of %zu fact attestation(s) cited by the record\n",
           label, json_is_true(json_object_get(p, "result")) ? "true" : "false",
           json_is_string(json_object_get(v, "attestation_sm2")) ? " (ES256 and GmSM2)" : "",
           json_array_size(basis));
    json_decref(p);
  }
}

int gwctl_verify_bundle(int argc, char **argv)
{
  static const struct option opts[] = {
    { "bundle", required_argument, NULL, 'b' },
    { "checkpoint-key", required_argument, NULL, 'k' },
    { "jwks", required_argument, NULL, 'j' },
    { NULL, 0, NULL, 0 }
  };
  struct bundle_check *b = gw_calloc(1, sizeof(*b));
  const char *file = NULL, *vkey_pin = NULL, *jwks_pin = NULL, *case_ref, *note, *vkey;
  char err[512], *text = NULL, *jwks_text = NULL;
  size_t len, i;
  json_t *doc = NULL, *v, *docs[1024];
  size_t n_docs = 0;
  struct gw_checkpoint_verifier *ver = NULL;
  struct gw_checkpoint cp;
  int opt, rc = 2;
  enum gw_checkpoint_result cr;

  optind = 1;
  while((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch(opt) {
    case 'b': file = optarg; break;
    case 'k': vkey_pin = optarg; break;
    case 'j': jwks_pin = optarg; break;
    default: goto usage;
    }
  }
  if(!file || optind < argc)
    goto usage;
  text = gwctl_read_source(file, NULL, BUNDLE_MAX_BYTES, &len, err, sizeof(err));
  if(!text || !(doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL)) ||
     !(case_ref = json_string_value(json_object_get(doc, "case_ref"))) ||
     !(note = json_string_value(json_object_get(doc, "checkpoint"))) ||
     !(vkey = json_string_value(json_object_get(doc, "checkpoint_key"))) ||
     !json_is_array(json_object_get(doc, "records"))) {
    fprintf(stderr, "gwctl verify: %s: not an evidence bundle%s%s\n", file, text ? "" : ": ",
            text ? "" : err);
    goto out;
  }
  /* keys: pinned ones win; the bundle's are shown so they can be compared */
  if(jwks_pin) {
    jwks_text = gwctl_read_source(jwks_pin, NULL, 1 << 20, &len, err, sizeof(err));
    if(!jwks_text) {
      fprintf(stderr, "gwctl verify: %s\n", err);
      goto out;
    }
  }
  else
    jwks_text = json_dumps(json_object_get(doc, "jwks"), JSON_COMPACT);
  if(!jwks_text || gw_jws_jwks_import(jwks_text, strlen(jwks_text), &b->keys, &b->n_keys) !=
     GW_JWS_OK || !b->n_keys) {
    fprintf(stderr, "gwctl verify: no usable JWKS\n");
    goto out;
  }
  rc = 1;
  printf("case %s\n", case_ref);
  cr = gw_checkpoint_verifier_new(vkey_pin ? vkey_pin : vkey, &ver);
  if(cr == GW_CHECKPOINT_OK)
    cr = gw_checkpoint_verify(ver, note, strlen(note), NULL, &cp);
  if(cr != GW_CHECKPOINT_OK) {
    problem(b, "checkpoint", gw_checkpoint_strerror(cr));
    goto done;
  }
  if(json_integer_value(json_object_get(doc, "tree_size")) != (json_int_t)cp.size)
    problem(b, "checkpoint", "the bundle's tree_size is not the checkpoint's");
  printf("ok    checkpoint %s size %llu: signature verifies with %s\n", cp.origin,
         (unsigned long long)cp.size, vkey_pin ? "the pinned key" : "the bundle's key");
  json_array_foreach(json_object_get(doc, "records"), i, v) {
    json_t *d = check_record(b, v, case_ref, cp.size, cp.root);
    if(d && n_docs < sizeof(docs) / sizeof(docs[0]))
      docs[n_docs++] = d;
    else
      json_decref(d);
  }
  for(i = 0; i < n_docs; i++) {
    const char *kind = json_string_value(json_object_get(docs[i], "kind"));
    if(kind && !strcmp(kind, "query"))
      check_predicates(b, docs[i]);
  }
  json_array_foreach(json_object_get(doc, "attestations"), i, v) {
    const char *att = json_string_value(v);
    char label[48], got[65];
    json_t *p;
    snprintf(label, sizeof(label), "attestations[%zu]", i);
    if(!att) {
      problem(b, label, "not a string");
      continue;
    }
    sha256_hex(att, strlen(att), got);
    if(!is_cited(b, got))
      problem(b, label, "cited by no proven record");
    if((p = jws_payload(b, label, GW_ATTEST_TYP, att))) {
      printf("ok    %s (%s) signed and cited\n", label,
             json_string_value(json_object_get(p, "fact")) ?
             json_string_value(json_object_get(p, "fact")) : "?");
      json_decref(p);
    }
  }
  /* dual: each GmSM2 twin signs the payload of a cited attestation above */
  json_array_foreach(json_object_get(doc, "attestations_sm2"), i, v) {
    const char *sm2 = json_string_value(v), *sp, *ap, *twin = NULL;
    char label[48], got[65];
    size_t sn, an, j;
    json_t *a;
    snprintf(label, sizeof(label), "attestations_sm2[%zu]", i);
    if(!sm2 || payload_of(sm2, &sp, &sn)) {
      problem(b, label, "not a compact JWS");
      continue;
    }
    json_array_foreach(json_object_get(doc, "attestations"), j, a) {
      const char *t = json_string_value(a);
      if(t && !payload_of(t, &ap, &an) && an == sn && !memcmp(ap, sp, sn)) {
        sha256_hex(t, strlen(t), got);
        if(is_cited(b, got)) {
          twin = t;
          break;
        }
      }
    }
    if(!twin) {
      problem(b, label, "signs no payload of a cited attestation");
      continue;
    }
    if(!check_twin(b, label, GW_ATTEST_TYP, twin, sm2))
      printf("ok    %s is the GmSM2 twin of a cited attestation\n", label);
  }
done:
  printf("%s: %zu record(s), %d signature(s) checked, %d problem(s)\n",
         b->failures ? "INVALID" : "VALID", json_array_size(json_object_get(doc, "records")),
         b->checked, b->failures);
  if(!json_array_size(json_object_get(doc, "records")))
    b->failures++;
  rc = b->failures ? 1 : 0;
  for(i = 0; i < n_docs; i++)
    json_decref(docs[i]);
  goto out;
usage:
  fprintf(stderr, "usage: gwctl verify --bundle FILE [--checkpoint-key VKEY] [--jwks FILE]\n");
out:
  gw_checkpoint_verifier_free(ver);
  gw_jws_keys_free(b->keys, b->n_keys);
  gw_free(b);
  json_decref(doc);
  gw_free(text);
  if(jwks_text && jwks_pin)
    gw_free(jwks_text);
  else
    free(jwks_text);
  return rc;
}
