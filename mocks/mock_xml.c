/*
 * mock_xml.c - shared builders, parsers and signers of the XML/JOSE mocks.
 *
 * The one idea: agencies write documents as text through one escaping,
 * capped builder (so what they emit is exactly what the schemas and the
 * tests see), and only turn text into a tree when a signature needs one.
 * Parsing what clients send is the mirror image: a capped body, no network,
 * no DTD (the parser is stopped the moment a DOCTYPE appears, before any
 * entity declaration is read), no entity substitution.
 *
 * Signing follows the two conventional shapes the gateway verifies: an
 * enveloped XML-DSig over an element referenced by Id (libxmlsec1), and an
 * ES256 compact JWS with the raw r||s signature (OpenSSL EVP).  A signature
 * per response is the mocks' most expensive step, so nothing in it is done
 * twice: the signer takes references to the caller's key and certificate
 * instead of copies (an X509_dup per response, which re-decodes the public
 * key through OpenSSL 3's decoders, cost six times the ECDSA signature).
 */
#include "mock_xml.h"
#include "gw/idnum.h"

#include <errno.h>
#include <iconv.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <libxml/parser.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/rand.h>
#include <xmlsec/crypto.h>
#include <xmlsec/openssl/evp.h>
#include <xmlsec/openssl/x509.h>
#include <xmlsec/templates.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmlsec.h>

/* ---- bounded text builder --------------------------------------------- */

void mock_buf_init(struct mock_buf *b, size_t limit)
{
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
  b->limit = limit;
  b->failed = 0;
}

void mock_buf_add(struct mock_buf *b, const char *s, size_t n)
{
  if(b->failed)
    return;
  if(n > b->limit || b->len > b->limit - n) {
    b->failed = 1;
    return;
  }
  if(b->len + n + 1 > b->cap) {
    size_t ncap = b->cap ? b->cap : 512;
    char *p;
    while(ncap < b->len + n + 1)
      ncap *= 2;
    p = realloc(b->data, ncap);
    if(!p) {
      b->failed = 1;
      return;
    }
    b->data = p;
    b->cap = ncap;
  }
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
}

void mock_buf_adds(struct mock_buf *b, const char *s)
{
  mock_buf_add(b, s, strlen(s));
}

void mock_buf_addf(struct mock_buf *b, const char *fmt, ...)
{
  char tmp[512];
  va_list ap;
  int n;

  va_start(ap, fmt);
  n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
  va_end(ap);
  if(n < 0 || (size_t)n >= sizeof(tmp)) {
    b->failed = 1;             /* only short, trusted formats come here */
    return;
  }
  mock_buf_add(b, tmp, (size_t)n);
}

/* Decodes one UTF-8 sequence at s[0..n).  Returns its length and the code
 * point, or 0 when the bytes are not valid UTF-8 (then one byte is bad). */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
  uint32_t c;
  size_t len, i;

  if(s[0] < 0x80) {
    *cp = s[0];
    return 1;
  }
  if(s[0] >= 0xc2 && s[0] <= 0xdf) {
    len = 2;
    c = s[0] & 0x1f;
  }
  else if(s[0] >= 0xe0 && s[0] <= 0xef) {
    len = 3;
    c = s[0] & 0x0f;
  }
  else if(s[0] >= 0xf0 && s[0] <= 0xf4) {
    len = 4;
    c = s[0] & 0x07;
  }
  else
    return 0;
  if(n < len)
    return 0;
  for(i = 1; i < len; i++) {
    if((s[i] & 0xc0) != 0x80)
      return 0;
    c = (c << 6) | (s[i] & 0x3f);
  }
  if((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)) ||
     (c >= 0xd800 && c <= 0xdfff))
    return 0;
  *cp = c;
  return len;
}

int mock_utf8_valid(const char *s, size_t n)
{
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  uint32_t cp;

  while(i < n) {
    size_t k = utf8_next(p + i, n - i, &cp);
    if(!k)
      return 0;
    i += k;
  }
  return 1;
}

/* The reference for an ASCII character that must not appear literally, ""
 * for one XML 1.0 forbids (dropped), NULL for one that stays as it is.
 * CR, LF and TAB become references so they survive attribute-value
 * normalization. */
static const char *xml_ref(uint32_t cp)
{
  static const char *const refs[] = {
    ['&'] = "&amp;", ['<'] = "&lt;", ['>'] = "&gt;", ['"'] = "&quot;",
    ['\''] = "&apos;", ['\r'] = "&#13;", ['\n'] = "&#10;", ['\t'] = "&#9;"
  };
  if(cp < sizeof(refs) / sizeof(refs[0]) && refs[cp])
    return refs[cp];
  return cp < 0x20 || cp == 0xfffe || cp == 0xffff ? "" : NULL;
}

void mock_buf_add_xml(struct mock_buf *b, const char *s)
{
  const unsigned char *p = (const unsigned char *)s;
  size_t n = strlen(s), i = 0, run = 0;
  uint32_t cp;

  while(i < n) {
    size_t k = utf8_next(p + i, n - i, &cp);
    /* U+FFFD for a byte that is not UTF-8 */
    const char *rep = k ? xml_ref(cp) : "\xef\xbf\xbd";

    k = k ? k : 1;
    if(rep) {
      mock_buf_add(b, (const char *)p + i - run, run);
      mock_buf_adds(b, rep);
      run = 0;
    }
    else
      run += k;
    i += k;
  }
  mock_buf_add(b, (const char *)p + i - run, run);
}

void mock_buf_add_elem(struct mock_buf *b, const char *qname, const char *text)
{
  mock_buf_adds(b, "<");
  mock_buf_adds(b, qname);
  mock_buf_adds(b, ">");
  mock_buf_add_xml(b, text);
  mock_buf_adds(b, "</");
  mock_buf_adds(b, qname);
  mock_buf_adds(b, ">");
}

int mock_buf_failed(const struct mock_buf *b)
{
  return b->failed;
}

void mock_buf_free(struct mock_buf *b)
{
  free(b->data);
  mock_buf_init(b, b->limit);
}

int mock_buf_respond(struct mock_buf *b, struct mock_response *resp, int status,
                     const char *content_type)
{
  if(b->failed || !b->data) {
    mock_buf_free(b);
    return -1;
  }
  free(resp->body);
  resp->status = status;
  snprintf(resp->content_type, sizeof(resp->content_type), "%s", content_type);
  resp->body = b->data;
  resp->body_len = b->len;
  b->data = NULL;
  mock_buf_free(b);
  return 0;
}

/* ---- SOAP ----------------------------------------------------------------- */

const char *mock_soap_content_type(enum mock_soap_version v)
{
  return v == MOCK_SOAP11 ? "text/xml; charset=utf-8"
                          : "application/soap+xml; charset=utf-8";
}

void mock_soap_open(struct mock_buf *b, enum mock_soap_version v, const char *body_id)
{
  const char *p = v == MOCK_SOAP11 ? "soap" : "env";

  mock_buf_addf(b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<%s:Envelope xmlns:%s=\"%s\"",
                p, p, v == MOCK_SOAP11 ? MOCK_NS_SOAP11 : MOCK_NS_SOAP12);
  if(body_id) {
    mock_buf_adds(b, " xmlns:wsu=\"" MOCK_NS_WSU "\"");
    mock_buf_addf(b, "><%s:Body wsu:Id=\"", p);
    mock_buf_add_xml(b, body_id);
    mock_buf_adds(b, "\">");
  }
  else
    mock_buf_addf(b, "><%s:Body>", p);
}

void mock_soap_close(struct mock_buf *b, enum mock_soap_version v)
{
  const char *p = v == MOCK_SOAP11 ? "soap" : "env";
  mock_buf_addf(b, "</%s:Body></%s:Envelope>\n", p, p);
}

/* The detail declares its own namespace so it can be cut out and checked
 * against the agency schema alone. */
static void fault_detail(struct mock_buf *b, const struct mock_soap_fault *f)
{
  mock_buf_addf(b, "<%s:error xmlns:%s=\"", f->ns_prefix, f->ns_prefix);
  mock_buf_add_xml(b, f->ns);
  mock_buf_addf(b, "\"><%s:code>", f->ns_prefix);
  mock_buf_add_xml(b, f->detail_code);
  mock_buf_addf(b, "</%s:code><%s:message>", f->ns_prefix, f->ns_prefix);
  mock_buf_add_xml(b, f->reason);
  mock_buf_addf(b, "</%s:message>", f->ns_prefix);
  if(f->reason_zh) {
    mock_buf_addf(b, "<%s:messageZh>", f->ns_prefix);
    mock_buf_add_xml(b, f->reason_zh);
    mock_buf_addf(b, "</%s:messageZh>", f->ns_prefix);
  }
  mock_buf_addf(b, "</%s:error>", f->ns_prefix);
}

int mock_soap_fault_respond(struct mock_response *resp, enum mock_soap_version v,
                            const struct mock_soap_fault *f, int status)
{
  static const char *const codes11[] = { "Client", "Server", "VersionMismatch" };
  static const char *const codes12[] = { "Sender", "Receiver", "VersionMismatch" };
  struct mock_buf b;

  mock_buf_init(&b, MOCK_XML_MAX_DOC);
  mock_soap_open(&b, v, NULL);
  if(v == MOCK_SOAP11) {
    mock_buf_addf(&b, "<soap:Fault><faultcode>soap:%s</faultcode><faultstring>",
                  codes11[f->code]);
    mock_buf_add_xml(&b, f->reason);
    mock_buf_adds(&b, "</faultstring><detail>");
    fault_detail(&b, f);
    mock_buf_adds(&b, "</detail></soap:Fault>");
    if(!status)
      status = 500;
  }
  else {
    mock_buf_addf(&b, "<env:Fault xmlns:%s=\"", f->ns_prefix);
    mock_buf_add_xml(&b, f->ns);
    mock_buf_addf(&b, "\"><env:Code><env:Value>env:%s</env:Value>"
                  "<env:Subcode><env:Value>%s:", codes12[f->code], f->ns_prefix);
    mock_buf_add_xml(&b, f->detail_code);
    mock_buf_adds(&b, "</env:Value></env:Subcode></env:Code>"
                  "<env:Reason><env:Text xml:lang=\"en\">");
    mock_buf_add_xml(&b, f->reason);
    mock_buf_adds(&b, "</env:Text>");
    if(f->reason_zh) {
      mock_buf_adds(&b, "<env:Text xml:lang=\"zh-CN\">");
      mock_buf_add_xml(&b, f->reason_zh);
      mock_buf_adds(&b, "</env:Text>");
    }
    mock_buf_adds(&b, "</env:Reason><env:Detail>");
    fault_detail(&b, f);
    mock_buf_adds(&b, "</env:Detail></env:Fault>");
    if(!status)
      status = f->code == MOCK_SOAP_SENDER ? 400 : 500;
  }
  mock_soap_close(&b, v);
  return mock_buf_respond(&b, resp, status, mock_soap_content_type(v));
}

/* ---- parsing ---------------------------------------------------------------- */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_result = -1;

static void init_libs(void)
{
  xmlInitParser();
  if(xmlSecInit() < 0)
    return;
  if(xmlSecCheckVersion() != 1 || xmlSecCryptoAppInit(NULL) < 0 || xmlSecCryptoInit() < 0)
    return;
  init_result = 0;
}

int mock_xml_init(void)
{
  if(pthread_once(&init_once, init_libs) != 0)
    return -1;
  return init_result;
}

void mock_xml_cleanup(void)
{
  if(init_result == 0) {
    xmlSecCryptoShutdown();
    xmlSecCryptoAppShutdown();
    xmlSecShutdown();
    init_result = -1;
  }
}

static int dtd_seen_marker;

/* SAX internalSubset: called once the DOCTYPE's name is read and before its
 * internal subset is parsed, so stopping here means no entity declaration
 * (and no expansion bomb) is ever looked at. */
static void refuse_doctype(void *ctx, const xmlChar *name, const xmlChar *ext_id,
                           const xmlChar *sys_id)
{
  xmlParserCtxtPtr ctxt = ctx;
  (void)name; (void)ext_id; (void)sys_id;
  ctxt->_private = &dtd_seen_marker;
  xmlStopParser(ctxt);
}

enum mock_parse mock_xml_parse(const char *body, size_t len, xmlDocPtr *doc)
{
  xmlParserCtxtPtr ctxt;
  xmlDocPtr d;
  enum mock_parse r = MOCK_PARSE_NOT_WELL_FORMED;

  *doc = NULL;
  if(len > MOCK_XML_MAX_REQUEST)
    return MOCK_PARSE_TOO_BIG;
  if(len == 0 || !body)
    return MOCK_PARSE_NOT_WELL_FORMED;
  if(mock_xml_init() < 0)
    return MOCK_PARSE_NOMEM;
  ctxt = xmlNewParserCtxt();
  if(!ctxt)
    return MOCK_PARSE_NOMEM;
  ctxt->sax->internalSubset = refuse_doctype;
  d = xmlCtxtReadMemory(ctxt, body, (int)len, "request.xml", NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  if(ctxt->_private == &dtd_seen_marker) {
    r = MOCK_PARSE_DTD;
    goto out;
  }
  if(!d || !ctxt->wellFormed || !xmlDocGetRootElement(d))
    goto out;
  *doc = d;
  d = NULL;
  r = MOCK_PARSE_OK;
out:
  if(d)
    xmlFreeDoc(d);
  xmlFreeParserCtxt(ctxt);
  return r;
}

static int node_is(xmlNodePtr n, const char *ns, const char *name)
{
  return n && n->type == XML_ELEMENT_NODE && n->ns &&
         strcmp((const char *)n->ns->href, ns) == 0 &&
         strcmp((const char *)n->name, name) == 0;
}

static xmlNodePtr first_element(xmlNodePtr n)
{
  for(; n; n = n->next)
    if(n->type == XML_ELEMENT_NODE)
      return n;
  return NULL;
}

enum mock_parse mock_soap_payload(xmlDocPtr doc, enum mock_soap_version v,
                                  xmlNodePtr *payload)
{
  const char *want = v == MOCK_SOAP11 ? MOCK_NS_SOAP11 : MOCK_NS_SOAP12;
  const char *other = v == MOCK_SOAP11 ? MOCK_NS_SOAP12 : MOCK_NS_SOAP11;
  xmlNodePtr root = xmlDocGetRootElement(doc), n;

  *payload = NULL;
  if(node_is(root, other, "Envelope"))
    return MOCK_PARSE_VERSION_MISMATCH;
  if(!node_is(root, want, "Envelope"))
    return MOCK_PARSE_NOT_ENVELOPE;
  n = first_element(root->children);
  if(node_is(n, want, "Header"))
    n = first_element(n->next);
  if(!node_is(n, want, "Body"))
    return MOCK_PARSE_NO_PAYLOAD;
  *payload = first_element(n->children);
  return *payload ? MOCK_PARSE_OK : MOCK_PARSE_NO_PAYLOAD;
}

const char *mock_parse_strerror(enum mock_parse r)
{
  switch(r) {
  case MOCK_PARSE_OK: return "ok";
  case MOCK_PARSE_TOO_BIG: return "request body too large";
  case MOCK_PARSE_NOT_WELL_FORMED: return "request is not well-formed XML";
  case MOCK_PARSE_DTD: return "DOCTYPE declarations are not accepted";
  case MOCK_PARSE_NOT_ENVELOPE: return "request is not a SOAP envelope";
  case MOCK_PARSE_VERSION_MISMATCH: return "wrong SOAP envelope version";
  case MOCK_PARSE_NO_PAYLOAD: return "SOAP Body is missing or empty";
  case MOCK_PARSE_NOMEM: return "out of memory";
  }
  return "unknown parse error";
}

static int xml_space(int c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

enum mock_field mock_xml_field(xmlNodePtr parent, const char *ns, const char *name,
                               char *out, size_t cap)
{
  xmlNodePtr n;
  xmlChar *text;
  const char *s;
  size_t len;
  enum mock_field r = MOCK_FIELD_ABSENT;

  out[0] = '\0';
  for(n = parent ? parent->children : NULL; n; n = n->next)
    if(node_is(n, ns, name))
      break;
  if(!n)
    return MOCK_FIELD_ABSENT;
  text = xmlNodeGetContent(n);
  if(!text)
    return MOCK_FIELD_ABSENT;
  s = (const char *)text;
  while(xml_space(*s))
    s++;
  len = strlen(s);
  while(len && xml_space(s[len - 1]))
    len--;
  if(len >= cap)
    r = MOCK_FIELD_TOO_LONG;
  else if(len) {
    memcpy(out, s, len);
    out[len] = '\0';
    r = MOCK_FIELD_OK;
  }
  xmlFree(text);
  return r;
}

static int valid_request_id(const char *s)
{
  if(!*s)
    return 0;
  for(; *s; s++)
    if(!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
         (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' || *s == '-'))
      return 0;
  return 1;
}

enum mock_subject_err mock_xml_read_subject(xmlNodePtr payload, const char *ns,
                                            struct mock_subject_query *q,
                                            const char **why)
{
  char raw[32];               /* longer than any identity number */
  enum gw_idnum_result ir;

  memset(q, 0, sizeof(*q));
  if(mock_xml_field(payload, ns, "idNumber", raw, sizeof(raw)) != MOCK_FIELD_OK) {
    *why = "idNumber is missing or too long";
    return MOCK_SUBJECT_BAD_ID;
  }
  ir = gw_idnum_normalize(raw, q->id, 0);
  if(ir != GW_IDNUM_OK) {
    *why = gw_idnum_strerror(ir);
    return MOCK_SUBJECT_BAD_ID;
  }
  if(mock_xml_field(payload, ns, "name", q->name, sizeof(q->name)) != MOCK_FIELD_OK) {
    *why = "name is missing or too long";
    return MOCK_SUBJECT_BAD_FIELD;
  }
  switch(mock_xml_field(payload, ns, "requestId", q->request_id, sizeof(q->request_id))) {
  case MOCK_FIELD_ABSENT:
    return MOCK_SUBJECT_OK;
  case MOCK_FIELD_OK:
    if(valid_request_id(q->request_id))
      return MOCK_SUBJECT_OK;
    break;
  case MOCK_FIELD_TOO_LONG:
    break;
  }
  *why = "requestId must be 1-64 of A-Z a-z 0-9 . _ -";
  return MOCK_SUBJECT_BAD_FIELD;
}

int mock_soap_action_ok(const char *action, const char *want)
{
  size_t n;

  if(!action)
    return 1;
  n = strlen(action);
  if(n >= 2 && action[0] == '"' && action[n - 1] == '"') {
    action++;
    n -= 2;
  }
  return n == 0 || (n == strlen(want) && memcmp(action, want, n) == 0);
}

int mock_media_type_is(const char *ctype, const char *want)
{
  size_t n = strlen(want);

  if(!ctype)
    return 0;
  while(*ctype == ' ' || *ctype == '\t')
    ctype++;
  if(strncasecmp(ctype, want, n) != 0)
    return 0;
  return ctype[n] == '\0' || ctype[n] == ';' || ctype[n] == ' ' || ctype[n] == '\t';
}

int mock_media_type_param(const char *ctype, const char *name, char *out, size_t cap)
{
  size_t nlen = strlen(name);
  const char *p = ctype ? strchr(ctype, ';') : NULL;

  while(p) {
    const char *v, *end;
    size_t len;
    p++;
    while(*p == ' ' || *p == '\t')
      p++;
    if(strncasecmp(p, name, nlen) != 0 || p[nlen] != '=') {
      p = strchr(p, ';');
      continue;
    }
    v = p + nlen + 1;
    if(*v == '"') {
      v++;
      end = strchr(v, '"');
      if(!end)
        return -1;
    }
    else {
      end = v;
      while(*end && *end != ';' && *end != ' ' && *end != '\t')
        end++;
    }
    len = (size_t)(end - v);
    if(len >= cap)
      return -1;
    memcpy(out, v, len);
    out[len] = '\0';
    return 0;
  }
  return -1;
}

/* ---- XML-DSig ------------------------------------------------------------------ */

/* 1 for an EC key on P-256 (what ES256 and ecdsa-sha256 sign with). */
static int is_p256(EVP_PKEY *key)
{
  char group[32];
  size_t glen = 0;

  if(!key || !EVP_PKEY_is_a(key, "EC"))
    return 0;
  if(EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                    sizeof(group), &glen) != 1)
    return 0;
  return strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0;
}

/* The SignatureMethod for `key`: rsa-sha256 for RSA, ecdsa-sha256 for P-256,
 * NULL (refused) for anything else.  An SM2 key gets ecdsa-sha256 as the
 * template's placeholder: mock_dsig_sm2_finish() rewrites it to sm2-sm3. */
static xmlSecTransformId sign_method(EVP_PKEY *key)
{
  if(EVP_PKEY_is_a(key, "RSA"))
    return xmlSecTransformRsaSha256Id;
  if(is_p256(key) || EVP_PKEY_is_a(key, "SM2"))
    return xmlSecTransformEcdsaSha256Id;
  return NULL;
}

/* An xmlsec key over `pkey` with `cert` for KeyInfo, both referenced (up_ref),
 * never copied: the pair is shared read-only by every signature. */
static xmlSecKeyPtr make_sign_key(EVP_PKEY *pkey, X509 *cert)
{
  xmlSecKeyPtr key = NULL;
  xmlSecKeyDataPtr value = NULL, x509;
  X509 *ref = NULL;

  if(EVP_PKEY_up_ref(pkey) != 1)
    goto fail;
  value = xmlSecOpenSSLEvpKeyAdopt(pkey);
  if(!value) {
    EVP_PKEY_free(pkey);
    goto fail;
  }
  key = xmlSecKeyCreate();
  if(!key || xmlSecKeySetValue(key, value) < 0)
    goto fail;
  value = NULL;                /* owned by key now */
  x509 = xmlSecKeyEnsureData(key, xmlSecOpenSSLKeyDataX509Id);
  if(!x509 || X509_up_ref(cert) != 1)
    goto fail;
  ref = cert;
  if(xmlSecOpenSSLKeyDataX509AdoptCert(x509, ref) < 0)
    goto fail;
  return key;
fail:
  X509_free(ref);
  if(value)
    xmlSecKeyDataDestroy(value);
  if(key)
    xmlSecKeyDestroy(key);
  return NULL;
}

static xmlAttrPtr find_id_attr(xmlNodePtr node, const char *id)
{
  for(xmlAttrPtr a = node->properties; a; a = a->next) {
    xmlChar *v;
    int match;
    if(strcmp((const char *)a->name, "Id") != 0)
      continue;
    v = xmlNodeListGetString(node->doc, a->children, 1);
    match = v && strcmp((const char *)v, id) == 0;
    xmlFree(v);
    if(match)
      return a;
  }
  return NULL;
}

int mock_xml_dsig_sign(xmlDocPtr doc, xmlNodePtr node, const char *id,
                       EVP_PKEY *key, X509 *cert)
{
  xmlSecDSigCtxPtr dsig = NULL;
  xmlSecKeyPtr skey = NULL;
  xmlNodePtr sig = NULL, ref, ki, x509;
  xmlAttrPtr attr;
  xmlSecTransformId method;
  char uri[MOCK_XML_MAX_FIELD + 2];
  unsigned char sm3[32];
  int rc = -1, sm2;

  if(mock_xml_init() < 0 || !key || !cert)
    return -1;
  /* SM2: the digest of the node before the signature is appended to it */
  sm2 = EVP_PKEY_is_a(key, "SM2");
  if(sm2 && mock_dsig_sm2_digest(node, sm3) < 0)
    return -1;
  method = sign_method(key);
  if(!method)
    return -1;
  attr = find_id_attr(node, id);
  if(!attr || snprintf(uri, sizeof(uri), "#%s", id) >= (int)sizeof(uri))
    return -1;
  if(xmlGetID(doc, BAD_CAST id) != attr && !xmlAddID(NULL, doc, BAD_CAST id, attr))
    return -1;

  sig = xmlSecTmplSignatureCreateNsPref(doc, xmlSecTransformExclC14NId, method, NULL,
                                        BAD_CAST "ds");
  if(!sig)
    goto out;
  if(!xmlAddChild(node, sig)) {
    xmlFreeNode(sig);
    goto out;
  }
  ref = xmlSecTmplSignatureAddReference(sig, xmlSecTransformSha256Id, NULL,
                                        BAD_CAST uri, NULL);
  if(!ref || !xmlSecTmplReferenceAddTransform(ref, xmlSecTransformEnvelopedId) ||
     !xmlSecTmplReferenceAddTransform(ref, xmlSecTransformExclC14NId))
    goto out;
  ki = xmlSecTmplSignatureEnsureKeyInfo(sig, NULL);
  x509 = ki ? xmlSecTmplKeyInfoAddX509Data(ki) : NULL;
  if(!x509 || !xmlSecTmplX509DataAddCertificate(x509))
    goto out;
  if(sm2) {                    /* libxmlsec1 has no SM2: filled by hand */
    rc = mock_dsig_sm2_finish(sig, key, cert, sm3);
    goto out;
  }

  skey = make_sign_key(key, cert);
  dsig = xmlSecDSigCtxCreate(NULL);
  if(!skey || !dsig)
    goto out;
  dsig->signKey = skey;
  skey = NULL;                 /* destroyed with the context */
  if(xmlSecDSigCtxSign(dsig, sig) < 0)
    goto out;
  rc = 0;
out:
  if(dsig)
    xmlSecDSigCtxDestroy(dsig);
  if(skey)
    xmlSecKeyDestroy(skey);
  return rc;
}

int mock_xml_dump(xmlDocPtr doc, char **out, size_t *out_len)
{
  xmlChar *mem = NULL;
  int size = 0;

  *out = NULL;
  xmlDocDumpMemoryEnc(doc, &mem, &size, "UTF-8");
  if(!mem || size <= 0 || (size_t)size > MOCK_XML_MAX_DOC) {
    xmlFree(mem);
    return -1;
  }
  *out = malloc((size_t)size + 1);
  if(*out) {
    memcpy(*out, mem, (size_t)size);
    (*out)[size] = '\0';
    *out_len = (size_t)size;
  }
  xmlFree(mem);
  return *out ? 0 : -1;
}

/* ---- hostile documents ----------------------------------------------------------- */

static size_t after_declaration(const char *doc, size_t len)
{
  if(len >= 5 && memcmp(doc, "<?xml", 5) == 0) {
    for(size_t i = 5; i + 1 < len; i++)
      if(doc[i] == '?' && doc[i + 1] == '>')
        return i + 2;
  }
  return 0;
}

int mock_xml_attack(const char *doc, size_t len, const char *root_qname,
                    const char *const *targets, enum mock_xml_attack a,
                    char **out, size_t *out_len)
{
  struct mock_buf b;
  size_t decl = after_declaration(doc, len), start = 0, end = 0;
  const char *ref;

  *out = NULL;
  for(; *targets && !end; targets++) {
    char open[80];
    const char *hit;
    int n = snprintf(open, sizeof(open), "<%s>", *targets);
    if(n < 0 || (size_t)n >= sizeof(open))
      return -1;
    hit = memmem(doc, len, open, (size_t)n);
    if(!hit)
      continue;
    start = (size_t)(hit - doc) + (size_t)n;
    end = start;
    while(end < len && doc[end] != '<')
      end++;
  }
  if(!end)
    return -1;

  mock_buf_init(&b, MOCK_XML_MAX_DOC);
  mock_buf_add(&b, doc, decl);
  mock_buf_addf(&b, "\n<!DOCTYPE %s [\n", root_qname);
  if(a == MOCK_ATTACK_XXE) {
    mock_buf_adds(&b, "  <!ENTITY xxe SYSTEM \"file:///etc/passwd\">\n");
    ref = "&xxe;";
  }
  else {
    mock_buf_adds(&b, "  <!ENTITY lol \"lol\">\n");
    for(int i = 1; i <= 9; i++) {
      mock_buf_addf(&b, "  <!ENTITY lol%d \"", i);
      for(int j = 0; j < 10; j++) {
        if(i == 1)
          mock_buf_adds(&b, "&lol;");
        else
          mock_buf_addf(&b, "&lol%d;", i - 1);
      }
      mock_buf_adds(&b, "\">\n");
    }
    ref = "&lol9;";
  }
  mock_buf_adds(&b, "]>");
  mock_buf_add(&b, doc + decl, start - decl);
  mock_buf_adds(&b, ref);
  mock_buf_add(&b, doc + end, len - end);
  if(mock_buf_failed(&b)) {
    mock_buf_free(&b);
    return -1;
  }
  *out = b.data;
  *out_len = b.len;
  return 0;
}

int mock_buf_xml_fault(struct mock_buf *b, enum mock_content_fault cf, const char *root_qname,
                       const char *const *targets)
{
  char *bent = NULL;
  size_t blen = 0;
  int rc;

  switch(cf) {
  case MOCK_CF_MALFORMED:
    rc = mock_xml_break(b->data, b->len, &bent, &blen);
    break;
  case MOCK_CF_XXE:
    rc = mock_xml_attack(b->data, b->len, root_qname, targets, MOCK_ATTACK_XXE, &bent, &blen);
    break;
  case MOCK_CF_BILLION_LAUGHS:
    rc = mock_xml_attack(b->data, b->len, root_qname, targets, MOCK_ATTACK_BILLION_LAUGHS,
                         &bent, &blen);
    break;
  default:
    return 0;
  }
  if(rc < 0) {
    free(bent);
    return -1;
  }
  if(bent) {
    free(b->data);
    b->data = bent;
    b->len = blen;
  }
  return 0;
}

int mock_xml_break(const char *doc, size_t len, char **out, size_t *out_len)
{
  struct mock_buf b;
  size_t decl = after_declaration(doc, len), cut = len * 2 / 3;

  *out = NULL;
  while(cut > decl && doc[cut] != '<')
    cut--;
  mock_buf_init(&b, MOCK_XML_MAX_DOC);
  mock_buf_add(&b, doc, cut);
  mock_buf_adds(&b, "<broken attr=\"unterminated></mismatched>\n");
  if(mock_buf_failed(&b)) {
    mock_buf_free(&b);
    return -1;
  }
  *out = b.data;
  *out_len = b.len;
  return 0;
}

/* ---- JOSE ---------------------------------------------------------------------------- */

static const char b64url_alphabet[] =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int mock_b64url_encode(const unsigned char *in, size_t len, char **out)
{
  uint32_t acc = 0;
  size_t o = 0;
  int bits = 0;
  char *s;

  *out = NULL;
  s = len > MOCK_XML_MAX_DOC ? NULL : malloc(len / 3 * 4 + 4 + 1);
  if(!s)
    return -1;
  for(size_t i = 0; i < len; i++) {
    acc = (acc << 8) | in[i];
    for(bits += 8; bits >= 6; bits -= 6)
      s[o++] = b64url_alphabet[(acc >> (bits - 6)) & 63];
    acc &= (1u << bits) - 1;
  }
  if(bits)                     /* the last bits, zero-padded, no '=' */
    s[o++] = b64url_alphabet[(acc << (6 - bits)) & 63];
  s[o] = '\0';
  *out = s;
  return 0;
}

static int b64url_value(char c)
{
  const char *p = c ? strchr(b64url_alphabet, c) : NULL;
  return p ? (int)(p - b64url_alphabet) : -1;
}

int mock_b64url_decode(const char *in, size_t len, unsigned char **out, size_t *out_len)
{
  unsigned char *d;
  uint32_t acc = 0;
  size_t o = 0;
  int bits = 0;

  *out = NULL;
  if(len % 4 == 1 || len > MOCK_XML_MAX_DOC * 2)
    return -1;
  d = malloc(len / 4 * 3 + 3 + 1);
  if(!d)
    return -1;
  for(size_t i = 0; i < len; i++) {
    int v = b64url_value(in[i]);
    if(v < 0) {
      free(d);
      return -1;
    }
    acc = (acc << 6) | (uint32_t)v;
    bits += 6;
    if(bits >= 8) {
      bits -= 8;
      d[o++] = (unsigned char)(acc >> bits);
      acc &= (1u << bits) - 1;
    }
  }
  if(acc != 0) {               /* unused trailing bits must be zero */
    free(d);
    return -1;
  }
  d[o] = '\0';
  *out = d;
  *out_len = o;
  return 0;
}

int mock_jws_es256(EVP_PKEY *key, const char *kid, const char *payload, size_t len,
                   char **out)
{
  json_t *hdr = NULL;
  char *hdr_json = NULL, *h64 = NULL, *p64 = NULL, *s64 = NULL;
  EVP_MD_CTX *md = NULL;
  ECDSA_SIG *sig = NULL;
  unsigned char der[80], raw[64];
  const unsigned char *dp = der;
  const BIGNUM *r, *s;
  size_t der_len = sizeof(der);
  struct mock_buf b;           /* the signing input, then the whole JWS */
  EVP_PKEY_CTX *pctx = NULL;   /* owned by md */
  int rc = -1, sm2;

  *out = NULL;
  mock_buf_init(&b, MOCK_XML_MAX_DOC * 2);
  sm2 = EVP_PKEY_is_a(key, "SM2");
  if(!sm2 && !is_p256(key))
    goto out;
  hdr = json_pack("{s:s, s:s}", "alg", sm2 ? "GmSM2" : "ES256", "kid", kid);
  hdr_json = hdr ? json_dumps(hdr, JSON_COMPACT) : NULL;
  if(!hdr_json || mock_b64url_encode((const unsigned char *)hdr_json, strlen(hdr_json), &h64) < 0 ||
     mock_b64url_encode((const unsigned char *)payload, len, &p64) < 0)
    goto out;
  mock_buf_adds(&b, h64);
  mock_buf_adds(&b, ".");
  mock_buf_adds(&b, p64);
  if(mock_buf_failed(&b))
    goto out;

  md = EVP_MD_CTX_new();
  /* SM2: SM3 and the GM/T 0009 distinguishing ID, set before the data */
  if(!md || EVP_DigestSignInit_ex(md, &pctx, sm2 ? "SM3" : "SHA256", NULL, NULL, key,
                                  NULL) != 1 ||
     (sm2 && EVP_PKEY_CTX_set1_id(pctx, "1234567812345678", 16) <= 0) ||
     EVP_DigestSign(md, der, &der_len, (const unsigned char *)b.data, b.len) != 1)
    goto out;
  sig = d2i_ECDSA_SIG(NULL, &dp, (long)der_len);
  if(!sig)
    goto out;
  ECDSA_SIG_get0(sig, &r, &s);
  if(BN_bn2binpad(r, raw, 32) != 32 || BN_bn2binpad(s, raw + 32, 32) != 32 ||
     mock_b64url_encode(raw, sizeof(raw), &s64) < 0)
    goto out;

  mock_buf_adds(&b, ".");
  mock_buf_adds(&b, s64);
  if(mock_buf_failed(&b))
    goto out;
  *out = b.data;
  b.data = NULL;
  rc = 0;
out:
  ECDSA_SIG_free(sig);
  EVP_MD_CTX_free(md);
  json_decref(hdr);
  free(hdr_json);
  free(h64);
  free(p64);
  free(s64);
  mock_buf_free(&b);
  return rc;
}

/* ---- encodings and small things ---------------------------------------------------------- */

int mock_iconv(const char *to, const char *from, const char *in, size_t len,
               char **out, size_t *out_len)
{
  iconv_t cd;
  char *buf = NULL, *ip = (char *)(uintptr_t)in, *op;
  size_t ileft = len, oleft, cap;
  int rc = -1;

  *out = NULL;
  if(len > MOCK_XML_MAX_DOC)
    return -1;
  cd = iconv_open(to, from);
  if(cd == (iconv_t)-1)
    return -1;
  cap = len * 4 + 16;          /* no charset we use grows a character beyond 4x */
  buf = malloc(cap);
  if(!buf)
    goto out;
  op = buf;
  oleft = cap - 1;
  if(iconv(cd, &ip, &ileft, &op, &oleft) == (size_t)-1 ||
     iconv(cd, NULL, NULL, &op, &oleft) == (size_t)-1)
    goto out;
  *op = '\0';
  *out_len = (size_t)(op - buf);
  *out = buf;
  buf = NULL;
  rc = 0;
out:
  free(buf);
  iconv_close(cd);
  return rc;
}

void mock_xml_now(char out[21])
{
  time_t now = time(NULL);
  struct tm tm;

  if(!gmtime_r(&now, &tm) || strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) != 20)
    snprintf(out, 21, "%s", "1970-01-01T00:00:00Z");
}

void mock_xml_random_id(const char *prefix, char *out, size_t cap)
{
  unsigned char rnd[8];
  uint64_t v = 0;

  /* Ids need be unique within one document only; the clock would do. */
  if(RAND_bytes(rnd, sizeof(rnd)) == 1)
    memcpy(&v, rnd, sizeof(v));
  else
    v = (uint64_t)time(NULL);
  snprintf(out, cap, "%s%016llx", prefix, (unsigned long long)v);
}
