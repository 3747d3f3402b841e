/*
 * oauth.c - client-credentials tokens, one cache per worker, single-flight.
 *
 * An entry per (token_url, client_id, scope) holds the current token, the
 * fetch in flight if any, and the requests waiting for it.  The one idea:
 * a waiter is only ever answered from the event loop, either by the fetch
 * completing (fetch_done, from the upstream engine's completion callback)
 * or by the deferred "kick" event for cache hits; so gw_oauth_get() never
 * calls back into its caller, and a waiter list is detached before it is
 * walked, which lets callbacks cancel, ask again or invalidate freely.
 *
 * Secrets are copied (the latest gw_oauth_get wins, so a rotated secret
 * takes effect at the next fetch) and wiped with OPENSSL_cleanse when
 * replaced or freed, as are tokens and the encoded credentials.  Nothing
 * here logs a secret, a token or the Authorization header; tokens appear
 * in logs as a SHA-256 prefix.
 */
#include "gw/oauth.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <sys/queue.h>
#include <strings.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "gw/alloc.h"
#include "gw/b64.h"
#include "gw/log.h"

#define OAUTH_MAGIC 0x6f617574U   /* "oaut" */
#define WAIT_MAGIC  0x77616974U   /* "wait" */

#define ERROR_CODE_LEN 64          /* an endpoint's "error" code we keep */
#define FORM_LEN(n)    (3 * (n) + 1)
/* "Basic " + base64 of enc(id) ":" enc(secret) */
#define AUTH_LEN       (6 + 4 * ((2 * FORM_LEN(GW_OAUTH_MAX_CRED_LEN) + 2) / 3) + 8)
#define BODY_LEN       (64 + FORM_LEN(GW_OAUTH_MAX_CRED_LEN))

enum wait_state { W_WAITING, W_DELIVERING };

struct wait_list {
  TAILQ_HEAD(, gw_oauth_wait) q;   /* in arrival order */
  size_t n;
};

struct gw_oauth_wait {
  unsigned magic;
  enum wait_state state;
  struct wait_list *list;        /* the list it is on now */
  TAILQ_ENTRY(gw_oauth_wait) link;
  gw_oauth_fn *cb;
  void *arg;
};

struct entry {
  SLIST_ENTRY(entry) next;
  struct gw_oauth *o;
  char *token_url, *client_id, *scope;       /* the key; scope "" = none */
  char *secret;                              /* wiped when replaced */
  char *ca_file, *client_cert, *client_key, *pin;
  char **cidrs;
  size_t n_cidrs;
  long connect_timeout_ms, timeout_ms;
  char *token;                               /* NULL = none; wiped */
  size_t token_len;
  char token_id[GW_OAUTH_TOKEN_ID_LEN];
  int64_t expires_at;
  struct gw_upstream_exchange *fetch;        /* in flight, or NULL */
  int64_t fetch_started;
  struct wait_list waiters;
};

struct gw_oauth {
  unsigned magic;
  struct gw_upstream *up;
  gw_oauth_clock_fn *now;
  void *clock_arg;
  struct event *kick;            /* deferred answers from the cache */
  SLIST_HEAD(, entry) entries;   /* newest first */
  size_t n_entries;
  int dispatching;               /* waiter callbacks on the stack */
};

const char *gw_oauth_status_name(enum gw_oauth_status s)
{
  static const char *const names[] = {
    "ok", "transport", "rejected", "endpoint_error", "bad_response"
  };
  return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}

static int64_t monotonic_ms(void *arg)
{
  struct timespec ts;
  (void)arg;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t now_ms(const struct gw_oauth *o)
{
  return o->now(o->clock_arg);
}

static void wipe_free(char *s)
{
  if(s) {
    OPENSSL_cleanse(s, strlen(s));
    gw_free(s);
  }
}

/* Replaces *field by a copy of v (NULL stays NULL) unless it is equal. */
static void set_str(char **field, const char *v, int secret)
{
  if((!*field && !v) || (*field && v && !strcmp(*field, v)))
    return;
  if(secret)
    wipe_free(*field);
  else
    gw_free(*field);
  *field = v ? gw_strdup(v) : NULL;
}

static void token_id(const char *token, size_t len, char out[GW_OAUTH_TOKEN_ID_LEN])
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;

  if(!EVP_Digest(token, len, md, &mdlen, EVP_sha256(), NULL) || mdlen < 8) {
    snprintf(out, GW_OAUTH_TOKEN_ID_LEN, "unknown");
    return;
  }
  gw_hex_encode(md, 8, out);
}

/* ---- waiters ------------------------------------------------------------ */

static void wait_list_init(struct wait_list *l)
{
  TAILQ_INIT(&l->q);
  l->n = 0;
}

static void wait_append(struct wait_list *l, struct gw_oauth_wait *w)
{
  w->list = l;
  TAILQ_INSERT_TAIL(&l->q, w, link);
  l->n++;
}

static void wait_unlink(struct gw_oauth_wait *w)
{
  struct wait_list *l = w->list;
  TAILQ_REMOVE(&l->q, w, link);
  l->n--;
  w->list = NULL;
}

/* Answers every waiter of `e` with `t`.  The list is detached first: a
 * callback may cancel another waiter (it unlinks from the local list), ask
 * again (it joins e's fresh list) or invalidate the token (t holds a copy). */
static void deliver_all(struct entry *e, const struct gw_oauth_token *t)
{
  struct gw_oauth *o = e->o;
  struct wait_list local;
  struct gw_oauth_wait *w;

  wait_list_init(&local);
  TAILQ_CONCAT(&local.q, &e->waiters.q, link);
  local.n = e->waiters.n;
  e->waiters.n = 0;
  TAILQ_FOREACH(w, &local.q, link)
    w->list = &local;
  while((w = TAILQ_FIRST(&local.q))) {
    wait_unlink(w);
    w->state = W_DELIVERING;
    o->dispatching++;
    w->cb(t, w->arg);
    o->dispatching--;
    w->magic = 0;
    gw_free(w);
  }
}

/* ---- the token request -------------------------------------------------- */

/* application/x-www-form-urlencoded (RFC 6749 appendix B): out must hold
 * FORM_LEN(strlen(s)). */
static void form_encode(const char *s, char *out)
{
  static const char hex[] = "0123456789ABCDEF";
  for(; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
       c == '-' || c == '.' || c == '_' || c == '*')
      *out++ = (char)c;
    else if(c == ' ')
      *out++ = '+';
    else {
      *out++ = '%';
      *out++ = hex[c >> 4];
      *out++ = hex[c & 15];
    }
  }
  *out = '\0';
}

static void fetch_done(struct gw_upstream_exchange *ex, const struct gw_upstream_result *res,
                       void *arg);

/* Starts the token request of `e` (client authentication by HTTP Basic
 * with form-encoded id and secret, RFC 6749 2.3.1). */
static enum gw_upstream_start_result fetch_start(struct entry *e)
{
  char id[FORM_LEN(GW_OAUTH_MAX_CRED_LEN)], secret[FORM_LEN(GW_OAUTH_MAX_CRED_LEN)];
  char pair[2 * FORM_LEN(GW_OAUTH_MAX_CRED_LEN) + 1], auth[AUTH_LEN];
  char body[BODY_LEN];
  struct gw_upstream_header h[3];
  struct gw_upstream_request req;
  enum gw_upstream_start_result r;
  int n;

  form_encode(e->client_id, id);
  form_encode(e->secret, secret);
  n = snprintf(pair, sizeof(pair), "%s:%s", id, secret);
  memcpy(auth, "Basic ", 6);
  EVP_EncodeBlock((unsigned char *)auth + 6, (const unsigned char *)pair, n);
  if(e->scope[0]) {
    char scope[FORM_LEN(GW_OAUTH_MAX_CRED_LEN)];
    form_encode(e->scope, scope);
    snprintf(body, sizeof(body), "grant_type=client_credentials&scope=%s", scope);
  }
  else
    snprintf(body, sizeof(body), "grant_type=client_credentials");

  h[0] = (struct gw_upstream_header){ "Authorization", auth, 0 };
  h[1] = (struct gw_upstream_header){ "Content-Type", "application/x-www-form-urlencoded", 0 };
  h[2] = (struct gw_upstream_header){ "Accept", "application/json", 0 };
  memset(&req, 0, sizeof(req));
  req.url = e->token_url;
  req.method = "POST";
  req.headers = h;
  req.n_headers = 3;
  req.body = body;
  req.body_len = strlen(body);
  req.tls.ca_file = e->ca_file;
  req.tls.client_cert = e->client_cert;
  req.tls.client_key = e->client_key;
  req.tls.pin_sha256 = e->pin;
  req.allowed_cidrs = (const char *const *)e->cidrs;
  req.n_allowed_cidrs = e->n_cidrs;
  req.connect_timeout_ms = e->connect_timeout_ms;
  req.timeout_ms = e->timeout_ms;
  req.max_response_bytes = GW_OAUTH_MAX_RESPONSE;
  req.on_done = fetch_done;
  req.arg = e;
  e->fetch_started = now_ms(e->o);
  r = gw_upstream_start(e->o->up, &req, &e->fetch);
  OPENSSL_cleanse(secret, sizeof(secret));
  OPENSSL_cleanse(pair, sizeof(pair));
  OPENSSL_cleanse(auth, sizeof(auth));
  return r;
}

/* access_token syntax of RFC 6750 2.1 (b64token): what may follow "Bearer ". */
static int b64token_ok(const char *s, size_t len)
{
  size_t i = 0;
  while(i < len && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                    (s[i] >= '0' && s[i] <= '9') || strchr("-._~+/", s[i])))
    i++;
  if(i == 0)
    return 0;
  while(i < len && s[i] == '=')
    i++;
  return i == len;
}

/* RFC 6749 5.2 "error": %x20-21 / %x23-5B / %x5D-7E; copied only if valid. */
static void copy_error_code(json_t *doc, char *out, size_t outlen)
{
  const char *s = json_string_value(json_object_get(doc, "error"));
  size_t len = s ? strlen(s) : 0;

  out[0] = '\0';
  if(!len || len >= outlen)
    return;
  for(size_t i = 0; i < len; i++)
    if(s[i] < 0x20 || s[i] > 0x7e || s[i] == '"' || s[i] == '\\')
      return;
  memcpy(out, s, len + 1);
}

/* Reads a token response; on GW_OAUTH_OK *token is a gw_malloc'ed copy. */
static enum gw_oauth_status parse_response(const struct gw_upstream_result *res, char **token,
                                           int64_t *expires_in_s, char *code, char *detail,
                                           size_t dlen)
{
  enum gw_oauth_status st = GW_OAUTH_BAD_RESPONSE;
  json_t *doc, *v;
  json_error_t jerr;
  const char *s;
  size_t len;

  *token = NULL;
  code[0] = '\0';
  if(res->outcome == GW_UP_TOO_LARGE) {
    /* the endpoint answered, with more than any token response needs */
    snprintf(detail, dlen, "token response too large: %s", res->detail);
    return GW_OAUTH_BAD_RESPONSE;
  }
  if(res->outcome != GW_UP_OK) {
    snprintf(detail, dlen, "%s", res->detail);
    return GW_OAUTH_TRANSPORT;
  }
  doc = json_loadb((const char *)res->body, res->body_len, JSON_REJECT_DUPLICATES, &jerr);
  if(res->status != 200) {
    st = (res->status == 400 || res->status == 401 || res->status == 403)
         ? GW_OAUTH_REJECTED : GW_OAUTH_ENDPOINT_ERROR;
    if(json_is_object(doc))
      copy_error_code(doc, code, ERROR_CODE_LEN);
    snprintf(detail, dlen, "token endpoint answered %ld%s%s", res->status,
             code[0] ? ": " : "", code);
    goto out;
  }
  if(!json_is_object(doc)) {
    snprintf(detail, dlen, "token response is not a JSON object");
    goto out;
  }
  s = json_string_value(json_object_get(doc, "token_type"));
  if(!s || strcasecmp(s, "Bearer")) {
    snprintf(detail, dlen, "token_type is not Bearer");
    goto out;
  }
  v = json_object_get(doc, "access_token");
  s = json_string_value(v);
  len = s ? json_string_length(v) : 0;
  if(!s || len > GW_OAUTH_MAX_TOKEN_LEN || !b64token_ok(s, len)) {
    snprintf(detail, dlen, "access_token is missing, too long or not a bearer token");
    goto out;
  }
  v = json_object_get(doc, "expires_in");
  if(!v)
    *expires_in_s = GW_OAUTH_DEFAULT_EXPIRES_S;
  else if(json_is_integer(v) && json_integer_value(v) > 0)
    *expires_in_s = json_integer_value(v);
  else {
    snprintf(detail, dlen, "expires_in is not a positive integer");
    goto out;
  }
  if(*expires_in_s > GW_OAUTH_MAX_EXPIRES_S)
    *expires_in_s = GW_OAUTH_MAX_EXPIRES_S;
  *token = gw_strndup(s, len);
  detail[0] = '\0';
  st = GW_OAUTH_OK;

out:
  json_decref(doc);   /* jansson frees without wiping: the token lived briefly in it */
  return st;
}

static void drop_token(struct entry *e)
{
  wipe_free(e->token);
  e->token = NULL;
  e->token_len = 0;
  e->token_id[0] = '\0';
  e->expires_at = 0;
}

/* Lifetime minus min(GW_OAUTH_SKEW_MAX_MS, GW_OAUTH_SKEW_PERCENT %), from
 * the start of the fetch: a token is never used in its last moments. */
static int64_t expiry(int64_t started, int64_t expires_in_s)
{
  int64_t life = expires_in_s * 1000;
  int64_t skew = life * GW_OAUTH_SKEW_PERCENT / 100;
  if(skew > GW_OAUTH_SKEW_MAX_MS)
    skew = GW_OAUTH_SKEW_MAX_MS;
  return started + life - skew;
}

static void fetch_done(struct gw_upstream_exchange *ex, const struct gw_upstream_result *res,
                       void *arg)
{
  struct entry *e = arg;
  struct gw_oauth_token t;
  char code[ERROR_CODE_LEN], detail[GW_UP_DETAIL_LEN];
  char *token = NULL;
  int64_t expires_in = 0;

  (void)ex;
  e->fetch = NULL;
  memset(&t, 0, sizeof(t));
  t.status = parse_response(res, &token, &expires_in, code, detail, sizeof(detail));
  t.http_status = res->status;
  t.detail = detail;
  if(t.status == GW_OAUTH_OK) {
    drop_token(e);
    e->token = gw_strdup(token);
    e->token_len = strlen(token);
    token_id(token, e->token_len, e->token_id);
    e->expires_at = expiry(e->fetch_started, expires_in);
    t.access_token = token;
    t.token_id = e->token_id;
    t.expires_at_ms = e->expires_at;
    gw_log_fields(GW_LOG_INFO, "oauth_token_fetched",
                  json_pack("{s:s, s:s, s:I, s:I}", "client_id", e->client_id,
                            "token_id", e->token_id, "expires_in", (json_int_t)expires_in,
                            "fetch_us", (json_int_t)res->total_us));
  }
  else {
    t.transport = res->outcome;
    t.error = code[0] ? code : NULL;
    gw_log_fields(GW_LOG_WARN, "oauth_token_error",
                  json_pack("{s:s, s:s, s:s, s:i, s:s, s:s}", "client_id", e->client_id,
                            "status", gw_oauth_status_name(t.status),
                            "transport", gw_upstream_outcome_name(res->outcome),
                            "http_status", (int)res->status, "error", code, "detail", detail));
  }
  deliver_all(e, &t);
  wipe_free(token);
}

/* ---- the cache ---------------------------------------------------------- */

static int token_valid(const struct gw_oauth *o, const struct entry *e)
{
  return e->token && now_ms(o) < e->expires_at;
}

static void deliver_cached(struct entry *e)
{
  struct gw_oauth_token t;
  char *copy = gw_strdup(e->token);
  char id[GW_OAUTH_TOKEN_ID_LEN];

  memcpy(id, e->token_id, sizeof(id));
  memset(&t, 0, sizeof(t));
  t.status = GW_OAUTH_OK;
  t.access_token = copy;
  t.token_id = id;
  t.cached = 1;
  t.expires_at_ms = e->expires_at;
  t.http_status = 200;
  t.detail = "";
  deliver_all(e, &t);
  wipe_free(copy);
}

static void deliver_start_failure(struct entry *e, enum gw_upstream_start_result r)
{
  struct gw_oauth_token t;

  memset(&t, 0, sizeof(t));
  t.status = GW_OAUTH_TRANSPORT;
  t.transport = GW_UP_INTERNAL;
  t.detail = r == GW_UP_START_BUSY ? "upstream engine busy" : "token request refused";
  deliver_all(e, &t);
}

/* Deferred: answers waiters from valid tokens, fetches for the others. */
static void on_kick(evutil_socket_t fd, short what, void *arg)
{
  struct gw_oauth *o = arg;

  (void)fd;
  (void)what;
  /* Entries are never removed while the cache lives, so walking the list
   * stays valid whatever the callbacks do (new entries go to the head). */
  for(struct entry *e = SLIST_FIRST(&o->entries); e; e = SLIST_NEXT(e, next)) {
    if(TAILQ_EMPTY(&e->waiters.q) || e->fetch)
      continue;
    if(token_valid(o, e))
      deliver_cached(e);
    else {
      enum gw_upstream_start_result r = fetch_start(e);
      if(r != GW_UP_START_OK)
        deliver_start_failure(e, r);
    }
  }
}

static int scope_ok(const char *s)
{
  size_t len = strlen(s);
  if(len > GW_OAUTH_MAX_CRED_LEN || (len && (s[0] == ' ' || s[len - 1] == ' ')))
    return 0;
  for(size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if(c == ' ' ? s[i + 1] == ' ' : (c < 0x21 || c > 0x7e || c == '"' || c == '\\'))
      return 0;
  }
  return 1;
}

static int client_ok(const struct gw_oauth_client *c)
{
  size_t id = c->client_id ? strnlen(c->client_id, GW_OAUTH_MAX_CRED_LEN + 1) : 0;
  size_t sec = c->client_secret ? strnlen(c->client_secret, GW_OAUTH_MAX_CRED_LEN + 1) : 0;

  return c->token_url && id && id <= GW_OAUTH_MAX_CRED_LEN && sec &&
         sec <= GW_OAUTH_MAX_CRED_LEN && (!c->scope || scope_ok(c->scope)) &&
         c->timeout_ms > 0 && c->n_allowed_cidrs <= GW_UP_MAX_CIDRS &&
         (!c->n_allowed_cidrs || c->allowed_cidrs);
}

static struct entry *entry_find(struct gw_oauth *o, const struct gw_oauth_client *c)
{
  const char *scope = c->scope ? c->scope : "";
  for(struct entry *e = SLIST_FIRST(&o->entries); e; e = SLIST_NEXT(e, next))
    if(!strcmp(e->token_url, c->token_url) && !strcmp(e->client_id, c->client_id) &&
       !strcmp(e->scope, scope))
      return e;
  return NULL;
}

/* Takes the latest secret and transport settings of `c`. */
static void entry_update(struct entry *e, const struct gw_oauth_client *c)
{
  int same = e->n_cidrs == c->n_allowed_cidrs;

  set_str(&e->secret, c->client_secret, 1);
  set_str(&e->ca_file, c->tls.ca_file, 0);
  set_str(&e->client_cert, c->tls.client_cert, 0);
  set_str(&e->client_key, c->tls.client_key, 0);
  set_str(&e->pin, c->tls.pin_sha256, 0);
  e->connect_timeout_ms = c->connect_timeout_ms;
  e->timeout_ms = c->timeout_ms;
  for(size_t i = 0; same && i < e->n_cidrs; i++)
    same = c->allowed_cidrs[i] && !strcmp(e->cidrs[i], c->allowed_cidrs[i]);
  if(same)
    return;
  for(size_t i = 0; i < e->n_cidrs; i++)
    gw_free(e->cidrs[i]);
  gw_free(e->cidrs);
  e->cidrs = NULL;
  e->n_cidrs = c->n_allowed_cidrs;
  if(e->n_cidrs) {
    e->cidrs = gw_calloc(e->n_cidrs, sizeof(char *));
    for(size_t i = 0; i < e->n_cidrs; i++)
      e->cidrs[i] = gw_strdup(c->allowed_cidrs[i] ? c->allowed_cidrs[i] : "");
  }
}

static void entry_free(struct entry *e)
{
  struct gw_oauth_wait *w;

  if(e->fetch)
    gw_upstream_cancel(e->fetch);
  while((w = TAILQ_FIRST(&e->waiters.q))) {
    wait_unlink(w);
    w->magic = 0;
    gw_free(w);
  }
  drop_token(e);
  wipe_free(e->secret);
  gw_free(e->token_url);
  gw_free(e->client_id);
  gw_free(e->scope);
  gw_free(e->ca_file);
  gw_free(e->client_cert);
  gw_free(e->client_key);
  gw_free(e->pin);
  for(size_t i = 0; i < e->n_cidrs; i++)
    gw_free(e->cidrs[i]);
  gw_free(e->cidrs);
  gw_free(e);
}

struct gw_oauth *gw_oauth_new(struct gw_upstream *up, gw_oauth_clock_fn *now, void *clock_arg)
{
  struct gw_oauth *o = gw_calloc(1, sizeof(*o));
  SLIST_INIT(&o->entries);

  o->magic = OAUTH_MAGIC;
  o->up = up;
  o->now = now ? now : monotonic_ms;
  o->clock_arg = clock_arg;
  o->kick = event_new(gw_upstream_base(up), -1, 0, on_kick, o);
  if(!o->kick) {
    gw_free(o);
    return NULL;
  }
  return o;
}

void gw_oauth_free(struct gw_oauth *o)
{
  if(!o)
    return;
  assert(o->magic == OAUTH_MAGIC);
  assert(o->dispatching == 0);    /* never from one of its own callbacks */
  while(!SLIST_EMPTY(&o->entries)) {
    struct entry *e = SLIST_FIRST(&o->entries);
    SLIST_REMOVE_HEAD(&o->entries, next);
    entry_free(e);
  }
  event_free(o->kick);
  o->magic = 0;
  gw_free(o);
}

enum gw_oauth_get_result gw_oauth_get(struct gw_oauth *o, const struct gw_oauth_client *c,
                                      gw_oauth_fn *cb, void *arg, struct gw_oauth_wait **wait)
{
  struct entry *e;
  struct gw_oauth_wait *w;
  enum gw_upstream_start_result r;

  assert(o && o->magic == OAUTH_MAGIC);
  if(wait)
    *wait = NULL;
  if(!cb || !client_ok(c))
    return GW_OAUTH_GET_BAD_CLIENT;
  e = entry_find(o, c);
  if(!e) {
    if(o->n_entries >= GW_OAUTH_MAX_ENTRIES)
      return GW_OAUTH_GET_BUSY;
    e = gw_calloc(1, sizeof(*e));
    wait_list_init(&e->waiters);
    e->o = o;
    e->token_url = gw_strdup(c->token_url);
    e->client_id = gw_strdup(c->client_id);
    e->scope = gw_strdup(c->scope ? c->scope : "");
    SLIST_INSERT_HEAD(&o->entries, e, next);
    o->n_entries++;
  }
  if(e->waiters.n >= GW_OAUTH_MAX_WAITERS)
    return GW_OAUTH_GET_BUSY;
  entry_update(e, c);
  w = gw_calloc(1, sizeof(*w));
  w->magic = WAIT_MAGIC;
  w->state = W_WAITING;
  w->cb = cb;
  w->arg = arg;
  wait_append(&e->waiters, w);
  if(!e->fetch) {
    if(token_valid(o, e))
      event_active(o->kick, EV_TIMEOUT, 0);
    else if((r = fetch_start(e)) != GW_UP_START_OK) {
      wait_unlink(w);
      w->magic = 0;
      gw_free(w);
      if(!TAILQ_EMPTY(&e->waiters.q)) /* earlier waiters: the kick answers them */
        event_active(o->kick, EV_TIMEOUT, 0);
      return r == GW_UP_START_BUSY ? GW_OAUTH_GET_BUSY : GW_OAUTH_GET_BAD_CLIENT;
    }
  }
  if(wait)
    *wait = w;
  return GW_OAUTH_GET_OK;
}

void gw_oauth_cancel(struct gw_oauth_wait *w)
{
  if(!w)
    return;
  assert(w->magic == WAIT_MAGIC);
  if(w->state == W_DELIVERING)     /* inside its own callback */
    return;
  wait_unlink(w);
  w->magic = 0;
  gw_free(w);
}

enum gw_oauth_invalidate_result gw_oauth_invalidate(struct gw_oauth *o,
                                                    const struct gw_oauth_client *c,
                                                    const char *token_used)
{
  struct entry *e;
  size_t len;

  assert(o && o->magic == OAUTH_MAGIC);
  if(!c || !c->token_url || !c->client_id || !token_used)
    return GW_OAUTH_NOT_CURRENT;
  e = entry_find(o, c);
  len = strlen(token_used);
  if(!e || !e->token || len != e->token_len || CRYPTO_memcmp(e->token, token_used, len))
    return GW_OAUTH_NOT_CURRENT;
  gw_log_fields(GW_LOG_INFO, "oauth_token_invalidated",
                json_pack("{s:s, s:s}", "client_id", e->client_id, "token_id", e->token_id));
  drop_token(e);
  return GW_OAUTH_INVALIDATED;
}
