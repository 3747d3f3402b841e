/*
 * test_checkpoint.c - C2SP checkpoints in signed notes: the published Go
 * test vector of golang.org/x/mod/sumdb/note (its key, verifier key string
 * and signed note), exact bytes of what we sign, every refusal the header
 * promises (wrong key, tampered body, wrong origin, malformed notes and
 * verifier keys), other signers' lines ignored, and a note assembled here by
 * hand with OpenSSL, not by the module, accepted.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "gw/alloc.h"
#include "gw/b64.h"
#include "gw/checkpoint.h"

/* golang.org/x/mod/sumdb/note: the example key and note of its docs/tests. */
#define GO_VKEY "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
#define GO_SKEY_B64 "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz" /* 0x01 || seed */
#define GO_TEXT "If you think cryptography is the answer to your problem,\n" \
                "then you don't know what your problem is.\n"
#define GO_NOTE GO_TEXT "\n\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZ" \
                "InNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"

#define ORIGIN "gw.test.example/audit/00112233445566778899aabbccddeeff"
#define EMDASH "\xe2\x80\x94"

static char dir[] = "/tmp/gw-ckpt-XXXXXX";
static char key_a[300], key_b[300], key_ec[300];

static int setup(void **state)
{
  char cmd[1200];
  (void)state;
  if(!mkdtemp(dir))
    return -1;
  snprintf(key_a, sizeof(key_a), "%s/a.key", dir);
  snprintf(key_b, sizeof(key_b), "%s/b.key", dir);
  snprintf(key_ec, sizeof(key_ec), "%s/ec.key", dir);
  snprintf(cmd, sizeof(cmd),
           "openssl genpkey -algorithm ed25519 -out %s 2>/dev/null && "
           "openssl genpkey -algorithm ed25519 -out %s 2>/dev/null && "
           "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out %s 2>/dev/null",
           key_a, key_b, key_ec);
  return system(cmd) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
  char cmd[300];
  (void)state;
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

static struct gw_checkpoint_signer *signer(const char *path, const char *name)
{
  struct gw_checkpoint_signer *s = NULL;
  assert_int_equal(gw_checkpoint_signer_load(path, name, &s), GW_CHECKPOINT_OK);
  return s;
}

static struct gw_checkpoint_verifier *verifier_of(const struct gw_checkpoint_signer *s)
{
  struct gw_checkpoint_verifier *v = NULL;
  char *vkey = NULL;
  assert_int_equal(gw_checkpoint_signer_verifier_key(s, &vkey), GW_CHECKPOINT_OK);
  assert_int_equal(gw_checkpoint_verifier_new(vkey, &v), GW_CHECKPOINT_OK);
  gw_free(vkey);
  return v;
}

static void test_root(uint8_t root[32])
{
  for(int i = 0; i < 32; i++)
    root[i] = (uint8_t)(i * 7 + 1);
}

static enum gw_checkpoint_result verify_str(const struct gw_checkpoint_verifier *v,
                                            const char *note, const char *origin)
{
  struct gw_checkpoint cp;
  return gw_checkpoint_verify(v, note, strlen(note), origin, &cp);
}

/* The Go package's own example: same verifier key from the same seed, and
 * its note verifies here (the body is not a checkpoint, so the result after
 * a good signature is EBODY), but not once a letter changes. */
static void test_go_vector(void **state)
{
  static const uint8_t pkcs8_prefix[16] = {
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20
  };
  struct gw_checkpoint_verifier *v = NULL;
  struct gw_checkpoint_signer *s = NULL;
  uint8_t raw[40], der[48];
  size_t raw_len = 0;
  char *pem_body = NULL, pem[256], *vkey = NULL, *tampered;
  size_t pem_len = 0;
  (void)state;

  assert_int_equal(gw_b64_decode(GW_B64_STD, GO_SKEY_B64, strlen(GO_SKEY_B64), raw,
                                 sizeof(raw), &raw_len), GW_B64_OK);
  assert_int_equal(raw_len, 33);
  assert_int_equal(raw[0], 0x01);
  memcpy(der, pkcs8_prefix, sizeof(pkcs8_prefix));
  memcpy(der + 16, raw + 1, 32);
  assert_int_equal(gw_b64_encode_alloc(GW_B64_STD, der, 48, &pem_body, &pem_len), GW_B64_OK);
  snprintf(pem, sizeof(pem), "-----BEGIN PRIVATE KEY-----\n%s\n-----END PRIVATE KEY-----\n",
           pem_body);
  assert_int_equal(gw_checkpoint_signer_from_pem(pem, strlen(pem), "PeterNeumann", &s),
                   GW_CHECKPOINT_OK);
  assert_int_equal(gw_checkpoint_signer_verifier_key(s, &vkey), GW_CHECKPOINT_OK);
  assert_string_equal(vkey, GO_VKEY);

  assert_int_equal(gw_checkpoint_verifier_new(GO_VKEY, &v), GW_CHECKPOINT_OK);
  assert_int_equal(verify_str(v, GO_NOTE, NULL), GW_CHECKPOINT_EBODY);
  tampered = gw_strdup(GO_NOTE);
  memcpy(strstr(tampered, "cryptography"), "cryptographY", 12);
  assert_int_equal(verify_str(v, tampered, NULL), GW_CHECKPOINT_EBADSIG);

  gw_free(tampered);
  gw_free(vkey);
  gw_free(pem_body);
  gw_checkpoint_verifier_free(v);
  gw_checkpoint_signer_free(s);
}

/* Exact bytes: body, blank line, one signature line by the key name. */
static void test_sign_format_and_roundtrip(void **state)
{
  struct gw_checkpoint_signer *s = signer(key_a, ORIGIN);
  struct gw_checkpoint_verifier *v = verifier_of(s);
  struct gw_checkpoint cp;
  uint8_t root[32], blob[80];
  char *note = NULL, root64[48], want[256], *sigline;
  size_t len = 0, blob_len = 0;
  (void)state;

  test_root(root);
  assert_int_equal(gw_checkpoint_sign(s, ORIGIN, 20852163, root, &note, &len), GW_CHECKPOINT_OK);
  assert_int_equal(strlen(note), len);
  assert_int_equal(gw_b64_encode(GW_B64_STD, root, 32, root64, sizeof(root64), NULL), GW_B64_OK);
  snprintf(want, sizeof(want), "%s\n20852163\n%s\n\n" EMDASH " %s ", ORIGIN, root64, ORIGIN);
  assert_memory_equal(note, want, strlen(want));
  sigline = note + strlen(want);
  assert_int_equal(note[len - 1], '\n');
  assert_null(memchr(sigline, ' ', (size_t)(note + len - sigline)));
  assert_int_equal(gw_b64_decode(GW_B64_STD, sigline, (size_t)(note + len - 1 - sigline), blob,
                                 sizeof(blob), &blob_len), GW_B64_OK);
  assert_int_equal(blob_len, 68);

  assert_int_equal(gw_checkpoint_verify(v, note, len, ORIGIN, &cp), GW_CHECKPOINT_OK);
  assert_string_equal(cp.origin, ORIGIN);
  assert_true(cp.size == 20852163);
  assert_memory_equal(cp.root, root, 32);
  assert_int_equal(gw_checkpoint_verify(v, note, len, NULL, &cp), GW_CHECKPOINT_OK);
  /* Parsing alone gives the same. */
  memset(&cp, 0, sizeof(cp));
  assert_int_equal(gw_checkpoint_parse_body(note, len, &cp), GW_CHECKPOINT_OK);
  assert_true(cp.size == 20852163);

  /* Size 0 and the largest size are written as such. */
  gw_free(note);
  assert_int_equal(gw_checkpoint_sign(s, ORIGIN, 0, root, &note, &len), GW_CHECKPOINT_OK);
  assert_non_null(strstr(note, "\n0\n"));
  assert_int_equal(gw_checkpoint_verify(v, note, len, ORIGIN, &cp), GW_CHECKPOINT_OK);
  assert_true(cp.size == 0);
  gw_free(note);
  assert_int_equal(gw_checkpoint_sign(s, ORIGIN, (uint64_t)1 << 63, root, &note, &len),
                   GW_CHECKPOINT_OK);
  assert_int_equal(gw_checkpoint_verify(v, note, len, ORIGIN, &cp), GW_CHECKPOINT_OK);
  assert_true(cp.size == (uint64_t)1 << 63);
  gw_free(note);
  assert_int_equal(gw_checkpoint_sign(s, ORIGIN, ((uint64_t)1 << 63) + 1, root, &note, &len),
                   GW_CHECKPOINT_EINVAL);
  assert_null(note);

  gw_checkpoint_verifier_free(v);
  gw_checkpoint_signer_free(s);
}

static void test_wrong_key_tamper_origin(void **state)
{
  struct gw_checkpoint_signer *a = signer(key_a, ORIGIN), *b = signer(key_b, ORIGIN);
  struct gw_checkpoint_signer *a_other = signer(key_a, "other.example/log");
  struct gw_checkpoint_verifier *va = verifier_of(a), *vb = verifier_of(b);
  struct gw_checkpoint_verifier *va_other = verifier_of(a_other);
  uint8_t root[32];
  char *note = NULL, *t;
  size_t len = 0;
  (void)state;

  test_root(root);
  assert_int_equal(gw_checkpoint_sign(a, ORIGIN, 1234, root, &note, &len), GW_CHECKPOINT_OK);
  /* Another key under the same name has another key ID: not its signature. */
  assert_int_equal(verify_str(vb, note, NULL), GW_CHECKPOINT_EUNKNOWN_KEY);
  /* The same key under another name: also unknown. */
  assert_int_equal(verify_str(va_other, note, NULL), GW_CHECKPOINT_EUNKNOWN_KEY);
  /* The right key but another origin expected: refused after verifying. */
  assert_int_equal(verify_str(va, note, "gw.test.example/audit/ffff"), GW_CHECKPOINT_EORIGIN);

  /* Tampered size, root and origin lines all break the signature. */
  t = gw_strdup(note);
  memcpy(strstr(t, "\n1234\n"), "\n1235\n", 6);
  assert_int_equal(verify_str(va, t, NULL), GW_CHECKPOINT_EBADSIG);
  gw_free(t);
  t = gw_strdup(note);
  t[strlen(ORIGIN) + 6] ^= 0x01;  /* a character of the root line */
  assert_int_equal(verify_str(va, t, NULL), GW_CHECKPOINT_EBADSIG);
  gw_free(t);
  t = gw_strdup(note);
  t[0] = 'h';
  assert_int_equal(verify_str(va, t, NULL), GW_CHECKPOINT_EBADSIG);
  gw_free(t);
  /* A flipped signature bit. */
  t = gw_strdup(note);
  t[len - 10] = t[len - 10] == 'A' ? 'B' : 'A';
  assert_int_equal(verify_str(va, t, NULL), GW_CHECKPOINT_EBADSIG);
  gw_free(t);

  gw_free(note);
  gw_checkpoint_verifier_free(va);
  gw_checkpoint_verifier_free(vb);
  gw_checkpoint_verifier_free(va_other);
  gw_checkpoint_signer_free(a);
  gw_checkpoint_signer_free(b);
  gw_checkpoint_signer_free(a_other);
}

/* Signature lines of other keys (witnesses) are ignored, before or after. */
static void test_other_signatures_ignored(void **state)
{
  struct gw_checkpoint_signer *a = signer(key_a, ORIGIN), *b = signer(key_b, "witness.example/w1");
  struct gw_checkpoint_verifier *va = verifier_of(a);
  uint8_t root[32], junk[68];
  char *na = NULL, *nb = NULL, *both, junk64[100];
  size_t la = 0, lb = 0, body;
  (void)state;

  test_root(root);
  assert_int_equal(gw_checkpoint_sign(a, ORIGIN, 7, root, &na, &la), GW_CHECKPOINT_OK);
  assert_int_equal(gw_checkpoint_sign(b, ORIGIN, 7, root, &nb, &lb), GW_CHECKPOINT_OK);
  body = (size_t)(strstr(na, "\n\n") - na) + 2;
  /* body + b's line + a's line */
  both = gw_malloc(la + lb + 1);
  memcpy(both, nb, lb);
  memcpy(both + lb, na + body, la - body);
  both[lb + la - body] = '\0';
  assert_int_equal(verify_str(va, both, ORIGIN), GW_CHECKPOINT_OK);
  gw_free(both);

  /* 15 unknown lines plus ours (16 signatures, which the spec requires
   * verifiers to accept), then 65 lines, over our cap. */
  memset(junk, 0x5a, sizeof(junk));
  assert_int_equal(gw_b64_encode(GW_B64_STD, junk, sizeof(junk), junk64, sizeof(junk64), NULL),
                   GW_B64_OK);
  for(int n = 15; n <= 64; n += 49) {
    size_t cap = la + (size_t)n * 128 + 1, off;
    both = gw_malloc(cap);
    off = (size_t)snprintf(both, cap, "%.*s", (int)la, na);
    for(int i = 0; i < n; i++)
      off += (size_t)snprintf(both + off, cap - off, EMDASH " w%d.example %s\n", i, junk64);
    assert_int_equal(verify_str(va, both, ORIGIN),
                     n == 15 ? GW_CHECKPOINT_OK : GW_CHECKPOINT_ETOOBIG);
    gw_free(both);
  }

  gw_free(na);
  gw_free(nb);
  gw_checkpoint_verifier_free(va);
  gw_checkpoint_signer_free(a);
  gw_checkpoint_signer_free(b);
}

/* Builds a note the way the spec says, with OpenSSL directly: an
 * implementation of the format that shares nothing with the module. */
static char *hand_note(const char *keyfile, const char *name, const char *text)
{
  static const uint8_t sep[2] = { 0x0a, 0x01 };
  uint8_t pub[32], blob[68], md[32];
  size_t publen = 32, siglen = 64;
  char b64[100], *out;
  EVP_PKEY *pk;
  EVP_MD_CTX *ctx;
  FILE *f = fopen(keyfile, "r");
  size_t cap;

  assert_non_null(f);
  pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
  fclose(f);
  assert_non_null(pk);
  assert_int_equal(EVP_PKEY_get_raw_public_key(pk, pub, &publen), 1);
  ctx = EVP_MD_CTX_new();
  assert_int_equal(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL), 1);
  assert_int_equal(EVP_DigestUpdate(ctx, name, strlen(name)), 1);
  assert_int_equal(EVP_DigestUpdate(ctx, sep, 2), 1);
  assert_int_equal(EVP_DigestUpdate(ctx, pub, 32), 1);
  assert_int_equal(EVP_DigestFinal_ex(ctx, md, NULL), 1);
  memcpy(blob, md, 4);
  EVP_MD_CTX_reset(ctx);
  assert_int_equal(EVP_DigestSignInit(ctx, NULL, NULL, NULL, pk), 1);
  assert_int_equal(EVP_DigestSign(ctx, blob + 4, &siglen, (const uint8_t *)text, strlen(text)), 1);
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pk);
  assert_int_equal(gw_b64_encode(GW_B64_STD, blob, 68, b64, sizeof(b64), NULL), GW_B64_OK);
  cap = strlen(text) + strlen(name) + strlen(b64) + 16;
  out = gw_malloc(cap);
  snprintf(out, cap, "%s\n" EMDASH " %s %s\n", text, name, b64);
  return out;
}

static void test_hand_made_notes(void **state)
{
  struct gw_checkpoint_signer *a = signer(key_a, ORIGIN);
  struct gw_checkpoint_verifier *va = verifier_of(a);
  char text[256], *n;
  (void)state;

  snprintf(text, sizeof(text), ORIGIN "\n42\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n");
  n = hand_note(key_a, ORIGIN, text);
  assert_int_equal(verify_str(va, n, ORIGIN), GW_CHECKPOINT_OK);
  gw_free(n);
  /* Extension lines are signed too and allowed. */
  snprintf(text, sizeof(text),
           ORIGIN "\n42\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\nextension line\n");
  n = hand_note(key_a, ORIGIN, text);
  assert_int_equal(verify_str(va, n, ORIGIN), GW_CHECKPOINT_OK);
  gw_free(n);

  /* Validly signed, but not checkpoint bodies. */
  static const char *const bad_bodies[] = {
    ORIGIN "\n042\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",  /* leading zero */
    ORIGIN "\n-1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
    ORIGIN "\n9223372036854775809\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
    ORIGIN "\n18446744073709551616\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
    ORIGIN "\n42\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n",  /* 31 bytes */
    ORIGIN "\n42\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=\n",  /* non-canonical */
    ORIGIN "\n42\n",
    "\n42\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",         /* empty origin */
    ORIGIN "\n42\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\nafter blank\n",
  };
  for(size_t i = 0; i < sizeof(bad_bodies) / sizeof(bad_bodies[0]); i++) {
    n = hand_note(key_a, ORIGIN, bad_bodies[i]);
    assert_int_equal(verify_str(va, n, NULL), GW_CHECKPOINT_EBODY);
    gw_free(n);
  }
  gw_checkpoint_verifier_free(va);
  gw_checkpoint_signer_free(a);
}

static void test_malformed_notes(void **state)
{
  struct gw_checkpoint_signer *a = signer(key_a, ORIGIN);
  struct gw_checkpoint_verifier *va = verifier_of(a);
  uint8_t root[32];
  char *note = NULL, *t;
  size_t len = 0, sig;
  (void)state;

  test_root(root);
  assert_int_equal(gw_checkpoint_sign(a, ORIGIN, 5, root, &note, &len), GW_CHECKPOINT_OK);
  sig = (size_t)(strstr(note, "\n\n") - note) + 2;
  /* No final newline. */
  assert_int_equal(gw_checkpoint_verify(va, note, len - 1, NULL, NULL), GW_CHECKPOINT_EFORMAT);
  /* No blank line: the signature line glued to the body. */
  t = gw_strdup(note);
  memmove(t + sig - 1, t + sig, len - sig + 1);
  assert_int_equal(verify_str(va, t, NULL), GW_CHECKPOINT_EFORMAT);
  gw_free(t);
  /* A hyphen instead of the em dash. */
  t = gw_malloc(len + 1);
  snprintf(t, len + 1, "%.*s- %s", (int)sig, note, note + sig + 4);
  assert_int_equal(verify_str(va, t, NULL), GW_CHECKPOINT_EFORMAT);
  gw_free(t);
  /* A control character, a NUL, bad UTF-8 anywhere. */
  static const char bytes[] = { '\t', '\0', (char)0xff, (char)0xc0, '\r' };
  for(size_t i = 0; i < sizeof(bytes); i++) {
    t = gw_malloc(len + 1);
    memcpy(t, note, len + 1);
    t[3] = bytes[i];
    assert_int_equal(gw_checkpoint_verify(va, t, len, NULL, NULL), GW_CHECKPOINT_EFORMAT);
    gw_free(t);
  }
  /* Signature lines: empty base64, too short, a name with '+' or a Unicode
   * space, bad base64. */
  static const char *const lines[] = {
    EMDASH " x.example \n", EMDASH " x.example AAAA\n", EMDASH " a+b AAAAAAAA\n",
    EMDASH " a\xc2\xa0" "b AAAAAAAA\n", EMDASH " x.example AAAAAAA*\n", EMDASH "  AAAAAAAA\n",
    EMDASH " x.example\n",
  };
  for(size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
    size_t cap = len + strlen(lines[i]) + 1;
    t = gw_malloc(cap);
    snprintf(t, cap, "%s%s", note, lines[i]);
    assert_int_equal(verify_str(va, t, NULL), GW_CHECKPOINT_EFORMAT);
    gw_free(t);
  }
  /* Oversized. */
  t = gw_malloc(GW_CHECKPOINT_NOTE_MAX + 2);
  memset(t, 'a', GW_CHECKPOINT_NOTE_MAX + 1);
  t[GW_CHECKPOINT_NOTE_MAX + 1] = '\0';
  assert_int_equal(verify_str(va, t, NULL), GW_CHECKPOINT_ETOOBIG);
  gw_free(t);

  gw_free(note);
  gw_checkpoint_verifier_free(va);
  gw_checkpoint_signer_free(a);
}

static void test_verifier_keys_and_loading(void **state)
{
  struct gw_checkpoint_verifier *v = NULL;
  struct gw_checkpoint_signer *s = NULL;
  uint8_t root[32] = { 0 };
  char *note = NULL;
  size_t len = 0;
  (void)state;

  static const char *const bad[] = {
    "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  /* wrong id */
    "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  /* upper hex */
    "Peterneumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  /* other name */
    "PeterNeumann+c74f20a3+Ahpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  /* type 0x02 */
    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10",    /* short key */
    "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",              /* no name */
    "PeterNeumann+c74f20a3", "PeterNeumann", "",
  };
  for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_int_equal(gw_checkpoint_verifier_new(bad[i], &v), GW_CHECKPOINT_EKEY);
    assert_null(v);
  }

  assert_int_equal(gw_checkpoint_signer_load(key_ec, ORIGIN, &s), GW_CHECKPOINT_EKEY);
  assert_null(s);
  assert_int_equal(gw_checkpoint_signer_load("/nonexistent/k.pem", ORIGIN, &s), GW_CHECKPOINT_EIO);
  assert_int_equal(gw_checkpoint_signer_load(key_a, "a b", &s), GW_CHECKPOINT_EINVAL);
  assert_int_equal(gw_checkpoint_signer_load(key_a, "a+b", &s), GW_CHECKPOINT_EINVAL);
  assert_int_equal(gw_checkpoint_signer_load(key_a, "", &s), GW_CHECKPOINT_EINVAL);
  s = signer(key_a, ORIGIN);
  assert_string_equal(gw_checkpoint_signer_name(s), ORIGIN);
  assert_int_equal(gw_checkpoint_sign(s, "bad origin", 1, root, &note, &len), GW_CHECKPOINT_EINVAL);
  assert_int_equal(gw_checkpoint_sign(s, "", 1, root, &note, &len), GW_CHECKPOINT_EINVAL);
  assert_null(note);
  gw_checkpoint_signer_free(s);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_go_vector),
    cmocka_unit_test(test_sign_format_and_roundtrip),
    cmocka_unit_test(test_wrong_key_tamper_origin),
    cmocka_unit_test(test_other_signatures_ignored),
    cmocka_unit_test(test_hand_made_notes),
    cmocka_unit_test(test_malformed_notes),
    cmocka_unit_test(test_verifier_keys_and_loading),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
