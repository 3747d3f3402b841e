/*
 * test_query_state.c - the query's state machine (handler/query_state.h):
 * every pair of states is either one of the eight documented moves or
 * refused, names print, and the race of commit 99728cc (a second finish in
 * the same loop turn) is an illegal move.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "query_state.h"

/* The moves docs/architecture.md draws; every other pair is illegal. */
static const struct { enum query_state from, to; } moves[] = {
  { QS_NEW, QS_WAITING },
  { QS_NEW, QS_DONE },
  { QS_WAITING, QS_GATHERED },
  { QS_WAITING, QS_FINISHING },
  { QS_GATHERED, QS_FINISHING },
  { QS_FINISHING, QS_AUDITING },
  { QS_FINISHING, QS_DONE },
  { QS_AUDITING, QS_DONE },
};

static int documented(enum query_state from, enum query_state to)
{
  for(size_t i = 0; i < sizeof(moves) / sizeof(moves[0]); i++)
    if(moves[i].from == from && moves[i].to == to)
      return 1;
  return 0;
}

static void test_every_pair(void **state)
{
  size_t legal = 0;
  (void)state;
  assert_int_equal(QS_COUNT, 6);
  for(int from = 0; from < QS_COUNT; from++)
    for(int to = 0; to < QS_COUNT; to++) {
      int ok = query_state_legal((enum query_state)from, (enum query_state)to);
      assert_int_equal(ok, documented((enum query_state)from, (enum query_state)to));
      legal += (size_t)ok;
    }
  assert_int_equal(legal, sizeof(moves) / sizeof(moves[0]));
}

static void test_the_race_is_illegal(void **state)
{
  (void)state;
  /* the deadline and the done event both finishing one query */
  assert_false(query_state_legal(QS_FINISHING, QS_FINISHING));
  assert_false(query_state_legal(QS_AUDITING, QS_FINISHING));
  assert_false(query_state_legal(QS_DONE, QS_FINISHING));
  /* the done event after the deadline ended the wait */
  assert_false(query_state_legal(QS_FINISHING, QS_GATHERED));
  /* an answer before the record is durable, or twice */
  assert_false(query_state_legal(QS_WAITING, QS_DONE));
  assert_false(query_state_legal(QS_GATHERED, QS_DONE));
  assert_false(query_state_legal(QS_DONE, QS_DONE));
  /* nothing goes back */
  assert_false(query_state_legal(QS_WAITING, QS_NEW));
  assert_false(query_state_legal(QS_AUDITING, QS_WAITING));
}

static void test_out_of_range(void **state)
{
  (void)state;
  assert_false(query_state_legal(QS_COUNT, QS_DONE));
  assert_false(query_state_legal(QS_NEW, QS_COUNT));
  assert_false(query_state_legal((enum query_state)-1, QS_WAITING));
  assert_string_equal(query_state_name(QS_COUNT), "?");
}

static void test_names(void **state)
{
  static const char *const want[] = { "NEW", "WAITING", "GATHERED", "FINISHING", "AUDITING",
                                      "DONE" };
  (void)state;
  for(int s = 0; s < QS_COUNT; s++)
    assert_string_equal(query_state_name((enum query_state)s), want[s]);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_every_pair),
    cmocka_unit_test(test_the_race_is_illegal),
    cmocka_unit_test(test_out_of_range),
    cmocka_unit_test(test_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
