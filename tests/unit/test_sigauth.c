/*
 * test_sigauth.c - the two signing auth schemes (gw/sigauth.h): the signed
 * headers' canonical string and HMAC-SHA256 against vectors computed
 * independently (Python's hmac and hashlib, see the comments), the
 * placeholder check, the WS-Security PasswordDigest vector, the Security
 * element put into a SOAP Header (open and self-closing), and the adapter
 * loader reading both auth types and refusing their bad variants with
 * FILE: FIELD: PROBLEM.
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

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "gw/adapter.h"
#include "gw/alloc.h"
#include "gw/sigauth.h"
#include "../lib/catalogue_fixture.h"

static char dir[] = "/tmp/gwsigXXXXXX";

/* --- signed headers -------------------------------------------------------- */

#define BODY "{\"id_number\":\"110101199003070011\"}"

static struct gw_sigauth_signed fund_settings(enum gw_sigauth_enc enc)
{
  static char app_id[] = "gw-szrc-01", secret[] = "fund-secret-0123456789";
  static char canonical[] = "{{method}}\n{{path}}\n{{ query }}\n{{app_id}}\n{{timestamp}}\n"
                            "{{nonce}}\n{{body.sha256}}";
  struct gw_sigauth_signed s = { 0 };
  s.app_id = app_id;
  s.secret = secret;
  s.canonical = canonical;
  s.ts = GW_SIGAUTH_TS_UNIX;
  s.enc = enc;
  return s;
}

static void signed_vector(void **state)
{
  /* python3: body=b'{"id_number":"110101199003070011"}';
   * canon='POST\n/api/v1/deposit/summary\na=1&b=2\ngw-szrc-01\n1796500000\n'
   *       '00112233445566778899aabbccddeeff\n'+hashlib.sha256(body).hexdigest();
   * hmac.new(b'fund-secret-0123456789', canon.encode(), hashlib.sha256) */
  struct gw_sigauth_signed s = fund_settings(GW_SIGAUTH_ENC_BASE64);
  struct gw_sigauth_msg m = { "POST", "https://127.0.0.1:9443/api/v1/deposit/summary?a=1&b=2",
                              BODY, strlen(BODY), 1796500000, 0,
                              "00112233445566778899aabbccddeeff" };
  struct gw_sigauth_headers h;
  char *canon = NULL;
  (void)state;

  assert_int_equal(gw_sigauth_sign(&s, &m, &h, &canon), 0);
  assert_string_equal(canon, "POST\n/api/v1/deposit/summary\na=1&b=2\ngw-szrc-01\n1796500000\n"
                      "00112233445566778899aabbccddeeff\n"
                      "06459402f2bea33b4456909d1beaeb2fffb06158a7b373c9505e6573c928349e");
  assert_string_equal(h.timestamp, "1796500000");
  assert_string_equal(h.nonce, "00112233445566778899aabbccddeeff");
  assert_string_equal(h.signature, "zqWv8+e/1vDUN68VqOtF14FQ9moU3f16AixLR8FGSgA=");
  gw_free(canon);

  s = fund_settings(GW_SIGAUTH_ENC_HEX);
  assert_int_equal(gw_sigauth_sign(&s, &m, &h, NULL), 0);
  assert_string_equal(h.signature,
                      "cea5aff3e7bfd6f0d437af15a8eb45d78150f66a14ddfd7a022c4b47c1464a00");
}

static void signed_fresh_values(void **state)
{
  struct gw_sigauth_signed s = fund_settings(GW_SIGAUTH_ENC_BASE64);
  struct gw_sigauth_msg m = { "GET", "https://h/p", NULL, 0, 1796500000, 42, NULL };
  struct gw_sigauth_headers a, b;
  char *canon = NULL;
  (void)state;

  s.ts = GW_SIGAUTH_TS_UNIX_MS;
  assert_int_equal(gw_sigauth_sign(&s, &m, &a, &canon), 0);
  assert_int_equal(gw_sigauth_sign(&s, &m, &b, NULL), 0);
  assert_string_equal(a.timestamp, "1796500000042");
  assert_int_equal(strlen(a.nonce), 32);
  assert_string_not_equal(a.nonce, b.nonce);          /* a retry is not a replay */
  assert_string_not_equal(a.signature, b.signature);
  /* no query, empty body: "" and the SHA-256 of nothing */
  assert_non_null(strstr(canon, "GET\n/p\n\ngw-szrc-01\n"));
  assert_non_null(strstr(canon, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
  gw_free(canon);

  s.ts = GW_SIGAUTH_TS_RFC3339;
  assert_int_equal(gw_sigauth_sign(&s, &m, &a, NULL), 0);
  assert_string_equal(a.timestamp, "2026-12-05T19:46:40Z");
}

static void canonical_check(void **state)
{
  char why[400];
  (void)state;
  assert_int_equal(gw_sigauth_check_canonical("{{timestamp}}{{nonce}}", why, sizeof(why)), 0);
  assert_int_equal(gw_sigauth_check_canonical("{{method}}\n{{body.md5}}\n{{timestamp}}{{nonce}}",
                                              why, sizeof(why)), -1);
  assert_non_null(strstr(why, "unknown placeholder {{body.md5}}"));
  assert_non_null(strstr(why, "{{body.sha256}}"));
  assert_int_equal(gw_sigauth_check_canonical("{{timestamp}}{{nonce", why, sizeof(why)), -1);
  assert_non_null(strstr(why, "not closed"));
  assert_int_equal(gw_sigauth_check_canonical("{{method}}{{path}}", why, sizeof(why)), -1);
  assert_non_null(strstr(why, "{{timestamp}} and {{nonce}}"));
  assert_int_equal(gw_sigauth_check_canonical("", why, sizeof(why)), -1);
}

/* --- WS-Security ----------------------------------------------------------- */

static const unsigned char nonce16[16] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };

static void wsse_digest_vector(void **state)
{
  /* python3: base64.b64encode(hashlib.sha1(bytes(range(16)) +
   *          b'2026-12-07T19:40:00Z' + b'tax-password').digest()) */
  char out[32];
  (void)state;
  assert_int_equal(gw_sigauth_wsse_digest(nonce16, sizeof(nonce16), "2026-12-07T19:40:00Z",
                                          "tax-password", out, sizeof(out)), 0);
  assert_string_equal(out, "dz64OunpQhlK8srETrbURwIUgH8=");
}

static xmlDocPtr parse(const char *s, size_t n)
{
  xmlDocPtr d = xmlReadMemory(s, (int)n, "x.xml", NULL, XML_PARSE_NONET | XML_PARSE_NOERROR);
  assert_non_null(d);
  return d;
}

static void wsse_apply(void **state)
{
  static char user[] = "gw-szrc", password[] = "tax-password", tag[] = "<se:Header";
  struct gw_sigauth_wsse w = { user, password, tag };
  const char *open = "<se:Envelope xmlns:se='http://schemas.xmlsoap.org/soap/envelope/'>"
                     "<se:Header ></se:Header><se:Body><q>1</q></se:Body></se:Envelope>";
  const char *self = "<se:Envelope xmlns:se='http://schemas.xmlsoap.org/soap/envelope/'>"
                     "<se:Header /><se:Body><q>1</q></se:Body></se:Envelope>";
  const char *none = "<se:Envelope xmlns:se='http://schemas.xmlsoap.org/soap/envelope/'>"
                     "<se:Headers/><se:Body/></se:Envelope>";
  time_t t = 1796672400;   /* 2026-12-07T19:40:00Z */
  size_t n;
  char *out;
  (void)state;

  for(int i = 0; i < 2; i++) {
    const char *in = i ? self : open;
    xmlDocPtr d;
    xmlNodePtr hdr;
    out = gw_sigauth_wsse_apply(&w, in, strlen(in), t, nonce16, 1 << 20, &n);
    assert_non_null(out);
    assert_int_equal(strlen(out), n);
    d = parse(out, n);
    hdr = xmlDocGetRootElement(d)->children;
    assert_string_equal((const char *)hdr->name, "Header");
    assert_string_equal((const char *)hdr->children->name, "Security");
    assert_non_null(strstr(out, "<wsse:Username>gw-szrc</wsse:Username>"));
    assert_non_null(strstr(out, "#PasswordDigest\">dz64OunpQhlK8srETrbURwIUgH8=</wsse:Password>"));
    assert_non_null(strstr(out, ">AAECAwQFBgcICQoLDA0ODw==</wsse:Nonce>"));
    assert_non_null(strstr(out, "<wsu:Created>2026-12-07T19:40:00Z</wsu:Created>"));
    assert_null(strstr(out, "tax-password"));
    xmlFreeDoc(d);
    gw_free(out);
  }
  assert_null(gw_sigauth_wsse_apply(&w, none, strlen(none), t, nonce16, 1 << 20, &n));
  assert_null(gw_sigauth_wsse_apply(&w, open, strlen(open), t, nonce16, 100, &n));
  assert_int_equal(gw_sigauth_username_ok("a<b"), 0);
  assert_int_equal(gw_sigauth_username_ok(""), 0);
  assert_int_equal(gw_sigauth_username_ok("gw-szrc"), 1);
}

/* --- the loader ---------------------------------------------------------- */

/* Backquotes stand for JSON string quotes. */
static char *q(const char *text)
{
  char *s = gw_strdup(text);
  for(char *p = s; *p; p++)
    if(*p == '`')
      *p = '"';
  return s;
}

#define JSON_HEAD \
  "{`id`: `si.signed`, `version`: 1, `agency`: `si`, `facts`: [`social_insurance.shenzhen_months`]," \
  " `protocol`: `json`, `endpoint`: {`url`: `https://127.0.0.1:9443/api/v1/months`, `method`: `POST`}," \
  " `request`: {`body`: `{\\`id\\`: \\`{{subject.id}}\\`}`}, `tls`: {`ca_file`: `ca.pem`},"
#define JSON_TAIL \
  " `verify`: {`type`: `none`},"\
  " `mapping`: {`social_insurance.shenzhen_months`: {`path`: `/months`, `type`: `int`}}}"
#define SIGNED_AUTH(extra, canon, hdrs) \
  " `auth`: {`type`: `signed_headers`, `app_id`: `gw-szrc-01`, `secret`: `env:GW_TEST_SIG`," \
  " `headers`: {" hdrs "}, `canonical`: `" canon "`" extra "},"
#define HDRS "`app_id`: `X-App-Id`, `timestamp`: `X-Timestamp`, `nonce`: `X-Nonce`, `signature`: `X-Signature`"
#define CANON "{{method}}\\n{{path}}\\n{{timestamp}}\\n{{nonce}}\\n{{body.sha256}}"

#define SOAP_ENV "http://schemas.xmlsoap.org/soap/envelope/"
#define SOAP_ADAPTER(body, auth) \
  "{`id`: `si.soap`, `version`: 1, `agency`: `si`, `facts`: [`social_insurance.shenzhen_months`]," \
  " `protocol`: `soap11`, `endpoint`: {`url`: `https://127.0.0.1:9443/ws`, `method`: `POST`}," \
  " `request`: {`body`: `" body "`}, `tls`: {`ca_file`: `ca.pem`}, `auth`: " auth "," \
  " `verify`: {`type`: `none`}, `response`: {`namespaces`: {`t`: `urn:t`}}," \
  " `mapping`: {`social_insurance.shenzhen_months`: {`path`: `//t:months`, `type`: `int`}}}"
#define SOAP_BODY "<s:Envelope xmlns:s='" SOAP_ENV "'><s:Header/><s:Body><t:Q xmlns:t='urn:t'>" \
  "{{subject.id}}</t:Q></s:Body></s:Envelope>"
#define WSSE_AUTH "{`type`: `wsse_username_token`, `username`: `gw-szrc`, `password`: `env:GW_TEST_SIG`}"

static struct gw_adapter *load(const char *text, char *err, size_t errlen)
{
  struct gw_adapter *a = NULL;
  char *t = q(text);
  if(gw_adapter_load_text(t, strlen(t), "x.json", dir, &a, err, errlen))
    a = NULL;
  gw_free(t);
  return a;
}

static void loader_ok(void **state)
{
  char err[1024] = "";
  struct gw_adapter *a;
  (void)state;

  a = load(JSON_HEAD SIGNED_AUTH(", `timestamp_format`: `unix_ms`, `encoding`: `hex`", CANON, HDRS)
           JSON_TAIL, err, sizeof(err));
  if(!a)
    fail_msg("%s", err);
  assert_int_equal(a->auth, GW_AUTH_SIGNED_HEADERS);
  assert_string_equal(a->signed_auth.app_id, "gw-szrc-01");
  assert_string_equal(a->signed_auth.secret, "signing-secret-0123456789");
  assert_string_equal(a->signed_auth.canonical,
                      "{{method}}\n{{path}}\n{{timestamp}}\n{{nonce}}\n{{body.sha256}}");
  assert_string_equal(a->signed_auth.h_signature, "X-Signature");
  assert_int_equal(a->signed_auth.ts, GW_SIGAUTH_TS_UNIX_MS);
  assert_int_equal(a->signed_auth.enc, GW_SIGAUTH_ENC_HEX);
  gw_adapter_unref(a);

  a = load(SOAP_ADAPTER(SOAP_BODY, WSSE_AUTH), err, sizeof(err));
  if(!a)
    fail_msg("%s", err);
  assert_int_equal(a->auth, GW_AUTH_WSSE_USERNAME_TOKEN);
  assert_string_equal(a->wsse.username, "gw-szrc");
  assert_string_equal(a->wsse.header_tag, "<s:Header");
  gw_adapter_unref(a);
}

static void loader_refuses(void **state)
{
  static const struct {
    const char *text, *err;
  } cases[] = {
    { JSON_HEAD SIGNED_AUTH("", "{{method}}{{timestamp}}{{nonce}}{{host}}", HDRS) JSON_TAIL,
      "x.json: auth.canonical: unknown placeholder {{host}} (known: {{method}}" },
    { JSON_HEAD SIGNED_AUTH("", "{{method}}{{path}}", HDRS) JSON_TAIL,
      "x.json: auth.canonical: must contain {{timestamp}} and {{nonce}}" },
    { JSON_HEAD SIGNED_AUTH("", CANON, "`app_id`: `X-App-Id`, `timestamp`: `X-T`, `nonce`: `X-T`,"
                            " `signature`: `X-S`") JSON_TAIL,
      "x.json: auth.headers.nonce: \"X-T\" names another of auth.headers too" },
    { JSON_HEAD SIGNED_AUTH("", CANON, "`app_id`: `X-App-Id`, `timestamp`: `Host`, `nonce`: `X-N`,"
                            " `signature`: `X-S`") JSON_TAIL,
      "x.json: auth.headers.timestamp: header is set by the gateway itself" },
    { JSON_HEAD SIGNED_AUTH("", CANON, "`app_id`: `X-App-Id`, `timestamp`: `X-T`, `nonce`: `X-N`")
      JSON_TAIL,
      "x.json: auth.headers.signature: missing" },
    { JSON_HEAD SIGNED_AUTH(", `timestamp_format`: `iso`", CANON, HDRS) JSON_TAIL,
      "x.json: auth.timestamp_format: must be one of unix, unix_ms, rfc3339" },
    { JSON_HEAD SIGNED_AUTH(", `username`: `u`", CANON, HDRS) JSON_TAIL,
      "x.json: auth.username: not used with auth.type \"signed_headers\"" },
    { JSON_HEAD " `auth`: {`type`: `signed_headers`, `app_id`: `a`, `secret`: `literal-secret-xxxxxxxx`,"
      " `headers`: {" HDRS "}, `canonical`: `" CANON "`}," JSON_TAIL,
      "x.json: auth.secret: " },
    { JSON_HEAD " `auth`: " WSSE_AUTH "," JSON_TAIL,
      "x.json: auth.type: wsse_username_token is for SOAP (soap11, soap12), not json" },
    { SOAP_ADAPTER("<s:Envelope xmlns:s='" SOAP_ENV "'><s:Body><t:Q xmlns:t='urn:t'>{{subject.id}}"
                   "</t:Q></s:Body></s:Envelope>", WSSE_AUTH),
      "x.json: request.body: wsse_username_token needs a soap Header element" },
    { SOAP_ADAPTER(SOAP_BODY, "{`type`: `wsse_username_token`, `username`: `a&b`,"
                   " `password`: `env:GW_TEST_SIG`}"),
      "x.json: auth.username: printable ASCII only" },
    { SOAP_ADAPTER(SOAP_BODY, "{`type`: `wsse_username_token`, `username`: `u`}"),
      "x.json: auth.password: missing" },
  };
  (void)state;

  for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char err[1024] = "";
    struct gw_adapter *a = load(cases[i].text, err, sizeof(err));
    if(a || strncmp(err, cases[i].err, strlen(cases[i].err)))
      fail_msg("case %zu: got \"%s\", want \"%s...\"", i, a ? "(loaded)" : err, cases[i].err);
    assert_null(strstr(err, "signing-secret"));
  }
}

static int setup(void **state)
{
  char cmd[512];
  (void)state;
  if(!mkdtemp(dir))
    return -1;
  snprintf(cmd, sizeof(cmd), "cd '%s' && openssl req -x509 -newkey ec -pkeyopt "
           "ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -subj /CN=t -days 2 "
           "2>/dev/null", dir);
  if(system(cmd))
    return -1;
  setenv("GW_TEST_SIG", "signing-secret-0123456789", 1);
  return 0;
}

static int teardown(void **state)
{
  char cmd[512];
  (void)state;
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  return system(cmd) ? -1 : 0;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(signed_vector),
    cmocka_unit_test(signed_fresh_values),
    cmocka_unit_test(canonical_check),
    cmocka_unit_test(wsse_digest_vector),
    cmocka_unit_test(wsse_apply),
    cmocka_unit_test(loader_ok),
    cmocka_unit_test(loader_refuses),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
