/*
 * test_xt_agencies.c - unit tests of the chsi, credit, qual and cscse
 * handlers on the hand-made people of xt_support.c.
 *
 * Each test sends what a client sends and checks what the client would
 * check: the HTTP status and content type, the values at the XPath (or JSON
 * member) the gateway maps, that signatures verify with the agency key and
 * not with another, that every content fault produces the document it
 * promises, and that hostile input gets the agency's own error and nothing
 * else (no file contents, no expansion).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/errors.h>

#include "mock_xml.h"
#include "xt_support.h"

static struct mock_keys keys;
static struct mock_ctx ctx;

static int setup(void **state)
{
  (void)state;
  if(xt_keys_generate(&keys) < 0)
    return -1;
  ctx.pop = xt_population();
  ctx.keys = &keys;
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  xt_keys_free(&keys);
  return 0;
}

/* Handlers need not NUL-terminate bodies; the tests' string checks do. */
static void terminate(struct mock_response *resp)
{
  char *p;

  assert_non_null(resp->body);
  p = realloc(resp->body, resp->body_len + 1);
  assert_non_null(p);
  p[resp->body_len] = '\0';
  resp->body = p;
}

/* Sends the conforming request for (id, name) to `agency` under `cf`. */
static void call(const char *agency, const char *id, const char *name,
                 enum mock_content_fault cf, struct mock_response *resp)
{
  struct xt_request r;

  memset(resp, 0, sizeof(*resp));
  assert_int_equal(xt_request_build(&r, agency, id, name, keys.qual_api_key), 0);
  assert_int_equal(xt_agency(agency)->handle(&ctx, &r.req, cf, resp), 0);
  xt_request_free(&r);
  terminate(resp);
}

/* Sends exactly the given request. */
static void call_raw(const char *agency, const char *method, const char *path,
                     const char *query, const char *ctype, const char *body,
                     struct mock_response *resp)
{
  struct mock_request req;

  memset(&req, 0, sizeof(req));
  memset(resp, 0, sizeof(*resp));
  req.method = method;
  req.path = path;
  req.query = query;
  req.content_type = ctype;
  req.api_key = keys.qual_api_key;
  req.body = body;
  req.body_len = body ? strlen(body) : 0;
  assert_int_equal(xt_agency(agency)->handle(&ctx, &req, MOCK_CF_NONE, resp), 0);
  terminate(resp);
}

static xmlDocPtr parse(const struct mock_response *resp)
{
  xmlDocPtr doc = xmlReadMemory(resp->body, (int)resp->body_len, NULL, NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  assert_non_null(doc);
  return doc;
}

/* The string value of an XPath 1.0 expression, prefixes as the agencies use
 * them.  Caller frees. */
static char *xp(xmlDocPtr doc, const char *expr)
{
  xmlXPathContextPtr xc = xmlXPathNewContext(doc);
  xmlXPathObjectPtr o;
  char *out;

  xmlXPathRegisterNs(xc, BAD_CAST "soap", BAD_CAST MOCK_NS_SOAP11);
  xmlXPathRegisterNs(xc, BAD_CAST "env", BAD_CAST MOCK_NS_SOAP12);
  xmlXPathRegisterNs(xc, BAD_CAST "wsu", BAD_CAST MOCK_NS_WSU);
  xmlXPathRegisterNs(xc, BAD_CAST "ds", BAD_CAST MOCK_NS_DSIG);
  xmlXPathRegisterNs(xc, BAD_CAST "chsi", BAD_CAST "urn:mock:chsi:degree:1");
  xmlXPathRegisterNs(xc, BAD_CAST "credit", BAD_CAST "urn:mock:credit:1");
  o = xmlXPathEvalExpression(BAD_CAST expr, xc);
  assert_non_null(o);
  out = (char *)xmlXPathCastToString(o);
  xmlXPathFreeObject(o);
  xmlXPathFreeContext(xc);
  return out;
}

#define assert_xp(doc, expr, want) do { \
    char *got_ = xp(doc, expr); \
    assert_string_equal(got_, want); \
    xmlFree(got_); \
  } while(0)

/* ---- chsi ------------------------------------------------------------------ */

#define CHSI_R "/soap:Envelope/soap:Body/chsi:VerifyDegreesResponse"

static void test_chsi_found_is_signed(void **state)
{
  struct mock_response resp;
  xmlDocPtr doc;
  (void)state;

  call("chsi", XT_ID_GRADUATE, XT_NAME_GRADUATE, MOCK_CF_NONE, &resp);
  assert_int_equal(resp.status, 200);
  assert_string_equal(resp.content_type, "text/xml; charset=utf-8");
  doc = parse(&resp);
  assert_xp(doc, CHSI_R "/chsi:result", "found");
  assert_xp(doc, CHSI_R "/chsi:idNumber", XT_ID_GRADUATE);
  assert_xp(doc, CHSI_R "/chsi:requestId", "xt-0001");
  assert_xp(doc, "count(" CHSI_R "/chsi:degrees/chsi:degree)", "2");
  assert_xp(doc, CHSI_R "/chsi:degrees/chsi:degree[2]/chsi:institution", "清华大学");
  assert_xp(doc, CHSI_R "/chsi:degrees/chsi:degree[2]/chsi:level", "master");
  assert_xp(doc, CHSI_R "/chsi:degrees/chsi:degree[1]/chsi:graduatedOn", "2020-07-01");
  /* The signature sits in the Body and references the Body by its Id. */
  assert_xp(doc, "concat('#', /soap:Envelope/soap:Body/@wsu:Id) = "
                 "/soap:Envelope/soap:Body/ds:Signature/ds:SignedInfo/ds:Reference/@URI", "true");
  assert_xp(doc, "count(//ds:Signature)", "1");
  assert_int_equal(xt_dsig_verify(doc, keys.chsi_key), 1);
  assert_int_equal(xt_dsig_verify(doc, keys.wrong_key), 0);
  xmlFreeDoc(doc);
  free(resp.body);
}

static void test_chsi_no_record_is_signed(void **state)
{
  struct mock_response resp;
  xmlDocPtr doc;
  (void)state;

  /* Nobody by this number, and a person with no Chinese degree. */
  for(int i = 0; i < 2; i++) {
    call("chsi", i ? XT_ID_OVERSEAS : XT_ID_NOBODY, "某人", MOCK_CF_NONE, &resp);
    assert_int_equal(resp.status, 200);
    doc = parse(&resp);
    assert_xp(doc, CHSI_R "/chsi:result", "no_record");
    assert_xp(doc, "count(" CHSI_R "/chsi:degrees/*)", "0");
    assert_int_equal(xt_dsig_verify(doc, keys.chsi_key), 1);
    xmlFreeDoc(doc);
    free(resp.body);
  }
}

static void test_chsi_escapes_everything(void **state)
{
  struct mock_response resp;
  xmlDocPtr doc;
  (void)state;

  call("chsi", XT_ID_DISHONEST, "</chsi:name><x>&amp;\"'", MOCK_CF_NONE, &resp);
  doc = parse(&resp);
  assert_xp(doc, CHSI_R "/chsi:name", "</chsi:name><x>&amp;\"'");
  assert_xp(doc, CHSI_R "/chsi:degrees/chsi:degree/chsi:institution",
            "École \"Polytechnique\" <Paris> & Co's");
  assert_xp(doc, CHSI_R "/chsi:degrees/chsi:degree/chsi:certificateNo", "FR-<2012>&'001'");
  assert_int_equal(xt_dsig_verify(doc, keys.chsi_key), 1);
  xmlFreeDoc(doc);
  free(resp.body);
}

static void test_chsi_faults_of_requests(void **state)
{
  static const char v12[] =
    "<e:Envelope xmlns:e=\"" MOCK_NS_SOAP12 "\"><e:Body><c:VerifyDegrees xmlns:c=\"urn:mock:chsi:degree:1\"/></e:Body></e:Envelope>";
  static const char xxe[] =
    "<?xml version=\"1.0\"?><!DOCTYPE s:Envelope [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
    "<s:Envelope xmlns:s=\"" MOCK_NS_SOAP11 "\"><s:Body><c:VerifyDegrees xmlns:c=\"urn:mock:chsi:degree:1\">"
    "<c:idNumber>" XT_ID_GRADUATE "</c:idNumber><c:name>&x;</c:name></c:VerifyDegrees></s:Body></s:Envelope>";
  static const char other_op[] =
    "<s:Envelope xmlns:s=\"" MOCK_NS_SOAP11 "\"><s:Body><c:Delete xmlns:c=\"urn:mock:chsi:degree:1\"/></s:Body></s:Envelope>";
  struct mock_response resp;
  xmlDocPtr doc;
  (void)state;

  call("chsi", "440305199803151235", "张伟", MOCK_CF_NONE, &resp);  /* bad check char */
  assert_int_equal(resp.status, 500);
  doc = parse(&resp);
  assert_xp(doc, "/soap:Envelope/soap:Body/soap:Fault/faultcode", "soap:Client");
  assert_xp(doc, "//detail/chsi:error/chsi:code", "InvalidIdNumber");
  assert_xp(doc, "//faultstring", "check character does not match");
  assert_xp(doc, "count(//ds:Signature)", "0");
  xmlFreeDoc(doc);
  free(resp.body);

  call_raw("chsi", "POST", "/chsi/DegreeService", NULL, "text/xml", xxe, &resp);
  assert_int_equal(resp.status, 500);
  assert_null(strstr(resp.body, "root:"));
  doc = parse(&resp);
  assert_xp(doc, "//chsi:error/chsi:code", "MalformedRequest");
  assert_xp(doc, "//faultstring", "DOCTYPE declarations are not accepted");
  xmlFreeDoc(doc);
  free(resp.body);

  call_raw("chsi", "POST", "/chsi/DegreeService", NULL, "text/xml", v12, &resp);
  doc = parse(&resp);
  assert_xp(doc, "//faultcode", "soap:VersionMismatch");
  xmlFreeDoc(doc);
  free(resp.body);

  call_raw("chsi", "POST", "/chsi/DegreeService", NULL, "text/xml", other_op, &resp);
  doc = parse(&resp);
  assert_xp(doc, "//chsi:error/chsi:code", "UnknownOperation");
  xmlFreeDoc(doc);
  free(resp.body);

  call_raw("chsi", "POST", "/chsi/DegreeService", NULL, "application/json", "{}", &resp);
  assert_int_equal(resp.status, 415);
  free(resp.body);
  call_raw("chsi", "POST", "/chsi/Other", NULL, "text/xml", "<x/>", &resp);
  assert_int_equal(resp.status, 404);
  free(resp.body);
  call_raw("chsi", "GET", "/chsi/DegreeService", NULL, NULL, NULL, &resp);
  assert_int_equal(resp.status, 405);
  assert_string_equal(resp.headers, "Allow: GET, POST\r\n");
  free(resp.body);
  call_raw("chsi", "DELETE", "/chsi/DegreeService", NULL, NULL, NULL, &resp);
  assert_int_equal(resp.status, 405);
  free(resp.body);
}

static void test_chsi_wsdl(void **state)
{
  struct mock_response resp;
  xmlDocPtr doc;
  (void)state;

  call_raw("chsi", "GET", "/chsi/DegreeService", "wsdl", NULL, NULL, &resp);
  assert_int_equal(resp.status, 200);
  doc = parse(&resp);
  assert_string_equal((const char *)xmlDocGetRootElement(doc)->name, "definitions");
  xmlFreeDoc(doc);
  assert_non_null(strstr(resp.body, "schemaLocation=\"chsi.xsd\""));
  free(resp.body);

  /* asked on a port, the soap:address names that port (a client generated
   * from the WSDL calls the listener it fetched it from) */
  {
    struct mock_request req;
    memset(&req, 0, sizeof(req));
    memset(&resp, 0, sizeof(resp));
    req.method = "GET";
    req.path = "/chsi/DegreeService";
    req.query = "wsdl";
    req.origin = "https://127.0.0.1:40123";
    assert_int_equal(xt_agency("chsi")->handle(&ctx, &req, MOCK_CF_NONE, &resp), 0);
    terminate(&resp);
    assert_int_equal(resp.status, 200);
    assert_non_null(strstr(resp.body,
      "<soap:address location=\"https://127.0.0.1:40123/chsi/DegreeService\"/>"));
    assert_null(strstr(resp.body, "https://127.0.0.1/chsi"));
    doc = parse(&resp);
    xmlFreeDoc(doc);
    free(resp.body);
  }
  call_raw("chsi", "GET", "/chsi/chsi.xsd", NULL, NULL, NULL, &resp);
  assert_int_equal(resp.status, 200);
  doc = parse(&resp);
  assert_string_equal((const char *)xmlDocGetRootElement(doc)->name, "schema");
  xmlFreeDoc(doc);
  free(resp.body);
}

static void test_chsi_content_faults(void **state)
{
  struct mock_response resp;
  xmlDocPtr doc;
  char *signed_id, *mapped;
  (void)state;

  call("chsi", XT_ID_GRADUATE, XT_NAME_GRADUATE, MOCK_CF_FAULT, &resp);
  assert_int_equal(resp.status, 500);
  doc = parse(&resp);
  assert_xp(doc, "//faultcode", "soap:Server");
  assert_xp(doc, "//chsi:error/chsi:code", "ServiceUnavailable");
  xmlFreeDoc(doc);
  free(resp.body);

  call("chsi", XT_ID_GRADUATE, XT_NAME_GRADUATE, MOCK_CF_MALFORMED, &resp);
  assert_int_equal(resp.status, 200);
  assert_null(xmlReadMemory(resp.body, (int)resp.body_len, NULL, NULL,
                            XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING));
  free(resp.body);

  call("chsi", XT_ID_GRADUATE, XT_NAME_GRADUATE, MOCK_CF_BAD_SIGNATURE, &resp);
  doc = parse(&resp);
  assert_xp(doc, CHSI_R "/chsi:degrees/chsi:degree[1]/chsi:major", "临床医学");
  assert_int_equal(xt_dsig_verify(doc, keys.chsi_key), 0);
  xmlFreeDoc(doc);
  free(resp.body);

  call("chsi", XT_ID_NOBODY, "某人", MOCK_CF_BAD_SIGNATURE, &resp);  /* no degree to change */
  doc = parse(&resp);
  assert_xp(doc, CHSI_R "/chsi:name", "李四");
  assert_int_equal(xt_dsig_verify(doc, keys.chsi_key), 0);
  xmlFreeDoc(doc);
  free(resp.body);

  call("chsi", XT_ID_GRADUATE, XT_NAME_GRADUATE, MOCK_CF_WRONG_SIGNER, &resp);
  doc = parse(&resp);
  assert_int_equal(xt_dsig_verify(doc, keys.chsi_key), 0);
  assert_int_equal(xt_dsig_verify(doc, keys.wrong_key), 1);
  xmlFreeDoc(doc);
  free(resp.body);

  /* Wrapping: the signature verifies by Id, but the Body a client maps is
   * not the signed one and says something else. */
  call("chsi", XT_ID_GRADUATE, XT_NAME_GRADUATE, MOCK_CF_SIGNATURE_WRAPPING, &resp);
  assert_int_equal(resp.status, 200);
  doc = parse(&resp);
  assert_int_equal(xt_dsig_verify(doc, keys.chsi_key), 1);
  signed_id = xp(doc, "substring-after(//ds:Reference/@URI, '#')");
  mapped = xp(doc, "/soap:Envelope/soap:Body/@wsu:Id");
  assert_true(signed_id[0] != '\0');
  assert_string_not_equal(signed_id, mapped);
  xmlFree(signed_id);
  xmlFree(mapped);
  assert_xp(doc, "count(/soap:Envelope/soap:Header//soap:Body[@wsu:Id])", "1");
  assert_xp(doc, "count(/soap:Envelope/soap:Body/ds:Signature)", "0");
  assert_xp(doc, CHSI_R "/chsi:degrees/chsi:degree[1]/chsi:level", "doctor");
  assert_xp(doc, CHSI_R "/chsi:degrees/chsi:degree[1]/chsi:institution", "中国科学院大学");
  assert_xp(doc, "count(" CHSI_R "/chsi:degrees/chsi:degree)", "1");
  assert_xp(doc, "count(/soap:Envelope/soap:Header//chsi:degree)", "2");
  xmlFreeDoc(doc);
  free(resp.body);

  call("chsi", XT_ID_GRADUATE, XT_NAME_GRADUATE, MOCK_CF_XXE, &resp);
  assert_non_null(strstr(resp.body, "<!DOCTYPE soap:Envelope ["));
  assert_non_null(strstr(resp.body, "SYSTEM \"file:///etc/passwd\""));
  assert_non_null(strstr(resp.body, "<chsi:institution>&xxe;</chsi:institution>"));
  free(resp.body);

  call("chsi", XT_ID_NOBODY, "某人", MOCK_CF_BILLION_LAUGHS, &resp);
  assert_non_null(strstr(resp.body, "<!ENTITY lol9"));
  assert_non_null(strstr(resp.body, "<chsi:name>&lol9;</chsi:name>"));
  free(resp.body);
}

/* ---- credit ------------------------------------------------------------------ */

#define CREDIT_R "/env:Envelope/env:Body/credit:QueryCreditStatusResponse"

static void test_credit_answers(void **state)
{
  struct mock_response resp;
  xmlDocPtr doc;
  (void)state;

  call("credit", XT_ID_DISHONEST, "王芳", MOCK_CF_NONE, &resp);
  assert_int_equal(resp.status, 200);
  assert_string_equal(resp.content_type, "application/soap+xml; charset=utf-8");
  doc = parse(&resp);
  assert_xp(doc, CREDIT_R "/credit:result", "found");
  assert_xp(doc, CREDIT_R "/credit:status", "dishonest");
  assert_xp(doc, CREDIT_R "/credit:records/@count", "2");
  assert_xp(doc, CREDIT_R "/credit:records/credit:record[1]/credit:kind",
            "dishonest_judgment_debtor");
  assert_xp(doc, CREDIT_R "/credit:records/credit:record[1]/credit:detail",
            "拒不履行生效判决 <案号 (2022)沪0115执1234号> & 限制高消费");
  assert_xp(doc, "count(" CREDIT_R "/credit:records/credit:record[2]/credit:detail)", "0");
  xmlFreeDoc(doc);
  free(resp.body);

  call("credit", XT_ID_GRADUATE, XT_NAME_GRADUATE, MOCK_CF_NONE, &resp);
  doc = parse(&resp);
  assert_xp(doc, CREDIT_R "/credit:status", "good");
  assert_xp(doc, CREDIT_R "/credit:records/@count", "0");
  xmlFreeDoc(doc);
  free(resp.body);

  call("credit", XT_ID_NOBODY, "某人", MOCK_CF_NONE, &resp);
  doc = parse(&resp);
  assert_xp(doc, CREDIT_R "/credit:result", "no_record");
  assert_xp(doc, "count(" CREDIT_R "/credit:status)", "0");
  xmlFreeDoc(doc);
  free(resp.body);
}

static void test_credit_faults(void **state)
{
  static const char v11[] =
    "<s:Envelope xmlns:s=\"" MOCK_NS_SOAP11 "\"><s:Body/></s:Envelope>";
  struct mock_response resp;
  xmlDocPtr doc;
  (void)state;

  call("credit", "99999919900102789X", "王芳", MOCK_CF_NONE, &resp);
  assert_int_equal(resp.status, 400);                   /* env:Sender */
  doc = parse(&resp);
  assert_xp(doc, "//env:Fault/env:Code/env:Value", "env:Sender");
  assert_xp(doc, "//env:Fault/env:Code/env:Subcode/env:Value", "credit:InvalidIdNumber");
  assert_xp(doc, "//env:Fault/env:Reason/env:Text[@xml:lang='zh-CN']", "身份证号码无效");
  assert_xp(doc, "//env:Fault/env:Detail/credit:error/credit:code", "InvalidIdNumber");
  xmlFreeDoc(doc);
  free(resp.body);

  call("credit", XT_ID_GRADUATE, XT_NAME_GRADUATE, MOCK_CF_FAULT, &resp);
  assert_int_equal(resp.status, 500);                   /* env:Receiver */
  doc = parse(&resp);
  assert_xp(doc, "//env:Fault/env:Code/env:Value", "env:Receiver");
  assert_xp(doc, "//env:Fault/env:Code/env:Subcode/env:Value", "credit:ServiceUnavailable");
  xmlFreeDoc(doc);
  free(resp.body);

  call_raw("credit", "POST", "/credit/CreditService", NULL,
           "application/soap+xml; charset=utf-8", v11, &resp);
  assert_int_equal(resp.status, 500);
  doc = parse(&resp);
  assert_xp(doc, "//env:Fault/env:Code/env:Value", "env:VersionMismatch");
  xmlFreeDoc(doc);
  free(resp.body);

  call_raw("credit", "POST", "/credit/CreditService", NULL,
           "application/soap+xml; action=\"urn:mock:credit:1#Delete\"", v11, &resp);
  doc = parse(&resp);
  assert_xp(doc, "//env:Subcode/env:Value", "credit:UnknownOperation");
  xmlFreeDoc(doc);
  free(resp.body);

  call_raw("credit", "POST", "/credit/CreditService", NULL, "text/xml", v11, &resp);
  assert_int_equal(resp.status, 415);
  free(resp.body);
  call_raw("credit", "GET", "/credit/CreditService", "wsdl", NULL, NULL, &resp);
  assert_int_equal(resp.status, 405);
  free(resp.body);

  call("credit", XT_ID_GRADUATE, XT_NAME_GRADUATE, MOCK_CF_MALFORMED, &resp);
  assert_null(xmlReadMemory(resp.body, (int)resp.body_len, NULL, NULL,
                            XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING));
  free(resp.body);
  call("credit", XT_ID_DISHONEST, "王芳", MOCK_CF_XXE, &resp);
  assert_non_null(strstr(resp.body, "<!DOCTYPE env:Envelope ["));
  assert_non_null(strstr(resp.body, "<credit:authority>&xxe;</credit:authority>"));
  free(resp.body);
  call("credit", XT_ID_NOBODY, "某人", MOCK_CF_BILLION_LAUGHS, &resp);
  assert_non_null(strstr(resp.body, "<credit:name>&lol9;</credit:name>"));
  free(resp.body);
  /* Signature faults do not apply to an unsigned agency: a normal answer. */
  call("credit", XT_ID_GRADUATE, XT_NAME_GRADUATE, MOCK_CF_WRONG_SIGNER, &resp);
  assert_int_equal(resp.status, 200);
  doc = parse(&resp);
  assert_xp(doc, CREDIT_R "/credit:status", "good");
  xmlFreeDoc(doc);
  free(resp.body);
}

/* ---- qual ------------------------------------------------------------------------ */

static xmlDocPtr parse_gb(const struct mock_response *resp)
{
  assert_string_equal(resp->content_type, "application/xml; charset=GB18030");
  assert_memory_equal(resp->body, "<?xml version=\"1.0\" encoding=\"GB18030\"?>", 40);
  return parse(resp);               /* libxml2 honours the declaration */
}

static void test_qual_gb18030(void **state)
{
  struct mock_response resp;
  xmlDocPtr doc;
  (void)state;

  call("qual", XT_ID_DISHONEST, "王芳", MOCK_CF_NONE, &resp);
  assert_int_equal(resp.status, 200);
  /* GB18030 bytes for 王芳 (CDF5 B7BC), and not the UTF-8 ones. */
  assert_non_null(memmem(resp.body, resp.body_len, "\xcd\xf5\xb7\xbc", 4));
  assert_null(memmem(resp.body, resp.body_len, "王芳", strlen("王芳")));
  doc = parse_gb(&resp);
  assert_xp(doc, "/certificateQuery/name", "王芳");
  assert_xp(doc, "/certificateQuery/result", "found");
  assert_xp(doc, "/certificateQuery/certificates/@count", "2");
  assert_xp(doc, "/certificateQuery/certificates/certificate[2]/name", "经济师 (金融)");
  assert_xp(doc, "/certificateQuery/certificates/certificate[1]/level", "senior");
  xmlFreeDoc(doc);
  free(resp.body);

  call("qual", XT_ID_OVERSEAS, "李娜", MOCK_CF_NONE, &resp);
  doc = parse_gb(&resp);
  assert_xp(doc, "/certificateQuery/result", "no_record");
  assert_xp(doc, "/certificateQuery/certificates/@count", "0");
  xmlFreeDoc(doc);
  free(resp.body);

  /* A legacy client sends the name percent-encoded in GB18030. */
  call_raw("qual", "GET", "/qual/api/certificates",
           "name=%D5%C5%CE%B0&idNumber=" XT_ID_GRADUATE, NULL, NULL, &resp);
  assert_int_equal(resp.status, 200);
  doc = parse_gb(&resp);
  assert_xp(doc, "/certificateQuery/name", "张伟");
  assert_xp(doc, "/certificateQuery/certificates/certificate/name", "软件设计师");
  xmlFreeDoc(doc);
  free(resp.body);
}

static void test_qual_errors(void **state)
{
  struct mock_response resp;
  struct mock_request req;
  xmlDocPtr doc;
  (void)state;

  memset(&req, 0, sizeof(req));
  req.method = "GET";
  req.path = "/qual/api/certificates";
  req.query = "idNumber=" XT_ID_GRADUATE "&name=x";
  for(int i = 0; i < 3; i++) {
    req.api_key = i == 0 ? NULL : i == 1 ? "xt-api-ke" : "xt-api-kez";
    memset(&resp, 0, sizeof(resp));
    assert_int_equal(mock_agency_qual.handle(&ctx, &req, MOCK_CF_NONE, &resp), 0);
    assert_int_equal(resp.status, 401);
    doc = parse_gb(&resp);
    assert_xp(doc, "/error/code", "AUTH_FAILED");
    assert_xp(doc, "/error/message", "API 密钥缺失或错误");
    xmlFreeDoc(doc);
    free(resp.body);
  }

  call_raw("qual", "GET", "/qual/api/certificates", "idNumber=" XT_ID_GRADUATE, NULL, NULL,
           &resp);
  assert_int_equal(resp.status, 400);
  doc = parse_gb(&resp);
  assert_xp(doc, "/error/code", "INVALID_PARAMETER");
  xmlFreeDoc(doc);
  free(resp.body);

  call_raw("qual", "GET", "/qual/api/certificates", "idNumber=440305199813151234&name=x",
           NULL, NULL, &resp);
  assert_int_equal(resp.status, 400);
  doc = parse_gb(&resp);
  assert_xp(doc, "/error/code", "INVALID_ID_NUMBER");
  assert_xp(doc, "/error/message", "身份证号码无效");
  xmlFreeDoc(doc);
  free(resp.body);

  call_raw("qual", "GET", "/qual/api/certificates", "idNumber=%ZZ&name=x", NULL, NULL, &resp);
  assert_int_equal(resp.status, 400);
  free(resp.body);
  call_raw("qual", "GET", "/qual/api/certificates", "idNumber=1&name=%FF%FF%FF", NULL, NULL,
           &resp);
  assert_int_equal(resp.status, 400);            /* neither UTF-8 nor GB18030 */
  free(resp.body);
  call_raw("qual", "POST", "/qual/api/certificates", NULL, NULL, NULL, &resp);
  assert_int_equal(resp.status, 405);
  assert_string_equal(resp.headers, "Allow: GET\r\n");
  free(resp.body);
  call_raw("qual", "GET", "/qual/api/other", NULL, NULL, NULL, &resp);
  assert_int_equal(resp.status, 404);
  free(resp.body);

  call("qual", XT_ID_GRADUATE, XT_NAME_GRADUATE, MOCK_CF_FAULT, &resp);
  assert_int_equal(resp.status, 200);            /* the legacy way: 200 and an error */
  doc = parse_gb(&resp);
  assert_xp(doc, "/error/code", "SYSTEM_BUSY");
  assert_xp(doc, "/error/message", "系统繁忙，请稍后重试");
  xmlFreeDoc(doc);
  free(resp.body);

  call("qual", XT_ID_GRADUATE, XT_NAME_GRADUATE, MOCK_CF_MALFORMED, &resp);
  assert_null(xmlReadMemory(resp.body, (int)resp.body_len, NULL, NULL,
                            XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING));
  free(resp.body);
  call("qual", XT_ID_GRADUATE, XT_NAME_GRADUATE, MOCK_CF_XXE, &resp);
  assert_non_null(strstr(resp.body, "<!DOCTYPE certificateQuery ["));
  assert_non_null(strstr(resp.body, "<name>&xxe;</name>"));
  free(resp.body);
}

/* ---- cscse ----------------------------------------------------------------------- */

static json_t *cscse_payload(const struct mock_response *resp, EVP_PKEY *key, int want_valid)
{
  char *payload = NULL;
  json_t *o;

  assert_int_equal(resp->status, 200);
  assert_string_equal(resp->content_type, "application/jose");
  assert_int_equal(xt_jws_verify(resp->body, key, &payload), want_valid);
  assert_non_null(payload);
  o = json_loads(payload, 0, NULL);
  free(payload);
  return o;
}

static void test_cscse_jws(void **state)
{
  struct mock_response resp;
  json_t *o, *c;
  (void)state;

  call("cscse", XT_ID_OVERSEAS, "李娜", MOCK_CF_NONE, &resp);
  o = cscse_payload(&resp, keys.cscse_key, 1);
  assert_non_null(o);
  assert_int_equal(xt_jws_verify(resp.body, keys.cscse_wrong_key, NULL), 0);
  assert_string_equal(json_string_value(json_object_get(o, "result")), "found");
  assert_string_equal(json_string_value(json_object_get(o, "requestId")), "xt-0001");
  assert_true(json_integer_value(json_object_get(o, "iat")) > 1700000000);
  assert_string_equal(json_string_value(json_object_get(json_object_get(o, "subject"),
                                                        "idNumberSha256")),
                      /* printf 110108199507204567 | sha256sum */
                      "1d50e673279b5590f964bd9583fd60bc5c145ed9623d0234140c5ed805a781ff");
  c = json_array_get(json_object_get(o, "certifications"), 0);
  assert_string_equal(json_string_value(json_object_get(c, "institution")),
                      "University of Cambridge");
  assert_string_equal(json_string_value(json_object_get(c, "degreeLevel")), "master");
  assert_string_equal(json_string_value(json_object_get(c, "certifiedOn")), "2021-09-15");
  json_decref(o);
  free(resp.body);

  call("cscse", XT_ID_GRADUATE, XT_NAME_GRADUATE, MOCK_CF_NONE, &resp);
  o = cscse_payload(&resp, keys.cscse_key, 1);
  assert_string_equal(json_string_value(json_object_get(o, "result")), "no_record");
  assert_int_equal(json_array_size(json_object_get(o, "certifications")), 0);
  json_decref(o);
  free(resp.body);
}

static void test_cscse_faults(void **state)
{
  struct mock_response resp;
  json_t *o;
  char *payload;
  (void)state;

  call("cscse", XT_ID_OVERSEAS, "李娜", MOCK_CF_BAD_SIGNATURE, &resp);
  o = cscse_payload(&resp, keys.cscse_key, 0);
  assert_string_equal(json_string_value(json_object_get(
    json_array_get(json_object_get(o, "certifications"), 0), "institution")),
    "University of Oxford");
  json_decref(o);
  free(resp.body);

  call("cscse", XT_ID_OVERSEAS, "李娜", MOCK_CF_WRONG_SIGNER, &resp);
  o = cscse_payload(&resp, keys.cscse_key, 0);
  json_decref(o);
  assert_int_equal(xt_jws_verify(resp.body, keys.cscse_wrong_key, NULL), 1);
  free(resp.body);

  call("cscse", XT_ID_OVERSEAS, "李娜", MOCK_CF_MALFORMED, &resp);
  assert_int_equal(xt_jws_verify(resp.body, keys.cscse_key, &payload), 1);
  assert_null(json_loads(payload, 0, NULL));     /* signed, but not JSON */
  free(payload);
  free(resp.body);

  call("cscse", XT_ID_OVERSEAS, "李娜", MOCK_CF_FAULT, &resp);
  assert_int_equal(resp.status, 500);
  o = json_loads(resp.body, 0, NULL);
  assert_string_equal(json_string_value(json_object_get(o, "code")), "E500");
  json_decref(o);
  free(resp.body);

  call("cscse", "11010819950720456X", "李娜", MOCK_CF_NONE, &resp);
  assert_int_equal(resp.status, 422);
  o = json_loads(resp.body, 0, NULL);
  assert_string_equal(json_string_value(json_object_get(o, "code")), "E422");
  json_decref(o);
  free(resp.body);

  call_raw("cscse", "POST", "/cscse/api/v1/certifications/query", NULL, "application/json",
           "{\"idNumber\":\"" XT_ID_OVERSEAS "\",\"idNumber\":\"x\",\"name\":\"a\"}", &resp);
  assert_int_equal(resp.status, 400);             /* duplicate member */
  free(resp.body);
  call_raw("cscse", "POST", "/cscse/api/v1/certifications/query", NULL, "application/json",
           "{\"idNumber\":\"" XT_ID_OVERSEAS "\",\"name\":\"a\\u0000b\"}", &resp);
  assert_int_equal(resp.status, 400);             /* embedded NUL */
  free(resp.body);
  call_raw("cscse", "POST", "/cscse/api/v1/certifications/query", NULL, "application/json",
           "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", &resp);
  assert_int_equal(resp.status, 400);
  free(resp.body);
  call_raw("cscse", "POST", "/cscse/api/v1/certifications/query", NULL, "text/plain", "{}",
           &resp);
  assert_int_equal(resp.status, 415);
  free(resp.body);
  call_raw("cscse", "GET", "/cscse/api/v1/certifications/query", NULL, NULL, NULL, &resp);
  assert_int_equal(resp.status, 405);
  free(resp.body);
  call_raw("cscse", "POST", "/cscse/api/v2/x", NULL, "application/json", "{}", &resp);
  assert_int_equal(resp.status, 404);
  free(resp.body);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_chsi_found_is_signed),
    cmocka_unit_test(test_chsi_no_record_is_signed),
    cmocka_unit_test(test_chsi_escapes_everything),
    cmocka_unit_test(test_chsi_faults_of_requests),
    cmocka_unit_test(test_chsi_wsdl),
    cmocka_unit_test(test_chsi_content_faults),
    cmocka_unit_test(test_credit_answers),
    cmocka_unit_test(test_credit_faults),
    cmocka_unit_test(test_qual_gb18030),
    cmocka_unit_test(test_qual_errors),
    cmocka_unit_test(test_cscse_jws),
    cmocka_unit_test(test_cscse_faults),
  };
  int rc;

  if(mock_xml_init() < 0)
    return 1;
  xmlSecErrorsDefaultCallbackEnableOutput(0);  /* expected failures are quiet */
  rc = cmocka_run_group_tests(tests, setup, teardown);
  mock_xml_cleanup();
  return rc;
}
