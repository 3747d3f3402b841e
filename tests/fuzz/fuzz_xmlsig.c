/*
 * fuzz_xmlsig.c - parse an agency document and verify its XML-DSig against
 * a fixed certificate whose key nobody has: nothing may verify, crash, leak
 * or fetch anything from the network.  Twice: with an ECDSA P-256
 * certificate (libxmlsec1's path) and with an SM2 one (sm2-sm3, the
 * gateway's own libxml2-c14n + EVP path, codec/xmlsig_sm2.c).
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

/* SM2, self-signed with ID 1234567812345678; its key was thrown away. */
static const char cert_sm2[] =
  "-----BEGIN CERTIFICATE-----\n"
  "MIIBhTCCASugAwIBAgIUMYcUvHJLB1ojiw6qXVlox1bXEf4wCgYIKoEcz1UBg3Uw\n"
  "GDEWMBQGA1UEAwwNZnV6ei1zbTItY2VydDAeFw0yNjEyMDcyMzExNThaFw0zNjEy\n"
  "MDQyMzExNThaMBgxFjAUBgNVBAMMDWZ1enotc20yLWNlcnQwWTATBgcqhkjOPQIB\n"
  "BggqgRzPVQGCLQNCAASgFpZpvKKVBaD9+TJd3pGyVUTM5pHAzoSGrvFbUvgeAoqS\n"
  "bRJLIWI8RtLzBi6d3VcJt0LpwFnSSq4dMk1GtNXeo1MwUTAdBgNVHQ4EFgQUBFwN\n"
  "h3l+h7sWJ5Unqaext07wILkwHwYDVR0jBBgwFoAUBFwNh3l+h7sWJ5Unqaext07w\n"
  "ILkwDwYDVR0TAQH/BAUwAwEB/zAKBggqgRzPVQGDdQNIADBFAiEAvwxMpKXlIdDe\n"
  "bNx2j5Ah+mZm325chN5GsgSSp3qJdbACIGYY+07yU6rpI8OvltG682hpeHpbCtkf\n"
  "xopdj7C7CRU4\n"
  "-----END CERTIFICATE-----\n";

static struct gw_xmlsig_verifier *verifier_sm2(void)
{
  static struct gw_xmlsig_verifier *v;
  char err[256];
  if(v)
    return v;
  v = gw_xmlsig_verifier_new_pem_alg(cert_sm2, sizeof(cert_sm2) - 1, "sm2-sm3", err, sizeof(err));
  if(!v)
    abort();
  return v;
}

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
  if(gw_xmlsig_verify(verifier_sm2(), doc, mapped, detail, sizeof(detail)) == GW_XMLSIG_OK)
    abort();
  xmlFreeDoc(doc);
  return 0;
}
