/*
 * sigauth.c - signed headers and WS-Security UsernameToken (gw/sigauth.h).
 *
 * The one idea: the signature covers the request exactly as it leaves, so
 * it is made at send time, per attempt, from the method, URL and body the
 * upstream engine is about to send; the canonical string's shape is data
 * (the adapter's template), checked once at load so that an unknown
 * placeholder never reaches a request.
 */
#include "gw/sigauth.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "gw/alloc.h"
#include "gw/b64.h"

#define WSSE_NS "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
#define WSU_NS "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
#define WSSE_DIGEST "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest"
#define WSSE_B64 "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"

enum ph {
  PH_METHOD = 0, PH_PATH, PH_QUERY, PH_APP_ID, PH_TIMESTAMP, PH_NONCE, PH_BODY_SHA256, PH_COUNT
};

static const char *const ph_names[PH_COUNT] = {
  "method", "path", "query", "app_id", "timestamp", "nonce", "body.sha256"
};

#define PH_KNOWN "{{method}}, {{path}}, {{query}}, {{app_id}}, {{timestamp}}, {{nonce}}, {{body.sha256}}"

/* Reads the placeholder opening at t[0] == '{' t[1] == '{'.  Returns the
 * placeholder, -1 when unterminated, -2 when unknown; *end is set past "}}"
 * and the trimmed name is left in name/nlen. */
static int read_ph(const char *t, const char **end, const char **name, size_t *nlen)
{
  const char *p = t + 2, *close = strstr(p, "}}");
  const char *s, *e;

  if(!close)
    return -1;
  s = p;
  e = close;
  while(s < e && (*s == ' ' || *s == '\t'))
    s++;
  while(e > s && (e[-1] == ' ' || e[-1] == '\t'))
    e--;
  *name = s;
  *nlen = (size_t)(e - s);
  *end = close + 2;
  for(int i = 0; i < PH_COUNT; i++)
    if(strlen(ph_names[i]) == *nlen && !memcmp(ph_names[i], s, *nlen))
      return i;
  return -2;
}

int gw_sigauth_check_canonical(const char *tmpl, char *why, size_t n)
{
  const char *p = tmpl;
  size_t len = strnlen(tmpl, GW_SIGAUTH_CANONICAL_MAX + 1);
  int uses = 0;

  if(len == 0 || len > GW_SIGAUTH_CANONICAL_MAX) {
    snprintf(why, n, "must be 1 to %d bytes", GW_SIGAUTH_CANONICAL_MAX);
    return -1;
  }
  while((p = strstr(p, "{{"))) {
    const char *end, *name;
    size_t nlen;
    int ph = read_ph(p, &end, &name, &nlen);
    if(ph == -1) {
      snprintf(why, n, "placeholder at byte %zu is not closed with }}", (size_t)(p - tmpl));
      return -1;
    }
    if(ph == -2) {
      snprintf(why, n, "unknown placeholder {{%.*s}} (known: %s)",
               (int)(nlen > 64 ? 64 : nlen), name, PH_KNOWN);
      return -1;
    }
    if(ph == PH_NONCE || ph == PH_TIMESTAMP)
      uses |= 1 << ph;
    p = end;
  }
  /* Without both, a captured request could be replayed or its signature
   * would not bind the replay-window values the agency checks. */
  if(!(uses & (1 << PH_TIMESTAMP)) || !(uses & (1 << PH_NONCE))) {
    snprintf(why, n, "must contain {{timestamp}} and {{nonce}} (the agency's "
             "replay window depends on them being signed)");
    return -1;
  }
  return 0;
}

/* path and query of an absolute URL as sent: after "scheme://authority". */
static void split_url(const char *url, const char **path, size_t *plen,
                      const char **query, size_t *qlen)
{
  const char *p = strstr(url, "://"), *q;

  p = p ? strchr(p + 3, '/') : NULL;
  if(!p) {
    *path = "/";
    *plen = 1;
    q = url ? strchr(url, '?') : NULL;
  }
  else {
    q = strchr(p, '?');
    *path = p;
    *plen = q ? (size_t)(q - p) : strlen(p);
  }
  if(q) {
    const char *hash = strchr(q + 1, '#');
    *query = q + 1;
    *qlen = hash ? (size_t)(hash - q - 1) : strlen(q + 1);
  }
  else {
    *query = "";
    *qlen = 0;
  }
}

static int put(char *out, size_t *len, const char *s, size_t n)
{
  if(*len + n >= GW_SIGAUTH_STRING_MAX)
    return -1;
  memcpy(out + *len, s, n);
  *len += n;
  out[*len] = '\0';
  return 0;
}

int gw_sigauth_sign(const struct gw_sigauth_signed *s, const struct gw_sigauth_msg *m,
                    struct gw_sigauth_headers *out, char **canonical_out)
{
  unsigned char digest[32], mac[EVP_MAX_MD_SIZE];
  unsigned int maclen = 0;
  char body_hex[65], *canon = NULL;
  const char *path, *query, *t;
  size_t plen, qlen, len = 0;
  struct tm tm;
  int rc = -1;

  memset(out, 0, sizeof(*out));
  if(!s || !s->secret || !s->canonical || !m || !m->method || !m->url ||
     (m->body_len && !m->body))
    return -1;
  switch(s->ts) {
  case GW_SIGAUTH_TS_UNIX:
    snprintf(out->timestamp, sizeof(out->timestamp), "%lld", (long long)m->now);
    break;
  case GW_SIGAUTH_TS_UNIX_MS:
    snprintf(out->timestamp, sizeof(out->timestamp), "%lld%03u", (long long)m->now,
             m->now_ms % 1000);
    break;
  case GW_SIGAUTH_TS_RFC3339:
    if(!gmtime_r(&m->now, &tm))
      return -1;
    strftime(out->timestamp, sizeof(out->timestamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
    break;
  }
  if(m->nonce) {
    if(strlen(m->nonce) >= sizeof(out->nonce))
      return -1;
    strcpy(out->nonce, m->nonce);
  }
  else {
    unsigned char raw[16];
    if(RAND_bytes(raw, sizeof(raw)) != 1)
      return -1;
    gw_hex_encode(raw, sizeof(raw), out->nonce);
  }
  if(!EVP_Digest(m->body_len ? m->body : "", m->body_len, digest, NULL, EVP_sha256(), NULL))
    return -1;
  gw_hex_encode(digest, sizeof(digest), body_hex);
  split_url(m->url, &path, &plen, &query, &qlen);

  canon = gw_malloc(GW_SIGAUTH_STRING_MAX);
  canon[0] = '\0';
  for(t = s->canonical; *t;) {
    const char *open = strstr(t, "{{"), *end, *name;
    size_t nlen;
    int ph;
    if(!open) {
      if(put(canon, &len, t, strlen(t)))
        goto out;
      break;
    }
    if(put(canon, &len, t, (size_t)(open - t)))
      goto out;
    ph = read_ph(open, &end, &name, &nlen);
    switch(ph) {
    case PH_METHOD:      rc = put(canon, &len, m->method, strlen(m->method)); break;
    case PH_PATH:        rc = put(canon, &len, path, plen); break;
    case PH_QUERY:       rc = put(canon, &len, query, qlen); break;
    case PH_APP_ID:      rc = put(canon, &len, s->app_id, strlen(s->app_id)); break;
    case PH_TIMESTAMP:   rc = put(canon, &len, out->timestamp, strlen(out->timestamp)); break;
    case PH_NONCE:       rc = put(canon, &len, out->nonce, strlen(out->nonce)); break;
    case PH_BODY_SHA256: rc = put(canon, &len, body_hex, 64); break;
    default:             rc = -1; break;   /* the loader refused it already */
    }
    if(rc)
      goto out;
    rc = -1;
    t = end;
  }
  if(!HMAC(EVP_sha256(), s->secret, (int)strlen(s->secret), (const unsigned char *)canon, len,
           mac, &maclen))
    goto out;
  if(s->enc == GW_SIGAUTH_ENC_HEX)
    gw_hex_encode(mac, maclen, out->signature);
  else if(gw_b64_encode(GW_B64_STD, mac, maclen, out->signature, sizeof(out->signature), NULL))
    goto out;
  if(canonical_out) {
    *canonical_out = canon;
    canon = NULL;
  }
  rc = 0;

out:
  OPENSSL_cleanse(mac, sizeof(mac));
  gw_free(canon);
  if(rc)
    memset(out, 0, sizeof(*out));
  return rc;
}

int gw_sigauth_wsse_digest(const unsigned char *nonce, size_t nonce_len,
                           const char *created, const char *password,
                           char *out, size_t outlen)
{
  unsigned char sha[20];
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) &&
           EVP_DigestUpdate(ctx, nonce, nonce_len) &&
           EVP_DigestUpdate(ctx, created, strlen(created)) &&
           EVP_DigestUpdate(ctx, password, strlen(password)) &&
           EVP_DigestFinal_ex(ctx, sha, NULL);

  EVP_MD_CTX_free(ctx);
  if(!ok || gw_b64_encode(GW_B64_STD, sha, sizeof(sha), out, outlen, NULL))
    return -1;
  return 0;
}

int gw_sigauth_username_ok(const char *s)
{
  size_t n = s ? strnlen(s, GW_SIGAUTH_USERNAME_MAX + 1) : 0;
  if(n == 0 || n > GW_SIGAUTH_USERNAME_MAX)
    return 0;
  for(size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if(c < 0x20 || c >= 0x7f || strchr("<>&\"'", c))
      return 0;
  }
  return 1;
}

/* The start tag `tag` ("<soapenv:Header") as an element, not a prefix of a
 * longer name: followed by '>', '/' or white space. */
static const char *find_tag(const char *body, size_t len, const char *tag, size_t *tag_end,
                            int *self_closing)
{
  size_t tl = strlen(tag);

  for(size_t i = 0; i + tl < len; i++) {
    if(body[i] != '<' || memcmp(body + i, tag, tl))
      continue;
    char c = body[i + tl];
    if(c != '>' && c != '/' && c != ' ' && c != '\t' && c != '\r' && c != '\n')
      continue;
    const char *gt = memchr(body + i + tl, '>', len - i - tl);
    if(!gt)
      return NULL;
    *tag_end = (size_t)(gt - body) + 1;
    *self_closing = gt[-1] == '/';
    return body + i;
  }
  return NULL;
}

char *gw_sigauth_wsse_apply(const struct gw_sigauth_wsse *w, const char *body, size_t len,
                            time_t now, const unsigned char *nonce, size_t max,
                            size_t *out_len)
{
  unsigned char raw[16];
  char created[32], nonce_b64[32], digest[32], sec[GW_SIGAUTH_WSSE_MAX], close[80];
  const char *tag;
  size_t tag_end, slen, clen = 0, total;
  int self_closing, n;
  struct tm tm;
  char *out;

  if(!w || !w->header_tag || !w->password || !gw_sigauth_username_ok(w->username) || !body)
    return NULL;
  tag = find_tag(body, len, w->header_tag, &tag_end, &self_closing);
  if(!tag || !gmtime_r(&now, &tm))
    return NULL;
  if(nonce)
    memcpy(raw, nonce, sizeof(raw));
  else if(RAND_bytes(raw, sizeof(raw)) != 1)
    return NULL;
  strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if(gw_b64_encode(GW_B64_STD, raw, sizeof(raw), nonce_b64, sizeof(nonce_b64), NULL) ||
     gw_sigauth_wsse_digest(raw, sizeof(raw), created, w->password, digest, sizeof(digest)))
    return NULL;
  n = snprintf(sec, sizeof(sec),
               "<wsse:Security xmlns:wsse=\"" WSSE_NS "\" xmlns:wsu=\"" WSU_NS "\">"
               "<wsse:UsernameToken>"
               "<wsse:Username>%s</wsse:Username>"
               "<wsse:Password Type=\"" WSSE_DIGEST "\">%s</wsse:Password>"
               "<wsse:Nonce EncodingType=\"" WSSE_B64 "\">%s</wsse:Nonce>"
               "<wsu:Created>%s</wsu:Created>"
               "</wsse:UsernameToken></wsse:Security>",
               w->username, digest, nonce_b64, created);
  OPENSSL_cleanse(digest, sizeof(digest));
  if(n < 0 || (size_t)n >= sizeof(sec))
    return NULL;
  slen = (size_t)n;
  if(self_closing) {
    /* "<p:Header/>" becomes "<p:Header>" SECURITY "</p:Header>" */
    n = snprintf(close, sizeof(close), "</%s>", w->header_tag + 1);
    if(n < 0 || (size_t)n >= sizeof(close))
      return NULL;
    clen = (size_t)n;
  }
  total = len + slen + clen;
  if(total > max)
    return NULL;
  out = gw_malloc(total + 1);
  if(self_closing) {
    size_t head = tag_end - 2;             /* up to the "/" of "/>" */
    while(head > 0 && (body[head - 1] == ' ' || body[head - 1] == '\t'))
      head--;
    memcpy(out, body, head);
    out[head] = '>';
    memcpy(out + head + 1, sec, slen);
    memcpy(out + head + 1 + slen, close, clen);
    memcpy(out + head + 1 + slen + clen, body + tag_end, len - tag_end);
    total = head + 1 + slen + clen + (len - tag_end);
  }
  else {
    memcpy(out, body, tag_end);
    memcpy(out + tag_end, sec, slen);
    memcpy(out + tag_end + slen, body + tag_end, len - tag_end);
  }
  out[total] = '\0';
  OPENSSL_cleanse(sec, sizeof(sec));
  *out_len = total;
  return out;
}

static void free_secret(char *s)
{
  if(s) {
    OPENSSL_cleanse(s, strlen(s));
    gw_free(s);
  }
}

void gw_sigauth_signed_clear(struct gw_sigauth_signed *s)
{
  gw_free(s->app_id);
  free_secret(s->secret);
  gw_free(s->canonical);
  gw_free(s->h_app_id);
  gw_free(s->h_timestamp);
  gw_free(s->h_nonce);
  gw_free(s->h_signature);
  memset(s, 0, sizeof(*s));
}

void gw_sigauth_wsse_clear(struct gw_sigauth_wsse *w)
{
  gw_free(w->username);
  free_secret(w->password);
  gw_free(w->header_tag);
  memset(w, 0, sizeof(*w));
}
