/*
 * test_oauth.c - the client-credentials token cache against a real TLS
 * token endpoint in this process: one fetch for many waiters, expiry on an
 * injected clock, one refresh per refused token, endpoint errors reported
 * as such and never cached, cancellation, the exact request sent (Basic
 * with form-encoded credentials, the form body), and logs without secrets.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <openssl/evp.h>

#include "gw/log.h"
#include "gw/oauth.h"
#include "gw/upstream.h"
#include "upstream_testsrv.c"

#define CLIENT_ID     "gw:client"
#define CLIENT_SECRET "s&cr+t =%"          /* every form-encoding rule */
#define WANT_PAIR     "gw%3Aclient:s%26cr%2Bt+%3D%25"

enum mode { M_OK, M_REJECT, M_ERROR, M_MALFORMED, M_MAC, M_HUGE, M_NO_EXPIRY };

static const char *pki;
static char agency_ca[512];
static struct ts_server *srv;
static atomic_int token_requests;
static atomic_int mode;
static atomic_int expires_in = 3600;
static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static char seen_auth[512], seen_body[512], seen_ctype[128], seen_method[16];

static void handler(struct ts_conn *c, const struct ts_req *r, void *arg)
{
  char buf[256];
  int n;
  (void)arg;

  if(strcmp(r->target, "/token")) {
    ts_reply(c, 404, NULL, "", 0);
    return;
  }
  n = atomic_fetch_add(&token_requests, 1) + 1;
  pthread_mutex_lock(&seen_lock);
  if(ts_header(r, "authorization", seen_auth, sizeof(seen_auth)))
    seen_auth[0] = '\0';
  if(ts_header(r, "content-type", seen_ctype, sizeof(seen_ctype)))
    seen_ctype[0] = '\0';
  snprintf(seen_body, sizeof(seen_body), "%s", r->body);
  snprintf(seen_method, sizeof(seen_method), "%s", r->method);
  pthread_mutex_unlock(&seen_lock);
  switch(atomic_load(&mode)) {
  case M_OK:
    snprintf(buf, sizeof(buf),
             "{\"access_token\":\"tok-%d\",\"token_type\":\"bearer\",\"expires_in\":%d}", n,
             atomic_load(&expires_in));
    ts_reply(c, 200, "Content-Type: application/json\r\n", buf, strlen(buf));
    break;
  case M_NO_EXPIRY:
    snprintf(buf, sizeof(buf), "{\"access_token\":\"tok-%d\",\"token_type\":\"Bearer\"}", n);
    ts_reply(c, 200, "Content-Type: application/json\r\n", buf, strlen(buf));
    break;
  case M_REJECT:
    snprintf(buf, sizeof(buf), "{\"error\":\"invalid_client\",\"error_description\":\"no\"}");
    ts_reply(c, 401, "Content-Type: application/json\r\n", buf, strlen(buf));
    break;
  case M_ERROR:
    ts_reply(c, 500, NULL, "oops", 4);
    break;
  case M_MALFORMED:
    ts_reply(c, 200, "Content-Type: application/json\r\n", "{\"access_token\":", 16);
    break;
  case M_MAC:
    snprintf(buf, sizeof(buf), "{\"access_token\":\"tok-%d\",\"token_type\":\"mac\"}", n);
    ts_reply(c, 200, "Content-Type: application/json\r\n", buf, strlen(buf));
    break;
  case M_HUGE:
    ts_reply_stream(c, 200, 1u << 20, 1);
    break;
  }
}

static int group_setup(void **state)
{
  char cert[512], key[512];
  (void)state;
  pki = ts_make_pki();
  if(!pki)
    return -1;
  snprintf(agency_ca, sizeof(agency_ca), "%s/pki/agency-ca.pem", pki);
  snprintf(cert, sizeof(cert), "%s/pki/agencies/si.pem", pki);
  snprintf(key, sizeof(key), "%s/pki/agencies/si.key", pki);
  srv = ts_start(cert, key, NULL, handler, NULL);
  return 0;
}

static int group_teardown(void **state)
{
  (void)state;
  ts_stop(srv);
  ts_remove_dir(pki);
  return 0;
}

/* ---- per test ----------------------------------------------------------- */

struct got {
  int calls;
  enum gw_oauth_status status;
  char token[128];
  char token_id[GW_OAUTH_TOKEN_ID_LEN];
  char error[64];
  int cached;
  long http_status;
  int64_t expires_at;
  enum gw_upstream_outcome transport;
  void (*then)(struct got *g);
};

struct ctx {
  struct event_base *base;
  struct gw_upstream *up;
  struct gw_oauth *oauth;
  int64_t now;
  int pending;
  int timed_out;
  char url[128];
  struct gw_oauth_client client;
};

static struct ctx *T;

static int64_t fake_clock(void *arg)
{
  return ((struct ctx *)arg)->now;
}

static int setup(void **state)
{
  char err[256];
  T = calloc(1, sizeof(*T));
  T->base = event_base_new();
  T->up = gw_upstream_new(T->base, NULL, err, sizeof(err));
  if(!T->up)
    return -1;
  T->now = 1000000;
  T->oauth = gw_oauth_new(T->up, fake_clock, T);
  if(!T->oauth)
    return -1;
  snprintf(T->url, sizeof(T->url), "https://127.0.0.1:%d/token", srv->port);
  T->client.token_url = T->url;
  T->client.client_id = CLIENT_ID;
  T->client.client_secret = CLIENT_SECRET;
  T->client.tls.ca_file = agency_ca;
  T->client.timeout_ms = 5000;
  atomic_store(&mode, M_OK);
  atomic_store(&expires_in, 3600);
  *state = T;
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  gw_oauth_free(T->oauth);
  gw_upstream_free(T->up);
  event_base_free(T->base);
  free(T);
  return 0;
}

static void on_token(const struct gw_oauth_token *t, void *arg)
{
  struct got *g = arg;
  g->calls++;
  g->status = t->status;
  g->cached = t->cached;
  g->http_status = t->http_status;
  g->expires_at = t->expires_at_ms;
  g->transport = t->transport;
  snprintf(g->token, sizeof(g->token), "%s", t->access_token ? t->access_token : "");
  snprintf(g->token_id, sizeof(g->token_id), "%s", t->token_id ? t->token_id : "");
  snprintf(g->error, sizeof(g->error), "%s", t->error ? t->error : "");
  assert_non_null(t->detail);
  if(g->then)
    g->then(g);
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

static void get(struct got *g)
{
  assert_int_equal(gw_oauth_get(T->oauth, &T->client, on_token, g, NULL), GW_OAUTH_GET_OK);
  T->pending++;
}

/* One get, run to its answer. */
static struct got get_one(void)
{
  struct got g;
  memset(&g, 0, sizeof(g));
  get(&g);
  assert_int_equal(g.calls, 0);          /* never from inside gw_oauth_get */
  run();
  assert_int_equal(g.calls, 1);
  return g;
}

/* ---- tests -------------------------------------------------------------- */

static void twenty_waiters_one_fetch(void **state)
{
  struct got g[20];
  int before = atomic_load(&token_requests);
  unsigned char want[128];
  char want_auth[160];
  (void)state;
  memset(g, 0, sizeof(g));
  for(int i = 0; i < 20; i++)
    get(&g[i]);
  run();
  assert_int_equal(atomic_load(&token_requests), before + 1);
  for(int i = 0; i < 20; i++) {
    assert_int_equal(g[i].calls, 1);
    assert_int_equal(g[i].status, GW_OAUTH_OK);
    assert_string_equal(g[i].token, g[0].token);
    assert_int_equal(g[i].cached, 0);
    assert_int_equal(strlen(g[i].token_id), 16);
  }
  /* the request as the endpoint saw it (RFC 6749 2.3.1 and 4.4.2) */
  EVP_EncodeBlock(want, (const unsigned char *)WANT_PAIR, (int)strlen(WANT_PAIR));
  snprintf(want_auth, sizeof(want_auth), "Basic %s", want);
  pthread_mutex_lock(&seen_lock);
  assert_string_equal(seen_method, "POST");
  assert_string_equal(seen_auth, want_auth);
  assert_string_equal(seen_ctype, "application/x-www-form-urlencoded");
  assert_string_equal(seen_body, "grant_type=client_credentials");
  pthread_mutex_unlock(&seen_lock);

  /* then from the cache, still answered from the loop */
  {
    struct got c = get_one();
    assert_int_equal(c.status, GW_OAUTH_OK);
    assert_int_equal(c.cached, 1);
    assert_string_equal(c.token, g[0].token);
    assert_int_equal(atomic_load(&token_requests), before + 1);
  }
}

static void scope_is_sent_and_keys_the_cache(void **state)
{
  struct got a, b;
  int before = atomic_load(&token_requests);
  (void)state;
  a = get_one();
  T->client.scope = "read:person facts.x";
  b = get_one();
  assert_int_equal(atomic_load(&token_requests), before + 2);
  assert_string_not_equal(a.token, b.token);
  pthread_mutex_lock(&seen_lock);
  assert_string_equal(seen_body, "grant_type=client_credentials&scope=read%3Aperson+facts.x");
  pthread_mutex_unlock(&seen_lock);
  b = get_one();
  assert_int_equal(b.cached, 1);
  assert_int_equal(atomic_load(&token_requests), before + 2);
}

static void cached_until_expiry_minus_skew(void **state)
{
  struct got g;
  int64_t t0 = T->now;
  char first[128];
  int before = atomic_load(&token_requests);
  (void)state;
  atomic_store(&expires_in, 100);        /* skew = min(30 s, 10 s) = 10 s */
  g = get_one();
  assert_int_equal(g.expires_at, t0 + 90000);
  snprintf(first, sizeof(first), "%s", g.token);

  T->now = t0 + 89999;
  g = get_one();
  assert_int_equal(g.cached, 1);
  assert_string_equal(g.token, first);
  assert_int_equal(atomic_load(&token_requests), before + 1);

  T->now = t0 + 90000;
  g = get_one();
  assert_int_equal(g.cached, 0);
  assert_string_not_equal(g.token, first);
  assert_int_equal(atomic_load(&token_requests), before + 2);

  /* a long lifetime keeps 30 s in hand */
  atomic_store(&expires_in, 3600);
  T->now += 3600 * 1000;
  g = get_one();
  assert_int_equal(g.expires_at, T->now + 3600 * 1000 - 30000);
}

static void missing_expires_in_takes_the_default(void **state)
{
  struct got g;
  (void)state;
  atomic_store(&mode, M_NO_EXPIRY);
  g = get_one();
  assert_int_equal(g.status, GW_OAUTH_OK);
  assert_int_equal(g.expires_at, T->now + GW_OAUTH_DEFAULT_EXPIRES_S * 1000 - 30000);
}

static void a_401_refreshes_once(void **state)
{
  struct got g;
  char t1[128], t2[128];
  int before = atomic_load(&token_requests);
  (void)state;
  g = get_one();
  snprintf(t1, sizeof(t1), "%s", g.token);
  /* five requests used t1 and all got 401 */
  assert_int_equal(gw_oauth_invalidate(T->oauth, &T->client, t1), GW_OAUTH_INVALIDATED);
  for(int i = 0; i < 4; i++)
    assert_int_equal(gw_oauth_invalidate(T->oauth, &T->client, t1), GW_OAUTH_NOT_CURRENT);
  g = get_one();
  assert_int_equal(g.cached, 0);
  snprintf(t2, sizeof(t2), "%s", g.token);
  assert_string_not_equal(t1, t2);
  assert_int_equal(atomic_load(&token_requests), before + 2);
  /* a late 401 for t1 does not throw t2 away */
  assert_int_equal(gw_oauth_invalidate(T->oauth, &T->client, t1), GW_OAUTH_NOT_CURRENT);
  g = get_one();
  assert_int_equal(g.cached, 1);
  assert_string_equal(g.token, t2);
  assert_int_equal(atomic_load(&token_requests), before + 2);
  /* unknown clients and prefixes of the token are not it */
  t2[3] = '\0';
  assert_int_equal(gw_oauth_invalidate(T->oauth, &T->client, t2), GW_OAUTH_NOT_CURRENT);
  T->client.client_id = "other";
  assert_int_equal(gw_oauth_invalidate(T->oauth, &T->client, g.token), GW_OAUTH_NOT_CURRENT);
}

static void endpoint_errors_are_reported_and_not_cached(void **state)
{
  struct got g;
  int before = atomic_load(&token_requests);
  (void)state;
  atomic_store(&mode, M_REJECT);
  g = get_one();
  assert_int_equal(g.status, GW_OAUTH_REJECTED);
  assert_int_equal(g.http_status, 401);
  assert_string_equal(g.error, "invalid_client");
  assert_string_equal(g.token, "");

  atomic_store(&mode, M_ERROR);
  g = get_one();
  assert_int_equal(g.status, GW_OAUTH_ENDPOINT_ERROR);
  assert_int_equal(g.http_status, 500);

  atomic_store(&mode, M_MALFORMED);
  g = get_one();
  assert_int_equal(g.status, GW_OAUTH_BAD_RESPONSE);

  atomic_store(&mode, M_MAC);
  g = get_one();
  assert_int_equal(g.status, GW_OAUTH_BAD_RESPONSE);

  /* an oversized answer is the endpoint's fault, not the network's: a bad
   * response, with the transport outcome kept for the logs */
  atomic_store(&mode, M_HUGE);
  g = get_one();
  assert_int_equal(g.status, GW_OAUTH_BAD_RESPONSE);
  assert_int_equal(g.transport, GW_UP_TOO_LARGE);

  atomic_store(&mode, M_OK);
  g = get_one();
  assert_int_equal(g.status, GW_OAUTH_OK);
  assert_int_equal(atomic_load(&token_requests), before + 6);
}

static void transport_errors_are_reported(void **state)
{
  struct got g;
  char bad_ca[512];
  (void)state;
  snprintf(bad_ca, sizeof(bad_ca), "%s/pki/negative/unknown-ca.pem", pki);
  T->client.tls.ca_file = bad_ca;
  g = get_one();
  assert_int_equal(g.status, GW_OAUTH_TRANSPORT);
  assert_int_equal(g.transport, GW_UP_TLS);
  assert_int_equal(g.http_status, 0);
}

static void bad_clients_are_refused(void **state)
{
  struct got g;
  struct gw_oauth_wait *w = (void *)1;
  (void)state;
  memset(&g, 0, sizeof(g));
#define BAD(mutation) \
  do { setup(state); mutation; \
       assert_int_equal(gw_oauth_get(T->oauth, &T->client, on_token, &g, &w), \
                        GW_OAUTH_GET_BAD_CLIENT); \
       assert_null(w); teardown(state); } while(0)
  teardown(state);
  BAD(T->client.client_id = "");
  BAD(T->client.client_secret = NULL);
  BAD(T->client.scope = "a\"b");
  BAD(T->client.scope = "two  spaces");
  BAD(T->client.timeout_ms = 0);
  BAD(snprintf(T->url, sizeof(T->url), "http://127.0.0.1:%d/token", srv->port));
#undef BAD
  setup(state);
  assert_int_equal(g.calls, 0);
}

static void a_cancelled_waiter_is_not_called(void **state)
{
  struct got a, b;
  struct gw_oauth_wait *wa = NULL;
  int before = atomic_load(&token_requests);
  (void)state;
  memset(&a, 0, sizeof(a));
  memset(&b, 0, sizeof(b));
  assert_int_equal(gw_oauth_get(T->oauth, &T->client, on_token, &a, &wa), GW_OAUTH_GET_OK);
  assert_non_null(wa);
  get(&b);
  gw_oauth_cancel(wa);
  run();
  assert_int_equal(a.calls, 0);
  assert_int_equal(b.calls, 1);
  assert_int_equal(atomic_load(&token_requests), before + 1);

  /* also a cache hit that was cancelled before the loop ran */
  memset(&a, 0, sizeof(a));
  assert_int_equal(gw_oauth_get(T->oauth, &T->client, on_token, &a, &wa), GW_OAUTH_GET_OK);
  gw_oauth_cancel(wa);
  b = get_one();
  assert_int_equal(a.calls, 0);
  assert_int_equal(b.cached, 1);
}

static struct got *second;

static void ask_again_and_invalidate(struct got *g)
{
  /* inside a callback: ask again and report the token refused */
  assert_int_equal(gw_oauth_get(T->oauth, &T->client, on_token, second, NULL), GW_OAUTH_GET_OK);
  T->pending++;
  assert_int_equal(gw_oauth_invalidate(T->oauth, &T->client, g->token), GW_OAUTH_INVALIDATED);
}

static void callbacks_may_ask_again(void **state)
{
  struct got a, b, c;
  int before = atomic_load(&token_requests);
  (void)state;
  memset(&a, 0, sizeof(a));
  memset(&b, 0, sizeof(b));
  memset(&c, 0, sizeof(c));
  a.then = ask_again_and_invalidate;
  second = &c;
  get(&a);
  get(&b);                               /* same fetch as a */
  run();
  assert_int_equal(a.calls, 1);
  assert_int_equal(b.calls, 1);
  assert_string_equal(a.token, b.token); /* b got it although a invalidated it */
  assert_int_equal(c.calls, 1);
  assert_int_equal(c.status, GW_OAUTH_OK);
  assert_string_not_equal(c.token, a.token);
  assert_int_equal(atomic_load(&token_requests), before + 2);
}

static void free_with_a_fetch_in_flight(void **state)
{
  struct got g[3];
  (void)state;
  memset(g, 0, sizeof(g));
  for(int i = 0; i < 3; i++)
    get(&g[i]);
  gw_oauth_free(T->oauth);
  T->oauth = gw_oauth_new(T->up, fake_clock, T);
  assert_int_equal(gw_upstream_active(T->up), 0);
  event_base_loop(T->base, EVLOOP_NONBLOCK);
  for(int i = 0; i < 3; i++)
    assert_int_equal(g[i].calls, 0);
  T->pending = 0;
}

static void logs_hold_no_secret_or_token(void **state)
{
  char path[] = "/tmp/gw-oauthlog-XXXXXX";
  int fd = mkstemp(path), saved = dup(2);
  char logbuf[65536];
  struct got g;
  ssize_t n;
  (void)state;
  assert_true(fd >= 0);
  gw_log_set_level(GW_LOG_DEBUG);
  dup2(fd, 2);
  g = get_one();
  assert_int_equal(gw_oauth_invalidate(T->oauth, &T->client, g.token), GW_OAUTH_INVALIDATED);
  atomic_store(&mode, M_REJECT);
  (void)get_one();
  dup2(saved, 2);
  close(saved);
  gw_log_set_level(GW_LOG_INFO);
  n = pread(fd, logbuf, sizeof(logbuf) - 1, 0);
  close(fd);
  unlink(path);
  assert_true(n > 0);
  logbuf[n] = '\0';
  assert_non_null(strstr(logbuf, "\"event\":\"oauth_token_fetched\""));
  assert_non_null(strstr(logbuf, "\"event\":\"oauth_token_invalidated\""));
  assert_non_null(strstr(logbuf, "\"event\":\"oauth_token_error\""));
  assert_non_null(strstr(logbuf, g.token_id));
  assert_non_null(strstr(logbuf, "\"error\":\"invalid_client\""));
  assert_null(strstr(logbuf, g.token));              /* "tok-N" */
  assert_null(strstr(logbuf, "s&cr"));
  assert_null(strstr(logbuf, "s%26cr"));
  assert_null(strstr(logbuf, "Basic"));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
#define T_(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    T_(twenty_waiters_one_fetch),
    T_(scope_is_sent_and_keys_the_cache),
    T_(cached_until_expiry_minus_skew),
    T_(missing_expires_in_takes_the_default),
    T_(a_401_refreshes_once),
    T_(endpoint_errors_are_reported_and_not_cached),
    T_(transport_errors_are_reported),
    T_(bad_clients_are_refused),
    T_(a_cancelled_waiter_is_not_called),
    T_(callbacks_may_ask_again),
    T_(free_with_a_fetch_in_flight),
    T_(logs_hold_no_secret_or_token),
#undef T_
  };
  evthread_use_pthreads();
  signal(SIGPIPE, SIG_IGN);
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
