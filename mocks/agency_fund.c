/*
 * agency_fund.c - mock housing provident fund (住房公积金): JSON REST behind
 * the signed-header scheme of government API platforms.
 *
 *   POST /fund/api/v1/deposit/query   {"id_number": "..."}
 *
 * Every request carries four headers: X-Sz-AppId (the caller's app id),
 * X-Sz-Timestamp (Unix seconds), X-Sz-Nonce (16-64 of [0-9A-Za-z]) and
 * X-Sz-Signature, the base64 HMAC-SHA256 under the app's secret of
 *
 *   METHOD "\n" PATH "\n" QUERY "\n" APPID "\n" TIMESTAMP "\n" NONCE "\n"
 *   lowercase hex SHA-256 of the body
 *
 * The platform checks them in the order a real gateway does (headers, app,
 * replay window of 300 s either way, signature, then the nonce, so a forged
 * request cannot burn someone else's nonce) and answers every refusal with
 * HTTP 401 and its own code/msg envelope.  Codes are strings, as this
 * platform's are: "0000" success, "2001" no deposit record, "1001" bad
 * parameter, "4000".."4004" authentication, "5000" busy (HTTP 200: the
 * "fault" mode), "5003" nonce store full (HTTP 503).
 */
#include "mock.h"

#include "gw/b64.h"
#include "gw/idnum.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FUND_QUERY_PATH "/fund/api/v1/deposit/query"
#define FUND_WINDOW_S 300              /* timestamp may differ this much */
#define FUND_NONCE_MIN 16
#define FUND_NONCE_MAX 64
#define FUND_CANON_MAX (8 * 1024)

static int fund_answer(struct mock_response *resp, int status, const char *code,
                       const char *msg, json_t *data)
{
  return mock_response_json(resp, status, json_pack("{s:s, s:s, s:o}", "code", code,
                                                    "msg", msg, "data",
                                                    data ? data : json_null()));
}

static int refuse(struct mock_response *resp, const char *code, const char *msg)
{
  if(mock_response_add_header(resp, "WWW-Authenticate", "SzSign realm=\"fund\""))
    return -1;
  return fund_answer(resp, 401, code, msg, NULL);
}

static int nonce_ok(const char *s)
{
  size_t n = strlen(s);
  if(n < FUND_NONCE_MIN || n > FUND_NONCE_MAX)
    return 0;
  for(size_t i = 0; i < n; i++)
    if(!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') ||
         (s[i] >= 'A' && s[i] <= 'Z')))
      return 0;
  return 1;
}

/* Checks the four headers.  0 when the request is authentic and fresh, 1
 * after writing the refusal, -1 on out-of-memory. */
static int authenticate(const struct mock_ctx *ctx, const struct mock_request *req,
                        struct mock_response *resp)
{
  const char *app = mock_request_header(req, "X-Sz-AppId", NULL);
  const char *ts = mock_request_header(req, "X-Sz-Timestamp", NULL);
  const char *nonce = mock_request_header(req, "X-Sz-Nonce", NULL);
  const char *sig = mock_request_header(req, "X-Sz-Signature", NULL);
  unsigned char digest[32], mac[32], given[64];
  char body_hex[65], *canon;
  size_t given_len = 0;
  unsigned int mac_len = 0;
  long long t;
  char *end;
  time_t now = time(NULL);
  int n, ok;

  if(!app || !ts || !nonce || !sig)
    return refuse(resp, "4000", "缺少签名头: X-Sz-AppId, X-Sz-Timestamp, X-Sz-Nonce and "
                  "X-Sz-Signature are required") < 0 ? -1 : 1;
  if(strcmp(app, ctx->keys->fund_app_id))
    return refuse(resp, "4004", "应用不存在: unknown app id") < 0 ? -1 : 1;
  t = strtoll(ts, &end, 10);
  if(!*ts || *end || t < now - FUND_WINDOW_S || t > now + FUND_WINDOW_S)
    return refuse(resp, "4002", "时间戳超出有效期: timestamp outside the 300 s window")
           < 0 ? -1 : 1;
  if(!nonce_ok(nonce))
    return refuse(resp, "4000", "随机数格式错误: nonce must be 16-64 letters or digits")
           < 0 ? -1 : 1;

  if(!EVP_Digest(req->body_len ? req->body : "", req->body_len, digest, NULL, EVP_sha256(),
                 NULL))
    return -1;
  gw_hex_encode(digest, sizeof(digest), body_hex);
  if(!(canon = malloc(FUND_CANON_MAX)))
    return -1;
  n = snprintf(canon, FUND_CANON_MAX, "%s\n%s\n%s\n%s\n%s\n%s\n%s", req->method, req->path,
               req->query ? req->query : "", app, ts, nonce, body_hex);
  ok = n > 0 && n < FUND_CANON_MAX &&
       HMAC(EVP_sha256(), ctx->keys->fund_app_secret, (int)strlen(ctx->keys->fund_app_secret),
            (const unsigned char *)canon, (size_t)n, mac, &mac_len) && mac_len == 32;
  free(canon);
  if(!ok)
    return -1;
  if(gw_b64_decode(GW_B64_STD, sig, strlen(sig), given, sizeof(given), &given_len) != GW_B64_OK ||
     given_len != 32 || CRYPTO_memcmp(given, mac, 32))
    return refuse(resp, "4001", "签名错误: signature mismatch") < 0 ? -1 : 1;

  /* Remembered for twice the window: a timestamp at the far edge of one
   * side stays acceptable that long. */
  switch(mock_replay_check(MOCK_REPLAY_FUND, nonce, strlen(nonce), now, 2 * FUND_WINDOW_S + 1)) {
  case MOCK_REPLAY_FRESH:
    return 0;
  case MOCK_REPLAY_SEEN:
    return refuse(resp, "4003", "重复请求: nonce already used") < 0 ? -1 : 1;
  case MOCK_REPLAY_FULL:
  default:
    return fund_answer(resp, 503, "5003", "系统繁忙: nonce store full", NULL) < 0 ? -1 : 1;
  }
}

static int deposit(const struct mock_ctx *ctx, const char *id, struct mock_response *resp)
{
  char norm[GW_IDNUM_LEN + 1], msg[128], as_of[11];
  enum gw_idnum_result r = gw_idnum_normalize(id, norm, 0);
  struct mock_person p;
  time_t now = time(NULL);
  struct tm tm;
  json_t *employer;

  if(r != GW_IDNUM_OK) {
    snprintf(msg, sizeof(msg), "参数错误: invalid id_number (%s)", gw_idnum_strerror(r));
    return fund_answer(resp, 400, "1001", msg, NULL);
  }
  /* The platform echoes the number it looked up, found or not. */
  if(mock_population_lookup(ctx->pop, norm, &p) != MOCK_LOOKUP_FOUND || !p.in_fund)
    return fund_answer(resp, 200, "2001", "未查询到缴存记录: no deposit record",
                       json_pack("{s:s}", "id_number", norm));
  if(!gmtime_r(&now, &tm) || !strftime(as_of, sizeof(as_of), "%Y-%m-%d", &tm))
    snprintf(as_of, sizeof(as_of), "1970-01-01");
  employer = p.fund_employer_name[0]
    ? json_pack("{s:s, s:s}", "unit_name", p.fund_employer_name, "unit_uscc", p.fund_employer_uscc)
    : json_null();
  return fund_answer(resp, 200, "0000", "成功",
    json_pack("{s:s, s:s, s:s, s:i, s:o, s:s}", "id_number", norm, "name", mock_record_name(&p, p.fund_name),
              "account_status", p.fund_employer_name[0] ? "normal" : "sealed",
              "deposit_months_sz", p.fund_shenzhen_months, "unit", employer,
              "as_of", as_of));
}

static int handle(const struct mock_ctx *ctx, const struct mock_request *req,
                  enum mock_content_fault cf, struct mock_response *resp)
{
  json_t *body;
  const char *id;
  int rc;

  if(strcmp(req->path, FUND_QUERY_PATH))
    return fund_answer(resp, 404, "4040", "接口不存在: no such resource", NULL);
  if(strcmp(req->method, "POST")) {
    if(mock_response_add_header(resp, "Allow", "POST"))
      return -1;
    return fund_answer(resp, 405, "4050", "method not allowed", NULL);
  }
  rc = authenticate(ctx, req, resp);
  if(rc)
    return rc < 0 ? -1 : 0;
  if(cf == MOCK_CF_FAULT)
    return fund_answer(resp, 200, "5000", "系统繁忙，请稍后再试", NULL);
  body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, NULL);
  id = json_string_value(json_object_get(body, "id_number"));
  rc = id ? deposit(ctx, id, resp)
          : fund_answer(resp, 400, "1002", "参数错误: body must be {\"id_number\": string}", NULL);
  json_decref(body);
  if(!rc && cf == MOCK_CF_MALFORMED)
    rc = mock_response_malform_json(resp);
  return rc;
}

const struct mock_agency_ops mock_agency_fund = { "fund", handle };
