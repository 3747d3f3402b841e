/*
 * upstream_req.c - what the upstream engine agrees to send.
 *
 * Every rule about a caller's request lives here and runs before a socket
 * exists, so a refused request never touches the network: https only, no
 * userinfo in the URL (credentials travel in headers, which are never
 * logged), printable ASCII URLs, a closed set of methods, header names made
 * of token characters, header values without CR, LF, NUL or other control
 * characters, none of the headers that frame the message (those are
 * libcurl's), bounded timeouts and sizes, pins as values rather than file
 * names, and allow-lists as CIDRs.  The one idea: refuse what is ambiguous
 * instead of repairing it.
 */
#include "upstream_int.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "gw/alloc.h"

/* Headers that frame or route the message: libcurl writes them, or (Expect,
 * Accept-Encoding) the engine decides them. */
static const char *const forbidden_headers[] = {
  "host", "content-length", "transfer-encoding", "connection", "expect",
  "upgrade", "te", "trailer", "keep-alive", "accept-encoding"
};

static const char *const methods[] = { "GET", "POST", "PUT", "PATCH", "DELETE" };

void gw_upreq_printable(char *dst, size_t dstlen, const char *src)
{
  size_t i = 0;

  for(; src && src[i] && i + 1 < dstlen; i++) {
    unsigned char c = (unsigned char)src[i];
    dst[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
  }
  while(i > 0 && dst[i - 1] == ' ')
    i--;
  dst[i] = '\0';
}

static int is_tchar(unsigned char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* ---- address allow-list ------------------------------------------------- */

int gw_upreq_address_allowed(const struct gw_net_cidr *cidrs, size_t n,
                             int family, const unsigned char *addr)
{
  if(!n)
    return 1;
  for(size_t i = 0; i < n; i++)
    if(gw_net_cidr_match(&cidrs[i], family, addr))
      return 1;
  return 0;
}

/* ---- URL, headers, pin -------------------------------------------------- */

static int host_is_numeric(const char *host)
{
  unsigned char raw[16];
  char buf[INET6_ADDRSTRLEN];
  size_t len = strlen(host);

  if(len >= 2 && host[0] == '[' && host[len - 1] == ']' && len - 2 < sizeof(buf)) {
    memcpy(buf, host + 1, len - 2);
    buf[len - 2] = '\0';
    return inet_pton(AF_INET6, buf, raw) == 1;
  }
  return inet_pton(AF_INET, host, raw) == 1 || !strcasecmp(host, "localhost");
}

static enum gw_upstream_start_result check_url(const char *url, int async_dns,
                                               struct gw_upreq *out)
{
  enum gw_upstream_start_result r = GW_UP_START_BAD_URL;
  char *scheme = NULL, *user = NULL, *host = NULL, *port = NULL, *path = NULL;
  size_t len;

  if(!url)
    return r;
  len = strnlen(url, GW_UP_MAX_URL_LEN + 1);
  if(len == 0 || len > GW_UP_MAX_URL_LEN)
    return r;
  for(size_t i = 0; i < len; i++)
    if((unsigned char)url[i] <= 0x20 || (unsigned char)url[i] >= 0x7f)
      return r;
  out->url = curl_url();
  if(!out->url)
    return GW_UP_START_INTERNAL;
  if(curl_url_set(out->url, CURLUPART_URL, url, 0) != CURLUE_OK ||
     curl_url_get(out->url, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
     strcmp(scheme, "https") ||
     curl_url_get(out->url, CURLUPART_USER, &user, 0) != CURLUE_NO_USER ||
     curl_url_get(out->url, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
     curl_url_get(out->url, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK ||
     curl_url_get(out->url, CURLUPART_PATH, &path, 0) != CURLUE_OK)
    goto out;
  if(!async_dns && !host_is_numeric(host))
    goto out;
  gw_upreq_printable(out->host, sizeof(out->host), host);
  gw_upreq_printable(out->port, sizeof(out->port), port);
  gw_upreq_printable(out->path, sizeof(out->path), path);
  r = GW_UP_START_OK;

out:
  curl_free(scheme);
  curl_free(user);
  curl_free(host);
  curl_free(port);
  curl_free(path);
  return r;
}

static enum gw_upstream_start_result append(struct curl_slist **list, const char *line)
{
  struct curl_slist *l = curl_slist_append(*list, line);
  if(!l)
    return GW_UP_START_INTERNAL;
  *list = l;
  return GW_UP_START_OK;
}

static enum gw_upstream_start_result check_headers(const struct gw_upstream_request *req,
                                                   struct gw_upreq *out)
{
  char line[GW_UP_MAX_HEADER_LEN + 1];

  if(req->n_headers > GW_UP_MAX_HEADERS || (req->n_headers && !req->headers))
    return GW_UP_START_BAD_HEADER;
  for(size_t i = 0; i < req->n_headers; i++) {
    const struct gw_upstream_header *h = &req->headers[i];
    size_t nlen, vlen;

    if(!h->name || !h->value)
      return GW_UP_START_BAD_HEADER;
    nlen = strnlen(h->name, GW_UP_MAX_HEADER_LEN + 1);
    vlen = h->value_len ? h->value_len : strnlen(h->value, GW_UP_MAX_HEADER_LEN + 1);
    if(nlen == 0 || nlen + 2 + vlen > GW_UP_MAX_HEADER_LEN)
      return GW_UP_START_BAD_HEADER;
    for(size_t j = 0; j < nlen; j++)
      if(!is_tchar((unsigned char)h->name[j]))
        return GW_UP_START_BAD_HEADER;
    for(size_t j = 0; j < sizeof(forbidden_headers) / sizeof(forbidden_headers[0]); j++)
      if(!strcasecmp(h->name, forbidden_headers[j]))
        return GW_UP_START_BAD_HEADER;
    /* CR, LF and NUL would split or cut the header; no other control
     * character belongs in a field value either (RFC 9110 5.5). */
    for(size_t j = 0; j < vlen; j++) {
      unsigned char c = (unsigned char)h->value[j];
      if((c < 0x20 && c != '\t') || c == 0x7f)
        return GW_UP_START_BAD_HEADER;
    }
    /* "Name;" is libcurl's way to send an empty value ("Name:" deletes). */
    if(vlen)
      snprintf(line, sizeof(line), "%s: %.*s", h->name, (int)vlen, h->value);
    else
      snprintf(line, sizeof(line), "%s;", h->name);
    if(append(&out->headers, line) != GW_UP_START_OK)
      return GW_UP_START_INTERNAL;
  }
  /* A POST body over 1 KiB would otherwise wait for "100 Continue". */
  return append(&out->headers, "Expect:");
}

/* ---- the whole request -------------------------------------------------- */

static enum gw_upstream_start_result check_fields(const struct gw_upstream_request *req,
                                                  struct gw_upreq *out)
{
  const struct gw_upstream_tls *t = &req->tls;
  const char *m = req->method ? req->method : (req->body_len ? "POST" : "GET");

  if(!req->on_done || req->timeout_ms <= 0 || req->timeout_ms > GW_UP_MAX_TIMEOUT_MS ||
     req->connect_timeout_ms < 0 || req->connect_timeout_ms > req->timeout_ms ||
     req->max_response_bytes > GW_UP_MAX_RESPONSE ||
     req->body_len > GW_UP_MAX_REQUEST_BODY || (req->body_len && !req->body) ||
     req->n_allowed_cidrs > GW_UP_MAX_CIDRS ||
     (req->n_allowed_cidrs && !req->allowed_cidrs) ||
     (t->ca_file && !*t->ca_file) || (t->client_cert && !*t->client_cert) ||
     (t->client_key && (!*t->client_key || !t->client_cert)) ||
     (t->pin_sha256 && gw_net_pins_check(t->pin_sha256, NULL, 0)))
    return GW_UP_START_BAD_REQUEST;
  for(size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
    if(!strcmp(m, methods[i]))
      out->method = methods[i];
  if(!out->method)
    return GW_UP_START_BAD_METHOD;
  if(!strcmp(m, "GET") && req->body_len)
    return GW_UP_START_BAD_REQUEST;
  out->max_body = req->max_response_bytes ? req->max_response_bytes
                                          : GW_UP_DEFAULT_MAX_RESPONSE;
  out->connect_timeout_ms = req->connect_timeout_ms ? req->connect_timeout_ms
                                                    : req->timeout_ms;
  if(req->n_allowed_cidrs) {
    out->cidrs = gw_calloc(req->n_allowed_cidrs, sizeof(*out->cidrs));
    out->n_cidrs = req->n_allowed_cidrs;
    for(size_t i = 0; i < req->n_allowed_cidrs; i++)
      if(!req->allowed_cidrs[i] || gw_net_cidr_parse(req->allowed_cidrs[i], 0, &out->cidrs[i], NULL, 0))
        return GW_UP_START_BAD_REQUEST;
  }
  return GW_UP_START_OK;
}

enum gw_upstream_start_result gw_upreq_prepare(const struct gw_upstream_request *req,
                                               int async_dns, struct gw_upreq *out)
{
  enum gw_upstream_start_result r;

  memset(out, 0, sizeof(*out));
  r = check_fields(req, out);
  if(r == GW_UP_START_OK)
    r = check_url(req->url, async_dns, out);
  if(r == GW_UP_START_OK)
    r = check_headers(req, out);
  if(r != GW_UP_START_OK)
    gw_upreq_release(out);
  return r;
}

void gw_upreq_release(struct gw_upreq *r)
{
  curl_url_cleanup(r->url);
  curl_slist_free_all(r->headers);
  gw_free(r->cidrs);
  memset(r, 0, sizeof(*r));
}
