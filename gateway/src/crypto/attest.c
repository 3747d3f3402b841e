/*
 * attest.c - attestations (signed facts) and subject references.
 *
 * The payload is serialized with sorted keys so the same fetch always gives
 * the same bytes; it is signed once and never re-serialized afterwards.
 *
 * Profiles (docs/crypto.md): a signer holds a P-256 key set, an SM2 key set,
 * or both.  Its primary set signs "attestation" and the Gateway-Signature
 * (P-256 when it has one, else SM2); in dual mode the SM2 set also signs
 * "attestation_sm2" over the very same payload bytes.
 */
#include "gw/attest.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "gw/alloc.h"
#include "gw/b64.h"
#include "gw/gm.h"
#include "hmac.h"
#include "gw/jws.h"

#define GW_ATTEST_MAX_KEYS 8
#define GW_SECRET_MAX_BYTES 1024

struct gw_attest_signer {
  char *issuer;
  struct gw_jws_key *keys[GW_ATTEST_MAX_KEYS];   /* P-256; [0] is current */
  size_t n_keys;
  struct gw_jws_key *sm2[GW_ATTEST_MAX_KEYS];    /* SM2; [0] is current */
  size_t n_sm2;
};

/* Loads current_pem and previous_pems[0..n_previous) into set[], *n of
 * them, each required to be of `alg`.  0, or -1 with err. */
static int load_set(struct gw_jws_key **set, size_t *n, enum gw_jws_alg alg,
                    const char *current_pem, const char *const *previous_pems,
                    size_t n_previous, char *err, size_t errlen)
{
  enum gw_jws_result r;
  const char *what = alg == GW_JWS_ALG_SM2 ? "an SM2" : "a P-256";

  if(n_previous + 1 > GW_ATTEST_MAX_KEYS) {
    snprintf(err, errlen, "at most %d previous keys", GW_ATTEST_MAX_KEYS - 1);
    return -1;
  }
  for(size_t i = 0; i <= n_previous; i++) {
    const char *pem = i ? previous_pems[i - 1] : current_pem;
    r = gw_jws_key_load_pem(pem, &set[*n]);
    if(r != GW_JWS_OK) {
      snprintf(err, errlen, "%s: %s", pem, gw_jws_strerror(r));
      return -1;
    }
    (*n)++;
    if(gw_jws_key_alg(set[*n - 1]) != alg) {
      snprintf(err, errlen, "%s: not %s key", pem, what);
      return -1;
    }
    if(!i && !gw_jws_key_can_sign(set[0])) {
      snprintf(err, errlen, "%s: not a private key", pem);
      return -1;
    }
  }
  return 0;
}

struct gw_attest_signer *gw_attest_signer_new_keys(const char *issuer,
                                                   const struct gw_attest_keys *k,
                                                   char *err, size_t errlen)
{
  struct gw_attest_signer *s = gw_calloc(1, sizeof(*s));

  s->issuer = gw_strdup(issuer);
  if(!k->es256 && !k->sm2) {
    snprintf(err, errlen, "no attestation key");
    goto fail;
  }
  if(k->es256 && load_set(s->keys, &s->n_keys, GW_JWS_ALG_ES256, k->es256, k->es256_previous,
                          k->n_es256_previous, err, errlen))
    goto fail;
  if(k->sm2 && load_set(s->sm2, &s->n_sm2, GW_JWS_ALG_SM2, k->sm2, k->sm2_previous,
                        k->n_sm2_previous, err, errlen))
    goto fail;
  for(size_t i = 0; k->sm2_id && i < s->n_sm2; i++)
    if(gw_jws_key_set_sm2_id(s->sm2[i], k->sm2_id) != GW_JWS_OK) {
      snprintf(err, errlen, "the SM2 distinguishing ID must be 1 to %d printable ASCII "
               "characters", GW_GM_SM2_ID_MAX);
      goto fail;
    }
  return s;

fail:
  gw_attest_signer_free(s);
  return NULL;
}

/* The key "attestation" and Gateway-Signature are made with. */
static struct gw_jws_key *primary(const struct gw_attest_signer *s)
{
  return s->n_keys ? s->keys[0] : s->sm2[0];
}

struct gw_attest_signer *gw_attest_signer_new(const char *issuer, const char *current_pem,
                                              const char *const *previous_pems, size_t n_previous,
                                              char *err, size_t errlen)
{
  struct gw_attest_keys k = { current_pem, previous_pems, n_previous, NULL, NULL, 0, NULL };
  return gw_attest_signer_new_keys(issuer, &k, err, errlen);
}

void gw_attest_signer_free(struct gw_attest_signer *s)
{
  if(!s)
    return;
  for(size_t i = 0; i < s->n_keys; i++)
    gw_jws_key_free(s->keys[i]);
  for(size_t i = 0; i < s->n_sm2; i++)
    gw_jws_key_free(s->sm2[i]);
  gw_free(s->issuer);
  gw_free(s);
}

const char *gw_attest_signer_kid(const struct gw_attest_signer *s)
{
  return gw_jws_key_kid(primary(s));
}

int gw_attest_signer_dual(const struct gw_attest_signer *s)
{
  return s->n_keys && s->n_sm2;
}

char *gw_attest_jwks(const struct gw_attest_signer *s)
{
  const struct gw_jws_key *all[2 * GW_ATTEST_MAX_KEYS];
  size_t n = 0;
  char *out = NULL;

  for(size_t i = 0; i < s->n_keys; i++)
    all[n++] = s->keys[i];
  for(size_t i = 0; i < s->n_sm2; i++)
    all[n++] = s->sm2[i];
  if(gw_jws_jwks_string(all, n, &out) != GW_JWS_OK)
    return NULL;
  return out;
}

char *gw_attest_make(const struct gw_attest_signer *s, const char *subject_ref,
                     const char *fact, const json_t *value,
                     const struct gw_attest_src *src, int64_t iat, int64_t exp,
                     char *err, size_t errlen)
{
  return gw_attest_make_dual(s, subject_ref, fact, value, src, iat, exp, NULL, err, errlen);
}

/* Signs payload[0..len) as typ with the primary key into *jws and, when
 * sm2_out is not NULL and the signer is dual, with the current SM2 key into
 * *sm2_out: the same payload bytes under both algorithms.  Both or neither
 * are made.  0, or -1 with err. */
static int sign_twice(const struct gw_attest_signer *s, const char *typ, const char *payload,
                      size_t len, char **jws, char **sm2_out, char *err, size_t errlen)
{
  size_t jws_len;
  enum gw_jws_result r;

  *jws = NULL;
  if(sm2_out)
    *sm2_out = NULL;
  r = gw_jws_sign_compact(primary(s), typ, payload, len, jws, &jws_len);
  if(r == GW_JWS_OK && sm2_out && gw_attest_signer_dual(s)) {
    r = gw_jws_sign_compact(s->sm2[0], typ, payload, len, sm2_out, &jws_len);
    if(r != GW_JWS_OK) {
      gw_free(*jws);
      *jws = NULL;
    }
  }
  if(r != GW_JWS_OK) {
    snprintf(err, errlen, "signing failed: %s", gw_jws_strerror(r));
    return -1;
  }
  return 0;
}

char *gw_attest_make_dual(const struct gw_attest_signer *s, const char *subject_ref,
                          const char *fact, const json_t *value,
                          const struct gw_attest_src *src, int64_t iat, int64_t exp,
                          char **sm2_out, char *err, size_t errlen)
{
  json_t *p = json_object(), *sj = json_object();
  char *payload = NULL, *jws = NULL;

  json_object_set_new(sj, "agency", json_string(src->agency));
  json_object_set_new(sj, "adapter", json_string(src->adapter));
  json_object_set_new(sj, "adapter_version", json_integer(src->adapter_version));
  json_object_set_new(sj, "channel", json_string(src->channel));
  json_object_set_new(sj, "signature", json_string(src->signature));
  json_object_set_new(sj, "evidence", json_string(src->evidence));
  json_object_set_new(p, "iss", json_string(s->issuer));
  json_object_set_new(p, "sub", json_string(subject_ref));
  json_object_set_new(p, "fact", json_string(fact));
  json_object_set_new(p, "value", json_deep_copy(value));
  json_object_set_new(p, "src", sj);
  json_object_set_new(p, "iat", json_integer(iat));
  json_object_set_new(p, "exp", json_integer(exp));
  payload = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(p);
  if(sm2_out)
    *sm2_out = NULL;
  if(!payload) {
    snprintf(err, errlen, "cannot serialize the attestation payload");
    return NULL;
  }
  sign_twice(s, GW_ATTEST_TYP, payload, strlen(payload), &jws, sm2_out, err, errlen);
  free(payload);
  return jws;
}

char *gw_attest_make_typed(const struct gw_attest_signer *s, const char *typ, json_t *payload,
                           char **sm2_out, char *err, size_t errlen)
{
  char *text, *jws = NULL;

  if(sm2_out)
    *sm2_out = NULL;
  json_object_set_new(payload, "iss", json_string(s->issuer));
  text = json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS);
  if(!text) {
    snprintf(err, errlen, "cannot serialize the attestation payload");
    return NULL;
  }
  sign_twice(s, typ, text, strlen(text), &jws, sm2_out, err, errlen);
  free(text);
  return jws;
}

/* The payload segment of a compact JWS: [*b, *e). 0, or -1 when not three parts. */
static int payload_span(const char *jws, const char **b, const char **e)
{
  const char *d1 = strchr(jws, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
  if(!d2 || strchr(d2 + 1, '.'))
    return -1;
  *b = d1 + 1;
  *e = d2;
  return 0;
}

int gw_attest_twin_check(const struct gw_jws_key *const *keys, size_t n_keys, const char *typ,
                         const char *primary_jws, const char *sm2_jws,
                         char *why, size_t whylen)
{
  const char *pb, *pe, *sb, *se;
  const struct gw_jws_key *used = NULL;
  unsigned char *payload = NULL;
  size_t plen = 0;
  enum gw_jws_result r;

  if(!primary_jws || !sm2_jws || payload_span(primary_jws, &pb, &pe) ||
     payload_span(sm2_jws, &sb, &se)) {
    snprintf(why, whylen, "not a compact JWS");
    return -1;
  }
  r = gw_jws_verify_compact_set(keys, n_keys, typ, sm2_jws, strlen(sm2_jws), &payload, &plen,
                                &used);
  gw_free(payload);
  if(r != GW_JWS_OK) {
    snprintf(why, whylen, "%s", gw_jws_strerror(r));
    return -1;
  }
  if(gw_jws_key_alg(used) != GW_JWS_ALG_SM2) {
    snprintf(why, whylen, "signed by a key that is not SM2");
    return -1;
  }
  if(pe - pb != se - sb || memcmp(pb, sb, (size_t)(pe - pb))) {
    snprintf(why, whylen, "its payload is not the one its twin signs");
    return -1;
  }
  return 0;
}

char *gw_attest_sign_body(const struct gw_attest_signer *s, const void *body, size_t len)
{
  char *out = NULL;
  size_t out_len;
  if(gw_jws_sign_detached(primary(s), NULL, body, len, &out, &out_len) != GW_JWS_OK)
    return NULL;
  return out;
}

/* base64url of a 32-byte MAC into out (GW_SUBJECT_REF_LEN + NUL). */
static int ref_encode(const unsigned char mac[32], char out[GW_SUBJECT_REF_LEN + 1])
{
  size_t n;
  if(gw_b64_encode(GW_B64_URL, mac, 32, out, GW_SUBJECT_REF_LEN + 1, &n) != GW_B64_OK ||
     n != GW_SUBJECT_REF_LEN)
    return -1;
  out[n] = '\0';
  return 0;
}

int gw_subject_ref(const unsigned char *secret, size_t secret_len, const char *id,
                   char out[GW_SUBJECT_REF_LEN + 1])
{
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  int rc;
  if(!HMAC(EVP_sha256(), secret, (int)secret_len, (const unsigned char *)id, strlen(id),
           mac, &mac_len) || mac_len != 32)
    return -1;
  rc = ref_encode(mac, out);
  OPENSSL_cleanse(mac, sizeof(mac));
  return rc;
}

int gw_subject_ref_keyed(struct gw_hmac_key *k, const char *id,
                         char out[GW_SUBJECT_REF_LEN + 1])
{
  unsigned char mac[32];
  int rc;
  if(gw_hmac_sha256(k, id, strlen(id), mac))
    return -1;
  rc = ref_encode(mac, out);
  OPENSSL_cleanse(mac, sizeof(mac));
  return rc;
}

static int hexval(int c)
{
  if(c >= '0' && c <= '9')
    return c - '0';
  if(c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if(c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

int gw_secret_load_hex(const char *path, unsigned char **out, size_t *len,
                       char *err, size_t errlen)
{
  char buf[GW_SECRET_MAX_BYTES * 2 + 2];
  size_t n, k = 0;
  unsigned char *sec;
  FILE *fp = fopen(path, "r");
  if(!fp) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return -1;
  }
  n = fread(buf, 1, sizeof(buf), fp);
  fclose(fp);
  while(n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
    n--;
  if(n == sizeof(buf) || n % 2 || n < 64) {
    snprintf(err, errlen, "%s: must hold 32 to %d bytes as hex", path, GW_SECRET_MAX_BYTES);
    OPENSSL_cleanse(buf, sizeof(buf));
    return -1;
  }
  sec = gw_malloc(n / 2);
  for(size_t i = 0; i < n; i += 2) {
    int hi = hexval(buf[i]), lo = hexval(buf[i + 1]);
    if(hi < 0 || lo < 0) {
      snprintf(err, errlen, "%s: not hex", path);
      OPENSSL_cleanse(buf, sizeof(buf));
      OPENSSL_cleanse(sec, n / 2);
      gw_free(sec);
      return -1;
    }
    sec[k++] = (unsigned char)(hi << 4 | lo);
  }
  OPENSSL_cleanse(buf, sizeof(buf));
  *out = sec;
  *len = k;
  return 0;
}
