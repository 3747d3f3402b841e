/*
 * test_attest.c - attestations: payload shape, signature verifiable with
 * the published JWKS (current and previous keys), detached body signatures,
 * and subject_ref against an independently computed HMAC-SHA256.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gw/alloc.h"
#include "gw/attest.h"
#include "gw/jws.h"

static char dir[] = "/tmp/gwattestXXXXXX";
static char cur[300], prev[300], secret_file[300];

static int setup(void **state)
{
  char cmd[1024];
  FILE *fp;
  (void)state;
  if(!mkdtemp(dir))
    return -1;
  snprintf(cur, sizeof(cur), "%s/cur.key", dir);
  snprintf(prev, sizeof(prev), "%s/prev.pub.pem", dir);
  snprintf(secret_file, sizeof(secret_file), "%s/secret", dir);
  snprintf(cmd, sizeof(cmd),
           "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out %s 2>/dev/null && "
           "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 2>/dev/null | "
           "openssl pkey -pubout -out %s", cur, prev);
  if(system(cmd) != 0)
    return -1;
  fp = fopen(secret_file, "w");
  if(!fp)
    return -1;
  fputs("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", fp);
  fclose(fp);
  return 0;
}

static int teardown(void **state)
{
  char cmd[300];
  (void)state;
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

static struct gw_attest_signer *signer(void)
{
  const char *previous[] = { prev };
  char err[256];
  struct gw_attest_signer *s = gw_attest_signer_new("gw-sz-1", cur, previous, 1, err, sizeof(err));
  if(!s)
    fail_msg("%s", err);
  return s;
}

static void attestation_verifies_and_says_what_was_fetched(void **state)
{
  struct gw_attest_signer *s = signer();
  struct gw_attest_src src = { "chsi", "chsi-degrees", 3, "tls", "xmldsig",
    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" };
  json_t *value = json_pack("[{s:s, s:s}]", "level", "master", "graduated_on", "2024-06-30");
  char err[256];
  char *jws, *jwks;
  unsigned char *payload = NULL;
  size_t plen, n_keys;
  struct gw_jws_key **keys = NULL;
  const struct gw_jws_key *used = NULL;
  json_t *p;
  (void)state;

  jws = gw_attest_make(s, "8v7zLjdPb32ansXh7iwaCAzfDwVJQ-3p5EarFmKHpmM", "education.degrees",
                       value, &src, 1764300000, 1764386400, err, sizeof(err));
  assert_non_null(jws);
  jwks = gw_attest_jwks(s);
  assert_non_null(jwks);
  assert_int_equal(gw_jws_jwks_import(jwks, strlen(jwks), &keys, &n_keys), GW_JWS_OK);
  assert_int_equal(n_keys, 2);           /* current and previous */
  assert_int_equal(gw_jws_verify_compact_set((const struct gw_jws_key *const *)keys, n_keys,
                                             GW_ATTEST_TYP, jws, strlen(jws),
                                             &payload, &plen, &used), GW_JWS_OK);
  assert_string_equal(gw_jws_key_kid(used), gw_attest_signer_kid(s));

  p = json_loadb((const char *)payload, plen, JSON_REJECT_DUPLICATES, NULL);
  assert_non_null(p);
  assert_string_equal(json_string_value(json_object_get(p, "iss")), "gw-sz-1");
  assert_string_equal(json_string_value(json_object_get(p, "sub")),
                      "8v7zLjdPb32ansXh7iwaCAzfDwVJQ-3p5EarFmKHpmM");
  assert_string_equal(json_string_value(json_object_get(p, "fact")), "education.degrees");
  assert_true(json_equal(json_object_get(p, "value"), value));
  assert_int_equal(json_integer_value(json_object_get(p, "iat")), 1764300000);
  assert_int_equal(json_integer_value(json_object_get(p, "exp")), 1764386400);
  assert_string_equal(json_string_value(json_object_get(json_object_get(p, "src"), "evidence")),
                      src.evidence);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(p, "src"), "adapter_version")), 3);
  assert_string_equal(json_string_value(json_object_get(json_object_get(p, "src"), "signature")),
                      "xmldsig");
  /* nothing but these members: no raw identity number can hide in it */
  assert_int_equal(json_object_size(p), 7);

  /* one changed byte in the payload breaks it */
  {
    char *dot = strchr(jws, '.');
    dot[5] = dot[5] == 'A' ? 'B' : 'A';
    gw_free(payload);
    payload = NULL;
    assert_int_not_equal(gw_jws_verify_compact_set((const struct gw_jws_key *const *)keys, n_keys,
                                                   GW_ATTEST_TYP, jws, strlen(jws),
                                                   &payload, &plen, &used), GW_JWS_OK);
  }
  json_decref(p);
  json_decref(value);
  gw_free(payload);
  gw_free(jws);
  gw_free(jwks);
  gw_jws_keys_free(keys, n_keys);
  gw_attest_signer_free(s);
}

static void detached_body_signature(void **state)
{
  struct gw_attest_signer *s = signer();
  const char body[] = "{\"query_id\":\"q_1\"}";
  char *sig = gw_attest_sign_body(s, body, strlen(body));
  struct gw_jws_key *k;
  char kid[129];
  (void)state;
  assert_non_null(sig);
  assert_non_null(strstr(sig, ".."));
  assert_int_equal(gw_jws_key_load_pem(cur, &k), GW_JWS_OK);
  assert_int_equal(gw_jws_verify_detached(k, NULL, sig, strlen(sig), body, strlen(body), kid),
                   GW_JWS_OK);
  assert_int_not_equal(gw_jws_verify_detached(k, NULL, sig, strlen(sig), body, strlen(body) - 1, kid),
                       GW_JWS_OK);
  gw_jws_key_free(k);
  gw_free(sig);
  gw_attest_signer_free(s);
}

static void subject_ref_is_hmac_sha256(void **state)
{
  unsigned char *secret;
  size_t len;
  char err[256], ref[GW_SUBJECT_REF_LEN + 1], ref2[GW_SUBJECT_REF_LEN + 1];
  (void)state;
  assert_int_equal(gw_secret_load_hex(secret_file, &secret, &len, err, sizeof(err)), 0);
  assert_int_equal(len, 32);
  assert_int_equal(gw_subject_ref(secret, len, "11010519491231002X", ref), 0);
  /* computed independently: Python hmac.new(key, id, sha256), base64url */
  assert_string_equal(ref, "8v7zLjdPb32ansXh7iwaCAzfDwVJQ-3p5EarFmKHpmM");
  assert_int_equal(gw_subject_ref(secret, len, "440524188001010014", ref2), 0);
  assert_string_not_equal(ref, ref2);
  gw_free(secret);
}

static void bad_secret_files_refused(void **state)
{
  char path[300], err[256];
  unsigned char *secret;
  size_t len;
  FILE *fp;
  (void)state;
  snprintf(path, sizeof(path), "%s/short", dir);
  fp = fopen(path, "w");
  fputs("0011", fp);
  fclose(fp);
  assert_int_equal(gw_secret_load_hex(path, &secret, &len, err, sizeof(err)), -1);
  snprintf(path, sizeof(path), "%s/nothex", dir);
  fp = fopen(path, "w");
  fputs("zz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", fp);
  fclose(fp);
  assert_int_equal(gw_secret_load_hex(path, &secret, &len, err, sizeof(err)), -1);
  assert_null(strstr(err, "zz11"));        /* a secret is never echoed */
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(attestation_verifies_and_says_what_was_fetched),
    cmocka_unit_test(detached_body_signature),
    cmocka_unit_test(subject_ref_is_hmac_sha256),
    cmocka_unit_test(bad_secret_files_refused),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
