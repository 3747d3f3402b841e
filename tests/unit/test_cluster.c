/*
 * test_cluster.c - what reaches Redis: sealed values bound to their cache
 * key, HMAC'd key names, the seal key's checks, and the cluster section of
 * the config (secrets never inline, numeric hosts only).  The protocol on
 * a live redis-server is tested by tests/cluster.
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

#include "gw/alloc.h"
#include "gw/cluster.h"
#include "gw/config.h"
#include "gw/config_load.h"

static char dir[] = "/tmp/gwclXXXXXX";

static void write_file(const char *name, const char *text)
{
  char path[256];
  FILE *fp;
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  fp = fopen(path, "w");
  assert_non_null(fp);
  fputs(text, fp);
  fclose(fp);
}

static int setup(void **state)
{
  static const char *const files[] = { "server.pem", "server.key", "ca.pem", "acl.json",
                                       "attest.key", "secret", "ckpt.key", "seal.pem" };
  (void)state;
  if(!mkdtemp(dir))
    return -1;
  for(size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
    write_file(files[i], "x");
  write_file("redis.key", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n");
  write_file("other.key", "ff112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n");
  write_file("short.key", "0011223344\n");
  write_file("redis.pw", "s3cret-pw\n");
  return 0;
}

static int teardown(void **state)
{
  char cmd[300];
  (void)state;
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

#define BASE "\"gateway_id\": \"g\", \"tls\": {\"cert\": \"server.pem\", \"key\": \"server.key\", \"client_ca\": \"ca.pem\"}, " \
  "\"adapters_dir\": \".\", \"schemas_dir\": \".\", \"acl\": \"acl.json\", " \
  "\"keys\": {\"attestation\": \"attest.key\", \"subject_secret\": \"secret\"}, " \
  "\"audit\": {\"dir\": \"audit\", \"checkpoint_key\": \"ckpt.key\", \"seal_cert\": \"seal.pem\"}"

/* Loads {BASE, "cluster": cluster}; returns the config or NULL with err. */
static struct gw_config *load(const char *cluster, char *err, size_t errlen)
{
  char text[2048], path[256];
  struct gw_config *cfg = NULL;
  snprintf(text, sizeof(text), "{" BASE ", \"cluster\": %s}", cluster);
  write_file("gw.json", text);
  snprintf(path, sizeof(path), "%s/gw.json", dir);
  if(gw_config_load(path, &cfg, err, errlen))
    return NULL;
  return cfg;
}

static void test_config_cluster(void **state)
{
  char err[512];
  struct gw_config *cfg;
  (void)state;
  cfg = load("{\"instances\": 3, \"redis\": {\"host\": \"127.0.0.1\", \"port\": 6390, "
             "\"user\": \"gw\", \"password\": \"file:redis.pw\", \"seal_key\": \"redis.key\"}}",
             err, sizeof(err));
  if(!cfg)
    fail_msg("%s", err);
  assert_true(cfg->cluster.enabled);
  assert_int_equal(cfg->cluster.instances, 3);
  assert_int_equal(cfg->cluster.port, 6390);
  assert_string_equal(cfg->cluster.password, "s3cret-pw");   /* newline not part of it */
  assert_string_equal(cfg->cluster.key_prefix, "gw:");
  assert_int_equal(cfg->cluster.command_timeout_ms, 250);
  gw_config_free(cfg);

  setenv("GW_TEST_REDIS_PW", "from-env", 1);
  cfg = load("{\"redis\": {\"host\": \"::1\", \"user\": \"gw\", \"password\": \"env:GW_TEST_REDIS_PW\", "
             "\"seal_key\": \"redis.key\"}}", err, sizeof(err));
  assert_non_null(cfg);
  assert_string_equal(cfg->cluster.password, "from-env");
  gw_config_free(cfg);

  assert_null(load("{\"redis\": {\"host\": \"127.0.0.1\", \"password\": \"inline\", "
                   "\"seal_key\": \"redis.key\"}}", err, sizeof(err)));
  assert_non_null(strstr(err, "cluster.redis.password: must be \"env:NAME\" or \"file:PATH\""));
  assert_null(load("{\"redis\": {\"host\": \"redis.example\", \"seal_key\": \"redis.key\"}}",
                   err, sizeof(err)));
  assert_non_null(strstr(err, "cluster.redis.host: must be a numeric"));
  assert_null(load("{\"redis\": {\"host\": \"127.0.0.1\", \"user\": \"gw\", "
                   "\"seal_key\": \"redis.key\"}}", err, sizeof(err)));
  assert_non_null(strstr(err, "cluster.redis.password: missing"));
  assert_null(load("{\"redis\": {\"host\": \"127.0.0.1\", \"seal_key\": \"redis.key\", "
                   "\"tls\": true}}", err, sizeof(err)));
  assert_non_null(strstr(err, "cluster.redis.tls: unknown field"));
  unsetenv("GW_TEST_REDIS_PW2");
  assert_null(load("{\"redis\": {\"host\": \"127.0.0.1\", \"user\": \"u\", "
                   "\"password\": \"env:GW_TEST_REDIS_PW2\", \"seal_key\": \"redis.key\"}}",
                   err, sizeof(err)));
  assert_non_null(strstr(err, "GW_TEST_REDIS_PW2 is not set"));
}

static struct gw_cluster *cluster_with(const char *keyfile, struct gw_cluster_config *cc)
{
  char path[256], err[256];
  struct gw_cluster *c;
  snprintf(path, sizeof(path), "%s/%s", dir, keyfile);
  memset(cc, 0, sizeof(*cc));
  cc->enabled = 1;
  static char host[] = "127.0.0.1", prefix[] = "gw:";
  cc->host = host;
  cc->port = 6379;
  cc->key_prefix = prefix;
  cc->seal_key = gw_strdup(path);
  cc->instances = 2;
  c = gw_cluster_new(cc, err, sizeof(err));
  return c;
}

static void test_seal_and_names(void **state)
{
  struct gw_cluster_config cc1, cc2, cc3;
  struct gw_cluster *c = cluster_with("redis.key", &cc1), *other = cluster_with("other.key", &cc2);
  static const char plain[] = "{\"value\":\"440301199001011234\",\"name\":\"张三\"}";
  const char *key = "chsi.degrees@1:AbCdEf";
  unsigned char *sealed, *opened;
  size_t slen = 0, olen = 0;
  char k1[160], k2[160], k3[160];
  (void)state;

  assert_non_null(c);
  assert_non_null(other);
  assert_null(cluster_with("short.key", &cc3));   /* 32 bytes or nothing */
  gw_free(cc3.seal_key);

  sealed = gw_cluster_seal(c, key, (const unsigned char *)plain, strlen(plain), &slen);
  assert_non_null(sealed);
  assert_int_equal(slen, 1 + 12 + strlen(plain) + 16);
  assert_null(memmem(sealed, slen, "440301", 6));
  assert_null(memmem(sealed, slen, "张三", strlen("张三")));
  opened = gw_cluster_open(c, key, sealed, slen, &olen);
  assert_non_null(opened);
  assert_int_equal(olen, strlen(plain));
  assert_memory_equal(opened, plain, olen);
  gw_free(opened);
  /* bound to its cache key, to the gateways' key, and to every byte */
  assert_null(gw_cluster_open(c, "chsi.degrees@1:AbCdEg", sealed, slen, &olen));
  assert_null(gw_cluster_open(other, key, sealed, slen, &olen));
  sealed[slen / 2] ^= 1;
  assert_null(gw_cluster_open(c, key, sealed, slen, &olen));
  sealed[slen / 2] ^= 1;
  assert_null(gw_cluster_open(c, key, sealed, slen - 1, &olen));
  sealed[0] = 2;
  assert_null(gw_cluster_open(c, key, sealed, slen, &olen));
  gw_free(sealed);

  /* names: prefix, kind, HMAC; stable; differ by kind and by key */
  assert_int_equal(gw_cluster_key(c, 'v', key, k1, sizeof(k1)), 0);
  assert_int_equal(gw_cluster_key(c, 'v', key, k2, sizeof(k2)), 0);
  assert_string_equal(k1, k2);
  assert_int_equal(strlen(k1), strlen("gw:v:") + 43);
  assert_memory_equal(k1, "gw:v:", 5);
  assert_null(strstr(k1, "chsi"));
  assert_int_equal(gw_cluster_key(c, 'l', key, k3, sizeof(k3)), 0);
  assert_string_equal(k1 + 5, k3 + 5);   /* one HMAC, kinds apart */
  assert_memory_equal(k3, "gw:l:", 5);
  assert_int_equal(gw_cluster_key(other, 'v', key, k3, sizeof(k3)), 0);
  assert_string_not_equal(k1, k3);
  assert_int_equal(gw_cluster_key(c, 'v', key, k3, 20), -1);

  gw_cluster_free(c);
  gw_cluster_free(other);
  gw_free(cc1.seal_key);
  gw_free(cc2.seal_key);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_config_cluster),
    cmocka_unit_test(test_seal_and_names),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
