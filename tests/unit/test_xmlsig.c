/*
 * test_xmlsig.c - XML-DSig verification against documents signed by an
 * independent signer (the xmlsec1 command line), and the wrapping attacks
 * a hostile agency or a man in the middle would try.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../lib/xmlsig_fixture.h"

static char *signed_ok;      /* signed by the agency key */
static char *signed_rogue;   /* signed by the rogue key, rogue cert in KeyInfo */
static struct gw_xmlsig_verifier *verifier;

static int setup(void **state)
{
  char path[300], err[256];
  (void)state;
  if(xmlsig_fixture_setup())
    return -1;
  signed_ok = xmlsig_fixture_sign("chsi");
  signed_rogue = xmlsig_fixture_sign("rogue");
  if(!signed_ok || !signed_rogue)
    return -1;
  snprintf(path, sizeof(path), "%s/pki/signing/chsi.pem", dir);
  verifier = gw_xmlsig_verifier_new(path, err, sizeof(err));
  return verifier ? 0 : -1;
}

static int teardown(void **state)
{
  (void)state;
  gw_xmlsig_verifier_free(verifier);
  free(signed_ok);
  free(signed_rogue);
  return xmlsig_fixture_teardown();
}

static enum gw_xmlsig_result verify_doc(xmlDocPtr d, xmlNodePtr mapped)
{
  char detail[256];
  return gw_xmlsig_verify(verifier, d, mapped, detail, sizeof(detail));
}

static void agency_signature_verifies(void **state)
{
  xmlDocPtr d = parse(signed_ok);
  (void)state;
  assert_int_equal(verify_doc(d, body_of(d)), GW_XMLSIG_OK);
  xmlFreeDoc(d);
}

static void changed_value_fails(void **state)
{
  xmlDocPtr d = parse(signed_ok);
  xmlNodePtr degree = child(child(body_of(d), "Degrees"), "Degree");
  (void)state;
  xmlNodeSetContent(degree, BAD_CAST "doctor");
  assert_int_equal(verify_doc(d, body_of(d)), GW_XMLSIG_INVALID);
  xmlFreeDoc(d);
}

static void rogue_signer_refused(void **state)
{
  xmlDocPtr d = parse(signed_rogue);
  xmlNodePtr sig, ki;
  (void)state;
  assert_int_equal(verify_doc(d, body_of(d)), GW_XMLSIG_WRONG_SIGNER);
  /* without the certificate in KeyInfo, the agency key simply does not verify */
  sig = child(body_of(d), "Signature");
  ki = child(sig, "KeyInfo");
  xmlUnlinkNode(ki);
  xmlFreeNode(ki);
  assert_int_equal(verify_doc(d, body_of(d)), GW_XMLSIG_INVALID);
  xmlFreeDoc(d);
}

/* The signed Body moves into the Header; a forged Body takes its place. */
static void wrapped_body_refused(void **state)
{
  xmlDocPtr d = parse(signed_ok);
  xmlNodePtr env = xmlDocGetRootElement(d), header = child(env, "Header");
  xmlNodePtr signed_body = body_of(d), forged;
  (void)state;
  xmlUnlinkNode(signed_body);
  xmlAddChild(header, signed_body);
  forged = xmlNewChild(env, env->ns, BAD_CAST "Body", NULL);
  xmlNewChild(forged, NULL, BAD_CAST "Degrees", BAD_CAST "doctor");
  /* the signature itself still verifies: a naive verifier would accept */
  assert_int_equal(verify_doc(d, signed_body), GW_XMLSIG_OK);
  /* but the node the facts are read from is not the signed one */
  assert_int_equal(verify_doc(d, forged), GW_XMLSIG_WRONG_NODE);
  xmlFreeDoc(d);
}

static void duplicate_id_refused(void **state)
{
  xmlDocPtr d = parse(signed_ok);
  xmlNodePtr env = xmlDocGetRootElement(d), header = child(env, "Header");
  xmlNsPtr wsu = xmlSearchNsByHref(d, env, BAD_CAST WSU_NS);
  xmlNodePtr forged = xmlNewChild(header, NULL, BAD_CAST "Forged", NULL);
  (void)state;
  xmlNewNsProp(forged, wsu, BAD_CAST "Id", BAD_CAST "body-1");
  assert_int_equal(verify_doc(d, body_of(d)), GW_XMLSIG_DUPLICATE_ID);
  xmlFreeDoc(d);
}

static void second_signature_refused(void **state)
{
  xmlDocPtr d = parse(signed_ok);
  xmlNodePtr sig = child(body_of(d), "Signature");
  xmlNodePtr header = child(xmlDocGetRootElement(d), "Header");
  (void)state;
  xmlAddChild(header, xmlCopyNode(sig, 1));
  assert_int_equal(verify_doc(d, body_of(d)), GW_XMLSIG_MULTIPLE_SIGNATURES);
  xmlFreeDoc(d);
}

static void unsigned_refused(void **state)
{
  xmlDocPtr d = parse(signed_ok);
  xmlNodePtr sig = child(body_of(d), "Signature");
  (void)state;
  xmlUnlinkNode(sig);
  xmlFreeNode(sig);
  assert_int_equal(verify_doc(d, body_of(d)), GW_XMLSIG_NO_SIGNATURE);
  xmlFreeDoc(d);
}

static void set_alg(xmlDocPtr d, const char *elem, const char *alg)
{
  xmlNodePtr si = child(child(body_of(d), "Signature"), "SignedInfo");
  xmlNodePtr ref = child(si, "Reference");
  xmlNodePtr target = NULL;
  if(!strcmp(elem, "Transform"))
    target = child(child(ref, "Transforms"), "Transform");
  else if(!strcmp(elem, "DigestMethod"))
    target = child(ref, "DigestMethod");
  else
    target = child(si, elem);
  assert_non_null(target);
  xmlSetProp(target, BAD_CAST "Algorithm", BAD_CAST alg);
}

static void disallowed_algorithms_refused(void **state)
{
  static const char *const cases[][2] = {
    { "Transform", "http://www.w3.org/TR/1999/REC-xpath-19991116" },
    { "Transform", "http://www.w3.org/TR/1999/REC-xslt-19991116" },
    { "DigestMethod", "http://www.w3.org/2000/09/xmldsig#sha1" },
    { "SignatureMethod", "http://www.w3.org/2000/09/xmldsig#rsa-sha1" },
    { "SignatureMethod", "http://www.w3.org/2000/09/xmldsig#hmac-sha1" },
    { "CanonicalizationMethod", "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments" },
  };
  (void)state;
  for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    xmlDocPtr d = parse(signed_ok);
    set_alg(d, cases[i][0], cases[i][1]);
    assert_int_equal(verify_doc(d, body_of(d)), GW_XMLSIG_DISALLOWED_ALGORITHM);
    xmlFreeDoc(d);
  }
}

static void reference_must_be_same_document_id(void **state)
{
  static const char *const uris[] = { "", "#", "http://evil/x.xml",
                                      "#xpointer(/)", "#nobody" };
  (void)state;
  for(size_t i = 0; i < sizeof(uris) / sizeof(uris[0]); i++) {
    xmlDocPtr d = parse(signed_ok);
    xmlNodePtr ref = child(child(child(body_of(d), "Signature"), "SignedInfo"), "Reference");
    xmlSetProp(ref, BAD_CAST "URI", BAD_CAST uris[i]);
    assert_int_equal(verify_doc(d, body_of(d)), GW_XMLSIG_BAD_REFERENCE);
    xmlFreeDoc(d);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(agency_signature_verifies),
    cmocka_unit_test(changed_value_fails),
    cmocka_unit_test(rogue_signer_refused),
    cmocka_unit_test(wrapped_body_refused),
    cmocka_unit_test(duplicate_id_refused),
    cmocka_unit_test(second_signature_refused),
    cmocka_unit_test(unsigned_refused),
    cmocka_unit_test(disallowed_algorithms_refused),
    cmocka_unit_test(reference_must_be_same_document_id),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
