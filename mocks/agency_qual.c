/*
 * agency_qual.c - mock qualifications service (职业资格): plain XML over GET,
 * encoded in GB18030, behind an API key.
 *
 * GET /qual/api/certificates?idNumber=...&name=... with X-Api-Key answers
 * with the subject's professional and vocational certificates.  The one
 * idea: this is the legacy system of the family - no SOAP, no namespace, an
 * error document with HTTP 200 when it is "busy", and every byte in GB18030
 * (declared in the XML declaration and the Content-Type), so a client that
 * assumes UTF-8 garbles every Chinese name.  Documents are built in UTF-8,
 * bent for the content faults, and converted last.  The query string is
 * capped and percent-decoded, and the name accepted as UTF-8 or, failing
 * that, GB18030 (what the legacy clients send).
 */
#include "mock.h"
#include "mock_xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "gw/idnum.h"

#define QUAL_PATH        "/qual/api/certificates"
#define QUAL_CTYPE       "application/xml; charset=GB18030"
#define QUAL_MAX_QUERY   2048          /* raw query string */
#define QUAL_MAX_ID      32            /* decoded idNumber, longer is invalid */
#define QUAL_DECL        "<?xml version=\"1.0\" encoding=\"GB18030\"?>\n"

struct qual_query {
  char id[GW_IDNUM_LEN + 1];           /* normalized */
  char name[MOCK_XML_MAX_FIELD];       /* UTF-8 */
};

/* Converts the UTF-8 document in *b to GB18030 and hands it to *resp. */
static int respond_gb18030(struct mock_buf *b, int status, struct mock_response *resp)
{
  char *gb = NULL;
  size_t len = 0;

  if(mock_buf_failed(b) || mock_iconv("GB18030", "UTF-8", b->data, b->len, &gb, &len) < 0) {
    mock_buf_free(b);
    return -1;
  }
  mock_buf_free(b);
  free(resp->body);
  resp->status = status;
  snprintf(resp->content_type, sizeof(resp->content_type), "%s", QUAL_CTYPE);
  resp->body = gb;
  resp->body_len = len;
  return 0;
}

static int qual_error(struct mock_response *resp, int status, const char *code,
                      const char *message_zh, const char *detail)
{
  struct mock_buf b;

  mock_buf_init(&b, MOCK_XML_MAX_DOC);
  mock_buf_adds(&b, QUAL_DECL "<error>");
  mock_buf_add_elem(&b, "code", code);
  mock_buf_add_elem(&b, "message", message_zh);
  if(detail)
    mock_buf_add_elem(&b, "detail", detail);
  mock_buf_adds(&b, "</error>\n");
  return respond_gb18030(&b, status, resp);
}

/* Reads idNumber and name out of the query string.  Returns NULL with *q
 * name filled and raw_id set, or the English reason the query is refused. */
static const char *read_query(const char *query, char *raw_id, size_t id_cap,
                              struct qual_query *q)
{
  char raw_name[MOCK_XML_MAX_FIELD];

  if(query && strlen(query) > QUAL_MAX_QUERY)
    return "query string too long";
  if(mock_query_param(query, "idNumber", raw_id, id_cap) != 1 || !raw_id[0])
    return "idNumber is missing, badly encoded or too long";
  if(mock_query_param(query, "name", raw_name, sizeof(raw_name)) != 1 || !raw_name[0])
    return "name is missing, badly encoded or too long";

  /* The name arrives as UTF-8 from modern clients and as GB18030 from the
   * legacy ones this service grew up with. */
  if(mock_utf8_valid(raw_name, strlen(raw_name)))
    memcpy(q->name, raw_name, strlen(raw_name) + 1);
  else {
    char *utf8 = NULL;
    size_t ulen = 0;
    if(mock_iconv("UTF-8", "GB18030", raw_name, strlen(raw_name), &utf8, &ulen) < 0 ||
       ulen >= sizeof(q->name)) {
      free(utf8);
      return "name is neither UTF-8 nor GB18030";
    }
    memcpy(q->name, utf8, ulen + 1);
    free(utf8);
  }
  return NULL;
}

static void add_answer(struct mock_buf *b, const struct qual_query *q,
                       const struct mock_person *p)
{
  int n = p ? p->n_quals : 0;
  char now[21];

  if(n < 0)
    n = 0;
  if(n > MOCK_MAX_QUALS)
    n = MOCK_MAX_QUALS;
  mock_xml_now(now);
  mock_buf_adds(b, QUAL_DECL "<certificateQuery>");
  mock_buf_add_elem(b, "idNumber", q->id);
  mock_buf_add_elem(b, "name", q->name);
  mock_buf_add_elem(b, "result", n > 0 ? "found" : "no_record");
  mock_buf_add_elem(b, "queriedAt", now);
  mock_buf_addf(b, "<certificates count=\"%d\">", n);
  for(int i = 0; i < n; i++) {
    const struct mock_qual_cert *c = &p->quals[i];
    mock_buf_adds(b, "<certificate>");
    mock_buf_add_elem(b, "kind", c->kind);
    mock_buf_add_elem(b, "name", c->name);
    mock_buf_add_elem(b, "level", c->level);
    mock_buf_add_elem(b, "issuedOn", c->issued_on);
    mock_buf_add_elem(b, "certNo", c->cert_no);
    mock_buf_adds(b, "</certificate>");
  }
  mock_buf_adds(b, "</certificates></certificateQuery>\n");
}

static int answer(const struct qual_query *q, const struct mock_person *p,
                  enum mock_content_fault cf, struct mock_response *resp)
{
  static const char *const targets[] = { "name", NULL };
  struct mock_buf b;

  mock_buf_init(&b, MOCK_XML_MAX_DOC);
  add_answer(&b, q, p);
  if(mock_buf_failed(&b)) {
    mock_buf_free(&b);
    return -1;
  }
  if(mock_buf_xml_fault(&b, cf, "certificateQuery", targets)) {
    mock_buf_free(&b);
    return -1;
  }
  return respond_gb18030(&b, 200, resp);
}

static int api_key_ok(const struct mock_keys *keys, const char *given)
{
  size_t want = strlen(keys->qual_api_key);

  /* An unconfigured key refuses everyone rather than admitting everyone. */
  if(!given || want == 0 || strlen(given) != want)
    return 0;
  return CRYPTO_memcmp(given, keys->qual_api_key, want) == 0;
}

static int handle(const struct mock_ctx *ctx, const struct mock_request *req,
                  enum mock_content_fault cf, struct mock_response *resp)
{
  struct qual_query q;
  struct mock_person person;
  char raw_id[QUAL_MAX_ID];
  const char *why;
  enum gw_idnum_result ir;

  memset(&q, 0, sizeof(q));
  if(strcmp(req->path, QUAL_PATH) != 0)
    return qual_error(resp, 404, "NOT_FOUND", "接口不存在", "no such endpoint");
  if(strcmp(req->method, "GET") != 0) {
    if(qual_error(resp, 405, "METHOD_NOT_ALLOWED", "请求方法不允许", "use GET") < 0)
      return -1;
    return mock_response_add_header(resp, "Allow", "GET") < 0 ? -1 : 0;
  }
  if(!api_key_ok(ctx->keys, req->api_key))
    return qual_error(resp, 401, "AUTH_FAILED", "API 密钥缺失或错误",
                      "missing or wrong X-Api-Key");
  if(cf == MOCK_CF_FAULT)
    return qual_error(resp, 200, "SYSTEM_BUSY", "系统繁忙，请稍后重试",
                      "qualification database busy");

  why = read_query(req->query, raw_id, sizeof(raw_id), &q);
  if(why)
    return qual_error(resp, 400, "INVALID_PARAMETER", "请求参数错误", why);
  ir = gw_idnum_normalize(raw_id, q.id, 0);
  if(ir != GW_IDNUM_OK)
    return qual_error(resp, 400, "INVALID_ID_NUMBER", "身份证号码无效", gw_idnum_strerror(ir));
  switch(mock_population_lookup(ctx->pop, q.id, &person)) {
  case MOCK_LOOKUP_FOUND:
    return answer(&q, &person, cf, resp);
  case MOCK_LOOKUP_NO_RECORD:
    return answer(&q, NULL, cf, resp);
  case MOCK_LOOKUP_INVALID:
    break;
  }
  return qual_error(resp, 400, "INVALID_ID_NUMBER", "身份证号码无效",
                    "not a resident identity number");
}

const struct mock_agency_ops mock_agency_qual = { "qual", handle };
