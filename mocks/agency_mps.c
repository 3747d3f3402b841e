/*
 * agency_mps.c - mock population registry (公安人口库): identity verification.
 *
 * One JSON REST call behind mutual TLS (the transport refuses a client
 * without a certificate from the agency CA before this code runs):
 *
 *   POST /mps/v1/identity/verify   {"id_number": "...", "name": "..."}
 *
 * Like the real service it answers "consistent" or "inconsistent" and gives
 * birth date and household registration only when name and number belong
 * together: a caller cannot learn who holds a number by guessing names.
 * Errors are the registry's own {"error": {"code", "message"}, "trace_id"}.
 */
#include "mock.h"

#include "gw/b64.h"
#include "gw/idnum.h"

#include <jansson.h>
#include <openssl/rand.h>
#include <string.h>

#define MPS_VERIFY_PATH "/mps/v1/identity/verify"

static void trace_id(char out[24])
{
  unsigned char rnd[8] = { 0 };

  if(RAND_bytes(rnd, sizeof(rnd)) != 1)
    memset(rnd, 0, sizeof(rnd));
  memcpy(out, "mps-", 4);
  gw_hex_encode(rnd, sizeof(rnd), out + 4);
}

static int error(struct mock_response *resp, int status, const char *code,
                 const char *message)
{
  char tid[24];

  trace_id(tid);
  return mock_response_json(resp, status,
                            json_pack("{s:{s:s, s:s}, s:s}", "error", "code", code,
                                      "message", message, "trace_id", tid));
}

static int is_json(const char *content_type)
{
  size_t n = strlen("application/json");
  return content_type && !strncasecmp(content_type, "application/json", n) &&
         (content_type[n] == '\0' || content_type[n] == ';' || content_type[n] == ' ');
}

/* Names compare as registered, ignoring ASCII spaces around them. */
static int same_name(const char *registered, const char *given)
{
  size_t n;

  while(*given == ' ')
    given++;
  n = strlen(given);
  while(n && given[n - 1] == ' ')
    n--;
  return strlen(registered) == n && !memcmp(registered, given, n);
}

static int verify(const struct mock_ctx *ctx, const struct mock_request *req,
                  struct mock_response *resp)
{
  json_error_t jerr;
  json_t *body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
  const char *id, *name;
  char norm[GW_IDNUM_LEN + 1], msg[160], tid[24];
  enum gw_idnum_result r;
  struct mock_person p;
  int rc;

  if(!body || !json_is_object(body)) {
    snprintf(msg, sizeof(msg), "request body must be a JSON object%s%.100s",
             body ? "" : ": ", body ? "" : jerr.text);
    rc = error(resp, 400, "INVALID_REQUEST", msg);
    goto out;
  }
  id = json_string_value(json_object_get(body, "id_number"));
  name = json_string_value(json_object_get(body, "name"));
  if(!id || !name || !*name) {
    rc = error(resp, 400, "INVALID_REQUEST", !id ? "id_number is required (string)"
                                                  : "name is required (non-empty string)");
    goto out;
  }
  r = gw_idnum_normalize(id, norm, 0);
  if(r != GW_IDNUM_OK) {
    snprintf(msg, sizeof(msg), "id_number is not a valid resident identity number: %s",
             gw_idnum_strerror(r));
    rc = error(resp, 400, "INVALID_ID_NUMBER", msg);
    goto out;
  }
  if(mock_population_lookup(ctx->pop, norm, &p) != MOCK_LOOKUP_FOUND || !p.in_mps) {
    rc = error(resp, 404, "PERSON_NOT_FOUND", "no population record for this identity number");
    goto out;
  }
  trace_id(tid);
  if(!same_name(p.name, name)) {
    rc = mock_response_json(resp, 200,
                            json_pack("{s:s, s:s, s:b, s:s}", "trace_id", tid,
                                      "id_number", norm, "match", 0, "result", "inconsistent"));
    goto out;
  }
  rc = mock_response_json(resp, 200,
    json_pack("{s:s, s:s, s:b, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:b}}",
              "trace_id", tid, "id_number", norm, "match", 1, "result", "consistent",
              "name", p.name, "gender", (norm[16] - '0') % 2 ? "male" : "female",
              "birth_date", p.birth_date,
              "hukou", "province", p.hukou_province, "city", p.hukou_city,
              "district", p.hukou_district, "is_shenzhen", p.hukou_is_shenzhen));
out:
  json_decref(body);
  return rc;
}

static int handle(const struct mock_ctx *ctx, const struct mock_request *req,
                  enum mock_content_fault cf, struct mock_response *resp)
{
  int rc;

  if(strcmp(req->path, MPS_VERIFY_PATH))
    return error(resp, 404, "NOT_FOUND", "no such resource");
  if(strcmp(req->method, "POST")) {
    if(mock_response_add_header(resp, "Allow", "POST"))
      return -1;
    return error(resp, 405, "METHOD_NOT_ALLOWED", "use POST");
  }
  if(!is_json(req->content_type))
    return error(resp, 415, "UNSUPPORTED_MEDIA_TYPE", "Content-Type must be application/json");
  if(cf == MOCK_CF_FAULT)
    return error(resp, 503, "SERVICE_UNAVAILABLE", "人口信息库暂时无法访问，请稍后重试");
  rc = verify(ctx, req, resp);
  if(!rc && cf == MOCK_CF_MALFORMED)
    rc = mock_response_malform_json(resp);
  return rc;
}

const struct mock_agency_ops mock_agency_mps = { "mps", handle };
