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

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "gw/xmlsig.h"

#define SOAP_NS "http://schemas.xmlsoap.org/soap/envelope/"
#define WSU_NS "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"

static char dir[] = "/tmp/gwxmlsigXXXXXX";
static char *signed_ok;      /* signed by the agency key */
static char *signed_rogue;   /* signed by the rogue key, rogue cert in KeyInfo */
static struct gw_xmlsig_verifier *verifier;

/* SignatureMethod matches the key type of signing/chsi.key and rogue.key,
 * both P-256 (certs/gen-pki.sh): xmlsec1 refuses a mismatched template. */
static const char tmpl[] =
  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
  "<soap:Envelope xmlns:soap=\"" SOAP_NS "\" xmlns:wsu=\"" WSU_NS "\">"
  "<soap:Header/>"
  "<soap:Body wsu:Id=\"body-1\"><r:Degrees xmlns:r=\"urn:test\"><r:Degree>master</r:Degree>"
  "</r:Degrees>"
  "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:SignedInfo>"
  "<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>"
  "<ds:SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256\"/>"
  "<ds:Reference URI=\"#body-1\"><ds:Transforms>"
  "<ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>"
  "<ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/></ds:Transforms>"
  "<ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/><ds:DigestValue/>"
  "</ds:Reference></ds:SignedInfo><ds:SignatureValue/>"
  "<ds:KeyInfo><ds:X509Data/></ds:KeyInfo></ds:Signature></soap:Body></soap:Envelope>\n";

static char *slurp(const char *path)
{
  FILE *fp = fopen(path, "rb");
  long n;
  char *buf;
  if(!fp)
    return NULL;
  fseek(fp, 0, SEEK_END);
  n = ftell(fp);
  rewind(fp);
  buf = malloc((size_t)n + 1);
  if(buf && fread(buf, 1, (size_t)n, fp) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  if(buf)
    buf[n] = '\0';
  fclose(fp);
  return buf;
}

static char *sign_with(const char *keyname)
{
  char cmd[1024], out[300];
  snprintf(out, sizeof(out), "%s/signed-%s.xml", dir, keyname);
  snprintf(cmd, sizeof(cmd),
           "xmlsec1 --sign --privkey-pem %s/pki/signing/%s.key,%s/pki/signing/%s.pem "
           "--id-attr:Id '" SOAP_NS ":Body' --output %s %s/tmpl.xml",
           dir, keyname, dir, keyname, out, dir);
  if(system(cmd) != 0)
    return NULL;
  return slurp(out);
}

static int setup(void **state)
{
  char cmd[1024], path[300], err[256];
  const char *src = getenv("GW_SOURCE_DIR");
  FILE *fp;
  (void)state;
  if(!src || !mkdtemp(dir))
    return -1;
  snprintf(cmd, sizeof(cmd), "bash %s/certs/gen-pki.sh %s/pki >/dev/null", src, dir);
  if(system(cmd) != 0)
    return -1;
  snprintf(path, sizeof(path), "%s/tmpl.xml", dir);
  fp = fopen(path, "w");
  if(!fp)
    return -1;
  fputs(tmpl, fp);
  fclose(fp);
  signed_ok = sign_with("chsi");
  signed_rogue = sign_with("rogue");
  if(!signed_ok || !signed_rogue || gw_xmlsig_global_init())
    return -1;
  snprintf(path, sizeof(path), "%s/pki/signing/chsi.pem", dir);
  verifier = gw_xmlsig_verifier_new(path, err, sizeof(err));
  return verifier ? 0 : -1;
}

static int teardown(void **state)
{
  char cmd[300];
  (void)state;
  gw_xmlsig_verifier_free(verifier);
  gw_xmlsig_global_cleanup();
  free(signed_ok);
  free(signed_rogue);
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

static xmlDocPtr parse(const char *text)
{
  xmlDocPtr d = xmlReadMemory(text, (int)strlen(text), "r.xml", NULL, XML_PARSE_NONET);
  assert_non_null(d);
  return d;
}

static xmlNodePtr child(xmlNodePtr parent, const char *name)
{
  for(xmlNodePtr c = parent->children; c; c = c->next)
    if(c->type == XML_ELEMENT_NODE && !strcmp((const char *)c->name, name))
      return c;
  return NULL;
}

static xmlNodePtr body_of(xmlDocPtr d)
{
  return child(xmlDocGetRootElement(d), "Body");
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
