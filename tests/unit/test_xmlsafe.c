/*
 * test_xmlsafe.c - hardened XML parsing: XXE and billion laughs refused
 * (and the file never read), depth / node / byte caps, malformed input,
 * declared encodings (a real GB18030 document made with iconv), errors that
 * never reach stderr, and per-thread error capture.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <iconv.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "gw/alloc.h"
#include "gw/xmlsafe.h"

static enum gw_xml_result parse(const char *s, const struct gw_xml_limits *lim, xmlDoc **doc,
                                char *err, size_t errlen)
{
  return gw_xml_parse(s, strlen(s), lim, doc, err, errlen);
}

static void expect_refused(const char *s, const struct gw_xml_limits *lim,
                           enum gw_xml_result want)
{
  char err[256] = "";
  xmlDoc *doc = (xmlDoc *)&err;   /* must be reset to NULL */
  enum gw_xml_result r = parse(s, lim, &doc, err, sizeof(err));
  if(r != want)
    fail_msg("got %s (%s), want %s for: %.80s", gw_xml_strerror(r), err, gw_xml_strerror(want),
             s);
  assert_null(doc);
  assert_true(err[0] != '\0');
}

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void well_formed(void **state)
{
  const char *s = "<?xml version=\"1.0\"?>\n<r xmlns=\"urn:x\" a=\"1\"><!-- c --><?pi x?>"
                  "<b>t&amp;x&#x5F20;</b><![CDATA[<raw>]]></r>";
  char err[128];
  xmlDoc *doc = NULL;
  xmlChar *text;
  (void)state;
  assert_int_equal(parse(s, NULL, &doc, err, sizeof(err)), GW_XML_OK);
  assert_non_null(doc);
  assert_string_equal((const char *)xmlDocGetRootElement(doc)->name, "r");
  text = xmlNodeGetContent(xmlDocGetRootElement(doc));
  assert_string_equal((const char *)text, "t&x张<raw>");
  xmlFree(text);
  xmlFreeDoc(doc);
}

static void xxe_refused(void **state)
{
  const char *xxe =
    "<?xml version=\"1.0\"?>\n"
    "<!DOCTYPE r [\n"
    "  <!ENTITY xxe SYSTEM \"file:///etc/passwd\">\n"
    "]>\n"
    "<r>&xxe;</r>\n";
  const char *xxe_param =
    "<?xml version=\"1.0\"?>\n"
    "<!DOCTYPE r [\n"
    "  <!ENTITY % p SYSTEM \"file:///etc/passwd\">\n"
    "  %p;\n"
    "]>\n"
    "<r/>\n";
  const char *external_dtd =
    "<?xml version=\"1.0\"?>\n"
    "<!DOCTYPE r SYSTEM \"http://127.0.0.1:9/evil.dtd\">\n"
    "<r/>\n";
  const char *bare_doctype = "<!DOCTYPE r><r/>";
  char err[256];
  xmlDoc *doc = NULL;
  (void)state;

  assert_int_equal(parse(xxe, NULL, &doc, err, sizeof(err)), GW_XML_DOCTYPE_FORBIDDEN);
  assert_null(doc);
  assert_string_equal(err, "document has a DOCTYPE (line 2); DTDs are refused");
  assert_null(strstr(err, "root:"));
  expect_refused(xxe_param, NULL, GW_XML_DOCTYPE_FORBIDDEN);
  expect_refused(external_dtd, NULL, GW_XML_DOCTYPE_FORBIDDEN);
  expect_refused(bare_doctype, NULL, GW_XML_DOCTYPE_FORBIDDEN);
  /* an entity reference with no DTD at all is not well-formed */
  expect_refused("<r>&xxe;</r>", NULL, GW_XML_MALFORMED);
}

/* The entity points at a file holding a marker; the marker must come out
 * nowhere (strace of this test also shows the file is never opened). */
static void xxe_file_never_read(void **state)
{
  char path[] = "/tmp/gw-xxe-XXXXXX";
  char doc_text[512], err[512];
  int fd = mkstemp(path);
  xmlDoc *doc = NULL;
  (void)state;

  assert_true(fd >= 0);
  assert_int_equal(write(fd, "XXE-MARKER-7f3a\n", 16), 16);
  close(fd);
  snprintf(doc_text, sizeof(doc_text),
           "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM \"file://%s\">]>"
           "<r><v>&x;</v></r>", path);
  assert_int_equal(parse(doc_text, NULL, &doc, err, sizeof(err)), GW_XML_DOCTYPE_FORBIDDEN);
  assert_null(doc);
  assert_null(strstr(err, "XXE-MARKER"));
  unlink(path);
}

static void billion_laughs_refused_fast(void **state)
{
  const char *lol =
    "<?xml version=\"1.0\"?>\n"
    "<!DOCTYPE lolz [\n"
    " <!ENTITY lol \"lol\">\n"
    " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
    " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
    " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
    " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
    " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
    " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
    " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
    " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
    " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
    "]>\n"
    "<lolz>&lol9;</lolz>\n";
  double t0 = now_s();
  (void)state;
  for(int i = 0; i < 100; i++)
    expect_refused(lol, NULL, GW_XML_DOCTYPE_FORBIDDEN);
  /* 100 refusals well under a second even under sanitizers */
  assert_true(now_s() - t0 < 1.0);
}

static char *nested(int depth)
{
  char *s = gw_malloc((size_t)depth * 7 + 1), *p = s;
  for(int i = 0; i < depth; i++) {
    memcpy(p, "<a>", 3);
    p += 3;
  }
  for(int i = 0; i < depth; i++) {
    memcpy(p, "</a>", 4);
    p += 4;
  }
  *p = '\0';
  return s;
}

static void depth_capped(void **state)
{
  struct gw_xml_limits lim = { 0, 10, 0 };
  char err[128];
  xmlDoc *doc = NULL;
  char *s;
  double t0;
  (void)state;

  s = nested(GW_XML_MAX_DEPTH);
  assert_int_equal(parse(s, NULL, &doc, err, sizeof(err)), GW_XML_OK);
  xmlFreeDoc(doc);
  gw_free(s);

  s = nested(GW_XML_MAX_DEPTH + 1);
  assert_int_equal(parse(s, NULL, &doc, err, sizeof(err)), GW_XML_TOO_DEEP);
  assert_string_equal(err, "elements nested deeper than 64");
  gw_free(s);

  s = nested(11);
  expect_refused(s, &lim, GW_XML_TOO_DEEP);
  gw_free(s);
  s = nested(10);
  assert_int_equal(parse(s, &lim, &doc, err, sizeof(err)), GW_XML_OK);
  xmlFreeDoc(doc);
  gw_free(s);

  /* a limit above the ceiling is lowered to it */
  lim.max_depth = 100000;
  s = nested(100000);
  t0 = now_s();
  expect_refused(s, &lim, GW_XML_TOO_DEEP);
  assert_true(now_s() - t0 < 1.0);
  gw_free(s);
}

static void nodes_capped(void **state)
{
  struct gw_xml_limits lim = { 0, 0, 50 };
  char buf[4096];
  size_t o = 0;
  xmlDoc *doc = NULL;
  char err[128];
  (void)state;

  o += (size_t)snprintf(buf + o, sizeof(buf) - o, "<r>");
  for(int i = 0; i < 49; i++)
    o += (size_t)snprintf(buf + o, sizeof(buf) - o, "<i/>");
  snprintf(buf + o, sizeof(buf) - o, "</r>");
  assert_int_equal(parse(buf, &lim, &doc, err, sizeof(err)), GW_XML_OK);   /* 50 elements */
  xmlFreeDoc(doc);
  /* one more element, or attributes, or comments, cross the cap */
  expect_refused("<r><i/><i/><i/><i/><i/><i/><i/><i/><i/><i/><i/><i/><i/><i/><i/><i/><i/>"
                 "<i/><i/><i/><i/><i/><i/><i/><i/><i/><i/><i/><i/><i/><i/><i/><i/><i/><i/>"
                 "<i/><i/><i/><i/><i/><i/><i/><i/><i/><i/><i/><i/><i/><i/><i/><i/></r>",
                 &lim, GW_XML_TOO_MANY_NODES);
  lim.max_nodes = 5;
  expect_refused("<r a='1' b='2' c='3' d='4' e='5'/>", &lim, GW_XML_TOO_MANY_NODES);
  expect_refused("<r><!--1--><!--2--><!--3--><!--4--><!--5--></r>", &lim,
                 GW_XML_TOO_MANY_NODES);
  assert_int_equal(parse("<r a='1' b='2' c='3' d='4'/>", &lim, &doc, err, sizeof(err)),
                   GW_XML_OK);
  xmlFreeDoc(doc);
}

static void size_capped(void **state)
{
  struct gw_xml_limits lim = { 16, 0, 0 };
  char err[128];
  xmlDoc *doc = NULL;
  char *big;
  (void)state;
  assert_int_equal(parse("<r>0123456789</r>", &lim, &doc, err, sizeof(err)), GW_XML_TOO_LARGE);
  assert_string_equal(err, "document of 17 bytes exceeds the cap of 16");
  assert_int_equal(parse("<r>012345678</r>", &lim, &doc, err, sizeof(err)), GW_XML_OK);
  xmlFreeDoc(doc);

  /* the ceiling holds whatever the caller asks for */
  lim.max_bytes = (size_t)1 << 40;
  big = gw_malloc(GW_XML_MAX_BYTES + 1);
  memset(big, ' ', GW_XML_MAX_BYTES + 1);
  memcpy(big, "<r/>", 4);
  assert_int_equal(gw_xml_parse(big, GW_XML_MAX_BYTES + 1, &lim, &doc, err, sizeof(err)),
                   GW_XML_TOO_LARGE);
  assert_null(doc);
  gw_free(big);
}

static void malformed_refused(void **state)
{
  char err[256];
  xmlDoc *doc = NULL;
  (void)state;
  assert_int_equal(parse("<a>\n<b></a>", NULL, &doc, err, sizeof(err)), GW_XML_MALFORMED);
  assert_string_equal(err, "line 2: Opening and ending tag mismatch: b line 2 and a");
  expect_refused("<a>", NULL, GW_XML_MALFORMED);
  expect_refused("{\"json\": true}", NULL, GW_XML_MALFORMED);
  expect_refused("<a></a><b></b>", NULL, GW_XML_MALFORMED);
  expect_refused("<a x='1' x='2'/>", NULL, GW_XML_MALFORMED);
  expect_refused("<p:a/>", NULL, GW_XML_MALFORMED);  /* namespace errors are errors */
  assert_int_equal(gw_xml_parse("", 0, NULL, &doc, err, sizeof(err)), GW_XML_MALFORMED);
  assert_int_equal(gw_xml_parse(NULL, 0, NULL, &doc, err, sizeof(err)), GW_XML_MALFORMED);
}

/* Converts UTF-8 text to `charset` with iconv; caller frees. */
static char *iconv_to(const char *charset, const char *utf8, size_t *out_len)
{
  iconv_t cd = iconv_open(charset, "UTF-8");
  size_t in_left = strlen(utf8), cap = in_left * 2 + 16, out_left = cap;
  char *out = gw_malloc(cap), *in = (char *)utf8, *o = out;

  assert_true(cd != (iconv_t)-1);
  assert_true(iconv(cd, &in, &in_left, &o, &out_left) != (size_t)-1);
  assert_int_equal(in_left, 0);
  iconv_close(cd);
  *out_len = cap - out_left;
  return out;
}

static void gb18030_decoded(void **state)
{
  /* 张三, 深圳大学, and U+20000 (a 4-byte sequence in GB18030) */
  const char *utf8 =
    "<?xml version=\"1.0\" encoding=\"GB18030\"?>\n"
    "<cert><name>张三</name><org>深圳大学</org><rare>\xF0\xA0\x80\x80</rare></cert>\n";
  size_t len;
  char *gb = iconv_to("GB18030", utf8, &len);
  char err[256];
  xmlDoc *doc = NULL;
  xmlNode *root;
  xmlChar *name, *org, *rare;
  (void)state;

  /* the bytes really are GB18030: 张 is D5 C5, not UTF-8's E5 BC A0 */
  assert_non_null(memmem(gb, len, "\xD5\xC5\xC8\xFD", 4));
  assert_null(memmem(gb, len, "\xE5\xBC\xA0", 3));

  assert_int_equal(gw_xml_parse(gb, len, NULL, &doc, err, sizeof(err)), GW_XML_OK);
  root = xmlDocGetRootElement(doc);
  name = xmlNodeGetContent(root->children);
  org = xmlNodeGetContent(root->children->next);
  rare = xmlNodeGetContent(root->children->next->next);
  assert_string_equal((const char *)name, "张三");
  assert_string_equal((const char *)org, "深圳大学");
  assert_string_equal((const char *)rare, "\xF0\xA0\x80\x80");
  xmlFree(name);
  xmlFree(org);
  xmlFree(rare);
  xmlFreeDoc(doc);
  gw_free(gb);
}

static void encoding_errors(void **state)
{
  char err[256];
  xmlDoc *doc = NULL;
  (void)state;
  assert_int_equal(parse("<?xml version=\"1.0\" encoding=\"X-NO-SUCH-CHARSET\"?><r/>", NULL,
                         &doc, err, sizeof(err)), GW_XML_ENCODING);
  assert_null(doc);
  assert_string_equal(err, "line 1: Unsupported encoding X-NO-SUCH-CHARSET");
  /* invalid UTF-8 in an (implicitly) UTF-8 document; the detail is one line */
  assert_int_equal(parse("<r>\xC3\x28</r>", NULL, &doc, err, sizeof(err)), GW_XML_ENCODING);
  assert_string_equal(err, "line 1: Input is not proper UTF-8, indicate encoding ! "
                           "Bytes: 0xC3 0x28 0x3C 0x2F");
  expect_refused("<?xml version=\"1.0\" encoding=\"UTF-8\"?><r>\xED\xA0\x80</r>", NULL,
                 GW_XML_ENCODING);
  /* a byte sequence GB18030 does not define */
  assert_int_equal(parse("<?xml version=\"1.0\" encoding=\"GB18030\"?><r>\x81\x20</r>", NULL,
                         &doc, err, sizeof(err)), GW_XML_ENCODING);
  assert_string_equal(err, "input conversion failed due to input error, "
                           "bytes 0x81 0x20 0x3C 0x2F");
}

/* Runs fn with stderr redirected to a file and returns what was written. */
static size_t stderr_bytes_during(void (*fn)(void))
{
  FILE *tmp = tmpfile();
  int saved = dup(STDERR_FILENO);
  long n;

  assert_non_null(tmp);
  assert_true(saved >= 0);
  fflush(stderr);
  assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
  fn();
  fflush(stderr);
  assert_true(dup2(saved, STDERR_FILENO) >= 0);
  close(saved);
  fseek(tmp, 0, SEEK_END);
  n = ftell(tmp);
  fclose(tmp);
  return n > 0 ? (size_t)n : 0;
}

static void parse_bad_things(void)
{
  static const char *const bad[] = {
    "<a><b></a>",
    "<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><r>&x;</r>",
    "<?xml version=\"1.0\" encoding=\"X-NO-SUCH-CHARSET\"?><r/>",
    "<?xml version=\"1.0\" encoding=\"GB18030\"?><r>\x81\x20</r>",
    "<r>\xC3\x28</r>",
    "<r>&undefined;</r>",
    "<p:r/>",
  };
  for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    xmlDoc *doc = NULL;
    char err[64];
    if(gw_xml_parse(bad[i], strlen(bad[i]), NULL, &doc, err, sizeof(err)) == GW_XML_OK)
      xmlFreeDoc(doc);
  }
}

static void nothing_on_stderr(void **state)
{
  (void)state;
  assert_int_equal(stderr_bytes_during(parse_bad_things), 0);
}

struct thread_arg {
  int id;
  int failures;
};

/* Each thread's malformed document names its own tag; each must read back
 * its own message, never another thread's. */
static void *parse_loop(void *p)
{
  struct thread_arg *arg = p;
  char doc_text[64], want[64], err[256];

  snprintf(doc_text, sizeof(doc_text), "<t%d>\n<u></t%d>", arg->id, arg->id);
  snprintf(want, sizeof(want), "tag mismatch: u line 2 and t%d", arg->id);
  for(int i = 0; i < 300; i++) {
    xmlDoc *doc = NULL;
    if(gw_xml_parse(doc_text, strlen(doc_text), NULL, &doc, err, sizeof(err)) !=
       GW_XML_MALFORMED || !strstr(err, want))
      arg->failures++;
    if(i % 3 == 0) {
      const char *ok = "<r><a>1</a></r>";
      if(gw_xml_parse(ok, strlen(ok), NULL, &doc, err, sizeof(err)) != GW_XML_OK)
        arg->failures++;
      else
        xmlFreeDoc(doc);
    }
  }
  return NULL;
}

static void errors_per_thread(void **state)
{
  pthread_t th[4];
  struct thread_arg args[4];
  (void)state;
  gw_xml_init();
  /* the error handlers are per thread only in a threaded libxml2 */
  assert_true(xmlHasFeature(XML_WITH_THREAD));
  for(int i = 0; i < 4; i++) {
    args[i].id = i;
    args[i].failures = 0;
    assert_int_equal(pthread_create(&th[i], NULL, parse_loop, &args[i]), 0);
  }
  for(int i = 0; i < 4; i++) {
    assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_int_equal(args[i].failures, 0);
  }
}

static int counted;

static void count_error(void *data, xmlErrorPtr e)
{
  (void)data;
  (void)e;
  counted++;
}

/* The caller's own thread-local handler is restored after a parse. */
static void handlers_restored(void **state)
{
  struct gw_xml_errors outer;
  xmlDoc *doc = NULL;
  char err[64];
  (void)state;
  gw_xml_errors_redirect(&outer, count_error, NULL);
  assert_int_equal(parse("<a><b></a>", NULL, &doc, err, sizeof(err)), GW_XML_MALFORMED);
  assert_int_equal(counted, 0);           /* ours took the parse's errors */
  assert_true(xmlStructuredError == count_error);
  gw_xml_errors_restore(&outer);
  assert_true(xmlStructuredError == outer.structured);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(well_formed),
    cmocka_unit_test(xxe_refused),
    cmocka_unit_test(xxe_file_never_read),
    cmocka_unit_test(billion_laughs_refused_fast),
    cmocka_unit_test(depth_capped),
    cmocka_unit_test(nodes_capped),
    cmocka_unit_test(size_capped),
    cmocka_unit_test(malformed_refused),
    cmocka_unit_test(gb18030_decoded),
    cmocka_unit_test(encoding_errors),
    cmocka_unit_test(nothing_on_stderr),
    cmocka_unit_test(errors_per_thread),
    cmocka_unit_test(handlers_restored),
  };
  gw_xml_init();
  return cmocka_run_group_tests(tests, NULL, NULL);
}
