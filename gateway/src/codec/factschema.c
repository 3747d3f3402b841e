/*
 * factschema.c - the run-time half of the fact schemas: checking a mapped
 * value against a compiled schema, and finding a fact's schema in a set.
 *
 * The one idea: the walk follows the schema, never the value, so its depth
 * is the schema's (capped at load) however deep the value is, and it stops
 * at the first violation with that place's JSON path.  Everything here only
 * reads: the compiled nodes, the schema document they borrow from and the
 * caller's value, which is why any number of threads may validate at once
 * (regexec on a shared regex_t is thread-safe).  Messages name paths and
 * the schema's limits, never the value's content.
 */
#include "factschema_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- numbers and scalars ------------------------------------------------ */

static int cmp_ll(long long a, long long b)
{
  return (a > b) - (a < b);
}

static int cmp_double(double a, double b)
{
  return (a > b) - (a < b);
}

/* Integer against real without rounding the integer into a double (which
 * would make 2^53+1 equal to 2^53). */
static int cmp_int_real(long long i, double d)
{
  long long t;
  double frac;

  if(d >= 9223372036854775808.0)      /* 2^63: above every long long */
    return -1;
  if(d < -9223372036854775808.0)
    return 1;
  t = (long long)d;                   /* exact: |d| < 2^63, truncated */
  if(i != t)
    return cmp_ll(i, t);
  frac = d - (double)t;               /* exact: t came from d */
  return frac > 0 ? -1 : frac < 0 ? 1 : 0;
}

int gw_fs_num_cmp(const json_t *a, const json_t *b)
{
  if(json_is_integer(a) && json_is_integer(b))
    return cmp_ll(json_integer_value(a), json_integer_value(b));
  if(json_is_real(a) && json_is_real(b))
    return cmp_double(json_real_value(a), json_real_value(b));
  if(json_is_integer(a))
    return cmp_int_real(json_integer_value(a), json_real_value(b));
  return -cmp_int_real(json_integer_value(b), json_real_value(a));
}

bool gw_fs_scalar_equal(const json_t *a, const json_t *b)
{
  if(json_is_number(a) && json_is_number(b))
    return gw_fs_num_cmp(a, b) == 0;
  if(json_typeof(a) != json_typeof(b))
    return false;
  if(json_is_string(a))
    return json_string_length(a) == json_string_length(b) &&
           !memcmp(json_string_value(a), json_string_value(b), json_string_length(a));
  return true;                        /* true, false, null: the type is the value */
}

static bool real_is_integral(double d)
{
  /* |d| >= 2^52 holds only integers; below that truncation tells. */
  if(d >= 4503599627370496.0 || d <= -4503599627370496.0)
    return true;
  return d == (double)(long long)d;
}

/* ---- dates and strings -------------------------------------------------- */

static bool is_digit(char c)
{
  return c >= '0' && c <= '9';
}

static int num2(const char *s)
{
  return (s[0] - '0') * 10 + (s[1] - '0');
}

bool gw_fs_is_date(const char *s, size_t len)
{
  static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
  static const size_t digit_at[8] = { 0, 1, 2, 3, 5, 6, 8, 9 };
  int y, m, d, max;

  if(len != 10 || s[4] != '-' || s[7] != '-')
    return false;
  for(size_t i = 0; i < 8; i++)
    if(!is_digit(s[digit_at[i]]))
      return false;
  y = num2(s) * 100 + num2(s + 2);
  m = num2(s + 5);
  d = num2(s + 8);
  if(y < 1 || m < 1 || m > 12 || d < 1)
    return false;
  max = mdays[m - 1];
  if(m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
    max = 29;
  return d <= max;
}

/* Code points of valid UTF-8 (jansson guarantees it): every byte that is not
 * a continuation byte starts one. */
static size_t code_points(const char *s, size_t len)
{
  size_t n = 0;

  for(size_t i = 0; i < len; i++)
    if(((unsigned char)s[i] & 0xC0) != 0x80)
      n++;
  return n;
}

/* ---- types -------------------------------------------------------------- */

static const char *const type_names[] = {
  "null", "boolean", "integer", "number", "string", "array", "object"
};

const char *gw_fs_type_name(unsigned type_bit)
{
  for(size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
    if(type_bit == 1u << i)
      return type_names[i];
  return "?";
}

/* The instance's own type: integers as GW_FS_INTEGER, reals as GW_FS_NUMBER. */
static unsigned instance_type(const json_t *x)
{
  switch(json_typeof(x)) {
  case JSON_NULL: return GW_FS_NULL;
  case JSON_TRUE:
  case JSON_FALSE: return GW_FS_BOOLEAN;
  case JSON_INTEGER: return GW_FS_INTEGER;
  case JSON_REAL: return GW_FS_NUMBER;
  case JSON_STRING: return GW_FS_STRING;
  case JSON_ARRAY: return GW_FS_ARRAY;
  case JSON_OBJECT: return GW_FS_OBJECT;
  }
  return 0;
}

bool gw_fs_type_accepts(unsigned types, const json_t *x)
{
  unsigned t = instance_type(x), accept = t;

  if(t == GW_FS_INTEGER)
    accept |= GW_FS_NUMBER;
  if(t == GW_FS_NUMBER && real_is_integral(json_real_value(x)))
    accept |= GW_FS_INTEGER;
  return (types & accept) != 0;
}

/* "string", "string or null", "integer, number or null" (null named last). */
static void types_text(unsigned types, char *buf, size_t cap)
{
  static const unsigned order[] = {
    GW_FS_STRING, GW_FS_INTEGER, GW_FS_NUMBER, GW_FS_BOOLEAN, GW_FS_ARRAY, GW_FS_OBJECT,
    GW_FS_NULL
  };
  size_t len = 0, left = 0, seen = 0;

  for(unsigned bits = types; bits; bits &= bits - 1)
    left++;
  buf[0] = '\0';
  for(size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
    const char *sep;
    int n;

    if(!(types & order[i]))
      continue;
    seen++;
    sep = seen == 1 ? "" : seen == left ? " or " : ", ";
    n = snprintf(buf + len, cap - len, "%s%s", sep, gw_fs_type_name(order[i]));
    if(n < 0 || (size_t)n >= cap - len)
      return;
    len += (size_t)n;
  }
}

static void number_text(const json_t *n, char *buf, size_t cap)
{
  if(json_is_integer(n))
    snprintf(buf, cap, "%lld", (long long)json_integer_value(n));
  else
    snprintf(buf, cap, "%.17g", json_real_value(n));
}

/* ---- the walk ----------------------------------------------------------- */

struct vctx {
  char *err;
  size_t errlen;
  size_t plen;
  bool truncated;                     /* a segment did not fit (never with the caps) */
  char path[GW_FACTSCHEMA_PATH_MAX];
};

static int vfail(struct vctx *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int vfail(struct vctx *v, const char *fmt, ...)
{
  va_list ap;
  int n;

  if(!v->err || !v->errlen)
    return -1;
  n = snprintf(v->err, v->errlen, "%s%s: ", v->path, v->truncated ? "..." : "");
  if(n >= 0 && (size_t)n < v->errlen) {
    va_start(ap, fmt);
    vsnprintf(v->err + n, v->errlen - (size_t)n, fmt, ap);
    va_end(ap);
  }
  return -1;
}

static void path_add(struct vctx *v, const char *s, size_t n)
{
  if(v->plen + n >= sizeof(v->path)) {
    v->truncated = true;
    return;
  }
  memcpy(v->path + v->plen, s, n);
  v->plen += n;
  v->path[v->plen] = '\0';
}

static void path_pop(struct vctx *v, size_t saved)
{
  v->plen = saved;
  v->path[saved] = '\0';
}

static void path_index(struct vctx *v, size_t i)
{
  char seg[32];
  int n = snprintf(seg, sizeof(seg), "[%zu]", i);

  if(n > 0 && (size_t)n < sizeof(seg))
    path_add(v, seg, (size_t)n);
}

static bool is_identifier(const char *s, size_t n)
{
  if(!n || is_digit(s[0]))
    return false;
  for(size_t i = 0; i < n; i++)
    if(!(is_digit(s[i]) || s[i] == '_' || (s[i] >= 'a' && s[i] <= 'z') ||
         (s[i] >= 'A' && s[i] <= 'Z')))
      return false;
  return true;
}

/* ".name", or ["name"] JSON-escaped and cut to GW_FACTSCHEMA_NAME_MAX bytes
 * (on a UTF-8 boundary) when the name came from the value and is odd. */
static void path_member(struct vctx *v, const char *name, size_t n)
{
  char seg[GW_FACTSCHEMA_NAME_MAX * 6 + 16];
  size_t len = 0, cut = n;

  if(is_identifier(name, n) && n <= GW_FACTSCHEMA_NAME_MAX) {
    path_add(v, ".", 1);
    path_add(v, name, n);
    return;
  }
  if(cut > GW_FACTSCHEMA_NAME_MAX) {
    cut = GW_FACTSCHEMA_NAME_MAX;
    while(cut && ((unsigned char)name[cut] & 0xC0) == 0x80)
      cut--;
  }
  seg[len++] = '[';
  seg[len++] = '"';
  for(size_t i = 0; i < cut; i++) {
    unsigned char c = (unsigned char)name[i];
    if(c == '"' || c == '\\') {
      seg[len++] = '\\';
      seg[len++] = (char)c;
    }
    else if(c < 0x20 || c == 0x7f) {
      int w = snprintf(seg + len, sizeof(seg) - len, "\\u%04x", c);
      if(w > 0)
        len += (size_t)w;
    }
    else
      seg[len++] = (char)c;
  }
  if(cut < n) {
    memcpy(seg + len, "...", 3);
    len += 3;
  }
  seg[len++] = '"';
  seg[len++] = ']';
  path_add(v, seg, len);
}

static int check(struct vctx *v, const struct gw_fs_node *n, const json_t *x);

static int check_string(struct vctx *v, const struct gw_fs_node *n, const json_t *x)
{
  const char *s = json_string_value(x);
  size_t len = json_string_length(x), cps = code_points(s, len);

  if(n->min_length != GW_FS_LIMIT_NONE && cps < (unsigned long long)n->min_length)
    return vfail(v, "shorter than %lld characters", n->min_length);
  if(n->max_length != GW_FS_LIMIT_NONE && cps > (unsigned long long)n->max_length)
    return vfail(v, "longer than %lld characters", n->max_length);
  if(n->format_date && !gw_fs_is_date(s, len))
    return vfail(v, "not a date (YYYY-MM-DD, a real calendar day)");
  if(n->has_pattern) {
    /* A NUL inside the string cannot match: pattern atoms are printable. */
    int rc = memchr(s, '\0', len) ? REG_NOMATCH : regexec(&n->pattern, s, 0, NULL, 0);
    if(rc == REG_NOMATCH)
      return vfail(v, "does not match %s", n->pattern_src);
    if(rc != 0)
      return vfail(v, "pattern %s could not be evaluated", n->pattern_src);
  }
  return 0;
}

static int check_number(struct vctx *v, const struct gw_fs_node *n, const json_t *x)
{
  char num[40];

  if(n->minimum && gw_fs_num_cmp(x, n->minimum) < 0) {
    number_text(n->minimum, num, sizeof(num));
    return vfail(v, "less than the minimum %s", num);
  }
  if(n->maximum && gw_fs_num_cmp(x, n->maximum) > 0) {
    number_text(n->maximum, num, sizeof(num));
    return vfail(v, "greater than the maximum %s", num);
  }
  return 0;
}

static int check_array(struct vctx *v, const struct gw_fs_node *n, const json_t *x)
{
  size_t count = json_array_size(x);

  if(n->min_items != GW_FS_LIMIT_NONE && count < (unsigned long long)n->min_items)
    return vfail(v, "fewer than %lld items", n->min_items);
  if(n->max_items != GW_FS_LIMIT_NONE && count > (unsigned long long)n->max_items)
    return vfail(v, "more than %lld items", n->max_items);
  if(n->items)
    for(size_t i = 0; i < count; i++) {
      size_t saved = v->plen;
      path_index(v, i);
      if(check(v, n->items, json_array_get(x, i)) < 0)
        return -1;
      path_pop(v, saved);
    }
  return 0;
}

static const struct gw_fs_prop *find_prop(const struct gw_fs_node *n, const char *name,
                                          size_t len)
{
  for(size_t i = 0; i < n->nprops; i++)
    if(strlen(n->props[i].name) == len && !memcmp(n->props[i].name, name, len))
      return &n->props[i];
  return NULL;
}

/* Shape first (members not allowed, then missing ones, in schema order),
 * then each member's value, so the first message is about the outermost
 * problem. */
static int check_object(struct vctx *v, const struct gw_fs_node *n, const json_t *x)
{
  /* jansson's iteration API takes a non-const object; iterating only reads. */
  json_t *obj = (json_t *)x, *member;
  const char *key;
  size_t key_len;

  if(n->closed)
    json_object_keylen_foreach(obj, key, key_len, member) {
      if(!find_prop(n, key, key_len)) {
        path_member(v, key, key_len);
        return vfail(v, "member not allowed");
      }
    }
  for(size_t i = 0; i < n->nprops; i++) {
    const struct gw_fs_prop *p = &n->props[i];
    if(p->required && !json_object_get(x, p->name)) {
      path_member(v, p->name, strlen(p->name));
      return vfail(v, "required member missing");
    }
  }
  for(size_t i = 0; i < n->nprops; i++) {
    const struct gw_fs_prop *p = &n->props[i];
    const json_t *m = json_object_get(x, p->name);
    size_t saved = v->plen;

    if(!m)
      continue;
    path_member(v, p->name, strlen(p->name));
    if(check(v, p->schema, m) < 0)
      return -1;
    path_pop(v, saved);
  }
  return 0;
}

static int check(struct vctx *v, const struct gw_fs_node *n, const json_t *x)
{
  unsigned t = instance_type(x);

  if(!gw_fs_type_accepts(n->types, x)) {
    char want[96];
    types_text(n->types, want, sizeof(want));
    return vfail(v, "expected %s, got %s", want, gw_fs_type_name(t));
  }
  if(n->const_value && !gw_fs_scalar_equal(x, n->const_value))
    return vfail(v, "must be %s", n->allowed_text);
  if(n->enum_values) {
    size_t i;
    const json_t *e;
    bool found = false;

    json_array_foreach(n->enum_values, i, e)
      if(gw_fs_scalar_equal(x, e)) {
        found = true;
        break;
      }
    if(!found)
      return vfail(v, "not one of %s", n->allowed_text);
  }
  switch(t) {
  case GW_FS_STRING: return check_string(v, n, x);
  case GW_FS_INTEGER:
  case GW_FS_NUMBER: return check_number(v, n, x);
  case GW_FS_ARRAY: return check_array(v, n, x);
  case GW_FS_OBJECT: return check_object(v, n, x);
  default: return 0;
  }
}

int gw_fs_check_node(const struct gw_fs_node *n, const json_t *value, char *err, size_t errlen)
{
  struct vctx v = { .err = err, .errlen = errlen, .plen = 1, .path = "$" };

  if(err && errlen)
    err[0] = '\0';
  if(!value)
    return vfail(&v, "no value");
  return check(&v, n, value);
}

/* ---- public ------------------------------------------------------------- */

int gw_factschema_check(const struct gw_factschema *s, const json_t *value,
                        char *err, size_t errlen)
{
  return gw_fs_check_node(s->root, value, err, errlen);
}

const char *gw_factschema_id(const struct gw_factschema *s)
{
  return s->id;
}

const char *gw_factschema_text(const struct gw_factschema *s)
{
  return s->text;
}

const struct gw_factschema *gw_factschema_set_get(const struct gw_factschema_set *set,
                                                  const char *fact)
{
  for(size_t i = 0; i < set->n; i++)
    if(!strcmp(set->entries[i].fact, fact))
      return set->entries[i].schema;
  return NULL;
}

int gw_factschema_validate(const struct gw_factschema_set *set, const char *fact,
                           const json_t *value, char *err, size_t errlen)
{
  const struct gw_factschema *s = gw_factschema_set_get(set, fact);

  if(!s) {
    if(err && errlen)
      snprintf(err, errlen, "unknown fact");
    return -1;
  }
  return gw_factschema_check(s, value, err, errlen);
}
