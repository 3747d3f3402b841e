/*
 * agency_credit.c - mock credit platform (诚信): credit status over SOAP 1.2.
 *
 * POST /credit/CreditService takes a QueryCreditStatus(idNumber, name)
 * envelope (application/soap+xml, optional action parameter) and answers
 * with good / warning / dishonest and the records behind it.  The one idea:
 * this agency is "SOAP 1.2 done by the book" - faults carry Code, Subcode,
 * Reason (English and Chinese) and Detail, env:Sender faults are HTTP 400 and
 * the rest 500, a SOAP 1.1 envelope gets env:VersionMismatch - so the
 * gateway's soap12 codec meets every part of the binding.  Responses are not
 * signed; the signature faults do not apply and are served as normal answers
 * (the control endpoint refuses them for this agency anyway).
 */
#include "mock.h"
#include "mock_xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CREDIT_NS     "urn:mock:credit:1"
#define CREDIT_PATH   "/credit/CreditService"
#define CREDIT_ACTION CREDIT_NS "#QueryCreditStatus"
#define CREDIT_MAX_ACTION 128       /* the action parameter we bother reading */

static int credit_fault(struct mock_response *resp, enum mock_soap_fault_code code,
                        const char *detail_code, const char *reason,
                        const char *reason_zh, int status)
{
  struct mock_soap_fault f = { code, "credit", CREDIT_NS, detail_code, reason, reason_zh };
  return mock_soap_fault_respond(resp, MOCK_SOAP12, &f, status);
}

static const char *status_of(const struct mock_person *p)
{
  if(strcmp(p->credit_status, "warning") == 0 || strcmp(p->credit_status, "dishonest") == 0)
    return p->credit_status;
  return "good";               /* "" (nothing known against them) is good */
}

static void add_payload(struct mock_buf *b, const struct mock_subject_query *q,
                        const struct mock_person *p)
{
  int n = p ? p->n_credit : 0;
  char now[21];

  if(n < 0)
    n = 0;
  if(n > MOCK_MAX_CREDIT)
    n = MOCK_MAX_CREDIT;
  mock_xml_now(now);
  mock_buf_adds(b, "<credit:QueryCreditStatusResponse xmlns:credit=\"" CREDIT_NS "\">");
  if(q->request_id[0])
    mock_buf_add_elem(b, "credit:requestId", q->request_id);
  mock_buf_add_elem(b, "credit:idNumber", q->id);
  mock_buf_add_elem(b, "credit:name", q->name);
  mock_buf_add_elem(b, "credit:result", p ? "found" : "no_record");
  if(p)
    mock_buf_add_elem(b, "credit:status", status_of(p));
  mock_buf_add_elem(b, "credit:queriedAt", now);
  mock_buf_addf(b, "<credit:records count=\"%d\">", n);
  for(int i = 0; i < n; i++) {
    const struct mock_credit_record *r = &p->credit[i];
    mock_buf_adds(b, "<credit:record>");
    mock_buf_add_elem(b, "credit:kind", r->kind);
    mock_buf_add_elem(b, "credit:authority", r->authority);
    mock_buf_add_elem(b, "credit:decidedOn", r->decided_on);
    if(r->detail[0])
      mock_buf_add_elem(b, "credit:detail", r->detail);
    mock_buf_adds(b, "</credit:record>");
  }
  mock_buf_adds(b, "</credit:records></credit:QueryCreditStatusResponse>");
}

/* Writes the answer for `q` (p NULL: no record), bent by `cf`. */
static int answer(const struct mock_subject_query *q, const struct mock_person *p,
                  enum mock_content_fault cf, struct mock_response *resp)
{
  static const char *const targets[] = { "credit:authority", "credit:name", NULL };
  struct mock_buf b;
  int rc = -1;

  mock_buf_init(&b, MOCK_XML_MAX_DOC);
  mock_soap_open(&b, MOCK_SOAP12, NULL);
  add_payload(&b, q, p);
  mock_soap_close(&b, MOCK_SOAP12);
  if(mock_buf_failed(&b))
    goto out;
  if(mock_buf_xml_fault(&b, cf, "env:Envelope", targets))
    goto out;
  rc = mock_buf_respond(&b, resp, 200, mock_soap_content_type(MOCK_SOAP12));
out:
  mock_buf_free(&b);
  return rc;
}

/* Reads and checks the QueryCreditStatus payload.  Returns 0 with *q filled,
 * 1 after writing a fault into *resp, or -1 on out-of-memory. */
static int read_query(const struct mock_request *req, struct mock_subject_query *q,
                      struct mock_response *resp)
{
  char action[CREDIT_MAX_ACTION];
  xmlDocPtr doc = NULL;
  xmlNodePtr payload;
  enum mock_parse pr;
  const char *why = NULL;
  int rc;

  /* SOAP 1.2 carries the action as a media type parameter, not a header. */
  if(mock_media_type_param(req->content_type, "action", action, sizeof(action)) == 0 &&
     !mock_soap_action_ok(action, CREDIT_ACTION))
    return credit_fault(resp, MOCK_SOAP_SENDER, "UnknownOperation",
                        "action does not name an operation of this service", NULL, 0)
           < 0 ? -1 : 1;
  pr = mock_xml_parse(req->body, req->body_len, &doc);
  if(pr == MOCK_PARSE_OK)
    pr = mock_soap_payload(doc, MOCK_SOAP12, &payload);
  if(pr == MOCK_PARSE_NOMEM)
    rc = -1;
  else if(pr == MOCK_PARSE_VERSION_MISMATCH)
    rc = credit_fault(resp, MOCK_SOAP_VERSION_MISMATCH, "VersionMismatch",
                      "this service speaks SOAP 1.2 only", "仅支持 SOAP 1.2", 0);
  else if(pr != MOCK_PARSE_OK)
    rc = credit_fault(resp, MOCK_SOAP_SENDER,
                      pr == MOCK_PARSE_TOO_BIG ? "RequestTooLarge" : "MalformedRequest",
                      mock_parse_strerror(pr), "请求格式错误",
                      pr == MOCK_PARSE_TOO_BIG ? 413 : 0);
  else if(!payload->ns || strcmp((const char *)payload->ns->href, CREDIT_NS) != 0 ||
          strcmp((const char *)payload->name, "QueryCreditStatus") != 0)
    rc = credit_fault(resp, MOCK_SOAP_SENDER, "UnknownOperation",
                      "the Body does not hold a credit:QueryCreditStatus", NULL, 0);
  else {
    switch(mock_xml_read_subject(payload, CREDIT_NS, q, &why)) {
    case MOCK_SUBJECT_OK:
      rc = 0;
      goto out;
    case MOCK_SUBJECT_BAD_ID:
      rc = credit_fault(resp, MOCK_SOAP_SENDER, "InvalidIdNumber", why, "身份证号码无效", 0);
      break;
    case MOCK_SUBJECT_BAD_FIELD:
    default:
      rc = credit_fault(resp, MOCK_SOAP_SENDER, "InvalidField", why, "请求字段无效", 0);
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

static int handle(const struct mock_ctx *ctx, const struct mock_request *req,
                  enum mock_content_fault cf, struct mock_response *resp)
{
  struct mock_subject_query q;
  struct mock_person person;
  int rc;

  if(strcmp(req->path, CREDIT_PATH) != 0)
    return credit_fault(resp, MOCK_SOAP_SENDER, "NotFound", "no such endpoint",
                        "接口不存在", 404);
  if(strcmp(req->method, "POST") != 0) {
    if(credit_fault(resp, MOCK_SOAP_SENDER, "MethodNotAllowed", "use POST", NULL, 405) < 0)
      return -1;
    return mock_response_add_header(resp, "Allow", "POST") < 0 ? -1 : 0;
  }
  if(!mock_media_type_is(req->content_type, "application/soap+xml"))
    return credit_fault(resp, MOCK_SOAP_SENDER, "UnsupportedMediaType",
                        "SOAP 1.2 requests are application/soap+xml; charset=utf-8",
                        NULL, 415);
  if(cf == MOCK_CF_FAULT)
    return credit_fault(resp, MOCK_SOAP_RECEIVER, "ServiceUnavailable",
                        "credit database temporarily unavailable",
                        "信用信息库暂时不可用", 0);

  rc = read_query(req, &q, resp);
  if(rc != 0)
    return rc < 0 ? -1 : 0;
  switch(mock_population_lookup(ctx->pop, q.id, &person)) {
  case MOCK_LOOKUP_FOUND:
    return answer(&q, &person, cf, resp);
  case MOCK_LOOKUP_NO_RECORD:
    return answer(&q, NULL, cf, resp);
  case MOCK_LOOKUP_INVALID:
    break;
  }
  return credit_fault(resp, MOCK_SOAP_SENDER, "InvalidIdNumber",
                      "not a resident identity number", "身份证号码无效", 0);
}

const struct mock_agency_ops mock_agency_credit = { "credit", handle };
