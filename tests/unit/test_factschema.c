/*
 * test_factschema.c - the fact schemas (schemas/facts) and their validator
 * (gw/factschema.h).
 *
 * Loads the real schema directory (GW_SOURCE_DIR) and checks, per fact, a
 * valid value and the invalid ones a mapping bug or a misbehaving agency
 * would produce, each by its exact message: the JSON path of the first
 * violation and what is wrong there.  Then the loader's refusals (unknown
 * keyword, missing or foreign schema file, every rule of the pattern
 * subset and the strictness profile), the number and date semantics the
 * spec fixes, and concurrent validation from several threads.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "gw/factschema.h"
#include "gw/facts.h"
#include "factschema_int.h"
#include "../lib/catalogue_fixture.h"

#define DATE_PATTERN "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
#define USCC_PATTERN "^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$"
#define NOT_A_DATE "not a date (YYYY-MM-DD, a real calendar day)"

/* ---- helpers ------------------------------------------------------------ */

static char schema_dir[4096];

static int setup_dir(void **state)
{
  const char *src = getenv("GW_SOURCE_DIR");

  (void)state;
  if(!src)
    return -1;
  snprintf(schema_dir, sizeof(schema_dir), "%s/schemas/facts", src);
  return 0;
}

static struct gw_factschema_set *load_real(void)
{
  struct gw_factschema_set *set = NULL;
  char err[512];

  if(gw_factschema_set_load(schema_dir, &set, err, sizeof(err)) != 0)
    fail_msg("loading %s: %s", schema_dir, err);
  assert_non_null(set);
  return set;
}

static json_t *parse(const char *text)
{
  json_error_t jerr;
  json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);

  if(!v)
    fail_msg("test value does not parse: %s: %s", text, jerr.text);
  return v;
}

/* `n` copies of `unit` (UTF-8 text without quotes or escapes). */
static char *repeat(const char *unit, size_t n)
{
  size_t len = strlen(unit);
  char *s = malloc(len * n + 1);

  assert_non_null(s);
  for(size_t i = 0; i < n; i++)
    memcpy(s + i * len, unit, len);
  s[len * n] = '\0';
  return s;
}

static void expect_valid_json(const struct gw_factschema_set *set, const char *fact,
                              const json_t *v)
{
  char err[512];

  if(gw_factschema_validate(set, fact, v, err, sizeof(err)) != 0)
    fail_msg("%s: valid value refused: %s", fact, err);
}

static void expect_valid(const struct gw_factschema_set *set, const char *fact,
                         const char *text)
{
  json_t *v = parse(text);

  expect_valid_json(set, fact, v);
  json_decref(v);
}

static void expect_invalid_json(const struct gw_factschema_set *set, const char *fact,
                                const json_t *v, const char *want)
{
  char err[512] = "";

  if(gw_factschema_validate(set, fact, v, err, sizeof(err)) != -1)
    fail_msg("%s: invalid value accepted (want \"%s\")", fact, want);
  if(strcmp(err, want))
    fail_msg("%s:\n  got  \"%s\"\n  want \"%s\"", fact, err, want);
}

static void expect_invalid(const struct gw_factschema_set *set, const char *fact,
                           const char *text, const char *want)
{
  json_t *v = parse(text);

  expect_invalid_json(set, fact, v, want);
  json_decref(v);
}

/* ---- the real directory ------------------------------------------------- */

/* Every catalogue fact has a schema with the right $id, whose text is the
 * file's JSON and whose examples are valid. */
static void real_schemas_load(void **state)
{
  struct gw_factschema_set *set = load_real();
  size_t n;
  const struct gw_fact_def *all = gw_fact_all(&n);

  (void)state;
  assert_true(n >= 11);          /* the catalogue is the files: at least the first eleven */
  for(size_t i = 0; i < n; i++) {
    const struct gw_factschema *s = gw_factschema_set_get(set, all[i].name);
    char want[256];
    json_t *doc, *examples, *e;
    size_t k;

    assert_non_null(s);
    snprintf(want, sizeof(want), GW_FACTSCHEMA_ID_BASE "%s.schema.json", all[i].name);
    assert_string_equal(gw_factschema_id(s), want);
    doc = parse(gw_factschema_text(s));
    assert_string_equal(json_string_value(json_object_get(doc, "title")), all[i].name);
    examples = json_object_get(doc, "examples");
    assert_true(json_array_size(examples) >= 1);
    json_array_foreach(examples, k, e)
      expect_valid_json(set, all[i].name, e);
    json_decref(doc);
  }
  assert_null(gw_factschema_set_get(set, "identity.name"));
  gw_factschema_set_free(set);
}

/* One value per fact beyond the examples, at the edges of each rule. */
static void valid_values(void **state)
{
  struct gw_factschema_set *set = load_real();
  char *s256 = repeat("深", 256), *text;
  size_t cap = 4096;

  (void)state;
  expect_valid(set, "identity.match", "true");
  expect_valid(set, "identity.birth_date", "\"2000-02-29\"");
  expect_valid(set, "identity.birth_date", "\"0001-01-01\"");
  expect_valid(set, "identity.birth_date", "\"9999-12-31\"");
  expect_valid(set, "hukou.region",
               "{\"province\":\"广东省\",\"city\":\"深圳市\",\"district\":\"福田区\","
               "\"is_shenzhen\":true}");
  expect_valid(set, "education.degrees", "[]");
  expect_valid(set, "education.degrees",
               "[{\"level\":\"associate\",\"institution\":\"深圳职业技术大学\",\"major\":\"软件技术\","
               "\"study_mode\":\"part-time\",\"graduated_on\":\"2024-02-29\","
               "\"certificate_no\":\"1\"}]");
  expect_valid(set, "overseas.certifications",
               "[{\"country\":\"美国\",\"institution\":\"Columbia University\",\"degree_level\":"
               "\"doctor\",\"awarded_on\":\"2018-05-20\",\"certification_no\":"
               "\"CSCSE-US-2018-020941\",\"certified_on\":\"2018-10-08\"}]");
  expect_valid(set, "social_insurance.shenzhen_months", "0");
  expect_valid(set, "social_insurance.shenzhen_months", "1200");
  /* JSON Schema: a number with a zero fraction is an integer. */
  expect_valid(set, "social_insurance.shenzhen_months", "24.0");
  expect_valid(set, "social_insurance.employer",
               "{\"name\":\"示例\",\"uscc\":\"91440300MA5G8KQ21L\"}");
  expect_valid(set, "credit.status",
               "{\"status\":\"warning\",\"records\":[{\"kind\":\"tax_arrears\",\"authority\":"
               "\"国家税务总局深圳市税务局\",\"decided_on\":\"2025-05-09\",\"detail\":\"\"}]}");
  expect_valid(set, "qualification.certificates",
               "[{\"kind\":\"vocational\",\"name\":\"电工\",\"level\":\"senior\",\"issued_on\":"
               "\"2018-06-20\",\"cert_no\":\"ZY-2018-44030459\"}]");
  expect_valid(set, "talent.level", "\"reserve\"");
  expect_valid(set, "postdoc.status",
               "{\"in_station\":true,\"station\":\"深圳市鹏程实验室博士后科研工作站\","
               "\"entered_on\":\"2024-03-01\",\"left_on\":null}");
  /* maxLength counts characters, not bytes: 256 three-byte characters. */
  text = malloc(cap);
  assert_non_null(text);
  snprintf(text, cap, "{\"name\":\"%s\",\"uscc\":\"91440300MA5G8KQ21L\"}", s256);
  expect_valid(set, "social_insurance.employer", text);
  free(text);
  free(s256);
  gw_factschema_set_free(set);
}

static void invalid_identity_and_hukou(void **state)
{
  struct gw_factschema_set *set = load_real();
  char *long_city = repeat("a", 65), text[512];

  (void)state;
  expect_invalid(set, "identity.match", "\"true\"", "$: expected boolean, got string");
  expect_invalid(set, "identity.match", "null", "$: expected boolean, got null");
  expect_invalid(set, "identity.match", "1", "$: expected boolean, got integer");
  expect_invalid(set, "identity.birth_date", "\"2021-02-29\"", "$: " NOT_A_DATE);
  expect_invalid(set, "identity.birth_date", "\"1900-02-29\"", "$: " NOT_A_DATE);
  expect_invalid(set, "identity.birth_date", "\"2021-04-31\"", "$: " NOT_A_DATE);
  expect_invalid(set, "identity.birth_date", "\"2021-13-01\"", "$: " NOT_A_DATE);
  expect_invalid(set, "identity.birth_date", "\"0000-01-01\"", "$: " NOT_A_DATE);
  expect_invalid(set, "identity.birth_date", "\"20210101\"", "$: " NOT_A_DATE);
  expect_invalid(set, "identity.birth_date", "\"2021-1-01\"", "$: " NOT_A_DATE);
  expect_invalid(set, "identity.birth_date", "\"2021-01-01T00:00:00Z\"",
                 "$: longer than 10 characters");
  expect_invalid(set, "identity.birth_date", "19980315", "$: expected string, got integer");

  expect_invalid(set, "hukou.region", "[]", "$: expected object, got array");
  expect_invalid(set, "hukou.region",
                 "{\"province\":\"广东省\",\"city\":\"深圳市\",\"is_shenzhen\":true}",
                 "$.district: required member missing");
  expect_invalid(set, "hukou.region",
                 "{\"province\":\"广东省\",\"city\":\"深圳市\",\"district\":\"南山区\","
                 "\"is_shenzhen\":true,\"street\":\"粤海街道\"}",
                 "$.street: member not allowed");
  expect_invalid(set, "hukou.region",
                 "{\"province\":\"广东省\",\"city\":\"深圳市\",\"district\":\"南山区\","
                 "\"is_shenzhen\":\"yes\"}",
                 "$.is_shenzhen: expected boolean, got string");
  expect_invalid(set, "hukou.region",
                 "{\"province\":\"\",\"city\":\"深圳市\",\"district\":\"南山区\","
                 "\"is_shenzhen\":true}",
                 "$.province: shorter than 1 characters");
  snprintf(text, sizeof(text),
           "{\"province\":\"广东省\",\"city\":\"%s\",\"district\":\"南山区\",\"is_shenzhen\":true}",
           long_city);
  expect_invalid(set, "hukou.region", text, "$.city: longer than 64 characters");
  free(long_city);
  gw_factschema_set_free(set);
}

#define DEGREE(level, mode, date) \
  "{\"level\":\"" level "\",\"institution\":\"深圳大学\",\"major\":\"数学\",\"study_mode\":\"" \
  mode "\",\"graduated_on\":\"" date "\",\"certificate_no\":\"105901202105001234\"}"

static void invalid_degrees(void **state)
{
  struct gw_factschema_set *set = load_real();
  json_t *many = json_array();
  json_t *one = parse(DEGREE("bachelor", "full-time", "2021-06-30"));

  (void)state;
  expect_invalid(set, "education.degrees",
                 "[" DEGREE("bachelor", "full-time", "2015-06-30") ","
                 DEGREE("master", "full-time", "2018-06-30") ","
                 DEGREE("doctor", "full-time", "2021-02-29") "]",
                 "$[2].graduated_on: " NOT_A_DATE);
  expect_invalid(set, "education.degrees", "[" DEGREE("phd", "full-time", "2021-06-30") "]",
                 "$[0].level: not one of [\"associate\",\"bachelor\",\"master\",\"doctor\"]");
  expect_invalid(set, "education.degrees",
                 "[" DEGREE("master", "full-time", "2021-06-30") ","
                 DEGREE("master", "evening", "2021-06-30") "]",
                 "$[1].study_mode: not one of [\"full-time\",\"part-time\"]");
  expect_invalid(set, "education.degrees",
                 "[{\"level\":\"bachelor\",\"institution\":\"深圳大学\",\"major\":\"数学\","
                 "\"study_mode\":\"full-time\",\"graduated_on\":\"2021-06-30\"}]",
                 "$[0].certificate_no: required member missing");
  expect_invalid(set, "education.degrees",
                 "[{\"level\":\"bachelor\",\"institution\":\"深圳大学\",\"major\":\"数学\","
                 "\"study_mode\":\"full-time\",\"graduated_on\":\"2021-06-30\","
                 "\"certificate_no\":\"1\",\"gpa\":3.9}]",
                 "$[0].gpa: member not allowed");
  /* A member name that is not an identifier is quoted and escaped. */
  expect_invalid(set, "education.degrees",
                 "[{\"level\":\"bachelor\",\"institution\":\"深圳大学\",\"major\":\"数学\","
                 "\"study_mode\":\"full-time\",\"graduated_on\":\"2021-06-30\","
                 "\"certificate_no\":\"1\",\"a \\\"b\\\"\\n\":1}]",
                 "$[0][\"a \\\"b\\\"\\u000a\"]: member not allowed");
  expect_invalid(set, "education.degrees", "[\"bachelor\"]",
                 "$[0]: expected object, got string");
  expect_invalid(set, "education.degrees", DEGREE("bachelor", "full-time", "2021-06-30"),
                 "$: expected array, got object");
  for(int i = 0; i < 65; i++)
    assert_int_equal(json_array_append(many, one), 0);
  expect_invalid_json(set, "education.degrees", many, "$: more than 64 items");
  assert_int_equal(json_array_remove(many, 0), 0);
  expect_valid_json(set, "education.degrees", many);
  json_decref(many);
  json_decref(one);
  gw_factschema_set_free(set);
}

static void invalid_overseas_and_qualifications(void **state)
{
  struct gw_factschema_set *set = load_real();
  char *long_no = repeat("9", 65), text[512];

  (void)state;
  expect_invalid(set, "overseas.certifications",
                 "[{\"country\":\"英国\",\"institution\":\"UCL\",\"degree_level\":\"associate\","
                 "\"awarded_on\":\"2020-11-15\",\"certification_no\":\"X\","
                 "\"certified_on\":\"2021-03-10\"}]",
                 "$[0].degree_level: not one of [\"bachelor\",\"master\",\"doctor\"]");
  expect_invalid(set, "overseas.certifications",
                 "[{\"country\":\"英国\",\"institution\":\"UCL\",\"degree_level\":\"master\","
                 "\"awarded_on\":\"2020-11-15\",\"certification_no\":\"X\","
                 "\"certified_on\":\"2021-04-31\"}]",
                 "$[0].certified_on: " NOT_A_DATE);
  expect_invalid(set, "overseas.certifications",
                 "[{\"country\":\"英国\",\"institution\":\"UCL\",\"degree_level\":\"master\","
                 "\"awarded_on\":\"2020-11-15\",\"certification_no\":\"X\"}]",
                 "$[0].certified_on: required member missing");

  snprintf(text, sizeof(text),
           "[{\"kind\":\"vocational\",\"name\":\"电工\",\"level\":\"senior\",\"issued_on\":"
           "\"2018-06-20\",\"cert_no\":\"%s\"}]", long_no);
  expect_invalid(set, "qualification.certificates", text,
                 "$[0].cert_no: longer than 64 characters");
  expect_invalid(set, "qualification.certificates",
                 "[{\"kind\":\"vocational\",\"name\":\"电工\",\"level\":\"senior\",\"issued_on\":"
                 "\"2018-6-20\",\"cert_no\":\"1\"}]",
                 "$[0].issued_on: " NOT_A_DATE);
  expect_invalid(set, "qualification.certificates",
                 "[{\"kind\":\"vocational\",\"name\":\"电工\",\"level\":null,\"issued_on\":"
                 "\"2018-06-20\",\"cert_no\":\"1\"}]",
                 "$[0].level: expected string, got null");
  free(long_no);
  gw_factschema_set_free(set);
}

static void invalid_social_insurance(void **state)
{
  struct gw_factschema_set *set = load_real();

  (void)state;
  expect_invalid(set, "social_insurance.shenzhen_months", "-1", "$: less than the minimum 0");
  expect_invalid(set, "social_insurance.shenzhen_months", "1201",
                 "$: greater than the maximum 1200");
  expect_invalid(set, "social_insurance.shenzhen_months", "12.5",
                 "$: expected integer, got number");
  expect_invalid(set, "social_insurance.shenzhen_months", "-0.5",
                 "$: expected integer, got number");
  expect_invalid(set, "social_insurance.shenzhen_months", "true",
                 "$: expected integer, got boolean");
  expect_invalid(set, "social_insurance.shenzhen_months", "\"36\"",
                 "$: expected integer, got string");

  expect_invalid(set, "social_insurance.employer", "null", "$: expected object, got null");
  expect_invalid(set, "social_insurance.employer", "{\"name\":\"示例\",\"uscc\":null}",
                 "$.uscc: expected string, got null");
  expect_invalid(set, "social_insurance.employer", "{\"name\":\"示例\"}",
                 "$.uscc: required member missing");
  /* I, O, S, V and Z are not in the code's alphabet. */
  expect_invalid(set, "social_insurance.employer",
                 "{\"name\":\"示例\",\"uscc\":\"91440300MA5G8KQ21I\"}",
                 "$.uscc: does not match " USCC_PATTERN);
  expect_invalid(set, "social_insurance.employer",
                 "{\"name\":\"示例\",\"uscc\":\"91440300ma5g8kq21l\"}",
                 "$.uscc: does not match " USCC_PATTERN);
  expect_invalid(set, "social_insurance.employer",
                 "{\"name\":\"示例\",\"uscc\":\"9144030MA5G8KQ21L\"}",
                 "$.uscc: does not match " USCC_PATTERN);
  expect_invalid(set, "social_insurance.employer",
                 "{\"name\":\"示例\",\"uscc\":\"914403000MA5G8KQ21L\"}",
                 "$.uscc: longer than 18 characters");
  expect_invalid(set, "social_insurance.employer",
                 "{\"name\":\"示例\",\"uscc\":\"91440300MA5G8KQ2１L\"}",
                 "$.uscc: does not match " USCC_PATTERN);
  gw_factschema_set_free(set);
}

static void invalid_credit_talent_postdoc(void **state)
{
  struct gw_factschema_set *set = load_real();
  char *long_detail = repeat("x", 1025);
  char *text = malloc(2048);

  (void)state;
  assert_non_null(text);
  expect_invalid(set, "credit.status", "{\"status\":\"bad\",\"records\":[]}",
                 "$.status: not one of [\"good\",\"warning\",\"dishonest\"]");
  expect_invalid(set, "credit.status", "{\"status\":\"good\"}",
                 "$.records: required member missing");
  expect_invalid(set, "credit.status",
                 "{\"status\":\"dishonest\",\"records\":[{\"kind\":\"k\",\"authority\":\"a\","
                 "\"decided_on\":\"2024-03-18\",\"detail\":\"d\"},{\"kind\":\"k\",\"authority\":"
                 "\"a\",\"decided_on\":\"2024-02-30\",\"detail\":\"d\"}]}",
                 "$.records[1].decided_on: " NOT_A_DATE);
  snprintf(text, 2048,
           "{\"status\":\"warning\",\"records\":[{\"kind\":\"k\",\"authority\":\"a\","
           "\"decided_on\":\"2024-03-18\",\"detail\":\"%s\"}]}", long_detail);
  expect_invalid(set, "credit.status", text, "$.records[0].detail: longer than 1024 characters");

  expect_invalid(set, "talent.level", "\"D\"",
                 "$: not one of [\"none\",\"A\",\"B\",\"C\",\"reserve\"]");
  expect_invalid(set, "talent.level", "\"a\"",
                 "$: not one of [\"none\",\"A\",\"B\",\"C\",\"reserve\"]");
  expect_invalid(set, "talent.level", "null", "$: expected string, got null");

  expect_invalid(set, "postdoc.status",
                 "{\"in_station\":true,\"station\":\"\",\"entered_on\":\"2023-09-01\","
                 "\"left_on\":null}",
                 "$.station: shorter than 1 characters");
  expect_invalid(set, "postdoc.status",
                 "{\"in_station\":true,\"station\":5,\"entered_on\":\"2023-09-01\","
                 "\"left_on\":null}",
                 "$.station: expected string or null, got integer");
  expect_invalid(set, "postdoc.status",
                 "{\"in_station\":true,\"station\":\"s\",\"entered_on\":\"2023-02-29\","
                 "\"left_on\":null}",
                 "$.entered_on: " NOT_A_DATE);
  expect_invalid(set, "postdoc.status",
                 "{\"in_station\":true,\"station\":\"s\",\"entered_on\":\"2023-09-01\"}",
                 "$.left_on: required member missing");
  expect_invalid(set, "postdoc.status",
                 "{\"in_station\":null,\"station\":null,\"entered_on\":null,\"left_on\":null}",
                 "$.in_station: expected boolean, got null");
  free(text);
  free(long_detail);
  gw_factschema_set_free(set);
}

/* Unknown fact, NULL value, truncated and absent message buffers. */
static void api_edges(void **state)
{
  struct gw_factschema_set *set = load_real();
  json_t *t = json_true(), *bad = json_string("x");
  char err[8];

  (void)state;
  assert_int_equal(gw_factschema_validate(set, "identity.name", t, err, sizeof(err)), -1);
  assert_string_equal(err, "unknown");
  expect_invalid_json(set, "identity.match", NULL, "$: no value");
  assert_int_equal(gw_factschema_validate(set, "identity.match", bad, err, sizeof(err)), -1);
  assert_int_equal(strlen(err), sizeof(err) - 1);
  assert_int_equal(gw_factschema_validate(set, "identity.match", bad, NULL, 0), -1);
  assert_int_equal(gw_factschema_validate(set, "identity.match", t, NULL, 0), 0);
  json_decref(bad);
  gw_factschema_set_free(set);
}

/* ---- loading the directory ---------------------------------------------- */

static char *copy_dir(void)
{
  char tmpl[] = "/tmp/gw-factschema-XXXXXX", *dir;
  DIR *d;
  struct dirent *de;

  assert_non_null(mkdtemp(tmpl));
  dir = strdup(tmpl);
  assert_non_null(dir);
  d = opendir(schema_dir);
  assert_non_null(d);
  while((de = readdir(d))) {
    char from[8192], to[8192];
    json_t *doc;
    json_error_t jerr;

    if(de->d_name[0] == '.')
      continue;
    snprintf(from, sizeof(from), "%s/%s", schema_dir, de->d_name);
    snprintf(to, sizeof(to), "%s/%s", dir, de->d_name);
    doc = json_load_file(from, 0, &jerr);
    assert_non_null(doc);
    assert_int_equal(json_dump_file(doc, to, JSON_INDENT(2)), 0);
    json_decref(doc);
  }
  closedir(d);
  return dir;
}

static void remove_dir(char *dir)
{
  DIR *d = opendir(dir);
  struct dirent *de;

  assert_non_null(d);
  while((de = readdir(d))) {
    char path[8192];
    if(!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
      continue;
    snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
    assert_int_equal(unlink(path), 0);
  }
  closedir(d);
  assert_int_equal(rmdir(dir), 0);
  free(dir);
}

static void write_text(const char *dir, const char *name, const char *text)
{
  char path[8192];
  FILE *f;

  snprintf(path, sizeof(path), "%s/%s", dir, name);
  f = fopen(path, "w");
  assert_non_null(f);
  assert_int_equal(fputs(text, f) >= 0, 1);
  assert_int_equal(fclose(f), 0);
}

/* Applies `edit` to dir/name's JSON and writes it back. */
static void edit_schema(const char *dir, const char *name, void (*edit)(json_t *doc))
{
  char path[8192];
  json_error_t jerr;
  json_t *doc;

  snprintf(path, sizeof(path), "%s/%s", dir, name);
  doc = json_load_file(path, 0, &jerr);
  assert_non_null(doc);
  edit(doc);
  assert_int_equal(json_dump_file(doc, path, JSON_INDENT(2)), 0);
  json_decref(doc);
}

static void expect_load_error(const char *dir, const char *want)
{
  struct gw_factschema_set *set = (struct gw_factschema_set *)1;
  char err[1024] = "";

  assert_int_equal(gw_factschema_set_load(dir, &set, err, sizeof(err)), -1);
  assert_null(set);
  if(strcmp(err, want))
    fail_msg("load:\n  got  \"%s\"\n  want \"%s\"", err, want);
}

static void add_unknown_keyword(json_t *doc)
{
  json_t *status = json_object_get(json_object_get(doc, "properties"), "status");
  assert_int_equal(json_object_set_new(status, "uniqueItems", json_true()), 0);
}

static void add_root_unknown_keyword(json_t *doc)
{
  assert_int_equal(json_object_set_new(doc, "$defs", json_object()), 0);
}

static void set_wrong_id(json_t *doc)
{
  assert_int_equal(json_object_set_new(doc, "$id",
                                       json_string(GW_FACTSCHEMA_ID_BASE "talent.rank.schema.json")), 0);
}

static void break_example(json_t *doc)
{
  json_t *ex = json_array_get(json_object_get(doc, "examples"), 0);
  assert_int_equal(json_object_set_new(ex, "uscc", json_string("91440300MA5G8KQ21")), 0);
}

static void load_refusals(void **state)
{
  char want[2048], path[8192];
  char *dir;
  struct gw_factschema_set *set = NULL;
  char err[1024];

  (void)state;
  /* A copy loads, and files that are not *.schema.json are ignored. */
  dir = copy_dir();
  write_text(dir, "README.md", "notes\n");
  write_text(dir, "credit.status.json", "not even JSON");
  assert_int_equal(gw_factschema_set_load(dir, &set, err, sizeof(err)), 0);
  gw_factschema_set_free(set);

  edit_schema(dir, "credit.status.schema.json", add_unknown_keyword);
  snprintf(want, sizeof(want), "%s/credit.status.schema.json: #/properties/status/uniqueItems: "
           "unknown keyword (not in the supported subset, see docs/facts.md)", dir);
  expect_load_error(dir, want);
  remove_dir(dir);

  dir = copy_dir();
  edit_schema(dir, "hukou.region.schema.json", add_root_unknown_keyword);
  snprintf(want, sizeof(want), "%s/hukou.region.schema.json: #/$defs: "
           "unknown keyword (not in the supported subset, see docs/facts.md)", dir);
  expect_load_error(dir, want);
  remove_dir(dir);

  /* A catalogue fact without a schema. */
  dir = copy_dir();
  snprintf(path, sizeof(path), "%s/talent.level.schema.json", dir);
  assert_int_equal(unlink(path), 0);
  snprintf(want, sizeof(want), "%s/talent.level.schema.json: #: missing: catalogue fact "
           "talent.level has no schema", dir);
  expect_load_error(dir, want);
  remove_dir(dir);

  /* A schema for something that is not a catalogue fact. */
  dir = copy_dir();
  snprintf(path, sizeof(path), "%s/talent.level.schema.json", schema_dir);
  {
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    char to[8192];
    assert_non_null(doc);
    snprintf(to, sizeof(to), "%s/talent.rank.schema.json", dir);
    assert_int_equal(json_dump_file(doc, to, 0), 0);
    json_decref(doc);
  }
  snprintf(want, sizeof(want), "%s/talent.rank.schema.json: #: not a fact of the catalogue",
           dir);
  expect_load_error(dir, want);
  remove_dir(dir);

  /* $id must name the fact's own file. */
  dir = copy_dir();
  edit_schema(dir, "talent.level.schema.json", set_wrong_id);
  snprintf(want, sizeof(want), "%s/talent.level.schema.json: #/$id: must be \""
           GW_FACTSCHEMA_ID_BASE "talent.level.schema.json\"", dir);
  expect_load_error(dir, want);
  remove_dir(dir);

  /* An example that does not satisfy its own schema. */
  dir = copy_dir();
  edit_schema(dir, "social_insurance.employer.schema.json", break_example);
  snprintf(want, sizeof(want), "%s/social_insurance.employer.schema.json: #/examples/0: "
           "example is not valid: $.uscc: does not match " USCC_PATTERN, dir);
  expect_load_error(dir, want);
  remove_dir(dir);

  /* Not JSON; duplicate keys. */
  dir = copy_dir();
  write_text(dir, "identity.match.schema.json", "{\"type\": \"boolean\",}");
  snprintf(want, sizeof(want), "%s/identity.match.schema.json: line 1 column 20: "
           "string or '}' expected near '}'", dir);
  expect_load_error(dir, want);
  write_text(dir, "identity.match.schema.json", "{\"type\": \"boolean\", \"type\": \"string\"}");
  snprintf(want, sizeof(want), "%s/identity.match.schema.json: line 1 column 26: "
           "duplicate object key near '\"type\"'", dir);
  expect_load_error(dir, want);
  remove_dir(dir);

  expect_load_error("/nonexistent/schemas",
                    "/nonexistent/schemas: cannot open directory: No such file or directory");
}

/* ---- compiling: the subset and the profile ------------------------------- */

#define ROOT_HEAD "{\"$schema\":\"" GW_FACTSCHEMA_DRAFT "\",\"$id\":\"" GW_FACTSCHEMA_ID_BASE \
  "t.schema.json\",\"title\":\"t\",\"description\":\"d\","

/* Compiles ROOT_HEAD + body + "}" and expects the message "t: " + want. */
static void expect_compile_error(const char *body, const char *want)
{
  char text[4096], err[1024] = "", full[1024];
  struct gw_factschema *s = (struct gw_factschema *)1;

  snprintf(text, sizeof(text), ROOT_HEAD "%s}", body);
  snprintf(full, sizeof(full), "t: %s", want);
  if(gw_factschema_compile("t", text, strlen(text), &s, err, sizeof(err)) != -1)
    fail_msg("compiled: %s", text);
  assert_null(s);
  if(strcmp(err, full))
    fail_msg("%s\n  got  \"%s\"\n  want \"%s\"", body, err, full);
}

static struct gw_factschema *compile_ok(const char *body)
{
  char text[4096], err[1024] = "";
  struct gw_factschema *s = NULL;

  snprintf(text, sizeof(text), ROOT_HEAD "%s}", body);
  if(gw_factschema_compile("t", text, strlen(text), &s, err, sizeof(err)) != 0)
    fail_msg("%s: %s", body, err);
  return s;
}

#define STR_EX(pattern) \
  "\"type\":\"string\",\"maxLength\":64,\"pattern\":\"" pattern "\",\"examples\":[\"AB\"]"

static void pattern_subset(void **state)
{
  static const struct {
    const char *pattern, *why;
  } bad[] = {
    { "AB", "must be anchored: begin with ^ and end with $ (JSON Schema patterns are not "
            "implicitly anchored)" },
    { "^AB", "must be anchored: begin with ^ and end with $ (JSON Schema patterns are not "
             "implicitly anchored)" },
    { "^A\\\\dB$", "only \\ before one of \\ . ^ $ | ? * + ( ) [ ] { } is supported (no \\d, "
                   "\\w, \\s, \\b: they differ between ECMA-262 and POSIX)" },
    { "^A.$", "'.' is not supported (it matches a byte in POSIX but a character in ECMA-262); "
              "use a bracket expression" },
    { "^[^x]+$", "negated bracket expressions [^...] are not supported (they would match one "
                 "byte in POSIX but one character in ECMA-262)" },
    { "^[[:upper:]]+$", "inside [...] only printable ASCII other than \\ and [ is supported "
                        "(escapes and classes differ between ECMA-262 and POSIX)" },
    { "^[A\\\\d]+$", "inside [...] only printable ASCII other than \\ and [ is supported "
                     "(escapes and classes differ between ECMA-262 and POSIX)" },
    { "^[Z-A]+$", "a range in [...] runs backwards" },
    { "^[A-B-C]+$", "a literal - in [...] must come first or last" },
    { "^[]+$", "empty []" },
    { "^[AB$", "unterminated [" },
    { "^(?:AB)$", "(? groups (non-capturing, look-around, named) are not supported" },
    { "^AB|CD$", "| must sit inside a group, so that ^ and $ anchor every alternative" },
    { "^(AB|)$", "empty group or alternative" },
    { "^(|AB)$", "empty alternative" },
    { "^A+?$", "a quantifier must follow a character, bracket expression or group (no lazy "
               "or stacked quantifiers)" },
    { "^*A$", "a quantifier must follow a character, bracket expression or group (no lazy "
              "or stacked quantifiers)" },
    { "^A{,3}$", "'{' must start a quantifier {n}, {n,} or {n,m} (write \\{ for the "
                 "character)" },
    { "^A{3,2}$", "a {n,m} quantifier has m smaller than n" },
    { "^A{256}$", "a {n,m} bound is larger than 255" },
    { "^A}$", "a bare } or ] is not supported (write \\} or \\])" },
    { "^A^B$", "^ may only begin the pattern" },
    { "^A$B$", "$ may only end the pattern" },
    { "^(AB$)", "$ may only end the pattern" },
    { "^(AB$", "$ may only end the pattern" },
    { "^AB)$", "unbalanced )" },
    { "^中$", "only printable ASCII is supported" },
  };
  char body[512], want[512];

  (void)state;
  for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    snprintf(body, sizeof(body), STR_EX("%s"), bad[i].pattern);
    snprintf(want, sizeof(want), "#/pattern: %s", bad[i].why);
    expect_compile_error(body, want);
  }
}

/* What the accepted subset means: anchored, ASCII atoms, and ECMA-262's
 * "$ only at the very end" (no match before a trailing newline). */
static void pattern_semantics(void **state)
{
  struct gw_factschema *s =
    compile_ok("\"type\":\"string\",\"maxLength\":64,"
               "\"pattern\":\"^(AB|C[0-9]{2,3})[+.-]?\\\\.\\\\$x*$\",\"examples\":[\"AB.$\"]");
  static const struct {
    const char *value;
    int ok;
  } cases[] = {
    { "\"AB.$\"", 0 }, { "\"AB+.$\"", 0 }, { "\"C12-.$xx\"", 0 }, { "\"C123..$\"", 0 },
    { "\"C1.$\"", -1 }, { "\"C1234.$\"", -1 }, { "\"xAB.$\"", -1 }, { "\"AB.$\\n\"", -1 },
    { "\"AB.$y\"", -1 }, { "\"AB中.$\"", -1 }, { "\"AB\\u0000.$\"", -1 }, { "\"AB*.$\"", -1 },
  };
  char err[256];

  (void)state;
  for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    json_t *v = json_loads(cases[i].value, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    assert_non_null(v);
    if(gw_factschema_check(s, v, err, sizeof(err)) != cases[i].ok)
      fail_msg("%s: want %d (%s)", cases[i].value, cases[i].ok, err);
    json_decref(v);
  }
  gw_factschema_free(s);
}

static void profile_and_vocabulary(void **state)
{
  static const struct {
    const char *body, *want;
  } bad[] = {
    { "\"examples\":[1]", "#: type is required (every schema states its type)" },
    { "\"type\":\"integer\",\"minimum\":0,\"maximum\":9",
      "#: the root needs $schema, $id, title, description and non-empty examples" },
    { "\"type\":\"integer\",\"minimum\":0,\"maximum\":9,\"examples\":[]",
      "#: the root needs $schema, $id, title, description and non-empty examples" },
    { "\"type\":\"integer\",\"minimum\":0,\"maximum\":9,\"examples\":[\"1\"]",
      "#/examples/0: example is not valid: $: expected integer, got string" },
    { "\"type\":\"int\",\"examples\":[1]",
      "#/type: unknown type (one of null, boolean, integer, number, string, array, object)" },
    { "\"type\":[\"string\",\"string\"],\"examples\":[1]", "#/type: type string is listed twice" },
    { "\"type\":[],\"examples\":[1]",
      "#/type: must be a type name or a non-empty array of type names" },
    { "\"type\":\"string\",\"examples\":[\"a\"]",
      "#: a string schema needs maxLength (every string is capped)" },
    { "\"type\":\"integer\",\"minimum\":0,\"examples\":[1]",
      "#: a number schema needs minimum and maximum (every number is bounded)" },
    { "\"type\":\"array\",\"items\":{\"type\":\"boolean\"},\"examples\":[[]]",
      "#: an array schema needs items and maxItems (every array is capped)" },
    { "\"type\":\"array\",\"items\":true,\"maxItems\":1,\"examples\":[[]]",
      "#/items: must be a schema object (boolean schemas are not supported)" },
    { "\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"boolean\"}},\"required\":[\"a\"],"
      "\"examples\":[{\"a\":true}]",
      "#: an object schema needs properties, required and additionalProperties: false (every "
      "object is closed)" },
    { "\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"boolean\"}},\"required\":[\"a\"],"
      "\"additionalProperties\":{},\"examples\":[{\"a\":true}]",
      "#/additionalProperties: only false is supported (every object is closed)" },
    { "\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"boolean\"},\"b\":{\"type\":"
      "\"null\"}},\"required\":[\"a\"],\"additionalProperties\":false,\"examples\":[{\"a\":true}]",
      "#/properties/b: not listed in required (every member is required; a value that can be "
      "absent is a member of type [..., \"null\"])" },
    { "\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"boolean\"}},\"required\":[\"a\","
      "\"c\"],\"additionalProperties\":false,\"examples\":[{\"a\":true}]",
      "#/required/1: names no member of properties (it could never be present)" },
    { "\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"boolean\"}},\"required\":[\"a\","
      "\"a\"],\"additionalProperties\":false,\"examples\":[{\"a\":true}]",
      "#/required/1: repeats member 0" },
    { "\"type\":\"object\",\"properties\":{\"a b\":{\"type\":\"boolean\"}},\"required\":[],"
      "\"additionalProperties\":false,\"examples\":[{}]",
      "#/properties/a b: member names must be identifiers ([A-Za-z_][A-Za-z0-9_]*, at most 64 "
      "bytes)" },
    { "\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\",\"maxLength\":1,"
      "\"format\":\"email\"}},\"required\":[\"a\"],\"additionalProperties\":false,"
      "\"examples\":[{\"a\":\"x\"}]",
      "#/properties/a/format: only format \"date\" is supported (an unchecked format would be "
      "an unkept promise)" },
    { "\"type\":\"object\",\"properties\":{\"a\":{\"$schema\":\"" GW_FACTSCHEMA_DRAFT "\","
      "\"type\":\"boolean\"}},\"required\":[\"a\"],\"additionalProperties\":false,"
      "\"examples\":[{\"a\":true}]",
      "#/properties/a/$schema: only allowed at the root" },
    { "\"type\":\"integer\",\"maxLength\":3,\"minimum\":0,\"maximum\":9,\"examples\":[1]",
      "#/maxLength: applies only to string values, which \"type\" does not allow" },
    { "\"type\":\"string\",\"minimum\":3,\"maxLength\":9,\"examples\":[\"a\"]",
      "#/minimum: applies only to integer or number values, which \"type\" does not allow" },
    { "\"type\":\"string\",\"minLength\":3,\"maxLength\":2,\"examples\":[\"abc\"]",
      "#: minLength is greater than maxLength: nothing can match" },
    { "\"type\":\"string\",\"maxLength\":-1,\"examples\":[\"\"]",
      "#/maxLength: must be a non-negative integer" },
    { "\"type\":\"string\",\"maxLength\":2.0,\"examples\":[\"\"]",
      "#/maxLength: must be a non-negative integer" },
    { "\"type\":\"integer\",\"minimum\":5,\"maximum\":4,\"examples\":[1]",
      "#: minimum is greater than maximum: nothing can match" },
    { "\"type\":\"string\",\"enum\":[\"a\",1],\"examples\":[\"a\"]",
      "#/enum/1: a value of a type that \"type\" does not allow" },
    { "\"type\":\"string\",\"enum\":[\"a\",\"a\"],\"examples\":[\"a\"]",
      "#/enum/1: repeats value 0" },
    { "\"type\":\"number\",\"enum\":[1,1.0],\"examples\":[1]", "#/enum/1: repeats value 0" },
    { "\"type\":\"string\",\"enum\":[],\"examples\":[\"a\"]", "#/enum: must be a non-empty array" },
    { "\"type\":\"object\",\"const\":{},\"examples\":[{}]",
      "#/const: only scalar values (string, number, boolean, null) are supported" },
    { "\"type\":\"string\",\"enum\":[\"a\"],\"const\":\"a\",\"examples\":[\"a\"]",
      "#/const: enum and const together: use one" },
    { "\"type\":\"boolean\",\"$comment\":7,\"examples\":[true]", "#/$comment: must be a string" },
    { "\"type\":\"boolean\",\"default\":true,\"examples\":[true]",
      "#/default: unknown keyword (not in the supported subset, see docs/facts.md)" },
    { "\"type\":\"boolean\",\"$ref\":\"#\",\"examples\":[true]",
      "#/$ref: unknown keyword (not in the supported subset, see docs/facts.md)" },
    { "\"type\":\"array\",\"items\":{\"type\":\"boolean\"},\"maxItems\":2,\"uniqueItems\":true,"
      "\"examples\":[[]]",
      "#/uniqueItems: unknown keyword (not in the supported subset, see docs/facts.md)" },
  };

  static const char draft7[] =
    "{\"$schema\":\"http://json-schema.org/draft-07/schema#\",\"type\":\"boolean\"}";
  struct gw_factschema *s = NULL;
  char err[512];

  (void)state;
  for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    expect_compile_error(bad[i].body, bad[i].want);
  assert_int_equal(gw_factschema_compile("d7", draft7, strlen(draft7), &s, err, sizeof(err)), -1);
  assert_string_equal(err, "d7: #/$schema: must be \"" GW_FACTSCHEMA_DRAFT "\"");
  assert_int_equal(gw_factschema_compile("arr", "[]", 2, &s, err, sizeof(err)), -1);
  assert_string_equal(err, "arr: #: must be a schema object (boolean schemas are not supported)");
}

/* dst = "{...array of...items:" + inner + "}" (test helper, asserts room). */
static void wrap_array(char *dst, size_t cap, const char *inner)
{
  static const char head[] = "{\"type\":\"array\",\"maxItems\":1,\"items\":";
  size_t hl = strlen(head), il = strlen(inner);
  char *tmp = malloc(hl + il + 2);

  assert_non_null(tmp);
  assert_true(hl + il + 2 <= cap);
  memcpy(tmp, head, hl);
  memcpy(tmp + hl, inner, il);
  memcpy(tmp + hl + il, "}", 2);
  memcpy(dst, tmp, hl + il + 2);
  free(tmp);
}

/* Schemas nest at most GW_FACTSCHEMA_MAX_DEPTH deep (root = 1). */
static void depth_cap(void **state)
{
  char inner[2048] = "{\"type\":\"boolean\"}", body[3072], want[256];
  struct gw_factschema *s;

  (void)state;
  /* GW_FACTSCHEMA_MAX_DEPTH - 1 levels; the root adds one: at the cap. */
  for(int depth = 3; depth <= GW_FACTSCHEMA_MAX_DEPTH; depth++)
    wrap_array(inner, sizeof(inner), inner);
  assert_true(snprintf(body, sizeof(body), "\"type\":\"array\",\"maxItems\":1,"
                       "\"items\":%.2047s,\"examples\":[[]]", inner) < (int)sizeof(body));
  s = compile_ok(body);
  gw_factschema_free(s);
  wrap_array(inner, sizeof(inner), inner);
  assert_true(snprintf(body, sizeof(body), "\"type\":\"array\",\"maxItems\":1,"
                       "\"items\":%.2047s,\"examples\":[[]]", inner) < (int)sizeof(body));
  snprintf(want, sizeof(want), "#");
  for(int i = 1; i <= GW_FACTSCHEMA_MAX_DEPTH; i++)
    strcat(want, "/items");
  strcat(want, ": schemas nested deeper than 8");
  expect_compile_error(body, want);
}

/* Numbers compare by value, exactly; "integer" is a mathematical integer. */
static void number_semantics(void **state)
{
  struct gw_factschema *s = compile_ok(
    "\"type\":[\"integer\",\"null\"],\"minimum\":0.5,\"maximum\":9007199254740992.0,"
    "\"examples\":[1,null]");
  struct gw_factschema *e = compile_ok(
    "\"type\":\"number\",\"enum\":[1,2.5],\"examples\":[1.0,2.5]");
  char err[256];
  json_t *v;

  (void)state;
  v = json_integer(0);
  assert_int_equal(gw_factschema_check(s, v, err, sizeof(err)), -1);
  assert_string_equal(err, "$: less than the minimum 0.5");
  json_decref(v);
  v = json_integer(9007199254740992LL);
  assert_int_equal(gw_factschema_check(s, v, err, sizeof(err)), 0);
  json_decref(v);
  /* 2^53 + 1 rounds to 2^53 as a double; the comparison must not. */
  v = json_integer(9007199254740993LL);
  assert_int_equal(gw_factschema_check(s, v, err, sizeof(err)), -1);
  assert_string_equal(err, "$: greater than the maximum 9007199254740992");
  json_decref(v);
  v = json_real(3.0);
  assert_int_equal(gw_factschema_check(s, v, err, sizeof(err)), 0);
  json_decref(v);
  v = json_real(1e300);
  assert_int_equal(gw_factschema_check(s, v, err, sizeof(err)), -1);
  assert_string_equal(err, "$: greater than the maximum 9007199254740992");
  json_decref(v);
  v = json_false();
  assert_int_equal(gw_factschema_check(s, v, err, sizeof(err)), -1);
  assert_string_equal(err, "$: expected integer or null, got boolean");

  assert_int_equal(gw_factschema_check(e, v, err, sizeof(err)), -1);
  assert_string_equal(err, "$: expected number, got boolean");
  json_decref(v);
  v = json_integer(2);
  assert_int_equal(gw_factschema_check(e, v, err, sizeof(err)), -1);
  assert_string_equal(err, "$: not one of [1,2.5]");
  json_decref(v);
  gw_factschema_free(s);
  gw_factschema_free(e);
}

static void dates(void **state)
{
  static const struct {
    const char *s;
    bool ok;
  } cases[] = {
    { "2024-02-29", true }, { "2000-02-29", true }, { "1900-02-28", true },
    { "0001-01-01", true }, { "9999-12-31", true }, { "2021-12-31", true },
    { "2021-02-29", false }, { "1900-02-29", false }, { "2100-02-29", false },
    { "0000-01-01", false }, { "2021-00-10", false }, { "2021-06-00", false },
    { "2021-06-31", false }, { "2021-6-30", false }, { "2021/06/30", false },
    { "+2021-06-3", false }, { "2021-06-3x", false }, { "20210630", false },
  };

  (void)state;
  for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    if(gw_fs_is_date(cases[i].s, strlen(cases[i].s)) != cases[i].ok)
      fail_msg("%s: want %d", cases[i].s, cases[i].ok);
}

/* ---- threads ------------------------------------------------------------ */

#define THREADS 4
#define ROUNDS 2000

struct worker {
  const struct gw_factschema_set *set;
  json_t *good, *bad;
  int failures;
};

static void *validate_loop(void *arg)
{
  struct worker *w = arg;
  char err[256];

  for(int i = 0; i < ROUNDS; i++) {
    if(gw_factschema_validate(w->set, "education.degrees", w->good, err, sizeof(err)) != 0)
      w->failures++;
    if(gw_factschema_validate(w->set, "education.degrees", w->bad, err, sizeof(err)) != -1 ||
       strcmp(err, "$[1].graduated_on: " NOT_A_DATE))
      w->failures++;
  }
  return NULL;
}

/* One set, shared read-only values, several threads at once (run under
 * -DGW_SANITIZE=ON this also checks nothing is written behind our back). */
static void concurrent_validation(void **state)
{
  struct gw_factschema_set *set = load_real();
  json_t *good = parse("[" DEGREE("bachelor", "full-time", "2015-06-30") ","
                       DEGREE("master", "part-time", "2018-06-30") "]");
  json_t *bad = parse("[" DEGREE("bachelor", "full-time", "2015-06-30") ","
                      DEGREE("master", "part-time", "2018-06-31") "]");
  struct worker w[THREADS];
  pthread_t t[THREADS];

  (void)state;
  for(int i = 0; i < THREADS; i++) {
    w[i] = (struct worker){ .set = set, .good = good, .bad = bad };
    assert_int_equal(pthread_create(&t[i], NULL, validate_loop, &w[i]), 0);
  }
  for(int i = 0; i < THREADS; i++) {
    assert_int_equal(pthread_join(t[i], NULL), 0);
    assert_int_equal(w[i].failures, 0);
  }
  json_decref(good);
  json_decref(bad);
  gw_factschema_set_free(set);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(real_schemas_load),
    cmocka_unit_test(valid_values),
    cmocka_unit_test(invalid_identity_and_hukou),
    cmocka_unit_test(invalid_degrees),
    cmocka_unit_test(invalid_overseas_and_qualifications),
    cmocka_unit_test(invalid_social_insurance),
    cmocka_unit_test(invalid_credit_talent_postdoc),
    cmocka_unit_test(api_edges),
    cmocka_unit_test(load_refusals),
    cmocka_unit_test(pattern_subset),
    cmocka_unit_test(pattern_semantics),
    cmocka_unit_test(profile_and_vocabulary),
    cmocka_unit_test(depth_cap),
    cmocka_unit_test(number_semantics),
    cmocka_unit_test(dates),
    cmocka_unit_test(concurrent_validation),
  };

  return cmocka_run_group_tests(tests, setup_dir, NULL);
}
