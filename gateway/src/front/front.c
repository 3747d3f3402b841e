/*
 * front.c - HTTP/1.1 connections on libevent bufferevents (TLS or plain).
 *
 * One struct gw_conn per connection with a named state and one function,
 * conn_set_state(), that changes it.  The life of a connection:
 *
 *   READ_HEAD -> READ_BODY -> HANDLING -> WRITING -> READ_HEAD (keep-alive)
 *                                                 \-> closed
 *
 * Every byte a client sends is bounded: the head by max_header_bytes and a
 * deadline counted from its first byte (slow clients are cut off, not
 * waited for), the body by max_body_bytes and its own deadline.  Reading is
 * paused while a request is handled and its answer written, so a pipelining
 * client cannot make us buffer without bound.  What a connection may ask is
 * bounded too: a token bucket per connection (max_requests_per_connection_per_s,
 * breaches answered 429 with Retry-After, the connection kept) and a
 * keep-alive cap (max_requests_per_connection: the last answer says
 * "Connection: close").  Connections are closed only
 * from event callbacks or the timer, never from inside a handler: an answer
 * just queues bytes, and the deferred write callback decides what is next.
 */
#include "gw/front.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/queue.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "gw/alloc.h"
#include "gw/config.h"
#include "jsonw.h"
#include "gw/log.h"
#include "gw/observe.h"
#include "randid.h"
#include "gw/tls.h"
#include "http_int.h"

#define CONN_MAGIC 0x636f6e6eU   /* "conn" */
/* A refused client may go on sending the body we will not read (python
 * requests sends all of it before reading the answer).  Like nginx's
 * lingering_time and lingering_timeout: discard for at most
 * GW_LINGER_TIME_MS in all, GW_LINGER_IDLE_MS between reads, and at most
 * GW_LINGER_MAX_BYTES (docs/operations.md "Request limits"). */
#define GW_LINGER_TIME_MS 10000
#define GW_LINGER_IDLE_MS 2000
#define GW_LINGER_MAX_BYTES ((size_t)64 << 20)
#define REQ_MAGIC  0x72657175U   /* "requ" */
#define GW_MAX_RESPONSE_HEADERS 4096  /* bytes of handler-added headers */

struct gw_server {
  const struct gw_config *cfg;
  SSL_CTX *ssl;                /* NULL: plain; fixed at creation */
  _Atomic(SSL_CTX *) ssl_current;  /* the context new connections use (reload swaps it) */
  const struct gw_route *routes;
  size_t n_routes;
  char name[16];
  atomic_int open;
  atomic_uint_fast64_t refused;
};

struct gw_listener {
  struct gw_server *srv;
  struct evconnlistener *lev;
  LIST_HEAD(, gw_conn) conns; /* open connections, for shutdown */
  int draining;                /* no new connections; close after each answer */
};

enum conn_state {
  CONN_READ_HEAD,
  CONN_READ_BODY,
  CONN_HANDLING,
  CONN_WRITING,
  CONN_LINGERING               /* refused: answer sent, discarding what is still coming */
};

static const char *const conn_state_names[] = {
  "read_head", "read_body", "handling", "writing", "lingering"
};

struct gw_conn {
  unsigned magic;
  enum conn_state state;
  struct gw_server *srv;
  struct gw_listener *listener;
  LIST_ENTRY(gw_conn) link;    /* in listener->conns */
  struct event_base *base;
  struct bufferevent *bev;
  struct event *timer;
  int timer_counts_head;       /* the head deadline is armed (first byte seen) */
  int keep_alive;              /* after the answer being written */
  int linger;                  /* refused mid-request: linger before closing */
  size_t lingered;             /* bytes discarded while lingering */
  struct timespec linger_start;
  unsigned long requests;      /* dispatched on this connection so far */
  double rate_tokens;          /* request token bucket (see rate_admit) */
  struct timespec rate_last;   /* when rate_tokens was last refilled */
  char client[128];            /* verified certificate CN, "" when none */
  struct gw_req *req;          /* the request being read or handled */
};

struct gw_req {
  unsigned magic;
  struct gw_conn *conn;        /* NULL once the client went away */
  struct event_base *base;
  char *head_buf;
  struct gw_http_head head;
  struct gw_http_header *headers;
  char *method;
  char *path;
  char *query;
  char *body;
  size_t body_len;
  struct evbuffer *chunks;     /* a chunked body decoded so far (NULL: not chunked) */
  struct gw_http_chunked chunked;
  const char *route;           /* matched route pattern, for logs */
  char id[33];
  struct evbuffer *resp_headers;
  struct timespec started;
};

static void conn_close(struct gw_conn *c, const char *why);
static void conn_process(struct gw_conn *c);
static void start_linger(struct gw_conn *c);

/* ---- server and listener ------------------------------------------------ */

struct gw_server *gw_server_new(const struct gw_config *cfg, SSL_CTX *ssl,
                                const struct gw_route *routes, size_t n_routes,
                                const char *name)
{
  struct gw_server *srv = gw_calloc(1, sizeof(*srv));
  srv->cfg = cfg;
  srv->ssl = ssl;
  atomic_init(&srv->ssl_current, ssl);
  srv->routes = routes;
  srv->n_routes = n_routes;
  snprintf(srv->name, sizeof(srv->name), "%s", name);
  atomic_init(&srv->open, 0);
  atomic_init(&srv->refused, 0);
  return srv;
}

void gw_server_free(struct gw_server *srv)
{
  gw_free(srv);
}

int gw_server_set_ssl(struct gw_server *srv, SSL_CTX *ssl)
{
  if(!srv->ssl || !ssl)
    return -1;
  atomic_store(&srv->ssl_current, ssl);
  return 0;
}

int gw_server_open_connections(const struct gw_server *srv)
{
  return atomic_load(&srv->open);
}

int gw_server_cert_not_after(const struct gw_server *srv, double *out)
{
  SSL_CTX *ctx = srv->ssl ? atomic_load(&((struct gw_server *)srv)->ssl_current) : NULL;
  X509 *cert = ctx ? SSL_CTX_get0_certificate(ctx) : NULL;
  struct tm tm;

  if(!cert || !ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm))
    return -1;
  *out = (double)timegm(&tm);
  return 0;
}

int gw_listen_socket(const char *address, int port, evutil_socket_t *fd,
                     int *bound_port, char *err, size_t errlen)
{
  struct sockaddr_storage ss;
  socklen_t sslen;
  int one = 1, s = -1;

  memset(&ss, 0, sizeof(ss));
  if(inet_pton(AF_INET, address, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
    ((struct sockaddr_in *)&ss)->sin_family = AF_INET;
    ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
    sslen = sizeof(struct sockaddr_in);
  }
  else if(inet_pton(AF_INET6, address, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
    ((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
    ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
    sslen = sizeof(struct sockaddr_in6);
  }
  else {
    snprintf(err, errlen, "%s: not a numeric address", address);
    return -1;
  }
  s = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if(s < 0)
    goto fail;
  if(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
     setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)))
    goto fail;
  if(bind(s, (struct sockaddr *)&ss, sslen) || listen(s, 1024))
    goto fail;
  sslen = sizeof(ss);
  if(getsockname(s, (struct sockaddr *)&ss, &sslen))
    goto fail;
  *bound_port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                              : ((struct sockaddr_in6 *)&ss)->sin6_port);
  *fd = s;
  return 0;

fail:
  snprintf(err, errlen, "%s:%d: %s", address, port, strerror(errno));
  if(s >= 0)
    close(s);
  return -1;
}

static void conn_new(struct gw_listener *l, struct event_base *base, evutil_socket_t fd);

static void accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
                      struct sockaddr *sa, int salen, void *arg)
{
  struct gw_listener *l = arg;
  (void)lev; (void)sa; (void)salen;
  if(atomic_load(&l->srv->open) >= l->srv->cfg->limits.max_connections) {
    /* Over the cap: close at once; a log line per refusal would let a flood
     * fill the disk, so count them and log every 1024th. */
    uint_fast64_t n = atomic_fetch_add(&l->srv->refused, 1) + 1;
    close(fd);
    if(n % 1024 == 1)
      gw_log(GW_LOG_WARN, "connection_refused", "listener %s at max_connections %d (%llu refused)",
             l->srv->name, l->srv->cfg->limits.max_connections, (unsigned long long)n);
    return;
  }
  conn_new(l, evconnlistener_get_base(lev), fd);
}

struct gw_listener *gw_listener_new(struct gw_server *srv, struct event_base *base,
                                    evutil_socket_t fd)
{
  struct gw_listener *l = gw_calloc(1, sizeof(*l));
  LIST_INIT(&l->conns);
  l->srv = srv;
  /* backlog 0: the socket is already listening (gw_listen_socket). */
  l->lev = evconnlistener_new(base, accept_cb, l,
                              LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
  if(!l->lev) {
    gw_free(l);
    close(fd);
    return NULL;
  }
  return l;
}

void gw_listener_drain(struct gw_listener *l)
{
  struct gw_conn *c, *next;
  if(!l || l->draining)
    return;
  l->draining = 1;
  evconnlistener_disable(l->lev);
  for(c = LIST_FIRST(&l->conns); c; c = next) {
    next = LIST_NEXT(c, link);
    /* idle keep-alive connections have nothing accepted: close them now;
     * the others close once their answer is written */
    if(c->state == CONN_READ_HEAD && !evbuffer_get_length(bufferevent_get_input(c->bev)))
      conn_close(c, "draining");
    else
      c->keep_alive = 0;
  }
}

void gw_listener_free(struct gw_listener *l)
{
  if(!l)
    return;
  while(!LIST_EMPTY(&l->conns))
    conn_close(LIST_FIRST(&l->conns), "shutdown");
  evconnlistener_free(l->lev);
  gw_free(l);
}

/* ---- requests ------------------------------------------------------------ */

static void req_free(struct gw_req *r)
{
  if(!r)
    return;
  r->magic = 0;
  gw_free(r->head_buf);
  gw_free(r->headers);
  gw_free(r->method);
  gw_free(r->path);
  gw_free(r->query);
  gw_free(r->body);
  if(r->chunks)
    evbuffer_free(r->chunks);
  if(r->resp_headers)
    evbuffer_free(r->resp_headers);
  gw_free(r);
}

static struct gw_req *req_new(struct gw_conn *c)
{
  struct gw_req *r = gw_calloc(1, sizeof(*r));
  r->magic = REQ_MAGIC;
  r->conn = c;
  r->base = c->base;
  r->resp_headers = evbuffer_new();
  if(!r->resp_headers) {
    gw_free(r);
    return NULL;
  }
  (void)gw_randid_hex(r->id, 16);   /* all zeros if the DRBG fails */
  clock_gettime(CLOCK_MONOTONIC, &r->started);
  return r;
}

const char *gw_req_method(const struct gw_req *req) { return req->method; }
const char *gw_req_path(const struct gw_req *req) { return req->path; }
const char *gw_req_query(const struct gw_req *req) { return req->query; }
const char *gw_req_id(const struct gw_req *req) { return req->id; }
struct event_base *gw_req_base(const struct gw_req *req) { return req->base; }

const char *gw_req_client(const struct gw_req *req)
{
  return req->conn && req->conn->client[0] ? req->conn->client : NULL;
}

const char *gw_req_header(const struct gw_req *req, const char *name, size_t *len)
{
  return gw_http_head_get(&req->head, name, len);
}

const char *gw_req_body(const struct gw_req *req, size_t *len)
{
  *len = req->body_len;
  return req->body ? req->body : "";
}

static int header_safe(const char *s)
{
  for(; *s; s++)
    if(*s == '\r' || *s == '\n')
      return 0;
  return 1;
}

int gw_req_set_header(struct gw_req *req, const char *name, const char *value)
{
  if(!header_safe(name) || !header_safe(value) || strchr(name, ':') ||
     evbuffer_get_length(req->resp_headers) + strlen(name) + strlen(value) + 4 >
       GW_MAX_RESPONSE_HEADERS) {
    gw_log(GW_LOG_ERROR, "response_header_refused", "header %s refused", name);
    return -1;
  }
  evbuffer_add_printf(req->resp_headers, "%s: %s\r\n", name, value);
  return 0;
}

static long long elapsed_us(const struct timespec *t0)
{
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (long long)(now.tv_sec - t0->tv_sec) * 1000000 + (now.tv_nsec - t0->tv_nsec) / 1000;
}

static void log_request(const struct gw_req *req, const struct gw_conn *c, int status)
{
  struct gw_jw w;
  long long us = elapsed_us(&req->started);

  gw_obs_http(req->route ? req->route : "(unmatched)", req->method ? req->method : "-", status,
              us);
  if(!gw_log_enabled(GW_LOG_INFO))
    return;
  gw_log_begin(&w, GW_LOG_INFO, "request");
  gw_jw_kstr(&w, "request_id", req->id);
  if(c) {
    gw_jw_kstr(&w, "listener", c->srv->name);
    gw_jw_key(&w, "client");
    if(c->client[0])
      gw_jw_str(&w, c->client);
    else
      gw_jw_null(&w);
  }
  gw_jw_kstr(&w, "method", req->method ? req->method : "-");
  gw_jw_kstr(&w, "route", req->route ? req->route : "-");
  gw_jw_kint(&w, "status", status);
  gw_jw_kint(&w, "duration_us", us);
  if(!c)
    gw_jw_kbool(&w, "detached", 1);
  gw_log_end(&w);
}

/* ---- connections --------------------------------------------------------- */

static void conn_set_state(struct gw_conn *c, enum conn_state s)
{
  if(gw_log_enabled(GW_LOG_DEBUG))
    gw_log(GW_LOG_DEBUG, "conn_state", "%p %s -> %s", (void *)c,
           conn_state_names[c->state], conn_state_names[s]);
  c->state = s;
}

static void arm_timer(struct gw_conn *c, int ms)
{
  struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
  evtimer_add(c->timer, &tv);
}

/* The whole answer, head and body, as one contiguous extent of `out`: the
 * TLS layer writes each extent with its own SSL_write, so one extent is one
 * TLS record and one write(2) instead of two or three.  `send` bytes of the
 * body go out (0 for HEAD); Content-Length says `len`. */
static void append_answer(struct evbuffer *out, const struct gw_req *req,
                          const struct gw_conn *c, int status, const char *content_type,
                          const char *body, size_t send, size_t len)
{
  char head[512];
  const char *conn = "";
  size_t conn_len = 0, extra = evbuffer_get_length(req->resp_headers), total;
  struct evbuffer_iovec v;
  int n;

  if(!c->keep_alive) {
    conn = "Connection: close\r\n";
    conn_len = 19;
  }
  else if(req->head.minor_version == 0) {
    /* HTTP/1.0 closes by default: say that this one stays open */
    conn = "Connection: keep-alive\r\n";
    conn_len = 24;
  }
  n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\n%s%s%sContent-Length: %zu\r\n"
               "X-Request-Id: %s\r\n", status, gw_http_reason(status),
               content_type ? "Content-Type: " : "", content_type ? content_type : "",
               content_type ? "\r\n" : "", len, req->id);
  if(n < 0 || (size_t)n >= sizeof(head))
    n = 0;                      /* cannot happen with our reasons and ids */
  total = (size_t)n + extra + conn_len + 2 + send;
  if(n && evbuffer_reserve_space(out, (ev_ssize_t)total, &v, 1) == 1 && v.iov_len >= total) {
    char *p = v.iov_base;
    memcpy(p, head, (size_t)n);
    p += n;
    if(extra && evbuffer_copyout(req->resp_headers, p, extra) != (ev_ssize_t)extra)
      goto pieces;
    p += extra;
    memcpy(p, conn, conn_len);
    p += conn_len;
    memcpy(p, "\r\n", 2);
    p += 2;
    if(send)
      memcpy(p, body, send);
    v.iov_len = total;
    if(evbuffer_commit_space(out, &v, 1) == 0)
      return;
  }
pieces:
  /* nothing was committed: the same bytes in pieces */
  evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n", status, gw_http_reason(status));
  if(content_type)
    evbuffer_add_printf(out, "Content-Type: %s\r\n", content_type);
  evbuffer_add_printf(out, "Content-Length: %zu\r\nX-Request-Id: %s\r\n", len, req->id);
  evbuffer_add_buffer(out, req->resp_headers);
  evbuffer_add(out, conn, conn_len);
  evbuffer_add(out, "\r\n", 2);
  if(send)
    evbuffer_add(out, body, send);
}

void gw_req_respond(struct gw_req *req, int status, const char *content_type,
                    const char *body, size_t len)
{
  struct gw_conn *c = req->conn;
  struct evbuffer *out;

  if(req->magic != REQ_MAGIC)
    abort();
  log_request(req, c, status);
  if(!c) {                       /* the client went away while we worked */
    req_free(req);
    return;
  }
  out = bufferevent_get_output(c->bev);
  append_answer(out, req, c, status, content_type, body,
                len && strcmp(req->method ? req->method : "", "HEAD") ? len : 0, len);

  c->req = NULL;
  req_free(req);
  /* A client that never reads its answer does not keep the connection. */
  arm_timer(c, c->srv->cfg->limits.read_timeout_ms);
  /* The write callback fires (deferred) once the answer is flushed. */
  conn_set_state(c, CONN_WRITING);
  bufferevent_enable(c->bev, EV_WRITE);
}

void gw_req_respond_json(struct gw_req *req, int status, json_t *body)
{
  char *text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(body);
  if(!text) {
    gw_req_problem(req, 500, "internal", "could not serialize the answer");
    return;
  }
  gw_req_respond(req, status, "application/json", text, strlen(text));
  free(text);
}

void gw_req_problem(struct gw_req *req, int status, const char *slug, const char *detail)
{
  char type[96];
  json_t *p = json_object();
  char *text;
  snprintf(type, sizeof(type), "/problems/%s", slug);
  json_object_set_new(p, "type", json_string(type));
  json_object_set_new(p, "title", json_string(gw_http_reason(status)));
  json_object_set_new(p, "status", json_integer(status));
  json_object_set_new(p, "detail", json_string(detail ? detail : ""));
  json_object_set_new(p, "request_id", json_string(req->id));
  text = json_dumps(p, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(p);
  gw_req_respond(req, status, "application/problem+json", text ? text : "{}",
                 text ? strlen(text) : 2);
  free(text);
}

/* True once a TLS connection finished its handshake (always for plain). */
static int conn_handshaken(const struct gw_conn *c)
{
  SSL *ssl;
  if(!c->srv->ssl)
    return 1;
  ssl = bufferevent_openssl_get_ssl(c->bev);
  return ssl && SSL_is_init_finished(ssl);
}

/* Answers a request the front itself refuses, and closes after it. */
static void conn_refuse(struct gw_conn *c, int status, const char *slug, const char *detail)
{
  if(!conn_handshaken(c)) {
    /* No channel to answer on: an answer would only wait for a handshake
     * that is not coming, holding the connection for another timeout. */
    conn_close(c, "refused before the TLS handshake finished");
    return;
  }
  if(!c->req)
    c->req = req_new(c);
  if(!c->req) {
    conn_close(c, "out of memory");
    return;
  }
  c->keep_alive = 0;
  c->linger = 1;
  bufferevent_disable(c->bev, EV_READ);
  conn_set_state(c, CONN_HANDLING);
  gw_req_problem(c->req, status, slug, detail);
}

static void conn_close(struct gw_conn *c, const char *why)
{
  if(c->magic != CONN_MAGIC)
    abort();
  if(gw_log_enabled(GW_LOG_DEBUG))
    gw_log(GW_LOG_DEBUG, "conn_close", "%p in %s: %s", (void *)c,
           conn_state_names[c->state], why);
  if(c->req) {
    if(c->state == CONN_HANDLING)
      c->req->conn = NULL;     /* the handler still owns it; answer is dropped */
    else
      req_free(c->req);
    c->req = NULL;
  }
  event_free(c->timer);
  if(c->srv->ssl && c->state == CONN_WRITING) {
    /* an orderly end after an answer: close_notify, so clients can tell it
     * from a truncation (best effort: the socket is non-blocking) */
    SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
    if(ssl && SSL_is_init_finished(ssl))
      (void)SSL_shutdown(ssl);
  }
  bufferevent_free(c->bev);
  LIST_REMOVE(c, link);
  atomic_fetch_sub(&c->srv->open, 1);
  c->magic = 0;
  gw_free(c);
}

/* Token bucket of one connection: `rate` tokens a second, at most `rate`
 * banked (a burst of one second's worth), one token a request.  Returns 1
 * when the request may go on, else 0 with the whole seconds until a token is
 * there in *retry_after_s (at least 1). */
static int rate_admit(struct gw_conn *c, int *retry_after_s)
{
  int rate = c->srv->cfg->limits.max_requests_per_connection_per_s;
  struct timespec now;
  double dt, wait;

  if(rate <= 0)
    return 1;
  clock_gettime(CLOCK_MONOTONIC, &now);
  if(c->requests == 1) {         /* first request: a full bucket */
    c->rate_tokens = rate;
  }
  else {
    dt = (double)(now.tv_sec - c->rate_last.tv_sec) +
         (double)(now.tv_nsec - c->rate_last.tv_nsec) / 1e9;
    if(dt > 0)
      c->rate_tokens += dt * rate;
    if(c->rate_tokens > rate)
      c->rate_tokens = rate;
  }
  c->rate_last = now;
  if(c->rate_tokens >= 1.0) {
    c->rate_tokens -= 1.0;
    return 1;
  }
  wait = (1.0 - c->rate_tokens) / rate;          /* seconds, > 0 */
  *retry_after_s = (double)(int)wait < wait ? (int)wait + 1 : (int)wait;
  if(*retry_after_s < 1)
    *retry_after_s = 1;
  return 0;
}

/* An exact path, or a prefix when the pattern ends in a star. */
static int route_matches(const char *pattern, const char *path)
{
  size_t n = strlen(pattern);
  if(n && pattern[n - 1] == '*')
    return !strncmp(pattern, path, n - 1) && path[n - 1];
  return !strcmp(pattern, path);
}

static void dispatch(struct gw_conn *c)
{
  struct gw_req *r = c->req;
  const struct gw_limits *lim = &c->srv->cfg->limits;
  const struct gw_route *path_match = NULL;
  char allow[128] = "";
  int retry_after_s;

  conn_set_state(c, CONN_HANDLING);
  bufferevent_disable(c->bev, EV_READ);
  c->keep_alive = r->head.keep_alive && !c->listener->draining;
  c->requests++;
  if(lim->max_requests_per_connection > 0 &&
     c->requests >= (unsigned long)lim->max_requests_per_connection)
    c->keep_alive = 0;          /* the last answer on this connection */
  if(!rate_admit(c, &retry_after_s)) {
    char ra[16];
    snprintf(ra, sizeof(ra), "%d", retry_after_s);
    gw_req_set_header(r, "Retry-After", ra);
    gw_req_problem(r, 429, "too-many-requests",
                   "this connection sends requests faster than the gateway accepts; "
                   "retry after the time in Retry-After");
    return;
  }
  for(size_t i = 0; i < c->srv->n_routes; i++) {
    const struct gw_route *rt = &c->srv->routes[i];
    if(!route_matches(rt->path, r->path))
      continue;
    path_match = rt;
    if(!strcmp(rt->method, r->method) ||
       (!strcmp(r->method, "HEAD") && !strcmp(rt->method, "GET"))) {
      r->route = rt->path;
      rt->handler(r, rt->arg);
      return;
    }
    if(strlen(allow) + strlen(rt->method) + 3 < sizeof(allow)) {
      if(allow[0])
        strcat(allow, ", ");
      strcat(allow, rt->method);
    }
  }
  if(path_match) {
    r->route = path_match->path;
    gw_req_set_header(r, "Allow", allow);
    gw_req_problem(r, 405, "method-not-allowed", "this resource does not support that method");
    return;
  }
  gw_req_problem(r, 404, "not-found", "no such resource");
}

/* Splits the target into path and query and copies the method. */
static int req_take_head(struct gw_req *r)
{
  const char *q = memchr(r->head.target, '?', r->head.target_len);
  size_t plen = q ? (size_t)(q - r->head.target) : r->head.target_len;
  r->method = gw_strndup(r->head.method, r->head.method_len);
  r->path = gw_strndup(r->head.target, plen);
  if(q)
    r->query = gw_strndup(q + 1, r->head.target_len - plen - 1);
  return strlen(r->path) == plen ? 0 : -1;   /* no NUL inside the path */
}

/* How many times the head carries header `name`. */
static int header_count(const struct gw_http_head *h, const char *name)
{
  int n = 0;
  for(int i = 0; i < h->n_headers; i++)
    if(h->headers[i].name_len == strlen(name) &&
       !strncasecmp(h->headers[i].name, name, h->headers[i].name_len))
      n++;
  return n;
}

/* Fields that must appear once (Host, RFC 9112 3.2) or at most once
 * (Content-Type: a handler reads the first, a proxy in front may have acted
 * on the last).  Returns a problem detail, or NULL when the head is fine. */
static const char *singleton_problem(const struct gw_http_head *h)
{
  int hosts = header_count(h, "host");
  if(hosts > 1 || (hosts == 0 && h->minor_version == 1))
    return "an HTTP/1.1 request carries exactly one Host header";
  if(header_count(h, "content-type") > 1)
    return "the request repeats Content-Type";
  return NULL;
}

/* Does the head so far (its first `len` bytes, at most the head cap) hold
 * an LF not preceded by CR?  Such a head would never end in CRLF CRLF. */
static int head_has_bare_lf(struct evbuffer *in, size_t len, size_t cap)
{
  const unsigned char *p;
  if(len > cap)
    len = cap;
  if(!len || !(p = evbuffer_pullup(in, (ev_ssize_t)len)))
    return 0;
  for(size_t i = 0; i < len; i++)
    if(p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
      return 1;
  return 0;
}

static void read_head(struct gw_conn *c)
{
  struct evbuffer *in = bufferevent_get_input(c->bev);
  const struct gw_limits *lim = &c->srv->cfg->limits;
  size_t avail = evbuffer_get_length(in);
  struct evbuffer_ptr end;
  enum gw_http_parse pr;
  size_t head_len;
  const char *detail;

  if(!avail)
    return;
  if(!c->timer_counts_head) {   /* first byte of a request: head deadline */
    c->timer_counts_head = 1;
    arm_timer(c, lim->header_timeout_ms);
  }
  end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
  if(head_has_bare_lf(in, end.pos < 0 ? avail : (size_t)end.pos,
                      lim->max_header_bytes + 4)) {
    /* never ends with CRLF CRLF: answer now, not at the head timeout */
    conn_refuse(c, 400, "bad-request", "request lines must end with CRLF, not a bare LF");
    return;
  }
  if(end.pos < 0) {
    if(avail > lim->max_header_bytes)
      conn_refuse(c, 431, "header-too-large", "request head exceeds the limit");
    return;
  }
  head_len = (size_t)end.pos + 4;
  if(head_len > lim->max_header_bytes) {
    conn_refuse(c, 431, "header-too-large", "request head exceeds the limit");
    return;
  }
  c->req = req_new(c);
  if(!c->req) {
    conn_close(c, "out of memory");
    return;
  }
  c->req->head_buf = gw_malloc(head_len + 1);
  evbuffer_remove(in, c->req->head_buf, head_len);
  c->req->head_buf[head_len] = '\0';
  c->req->headers = gw_calloc((size_t)lim->max_headers, sizeof(struct gw_http_header));
  pr = gw_http_parse_head(c->req->head_buf, head_len, c->req->headers,
                          lim->max_headers, &c->req->head);
  if(pr != GW_HTTP_PARSE_OK) {
    conn_refuse(c, gw_http_parse_status(pr),
                pr == GW_HTTP_PARSE_TOO_MANY_HEADERS ? "too-many-headers" : "bad-request",
                "the request head is not valid HTTP/1.1");
    return;
  }
  if(req_take_head(c->req)) {
    conn_refuse(c, 400, "bad-request", "the request target is not valid");
    return;
  }
  if((detail = singleton_problem(&c->req->head))) {
    conn_refuse(c, 400, "bad-request", detail);
    return;
  }
  if(c->req->head.content_length > (int64_t)lim->max_body_bytes) {
    conn_refuse(c, 413, "body-too-large", "the request body exceeds the limit");
    return;
  }
  c->timer_counts_head = 0;
  evtimer_del(c->timer);
  if(c->req->head.content_length > 0 || c->req->head.chunked) {
    if(c->req->head.chunked && !(c->req->chunks = evbuffer_new())) {
      conn_close(c, "out of memory");
      return;
    }
    if(c->req->head.expect_continue)
      bufferevent_write(c->bev, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    conn_set_state(c, CONN_READ_BODY);
    arm_timer(c, lim->read_timeout_ms);
    return;
  }
  dispatch(c);
}

/* A Transfer-Encoding: chunked body, decoded as it arrives, under the same
 * max_body_bytes cap as a Content-Length body. */
static void read_chunked(struct gw_conn *c)
{
  struct evbuffer *in = bufferevent_get_input(c->bev);
  struct gw_req *r = c->req;
  enum gw_http_chunked_result res = GW_HTTP_CHUNKED_MORE;
  size_t avail, used, n;

  while(res == GW_HTTP_CHUNKED_MORE && (avail = evbuffer_get_length(in)) > 0) {
    char *p;
    if(avail > 65536)
      avail = 65536;
    p = (char *)evbuffer_pullup(in, (ev_ssize_t)avail);
    if(!p) {
      conn_close(c, "out of memory");
      return;
    }
    res = gw_http_chunked_decode(&r->chunked, p, avail, c->srv->cfg->limits.max_body_bytes,
                                 &used, &n);
    if(n && evbuffer_add(r->chunks, p, n)) {
      conn_close(c, "out of memory");
      return;
    }
    evbuffer_drain(in, used);
  }
  if(res == GW_HTTP_CHUNKED_BAD) {
    conn_refuse(c, 400, "bad-request", "the chunked request body is malformed");
    return;
  }
  if(res == GW_HTTP_CHUNKED_TOO_LARGE) {
    conn_refuse(c, 413, "body-too-large", "the request body exceeds the limit");
    return;
  }
  if(res != GW_HTTP_CHUNKED_DONE)
    return;
  evtimer_del(c->timer);
  n = evbuffer_get_length(r->chunks);
  r->body = gw_malloc(n + 1);
  evbuffer_remove(r->chunks, r->body, n);
  r->body[n] = '\0';
  r->body_len = n;
  dispatch(c);
}

static void read_body(struct gw_conn *c)
{
  struct evbuffer *in = bufferevent_get_input(c->bev);
  size_t want = (size_t)c->req->head.content_length;
  if(c->req->chunks) {
    read_chunked(c);
    return;
  }
  if(evbuffer_get_length(in) < want)
    return;
  evtimer_del(c->timer);
  c->req->body = gw_malloc(want + 1);
  evbuffer_remove(in, c->req->body, want);
  c->req->body[want] = '\0';
  c->req->body_len = want;
  dispatch(c);
}

static void conn_process(struct gw_conn *c)
{
  enum conn_state before;
  do {
    before = c->state;
    if(c->state == CONN_READ_HEAD)
      read_head(c);
    if(c->state == CONN_READ_BODY)
      read_body(c);
  } while(c->state != before && (c->state == CONN_READ_HEAD || c->state == CONN_READ_BODY));
}

static void read_cb(struct bufferevent *bev, void *arg)
{
  struct gw_conn *c = arg;
  (void)bev;
  if(c->state == CONN_LINGERING) {
    struct evbuffer *in = bufferevent_get_input(c->bev);
    struct timespec now;
    long long spent_ms;
    c->lingered += evbuffer_get_length(in);
    evbuffer_drain(in, evbuffer_get_length(in));
    if(c->lingered > GW_LINGER_MAX_BYTES) {
      conn_close(c, "lingering: too much data");
      return;
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
    spent_ms = (now.tv_sec - c->linger_start.tv_sec) * 1000LL +
               (now.tv_nsec - c->linger_start.tv_nsec) / 1000000;
    if(spent_ms >= GW_LINGER_TIME_MS) {
      conn_close(c, "lingering: time is up");
      return;
    }
    arm_timer(c, GW_LINGER_TIME_MS - spent_ms < GW_LINGER_IDLE_MS
                 ? (int)(GW_LINGER_TIME_MS - spent_ms) : GW_LINGER_IDLE_MS);
    return;
  }
  if(!c->client[0] && c->srv->ssl) {
    SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
    if(ssl && gw_tls_peer_cn(ssl, c->client, sizeof(c->client)))
      c->client[0] = '\0';
  }
  conn_process(c);
}

/* A refused request's client may still be sending the body we will never
 * read.  Closing at once with unread data makes the kernel send a reset,
 * which can destroy our answer before the client reads it; so, like nginx's
 * lingering close, end our side (close_notify, FIN) and discard what
 * arrives for a bounded time. */
static void start_linger(struct gw_conn *c)
{
  int fd = (int)bufferevent_getfd(c->bev);
  if(c->srv->ssl) {
    SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
    if(ssl && SSL_is_init_finished(ssl))
      (void)SSL_shutdown(ssl);
  }
  if(fd >= 0)
    shutdown(fd, SHUT_WR);
  conn_set_state(c, CONN_LINGERING);
  evbuffer_drain(bufferevent_get_input(c->bev), evbuffer_get_length(bufferevent_get_input(c->bev)));
  clock_gettime(CLOCK_MONOTONIC, &c->linger_start);
  arm_timer(c, GW_LINGER_IDLE_MS);
  bufferevent_enable(c->bev, EV_READ);
}

static void write_cb(struct bufferevent *bev, void *arg)
{
  struct gw_conn *c = arg;
  (void)bev;
  if(c->state != CONN_WRITING)
    return;
  if(!c->keep_alive && c->linger) {
    start_linger(c);
    return;
  }
  if(!c->keep_alive) {
    conn_close(c, "answered, not keep-alive");
    return;
  }
  conn_set_state(c, CONN_READ_HEAD);
  c->timer_counts_head = 0;
  arm_timer(c, c->srv->cfg->limits.idle_timeout_ms);
  bufferevent_enable(c->bev, EV_READ);
  conn_process(c);              /* a pipelined request may be waiting */
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
  struct gw_conn *c = arg;
  if(what & BEV_EVENT_ERROR) {
    unsigned long e;
    char reason[160] = "socket error";
    while((e = bufferevent_get_openssl_error(bev)))
      ERR_error_string_n(e, reason, sizeof(reason));
    if(gw_log_enabled(GW_LOG_DEBUG))
      gw_log(GW_LOG_DEBUG, "conn_error", "%s: %s", c->srv->name, reason);
    conn_close(c, reason);
    return;
  }
  if(what & BEV_EVENT_EOF)
    conn_close(c, "peer closed");
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
  struct gw_conn *c = arg;
  (void)fd; (void)what;
  if(c->state == CONN_READ_HEAD && !c->timer_counts_head) {
    conn_close(c, "idle timeout");
    return;
  }
  if(c->state == CONN_READ_HEAD || c->state == CONN_READ_BODY) {
    conn_refuse(c, 408, "request-timeout", "the request did not arrive in time");
    return;
  }
  if(c->state == CONN_WRITING)
    conn_close(c, "write timeout");
  else if(c->state == CONN_LINGERING)
    conn_close(c, "lingered");
}

static void conn_new(struct gw_listener *l, struct event_base *base, evutil_socket_t fd)
{
  struct gw_server *srv = l->srv;
  struct gw_conn *c;
  int one = 1;

  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  c = gw_calloc(1, sizeof(*c));
  c->magic = CONN_MAGIC;
  c->srv = srv;
  c->base = base;
  c->state = CONN_READ_HEAD;
  if(srv->ssl) {
    SSL *ssl = SSL_new(atomic_load(&srv->ssl_current));
    if(!ssl) {
      close(fd);
      gw_free(c);
      return;
    }
    c->bev = bufferevent_openssl_socket_new(base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                            BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if(c->bev)
      bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
  }
  else {
    c->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
  }
  c->timer = evtimer_new(base, timer_cb, c);
  if(!c->bev || !c->timer) {
    if(c->bev)
      bufferevent_free(c->bev);
    else
      close(fd);
    if(c->timer)
      event_free(c->timer);
    gw_free(c);
    return;
  }
  atomic_fetch_add(&srv->open, 1);
  c->listener = l;
  LIST_INSERT_HEAD(&l->conns, c, link);
  bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
  /* The handshake and the first request share the head deadline. */
  c->timer_counts_head = 1;
  arm_timer(c, srv->cfg->limits.header_timeout_ms);
  bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}
