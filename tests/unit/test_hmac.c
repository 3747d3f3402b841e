/*
 * test_hmac.c - HMAC-SHA256 under a key made once: the RFC 4231 test cases
 * (short and long keys, long data), the keyed subject_ref equal to the
 * one-shot one, several threads sharing one key; and random ids: format,
 * length limits, no repeats across many draws and across threads.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>

#include "gw/alloc.h"
#include "gw/attest.h"
#include "hmac.h"
#include "randid.h"

static void unhex(const char *h, unsigned char *out, size_t *n)
{
  size_t i = 0;
  for(; h[2 * i]; i++) {
    unsigned v;
    assert_int_equal(sscanf(h + 2 * i, "%2x", &v), 1);
    out[i] = (unsigned char)v;
  }
  *n = i;
}

static void rfc4231(void **state)
{
  static const struct {
    const char *key, *data, *mac;
  } cases[] = {
    /* 1 */
    { "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "4869205468657265",
      "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7" },
    /* 2 */
    { "4a656665", "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
    /* 3 */
    { "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
      "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
      "dddddddddddddddddddd",
      "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe" },
    /* 6: a 131-byte key, longer than the block */
    { "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
      "aaaaaaaaaaaaaaaaaaaaaa",
      "54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a65204b6579202d20"
      "48617368204b6579204669727374",
      "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54" },
  };
  (void)state;
  for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    unsigned char key[200], data[200], want[32], got[32];
    size_t kn, dn, wn;
    struct gw_hmac_key *k;
    unhex(cases[i].key, key, &kn);
    unhex(cases[i].data, data, &dn);
    unhex(cases[i].mac, want, &wn);
    k = gw_hmac_key_new(key, kn);
    assert_non_null(k);
    /* twice: the keyed context is copied, never consumed */
    for(int r = 0; r < 2; r++) {
      assert_int_equal(gw_hmac_sha256(k, data, dn, got), 0);
      assert_memory_equal(got, want, 32);
    }
    gw_hmac_key_free(k);
  }
  assert_null(gw_hmac_key_new(NULL, 4));
  assert_null(gw_hmac_key_new((const unsigned char *)"k", 0));
  gw_hmac_key_free(NULL);
}

static void keyed_subject_ref(void **state)
{
  static const unsigned char secret[] = "0123456789abcdef0123456789abcdef";
  static const char *const ids[] = { "11010519491231002X", "440524188001010014", "x" };
  struct gw_hmac_key *k = gw_hmac_key_new(secret, sizeof(secret) - 1);
  (void)state;
  assert_non_null(k);
  for(size_t i = 0; i < 3; i++) {
    char a[GW_SUBJECT_REF_LEN + 1], b[GW_SUBJECT_REF_LEN + 1];
    assert_int_equal(gw_subject_ref(secret, sizeof(secret) - 1, ids[i], a), 0);
    assert_int_equal(gw_subject_ref_keyed(k, ids[i], b), 0);
    assert_string_equal(a, b);
  }
  gw_hmac_key_free(k);
}

struct shared {
  struct gw_hmac_key *k;
  unsigned char want[32];
  int ok;
  char ids[2000][33];
};

static void *mac_many(void *arg)
{
  struct shared *s = arg;
  for(int i = 0; i < 2000; i++) {
    unsigned char got[32];
    if(gw_hmac_sha256(s->k, "abc", 3, got) == 0 && !memcmp(got, s->want, 32))
      s->ok++;
    if(gw_randid_hex(s->ids[i], 16))
      s->ok = -100000;
  }
  return NULL;
}

static int cmp_id(const void *a, const void *b)
{
  return strcmp(a, b);
}

/* One key shared by four threads; ids drawn by them never repeat. */
static void threads_and_ids(void **state)
{
  static struct shared s[4];
  static char all[8000][33];
  pthread_t th[4];
  unsigned char want[32];
  struct gw_hmac_key *k = gw_hmac_key_new((const unsigned char *)"key", 3);
  char small[3], big[2 * GW_RANDID_MAX_BYTES + 1];
  (void)state;

  assert_non_null(k);
  assert_int_equal(gw_hmac_sha256(k, "abc", 3, want), 0);
  for(int i = 0; i < 4; i++) {
    s[i].k = k;
    memcpy(s[i].want, want, 32);
    s[i].ok = 0;
    assert_int_equal(pthread_create(&th[i], NULL, mac_many, &s[i]), 0);
  }
  for(int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(s[i].ok, 2000);
    memcpy(all[2000 * i], s[i].ids, sizeof(s[i].ids));
  }
  for(int i = 0; i < 8000; i++) {
    assert_int_equal(strlen(all[i]), 32);
    assert_int_equal(strspn(all[i], "0123456789abcdef"), 32);
  }
  qsort(all, 8000, sizeof(all[0]), cmp_id);
  for(int i = 1; i < 8000; i++)
    assert_string_not_equal(all[i - 1], all[i]);
  gw_hmac_key_free(k);

  assert_int_equal(gw_randid_hex(small, 1), 0);
  assert_int_equal(strlen(small), 2);
  assert_int_equal(gw_randid_hex(big, GW_RANDID_MAX_BYTES), 0);
  assert_int_equal(strlen(big), 2 * GW_RANDID_MAX_BYTES);
  assert_int_equal(gw_randid_hex(big, 0), -1);
  assert_int_equal(gw_randid_hex(big, GW_RANDID_MAX_BYTES + 1), -1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(rfc4231),
    cmocka_unit_test(keyed_subject_ref),
    cmocka_unit_test(threads_and_ids),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
