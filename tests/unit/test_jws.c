/*
 * test_jws.c - the JWS module against published and independently computed
 * values: RFC 7515 appendix A.3, RFC 7638 thumbprints computed with the
 * openssl command line, exact header and JWKS bytes; then every refusal the
 * header promises, each on a token that is otherwise correctly signed (the
 * test signs those itself with OpenSSL, so the refusal cannot be a mere
 * signature mismatch), detached JWS, the size caps, key loading, and
 * concurrent use of one key.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pthread.h>
#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "gw/alloc.h"
#include "gw/b64.h"
#include "gw/jws.h"

/* Two throwaway P-256 keys made for this test with
 *   openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256
 * and K1's public half with `openssl pkey -in k1.pem -pubout`. */
static const char K1_PEM[] =
  "-----BEGIN PRIVATE KEY-----\n"
  "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgkoaRhmAP4mvdQMbx\n"
  "GaxD4f5nKbNVse8rNmlV/mJgHWKhRANCAAQnYXC4n1u48T205lfqNOGx0UjkK1aw\n"
  "IDn6W26+OWIKXve1S0dSW4FSbLA/WpG84Xph6iCn4+pOJya/wD8Dg5Wm\n"
  "-----END PRIVATE KEY-----\n";
static const char K1_PUB_PEM[] =
  "-----BEGIN PUBLIC KEY-----\n"
  "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEJ2FwuJ9buPE9tOZX6jThsdFI5CtW\n"
  "sCA5+ltuvjliCl73tUtHUluBUmywP1qRvOF6Yeogp+PqTicmv8A/A4OVpg==\n"
  "-----END PUBLIC KEY-----\n";
static const char K2_PEM[] =
  "-----BEGIN PRIVATE KEY-----\n"
  "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgQL9gfUuWe6LJxvPY\n"
  "tQhe4R15uxq+y0pMg077UkjOYnShRANCAAR6dBqmmwNZA5BYoL3zIv9bIhziL7pJ\n"
  "aKJtI//JMNi+2em3H+/nE7WthZYZt1+rADa9IZv/raCBa1nU5MciWiUO\n"
  "-----END PRIVATE KEY-----\n";
/* openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 */
static const char P384_PEM[] =
  "-----BEGIN PRIVATE KEY-----\n"
  "MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDD7UA3Q0g4vZeZpxJ6z\n"
  "kLLOYX1rpRNtNw0GplLNb/yS2TTfiTOoxjbDvHDhdSuU6H+hZANiAARuFflTmDa/\n"
  "Dl0sOaaecsbIcMJf+jZ9UskuAOsL80O3+AKDMv1IDQgwP6TEQJLLPxWTTzUdxvhl\n"
  "eekKgwKFE5dSGzZA4nZrwTX0Vf4NkgCwqVnToPx8jSecvq3dCWZwGW8=\n"
  "-----END PRIVATE KEY-----\n";
/* openssl ecparam -name prime256v1 -genkey -noout: SEC1, not PKCS#8 */
static const char SEC1_PEM[] =
  "-----BEGIN EC PRIVATE KEY-----\n"
  "MHcCAQEEICNI8J9e1dIYkuw2+riZ9bF0WdoLo3E1bg2zjEaKDulGoAoGCCqGSM49\n"
  "AwEHoUQDQgAE3xK9V1buMsWVfWoSi/KchyGYqm5zI709upr0OI05wzm7LhDe+ND0\n"
  "71G54x3A67DpNzJNURmcrwc5Mf8JPfth6A==\n"
  "-----END EC PRIVATE KEY-----\n";

/* Coordinates and RFC 7638 thumbprints computed outside our code, with
 *   der=$(openssl pkey -pubin -in k1.pub.pem -outform DER | xxd -p | tr -d '\n')
 *   x=$(echo ${der: -128:64} | xxd -r -p | basenc --base64url -w0 | tr -d =)
 *   y=$(echo ${der: -64}     | xxd -r -p | basenc --base64url -w0 | tr -d =)
 *   printf '{"crv":"P-256","kty":"EC","x":"%s","y":"%s"}' "$x" "$y" |
 *     openssl dgst -sha256 -binary | basenc --base64url -w0 | tr -d =
 * (the last 64 bytes of a P-256 SPKI are x||y of the uncompressed point). */
#define K1_X   "J2FwuJ9buPE9tOZX6jThsdFI5CtWsCA5-ltuvjliCl4"
#define K1_Y   "97VLR1JbgVJssD9akbzhemHqIKfj6k4nJr_APwODlaY"
#define K1_KID "gKNOHUvc_1Mz7yRVoCp_dubrFDOuxb1f1-TN3mNuTi4"
#define K2_X   "enQappsDWQOQWKC98yL_WyIc4i-6SWiibSP_yTDYvtk"
#define K2_Y   "6bcf7-cTta2Flhm3X6sANr0hm_-toIFrWdTkxyJaJQ4"
#define K2_KID "6IepOfbnWQ-SCy-Tp_XonQ9ajnXgwV68jZgKspRlz3o"

/* RFC 7515 appendix A.3: the ES256 example, its key (public part) and its
 * payload bytes.  The thumbprint is computed as above from the printed x
 * and y (printf ... | sha256sum | xxd -r -p | basenc --base64url). */
#define A3_X "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"
#define A3_Y "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
#define A3_KID "oKIywvGUpTVTyxMQ3bwIIeQUudfr_CkLMjCE19ECD-U"
static const char A3_JWK[] =
  "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A3_X "\",\"y\":\"" A3_Y "\"}";
static const char A3_JWS[] =
  "eyJhbGciOiJFUzI1NiJ9"
  "."
  "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt"
  "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
  "."
  "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSA"
  "pmWQxfKTUJqPP3-Kg6NU1Q";
static const char A3_PAYLOAD[] =
  "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";

#define HDR_K1 "{\"alg\":\"ES256\",\"kid\":\"" K1_KID "\"}"

static struct gw_jws_key *load(const char *pem)
{
  struct gw_jws_key *key = NULL;
  assert_int_equal(gw_jws_key_from_pem(pem, strlen(pem), &key), GW_JWS_OK);
  assert_non_null(key);
  return key;
}

static struct gw_jws_key *a3_key(void)
{
  struct gw_jws_key *key = NULL;
  json_t *jwk = json_loads(A3_JWK, 0, NULL);
  assert_non_null(jwk);
  assert_int_equal(gw_jws_key_from_jwk(jwk, &key), GW_JWS_OK);
  json_decref(jwk);
  return key;
}

static char *b64url(const void *in, size_t n)
{
  char *out = NULL;
  size_t len;
  assert_int_equal(gw_b64_encode_alloc(GW_B64_URL, in, n, &out, &len), GW_B64_OK);
  return out;
}

static char *cat3(const char *a, const char *b, const char *c)
{
  size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
  char *s = gw_malloc(la + lb + lc + 1);
  memcpy(s, a, la);
  memcpy(s + la, b, lb);
  memcpy(s + la + lb, c, lc + 1);
  return s;
}

/* r||s over `input` with K1, made with OpenSSL directly (not our module). */
static void k1_sign_raw(const char *input, unsigned char raw[64])
{
  BIO *bio = BIO_new_mem_buf(K1_PEM, -1);
  EVP_PKEY *pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  unsigned char der[80];
  const unsigned char *p = der;
  size_t der_len = sizeof(der);
  const BIGNUM *r, *s;
  ECDSA_SIG *sig;

  assert_non_null(pkey);
  assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pkey), 1);
  assert_int_equal(EVP_DigestSign(ctx, der, &der_len, (const unsigned char *)input,
                                  strlen(input)), 1);
  sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
  assert_non_null(sig);
  ECDSA_SIG_get0(sig, &r, &s);
  assert_int_equal(BN_bn2binpad(r, raw, 32), 32);
  assert_int_equal(BN_bn2binpad(s, raw + 32, 32), 32);
  ECDSA_SIG_free(sig);
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pkey);
  BIO_free(bio);
}

/* "h.p.signature" over the given base64url parts, correctly signed by K1.
 * Caller frees. */
static char *forge_parts(const char *h, const char *p)
{
  char *input = cat3(h, ".", p), *s, *out;
  unsigned char raw[64];

  k1_sign_raw(input, raw);
  s = b64url(raw, sizeof(raw));
  out = cat3(input, ".", s);
  gw_free(input);
  gw_free(s);
  return out;
}

/* A compact JWS with the exact header bytes `header` over `payload`,
 * correctly signed by K1.  Caller frees. */
static char *forge(const char *header, const char *payload)
{
  char *h = b64url(header, strlen(header)), *p = b64url(payload, strlen(payload));
  char *out = forge_parts(h, p);
  gw_free(h);
  gw_free(p);
  return out;
}

static enum gw_jws_result verify_str(const struct gw_jws_key *key, const char *typ,
                                     const char *jws)
{
  unsigned char *payload = NULL;
  size_t len = 0;
  enum gw_jws_result r = gw_jws_verify_compact(key, typ, jws, strlen(jws),
                                               &payload, &len, NULL);
  if(r)
    assert_null(payload);
  gw_free(payload);
  return r;
}

#define assert_refused(key, jws, want) do { \
    enum gw_jws_result r_ = verify_str((key), NULL, (jws)); \
    if(r_ != (want)) \
      fail_msg("%s: got \"%s\", want \"%s\"", (jws), gw_jws_strerror(r_), \
               gw_jws_strerror(want)); \
  } while(0)

/* ----------------------------------------------------------------- keys */

static void thumbprints_match_openssl_cli(void **state)
{
  struct gw_jws_key *k1 = load(K1_PEM), *k1pub = load(K1_PUB_PEM), *k2 = load(K2_PEM);
  struct gw_jws_key *a3 = a3_key();
  char tp[GW_JWS_THUMBPRINT_LEN + 1];
  (void)state;

  assert_int_equal(gw_jws_key_thumbprint(k1, tp), GW_JWS_OK);
  assert_string_equal(tp, K1_KID);
  assert_string_equal(gw_jws_key_kid(k1), K1_KID);
  assert_string_equal(gw_jws_key_kid(k1pub), K1_KID);
  assert_string_equal(gw_jws_key_kid(k2), K2_KID);
  assert_int_equal(gw_jws_key_thumbprint(a3, tp), GW_JWS_OK);
  assert_string_equal(tp, A3_KID);
  assert_string_equal(gw_jws_key_kid(a3), A3_KID);
  assert_int_equal(gw_jws_key_alg(k1), GW_JWS_ALG_ES256);
  assert_int_equal(gw_jws_key_can_sign(k1), 1);
  assert_int_equal(gw_jws_key_can_sign(k1pub), 0);
  assert_int_equal(gw_jws_key_can_sign(a3), 0);
  gw_jws_key_free(k1);
  gw_jws_key_free(k1pub);
  gw_jws_key_free(k2);
  gw_jws_key_free(a3);
}

static void key_loading(void **state)
{
  struct gw_jws_key *key = NULL;
  char path[] = "/tmp/test_jws_XXXXXX";
  char *big;
  char *jws = NULL;
  FILE *f;
  int fd;
  (void)state;

  assert_int_equal(gw_jws_key_from_pem(P384_PEM, strlen(P384_PEM), &key), GW_JWS_EKEY);
  assert_null(key);
  assert_int_equal(gw_jws_key_from_pem(SEC1_PEM, strlen(SEC1_PEM), &key), GW_JWS_EKEY);
  assert_int_equal(gw_jws_key_from_pem("not a key", 9, &key), GW_JWS_EKEY);
  assert_int_equal(gw_jws_key_from_pem(K1_PEM, 60, &key), GW_JWS_EKEY);  /* cut */
  assert_int_equal(gw_jws_key_load_pem("/nonexistent/k.pem", &key), GW_JWS_EIO);

  fd = mkstemp(path);
  assert_true(fd >= 0);
  f = fdopen(fd, "w");
  assert_non_null(f);
  assert_int_equal(fputs(K1_PEM, f) >= 0, 1);
  assert_int_equal(fclose(f), 0);
  assert_int_equal(gw_jws_key_load_pem(path, &key), GW_JWS_OK);
  assert_string_equal(gw_jws_key_kid(key), K1_KID);
  gw_jws_key_free(key);

  big = gw_malloc(GW_JWS_PEM_MAX + 2);
  memset(big, '\n', GW_JWS_PEM_MAX + 1);
  memcpy(big + GW_JWS_PEM_MAX + 1 - strlen(K1_PEM), K1_PEM, strlen(K1_PEM));
  f = fopen(path, "w");
  assert_non_null(f);
  assert_int_equal(fwrite(big, 1, GW_JWS_PEM_MAX + 1, f), GW_JWS_PEM_MAX + 1);
  assert_int_equal(fclose(f), 0);
  assert_int_equal(gw_jws_key_load_pem(path, &key), GW_JWS_ETOOBIG);
  assert_int_equal(gw_jws_key_from_pem(big, GW_JWS_PEM_MAX + 1, &key), GW_JWS_ETOOBIG);
  /* One byte under the cap is fine. */
  assert_int_equal(gw_jws_key_from_pem(big + 1, GW_JWS_PEM_MAX, &key), GW_JWS_OK);
  gw_jws_key_free(key);
  gw_free(big);
  unlink(path);

  /* A public key cannot sign. */
  key = load(K1_PUB_PEM);
  assert_int_equal(gw_jws_sign_compact(key, NULL, "x", 1, &jws, NULL), GW_JWS_EKEY);
  assert_null(jws);
  gw_jws_key_free(key);
}

static void key_refcount(void **state)
{
  struct gw_jws_key *key = load(K1_PEM);
  (void)state;
  assert_ptr_equal(gw_jws_key_ref(key), key);
  gw_jws_key_free(key);
  assert_string_equal(gw_jws_key_kid(key), K1_KID);  /* still alive */
  gw_jws_key_free(key);
  gw_jws_key_free(NULL);
}

/* ------------------------------------------------------------- RFC 7515 */

static void rfc7515_a3_verifies(void **state)
{
  struct gw_jws_key *key = a3_key();
  unsigned char *payload = NULL;
  size_t len = 0;
  char kid[GW_JWS_KID_MAX + 1] = "untouched";
  (void)state;

  assert_int_equal(gw_jws_verify_compact(key, NULL, A3_JWS, strlen(A3_JWS),
                                         &payload, &len, kid), GW_JWS_OK);
  assert_int_equal(len, strlen(A3_PAYLOAD));
  assert_memory_equal(payload, A3_PAYLOAD, len);
  assert_int_equal(payload[len], '\0');
  assert_string_equal(kid, "");  /* the example's header has no kid */
  gw_free(payload);
  /* Its header has no "typ": a caller that demands one gets ETYP. */
  assert_refused(key, A3_JWS, GW_JWS_OK);
  assert_int_equal(verify_str(key, "JWT", A3_JWS), GW_JWS_ETYP);
  gw_jws_key_free(key);
}

static void rfc7515_a3_tampered(void **state)
{
  struct gw_jws_key *key = a3_key(), *k1 = load(K1_PEM);
  char jws[sizeof(A3_JWS)];
  size_t dot2 = (size_t)(strrchr(A3_JWS, '.') - A3_JWS);
  (void)state;

  /* One payload character: "b2Ui" (the `oe"` of "joe") becomes "b3Ui". */
  memcpy(jws, A3_JWS, sizeof(jws));
  assert_non_null(strstr(jws, "b2Ui"));
  strstr(jws, "b2Ui")[1] = '3';
  assert_refused(key, jws, GW_JWS_EBADSIG);
  /* One signature character in the middle (stays canonical base64url). */
  memcpy(jws, A3_JWS, sizeof(jws));
  jws[dot2 + 10] = jws[dot2 + 10] == 'A' ? 'B' : 'A';
  assert_refused(key, jws, GW_JWS_EBADSIG);
  /* The example has no kid, so with exactly one key offered only the
   * signature can refuse it. */
  assert_refused(k1, A3_JWS, GW_JWS_EBADSIG);
  gw_jws_key_free(key);
  gw_jws_key_free(k1);
}

/* --------------------------------------------------------- round trips */

static void sign_verify_round_trip(void **state)
{
  static const char msg[] = "{\"fact\":\"credit.status\",\"value\":\"good\"}";
  struct gw_jws_key *k1 = load(K1_PEM), *k1pub = load(K1_PUB_PEM);
  char *jws = NULL, *dot, kid[GW_JWS_KID_MAX + 1];
  unsigned char *hdr = NULL, *payload = NULL;
  size_t jws_len = 0, len = 0;
  (void)state;

  assert_int_equal(gw_jws_sign_compact(k1, "gw-attestation+jwt", msg, strlen(msg),
                                       &jws, &jws_len), GW_JWS_OK);
  assert_int_equal(strlen(jws), jws_len);
  /* Exact header bytes. */
  dot = strchr(jws, '.');
  assert_int_equal(gw_b64_decode_alloc(GW_B64_URL, jws, (size_t)(dot - jws), &hdr, &len),
                   GW_B64_OK);
  assert_string_equal((char *)hdr,
    "{\"alg\":\"ES256\",\"kid\":\"" K1_KID "\",\"typ\":\"gw-attestation+jwt\"}");
  gw_free(hdr);
  /* Signature part is 86 characters (64 bytes). */
  assert_int_equal(strlen(strrchr(jws, '.') + 1), 86);

  assert_int_equal(gw_jws_verify_compact(k1pub, "gw-attestation+jwt", jws, jws_len,
                                         &payload, &len, kid), GW_JWS_OK);
  assert_int_equal(len, strlen(msg));
  assert_memory_equal(payload, msg, len);
  assert_string_equal(kid, K1_KID);
  gw_free(payload);
  assert_int_equal(verify_str(k1, NULL, jws), GW_JWS_OK);       /* typ ignored */
  assert_int_equal(verify_str(k1, "JWT", jws), GW_JWS_ETYP);
  gw_free(jws);

  /* Without typ the header is exactly {"alg","kid"}; empty payload works. */
  assert_int_equal(gw_jws_sign_compact(k1, NULL, NULL, 0, &jws, &jws_len), GW_JWS_OK);
  dot = strchr(jws, '.');
  assert_int_equal(gw_b64_decode_alloc(GW_B64_URL, jws, (size_t)(dot - jws), &hdr, &len),
                   GW_B64_OK);
  assert_string_equal((char *)hdr, HDR_K1);
  gw_free(hdr);
  assert_int_equal(dot[1], '.');
  assert_int_equal(gw_jws_verify_compact(k1pub, NULL, jws, jws_len, &payload, &len, NULL),
                   GW_JWS_OK);
  assert_int_equal(len, 0);
  gw_free(payload);
  gw_free(jws);

  /* A typ we would write badly is refused at signing. */
  assert_int_equal(gw_jws_sign_compact(k1, "", "x", 1, &jws, NULL), GW_JWS_EINVAL);
  assert_int_equal(gw_jws_sign_compact(k1, "\xff", "x", 1, &jws, NULL), GW_JWS_EINVAL);
  gw_jws_key_free(k1);
  gw_jws_key_free(k1pub);
}

/* The test's own OpenSSL-made signature verifies, so the refusals below are
 * about what they change and nothing else. */
static void forged_baseline_verifies(void **state)
{
  struct gw_jws_key *k1 = load(K1_PUB_PEM);
  char *jws = forge(HDR_K1, "hello");
  (void)state;
  assert_refused(k1, jws, GW_JWS_OK);
  gw_free(jws);
  jws = forge("{\"alg\":\"ES256\"}", "hello");
  assert_refused(k1, jws, GW_JWS_OK);
  gw_free(jws);
  gw_jws_key_free(k1);
}

/* --------------------------------------------------------------- refusals */

static void alg_refused(void **state)
{
  static const char *const headers[] = {
    "{\"alg\":\"none\",\"kid\":\"" K1_KID "\"}",
    "{\"alg\":\"HS256\",\"kid\":\"" K1_KID "\"}",
    "{\"alg\":\"RS256\",\"kid\":\"" K1_KID "\"}",
    "{\"alg\":\"ES384\",\"kid\":\"" K1_KID "\"}",
    "{\"alg\":\"es256\",\"kid\":\"" K1_KID "\"}",
    "{\"alg\":\"ES256 \",\"kid\":\"" K1_KID "\"}",
    "{\"kid\":\"" K1_KID "\"}",
    "{\"alg\":null,\"kid\":\"" K1_KID "\"}",
    "{\"alg\":[\"ES256\"],\"kid\":\"" K1_KID "\"}",
  };
  struct gw_jws_key *k1 = load(K1_PUB_PEM);
  char *jws, *h, *p, *t;
  (void)state;

  for(size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
    jws = forge(headers[i], "payload");
    assert_refused(k1, jws, GW_JWS_EALG);
    gw_free(jws);
  }
  /* The classic unsecured JWS: alg none and an empty signature. */
  h = b64url("{\"alg\":\"none\"}", 14);
  p = b64url("payload", 7);
  t = cat3(h, ".", p);
  jws = cat3(t, ".", "");
  assert_refused(k1, jws, GW_JWS_ESIGLEN);
  gw_free(jws);
  gw_free(t);
  gw_free(h);
  gw_free(p);
  gw_jws_key_free(k1);
}

static void header_refused(void **state)
{
  static const struct {
    const char *header;
    enum gw_jws_result want;
  } cases[] = {
    /* duplicate members, including the one that would smuggle "none" */
    { "{\"alg\":\"none\",\"alg\":\"ES256\",\"kid\":\"" K1_KID "\"}", GW_JWS_EHEADER },
    { "{\"alg\":\"ES256\",\"alg\":\"ES256\",\"kid\":\"" K1_KID "\"}", GW_JWS_EHEADER },
    { "{\"alg\":\"ES256\",\"kid\":\"" K1_KID "\",\"kid\":\"" K1_KID "\"}", GW_JWS_EHEADER },
    /* not an object, or not only one */
    { "[\"ES256\"]", GW_JWS_EHEADER },
    { "\"ES256\"", GW_JWS_EHEADER },
    { "null", GW_JWS_EHEADER },
    { "42", GW_JWS_EHEADER },
    { "", GW_JWS_EFORMAT },
    { HDR_K1 " {}", GW_JWS_EHEADER },
    { "{\"alg\":\"ES256\",", GW_JWS_EHEADER },
    { "{\"alg\":\"ES256\",\"kid\":\"" K1_KID "\",\"x\":\"a\\u0000b\"}", GW_JWS_EHEADER },
    /* extensions we do not implement */
    { "{\"alg\":\"ES256\",\"kid\":\"" K1_KID "\",\"crit\":[\"exp\"],\"exp\":1}", GW_JWS_ECRIT },
    { "{\"alg\":\"ES256\",\"kid\":\"" K1_KID "\",\"crit\":[]}", GW_JWS_ECRIT },
    { "{\"alg\":\"ES256\",\"kid\":\"" K1_KID "\",\"b64\":false,\"crit\":[\"b64\"]}", GW_JWS_ECRIT },
    { "{\"alg\":\"ES256\",\"kid\":\"" K1_KID "\",\"b64\":true}", GW_JWS_ECRIT },
    /* mistyped members */
    { "{\"alg\":\"ES256\",\"kid\":7}", GW_JWS_EHEADER },
    { "{\"alg\":\"ES256\",\"kid\":\"" K1_KID "\",\"typ\":{}}", GW_JWS_EHEADER },
    /* kid naming another key */
    { "{\"alg\":\"ES256\",\"kid\":\"" K2_KID "\"}", GW_JWS_EKID },
    { "{\"alg\":\"ES256\",\"kid\":\"\"}", GW_JWS_EKID },
    { "{\"alg\":\"ES256\",\"kid\":\"" K1_KID "x\"}", GW_JWS_EKID },
    /* members that could bring a key are ignored, never used */
    { "{\"alg\":\"ES256\",\"kid\":\"" K1_KID "\",\"jku\":\"https://evil/\","
      "\"jwk\":{\"kty\":\"EC\"},\"x5u\":\"https://evil/\"}", GW_JWS_OK },
  };
  struct gw_jws_key *k1 = load(K1_PUB_PEM);
  char *jws;
  (void)state;

  for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    jws = forge(cases[i].header, "payload");
    assert_refused(k1, jws, cases[i].want);
    gw_free(jws);
  }
  gw_jws_key_free(k1);
}

/* Replaces the signature part of `jws` with base64url(sig[0..n)). */
static char *with_sig(const char *jws, const unsigned char *sig, size_t n)
{
  size_t keep = (size_t)(strrchr(jws, '.') - jws) + 1;
  char *s = b64url(sig, n), *prefix = gw_strndup(jws, keep), *out;
  out = cat3(prefix, s, "");
  gw_free(s);
  gw_free(prefix);
  return out;
}

static void signature_length_refused(void **state)
{
  struct gw_jws_key *k1 = load(K1_PEM);
  char *jws = NULL, *bad;
  unsigned char raw[80] = { 0 }, *der = NULL;
  size_t len = 0;
  int der_len;
  ECDSA_SIG *sig;
  (void)state;

  assert_int_equal(gw_jws_sign_compact(k1, NULL, "abc", 3, &jws, NULL), GW_JWS_OK);
  assert_int_equal(gw_b64_decode(GW_B64_URL, strrchr(jws, '.') + 1, 86, raw,
                                 sizeof(raw), &len), GW_B64_OK);
  assert_int_equal(len, 64);

  bad = with_sig(jws, raw, 64);           /* the same bytes: accepted */
  assert_refused(k1, bad, GW_JWS_OK);
  gw_free(bad);
  bad = with_sig(jws, raw, 63);
  assert_refused(k1, bad, GW_JWS_ESIGLEN);
  gw_free(bad);
  bad = with_sig(jws, raw, 65);
  assert_refused(k1, bad, GW_JWS_ESIGLEN);
  gw_free(bad);
  bad = with_sig(jws, raw, 70);
  assert_refused(k1, bad, GW_JWS_ESIGLEN);
  gw_free(bad);
  bad = with_sig(jws, raw, 0);
  assert_refused(k1, bad, GW_JWS_ESIGLEN);
  gw_free(bad);

  /* The same signature as DER, which is what OpenSSL itself produces. */
  sig = ECDSA_SIG_new();
  assert_non_null(sig);
  assert_int_equal(ECDSA_SIG_set0(sig, BN_bin2bn(raw, 32, NULL),
                                  BN_bin2bn(raw + 32, 32, NULL)), 1);
  der_len = i2d_ECDSA_SIG(sig, &der);
  assert_true(der_len >= 68 && der_len <= 72);
  bad = with_sig(jws, der, (size_t)der_len);
  assert_refused(k1, bad, GW_JWS_ESIGLEN);
  gw_free(bad);
  OPENSSL_free(der);
  ECDSA_SIG_free(sig);

  /* Standard base64 or padding in the signature part is not base64url. */
  bad = cat3(jws, "==", "");
  assert_refused(k1, bad, GW_JWS_EFORMAT);
  gw_free(bad);
  gw_free(jws);
  gw_jws_key_free(k1);
}

/* ECDSA malleability: (r, n - s) verifies too.  gw/jws.h says we accept it
 * (we do not refuse high-S); this pins that documented behaviour. */
static void high_s_is_accepted(void **state)
{
  struct gw_jws_key *k1 = load(K1_PEM);
  char *jws = NULL, *flipped;
  unsigned char raw[64];
  size_t len = 0;
  BIGNUM *s = NULL, *order = BN_new();
  EC_GROUP *group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
  (void)state;

  assert_non_null(group);
  assert_int_equal(EC_GROUP_get_order(group, order, NULL), 1);
  assert_int_equal(gw_jws_sign_compact(k1, NULL, "abc", 3, &jws, NULL), GW_JWS_OK);
  assert_int_equal(gw_b64_decode(GW_B64_URL, strrchr(jws, '.') + 1, 86, raw,
                                 sizeof(raw), &len), GW_B64_OK);
  s = BN_bin2bn(raw + 32, 32, NULL);
  assert_int_equal(BN_sub(s, order, s), 1);
  assert_int_equal(BN_bn2binpad(s, raw + 32, 32), 32);
  flipped = with_sig(jws, raw, 64);
  assert_string_not_equal(flipped, jws);
  assert_refused(k1, flipped, GW_JWS_OK);
  /* ...whereas s = 0 or r = 0 is not a signature at all. */
  memset(raw + 32, 0, 32);
  gw_free(flipped);
  flipped = with_sig(jws, raw, 64);
  assert_refused(k1, flipped, GW_JWS_EBADSIG);
  gw_free(flipped);
  gw_free(jws);
  BN_free(s);
  BN_free(order);
  EC_GROUP_free(group);
  gw_jws_key_free(k1);
}

#define SIG86 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

static void format_refused(void **state)
{
  static const char *const bad[] = {
    "", ".", "..", "...", "abc", "abc.def", "a.b.c.d",
    "eyJhbGciOiJFUzI1NiJ9",
    "eyJhbGciOiJFUzI1NiJ9.e30",
    "eyJhbGciOiJFUzI1NiJ9.e30." SIG86 ".",
    ".e30." SIG86,                                   /* empty header */
    "eyJhbGciOiJFUzI1NiJ9=.e30." SIG86,             /* padded header */
    "eyJhbGciOiJFUzI1NiJ9 .e30." SIG86,
    "eyJhbGciOiJFUzI1NiJ9\n.e30." SIG86,
    "eyJhbGciOiJFUzI1NiJ9.e30." SIG86 "\n",         /* trailing newline */
    "eyJhbGciOiJFUzI1NiJ9.e30.+" SIG86 "/",
  };
  struct gw_jws_key *k1 = load(K1_PEM);
  unsigned char *payload = NULL;
  size_t len;
  enum gw_jws_result r;
  char *jws = NULL, *mangled, *h;
  (void)state;

  for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    r = gw_jws_verify_compact(k1, NULL, bad[i], strlen(bad[i]), &payload, &len, NULL);
    if(r != GW_JWS_EFORMAT)
      fail_msg("\"%s\": got %s", bad[i], gw_jws_strerror(r));
    assert_null(payload);
  }
  /* Correctly signed, but the payload part is not canonical base64url
   * ("Zh" has bits set that "f" does not use). */
  h = b64url(HDR_K1, strlen(HDR_K1));
  jws = forge_parts(h, "Zh");
  assert_refused(k1, jws, GW_JWS_EFORMAT);
  gw_free(jws);
  jws = forge_parts(h, "Zg");
  assert_refused(k1, jws, GW_JWS_OK);
  gw_free(jws);
  gw_free(h);
  /* An embedded NUL inside the stated length. */
  assert_int_equal(gw_jws_sign_compact(k1, NULL, "abc", 3, &jws, NULL), GW_JWS_OK);
  mangled = gw_strdup(jws);
  mangled[3] = '\0';
  assert_int_equal(gw_jws_verify_compact(k1, NULL, mangled, strlen(jws), &payload, &len,
                                         NULL), GW_JWS_EFORMAT);
  gw_free(mangled);
  gw_free(jws);
  gw_jws_key_free(k1);
}

static void key_sets(void **state)
{
  struct gw_jws_key *k1 = load(K1_PUB_PEM), *k2 = load(K2_PEM);
  const struct gw_jws_key *set[2] = { k2, k1 }, *used = NULL;
  unsigned char *payload = NULL;
  size_t len = 0;
  char *jws = NULL;
  (void)state;

  /* Found by kid, whichever position it has. */
  jws = forge(HDR_K1, "set");
  assert_int_equal(gw_jws_verify_compact_set(set, 2, NULL, jws, strlen(jws),
                                             &payload, &len, &used), GW_JWS_OK);
  assert_ptr_equal(used, k1);
  assert_memory_equal(payload, "set", 3);
  gw_free(payload);
  payload = NULL;
  /* Only K2 offered: K1's kid names no key. */
  assert_int_equal(gw_jws_verify_compact_set(set, 1, NULL, jws, strlen(jws),
                                             &payload, &len, &used), GW_JWS_EKID);
  gw_free(jws);
  /* No kid and two keys: which one is not ours to guess. */
  jws = forge("{\"alg\":\"ES256\"}", "set");
  assert_int_equal(gw_jws_verify_compact_set(set, 2, NULL, jws, strlen(jws),
                                             &payload, &len, &used), GW_JWS_EKID);
  assert_null(payload);
  /* ...but with only K1 offered it is K1's signature that decides. */
  set[0] = k1;
  assert_int_equal(gw_jws_verify_compact_set(set, 1, NULL, jws, strlen(jws),
                                             &payload, &len, &used), GW_JWS_OK);
  gw_free(payload);
  gw_free(jws);
  gw_jws_key_free(k1);
  gw_jws_key_free(k2);
}

/* --------------------------------------------------------------- detached */

static void detached_round_trip(void **state)
{
  static const char body[] = "{\"query_id\":\"q_1\",\"complete\":true}";
  struct gw_jws_key *k1 = load(K1_PEM), *k1pub = load(K1_PUB_PEM), *k2 = load(K2_PEM);
  const struct gw_jws_key *set[2] = { k2, k1pub }, *used = NULL;
  char *jws = NULL, kid[GW_JWS_KID_MAX + 1];
  size_t jws_len = 0;
  (void)state;

  assert_int_equal(gw_jws_sign_detached(k1, NULL, body, strlen(body), &jws, &jws_len),
                   GW_JWS_OK);
  assert_non_null(strstr(jws, ".."));
  assert_int_equal(strchr(jws, '.')[1], '.');
  assert_int_equal(gw_jws_verify_detached(k1pub, NULL, jws, jws_len, body, strlen(body),
                                          kid), GW_JWS_OK);
  assert_string_equal(kid, K1_KID);
  assert_int_equal(gw_jws_verify_detached_set(set, 2, NULL, jws, jws_len, body,
                                              strlen(body), &used), GW_JWS_OK);
  assert_ptr_equal(used, k1pub);
  /* A body that differs in one byte, one byte more or less. */
  assert_int_equal(gw_jws_verify_detached(k1pub, NULL, jws, jws_len,
                                          "{\"query_id\":\"q_2\",\"complete\":true}",
                                          strlen(body), NULL), GW_JWS_EBADSIG);
  assert_int_equal(gw_jws_verify_detached(k1pub, NULL, jws, jws_len, body,
                                          strlen(body) - 1, NULL), GW_JWS_EBADSIG);
  assert_int_equal(gw_jws_verify_detached(k1pub, NULL, jws, jws_len, body,
                                          strlen(body) + 1, NULL), GW_JWS_EBADSIG);
  gw_free(jws);

  /* An empty body, and typ checked as for compact. */
  assert_int_equal(gw_jws_sign_detached(k1, "gw-response", "", 0, &jws, &jws_len),
                   GW_JWS_OK);
  assert_int_equal(gw_jws_verify_detached(k1pub, "gw-response", jws, jws_len, NULL, 0,
                                          NULL), GW_JWS_OK);
  assert_int_equal(gw_jws_verify_detached(k1pub, "other", jws, jws_len, NULL, 0, NULL),
                   GW_JWS_ETYP);
  gw_free(jws);
  gw_jws_key_free(k1);
  gw_jws_key_free(k1pub);
  gw_jws_key_free(k2);
}

/* RFC 7515 appendix F: putting base64url(body) back between the dots gives
 * an ordinary compact JWS that verifies.  With a body of many encoding
 * chunks and a length that is not a multiple of 3 this also checks the
 * chunked encoder against the one-shot one. */
static void detached_is_appendix_f(void **state)
{
  struct gw_jws_key *k1 = load(K1_PEM);
  size_t n = 100001, jws_len = 0, len = 0;
  unsigned char *body = gw_malloc(n), *payload = NULL;
  char *jws = NULL, *enc, *head, *compact;
  (void)state;

  for(size_t i = 0; i < n; i++)
    body[i] = (unsigned char)(i * 131 + 7);
  assert_int_equal(gw_jws_sign_detached(k1, NULL, body, n, &jws, &jws_len), GW_JWS_OK);
  enc = b64url(body, n);
  head = gw_strndup(jws, (size_t)(strchr(jws, '.') - jws) + 1);
  compact = cat3(head, enc, strchr(jws, '.') + 1);
  assert_int_equal(gw_jws_verify_compact(k1, NULL, compact, strlen(compact),
                                         &payload, &len, NULL), GW_JWS_OK);
  assert_int_equal(len, n);
  assert_memory_equal(payload, body, n);
  gw_free(payload);

  /* Detached and compact forms are not interchangeable.  (A detached JWS is
   * never longer than header..signature, hence the size refusal first.) */
  assert_int_equal(gw_jws_verify_detached(k1, NULL, compact, strlen(compact), body, n,
                                          NULL), GW_JWS_ETOOBIG);
  gw_free(compact);
  compact = NULL;
  assert_int_equal(gw_jws_sign_compact(k1, NULL, "abc", 3, &compact, NULL), GW_JWS_OK);
  assert_int_equal(gw_jws_verify_detached(k1, NULL, compact, strlen(compact), "abc", 3,
                                          NULL), GW_JWS_EFORMAT);
  assert_int_equal(gw_jws_verify_compact(k1, NULL, jws, jws_len, &payload, &len, NULL),
                   GW_JWS_EBADSIG);  /* it signed the body, not "" */
  body[n - 1] ^= 1;
  assert_int_equal(gw_jws_verify_detached(k1, NULL, jws, jws_len, body, n, NULL),
                   GW_JWS_EBADSIG);
  gw_free(compact);
  gw_free(head);
  gw_free(enc);
  gw_free(jws);
  gw_free(body);
  gw_jws_key_free(k1);
}

/* ---------------------------------------------------------------- caps */

static void oversize_refused(void **state)
{
  struct gw_jws_key *k1 = load(K1_PEM);
  size_t big = GW_JWS_DETACHED_MAX + 1, enc_max;
  static char sentinel[] = "untouched";
  char *buf = gw_calloc(1, big + 1), *jws = sentinel, *p;
  unsigned char *payload = NULL;
  size_t len;
  (void)state;

  /* Signing. */
  assert_int_equal(gw_jws_sign_compact(k1, NULL, buf, GW_JWS_PAYLOAD_MAX + 1, &jws, NULL),
                   GW_JWS_ETOOBIG);
  assert_null(jws);
  assert_int_equal(gw_jws_sign_detached(k1, NULL, buf, big, &jws, NULL), GW_JWS_ETOOBIG);
  assert_int_equal(gw_jws_sign_compact(k1, NULL, buf, GW_JWS_PAYLOAD_MAX, &jws, NULL),
                   GW_JWS_OK);  /* exactly at the cap */
  assert_int_equal(gw_jws_verify_compact(k1, NULL, jws, strlen(jws), &payload, &len,
                                         NULL), GW_JWS_OK);
  assert_int_equal(len, GW_JWS_PAYLOAD_MAX);
  gw_free(payload);
  payload = NULL;
  gw_free(jws);

  /* Whole token over the cap. */
  memset(buf, 'A', GW_JWS_COMPACT_MAX + 1);
  buf[10] = '.';
  buf[20] = '.';
  assert_int_equal(gw_jws_verify_compact(k1, NULL, buf, GW_JWS_COMPACT_MAX + 1,
                                         &payload, &len, NULL), GW_JWS_ETOOBIG);
  /* Header part over its cap, the rest small. */
  buf[10] = 'A';
  buf[20] = 'A';
  buf[GW_JWS_HEADER_MAX + 1] = '.';
  buf[GW_JWS_HEADER_MAX + 3] = '.';
  assert_int_equal(gw_jws_verify_compact(k1, NULL, buf, GW_JWS_HEADER_MAX + 90,
                                         &payload, &len, NULL), GW_JWS_ETOOBIG);
  /* Payload part longer than any payload under the cap can encode to. */
  memset(buf, 'A', GW_JWS_COMPACT_MAX);
  enc_max = gw_b64_encoded_len(GW_B64_URL, GW_JWS_PAYLOAD_MAX);
  p = buf + 20;
  buf[20] = '.';
  p[enc_max + 5] = '.';
  assert_int_equal(gw_jws_verify_compact(k1, NULL, buf, 20 + enc_max + 5 + 87,
                                         &payload, &len, NULL), GW_JWS_ETOOBIG);
  /* A signature part far longer than 86 characters. */
  jws = forge(HDR_K1, "x");
  p = cat3(jws, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
           "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
  assert_refused(k1, p, GW_JWS_ESIGLEN);
  gw_free(p);
  gw_free(jws);
  /* Detached: body over the cap. */
  jws = NULL;
  assert_int_equal(gw_jws_sign_detached(k1, NULL, "b", 1, &jws, &len), GW_JWS_OK);
  assert_int_equal(gw_jws_verify_detached(k1, NULL, jws, len, buf, big, NULL),
                   GW_JWS_ETOOBIG);
  gw_free(jws);
  assert_null(payload);
  gw_free(buf);
  gw_jws_key_free(k1);
}

/* ----------------------------------------------------------------- JWKS */

#define K1_JWK "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" K1_X "\",\"y\":\"" K1_Y \
  "\",\"kid\":\"" K1_KID "\",\"alg\":\"ES256\",\"use\":\"sig\"}"
#define K2_JWK "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" K2_X "\",\"y\":\"" K2_Y \
  "\",\"kid\":\"" K2_KID "\",\"alg\":\"ES256\",\"use\":\"sig\"}"

static void jwks_two_keys(void **state)
{
  struct gw_jws_key *k1 = load(K1_PEM), *k2 = load(K2_PEM);
  const struct gw_jws_key *both[2] = { k1, k2 }, *twice[2] = { k1, k1 };
  json_t *set = NULL, *keys;
  char *text = NULL;
  (void)state;

  assert_int_equal(gw_jws_jwks_build(both, 2, &set), GW_JWS_OK);
  keys = json_object_get(set, "keys");
  assert_int_equal(json_array_size(keys), 2);
  assert_string_equal(json_string_value(json_object_get(json_array_get(keys, 0), "kid")),
                      K1_KID);
  assert_string_equal(json_string_value(json_object_get(json_array_get(keys, 1), "kid")),
                      K2_KID);
  assert_null(json_object_get(json_array_get(keys, 0), "d"));  /* private keys in */
  json_decref(set);

  assert_int_equal(gw_jws_jwks_string(both, 2, &text), GW_JWS_OK);
  assert_string_equal(text, "{\"keys\":[" K1_JWK "," K2_JWK "]}");
  gw_free(text);
  assert_int_equal(gw_jws_jwks_string(both, 0, &text), GW_JWS_OK);
  assert_string_equal(text, "{\"keys\":[]}");
  gw_free(text);
  assert_int_equal(gw_jws_jwks_string(twice, 2, &text), GW_JWS_EINVAL);
  assert_null(text);
  gw_jws_key_free(k1);
  gw_jws_key_free(k2);
}

static void jwks_import_round_trip(void **state)
{
  static const char doc[] =
    "{\"keys\":["
    "{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\",\"kid\":\"rsa\"},"   /* skipped */
    "{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"AA\",\"y\":\"AA\"},"       /* skipped */
    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"use\":\"enc\",\"x\":\"" A3_X "\",\"y\":\"" A3_Y "\"},"
    K1_JWK "," K2_JWK
    "]}";
  struct gw_jws_key **keys = NULL, *k1 = load(K1_PEM);
  const struct gw_jws_key *used = NULL;
  unsigned char *payload = NULL;
  size_t n = 0, len = 0;
  char *jws = NULL;
  (void)state;

  assert_int_equal(gw_jws_jwks_import(doc, strlen(doc), &keys, &n), GW_JWS_OK);
  assert_int_equal(n, 2);
  assert_string_equal(gw_jws_key_kid(keys[0]), K1_KID);
  assert_string_equal(gw_jws_key_kid(keys[1]), K2_KID);
  assert_int_equal(gw_jws_key_can_sign(keys[0]), 0);
  assert_int_equal(gw_jws_sign_compact(k1, NULL, "offline", 7, &jws, NULL), GW_JWS_OK);
  assert_int_equal(gw_jws_verify_compact_set((const struct gw_jws_key *const *)keys, n,
                                             NULL, jws, strlen(jws), &payload, &len,
                                             &used), GW_JWS_OK);
  assert_ptr_equal(used, keys[0]);
  assert_memory_equal(payload, "offline", 7);
  gw_free(payload);
  gw_free(jws);
  gw_jws_keys_free(keys, n);

  /* A JWK's own kid is kept (foreign key sets name keys as they like). */
  {
    static const char named[] = "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"k-2026\","
                                "\"x\":\"" A3_X "\",\"y\":\"" A3_Y "\"}]}";
    assert_int_equal(gw_jws_jwks_import(named, strlen(named), &keys, &n), GW_JWS_OK);
    assert_int_equal(n, 1);
    assert_string_equal(gw_jws_key_kid(keys[0]), "k-2026");
    gw_jws_keys_free(keys, n);
  }
  gw_jws_key_free(k1);
}

static void jwks_import_refusals(void **state)
{
  static const struct {
    const char *doc;
    enum gw_jws_result want;
  } cases[] = {
    { "not json", GW_JWS_EFORMAT },
    { "[]", GW_JWS_EFORMAT },
    { "{}", GW_JWS_EFORMAT },
    { "{\"keys\":{}}", GW_JWS_EFORMAT },
    { "{\"keys\":[],\"keys\":[]}", GW_JWS_EFORMAT },
    { "{\"keys\":[]}", GW_JWS_EKEY },                             /* nothing usable */
    { "{\"keys\":[{\"kty\":\"RSA\"}]}", GW_JWS_EKEY },
    { "{\"keys\":[42]}", GW_JWS_EKEY },
    /* private part present */
    { "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A3_X "\",\"y\":\"" A3_Y "\","
      "\"d\":\"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI\"}]}", GW_JWS_EKEY },
    /* not on the curve (first character of y changed) */
    { "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A3_X "\","
      "\"y\":\"y_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}]}", GW_JWS_EKEY },
    /* x of 31 bytes, y padded, y missing */
    { "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\","
      "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVA\",\"y\":\"" A3_Y "\"}]}", GW_JWS_EKEY },
    { "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A3_X "\",\"y\":\"" A3_Y "=\"}]}",
      GW_JWS_EKEY },
    { "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A3_X "\"}]}", GW_JWS_EKEY },
    /* the same kid twice */
    { "{\"keys\":[" K1_JWK "," K1_JWK "]}", GW_JWS_EKEY },
  };
  struct gw_jws_key **keys = NULL;
  size_t n = 7, size = GW_JWS_JWKS_MAX + 1;
  char *big;
  (void)state;

  for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    enum gw_jws_result r = gw_jws_jwks_import(cases[i].doc, strlen(cases[i].doc), &keys, &n);
    if(r != cases[i].want)
      fail_msg("%s: got %s, want %s", cases[i].doc, gw_jws_strerror(r),
               gw_jws_strerror(cases[i].want));
    assert_null(keys);
    assert_int_equal(n, 0);
  }
  /* Over the size cap, and over the key-count cap. */
  big = gw_malloc(size);
  memset(big, ' ', size);
  assert_int_equal(gw_jws_jwks_import(big, size, &keys, &n), GW_JWS_ETOOBIG);
  gw_free(big);
  big = gw_strdup("{\"keys\":[{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}]}");
  assert_int_equal(gw_jws_jwks_import(big, strlen(big), &keys, &n), GW_JWS_ETOOBIG);
  gw_free(big);
}

/* ------------------------------------------------------------- threads */

#define THREADS 4
#define ROUNDS  100

struct worker {
  struct gw_jws_key *signer;
  const struct gw_jws_key *verifier;
  int failures;
};

static void *work(void *arg)
{
  struct worker *w = arg;
  char msg[32], *jws;
  unsigned char *payload;
  size_t len, plen;

  for(int i = 0; i < ROUNDS; i++) {
    int n = snprintf(msg, sizeof(msg), "message %d", i);
    jws = NULL;
    payload = NULL;
    if(gw_jws_sign_compact(w->signer, NULL, msg, (size_t)n, &jws, &len) ||
       gw_jws_verify_compact(w->verifier, NULL, jws, len, &payload, &plen, NULL) ||
       plen != (size_t)n || memcmp(payload, msg, plen) != 0)
      w->failures++;
    gw_free(payload);
    gw_free(jws);
  }
  return NULL;
}

/* All threads sign with one key and verify with another shared one. */
static void concurrent_use(void **state)
{
  struct gw_jws_key *k1 = load(K1_PEM), *k1pub = load(K1_PUB_PEM);
  struct worker w[THREADS];
  pthread_t t[THREADS];
  (void)state;

  for(int i = 0; i < THREADS; i++) {
    w[i].signer = k1;
    w[i].verifier = k1pub;
    w[i].failures = 0;
    assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
  }
  for(int i = 0; i < THREADS; i++) {
    assert_int_equal(pthread_join(t[i], NULL), 0);
    assert_int_equal(w[i].failures, 0);
  }
  gw_jws_key_free(k1);
  gw_jws_key_free(k1pub);
}

static void strerror_covers_all(void **state)
{
  (void)state;
  for(int r = GW_JWS_OK; r <= GW_JWS_ECRYPTO; r++)
    assert_string_not_equal(gw_jws_strerror((enum gw_jws_result)r), "unknown error");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(thumbprints_match_openssl_cli),
    cmocka_unit_test(key_loading),
    cmocka_unit_test(key_refcount),
    cmocka_unit_test(rfc7515_a3_verifies),
    cmocka_unit_test(rfc7515_a3_tampered),
    cmocka_unit_test(sign_verify_round_trip),
    cmocka_unit_test(forged_baseline_verifies),
    cmocka_unit_test(alg_refused),
    cmocka_unit_test(header_refused),
    cmocka_unit_test(signature_length_refused),
    cmocka_unit_test(high_s_is_accepted),
    cmocka_unit_test(format_refused),
    cmocka_unit_test(key_sets),
    cmocka_unit_test(detached_round_trip),
    cmocka_unit_test(detached_is_appendix_f),
    cmocka_unit_test(oversize_refused),
    cmocka_unit_test(jwks_two_keys),
    cmocka_unit_test(jwks_import_round_trip),
    cmocka_unit_test(jwks_import_refusals),
    cmocka_unit_test(concurrent_use),
    cmocka_unit_test(strerror_covers_all),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
