/*
 * jsonw.c - the JSON text writer (gw/jsonw.h).
 */
#include "jsonw.h"

#include <assert.h>
#include <string.h>

#include "gw/alloc.h"
#include "utf8.h"

void gw_jw_init(struct gw_jw *w, size_t hint)
{
  memset(w, 0, sizeof(*w));
  w->cap = hint < 64 ? 64 : hint;
  w->buf = gw_malloc(w->cap);
  w->first[0] = 1;
}

void gw_jw_free(struct gw_jw *w)
{
  gw_free(w->buf);
  memset(w, 0, sizeof(*w));
}

static void reserve(struct gw_jw *w, size_t more)
{
  if(w->len + more <= w->cap)
    return;
  while(w->len + more > w->cap)
    w->cap *= 2;
  w->buf = gw_realloc(w->buf, w->cap);
}

static void put(struct gw_jw *w, const char *s, size_t n)
{
  reserve(w, n);
  memcpy(w->buf + w->len, s, n);
  w->len += n;
}

static void putc1(struct gw_jw *w, char c)
{
  reserve(w, 1);
  w->buf[w->len++] = c;
}

/* Before any value or key: the comma that separates it from the previous
 * one, unless it is the value of the key just written. */
static void sep(struct gw_jw *w)
{
  if(w->after_key) {
    w->after_key = 0;
    return;
  }
  if(!w->first[w->depth]) {
    if(w->depth == 0)
      w->spoiled = 1;           /* one document holds one value */
    putc1(w, ',');
  }
  w->first[w->depth] = 0;
}

/* What a byte asks of the string writer: 0 copy it, 1 escape it, 2 it
 * starts (or wrongly continues) a multi-byte sequence to be checked. */
static const unsigned char byte_class[256] = {
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,   /* '"' */
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,   /* '\\' */
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
  2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
  2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
  2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
  2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
  2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
  2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
  2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
};

/* s[0..n) as a JSON string literal, in one pass: runs of plain bytes are
 * copied whole, multi-byte sequences checked as they come; invalid UTF-8
 * spoils the writer. */
static void quoted(struct gw_jw *w, const char *s, size_t n)
{
  static const char hex[] = "0123456789abcdef";
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0, run = 0;

  reserve(w, n + 2);
  w->buf[w->len++] = '"';
  while(i < n) {
    unsigned char c = p[i];
    char esc[6];
    size_t elen = 2;
    switch(byte_class[c]) {
    case 0:
      i++;
      continue;
    case 2: {
      uint32_t cp;
      size_t k = gw_utf8_next(p + i, n - i, &cp);
      if(!k) {
        w->spoiled = 1;
        return;
      }
      i += k;
      continue;
    }
    default:
      break;
    }
    put(w, s + run, i - run);
    run = ++i;
    esc[0] = '\\';
    switch(c) {
    case '"': esc[1] = '"'; break;
    case '\\': esc[1] = '\\'; break;
    case '\b': esc[1] = 'b'; break;
    case '\f': esc[1] = 'f'; break;
    case '\n': esc[1] = 'n'; break;
    case '\r': esc[1] = 'r'; break;
    case '\t': esc[1] = 't'; break;
    default:
      esc[1] = 'u'; esc[2] = '0'; esc[3] = '0';
      esc[4] = hex[c >> 4]; esc[5] = hex[c & 15];
      elen = 6;
    }
    put(w, esc, elen);
  }
  put(w, s + run, n - run);
  putc1(w, '"');
}

static void open_with(struct gw_jw *w, char c)
{
  sep(w);
  if(w->depth + 1 >= GW_JW_MAX_DEPTH) {
    w->spoiled = 1;
    return;
  }
  putc1(w, c);
  w->first[++w->depth] = 1;
}

void gw_jw_open(struct gw_jw *w)
{
  open_with(w, '{');
}

void gw_jw_open_array(struct gw_jw *w)
{
  open_with(w, '[');
}

static void close_with(struct gw_jw *w, char c)
{
  if(w->depth == 0 || w->after_key) {
    w->spoiled = 1;
    return;
  }
  w->depth--;
  putc1(w, c);
}

void gw_jw_close(struct gw_jw *w)
{
  close_with(w, '}');
}

void gw_jw_close_array(struct gw_jw *w)
{
  close_with(w, ']');
}

void gw_jw_key(struct gw_jw *w, const char *key)
{
  if(w->after_key || w->depth == 0) {
    w->spoiled = 1;
    return;
  }
  sep(w);
  quoted(w, key, strlen(key));
  putc1(w, ':');
  w->after_key = 1;
}

void gw_jw_strn(struct gw_jw *w, const char *s, size_t n)
{
  sep(w);
  quoted(w, s, n);
}

void gw_jw_str(struct gw_jw *w, const char *s)
{
  gw_jw_strn(w, s, strlen(s));
}

void gw_jw_plain(struct gw_jw *w, const char *s, size_t n)
{
#ifndef NDEBUG
  for(size_t i = 0; i < n; i++)
    assert(s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\');
#endif
  sep(w);
  reserve(w, n + 2);
  w->buf[w->len++] = '"';
  memcpy(w->buf + w->len, s, n);
  w->len += n;
  w->buf[w->len++] = '"';
}

void gw_jw_int(struct gw_jw *w, int64_t v)
{
  char num[24], *p = num + sizeof(num);
  /* the magnitude as unsigned: -INT64_MIN does not fit an int64_t */
  uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  do {
    *--p = (char)('0' + u % 10);
    u /= 10;
  } while(u);
  if(v < 0)
    *--p = '-';
  sep(w);
  put(w, p, (size_t)(num + sizeof(num) - p));
}

void gw_jw_bool(struct gw_jw *w, int v)
{
  sep(w);
  if(v)
    put(w, "true", 4);
  else
    put(w, "false", 5);
}

void gw_jw_null(struct gw_jw *w)
{
  sep(w);
  put(w, "null", 4);
}

void gw_jw_raw(struct gw_jw *w, const char *json, size_t n)
{
  sep(w);
  put(w, json, n);
}

void gw_jw_kstr(struct gw_jw *w, const char *key, const char *s)
{
  gw_jw_key(w, key);
  gw_jw_str(w, s);
}

void gw_jw_kint(struct gw_jw *w, const char *key, int64_t v)
{
  gw_jw_key(w, key);
  gw_jw_int(w, v);
}

void gw_jw_kbool(struct gw_jw *w, const char *key, int v)
{
  gw_jw_key(w, key);
  gw_jw_bool(w, v);
}

const char *gw_jw_peek(const struct gw_jw *w, size_t *len)
{
  if(w->spoiled)
    return NULL;
  *len = w->len;
  return w->buf;
}

char *gw_jw_finish(struct gw_jw *w, size_t *len)
{
  char *out = NULL;

  if(!w->spoiled && w->depth == 0 && !w->after_key && w->len) {
    reserve(w, 1);
    w->buf[w->len] = '\0';
    out = w->buf;
    if(len)
      *len = w->len;
    w->buf = NULL;
  }
  gw_jw_free(w);
  return out;
}
