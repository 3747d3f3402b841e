/*
 * test_gm.c - the 国密 primitives (gw/gm.h): known answers for SM3
 * (GB/T 32905 "abc") and SM4 (GB/T 32907 example 1), HMAC-SM3 against its
 * RFC 2104 definition computed with SM3, an SM2 signature made by the
 * openssl command line that verifies here, the distinguishing-ID trap (that
 * signature fails under the empty ID OpenSSL 3.0 would use by default), our
 * signatures checked by the openssl command line, SM2 encryption opened by
 * `openssl pkeyutl -decrypt`, SM4-CBC with tampered padding, and an SM2
 * certificate chain made by the openssl command line that verifies with the
 * standard ID and fails with the empty one.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/pem.h>

#include "gw/alloc.h"
#include "gw/gm.h"

static char dir[] = "/tmp/gw-gm-XXXXXX";

static void unhex(const char *h, unsigned char *out, size_t *n)
{
  size_t i = 0;
  for(; h[2 * i]; i++) {
    unsigned v;
    assert_int_equal(sscanf(h + 2 * i, "%2x", &v), 1);
    out[i] = (unsigned char)v;
  }
  *n = i;
}

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

static size_t read_file(const char *name, unsigned char *buf, size_t cap)
{
  char p[256];
  size_t n;
  FILE *f;
  path(p, sizeof(p), name);
  f = fopen(p, "rb");
  assert_non_null(f);
  n = fread(buf, 1, cap, f);
  fclose(f);
  return n;
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
  return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
  char cmd[300];
  (void)state;
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

static void sm3_kat(void **state)
{
  unsigned char got[32], want[32];
  size_t n;
  (void)state;
  /* GB/T 32905-2016 appendix A, example 1 */
  unhex("66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0", want, &n);
  assert_int_equal(gw_gm_sm3("abc", 3, got), GW_GM_OK);
  assert_memory_equal(got, want, 32);
  /* example 2: "abcd" sixteen times */
  unhex("debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732", want, &n);
  assert_int_equal(gw_gm_sm3("abcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcd",
                             64, got), GW_GM_OK);
  assert_memory_equal(got, want, 32);
}

static void sm4_kat(void **state)
{
  unsigned char key[16], pt[16], want[16], iv[16] = { 0 }, ct[48], back[48];
  size_t n, ct_len = 0, back_len = 0;
  (void)state;
  /* GB/T 32907-2016 appendix A, example 1: one block, key = plaintext.
   * CBC under a zero IV encrypts the first block exactly as ECB does. */
  unhex("0123456789abcdeffedcba9876543210", key, &n);
  unhex("0123456789abcdeffedcba9876543210", pt, &n);
  unhex("681edf34d206965e86b3e94f536e4246", want, &n);
  assert_int_equal(gw_gm_sm4_cbc_encrypt(key, iv, pt, 16, ct, &ct_len), GW_GM_OK);
  assert_int_equal(ct_len, 32);  /* a full block of PKCS#7 padding follows */
  assert_memory_equal(ct, want, 16);
  assert_int_equal(gw_gm_sm4_cbc_decrypt(key, iv, ct, ct_len, back, &back_len), GW_GM_OK);
  assert_int_equal(back_len, 16);
  assert_memory_equal(back, pt, 16);
  /* padding that does not check, and lengths that cannot be CBC */
  ct[31] ^= 0x55;
  assert_int_equal(gw_gm_sm4_cbc_decrypt(key, iv, ct, ct_len, back, &back_len),
                   GW_GM_EDECRYPT);
  assert_int_equal(gw_gm_sm4_cbc_decrypt(key, iv, ct, 17, back, &back_len), GW_GM_EDECRYPT);
  assert_int_equal(gw_gm_sm4_cbc_decrypt(key, iv, ct, 0, back, &back_len), GW_GM_EDECRYPT);
}

/* HMAC-SM3 = SM3((K ^ opad) || SM3((K ^ ipad) || m)), block 64 bytes. */
static void hmac_sm3_definition(void **state)
{
  unsigned char key[20], blk[64 + 32 + 64], inner[32], want[32], got[32];
  const char *msg = "what do ya want for nothing?";
  size_t ml = strlen(msg);
  (void)state;
  memset(key, 0x0b, sizeof(key));
  memset(blk, 0, 64);
  memcpy(blk, key, sizeof(key));
  for(int i = 0; i < 64; i++)
    blk[i] ^= 0x36;
  memcpy(blk + 64, msg, ml);
  assert_int_equal(gw_gm_sm3(blk, 64 + ml, inner), GW_GM_OK);
  memset(blk, 0, 64);
  memcpy(blk, key, sizeof(key));
  for(int i = 0; i < 64; i++)
    blk[i] ^= 0x5c;
  memcpy(blk + 64, inner, 32);
  assert_int_equal(gw_gm_sm3(blk, 96, want), GW_GM_OK);
  assert_int_equal(gw_gm_hmac_sm3(key, sizeof(key), msg, ml, got), GW_GM_OK);
  assert_memory_equal(got, want, 32);
  assert_int_equal(gw_gm_hmac_sm3(NULL, 0, msg, ml, got), GW_GM_EINVAL);
}

/* A public key and a signature of "message digest" made with
 * `openssl dgst -sm3 -sign sm2.key -sigopt distid:1234567812345678`. */
static const char cli_pub[] =
  "-----BEGIN PUBLIC KEY-----\n"
  "MFkwEwYHKoZIzj0CAQYIKoEcz1UBgi0DQgAEBP5Htf3/MlhEIBmcq6AWx+gkVR2F\n"
  "7Kz6FKaVJStD3Q2tVpCmEvMrAQjnSjlBzNKb9OuunGkNjfI9F0GSV0Vc6Q==\n"
  "-----END PUBLIC KEY-----\n";
static const char cli_sig[] =
  "30450221009586f8815963cb7ed3e08867a02e217a19dd59730579b69508c4223042eb6f48"
  "0220117679fddc0b22cabbddb9c0a56b4420f338856caeee332795bbfad597093c32";

static void sm2_cli_signature_and_id_trap(void **state)
{
  unsigned char der[80], raw[64], back[80];
  size_t der_len, back_len = 0;
  char p[256];
  EVP_PKEY *pub = NULL;
  int priv = -1;
  (void)state;
  write_file("cli.pub", cli_pub, strlen(cli_pub));
  path(p, sizeof(p), "cli.pub");
  assert_int_equal(gw_gm_key_load(p, &pub, &priv), GW_GM_OK);
  assert_int_equal(priv, 0);
  unhex(cli_sig, der, &der_len);
  assert_int_equal(gw_gm_sig_der_to_raw(der, der_len, raw), GW_GM_OK);
  assert_int_equal(gw_gm_sig_raw_to_der(raw, back, &back_len), GW_GM_OK);
  assert_int_equal(back_len, der_len);
  assert_memory_equal(back, der, der_len);

  /* the standard ID: verifies */
  assert_int_equal(gw_gm_sm2_verify(pub, GW_GM_SM2_ID, GW_GM_SM2_ID_LEN,
                                    "message digest", 14, raw), GW_GM_OK);
  /* the trap: the same signature under the empty ID, OpenSSL 3.0's default */
  assert_int_equal(gw_gm_sm2_verify(pub, "", 0, "message digest", 14, raw),
                   GW_GM_EBADSIG);
  /* and under another ID, or over another message */
  assert_int_equal(gw_gm_sm2_verify(pub, "ALICE123@YAHOO.COM", 18,
                                    "message digest", 14, raw), GW_GM_EBADSIG);
  assert_int_equal(gw_gm_sm2_verify(pub, GW_GM_SM2_ID, GW_GM_SM2_ID_LEN,
                                    "message digesT", 14, raw), GW_GM_EBADSIG);
  EVP_PKEY_free(pub);
}

static void sm2_sign_checked_by_cli(void **state)
{
  unsigned char raw[64], der[80];
  size_t der_len = 0;
  char p[256];
  EVP_PKEY *key = NULL, *pub = NULL;
  unsigned char x[32], y[32];
  int priv = 0;
  const char *msg = "{\"fact\":\"education.degrees\"}";
  (void)state;
  assert_int_equal(sh("openssl genpkey -algorithm SM2 -out s.key && "
                      "openssl pkey -in s.key -pubout -out s.pub"), 0);
  path(p, sizeof(p), "s.key");
  assert_int_equal(gw_gm_key_load(p, &key, &priv), GW_GM_OK);
  assert_int_equal(priv, 1);
  assert_int_equal(gw_gm_sm2_sign(key, GW_GM_SM2_ID, GW_GM_SM2_ID_LEN, msg, strlen(msg),
                                  raw), GW_GM_OK);
  assert_int_equal(gw_gm_sig_raw_to_der(raw, der, &der_len), GW_GM_OK);
  write_file("m", msg, strlen(msg));
  write_file("m.sig", der, der_len);
  assert_int_equal(sh("openssl dgst -sm3 -verify s.pub -sigopt distid:1234567812345678 "
                      "-signature m.sig m"), 0);
  /* the CLI without the ID is the trap from the other side */
  assert_int_not_equal(sh("openssl dgst -sm3 -verify s.pub -signature m.sig m"), 0);
  /* a key rebuilt from its coordinates verifies the same signature */
  assert_int_equal(gw_gm_sm2_coords(key, x, y), GW_GM_OK);
  assert_int_equal(gw_gm_sm2_from_coords(x, y, &pub), GW_GM_OK);
  assert_int_equal(gw_gm_sm2_verify(pub, GW_GM_SM2_ID, GW_GM_SM2_ID_LEN, msg, strlen(msg),
                                    raw), GW_GM_OK);
  /* a point off the curve is refused */
  y[31] ^= 1;
  EVP_PKEY_free(pub);
  pub = NULL;
  assert_int_equal(gw_gm_sm2_from_coords(x, y, &pub), GW_GM_EKEY);
  assert_null(pub);
  EVP_PKEY_free(key);
  /* a P-256 key is not an SM2 key */
  assert_int_equal(sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 "
                      "-out p256.key"), 0);
  path(p, sizeof(p), "p256.key");
  key = NULL;
  assert_int_equal(gw_gm_key_load(p, &key, NULL), GW_GM_EKEY);
  assert_null(key);
}

static void sm2_encrypt_opened_by_cli(void **state)
{
  unsigned char *ct = NULL, *pt = NULL, got[64];
  size_t ct_len = 0, pt_len = 0, n;
  char p[256];
  EVP_PKEY *pub = NULL, *key = NULL;
  const unsigned char sk[16] = "0123456789abcdef";
  (void)state;
  assert_int_equal(sh("openssl genpkey -algorithm SM2 -out e.key && "
                      "openssl pkey -in e.key -pubout -out e.pub"), 0);
  path(p, sizeof(p), "e.pub");
  assert_int_equal(gw_gm_key_load(p, &pub, NULL), GW_GM_OK);
  assert_int_equal(gw_gm_sm2_encrypt(pub, sk, sizeof(sk), &ct, &ct_len), GW_GM_OK);
  write_file("k.enc", ct, ct_len);
  assert_int_equal(sh("openssl pkeyutl -decrypt -inkey e.key -in k.enc -out k.dec"), 0);
  n = read_file("k.dec", got, sizeof(got));
  assert_int_equal(n, sizeof(sk));
  assert_memory_equal(got, sk, sizeof(sk));
  /* and ours opens it too; a flipped byte does not open */
  path(p, sizeof(p), "e.key");
  assert_int_equal(gw_gm_key_load(p, &key, NULL), GW_GM_OK);
  assert_int_equal(gw_gm_sm2_decrypt(key, ct, ct_len, &pt, &pt_len), GW_GM_OK);
  assert_int_equal(pt_len, sizeof(sk));
  assert_memory_equal(pt, sk, sizeof(sk));
  gw_free(pt);
  pt = NULL;
  ct[ct_len - 1] ^= 1;
  assert_int_equal(gw_gm_sm2_decrypt(key, ct, ct_len, &pt, &pt_len), GW_GM_EDECRYPT);
  assert_null(pt);
  gw_free(ct);
  EVP_PKEY_free(pub);
  EVP_PKEY_free(key);
}

static X509 *load_cert(const char *name)
{
  char p[256];
  X509 *x;
  FILE *f;
  path(p, sizeof(p), name);
  f = fopen(p, "r");
  assert_non_null(f);
  x = PEM_read_X509(f, NULL, NULL, NULL);
  fclose(f);
  assert_non_null(x);
  return x;
}

static void sm2_chain_needs_the_id(void **state)
{
  X509_STORE *store;
  X509 *ca, *leaf;
  char err[256];
  (void)state;
  assert_int_equal(sh(
    "openssl genpkey -algorithm SM2 -out ca.key && "
    "openssl req -new -x509 -key ca.key -sm3 -sigopt distid:1234567812345678 "
    "  -subj /CN=sm2-ca -days 10 -addext basicConstraints=critical,CA:TRUE "
    "  -addext keyUsage=critical,keyCertSign -out ca.pem && "
    "openssl genpkey -algorithm SM2 -out leaf.key && "
    "openssl req -new -key leaf.key -sm3 -sigopt distid:1234567812345678 "
    "  -subj /CN=sm2-leaf -out leaf.csr && "
    "openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -sm3 "
    "  -sigopt distid:1234567812345678 -vfyopt distid:1234567812345678 "
    "  -set_serial 2 -days 10 -out leaf.pem"), 0);
  ca = load_cert("ca.pem");
  leaf = load_cert("leaf.pem");
  store = X509_STORE_new();
  assert_int_equal(X509_STORE_add_cert(store, ca), 1);
  /* the empty ID (what OpenSSL does unless told): the chain fails */
  assert_int_equal(gw_gm_verify_chain(store, leaf, NULL, "", 0, err, sizeof(err)),
                   GW_GM_ECERT);
  assert_non_null(strstr(err, "signature"));
  /* the standard ID: it verifies */
  assert_int_equal(gw_gm_verify_chain(store, leaf, NULL, GW_GM_SM2_ID, GW_GM_SM2_ID_LEN,
                                      err, sizeof(err)), GW_GM_OK);
  X509_STORE_free(store);
  /* a leaf whose issuer is not in the store */
  store = X509_STORE_new();
  assert_int_equal(gw_gm_verify_chain(store, leaf, NULL, GW_GM_SM2_ID, GW_GM_SM2_ID_LEN,
                                      err, sizeof(err)), GW_GM_ECERT);
  X509_STORE_free(store);
  X509_free(ca);
  X509_free(leaf);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(sm3_kat),
    cmocka_unit_test(sm4_kat),
    cmocka_unit_test(hmac_sm3_definition),
    cmocka_unit_test(sm2_cli_signature_and_id_trap),
    cmocka_unit_test(sm2_sign_checked_by_cli),
    cmocka_unit_test(sm2_encrypt_opened_by_cli),
    cmocka_unit_test(sm2_chain_needs_the_id),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
