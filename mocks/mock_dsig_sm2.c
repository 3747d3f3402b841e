/*
 * mock_dsig_sm2.c - the SM2 half of the mocks' XML-DSig signer.
 *
 * mock_xml_dsig_sign() builds every signature from the same libxmlsec1
 * template; libxmlsec1 has neither SM2 nor SM3, so for an SM2 key it calls
 * the two functions here instead of xmlSecDSigCtxSign: the SM3 digest of
 * the element to sign, exclusive-canonicalized *before* the signature is
 * appended to it (which is what the enveloped-signature transform gives
 * back to a verifier), and then the filling of the appended template:
 * sm2-sm3 / sm3 Algorithm URIs (the ones China's e-port systems use),
 * DigestValue, the certificate, and SignatureValue = raw r||s of SM2 with
 * SM3 and the GM/T 0009 distinguishing ID 1234567812345678 over the
 * exclusive canonical SignedInfo.
 *
 * Like the rest of the mocks, independent of the gateway's code (its
 * verifier is codec/xmlsig_sm2.c): written separately, and checked against
 * Go's goxmldsig canonicalizer and gmsm in tests/gm/xmldsig_interop.sh.
 */
#include "mock_xml.h"

#include <stdlib.h>
#include <string.h>

#include <libxml/c14n.h>
#include <libxml/xmlIO.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/pem.h>

#define SM2_ID "1234567812345678"

struct apex {
  xmlNodePtr top;
};

/* In the subtree of `top` (attributes and namespace nodes through the
 * element that carries them, given as parent). */
static int under(void *data, xmlNodePtr node, xmlNodePtr parent)
{
  const struct apex *a = data;
  xmlNodePtr n = node->type == XML_NAMESPACE_DECL || node->type == XML_ATTRIBUTE_NODE
                 ? parent : node;
  for(; n; n = n->parent)
    if(n == a->top)
      return 1;
  return 0;
}

static int buf_write(void *ctx, const char *s, int len)
{
  struct mock_buf *b = ctx;
  mock_buf_add(b, s, (size_t)len);
  return mock_buf_failed(b) ? -1 : len;
}

static int buf_close(void *ctx)
{
  (void)ctx;
  return 0;
}

/* Exclusive C14N 1.0 without comments of the subtree of `top` into b. */
static int exc_c14n(xmlNodePtr top, struct mock_buf *b)
{
  struct apex a = { top };
  xmlOutputBufferPtr out = xmlOutputBufferCreateIO(buf_write, buf_close, b, NULL);
  int rc;

  if(!out)
    return -1;
  rc = xmlC14NExecute(top->doc, under, &a, XML_C14N_EXCLUSIVE_1_0, NULL, 0, out);
  if(xmlOutputBufferClose(out) < 0)
    rc = -1;
  return rc < 0 || mock_buf_failed(b) ? -1 : 0;
}

int mock_dsig_sm2_digest(xmlNodePtr node, unsigned char digest[32])
{
  struct mock_buf b;
  unsigned int n = 0;
  int rc = -1;

  mock_buf_init(&b, MOCK_XML_MAX_DOC * 2);
  if(exc_c14n(node, &b) == 0 &&
     EVP_Digest(b.data ? b.data : "", b.len, digest, &n, EVP_sm3(), NULL) == 1 && n == 32)
    rc = 0;
  mock_buf_free(&b);
  return rc;
}

static xmlNodePtr child(xmlNodePtr parent, const char *name)
{
  for(xmlNodePtr c = parent ? parent->children : NULL; c; c = c->next)
    if(c->type == XML_ELEMENT_NODE && !strcmp((const char *)c->name, name) &&
       c->ns && !strcmp((const char *)c->ns->href, MOCK_NS_DSIG))
      return c;
  return NULL;
}

/* Sets the text of `n` to the base64 of in[0..len). */
static int set_b64(xmlNodePtr n, const unsigned char *in, size_t len)
{
  char *text = malloc(4 * ((len + 2) / 3) + 1);
  int rc = -1;
  if(n && text && EVP_EncodeBlock((unsigned char *)text, in, (int)len) >= 0) {
    xmlNodeSetContent(n, BAD_CAST text);
    rc = 0;
  }
  free(text);
  return rc;
}

/* SM2 with SM3 and the standard ID over msg; raw r||s into rs. */
static int sm2_sign(EVP_PKEY *key, const char *msg, size_t len, unsigned char rs[64])
{
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  EVP_PKEY_CTX *pctx = NULL;           /* owned by md */
  unsigned char der[80];
  const unsigned char *dp = der;
  size_t der_len = sizeof(der);
  ECDSA_SIG *sig = NULL;
  const BIGNUM *r, *s;
  int rc = -1;

  /* the ID goes on before the data: Z is hashed with it */
  if(!md || EVP_DigestSignInit_ex(md, &pctx, "SM3", NULL, NULL, key, NULL) != 1 ||
     EVP_PKEY_CTX_set1_id(pctx, SM2_ID, 16) <= 0 ||
     EVP_DigestSign(md, der, &der_len, (const unsigned char *)msg, len) != 1)
    goto out;
  sig = d2i_ECDSA_SIG(NULL, &dp, (long)der_len);
  if(!sig)
    goto out;
  ECDSA_SIG_get0(sig, &r, &s);
  if(BN_bn2binpad(r, rs, 32) == 32 && BN_bn2binpad(s, rs + 32, 32) == 32)
    rc = 0;
out:
  ECDSA_SIG_free(sig);
  EVP_MD_CTX_free(md);
  return rc;
}

int mock_dsig_sm2_finish(xmlNodePtr sig, EVP_PKEY *key, X509 *cert,
                         const unsigned char digest[32])
{
  xmlNodePtr si = child(sig, "SignedInfo"), ref = child(si, "Reference");
  xmlNodePtr xc = child(child(child(sig, "KeyInfo"), "X509Data"), "X509Certificate");
  unsigned char *der = NULL, rs[64];
  struct mock_buf b;
  int der_len, rc = -1;

  mock_buf_init(&b, MOCK_XML_MAX_DOC);
  if(!ref || !xc ||
     !xmlSetProp(child(si, "SignatureMethod"), BAD_CAST "Algorithm",
                 BAD_CAST MOCK_DSIG_SM2_SM3) ||
     !xmlSetProp(child(ref, "DigestMethod"), BAD_CAST "Algorithm", BAD_CAST MOCK_DSIG_SM3) ||
     set_b64(child(ref, "DigestValue"), digest, 32) < 0)
    goto out;
  der_len = i2d_X509(cert, &der);
  if(der_len <= 0 || set_b64(xc, der, (size_t)der_len) < 0)
    goto out;
  if(exc_c14n(si, &b) < 0 || sm2_sign(key, b.data, b.len, rs) < 0 ||
     set_b64(child(sig, "SignatureValue"), rs, sizeof(rs)) < 0)
    goto out;
  rc = 0;
out:
  OPENSSL_free(der);
  mock_buf_free(&b);
  return rc;
}
