/*
 * utf8.c - the strict UTF-8 decoder (gw/utf8.h).
 */
#include "utf8.h"

size_t gw_utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
  uint32_t c;
  size_t len;

  if(s[0] < 0x80) {
    *cp = s[0];
    return 1;
  }
  if(s[0] >= 0xC2 && s[0] <= 0xDF) {
    len = 2;
    c = s[0] & 0x1Fu;
  }
  else if(s[0] >= 0xE0 && s[0] <= 0xEF) {
    len = 3;
    c = s[0] & 0x0Fu;
  }
  else if(s[0] >= 0xF0 && s[0] <= 0xF4) {
    len = 4;
    c = s[0] & 0x07u;
  }
  else
    return 0;
  if(n < len)
    return 0;
  for(size_t i = 1; i < len; i++) {
    if((s[i] & 0xC0) != 0x80)
      return 0;
    c = (c << 6) | (s[i] & 0x3Fu);
  }
  if((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) || c > 0x10FFFF ||
     (c >= 0xD800 && c <= 0xDFFF))
    return 0;
  *cp = c;
  return len;
}
