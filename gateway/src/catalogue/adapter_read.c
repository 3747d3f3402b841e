/*
 * adapter_read.c - the accessors only adapters need, on top of base's typed
 * JSON reader (jread.h: the dotted path of every field, the first failure
 * kept): choices, HTTP status lists and expressions.  Expression
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

/* Our own checks come first, for their messages; the mapping engine's
 * load-time checks (gw/mapping.h) then confirm that what loads will also
 * run, so the two can never drift apart unnoticed. */
void gw_adl_expr(struct gw_adl *r, const char *expr, const char *field, int relative)
{
  char why[400];
  struct gw_adapter *a = r->a;
  if(r->jr.failed)
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
