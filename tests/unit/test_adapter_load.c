/*
 * test_adapter_load.c - the adapter definition loader: five complete
 * adapters (SOAP 1.1 + XML-DSig, JSON + OAuth2, JWS-JSON, XML over GET +
 * API key, JSON + mutual TLS) loaded and checked field by field, then a
 * table of broken variants, each of which must be refused with exactly the
 * "FILE: FIELD: PROBLEM" an agency IT team would need, then the syntax
 * checks on their own, and reference counting.
 *
 * Certificates and keys are made at start with the openssl command line in
 * a fresh temporary directory (nothing private is committed).  The adapter
 * texts below write JSON string quotes as backquotes, so they read without
 * a thicket of backslashes; `q()` turns them back.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <jansson.h>

#include "adapter_int.h"
#include "gw/adapter.h"
#include "../lib/catalogue_fixture.h"

static char dir[] = "/tmp/gwadlXXXXXX";
static char apath[300];

/* --- fixtures ---------------------------------------------------------- */

static void write_file(const char *name, const char *text)
{
  char path[300];
  FILE *fp;
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  fp = fopen(path, "w");
  assert_non_null(fp);
  fputs(text, fp);
  fclose(fp);
}

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int run(const char *fmt, ...)
{
  char cmd[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof(cmd), fmt, ap);
  va_end(ap);
  return system(cmd);
}

static int setup(void **state)
{
  (void)state;
  if(!mkdtemp(dir))
    return -1;
  snprintf(apath, sizeof(apath), "%s/a.json", dir);
  {
    /* a FIFO nobody writes to: opening it for reading must not block */
    char fifo[300];
    snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
    if(mkfifo(fifo, 0600))
      return -1;
  }
  /* ca.pem / client.pem+key: EC P-256 self-signed; signer.pem: the
   * xmldsig signer; jws.pub.pem: an ES256 public key; p384.pub.pem: a key
   * of the wrong curve; other.key: a key matching nothing; enc.key: an
   * encrypted key; two.pem: two certificates in one file. */
  if(run("cd '%s' && "
         "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
         "-keyout ca.key -out ca.pem -subj /CN=test-ca -days 2 2>/dev/null && "
         "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
         "-keyout client.key -out client.pem -subj /CN=test-client -days 2 2>/dev/null && "
         "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
         "-keyout signer.key -out signer.pem -subj /CN=test-signer -days 2 2>/dev/null && "
         "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out jws.key 2>/dev/null && "
         "openssl pkey -in jws.key -pubout -out jws.pub.pem 2>/dev/null && "
         "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out p384.key 2>/dev/null && "
         "openssl pkey -in p384.key -pubout -out p384.pub.pem 2>/dev/null && "
         "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out other.key 2>/dev/null && "
         "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -aes-128-cbc "
         "-pass pass:test -out enc.key 2>/dev/null && "
         "cat ca.pem signer.pem > two.pem", dir))
    return -1;
  write_file("secret.txt", "file-secret-value\r\n");
  write_file("empty.txt", "\n");
  write_file("twolines.txt", "first\nsecond\n");
  write_file("notpem.txt", "just some text\n");
  setenv("GW_TEST_SECRET", "env-secret-value", 1);
  unsetenv("GW_TEST_UNSET");
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  return run("rm -rf '%s'", dir) == 0 ? 0 : -1;
}

/* --- the five adapters --------------------------------------------------- */

#define SOAP_NS "http://schemas.xmlsoap.org/soap/envelope/"

static const char soap11[] =
  "{`id`: `chsi.degrees`, `version`: 7, `agency`: `chsi`, `description`: `degrees`,"
  " `facts`: [`education.degrees`], `protocol`: `soap11`,"
  " `endpoint`: {`url`: `https://127.0.0.1:8441/chsi`, `method`: `POST`,"
  "              `allow_addresses`: [`127.0.0.0/8`, `::1/128`]},"
  " `request`: {`headers`: {`SOAPAction`: `urn:verify`},"
  "   `body`: `<s:Envelope xmlns:s='" SOAP_NS "'><s:Body><v:Verify xmlns:v='urn:chsi'"
  " id='{{request_id}}'><v:id>{{subject.id}}</v:id><v:name>{{subject.name}}</v:name>"
  "</v:Verify></s:Body></s:Envelope>`},"
  " `tls`: {`ca_file`: `ca.pem`, `pin_sha256`:"
  "         `sha256//ZeKXug+fBIObG75+NFWZFNVMcq3DNpEsDdn3TeqzHRE=`},"
  " `auth`: {`type`: `none`},"
  " `verify`: {`type`: `xmldsig`, `cert`: `signer.pem`, `signed_node`: `/s:Envelope/s:Body`},"
  " `response`: {`namespaces`: {`s`: `" SOAP_NS "`, `v`: `urn:chsi`},"
  "   `not_found`: {`test`: `/s:Envelope/s:Body/v:R/v:result = 'none'`},"
  "   `fault`: {`status`: [500], `test`: `boolean(//s:Fault)`}},"
  " `mapping`: {`education.degrees`: {`list`: `/s:Envelope/s:Body/v:R/v:degree`,"
  "   `item`: {`object`: {"
  "     `level`: {`path`: `v:level`, `type`: `enum`, `values`: {`B`: `bachelor`, `M`: `master`}},"
  "     `institution`: {`path`: `v:inst`, `type`: `string`},"
  "     `graduated_on`: {`path`: `v:date`, `type`: `date`},"
  "     `honours`: {`path`: `@honours`, `type`: `bool`, `optional`: true,"
  "                 `true_values`: [`Y`, `yes`], `false_values`: [`N`]}}}}},"
  " `policy`: {`timeout_ms`: 2500},"
  " `cache`: {`ttl_s`: 86400}}";

static const char json_oauth2[] =
  "{`id`: `si.v3`, `version`: 3, `agency`: `si`,"
  " `facts`: [`social_insurance.shenzhen_months`, `social_insurance.employer`],"
  " `protocol`: `json`,"
  " `endpoint`: {`url`: `https://si.example.cn/api/{{subject.id}}/summary`, `method`: `GET`},"
  " `request`: {`headers`: {`Accept`: `application/json`},"
  "             `query`: {`name`: `{{subject.name}}`, `rid`: `{{request_id}}`}},"
  " `tls`: {`ca_file`: `ca.pem`},"
  " `auth`: {`type`: `oauth2`, `token_url`: `https://si.example.cn/oauth/token`,"
  "          `client_id`: `gw`, `client_secret`: `env:GW_TEST_SECRET`, `scope`: `read`},"
  " `verify`: {`type`: `none`},"
  " `response`: {`max_bytes`: 4096, `ok_status`: [200, 203], `not_found`: {`status`: [404]},"
  "              `fault`: {`test`: `/error/code == \\`E1\\``}},"
  " `mapping`: {"
  "   `social_insurance.employer`: {`object`: {`name`: {`path`: `/employer/name`, `type`: `string`},"
  "      `uscc`: {`path`: `/employer/a~1b~0c`, `type`: `string`, `optional`: true}}},"
  "   `social_insurance.shenzhen_months`: {`path`: `/months`, `type`: `int`}},"
  " `policy`: {`connect_timeout_ms`: 200, `timeout_ms`: 900, `retries`: 0, `backoff_base_ms`: 10,"
  "   `backoff_max_ms`: 20, `retry_budget_ratio`: 0.25, `max_concurrency`: 8, `max_queue`: 0,"
  "   `rate_per_s`: 2.5, `burst`: 5, `breaker`: {`failure_threshold`: 3, `window_s`: 60,"
  "   `open_s`: 30, `half_open_max`: 2}},"
  " `cache`: {`ttl_s`: 60, `negative_ttl_s`: 0, `stale_if_error_s`: 600}}";

static const char jws_json[] =
  "{`id`: `cscse`, `version`: 1, `agency`: `cscse`, `facts`: [`overseas.certifications`],"
  " `protocol`: `jws-json`,"
  " `endpoint`: {`url`: `https://[::1]:8445/cscse`, `method`: `POST`, `allow_addresses`: [`::1/128`]},"
  " `request`: {`body`: `{\\`id\\`: \\`{{subject.id}}\\`, \\`at\\`: \\`{{now}}\\`,"
  " \\`nested\\`: {\\`a\\`: [1, {\\`b\\`: 2}]}}`},"
  " `tls`: {`ca_file`: `ca.pem`},"
  " `auth`: {`type`: `none`},"
  " `verify`: {`type`: `jws`, `key`: `jws.pub.pem`, `alg`: `ES256`},"
  " `response`: {`not_found`: {`test`: `/result == \\`no_record\\``}},"
  " `mapping`: {`overseas.certifications`: {`list`: `/items`, `item`: {`object`: {"
  "   `country`: {`path`: `/country`, `type`: `string`},"
  "   `raw`: {`path`: ``, `type`: `string`},"
  "   `awarded_on`: {`path`: `/awarded`, `type`: `date`}}}}}}";

static const char xml_get[] =
  "{`id`: `qual`, `version`: 2, `agency`: `qual`, `facts`: [`qualification.certificates`],"
  " `protocol`: `xml`,"
  " `endpoint`: {`url`: `https://127.0.0.1:8446/qual/query?format=xml`, `method`: `GET`,"
  "              `allow_addresses`: [`127.0.0.1/32`]},"
  " `request`: {`query`: {`sfzh`: `{{subject.id}}`}},"
  " `tls`: {`ca_file`: `ca.pem`},"
  " `auth`: {`type`: `api_key`, `header`: `X-Api-Key`, `key`: `file:secret.txt`},"
  " `verify`: {`type`: `none`},"
  " `response`: {`namespaces`: {`q`: `urn:qual`}},"
  " `mapping`: {`qualification.certificates`: {`list`: `/q:r/q:cert`, `item`: {`object`: {"
  "   `name`: {`path`: `normalize-space(q:name)`, `type`: `string`},"
  "   `issued_on`: {`path`: `q:issued`, `type`: `date`}}}}}}";

static const char json_mtls[] =
  "{`id`: `mps`, `version`: 1, `agency`: `mps`, `facts`: [`identity.match`, `hukou.region`],"
  " `protocol`: `json`,"
  " `endpoint`: {`url`: `https://127.0.0.1:8442/mps`, `method`: `POST`},"
  " `request`: {`body`: `{\\`id\\`: \\`{{subject.id}}\\`, \\`name\\`: \\`{{subject.name}}\\`}`},"
  " `tls`: {`ca_file`: `ca.pem`, `client_cert`: `client.pem`, `client_key`: `client.key`},"
  " `auth`: {`type`: `mtls`},"
  " `verify`: {`type`: `none`},"
  " `mapping`: {`identity.match`: {`path`: `/match`, `type`: `bool`},"
  "   `hukou.region`: {`object`: {`province`: {`path`: `/hukou/province`, `type`: `string`},"
  "                              `is_shenzhen`: {`path`: `/hukou/sz`, `type`: `bool`}}}}}";

/* Paging, subject binding, first/where/default and when_absent. */
static const char json_paged[] =
  "{`id`: `talent`, `version`: 1, `agency`: `talent`, `facts`: [`talent.level`, `postdoc.status`],"
  " `protocol`: `json`,"
  " `endpoint`: {`url`: `https://127.0.0.1:8447/talent/v1/persons?v=2`, `method`: `GET`},"
  " `request`: {`query`: {`id_number`: `{{subject.id}}`},"
  "   `paging`: {`page_param`: `page`, `size_param`: `page_size`, `size`: 50, `first`: 1,"
  "              `total_pages`: `/data/total_pages`, `items`: `/data/records`, `max_pages`: 20}},"
  " `tls`: {`ca_file`: `ca.pem`},"
  " `auth`: {`type`: `api_key`, `header`: `X-Api-Key`, `key`: `env:GW_TEST_SECRET`},"
  " `verify`: {`type`: `none`},"
  " `response`: {`max_bytes`: 262144, `subject`: {`path`: `/data/id_number`, `form`: `id`},"
  "              `fault`: {`status`: [500]}},"
  " `mapping`: {"
  "   `talent.level`: {`first`: `/data/records`,"
  "     `where`: {`/record_type`: `talent_recognition`, `/status`: `current`},"
  "     `item`: {`path`: `/level`, `type`: `enum`, `values`: {`A`: `A`, `B`: `B`}},"
  "     `default`: `none`},"
  "   `postdoc.status`: {`first`: `/data/records`, `where`: {`/record_type`: `postdoc`},"
  "     `item`: {`object`: {`in_station`: {`path`: `/in_station`, `type`: `bool`}}},"
  "     `when_absent`: `not_found`}}}";

/* Backquotes become double quotes; the caller frees. */
static char *q(const char *text)
{
  char *s = strdup(text);
  assert_non_null(s);
  for(char *p = s; *p; p++)
    if(*p == '`')
      *p = '"';
  return s;
}

static struct gw_adapter *load_ok(const char *text)
{
  struct gw_adapter *a = NULL;
  char err[1024];
  char *json = q(text);
  write_file("a.json", json);
  free(json);
  if(gw_adapter_load(apath, &a, err, sizeof(err)))
    fail_msg("load failed: %s", err);
  assert_non_null(a);
  return a;
}

static void path_in_dir(char *out, size_t n, const char *name)
{
  snprintf(out, n, "%s/%s", dir, name);
}

/* --- complete adapters, field by field ---------------------------------- */

static void soap11_xmldsig(void **state)
{
  struct gw_adapter *a = load_ok(soap11);
  const struct gw_value_spec *s, *m;
  char want[400];
  (void)state;
  assert_string_equal(a->file, apath);
  assert_string_equal(a->id, "chsi.degrees");
  assert_int_equal(a->version, 7);
  assert_string_equal(a->agency, "chsi");
  assert_string_equal(a->description, "degrees");
  assert_int_equal(a->n_facts, 1);
  assert_string_equal(a->facts[0], "education.degrees");
  assert_int_equal(a->protocol, GW_PROTO_SOAP11);
  assert_true(gw_protocol_is_xml(a->protocol));
  assert_string_equal(gw_protocol_name(a->protocol), "soap11");
  assert_string_equal(a->url, "https://127.0.0.1:8441/chsi");
  assert_string_equal(a->method, "POST");
  assert_int_equal(a->n_allow, 2);
  assert_string_equal(a->allow_cidrs[1], "::1/128");
  assert_string_equal(a->content_type, "text/xml; charset=utf-8");   /* default */
  assert_int_equal(a->n_headers, 1);
  assert_string_equal(a->headers[0].name, "SOAPAction");
  assert_string_equal(a->headers[0].value, "urn:verify");
  assert_non_null(strstr(a->body_template, "<v:id>{{subject.id}}</v:id>"));
  assert_int_equal(a->n_query, 0);
  path_in_dir(want, sizeof(want), "ca.pem");
  assert_string_equal(a->ca_file, want);
  assert_null(a->client_cert);
  assert_null(a->client_key);
  assert_string_equal(a->pin_sha256, "sha256//ZeKXug+fBIObG75+NFWZFNVMcq3DNpEsDdn3TeqzHRE=");
  assert_int_equal(a->auth, GW_AUTH_NONE);
  assert_int_equal(a->verify, GW_VERIFY_XMLDSIG);
  assert_non_null(strstr(a->verify_cert, "-----BEGIN CERTIFICATE-----"));  /* the text */
  assert_null(a->verify_alg);      /* xmldsig: follows the certificate's key */
  assert_null(a->verify_key);
  assert_string_equal(a->signed_node, "/s:Envelope/s:Body");
  assert_int_equal(a->max_response_bytes, 1024 * 1024);
  assert_int_equal(a->n_ok_status, 1);
  assert_int_equal(a->ok_status[0], 200);
  assert_int_equal(a->n_namespaces, 2);
  assert_string_equal(a->namespaces[0].name, "s");
  assert_string_equal(a->namespaces[0].value, SOAP_NS);
  assert_string_equal(a->namespaces[1].name, "v");
  assert_int_equal(a->not_found.n_status, 0);
  assert_string_equal(a->not_found.test, "/s:Envelope/s:Body/v:R/v:result = 'none'");
  assert_int_equal(a->fault.n_status, 1);
  assert_int_equal(a->fault.status[0], 500);
  assert_string_equal(a->fault.test, "boolean(//s:Fault)");

  assert_int_equal(a->n_mappings, 1);
  assert_string_equal(a->mappings[0].fact, "education.degrees");
  s = a->mappings[0].spec;
  assert_int_equal(s->kind, GW_VALUE_LIST);
  assert_string_equal(s->path, "/s:Envelope/s:Body/v:R/v:degree");
  assert_int_equal(s->item->kind, GW_VALUE_OBJECT);
  assert_int_equal(s->item->n_members, 4);
  assert_string_equal(s->item->member_names[0], "level");          /* file order */
  assert_string_equal(s->item->member_names[3], "honours");
  m = s->item->members[0];
  assert_int_equal(m->kind, GW_VALUE_SCALAR);
  assert_string_equal(m->path, "v:level");
  assert_int_equal(m->type, GW_TYPE_ENUM);
  assert_int_equal(m->optional, 0);
  assert_int_equal(m->n_enum, 2);
  assert_string_equal(m->enum_map[1].name, "M");
  assert_string_equal(m->enum_map[1].value, "master");
  assert_int_equal(s->item->members[2]->type, GW_TYPE_DATE);
  m = s->item->members[3];
  assert_int_equal(m->type, GW_TYPE_BOOL);
  assert_int_equal(m->optional, 1);
  assert_int_equal(m->n_true, 2);
  assert_string_equal(m->true_values[1], "yes");
  assert_int_equal(m->n_false, 1);
  assert_string_equal(m->false_values[0], "N");

  /* policy: one value given, the rest defaults */
  assert_int_equal(a->policy.timeout_ms, 2500);
  assert_int_equal(a->policy.connect_timeout_ms, 1000);
  assert_int_equal(a->policy.retries, 1);
  assert_int_equal(a->policy.backoff_base_ms, 50);
  assert_int_equal(a->policy.backoff_max_ms, 1000);
  assert_true(a->policy.retry_budget_ratio > 0.0999 && a->policy.retry_budget_ratio < 0.1001);
  assert_int_equal(a->policy.max_concurrency, 64);
  assert_int_equal(a->policy.max_queue, 1024);
  assert_true(a->policy.rate_per_s == 0.0);
  assert_int_equal(a->policy.burst, 50);
  assert_int_equal(a->policy.breaker_failure_threshold, 5);
  assert_int_equal(a->policy.breaker_window_s, 10);
  assert_int_equal(a->policy.breaker_open_s, 5);
  assert_int_equal(a->policy.breaker_half_open_max, 1);
  assert_int_equal(a->ttl_s, 86400);
  assert_int_equal(a->negative_ttl_s, 300);
  assert_int_equal(a->stale_if_error_s, 0);
  gw_adapter_unref(a);
}

static void json_oauth2_env_secret(void **state)
{
  struct gw_adapter *a = load_ok(json_oauth2);
  const struct gw_value_spec *s;
  (void)state;
  assert_int_equal(a->protocol, GW_PROTO_JSON);
  assert_false(gw_protocol_is_xml(a->protocol));
  assert_string_equal(a->url, "https://si.example.cn/api/{{subject.id}}/summary");
  assert_string_equal(a->method, "GET");
  assert_null(a->content_type);          /* no body, no content type */
  assert_null(a->body_template);
  assert_int_equal(a->n_allow, 0);
  assert_int_equal(a->n_query, 2);
  assert_string_equal(a->query[0].name, "name");
  assert_string_equal(a->query[0].value, "{{subject.name}}");
  assert_string_equal(a->query[1].name, "rid");
  assert_int_equal(a->auth, GW_AUTH_OAUTH2);
  assert_string_equal(a->token_url, "https://si.example.cn/oauth/token");
  assert_string_equal(a->client_id, "gw");
  assert_string_equal(a->client_secret, "env-secret-value");
  assert_string_equal(a->scope, "read");
  assert_null(a->api_key);
  assert_int_equal(a->verify, GW_VERIFY_NONE);
  assert_int_equal(a->max_response_bytes, 4096);
  assert_int_equal(a->n_ok_status, 2);
  assert_int_equal(a->ok_status[1], 203);
  assert_int_equal(a->n_namespaces, 0);
  assert_int_equal(a->not_found.status[0], 404);
  assert_null(a->not_found.test);
  assert_string_equal(a->fault.test, "/error/code == \"E1\"");

  /* mappings follow facts[], whatever the order in the file */
  assert_int_equal(a->n_mappings, 2);
  assert_string_equal(a->mappings[0].fact, "social_insurance.shenzhen_months");
  assert_string_equal(a->mappings[1].fact, "social_insurance.employer");
  assert_int_equal(a->mappings[0].spec->type, GW_TYPE_INT);
  s = a->mappings[1].spec;
  assert_int_equal(s->kind, GW_VALUE_OBJECT);
  assert_string_equal(s->members[1]->path, "/employer/a~1b~0c");
  assert_int_equal(s->members[1]->optional, 1);

  assert_int_equal(a->policy.connect_timeout_ms, 200);
  assert_int_equal(a->policy.timeout_ms, 900);
  assert_int_equal(a->policy.retries, 0);
  assert_int_equal(a->policy.backoff_base_ms, 10);
  assert_int_equal(a->policy.backoff_max_ms, 20);
  assert_true(a->policy.retry_budget_ratio == 0.25);
  assert_int_equal(a->policy.max_concurrency, 8);
  assert_int_equal(a->policy.max_queue, 0);
  assert_true(a->policy.rate_per_s == 2.5);
  assert_int_equal(a->policy.burst, 5);
  assert_int_equal(a->policy.breaker_failure_threshold, 3);
  assert_int_equal(a->policy.breaker_window_s, 60);
  assert_int_equal(a->policy.breaker_open_s, 30);
  assert_int_equal(a->policy.breaker_half_open_max, 2);
  assert_int_equal(a->ttl_s, 60);
  assert_int_equal(a->negative_ttl_s, 0);
  assert_int_equal(a->stale_if_error_s, 600);
  gw_adapter_unref(a);
}

static void jws_json_es256(void **state)
{
  struct gw_adapter *a = load_ok(jws_json);
  const struct gw_value_spec *s;
  (void)state;
  assert_int_equal(a->protocol, GW_PROTO_JWS_JSON);
  assert_string_equal(gw_protocol_name(a->protocol), "jws-json");
  assert_string_equal(a->url, "https://[::1]:8445/cscse");
  assert_string_equal(a->content_type, "application/json");
  assert_non_null(strstr(a->body_template, "\"at\": \"{{now}}\""));
  assert_int_equal(a->verify, GW_VERIFY_JWS);
  assert_string_equal(a->verify_alg, "ES256");
  assert_non_null(strstr(a->verify_key, "-----BEGIN PUBLIC KEY-----"));
  assert_null(a->verify_cert);
  assert_null(a->signed_node);
  assert_string_equal(a->not_found.test, "/result == \"no_record\"");
  s = a->mappings[0].spec;
  assert_int_equal(s->kind, GW_VALUE_LIST);
  assert_string_equal(s->path, "/items");
  assert_string_equal(s->item->members[1]->path, "");     /* the item itself */
  gw_adapter_unref(a);
}

static void xml_get_api_key_file_secret(void **state)
{
  struct gw_adapter *a = load_ok(xml_get);
  (void)state;
  assert_int_equal(a->protocol, GW_PROTO_XML);
  assert_string_equal(a->method, "GET");
  assert_string_equal(a->url, "https://127.0.0.1:8446/qual/query?format=xml");
  assert_null(a->body_template);
  assert_null(a->content_type);
  assert_int_equal(a->n_query, 1);
  assert_string_equal(a->query[0].value, "{{subject.id}}");
  assert_int_equal(a->auth, GW_AUTH_API_KEY);
  assert_string_equal(a->api_key_header, "X-Api-Key");
  assert_string_equal(a->api_key, "file-secret-value");   /* CRLF stripped */
  assert_null(a->client_secret);
  assert_string_equal(a->mappings[0].spec->item->members[0]->path, "normalize-space(q:name)");
  gw_adapter_unref(a);
}

static void json_mtls_client_cert(void **state)
{
  struct gw_adapter *a = load_ok(json_mtls);
  char want[400];
  (void)state;
  assert_int_equal(a->auth, GW_AUTH_MTLS);
  path_in_dir(want, sizeof(want), "client.pem");
  assert_string_equal(a->client_cert, want);
  path_in_dir(want, sizeof(want), "client.key");
  assert_string_equal(a->client_key, want);
  assert_string_equal(a->mappings[0].fact, "identity.match");
  assert_int_equal(a->mappings[0].spec->type, GW_TYPE_BOOL);
  assert_null(a->mappings[0].spec->true_values);        /* defaults apply */
  assert_string_equal(a->mappings[1].spec->member_names[1], "is_shenzhen");
  gw_adapter_unref(a);
}

static void json_paged_first_subject(void **state)
{
  struct gw_adapter *a = load_ok(json_paged);
  const struct gw_value_spec *s;
  (void)state;
  assert_string_equal(a->paging.page_param, "page");
  assert_string_equal(a->paging.size_param, "page_size");
  assert_int_equal(a->paging.size, 50);
  assert_int_equal(a->paging.first, 1);
  assert_string_equal(a->paging.total_pages, "/data/total_pages");
  assert_string_equal(a->paging.items, "/data/records");
  assert_int_equal(a->paging.max_pages, 20);
  assert_string_equal(a->subject_path, "/data/id_number");
  assert_int_equal(a->subject_form, GW_SUBJECT_ID);
  s = a->mappings[0].spec;
  assert_int_equal(s->kind, GW_VALUE_FIRST);
  assert_string_equal(s->path, "/data/records");
  assert_int_equal(s->n_where, 2);
  assert_string_equal(s->where[0].name, "/record_type");        /* file order */
  assert_string_equal(s->where[0].value, "talent_recognition");
  assert_string_equal(s->where[1].name, "/status");
  assert_string_equal(s->default_json, "\"none\"");
  assert_int_equal(s->item->type, GW_TYPE_ENUM);
  assert_int_equal(s->when_absent, GW_ABSENT_BAD_RESPONSE);
  s = a->mappings[1].spec;
  assert_int_equal(s->kind, GW_VALUE_FIRST);
  assert_null(s->default_json);
  assert_int_equal(s->when_absent, GW_ABSENT_NOT_FOUND);
  assert_int_equal(s->item->kind, GW_VALUE_OBJECT);
  gw_adapter_unref(a);

  /* the defaults: no size, first page 1, 20 pages; sha256 form */
  {
    char *text = q(json_paged);
    json_t *root = json_loads(text, 0, NULL), *pg;
    char *out;
    assert_non_null(root);
    pg = json_object_get(json_object_get(root, "request"), "paging");
    json_object_del(pg, "size_param");
    json_object_del(pg, "size");
    json_object_del(pg, "first");
    json_object_del(pg, "max_pages");
    json_object_set_new(json_object_get(json_object_get(root, "response"), "subject"), "form",
                        json_string("sha256"));
    out = json_dumps(root, 0);
    write_file("a.json", out);
    free(out);
    free(text);
    json_decref(root);
    {
      char err[1024];
      assert_int_equal(gw_adapter_load(apath, &a, err, sizeof(err)), 0);
    }
    assert_null(a->paging.size_param);
    assert_int_equal(a->paging.first, 1);
    assert_int_equal(a->paging.max_pages, 20);
    assert_int_equal(a->subject_form, GW_SUBJECT_SHA256);
    gw_adapter_unref(a);
  }
}

/* --- broken variants ----------------------------------------------------- */

struct variant {
  const char *base;            /* one of the five texts */
  const char *where;           /* "a/b/0": members and array indexes */
  const char *json;            /* new value (backquotes allowed); NULL deletes */
  const char *want;            /* after "FILE: "; "%D" stands for the temp dir */
};

static const struct variant variants[] = {
  /* paging, subject, first/where/default, when_absent */
  { json_paged, "request/paging/pages", "1",
    "request.paging.pages: unknown field (known here: page_param, size_param, size, first, "
    "total_pages, items, max_pages)" },
  { json_paged, "request/paging/page_param", NULL, "request.paging.page_param: missing (a string is required)" },
  { json_paged, "request/paging/page_param", "`p age`",
    "request.paging.page_param: a query parameter name may hold only letters, digits and . _ ~ -" },
  { json_paged, "request/paging/page_param", "`id_number`",
    "request.paging.page_param: \"id_number\" is already a parameter of request.query or endpoint.url" },
  { json_paged, "request/paging/page_param", "`v`",
    "request.paging.page_param: \"v\" is already a parameter of request.query or endpoint.url" },
  { json_paged, "request/paging/size_param", "`page`", "request.paging.size_param: must differ from page_param" },
  { json_paged, "request/paging/size", NULL,
    "request.paging.size: missing: required with request.paging.size_param" },
  { json_paged, "request/paging/size", "0", "request.paging.size: must be between 1 and 10000 (got 0)" },
  { json_paged, "request/paging/first", "2", "request.paging.first: must be between 0 and 1 (got 2)" },
  { json_paged, "request/paging/max_pages", "101", "request.paging.max_pages: must be between 1 and 100 (got 101)" },
  { json_paged, "request/paging/total_pages", "``",
    "request.paging.total_pages: must not be empty" },
  { json_paged, "request/paging/items", "`data`",
    "request.paging.items: must be a JSON Pointer into the answer, starting with \"/\" (got \"data\")" },
  { json_paged, "response/max_bytes", "67108864",
    "request.paging.max_pages: 20 pages of response.max_bytes (67108864) exceed 67108864 bytes" },
  { jws_json, "request/paging", "{`page_param`: `p`, `total_pages`: `/n`, `items`: `/i`}",
    "request.paging: only for protocol json (got jws-json)" },
  { json_paged, "response/subject/form", "`sha1`",
    "response.subject.form: must be one of id, sha256 (got \"sha1\")" },
  { json_paged, "response/subject/path", NULL, "response.subject.path: missing (a JSON Pointer naming the subject" },
  { json_paged, "response/subject/path", "``",
    "response.subject.path: must point into the answer (not \"\", the whole document)" },
  { json_paged, "response/subject/at", "1", "response.subject.at: unknown field (known here: path, form)" },
  { soap11, "response/subject", "{`path`: `/s:Envelope/x:id`}",
    "response.subject.path: uses namespace prefix \"x\", which response.namespaces does not declare" },
  { json_paged, "mapping/talent.level/where", "{}",
    "mapping.talent.level.where: must not be empty (leave \"where\" out to take the first item)" },
  { json_paged, "mapping/talent.level/where", "{`/status`: 1}",
    "mapping.talent.level.where./status: must be a string" },
  { json_paged, "mapping/talent.level/where", "{`status`: `x`}",
    "mapping.talent.level.where.status: must be a JSON Pointer (RFC 6901)" },
  { json_paged, "mapping/talent.level/item", NULL,
    "mapping.talent.level.item: missing (a first value-spec needs an item value-spec)" },
  { json_paged, "mapping/talent.level/list", "`/x`",
    "mapping.talent.level: must have only one of \"path\", \"object\", \"list\", \"first\" (got list first)" },
  { json_paged, "mapping/talent.level/item/where", "{`/a`: `b`}",
    "mapping.talent.level.item.where: only for a first value-spec (one with \"first\")" },
  { json_paged, "mapping/talent.level/item/default", "1",
    "mapping.talent.level.item.default: only for a first value-spec (one with \"first\")" },
  { json_paged, "mapping/postdoc.status/item/object/in_station/when_absent", "`not_found`",
    "mapping.postdoc.status.item.object.in_station.when_absent: only on a fact's own value-spec" },
  { json_paged, "mapping/postdoc.status/when_absent", "`null`",
    "mapping.postdoc.status.when_absent: must be \"not_found\" (the only choice" },
  { soap11, "mapping/education.degrees/item/object/institution/first", "`v:x`",
    "mapping.education.degrees.item.object.institution: must have only one of \"path\", "
    "\"object\", \"list\", \"first\" (got path first)" },
  { soap11, "mapping/education.degrees/item/object/minor",
    "{`first`: `/v:x`, `item`: {`path`: `v:y`, `type`: `string`}}",
    "mapping.education.degrees.item.object.minor.first: must be relative to the list item" },
  { soap11, "mapping/education.degrees/item/object/minor",
    "{`first`: `v:x`, `where`: {`/v:k`: `a`}, `item`: {`path`: `v:y`, `type`: `string`}}",
    "mapping.education.degrees.item.object.minor.where./v:k: must be relative to the list item" },
  /* identity */
  { soap11, "nope", "1", "nope: unknown field (known here: $schema, id, version" },
  { soap11, "$schema", "1", "$schema: must be a string" },
  { soap11, "id", NULL, "id: missing (a string is required)" },
  { soap11, "id", "7", "id: must be a string" },
  { soap11, "id", "`Chsi`", "id: must match [a-z0-9][a-z0-9._-]{0,63} (got \"Chsi\")" },
  { soap11, "version", "0", "version: must be between 1 and 2147483647 (got 0)" },
  { soap11, "version", "`1`", "version: must be an integer" },
  { soap11, "agency", "`CHSI`", "agency: must match [a-z0-9][a-z0-9_-]{0,31} (got \"CHSI\")" },
  { soap11, "description", "``", "description: must not be empty" },
  { soap11, "facts", "[]", "facts: must not be empty" },
  { soap11, "facts", "[`education.degrees`, `education.degrees`]",
    "facts[1]: \"education.degrees\" is listed twice" },
  { soap11, "facts/0", "`education.degree`",
    "facts[0]: unknown fact \"education.degree\" (not in the fact catalogue" },
  { soap11, "order", "0", "order: must be between 1 and 8 (got 0)" },
  { soap11, "facts", "[`a`,`b`,`c`,`d`,`e`,`f`,`g`,`h`,`i`]", "facts: at most 8 items (got 9)" },
  { soap11, "protocol", "`soap`",
    "protocol: must be one of soap11, soap12, json, xml, jws-json (got \"soap\")" },
  /* endpoint */
  { soap11, "endpoint/urls", "`x`", "endpoint.urls: unknown field (known here: url, method, allow_addresses)" },
  { soap11, "endpoint/url", "`http://127.0.0.1/x`", "endpoint.url: must use https:// (got http://)" },
  { soap11, "endpoint/url", "`https://user:pw@127.0.0.1/x`",
    "endpoint.url: must not contain userinfo (user:password@); credentials belong in auth" },
  { soap11, "endpoint/url", "`https://127.0.0.1/x#top`", "endpoint.url: must not have a fragment" },
  { soap11, "endpoint/url", "`https:///x`", "endpoint.url: has no host" },
  { soap11, "endpoint/url", "`127.0.0.1/x`", "endpoint.url: not a valid absolute URL" },
  { soap11, "endpoint/url", "`https://10.0.0.1/x`",
    "endpoint.url: host 10.0.0.1 is outside endpoint.allow_addresses" },
  { soap11, "endpoint/method", "`PUT`", "endpoint.method: must be GET or POST (got \"PUT\")" },
  { soap11, "endpoint/method", "`GET`",
    "endpoint.method: must be POST for protocol soap11 (SOAP requests are POSTs)" },
  { soap11, "endpoint/allow_addresses", "[]", "endpoint.allow_addresses: must not be empty" },
  { soap11, "endpoint/allow_addresses/0", "`127.0.0.1/8`",
    "endpoint.allow_addresses[0]: has host bits set (did you mean \"127.0.0.0/8\"?)" },
  { soap11, "endpoint/allow_addresses/1", "`fd00::/129`",
    "endpoint.allow_addresses[1]: the prefix length must be a number from 0 to 128" },
  { soap11, "endpoint/allow_addresses/0", "`localhost/8`",
    "endpoint.allow_addresses[0]: \"localhost\" is not a numeric IPv4 or IPv6 address" },
  { soap11, "endpoint/allow_addresses/0", "`10.0.0.0`",
    "endpoint.allow_addresses[0]: must be an address block like \"10.0.0.0/8\"" },
  /* request */
  { soap11, "request/body", NULL, "request.body: missing (a POST needs a body template)" },
  { soap11, "request/body", "`<s:Envelope xmlns:s='" SOAP_NS "'><s:Body>{{subject.idd}}</s:Body></s:Envelope>`",
    "request.body: unknown placeholder \"{{subject.idd}}\" (known: {{subject.id}}, "
    "{{subject.name}}, {{request_id}}, {{now}})" },
  { soap11, "request/body", "`<s:Envelope xmlns:s='" SOAP_NS "'><s:Body>{{subject.id</s:Body></s:Envelope>`",
    "request.body: unbalanced \"{{\" at character 73 (no closing \"}}\")" },
  { soap11, "request/body", "`<s:Envelope xmlns:s='" SOAP_NS "'><s:Body></s:Envelope>`",
    "request.body: not well-formed XML once placeholders are filled in (line 1: " },
  { soap11, "request/body", "`<s:Envelope xmlns:s='http://www.w3.org/2003/05/soap-envelope'/>`",
    "request.body: must be a SOAP 1.1 Envelope (root element Envelope in namespace " SOAP_NS ")" },
  { soap11, "request/body", "`<s:Envelope xmlns:s='" SOAP_NS "'><s:Body><x{{subject.id}}/></s:Body></s:Envelope>`",
    "request.body: a placeholder stands outside element text and attribute values" },
  { soap11, "request/body", "`<s:Envelope xmlns:s='" SOAP_NS "'><s:Body><![CDATA[{{subject.id}}]]></s:Body></s:Envelope>`",
    "request.body: a placeholder stands outside element text and attribute values" },
  { soap11, "request/body", "`<!DOCTYPE s [<!ENTITY e 'x'>]><s:Envelope xmlns:s='" SOAP_NS "'/>`",
    "request.body: must not contain a DOCTYPE" },
  { soap11, "request/content_type", "`application/json`",
    "request.content_type: must be text/xml for protocol soap11" },
  { soap11, "request/content_type", "`json`",
    "request.content_type: must be a media type like \"application/json\" (got \"json\")" },
  { soap11, "request/headers/Content-Length", "`5`",
    "request.headers.Content-Length: header is set by the gateway itself" },
  { soap11, "request/headers/Content-Type", "`text/xml`",
    "request.headers.Content-Type: header is set from request.content_type" },
  { soap11, "request/headers/Bad Header", "`x`", "request.headers.Bad Header: not a valid header name" },
  { soap11, "request/headers/SOAPAction", "`a}}b`",
    "request.headers.SOAPAction: unbalanced \"}}\" at character 2 (no opening \"{{\")" },
  { soap11, "request/headers/soapaction", "`x`",
    "request.headers.soapaction: header given twice (as \"SOAPAction\" and \"soapaction\"" },
  { soap11, "request/headers/X-Note", "`line\\nbreak`",
    "request.headers.X-Note: must not contain control characters (found 0x0a at byte 5)" },
  { json_oauth2, "request/headers/Authorization", "`Bearer abc`",
    "request.headers.Authorization: header would carry a credential in the adapter file; use auth" },
  { json_oauth2, "request/headers/X-API-Key", "`abc123`",
    "request.headers.X-API-Key: a literal header would carry a credential in the adapter file" },
  { json_oauth2, "request/query/access_token", "`abc123`",
    "request.query.access_token: a literal query parameter would carry a credential" },
  { json_oauth2, "endpoint/url", "`https://si.example.cn/x?v=1&appKey=abc123`",
    "endpoint.url: the query parameter \"appKey\" would carry a credential in the adapter file" },
  { json_oauth2, "request/body", "`{}`", "request.body: not allowed with method GET" },
  { json_oauth2, "request/query/a b", "`x`",
    "request.query.a b: a query parameter name may hold only letters, digits and . _ ~ -" },
  { json_oauth2, "request/query/name", "`{{subject.nam}}`",
    "request.query.name: unknown placeholder \"{{subject.nam}}\"" },
  { json_oauth2, "endpoint/url", "`https://{{subject.id}}.example.cn/x`",
    "endpoint.url: placeholders may stand only in the URL path" },
  { json_oauth2, "endpoint/url", "`https://si.example.cn/x?id={{subject.id}}`",
    "endpoint.url: placeholders may stand only in the URL path; use request.query for query parameters" },
  { jws_json, "request/body", "`{\\`id\\`: {{subject.id}}}`",
    "request.body: not valid JSON once placeholders are filled in (line 1, column " },
  { jws_json, "request/body", "`{\\`{{subject.id}}\\`: 1}`",
    "request.body: a placeholder stands in an object key; placeholders belong in string values" },
  { xml_get, "request/content_type", "`application/xml`",
    "request.content_type: only with a request body (method POST)" },
  /* tls */
  { soap11, "tls", NULL, "tls: missing (an object is required)" },
  { soap11, "tls/cafile", "`ca.pem`", "tls.cafile: unknown field (known here: ca_file, client_cert, client_key, pin_sha256)" },
  { soap11, "tls/ca_file", NULL, "tls.ca_file: missing (a file path is required)" },
  { soap11, "tls/ca_file", "`missing.pem`", "tls.ca_file: cannot read %D/missing.pem: No such file or directory" },
  { soap11, "tls/ca_file", "`.`", "tls.ca_file: cannot read %D/.: not a regular file" },
  { soap11, "tls/ca_file", "`fifo`", "tls.ca_file: cannot read %D/fifo: not a regular file" },
  { soap11, "tls/ca_file", "`jws.pub.pem`",
    "tls.ca_file: %D/jws.pub.pem holds a public key, not a PEM X.509 certificate" },
  { soap11, "tls/pin_sha256", "`sha256//AAAA`", "tls.pin_sha256: must be \"sha256//\" followed by" },
  { soap11, "tls/pin_sha256", "`sha256//ZeKXug+fBIObG75+NFWZFNVMcq3DNpEsDdn3TeqzHRF=`",
    "tls.pin_sha256: pin 1: not the canonical base64 of 32 bytes" },
  { soap11, "tls/client_cert", "`client.pem`", "tls.client_key: missing: required with tls.client_cert" },
  { json_mtls, "tls/client_cert", NULL, "tls.client_cert: missing: required with tls.client_key" },
  { json_mtls, "tls/client_key", "`other.key`",
    "tls.client_key: %D/other.key does not match the certificate in tls.client_cert" },
  { json_mtls, "tls/client_key", "`enc.key`",
    "tls.client_key: %D/enc.key is an encrypted private key; the gateway needs it unencrypted" },
  { json_mtls, "tls/client_key", "`ca.pem`", "tls.client_key: %D/ca.pem holds a certificate, not a PEM private key" },
  /* auth */
  { soap11, "auth", NULL, "auth: missing (an object is required)" },
  { soap11, "auth/type", "`basic`", "auth.type: must be one of none, mtls, oauth2, api_key, signed_headers, wsse_username_token (got \"basic\")" },
  { soap11, "auth/header", "`X-Key`", "auth.header: not used with auth.type \"none\"" },
  { soap11, "auth/type", "`mtls`", "auth.type: mtls needs tls.client_cert and tls.client_key" },
  { json_oauth2, "auth/client_secret", "`supersecretvalue`",
    "auth.client_secret: must be a secret reference \"env:NAME\" or \"file:PATH\"; literal "
    "secrets are not allowed in adapter files (the value is not shown here)" },
  { json_oauth2, "auth/client_secret", "`env:GW_TEST_UNSET`",
    "auth.client_secret: environment variable GW_TEST_UNSET is not set or is empty" },
  { json_oauth2, "auth/client_secret", "`env:1BAD`",
    "auth.client_secret: \"env:\" must be followed by an environment variable name" },
  { json_oauth2, "auth/client_secret", "`file:empty.txt`", "auth.client_secret: secret file %D/empty.txt is empty" },
  { json_oauth2, "auth/client_secret", "`file:twolines.txt`",
    "auth.client_secret: secret file %D/twolines.txt must hold the secret on one line" },
  { json_oauth2, "auth/client_secret", "`file:nope.txt`",
    "auth.client_secret: cannot read %D/nope.txt: No such file or directory" },
  { json_oauth2, "auth/client_secret", "`file:.`", "auth.client_secret: cannot read %D/.: not a regular file" },
  { json_oauth2, "auth/client_secret", "`file:fifo`", "auth.client_secret: cannot read %D/fifo: not a regular file" },
  { json_oauth2, "auth/client_secret", NULL,
    "auth.client_secret: missing (a secret reference \"env:NAME\" or \"file:PATH\" is required)" },
  { json_oauth2, "auth/token_url", NULL, "auth.token_url: missing (a string is required)" },
  { json_oauth2, "auth/token_url", "`https://si.example.cn/{{now}}`",
    "auth.token_url: must not contain placeholders" },
  { json_oauth2, "auth/token_url", "`http://si.example.cn/token`", "auth.token_url: must use https://" },
  { json_oauth2, "auth/key", "`env:GW_TEST_SECRET`", "auth.key: not used with auth.type \"oauth2\"" },
  { soap11, "auth", "{`type`: `oauth2`, `token_url`: `https://10.0.0.1/token`, `client_id`: `gw`,"
    " `client_secret`: `env:GW_TEST_SECRET`}",
    "auth.token_url: host 10.0.0.1 is outside endpoint.allow_addresses (which the token "
    "request must pass too)" },
  { xml_get, "auth/key", "`secretliteral`", "auth.key: must be a secret reference" },
  { xml_get, "auth/header", "`X Api`", "auth.header: not a valid header name" },
  { xml_get, "auth/header", "`Host`", "auth.header: header is set by the gateway itself" },
  { xml_get, "request/headers/x-api-key", "`{{request_id}}`",
    "auth.header: \"X-Api-Key\" is also in request.headers" },
  /* verify */
  { soap11, "verify", NULL, "verify: missing (an object is required)" },
  { soap11, "verify/type", "`jws`", "verify.type: jws is only for protocol jws-json, not soap11" },
  { soap11, "verify/alg", "`ES256`", "verify.alg: must be \"rsa-sha256\", \"rsa-sha512\", "
    "\"ecdsa-sha256\" or \"sm2-sm3\" (got \"ES256\")" },
  /* the XML signature algorithm must be one the certificate's key makes */
  { soap11, "verify/alg", "`sm2-sm3`", "verify.alg: is \"sm2-sm3\" but verify.cert has an EC key" },
  { soap11, "verify/alg", "`rsa-sha256`",
    "verify.alg: is \"rsa-sha256\" but verify.cert has an EC key" },
  { soap11, "verify/cert", "`two.pem`",
    "verify.cert: %D/two.pem must hold exactly one certificate, the signer's (found 2)" },
  { soap11, "verify/cert", "`client.key`", "verify.cert: %D/client.key holds a private key too" },
  { soap11, "verify/cert", "`notpem.txt`",
    "verify.cert: %D/notpem.txt holds no PEM data, not a PEM X.509 certificate" },
  { soap11, "verify/signed_node", NULL, "verify.signed_node: missing (a string is required)" },
  { soap11, "verify/signed_node", "`/s:Envelope/s:Body[`",
    "verify.signed_node: does not compile as XPath 1.0: " },
  { soap11, "verify/signed_node", "`/soap:Envelope`",
    "verify.signed_node: uses namespace prefix \"soap\", which response.namespaces does not declare" },
  { json_oauth2, "verify/type", "`xmldsig`",
    "verify.type: xmldsig needs an XML protocol (soap11, soap12, xml), not json" },
  { jws_json, "verify/type", "`none`", "verify.type: must be jws for protocol jws-json" },
  { jws_json, "verify/alg", "`RS256`", "verify.alg: must be \"ES256\" or \"GmSM2\" (got \"RS256\")" },
  { jws_json, "verify/key", "`p384.pub.pem`",
    "verify.key: %D/p384.pub.pem must be an EC P-256 (ES256) or SM2 (GmSM2) public key (got EC secp384r1)" },
  { jws_json, "verify/key", "`client.key`", "verify.key: %D/client.key holds a private key; give the agency's public key" },
  { jws_json, "verify/key", "`ca.pem`", "verify.key: %D/ca.pem holds a certificate; give its public key" },
  /* verify.sm2_id: an agency CA's distinguishing ID, only for SM2 keys */
  { soap11, "verify/sm2_id", "`ALICE123@YAHOO.COM`", "verify.sm2_id: only for an SM2 verify.cert" },
  { soap11, "verify/sm2_id", "``", "verify.sm2_id: must be 1 to 64 printable ASCII characters" },
  { soap11, "verify/sm2_id", "1234", "verify.sm2_id: must be 1 to 64 printable ASCII characters" },
  { soap11, "verify/sm2_id", "`0123456789012345678901234567890123456789012345678901234567890123X`",
    "verify.sm2_id: must be 1 to 64 printable ASCII characters" },
  { jws_json, "verify/sm2_id", "`ALICE123@YAHOO.COM`", "verify.sm2_id: only for an SM2 verify.key" },
  /* response */
  { soap11, "response/max_bytes", "100", "response.max_bytes: must be between 1024 and 67108864 (got 100)" },
  { soap11, "response/ok_status", "[200, 200]", "response.ok_status[1]: status 200 is listed twice" },
  { soap11, "response/ok_status", "[200,201,202,203,204,205,206,207,208]",
    "response.ok_status: at most 8 items (got 9)" },
  { soap11, "response/ok_status", "[99]", "response.ok_status[0]: must be an HTTP status code from 100 to 599 (got 99)" },
  { soap11, "response/namespaces/1x", "`urn:x`", "response.namespaces.1x: a prefix must be an XML name" },
  { soap11, "response/namespaces/xml", "`urn:x`", "response.namespaces.xml: the prefix \"xml\" is reserved by XML" },
  { soap11, "response/namespaces/e", "``", "response.namespaces.e: must not be empty" },
  { soap11, "response/fault", "{}", "response.fault: must have \"status\", \"test\" or both" },
  { soap11, "response/fault/when", "1", "response.fault.when: unknown field (known here: status, test)" },
  { soap11, "response/fault/test", "`count(//s:Fault`", "response.fault.test: does not compile as XPath 1.0: " },
  { soap11, "response/not_found/test", "`foo(1)`",
    "response.not_found.test: calls foo(), which is not an XPath 1.0 function" },
  { soap11, "response/not_found/test", "`v:f(1)`",
    "response.not_found.test: calls v:f(), which is not an XPath 1.0 function" },
  { soap11, "response/not_found/test", "`$x = 1`", "response.not_found.test: uses a variable ($x = 1); none are defined" },
  { json_oauth2, "response/namespaces", "{`a`: `urn:a`}",
    "response.namespaces: only for XML protocols (soap11, soap12, xml), not json" },
  { json_oauth2, "response/fault/test", "`/error/code = 'E1'`",
    "response.fault.test: must be \"POINTER == \\\"value\\\"\" or \"POINTER exists\"" },
  { json_oauth2, "response/fault/test", "`/error/code == E1`",
    "response.fault.test: the value after \"==\" must be in double quotes" },
  { json_oauth2, "response/fault/test", "`error exists`",
    "response.fault.test: must be \"POINTER == \\\"value\\\"\" or \"POINTER exists\", the pointer starting with \"/\"" },
  { json_oauth2, "response/fault/test", "`/a~2 exists`",
    "response.fault.test: invalid JSON Pointer: \"~\" must be followed by 0 or 1" },
  /* mapping */
  { soap11, "mapping", NULL, "mapping: missing (an object is required)" },
  { soap11, "mapping/credit.status", "{`path`: `/x`, `type`: `string`}",
    "mapping.credit.status: \"credit.status\" is not listed in facts" },
  { soap11, "mapping/education.degrees", NULL,
    "mapping.education.degrees: missing (every fact in facts needs a mapping)" },
  { soap11, "mapping/education.degrees/item/object/graduated_on/type", "`datetime`",
    "mapping.education.degrees.item.object.graduated_on.type: must be one of string, int, "
    "number, bool, date, enum (got \"datetime\")" },
  { soap11, "mapping/education.degrees/item/object/level/values", NULL,
    "mapping.education.degrees.item.object.level.values: missing (type enum needs \"values\"" },
  { soap11, "mapping/education.degrees/item/object/level/values", "{}",
    "mapping.education.degrees.item.object.level.values: must not be empty" },
  { soap11, "mapping/education.degrees/item/object/institution/values", "{`a`: `b`}",
    "mapping.education.degrees.item.object.institution.values: only with type enum" },
  { soap11, "mapping/education.degrees/item/object/institution/true_values", "[`Y`]",
    "mapping.education.degrees.item.object.institution.true_values: only with type bool" },
  { soap11, "mapping/education.degrees/item/object/honours/false_values", "[`Y`]",
    "mapping.education.degrees.item.object.honours.false_values: \"Y\" is also in true_values" },
  { soap11, "mapping/education.degrees/item/object/honours/optional", "`yes`",
    "mapping.education.degrees.item.object.honours.optional: must be true or false" },
  { soap11, "mapping/education.degrees/optional", "true",
    "mapping.education.degrees.optional: only for a scalar value-spec (one with \"path\")" },
  { soap11, "mapping/education.degrees/path", "`/x`",
    "mapping.education.degrees: must have only one of \"path\", \"object\", \"list\", "
    "\"first\" (got path list)" },
  { soap11, "mapping/education.degrees/item", NULL,
    "mapping.education.degrees.item: missing (a list needs an item value-spec)" },
  { soap11, "mapping/education.degrees/item/object/institution/item", "{}",
    "mapping.education.degrees.item.object.institution.item: only for a list value-spec" },
  { soap11, "mapping/education.degrees/item/object/institution/path", "`/s:x`",
    "mapping.education.degrees.item.object.institution.path: must be relative to the list item" },
  { soap11, "mapping/education.degrees/item/object/institution/path", "`x:inst`",
    "mapping.education.degrees.item.object.institution.path: uses namespace prefix \"x\"" },
  { soap11, "mapping/education.degrees/item/object/institution/path", "``",
    "mapping.education.degrees.item.object.institution.path: must not be empty" },
  { soap11, "mapping/education.degrees/item/object/Bad-Name", "{`path`: `v:x`, `type`: `string`}",
    "mapping.education.degrees.item.object.Bad-Name: a fact member name must match [a-z][a-z0-9_]{0,63}" },
  { soap11, "mapping/education.degrees/item/object/institution", "{}",
    "mapping.education.degrees.item.object.institution: must have one of \"path\"" },
  { soap11, "mapping/education.degrees/item/object/institution", "`v:inst`",
    "mapping.education.degrees.item.object.institution: must be an object (a value-spec" },
  { soap11, "mapping/education.degrees/item/object/institution/colour", "`red`",
    "mapping.education.degrees.item.object.institution.colour: unknown field (a value-spec has" },
  { soap11, "mapping/education.degrees/item/object", "{}",
    "mapping.education.degrees.item.object: must have at least one member" },
  { json_oauth2, "mapping/social_insurance.shenzhen_months/path", "`months`",
    "mapping.social_insurance.shenzhen_months.path: must be a JSON Pointer (RFC 6901)" },
  { json_oauth2, "mapping/social_insurance.shenzhen_months/path", "`/a~2b`",
    "mapping.social_insurance.shenzhen_months.path: invalid JSON Pointer: \"~\" must be followed by 0 or 1" },
  { json_oauth2, "mapping/social_insurance.shenzhen_months/path", "7",
    "mapping.social_insurance.shenzhen_months.path: must be a string (a JSON Pointer)" },
  { json_mtls, "mapping/identity.match/true_values", "[]",
    "mapping.identity.match.true_values: must not be empty" },
  { xml_get, "mapping/qualification.certificates/item/object/name/path", "`q:name[`",
    "mapping.qualification.certificates.item.object.name.path: does not compile as XPath 1.0" },
  /* policy and cache */
  { soap11, "policy/retries", "6", "policy.retries: must be between 0 and 5 (got 6)" },
  { soap11, "policy/timeout_ms", "500",
    "policy.timeout_ms: must be at least policy.connect_timeout_ms (1000)" },
  { soap11, "policy/backoff_max_ms", "10", "policy.backoff_max_ms: must be at least policy.backoff_base_ms (50)" },
  { soap11, "policy/retry_budget_ratio", "1.5", "policy.retry_budget_ratio: must be between 0 and 1 (got 1.5)" },
  { soap11, "policy/connect_timeout_ms", "1.5", "policy.connect_timeout_ms: must be an integer" },
  { soap11, "policy/connect_timeout_ms", "0", "policy.connect_timeout_ms: must be between 1 and 60000 (got 0)" },
  { soap11, "policy/breaker/open", "1", "policy.breaker.open: unknown field" },
  { soap11, "policy/breaker", "[]", "policy.breaker: must be an object" },
  { soap11, "cache/ttl_s", "-1", "cache.ttl_s: must be between 0 and 2592000 (got -1)" },
  { soap11, "cache/ttl", "1", "cache.ttl: unknown field (known here: ttl_s, negative_ttl_s, stale_if_error_s)" },
};

/* Sets (or deletes, when value is NULL) the member at `where`. */
static void mutate(json_t *root, const char *where, json_t *value)
{
  json_t *node = root;
  const char *tok = where;
  for(;;) {
    const char *slash = strchr(tok, '/');
    char key[128];
    snprintf(key, sizeof(key), "%.*s", (int)(slash ? slash - tok : (long)strlen(tok)), tok);
    if(json_is_array(node)) {
      size_t i = (size_t)strtol(key, NULL, 10);
      if(!slash) {
        if(value)
          json_array_set_new(node, i, value);
        else
          json_array_remove(node, i);
        return;
      }
      node = json_array_get(node, i);
    }
    else {
      if(!slash) {
        if(value)
          json_object_set_new(node, key, value);
        else
          json_object_del(node, key);
        return;
      }
      if(!json_object_get(node, key))          /* missing parents appear */
        json_object_set_new(node, key, json_object());
      node = json_object_get(node, key);
    }
    assert_non_null(node);
    tok = slash + 1;
  }
}

/* Writes `root` as a.json, loads it, and checks that it fails with
 * `want`; prints what went wrong and returns -1 otherwise. */
static int try_failure(json_t *root, const char *want, const char *label)
{
  struct gw_adapter *a = (struct gw_adapter *)1;
  char err[1024], full[1024], expanded[700];
  char *text = json_dumps(root, JSON_INDENT(1));
  const char *d = strstr(want, "%D");
  assert_non_null(text);
  write_file("a.json", text);
  free(text);
  if(d)
    snprintf(expanded, sizeof(expanded), "%.*s%s%s", (int)(d - want), want, dir, d + 2);
  else
    snprintf(expanded, sizeof(expanded), "%s", want);
  snprintf(full, sizeof(full), "%s: %s", apath, expanded);
  if(gw_adapter_load(apath, &a, err, sizeof(err)) != -1) {
    print_error("%s: loaded, but want \"%s\"\n", label, full);
    gw_adapter_unref(a);
    return -1;
  }
  if(a) {
    print_error("%s: failed but left *out set\n", label);
    return -1;
  }
  if(strncmp(err, full, strlen(full))) {
    print_error("%s:\n  got  \"%s\"\n  want \"%s...\"\n", label, err, full);
    return -1;
  }
  return 0;
}

static void expect_failure(json_t *root, const char *want, const char *label)
{
  if(try_failure(root, want, label))
    fail();
}

static void broken_variants(void **state)
{
  size_t n = sizeof(variants) / sizeof(variants[0]);
  int failures = 0;
  (void)state;
  assert_true(n >= 40);
  for(size_t i = 0; i < n; i++) {
    const struct variant *v = &variants[i];
    char *base = q(v->base), label[300];
    json_error_t jerr;
    json_t *root = json_loads(base, 0, &jerr), *value = NULL;
    if(!root)
      fail_msg("base of variant %zu: %s", i, jerr.text);
    if(v->json) {
      char *vt = q(v->json);
      value = json_loads(vt, JSON_DECODE_ANY, &jerr);
      if(!value)
        fail_msg("value of variant %zu: %s", i, jerr.text);
      free(vt);
    }
    mutate(root, v->where, value);
    snprintf(label, sizeof(label), "variant %zu (%s = %s)", i, v->where,
             v->json ? v->json : "deleted");
    if(try_failure(root, v->want, label))
      failures++;
    json_decref(root);
    free(base);
  }
  if(failures)
    fail_msg("%d of %zu variants did not fail as they should", failures, n);
}

/* Variants easier to build in code: deep nesting and the caps. */
static void caps(void **state)
{
  char *base = q(soap11);
  json_t *root = json_loads(base, 0, NULL), *spec, *obj, *headers;
  (void)state;

  /* nine levels of object nesting under the list item */
  spec = json_pack("{s:s, s:s}", "path", "v:x", "type", "string");
  for(int i = 0; i < 8; i++)
    spec = json_pack("{s:{s:o}}", "object", "m", spec);
  mutate(root, "mapping/education.degrees/item", spec);
  expect_failure(root, "mapping.education.degrees.item.object.m.object.m.object.m.object.m."
                 "object.m.object.m.object.m: value-specs nest at most 8 levels deep", "depth");
  json_decref(root);

  root = json_loads(base, 0, NULL);
  obj = json_object();
  for(int i = 0; i < 33; i++) {
    char name[16];
    snprintf(name, sizeof(name), "m%d", i);
    json_object_set_new(obj, name, json_pack("{s:s, s:s}", "path", "v:x", "type", "string"));
  }
  mutate(root, "mapping/education.degrees/item/object", obj);
  expect_failure(root, "mapping.education.degrees.item.object: at most 32 members (got 33)",
                 "members");
  json_decref(root);

  root = json_loads(base, 0, NULL);
  headers = json_object();
  for(int i = 0; i < 17; i++) {
    char name[16];
    snprintf(name, sizeof(name), "X-H%d", i);
    json_object_set_new(headers, name, json_string("v"));
  }
  mutate(root, "request/headers", headers);
  expect_failure(root, "request.headers: at most 16 entries (got 17)", "headers");
  json_decref(root);
  free(base);
}

/* A literal secret, or a rejected reference, is never repeated back. */
static void secrets_never_echoed(void **state)
{
  static const char *const values[] = { "hunter2-literal", "env:lower case", "FILE:x" };
  char *base = q(json_oauth2);
  (void)state;
  for(size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
    json_t *root = json_loads(base, 0, NULL);
    struct gw_adapter *a;
    char err[1024], *text;
    mutate(root, "auth/client_secret", json_string(values[i]));
    text = json_dumps(root, 0);
    write_file("a.json", text);
    free(text);
    assert_int_equal(gw_adapter_load(apath, &a, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "auth.client_secret: "));
    if(strstr(err, values[i]) || strstr(err, "hunter2") || strstr(err, "lower case"))
      fail_msg("secret echoed: %s", err);
    json_decref(root);
  }
  free(base);
}

/* --- whole-file errors, load_text, paths --------------------------------- */

static void file_and_syntax_errors(void **state)
{
  struct gw_adapter *a;
  char err[1024], want[512];
  (void)state;
  assert_int_equal(gw_adapter_load("/nonexistent/a.json", &a, err, sizeof(err)), -1);
  assert_string_equal(err, "/nonexistent/a.json: cannot open: No such file or directory");
  snprintf(want, sizeof(want), "%s/fifo", dir);
  assert_int_equal(gw_adapter_load(want, &a, err, sizeof(err)), -1);   /* returns, not blocks */
  assert_non_null(strstr(err, "fifo: not a regular file"));

  write_file("a.json", "{\"id\": \"x\",\n  \"version\": }");
  assert_int_equal(gw_adapter_load(apath, &a, err, sizeof(err)), -1);
  snprintf(want, sizeof(want), "%s: line 2, column ", apath);
  assert_true(!strncmp(err, want, strlen(want)));

  write_file("a.json", "{\"id\": \"x\", \"id\": \"y\"}");       /* duplicate member */
  assert_int_equal(gw_adapter_load(apath, &a, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "duplicate"));

  write_file("a.json", "[1]");
  assert_int_equal(gw_adapter_load(apath, &a, err, sizeof(err)), -1);
  snprintf(want, sizeof(want), "%s: (top level): must be a JSON object", apath);
  assert_string_equal(err, want);

  assert_int_equal(gw_adapter_load_text("{}", GW_ADAPTER_FILE_MAX + 1, "big.json", dir,
                                        &a, err, sizeof(err)), -1);
  assert_string_equal(err, "big.json: larger than 262144 bytes (at most 262144)");
}

static void load_text_and_base_dir(void **state)
{
  struct gw_adapter *a;
  char err[1024], want[400], cwd[400];
  char *text = q(soap11);
  (void)state;
  assert_int_equal(gw_adapter_load_text(text, strlen(text), "admin:chsi", dir, &a,
                                        err, sizeof(err)), 0);
  assert_string_equal(a->file, "admin:chsi");
  path_in_dir(want, sizeof(want), "ca.pem");
  assert_string_equal(a->ca_file, want);
  gw_adapter_unref(a);

  assert_int_equal(gw_adapter_load_text(text, strlen(text), "admin:chsi", NULL, &a,
                                        err, sizeof(err)), -1);
  assert_null(a);
  assert_string_equal(err, "admin:chsi: tls.ca_file: relative path \"ca.pem\" needs a "
                      "base directory; give an absolute path");

  /* a relative FILE: paths still end up absolute */
  write_file("a.json", text);
  assert_non_null(getcwd(cwd, sizeof(cwd)));
  assert_int_equal(chdir(dir), 0);
  assert_int_equal(gw_adapter_load("a.json", &a, err, sizeof(err)), 0);
  assert_int_equal(chdir(cwd), 0);
  assert_string_equal(a->ca_file, want);
  gw_adapter_unref(a);
  free(text);
}

/* --- the syntax checks on their own -------------------------------------- */

static void template_checks(void **state)
{
  char why[400];
  size_t n = 99;
  (void)state;
  assert_int_equal(gw_adl_check_template("a{{now}}b{{subject.id}}", GW_ADL_TMPL_STRICT, &n,
                                         why, sizeof(why)), 0);
  assert_int_equal(n, 2);
  assert_int_equal(gw_adl_check_template("{ single } braces", GW_ADL_TMPL_STRICT, &n,
                                         why, sizeof(why)), 0);
  assert_int_equal(n, 0);
  assert_int_equal(gw_adl_check_template("{{{now}}}", GW_ADL_TMPL_STRICT, NULL, why, sizeof(why)), -1);
  assert_string_equal(why, "unknown placeholder \"{{{now}}\" (known: " GW_ADL_PLACEHOLDERS ")");
  assert_int_equal(gw_adl_check_template("{{ now }}{{\tsubject.id}}", GW_ADL_TMPL_STRICT, &n,
                                         why, sizeof(why)), 0);   /* as gw/template.h */
  assert_int_equal(n, 2);
  assert_int_equal(gw_adl_check_template("{{ no w }}", GW_ADL_TMPL_STRICT, NULL, why, sizeof(why)), -1);
  assert_int_equal(gw_adl_check_template("{\"a\":{\"b\":1}}", GW_ADL_TMPL_JSON, NULL, why, sizeof(why)), 0);
  assert_int_equal(gw_adl_check_template("{\"a\":{\"b\":1}}", GW_ADL_TMPL_STRICT, NULL, why, sizeof(why)), -1);
  assert_int_equal(gw_adl_check_template("x{{now", GW_ADL_TMPL_JSON, NULL, why, sizeof(why)), -1);
  assert_string_equal(why, "unbalanced \"{{\" at character 2 (no closing \"}}\")");
}

/* contains HOST: 1 in c, 0 outside, -1 not a numeric address */
static int contains(const struct gw_net_cidr *c, const char *host)
{
  unsigned char addr[16];
  int family = gw_net_addr_parse(host, addr);
  return family ? gw_net_cidr_match(c, family, addr) : -1;
}

static void cidr_checks(void **state)
{
  struct gw_net_cidr c;
  char why[400];
  const int S = GW_NET_CIDR_STRICT;
  (void)state;
  assert_int_equal(gw_net_cidr_parse("10.1.0.0/16", S, &c, why, sizeof(why)), 0);
  assert_int_equal(contains(&c, "10.1.255.3"), 1);
  assert_int_equal(contains(&c, "::ffff:10.1.0.7"), 1);   /* IPv4-mapped */
  assert_int_equal(contains(&c, "10.2.0.1"), 0);
  assert_int_equal(contains(&c, "::1"), 0);
  assert_int_equal(contains(&c, "example.cn"), -1);
  assert_int_equal(gw_net_cidr_parse("0.0.0.0/0", S, &c, why, sizeof(why)), 0);
  assert_int_equal(gw_net_cidr_parse("fd00:1::/32", S, &c, why, sizeof(why)), 0);
  assert_int_equal(contains(&c, "fd00:1:ffff::9"), 1);
  assert_int_equal(gw_net_cidr_parse("10.0.0.0/08", S, &c, why, sizeof(why)), -1);
  assert_int_equal(gw_net_cidr_parse("10.0.0.0/", S, &c, why, sizeof(why)), -1);
  assert_int_equal(gw_net_cidr_parse("10.0.0.0", S, &c, why, sizeof(why)), -1);
  assert_int_equal(gw_net_cidr_parse("10.0.0.128/25", S, &c, why, sizeof(why)), 0);
  assert_int_equal(gw_net_cidr_parse("10.0.0.129/25", S, &c, why, sizeof(why)), -1);
  assert_string_equal(why, "has host bits set (did you mean \"10.0.0.128/25\"?)");
  assert_int_equal(gw_net_cidr_parse("fd00::1/64", S, &c, why, sizeof(why)), -1);
  assert_string_equal(why, "has host bits set (did you mean \"fd00::/64\"?)");
  /* the upstream engine's lenient form: a bare address is a /32 or /128 */
  assert_int_equal(gw_net_cidr_parse("10.0.0.7", 0, &c, NULL, 0), 0);
  assert_int_equal(c.prefix, 32);
  assert_int_equal(contains(&c, "10.0.0.7"), 1);
  assert_int_equal(contains(&c, "10.0.0.8"), 0);
  assert_int_equal(gw_net_cidr_parse("10.0.0.7/33", 0, &c, NULL, 0), -1);
}

#define PIN "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

static void pin_pointer_test_checks(void **state)
{
  char why[400];
  (void)state;
  assert_int_equal(gw_net_pins_check("sha256//ZeKXug+fBIObG75+NFWZFNVMcq3DNpEsDdn3TeqzHRE=;"
                                    "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                                    why, sizeof(why)), 0);
  assert_int_equal(gw_net_pins_check("sha256//ZeKXug+fBIObG75+NFWZFNVMcq3DNpEsDdn3TeqzHRE=;",
                                    why, sizeof(why)), -1);
  assert_int_equal(gw_net_pins_check(PIN ";" PIN ";" PIN ";" PIN, why, sizeof(why)), 0);
  assert_int_equal(gw_net_pins_check(PIN ";" PIN ";" PIN ";" PIN ";" PIN, why, sizeof(why)), -1);
  assert_string_equal(why, "at most 4 pins");      /* what the upstream engine takes */
  assert_int_equal(gw_net_pins_check("sha256//ZeKXug+fBIObG75+NFWZFNVMcq3DNpEsDdn3Teqz-RE=",
                                    why, sizeof(why)), -1);
  assert_string_equal(why, "pin 1: \"-\" is not a base64 character");
  assert_int_equal(gw_adl_check_pointer("", why, sizeof(why)), 0);
  assert_int_equal(gw_adl_check_pointer("/a/~0~1/", why, sizeof(why)), 0);
  assert_int_equal(gw_adl_check_pointer("/a~", why, sizeof(why)), -1);
  assert_int_equal(gw_adl_check_json_test("/a/b exists", why, sizeof(why)), 0);
  assert_int_equal(gw_adl_check_json_test("\t/a/b  exists ", why, sizeof(why)), 0);
  assert_int_equal(gw_adl_check_json_test(" exists", why, sizeof(why)), -1);  /* needs a '/' */
  assert_int_equal(gw_adl_check_json_test("/s ==\"a \\\"q\\\" \\\\ 中\"", why, sizeof(why)), 0);
  assert_int_equal(gw_adl_check_json_test("/s == \"\\u4e2d\"", why, sizeof(why)), -1);
  assert_string_equal(why, "in the value only \\\" and \\\\ are escapes");
  assert_int_equal(gw_adl_check_json_test("/s==\"x\"", why, sizeof(why)), -1);
  assert_int_equal(gw_adl_check_json_test("/s == \"x", why, sizeof(why)), -1);
  assert_int_equal(gw_adl_check_json_test("/s == 3", why, sizeof(why)), -1);
  assert_int_equal(gw_adl_check_json_test("/s == \"x\" extra", why, sizeof(why)), -1);
  assert_int_equal(gw_adl_check_json_test("/s exist", why, sizeof(why)), -1);
  assert_true(gw_adl_is_token("X-Api-Key"));
  assert_false(gw_adl_is_token("X:Key"));
  assert_false(gw_adl_is_token(""));
}

/* --- reference counting --------------------------------------------------- */

static void refcount(void **state)
{
  struct gw_adapter *a = load_ok(json_oauth2);
  (void)state;
  assert_int_equal(atomic_load(&a->refs), 1);
  assert_ptr_equal(gw_adapter_ref(a), a);          /* a request takes one */
  assert_ptr_equal(gw_adapter_ref(a), a);
  assert_int_equal(atomic_load(&a->refs), 3);
  gw_adapter_unref(a);                             /* the registry swaps it out */
  gw_adapter_unref(a);
  assert_int_equal(atomic_load(&a->refs), 1);
  assert_string_equal(a->client_secret, "env-secret-value");   /* still whole */
  gw_adapter_unref(a);                             /* the last one frees (ASan: no leak) */
  assert_null(gw_adapter_ref(NULL));
  gw_adapter_unref(NULL);
}

/* Every adapter kind loads and frees many times over without a leak. */
static void load_free_cycles(void **state)
{
  static const char *const all[] = { soap11, json_oauth2, jws_json, xml_get, json_mtls };
  (void)state;
  for(int round = 0; round < 3; round++)
    for(size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
      gw_adapter_unref(load_ok(all[i]));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(soap11_xmldsig),
    cmocka_unit_test(json_oauth2_env_secret),
    cmocka_unit_test(jws_json_es256),
    cmocka_unit_test(xml_get_api_key_file_secret),
    cmocka_unit_test(json_mtls_client_cert),
    cmocka_unit_test(json_paged_first_subject),
    cmocka_unit_test(broken_variants),
    cmocka_unit_test(caps),
    cmocka_unit_test(secrets_never_echoed),
    cmocka_unit_test(file_and_syntax_errors),
    cmocka_unit_test(load_text_and_base_dir),
    cmocka_unit_test(template_checks),
    cmocka_unit_test(cidr_checks),
    cmocka_unit_test(pin_pointer_test_checks),
    cmocka_unit_test(refcount),
    cmocka_unit_test(load_free_cycles),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
