/*
 * http_int.h - HTTP/1.1 request-head parser (internal to the front).
 *
 * Pure function over a complete request head (request line, header lines,
 * the empty line): no allocation, no I/O, so it can be unit-tested and
 * fuzzed on its own.  It is strict on purpose: CRLF line endings only, no
 * obsolete line folding, no control characters in values, Content-Length
 * digits only and never together with Transfer-Encoding (request smuggling),
 * so anything ambiguous is refused instead of guessed.
 */
#ifndef GW_HTTP_INT_H
#define GW_HTTP_INT_H

#include <stddef.h>
#include <stdint.h>

struct gw_http_header {
  const char *name;            /* points into the parsed buffer */
  size_t name_len;
  const char *value;           /* surrounding whitespace trimmed */
  size_t value_len;
};

struct gw_http_head {
  const char *method;
  size_t method_len;
  const char *target;          /* request-target as sent (origin-form) */
  size_t target_len;
  int minor_version;           /* HTTP/1.<minor>: 0 or 1 */
  struct gw_http_header *headers;  /* caller's array */
  int n_headers;
  int64_t content_length;      /* -1 when absent */
  int chunked;                 /* Transfer-Encoding: chunked */
  int keep_alive;              /* after Connection and version rules */
  int expect_continue;         /* Expect: 100-continue */
};

enum gw_http_parse {
  GW_HTTP_PARSE_OK = 0,
  GW_HTTP_PARSE_BAD_REQUEST,       /* 400: malformed line, header, length */
  GW_HTTP_PARSE_TOO_MANY_HEADERS,  /* 431 */
  GW_HTTP_PARSE_URI_TOO_LONG,      /* 414 */
  GW_HTTP_PARSE_NOT_IMPLEMENTED,   /* 501: a transfer coding we do not do */
  GW_HTTP_PARSE_BAD_VERSION        /* 505 */
};

#define GW_HTTP_MAX_TARGET 4096

/* Parses buf[0..len), which must end with "\r\n\r\n".  `headers` has room
 * for `max_headers` entries; out points into buf, so buf must outlive it. */
enum gw_http_parse gw_http_parse_head(const char *buf, size_t len,
                                      struct gw_http_header *headers,
                                      int max_headers, struct gw_http_head *out)
  __attribute__((warn_unused_result));

/* The value of the first header named `name` (case-insensitive), its length
 * in *len; NULL when absent. */
const char *gw_http_head_get(const struct gw_http_head *h, const char *name,
                             size_t *len);

/* The HTTP status a parse result is answered with. */
int gw_http_parse_status(enum gw_http_parse r);

/* The reason phrase of a status code ("OK", "Not Found", ...). */
const char *gw_http_reason(int status);

#endif
