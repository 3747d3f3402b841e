/*
 * upstream.c - HTTPS exchanges on a libcurl multi handle driven by libevent.
 *
 * The glue is curl's hiperfifo pattern: libcurl tells us which sockets to
 * watch (sock_cb) and when to wake it (timer_cb, one libevent timer); the
 * loop tells libcurl what happened (curl_multi_socket_action) and we then
 * collect finished transfers (drain_done).  Each exchange is a struct
 * gw_upstream_exchange found again through CURLOPT_PRIVATE, with a named
 * state changed only by xstate_set(), which logs the transition.
 *
 * The one idea: the engine decides nothing about the agency and trusts
 * nothing from it.  Everything the caller asks for is validated before a
 * socket exists (upstream_req.c: a refused request never touches the
 * network); every
 * byte coming back is counted against a cap and the transfer is aborted the
 * moment a cap is crossed; the peer address is checked before connecting
 * (opensocket) and again before sending on a reused connection (prereq).
 *
 * Exchanges are freed only at safe points: right after their completion
 * callback has returned, or in gw_upstream_cancel() (a no-op inside the
 * exchange's own callback).  If libevent ever refuses a registration,
 * libcurl marks the multi handle dead; the engine then rebuilds it from a
 * deferred event and fails the exchanges that were on it with
 * GW_UP_INTERNAL instead of letting them hang until their deadlines.
 */
#include "gw/upstream.h"

#include <arpa/inet.h>
#include <assert.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/queue.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include "gw/alloc.h"
#include "gw/log.h"
#include "gw/policy.h"
#include "upstream_int.h"

#if LIBCURL_VERSION_NUM < 0x075500
#error "libcurl >= 7.85 is required (CURLOPT_PROTOCOLS_STR)"
#endif

#define UP_MAGIC 0x75707374U   /* "upst" */
#define EX_MAGIC 0x78636867U   /* "xchg" */

/* The same defaults as the config file's upstream.* keys (config.c,
 * docs/operations.md).  The per-host cap used to be 16 per worker, which
 * with two workers held every agency to 32 exchanges in flight whatever
 * its policy.max_concurrency said; and a connection cache of 64 made
 * busy agencies reconnect (a full TLS handshake) after every burst. */
#define DEFAULT_MAX_HOST_CONNECTIONS  1024L
#define DEFAULT_MAX_TOTAL_CONNECTIONS 4096L
#define DEFAULT_MAX_IDLE_CONNECTIONS  1024L
#define DEFAULT_MAX_IDLE_AGE_S        55L
#define DEFAULT_MAX_EXCHANGES         8192
#define BODY_INITIAL_CAP              16384   /* first body allocation */
#define SPARE_EASY_MAX                256     /* idle easy handles kept for reuse */
#define TCP_KEEPIDLE_S                30L
#define TCP_KEEPINTVL_S               10L
#define CA_CACHE_TIMEOUT_S            60L     /* a CA file replaced in place is
                                               * picked up within this */
#define USER_AGENT                    "agency-gateway"

/* An exchange's life:
 *   NEW -> QUEUED -> CONNECTING -> SENDING -> RECEIVING -> COMPLETING -> DONE
 * CONNECTING is skipped on a reused connection; any state before COMPLETING
 * may go to COMPLETING on failure or to CANCELLED.  QUEUED -> OPEN_WAIT ->
 * QUEUED when libcurl wanted a new connection and the host's opening gate
 * was full (open_cb): the exchange leaves the multi until a slot is its. */
enum xstate {
  XS_NEW = 0,        /* being built by gw_upstream_start */
  XS_QUEUED,         /* in the multi, waiting for a connection */
  XS_OPEN_WAIT,      /* out of the multi, waiting for an opening slot */
  XS_CONNECTING,     /* a socket was opened for it */
  XS_SENDING,        /* connected (new or reused), request going out */
  XS_RECEIVING,      /* response head arriving */
  XS_COMPLETING,     /* out of the multi, callback running */
  XS_DONE,           /* callback returned, about to be freed */
  XS_CANCELLED       /* cancelled by the caller, about to be freed */
};

static const char *const xstate_names[] = {
  "new", "queued", "open_wait", "connecting", "sending", "receiving", "completing", "done",
  "cancelled"
};

/* One socket libcurl asked us to watch (curl_multi_assign'ed to it). */
struct sock_info {
  LIST_ENTRY(sock_info) link;   /* in up->socks */
  struct event *ev;
};

struct gw_upstream {
  unsigned magic;
  struct event_base *base;
  CURLM *multi;
  struct event *timer;          /* the one libcurl timeout */
  struct event *repair;         /* deferred rebuild of a dead multi */
  struct gw_upstream_options opt;
  LIST_HEAD(, gw_upstream_exchange) exchanges;  /* in the multi */
  size_t active;
  LIST_HEAD(, sock_info) socks; /* every sock_info alive, freed at the end */
  TAILQ_HEAD(, gw_upstream_exchange) open_waiting;  /* XS_OPEN_WAIT, oldest first */
  uint64_t next_xid;
  int dispatching;              /* completion callbacks on the stack */
  int broken;                   /* a callback failed: libcurl's multi is dead */
  int async_dns;
  /* Easy handles of finished exchanges, curl_easy_reset() and kept: a new
   * handle costs an allocation of several kilobytes and its defaults. */
  CURL *spare_easy[SPARE_EASY_MAX];
  size_t n_spare_easy;
};

struct gw_upstream_exchange {
  unsigned magic;
  struct gw_upstream *up;
  LIST_ENTRY(gw_upstream_exchange) link;  /* in up->exchanges, or a repair's list */
  int in_multi;                 /* counted in up->active */
  enum xstate state;
  uint64_t xid;
  CURL *easy;
  struct gw_upreq rq;           /* the checked request: URL, headers, caps */
  unsigned char *body;
  size_t body_len, body_cap;
  size_t head_bytes;
  int connected;                /* prereq reached: a request went out */
  int too_large;
  int denied;
  int has_client_cert;
  int cert_requested;           /* the server asked for a client certificate */
  struct timespec t_start;      /* handed to the multi */
  int64_t queued_us;            /* start to a connection of its own; -1 until then */
  struct gw_policy_limiter *gate;  /* the host's opening slots, NULL: no bound */
  struct gw_policy_waiter *gwait;  /* OPEN_WAIT: our place in the gate's queue */
  TAILQ_ENTRY(gw_upstream_exchange) wlink;  /* in up->open_waiting while OPEN_WAIT */
  int in_open_waiting;
  int slot;                     /* holds an opening slot */
  int need_slot;                /* open_cb refused for want of a slot */
  struct timespec t_wait;       /* OPEN_WAIT began */
  int64_t open_wait_us;         /* all OPEN_WAITs */
  SSL_CTX *ssl_ctx;             /* our reference to the connection's context */
  char own_detail[GW_UP_DETAIL_LEN];   /* our reason for aborting, if any */
  char errbuf[CURL_ERROR_SIZE];
  gw_upstream_done_fn *on_done;
  void *arg;
};

/* ---- process-wide initialization ---------------------------------------- */

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static char global_err[192];
static int global_ok;
static int global_async_dns;
static int global_ssl_hook;     /* libcurl uses our libssl: hook its SSL_CTX */
static int ssl_ex_index = -1;

static void global_init_once(void)
{
  const curl_version_info_data *vi;
  int https = 0;

  if(curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    snprintf(global_err, sizeof(global_err), "curl_global_init failed");
    return;
  }
  vi = curl_version_info(CURLVERSION_NOW);
  for(const char *const *p = vi->protocols; p && *p; p++)
    https |= !strcmp(*p, "https");
  if(vi->version_num < 0x075500 || !https || !(vi->features & CURL_VERSION_SSL)) {
    snprintf(global_err, sizeof(global_err),
             "libcurl %s lacks HTTPS or is older than 7.85", vi->version);
    return;
  }
  global_async_dns = (vi->features & CURL_VERSION_ASYNCHDNS) != 0;
  /* The SSL_CTX libcurl hands to CURLOPT_SSL_CTX_FUNCTION is only ours to
   * touch if libcurl runs on the very OpenSSL we are linked with. */
  if(vi->ssl_version && !strncmp(vi->ssl_version, "OpenSSL/", 8) &&
     !strcmp(vi->ssl_version + 8, OpenSSL_version(OPENSSL_VERSION_STRING))) {
    ssl_ex_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    global_ssl_hook = ssl_ex_index >= 0;
  }
  global_ok = 1;
}

int gw_upstream_global_init(char *err, size_t errlen)
{
  pthread_once(&global_once, global_init_once);
  if(!global_ok) {
    snprintf(err, errlen, "%s", global_err);
    return -1;
  }
  return 0;
}

/* ---- names -------------------------------------------------------------- */

const char *gw_upstream_outcome_name(enum gw_upstream_outcome o)
{
  static const char *const names[] = {
    "ok", "timeout", "connect", "tls", "too_large", "protocol", "reset",
    "address_denied", "cancelled", "internal"
  };
  return (unsigned)o < sizeof(names) / sizeof(names[0]) ? names[o] : "unknown";
}

const char *gw_upstream_tls_error_name(enum gw_upstream_tls_error e)
{
  static const char *const names[] = { "none", "handshake", "verify", "pin", "local" };
  return (unsigned)e < sizeof(names) / sizeof(names[0]) ? names[e] : "unknown";
}

/* ---- the exchange state machine ----------------------------------------- */

static void xstate_set(struct gw_upstream_exchange *ex, enum xstate to)
{
  enum xstate from = ex->state;

  if(from == to)
    return;
  ex->state = to;
  if(gw_log_enabled(GW_LOG_DEBUG))
    gw_log_fields(GW_LOG_DEBUG, "upstream_state",
                  json_pack("{s:I, s:s, s:s}", "xid", (json_int_t)ex->xid,
                            "from", xstate_names[from], "to", xstate_names[to]));
}

static void ssl_ctx_release(struct gw_upstream_exchange *ex)
{
  if(ex->ssl_ctx) {
    SSL_CTX_set_ex_data(ex->ssl_ctx, ssl_ex_index, NULL);
    SSL_CTX_free(ex->ssl_ctx);
    ex->ssl_ctx = NULL;
  }
}

/* An easy handle with every option at its default: a spare one or new. */
static CURL *easy_take(struct gw_upstream *up)
{
  if(up->n_spare_easy)
    return up->spare_easy[--up->n_spare_easy];
  return curl_easy_init();
}

/* A handle out of the multi goes back with its options reset (what it
 * pointed to, the exchange, is about to be freed). */
static void easy_put(struct gw_upstream *up, CURL *easy)
{
  if(up->n_spare_easy < SPARE_EASY_MAX) {
    curl_easy_reset(easy);
    up->spare_easy[up->n_spare_easy++] = easy;
  }
  else
    curl_easy_cleanup(easy);
}

static void open_unlist(struct gw_upstream_exchange *ex)
{
  if(ex->in_open_waiting) {
    TAILQ_REMOVE(&ex->up->open_waiting, ex, wlink);
    ex->in_open_waiting = 0;
  }
}

/* Gives back what the exchange holds of its host's gate. */
static void gate_leave(struct gw_upstream_exchange *ex)
{
  open_unlist(ex);
  if(ex->gwait) {
    gw_policy_waiter_cancel(ex->gwait, gw_policy_now_ms());
    ex->gwait = NULL;
  }
  if(ex->slot) {
    gw_policy_limiter_release(ex->gate, gw_policy_now_ms());
    ex->slot = 0;
  }
}

static void exchange_free(struct gw_upstream_exchange *ex)
{
  if(!ex)
    return;
  assert(ex->magic == EX_MAGIC);
  gate_leave(ex);
  ssl_ctx_release(ex);
  if(ex->easy)
    easy_put(ex->up, ex->easy);
  gw_upreq_release(&ex->rq);
  gw_free(ex->body);
  ex->magic = 0;
  gw_free(ex);
}

static void exchange_link(struct gw_upstream *up, struct gw_upstream_exchange *ex)
{
  LIST_INSERT_HEAD(&up->exchanges, ex, link);
  ex->in_multi = 1;
  up->active++;
}

static void exchange_unlink(struct gw_upstream_exchange *ex)
{
  struct gw_upstream *up = ex->up;
  LIST_REMOVE(ex, link);
  if(ex->in_multi)
    up->active--;
  ex->in_multi = 0;
}

/* ---- peer checks: address, client certificate --------------------------- */

static void deny(struct gw_upstream_exchange *ex, const char *ip, const char *when)
{
  ex->denied = 1;
  snprintf(ex->own_detail, sizeof(ex->own_detail),
           "peer address %s is not in the allowed list (%s)", ip, when);
}

static int64_t since_us(const struct timespec *t0)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)(t.tv_sec - t0->tv_sec) * 1000000 + (t.tv_nsec - t0->tv_nsec) / 1000;
}

/* The exchange has a connection: a new socket may be opened for it, or an
 * idle one was handed to it.  Until then it waited in libcurl's pending
 * queue (max_host_connections / max_total_connections reached). */
static void got_connection(struct gw_upstream_exchange *ex)
{
  if(ex->queued_us < 0)
    ex->queued_us = since_us(&ex->t_start);
}

/* CURLOPT_OPENSOCKETFUNCTION: a disallowed address is never connected to. */
static curl_socket_t open_cb(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
  struct gw_upstream_exchange *ex = clientp;
  struct sockaddr_storage ss;
  const unsigned char *raw = NULL;
  char ip[INET6_ADDRSTRLEN] = "?";
  curl_socket_t s;

  if(purpose != CURLSOCKTYPE_IPCXN)
    return CURL_SOCKET_BAD;
  memset(&ss, 0, sizeof(ss));
  memcpy(&ss, &a->addr, a->addrlen < sizeof(ss) ? a->addrlen : sizeof(ss));
  if(a->family == AF_INET)
    raw = (const unsigned char *)&((const struct sockaddr_in *)(const void *)&ss)->sin_addr;
  else if(a->family == AF_INET6)
    raw = (const unsigned char *)&((const struct sockaddr_in6 *)(const void *)&ss)->sin6_addr;
  if(!raw || !gw_upreq_address_allowed(ex->rq.cidrs, ex->rq.n_cidrs, a->family, raw)) {
    if(raw)
      inet_ntop(a->family, raw, ip, sizeof(ip));
    deny(ex, ip, "before connecting");
    return CURL_SOCKET_BAD;
  }
  if(ex->gate && !ex->slot) {
    struct gw_policy_waiter *w = NULL;
    uint64_t now = gw_policy_now_ms();
    /* No base: granted at once or refused; waiting is drain_done's. */
    if(gw_policy_limiter_acquire(ex->gate, now, now + 1, NULL, NULL, NULL, &w) !=
       GW_POLICY_LIMIT_GRANTED) {
      ex->need_slot = 1;       /* libcurl fails it with COULDNT_CONNECT */
      snprintf(ex->own_detail, sizeof(ex->own_detail), "waiting for an opening slot");
      return CURL_SOCKET_BAD;
    }
    ex->slot = 1;
    ex->need_slot = 0;
  }
  got_connection(ex);
  xstate_set(ex, XS_CONNECTING);
  s = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
  return s < 0 ? CURL_SOCKET_BAD : s;
}

/* CURLOPT_PREREQFUNCTION: runs on new and reused connections alike, after
 * TLS and before the request is sent, so a connection opened for another
 * exchange without this exchange's allow-list cannot carry its request. */
static int prereq_cb(void *clientp, char *primary_ip, char *local_ip,
                     int primary_port, int local_port)
{
  struct gw_upstream_exchange *ex = clientp;
  unsigned char raw[16];
  int family = 0;

  (void)local_ip;
  (void)primary_port;
  (void)local_port;
  if(ex->rq.n_cidrs) {
    if(inet_pton(AF_INET, primary_ip, raw) == 1)
      family = AF_INET;
    else if(inet_pton(AF_INET6, primary_ip, raw) == 1)
      family = AF_INET6;
    if(!family || !gw_upreq_address_allowed(ex->rq.cidrs, ex->rq.n_cidrs, family, raw)) {
      deny(ex, family ? primary_ip : "?", "before sending");
      return CURL_PREREQFUNC_ABORT;
    }
  }
  ex->connected = 1;
  got_connection(ex);
  if(ex->slot) {               /* the handshake is done: the next may open */
    gw_policy_limiter_release(ex->gate, gw_policy_now_ms());
    ex->slot = 0;
  }
  xstate_set(ex, XS_SENDING);
  return CURL_PREREQFUNC_OK;
}

/* OpenSSL's client_cert_cb runs when a server asks for a client certificate
 * and none is configured.  With TLS 1.3 the server's refusal comes after
 * our side of the handshake and usually surfaces as a reset, so remembering
 * the request is how "certificate required" is told apart from a reset. */
static int client_cert_cb(SSL *ssl, X509 **x509, EVP_PKEY **pkey)
{
  struct gw_upstream_exchange *ex = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ssl_ex_index);

  (void)x509;
  (void)pkey;
  if(ex)
    ex->cert_requested = 1;
  return 0;                     /* we have no certificate to offer */
}

/* CURLOPT_SSL_CTX_FUNCTION: one SSL_CTX per new connection.  The exchange
 * keeps a reference and clears the back-pointer when it ends, so a handshake
 * can never reach a freed exchange; renegotiation (the one way a server
 * could restart a handshake later, on a reused connection) is refused. */
static CURLcode ssl_ctx_cb(CURL *easy, void *sslctx, void *userptr)
{
  struct gw_upstream_exchange *ex = userptr;
  SSL_CTX *ctx = sslctx;

  (void)easy;
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
  if(ex->has_client_cert || !SSL_CTX_up_ref(ctx))
    return CURLE_OK;
  ssl_ctx_release(ex);
  ex->ssl_ctx = ctx;
  SSL_CTX_set_ex_data(ctx, ssl_ex_index, ex);
  SSL_CTX_set_client_cert_cb(ctx, client_cert_cb);
  return CURLE_OK;
}

/* ---- response caps ------------------------------------------------------ */

static void too_large(struct gw_upstream_exchange *ex, const char *what, size_t cap)
{
  ex->too_large = 1;
  snprintf(ex->own_detail, sizeof(ex->own_detail), "%s exceeds %zu bytes", what, cap);
}

/* The value of a "Content-Length:" line, or -1 when it is another header or
 * not a plain decimal (libcurl itself rejects malformed ones). */
static long long content_length(const char *line, size_t len)
{
  static const char name[] = "content-length:";
  unsigned long long v = 0;
  size_t i = sizeof(name) - 1;
  int digits = 0;

  if(len < i || strncasecmp(line, name, i))
    return -1;
  while(i < len && (line[i] == ' ' || line[i] == '\t'))
    i++;
  for(; i < len && line[i] >= '0' && line[i] <= '9'; i++, digits++) {
    if(v > (unsigned long long)(GW_UP_MAX_RESPONSE) * 16)
      break;                        /* absurd already; stop before overflow */
    v = v * 10 + (unsigned)(line[i] - '0');
  }
  return digits ? (long long)v : -1;
}

/* CURLOPT_HEADERFUNCTION: bounds the head and refuses an announced body
 * over the cap before a byte of it is read. */
static size_t header_cb(char *buf, size_t size, size_t n, void *userdata)
{
  struct gw_upstream_exchange *ex = userdata;
  size_t len = size * n;
  long long cl;

  ex->head_bytes += len;
  if(ex->head_bytes > GW_UP_MAX_RESPONSE_HEAD) {
    too_large(ex, "response head", GW_UP_MAX_RESPONSE_HEAD);
    return 0;
  }
  xstate_set(ex, XS_RECEIVING);
  cl = content_length(buf, len);
  if(cl >= 0 && (unsigned long long)cl > ex->rq.max_body) {
    too_large(ex, "announced Content-Length", ex->rq.max_body);
    return 0;
  }
  return len;
}

/* CURLOPT_WRITEFUNCTION: appends within max_body; returning short aborts
 * the transfer at once (CURLE_WRITE_ERROR, classified as TOO_LARGE). */
static size_t write_cb(char *data, size_t size, size_t n, void *userdata)
{
  struct gw_upstream_exchange *ex = userdata;
  size_t len = size * n;

  if(len > ex->rq.max_body - ex->body_len) {
    too_large(ex, "response body", ex->rq.max_body);
    return 0;
  }
  if(ex->body_len + len + 1 > ex->body_cap) {
    size_t cap = ex->body_cap ? ex->body_cap * 2 : BODY_INITIAL_CAP;
    if(cap < ex->body_len + len + 1)
      cap = ex->body_len + len + 1;
    if(cap > ex->rq.max_body + 1)
      cap = ex->rq.max_body + 1;
    ex->body = gw_realloc(ex->body, cap);
    ex->body_cap = cap;
  }
  memcpy(ex->body + ex->body_len, data, len);
  ex->body_len += len;
  ex->body[ex->body_len] = '\0';
  return len;
}

/* ---- classification and completion -------------------------------------- */

/* The server asked for a client certificate we do not have, and the
 * exchange then failed before any response arrived. */
static int cert_missing(const struct gw_upstream_exchange *ex)
{
  return ex->cert_requested && ex->state < XS_RECEIVING;
}

static void classify(const struct gw_upstream_exchange *ex, CURLcode rc,
                     enum gw_upstream_outcome *out, enum gw_upstream_tls_error *tls)
{
  *tls = GW_UP_TLS_NONE;
  if(rc == CURLE_OK) {
    *out = GW_UP_OK;
    return;
  }
  if(ex->denied) {
    *out = GW_UP_ADDRESS_DENIED;
    return;
  }
  if(ex->too_large || rc == CURLE_FILESIZE_EXCEEDED) {
    *out = GW_UP_TOO_LARGE;
    return;
  }
  switch(rc) {
  case CURLE_OPERATION_TIMEDOUT:
    *out = GW_UP_TIMEOUT;
    return;
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
  case CURLE_COULDNT_CONNECT:
    *out = GW_UP_CONNECT;
    return;
  case CURLE_PEER_FAILED_VERIFICATION:
    *out = GW_UP_TLS;
    *tls = GW_UP_TLS_VERIFY;
    return;
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    *out = GW_UP_TLS;
    *tls = GW_UP_TLS_PIN;
    return;
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CRL_BADFILE:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_ENGINE_NOTFOUND:
  case CURLE_SSL_ENGINE_SETFAILED:
  case CURLE_SSL_ENGINE_INITFAILED:
    *out = GW_UP_TLS;
    *tls = GW_UP_TLS_LOCAL;
    return;
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_SSL_ISSUER_ERROR:
  case CURLE_SSL_INVALIDCERTSTATUS:
  case CURLE_SSL_CLIENTCERT:
  case CURLE_SSL_SHUTDOWN_FAILED:
  case CURLE_USE_SSL_FAILED:
    *out = GW_UP_TLS;
    *tls = GW_UP_TLS_HANDSHAKE;
    return;
  case CURLE_RECV_ERROR:
  case CURLE_SEND_ERROR:
  case CURLE_GOT_NOTHING:
    /* With TLS 1.3 the server judges our client certificate after our side
     * of the handshake is done, so its refusal arrives as an alert on the
     * first read ("... SSL routines::tlsv13 alert certificate required"),
     * or, if it closed first, as a reset.  Both are TLS failures. */
    if(cert_missing(ex) ||
       (strstr(ex->errbuf, "SSL routines") && strstr(ex->errbuf, "alert"))) {
      *out = GW_UP_TLS;
      *tls = GW_UP_TLS_HANDSHAKE;
    }
    else
      *out = GW_UP_RESET;
    return;
  case CURLE_PARTIAL_FILE:
  case CURLE_WEIRD_SERVER_REPLY:
  case CURLE_BAD_CONTENT_ENCODING:
  case CURLE_UNSUPPORTED_PROTOCOL:
  case CURLE_TOO_MANY_REDIRECTS:
  case CURLE_RANGE_ERROR:
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM:
  case CURLE_HTTP3:
    *out = GW_UP_PROTOCOL;
    return;
  default:
    *out = GW_UP_INTERNAL;
    return;
  }
}

static void log_exchange(const struct gw_upstream_exchange *ex,
                         const struct gw_upstream_result *r)
{
  json_t *f;

  if(!gw_log_enabled(GW_LOG_DEBUG))
    return;
  f = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:i, s:I, s:I, s:I, s:I, s:b, s:s}",
                "xid", (json_int_t)ex->xid, "method", ex->rq.method, "host", ex->rq.host,
                "port", ex->rq.port, "path", ex->rq.path,
                "outcome", gw_upstream_outcome_name(r->outcome), "status", (int)r->status,
                "total_us", (json_int_t)r->total_us, "connect_us", (json_int_t)r->connect_us,
                "tls_us", (json_int_t)r->tls_us, "bytes_in", (json_int_t)r->bytes_in,
                "reused", r->reused, "detail", r->detail);
  if(f && r->outcome == GW_UP_TLS)
    json_object_set_new(f, "tls_error", json_string(gw_upstream_tls_error_name(r->tls_error)));
  gw_log_fields(GW_LOG_DEBUG, "upstream_exchange", f);
}

/* Fills *r from the (removed) easy handle.  detail and ctype are the
 * caller's buffers that r will point into. */
static void fill_result(struct gw_upstream_exchange *ex, CURLcode rc,
                        struct gw_upstream_result *r, char *detail, char *ctype)
{
  curl_off_t total = 0, connect = 0, tls = 0, down = 0;
  long status = 0, num_connects = 0, head = 0;
  char *ct = NULL;
  static const unsigned char empty[1];

  memset(r, 0, sizeof(*r));
  r->xid = ex->xid;
  classify(ex, rc, &r->outcome, &r->tls_error);
  (void)curl_easy_getinfo(ex->easy, CURLINFO_RESPONSE_CODE, &status);
  (void)curl_easy_getinfo(ex->easy, CURLINFO_CONTENT_TYPE, &ct);
  (void)curl_easy_getinfo(ex->easy, CURLINFO_TOTAL_TIME_T, &total);
  (void)curl_easy_getinfo(ex->easy, CURLINFO_CONNECT_TIME_T, &connect);
  (void)curl_easy_getinfo(ex->easy, CURLINFO_APPCONNECT_TIME_T, &tls);
  (void)curl_easy_getinfo(ex->easy, CURLINFO_SIZE_DOWNLOAD_T, &down);
  (void)curl_easy_getinfo(ex->easy, CURLINFO_HEADER_SIZE, &head);
  (void)curl_easy_getinfo(ex->easy, CURLINFO_NUM_CONNECTS, &num_connects);
  r->status = status;
  gw_upreq_printable(ctype, GW_UP_CONTENT_TYPE_LEN, ct);
  r->content_type = ctype;
  r->total_us = (int64_t)total;
  r->connect_us = (int64_t)connect;
  r->tls_us = (int64_t)tls;
  r->bytes_in = (uint64_t)(down > 0 ? down : 0) + (uint64_t)(head > 0 ? head : 0);
  r->reused = ex->connected && num_connects == 0;
  r->body = ex->body ? ex->body : empty;
  r->body_len = ex->body_len;
  if(r->outcome == GW_UP_OK)
    detail[0] = '\0';
  else if(ex->own_detail[0] && (ex->denied || ex->too_large))
    gw_upreq_printable(detail, GW_UP_DETAIL_LEN, ex->own_detail);
  else if(r->outcome == GW_UP_TLS && cert_missing(ex))
    snprintf(detail, GW_UP_DETAIL_LEN,
             "the server requires a client certificate and none is configured (curl %d)",
             (int)rc);
  else {
    char buf[CURL_ERROR_SIZE + 32];
    snprintf(buf, sizeof(buf), "%s (curl %d)",
             ex->errbuf[0] ? ex->errbuf : curl_easy_strerror(rc), (int)rc);
    gw_upreq_printable(detail, GW_UP_DETAIL_LEN, buf);
  }
  r->detail = detail;
  r->queued_us = ex->queued_us >= 0 ? ex->queued_us : since_us(&ex->t_start);
  r->open_wait_us = ex->open_wait_us;
}

/* Delivers the result of an exchange already out of the multi and off the
 * active list, then frees it: after its callback, never inside it.
 * `why` (may be NULL) replaces the detail. */
static void deliver(struct gw_upstream_exchange *ex, CURLcode rc, const char *why)
{
  struct gw_upstream *up = ex->up;
  struct gw_upstream_result r;
  char detail[GW_UP_DETAIL_LEN], ctype[GW_UP_CONTENT_TYPE_LEN];

  if(!ex->body) {               /* so res->body is always a takeable buffer */
    ex->body = gw_calloc(1, 1);
    ex->body_cap = 1;
  }
  fill_result(ex, rc, &r, detail, ctype);
  if(why)
    snprintf(detail, sizeof(detail), "%s", why);
  log_exchange(ex, &r);
  xstate_set(ex, XS_COMPLETING);
  up->dispatching++;
  ex->on_done(ex, &r, ex->arg);
  up->dispatching--;
  xstate_set(ex, XS_DONE);
  exchange_free(ex);
}

static void multi_error(const char *where, CURLMcode mc)
{
  /* BAD_SOCKET: an event for a socket libcurl already closed; harmless. */
  gw_log(mc == CURLM_BAD_SOCKET ? GW_LOG_DEBUG : GW_LOG_ERROR, "upstream_multi_error",
         "%s: %s", where, curl_multi_strerror(mc));
}

static void open_wait(struct gw_upstream_exchange *ex);
static void open_idle(struct gw_upstream *up, struct gw_policy_limiter *gate);

static void mark_broken(struct gw_upstream *up, const char *why)
{
  if(!up->broken)
    gw_log(GW_LOG_ERROR, "upstream_engine_broken", "%s; rebuilding the multi handle", why);
  up->broken = 1;
  event_active(up->repair, EV_TIMEOUT, 0);
}

void gw_upstream_test_break(struct gw_upstream *up)
{
  mark_broken(up, "broken on purpose by a test");
}

/* Collects finished transfers.  Not reentrant by construction: callbacks
 * may start exchanges (curl_multi_add_handle only arms the timer) and
 * cancel others (curl_multi_remove_handle drops their queued message). */
static void drain_done(struct gw_upstream *up)
{
  CURLMsg *msg;
  int left;

  while((msg = curl_multi_info_read(up->multi, &left))) {
    CURL *easy = msg->easy_handle;
    CURLcode rc = msg->data.result;
    char *priv = NULL;
    struct gw_upstream_exchange *ex;
    CURLMcode mc;

    if(msg->msg != CURLMSG_DONE)
      continue;
    (void)curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
    ex = (void *)priv;
    mc = curl_multi_remove_handle(up->multi, easy);  /* msg is invalid now */
    if(mc != CURLM_OK)
      multi_error("remove_handle", mc);
    if(!ex || ex->magic != EX_MAGIC) {   /* not ours: cannot happen */
      gw_log(GW_LOG_ERROR, "upstream_multi_error", "finished transfer without an exchange");
      continue;
    }
    if(ex->need_slot && !ex->denied && rc == CURLE_COULDNT_CONNECT) {
      open_wait(ex);
      continue;
    }
    exchange_unlink(ex);
    if(rc == CURLE_OK && ex->gate)
      open_idle(up, ex->gate);
    deliver(ex, rc, NULL);
  }
}

/* ---- the opening gate ----------------------------------------------------- */

/* Back into the multi, holding an opening slot (or failed if it cannot). */
static void open_resume(struct gw_upstream_exchange *ex)
{
  CURLMcode mc;

  open_unlist(ex);
  ex->open_wait_us += since_us(&ex->t_wait);
  xstate_set(ex, XS_QUEUED);
  mc = curl_multi_add_handle(ex->up->multi, ex->easy);
  if(mc != CURLM_OK) {
    multi_error("add_handle", mc);
    exchange_unlink(ex);
    deliver(ex, CURLE_ABORTED_BY_CALLBACK, "cannot hand the exchange back to libcurl");
  }
}

static void on_gate(enum gw_policy_limit result, void *arg)
{
  struct gw_upstream_exchange *ex = arg;

  ex->gwait = NULL;            /* the waiter died as we were called */
  if(result == GW_POLICY_LIMIT_GRANTED) {
    ex->slot = 1;
    open_resume(ex);
    return;
  }
  ex->open_wait_us += since_us(&ex->t_wait);
  open_unlist(ex);
  xstate_set(ex, XS_QUEUED);
  exchange_unlink(ex);
  deliver(ex, CURLE_OPERATION_TIMEDOUT, "no connection could be opened in time "
          "(waited for an opening slot)");
}

/* open_cb refused a socket for want of a slot, and libcurl gave the
 * transfer up (COULDNT_CONNECT, nothing sent): the exchange, already out of
 * the multi, waits in the host's gate and goes back in with a slot.  The
 * wait is ours, not the agency's: it does not run against timeout_ms (the
 * transfer's clock restarts) and the caller's deadline cancels it. */
static void open_wait(struct gw_upstream_exchange *ex)
{
  uint64_t now = gw_policy_now_ms();
  enum gw_policy_limit r;

  ex->need_slot = 0;
  ex->own_detail[0] = '\0';
  ex->errbuf[0] = '\0';
  clock_gettime(CLOCK_MONOTONIC, &ex->t_wait);
  xstate_set(ex, XS_OPEN_WAIT);
  TAILQ_INSERT_TAIL(&ex->up->open_waiting, ex, wlink);
  ex->in_open_waiting = 1;
  r = gw_policy_limiter_acquire(ex->gate, now, now + (uint64_t)GW_UP_MAX_TIMEOUT_MS,
                                ex->up->base, on_gate, ex, &ex->gwait);
  if(r == GW_POLICY_LIMIT_QUEUED)
    return;
  if(r == GW_POLICY_LIMIT_GRANTED) {
    ex->slot = 1;
    open_resume(ex);
    return;
  }
  open_unlist(ex);
  xstate_set(ex, XS_QUEUED);
  exchange_unlink(ex);
  deliver(ex, CURLE_OPERATION_TIMEDOUT, "too many exchanges waiting to open a connection");
}

/* A transfer to the gate's host ended well: its connection is idle in
 * this worker's pool now, so the oldest exchange of this worker waiting
 * for an opening slot there takes it instead (back into the multi without
 * a slot; should libcurl still want a new connection, open_cb asks for a
 * slot again). */
static void open_idle(struct gw_upstream *up, struct gw_policy_limiter *gate)
{
  struct gw_upstream_exchange *w;

  TAILQ_FOREACH(w, &up->open_waiting, wlink)
    if(w->gate == gate)
      break;
  if(!w)
    return;
  if(w->gwait) {
    gw_policy_waiter_cancel(w->gwait, gw_policy_now_ms());
    w->gwait = NULL;
  }
  open_resume(w);
}

int gw_upstream_reached_agency(const struct gw_upstream_exchange *ex)
{
  return ex && ex->state >= XS_CONNECTING;
}

/* ---- libevent <-> libcurl glue (hiperfifo) ------------------------------ */

static void on_socket(evutil_socket_t fd, short what, void *arg)
{
  struct gw_upstream *up = arg;
  int running = 0;
  int action = ((what & EV_READ) ? CURL_CSELECT_IN : 0) |
               ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0);
  CURLMcode mc = curl_multi_socket_action(up->multi, fd, action, &running);

  if(mc == CURLM_ABORTED_BY_CALLBACK)
    mark_broken(up, "curl_multi_socket_action: a callback failed");
  else if(mc != CURLM_OK)
    multi_error("socket_action", mc);
  /* Unlike hiperfifo, the timer is not deleted when `running` drops to 0:
   * a completion callback may just have started a new exchange that
   * needs it.  libcurl removes it itself (timer_cb with -1). */
  drain_done(up);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
  struct gw_upstream *up = arg;
  int running = 0;
  CURLMcode mc = curl_multi_socket_action(up->multi, CURL_SOCKET_TIMEOUT, 0, &running);

  (void)fd;
  (void)what;
  if(mc == CURLM_ABORTED_BY_CALLBACK)
    mark_broken(up, "curl_multi_socket_action: a callback failed");
  else if(mc != CURLM_OK)
    multi_error("socket_action(timeout)", mc);
  drain_done(up);
}

/* CURLMOPT_TIMERFUNCTION: one timer, re-armed or removed. */
static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
  struct gw_upstream *up = userp;
  struct timeval tv;

  (void)multi;
  if(timeout_ms < 0) {
    evtimer_del(up->timer);
    return 0;
  }
  tv.tv_sec = timeout_ms / 1000;
  tv.tv_usec = (timeout_ms % 1000) * 1000;
  if(evtimer_add(up->timer, &tv) < 0) {
    mark_broken(up, "cannot arm the libcurl timer");
    return -1;
  }
  return 0;
}

static void sock_free(struct gw_upstream *up, struct sock_info *si)
{
  event_free(si->ev);          /* deletes it first; safe inside its own callback */
  (void)up;
  LIST_REMOVE(si, link);
  gw_free(si);
}

/* CURLMOPT_SOCKETFUNCTION: watch `s` for what libcurl wants. */
static int sock_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *sockp)
{
  struct gw_upstream *up = userp;
  struct sock_info *si = sockp;
  short kind;

  (void)easy;
  if(what == CURL_POLL_REMOVE) {
    if(si)
      sock_free(up, si);
    return 0;
  }
  kind = (short)(((what & CURL_POLL_IN) ? EV_READ : 0) |
                 ((what & CURL_POLL_OUT) ? EV_WRITE : 0) | EV_PERSIST);
  if(!si) {
    si = gw_calloc(1, sizeof(*si));
    si->ev = event_new(up->base, s, kind, on_socket, up);
    if(!si->ev) {
      gw_free(si);
      goto fail;
    }
    LIST_INSERT_HEAD(&up->socks, si, link);
    if(curl_multi_assign(up->multi, s, si) != CURLM_OK) {
      sock_free(up, si);
      goto fail;
    }
  }
  else {
    event_del(si->ev);
    if(event_assign(si->ev, up->base, s, kind, on_socket, up) < 0)
      goto fail;
  }
  if(event_add(si->ev, NULL) < 0)
    goto fail;
  return 0;

fail:
  mark_broken(up, "cannot watch a libcurl socket");
  return -1;
}

static CURLM *multi_new(struct gw_upstream *up)
{
  CURLM *m = curl_multi_init();

  if(!m)
    return NULL;
  if(curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, sock_cb) != CURLM_OK ||
     curl_multi_setopt(m, CURLMOPT_SOCKETDATA, up) != CURLM_OK ||
     curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, timer_cb) != CURLM_OK ||
     curl_multi_setopt(m, CURLMOPT_TIMERDATA, up) != CURLM_OK ||
     curl_multi_setopt(m, CURLMOPT_PIPELINING, (long)CURLPIPE_NOTHING) != CURLM_OK ||
     curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, up->opt.max_host_connections) != CURLM_OK ||
     curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, up->opt.max_total_connections) != CURLM_OK ||
     curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, up->opt.max_idle_connections) != CURLM_OK) {
    curl_multi_cleanup(m);
    return NULL;
  }
  return m;
}

/* Deferred (event_active) after libcurl declared the multi dead: take every
 * exchange out, replace the multi, then fail them, so their callbacks can
 * already start new exchanges on the fresh one. */
static void on_repair(evutil_socket_t fd, short what, void *arg)
{
  struct gw_upstream *up = arg;
  LIST_HEAD(, gw_upstream_exchange) failed = LIST_HEAD_INITIALIZER(failed);
  struct gw_upstream_exchange *ex;
  CURLM *fresh;

  (void)fd;
  (void)what;
  if(!up->broken)
    return;
  /* A callback below may cancel an exchange still waiting in `failed`:
   * it leaves that list (LIST_REMOVE needs no head) and is not failed. */
  while((ex = LIST_FIRST(&up->exchanges))) {
    (void)curl_multi_remove_handle(up->multi, ex->easy);
    LIST_REMOVE(ex, link);
    ex->in_multi = 0;
    LIST_INSERT_HEAD(&failed, ex, link);
  }
  up->active = 0;
  curl_multi_cleanup(up->multi);
  while(!LIST_EMPTY(&up->socks)) /* libcurl may not have said REMOVE for all */
    sock_free(up, LIST_FIRST(&up->socks));
  evtimer_del(up->timer);
  fresh = multi_new(up);
  if(!fresh) {
    /* Out of memory inside libcurl: our OOM policy applies. */
    gw_log(GW_LOG_ERROR, "upstream_engine_broken", "cannot rebuild the multi handle");
    abort();
  }
  up->multi = fresh;
  up->broken = 0;
  gw_log(GW_LOG_WARN, "upstream_engine_rebuilt", NULL);
  while((ex = LIST_FIRST(&failed))) {
    LIST_REMOVE(ex, link);
    deliver(ex, CURLE_ABORTED_BY_CALLBACK,
            "upstream engine reset: the event loop refused a registration");
  }
}

/* ---- engine life -------------------------------------------------------- */

struct gw_upstream *gw_upstream_new(struct event_base *base,
                                    const struct gw_upstream_options *opt,
                                    char *err, size_t errlen)
{
  struct gw_upstream *up;

  if(gw_upstream_global_init(err, errlen))
    return NULL;
  up = gw_calloc(1, sizeof(*up));
  up->magic = UP_MAGIC;
  LIST_INIT(&up->exchanges);
  LIST_INIT(&up->socks);
  TAILQ_INIT(&up->open_waiting);
  up->base = base;
  up->async_dns = global_async_dns;
  if(opt)
    up->opt = *opt;
  if(up->opt.max_host_connections <= 0)
    up->opt.max_host_connections = DEFAULT_MAX_HOST_CONNECTIONS;
  if(up->opt.max_total_connections <= 0)
    up->opt.max_total_connections = DEFAULT_MAX_TOTAL_CONNECTIONS;
  if(up->opt.max_idle_connections <= 0)
    up->opt.max_idle_connections = DEFAULT_MAX_IDLE_CONNECTIONS;
  if(up->opt.max_idle_age_s <= 0)
    up->opt.max_idle_age_s = DEFAULT_MAX_IDLE_AGE_S;
  if(up->opt.max_exchanges == 0)
    up->opt.max_exchanges = DEFAULT_MAX_EXCHANGES;
  up->timer = evtimer_new(base, on_timer, up);
  up->repair = event_new(base, -1, 0, on_repair, up);
  if(!up->timer || !up->repair) {
    snprintf(err, errlen, "cannot create the upstream timer events");
    goto fail;
  }
  up->multi = multi_new(up);
  if(!up->multi) {
    snprintf(err, errlen, "cannot create a libcurl multi handle");
    goto fail;
  }
  return up;

fail:
  if(up->timer)
    event_free(up->timer);
  if(up->repair)
    event_free(up->repair);
  gw_free(up);
  return NULL;
}

void gw_upstream_free(struct gw_upstream *up)
{
  if(!up)
    return;
  assert(up->magic == UP_MAGIC);
  assert(up->dispatching == 0);   /* never from an upstream callback */
  while(!LIST_EMPTY(&up->exchanges))
    gw_upstream_cancel(LIST_FIRST(&up->exchanges));
  curl_multi_cleanup(up->multi);  /* closes cached connections */
  while(up->n_spare_easy)
    curl_easy_cleanup(up->spare_easy[--up->n_spare_easy]);
  while(!LIST_EMPTY(&up->socks))
    sock_free(up, LIST_FIRST(&up->socks));
  event_free(up->timer);
  event_free(up->repair);
  up->magic = 0;
  gw_free(up);
}

struct event_base *gw_upstream_base(const struct gw_upstream *up)
{
  return up->base;
}

size_t gw_upstream_active(const struct gw_upstream *up)
{
  return up->active;
}

/* ---- building one exchange ---------------------------------------------- */

/* Every option of the transfer; returns the name of the one libcurl refused. */
static const char *configure(struct gw_upstream_exchange *ex,
                             const struct gw_upstream_request *req)
{
  CURL *e = ex->easy;
  const struct gw_upstream_tls *t = &req->tls;
  const char *method = ex->rq.method;

#define SETOPT(opt, val) \
  do { if(curl_easy_setopt(e, opt, val) != CURLE_OK) return #opt; } while(0)
  SETOPT(CURLOPT_PRIVATE, (void *)ex);
  SETOPT(CURLOPT_CURLU, ex->rq.url);
  SETOPT(CURLOPT_PROTOCOLS_STR, "https");
  SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, "https");
  SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
  SETOPT(CURLOPT_NOSIGNAL, 1L);
  SETOPT(CURLOPT_PROXY, "");               /* ignore *_proxy in the environment */
  SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
  SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
  SETOPT(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
  SETOPT(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
  SETOPT(CURLOPT_PIPEWAIT, 0L);
  SETOPT(CURLOPT_ACCEPT_ENCODING, (char *)NULL);  /* no Accept-Encoding, no decoding: */
  SETOPT(CURLOPT_HTTP_CONTENT_DECODING, 0L);       /* the cap counts wire bytes */
  SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
  SETOPT(CURLOPT_TCP_KEEPIDLE, TCP_KEEPIDLE_S);
  SETOPT(CURLOPT_TCP_KEEPINTVL, TCP_KEEPINTVL_S);
  SETOPT(CURLOPT_MAXAGE_CONN, ex->up->opt.max_idle_age_s);
  SETOPT(CURLOPT_CONNECTTIMEOUT_MS, ex->rq.connect_timeout_ms);
  SETOPT(CURLOPT_TIMEOUT_MS, req->timeout_ms);
  SETOPT(CURLOPT_ERRORBUFFER, ex->errbuf);
  SETOPT(CURLOPT_WRITEFUNCTION, write_cb);
  SETOPT(CURLOPT_WRITEDATA, (void *)ex);
  SETOPT(CURLOPT_HEADERFUNCTION, header_cb);
  SETOPT(CURLOPT_HEADERDATA, (void *)ex);
  SETOPT(CURLOPT_OPENSOCKETFUNCTION, open_cb);
  SETOPT(CURLOPT_OPENSOCKETDATA, (void *)ex);
  SETOPT(CURLOPT_PREREQFUNCTION, prereq_cb);
  SETOPT(CURLOPT_PREREQDATA, (void *)ex);
  SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)ex->rq.max_body);
  SETOPT(CURLOPT_USERAGENT, USER_AGENT);
  SETOPT(CURLOPT_HTTPHEADER, ex->rq.headers);
#if LIBCURL_VERSION_NUM >= 0x075700
  SETOPT(CURLOPT_CA_CACHE_TIMEOUT, CA_CACHE_TIMEOUT_S);
#endif
  if(t->ca_file) {
    /* Only this CA: the build-time CA path would add the system store. */
    SETOPT(CURLOPT_CAINFO, t->ca_file);
    SETOPT(CURLOPT_CAPATH, (char *)NULL);
  }
  if(global_ssl_hook) {
    SETOPT(CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_cb);
    SETOPT(CURLOPT_SSL_CTX_DATA, (void *)ex);
  }
  if(t->client_cert) {
    ex->has_client_cert = 1;
    SETOPT(CURLOPT_SSLCERT, t->client_cert);
    SETOPT(CURLOPT_SSLCERTTYPE, "PEM");
    SETOPT(CURLOPT_SSLKEY, t->client_key ? t->client_key : t->client_cert);
    SETOPT(CURLOPT_SSLKEYTYPE, "PEM");
  }
  if(t->pin_sha256)
    SETOPT(CURLOPT_PINNEDPUBLICKEY, t->pin_sha256);
  if(!strcmp(method, "GET"))
    SETOPT(CURLOPT_HTTPGET, 1L);
  else if(req->body_len || strcmp(method, "DELETE")) {
    SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    SETOPT(CURLOPT_COPYPOSTFIELDS, req->body_len ? (const char *)req->body : "");
    if(strcmp(method, "POST"))
      SETOPT(CURLOPT_CUSTOMREQUEST, method);
  }
  else
    SETOPT(CURLOPT_CUSTOMREQUEST, method);
#undef SETOPT
  return NULL;
}

enum gw_upstream_start_result gw_upstream_start(struct gw_upstream *up,
                                                const struct gw_upstream_request *req,
                                                struct gw_upstream_exchange **out)
{
  struct gw_upstream_exchange *ex;
  enum gw_upstream_start_result r;
  const char *bad_opt;
  CURLMcode mc;

  assert(up && up->magic == UP_MAGIC);
  if(out)
    *out = NULL;
  if(up->active >= up->opt.max_exchanges)
    return GW_UP_START_BUSY;
  if(up->broken)
    return GW_UP_START_INTERNAL;
  ex = gw_calloc(1, sizeof(*ex));
  ex->magic = EX_MAGIC;
  ex->up = up;
  ex->on_done = req->on_done;
  ex->arg = req->arg;
  r = gw_upreq_prepare(req, up->async_dns, &ex->rq);
  if(r != GW_UP_START_OK)
    goto fail;
  r = GW_UP_START_INTERNAL;
  ex->easy = easy_take(up);
  if(!ex->easy)
    goto fail;
  bad_opt = configure(ex, req);
  if(bad_opt) {
    gw_log(GW_LOG_ERROR, "upstream_option_refused", "libcurl refused %s", bad_opt);
    goto fail;
  }
  ex->xid = ++up->next_xid;
  ex->queued_us = -1;
  ex->gate = upstream_gate_for(up->opt.gates, ex->rq.host, ex->rq.port);
  clock_gettime(CLOCK_MONOTONIC, &ex->t_start);
  mc = curl_multi_add_handle(up->multi, ex->easy);
  if(mc != CURLM_OK) {
    multi_error("add_handle", mc);
    if(mc == CURLM_ABORTED_BY_CALLBACK)
      mark_broken(up, "curl_multi_add_handle: a callback failed");
    goto fail;
  }
  exchange_link(up, ex);
  xstate_set(ex, XS_QUEUED);
  if(out)
    *out = ex;
  return GW_UP_START_OK;

fail:
  exchange_free(ex);
  return r;
}

void gw_upstream_cancel(struct gw_upstream_exchange *ex)
{
  struct gw_upstream *up;
  struct gw_upstream_result r;
  char detail[GW_UP_DETAIL_LEN], ctype[GW_UP_CONTENT_TYPE_LEN];
  CURLMcode mc;

  if(!ex)
    return;
  assert(ex->magic == EX_MAGIC);
  if(ex->state >= XS_COMPLETING)      /* inside its own callback */
    return;
  up = ex->up;
  if(ex->state != XS_OPEN_WAIT) {
    mc = curl_multi_remove_handle(up->multi, ex->easy);
    if(mc != CURLM_OK)
      multi_error("remove_handle", mc);
  }
  exchange_unlink(ex);
  fill_result(ex, CURLE_OK, &r, detail, ctype);
  r.outcome = GW_UP_CANCELLED;
  r.detail = "cancelled by the caller";
  log_exchange(ex, &r);
  xstate_set(ex, XS_CANCELLED);
  exchange_free(ex);
}

unsigned char *gw_upstream_take_body(struct gw_upstream_exchange *ex, size_t *len)
{
  unsigned char *b;

  assert(ex && ex->magic == EX_MAGIC);
  if(ex->state != XS_COMPLETING || !ex->body) {
    *len = 0;
    return NULL;
  }
  b = ex->body;
  *len = ex->body_len;
  ex->body = NULL;
  ex->body_len = ex->body_cap = 0;
  return b;
}
