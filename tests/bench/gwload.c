/*
 * gwload.c - a closed-loop HTTPS load client that presents a client
 * certificate and keeps its connections alive.
 *
 * ab and wrk cannot both keep HTTP/1.1 connections alive and present a
 * client certificate, and curl --parallel measures curl more than the
 * server, so the benchmarks use this.  N connections (spread over T
 * threads, each one epoll loop) each send a request, wait for the whole
 * answer, and send the next, for a fixed duration.  Latency is taken from
 * the first byte written to the last byte read; answers still in flight
 * when the time is up are not counted, nor those of the first --warmup
 * seconds (connections opened, handshakes done, the server's pools filled:
 * what is measured is the steady state).  Printed at the end: requests per
 * second, p50/p90/p99/max latency, answers that were not 2xx, and errors
 * (connect, TLS, reset, malformed answer, timeout); with --json a single
 * JSON line instead, for scripts.
 *
 *   gwload --url https://127.0.0.1:PORT/PATH [--cacert F] [--cert F --key F]
 *          [--body FILE | --bodies FILE] [-c CONNS] [-d SECONDS] [-t THREADS]
 *          [-H 'Name: value']... [--timeout-ms MS] [--warmup SECONDS] [--json]
 *   gwload --hold ... : open the connections, send one request on each, then
 *          keep them all open and idle for -d seconds (memory per idle
 *          connection is read off the server meanwhile); prints how many are
 *          open.
 *
 * --bodies FILE holds one body per line, used in turn.  The body is POSTed
 * as application/json; without a body the request is a GET.  Answers are
 * HTTP/1.1 with Content-Length or chunked; "Connection: close" makes the
 * connection reconnect (counted).  Everything stops by itself: the run has a
 * fixed length and every answer a timeout.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define MAX_THREADS 64
#define MAX_CONNS 100000
#define MAX_HEADERS_EXTRA 16
#define MAX_BODY_FILE (16 * 1024 * 1024)
#define MAX_ANSWER_HEAD 65536            /* an answer's head must fit in this */
#define MAX_ANSWER_BODY (64 * 1024 * 1024)
#define RBUF 65536
#define HIST_STEP_US 10                  /* latency histogram resolution */
#define HIST_MAX_US (30 * 1000 * 1000)   /* and its range */
#define HIST_N (HIST_MAX_US / HIST_STEP_US + 1)

enum cstate { C_CONNECT, C_HANDSHAKE, C_WRITE, C_READ, C_IDLE, C_DEAD };

struct conn {
  int fd;
  SSL *ssl;
  enum cstate st;
  struct worker *w;
  size_t req_idx;                        /* which prepared request */
  size_t woff;                           /* bytes of the request written */
  char *rbuf;                            /* answer bytes read so far */
  size_t rlen, rcap;
  uint64_t t_start_ns;                   /* first byte of this request */
  uint64_t deadline_ns;                  /* answer timeout */
};

struct stats {
  uint64_t ok, non2xx, err_connect, err_tls, err_io, err_parse, err_timeout, reconnects;
  uint64_t bytes;
  uint32_t *hist;
  uint64_t max_us;
};

struct worker {
  pthread_t th;
  int ep;
  struct conn *conns;
  size_t n;
  struct stats s;
  size_t next_req;
};

struct request { char *data; size_t len; };

static struct {
  const char *url, *cacert, *cert, *key, *body_file, *bodies_file;
  char host[256], hostport[300], path[2048];
  int port;
  int conns, threads, seconds, timeout_ms, json, hold, warmup;
  const char *extra[MAX_HEADERS_EXTRA];
  int n_extra;
  struct request *reqs;
  size_t n_reqs;
  SSL_CTX *ctx;
  struct sockaddr_in addr;
  uint64_t t_end_ns, t_begin_ns, t_from_ns;   /* answers counted from t_from to t_end */
} G = { .conns = 32, .threads = 1, .seconds = 10, .timeout_ms = 10000 };

static uint64_t now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* die("cannot open %s", path): the one format is "...%s..." with one string. */
__attribute__((format(printf, 1, 2), noreturn))
static void die(const char *fmt, ...)
{
  va_list ap;
  fprintf(stderr, "gwload: ");
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  exit(2);
}

static char *read_file(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  char *buf;
  size_t n;

  if(!f)
    die("cannot open %s", path);
  buf = malloc(MAX_BODY_FILE + 1);
  if(!buf)
    die("out of memory reading %s", path);
  n = fread(buf, 1, MAX_BODY_FILE + 1, f);
  fclose(f);
  if(n > MAX_BODY_FILE)
    die("%s is larger than 16 MiB", path);
  buf[n] = '\0';
  *len = n;
  return buf;
}

static void add_request(const char *body, size_t blen, int has_body)
{
  size_t cap = 1024 + strlen(G.path) + blen;
  char *r;
  int n;

  for(int i = 0; i < G.n_extra; i++)
    cap += strlen(G.extra[i]) + 2;
  r = malloc(cap);
  if(!r)
    die("%s", "out of memory");
  n = snprintf(r, cap, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: gwload\r\n",
               has_body ? "POST" : "GET", G.path, G.hostport);
  if(has_body)
    n += snprintf(r + n, cap - (size_t)n,
                  "Content-Type: application/json\r\nContent-Length: %zu\r\n", blen);
  for(int i = 0; i < G.n_extra; i++)
    n += snprintf(r + n, cap - (size_t)n, "%s\r\n", G.extra[i]);
  n += snprintf(r + n, cap - (size_t)n, "\r\n");
  memcpy(r + n, body, blen);
  G.reqs = realloc(G.reqs, (G.n_reqs + 1) * sizeof(*G.reqs));
  if(!G.reqs)
    die("%s", "out of memory");
  G.reqs[G.n_reqs].data = r;
  G.reqs[G.n_reqs].len = (size_t)n + blen;
  G.n_reqs++;
}

static void prepare_requests(void)
{
  size_t len;
  char *b;

  if(G.body_file) {
    b = read_file(G.body_file, &len);
    while(len && (b[len - 1] == '\n' || b[len - 1] == '\r'))
      len--;
    add_request(b, len, 1);
    free(b);
  }
  else if(G.bodies_file) {
    char *p, *line;
    b = read_file(G.bodies_file, &len);
    for(p = b; (line = strsep(&p, "\n"));) {
      size_t l = strlen(line);
      if(l && line[l - 1] == '\r')
        l--;
      if(l)
        add_request(line, l, 1);
    }
    free(b);
    if(!G.n_reqs)
      die("%s has no bodies", G.bodies_file);
  }
  else
    add_request("", 0, 0);
}

static void parse_url(void)
{
  const char *u = G.url, *slash, *colon;

  if(strncmp(u, "https://", 8))
    die("--url %s: only https:// URLs", u);
  u += 8;
  slash = strchr(u, '/');
  if(!slash)
    slash = u + strlen(u);
  snprintf(G.hostport, sizeof(G.hostport), "%.*s", (int)(slash - u), u);
  snprintf(G.path, sizeof(G.path), "%s", *slash ? slash : "/");
  colon = strrchr(G.hostport, ':');
  if(!colon)
    die("--url %s: give host:port", G.url);
  snprintf(G.host, sizeof(G.host), "%.*s", (int)(colon - G.hostport), G.hostport);
  G.port = atoi(colon + 1);
  memset(&G.addr, 0, sizeof(G.addr));
  G.addr.sin_family = AF_INET;
  G.addr.sin_port = htons((uint16_t)G.port);
  if(G.port <= 0 || G.port > 65535 || inet_pton(AF_INET, G.host, &G.addr.sin_addr) != 1)
    die("--url %s: host must be a numeric IPv4 address with a port", G.url);
  if((ntohl(G.addr.sin_addr.s_addr) >> 24) != 127)
    die("--url %s: loopback addresses only", G.url);
}

static void make_ctx(void)
{
  G.ctx = SSL_CTX_new(TLS_client_method());
  if(!G.ctx)
    die("%s", "SSL_CTX_new failed");
  SSL_CTX_set_min_proto_version(G.ctx, TLS1_2_VERSION);
  if(G.cacert) {
    if(SSL_CTX_load_verify_locations(G.ctx, G.cacert, NULL) != 1)
      die("cannot load CA %s", G.cacert);
    SSL_CTX_set_verify(G.ctx, SSL_VERIFY_PEER, NULL);
  }
  if(G.cert) {
    if(SSL_CTX_use_certificate_chain_file(G.ctx, G.cert) != 1)
      die("cannot load certificate %s", G.cert);
    if(SSL_CTX_use_PrivateKey_file(G.ctx, G.key ? G.key : G.cert, SSL_FILETYPE_PEM) != 1)
      die("cannot load key %s", G.key ? G.key : G.cert);
  }
}

/* ---- one connection ------------------------------------------------------ */

static void conn_watch(struct conn *c, uint32_t events, int op)
{
  struct epoll_event ev = { .events = events, .data.ptr = c };
  epoll_ctl(c->w->ep, op, c->fd, &ev);
}

static void conn_close(struct conn *c)
{
  if(c->ssl)
    SSL_free(c->ssl);
  c->ssl = NULL;
  if(c->fd >= 0) {
    epoll_ctl(c->w->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
  }
  c->fd = -1;
  c->st = C_DEAD;
}

static int conn_open(struct conn *c)
{
  int one = 1;

  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if(c->fd < 0) {
    c->w->s.err_connect++;
    c->st = C_DEAD;
    return -1;
  }
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  c->rlen = 0;
  c->woff = 0;
  c->st = C_CONNECT;
  c->deadline_ns = now_ns() + (uint64_t)G.timeout_ms * 1000000u;
  if(connect(c->fd, (struct sockaddr *)&G.addr, sizeof(G.addr)) && errno != EINPROGRESS) {
    c->w->s.err_connect++;
    close(c->fd);
    c->fd = -1;
    c->st = C_DEAD;
    return -1;
  }
  conn_watch(c, EPOLLOUT, EPOLL_CTL_ADD);
  return 0;
}

static void conn_start_request(struct conn *c)
{
  struct worker *w = c->w;

  c->req_idx = w->next_req++ % G.n_reqs;
  c->woff = 0;
  c->rlen = 0;
  c->st = C_WRITE;
  c->t_start_ns = now_ns();
  c->deadline_ns = c->t_start_ns + (uint64_t)G.timeout_ms * 1000000u;
}

/* Is the answer in rbuf complete?  Returns 1 complete (sets *status,
 * *close_after), 0 need more, -1 malformed. */
static int answer_complete(struct conn *c, int *status, int *close_after)
{
  char *end = memmem(c->rbuf, c->rlen, "\r\n\r\n", 4);
  size_t head_len, body_have;
  long long clen = -1;
  int chunked = 0;

  if(!end)
    return c->rlen > MAX_ANSWER_HEAD ? -1 : 0;
  head_len = (size_t)(end - c->rbuf) + 4;
  if(c->rlen < 12 || strncmp(c->rbuf, "HTTP/1.", 7))
    return -1;
  *status = atoi(c->rbuf + 9);
  *close_after = !strncmp(c->rbuf, "HTTP/1.0", 8);
  for(char *l = memchr(c->rbuf, '\n', head_len); l && l < end; l = memchr(l, '\n', (size_t)(end + 2 - l))) {
    char line[256];
    size_t ll;
    char *nl;
    l++;
    nl = memchr(l, '\n', (size_t)(end + 2 - l));
    ll = nl ? (size_t)(nl - l) : 0;
    if(ll >= sizeof(line))
      ll = sizeof(line) - 1;
    memcpy(line, l, ll);
    line[ll] = '\0';
    if(!strncasecmp(line, "content-length:", 15))
      clen = strtoll(line + 15, NULL, 10);
    else if(!strncasecmp(line, "transfer-encoding:", 18) && strcasestr(line, "chunked"))
      chunked = 1;
    else if(!strncasecmp(line, "connection:", 11)) {
      if(strcasestr(line, "close"))
        *close_after = 1;
      else if(strcasestr(line, "keep-alive"))
        *close_after = 0;
    }
  }
  body_have = c->rlen - head_len;
  if(chunked) {
    /* walk the chunks over what has arrived */
    size_t off = head_len;
    for(;;) {
      char *crlf = memmem(c->rbuf + off, c->rlen - off, "\r\n", 2);
      unsigned long long sz;
      if(!crlf)
        return 0;
      sz = strtoull(c->rbuf + off, NULL, 16);
      if(sz > MAX_ANSWER_BODY)
        return -1;
      off = (size_t)(crlf - c->rbuf) + 2;
      if(sz == 0) {
        /* trailers end with an empty line */
        char *fin = memmem(c->rbuf + off - 2, c->rlen - off + 2, "\r\n\r\n", 4);
        return fin ? 1 : 0;
      }
      if(c->rlen - off < sz + 2)
        return 0;
      off += sz + 2;
    }
  }
  if(clen < 0) {
    if(*status == 204 || *status == 304 || *status / 100 == 1)
      return 1;
    return -1;                      /* read-to-close answers are not supported */
  }
  if(clen > MAX_ANSWER_BODY)
    return -1;
  return body_have >= (size_t)clen ? 1 : 0;
}

static void conn_fail(struct conn *c, uint64_t *counter)
{
  (*counter)++;
  conn_close(c);
}

/* Runs the connection as far as it goes without waiting. */
static void conn_drive(struct conn *c)
{
  struct worker *w = c->w;

  for(;;) {
    int r, e;
    switch(c->st) {
    case C_CONNECT: {
      int soerr = 0;
      socklen_t sl = sizeof(soerr);
      getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
      if(soerr) {
        conn_fail(c, &w->s.err_connect);
        return;
      }
      c->ssl = SSL_new(G.ctx);
      SSL_set_fd(c->ssl, c->fd);
      SSL_set_tlsext_host_name(c->ssl, "localhost");
      c->st = C_HANDSHAKE;
      break;
    }
    case C_HANDSHAKE:
      ERR_clear_error();
      r = SSL_connect(c->ssl);
      if(r == 1) {
        conn_start_request(c);
        break;
      }
      e = SSL_get_error(c->ssl, r);
      if(e == SSL_ERROR_WANT_READ) { conn_watch(c, EPOLLIN, EPOLL_CTL_MOD); return; }
      if(e == SSL_ERROR_WANT_WRITE) { conn_watch(c, EPOLLOUT, EPOLL_CTL_MOD); return; }
      conn_fail(c, &w->s.err_tls);
      return;
    case C_WRITE: {
      const struct request *rq = &G.reqs[c->req_idx];
      ERR_clear_error();
      r = SSL_write(c->ssl, rq->data + c->woff, (int)(rq->len - c->woff));
      if(r > 0) {
        c->woff += (size_t)r;
        if(c->woff == rq->len)
          c->st = C_READ;
        break;
      }
      e = SSL_get_error(c->ssl, r);
      if(e == SSL_ERROR_WANT_READ) { conn_watch(c, EPOLLIN, EPOLL_CTL_MOD); return; }
      if(e == SSL_ERROR_WANT_WRITE) { conn_watch(c, EPOLLOUT, EPOLL_CTL_MOD); return; }
      conn_fail(c, &w->s.err_io);
      return;
    }
    case C_READ: {
      int status = 0, close_after = 0, done;
      if(c->rcap - c->rlen < RBUF / 2) {
        size_t cap = c->rcap ? c->rcap * 2 : RBUF;
        if(cap > MAX_ANSWER_HEAD + MAX_ANSWER_BODY + RBUF) {
          conn_fail(c, &w->s.err_parse);
          return;
        }
        c->rbuf = realloc(c->rbuf, cap);
        if(!c->rbuf)
          die("%s", "out of memory");
        c->rcap = cap;
      }
      ERR_clear_error();
      r = SSL_read(c->ssl, c->rbuf + c->rlen, (int)(c->rcap - c->rlen - 1));
      if(r <= 0) {
        e = SSL_get_error(c->ssl, r);
        if(e == SSL_ERROR_WANT_READ) { conn_watch(c, EPOLLIN, EPOLL_CTL_MOD); return; }
        if(e == SSL_ERROR_WANT_WRITE) { conn_watch(c, EPOLLOUT, EPOLL_CTL_MOD); return; }
        conn_fail(c, &w->s.err_io);
        return;
      }
      c->rlen += (size_t)r;
      done = answer_complete(c, &status, &close_after);
      if(done < 0) {
        conn_fail(c, &w->s.err_parse);
        return;
      }
      if(!done)
        break;
      {
        uint64_t t = now_ns();
        if(t <= G.t_end_ns && (t >= G.t_from_ns || G.hold)) {
          uint64_t us = (t - c->t_start_ns) / 1000;
          if(status >= 200 && status < 300)
            w->s.ok++;
          else
            w->s.non2xx++;
          w->s.bytes += c->rlen;
          if(us > w->s.max_us)
            w->s.max_us = us;
          w->s.hist[us / HIST_STEP_US < HIST_N ? us / HIST_STEP_US : HIST_N - 1]++;
        }
      }
      if(G.hold) {
        c->st = C_IDLE;
        c->deadline_ns = UINT64_MAX;
        conn_watch(c, EPOLLIN, EPOLL_CTL_MOD);
        return;
      }
      if(close_after) {
        w->s.reconnects++;
        conn_close(c);
        conn_open(c);
        return;
      }
      conn_start_request(c);
      break;
    }
    case C_IDLE: {
      char b[256];
      r = SSL_read(c->ssl, b, sizeof(b));
      if(r <= 0 && SSL_get_error(c->ssl, r) == SSL_ERROR_WANT_READ)
        return;
      conn_fail(c, &w->s.err_io);    /* the server closed an idle connection */
      return;
    }
    case C_DEAD:
      return;
    }
  }
}

static void *worker_run(void *arg)
{
  struct worker *w = arg;
  struct epoll_event evs[256];
  uint64_t next_sweep = 0;

  for(size_t i = 0; i < w->n; i++) {
    w->conns[i].w = w;
    w->conns[i].fd = -1;
    conn_open(&w->conns[i]);
  }
  for(;;) {
    uint64_t t = now_ns();
    int n;
    if(t >= G.t_end_ns)
      break;
    n = epoll_wait(w->ep, evs, 256, 50);
    for(int i = 0; i < n; i++)
      conn_drive(evs[i].data.ptr);
    t = now_ns();
    if(t >= next_sweep) {            /* timeouts; dead connections come back */
      next_sweep = t + 50000000u;
      for(size_t i = 0; i < w->n; i++) {
        struct conn *c = &w->conns[i];
        if(c->st == C_DEAD) {
          if(!G.hold && t + 100000000u < G.t_end_ns) {
            w->s.reconnects++;
            conn_open(c);
          }
        }
        else if(c->st != C_IDLE && t > c->deadline_ns)
          conn_fail(c, &w->s.err_timeout);
      }
    }
  }
  return NULL;
}

static void usage(void)
{
  fprintf(stderr,
          "usage: gwload --url https://127.0.0.1:PORT/PATH [--cacert F] [--cert F --key F]\n"
          "              [--body FILE | --bodies FILE] [-c CONNS] [-d SECONDS] [-t THREADS]\n"
          "              [-H 'Name: value']... [--timeout-ms MS] [--warmup S] [--json] [--hold]\n");
  exit(2);
}

static uint64_t pct(const uint32_t *h, uint64_t total, double p)
{
  uint64_t want = (uint64_t)((double)total * p + 0.999999), seen = 0;

  if(!total)
    return 0;
  for(size_t i = 0; i < HIST_N; i++) {
    seen += h[i];
    if(seen >= want)
      return (uint64_t)i * HIST_STEP_US + HIST_STEP_US / 2;
  }
  return HIST_MAX_US;
}

int main(int argc, char **argv)
{
  struct worker *ws;
  struct stats tot;
  double secs;
  uint64_t n_ans, errs;
  size_t open_conns = 0;

  for(int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define ARG(name) (!strcmp(a, name) && v && (i++, 1))
    if(ARG("--url")) G.url = v;
    else if(ARG("--cacert")) G.cacert = v;
    else if(ARG("--cert")) G.cert = v;
    else if(ARG("--key")) G.key = v;
    else if(ARG("--body")) G.body_file = v;
    else if(ARG("--bodies")) G.bodies_file = v;
    else if(ARG("-c")) G.conns = atoi(v);
    else if(ARG("-d")) G.seconds = atoi(v);
    else if(ARG("-t")) G.threads = atoi(v);
    else if(ARG("--timeout-ms")) G.timeout_ms = atoi(v);
    else if(ARG("--warmup")) G.warmup = atoi(v);
    else if(ARG("-H")) {
      if(G.n_extra == MAX_HEADERS_EXTRA)
        die("%s", "too many -H");
      G.extra[G.n_extra++] = v;
    }
    else if(!strcmp(a, "--json")) G.json = 1;
    else if(!strcmp(a, "--hold")) G.hold = 1;
    else usage();
#undef ARG
  }
  if(!G.url || G.conns < 1 || G.conns > MAX_CONNS || G.threads < 1 || G.threads > MAX_THREADS ||
     G.seconds < 1 || G.seconds > 3600 || G.timeout_ms < 1 || G.warmup < 0 || G.warmup > 600 ||
     (G.body_file && G.bodies_file))
    usage();
  if(G.threads > G.conns)
    G.threads = G.conns;
  parse_url();
  prepare_requests();
  make_ctx();

  ws = calloc((size_t)G.threads, sizeof(*ws));
  G.t_begin_ns = now_ns();
  G.t_from_ns = G.t_begin_ns + (uint64_t)G.warmup * 1000000000u;
  G.t_end_ns = G.t_from_ns + (uint64_t)G.seconds * 1000000000u;
  for(int t = 0; t < G.threads; t++) {
    struct worker *w = &ws[t];
    w->n = (size_t)G.conns / (size_t)G.threads + ((size_t)t < (size_t)G.conns % (size_t)G.threads);
    w->conns = calloc(w->n, sizeof(*w->conns));
    w->s.hist = calloc(HIST_N, sizeof(uint32_t));
    w->ep = epoll_create1(EPOLL_CLOEXEC);
    w->next_req = (size_t)t * 7919;
    if(!w->conns || !w->s.hist || w->ep < 0)
      die("%s", "cannot set up a worker");
    if(pthread_create(&w->th, NULL, worker_run, w))
      die("%s", "cannot start a thread");
  }
  memset(&tot, 0, sizeof(tot));
  tot.hist = calloc(HIST_N, sizeof(uint32_t));
  for(int t = 0; t < G.threads; t++) {
    struct worker *w = &ws[t];
    pthread_join(w->th, NULL);
    tot.ok += w->s.ok; tot.non2xx += w->s.non2xx; tot.bytes += w->s.bytes;
    tot.err_connect += w->s.err_connect; tot.err_tls += w->s.err_tls;
    tot.err_io += w->s.err_io; tot.err_parse += w->s.err_parse;
    tot.err_timeout += w->s.err_timeout; tot.reconnects += w->s.reconnects;
    if(w->s.max_us > tot.max_us)
      tot.max_us = w->s.max_us;
    for(size_t i = 0; i < HIST_N; i++)
      tot.hist[i] += w->s.hist[i];
    for(size_t i = 0; i < w->n; i++) {
      if(w->conns[i].st == C_IDLE)
        open_conns++;
      conn_close(&w->conns[i]);
      free(w->conns[i].rbuf);
    }
  }
  secs = (double)(now_ns() - G.t_from_ns) / 1e9;
  if(secs < G.seconds)
    secs = G.seconds;
  n_ans = tot.ok + tot.non2xx;
  errs = tot.err_connect + tot.err_tls + tot.err_io + tot.err_parse + tot.err_timeout;
  if(G.json) {
    printf("{\"connections\":%d,\"threads\":%d,\"seconds\":%d,\"requests\":%" PRIu64
           ",\"rps\":%.1f,\"ok\":%" PRIu64 ",\"non2xx\":%" PRIu64 ",\"errors\":%" PRIu64
           ",\"err_connect\":%" PRIu64 ",\"err_tls\":%" PRIu64 ",\"err_io\":%" PRIu64
           ",\"err_parse\":%" PRIu64 ",\"err_timeout\":%" PRIu64 ",\"reconnects\":%" PRIu64
           ",\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,\"bytes_per_answer\":%.0f"
           ",\"open\":%zu}\n",
           G.conns, G.threads, G.seconds, n_ans, (double)n_ans / G.seconds, tot.ok, tot.non2xx,
           errs, tot.err_connect, tot.err_tls, tot.err_io, tot.err_parse, tot.err_timeout,
           tot.reconnects, pct(tot.hist, n_ans, 0.50) / 1e3, pct(tot.hist, n_ans, 0.90) / 1e3,
           pct(tot.hist, n_ans, 0.99) / 1e3, tot.max_us / 1e3,
           n_ans ? (double)tot.bytes / (double)n_ans : 0.0, open_conns);
  }
  else {
    printf("%d connections, %d threads, %d s: %" PRIu64 " answers, %.0f req/s\n",
           G.conns, G.threads, G.seconds, n_ans, (double)n_ans / G.seconds);
    printf("latency p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n",
           pct(tot.hist, n_ans, 0.50) / 1e3, pct(tot.hist, n_ans, 0.90) / 1e3,
           pct(tot.hist, n_ans, 0.99) / 1e3, tot.max_us / 1e3);
    printf("not 2xx: %" PRIu64 "; errors: %" PRIu64 " (connect %" PRIu64 ", tls %" PRIu64
           ", io %" PRIu64 ", malformed %" PRIu64 ", timeout %" PRIu64 "); reconnects %" PRIu64 "\n",
           tot.non2xx, errs, tot.err_connect, tot.err_tls, tot.err_io, tot.err_parse,
           tot.err_timeout, tot.reconnects);
    if(G.hold)
      printf("open at the end: %zu of %d\n", open_conns, G.conns);
  }
  (void)secs;
  for(int t = 0; t < G.threads; t++) {
    close(ws[t].ep);
    free(ws[t].conns);
    free(ws[t].s.hist);
  }
  free(ws);
  free(tot.hist);
  return 0;
}
