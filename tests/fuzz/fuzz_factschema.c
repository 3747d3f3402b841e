/*
 * fuzz_factschema.c - the fact-schema validator (gw_factschema_validate)
 * against the real schemas of schemas/facts on arbitrary JSON values.
 *
 * Input: byte 0 picks the fact (modulo the catalogue, in gw_fact_all
 * order); the rest is a JSON value (any JSON text, scalars included).
 *
 * Invariants checked beyond "no crash, no leak":
 *   - validate and check-against-the-set's-schema agree;
 *   - a refusal says "$...: problem" (a JSON path from "$");
 *   - no message repeats a value from the input: a string of 6 bytes or
 *     more that occurs in the message must also be a member name of the
 *     input, part of the schema's own text (enum values, patterns), or
 *     still there when that value is replaced by as many 'Q's (the
 *     validator's own words, "... not string");
 *   - an accepted value has the type its schema's top-level "type" names,
 *     and stays accepted after a round trip through compact JSON;
 *   - an unknown fact name is refused.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gw/facts.h"
#include "gw/factschema.h"

#include "fuzz_fixture.h"
#include "../lib/catalogue_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct gw_factschema_set *schemas(void)
{
  static struct gw_factschema_set *set;
  char path[PATH_MAX], err[512];
  if(set)
    return set;
  snprintf(path, sizeof(path), "%s/schemas/facts", fuzz_source_dir());
  if(gw_factschema_set_load(path, &set, err, sizeof(err)))
    fuzz_die(err);
  return set;
}

static int type_is(const json_t *v, const char *t)
{
  if(!strcmp(t, "object"))
    return json_is_object(v);
  if(!strcmp(t, "array"))
    return json_is_array(v);
  if(!strcmp(t, "string"))
    return json_is_string(v);
  if(!strcmp(t, "boolean"))
    return json_is_boolean(v);
  if(!strcmp(t, "null"))
    return json_is_null(v);
  if(!strcmp(t, "number"))
    return json_is_number(v);
  if(!strcmp(t, "integer"))   /* 1.0 counts as an integer (draft 2020-12) */
    return json_is_integer(v) ||
           (json_is_real(v) && json_real_value(v) == (double)(long long)json_real_value(v));
  return 0;
}

/* The value has (one of) the type(s) the schema's root names. */
static int root_type_ok(const struct gw_factschema *s, const json_t *v)
{
  const char *text = gw_factschema_text(s);
  json_t *schema = json_loads(text, 0, NULL), *t, *x;
  size_t i;
  int ok = 0;

  t = json_object_get(schema, "type");
  if(json_is_string(t))
    ok = type_is(v, json_string_value(t));
  else
    json_array_foreach(t, i, x)
      ok |= type_is(v, json_string_value(x));
  json_decref(schema);
  return ok;
}

/* Any member name anywhere in v containing s? */
static int in_member_names(const json_t *v, const char *s, int depth)
{
  const char *k;
  json_t *x;
  size_t i;
  if(depth > 64)
    return 0;
  if(json_is_object(v)) {
    json_object_foreach((json_t *)v, k, x)
      if(strstr(k, s) || in_member_names(x, s, depth + 1))
        return 1;
  }
  else if(json_is_array(v)) {
    json_array_foreach(v, i, x)
      if(in_member_names(x, s, depth + 1))
        return 1;
  }
  return 0;
}

struct leak_ctx {
  struct gw_factschema_set *set;
  const char *fact;
  json_t *root;
  const char *msg, *stext;
};

/* Did the value's own bytes put s in the message?  The string node x (the
 * member `key` or element `idx` of parent; the whole document when parent
 * is NULL) is replaced by as many 'Q's and the document validated again:
 * when the message then no longer holds s, it was echoed from the value.
 * Words of the validator's own ("... not string") stay and are not leaks. */
static int echoed(struct leak_ctx *c, json_t *parent, const char *key, size_t idx, json_t *x)
{
  const char *s = json_string_value(x);
  size_t n = json_string_length(x);
  char *q = malloc(n + 1), err[GW_FACTSCHEMA_PATH_MAX + 256];
  json_t *neutral;
  int rc, still;

  if(!q)
    abort();
  memset(q, 'Q', n);
  q[n] = '\0';
  neutral = json_string(q);
  free(q);
  err[0] = '\0';
  if(!parent) {
    rc = gw_factschema_validate(c->set, c->fact, neutral, err, sizeof(err));
    json_decref(neutral);
  }
  else if(json_is_object(parent)) {
    json_incref(x);
    json_object_set_new(parent, key, neutral);
    rc = gw_factschema_validate(c->set, c->fact, c->root, err, sizeof(err));
    json_object_set_new(parent, key, x);
  }
  else {
    json_incref(x);
    json_array_set_new(parent, idx, neutral);
    rc = gw_factschema_validate(c->set, c->fact, c->root, err, sizeof(err));
    json_array_set_new(parent, idx, x);
  }
  still = rc && strstr(err, s) != NULL;   /* accepted: nothing left to hold it */
  return !still;
}

/* Every string value of x of 6+ bytes found in the message must be a
 * member name (anywhere in the input), part of the schema text, or there
 * whatever the value (echoed() says which). */
static int leaks_value(struct leak_ctx *c, json_t *parent, const char *pkey, size_t pidx,
                       json_t *x, int depth)
{
  const char *k;
  json_t *y;
  size_t i;

  if(depth > 64)
    return 0;
  if(json_is_string(x)) {
    const char *s = json_string_value(x);
    size_t n = json_string_length(x);
    return n >= 6 && strlen(s) == n && strstr(c->msg, s) && !strstr(c->stext, s) &&
           !in_member_names(c->root, s, 0) && echoed(c, parent, pkey, pidx, x);
  }
  if(json_is_object(x)) {
    json_object_foreach(x, k, y)
      if(leaks_value(c, x, k, 0, y, depth + 1))
        return 1;
  }
  else if(json_is_array(x)) {
    json_array_foreach(x, i, y)
      if(leaks_value(c, x, NULL, i, y, depth + 1))
        return 1;
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct gw_factschema_set *set = schemas();
  const struct gw_fact_def *facts;
  const struct gw_factschema *s;
  size_t n_facts;
  const char *fact;
  json_t *v;
  char err[GW_FACTSCHEMA_PATH_MAX + 256], err2[sizeof(err)];
  int rc;

  if(size < 1)
    return 0;
  facts = gw_fact_all(&n_facts);
  fact = facts[data[0] % n_facts].name;
  s = gw_factschema_set_get(set, fact);
  if(!s)
    abort();
  v = json_loadb((const char *)data + 1, size - 1, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
  if(!v)
    return 0;

  err[0] = err2[0] = '\0';
  rc = gw_factschema_validate(set, fact, v, err, sizeof(err));
  if(rc != gw_factschema_check(s, v, err2, sizeof(err2)) || strcmp(err, err2))
    abort();
  if(rc) {
    if(err[0] != '$' || !strstr(err, ": "))
      abort();
    struct leak_ctx c = { set, fact, v, err, gw_factschema_text(s) };
    if(leaks_value(&c, NULL, NULL, 0, v, 0))
      abort();
  }
  else {
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    json_t *again = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
    if(!root_type_ok(s, v) || !again || gw_factschema_check(s, again, err, sizeof(err)))
      abort();
    json_decref(again);
    free(text);
  }
  if(!gw_factschema_validate(set, "no.such.fact", v, err, sizeof(err)))
    abort();
  json_decref(v);
  return 0;
}
