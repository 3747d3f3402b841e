/*
 * predicate_eval.c - the fixed operators of gw/predicate.h.
 *
 * The one rule: unknown is never false.  A predicate is false only when
 * every fact it reads was answered (a value, or a definite "no record")
 * and the answer fails the rule; a fact that is unavailable, a value of a
 * shape the rule cannot read, or an item it cannot rank makes it unknown
 * (unless another item already makes it true).  Pure functions over
 * borrowed jansson values; no I/O, no clock except the as_of date the
 * caller passes, so an auditor's recomputation gives the same answer.
 */
#include "gw/predicate.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mapping.h"

const char *gw_pred_result_name(enum gw_pred_result r)
{
  switch(r) {
  case GW_PRED_TRUE: return "true";
  case GW_PRED_FALSE: return "false";
  default: return "unknown";
  }
}

void gw_pred_date_cst(int64_t t, char out[11])
{
  time_t s = (time_t)(t + 8 * 3600);
  struct tm tm;
  gmtime_r(&s, &tm);
  if(strftime(out, 11, "%Y-%m-%d", &tm) != 10)
    memcpy(out, "0000-00-00", 11);
}

static int parse_date(const char *s, int *y, int *m, int *d)
{
  static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
  if(!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
    return -1;
  for(int i = 0; i < 10; i++)
    if(i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
      return -1;
  *y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
  *m = (s[5] - '0') * 10 + (s[6] - '0');
  *d = (s[8] - '0') * 10 + (s[9] - '0');
  if(*m < 1 || *m > 12 || *d < 1 || *d > mdays[*m - 1])
    return -1;
  if(*m == 2 && *d == 29 && !((*y % 4 == 0 && *y % 100 != 0) || *y % 400 == 0))
    return -1;
  return 0;
}

/* Whole years from birth to as_of; someone born on 29 February turns a
 * year older on 1 March in common years.  -1 when either is not a date or
 * birth is after as_of. */
static int age_years(const char *birth, const char *as_of)
{
  int by, bm, bd, ty, tm, td, age;
  if(parse_date(birth, &by, &bm, &bd) || parse_date(as_of, &ty, &tm, &td))
    return -1;
  age = ty - by;
  if(tm < bm || (tm == bm && td < bd))
    age--;
  return age < 0 ? -1 : age;
}

/* One comparison: 1 holds, 0 does not, -1 cannot be judged. */
static int compare(const struct gw_pred_def *def, const json_t *v, const json_t *arg,
                   const char *as_of)
{
  long long x, a;

  if(json_is_null(v))
    return def->op == GW_PRED_NONE_OF ? 1 : 0;
  switch(def->op) {
  case GW_PRED_EQUALS:
    return json_equal((json_t *)v, (json_t *)(arg ? arg : def->value)) ? 1 : 0;
  case GW_PRED_IN:
  case GW_PRED_NONE_OF: {
    size_t i;
    json_t *x2;
    int in = 0;
    json_array_foreach(def->values, i, x2)
      in |= json_equal(x2, (json_t *)v);
    return def->op == GW_PRED_IN ? in : !in;
  }
  case GW_PRED_AT_LEAST:
  case GW_PRED_UNDER:
    if(def->order) {
      size_t i;
      json_t *o;
      int rv = -1, ra = -1;
      json_array_foreach(def->order, i, o) {
        if(json_equal(o, (json_t *)v))
          rv = (int)i;
        if(json_equal(o, (json_t *)arg))
          ra = (int)i;
      }
      if(rv < 0 || ra < 0)
        return -1;
      return rv >= ra;
    }
    if(!json_is_integer(arg))
      return -1;
    a = json_integer_value(arg);
    if(def->derive_age) {
      int age = age_years(json_string_value(v), as_of);
      if(age < 0)
        return -1;
      x = age;
    }
    else if(json_is_integer(v))
      x = json_integer_value(v);
    else if(json_is_real(v)) {
      double d = json_real_value(v);
      if(def->op == GW_PRED_AT_LEAST)
        return d >= (double)a;
      return d < (double)a;
    }
    else
      return -1;
    return def->op == GW_PRED_AT_LEAST ? x >= a : x < a;
  default:
    return -1;
  }
}

static const struct gw_pred_input *find_input(const struct gw_pred_input *in, size_t n,
                                              const char *fact);

/* all_true: a definite false from one agency decides; then an agency that
 * could not be read makes it unknown; answers of "no record" do not count. */
static enum gw_pred_result all_true(const struct gw_pred_def *def,
                                    const struct gw_pred_input *inputs, size_t n, char *why,
                                    size_t why_len)
{
  const char *unread = NULL, *badly = NULL;
  size_t counted = 0;
  char perr[128];

  for(size_t i = 0; i < def->n_facts; i++) {
    const struct gw_pred_input *f = find_input(inputs, n, def->facts[i]);
    json_t *v;
    if(!f || f->status == GW_PRED_FACT_UNAVAILABLE) {
      if(!unread)
        unread = def->facts[i];
      continue;
    }
    if(f->status == GW_PRED_FACT_NOT_FOUND)
      continue;
    v = (json_t *)f->value;
    if(v && def->select[0] &&
       gw_mapping_pointer_get(f->value, def->select, &v, perr, sizeof(perr)) != GW_MAP_OK)
      v = NULL;
    if(!json_is_boolean(v)) {
      if(!badly)
        badly = def->facts[i];
      continue;
    }
    if(json_is_false(v))
      return GW_PRED_FALSE;
    counted++;
  }
  if(unread) {
    snprintf(why, why_len, "%s is unavailable", unread);
    return GW_PRED_UNKNOWN;
  }
  if(badly) {
    snprintf(why, why_len, "%s%s is not true or false", badly, def->select);
    return GW_PRED_UNKNOWN;
  }
  if(!counted) {
    if(def->not_found == GW_PRED_UNKNOWN)
      snprintf(why, why_len, "no agency has a record");
    return def->not_found;
  }
  return GW_PRED_TRUE;
}

static const struct gw_pred_input *find_input(const struct gw_pred_input *in, size_t n,
                                              const char *fact)
{
  for(size_t i = 0; i < n; i++)
    if(in[i].fact && !strcmp(in[i].fact, fact))
      return &in[i];
  return NULL;
}

enum gw_pred_result gw_pred_eval(const struct gw_pred_def *def, const json_t *arg,
                                 const struct gw_pred_input *inputs, size_t n,
                                 const char *as_of, char *why, size_t why_len)
{
  const struct gw_pred_input *in;
  json_t *sel = NULL;
  char perr[128];
  char dummy[8];

  if(!why) {
    why = dummy;
    why_len = sizeof(dummy);
  }
  why[0] = '\0';
  if(gw_pred_arg_index(def, arg) < 0) {
    snprintf(why, why_len, "the argument is not one of the predicate's args");
    return GW_PRED_UNKNOWN;
  }
  if(def->op == GW_PRED_ALL_TRUE)
    return all_true(def, inputs, n, why, why_len);
  /* every fact it reads must have been answered */
  for(size_t i = 0; i < def->n_facts; i++) {
    const struct gw_pred_input *f = find_input(inputs, n, def->facts[i]);
    if(!f || f->status == GW_PRED_FACT_UNAVAILABLE) {
      snprintf(why, why_len, "%s is unavailable", def->facts[i]);
      return GW_PRED_UNKNOWN;
    }
  }
  in = find_input(inputs, n, def->fact);
  if(in->status == GW_PRED_FACT_NOT_FOUND) {
    if(def->not_found == GW_PRED_UNKNOWN)
      snprintf(why, why_len, "the agency has no record for %s", def->fact);
    return def->not_found;
  }
  if(def->op == GW_PRED_EXISTS)
    return GW_PRED_TRUE;
  if(!in->value) {
    snprintf(why, why_len, "%s has no value", def->fact);
    return GW_PRED_UNKNOWN;
  }
  if(def->select[0]) {
    if(gw_mapping_pointer_get(in->value, def->select, &sel, perr, sizeof(perr)) != GW_MAP_OK) {
      snprintf(why, why_len, "%s has no %s", def->fact, def->select);
      return GW_PRED_UNKNOWN;
    }
  }
  else
    sel = (json_t *)in->value;
  if(!def->items) {
    int c = compare(def, sel, arg, as_of);
    if(c < 0) {
      snprintf(why, why_len, "%s%s cannot be compared by %s", def->fact, def->select, def->id);
      return GW_PRED_UNKNOWN;
    }
    return c ? GW_PRED_TRUE : GW_PRED_FALSE;
  }
  if(json_is_null(sel))
    return def->op == GW_PRED_NONE_OF ? GW_PRED_TRUE : GW_PRED_FALSE;
  if(!json_is_array(sel)) {
    snprintf(why, why_len, "%s%s is not a list", def->fact, def->select);
    return GW_PRED_UNKNOWN;
  }
  {
    size_t i;
    json_t *item, *v;
    int any = 0, unjudged = 0, all_ok = 1;
    json_array_foreach(sel, i, item) {
      int c;
      if(def->items[0]) {
        if(gw_mapping_pointer_get(item, def->items, &v, perr, sizeof(perr)) != GW_MAP_OK) {
          unjudged = 1;
          continue;
        }
      }
      else
        v = item;
      c = compare(def, v, arg, as_of);
      if(c < 0)
        unjudged = 1;
      else if(c)
        any = 1;
      else
        all_ok = 0;
    }
    if(def->op == GW_PRED_NONE_OF) {
      /* every item must be judged and outside the list */
      if(!all_ok)
        return GW_PRED_FALSE;
      if(unjudged) {
        snprintf(why, why_len, "an item of %s cannot be compared by %s", def->fact, def->id);
        return GW_PRED_UNKNOWN;
      }
      return GW_PRED_TRUE;
    }
    if(any)
      return GW_PRED_TRUE;
    if(unjudged) {
      snprintf(why, why_len, "an item of %s cannot be compared by %s", def->fact, def->id);
      return GW_PRED_UNKNOWN;
    }
    return GW_PRED_FALSE;
  }
}
