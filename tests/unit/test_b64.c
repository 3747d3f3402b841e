/*
 * test_b64.c - base64 and base64url: the RFC 4648 section 10 vectors in both
 * variants, the alphabet's last two characters, every strict-decoding
 * refusal named by its reason, buffer sizing, and a round trip over all
 * byte values and lengths.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gw/alloc.h"
#include "gw/b64.h"

struct vector {
  const char *raw, *std, *url;
};

/* RFC 4648 section 10; the base64url column is the same text unpadded. */
static const struct vector rfc4648[] = {
  { "",       "",         ""         },
  { "f",      "Zg==",     "Zg"       },
  { "fo",     "Zm8=",     "Zm8"      },
  { "foo",    "Zm9v",     "Zm9v"     },
  { "foob",   "Zm9vYg==", "Zm9vYg"   },
  { "fooba",  "Zm9vYmE=", "Zm9vYmE"  },
  { "foobar", "Zm9vYmFy", "Zm9vYmFy" },
};

static void check_encode(enum gw_b64_variant v, const void *raw, size_t n,
                         const char *want)
{
  char out[128];
  size_t len = 99;

  assert_int_equal(gw_b64_encoded_len(v, n), strlen(want));
  assert_int_equal(gw_b64_encode(v, raw, n, out, sizeof(out), &len), GW_B64_OK);
  assert_int_equal(len, strlen(want));
  assert_string_equal(out, want);
}

static void check_decode(enum gw_b64_variant v, const char *in,
                         const void *want, size_t want_len)
{
  unsigned char out[128];
  size_t len = 99;

  assert_true(gw_b64_decoded_max(strlen(in)) >= want_len);
  assert_int_equal(gw_b64_decode(v, in, strlen(in), out, sizeof(out), &len), GW_B64_OK);
  assert_int_equal(len, want_len);
  assert_memory_equal(out, want, want_len);
}

static void rfc4648_vectors(void **state)
{
  (void)state;
  for(size_t i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
    const struct vector *t = &rfc4648[i];
    check_encode(GW_B64_STD, t->raw, strlen(t->raw), t->std);
    check_encode(GW_B64_URL, t->raw, strlen(t->raw), t->url);
    check_decode(GW_B64_STD, t->std, t->raw, strlen(t->raw));
    check_decode(GW_B64_URL, t->url, t->raw, strlen(t->raw));
  }
}

/* Values 62 and 63 are where the variants differ (printf '\xfb\xff\xbf' |
 * base64 gives "+/+/"; basenc --base64url gives "-_-_"). */
static void alphabet_ends(void **state)
{
  static const unsigned char three[] = { 0xfb, 0xff, 0xbf }, two[] = { 0xfb, 0xff };
  static const unsigned char all[48] = {
    0x00, 0x10, 0x83, 0x10, 0x51, 0x87, 0x20, 0x92, 0x8b, 0x30, 0xd3, 0x8f,
    0x41, 0x14, 0x93, 0x51, 0x55, 0x97, 0x61, 0x96, 0x9b, 0x71, 0xd7, 0x9f,
    0x82, 0x18, 0xa3, 0x92, 0x59, 0xa7, 0xa2, 0x9a, 0xab, 0xb2, 0xdb, 0xaf,
    0xc3, 0x1c, 0xb3, 0xd3, 0x5d, 0xb7, 0xe3, 0x9e, 0xbb, 0xf3, 0xdf, 0xbf
  };
  (void)state;
  check_encode(GW_B64_STD, three, 3, "+/+/");
  check_encode(GW_B64_URL, three, 3, "-_-_");
  check_encode(GW_B64_STD, two, 2, "+/8=");
  check_encode(GW_B64_URL, two, 2, "-_8");
  check_decode(GW_B64_URL, "-_8", two, 2);
  /* The 48 bytes whose encoding is the whole alphabet, in order. */
  check_encode(GW_B64_STD, all, sizeof(all),
               "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
  check_encode(GW_B64_URL, all, sizeof(all),
               "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");
}

static void refuse(enum gw_b64_variant v, const char *in, size_t n,
                   enum gw_b64_result want)
{
  static unsigned char sentinel;
  unsigned char out[64], *heap = &sentinel;
  size_t len = 0;
  enum gw_b64_result r = gw_b64_decode(v, in, n, out, sizeof(out), &len);

  if(r != want)
    fail_msg("%s \"%.*s\": got %s, want %s", v == GW_B64_URL ? "url" : "std",
             (int)n, in, gw_b64_strerror(r), gw_b64_strerror(want));
  assert_int_equal(gw_b64_decode_alloc(v, in, n, &heap, &len), want);
  assert_null(heap);
}

static void strict_standard(void **state)
{
  (void)state;
  refuse(GW_B64_STD, "Z", 1, GW_B64_ELENGTH);
  refuse(GW_B64_STD, "Zm9vY", 5, GW_B64_ELENGTH);
  refuse(GW_B64_STD, "Zg", 2, GW_B64_EPAD);          /* padding left off */
  refuse(GW_B64_STD, "Zm8", 3, GW_B64_EPAD);
  refuse(GW_B64_STD, "Zg=", 3, GW_B64_EPAD);
  refuse(GW_B64_STD, "Z===", 4, GW_B64_EPAD);        /* too much padding */
  refuse(GW_B64_STD, "====", 4, GW_B64_EPAD);
  refuse(GW_B64_STD, "Zg=A", 4, GW_B64_EPAD);        /* padding mid-string */
  refuse(GW_B64_STD, "Zg==Zm8=", 8, GW_B64_EPAD);    /* concatenated */
  refuse(GW_B64_STD, "Zh==", 4, GW_B64_ETRAIL);      /* 'h' leaves bits set */
  refuse(GW_B64_STD, "Zm9=", 4, GW_B64_ETRAIL);
  refuse(GW_B64_STD, "Zm-v", 4, GW_B64_ECHAR);       /* base64url alphabet */
  refuse(GW_B64_STD, "Zm_v", 4, GW_B64_ECHAR);
  refuse(GW_B64_STD, "Zm9v    ", 8, GW_B64_ECHAR);   /* whitespace */
  refuse(GW_B64_STD, "Zm9\n", 4, GW_B64_ECHAR);
  refuse(GW_B64_STD, "Zm\t9", 4, GW_B64_ECHAR);
  refuse(GW_B64_STD, "Zm9vYmFy\r\nZg==", 14, GW_B64_EPAD);
  refuse(GW_B64_STD, "Zm\0v", 4, GW_B64_ECHAR);      /* NUL inside the length */
  refuse(GW_B64_STD, "Zm9\xc3", 4, GW_B64_ECHAR);
}

static void strict_url(void **state)
{
  (void)state;
  refuse(GW_B64_URL, "Z", 1, GW_B64_ELENGTH);
  refuse(GW_B64_URL, "Zm9vY", 5, GW_B64_ELENGTH);
  refuse(GW_B64_URL, "Zg==", 4, GW_B64_EPAD);        /* no padding in url */
  refuse(GW_B64_URL, "Zm8=", 4, GW_B64_EPAD);
  refuse(GW_B64_URL, "Zh", 2, GW_B64_ETRAIL);
  refuse(GW_B64_URL, "Zm9", 3, GW_B64_ETRAIL);
  refuse(GW_B64_URL, "Zm+v", 4, GW_B64_ECHAR);       /* standard alphabet */
  refuse(GW_B64_URL, "Zm/v", 4, GW_B64_ECHAR);
  refuse(GW_B64_URL, " Zg", 3, GW_B64_ECHAR);
  refuse(GW_B64_URL, "Zm9v\n", 5, GW_B64_ELENGTH);
  refuse(GW_B64_URL, "Zm9v\nZg", 7, GW_B64_ECHAR);
  refuse(GW_B64_URL, "Zm\0v", 4, GW_B64_ECHAR);
}

/* The input need not be NUL-terminated: only n characters are read. */
static void explicit_lengths(void **state)
{
  unsigned char out[8];
  size_t len = 0;
  (void)state;
  assert_int_equal(gw_b64_decode(GW_B64_URL, "Zm9v!!!!", 4, out, sizeof(out), &len),
                   GW_B64_OK);
  assert_int_equal(len, 3);
  assert_memory_equal(out, "foo", 3);
  assert_int_equal(gw_b64_decode(GW_B64_STD, "Zg==garbage", 4, out, sizeof(out), &len),
                   GW_B64_OK);
  assert_int_equal(len, 1);
  assert_int_equal(out[0], 'f');
}

static void buffer_sizes(void **state)
{
  char out[16];
  unsigned char dec[16];
  size_t len = 0;
  (void)state;

  assert_int_equal(gw_b64_encoded_len(GW_B64_STD, 0), 0);
  assert_int_equal(gw_b64_encoded_len(GW_B64_STD, 1), 4);
  assert_int_equal(gw_b64_encoded_len(GW_B64_URL, 1), 2);
  assert_int_equal(gw_b64_encoded_len(GW_B64_URL, 2), 3);
  assert_int_equal(gw_b64_encoded_len(GW_B64_URL, 32), 43);
  assert_int_equal(gw_b64_encoded_len(GW_B64_URL, 64), 86);
  assert_int_equal(gw_b64_encoded_len(GW_B64_STD, SIZE_MAX), 0);  /* overflow */
  assert_int_equal(gw_b64_decoded_max(0), 0);
  assert_int_equal(gw_b64_decoded_max(4), 3);
  assert_int_equal(gw_b64_decoded_max(43), 32);
  assert_true(gw_b64_decoded_max(SIZE_MAX) < SIZE_MAX);

  /* "Zm9vYg==" needs 8 + NUL: 8 bytes is one too few, and out is untouched. */
  memset(out, 'x', sizeof(out));
  assert_int_equal(gw_b64_encode(GW_B64_STD, "foob", 4, out, 8, &len), GW_B64_ESPACE);
  assert_int_equal(out[0], 'x');
  assert_int_equal(gw_b64_encode(GW_B64_STD, "foob", 4, out, 9, &len), GW_B64_OK);
  assert_string_equal(out, "Zm9vYg==");
  assert_int_equal(gw_b64_encode(GW_B64_URL, "", 0, out, 1, &len), GW_B64_OK);
  assert_string_equal(out, "");
  assert_int_equal(gw_b64_encode(GW_B64_URL, "", 0, out, 0, &len), GW_B64_ESPACE);

  /* Decoding needs the exact length, not the upper bound. */
  assert_int_equal(gw_b64_decode(GW_B64_STD, "Zm9vYg==", 8, dec, 3, &len), GW_B64_ESPACE);
  assert_int_equal(gw_b64_decode(GW_B64_STD, "Zm9vYg==", 8, dec, 4, &len), GW_B64_OK);
  assert_int_equal(len, 4);
  assert_memory_equal(dec, "foob", 4);
  assert_int_equal(gw_b64_decode(GW_B64_URL, "", 0, NULL, 0, &len), GW_B64_OK);
  assert_int_equal(len, 0);
}

static void alloc_variants(void **state)
{
  char *enc = NULL;
  unsigned char *dec = NULL;
  size_t len = 0;
  (void)state;

  assert_int_equal(gw_b64_encode_alloc(GW_B64_URL, "fooba", 5, &enc, &len), GW_B64_OK);
  assert_string_equal(enc, "Zm9vYmE");
  assert_int_equal(len, 7);
  gw_free(enc);

  assert_int_equal(gw_b64_decode_alloc(GW_B64_STD, "Zm9vYmE=", 8, &dec, &len), GW_B64_OK);
  assert_int_equal(len, 5);
  assert_string_equal((char *)dec, "fooba");  /* NUL after the bytes */
  gw_free(dec);

  dec = NULL;
  assert_int_equal(gw_b64_decode_alloc(GW_B64_URL, "", 0, &dec, &len), GW_B64_OK);
  assert_non_null(dec);
  assert_int_equal(len, 0);
  assert_int_equal(dec[0], 0);
  gw_free(dec);
}

/* Every length 0..80 of varied bytes, both variants: decode(encode(x)) == x
 * and the encoded length is what gw_b64_encoded_len promised. */
static void round_trip(void **state)
{
  unsigned char raw[80], dec[80];
  char enc[120];
  size_t elen, dlen;
  (void)state;

  for(size_t i = 0; i < sizeof(raw); i++)
    raw[i] = (unsigned char)(i * 97 + 251);
  for(int v = GW_B64_STD; v <= GW_B64_URL; v++)
    for(size_t n = 0; n <= sizeof(raw); n++) {
      assert_int_equal(gw_b64_encode((enum gw_b64_variant)v, raw, n, enc, sizeof(enc),
                                     &elen), GW_B64_OK);
      assert_int_equal(elen, gw_b64_encoded_len((enum gw_b64_variant)v, n));
      assert_int_equal(gw_b64_decode((enum gw_b64_variant)v, enc, elen, dec, sizeof(dec),
                                     &dlen), GW_B64_OK);
      assert_int_equal(dlen, n);
      assert_memory_equal(dec, raw, n);
    }
}

static void strerror_covers_all(void **state)
{
  (void)state;
  for(int r = GW_B64_OK; r <= GW_B64_ETRAIL; r++)
    assert_string_not_equal(gw_b64_strerror((enum gw_b64_result)r), "unknown error");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(rfc4648_vectors),
    cmocka_unit_test(alphabet_ends),
    cmocka_unit_test(strict_standard),
    cmocka_unit_test(strict_url),
    cmocka_unit_test(explicit_lengths),
    cmocka_unit_test(buffer_sizes),
    cmocka_unit_test(alloc_variants),
    cmocka_unit_test(round_trip),
    cmocka_unit_test(strerror_covers_all),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
