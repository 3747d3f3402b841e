/*
 * fuzz_query_parse.c - the POST /v1/facts/query body validator (query.c's
 * static parse_request), reached the curl UNITTEST way: query.c is compiled
 * into this harness with a minimal query, app and config around it.
 *
 * The gw_req_* front functions query.c calls are renamed to fuzz_req_* by
 * the macros below before query.c is included, and defined here.  Defining
 * them under their own names would clash with gwcore's front.o, which the
 * link pulls in anyway (app.o -> observe.o -> front.o); renamed, query.c's
 * calls land here and front.o keeps its own.  gwcore's query.o is never
 * linked: this file defines every symbol it would supply.
 *
 * Invariants checked beyond "no crash, no leak":
 *   - a rejected body is answered exactly once, 400 "invalid-request", and
 *     the detail never repeats the subject's identity number, nor any run of
 *     15 digits (client text - an unknown field's name, the token the JSON
 *     parser stopped at - is echoed with its digits masked);
 *   - an accepted body is never answered by the parser, and what it filled
 *     in holds: the id is the GB 11643 normalization of the one sent (and
 *     normalizes to itself), the name is 1..256 bytes without controls,
 *     1..16 catalogue facts (catalogue pointers) without repeats, a known
 *     purpose, a case_ref of [A-Za-z0-9._-]{0,64}, 1 <= deadline <= the
 *     configured maximum and 0 <= max_age <= 31 days;
 *   - the fast path (query_fast.c) never answers, and whatever it accepts
 *     the full jansson parser accepts too, with every field the same.
 */
#define gw_req_method fuzz_req_method
#define gw_req_path fuzz_req_path
#define gw_req_query fuzz_req_query
#define gw_req_header fuzz_req_header
#define gw_req_body fuzz_req_body
#define gw_req_id fuzz_req_id
#define gw_req_client fuzz_req_client
#define gw_req_base fuzz_req_base
#define gw_req_set_header fuzz_req_set_header
#define gw_req_respond fuzz_req_respond
#define gw_req_respond_json fuzz_req_respond_json
#define gw_req_problem fuzz_req_problem

#include "query.c"
#include "../lib/catalogue_fixture.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- the front, as far as query.c needs it ------------------------------- */

/* This harness's own request (front.c has its own, unrelated, layout). */
struct gw_req {
  int answers;
  int status;
  char slug[64];
  char detail[512];
};

const char *gw_req_method(const struct gw_req *req) { (void)req; return "POST"; }
const char *gw_req_path(const struct gw_req *req) { (void)req; return "/v1/facts/query"; }
const char *gw_req_query(const struct gw_req *req) { (void)req; return NULL; }
const char *gw_req_id(const struct gw_req *req) { (void)req; return "fuzz"; }
const char *gw_req_client(const struct gw_req *req) { (void)req; return "engine"; }
struct event_base *gw_req_base(const struct gw_req *req) { (void)req; return NULL; }

const char *gw_req_header(const struct gw_req *req, const char *name, size_t *len)
{
  (void)req;
  (void)name;
  *len = 0;
  return NULL;
}

const char *gw_req_body(const struct gw_req *req, size_t *len)
{
  (void)req;
  *len = 0;
  return NULL;
}

int gw_req_set_header(struct gw_req *req, const char *name, const char *value)
{
  (void)req;
  (void)name;
  (void)value;
  return 0;
}

/* parse_request only ever answers through gw_req_problem; the others are
 * here so the linker never needs front.o. */
void gw_req_respond(struct gw_req *req, int status, const char *content_type,
                    const char *body, size_t len)
{
  (void)req; (void)status; (void)content_type; (void)body; (void)len;
  abort();
}

void gw_req_respond_json(struct gw_req *req, int status, json_t *body)
{
  (void)req; (void)status;
  json_decref(body);
  abort();
}

void gw_req_problem(struct gw_req *req, int status, const char *slug, const char *detail)
{
  req->answers++;
  req->status = status;
  snprintf(req->slug, sizeof(req->slug), "%s", slug);
  snprintf(req->detail, sizeof(req->detail), "%s", detail);
}

/* ---- the harness --------------------------------------------------------- */

#define FUZZ_DEADLINE_DEFAULT_MS 3000
#define FUZZ_DEADLINE_MAX_MS 10000
#define FUZZ_MAX_AGE_DEFAULT_S 86400

static const char *sent_id(const char *body, size_t len, json_t **root)
{
  *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
  return json_string_value(json_object_get(json_object_get(*root, "subject"), "id"));
}

/* Does `s` hold a run of `n` or more ASCII digits?  No detail of ours does
 * (our numbers are limits: "1 to 64", "10000"); a run that long could only
 * be client text repeated, and client text may be an identity number. */
static int has_digit_run(const char *s, size_t n)
{
  size_t run = 0;
  for(; *s; s++)
    if((run = (*s >= '0' && *s <= '9') ? run + 1 : 0) >= n)
      return 1;
  return 0;
}

static void check_accepted(const struct query *q, const char *body, size_t len)
{
  json_t *root;
  const char *id = sent_id(body, len, &root);
  char norm[GW_IDNUM_LEN + 1], again[GW_IDNUM_LEN + 1];
  size_t nlen;

  if(!id || gw_idnum_normalize(id, norm, 0) != GW_IDNUM_OK || strcmp(norm, q->subject_id) ||
     gw_idnum_normalize(q->subject_id, again, 0) != GW_IDNUM_OK || strcmp(again, q->subject_id))
    abort();
  json_decref(root);
  if(!q->subject_name || !valid_name(q->subject_name, (nlen = strlen(q->subject_name))))
    abort();
  if(q->n_facts < 1 || q->n_facts > QUERY_MAX_FACTS)
    abort();
  for(size_t i = 0; i < q->n_facts; i++) {
    if(!q->facts[i].name || gw_fact_find(q->facts[i].name) == NULL ||
       gw_fact_find(q->facts[i].name)->name != q->facts[i].name)
      abort();
    for(size_t j = 0; j < i; j++)
      if(!strcmp(q->facts[i].name, q->facts[j].name))
        abort();
  }
  if(!gw_purpose_known(q->purpose))
    abort();
  if(q->case_ref[0] && !valid_case_ref(q->case_ref))
    abort();
  if(q->deadline_ms < 1 || q->deadline_ms > FUZZ_DEADLINE_MAX_MS)
    abort();
  if(q->max_age_ms < 0 || q->max_age_ms > (int64_t)QUERY_MAX_AGE_S * 1000)
    abort();
  if(q->sign != 0 && q->sign != 1)
    abort();
}

static void check_rejected(const struct gw_req *req, const char *body, size_t len)
{
  json_t *root;
  const char *id;

  if(req->answers != 1 || req->status != 400 || strcmp(req->slug, "invalid-request") ||
     !req->detail[0])
    abort();
  id = sent_id(body, len, &root);
  if(id && strlen(id) >= 15 && strstr(req->detail, id))
    abort();
  if(has_digit_run(req->detail, 15))
    abort();
  json_decref(root);
}

/* The generation every query of the harness holds: no predicates, and the
 * catalogue the fixture installed.  Its one reference is never dropped, so
 * query_free's release never frees it. */
static struct gw_gen fuzz_gen = { .refs = 1 };

static struct query *new_query(struct gw_req *req, struct gw_app *app)
{
  struct query *q = gw_calloc(1, sizeof(*q));
  memset(req, 0, sizeof(*req));
  q->magic = QUERY_MAGIC;
  q->req = req;
  q->app = app;
  q->gen = gw_gen_ref(&fuzz_gen);
  return q;
}

/* The fast path against the full parser on the same body. */
static void check_fast(struct gw_app *app, const char *body, size_t size)
{
  struct gw_req rf, rs;
  struct query *f = new_query(&rf, app), *s = new_query(&rs, app);
  int fast = parse_fast(f, body, size);

  if(rf.answers)
    abort();
  if(fast == 0) {
    if(parse_request_full(s, body, size) != 0 || rs.answers)
      abort();
    if(strcmp(f->subject_id, s->subject_id) || strcmp(f->subject_name, s->subject_name) ||
       f->n_facts != s->n_facts || strcmp(f->purpose, s->purpose) ||
       strcmp(f->case_ref, s->case_ref) || f->deadline_ms != s->deadline_ms ||
       f->max_age_ms != s->max_age_ms || f->sign != s->sign)
      abort();
    for(size_t i = 0; i < f->n_facts; i++)
      if(f->facts[i].name != s->facts[i].name)
        abort();
  }
  else if(f->subject_name || f->n_facts || f->purpose[0])
    abort();                    /* a refusal leaves the query untouched */
  query_free(f);
  query_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static struct gw_config cfg;
  static struct gw_app app;
  struct gw_req req;
  struct query *q;
  const char *body = (const char *)data;

  if(size > 64 * 1024)    /* the front caps bodies well below this */
    return 0;
  cfg.deadline_default_ms = FUZZ_DEADLINE_DEFAULT_MS;
  cfg.deadline_max_ms = FUZZ_DEADLINE_MAX_MS;
  cfg.max_age_default_s = FUZZ_MAX_AGE_DEFAULT_S;
  app.cfg = &cfg;
  check_fast(&app, body, size);
  q = new_query(&req, &app);
  if(parse_request(q, body, size) == 0) {
    if(req.answers)
      abort();
    check_accepted(q, body, size);
  }
  else
    check_rejected(&req, body, size);
  query_free(q);
  return 0;
}
