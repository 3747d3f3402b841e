/*
 * seal_sm2.c - SM2-wrapped SM4-CBC + HMAC-SM3 envelopes (seal_sm2.h).
 *
 * The one idea: encrypt-then-MAC over the whole blob, MAC checked in
 * constant time before any decryption, so a changed byte anywhere (wrapped
 * key, IV, ciphertext) is one error and never a padding oracle.
 */
#include "seal_sm2.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "gw/alloc.h"
#include "gw/gm.h"

#define MAGIC_LEN 4
#define K_ENC 16
#define K_MAC 32
#define IV_LEN 16
#define TAG_LEN 32

enum gw_seal_result gw_seal_sm2_seal(EVP_PKEY *pub, const void *in, size_t len,
                                     unsigned char **out, size_t *out_len)
{
  enum gw_seal_result r = GW_SEAL_ECRYPTO;
  unsigned char keys[K_ENC + K_MAC], *kc = NULL, *blob = NULL, *p;
  size_t kc_len = 0, ct_len = 0, total;

  if(!out || !out_len)
    return GW_SEAL_EINVAL;
  *out = NULL;
  *out_len = 0;
  if(!pub || !in || !len)
    return GW_SEAL_EINVAL;
  if(len > GW_SEAL_INPUT_MAX)
    return GW_SEAL_ETOOBIG;
  if(RAND_bytes(keys, sizeof(keys)) != 1 ||
     gw_gm_sm2_encrypt(pub, keys, sizeof(keys), &kc, &kc_len) != GW_GM_OK || kc_len > 0xffff)
    goto out;
  total = MAGIC_LEN + 2 + kc_len + IV_LEN + len + GW_GM_SM4_BLOCK + TAG_LEN;
  blob = gw_malloc(total);
  p = blob;
  memcpy(p, GW_SEAL_SM2_MAGIC, MAGIC_LEN);
  p += MAGIC_LEN;
  *p++ = (unsigned char)(kc_len >> 8);
  *p++ = (unsigned char)kc_len;
  memcpy(p, kc, kc_len);
  p += kc_len;
  if(RAND_bytes(p, IV_LEN) != 1 ||
     gw_gm_sm4_cbc_encrypt(keys, p, in, len, p + IV_LEN, &ct_len) != GW_GM_OK)
    goto out;
  p += IV_LEN + ct_len;
  if(gw_gm_hmac_sm3(keys + K_ENC, K_MAC, blob, (size_t)(p - blob), p) != GW_GM_OK)
    goto out;
  p += TAG_LEN;
  *out = blob;
  *out_len = (size_t)(p - blob);
  blob = NULL;
  r = GW_SEAL_OK;
out:
  OPENSSL_cleanse(keys, sizeof(keys));
  gw_free(kc);
  gw_free(blob);
  return r;
}

int gw_seal_sm2_is(const unsigned char *blob, size_t len)
{
  return blob && len >= MAGIC_LEN && !memcmp(blob, GW_SEAL_SM2_MAGIC, MAGIC_LEN);
}

enum gw_seal_result gw_seal_sm2_open(EVP_PKEY *priv, const unsigned char *blob, size_t len,
                                     unsigned char **out, size_t *out_len)
{
  enum gw_seal_result r = GW_SEAL_EINVAL;
  unsigned char *keys = NULL, tag[TAG_LEN], *pt = NULL;
  size_t kc_len, keys_len = 0, ct_len, pt_len = 0;
  const unsigned char *kc, *iv, *ct;

  if(!out || !out_len)
    return GW_SEAL_EINVAL;
  *out = NULL;
  *out_len = 0;
  if(!priv || !gw_seal_sm2_is(blob, len) || len > GW_SEAL_SM2_MAX ||
     len < MAGIC_LEN + 2 + IV_LEN + GW_GM_SM4_BLOCK + TAG_LEN)
    return GW_SEAL_EINVAL;
  kc_len = (size_t)blob[MAGIC_LEN] << 8 | blob[MAGIC_LEN + 1];
  if(len < MAGIC_LEN + 2 + kc_len + IV_LEN + GW_GM_SM4_BLOCK + TAG_LEN)
    return GW_SEAL_EINVAL;
  kc = blob + MAGIC_LEN + 2;
  iv = kc + kc_len;
  ct = iv + IV_LEN;
  ct_len = len - TAG_LEN - (size_t)(ct - blob);
  if(ct_len % GW_GM_SM4_BLOCK)
    return GW_SEAL_EINVAL;
  r = GW_SEAL_ECRYPTO;
  if(gw_gm_sm2_decrypt(priv, kc, kc_len, &keys, &keys_len) != GW_GM_OK ||
     keys_len != K_ENC + K_MAC ||
     gw_gm_hmac_sm3(keys + K_ENC, K_MAC, blob, len - TAG_LEN, tag) != GW_GM_OK ||
     CRYPTO_memcmp(tag, blob + len - TAG_LEN, TAG_LEN) != 0)
    goto out;
  pt = gw_malloc(ct_len + 1);
  if(gw_gm_sm4_cbc_decrypt(keys, iv, ct, ct_len, pt, &pt_len) != GW_GM_OK)
    goto out;
  pt[pt_len] = '\0';
  *out = pt;
  *out_len = pt_len;
  pt = NULL;
  r = GW_SEAL_OK;
out:
  if(keys) {
    OPENSSL_cleanse(keys, keys_len);
    gw_free(keys);
  }
  if(pt) {
    OPENSSL_cleanse(pt, ct_len + 1);
    gw_free(pt);
  }
  return r;
}
