/*
 * gw/xmlsig.h - verification of agencies' XML-DSig signatures (libxmlsec1).
 *
 * A signature is only worth something if the node the gateway maps facts
 * from is the node that was signed, by the agency's own key.  So before any
 * cryptography the document must pass structural checks that defeat
 * signature wrapping: exactly one ds:Signature; exactly one Reference, a
 * same-document "#id"; IDs resolved through our own table that fails on
 * duplicates (never through attributes an attacker can declare in a DTD);
 * the referenced node must be exactly the node the caller will map; only
 * allow-listed canonicalization, transform, digest and signature algorithms.
 * Then libxmlsec1 verifies with the configured agency key only — whatever
 * key or certificate the document carries in KeyInfo is never trusted, and
 * a KeyInfo certificate that differs from the agency's is reported as
 * GW_XMLSIG_WRONG_SIGNER.
 *
 * SM2 (国密, docs/crypto.md): an agency certificate with an SM2 key accepts
 * only SignatureMethod "http://www.w3.org/2000/09/xmldsig#sm2-sm3" with
 * DigestMethod "http://www.w3.org/2000/09/xmldsig#sm3", verified by our own
 * libxml2-c14n + EVP path (libxmlsec1 has no SM2) after the same structural
 * checks, with the distinguishing ID 1234567812345678.  Any other
 * certificate never accepts sm2-sm3.  The algorithm is the verifier's, fixed
 * at creation, never the document's.
 *
 * Thread-safety: gw_xmlsig_global_init() once at start-up (before threads);
 * a verifier is immutable after creation and may be used from any thread;
 * each gw_xmlsig_verify() call works on its own copy of the key.
 */
#ifndef GW_XMLSIG_H
#define GW_XMLSIG_H

#include <stddef.h>
#include <libxml/tree.h>

enum gw_xmlsig_result {
  GW_XMLSIG_OK = 0,
  GW_XMLSIG_NO_SIGNATURE,        /* no ds:Signature element */
  GW_XMLSIG_MULTIPLE_SIGNATURES,
  GW_XMLSIG_DUPLICATE_ID,        /* two elements share an Id value */
  GW_XMLSIG_BAD_REFERENCE,       /* not exactly one "#id" Reference, or id unknown */
  GW_XMLSIG_WRONG_NODE,          /* the signed node is not the mapped node */
  GW_XMLSIG_DISALLOWED_ALGORITHM,
  GW_XMLSIG_WRONG_SIGNER,        /* KeyInfo certificate is not the agency's */
  GW_XMLSIG_INVALID,             /* digest or signature value does not verify */
  GW_XMLSIG_INTERNAL
};

struct gw_xmlsig_verifier;

/* Initializes libxmlsec1 with the OpenSSL backend.  Call once, before any
 * thread uses a verifier.  Returns 0 or -1. */
int gw_xmlsig_global_init(void) __attribute__((warn_unused_result));
void gw_xmlsig_global_cleanup(void);

/* A verifier for signatures by the certificate in `cert_pem` (a PEM file).
 * Returns NULL with a reason in err.  Free with gw_xmlsig_verifier_free. */
struct gw_xmlsig_verifier *gw_xmlsig_verifier_new(const char *cert_pem,
                                                  char *err, size_t errlen);
/* The same from PEM text in memory (len bytes). */
struct gw_xmlsig_verifier *gw_xmlsig_verifier_new_pem(const char *pem, size_t len,
                                                      char *err, size_t errlen);
/* The same with the adapter's verify.alg: "rsa-sha256", "rsa-sha512",
 * "ecdsa-sha256" or "sm2-sm3" accepts that SignatureMethod only, and fails
 * (reason in err) when the certificate's key cannot make it; NULL follows
 * the key: sm2-sm3 for an SM2 key, else any of the international methods
 * (rsa-sha256, rsa-sha512, ecdsa-sha256) the key verifies. */
struct gw_xmlsig_verifier *gw_xmlsig_verifier_new_pem_alg(const char *pem, size_t len,
                                                          const char *alg,
                                                          char *err, size_t errlen);
void gw_xmlsig_verifier_free(struct gw_xmlsig_verifier *v);

/* For an SM2 certificate: the agency's distinguishing ID (verify.sm2_id),
 * used instead of GM/T 0009's "1234567812345678".  Call it before the
 * verifier is shared.  0, or -1 when the certificate is not SM2 or the ID
 * is refused by gw_gm_sm2_id_ok. */
int gw_xmlsig_verifier_set_sm2_id(struct gw_xmlsig_verifier *v, const char *id);

/* 1 when `alg` is a verify.alg name gw_xmlsig_verifier_new_pem_alg knows. */
int gw_xmlsig_alg_known(const char *alg);
/* The verifier's algorithm name ("sm2-sm3", ...) or "intl" for the
 * international allow-list.  Static storage. */
const char *gw_xmlsig_verifier_alg(const struct gw_xmlsig_verifier *v);

/* Verifies the one signature in `doc`, which must sign `mapped` (the node
 * the caller will read facts from, e.g. the soap:Body).  The document is
 * modified only by ID registration.  A short reason goes to detail. */
enum gw_xmlsig_result gw_xmlsig_verify(const struct gw_xmlsig_verifier *v,
                                       xmlDocPtr doc, xmlNodePtr mapped,
                                       char *detail, size_t detail_len)
  __attribute__((warn_unused_result));

const char *gw_xmlsig_result_name(enum gw_xmlsig_result r);

#endif
