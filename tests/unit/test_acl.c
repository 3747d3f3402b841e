/*
 * test_acl.c - roles, purposes, facts per purpose, and precise load errors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "acl.h"
#include "../lib/catalogue_fixture.h"

static char path[] = "/tmp/gwaclXXXXXX";

static struct gw_acl *load(const char *text, char *err, size_t errlen)
{
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  fputs(text, fp);
  fclose(fp);
  return gw_acl_load(path, err, errlen);
}

static int setup(void **state)
{
  int fd;
  (void)state;
  fd = mkstemp(path);
  return fd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
  (void)state;
  return remove(path);
}

static void roles_purposes_facts(void **state)
{
  char err[512];
  struct gw_acl *acl = load(
    "{\"clients\": {"
    " \"engine\": {\"roles\": [\"client\"], \"purposes\": {"
    "   \"talent.graduate\": [\"identity.match\", \"education.degrees\", \"credit.status\"],"
    "   \"talent.postdoc\": [\"postdoc.status\"]}},"
    " \"auditor\": {\"roles\": [\"auditor\"]},"
    " \"ops\": {\"roles\": [\"admin\", \"auditor\"]}}}", err, sizeof(err));
  (void)state;
  if(!acl)
    fail_msg("%s", err);
  assert_int_equal(gw_acl_roles(acl, "engine"), GW_ROLE_CLIENT);
  assert_int_equal(gw_acl_roles(acl, "ops"), GW_ROLE_ADMIN | GW_ROLE_AUDITOR);
  assert_int_equal(gw_acl_roles(acl, "stranger"), 0);
  assert_int_equal(gw_acl_roles(acl, NULL), 0);
  assert_true(gw_acl_purpose_allowed(acl, "engine", "talent.graduate"));
  assert_false(gw_acl_purpose_allowed(acl, "engine", "talent.overseas"));
  assert_false(gw_acl_purpose_allowed(acl, "auditor", "talent.graduate"));
  assert_true(gw_acl_fact_allowed(acl, "engine", "talent.graduate", "education.degrees"));
  /* data minimization: a fact of another purpose is not allowed here */
  assert_false(gw_acl_fact_allowed(acl, "engine", "talent.graduate", "postdoc.status"));
  assert_true(gw_acl_fact_allowed(acl, "engine", "talent.postdoc", "postdoc.status"));
  assert_false(gw_acl_fact_allowed(acl, "stranger", "talent.graduate", "identity.match"));
  gw_acl_free(acl);
}

static void errors_name_the_field(void **state)
{
  static const char *const cases[][2] = {
    { "{\"clients\": {\"e\": {\"roles\": [\"root\"]}}}", "clients.e.roles[0]: must be client, auditor or admin" },
    { "{\"clients\": {\"e\": {\"roles\": [\"client\"]}}}", "clients.e.purposes: a client needs at least one purpose" },
    { "{\"clients\": {\"e\": {\"roles\": [\"client\"], \"purposes\": {\"talent.any\": []}}}}",
      "clients.e.purposes.talent.any: unknown purpose (not in purposes.json)" },
    { "{\"clients\": {\"e\": {\"roles\": [\"client\"], \"purposes\": {\"talent.graduate\": [\"x.y\"]}}}}",
      "clients.e.purposes.talent.graduate[0]: not a fact in the catalogue" },
    { "{\"clients\": {\"e\": {\"roles\": [\"admin\"], \"role\": 1}}}", "clients.e.role: unknown field (known here: roles, purposes, predicates)" },
    { "{\"users\": {}}", "clients: missing (an object is required)" },
    { "{\"clients\": {}, \"users\": {}}", "users: unknown field (known here: clients)" },
    { "{\"clients\": {\"e\": {\"roles\": [\"client\"], \"purposes\": {\"talent.graduate\": [7]}}}}",
      "clients.e.purposes.talent.graduate[0]: must be a string" },
    { "{\"clients\": {\"e\": {\"roles\": []}}}", "clients.e.roles: must not be empty" },
  };
  (void)state;
  for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char err[512], want[600];
    assert_null(load(cases[i][0], err, sizeof(err)));
    snprintf(want, sizeof(want), "%s: %s", path, cases[i][1]);
    assert_string_equal(err, want);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(roles_purposes_facts),
    cmocka_unit_test(errors_name_the_field),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
