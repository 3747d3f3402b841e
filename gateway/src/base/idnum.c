/*
 * idnum.c - GB 11643 resident identity number validation.
 *
 * The one idea: validate structure first (length, charset), then meaning
 * (region, date), then the check character, so each error names the first
 * thing that is wrong.  No allocation, no locale, no logging.
 */
#include "gw/idnum.h"

#include <time.h>

/* Province-level codes of GB/T 2260 (first two digits of the region code). */
static const unsigned char province_codes[] = {
  11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37,
  41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65,
  71, 81, 82, 83
};

static const int weights[17] = { 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2 };

char gw_idnum_check_char(const char *first17)
{
  static const char map[] = "10X98765432";
  int sum = 0;
  for(int i = 0; i < 17; i++)
    sum += (first17[i] - '0') * weights[i];
  return map[sum % 11];
}

static int is_leap(int y)
{
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int digits(const char *s, int n)
{
  int v = 0;
  for(int i = 0; i < n; i++)
    v = v * 10 + (s[i] - '0');
  return v;
}

static int today_utc(void)
{
  time_t now = time(NULL);
  struct tm tm;
  if(!gmtime_r(&now, &tm))
    return 99991231;
  return (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

enum gw_idnum_result gw_idnum_normalize(const char *in, char out[GW_IDNUM_LEN + 1],
                                        int today_yyyymmdd)
{
  static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
  size_t len = 0;
  int province, y, m, d, maxd, found = 0;
  char last;

  while(len <= GW_IDNUM_LEN && in[len])
    len++;
  if(len != GW_IDNUM_LEN)
    return GW_IDNUM_LENGTH;
  for(int i = 0; i < 17; i++)
    if(in[i] < '0' || in[i] > '9')
      return GW_IDNUM_CHARSET;
  last = in[17] == 'x' ? 'X' : in[17];
  if(!(last == 'X' || (last >= '0' && last <= '9')))
    return GW_IDNUM_CHARSET;

  province = digits(in, 2);
  for(size_t i = 0; i < sizeof(province_codes); i++)
    if(province_codes[i] == province)
      found = 1;
  if(!found)
    return GW_IDNUM_REGION;

  y = digits(in + 6, 4);
  m = digits(in + 10, 2);
  d = digits(in + 12, 2);
  if(y < 1800 || m < 1 || m > 12)
    return GW_IDNUM_BIRTH_DATE;
  maxd = mdays[m - 1] + (m == 2 && is_leap(y));
  if(d < 1 || d > maxd)
    return GW_IDNUM_BIRTH_DATE;
  if(!today_yyyymmdd)
    today_yyyymmdd = today_utc();
  if(y * 10000 + m * 100 + d > today_yyyymmdd)
    return GW_IDNUM_BIRTH_DATE;

  if(gw_idnum_check_char(in) != last)
    return GW_IDNUM_CHECKSUM;

  for(int i = 0; i < 17; i++)
    out[i] = in[i];
  out[17] = last;
  out[18] = '\0';
  return GW_IDNUM_OK;
}

const char *gw_idnum_strerror(enum gw_idnum_result r)
{
  switch(r) {
  case GW_IDNUM_OK:         return "valid";
  case GW_IDNUM_LENGTH:     return "must be exactly 18 characters";
  case GW_IDNUM_CHARSET:    return "must be 17 digits followed by a digit or X";
  case GW_IDNUM_REGION:     return "unknown region code";
  case GW_IDNUM_BIRTH_DATE: return "birth date is not a real past date";
  case GW_IDNUM_CHECKSUM:   return "check character does not match";
  }
  return "unknown error";
}
