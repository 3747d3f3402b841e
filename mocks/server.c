/*
 * server.c - transport for mock-agencies: listeners, TLS, HTTP/1.1, faults.
 *
 * Each worker thread owns an event_base and, for every agency, its own
 * SO_REUSEPORT listener on the agency's port, so the kernel spreads
 * connections over the workers and no connection ever changes thread.  The
 * main thread serves the plain-HTTP control endpoint and the signals.
 *
 * HTTP is our own small server on bufferevents rather than evhttp, because
 * the faults need what evhttp hides: a Content-Length that lies (truncated),
 * a body streamed from a static page (huge_body), a byte a second
 * (slow_body), an RST (reset) and a request that is never answered but still
 * noticed when the client goes (hang).  One struct mock_conn per connection
 * carries one request at a time (pipelined requests wait in the input
 * buffer, answered in order); conn_set_state() is the only place its state
 * changes.  A closed connection is never freed inside its own callback: it
 * moves to the worker's dead list and the worker's reaper event frees it.
 */
#include "server.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CONN_MAGIC 0x4d434f4eu
#define CONN_CHECK(c) assert((c) && (c)->magic == CONN_MAGIC)
#define MAX_CHUNK_LINE 1024              /* chunk-size line or trailer line */
#define HUGE_QUEUE (1024 * 1024)         /* huge_body: padding queued at once */
#define PAD_LEN (64 * 1024)
#define COPY_BODY_MAX (16 * 1024)        /* smaller bodies share the head's record */

/* Per-agency transport: each looks like a different real stack. */
struct agency_def {
  const struct mock_agency_ops *ops;
  const char *base_path;
  const char *server_header;
  int min_proto, max_proto;
  int mtls;                              /* client certificate required */
};

static const struct agency_def agency_defs[MOCK_N_AGENCIES] = {
  [MOCK_AG_CHSI]   = { &mock_agency_chsi, "/chsi", "Apache-Coyote/1.1",
                       TLS1_2_VERSION, TLS1_2_VERSION, 0 },
  [MOCK_AG_MPS]    = { &mock_agency_mps, "/mps", "nginx",
                       TLS1_2_VERSION, TLS1_3_VERSION, 1 },
  [MOCK_AG_SI]     = { &mock_agency_si, "/si", "Kong/3.4.2",
                       TLS1_2_VERSION, TLS1_3_VERSION, 0 },
  [MOCK_AG_CREDIT] = { &mock_agency_credit, "/credit", "IBM_HTTP_Server",
                       TLS1_2_VERSION, TLS1_2_VERSION, 0 },
  [MOCK_AG_CSCSE]  = { &mock_agency_cscse, "/cscse", "openresty",
                       TLS1_3_VERSION, TLS1_3_VERSION, 0 },
  [MOCK_AG_QUAL]   = { &mock_agency_qual, "/qual", "Microsoft-IIS/8.5",
                       TLS1_2_VERSION, TLS1_2_VERSION, 0 },
  [MOCK_AG_TALENT] = { &mock_agency_talent, "/talent", "Tengine",
                       TLS1_2_VERSION, TLS1_3_VERSION, 0 },
  [MOCK_AG_FUND]   = { &mock_agency_fund, "/fund", "APISIX/3.2.0",
                       TLS1_2_VERSION, TLS1_3_VERSION, 0 },
  [MOCK_AG_TAX]    = { &mock_agency_tax, "/tax", "WebSphere Application Server/8.5",
                       TLS1_2_VERSION, TLS1_2_VERSION, 0 },
};

enum conn_state {
  CONN_READ_HEAD,      /* waiting for a complete request head */
  CONN_READ_BODY,      /* Content-Length body */
  CONN_READ_CHUNKED,   /* chunked body */
  CONN_DELAY,          /* fault latency before answering */
  CONN_HANG,           /* never answers; closes when the client goes */
  CONN_SLOW_BODY,      /* one byte a second */
  CONN_HUGE_BODY,      /* streaming padding */
  CONN_DRAIN_CLOSE,    /* last bytes queued, close once written */
  CONN_CLOSED          /* on the dead list, waiting for the reaper */
};

static const char *const conn_state_names[] = {
  "read_head", "read_body", "read_chunked", "delay", "hang", "slow_body",
  "huge_body", "drain_close", "closed"
};

enum chunk_phase { CHUNK_SIZE, CHUNK_DATA, CHUNK_DATA_END, CHUNK_TRAILERS };
enum close_how { CLOSE_ABORT, CLOSE_GRACEFUL, CLOSE_RESET };

struct mock_worker;

struct mock_listener {
  struct mock_server *srv;
  struct mock_worker *w;
  struct mock_agency *agency;            /* NULL: the control endpoint */
  SSL_CTX *ssl;                          /* NULL: plain HTTP */
  const char *server_header;
  struct evconnlistener *lev;
};

struct mock_conn {
  uint32_t magic;
  enum conn_state state;
  struct mock_worker *w;
  struct mock_listener *l;
  struct bufferevent *bev;
  struct event *timer;                   /* delay, slow-body tick, hang cap */
  LIST_ENTRY(mock_conn) link;            /* worker's live or dead list */
  int handshaken, keep_alive, http10;
  int handshaking;             /* counted in agency->handshaking */

  /* the request being served: strings point into head[] */
  struct mock_request req;
  long long content_length;              /* -1: none */
  int chunked, expect_continue;
  enum chunk_phase chunk_phase;
  uint64_t chunk_left;
  char *body;
  size_t body_len, body_cap;

  struct mock_fault_plan plan;
  struct mock_response resp;
  size_t sent;                           /* slow_body: bytes of resp.body written */
  uint64_t pad_left;                     /* huge_body: padding still to queue */
  char head[MOCK_MAX_HEAD + 1];
  char origin[80];                       /* req.origin */
};

struct mock_worker {
  struct mock_server *srv;
  int index;
  struct event_base *base;
  pthread_t thread;
  int running;
  struct mock_listener listeners[MOCK_N_AGENCIES];
  int n_listeners;
  LIST_HEAD(, mock_conn) live, dead;
  struct event *reaper;
  uint64_t rng;
  time_t date_at;
  char date[48];
};

struct mock_server {
  struct mock_server_config cfg;
  char listen_addr[64];
  struct mock_agency agencies[MOCK_N_AGENCIES];
  int n_agency_states;
  SSL_CTX *ssl[MOCK_N_AGENCIES];
  struct mock_ctx ctx;
  struct mock_worker *workers;
  int n_workers;
  struct mock_worker main;               /* main thread: control endpoint */
  int control_port;
  struct event *sig_term, *sig_int;
};

static char pad_page[PAD_LEN];           /* spaces, for huge_body */

static void conn_advance(struct mock_conn *c);

/* ---- small helpers ---------------------------------------------------------- */

static uint64_t worker_rand(struct mock_worker *w)
{
  /* xorshift64*: jitter only needs to look random */
  w->rng ^= w->rng >> 12;
  w->rng ^= w->rng << 25;
  w->rng ^= w->rng >> 27;
  return w->rng * 0x2545F4914F6CDD1Dull;
}

static const char *worker_date(struct mock_worker *w)
{
  time_t now = time(NULL);
  struct tm tm;

  if(now != w->date_at && gmtime_r(&now, &tm)) {
    strftime(w->date, sizeof(w->date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    w->date_at = now;
  }
  return w->date;
}

static const char *reason(int status)
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
  case 406: return "Not Acceptable";
  case 409: return "Conflict";
  case 411: return "Length Required";
  case 413: return "Content Too Large";
  case 415: return "Unsupported Media Type";
  case 417: return "Expectation Failed";
  case 422: return "Unprocessable Content";
  case 429: return "Too Many Requests";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 501: return "Not Implemented";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  case 505: return "HTTP Version Not Supported";
  default:  return "Unknown";
  }
}

static void count(atomic_uint_fast64_t *counter, int delta)
{
  if(delta > 0)
    atomic_fetch_add_explicit(counter, (uint_fast64_t)delta, memory_order_relaxed);
  else
    atomic_fetch_sub_explicit(counter, (uint_fast64_t)-delta, memory_order_relaxed);
}

static void handshake_over(struct mock_conn *c);

/* The SSL ex_data slot holding a TLS connection's mock_conn. */
static int conn_ex_index = -1;
static pthread_once_t conn_ex_once = PTHREAD_ONCE_INIT;
static void conn_ex_init(void)
{
  conn_ex_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

/* *hw = max(*hw, v), with other threads doing the same. */
static void max_store(atomic_uint_fast64_t *hw, uint_fast64_t v)
{
  uint_fast64_t cur = atomic_load(hw);
  while(cur < v && !atomic_compare_exchange_weak(hw, &cur, v))
    ;
}

/* ---- connection life cycle -------------------------------------------------- */

static int is_read_state(enum conn_state s)
{
  return s == CONN_READ_HEAD || s == CONN_READ_BODY || s == CONN_READ_CHUNKED;
}

/* The one place a connection changes state.  Read states carry the idle
 * timeout; while a request is being answered (or deliberately not) only the
 * write timeout applies, so a hang or a long latency is not cut short, yet
 * reading stays enabled to notice a client that goes away. */
static void conn_set_state(struct mock_conn *c, enum conn_state next)
{
  if(c->w->srv->cfg.verbose)
    fprintf(stderr, "mock-agencies: conn %p %s: %s -> %s\n", (void *)c,
            c->l->agency ? c->l->agency->ops->name : "control",
            conn_state_names[c->state], conn_state_names[next]);
  if(next != CONN_CLOSED && is_read_state(c->state) != is_read_state(next)) {
    struct timeval rd = { MOCK_IDLE_TIMEOUT_S, 0 }, wr = { MOCK_WRITE_TIMEOUT_S, 0 };
    bufferevent_set_timeouts(c->bev, is_read_state(next) ? &rd : NULL, &wr);
  }
  c->state = next;
}

static void request_reset(struct mock_conn *c)
{
  free(c->body);
  free(c->resp.body);
  c->body = NULL;
  c->body_len = c->body_cap = 0;
  memset(&c->resp, 0, sizeof(c->resp));
  memset(&c->req, 0, sizeof(c->req));
  memset(&c->plan, 0, sizeof(c->plan));
  c->content_length = -1;
  c->chunked = c->expect_continue = 0;
  c->chunk_phase = CHUNK_SIZE;
  c->chunk_left = 0;
  c->sent = 0;
  c->pad_left = 0;
}

/* Stops all I/O now; the memory goes at the reaper's next turn. */
static void conn_close(struct mock_conn *c, enum close_how how)
{
  evutil_socket_t fd = bufferevent_getfd(c->bev);
  SSL *ssl = c->l->ssl ? bufferevent_openssl_get_ssl(c->bev) : NULL;

  if(c->state == CONN_CLOSED)
    return;
  conn_set_state(c, CONN_CLOSED);
  evtimer_del(c->timer);
  bufferevent_disable(c->bev, EV_READ | EV_WRITE);
  bufferevent_setcb(c->bev, NULL, NULL, NULL, NULL);
  if(how == CLOSE_RESET && fd >= 0) {
    struct linger lg = { 1, 0 };       /* close() then sends RST */
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
  } else if(how == CLOSE_GRACEFUL && ssl) {
    SSL_shutdown(ssl);                 /* close_notify: a clean end of data */
  }
  LIST_REMOVE(c, link);
  LIST_INSERT_HEAD(&c->w->dead, c, link);
  event_active(c->w->reaper, EV_TIMEOUT, 0);
}

static void conn_free(struct mock_conn *c)
{
  if(c->l->agency)
    count(&c->l->agency->open_connections, -1);
  handshake_over(c);
  bufferevent_free(c->bev);
  event_free(c->timer);
  request_reset(c);
  c->magic = 0;
  free(c);
}

static void reaper_cb(evutil_socket_t fd, short what, void *arg)
{
  struct mock_worker *w = arg;
  (void)fd; (void)what;
  while(!LIST_EMPTY(&w->dead)) {
    struct mock_conn *c = LIST_FIRST(&w->dead);
    LIST_REMOVE(c, link);
    conn_free(c);
  }
}

/* ---- writing responses -------------------------------------------------------- */

static void send_head(struct mock_conn *c, int status, const char *content_type,
                      uint64_t content_length, const char *extra)
{
  struct evbuffer *out = bufferevent_get_output(c->bev);

  evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\nDate: %s\r\nServer: %s\r\n"
                      "Content-Type: %s\r\nContent-Length: %llu\r\n%s%s\r\n",
                      status, reason(status), worker_date(c->w), c->l->server_header,
                      content_type, (unsigned long long)content_length, extra,
                      !c->keep_alive ? "Connection: close\r\n"
                      : c->http10 ? "Connection: keep-alive\r\n" : "");
  if(c->l->agency)
    count(&c->l->agency->responses, 1);
}

static void free_body(const void *data, size_t len, void *arg)
{
  (void)len; (void)arg;
  free((void *)data);
}

/* Queues body[0..len) and takes ownership of the malloc'd `body`. */
static void send_owned(struct mock_conn *c, char *body, size_t len)
{
  struct evbuffer *out = bufferevent_get_output(c->bev);

  if(len <= COPY_BODY_MAX || evbuffer_add_reference(out, body, len, free_body, NULL)) {
    evbuffer_add(out, body, len);
    free(body);
  }
}

/* After a response is queued: next request, or close once it is written. */
static void request_done(struct mock_conn *c)
{
  request_reset(c);
  conn_set_state(c, c->keep_alive ? CONN_READ_HEAD : CONN_DRAIN_CLOSE);
}

/* The core's own errors (bad framing, limits): plain text, then close. */
static void conn_fail(struct mock_conn *c, int status)
{
  char body[96];
  int n = snprintf(body, sizeof(body), "%d %s\n", status, reason(status));

  c->keep_alive = 0;
  send_head(c, status, "text/plain; charset=utf-8", (uint64_t)n, "");
  evbuffer_add(bufferevent_get_output(c->bev), body, (size_t)n);
  request_done(c);
}

static int generic_500(struct mock_response *resp)
{
  static const char page[] =
    "<html>\r\n<head><title>500 Internal Server Error</title></head>\r\n"
    "<body>\r\n<center><h1>500 Internal Server Error</h1></center>\r\n"
    "</body>\r\n</html>\r\n";
  resp->headers[0] = '\0';
  return mock_response_set(resp, 500, "text/html", page, sizeof(page) - 1);
}

static void huge_refill(struct mock_conn *c)
{
  struct evbuffer *out = bufferevent_get_output(c->bev);

  while(c->pad_left && evbuffer_get_length(out) < HUGE_QUEUE) {
    size_t n = c->pad_left < PAD_LEN ? (size_t)c->pad_left : PAD_LEN;
    if(evbuffer_add_reference(out, pad_page, n, NULL, NULL))
      break;
    c->pad_left -= n;
  }
  if(!c->pad_left)
    request_done(c);
}

static void slow_tick(struct mock_conn *c)
{
  struct timeval one = { 1, 0 };

  evbuffer_add(bufferevent_get_output(c->bev), c->resp.body + c->sent, 1);
  if(++c->sent == c->resp.body_len)
    request_done(c);
  else
    evtimer_add(c->timer, &one);
}

/* Runs the agency (or control) handler and writes what the plan says. */
static void conn_execute(struct mock_conn *c)
{
  struct mock_server *srv = c->w->srv;
  struct mock_response *resp = &c->resp;
  int rc;

  switch(c->plan.transport) {
  case MOCK_TR_HANG: {
    struct timeval cap = { MOCK_HANG_MAX_S, 0 };
    conn_set_state(c, CONN_HANG);
    evtimer_add(c->timer, &cap);
    return;
  }
  case MOCK_TR_RESET:
    conn_close(c, CLOSE_RESET);
    return;
  case MOCK_TR_HTTP_500:
    rc = generic_500(resp);
    break;
  default:
    rc = c->l->agency
      ? c->l->agency->ops->handle(&srv->ctx, &c->req, c->plan.content, resp)
      : mock_control_handle(srv, &c->req, resp);
    if(rc || !resp->body)
      rc = generic_500(resp);
    break;
  }
  if(rc) {                             /* out of memory even for the 500 page */
    conn_close(c, CLOSE_ABORT);
    return;
  }

  switch(c->plan.transport) {
  case MOCK_TR_TRUNCATED:
    c->keep_alive = 0;
    send_head(c, resp->status, resp->content_type, resp->body_len, resp->headers);
    send_owned(c, resp->body, resp->body_len / 2);
    resp->body = NULL;
    request_done(c);
    break;
  case MOCK_TR_HUGE_BODY:
    send_head(c, resp->status, resp->content_type, MOCK_HUGE_BODY_LEN, resp->headers);
    c->pad_left = resp->body_len < MOCK_HUGE_BODY_LEN ? MOCK_HUGE_BODY_LEN - resp->body_len : 0;
    send_owned(c, resp->body, resp->body_len);
    resp->body = NULL;
    conn_set_state(c, CONN_HUGE_BODY);
    huge_refill(c);
    break;
  case MOCK_TR_SLOW_BODY:
    send_head(c, resp->status, resp->content_type, resp->body_len, resp->headers);
    if(!resp->body_len) {
      request_done(c);
      break;
    }
    conn_set_state(c, CONN_SLOW_BODY);
    slow_tick(c);
    break;
  default:
    send_head(c, resp->status, resp->content_type, resp->body_len, resp->headers);
    send_owned(c, resp->body, resp->body_len);
    resp->body = NULL;
    request_done(c);
    break;
  }
}

/* "scheme://address:port" of the connection's local end, into c->origin. */
static void conn_origin(struct mock_conn *c)
{
  struct sockaddr_storage ss;
  socklen_t len = sizeof(ss);
  char host[INET6_ADDRSTRLEN];
  const char *scheme = c->l->ssl ? "https" : "http";
  evutil_socket_t fd = bufferevent_getfd(c->bev);

  c->origin[0] = '\0';
  if(fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &len))
    return;
  if(ss.ss_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)(const void *)&ss;
    if(inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host)))
      snprintf(c->origin, sizeof(c->origin), "%s://[%s]:%u", scheme, host, ntohs(a->sin6_port));
  }
  else if(ss.ss_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)(const void *)&ss;
    if(inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host)))
      snprintf(c->origin, sizeof(c->origin), "%s://%s:%u", scheme, host, ntohs(a->sin_port));
  }
}

/* A complete request: count it, plan its fault, answer now or later. */
static void conn_dispatch(struct mock_conn *c)
{
  conn_origin(c);
  c->req.origin = c->origin;
  c->req.body = c->body ? c->body : "";
  c->req.body_len = c->body_len;
  if(c->l->agency)
    mock_fault_plan(c->l->agency, worker_rand(c->w), &c->plan);
  if(c->plan.delay_ms) {
    struct timeval tv = { (time_t)(c->plan.delay_ms / 1000),
                          (suseconds_t)(c->plan.delay_ms % 1000) * 1000 };
    conn_set_state(c, CONN_DELAY);
    evtimer_add(c->timer, &tv);
    return;
  }
  conn_execute(c);
}

/* ---- reading requests ----------------------------------------------------------- */

/* Parses c->head in place.  Returns 0, or the HTTP status to fail with. */
static int parse_head(struct mock_conn *c)
{
  char *line = c->head, *end, *sp, *q;
  const char *version;

  end = strstr(line, "\r\n");
  *end = '\0';
  sp = strchr(line, ' ');
  if(!sp || sp == line)
    return 400;
  *sp = '\0';
  for(const char *m = line; *m; m++)
    if(*m < 'A' || *m > 'Z')
      return 400;
  c->req.method = line;
  c->req.path = sp + 1;
  sp = strchr(sp + 1, ' ');
  if(!sp || c->req.path[0] != '/')
    return 400;
  *sp = '\0';
  version = sp + 1;
  if(!strcmp(version, "HTTP/1.1"))
    c->http10 = 0;
  else if(!strcmp(version, "HTTP/1.0"))
    c->http10 = 1;
  else
    return strncmp(version, "HTTP/", 5) ? 400 : 505;
  c->keep_alive = !c->http10;
  q = strchr(c->req.path, '?');
  if(q) {
    *q = '\0';
    c->req.query = q + 1;
  }

  for(line = end + 2; *line != '\r'; line = end + 2) {
    char *colon, *value, *vend;
    end = strstr(line, "\r\n");
    *end = '\0';
    colon = strchr(line, ':');
    if(*line == ' ' || *line == '\t' || !colon || colon == line)
      return 400;                      /* obsolete folding or not a header */
    *colon = '\0';
    for(value = colon + 1; *value == ' ' || *value == '\t'; value++)
      ;
    for(vend = end; vend > value && (vend[-1] == ' ' || vend[-1] == '\t'); vend--)
      ;
    *vend = '\0';
    if(c->req.n_hdrs >= MOCK_MAX_REQ_HEADERS)
      return 431;                      /* more headers than any agency reads */
    c->req.hdr_names[c->req.n_hdrs] = line;
    c->req.hdr_values[c->req.n_hdrs++] = value;
    if(!strcasecmp(line, "Content-Length")) {
      char *e;
      long long n;
      errno = 0;
      n = strtoll(value, &e, 10);
      if(errno || e == value || *e || *value == '-' || *value == '+' ||
         (c->content_length >= 0 && c->content_length != n))
        return 400;
      if(n > MOCK_MAX_BODY)
        return 413;
      c->content_length = n;
    } else if(!strcasecmp(line, "Transfer-Encoding")) {
      if(strcasecmp(value, "chunked"))
        return 501;
      c->chunked = 1;
    } else if(!strcasecmp(line, "Connection")) {
      if(strcasestr(value, "close"))
        c->keep_alive = 0;
      else if(strcasestr(value, "keep-alive"))
        c->keep_alive = 1;
    } else if(!strcasecmp(line, "Expect")) {
      if(strcasecmp(value, "100-continue"))
        return 417;
      c->expect_continue = 1;
    } else if(!strcasecmp(line, "Content-Type")) {
      c->req.content_type = value;
    } else if(!strcasecmp(line, "SOAPAction")) {
      c->req.soap_action = value;
    } else if(!strcasecmp(line, "Authorization")) {
      c->req.authorization = value;
    } else if(!strcasecmp(line, "X-Api-Key")) {
      c->req.api_key = value;
    }
  }
  if(c->chunked && c->content_length >= 0)
    return 400;                        /* both framings: refuse, never guess */
  return 0;
}

static int body_reserve(struct mock_conn *c, size_t more)
{
  size_t need = c->body_len + more, cap = c->body_cap ? c->body_cap : 1024;
  char *nb;

  if(need > MOCK_MAX_BODY)
    return -1;
  if(need + 1 <= c->body_cap)
    return 0;
  while(cap < need + 1)
    cap *= 2;
  nb = realloc(c->body, cap);
  if(!nb)
    return -1;
  c->body = nb;
  c->body_cap = cap;
  return 0;
}

/* Returns 1 when the whole request is in, 0 for more, or an HTTP status. */
static int read_chunked(struct mock_conn *c, struct evbuffer *in)
{
  for(;;) {
    char *line, *e, crlf[2];
    size_t n;
    unsigned long long size;

    switch(c->chunk_phase) {
    case CHUNK_SIZE:
    case CHUNK_TRAILERS:
      line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF_STRICT);
      if(!line)
        return evbuffer_get_length(in) > MAX_CHUNK_LINE ? 400 : 0;
      if(c->chunk_phase == CHUNK_TRAILERS) {
        free(line);
        if(n == 0)
          return 1;
        continue;
      }
      errno = 0;
      size = strtoull(line, &e, 16);
      if(errno || e == line || (*e && *e != ';' && *e != ' ')) {
        free(line);
        return 400;
      }
      free(line);
      if(size > MOCK_MAX_BODY || body_reserve(c, (size_t)size))
        return 413;
      c->chunk_left = size;
      c->chunk_phase = size ? CHUNK_DATA : CHUNK_TRAILERS;
      break;
    case CHUNK_DATA:
      n = evbuffer_get_length(in);
      if(n > c->chunk_left)
        n = (size_t)c->chunk_left;
      if(!n)
        return 0;
      evbuffer_remove(in, c->body + c->body_len, n);
      c->body_len += n;
      c->chunk_left -= n;
      if(c->chunk_left)
        return 0;
      c->chunk_phase = CHUNK_DATA_END;
      break;
    case CHUNK_DATA_END:
      if(evbuffer_get_length(in) < 2)
        return 0;
      evbuffer_remove(in, crlf, 2);
      if(crlf[0] != '\r' || crlf[1] != '\n')
        return 400;
      c->chunk_phase = CHUNK_SIZE;
      break;
    }
  }
}

/* Reads what can be read and serves complete requests, in order. */
static void conn_advance(struct mock_conn *c)
{
  struct evbuffer *in = bufferevent_get_input(c->bev);

  for(;;) {
    struct evbuffer_ptr pos;
    size_t avail;
    int status;
    char lead[2];

    switch(c->state) {
    case CONN_READ_HEAD:
      /* RFC 9112 2.2: ignore empty lines before a request line */
      while(evbuffer_copyout(in, lead, 2) == 2 && lead[0] == '\r' && lead[1] == '\n')
        evbuffer_drain(in, 2);
      avail = evbuffer_get_length(in);
      if(!avail)
        return;
      pos = evbuffer_search(in, "\r\n\r\n", 4, NULL);
      if(pos.pos < 0 || (size_t)pos.pos + 4 > MOCK_MAX_HEAD) {
        if(pos.pos >= 0 || avail > MOCK_MAX_HEAD)
          conn_fail(c, 431);
        return;
      }
      evbuffer_remove(in, c->head, (size_t)pos.pos + 4);
      c->head[pos.pos + 4] = '\0';
      request_reset(c);
      status = parse_head(c);
      if(status) {
        conn_fail(c, status);
        return;
      }
      if(!c->chunked && c->content_length <= 0) {
        conn_dispatch(c);
        break;
      }
      if(c->expect_continue && !evbuffer_get_length(in))
        evbuffer_add_printf(bufferevent_get_output(c->bev), "HTTP/1.1 100 Continue\r\n\r\n");
      conn_set_state(c, c->chunked ? CONN_READ_CHUNKED : CONN_READ_BODY);
      break;
    case CONN_READ_BODY:
      if(evbuffer_get_length(in) < (size_t)c->content_length)
        return;
      if(body_reserve(c, (size_t)c->content_length)) {
        conn_fail(c, 413);
        return;
      }
      evbuffer_remove(in, c->body, (size_t)c->content_length);
      c->body_len = (size_t)c->content_length;
      conn_dispatch(c);
      break;
    case CONN_READ_CHUNKED:
      status = read_chunked(c, in);
      if(status == 0)
        return;
      if(status != 1) {
        conn_fail(c, status);
        return;
      }
      conn_dispatch(c);
      break;
    default:
      return;                          /* answering, or closing */
    }
    /* conn_dispatch leaves READ_HEAD when it did not answer yet */
    if(c->state == CONN_READ_BODY || c->state == CONN_READ_CHUNKED)
      continue;
    if(c->state != CONN_READ_HEAD)
      return;
  }
}

/* ---- libevent callbacks ------------------------------------------------------------ */

static void read_cb(struct bufferevent *bev, void *arg)
{
  struct mock_conn *c = arg;
  CONN_CHECK(c);
  (void)bev;
  conn_advance(c);
}

static void write_cb(struct bufferevent *bev, void *arg)
{
  struct mock_conn *c = arg;
  CONN_CHECK(c);
  (void)bev;
  if(c->state == CONN_DRAIN_CLOSE) {
    conn_close(c, CLOSE_GRACEFUL);
  } else if(c->state == CONN_HUGE_BODY) {
    huge_refill(c);
    if(c->state == CONN_READ_HEAD)
      conn_advance(c);
  }
}

/* The handshake is over for agency->handshaking (see server.h). */
static void handshake_over(struct mock_conn *c)
{
  if(c->handshaking) {
    c->handshaking = 0;
    count(&c->l->agency->handshaking, -1);
  }
}

/* SSL info callback: this side is about to write its Finished. */
static void ssl_info_cb(const SSL *ssl, int where, int ret)
{
  struct mock_conn *c = SSL_get_ex_data(ssl, conn_ex_index);
  (void)ret;
  if(c && (where & SSL_CB_ACCEPT_LOOP) && SSL_get_state(ssl) == TLS_ST_SW_FINISHED)
    handshake_over(c);
}

static void event_cb(struct bufferevent *bev, short events, void *arg)
{
  struct mock_conn *c = arg;
  CONN_CHECK(c);
  (void)bev;
  if(events & BEV_EVENT_CONNECTED) {
    handshake_over(c);
    c->handshaken = 1;
    return;
  }
  if(!c->handshaken && c->l->ssl && c->l->agency && (events & BEV_EVENT_ERROR))
    count(&c->l->agency->tls_failures, 1);
  /* EOF, error or timeout: the client is gone or too slow; whatever we
   * were doing for it (latency, hang, slow body) stops here. */
  conn_close(c, CLOSE_ABORT);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
  struct mock_conn *c = arg;
  CONN_CHECK(c);
  (void)fd; (void)what;
  switch(c->state) {
  case CONN_DELAY:
    conn_execute(c);
    conn_advance(c);
    break;
  case CONN_SLOW_BODY:
    slow_tick(c);
    conn_advance(c);
    break;
  case CONN_HANG:
    conn_close(c, CLOSE_ABORT);
    break;
  default:
    break;
  }
}

static void accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
                      struct sockaddr *sa, int salen, void *arg)
{
  struct mock_listener *l = arg;
  struct mock_worker *w = l->w;
  struct mock_conn *c = calloc(1, sizeof(*c));
  SSL *ssl = NULL;
  int one = 1;
  struct timeval rd = { MOCK_IDLE_TIMEOUT_S, 0 }, wr = { MOCK_WRITE_TIMEOUT_S, 0 };
  (void)lev; (void)sa; (void)salen;

  if(!c || (l->ssl && !(ssl = SSL_new(l->ssl))))
    goto fail;
  pthread_once(&conn_ex_once, conn_ex_init);
  if(ssl && l->agency && conn_ex_index >= 0) {
    SSL_set_ex_data(ssl, conn_ex_index, c);
    SSL_set_info_callback(ssl, ssl_info_cb);
    c->l = l;                          /* handshake_over needs it */
    c->handshaking = 1;
    max_store(&l->agency->max_handshaking,
              atomic_fetch_add(&l->agency->handshaking, 1) + 1);
  }
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  c->bev = ssl
    ? bufferevent_openssl_socket_new(w->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                     BEV_OPT_CLOSE_ON_FREE)
    : bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
  if(!c->bev)
    goto fail;
  ssl = NULL;                          /* the bufferevent owns it now */
  c->timer = evtimer_new(w->base, timer_cb, c);
  if(!c->timer) {
    handshake_over(c);
    bufferevent_free(c->bev);          /* closes fd */
    free(c);
    return;
  }
  c->magic = CONN_MAGIC;
  c->w = w;
  c->l = l;
  c->state = CONN_READ_HEAD;
  c->content_length = -1;
  bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
  bufferevent_setwatermark(c->bev, EV_READ, 0, MOCK_MAX_HEAD + MOCK_MAX_BODY + MAX_CHUNK_LINE);
  bufferevent_set_timeouts(c->bev, &rd, &wr);
  bufferevent_enable(c->bev, EV_READ | EV_WRITE);
  LIST_INSERT_HEAD(&w->live, c, link);
  if(l->agency) {
    count(&l->agency->connections, 1);
    count(&l->agency->open_connections, 1);
  }
  return;
fail:
  if(c)
    handshake_over(c);
  SSL_free(ssl);
  free(c);
  evutil_closesocket(fd);
}

static void accept_error_cb(struct evconnlistener *lev, void *arg)
{
  struct mock_listener *l = arg;
  int err = EVUTIL_SOCKET_ERROR();
  (void)lev;
  /* EMFILE and friends: say so and keep listening; libevent retries. */
  fprintf(stderr, "mock-agencies: accept on %s: %s\n",
          l->agency ? l->agency->ops->name : "control", evutil_socket_error_to_string(err));
}

/* ---- set-up ------------------------------------------------------------------------ */

static void ssl_error(char *err, size_t errlen, const char *what, const char *path)
{
  char buf[256] = "";
  unsigned long e = ERR_get_error();

  if(e)
    ERR_error_string_n(e, buf, sizeof(buf));
  snprintf(err, errlen, "%s %s: %s", what, path, buf[0] ? buf : "failed");
  ERR_clear_error();
}

static SSL_CTX *make_ssl_ctx(const char *pki, const char *name, const struct agency_def *d,
                             char *err, size_t errlen)
{
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  char cert[4096], key[4096], ca[4096];

  snprintf(cert, sizeof(cert), "%s/agencies/%s.pem", pki, name);
  snprintf(key, sizeof(key), "%s/agencies/%s.key", pki, name);
  snprintf(ca, sizeof(ca), "%s/agency-ca.pem", pki);
  if(!ctx) {
    ssl_error(err, errlen, "TLS context for", name);
    goto fail;
  }
  SSL_CTX_set_min_proto_version(ctx, d->min_proto);
  SSL_CTX_set_max_proto_version(ctx, d->max_proto);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  if(SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
    ssl_error(err, errlen, "certificate", cert);
    goto fail;
  }
  if(SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
     SSL_CTX_check_private_key(ctx) != 1) {
    ssl_error(err, errlen, "private key", key);
    goto fail;
  }
  if(d->mtls) {
    STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(ca);
    if(!names || SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
      sk_X509_NAME_pop_free(names, X509_NAME_free);
      ssl_error(err, errlen, "client CA", ca);
      goto fail;
    }
    SSL_CTX_set_client_CA_list(ctx, names);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    SSL_CTX_set_session_id_context(ctx, (const unsigned char *)name, (unsigned)strlen(name));
  }
  return ctx;
fail:
  SSL_CTX_free(ctx);
  return NULL;
}

static int is_loopback(const struct sockaddr *sa)
{
  if(sa->sa_family == AF_INET)
    return (ntohl(((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr) >> 24) == 127;
  if(sa->sa_family == AF_INET6)
    return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr);
  return 0;
}

static int listen_port(struct evconnlistener *lev)
{
  struct sockaddr_storage ss;
  socklen_t len = sizeof(ss);

  if(getsockname(evconnlistener_get_fd(lev), (struct sockaddr *)&ss, &len))
    return -1;
  return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                        : ((struct sockaddr_in *)&ss)->sin_port);
}

/* Binds `l` on addr:port (port 0: a free one, reported back in *port). */
static int bind_listener(struct mock_listener *l, const struct sockaddr_storage *addr,
                         socklen_t addrlen, int *port, int reuseport)
{
  struct sockaddr_storage sa = *addr;
  unsigned flags = LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE;

  if(reuseport)
    flags |= LEV_OPT_REUSEABLE_PORT;
  if(sa.ss_family == AF_INET6)
    ((struct sockaddr_in6 *)&sa)->sin6_port = htons((uint16_t)*port);
  else
    ((struct sockaddr_in *)&sa)->sin_port = htons((uint16_t)*port);
  l->lev = evconnlistener_new_bind(l->w->base, accept_cb, l, flags, 511,
                                   (struct sockaddr *)&sa, (int)addrlen);
  if(!l->lev)
    return -1;
  evconnlistener_set_error_cb(l->lev, accept_error_cb);
  *port = listen_port(l->lev);
  return *port > 0 ? 0 : -1;
}

static int worker_init(struct mock_server *srv, struct mock_worker *w, int index)
{
  w->srv = srv;
  w->index = index;
  w->rng = (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ull ^ (uint64_t)(index + 1) << 32 ^ 0x5DEECE66Dull;
  w->base = event_base_new();
  if(!w->base)
    return -1;
  w->reaper = event_new(w->base, -1, 0, reaper_cb, w);
  return w->reaper ? 0 : -1;
}

static void *worker_main(void *arg)
{
  struct mock_worker *w = arg;
  event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY);
  return NULL;
}

static void worker_cleanup(struct mock_worker *w)
{
  for(int i = 0; i < w->n_listeners; i++)
    if(w->listeners[i].lev)
      evconnlistener_free(w->listeners[i].lev);
  while(!LIST_EMPTY(&w->live)) {
    struct mock_conn *c = LIST_FIRST(&w->live);
    LIST_REMOVE(c, link);
    conn_free(c);
  }
  if(w->reaper)
    reaper_cb(-1, 0, w);
  if(w->reaper)
    event_free(w->reaper);
  if(w->base)
    event_base_free(w->base);
  memset(w, 0, sizeof(*w));
}

static int resolve(const char *addr, struct sockaddr_storage *ss, socklen_t *len)
{
  struct addrinfo hints, *ai = NULL;

  memset(&hints, 0, sizeof(hints));
  hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
  hints.ai_socktype = SOCK_STREAM;
  if(getaddrinfo(addr, "0", &hints, &ai) || !ai)
    return -1;
  memcpy(ss, ai->ai_addr, ai->ai_addrlen);
  *len = ai->ai_addrlen;
  freeaddrinfo(ai);
  return 0;
}

int mock_server_start(struct mock_server **out, const struct mock_server_config *cfg,
                      char *err, size_t errlen)
{
  struct mock_server *srv = calloc(1, sizeof(*srv));
  struct sockaddr_storage addr;
  socklen_t addrlen = 0;

  if(!srv) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  srv->cfg = *cfg;
  snprintf(srv->listen_addr, sizeof(srv->listen_addr), "%s", cfg->listen_addr);
  srv->ctx.pop = cfg->pop;
  srv->ctx.keys = cfg->keys;
  srv->ctx.si_token_ttl_s = cfg->si_token_ttl_s;
  memset(pad_page, ' ', sizeof(pad_page));
  if(resolve(cfg->listen_addr, &addr, &addrlen) || !is_loopback((struct sockaddr *)&addr)) {
    snprintf(err, errlen, "--listen %s: not a numeric loopback address", cfg->listen_addr);
    goto fail;
  }
  if(evthread_use_pthreads()) {
    snprintf(err, errlen, "libevent threading set-up failed");
    goto fail;
  }

  for(int i = 0; i < MOCK_N_AGENCIES; i++) {
    struct mock_agency *ag = &srv->agencies[i];
    ag->id = (enum mock_agency_id)i;
    ag->ops = agency_defs[i].ops;
    ag->base_path = agency_defs[i].base_path;
    ag->port = cfg->agency_ports[i];
    if(mock_agency_state_init(ag)) {
      snprintf(err, errlen, "out of memory");
      goto fail;
    }
    srv->n_agency_states++;
    srv->ssl[i] = make_ssl_ctx(cfg->pki_dir, ag->ops->name, &agency_defs[i], err, errlen);
    if(!srv->ssl[i])
      goto fail;
  }

  srv->n_workers = cfg->threads;
  srv->workers = calloc((size_t)srv->n_workers, sizeof(*srv->workers));
  if(!srv->workers || worker_init(srv, &srv->main, -1)) {
    snprintf(err, errlen, "out of memory");
    goto fail;
  }
  for(int t = 0; t < srv->n_workers; t++) {
    struct mock_worker *w = &srv->workers[t];
    LIST_INIT(&w->live);
    LIST_INIT(&w->dead);
    if(worker_init(srv, w, t)) {
      snprintf(err, errlen, "out of memory");
      goto fail;
    }
    for(int i = 0; i < MOCK_N_AGENCIES; i++) {
      struct mock_listener *l = &w->listeners[i];
      struct mock_agency *ag = &srv->agencies[i];
      l->srv = srv;
      l->w = w;
      l->agency = ag;
      l->ssl = srv->ssl[i];
      l->server_header = agency_defs[i].server_header;
      w->n_listeners++;
      if(bind_listener(l, &addr, addrlen, &ag->port, 1)) {
        snprintf(err, errlen, "%s: cannot listen on %s port %d: %s", ag->ops->name,
                 cfg->listen_addr, ag->port, strerror(errno));
        goto fail;
      }
    }
  }

  {
    struct mock_listener *l = &srv->main.listeners[0];
    l->srv = srv;
    l->w = &srv->main;
    l->server_header = "mock-agencies-control";
    srv->main.n_listeners = 1;
    srv->control_port = cfg->control_port;
    if(bind_listener(l, &addr, addrlen, &srv->control_port, 0)) {
      snprintf(err, errlen, "control: cannot listen on %s port %d: %s", cfg->listen_addr,
               cfg->control_port, strerror(errno));
      goto fail;
    }
  }

  for(int t = 0; t < srv->n_workers; t++) {
    int rc = pthread_create(&srv->workers[t].thread, NULL, worker_main, &srv->workers[t]);
    if(rc) {
      snprintf(err, errlen, "cannot start worker thread: %s", strerror(rc));
      goto fail;
    }
    srv->workers[t].running = 1;
  }
  *out = srv;
  return 0;
fail:
  mock_server_free(srv);
  return -1;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
  struct mock_server *srv = arg;
  (void)what;
  fprintf(stderr, "mock-agencies: %s, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
  event_base_loopbreak(srv->main.base);
}

static void stop_workers(struct mock_server *srv)
{
  for(int t = 0; t < srv->n_workers; t++)
    if(srv->workers[t].running)
      event_base_loopbreak(srv->workers[t].base);
  for(int t = 0; t < srv->n_workers; t++)
    if(srv->workers[t].running) {
      pthread_join(srv->workers[t].thread, NULL);
      srv->workers[t].running = 0;
    }
}

int mock_server_run(struct mock_server *srv)
{
  int rc = -1;

  srv->sig_term = evsignal_new(srv->main.base, SIGTERM, on_signal, srv);
  srv->sig_int = evsignal_new(srv->main.base, SIGINT, on_signal, srv);
  if(!srv->sig_term || !srv->sig_int || evsignal_add(srv->sig_term, NULL) ||
     evsignal_add(srv->sig_int, NULL))
    goto out;
  rc = event_base_loop(srv->main.base, EVLOOP_NO_EXIT_ON_EMPTY) < 0 ? -1 : 0;
out:
  stop_workers(srv);
  return rc;
}

void mock_server_free(struct mock_server *srv)
{
  if(!srv)
    return;
  stop_workers(srv);
  if(srv->sig_term)
    event_free(srv->sig_term);
  if(srv->sig_int)
    event_free(srv->sig_int);
  for(int t = 0; t < srv->n_workers && srv->workers; t++)
    worker_cleanup(&srv->workers[t]);
  worker_cleanup(&srv->main);
  free(srv->workers);
  for(int i = 0; i < MOCK_N_AGENCIES; i++)
    SSL_CTX_free(srv->ssl[i]);
  for(int i = 0; i < srv->n_agency_states; i++)
    mock_agency_state_destroy(&srv->agencies[i]);
  free(srv);
}

struct mock_agency *mock_server_agency(struct mock_server *srv, enum mock_agency_id id)
{
  return &srv->agencies[id];
}

int mock_server_control_port(const struct mock_server *srv)
{
  return srv->control_port;
}

const char *mock_server_listen_addr(const struct mock_server *srv)
{
  return srv->listen_addr;
}
