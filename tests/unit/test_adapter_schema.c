/*
 * test_adapter_schema.c - the C loader and schemas/adapter.schema.json agree
 * on every example adapter under tests/adapters/: each .json file there loads,
 * each one in invalid/ is refused with the message invalid/EXPECTED.txt
 * gives, and an independent JSON Schema validator (Debian's
 * python3-jsonschema, draft 2020-12, through tests/adapters/check_schema.py)
 * gives the same verdicts.  Without that package the schema half is
 * skipped, never faked.
 *
 * GW_SOURCE_DIR (set by ctest) is the repository root; GW_PYTHON3 may name
 * the Python to use (default /usr/bin/python3, where the Debian package
 * installs).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "gw/adapter.h"
#include "gw/facts.h"
#include "../lib/catalogue_fixture.h"

static char root[512];

static int setup(void **state)
{
  const char *src = getenv("GW_SOURCE_DIR");
  (void)state;
  if(!src || !*src) {
    fprintf(stderr, "GW_SOURCE_DIR is not set (run through ctest)\n");
    return -1;
  }
  snprintf(root, sizeof(root), "%s", src);
  /* the example oauth2 adapter takes its client secret from here */
  setenv("GW_EXAMPLE_SI_CLIENT_SECRET", "example-secret", 1);
  return 0;
}

static int ends_with(const char *s, const char *tail)
{
  size_t n = strlen(s), t = strlen(tail);
  return n >= t && !strcmp(s + n - t, tail);
}

static void examples_load(void **state)
{
  char dir[600];
  struct dirent *e;
  DIR *d;
  int loaded = 0;
  (void)state;
  snprintf(dir, sizeof(dir), "%s/tests/adapters", root);
  d = opendir(dir);
  assert_non_null(d);
  while((e = readdir(d))) {
    struct gw_adapter *a;
    char path[900], err[1024];
    if(!ends_with(e->d_name, ".json"))
      continue;
    snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
    if(gw_adapter_load(path, &a, err, sizeof(err)))
      fail_msg("%s", err);
    gw_adapter_unref(a);
    loaded++;
  }
  closedir(d);
  assert_true(loaded >= 5);
}

static void invalid_examples_refused(void **state)
{
  char dir[600], list[700], line[1024];
  FILE *fp;
  int checked = 0, files = 0;
  struct dirent *e;
  DIR *d;
  (void)state;
  snprintf(dir, sizeof(dir), "%s/tests/adapters/invalid", root);
  snprintf(list, sizeof(list), "%s/EXPECTED.txt", dir);
  fp = fopen(list, "r");
  assert_non_null(fp);
  while(fgets(line, sizeof(line), fp)) {
    struct gw_adapter *a = NULL;
    char path[2048], want[4096], err[1024];
    char *tab = strchr(line, '\t');
    size_t len = strlen(line);
    if(line[0] == '#' || !tab)
      continue;
    if(len && line[len - 1] == '\n')
      line[len - 1] = '\0';
    *tab = '\0';
    snprintf(path, sizeof(path), "%s/%s", dir, line);
    snprintf(want, sizeof(want), "%s: %s", path, tab + 1);
    if(gw_adapter_load(path, &a, err, sizeof(err)) != -1)
      fail_msg("%s: loaded, but want \"%s\"", line, want);
    if(strncmp(err, want, strlen(want)))
      fail_msg("%s:\n  got  \"%s\"\n  want \"%s...\"", line, err, want);
    checked++;
  }
  fclose(fp);
  d = opendir(dir);
  assert_non_null(d);
  while((e = readdir(d)))
    files += ends_with(e->d_name, ".json");
  closedir(d);
  assert_int_equal(files, checked);        /* every file has its expectation */
  assert_true(checked >= 20);
}

/* The catalogue is data: the adapter schema names no fact and binds no
 * fact to an agency; a fact name is only checked for its shape, and every
 * fact of the catalogue has that shape. */
static void schema_names_no_fact(void **state)
{
  char path[600];
  json_error_t jerr;
  json_t *schema, *fact_name, *rule;
  const struct gw_fact_def *facts;
  size_t n, i;
  (void)state;
  snprintf(path, sizeof(path), "%s/schemas/adapter.schema.json", root);
  schema = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
  if(!schema)
    fail_msg("%s: line %d: %s", path, jerr.line, jerr.text);
  fact_name = json_object_get(json_object_get(schema, "$defs"), "factName");
  assert_null(json_object_get(fact_name, "enum"));
  assert_string_equal(json_string_value(json_object_get(fact_name, "pattern")),
                      "^[a-z0-9_]+(\\.[a-z0-9_]+)+$");
  json_array_foreach(json_object_get(schema, "allOf"), i, rule)
    assert_null(json_object_get(json_object_get(json_object_get(rule, "if"), "properties"),
                                "facts"));
  facts = gw_fact_all(&n);
  assert_true(n >= 11);
  for(i = 0; i < n; i++)
    assert_true(gw_fact_name_ok(facts[i].name));
  json_decref(schema);
}

static void schema_agrees(void **state)
{
  const char *py = getenv("GW_PYTHON3");
  char cmd[2000];
  (void)state;
  if(!py || !*py)
    py = "/usr/bin/python3";
  snprintf(cmd, sizeof(cmd), "'%s' -c 'import jsonschema; jsonschema.Draft202012Validator'"
           " >/dev/null 2>&1", py);
  if(system(cmd) != 0) {
    fprintf(stderr, "skipped: %s cannot import jsonschema with draft 2020-12 "
            "(apt-get install python3-jsonschema)\n", py);
    skip();
  }
  snprintf(cmd, sizeof(cmd), "'%s' '%s/tests/adapters/check_schema.py' "
           "'%s/schemas/adapter.schema.json' '%s/tests/adapters'", py, root, root, root);
  assert_int_equal(system(cmd), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(examples_load),
    cmocka_unit_test(invalid_examples_refused),
    cmocka_unit_test(schema_names_no_fact),
    cmocka_unit_test(schema_agrees),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
