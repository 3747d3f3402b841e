/*
 * test_codec_paging.c - the three adapter-format additions end to end in
 * the codec, with the repository's own adapters (adapters/talent.json,
 * si.json, mps.json) and the fact schemas of schemas/facts:
 *
 *   paging           the request for each page (query parameters), the page
 *                    count the fetch reads, and talent answers spread over
 *                    one, three or no pages joined and mapped once; every way
 *                    the pages can disagree or fail, located by page
 *   first / default  talent.level from the current recognition, "none"
 *                    when there is none; postdoc.status from the postdoc
 *                    record, not_found without one
 *   subject binding  an answer about another person (or naming nobody) is
 *                    bad_response for every fact, whichever page it is,
 *                    without echoing either identity number; the id form
 *                    (any case of X) and the sha256 form (cscse's)
 *   when_absent      si's employer null is not_found while the months are ok
 *
 * Bodies are written here the way docs/mocks.md says the mock agencies
 * answer; tests/codec/ runs the mock handlers themselves.  The adapters'
 * file paths (../pki/...) are pointed at tests/adapters/certs and their
 * secrets at an environment variable before loading.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "gw/adapter.h"
#include "codec.h"
#include "gw/factschema.h"
#include "../lib/catalogue_fixture.h"

#define ID "11010519491231002X"
#define OTHER_ID "110105194912310029"

static char root[512];
static struct gw_factschema_set *schemas;

/* Loads adapters/NAME.json with its TLS and secret references made local. */
static struct gw_adapter *load_repo_adapter(const char *name, json_t *(*patch)(json_t *))
{
  char path[700], ca[700], err[1024];
  json_error_t jerr;
  json_t *doc, *auth;
  struct gw_adapter *a = NULL;
  char *text;

  snprintf(path, sizeof(path), "%s/adapters/%s.json", root, name);
  snprintf(ca, sizeof(ca), "%s/tests/adapters/certs/agency-ca.pem", root);
  doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
  if(!doc)
    fail_msg("%s: %s", path, jerr.text);
  json_object_set_new(json_object_get(doc, "tls"), "ca_file", json_string(ca));
  json_object_del(json_object_get(doc, "tls"), "client_cert");
  json_object_del(json_object_get(doc, "tls"), "client_key");
  auth = json_object_get(doc, "auth");
  if(json_object_get(auth, "key"))
    json_object_set_new(auth, "key", json_string("env:GW_TEST_AGENCY_SECRET"));
  if(json_object_get(auth, "client_secret"))
    json_object_set_new(auth, "client_secret", json_string("env:GW_TEST_AGENCY_SECRET"));
  if(!strcmp(json_string_value(json_object_get(auth, "type")), "mtls"))
    json_object_set_new(auth, "type", json_string("none"));
  if(patch)
    doc = patch(doc);
  text = json_dumps(doc, 0);
  json_decref(doc);
  if(gw_adapter_load_text(text, strlen(text), name, root, &a, err, sizeof(err)))
    fail_msg("%s", err);
  free(text);
  return a;
}

static int setup(void **state)
{
  const char *src = getenv("GW_SOURCE_DIR");
  char dir[600], err[512];
  (void)state;
  if(!src || !*src) {
    fprintf(stderr, "GW_SOURCE_DIR is not set (run through ctest)\n");
    return -1;
  }
  snprintf(root, sizeof(root), "%s", src);
  setenv("GW_TEST_AGENCY_SECRET", "test-secret", 1);
  snprintf(dir, sizeof(dir), "%s/schemas/facts", root);
  if(gw_factschema_set_load(dir, &schemas, err, sizeof(err))) {
    fprintf(stderr, "%s\n", err);
    return -1;
  }
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  gw_factschema_set_free(schemas);
  return 0;
}

/* ---- talent answers, as the mock writes them --------------------------------- */

static const char rec_b[] =
  "{\"record_type\":\"talent_recognition\",\"level\":\"B\",\"status\":\"current\","
  "\"program\":\"深圳市高层次专业人才认定\",\"recognized_on\":\"2023-05-20\","
  "\"valid_until\":\"2028-05-19\",\"certificate_no\":\"SZRC-2023-214754\"}";
static const char rec_c[] =
  "{\"record_type\":\"talent_recognition\",\"level\":\"C\",\"status\":\"superseded\","
  "\"program\":\"深圳市高层次专业人才认定\",\"recognized_on\":\"2020-05-20\","
  "\"valid_until\":\"2025-05-19\",\"certificate_no\":\"SZRC-2020-214754\"}";
static const char rec_reserve[] =
  "{\"record_type\":\"talent_recognition\",\"level\":\"reserve\",\"status\":\"expired\","
  "\"program\":\"深圳市高层次专业人才认定\",\"recognized_on\":\"2017-05-20\","
  "\"valid_until\":\"2022-05-19\",\"certificate_no\":\"SZRC-2017-214754\"}";
static const char rec_postdoc[] =
  "{\"record_type\":\"postdoc\",\"status\":\"in_station\",\"station\":\"南方科技大学物理学博士后科研流动站\","
  "\"in_station\":true,\"entered_on\":\"2023-09-01\",\"left_on\":null}";

struct page_text {
  char text[2048];
};

static void talent_page(struct page_text *p, const char *id, int page, int size, int total,
                        int total_pages, const char *records)
{
  snprintf(p->text, sizeof(p->text),
           "{\"code\":\"0\",\"message\":\"success\",\"data\":{\"id_number\":\"%s\",\"page\":%d,"
           "\"page_size\":%d,\"total\":%d,\"total_pages\":%d,\"records\":[%s]}}",
           id, page, size, total, total_pages, records);
}

static void process(const struct gw_adapter *a, const char *subject, struct page_text *texts,
                    const int *status, size_t n, struct gw_codec_result *r)
{
  struct gw_codec_page pages[8];
  assert_true(n <= 8);
  for(size_t i = 0; i < n; i++) {
    pages[i].http_status = status ? status[i] : 200;
    pages[i].body = (const unsigned char *)texts[i].text;
    pages[i].len = strlen(texts[i].text);
  }
  gw_codec_process_pages(a, NULL, schemas, subject, pages, n, r);
}

static void want_value(const struct gw_codec_result *r, size_t i, const char *want)
{
  char *got;
  if(r->facts[i].status != GW_FACT_OK)
    fail_msg("fact %zu: %s (%s), want ok %s", i, gw_fact_status_name(r->facts[i].status),
             r->facts[i].detail, want);
  got = json_dumps(r->facts[i].value, JSON_COMPACT | JSON_ENCODE_ANY);
  if(strcmp(got, want))
    fail_msg("fact %zu: got %s, want %s", i, got, want);
  free(got);
}

static void want_fail(const struct gw_codec_result *r, enum gw_fact_status st,
                        enum gw_fact_error e, const char *detail)
{
  for(size_t i = 0; i < r->n_facts; i++) {
    if(r->facts[i].status != st || (st == GW_FACT_UNAVAILABLE && r->facts[i].error != e))
      fail_msg("fact %zu: %s/%s (%s), want %s/%s", i, gw_fact_status_name(r->facts[i].status),
               gw_fact_error_name(r->facts[i].error), r->facts[i].detail,
               gw_fact_status_name(st), gw_fact_error_name(e));
    if(detail && strcmp(r->facts[i].detail, detail))
      fail_msg("fact %zu:\n  got  \"%s\"\n  want \"%s\"", i, r->facts[i].detail, detail);
    /* an identity number never appears in a detail */
    assert_null(strstr(r->facts[i].detail, ID));
    assert_null(strstr(r->facts[i].detail, OTHER_ID));
    assert_null(r->facts[i].value);
  }
}

/* ---- paging ---------------------------------------------------------------------- */

static void talent_requests(void **state)
{
  struct gw_adapter *a = load_repo_adapter("talent", NULL);
  struct gw_codec_request req;
  char err[256];
  (void)state;
  assert_non_null(a->paging.page_param);
  assert_int_equal(a->paging.size, 50);
  assert_int_equal(gw_codec_build(a, ID, "张三", "r1", 0, &req, err, sizeof(err)), 0);
  assert_string_equal(req.url, "https://talent.agency.invalid:8447/talent/v1/persons"
                               "?id_number=" ID "&page=1&page_size=50");
  assert_string_equal(req.method, "GET");
  assert_null(req.body);
  gw_codec_request_clear(&req);
  assert_int_equal(gw_codec_build_page(a, ID, "张三", "r1", 0, 3, &req, err, sizeof(err)), 0);
  assert_string_equal(req.url, "https://talent.agency.invalid:8447/talent/v1/persons"
                               "?id_number=" ID "&page=3&page_size=50");
  gw_codec_request_clear(&req);
  assert_int_equal(gw_codec_build_page(a, ID, "张三", "r1", 0, 0, &req, err, sizeof(err)), -1);
  gw_adapter_unref(a);

  a = load_repo_adapter("si", NULL);           /* no paging: no page requests */
  assert_int_equal(gw_codec_build_page(a, ID, "张三", "r1", 0, 1, &req, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "no request.paging"));
  gw_adapter_unref(a);
}

static void talent_page_total(void **state)
{
  struct gw_adapter *a = load_repo_adapter("talent", NULL);
  struct page_text p;
  long long total = -1;
  (void)state;
  talent_page(&p, ID, 1, 1, 3, 3, rec_b);
  assert_int_equal(gw_codec_page_total(a, NULL, ID, 200, (const unsigned char *)p.text,
                                       strlen(p.text), &total), 0);
  assert_int_equal(total, 3);
  talent_page(&p, ID, 1, 50, 0, 0, "");
  assert_int_equal(gw_codec_page_total(a, NULL, ID, 200, (const unsigned char *)p.text,
                                       strlen(p.text), &total), 0);
  assert_int_equal(total, 0);
  /* a page that decides the outcome by itself: another subject, a fault,
   * an error status, no count */
  talent_page(&p, OTHER_ID, 1, 1, 3, 3, rec_b);
  assert_int_equal(gw_codec_page_total(a, NULL, ID, 200, (const unsigned char *)p.text,
                                       strlen(p.text), &total), -1);
  talent_page(&p, ID, 1, 1, 3, 3, rec_b);
  assert_int_equal(gw_codec_page_total(a, NULL, ID, 500, (const unsigned char *)p.text,
                                       strlen(p.text), &total), -1);
  assert_int_equal(gw_codec_page_total(a, NULL, ID, 403, (const unsigned char *)"{}", 2,
                                       &total), -1);
  assert_int_equal(gw_codec_page_total(a, NULL, ID, 200,
                                       (const unsigned char *)"{\"data\":{\"id_number\":\"" ID "\"}}",
                                       strlen("{\"data\":{\"id_number\":\"" ID "\"}}"), &total), -1);
  gw_adapter_unref(a);
}

static void talent_three_pages(void **state)
{
  struct gw_adapter *a = load_repo_adapter("talent", NULL);
  struct page_text p[4];
  struct gw_codec_result r;
  (void)state;
  /* highlevel-b as page_size 1 shows it: B current, C, reserve, postdoc */
  talent_page(&p[0], ID, 1, 1, 4, 4, rec_b);
  talent_page(&p[1], ID, 2, 1, 4, 4, rec_c);
  talent_page(&p[2], ID, 3, 1, 4, 4, rec_reserve);
  talent_page(&p[3], ID, 4, 1, 4, 4, rec_postdoc);
  process(a, ID, p, NULL, 4, &r);
  assert_int_equal(r.n_facts, 2);
  want_value(&r, 0, "\"B\"");
  want_value(&r, 1, "{\"in_station\":true,\"station\":\"南方科技大学物理学博士后科研流动站\","
                      "\"entered_on\":\"2023-09-01\",\"left_on\":null}");
  assert_false(r.negative);
  assert_string_equal(r.signature, "none");
  gw_codec_result_clear(&r);

  /* the current recognition on a later page than the postdoc record */
  talent_page(&p[0], ID, 1, 2, 3, 2, "");
  snprintf(p[0].text, sizeof(p[0].text),
           "{\"code\":\"0\",\"message\":\"success\",\"data\":{\"id_number\":\"" ID "\",\"page\":1,"
           "\"page_size\":2,\"total\":3,\"total_pages\":2,\"records\":[%s,%s]}}", rec_c, rec_postdoc);
  talent_page(&p[1], ID, 2, 2, 3, 2, rec_b);
  process(a, ID, p, NULL, 2, &r);
  want_value(&r, 0, "\"B\"");
  assert_int_equal(r.facts[1].status, GW_FACT_OK);
  gw_codec_result_clear(&r);
  gw_adapter_unref(a);
}

static void talent_nothing_found(void **state)
{
  struct gw_adapter *a = load_repo_adapter("talent", NULL);
  struct page_text p[2];
  struct gw_codec_result r;
  (void)state;
  /* a recognised person without a postdoc record: level ok, postdoc not found */
  talent_page(&p[0], ID, 1, 50, 2, 1, "");
  snprintf(p[0].text, sizeof(p[0].text),
           "{\"code\":\"0\",\"message\":\"success\",\"data\":{\"id_number\":\"" ID "\",\"page\":1,"
           "\"page_size\":50,\"total\":2,\"total_pages\":1,\"records\":[%s,%s]}}", rec_b, rec_c);
  process(a, ID, p, NULL, 1, &r);
  want_value(&r, 0, "\"B\"");
  assert_int_equal(r.facts[1].status, GW_FACT_NOT_FOUND);
  assert_string_equal(r.facts[1].detail, "the agency has no record (/data/records: no item matches)");
  assert_false(r.negative);
  gw_codec_result_clear(&r);

  /* only superseded recognitions: "none" */
  talent_page(&p[0], ID, 1, 50, 1, 1, rec_c);
  process(a, ID, p, NULL, 1, &r);
  want_value(&r, 0, "\"none\"");
  gw_codec_result_clear(&r);

  /* nobody: total 0, no pages beyond the first; "none" and not found */
  talent_page(&p[0], ID, 1, 50, 0, 0, "");
  process(a, ID, p, NULL, 1, &r);
  want_value(&r, 0, "\"none\"");
  assert_int_equal(r.facts[1].status, GW_FACT_NOT_FOUND);
  gw_codec_result_clear(&r);

  /* records null: postdoc absent (when_absent), level still needs its list */
  snprintf(p[0].text, sizeof(p[0].text),
           "{\"code\":\"0\",\"data\":{\"id_number\":\"" ID "\",\"total_pages\":0,\"records\":null}}");
  process(a, ID, p, NULL, 1, &r);
  assert_int_equal(r.facts[0].status, GW_FACT_UNAVAILABLE);
  assert_string_equal(r.facts[0].detail, "mapping: /data/records: required list is absent");
  assert_int_equal(r.facts[1].status, GW_FACT_NOT_FOUND);
  gw_codec_result_clear(&r);

  /* gw_codec_process on a paged adapter: the answer's only page */
  talent_page(&p[0], ID, 1, 50, 1, 1, rec_postdoc);
  gw_codec_process(a, NULL, schemas, ID, 200, (const unsigned char *)p[0].text,
                   strlen(p[0].text), &r);
  want_value(&r, 0, "\"none\"");
  assert_int_equal(r.facts[1].status, GW_FACT_OK);
  gw_codec_result_clear(&r);
  gw_adapter_unref(a);
}

static void talent_pages_disagree(void **state)
{
  struct gw_adapter *a = load_repo_adapter("talent", NULL);
  struct page_text p[3];
  struct gw_codec_result r;
  int status[3] = { 200, 500, 200 };
  (void)state;

  /* fewer pages than counted (a tool that gave only page 1) */
  talent_page(&p[0], ID, 1, 1, 3, 3, rec_b);
  process(a, ID, p, NULL, 1, &r);
  want_fail(&r, GW_FACT_UNAVAILABLE, GW_FERR_BAD_RESPONSE, "got 1 of the answer's 3 pages");
  gw_codec_result_clear(&r);

  /* the count changes between pages */
  talent_page(&p[1], ID, 2, 1, 4, 4, rec_c);
  talent_page(&p[2], ID, 3, 1, 3, 3, rec_reserve);
  process(a, ID, p, NULL, 3, &r);
  want_fail(&r, GW_FACT_UNAVAILABLE, GW_FERR_BAD_RESPONSE,
              "page 2 counts other than 3 pages (the records changed while paging)");
  gw_codec_result_clear(&r);

  /* a page that fails: located, and as retryable as alone */
  talent_page(&p[1], ID, 2, 1, 3, 3, rec_c);
  snprintf(p[1].text, sizeof(p[1].text),
           "{\"code\":\"E5000\",\"message\":\"系统内部错误，请联系管理员\",\"data\":null}");
  process(a, ID, p, status, 3, &r);
  want_fail(&r, GW_FACT_UNAVAILABLE, GW_FERR_AGENCY_FAULT,
              "page 2 of 3: the agency reported a fault");
  assert_true(r.retryable);
  gw_codec_result_clear(&r);

  /* a page about somebody else */
  talent_page(&p[1], OTHER_ID, 2, 1, 3, 3, rec_c);
  process(a, ID, p, NULL, 3, &r);
  want_fail(&r, GW_FACT_UNAVAILABLE, GW_FERR_BAD_RESPONSE,
              "page 2 of 3: the answer is about another subject");
  gw_codec_result_clear(&r);

  /* items that are not an array */
  snprintf(p[1].text, sizeof(p[1].text),
           "{\"code\":\"0\",\"data\":{\"id_number\":\"" ID "\",\"total_pages\":3,\"records\":{}}}");
  process(a, ID, p, NULL, 3, &r);
  want_fail(&r, GW_FACT_UNAVAILABLE, GW_FERR_BAD_RESPONSE,
              "page 2: request.paging.items (/data/records) is not an array");
  gw_codec_result_clear(&r);

  /* no page count, or more pages than max_pages (20) */
  snprintf(p[0].text, sizeof(p[0].text),
           "{\"code\":\"0\",\"data\":{\"id_number\":\"" ID "\",\"total_pages\":\"1\",\"records\":[]}}");
  process(a, ID, p, NULL, 1, &r);
  want_fail(&r, GW_FACT_UNAVAILABLE, GW_FERR_BAD_RESPONSE,
              "request.paging.total_pages (/data/total_pages) is not a page count");
  gw_codec_result_clear(&r);
  talent_page(&p[0], ID, 1, 1, 21, 21, rec_b);
  process(a, ID, p, NULL, 1, &r);
  want_fail(&r, GW_FACT_UNAVAILABLE, GW_FERR_BAD_RESPONSE,
              "the answer has 21 pages, more than request.paging.max_pages (20)");
  gw_codec_result_clear(&r);
  /* a page count long enough to be an identity number is not repeated
   * (fuzz_codec_json found the agency's 18-digit count in the detail) */
  snprintf(p[0].text, sizeof(p[0].text),
           "{\"code\":\"0\",\"data\":{\"id_number\":\"" ID "\",\"total_pages\":"
           "142011199908021383,\"records\":[]}}");
  process(a, ID, p, NULL, 1, &r);
  want_fail(&r, GW_FACT_UNAVAILABLE, GW_FERR_BAD_RESPONSE,
              "the answer has more than 99999 pages, more than request.paging.max_pages (20)");
  gw_codec_result_clear(&r);

  /* an error status on page 1 is the agency's, as without paging */
  talent_page(&p[0], ID, 1, 1, 3, 3, rec_b);
  snprintf(p[0].text, sizeof(p[0].text), "{\"code\":\"E0403\",\"message\":\"x\",\"data\":null}");
  status[0] = 403;
  process(a, ID, p, status, 1, &r);
  want_fail(&r, GW_FACT_UNAVAILABLE, GW_FERR_AGENCY_FAULT, "agency answered HTTP 403");
  gw_codec_result_clear(&r);
  gw_adapter_unref(a);
}

/* ---- subject binding ------------------------------------------------------------- */

static const char si_text[] =
  "{\"errcode\":0,\"errmsg\":\"ok\",\"data\":{\"id_number\":\"%s\",\"name\":\"张三\","
  "\"insured_status\":\"%s\",\"shenzhen_months\":14,\"employer\":%s,\"as_of\":\"2026-06-30\"}}";

static void si_answer(const struct gw_adapter *a, const char *subject, const char *answer_id,
                      const char *employer, struct gw_codec_result *r)
{
  char body[1024];
  snprintf(body, sizeof(body), si_text, answer_id, strcmp(employer, "null") ? "active" : "suspended",
           employer);
  gw_codec_process(a, NULL, schemas, subject, 200, (const unsigned char *)body, strlen(body), r);
}

static void si_subject_and_employer(void **state)
{
  struct gw_adapter *a = load_repo_adapter("si", NULL);
  struct gw_codec_result r;
  const char *employer = "{\"name\":\"深圳市前海示例科技有限公司\",\"uscc\":\"91440300MA5G8KQ21L\"}";
  (void)state;
  assert_int_equal(a->subject_form, GW_SUBJECT_ID);

  si_answer(a, ID, ID, employer, &r);
  want_value(&r, 0, "14");
  want_value(&r, 1, employer);
  gw_codec_result_clear(&r);

  /* the check character in either case is the same person */
  si_answer(a, ID, "11010519491231002x", employer, &r);
  want_value(&r, 0, "14");
  gw_codec_result_clear(&r);

  /* about someone else, about nobody, or no subject given: never a fact */
  si_answer(a, ID, OTHER_ID, employer, &r);
  want_fail(&r, GW_FACT_UNAVAILABLE, GW_FERR_BAD_RESPONSE, "the answer is about another subject");
  assert_false(r.negative);
  gw_codec_result_clear(&r);
  si_answer(a, ID, ID "0", employer, &r);
  want_fail(&r, GW_FACT_UNAVAILABLE, GW_FERR_BAD_RESPONSE, "the answer is about another subject");
  gw_codec_result_clear(&r);
  {
    const char body[] = "{\"errcode\":0,\"data\":{\"shenzhen_months\":14,\"employer\":null}}";
    gw_codec_process(a, NULL, schemas, ID, 200, (const unsigned char *)body, strlen(body), &r);
    want_fail(&r, GW_FACT_UNAVAILABLE, GW_FERR_BAD_RESPONSE,
                "the answer does not name its subject (response.subject.path)");
    gw_codec_result_clear(&r);
  }
  si_answer(a, NULL, ID, employer, &r);
  want_fail(&r, GW_FACT_UNAVAILABLE, GW_FERR_BAD_RESPONSE, "no subject to bind the answer to");
  gw_codec_result_clear(&r);

  /* no employer: that fact is not found, the months are still a fact */
  si_answer(a, ID, ID, "null", &r);
  want_value(&r, 0, "14");
  assert_int_equal(r.facts[1].status, GW_FACT_NOT_FOUND);
  assert_null(r.facts[1].value);
  assert_false(r.negative);
  gw_codec_result_clear(&r);

  /* "no record" by status carries no subject and needs none */
  gw_codec_process(a, NULL, schemas, ID, 404,
                   (const unsigned char *)"{\"errcode\":40400,\"errmsg\":\"无参保记录\"}",
                   strlen("{\"errcode\":40400,\"errmsg\":\"无参保记录\"}"), &r);
  want_fail(&r, GW_FACT_NOT_FOUND, GW_FERR_NONE, NULL);
  assert_true(r.negative);
  gw_codec_result_clear(&r);
  gw_adapter_unref(a);
}

static void mps_subject(void **state)
{
  struct gw_adapter *a = load_repo_adapter("mps", NULL);
  struct gw_codec_result r;
  char body[512];
#define MPS_FMT "{\"trace_id\":\"mps-1\",\"id_number\":\"%s\",\"match\":false," \
                "\"result\":\"inconsistent\"}"
  (void)state;
  snprintf(body, sizeof(body), MPS_FMT, ID);
  gw_codec_process(a, NULL, schemas, ID, 200, (const unsigned char *)body, strlen(body), &r);
  want_value(&r, 0, "false");
  gw_codec_result_clear(&r);
  snprintf(body, sizeof(body), MPS_FMT, OTHER_ID);
  gw_codec_process(a, NULL, schemas, ID, 200, (const unsigned char *)body, strlen(body), &r);
  want_fail(&r, GW_FACT_UNAVAILABLE, GW_FERR_BAD_RESPONSE, "the answer is about another subject");
  gw_codec_result_clear(&r);
  gw_adapter_unref(a);
}

/* The sha256 form (cscse's), and the XPath side (qual's adapter). */
static json_t *sha256_form(json_t *doc)
{
  json_t *subject = json_object_get(json_object_get(doc, "response"), "subject");
  json_object_set_new(subject, "path", json_string("/subject/idNumberSha256"));
  json_object_set_new(subject, "form", json_string("sha256"));
  return doc;
}

static void sha256_and_xml_subject(void **state)
{
  struct gw_adapter *a = load_repo_adapter("mps", sha256_form);
  struct gw_codec_result r;
  unsigned char md[32];
  unsigned int mdlen = 0;
  char hex[65], body[1024];
  (void)state;
  assert_int_equal(a->subject_form, GW_SUBJECT_SHA256);
  assert_int_equal(EVP_Digest(ID, strlen(ID), md, &mdlen, EVP_sha256(), NULL), 1);
  for(unsigned i = 0; i < mdlen; i++)
    snprintf(hex + 2 * i, 3, "%02x", md[i]);
  snprintf(body, sizeof(body), "{\"subject\":{\"idNumberSha256\":\"%s\"},\"match\":true}", hex);
  gw_codec_process(a, NULL, schemas, ID, 200, (const unsigned char *)body, strlen(body), &r);
  want_value(&r, 0, "true");
  gw_codec_result_clear(&r);
  /* the number itself is not its digest */
  snprintf(body, sizeof(body), "{\"subject\":{\"idNumberSha256\":\"%s\"},\"match\":true}", ID);
  gw_codec_process(a, NULL, schemas, ID, 200, (const unsigned char *)body, strlen(body), &r);
  want_fail(&r, GW_FACT_UNAVAILABLE, GW_FERR_BAD_RESPONSE, "the answer is about another subject");
  gw_codec_result_clear(&r);
  gw_adapter_unref(a);

  a = load_repo_adapter("qual", NULL);
  snprintf(body, sizeof(body),
           "<?xml version=\"1.0\" encoding=\"UTF-8\"?><certificateQuery><idNumber>\n  %s\n"
           "</idNumber><name>张三</name><result>found</result><certificates count=\"0\"/>"
           "</certificateQuery>", ID);
  gw_codec_process(a, NULL, schemas, ID, 200, (const unsigned char *)body, strlen(body), &r);
  want_value(&r, 0, "[]");
  gw_codec_result_clear(&r);
  /* found or not, an answer about another person is refused */
  snprintf(body, sizeof(body),
           "<?xml version=\"1.0\" encoding=\"UTF-8\"?><certificateQuery><idNumber>%s</idNumber>"
           "<result>no_record</result></certificateQuery>", OTHER_ID);
  gw_codec_process(a, NULL, schemas, ID, 200, (const unsigned char *)body, strlen(body), &r);
  want_fail(&r, GW_FACT_UNAVAILABLE, GW_FERR_BAD_RESPONSE, "the answer is about another subject");
  assert_false(r.negative);
  gw_codec_result_clear(&r);
  gw_adapter_unref(a);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(talent_requests),
    cmocka_unit_test(talent_page_total),
    cmocka_unit_test(talent_three_pages),
    cmocka_unit_test(talent_nothing_found),
    cmocka_unit_test(talent_pages_disagree),
    cmocka_unit_test(si_subject_and_employer),
    cmocka_unit_test(mps_subject),
    cmocka_unit_test(sha256_and_xml_subject),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
