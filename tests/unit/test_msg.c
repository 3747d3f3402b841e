/*
 * test_msg.c - the error-message writer and the echo of outside text
 * (base/msg.c): digits masked, cut at the cap on a UTF-8 boundary with
 * "...", controls and ill-formed bytes as '?', the output always fitting its
 * buffer; and the fuzz input of issue 12, an unknown key holding an identity
 * number, which must not come back with its digits.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "msg.h"

static void set_writes_and_returns_minus_one(void **state)
{
  char err[16];
  (void)state;
  assert_int_equal(gw_msg_set(err, sizeof(err), "%s: %d", "field", 42), -1);
  assert_string_equal(err, "field: 42");
  assert_int_equal(gw_msg_set(err, sizeof(err), "%s", "a much longer message than fits"), -1);
  assert_int_equal(strlen(err), sizeof(err) - 1);
  assert_int_equal(gw_msg_set(NULL, 0, "nothing %d", 1), -1);
}

static void echo_masks_digits(void **state)
{
  char buf[GW_MSG_ECHO_BUF];
  (void)state;
  /* The key of the fuzz input that stopped fuzz_query_parse. */
  assert_string_equal(gw_msg_echo_str("case_ 11010519491231002X", buf, sizeof(buf)),
                      "case_ #################X");
  assert_string_equal(gw_msg_echo_str("urgent", buf, sizeof(buf)), "urgent");
  assert_string_equal(gw_msg_echo_str("2024-01-31", buf, sizeof(buf)), "####-##-##");
  assert_string_equal(gw_msg_echo_str("", buf, sizeof(buf)), "");
}

static void echo_keeps_utf8_whole(void **state)
{
  char buf[GW_MSG_ECHO_BUF];
  const char *zhang = "\xe5\xbc\xa0\xe4\xb8\x89";          /* 张三 */
  (void)state;
  assert_string_equal(gw_msg_echo_str(zhang, buf, sizeof(buf)), zhang);
  /* Cut after 4 bytes: 张 whole, 三 (which would need 6) left out. */
  assert_string_equal(gw_msg_echo(zhang, strlen(zhang), 4, buf, sizeof(buf)),
                      "\xe5\xbc\xa0...");
  /* A buffer too small for the next sequence stops before it. */
  assert_string_equal(gw_msg_echo(zhang, strlen(zhang), 64, buf, 5), "\xe5\xbc\xa0");
}

static void echo_controls_and_bad_bytes(void **state)
{
  char buf[GW_MSG_ECHO_BUF];
  (void)state;
  assert_string_equal(gw_msg_echo("a\nb\x7f" "c", 5, 64, buf, sizeof(buf)), "a?b?c");
  assert_string_equal(gw_msg_echo("x\xff\xc3", 3, 64, buf, sizeof(buf)), "x??");
  assert_string_equal(gw_msg_echo("\xc2\x85z", 3, 64, buf, sizeof(buf)), "?z");  /* C1 NEL */
}

static void echo_caps_and_fits(void **state)
{
  char big[300], buf[GW_MSG_ECHO_BUF], tiny[4];
  (void)state;
  memset(big, 'k', sizeof(big));
  gw_msg_echo(big, sizeof(big), GW_MSG_ECHO_MAX, buf, sizeof(buf));
  assert_int_equal(strlen(buf), GW_MSG_ECHO_MAX + 3);
  assert_memory_equal(buf + GW_MSG_ECHO_MAX, "...", 4);
  gw_msg_echo(big, sizeof(big), GW_MSG_ECHO_MAX, tiny, sizeof(tiny));
  assert_int_equal(strlen(tiny), 3);
  /* Nothing of an identity number survives, however long the text. */
  memset(big, '7', sizeof(big));
  gw_msg_echo(big, sizeof(big), GW_MSG_ECHO_MAX, buf, sizeof(buf));
  assert_null(strpbrk(buf, "0123456789"));
  assert_int_equal(strspn(buf, "#"), GW_MSG_ECHO_MAX);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(set_writes_and_returns_minus_one),
    cmocka_unit_test(echo_masks_digits),
    cmocka_unit_test(echo_keeps_utf8_whole),
    cmocka_unit_test(echo_controls_and_bad_bytes),
    cmocka_unit_test(echo_caps_and_fits),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
