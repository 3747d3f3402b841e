/*
 * xmlsig_sm2.c - SM2-with-SM3 XML-DSig: canonicalize with libxml2, hash and
 * verify with OpenSSL EVP.
 *
 * China's e-port systems sign XML with SignatureMethod
 * "http://www.w3.org/2000/09/xmldsig#sm2-sm3" and DigestMethod
 * "http://www.w3.org/2000/09/xmldsig#sm3"; libxmlsec1 knows neither, so the
 * two XML-DSig computations are done here, the way the recommendation
 * defines them for a same-document "#id" reference:
 *  - the node-set is the referenced element's subtree without comments;
 *    the enveloped-signature transform removes the ds:Signature's subtree;
 *    the canonicalization named last (exclusive C14N with its
 *    InclusiveNamespaces PrefixList, or inclusive C14N 1.0, the default)
 *    turns it into octets, which SM3 hashes; the digest must equal
 *    DigestValue;
 *  - SignedInfo's subtree canonicalized by its CanonicalizationMethod is
 *    the message of the SM2 signature in SignatureValue.
 * libxml2's c14n takes a document subset as a visibility callback: a node
 * (an attribute or namespace node through the element that holds it) is
 * visible when it lies under the apex and not under the excluded element.
 * The octets are streamed into the hash, never held.  The SM2 verification
 * sets the distinguishing ID 1234567812345678 (gw/gm.h): OpenSSL's empty
 * default would refuse every signature a Chinese signer makes.
 *
 * SignatureValue is taken as raw r||s (64 bytes, the ECDSA convention of
 * XML-DSig 1.1 that the gateway's other SM2 formats use) or as the DER
 * SEQUENCE{r,s} that Java's SM3withSM2 emits; both carry the same (r, s).
 */
#include "xmlsig_sm2.h"

#include <string.h>

#include <libxml/c14n.h>
#include <libxml/xmlIO.h>
#include <openssl/crypto.h>

#include "gw/alloc.h"
#include "gw/gm.h"

#define EXC_C14N       "http://www.w3.org/2001/10/xml-exc-c14n#"
#define INC_C14N       "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
#define ENVELOPED      "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
#define SM2_PREFIXES_MAX 32          /* InclusiveNamespaces PrefixList tokens */
#define SM2_B64_MAX      512         /* DigestValue / SignatureValue text */

/* One canonicalization: mode and the exclusive form's PrefixList. */
struct c14n {
  int mode;                          /* XML_C14N_1_0 or XML_C14N_EXCLUSIVE_1_0 */
  xmlChar *prefixes[SM2_PREFIXES_MAX + 1];
  xmlChar *list;                     /* owns the tokens' storage */
};

struct subset {
  xmlNodePtr apex;
  xmlNodePtr drop;                   /* NULL: nothing removed */
};

static int visible(void *data, xmlNodePtr node, xmlNodePtr parent)
{
  const struct subset *s = data;
  /* namespace nodes (an xmlNs, whose `type` shares the offset) and
   * attributes belong to the element being written, given as parent */
  xmlNodePtr n = node->type == XML_NAMESPACE_DECL || node->type == XML_ATTRIBUTE_NODE
                 ? parent : node;
  for(; n; n = n->parent) {
    if(n == s->drop)
      return 0;
    if(n == s->apex)
      return 1;
  }
  return 0;
}

static void c14n_clear(struct c14n *c)
{
  xmlFree(c->list);
  memset(c, 0, sizeof(*c));
}

/* Reads the Algorithm of `method` (a CanonicalizationMethod or Transform
 * already allow-listed) into c.  0, or -1 when the PrefixList is too long. */
static int c14n_read(xmlNodePtr method, const xmlChar *alg, struct c14n *c)
{
  size_t n = 0;
  memset(c, 0, sizeof(*c));
  c->mode = !strcmp((const char *)alg, EXC_C14N) ? XML_C14N_EXCLUSIVE_1_0 : XML_C14N_1_0;
  if(c->mode != XML_C14N_EXCLUSIVE_1_0)
    return 0;
  for(xmlNodePtr k = method->children; k; k = k->next) {
    if(k->type != XML_ELEMENT_NODE || !k->ns || !k->ns->href ||
       strcmp((const char *)k->ns->href, EXC_C14N) ||
       strcmp((const char *)k->name, "InclusiveNamespaces"))
      continue;
    c->list = xmlGetProp(k, BAD_CAST "PrefixList");
    break;
  }
  for(xmlChar *p = c->list; p && *p;) {
    while(*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
      *p++ = '\0';
    if(!*p)
      break;
    if(n == SM2_PREFIXES_MAX)
      return -1;
    c->prefixes[n++] = p;
    while(*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
      p++;
  }
  return 0;
}

/* c14n output goes straight into an EVP_MD_CTX (digest or verify). */
struct sink {
  EVP_MD_CTX *md;
  int verify;                        /* EVP_DigestVerifyUpdate, else DigestUpdate */
  int failed;
};

static int sink_write(void *ctx, const char *buf, int len)
{
  struct sink *s = ctx;
  int ok;
  if(len < 0 || s->failed)
    return -1;
  ok = s->verify ? EVP_DigestVerifyUpdate(s->md, buf, (size_t)len)
                 : EVP_DigestUpdate(s->md, buf, (size_t)len);
  if(ok != 1) {
    s->failed = 1;
    return -1;
  }
  return len;
}

static int sink_close(void *ctx)
{
  (void)ctx;
  return 0;
}

/* Canonicalizes the subset into s.  0 or -1. */
static int canonicalize(xmlDocPtr doc, const struct subset *set, struct c14n *c,
                        struct sink *s)
{
  xmlOutputBufferPtr out = xmlOutputBufferCreateIO(sink_write, sink_close, s, NULL);
  int rc;
  if(!out)
    return -1;
  rc = xmlC14NExecute(doc, visible, (void *)set, c->mode,
                      c->prefixes[0] ? c->prefixes : NULL, 0, out);
  if(xmlOutputBufferClose(out) < 0)
    rc = -1;
  return rc < 0 || s->failed ? -1 : 0;
}

/* Standard base64 text of `n` (XML whitespace allowed, as in the schema's
 * base64Binary) into out[cap]; *len bytes.  0 or -1. */
static int b64_content(xmlNodePtr n, unsigned char *out, size_t cap, size_t *len)
{
  xmlChar *t = n ? xmlNodeGetContent(n) : NULL;
  size_t w = 0, i;
  int dl, rc = -1;
  if(!t)
    return -1;
  for(i = 0; t[i]; i++)
    if(t[i] != ' ' && t[i] != '\n' && t[i] != '\r' && t[i] != '\t')
      t[w++] = t[i];
  t[w] = '\0';
  if(!w || w % 4 || w > SM2_B64_MAX || (w / 4) * 3 > cap)
    goto out;
  dl = EVP_DecodeBlock(out, t, (int)w);
  if(dl < 0)
    goto out;
  if(t[w - 1] == '=')
    dl--;
  if(t[w - 2] == '=')
    dl--;
  *len = (size_t)dl;
  rc = 0;
out:
  xmlFree(t);
  return rc;
}

/* The Reference's transforms: [enveloped-signature] [one c14n]. */
static enum gw_xmlsig_result read_transforms(xmlNodePtr ref, int *enveloped,
                                             struct c14n *c, char *detail, size_t dlen)
{
  xmlNodePtr ts = gw_xmlsig_dsig_child(ref, "Transforms");
  int seen_c14n = 0;
  *enveloped = 0;
  memset(c, 0, sizeof(*c));
  c->mode = XML_C14N_1_0;            /* node-set to octets: C14N 1.0 */
  for(xmlNodePtr t = ts ? ts->children : NULL; t; t = t->next) {
    xmlChar *alg;
    if(t->type != XML_ELEMENT_NODE)
      continue;
    alg = xmlGetProp(t, BAD_CAST "Algorithm");
    if(alg && !strcmp((const char *)alg, ENVELOPED) && !*enveloped && !seen_c14n) {
      *enveloped = 1;
    }
    else if(alg && (!strcmp((const char *)alg, EXC_C14N) || !strcmp((const char *)alg, INC_C14N)) &&
            !seen_c14n) {
      seen_c14n = 1;
      c14n_clear(c);
      if(c14n_read(t, alg, c) < 0) {
        snprintf(detail, dlen, "InclusiveNamespaces lists more than %d prefixes",
                 SM2_PREFIXES_MAX);
        xmlFree(alg);
        return GW_XMLSIG_DISALLOWED_ALGORITHM;
      }
    }
    else {
      snprintf(detail, dlen, "transforms must be [enveloped-signature] then at most "
               "one canonicalization");
      xmlFree(alg);
      return GW_XMLSIG_DISALLOWED_ALGORITHM;
    }
    xmlFree(alg);
  }
  return GW_XMLSIG_OK;
}

static enum gw_xmlsig_result check_digest(xmlNodePtr sig, xmlNodePtr ref,
                                          xmlNodePtr referenced, char *detail, size_t dlen)
{
  unsigned char want[64], got[GW_GM_SM3_LEN];
  unsigned int got_len = 0;
  size_t want_len = 0;
  struct subset set = { referenced, NULL };
  struct sink s = { EVP_MD_CTX_new(), 0, 0 };
  struct c14n c;
  int enveloped;
  enum gw_xmlsig_result r = read_transforms(ref, &enveloped, &c, detail, dlen);

  if(r != GW_XMLSIG_OK)
    goto out;
  if(b64_content(gw_xmlsig_dsig_child(ref, "DigestValue"), want, sizeof(want), &want_len) < 0 ||
     want_len != GW_GM_SM3_LEN) {
    snprintf(detail, dlen, "DigestValue is not the base64 of a 32-byte SM3 digest");
    r = GW_XMLSIG_INVALID;
    goto out;
  }
  if(enveloped)
    set.drop = sig;
  if(!s.md || EVP_DigestInit_ex(s.md, EVP_sm3(), NULL) != 1 ||
     canonicalize(referenced->doc, &set, &c, &s) < 0 ||
     EVP_DigestFinal_ex(s.md, got, &got_len) != 1 || got_len != GW_GM_SM3_LEN) {
    snprintf(detail, dlen, "cannot canonicalize or hash the signed element");
    r = GW_XMLSIG_INTERNAL;
    goto out;
  }
  if(CRYPTO_memcmp(want, got, GW_GM_SM3_LEN)) {
    snprintf(detail, dlen, "the SM3 digest of the signed element does not match DigestValue");
    r = GW_XMLSIG_INVALID;
    goto out;
  }
  r = GW_XMLSIG_OK;
out:
  c14n_clear(&c);
  EVP_MD_CTX_free(s.md);
  return r;
}

static enum gw_xmlsig_result check_signature(EVP_PKEY *pub, const char *sm2_id,
                                             xmlNodePtr sig, char *detail, size_t dlen)
{
  xmlNodePtr si = gw_xmlsig_dsig_child(sig, "SignedInfo");
  xmlNodePtr cm = gw_xmlsig_dsig_child(si, "CanonicalizationMethod");
  xmlChar *alg = xmlGetProp(cm, BAD_CAST "Algorithm");
  unsigned char val[128], rs[GW_GM_SM2_SIG_LEN];
  size_t val_len = 0;
  struct subset set = { si, NULL };
  struct sink s = { NULL, 1, 0 };
  struct c14n c;
  enum gw_xmlsig_result r = GW_XMLSIG_INVALID;

  memset(&c, 0, sizeof(c));
  if(!alg) {                         /* xmlsig.c allow-listed it: cannot be */
    snprintf(detail, dlen, "SignedInfo has no CanonicalizationMethod");
    return GW_XMLSIG_DISALLOWED_ALGORITHM;
  }
  if(c14n_read(cm, alg, &c) < 0) {
    snprintf(detail, dlen, "InclusiveNamespaces lists more than %d prefixes",
             SM2_PREFIXES_MAX);
    r = GW_XMLSIG_DISALLOWED_ALGORITHM;
    goto out;
  }
  if(b64_content(gw_xmlsig_dsig_child(sig, "SignatureValue"), val, sizeof(val), &val_len) < 0 ||
     (val_len == GW_GM_SM2_SIG_LEN ? (memcpy(rs, val, sizeof(rs)), 0)
                                   : gw_gm_sig_der_to_raw(val, val_len, rs) != GW_GM_OK)) {
    snprintf(detail, dlen, "SignatureValue is neither a 64-byte r||s nor a DER SM2 signature");
    goto out;
  }
  if(!sm2_id)
    sm2_id = GW_GM_SM2_ID;
  s.md = gw_gm_sm2_md_ctx(pub, 0, sm2_id, strlen(sm2_id));
  if(!s.md || canonicalize(si->doc, &set, &c, &s) < 0) {
    snprintf(detail, dlen, "cannot canonicalize SignedInfo");
    r = GW_XMLSIG_INTERNAL;
    goto out;
  }
  if(gw_gm_sm2_verify_final(s.md, rs) != GW_GM_OK) {
    snprintf(detail, dlen, "the SM2 signature over SignedInfo does not verify with "
             "the agency's key");
    goto out;
  }
  r = GW_XMLSIG_OK;
out:
  xmlFree(alg);
  c14n_clear(&c);
  EVP_MD_CTX_free(s.md);
  return r;
}

enum gw_xmlsig_result gw_xmlsig_sm2_check(EVP_PKEY *pub, const char *sm2_id, xmlNodePtr sig,
                                          xmlNodePtr referenced,
                                          char *detail, size_t dlen)
{
  xmlNodePtr ref = gw_xmlsig_dsig_child(gw_xmlsig_dsig_child(sig, "SignedInfo"), "Reference");
  enum gw_xmlsig_result r;

  if(!pub || !sig || !referenced || !ref)
    return GW_XMLSIG_INTERNAL;
  /* the digest first: a changed answer is reported as such */
  r = check_digest(sig, ref, referenced, detail, dlen);
  if(r != GW_XMLSIG_OK)
    return r;
  return check_signature(pub, sm2_id, sig, detail, dlen);
}
