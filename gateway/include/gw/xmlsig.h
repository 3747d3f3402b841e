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
void gw_xmlsig_verifier_free(struct gw_xmlsig_verifier *v);

/* Verifies the one signature in `doc`, which must sign `mapped` (the node
 * the caller will read facts from, e.g. the soap:Body).  The document is
 * modified only by ID registration.  A short reason goes to detail. */
enum gw_xmlsig_result gw_xmlsig_verify(const struct gw_xmlsig_verifier *v,
                                       xmlDocPtr doc, xmlNodePtr mapped,
                                       char *detail, size_t detail_len)
  __attribute__((warn_unused_result));

const char *gw_xmlsig_result_name(enum gw_xmlsig_result r);

#endif
