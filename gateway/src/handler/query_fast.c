/*
 * query_fast.c - the fast path of the query body parser (query_int.h).
 *
 * The one idea: nearly every body the approval engine sends is the same
 * plain shape, and reading it into a jansson tree cost more than the rest of
 * a cached query's logic.  This scanner reads only a strict subset of JSON
 * in that shape, straight off the bytes, and gives up on everything else:
 * any backslash escape, a key it does not know, a repeated key, a value of
 * another type, a number with a fraction or exponent or more than 18
 * digits, a control byte or invalid UTF-8 in a string, anything after the
 * closing brace.  Giving up costs nothing but time: the caller then runs
 * the full jansson reader of query_body.c.  This file judges no value: it
 * only finds the slices of the members (struct query_body), which
 * query_body_check judges by the same rules whichever reader found them.
 * The fuzz harness (fuzz_query_parse) checks that whatever this scanner
 * reads, the full reader reads to the same verdict, detail and values.
 */
#include "query_int.h"

#include <string.h>

#include "utf8.h"

struct scan {
  const char *p, *end;
};

static void ws(struct scan *s)
{
  while(s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
    s->p++;
}

static int eat(struct scan *s, char c)
{
  ws(s);
  if(s->p < s->end && *s->p == c) {
    s->p++;
    return 1;
  }
  return 0;
}

/* A string without escapes: its bytes (between the quotes) and length.
 * Keys (ascii_only) must be printable ASCII; values valid UTF-8 without
 * control bytes. */
static int string(struct scan *s, const char **out, size_t *len, int ascii_only)
{
  const unsigned char *p, *end = (const unsigned char *)s->end;

  if(!eat(s, '"'))
    return -1;
  p = (const unsigned char *)s->p;
  while(p < end && *p != '"') {
    uint32_t cp;
    size_t k;
    if(*p == '\\' || *p < 0x20)
      return -1;
    if(*p < 0x80) {
      p++;
      continue;
    }
    if(ascii_only || !(k = gw_utf8_next(p, (size_t)(end - p), &cp)))
      return -1;
    p += k;
  }
  if(p >= end)
    return -1;
  *out = s->p;
  *len = (size_t)((const char *)p - s->p);
  s->p = (const char *)p + 1;
  return 0;
}

/* An integer: -?(0|[1-9][0-9]*), at most 18 digits, not followed by a
 * fraction or an exponent. */
static int integer(struct scan *s, int64_t *out)
{
  int neg = 0, digits = 0;
  int64_t v = 0;

  ws(s);
  if(s->p < s->end && *s->p == '-') {
    neg = 1;
    s->p++;
  }
  if(s->p >= s->end || *s->p < '0' || *s->p > '9')
    return -1;
  if(*s->p == '0' && s->p + 1 < s->end && s->p[1] >= '0' && s->p[1] <= '9')
    return -1;                  /* a leading zero */
  while(s->p < s->end && *s->p >= '0' && *s->p <= '9') {
    if(++digits > 18)
      return -1;
    v = v * 10 + (*s->p++ - '0');
  }
  if(s->p < s->end && (*s->p == '.' || *s->p == 'e' || *s->p == 'E'))
    return -1;
  *out = neg ? -v : v;
  return 0;
}

static int literal(struct scan *s, int *out)
{
  ws(s);
  if(s->end - s->p >= 4 && !memcmp(s->p, "true", 4)) {
    s->p += 4;
    *out = 1;
    return 0;
  }
  if(s->end - s->p >= 5 && !memcmp(s->p, "false", 5)) {
    s->p += 5;
    *out = 0;
    return 0;
  }
  return -1;
}

static int key_is(const char *k, size_t n, const char *want)
{
  return strlen(want) == n && !memcmp(k, want, n);
}

static int subject(struct scan *s, struct query_body *b)
{
  int seen = 0;                 /* bits: id_type, id, name */

  if(!eat(s, '{'))
    return -1;
  do {
    const char *k, *v;
    size_t kn, vn;
    int bit;
    if(string(s, &k, &kn, 1) || !eat(s, ':') || string(s, &v, &vn, 0))
      return -1;
    if(key_is(k, kn, "id_type")) {
      bit = 1;
      b->id_type.p = v;
      b->id_type.n = vn;
    }
    else if(key_is(k, kn, "id")) {
      bit = 2;
      b->id.p = v;
      b->id.n = vn;
    }
    else if(key_is(k, kn, "name")) {
      bit = 4;
      b->name.p = v;
      b->name.n = vn;
    }
    else
      return -1;
    if(seen & bit)
      return -1;
    seen |= bit;
  } while(eat(s, ','));
  if(!eat(s, '}') || seen != 7)
    return -1;
  b->subject_ok = 1;
  return 0;
}

static int facts(struct scan *s, struct query_body *b)
{
  if(!eat(s, '['))
    return -1;
  do {
    if(b->n_facts == QUERY_MAX_FACTS ||
       string(s, &b->fact[b->n_facts].p, &b->fact[b->n_facts].n, 1))
      return -1;
    b->n_facts++;
  } while(eat(s, ','));
  if(!eat(s, ']'))
    return -1;
  b->facts = QUERY_M_OK;
  return 0;
}

int query_scan_fast(const char *body, size_t len, struct query_body *b)
{
  struct scan s = { body, body + len };
  unsigned seen = 0;

  memset(b, 0, sizeof(*b));
  if(!eat(&s, '{'))
    return -1;
  do {
    const char *k;
    size_t kn;
    unsigned bit;
    int rc;
    if(string(&s, &k, &kn, 1) || !eat(&s, ':'))
      return -1;
    if(key_is(k, kn, "subject")) {
      bit = 1;
      rc = subject(&s, b);
    }
    else if(key_is(k, kn, "facts")) {
      bit = 2;
      rc = facts(&s, b);
    }
    else if(key_is(k, kn, "purpose")) {
      bit = 4;
      rc = string(&s, &b->purpose.p, &b->purpose.n, 1);
    }
    else if(key_is(k, kn, "case_ref")) {
      bit = 8;
      rc = string(&s, &b->case_ref.p, &b->case_ref.n, 1);
      b->case_ref_m = QUERY_M_OK;
    }
    else if(key_is(k, kn, "deadline_ms")) {
      bit = 16;
      rc = integer(&s, &b->deadline_ms);
      b->deadline_m = QUERY_M_OK;
    }
    else if(key_is(k, kn, "max_age_s")) {
      bit = 32;
      rc = integer(&s, &b->max_age_s);
      b->max_age_m = QUERY_M_OK;
    }
    else if(key_is(k, kn, "sign")) {
      bit = 64;
      rc = literal(&s, &b->sign);
      b->sign_m = QUERY_M_OK;
    }
    else
      return -1;
    if(rc || (seen & bit))
      return -1;
    seen |= bit;
  } while(eat(&s, ','));
  if(!eat(&s, '}'))
    return -1;
  ws(&s);
  return s.p == s.end && (seen & 7) == 7 ? 0 : -1;
}
