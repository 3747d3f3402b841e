/*
 * test_config.c - the config reader: defaults, relative paths, and that
 * every mistake is reported as "FILE: FIELD: PROBLEM".
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

#include "gw/config_load.h"

static char dir[] = "/tmp/gwcfgXXXXXX";
static char cfgpath[256];

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
  (void)state;
  if(!mkdtemp(dir))
    return -1;
  write_file("server.pem", "x");
  write_file("server.key", "x");
  write_file("ca.pem", "x");
  write_file("acl.json", "x");
  write_file("attest.key", "x");
  write_file("secret", "x");
  write_file("ckpt.key", "x");
  write_file("seal.pem", "x");
  snprintf(cfgpath, sizeof(cfgpath), "%s/gw.json", dir);
  return 0;
}

static int teardown(void **state)
{
  char cmd[300];
  (void)state;
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

#define TLS_ONLY "\"tls\": {\"cert\": \"server.pem\", \"key\": \"server.key\", \"client_ca\": \"ca.pem\"}"
#define REST "\"adapters_dir\": \".\", \"schemas_dir\": \".\", \"acl\": \"acl.json\", " \
  "\"keys\": {\"attestation\": \"attest.key\", \"subject_secret\": \"secret\"}, " \
  "\"audit\": {\"dir\": \"audit\", \"checkpoint_key\": \"ckpt.key\", \"seal_cert\": \"seal.pem\"}"
#define TLS_OK TLS_ONLY ", " REST

/* Loads `text` and expects failure with exactly "cfgpath: " + `want`. */
static void expect_error(const char *text, const char *want)
{
  struct gw_config *cfg = (struct gw_config *)1;
  char err[512], full[1024];
  write_file("gw.json", text);
  assert_int_equal(gw_config_load(cfgpath, &cfg, err, sizeof(err)), -1);
  assert_null(cfg);
  snprintf(full, sizeof(full), "%s: %s", cfgpath, want);
  if(strncmp(err, full, strlen(full)))
    fail_msg("got  \"%s\"\nwant \"%s...\"", err, full);
}

static void minimal_config_gets_defaults(void **state)
{
  struct gw_config *cfg;
  char err[512], want[300];
  (void)state;
  write_file("gw.json", "{\"gateway_id\": \"gw-1\", " TLS_OK "}");
  assert_int_equal(gw_config_load(cfgpath, &cfg, err, sizeof(err)), 0);
  assert_string_equal(cfg->gateway_id, "gw-1");
  assert_true(cfg->workers >= 1);
  assert_string_equal(cfg->api.address, "127.0.0.1");
  assert_int_equal(cfg->api.port, 8443);
  assert_int_equal(cfg->require_client_cert, 1);
  assert_int_equal(cfg->limits.max_header_bytes, 16 * 1024);
  assert_int_equal(cfg->deadline_default_ms, 3000);
  /* the connection pool's limits (docs/operations.md, upstream.*) */
  assert_int_equal(cfg->upstream.max_connections_per_agency, 1024);
  assert_int_equal(cfg->upstream.max_connections, 4096);
  assert_int_equal(cfg->upstream.max_idle_connections, 1024);
  assert_int_equal(cfg->upstream.max_idle_age_s, 55);
  assert_int_equal(cfg->upstream.max_exchanges, 8192);
  assert_int_equal(cfg->upstream.max_connecting, 8);
  snprintf(want, sizeof(want), "%s/server.pem", dir);   /* relative to the file */
  assert_string_equal(cfg->tls_cert, want);
  gw_config_free(cfg);
}

static void field_errors_are_named(void **state)
{
  (void)state;
  expect_error("{" TLS_OK "}", "gateway_id: missing (a string is required)");
  expect_error("{\"gateway_id\": 7, " TLS_OK "}", "gateway_id: must be a string");
  expect_error("{\"gateway_id\": \"g\", \"listen\": {\"prot\": 1}, " TLS_OK "}",
               "listen.prot: unknown field");
  expect_error("{\"gateway_id\": \"g\", \"listen\": {\"port\": 70000}, " TLS_OK "}",
               "listen.port: must be between 0 and 65535 (got 70000)");
  expect_error("{\"gateway_id\": \"g\", \"listen\": {\"address\": \"localhost\"}, " TLS_OK "}",
               "listen.address: must be a numeric IPv4 or IPv6 address");
  expect_error("{\"gateway_id\": \"g\", \"tls\": {\"cert\": \"nope.pem\", \"key\": \"server.key\", "
               "\"client_ca\": \"ca.pem\"}, " REST "}", "tls.cert: cannot read");
  expect_error("{\"gateway_id\": \"g\", \"tls\": {\"cert\": \"server.pem\", \"key\": \"server.key\"}, " REST "}",
               "tls.client_ca: missing: required when tls.require_client_cert is true");
  expect_error("{\"gateway_id\": \"g\", \"log_level\": \"loud\", " TLS_OK "}",
               "log_level: must be one of debug, info, warn, error (got \"loud\")");
  expect_error("{\"gateway_id\": \"g\", \"limits\": {\"max_body_bytes\": \"1k\"}, " TLS_OK "}",
               "limits.max_body_bytes: must be an integer");
  expect_error("{\"gateway_id\": \"g\", \"query\": {\"deadline_default_ms\": 9000, "
               "\"deadline_max_ms\": 5000}, " TLS_OK "}",
               "query.deadline_default_ms: must not exceed query.deadline_max_ms (5000)");
  expect_error("{\"gateway_id\": \"g\", \"extra\": true, " TLS_OK "}", "extra: unknown field");
  expect_error("{\"gateway_id\": \"g\"}", "tls: missing (an object is required)");
  expect_error("{\"gateway_id\": \"g\", " TLS_ONLY "}",
               "adapters_dir: missing (a directory path is required)");
  expect_error("{\"gateway_id\": \"g\", " TLS_ONLY ", \"adapters_dir\": \"nodir\"}",
               "adapters_dir: cannot read directory");
  expect_error("{\"gateway_id\": \"g\", " TLS_ONLY ", \"adapters_dir\": \".\", \"schemas_dir\": \".\", "
               "\"acl\": \"acl.json\", \"keys\": {\"attestation\": \"attest.key\"}}",
               "keys.subject_secret: missing (a file path is required)");
  expect_error("{\"gateway_id\": \"g\", " TLS_OK ", \"cache\": {\"max_bytes\": 10}}",
               "cache.max_bytes: must be between 1048576 and");
  expect_error("{\"gateway_id\": \"g\", " TLS_OK ", \"upstream\": {\"max_connections_per_agency\": 0}}",
               "upstream.max_connections_per_agency: must be between 1 and 100000 (got 0)");
  expect_error("{\"gateway_id\": \"g\", " TLS_OK ", \"upstream\": {\"max_connections_per_agency\": 64, "
               "\"max_connections\": 32}}",
               "upstream.max_connections_per_agency: must not exceed upstream.max_connections (32)");
  expect_error("{\"gateway_id\": \"g\", " TLS_OK ", \"upstream\": {\"pool\": 1}}",
               "upstream.pool: unknown field");
}

static void upstream_limits_are_read(void **state)
{
  struct gw_config *cfg;
  char err[512];
  (void)state;
  write_file("gw.json", "{\"gateway_id\": \"gw-1\", " TLS_OK ", \"upstream\": "
             "{\"max_connections_per_agency\": 8, \"max_connections\": 100, "
             "\"max_idle_connections\": 50, \"max_idle_age_s\": 20, \"max_exchanges\": 300, "
             "\"max_connecting\": 2}}");
  assert_int_equal(gw_config_load(cfgpath, &cfg, err, sizeof(err)), 0);
  assert_int_equal(cfg->upstream.max_connections_per_agency, 8);
  assert_int_equal(cfg->upstream.max_connections, 100);
  assert_int_equal(cfg->upstream.max_idle_connections, 50);
  assert_int_equal(cfg->upstream.max_idle_age_s, 20);
  assert_int_equal(cfg->upstream.max_exchanges, 300);
  assert_int_equal(cfg->upstream.max_connecting, 2);
  gw_config_free(cfg);
}

/* crypto.profile (docs/crypto.md): defaults, what each profile requires,
 * and SM2 settings refused where they would be silently unused. */
static void crypto_profiles(void **state)
{
  struct gw_config *cfg;
  char err[512];
  (void)state;
  write_file("attest-sm2.key", "x");
  write_file("ckpt-sm2.key", "x");
  write_file("seal-sm2.pem", "x");
  write_file("gw.json", "{\"gateway_id\": \"g\", " TLS_OK "}");
  assert_int_equal(gw_config_load(cfgpath, &cfg, err, sizeof(err)), 0);
  assert_int_equal(cfg->crypto.profile, GW_CRYPTO_INTL);
  assert_string_equal(gw_crypto_profile_name(cfg->crypto.profile), "intl");
  assert_null(cfg->crypto.attest_sm2);
  gw_config_free(cfg);
  /* gm: the SM2 keys, HMAC-SM3, and no P-256 attestation key needed */
  write_file("gw.json", "{\"gateway_id\": \"g\", " TLS_ONLY ", \"adapters_dir\": \".\", "
             "\"schemas_dir\": \".\", \"acl\": \"acl.json\", \"keys\": {\"subject_secret\": \"secret\"}, "
             "\"audit\": {\"dir\": \"audit\", \"checkpoint_key\": \"ckpt.key\", \"seal_cert\": \"seal.pem\"}, "
             "\"crypto\": {\"profile\": \"gm\", \"attestation_sm2\": \"attest-sm2.key\", "
             "\"checkpoint_sm2\": \"ckpt-sm2.key\", \"seal_cert_sm2\": \"seal-sm2.pem\", "
             "\"subject_ref\": \"hmac-sm3\"}}");
  assert_int_equal(gw_config_load(cfgpath, &cfg, err, sizeof(err)), 0);
  assert_int_equal(cfg->crypto.profile, GW_CRYPTO_GM);
  assert_null(cfg->attest_key);
  assert_non_null(strstr(cfg->crypto.attest_sm2, "/attest-sm2.key"));
  assert_non_null(strstr(cfg->crypto.seal_cert_sm2, "/seal-sm2.pem"));
  assert_int_equal(cfg->crypto.subject_ref_sm3, 1);
  gw_config_free(cfg);
  expect_error("{\"gateway_id\": \"g\", " TLS_OK ", \"crypto\": {\"profile\": \"sm\"}}",
               "crypto.profile: must be one of intl, gm, dual (got \"sm\")");
  expect_error("{\"gateway_id\": \"g\", " TLS_OK ", \"crypto\": {\"profile\": \"dual\", "
               "\"checkpoint_sm2\": \"ckpt-sm2.key\"}}",
               "crypto.attestation_sm2: missing (a file path is required)");
  expect_error("{\"gateway_id\": \"g\", " TLS_OK ", \"crypto\": {\"profile\": \"gm\", "
               "\"attestation_sm2\": \"attest-sm2.key\", \"checkpoint_sm2\": \"ckpt-sm2.key\"}}",
               "crypto.seal_cert_sm2: missing (a file path is required)");
  expect_error("{\"gateway_id\": \"g\", " TLS_OK ", \"crypto\": {\"subject_ref\": \"hmac-sm3\"}}",
               "crypto.profile: is intl: SM2 keys and hmac-sm3 need gm or dual");
  expect_error("{\"gateway_id\": \"g\", " TLS_OK ", \"crypto\": {\"profile\": \"dual\", "
               "\"attestation_sm2\": \"attest-sm2.key\", \"checkpoint_sm2\": \"ckpt-sm2.key\", "
               "\"subject_ref\": \"sm3\"}}",
               "crypto.subject_ref: must be hmac-sha256 or hmac-sm3 (got \"sm3\")");
  expect_error("{\"gateway_id\": \"g\", " TLS_OK ", \"crypto\": {\"profle\": \"gm\"}}",
               "crypto.profle: unknown field");
}

/* crypto.sm2_id: our SM2 signatures' distinguishing ID; absent means GM/T
 * 0009's default (NULL here), an empty or over-long one is refused. */
#define DUAL_SM2 "\"profile\": \"dual\", \"attestation_sm2\": \"attest-sm2.key\", " \
  "\"checkpoint_sm2\": \"ckpt-sm2.key\""
static void crypto_sm2_id(void **state)
{
  struct gw_config *cfg;
  char err[512], text[1024];
  (void)state;
  write_file("attest-sm2.key", "x");
  write_file("ckpt-sm2.key", "x");
  write_file("gw.json", "{\"gateway_id\": \"g\", " TLS_OK ", \"crypto\": {" DUAL_SM2 "}}");
  assert_int_equal(gw_config_load(cfgpath, &cfg, err, sizeof(err)), 0);
  assert_null(cfg->crypto.sm2_id);
  gw_config_free(cfg);
  write_file("gw.json", "{\"gateway_id\": \"g\", " TLS_OK ", \"crypto\": {" DUAL_SM2 ", "
             "\"sm2_id\": \"ALICE123@YAHOO.COM\"}}");
  assert_int_equal(gw_config_load(cfgpath, &cfg, err, sizeof(err)), 0);
  assert_string_equal(cfg->crypto.sm2_id, "ALICE123@YAHOO.COM");
  gw_config_free(cfg);
  expect_error("{\"gateway_id\": \"g\", " TLS_OK ", \"crypto\": {" DUAL_SM2 ", \"sm2_id\": \"\"}}",
               "crypto.sm2_id: must be 1 to 64 printable ASCII characters");
  snprintf(text, sizeof(text), "{\"gateway_id\": \"g\", " TLS_OK ", \"crypto\": {" DUAL_SM2
           ", \"sm2_id\": \"%065d\"}}", 0);
  expect_error(text, "crypto.sm2_id: must be 1 to 64 printable ASCII characters");
  expect_error("{\"gateway_id\": \"g\", " TLS_OK ", \"crypto\": {" DUAL_SM2 ", \"sm2_id\": 1234}}",
               "crypto.sm2_id: must be 1 to 64 printable ASCII characters");
  expect_error("{\"gateway_id\": \"g\", " TLS_OK ", \"crypto\": {" DUAL_SM2
               ", \"sm2_id\": \"tab\\there\"}}",
               "crypto.sm2_id: must be 1 to 64 printable ASCII characters");
  expect_error("{\"gateway_id\": \"g\", " TLS_OK ", \"crypto\": {\"sm2_id\": \"1234567812345678\"}}",
               "crypto.profile: is intl: SM2 keys and hmac-sm3 need gm or dual");
}

static void syntax_errors_have_positions(void **state)
{
  (void)state;
  expect_error("{\"gateway_id\": \"g\",\n  \"workers\": }", "line 2, column");
  expect_error("{\"gateway_id\": \"g\", \"gateway_id\": \"h\", " TLS_OK "}", "line 1, column");
  expect_error("[1, 2]", "(top level): must be a JSON object");
}

static void missing_file(void **state)
{
  struct gw_config *cfg;
  char err[512];
  (void)state;
  assert_int_equal(gw_config_load("/nonexistent/gw.json", &cfg, err, sizeof(err)), -1);
  assert_string_equal(err, "/nonexistent/gw.json: cannot open: No such file or directory");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(minimal_config_gets_defaults),
    cmocka_unit_test(field_errors_are_named),
    cmocka_unit_test(upstream_limits_are_read),
    cmocka_unit_test(crypto_profiles),
    cmocka_unit_test(crypto_sm2_id),
    cmocka_unit_test(syntax_errors_have_positions),
    cmocka_unit_test(missing_file),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
