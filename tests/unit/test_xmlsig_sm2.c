/*
 * test_xmlsig_sm2.c - SM2 XML-DSig (sm2-sm3 over an sm3 digest, the URIs of
 * China's e-port systems) verified by the gateway, against documents whose
 * signature was made by the openssl command line over canonical forms
 * written out by hand here (the exclusive C14N of this template), so
 * neither the canonicalization nor the signature comes from the code under
 * test.  Also: the distinguishing ID, tampering, the wrapping defences
 * under SM2, and no algorithm confusion in either direction (an SM2
 * verifier refuses ECDSA answers, an ECDSA one refuses SM2 answers).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "gw/gm.h"
#include "../lib/xmlsig_fixture.h"

#define SM2SM3 "http://www.w3.org/2000/09/xmldsig#sm2-sm3"
#define SM3 "http://www.w3.org/2000/09/xmldsig#sm3"

static char *signed_ecdsa;                 /* chsi.key (P-256) by xmlsec1 */
static struct gw_xmlsig_verifier *sm2_v;   /* chsi-sm2.pem, alg following the key */
static struct gw_xmlsig_verifier *ec_v;    /* chsi.pem */

/* The Body's exclusive canonical form (the signature removed by the
 * enveloped-signature transform): namespace nodes sorted by prefix, then
 * attributes, no self-closing tags. */
static const char body_c14n[] =
  "<soap:Body xmlns:soap=\"" SOAP_NS "\" xmlns:wsu=\"" WSU_NS "\" wsu:Id=\"body-1\">"
  "<r:Degrees xmlns:r=\"urn:test\"><r:Degree>master</r:Degree></r:Degrees></soap:Body>";

/* SignedInfo, canonical, with the digest's base64 and the digest method. */
static const char si_c14n_fmt[] =
  "<ds:SignedInfo xmlns:ds=\"" DS_NS "\">"
  "<ds:CanonicalizationMethod Algorithm=\"" EXC "\"></ds:CanonicalizationMethod>"
  "<ds:SignatureMethod Algorithm=\"" SM2SM3 "\"></ds:SignatureMethod>"
  "<ds:Reference URI=\"#body-1\"><ds:Transforms>"
  "<ds:Transform Algorithm=\"" ENV "\"></ds:Transform>"
  "<ds:Transform Algorithm=\"" EXC "\"></ds:Transform></ds:Transforms>"
  "<ds:DigestMethod Algorithm=\"%s\"></ds:DigestMethod>"
  "<ds:DigestValue>%s</ds:DigestValue></ds:Reference></ds:SignedInfo>";

/* The same document as the agency sends it: not canonical (self-closing
 * tags, the ds namespace declared on Signature, line breaks in the values). */
static const char doc_fmt[] =
  XMLSIG_FIXTURE_HEAD
  "<ds:SignatureMethod Algorithm=\"" SM2SM3 "\"/>"
  "<ds:Reference URI=\"#body-1\"><ds:Transforms>"
  "<ds:Transform Algorithm=\"" ENV "\"/>"
  "<ds:Transform Algorithm=\"" EXC "\"/></ds:Transforms>"
  "<ds:DigestMethod Algorithm=\"%s\"/><ds:DigestValue>%s</ds:DigestValue>"
  "</ds:Reference></ds:SignedInfo><ds:SignatureValue>\n%s\n</ds:SignatureValue>"
  "%s</ds:Signature></soap:Body></soap:Envelope>\n";

static void b64(const unsigned char *in, size_t n, char *out)
{
  EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

/* The base64 certificate of pki/signing/NAME.pem (between the PEM lines). */
static char *cert_b64(const char *name)
{
  char path[300], *pem, *p, *q, *out;
  size_t w = 0;
  snprintf(path, sizeof(path), "%s/pki/signing/%s.pem", dir, name);
  pem = slurp(path, NULL);
  assert_non_null(pem);
  p = strstr(pem, "-----\n");
  q = strstr(pem, "\n-----END");
  assert_true(p && q && q > p);
  out = calloc(1, (size_t)(q - p) + 1);
  for(p += 6; p < q; p++)
    if(*p != '\n')
      out[w++] = *p;
  free(pem);
  return out;
}

/* A document signed by the openssl command line with pki/signing/KEY.key:
 * SM3 over body_c14n (or `body` when not NULL), SignedInfo with
 * `digest_uri`, `sigopt` e.g. "-sigopt distid:1234567812345678" ("" for
 * OpenSSL's empty default ID), SignatureValue DER (der) or raw r||s,
 * KeyInfo with the certificate of `cert` (NULL: no KeyInfo).  Caller frees. */
static char *sm2_doc(const char *key, const char *sigopt, int der,
                     const char *digest_uri, const char *cert)
{
  unsigned char dg[GW_GM_SM3_LEN], raw[GW_GM_SM2_SIG_LEN];
  char dg64[64], sv64[200], si[2048], path[300], cmd[1024], *sig, *out, *ki, *cb = NULL;
  size_t sig_len = 0, n;

  assert_int_equal(gw_gm_sm3(body_c14n, strlen(body_c14n), dg), GW_GM_OK);
  b64(dg, sizeof(dg), dg64);
  snprintf(si, sizeof(si), si_c14n_fmt, digest_uri, dg64);
  snprintf(path, sizeof(path), "%s/si.bin", dir);
  assert_int_equal(spit(path, si), 0);
  snprintf(cmd, sizeof(cmd), "openssl dgst -sm3 -sign %s/pki/signing/%s.key %s "
           "-out %s/sig.der %s", dir, key, sigopt, dir, path);
  assert_int_equal(system(cmd), 0);
  snprintf(path, sizeof(path), "%s/sig.der", dir);
  sig = slurp(path, &sig_len);
  assert_non_null(sig);
  if(der) {
    b64((const unsigned char *)sig, sig_len, sv64);
  }
  else {
    assert_int_equal(gw_gm_sig_der_to_raw((const unsigned char *)sig, sig_len, raw), GW_GM_OK);
    b64(raw, sizeof(raw), sv64);
  }
  free(sig);
  if(cert)
    cb = cert_b64(cert);
  n = strlen(doc_fmt) + strlen(digest_uri) + strlen(dg64) + strlen(sv64) +
      (cb ? strlen(cb) : 0) + 200;
  ki = malloc(n);
  out = malloc(n);
  assert_true(ki && out);
  snprintf(ki, n, "%s%s%s", cb ? "<ds:KeyInfo><ds:X509Data><ds:X509Certificate>" : "",
           cb ? cb : "", cb ? "</ds:X509Certificate></ds:X509Data></ds:KeyInfo>" : "");
  snprintf(out, n, doc_fmt, digest_uri, dg64, sv64, ki);
  free(ki);
  free(cb);
  return out;
}

static int setup(void **state)
{
  char path[300], err[256], *pem;
  size_t len;
  (void)state;
  if(xmlsig_fixture_setup())
    return -1;
  signed_ecdsa = xmlsig_fixture_sign("chsi");
  if(!signed_ecdsa)
    return -1;
  snprintf(path, sizeof(path), "%s/pki/signing/chsi-sm2.pem", dir);
  pem = slurp(path, &len);
  sm2_v = pem ? gw_xmlsig_verifier_new_pem_alg(pem, len, NULL, err, sizeof(err)) : NULL;
  free(pem);
  snprintf(path, sizeof(path), "%s/pki/signing/chsi.pem", dir);
  ec_v = gw_xmlsig_verifier_new(path, err, sizeof(err));
  return sm2_v && ec_v ? 0 : -1;
}

static int teardown(void **state)
{
  (void)state;
  gw_xmlsig_verifier_free(sm2_v);
  gw_xmlsig_verifier_free(ec_v);
  free(signed_ecdsa);
  return xmlsig_fixture_teardown();
}

static enum gw_xmlsig_result verify_text(const struct gw_xmlsig_verifier *v, const char *text)
{
  char detail[256];
  xmlDocPtr d = parse(text);
  enum gw_xmlsig_result r = gw_xmlsig_verify(v, d, body_of(d), detail, sizeof(detail));
  xmlFreeDoc(d);
  return r;
}

static const char *sid = "-sigopt distid:1234567812345678";

static void verifier_follows_the_key(void **state)
{
  (void)state;
  assert_string_equal(gw_xmlsig_verifier_alg(sm2_v), "sm2-sm3");
  assert_string_equal(gw_xmlsig_verifier_alg(ec_v), "intl");
}

static void openssl_signature_verifies_raw_and_der(void **state)
{
  char *raw = sm2_doc("chsi-sm2", sid, 0, SM3, "chsi-sm2");
  char *der = sm2_doc("chsi-sm2", sid, 1, SM3, NULL);
  (void)state;
  assert_int_equal(verify_text(sm2_v, raw), GW_XMLSIG_OK);
  assert_int_equal(verify_text(sm2_v, der), GW_XMLSIG_OK);
  free(raw);
  free(der);
}

static void changed_answer_fails_the_digest(void **state)
{
  char *doc = sm2_doc("chsi-sm2", sid, 0, SM3, NULL);
  char detail[256];
  xmlDocPtr d = parse(doc);
  (void)state;
  xmlNodeSetContent(child(child(body_of(d), "Degrees"), "Degree"), BAD_CAST "doctor");
  assert_int_equal(gw_xmlsig_verify(sm2_v, d, body_of(d), detail, sizeof(detail)),
                   GW_XMLSIG_INVALID);
  assert_non_null(strstr(detail, "digest"));
  xmlFreeDoc(d);
  free(doc);
}

static void tampered_digest_value_fails(void **state)
{
  char *doc = sm2_doc("chsi-sm2", sid, 0, SM3, NULL);
  char *dv = strstr(doc, "<ds:DigestValue>") + strlen("<ds:DigestValue>");
  (void)state;
  dv[0] = dv[0] == 'A' ? 'B' : 'A';
  assert_int_equal(verify_text(sm2_v, doc), GW_XMLSIG_INVALID);
  free(doc);
}

static void tampered_signature_value_fails(void **state)
{
  char *doc = sm2_doc("chsi-sm2", sid, 0, SM3, NULL);
  char *sv = strstr(doc, "<ds:SignatureValue>\n") + strlen("<ds:SignatureValue>\n");
  char detail[256];
  xmlDocPtr d;
  (void)state;
  sv[3] = sv[3] == 'A' ? 'B' : 'A';              /* one bit of r */
  d = parse(doc);
  assert_int_equal(gw_xmlsig_verify(sm2_v, d, body_of(d), detail, sizeof(detail)),
                   GW_XMLSIG_INVALID);
  assert_non_null(strstr(detail, "SM2 signature"));
  /* and a value that is no signature at all */
  xmlNodeSetContent(child(child(body_of(d), "Signature"), "SignatureValue"), BAD_CAST "AAAA");
  assert_int_equal(gw_xmlsig_verify(sm2_v, d, body_of(d), detail, sizeof(detail)),
                   GW_XMLSIG_INVALID);
  xmlFreeDoc(d);
  free(doc);
}

static void the_distinguishing_id_matters(void **state)
{
  /* OpenSSL's default (empty ID) and another ID: both refused */
  char *empty = sm2_doc("chsi-sm2", "", 0, SM3, NULL);
  char *other = sm2_doc("chsi-sm2", "-sigopt distid:ALICE123@YAHOO.COM", 0, SM3, NULL);
  (void)state;
  assert_int_equal(verify_text(sm2_v, empty), GW_XMLSIG_INVALID);
  assert_int_equal(verify_text(sm2_v, other), GW_XMLSIG_INVALID);
  free(empty);
  free(other);
}

/* verify.sm2_id: an agency whose CA signs under another ID is verified with
 * that ID, and then the GM/T 0009 default no longer verifies. */
static void a_configured_agency_id(void **state)
{
  char *other = sm2_doc("chsi-sm2", "-sigopt distid:ALICE123@YAHOO.COM", 0, SM3, NULL);
  char *std = sm2_doc("chsi-sm2", sid, 0, SM3, NULL);
  char path[300], err[256], *pem;
  size_t len;
  struct gw_xmlsig_verifier *v;
  (void)state;
  snprintf(path, sizeof(path), "%s/pki/signing/chsi-sm2.pem", dir);
  pem = slurp(path, &len);
  v = gw_xmlsig_verifier_new_pem_alg(pem, len, "sm2-sm3", err, sizeof(err));
  assert_non_null(v);
  assert_int_equal(gw_xmlsig_verifier_set_sm2_id(v, "ALICE123@YAHOO.COM"), 0);
  assert_int_equal(verify_text(v, other), GW_XMLSIG_OK);
  assert_int_equal(verify_text(v, std), GW_XMLSIG_INVALID);
  /* refused: an empty ID, one over the cap, an ID for a non-SM2 verifier */
  assert_int_equal(gw_xmlsig_verifier_set_sm2_id(v, ""), -1);
  assert_int_equal(gw_xmlsig_verifier_set_sm2_id(v, "0123456789012345678901234567890123456789"
                                                    "01234567890123456789012345"), -1);
  assert_int_equal(gw_xmlsig_verifier_set_sm2_id(ec_v, "ALICE123@YAHOO.COM"), -1);
  /* the refusals left the configured ID in place */
  assert_int_equal(verify_text(v, other), GW_XMLSIG_OK);
  gw_xmlsig_verifier_free(v);
  free(pem);
  free(other);
  free(std);
}

static void ecdsa_answer_refused_by_sm2_adapter(void **state)
{
  char detail[256];
  xmlDocPtr d = parse(signed_ecdsa);
  (void)state;
  /* the same document verifies with the ECDSA verifier ... */
  assert_int_equal(gw_xmlsig_verify(ec_v, d, body_of(d), detail, sizeof(detail)), GW_XMLSIG_OK);
  /* ... and is refused before any cryptography by the SM2 one */
  assert_int_equal(gw_xmlsig_verify(sm2_v, d, body_of(d), detail, sizeof(detail)),
                   GW_XMLSIG_DISALLOWED_ALGORITHM);
  assert_non_null(strstr(detail, "sm2-sm3"));
  xmlFreeDoc(d);
}

static void sm2_answer_refused_by_ecdsa_adapter(void **state)
{
  char *doc = sm2_doc("chsi-sm2", sid, 0, SM3, NULL);
  char err[256], path[300], *pem;
  size_t len;
  struct gw_xmlsig_verifier *named;
  (void)state;
  assert_int_equal(verify_text(ec_v, doc), GW_XMLSIG_DISALLOWED_ALGORITHM);
  snprintf(path, sizeof(path), "%s/pki/signing/chsi.pem", dir);
  pem = slurp(path, &len);
  named = gw_xmlsig_verifier_new_pem_alg(pem, len, "ecdsa-sha256", err, sizeof(err));
  assert_non_null(named);
  assert_int_equal(verify_text(named, doc), GW_XMLSIG_DISALLOWED_ALGORITHM);
  gw_xmlsig_verifier_free(named);
  free(pem);
  free(doc);
}

static void sm2_with_another_digest_refused(void **state)
{
  char *doc = sm2_doc("chsi-sm2", sid, 0, "http://www.w3.org/2001/04/xmlenc#sha256", NULL);
  (void)state;
  assert_int_equal(verify_text(sm2_v, doc), GW_XMLSIG_DISALLOWED_ALGORITHM);
  free(doc);
}

static void algorithm_must_fit_the_certificate(void **state)
{
  char err[256], path[300], *sm2pem, *ecpem;
  size_t l1, l2;
  struct gw_xmlsig_verifier *v;
  (void)state;
  snprintf(path, sizeof(path), "%s/pki/signing/chsi-sm2.pem", dir);
  sm2pem = slurp(path, &l1);
  snprintf(path, sizeof(path), "%s/pki/signing/chsi.pem", dir);
  ecpem = slurp(path, &l2);
  assert_null(gw_xmlsig_verifier_new_pem_alg(sm2pem, l1, "ecdsa-sha256", err, sizeof(err)));
  assert_non_null(strstr(err, "SM2"));
  assert_null(gw_xmlsig_verifier_new_pem_alg(ecpem, l2, "sm2-sm3", err, sizeof(err)));
  assert_null(gw_xmlsig_verifier_new_pem_alg(ecpem, l2, "sm2", err, sizeof(err)));
  v = gw_xmlsig_verifier_new_pem_alg(sm2pem, l1, "sm2-sm3", err, sizeof(err));
  assert_non_null(v);
  gw_xmlsig_verifier_free(v);
  free(sm2pem);
  free(ecpem);
}

static void rogue_sm2_signer_refused(void **state)
{
  /* a stranger's SM2 key, its certificate in KeyInfo; then without it */
  char *with = sm2_doc("rogue-sm2", sid, 0, SM3, "rogue-sm2");
  char *without = sm2_doc("rogue-sm2", sid, 0, SM3, NULL);
  (void)state;
  assert_int_equal(verify_text(sm2_v, with), GW_XMLSIG_WRONG_SIGNER);
  assert_int_equal(verify_text(sm2_v, without), GW_XMLSIG_INVALID);
  free(with);
  free(without);
}

/* The signed Body moves into the Header; a forged Body takes its place. */
static void wrapped_body_refused(void **state)
{
  char *doc = sm2_doc("chsi-sm2", sid, 0, SM3, "chsi-sm2");
  char detail[256];
  xmlDocPtr d = parse(doc);
  xmlNodePtr env = xmlDocGetRootElement(d), header = child(env, "Header");
  xmlNodePtr signed_body = body_of(d), forged;
  (void)state;
  xmlUnlinkNode(signed_body);
  xmlAddChild(header, signed_body);
  forged = xmlNewChild(env, env->ns, BAD_CAST "Body", NULL);
  xmlNewChild(forged, NULL, BAD_CAST "Degrees", BAD_CAST "doctor");
  /* the SM2 signature itself still verifies where it now is ... */
  assert_int_equal(gw_xmlsig_verify(sm2_v, d, signed_body, detail, sizeof(detail)),
                   GW_XMLSIG_OK);
  /* ... but the node the facts are read from is not the signed one */
  assert_int_equal(gw_xmlsig_verify(sm2_v, d, forged, detail, sizeof(detail)),
                   GW_XMLSIG_WRONG_NODE);
  xmlFreeDoc(d);
  free(doc);
}

static void duplicate_id_refused(void **state)
{
  char *doc = sm2_doc("chsi-sm2", sid, 0, SM3, NULL);
  xmlDocPtr d = parse(doc);
  xmlNodePtr env = xmlDocGetRootElement(d), header = child(env, "Header");
  xmlNsPtr wsu = xmlSearchNsByHref(d, env, BAD_CAST WSU_NS);
  xmlNodePtr forged = xmlNewChild(header, NULL, BAD_CAST "Forged", NULL);
  char detail[256];
  (void)state;
  xmlNewNsProp(forged, wsu, BAD_CAST "Id", BAD_CAST "body-1");
  assert_int_equal(gw_xmlsig_verify(sm2_v, d, body_of(d), detail, sizeof(detail)),
                   GW_XMLSIG_DUPLICATE_ID);
  xmlFreeDoc(d);
  free(doc);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(verifier_follows_the_key),
    cmocka_unit_test(openssl_signature_verifies_raw_and_der),
    cmocka_unit_test(changed_answer_fails_the_digest),
    cmocka_unit_test(tampered_digest_value_fails),
    cmocka_unit_test(tampered_signature_value_fails),
    cmocka_unit_test(the_distinguishing_id_matters),
    cmocka_unit_test(a_configured_agency_id),
    cmocka_unit_test(ecdsa_answer_refused_by_sm2_adapter),
    cmocka_unit_test(sm2_answer_refused_by_ecdsa_adapter),
    cmocka_unit_test(sm2_with_another_digest_refused),
    cmocka_unit_test(algorithm_must_fit_the_certificate),
    cmocka_unit_test(rogue_sm2_signer_refused),
    cmocka_unit_test(wrapped_body_refused),
    cmocka_unit_test(duplicate_id_refused),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
