/*
 * test_upstream.c - the upstream engine against real TLS servers in this
 * process: outcomes (ok, redirect as a status, timeouts, caps, truncation,
 * resets, TLS verify/pin/client-cert failures, address allow-lists), what
 * is refused before any connection, keep-alive reuse, 100 concurrent
 * exchanges, the cancel rule, and what the logs never contain.
 *
 * Servers (upstream_testsrv.c) run on their own thread; the engine runs on
 * the test's own event_base, a fresh one per test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "gw/alloc.h"
#include "gw/log.h"
#include "gw/upstream.h"
#include "upstream_int.h"
#include "upstream_testsrv.c"

#define BIG (64u << 20)     /* what the "huge" handlers offer */
#define CAP (64u << 10)     /* what the tests accept */

/* ---- servers, shared by the group --------------------------------------- */

static const char *pki;
static char agency_ca[512], gw_cert[512], gw_key[512];
static struct ts_server *srv, *srv_mtls, *srv_unknown, *srv_expired;
static atomic_int hits_ok;

static void handler(struct ts_conn *c, const struct ts_req *r, void *arg)
{
  char path[1024], hdr[256], buf[4096];
  char *q;
  (void)arg;

  snprintf(path, sizeof(path), "%s", r->target);
  if((q = strchr(path, '?')))
    *q = '\0';
  if(!strcmp(path, "/ok")) {
    atomic_fetch_add(&hits_ok, 1);
    ts_reply(c, 200, "Content-Type: text/plain\r\n", "hello upstream", 14);
  }
  else if(!strcmp(path, "/echo")) {
    if(ts_header(r, "x-test", hdr, sizeof(hdr)))
      hdr[0] = '\0';
    snprintf(buf, sizeof(buf), "%s|%s|%s", r->method, hdr, r->body);
    ts_reply(c, 201, "Content-Type: application/json\r\n", buf, strlen(buf));
  }
  else if(!strcmp(path, "/redirect")) {
    snprintf(buf, sizeof(buf), "Location: https://127.0.0.1:%d/ok\r\n", c->srv->port);
    ts_reply(c, 302, buf, "", 0);
  }
  else if(!strcmp(path, "/slow"))
    ts_reply_later(c, 3000, 200, "late");
  else if(!strcmp(path, "/hang")) {
    /* never answers */
  }
  else if(!strcmp(path, "/big-announced"))
    ts_reply_stream(c, 200, BIG, 1);
  else if(!strcmp(path, "/big-streamed"))
    ts_reply_stream(c, 200, BIG, 0);
  else if(!strcmp(path, "/truncated"))
    ts_reply_truncated(c, 200, 1000, 100);
  else if(!strcmp(path, "/empty"))
    ts_reply_raw_close(c, "");
  else if(!strcmp(path, "/garbage"))
    ts_reply_raw_close(c, "SPEAK FRIEND\r\n\r\n");
  else
    ts_reply(c, 404, NULL, "no", 2);
}

static int group_setup(void **state)
{
  char cert[512], key[512];
  (void)state;

  pki = ts_make_pki();
  if(!pki)
    return -1;
  snprintf(agency_ca, sizeof(agency_ca), "%s/pki/agency-ca.pem", pki);
  snprintf(gw_cert, sizeof(gw_cert), "%s/pki/gateway/agency-client.pem", pki);
  snprintf(gw_key, sizeof(gw_key), "%s/pki/gateway/agency-client.key", pki);
  snprintf(cert, sizeof(cert), "%s/pki/agencies/chsi.pem", pki);
  snprintf(key, sizeof(key), "%s/pki/agencies/chsi.key", pki);
  srv = ts_start(cert, key, NULL, handler, NULL);
  snprintf(cert, sizeof(cert), "%s/pki/agencies/mps.pem", pki);
  snprintf(key, sizeof(key), "%s/pki/agencies/mps.key", pki);
  srv_mtls = ts_start(cert, key, agency_ca, handler, NULL);
  snprintf(cert, sizeof(cert), "%s/pki/negative/unknown-server.pem", pki);
  snprintf(key, sizeof(key), "%s/pki/negative/unknown-server.key", pki);
  srv_unknown = ts_start(cert, key, NULL, handler, NULL);
  snprintf(cert, sizeof(cert), "%s/pki/negative/expired-server.pem", pki);
  snprintf(key, sizeof(key), "%s/pki/negative/expired-server.key", pki);
  srv_expired = ts_start(cert, key, NULL, handler, NULL);
  return 0;
}

static int group_teardown(void **state)
{
  (void)state;
  ts_stop(srv);
  ts_stop(srv_mtls);
  ts_stop(srv_unknown);
  ts_stop(srv_expired);
  ts_remove_dir(pki);
  return 0;
}

/* ---- the client side, fresh per test ------------------------------------ */

struct call {
  int calls;
  struct gw_upstream_result res;     /* pointers cleared; copies below */
  char body[4096];
  size_t body_len;
  char ctype[GW_UP_CONTENT_TYPE_LEN];
  char detail[GW_UP_DETAIL_LEN];
  struct gw_upstream_exchange *ex;   /* the handle start returned */
  void (*then)(struct call *c);      /* run inside the callback */
  void *then_arg;
};

struct ctx {
  struct event_base *base;
  struct gw_upstream *up;
  int pending;
  int timed_out;
};

static struct ctx *T;     /* the running test's context */

static int setup(void **state)
{
  char err[256];
  T = calloc(1, sizeof(*T));
  T->base = event_base_new();
  T->up = gw_upstream_new(T->base, NULL, err, sizeof(err));
  if(!T->up) {
    fprintf(stderr, "gw_upstream_new: %s\n", err);
    return -1;
  }
  *state = T;
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  gw_upstream_free(T->up);
  event_base_free(T->base);
  free(T);
  T = NULL;
  return 0;
}

static void on_done(struct gw_upstream_exchange *ex, const struct gw_upstream_result *res,
                    void *arg)
{
  struct call *c = arg;
  (void)ex;
  c->calls++;
  c->res = *res;
  c->body_len = res->body_len < sizeof(c->body) - 1 ? res->body_len : sizeof(c->body) - 1;
  memcpy(c->body, res->body, c->body_len);
  c->body[c->body_len] = '\0';
  snprintf(c->ctype, sizeof(c->ctype), "%s", res->content_type);
  snprintf(c->detail, sizeof(c->detail), "%s", res->detail);
  c->res.body = NULL;
  c->res.content_type = c->res.detail = NULL;
  if(c->then)
    c->then(c);
  if(--T->pending == 0)
    event_base_loopbreak(T->base);
}

static void on_guard(evutil_socket_t fd, short what, void *arg)
{
  (void)fd;
  (void)what;
  (void)arg;
  T->timed_out = 1;
  event_base_loopbreak(T->base);
}

/* Runs the loop until every started exchange has called back (or 15 s). */
static void run(void)
{
  struct timeval tv = { 15, 0 };
  struct event *guard = evtimer_new(T->base, on_guard, NULL);
  evtimer_add(guard, &tv);
  if(T->pending > 0)
    event_base_dispatch(T->base);
  event_free(guard);
  assert_false(T->timed_out);
}

static void run_for_ms(int ms)
{
  struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
  event_base_loopexit(T->base, &tv);
  event_base_dispatch(T->base);
}

static void base_request(struct gw_upstream_request *rq, struct ts_server *s, const char *path,
                         struct call *c)
{
  static char url[2][256];
  static int which;
  char *u = url[which ^= 1];
  snprintf(u, 256, "https://127.0.0.1:%d%s", s->port, path);
  memset(rq, 0, sizeof(*rq));
  rq->url = u;
  rq->tls.ca_file = agency_ca;
  rq->timeout_ms = 5000;
  rq->max_response_bytes = CAP;
  rq->on_done = on_done;
  rq->arg = c;
}

static void start_ok(const struct gw_upstream_request *rq, struct call *c)
{
  assert_int_equal(gw_upstream_start(T->up, rq, &c->ex), GW_UP_START_OK);
  assert_non_null(c->ex);
  T->pending++;
}

static struct call *fetch(struct ts_server *s, const char *path)
{
  static struct call c;
  struct gw_upstream_request rq;
  memset(&c, 0, sizeof(c));
  base_request(&rq, s, path, &c);
  start_ok(&rq, &c);
  run();
  assert_int_equal(c.calls, 1);
  return &c;
}

static int64_t mono_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- outcomes ----------------------------------------------------------- */

static void ok_with_body(void **state)
{
  struct call *c;
  (void)state;
  c = fetch(srv, "/ok");
  assert_int_equal(c->res.outcome, GW_UP_OK);
  assert_int_equal(c->res.status, 200);
  assert_string_equal(c->body, "hello upstream");
  assert_int_equal(c->body_len, 14);
  assert_string_equal(c->ctype, "text/plain");
  assert_string_equal(c->detail, "");
  assert_int_equal(c->res.reused, 0);
  assert_true(c->res.total_us > 0);
  assert_true(c->res.tls_us >= c->res.connect_us);
  assert_true(c->res.bytes_in > 14);
  assert_true(c->res.xid > 0);
  assert_int_equal(gw_upstream_active(T->up), 0);
}

static void methods_bodies_and_headers_arrive(void **state)
{
  static const char *const m[] = { "POST", "PUT", "PATCH", "DELETE" };
  struct gw_upstream_header h[] = { { "X-Test", "abc\0ignored", 3 } };
  (void)state;
  for(size_t i = 0; i < 4; i++) {
    struct call c;
    struct gw_upstream_request rq;
    char want[64];
    memset(&c, 0, sizeof(c));
    base_request(&rq, srv, "/echo", &c);
    rq.method = m[i];
    rq.headers = h;
    rq.n_headers = 1;
    rq.body = "payload";
    rq.body_len = 7;
    start_ok(&rq, &c);
    run();
    assert_int_equal(c.res.outcome, GW_UP_OK);
    assert_int_equal(c.res.status, 201);
    snprintf(want, sizeof(want), "%s|abc|payload", m[i]);
    assert_string_equal(c.body, want);
  }
}

static void redirect_is_only_a_status(void **state)
{
  struct call *c;
  int before = atomic_load(&hits_ok);
  (void)state;
  c = fetch(srv, "/redirect");
  assert_int_equal(c->res.outcome, GW_UP_OK);
  assert_int_equal(c->res.status, 302);
  usleep(50000);
  assert_int_equal(atomic_load(&hits_ok), before);   /* /ok never fetched */
}

static void slow_answer_times_out(void **state)
{
  struct call c;
  struct gw_upstream_request rq;
  int64_t t0 = mono_ms(), el;
  (void)state;
  memset(&c, 0, sizeof(c));
  base_request(&rq, srv, "/slow", &c);
  rq.timeout_ms = 300;
  start_ok(&rq, &c);
  run();
  el = mono_ms() - t0;
  assert_int_equal(c.res.outcome, GW_UP_TIMEOUT);
  assert_true(el >= 250 && el < 300 + 2000);
}

static void hanging_server_times_out(void **state)
{
  struct call c;
  struct gw_upstream_request rq;
  int64_t t0 = mono_ms(), el;
  (void)state;
  memset(&c, 0, sizeof(c));
  base_request(&rq, srv, "/hang", &c);
  rq.timeout_ms = 500;
  start_ok(&rq, &c);
  run();
  el = mono_ms() - t0;
  assert_int_equal(c.res.outcome, GW_UP_TIMEOUT);
  assert_int_equal(c.res.status, 0);
  assert_non_null(strstr(c.detail, "curl 28"));
  assert_true(el >= 450 && el < 500 + 2000);
}

static void announced_length_over_cap_aborts(void **state)
{
  struct call *c;
  int early = atomic_load(&srv->closed_early);
  int done = atomic_load(&srv->stream_done);
  (void)state;
  c = fetch(srv, "/big-announced");
  assert_int_equal(c->res.outcome, GW_UP_TOO_LARGE);
  assert_non_null(strstr(c->detail, "Content-Length"));
  assert_int_equal(c->body_len, 0);           /* refused before the body */
  assert_int_equal(ts_wait_for(&srv->closed_early, early + 1), early + 1);
  assert_int_equal(atomic_load(&srv->stream_done), done);
}

static void streamed_body_over_cap_aborts(void **state)
{
  struct call *c;
  int early = atomic_load(&srv->closed_early);
  int done = atomic_load(&srv->stream_done);
  (void)state;
  c = fetch(srv, "/big-streamed");
  assert_int_equal(c->res.outcome, GW_UP_TOO_LARGE);
  assert_non_null(strstr(c->detail, "response body exceeds 65536"));
  assert_true(c->res.body_len <= CAP);
  assert_int_equal(ts_wait_for(&srv->closed_early, early + 1), early + 1);
  assert_int_equal(atomic_load(&srv->stream_done), done);
}

static void truncated_body_is_protocol_or_reset(void **state)
{
  struct call *c;
  (void)state;
  c = fetch(srv, "/truncated");
  assert_true(c->res.outcome == GW_UP_PROTOCOL || c->res.outcome == GW_UP_RESET);
  assert_int_equal(c->res.status, 200);
}

static void empty_reply_is_reset(void **state)
{
  struct call *c;
  (void)state;
  c = fetch(srv, "/empty");
  assert_int_equal(c->res.outcome, GW_UP_RESET);
}

static void garbage_is_protocol(void **state)
{
  struct call *c;
  (void)state;
  c = fetch(srv, "/garbage");
  assert_int_equal(c->res.outcome, GW_UP_PROTOCOL);
}

static void connection_refused(void **state)
{
  struct call c;
  struct gw_upstream_request rq;
  evutil_socket_t fd;
  int port;
  char err[128], url[64];
  (void)state;
  /* a port that was free a moment ago */
  assert_int_equal(gw_listen_socket("127.0.0.1", 0, &fd, &port, err, sizeof(err)), 0);
  close(fd);
  memset(&c, 0, sizeof(c));
  base_request(&rq, srv, "/ok", &c);
  snprintf(url, sizeof(url), "https://127.0.0.1:%d/ok", port);
  rq.url = url;
  start_ok(&rq, &c);
  run();
  assert_int_equal(c.res.outcome, GW_UP_CONNECT);
}

/* ---- TLS ---------------------------------------------------------------- */

static void client_certificate_accepted(void **state)
{
  struct call c;
  struct gw_upstream_request rq;
  (void)state;
  memset(&c, 0, sizeof(c));
  base_request(&rq, srv_mtls, "/ok", &c);
  rq.tls.client_cert = gw_cert;
  rq.tls.client_key = gw_key;
  start_ok(&rq, &c);
  run();
  assert_int_equal(c.res.outcome, GW_UP_OK);
  assert_int_equal(c.res.status, 200);
}

static void client_certificate_missing(void **state)
{
  struct call *c;
  int fails = atomic_load(&srv_mtls->tls_failures);
  (void)state;
  c = fetch(srv_mtls, "/ok");
  assert_int_equal(c->res.outcome, GW_UP_TLS);
  assert_int_equal(c->res.tls_error, GW_UP_TLS_HANDSHAKE);
  assert_int_equal(c->res.status, 0);
  assert_true(ts_wait_for(&srv_mtls->tls_failures, fails + 1) > fails);
}

static void unknown_ca_fails_verification(void **state)
{
  struct call *c;
  (void)state;
  c = fetch(srv_unknown, "/ok");
  assert_int_equal(c->res.outcome, GW_UP_TLS);
  assert_int_equal(c->res.tls_error, GW_UP_TLS_VERIFY);
  assert_int_equal(atomic_load(&srv_unknown->requests), 0);
}

static void expired_certificate_fails_verification(void **state)
{
  struct call *c;
  (void)state;
  c = fetch(srv_expired, "/ok");
  assert_int_equal(c->res.outcome, GW_UP_TLS);
  assert_int_equal(c->res.tls_error, GW_UP_TLS_VERIFY);
  assert_non_null(strstr(c->detail, "expired"));
  assert_int_equal(atomic_load(&srv_expired->requests), 0);
}

static void unusable_ca_file_is_local(void **state)
{
  struct call c;
  struct gw_upstream_request rq;
  (void)state;
  memset(&c, 0, sizeof(c));
  base_request(&rq, srv, "/ok", &c);
  rq.tls.ca_file = "/nonexistent/ca.pem";
  start_ok(&rq, &c);
  run();
  assert_int_equal(c.res.outcome, GW_UP_TLS);
  assert_int_equal(c.res.tls_error, GW_UP_TLS_LOCAL);
}

/* "sha256//" + base64(SHA-256(SubjectPublicKeyInfo DER)) of a PEM cert. */
static void pin_of(const char *pem, char *out, size_t outlen)
{
  FILE *f = fopen(pem, "r");
  X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
  unsigned char *der = NULL, md[32];
  unsigned char b64[64];
  int len;

  assert_non_null(x);
  len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
  assert_true(len > 0);
  assert_true(EVP_Digest(der, (size_t)len, md, NULL, EVP_sha256(), NULL));
  EVP_EncodeBlock(b64, md, 32);
  snprintf(out, outlen, "sha256//%s", b64);
  OPENSSL_free(der);
  X509_free(x);
  fclose(f);
}

static void pin_right_and_wrong(void **state)
{
  char right[128], wrong[128], both[300], pem[512];
  struct call c;
  struct gw_upstream_request rq;
  (void)state;
  snprintf(pem, sizeof(pem), "%s/pki/agencies/chsi.pem", pki);
  pin_of(pem, right, sizeof(right));
  snprintf(pem, sizeof(pem), "%s/pki/agencies/mps.pem", pki);
  pin_of(pem, wrong, sizeof(wrong));

  memset(&c, 0, sizeof(c));
  base_request(&rq, srv, "/ok", &c);
  rq.tls.pin_sha256 = right;
  start_ok(&rq, &c);
  run();
  assert_int_equal(c.res.outcome, GW_UP_OK);

  memset(&c, 0, sizeof(c));
  snprintf(both, sizeof(both), "%s;%s", wrong, right);   /* rotation: either matches */
  rq.tls.pin_sha256 = both;
  start_ok(&rq, &c);
  run();
  assert_int_equal(c.res.outcome, GW_UP_OK);

  memset(&c, 0, sizeof(c));
  rq.tls.pin_sha256 = wrong;
  start_ok(&rq, &c);
  run();
  assert_int_equal(c.res.outcome, GW_UP_TLS);
  assert_int_equal(c.res.tls_error, GW_UP_TLS_PIN);
}

/* ---- refused before any connection -------------------------------------- */

static void bad_urls_are_refused(void **state)
{
  static const char *const urls[][2] = {   /* before and after the port */
    { "http://127.0.0.1:", "/ok" }, { "ftp://127.0.0.1:", "/ok" },
    { "//127.0.0.1:", "/ok" }, { "https://user:pw@127.0.0.1:", "/ok" },
    { "https://127.0.0.1:", "/o k" }, { "127.0.0.1:", "" },
    { "https://127.0.0.1:", "/\xe4\xbd\xa0" }, { "https://127.0.0.1:", "/ok\r\n" },
  };
  int accepted = atomic_load(&srv->accepted);
  struct call c;
  (void)state;
  memset(&c, 0, sizeof(c));
  for(size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
    struct gw_upstream_request rq;
    struct gw_upstream_exchange *ex = (void *)1;
    char url[128];
    base_request(&rq, srv, "/ok", &c);
    snprintf(url, sizeof(url), "%s%d%s", urls[i][0], srv->port, urls[i][1]);
    rq.url = url;
    assert_int_equal(gw_upstream_start(T->up, &rq, &ex), GW_UP_START_BAD_URL);
    assert_null(ex);
  }
  run_for_ms(50);
  usleep(50000);
  assert_int_equal(c.calls, 0);
  assert_int_equal(atomic_load(&srv->accepted), accepted);
  assert_int_equal(gw_upstream_active(T->up), 0);
}

static void bad_headers_are_refused(void **state)
{
  static const struct gw_upstream_header bad[] = {
    { "X-Evil", "a\r\nX-Injected: 1", 0 },
    { "X-Evil", "a\nb", 0 },
    { "X-Evil", "a\rb", 0 },
    { "X-Evil", "a\0b", 3 },
    { "X-Evil", "bell\a", 0 },
    { "X Evil", "a", 0 },
    { "X-Evil:", "a", 0 },
    { "", "a", 0 },
    { "Host", "elsewhere", 0 },
    { "content-length", "5", 0 },
    { "Transfer-Encoding", "chunked", 0 },
    { "Connection", "close", 0 },
    { "Accept-Encoding", "gzip", 0 },
  };
  int accepted = atomic_load(&srv->accepted);
  struct call c;
  (void)state;
  memset(&c, 0, sizeof(c));
  for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    struct gw_upstream_request rq;
    base_request(&rq, srv, "/ok", &c);
    rq.headers = &bad[i];
    rq.n_headers = 1;
    assert_int_equal(gw_upstream_start(T->up, &rq, NULL), GW_UP_START_BAD_HEADER);
  }
  usleep(50000);
  assert_int_equal(atomic_load(&srv->accepted), accepted);
}

static void bad_requests_are_refused(void **state)
{
  struct call c;
  struct gw_upstream_request rq;
  const char *cidr_bad[] = { "10.0.0.0/33" };
  (void)state;
  memset(&c, 0, sizeof(c));
#define REFUSED(mutation, want) \
  do { base_request(&rq, srv, "/ok", &c); mutation; \
       assert_int_equal(gw_upstream_start(T->up, &rq, NULL), want); } while(0)
  REFUSED(rq.timeout_ms = 0, GW_UP_START_BAD_REQUEST);
  REFUSED(rq.timeout_ms = GW_UP_MAX_TIMEOUT_MS + 1, GW_UP_START_BAD_REQUEST);
  REFUSED(rq.connect_timeout_ms = 6000, GW_UP_START_BAD_REQUEST);
  REFUSED(rq.on_done = NULL, GW_UP_START_BAD_REQUEST);
  REFUSED(rq.max_response_bytes = GW_UP_MAX_RESPONSE + 1, GW_UP_START_BAD_REQUEST);
  REFUSED((rq.method = "GET", rq.body = "x", rq.body_len = 1), GW_UP_START_BAD_REQUEST);
  REFUSED(rq.method = "TRACE", GW_UP_START_BAD_METHOD);
  REFUSED(rq.method = "get", GW_UP_START_BAD_METHOD);
  REFUSED(rq.tls.pin_sha256 = "/etc/pin.der", GW_UP_START_BAD_REQUEST);
  REFUSED(rq.tls.pin_sha256 = "sha256//tooshort=", GW_UP_START_BAD_REQUEST);
  REFUSED(rq.tls.client_key = gw_key, GW_UP_START_BAD_REQUEST);   /* key without cert */
  REFUSED((rq.allowed_cidrs = cidr_bad, rq.n_allowed_cidrs = 1), GW_UP_START_BAD_REQUEST);
#undef REFUSED
  assert_int_equal(c.calls, 0);
}

static void cidr_rules(void **state)
{
  struct gw_net_cidr c[3];
  unsigned char a4[4], a6[16];
  (void)state;
  assert_int_equal(gw_net_cidr_parse("10.0.0.0/8", 0, &c[0], NULL, 0), 0);
  assert_int_equal(gw_net_cidr_parse("2001:db8::/32", 0, &c[1], NULL, 0), 0);
  assert_int_equal(gw_net_cidr_parse("192.168.1.7", 0, &c[2], NULL, 0), 0);
  assert_int_equal(c[2].prefix, 32);
  assert_int_not_equal(gw_net_cidr_parse("10.0.0.0/", 0, &c[0] + 0, NULL, 0), 0);
  assert_int_not_equal(gw_net_cidr_parse("10.0.0/8", 0, &c[0], NULL, 0), 0);
  assert_int_not_equal(gw_net_cidr_parse("::1/129", 0, &c[0], NULL, 0), 0);
  assert_int_not_equal(gw_net_cidr_parse("10.0.0.0/8x", 0, &c[0], NULL, 0), 0);
  assert_int_not_equal(gw_net_cidr_parse("localhost", 0, &c[0], NULL, 0), 0);
  assert_int_equal(gw_net_cidr_parse("10.0.0.0/8", 0, &c[0], NULL, 0), 0);

  inet_pton(AF_INET, "10.200.1.1", a4);
  assert_true(gw_upreq_address_allowed(c, 3, AF_INET, a4));
  inet_pton(AF_INET, "11.0.0.1", a4);
  assert_false(gw_upreq_address_allowed(c, 3, AF_INET, a4));
  inet_pton(AF_INET, "192.168.1.7", a4);
  assert_true(gw_upreq_address_allowed(c, 3, AF_INET, a4));
  inet_pton(AF_INET, "192.168.1.8", a4);
  assert_false(gw_upreq_address_allowed(c, 3, AF_INET, a4));
  inet_pton(AF_INET6, "2001:db8:ffff::1", a6);
  assert_true(gw_upreq_address_allowed(c, 3, AF_INET6, a6));
  inet_pton(AF_INET6, "2001:db9::1", a6);
  assert_false(gw_upreq_address_allowed(c, 3, AF_INET6, a6));
  inet_pton(AF_INET6, "::ffff:10.1.2.3", a6);               /* v4-mapped */
  assert_true(gw_upreq_address_allowed(c, 3, AF_INET6, a6));
  inet_pton(AF_INET6, "::ffff:11.1.2.3", a6);
  assert_false(gw_upreq_address_allowed(c, 3, AF_INET6, a6));
  assert_true(gw_upreq_address_allowed(c, 0, AF_INET6, a6));   /* empty = no restriction */

  assert_int_equal(gw_net_pins_check("sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", NULL, 0), 0);
  assert_int_equal(gw_net_pins_check("sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=;", NULL, 0), -1);
  assert_int_equal(gw_net_pins_check("sha1//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", NULL, 0), -1);
  assert_int_equal(gw_net_pins_check("", NULL, 0), -1);
}

static void disallowed_address_is_never_connected(void **state)
{
  const char *deny[] = { "10.0.0.0/8", "::1/128" };
  const char *allow[] = { "10.0.0.0/8", "127.0.0.0/8" };
  int accepted = atomic_load(&srv->accepted);
  struct call c;
  struct gw_upstream_request rq;
  (void)state;
  memset(&c, 0, sizeof(c));
  base_request(&rq, srv, "/ok", &c);
  rq.allowed_cidrs = deny;
  rq.n_allowed_cidrs = 2;
  start_ok(&rq, &c);
  run();
  assert_int_equal(c.res.outcome, GW_UP_ADDRESS_DENIED);
  assert_non_null(strstr(c.detail, "127.0.0.1"));
  usleep(100000);
  assert_int_equal(atomic_load(&srv->accepted), accepted);

  memset(&c, 0, sizeof(c));
  rq.allowed_cidrs = allow;
  start_ok(&rq, &c);
  run();
  assert_int_equal(c.res.outcome, GW_UP_OK);
}

static void disallowed_address_on_reused_connection(void **state)
{
  const char *deny[] = { "10.0.0.0/8" };
  int requests;
  struct call c;
  struct gw_upstream_request rq;
  (void)state;
  memset(&c, 0, sizeof(c));
  base_request(&rq, srv, "/ok", &c);
  start_ok(&rq, &c);                 /* opens a connection, unrestricted */
  run();
  assert_int_equal(c.res.outcome, GW_UP_OK);
  requests = atomic_load(&srv->requests);

  memset(&c, 0, sizeof(c));
  rq.allowed_cidrs = deny;
  rq.n_allowed_cidrs = 1;
  start_ok(&rq, &c);                 /* would reuse it */
  run();
  assert_int_equal(c.res.outcome, GW_UP_ADDRESS_DENIED);
  assert_non_null(strstr(c.detail, "before sending"));
  usleep(50000);
  assert_int_equal(atomic_load(&srv->requests), requests);   /* nothing sent */
}

/* ---- connections -------------------------------------------------------- */

static void keep_alive_reuses_the_connection(void **state)
{
  int accepted = atomic_load(&srv->accepted);
  struct call *c;
  (void)state;
  c = fetch(srv, "/ok");
  assert_int_equal(c->res.outcome, GW_UP_OK);
  assert_int_equal(c->res.reused, 0);
  c = fetch(srv, "/ok");
  assert_int_equal(c->res.outcome, GW_UP_OK);
  assert_int_equal(c->res.reused, 1);
  assert_int_equal(c->res.connect_us, 0);
  assert_int_equal(atomic_load(&srv->accepted), accepted + 1);
}

static void hundred_concurrent(void **state)
{
  enum { N = 100 };
  struct call *c = calloc(N, sizeof(*c));
  int hits = atomic_load(&hits_ok);
  int ok = 0;
  (void)state;
  for(int i = 0; i < N; i++) {
    struct gw_upstream_request rq;
    base_request(&rq, srv, "/ok", &c[i]);
    start_ok(&rq, &c[i]);
  }
  assert_int_equal(gw_upstream_active(T->up), N);
  run();
  for(int i = 0; i < N; i++) {
    assert_int_equal(c[i].calls, 1);
    ok += c[i].res.outcome == GW_UP_OK && c[i].res.status == 200 &&
          !strcmp(c[i].body, "hello upstream");
  }
  assert_int_equal(ok, N);
  assert_int_equal(atomic_load(&hits_ok), hits + N);
  assert_int_equal(gw_upstream_active(T->up), 0);
  free(c);
}

/* ---- cancel ------------------------------------------------------------- */

static void on_cancel_timer(evutil_socket_t fd, short what, void *arg)
{
  struct call *c = arg;
  (void)fd;
  (void)what;
  gw_upstream_cancel(c->ex);
  c->ex = NULL;
  T->pending--;
  event_base_loopbreak(T->base);
}

static void cancel_means_no_callback(void **state)
{
  struct call c;
  struct gw_upstream_request rq;
  struct timeval tv = { 0, 200000 };
  struct event *t;
  int accepted = atomic_load(&srv->accepted);
  (void)state;
  memset(&c, 0, sizeof(c));
  base_request(&rq, srv, "/hang", &c);
  start_ok(&rq, &c);
  t = evtimer_new(T->base, on_cancel_timer, &c);
  evtimer_add(t, &tv);
  run();
  event_free(t);
  assert_int_equal(gw_upstream_active(T->up), 0);
  assert_int_equal(ts_wait_for(&srv->accepted, accepted + 1), accepted + 1);
  run_for_ms(300);               /* nothing arrives late either */
  assert_int_equal(c.calls, 0);
}

static void cancel_other(struct call *c)
{
  struct call *other = c->then_arg;
  gw_upstream_cancel(c->ex);     /* own exchange: a no-op */
  gw_upstream_cancel(other->ex); /* another one: allowed, never called back */
  T->pending--;
}

static void cancel_from_a_callback(void **state)
{
  struct call a, b;
  struct gw_upstream_request rq;
  (void)state;
  memset(&a, 0, sizeof(a));
  memset(&b, 0, sizeof(b));
  base_request(&rq, srv, "/ok", &a);
  start_ok(&rq, &a);
  base_request(&rq, srv, "/hang", &b);
  start_ok(&rq, &b);
  a.then = cancel_other;
  a.then_arg = &b;
  run();
  assert_int_equal(a.calls, 1);
  assert_int_equal(a.res.outcome, GW_UP_OK);
  run_for_ms(200);
  assert_int_equal(b.calls, 0);
  assert_int_equal(gw_upstream_active(T->up), 0);
}

static void start_another(struct call *c)
{
  struct gw_upstream_request rq;
  base_request(&rq, srv, "/ok", c->then_arg);
  start_ok(&rq, c->then_arg);
}

static void start_from_a_callback(void **state)
{
  struct call a, b;
  struct gw_upstream_request rq;
  (void)state;
  memset(&a, 0, sizeof(a));
  memset(&b, 0, sizeof(b));
  base_request(&rq, srv, "/ok", &a);
  a.then = start_another;
  a.then_arg = &b;
  start_ok(&rq, &a);
  run();
  assert_int_equal(a.calls, 1);
  assert_int_equal(b.calls, 1);
  assert_int_equal(b.res.outcome, GW_UP_OK);
  assert_int_equal(b.res.reused, 1);
}

static void free_cancels_everything(void **state)
{
  struct call c[3];
  (void)state;
  memset(c, 0, sizeof(c));
  for(int i = 0; i < 3; i++) {
    struct gw_upstream_request rq;
    base_request(&rq, srv, "/hang", &c[i]);
    start_ok(&rq, &c[i]);
  }
  run_for_ms(200);
  gw_upstream_free(T->up);       /* teardown frees a fresh one */
  T->up = gw_upstream_new(T->base, NULL, NULL, 0);
  assert_non_null(T->up);
  run_for_ms(100);
  for(int i = 0; i < 3; i++)
    assert_int_equal(c[i].calls, 0);
}

static void start_after(struct call *c)
{
  struct gw_upstream_request rq;
  base_request(&rq, srv, "/ok", c->then_arg);
  start_ok(&rq, c->then_arg);
}

static void broken_event_loop_fails_fast_and_recovers(void **state)
{
  struct call c[3], after;
  (void)state;
  memset(c, 0, sizeof(c));
  memset(&after, 0, sizeof(after));
  for(int i = 0; i < 3; i++) {
    struct gw_upstream_request rq;
    base_request(&rq, srv, "/hang", &c[i]);
    start_ok(&rq, &c[i]);
  }
  c[0].then = start_after;       /* a callback of the repair starts anew */
  c[0].then_arg = &after;
  run_for_ms(100);
  gw_upstream_test_break(T->up);
  run();
  for(int i = 0; i < 3; i++) {
    assert_int_equal(c[i].calls, 1);
    assert_int_equal(c[i].res.outcome, GW_UP_INTERNAL);
    assert_non_null(strstr(c[i].detail, "engine reset"));
  }
  assert_int_equal(after.calls, 1);
  assert_int_equal(after.res.outcome, GW_UP_OK);
  assert_int_equal(gw_upstream_active(T->up), 0);
}

static void take_body(struct call *c)
{
  size_t len;
  unsigned char *b = gw_upstream_take_body(c->ex, &len);
  assert_non_null(b);
  assert_int_equal(len, 14);
  assert_memory_equal(b, "hello upstream", 15);   /* NUL-terminated */
  assert_null(gw_upstream_take_body(c->ex, &len));
  c->then_arg = b;
}

static void body_ownership_can_be_taken(void **state)
{
  struct call c;
  struct gw_upstream_request rq;
  (void)state;
  memset(&c, 0, sizeof(c));
  base_request(&rq, srv, "/ok", &c);
  c.then = take_body;
  start_ok(&rq, &c);
  run();
  assert_non_null(c.then_arg);
  assert_memory_equal(c.then_arg, "hello upstream", 14);
  gw_free(c.then_arg);
}

/* ---- logs --------------------------------------------------------------- */

static void logs_hold_no_query_header_or_body(void **state)
{
  char path[] = "/tmp/gw-uplog-XXXXXX";
  int fd = mkstemp(path), saved = dup(2);
  struct gw_upstream_header h[] = { { "Authorization", "Bearer s3cr3t-t0ken", 0 } };
  struct call c;
  struct gw_upstream_request rq;
  char logbuf[65536];
  ssize_t n;
  (void)state;
  assert_true(fd >= 0);
  memset(&c, 0, sizeof(c));
  base_request(&rq, srv, "/echo?id=11010519491231002X", &c);
  rq.headers = h;
  rq.n_headers = 1;
  rq.method = "POST";
  rq.body = "body-secret-42";
  rq.body_len = 14;
  gw_log_set_level(GW_LOG_DEBUG);
  dup2(fd, 2);
  start_ok(&rq, &c);
  run();
  dup2(saved, 2);
  close(saved);
  gw_log_set_level(GW_LOG_INFO);
  assert_int_equal(c.res.outcome, GW_UP_OK);
  n = pread(fd, logbuf, sizeof(logbuf) - 1, 0);
  close(fd);
  unlink(path);
  assert_true(n > 0);
  logbuf[n] = '\0';
  assert_non_null(strstr(logbuf, "\"event\":\"upstream_exchange\""));
  assert_non_null(strstr(logbuf, "\"path\":\"/echo\""));
  assert_non_null(strstr(logbuf, "\"outcome\":\"ok\""));
  assert_non_null(strstr(logbuf, "\"to\":\"receiving\""));
  assert_null(strstr(logbuf, "11010519491231002X"));
  assert_null(strstr(logbuf, "s3cr3t"));
  assert_null(strstr(logbuf, "body-secret"));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
#define T_(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    T_(ok_with_body),
    T_(methods_bodies_and_headers_arrive),
    T_(redirect_is_only_a_status),
    T_(slow_answer_times_out),
    T_(hanging_server_times_out),
    T_(announced_length_over_cap_aborts),
    T_(streamed_body_over_cap_aborts),
    T_(truncated_body_is_protocol_or_reset),
    T_(empty_reply_is_reset),
    T_(garbage_is_protocol),
    T_(connection_refused),
    T_(client_certificate_accepted),
    T_(client_certificate_missing),
    T_(unknown_ca_fails_verification),
    T_(expired_certificate_fails_verification),
    T_(unusable_ca_file_is_local),
    T_(pin_right_and_wrong),
    T_(bad_urls_are_refused),
    T_(bad_headers_are_refused),
    T_(bad_requests_are_refused),
    cmocka_unit_test(cidr_rules),
    T_(disallowed_address_is_never_connected),
    T_(disallowed_address_on_reused_connection),
    T_(keep_alive_reuses_the_connection),
    T_(hundred_concurrent),
    T_(cancel_means_no_callback),
    T_(cancel_from_a_callback),
    T_(start_from_a_callback),
    T_(free_cancels_everything),
    T_(broken_event_loop_fails_fast_and_recovers),
    T_(body_ownership_can_be_taken),
    T_(logs_hold_no_query_header_or_body),
#undef T_
  };
  evthread_use_pthreads();
  signal(SIGPIPE, SIG_IGN);
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
