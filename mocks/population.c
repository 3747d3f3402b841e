/*
 * population.c - who the mock agencies know: curated people and everyone else.
 *
 * Two sources answer mock_population_lookup().  The curated file
 * (mocks/data/population.json) holds the people tests and demos name: one
 * per scenario, every agency's record spelled out.  Every other valid
 * identity number is a synthetic person whose attributes are drawn from a
 * generator seeded with SHA-256 of the normalized number, so the same number
 * is always the same person and load tests can use millions of people
 * without a file.  Synthetic draws are made against a fixed reference date
 * (SYNTH_REF_YEAR), not the clock, so a person does not change over time.
 *
 * Loaded once at start-up and read-only afterwards: lookups from every
 * worker thread need no lock.
 */
#include "mock.h"

#include "gw/idnum.h"
#include "jread.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SYNTH_REF_YEAR 2026            /* synthetic "today" is 2026-06-30 */

struct mock_curated {
  struct mock_person person;
  int exists;                  /* 0: the number is known to nobody */
};

struct mock_population {
  struct mock_curated *people; /* sorted by id */
  size_t n;
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* ---- loading the curated file ------------------------------------------ */

/* Every refusal goes through the one typed JSON reader (base/jread.h):
 * "FILE: people[N] (SCENARIO): FIELD: PROBLEM", the first one only. */
struct load_ctx {
  struct gw_jread r;           /* r.file points at label */
  char label[512];
};

static void load_ctx_init(struct load_ctx *lc, const char *label, char *err, size_t errlen)
{
  memset(lc, 0, sizeof(*lc));
  snprintf(lc->label, sizeof(lc->label), "%s", label);
  lc->r.file = lc->label;
  lc->r.err = err;
  lc->r.errlen = errlen;
}

static int fail_at(struct load_ctx *lc, const char *where, const char *key,
                   const char *problem)
{
  char field[GW_JREAD_FIELD_MAX];
  gw_jread_join(field, sizeof(field), where, *key ? key : "(the entry)");
  gw_jread_fail(&lc->r, field, "%s", problem);
  return -1;
}

static int valid_date(const char *s)
{
  static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
  int m, d;

  if(strlen(s) != 10 || s[4] != '-' || s[7] != '-')
    return 0;
  for(int i = 0; i < 10; i++)
    if(i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
      return 0;
  m = (s[5] - '0') * 10 + (s[6] - '0');
  d = (s[8] - '0') * 10 + (s[9] - '0');
  return m >= 1 && m <= 12 && d >= 1 && d <= mdays[m - 1];
}

/* obj must be an object with no keys outside `allowed` (NULL-terminated):
 * typos in a curated file would otherwise silently become "absent". */
static int check_keys(struct load_ctx *lc, json_t *obj, const char *where,
                      const char *const *allowed)
{
  if(!gw_jread_object_value(&lc->r, obj, *where ? where : "(the entry)") ||
     gw_jread_unknown(&lc->r, obj, where, allowed))
    return -1;
  return 0;
}

/* A list member: absent or null is empty, else an array of at most `max`
 * items (an empty one allowed).  NULL with lc->r.failed set on a refusal. */
static json_t *get_list(struct load_ctx *lc, json_t *obj, const char *where, const char *key,
                        size_t max)
{
  json_t *v = json_object_get(obj, key);
  if(!v || json_is_null(v) || (json_is_array(v) && !json_array_size(v)))
    return NULL;
  return gw_jread_array(&lc->r, obj, where, key, 0, max);
}

enum str_kind { STR_OPTIONAL, STR_REQUIRED, STR_DATE, STR_OPTIONAL_DATE };

/* A string member into dst[0..cap): absent or null is "" (a refusal when
 * required). */
static int get_str(struct load_ctx *lc, json_t *obj, const char *where,
                   const char *key, char *dst, size_t cap, enum str_kind kind)
{
  char field[GW_JREAD_FIELD_MAX];
  json_t *v = json_object_get(obj, key);
  const char *s;

  dst[0] = '\0';
  gw_jread_join(field, sizeof(field), where, key);
  if(!v || json_is_null(v)) {
    if(kind == STR_REQUIRED || kind == STR_DATE) {
      gw_jread_fail(&lc->r, field, "missing (a string is required)");
      return -1;
    }
    return 0;
  }
  s = gw_jread_string_value(&lc->r, v, field, cap - 1);
  if(!s)
    return -1;
  if((kind == STR_DATE || kind == STR_OPTIONAL_DATE) && !valid_date(s)) {
    gw_jread_fail(&lc->r, field, "not a YYYY-MM-DD date");
    return -1;
  }
  memcpy(dst, s, strlen(s) + 1);
  return 0;
}

/* A required integer member in [0, max]. */
static int get_count(struct load_ctx *lc, json_t *obj, const char *where, const char *key,
                     int max, int *out)
{
  if(!json_object_get(obj, key))
    return fail_at(lc, where, key, "missing (an integer is required)");
  *out = (int)gw_jread_int(&lc->r, obj, where, key, 0, 0, max);
  return lc->r.failed ? -1 : 0;
}

/* A boolean member; `dflt` when absent and not required. */
static int get_bool(struct load_ctx *lc, json_t *obj, const char *where, const char *key,
                    int required, int dflt, int *out)
{
  if(required && !json_object_get(obj, key))
    return fail_at(lc, where, key, "missing (true or false is required)");
  *out = gw_jread_bool(&lc->r, obj, where, key, dflt);
  return lc->r.failed ? -1 : 0;
}

static int one_of(struct load_ctx *lc, const char *where, const char *key,
                  const char *value, const char *const *allowed)
{
  char field[GW_JREAD_FIELD_MAX], list[256] = "";
  size_t used = 0;
  for(size_t i = 0; allowed[i]; i++) {
    int w;
    if(!strcmp(allowed[i], value))
      return 0;
    w = snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", allowed[i]);
    if(w > 0 && (size_t)w < sizeof(list) - used)
      used += (size_t)w;
  }
  gw_jread_join(field, sizeof(field), where, key);
  gw_jread_fail(&lc->r, field, "\"%s\" is not one of %s", value, list);
  return -1;
}

static const char *const degree_levels[] = { "bachelor", "master", "doctor", NULL };

/* Each list parser walks a JSON array into a fixed array of the person. */
static int parse_degrees(struct load_ctx *lc, json_t *parent, struct mock_person *p)
{
  static const char *const keys[] = { "level", "institution", "major", "study_mode",
                                      "graduated_on", "certificate_no", NULL };
  static const char *const modes[] = { "full-time", "part-time", NULL };
  size_t i;
  json_t *o;
  char where[48];
  json_t *arr = get_list(lc, parent, "", "degrees", MOCK_MAX_DEGREES);

  if(lc->r.failed)
    return -1;
  json_array_foreach(arr, i, o) {
    struct mock_degree *d = &p->degrees[i];
    snprintf(where, sizeof(where), "degrees[%zu]", i);
    if(check_keys(lc, o, where, keys) ||
       get_str(lc, o, where, "level", d->level, sizeof(d->level), STR_REQUIRED) ||
       one_of(lc, where, "level", d->level, degree_levels) ||
       get_str(lc, o, where, "institution", d->institution, sizeof(d->institution), STR_REQUIRED) ||
       get_str(lc, o, where, "major", d->major, sizeof(d->major), STR_REQUIRED) ||
       get_str(lc, o, where, "study_mode", d->study_mode, sizeof(d->study_mode), STR_REQUIRED) ||
       one_of(lc, where, "study_mode", d->study_mode, modes) ||
       get_str(lc, o, where, "graduated_on", d->graduated_on, sizeof(d->graduated_on), STR_DATE) ||
       get_str(lc, o, where, "certificate_no", d->certificate_no, sizeof(d->certificate_no), STR_REQUIRED))
      return -1;
    p->n_degrees++;
  }
  return 0;
}

static int parse_overseas(struct load_ctx *lc, json_t *parent, struct mock_person *p)
{
  static const char *const keys[] = { "country", "institution", "degree_level", "awarded_on",
                                      "certification_no", "certified_on", NULL };
  size_t i;
  json_t *o;
  char where[48];
  json_t *arr = get_list(lc, parent, "", "overseas", MOCK_MAX_OVERSEAS);

  if(lc->r.failed)
    return -1;
  json_array_foreach(arr, i, o) {
    struct mock_overseas_cert *c = &p->overseas[i];
    snprintf(where, sizeof(where), "overseas[%zu]", i);
    if(check_keys(lc, o, where, keys) ||
       get_str(lc, o, where, "country", c->country, sizeof(c->country), STR_REQUIRED) ||
       get_str(lc, o, where, "institution", c->institution, sizeof(c->institution), STR_REQUIRED) ||
       get_str(lc, o, where, "degree_level", c->degree_level, sizeof(c->degree_level), STR_REQUIRED) ||
       one_of(lc, where, "degree_level", c->degree_level, degree_levels) ||
       get_str(lc, o, where, "awarded_on", c->awarded_on, sizeof(c->awarded_on), STR_DATE) ||
       get_str(lc, o, where, "certification_no", c->certification_no, sizeof(c->certification_no), STR_REQUIRED) ||
       get_str(lc, o, where, "certified_on", c->certified_on, sizeof(c->certified_on), STR_DATE))
      return -1;
    p->n_overseas++;
  }
  return 0;
}

static int parse_quals(struct load_ctx *lc, json_t *parent, struct mock_person *p)
{
  static const char *const keys[] = { "kind", "name", "level", "issued_on", "cert_no", NULL };
  size_t i;
  json_t *o;
  char where[48];
  json_t *arr = get_list(lc, parent, "", "qualifications", MOCK_MAX_QUALS);

  if(lc->r.failed)
    return -1;
  json_array_foreach(arr, i, o) {
    struct mock_qual_cert *q = &p->quals[i];
    snprintf(where, sizeof(where), "qualifications[%zu]", i);
    if(check_keys(lc, o, where, keys) ||
       get_str(lc, o, where, "kind", q->kind, sizeof(q->kind), STR_REQUIRED) ||
       get_str(lc, o, where, "name", q->name, sizeof(q->name), STR_REQUIRED) ||
       get_str(lc, o, where, "level", q->level, sizeof(q->level), STR_REQUIRED) ||
       get_str(lc, o, where, "issued_on", q->issued_on, sizeof(q->issued_on), STR_DATE) ||
       get_str(lc, o, where, "cert_no", q->cert_no, sizeof(q->cert_no), STR_REQUIRED))
      return -1;
    p->n_quals++;
  }
  return 0;
}

static int parse_mps(struct load_ctx *lc, json_t *o, struct mock_person *p)
{
  static const char *const keys[] = { "birth_date", "hukou", NULL };
  static const char *const hkeys[] = { "province", "city", "district", "is_shenzhen", NULL };
  json_t *h;
  char idbirth[11];

  if(!o || json_is_null(o))
    return 0;
  if(check_keys(lc, o, "mps", keys) ||
     get_str(lc, o, "mps", "birth_date", p->birth_date, sizeof(p->birth_date), STR_DATE))
    return -1;
  snprintf(idbirth, sizeof(idbirth), "%.4s-%.2s-%.2s", p->id + 6, p->id + 10, p->id + 12);
  if(strcmp(idbirth, p->birth_date))
    return fail_at(lc, "mps", "birth_date", "differs from the birth date in the id");
  h = gw_jread_object(&lc->r, o, "mps", "hukou", 1);
  if(!h || check_keys(lc, h, "mps.hukou", hkeys) ||
     get_str(lc, h, "mps.hukou", "province", p->hukou_province, sizeof(p->hukou_province), STR_REQUIRED) ||
     get_str(lc, h, "mps.hukou", "city", p->hukou_city, sizeof(p->hukou_city), STR_REQUIRED) ||
     get_str(lc, h, "mps.hukou", "district", p->hukou_district, sizeof(p->hukou_district), STR_REQUIRED))
    return -1;
  if(get_bool(lc, h, "mps.hukou", "is_shenzhen", 1, 0, &p->hukou_is_shenzhen))
    return -1;
  if(p->hukou_is_shenzhen != !strcmp(p->hukou_city, "深圳市"))
    return fail_at(lc, "mps.hukou", "is_shenzhen", "disagrees with the city");
  p->in_mps = 1;
  return 0;
}

static int parse_si(struct load_ctx *lc, json_t *o, struct mock_person *p)
{
  static const char *const keys[] = { "shenzhen_months", "employer", "name", NULL };
  static const char *const ekeys[] = { "name", "uscc", NULL };
  json_t *e;

  if(!o || json_is_null(o))
    return 0;
  if(check_keys(lc, o, "si", keys) ||
     get_str(lc, o, "si", "name", p->si_name, sizeof(p->si_name), STR_OPTIONAL))
    return -1;
  if(get_count(lc, o, "si", "shenzhen_months", 1200, &p->si_shenzhen_months))
    return -1;
  e = json_object_get(o, "employer");
  if(e && !json_is_null(e) &&
     (check_keys(lc, e, "si.employer", ekeys) ||
      get_str(lc, e, "si.employer", "name", p->employer_name, sizeof(p->employer_name), STR_REQUIRED) ||
      get_str(lc, e, "si.employer", "uscc", p->employer_uscc, sizeof(p->employer_uscc), STR_REQUIRED)))
    return -1;
  if(p->employer_uscc[0] && strlen(p->employer_uscc) != 18)
    return fail_at(lc, "si.employer", "uscc", "not 18 characters (a USCC is 18)");
  p->in_si = 1;
  return 0;
}

/* "fund" and "tax": {"shenzhen_months": N, "employer": {name, uscc} | null};
 * null: the agency has no record.  Tax months count the last 24 only. */
static int parse_deposit(struct load_ctx *lc, json_t *o, const char *at, int max_months,
                         int *in, int *months, char *ename, size_t ecap, char *uscc, size_t ucap,
                         char *name, size_t ncap)
{
  static const char *const keys[] = { "shenzhen_months", "employer", "name", NULL };
  static const char *const ekeys[] = { "name", "uscc", NULL };
  char eat[32];
  json_t *e;

  *in = 0;
  *months = 0;
  ename[0] = uscc[0] = name[0] = '\0';
  if(!o || json_is_null(o))
    return 0;
  if(check_keys(lc, o, at, keys) || get_str(lc, o, at, "name", name, ncap, STR_OPTIONAL))
    return -1;
  if(get_count(lc, o, at, "shenzhen_months", max_months, months))
    return -1;
  snprintf(eat, sizeof(eat), "%s.employer", at);
  e = json_object_get(o, "employer");
  if(e && !json_is_null(e) &&
     (check_keys(lc, e, eat, ekeys) ||
      get_str(lc, e, eat, "name", ename, ecap, STR_REQUIRED) ||
      get_str(lc, e, eat, "uscc", uscc, ucap, STR_REQUIRED)))
    return -1;
  if(uscc[0] && strlen(uscc) != 18)
    return fail_at(lc, eat, "uscc", "not 18 characters (a USCC is 18)");
  *in = 1;
  return 0;
}

static int parse_fund(struct load_ctx *lc, json_t *o, struct mock_person *p)
{
  return parse_deposit(lc, o, "fund", 1200, &p->in_fund, &p->fund_shenzhen_months,
                       p->fund_employer_name, sizeof(p->fund_employer_name),
                       p->fund_employer_uscc, sizeof(p->fund_employer_uscc),
                       p->fund_name, sizeof(p->fund_name));
}

static int parse_tax(struct load_ctx *lc, json_t *o, struct mock_person *p)
{
  return parse_deposit(lc, o, "tax", 24, &p->in_tax, &p->tax_shenzhen_months,
                       p->tax_employer_name, sizeof(p->tax_employer_name),
                       p->tax_employer_uscc, sizeof(p->tax_employer_uscc),
                       p->tax_name, sizeof(p->tax_name));
}

/* Where a person has no fund or tax section of their own, both follow si:
 * the employer paying social insurance deposits the housing fund for as
 * many months and withholds income tax (at most the 24 months counted). */
static void derive_fund(struct mock_person *p)
{
  p->in_fund = p->in_si;
  p->fund_shenzhen_months = p->in_si ? p->si_shenzhen_months : 0;
  memcpy(p->fund_employer_name, p->employer_name, sizeof(p->fund_employer_name));
  memcpy(p->fund_employer_uscc, p->employer_uscc, sizeof(p->fund_employer_uscc));
}

static void derive_tax(struct mock_person *p)
{
  p->in_tax = p->in_si;
  p->tax_shenzhen_months = !p->in_si ? 0 : p->si_shenzhen_months > 24 ? 24 : p->si_shenzhen_months;
  memcpy(p->tax_employer_name, p->employer_name, sizeof(p->tax_employer_name));
  memcpy(p->tax_employer_uscc, p->employer_uscc, sizeof(p->tax_employer_uscc));
}

static int parse_credit(struct load_ctx *lc, json_t *o, struct mock_person *p)
{
  static const char *const keys[] = { "status", "records", NULL };
  static const char *const rkeys[] = { "kind", "authority", "decided_on", "detail", NULL };
  static const char *const statuses[] = { "good", "warning", "dishonest", NULL };
  json_t *arr, *r;
  size_t i;
  char where[48];

  if(!o || json_is_null(o))
    return 0;
  if(check_keys(lc, o, "credit", keys) ||
     get_str(lc, o, "credit", "status", p->credit_status, sizeof(p->credit_status), STR_REQUIRED) ||
     one_of(lc, "credit", "status", p->credit_status, statuses))
    return -1;
  arr = get_list(lc, o, "credit", "records", MOCK_MAX_CREDIT);
  if(lc->r.failed)
    return -1;
  json_array_foreach(arr, i, r) {
    struct mock_credit_record *c = &p->credit[i];
    snprintf(where, sizeof(where), "credit.records[%zu]", i);
    if(check_keys(lc, r, where, rkeys) ||
       get_str(lc, r, where, "kind", c->kind, sizeof(c->kind), STR_REQUIRED) ||
       get_str(lc, r, where, "authority", c->authority, sizeof(c->authority), STR_REQUIRED) ||
       get_str(lc, r, where, "decided_on", c->decided_on, sizeof(c->decided_on), STR_DATE) ||
       get_str(lc, r, where, "detail", c->detail, sizeof(c->detail), STR_REQUIRED))
      return -1;
    p->n_credit++;
  }
  if(!strcmp(p->credit_status, "good") != !p->n_credit)
    return fail_at(lc, "credit", "records", "good credit has no records, and only good credit");
  return 0;
}

static int parse_talent(struct load_ctx *lc, json_t *o, struct mock_person *p)
{
  static const char *const keys[] = { "level", "postdoc", NULL };
  static const char *const pkeys[] = { "in_station", "station", "entered_on", "left_on", NULL };
  static const char *const levels[] = { "none", "A", "B", "C", "reserve", NULL };
  json_t *pd;

  snprintf(p->talent_level, sizeof(p->talent_level), "none");
  if(!o || json_is_null(o))
    return 0;
  if(check_keys(lc, o, "talent", keys) ||
     get_str(lc, o, "talent", "level", p->talent_level, sizeof(p->talent_level), STR_REQUIRED) ||
     one_of(lc, "talent", "level", p->talent_level, levels))
    return -1;
  pd = json_object_get(o, "postdoc");
  if(!pd || json_is_null(pd))
    return 0;
  if(check_keys(lc, pd, "talent.postdoc", pkeys) ||
     get_str(lc, pd, "talent.postdoc", "station", p->postdoc_station, sizeof(p->postdoc_station), STR_REQUIRED) ||
     get_str(lc, pd, "talent.postdoc", "entered_on", p->postdoc_entered_on, sizeof(p->postdoc_entered_on), STR_DATE) ||
     get_str(lc, pd, "talent.postdoc", "left_on", p->postdoc_left_on, sizeof(p->postdoc_left_on), STR_OPTIONAL_DATE))
    return -1;
  if(get_bool(lc, pd, "talent.postdoc", "in_station", 1, 0, &p->postdoc_in_station))
    return -1;
  if(p->postdoc_in_station != !p->postdoc_left_on[0])
    return fail_at(lc, "talent.postdoc", "left_on", "is set exactly when in_station is false");
  p->postdoc_known = 1;
  return 0;
}

static int parse_person(struct load_ctx *lc, json_t *o, struct mock_curated *c)
{
  static const char *const keys[] = { "scenario", "note", "id", "name", "listed_name",
                                      "exists", "mps", "degrees", "overseas", "si",
                                      "credit", "qualifications", "talent", "fund", "tax",
                                      NULL };
  struct mock_person *p = &c->person;
  char norm[GW_IDNUM_LEN + 1];

  memset(c, 0, sizeof(*c));
  if(check_keys(lc, o, "", keys) ||
     get_str(lc, o, "", "scenario", p->scenario, sizeof(p->scenario), STR_REQUIRED) ||
     get_str(lc, o, "", "id", p->id, sizeof(p->id), STR_REQUIRED) ||
     get_str(lc, o, "", "name", p->name, sizeof(p->name), STR_REQUIRED))
    return -1;
  if(gw_idnum_normalize(p->id, norm, 0) != GW_IDNUM_OK || strcmp(norm, p->id))
    return fail_at(lc, "", "id", "is not a valid, normalized GB 11643 number");
  if(get_bool(lc, o, "", "exists", 0, 1, &c->exists))
    return -1;
  if(parse_mps(lc, json_object_get(o, "mps"), p) ||
         parse_degrees(lc, o, p) ||
         parse_overseas(lc, o, p) ||
         parse_si(lc, json_object_get(o, "si"), p) ||
         parse_credit(lc, json_object_get(o, "credit"), p) ||
         parse_quals(lc, o, p) ||
         parse_talent(lc, json_object_get(o, "talent"), p))
    return -1;
  if(!json_object_get(o, "fund"))
    derive_fund(p);
  else if(parse_fund(lc, json_object_get(o, "fund"), p))
    return -1;
  if(!json_object_get(o, "tax"))
    derive_tax(p);
  else if(parse_tax(lc, json_object_get(o, "tax"), p))
    return -1;
  return 0;
}

static int by_id(const void *a, const void *b)
{
  return strcmp(((const struct mock_curated *)a)->person.id,
                ((const struct mock_curated *)b)->person.id);
}

int mock_population_load(const char *path, struct mock_population **out,
                         char *err, size_t errlen)
{
  struct mock_population *pop = NULL;
  struct load_ctx lc;
  size_t i;
  json_error_t jerr;
  json_t *root = NULL, *people, *o;
  int rc = -1;

  root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
  if(!root) {
    snprintf(err, errlen, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
    goto out;
  }
  load_ctx_init(&lc, path, err, errlen);
  people = gw_jread_array(&lc.r, root, "", "people", 1, SIZE_MAX);
  if(!people)
    goto out;
  pop = calloc(1, sizeof(*pop));
  if(!pop || !(pop->people = calloc(json_array_size(people), sizeof(*pop->people)))) {
    snprintf(err, errlen, "%s: out of memory", path);
    goto out;
  }
  json_array_foreach(people, i, o) {
    const char *scenario = json_string_value(json_object_get(o, "scenario"));
    char label[512];
    snprintf(label, sizeof(label), "%s: people[%zu] (%s)", path, i,
             scenario && *scenario ? scenario : "?");
    load_ctx_init(&lc, label, err, errlen);
    if(parse_person(&lc, o, &pop->people[i]))
      goto out;
    pop->n++;
  }
  qsort(pop->people, pop->n, sizeof(*pop->people), by_id);
  for(i = 1; i < pop->n; i++)
    if(!strcmp(pop->people[i].person.id, pop->people[i - 1].person.id)) {
      snprintf(err, errlen, "%s: id %s is listed twice", path, pop->people[i].person.id);
      goto out;
    }
  *out = pop;
  pop = NULL;
  rc = 0;
out:
  mock_population_free(pop);
  json_decref(root);
  return rc;
}

void mock_population_free(struct mock_population *pop)
{
  if(!pop)
    return;
  free(pop->people);
  free(pop);
}

size_t mock_population_count(const struct mock_population *pop)
{
  return pop->n;
}

/* ---- synthetic people ----------------------------------------------------- */

/* splitmix64: tiny, fast and plenty for spreading attributes. */
struct rng {
  uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
  uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static unsigned rng_below(struct rng *r, unsigned n)
{
  return (unsigned)(rng_next(r) % n);
}

/* A draw in [0, 1000): percentages with one decimal. */
static unsigned rng_permille(struct rng *r)
{
  return rng_below(r, 1000);
}

#define PICK(r, table) (&(table)[rng_below((r), (unsigned)N_OF(table))])

struct region {
  const char *code;            /* 6-digit region code */
  const char *province, *city, *district;
};

/* One seat per province-level code of the idnum module, then Shenzhen. */
static const struct region provinces[] = {
  { "110108", "北京市", "北京市", "海淀区" },     { "120104", "天津市", "天津市", "南开区" },
  { "130102", "河北省", "石家庄市", "长安区" },   { "140105", "山西省", "太原市", "小店区" },
  { "150102", "内蒙古自治区", "呼和浩特市", "新城区" },
  { "210102", "辽宁省", "沈阳市", "和平区" },     { "220104", "吉林省", "长春市", "朝阳区" },
  { "230103", "黑龙江省", "哈尔滨市", "南岗区" }, { "310115", "上海市", "上海市", "浦东新区" },
  { "320106", "江苏省", "南京市", "鼓楼区" },     { "330106", "浙江省", "杭州市", "西湖区" },
  { "340104", "安徽省", "合肥市", "蜀山区" },     { "350102", "福建省", "福州市", "鼓楼区" },
  { "360102", "江西省", "南昌市", "东湖区" },     { "370102", "山东省", "济南市", "历下区" },
  { "410105", "河南省", "郑州市", "金水区" },     { "420111", "湖北省", "武汉市", "洪山区" },
  { "430104", "湖南省", "长沙市", "岳麓区" },     { "440106", "广东省", "广州市", "天河区" },
  { "450103", "广西壮族自治区", "南宁市", "青秀区" },
  { "460108", "海南省", "海口市", "美兰区" },     { "500103", "重庆市", "重庆市", "渝中区" },
  { "510107", "四川省", "成都市", "武侯区" },     { "520102", "贵州省", "贵阳市", "南明区" },
  { "530102", "云南省", "昆明市", "五华区" },     { "540102", "西藏自治区", "拉萨市", "城关区" },
  { "610113", "陕西省", "西安市", "雁塔区" },     { "620102", "甘肃省", "兰州市", "城关区" },
  { "630102", "青海省", "西宁市", "城东区" },     { "640104", "宁夏回族自治区", "银川市", "兴庆区" },
  { "650102", "新疆维吾尔自治区", "乌鲁木齐市", "天山区" },
  { "710100", "台湾省", "台北市", "中正区" },     { "810000", "香港特别行政区", "香港", "中西区" },
  { "820000", "澳门特别行政区", "澳门", "花地玛堂区" },
  { "830000", "台湾省", "台北市", "中正区" },
};

static const struct region shenzhen[] = {
  { "440303", "广东省", "深圳市", "罗湖区" }, { "440304", "广东省", "深圳市", "福田区" },
  { "440305", "广东省", "深圳市", "南山区" }, { "440306", "广东省", "深圳市", "宝安区" },
  { "440307", "广东省", "深圳市", "龙岗区" }, { "440308", "广东省", "深圳市", "盐田区" },
  { "440309", "广东省", "深圳市", "龙华区" }, { "440310", "广东省", "深圳市", "坪山区" },
  { "440311", "广东省", "深圳市", "光明区" },
};

static const char *const surnames[] = {
  "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱",
  "胡", "郭", "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯",
  "邓", "曹", "彭", "曾", "肖", "田", "董", "潘", "袁", "蔡", "蒋", "余", "欧阳", "司马",
};
static const char *const given_m[] = {
  "伟", "强", "磊", "洋", "勇", "军", "杰", "涛", "明", "超", "刚", "平", "辉", "鹏",
  "华", "飞", "鑫", "波", "斌", "宇", "浩", "凯", "健", "俊", "帆", "帅", "旭", "宁",
  "晨", "博", "文", "志", "海", "峰", "建", "国", "子", "天", "翔", "昊",
};
static const char *const given_f[] = {
  "芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "秀", "玲", "婷", "雪", "慧", "莹",
  "颖", "琳", "晶", "欣", "怡", "佳", "梅", "倩", "璐", "瑶", "萍", "红", "洁", "蕾",
  "雯", "悦", "思", "雨", "嘉", "诗", "晓", "月", "小", "梦", "若", "清",
};

struct school {
  const char *code, *name;
};
static const struct school schools[] = {
  { "10003", "清华大学" },         { "10001", "北京大学" },     { "10335", "浙江大学" },
  { "10246", "复旦大学" },         { "10248", "上海交通大学" }, { "10558", "中山大学" },
  { "10561", "华南理工大学" },     { "10590", "深圳大学" },     { "14325", "南方科技大学" },
  { "10486", "武汉大学" },         { "10610", "四川大学" },     { "10698", "西安交通大学" },
  { "10213", "哈尔滨工业大学" },   { "10284", "南京大学" },     { "10358", "中国科学技术大学" },
  { "10487", "华中科技大学" },     { "10533", "中南大学" },     { "10422", "山东大学" },
};
static const char *const majors[] = {
  "计算机科学与技术", "软件工程", "电子信息工程", "机械工程", "金融学", "法学",
  "临床医学", "材料科学与工程", "数学与应用数学", "土木工程", "生物医学工程",
  "工商管理", "人工智能", "集成电路设计与集成系统", "化学", "物理学",
};

struct abroad {
  const char *country, *code, *institution;
};
static const struct abroad abroads[] = {
  { "英国", "GB", "University College London" },  { "英国", "GB", "University of Manchester" },
  { "美国", "US", "Columbia University" },         { "美国", "US", "University of Southern California" },
  { "澳大利亚", "AU", "University of Sydney" },    { "加拿大", "CA", "University of Toronto" },
  { "新加坡", "SG", "National University of Singapore" },
  { "日本", "JP", "The University of Tokyo" },     { "德国", "DE", "Technical University of Munich" },
  { "中国香港", "HK", "The University of Hong Kong" },
};

static const char *const stations[] = {
  "清华大学计算机科学与技术博士后科研流动站", "北京大学数学博士后科研流动站",
  "南方科技大学物理学博士后科研流动站", "深圳大学信息与通信工程博士后科研流动站",
  "中山大学生物学博士后科研流动站", "深圳市鹏程实验室博士后科研工作站",
};

struct title {
  const char *kind, *name, *level;
};
static const struct title titles[] = {
  { "professional_title", "助理工程师", "junior" },
  { "professional_title", "工程师", "intermediate" },
  { "professional_title", "高级工程师", "senior" },
  { "professional_title", "会计师", "intermediate" },
  { "professional_title", "经济师", "intermediate" },
  { "professional_title", "主治医师", "intermediate" },
  { "professional_title", "副主任医师", "senior" },
  { "vocational", "电工", "senior" },
  { "vocational", "数控车工", "technician" },
  { "vocational", "网络与信息安全管理员", "senior" },
};

static const char *const firm_area[] = { "前海", "南山", "福田", "龙华", "宝安", "光明", "坪山", "龙岗" };
static const char *const firm_word[] = { "星河", "云帆", "海岸", "启明", "瑞丰", "恒信", "鹏程", "远航" };
static const char *const firm_trade[] = { "科技", "信息技术", "生物医药", "智能制造", "新能源", "电子" };

/* GB 32100 unified social credit code: 18 characters, the last a check
 * character over a 31-symbol alphabet; characters 9-17 are a GB 11714
 * organization code with its own check character. */
static void make_uscc(struct rng *r, char out[19])
{
  static const char alphabet[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
  static const int w_org[8] = { 3, 7, 9, 10, 5, 8, 4, 2 };
  int sum = 0, c, w = 1;

  memcpy(out, "91440300", 8);
  for(int i = 0; i < 8; i++) {
    out[8 + i] = (char)('0' + rng_below(r, 10));
    sum += (out[8 + i] - '0') * w_org[i];
  }
  c = 11 - sum % 11;
  out[16] = c == 10 ? 'X' : c == 11 ? '0' : (char)('0' + c);
  sum = 0;
  for(int i = 0; i < 17; i++) {
    const char *pos = strchr(alphabet, out[i]);
    sum += (int)(pos - alphabet) * w;
    w = w * 3 % 31;
  }
  c = 31 - sum % 31;
  out[17] = alphabet[c == 31 ? 0 : c];
  out[18] = '\0';
}

static void date_str(char out[11], int y, int m, int d)
{
  snprintf(out, 11, "%04u-%02u-%02u", (unsigned)y % 10000u, (unsigned)m % 100u,
           (unsigned)d % 100u);
}

static void synth_hukou(struct rng *r, struct mock_person *p)
{
  const struct region *reg = NULL;
  unsigned roll = rng_permille(r);

  if(!strncmp(p->id, "4403", 4) && roll < 600) {
    for(size_t i = 0; i < N_OF(shenzhen); i++)
      if(!strncmp(p->id, shenzhen[i].code, 6))
        reg = &shenzhen[i];
    if(!reg)
      reg = &shenzhen[1];
  } else if(roll < 40) {
    reg = PICK(r, shenzhen);          /* moved to Shenzhen already */
  } else if(roll < 140) {
    reg = PICK(r, provinces);         /* moved elsewhere */
  } else {
    for(size_t i = 0; i < N_OF(provinces); i++)
      if(!strncmp(p->id, provinces[i].code, 2))
        reg = &provinces[i];
    if(!reg)
      reg = &provinces[0];
  }
  snprintf(p->hukou_province, sizeof(p->hukou_province), "%s", reg->province);
  snprintf(p->hukou_city, sizeof(p->hukou_city), "%s", reg->city);
  snprintf(p->hukou_district, sizeof(p->hukou_district), "%s", reg->district);
  p->hukou_is_shenzhen = !strcmp(reg->city, "深圳市");
}

static void add_degree(struct rng *r, struct mock_person *p, const char *level,
                       int year, char level_code)
{
  struct mock_degree *d = &p->degrees[p->n_degrees++];
  const struct school *s = PICK(r, schools);

  snprintf(d->level, sizeof(d->level), "%s", level);
  snprintf(d->institution, sizeof(d->institution), "%s", s->name);
  snprintf(d->major, sizeof(d->major), "%s", *PICK(r, majors));
  snprintf(d->study_mode, sizeof(d->study_mode), "%s",
           rng_permille(r) < 50 ? "part-time" : "full-time");
  date_str(d->graduated_on, year, level_code == '5' ? 6 : 7, level_code == '5' ? 30 : 1);
  snprintf(d->certificate_no, sizeof(d->certificate_no), "%s%04d%c%08u", s->code,
           year % 10000, level_code, rng_below(r, 100000000));
}

/* Education first: SI, qualifications and talent depend on it. */
static void synth_education(struct rng *r, struct mock_person *p, int by)
{
  int age = SYNTH_REF_YEAR - by, year;

  if(age < 23 || rng_permille(r) >= 720)
    return;
  year = by + 22 + (int)rng_below(r, 2);
  add_degree(r, p, "bachelor", year, '5');
  if(age >= 26 && rng_permille(r) < 100) {
    const struct abroad *a = PICK(r, abroads);
    struct mock_overseas_cert *c = &p->overseas[p->n_overseas++];
    year += 1 + (int)rng_below(r, 2);
    snprintf(c->country, sizeof(c->country), "%s", a->country);
    snprintf(c->institution, sizeof(c->institution), "%s", a->institution);
    snprintf(c->degree_level, sizeof(c->degree_level), "master");
    date_str(c->awarded_on, year, 7, 15);
    snprintf(c->certification_no, sizeof(c->certification_no), "CSCSE-%s-%04d-%06u",
             a->code, (year + 1) % 10000, rng_below(r, 1000000));
    date_str(c->certified_on, year, 10, 20);
    return;
  }
  if(age < 26 || rng_permille(r) >= 380)
    return;
  year += 3;
  add_degree(r, p, "master", year, '2');
  if(age < 30 || rng_permille(r) >= 220)
    return;
  year += 4;
  if(year > SYNTH_REF_YEAR)
    return;
  add_degree(r, p, "doctor", year, '1');
  if(rng_permille(r) < 150) {
    int entered = year;
    p->postdoc_known = 1;
    snprintf(p->postdoc_station, sizeof(p->postdoc_station), "%s", *PICK(r, stations));
    date_str(p->postdoc_entered_on, entered, 9, 1);
    p->postdoc_in_station = entered + 2 >= SYNTH_REF_YEAR;
    if(!p->postdoc_in_station)
      date_str(p->postdoc_left_on, entered + 2, 8, 31);
  }
}

static void synth_work(struct rng *r, struct mock_person *p, int by)
{
  int age = SYNTH_REF_YEAR - by, max_months = (age - 22) * 12;
  unsigned roll;

  if(age >= 22 && rng_permille(r) < 550) {
    p->in_si = 1;
    p->si_shenzhen_months = 1 + (int)rng_below(r, (unsigned)(max_months < 120 ? max_months : 120));
    snprintf(p->employer_name, sizeof(p->employer_name), "深圳市%s%s%s有限公司",
             *PICK(r, firm_area), *PICK(r, firm_word), *PICK(r, firm_trade));
    make_uscc(r, p->employer_uscc);
  }
  if(age >= 26 && rng_permille(r) < 350) {
    const struct title *t = PICK(r, titles);
    struct mock_qual_cert *q = &p->quals[p->n_quals++];
    int year = by + 26 + (int)rng_below(r, (unsigned)(age - 25));
    snprintf(q->kind, sizeof(q->kind), "%s", t->kind);
    snprintf(q->name, sizeof(q->name), "%s", t->name);
    snprintf(q->level, sizeof(q->level), "%s", t->level);
    date_str(q->issued_on, year > SYNTH_REF_YEAR ? SYNTH_REF_YEAR : year, 12, 1);
    snprintf(q->cert_no, sizeof(q->cert_no), "%s-%04d-%08u",
             !strcmp(t->kind, "vocational") ? "ZY" : "ZC", year % 10000,
             rng_below(r, 100000000));
  }

  snprintf(p->credit_status, sizeof(p->credit_status), "good");
  roll = rng_permille(r);
  if(roll < 20) {
    struct mock_credit_record *c = &p->credit[p->n_credit++];
    snprintf(p->credit_status, sizeof(p->credit_status), "dishonest");
    snprintf(c->kind, sizeof(c->kind), "dishonest_judgment_debtor");
    snprintf(c->authority, sizeof(c->authority), "深圳市南山区人民法院");
    date_str(c->decided_on, SYNTH_REF_YEAR - 1 - (int)rng_below(r, 4), 3, 18);
    snprintf(c->detail, sizeof(c->detail), "未履行生效法律文书确定的给付义务");
  } else if(roll < 70) {
    struct mock_credit_record *c = &p->credit[p->n_credit++];
    snprintf(p->credit_status, sizeof(p->credit_status), "warning");
    snprintf(c->kind, sizeof(c->kind), "tax_arrears");
    snprintf(c->authority, sizeof(c->authority), "国家税务总局深圳市税务局");
    date_str(c->decided_on, SYNTH_REF_YEAR - 1 - (int)rng_below(r, 3), 5, 9);
    snprintf(c->detail, sizeof(c->detail), "逾期未申报个人所得税");
  }

  snprintf(p->talent_level, sizeof(p->talent_level), "none");
  roll = rng_permille(r);
  if(p->n_degrees == 3)
    snprintf(p->talent_level, sizeof(p->talent_level), "%s",
             roll < 10 ? "A" : roll < 60 ? "B" : roll < 160 ? "C" : roll < 260 ? "reserve" : "none");
  else if(p->n_degrees == 2 || p->n_overseas)
    snprintf(p->talent_level, sizeof(p->talent_level), "%s",
             roll < 30 ? "C" : roll < 80 ? "reserve" : "none");
}

static void synth_person(const char id[GW_IDNUM_LEN + 1], struct mock_person *p)
{
  unsigned char md[32];
  unsigned int mdlen = 0;
  struct rng r = { 0 };
  int by = (id[6] - '0') * 1000 + (id[7] - '0') * 100 + (id[8] - '0') * 10 + (id[9] - '0');
  int male = (id[16] - '0') % 2;

  memset(p, 0, sizeof(*p));
  memcpy(p->id, id, GW_IDNUM_LEN + 1);
  /* EVP_Digest cannot fail for SHA-256 on a small input short of OOM; a zero
   * seed then still gives a stable person. */
  if(EVP_Digest(id, GW_IDNUM_LEN, md, &mdlen, EVP_sha256(), NULL) == 1)
    for(int i = 0; i < 8; i++)
      r.s = r.s << 8 | md[i];

  snprintf(p->name, sizeof(p->name), "%s%s%s", *PICK(&r, surnames),
           male ? *PICK(&r, given_m) : *PICK(&r, given_f),
           rng_permille(&r) < 700 ? (male ? *PICK(&r, given_m) : *PICK(&r, given_f)) : "");
  p->in_mps = 1;
  snprintf(p->birth_date, sizeof(p->birth_date), "%.4s-%.2s-%.2s", id + 6, id + 10, id + 12);
  synth_hukou(&r, p);
  synth_education(&r, p, by);
  synth_work(&r, p, by);
  derive_fund(p);
  derive_tax(p);
}

/* ---- overrides: PUT /people/{id}/override of the control endpoint ---------- */

/* Spot checks need a person whose agency data changed after a decision.  An
 * override replaces whole sections of one person (the curated file's
 * format, checked by the same parsers); lookups apply it after the curated
 * or synthetic person is found.  The table is the process's (mock-agencies
 * serves one population), guarded by one mutex that lookups take only while
 * some override exists. */
enum ovr_section {
  OVR_NAME = 1 << 0, OVR_EXISTS = 1 << 1, OVR_MPS = 1 << 2, OVR_DEGREES = 1 << 3,
  OVR_OVERSEAS = 1 << 4, OVR_SI = 1 << 5, OVR_CREDIT = 1 << 6, OVR_QUALS = 1 << 7,
  OVR_TALENT = 1 << 8, OVR_FUND = 1 << 9, OVR_TAX = 1 << 10
};

struct override {
  unsigned sections;           /* enum ovr_section bits */
  int exists;
  struct mock_person p;        /* id and the overridden sections */
  json_t *doc;                 /* as given, for GET */
};

static pthread_mutex_t ovr_lock = PTHREAD_MUTEX_INITIALIZER;
static struct override *ovr_table;   /* MOCK_OVERRIDES_MAX slots */
static size_t ovr_n;
static atomic_int ovr_any;

static struct override *ovr_find(const char *norm)
{
  for(size_t i = 0; i < ovr_n; i++)
    if(!strcmp(ovr_table[i].p.id, norm))
      return &ovr_table[i];
  return NULL;
}

static void ovr_apply(const struct override *o, struct mock_person *p, int *exists)
{
  const struct mock_person *v = &o->p;
  if(o->sections & OVR_EXISTS)
    *exists = o->exists;
  if(o->sections & OVR_NAME)
    memcpy(p->name, v->name, sizeof(p->name));
  if(o->sections & OVR_MPS) {
    p->in_mps = v->in_mps;
    memcpy(p->birth_date, v->birth_date, sizeof(p->birth_date));
    memcpy(p->hukou_province, v->hukou_province, sizeof(p->hukou_province));
    memcpy(p->hukou_city, v->hukou_city, sizeof(p->hukou_city));
    memcpy(p->hukou_district, v->hukou_district, sizeof(p->hukou_district));
    p->hukou_is_shenzhen = v->hukou_is_shenzhen;
  }
  if(o->sections & OVR_DEGREES) {
    p->n_degrees = v->n_degrees;
    memcpy(p->degrees, v->degrees, sizeof(p->degrees));
  }
  if(o->sections & OVR_OVERSEAS) {
    p->n_overseas = v->n_overseas;
    memcpy(p->overseas, v->overseas, sizeof(p->overseas));
  }
  if(o->sections & OVR_SI) {
    p->in_si = v->in_si;
    p->si_shenzhen_months = v->si_shenzhen_months;
    memcpy(p->si_name, v->si_name, sizeof(p->si_name));
    memcpy(p->employer_name, v->employer_name, sizeof(p->employer_name));
    memcpy(p->employer_uscc, v->employer_uscc, sizeof(p->employer_uscc));
  }
  if(o->sections & OVR_CREDIT) {
    memcpy(p->credit_status, v->credit_status, sizeof(p->credit_status));
    p->n_credit = v->n_credit;
    memcpy(p->credit, v->credit, sizeof(p->credit));
  }
  if(o->sections & OVR_QUALS) {
    p->n_quals = v->n_quals;
    memcpy(p->quals, v->quals, sizeof(p->quals));
  }
  if(o->sections & OVR_FUND) {
    p->in_fund = v->in_fund;
    p->fund_shenzhen_months = v->fund_shenzhen_months;
    memcpy(p->fund_name, v->fund_name, sizeof(p->fund_name));
    memcpy(p->fund_employer_name, v->fund_employer_name, sizeof(p->fund_employer_name));
    memcpy(p->fund_employer_uscc, v->fund_employer_uscc, sizeof(p->fund_employer_uscc));
  }
  if(o->sections & OVR_TAX) {
    p->in_tax = v->in_tax;
    p->tax_shenzhen_months = v->tax_shenzhen_months;
    memcpy(p->tax_name, v->tax_name, sizeof(p->tax_name));
    memcpy(p->tax_employer_name, v->tax_employer_name, sizeof(p->tax_employer_name));
    memcpy(p->tax_employer_uscc, v->tax_employer_uscc, sizeof(p->tax_employer_uscc));
  }
  if(o->sections & OVR_TALENT) {
    memcpy(p->talent_level, v->talent_level, sizeof(p->talent_level));
    p->postdoc_known = v->postdoc_known;
    p->postdoc_in_station = v->postdoc_in_station;
    memcpy(p->postdoc_station, v->postdoc_station, sizeof(p->postdoc_station));
    memcpy(p->postdoc_entered_on, v->postdoc_entered_on, sizeof(p->postdoc_entered_on));
    memcpy(p->postdoc_left_on, v->postdoc_left_on, sizeof(p->postdoc_left_on));
  }
}

int mock_population_override_set(const char *id, const char *body, size_t len,
                                 char *err, size_t errlen)
{
  static const char *const keys[] = { "name", "exists", "mps", "degrees", "overseas", "si",
                                      "credit", "qualifications", "talent", "fund", "tax",
                                      NULL };
  static const struct { const char *key; unsigned bit; } bits[] = {
    { "name", OVR_NAME }, { "exists", OVR_EXISTS }, { "mps", OVR_MPS },
    { "degrees", OVR_DEGREES }, { "overseas", OVR_OVERSEAS }, { "si", OVR_SI },
    { "credit", OVR_CREDIT }, { "qualifications", OVR_QUALS }, { "talent", OVR_TALENT },
    { "fund", OVR_FUND }, { "tax", OVR_TAX },
  };
  char norm[GW_IDNUM_LEN + 1];
  struct override o, *slot;
  struct load_ctx lc;
  json_error_t jerr;
  json_t *doc;
  int rc = -1;

  memset(&o, 0, sizeof(o));
  if(!id || gw_idnum_normalize(id, norm, 0) != GW_IDNUM_OK) {
    snprintf(err, errlen, "not a valid GB 11643 identity number");
    return -1;
  }
  doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
  if(!doc) {
    snprintf(err, errlen, "body is not JSON: %s", jerr.text);
    return -1;
  }
  load_ctx_init(&lc, "override", err, errlen);
  memcpy(o.p.id, norm, sizeof(norm));
  if(check_keys(&lc, doc, "", keys))
    goto out;
  for(size_t i = 0; i < N_OF(bits); i++)
    if(json_object_get(doc, bits[i].key))
      o.sections |= bits[i].bit;
  if(!o.sections) {
    snprintf(err, errlen, "an override names at least one of name, exists, mps, degrees, "
             "overseas, si, credit, qualifications, talent, fund, tax");
    goto out;
  }
  if(get_bool(&lc, doc, "", "exists", 0, 1, &o.exists))
    goto out;
  if(((o.sections & OVR_NAME) &&
      get_str(&lc, doc, "", "name", o.p.name, sizeof(o.p.name), STR_REQUIRED)) ||
     parse_mps(&lc, json_object_get(doc, "mps"), &o.p) ||
     parse_degrees(&lc, doc, &o.p) ||
     parse_overseas(&lc, doc, &o.p) ||
     parse_si(&lc, json_object_get(doc, "si"), &o.p) ||
     parse_credit(&lc, json_object_get(doc, "credit"), &o.p) ||
     parse_quals(&lc, doc, &o.p) ||
     parse_talent(&lc, json_object_get(doc, "talent"), &o.p) ||
     parse_fund(&lc, json_object_get(doc, "fund"), &o.p) ||
     parse_tax(&lc, json_object_get(doc, "tax"), &o.p))
    goto out;
  pthread_mutex_lock(&ovr_lock);
  if(!ovr_table)
    ovr_table = calloc(MOCK_OVERRIDES_MAX, sizeof(*ovr_table));
  slot = ovr_table ? ovr_find(norm) : NULL;
  if(slot)
    json_decref(slot->doc);
  else if(ovr_table && ovr_n < MOCK_OVERRIDES_MAX)
    slot = &ovr_table[ovr_n++];
  if(slot) {
    o.doc = doc;
    doc = NULL;
    *slot = o;
    atomic_store(&ovr_any, 1);
    rc = 0;
  }
  else {
    snprintf(err, errlen, "at most %d people can be overridden at once", MOCK_OVERRIDES_MAX);
    rc = -2;
  }
  pthread_mutex_unlock(&ovr_lock);
out:
  json_decref(doc);
  return rc;
}

int mock_population_override_clear(const char *id)
{
  char norm[GW_IDNUM_LEN + 1];
  struct override *o;
  int rc = 0;

  if(!id || gw_idnum_normalize(id, norm, 0) != GW_IDNUM_OK)
    return -1;
  pthread_mutex_lock(&ovr_lock);
  if((o = ovr_table ? ovr_find(norm) : NULL)) {
    json_decref(o->doc);
    *o = ovr_table[--ovr_n];
    memset(&ovr_table[ovr_n], 0, sizeof(*ovr_table));
    atomic_store(&ovr_any, ovr_n > 0);
    rc = 1;
  }
  pthread_mutex_unlock(&ovr_lock);
  return rc;
}

void mock_population_override_reset(void)
{
  pthread_mutex_lock(&ovr_lock);
  for(size_t i = 0; i < ovr_n; i++) {
    json_decref(ovr_table[i].doc);
    ovr_table[i].doc = NULL;
  }
  ovr_n = 0;
  atomic_store(&ovr_any, 0);
  pthread_mutex_unlock(&ovr_lock);
}

json_t *mock_population_override_get(const char *id)
{
  char norm[GW_IDNUM_LEN + 1];
  struct override *o;
  json_t *copy = NULL;

  if(!id || gw_idnum_normalize(id, norm, 0) != GW_IDNUM_OK)
    return NULL;
  pthread_mutex_lock(&ovr_lock);
  if((o = ovr_table ? ovr_find(norm) : NULL))
    copy = json_deep_copy(o->doc);
  pthread_mutex_unlock(&ovr_lock);
  return copy;
}

enum mock_lookup mock_population_lookup(const struct mock_population *pop,
                                        const char *id, struct mock_person *out)
{
  char norm[GW_IDNUM_LEN + 1];
  struct mock_curated key;
  const struct mock_curated *hit;
  int exists = 1;

  if(!id || gw_idnum_normalize(id, norm, 0) != GW_IDNUM_OK)
    return MOCK_LOOKUP_INVALID;
  memcpy(key.person.id, norm, sizeof(norm));
  hit = pop ? bsearch(&key, pop->people, pop->n, sizeof(*pop->people), by_id) : NULL;
  if(hit) {
    exists = hit->exists;
    *out = hit->person;
  }
  else
    synth_person(norm, out);
  if(atomic_load_explicit(&ovr_any, memory_order_acquire)) {
    const struct override *o;
    pthread_mutex_lock(&ovr_lock);
    if((o = ovr_find(norm)))
      ovr_apply(o, out, &exists);
    pthread_mutex_unlock(&ovr_lock);
  }
  return exists ? MOCK_LOOKUP_FOUND : MOCK_LOOKUP_NO_RECORD;
}

/* ---- sampling ---------------------------------------------------------------- */

/* Subjects are enumerated through a bijection of [0, SPACE): index ->
 * (region, birth date, sequence), visited with a stride coprime to SPACE,
 * so n <= SPACE draws are always distinct. */
#define SAMPLE_YEARS 40                       /* born 1964-2003 */
#define SAMPLE_DAYS (SAMPLE_YEARS * 12 * 28)
#define SAMPLE_SPACE ((uint64_t)N_OF(provinces) * SAMPLE_DAYS * 1000u)

static uint64_t gcd64(uint64_t a, uint64_t b)
{
  while(b) {
    uint64_t t = a % b;
    a = b;
    b = t;
  }
  return a;
}

int mock_population_sample(const struct mock_population *pop, unsigned long n,
                           uint64_t seed, FILE *out)
{
  struct rng r = { seed };
  uint64_t k = rng_next(&r) % SAMPLE_SPACE;
  uint64_t stride = rng_next(&r) % SAMPLE_SPACE | 1;
  unsigned long printed = 0;

  while(gcd64(stride, SAMPLE_SPACE) != 1)
    stride += 2;
  for(uint64_t step = 0; printed < n && step < SAMPLE_SPACE; step++) {
    uint64_t v = k;
    unsigned seq = (unsigned)(v % 1000), day;
    const struct region *reg;
    char id[32];
    struct mock_person p;

    k = (k + stride) % SAMPLE_SPACE;
    v /= 1000;
    day = (unsigned)(v % SAMPLE_DAYS);
    reg = &provinces[v / SAMPLE_DAYS];
    snprintf(id, sizeof(id), "%.6s%04u%02u%02u%03u", reg->code, 1964 + day / (12 * 28),
             day / 28 % 12 + 1, day % 28 + 1, seq);
    id[17] = gw_idnum_check_char(id);
    id[18] = '\0';
    if(mock_population_lookup(pop, id, &p) != MOCK_LOOKUP_FOUND || p.scenario[0])
      continue;
    if(fprintf(out, "{\"id\":\"%s\",\"name\":\"%s\"}\n", p.id, p.name) < 0)
      return -1;
    printed++;
  }
  return fflush(out) ? -1 : 0;
}
