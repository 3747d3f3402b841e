/*
 * fuzz_xmlsig.c - parse an agency document and verify its XML-DSig against
 * a fixed certificate whose key nobody has: nothing may verify, crash, leak
 * or fetch anything from the network.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "gw/xmlsig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char cert[] =
  "-----BEGIN CERTIFICATE-----\n"
  "MIIBfTCCASOgAwIBAgIUJDlxEtehEHtBVGUT8Pbfsl8rQ80wCgYIKoZIzj0EAwIw\n"
  "FDESMBAGA1UEAwwJZnV6ei1jZXJ0MB4XDTI2MTEyODA5NDMzOFoXDTM2MTEyNTA5\n"
  "NDMzOFowFDESMBAGA1UEAwwJZnV6ei1jZXJ0MFkwEwYHKoZIzj0CAQYIKoZIzj0D\n"
  "AQcDQgAEU5HAT0xakZ0dEFaohyQ1+BeRs428mi3i8LChbF+m486jM+UxjIMdac7R\n"
  "VK/sWJrtEibmAiAPB5Ujj66ReqoR+qNTMFEwHQYDVR0OBBYEFO0WecB9Rh42nSjb\n"
  "S5SJbzrCGewVMB8GA1UdIwQYMBaAFO0WecB9Rh42nSjbS5SJbzrCGewVMA8GA1Ud\n"
  "EwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIgQ95iBB7nGNzp2YvcXixnZLUx\n"
  "u0FZ8+xIImxUZVYPVhMCIQDbHYZQwRo2AmEL6XBdRystVbShBt72do0YpKLRiovS\n"
  "Dw==\n"
  "-----END CERTIFICATE-----\n";

static struct gw_xmlsig_verifier *verifier(void)
{
  static struct gw_xmlsig_verifier *v;
  char path[] = "/tmp/fuzzxmlsigXXXXXX", err[256];
  int fd;
  FILE *fp;
  if(v)
    return v;
  if(gw_xmlsig_global_init())
    abort();
  fd = mkstemp(path);
  if(fd < 0 || !(fp = fdopen(fd, "w")))
    abort();
  fputs(cert, fp);
  fclose(fp);
  v = gw_xmlsig_verifier_new(path, err, sizeof(err));
  unlink(path);
  if(!v)
    abort();
  return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct gw_xmlsig_verifier *v = verifier();
  char detail[256];
  xmlDocPtr doc;
  xmlNodePtr root, mapped;

  if(size > 1 << 20)
    return 0;
  doc = xmlReadMemory((const char *)data, (int)size, "fuzz.xml", NULL,
                      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  if(!doc)
    return 0;
  root = xmlDocGetRootElement(doc);
  mapped = root && root->children ? root->children : root;
  if(gw_xmlsig_verify(v, doc, mapped, detail, sizeof(detail)) == GW_XMLSIG_OK)
    abort();
  xmlFreeDoc(doc);
  return 0;
}
