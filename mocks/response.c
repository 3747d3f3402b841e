/*
 * response.c - the small toolbox agency handlers build responses with.
 *
 * An agency handler never touches the connection: it fills a struct
 * mock_response (status, content type, extra header lines, a malloc'd body)
 * and the server core writes it, or mangles it when a transport fault says
 * so.  Everything here is pure and thread-safe; the one allocation policy is
 * that a failed malloc makes the function return -1 and leaves *resp with no
 * body, so the core answers 500.
 */
#include "mock.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static void set_content_type(struct mock_response *resp, const char *content_type)
{
  if(!content_type)
    content_type = "application/octet-stream";
  snprintf(resp->content_type, sizeof(resp->content_type), "%s", content_type);
}

int mock_response_set(struct mock_response *resp, int status,
                      const char *content_type, const char *body, size_t len)
{
  char *copy = malloc(len ? len : 1);

  free(resp->body);
  resp->body = NULL;
  resp->body_len = 0;
  resp->status = status;
  set_content_type(resp, content_type);
  if(!copy)
    return -1;
  if(len)
    memcpy(copy, body, len);
  resp->body = copy;
  resp->body_len = len;
  return 0;
}

int mock_response_add_header(struct mock_response *resp, const char *name,
                             const char *value)
{
  size_t used = strlen(resp->headers);
  int n;

  if(strpbrk(name, "\r\n:") || strpbrk(value, "\r\n"))
    return -1;
  n = snprintf(resp->headers + used, sizeof(resp->headers) - used,
               "%s: %s\r\n", name, value);
  if(n < 0 || (size_t)n >= sizeof(resp->headers) - used) {
    resp->headers[used] = '\0';
    return -1;
  }
  return 0;
}

int mock_response_json(struct mock_response *resp, int status, json_t *doc)
{
  char *text;

  free(resp->body);
  resp->body = NULL;
  resp->body_len = 0;
  resp->status = status;
  set_content_type(resp, "application/json; charset=utf-8");
  if(!doc)
    return -1;
  /* JSON_ENSURE_ASCII off: agencies answer in UTF-8, Chinese names and all. */
  text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(doc);
  if(!text)
    return -1;
  resp->body = text;
  resp->body_len = strlen(text);
  return 0;
}

static int hexval(char c)
{
  if(c >= '0' && c <= '9')
    return c - '0';
  if(c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if(c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

int mock_url_decode(const char *src, size_t len, char *out, size_t cap)
{
  size_t o = 0;

  for(size_t i = 0; i < len; i++) {
    char c = src[i];
    if(c == '+')
      c = ' ';
    else if(c == '%') {
      int hi, lo;
      if(i + 2 >= len)
        return -1;
      hi = hexval(src[i + 1]);
      lo = hexval(src[i + 2]);
      if(hi < 0 || lo < 0)
        return -1;
      c = (char)(hi * 16 + lo);
      i += 2;
    }
    if(o + 1 >= cap)
      return -1;
    out[o++] = c;
  }
  out[o] = '\0';
  return 0;
}

int mock_query_param(const char *query, const char *name, char *out, size_t cap)
{
  size_t nlen = strlen(name);
  const char *p = query;

  if(!query || cap == 0)
    return 0;
  while(*p) {
    const char *end = strchr(p, '&');
    const char *eq;
    size_t plen;

    if(!end)
      end = p + strlen(p);
    plen = (size_t)(end - p);
    eq = memchr(p, '=', plen);
    if((eq ? (size_t)(eq - p) : plen) == nlen && !memcmp(p, name, nlen)) {
      if(!eq) {
        out[0] = '\0';
        return 1;
      }
      return mock_url_decode(eq + 1, (size_t)(end - eq - 1), out, cap) ? -1 : 1;
    }
    p = *end ? end + 1 : end;
  }
  return 0;
}

int mock_response_malform_json(struct mock_response *resp)
{
  char *nb;

  if(!resp->body || !resp->body_len || resp->body[resp->body_len - 1] != '}')
    return resp->body ? 0 : -1;
  nb = realloc(resp->body, resp->body_len + 1);
  if(!nb)
    return -1;
  nb[resp->body_len - 1] = ',';
  nb[resp->body_len] = '"';
  resp->body = nb;
  resp->body_len++;
  return 0;
}

const char *mock_request_header(const struct mock_request *req, const char *name,
                                int *repeated)
{
  const char *found = NULL;

  if(repeated)
    *repeated = 0;
  for(size_t i = 0; i < req->n_hdrs; i++) {
    if(strcasecmp(req->hdr_names[i], name))
      continue;
    if(found) {
      if(repeated)
        *repeated = 1;
      return NULL;
    }
    found = req->hdr_values[i];
  }
  return found;
}
