/*
 * test_predicate.c - predicate definitions: the shipped set loads, bad
 * files are refused with FILE: FIELD: PROBLEM, and each operator answers
 * true, false or unknown (never false for want of data), ages as of a day.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gw/predicate.h"
#include "../lib/catalogue_fixture.h"

static const char *src_dir(void)
{
  const char *s = getenv("GW_SOURCE_DIR");
  return s ? s : ".";
}

static struct gw_predset *shipped(void)
{
  char dir[1024], err[512];
  struct gw_predset *set = NULL;
  snprintf(dir, sizeof(dir), "%s/schemas/predicates", src_dir());
  if(gw_predset_load(dir, &set, err, sizeof(err)))
    fail_msg("%s", err);
  return set;
}

static void shipped_set_loads(void **state)
{
  static const char *const ids[] = {
    "education.at_least", "overseas.degree_at_least", "age.under",
    "social_insurance.shenzhen_months_at_least", "tax.shenzhen_months_at_least",
    "credit.not_dishonest", "hukou.in_shenzhen", "qualification.holds_level_at_least",
    "talent.level_at_least", "postdoc.in_station", "identity.names_agree", NULL };
  struct gw_predset *set = shipped();
  (void)state;
  for(const char *const *id = ids; *id; id++) {
    const struct gw_pred_def *d = gw_predset_find(set, *id);
    assert_non_null(d);
    assert_int_equal(strlen(d->sha256), 64);
  }
  assert_int_equal(strlen(gw_predset_sha256(set)), 64);
  gw_predset_free(set);
}

/* check_text with a definition, expecting an error containing `want`. */
static void refused(const char *text, const char *want)
{
  char err[512];
  if(!gw_pred_check_text("p.json", text, strlen(text), err, sizeof(err)))
    fail_msg("accepted: %s", text);
  if(!strstr(err, want))
    fail_msg("error \"%s\" lacks \"%s\"", err, want);
}

#define HEAD "{\"id\":\"x.y\",\"version\":1,\"description\":\"d\",\"facts\":[\"credit.status\"]," \
             "\"purposes\":[\"talent.graduate\"],"

static void bad_files_are_named(void **state)
{
  (void)state;
  refused("{", "p.json: (document): line");
  refused(HEAD "\"rule\":{\"operator\":\"between\",\"fact\":\"credit.status\"}}", "p.json: rule.operator:");
  refused(HEAD "\"rule\":{\"operator\":\"exists\",\"fact\":\"c.d\"}}", "p.json: rule.fact:");
  refused(HEAD "\"rule\":{\"operator\":\"under\",\"fact\":\"credit.status\"}}", "p.json: args:");
  refused(HEAD "\"rule\":{\"operator\":\"at_least\",\"fact\":\"credit.status\",\"order\":[\"x\"]},"
          "\"args\":[\"y\"]}", "p.json: args[0]: is not in rule.order");
  refused(HEAD "\"rule\":{\"operator\":\"in\",\"fact\":\"credit.status\"}}", "p.json: rule.values:");
  refused(HEAD "\"rule\":{\"operator\":\"exists\",\"fact\":\"credit.status\"},\"args\":[1]}", "p.json: args:");
  refused(HEAD "\"rule\":{\"operator\":\"exists\",\"fact\":\"credit.status\",\"code\":\"x\"}}",
          "p.json: rule.code: unknown field");
  refused(HEAD "\"rule\":{\"operator\":\"under\",\"fact\":\"credit.status\"},\"args\":[1,1]}",
          "p.json: args: [1]: repeats [0]");
  refused(HEAD "\"rule\":{\"operator\":\"exists\",\"fact\":\"credit.status\",\"select\":\"x\"}}",
          "p.json: rule.select:");
  refused("{\"id\":\"x.y\",\"version\":1,\"description\":\"d\",\"facts\":[\"credit.status\"],"
          "\"purposes\":[\"talent.nope\"],\"rule\":{\"operator\":\"exists\",\"fact\":\"credit.status\"}}",
          "p.json: purposes[0]: not a known purpose");
  /* a predicate reads facts of the catalogue only */
  refused("{\"id\":\"x.y\",\"version\":1,\"description\":\"d\",\"facts\":[\"no_such.fact\"],"
          "\"purposes\":[\"talent.graduate\"],\"rule\":{\"operator\":\"exists\",\"fact\":\"no_such.fact\"}}",
          "p.json: facts[0]: \"no_such.fact\" is not a fact of the catalogue");
}

static enum gw_pred_result ev(const struct gw_predset *set, const char *id, const char *arg_json,
                              const char *fact, enum gw_pred_fact_status st,
                              const char *value_json, const char *as_of)
{
  const struct gw_pred_def *d = gw_predset_find(set, id);
  json_t *arg = arg_json ? json_loads(arg_json, JSON_DECODE_ANY, NULL) : NULL;
  json_t *val = value_json ? json_loads(value_json, JSON_DECODE_ANY, NULL) : NULL;
  struct gw_pred_input in = { fact, st, val };
  char why[200];
  enum gw_pred_result r;
  assert_non_null(d);
  r = gw_pred_eval(d, arg, &in, 1, as_of, why, sizeof(why));
  json_decref(arg);
  json_decref(val);
  return r;
}

static void operators(void **state)
{
  struct gw_predset *set = shipped();
  const char *deg = "[{\"level\":\"bachelor\"},{\"level\":\"master\"}]";
  (void)state;
  /* at_least over an ordered enum, any item */
  assert_int_equal(ev(set, "education.at_least", "\"master\"", "education.degrees",
                      GW_PRED_FACT_OK, deg, "2026-12-08"), GW_PRED_TRUE);
  assert_int_equal(ev(set, "education.at_least", "\"doctor\"", "education.degrees",
                      GW_PRED_FACT_OK, deg, "2026-12-08"), GW_PRED_FALSE);
  assert_int_equal(ev(set, "education.at_least", "\"doctor\"", "education.degrees",
                      GW_PRED_FACT_NOT_FOUND, NULL, "2026-12-08"), GW_PRED_FALSE);
  assert_int_equal(ev(set, "education.at_least", "\"doctor\"", "education.degrees",
                      GW_PRED_FACT_UNAVAILABLE, NULL, "2026-12-08"), GW_PRED_UNKNOWN);
  /* an item it cannot rank makes "no" unknown, but not a "yes" */
  assert_int_equal(ev(set, "education.at_least", "\"doctor\"", "education.degrees",
                      GW_PRED_FACT_OK, "[{\"level\":\"honoris\"}]", "2026-12-08"), GW_PRED_UNKNOWN);
  assert_int_equal(ev(set, "education.at_least", "\"bachelor\"", "education.degrees",
                      GW_PRED_FACT_OK, "[{\"level\":\"honoris\"},{\"level\":\"master\"}]",
                      "2026-12-08"), GW_PRED_TRUE);
  /* an arg outside the list is never evaluated */
  assert_int_equal(ev(set, "education.at_least", "\"associate\"", "education.degrees",
                      GW_PRED_FACT_OK, deg, "2026-12-08"), GW_PRED_UNKNOWN);
  /* under over an age as of the day: the birthday itself counts */
  assert_int_equal(ev(set, "age.under", "35", "identity.birth_date", GW_PRED_FACT_OK,
                      "\"1991-12-08\"", "2026-12-07"), GW_PRED_TRUE);
  assert_int_equal(ev(set, "age.under", "35", "identity.birth_date", GW_PRED_FACT_OK,
                      "\"1991-12-08\"", "2026-12-08"), GW_PRED_FALSE);
  assert_int_equal(ev(set, "age.under", "35", "identity.birth_date", GW_PRED_FACT_OK,
                      "\"1992-02-29\"", "2027-02-28"), GW_PRED_TRUE);
  assert_int_equal(ev(set, "age.under", "35", "identity.birth_date", GW_PRED_FACT_OK,
                      "\"1992-02-29\"", "2027-03-01"), GW_PRED_FALSE);
  assert_int_equal(ev(set, "age.under", "35", "identity.birth_date", GW_PRED_FACT_OK,
                      "\"1992-02-30\"", "2027-03-01"), GW_PRED_UNKNOWN);
  assert_int_equal(ev(set, "age.under", "35", "identity.birth_date", GW_PRED_FACT_NOT_FOUND,
                      NULL, "2027-03-01"), GW_PRED_UNKNOWN);
  /* at_least over a number */
  assert_int_equal(ev(set, "social_insurance.shenzhen_months_at_least", "6",
                      "social_insurance.shenzhen_months", GW_PRED_FACT_OK, "6", "2026-12-08"),
                   GW_PRED_TRUE);
  assert_int_equal(ev(set, "social_insurance.shenzhen_months_at_least", "6",
                      "social_insurance.shenzhen_months", GW_PRED_FACT_OK, "5", "2026-12-08"),
                   GW_PRED_FALSE);
  /* none_of; no record at the platform is not dishonest */
  assert_int_equal(ev(set, "credit.not_dishonest", NULL, "credit.status", GW_PRED_FACT_OK,
                      "{\"status\":\"warning\",\"records\":[]}", "2026-12-08"), GW_PRED_TRUE);
  assert_int_equal(ev(set, "credit.not_dishonest", NULL, "credit.status", GW_PRED_FACT_OK,
                      "{\"status\":\"dishonest\",\"records\":[]}", "2026-12-08"), GW_PRED_FALSE);
  assert_int_equal(ev(set, "credit.not_dishonest", NULL, "credit.status", GW_PRED_FACT_NOT_FOUND,
                      NULL, "2026-12-08"), GW_PRED_TRUE);
  assert_int_equal(ev(set, "credit.not_dishonest", NULL, "credit.status", GW_PRED_FACT_OK,
                      "{\"records\":[]}", "2026-12-08"), GW_PRED_UNKNOWN);
  /* equals a fixed value */
  assert_int_equal(ev(set, "hukou.in_shenzhen", NULL, "hukou.region", GW_PRED_FACT_OK,
                      "{\"is_shenzhen\":true}", "2026-12-08"), GW_PRED_TRUE);
  assert_int_equal(ev(set, "postdoc.in_station", NULL, "postdoc.status", GW_PRED_FACT_OK,
                      "{\"in_station\":false}", "2026-12-08"), GW_PRED_FALSE);
  /* a fact nothing serves: unknown */
  assert_int_equal(ev(set, "tax.shenzhen_months_at_least", "6", "other.fact", GW_PRED_FACT_OK,
                      "12", "2026-12-08"), GW_PRED_UNKNOWN);
  gw_predset_free(set);
}

/* identity.names_agree over four agencies: st[i] and v[i] (JSON or NULL)
 * for identity.match, social_insurance, housing_fund, tax name_agrees. */
static enum gw_pred_result agree(const struct gw_predset *set, const enum gw_pred_fact_status st[4],
                                 const char *const v[4], char *why, size_t why_len)
{
  static const char *const facts[4] = { "identity.match", "social_insurance.name_agrees",
                                        "housing_fund.name_agrees", "tax.name_agrees" };
  const struct gw_pred_def *d = gw_predset_find(set, "identity.names_agree");
  struct gw_pred_input in[4];
  json_t *vals[4];
  enum gw_pred_result r;
  assert_non_null(d);
  for(int i = 0; i < 4; i++) {
    vals[i] = v[i] ? json_loads(v[i], JSON_DECODE_ANY, NULL) : NULL;
    in[i].fact = facts[i];
    in[i].status = st[i];
    in[i].value = vals[i];
  }
  r = gw_pred_eval(d, NULL, in, 4, "2026-12-08", why, why_len);
  for(int i = 0; i < 4; i++)
    json_decref(vals[i]);
  return r;
}

static void all_true_cross_check(void **state)
{
  const enum gw_pred_fact_status OK = GW_PRED_FACT_OK, NF = GW_PRED_FACT_NOT_FOUND,
                                 UN = GW_PRED_FACT_UNAVAILABLE;
  struct gw_predset *set = shipped();
  char why[200];
  (void)state;
  /* every agency agrees */
  assert_int_equal(agree(set, (enum gw_pred_fact_status[]){ OK, OK, OK, OK },
                         (const char *[]){ "true", "true", "true", "true" }, why, sizeof(why)),
                   GW_PRED_TRUE);
  /* an agency without a record does not count */
  assert_int_equal(agree(set, (enum gw_pred_fact_status[]){ OK, NF, NF, OK },
                         (const char *[]){ "true", NULL, NULL, "true" }, why, sizeof(why)),
                   GW_PRED_TRUE);
  /* one record spelled otherwise: false, also beside an agency that hung */
  assert_int_equal(agree(set, (enum gw_pred_fact_status[]){ OK, OK, OK, OK },
                         (const char *[]){ "true", "false", "true", "true" }, why, sizeof(why)),
                   GW_PRED_FALSE);
  assert_int_equal(agree(set, (enum gw_pred_fact_status[]){ UN, OK, UN, OK },
                         (const char *[]){ NULL, "true", NULL, "false" }, why, sizeof(why)),
                   GW_PRED_FALSE);
  /* the registry's own judgement counts like the others */
  assert_int_equal(agree(set, (enum gw_pred_fact_status[]){ OK, OK, OK, NF },
                         (const char *[]){ "false", "true", "true", NULL }, why, sizeof(why)),
                   GW_PRED_FALSE);
  /* an agency that could not be asked, nobody disagreeing: unknown, never false */
  assert_int_equal(agree(set, (enum gw_pred_fact_status[]){ OK, OK, UN, OK },
                         (const char *[]){ "true", "true", NULL, "true" }, why, sizeof(why)),
                   GW_PRED_UNKNOWN);
  assert_string_equal(why, "housing_fund.name_agrees is unavailable");
  /* a value that is not a boolean cannot be judged */
  assert_int_equal(agree(set, (enum gw_pred_fact_status[]){ OK, OK, OK, OK },
                         (const char *[]){ "true", "\"yes\"", "true", "true" }, why, sizeof(why)),
                   GW_PRED_UNKNOWN);
  /* nobody has a record: the definition's not_found ("unknown") */
  assert_int_equal(agree(set, (enum gw_pred_fact_status[]){ NF, NF, NF, NF },
                         (const char *[]){ NULL, NULL, NULL, NULL }, why, sizeof(why)),
                   GW_PRED_UNKNOWN);
  gw_predset_free(set);
  /* all_true reads every fact: no rule.fact, no args, only select */
  refused(HEAD "\"rule\":{\"operator\":\"all_true\",\"fact\":\"credit.status\"}}",
          "p.json: rule.fact: all_true reads every fact");
  refused(HEAD "\"rule\":{\"operator\":\"all_true\"},\"args\":[1]}", "p.json: args:");
  {
    static const char ok[] = HEAD "\"rule\":{\"operator\":\"all_true\",\"select\":\"/x\"}}";
    char err[256];
    assert_int_equal(gw_pred_check_text("p.json", ok, strlen(ok), err, sizeof(err)), 0);
  }
}

static void keys_and_dates(void **state)
{
  struct gw_predset *set = shipped();
  char key[GW_PRED_KEY_MAX], d[11];
  json_t *a = json_integer(35);
  (void)state;
  assert_int_equal(gw_pred_key(gw_predset_find(set, "age.under"), a, key, sizeof(key)), 0);
  assert_string_equal(key, "age.under(35)");
  assert_int_equal(gw_pred_key(gw_predset_find(set, "credit.not_dishonest"), NULL, key,
                               sizeof(key)), 0);
  assert_string_equal(key, "credit.not_dishonest");
  json_decref(a);
  gw_pred_date_cst(1796659200, d);   /* 2026-12-07T16:00Z = 00:00 on the 8th in Shenzhen */
  assert_string_equal(d, "2026-12-08");
  gw_pred_date_cst(1796659200 - 1, d);
  assert_string_equal(d, "2026-12-07");
  gw_predset_free(set);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(shipped_set_loads),
    cmocka_unit_test(bad_files_are_named),
    cmocka_unit_test(operators),
    cmocka_unit_test(all_true_cross_check),
    cmocka_unit_test(keys_and_dates),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
