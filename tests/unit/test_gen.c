/*
 * test_gen.c - the running generation (runtime/gen.h): a generation loads
 * every part from a configuration; requests keep the generation they took
 * across publications; an old generation is freed on its last release
 * (counted with gw_gen_live); a refused load changes nothing; the config
 * record names every file with the sha256 of its bytes and passes the
 * audit log's record check; readers racing
 * publications (run under ASan/TSan to show no generation is freed while
 * held).
 *
 * Uses the repository's catalogue (schemas/) and the example adapters in
 * tests/adapters (GW_SOURCE_DIR, set by ctest); an attestation key is made
 * here.
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

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "acl.h"
#include "gw/adapter.h"
#include "gw/audit.h"
#include "gw/config.h"
#include "gw/facts.h"
#include "gw/fetch.h"
#include "gen.h"

static char tmp[] = "/tmp/gwgenXXXXXX";
static char examples[512], facts_dir[600], purposes[600], adapters[700], acl_path[700],
            key_path[700], preds_dir[700];
static struct gw_config cfg;

#define ACL_V1 "{\"clients\": {\"engine\": {\"roles\": [\"client\"], \"purposes\": " \
               "{\"talent.graduate\": [\"education.degrees\"]}}}}"
#define ACL_V2 "{\"clients\": {\"engine\": {\"roles\": [\"client\"], \"purposes\": " \
               "{\"talent.graduate\": [\"education.degrees\", \"credit.status\"]}}}}"

static void write_file(const char *path, const char *text)
{
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  fputs(text, fp);
  fclose(fp);
}

/* Lowercase hex SHA-256 of a file, computed here independently. */
static void file_sha256(const char *path, char out[65])
{
  FILE *fp = fopen(path, "rb");
  unsigned char buf[65536], md[32];
  size_t n;
  EVP_MD_CTX *c = EVP_MD_CTX_new();
  assert_non_null(fp);
  assert_int_equal(EVP_DigestInit_ex(c, EVP_sha256(), NULL), 1);
  while((n = fread(buf, 1, sizeof(buf), fp)) > 0)
    assert_int_equal(EVP_DigestUpdate(c, buf, n), 1);
  fclose(fp);
  assert_int_equal(EVP_DigestFinal_ex(c, md, NULL), 1);
  EVP_MD_CTX_free(c);
  for(int i = 0; i < 32; i++)
    snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static int setup(void **state)
{
  const char *src = getenv("GW_SOURCE_DIR");
  char cmd[6000];
  EVP_PKEY *k;
  FILE *fp;
  (void)state;
  if(!src || !mkdtemp(tmp))
    return -1;
  snprintf(examples, sizeof(examples), "%s/tests/adapters", src);
  snprintf(facts_dir, sizeof(facts_dir), "%s/schemas/facts", src);
  snprintf(purposes, sizeof(purposes), "%s/schemas/purposes.json", src);
  snprintf(adapters, sizeof(adapters), "%s/adapters", tmp);
  snprintf(acl_path, sizeof(acl_path), "%s/acl.json", tmp);
  snprintf(key_path, sizeof(key_path), "%s/attest.key", tmp);
  snprintf(preds_dir, sizeof(preds_dir), "%s/predicates", tmp);   /* none: empty set */
  setenv("GW_EXAMPLE_SI_CLIENT_SECRET", "example-secret", 1);
  snprintf(cmd, sizeof(cmd), "mkdir -p '%s' && ln -sfn '%s/certs' '%s/certs' && "
           "ln -sfn '%s/secrets' '%s/secrets' && cp '%s/example-chsi-soap11.json' '%s/chsi.json'",
           adapters, examples, adapters, examples, adapters, examples, adapters);
  if(system(cmd) != 0)
    return -1;
  write_file(acl_path, ACL_V1);
  k = EVP_EC_gen("P-256");
  fp = fopen(key_path, "w");
  if(!k || !fp || !PEM_write_PrivateKey(fp, k, NULL, NULL, 0, NULL, NULL))
    return -1;
  fclose(fp);
  EVP_PKEY_free(k);
  memset(&cfg, 0, sizeof(cfg));
  cfg.gateway_id = (char *)"gw-test";
  cfg.schemas_dir = facts_dir;
  cfg.purposes_file = purposes;
  cfg.adapters_dir = adapters;
  cfg.acl_file = acl_path;
  cfg.predicates_dir = preds_dir;
  cfg.attest_key = key_path;
  cfg.crypto.profile = GW_CRYPTO_INTL;
  return 0;
}

static int teardown(void **state)
{
  char cmd[300];
  (void)state;
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
  return system(cmd) == 0 ? 0 : -1;
}

static struct gw_gen *load(void)
{
  char err[1024];
  struct gw_gen *g = gw_gen_load(&cfg, 1, err, sizeof(err));
  if(!g)
    fail_msg("%s", err);
  return g;
}

static void activate(struct gw_gen_slot *slot, struct gw_gen *g, const char *who)
{
  gw_gen_slot_lock(slot);
  gw_gen_number(slot, g, who);
  gw_gen_publish(slot, g);
  gw_gen_slot_unlock(slot);
}

static void loads_every_part(void **state)
{
  long before = gw_gen_live();
  struct gw_gen *g = load();
  struct gw_adapter_rt *rt;
  (void)state;
  assert_int_equal(gw_gen_live(), before + 1);
  assert_int_equal(g->id, 0);                  /* not numbered before activation */
  assert_non_null(g->catalogue);
  assert_non_null(g->schemas);
  assert_non_null(g->acl);
  assert_non_null(g->preds);
  assert_non_null(g->signer);
  assert_int_equal(g->n_rt, 1);
  rt = gw_gen_rt_for_fact(g, "education.degrees");
  assert_non_null(rt);
  assert_string_equal(rt->adapter->id, "example.chsi.degrees");
  assert_ptr_equal(rt->schemas, g->schemas);   /* the runtime reads its generation's */
  assert_ptr_equal(gw_gen_rt_by_id(g, "example.chsi.degrees"), rt);
  assert_null(gw_gen_rt_for_fact(g, "credit.status"));
  assert_null(gw_gen_rt_for_fact_nth(g, "education.degrees", 1));
  gw_gen_release(g);
  assert_int_equal(gw_gen_live(), before);
}

/* The config record: every file, with the sha256 of its bytes (computed
 * here independently), versions where the file has one. */
static void the_record_names_every_file(void **state)
{
  struct gw_gen_slot *slot = gw_gen_slot_new();
  struct gw_gen *g = load();
  char *text, want[65], path[800];
  size_t len;
  json_t *rec, *a;
  (void)state;
  activate(slot, g, "start");
  text = gw_gen_record(g, &len);
  assert_non_null(text);
  assert_int_equal(strlen(text), len);
  {
    char why[256];
    /* what the audit log (and gwctl audit verify) accepts as a config record */
    if(gw_audit_record_check(text, len, why, sizeof(why)) != GW_AUDIT_OK)
      fail_msg("%s", why);
  }
  rec = json_loads(text, 0, NULL);
  assert_non_null(rec);
  assert_string_equal(json_string_value(json_object_get(rec, "kind")), "config");
  assert_int_equal(json_integer_value(json_object_get(rec, "generation")), 1);
  assert_string_equal(json_string_value(json_object_get(rec, "who")), "start");
  assert_true(json_integer_value(json_object_get(rec, "time")) > 1700000000000LL);
  file_sha256(acl_path, want);
  assert_string_equal(json_string_value(json_object_get(json_object_get(rec, "acl"), "sha256")),
                      want);
  assert_string_equal(json_string_value(json_object_get(json_object_get(rec, "acl"), "path")),
                      "acl.json");
  a = json_array_get(json_object_get(rec, "adapters"), 0);
  snprintf(path, sizeof(path), "%s/chsi.json", adapters);
  file_sha256(path, want);
  assert_string_equal(json_string_value(json_object_get(a, "path")), "chsi.json");
  assert_string_equal(json_string_value(json_object_get(a, "sha256")), want);
  assert_string_equal(json_string_value(json_object_get(a, "id")), "example.chsi.degrees");
  assert_true(json_is_integer(json_object_get(a, "version")));
  {
    json_t *cat = json_object_get(rec, "catalogue"), *p = json_object_get(cat, "purposes");
    json_t *f = json_object_get(cat, "facts");
    size_t nfacts;
    assert_non_null(gw_catalogue_current());
    (void)gw_fact_all(&nfacts);
    assert_int_equal(json_array_size(f), nfacts);        /* one entry per schema file */
    file_sha256(purposes, want);
    assert_string_equal(json_string_value(json_object_get(p, "path")), "purposes.json");
    assert_string_equal(json_string_value(json_object_get(p, "sha256")), want);
    assert_int_equal(json_integer_value(json_object_get(p, "version")),
                     gw_catalogue_version(g->catalogue));
    snprintf(path, sizeof(path), "%s/%s", facts_dir,
             json_string_value(json_object_get(json_array_get(f, 0), "path")));
    file_sha256(path, want);
    assert_string_equal(json_string_value(json_object_get(json_array_get(f, 0), "sha256")), want);
  }
  assert_int_equal(json_array_size(json_object_get(rec, "predicates")), 0);
  json_decref(rec);
  free(text);
  gw_gen_slot_free(slot);
}

/* A request keeps the generation it took while others are published; the
 * old one is freed on its last release, not before. */
static void requests_keep_their_generation(void **state)
{
  long before = gw_gen_live();
  struct gw_gen_slot *slot = gw_gen_slot_new();
  struct gw_gen *g1 = load(), *held, *g2, *flight, *now;
  const struct gw_acl *acl1;
  (void)state;
  activate(slot, g1, "start");
  held = gw_gen_acquire(slot);                 /* a query starts */
  flight = gw_gen_ref(held);                   /* its cache flight */
  acl1 = held->acl;
  assert_int_equal(held->id, 1);
  assert_false(gw_acl_fact_allowed(held->acl, "engine", "talent.graduate", "credit.status"));

  write_file(acl_path, ACL_V2);
  g2 = load();
  activate(slot, g2, "sighup");
  assert_int_equal(g2->id, 2);
  assert_ptr_equal(gw_catalogue_current(), g2->catalogue);
  assert_int_equal(gw_gen_live(), before + 2);  /* the old one is still held */
  assert_ptr_equal(held->acl, acl1);           /* the query sees what it started with */
  assert_false(gw_acl_fact_allowed(held->acl, "engine", "talent.graduate", "credit.status"));
  now = gw_gen_acquire(slot);
  assert_int_equal(now->id, 2);
  assert_true(gw_acl_fact_allowed(now->acl, "engine", "talent.graduate", "credit.status"));
  gw_gen_release(now);

  gw_gen_release(held);                        /* the query ends */
  assert_int_equal(gw_gen_live(), before + 2);  /* the flight still holds it */
  assert_non_null(flight->signer);
  gw_gen_release(flight);                      /* the flight ends: freed */
  assert_int_equal(gw_gen_live(), before + 1);
  gw_gen_slot_free(slot);
  assert_int_equal(gw_gen_live(), before);
  assert_null(gw_catalogue_current());         /* the slot's catalogue went with it */
  write_file(acl_path, ACL_V1);
}

/* A load that fails leaves nothing allocated and the current generation,
 * its id and its catalogue as they were. */
static void a_refused_load_changes_nothing(void **state)
{
  long before = gw_gen_live();
  struct gw_gen_slot *slot = gw_gen_slot_new();
  struct gw_gen *g1 = load(), *cur;
  char err[1024], path[800];
  (void)state;
  activate(slot, g1, "start");
  /* an ACL naming a purpose the catalogue lacks */
  write_file(acl_path, "{\"clients\": {\"e\": {\"roles\": [\"client\"], \"purposes\": "
                       "{\"talent.none\": [\"education.degrees\"]}}}}");
  assert_null(gw_gen_load(&cfg, 1, err, sizeof(err)));
  assert_non_null(strstr(err, "acl: "));
  assert_non_null(strstr(err, "talent.none"));
  write_file(acl_path, ACL_V1);
  /* an adapter that is not JSON */
  snprintf(path, sizeof(path), "%s/zz.json", adapters);
  write_file(path, "{\"id\": ");
  assert_null(gw_gen_load(&cfg, 1, err, sizeof(err)));
  assert_non_null(strstr(err, "adapters_dir: "));
  assert_non_null(strstr(err, "zz.json"));
  unlink(path);
  /* a missing attestation key */
  cfg.attest_key = (char *)"/nonexistent/attest.key";
  assert_null(gw_gen_load(&cfg, 1, err, sizeof(err)));
  assert_non_null(strstr(err, "keys.attestation: "));
  cfg.attest_key = key_path;

  assert_int_equal(gw_gen_live(), before + 1);  /* nothing left behind */
  cur = gw_gen_acquire(slot);
  assert_ptr_equal(cur, g1);
  assert_int_equal(cur->id, 1);
  assert_ptr_equal(gw_catalogue_current(), g1->catalogue);
  gw_gen_release(cur);
  /* the next activation still gets the next id */
  activate(slot, load(), "admin");
  cur = gw_gen_acquire(slot);
  assert_int_equal(cur->id, 2);
  assert_string_equal(cur->who, "admin");
  gw_gen_release(cur);
  gw_gen_slot_free(slot);
  assert_int_equal(gw_gen_live(), before);
}

/* ---- readers racing publications ------------------------------------------ */

#define RACE_READERS 4
#define RACE_PUBLICATIONS 20

struct race {
  struct gw_gen_slot *slot;
  atomic_int stop;
  atomic_long reads;
  atomic_int bad;
};

static void *reader(void *arg)
{
  struct race *r = arg;
  uint64_t last = 0;
  while(!atomic_load(&r->stop)) {
    struct gw_gen *g = gw_gen_acquire(r->slot);
    struct gw_adapter_rt *rt = gw_gen_rt_for_fact(g, "education.degrees");
    /* everything read through the generation is whole and stays put */
    if(!rt || rt->schemas != g->schemas || !g->acl || !g->signer || g->id < last ||
       !gw_acl_roles(g->acl, "engine"))
      atomic_store(&r->bad, 1);
    last = g->id;
    gw_gen_release(g);
    atomic_fetch_add(&r->reads, 1);
  }
  return NULL;
}

static void readers_race_publications(void **state)
{
  long before = gw_gen_live();
  struct race r;
  pthread_t t[RACE_READERS];
  struct gw_gen *last;
  (void)state;
  memset(&r, 0, sizeof(r));
  r.slot = gw_gen_slot_new();
  activate(r.slot, load(), "start");
  for(int i = 0; i < RACE_READERS; i++)
    assert_int_equal(pthread_create(&t[i], NULL, reader, &r), 0);
  for(int i = 0; i < RACE_PUBLICATIONS; i++)
    activate(r.slot, load(), "sighup");
  atomic_store(&r.stop, 1);
  for(int i = 0; i < RACE_READERS; i++)
    pthread_join(t[i], NULL);
  assert_int_equal(atomic_load(&r.bad), 0);
  assert_true(atomic_load(&r.reads) > 0);
  last = gw_gen_acquire(r.slot);
  assert_int_equal(last->id, 1 + RACE_PUBLICATIONS);
  gw_gen_release(last);
  assert_int_equal(gw_gen_live(), before + 1);  /* every replaced one was freed */
  gw_gen_slot_free(r.slot);
  assert_int_equal(gw_gen_live(), before);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(loads_every_part),
    cmocka_unit_test(the_record_names_every_file),
    cmocka_unit_test(requests_keep_their_generation),
    cmocka_unit_test(a_refused_load_changes_nothing),
    cmocka_unit_test(readers_race_publications),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
