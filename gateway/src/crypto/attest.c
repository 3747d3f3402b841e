/*
 * attest.c - attestations (signed facts) and subject references.
 *
 * The payload is serialized with sorted keys so the same fetch always gives
 * the same bytes; it is signed once and never re-serialized afterwards.
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
#include "hmac.h"
#include "gw/jws.h"

#define GW_ATTEST_MAX_KEYS 8
#define GW_SECRET_MAX_BYTES 1024

struct gw_attest_signer {
  char *issuer;
  struct gw_jws_key *keys[GW_ATTEST_MAX_KEYS];   /* [0] is current */
  size_t n_keys;
};

struct gw_attest_signer *gw_attest_signer_new(const char *issuer, const char *current_pem,
                                              const char *const *previous_pems, size_t n_previous,
                                              char *err, size_t errlen)
{
  struct gw_attest_signer *s = gw_calloc(1, sizeof(*s));
  enum gw_jws_result r;

  s->issuer = gw_strdup(issuer);
  if(n_previous + 1 > GW_ATTEST_MAX_KEYS) {
    snprintf(err, errlen, "at most %d previous keys", GW_ATTEST_MAX_KEYS - 1);
    goto fail;
  }
  r = gw_jws_key_load_pem(current_pem, &s->keys[0]);
  if(r != GW_JWS_OK) {
    snprintf(err, errlen, "%s: %s", current_pem, gw_jws_strerror(r));
    goto fail;
  }
  s->n_keys = 1;
  if(!gw_jws_key_can_sign(s->keys[0])) {
    snprintf(err, errlen, "%s: not a private key", current_pem);
    goto fail;
  }
  for(size_t i = 0; i < n_previous; i++) {
    r = gw_jws_key_load_pem(previous_pems[i], &s->keys[s->n_keys]);
    if(r != GW_JWS_OK) {
      snprintf(err, errlen, "%s: %s", previous_pems[i], gw_jws_strerror(r));
      goto fail;
    }
    s->n_keys++;
  }
  return s;

fail:
  gw_attest_signer_free(s);
  return NULL;
}

void gw_attest_signer_free(struct gw_attest_signer *s)
{
  if(!s)
    return;
  for(size_t i = 0; i < s->n_keys; i++)
    gw_jws_key_free(s->keys[i]);
  gw_free(s->issuer);
  gw_free(s);
}

const char *gw_attest_signer_kid(const struct gw_attest_signer *s)
{
  return gw_jws_key_kid(s->keys[0]);
}

char *gw_attest_jwks(const struct gw_attest_signer *s)
{
  char *out = NULL;
  if(gw_jws_jwks_string((const struct gw_jws_key *const *)s->keys, s->n_keys, &out)
     != GW_JWS_OK)
    return NULL;
  return out;
}

char *gw_attest_make(const struct gw_attest_signer *s, const char *subject_ref,
                     const char *fact, const json_t *value,
                     const struct gw_attest_src *src, int64_t iat, int64_t exp,
                     char *err, size_t errlen)
{
  json_t *p = json_object(), *sj = json_object();
  char *payload = NULL, *jws = NULL;
  size_t jws_len;
  enum gw_jws_result r;

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
  if(!payload) {
    snprintf(err, errlen, "cannot serialize the attestation payload");
    return NULL;
  }
  r = gw_jws_sign_compact(s->keys[0], GW_ATTEST_TYP, payload, strlen(payload), &jws, &jws_len);
  free(payload);
  if(r != GW_JWS_OK) {
    snprintf(err, errlen, "signing failed: %s", gw_jws_strerror(r));
    return NULL;
  }
  return jws;
}

char *gw_attest_sign_body(const struct gw_attest_signer *s, const void *body, size_t len)
{
  char *out = NULL;
  size_t out_len;
  if(gw_jws_sign_detached(s->keys[0], NULL, body, len, &out, &out_len) != GW_JWS_OK)
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
