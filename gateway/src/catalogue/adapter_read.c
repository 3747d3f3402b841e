/*
 * adapter_read.c - the typed accessors the adapter loader reads JSON with.
 *
 * The one idea: an accessor is given the dotted path of the object it reads
 * from, so every failure it records names the exact field
 * ("FILE: endpoint.allow_addresses[1]: ...") and only the first failure is
 * kept (struct gw_adl.failed; later calls become harmless no-ops that
 * return their default).  Strings are refused when empty, too long, or
 * holding control characters; numbers when out of range or of the wrong
 * JSON type; objects when they hold members nobody reads.  Expression
 * checks (XPath, JSON Pointer) run our own checks for their messages and
 * then the mapping engine's load-time checks, so what loads also runs.
 */
#include "adapter_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "gw/alloc.h"
#include "mapping.h"

void gw_adl_fail(struct gw_adl *r, const char *field, const char *fmt, ...)
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

void gw_adl_join(char *out, size_t len, const char *at, const char *key)
{
  if(at && *at)
    snprintf(out, len, "%s.%s", at, key);
  else
    snprintf(out, len, "%s", key);
}

void gw_adl_index(char *out, size_t len, const char *at, size_t i)
{
  snprintf(out, len, "%s[%zu]", at, i);
}

int gw_adl_unknown(struct gw_adl *r, json_t *obj, const char *at,
                   const char *const *known)
{
  const char *key;
  json_t *val;
  json_object_foreach(obj, key, val) {
    char field[GW_ADL_FIELD_MAX], list[400] = "";
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
    gw_adl_join(field, sizeof(field), at, key);
    gw_adl_fail(r, field, "unknown field (known here: %s)", list);
    return -1;
  }
  return 0;
}

json_t *gw_adl_object(struct gw_adl *r, json_t *obj, const char *at,
                      const char *key, int required)
{
  char field[GW_ADL_FIELD_MAX];
  json_t *v = json_object_get(obj, key);
  gw_adl_join(field, sizeof(field), at, key);
  if(!v) {
    if(required)
      gw_adl_fail(r, field, "missing (an object is required)");
    return NULL;
  }
  if(!json_is_object(v)) {
    gw_adl_fail(r, field, "must be an object");
    return NULL;
  }
  return v;
}

json_t *gw_adl_array(struct gw_adl *r, json_t *obj, const char *at,
                     const char *key, int required, size_t max)
{
  char field[GW_ADL_FIELD_MAX];
  json_t *v = json_object_get(obj, key);
  gw_adl_join(field, sizeof(field), at, key);
  if(!v) {
    if(required)
      gw_adl_fail(r, field, "missing (an array is required)");
    return NULL;
  }
  if(!json_is_array(v)) {
    gw_adl_fail(r, field, "must be an array");
    return NULL;
  }
  if(!json_array_size(v)) {
    gw_adl_fail(r, field, "must not be empty");
    return NULL;
  }
  if(json_array_size(v) > max) {
    gw_adl_fail(r, field, "at most %zu items (got %zu)", max, json_array_size(v));
    return NULL;
  }
  return v;
}

const char *gw_adl_string_value(struct gw_adl *r, json_t *v, const char *field,
                                size_t max)
{
  const char *s;
  size_t len;
  if(!json_is_string(v)) {
    gw_adl_fail(r, field, "must be a string");
    return NULL;
  }
  s = json_string_value(v);
  len = json_string_length(v);
  if(!len) {
    gw_adl_fail(r, field, "must not be empty");
    return NULL;
  }
  if(len > max) {
    gw_adl_fail(r, field, "at most %zu bytes (got %zu)", max, len);
    return NULL;
  }
  for(size_t i = 0; i < len; i++)
    if((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
      gw_adl_fail(r, field, "must not contain control characters (found 0x%02x "
                  "at byte %zu)", (unsigned char)s[i], i + 1);
      return NULL;
    }
  return s;
}

char *gw_adl_string(struct gw_adl *r, json_t *obj, const char *at,
                    const char *key, int required, size_t max)
{
  char field[GW_ADL_FIELD_MAX];
  json_t *v = json_object_get(obj, key);
  const char *s;
  gw_adl_join(field, sizeof(field), at, key);
  if(!v) {
    if(required)
      gw_adl_fail(r, field, "missing (a string is required)");
    return NULL;
  }
  s = gw_adl_string_value(r, v, field, max);
  return s ? gw_strdup(s) : NULL;
}

long long gw_adl_int(struct gw_adl *r, json_t *obj, const char *at,
                     const char *key, long long dflt, long long min, long long max)
{
  char field[GW_ADL_FIELD_MAX];
  json_t *v = json_object_get(obj, key);
  long long n;
  gw_adl_join(field, sizeof(field), at, key);
  if(!v)
    return dflt;
  if(!json_is_integer(v)) {
    gw_adl_fail(r, field, "must be an integer");
    return dflt;
  }
  n = json_integer_value(v);
  if(n < min || n > max) {
    gw_adl_fail(r, field, "must be between %lld and %lld (got %lld)", min, max, n);
    return dflt;
  }
  return n;
}

double gw_adl_number(struct gw_adl *r, json_t *obj, const char *at,
                     const char *key, double dflt, double min, double max)
{
  char field[GW_ADL_FIELD_MAX];
  json_t *v = json_object_get(obj, key);
  double d;
  gw_adl_join(field, sizeof(field), at, key);
  if(!v)
    return dflt;
  if(!json_is_number(v)) {
    gw_adl_fail(r, field, "must be a number");
    return dflt;
  }
  d = json_number_value(v);
  if(!isfinite(d) || d < min || d > max) {
    gw_adl_fail(r, field, "must be between %g and %g (got %g)", min, max, d);
    return dflt;
  }
  return d;
}

int gw_adl_bool(struct gw_adl *r, json_t *obj, const char *at,
                const char *key, int dflt)
{
  char field[GW_ADL_FIELD_MAX];
  json_t *v = json_object_get(obj, key);
  gw_adl_join(field, sizeof(field), at, key);
  if(!v)
    return dflt;
  if(!json_is_boolean(v)) {
    gw_adl_fail(r, field, "must be true or false");
    return dflt;
  }
  return json_is_true(v);
}

/* Our own checks come first, for their messages; the mapping engine's
 * load-time checks (gw/mapping.h) then confirm that what loads will also
 * run, so the two can never drift apart unnoticed. */
void gw_adl_expr(struct gw_adl *r, const char *expr, const char *field, int relative)
{
  char why[400];
  struct gw_adapter *a = r->a;
  if(r->failed)
    return;
  if(gw_protocol_is_xml(a->protocol)) {
    if(gw_adl_check_xpath(r, expr, relative, why, sizeof(why)))
      gw_adl_fail(r, field, "%s", why);
    else if(gw_mapping_xpath_check(a->namespaces, a->n_namespaces, expr, why, sizeof(why)))
      gw_adl_fail(r, field, "refused by the mapping engine: %s", why);
  }
  else if(gw_adl_check_pointer(expr, why, sizeof(why)))
    gw_adl_fail(r, field, "%s", why);
  else if(gw_mapping_pointer_check(expr, why, sizeof(why)))
    gw_adl_fail(r, field, "refused by the mapping engine: %s", why);
}

int gw_adl_choice(struct gw_adl *r, json_t *obj, const char *at, const char *key,
                  const char *const *names, const char *shown)
{
  char field[GW_ADL_FIELD_MAX];
  char *s = gw_adl_string(r, obj, at, key, 1, 64);
  int found = -1;
  if(!s)
    return -1;
  for(int i = 0; names[i]; i++)
    if(!strcmp(names[i], s))
      found = i;
  if(found < 0) {
    gw_adl_join(field, sizeof(field), at, key);
    gw_adl_fail(r, field, "must be one of %s (got \"%.64s\")", shown, s);
  }
  gw_free(s);
  return found;
}

size_t gw_adl_status(struct gw_adl *r, json_t *arr, const char *field, int *out)
{
  size_t i, n = 0;
  json_t *v;
  json_array_foreach(arr, i, v) {
    char item[GW_ADL_FIELD_MAX];
    long long code;
    gw_adl_index(item, sizeof(item), field, i);
    if(!json_is_integer(v)) {
      gw_adl_fail(r, item, "must be an integer HTTP status code");
      return n;
    }
    code = json_integer_value(v);
    if(code < 100 || code > 599) {
      gw_adl_fail(r, item, "must be an HTTP status code from 100 to 599 (got %lld)", code);
      return n;
    }
    for(size_t j = 0; j < n; j++)
      if(out[j] == code) {
        gw_adl_fail(r, item, "status %lld is listed twice", code);
        return n;
      }
    out[n++] = (int)code;
  }
  return n;
}
