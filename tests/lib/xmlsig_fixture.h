/*
 * xmlsig_fixture.h - what the XML-DSig unit tests (test_xmlsig.c, ECDSA;
 * test_xmlsig_sm2.c, SM2) share: a temporary folder holding the test PKI
 * (certs/gen-pki.sh) and a SOAP template whose Body (wsu:Id "body-1")
 * carries one enveloped ECDSA-SHA256 signature, signed by an independent
 * signer (the xmlsec1 command line) with any key of pki/signing; and the
 * small readers of files and documents the tests use.
 *
 * A test calls xmlsig_fixture_setup() from its group setup and
 * xmlsig_fixture_teardown() from its group teardown; everything else may
 * be left unused (hence the unused attributes).
 */
#ifndef GW_TEST_XMLSIG_FIXTURE_H
#define GW_TEST_XMLSIG_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "gw/xmlsig.h"

#define SOAP_NS "http://schemas.xmlsoap.org/soap/envelope/"
#define WSU_NS "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
#define DS_NS "http://www.w3.org/2000/09/xmldsig#"
#define EXC "http://www.w3.org/2001/10/xml-exc-c14n#"
#define ENV "http://www.w3.org/2000/09/xmldsig#enveloped-signature"

#define XMLSIG_FIXTURE_FN static __attribute__((unused))

/* The temporary folder: pki/ and tmpl.xml (and whatever a test writes). */
static char dir[] = "/tmp/gwxmlsigXXXXXX";

/* The signed document up to its SignatureMethod, as an agency sends it
 * (not canonical: self-closing tags, the ds namespace on Signature). */
#define XMLSIG_FIXTURE_HEAD                                                          \
  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"                                     \
  "<soap:Envelope xmlns:soap=\"" SOAP_NS "\" xmlns:wsu=\"" WSU_NS "\">"                \
  "<soap:Header/>"                                                                   \
  "<soap:Body wsu:Id=\"body-1\"><r:Degrees xmlns:r=\"urn:test\"><r:Degree>master</r:Degree>" \
  "</r:Degrees>"                                                                     \
  "<ds:Signature xmlns:ds=\"" DS_NS "\"><ds:SignedInfo>"                              \
  "<ds:CanonicalizationMethod Algorithm=\"" EXC "\"/>"

/* SignatureMethod matches the key type of signing/chsi.key and rogue.key,
 * both P-256 (certs/gen-pki.sh): xmlsec1 refuses a mismatched template. */
static const char xmlsig_fixture_tmpl[] =
  XMLSIG_FIXTURE_HEAD
  "<ds:SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256\"/>"
  "<ds:Reference URI=\"#body-1\"><ds:Transforms>"
  "<ds:Transform Algorithm=\"" ENV "\"/><ds:Transform Algorithm=\"" EXC "\"/></ds:Transforms>"
  "<ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/><ds:DigestValue/>"
  "</ds:Reference></ds:SignedInfo><ds:SignatureValue/>"
  "<ds:KeyInfo><ds:X509Data/></ds:KeyInfo></ds:Signature></soap:Body></soap:Envelope>\n";

/* The whole file, NUL-terminated (free()); *len (may be NULL) its size.
 * NULL when it cannot be read. */
XMLSIG_FIXTURE_FN char *slurp(const char *path, size_t *len)
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
  if(len)
    *len = (size_t)n;
  fclose(fp);
  return buf;
}

/* Writes s to path; 0, or -1. */
XMLSIG_FIXTURE_FN int spit(const char *path, const char *s)
{
  FILE *fp = fopen(path, "wb");
  if(!fp)
    return -1;
  fputs(s, fp);
  return fclose(fp);
}

/* The template signed by xmlsec1 with pki/signing/KEYNAME.key, its
 * certificate in KeyInfo (free()); NULL when xmlsec1 fails. */
XMLSIG_FIXTURE_FN char *xmlsig_fixture_sign(const char *keyname)
{
  char cmd[1024], out[300];
  snprintf(out, sizeof(out), "%s/signed-%s.xml", dir, keyname);
  snprintf(cmd, sizeof(cmd),
           "xmlsec1 --sign --privkey-pem %s/pki/signing/%s.key,%s/pki/signing/%s.pem "
           "--id-attr:Id '" SOAP_NS ":Body' --output %s %s/tmpl.xml",
           dir, keyname, dir, keyname, out, dir);
  if(system(cmd) != 0)
    return NULL;
  return slurp(out, NULL);
}

/* Makes the folder, the PKI and the template, and initializes xmlsig.
 * 0, or -1 (GW_SOURCE_DIR unset, a command failed). */
XMLSIG_FIXTURE_FN int xmlsig_fixture_setup(void)
{
  char cmd[1024], path[300];
  const char *src = getenv("GW_SOURCE_DIR");
  if(!src || !mkdtemp(dir))
    return -1;
  snprintf(cmd, sizeof(cmd), "bash %s/certs/gen-pki.sh %s/pki >/dev/null", src, dir);
  if(system(cmd) != 0)
    return -1;
  snprintf(path, sizeof(path), "%s/tmpl.xml", dir);
  if(spit(path, xmlsig_fixture_tmpl))
    return -1;
  return gw_xmlsig_global_init() ? -1 : 0;
}

/* Undoes xmlsig_fixture_setup; 0, or -1 when the folder stays. */
XMLSIG_FIXTURE_FN int xmlsig_fixture_teardown(void)
{
  char cmd[300];
  gw_xmlsig_global_cleanup();
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

XMLSIG_FIXTURE_FN xmlDocPtr parse(const char *text)
{
  xmlDocPtr d = xmlReadMemory(text, (int)strlen(text), "r.xml", NULL, XML_PARSE_NONET);
  assert_non_null(d);
  return d;
}

/* The first element child of parent named `name`, or NULL (also for a
 * NULL parent). */
XMLSIG_FIXTURE_FN xmlNodePtr child(xmlNodePtr parent, const char *name)
{
  for(xmlNodePtr c = parent ? parent->children : NULL; c; c = c->next)
    if(c->type == XML_ELEMENT_NODE && !strcmp((const char *)c->name, name))
      return c;
  return NULL;
}

XMLSIG_FIXTURE_FN xmlNodePtr body_of(xmlDocPtr d)
{
  return child(xmlDocGetRootElement(d), "Body");
}

#endif
