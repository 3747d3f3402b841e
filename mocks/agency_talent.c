/*
 * agency_talent.c - mock high-level talent and postdoc registry (高层次人才 /
 * 博士后): paged JSON REST behind an API key.
 *
 *   GET /talent/v1/persons?id_number=...&page=N&page_size=M   X-Api-Key: ...
 *
 * The registry keeps records, not answers: every recognition a person ever
 * had (reserve, then C, then B ... with all but the newest superseded or
 * expired) and their postdoc station stints.  A caller pages through them
 * and decides from the record marked current, which is why the curated
 * high-level and postdoc people span several pages at small page sizes.
 * Records are derived from the person and the number only, so they are the
 * same on every call.  Envelope: {"code", "message", "data"}.
 */
#include "mock.h"

#include "gw/idnum.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#define TALENT_PATH "/talent/v1/persons"
#define TALENT_MAX_PAGE 10000
#define TALENT_MAX_PAGE_SIZE 50
#define TALENT_DEFAULT_PAGE_SIZE 10

static int envelope(struct mock_response *resp, int status, const char *code,
                    const char *message, json_t *data)
{
  return mock_response_json(resp, status, json_pack("{s:s, s:s, s:o}", "code", code,
                                                    "message", message,
                                                    "data", data ? data : json_null()));
}

static int api_key_ok(const struct mock_ctx *ctx, const char *key)
{
  size_t n = strlen(ctx->keys->talent_api_key);
  return strlen(key) == n && !CRYPTO_memcmp(key, ctx->keys->talent_api_key, n);
}

/* Reads a positive integer query parameter; absent gives `dflt`. */
static int int_param(const char *query, const char *name, int dflt, int max, int *out)
{
  char buf[16], *end;
  long v;
  int rc = mock_query_param(query, name, buf, sizeof(buf));

  *out = dflt;
  if(rc == 0)
    return 0;
  if(rc < 0)
    return -1;
  v = strtol(buf, &end, 10);
  if(end == buf || *end || v < 1 || v > max)
    return -1;
  *out = (int)v;
  return 0;
}

static const char *const ladder[] = { "reserve", "C", "B", "A" };

static int rung(const char *level)
{
  for(int i = 0; i < 4; i++)
    if(!strcmp(ladder[i], level))
      return i;
  return -1;
}

/* Every record the registry holds on `p`, newest recognition first. */
static json_t *all_records(const struct mock_person *p)
{
  json_t *recs = json_array();
  int top = rung(p->talent_level), digits = 0;

  for(int i = 0; i < 17; i++)
    digits += p->id[i] - '0';
  /* the current recognition is from 2019-2024; each earlier rung three years before */
  for(int r = top, first = top > 1 ? top - 2 : 0; recs && r >= first; r--) {
    int year = 2019 + digits % 6 - 3 * (top - r);
    char on[24], until[24], no[32];
    const char *status = r == top ? "current" : r == 0 ? "expired" : "superseded";
    snprintf(on, sizeof(on), "%04d-05-20", year);
    snprintf(until, sizeof(until), "%04d-05-19", year + 5);
    snprintf(no, sizeof(no), "SZRC-%04d-%.6s", year, p->id + 11);
    if(json_array_append_new(recs, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
                                             "record_type", "talent_recognition",
                                             "level", ladder[r], "status", status,
                                             "program", "深圳市高层次专业人才认定",
                                             "recognized_on", on, "valid_until", until,
                                             "certificate_no", no))) {
      json_decref(recs);
      return NULL;
    }
  }
  if(recs && p->postdoc_known &&
     json_array_append_new(recs, json_pack("{s:s, s:s, s:s, s:b, s:s, s:s?}",
                                           "record_type", "postdoc",
                                           "status", p->postdoc_in_station ? "in_station" : "left",
                                           "station", p->postdoc_station,
                                           "in_station", p->postdoc_in_station,
                                           "entered_on", p->postdoc_entered_on,
                                           "left_on", p->postdoc_left_on[0] ? p->postdoc_left_on
                                                                            : NULL))) {
    json_decref(recs);
    return NULL;
  }
  return recs;
}

static int persons(const struct mock_ctx *ctx, const struct mock_request *req,
                   enum mock_content_fault cf, struct mock_response *resp)
{
  char id[64], norm[GW_IDNUM_LEN + 1], msg[128];
  int page, size, rc;
  enum gw_idnum_result r;
  struct mock_person p;
  json_t *all = NULL, *records;
  size_t total, first;

  rc = mock_query_param(req->query, "id_number", id, sizeof(id));
  if(rc != 1 || !id[0])
    return envelope(resp, 400, "E1000", "缺少参数: id_number is required", NULL);
  r = gw_idnum_normalize(id, norm, 0);
  if(r != GW_IDNUM_OK) {
    snprintf(msg, sizeof(msg), "身份证号码无效: %s", gw_idnum_strerror(r));
    return envelope(resp, 400, "E1001", msg, NULL);
  }
  if(int_param(req->query, "page", 1, TALENT_MAX_PAGE, &page) ||
     int_param(req->query, "page_size", TALENT_DEFAULT_PAGE_SIZE, TALENT_MAX_PAGE_SIZE, &size))
    return envelope(resp, 400, "E1002", "分页参数错误: page >= 1, 1 <= page_size <= 50", NULL);
  if(cf == MOCK_CF_FAULT)
    return envelope(resp, 500, "E5000", "系统内部错误，请联系管理员", NULL);

  if(mock_population_lookup(ctx->pop, norm, &p) == MOCK_LOOKUP_FOUND) {
    all = all_records(&p);
    if(!all)
      return -1;
  } else {
    all = json_array();
  }
  total = json_array_size(all);
  records = json_array();
  first = (size_t)(page - 1) * (size_t)size;
  for(size_t i = first; records && i < total && i < first + (size_t)size; i++)
    if(json_array_append(records, json_array_get(all, i))) {
      json_decref(records);
      records = NULL;
    }
  json_decref(all);
  if(!records)
    return -1;
  rc = envelope(resp, 200, "0", "success",
                json_pack("{s:s, s:i, s:i, s:I, s:I, s:o}", "id_number", norm, "page", page,
                          "page_size", size, "total", (json_int_t)total,
                          "total_pages", (json_int_t)((total + (size_t)size - 1) / (size_t)size),
                          "records", records));
  if(!rc && cf == MOCK_CF_MALFORMED)
    rc = mock_response_malform_json(resp);
  return rc;
}

static int handle(const struct mock_ctx *ctx, const struct mock_request *req,
                  enum mock_content_fault cf, struct mock_response *resp)
{
  if(strcmp(req->path, TALENT_PATH))
    return envelope(resp, 404, "E0404", "接口不存在: no such resource", NULL);
  if(strcmp(req->method, "GET")) {
    if(mock_response_add_header(resp, "Allow", "GET"))
      return -1;
    return envelope(resp, 405, "E0405", "method not allowed", NULL);
  }
  if(!req->api_key || !req->api_key[0])
    return envelope(resp, 401, "E0401", "缺少 X-Api-Key: api key required", NULL);
  if(!api_key_ok(ctx, req->api_key))
    return envelope(resp, 403, "E0403", "api key not authorized", NULL);
  return persons(ctx, req, cf, resp);
}

const struct mock_agency_ops mock_agency_talent = { "talent", handle };
