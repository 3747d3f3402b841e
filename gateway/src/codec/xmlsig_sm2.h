/*
 * xmlsig_sm2.h - the cryptographic half of SM2 XML-DSig (codec-internal).
 *
 * libxmlsec1 has no SM2 and no SM3, so a signature with SignatureMethod
 * GW_XMLSIG_URI_SM2_SM3 and DigestMethod GW_XMLSIG_URI_SM3 is checked here:
 * libxml2 canonicalizes, OpenSSL EVP hashes and verifies (SM3, SM2 with the
 * distinguishing ID 1234567812345678 through gw/gm.h).  Only called by
 * xmlsig.c after its structural checks (one signature, one "#id"
 * Reference resolved through its own duplicate-free table to exactly the
 * mapped element, allow-listed algorithms): this module trusts those and
 * adds no policy of its own beyond the order of the transforms.
 */
#ifndef GW_XMLSIG_SM2_H
#define GW_XMLSIG_SM2_H

#include <stddef.h>
#include <libxml/tree.h>
#include <openssl/evp.h>

#include "gw/xmlsig.h"

#define GW_XMLSIG_URI_SM2_SM3 "http://www.w3.org/2000/09/xmldsig#sm2-sm3"
#define GW_XMLSIG_URI_SM3     "http://www.w3.org/2000/09/xmldsig#sm3"

/* What xmlsig.c lends this module: is `n` the XML-DSig element `name`
 * (namespace http://www.w3.org/2000/09/xmldsig#)?  And the first such
 * child of parent (NULL: none, or parent NULL). */
int gw_xmlsig_is_dsig(const xmlNode *n, const char *name);
xmlNodePtr gw_xmlsig_dsig_child(xmlNodePtr parent, const char *name);

/* Checks the one Reference of `sig` (a ds:Signature whose SignedInfo has
 * passed xmlsig.c's checks) against `referenced` (the element its "#id"
 * names): the transforms applied in order (enveloped-signature, then one
 * canonicalization, inclusive C14N 1.0 when none is named), SM3 of the
 * octets equal to DigestValue; then SignedInfo canonicalized by its
 * CanonicalizationMethod and SignatureValue (raw r||s, 64 bytes, or DER
 * SEQUENCE{r,s}) verified with `pub` (an SM2 key) and the distinguishing
 * ID `sm2_id` (the adapter's verify.sm2_id; NULL: GM/T 0009's default).
 * GW_XMLSIG_OK, GW_XMLSIG_INVALID (digest or signature does not verify,
 * malformed values), GW_XMLSIG_DISALLOWED_ALGORITHM (transforms out of
 * order) or GW_XMLSIG_INTERNAL; a short reason goes to detail. */
enum gw_xmlsig_result gw_xmlsig_sm2_check(EVP_PKEY *pub, const char *sm2_id, xmlNodePtr sig,
                                          xmlNodePtr referenced,
                                          char *detail, size_t dlen)
  __attribute__((warn_unused_result));

#endif
