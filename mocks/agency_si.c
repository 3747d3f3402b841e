/*
 * agency_si.c - mock social insurance (社保): JSON REST behind OAuth2.
 *
 *   POST /si/oauth/token              client_credentials (RFC 6749 4.4)
 *   GET  /si/v1/insured/{id_number}   Authorization: Bearer <token>
 *   POST /si/v1/insured/query         {"id_number": "..."}, same token
 *
 * Tokens are stateless: base64url(expiry || nonce || HMAC-SHA256), keyed by
 * a random per-process key, so every worker thread can check any token
 * without shared state, and a restart invalidates them all, as a real
 * authorization server's key rotation would.  Resource answers use the
 * errcode/errmsg envelope common to Chinese government APIs, including its
 * worst habit: the "fault" mode answers HTTP 200 with errcode -1.
 */
#include "mock.h"

#include "gw/b64.h"
#include "gw/idnum.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#define SI_TOKEN_PATH   "/si/oauth/token"
#define SI_INSURED_PATH "/si/v1/insured/"
#define SI_QUERY_PATH   "/si/v1/insured/query"
#define SI_SCOPE        "insured.read"
#define SI_MAX_FORM     4096             /* token request body */
#define TOKEN_RAW       48               /* 8 expiry + 8 nonce + 32 mac */
#define TOKEN_TEXT      64               /* its base64url length */

static unsigned char token_key[32];
static pthread_once_t token_key_once = PTHREAD_ONCE_INIT;
static int token_key_ok;

static void token_key_init(void)
{
  token_key_ok = RAND_bytes(token_key, sizeof(token_key)) == 1;
}

static uint64_t now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int token_mac(const unsigned char *msg, unsigned char mac[32])
{
  unsigned int len = 0;
  pthread_once(&token_key_once, token_key_init);
  return token_key_ok &&
         HMAC(EVP_sha256(), token_key, sizeof(token_key), msg, 16, mac, &len) && len == 32
         ? 0 : -1;
}

static int token_issue(int ttl_s, char out[TOKEN_TEXT + 1])
{
  unsigned char raw[TOKEN_RAW];
  uint64_t exp = now_ms() + (uint64_t)ttl_s * 1000u;

  for(int i = 0; i < 8; i++)
    raw[i] = (unsigned char)(exp >> (56 - 8 * i));
  if(RAND_bytes(raw + 8, 8) != 1 || token_mac(raw, raw + 16))
    return -1;
  return gw_b64_encode(GW_B64_URL, raw, sizeof(raw), out, TOKEN_TEXT + 1, NULL) == GW_B64_OK
         ? 0 : -1;
}

enum token_check { TOKEN_OK, TOKEN_MISSING, TOKEN_INVALID, TOKEN_EXPIRED };

static enum token_check token_check(const char *authorization)
{
  unsigned char raw[TOKEN_RAW], mac[32];
  const char *tok;
  uint64_t exp = 0;
  size_t len = 0;

  if(!authorization || strncasecmp(authorization, "Bearer ", 7))
    return TOKEN_MISSING;
  for(tok = authorization + 7; *tok == ' '; tok++)
    ;
  if(strlen(tok) != TOKEN_TEXT ||
     gw_b64_decode(GW_B64_URL, tok, TOKEN_TEXT, raw, sizeof(raw), &len) != GW_B64_OK ||
     len != TOKEN_RAW ||
     token_mac(raw, mac) || CRYPTO_memcmp(mac, raw + 16, 32))
    return TOKEN_INVALID;
  for(int i = 0; i < 8; i++)
    exp = exp << 8 | raw[i];
  return now_ms() < exp ? TOKEN_OK : TOKEN_EXPIRED;
}

/* ---- token endpoint --------------------------------------------------------- */

static int oauth_error(struct mock_response *resp, int status, const char *error,
                       const char *description, int basic_challenge)
{
  if(mock_response_add_header(resp, "Cache-Control", "no-store") ||
     (basic_challenge && mock_response_add_header(resp, "WWW-Authenticate", "Basic realm=\"si\"")))
    return -1;
  return mock_response_json(resp, status, json_pack("{s:s, s:s}", "error", error,
                                                    "error_description", description));
}

static int form_is(const char *content_type)
{
  static const char form[] = "application/x-www-form-urlencoded";
  size_t n = sizeof(form) - 1;
  return content_type && !strncasecmp(content_type, form, n) &&
         (content_type[n] == '\0' || content_type[n] == ';');
}

/* Client credentials from HTTP Basic (RFC 6749 2.3.1: each part is
 * form-urlencoded before base64).  0 ok, -1 malformed. */
static int basic_credentials(const char *authorization, char *id, size_t idcap,
                             char *secret, size_t secretcap)
{
  unsigned char dec[512];
  const char *b64 = authorization + 6;
  size_t len;
  int n;
  char *colon;

  while(*b64 == ' ')
    b64++;
  len = strlen(b64);
  if(len == 0 || len % 4 || len > 4 * (sizeof(dec) - 1) / 3)
    return -1;
  n = EVP_DecodeBlock(dec, (const unsigned char *)b64, (int)len);
  if(n < 0)
    return -1;
  while(len && b64[--len] == '=')
    n--;                               /* EVP_DecodeBlock counts padding */
  dec[n] = '\0';
  colon = strchr((char *)dec, ':');
  if(!colon || memchr(dec, '\0', (size_t)n))
    return -1;
  return mock_url_decode((char *)dec, (size_t)(colon - (char *)dec), id, idcap) ||
         mock_url_decode(colon + 1, strlen(colon + 1), secret, secretcap) ? -1 : 0;
}

static int token(const struct mock_ctx *ctx, const struct mock_request *req,
                 enum mock_content_fault cf, struct mock_response *resp)
{
  char form[SI_MAX_FORM + 1], grant[64], scope[128], id[128], secret[256];
  char body_id[128], body_secret[256], tok[TOKEN_TEXT + 1];
  int basic = req->authorization && !strncasecmp(req->authorization, "Basic ", 6);
  int has_id, has_secret, rc;

  if(strcmp(req->method, "POST")) {
    if(mock_response_add_header(resp, "Allow", "POST"))
      return -1;
    return oauth_error(resp, 405, "invalid_request", "the token endpoint takes POST", 0);
  }
  if(cf == MOCK_CF_FAULT)
    return oauth_error(resp, 503, "temporarily_unavailable", "authorization server is busy", 0);
  if(!form_is(req->content_type) || req->body_len > SI_MAX_FORM)
    return oauth_error(resp, 400, "invalid_request",
                       "body must be application/x-www-form-urlencoded, at most 4096 bytes", 0);
  memcpy(form, req->body, req->body_len);
  form[req->body_len] = '\0';
  if(mock_query_param(form, "grant_type", grant, sizeof(grant)) != 1)
    return oauth_error(resp, 400, "invalid_request", "grant_type is required", 0);
  if(strcmp(grant, "client_credentials"))
    return oauth_error(resp, 400, "unsupported_grant_type", "only client_credentials is supported", 0);
  rc = mock_query_param(form, "scope", scope, sizeof(scope));
  if(rc < 0 || (rc == 1 && strcmp(scope, SI_SCOPE)))
    return oauth_error(resp, 400, "invalid_scope", "the only scope is " SI_SCOPE, 0);

  has_id = mock_query_param(form, "client_id", body_id, sizeof(body_id));
  has_secret = mock_query_param(form, "client_secret", body_secret, sizeof(body_secret));
  if(has_id < 0 || has_secret < 0)
    return oauth_error(resp, 400, "invalid_request", "client_id or client_secret is malformed", 0);
  if(basic && (has_id || has_secret))
    return oauth_error(resp, 400, "invalid_request",
                       "use one client authentication method, not both", 0);
  if(basic) {
    if(basic_credentials(req->authorization, id, sizeof(id), secret, sizeof(secret)))
      return oauth_error(resp, 401, "invalid_client", "malformed Basic credentials", 1);
  } else if(has_id == 1 && has_secret == 1) {
    snprintf(id, sizeof(id), "%s", body_id);
    snprintf(secret, sizeof(secret), "%s", body_secret);
  } else {
    return oauth_error(resp, 401, "invalid_client", "client authentication is required", 0);
  }
  if(strcmp(id, ctx->keys->si_client_id) ||
     strlen(secret) != strlen(ctx->keys->si_client_secret) ||
     CRYPTO_memcmp(secret, ctx->keys->si_client_secret, strlen(secret)))
    return oauth_error(resp, 401, "invalid_client", "unknown client or wrong secret", basic);

  if(token_issue(ctx->si_token_ttl_s, tok))
    return -1;
  if(mock_response_add_header(resp, "Cache-Control", "no-store") ||
     mock_response_add_header(resp, "Pragma", "no-cache"))
    return -1;
  rc = mock_response_json(resp, 200, json_pack("{s:s, s:s, s:i, s:s}", "access_token", tok,
                                               "token_type", "Bearer",
                                               "expires_in", ctx->si_token_ttl_s,
                                               "scope", SI_SCOPE));
  if(!rc && cf == MOCK_CF_MALFORMED)
    rc = mock_response_malform_json(resp);
  return rc;
}

/* ---- resources ----------------------------------------------------------------- */

static int si_error(struct mock_response *resp, int status, int errcode, const char *errmsg)
{
  return mock_response_json(resp, status, json_pack("{s:i, s:s}", "errcode", errcode,
                                                    "errmsg", errmsg));
}

static int unauthorized(struct mock_response *resp, enum token_check why)
{
  const char *challenge =
    why == TOKEN_MISSING ? "Bearer realm=\"si\", scope=\"" SI_SCOPE "\""
    : why == TOKEN_EXPIRED ? "Bearer realm=\"si\", error=\"invalid_token\", "
                             "error_description=\"The access token expired\""
    : "Bearer realm=\"si\", error=\"invalid_token\", "
      "error_description=\"The access token is invalid\"";

  if(mock_response_add_header(resp, "WWW-Authenticate", challenge))
    return -1;
  return si_error(resp, 401, why == TOKEN_MISSING ? 40100 : why == TOKEN_EXPIRED ? 40102 : 40101,
                  why == TOKEN_MISSING ? "access token required"
                  : why == TOKEN_EXPIRED ? "access token expired" : "access token invalid");
}

static int insured(const struct mock_ctx *ctx, const char *id, struct mock_response *resp)
{
  char norm[GW_IDNUM_LEN + 1], msg[128], as_of[11];
  enum gw_idnum_result r = gw_idnum_normalize(id, norm, 0);
  struct mock_person p;
  time_t now = time(NULL);
  struct tm tm;
  json_t *employer;

  if(r != GW_IDNUM_OK) {
    snprintf(msg, sizeof(msg), "参数错误: invalid id_number (%s)", gw_idnum_strerror(r));
    return si_error(resp, 400, 40001, msg);
  }
  if(mock_population_lookup(ctx->pop, norm, &p) != MOCK_LOOKUP_FOUND || !p.in_si)
    return si_error(resp, 404, 40400, "未查询到参保记录: no social insurance record");
  if(!gmtime_r(&now, &tm) || !strftime(as_of, sizeof(as_of), "%Y-%m-%d", &tm))
    snprintf(as_of, sizeof(as_of), "1970-01-01");
  employer = p.employer_name[0]
    ? json_pack("{s:s, s:s}", "name", p.employer_name, "uscc", p.employer_uscc)
    : json_null();
  return mock_response_json(resp, 200,
    json_pack("{s:i, s:s, s:{s:s, s:s, s:s, s:i, s:o, s:s}}", "errcode", 0, "errmsg", "ok",
              "data", "id_number", norm, "name", mock_record_name(&p, p.si_name),
              "insured_status", p.employer_name[0] ? "active" : "suspended",
              "shenzhen_months", p.si_shenzhen_months, "employer", employer,
              "as_of", as_of));
}

static int resource(const struct mock_ctx *ctx, const struct mock_request *req,
                    enum mock_content_fault cf, struct mock_response *resp)
{
  enum token_check tc = token_check(req->authorization);
  int query = !strcmp(req->path, SI_QUERY_PATH), rc;
  json_t *body = NULL;
  const char *id;

  if(strcmp(req->method, query ? "POST" : "GET")) {
    if(mock_response_add_header(resp, "Allow", query ? "POST" : "GET"))
      return -1;
    return si_error(resp, 405, 40500, "method not allowed");
  }
  if(tc == TOKEN_OK && cf == MOCK_CF_EXPIRED_TOKEN)
    tc = TOKEN_EXPIRED;
  if(tc != TOKEN_OK)
    return unauthorized(resp, tc);
  if(cf == MOCK_CF_FAULT)
    return si_error(resp, 200, -1, "系统繁忙，请稍后再试");
  if(query) {
    body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, NULL);
    id = json_string_value(json_object_get(body, "id_number"));
    rc = id ? insured(ctx, id, resp)
            : si_error(resp, 400, 40002, "参数错误: body must be {\"id_number\": string}");
    json_decref(body);
  } else {
    rc = insured(ctx, req->path + strlen(SI_INSURED_PATH), resp);
  }
  if(!rc && cf == MOCK_CF_MALFORMED)
    rc = mock_response_malform_json(resp);
  return rc;
}

static int handle(const struct mock_ctx *ctx, const struct mock_request *req,
                  enum mock_content_fault cf, struct mock_response *resp)
{
  if(!strcmp(req->path, SI_TOKEN_PATH))
    return token(ctx, req, cf, resp);
  if(!strncmp(req->path, SI_INSURED_PATH, strlen(SI_INSURED_PATH)) &&
     req->path[strlen(SI_INSURED_PATH)] && !strchr(req->path + strlen(SI_INSURED_PATH), '/'))
    return resource(ctx, req, cf, resp);
  return si_error(resp, 404, 40404, "no such resource");
}

const struct mock_agency_ops mock_agency_si = { "si", handle };
