/*
 * facts.c - the fact catalogue read from files (facts.h).
 *
 * The one idea: the set of facts is the set of schema files, and the set of
 * purposes is one JSON file; both are read and cross-checked together into
 * one immutable object, and nothing in C knows a fact or a purpose by name.
 * The JSON Schema bodies are compiled elsewhere (factschema_load.c); here
 * only names, the x-gw metadata and purposes.json are judged, each problem
 * as "FILE: FIELD: PROBLEM".
 */
#include "gw/facts.h"
#include "msg.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "gw/alloc.h"
#include "gw/b64.h"

#define SUFFIX ".schema.json"

struct cat_purpose {
  char *name;
  char *description;
  const char **facts;          /* names in this catalogue's storage */
  size_t n_facts;
};

struct gw_catalogue {
  struct gw_fact_def *facts;   /* name order */
  size_t n_facts;
  struct cat_purpose *purposes;   /* file order */
  size_t n_purposes;
  long long version;
  char digest[65];
  struct gw_catalogue_file *files;
  size_t n_files;
  char *purposes_text;         /* purposes.json's bytes, as loaded */
  size_t purposes_len;
  char purposes_sha256[65];
  int shape_only;              /* judging a purposes text without a catalogue:
                                  fact names are checked for form only */
};

static _Atomic(const struct gw_catalogue *) installed;
static _Thread_local const struct gw_catalogue *building;

static const struct gw_catalogue *in_force(void);

int gw_fact_name_ok(const char *s)
{
  size_t n = s ? strnlen(s, GW_CATALOGUE_NAME_MAX + 1) : 0;
  int dots = 0, seg = 0;

  if(n == 0 || n > GW_CATALOGUE_NAME_MAX)
    return 0;
  for(size_t i = 0; i < n; i++) {
    char c = s[i];
    if(c == '.') {
      if(!seg)
        return 0;
      dots++;
      seg = 0;
    }
    else if((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')
      seg++;
    else
      return 0;
  }
  return dots > 0 && seg > 0;
}

/* Reads a regular file of at most GW_CATALOGUE_FILE_MAX bytes; the bytes'
 * SHA-256 goes to sha (hex).  The text is the caller's. */
static char *slurp(const char *path, size_t *len, char sha[65], char *err, size_t errlen)
{
  unsigned char md[32];
  struct stat st;
  FILE *fp = fopen(path, "rb");
  char *buf = NULL;
  size_t n;

  if(!fp) {
    gw_msg_set(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    return NULL;
  }
  if(fstat(fileno(fp), &st) || !S_ISREG(st.st_mode)) {
    gw_msg_set(err, errlen, "%s: not a regular file", path);
    goto out;
  }
  buf = gw_malloc(GW_CATALOGUE_FILE_MAX + 1);
  n = fread(buf, 1, GW_CATALOGUE_FILE_MAX + 1, fp);
  if(ferror(fp) || n > GW_CATALOGUE_FILE_MAX) {
    gw_msg_set(err, errlen, "%s: %s", path, ferror(fp) ? "cannot read" : "larger than 1 MiB");
    gw_free(buf);
    buf = NULL;
    goto out;
  }
  buf[n] = '\0';
  *len = n;
  EVP_Digest(buf, n, md, NULL, EVP_sha256(), NULL);
  gw_hex_encode(md, sizeof(md), sha);
out:
  fclose(fp);
  return buf;
}

static void add_file(struct gw_catalogue *c, const char *path, const char *sha)
{
  c->files = gw_realloc(c->files, (c->n_files + 1) * sizeof(*c->files));
  c->files[c->n_files].path = gw_strdup(path);
  memcpy(c->files[c->n_files].sha256, sha, 65);
  c->n_files++;
}

static int name_cmp(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int def_cmp(const void *a, const void *b)
{
  return strcmp(((const struct gw_fact_def *)a)->name, ((const struct gw_fact_def *)b)->name);
}

/* The x-gw member of a parsed schema file into d (summary is d's, strdup'd).
 * 0, or -1 with "LABEL: #/x-gw/FIELD: PROBLEM" in err. */
static int check_xgw(const char *label, const json_t *root, struct gw_fact_def *d,
                     char *err, size_t errlen)
{
  static const char *const sens[] = { "public", "personal", "sensitive", NULL };
  json_t *x = json_object_get(root, "x-gw"), *v;
  const char *key;
  int ok = 0;

  if(!json_is_object(x)) {
    gw_msg_set(err, errlen, "%s: #/x-gw: missing: an object with version, description, sensitivity "
         "and max_cache_age_s", label);
    return -1;
  }
  json_object_foreach(x, key, v)
    if(strcmp(key, "version") && strcmp(key, "description") && strcmp(key, "sensitivity") &&
       strcmp(key, "max_cache_age_s")) {
      gw_msg_set(err, errlen, "%s: #/x-gw/%s: unknown member (version, description, sensitivity, "
           "max_cache_age_s)", label, key);
      return -1;
    }
  v = json_object_get(x, "version");
  if(!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 1000000000) {
    gw_msg_set(err, errlen, "%s: #/x-gw/version: must be an integer of at least 1 (raised by every "
         "change)", label);
    return -1;
  }
  d->version = (int)json_integer_value(v);
  v = json_object_get(x, "description");
  if(!json_is_string(v) || !json_string_length(v) || json_string_length(v) > 512) {
    gw_msg_set(err, errlen, "%s: #/x-gw/description: must be a string of 1 to 512 bytes", label);
    return -1;
  }
  v = json_object_get(x, "sensitivity");
  for(const char *const *s = sens; json_is_string(v) && *s; s++)
    if(!strcmp(*s, json_string_value(v))) {
      d->sensitivity = *s;
      ok = 1;
    }
  if(!ok) {
    gw_msg_set(err, errlen, "%s: #/x-gw/sensitivity: must be one of public, personal, sensitive",
         label);
    return -1;
  }
  v = json_object_get(x, "max_cache_age_s");
  if(!json_is_integer(v) || json_integer_value(v) < 0 ||
     json_integer_value(v) > 30 * 86400) {
    gw_msg_set(err, errlen, "%s: #/x-gw/max_cache_age_s: must be an integer 0 to 2592000", label);
    return -1;
  }
  d->max_cache_s = (int)json_integer_value(v);
  d->summary = gw_strdup(json_string_value(json_object_get(x, "description")));
  return 0;
}

/* Name and x-gw of one file's text: 0 with d filled (summary strdup'd). */
static int check_text(const char *name, const char *label, const char *text, size_t len,
                      struct gw_fact_def *d, char *err, size_t errlen)
{
  json_error_t je;
  json_t *root;
  int rc;

  if(!gw_fact_name_ok(name)) {
    gw_msg_set(err, errlen, "%s: name: \"%s\" is not a fact name ([a-z0-9_]+(.[a-z0-9_]+)+, "
         "at most %d bytes)", label, name, GW_CATALOGUE_NAME_MAX);
    return -1;
  }
  root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
  if(!json_is_object(root)) {
    gw_msg_set(err, errlen, "%s: #: not a JSON object (%s)", label, root ? "other type" : je.text);
    json_decref(root);
    return -1;
  }
  rc = check_xgw(label, root, d, err, errlen);
  json_decref(root);
  return rc;
}

int gw_fact_check_text(const char *name, const char *label, const char *text, size_t len,
                       int *version, char *err, size_t errlen)
{
  struct gw_fact_def d;
  memset(&d, 0, sizeof(d));
  if(check_text(name, label, text, len, &d, err, errlen))
    return -1;
  gw_free((char *)d.summary);
  *version = d.version;
  return 0;
}

/* One schema file's name and x-gw. */
static int read_fact(struct gw_catalogue *c, const char *dir, const char *file,
                     char *err, size_t errlen)
{
  size_t n = strlen(dir) + 1 + strlen(file) + 1, len = 0;
  char *path = gw_malloc(n), *text = NULL, *name = NULL, sha[65];
  struct gw_fact_def *d = &c->facts[c->n_facts];
  int rc = -1;

  snprintf(path, n, "%s/%s", dir, file);
  name = gw_strndup(file, strlen(file) - strlen(SUFFIX));
  if(!gw_fact_name_ok(name)) {
    gw_msg_set(err, errlen, "%s: name: \"%s\" is not a fact name ([a-z0-9_]+(.[a-z0-9_]+)+, "
         "at most %d bytes)", path, name, GW_CATALOGUE_NAME_MAX);
    goto out;
  }
  if(!(text = slurp(path, &len, sha, err, errlen)))
    goto out;
  if(check_text(name, path, text, len, d, err, errlen))
    goto out;
  d->name = name;
  name = NULL;
  d->file = gw_strdup(path);
  memcpy(d->sha256, sha, sizeof(d->sha256));
  c->n_facts++;
  add_file(c, path, sha);
  rc = 0;
out:
  gw_free(text);
  gw_free(name);
  gw_free(path);
  return rc;
}

static const struct gw_fact_def *find_in(const struct gw_catalogue *c, const char *name)
{
  struct gw_fact_def key;
  memset(&key, 0, sizeof(key));
  key.name = name;
  if(!c || !c->n_facts)
    return NULL;
  return bsearch(&key, c->facts, c->n_facts, sizeof(*c->facts), def_cmp);
}

/* purposes.json's text (path names it in messages) into c's purposes,
 * every fact looked up in c (or, shape_only, checked for form).  0, or -1
 * with "PATH: FIELD: PROBLEM" in err. */
static int parse_purposes(struct gw_catalogue *c, const char *path, const char *text, size_t len,
                          char *err, size_t errlen)
{
  json_t *root = NULL, *ps, *p, *v;
  json_error_t je;
  const char *pname, *key;
  int rc = -1;

  root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
  if(!json_is_object(root)) {
    gw_msg_set(err, errlen, "%s: #: not a JSON object (%s)", path, root ? "other type" : je.text);
    goto out;
  }
  json_object_foreach(root, key, v)
    if(strcmp(key, "$comment") && strcmp(key, "version") && strcmp(key, "purposes")) {
      gw_msg_set(err, errlen, "%s: %s: unknown member ($comment, version, purposes)", path, key);
      goto out;
    }
  v = json_object_get(root, "version");
  if(!json_is_integer(v) || json_integer_value(v) < 1) {
    gw_msg_set(err, errlen, "%s: version: must be an integer of at least 1", path);
    goto out;
  }
  c->version = json_integer_value(v);
  ps = json_object_get(root, "purposes");
  if(!json_is_object(ps) || !json_object_size(ps) ||
     json_object_size(ps) > GW_CATALOGUE_MAX_PURPOSES) {
    gw_msg_set(err, errlen, "%s: purposes: must be an object of 1 to %d purposes", path,
         GW_CATALOGUE_MAX_PURPOSES);
    goto out;
  }
  c->purposes = gw_calloc(json_object_size(ps), sizeof(*c->purposes));
  json_object_foreach(ps, pname, p) {
    struct cat_purpose *cp = &c->purposes[c->n_purposes];
    json_t *facts = json_object_get(p, "facts"), *f;
    size_t i;

    if(!gw_fact_name_ok(pname)) {
      gw_msg_set(err, errlen, "%s: purposes.%s: not a purpose name ([a-z0-9_]+(.[a-z0-9_]+)+)",
           path, pname);
      goto out;
    }
    if(!json_is_object(p)) {
      gw_msg_set(err, errlen, "%s: purposes.%s: must be an object {description, facts}", path, pname);
      goto out;
    }
    json_object_foreach(p, key, v)
      if(strcmp(key, "description") && strcmp(key, "facts")) {
        gw_msg_set(err, errlen, "%s: purposes.%s.%s: unknown member (description, facts)", path,
             pname, key);
        goto out;
      }
    v = json_object_get(p, "description");
    if(!json_is_string(v) || !json_string_length(v)) {
      gw_msg_set(err, errlen, "%s: purposes.%s.description: must be a non-empty string", path, pname);
      goto out;
    }
    if(!json_is_array(facts) || !json_array_size(facts) ||
       json_array_size(facts) > GW_CATALOGUE_MAX_PURPOSE_FACTS) {
      gw_msg_set(err, errlen, "%s: purposes.%s.facts: must be an array of 1 to %d fact names", path,
           pname, GW_CATALOGUE_MAX_PURPOSE_FACTS);
      goto out;
    }
    cp->name = gw_strdup(pname);
    cp->description = gw_strdup(json_string_value(v));
    cp->facts = gw_calloc(json_array_size(facts), sizeof(*cp->facts));
    c->n_purposes++;
    json_array_foreach(facts, i, f) {
      const struct gw_fact_def *d = json_is_string(f) ? find_in(c, json_string_value(f)) : NULL;
      if(c->shape_only) {         /* form only: no catalogue to look it up in */
        if(!json_is_string(f) || !gw_fact_name_ok(json_string_value(f))) {
          gw_msg_set(err, errlen, "%s: purposes.%s.facts[%zu]: not a fact name "
                     "([a-z0-9_]+(.[a-z0-9_]+)+)", path, pname, i);
          goto out;
        }
        cp->n_facts++;
        continue;
      }
      if(!d) {
        gw_msg_set(err, errlen, "%s: purposes.%s.facts[%zu]: \"%s\" is not a fact of the catalogue "
             "(no %s%s)", path, pname, i, json_is_string(f) ? json_string_value(f) : "?",
             json_is_string(f) ? json_string_value(f) : "?", SUFFIX);
        goto out;
      }
      for(size_t j = 0; j < cp->n_facts; j++)
        if(cp->facts[j] == d->name) {
          gw_msg_set(err, errlen, "%s: purposes.%s.facts[%zu]: \"%s\" is listed twice", path, pname,
               i, d->name);
          goto out;
        }
      cp->facts[cp->n_facts++] = d->name;
    }
  }
  rc = 0;
out:
  json_decref(root);
  return rc;
}

static int read_purposes(struct gw_catalogue *c, const char *path, char *err, size_t errlen)
{
  char sha[65], *text;
  size_t len = 0;

  if(!(text = slurp(path, &len, sha, err, errlen)))
    return -1;
  if(parse_purposes(c, path, text, len, err, errlen)) {
    gw_free(text);
    return -1;
  }
  add_file(c, path, sha);
  c->purposes_text = text;
  c->purposes_len = len;
  memcpy(c->purposes_sha256, sha, sizeof(c->purposes_sha256));
  return 0;
}

static void free_purposes(struct gw_catalogue *c)
{
  for(size_t i = 0; i < c->n_purposes; i++) {
    gw_free(c->purposes[i].name);
    gw_free(c->purposes[i].description);
    gw_free(c->purposes[i].facts);
  }
  gw_free(c->purposes);
  c->purposes = NULL;
  c->n_purposes = 0;
}

int gw_purposes_check_text(const char *label, const char *text, size_t len, int *version,
                           char *err, size_t errlen)
{
  const struct gw_catalogue *cur = in_force();
  struct gw_catalogue tmp;
  int rc;

  memset(&tmp, 0, sizeof(tmp));
  if(cur) {
    /* borrowed: tmp's facts are never freed */
    tmp.facts = cur->facts;
    tmp.n_facts = cur->n_facts;
  }
  else
    tmp.shape_only = 1;
  rc = parse_purposes(&tmp, label, text, len, err, errlen);
  if(!rc && tmp.version > 1000000000) {
    gw_msg_set(err, errlen, "%s: version: must be at most 1000000000", label);
    rc = -1;
  }
  if(!rc)
    *version = (int)tmp.version;
  free_purposes(&tmp);
  return rc;
}

const char *gw_catalogue_purposes_text(const struct gw_catalogue *c, size_t *len,
                                       const char **sha256)
{
  *len = c ? c->purposes_len : 0;
  if(sha256)
    *sha256 = c ? c->purposes_sha256 : "";
  return c ? c->purposes_text : NULL;
}

int gw_catalogue_load(const char *schemas_dir, const char *purposes_file,
                      struct gw_catalogue **out, char *err, size_t errlen)
{
  struct gw_catalogue *c = gw_calloc(1, sizeof(*c));
  char **names = gw_calloc(GW_CATALOGUE_MAX_FACTS, sizeof(*names));
  size_t n = 0, sl = strlen(SUFFIX);
  DIR *d = opendir(schemas_dir);
  struct dirent *de;
  int rc = -1;

  *out = NULL;
  if(!d) {
    gw_msg_set(err, errlen, "%s: cannot open directory: %s", schemas_dir, strerror(errno));
    goto out;
  }
  while((de = readdir(d))) {
    size_t len = strlen(de->d_name);
    if(de->d_name[0] == '.' || len <= sl || strcmp(de->d_name + len - sl, SUFFIX))
      continue;
    if(n == GW_CATALOGUE_MAX_FACTS) {
      gw_msg_set(err, errlen, "%s: more than %d schema files", schemas_dir, GW_CATALOGUE_MAX_FACTS);
      goto out;
    }
    names[n++] = gw_strdup(de->d_name);
  }
  qsort(names, n, sizeof(*names), name_cmp);
  c->facts = gw_calloc(n ? n : 1, sizeof(*c->facts));
  for(size_t i = 0; i < n; i++)
    if(read_fact(c, schemas_dir, names[i], err, errlen))
      goto out;
  qsort(c->facts, c->n_facts, sizeof(*c->facts), def_cmp);
  if(read_purposes(c, purposes_file, err, errlen))
    goto out;
  {
    /* the digest covers every file's name and content hash, in order */
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char h[32];
    int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    for(size_t i = 0; ok && i < c->n_files; i++) {
      const char *base = strrchr(c->files[i].path, '/');
      base = base ? base + 1 : c->files[i].path;
      ok = EVP_DigestUpdate(md, base, strlen(base) + 1) &&
           EVP_DigestUpdate(md, c->files[i].sha256, 64);
    }
    ok = ok && EVP_DigestFinal_ex(md, h, NULL);
    EVP_MD_CTX_free(md);
    if(!ok) {
      gw_msg_set(err, errlen, "%s: cannot hash the catalogue", schemas_dir);
      goto out;
    }
    gw_hex_encode(h, sizeof(h), c->digest);
  }
  *out = c;
  c = NULL;
  rc = 0;
out:
  if(d)
    closedir(d);
  for(size_t i = 0; i < n; i++)
    gw_free(names[i]);
  gw_free(names);
  gw_catalogue_free(c);
  return rc;
}

void gw_catalogue_free(struct gw_catalogue *c)
{
  if(!c)
    return;
  for(size_t i = 0; i < c->n_facts; i++) {
    gw_free((char *)c->facts[i].name);
    gw_free((char *)c->facts[i].summary);
    gw_free((char *)c->facts[i].file);
  }
  gw_free(c->facts);
  free_purposes(c);
  gw_free(c->purposes_text);
  for(size_t i = 0; i < c->n_files; i++)
    gw_free((char *)c->files[i].path);
  gw_free(c->files);
  gw_free(c);
}

long long gw_catalogue_version(const struct gw_catalogue *c)
{
  return c ? c->version : 0;
}

const char *gw_catalogue_digest(const struct gw_catalogue *c)
{
  return c ? c->digest : "";
}

size_t gw_catalogue_files(const struct gw_catalogue *c, const struct gw_catalogue_file **files)
{
  *files = c ? c->files : NULL;
  return c ? c->n_files : 0;
}

void gw_catalogue_install(const struct gw_catalogue *c)
{
  atomic_store(&installed, c);
}

const struct gw_catalogue *gw_catalogue_current(void)
{
  return atomic_load(&installed);
}

void gw_catalogue_building(const struct gw_catalogue *c)
{
  building = c;
}

const struct gw_catalogue *gw_catalogue_use(const struct gw_catalogue *c)
{
  const struct gw_catalogue *prev = building;
  building = c;
  return prev;
}

static const struct gw_catalogue *in_force(void)
{
  return building ? building : atomic_load(&installed);
}

const struct gw_fact_def *gw_fact_find(const char *name)
{
  return name ? find_in(in_force(), name) : NULL;
}

const struct gw_fact_def *gw_fact_all(size_t *n)
{
  const struct gw_catalogue *c = in_force();
  *n = c ? c->n_facts : 0;
  return c ? c->facts : NULL;
}

static const struct cat_purpose *purpose_find(const char *purpose)
{
  const struct gw_catalogue *c = in_force();
  for(size_t i = 0; c && purpose && i < c->n_purposes; i++)
    if(!strcmp(c->purposes[i].name, purpose))
      return &c->purposes[i];
  return NULL;
}

int gw_purpose_known(const char *purpose)
{
  return purpose_find(purpose) != NULL;
}

size_t gw_purpose_count(void)
{
  const struct gw_catalogue *c = in_force();
  return c ? c->n_purposes : 0;
}

const char *gw_purpose_at(size_t i)
{
  const struct gw_catalogue *c = in_force();
  return c && i < c->n_purposes ? c->purposes[i].name : NULL;
}

int gw_purpose_has_fact(const char *purpose, const char *fact)
{
  const struct cat_purpose *p = purpose_find(purpose);
  for(size_t i = 0; p && fact && i < p->n_facts; i++)
    if(!strcmp(p->facts[i], fact))
      return 1;
  return 0;
}
