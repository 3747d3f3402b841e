/*
 * agency_chsi.c - mock chsi (学信网): degree verification over SOAP 1.1.
 *
 * POST /chsi/DegreeService takes a VerifyDegrees(idNumber, name) envelope
 * and answers with the subject's degrees in a soap:Body that carries a
 * wsu:Id and ends with an enveloped XML-DSig over that Body (exc-c14n,
 * ecdsa-sha256 with the agency's P-256 signing key, the agency certificate
 * in KeyInfo; mock_xml_dsig_sign() picks the method from the key, so an RSA
 * key would give rsa-sha256; with --sign sm2 the key and certificate are the
 * SM2 ones and the signature is sm2-sm3 over an sm3 digest).  The one idea: answers are built as text,
 * parsed once, signed by Id, and only then bent for the content faults, so
 * every hostile variant starts from a genuinely signed document the way a
 * real attacker's would.  "No record" is a signed answer, never a fault;
 * faults (soap:Client, soap:Server) are not signed.
 * GET /chsi/DegreeService?wsdl and GET /chsi/chsi.xsd serve the contract,
 * byte for byte the files in schemas/agencies/.
 */
#include "mock.h"
#include "mock_xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#define CHSI_NS        "urn:mock:chsi:degree:1"
#define CHSI_PATH      "/chsi/DegreeService"
#define CHSI_XSD_PATH  "/chsi/chsi.xsd"
#define CHSI_ACTION    CHSI_NS "#VerifyDegrees"
#define WSSE_NS \
  "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"

/* schemas/agencies/chsi.wsdl, verbatim: edit both (mocks.xml.schemas compares). */
static const char chsi_wsdl[] =
  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
  "<!--\n"
  "  chsi.wsdl - the mock chsi (学信网) degree verification service.\n"
  "  SOAP 1.1, document/literal; the types live in chsi.xsd beside this file\n"
  "  (served at /chsi/chsi.xsd).  See docs/mocks-xml.md.\n"
  "-->\n"
  "<wsdl:definitions name=\"DegreeService\"\n"
  "                  targetNamespace=\"urn:mock:chsi:degree:1\"\n"
  "                  xmlns:wsdl=\"http://schemas.xmlsoap.org/wsdl/\"\n"
  "                  xmlns:soap=\"http://schemas.xmlsoap.org/wsdl/soap/\"\n"
  "                  xmlns:xs=\"http://www.w3.org/2001/XMLSchema\"\n"
  "                  xmlns:chsi=\"urn:mock:chsi:degree:1\">\n"
  "  <wsdl:documentation>\n"
  "    Degree verification by identity number.  Every VerifyDegreesResponse is\n"
  "    signed: the soap:Body carries wsu:Id and ends with an enveloped ds:Signature\n"
  "    (exc-c14n, rsa-sha256, Reference URI=\"#\" + that Id with the\n"
  "    enveloped-signature and exc-c14n transforms, sha256) whose KeyInfo holds\n"
  "    the signing certificate, issued by the agency CA.  No record is a signed\n"
  "    response with result \"no_record\"; errors are SOAP 1.1 Faults with a\n"
  "    chsi:error detail (soap:Client for bad requests, soap:Server otherwise).\n"
  "  </wsdl:documentation>\n"
  "\n"
  "  <wsdl:types>\n"
  "    <xs:schema>\n"
  "      <xs:import namespace=\"urn:mock:chsi:degree:1\" schemaLocation=\"chsi.xsd\"/>\n"
  "    </xs:schema>\n"
  "  </wsdl:types>\n"
  "\n"
  "  <wsdl:message name=\"VerifyDegreesRequest\">\n"
  "    <wsdl:part name=\"parameters\" element=\"chsi:VerifyDegrees\"/>\n"
  "  </wsdl:message>\n"
  "  <wsdl:message name=\"VerifyDegreesResponse\">\n"
  "    <wsdl:part name=\"parameters\" element=\"chsi:VerifyDegreesResponse\"/>\n"
  "  </wsdl:message>\n"
  "  <wsdl:message name=\"DegreeFault\">\n"
  "    <wsdl:part name=\"detail\" element=\"chsi:error\"/>\n"
  "  </wsdl:message>\n"
  "\n"
  "  <wsdl:portType name=\"DegreePortType\">\n"
  "    <wsdl:operation name=\"VerifyDegrees\">\n"
  "      <wsdl:input message=\"chsi:VerifyDegreesRequest\"/>\n"
  "      <wsdl:output message=\"chsi:VerifyDegreesResponse\"/>\n"
  "      <wsdl:fault name=\"DegreeFault\" message=\"chsi:DegreeFault\"/>\n"
  "    </wsdl:operation>\n"
  "  </wsdl:portType>\n"
  "\n"
  "  <wsdl:binding name=\"DegreeBinding\" type=\"chsi:DegreePortType\">\n"
  "    <soap:binding style=\"document\" transport=\"http://schemas.xmlsoap.org/soap/http\"/>\n"
  "    <wsdl:operation name=\"VerifyDegrees\">\n"
  "      <soap:operation soapAction=\"urn:mock:chsi:degree:1#VerifyDegrees\" style=\"document\"/>\n"
  "      <wsdl:input><soap:body use=\"literal\"/></wsdl:input>\n"
  "      <wsdl:output><soap:body use=\"literal\"/></wsdl:output>\n"
  "      <wsdl:fault name=\"DegreeFault\"><soap:fault name=\"DegreeFault\" use=\"literal\"/></wsdl:fault>\n"
  "    </wsdl:operation>\n"
  "  </wsdl:binding>\n"
  "\n"
  "  <wsdl:service name=\"DegreeService\">\n"
  "    <wsdl:port name=\"DegreePort\" binding=\"chsi:DegreeBinding\">\n"
  "      <soap:address location=\"https://127.0.0.1/chsi/DegreeService\"/>\n"
  "    </wsdl:port>\n"
  "  </wsdl:service>\n"
  "</wsdl:definitions>\n";

/* schemas/agencies/chsi.xsd, verbatim: edit both (mocks.xml.schemas compares). */
static const char chsi_xsd[] =
  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
  "<!--\n"
  "  chsi.xsd - payload documents of the mock chsi (学信网) degree verification\n"
  "  service, SOAP 1.1 document/literal (see chsi.wsdl and docs/mocks-xml.md).\n"
  "\n"
  "  A request Body holds one chsi:VerifyDegrees.  A successful response Body\n"
  "  holds one chsi:VerifyDegreesResponse followed by a ds:Signature: an\n"
  "  enveloped XML-DSig (exc-c14n, rsa-sha256, sha256) whose one Reference\n"
  "  points at the soap:Body by its wsu:Id.  The signature is not part of the\n"
  "  payload and is not described here.  \"Nobody known by this number\" is a\n"
  "  normal signed response with result \"no_record\" and an empty degrees list,\n"
  "  never a fault.  Faults carry one chsi:error in their detail.\n"
  "-->\n"
  "<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\"\n"
  "           xmlns:chsi=\"urn:mock:chsi:degree:1\"\n"
  "           targetNamespace=\"urn:mock:chsi:degree:1\"\n"
  "           elementFormDefault=\"qualified\"\n"
  "           version=\"1\">\n"
  "\n"
  "  <xs:simpleType name=\"IdNumber\">\n"
  "    <xs:annotation><xs:documentation>GB 11643 resident identity number, normalized (uppercase X).</xs:documentation></xs:annotation>\n"
  "    <xs:restriction base=\"xs:string\">\n"
  "      <xs:pattern value=\"[0-9]{17}[0-9X]\"/>\n"
  "    </xs:restriction>\n"
  "  </xs:simpleType>\n"
  "\n"
  "  <xs:simpleType name=\"Name\">\n"
  "    <xs:restriction base=\"xs:string\">\n"
  "      <xs:minLength value=\"1\"/>\n"
  "      <xs:maxLength value=\"85\"/>\n"
  "    </xs:restriction>\n"
  "  </xs:simpleType>\n"
  "\n"
  "  <xs:simpleType name=\"RequestId\">\n"
  "    <xs:restriction base=\"xs:string\">\n"
  "      <xs:pattern value=\"[A-Za-z0-9._\\-]{1,64}\"/>\n"
  "    </xs:restriction>\n"
  "  </xs:simpleType>\n"
  "\n"
  "  <xs:simpleType name=\"Result\">\n"
  "    <xs:restriction base=\"xs:string\">\n"
  "      <xs:enumeration value=\"found\"/>\n"
  "      <xs:enumeration value=\"no_record\"/>\n"
  "    </xs:restriction>\n"
  "  </xs:simpleType>\n"
  "\n"
  "  <xs:simpleType name=\"DegreeLevel\">\n"
  "    <xs:restriction base=\"xs:string\">\n"
  "      <xs:enumeration value=\"bachelor\"/>\n"
  "      <xs:enumeration value=\"master\"/>\n"
  "      <xs:enumeration value=\"doctor\"/>\n"
  "    </xs:restriction>\n"
  "  </xs:simpleType>\n"
  "\n"
  "  <xs:simpleType name=\"StudyMode\">\n"
  "    <xs:restriction base=\"xs:string\">\n"
  "      <xs:enumeration value=\"full-time\"/>\n"
  "      <xs:enumeration value=\"part-time\"/>\n"
  "    </xs:restriction>\n"
  "  </xs:simpleType>\n"
  "\n"
  "  <xs:simpleType name=\"Text\">\n"
  "    <xs:restriction base=\"xs:string\">\n"
  "      <xs:minLength value=\"1\"/>\n"
  "      <xs:maxLength value=\"96\"/>\n"
  "    </xs:restriction>\n"
  "  </xs:simpleType>\n"
  "\n"
  "  <xs:complexType name=\"Degree\">\n"
  "    <xs:sequence>\n"
  "      <xs:element name=\"level\" type=\"chsi:DegreeLevel\"/>\n"
  "      <xs:element name=\"institution\" type=\"chsi:Text\"/>\n"
  "      <xs:element name=\"major\" type=\"chsi:Text\"/>\n"
  "      <xs:element name=\"studyMode\" type=\"chsi:StudyMode\"/>\n"
  "      <xs:element name=\"graduatedOn\" type=\"xs:date\"/>\n"
  "      <xs:element name=\"certificateNo\" type=\"chsi:Text\"/>\n"
  "    </xs:sequence>\n"
  "  </xs:complexType>\n"
  "\n"
  "  <xs:element name=\"VerifyDegrees\">\n"
  "    <xs:complexType>\n"
  "      <xs:sequence>\n"
  "        <xs:element name=\"idNumber\" type=\"chsi:IdNumber\"/>\n"
  "        <xs:element name=\"name\" type=\"chsi:Name\"/>\n"
  "        <xs:element name=\"requestId\" type=\"chsi:RequestId\" minOccurs=\"0\"/>\n"
  "      </xs:sequence>\n"
  "    </xs:complexType>\n"
  "  </xs:element>\n"
  "\n"
  "  <xs:element name=\"VerifyDegreesResponse\">\n"
  "    <xs:complexType>\n"
  "      <xs:sequence>\n"
  "        <xs:element name=\"requestId\" type=\"chsi:RequestId\" minOccurs=\"0\"/>\n"
  "        <xs:element name=\"idNumber\" type=\"chsi:IdNumber\"/>\n"
  "        <xs:element name=\"name\" type=\"chsi:Name\">\n"
  "          <xs:annotation><xs:documentation>The name as queried (echoed); degrees are found by idNumber.</xs:documentation></xs:annotation>\n"
  "        </xs:element>\n"
  "        <xs:element name=\"result\" type=\"chsi:Result\"/>\n"
  "        <xs:element name=\"queriedAt\" type=\"xs:dateTime\"/>\n"
  "        <xs:element name=\"degrees\">\n"
  "          <xs:complexType>\n"
  "            <xs:sequence>\n"
  "              <xs:element name=\"degree\" type=\"chsi:Degree\" minOccurs=\"0\" maxOccurs=\"unbounded\"/>\n"
  "            </xs:sequence>\n"
  "          </xs:complexType>\n"
  "        </xs:element>\n"
  "      </xs:sequence>\n"
  "    </xs:complexType>\n"
  "  </xs:element>\n"
  "\n"
  "  <xs:element name=\"error\">\n"
  "    <xs:annotation><xs:documentation>The detail of every SOAP Fault of this service.</xs:documentation></xs:annotation>\n"
  "    <xs:complexType>\n"
  "      <xs:sequence>\n"
  "        <xs:element name=\"code\">\n"
  "          <xs:simpleType>\n"
  "            <xs:restriction base=\"xs:string\">\n"
  "              <xs:enumeration value=\"NotFound\"/>\n"
  "              <xs:enumeration value=\"MethodNotAllowed\"/>\n"
  "              <xs:enumeration value=\"UnsupportedMediaType\"/>\n"
  "              <xs:enumeration value=\"RequestTooLarge\"/>\n"
  "              <xs:enumeration value=\"MalformedRequest\"/>\n"
  "              <xs:enumeration value=\"VersionMismatch\"/>\n"
  "              <xs:enumeration value=\"UnknownOperation\"/>\n"
  "              <xs:enumeration value=\"InvalidIdNumber\"/>\n"
  "              <xs:enumeration value=\"InvalidField\"/>\n"
  "              <xs:enumeration value=\"ServiceUnavailable\"/>\n"
  "            </xs:restriction>\n"
  "          </xs:simpleType>\n"
  "        </xs:element>\n"
  "        <xs:element name=\"message\" type=\"xs:string\"/>\n"
  "        <xs:element name=\"messageZh\" type=\"xs:string\" minOccurs=\"0\"/>\n"
  "      </xs:sequence>\n"
  "    </xs:complexType>\n"
  "  </xs:element>\n"
  "</xs:schema>\n";

/* What the wrapping attack maps in place of the genuine degrees. */
static const struct mock_degree forged_degree = {
  "doctor", "中国科学院大学", "核科学与技术", "full-time", "2019-07-01", "1445312019000666"
};

static int chsi_fault(struct mock_response *resp, enum mock_soap_fault_code code,
                      const char *detail_code, const char *reason,
                      const char *reason_zh, int status)
{
  struct mock_soap_fault f = { code, "chsi", CHSI_NS, detail_code, reason, reason_zh };
  return mock_soap_fault_respond(resp, MOCK_SOAP11, &f, status);
}

static int client_fault(struct mock_response *resp, const char *detail_code,
                        const char *reason, int status)
{
  return chsi_fault(resp, MOCK_SOAP_SENDER, detail_code, reason, NULL, status);
}

/* The VerifyDegreesResponse element, namespace declared on itself so the
 * payload can be cut out and validated alone. */
static void add_payload(struct mock_buf *b, const struct mock_subject_query *q,
                        const struct mock_degree *deg, int n)
{
  char now[21];

  mock_xml_now(now);
  mock_buf_adds(b, "<chsi:VerifyDegreesResponse xmlns:chsi=\"" CHSI_NS "\">");
  if(q->request_id[0])
    mock_buf_add_elem(b, "chsi:requestId", q->request_id);
  mock_buf_add_elem(b, "chsi:idNumber", q->id);
  mock_buf_add_elem(b, "chsi:name", q->name);
  mock_buf_add_elem(b, "chsi:result", n > 0 ? "found" : "no_record");
  mock_buf_add_elem(b, "chsi:queriedAt", now);
  mock_buf_adds(b, "<chsi:degrees>");
  for(int i = 0; i < n; i++) {
    mock_buf_adds(b, "<chsi:degree>");
    mock_buf_add_elem(b, "chsi:level", deg[i].level);
    mock_buf_add_elem(b, "chsi:institution", deg[i].institution);
    mock_buf_add_elem(b, "chsi:major", deg[i].major);
    mock_buf_add_elem(b, "chsi:studyMode", deg[i].study_mode);
    mock_buf_add_elem(b, "chsi:graduatedOn", deg[i].graduated_on);
    mock_buf_add_elem(b, "chsi:certificateNo", deg[i].certificate_no);
    mock_buf_adds(b, "</chsi:degree>");
  }
  mock_buf_adds(b, "</chsi:degrees></chsi:VerifyDegreesResponse>");
}

static xmlNodePtr soap_body(xmlDocPtr doc)
{
  xmlNodePtr n = xmlDocGetRootElement(doc);
  for(n = n ? n->children : NULL; n; n = n->next)
    if(n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, "Body") == 0)
      return n;
  return NULL;
}

/* Finds the first element named `name` in the chsi namespace under `n`. */
static xmlNodePtr find_chsi(xmlNodePtr n, const char *name)
{
  for(; n; n = n->next) {
    xmlNodePtr hit;
    if(n->type != XML_ELEMENT_NODE)
      continue;
    if(n->ns && strcmp((const char *)n->ns->href, CHSI_NS) == 0 &&
       strcmp((const char *)n->name, name) == 0)
      return n;
    hit = find_chsi(n->children, name);
    if(hit)
      return hit;
  }
  return NULL;
}

/* Builds the envelope for (q, deg[0..n)), signs its Body with key/cert and
 * returns the tree.  For MOCK_CF_BAD_SIGNATURE a degree value (or, with no
 * degrees, the echoed name) is changed after signing. */
static xmlDocPtr signed_answer(const struct mock_subject_query *q, const struct mock_degree *deg,
                               int n, EVP_PKEY *key, X509 *cert,
                               enum mock_content_fault cf, xmlNodePtr *body_out)
{
  struct mock_buf b;
  char body_id[32];
  xmlDocPtr doc = NULL;
  xmlNodePtr body, victim;

  mock_xml_random_id("Body-", body_id, sizeof(body_id));
  mock_buf_init(&b, MOCK_XML_MAX_DOC);
  mock_soap_open(&b, MOCK_SOAP11, body_id);
  add_payload(&b, q, deg, n);
  mock_soap_close(&b, MOCK_SOAP11);
  if(mock_buf_failed(&b))
    goto fail;
  doc = xmlReadMemory(b.data, (int)b.len, "chsi-response.xml", "UTF-8", XML_PARSE_NONET);
  body = doc ? soap_body(doc) : NULL;
  if(!body || mock_xml_dsig_sign(doc, body, body_id, key, cert) < 0)
    goto fail;
  if(cf == MOCK_CF_BAD_SIGNATURE) {
    victim = find_chsi(body->children, "major");
    if(victim)
      xmlNodeSetContent(victim, BAD_CAST "临床医学");
    else if((victim = find_chsi(body->children, "name")) != NULL)
      xmlNodeSetContent(victim, BAD_CAST "李四");
    else
      goto fail;
  }
  mock_buf_free(&b);
  *body_out = body;
  return doc;
fail:
  mock_buf_free(&b);
  if(doc)
    xmlFreeDoc(doc);
  return NULL;
}

/* The classic wrapping attack: the genuinely signed Body (with its wsu:Id and
 * its signature) moves into a wsse:Security header block, and a new, unsigned
 * soap:Body with forged degrees takes its place.  A verifier that resolves
 * the Reference by Id and then reads /Envelope/Body is fooled. */
static int wrap_answer(const struct mock_subject_query *q, xmlDocPtr doc, xmlNodePtr signed_body,
                       char **out, size_t *out_len)
{
  struct mock_buf b;
  xmlBufferPtr xb = xmlBufferCreate();
  int rc = -1;

  mock_buf_init(&b, MOCK_XML_MAX_DOC);
  if(!xb || xmlNodeDump(xb, doc, signed_body, 0, 0) < 0)
    goto out;
  mock_buf_adds(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
                "<soap:Envelope xmlns:soap=\"" MOCK_NS_SOAP11 "\" xmlns:wsu=\"" MOCK_NS_WSU "\">"
                "<soap:Header><wsse:Security xmlns:wsse=\"" WSSE_NS "\">");
  mock_buf_add(&b, (const char *)xmlBufferContent(xb), (size_t)xmlBufferLength(xb));
  mock_buf_adds(&b, "</wsse:Security></soap:Header><soap:Body>");
  add_payload(&b, q, &forged_degree, 1);
  mock_buf_adds(&b, "</soap:Body></soap:Envelope>\n");
  if(mock_buf_failed(&b))
    goto out;
  *out = b.data;
  *out_len = b.len;
  b.data = NULL;
  rc = 0;
out:
  if(xb)
    xmlBufferFree(xb);
  mock_buf_free(&b);
  return rc;
}

static int answer(const struct mock_ctx *ctx, const struct mock_subject_query *q,
                  const struct mock_degree *deg, int n, enum mock_content_fault cf,
                  struct mock_response *resp)
{
  static const char *const targets[] = { "chsi:institution", "chsi:name", NULL };
  const struct mock_keys *k = ctx->keys;
  EVP_PKEY *key = cf == MOCK_CF_WRONG_SIGNER ? k->wrong_key : k->chsi_key;
  X509 *cert = cf == MOCK_CF_WRONG_SIGNER ? k->wrong_cert : k->chsi_cert;
  xmlDocPtr doc = NULL;
  xmlNodePtr body = NULL;
  char *text = NULL, *bent = NULL;
  size_t len = 0, blen = 0;
  int rc = -1;

  if(!key || !cert)
    return chsi_fault(resp, MOCK_SOAP_RECEIVER, "ServiceUnavailable",
                      "signing key not configured", "签名密钥未配置", 0);
  doc = signed_answer(q, deg, n, key, cert, cf, &body);
  if(!doc)
    goto out;
  if(cf == MOCK_CF_SIGNATURE_WRAPPING)
    rc = wrap_answer(q, doc, body, &text, &len);
  else
    rc = mock_xml_dump(doc, &text, &len);
  if(rc < 0)
    goto out;
  rc = -1;
  if(cf == MOCK_CF_MALFORMED && mock_xml_break(text, len, &bent, &blen) < 0)
    goto out;
  if(cf == MOCK_CF_XXE &&
     mock_xml_attack(text, len, "soap:Envelope", targets, MOCK_ATTACK_XXE, &bent, &blen) < 0)
    goto out;
  if(cf == MOCK_CF_BILLION_LAUGHS &&
     mock_xml_attack(text, len, "soap:Envelope", targets, MOCK_ATTACK_BILLION_LAUGHS,
                     &bent, &blen) < 0)
    goto out;
  if(bent) {
    free(text);
    text = bent;
    len = blen;
    bent = NULL;
  }
  free(resp->body);
  resp->status = 200;
  snprintf(resp->content_type, sizeof(resp->content_type), "%s",
           mock_soap_content_type(MOCK_SOAP11));
  resp->body = text;
  resp->body_len = len;
  text = NULL;
  rc = 0;
out:
  if(doc)
    xmlFreeDoc(doc);
  free(text);
  free(bent);
  return rc;
}

/* Reads and checks the VerifyDegrees payload.  Returns 0 with *q filled, or
 * 1 after writing the fault into *resp, or -1 on out-of-memory. */
static int read_query(const struct mock_request *req, struct mock_subject_query *q,
                      struct mock_response *resp)
{
  xmlDocPtr doc = NULL;
  xmlNodePtr payload;
  enum mock_parse pr;
  const char *why = NULL;
  int rc;

  if(!mock_soap_action_ok(req->soap_action, CHSI_ACTION))
    return client_fault(resp, "UnknownOperation",
                        "SOAPAction does not name an operation of this service", 0) < 0 ? -1 : 1;
  pr = mock_xml_parse(req->body, req->body_len, &doc);
  if(pr == MOCK_PARSE_OK)
    pr = mock_soap_payload(doc, MOCK_SOAP11, &payload);
  if(pr == MOCK_PARSE_NOMEM)
    rc = -1;
  else if(pr == MOCK_PARSE_VERSION_MISMATCH)
    rc = chsi_fault(resp, MOCK_SOAP_VERSION_MISMATCH, "VersionMismatch",
                    "this service speaks SOAP 1.1 only", NULL, 0);
  else if(pr != MOCK_PARSE_OK)
    rc = client_fault(resp, pr == MOCK_PARSE_TOO_BIG ? "RequestTooLarge" : "MalformedRequest",
                      mock_parse_strerror(pr), pr == MOCK_PARSE_TOO_BIG ? 413 : 0);
  else if(!payload->ns || strcmp((const char *)payload->ns->href, CHSI_NS) != 0 ||
          strcmp((const char *)payload->name, "VerifyDegrees") != 0)
    rc = client_fault(resp, "UnknownOperation", "the Body does not hold a chsi:VerifyDegrees", 0);
  else {
    switch(mock_xml_read_subject(payload, CHSI_NS, q, &why)) {
    case MOCK_SUBJECT_OK:
      rc = 0;
      goto out;
    case MOCK_SUBJECT_BAD_ID:
      rc = chsi_fault(resp, MOCK_SOAP_SENDER, "InvalidIdNumber", why, "身份证号码无效", 0);
      break;
    case MOCK_SUBJECT_BAD_FIELD:
    default:
      rc = client_fault(resp, "InvalidField", why, 0);
      break;
    }
  }
  if(rc == 0)
    rc = 1;
out:
  if(doc)
    xmlFreeDoc(doc);
  return rc;
}

static int method_not_allowed(struct mock_response *resp)
{
  if(client_fault(resp, "MethodNotAllowed",
                  "use POST for VerifyDegrees, GET ?wsdl for the contract", 405) < 0)
    return -1;
  return mock_response_add_header(resp, "Allow", "GET, POST") < 0 ? -1 : 0;
}

static int serve_static(struct mock_response *resp, const char *doc, size_t len)
{
  return mock_response_set(resp, 200, "text/xml; charset=utf-8", doc, len);
}

/* The WSDL with its soap:address naming the origin the request came to, so
 * a client generated from it calls this very listener (the document keeps
 * "https://127.0.0.1" for the address when the origin is unknown). */
static int serve_wsdl(const struct mock_request *req, struct mock_response *resp)
{
  static const char where[] = "location=\"https://127.0.0.1/chsi/DegreeService\"";
  const char *at = strstr(chsi_wsdl, where);
  char *doc;
  size_t head, tail, olen;
  int rc, n;

  if(!at || !req->origin || !req->origin[0] || strlen(req->origin) > 64)
    return serve_static(resp, chsi_wsdl, sizeof(chsi_wsdl) - 1);
  head = (size_t)(at - chsi_wsdl);
  tail = sizeof(chsi_wsdl) - 1 - head - (sizeof(where) - 1);
  olen = sizeof(where) + strlen(req->origin) + 1;
  doc = malloc(head + olen + tail + 1);
  if(!doc)
    return -1;
  memcpy(doc, chsi_wsdl, head);
  n = snprintf(doc + head, olen, "location=\"%s%s\"", req->origin, CHSI_PATH);
  memcpy(doc + head + (size_t)n, at + sizeof(where) - 1, tail + 1);
  rc = mock_response_set(resp, 200, "text/xml; charset=utf-8", doc, head + (size_t)n + tail);
  free(doc);
  return rc;
}

static int handle(const struct mock_ctx *ctx, const struct mock_request *req,
                  enum mock_content_fault cf, struct mock_response *resp)
{
  struct mock_subject_query q;
  struct mock_person person;
  int rc;

  memset(&q, 0, sizeof(q));
  if(strcmp(req->path, CHSI_XSD_PATH) == 0 && strcmp(req->method, "GET") == 0)
    return serve_static(resp, chsi_xsd, sizeof(chsi_xsd) - 1);
  if(strcmp(req->path, CHSI_PATH) != 0)
    return client_fault(resp, "NotFound", "no such endpoint", 404);
  if(strcmp(req->method, "GET") == 0) {
    if(req->query && strcasecmp(req->query, "wsdl") == 0)
      return serve_wsdl(req, resp);
    return method_not_allowed(resp);
  }
  if(strcmp(req->method, "POST") != 0)
    return method_not_allowed(resp);
  if(!mock_media_type_is(req->content_type, "text/xml"))
    return client_fault(resp, "UnsupportedMediaType",
                        "SOAP 1.1 requests are text/xml; charset=utf-8", 415);
  if(cf == MOCK_CF_FAULT)
    return chsi_fault(resp, MOCK_SOAP_RECEIVER, "ServiceUnavailable",
                      "degree database temporarily unavailable", "学历数据库暂时不可用", 0);

  rc = read_query(req, &q, resp);
  if(rc != 0)
    return rc < 0 ? -1 : 0;
  switch(mock_population_lookup(ctx->pop, q.id, &person)) {
  case MOCK_LOOKUP_FOUND:
    return answer(ctx, &q, person.degrees,
                  person.n_degrees < 0 ? 0 :
                  person.n_degrees > MOCK_MAX_DEGREES ? MOCK_MAX_DEGREES : person.n_degrees,
                  cf, resp);
  case MOCK_LOOKUP_NO_RECORD:
    return answer(ctx, &q, NULL, 0, cf, resp);
  case MOCK_LOOKUP_INVALID:
    break;
  }
  return chsi_fault(resp, MOCK_SOAP_SENDER, "InvalidIdNumber",
                    "not a resident identity number", "身份证号码无效", 0);
}

const struct mock_agency_ops mock_agency_chsi = { "chsi", handle };
