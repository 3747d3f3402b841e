/*
 * test_template.c - request templates: the exact bytes each escaping
 * context produces for ordinary and hostile names, what each context
 * refuses, placeholder syntax, and the caps.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "gw/alloc.h"
#include "template.h"

#define NOW_2026_11_28_0830 ((time_t)1795854600)
#define ID "11010519491231002X"

static struct gw_template_values vals(const char *name, size_t len)
{
  struct gw_template_values v;
  v.subject_id = ID;
  v.subject_name = name;
  v.subject_name_len = len;
  v.request_id = "req-0001";
  v.now = NOW_2026_11_28_0830;
  return v;
}

/* Expands tmpl with a name given with an explicit length and checks the
 * result code and, when OK, the exact bytes. */
static void expect_n(const char *tmpl, enum gw_esc esc, const char *name, size_t len,
                     enum gw_template_result want, const char *want_out)
{
  struct gw_template_values v = vals(name, len);
  char err[256] = "";
  char *out = (char *)"untouched";
  size_t out_len = 12345;
  enum gw_template_result r = gw_template_expand(tmpl, esc, &v, &out, &out_len, err,
                                                 sizeof(err));
  if(r != want)
    fail_msg("%s: got %s (%s), want %s", tmpl, gw_template_strerror(r), err,
             gw_template_strerror(want));
  if(want == GW_TEMPLATE_OK) {
    assert_non_null(out);
    assert_string_equal(out, want_out);
    assert_int_equal(out_len, strlen(want_out));
    gw_free(out);
  }
  else {
    assert_null(out);
    assert_int_equal(out_len, 0);
    assert_true(err[0] != '\0');
  }
}

static void expect(const char *tmpl, enum gw_esc esc, const char *name,
                   enum gw_template_result want, const char *want_out)
{
  expect_n(tmpl, esc, name, strlen(name), want, want_out);
}

static void xml_body(void **state)
{
  (void)state;
  expect("<c:VerifyDegrees><c:idNumber>{{subject.id}}</c:idNumber>"
         "<c:name>{{ subject.name }}</c:name><c:requestId>{{request_id}}</c:requestId>"
         "<c:at>{{now}}</c:at></c:VerifyDegrees>",
         GW_ESC_XML, "张三", GW_TEMPLATE_OK,
         "<c:VerifyDegrees><c:idNumber>11010519491231002X</c:idNumber>"
         "<c:name>张三</c:name><c:requestId>req-0001</c:requestId>"
         "<c:at>2026-11-28T08:30:00Z</c:at></c:VerifyDegrees>");
}

static void xml_hostile_names(void **state)
{
  (void)state;
  expect("<n>{{subject.name}}</n>", GW_ESC_XML, "<script>alert(\"x\")</script>",
         GW_TEMPLATE_OK, "<n>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</n>");
  expect("<n a='{{subject.name}}'/>", GW_ESC_XML, "O'Brien & Sons ]]>", GW_TEMPLATE_OK,
         "<n a='O&apos;Brien &amp; Sons ]]&gt;'/>");
  /* tab, LF and CR survive attribute normalization as character references */
  expect("<n>{{subject.name}}</n>", GW_ESC_XML, "a\r\nb\tc", GW_TEMPLATE_OK,
         "<n>a&#xD;&#xA;b&#x9;c</n>");
  /* emoji (4-byte UTF-8) and Chinese pass through as UTF-8 */
  expect("<n>{{subject.name}}</n>", GW_ESC_XML, "张\xF0\x9F\x98\x80三", GW_TEMPLATE_OK,
         "<n>张\xF0\x9F\x98\x80三</n>");
  /* C0 controls other than tab/CR/LF and U+FFFE/U+FFFF are not XML 1.0 */
  expect("<n>{{subject.name}}</n>", GW_ESC_XML, "a\x01", GW_TEMPLATE_FORBIDDEN_CHAR, NULL);
  expect("<n>{{subject.name}}</n>", GW_ESC_XML, "a\x1B[31m", GW_TEMPLATE_FORBIDDEN_CHAR, NULL);
  expect("<n>{{subject.name}}</n>", GW_ESC_XML, "a\xEF\xBF\xBE", GW_TEMPLATE_FORBIDDEN_CHAR,
         NULL);
  expect("<n>{{subject.name}}</n>", GW_ESC_XML, "a\xEF\xBF\xBF", GW_TEMPLATE_FORBIDDEN_CHAR,
         NULL);
}

static void xml_placeholder_in_cdata_or_comment(void **state)
{
  (void)state;
  expect("<n><![CDATA[{{subject.name}}]]></n>", GW_ESC_XML, "x", GW_TEMPLATE_SYNTAX, NULL);
  expect("<!-- {{subject.name}} --><n/>", GW_ESC_XML, "x", GW_TEMPLATE_SYNTAX, NULL);
  expect("<n><![CDATA[literal]]>{{subject.name}}<!-- c --></n>", GW_ESC_XML, "x&",
         GW_TEMPLATE_OK, "<n><![CDATA[literal]]>x&amp;<!-- c --></n>");
  /* the other contexts know nothing of XML markup */
  expect("<![CDATA[{{subject.name}}]]>", GW_ESC_JSON, "x", GW_TEMPLATE_OK, "<![CDATA[x]]>");
}

static void json_body(void **state)
{
  char *out = NULL;
  struct gw_template_values v;
  json_error_t jerr;
  json_t *doc;
  const char *hostile = "a\"b\\c\n\x1f\xE2\x80\xA8</script>";
  (void)state;

  /* the closing "}}" of two objects is literal text */
  expect("{\"q\":{\"id\":\"{{subject.id}}\",\"name\":\"{{subject.name}}\"}}", GW_ESC_JSON,
         "张三", GW_TEMPLATE_OK,
         "{\"q\":{\"id\":\"11010519491231002X\",\"name\":\"张三\"}}");
  expect("{\"name\":\"{{subject.name}}\"}", GW_ESC_JSON, hostile, GW_TEMPLATE_OK,
         "{\"name\":\"a\\\"b\\\\c\\u000A\\u001F\\u2028</script>\"}");
  expect("{\"name\":\"{{subject.name}}\"}", GW_ESC_JSON, "\xF0\x9F\x98\x80", GW_TEMPLATE_OK,
         "{\"name\":\"\xF0\x9F\x98\x80\"}");
  expect("{\"name\":\"{{subject.name}}\"}", GW_ESC_JSON, "tab\there", GW_TEMPLATE_OK,
         "{\"name\":\"tab\\u0009here\"}");

  /* and a JSON parser reads back exactly the hostile value */
  v = vals(hostile, strlen(hostile));
  assert_int_equal(gw_template_expand("{\"name\":\"{{subject.name}}\"}", GW_ESC_JSON, &v, &out,
                                      NULL, NULL, 0), GW_TEMPLATE_OK);
  doc = json_loads(out, 0, &jerr);
  assert_non_null(doc);
  assert_string_equal(json_string_value(json_object_get(doc, "name")), hostile);
  json_decref(doc);
  gw_free(out);
}

static void url_encoding(void **state)
{
  (void)state;
  expect("/verify?name={{subject.name}}&id={{subject.id}}", GW_ESC_URL, "张三", GW_TEMPLATE_OK,
         "/verify?name=%E5%BC%A0%E4%B8%89&id=11010519491231002X");
  expect("{{subject.name}}", GW_ESC_URL, "a b&c=d/e?f#g+h~i-j.k_l%", GW_TEMPLATE_OK,
         "a%20b%26c%3Dd%2Fe%3Ff%23g%2Bh~i-j.k_l%25");
  expect("{{subject.name}}", GW_ESC_URL, "\xF0\x9F\x98\x80\r\n", GW_TEMPLATE_OK,
         "%F0%9F%98%80%0D%0A");
  expect("{{now}}", GW_ESC_URL, "x", GW_TEMPLATE_OK, "2026-11-28T08%3A30%3A00Z");
}

static void header_values(void **state)
{
  (void)state;
  expect("Bearer {{request_id}}", GW_ESC_HEADER, "x", GW_TEMPLATE_OK, "Bearer req-0001");
  expect("{{subject.name}}", GW_ESC_HEADER, "张三\tx", GW_TEMPLATE_OK, "张三\tx");
  expect("{{subject.name}}", GW_ESC_HEADER, "x\r\nX-Injected: 1", GW_TEMPLATE_FORBIDDEN_CHAR,
         NULL);
  expect("{{subject.name}}", GW_ESC_HEADER, "x\n", GW_TEMPLATE_FORBIDDEN_CHAR, NULL);
  expect("{{subject.name}}", GW_ESC_HEADER, "x\r", GW_TEMPLATE_FORBIDDEN_CHAR, NULL);
  expect("{{subject.name}}", GW_ESC_HEADER, "x\x7f", GW_TEMPLATE_FORBIDDEN_CHAR, NULL);
  expect("{{subject.name}}", GW_ESC_HEADER, "x\x0b", GW_TEMPLATE_FORBIDDEN_CHAR, NULL);
  /* the template's own text is held to the same rule */
  expect("a\r\nb: {{subject.id}}", GW_ESC_HEADER, "x", GW_TEMPLATE_SYNTAX, NULL);
}

static void nul_refused_everywhere(void **state)
{
  static const enum gw_esc all[] = { GW_ESC_XML, GW_ESC_JSON, GW_ESC_URL, GW_ESC_HEADER };
  (void)state;
  for(size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
    expect_n("{{subject.name}}", all[i], "张三\0admin", 12, GW_TEMPLATE_FORBIDDEN_CHAR, NULL);
    expect_n("{{subject.name}}", all[i], "\0", 1, GW_TEMPLATE_FORBIDDEN_CHAR, NULL);
    /* the explicit length is honoured: bytes after it are not read */
    expect_n("{{subject.name}}", all[i], "张三\0admin", 6, GW_TEMPLATE_OK,
             all[i] == GW_ESC_URL ? "%E5%BC%A0%E4%B8%89" : "张三");
  }
}

static void invalid_utf8_refused_everywhere(void **state)
{
  static const enum gw_esc all[] = { GW_ESC_XML, GW_ESC_JSON, GW_ESC_URL, GW_ESC_HEADER };
  static const char *const bad[] = {
    "\xC3\x28",             /* bad continuation */
    "\x80",                 /* stray continuation */
    "\xC0\xAF",             /* overlong '/' */
    "\xE0\x80\xAF",         /* overlong, 3 bytes */
    "\xED\xA0\x80",         /* UTF-16 surrogate */
    "\xF4\x90\x80\x80",     /* above U+10FFFF */
    "\xE5\xBC",             /* truncated 张 */
    "\xFF",
  };
  (void)state;
  for(size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
    for(size_t j = 0; j < sizeof(bad) / sizeof(bad[0]); j++)
      expect("<{{subject.name}}>", all[i], bad[j], GW_TEMPLATE_BAD_UTF8, NULL);
}

static void placeholder_syntax(void **state)
{
  char err[128];
  (void)state;
  expect("{{subject.id", GW_ESC_XML, "x", GW_TEMPLATE_SYNTAX, NULL);
  expect("{{subject.id}", GW_ESC_XML, "x", GW_TEMPLATE_SYNTAX, NULL);
  expect("{{}}", GW_ESC_XML, "x", GW_TEMPLATE_SYNTAX, NULL);
  expect("{{{subject.id}}}", GW_ESC_JSON, "x", GW_TEMPLATE_SYNTAX, NULL);
  expect("{{ {{subject.id}} }}", GW_ESC_XML, "x", GW_TEMPLATE_SYNTAX, NULL);
  expect("{{subject id}}", GW_ESC_XML, "x", GW_TEMPLATE_SYNTAX, NULL);
  expect("{{subject.age}}", GW_ESC_XML, "x", GW_TEMPLATE_UNKNOWN, NULL);
  expect("{{Subject.ID}}", GW_ESC_XML, "x", GW_TEMPLATE_UNKNOWN, NULL);
  /* single braces and stray closers are literal */
  expect("{a} }} {{\tnow\t}} }", GW_ESC_JSON, "x", GW_TEMPLATE_OK,
         "{a} }} 2026-11-28T08:30:00Z }");
  expect("", GW_ESC_XML, "x", GW_TEMPLATE_OK, "");

  assert_int_equal(gw_template_check("<a>{{subject.id}}</a>{{ now }}", err, sizeof(err)), 0);
  assert_int_equal(gw_template_check("{\"a\":{\"b\":1}}", err, sizeof(err)), 0);
  assert_int_equal(gw_template_check("<a>{{subject.age}}</a>", err, sizeof(err)), -1);
  assert_string_equal(err, "unknown placeholder {{subject.age}} at offset 3");
  assert_int_equal(gw_template_check("ab{{request_id", err, sizeof(err)), -1);
  assert_string_equal(err, "malformed or unterminated placeholder at offset 2");
  assert_int_equal(gw_template_check("{{now}}{{", NULL, 0), -1);
}

static void missing_values(void **state)
{
  struct gw_template_values v = vals(NULL, 0);
  char *out = NULL;
  char err[128];
  (void)state;
  assert_int_equal(gw_template_expand("{{subject.id}}", GW_ESC_XML, &v, &out, NULL, err,
                                      sizeof(err)), GW_TEMPLATE_OK);
  gw_free(out);
  assert_int_equal(gw_template_expand("{{subject.name}}", GW_ESC_XML, &v, &out, NULL, err,
                                      sizeof(err)), GW_TEMPLATE_MISSING);
  assert_null(out);
  assert_string_equal(err, "no value for {{subject.name}}");
  v.now = 0;
  assert_int_equal(gw_template_expand("{{now}}", GW_ESC_JSON, &v, &out, NULL, err,
                                      sizeof(err)), GW_TEMPLATE_OK);
  assert_string_equal(out, "1970-01-01T00:00:00Z");
  gw_free(out);
}

static void caps(void **state)
{
  char name[GW_TEMPLATE_MAX_VALUE + 2];
  char tmpl[32 * 16 + 1];
  char *big;
  (void)state;

  memset(name, 'a', sizeof(name) - 1);
  name[sizeof(name) - 1] = '\0';
  expect_n("{{subject.name}}", GW_ESC_JSON, name, GW_TEMPLATE_MAX_VALUE, GW_TEMPLATE_OK, name + 1);
  expect_n("{{subject.name}}", GW_ESC_JSON, name, GW_TEMPLATE_MAX_VALUE + 1,
           GW_TEMPLATE_TOO_LARGE, NULL);

  /* 1000 '&' escape to 5000 bytes; 14 copies pass the 64 KiB output cap */
  memset(name, '&', 1000);
  tmpl[0] = '\0';
  for(int i = 0; i < 14; i++)
    strcat(tmpl, "{{subject.name}}");
  expect_n(tmpl, GW_ESC_XML, name, 1000, GW_TEMPLATE_TOO_LARGE, NULL);
  tmpl[16 * 13] = '\0';
  {
    struct gw_template_values v = vals(name, 1000);
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(gw_template_expand(tmpl, GW_ESC_XML, &v, &out, &len, NULL, 0),
                     GW_TEMPLATE_OK);
    assert_int_equal(len, 13 * 5000);
    gw_free(out);
  }

  /* templates themselves are capped */
  big = gw_malloc(GW_TEMPLATE_MAX_TEMPLATE + 2);
  memset(big, 'x', GW_TEMPLATE_MAX_TEMPLATE + 1);
  big[GW_TEMPLATE_MAX_TEMPLATE + 1] = '\0';
  assert_int_equal(gw_template_check(big, NULL, 0), -1);
  expect(big, GW_ESC_XML, "x", GW_TEMPLATE_SYNTAX, NULL);
  big[GW_TEMPLATE_MAX_TEMPLATE] = '\0';
  assert_int_equal(gw_template_check(big, NULL, 0), 0);
  gw_free(big);
}

static void errors_never_quote_the_value(void **state)
{
  struct gw_template_values v = vals("张三\r\nsecret", strlen("张三\r\nsecret"));
  char err[256];
  char *out = NULL;
  (void)state;
  assert_int_equal(gw_template_expand("{{subject.name}}", GW_ESC_HEADER, &v, &out, NULL, err,
                                      sizeof(err)), GW_TEMPLATE_FORBIDDEN_CHAR);
  assert_string_equal(err, "value of {{subject.name}} holds U+000D, which this context "
                           "cannot carry");
  assert_null(strstr(err, "secret"));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(xml_body),
    cmocka_unit_test(xml_hostile_names),
    cmocka_unit_test(xml_placeholder_in_cdata_or_comment),
    cmocka_unit_test(json_body),
    cmocka_unit_test(url_encoding),
    cmocka_unit_test(header_values),
    cmocka_unit_test(nul_refused_everywhere),
    cmocka_unit_test(invalid_utf8_refused_everywhere),
    cmocka_unit_test(placeholder_syntax),
    cmocka_unit_test(missing_values),
    cmocka_unit_test(caps),
    cmocka_unit_test(errors_never_quote_the_value),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
