/*
 * jws.c - JWS (RFC 7515) with ES256 on OpenSSL 3 EVP, JWK/JWKS, RFC 7638.
 *
 * The one idea: every signing input is "literal bytes" optionally followed by
 * "raw bytes to be base64url-encoded on the way", fed in pieces to one
 * EVP_MD_CTX made for that call.  Compact signing and both verifications feed
 * the literal text they hold; detached signing and verification encode the
 * body in fixed-size chunks, so a large response is never copied into a
 * second, larger buffer.  The signature crosses the JOSE/OpenSSL border in
 * exactly two places: der_to_raw() after signing and raw_to_der() before
 * verifying, through ECDSA_SIG.
 *
 * The protected header is parsed only to be checked against the key the
 * caller gave (see gw/jws.h); nothing in it ever selects an algorithm or
 * brings a key.  On every failure that went through OpenSSL the thread's
 * error queue is cleared, so a refused signature cannot leave stale errors
 * that a later SSL_get_error() in the same thread would misread.
 */
#include "gw/jws.h"
#include "pemkey.h"

#include "gw/alloc.h"
#include "gw/b64.h"
#include "gw/gm.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define P256_COORD_LEN 32
#define ES256_SIG_LEN  64
#define ES256_SIG_B64  86   /* base64url length of 64 bytes */
#define SIG_SEGMENT_MAX 128 /* longer cannot be 64 bytes, nor worth decoding */
#define DER_SIG_MAX    80   /* SEQUENCE of two INTEGERs of at most 33 bytes */
#define HEADER_JSON_MAX 1536 /* our own header: kid and typ escaped */
#define CHUNK_RAW      3072 /* multiple of 3: chunks encode with no padding */
#define SIGN_POOL_MAX  16   /* idle signing contexts kept per key */

/* A signing context kept for reuse: EVP_DigestSignInit_ex fetched the
 * algorithms, exported the key to the provider and set up a context on
 * every call, which cost as much again as the ECDSA operation itself. */
struct sign_slot {
  struct sign_slot *next;
  EVP_MD_CTX *md;          /* SHA-256, re-initialised per signature */
  EVP_PKEY_CTX *pctx;      /* EVP_PKEY_sign_init'ed once with the key */
};

struct gw_jws_key {
  atomic_int refs;
  EVP_PKEY *pkey;          /* read-only after key_new() */
  enum gw_jws_alg alg;
  int can_sign;
  unsigned char x[P256_COORD_LEN], y[P256_COORD_LEN];
  char kid[GW_JWS_KID_MAX + 1];
  char sm2_id[GW_GM_SM2_ID_MAX + 1];   /* SM2 only: the distinguishing ID */
  size_t sm2_id_len;
  pthread_mutex_t pool_lock;   /* guards pool, n_pool (signing keys only) */
  struct sign_slot *pool;
  size_t n_pool;
  /* The last protected header signed with (one typ), kept under pool_lock:
   * it only depends on the key and typ. */
  int hdr_valid, hdr_has_typ;
  char hdr_typ[GW_JWS_TYP_MAX + 1];
  char hdr_b64[GW_JWS_HEADER_MAX + 1];
  size_t hdr_len;
};

/* What a signature covers: lit[0..lit_len) then base64url(raw[0..raw_len)). */
struct signing_input {
  const char *lit;
  size_t lit_len;
  const unsigned char *raw;
  size_t raw_len;
};

static const char *alg_name(enum gw_jws_alg alg)
{
  switch(alg) {
  case GW_JWS_ALG_ES256: return "ES256";
  case GW_JWS_ALG_SM2:   return GW_JWS_ALG_SM2_NAME;
  }
  return NULL;
}

/* The JWK "crv" of a key pinned to `alg`. */
static const char *crv_name(enum gw_jws_alg alg)
{
  return alg == GW_JWS_ALG_SM2 ? "SM2" : "P-256";
}

/* ---------------------------------------------------------------- keys */

/* Checks that `pkey` is an EC key on P-256 that passes OpenSSL's own key
 * check (full check when private), and reads its coordinates. */
static enum gw_jws_result check_p256(EVP_PKEY *pkey, int priv,
                                     unsigned char x[P256_COORD_LEN],
                                     unsigned char y[P256_COORD_LEN])
{
  enum gw_jws_result r = GW_JWS_EKEY;
  EVP_PKEY_CTX *pctx = NULL;
  char group[32];
  size_t group_len = 0;

  /* SM2 keys (OpenSSL type "SM2", curve SM2) pass the same checks and have
   * coordinates of the same size; key_new() pins them to GmSM2. */
  if(!gw_gm_is_sm2(pkey) && !EVP_PKEY_is_a(pkey, "EC"))
    goto out;
  if(!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
                                     group, sizeof(group), &group_len) ||
     strcmp(group, gw_gm_is_sm2(pkey) ? SN_sm2 : SN_X9_62_prime256v1) != 0)
    goto out;
  pctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
  if(!pctx) {
    r = GW_JWS_ENOMEM;
    goto out;
  }
  if((priv ? EVP_PKEY_check(pctx) : EVP_PKEY_public_check(pctx)) != 1)
    goto out;
  if(gw_pemkey_coords(pkey, x, y, P256_COORD_LEN))
    goto out;
  r = GW_JWS_OK;
out:
  EVP_PKEY_CTX_free(pctx);
  return r;
}

static void slot_free(struct sign_slot *s)
{
  EVP_MD_CTX_free(s->md);
  EVP_PKEY_CTX_free(s->pctx);
  gw_free(s);
}

static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_md;

static void sha256_fetch(void)
{
  sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

/* An idle signing context of `key`, or a new one; NULL when OpenSSL
 * cannot make one. */
static struct sign_slot *slot_take(struct gw_jws_key *key)
{
  struct sign_slot *s;

  pthread_mutex_lock(&key->pool_lock);
  s = key->pool;
  if(s) {
    key->pool = s->next;
    key->n_pool--;
  }
  pthread_mutex_unlock(&key->pool_lock);
  if(s)
    return s;
  pthread_once(&sha256_once, sha256_fetch);
  if(!sha256_md)
    return NULL;
  s = gw_calloc(1, sizeof(*s));
  s->md = EVP_MD_CTX_new();
  s->pctx = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL);
  if(!s->md || !s->pctx || EVP_PKEY_sign_init(s->pctx) != 1) {
    slot_free(s);
    return NULL;
  }
  return s;
}

/* Back to the pool after a successful signature (a failed one's context
 * is freed: its state is unknown). */
static void slot_put(struct gw_jws_key *key, struct sign_slot *s)
{
  pthread_mutex_lock(&key->pool_lock);
  if(key->n_pool < SIGN_POOL_MAX) {
    s->next = key->pool;
    key->pool = s;
    key->n_pool++;
    s = NULL;
  }
  pthread_mutex_unlock(&key->pool_lock);
  if(s)
    slot_free(s);
}

/* Wraps `pkey` (ownership taken, freed on error) into a new key.  `kid`
 * NULL means the RFC 7638 thumbprint. */
static enum gw_jws_result key_new(EVP_PKEY *pkey, int priv, const char *kid,
                                  struct gw_jws_key **out)
{
  enum gw_jws_result r;
  struct gw_jws_key *key = gw_calloc(1, sizeof(*key));
  char tp[GW_JWS_THUMBPRINT_LEN + 1];

  r = check_p256(pkey, priv, key->x, key->y);
  if(r)
    goto fail;
  atomic_init(&key->refs, 1);
  pthread_mutex_init(&key->pool_lock, NULL);
  key->pkey = pkey;
  key->alg = gw_gm_is_sm2(pkey) ? GW_JWS_ALG_SM2 : GW_JWS_ALG_ES256;
  key->can_sign = priv;
  if(key->alg == GW_JWS_ALG_SM2) {
    memcpy(key->sm2_id, GW_GM_SM2_ID, GW_GM_SM2_ID_LEN + 1);
    key->sm2_id_len = GW_GM_SM2_ID_LEN;
  }
  if(!kid) {
    r = gw_jws_key_thumbprint(key, tp);
    if(r) {
      key->pkey = NULL;
      pthread_mutex_destroy(&key->pool_lock);
      goto fail;
    }
    kid = tp;
  }
  memcpy(key->kid, kid, strlen(kid) + 1);  /* callers bound it by KID_MAX */
  *out = key;
  return GW_JWS_OK;
fail:
  gw_free(key);
  EVP_PKEY_free(pkey);
  ERR_clear_error();
  return r;
}

enum gw_jws_result gw_jws_key_from_pem(const char *pem, size_t len,
                                       struct gw_jws_key **out)
{
  EVP_PKEY *pkey;
  int priv = 0;

  if(!out || !pem)
    return GW_JWS_EINVAL;
  *out = NULL;
  if(len > GW_JWS_PEM_MAX)
    return GW_JWS_ETOOBIG;
  pkey = gw_pemkey_parse(pem, len, &priv);
  if(!pkey) {
    ERR_clear_error();
    return GW_JWS_EKEY;
  }
  return key_new(pkey, priv, NULL, out);   /* takes pkey */
}

enum gw_jws_result gw_jws_key_load_pem(const char *path, struct gw_jws_key **out)
{
  enum gw_jws_result r;
  char *buf = NULL;
  size_t len = 0;

  if(!out || !path)
    return GW_JWS_EINVAL;
  *out = NULL;
  switch(gw_pemkey_read_file(path, GW_JWS_PEM_MAX, &buf, &len)) {
  case 0: break;
  case -2: return GW_JWS_ETOOBIG;
  default: return GW_JWS_EIO;
  }
  r = gw_jws_key_from_pem(buf, len, out);
  gw_pemkey_buf_free(buf, GW_JWS_PEM_MAX);
  return r;
}

/* Decodes a JWK coordinate: base64url of exactly 32 bytes. */
static int jwk_coord(const json_t *jwk, const char *name,
                     unsigned char out[P256_COORD_LEN])
{
  const json_t *v = json_object_get(jwk, name);
  unsigned char buf[P256_COORD_LEN + 2];
  size_t len = 0;

  if(!json_is_string(v) ||
     gw_b64_decode(GW_B64_URL, json_string_value(v), json_string_length(v),
                   buf, sizeof(buf), &len) != GW_B64_OK ||
     len != P256_COORD_LEN)
    return -1;
  memcpy(out, buf, P256_COORD_LEN);
  return 0;
}

/* Is member `name` present and a string equal to `want`? */
static int member_is(const json_t *obj, const char *name, const char *want)
{
  const json_t *v = json_object_get(obj, name);
  return v && json_is_string(v) && strcmp(json_string_value(v), want) == 0;
}

/* Imports one JWK.  *unsupported is set when the JWK is well-formed enough
 * to tell that it is not for us (another kty, crv, alg or use), so that a
 * JWKS import can skip it. */
static enum gw_jws_result jwk_import(const json_t *jwk, struct gw_jws_key **out,
                                     int *unsupported)
{
  enum gw_jws_result r = GW_JWS_EKEY;
  unsigned char x[P256_COORD_LEN], y[P256_COORD_LEN];
  const json_t *kidv;
  const char *kid = NULL;
  EVP_PKEY *pkey = NULL;
  int sm2;

  *unsupported = 0;
  if(!json_is_object(jwk))
    goto out;
  /* SM2 keys: {"kty":"EC","crv":"SM2"}, as the Chinese DID documents
   * (SM2VerificationKey2022) write them; see docs/crypto.md. */
  sm2 = member_is(jwk, "crv", "SM2");
  if(!member_is(jwk, "kty", "EC") || (!sm2 && !member_is(jwk, "crv", "P-256")) ||
     (json_object_get(jwk, "alg") &&
      !member_is(jwk, "alg", sm2 ? GW_JWS_ALG_SM2_NAME : "ES256")) ||
     (json_object_get(jwk, "use") && !member_is(jwk, "use", "sig"))) {
    *unsupported = 1;
    goto out;
  }
  if(json_object_get(jwk, "d"))
    goto out;
  kidv = json_object_get(jwk, "kid");
  if(kidv) {
    if(!json_is_string(kidv) || json_string_length(kidv) == 0 ||
       json_string_length(kidv) > GW_JWS_KID_MAX ||
       strlen(json_string_value(kidv)) != json_string_length(kidv))
      goto out;
    kid = json_string_value(kidv);
  }
  if(jwk_coord(jwk, "x", x) || jwk_coord(jwk, "y", y))
    goto out;
  if(sm2) {
    const json_t *idv = json_object_get(jwk, "sm2_id");
    struct gw_jws_key *k = NULL;
    if(idv && (!json_is_string(idv) ||
               strlen(json_string_value(idv)) != json_string_length(idv) ||
               !gw_gm_sm2_id_ok(json_string_value(idv), json_string_length(idv))))
      goto out;
    /* NULL for a point that is not on the curve */
    pkey = gw_pemkey_from_coords(SN_sm2, x, y, P256_COORD_LEN);
    if(!pkey)
      goto out;
    r = key_new(pkey, 0, kid, &k);
    pkey = NULL;
    if(!r && idv)
      r = gw_jws_key_set_sm2_id(k, json_string_value(idv));
    if(r)
      gw_jws_key_free(k);
    else
      *out = k;
    goto out;
  }
  /* NULL for a point that is not on the curve */
  pkey = gw_pemkey_from_coords(SN_X9_62_prime256v1, x, y, P256_COORD_LEN);
  if(!pkey)
    goto out;
  r = key_new(pkey, 0, kid, out);
  pkey = NULL;
out:
  EVP_PKEY_free(pkey);
  if(r)
    ERR_clear_error();
  return r;
}

enum gw_jws_result gw_jws_key_from_jwk(const json_t *jwk, struct gw_jws_key **out)
{
  int unsupported;

  if(!out || !jwk)
    return GW_JWS_EINVAL;
  *out = NULL;
  return jwk_import(jwk, out, &unsupported);
}

struct gw_jws_key *gw_jws_key_ref(struct gw_jws_key *key)
{
  if(key)
    atomic_fetch_add_explicit(&key->refs, 1, memory_order_relaxed);
  return key;
}

void gw_jws_key_free(struct gw_jws_key *key)
{
  if(!key || atomic_fetch_sub_explicit(&key->refs, 1, memory_order_acq_rel) != 1)
    return;
  while(key->pool) {
    struct sign_slot *s = key->pool;
    key->pool = s->next;
    slot_free(s);
  }
  pthread_mutex_destroy(&key->pool_lock);
  EVP_PKEY_free(key->pkey);
  gw_free(key);
}

const char *gw_jws_key_kid(const struct gw_jws_key *key)
{
  return key->kid;
}

enum gw_jws_alg gw_jws_key_alg(const struct gw_jws_key *key)
{
  return key->alg;
}

int gw_jws_key_can_sign(const struct gw_jws_key *key)
{
  return key->can_sign;
}

enum gw_jws_result gw_jws_key_set_sm2_id(struct gw_jws_key *key, const char *id)
{
  if(!key || key->alg != GW_JWS_ALG_SM2 || !id || !gw_gm_sm2_id_ok(id, strlen(id)))
    return GW_JWS_EINVAL;
  key->sm2_id_len = strlen(id);
  memcpy(key->sm2_id, id, key->sm2_id_len + 1);
  return GW_JWS_OK;
}

const char *gw_jws_key_sm2_id(const struct gw_jws_key *key)
{
  return key && key->alg == GW_JWS_ALG_SM2 ? key->sm2_id : NULL;
}

/* x and y of the key in base64url, 43 characters each plus NUL. */
static void key_coords_b64(const struct gw_jws_key *key, char x[44], char y[44])
{
  size_t n;
  /* Cannot fail: 32 bytes always fit 44 characters. */
  if(gw_b64_encode(GW_B64_URL, key->x, P256_COORD_LEN, x, 44, &n) ||
     gw_b64_encode(GW_B64_URL, key->y, P256_COORD_LEN, y, 44, &n))
    abort();
}

enum gw_jws_result gw_jws_key_thumbprint(const struct gw_jws_key *key,
                                         char out[GW_JWS_THUMBPRINT_LEN + 1])
{
  char x[44], y[44], canon[128];
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  size_t n;
  int len;

  if(!key || !out)
    return GW_JWS_EINVAL;
  key_coords_b64(key, x, y);
  /* RFC 7638 section 3.2: required members only, in lexicographic order,
   * no whitespace.  The values need no escaping (base64url and fixed). */
  len = snprintf(canon, sizeof(canon),
                 "{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
                 crv_name(key->alg), x, y);
  if(len < 0 || (size_t)len >= sizeof(canon))
    return GW_JWS_EINVAL;
  if(EVP_Digest(canon, (size_t)len, md, &md_len, EVP_sha256(), NULL) != 1) {
    ERR_clear_error();
    return GW_JWS_ECRYPTO;
  }
  if(gw_b64_encode(GW_B64_URL, md, md_len, out, GW_JWS_THUMBPRINT_LEN + 1, &n))
    return GW_JWS_ECRYPTO;
  return GW_JWS_OK;
}

enum gw_jws_result gw_jws_key_to_jwk(const struct gw_jws_key *key, json_t **out)
{
  char x[44], y[44];

  if(!key || !out)
    return GW_JWS_EINVAL;
  key_coords_b64(key, x, y);
  *out = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
                   "kty", "EC", "crv", crv_name(key->alg), "x", x, "y", y,
                   "kid", key->kid, "alg", alg_name(key->alg), "use", "sig");
  /* SM2: the distinguishing ID a verifier must use (docs/crypto.md) */
  if(*out && key->alg == GW_JWS_ALG_SM2 &&
     json_object_set_new(*out, "sm2_id", json_string(key->sm2_id))) {
    json_decref(*out);
    *out = NULL;
  }
  return *out ? GW_JWS_OK : GW_JWS_ENOMEM;
}

/* ---------------------------------------------------------------- JWKS */

enum gw_jws_result gw_jws_jwks_build(const struct gw_jws_key *const *keys, size_t n,
                                     json_t **out)
{
  enum gw_jws_result r = GW_JWS_ENOMEM;
  json_t *set = NULL, *arr = NULL, *jwk = NULL;

  if(!out || (n && !keys))
    return GW_JWS_EINVAL;
  *out = NULL;
  for(size_t i = 0; i < n; i++) {
    if(!keys[i])
      return GW_JWS_EINVAL;
    for(size_t j = 0; j < i; j++)
      if(strcmp(keys[i]->kid, keys[j]->kid) == 0)
        return GW_JWS_EINVAL;
  }
  arr = json_array();
  if(!arr)
    goto fail;
  for(size_t i = 0; i < n; i++) {
    r = gw_jws_key_to_jwk(keys[i], &jwk);
    if(r)
      goto fail;
    r = GW_JWS_ENOMEM;
    if(json_array_append_new(arr, jwk))
      goto fail;
  }
  set = json_object();
  if(!set)
    goto fail;
  if(json_object_set_new(set, "keys", arr)) {  /* steals arr, even on failure */
    arr = NULL;
    goto fail;
  }
  arr = NULL;
  *out = set;
  return GW_JWS_OK;
fail:
  json_decref(arr);
  json_decref(set);
  return r;
}

enum gw_jws_result gw_jws_jwks_string(const struct gw_jws_key *const *keys,
                                      size_t n, char **out)
{
  json_t *set = NULL;
  enum gw_jws_result r;
  size_t len;
  char *buf = NULL;

  if(!out)
    return GW_JWS_EINVAL;
  *out = NULL;
  r = gw_jws_jwks_build(keys, n, &set);
  if(r)
    goto out;
  /* Sized first and written into our own allocation, so the caller frees
   * it like every other result of this module. */
  r = GW_JWS_ENOMEM;
  len = json_dumpb(set, NULL, 0, JSON_COMPACT);
  if(!len)
    goto out;
  buf = gw_malloc(len + 1);
  if(json_dumpb(set, buf, len, JSON_COMPACT) != len)
    goto out;
  buf[len] = '\0';
  *out = buf;
  buf = NULL;
  r = GW_JWS_OK;
out:
  gw_free(buf);
  json_decref(set);
  return r;
}

void gw_jws_keys_free(struct gw_jws_key **keys, size_t n)
{
  if(!keys)
    return;
  for(size_t i = 0; i < n; i++)
    gw_jws_key_free(keys[i]);
  gw_free(keys);
}

enum gw_jws_result gw_jws_jwks_import(const char *json, size_t len,
                                      struct gw_jws_key ***keys, size_t *n)
{
  enum gw_jws_result r = GW_JWS_EFORMAT;
  json_t *doc = NULL, *arr;
  struct gw_jws_key **got = NULL, *key = NULL;
  size_t count = 0, total;
  int unsupported;

  if(!keys || !n || !json)
    return GW_JWS_EINVAL;
  *keys = NULL;
  *n = 0;
  if(len > GW_JWS_JWKS_MAX)
    return GW_JWS_ETOOBIG;
  doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
  arr = json_object_get(doc, "keys");
  if(!json_is_object(doc) || !json_is_array(arr))
    goto fail;
  total = json_array_size(arr);
  if(total > GW_JWS_JWKS_KEYS_MAX) {
    r = GW_JWS_ETOOBIG;
    goto fail;
  }
  got = gw_calloc(total ? total : 1, sizeof(*got));
  for(size_t i = 0; i < total; i++) {
    r = jwk_import(json_array_get(arr, i), &key, &unsupported);
    if(r && unsupported)
      continue;
    if(r)
      goto fail;
    for(size_t j = 0; j < count; j++)
      if(strcmp(got[j]->kid, key->kid) == 0) {
        gw_jws_key_free(key);
        r = GW_JWS_EKEY;
        goto fail;
      }
    got[count++] = key;
  }
  r = GW_JWS_EKEY;
  if(!count)
    goto fail;
  json_decref(doc);
  *keys = got;
  *n = count;
  return GW_JWS_OK;
fail:
  gw_jws_keys_free(got, count);
  json_decref(doc);
  return r;
}

/* ---------------------------------------------------- signature plumbing */

/* Feeds the signing input to `update`, encoding the raw part in chunks. */
static int feed(EVP_MD_CTX *ctx, int (*update)(EVP_MD_CTX *, const void *, size_t),
                const struct signing_input *in)
{
  char enc[CHUNK_RAW / 3 * 4 + 1];
  size_t done = 0, chunk, enc_len;

  if(in->lit_len && update(ctx, in->lit, in->lit_len) != 1)
    return -1;
  while(done < in->raw_len) {
    chunk = in->raw_len - done < CHUNK_RAW ? in->raw_len - done : CHUNK_RAW;
    if(gw_b64_encode(GW_B64_URL, in->raw + done, chunk, enc, sizeof(enc), &enc_len) ||
       update(ctx, enc, enc_len) != 1)
      return -1;
    done += chunk;
  }
  return 0;
}

/* DER ECDSA-Sig-Value to JWS r||s, each left-padded to 32 bytes. */
static int der_to_raw(const unsigned char *der, size_t der_len,
                      unsigned char raw[ES256_SIG_LEN])
{
  const unsigned char *p = der;
  const BIGNUM *r = NULL, *s = NULL;
  ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
  int rc = -1;

  if(!sig || p != der + der_len)
    goto out;
  ECDSA_SIG_get0(sig, &r, &s);
  if(BN_bn2binpad(r, raw, 32) != 32 || BN_bn2binpad(s, raw + 32, 32) != 32)
    goto out;
  rc = 0;
out:
  ECDSA_SIG_free(sig);
  return rc;
}

/* JWS r||s to DER, into der[DER_SIG_MAX]; returns the length or -1. */
static int raw_to_der(const unsigned char raw[ES256_SIG_LEN],
                      unsigned char der[DER_SIG_MAX])
{
  ECDSA_SIG *sig = ECDSA_SIG_new();
  BIGNUM *r = BN_bin2bn(raw, 32, NULL), *s = BN_bin2bn(raw + 32, 32, NULL);
  unsigned char *p = der;
  int len = -1;

  if(!sig || !r || !s || !ECDSA_SIG_set0(sig, r, s))
    goto out;
  r = s = NULL;  /* owned by sig now */
  if(i2d_ECDSA_SIG(sig, NULL) > DER_SIG_MAX)
    goto out;
  len = i2d_ECDSA_SIG(sig, &p);
out:
  BN_free(r);
  BN_free(s);
  ECDSA_SIG_free(sig);
  return len;
}

/* ES256: SHA-256 of the signing input, signed with ECDSA P-256 (a fresh
 * random nonce each time), as EVP_DigestSign would, on a pooled context. */
static enum gw_jws_result sign_input(struct gw_jws_key *key,
                                     const struct signing_input *in,
                                     unsigned char raw[ES256_SIG_LEN])
{
  unsigned char der[DER_SIG_MAX], digest[EVP_MAX_MD_SIZE];
  unsigned int dlen = 0;
  size_t der_len = sizeof(der);
  struct sign_slot *s;

  if(key->alg == GW_JWS_ALG_SM2) {
    enum gw_jws_result r = GW_JWS_ECRYPTO;
    EVP_MD_CTX *ctx = gw_gm_sm2_md_ctx(key->pkey, 1, key->sm2_id, key->sm2_id_len);
    if(ctx && !feed(ctx, EVP_DigestSignUpdate, in) && !gw_gm_sm2_sign_final(ctx, raw))
      r = GW_JWS_OK;
    EVP_MD_CTX_free(ctx);
    if(r)
      ERR_clear_error();
    return r;
  }
  s = slot_take(key);
  if(!s) {
    ERR_clear_error();
    return GW_JWS_ECRYPTO;
  }
  if(EVP_DigestInit_ex(s->md, sha256_md, NULL) != 1 ||
     feed(s->md, EVP_DigestUpdate, in) ||
     EVP_DigestFinal_ex(s->md, digest, &dlen) != 1 || dlen != 32 ||
     EVP_PKEY_sign(s->pctx, der, &der_len, digest, dlen) != 1 ||
     der_to_raw(der, der_len, raw)) {
    slot_free(s);
    ERR_clear_error();
    return GW_JWS_ECRYPTO;
  }
  slot_put(key, s);
  return GW_JWS_OK;
}

static enum gw_jws_result verify_input(const struct gw_jws_key *key,
                                       const struct signing_input *in,
                                       const unsigned char raw[ES256_SIG_LEN])
{
  enum gw_jws_result r = GW_JWS_ECRYPTO;
  unsigned char der[DER_SIG_MAX];
  int der_len;
  EVP_MD_CTX *ctx = NULL;

  if(key->alg == GW_JWS_ALG_SM2) {
    ctx = gw_gm_sm2_md_ctx(key->pkey, 0, key->sm2_id, key->sm2_id_len);
    if(ctx && !feed(ctx, EVP_DigestVerifyUpdate, in))
      r = gw_gm_sm2_verify_final(ctx, raw) == GW_GM_OK ? GW_JWS_OK : GW_JWS_EBADSIG;
    goto out;
  }
  der_len = raw_to_der(raw, der);
  if(der_len < 0)
    goto out;
  ctx = EVP_MD_CTX_new();
  if(!ctx) {
    r = GW_JWS_ENOMEM;
    goto out;
  }
  if(EVP_DigestVerifyInit_ex(ctx, NULL, "SHA256", NULL, NULL, key->pkey, NULL) != 1 ||
     feed(ctx, EVP_DigestVerifyUpdate, in))
    goto out;
  /* 0 is a mismatch; a negative result is a malformed signature (r or s
   * zero or not below the group order), which is no better. */
  r = EVP_DigestVerifyFinal(ctx, der, (size_t)der_len) == 1 ? GW_JWS_OK : GW_JWS_EBADSIG;
out:
  EVP_MD_CTX_free(ctx);
  if(r)
    ERR_clear_error();
  return r;
}

/* ------------------------------------------------------------- signing */

/* Writes base64url({"alg":..,"kid":..[,"typ":..]}) into hdr[GW_JWS_HEADER_MAX + 1]. */
static enum gw_jws_result header_b64(const struct gw_jws_key *key, const char *typ,
                                     char hdr[GW_JWS_HEADER_MAX + 1], size_t *hdr_len)
{
  enum gw_jws_result r = GW_JWS_ENOMEM;
  char js[HEADER_JSON_MAX];
  size_t js_len;
  json_t *h = json_object();

  if(!h)
    goto out;
  if(json_object_set_new(h, "alg", json_string(alg_name(key->alg))) ||
     json_object_set_new(h, "kid", json_string(key->kid)))
    goto out;
  if(typ) {
    r = GW_JWS_EINVAL;
    if(!typ[0] || strlen(typ) > GW_JWS_TYP_MAX)
      goto out;
    /* json_string() refuses text that is not UTF-8 */
    if(json_object_set_new(h, "typ", json_string(typ)))
      goto out;
  }
  r = GW_JWS_EINVAL;
  js_len = json_dumpb(h, js, sizeof(js), JSON_COMPACT);
  if(!js_len || js_len > sizeof(js))
    goto out;
  if(gw_b64_encode(GW_B64_URL, js, js_len, hdr, GW_JWS_HEADER_MAX + 1, hdr_len))
    goto out;
  r = GW_JWS_OK;
out:
  json_decref(h);
  return r;
}

/* What both signing forms check first (arguments, a signing key, the size
 * cap), and the protected header they share: base64url into hdr. */
static enum gw_jws_result sign_begin(struct gw_jws_key *key, const char *typ,
                                     const void *data, size_t len, size_t max, char **out,
                                     char *hdr, size_t *hl)
{
  enum gw_jws_result r;
  int hit;

  if(!out)
    return GW_JWS_EINVAL;
  *out = NULL;
  if(!key || (len && !data))
    return GW_JWS_EINVAL;
  if(!key->can_sign)
    return GW_JWS_EKEY;
  if(len > max)
    return GW_JWS_ETOOBIG;
  pthread_mutex_lock(&key->pool_lock);
  hit = key->hdr_valid && key->hdr_has_typ == (typ != NULL) &&
        (!typ || !strcmp(key->hdr_typ, typ));
  if(hit) {
    memcpy(hdr, key->hdr_b64, key->hdr_len + 1);
    *hl = key->hdr_len;
  }
  pthread_mutex_unlock(&key->pool_lock);
  if(hit)
    return GW_JWS_OK;
  r = header_b64(key, typ, hdr, hl);     /* checks typ */
  if(r == GW_JWS_OK) {
    pthread_mutex_lock(&key->pool_lock);
    key->hdr_valid = 1;
    key->hdr_has_typ = typ != NULL;
    snprintf(key->hdr_typ, sizeof(key->hdr_typ), "%s", typ ? typ : "");
    memcpy(key->hdr_b64, hdr, *hl);
    key->hdr_b64[*hl] = '\0';
    key->hdr_len = *hl;
    pthread_mutex_unlock(&key->pool_lock);
  }
  return r;
}

enum gw_jws_result gw_jws_sign_compact(struct gw_jws_key *key, const char *typ,
                                       const void *payload, size_t len,
                                       char **out, size_t *out_len)
{
  enum gw_jws_result r;
  char hdr[GW_JWS_HEADER_MAX + 1], *buf = NULL;
  unsigned char sig[ES256_SIG_LEN];
  size_t hl = 0, pl, total, o, n;
  struct signing_input in = { NULL, 0, NULL, 0 };

  r = sign_begin(key, typ, payload, len, GW_JWS_PAYLOAD_MAX, out, hdr, &hl);
  if(r)
    return r;
  pl = gw_b64_encoded_len(GW_B64_URL, len);
  total = hl + 1 + pl + 1 + ES256_SIG_B64;
  buf = gw_malloc(total + 1);
  memcpy(buf, hdr, hl);
  buf[hl] = '.';
  o = hl + 1;
  r = GW_JWS_ECRYPTO;
  if(gw_b64_encode(GW_B64_URL, payload, len, buf + o, total + 1 - o, &n))
    goto fail;
  o += n;
  in.lit = buf;
  in.lit_len = o;
  r = sign_input(key, &in, sig);
  if(r)
    goto fail;
  buf[o++] = '.';
  r = GW_JWS_ECRYPTO;
  if(gw_b64_encode(GW_B64_URL, sig, sizeof(sig), buf + o, total + 1 - o, &n))
    goto fail;
  *out = buf;
  if(out_len)
    *out_len = o + n;
  return GW_JWS_OK;
fail:
  gw_free(buf);
  return r;
}

enum gw_jws_result gw_jws_sign_detached(struct gw_jws_key *key, const char *typ,
                                        const void *body, size_t len,
                                        char **out, size_t *out_len)
{
  enum gw_jws_result r;
  char hdr[GW_JWS_HEADER_MAX + 2], *buf = NULL;
  unsigned char sig[ES256_SIG_LEN];
  size_t hl = 0, total, n;
  struct signing_input in = { NULL, 0, NULL, 0 };

  r = sign_begin(key, typ, body, len, GW_JWS_DETACHED_MAX, out, hdr, &hl);
  if(r)
    return r;
  hdr[hl] = '.';
  in.lit = hdr;
  in.lit_len = hl + 1;
  in.raw = body;
  in.raw_len = len;
  r = sign_input(key, &in, sig);
  if(r)
    goto fail;
  total = hl + 2 + ES256_SIG_B64;
  buf = gw_malloc(total + 1);
  memcpy(buf, hdr, hl);
  buf[hl] = '.';
  buf[hl + 1] = '.';
  r = GW_JWS_ECRYPTO;
  if(gw_b64_encode(GW_B64_URL, sig, sizeof(sig), buf + hl + 2, total + 1 - hl - 2, &n))
    goto fail;
  *out = buf;
  if(out_len)
    *out_len = hl + 2 + n;
  return GW_JWS_OK;
fail:
  gw_free(buf);
  return r;
}

/* -------------------------------------------------------- verification */

/* The three parts of a JWS, as offsets into the caller's text. */
struct jws_parts {
  const char *hdr, *pay, *sig;
  size_t hdr_len, pay_len, sig_len;
};

static enum gw_jws_result split(const char *jws, size_t len, struct jws_parts *p)
{
  const char *d1 = memchr(jws, '.', len), *d2, *end = jws + len;

  if(!d1)
    return GW_JWS_EFORMAT;
  d2 = memchr(d1 + 1, '.', (size_t)(end - d1 - 1));
  if(!d2 || memchr(d2 + 1, '.', (size_t)(end - d2 - 1)))
    return GW_JWS_EFORMAT;
  p->hdr = jws;
  p->hdr_len = (size_t)(d1 - jws);
  p->pay = d1 + 1;
  p->pay_len = (size_t)(d2 - d1 - 1);
  p->sig = d2 + 1;
  p->sig_len = (size_t)(end - d2 - 1);
  if(!p->hdr_len)
    return GW_JWS_EFORMAT;
  if(p->hdr_len > GW_JWS_HEADER_MAX)
    return GW_JWS_ETOOBIG;
  return GW_JWS_OK;
}

static enum gw_jws_result decode_sig(const struct jws_parts *p,
                                     unsigned char sig[ES256_SIG_LEN])
{
  unsigned char buf[SIG_SEGMENT_MAX];
  size_t len = 0;

  if(p->sig_len > SIG_SEGMENT_MAX)
    return GW_JWS_ESIGLEN;
  if(gw_b64_decode(GW_B64_URL, p->sig, p->sig_len, buf, sizeof(buf), &len))
    return GW_JWS_EFORMAT;
  if(len != ES256_SIG_LEN)
    return GW_JWS_ESIGLEN;
  memcpy(sig, buf, ES256_SIG_LEN);
  return GW_JWS_OK;
}

/* Parses and checks the protected header, and picks the key from
 * keys[0..n).  *kid_out (may be NULL) receives the header's kid or "". */
static enum gw_jws_result check_header(const struct jws_parts *p,
                                       const struct gw_jws_key *const *keys, size_t n,
                                       const char *typ, const struct gw_jws_key **key,
                                       char kid_out[GW_JWS_KID_MAX + 1])
{
  enum gw_jws_result r;
  unsigned char *raw = NULL;
  size_t raw_len = 0;
  json_t *h = NULL;
  const json_t *alg, *kid, *htyp;
  const char *want_alg;
  size_t kid_len = 0;

  *key = NULL;
  r = GW_JWS_EFORMAT;
  if(gw_b64_decode_alloc(GW_B64_URL, p->hdr, p->hdr_len, &raw, &raw_len))
    goto out;
  r = GW_JWS_EHEADER;
  h = json_loadb((const char *)raw, raw_len, JSON_REJECT_DUPLICATES, NULL);
  if(!json_is_object(h))
    goto out;
  r = GW_JWS_ECRIT;
  if(json_object_get(h, "crit") || json_object_get(h, "b64"))
    goto out;
  alg = json_object_get(h, "alg");
  kid = json_object_get(h, "kid");
  htyp = json_object_get(h, "typ");
  r = GW_JWS_EHEADER;
  if((kid && !json_is_string(kid)) || (htyp && !json_is_string(htyp)))
    goto out;
  r = GW_JWS_EALG;
  if(!json_is_string(alg))
    goto out;
  r = GW_JWS_EKID;
  if(kid) {
    kid_len = json_string_length(kid);
    if(kid_len > GW_JWS_KID_MAX || strlen(json_string_value(kid)) != kid_len)
      goto out;
    for(size_t i = 0; i < n && !*key; i++)
      if(strcmp(keys[i]->kid, json_string_value(kid)) == 0)
        *key = keys[i];
  }
  else if(n == 1)
    *key = keys[0];
  if(!*key)
    goto out;
  r = GW_JWS_EALG;
  want_alg = alg_name((*key)->alg);
  if(!want_alg || strcmp(json_string_value(alg), want_alg) != 0)
    goto out;
  r = GW_JWS_ETYP;
  if(typ && (!htyp || strcmp(json_string_value(htyp), typ) != 0))
    goto out;
  if(kid_out) {
    if(kid)
      memcpy(kid_out, json_string_value(kid), kid_len + 1);
    else
      kid_out[0] = '\0';
  }
  r = GW_JWS_OK;
out:
  if(r)
    *key = NULL;
  json_decref(h);
  gw_free(raw);
  return r;
}

/* The one verification path.  body == NULL && !detached: compact, the
 * payload is decoded into *payload.  detached: the payload part must be
 * empty and the signature covers body[0..body_len). */
static enum gw_jws_result verify(const struct gw_jws_key *const *keys, size_t n,
                                 const char *typ, const char *jws, size_t jws_len,
                                 int detached, const void *body, size_t body_len,
                                 unsigned char **payload, size_t *payload_len,
                                 char kid_out[GW_JWS_KID_MAX + 1],
                                 const struct gw_jws_key **used)
{
  enum gw_jws_result r;
  struct jws_parts p;
  struct signing_input in = { NULL, 0, NULL, 0 };
  unsigned char sig[ES256_SIG_LEN], *pay = NULL;
  char kid[GW_JWS_KID_MAX + 1];
  size_t pay_len = 0;
  const struct gw_jws_key *key = NULL;

  if(!keys || !n || !jws || (detached ? (body_len && !body) : (!payload || !payload_len)))
    return GW_JWS_EINVAL;
  for(size_t i = 0; i < n; i++)
    if(!keys[i])
      return GW_JWS_EINVAL;
  if(jws_len > (detached ? GW_JWS_HEADER_MAX + 2 + SIG_SEGMENT_MAX : GW_JWS_COMPACT_MAX) ||
     (detached && body_len > GW_JWS_DETACHED_MAX))
    return GW_JWS_ETOOBIG;
  r = split(jws, jws_len, &p);
  if(r)
    return r;
  if(detached && p.pay_len)
    return GW_JWS_EFORMAT;
  if(!detached && p.pay_len > gw_b64_encoded_len(GW_B64_URL, GW_JWS_PAYLOAD_MAX))
    return GW_JWS_ETOOBIG;
  r = decode_sig(&p, sig);
  if(r)
    return r;
  r = check_header(&p, keys, n, typ, &key, kid);
  if(r)
    return r;
  if(detached) {
    in.lit = jws;                 /* "header." */
    in.lit_len = p.hdr_len + 1;
    in.raw = body;
    in.raw_len = body_len;
  }
  else {
    in.lit = jws;                 /* "header.payload" */
    in.lit_len = p.hdr_len + 1 + p.pay_len;
  }
  r = verify_input(key, &in, sig);
  if(r)
    return r;
  if(!detached) {
    if(gw_b64_decode_alloc(GW_B64_URL, p.pay, p.pay_len, &pay, &pay_len))
      return GW_JWS_EFORMAT;
    *payload = pay;
    *payload_len = pay_len;
  }
  if(kid_out)
    memcpy(kid_out, kid, strlen(kid) + 1);
  if(used)
    *used = key;
  return GW_JWS_OK;
}

enum gw_jws_result gw_jws_verify_compact(const struct gw_jws_key *key, const char *typ,
                                         const char *jws, size_t jws_len,
                                         unsigned char **payload, size_t *payload_len,
                                         char kid[GW_JWS_KID_MAX + 1])
{
  const struct gw_jws_key *one[1] = { key };
  return verify(one, 1, typ, jws, jws_len, 0, NULL, 0, payload, payload_len, kid, NULL);
}

enum gw_jws_result gw_jws_verify_compact_set(const struct gw_jws_key *const *keys,
                                             size_t n, const char *typ,
                                             const char *jws, size_t jws_len,
                                             unsigned char **payload,
                                             size_t *payload_len,
                                             const struct gw_jws_key **used)
{
  return verify(keys, n, typ, jws, jws_len, 0, NULL, 0, payload, payload_len, NULL, used);
}

enum gw_jws_result gw_jws_verify_detached(const struct gw_jws_key *key, const char *typ,
                                          const char *jws, size_t jws_len,
                                          const void *body, size_t body_len,
                                          char kid[GW_JWS_KID_MAX + 1])
{
  const struct gw_jws_key *one[1] = { key };
  return verify(one, 1, typ, jws, jws_len, 1, body, body_len, NULL, NULL, kid, NULL);
}

enum gw_jws_result gw_jws_verify_detached_set(const struct gw_jws_key *const *keys,
                                              size_t n, const char *typ,
                                              const char *jws, size_t jws_len,
                                              const void *body, size_t body_len,
                                              const struct gw_jws_key **used)
{
  return verify(keys, n, typ, jws, jws_len, 1, body, body_len, NULL, NULL, NULL, used);
}

const char *gw_jws_strerror(enum gw_jws_result r)
{
  switch(r) {
  case GW_JWS_OK:      return "ok";
  case GW_JWS_EINVAL:  return "invalid argument";
  case GW_JWS_ENOMEM:  return "out of memory";
  case GW_JWS_ETOOBIG: return "input over its size cap";
  case GW_JWS_EFORMAT: return "malformed JWS or base64url";
  case GW_JWS_EHEADER: return "protected header is not a well-formed JSON object";
  case GW_JWS_EALG:    return "algorithm missing or not the key's";
  case GW_JWS_EKID:    return "key id matches no key";
  case GW_JWS_ECRIT:   return "unsupported critical extension";
  case GW_JWS_ETYP:    return "type is not the expected one";
  case GW_JWS_ESIGLEN: return "signature is not 64 bytes r||s";
  case GW_JWS_EBADSIG: return "signature does not verify";
  case GW_JWS_EKEY:    return "key unusable";
  case GW_JWS_EIO:     return "cannot read key file";
  case GW_JWS_ECRYPTO: return "cryptographic library failure";
  }
  return "unknown error";
}
