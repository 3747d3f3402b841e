/*
 * control.c - fault state, counters and the control endpoint (DESIGN s. 7).
 *
 * The control endpoint is the only writer of an agency's fault; workers read
 * it in mock_fault_plan() for every request.  The share of requests a fault
 * hits is deterministic, not random: request k since the fault was set is
 * hit when floor(k * rate) steps up, so rate 0.5 hits exactly every second
 * request and a test can count exactly.  Jitter is the one random part.
 *
 * Which modes make sense where is decided here, from what each agency's
 * protocol can show: every agency has the transport modes and its own error
 * document (fault) and broken document (malformed); only the signing
 * agencies have signature faults, only the XML agencies entity attacks, only
 * si tokens.
 */
#include "server.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define BIT(a) (1u << (a))
#define ALL_AGENCIES ((1u << MOCK_N_AGENCIES) - 1)
#define XML_AGENCIES (BIT(MOCK_AG_CHSI) | BIT(MOCK_AG_CREDIT) | BIT(MOCK_AG_QUAL) | BIT(MOCK_AG_TAX))
#define SIGNING_AGENCIES (BIT(MOCK_AG_CHSI) | BIT(MOCK_AG_CSCSE))
#define PPM 1000000u

struct mode_def {
  const char *name;
  enum mock_transport transport;
  enum mock_content_fault content;
  unsigned agencies;                   /* BIT(enum mock_agency_id) */
};

static const struct mode_def modes[] = {
  { "latency",            MOCK_TR_NONE,      MOCK_CF_NONE,               ALL_AGENCIES },
  { "hang",               MOCK_TR_HANG,      MOCK_CF_NONE,               ALL_AGENCIES },
  { "reset",              MOCK_TR_RESET,     MOCK_CF_NONE,               ALL_AGENCIES },
  { "http_500",           MOCK_TR_HTTP_500,  MOCK_CF_NONE,               ALL_AGENCIES },
  { "truncated",          MOCK_TR_TRUNCATED, MOCK_CF_NONE,               ALL_AGENCIES },
  { "huge_body",          MOCK_TR_HUGE_BODY, MOCK_CF_NONE,               ALL_AGENCIES },
  { "slow_body",          MOCK_TR_SLOW_BODY, MOCK_CF_NONE,               ALL_AGENCIES },
  { "fault",              MOCK_TR_NONE,      MOCK_CF_FAULT,              ALL_AGENCIES },
  { "malformed",          MOCK_TR_NONE,      MOCK_CF_MALFORMED,          ALL_AGENCIES },
  { "bad_signature",      MOCK_TR_NONE,      MOCK_CF_BAD_SIGNATURE,      SIGNING_AGENCIES },
  { "wrong_signer",       MOCK_TR_NONE,      MOCK_CF_WRONG_SIGNER,       SIGNING_AGENCIES },
  { "signature_wrapping", MOCK_TR_NONE,      MOCK_CF_SIGNATURE_WRAPPING, BIT(MOCK_AG_CHSI) },
  { "xxe",                MOCK_TR_NONE,      MOCK_CF_XXE,                XML_AGENCIES },
  { "billion_laughs",     MOCK_TR_NONE,      MOCK_CF_BILLION_LAUGHS,     XML_AGENCIES },
  { "expired_token",      MOCK_TR_NONE,      MOCK_CF_EXPIRED_TOKEN,      BIT(MOCK_AG_SI) },
};

#define N_MODES (sizeof(modes) / sizeof(modes[0]))

/* ---- state used by the workers ----------------------------------------------- */

static void counters_zero(struct mock_agency *ag)
{
  atomic_store(&ag->requests, 0);
  atomic_store(&ag->faults, 0);
  atomic_store(&ag->responses, 0);
  atomic_store(&ag->connections, 0);
  atomic_store(&ag->tls_failures, 0);
  atomic_store(&ag->max_handshaking, atomic_load(&ag->handshaking));
}

int mock_agency_state_init(struct mock_agency *ag)
{
  memset(&ag->fault, 0, sizeof(ag->fault));
  ag->fault_seq = 0;
  atomic_init(&ag->fault_active, 0);
  atomic_init(&ag->requests, 0);
  atomic_init(&ag->faults, 0);
  atomic_init(&ag->responses, 0);
  atomic_init(&ag->connections, 0);
  atomic_init(&ag->open_connections, 0);
  atomic_init(&ag->tls_failures, 0);
  atomic_init(&ag->handshaking, 0);
  atomic_init(&ag->max_handshaking, 0);
  return pthread_mutex_init(&ag->lock, NULL) ? -1 : 0;
}

void mock_agency_state_destroy(struct mock_agency *ag)
{
  pthread_mutex_destroy(&ag->lock);
}

void mock_fault_plan(struct mock_agency *ag, uint64_t rnd, struct mock_fault_plan *plan)
{
  struct mock_fault f;
  uint64_t k;
  long delay;

  memset(plan, 0, sizeof(*plan));
  atomic_fetch_add_explicit(&ag->requests, 1, memory_order_relaxed);
  if(!atomic_load_explicit(&ag->fault_active, memory_order_acquire))
    return;                            /* the common case takes no lock */
  pthread_mutex_lock(&ag->lock);
  f = ag->fault;
  k = ++ag->fault_seq;
  pthread_mutex_unlock(&ag->lock);
  if(!f.active || (k * f.rate_ppm) / PPM == ((k - 1) * f.rate_ppm) / PPM)
    return;
  atomic_fetch_add_explicit(&ag->faults, 1, memory_order_relaxed);
  plan->hit = 1;
  plan->transport = f.transport;
  plan->content = f.content;
  delay = (long)f.latency_ms;
  if(f.jitter_ms)
    delay += (long)(rnd % (2u * f.jitter_ms + 1)) - (long)f.jitter_ms;
  plan->delay_ms = delay > 0 ? (unsigned)delay : 0;
}

/* ---- the endpoint ------------------------------------------------------------------ */

static int reply(struct mock_response *resp, int status, json_t *doc)
{
  return mock_response_json(resp, status, doc);
}

static int reply_error(struct mock_response *resp, int status, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));

static int reply_error(struct mock_response *resp, int status, const char *fmt, ...)
{
  char msg[512];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  /* messages echo request bytes: keep them printable ASCII, so valid JSON */
  for(char *p = msg; *p; p++)
    if((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
      *p = '?';
  return reply(resp, status, json_pack("{s:s}", "error", msg));
}

static struct mock_agency *find_agency(struct mock_server *srv, const char *name, size_t len)
{
  for(int i = 0; i < MOCK_N_AGENCIES; i++) {
    struct mock_agency *ag = mock_server_agency(srv, (enum mock_agency_id)i);
    if(strlen(ag->ops->name) == len && !memcmp(ag->ops->name, name, len))
      return ag;
  }
  return NULL;
}

static json_t *fault_json(const struct mock_fault *f)
{
  if(!f->active)
    return json_null();
  return json_pack("{s:s, s:I, s:I, s:f}", "mode", f->mode,
                   "latency_ms", (json_int_t)f->latency_ms,
                   "jitter_ms", (json_int_t)f->jitter_ms,
                   "rate", (double)f->rate_ppm / PPM);
}

static json_t *agency_stats(struct mock_agency *ag)
{
  struct mock_fault f;

  pthread_mutex_lock(&ag->lock);
  f = ag->fault;
  pthread_mutex_unlock(&ag->lock);
  return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}",
                   "requests", (json_int_t)atomic_load(&ag->requests),
                   "faults", (json_int_t)atomic_load(&ag->faults),
                   "responses", (json_int_t)atomic_load(&ag->responses),
                   "connections", (json_int_t)atomic_load(&ag->connections),
                   "open_connections", (json_int_t)atomic_load(&ag->open_connections),
                   "tls_failures", (json_int_t)atomic_load(&ag->tls_failures),
                   "handshaking", (json_int_t)atomic_load(&ag->handshaking),
                   "max_handshaking", (json_int_t)atomic_load(&ag->max_handshaking),
                   "fault", fault_json(&f));
}

static int get_stats(struct mock_server *srv, struct mock_response *resp)
{
  json_t *doc = json_object();

  for(int i = 0; doc && i < MOCK_N_AGENCIES; i++) {
    struct mock_agency *ag = mock_server_agency(srv, (enum mock_agency_id)i);
    if(json_object_set_new(doc, ag->ops->name, agency_stats(ag))) {
      json_decref(doc);
      doc = NULL;
    }
  }
  return reply(resp, 200, doc);
}

static void set_fault(struct mock_agency *ag, const struct mock_fault *f)
{
  pthread_mutex_lock(&ag->lock);
  ag->fault = *f;
  ag->fault_seq = 0;
  atomic_store_explicit(&ag->fault_active, f->active, memory_order_release);
  pthread_mutex_unlock(&ag->lock);
}

static int post_reset(struct mock_server *srv, struct mock_response *resp)
{
  struct mock_fault none;

  memset(&none, 0, sizeof(none));
  for(int i = 0; i < MOCK_N_AGENCIES; i++) {
    struct mock_agency *ag = mock_server_agency(srv, (enum mock_agency_id)i);
    set_fault(ag, &none);
    counters_zero(ag);
  }
  mock_population_override_reset();
  fprintf(stderr, "mock-agencies: control: reset every fault, counter and override\n");
  return reply(resp, 200, json_pack("{s:b}", "reset", 1));
}

/* Lists the agencies a mode applies to, for the error message. */
static void mode_agencies(struct mock_server *srv, const struct mode_def *m, char *out, size_t cap)
{
  size_t used = 0;

  out[0] = '\0';
  for(int i = 0; i < MOCK_N_AGENCIES; i++)
    if(m->agencies & BIT(i)) {
      int n = snprintf(out + used, cap - used, "%s%s", used ? ", " : "",
                       mock_server_agency(srv, (enum mock_agency_id)i)->ops->name);
      if(n < 0 || (size_t)n >= cap - used)
        return;
      used += (size_t)n;
    }
}

static int get_ms(json_t *doc, const char *key, unsigned *out)
{
  json_t *v = json_object_get(doc, key);

  *out = 0;
  if(!v)
    return 0;
  if(!json_is_integer(v) || json_integer_value(v) < 0 ||
     json_integer_value(v) > MOCK_MAX_LATENCY_MS)
    return -1;
  *out = (unsigned)json_integer_value(v);
  return 0;
}

static int put_fault(struct mock_server *srv, struct mock_agency *ag,
                     const struct mock_request *req, struct mock_response *resp)
{
  static const char *const keys[] = { "mode", "latency_ms", "jitter_ms", "rate", NULL };
  struct mock_fault f;
  const struct mode_def *m = NULL;
  json_error_t jerr;
  json_t *doc = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
  json_t *v, *rate;
  const char *key, *mode;
  char list[128];
  int rc;

  memset(&f, 0, sizeof(f));
  if(!doc) {
    rc = reply_error(resp, 400, "body is not JSON: %s", jerr.text);
    goto out;
  }
  if(!json_is_object(doc)) {
    rc = reply_error(resp, 400, "body must be a JSON object");
    goto out;
  }
  json_object_foreach(doc, key, v) {
    size_t i = 0;
    while(keys[i] && strcmp(keys[i], key))
      i++;
    if(!keys[i]) {
      rc = reply_error(resp, 400, "unknown field \"%s\" (expected mode, latency_ms, jitter_ms, rate)", key);
      goto out;
    }
  }
  mode = json_string_value(json_object_get(doc, "mode"));
  if(!mode) {
    rc = reply_error(resp, 400, "\"mode\" is required and must be a string");
    goto out;
  }
  for(size_t i = 0; i < N_MODES; i++)
    if(!strcmp(modes[i].name, mode))
      m = &modes[i];
  if(!m) {
    rc = reply_error(resp, 400, "unknown mode \"%s\"", mode);
    goto out;
  }
  if(!(m->agencies & BIT(ag->id))) {
    mode_agencies(srv, m, list, sizeof(list));
    rc = reply_error(resp, 400, "mode \"%s\" makes no sense for %s (only for %s)",
                     m->name, ag->ops->name, list);
    goto out;
  }
  if(get_ms(doc, "latency_ms", &f.latency_ms) || get_ms(doc, "jitter_ms", &f.jitter_ms)) {
    rc = reply_error(resp, 400, "\"latency_ms\" and \"jitter_ms\" must be integers 0-%d",
                     MOCK_MAX_LATENCY_MS);
    goto out;
  }
  rate = json_object_get(doc, "rate");
  if(rate && (!json_is_number(rate) || json_number_value(rate) < 0.0 ||
              json_number_value(rate) > 1.0)) {
    rc = reply_error(resp, 400, "\"rate\" must be a number from 0.0 to 1.0");
    goto out;
  }
  if(m->transport == MOCK_TR_NONE && m->content == MOCK_CF_NONE && !f.latency_ms && !f.jitter_ms) {
    rc = reply_error(resp, 400, "mode \"latency\" needs latency_ms or jitter_ms above 0");
    goto out;
  }
  f.active = 1;
  snprintf(f.mode, sizeof(f.mode), "%s", m->name);
  f.transport = m->transport;
  f.content = m->content;
  f.rate_ppm = rate ? (uint32_t)(json_number_value(rate) * PPM + 0.5) : PPM;
  set_fault(ag, &f);
  fprintf(stderr, "mock-agencies: control: %s fault %s, rate %.6g, latency %u ms +- %u ms\n",
          ag->ops->name, f.mode, (double)f.rate_ppm / PPM, f.latency_ms, f.jitter_ms);
  rc = reply(resp, 200, json_pack("{s:s, s:o}", "agency", ag->ops->name, "fault", fault_json(&f)));
out:
  json_decref(doc);
  return rc;
}

static int agency_fault(struct mock_server *srv, struct mock_agency *ag,
                        const struct mock_request *req, struct mock_response *resp)
{
  struct mock_fault f;

  if(!strcmp(req->method, "PUT"))
    return put_fault(srv, ag, req, resp);
  if(!strcmp(req->method, "DELETE")) {
    memset(&f, 0, sizeof(f));
    set_fault(ag, &f);
    fprintf(stderr, "mock-agencies: control: %s fault cleared\n", ag->ops->name);
  } else if(!strcmp(req->method, "GET")) {
    pthread_mutex_lock(&ag->lock);
    f = ag->fault;
    pthread_mutex_unlock(&ag->lock);
  } else {
    if(mock_response_add_header(resp, "Allow", "GET, PUT, DELETE"))
      return -1;
    return reply_error(resp, 405, "method %s not allowed here (GET, PUT, DELETE)", req->method);
  }
  return reply(resp, 200, json_pack("{s:s, s:o}", "agency", ag->ops->name, "fault", fault_json(&f)));
}

/* PUT|DELETE|GET /people/{id}/override: change what every agency knows about
 * one person, for post-approval spot checks (population.c applies it). */
static int person_override(const char *id, const struct mock_request *req,
                           struct mock_response *resp)
{
  char err[512];
  json_t *doc;
  int r;

  if(!strcmp(req->method, "PUT")) {
    r = mock_population_override_set(id, req->body, req->body_len, err, sizeof(err));
    if(r)
      return reply_error(resp, r == -2 ? 409 : 400, "%s", err);
    fprintf(stderr, "mock-agencies: control: person override set\n");
    return reply(resp, 200, json_pack("{s:s, s:o}", "id", id,
                                      "override", mock_population_override_get(id)));
  }
  if(!strcmp(req->method, "DELETE")) {
    r = mock_population_override_clear(id);
    if(r < 0)
      return reply_error(resp, 400, "not a valid GB 11643 identity number");
    if(r)
      fprintf(stderr, "mock-agencies: control: person override cleared\n");
    return reply(resp, 200, json_pack("{s:s, s:b}", "id", id, "cleared", r));
  }
  if(!strcmp(req->method, "GET")) {
    doc = mock_population_override_get(id);
    return reply(resp, 200, json_pack("{s:s, s:o}", "id", id, "override", doc ? doc : json_null()));
  }
  if(mock_response_add_header(resp, "Allow", "GET, PUT, DELETE"))
    return -1;
  return reply_error(resp, 405, "method %s not allowed here (GET, PUT, DELETE)", req->method);
}

static int only(const struct mock_request *req, const char *method, struct mock_response *resp)
{
  if(!strcmp(req->method, method))
    return 0;
  if(mock_response_add_header(resp, "Allow", method))
    return -1;
  reply_error(resp, 405, "method %s not allowed here (%s)", req->method, method);
  return 1;
}

int mock_control_handle(struct mock_server *srv, const struct mock_request *req,
                        struct mock_response *resp)
{
  static const char prefix[] = "/agencies/";
  static const char suffix[] = "/fault";
  const char *path = req->path;
  size_t plen = strlen(path);
  int rc;

  if(!strcmp(path, "/stats"))
    return (rc = only(req, "GET", resp)) ? (rc < 0 ? -1 : 0) : get_stats(srv, resp);
  if(!strcmp(path, "/reset"))
    return (rc = only(req, "POST", resp)) ? (rc < 0 ? -1 : 0) : post_reset(srv, resp);
  if(!strcmp(path, "/healthz"))
    return (rc = only(req, "GET", resp)) ? (rc < 0 ? -1 : 0)
                                         : reply(resp, 200, json_pack("{s:s}", "status", "ok"));
  if(!strncmp(path, prefix, sizeof(prefix) - 1) && plen > sizeof(prefix) - 1 + sizeof(suffix) - 1 &&
     !strcmp(path + plen - (sizeof(suffix) - 1), suffix)) {
    const char *name = path + sizeof(prefix) - 1;
    size_t nlen = plen - (sizeof(prefix) - 1) - (sizeof(suffix) - 1);
    struct mock_agency *ag = find_agency(srv, name, nlen);
    if(!ag)
      return reply_error(resp, 404, "unknown agency \"%.*s\" (chsi, mps, si, credit, cscse, qual, talent, fund, tax)",
                         (int)(nlen > 64 ? 64 : nlen), name);
    return agency_fault(srv, ag, req, resp);
  }
  if(!strncmp(path, "/people/", 8) && plen > 8 + 9 && !strcmp(path + plen - 9, "/override")) {
    char id[24];
    size_t idlen = plen - 8 - 9;
    if(idlen >= sizeof(id) || memchr(path + 8, '/', idlen))
      return reply_error(resp, 400, "not a valid GB 11643 identity number");
    memcpy(id, path + 8, idlen);
    id[idlen] = '\0';
    return person_override(id, req, resp);
  }
  return reply_error(resp, 404, "no control endpoint %.*s (GET /stats, POST /reset, "
                     "PUT|DELETE|GET /agencies/{agency}/fault, PUT|DELETE|GET /people/{id}/override)",
                     (int)(plen > 128 ? 128 : plen), path);
}
