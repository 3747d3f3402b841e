/*
 * mapping_json.c - value-specs and result rules over JSON responses (RFC
 * 6901 JSON Pointer), and the tiny test grammar of JSON result rules.
 *
 * The one idea: a pointer is checked for syntax as a whole before it is
 * walked, so a malformed pointer is always GW_MAP_BAD_PATH (an adapter
 * bug, found by the loader through gw_mapping_pointer_check) and never
 * confused with "the agency did not send that member" (GW_MAP_ABSENT, a
 * property of one response).  Locations in messages are full pointers: the
 * list's pointer, the item index, then the item's pointer.  A "first"
 * selection compares values exactly as the rule tests do (value_equals).
 */
#include "mapping_int.h"
#include "msg.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Longest value in a "POINTER == \"value\"" test. */
#define TEST_VALUE_MAX 256u
/* Longest canonical array index we read (SIZE_MAX has 20 digits). */
#define INDEX_DIGITS_MAX 19

struct json_test {
  char ptr[GW_MAP_MAX_POINTER + 1];
  int equals;                         /* 0: exists, 1: == value */
  char value[TEST_VALUE_MAX + 1];
  size_t value_len;
};

int gw_mapping_pointer_check(const char *ptr, char *err, size_t errlen)
{
  size_t len;

  if(!ptr) {
    gw_msg_set(err, errlen, "no pointer");
    return -1;
  }
  len = strnlen(ptr, GW_MAP_MAX_POINTER + 1);
  if(len > GW_MAP_MAX_POINTER) {
    gw_msg_set(err, errlen, "pointer longer than %u bytes", GW_MAP_MAX_POINTER);
    return -1;
  }
  if(len && ptr[0] != '/') {
    gw_msg_set(err, errlen, "pointer \"%.40s\" must be empty or start with '/'", ptr);
    return -1;
  }
  for(size_t i = 0; i < len; i++) {
    if(ptr[i] == '~' && ptr[i + 1] != '0' && ptr[i + 1] != '1') {
      gw_msg_set(err, errlen, "pointer \"%.40s\": '~' at offset %zu is not followed by 0 or 1",
               ptr, i);
      return -1;
    }
  }
  return 0;
}

/* Is tok[0..n) a canonical array index (0, or no leading zero)?  Sets *idx. */
static int array_index(const char *tok, size_t n, size_t *idx)
{
  size_t v = 0;

  if(!n || n > INDEX_DIGITS_MAX || (n > 1 && tok[0] == '0'))
    return 0;
  for(size_t i = 0; i < n; i++) {
    if(tok[i] < '0' || tok[i] > '9')
      return 0;
    v = v * 10 + (size_t)(tok[i] - '0');
  }
  *idx = v;
  return 1;
}

/* Walks a pointer already checked by gw_mapping_pointer_check. */
static enum gw_map_result walk(const json_t *root, const char *ptr, json_t **out)
{
  char tok[GW_MAP_MAX_POINTER + 1];
  const json_t *cur = root;
  const char *p = ptr;

  while(*p) {
    size_t n = 0, idx;
    p++;                              /* the '/' */
    while(*p && *p != '/') {
      if(*p == '~') {
        tok[n++] = p[1] == '1' ? '/' : '~';
        p += 2;
      }
      else
        tok[n++] = *p++;
    }
    tok[n] = '\0';
    if(json_is_object(cur))
      cur = json_object_get(cur, tok);
    else if(json_is_array(cur) && array_index(tok, n, &idx))
      cur = json_array_get(cur, idx);
    else
      cur = NULL;
    if(!cur)
      return GW_MAP_ABSENT;
  }
  *out = (json_t *)cur;
  return GW_MAP_OK;
}

enum gw_map_result gw_mapping_pointer_get(const json_t *root, const char *ptr, json_t **out,
                                          char *err, size_t errlen)
{
  *out = NULL;
  if(gw_mapping_pointer_check(ptr, err, errlen))
    return GW_MAP_BAD_PATH;
  if(!root)
    return GW_MAP_ABSENT;
  return walk(root, ptr, out);
}

/* Resolves spec path `path` in `ctx` for a mapping run. */
static enum gw_map_result resolve(struct gw_map_run *run, const json_t *ctx, const char *path,
                                  json_t **v)
{
  char why[160];

  *v = NULL;
  if(gw_mapping_pointer_check(path, why, sizeof(why)))
    return gw_map_fail(run, GW_MAP_BAD_PATH, path ? path : "", "%s", why);
  return walk(ctx, path, v);
}

static enum gw_map_result map_spec(struct gw_map_run *run, const struct gw_value_spec *spec,
                                   const json_t *ctx, json_t **out);
static int value_equals(const json_t *v, const char *want, size_t n);

static enum gw_map_result map_scalar(struct gw_map_run *run, const struct gw_value_spec *spec,
                                     const json_t *ctx, json_t **out)
{
  json_t *v;
  enum gw_map_result r = resolve(run, ctx, spec->path, &v);

  if(r == GW_MAP_ABSENT)
    return gw_map_absent(run, spec, spec->path, out);
  if(r != GW_MAP_OK)
    return r;
  switch(json_typeof(v)) {
  case JSON_NULL:
    return gw_map_absent(run, spec, spec->path, out);
  case JSON_STRING:
    return gw_map_from_text(run, spec, spec->path, json_string_value(v), json_string_length(v),
                            0, out);
  case JSON_INTEGER:
    return gw_map_from_integer(run, spec, spec->path, json_integer_value(v), out);
  case JSON_REAL:
    if(spec->type == GW_TYPE_NUMBER)
      return gw_map_from_double(run, spec, spec->path, json_real_value(v), out);
    return gw_map_fail(run, GW_MAP_BAD_VALUE, spec->path, "%.17g is a real number, not %s",
                       json_real_value(v), gw_map_type_name(spec->type));
  case JSON_TRUE:
  case JSON_FALSE:
    return gw_map_from_bool(run, spec, spec->path, json_is_true(v), out);
  case JSON_OBJECT:
  case JSON_ARRAY:
    break;
  }
  return gw_map_fail(run, GW_MAP_BAD_VALUE, spec->path, "is an %s, not %s",
                     json_is_object(v) ? "object" : "array", gw_map_type_name(spec->type));
}

static enum gw_map_result map_list(struct gw_map_run *run, const struct gw_value_spec *spec,
                                   const json_t *ctx, json_t **out)
{
  json_t *arr, *list = NULL;
  enum gw_map_result r = resolve(run, ctx, spec->path, &arr);
  size_t n;

  if(r == GW_MAP_ABSENT || (r == GW_MAP_OK && json_is_null(arr))) {
    if(!spec->optional)
      return gw_map_fail(run, GW_MAP_ABSENT, spec->path, "required list is absent");
    r = gw_map_charge(run, spec->path, 2);
    if(r == GW_MAP_OK)
      *out = json_array();
    return r;
  }
  if(r != GW_MAP_OK)
    return r;
  if(!json_is_array(arr))
    return gw_map_fail(run, GW_MAP_BAD_VALUE, spec->path, "is not an array");
  if(!spec->item)
    return gw_map_fail(run, GW_MAP_BAD_PATH, spec->path, "list spec has no item spec");
  n = json_array_size(arr);
  if(n > GW_MAP_MAX_LIST_ITEMS)
    return gw_map_fail(run, GW_MAP_TOO_LARGE, spec->path, "has %zu items, over the cap of %u",
                       n, GW_MAP_MAX_LIST_ITEMS);
  list = json_array();
  r = gw_map_charge(run, spec->path, 2);
  for(size_t i = 0; i < n && r == GW_MAP_OK; i++) {
    size_t mark = gw_map_where_push(run, "%s/%zu", spec->path, i);
    json_t *v = NULL;
    r = map_spec(run, spec->item, json_array_get(arr, i), &v);
    gw_map_where_pop(run, mark);
    if(r == GW_MAP_OK) {
      json_array_append_new(list, v);
      r = gw_map_charge(run, spec->path, 2);
    }
  }
  if(r != GW_MAP_OK) {
    json_decref(list);
    return r;
  }
  *out = list;
  return GW_MAP_OK;
}

/* Does `item` hold every value of spec->where? */
static enum gw_map_result item_matches(struct gw_map_run *run, const struct gw_value_spec *spec,
                                       const json_t *item, int *match)
{
  *match = 1;
  for(size_t c = 0; c < spec->n_where && *match; c++) {
    json_t *v;
    enum gw_map_result r = resolve(run, item, spec->where[c].name, &v);
    if(r == GW_MAP_ABSENT) {
      *match = 0;
      continue;
    }
    if(r != GW_MAP_OK)
      return r;
    *match = value_equals(v, spec->where[c].value, strlen(spec->where[c].value));
  }
  return GW_MAP_OK;
}

static enum gw_map_result map_first(struct gw_map_run *run, const struct gw_value_spec *spec,
                                    const json_t *ctx, json_t **out)
{
  json_t *arr;
  enum gw_map_result r = resolve(run, ctx, spec->path, &arr);
  size_t n;

  if(r == GW_MAP_ABSENT || (r == GW_MAP_OK && json_is_null(arr)))
    return gw_map_fail(run, GW_MAP_ABSENT, spec->path, "required list is absent");
  if(r != GW_MAP_OK)
    return r;
  if(!json_is_array(arr))
    return gw_map_fail(run, GW_MAP_BAD_VALUE, spec->path, "is not an array");
  if(!spec->item)
    return gw_map_fail(run, GW_MAP_BAD_PATH, spec->path, "first spec has no item spec");
  n = json_array_size(arr);
  if(n > GW_MAP_MAX_LIST_ITEMS)
    return gw_map_fail(run, GW_MAP_TOO_LARGE, spec->path, "has %zu items, over the cap of %u",
                       n, GW_MAP_MAX_LIST_ITEMS);
  for(size_t i = 0; i < n; i++) {
    const json_t *item = json_array_get(arr, i);
    size_t mark = gw_map_where_push(run, "%s/%zu", spec->path, i);
    int match;
    r = item_matches(run, spec, item, &match);
    if(r == GW_MAP_OK && match)
      r = map_spec(run, spec->item, item, out);
    gw_map_where_pop(run, mark);
    if(r != GW_MAP_OK || match)
      return r;
  }
  return gw_map_no_match(run, spec, out);
}

/* when_absent: is what `spec` reads absent from ctx? */
static int spec_absent(const struct gw_value_spec *spec, const json_t *ctx)
{
  json_t *v;
  if(!spec)
    return 0;
  if(spec->kind == GW_VALUE_OBJECT) {
    for(size_t i = 0; i < spec->n_members; i++)
      if(!spec_absent(spec->members[i], ctx))
        return 0;
    return spec->n_members > 0;
  }
  if(gw_mapping_pointer_check(spec->path, NULL, 0))
    return 0;                  /* mapping reports the bad path */
  return walk(ctx, spec->path, &v) != GW_MAP_OK || json_is_null(v);
}

static enum gw_map_result map_object(struct gw_map_run *run, const struct gw_value_spec *spec,
                                     const json_t *ctx, json_t **out)
{
  enum gw_map_result r = gw_map_charge(run, "", 2);
  json_t *obj = json_object();

  for(size_t i = 0; i < spec->n_members && r == GW_MAP_OK; i++) {
    json_t *v = NULL;
    if(!spec->member_names || !spec->member_names[i] || !spec->members) {
      r = gw_map_fail(run, GW_MAP_BAD_PATH, "", "object spec member %zu has no name", i);
      break;
    }
    r = gw_map_charge(run, "", strlen(spec->member_names[i]) + 4);
    if(r == GW_MAP_OK)
      r = map_spec(run, spec->members[i], ctx, &v);
    if(r == GW_MAP_OK)
      json_object_set_new(obj, spec->member_names[i], v);
  }
  if(r != GW_MAP_OK) {
    json_decref(obj);
    return r;
  }
  *out = obj;
  return GW_MAP_OK;
}

static enum gw_map_result map_spec(struct gw_map_run *run, const struct gw_value_spec *spec,
                                   const json_t *ctx, json_t **out)
{
  enum gw_map_result r;

  if(!spec)
    return gw_map_fail(run, GW_MAP_BAD_PATH, "", "missing value spec");
  if(spec->kind == GW_VALUE_SCALAR)
    return map_scalar(run, spec, ctx, out);
  if(++run->depth > GW_MAP_MAX_SPEC_DEPTH) {
    run->depth--;
    return gw_map_fail(run, GW_MAP_BAD_PATH, "", "spec nested deeper than %u",
                       GW_MAP_MAX_SPEC_DEPTH);
  }
  if(spec->kind == GW_VALUE_LIST)
    r = map_list(run, spec, ctx, out);
  else if(spec->kind == GW_VALUE_FIRST)
    r = map_first(run, spec, ctx, out);
  else
    r = map_object(run, spec, ctx, out);
  run->depth--;
  return r;
}

enum gw_map_result gw_mapping_json(const struct gw_value_spec *spec, const json_t *doc,
                                   json_t **out, char *err, size_t errlen)
{
  return gw_mapping_json_named(spec, doc, NULL, out, err, errlen);
}

enum gw_map_result gw_mapping_json_named(const struct gw_value_spec *spec, const json_t *doc,
                                         const char *subject_name, json_t **out, char *err,
                                         size_t errlen)
{
  struct gw_map_run run;

  *out = NULL;
  gw_map_run_init(&run, err, errlen);
  run.subject_name = subject_name;
  if(!doc)
    return gw_map_fail(&run, GW_MAP_BAD_PATH, "", "no document");
  if(spec && spec->when_absent == GW_ABSENT_NOT_FOUND && spec_absent(spec, doc))
    return gw_map_fail(&run, GW_MAP_NOT_FOUND, spec->path ? spec->path : "",
                       "absent (when_absent: not_found)");
  return map_spec(&run, spec, doc, out);
}

static int is_blank(char c)
{
  return c == ' ' || c == '\t';
}

/* Parses `POINTER exists` or `POINTER == "value"` into *t. */
static int parse_test(const char *test, struct json_test *t, char *err, size_t errlen)
{
  const char *p = test, *start;
  size_t n;

  memset(t, 0, sizeof(*t));
  if(!test) {
    gw_msg_set(err, errlen, "no test");
    return -1;
  }
  while(is_blank(*p))
    p++;
  start = p;
  while(*p && !is_blank(*p))
    p++;
  n = (size_t)(p - start);
  if(!n || n > GW_MAP_MAX_POINTER || start[0] != '/') {
    gw_msg_set(err, errlen, "test must start with a JSON Pointer beginning with '/'");
    return -1;
  }
  memcpy(t->ptr, start, n);
  t->ptr[n] = '\0';
  if(gw_mapping_pointer_check(t->ptr, err, errlen))
    return -1;
  while(is_blank(*p))
    p++;
  if(!strncmp(p, "exists", 6)) {
    p += 6;
    t->equals = 0;
  }
  else if(!strncmp(p, "==", 2)) {
    p += 2;
    while(is_blank(*p))
      p++;
    if(*p != '"') {
      gw_msg_set(err, errlen, "expected a double-quoted value after '=='");
      return -1;
    }
    p++;
    while(*p && *p != '"') {
      char c = *p++;
      if(c == '\\') {
        if(*p != '"' && *p != '\\') {
          gw_msg_set(err, errlen, "only \\\" and \\\\ are escapes in a test value");
          return -1;
        }
        c = *p++;
      }
      if(t->value_len >= TEST_VALUE_MAX) {
        gw_msg_set(err, errlen, "test value longer than %u bytes", TEST_VALUE_MAX);
        return -1;
      }
      t->value[t->value_len++] = c;
    }
    if(*p != '"') {
      gw_msg_set(err, errlen, "unterminated test value");
      return -1;
    }
    p++;
    t->equals = 1;
  }
  else {
    gw_msg_set(err, errlen, "expected 'exists' or '==' after the pointer");
    return -1;
  }
  while(is_blank(*p))
    p++;
  if(*p) {
    gw_msg_set(err, errlen, "unexpected text after the test");
    return -1;
  }
  return 0;
}

int gw_mapping_json_test_check(const char *test, char *err, size_t errlen)
{
  struct json_test t;
  return parse_test(test, &t, err, errlen);
}

static int value_equals(const json_t *v, const char *want, size_t n)
{
  char text[32];

  switch(json_typeof(v)) {
  case JSON_STRING:
    return json_string_length(v) == n && !memcmp(json_string_value(v), want, n);
  case JSON_INTEGER:
    snprintf(text, sizeof(text), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    return strlen(text) == n && !memcmp(text, want, n);
  case JSON_TRUE:
    return n == 4 && !memcmp(want, "true", 4);
  case JSON_FALSE:
    return n == 5 && !memcmp(want, "false", 5);
  default:
    return 0;
  }
}

enum gw_rule_result gw_mapping_rule_matches_json(const struct gw_result_rule *rule,
                                                 int http_status, const json_t *doc,
                                                 char *err, size_t errlen)
{
  struct json_test t;
  json_t *v;

  if(!rule->n_status && !rule->test)
    return GW_RULE_NO_MATCH;
  if(rule->n_status && !gw_map_status_listed(rule, http_status))
    return GW_RULE_NO_MATCH;
  if(!rule->test)
    return GW_RULE_MATCH;
  if(parse_test(rule->test, &t, err, errlen))
    return GW_RULE_ERROR;
  if(!doc || walk(doc, t.ptr, &v) != GW_MAP_OK)
    return GW_RULE_NO_MATCH;
  if(!t.equals)
    return json_is_null(v) ? GW_RULE_NO_MATCH : GW_RULE_MATCH;
  return value_equals(v, t.value, t.value_len) ? GW_RULE_MATCH : GW_RULE_NO_MATCH;
}
