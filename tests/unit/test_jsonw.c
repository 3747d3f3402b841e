/*
 * test_jsonw.c - the JSON writer: exact compact text for nested documents,
 * every escape RFC 8259 requires, raw values spliced in, refusal of invalid
 * UTF-8 and of unbalanced or doubled documents, and a round trip through
 * jansson's parser for every single byte and a sample of code points.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "gw/alloc.h"
#include "jsonw.h"
#include "utf8.h"

static void assert_text(struct gw_jw *w, const char *want)
{
  size_t len = 0;
  char *got = gw_jw_finish(w, &len);
  assert_non_null(got);
  assert_string_equal(got, want);
  assert_int_equal(len, strlen(want));
  gw_free(got);
}

static void nested_document(void **state)
{
  struct gw_jw w;
  (void)state;
  gw_jw_init(&w, 1);           /* forces growth */
  gw_jw_open(&w);
  gw_jw_kstr(&w, "kind", "query");
  gw_jw_kint(&w, "time", -1795866267123LL);
  gw_jw_kbool(&w, "complete", 1);
  gw_jw_key(&w, "none");
  gw_jw_null(&w);
  gw_jw_key(&w, "facts");
  gw_jw_open(&w);
  gw_jw_key(&w, "a");
  gw_jw_open(&w);
  gw_jw_close(&w);
  gw_jw_key(&w, "b");
  gw_jw_open_array(&w);
  gw_jw_int(&w, 1);
  gw_jw_bool(&w, 0);
  gw_jw_raw(&w, "{\"x\":[1,2]}", 11);
  gw_jw_open_array(&w);
  gw_jw_close_array(&w);
  gw_jw_close_array(&w);
  gw_jw_close(&w);
  gw_jw_close(&w);
  assert_text(&w, "{\"kind\":\"query\",\"time\":-1795866267123,\"complete\":true,\"none\":null,"
                  "\"facts\":{\"a\":{},\"b\":[1,false,{\"x\":[1,2]},[]]}}");
}

static void escapes(void **state)
{
  struct gw_jw w;
  (void)state;
  gw_jw_init(&w, 16);
  gw_jw_open_array(&w);
  gw_jw_str(&w, "q\"b\\s/\b\f\n\r\t\x01\x1f\x7f");
  gw_jw_strn(&w, "nul\0in", 6);
  gw_jw_str(&w, "武汉大学");
  gw_jw_close_array(&w);
  assert_text(&w, "[\"q\\\"b\\\\s/\\b\\f\\n\\r\\t\\u0001\\u001f\x7f\",\"nul\\u0000in\","
                  "\"武汉大学\"]");
  /* plain text (base64 and the like) goes in as it is, quoted */
  gw_jw_init(&w, 4);
  gw_jw_open_array(&w);
  gw_jw_plain(&w, "MIIBq+/=", 8);
  gw_jw_plain(&w, "", 0);
  gw_jw_close_array(&w);
  assert_text(&w, "[\"MIIBq+/=\",\"\"]");
  /* keys are escaped as values are */
  gw_jw_init(&w, 16);
  gw_jw_open(&w);
  gw_jw_kstr(&w, "a\"b", "");
  gw_jw_close(&w);
  assert_text(&w, "{\"a\\\"b\":\"\"}");
}

static void refusals(void **state)
{
  static const char *const bad_utf8[] = {
    "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\x80", "\xe6\xad", "\xff",
  };
  struct gw_jw w;
  size_t len = 7;
  (void)state;

  for(size_t i = 0; i < sizeof(bad_utf8) / sizeof(bad_utf8[0]); i++) {
    gw_jw_init(&w, 8);
    gw_jw_open(&w);
    gw_jw_kstr(&w, "k", bad_utf8[i]);
    gw_jw_close(&w);
    assert_null(gw_jw_peek(&w, &len));
    assert_null(gw_jw_finish(&w, &len));
  }
  /* a key with invalid UTF-8 */
  gw_jw_init(&w, 8);
  gw_jw_open(&w);
  gw_jw_kstr(&w, "\xff", "v");
  gw_jw_close(&w);
  assert_null(gw_jw_finish(&w, NULL));
  /* still open */
  gw_jw_init(&w, 8);
  gw_jw_open(&w);
  assert_null(gw_jw_finish(&w, NULL));
  /* a key without its value */
  gw_jw_init(&w, 8);
  gw_jw_open(&w);
  gw_jw_key(&w, "k");
  gw_jw_close(&w);
  assert_null(gw_jw_finish(&w, NULL));
  /* closing what was never opened */
  gw_jw_init(&w, 8);
  gw_jw_close(&w);
  assert_null(gw_jw_finish(&w, NULL));
  /* two top-level values */
  gw_jw_init(&w, 8);
  gw_jw_int(&w, 1);
  gw_jw_int(&w, 2);
  assert_null(gw_jw_finish(&w, NULL));
  /* a key outside any object */
  gw_jw_init(&w, 8);
  gw_jw_key(&w, "k");
  assert_null(gw_jw_finish(&w, NULL));
  /* nothing at all */
  gw_jw_init(&w, 8);
  assert_null(gw_jw_finish(&w, NULL));
  /* too deep */
  gw_jw_init(&w, 8);
  for(int i = 0; i < GW_JW_MAX_DEPTH; i++)
    gw_jw_open_array(&w);
  for(int i = 0; i < GW_JW_MAX_DEPTH; i++)
    gw_jw_close_array(&w);
  assert_null(gw_jw_finish(&w, NULL));
  /* freeing an unfinished writer is allowed */
  gw_jw_init(&w, 8);
  gw_jw_open(&w);
  gw_jw_free(&w);
}

/* Whatever the writer accepts, jansson reads back as the same string; what
 * it refuses, jansson refuses too. */
static void round_trip(void **state)
{
  (void)state;
  for(unsigned b = 1; b < 256; b++) {
    char s[4] = { 'a', (char)b, 'z', 0 };
    struct gw_jw w;
    char *text;
    json_t *back;
    gw_jw_init(&w, 8);
    gw_jw_open_array(&w);
    gw_jw_str(&w, s);
    gw_jw_close_array(&w);
    text = gw_jw_finish(&w, NULL);
    back = text ? json_loads(text, 0, NULL) : NULL;
    if(b < 0x80) {
      assert_non_null(text);
      assert_non_null(back);
      assert_string_equal(json_string_value(json_array_get(back, 0)), s);
    }
    else {
      assert_null(text);       /* a lone byte >= 0x80 is never valid UTF-8 */
      assert_null(json_string(s));
    }
    json_decref(back);
    gw_free(text);
  }
  for(uint32_t cp = 0x80; cp <= 0x10FFFF; cp += 0x3F1) {
    unsigned char u[5] = { 0 };
    size_t n;
    struct gw_jw w;
    char *text;
    json_t *back;
    uint32_t dec = 0;
    if(cp >= 0xD800 && cp <= 0xDFFF)
      continue;
    if(cp < 0x800) {
      u[0] = (unsigned char)(0xC0 | cp >> 6); u[1] = (unsigned char)(0x80 | (cp & 0x3F)); n = 2;
    }
    else if(cp < 0x10000) {
      u[0] = (unsigned char)(0xE0 | cp >> 12); u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
      u[2] = (unsigned char)(0x80 | (cp & 0x3F)); n = 3;
    }
    else {
      u[0] = (unsigned char)(0xF0 | cp >> 18); u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
      u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F)); u[3] = (unsigned char)(0x80 | (cp & 0x3F));
      n = 4;
    }
    assert_int_equal(gw_utf8_next(u, n, &dec), n);
    assert_int_equal(dec, cp);
    gw_jw_init(&w, 8);
    gw_jw_open_array(&w);
    gw_jw_strn(&w, (const char *)u, n);
    gw_jw_close_array(&w);
    text = gw_jw_finish(&w, NULL);
    assert_non_null(text);
    back = json_loads(text, 0, NULL);
    assert_non_null(back);
    assert_memory_equal(json_string_value(json_array_get(back, 0)), u, n);
    json_decref(back);
    gw_free(text);
  }
}

/* Integers at the edges, against printf. */
static void integers(void **state)
{
  static const int64_t v[] = { 0, 1, -1, 9, 10, -10, 1234567890123LL, INT64_MAX, INT64_MIN,
                               INT64_MIN + 1 };
  (void)state;
  for(size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
    struct gw_jw w;
    char want[32];
    snprintf(want, sizeof(want), "[%lld]", (long long)v[i]);
    gw_jw_init(&w, 8);
    gw_jw_open_array(&w);
    gw_jw_int(&w, v[i]);
    gw_jw_close_array(&w);
    assert_text(&w, want);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(nested_document),
    cmocka_unit_test(escapes),
    cmocka_unit_test(refusals),
    cmocka_unit_test(round_trip),
    cmocka_unit_test(integers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
