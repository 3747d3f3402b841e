/*
 * xmlsig.c - XML-DSig verification with signature-wrapping defences.
 *
 * The order matters: structure first (one signature, one reference, our
 * own duplicate-free ID table, the referenced node is the mapped node, only
 * allow-listed algorithms), cryptography last and only with the agency's
 * configured key.  libxmlsec1 is told the same allow-lists, so even if a
 * check here were wrong it would refuse a transform we did not expect.
 *
 * The algorithm belongs to the verifier, never to the document: an SM2
 * agency certificate accepts only sm2-sm3 over an sm3 digest (checked by
 * xmlsig_sm2.c, since libxmlsec1 has neither), any other certificate only
 * the international methods (or the one the adapter names), so a document
 * cannot talk the gateway into another algorithm than the agency's.
 */
#include "gw/xmlsig.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>
#include <libxml/valid.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/errors.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmltree.h>
#include <xmlsec/transforms.h>
#include <xmlsec/crypto.h>
#include <xmlsec/openssl/app.h>
#include <xmlsec/openssl/crypto.h>

#include "gw/alloc.h"
#include "gw/gm.h"
#include "gw/log.h"

#include "msg.h"
#include "xmlsig_sm2.h"

#define DSIG_NS "http://www.w3.org/2000/09/xmldsig#"
#define XMLSIG_MAX_IDS 4096            /* elements with an Id per document */

struct gw_xmlsig_verifier {
  xmlSecKeyPtr key;                    /* public key of the agency (not SM2) */
  X509 *cert;                          /* the agency's certificate */
  EVP_PKEY *sm2;                       /* the certificate's key when SM2, else NULL */
  char sm2_id[GW_GM_SM2_ID_MAX + 1];   /* its distinguishing ID; "": GM/T 0009's */
  const char *method;                  /* the one SignatureMethod accepted, or NULL:
                                        * any of allowed_sigmethods */
};

/* The names an adapter may give (verify.alg), their URIs and key types. */
static const struct {
  const char *name, *uri, *key;
} named_methods[] = {
  { "rsa-sha256",   "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",   "RSA" },
  { "rsa-sha512",   "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",   "RSA" },
  { "ecdsa-sha256", "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256", "EC" },
  { "sm2-sm3",      GW_XMLSIG_URI_SM2_SM3,                                 "SM2" },
};
static const char *const sm2_digests[] = { GW_XMLSIG_URI_SM3, NULL };

static const char *const allowed_c14n[] = {
  "http://www.w3.org/2001/10/xml-exc-c14n#",
  "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
  NULL
};
static const char *const allowed_sigmethods[] = {
  "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
  "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
  "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
  NULL
};
static const char *const allowed_transforms[] = {
  "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
  "http://www.w3.org/2001/10/xml-exc-c14n#",
  "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
  NULL
};
static const char *const allowed_digests[] = {
  "http://www.w3.org/2001/04/xmlenc#sha256",
  "http://www.w3.org/2001/04/xmlenc#sha512",
  NULL
};

const char *gw_xmlsig_result_name(enum gw_xmlsig_result r)
{
  switch(r) {
  case GW_XMLSIG_OK:                   return "ok";
  case GW_XMLSIG_NO_SIGNATURE:         return "no_signature";
  case GW_XMLSIG_MULTIPLE_SIGNATURES:  return "multiple_signatures";
  case GW_XMLSIG_DUPLICATE_ID:         return "duplicate_id";
  case GW_XMLSIG_BAD_REFERENCE:        return "bad_reference";
  case GW_XMLSIG_WRONG_NODE:           return "wrong_node";
  case GW_XMLSIG_DISALLOWED_ALGORITHM: return "disallowed_algorithm";
  case GW_XMLSIG_WRONG_SIGNER:         return "wrong_signer";
  case GW_XMLSIG_INVALID:              return "invalid";
  case GW_XMLSIG_INTERNAL:             return "internal";
  }
  return "unknown";
}

/* libxmlsec1 reports every failed check on stderr by default; the gateway's
 * stderr carries JSON log lines only, and a failed verification is reported
 * through the result, so its messages go to the debug log. */
static void quiet_errors(const char *file, int line, const char *func,
                         const char *obj, const char *subj, int reason, const char *msg)
{
  (void)file; (void)line;
  if(gw_log_enabled(GW_LOG_DEBUG))
    gw_log(GW_LOG_DEBUG, "xmlsec_error", "%s: %s: %s: reason %d: %s", func ? func : "-",
           obj ? obj : "-", subj ? subj : "-", reason, msg ? msg : "-");
}

int gw_xmlsig_global_init(void)
{
  xmlSecErrorsSetCallback(quiet_errors);
  if(xmlSecInit() < 0)
    return -1;
  if(xmlSecCheckVersion() != 1)
    return -1;
  if(xmlSecOpenSSLAppInit(NULL) < 0)
    return -1;
  if(xmlSecOpenSSLInit() < 0)
    return -1;
  return 0;
}

void gw_xmlsig_global_cleanup(void)
{
  xmlSecOpenSSLShutdown();
  xmlSecOpenSSLAppShutdown();
  xmlSecShutdown();
}

int gw_xmlsig_alg_known(const char *alg)
{
  for(size_t i = 0; alg && i < sizeof(named_methods) / sizeof(named_methods[0]); i++)
    if(!strcmp(alg, named_methods[i].name))
      return 1;
  return 0;
}

const char *gw_xmlsig_verifier_alg(const struct gw_xmlsig_verifier *v)
{
  for(size_t i = 0; v->method && i < sizeof(named_methods) / sizeof(named_methods[0]); i++)
    if(!strcmp(v->method, named_methods[i].uri))
      return named_methods[i].name;
  return "intl";
}

struct gw_xmlsig_verifier *gw_xmlsig_verifier_new_pem(const char *pem, size_t len,
                                                      char *err, size_t errlen)
{
  return gw_xmlsig_verifier_new_pem_alg(pem, len, NULL, err, errlen);
}

/* Fixes v->method from `alg` (NULL: follows the key) and checks that the
 * certificate's key can make that signature. */
static int choose_method(struct gw_xmlsig_verifier *v, const char *alg,
                         char *err, size_t errlen)
{
  EVP_PKEY *pk = X509_get0_pubkey(v->cert);
  const char *have = !pk ? "no" : gw_gm_is_sm2(pk) ? "SM2" : EVP_PKEY_is_a(pk, "RSA") ? "RSA"
                     : EVP_PKEY_is_a(pk, "EC") ? "EC" : "another";
  size_t i;

  if(!alg) {
    if(!strcmp(have, "SM2"))
      alg = "sm2-sm3";
    else
      return 0;                        /* the international allow-list */
  }
  for(i = 0; i < sizeof(named_methods) / sizeof(named_methods[0]); i++)
    if(!strcmp(alg, named_methods[i].name))
      break;
  if(i == sizeof(named_methods) / sizeof(named_methods[0])) {
    snprintf(err, errlen, "unknown signature algorithm \"%s\" (rsa-sha256, rsa-sha512, "
             "ecdsa-sha256, sm2-sm3)", alg);
    return -1;
  }
  if(strcmp(have, named_methods[i].key)) {
    snprintf(err, errlen, "the algorithm is %s but the certificate has %s %s key",
             alg, !strcmp(have, "RSA") || !strcmp(have, "EC") ? "an" : "a", have);
    return -1;
  }
  v->method = named_methods[i].uri;
  return 0;
}

struct gw_xmlsig_verifier *gw_xmlsig_verifier_new_pem_alg(const char *pem, size_t len,
                                                          const char *alg,
                                                          char *err, size_t errlen)
{
  struct gw_xmlsig_verifier *v = gw_calloc(1, sizeof(*v));
  BIO *bio = BIO_new_mem_buf(pem, (int)len);
  if(!bio || len > INT_MAX) {
    snprintf(err, errlen, "cannot read the certificate");
    goto fail;
  }
  v->cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
  if(!v->cert) {
    snprintf(err, errlen, "not a PEM X.509 certificate");
    goto fail;
  }
  if(choose_method(v, alg, err, errlen) < 0)
    goto fail;
  if(gw_gm_is_sm2(X509_get0_pubkey(v->cert))) {
    /* libxmlsec1 has no SM2: xmlsig_sm2.c verifies with the key itself */
    v->sm2 = X509_get_pubkey(v->cert);
    if(!v->sm2) {
      snprintf(err, errlen, "cannot read the certificate's SM2 key");
      goto fail;
    }
    BIO_free(bio);
    return v;
  }
  v->key = xmlSecOpenSSLAppKeyLoadMemory((const xmlSecByte *)pem, (xmlSecSize)len,
                                         xmlSecKeyDataFormatCertPem, NULL, NULL, NULL);
  if(!v->key) {
    snprintf(err, errlen, "libxmlsec1 cannot load the certificate's key");
    goto fail;
  }
  BIO_free(bio);
  return v;

fail:
  BIO_free(bio);
  gw_xmlsig_verifier_free(v);
  return NULL;
}

int gw_xmlsig_verifier_set_sm2_id(struct gw_xmlsig_verifier *v, const char *id)
{
  if(!v || !v->sm2 || !id || !gw_gm_sm2_id_ok(id, strlen(id)))
    return -1;
  memcpy(v->sm2_id, id, strlen(id) + 1);
  return 0;
}

struct gw_xmlsig_verifier *gw_xmlsig_verifier_new(const char *cert_pem,
                                                  char *err, size_t errlen)
{
  char buf[64 * 1024], reason[200];
  struct gw_xmlsig_verifier *v;
  size_t n;
  FILE *fp = fopen(cert_pem, "r");
  if(!fp) {
    snprintf(err, errlen, "%s: cannot open", cert_pem);
    return NULL;
  }
  n = fread(buf, 1, sizeof(buf), fp);
  fclose(fp);
  if(n == sizeof(buf)) {
    snprintf(err, errlen, "%s: larger than %zu bytes", cert_pem, sizeof(buf) - 1);
    return NULL;
  }
  v = gw_xmlsig_verifier_new_pem(buf, n, reason, sizeof(reason));
  if(!v)
    snprintf(err, errlen, "%s: %s", cert_pem, reason);
  return v;
}

void gw_xmlsig_verifier_free(struct gw_xmlsig_verifier *v)
{
  if(!v)
    return;
  if(v->key)
    xmlSecKeyDestroy(v->key);
  X509_free(v->cert);
  EVP_PKEY_free(v->sm2);
  gw_free(v);
}

static int in_list(const xmlChar *s, const char *const *list)
{
  if(!s)
    return 0;
  for(; *list; list++)
    if(!strcmp((const char *)s, *list))
      return 1;
  return 0;
}

int gw_xmlsig_is_dsig(const xmlNode *n, const char *name)
{
  return n && n->type == XML_ELEMENT_NODE && n->ns && n->ns->href &&
         !strcmp((const char *)n->ns->href, DSIG_NS) &&
         !strcmp((const char *)n->name, name);
}

xmlNodePtr gw_xmlsig_dsig_child(xmlNodePtr parent, const char *name)
{
  for(xmlNodePtr c = parent ? parent->children : NULL; c; c = c->next)
    if(gw_xmlsig_is_dsig(c, name))
      return c;
  return NULL;
}

static size_t dsig_count(xmlNodePtr parent, const char *name)
{
  size_t n = 0;
  for(xmlNodePtr c = parent ? parent->children : NULL; c; c = c->next)
    if(gw_xmlsig_is_dsig(c, name))
      n++;
  return n;
}

struct id_entry {
  xmlChar *value;
  xmlAttrPtr attr;
};

struct scan {
  xmlNodePtr signature;
  size_t signatures;
  struct id_entry ids[XMLSIG_MAX_IDS];
  size_t n_ids;
  int overflow;
};

static int is_id_attr(const xmlAttr *a)
{
  const char *n = (const char *)a->name;
  return !strcmp(n, "Id") || !strcmp(n, "ID") || !strcmp(n, "id");
}

/* Iterative walk: no recursion depth for an attacker to choose. */
static void scan_doc(xmlNodePtr root, struct scan *s)
{
  xmlNodePtr n = root;
  while(n) {
    if(n->type == XML_ELEMENT_NODE) {
      if(gw_xmlsig_is_dsig(n, "Signature")) {
        s->signatures++;
        s->signature = n;
      }
      for(xmlAttrPtr a = n->properties; a; a = a->next) {
        if(!is_id_attr(a))
          continue;
        if(s->n_ids == XMLSIG_MAX_IDS) {
          s->overflow = 1;
          continue;
        }
        s->ids[s->n_ids].value = xmlNodeListGetString(n->doc, a->children, 1);
        s->ids[s->n_ids].attr = a;
        s->n_ids++;
      }
    }
    if(n->children && n->type == XML_ELEMENT_NODE) {
      n = n->children;
      continue;
    }
    while(n && !n->next && n != root)
      n = n->parent;
    if(!n || n == root)
      break;
    n = n->next;
  }
}

static int id_cmp(const void *a, const void *b)
{
  const struct id_entry *x = a, *y = b;
  return strcmp(x->value ? (const char *)x->value : "", y->value ? (const char *)y->value : "");
}

/* Sorts the table; returns 1 if two elements share an Id value. */
static int ids_have_duplicates(struct scan *s)
{
  qsort(s->ids, s->n_ids, sizeof(s->ids[0]), id_cmp);
  for(size_t i = 1; i < s->n_ids; i++)
    if(!id_cmp(&s->ids[i - 1], &s->ids[i]))
      return 1;
  return 0;
}

static xmlAttrPtr find_id(struct scan *s, const char *id)
{
  for(size_t i = 0; i < s->n_ids; i++)
    if(s->ids[i].value && !strcmp((const char *)s->ids[i].value, id))
      return s->ids[i].attr;
  return NULL;
}

static void scan_free(struct scan *s)
{
  for(size_t i = 0; i < s->n_ids; i++)
    xmlFree(s->ids[i].value);
  gw_free(s);
}

/* The X509Certificate in KeyInfo, if any, must be the agency's. */
static enum gw_xmlsig_result check_keyinfo_cert(const struct gw_xmlsig_verifier *v,
                                                xmlNodePtr sig)
{
  xmlNodePtr ki = gw_xmlsig_dsig_child(sig, "KeyInfo");
  xmlNodePtr xd = gw_xmlsig_dsig_child(ki, "X509Data");
  xmlNodePtr xc = gw_xmlsig_dsig_child(xd, "X509Certificate");
  enum gw_xmlsig_result r = GW_XMLSIG_WRONG_SIGNER;
  xmlChar *b64;
  unsigned char *der = NULL;
  const unsigned char *p;
  X509 *c = NULL;
  int len;

  if(!xc)
    return GW_XMLSIG_OK;          /* nothing claimed; the key decides */
  b64 = xmlNodeGetContent(xc);
  if(!b64)
    return r;
  /* strip whitespace, then decode */
  {
    size_t w = 0;
    for(size_t i = 0; b64[i]; i++)
      if(b64[i] != ' ' && b64[i] != '\n' && b64[i] != '\r' && b64[i] != '\t')
        b64[w++] = b64[i];
    b64[w] = 0;
    der = gw_malloc(w + 4);
    len = EVP_DecodeBlock(der, b64, (int)w);
    if(len > 0)
      while(w && b64[--w] == '=')
        len--;
  }
  xmlFree(b64);
  if(len <= 0)
    goto out;
  p = der;
  c = d2i_X509(NULL, &p, len);
  if(c && !X509_cmp(c, v->cert))
    r = GW_XMLSIG_OK;

out:
  X509_free(c);
  gw_free(der);
  return r;
}

static enum gw_xmlsig_result check_signed_info(const struct gw_xmlsig_verifier *v,
                                               xmlNodePtr sig, const char **ref_id,
                                               char *detail, size_t dlen)
{
  xmlNodePtr si = gw_xmlsig_dsig_child(sig, "SignedInfo");
  xmlNodePtr ref, transforms, dm;
  xmlChar *alg, *uri;

  if(!si || !gw_xmlsig_dsig_child(sig, "SignatureValue")) {
    snprintf(detail, dlen, "signature has no SignedInfo or SignatureValue");
    return GW_XMLSIG_BAD_REFERENCE;
  }
  alg = xmlGetProp(gw_xmlsig_dsig_child(si, "CanonicalizationMethod"), BAD_CAST "Algorithm");
  if(!in_list(alg, allowed_c14n)) {
    snprintf(detail, dlen, "canonicalization not allowed");
    xmlFree(alg);
    return GW_XMLSIG_DISALLOWED_ALGORITHM;
  }
  xmlFree(alg);
  alg = xmlGetProp(gw_xmlsig_dsig_child(si, "SignatureMethod"), BAD_CAST "Algorithm");
  if(v->method ? !alg || strcmp((const char *)alg, v->method)
               : !in_list(alg, allowed_sigmethods)) {
    /* an SM2 answer to an RSA/ECDSA adapter and the other way round.  A
     * method we know is named as is; any other is the agency's text and may
     * hold an identity number, so it is echoed with its digits masked. */
    char echo[128];
    const char *shown = "(none)";
    if(alg)
      shown = in_list(alg, allowed_sigmethods) || !strcmp((const char *)alg, GW_XMLSIG_URI_SM2_SM3)
                ? (const char *)alg
                : gw_msg_echo((const char *)alg, strlen((const char *)alg), 80, echo, sizeof(echo));
    snprintf(detail, dlen, "signature method %.96s is not the agency's (%s)", shown,
             gw_xmlsig_verifier_alg(v));
    xmlFree(alg);
    return GW_XMLSIG_DISALLOWED_ALGORITHM;
  }
  xmlFree(alg);
  if(dsig_count(si, "Reference") != 1) {
    snprintf(detail, dlen, "exactly one Reference is required");
    return GW_XMLSIG_BAD_REFERENCE;
  }
  ref = gw_xmlsig_dsig_child(si, "Reference");
  transforms = gw_xmlsig_dsig_child(ref, "Transforms");
  for(xmlNodePtr t = transforms ? transforms->children : NULL; t; t = t->next) {
    if(t->type != XML_ELEMENT_NODE)
      continue;
    alg = gw_xmlsig_is_dsig(t, "Transform") ? xmlGetProp(t, BAD_CAST "Algorithm") : NULL;
    if(!in_list(alg, allowed_transforms)) {
      snprintf(detail, dlen, "transform not allowed");
      xmlFree(alg);
      return GW_XMLSIG_DISALLOWED_ALGORITHM;
    }
    xmlFree(alg);
  }
  dm = gw_xmlsig_dsig_child(ref, "DigestMethod");
  alg = xmlGetProp(dm, BAD_CAST "Algorithm");
  if(!in_list(alg, v->sm2 ? sm2_digests : allowed_digests)) {
    snprintf(detail, dlen, v->sm2 ? "digest method must be sm3 with sm2-sm3"
                                  : "digest method not allowed");
    xmlFree(alg);
    return GW_XMLSIG_DISALLOWED_ALGORITHM;
  }
  xmlFree(alg);
  uri = xmlGetProp(ref, BAD_CAST "URI");
  if(!uri || uri[0] != '#' || !uri[1] || strchr((const char *)uri + 1, '(')) {
    snprintf(detail, dlen, "Reference URI must be a same-document \"#id\"");
    xmlFree(uri);
    return GW_XMLSIG_BAD_REFERENCE;
  }
  *ref_id = gw_strdup((const char *)uri + 1);
  xmlFree(uri);
  return GW_XMLSIG_OK;
}

enum gw_xmlsig_result gw_xmlsig_verify(const struct gw_xmlsig_verifier *v,
                                       xmlDocPtr doc, xmlNodePtr mapped,
                                       char *detail, size_t dlen)
{
  struct scan *s = gw_calloc(1, sizeof(*s));
  enum gw_xmlsig_result r;
  xmlSecDSigCtxPtr ctx = NULL;
  const char *ref_id = NULL;
  xmlAttrPtr id_attr;

  detail[0] = '\0';
  if(!doc || !xmlDocGetRootElement(doc)) {
    r = GW_XMLSIG_NO_SIGNATURE;
    goto out;
  }
  scan_doc(xmlDocGetRootElement(doc), s);
  if(s->overflow) {
    snprintf(detail, dlen, "more than %d elements carry an Id", XMLSIG_MAX_IDS);
    r = GW_XMLSIG_BAD_REFERENCE;
    goto out;
  }
  if(!s->signatures) {
    snprintf(detail, dlen, "the response is not signed");
    r = GW_XMLSIG_NO_SIGNATURE;
    goto out;
  }
  if(s->signatures > 1) {
    snprintf(detail, dlen, "%zu signatures; exactly one is accepted", s->signatures);
    r = GW_XMLSIG_MULTIPLE_SIGNATURES;
    goto out;
  }
  if(ids_have_duplicates(s)) {
    snprintf(detail, dlen, "two elements share an Id value");
    r = GW_XMLSIG_DUPLICATE_ID;
    goto out;
  }
  r = check_signed_info(v, s->signature, &ref_id, detail, dlen);
  if(r != GW_XMLSIG_OK)
    goto out;
  id_attr = find_id(s, ref_id);
  if(!id_attr) {
    snprintf(detail, dlen, "the Reference points at no element");
    r = GW_XMLSIG_BAD_REFERENCE;
    goto out;
  }
  if(id_attr->parent != mapped) {
    snprintf(detail, dlen, "the signed element is not the element the facts are read from");
    r = GW_XMLSIG_WRONG_NODE;
    goto out;
  }
  r = check_keyinfo_cert(v, s->signature);
  if(r != GW_XMLSIG_OK) {
    snprintf(detail, dlen, "KeyInfo carries a certificate that is not the agency's");
    goto out;
  }
  /* Register exactly the referenced ID so libxmlsec1 resolves "#id" to the
   * node checked above (and to nothing an attacker declared). */
  if(!xmlGetID(doc, BAD_CAST ref_id) && !xmlAddID(NULL, doc, BAD_CAST ref_id, id_attr)) {
    snprintf(detail, dlen, "cannot register the reference id");
    r = GW_XMLSIG_INTERNAL;
    goto out;
  }
  if(xmlGetID(doc, BAD_CAST ref_id) != id_attr) {
    snprintf(detail, dlen, "the reference id is bound to another element");
    r = GW_XMLSIG_DUPLICATE_ID;
    goto out;
  }
  if(v->sm2) {
    r = gw_xmlsig_sm2_check(v->sm2, v->sm2_id[0] ? v->sm2_id : NULL, s->signature,
                            id_attr->parent, detail, dlen);
    goto out;
  }

  ctx = xmlSecDSigCtxCreate(NULL);
  if(!ctx) {
    r = GW_XMLSIG_INTERNAL;
    goto out;
  }
  ctx->signKey = xmlSecKeyDuplicate(v->key);
  /* signKey preset: KeyInfo is never used to find a key. */
  ctx->enabledReferenceUris = xmlSecTransformUriTypeSameDocument;
  if(!ctx->signKey ||
     xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformEnvelopedId) < 0 ||
     xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformExclC14NId) < 0 ||
     xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformInclC14NId) < 0 ||
     xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformSha256Id) < 0 ||
     xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformSha512Id) < 0 ||
     xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformExclC14NId) < 0 ||
     xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformInclC14NId) < 0 ||
     xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformRsaSha256Id) < 0 ||
     xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformRsaSha512Id) < 0 ||
     xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformEcdsaSha256Id) < 0) {
    r = GW_XMLSIG_INTERNAL;
    goto out;
  }
  if(xmlSecDSigCtxVerify(ctx, s->signature) < 0) {
    snprintf(detail, dlen, "the signature could not be processed");
    r = GW_XMLSIG_INVALID;
    goto out;
  }
  if(ctx->status != xmlSecDSigStatusSucceeded) {
    snprintf(detail, dlen, "digest or signature value does not verify with the agency's key");
    r = GW_XMLSIG_INVALID;
    goto out;
  }
  r = GW_XMLSIG_OK;

out:
  if(ctx)
    xmlSecDSigCtxDestroy(ctx);
  gw_free((void *)ref_id);
  scan_free(s);
  return r;
}
