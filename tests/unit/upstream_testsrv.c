/*
 * upstream_testsrv.c - a small HTTPS/1.1 server for the upstream and OAuth
 * unit tests, included (not linked) by test_upstream.c and test_oauth.c.
 *
 * It runs on its own event_base in its own thread, so the engine under test
 * keeps the test's loop to itself and a server that hangs never blocks the
 * client.  It is written directly on bufferevent_openssl rather than evhttp
 * because the tests need what evhttp hides: sending half a body and closing,
 * streaming a huge body and noticing that the client hung up before the end,
 * counting TCP connections and TLS handshakes.  Handlers run on the server
 * thread; counters are atomics the test thread reads.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "gw/front.h"

#define TS_MAX_HEAD  16384
#define TS_MAX_BODY  (1 << 20)
#define TS_CHUNK     16384

struct ts_server;
struct ts_conn;

struct ts_req {
  char method[16];
  char target[1024];           /* path and query as sent */
  char head[TS_MAX_HEAD + 1];  /* the header lines, NUL-terminated */
  char *body;                  /* NUL-terminated */
  size_t body_len;
};

typedef void ts_handler(struct ts_conn *c, const struct ts_req *r, void *arg);

struct ts_conn {
  struct ts_server *srv;
  struct bufferevent *bev;
  struct ts_conn *prev, *next;
  int busy;                    /* a request is being answered */
  int keep_alive;
  size_t stream_left;          /* filler bytes still to send */
  int close_after_flush;
  struct event *later;         /* a delayed reply */
  int later_status;
  char later_body[256];
};

struct ts_server {
  struct event_base *base;
  pthread_t thread;
  SSL_CTX *ctx;
  struct evconnlistener *lis;
  int port;
  ts_handler *handler;
  void *arg;
  struct ts_conn *conns;
  atomic_int accepted;         /* TCP connections */
  atomic_int handshakes;       /* completed TLS handshakes */
  atomic_int tls_failures;     /* connections that failed before a request */
  atomic_int requests;
  atomic_int closed_early;     /* peer hung up while a body was streaming */
  atomic_int stream_done;      /* streamed bodies sent in full */
};

static void ts_conn_free(struct ts_conn *c)
{
  struct ts_server *s = c->srv;
  if(c->later)
    event_free(c->later);
  bufferevent_free(c->bev);
  if(c->prev)
    c->prev->next = c->next;
  else
    s->conns = c->next;
  if(c->next)
    c->next->prev = c->prev;
  free(c);
}

/* Finds a header value in r->head (case-insensitive name); copies it. */
__attribute__((unused))
static int ts_header(const struct ts_req *r, const char *name, char *out, size_t outlen)
{
  size_t nlen = strlen(name);
  const char *p = r->head;

  while(p && *p) {
    const char *eol = strstr(p, "\r\n");
    size_t len = eol ? (size_t)(eol - p) : strlen(p);
    if(len > nlen && p[nlen] == ':' && !strncasecmp(p, name, nlen)) {
      const char *v = p + nlen + 1;
      while(*v == ' ')
        v++;
      len -= (size_t)(v - p);
      if(len >= outlen)
        len = outlen - 1;
      memcpy(out, v, len);
      out[len] = '\0';
      return 0;
    }
    p = eol ? eol + 2 : NULL;
  }
  return -1;
}

static void ts_head(struct ts_conn *c, int status, const char *extra, long long clen)
{
  struct evbuffer *out = bufferevent_get_output(c->bev);
  evbuffer_add_printf(out, "HTTP/1.1 %d X\r\n", status);
  if(clen >= 0)
    evbuffer_add_printf(out, "Content-Length: %lld\r\n", clen);
  if(!c->keep_alive || c->close_after_flush)
    evbuffer_add_printf(out, "Connection: close\r\n");
  evbuffer_add_printf(out, "%s\r\n", extra ? extra : "");
}

/* A complete answer with a body; extra header lines end in CRLF. */
__attribute__((unused))
static void ts_reply(struct ts_conn *c, int status, const char *extra, const char *body,
                     size_t len)
{
  ts_head(c, status, extra, (long long)len);
  evbuffer_add(bufferevent_get_output(c->bev), body, len);
  if(!c->keep_alive)
    c->close_after_flush = 1;
}

/* Streams `total` filler bytes as the client reads them, announcing the
 * length or (announce == 0) delimiting the body by closing. */
__attribute__((unused))
static void ts_reply_stream(struct ts_conn *c, int status, size_t total, int announce)
{
  if(!announce)
    c->close_after_flush = 1;
  ts_head(c, status, NULL, announce ? (long long)total : -1);
  c->stream_left = total;
}

/* Announces `announced` bytes, sends `sent`, then closes the connection. */
__attribute__((unused))
static void ts_reply_truncated(struct ts_conn *c, int status, size_t announced, size_t sent)
{
  static const char filler[TS_CHUNK];
  c->close_after_flush = 1;
  ts_head(c, status, NULL, (long long)announced);
  while(sent) {
    size_t n = sent < sizeof(filler) ? sent : sizeof(filler);
    evbuffer_add(bufferevent_get_output(c->bev), filler, n);
    sent -= n;
  }
}

/* Raw bytes, then close. */
__attribute__((unused))
static void ts_reply_raw_close(struct ts_conn *c, const char *bytes)
{
  c->close_after_flush = 1;
  evbuffer_add(bufferevent_get_output(c->bev), bytes, strlen(bytes));
  if(!bytes[0])
    ts_conn_free(c);
}

static void ts_on_later(evutil_socket_t fd, short what, void *arg)
{
  struct ts_conn *c = arg;
  (void)fd;
  (void)what;
  event_free(c->later);
  c->later = NULL;
  ts_reply(c, c->later_status, NULL, c->later_body, strlen(c->later_body));
}

/* Answers after `ms` (if the client is still there). */
__attribute__((unused))
static void ts_reply_later(struct ts_conn *c, int ms, int status, const char *body)
{
  struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
  c->later_status = status;
  snprintf(c->later_body, sizeof(c->later_body), "%s", body);
  c->later = evtimer_new(c->srv->base, ts_on_later, c);
  evtimer_add(c->later, &tv);
}

static void ts_try_request(struct ts_conn *c);

static void ts_on_write(struct bufferevent *bev, void *arg)
{
  struct ts_conn *c = arg;
  static const char filler[TS_CHUNK] = { 'x' };
  (void)bev;
  if(c->stream_left) {
    size_t n = c->stream_left < sizeof(filler) ? c->stream_left : sizeof(filler);
    evbuffer_add(bufferevent_get_output(c->bev), filler, n);
    c->stream_left -= n;
    if(!c->stream_left)
      atomic_fetch_add(&c->srv->stream_done, 1);
    return;
  }
  if(!c->busy)
    return;
  if(c->close_after_flush) {
    ts_conn_free(c);
    return;
  }
  if(c->later)                 /* still waiting to answer */
    return;
  c->busy = 0;
  ts_try_request(c);
}

static void ts_on_event(struct bufferevent *bev, short what, void *arg)
{
  struct ts_conn *c = arg;
  (void)bev;
  if(what & BEV_EVENT_CONNECTED) {
    atomic_fetch_add(&c->srv->handshakes, 1);
    return;
  }
  if(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
    if(c->stream_left)
      atomic_fetch_add(&c->srv->closed_early, 1);
    if(!c->busy && (what & BEV_EVENT_ERROR))
      atomic_fetch_add(&c->srv->tls_failures, 1);
    ts_conn_free(c);
  }
}

/* Parses one complete request from the input, if there is one. */
static void ts_try_request(struct ts_conn *c)
{
  struct evbuffer *in = bufferevent_get_input(c->bev);
  struct evbuffer_ptr p;
  struct ts_req *r;
  char line[1100], clen[32], conn[64];
  size_t head_len, body_len = 0;
  char *eol;

  if(c->busy)
    return;
  p = evbuffer_search(in, "\r\n\r\n", 4, NULL);
  if(p.pos < 0) {
    if(evbuffer_get_length(in) > TS_MAX_HEAD)
      ts_conn_free(c);
    return;
  }
  head_len = (size_t)p.pos + 4;
  if(head_len > TS_MAX_HEAD) {
    ts_conn_free(c);
    return;
  }
  r = calloc(1, sizeof(*r));
  evbuffer_copyout(in, r->head, head_len);
  r->head[head_len] = '\0';
  if(!ts_header(r, "content-length", clen, sizeof(clen)))
    body_len = (size_t)strtoul(clen, NULL, 10);
  if(body_len > TS_MAX_BODY || evbuffer_get_length(in) < head_len + body_len) {
    if(body_len > TS_MAX_BODY)
      ts_conn_free(c);
    free(r);
    return;
  }
  evbuffer_drain(in, head_len);
  r->body = calloc(1, body_len + 1);
  evbuffer_remove(in, r->body, body_len);
  r->body_len = body_len;
  eol = strstr(r->head, "\r\n");
  snprintf(line, sizeof(line), "%.*s", (int)(eol - r->head), r->head);
  if(sscanf(line, "%15s %1023s", r->method, r->target) != 2) {
    free(r->body);
    free(r);
    ts_conn_free(c);
    return;
  }
  memmove(r->head, eol + 2, strlen(eol + 2) + 1);
  c->keep_alive = ts_header(r, "connection", conn, sizeof(conn)) || strcasecmp(conn, "close");
  c->busy = 1;
  atomic_fetch_add(&c->srv->requests, 1);
  c->srv->handler(c, r, c->srv->arg);
  free(r->body);
  free(r);
}

static void ts_on_read(struct bufferevent *bev, void *arg)
{
  (void)bev;
  ts_try_request(arg);
}

static void ts_on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                         int salen, void *arg)
{
  struct ts_server *s = arg;
  struct ts_conn *c = calloc(1, sizeof(*c));
  SSL *ssl = SSL_new(s->ctx);
  int one = 1;
  (void)l;
  (void)sa;
  (void)salen;
  atomic_fetch_add(&s->accepted, 1);
  (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  c->srv = s;
  c->keep_alive = 1;
  c->bev = bufferevent_openssl_socket_new(s->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                          BEV_OPT_CLOSE_ON_FREE);
  bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
  bufferevent_setcb(c->bev, ts_on_read, ts_on_write, ts_on_event, c);
  bufferevent_enable(c->bev, EV_READ | EV_WRITE);
  c->next = s->conns;
  if(s->conns)
    s->conns->prev = c;
  s->conns = c;
}

static void *ts_main(void *arg)
{
  struct ts_server *s = arg;
  event_base_dispatch(s->base);
  return NULL;
}

/* Starts a server on 127.0.0.1 with cert/key; client_ca non-NULL requires a
 * client certificate issued by it.  Aborts the test run on failure. */
__attribute__((unused))
static struct ts_server *ts_start(const char *cert, const char *key, const char *client_ca,
                                  ts_handler *handler, void *arg)
{
  struct ts_server *s = calloc(1, sizeof(*s));
  evutil_socket_t fd;
  char err[256];

  s->handler = handler;
  s->arg = arg;
  s->ctx = SSL_CTX_new(TLS_server_method());
  SSL_CTX_set_min_proto_version(s->ctx, TLS1_2_VERSION);
  if(SSL_CTX_use_certificate_chain_file(s->ctx, cert) != 1 ||
     SSL_CTX_use_PrivateKey_file(s->ctx, key, SSL_FILETYPE_PEM) != 1) {
    fprintf(stderr, "testsrv: cannot load %s\n", cert);
    abort();
  }
  if(client_ca) {
    if(SSL_CTX_load_verify_locations(s->ctx, client_ca, NULL) != 1)
      abort();
    SSL_CTX_set_verify(s->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
  }
  s->base = event_base_new();
  if(gw_listen_socket("127.0.0.1", 0, &fd, &s->port, err, sizeof(err))) {
    fprintf(stderr, "testsrv: %s\n", err);
    abort();
  }
  s->lis = evconnlistener_new(s->base, ts_on_accept, s, LEV_OPT_CLOSE_ON_FREE, -1, fd);
  if(!s->lis || pthread_create(&s->thread, NULL, ts_main, s))
    abort();
  return s;
}

__attribute__((unused))
static void ts_stop(struct ts_server *s)
{
  if(!s)
    return;
  event_base_loopexit(s->base, NULL);
  pthread_join(s->thread, NULL);
  while(s->conns)
    ts_conn_free(s->conns);
  evconnlistener_free(s->lis);
  event_base_free(s->base);
  SSL_CTX_free(s->ctx);
  free(s);
}

/* Waits (up to 3 s) until *counter reaches want; returns its value. */
__attribute__((unused))
static int ts_wait_for(atomic_int *counter, int want)
{
  for(int i = 0; i < 300 && atomic_load(counter) < want; i++)
    usleep(10000);
  return atomic_load(counter);
}

/* A fresh test PKI from certs/gen-pki.sh in a temp dir; returns its path
 * (static buffer) or NULL. */
__attribute__((unused))
static const char *ts_make_pki(void)
{
  static char dir[] = "/tmp/gw-uptest-XXXXXX";
  char cmd[1024];
  const char *src = getenv("GW_SOURCE_DIR");

  if(!src || !mkdtemp(dir))
    return NULL;
  snprintf(cmd, sizeof(cmd), "bash '%s/certs/gen-pki.sh' '%s/pki' >/dev/null", src, dir);
  if(system(cmd) != 0)
    return NULL;
  return dir;
}

__attribute__((unused))
static void ts_remove_dir(const char *dir)
{
  char cmd[512];
  if(!dir || strncmp(dir, "/tmp/gw-uptest-", 15))
    return;
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  (void)!system(cmd);
}
