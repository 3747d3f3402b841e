/*
 * hmac.c - HMAC-SHA256 with a context keyed once (gw/hmac.h).
 */
#include "hmac.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <pthread.h>

#include "gw/alloc.h"

/* Spare keyed contexts kept for reuse: re-initialising a used context with
 * the same key (EVP_MAC_init with a NULL key) is cheaper than copying the
 * template and freeing the copy on every call. */
#define HMAC_SPARES 16

struct gw_hmac_key {
  EVP_MAC_CTX *keyed;           /* never updated: only copied */
  pthread_mutex_t mu;
  EVP_MAC_CTX *spare[HMAC_SPARES];
  int n_spare;
};

struct gw_hmac_key *gw_hmac_key_new(const unsigned char *key, size_t len)
{
  struct gw_hmac_key *k;
  EVP_MAC *mac;
  OSSL_PARAM params[2];

  if(!key || !len)
    return NULL;
  mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
  if(!mac)
    return NULL;
  k = gw_calloc(1, sizeof(*k));
  pthread_mutex_init(&k->mu, NULL);
  k->keyed = EVP_MAC_CTX_new(mac);
  EVP_MAC_free(mac);            /* the context holds its own reference */
  params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
  params[1] = OSSL_PARAM_construct_end();
  if(!k->keyed || EVP_MAC_init(k->keyed, key, len, params) != 1) {
    gw_hmac_key_free(k);
    return NULL;
  }
  return k;
}

void gw_hmac_key_free(struct gw_hmac_key *k)
{
  if(!k)
    return;
  for(int i = 0; i < k->n_spare; i++)
    EVP_MAC_CTX_free(k->spare[i]);
  EVP_MAC_CTX_free(k->keyed);
  pthread_mutex_destroy(&k->mu);
  gw_free(k);
}

int gw_hmac_sha256(struct gw_hmac_key *k, const void *data, size_t len,
                   unsigned char out[32])
{
  EVP_MAC_CTX *c = NULL;
  size_t n = 0;
  int rc = -1;

  pthread_mutex_lock(&k->mu);
  if(k->n_spare)
    c = k->spare[--k->n_spare];
  pthread_mutex_unlock(&k->mu);
  if(c && EVP_MAC_init(c, NULL, 0, NULL) != 1) {
    EVP_MAC_CTX_free(c);
    c = NULL;
  }
  if(!c && !(c = EVP_MAC_CTX_dup(k->keyed)))
    return -1;
  if(EVP_MAC_update(c, data, len) == 1 && EVP_MAC_final(c, out, &n, 32) == 1 && n == 32)
    rc = 0;
  pthread_mutex_lock(&k->mu);
  if(!rc && k->n_spare < HMAC_SPARES) {
    k->spare[k->n_spare++] = c;
    c = NULL;
  }
  pthread_mutex_unlock(&k->mu);
  EVP_MAC_CTX_free(c);
  return rc;
}
