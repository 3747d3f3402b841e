/*
 * mapping_name.c - does the name on an agency's record match the name the
 * query gave?  (type "name_agrees" of gw/mapping.h)
 *
 * The one idea: a name is compared, never kept.  An agency that returns the
 * name on its record lets the gateway derive one boolean fact from it
 * (housing_fund.name_agrees, ...), which the identity.names_agree
 * cross-check (交叉检查) reads; the name itself is never a fact value, so
 * it never reaches an attestation, the audit log or a cache.
 *
 * Both names are normalised the same way before they are compared as code
 * points: Unicode NFC (ICU), so a precomposed and a decomposed spelling of
 * the same letters agree; White_Space (ASCII blanks, U+00A0, U+3000 the
 * ideographic space, ...) trimmed at both ends and every inner run of it
 * made one U+0020.  Nothing else is folded: not case, not full-width forms,
 * not the middle dots of minority names - a record that spells a name
 * differently is a difference the cross-check exists to report.
 */
#include "mapping_int.h"

#include <string.h>

#include <openssl/crypto.h>
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include "gw/alloc.h"

/* UTF-16 units of one normalised name (GW_MAP_MAX_NAME bytes of UTF-8 make
 * at most as many units; NFC of them at most three times as many). */
#define NAME_UNITS_MAX (GW_MAP_MAX_NAME * 3)

/* s[0..n) UTF-8 -> NFC, blanks trimmed and collapsed, into out (units in
 * *len).  -1 when s is not UTF-8 or too long. */
static int normalise(const char *s, size_t n, UChar *out, int32_t *len)
{
  UChar raw[GW_MAP_MAX_NAME], nfc[NAME_UNITS_MAX];
  int32_t rn = 0, nn, o = 0;
  UErrorCode e = U_ZERO_ERROR;
  const UNormalizer2 *norm = unorm2_getNFCInstance(&e);
  int blank = 0;

  if(n > GW_MAP_MAX_NAME || U_FAILURE(e))
    return -1;
  u_strFromUTF8(raw, GW_MAP_MAX_NAME, &rn, s, (int32_t)n, &e);
  if(U_FAILURE(e))
    return -1;
  e = U_ZERO_ERROR;
  nn = unorm2_normalize(norm, raw, rn, nfc, NAME_UNITS_MAX, &e);
  if(U_FAILURE(e))
    return -1;
  for(int32_t i = 0; i < nn;) {
    UChar32 c;
    U16_NEXT(nfc, i, nn, c);
    if(u_isUWhiteSpace(c)) {
      blank = o > 0;
      continue;
    }
    if(blank)
      out[o++] = 0x20;
    blank = 0;
    U16_APPEND_UNSAFE(out, o, c);
  }
  *len = o;
  return 0;
}

enum gw_map_result gw_map_name_agrees(struct gw_map_run *run, const char *path, const char *s,
                                      size_t n, int *agrees)
{
  UChar a[NAME_UNITS_MAX], b[NAME_UNITS_MAX];
  int32_t an = 0, bn = 0;

  if(!run->subject_name)
    return gw_map_fail(run, GW_MAP_BAD_VALUE, path,
                       "name_agrees needs the name of the subject asked about (none given)");
  if(memchr(s, '\0', n) || normalise(s, n, a, &an))
    return gw_map_fail(run, GW_MAP_BAD_VALUE, path,
                       "the record's name is not UTF-8 text of at most %u bytes", GW_MAP_MAX_NAME);
  if(normalise(run->subject_name, strlen(run->subject_name), b, &bn))
    return gw_map_fail(run, GW_MAP_BAD_VALUE, path,
                       "the subject's name is not UTF-8 text of at most %u bytes", GW_MAP_MAX_NAME);
  if(!an) {
    OPENSSL_cleanse(b, sizeof(b));
    return gw_map_fail(run, GW_MAP_ABSENT, path, "the record's name is blank");
  }
  *agrees = an == bn && !memcmp(a, b, (size_t)an * sizeof(UChar));
  OPENSSL_cleanse(a, sizeof(a));
  OPENSSL_cleanse(b, sizeof(b));
  return GW_MAP_OK;
}
