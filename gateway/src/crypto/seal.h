/*
 * gw/seal.h - sealing raw identity numbers to the auditors' certificate.
 *
 * The one idea: the gateway can write what it cannot read.  The audit log
 * keeps a subject's raw identity number only as CMS EnvelopedData (RFC 5652)
 * encrypted to the auditors' RSA certificate; the gateway is given that
 * certificate and never its key, so neither it nor anyone who steals its disk
 * can open its own history, while auditors open any record with stock tools:
 *
 *   base64 -d <<< "$sealed" > s.der
 *   openssl cms -decrypt -inform DER -in s.der -inkey seal.key -recip seal.pem
 *
 * Choices (docs/audit.md): content encrypted with AES-256-CBC under a fresh
 * random key per call, that key transported with RSAES-OAEP (SHA-256, MGF1
 * SHA-256), recipient named by issuer and serial.  `openssl cms -decrypt`
 * reads all of that from the structure, no flags needed (OpenSSL 1.1.1 and
 * 3.x).  EnvelopedData carries no integrity of its own: the sealed blob sits
 * inside an audit record whose hash is in the Merkle tree, which is where
 * tampering shows.  Sealing the same number twice gives different blobs
 * (gw_seal_memo below reuses one on purpose).
 *
 * Never here: the private key, decryption, logging of the sealed input.
 *
 * Threads: a struct gw_seal is immutable once loaded; any number of threads
 * may seal with it at once.  Strings handed out are freed with gw_free().
 */
#ifndef GW_SEAL_H
#define GW_SEAL_H

#include <stddef.h>

/* Bytes sealed by one call (an identity number is 18; room for a name). */
#define GW_SEAL_INPUT_MAX    1024
/* A certificate file, bytes. */
#define GW_SEAL_CERT_MAX     (64 * 1024)
/* Smallest RSA modulus accepted for the auditors' certificate. */
#define GW_SEAL_RSA_MIN_BITS 2048

enum gw_seal_result {
  GW_SEAL_OK = 0,
  GW_SEAL_EINVAL,   /* NULL argument or unknown format */
  GW_SEAL_EIO,      /* certificate file cannot be read */
  GW_SEAL_ECERT,    /* not one PEM certificate with an RSA key of at least
                       GW_SEAL_RSA_MIN_BITS whose keyUsage (when present)
                       allows keyEncipherment */
  GW_SEAL_ETOOBIG,  /* input over GW_SEAL_INPUT_MAX or file over the cap */
  GW_SEAL_ECRYPTO   /* OpenSSL failed */
};

enum gw_seal_format {
  GW_SEAL_B64_DER = 0, /* standard base64 of the DER ContentInfo, one line:
                          what audit records carry */
  GW_SEAL_PEM          /* "-----BEGIN CMS-----" PEM, for files and people */
};

/* A short English description.  Static storage; never NULL. */
const char *gw_seal_strerror(enum gw_seal_result r);

struct gw_seal;

/* Loads the auditors' certificate from a PEM file.  An expired certificate
 * is accepted with a warning in the log (auditors keep their key; refusing
 * would stop the gateway, not protect anyone).  On success *out is owned by
 * the caller (gw_seal_free); on error it is NULL. */
enum gw_seal_result gw_seal_load(const char *cert_path, struct gw_seal **out)
  __attribute__((warn_unused_result));

/* As above from PEM text in memory. */
enum gw_seal_result gw_seal_from_pem(const char *pem, size_t len, struct gw_seal **out)
  __attribute__((warn_unused_result));

/* NULL is a no-op. */
void gw_seal_free(struct gw_seal *s);

/* "sha256:<64 lowercase hex>" of the certificate's DER: what a record can
 * name as the key it was sealed to.  Owned by `s`. */
const char *gw_seal_fingerprint(const struct gw_seal *s);

/* Seals in[0..len) (1..GW_SEAL_INPUT_MAX bytes) to the certificate.  On
 * success *out is a new NUL-terminated string of *out_len characters in the
 * asked format, owned by the caller (gw_free()); on error *out is NULL. */
enum gw_seal_result gw_seal_seal(const struct gw_seal *s, const void *in, size_t len,
                                 enum gw_seal_format fmt, char **out, size_t *out_len)
  __attribute__((warn_unused_result));

/* ---- a memo of sealed subjects ------------------------------------------
 *
 * Sealing costs an RSA operation; the same subject asked about again and
 * again need not pay it each time.  A memo maps a caller's key, which must
 * be a collision-resistant digest that determines the input (the gateway
 * uses an HMAC of the subject's number and name), to the blob sealed for it,
 * and hands out copies of that blob for up to `ttl_s` seconds.  Records of
 * the same subject then carry the same blob: that links them, which their
 * subject_ref does anyway, and reveals nothing else.  Direct-mapped with
 * `slots` entries (a newer key evicts an older one in its slot); safe for
 * any number of threads (striped locks, RSA work done outside them). */
struct gw_seal_memo;

/* `s` must outlive the memo.  slots 1..1<<20, ttl_s >= 1. */
struct gw_seal_memo *gw_seal_memo_new(const struct gw_seal *s, size_t slots, int ttl_s);

/* NULL is a no-op. */
void gw_seal_memo_free(struct gw_seal_memo *m);

/* As gw_seal_seal(..., GW_SEAL_B64_DER, ...), remembered under key[0..key_len)
 * (1..64 bytes).  *hit says whether the blob came from the memo. */
enum gw_seal_result gw_seal_memo_seal(struct gw_seal_memo *m, const void *key, size_t key_len,
                                      const void *in, size_t len, char **out, size_t *out_len,
                                      int *hit)
  __attribute__((warn_unused_result));

#endif
