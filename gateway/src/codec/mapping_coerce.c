/*
 * mapping_coerce.c - type coercion of agency values into fact values, and
 * the bookkeeping of a mapping run (budget, location, messages).
 *
 * The one idea: both response languages reduce a selected value to one of
 * four shapes - text, a double, a JSON integer, a boolean - and each shape
 * has exactly one coercion per fact type here, so XML and JSON adapters
 * cannot drift apart in what "a date" or "an int" means.  Text is parsed
 * strictly by hand (no strtol/sscanf leniency: no leading blanks, no "0x",
 * no trailing junk), and every value that fails is quoted, cut short and
 * escaped in the message.
 */
#include "mapping_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes of an offending value quoted in a message. */
#define QUOTE_MAX 40
/* Longest text we try to read as a number. */
#define NUMBER_TEXT_MAX 64
/* Output bytes charged for a non-string scalar and per string. */
#define SCALAR_COST 24
#define STRING_OVERHEAD 8
/* 2^53: integral doubles up to this are exact JSON integers. */
#define EXACT_INT_MAX 9007199254740992.0

const char *gw_map_type_name(enum gw_value_type t)
{
  switch(t) {
  case GW_TYPE_STRING: return "a string";
  case GW_TYPE_INT: return "an integer";
  case GW_TYPE_NUMBER: return "a number";
  case GW_TYPE_BOOL: return "a boolean";
  case GW_TYPE_DATE: return "a date";
  case GW_TYPE_ENUM: return "a known value";
  case GW_TYPE_NAME_AGREES: return "a name";
  }
  return "a value";
}

void gw_map_run_init(struct gw_map_run *run, char *err, size_t errlen)
{
  memset(run, 0, sizeof(*run));
  run->err = err;
  run->errlen = errlen;
  if(err && errlen)
    err[0] = '\0';
}

enum gw_map_result gw_map_fail(struct gw_map_run *run, enum gw_map_result r, const char *path,
                               const char *fmt, ...)
{
  va_list ap;
  int n;

  if(!run->err || !run->errlen)
    return r;
  if(!run->where_len && (!path || !*path))
    n = snprintf(run->err, run->errlen, "(document): ");
  else
    n = snprintf(run->err, run->errlen, "%s%s: ", run->where, path ? path : "");
  if(n < 0 || (size_t)n >= run->errlen)
    return r;
  va_start(ap, fmt);
  vsnprintf(run->err + n, run->errlen - (size_t)n, fmt, ap);
  va_end(ap);
  return r;
}

size_t gw_map_where_push(struct gw_map_run *run, const char *fmt, ...)
{
  size_t old = run->where_len;
  va_list ap;
  int n;

  va_start(ap, fmt);
  n = vsnprintf(run->where + old, sizeof(run->where) - old, fmt, ap);
  va_end(ap);
  if(n < 0)
    run->where[old] = '\0';
  else if((size_t)n >= sizeof(run->where) - old)
    run->where_len = sizeof(run->where) - 1;
  else
    run->where_len = old + (size_t)n;
  return old;
}

void gw_map_where_pop(struct gw_map_run *run, size_t len)
{
  run->where_len = len;
  run->where[len] = '\0';
}

enum gw_map_result gw_map_charge(struct gw_map_run *run, const char *path, size_t n)
{
  if(n > GW_MAP_MAX_OUTPUT - run->out_used)
    return gw_map_fail(run, GW_MAP_TOO_LARGE, path, "mapped value exceeds the cap of %u bytes",
                       GW_MAP_MAX_OUTPUT);
  run->out_used += n;
  return GW_MAP_OK;
}

enum gw_map_result gw_map_absent(struct gw_map_run *run, const struct gw_value_spec *spec,
                                 const char *path, json_t **out)
{
  if(spec->optional) {
    *out = json_null();
    return gw_map_charge(run, path, SCALAR_COST);
  }
  return gw_map_fail(run, GW_MAP_ABSENT, path, "required value is absent");
}

enum gw_map_result gw_map_no_match(struct gw_map_run *run, const struct gw_value_spec *spec,
                                   json_t **out)
{
  enum gw_map_result r;
  json_t *v;

  if(!spec->default_json)
    return gw_map_fail(run, GW_MAP_NOT_FOUND, spec->path, "no item matches");
  v = json_loads(spec->default_json, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
  if(!v)
    return gw_map_fail(run, GW_MAP_BAD_PATH, spec->path, "the default is not JSON");
  r = gw_map_charge(run, spec->path, strlen(spec->default_json));
  if(r != GW_MAP_OK) {
    json_decref(v);
    return r;
  }
  *out = v;
  return GW_MAP_OK;
}

/* Writes s[0..n) into buf as a double-quoted, escaped, possibly cut string
 * for a message; never more than QUOTE_MAX input bytes, never splitting a
 * UTF-8 sequence.  Digits are shown as '#': a message says what shape of
 * value was wrong ("####-##-##"), but an agency value may hold an identity
 * number, and messages reach answers and the cache. */
static void quote(const char *s, size_t n, char *buf, size_t buflen)
{
  static const char hex[] = "0123456789abcdef";
  size_t o = 0, lim = n > QUOTE_MAX ? QUOTE_MAX : n;

  if(lim < n)
    while(lim && ((unsigned char)s[lim] & 0xC0) == 0x80)
      lim--;
  buf[o++] = '"';
  for(size_t i = 0; i < lim && o + 8 < buflen; i++) {
    unsigned char c = (unsigned char)s[i];
    if(c == '"' || c == '\\') {
      buf[o++] = '\\';
      buf[o++] = (char)c;
    }
    else if(c < 0x20 || c == 0x7F) {
      buf[o++] = '\\';
      buf[o++] = 'x';
      buf[o++] = hex[c >> 4];
      buf[o++] = hex[c & 0xF];
    }
    else if(c >= '0' && c <= '9')
      buf[o++] = '#';
    else
      buf[o++] = (char)c;
  }
  if(lim < n && o + 5 < buflen) {
    memcpy(buf + o, "...", 3);
    o += 3;
  }
  buf[o++] = '"';
  buf[o] = '\0';
}

#define QUOTE_BUF (QUOTE_MAX * 4 + 16)

static enum gw_map_result bad_text(struct gw_map_run *run, const char *path, const char *s,
                                   size_t n, const char *what)
{
  char q[QUOTE_BUF];
  quote(s, n, q, sizeof(q));
  return gw_map_fail(run, GW_MAP_BAD_VALUE, path, "%s is not %s", q, what);
}

/* Takes ownership of v; charges it; sets *out. */
static enum gw_map_result finish(struct gw_map_run *run, const char *path, json_t *v,
                                 json_t **out)
{
  size_t cost = json_is_string(v) ? json_string_length(v) + STRING_OVERHEAD : SCALAR_COST;
  enum gw_map_result r = gw_map_charge(run, path, cost);
  if(r != GW_MAP_OK) {
    json_decref(v);
    return r;
  }
  *out = v;
  return GW_MAP_OK;
}

static int is_xml_space(char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int is_digit(char c)
{
  return c >= '0' && c <= '9';
}

/* Optionally signed decimal digits into int64; -1 when not that or out of
 * range (*overflow set). */
static int parse_int64(const char *s, size_t n, int64_t *out, int *overflow)
{
  size_t i = 0;
  int neg = 0;
  int64_t v = 0;

  *overflow = 0;
  if(i < n && (s[i] == '-' || s[i] == '+'))
    neg = s[i++] == '-';
  if(i == n)
    return -1;
  for(; i < n; i++) {
    int d;
    if(!is_digit(s[i]))
      return -1;
    d = s[i] - '0';
    if(!neg && v > (INT64_MAX - d) / 10) {
      *overflow = 1;
      return -1;
    }
    if(neg && v < (INT64_MIN + d) / 10) {
      *overflow = 1;
      return -1;
    }
    v = neg ? v * 10 - d : v * 10 + d;
  }
  *out = v;
  return 0;
}

/* Decimal number text: [+-] (digits [. digits*] | . digits) [e [+-] digits]. */
static int parse_number(const char *s, size_t n, double *out)
{
  char buf[NUMBER_TEXT_MAX + 1];
  size_t i = 0, digits = 0;
  char *end;
  double d;

  if(n > NUMBER_TEXT_MAX)
    return -1;
  if(i < n && (s[i] == '-' || s[i] == '+'))
    i++;
  while(i < n && is_digit(s[i])) {
    i++;
    digits++;
  }
  if(i < n && s[i] == '.') {
    i++;
    while(i < n && is_digit(s[i])) {
      i++;
      digits++;
    }
  }
  if(!digits)
    return -1;
  if(i < n && (s[i] == 'e' || s[i] == 'E')) {
    size_t exp_digits = 0;
    i++;
    if(i < n && (s[i] == '-' || s[i] == '+'))
      i++;
    while(i < n && is_digit(s[i])) {
      i++;
      exp_digits++;
    }
    if(!exp_digits)
      return -1;
  }
  if(i != n)
    return -1;
  memcpy(buf, s, n);
  buf[n] = '\0';
  d = strtod(buf, &end);
  if(end != buf + n || !isfinite(d))
    return -1;
  *out = d;
  return 0;
}

static json_t *number_value(double d)
{
  if(d >= -EXACT_INT_MAX && d <= EXACT_INT_MAX && (double)(json_int_t)d == d)
    return json_integer((json_int_t)d);
  return json_real(d);
}

static int is_leap(int y)
{
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int digits_value(const char *s, int n)
{
  int v = 0;
  for(int i = 0; i < n; i++)
    v = v * 10 + (s[i] - '0');
  return v;
}

/* YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD, a real date, into out[11]. */
static int parse_date(const char *s, size_t n, char out[11])
{
  static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
  char d8[8];
  int y, m, d, maxd;

  if(n == 10 && (s[4] == '-' || s[4] == '/') && s[7] == s[4]) {
    memcpy(d8, s, 4);
    memcpy(d8 + 4, s + 5, 2);
    memcpy(d8 + 6, s + 8, 2);
  }
  else if(n == 8)
    memcpy(d8, s, 8);
  else
    return -1;
  for(int i = 0; i < 8; i++)
    if(!is_digit(d8[i]))
      return -1;
  y = digits_value(d8, 4);
  m = digits_value(d8 + 4, 2);
  d = digits_value(d8 + 6, 2);
  if(y < 1 || m < 1 || m > 12)
    return -1;
  maxd = mdays[m - 1] + (m == 2 && is_leap(y));
  if(d < 1 || d > maxd)
    return -1;
  memcpy(out, d8, 4);
  out[4] = '-';
  memcpy(out + 5, d8 + 4, 2);
  out[7] = '-';
  memcpy(out + 8, d8 + 6, 2);
  out[10] = '\0';
  return 0;
}

static int in_list(const char *s, size_t n, char *const *list, size_t count,
                   const char *def1, const char *def2)
{
  if(!list) {
    return (strlen(def1) == n && !memcmp(def1, s, n)) ||
           (strlen(def2) == n && !memcmp(def2, s, n));
  }
  for(size_t i = 0; i < count; i++)
    if(list[i] && strlen(list[i]) == n && !memcmp(list[i], s, n))
      return 1;
  return 0;
}

enum gw_map_result gw_map_from_text(struct gw_map_run *run, const struct gw_value_spec *spec,
                                    const char *path, const char *s, size_t n, int trim,
                                    json_t **out)
{
  char date[11];
  int64_t iv;
  double dv;
  int overflow;
  json_t *v;

  if(trim) {
    while(n && is_xml_space(s[0])) {
      s++;
      n--;
    }
    while(n && is_xml_space(s[n - 1]))
      n--;
  }
  if(!n && spec->type != GW_TYPE_STRING)
    return gw_map_absent(run, spec, path, out);

  switch(spec->type) {
  case GW_TYPE_STRING:
    if(n > GW_MAP_MAX_STRING)
      return gw_map_fail(run, GW_MAP_TOO_LARGE, path, "string of %zu bytes exceeds the cap of %u",
                         n, GW_MAP_MAX_STRING);
    if(memchr(s, '\0', n))
      return gw_map_fail(run, GW_MAP_BAD_VALUE, path, "string holds a NUL character");
    v = json_stringn(s, n);
    if(!v)
      return gw_map_fail(run, GW_MAP_BAD_VALUE, path, "string is not valid UTF-8");
    return finish(run, path, v, out);
  case GW_TYPE_INT:
    if(parse_int64(s, n, &iv, &overflow)) {
      if(overflow)
        return bad_text(run, path, s, n, "an integer in the 64-bit range");
      return bad_text(run, path, s, n, "an integer");
    }
    return finish(run, path, json_integer((json_int_t)iv), out);
  case GW_TYPE_NUMBER:
    if(parse_number(s, n, &dv))
      return bad_text(run, path, s, n, "a number");
    return finish(run, path, number_value(dv), out);
  case GW_TYPE_BOOL:
    if(in_list(s, n, spec->true_values, spec->n_true, "true", "1"))
      return finish(run, path, json_true(), out);
    if(in_list(s, n, spec->false_values, spec->n_false, "false", "0"))
      return finish(run, path, json_false(), out);
    return bad_text(run, path, s, n, "a boolean");
  case GW_TYPE_DATE:
    if(parse_date(s, n, date))
      return bad_text(run, path, s, n, "a date");
    return finish(run, path, json_string(date), out);
  case GW_TYPE_ENUM:
    for(size_t i = 0; i < spec->n_enum; i++) {
      const struct gw_kv *kv = &spec->enum_map[i];
      if(kv->name && kv->value && strlen(kv->name) == n && !memcmp(kv->name, s, n))
        return finish(run, path, json_string(kv->value), out);
    }
    return bad_text(run, path, s, n, "a known value");
  case GW_TYPE_NAME_AGREES: {
    /* never quoted in a message: the text is a person's name */
    int agrees = 0;
    enum gw_map_result r = gw_map_name_agrees(run, path, s, n, &agrees);
    if(r == GW_MAP_ABSENT)
      return gw_map_absent(run, spec, path, out);
    if(r != GW_MAP_OK)
      return r;
    return finish(run, path, json_boolean(agrees), out);
  }
  }
  return gw_map_fail(run, GW_MAP_BAD_VALUE, path, "unknown value type %d", (int)spec->type);
}

enum gw_map_result gw_map_from_double(struct gw_map_run *run, const struct gw_value_spec *spec,
                                      const char *path, double d, json_t **out)
{
  char text[40];

  if(isnan(d))
    return gw_map_absent(run, spec, path, out);
  if(!isfinite(d))
    return gw_map_fail(run, GW_MAP_BAD_VALUE, path, "%s is not a finite number",
                       d > 0 ? "Infinity" : "-Infinity");
  switch(spec->type) {
  case GW_TYPE_NUMBER:
    return finish(run, path, number_value(d), out);
  case GW_TYPE_NAME_AGREES:
    return gw_map_fail(run, GW_MAP_BAD_VALUE, path, "a number is not a name");
  case GW_TYPE_INT:
    /* -2^63 and 2^63 are exact doubles; the range is [-2^63, 2^63). */
    if(d < -9223372036854775808.0 || d >= 9223372036854775808.0 ||
       (double)(int64_t)d != d)
      return gw_map_fail(run, GW_MAP_BAD_VALUE, path, "%.17g is not an integer", d);
    return finish(run, path, json_integer((json_int_t)d), out);
  default:
    if(d >= -EXACT_INT_MAX && d <= EXACT_INT_MAX && (double)(int64_t)d == d)
      snprintf(text, sizeof(text), "%lld", (long long)d);
    else
      snprintf(text, sizeof(text), "%.17g", d);
    return gw_map_from_text(run, spec, path, text, strlen(text), 0, out);
  }
}

enum gw_map_result gw_map_from_integer(struct gw_map_run *run, const struct gw_value_spec *spec,
                                       const char *path, json_int_t v, json_t **out)
{
  char text[32];

  if(spec->type == GW_TYPE_INT || spec->type == GW_TYPE_NUMBER)
    return finish(run, path, json_integer(v), out);
  if(spec->type == GW_TYPE_NAME_AGREES)
    return gw_map_fail(run, GW_MAP_BAD_VALUE, path, "a number is not a name");
  snprintf(text, sizeof(text), "%" JSON_INTEGER_FORMAT, v);
  return gw_map_from_text(run, spec, path, text, strlen(text), 0, out);
}

enum gw_map_result gw_map_from_bool(struct gw_map_run *run, const struct gw_value_spec *spec,
                                    const char *path, int b, json_t **out)
{
  const char *text = b ? "true" : "false";

  switch(spec->type) {
  case GW_TYPE_BOOL:
    return finish(run, path, json_boolean(b), out);
  case GW_TYPE_STRING:
  case GW_TYPE_ENUM:
    return gw_map_from_text(run, spec, path, text, strlen(text), 0, out);
  default:
    return gw_map_fail(run, GW_MAP_BAD_VALUE, path, "%s is a boolean, not %s", text,
                       gw_map_type_name(spec->type));
  }
}

int gw_map_status_listed(const struct gw_result_rule *rule, int status)
{
  for(size_t i = 0; i < rule->n_status && i < GW_ADAPTER_MAX_STATUS; i++)
    if(rule->status[i] == status)
      return 1;
  return 0;
}

const char *gw_mapping_strerror(enum gw_map_result r)
{
  switch(r) {
  case GW_MAP_OK: return "ok";
  case GW_MAP_ABSENT: return "absent";
  case GW_MAP_BAD_VALUE: return "bad_value";
  case GW_MAP_AMBIGUOUS: return "ambiguous";
  case GW_MAP_BAD_PATH: return "bad_path";
  case GW_MAP_TOO_LARGE: return "too_large";
  case GW_MAP_NOT_FOUND: return "not_found";
  }
  return "unknown";
}
