/*
 * adapter_spec.c - the parts of an adapter file that read agency answers:
 * the mapping (one value-spec tree per fact), the result rules
 * (response.not_found, response.fault) and the subject binding
 * (response.subject).
 *
 * The one idea: a value-spec is exactly one of four kinds, and the key
 * that names the kind decides every other key allowed beside it:
 *   {"path": P, "type": T, "optional", "values", "true_values", "false_values"}
 *   {"object": {"member": spec, ...}}
 *   {"list": P, "item": spec}
 *   {"first": P, "where": {Q: "value", ...}, "item": spec, "default": JSON}
 * plus "when_absent", which only a fact's own (root) spec may carry.  A
 * member that belongs to another kind is named as such ("optional: only
 * for a scalar value-spec"), since that is the usual mistake.  Every path is
 * checked for the protocol's family now (XPath 1.0 compiled with the
 * declared namespaces, or RFC 6901 JSON Pointer), and the tree is bounded:
 * GW_VALUE_SPEC_MAX_DEPTH levels, GW_VALUE_SPEC_MAX_MEMBERS members per
 * object, GW_VALUE_SPEC_MAX_NODES nodes per adapter.  Nodes are attached to
 * the adapter as soon as they are allocated, so a failure half-way leaves a
 * tree that gw_adapter_unref frees completely.
 */
#include "adapter_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw/alloc.h"
#include "mapping.h"

#define ENUM_VALUE_MAX 256

#define WHERE_VALUE_MAX 256

enum member_kind { FOR_SCALAR, FOR_OBJECT, FOR_LIST, FOR_FIRST, FOR_ITEM, FOR_ANY,
                   FOR_NONE };

static enum member_kind kind_of(const char *key)
{
  static const char *const scalar[] = { "path", "type", "optional", "values",
                                        "true_values", "false_values", NULL };
  for(const char *const *k = scalar; *k; k++)
    if(!strcmp(*k, key))
      return FOR_SCALAR;
  if(!strcmp(key, "object"))
    return FOR_OBJECT;
  if(!strcmp(key, "list"))
    return FOR_LIST;
  if(!strcmp(key, "first") || !strcmp(key, "where") || !strcmp(key, "default"))
    return FOR_FIRST;
  if(!strcmp(key, "item"))
    return FOR_ITEM;           /* list and first alike */
  if(!strcmp(key, "when_absent"))
    return FOR_ANY;            /* any kind; read_spec checks the level */
  return FOR_NONE;
}

/* Every member must belong to the spec's kind. */
static int members_fit(struct gw_adl *r, json_t *obj, const char *at,
                       enum member_kind kind)
{
  static const char *const owner[] = {
    [FOR_SCALAR] = "only for a scalar value-spec (one with \"path\")",
    [FOR_OBJECT] = "only for an object value-spec",
    [FOR_LIST] = "only for a list value-spec (one with \"list\")",
    [FOR_FIRST] = "only for a first value-spec (one with \"first\")",
    [FOR_ITEM] = ("only for a list value-spec (one with \"list\") or a first "
                  "value-spec (one with \"first\")"),
  };
  const char *key;
  json_t *v;
  json_object_foreach(obj, key, v) {
    enum member_kind k = kind_of(key);
    char field[GW_ADL_FIELD_MAX];
    if(k == kind || k == FOR_ANY ||
       (k == FOR_ITEM && (kind == FOR_LIST || kind == FOR_FIRST)))
      continue;
    gw_adl_join(field, sizeof(field), at, key);
    if(k == FOR_NONE)
      gw_adl_fail(r, field, "unknown field (a value-spec has path, type, "
                  "optional, values, true_values, false_values; or object; "
                  "or list and item; or first, where, item and default; and, "
                  "on a fact's own value-spec, when_absent)");
    else
      gw_adl_fail(r, field, "%s", owner[k]);
    return -1;
  }
  return 0;
}

/* A path member: a string (empty allowed: for JSON it is the whole
 * document or the item) checked as the protocol's expression language. */
/* An expression's text: bounded, no control characters, then checked as
 * the protocol's expression language.  0 when it passes. */
static int expr_text_ok(struct gw_adl *r, const char *s, size_t len, const char *field,
                        int relative)
{
  if(len > GW_ADAPTER_EXPR_MAX) {
    gw_adl_fail(r, field, "at most %d bytes (got %zu)", GW_ADAPTER_EXPR_MAX, len);
    return -1;
  }
  for(size_t i = 0; i < len; i++)
    if((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
      gw_adl_fail(r, field, "must not contain control characters");
      return -1;
    }
  gw_adl_expr(r, s, field, relative);
  return r->jr.failed ? -1 : 0;
}

static char *read_expr(struct gw_adl *r, json_t *obj, const char *at,
                       const char *key, int relative)
{
  char field[GW_ADL_FIELD_MAX];
  json_t *v = json_object_get(obj, key);
  gw_adl_join(field, sizeof(field), at, key);
  if(!json_is_string(v)) {
    gw_adl_fail(r, field, "must be a string (%s)", gw_protocol_is_xml(r->a->protocol)
                ? "an XPath 1.0 expression" : "a JSON Pointer");
    return NULL;
  }
  if(expr_text_ok(r, json_string_value(v), json_string_length(v), field, relative))
    return NULL;
  return gw_strdup(json_string_value(v));
}

static char **read_bool_values(struct gw_adl *r, json_t *obj, const char *at,
                               const char *key, size_t *n)
{
  char field[GW_ADL_FIELD_MAX];
  json_t *arr = gw_adl_array(r, obj, at, key, 0, GW_VALUE_SPEC_MAX_BOOL), *v;
  char **out;
  size_t i;
  *n = 0;
  if(!arr)
    return NULL;
  gw_adl_join(field, sizeof(field), at, key);
  out = gw_calloc(json_array_size(arr), sizeof(*out));
  json_array_foreach(arr, i, v) {
    char item[GW_ADL_FIELD_MAX];
    const char *s;
    gw_adl_index(item, sizeof(item), field, i);
    if(!(s = gw_adl_string_value(r, v, item, ENUM_VALUE_MAX)))
      break;
    for(size_t j = 0; j < *n; j++)
      if(!strcmp(out[j], s)) {
        gw_adl_fail(r, item, "\"%s\" is listed twice", s);
        return out;
      }
    out[(*n)++] = gw_strdup(s);
  }
  return out;
}

static void read_scalar(struct gw_adl *r, json_t *obj, const char *at,
                        struct gw_value_spec *s, int relative)
{
  static const char *const types[] = { "string", "int", "number", "bool", "date",
                                       "enum", "name_agrees", NULL };
  char field[GW_ADL_FIELD_MAX];
  json_t *values;
  const char *key;
  json_t *v;
  int t;

  s->kind = GW_VALUE_SCALAR;
  if(!(s->path = read_expr(r, obj, at, "path", relative)))
    return;
  if((t = gw_adl_choice(r, obj, at, "type", types,
                        "string, int, number, bool, date, enum, name_agrees")) < 0)
    return;
  s->type = (enum gw_value_type)t;
  s->optional = gw_adl_bool(r, obj, at, "optional", 0);
  values = json_object_get(obj, "values");
  gw_adl_join(field, sizeof(field), at, "values");
  if(!r->jr.failed && s->type == GW_TYPE_ENUM && !values)
    gw_adl_fail(r, field, "missing (type enum needs \"values\": {\"agency "
                "value\": \"fact value\", ...})");
  else if(!r->jr.failed && s->type != GW_TYPE_ENUM && values)
    gw_adl_fail(r, field, "only with type enum");
  if(!r->jr.failed && values) {
    if(!json_is_object(values))
      gw_adl_fail(r, field, "must be an object: {\"agency value\": \"fact value\", ...}");
    else if(!json_object_size(values))
      gw_adl_fail(r, field, "must not be empty");
    else if(json_object_size(values) > GW_VALUE_SPEC_MAX_ENUM)
      gw_adl_fail(r, field, "at most %d values (got %zu)", GW_VALUE_SPEC_MAX_ENUM,
                  json_object_size(values));
    if(r->jr.failed)
      return;
    s->enum_map = gw_calloc(json_object_size(values), sizeof(*s->enum_map));
    json_object_foreach(values, key, v) {
      char item[GW_ADL_FIELD_MAX];
      const char *fact_value;
      gw_adl_join(item, sizeof(item), field, key);
      if(strlen(key) > ENUM_VALUE_MAX) {
        gw_adl_fail(r, field, "an agency value is longer than %d bytes", ENUM_VALUE_MAX);
        return;
      }
      if(!(fact_value = gw_adl_string_value(r, v, item, ENUM_VALUE_MAX)))
        return;
      s->enum_map[s->n_enum].name = gw_strdup(key);
      s->enum_map[s->n_enum].value = gw_strdup(fact_value);
      s->n_enum++;
    }
  }
  if(r->jr.failed)
    return;
  if(s->type != GW_TYPE_BOOL) {
    if(json_object_get(obj, "true_values") || json_object_get(obj, "false_values")) {
      gw_adl_join(field, sizeof(field), at, json_object_get(obj, "true_values")
                  ? "true_values" : "false_values");
      gw_adl_fail(r, field, "only with type bool");
    }
    return;
  }
  s->true_values = read_bool_values(r, obj, at, "true_values", &s->n_true);
  if(!r->jr.failed)
    s->false_values = read_bool_values(r, obj, at, "false_values", &s->n_false);
  for(size_t i = 0; !r->jr.failed && i < s->n_true; i++)
    for(size_t j = 0; j < s->n_false; j++)
      if(!strcmp(s->true_values[i], s->false_values[j])) {
        gw_adl_join(field, sizeof(field), at, "false_values");
        gw_adl_fail(r, field, "\"%s\" is also in true_values", s->false_values[j]);
        break;
      }
}

static struct gw_value_spec *read_spec(struct gw_adl *r, json_t *v, const char *at,
                                       int depth, int relative);

static void read_object(struct gw_adl *r, json_t *obj, const char *at,
                        struct gw_value_spec *s, int depth, int relative)
{
  char field[GW_ADL_FIELD_MAX];
  json_t *members = gw_adl_object(r, obj, at, "object", 1), *v;
  const char *name;
  size_t n;

  s->kind = GW_VALUE_OBJECT;
  if(!members)
    return;
  gw_adl_join(field, sizeof(field), at, "object");
  n = json_object_size(members);
  if(!n) {
    gw_adl_fail(r, field, "must have at least one member");
    return;
  }
  if(n > GW_VALUE_SPEC_MAX_MEMBERS) {
    gw_adl_fail(r, field, "at most %d members (got %zu)", GW_VALUE_SPEC_MAX_MEMBERS, n);
    return;
  }
  s->member_names = gw_calloc(n, sizeof(*s->member_names));
  s->members = gw_calloc(n, sizeof(*s->members));
  json_object_foreach(members, name, v) {
    char mfield[GW_ADL_FIELD_MAX];
    size_t len = strlen(name);
    int ok = len && len <= 64 && islower((unsigned char)name[0]);
    for(size_t i = 1; ok && i < len; i++)
      ok = islower((unsigned char)name[i]) || isdigit((unsigned char)name[i]) ||
           name[i] == '_';
    gw_adl_join(mfield, sizeof(mfield), field, name);
    if(!ok) {
      gw_adl_fail(r, mfield, "a fact member name must match [a-z][a-z0-9_]{0,63}");
      return;
    }
    s->member_names[s->n_members] = gw_strdup(name);
    s->members[s->n_members] = NULL;
    s->n_members++;
    s->members[s->n_members - 1] = read_spec(r, v, mfield, depth + 1, relative);
    if(r->jr.failed)
      return;
  }
}

static void read_list(struct gw_adl *r, json_t *obj, const char *at,
                      struct gw_value_spec *s, int depth, int relative)
{
  char field[GW_ADL_FIELD_MAX];
  json_t *item = json_object_get(obj, "item");
  s->kind = GW_VALUE_LIST;
  if(!(s->path = read_expr(r, obj, at, "list", relative)))
    return;
  gw_adl_join(field, sizeof(field), at, "item");
  if(!item) {
    gw_adl_fail(r, field, "missing (a list needs an item value-spec)");
    return;
  }
  s->item = read_spec(r, item, field, depth + 1, 1);
}

/* {"first": P, "where": {Q: "value", ...}, "item": spec, "default": JSON} */
static void read_first(struct gw_adl *r, json_t *obj, const char *at,
                       struct gw_value_spec *s, int depth, int relative)
{
  char field[GW_ADL_FIELD_MAX];
  json_t *where, *item = json_object_get(obj, "item"), *dflt, *v;
  const char *key;

  s->kind = GW_VALUE_FIRST;
  if(!(s->path = read_expr(r, obj, at, "first", relative)))
    return;
  if((where = gw_adl_object(r, obj, at, "where", 0))) {
    gw_adl_join(field, sizeof(field), at, "where");
    if(!json_object_size(where)) {
      gw_adl_fail(r, field, "must not be empty (leave \"where\" out to take the "
                  "first item)");
      return;
    }
    if(json_object_size(where) > GW_VALUE_SPEC_MAX_WHERE) {
      gw_adl_fail(r, field, "at most %d conditions (got %zu)", GW_VALUE_SPEC_MAX_WHERE,
                  json_object_size(where));
      return;
    }
    s->where = gw_calloc(json_object_size(where), sizeof(*s->where));
    json_object_foreach(where, key, v) {
      char cond[GW_ADL_FIELD_MAX];
      const char *want;
      gw_adl_join(cond, sizeof(cond), field, key);
      if(expr_text_ok(r, key, strlen(key), cond, 1))
        return;
      if(!json_is_string(v)) {
        gw_adl_fail(r, cond, "must be a string: the value the item holds at "
                    "this relative path");
        return;
      }
      if(!(want = gw_adl_string_value(r, v, cond, WHERE_VALUE_MAX)))
        return;
      s->where[s->n_where].name = gw_strdup(key);
      s->where[s->n_where].value = gw_strdup(want);
      s->n_where++;
    }
  }
  if(r->jr.failed)
    return;
  if((dflt = json_object_get(obj, "default"))) {
    char *text = json_dumps(dflt, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
    gw_adl_join(field, sizeof(field), at, "default");
    if(!text) {
      gw_adl_fail(r, field, "cannot be written back as JSON");
      return;
    }
    if(strlen(text) > GW_VALUE_SPEC_DEFAULT_MAX) {
      gw_adl_fail(r, field, "at most %d bytes of JSON (got %zu)",
                  GW_VALUE_SPEC_DEFAULT_MAX, strlen(text));
      free(text);
      return;
    }
    s->default_json = gw_strdup(text);
    free(text);
  }
  gw_adl_join(field, sizeof(field), at, "item");
  if(!item) {
    gw_adl_fail(r, field, "missing (a first value-spec needs an item value-spec)");
    return;
  }
  s->item = read_spec(r, item, field, depth + 1, 1);
}

static struct gw_value_spec *read_spec(struct gw_adl *r, json_t *v, const char *at,
                                       int depth, int relative)
{
  struct gw_value_spec *s;
  int has_path, has_object, has_list, has_first;
  json_t *absent;

  if(depth > GW_VALUE_SPEC_MAX_DEPTH) {
    gw_adl_fail(r, at, "value-specs nest at most %d levels deep",
                GW_VALUE_SPEC_MAX_DEPTH);
    return NULL;
  }
  if(!json_is_object(v)) {
    gw_adl_fail(r, at, "must be an object (a value-spec: {\"path\": ...}, "
                "{\"object\": ...} or {\"list\": ..., \"item\": ...})");
    return NULL;
  }
  if(++r->spec_nodes > GW_VALUE_SPEC_MAX_NODES) {
    gw_adl_fail(r, at, "at most %d value-spec nodes in one adapter",
                GW_VALUE_SPEC_MAX_NODES);
    return NULL;
  }
  has_path = json_object_get(v, "path") != NULL;
  has_object = json_object_get(v, "object") != NULL;
  has_list = json_object_get(v, "list") != NULL;
  has_first = json_object_get(v, "first") != NULL;
  if(has_path + has_object + has_list + has_first == 0) {
    gw_adl_fail(r, at, "must have one of \"path\" (a scalar), \"object\", "
                "\"list\" or \"first\"");
    return NULL;
  }
  if(has_path + has_object + has_list + has_first > 1) {
    char got[64];
    snprintf(got, sizeof(got), "%s%s%s%s", has_path ? "path " : "",
             has_object ? "object " : "", has_list ? "list " : "",
             has_first ? "first " : "");
    got[strlen(got) - 1] = '\0';
    gw_adl_fail(r, at, "must have only one of \"path\", \"object\", \"list\", "
                "\"first\" (got %s)", got);
    return NULL;
  }
  if(members_fit(r, v, at, has_path ? FOR_SCALAR : has_object ? FOR_OBJECT :
                           has_list ? FOR_LIST : FOR_FIRST))
    return NULL;
  if((absent = json_object_get(v, "when_absent"))) {
    char field[GW_ADL_FIELD_MAX];
    gw_adl_join(field, sizeof(field), at, "when_absent");
    if(depth != 1) {
      gw_adl_fail(r, field, "only on a fact's own value-spec (mapping.FACT), not "
                  "inside it");
      return NULL;
    }
    if(!json_is_string(absent) || strcmp(json_string_value(absent), "not_found")) {
      gw_adl_fail(r, field, "must be \"not_found\" (the only choice; leave it out "
                  "for absence to be a bad_response)");
      return NULL;
    }
  }
  s = gw_calloc(1, sizeof(*s));
  s->when_absent = absent ? GW_ABSENT_NOT_FOUND : GW_ABSENT_BAD_RESPONSE;
  if(has_path)
    read_scalar(r, v, at, s, relative);
  else if(has_object)
    read_object(r, v, at, s, depth, relative);
  else if(has_list)
    read_list(r, v, at, s, depth, relative);
  else
    read_first(r, v, at, s, depth, relative);
  return s;
}

/* Does any scalar of s have type name_agrees? */
static int spec_compares_name(const struct gw_value_spec *s)
{
  if(s->kind == GW_VALUE_SCALAR)
    return s->type == GW_TYPE_NAME_AGREES;
  for(size_t i = 0; i < s->n_members; i++)
    if(s->members[i] && spec_compares_name(s->members[i]))
      return 1;
  return s->item && spec_compares_name(s->item);
}

void gw_adl_read_mapping(struct gw_adl *r, json_t *root)
{
  struct gw_adapter *a = r->a;
  json_t *m = gw_adl_object(r, root, "", "mapping", 1), *v;
  const char *fact;

  if(!m)
    return;
  json_object_foreach(m, fact, v) {
    int listed = 0;
    for(size_t i = 0; i < a->n_facts; i++)
      if(!strcmp(a->facts[i], fact))
        listed = 1;
    if(!listed) {
      char field[GW_ADL_FIELD_MAX];
      gw_adl_join(field, sizeof(field), "mapping", fact);
      gw_adl_fail(r, field, "\"%s\" is not listed in facts (a mapping needs "
                  "its fact in facts)", fact);
      return;
    }
  }
  for(size_t i = 0; i < a->n_facts && !r->jr.failed; i++) {
    char field[GW_ADL_FIELD_MAX];
    gw_adl_join(field, sizeof(field), "mapping", a->facts[i]);
    if(!(v = json_object_get(m, a->facts[i]))) {
      gw_adl_fail(r, field, "missing (every fact in facts needs a mapping)");
      return;
    }
    a->mappings[i].fact = gw_strdup(a->facts[i]);
    a->n_mappings = i + 1;
    a->mappings[i].spec = read_spec(r, v, field, 1, 0);
    if(a->mappings[i].spec && spec_compares_name(a->mappings[i].spec))
      a->maps_name = 1;
  }
}

void gw_adl_read_rule(struct gw_adl *r, json_t *response, const char *key,
                      struct gw_result_rule *rule)
{
  static const char *const known[] = { "status", "test", NULL };
  char at[64], field[GW_ADL_FIELD_MAX], why[400];
  json_t *obj = gw_adl_object(r, response, "response", key, 0), *arr;

  snprintf(at, sizeof(at), "response.%s", key);
  if(!obj || gw_adl_unknown(r, obj, at, known))
    return;
  if(!json_object_get(obj, "status") && !json_object_get(obj, "test")) {
    gw_adl_fail(r, at, "must have \"status\", \"test\" or both");
    return;
  }
  gw_adl_join(field, sizeof(field), at, "status");
  if((arr = gw_adl_array(r, obj, at, "status", 0, GW_ADAPTER_MAX_STATUS)))
    rule->n_status = gw_adl_status(r, arr, field, rule->status);
  if(r->jr.failed || !json_object_get(obj, "test"))
    return;
  rule->test = gw_adl_string(r, obj, at, "test", 1, GW_ADAPTER_EXPR_MAX);
  gw_adl_join(field, sizeof(field), at, "test");
  if(!rule->test)
    return;
  if(gw_protocol_is_xml(r->a->protocol))
    gw_adl_expr(r, rule->test, field, 0);
  else if(gw_adl_check_json_test(rule->test, why, sizeof(why)))
    gw_adl_fail(r, field, "%s", why);
  else if(gw_mapping_json_test_check(rule->test, why, sizeof(why)))
    gw_adl_fail(r, field, "refused by the mapping engine: %s", why);
}

void gw_adl_read_subject(struct gw_adl *r, json_t *response)
{
  static const char *const known[] = { "path", "form", NULL };
  static const char *const forms[] = { "id", "sha256", NULL };
  struct gw_adapter *a = r->a;
  json_t *obj = gw_adl_object(r, response, "response", "subject", 0);
  int form = 0;

  if(!obj || gw_adl_unknown(r, obj, "response.subject", known))
    return;
  if(!json_object_get(obj, "path")) {
    gw_adl_fail(r, "response.subject.path", "missing (%s naming the subject the "
                "answer is about)", gw_protocol_is_xml(a->protocol)
                ? "an XPath 1.0 expression" : "a JSON Pointer");
    return;
  }
  if(!(a->subject_path = read_expr(r, obj, "response.subject", "path", 0)))
    return;
  if(!gw_protocol_is_xml(a->protocol) && !a->subject_path[0]) {
    gw_adl_fail(r, "response.subject.path", "must point into the answer (not \"\", "
                "the whole document)");
    return;
  }
  if(json_object_get(obj, "form") &&
     (form = gw_adl_choice(r, obj, "response.subject", "form", forms, "id, sha256")) < 0)
    return;
  a->subject_form = form == 1 ? GW_SUBJECT_SHA256 : GW_SUBJECT_ID;
}
