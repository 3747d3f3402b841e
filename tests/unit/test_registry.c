/*
 * test_registry.c - the adapter registry: a directory of adapters becomes
 * one snapshot; duplicate ids and facts claimed twice are refused and leave
 * the current snapshot alone; a request keeps the version it started with
 * across swaps; put/remove version rules; and readers racing a writer
 * (run under ASan to show no snapshot is freed while in use).
 *
 * Uses the example adapters in tests/adapters (GW_SOURCE_DIR, set by ctest).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <pthread.h>
#include <stdatomic.h>
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

static struct gw_adapter *load_text(const char *text)
{
  struct gw_adapter *a;
  char err[1024];
  if(gw_adapter_load_text(text, strlen(text), "test", examples, &a, err, sizeof(err)))
    fail_msg("%s", err);
  return a;
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

static void empty_registry(void **state)
{
  struct gw_registry *reg = gw_registry_new();
  struct gw_registry_snapshot *s = gw_registry_acquire(reg);
  (void)state;
  assert_non_null(s);
  assert_int_equal(gw_registry_count(s), 0);
  assert_int_equal(gw_registry_generation(s), 0);
  assert_null(gw_registry_find(s, "x"));
  assert_null(gw_registry_for_fact(s, "education.degrees"));
  assert_null(gw_registry_at(s, 0));
  gw_registry_release(s);
  gw_registry_free(reg);
  gw_registry_release(NULL);
  gw_registry_free(NULL);
}

static void loads_a_directory(void **state)
{
  struct gw_registry *reg = gw_registry_new();
  struct gw_registry_snapshot *s;
  char err[1024];
  (void)state;
  /* tests/adapters also holds invalid/ and check_schema.py: both skipped */
  if(gw_registry_load_dir(reg, examples, err, sizeof(err)))
    fail_msg("%s", err);
  s = gw_registry_acquire(reg);
  assert_int_equal(gw_registry_generation(s), 1);
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
  gw_registry_release(s);
  gw_registry_free(reg);
}

static void conflicts_leave_the_current_snapshot(void **state)
{
  struct gw_registry *reg = gw_registry_new();
  struct gw_registry_snapshot *s;
  char err[1024], want[1024];
  char *chsi = edited(CHSI, NULL, NULL);
  char *other_id = edited(CHSI, "\"id\": \"example.chsi.degrees\"", "\"id\": \"example.chsi.other\"");
  (void)state;

  make_dir("ok");
  write_in("ok", "a.json", chsi);
  assert_int_equal(gw_registry_load_dir(reg, "/nonexistent-dir", err, sizeof(err)), -1);
  assert_string_equal(err, "/nonexistent-dir: cannot open: No such file or directory");
  snprintf(want, sizeof(want), "%s/ok", tmp);
  if(gw_registry_load_dir(reg, want, err, sizeof(err)))
    fail_msg("%s", err);

  make_dir("dupid");
  write_in("dupid", "a.json", chsi);
  write_in("dupid", "b.json", chsi);
  snprintf(want, sizeof(want), "%s/dupid", tmp);
  assert_int_equal(gw_registry_load_dir(reg, want, err, sizeof(err)), -1);
  snprintf(want, sizeof(want), "%s/dupid/b.json: id: \"example.chsi.degrees\" is already "
           "used by %s/dupid/a.json", tmp, tmp);
  assert_string_equal(err, want);

  make_dir("dupfact");
  write_in("dupfact", "a.json", chsi);
  write_in("dupfact", "b.json", other_id);
  snprintf(want, sizeof(want), "%s/dupfact", tmp);
  assert_int_equal(gw_registry_load_dir(reg, want, err, sizeof(err)), -1);
  snprintf(want, sizeof(want), "%s/dupfact/b.json: order: 1: \"education.degrees\" is "
           "already provided at order 1 by adapter \"example.chsi.degrees\" (%s/dupfact/a.json) "
           "(two adapters may serve one fact only at different orders)", tmp, tmp);
  assert_string_equal(err, want);

  make_dir("broken");
  write_in("broken", "a.json", chsi);
  write_in("broken", "b.json", "{\"id\": 1}");
  snprintf(want, sizeof(want), "%s/broken", tmp);
  assert_int_equal(gw_registry_load_dir(reg, want, err, sizeof(err)), -1);
  snprintf(want, sizeof(want), "%s/broken/b.json: id: must be a string", tmp);
  assert_string_equal(err, want);

  s = gw_registry_acquire(reg);                 /* still the first load */
  assert_int_equal(gw_registry_generation(s), 1);
  assert_int_equal(gw_registry_count(s), 1);
  gw_registry_release(s);
  gw_registry_free(reg);
  free(chsi);
  free(other_id);
}

static void requests_keep_their_version(void **state)
{
  struct gw_registry *reg = gw_registry_new();
  struct gw_registry_snapshot *s1, *s2, *s3;
  struct gw_adapter *v1, *v2, *same, *thief;
  const struct gw_adapter *held;
  char err[1024];
  char *t1 = edited(CHSI, NULL, NULL);
  char *t2 = edited(CHSI, "\"version\": 1", "\"version\": 2");
  char *t3 = edited(CHSI, "\"id\": \"example.chsi.degrees\"", "\"id\": \"example.chsi.thief\"");
  (void)state;

  v1 = load_text(t1);
  assert_int_equal(gw_registry_put(reg, v1, err, sizeof(err)), 0);
  gw_adapter_unref(v1);                        /* the registry keeps its own */
  s1 = gw_registry_acquire(reg);               /* a request starts */
  held = gw_registry_for_fact(s1, "education.degrees");
  assert_int_equal(held->version, 1);

  v2 = load_text(t2);
  assert_int_equal(gw_registry_put(reg, v2, err, sizeof(err)), 0);
  s2 = gw_registry_acquire(reg);
  assert_int_equal(gw_registry_find(s2, "example.chsi.degrees")->version, 2);
  assert_int_equal(held->version, 1);          /* the first request still sees v1 */
  assert_int_equal(gw_registry_generation(s1), 1);
  assert_int_equal(gw_registry_generation(s2), 2);

  same = load_text(t2);                        /* version 2 again: refused */
  assert_int_equal(gw_registry_put(reg, same, err, sizeof(err)), -1);
  assert_string_equal(err, "example.chsi.degrees: version 2 is not newer than the "
                      "active version 2");
  thief = load_text(t3);                       /* another id, the same fact */
  assert_int_equal(gw_registry_put(reg, thief, err, sizeof(err)), -1);
  assert_string_equal(err, "example.chsi.thief: order: 1: \"education.degrees\" is "
                      "already provided at order 1 by adapter \"example.chsi.degrees\" "
                      "(two adapters may serve one fact only at different orders)");
  gw_registry_release(s1);                     /* the last user of v1: freed */

  assert_int_equal(gw_registry_remove(reg, "example.chsi.degrees", err, sizeof(err)), 0);
  assert_int_equal(gw_registry_remove(reg, "example.chsi.degrees", err, sizeof(err)), -1);
  assert_string_equal(err, "example.chsi.degrees: no such adapter");
  s3 = gw_registry_acquire(reg);
  assert_int_equal(gw_registry_count(s3), 0);
  assert_int_equal(gw_registry_find(s2, "example.chsi.degrees")->version, 2);
  assert_int_equal(gw_registry_put(reg, thief, err, sizeof(err)), 0);  /* now free */
  gw_registry_release(s3);
  gw_registry_release(s2);
  gw_adapter_unref(v2);
  gw_adapter_unref(same);
  gw_adapter_unref(thief);
  gw_registry_free(reg);
  free(t1);
  free(t2);
  free(t3);
}

/* --- readers racing a writer --------------------------------------------- */

struct race {
  struct gw_registry *reg;
  atomic_int stop;
  atomic_long reads;
};

static void *reader(void *arg)
{
  struct race *r = arg;
  long n = 0;
  while(!atomic_load(&r->stop)) {
    struct gw_registry_snapshot *s = gw_registry_acquire(r->reg);
    size_t count = gw_registry_count(s);
    for(size_t i = 0; i < count; i++) {
      const struct gw_adapter *a = gw_registry_at(s, i);
      /* touch what a request would: id, facts, mapping */
      if(!a->id[0] || !a->n_facts || !a->mappings[0].spec)
        abort();
    }
    gw_registry_release(s);
    n++;
  }
  atomic_fetch_add(&r->reads, n);
  return NULL;
}

static void readers_race_a_writer(void **state)
{
  struct race r;
  pthread_t threads[4];
  char err[1024];
  (void)state;

  r.reg = gw_registry_new();
  atomic_init(&r.stop, 0);
  atomic_init(&r.reads, 0);
  assert_int_equal(gw_registry_load_dir(r.reg, examples, err, sizeof(err)), 0);
  for(int i = 0; i < 4; i++)
    assert_int_equal(pthread_create(&threads[i], NULL, reader, &r), 0);
  for(int round = 0; round < 120; round++) {
    if(round % 3 == 2) {
      assert_int_equal(gw_registry_load_dir(r.reg, examples, err, sizeof(err)), 0);
      continue;
    }
    /* replace the chsi adapter with a fresh, newer version each time */
    char buf[32], *text;
    struct gw_adapter *a;
    snprintf(buf, sizeof(buf), "\"version\": %d", round + 2);
    text = edited(CHSI, "\"version\": 1", buf);
    a = load_text(text);
    free(text);
    if(gw_registry_put(r.reg, a, err, sizeof(err)))
      fail_msg("%s", err);
    gw_adapter_unref(a);
  }
  atomic_store(&r.stop, 1);
  for(int i = 0; i < 4; i++)
    pthread_join(threads[i], NULL);
  assert_true(atomic_load(&r.reads) > 0);
  gw_registry_free(r.reg);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(empty_registry),
    cmocka_unit_test(loads_a_directory),
    cmocka_unit_test(conflicts_leave_the_current_snapshot),
    cmocka_unit_test(requests_keep_their_version),
    cmocka_unit_test(readers_race_a_writer),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
