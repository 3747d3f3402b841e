/*
 * gwctl_io.c - reading inputs for gwctl: files, standard input, or HTTPS
 * URLs (libcurl, peer verification always on, no redirects).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <curl/curl.h>

#include "gw/alloc.h"
#include "gwctl_int.h"

static const char *client_cert, *client_key;

void gwctl_set_client_cert(const char *cert, const char *key)
{
  client_cert = cert;
  client_key = key;
}

struct sink {
  char *buf;
  size_t len, cap;
  int overflow;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
  struct sink *s = arg;
  size_t add = size * n;
  if(s->len + add > s->cap) {
    s->overflow = 1;
    return 0;
  }
  memcpy(s->buf + s->len, p, add);
  s->len += add;
  return add;
}

static char *read_url(const char *url, const char *cacert, size_t cap, size_t *len,
                      char *err, size_t errlen)
{
  struct sink s = { gw_malloc(cap + 1), 0, cap, 0 };
  char ebuf[CURL_ERROR_SIZE] = "";
  long status = 0;
  CURLcode rc;
  CURL *c = curl_easy_init();
  if(!c) {
    snprintf(err, errlen, "cannot initialize libcurl");
    gw_free(s.buf);
    return NULL;
  }
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 15000L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
  if(cacert)
    curl_easy_setopt(c, CURLOPT_CAINFO, cacert);
  if(client_cert && client_key) {
    curl_easy_setopt(c, CURLOPT_SSLCERT, client_cert);
    curl_easy_setopt(c, CURLOPT_SSLKEY, client_key);
  }
  rc = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(c);
  if(rc != CURLE_OK || status != 200) {
    if(s.overflow)
      snprintf(err, errlen, "%s: larger than %zu bytes", url, cap);
    else if(rc != CURLE_OK)
      snprintf(err, errlen, "%s: %s", url, ebuf[0] ? ebuf : curl_easy_strerror(rc));
    else
      snprintf(err, errlen, "%s: HTTP status %ld", url, status);
    gw_free(s.buf);
    return NULL;
  }
  s.buf[s.len] = '\0';
  *len = s.len;
  return s.buf;
}

char *gwctl_read_source(const char *src, const char *cacert, size_t cap, size_t *len,
                        char *err, size_t errlen)
{
  FILE *fp;
  char *buf;
  size_t n;

  if(!strncmp(src, "https://", 8))
    return read_url(src, cacert, cap, len, err, errlen);
  if(!strncmp(src, "http://", 7)) {
    snprintf(err, errlen, "%s: only https:// URLs are accepted", src);
    return NULL;
  }
  fp = strcmp(src, "-") ? fopen(src, "rb") : stdin;
  if(!fp) {
    snprintf(err, errlen, "%s: %s", src, strerror(errno));
    return NULL;
  }
  buf = gw_malloc(cap + 1);
  n = fread(buf, 1, cap + 1, fp);
  if(fp != stdin)
    fclose(fp);
  if(n > cap) {
    snprintf(err, errlen, "%s: larger than %zu bytes", src, cap);
    gw_free(buf);
    return NULL;
  }
  buf[n] = '\0';
  *len = n;
  return buf;
}
