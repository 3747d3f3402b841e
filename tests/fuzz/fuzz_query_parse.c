/*
 * fuzz_query_parse.c - the POST /v1/facts/query body validator
 * (handler/query_body.c with the scanner of query_fast.c), reached the curl
 * UNITTEST way: query_body.c is compiled into this harness so its static
 * full reader (read_full) can be run on bodies the fast scanner also reads.
 * The validator answers nothing itself (query.c turns a refusal into the
 * 400 problem), so no part of the HTTP front end is needed here.
 *
 * Invariants checked beyond "no crash, no leak":
 *   - a refused body gets a detail, and the detail never repeats the
 *     subject's identity number, nor any run of 15 digits (client text - an
 *     unknown field's name, the token the JSON parser stopped at - is echoed
 *     with its digits masked; see corpus/query_parse/unknown-key-holds-id),
 *     and what was to be filled stays untouched;
 *   - an accepted body holds: the id is the GB 11643 normalization of the
 *     one sent (and normalizes to itself), the name is 1..256 bytes without
 *     controls, 1..16 catalogue facts (catalogue pointers) without repeats,
 *     a known purpose, a case_ref of [A-Za-z0-9._-]{0,64}, 1 <= deadline <=
 *     the configured maximum and 0 <= max_age <= 31 days;
 *   - whatever the fast scanner reads, the full jansson reader reads to the
 *     same verdict, the same detail and the same values (the rules are
 *     written once, query_body_check; this checks the two finders agree).
 */
#include "../../gateway/src/handler/query_body.c"
#include "../lib/catalogue_fixture.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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

static int name_ok(const char *s)
{
  struct query_slice sl = { s, strlen(s) };
  return valid_name(sl);
}

static void check_accepted(const struct query_ask *a, const char *body, size_t len)
{
  json_t *root;
  const char *id = sent_id(body, len, &root);
  char norm[GW_IDNUM_LEN + 1], again[GW_IDNUM_LEN + 1];

  if(!id || gw_idnum_normalize(id, norm, 0) != GW_IDNUM_OK || strcmp(norm, a->subject_id) ||
     gw_idnum_normalize(a->subject_id, again, 0) != GW_IDNUM_OK || strcmp(again, a->subject_id))
    abort();
  json_decref(root);
  if(!a->subject_name || !name_ok(a->subject_name))
    abort();
  if(a->n_facts < 1 || a->n_facts > QUERY_MAX_FACTS)
    abort();
  for(size_t i = 0; i < a->n_facts; i++) {
    if(!a->facts[i] || gw_fact_find(a->facts[i]) == NULL ||
       gw_fact_find(a->facts[i])->name != a->facts[i])
      abort();
    for(size_t j = 0; j < i; j++)
      if(!strcmp(a->facts[i], a->facts[j]))
        abort();
  }
  if(!gw_purpose_known(a->purpose))
    abort();
  if(a->case_ref[0]) {
    struct query_slice c = { a->case_ref, strlen(a->case_ref) };
    if(!valid_case_ref(c))
      abort();
  }
  if(a->deadline_ms < 1 || a->deadline_ms > FUZZ_DEADLINE_MAX_MS)
    abort();
  if(a->max_age_ms < 0 || a->max_age_ms > (int64_t)QUERY_MAX_AGE_S * 1000)
    abort();
  if(a->sign != 0 && a->sign != 1)
    abort();
}

static void check_rejected(const struct query_ask *a, const char *detail, const char *body,
                           size_t len)
{
  json_t *root;
  const char *id;

  if(!detail[0] || a->subject_name || a->n_facts || a->purpose[0])
    abort();
  id = sent_id(body, len, &root);
  if(id && strlen(id) >= 15 && strstr(detail, id))
    abort();
  if(has_digit_run(detail, 15))
    abort();
  json_decref(root);
}

static int same_ask(const struct query_ask *x, const struct query_ask *y)
{
  if(strcmp(x->subject_id, y->subject_id) || strcmp(x->subject_name, y->subject_name) ||
     x->n_facts != y->n_facts || strcmp(x->purpose, y->purpose) ||
     strcmp(x->case_ref, y->case_ref) || x->deadline_ms != y->deadline_ms ||
     x->max_age_ms != y->max_age_ms || x->sign != y->sign)
    return 0;
  for(size_t i = 0; i < x->n_facts; i++)
    if(x->facts[i] != y->facts[i])
      return 0;
  return 1;
}

/* The fast scanner against the full reader on the same body. */
static void check_fast(const struct gw_config *cfg, const char *body, size_t size)
{
  struct query_body b;
  struct query_ask fa = { 0 }, sa = { 0 };
  struct qpreds fp = { .n = 0 }, sp = { .n = 0 };
  char fd[QUERY_DETAIL_BUF] = "", sd[QUERY_DETAIL_BUF] = "";
  int frc, src;

  if(query_scan_fast(body, size, &b))
    return;
  if(b.predicates)
    abort();                    /* the scanner never reads predicates */
  frc = query_body_check(&b, cfg, NULL, &fp, &fa, fd, sizeof(fd));
  src = read_full(body, size, cfg, NULL, &sp, &sa, sd, sizeof(sd));
  if(frc != src || (frc == 0 && !same_ask(&fa, &sa)) || (frc != 0 && strcmp(fd, sd)))
    abort();
  query_ask_clear(&fa);
  query_ask_clear(&sa);
  qpred_free(&fp);
  qpred_free(&sp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static struct gw_config cfg;
  struct query_ask ask = { 0 };
  struct qpreds preds = { .n = 0 };
  char detail[QUERY_DETAIL_BUF] = "";
  const char *body = (const char *)data;

  if(size > 64 * 1024)    /* the front caps bodies well below this */
    return 0;
  cfg.deadline_default_ms = FUZZ_DEADLINE_DEFAULT_MS;
  cfg.deadline_max_ms = FUZZ_DEADLINE_MAX_MS;
  cfg.max_age_default_s = FUZZ_MAX_AGE_DEFAULT_S;
  check_fast(&cfg, body, size);
  if(query_body_read(body, size, &cfg, NULL, &preds, &ask, detail, sizeof(detail)) == 0)
    check_accepted(&ask, body, size);
  else
    check_rejected(&ask, detail, body, size);
  query_ask_clear(&ask);
  qpred_free(&preds);
  return 0;
}
