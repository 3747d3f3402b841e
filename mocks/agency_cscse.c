/*
 * agency_cscse.c - mock overseas-degree certification (留学服务中心): JSON
 * REST whose answer is a compact JWS.
 *
 * POST /cscse/api/v1/certifications/query with {"idNumber","name"} answers
 * 200 application/jose: BASE64URL(header).BASE64URL(payload).BASE64URL(sig),
 * ES256 with the agency's kid, the payload holding the certifications, the
 * SHA-256 of the normalized number and the issue time.  The one idea: the
 * signed bytes are the only truth - the body is not JSON at all, so a client
 * must verify before it can read anything.  Errors are plain, unsigned JSON
 * {"code":"E4xx|E500","message",...} with the matching HTTP status (the
 * `fault` mode is E500 with 500).  Content faults bend the JWS: a payload
 * swapped after signing, a signature by a stranger's key under our kid, a
 * correctly signed payload that is not JSON.  The XML attacks and wrapping
 * do not apply to JOSE and are served as normal answers.
 */
#include "mock.h"
#include "mock_xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "gw/b64.h"
#include "gw/idnum.h"

#define CSCSE_PATH      "/cscse/api/v1/certifications/query"
#define CSCSE_MAX_BODY  (16 * 1024)    /* a query is two short strings */
#define CSCSE_MAX_REQID 64

/* What bad_signature swaps in after signing. */
static const struct mock_overseas_cert forged_cert = {
  "United Kingdom", "University of Oxford", "doctor", "2020-06-30",
  "CSCSE-FORGED-000001", "2020-09-01"
};

static int cscse_error(struct mock_response *resp, int status, const char *code,
                       const char *message, const char *message_zh)
{
  json_t *o = json_pack("{s:s, s:s, s:s}", "code", code, "message", message,
                        "messageZh", message_zh);
  char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
  int rc = -1;

  if(text)
    rc = mock_response_set(resp, status, "application/json; charset=utf-8",
                           text, strlen(text));
  free(text);
  json_decref(o);
  return rc;
}

static int sha256_hex(const char *s, char out[65])
{
  unsigned char md[32];
  unsigned int mdlen = 0;

  if(EVP_Digest(s, strlen(s), md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
    return -1;
  gw_hex_encode(md, 32, out);
  return 0;
}

static json_t *cert_json(const struct mock_overseas_cert *c)
{
  return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}",
                   "country", c->country, "institution", c->institution,
                   "degreeLevel", c->degree_level, "awardedOn", c->awarded_on,
                   "certificationNo", c->certification_no,
                   "certifiedOn", c->certified_on);
}

/* The payload as compact JSON.  `certs` NULL means no record. */
static char *payload_json(const struct mock_subject_query *q,
                          const struct mock_overseas_cert *certs, int n)
{
  char digest[65];
  json_t *o = NULL, *list;
  char *text = NULL;

  if(sha256_hex(q->id, digest) < 0)
    return NULL;
  list = json_array();
  for(int i = 0; list && i < n; i++)
    if(json_array_append_new(list, cert_json(&certs[i])) < 0)
      goto out;
  o = json_pack("{s:s, s:I, s:{s:s, s:s}, s:s, s:o}",
                "iss", "cscse", "iat", (json_int_t)time(NULL),
                "subject", "idNumberSha256", digest, "name", q->name,
                "result", n > 0 ? "found" : "no_record",
                "certifications", list);
  list = NULL;                 /* "o" steals it, even on failure */
  if(!o || (q->request_id[0] &&
            json_object_set_new(o, "requestId", json_string(q->request_id)) < 0))
    goto out;
  text = json_dumps(o, JSON_COMPACT);
out:
  json_decref(list);
  json_decref(o);
  return text;
}

/* Swaps the payload segment of `jws` for BASE64URL(payload). */
static char *splice_payload(const char *jws, const char *payload)
{
  const char *d1 = strchr(jws, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
  struct mock_buf b;
  char *p64 = NULL;

  if(!d2 || mock_b64url_encode((const unsigned char *)payload, strlen(payload), &p64) < 0)
    return NULL;
  mock_buf_init(&b, MOCK_XML_MAX_DOC * 2);
  mock_buf_add(&b, jws, (size_t)(d1 - jws) + 1);
  mock_buf_adds(&b, p64);
  mock_buf_adds(&b, d2);
  free(p64);
  if(mock_buf_failed(&b)) {
    mock_buf_free(&b);
    return NULL;
  }
  return b.data;
}

static int answer(const struct mock_ctx *ctx, const struct mock_subject_query *q,
                  const struct mock_person *p, enum mock_content_fault cf,
                  struct mock_response *resp)
{
  const struct mock_keys *k = ctx->keys;
  EVP_PKEY *key = cf == MOCK_CF_WRONG_SIGNER ? k->cscse_wrong_key : k->cscse_key;
  int n = p ? p->n_overseas : 0;
  char *payload = NULL, *jws = NULL, *bent = NULL;
  int rc = -1;

  if(n < 0)
    n = 0;
  if(n > MOCK_MAX_OVERSEAS)
    n = MOCK_MAX_OVERSEAS;
  if(!key)
    return cscse_error(resp, 500, "E500", "signing key not configured", "签名密钥未配置");
  payload = payload_json(q, p ? p->overseas : NULL, n);
  if(!payload)
    goto out;
  if(cf == MOCK_CF_MALFORMED)
    payload[strlen(payload) / 2] = '\0';  /* signed, but not JSON */
  if(mock_jws_es256(key, k->cscse_kid, payload, strlen(payload), &jws) < 0)
    goto out;
  if(cf == MOCK_CF_BAD_SIGNATURE) {
    char *forged = payload_json(q, &forged_cert, 1);
    bent = forged ? splice_payload(jws, forged) : NULL;
    free(forged);
    if(!bent)
      goto out;
    free(jws);
    jws = bent;
    bent = NULL;
  }
  rc = mock_response_set(resp, 200, "application/jose", jws, strlen(jws));
out:
  free(payload);
  free(jws);
  free(bent);
  return rc;
}

/* Reads {"idNumber","name"[,"requestId"]}.  Returns NULL with *q filled or
 * the English reason; *bad_id tells an invalid number from a bad request. */
static const char *read_query(const struct mock_request *req,
                              struct mock_subject_query *q, int *bad_id)
{
  json_t *root, *v;
  json_error_t err;
  const char *why = NULL, *s;

  *bad_id = 0;
  memset(q, 0, sizeof(*q));
  root = json_loadb(req->body ? req->body : "", req->body_len,
                    JSON_REJECT_DUPLICATES, &err);
  if(!json_is_object(root)) {
    why = "body is not a JSON object";
    goto out;
  }
  v = json_object_get(root, "idNumber");
  s = json_string_value(v);
  if(!s || strlen(s) != json_string_length(v) ||
     gw_idnum_normalize(s, q->id, 0) != GW_IDNUM_OK) {
    why = "idNumber is missing or not a resident identity number";
    *bad_id = 1;
    goto out;
  }
  v = json_object_get(root, "name");
  s = json_string_value(v);
  if(!s || !s[0] || strlen(s) != json_string_length(v) || strlen(s) >= sizeof(q->name)) {
    why = "name is missing, empty or too long";
    goto out;
  }
  memcpy(q->name, s, strlen(s) + 1);
  v = json_object_get(root, "requestId");
  if(v) {
    s = json_string_value(v);
    if(!s || !s[0] || strlen(s) > CSCSE_MAX_REQID || strspn(s,
         "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") != strlen(s)) {
      why = "requestId must be 1-64 of A-Z a-z 0-9 . _ -";
      goto out;
    }
    memcpy(q->request_id, s, strlen(s) + 1);
  }
out:
  json_decref(root);
  return why;
}

static int handle(const struct mock_ctx *ctx, const struct mock_request *req,
                  enum mock_content_fault cf, struct mock_response *resp)
{
  struct mock_subject_query q;
  struct mock_person person;
  const char *why;
  int bad_id;

  if(strcmp(req->path, CSCSE_PATH) != 0)
    return cscse_error(resp, 404, "E404", "no such endpoint", "接口不存在");
  if(strcmp(req->method, "POST") != 0) {
    if(cscse_error(resp, 405, "E405", "use POST", "请求方法不允许") < 0)
      return -1;
    return mock_response_add_header(resp, "Allow", "POST") < 0 ? -1 : 0;
  }
  if(!mock_media_type_is(req->content_type, "application/json"))
    return cscse_error(resp, 415, "E415", "send application/json", "请求格式不支持");
  if(req->body_len > CSCSE_MAX_BODY)
    return cscse_error(resp, 413, "E413", "request body too large", "请求过大");
  if(cf == MOCK_CF_FAULT)
    return cscse_error(resp, 500, "E500", "certification service temporarily unavailable",
                       "认证服务暂时不可用");

  why = read_query(req, &q, &bad_id);
  if(why)
    return bad_id ? cscse_error(resp, 422, "E422", why, "身份证号码无效")
                  : cscse_error(resp, 400, "E400", why, "请求参数错误");
  switch(mock_population_lookup(ctx->pop, q.id, &person)) {
  case MOCK_LOOKUP_FOUND:
    return answer(ctx, &q, &person, cf, resp);
  case MOCK_LOOKUP_NO_RECORD:
    return answer(ctx, &q, NULL, cf, resp);
  case MOCK_LOOKUP_INVALID:
    break;
  }
  return cscse_error(resp, 422, "E422", "not a resident identity number", "身份证号码无效");
}

const struct mock_agency_ops mock_agency_cscse = { "cscse", handle };
