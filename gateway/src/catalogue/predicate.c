/*
 * predicate.c - loading predicate definitions (schemas/predicates/NAME.json).
 *
 * A definition is checked field by field against the fixed operator set of
 * gw/predicate.h and refused with "FILE: FIELD: PROBLEM"; a directory loads
 * whole or not at all, so a bad file on reload leaves the running set
 * serving.  Each definition keeps the SHA-256 of its exact file bytes, which
 * predicate attestations cite: an auditor hashes the file to know which rule
 * produced an answer.  The evaluator is in predicate_eval.c.
 */
#include "gw/predicate.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "acl.h"
#include "gw/alloc.h"
#include "gw/b64.h"
#include "gw/facts.h"
#include "mapping.h"

#define PRED_ID_MAX 64
#define PRED_ARG_MAX 32                /* characters of one string argument */

struct gw_predset {
  struct gw_pred_def *defs;
  size_t n;
  char sha256[65];
};

static void def_clear(struct gw_pred_def *d)
{
  gw_free(d->id);
  gw_free(d->description);
  for(size_t i = 0; i < d->n_facts; i++)
    gw_free(d->facts[i]);
  gw_free(d->fact);
  gw_free(d->select);
  gw_free(d->items);
  json_decref(d->order);
  json_decref(d->value);
  json_decref(d->values);
  json_decref(d->args);
  for(size_t i = 0; i < d->n_purposes; i++)
    gw_free(d->purposes[i]);
  gw_free(d->file);
  gw_free(d->text);
  memset(d, 0, sizeof(*d));
}

void gw_predset_free(struct gw_predset *set)
{
  if(!set)
    return;
  for(size_t i = 0; i < set->n; i++)
    def_clear(&set->defs[i]);
  gw_free(set->defs);
  gw_free(set);
}

/* A dotted lower-case name: "education.at_least", "tax.shenzhen_months". */
static int valid_dotted(const char *s, size_t max)
{
  size_t n = strlen(s);
  int dots = 0;
  if(!n || n > max || s[0] == '.' || s[n - 1] == '.')
    return 0;
  for(size_t i = 0; i < n; i++) {
    if(s[i] == '.') {
      if(s[i + 1] == '.')
        return 0;
      dots++;
    }
    else if(!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
      return 0;
  }
  return dots >= 1;
}

static int fail(char *err, size_t errlen, const char *file, const char *field, const char *problem)
{
  snprintf(err, errlen, "%s: %s: %s", file, field, problem);
  return -1;
}

/* A string list with no duplicates; `strings_only` refuses numbers. */
static int check_list(const json_t *a, size_t max, int strings_only, const char *file,
                      const char *field, char *err, size_t errlen)
{
  size_t i, j;
  json_t *v;
  char problem[128];
  if(!json_is_array(a) || !json_array_size(a) || json_array_size(a) > max) {
    snprintf(problem, sizeof(problem), "must be an array of 1 to %zu entries", max);
    return fail(err, errlen, file, field, problem);
  }
  json_array_foreach(a, i, v) {
    if(!(json_is_string(v) && json_string_length(v) >= 1 && json_string_length(v) <= PRED_ARG_MAX) &&
       (strings_only || !json_is_integer(v) || json_integer_value(v) < 0 ||
        json_integer_value(v) > 1000000)) {
      snprintf(problem, sizeof(problem), "[%zu]: must be %s", i,
               strings_only ? "a string of 1 to 32 characters"
                            : "a string of 1 to 32 characters or an integer 0..1000000");
      return fail(err, errlen, file, field, problem);
    }
    for(j = 0; j < i; j++)
      if(json_equal(v, json_array_get(a, j))) {
        snprintf(problem, sizeof(problem), "[%zu]: repeats [%zu]", i, j);
        return fail(err, errlen, file, field, problem);
      }
  }
  return 0;
}

static int list_has(const json_t *a, const json_t *v)
{
  size_t i;
  json_t *x;
  json_array_foreach(a, i, x)
    if(json_equal(x, v))
      return 1;
  return 0;
}

static int get_pointer(const json_t *rule, const char *key, char **out, const char *file,
                       char *err, size_t errlen)
{
  json_t *v = json_object_get(rule, key);
  char field[32], why[160];
  snprintf(field, sizeof(field), "rule.%s", key);
  if(!v)
    return 0;
  if(!json_is_string(v))
    return fail(err, errlen, file, field, "must be a JSON Pointer string");
  if(json_string_length(v) && gw_mapping_pointer_check(json_string_value(v), why, sizeof(why)))
    return fail(err, errlen, file, field, why);
  *out = gw_strdup(json_string_value(v));
  return 0;
}

static int parse_rule(struct gw_pred_def *d, const json_t *rule, const char *file, char *err,
                      size_t errlen)
{
  static const char *const known[] = { "operator", "fact", "select", "items", "derive",
                                       "order", "value", "values", NULL };
  static const char *const ops[] = { "", "at_least", "under", "equals", "in", "none_of",
                                     "exists", "all_true", NULL };
  const char *key, *s;
  json_t *v;
  int found = 0;

  if(!json_is_object(rule))
    return fail(err, errlen, file, "rule", "must be an object");
  json_object_foreach((json_t *)rule, key, v) {
    int ok = 0;
    for(const char *const *k = known; *k; k++)
      ok |= !strcmp(*k, key);
    if(!ok) {
      char field[96];
      snprintf(field, sizeof(field), "rule.%.64s", key);
      return fail(err, errlen, file, field, "unknown field");
    }
  }
  s = json_string_value(json_object_get(rule, "operator"));
  for(int i = 1; s && ops[i]; i++)
    if(!strcmp(ops[i], s)) {
      d->op = (enum gw_pred_op)i;
      found = 1;
    }
  if(!found)
    return fail(err, errlen, file, "rule.operator",
                "must be one of at_least, under, equals, in, none_of, exists, all_true");
  s = json_string_value(json_object_get(rule, "fact"));
  if(d->op == GW_PRED_ALL_TRUE) {
    static const char *const only[] = { "operator", "select", NULL };
    json_object_foreach((json_t *)rule, key, v) {
      int ok = 0;
      for(const char *const *k = only; *k; k++)
        ok |= !strcmp(*k, key);
      if(!ok) {
        char field[96];
        snprintf(field, sizeof(field), "rule.%.64s", key);
        return fail(err, errlen, file, field,
                    "all_true reads every fact of \"facts\" and has only \"select\"");
      }
    }
    if(get_pointer(rule, "select", &d->select, file, err, errlen))
      return -1;
    if(!d->select)
      d->select = gw_strdup("");
    return 0;
  }
  for(size_t i = 0; s && i < d->n_facts; i++)
    if(!strcmp(d->facts[i], s))
      d->fact = gw_strdup(s);
  if(!d->fact)
    return fail(err, errlen, file, "rule.fact", "must name one of the predicate's facts");
  if(get_pointer(rule, "select", &d->select, file, err, errlen) ||
     get_pointer(rule, "items", &d->items, file, err, errlen))
    return -1;
  if(!d->select)
    d->select = gw_strdup("");
  v = json_object_get(rule, "derive");
  if(v) {
    if(!json_is_string(v) || strcmp(json_string_value(v), "age_years"))
      return fail(err, errlen, file, "rule.derive", "must be \"age_years\"");
    if(d->op != GW_PRED_AT_LEAST && d->op != GW_PRED_UNDER)
      return fail(err, errlen, file, "rule.derive", "only at_least and under derive an age");
    d->derive_age = 1;
  }
  v = json_object_get(rule, "order");
  if(v) {
    if(d->op != GW_PRED_AT_LEAST || d->derive_age)
      return fail(err, errlen, file, "rule.order", "only at_least over an enum has an order");
    if(check_list(v, GW_PRED_MAX_VALUES, 1, file, "rule.order", err, errlen))
      return -1;
    d->order = json_incref(v);
  }
  v = json_object_get(rule, "values");
  if(v) {
    if(d->op != GW_PRED_IN && d->op != GW_PRED_NONE_OF)
      return fail(err, errlen, file, "rule.values", "only in and none_of have values");
    if(check_list(v, GW_PRED_MAX_VALUES, 0, file, "rule.values", err, errlen))
      return -1;
    d->values = json_incref(v);
  }
  else if(d->op == GW_PRED_IN || d->op == GW_PRED_NONE_OF)
    return fail(err, errlen, file, "rule.values", "required for in and none_of");
  v = json_object_get(rule, "value");
  if(v) {
    if(d->op != GW_PRED_EQUALS)
      return fail(err, errlen, file, "rule.value", "only equals has a fixed value");
    if(!json_is_string(v) && !json_is_integer(v) && !json_is_boolean(v))
      return fail(err, errlen, file, "rule.value", "must be a string, an integer or a boolean");
    d->value = json_incref(v);
  }
  return 0;
}

static int parse_args(struct gw_pred_def *d, const json_t *root, const char *file, char *err,
                      size_t errlen)
{
  json_t *a = json_object_get(root, "args");
  size_t i;
  json_t *v;

  if(a) {
    if(check_list(a, GW_PRED_MAX_ARGS, 0, file, "args", err, errlen))
      return -1;
    d->args = json_incref(a);
  }
  switch(d->op) {
  case GW_PRED_AT_LEAST:
  case GW_PRED_UNDER:
    if(!a)
      return fail(err, errlen, file, "args", "at_least and under need the list of allowed args");
    json_array_foreach(a, i, v) {
      char field[32];
      snprintf(field, sizeof(field), "args[%zu]", i);
      if(d->order && !list_has(d->order, v))
        return fail(err, errlen, file, field, "is not in rule.order");
      if(!d->order && !json_is_integer(v))
        return fail(err, errlen, file, field, "must be an integer (no rule.order to rank strings)");
    }
    if(d->op == GW_PRED_UNDER && d->order)
      return fail(err, errlen, file, "rule.order", "under compares numbers only");
    break;
  case GW_PRED_EQUALS:
    if(!a == !d->value)
      return fail(err, errlen, file, "args",
                  "equals takes either args or a fixed rule.value, exactly one");
    break;
  default:
    if(a)
      return fail(err, errlen, file, "args", "in, none_of, exists and all_true take no args");
  }
  return 0;
}

static int parse_def(struct gw_pred_def *d, const char *file, const char *text, size_t len,
                     char *err, size_t errlen)
{
  static const char *const known[] = { "id", "version", "description", "facts", "rule",
                                       "args", "not_found", "purposes", NULL };
  json_error_t jerr;
  json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr), *v, *x;
  const char *key;
  size_t i;
  int rc = -1;
  char problem[256];

  d->file = gw_strdup(file);
  if(!root) {
    snprintf(problem, sizeof(problem), "line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
    fail(err, errlen, file, "(document)", problem);
    goto out;
  }
  if(!json_is_object(root)) {
    fail(err, errlen, file, "(document)", "must be a JSON object");
    goto out;
  }
  json_object_foreach(root, key, v) {
    int ok = 0;
    for(const char *const *k = known; *k; k++)
      ok |= !strcmp(*k, key);
    if(!ok) {
      char field[72];
      snprintf(field, sizeof(field), "%.64s", key);
      fail(err, errlen, file, field, "unknown field");
      goto out;
    }
  }
  v = json_object_get(root, "id");
  if(!json_is_string(v) || !valid_dotted(json_string_value(v), PRED_ID_MAX)) {
    fail(err, errlen, file, "id", "must be a dotted lower-case name of at most 64 characters");
    goto out;
  }
  d->id = gw_strdup(json_string_value(v));
  v = json_object_get(root, "version");
  if(!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 1000000) {
    fail(err, errlen, file, "version", "must be an integer from 1");
    goto out;
  }
  d->version = (int)json_integer_value(v);
  v = json_object_get(root, "description");
  if(!json_is_string(v) || !json_string_length(v) || json_string_length(v) > 512) {
    fail(err, errlen, file, "description", "must be 1 to 512 bytes of text");
    goto out;
  }
  d->description = gw_strdup(json_string_value(v));
  v = json_object_get(root, "facts");
  if(!json_is_array(v) || !json_array_size(v) || json_array_size(v) > GW_PRED_MAX_FACTS) {
    snprintf(problem, sizeof(problem), "must be an array of 1 to %d fact names", GW_PRED_MAX_FACTS);
    fail(err, errlen, file, "facts", problem);
    goto out;
  }
  json_array_foreach(v, i, x) {
    char field[32];
    snprintf(field, sizeof(field), "facts[%zu]", i);
    if(!json_is_string(x) || !valid_dotted(json_string_value(x), 64)) {
      fail(err, errlen, file, field, "must be a fact name");
      goto out;
    }
    for(size_t j = 0; j < d->n_facts; j++)
      if(!strcmp(d->facts[j], json_string_value(x))) {
        fail(err, errlen, file, field, "is listed twice");
        goto out;
      }
    if(!gw_fact_find(json_string_value(x))) {
      snprintf(problem, sizeof(problem), "\"%s\" is not a fact of the catalogue (no "
               "%s.schema.json)", json_string_value(x), json_string_value(x));
      fail(err, errlen, file, field, problem);
      goto out;
    }
    d->facts[d->n_facts++] = gw_strdup(json_string_value(x));
  }
  if(parse_rule(d, json_object_get(root, "rule"), file, err, errlen) ||
     parse_args(d, root, file, err, errlen))
    goto out;
  v = json_object_get(root, "not_found");
  d->not_found = GW_PRED_FALSE;
  if(v) {
    if(json_is_boolean(v))
      d->not_found = json_is_true(v) ? GW_PRED_TRUE : GW_PRED_FALSE;
    else if(json_is_string(v) && !strcmp(json_string_value(v), "unknown"))
      d->not_found = GW_PRED_UNKNOWN;
    else {
      fail(err, errlen, file, "not_found", "must be true, false or \"unknown\"");
      goto out;
    }
  }
  v = json_object_get(root, "purposes");
  if(!json_is_array(v) || !json_array_size(v) || json_array_size(v) > GW_PRED_MAX_PURPOSES) {
    fail(err, errlen, file, "purposes", "must be a non-empty array of purposes");
    goto out;
  }
  json_array_foreach(v, i, x) {
    char field[32];
    snprintf(field, sizeof(field), "purposes[%zu]", i);
    if(!json_is_string(x) || !gw_purpose_known(json_string_value(x))) {
      fail(err, errlen, file, field, "not a known purpose");
      goto out;
    }
    d->purposes[d->n_purposes++] = gw_strdup(json_string_value(x));
  }
  {
    unsigned char md[32];
    EVP_Digest(text, len, md, NULL, EVP_sha256(), NULL);
    gw_hex_encode(md, 32, d->sha256);
  }
  d->text = gw_strndup(text, len);
  d->text_len = len;
  rc = 0;
out:
  json_decref(root);
  return rc;
}

int gw_pred_check_text(const char *file, const char *text, size_t len, char *err, size_t errlen)
{
  return gw_pred_check_text_ex(file, text, len, NULL, NULL, 0, err, errlen);
}

int gw_pred_check_text_ex(const char *file, const char *text, size_t len, char *id,
                          int *version, size_t idlen, char *err, size_t errlen)
{
  struct gw_pred_def d;
  int rc;
  memset(&d, 0, sizeof(d));
  rc = parse_def(&d, file, text, len, err, errlen);
  if(!rc && id && idlen)
    snprintf(id, idlen, "%s", d.id);
  if(!rc && version)
    *version = d.version;
  def_clear(&d);
  return rc;
}

static int read_file(const char *path, char **out, size_t *len, char *err, size_t errlen)
{
  FILE *f = fopen(path, "rb");
  char *buf;
  size_t n;
  if(!f) {
    snprintf(err, errlen, "%s: (file): %s", path, strerror(errno));
    return -1;
  }
  buf = gw_malloc(GW_PRED_FILE_MAX_BYTES + 1);
  n = fread(buf, 1, GW_PRED_FILE_MAX_BYTES + 1, f);
  if(ferror(f) || n > GW_PRED_FILE_MAX_BYTES) {
    snprintf(err, errlen, "%s: (file): %s", path,
             ferror(f) ? "read error" : "larger than 64 KiB");
    fclose(f);
    gw_free(buf);
    return -1;
  }
  fclose(f);
  buf[n] = '\0';
  *out = buf;
  *len = n;
  return 0;
}

static int name_cmp(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int gw_predset_load(const char *dir, struct gw_predset **out, char *err, size_t errlen)
{
  struct gw_predset *set = gw_calloc(1, sizeof(*set));
  char **names = NULL;
  size_t n = 0;
  DIR *d = opendir(dir);
  struct dirent *de;
  EVP_MD_CTX *all = EVP_MD_CTX_new();
  unsigned char md[32];
  int rc = -1;

  EVP_DigestInit_ex(all, EVP_sha256(), NULL);
  if(!d && errno != ENOENT) {
    snprintf(err, errlen, "%s: (directory): %s", dir, strerror(errno));
    goto out;
  }
  while(d && (de = readdir(d))) {
    size_t l = strlen(de->d_name);
    if(de->d_name[0] == '.' || l < 6 || strcmp(de->d_name + l - 5, ".json"))
      continue;
    if(n == GW_PRED_MAX) {
      snprintf(err, errlen, "%s: (directory): more than %d predicate files", dir, GW_PRED_MAX);
      goto out;
    }
    names = gw_realloc(names, (n + 1) * sizeof(*names));
    names[n++] = gw_strdup(de->d_name);
  }
  if(n)
    qsort(names, n, sizeof(*names), name_cmp);
  set->defs = gw_calloc(n + 1, sizeof(*set->defs));
  for(size_t i = 0; i < n; i++) {
    char path[4096], *text = NULL, stem[PRED_ID_MAX + 8];
    size_t len = 0;
    struct gw_pred_def *def = &set->defs[set->n];
    snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
    if(read_file(path, &text, &len, err, errlen))
      goto out;
    set->n++;
    if(parse_def(def, path, text, len, err, errlen)) {
      gw_free(text);
      goto out;
    }
    gw_free(text);
    snprintf(stem, sizeof(stem), "%s.json", def->id);
    if(strcmp(stem, names[i])) {
      fail(err, errlen, path, "id", "must equal the file name without .json");
      goto out;
    }
    EVP_DigestUpdate(all, names[i], strlen(names[i]) + 1);
    EVP_DigestUpdate(all, def->sha256, 64);
  }
  EVP_DigestFinal_ex(all, md, NULL);
  gw_hex_encode(md, 32, set->sha256);
  *out = set;
  set = NULL;
  rc = 0;
out:
  if(d)
    closedir(d);
  for(size_t i = 0; i < n; i++)
    gw_free(names[i]);
  gw_free(names);
  EVP_MD_CTX_free(all);
  gw_predset_free(set);
  return rc;
}

const struct gw_pred_def *gw_predset_find(const struct gw_predset *set, const char *id)
{
  for(size_t i = 0; set && i < set->n; i++)
    if(!strcmp(set->defs[i].id, id))
      return &set->defs[i];
  return NULL;
}

const struct gw_pred_def *gw_predset_all(const struct gw_predset *set, size_t *n)
{
  *n = set ? set->n : 0;
  return set ? set->defs : NULL;
}

const char *gw_predset_sha256(const struct gw_predset *set)
{
  return set->sha256;
}

int gw_pred_arg_index(const struct gw_pred_def *def, const json_t *arg)
{
  size_t i;
  json_t *v;
  if(!def->args)
    return arg ? -1 : 0;
  if(!arg)
    return -1;
  json_array_foreach(def->args, i, v)
    if(json_equal(v, arg))
      return (int)i;
  return -1;
}

int gw_pred_key(const struct gw_pred_def *def, const json_t *arg, char *out, size_t outlen)
{
  int n;
  if(!arg)
    n = snprintf(out, outlen, "%s", def->id);
  else if(json_is_integer(arg))
    n = snprintf(out, outlen, "%s(%lld)", def->id, (long long)json_integer_value(arg));
  else if(json_is_string(arg))
    n = snprintf(out, outlen, "%s(%s)", def->id, json_string_value(arg));
  else
    return -1;
  return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

int gw_pred_purpose_allowed(const struct gw_pred_def *def, const char *purpose)
{
  for(size_t i = 0; i < def->n_purposes; i++)
    if(!strcmp(def->purposes[i], purpose))
      return 1;
  return 0;
}
