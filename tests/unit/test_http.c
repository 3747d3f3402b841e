/*
 * test_http.c - the strict HTTP/1.1 head parser: what it accepts, what it
 * refuses and with which status.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "http_int.h"

static struct gw_http_header hdrs[8];

static enum gw_http_parse parse(const char *s, struct gw_http_head *h)
{
  return gw_http_parse_head(s, strlen(s), hdrs, 8, h);
}

static void simple_get(void **state)
{
  struct gw_http_head h;
  size_t len;
  const char *v;
  (void)state;
  assert_int_equal(parse("GET /healthz?x=1 HTTP/1.1\r\nHost: a\r\nX-Thing:  v v \r\n\r\n", &h),
                   GW_HTTP_PARSE_OK);
  assert_int_equal(h.method_len, 3);
  assert_memory_equal(h.method, "GET", 3);
  assert_int_equal(h.target_len, 12);
  assert_memory_equal(h.target, "/healthz?x=1", 12);
  assert_int_equal(h.n_headers, 2);
  assert_int_equal(h.keep_alive, 1);
  assert_int_equal(h.content_length, -1);
  v = gw_http_head_get(&h, "x-THING", &len);
  assert_non_null(v);
  assert_int_equal(len, 3);
  assert_memory_equal(v, "v v", 3);
  assert_null(gw_http_head_get(&h, "missing", &len));
}

static void keep_alive_rules(void **state)
{
  struct gw_http_head h;
  (void)state;
  assert_int_equal(parse("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n", &h), GW_HTTP_PARSE_OK);
  assert_int_equal(h.keep_alive, 0);
  assert_int_equal(parse("GET / HTTP/1.0\r\n\r\n", &h), GW_HTTP_PARSE_OK);
  assert_int_equal(h.keep_alive, 0);
  assert_int_equal(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &h), GW_HTTP_PARSE_OK);
  assert_int_equal(h.keep_alive, 1);
}

static void content_length(void **state)
{
  struct gw_http_head h;
  (void)state;
  assert_int_equal(parse("POST /q HTTP/1.1\r\nContent-Length: 42\r\n\r\n", &h), GW_HTTP_PARSE_OK);
  assert_int_equal(h.content_length, 42);
  /* identical duplicates are tolerated, differing ones are not */
  assert_int_equal(parse("POST /q HTTP/1.1\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\n", &h),
                   GW_HTTP_PARSE_OK);
  assert_int_equal(parse("POST /q HTTP/1.1\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\n", &h),
                   GW_HTTP_PARSE_BAD_REQUEST);
  assert_int_equal(parse("POST /q HTTP/1.1\r\nContent-Length: -1\r\n\r\n", &h),
                   GW_HTTP_PARSE_BAD_REQUEST);
  assert_int_equal(parse("POST /q HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n", &h),
                   GW_HTTP_PARSE_BAD_REQUEST);
  assert_int_equal(parse("POST /q HTTP/1.1\r\nContent-Length: 9999999999999999\r\n\r\n", &h),
                   GW_HTTP_PARSE_BAD_REQUEST);
}

static void smuggling_refused(void **state)
{
  struct gw_http_head h;
  (void)state;
  assert_int_equal(parse("POST /q HTTP/1.1\r\nContent-Length: 4\r\n"
                         "Transfer-Encoding: chunked\r\n\r\n", &h), GW_HTTP_PARSE_BAD_REQUEST);
  assert_int_equal(parse("POST /q HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", &h),
                   GW_HTTP_PARSE_NOT_IMPLEMENTED);
  assert_int_equal(parse("POST /q HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", &h),
                   GW_HTTP_PARSE_OK);
  assert_int_equal(h.chunked, 1);
}

static void malformed_heads(void **state)
{
  struct gw_http_head h;
  (void)state;
  assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\n\r\n", &h), GW_HTTP_PARSE_BAD_REQUEST);
  assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\n b\r\n\r\n", &h), GW_HTTP_PARSE_BAD_REQUEST);
  assert_int_equal(parse("GET / HTTP/1.1\r\nHo st: a\r\n\r\n", &h), GW_HTTP_PARSE_BAD_REQUEST);
  assert_int_equal(parse("GET / HTTP/1.1\r\n: a\r\n\r\n", &h), GW_HTTP_PARSE_BAD_REQUEST);
  assert_int_equal(parse("GET / HTTP/1.1\r\nNoColon\r\n\r\n", &h), GW_HTTP_PARSE_BAD_REQUEST);
  assert_int_equal(parse("GET / HTTP/1.1\r\nA: b\x01" "c\r\n\r\n", &h), GW_HTTP_PARSE_BAD_REQUEST);
  assert_int_equal(parse("GET  / HTTP/1.1\r\n\r\n", &h), GW_HTTP_PARSE_BAD_REQUEST);
  assert_int_equal(parse("GET http://x/ HTTP/1.1\r\n\r\n", &h), GW_HTTP_PARSE_BAD_REQUEST);
  assert_int_equal(parse("G(T / HTTP/1.1\r\n\r\n", &h), GW_HTTP_PARSE_BAD_REQUEST);
  assert_int_equal(parse("GET / HTTP/2.0\r\n\r\n", &h), GW_HTTP_PARSE_BAD_VERSION);
  assert_int_equal(parse("GET / HTTX/1.1\r\n\r\n", &h), GW_HTTP_PARSE_BAD_REQUEST);
  assert_int_equal(parse("GET / HTTP/1.1\r\n", &h), GW_HTTP_PARSE_BAD_REQUEST);
  assert_int_equal(parse("GET / HTTP/1.1\r\nExpect: 200-ok\r\n\r\n", &h), GW_HTTP_PARSE_BAD_REQUEST);
}

static void header_count_capped(void **state)
{
  struct gw_http_head h;
  char buf[1024] = "GET / HTTP/1.1\r\n";
  (void)state;
  for(int i = 0; i < 9; i++)
    strcat(buf, "A: b\r\n");
  strcat(buf, "\r\n");
  assert_int_equal(parse(buf, &h), GW_HTTP_PARSE_TOO_MANY_HEADERS);
  assert_int_equal(gw_http_parse_status(GW_HTTP_PARSE_TOO_MANY_HEADERS), 431);
}

static void target_length_capped(void **state)
{
  static char buf[GW_HTTP_MAX_TARGET + 64];
  struct gw_http_head h;
  size_t n;
  (void)state;
  memcpy(buf, "GET /", 5);
  n = 5;
  while(n < GW_HTTP_MAX_TARGET + 8)
    buf[n++] = 'a';
  memcpy(buf + n, " HTTP/1.1\r\n\r\n", 14);
  assert_int_equal(parse(buf, &h), GW_HTTP_PARSE_URI_TOO_LONG);
  assert_int_equal(gw_http_parse_status(GW_HTTP_PARSE_URI_TOO_LONG), 414);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(simple_get),
    cmocka_unit_test(keep_alive_rules),
    cmocka_unit_test(content_length),
    cmocka_unit_test(smuggling_refused),
    cmocka_unit_test(malformed_heads),
    cmocka_unit_test(header_count_capped),
    cmocka_unit_test(target_length_capped),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
