/*
 * gwctl_audit_explain.c - "gwctl audit explain QUERY_ID": recomputes every
 * predicate of a past query from the fact attestations in the log.
 *
 *   gwctl audit explain QUERY_ID --stack S [--predicates DIR] [--schemas DIR]
 *                      [--vkey VKEY | --vkey-file FILE]
 *
 * As the auditor: the checkpoint is verified and every entry up to its size
 * read and hashed into a tree whose root must be the signed one, so what is
 * recomputed is what the log vouches for.  For each predicate of the query
 * record: the definition is the file in DIR (default schemas/predicates)
 * whose SHA-256 is the one recorded; each basis hash names a fact
 * attestation in a fetch record, which must verify against GET /v1/keys and
 * hash to it; a fact the predicate read without an attestation takes the
 * record's status (not_found or unavailable).  The operator is applied as
 * of the recorded as_of, and the result compared with the recorded one and
 * with the signed predicate attestation.  Exit 0 when every result holds, 1
 * when one does not or cannot be recomputed, 2 on usage or transport errors.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "gw/alloc.h"
#include "gw/attest.h"
#include "gw/b64.h"
#include "gw/jws.h"
#include "gw/merkle.h"
#include "gw/predicate.h"

#include "gwctl_audit_int.h"
#include "gwctl_int.h"

struct explain {
  struct gw_jws_key **keys;
  size_t n_keys;
  json_t *atts;                /* sha256 hex -> compact JWS, from fetch records */
  json_t *atts_sm2;            /* sha256 hex -> its GmSM2 twin (dual) */
  json_t *record;              /* the query record */
  const char *qid;
  char needle[64];             /* "query_id":"QID", to skip parsing most records */
};

/* Each entry up to the checkpoint (gwctl_audit_log_walk): keeps the fact
 * attestations of fetch records and the record of the query. */
static int take_entry(void *arg, uint64_t index, const unsigned char *data, size_t len,
                      const uint8_t leaf[GW_MERKLE_HASH_LEN])
{
  struct explain *x = arg;
  json_t *rec = json_loadb((const char *)data, len, 0, NULL);
  const char *kind = json_string_value(json_object_get(rec, "kind"));
  (void)index;
  (void)leaf;
  if(kind && !strcmp(kind, "fetch")) {
    const char *k;
    json_t *f;
    json_object_foreach(json_object_get(rec, "facts"), k, f) {
      const char *sha = json_string_value(json_object_get(f, "attestation_sha256"));
      json_t *att = json_object_get(f, "attestation");
      if(sha && json_is_string(att))
        json_object_set(x->atts, sha, att);
      if(sha && json_is_string(att) && json_is_string(json_object_get(f, "attestation_sm2")))
        json_object_set(x->atts_sm2, sha, json_object_get(f, "attestation_sm2"));
    }
  }
  else if(kind && !strcmp(kind, "query") && memmem(data, len, x->needle, strlen(x->needle)) &&
          json_is_string(json_object_get(rec, "query_id")) &&
          !strcmp(json_string_value(json_object_get(rec, "query_id")), x->qid)) {
    json_decref(x->record);
    x->record = json_incref(rec);
  }
  json_decref(rec);
  return 0;
}

/* The verified payload of a JWS of `typ`, or NULL with why. */
static json_t *verified(struct explain *x, const char *typ, const char *jws, const char **why)
{
  unsigned char *p = NULL;
  size_t n = 0;
  const struct gw_jws_key *used;
  json_t *doc;
  enum gw_jws_result r = gw_jws_verify_compact_set((const struct gw_jws_key *const *)x->keys,
                                                   x->n_keys, typ, jws, strlen(jws), &p, &n,
                                                   &used);
  if(r != GW_JWS_OK) {
    *why = gw_jws_strerror(r);
    return NULL;
  }
  doc = json_loadb((const char *)p, n, 0, NULL);
  gw_free(p);
  if(!doc)
    *why = "payload is not JSON";
  return doc;
}

static const struct gw_pred_def *def_by_sha(const struct gw_predset *set, const char *sha)
{
  size_t n;
  const struct gw_pred_def *all = gw_predset_all(set, &n);
  for(size_t i = 0; sha && i < n; i++)
    if(!strcmp(all[i].sha256, sha))
      return &all[i];
  return NULL;
}

/* One predicate: 0 holds, 1 does not or cannot be recomputed. */
static int explain_one(struct explain *x, const struct gw_predset *set, const char *key,
                       json_t *p)
{
  const struct gw_pred_def *def = def_by_sha(set, json_string_value(json_object_get(p, "sha256")));
  json_t *arg = json_object_get(p, "arg"), *rec_result = json_object_get(p, "result");
  json_t *vals[GW_PRED_MAX_FACTS] = { NULL }, *h, *pl = NULL;
  struct gw_pred_input in[GW_PRED_MAX_FACTS];
  const char *why = NULL, *as_of = json_string_value(json_object_get(p, "as_of"));
  char reason[200] = "", twin[120];
  enum gw_pred_result r;
  size_t i;
  int bad = 0;
  json_t *computed;

  if(json_is_null(arg))
    arg = NULL;
  if(!def) {
    printf("%-46s %-8s %-10s CANNOT RECOMPUTE: no definition in the directory hashes to %.16s...\n",
           key, "", "", json_string_value(json_object_get(p, "sha256")));
    return 1;
  }
  for(i = 0; i < def->n_facts; i++) {
    json_t *rf = json_object_get(json_object_get(x->record, "facts"), def->facts[i]);
    const char *st = json_string_value(json_object_get(rf, "status"));
    in[i].fact = def->facts[i];
    in[i].value = NULL;
    in[i].status = st && !strcmp(st, "not_found") ? GW_PRED_FACT_NOT_FOUND
                                                   : GW_PRED_FACT_UNAVAILABLE;
  }
  json_array_foreach(json_object_get(p, "basis"), i, h) {
    const char *sha = json_string_value(h);
    const char *jws = sha ? json_string_value(json_object_get(x->atts, sha)) : NULL;
    json_t *fa;
    unsigned char md[32];
    char hex[65];
    if(!jws) {
      snprintf(reason, sizeof(reason), "basis %.16s... is in no fetch record", sha ? sha : "?");
      bad = 1;
      break;
    }
    EVP_Digest(jws, strlen(jws), md, NULL, EVP_sha256(), NULL);
    gw_hex_encode(md, 32, hex);
    if(strcmp(hex, sha) || !(fa = verified(x, GW_ATTEST_TYP, jws, &why))) {
      snprintf(reason, sizeof(reason), "basis %.16s...: %s", sha, why ? why : "hash differs");
      bad = 1;
      break;
    }
    if(json_is_string(json_object_get(x->atts_sm2, sha)) &&
       gw_attest_twin_check((const struct gw_jws_key *const *)x->keys, x->n_keys, GW_ATTEST_TYP,
                            jws, json_string_value(json_object_get(x->atts_sm2, sha)), twin,
                            sizeof(twin))) {
      snprintf(reason, sizeof(reason), "basis %.16s... attestation_sm2: %s", sha, twin);
      json_decref(fa);
      bad = 1;
      break;
    }
    for(size_t k = 0; k < def->n_facts; k++)
      if(json_is_string(json_object_get(fa, "fact")) &&
         !strcmp(json_string_value(json_object_get(fa, "fact")), def->facts[k]) && !vals[k]) {
        vals[k] = json_incref(json_object_get(fa, "value"));
        in[k].value = vals[k];
        in[k].status = GW_PRED_FACT_OK;
      }
    json_decref(fa);
  }
  if(!bad && json_is_string(json_object_get(p, "attestation"))) {
    pl = verified(x, GW_ATTEST_PREDICATE_TYP, json_string_value(json_object_get(p, "attestation")),
                  &why);
    if(!pl || !json_equal(json_object_get(pl, "result"), rec_result)) {
      snprintf(reason, sizeof(reason), "the predicate attestation %s",
               pl ? "disagrees with the record" : why);
      bad = 1;
    }
    else if(json_is_string(json_object_get(p, "attestation_sm2")) &&
            gw_attest_twin_check((const struct gw_jws_key *const *)x->keys, x->n_keys,
                                 GW_ATTEST_PREDICATE_TYP,
                                 json_string_value(json_object_get(p, "attestation")),
                                 json_string_value(json_object_get(p, "attestation_sm2")), twin,
                                 sizeof(twin))) {
      snprintf(reason, sizeof(reason), "the predicate attestation_sm2: %s", twin);
      bad = 1;
    }
  }
  if(bad) {
    printf("%-46s %-8s %-10s CANNOT RECOMPUTE: %s\n", key, "", "", reason);
    bad = 1;
    goto out;
  }
  r = gw_pred_eval(def, arg, in, def->n_facts, as_of ? as_of : "", reason, sizeof(reason));
  computed = r == GW_PRED_UNKNOWN ? json_string("unknown") : json_boolean(r == GW_PRED_TRUE);
  bad = !json_equal(computed, rec_result);
  {
    char *a = json_dumps(rec_result, JSON_ENCODE_ANY), *b = json_dumps(computed, JSON_ENCODE_ANY);
    printf("%-46s %-8s %-10s %s (as of %s, %zu fact attestation(s)%s)\n", key, a, b,
           bad ? "DIFFERS" : "holds", as_of ? as_of : "?",
           json_array_size(json_object_get(p, "basis")),
           json_is_string(json_object_get(p, "attestation_sm2")) ? "; GmSM2 twin verified" : "");
    free(a);
    free(b);
  }
  json_decref(computed);
out:
  json_decref(pl);
  for(i = 0; i < GW_PRED_MAX_FACTS; i++)
    json_decref(vals[i]);
  return bad;
}

int gwctl_audit_explain(int argc, char **argv)
{
  static const struct option opts[] = {
    GWCTL_AUDIT_LOG_OPTS,
    { "predicates", required_argument, NULL, 'p' },
    { "schemas", required_argument, NULL, 'S' },
    { NULL, 0, NULL, 0 }
  };
  struct explain x;
  struct gwctl_audit_log log;
  struct gw_predset *set = NULL;
  struct gwctl_http_resp r;
  const char *dir = "schemas/predicates", *schemas = NULL, *k;
  char err[512];
  int opt, rc = 2, bad = 0;
  json_t *p;

  memset(&x, 0, sizeof(x));
  gwctl_audit_log_init(&log);
  while((opt = gwctl_audit_log_getopt(&log, argc, argv, opts)) != -1) {
    switch(opt) {
    case 'p': dir = optarg; break;
    case 'S': schemas = optarg; break;
    default: goto usage;
    }
  }
  if(optind != argc - 1 || !gwctl_audit_log_opts_ok(&log))
    goto usage;
  x.qid = argv[optind];
  snprintf(x.needle, sizeof(x.needle), "\"query_id\":\"%s\"", x.qid);
  if(gwctl_audit_log_open(&log, err, sizeof(err))) {
    fprintf(stderr, "gwctl audit explain: %s\n", err);
    goto out;
  }
  if(gwctl_use_catalogue(schemas, "gwctl audit explain"))
    goto out;
  if(gw_predset_load(dir, &set, err, sizeof(err))) {
    fprintf(stderr, "gwctl audit explain: %s\n", err);
    goto out;
  }
  x.atts = json_object();
  x.atts_sm2 = json_object();
  if(gwctl_audit_log_checkpoint(&log, err, sizeof(err))) {
    fprintf(stderr, "gwctl audit explain: %s\n", err);
    goto out;
  }
  if(gwctl_http_get_ok(&log.auditor, "/v1/keys", 1 << 20, &r, err, sizeof(err))) {
    fprintf(stderr, "gwctl audit explain: %s\n", err);
    goto out;
  }
  if(gw_jws_jwks_import(r.body, r.len, &x.keys, &x.n_keys) != GW_JWS_OK) {
    gwctl_http_free(&r);
    fprintf(stderr, "gwctl audit explain: /v1/keys is not a JWKS\n");
    goto out;
  }
  gwctl_http_free(&r);
  if(gwctl_audit_log_walk(&log, GWCTL_WALK_TO_CHECKPOINT, take_entry, &x, NULL, err,
                          sizeof(err))) {
    printf("PROBLEM: %s\n", err);
    goto out;
  }
  rc = 1;
  if(!x.record) {
    printf("PROBLEM: no query %s in the log up to the checkpoint (size %llu)\n", x.qid,
           (unsigned long long)log.cp.size);
    goto out;
  }
  printf("query %s (purpose %s), log verified to checkpoint size %llu\n", x.qid,
         json_string_value(json_object_get(x.record, "purpose")),
         (unsigned long long)log.cp.size);
  printf("%-46s %-8s %-10s %s\n", "PREDICATE", "RECORDED", "RECOMPUTED", "VERDICT");
  json_object_foreach(json_object_get(x.record, "predicates"), k, p)
    bad |= explain_one(&x, set, k, p);
  if(!json_object_size(json_object_get(x.record, "predicates")))
    printf("(the query asked no predicates)\n");
  rc = bad ? 1 : 0;
  goto out;
usage:
  fprintf(stderr, "usage: gwctl audit explain QUERY_ID " GWCTL_AUDIT_LOG_USAGE
                  " [--predicates DIR] [--schemas DIR]\n");
out:
  gw_predset_free(set);
  gw_jws_keys_free(x.keys, x.n_keys);
  json_decref(x.atts);
  json_decref(x.atts_sm2);
  json_decref(x.record);
  gwctl_audit_log_close(&log);
  return rc;
}
