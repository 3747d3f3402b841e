/*
 * test_registry.c - the adapter set of a generation: a directory of
 * adapters becomes one immutable set, in id order, looked up by id and by
 * fact (in "order"); duplicate ids, a fact served twice at one order and a
 * broken file refuse the whole directory.  Swapping sets and requests
 * keeping theirs is the generation's (test_gen.c).
 *
 * Uses the example adapters in tests/adapters (GW_SOURCE_DIR, set by ctest).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "gw/adapter.h"
#include "registry.h"
#include "../lib/catalogue_fixture.h"

static char examples[512];
static char tmp[] = "/tmp/gwregXXXXXX";

#define CHSI "example-chsi-soap11.json"

static char *slurp(const char *path)
{
  FILE *fp = fopen(path, "rb");
  char *buf;
  long len;
  assert_non_null(fp);
  assert_int_equal(fseek(fp, 0, SEEK_END), 0);
  len = ftell(fp);
  rewind(fp);
  buf = malloc((size_t)len + 1);
  assert_non_null(buf);
  assert_int_equal(fread(buf, 1, (size_t)len, fp), (size_t)len);
  buf[len] = '\0';
  fclose(fp);
  return buf;
}

/* The example file `name`, with `from` replaced by `to` (first occurrence)
 * unless from is NULL.  The caller frees. */
static char *edited(const char *name, const char *from, const char *to)
{
  char path[700], *text, *at, *out;
  size_t len;
  snprintf(path, sizeof(path), "%s/%s", examples, name);
  text = slurp(path);
  if(!from)
    return text;
  at = strstr(text, from);
  assert_non_null(at);
  len = strlen(text) - strlen(from) + strlen(to) + 1;
  out = malloc(len);
  assert_non_null(out);
  snprintf(out, len, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
  free(text);
  return out;
}

static void write_in(const char *sub, const char *name, const char *text)
{
  char path[700];
  FILE *fp;
  snprintf(path, sizeof(path), "%s/%s/%s", tmp, sub, name);
  fp = fopen(path, "w");
  assert_non_null(fp);
  fputs(text, fp);
  fclose(fp);
}

/* A directory under tmp whose certs/ and secrets/ are the examples'. */
static void make_dir(const char *sub)
{
  char cmd[2000];
  snprintf(cmd, sizeof(cmd), "mkdir -p '%s/%s' && ln -sfn '%s/certs' '%s/%s/certs' && "
           "ln -sfn '%s/secrets' '%s/%s/secrets'", tmp, sub, examples, tmp, sub,
           examples, tmp, sub);
  assert_int_equal(system(cmd), 0);
}

static int setup(void **state)
{
  const char *src = getenv("GW_SOURCE_DIR");
  (void)state;
  if(!src || !mkdtemp(tmp))
    return -1;
  snprintf(examples, sizeof(examples), "%s/tests/adapters", src);
  setenv("GW_EXAMPLE_SI_CLIENT_SECRET", "example-secret", 1);
  return 0;
}

static int teardown(void **state)
{
  char cmd[300];
  (void)state;
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
  return system(cmd) == 0 ? 0 : -1;
}

static void empty_directory(void **state)
{
  struct gw_registry *s;
  char err[1024], dir[700];
  (void)state;
  make_dir("empty");
  snprintf(dir, sizeof(dir), "%s/empty", tmp);
  if(gw_registry_load_dir(dir, &s, err, sizeof(err)))
    fail_msg("%s", err);
  assert_int_equal(gw_registry_count(s), 0);
  assert_null(gw_registry_find(s, "x"));
  assert_null(gw_registry_for_fact(s, "education.degrees"));
  assert_null(gw_registry_at(s, 0));
  gw_registry_free(s);
  gw_registry_free(NULL);
}

static void loads_a_directory(void **state)
{
  struct gw_registry *s;
  char err[1024];
  (void)state;
  /* tests/adapters also holds invalid/ and check_schema.py: both skipped */
  if(gw_registry_load_dir(examples, &s, err, sizeof(err)))
    fail_msg("%s", err);
  assert_int_equal(gw_registry_count(s), 5);
  for(size_t i = 1; i < gw_registry_count(s); i++)         /* id order */
    assert_true(strcmp(gw_registry_at(s, i - 1)->id, gw_registry_at(s, i)->id) < 0);
  assert_string_equal(gw_registry_find(s, "example.chsi.degrees")->agency, "chsi");
  assert_null(gw_registry_find(s, "example.chsi"));
  assert_string_equal(gw_registry_for_fact(s, "education.degrees")->id, "example.chsi.degrees");
  assert_string_equal(gw_registry_for_fact(s, "social_insurance.employer")->id,
                      "example.si.insurance");
  assert_null(gw_registry_for_fact(s, "identity.match"));    /* nobody provides it */
  assert_null(gw_registry_for_fact(s, "no.such.fact"));
  gw_registry_free(s);
}

/* Two adapters may serve one fact at different orders: looked up by order. */
static void serves_in_order(void **state)
{
  struct gw_registry *s;
  char err[1024], dir[700];
  char *first = edited(CHSI, NULL, NULL);
  char *second = edited(CHSI, "\"id\": \"example.chsi.degrees\"", "\"id\": \"example.chsi.backup\", \"order\": 2");
  (void)state;
  make_dir("order");
  write_in("order", "b.json", first);         /* file order is not the order */
  write_in("order", "a.json", second);
  snprintf(dir, sizeof(dir), "%s/order", tmp);
  if(gw_registry_load_dir(dir, &s, err, sizeof(err)))
    fail_msg("%s", err);
  assert_string_equal(gw_registry_for_fact_nth(s, "education.degrees", 0)->id,
                      "example.chsi.degrees");
  assert_string_equal(gw_registry_for_fact_nth(s, "education.degrees", 1)->id,
                      "example.chsi.backup");
  assert_null(gw_registry_for_fact_nth(s, "education.degrees", 2));
  gw_registry_free(s);
  free(first);
  free(second);
}

static void conflicts_refuse_the_whole_directory(void **state)
{
  struct gw_registry *s = NULL;
  char err[1024], want[1024];
  char *chsi = edited(CHSI, NULL, NULL);
  char *other_id = edited(CHSI, "\"id\": \"example.chsi.degrees\"", "\"id\": \"example.chsi.other\"");
  (void)state;

  make_dir("ok");
  write_in("ok", "a.json", chsi);
  assert_int_equal(gw_registry_load_dir("/nonexistent-dir", &s, err, sizeof(err)), -1);
  assert_string_equal(err, "/nonexistent-dir: cannot open: No such file or directory");
  snprintf(want, sizeof(want), "%s/ok", tmp);
  if(gw_registry_load_dir(want, &s, err, sizeof(err)))
    fail_msg("%s", err);
  assert_int_equal(gw_registry_count(s), 1);
  gw_registry_free(s);

  make_dir("dupid");
  write_in("dupid", "a.json", chsi);
  write_in("dupid", "b.json", chsi);
  snprintf(want, sizeof(want), "%s/dupid", tmp);
  assert_int_equal(gw_registry_load_dir(want, &s, err, sizeof(err)), -1);
  assert_null(s);
  snprintf(want, sizeof(want), "%s/dupid/b.json: id: \"example.chsi.degrees\" is already "
           "used by %s/dupid/a.json", tmp, tmp);
  assert_string_equal(err, want);

  make_dir("dupfact");
  write_in("dupfact", "a.json", chsi);
  write_in("dupfact", "b.json", other_id);
  snprintf(want, sizeof(want), "%s/dupfact", tmp);
  assert_int_equal(gw_registry_load_dir(want, &s, err, sizeof(err)), -1);
  assert_null(s);
  snprintf(want, sizeof(want), "%s/dupfact/b.json: order: 1: \"education.degrees\" is "
           "already provided at order 1 by adapter \"example.chsi.degrees\" (%s/dupfact/a.json) "
           "(two adapters may serve one fact only at different orders)", tmp, tmp);
  assert_string_equal(err, want);

  make_dir("broken");
  write_in("broken", "a.json", chsi);
  write_in("broken", "b.json", "{\"id\": 1}");
  snprintf(want, sizeof(want), "%s/broken", tmp);
  assert_int_equal(gw_registry_load_dir(want, &s, err, sizeof(err)), -1);
  assert_null(s);
  snprintf(want, sizeof(want), "%s/broken/b.json: id: must be a string", tmp);
  assert_string_equal(err, want);

  free(chsi);
  free(other_id);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(empty_directory),
    cmocka_unit_test(loads_a_directory),
    cmocka_unit_test(serves_in_order),
    cmocka_unit_test(conflicts_refuse_the_whole_directory),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
