/*
 * gwctl_query.c - "gwctl query": asks the gateway for facts and shows them.
 *
 *   gwctl query [--stack DIR/stack.json [--client NAME] | --url URL --cacert CA
 *               --cert C --key K] --id ID --name NAME --facts a,b,c --purpose P
 *               [--case-ref R] [--max-age S] [--deadline MS] [--sign]
 *               [--save FILE] [--json]
 *
 * The one idea: a person reading the table should not have to trust the
 * gateway's word for what they see.  Every attestation in the answer is
 * checked here against the gateway's published JWKS (GET /v1/keys, fetched
 * over the same verified TLS connection settings) with our own JWS module,
 * and bound to the fact and subject it came with; the SIGNATURE column says
 * what that check found.  With --sign the detached Gateway-Signature over the
 * exact body bytes is checked the same way.
 *
 * Exit status: 0 when the query was answered (even partially: the per-fact
 * statuses say what failed), 1 when the gateway answered with a problem
 * (application/problem+json, printed as type and detail) or could not be
 * reached, 2 on a usage error.  --json prints the response body exactly as
 * received (the problem document too) and checks nothing.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <curl/curl.h>
#include <jansson.h>

#include "gw/alloc.h"
#include "gw/attest.h"
#include "gw/jws.h"
#include "gwctl_int.h"

#define QUERY_MAX_RESPONSE (16u << 20)  /* answer body we accept */
#define QUERY_MAX_HEADER 8192           /* one response header line */
#define QUERY_MAX_FACTS 32              /* names in --facts */
#define QUERY_VALUE_COLS 44             /* display columns of the VALUE cell */
#define QUERY_KID_SHOWN 12              /* kid characters shown in the table */
#define QUERY_TIMEOUT_SLACK_MS 10000    /* transport bound beyond the deadline */
#define QUERY_DEFAULT_BOUND_MS 120000   /* no --deadline: the largest the gateway allows */

struct conn {
  char *url;                    /* base URL, no trailing slash */
  char *cacert, *cert, *key;
};

struct reply {
  long status;
  char *body;                   /* NUL-terminated, gw_free */
  size_t len, cap;
  int overflow;
  char ctype[128];
  char request_id[128];
  char *signature;              /* Gateway-Signature, gw_free */
};

/* ---- HTTP ---------------------------------------------------------------- */

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
  struct reply *r = arg;
  size_t add = size * n;
  if(r->len + add > r->cap) {
    r->overflow = 1;
    return 0;
  }
  memcpy(r->body + r->len, p, add);
  r->len += add;
  return add;
}

/* Copies the value of header line `line` when it is `name`, trimmed. */
static int header_value(const char *line, size_t n, const char *name, char *out, size_t cap)
{
  size_t nl = strlen(name), e;
  if(n <= nl || strncasecmp(line, name, nl) || line[nl] != ':')
    return 0;
  line += nl + 1;
  n -= nl + 1;
  while(n && (*line == ' ' || *line == '\t')) {
    line++;
    n--;
  }
  e = n;
  while(e && (line[e - 1] == '\r' || line[e - 1] == '\n' || line[e - 1] == ' '))
    e--;
  if(e >= cap)
    e = cap - 1;
  memcpy(out, line, e);
  out[e] = '\0';
  return 1;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
  struct reply *r = arg;
  size_t len = size * n;
  char sig[QUERY_MAX_HEADER];
  if(len >= QUERY_MAX_HEADER)
    return len;                 /* longer than anything we read: ignore it */
  if(len >= 5 && !strncmp(p, "HTTP/", 5)) {
    /* a new response (after 100-continue): forget the previous headers */
    r->ctype[0] = r->request_id[0] = '\0';
    gw_free(r->signature);
    r->signature = NULL;
    return len;
  }
  header_value(p, len, "content-type", r->ctype, sizeof(r->ctype));
  header_value(p, len, "x-request-id", r->request_id, sizeof(r->request_id));
  if(header_value(p, len, "gateway-signature", sig, sizeof(sig))) {
    gw_free(r->signature);
    r->signature = gw_strdup(sig);
  }
  return len;
}

static void reply_free(struct reply *r)
{
  gw_free(r->body);
  gw_free(r->signature);
  memset(r, 0, sizeof(*r));
}

/* GET (post == NULL) or POST application/json to c->url + path.  Returns 0
 * when an HTTP answer of at most `cap` bytes arrived (any status), else -1
 * with a reason in err. */
static int http_call(const struct conn *c, const char *path, const char *post, size_t cap,
                     long timeout_ms, struct reply *r, char *err, size_t errlen)
{
  char ebuf[CURL_ERROR_SIZE] = "";
  struct curl_slist *hdrs = NULL;
  size_t ulen = strlen(c->url) + strlen(path) + 1;
  char *url = gw_malloc(ulen);
  CURLcode rc;
  CURL *h = curl_easy_init();
  int ret = -1;

  memset(r, 0, sizeof(*r));
  r->body = gw_malloc(cap + 1);
  r->cap = cap;
  snprintf(url, ulen, "%s%s", c->url, path);
  if(!h) {
    snprintf(err, errlen, "cannot initialize libcurl");
    goto out;
  }
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
  if(c->cacert)
    curl_easy_setopt(h, CURLOPT_CAINFO, c->cacert);
  if(c->cert)
    curl_easy_setopt(h, CURLOPT_SSLCERT, c->cert);
  if(c->key)
    curl_easy_setopt(h, CURLOPT_SSLKEY, c->key);
  if(post) {
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "Accept: application/json, application/problem+json");
    hdrs = curl_slist_append(hdrs, "Expect:");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, post);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(post));
  }
  rc = curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
  if(rc != CURLE_OK) {
    if(r->overflow)
      snprintf(err, errlen, "%s: answer larger than %zu bytes", url, cap);
    else
      snprintf(err, errlen, "%s: %s", url, ebuf[0] ? ebuf : curl_easy_strerror(rc));
    goto out;
  }
  r->body[r->len] = '\0';
  ret = 0;

out:
  curl_slist_free_all(hdrs);
  if(h)
    curl_easy_cleanup(h);
  gw_free(url);
  if(ret)
    reply_free(r);
  return ret;
}

/* ---- the table ------------------------------------------------------------ */

/* Display columns of one code point: East Asian wide and fullwidth forms
 * take two (enough for the names, institutions and places agencies send). */
static int cp_width(unsigned cp)
{
  if((cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) ||
     (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) ||
     (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
     (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x20000 && cp <= 0x3fffd))
    return 2;
  return 1;
}

/* Decodes one UTF-8 sequence at s (jansson hands over valid UTF-8 only);
 * returns its length in bytes, at least 1. */
static size_t u8_decode(const unsigned char *s, unsigned *cp)
{
  if(s[0] < 0x80) {
    *cp = s[0];
    return 1;
  }
  if((s[0] & 0xe0) == 0xc0 && s[1]) {
    *cp = ((s[0] & 0x1fu) << 6) | (s[1] & 0x3fu);
    return 2;
  }
  if((s[0] & 0xf0) == 0xe0 && s[1] && s[2]) {
    *cp = ((s[0] & 0x0fu) << 12) | ((s[1] & 0x3fu) << 6) | (s[2] & 0x3fu);
    return 3;
  }
  if((s[0] & 0xf8) == 0xf0 && s[1] && s[2] && s[3]) {
    *cp = ((s[0] & 0x07u) << 18) | ((s[1] & 0x3fu) << 12) | ((s[2] & 0x3fu) << 6) |
          (s[3] & 0x3fu);
    return 4;
  }
  *cp = '?';
  return 1;
}

/* Prints text in a cell of `cols` display columns: control characters (C0,
 * DEL, C1 — what could steer a terminal) become '?', longer text is cut at
 * a character boundary and ends in an ellipsis, shorter text is padded
 * unless `last`. */
static void cell(const char *text, int cols, int last)
{
  const unsigned char *s = (const unsigned char *)text;
  int used = 0, total = 0;
  unsigned cp;

  for(const unsigned char *t = s; *t;) {
    t += u8_decode(t, &cp);
    total += cp_width(cp);
  }
  while(*s) {
    size_t n = u8_decode(s, &cp);
    int w = cp_width(cp);
    if(cols > 0 && total > cols && used + w > cols - 1) {
      fputs("\xe2\x80\xa6", stdout);      /* U+2026 */
      used++;
      break;
    }
    if(cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0))
      putchar('?');
    else
      fwrite(s, 1, n, stdout);
    used += w;
    s += n;
  }
  if(!last)
    for(; used < cols; used++)
      putchar(' ');
  putchar(last ? '\n' : ' ');
}

/* ---- the VALUE cell: agency data as short text ------------------------------- */

struct text {
  char *buf;
  size_t len, cap;
};

static void text_add(struct text *t, const char *s, size_t n)
{
  if(t->len + n + 1 > t->cap) {
    t->cap = (t->len + n + 1) * 2;
    t->buf = gw_realloc(t->buf, t->cap);
  }
  memcpy(t->buf + t->len, s, n);
  t->len += n;
  t->buf[t->len] = '\0';
}

static void text_adds(struct text *t, const char *s)
{
  text_add(t, s, strlen(s));
}

static void scalar_text(struct text *t, const json_t *v)
{
  char *d;
  if(json_is_string(v)) {
    text_add(t, json_string_value(v), json_string_length(v));
    return;
  }
  d = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
  text_adds(t, d ? d : "?");
  free(d);
}

/* The kinds in a list of two or more objects, before the cut: each
 * object's first string member (a degree's level, a certificate's kind),
 * distinct ones in order, "bachelor, master".  Returns 1 when it wrote one. */
static int list_summary(struct text *t, const json_t *list)
{
  const char *seen[16];
  size_t n_seen = 0, i, j;
  json_t *item;

  if(json_array_size(list) < 2)
    return 0;
  json_array_foreach(list, i, item) {
    const char *k, *kind = NULL;
    json_t *m;
    if(!json_is_object(item))
      return n_seen > 0;
    json_object_foreach(item, k, m) {
      if(json_is_string(m)) {
        kind = json_string_value(m);
        break;
      }
    }
    if(!kind)
      continue;
    for(j = 0; j < n_seen && strcmp(seen[j], kind); j++)
      ;
    if(j < n_seen || n_seen == sizeof(seen) / sizeof(seen[0]))
      continue;
    if(n_seen)
      text_adds(t, ", ");
    text_adds(t, kind);
    seen[n_seen++] = kind;
  }
  return n_seen > 0;
}

/* Strings bare; an object as its members separated by blanks (strings by
 * value alone, since they speak for themselves, other scalars as key=value,
 * nested lists as key=[n]); a list as "n× item; item", and a list of
 * objects as "n× kind, kind: item; item" (list_summary), each item then
 * without its kind.  The table cell is cut to its width anyway: what
 * matters comes first. */
static void value_render(struct text *t, const json_t *v, int depth, int skip_kind)
{
  const char *k;
  json_t *m;
  size_t i;
  int first = 1, summary;
  char num[32];

  if(json_is_object(v)) {
    if(depth > 1) {
      text_adds(t, "{\xe2\x80\xa6}");
      return;
    }
    json_object_foreach((json_t *)v, k, m) {
      if(json_is_null(m))
        continue;
      if(skip_kind && json_is_string(m)) {
        skip_kind = 0;          /* the kind, already in the list's summary */
        continue;
      }
      if(!first)
        text_adds(t, " ");
      first = 0;
      if(json_is_string(m))
        scalar_text(t, m);
      else if(json_is_array(m)) {
        snprintf(num, sizeof(num), "=[%zu]", json_array_size(m));
        text_adds(t, k);
        text_adds(t, num);
      }
      else if(json_is_object(m)) {
        text_adds(t, k);
        text_adds(t, "={\xe2\x80\xa6}");
      }
      else {
        text_adds(t, k);
        text_adds(t, "=");
        scalar_text(t, m);
      }
    }
  }
  else if(json_is_array(v)) {
    if(!json_array_size(v) || depth > 0) {
      snprintf(num, sizeof(num), "[%zu]", json_array_size(v));
      text_adds(t, num);
      return;
    }
    snprintf(num, sizeof(num), "%zu\xc3\x97 ", json_array_size(v));   /* U+00D7 */
    text_adds(t, num);
    summary = list_summary(t, v);
    if(summary)
      text_adds(t, ": ");
    json_array_foreach(v, i, m) {
      if(i)
        text_adds(t, "; ");
      value_render(t, m, depth + 1, summary);
    }
  }
  else
    scalar_text(t, v);
}

static char *value_text(const json_t *v)
{
  struct text t = { gw_malloc(64), 0, 64 };
  t.buf[0] = '\0';
  value_render(&t, v, 0, 0);
  return t.buf;
}

/* Checks one attestation against the JWKS and the response it came in;
 * writes the SIGNATURE cell into out.  Returns 1 when it verified. */
static int check_attestation(struct gw_jws_key **keys, size_t n_keys, const char *jws,
                             const char *fact, const char *sub, const json_t *value,
                             char *out, size_t outlen)
{
  unsigned char *payload = NULL;
  size_t plen;
  const struct gw_jws_key *used = NULL;
  const char *problem = NULL;
  json_t *p = NULL;
  enum gw_jws_result r;

  r = gw_jws_verify_compact_set((const struct gw_jws_key *const *)keys, n_keys, GW_ATTEST_TYP,
                                jws, strlen(jws), &payload, &plen, &used);
  if(r != GW_JWS_OK)
    problem = gw_jws_strerror(r);
  else {
    const char *pf, *ps;
    p = json_loadb((const char *)payload, plen, JSON_REJECT_DUPLICATES, NULL);
    pf = json_string_value(json_object_get(p, "fact"));
    ps = json_string_value(json_object_get(p, "sub"));
    if(!pf || !ps || !json_object_get(p, "value"))
      problem = "payload is not an attestation";
    else if(strcmp(pf, fact))
      problem = "signed for another fact";
    else if(!sub || strcmp(ps, sub))
      problem = "signed for another subject";
    else if(!json_equal(json_object_get(p, "value"), (json_t *)value))
      problem = "signed value differs from the answer";
  }
  if(problem)
    snprintf(out, outlen, "INVALID (%s)", problem);
  else
    snprintf(out, outlen, "verified (kid %.*s\xe2\x80\xa6)", QUERY_KID_SHOWN,
             gw_jws_key_kid(used));
  json_decref(p);
  gw_free(payload);
  return !problem;
}

static void print_table(const json_t *resp, struct gw_jws_key **keys, size_t n_keys,
                        const char *jwks_problem, int *invalid)
{
  const char *name, *sub = json_string_value(json_object_get(resp, "subject_ref"));
  json_t *facts = json_object_get(resp, "facts"), *f;

  cell("FACT", 33, 0);
  cell("STATUS", 11, 0);
  cell("VALUE", QUERY_VALUE_COLS, 0);
  cell("SOURCE", 7, 0);
  cell("CACHED/AGE", 13, 0);
  cell("SIGNATURE", 0, 1);
  json_object_foreach(facts, name, f) {
    const char *status = json_string_value(json_object_get(f, "status"));
    const char *jws = json_string_value(json_object_get(f, "attestation"));
    const json_t *err = json_object_get(f, "error");
    const char *source = json_string_value(json_object_get(f, "source"));
    char *value = NULL, age[48], sig[700];

    if(!status)
      status = "?";
    if(!strcmp(status, "ok"))
      value = value_text(json_object_get(f, "value"));
    else if(!strcmp(status, "not_found"))
      value = gw_strdup("(the agency has no record)");
    else if(err && !strcmp(status, "denied"))
      value = gw_strdup(json_string_value(json_object_get(err, "detail")) ?
                        json_string_value(json_object_get(err, "detail")) : "denied");
    else if(err) {
      const char *code = json_string_value(json_object_get(err, "code"));
      const char *detail = json_string_value(json_object_get(err, "detail"));
      size_t n = (code ? strlen(code) : 1) + (detail ? strlen(detail) : 0) + 3;
      value = gw_malloc(n);
      snprintf(value, n, "%s: %s", code ? code : "?", detail ? detail : "");
      if(!source)
        source = json_string_value(json_object_get(err, "agency"));
    }
    else
      value = gw_strdup("");
    if(json_object_get(f, "cached")) {
      json_int_t a = json_integer_value(json_object_get(f, "age_s"));
      snprintf(age, sizeof(age), "%s %llds%s",
               json_is_true(json_object_get(f, "cached")) ? "cached" : "fresh",
               (long long)a, json_is_true(json_object_get(f, "stale")) ? " STALE" : "");
    }
    else
      snprintf(age, sizeof(age), "-");
    if(!jws)
      snprintf(sig, sizeof(sig), "-");
    else if(!n_keys)
      snprintf(sig, sizeof(sig), "unchecked (%s)", jwks_problem);
    else if(!check_attestation(keys, n_keys, jws, name, sub, json_object_get(f, "value"),
                               sig, sizeof(sig)))
      (*invalid)++;
    cell(name, 33, 0);
    cell(status, 11, 0);
    cell(value, QUERY_VALUE_COLS, 0);
    cell(source ? source : "-", 7, 0);
    cell(age, 13, 0);
    cell(sig, 0, 1);
    gw_free(value);
  }
}

/* ---- options ---------------------------------------------------------------- */

static void usage(FILE *fp)
{
  fprintf(fp,
          "usage: gwctl query [--stack DIR/stack.json [--client NAME] |\n"
          "                    --url URL --cacert CA --cert C --key K]\n"
          "                   --id ID --name NAME --facts a,b,c --purpose P\n"
          "                   [--case-ref R] [--max-age S] [--deadline MS] [--sign]\n"
          "                   [--save FILE] [--json]\n");
}

/* Reads URL and client certificate from a stack.json (or its directory). */
static int load_stack(const char *path, const char *client, struct conn *c)
{
  struct stat st;
  json_error_t jerr;
  json_t *s, *cl;
  char *file;
  const char *url, *ca, *cert, *key;
  size_t n = strlen(path) + sizeof("/stack.json");
  int rc = -1;

  file = gw_malloc(n);
  if(!stat(path, &st) && S_ISDIR(st.st_mode))
    snprintf(file, n, "%s/stack.json", path);
  else
    snprintf(file, n, "%s", path);
  s = json_load_file(file, JSON_REJECT_DUPLICATES, &jerr);
  if(!s) {
    fprintf(stderr, "gwctl query: %s: %s\n", file, jerr.text);
    goto out;
  }
  url = json_string_value(json_object_get(json_object_get(s, "gateway"), "url"));
  ca = json_string_value(json_object_get(json_object_get(s, "pki"), "gateway_ca"));
  cl = json_object_get(json_object_get(json_object_get(s, "pki"), "clients"), client);
  cert = json_string_value(json_object_get(cl, "cert"));
  key = json_string_value(json_object_get(cl, "key"));
  if(!url || !ca || !cert || !key) {
    fprintf(stderr, "gwctl query: %s: no gateway.url, pki.gateway_ca or pki.clients.%s\n",
            file, client);
    goto out;
  }
  /* explicit options win over the stack */
  if(!c->url)
    c->url = gw_strdup(url);
  if(!c->cacert)
    c->cacert = gw_strdup(ca);
  if(!c->cert)
    c->cert = gw_strdup(cert);
  if(!c->key)
    c->key = gw_strdup(key);
  rc = 0;

out:
  json_decref(s);
  gw_free(file);
  return rc;
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
  char *end;
  long v;
  errno = 0;
  v = strtol(s, &end, 10);
  if(errno || end == s || *end || v < lo || v > hi)
    return -1;
  *out = v;
  return 0;
}

/* Splits "a,b,c" into a JSON array of names (blanks around names dropped). */
static json_t *split_facts(const char *list)
{
  json_t *arr = json_array();
  const char *p = list;
  while(*p) {
    const char *e = p + strcspn(p, ",");
    const char *a = p, *b = e;
    while(a < b && (*a == ' ' || *a == '\t'))
      a++;
    while(b > a && (b[-1] == ' ' || b[-1] == '\t'))
      b--;
    if(b > a) {
      if(json_array_size(arr) >= QUERY_MAX_FACTS) {
        json_decref(arr);
        return NULL;
      }
      json_array_append_new(arr, json_stringn(a, (size_t)(b - a)));
    }
    p = *e ? e + 1 : e;
  }
  if(!json_array_size(arr)) {
    json_decref(arr);
    return NULL;
  }
  return arr;
}

/* Prints a problem document (or whatever came instead) and returns 1. */
static int report_problem(const struct reply *r)
{
  json_t *p = json_loadb(r->body, r->len, 0, NULL);
  const char *type = json_string_value(json_object_get(p, "type"));
  const char *detail = json_string_value(json_object_get(p, "detail"));
  const char *rid = json_string_value(json_object_get(p, "request_id"));
  if(type)
    fprintf(stderr, "gwctl query: HTTP %ld %s: %s (request %s)\n", r->status, type,
            detail ? detail : "", rid ? rid : r->request_id);
  else
    fprintf(stderr, "gwctl query: HTTP %ld with a %s body that is not a problem document "
            "(request %s)\n", r->status, r->ctype[0] ? r->ctype : "untyped",
            r->request_id[0] ? r->request_id : "?");
  json_decref(p);
  return 1;
}

static int save_body(const char *path, const struct reply *r)
{
  FILE *fp = fopen(path, "wb");
  if(!fp || fwrite(r->body, 1, r->len, fp) != r->len || fclose(fp)) {
    fprintf(stderr, "gwctl query: %s: %s\n", path, strerror(errno));
    if(fp)
      fclose(fp);
    return -1;
  }
  return 0;
}

int gwctl_query(int argc, char **argv)
{
  static const struct option opts[] = {
    { "stack", required_argument, NULL, 's' },
    { "client", required_argument, NULL, 'C' },
    { "url", required_argument, NULL, 'u' },
    { "cacert", required_argument, NULL, 'a' },
    { "cert", required_argument, NULL, 'c' },
    { "key", required_argument, NULL, 'k' },
    { "id", required_argument, NULL, 'i' },
    { "name", required_argument, NULL, 'n' },
    { "facts", required_argument, NULL, 'f' },
    { "purpose", required_argument, NULL, 'p' },
    { "case-ref", required_argument, NULL, 'r' },
    { "max-age", required_argument, NULL, 'm' },
    { "deadline", required_argument, NULL, 'd' },
    { "sign", no_argument, NULL, 'S' },
    { "save", required_argument, NULL, 'o' },
    { "json", no_argument, NULL, 'J' },
    { NULL, 0, NULL, 0 }
  };
  struct conn c = { NULL, NULL, NULL, NULL };
  struct reply r = { 0 }, kr = { 0 };
  const char *stack = NULL, *client = "engine", *id = NULL, *name = NULL, *facts_arg = NULL;
  const char *purpose = NULL, *case_ref = NULL, *save = NULL;
  long max_age = -1, deadline = -1;
  int sign = 0, as_json = 0, opt, rc = 2, invalid = 0;
  struct gw_jws_key **keys = NULL;
  size_t n_keys = 0;
  json_t *req = NULL, *facts = NULL, *resp = NULL;
  char *body = NULL, err[512], jwks_problem[600] = "";

  optind = 1;
  while((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch(opt) {
    case 's': stack = optarg; break;
    case 'C': client = optarg; break;
    case 'u': gw_free(c.url); c.url = gw_strdup(optarg); break;
    case 'a': gw_free(c.cacert); c.cacert = gw_strdup(optarg); break;
    case 'c': gw_free(c.cert); c.cert = gw_strdup(optarg); break;
    case 'k': gw_free(c.key); c.key = gw_strdup(optarg); break;
    case 'i': id = optarg; break;
    case 'n': name = optarg; break;
    case 'f': facts_arg = optarg; break;
    case 'p': purpose = optarg; break;
    case 'r': case_ref = optarg; break;
    case 'm':
      if(parse_int(optarg, 0, 31L * 86400, &max_age)) {
        fprintf(stderr, "gwctl query: --max-age wants seconds from 0 to %ld\n", 31L * 86400);
        goto out;
      }
      break;
    case 'd':
      if(parse_int(optarg, 1, 3600000, &deadline)) {
        fprintf(stderr, "gwctl query: --deadline wants milliseconds from 1 to 3600000\n");
        goto out;
      }
      break;
    case 'S': sign = 1; break;
    case 'o': save = optarg; break;
    case 'J': as_json = 1; break;
    default: usage(stderr); goto out;
    }
  }
  if(optind != argc || !id || !name || !facts_arg || !purpose) {
    usage(stderr);
    goto out;
  }
  if(stack && load_stack(stack, client, &c))
    goto out;
  if(!c.url || !c.cacert || !c.cert || !c.key) {
    fprintf(stderr, "gwctl query: give --stack, or all of --url, --cacert, --cert and --key\n");
    goto out;
  }
  if(strncmp(c.url, "https://", 8)) {
    fprintf(stderr, "gwctl query: %s: only https:// URLs are accepted\n", c.url);
    goto out;
  }
  for(size_t n = strlen(c.url); n > 8 && c.url[n - 1] == '/'; n--)
    c.url[n - 1] = '\0';
  facts = split_facts(facts_arg);
  if(!facts) {
    fprintf(stderr, "gwctl query: --facts wants 1 to %d comma-separated fact names\n",
            QUERY_MAX_FACTS);
    goto out;
  }

  req = json_pack("{s:{s:s, s:s, s:s}, s:O, s:s}",
                  "subject", "id_type", "cn-resident-id", "id", id, "name", name,
                  "facts", facts, "purpose", purpose);
  if(!req) {
    fprintf(stderr, "gwctl query: --id, --name and --purpose must be UTF-8 text\n");
    goto out;
  }
  if(case_ref)
    json_object_set_new(req, "case_ref", json_string(case_ref));
  if(deadline >= 0)
    json_object_set_new(req, "deadline_ms", json_integer(deadline));
  if(max_age >= 0)
    json_object_set_new(req, "max_age_s", json_integer(max_age));
  if(sign)
    json_object_set_new(req, "sign", json_true());
  body = json_dumps(req, JSON_COMPACT | JSON_PRESERVE_ORDER);

  rc = 1;
  /* the gateway bounds the query by its deadline; this only guards the transport */
  if(http_call(&c, "/v1/facts/query", body, QUERY_MAX_RESPONSE,
               (deadline >= 0 ? deadline : QUERY_DEFAULT_BOUND_MS) + QUERY_TIMEOUT_SLACK_MS,
               &r, err, sizeof(err))) {
    fprintf(stderr, "gwctl query: %s\n", err);
    goto out;
  }
  if(save && save_body(save, &r))
    goto out;
  if(as_json) {
    fwrite(r.body, 1, r.len, stdout);
    if(r.len && r.body[r.len - 1] != '\n')
      putchar('\n');
    if(r.status != 200)
      report_problem(&r);
    rc = r.status == 200 ? 0 : 1;
    goto out;
  }
  if(r.status != 200) {
    rc = report_problem(&r);
    goto out;
  }
  resp = json_loadb(r.body, r.len, JSON_REJECT_DUPLICATES, NULL);
  if(!json_is_object(resp) || !json_is_object(json_object_get(resp, "facts"))) {
    fprintf(stderr, "gwctl query: HTTP 200 but the body is not a query response (request %s)\n",
            r.request_id);
    goto out;
  }

  /* The keys: over the same TLS settings as the query (the gateway may
   * require a client certificate even for its public endpoints). */
  if(http_call(&c, "/v1/keys", NULL, GW_JWS_JWKS_MAX, QUERY_TIMEOUT_SLACK_MS, &kr, err,
               sizeof(err)))
    snprintf(jwks_problem, sizeof(jwks_problem), "no JWKS: %s", err);
  else if(kr.status != 200)
    snprintf(jwks_problem, sizeof(jwks_problem), "no JWKS: HTTP %ld", kr.status);
  else if(gw_jws_jwks_import(kr.body, kr.len, &keys, &n_keys) != GW_JWS_OK)
    snprintf(jwks_problem, sizeof(jwks_problem), "the JWKS holds no usable ES256 key");

  {
    const json_t *audit = json_object_get(resp, "audit");
    const char *cref = json_string_value(json_object_get(resp, "case_ref"));
    printf("query    %s  (request %s)\n", json_string_value(json_object_get(resp, "query_id")),
           r.request_id[0] ? r.request_id : "?");
    printf("subject  %s  purpose %s%s%s\n",
           json_string_value(json_object_get(resp, "subject_ref")),
           json_string_value(json_object_get(resp, "purpose")),
           cref ? "  case " : "", cref ? cref : "");
    printf("\n");
    print_table(resp, keys, n_keys, jwks_problem, &invalid);
    printf("\n");
    printf("complete %s\n", json_is_true(json_object_get(resp, "complete"))
                            ? "yes (every fact answered: ok or no record)"
                            : "no (see the facts that are unavailable or denied)");
    printf("audit    index %lld in log %s\n",
           (long long)json_integer_value(json_object_get(audit, "index")),
           json_string_value(json_object_get(audit, "log_id")) ?
           json_string_value(json_object_get(audit, "log_id")) : "?");
  }
  if(sign) {
    const struct gw_jws_key *used = NULL;
    enum gw_jws_result vr;
    if(!r.signature) {
      printf("response signature  MISSING (asked with --sign)\n");
      invalid++;
    }
    else if(!n_keys)
      printf("response signature  unchecked (%s)\n", jwks_problem);
    else if((vr = gw_jws_verify_detached_set((const struct gw_jws_key *const *)keys, n_keys,
                                             NULL, r.signature, strlen(r.signature),
                                             r.body, r.len, &used)) == GW_JWS_OK)
      printf("response signature  verified (kid %s) over the exact %zu body bytes\n",
             gw_jws_key_kid(used), r.len);
    else {
      printf("response signature  INVALID (%s)\n", gw_jws_strerror(vr));
      invalid++;
    }
  }
  if(invalid)
    fprintf(stderr, "gwctl query: %d signature(s) did NOT verify: do not rely on this answer\n",
            invalid);
  rc = 0;

out:
  gw_jws_keys_free(keys, n_keys);
  json_decref(resp);
  json_decref(req);
  json_decref(facts);
  free(body);
  reply_free(&r);
  reply_free(&kr);
  gw_free(c.url);
  gw_free(c.cacert);
  gw_free(c.cert);
  gw_free(c.key);
  return rc;
}
