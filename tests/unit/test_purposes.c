/*
 * test_purposes.c - judging a purposes.json text before it is written
 * (gw_purposes_check_text, what PUT /v1/purposes and gwctl purposes push
 * use) and the bytes a loaded catalogue keeps of it (GET /v1/purposes).
 *
 * Against the repository's catalogue (installed by the fixture): the real
 * file passes with its version; a purpose naming a fact with no schema, a
 * fact listed twice, a bad version, an unknown member and a bad purpose
 * name are each refused with LABEL: FIELD: PROBLEM, exactly.  With no
 * catalogue installed (gwctl without a local one) fact names are judged by
 * form only.  A catalogue keeps the file's exact bytes and their SHA-256.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "gw/alloc.h"
#include "gw/b64.h"
#include "gw/facts.h"
#include "../lib/catalogue_fixture.h"

static char *read_file(const char *path, size_t *len)
{
  FILE *fp = fopen(path, "rb");
  char *buf = gw_malloc(GW_CATALOGUE_FILE_MAX + 1);
  assert_non_null(fp);
  *len = fread(buf, 1, GW_CATALOGUE_FILE_MAX, fp);
  buf[*len] = '\0';
  fclose(fp);
  return buf;
}

static const char *purposes_path(void)
{
  static char path[1024];
  const char *root = getenv("GW_SOURCE_DIR");
#ifdef GW_SOURCE_DIR_DEFAULT
  if(!root || !*root)
    root = GW_SOURCE_DIR_DEFAULT;
#endif
  snprintf(path, sizeof(path), "%s/schemas/purposes.json", root);
  return path;
}

/* The repository's purposes.json, edited by `edit` (a jansson step on the
 * parsed document), as text; the caller frees. */
static char *edited(void (*edit)(json_t *doc))
{
  size_t len;
  char *text = read_file(purposes_path(), &len), *out, *copy;
  json_t *doc = json_loadb(text, len, 0, NULL);
  assert_non_null(doc);
  edit(doc);
  out = json_dumps(doc, JSON_PRESERVE_ORDER);
  assert_non_null(out);
  copy = gw_strdup(out);
  free(out);
  json_decref(doc);
  gw_free(text);
  return copy;
}

static json_t *graduate_facts(json_t *doc)
{
  return json_object_get(json_object_get(json_object_get(doc, "purposes"), "talent.graduate"),
                         "facts");
}

static void add_unknown(json_t *doc)
{
  json_array_append_new(graduate_facts(doc), json_string("no_such.fact"));
}

static void add_twice(json_t *doc)
{
  json_array_append_new(graduate_facts(doc), json_string("identity.match"));
}

static void add_malformed(json_t *doc)
{
  json_array_append_new(graduate_facts(doc), json_string("Bad.Name"));
}

static void version_zero(json_t *doc)
{
  json_object_set_new(doc, "version", json_integer(0));
}

static void version_huge(json_t *doc)
{
  json_object_set_new(doc, "version", json_integer(2000000000));
}

static void unknown_member(json_t *doc)
{
  json_object_set_new(doc, "owner", json_string("someone"));
}

static void bad_purpose_name(json_t *doc)
{
  json_object_set_new(json_object_get(doc, "purposes"), "Talent",
                      json_pack("{s:s, s:[s]}", "description", "x", "facts", "identity.match"));
}

/* "P.facts[N]" of the last fact of talent.graduate, after an edit. */
static size_t last_index(void)
{
  size_t len;
  char *text = read_file(purposes_path(), &len);
  json_t *doc = json_loadb(text, len, 0, NULL);
  size_t n = json_array_size(graduate_facts(doc));
  json_decref(doc);
  gw_free(text);
  return n;                   /* the appended one's index */
}

static void expect_refused(void (*edit)(json_t *doc), const char *want)
{
  char *text = edited(edit), err[1024];
  int version = -1;
  assert_int_equal(gw_purposes_check_text("purposes.json", text, strlen(text), &version, err,
                                          sizeof(err)), -1);
  assert_string_equal(err, want);
  assert_int_equal(version, -1);
  gw_free(text);
}

static void real_file_passes(void **state)
{
  size_t len;
  char *text = read_file(purposes_path(), &len), err[1024];
  int version = 0;
  (void)state;
  assert_int_equal(gw_purposes_check_text("purposes.json", text, len, &version, err, sizeof(err)),
                   0);
  assert_int_equal(version, (int)gw_catalogue_version(gw_test_catalogue));
  gw_free(text);
}

static void refusals_name_file_and_field(void **state)
{
  char want[512];
  (void)state;
  snprintf(want, sizeof(want), "purposes.json: purposes.talent.graduate.facts[%zu]: \"no_such.fact\" "
           "is not a fact of the catalogue (no no_such.fact.schema.json)", last_index());
  expect_refused(add_unknown, want);
  snprintf(want, sizeof(want), "purposes.json: purposes.talent.graduate.facts[%zu]: "
           "\"identity.match\" is listed twice", last_index());
  expect_refused(add_twice, want);
  expect_refused(version_zero, "purposes.json: version: must be an integer of at least 1");
  expect_refused(version_huge, "purposes.json: version: must be at most 1000000000");
  expect_refused(unknown_member,
                 "purposes.json: owner: unknown member ($comment, version, purposes)");
  expect_refused(bad_purpose_name,
                 "purposes.json: purposes.Talent: not a purpose name ([a-z0-9_]+(.[a-z0-9_]+)+)");
}

static void not_json(void **state)
{
  char err[1024];
  int version = 0;
  (void)state;
  assert_int_equal(gw_purposes_check_text("p.json", "[1]", 3, &version, err, sizeof(err)), -1);
  assert_string_equal(err, "p.json: #: not a JSON object (other type)");
  assert_int_equal(gw_purposes_check_text("p.json", "{\"version\":", 11, &version, err,
                                          sizeof(err)), -1);
  assert_non_null(strstr(err, "p.json: #: not a JSON object ("));
}

/* With no catalogue (gwctl far from one): form only. */
static void form_only_without_catalogue(void **state)
{
  char *text = edited(add_unknown), err[1024];
  int version = 0;
  char want[512];
  (void)state;
  gw_catalogue_install(NULL);
  assert_int_equal(gw_purposes_check_text("purposes.json", text, strlen(text), &version, err,
                                          sizeof(err)), 0);
  assert_int_equal(version, (int)gw_catalogue_version(gw_test_catalogue));
  gw_free(text);
  text = edited(add_malformed);
  snprintf(want, sizeof(want), "purposes.json: purposes.talent.graduate.facts[%zu]: not a fact "
           "name ([a-z0-9_]+(.[a-z0-9_]+)+)", last_index());
  assert_int_equal(gw_purposes_check_text("purposes.json", text, strlen(text), &version, err,
                                          sizeof(err)), -1);
  assert_string_equal(err, want);
  gw_free(text);
  gw_catalogue_install(gw_test_catalogue);
}

static void catalogue_keeps_the_bytes(void **state)
{
  size_t len, got_len = 0;
  char *text = read_file(purposes_path(), &len), hex[65];
  const char *sha = NULL, *got;
  unsigned char md[32];
  (void)state;
  got = gw_catalogue_purposes_text(gw_test_catalogue, &got_len, &sha);
  assert_non_null(got);
  assert_int_equal(got_len, len);
  assert_memory_equal(got, text, len);
  EVP_Digest(text, len, md, NULL, EVP_sha256(), NULL);
  gw_hex_encode(md, sizeof(md), hex);
  assert_string_equal(sha, hex);
  assert_null(gw_catalogue_purposes_text(NULL, &got_len, &sha));
  assert_int_equal(got_len, 0);
  gw_free(text);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(real_file_passes),
    cmocka_unit_test(refusals_name_file_and_field),
    cmocka_unit_test(not_json),
    cmocka_unit_test(form_only_without_catalogue),
    cmocka_unit_test(catalogue_keeps_the_bytes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
