/*
 * gm.c - SM2, SM3, HMAC-SM3, SM4-CBC and SM2 certificate chains on
 * OpenSSL 3.0 EVP (gw/gm.h).
 *
 * The one idea: the distinguishing ID is never OpenSSL's choice.  Signing
 * and verifying contexts get it through EVP_PKEY_CTX_set1_id on the
 * EVP_MD_CTX's own EVP_PKEY_CTX right after init (the SM2 provider computes
 * Z = SM3(ENTL || ID || a || b || G || P) at the first update, so the ID
 * must be in place before any data); certificates get it through
 * X509_set0_distinguishing_id before a chain is built.  On every failure
 * that went through OpenSSL the thread's error queue is cleared, so a
 * refused signature leaves nothing for a later SSL_get_error() to misread.
 */
#include "gw/gm.h"
#include "pemkey.h"

#include "gw/alloc.h"

#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>

#define DER_SIG_MAX 80

const char *gw_gm_strerror(enum gw_gm_result r)
{
  switch(r) {
  case GW_GM_OK:       return "ok";
  case GW_GM_EINVAL:   return "invalid argument";
  case GW_GM_EIO:      return "cannot read file";
  case GW_GM_EKEY:     return "not a usable SM2 key";
  case GW_GM_EBADSIG:  return "SM2 signature does not verify";
  case GW_GM_EDECRYPT: return "ciphertext does not decrypt or MAC does not check";
  case GW_GM_ECERT:    return "certificate chain does not verify";
  case GW_GM_ECRYPTO:  return "cryptographic library failure";
  }
  return "unknown error";
}

static enum gw_gm_result fail_clear(enum gw_gm_result r)
{
  if(r)
    ERR_clear_error();
  return r;
}

int gw_gm_sm2_id_ok(const char *id, size_t len)
{
  if(!id || !len || len > GW_GM_SM2_ID_MAX)
    return 0;
  for(size_t i = 0; i < len; i++)
    if((unsigned char)id[i] < 0x20 || (unsigned char)id[i] > 0x7e)
      return 0;
  return 1;
}

int gw_gm_is_sm2(const EVP_PKEY *pkey)
{
  /* OpenSSL 3.0 decodes a key on the SM2 curve as type "SM2" (and signs it
   * with SM2); an "EC" key on that curve can only be made by hand, and
   * would be signed with ECDSA, so it is not SM2 here. */
  return pkey && EVP_PKEY_is_a(pkey, "SM2");
}

/* ---------------------------------------------------------------- keys */

enum gw_gm_result gw_gm_key_load(const char *path, EVP_PKEY **out, int *priv)
{
  enum gw_gm_result r = GW_GM_EIO;
  char *buf = NULL;
  size_t len;
  EVP_PKEY *pkey = NULL;
  int is_priv = 0;

  if(!path || !out)
    return GW_GM_EINVAL;
  *out = NULL;
  if(gw_pemkey_read_file(path, GW_GM_PEM_MAX, &buf, &len))
    goto out;
  r = GW_GM_EKEY;
  pkey = gw_pemkey_parse(buf, len, &is_priv);
  if(!pkey || !gw_gm_is_sm2(pkey))
    goto out;
  {
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    int ok = c && (is_priv ? EVP_PKEY_check(c) : EVP_PKEY_public_check(c)) == 1;
    EVP_PKEY_CTX_free(c);
    if(!ok)
      goto out;
  }
  *out = pkey;
  pkey = NULL;
  if(priv)
    *priv = is_priv;
  r = GW_GM_OK;
out:
  gw_pemkey_buf_free(buf, GW_GM_PEM_MAX);
  EVP_PKEY_free(pkey);
  return fail_clear(r);
}

enum gw_gm_result gw_gm_sm2_coords(const EVP_PKEY *pkey, unsigned char x[GW_GM_SM2_COORD],
                                   unsigned char y[GW_GM_SM2_COORD])
{
  if(!gw_gm_is_sm2(pkey))
    return GW_GM_EKEY;
  return fail_clear(gw_pemkey_coords(pkey, x, y, GW_GM_SM2_COORD) ? GW_GM_EKEY : GW_GM_OK);
}

enum gw_gm_result gw_gm_sm2_from_coords(const unsigned char x[GW_GM_SM2_COORD],
                                        const unsigned char y[GW_GM_SM2_COORD],
                                        EVP_PKEY **out)
{
  if(!x || !y || !out)
    return GW_GM_EINVAL;
  *out = gw_pemkey_from_coords(SN_sm2, x, y, GW_GM_SM2_COORD);
  return fail_clear(*out ? GW_GM_OK : GW_GM_EKEY);
}

/* ---------------------------------------------------------- signatures */

EVP_MD_CTX *gw_gm_sm2_md_ctx(EVP_PKEY *pkey, int sign, const char *id, size_t id_len)
{
  EVP_MD_CTX *ctx = NULL;
  EVP_PKEY_CTX *pctx = NULL;   /* owned by ctx */
  int ok;

  if(!gw_gm_is_sm2(pkey) || (!id && id_len) || id_len > GW_GM_SM2_ID_MAX)
    return NULL;
  ctx = EVP_MD_CTX_new();
  if(!ctx)
    goto fail;
  ok = sign ? EVP_DigestSignInit_ex(ctx, &pctx, "SM3", NULL, NULL, pkey, NULL)
            : EVP_DigestVerifyInit_ex(ctx, &pctx, "SM3", NULL, NULL, pkey, NULL);
  /* The ID goes on before the first update, which computes Z with it.
   * An empty ID (id_len 0) is set explicitly too: only tests ask for it. */
  if(ok != 1 || !pctx || EVP_PKEY_CTX_set1_id(pctx, id ? id : "", (int)id_len) <= 0)
    goto fail;
  return ctx;
fail:
  EVP_MD_CTX_free(ctx);
  ERR_clear_error();
  return NULL;
}

enum gw_gm_result gw_gm_sig_der_to_raw(const unsigned char *der, size_t der_len,
                                       unsigned char raw[GW_GM_SM2_SIG_LEN])
{
  const unsigned char *p = der;
  ECDSA_SIG *sig;
  const BIGNUM *r, *s;
  enum gw_gm_result rc = GW_GM_ECRYPTO;

  if(!der || !raw || der_len > DER_SIG_MAX)
    return GW_GM_EINVAL;
  /* SM2 signatures are the same SEQUENCE { r INTEGER, s INTEGER } as ECDSA */
  sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
  if(!sig || p != der + der_len)
    goto out;
  ECDSA_SIG_get0(sig, &r, &s);
  if(BN_bn2binpad(r, raw, 32) != 32 || BN_bn2binpad(s, raw + 32, 32) != 32)
    goto out;
  rc = GW_GM_OK;
out:
  ECDSA_SIG_free(sig);
  return fail_clear(rc);
}

enum gw_gm_result gw_gm_sig_raw_to_der(const unsigned char raw[GW_GM_SM2_SIG_LEN],
                                       unsigned char der[DER_SIG_MAX], size_t *der_len)
{
  ECDSA_SIG *sig = ECDSA_SIG_new();
  BIGNUM *r = BN_bin2bn(raw, 32, NULL), *s = BN_bin2bn(raw + 32, 32, NULL);
  unsigned char *p = der;
  enum gw_gm_result rc = GW_GM_ECRYPTO;
  int len;

  if(!sig || !r || !s || !ECDSA_SIG_set0(sig, r, s))
    goto out;
  r = s = NULL;  /* owned by sig now */
  if(i2d_ECDSA_SIG(sig, NULL) > DER_SIG_MAX)
    goto out;
  len = i2d_ECDSA_SIG(sig, &p);
  if(len <= 0)
    goto out;
  *der_len = (size_t)len;
  rc = GW_GM_OK;
out:
  BN_free(r);
  BN_free(s);
  ECDSA_SIG_free(sig);
  return fail_clear(rc);
}

enum gw_gm_result gw_gm_sm2_sign_final(EVP_MD_CTX *ctx, unsigned char sig[GW_GM_SM2_SIG_LEN])
{
  unsigned char der[DER_SIG_MAX];
  size_t der_len = 0;

  if(!ctx || !sig)
    return GW_GM_EINVAL;
  if(EVP_DigestSignFinal(ctx, NULL, &der_len) != 1 || der_len > sizeof(der) ||
     EVP_DigestSignFinal(ctx, der, &der_len) != 1)
    return fail_clear(GW_GM_ECRYPTO);
  return gw_gm_sig_der_to_raw(der, der_len, sig);
}

enum gw_gm_result gw_gm_sm2_verify_final(EVP_MD_CTX *ctx,
                                         const unsigned char sig[GW_GM_SM2_SIG_LEN])
{
  unsigned char der[DER_SIG_MAX];
  size_t der_len = 0;
  enum gw_gm_result r;

  if(!ctx || !sig)
    return GW_GM_EINVAL;
  r = gw_gm_sig_raw_to_der(sig, der, &der_len);
  if(r)
    return r;
  /* 0 is a mismatch; negative is r or s out of range: no better. */
  return fail_clear(EVP_DigestVerifyFinal(ctx, der, der_len) == 1 ? GW_GM_OK
                                                                  : GW_GM_EBADSIG);
}

enum gw_gm_result gw_gm_sm2_sign(EVP_PKEY *pkey, const char *id, size_t id_len,
                                 const void *msg, size_t len,
                                 unsigned char sig[GW_GM_SM2_SIG_LEN])
{
  enum gw_gm_result r = GW_GM_EKEY;
  EVP_MD_CTX *ctx;

  if((len && !msg) || !sig)
    return GW_GM_EINVAL;
  ctx = gw_gm_sm2_md_ctx(pkey, 1, id, id_len);
  if(!ctx)
    return r;
  r = EVP_DigestSignUpdate(ctx, msg, len) == 1 ? gw_gm_sm2_sign_final(ctx, sig)
                                                : GW_GM_ECRYPTO;
  EVP_MD_CTX_free(ctx);
  return fail_clear(r);
}

enum gw_gm_result gw_gm_sm2_verify(EVP_PKEY *pkey, const char *id, size_t id_len,
                                   const void *msg, size_t len,
                                   const unsigned char sig[GW_GM_SM2_SIG_LEN])
{
  enum gw_gm_result r = GW_GM_EKEY;
  EVP_MD_CTX *ctx;

  if((len && !msg) || !sig)
    return GW_GM_EINVAL;
  ctx = gw_gm_sm2_md_ctx(pkey, 0, id, id_len);
  if(!ctx)
    return r;
  r = EVP_DigestVerifyUpdate(ctx, msg, len) == 1 ? gw_gm_sm2_verify_final(ctx, sig)
                                                  : GW_GM_ECRYPTO;
  EVP_MD_CTX_free(ctx);
  return fail_clear(r);
}

/* ------------------------------------------------------ hashes and MACs */

enum gw_gm_result gw_gm_sm3(const void *data, size_t len, unsigned char out[GW_GM_SM3_LEN])
{
  EVP_MD *md;
  unsigned int n = 0;
  int ok;

  if((len && !data) || !out)
    return GW_GM_EINVAL;
  md = EVP_MD_fetch(NULL, "SM3", NULL);
  ok = md && EVP_Digest(data, len, out, &n, md, NULL) == 1 && n == GW_GM_SM3_LEN;
  EVP_MD_free(md);
  return fail_clear(ok ? GW_GM_OK : GW_GM_ECRYPTO);
}

enum gw_gm_result gw_gm_hmac_sm3(const unsigned char *key, size_t key_len,
                                 const void *data, size_t len,
                                 unsigned char out[GW_GM_SM3_LEN])
{
  char digest[] = "SM3";
  OSSL_PARAM params[2];
  size_t n = 0;
  int ok;

  if(!key || !key_len || (len && !data) || !out)
    return GW_GM_EINVAL;
  params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0);
  params[1] = OSSL_PARAM_construct_end();
  ok = EVP_Q_mac(NULL, "HMAC", NULL, NULL, params, key, key_len, data, len, out,
                 GW_GM_SM3_LEN, &n) != NULL && n == GW_GM_SM3_LEN;
  return fail_clear(ok ? GW_GM_OK : GW_GM_ECRYPTO);
}

/* ------------------------------------------------------------------ SM4 */

static enum gw_gm_result sm4_cbc(int enc, const unsigned char key[GW_GM_SM4_KEY_LEN],
                                 const unsigned char iv[GW_GM_SM4_BLOCK],
                                 const void *in, size_t len,
                                 unsigned char *out, size_t *out_len)
{
  enum gw_gm_result r = GW_GM_ECRYPTO;
  EVP_CIPHER *cipher = NULL;
  EVP_CIPHER_CTX *ctx = NULL;
  int n1 = 0, n2 = 0;

  if(!key || !iv || (len && !in) || !out || !out_len || len > (size_t)INT32_MAX - 32)
    return GW_GM_EINVAL;
  if(!enc && (len == 0 || len % GW_GM_SM4_BLOCK))
    return GW_GM_EDECRYPT;
  cipher = EVP_CIPHER_fetch(NULL, "SM4-CBC", NULL);
  ctx = EVP_CIPHER_CTX_new();
  if(!cipher || !ctx || EVP_CipherInit_ex2(ctx, cipher, key, iv, enc, NULL) != 1 ||
     EVP_CipherUpdate(ctx, out, &n1, in, (int)len) != 1)
    goto out;
  if(EVP_CipherFinal_ex(ctx, out + n1, &n2) != 1) {
    r = enc ? GW_GM_ECRYPTO : GW_GM_EDECRYPT;
    goto out;
  }
  *out_len = (size_t)n1 + (size_t)n2;
  r = GW_GM_OK;
out:
  EVP_CIPHER_CTX_free(ctx);
  EVP_CIPHER_free(cipher);
  return fail_clear(r);
}

enum gw_gm_result gw_gm_sm4_cbc_encrypt(const unsigned char key[GW_GM_SM4_KEY_LEN],
                                        const unsigned char iv[GW_GM_SM4_BLOCK],
                                        const void *in, size_t len,
                                        unsigned char *out, size_t *out_len)
{
  return sm4_cbc(1, key, iv, in, len, out, out_len);
}

enum gw_gm_result gw_gm_sm4_cbc_decrypt(const unsigned char key[GW_GM_SM4_KEY_LEN],
                                        const unsigned char iv[GW_GM_SM4_BLOCK],
                                        const void *in, size_t len,
                                        unsigned char *out, size_t *out_len)
{
  return sm4_cbc(0, key, iv, in, len, out, out_len);
}

/* ------------------------------------------------------- SM2 encryption */

static enum gw_gm_result sm2_crypt(int enc, EVP_PKEY *key, const void *in, size_t len,
                                   unsigned char **out, size_t *out_len)
{
  enum gw_gm_result r = GW_GM_ECRYPTO;
  EVP_PKEY_CTX *pctx = NULL;
  unsigned char *buf = NULL;
  size_t n = 0;

  if(!in || !len || !out || !out_len)
    return GW_GM_EINVAL;
  *out = NULL;
  if(enc && len > GW_GM_SM2_ENC_MAX)
    return GW_GM_EINVAL;
  if(!enc && len > 4 * GW_GM_SM2_ENC_MAX)
    return GW_GM_EDECRYPT;
  if(!gw_gm_is_sm2(key))
    return GW_GM_EKEY;
  pctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
  if(!pctx)
    goto out;
  if(enc) {
    if(EVP_PKEY_encrypt_init(pctx) != 1 ||
       EVP_PKEY_encrypt(pctx, NULL, &n, in, len) != 1)
      goto out;
    buf = gw_malloc(n);
    if(EVP_PKEY_encrypt(pctx, buf, &n, in, len) != 1)
      goto out;
  }
  else {
    r = GW_GM_EKEY;
    if(EVP_PKEY_decrypt_init(pctx) != 1)
      goto out;
    r = GW_GM_EDECRYPT;
    if(EVP_PKEY_decrypt(pctx, NULL, &n, in, len) != 1)
      goto out;
    buf = gw_malloc(n ? n : 1);
    if(EVP_PKEY_decrypt(pctx, buf, &n, in, len) != 1)
      goto out;
  }
  *out = buf;
  *out_len = n;
  buf = NULL;
  r = GW_GM_OK;
out:
  if(buf) {
    OPENSSL_cleanse(buf, n);
    gw_free(buf);
  }
  EVP_PKEY_CTX_free(pctx);
  return fail_clear(r);
}

enum gw_gm_result gw_gm_sm2_encrypt(EVP_PKEY *pub, const void *in, size_t len,
                                    unsigned char **out, size_t *out_len)
{
  return sm2_crypt(1, pub, in, len, out, out_len);
}

enum gw_gm_result gw_gm_sm2_decrypt(EVP_PKEY *priv, const void *in, size_t len,
                                    unsigned char **out, size_t *out_len)
{
  return sm2_crypt(0, priv, in, len, out, out_len);
}

/* --------------------------------------------------------- certificates */

int gw_gm_cert_file_is_sm2(const char *path)
{
  FILE *f = path ? fopen(path, "r") : NULL;
  X509 *x = NULL;
  int sm2 = 0;

  if(!f)
    return 0;
  x = PEM_read_X509(f, NULL, NULL, NULL);
  fclose(f);
  if(x)
    sm2 = gw_gm_is_sm2(X509_get0_pubkey(x));
  X509_free(x);
  ERR_clear_error();
  return sm2;
}

enum gw_gm_result gw_gm_x509_set_id(X509 *cert, const char *id, size_t id_len)
{
  ASN1_OCTET_STRING *v;

  if(!cert || (!id && id_len) || id_len > GW_GM_SM2_ID_MAX)
    return GW_GM_EINVAL;
  v = ASN1_OCTET_STRING_new();
  if(!v || !ASN1_OCTET_STRING_set(v, (const unsigned char *)(id ? id : ""), (int)id_len)) {
    ASN1_OCTET_STRING_free(v);
    return fail_clear(GW_GM_ECRYPTO);
  }
  X509_set0_distinguishing_id(cert, v);  /* takes v, frees the old one */
  return GW_GM_OK;
}

enum gw_gm_result gw_gm_verify_chain(X509_STORE *store, X509 *leaf,
                                     STACK_OF(X509) *untrusted, const char *id,
                                     size_t id_len, char *err, size_t errlen)
{
  enum gw_gm_result r;
  X509_STORE_CTX *ctx = NULL;
  STACK_OF(X509_OBJECT) *objs;

  if(!store || !leaf)
    return GW_GM_EINVAL;
  r = gw_gm_x509_set_id(leaf, id, id_len);
  for(int i = 0; !r && untrusted && i < sk_X509_num(untrusted); i++)
    r = gw_gm_x509_set_id(sk_X509_value(untrusted, i), id, id_len);
  /* Trusted certificates too: a self-signed root's own signature is checked
   * when X509_V_FLAG_CHECK_SS_SIGNATURE is set, and an intermediate that
   * was put in the store is checked like any other. */
  if(!r && X509_STORE_lock(store)) {
    objs = X509_STORE_get0_objects(store);
    for(int i = 0; !r && i < sk_X509_OBJECT_num(objs); i++) {
      X509 *c = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, i));
      if(c)
        r = gw_gm_x509_set_id(c, id, id_len);
    }
    X509_STORE_unlock(store);
  }
  if(r)
    return r;
  ctx = X509_STORE_CTX_new();
  if(!ctx || X509_STORE_CTX_init(ctx, store, leaf, untrusted) != 1) {
    X509_STORE_CTX_free(ctx);
    return fail_clear(GW_GM_ECRYPTO);
  }
  if(X509_verify_cert(ctx) == 1)
    r = GW_GM_OK;
  else {
    r = GW_GM_ECERT;
    if(err && errlen)
      snprintf(err, errlen, "%s",
               X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
  }
  X509_STORE_CTX_free(ctx);
  return fail_clear(r);
}
