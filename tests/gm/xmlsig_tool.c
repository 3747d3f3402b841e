/*
 * xmlsig_tool.c - the gateway's XML-DSig verifier on one saved document,
 * for tests/gm/xmldsig_interop.sh.
 *
 *   xmlsig_tool CERT-PEM XML-FILE [ALG]
 *
 * Verifies the document's one signature with the agency certificate (and
 * verify.alg ALG, default: follows the certificate's key) exactly as the
 * SOAP codec does, the mapped node being the soap:Body (the root's child
 * element named Body).  Prints "ok" or "RESULT: reason"; exit 0 verified,
 * 1 refused, 2 usage or setup error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "gw/xmlsig.h"

#define TOOL_PEM_MAX (64 * 1024)

int main(int argc, char **argv)
{
  char pem[TOOL_PEM_MAX], err[256], detail[300];
  struct gw_xmlsig_verifier *v;
  enum gw_xmlsig_result r;
  xmlNodePtr body = NULL;
  xmlDocPtr doc;
  size_t n;
  FILE *f;

  if(argc < 3 || argc > 4) {
    fprintf(stderr, "usage: xmlsig_tool CERT-PEM XML-FILE [ALG]\n");
    return 2;
  }
  f = fopen(argv[1], "r");
  if(!f) {
    fprintf(stderr, "xmlsig_tool: cannot open %s\n", argv[1]);
    return 2;
  }
  n = fread(pem, 1, sizeof(pem) - 1, f);
  fclose(f);
  pem[n] = '\0';
  if(gw_xmlsig_global_init()) {
    fprintf(stderr, "xmlsig_tool: libxmlsec1 does not start\n");
    return 2;
  }
  v = gw_xmlsig_verifier_new_pem_alg(pem, n, argc == 4 ? argv[3] : NULL, err, sizeof(err));
  if(!v) {
    fprintf(stderr, "xmlsig_tool: %s\n", err);
    return 2;
  }
  doc = xmlReadFile(argv[2], NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  for(xmlNodePtr c = doc && xmlDocGetRootElement(doc) ? xmlDocGetRootElement(doc)->children
                                                      : NULL; c; c = c->next)
    if(c->type == XML_ELEMENT_NODE && !strcmp((const char *)c->name, "Body"))
      body = c;
  if(!body) {
    fprintf(stderr, "xmlsig_tool: %s is not a SOAP envelope with a Body\n", argv[2]);
    return 2;
  }
  r = gw_xmlsig_verify(v, doc, body, detail, sizeof(detail));
  if(r == GW_XMLSIG_OK)
    printf("ok\n");
  else
    printf("%s: %s\n", gw_xmlsig_result_name(r), detail);
  xmlFreeDoc(doc);
  gw_xmlsig_verifier_free(v);
  gw_xmlsig_global_cleanup();
  return r == GW_XMLSIG_OK ? 0 : 1;
}
