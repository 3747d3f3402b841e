/*
 * seal.c - CMS EnvelopedData to the auditors' certificate (see gw/seal.h).
 *
 * The one idea: use OpenSSL's CMS exactly as `openssl cms -encrypt
 * -keyopt rsa_padding_mode:oaep ...` does, so the stock command line opens
 * what we seal without flags; the only thing we add is refusing a
 * certificate that could not be a sealing certificate.
 */
#include "seal.h"
#include "gw/alloc.h"
#include "gw/b64.h"
#include "gw/log.h"

#include <assert.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>  /* before cms.h: it declares PEM_write_bio_CMS only then */
#include <openssl/cms.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define SEAL_MAGIC 0x5345414cu /* "SEAL" */
#define FINGERPRINT_LEN (7 + 64)

struct gw_seal {
  unsigned magic;
  X509 *cert;
  char fingerprint[FINGERPRINT_LEN + 1];
};

const char *gw_seal_strerror(enum gw_seal_result r)
{
  switch(r) {
  case GW_SEAL_OK:      return "ok";
  case GW_SEAL_EINVAL:  return "invalid argument";
  case GW_SEAL_EIO:     return "certificate file cannot be read";
  case GW_SEAL_ECERT:   return "not an RSA sealing certificate";
  case GW_SEAL_ETOOBIG: return "input too large";
  case GW_SEAL_ECRYPTO: return "OpenSSL failure";
  }
  return "unknown error";
}

/* An RSA key of at least GW_SEAL_RSA_MIN_BITS, keyEncipherment allowed. */
static int cert_usable(X509 *cert)
{
  EVP_PKEY *pub = X509_get0_pubkey(cert);

  if(!pub || EVP_PKEY_get_base_id(pub) != EVP_PKEY_RSA ||
     EVP_PKEY_get_bits(pub) < GW_SEAL_RSA_MIN_BITS)
    return 0;
  /* X509_get_extension_flags caches the extensions; EXFLAG_INVALID marks a
   * certificate OpenSSL could not make sense of. */
  if(X509_get_extension_flags(cert) & EXFLAG_INVALID)
    return 0;
  if((X509_get_extension_flags(cert) & EXFLAG_KUSAGE) &&
     !(X509_get_key_usage(cert) & KU_KEY_ENCIPHERMENT))
    return 0;
  return 1;
}

enum gw_seal_result gw_seal_from_pem(const char *pem, size_t len, struct gw_seal **out)
{
  enum gw_seal_result r = GW_SEAL_ECERT;
  struct gw_seal *s = NULL;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  X509 *cert = NULL, *extra = NULL;
  BIO *bio = NULL;

  if(!out)
    return GW_SEAL_EINVAL;
  *out = NULL;
  if(!pem)
    return GW_SEAL_EINVAL;
  if(len > GW_SEAL_CERT_MAX)
    return GW_SEAL_ETOOBIG;
  bio = BIO_new_mem_buf(pem, (int)len);
  if(!bio) {
    r = GW_SEAL_ECRYPTO;
    goto out;
  }
  cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
  if(!cert || !cert_usable(cert))
    goto out;
  /* Exactly one certificate: a bundle would leave it unclear who can read. */
  extra = PEM_read_bio_X509(bio, NULL, NULL, NULL);
  if(extra)
    goto out;
  if(X509_digest(cert, EVP_sha256(), md, &mdlen) != 1 || mdlen != 32) {
    r = GW_SEAL_ECRYPTO;
    goto out;
  }
  if(X509_cmp_current_time(X509_get0_notAfter(cert)) < 0)
    gw_log(GW_LOG_WARN, "seal_cert_expired",
           "the auditors' sealing certificate has expired; sealing to it anyway");
  s = gw_calloc(1, sizeof(*s));
  s->magic = SEAL_MAGIC;
  memcpy(s->fingerprint, "sha256:", 7);
  gw_hex_encode(md, mdlen, s->fingerprint + 7);
  s->cert = cert;
  cert = NULL;
  *out = s;
  r = GW_SEAL_OK;
out:
  X509_free(cert);
  X509_free(extra);
  BIO_free(bio);
  ERR_clear_error();
  return r;
}

enum gw_seal_result gw_seal_load(const char *cert_path, struct gw_seal **out)
{
  enum gw_seal_result r = GW_SEAL_EIO;
  char *buf = NULL;
  size_t len;
  FILE *f = NULL;

  if(!out)
    return GW_SEAL_EINVAL;
  *out = NULL;
  if(!cert_path)
    return GW_SEAL_EINVAL;
  f = fopen(cert_path, "rb");
  if(!f)
    goto out;
  buf = gw_malloc(GW_SEAL_CERT_MAX + 1);
  len = fread(buf, 1, GW_SEAL_CERT_MAX + 1, f);
  if(ferror(f))
    goto out;
  if(len > GW_SEAL_CERT_MAX) {
    r = GW_SEAL_ETOOBIG;
    goto out;
  }
  r = gw_seal_from_pem(buf, len, out);
out:
  if(f)
    fclose(f);
  gw_free(buf);
  return r;
}

void gw_seal_free(struct gw_seal *s)
{
  if(!s)
    return;
  assert(s->magic == SEAL_MAGIC);
  X509_free(s->cert);
  s->magic = 0;
  gw_free(s);
}

const char *gw_seal_fingerprint(const struct gw_seal *s)
{
  assert(s && s->magic == SEAL_MAGIC);
  return s->fingerprint;
}

/* The CMS structure: EnvelopedData, AES-256-CBC, one KeyTransRecipientInfo
 * with RSAES-OAEP(SHA-256, MGF1-SHA-256). */
static CMS_ContentInfo *seal_cms(const struct gw_seal *s, const void *in, size_t len)
{
  CMS_ContentInfo *cms = NULL, *ret = NULL;
  CMS_RecipientInfo *ri;
  EVP_PKEY_CTX *pctx;
  BIO *data = NULL;
  const unsigned flags = CMS_BINARY | CMS_PARTIAL | CMS_KEY_PARAM;

  cms = CMS_encrypt(NULL, NULL, EVP_aes_256_cbc(), flags);
  if(!cms)
    goto out;
  ri = CMS_add1_recipient_cert(cms, s->cert, flags);
  if(!ri)
    goto out;
  pctx = CMS_RecipientInfo_get0_pkey_ctx(ri);
  if(!pctx ||
     EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
     EVP_PKEY_CTX_set_rsa_oaep_md(pctx, EVP_sha256()) <= 0 ||
     EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) <= 0)
    goto out;
  data = BIO_new_mem_buf(in, (int)len);
  if(!data || CMS_final(cms, data, NULL, CMS_BINARY) != 1)
    goto out;
  ret = cms;
  cms = NULL;
out:
  CMS_ContentInfo_free(cms);
  BIO_free(data);
  return ret;
}

enum gw_seal_result gw_seal_seal(const struct gw_seal *s, const void *in, size_t len,
                                 enum gw_seal_format fmt, char **out, size_t *out_len)
{
  enum gw_seal_result r = GW_SEAL_ECRYPTO;
  CMS_ContentInfo *cms = NULL;
  unsigned char *der = NULL;
  BIO *mem = NULL;
  BUF_MEM *bm;
  int der_len;

  if(!out || !out_len)
    return GW_SEAL_EINVAL;
  *out = NULL;
  *out_len = 0;
  if(!s || !in || (fmt != GW_SEAL_B64_DER && fmt != GW_SEAL_PEM))
    return GW_SEAL_EINVAL;
  assert(s->magic == SEAL_MAGIC);
  if(!len || len > GW_SEAL_INPUT_MAX)
    return len ? GW_SEAL_ETOOBIG : GW_SEAL_EINVAL;
  cms = seal_cms(s, in, len);
  if(!cms)
    goto out;
  if(fmt == GW_SEAL_B64_DER) {
    der_len = i2d_CMS_ContentInfo(cms, &der);
    if(der_len <= 0)
      goto out;
    if(gw_b64_encode_alloc(GW_B64_STD, der, (size_t)der_len, out, out_len) != GW_B64_OK)
      goto out;
  }
  else {
    mem = BIO_new(BIO_s_mem());
    if(!mem || PEM_write_bio_CMS(mem, cms) != 1)
      goto out;
    BIO_get_mem_ptr(mem, &bm);
    *out = gw_strndup(bm->data, bm->length);
    *out_len = bm->length;
  }
  r = GW_SEAL_OK;
out:
  CMS_ContentInfo_free(cms);
  OPENSSL_free(der);
  BIO_free(mem);
  if(r != GW_SEAL_OK)
    ERR_clear_error();
  return r;
}

/* ---- the memo ------------------------------------------------------------ */

#define MEMO_KEY_MAX 64
#define MEMO_LOCKS 16

struct memo_slot {
  unsigned char key[MEMO_KEY_MAX];
  size_t key_len;               /* 0: empty */
  int64_t sealed_at;            /* monotonic seconds */
  char *blob;
  size_t blob_len;
};

struct gw_seal_memo {
  const struct gw_seal *seal;
  struct memo_slot *slots;
  size_t n;
  int ttl_s;
  pthread_mutex_t mu[MEMO_LOCKS];
};

static int64_t mono_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec;
}

struct gw_seal_memo *gw_seal_memo_new(const struct gw_seal *s, size_t slots, int ttl_s)
{
  struct gw_seal_memo *m;

  if(!s || !slots || slots > ((size_t)1 << 20) || ttl_s < 1)
    return NULL;
  m = gw_calloc(1, sizeof(*m));
  m->seal = s;
  m->n = slots;
  m->ttl_s = ttl_s;
  m->slots = gw_calloc(slots, sizeof(*m->slots));
  for(int i = 0; i < MEMO_LOCKS; i++)
    pthread_mutex_init(&m->mu[i], NULL);
  return m;
}

void gw_seal_memo_free(struct gw_seal_memo *m)
{
  if(!m)
    return;
  for(size_t i = 0; i < m->n; i++)
    gw_free(m->slots[i].blob);
  for(int i = 0; i < MEMO_LOCKS; i++)
    pthread_mutex_destroy(&m->mu[i]);
  gw_free(m->slots);
  gw_free(m);
}

/* FNV-1a: the keys are digests already, any spreading hash will do. */
static size_t memo_index(const struct gw_seal_memo *m, const unsigned char *k, size_t n)
{
  uint64_t h = 1469598103934665603ULL;
  for(size_t i = 0; i < n; i++) {
    h ^= k[i];
    h *= 1099511628211ULL;
  }
  return (size_t)(h % m->n);
}

enum gw_seal_result gw_seal_memo_seal(struct gw_seal_memo *m, const void *key, size_t key_len,
                                      const void *in, size_t len, char **out, size_t *out_len,
                                      int *hit)
{
  enum gw_seal_result r;
  struct memo_slot *slot;
  pthread_mutex_t *mu;
  size_t i;
  int64_t now = mono_s();
  char *blob;
  size_t blob_len;

  if(hit)
    *hit = 0;
  if(!m || !key || !key_len || key_len > MEMO_KEY_MAX || !out || !out_len)
    return GW_SEAL_EINVAL;
  *out = NULL;
  *out_len = 0;
  i = memo_index(m, key, key_len);
  slot = &m->slots[i];
  mu = &m->mu[i % MEMO_LOCKS];
  pthread_mutex_lock(mu);
  if(slot->key_len == key_len && !memcmp(slot->key, key, key_len) &&
     now - slot->sealed_at < m->ttl_s) {
    *out = gw_strndup(slot->blob, slot->blob_len);
    *out_len = slot->blob_len;
    pthread_mutex_unlock(mu);
    if(hit)
      *hit = 1;
    return GW_SEAL_OK;
  }
  pthread_mutex_unlock(mu);

  r = gw_seal_seal(m->seal, in, len, GW_SEAL_B64_DER, out, out_len);
  if(r != GW_SEAL_OK)
    return r;
  blob = gw_strndup(*out, *out_len);
  blob_len = *out_len;
  pthread_mutex_lock(mu);
  gw_free(slot->blob);          /* whoever sealed last keeps the slot */
  memcpy(slot->key, key, key_len);
  slot->key_len = key_len;
  slot->sealed_at = now;
  slot->blob = blob;
  slot->blob_len = blob_len;
  pthread_mutex_unlock(mu);
  return GW_SEAL_OK;
}
