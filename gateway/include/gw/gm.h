/*
 * gw/gm.h - the commercial cryptography standards (国密) on OpenSSL 3.0:
 * SM2 signatures and encryption, SM3, HMAC-SM3, SM4-CBC, and SM2
 * certificate chains.
 *
 * The one idea: OpenSSL 3.0 does SM2 through EVP, but signs, verifies and
 * checks certificates with an EMPTY distinguishing ID unless told otherwise,
 * while GM/T 0009 (and every Chinese CA, GmSSL, Tongsuo, Go's gmsm) uses
 * "1234567812345678".  A signature made under one ID does not verify under
 * the other.  Every SM2 operation here takes the ID explicitly and sets it
 * on the EVP_PKEY_CTX (signatures) or on each X509 (chains); nothing here
 * falls back to OpenSSL's default.  Callers pass GW_GM_SM2_ID unless a
 * counterpart documents another.
 *
 * Formats: SM2 signatures cross this border as raw r||s, 32 bytes each,
 * big-endian (the form JWS, XML-DSig and C2SP notes carry); the DER
 * SEQUENCE{r,s} OpenSSL makes stays inside.  SM2 ciphertexts are the
 * GM/T 0009 ASN.1 SEQUENCE {x, y, hash, ciphertext} (C1C3C2), what
 * `openssl pkeyutl -encrypt` with an SM2 key makes and GmSSL reads.
 *
 * Never here: key storage policy, what is signed, JOSE or note framing.
 *
 * Threads: every call makes its own contexts; keys are only read.  Buffers
 * handed out are freed with gw_free().
 */
#ifndef GW_GM_H
#define GW_GM_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* The default distinguishing ID of GM/T 0009-2012 section 10, 16 bytes. */
#define GW_GM_SM2_ID     "1234567812345678"
#define GW_GM_SM2_ID_LEN 16
#define GW_GM_SM2_ID_MAX 64      /* an ID we accept from configuration */

#define GW_GM_SM2_SIG_LEN 64     /* raw r||s */
#define GW_GM_SM2_COORD   32
#define GW_GM_SM3_LEN     32
#define GW_GM_SM4_KEY_LEN 16
#define GW_GM_SM4_BLOCK   16
/* Plaintext sealed by one SM2 encryption (a session key, not data). */
#define GW_GM_SM2_ENC_MAX 256
/* PEM key or certificate file read by this module, bytes. */
#define GW_GM_PEM_MAX     (64 * 1024)

enum gw_gm_result {
  GW_GM_OK = 0,
  GW_GM_EINVAL,    /* NULL argument, bad length, ID over GW_GM_SM2_ID_MAX */
  GW_GM_EIO,       /* file cannot be read */
  GW_GM_EKEY,      /* not an SM2 key (or no private part where one is needed) */
  GW_GM_EBADSIG,   /* signature does not verify (or r, s out of range) */
  GW_GM_EDECRYPT,  /* ciphertext or MAC does not check */
  GW_GM_ECERT,     /* certificate chain does not verify */
  GW_GM_ECRYPTO    /* OpenSSL failed for another reason */
};

/* 1 when id[0..len) is a distinguishing ID we accept from configuration or
 * a JWK: 1 to GW_GM_SM2_ID_MAX printable ASCII characters (0x20-0x7e; what
 * CAs use are digit strings and e-mail addresses).  An empty ID is refused:
 * it is OpenSSL's default, the trap this module exists to avoid. */
int gw_gm_sm2_id_ok(const char *id, size_t len);

/* A short English description.  Static storage; never NULL. */
const char *gw_gm_strerror(enum gw_gm_result r);

/* 1 when pkey is an SM2 key (OpenSSL key type "SM2"). */
int gw_gm_is_sm2(const EVP_PKEY *pkey);

/* Loads the first PEM block of a file (at most GW_GM_PEM_MAX bytes): an
 * unencrypted "PRIVATE KEY" (PKCS#8) or a "PUBLIC KEY" (SPKI) holding an
 * SM2 key.  *priv (may be NULL) is 1 for a private key.  On success *out is
 * owned by the caller (EVP_PKEY_free). */
enum gw_gm_result gw_gm_key_load(const char *path, EVP_PKEY **out, int *priv)
  __attribute__((warn_unused_result));

/* The public point of an SM2 key, x and y 32 bytes each. */
enum gw_gm_result gw_gm_sm2_coords(const EVP_PKEY *pkey, unsigned char x[GW_GM_SM2_COORD],
                                   unsigned char y[GW_GM_SM2_COORD])
  __attribute__((warn_unused_result));

/* An SM2 public key from its point.  The point must be on the curve.  On
 * success *out is owned by the caller. */
enum gw_gm_result gw_gm_sm2_from_coords(const unsigned char x[GW_GM_SM2_COORD],
                                        const unsigned char y[GW_GM_SM2_COORD],
                                        EVP_PKEY **out)
  __attribute__((warn_unused_result));

/* --- signatures: SM2 with SM3 (GB/T 32918.2), ID set explicitly -------- */

/* A new EVP_MD_CTX ready for EVP_DigestSignUpdate (sign = 1) or
 * EVP_DigestVerifyUpdate (sign = 0) with SM3 over `pkey` and the
 * distinguishing ID id[0..id_len) set on its EVP_PKEY_CTX.  For callers that
 * feed a message in pieces; finish with gw_gm_sm2_sign_final or
 * gw_gm_sm2_verify_final.  NULL when pkey is not SM2 or OpenSSL fails.  The
 * caller frees it (EVP_MD_CTX_free). */
EVP_MD_CTX *gw_gm_sm2_md_ctx(EVP_PKEY *pkey, int sign, const char *id, size_t id_len);

/* Finishes a signing context into raw r||s. */
enum gw_gm_result gw_gm_sm2_sign_final(EVP_MD_CTX *ctx, unsigned char sig[GW_GM_SM2_SIG_LEN])
  __attribute__((warn_unused_result));

/* Finishes a verifying context against raw r||s: GW_GM_OK or GW_GM_EBADSIG. */
enum gw_gm_result gw_gm_sm2_verify_final(EVP_MD_CTX *ctx,
                                         const unsigned char sig[GW_GM_SM2_SIG_LEN])
  __attribute__((warn_unused_result));

/* One-shot forms of the above over msg[0..len). */
enum gw_gm_result gw_gm_sm2_sign(EVP_PKEY *pkey, const char *id, size_t id_len,
                                 const void *msg, size_t len,
                                 unsigned char sig[GW_GM_SM2_SIG_LEN])
  __attribute__((warn_unused_result));
enum gw_gm_result gw_gm_sm2_verify(EVP_PKEY *pkey, const char *id, size_t id_len,
                                   const void *msg, size_t len,
                                   const unsigned char sig[GW_GM_SM2_SIG_LEN])
  __attribute__((warn_unused_result));

/* r||s to DER SEQUENCE{r,s} into der[*der_len] (at most 80 bytes), and
 * back.  For interop with tools that want DER (openssl dgst, Go). */
enum gw_gm_result gw_gm_sig_raw_to_der(const unsigned char raw[GW_GM_SM2_SIG_LEN],
                                       unsigned char der[80], size_t *der_len)
  __attribute__((warn_unused_result));
enum gw_gm_result gw_gm_sig_der_to_raw(const unsigned char *der, size_t der_len,
                                       unsigned char raw[GW_GM_SM2_SIG_LEN])
  __attribute__((warn_unused_result));

/* --- hashes and MACs ---------------------------------------------------- */

/* SM3 (GB/T 32905) of data[0..len). */
enum gw_gm_result gw_gm_sm3(const void *data, size_t len, unsigned char out[GW_GM_SM3_LEN])
  __attribute__((warn_unused_result));

/* HMAC-SM3 (RFC 2104 over SM3) of data[0..len) under key[0..key_len). */
enum gw_gm_result gw_gm_hmac_sm3(const unsigned char *key, size_t key_len,
                                 const void *data, size_t len,
                                 unsigned char out[GW_GM_SM3_LEN])
  __attribute__((warn_unused_result));

/* --- SM4 (GB/T 32907) in CBC mode with PKCS#7 padding ------------------- */

/* Encrypts in[0..len) into out, which must hold len + GW_GM_SM4_BLOCK
 * bytes; *out_len receives the ciphertext length (a multiple of 16). */
enum gw_gm_result gw_gm_sm4_cbc_encrypt(const unsigned char key[GW_GM_SM4_KEY_LEN],
                                        const unsigned char iv[GW_GM_SM4_BLOCK],
                                        const void *in, size_t len,
                                        unsigned char *out, size_t *out_len)
  __attribute__((warn_unused_result));

/* Decrypts in[0..len) (a non-zero multiple of 16) into out (len bytes);
 * GW_GM_EDECRYPT on bad padding.  Only ever call it on ciphertext whose MAC
 * has verified (encrypt-then-MAC): padding errors are an oracle otherwise. */
enum gw_gm_result gw_gm_sm4_cbc_decrypt(const unsigned char key[GW_GM_SM4_KEY_LEN],
                                        const unsigned char iv[GW_GM_SM4_BLOCK],
                                        const void *in, size_t len,
                                        unsigned char *out, size_t *out_len)
  __attribute__((warn_unused_result));

/* --- SM2 encryption (GB/T 32918.4) ------------------------------------- */

/* Encrypts in[0..len) (1..GW_GM_SM2_ENC_MAX bytes) to an SM2 public key.
 * On success *out (*out_len bytes, GM/T 0009 ASN.1) is owned by the caller
 * (gw_free). */
enum gw_gm_result gw_gm_sm2_encrypt(EVP_PKEY *pub, const void *in, size_t len,
                                    unsigned char **out, size_t *out_len)
  __attribute__((warn_unused_result));

/* Decrypts with an SM2 private key.  On success *out is owned by the
 * caller (gw_free after OPENSSL_cleanse). */
enum gw_gm_result gw_gm_sm2_decrypt(EVP_PKEY *priv, const void *in, size_t len,
                                    unsigned char **out, size_t *out_len)
  __attribute__((warn_unused_result));

/* --- certificates -------------------------------------------------------- */

/* Sets the distinguishing ID on `cert` (used when its own signature is
 * checked: OpenSSL 3.0 checks a certificate's signature with the ID stored
 * on that certificate, and with an empty one if none).  Harmless on a
 * certificate that is not SM2-signed. */
enum gw_gm_result gw_gm_x509_set_id(X509 *cert, const char *id, size_t id_len)
  __attribute__((warn_unused_result));

/* Verifies `leaf` up to a certificate of `store`, with `untrusted` (may be
 * NULL) as intermediates, after setting the ID on the leaf and on every
 * intermediate and trusted certificate.  `purpose` 0 or an
 * X509_PURPOSE_* value.  On GW_GM_ECERT, err (may be NULL) receives
 * OpenSSL's reason. */
enum gw_gm_result gw_gm_verify_chain(X509_STORE *store, X509 *leaf,
                                     STACK_OF(X509) *untrusted, const char *id,
                                     size_t id_len, char *err, size_t errlen)
  __attribute__((warn_unused_result));

/* 1 when the first certificate of the PEM file at `path` has an SM2 key,
 * 0 when it has another key or cannot be read (the caller's own loading
 * reports that).  For refusing SM2 server certificates up front: Debian
 * 12's OpenSSL 3.0 cannot serve them ("ssl_set_cert: unknown certificate
 * type"), nor TLCP. */
int gw_gm_cert_file_is_sm2(const char *path);

#endif /* GW_GM_H */
