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

/* A chunked request body (RFC 9112 7.1), decoded as it arrives.  Strict
 * like the head parser: CRLF only, hex sizes of at most
 * GW_HTTP_CHUNK_SIZE_DIGITS digits, chunk extensions skipped but capped
 * (GW_HTTP_CHUNK_LINE_MAX bytes a size line), trailer fields skipped but
 * capped (GW_HTTP_CHUNK_TRAILER_MAX bytes in all), and the decoded body
 * capped by the caller's max_body, the same cap a Content-Length body has. */
#define GW_HTTP_CHUNK_SIZE_DIGITS 15
#define GW_HTTP_CHUNK_LINE_MAX 256
#define GW_HTTP_CHUNK_TRAILER_MAX 4096

enum gw_http_chunked_state {
  GW_CHUNK_SIZE = 0,           /* reading hex digits (none yet when line == 0) */
  GW_CHUNK_EXT,                /* after ';': skipping an extension to CR */
  GW_CHUNK_SIZE_LF,            /* CR seen at the end of the size line */
  GW_CHUNK_DATA,               /* `left` data bytes to go */
  GW_CHUNK_DATA_CR,            /* the CRLF after a chunk's data */
  GW_CHUNK_DATA_LF,
  GW_CHUNK_TRAILER,            /* at the start of a trailer line (or the end) */
  GW_CHUNK_TRAILER_LINE,       /* inside a trailer field line */
  GW_CHUNK_TRAILER_LF,         /* CR seen at the end of a trailer line */
  GW_CHUNK_END_LF,             /* CR of the final empty line seen */
  GW_CHUNK_DONE
};

struct gw_http_chunked {
  enum gw_http_chunked_state state;
  uint64_t left;               /* size being read, then data bytes to go */
  size_t line;                 /* bytes of the current size or trailer line */
  size_t trailer;              /* trailer bytes so far */
  size_t body;                 /* decoded body bytes so far */
};

enum gw_http_chunked_result {
  GW_HTTP_CHUNKED_MORE,        /* all input used; the body goes on */
  GW_HTTP_CHUNKED_DONE,        /* the last chunk and trailer ended; *used says where */
  GW_HTTP_CHUNKED_BAD,         /* not chunked framing: answer 400 */
  GW_HTTP_CHUNKED_TOO_LARGE    /* the body would exceed max_body: answer 413 */
};

/* Decodes buf[0..len) in place: the body bytes found are moved to the
 * front of buf, *out_len of them; *used bytes of input were consumed (all
 * of len unless DONE, where the bytes after the body's end belong to the
 * next request).  `st` starts zeroed and carries state between calls. */
enum gw_http_chunked_result gw_http_chunked_decode(struct gw_http_chunked *st, char *buf,
                                                   size_t len, size_t max_body,
                                                   size_t *used, size_t *out_len)
  __attribute__((warn_unused_result));

/* The HTTP status a parse result is answered with. */
int gw_http_parse_status(enum gw_http_parse r);

/* The reason phrase of a status code ("OK", "Not Found", ...). */
const char *gw_http_reason(int status);

#endif
