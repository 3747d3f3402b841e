/*
 * seal_sm2.h - the gm profile's sealed subject: SM4-CBC + HMAC-SM3
 * (encrypt-then-MAC) under fresh keys, the keys SM2-encrypted to the
 * auditors' SM2 certificate (docs/crypto.md).
 *
 * The one idea: OpenSSL 3.0 cannot make CMS EnvelopedData to an SM2
 * recipient, so the envelope is ours, and small enough to write out:
 *
 *   blob = "GMS1" || u16be(len(kc)) || kc || iv(16) || ct || tag(32)
 *   kc   = SM2-encrypt(auditors' key, k_enc(16) || k_mac(32))   GM/T 0009 ASN.1
 *   ct   = SM4-CBC(k_enc, iv, PKCS#7(plaintext))
 *   tag  = HMAC-SM3(k_mac, everything before the tag)
 *
 * k_enc, k_mac and iv are fresh random per call.  The MAC covers the
 * wrapped key too, and is checked before anything is decrypted (no padding
 * oracle).  In records the blob is standard base64, like the CMS form; the
 * "GMS1" magic tells the two apart (a DER ContentInfo starts with 0x30).
 * Auditors open it with `gwctl audit sample --unseal-key seal-sm2.key`, or
 * by hand with the openssl command line (docs/crypto.md shows how).
 *
 * Threads: both calls are re-entrant.  Buffers are freed with gw_free().
 */
#ifndef GW_SEAL_SM2_H
#define GW_SEAL_SM2_H

#include <stddef.h>

#include <openssl/evp.h>

#include "seal.h"

#define GW_SEAL_SM2_MAGIC "GMS1"
#define GW_SEAL_SM2_MAX   (4 * 1024)  /* a blob we accept to open, bytes */

/* Seals in[0..len) (1..GW_SEAL_INPUT_MAX bytes) to the SM2 public key
 * `pub`.  On success *out (*out_len bytes) is owned by the caller. */
enum gw_seal_result gw_seal_sm2_seal(EVP_PKEY *pub, const void *in, size_t len,
                                     unsigned char **out, size_t *out_len)
  __attribute__((warn_unused_result));

/* 1 when blob[0..len) starts with the magic. */
int gw_seal_sm2_is(const unsigned char *blob, size_t len);

/* Opens a blob with the auditors' SM2 private key.  GW_SEAL_ECRYPTO when
 * the key does not open it or the MAC does not check; GW_SEAL_EINVAL for a
 * malformed blob.  On success *out (*out_len bytes, followed by a NUL not
 * counted) is owned by the caller (OPENSSL_cleanse, then gw_free). */
enum gw_seal_result gw_seal_sm2_open(EVP_PKEY *priv, const unsigned char *blob, size_t len,
                                     unsigned char **out, size_t *out_len)
  __attribute__((warn_unused_result));

#endif /* GW_SEAL_SM2_H */
