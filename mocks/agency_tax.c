/*
 * agency_tax.c - mock tax bureau (税务), individual income tax over SOAP 1.1
 * with WS-Security UsernameToken.
 *
 * POST /tax/IitService (text/xml, SOAPAction urn:mock:tax:1#QueryIitRecord)
 * takes QueryIitRecord(requestId?, idNumber, name) with a wsse:Security
 * header holding a UsernameToken: Username, Password of type PasswordDigest
 * = base64(SHA-1(nonce + created + password)), a base64 Nonce of 16-64
 * bytes and wsu:Created.  It answers how many of the last 24 months had
 * Shenzhen individual income tax paid and the current withholding agent.
 *
 * The one idea: authentication fails the way WSS 1.0/1.1 says, with the
 * standard fault codes in the wsse namespace (wsse:InvalidSecurity for a
 * missing or malformed header, wsse:FailedAuthentication for a wrong user,
 * digest or a replayed nonce, wsse:MessageExpired for a Created outside
 * 300 s), as a Java WS-Security stack would; everything else is SOAP 1.1
 * done like chsi (soap:Client / soap:Server with the agency's own detail).
 */
#include "mock.h"
#include "mock_xml.h"

#include "gw/b64.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TAX_NS     "urn:mock:tax:1"
#define TAX_PATH   "/tax/IitService"
#define TAX_ACTION TAX_NS "#QueryIitRecord"
#define WSSE_NS    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
#define WSU_NS     "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
#define WSSE_DIGEST "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest"
#define SOAP11_NS  "http://schemas.xmlsoap.org/soap/envelope/"
#define TAX_WINDOW_S 300
#define TAX_NONCE_MIN 16
#define TAX_NONCE_MAX 64

static int tax_fault(struct mock_response *resp, enum mock_soap_fault_code code,
                     const char *detail_code, const char *reason, int status)
{
  struct mock_soap_fault f = { code, "tax", TAX_NS, detail_code, reason, NULL };
  return mock_soap_fault_respond(resp, MOCK_SOAP11, &f, status);
}

/* A WS-Security fault: faultcode in the wsse namespace (WSS 1.0 section 12). */
static int wsse_fault(struct mock_response *resp, const char *code, const char *reason)
{
  struct mock_buf b;

  mock_buf_init(&b, MOCK_XML_MAX_DOC);
  mock_soap_open(&b, MOCK_SOAP11, NULL);
  mock_buf_addf(&b, "<soap:Fault xmlns:wsse=\"" WSSE_NS "\"><faultcode>wsse:%s</faultcode>"
                "<faultstring>", code);
  mock_buf_add_xml(&b, reason);
  mock_buf_adds(&b, "</faultstring></soap:Fault>");
  mock_soap_close(&b, MOCK_SOAP11);
  return mock_buf_respond(&b, resp, 500, mock_soap_content_type(MOCK_SOAP11));
}

static xmlNodePtr child(xmlNodePtr parent, const char *ns, const char *name)
{
  for(xmlNodePtr n = parent ? parent->children : NULL; n; n = n->next)
    if(n->type == XML_ELEMENT_NODE && n->ns && !strcmp((const char *)n->ns->href, ns) &&
       !strcmp((const char *)n->name, name))
      return n;
  return NULL;
}

/* "2026-12-07T19:40:00Z" or with fractional seconds; -1 when not that. */
static time_t parse_created(const char *s)
{
  struct tm tm;
  const char *e;

  memset(&tm, 0, sizeof(tm));
  e = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
  if(!e)
    return (time_t)-1;
  if(*e == '.')
    for(e++; *e >= '0' && *e <= '9'; e++)
      ;
  if(strcmp(e, "Z"))
    return (time_t)-1;
  return timegm(&tm);
}

/* Checks the UsernameToken.  0 authentic and fresh, 1 after writing the
 * fault, -1 on out-of-memory. */
static int authenticate(const struct mock_ctx *ctx, xmlDocPtr doc, struct mock_response *resp)
{
  xmlNodePtr env = xmlDocGetRootElement(doc);
  xmlNodePtr sec = child(child(env, SOAP11_NS, "Header"), WSSE_NS, "Security");
  xmlNodePtr tok = child(sec, WSSE_NS, "UsernameToken");
  xmlNodePtr pw = child(tok, WSSE_NS, "Password");
  char user[MOCK_XML_MAX_FIELD], digest[MOCK_XML_MAX_FIELD], nonce_b64[MOCK_XML_MAX_FIELD];
  char created[MOCK_XML_MAX_FIELD], want[32];
  unsigned char nonce[TAX_NONCE_MAX + 8], sha[20];
  xmlChar *type = pw ? xmlGetProp(pw, (const xmlChar *)"Type") : NULL;
  int digest_type = type && !strcmp((const char *)type, WSSE_DIGEST);
  size_t nlen = 0;
  time_t now = time(NULL), c;
  EVP_MD_CTX *md;
  int ok;

  xmlFree(type);
  if(!tok || !pw || !digest_type ||
     mock_xml_field(tok, WSSE_NS, "Username", user, sizeof(user)) ||
     mock_xml_field(tok, WSSE_NS, "Password", digest, sizeof(digest)) ||
     mock_xml_field(tok, WSSE_NS, "Nonce", nonce_b64, sizeof(nonce_b64)) ||
     mock_xml_field(tok, WSU_NS, "Created", created, sizeof(created)))
    return wsse_fault(resp, "InvalidSecurity", "An error was discovered processing the "
                      "<wsse:Security> header (a UsernameToken with Username, a "
                      "PasswordDigest Password, Nonce and wsu:Created is required)") < 0 ? -1 : 1;
  if(gw_b64_decode(GW_B64_STD, nonce_b64, strlen(nonce_b64), nonce, sizeof(nonce), &nlen) !=
     GW_B64_OK || nlen < TAX_NONCE_MIN || nlen > TAX_NONCE_MAX)
    return wsse_fault(resp, "InvalidSecurity", "An error was discovered processing the "
                      "<wsse:Security> header (Nonce must be base64 of 16-64 bytes)") < 0 ? -1 : 1;
  c = parse_created(created);
  if(c == (time_t)-1)
    return wsse_fault(resp, "InvalidSecurity", "An error was discovered processing the "
                      "<wsse:Security> header (wsu:Created is not a UTC dateTime)") < 0 ? -1 : 1;
  if(c < now - TAX_WINDOW_S || c > now + 60)
    return wsse_fault(resp, "MessageExpired", "The message has expired") < 0 ? -1 : 1;

  md = EVP_MD_CTX_new();
  ok = md && EVP_DigestInit_ex(md, EVP_sha1(), NULL) && EVP_DigestUpdate(md, nonce, nlen) &&
       EVP_DigestUpdate(md, created, strlen(created)) &&
       EVP_DigestUpdate(md, ctx->keys->tax_password, strlen(ctx->keys->tax_password)) &&
       EVP_DigestFinal_ex(md, sha, NULL);
  EVP_MD_CTX_free(md);
  if(!ok || gw_b64_encode(GW_B64_STD, sha, sizeof(sha), want, sizeof(want), NULL) != GW_B64_OK)
    return -1;
  if(strcmp(user, ctx->keys->tax_username) || strlen(digest) != strlen(want) ||
     CRYPTO_memcmp(digest, want, strlen(want)))
    return wsse_fault(resp, "FailedAuthentication", "The security token could not be "
                      "authenticated or authorized") < 0 ? -1 : 1;
  switch(mock_replay_check(MOCK_REPLAY_TAX, nonce, nlen, now, 2 * TAX_WINDOW_S + 61)) {
  case MOCK_REPLAY_FRESH:
    return 0;
  case MOCK_REPLAY_SEEN:
    return wsse_fault(resp, "FailedAuthentication", "The security token could not be "
                      "authenticated or authorized (nonce already used)") < 0 ? -1 : 1;
  case MOCK_REPLAY_FULL:
  default:
    return tax_fault(resp, MOCK_SOAP_RECEIVER, "ServiceBusy", "nonce cache full, retry later",
                     503) < 0 ? -1 : 1;
  }
}

/* The 24 months counted end with the last full month. */
static void period(char from[16], char to[16])
{
  time_t now = time(NULL);
  struct tm tm;
  int y, m;

  gmtime_r(&now, &tm);
  y = tm.tm_year + 1900;
  m = tm.tm_mon;                       /* last month, 1-based: tm_mon */
  if(m == 0) {
    y--;
    m = 12;
  }
  snprintf(to, 16, "%04d-%02d", y % 10000, m % 100);
  m -= 23;
  while(m <= 0) {
    m += 12;
    y--;
  }
  snprintf(from, 16, "%04d-%02d", y % 10000, m % 100);
}

static int answer(const struct mock_subject_query *q, const struct mock_person *p,
                  enum mock_content_fault cf, struct mock_response *resp)
{
  static const char *const targets[] = { "tax:name", NULL };
  char now[21], from[16], to[16];
  struct mock_buf b;
  int rc = -1;

  mock_xml_now(now);
  period(from, to);
  mock_buf_init(&b, MOCK_XML_MAX_DOC);
  mock_soap_open(&b, MOCK_SOAP11, NULL);
  mock_buf_adds(&b, "<tax:QueryIitRecordResponse xmlns:tax=\"" TAX_NS "\">");
  if(q->request_id[0])
    mock_buf_add_elem(&b, "tax:requestId", q->request_id);
  mock_buf_add_elem(&b, "tax:idNumber", q->id);
  mock_buf_add_elem(&b, "tax:result", p ? "found" : "no_record");
  if(p) {
    mock_buf_add_elem(&b, "tax:name", mock_record_name(p, p->tax_name));
    mock_buf_addf(&b, "<tax:period from=\"%s\" to=\"%s\"/>", from, to);
    mock_buf_addf(&b, "<tax:paidMonthsShenzhen>%d</tax:paidMonthsShenzhen>",
                  p->tax_shenzhen_months);
    if(p->tax_employer_name[0]) {
      mock_buf_adds(&b, "<tax:withholdingAgent>");
      mock_buf_add_elem(&b, "tax:agentName", p->tax_employer_name);
      mock_buf_add_elem(&b, "tax:agentCreditCode", p->tax_employer_uscc);
      mock_buf_adds(&b, "</tax:withholdingAgent>");
    }
  }
  mock_buf_add_elem(&b, "tax:queriedAt", now);
  mock_buf_adds(&b, "</tax:QueryIitRecordResponse>");
  mock_soap_close(&b, MOCK_SOAP11);
  if(mock_buf_failed(&b))
    goto out;
  /* the attacks need the person's elements to carry them */
  if(mock_buf_xml_fault(&b, p || cf == MOCK_CF_MALFORMED ? cf : MOCK_CF_NONE, "soap:Envelope",
                        targets))
    goto out;
  rc = mock_buf_respond(&b, resp, 200, mock_soap_content_type(MOCK_SOAP11));
out:
  mock_buf_free(&b);
  return rc;
}

static int handle(const struct mock_ctx *ctx, const struct mock_request *req,
                  enum mock_content_fault cf, struct mock_response *resp)
{
  struct mock_subject_query q;
  struct mock_person person;
  xmlDocPtr doc = NULL;
  xmlNodePtr payload = NULL;
  enum mock_parse pr;
  const char *why = NULL;
  int rc;

  if(strcmp(req->path, TAX_PATH))
    return tax_fault(resp, MOCK_SOAP_SENDER, "NotFound", "no such endpoint", 404);
  if(strcmp(req->method, "POST")) {
    if(tax_fault(resp, MOCK_SOAP_SENDER, "MethodNotAllowed", "use POST", 405) < 0)
      return -1;
    return mock_response_add_header(resp, "Allow", "POST") < 0 ? -1 : 0;
  }
  if(!mock_media_type_is(req->content_type, "text/xml"))
    return tax_fault(resp, MOCK_SOAP_SENDER, "UnsupportedMediaType",
                     "SOAP 1.1 requests are text/xml; charset=utf-8", 415);
  if(!mock_soap_action_ok(req->soap_action, TAX_ACTION))
    return tax_fault(resp, MOCK_SOAP_SENDER, "UnknownOperation",
                     "SOAPAction does not name an operation of this service", 0);
  pr = mock_xml_parse(req->body, req->body_len, &doc);
  if(pr == MOCK_PARSE_OK)
    pr = mock_soap_payload(doc, MOCK_SOAP11, &payload);
  if(pr == MOCK_PARSE_NOMEM) {
    rc = -1;
    goto out;
  }
  if(pr != MOCK_PARSE_OK) {
    rc = tax_fault(resp, pr == MOCK_PARSE_VERSION_MISMATCH ? MOCK_SOAP_VERSION_MISMATCH
                                                           : MOCK_SOAP_SENDER,
                   pr == MOCK_PARSE_TOO_BIG ? "RequestTooLarge" : "MalformedRequest",
                   mock_parse_strerror(pr), pr == MOCK_PARSE_TOO_BIG ? 413 : 0);
    goto out;
  }
  /* WS-Security is processed before the Body, as the stack would. */
  rc = authenticate(ctx, doc, resp);
  if(rc) {
    rc = rc < 0 ? -1 : 0;
    goto out;
  }
  if(cf == MOCK_CF_FAULT) {
    rc = tax_fault(resp, MOCK_SOAP_RECEIVER, "ServiceUnavailable",
                   "individual income tax system temporarily unavailable", 0);
    goto out;
  }
  if(!payload->ns || strcmp((const char *)payload->ns->href, TAX_NS) ||
     strcmp((const char *)payload->name, "QueryIitRecord")) {
    rc = tax_fault(resp, MOCK_SOAP_SENDER, "UnknownOperation",
                   "the Body does not hold a tax:QueryIitRecord", 0);
    goto out;
  }
  switch(mock_xml_read_subject(payload, TAX_NS, &q, &why)) {
  case MOCK_SUBJECT_OK:
    break;
  case MOCK_SUBJECT_BAD_ID:
    rc = tax_fault(resp, MOCK_SOAP_SENDER, "InvalidIdNumber", why, 0);
    goto out;
  case MOCK_SUBJECT_BAD_FIELD:
  default:
    rc = tax_fault(resp, MOCK_SOAP_SENDER, "InvalidField", why, 0);
    goto out;
  }
  switch(mock_population_lookup(ctx->pop, q.id, &person)) {
  case MOCK_LOOKUP_FOUND:
    rc = answer(&q, person.in_tax ? &person : NULL, cf, resp);
    break;
  case MOCK_LOOKUP_NO_RECORD:
    rc = answer(&q, NULL, cf, resp);
    break;
  case MOCK_LOOKUP_INVALID:
  default:
    rc = tax_fault(resp, MOCK_SOAP_SENDER, "InvalidIdNumber", "not a resident identity number", 0);
    break;
  }
out:
  if(doc)
    xmlFreeDoc(doc);
  return rc;
}

const struct mock_agency_ops mock_agency_tax = { "tax", handle };
