/*
 * test_idnum.c - GB 11643 identity numbers: the standard's own examples,
 * normalization, and each kind of invalid number named by its reason.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "gw/idnum.h"

#define TODAY 20261128

static void check(const char *in, enum gw_idnum_result want, const char *norm)
{
  char out[GW_IDNUM_LEN + 1] = "untouched";
  enum gw_idnum_result r = gw_idnum_normalize(in, out, TODAY);
  if(r != want)
    fail_msg("%s: got %s, want %s", in, gw_idnum_strerror(r), gw_idnum_strerror(want));
  if(norm)
    assert_string_equal(out, norm);
  else
    assert_string_equal(out, "untouched");
}

/* The two worked examples printed in GB 11643-1999 itself. */
static void standard_examples(void **state)
{
  (void)state;
  check("11010519491231002X", GW_IDNUM_OK, "11010519491231002X");
  check("440524188001010014", GW_IDNUM_OK, "440524188001010014");
  assert_int_equal(gw_idnum_check_char("11010519491231002"), 'X');
  assert_int_equal(gw_idnum_check_char("44052418800101001"), '4');
}

static void lowercase_x_normalized(void **state)
{
  (void)state;
  check("11010519491231002x", GW_IDNUM_OK, "11010519491231002X");
}

static void leap_days(void **state)
{
  (void)state;
  check("440304200002290014", GW_IDNUM_OK, "440304200002290014");   /* 2000 is leap */
  check("440304190002290010", GW_IDNUM_BIRTH_DATE, NULL);          /* 1900 is not */
  check("440304190001010010", GW_IDNUM_OK, "440304190001010010");
}

static void invalid_numbers(void **state)
{
  (void)state;
  check("", GW_IDNUM_LENGTH, NULL);
  check("11010519491231002", GW_IDNUM_LENGTH, NULL);
  check("11010519491231002XX", GW_IDNUM_LENGTH, NULL);
  check("1101051949123100 X", GW_IDNUM_CHARSET, NULL);
  check("11010519491231002Y", GW_IDNUM_CHARSET, NULL);
  check("X10105194912310021", GW_IDNUM_CHARSET, NULL);
  check("１１0105194912310021", GW_IDNUM_LENGTH, NULL);        /* fullwidth digits */
  check("991234199001011234", GW_IDNUM_REGION, NULL);
  check("001234199001011234", GW_IDNUM_REGION, NULL);
  check("110105194913310021", GW_IDNUM_BIRTH_DATE, NULL);      /* month 13 */
  check("110105194904310021", GW_IDNUM_BIRTH_DATE, NULL);      /* 31 April */
  check("110105194912000021", GW_IDNUM_BIRTH_DATE, NULL);      /* day 0 */
  check("110105179912310021", GW_IDNUM_BIRTH_DATE, NULL);      /* before 1800 */
  check("110105203001010021", GW_IDNUM_BIRTH_DATE, NULL);      /* in the future */
  check("110105194912310021", GW_IDNUM_CHECKSUM, NULL);        /* 002X with 1 */
  check("440524188001010015", GW_IDNUM_CHECKSUM, NULL);
}

/* Every single-digit change of a valid number is caught by MOD 11-2. */
static void single_digit_errors_detected(void **state)
{
  const char *valid = "440303199001011237";
  (void)state;
  for(int pos = 0; pos < 17; pos++) {
    for(char d = '0'; d <= '9'; d++) {
      char buf[GW_IDNUM_LEN + 1], out[GW_IDNUM_LEN + 1];
      if(d == valid[pos])
        continue;
      memcpy(buf, valid, sizeof(buf));
      buf[pos] = d;
      assert_int_not_equal(gw_idnum_normalize(buf, out, TODAY), GW_IDNUM_OK);
    }
  }
}

static void reasons_are_named(void **state)
{
  (void)state;
  assert_string_equal(gw_idnum_strerror(GW_IDNUM_CHECKSUM), "check character does not match");
  assert_string_equal(gw_idnum_strerror(GW_IDNUM_REGION), "unknown region code");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(standard_examples),
    cmocka_unit_test(lowercase_x_normalized),
    cmocka_unit_test(leap_days),
    cmocka_unit_test(invalid_numbers),
    cmocka_unit_test(single_digit_errors_detected),
    cmocka_unit_test(reasons_are_named),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
