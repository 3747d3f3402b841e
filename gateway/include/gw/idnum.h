/*
 * gw/idnum.h - GB 11643-1999 resident identity numbers.
 *
 * An identity number is 18 characters: a 6-digit administrative region code,
 * an 8-digit birth date (YYYYMMDD), a 3-digit sequence number and an ISO 7064
 * MOD 11-2 check character (0-9 or X).  The gateway validates every number
 * before anything leaves it; the mock agencies use the same code, so both
 * sides agree on what is valid.  Nothing here logs or keeps the number.
 */
#ifndef GW_IDNUM_H
#define GW_IDNUM_H

#include <stddef.h>

#define GW_IDNUM_LEN 18

enum gw_idnum_result {
  GW_IDNUM_OK = 0,
  GW_IDNUM_LENGTH,      /* not exactly 18 characters */
  GW_IDNUM_CHARSET,     /* first 17 not digits, or last not digit/X/x */
  GW_IDNUM_REGION,      /* unknown province-level region code */
  GW_IDNUM_BIRTH_DATE,  /* not a real date, before 1800 or in the future */
  GW_IDNUM_CHECKSUM     /* check character does not match */
};

/* Validates `in` (NUL-terminated) and, when valid, writes the normalized
 * number (lowercase x turned into X) and a NUL into out[19].  `out` is left
 * untouched on error.  The birth date must not lie after `today_yyyymmdd`
 * (e.g. 20261128); pass 0 to use the current UTC date. */
enum gw_idnum_result gw_idnum_normalize(const char *in, char out[GW_IDNUM_LEN + 1],
                                        int today_yyyymmdd)
  __attribute__((warn_unused_result));

/* The ISO 7064 MOD 11-2 check character ('0'-'9' or 'X') for the first 17
 * digits of `first17`.  The caller guarantees 17 ASCII digits. */
char gw_idnum_check_char(const char *first17);

/* A short English description of a result, e.g. "check character does not
 * match".  Static storage; never NULL. */
const char *gw_idnum_strerror(enum gw_idnum_result r);

#endif
