/*
 * gw/attest.h - fact attestations and subject references.
 *
 * An attestation is the gateway's signed statement "agency A said fact F
 * about subject S at time T, and this is how we know": a compact JWS
 * (ES256, or GmSM2 in the gm profile, kid = RFC 7638 thumbprint, typ
 * "gw-fact+jws") whose payload is
 *
 *   {"iss": gateway id, "sub": subject_ref, "fact": name, "value": value,
 *    "src": {"agency", "adapter", "adapter_version", "channel": "tls"|"mtls",
 *            "signature": "xmldsig"|"jws"|"none",
 *            "evidence": hex SHA-256 of the exact agency response bytes},
 *    "iat": fetch time, "exp": fetch time + TTL}
 *
 * It is made once per fetch and then served from the cache unchanged, so
 * the engine can keep it with its decision and anyone holding the JWKS can
 * check it offline.  The subject is named only by subject_ref, an HMAC of
 * the normalized identity number under a gateway secret: the raw number is
 * never in an attestation, a log line, a cache key or a metric.
 *
 * Thread-safety: a signer is immutable after creation; any thread may sign.
 */
#ifndef GW_ATTEST_H
#define GW_ATTEST_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#define GW_SUBJECT_REF_LEN 43        /* base64url of 32 bytes, no padding */
#define GW_ATTEST_TYP "gw-fact+jws"

struct gw_attest_signer;

/* Where a fact came from. */
struct gw_attest_src {
  const char *agency;
  const char *adapter;
  int adapter_version;
  const char *channel;               /* "tls" | "mtls" */
  const char *signature;             /* "xmldsig" | "jws" | "none" */
  const char *evidence;              /* 64 lowercase hex chars */
};

/* The keys of a signer (docs/crypto.md).  es256 and sm2 are PEM private
 * key files; either may be NULL, not both.  With both, attestations are
 * made twice (gw_attest_make_dual); with sm2 alone they are GmSM2 JWS. */
struct gw_attest_keys {
  const char *es256;                 /* P-256, signs "attestation" */
  const char *const *es256_previous;
  size_t n_es256_previous;
  const char *sm2;                   /* SM2: "attestation" in gm, else
                                        "attestation_sm2" */
  const char *const *sm2_previous;
  size_t n_sm2_previous;
  const char *sm2_id;                /* the SM2 keys' distinguishing ID (and
                                        their JWKs' "sm2_id"); NULL: GM/T
                                        0009's default */
};

/* Loads a signer from `k`; a key of the wrong type in either set is an
 * error.  NULL with a reason in err. */
struct gw_attest_signer *gw_attest_signer_new_keys(const char *issuer,
                                                   const struct gw_attest_keys *k,
                                                   char *err, size_t errlen);

/* 1 when the signer holds both key sets (the dual profile). */
int gw_attest_signer_dual(const struct gw_attest_signer *s);

/* Loads the current signing key (PEM, P-256 private) and any previous keys
 * (PEM, public or private; kept in the JWKS so attestations made before a
 * rotation still verify).  Returns NULL with a reason in err. */
struct gw_attest_signer *gw_attest_signer_new(const char *issuer, const char *current_pem,
                                              const char *const *previous_pems, size_t n_previous,
                                              char *err, size_t errlen);
void gw_attest_signer_free(struct gw_attest_signer *s);

/* The kid of the current key. */
const char *gw_attest_signer_kid(const struct gw_attest_signer *s);

/* The JWKS of the current and previous keys as JSON text (caller frees with
 * gw_free), for GET /v1/keys. */
char *gw_attest_jwks(const struct gw_attest_signer *s);

/* Signs an attestation; returns the compact JWS (caller frees with gw_free)
 * or NULL on error (err says why).  `value` is borrowed. */
char *gw_attest_make(const struct gw_attest_signer *s, const char *subject_ref,
                     const char *fact, const json_t *value,
                     const struct gw_attest_src *src, int64_t iat, int64_t exp,
                     char *err, size_t errlen);

/* As gw_attest_make; when the signer is dual and sm2_out is not NULL, also
 * signs the same payload bytes with the current SM2 key into *sm2_out
 * (caller frees with gw_free; NULL when the signer is not dual).  Both or
 * neither are made. */
char *gw_attest_make_dual(const struct gw_attest_signer *s, const char *subject_ref,
                          const char *fact, const json_t *value,
                          const struct gw_attest_src *src, int64_t iat, int64_t exp,
                          char **sm2_out, char *err, size_t errlen);

/* Signs another kind of statement (predicate attestations, typ
 * "gw-predicate+jws"): sets "iss" in `payload` (borrowed, changed) and signs
 * its compact, key-sorted JSON with the primary key (ES256, or GmSM2 in
 * gm).  When the signer is dual and sm2_out is not NULL, also signs the same
 * payload bytes with the current SM2 key into *sm2_out (gw_free; NULL when
 * not dual), as gw_attest_make_dual does for facts.  Returns the compact JWS
 * (gw_free) or NULL with err; both or neither are made. */
#define GW_ATTEST_PREDICATE_TYP "gw-predicate+jws"
char *gw_attest_make_typed(const struct gw_attest_signer *s, const char *typ, json_t *payload,
                           char **sm2_out, char *err, size_t errlen);

/* Checks the SM2 twin of an attestation (dual: "attestation_sm2" beside
 * "attestation"): sm2_jws must verify as `typ` with an SM2 key of
 * keys[0..n_keys) and carry exactly the payload bytes of primary_jws (which
 * the caller verifies itself).  0, or -1 with the reason in why. */
struct gw_jws_key;
int gw_attest_twin_check(const struct gw_jws_key *const *keys, size_t n_keys, const char *typ,
                         const char *primary_jws, const char *sm2_jws,
                         char *why, size_t whylen);
/* Signs `body` as a detached JWS for the Gateway-Signature header (caller
 * frees with gw_free), or NULL. */
char *gw_attest_sign_body(const struct gw_attest_signer *s, const void *body, size_t len);

/* Writes base64url(HMAC-SHA256(secret, id)) and a NUL into out.  `id` must
 * already be normalized (gw_idnum_normalize). */
int gw_subject_ref(const unsigned char *secret, size_t secret_len, const char *id,
                   char out[GW_SUBJECT_REF_LEN + 1])
  __attribute__((warn_unused_result));

/* The same under a key made once (gw/hmac.h), for the query path. */
struct gw_hmac_key;
int gw_subject_ref_keyed(struct gw_hmac_key *k, const char *id,
                         char out[GW_SUBJECT_REF_LEN + 1])
  __attribute__((warn_unused_result));

/* Reads a secret file of hex characters (at least 32 bytes once decoded),
 * into a buffer the caller frees with gw_free after OPENSSL_cleanse. */
int gw_secret_load_hex(const char *path, unsigned char **out, size_t *len,
                       char *err, size_t errlen)
  __attribute__((warn_unused_result));

#endif
