/*
 * gw/facts.h - the fact catalogue (DESIGN section 4): data, not code.
 *
 * A fact exists because its schema file exists: schemas/facts/<name>.schema.json
 * holds the JSON Schema a mapped value must satisfy before it is signed and,
 * under "x-gw", the fact's metadata:
 *
 *   "x-gw": {"version": 3,                  1.., raised by every change (a
 *                                           replacement with a version not
 *                                           newer is refused by the admin API)
 *            "description": "...",          one line for the catalogue
 *            "sensitivity": "personal",     public | personal | sensitive
 *            "max_cache_age_s": 86400}      longest a value may be cached;
 *                                           an adapter's cache.ttl_s above
 *                                           it is refused
 *
 * Purposes, and the facts each may read, come from schemas/purposes.json:
 *
 *   {"version": 3, "purposes": {"talent.graduate": {"description": "...",
 *                                                   "facts": ["a.b", ...]}}}
 *
 * The ACL narrows them per client.  Which agency serves a fact is said by
 * the adapters only.  A catalogue is immutable once loaded; the one in
 * force is published process-wide (gw_catalogue_install) and a replaced one
 * stays valid until exit (the app retires it), so a struct gw_fact_def
 * pointer taken during a request never dangles.
 *
 * What it never does: know a fact or purpose by name in C.
 */
#ifndef GW_FACTS_H
#define GW_FACTS_H

#include <stddef.h>

#define GW_CATALOGUE_MAX_FACTS 256         /* schema files */
#define GW_CATALOGUE_MAX_PURPOSES 64
#define GW_CATALOGUE_MAX_PURPOSE_FACTS 64
#define GW_CATALOGUE_NAME_MAX 64           /* bytes of a fact or purpose name */
#define GW_CATALOGUE_FILE_MAX (1024 * 1024)

struct gw_fact_def {
  const char *name;            /* matches [a-z0-9_]+(\.[a-z0-9_]+)+ */
  const char *summary;         /* x-gw.description */
  const char *sensitivity;     /* x-gw.sensitivity */
  int max_cache_s;             /* x-gw.max_cache_age_s */
  int version;                 /* x-gw.version, 1.. */
  const char *file;            /* the schema file's path */
  char sha256[65];             /* lowercase hex of the file's bytes */
};

struct gw_catalogue;

/* One file the catalogue was read from: for the config audit record. */
struct gw_catalogue_file {
  const char *path;
  char sha256[65];             /* lowercase hex of the file's bytes */
};

/* Reads every "*.schema.json" of `schemas_dir` (the facts, in name order)
 * and `purposes_file`, and checks them as a whole: names, x-gw, every
 * purpose naming a fact that exists.  The JSON Schemas themselves are
 * compiled by gw_factschema_set_load (gw/factschema.h) against the result.
 * 0 and *out (the caller's, gw_catalogue_free), or -1 with
 * "FILE: FIELD: PROBLEM" in err. */
int gw_catalogue_load(const char *schemas_dir, const char *purposes_file,
                      struct gw_catalogue **out, char *err, size_t errlen)
  __attribute__((warn_unused_result));
void gw_catalogue_free(struct gw_catalogue *c);

/* Checks one schema file's name and x-gw as the loader does, without a
 * catalogue (the admin API and gwctl judge a file before it is written):
 * `name` is the fact the file is for, `label` names it in messages.  The
 * JSON Schema itself is compiled by gw_factschema_compile.  0 and *version,
 * or -1 with "LABEL: FIELD: PROBLEM" in err. */
int gw_fact_check_text(const char *name, const char *label, const char *text, size_t len,
                       int *version, char *err, size_t errlen)
  __attribute__((warn_unused_result));

/* Checks a purposes.json text as the loader does (label names it in
 * messages), every fact it names looked up in the catalogue in force on
 * this thread; with none installed, fact names are checked for form only
 * (gwctl without a local catalogue).  The admin API and gwctl judge a file
 * before it is written; the reload judges it again with the catalogue it
 * builds.  0 and *version, or -1 with "LABEL: FIELD: PROBLEM" in err. */
int gw_purposes_check_text(const char *label, const char *text, size_t len, int *version,
                           char *err, size_t errlen)
  __attribute__((warn_unused_result));

/* The purposes.json bytes `c` was loaded from (c's; NULL when c is NULL),
 * their length and, when sha256 is not NULL, their SHA-256 (hex). */
const char *gw_catalogue_purposes_text(const struct gw_catalogue *c, size_t *len,
                                       const char **sha256);

/* purposes.json "version", and a SHA-256 over every file's name and
 * bytes (lowercase hex): what GET /v1/facts/catalogue shows. */
long long gw_catalogue_version(const struct gw_catalogue *c);
const char *gw_catalogue_digest(const struct gw_catalogue *c);
size_t gw_catalogue_files(const struct gw_catalogue *c, const struct gw_catalogue_file **files);

/* Makes `c` the catalogue gw_fact_find & co. answer from, for every
 * thread.  The previous one is not freed: the gateway's catalogues belong
 * to generations (runtime/gen.h), the installed one to the current
 * generation, freed only when that generation is.  NULL uninstalls. */
void gw_catalogue_install(const struct gw_catalogue *c);
const struct gw_catalogue *gw_catalogue_current(void);

/* While a reload builds the next generation on this thread, lookups on
 * this thread answer from `c` instead (NULL ends it).  Other threads keep
 * seeing the installed one. */
void gw_catalogue_building(const struct gw_catalogue *c);

/* The same, for a handler holding a generation: lookups on this thread
 * answer from `c` (the generation's catalogue) until the previous value,
 * which is returned, is put back.  Set and restored within one synchronous
 * step, never across an event-loop turn. */
const struct gw_catalogue *gw_catalogue_use(const struct gw_catalogue *c);

/* The fact called `name` in the catalogue in force (see above), or NULL. */
const struct gw_fact_def *gw_fact_find(const char *name);
/* All facts, in name order; *n is set to their count (0 and NULL when no
 * catalogue is installed). */
const struct gw_fact_def *gw_fact_all(size_t *n);

/* Purposes of the catalogue in force: does it exist; how many, the i-th
 * name; does purpose `p` allow fact `f` (before any client's ACL). */
int gw_purpose_known(const char *purpose);
size_t gw_purpose_count(void);
const char *gw_purpose_at(size_t i);
int gw_purpose_has_fact(const char *purpose, const char *fact);

/* Is `s` a well-formed fact name: [a-z0-9_]+(\.[a-z0-9_]+)+, at most
 * GW_CATALOGUE_NAME_MAX bytes.  1 or 0. */
int gw_fact_name_ok(const char *s);

#endif
