/*
 * factschema_load.c - the load-time half of the fact schemas: reading
 * schemas/facts/<fact>.schema.json, refusing anything outside the supported
 * subset of JSON Schema 2020-12 and the project's strictness profile, and
 * compiling what remains into the nodes factschema.c walks.
 *
 * The one idea: every keyword in a file is either compiled into a check or
 * is a known annotation; anything else stops the load with the keyword's
 * JSON Pointer, so a schema can never promise a check the gateway does not
 * make.  The profile on top (type always stated, objects closed with every
 * member required, strings and arrays capped, numbers bounded) is what lets
 * the value the gateway signs be trusted to have the documented shape.
 * Patterns are checked against the ECMA-262/POSIX common subset by
 * factschema_pattern.c before regcomp sees them.
 */
#include "factschema_int.h"
#include "msg.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gw/alloc.h"
#include "gw/facts.h"

#define SUFFIX ".schema.json"
#define ALLOWED_TEXT_MAX 256          /* bytes of an enum quoted in messages */

/* ---- errors and keyword paths ------------------------------------------- */

struct cctx {
  const char *label;
  char *err;
  size_t errlen;
  int depth;
  size_t plen;
  char ptr[GW_FACTSCHEMA_PATH_MAX];   /* JSON Pointer of the current keyword */
};

static int cfail(struct cctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int cfail(struct cctx *c, const char *fmt, ...)
{
  va_list ap;
  int n;

  if(!c->err || !c->errlen)
    return -1;
  n = snprintf(c->err, c->errlen, "%s: #%s: ", c->label, c->ptr);
  if(n >= 0 && (size_t)n < c->errlen) {
    va_start(ap, fmt);
    vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
    va_end(ap);
  }
  return -1;
}

/* Appends "/" and the RFC 6901-escaped segment; returns the length to pop
 * back to.  A segment that does not fit is cut (the message stays useful). */
static size_t ptr_push(struct cctx *c, const char *seg)
{
  size_t saved = c->plen;

  if(c->plen + 1 < sizeof(c->ptr))
    c->ptr[c->plen++] = '/';
  for(; *seg; seg++) {
    const char *out = *seg == '~' ? "~0" : *seg == '/' ? "~1" : NULL;
    size_t n = out ? 2 : 1;
    if(c->plen + n >= sizeof(c->ptr))
      break;
    memcpy(c->ptr + c->plen, out ? out : seg, n);
    c->plen += n;
  }
  c->ptr[c->plen] = '\0';
  return saved;
}

static size_t ptr_push_index(struct cctx *c, size_t i)
{
  char seg[24];

  snprintf(seg, sizeof(seg), "%zu", i);
  return ptr_push(c, seg);
}

static void ptr_pop(struct cctx *c, size_t saved)
{
  c->plen = saved;
  c->ptr[saved] = '\0';
}

/* ---- helpers ------------------------------------------------------------ */

static bool is_scalar(const json_t *v)
{
  return !json_is_object(v) && !json_is_array(v);
}

static bool is_name(const char *s)
{
  size_t n = strlen(s);

  if(!n || n > GW_FACTSCHEMA_NAME_MAX || (s[0] >= '0' && s[0] <= '9'))
    return false;
  for(size_t i = 0; i < n; i++)
    if(!((s[i] >= '0' && s[i] <= '9') || s[i] == '_' || (s[i] >= 'a' && s[i] <= 'z') ||
         (s[i] >= 'A' && s[i] <= 'Z')))
      return false;
  return true;
}

/* Compact JSON of a schema value, cut to `cap` bytes with "..." (messages). */
static char *dump_text(const json_t *v, size_t cap)
{
  size_t need = json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
  char *s = gw_malloc(need + 1);

  if(json_dumpb(v, s, need, JSON_COMPACT | JSON_ENCODE_ANY) != need)
    need = 0;
  s[need] = '\0';
  if(cap && need > cap) {
    size_t cut = cap - 3;
    while(cut && ((unsigned char)s[cut] & 0xC0) == 0x80)
      cut--;
    memcpy(s + cut, "...", 4);
  }
  return s;
}

static int nonneg_int(struct cctx *c, const json_t *v, long long *out)
{
  if(!json_is_integer(v) || json_integer_value(v) < 0)
    return cfail(c, "must be a non-negative integer");
  *out = json_integer_value(v);
  return 0;
}

/* ---- keywords ----------------------------------------------------------- */

/* What one schema object's keywords leave for the checks after the loop. */
struct kwstate {
  struct gw_fs_node *n;
  bool root;
  const json_t *required, *examples, *props_json;
  bool has_id, has_schema, has_title, has_description, has_additional;
};

static int compile_node(struct cctx *c, const json_t *schema, bool root,
                        struct gw_fs_node **out);

static int kw_type(struct cctx *c, struct kwstate *st, const json_t *v)
{
  static const char *const names[] = {
    "null", "boolean", "integer", "number", "string", "array", "object"
  };
  size_t count = json_is_array(v) ? json_array_size(v) : 1;

  if(!json_is_string(v) && !(json_is_array(v) && count > 0))
    return cfail(c, "must be a type name or a non-empty array of type names");
  for(size_t i = 0; i < count; i++) {
    const json_t *t = json_is_array(v) ? json_array_get(v, i) : v;
    unsigned bit = 0;

    for(size_t k = 0; k < sizeof(names) / sizeof(names[0]) && json_is_string(t); k++)
      if(!strcmp(json_string_value(t), names[k]))
        bit = 1u << k;
    if(!bit)
      return cfail(c, "unknown type (one of null, boolean, integer, number, string, array, "
                      "object)");
    if(st->n->types & bit)
      return cfail(c, "type %s is listed twice", gw_fs_type_name(bit));
    st->n->types |= bit;
  }
  return 0;
}

static int kw_annotation(struct cctx *c, struct kwstate *st, const json_t *v)
{
  (void)st;
  if(!json_is_string(v))
    return cfail(c, "must be a string");
  return 0;
}

/* The catalogue's metadata (gw/facts.h reads and checks it). */
static int kw_xgw(struct cctx *c, struct kwstate *st, const json_t *v)
{
  (void)st;
  if(!json_is_object(v))
    return cfail(c, "must be an object (the fact's catalogue metadata)");
  return 0;
}

static int kw_title(struct cctx *c, struct kwstate *st, const json_t *v)
{
  st->has_title = true;
  return kw_annotation(c, st, v);
}

static int kw_description(struct cctx *c, struct kwstate *st, const json_t *v)
{
  st->has_description = true;
  return kw_annotation(c, st, v);
}

static int kw_schema(struct cctx *c, struct kwstate *st, const json_t *v)
{
  if(!json_is_string(v) || strcmp(json_string_value(v), GW_FACTSCHEMA_DRAFT))
    return cfail(c, "must be \"" GW_FACTSCHEMA_DRAFT "\"");
  st->has_schema = true;
  return 0;
}

static int kw_id(struct cctx *c, struct kwstate *st, const json_t *v)
{
  if(!json_is_string(v) || strncmp(json_string_value(v), "https://", 8))
    return cfail(c, "must be an absolute https:// URI");
  st->has_id = true;
  return 0;
}

static int kw_examples(struct cctx *c, struct kwstate *st, const json_t *v)
{
  if(!json_is_array(v))
    return cfail(c, "must be an array");
  st->examples = v;
  return 0;
}

/* An enum or const value: a scalar of a type the schema allows. */
static int allowed_value(struct cctx *c, struct kwstate *st, const json_t *v)
{
  if(st->n->allowed_text)
    return cfail(c, "enum and const together: use one");
  if(!is_scalar(v))
    return cfail(c, "only scalar values (string, number, boolean, null) are supported");
  if(!gw_fs_type_accepts(st->n->types, v))
    return cfail(c, "a value of a type that \"type\" does not allow");
  return 0;
}

static int kw_enum(struct cctx *c, struct kwstate *st, const json_t *v)
{
  size_t i;
  const json_t *e;

  if(st->n->allowed_text)
    return cfail(c, "enum and const together: use one");
  if(!json_is_array(v) || !json_array_size(v))
    return cfail(c, "must be a non-empty array");
  if(json_array_size(v) > GW_FACTSCHEMA_MAX_ENUM)
    return cfail(c, "at most %d values", GW_FACTSCHEMA_MAX_ENUM);
  json_array_foreach(v, i, e) {
    size_t saved = ptr_push_index(c, i);
    if(allowed_value(c, st, e) < 0)
      return -1;
    for(size_t k = 0; k < i; k++)
      if(gw_fs_scalar_equal(e, json_array_get(v, k)))
        return cfail(c, "repeats value %zu", k);
    ptr_pop(c, saved);
  }
  st->n->enum_values = v;
  st->n->allowed_text = dump_text(v, ALLOWED_TEXT_MAX);
  return 0;
}

static int kw_const(struct cctx *c, struct kwstate *st, const json_t *v)
{
  if(allowed_value(c, st, v) < 0)
    return -1;
  st->n->const_value = v;
  st->n->allowed_text = dump_text(v, ALLOWED_TEXT_MAX);
  return 0;
}

static int kw_min_length(struct cctx *c, struct kwstate *st, const json_t *v)
{
  return nonneg_int(c, v, &st->n->min_length);
}

static int kw_max_length(struct cctx *c, struct kwstate *st, const json_t *v)
{
  return nonneg_int(c, v, &st->n->max_length);
}

static int kw_min_items(struct cctx *c, struct kwstate *st, const json_t *v)
{
  return nonneg_int(c, v, &st->n->min_items);
}

static int kw_max_items(struct cctx *c, struct kwstate *st, const json_t *v)
{
  return nonneg_int(c, v, &st->n->max_items);
}

static int kw_pattern(struct cctx *c, struct kwstate *st, const json_t *v)
{
  const char *p, *why;
  size_t len;
  int rc;

  if(!json_is_string(v))
    return cfail(c, "must be a string");
  p = json_string_value(v);
  len = json_string_length(v);
  if(len > GW_FACTSCHEMA_PATTERN_MAX)
    return cfail(c, "longer than %d bytes", GW_FACTSCHEMA_PATTERN_MAX);
  if(memchr(p, '\0', len))
    return cfail(c, "only printable ASCII is supported");
  if((why = gw_fs_pattern_problem(p, len)))
    return cfail(c, "%s", why);
  rc = regcomp(&st->n->pattern, p, REG_EXTENDED | REG_NOSUB);
  if(rc) {
    char msg[128];
    regerror(rc, NULL, msg, sizeof(msg));
    return cfail(c, "does not compile: %s", msg);
  }
  st->n->has_pattern = true;
  st->n->pattern_src = gw_strdup(p);
  return 0;
}

static int kw_format(struct cctx *c, struct kwstate *st, const json_t *v)
{
  if(!json_is_string(v) || strcmp(json_string_value(v), "date"))
    return cfail(c, "only format \"date\" is supported (an unchecked format would be an "
                    "unkept promise)");
  st->n->format_date = true;
  return 0;
}

static int kw_minimum(struct cctx *c, struct kwstate *st, const json_t *v)
{
  if(!json_is_number(v))
    return cfail(c, "must be a number");
  st->n->minimum = v;
  return 0;
}

static int kw_maximum(struct cctx *c, struct kwstate *st, const json_t *v)
{
  if(!json_is_number(v))
    return cfail(c, "must be a number");
  st->n->maximum = v;
  return 0;
}

static int kw_items(struct cctx *c, struct kwstate *st, const json_t *v)
{
  return compile_node(c, v, false, &st->n->items);
}

static int kw_properties(struct cctx *c, struct kwstate *st, const json_t *v)
{
  const char *name;
  json_t *sub;
  struct gw_fs_node *n = st->n;

  if(!json_is_object(v))
    return cfail(c, "must be an object of schemas");
  if(json_object_size(v) > GW_FACTSCHEMA_MAX_PROPERTIES)
    return cfail(c, "at most %d members", GW_FACTSCHEMA_MAX_PROPERTIES);
  n->props = gw_calloc(json_object_size(v), sizeof(*n->props));
  /* The iteration API is not const-correct; compiling only reads. */
  json_object_foreach((json_t *)v, name, sub) {
    size_t saved = ptr_push(c, name);
    struct gw_fs_prop *p = &n->props[n->nprops];

    if(!is_name(name))
      return cfail(c, "member names must be identifiers ([A-Za-z_][A-Za-z0-9_]*, at most %d "
                      "bytes)", GW_FACTSCHEMA_NAME_MAX);
    p->name = gw_strdup(name);
    n->nprops++;
    if(compile_node(c, sub, false, &p->schema) < 0)
      return -1;
    ptr_pop(c, saved);
  }
  st->props_json = v;
  return 0;
}

static int kw_required(struct cctx *c, struct kwstate *st, const json_t *v)
{
  size_t i;
  const json_t *e;

  if(!json_is_array(v))
    return cfail(c, "must be an array of member names");
  json_array_foreach(v, i, e) {
    size_t saved = ptr_push_index(c, i);
    if(!json_is_string(e))
      return cfail(c, "must be a member name");
    for(size_t k = 0; k < i; k++)
      if(json_equal(e, json_array_get(v, k)))
        return cfail(c, "repeats member %zu", k);
    ptr_pop(c, saved);
  }
  st->required = v;
  return 0;
}

static int kw_additional(struct cctx *c, struct kwstate *st, const json_t *v)
{
  if(!json_is_false(v))
    return cfail(c, "only false is supported (every object is closed)");
  st->n->closed = true;
  st->has_additional = true;
  return 0;
}

struct keyword {
  const char *name;
  unsigned needs;                     /* a type "type" must allow, or 0 */
  const char *needs_text;
  bool root_only;
  int (*compile)(struct cctx *c, struct kwstate *st, const json_t *v);
};

static const struct keyword keywords[] = {
  { "$schema", 0, NULL, true, kw_schema },
  { "$id", 0, NULL, true, kw_id },
  { "$comment", 0, NULL, false, kw_annotation },
  { "x-gw", 0, NULL, true, kw_xgw },
  { "title", 0, NULL, false, kw_title },
  { "description", 0, NULL, false, kw_description },
  { "examples", 0, NULL, false, kw_examples },
  { "type", 0, NULL, false, NULL },         /* compiled first: the others depend on it */
  { "enum", 0, NULL, false, kw_enum },
  { "const", 0, NULL, false, kw_const },
  { "minLength", GW_FS_STRING, "string", false, kw_min_length },
  { "maxLength", GW_FS_STRING, "string", false, kw_max_length },
  { "pattern", GW_FS_STRING, "string", false, kw_pattern },
  { "format", GW_FS_STRING, "string", false, kw_format },
  { "minimum", GW_FS_NUMERIC, "integer or number", false, kw_minimum },
  { "maximum", GW_FS_NUMERIC, "integer or number", false, kw_maximum },
  { "items", GW_FS_ARRAY, "array", false, kw_items },
  { "minItems", GW_FS_ARRAY, "array", false, kw_min_items },
  { "maxItems", GW_FS_ARRAY, "array", false, kw_max_items },
  { "properties", GW_FS_OBJECT, "object", false, kw_properties },
  { "required", GW_FS_OBJECT, "object", false, kw_required },
  { "additionalProperties", GW_FS_OBJECT, "object", false, kw_additional },
};

static const struct keyword *find_keyword(const char *name)
{
  for(size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
    if(!strcmp(keywords[i].name, name))
      return &keywords[i];
  return NULL;
}

/* ---- the strictness profile and the examples ----------------------------- */

static int bounds_problem(struct cctx *c, long long lo, long long hi, const char *what)
{
  if(lo != GW_FS_LIMIT_NONE && hi != GW_FS_LIMIT_NONE && lo > hi)
    return cfail(c, "min%s is greater than max%s: nothing can match", what, what);
  return 0;
}

static int profile(struct cctx *c, struct kwstate *st)
{
  struct gw_fs_node *n = st->n;
  bool fixed = n->enum_values || n->const_value;
  size_t i;
  const json_t *e;

  if((n->types & GW_FS_STRING) && !fixed && n->max_length == GW_FS_LIMIT_NONE)
    return cfail(c, "a string schema needs maxLength (every string is capped)");
  if((n->types & GW_FS_NUMERIC) && !fixed && (!n->minimum || !n->maximum))
    return cfail(c, "a number schema needs minimum and maximum (every number is bounded)");
  if((n->types & GW_FS_ARRAY) && (!n->items || n->max_items == GW_FS_LIMIT_NONE))
    return cfail(c, "an array schema needs items and maxItems (every array is capped)");
  if((n->types & GW_FS_OBJECT) && (!st->props_json || !st->required || !st->has_additional))
    return cfail(c, "an object schema needs properties, required and additionalProperties: "
                    "false (every object is closed)");
  if(bounds_problem(c, n->min_length, n->max_length, "Length") < 0 ||
     bounds_problem(c, n->min_items, n->max_items, "Items") < 0)
    return -1;
  if(n->minimum && n->maximum && gw_fs_num_cmp(n->minimum, n->maximum) > 0)
    return cfail(c, "minimum is greater than maximum: nothing can match");
  if(st->required) {
    json_array_foreach(st->required, i, e) {
      bool found = false;
      for(size_t k = 0; k < n->nprops; k++)
        if(!strcmp(n->props[k].name, json_string_value(e))) {
          n->props[k].required = true;
          found = true;
        }
      if(!found) {
        ptr_push(c, "required");
        ptr_push_index(c, i);
        return cfail(c, "names no member of properties (it could never be present)");
      }
    }
    for(size_t k = 0; k < n->nprops; k++)
      if(!n->props[k].required) {
        ptr_push(c, "properties");
        ptr_push(c, n->props[k].name);
        return cfail(c, "not listed in required (every member is required; a value that can "
                        "be absent is a member of type [..., \"null\"])");
      }
  }
  if(st->root && !(st->has_schema && st->has_id && st->has_title && st->has_description &&
                   st->examples && json_array_size(st->examples)))
    return cfail(c, "the root needs $schema, $id, title, description and non-empty examples");
  return 0;
}

static int check_examples(struct cctx *c, struct kwstate *st)
{
  size_t i;
  const json_t *e;
  char why[512];

  if(!st->examples)
    return 0;
  json_array_foreach(st->examples, i, e)
    if(gw_fs_check_node(st->n, e, why, sizeof(why)) < 0) {
      ptr_push(c, "examples");
      ptr_push_index(c, i);
      return cfail(c, "example is not valid: %s", why);
    }
  return 0;
}

/* ---- nodes -------------------------------------------------------------- */

static void node_free(struct gw_fs_node *n)
{
  if(!n)
    return;
  for(size_t i = 0; i < n->nprops; i++) {
    gw_free(n->props[i].name);
    node_free(n->props[i].schema);
  }
  gw_free(n->props);
  node_free(n->items);
  if(n->has_pattern)
    regfree(&n->pattern);
  gw_free(n->pattern_src);
  gw_free(n->allowed_text);
  gw_free(n);
}

static int compile_node(struct cctx *c, const json_t *schema, bool root,
                        struct gw_fs_node **out)
{
  struct kwstate st = { .root = root };
  const json_t *type;
  const char *key;
  json_t *val;
  int rc = -1;

  *out = NULL;
  c->depth++;
  if(!json_is_object(schema)) {
    cfail(c, "must be a schema object (boolean schemas are not supported)");
    goto out;
  }
  if(c->depth > GW_FACTSCHEMA_MAX_DEPTH) {
    cfail(c, "schemas nested deeper than %d", GW_FACTSCHEMA_MAX_DEPTH);
    goto out;
  }
  st.n = gw_calloc(1, sizeof(*st.n));
  st.n->min_length = st.n->max_length = GW_FS_LIMIT_NONE;
  st.n->min_items = st.n->max_items = GW_FS_LIMIT_NONE;

  if(!(type = json_object_get(schema, "type"))) {
    cfail(c, "type is required (every schema states its type)");
    goto out;
  }
  {
    size_t saved = ptr_push(c, "type");
    if(kw_type(c, &st, type) < 0)
      goto out;
    ptr_pop(c, saved);
  }
  /* The iteration API is not const-correct; compiling only reads. */
  json_object_foreach((json_t *)schema, key, val) {
    const struct keyword *k = find_keyword(key);
    size_t saved = ptr_push(c, key);

    if(!k) {
      cfail(c, "unknown keyword (not in the supported subset, see docs/facts.md)");
      goto out;
    }
    if(k->root_only && !root) {
      cfail(c, "only allowed at the root");
      goto out;
    }
    if(k->needs && !(st.n->types & k->needs)) {
      cfail(c, "applies only to %s values, which \"type\" does not allow", k->needs_text);
      goto out;
    }
    if(k->compile && k->compile(c, &st, val) < 0)
      goto out;
    ptr_pop(c, saved);
  }
  if(profile(c, &st) < 0 || check_examples(c, &st) < 0)
    goto out;
  *out = st.n;
  st.n = NULL;
  rc = 0;
out:
  node_free(st.n);
  c->depth--;
  return rc;
}

/* ---- one schema --------------------------------------------------------- */

int gw_factschema_compile(const char *label, const char *text, size_t len,
                          struct gw_factschema **out, char *err, size_t errlen)
{
  struct cctx c = { .label = label, .err = err, .errlen = errlen };
  struct gw_factschema *s = gw_calloc(1, sizeof(*s));
  json_error_t jerr;
  int rc = -1;

  *out = NULL;
  if(err && errlen)
    err[0] = '\0';
  s->label = gw_strdup(label);
  s->doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
  if(!s->doc) {
    if(err && errlen)
      snprintf(err, errlen, "%s: line %d column %d: %s", label, jerr.line, jerr.column,
               jerr.text);
    goto out;
  }
  if(compile_node(&c, s->doc, true, &s->root) < 0)
    goto out;
  s->id = gw_strdup(json_string_value(json_object_get(s->doc, "$id")));
  s->text = dump_text(s->doc, 0);
  *out = s;
  s = NULL;
  rc = 0;
out:
  gw_factschema_free(s);
  return rc;
}

void gw_factschema_free(struct gw_factschema *s)
{
  if(!s)
    return;
  node_free(s->root);
  json_decref(s->doc);
  gw_free(s->label);
  gw_free(s->id);
  gw_free(s->text);
  gw_free(s);
}

/* ---- the directory ------------------------------------------------------ */

static char *join_path(const char *dir, const char *name)
{
  size_t n = strlen(dir) + 1 + strlen(name) + 1;
  char *p = gw_malloc(n);

  snprintf(p, n, "%s/%s", dir, name);
  return p;
}

/* Reads a whole regular file of at most GW_FACTSCHEMA_FILE_MAX bytes. */
static int read_file(const char *path, char **out, size_t *outlen, char *err, size_t errlen)
{
  struct stat st;
  char *buf = NULL;
  size_t len = 0;
  int fd, rc = -1;

  *out = NULL;
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if(fd < 0) {
    gw_msg_set(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    goto out;
  }
  if(fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    gw_msg_set(err, errlen, "%s: not a regular file", path);
    goto out;
  }
  buf = gw_malloc(GW_FACTSCHEMA_FILE_MAX + 1);
  for(;;) {
    ssize_t n = read(fd, buf + len, GW_FACTSCHEMA_FILE_MAX + 1 - len);
    if(n < 0 && errno == EINTR)
      continue;
    if(n < 0) {
      gw_msg_set(err, errlen, "%s: cannot read: %s", path, strerror(errno));
      goto out;
    }
    if(n == 0)
      break;
    len += (size_t)n;
    if(len > GW_FACTSCHEMA_FILE_MAX) {
      gw_msg_set(err, errlen, "%s: larger than %d bytes", path, GW_FACTSCHEMA_FILE_MAX);
      goto out;
    }
  }
  *out = buf;
  *outlen = len;
  buf = NULL;
  rc = 0;
out:
  gw_free(buf);
  if(fd >= 0)
    close(fd);
  return rc;
}

static int name_cmp(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names of the *.schema.json files in dir, sorted; caller frees. */
static int list_dir(const char *dir, char ***out, size_t *count, char *err, size_t errlen)
{
  DIR *d = opendir(dir);
  struct dirent *de;
  char **names = gw_calloc(GW_FACTSCHEMA_MAX_FILES, sizeof(*names));
  size_t n = 0, sl = strlen(SUFFIX);
  int rc = -1;

  if(!d) {
    gw_msg_set(err, errlen, "%s: cannot open directory: %s", dir, strerror(errno));
    goto out;
  }
  while((de = readdir(d))) {
    size_t len = strlen(de->d_name);
    if(de->d_name[0] == '.' || len <= sl || strcmp(de->d_name + len - sl, SUFFIX))
      continue;
    if(n == GW_FACTSCHEMA_MAX_FILES) {
      gw_msg_set(err, errlen, "%s: more than %d schema files", dir, GW_FACTSCHEMA_MAX_FILES);
      goto out;
    }
    names[n++] = gw_strdup(de->d_name);
  }
  qsort(names, n, sizeof(*names), name_cmp);
  *out = names;
  *count = n;
  names = NULL;
  rc = 0;
out:
  if(names)
    for(size_t i = 0; i < n; i++)
      gw_free(names[i]);
  gw_free(names);
  if(d)
    closedir(d);
  return rc;
}

/* Loads one file into the set slot of its catalogue fact. */
static int load_one(struct gw_factschema_set *set, const char *dir, const char *name,
                    char *err, size_t errlen)
{
  size_t nfacts, fact_len = strlen(name) - strlen(SUFFIX);
  const struct gw_fact_def *all = gw_fact_all(&nfacts);
  char *path = join_path(dir, name), *text = NULL, *want = NULL;
  struct gw_factschema *s = NULL;
  size_t len, slot = nfacts;
  int rc = -1;

  for(size_t i = 0; i < nfacts; i++)
    if(strlen(all[i].name) == fact_len && !strncmp(all[i].name, name, fact_len))
      slot = i;
  if(slot == nfacts) {
    gw_msg_set(err, errlen, "%s: #: not a fact of the catalogue", path);
    goto out;
  }
  if(read_file(path, &text, &len, err, errlen) < 0 ||
     gw_factschema_compile(path, text, len, &s, err, errlen) < 0)
    goto out;
  len = strlen(GW_FACTSCHEMA_ID_BASE) + strlen(name) + 1;
  want = gw_malloc(len);
  snprintf(want, len, "%s%s", GW_FACTSCHEMA_ID_BASE, name);
  if(strcmp(s->id, want)) {
    gw_msg_set(err, errlen, "%s: #/$id: must be \"%s\"", path, want);
    goto out;
  }
  set->entries[slot].schema = s;
  s = NULL;
  rc = 0;
out:
  gw_factschema_free(s);
  gw_free(want);
  gw_free(text);
  gw_free(path);
  return rc;
}

int gw_factschema_set_load(const char *dir, struct gw_factschema_set **out,
                           char *err, size_t errlen)
{
  size_t nfacts, nnames = 0;
  const struct gw_fact_def *all = gw_fact_all(&nfacts);
  struct gw_factschema_set *set = gw_calloc(1, sizeof(*set));
  char **names = NULL;
  int rc = -1;

  *out = NULL;
  if(err && errlen)
    err[0] = '\0';
  set->entries = gw_calloc(nfacts, sizeof(*set->entries));
  set->n = nfacts;
  for(size_t i = 0; i < nfacts; i++)
    set->entries[i].fact = all[i].name;
  if(list_dir(dir, &names, &nnames, err, errlen) < 0)
    goto out;
  for(size_t i = 0; i < nnames; i++)
    if(load_one(set, dir, names[i], err, errlen) < 0)
      goto out;
  for(size_t i = 0; i < nfacts; i++)
    if(!set->entries[i].schema) {
      gw_msg_set(err, errlen, "%s/%s" SUFFIX ": #: missing: catalogue fact %s has no schema", dir,
             all[i].name, all[i].name);
      goto out;
    }
  *out = set;
  set = NULL;
  rc = 0;
out:
  for(size_t i = 0; i < nnames; i++)
    gw_free(names[i]);
  gw_free(names);
  gw_factschema_set_free(set);
  return rc;
}

void gw_factschema_set_free(struct gw_factschema_set *set)
{
  if(!set)
    return;
  for(size_t i = 0; i < set->n; i++)
    gw_factschema_free(set->entries[i].schema);
  gw_free(set->entries);
  gw_free(set);
}
