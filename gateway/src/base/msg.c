/*
 * msg.c - writing error messages (see msg.h).
 *
 * The one idea: outside text is repeated by shape, never by value.  Digits
 * are what identity numbers, phone numbers and account numbers are made of,
 * and no message needs them to say what was wrong: "case_####: unknown
 * field" names the field as well as the original did.
 */
#include "msg.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "utf8.h"

int gw_msg_set(char *err, size_t errlen, const char *fmt, ...)
{
  va_list ap;
  if(err && errlen) {
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return -1;
}

char *gw_msg_echo(const char *s, size_t n, size_t max, char *buf, size_t buflen)
{
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0, o = 0;

  if(!buflen)
    return buf;
  while(i < n && i < max) {
    uint32_t cp;
    size_t len = gw_utf8_next(u + i, n - i, &cp);
    if(len > 1 && (i + len > max || o + len >= buflen))
      break;                    /* a sequence is shown whole or not at all */
    if(o + 1 >= buflen)
      break;
    if(len == 0 || cp < 0x20 || (cp >= 0x7F && cp < 0xA0)) {
      buf[o++] = '?';
      i += len ? len : 1;
    }
    else if(len == 1) {
      buf[o++] = (u[i] >= '0' && u[i] <= '9') ? '#' : (char)u[i];
      i++;
    }
    else {
      memcpy(buf + o, u + i, len);
      o += len;
      i += len;
    }
  }
  if(i < n && o + 3 < buflen) {
    memcpy(buf + o, "...", 3);
    o += 3;
  }
  buf[o] = '\0';
  return buf;
}

char *gw_msg_echo_str(const char *s, char *buf, size_t buflen)
{
  return gw_msg_echo(s, strlen(s), GW_MSG_ECHO_MAX, buf, buflen);
}
