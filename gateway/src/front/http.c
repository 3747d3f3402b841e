/*
 * http.c - strict HTTP/1.1 request-head parsing (RFC 9112).
 *
 * The one idea: accept exactly the grammar and refuse the rest with the
 * status a client can act on.  Every length is checked against the buffer
 * end before it is used; nothing is copied.
 */
#include "http_int.h"

#include <string.h>
#include <strings.h>

static int is_tchar(unsigned char c)
{
  if((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
    return 1;
  return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Visible ASCII, obs-text, SP and HTAB are allowed in field values. */
static int is_value_char(unsigned char c)
{
  return c == '\t' || c == ' ' || (c > 0x20 && c != 0x7f);
}

static int ieq(const char *a, size_t alen, const char *b)
{
  size_t blen = strlen(b);
  return alen == blen && !strncasecmp(a, b, alen);
}

/* Does the comma-separated list `v` contain token `tok` (case-insensitive)? */
static int list_has(const char *v, size_t len, const char *tok)
{
  size_t i = 0;
  while(i < len) {
    size_t start, end;
    while(i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
      i++;
    start = i;
    while(i < len && v[i] != ',')
      i++;
    end = i;
    while(end > start && (v[end - 1] == ' ' || v[end - 1] == '\t'))
      end--;
    if(end > start && ieq(v + start, end - start, tok))
      return 1;
  }
  return 0;
}

static enum gw_http_parse parse_request_line(const char *p, const char *eol,
                                             struct gw_http_head *out)
{
  const char *sp1, *sp2;

  for(sp1 = p; sp1 < eol && *sp1 != ' '; sp1++)
    if(!is_tchar((unsigned char)*sp1))
      return GW_HTTP_PARSE_BAD_REQUEST;
  if(sp1 == p || sp1 == eol)
    return GW_HTTP_PARSE_BAD_REQUEST;
  for(sp2 = sp1 + 1; sp2 < eol && *sp2 != ' '; sp2++)
    if((unsigned char)*sp2 <= 0x20 || *sp2 == 0x7f)
      return GW_HTTP_PARSE_BAD_REQUEST;
  if(sp2 == sp1 + 1 || sp2 == eol)
    return GW_HTTP_PARSE_BAD_REQUEST;
  if((size_t)(sp2 - sp1 - 1) > GW_HTTP_MAX_TARGET)
    return GW_HTTP_PARSE_URI_TOO_LONG;
  out->method = p;
  out->method_len = (size_t)(sp1 - p);
  out->target = sp1 + 1;
  out->target_len = (size_t)(sp2 - sp1 - 1);
  if(out->target[0] != '/')
    return GW_HTTP_PARSE_BAD_REQUEST;   /* origin-form only */

  p = sp2 + 1;
  if(eol - p != 8 || memcmp(p, "HTTP/", 5) || p[6] != '.' ||
     p[5] < '0' || p[5] > '9' || p[7] < '0' || p[7] > '9')
    return GW_HTTP_PARSE_BAD_REQUEST;
  if(p[5] != '1')
    return GW_HTTP_PARSE_BAD_VERSION;
  out->minor_version = p[7] - '0';
  if(out->minor_version > 1)
    out->minor_version = 1;
  return GW_HTTP_PARSE_OK;
}

static enum gw_http_parse parse_content_length(const char *v, size_t len,
                                               struct gw_http_head *out)
{
  int64_t n = 0;
  if(!len || len > 15)
    return GW_HTTP_PARSE_BAD_REQUEST;
  for(size_t i = 0; i < len; i++) {
    if(v[i] < '0' || v[i] > '9')
      return GW_HTTP_PARSE_BAD_REQUEST;
    n = n * 10 + (v[i] - '0');
  }
  if(out->content_length >= 0 && out->content_length != n)
    return GW_HTTP_PARSE_BAD_REQUEST;
  out->content_length = n;
  return GW_HTTP_PARSE_OK;
}

enum gw_http_parse gw_http_parse_head(const char *buf, size_t len,
                                      struct gw_http_header *headers,
                                      int max_headers, struct gw_http_head *out)
{
  const char *p = buf, *end = buf + len, *eol;
  enum gw_http_parse r;
  int conn_close = 0, conn_keep = 0, saw_te = 0;

  memset(out, 0, sizeof(*out));
  out->headers = headers;
  out->content_length = -1;
  if(len < 4 || memcmp(end - 4, "\r\n\r\n", 4))
    return GW_HTTP_PARSE_BAD_REQUEST;

  eol = memchr(p, '\r', (size_t)(end - p));
  if(!eol || eol[1] != '\n')
    return GW_HTTP_PARSE_BAD_REQUEST;
  if(memchr(p, '\n', (size_t)(eol - p)))
    return GW_HTTP_PARSE_BAD_REQUEST;
  r = parse_request_line(p, eol, out);
  if(r != GW_HTTP_PARSE_OK)
    return r;
  p = eol + 2;

  while(p < end - 2) {
    const char *colon, *v, *vend;
    struct gw_http_header *h;

    eol = memchr(p, '\r', (size_t)(end - p));
    if(!eol || eol + 1 >= end || eol[1] != '\n' || memchr(p, '\n', (size_t)(eol - p)))
      return GW_HTTP_PARSE_BAD_REQUEST;
    if(*p == ' ' || *p == '\t')
      return GW_HTTP_PARSE_BAD_REQUEST;   /* obs-fold */
    for(colon = p; colon < eol && *colon != ':'; colon++)
      if(!is_tchar((unsigned char)*colon))
        return GW_HTTP_PARSE_BAD_REQUEST;
    if(colon == p || colon == eol)
      return GW_HTTP_PARSE_BAD_REQUEST;
    for(v = colon + 1; v < eol && (*v == ' ' || *v == '\t'); v++)
      ;
    for(vend = eol; vend > v && (vend[-1] == ' ' || vend[-1] == '\t'); vend--)
      ;
    for(const char *c = v; c < vend; c++)
      if(!is_value_char((unsigned char)*c))
        return GW_HTTP_PARSE_BAD_REQUEST;
    if(out->n_headers >= max_headers)
      return GW_HTTP_PARSE_TOO_MANY_HEADERS;
    h = &headers[out->n_headers++];
    h->name = p;
    h->name_len = (size_t)(colon - p);
    h->value = v;
    h->value_len = (size_t)(vend - v);

    if(ieq(h->name, h->name_len, "content-length")) {
      r = parse_content_length(h->value, h->value_len, out);
      if(r != GW_HTTP_PARSE_OK)
        return r;
    }
    else if(ieq(h->name, h->name_len, "transfer-encoding")) {
      if(saw_te || !ieq(h->value, h->value_len, "chunked"))
        return GW_HTTP_PARSE_NOT_IMPLEMENTED;
      saw_te = 1;
      out->chunked = 1;
    }
    else if(ieq(h->name, h->name_len, "connection")) {
      conn_close |= list_has(h->value, h->value_len, "close");
      conn_keep |= list_has(h->value, h->value_len, "keep-alive");
    }
    else if(ieq(h->name, h->name_len, "expect")) {
      if(!ieq(h->value, h->value_len, "100-continue"))
        return GW_HTTP_PARSE_BAD_REQUEST;
      out->expect_continue = 1;
    }
    p = eol + 2;
  }
  if(out->chunked && out->content_length >= 0)
    return GW_HTTP_PARSE_BAD_REQUEST;   /* RFC 9112 6.3: smuggling risk */
  if(out->minor_version == 1)
    out->keep_alive = !conn_close;
  else
    out->keep_alive = conn_keep && !conn_close;
  return GW_HTTP_PARSE_OK;
}

const char *gw_http_head_get(const struct gw_http_head *h, const char *name,
                             size_t *len)
{
  for(int i = 0; i < h->n_headers; i++) {
    if(ieq(h->headers[i].name, h->headers[i].name_len, name)) {
      if(len)
        *len = h->headers[i].value_len;
      return h->headers[i].value;
    }
  }
  return NULL;
}

int gw_http_parse_status(enum gw_http_parse r)
{
  switch(r) {
  case GW_HTTP_PARSE_OK:               return 200;
  case GW_HTTP_PARSE_BAD_REQUEST:      return 400;
  case GW_HTTP_PARSE_TOO_MANY_HEADERS: return 431;
  case GW_HTTP_PARSE_URI_TOO_LONG:     return 414;
  case GW_HTTP_PARSE_NOT_IMPLEMENTED:  return 501;
  case GW_HTTP_PARSE_BAD_VERSION:      return 505;
  }
  return 400;
}

const char *gw_http_reason(int status)
{
  switch(status) {
  case 100: return "Continue";
  case 200: return "OK";
  case 201: return "Created";
  case 204: return "No Content";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 408: return "Request Timeout";
  case 409: return "Conflict";
  case 411: return "Length Required";
  case 413: return "Content Too Large";
  case 414: return "URI Too Long";
  case 415: return "Unsupported Media Type";
  case 429: return "Too Many Requests";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 501: return "Not Implemented";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  case 505: return "HTTP Version Not Supported";
  }
  return "Unknown";
}
