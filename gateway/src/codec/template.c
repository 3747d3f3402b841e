/*
 * template.c - request template expansion with per-context escaping.
 *
 * The one idea: a template is split into literal runs and placeholders by a
 * single scanner (next_placeholder) that both gw_template_check and
 * gw_template_expand use, so the loader and the runtime can never disagree
 * about what a template means.  Each value is decoded as UTF-8 code point by
 * code point and every code point is either written in the context's escaped
 * form or refused; nothing is ever emitted "as is, hoping".  The output grows
 * in a buffer that refuses to pass GW_TEMPLATE_MAX_OUTPUT instead of growing.
 */
#include "template.h"
#include "msg.h"

#include "gw/alloc.h"
#include "utf8.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

enum placeholder {
  PH_SUBJECT_ID = 0,
  PH_SUBJECT_NAME,
  PH_REQUEST_ID,
  PH_NOW
};

static const struct {
  const char *name;
  enum placeholder ph;
} placeholders[] = {
  { "subject.id", PH_SUBJECT_ID },
  { "subject.name", PH_SUBJECT_NAME },
  { "request_id", PH_REQUEST_ID },
  { "now", PH_NOW },
};

/* Longest placeholder name we bother to quote in an error message. */
#define NAME_QUOTE_MAX 32

/* An output buffer with a hard cap: appends past `max` fail, never grow. */
struct tbuf {
  char *p;
  size_t len;
  size_t cap;
  size_t max;
};

static int tbuf_add(struct tbuf *b, const char *s, size_t n)
  __attribute__((warn_unused_result));

static int tbuf_add(struct tbuf *b, const char *s, size_t n)
{
  if(n > b->max - b->len)
    return -1;
  if(b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while(cap < b->len + n + 1)
      cap *= 2;
    if(cap > b->max + 1)
      cap = b->max + 1;
    b->p = gw_realloc(b->p, cap);
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
  return 0;
}

/* Appends code point `cp` (whose UTF-8 bytes are raw[0..rawlen)) in the
 * escaped form of `esc`.  Returns GW_TEMPLATE_OK, GW_TEMPLATE_FORBIDDEN_CHAR
 * or GW_TEMPLATE_TOO_LARGE. */
static enum gw_template_result put_escaped(struct tbuf *b, enum gw_esc esc, uint32_t cp,
                                           const unsigned char *raw, size_t rawlen)
{
  static const char hex[] = "0123456789ABCDEF";
  char tmp[16];
  const char *s = (const char *)raw;
  size_t n = rawlen;

  if(cp == 0)
    return GW_TEMPLATE_FORBIDDEN_CHAR;
  switch(esc) {
  case GW_ESC_XML:
    if(cp < 0x20 && cp != 0x9 && cp != 0xA && cp != 0xD)
      return GW_TEMPLATE_FORBIDDEN_CHAR;
    if(cp == 0xFFFE || cp == 0xFFFF)
      return GW_TEMPLATE_FORBIDDEN_CHAR;
    switch(cp) {
    case '&': s = "&amp;"; break;
    case '<': s = "&lt;"; break;
    case '>': s = "&gt;"; break;
    case '"': s = "&quot;"; break;
    case '\'': s = "&apos;"; break;
    case 0x9: s = "&#x9;"; break;
    case 0xA: s = "&#xA;"; break;
    case 0xD: s = "&#xD;"; break;
    default: s = NULL; break;
    }
    if(s)
      n = strlen(s);
    else
      s = (const char *)raw;
    break;
  case GW_ESC_JSON:
    if(cp == '"') {
      s = "\\\"";
      n = 2;
    }
    else if(cp == '\\') {
      s = "\\\\";
      n = 2;
    }
    else if(cp < 0x20 || cp == 0x2028 || cp == 0x2029) {
      tmp[0] = '\\';
      tmp[1] = 'u';
      tmp[2] = hex[(cp >> 12) & 0xF];
      tmp[3] = hex[(cp >> 8) & 0xF];
      tmp[4] = hex[(cp >> 4) & 0xF];
      tmp[5] = hex[cp & 0xF];
      s = tmp;
      n = 6;
    }
    break;
  case GW_ESC_URL:
    if((cp >= 'A' && cp <= 'Z') || (cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9') ||
       cp == '-' || cp == '.' || cp == '_' || cp == '~')
      break;
    n = 0;
    for(size_t i = 0; i < rawlen; i++) {
      tmp[n++] = '%';
      tmp[n++] = hex[raw[i] >> 4];
      tmp[n++] = hex[raw[i] & 0xF];
    }
    s = tmp;
    break;
  case GW_ESC_HEADER:
    if((cp < 0x20 && cp != 0x9) || cp == 0x7F)
      return GW_TEMPLATE_FORBIDDEN_CHAR;
    break;
  default:
    return GW_TEMPLATE_FORBIDDEN_CHAR;
  }
  return tbuf_add(b, s, n) ? GW_TEMPLATE_TOO_LARGE : GW_TEMPLATE_OK;
}

/* Appends value v[0..n) escaped for `esc`.  `what` names the placeholder for
 * error messages; the value itself is never quoted (personal data). */
static enum gw_template_result put_value(struct tbuf *b, enum gw_esc esc, const char *v,
                                         size_t n, const char *what, char *err, size_t errlen)
{
  const unsigned char *p = (const unsigned char *)v;
  size_t i = 0;

  if(n > GW_TEMPLATE_MAX_VALUE) {
    gw_msg_set(err, errlen, "value of {{%s}} is %zu bytes, over the cap of %u", what, n,
             GW_TEMPLATE_MAX_VALUE);
    return GW_TEMPLATE_TOO_LARGE;
  }
  while(i < n) {
    uint32_t cp;
    size_t len = gw_utf8_next(p + i, n - i, &cp);
    enum gw_template_result r;

    if(!len) {
      gw_msg_set(err, errlen, "value of {{%s}} is not valid UTF-8 (byte %zu)", what, i);
      return GW_TEMPLATE_BAD_UTF8;
    }
    r = put_escaped(b, esc, cp, p + i, len);
    if(r == GW_TEMPLATE_FORBIDDEN_CHAR) {
      gw_msg_set(err, errlen, "value of {{%s}} holds U+%04X, which this context cannot carry",
               what, (unsigned)cp);
      return r;
    }
    if(r != GW_TEMPLATE_OK) {
      gw_msg_set(err, errlen, "expanded template exceeds the cap of %u bytes",
               GW_TEMPLATE_MAX_OUTPUT);
      return r;
    }
    i += len;
  }
  return GW_TEMPLATE_OK;
}

/* Finds the next placeholder at or after `s` (tmpl is the template start,
 * for offsets).  Returns 1 and sets *open (the first '{'), *close (just past
 * the closing "}}") and *ph; 0 when there is none; -1 with err set when a
 * "{{" is not a well-formed known placeholder. */
static int next_placeholder(const char *tmpl, const char *s, const char **open,
                            const char **close, enum placeholder *ph,
                            enum gw_template_result *why, char *err, size_t errlen)
{
  const char *o = strstr(s, "{{"), *p, *name, *end;
  size_t nlen;

  if(!o)
    return 0;
  p = o + 2;
  while(*p == ' ' || *p == '\t')
    p++;
  name = p;
  while((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
        *p == '.' || *p == '_' || *p == '-')
    p++;
  nlen = (size_t)(p - name);
  end = p;
  while(*p == ' ' || *p == '\t')
    p++;
  if(p[0] != '}' || p[1] != '}' || !nlen) {
    *why = GW_TEMPLATE_SYNTAX;
    gw_msg_set(err, errlen, "malformed or unterminated placeholder at offset %zu",
             (size_t)(o - tmpl));
    return -1;
  }
  for(size_t i = 0; i < sizeof(placeholders) / sizeof(placeholders[0]); i++) {
    if(strlen(placeholders[i].name) == nlen && !memcmp(placeholders[i].name, name, nlen)) {
      *open = o;
      *close = p + 2;
      *ph = placeholders[i].ph;
      return 1;
    }
  }
  *why = GW_TEMPLATE_UNKNOWN;
  if(nlen <= NAME_QUOTE_MAX)
    gw_msg_set(err, errlen, "unknown placeholder {{%.*s}} at offset %zu", (int)(end - name),
             name, (size_t)(o - tmpl));
  else
    gw_msg_set(err, errlen, "unknown placeholder at offset %zu", (size_t)(o - tmpl));
  return -1;
}

/* XML markup state of the template's literal text, just enough to know
 * whether a placeholder would land inside a CDATA section or a comment,
 * where entity escaping does not apply. */
enum xml_state {
  XS_TEXT = 0,
  XS_CDATA,
  XS_COMMENT
};

static enum xml_state xml_scan(enum xml_state st, const char *s, size_t n)
{
  size_t i = 0;
  while(i < n) {
    if(st == XS_TEXT && n - i >= 9 && !memcmp(s + i, "<![CDATA[", 9)) {
      st = XS_CDATA;
      i += 9;
    }
    else if(st == XS_TEXT && n - i >= 4 && !memcmp(s + i, "<!--", 4)) {
      st = XS_COMMENT;
      i += 4;
    }
    else if(st == XS_CDATA && n - i >= 3 && !memcmp(s + i, "]]>", 3)) {
      st = XS_TEXT;
      i += 3;
    }
    else if(st == XS_COMMENT && n - i >= 3 && !memcmp(s + i, "-->", 3)) {
      st = XS_TEXT;
      i += 3;
    }
    else
      i++;
  }
  return st;
}

/* Literal template text: header templates are checked like values, the
 * others are copied (they are the adapter author's markup). */
static enum gw_template_result put_literal(struct tbuf *b, enum gw_esc esc, const char *tmpl,
                                           const char *s, size_t n, char *err, size_t errlen)
{
  if(esc == GW_ESC_HEADER) {
    for(size_t i = 0; i < n; i++) {
      unsigned char c = (unsigned char)s[i];
      if((c < 0x20 && c != '\t') || c == 0x7F) {
        gw_msg_set(err, errlen, "header template holds control 0x%02X at offset %zu", c,
                 (size_t)(s + i - tmpl));
        return GW_TEMPLATE_SYNTAX;
      }
    }
  }
  if(tbuf_add(b, s, n)) {
    gw_msg_set(err, errlen, "expanded template exceeds the cap of %u bytes",
             GW_TEMPLATE_MAX_OUTPUT);
    return GW_TEMPLATE_TOO_LARGE;
  }
  return GW_TEMPLATE_OK;
}

static enum gw_template_result put_placeholder(struct tbuf *b, enum gw_esc esc,
                                               enum placeholder ph,
                                               const struct gw_template_values *v,
                                               char *err, size_t errlen)
{
  char now[32];
  struct tm tm;

  switch(ph) {
  case PH_SUBJECT_ID:
    if(!v->subject_id)
      break;
    return put_value(b, esc, v->subject_id, strlen(v->subject_id), "subject.id", err, errlen);
  case PH_SUBJECT_NAME:
    if(!v->subject_name)
      break;
    return put_value(b, esc, v->subject_name, v->subject_name_len, "subject.name", err,
                     errlen);
  case PH_REQUEST_ID:
    if(!v->request_id)
      break;
    return put_value(b, esc, v->request_id, strlen(v->request_id), "request_id", err, errlen);
  case PH_NOW:
    if(!gmtime_r(&v->now, &tm) || !strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm)) {
      gw_msg_set(err, errlen, "value of {{now}} cannot be rendered");
      return GW_TEMPLATE_MISSING;
    }
    return put_value(b, esc, now, strlen(now), "now", err, errlen);
  }
  gw_msg_set(err, errlen, "no value for {{%s}}", placeholders[ph].name);
  return GW_TEMPLATE_MISSING;
}

enum gw_template_result gw_template_expand(const char *tmpl, enum gw_esc esc,
                                           const struct gw_template_values *v,
                                           char **out, size_t *out_len,
                                           char *err, size_t errlen)
{
  struct tbuf b = { NULL, 0, 0, GW_TEMPLATE_MAX_OUTPUT };
  enum gw_template_result r = GW_TEMPLATE_OK;
  enum xml_state xs = XS_TEXT;
  const char *s = tmpl, *open, *close;
  enum placeholder ph;
  int found;

  *out = NULL;
  if(out_len)
    *out_len = 0;
  if(strnlen(tmpl, GW_TEMPLATE_MAX_TEMPLATE + 1) > GW_TEMPLATE_MAX_TEMPLATE) {
    gw_msg_set(err, errlen, "template longer than %u bytes", GW_TEMPLATE_MAX_TEMPLATE);
    return GW_TEMPLATE_SYNTAX;
  }
  r = GW_TEMPLATE_TOO_LARGE;
  if(tbuf_add(&b, "", 0))
    goto fail;
  r = GW_TEMPLATE_OK;
  while((found = next_placeholder(tmpl, s, &open, &close, &ph, &r, err, errlen)) > 0) {
    r = put_literal(&b, esc, tmpl, s, (size_t)(open - s), err, errlen);
    if(r != GW_TEMPLATE_OK)
      goto fail;
    if(esc == GW_ESC_XML) {
      xs = xml_scan(xs, s, (size_t)(open - s));
      if(xs != XS_TEXT) {
        gw_msg_set(err, errlen, "placeholder inside an XML %s at offset %zu",
                 xs == XS_CDATA ? "CDATA section" : "comment", (size_t)(open - tmpl));
        r = GW_TEMPLATE_SYNTAX;
        goto fail;
      }
    }
    r = put_placeholder(&b, esc, ph, v, err, errlen);
    if(r != GW_TEMPLATE_OK)
      goto fail;
    s = close;
  }
  if(found < 0)
    goto fail;
  r = put_literal(&b, esc, tmpl, s, strlen(s), err, errlen);
  if(r != GW_TEMPLATE_OK)
    goto fail;
  *out = b.p;
  if(out_len)
    *out_len = b.len;
  return GW_TEMPLATE_OK;

fail:
  gw_free(b.p);
  return r;
}

int gw_template_check(const char *tmpl, char *err, size_t errlen)
{
  enum gw_template_result why = GW_TEMPLATE_OK;
  const char *s = tmpl, *open, *close;
  enum placeholder ph;
  int found;

  if(strnlen(tmpl, GW_TEMPLATE_MAX_TEMPLATE + 1) > GW_TEMPLATE_MAX_TEMPLATE) {
    gw_msg_set(err, errlen, "template longer than %u bytes", GW_TEMPLATE_MAX_TEMPLATE);
    return -1;
  }
  while((found = next_placeholder(tmpl, s, &open, &close, &ph, &why, err, errlen)) > 0)
    s = close;
  return found < 0 ? -1 : 0;
}

const char *gw_template_strerror(enum gw_template_result r)
{
  switch(r) {
  case GW_TEMPLATE_OK: return "ok";
  case GW_TEMPLATE_SYNTAX: return "malformed template";
  case GW_TEMPLATE_UNKNOWN: return "unknown placeholder";
  case GW_TEMPLATE_MISSING: return "placeholder value missing";
  case GW_TEMPLATE_BAD_UTF8: return "value is not valid UTF-8";
  case GW_TEMPLATE_FORBIDDEN_CHAR: return "value holds a character the context cannot carry";
  case GW_TEMPLATE_TOO_LARGE: return "value or output too large";
  }
  return "unknown result";
}
