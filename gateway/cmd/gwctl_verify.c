/*
 * gwctl_verify.c - "gwctl verify": checks attestations offline.
 *
 *   gwctl verify --jwks FILE|URL [--cacert CA] [--cert C --key K] [--json] [INPUT]
 *
 * INPUT (default "-", standard input) is either a query response of
 * POST /v1/facts/query — every facts.*.attestation in it is checked — or
 * one compact JWS per line.  Each attestation must verify with a key of the
 * JWKS (selected by kid, ES256 only), have typ gw-fact+jws, and for query
 * responses its fact name and subject must match the response it came in.
 * Expired attestations are reported, not failed: an approval keeps its
 * evidence after the cache would have dropped it.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <jansson.h>

#include "gw/alloc.h"
#include "gw/attest.h"
#include "gw/jws.h"
#include "gwctl_int.h"

#define VERIFY_MAX_INPUT (16u << 20)
#define VERIFY_MAX_JWKS (64u << 10)

struct verifier {
  struct gw_jws_key **keys;
  size_t n_keys;
  int json;
  int failures;
  json_t *report;
};

/* Verifies one attestation; `want_fact`/`want_sub` (may be NULL) must match. */
static void check_one(struct verifier *v, const char *label, const char *jws,
                      const char *want_fact, const char *want_sub)
{
  unsigned char *payload = NULL;
  size_t plen;
  const struct gw_jws_key *used = NULL;
  enum gw_jws_result r;
  json_t *p = NULL, *row = json_object();
  const char *fact = NULL, *sub = NULL, *problem = NULL;
  json_int_t exp = 0;

  r = gw_jws_verify_compact_set((const struct gw_jws_key *const *)v->keys, v->n_keys,
                                GW_ATTEST_TYP, jws, strlen(jws), &payload, &plen, &used);
  if(r != GW_JWS_OK)
    problem = gw_jws_strerror(r);
  else {
    p = json_loadb((const char *)payload, plen, JSON_REJECT_DUPLICATES, NULL);
    fact = json_string_value(json_object_get(p, "fact"));
    sub = json_string_value(json_object_get(p, "sub"));
    exp = json_integer_value(json_object_get(p, "exp"));
    if(!fact || !sub || !json_object_get(p, "value") || !json_is_object(json_object_get(p, "src")))
      problem = "payload is not an attestation";
    else if(want_fact && strcmp(fact, want_fact))
      problem = "attestation is for another fact";
    else if(want_sub && strcmp(sub, want_sub))
      problem = "attestation is for another subject";
  }
  json_object_set_new(row, "fact", json_string(label));
  json_object_set_new(row, "valid", json_boolean(!problem));
  if(used)
    json_object_set_new(row, "kid", json_string(gw_jws_key_kid(used)));
  if(problem)
    json_object_set_new(row, "problem", json_string(problem));
  else {
    json_t *src = json_object_get(p, "src");
    json_object_set_new(row, "agency", json_deep_copy(json_object_get(src, "agency")));
    json_object_set_new(row, "agency_signature", json_deep_copy(json_object_get(src, "signature")));
    json_object_set_new(row, "iat", json_deep_copy(json_object_get(p, "iat")));
    json_object_set_new(row, "expired", json_boolean(exp && exp < (json_int_t)time(NULL)));
  }
  if(problem)
    v->failures++;
  if(v->json)
    json_array_append(v->report, row);
  else
    printf("%-34s %-8s %-8s %-10s %s\n", label, problem ? "INVALID" : "valid",
           problem ? "-" : json_string_value(json_object_get(row, "agency")),
           problem ? "-" : json_string_value(json_object_get(row, "agency_signature")),
           problem ? problem : (json_is_true(json_object_get(row, "expired")) ? "expired (still authentic)" : ""));
  json_decref(row);
  json_decref(p);
  gw_free(payload);
}

static int check_response(struct verifier *v, json_t *resp)
{
  const char *name, *sub = json_string_value(json_object_get(resp, "subject_ref"));
  json_t *facts = json_object_get(resp, "facts"), *f;
  int n = 0;
  json_object_foreach(facts, name, f) {
    const char *jws = json_string_value(json_object_get(f, "attestation"));
    if(!jws)
      continue;             /* not_found, unavailable, denied carry none */
    check_one(v, name, jws, name, sub);
    n++;
  }
  return n;
}

static void usage(FILE *fp)
{
  fprintf(fp, "usage: gwctl verify --jwks FILE|URL [--cacert CA] [--cert C --key K] [--json] [INPUT|-]\n"
              "       gwctl verify --bundle FILE [--checkpoint-key VKEY] [--jwks FILE]\n");
}

int gwctl_verify(int argc, char **argv)
{
  static const struct option opts[] = {
    { "jwks", required_argument, NULL, 'j' },
    { "cacert", required_argument, NULL, 'c' },
    { "cert", required_argument, NULL, 'C' },
    { "key", required_argument, NULL, 'K' },
    { "json", no_argument, NULL, 'J' },
    { NULL, 0, NULL, 0 }
  };
  struct verifier v = { NULL, 0, 0, 0, json_array() };
  const char *jwks_src = NULL, *cacert = NULL, *input = "-", *cert = NULL, *key = NULL;
  char err[512], *jwks = NULL, *text = NULL;
  size_t len;
  json_t *resp = NULL;
  int opt, rc = 2, checked = 0;

  for(int i = 1; i < argc; i++)
    if(!strcmp(argv[i], "--bundle") || !strncmp(argv[i], "--bundle=", 9)) {
      json_decref(v.report);
      return gwctl_verify_bundle(argc, argv);
    }
  optind = 1;
  while((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch(opt) {
    case 'j': jwks_src = optarg; break;
    case 'c': cacert = optarg; break;
    case 'C': cert = optarg; break;
    case 'K': key = optarg; break;
    case 'J': v.json = 1; break;
    default: usage(stderr); goto out;
    }
  }
  if(!jwks_src || argc - optind > 1) {
    usage(stderr);
    goto out;
  }
  if(optind < argc)
    input = argv[optind];
  gwctl_set_client_cert(cert, key);
  jwks = gwctl_read_source(jwks_src, cacert, VERIFY_MAX_JWKS, &len, err, sizeof(err));
  if(!jwks) {
    fprintf(stderr, "gwctl verify: %s\n", err);
    goto out;
  }
  if(gw_jws_jwks_import(jwks, len, &v.keys, &v.n_keys) != GW_JWS_OK || !v.n_keys) {
    fprintf(stderr, "gwctl verify: %s: not a JWKS with ES256 keys\n", jwks_src);
    goto out;
  }
  text = gwctl_read_source(input, NULL, VERIFY_MAX_INPUT, &len, err, sizeof(err));
  if(!text) {
    fprintf(stderr, "gwctl verify: %s\n", err);
    goto out;
  }
  if(!v.json)
    printf("%-34s %-8s %-8s %-10s %s\n", "FACT", "RESULT", "AGENCY", "AGENCY-SIG", "NOTE");
  resp = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
  if(resp && json_is_object(resp))
    checked = check_response(&v, resp);
  else {
    char *line = text;
    while(line && *line) {
      char *end = line + strcspn(line, "\r\n");
      char *next = *end ? end + 1 : NULL;
      *end = '\0';
      if(*line) {
        check_one(&v, "(attestation)", line, NULL, NULL);
        checked++;
      }
      line = next;
    }
  }
  if(!checked) {
    fprintf(stderr, "gwctl verify: no attestation found in %s\n", input);
    goto out;
  }
  if(v.json) {
    json_t *out = json_pack("{s:O, s:i, s:i}", "attestations", v.report, "checked", checked,
                            "invalid", v.failures);
    char *s = json_dumps(out, JSON_INDENT(2));
    printf("%s\n", s);
    free(s);
    json_decref(out);
  }
  rc = v.failures ? 1 : 0;

out:
  json_decref(resp);
  json_decref(v.report);
  gw_jws_keys_free(v.keys, v.n_keys);
  gw_free(jwks);
  gw_free(text);
  return rc;
}
