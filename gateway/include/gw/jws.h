/*
 * gw/jws.h - JSON Web Signature (RFC 7515) for attestations and responses.
 *
 * The one idea: the algorithm belongs to the key, never to the message.  A
 * struct gw_jws_key pins an EVP_PKEY to one algorithm (ES256 for a P-256
 * key, GmSM2 for an SM2 key: the key's type decides) and one key id (the RFC 7638 thumbprint of its public JWK, unless
 * an imported JWK named another).  Verification looks at the protected header
 * only to refuse it: a header whose "alg" is not the key's (so "none",
 * "HS256", "RS256" all fail), whose "kid" names another key, that carries
 * "crit" or "b64" (we implement no extension), that is not a JSON object or
 * repeats a member.  Header members that could point at other keys ("jwk",
 * "jku", "x5u", "x5c") are never used.  ES256 signatures are accepted only in
 * the JWS form: exactly 64 bytes, r||s, each 32 bytes big-endian; a DER
 * ECDSA-Sig-Value (what OpenSSL produces) is refused.
 *
 * GmSM2 (the 国密 profile, docs/crypto.md): SM2 signature with SM3 and the
 * key's distinguishing ID (GM/T 0009's "1234567812345678" unless set)
 * over the same JWS signing input, r||s 64 bytes like ES256.  No SM2 algorithm is registered with
 * IANA; "GmSM2" is the name the Go JWT library for SM2 (go-jwt-gm) gives
 * this exact construction.  Its public JWK is {"kty":"EC","crv":"SM2","x",
 * "y"} (the form Chinese DID documents use) plus "sm2_id", the ID the key
 * signs under (a deployment may configure another, gw_jws_key_set_sm2_id;
 * an imported JWK without it means the GM/T 0009 default), and its RFC 7638
 * thumbprint is taken over {"crv":"SM2","kty":"EC","x":..,"y":..}.
 *
 * What it serves: compact JWS for attestations, detached JWS (RFC 7515
 * appendix F: "header..signature" over the exact body bytes) for the
 * Gateway-Signature header, the public JWKS of /v1/keys, and offline
 * verification from a JWKS.  It never reads claims ("exp", "iat", ...): the
 * payload is opaque bytes here; the attest module gives it meaning.
 *
 * Threads: a key is immutable once loaded.  Signing and verifying with the
 * same key from several threads at once is safe (every call makes its own
 * EVP_MD_CTX; the EVP_PKEY is only read).  Keys are reference counted;
 * gw_jws_key_ref() and gw_jws_key_free() may race with each other and with
 * use, as long as each thread frees only references it holds.
 *
 * Every string or buffer this module hands over is freed with gw_free().
 *
 * ECDSA signatures are malleable: if (r, s) verifies, so does (r, n - s).
 * We do not refuse "high-S" signatures (OpenSSL and most JOSE libraries
 * produce both), so a JWS string is not a unique name for a signed payload;
 * identify an attestation by its payload, never by its signature bytes.
 */
#ifndef GW_JWS_H
#define GW_JWS_H

#include <stddef.h>

#include <jansson.h>

/* Named caps.  Every input that may come from the network is measured
 * against one of these before it is decoded or parsed. */
#define GW_JWS_HEADER_MAX    2048               /* encoded protected header */
#define GW_JWS_PAYLOAD_MAX   (1024 * 1024)      /* compact payload, decoded */
#define GW_JWS_DETACHED_MAX  (16 * 1024 * 1024) /* body under a detached JWS */
#define GW_JWS_COMPACT_MAX   (GW_JWS_HEADER_MAX + 1 + \
                              (GW_JWS_PAYLOAD_MAX + 2) / 3 * 4 + 1 + 86)
#define GW_JWS_KID_MAX       128                /* characters of a "kid" */
#define GW_JWS_TYP_MAX       64                 /* characters of a "typ" */
#define GW_JWS_JWKS_MAX      (64 * 1024)        /* JWKS document, bytes */
#define GW_JWS_JWKS_KEYS_MAX 16                 /* keys in one JWKS */
#define GW_JWS_PEM_MAX       (16 * 1024)        /* PEM key file, bytes */

/* Length of an RFC 7638 SHA-256 thumbprint in base64url. */
#define GW_JWS_THUMBPRINT_LEN 43

enum gw_jws_alg {
  GW_JWS_ALG_ES256 = 1, /* ECDSA P-256 SHA-256, RFC 7518 section 3.4 */
  GW_JWS_ALG_SM2 = 2    /* SM2 with SM3, the key's ID (not IANA) */
};

/* The "alg" of GW_JWS_ALG_SM2. */
#define GW_JWS_ALG_SM2_NAME "GmSM2"

enum gw_jws_result {
  GW_JWS_OK = 0,
  GW_JWS_EINVAL,    /* bad argument (NULL, typ too long, duplicate kid...) */
  GW_JWS_ENOMEM,     /* OpenSSL or jansson could not allocate (our own
                       allocations abort instead, see gw/alloc.h) */
  GW_JWS_ETOOBIG,   /* input over one of the caps above */
  GW_JWS_EFORMAT,   /* not header.payload.signature, or bad base64url */
  GW_JWS_EHEADER,   /* header not a JSON object, duplicate or mistyped member */
  GW_JWS_EALG,      /* "alg" missing, "none", or not the key's algorithm */
  GW_JWS_EKID,      /* "kid" names no key we were given, or is needed */
  GW_JWS_ECRIT,     /* "crit" or "b64" present: an extension we lack */
  GW_JWS_ETYP,      /* "typ" missing or not the one the caller expects */
  GW_JWS_ESIGLEN,   /* signature not exactly 64 bytes once decoded */
  GW_JWS_EBADSIG,   /* signature does not verify */
  GW_JWS_EKEY,      /* key unusable: not P-256 or SM2, no private part, bad JWK */
  GW_JWS_EIO,       /* key file cannot be read */
  GW_JWS_ECRYPTO    /* OpenSSL failed for another reason */
};

/* Opaque: holds the EVP_PKEY, the algorithm and the kid. */
struct gw_jws_key;

/* --- keys ------------------------------------------------------------- */

/* Loads a P-256 or SM2 key from a PEM file (at most GW_JWS_PEM_MAX bytes) whose
 * first PEM block is "PRIVATE KEY" (PKCS#8, unencrypted) or "PUBLIC KEY"
 * (SPKI).  The key is checked (point on the curve, private part matching).
 * On success *out is a new key owned by the caller (gw_jws_key_free); on
 * error *out is NULL.  GW_JWS_EIO when the file cannot be read, GW_JWS_EKEY
 * when it holds no usable key. */
enum gw_jws_result gw_jws_key_load_pem(const char *path, struct gw_jws_key **out)
  __attribute__((warn_unused_result));

/* As gw_jws_key_load_pem, from pem[0..len). */
enum gw_jws_result gw_jws_key_from_pem(const char *pem, size_t len,
                                       struct gw_jws_key **out)
  __attribute__((warn_unused_result));

/* Imports one public JWK object: "kty" "EC", "crv" "P-256" (or "SM2"), "x"
 * and "y" each the base64url of exactly 32 bytes, a point on the curve.
 * "alg" if present must be "ES256" (or "GmSM2"), "use" if present "sig".  A JWK holding "d" is refused (a
 * published private key is a leak, not a key).  The kid is the JWK's "kid"
 * when present (at most GW_JWS_KID_MAX characters), else the thumbprint.
 * `jwk` is borrowed.  On success *out is owned by the caller. */
enum gw_jws_result gw_jws_key_from_jwk(const json_t *jwk, struct gw_jws_key **out)
  __attribute__((warn_unused_result));

/* Takes another reference to `key` and returns it. */
struct gw_jws_key *gw_jws_key_ref(struct gw_jws_key *key);

/* Drops one reference; the last one frees the key.  NULL is a no-op. */
void gw_jws_key_free(struct gw_jws_key *key);

/* The key id, NUL-terminated, valid while the key is.  Never NULL. */
const char *gw_jws_key_kid(const struct gw_jws_key *key);

/* The algorithm the key is pinned to. */
enum gw_jws_alg gw_jws_key_alg(const struct gw_jws_key *key);

/* 1 when the key holds a private part and can sign, else 0. */
int gw_jws_key_can_sign(const struct gw_jws_key *key);

/* SM2 keys sign and verify with a distinguishing ID: GM/T 0009's
 * "1234567812345678" unless set here or named by an imported JWK's
 * "sm2_id" member.  Call it only before the key is shared with other
 * threads.  GW_JWS_EINVAL for a key that is not SM2 or an ID that
 * gw_gm_sm2_id_ok refuses (the key keeps its ID). */
enum gw_jws_result gw_jws_key_set_sm2_id(struct gw_jws_key *key, const char *id)
  __attribute__((warn_unused_result));

/* The ID of an SM2 key (NUL-terminated, valid while the key is), or NULL
 * for a key that is not SM2.  Published as "sm2_id" in its JWK. */
const char *gw_jws_key_sm2_id(const struct gw_jws_key *key);

/* The RFC 7638 thumbprint of the key's public JWK: base64url of SHA-256 over
 * {"crv":"P-256","kty":"EC","x":"...","y":"..."} ("SM2" for an SM2 key), written with its NUL
 * into out[GW_JWS_THUMBPRINT_LEN + 1]. */
enum gw_jws_result gw_jws_key_thumbprint(const struct gw_jws_key *key,
                                         char out[GW_JWS_THUMBPRINT_LEN + 1])
  __attribute__((warn_unused_result));

/* The public JWK {"kty","crv","x","y","kid","alg","use":"sig"} as a
 * new JSON object.  Never contains a private part.  On success *out is a new
 * reference owned by the caller (json_decref). */
enum gw_jws_result gw_jws_key_to_jwk(const struct gw_jws_key *key, json_t **out)
  __attribute__((warn_unused_result));

/* --- key sets (JWKS, RFC 7517 section 5) ------------------------------ */

/* {"keys":[jwk, ...]} of keys[0..n), in that order (current key first, then
 * the previous ones).  Two keys with the same kid are GW_JWS_EINVAL.  On
 * success *out is a new reference owned by the caller (json_decref). */
enum gw_jws_result gw_jws_jwks_build(const struct gw_jws_key *const *keys, size_t n,
                                     json_t **out)
  __attribute__((warn_unused_result));

/* As gw_jws_jwks_build, serialized compactly.  On success *out is a
 * NUL-terminated string owned by the caller, freed with gw_free(). */
enum gw_jws_result gw_jws_jwks_string(const struct gw_jws_key *const *keys,
                                      size_t n, char **out)
  __attribute__((warn_unused_result));

/* Parses a JWKS document json[0..len) (at most GW_JWS_JWKS_MAX bytes, no
 * duplicate members) and imports its public P-256 and SM2 keys as
 * gw_jws_key_from_jwk does.  Keys of other types, curves or algorithms are
 * skipped; a malformed P-256 key, a duplicate kid, more than
 * GW_JWS_JWKS_KEYS_MAX keys or no usable key at all is an error.  On success
 * *keys is an array of *n keys owned by the caller (gw_jws_keys_free); on
 * error *keys is NULL and *n is 0. */
enum gw_jws_result gw_jws_jwks_import(const char *json, size_t len,
                                      struct gw_jws_key ***keys, size_t *n)
  __attribute__((warn_unused_result));

/* Frees an array from gw_jws_jwks_import and the references in it. */
void gw_jws_keys_free(struct gw_jws_key **keys, size_t n);

/* --- signing ---------------------------------------------------------- */

/* Signs payload[0..len) (at most GW_JWS_PAYLOAD_MAX bytes) as a compact JWS
 * with the protected header {"alg":"<key's alg>","kid":"<kid>"} followed by
 * ,"typ":"<typ>" when `typ` is not NULL.  The key must be able to sign.  On
 * success *out is a NUL-terminated "header.payload.signature" owned by the
 * caller (gw_free()), and *out_len (may be NULL) its length.  The key is
 * not const: it keeps a small pool of signing contexts, so any number of
 * threads may sign with one key at once. */
enum gw_jws_result gw_jws_sign_compact(struct gw_jws_key *key, const char *typ,
                                       const void *payload, size_t len,
                                       char **out, size_t *out_len)
  __attribute__((warn_unused_result));

/* As gw_jws_sign_compact, but detached (RFC 7515 appendix F): the result is
 * "header..signature", the signature covering header "." base64url(body)
 * for the exact body[0..len) (at most GW_JWS_DETACHED_MAX bytes). */
enum gw_jws_result gw_jws_sign_detached(struct gw_jws_key *key, const char *typ,
                                        const void *body, size_t len,
                                        char **out, size_t *out_len)
  __attribute__((warn_unused_result));

/* --- verification ------------------------------------------------------ */

/* In every verify call: `jws` is jws[0..jws_len), not necessarily
 * NUL-terminated.  `typ` NULL means the header's "typ" is not looked at;
 * otherwise the header must carry exactly that "typ".  A header without
 * "kid" is accepted only when exactly one key is offered.  Nothing is
 * written to the outputs unless the result is GW_JWS_OK. */

/* Verifies a compact JWS (at most GW_JWS_COMPACT_MAX bytes) with `key`.  On
 * success *payload is the decoded payload, followed by a NUL that
 * *payload_len does not count, owned by the caller (gw_free()); `kid` (may be
 * NULL) receives the header's kid, or "" when the header had none. */
enum gw_jws_result gw_jws_verify_compact(const struct gw_jws_key *key, const char *typ,
                                         const char *jws, size_t jws_len,
                                         unsigned char **payload, size_t *payload_len,
                                         char kid[GW_JWS_KID_MAX + 1])
  __attribute__((warn_unused_result));

/* As gw_jws_verify_compact with the key chosen from keys[0..n) by the
 * header's kid.  *used (may be NULL) receives the key that verified,
 * borrowed from `keys`. */
enum gw_jws_result gw_jws_verify_compact_set(const struct gw_jws_key *const *keys,
                                             size_t n, const char *typ,
                                             const char *jws, size_t jws_len,
                                             unsigned char **payload,
                                             size_t *payload_len,
                                             const struct gw_jws_key **used)
  __attribute__((warn_unused_result));

/* Verifies a detached JWS "header..signature" against body[0..body_len)
 * (at most GW_JWS_DETACHED_MAX bytes).  A JWS with a non-empty payload part
 * is GW_JWS_EFORMAT.  `kid` as in gw_jws_verify_compact. */
enum gw_jws_result gw_jws_verify_detached(const struct gw_jws_key *key, const char *typ,
                                          const char *jws, size_t jws_len,
                                          const void *body, size_t body_len,
                                          char kid[GW_JWS_KID_MAX + 1])
  __attribute__((warn_unused_result));

/* As gw_jws_verify_detached with the key chosen from keys[0..n) by kid. */
enum gw_jws_result gw_jws_verify_detached_set(const struct gw_jws_key *const *keys,
                                              size_t n, const char *typ,
                                              const char *jws, size_t jws_len,
                                              const void *body, size_t body_len,
                                              const struct gw_jws_key **used)
  __attribute__((warn_unused_result));

/* A short English description of a result.  Static storage; never NULL. */
const char *gw_jws_strerror(enum gw_jws_result r);

#endif
