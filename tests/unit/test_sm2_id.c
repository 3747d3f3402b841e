/*
 * test_sm2_id.c - a configured SM2 distinguishing ID (crypto.sm2_id,
 * docs/crypto.md) on everything the gateway signs with SM2, and the
 * predicate attestation twins of the dual profile.
 *
 * With the ID "ALICE123@YAHOO.COM": an attestation signed by the signer
 * verifies through its own JWKS (whose SM2 JWK publishes "sm2_id") and with
 * the openssl command line under that ID, and fails under the GM/T 0009
 * default (a JWK without "sm2_id", and openssl with distid:1234567812345678);
 * a checkpoint's SM2 line verifies with its verifier key (which carries the
 * ID) and its r||s verifies under that ID only.  A dual signer's predicate
 * attestation and its GmSM2 twin share the payload bytes, and
 * gw_attest_twin_check refuses a twin over other bytes or by a P-256 key.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "gw/alloc.h"
#include "gw/attest.h"
#include "gw/b64.h"
#include "gw/checkpoint_sm2.h"
#include "gw/gm.h"
#include "gw/jws.h"

#define OTHER_ID "ALICE123@YAHOO.COM"

static char dir[] = "/tmp/gw-sm2id-XXXXXX";

static void path(char *out, size_t n, const char *name)
{
  snprintf(out, n, "%s/%s", dir, name);
}

static void write_file(const char *name, const void *data, size_t len)
{
  char p[256];
  FILE *f;
  path(p, sizeof(p), name);
  f = fopen(p, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, len, f), len);
  assert_int_equal(fclose(f), 0);
}

/* Runs a shell command in the temp dir; its exit status. */
static int sh(const char *cmd)
{
  char buf[2048];
  snprintf(buf, sizeof(buf), "cd '%s' && { %s; } >/dev/null 2>&1", dir, cmd);
  return system(buf);
}

static int setup(void **state)
{
  (void)state;
  if(!mkdtemp(dir))
    return -1;
  return sh("openssl genpkey -algorithm SM2 -out sm2.key && "
            "openssl pkey -in sm2.key -pubout -out sm2.pub && "
            "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out p256.key");
}

static int teardown(void **state)
{
  char cmd[300];
  (void)state;
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

/* A predicate-like payload (borrowed by the signer, which sets "iss"). */
static json_t *payload(void)
{
  return json_pack("{s:s, s:b, s:[s]}", "sub", "subject-ref", "result", 1, "basis",
                   "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
}

/* Writes the signing input and the DER signature of a compact JWS into
 * files `in` and `sig` for the openssl command line. */
static void jws_to_files(const char *jws, const char *in, const char *sig)
{
  const char *dot = strrchr(jws, '.');
  unsigned char raw[64], der[80];
  size_t raw_len = 0, der_len = 0;
  assert_non_null(dot);
  write_file(in, jws, (size_t)(dot - jws));
  assert_int_equal(gw_b64_decode(GW_B64_URL, dot + 1, strlen(dot + 1), raw, sizeof(raw),
                                 &raw_len), GW_B64_OK);
  assert_int_equal(raw_len, 64);
  assert_int_equal(gw_gm_sig_raw_to_der(raw, der, &der_len), GW_GM_OK);
  write_file(sig, der, der_len);
}

static void attestation_with_a_configured_id(void **state)
{
  char key[256], err[256], *jwks, *jws, *sm2 = (char *)1;
  struct gw_attest_keys k = { NULL, NULL, 0, NULL, NULL, 0, OTHER_ID };
  struct gw_attest_signer *s;
  struct gw_jws_key **keys = NULL;
  size_t n = 0, plen = 0;
  unsigned char *p = NULL;
  const struct gw_jws_key *used = NULL;
  json_t *set, *pl = payload();
  char *plain;
  (void)state;

  path(key, sizeof(key), "sm2.key");
  k.sm2 = key;
  s = gw_attest_signer_new_keys("gw-test", &k, err, sizeof(err));
  assert_non_null(s);
  /* gm (SM2 only): the attestation itself is GmSM2, no twin */
  jws = gw_attest_make_typed(s, GW_ATTEST_PREDICATE_TYP, pl, &sm2, err, sizeof(err));
  assert_non_null(jws);
  assert_null(sm2);

  /* the JWKS publishes the ID, and verifies under it */
  jwks = gw_attest_jwks(s);
  assert_non_null(jwks);
  set = json_loads(jwks, 0, NULL);
  assert_string_equal(json_string_value(json_object_get(
                        json_array_get(json_object_get(set, "keys"), 0), "sm2_id")), OTHER_ID);
  assert_int_equal(gw_jws_jwks_import(jwks, strlen(jwks), &keys, &n), GW_JWS_OK);
  assert_int_equal(gw_jws_verify_compact_set((const struct gw_jws_key *const *)keys, n,
                                             GW_ATTEST_PREDICATE_TYP, jws, strlen(jws), &p,
                                             &plen, &used), GW_JWS_OK);
  assert_string_equal(gw_jws_key_sm2_id(used), OTHER_ID);
  gw_free(p);
  p = NULL;
  gw_jws_keys_free(keys, n);
  /* a verifier assuming the default ID (the same JWK without "sm2_id") fails */
  json_object_del(json_array_get(json_object_get(set, "keys"), 0), "sm2_id");
  plain = json_dumps(set, JSON_COMPACT);
  assert_int_equal(gw_jws_jwks_import(plain, strlen(plain), &keys, &n), GW_JWS_OK);
  assert_string_equal(gw_jws_key_sm2_id(keys[0]), GW_GM_SM2_ID);
  assert_int_equal(gw_jws_verify_compact_set((const struct gw_jws_key *const *)keys, n,
                                             GW_ATTEST_PREDICATE_TYP, jws, strlen(jws), &p,
                                             &plen, &used), GW_JWS_EBADSIG);
  gw_jws_keys_free(keys, n);
  free(plain);
  /* a JWK whose sm2_id is empty or not text is not a key */
  json_object_set_new(json_array_get(json_object_get(set, "keys"), 0), "sm2_id",
                      json_string(""));
  plain = json_dumps(set, JSON_COMPACT);
  keys = NULL;
  n = 0;
  assert_int_equal(gw_jws_jwks_import(plain, strlen(plain), &keys, &n) == GW_JWS_OK && n > 0, 0);
  gw_jws_keys_free(keys, n);
  free(plain);
  json_decref(set);

  /* the openssl command line agrees: this ID verifies, the default does not */
  jws_to_files(jws, "a.in", "a.sig");
  assert_int_equal(sh("openssl dgst -sm3 -verify sm2.pub -sigopt distid:" OTHER_ID
                      " -signature a.sig a.in"), 0);
  assert_int_not_equal(sh("openssl dgst -sm3 -verify sm2.pub -sigopt distid:1234567812345678"
                          " -signature a.sig a.in"), 0);
  gw_free(jws);
  gw_free(jwks);
  gw_attest_signer_free(s);

  /* an ID the loader refuses */
  k.sm2_id = "";
  assert_null(gw_attest_signer_new_keys("gw-test", &k, err, sizeof(err)));
  assert_non_null(strstr(err, "distinguishing ID"));
  json_decref(pl);
}

static void dual_predicate_twins(void **state)
{
  char key[256], p256[256], err[256], *jwks, *jws, *sm2 = NULL, why[160];
  struct gw_attest_keys k = { NULL, NULL, 0, NULL, NULL, 0, NULL };
  struct gw_attest_signer *s;
  struct gw_jws_key **keys = NULL;
  size_t n = 0;
  json_t *pl = payload();
  const char *a, *b;
  char *bad;
  (void)state;

  path(key, sizeof(key), "sm2.key");
  path(p256, sizeof(p256), "p256.key");
  k.es256 = p256;
  k.sm2 = key;
  s = gw_attest_signer_new_keys("gw-test", &k, err, sizeof(err));
  assert_non_null(s);
  jws = gw_attest_make_typed(s, GW_ATTEST_PREDICATE_TYP, pl, &sm2, err, sizeof(err));
  assert_non_null(jws);
  assert_non_null(sm2);
  /* the same payload bytes under both */
  a = strchr(jws, '.');
  b = strchr(sm2, '.');
  assert_int_equal(strchr(a + 1, '.') - a, strchr(b + 1, '.') - b);
  assert_memory_equal(a, b, (size_t)(strchr(a + 1, '.') - a));
  jwks = gw_attest_jwks(s);
  assert_int_equal(gw_jws_jwks_import(jwks, strlen(jwks), &keys, &n), GW_JWS_OK);
  assert_int_equal(n, 2);
  assert_int_equal(gw_attest_twin_check((const struct gw_jws_key *const *)keys, n,
                                        GW_ATTEST_PREDICATE_TYP, jws, sm2, why, sizeof(why)), 0);
  /* the twin is not the ES256 attestation itself */
  assert_int_equal(gw_attest_twin_check((const struct gw_jws_key *const *)keys, n,
                                        GW_ATTEST_PREDICATE_TYP, jws, jws, why, sizeof(why)), -1);
  assert_non_null(strstr(why, "not SM2"));
  /* a typ that is not the twin's */
  assert_int_equal(gw_attest_twin_check((const struct gw_jws_key *const *)keys, n,
                                        GW_ATTEST_TYP, jws, sm2, why, sizeof(why)), -1);
  /* one byte of the twin's signature */
  bad = gw_strdup(sm2);
  bad[strlen(bad) - 5] = bad[strlen(bad) - 5] == 'A' ? 'B' : 'A';
  assert_int_equal(gw_attest_twin_check((const struct gw_jws_key *const *)keys, n,
                                        GW_ATTEST_PREDICATE_TYP, jws, bad, why, sizeof(why)), -1);
  gw_free(bad);
  /* a twin that verifies but over another payload than its primary's */
  {
    json_t *other = payload();
    char *jws2, *sm2b = NULL;
    json_object_set_new(other, "result", json_false());
    jws2 = gw_attest_make_typed(s, GW_ATTEST_PREDICATE_TYP, other, &sm2b, err, sizeof(err));
    assert_non_null(jws2);
    assert_int_equal(gw_attest_twin_check((const struct gw_jws_key *const *)keys, n,
                                          GW_ATTEST_PREDICATE_TYP, jws, sm2b, why, sizeof(why)),
                     -1);
    assert_non_null(strstr(why, "payload"));
    gw_free(jws2);
    gw_free(sm2b);
    json_decref(other);
  }
  gw_jws_keys_free(keys, n);
  gw_free(jwks);
  gw_free(jws);
  gw_free(sm2);
  gw_attest_signer_free(s);
  json_decref(pl);
}

static void checkpoint_line_with_a_configured_id(void **state)
{
  static const char text[] = "gw-test/audit/1\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n";
  char key[256], *note, *vkey = NULL, *vdef = NULL, *line, *plus;
  size_t len = sizeof(text) - 1, enc_len = 0, blob_len = 0;
  unsigned char enc[256], blob[128];
  struct gw_checkpoint_sm2 *s = NULL, *d = NULL;
  EVP_PKEY *pub = NULL;
  (void)state;

  path(key, sizeof(key), "sm2.key");
  assert_int_equal(gw_checkpoint_sm2_load_id(key, "gw-test/audit/1", OTHER_ID, &s),
                   GW_CHECKPOINT_OK);
  note = gw_strdup(text);
  assert_int_equal(gw_checkpoint_sm2_cosign(s, &note, &len), GW_CHECKPOINT_OK);
  assert_int_equal(gw_checkpoint_sm2_verifier_key(s, &vkey), GW_CHECKPOINT_OK);
  assert_int_equal(gw_checkpoint_sm2_verify(vkey, note, len), GW_CHECKPOINT_OK);
  /* the verifier key carries the ID after the point */
  plus = strchr(strchr(vkey, '+') + 1, '+');   /* base64 may hold a + too */
  assert_int_equal(gw_b64_decode(GW_B64_STD, plus + 1, strlen(plus + 1), enc, sizeof(enc),
                                 &enc_len), GW_B64_OK);
  assert_int_equal(enc_len, 1 + strlen(GW_CHECKPOINT_SM2_IDENT) + 65 + strlen(OTHER_ID));
  assert_memory_equal(enc + enc_len - strlen(OTHER_ID), OTHER_ID, strlen(OTHER_ID));
  /* the default-ID key of the same SM2 key is another key (no suffix) */
  assert_int_equal(gw_checkpoint_sm2_load_id(key, "gw-test/audit/1", NULL, &d),
                   GW_CHECKPOINT_OK);
  assert_int_equal(gw_checkpoint_sm2_verifier_key(d, &vdef), GW_CHECKPOINT_OK);
  assert_string_not_equal(vdef, vkey);
  assert_int_equal(gw_checkpoint_sm2_verify(vdef, note, len), GW_CHECKPOINT_EUNKNOWN_KEY);
  /* the line's r||s: verifies under the configured ID, not the default */
  line = strstr(note, "\n\n") + 2;
  line = strchr(line, ' ') + 1;
  line = strchr(line, ' ') + 1;
  assert_int_equal(gw_b64_decode(GW_B64_STD, line, strcspn(line, "\n"), blob, sizeof(blob),
                                 &blob_len), GW_B64_OK);
  assert_int_equal(blob_len, 4 + 64);
  assert_int_equal(gw_gm_sm2_from_coords(enc + 2 + strlen(GW_CHECKPOINT_SM2_IDENT),
                                         enc + 2 + strlen(GW_CHECKPOINT_SM2_IDENT) + 32, &pub),
                   GW_GM_OK);
  assert_int_equal(gw_gm_sm2_verify(pub, OTHER_ID, strlen(OTHER_ID), text, sizeof(text) - 2,
                                    blob + 4), GW_GM_OK);
  assert_int_equal(gw_gm_sm2_verify(pub, GW_GM_SM2_ID, GW_GM_SM2_ID_LEN, text,
                                    sizeof(text) - 2, blob + 4), GW_GM_EBADSIG);
  /* a changed ID in the verifier key no longer matches the key ID */
  enc[enc_len - 1] ^= 1;
  {
    char b64[400], forged[600];
    size_t bl = 0;
    assert_int_equal(gw_b64_encode(GW_B64_STD, enc, enc_len, b64, sizeof(b64), &bl), GW_B64_OK);
    b64[bl] = '\0';
    snprintf(forged, sizeof(forged), "%.*s%s", (int)(plus + 1 - vkey), vkey, b64);
    assert_int_equal(gw_checkpoint_sm2_verify(forged, note, len), GW_CHECKPOINT_EKEY);
  }
  /* IDs the loader refuses */
  gw_checkpoint_sm2_free(d);
  d = NULL;
  assert_int_equal(gw_checkpoint_sm2_load_id(key, "gw-test/audit/1", "", &d),
                   GW_CHECKPOINT_EINVAL);
  assert_int_equal(gw_checkpoint_sm2_load_id(key, "gw-test/audit/1", "id\nwith newline", &d),
                   GW_CHECKPOINT_EINVAL);
  EVP_PKEY_free(pub);
  gw_free(note);
  gw_free(vkey);
  gw_free(vdef);
  gw_checkpoint_sm2_free(s);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(attestation_with_a_configured_id),
    cmocka_unit_test(dual_predicate_twins),
    cmocka_unit_test(checkpoint_line_with_a_configured_id),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
