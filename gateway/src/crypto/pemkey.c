/*
 * pemkey.c - reading one PEM key (pemkey.h).
 */
#include "pemkey.h"

#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

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
