/*
 * gw/predicate.h - yes/no answers computed from facts (DESIGN section 3).
 *
 * A predicate is data: one file schemas/predicates/<id>.json names the facts
 * it reads, one operator from a fixed set, the fixed list of arguments a
 * client may pass, the purposes that may ask it and what an agency's "no
 * record" means for it.  No code is loaded from files: the operators are
 * the ones below, evaluated by gw_pred_eval().
 *
 *   {"id": "education.at_least", "version": 1,
 *    "description": "holds a degree at or above the argument",
 *    "facts": ["education.degrees"],
 *    "rule": {"operator": "at_least", "fact": "education.degrees",
 *             "items": "/level",
 *             "order": ["associate", "bachelor", "master", "doctor"]},
 *    "args": ["bachelor", "master", "doctor"],
 *    "not_found": false,
 *    "purposes": ["talent.graduate", "talent.inservice"]}
 *
 * Operators (the compared value: the fact's value at rule.select, an RFC
 * 6901 pointer, default the whole value; with rule.items the selected value
 * is an array and the pointer is applied to each item, and the rule holds
 * when any item satisfies it, none_of when no item is in the list):
 *   at_least  value >= arg: rank in rule.order for strings, numeric for
 *             numbers; with rule.derive "age_years" the value is a date and
 *             its age in whole years on the query day is compared
 *   under     value < arg (numbers, or an age as above)
 *   equals    value == arg, or == rule.value when the predicate takes none
 *   in        value is one of rule.values
 *   none_of   value is none of rule.values (array: no item is)
 *   exists    the agency holds a record (status ok)
 *   all_true  every fact of `facts` (not one rule.fact: it has none) is a
 *             boolean at rule.select, and each agency that answered says
 *             true: false as soon as one says false (whatever the others
 *             did), else unknown when one is unavailable or not a boolean,
 *             else true; a fact answered "no record" does not count, and
 *             when none counts the result is `not_found`.  The cross-check
 *             identity.names_agree (交叉检查) is this over the agencies'
 *             name_agrees facts.
 *
 * A set is immutable after load and is swapped whole on reload.  Every fact
 * and purpose a definition names must be in the catalogue in force (or being
 * built: gw_catalogue_building), so a catalogue change that leaves a
 * predicate reading an unknown fact is refused as a whole.  A fact no
 * adapter serves yet makes the predicate "unknown" (never false).
 */
#ifndef GW_PREDICATE_H
#define GW_PREDICATE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define GW_PRED_MAX_FACTS 8        /* facts one predicate reads */
#define GW_PRED_MAX_ARGS 16        /* allowed arguments of one predicate */
#define GW_PRED_MAX_VALUES 32      /* order / values list entries */
#define GW_PRED_MAX_PURPOSES 16
#define GW_PRED_MAX 128            /* predicates in a set */
#define GW_PRED_FILE_MAX_BYTES (64 * 1024)
#define GW_PRED_KEY_MAX 96         /* "id(arg)" */

enum gw_pred_op {
  GW_PRED_AT_LEAST = 1,
  GW_PRED_UNDER,
  GW_PRED_EQUALS,
  GW_PRED_IN,
  GW_PRED_NONE_OF,
  GW_PRED_EXISTS,
  GW_PRED_ALL_TRUE
};

enum gw_pred_result { GW_PRED_FALSE = 0, GW_PRED_TRUE = 1, GW_PRED_UNKNOWN = 2 };

struct gw_pred_def {
  char *id;
  int version;
  char sha256[65];                  /* hex SHA-256 of the definition file bytes */
  char *description;
  char *facts[GW_PRED_MAX_FACTS];
  size_t n_facts;
  enum gw_pred_op op;
  char *fact;                       /* the fact the rule reads (one of facts);
                                       NULL for all_true, which reads them all */
  char *select;                     /* pointer; "" = the whole value */
  char *items;                      /* NULL: not an array rule */
  int derive_age;                   /* rule.derive == "age_years" */
  json_t *order;                    /* array of strings, or NULL */
  json_t *value;                    /* equals without args */
  json_t *values;                   /* in / none_of */
  json_t *args;                     /* array (strings or integers), or NULL: takes none */
  enum gw_pred_result not_found;    /* what "the agency has no record" means */
  char *purposes[GW_PRED_MAX_PURPOSES];
  size_t n_purposes;
  char *file;                       /* the file's path, for messages */
  char *text;                       /* the file's bytes (NUL-terminated), as loaded */
  size_t text_len;
};

struct gw_predset;

/* Loads every *.json in `dir` (sorted by name); the whole set or nothing.
 * On error returns -1 with "FILE: FIELD: PROBLEM" in err and *out untouched.
 * A missing directory is an empty set (a gateway without predicates).
 * *out is owned by the caller (gw_predset_free). */
int gw_predset_load(const char *dir, struct gw_predset **out, char *err, size_t errlen)
  __attribute__((warn_unused_result));
/* Checks one definition (text[0..len), named `file` in messages) as the
 * loader would, without a set.  0 or -1 with err. */
int gw_pred_check_text(const char *file, const char *text, size_t len, char *err, size_t errlen)
  __attribute__((warn_unused_result));
/* The same, also giving the definition's id (into id, idlen bytes; may be
 * NULL) and version (may be NULL). */
int gw_pred_check_text_ex(const char *file, const char *text, size_t len, char *id,
                          int *version, size_t idlen, char *err, size_t errlen)
  __attribute__((warn_unused_result));
void gw_predset_free(struct gw_predset *set);
/* The definition with `id`, or NULL.  Owned by the set. */
const struct gw_pred_def *gw_predset_find(const struct gw_predset *set, const char *id);
/* All definitions; *n set to their count.  Owned by the set. */
const struct gw_pred_def *gw_predset_all(const struct gw_predset *set, size_t *n);
/* sha256 (hex) over the sorted (file name, file sha256) list: the set's identity. */
const char *gw_predset_sha256(const struct gw_predset *set);

/* Index of `arg` (borrowed; NULL = none given) in def's allowed args, or -1
 * when it is not allowed (a predicate without args allows only NULL, index 0). */
int gw_pred_arg_index(const struct gw_pred_def *def, const json_t *arg);
/* "id" or "id(arg)" into out (NUL-terminated); -1 when it does not fit. */
int gw_pred_key(const struct gw_pred_def *def, const json_t *arg, char *out, size_t outlen);
/* May `purpose` ask `def`? */
int gw_pred_purpose_allowed(const struct gw_pred_def *def, const char *purpose);

/* One fact a predicate reads, as the query saw it. */
enum gw_pred_fact_status {
  GW_PRED_FACT_OK = 0,
  GW_PRED_FACT_NOT_FOUND,
  GW_PRED_FACT_UNAVAILABLE         /* unavailable, denied, or not served */
};
struct gw_pred_input {
  const char *fact;
  enum gw_pred_fact_status status;
  const json_t *value;              /* OK: the value (borrowed) */
};

/* Evaluates def for arg (NULL for none) on `inputs` (n of them, any order;
 * a fact of def missing from inputs counts as unavailable) as of the civil
 * date as_of ("YYYY-MM-DD").  Unknown when a fact it needs is unavailable
 * or a value does not have the shape the rule reads; `why` (may be NULL)
 * then names the fact or the problem.  Never false for want of data. */
enum gw_pred_result gw_pred_eval(const struct gw_pred_def *def, const json_t *arg,
                                 const struct gw_pred_input *inputs, size_t n,
                                 const char *as_of, char *why, size_t why_len);
/* "true", "false", "unknown". */
const char *gw_pred_result_name(enum gw_pred_result r);
/* The civil date in China Standard Time (UTC+8, no DST) of unix time t. */
void gw_pred_date_cst(int64_t t, char out[11]);

#endif
