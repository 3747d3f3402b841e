/*
 * pemkey.c - reading one PEM key, and an EC key to and from its curve
 * coordinates (pemkey.h).
 */
#include "pemkey.h"

#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "gw/alloc.h"

EVP_PKEY *gw_pemkey_parse(const char *pem, size_t len, int *priv)
{
  BIO *bio = NULL;
  char *name = NULL, *header = NULL;
  unsigned char *der = NULL;
  const unsigned char *p;
  long der_len = 0;
  PKCS8_PRIV_KEY_INFO *p8 = NULL;
  EVP_PKEY *pkey = NULL;
  int is_priv = 0;

  if(!pem || len > (size_t)0x7fffffff)
    return NULL;
  bio = BIO_new_mem_buf(pem, (int)len);
  if(!bio)
    goto out;
  /* PEM_read_bio never asks for a passphrase: encrypted keys come back with
   * another label or with Proc-Type headers, and are refused below. */
  if(!PEM_read_bio(bio, &name, &header, &der, &der_len) || header[0])
    goto out;
  p = der;
  if(strcmp(name, PEM_STRING_PKCS8INF) == 0) {
    is_priv = 1;
    p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, der_len);
    if(!p8 || p != der + der_len)
      goto out;
    pkey = EVP_PKCS82PKEY_ex(p8, NULL, NULL);
  }
  else if(strcmp(name, PEM_STRING_PUBLIC) == 0) {
    pkey = d2i_PUBKEY_ex(NULL, &p, der_len, NULL, NULL);
    if(pkey && p != der + der_len) {
      EVP_PKEY_free(pkey);
      pkey = NULL;
    }
  }
out:
  PKCS8_PRIV_KEY_INFO_free(p8);
  if(der)
    OPENSSL_clear_free(der, (size_t)der_len);
  OPENSSL_free(name);
  OPENSSL_free(header);
  BIO_free(bio);
  if(pkey && priv)
    *priv = is_priv;
  return pkey;
}

EVP_PKEY *gw_pemkey_from_coords(const char *group, const unsigned char *x,
                                const unsigned char *y, size_t coord_len)
{
  unsigned char point[1 + 2 * GW_PEMKEY_COORD_MAX];
  char name[32];
  OSSL_PARAM params[3];
  EVP_PKEY_CTX *pctx = NULL;
  EVP_PKEY *pkey = NULL;

  if(!group || !x || !y || !coord_len || coord_len > GW_PEMKEY_COORD_MAX ||
     strlen(group) >= sizeof(name))
    return NULL;
  memcpy(name, group, strlen(group) + 1);
  point[0] = POINT_CONVERSION_UNCOMPRESSED;
  memcpy(point + 1, x, coord_len);
  memcpy(point + 1 + coord_len, y, coord_len);
  params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, name, 0);
  params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point,
                                                1 + 2 * coord_len);
  params[2] = OSSL_PARAM_construct_end();
  pctx = EVP_PKEY_CTX_new_from_name(NULL, strcmp(group, SN_sm2) ? "EC" : "SM2", NULL);
  /* fromdata refuses a point that is not on the curve */
  if(!pctx || EVP_PKEY_fromdata_init(pctx) != 1 ||
     EVP_PKEY_fromdata(pctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
    pkey = NULL;
  EVP_PKEY_CTX_free(pctx);
  return pkey;
}

int gw_pemkey_coords(const EVP_PKEY *pkey, unsigned char *x, unsigned char *y,
                     size_t coord_len)
{
  BIGNUM *bx = NULL, *by = NULL;
  int rc = -1;

  if(pkey && coord_len <= 0x7fffffff &&
     EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &bx) &&
     EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &by) &&
     BN_bn2binpad(bx, x, (int)coord_len) == (int)coord_len &&
     BN_bn2binpad(by, y, (int)coord_len) == (int)coord_len)
    rc = 0;
  BN_free(bx);
  BN_free(by);
  return rc;
}

int gw_pemkey_read_file(const char *path, size_t max, char **buf, size_t *len)
{
  FILE *f = path ? fopen(path, "rb") : NULL;
  int rc = -1;

  *buf = NULL;
  if(!f)
    return -1;
  *buf = gw_malloc(max + 1);
  *len = fread(*buf, 1, max + 1, f);
  if(ferror(f))
    goto out;
  if(*len > max) {
    rc = -2;
    goto out;
  }
  (*buf)[*len] = '\0';
  rc = 0;
out:
  fclose(f);
  if(rc) {
    gw_pemkey_buf_free(*buf, max);
    *buf = NULL;
  }
  return rc;
}

void gw_pemkey_buf_free(char *buf, size_t max)
{
  if(!buf)
    return;
  OPENSSL_cleanse(buf, max + 1);
  gw_free(buf);
}
