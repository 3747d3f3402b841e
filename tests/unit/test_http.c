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


/* Decodes `in` fed `step` bytes at a time; the body into out (NUL-ended). */
static enum gw_http_chunked_result dechunk(const char *in, size_t step, size_t max_body,
                                           char *out, size_t *out_len, size_t *rest)
{
  struct gw_http_chunked st;
  char buf[512];
  size_t off = 0, total = 0, len = strlen(in);
  enum gw_http_chunked_result r = GW_HTTP_CHUNKED_MORE;

  memset(&st, 0, sizeof(st));
  assert_true(len < sizeof(buf));
  while(off < len && r == GW_HTTP_CHUNKED_MORE) {
    size_t n = len - off < step ? len - off : step, used, got;
    memcpy(buf, in + off, n);
    r = gw_http_chunked_decode(&st, buf, n, max_body, &used, &got);
    memcpy(out + total, buf, got);
    total += got;
    off += used;
    if(r == GW_HTTP_CHUNKED_MORE)
      assert_int_equal(used, n);
  }
  out[total] = '\0';
  *out_len = total;
  *rest = len - off;
  return r;
}

/* Java's and Go's clients send bodies chunked: every split of the input
 * decodes to the same body, with extensions and trailers skipped and the
 * next request's bytes left alone. */
static void chunked_bodies(void **state)
{
  static const char wire[] = "4\r\n{\"a\"\r\n"
                             "A;name=value\r\n:[1,2,3,4]\r\n"
                             "1\r\n}\r\n"
                             "0\r\nX-Trailer: t\r\n\r\nGET / HTTP/1.1\r\n";
  char out[512];
  size_t len, rest;
  (void)state;
  for(size_t step = 1; step <= sizeof(wire); step++) {
    assert_int_equal(dechunk(wire, step, 1024, out, &len, &rest), GW_HTTP_CHUNKED_DONE);
    assert_string_equal(out, "{\"a\":[1,2,3,4]}");
    assert_int_equal(rest, strlen("GET / HTTP/1.1\r\n"));
  }
  assert_int_equal(dechunk("0\r\n\r\n", 3, 1024, out, &len, &rest), GW_HTTP_CHUNKED_DONE);
  assert_int_equal(len, 0);
  /* incomplete: more wanted */
  assert_int_equal(dechunk("5\r\nab", 2, 1024, out, &len, &rest), GW_HTTP_CHUNKED_MORE);
  assert_string_equal(out, "ab");
}

/* The same body cap as Content-Length, checked before the data arrives;
 * malformed framing refused, never guessed. */
static void chunked_refused(void **state)
{
  char out[512];
  size_t len, rest;
  (void)state;
  assert_int_equal(dechunk("10\r\n", 64, 15, out, &len, &rest), GW_HTTP_CHUNKED_TOO_LARGE);
  assert_int_equal(dechunk("8\r\n12345678\r\n8\r\n", 64, 15, out, &len, &rest),
                   GW_HTTP_CHUNKED_TOO_LARGE);
  assert_int_equal(dechunk("8\r\n12345678\r\n7\r\n1234567\r\n0\r\n\r\n", 64, 15, out, &len,
                           &rest), GW_HTTP_CHUNKED_DONE);
  assert_int_equal(len, 15);
  assert_int_equal(dechunk("4\n", 64, 99, out, &len, &rest), GW_HTTP_CHUNKED_BAD);      /* bare LF */
  assert_int_equal(dechunk("\r\n", 64, 99, out, &len, &rest), GW_HTTP_CHUNKED_BAD);    /* no size */
  assert_int_equal(dechunk("-1\r\n", 64, 99, out, &len, &rest), GW_HTTP_CHUNKED_BAD);
  assert_int_equal(dechunk("2\r\nabX\n", 64, 99, out, &len, &rest), GW_HTTP_CHUNKED_BAD);
  assert_int_equal(dechunk("1234567890abcdef\r\n", 64, 99, out, &len, &rest),
                   GW_HTTP_CHUNKED_BAD);                                             /* 16 digits */
  assert_int_equal(dechunk("0\r\nX: y\n\r\n", 64, 99, out, &len, &rest), GW_HTTP_CHUNKED_BAD);
  {
    char ext[400] = "1;";
    memset(ext + 2, 'x', 300);
    strcpy(ext + 302, "\r\na\r\n0\r\n\r\n");
    assert_int_equal(dechunk(ext, 64, 99, out, &len, &rest), GW_HTTP_CHUNKED_BAD);  /* long ext */
  }
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
    cmocka_unit_test(chunked_bodies),
    cmocka_unit_test(chunked_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
