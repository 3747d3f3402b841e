/*
 * jread.c - the typed JSON reader (jread.h): accessors that know the
 * dotted path of what they read and keep the first failure only.
 */
#include "jread.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "gw/alloc.h"

void gw_jread_fail(struct gw_jread *r, const char *field, const char *fmt, ...)
{
  char problem[768];
  va_list ap;
  if(r->failed)
    return;                    /* the first error is the one worth reading */
  r->failed = 1;
  va_start(ap, fmt);
  vsnprintf(problem, sizeof(problem), fmt, ap);
  va_end(ap);
  snprintf(r->err, r->errlen, "%s: %s: %s", r->file, field, problem);
}

void gw_jread_join(char *out, size_t len, const char *at, const char *key)
{
  if(at && *at)
    snprintf(out, len, "%s.%s", at, key);
  else
    snprintf(out, len, "%s", key);
}

void gw_jread_index(char *out, size_t len, const char *at, size_t i)
{
  snprintf(out, len, "%s[%zu]", at, i);
}

int gw_jread_unknown(struct gw_jread *r, json_t *obj, const char *at,
                     const char *const *known)
{
  const char *key;
  json_t *val;
  json_object_foreach(obj, key, val) {
    char field[GW_JREAD_FIELD_MAX], list[400] = "";
    size_t used = 0;
    int ok = 0;
    for(const char *const *k = known; *k; k++)
      if(!strcmp(*k, key))
        ok = 1;
    if(ok)
      continue;
    for(const char *const *k = known; *k && used < sizeof(list); k++) {
      int w = snprintf(list + used, sizeof(list) - used, "%s%s",
                       k == known ? "" : ", ", *k);
      if(w > 0)
        used += (size_t)w;
    }
    gw_jread_join(field, sizeof(field), at, key);
    gw_jread_fail(r, field, "unknown field (known here: %s)", list);
    return -1;
  }
  return 0;
}

json_t *gw_jread_object(struct gw_jread *r, json_t *obj, const char *at, const char *key,
                        int required)
{
  char field[GW_JREAD_FIELD_MAX];
  json_t *v = json_object_get(obj, key);
  gw_jread_join(field, sizeof(field), at, key);
  if(!v) {
    if(required)
      gw_jread_fail(r, field, "missing (an object is required)");
    return NULL;
  }
  return gw_jread_object_value(r, v, field);
}

json_t *gw_jread_object_value(struct gw_jread *r, json_t *v, const char *field)
{
  if(!json_is_object(v)) {
    gw_jread_fail(r, field, "must be an object");
    return NULL;
  }
  return v;
}

json_t *gw_jread_array(struct gw_jread *r, json_t *obj, const char *at, const char *key,
                       int required, size_t max)
{
  char field[GW_JREAD_FIELD_MAX];
  json_t *v = json_object_get(obj, key);
  gw_jread_join(field, sizeof(field), at, key);
  if(!v) {
    if(required)
      gw_jread_fail(r, field, "missing (an array is required)");
    return NULL;
  }
  if(!json_is_array(v)) {
    gw_jread_fail(r, field, "must be an array");
    return NULL;
  }
  if(!json_array_size(v)) {
    gw_jread_fail(r, field, "must not be empty");
    return NULL;
  }
  if(json_array_size(v) > max) {
    gw_jread_fail(r, field, "at most %zu items (got %zu)", max, json_array_size(v));
    return NULL;
  }
  return v;
}

const char *gw_jread_string_value(struct gw_jread *r, json_t *v, const char *field, size_t max)
{
  const char *s;
  size_t len;
  if(!json_is_string(v)) {
    gw_jread_fail(r, field, "must be a string");
    return NULL;
  }
  s = json_string_value(v);
  len = json_string_length(v);
  if(!len) {
    gw_jread_fail(r, field, "must not be empty");
    return NULL;
  }
  if(len > max) {
    gw_jread_fail(r, field, "at most %zu bytes (got %zu)", max, len);
    return NULL;
  }
  for(size_t i = 0; i < len; i++)
    if((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
      gw_jread_fail(r, field, "must not contain control characters (found 0x%02x "
                    "at byte %zu)", (unsigned char)s[i], i + 1);
      return NULL;
    }
  return s;
}

char *gw_jread_string(struct gw_jread *r, json_t *obj, const char *at, const char *key,
                      int required, size_t max)
{
  char field[GW_JREAD_FIELD_MAX];
  json_t *v = json_object_get(obj, key);
  const char *s;
  gw_jread_join(field, sizeof(field), at, key);
  if(!v) {
    if(required)
      gw_jread_fail(r, field, "missing (a string is required)");
    return NULL;
  }
  s = gw_jread_string_value(r, v, field, max);
  return s ? gw_strdup(s) : NULL;
}

long long gw_jread_int(struct gw_jread *r, json_t *obj, const char *at, const char *key,
                       long long dflt, long long min, long long max)
{
  char field[GW_JREAD_FIELD_MAX];
  json_t *v = json_object_get(obj, key);
  long long n;
  gw_jread_join(field, sizeof(field), at, key);
  if(!v)
    return dflt;
  if(!json_is_integer(v)) {
    gw_jread_fail(r, field, "must be an integer");
    return dflt;
  }
  n = json_integer_value(v);
  if(n < min || n > max) {
    gw_jread_fail(r, field, "must be between %lld and %lld (got %lld)", min, max, n);
    return dflt;
  }
  return n;
}

double gw_jread_number(struct gw_jread *r, json_t *obj, const char *at, const char *key,
                       double dflt, double min, double max)
{
  char field[GW_JREAD_FIELD_MAX];
  json_t *v = json_object_get(obj, key);
  double d;
  gw_jread_join(field, sizeof(field), at, key);
  if(!v)
    return dflt;
  if(!json_is_number(v)) {
    gw_jread_fail(r, field, "must be a number");
    return dflt;
  }
  d = json_number_value(v);
  if(!isfinite(d) || d < min || d > max) {
    gw_jread_fail(r, field, "must be between %g and %g (got %g)", min, max, d);
    return dflt;
  }
  return d;
}

int gw_jread_bool(struct gw_jread *r, json_t *obj, const char *at, const char *key, int dflt)
{
  char field[GW_JREAD_FIELD_MAX];
  json_t *v = json_object_get(obj, key);
  gw_jread_join(field, sizeof(field), at, key);
  if(!v)
    return dflt;
  if(!json_is_boolean(v)) {
    gw_jread_fail(r, field, "must be true or false");
    return dflt;
  }
  return json_is_true(v);
}
