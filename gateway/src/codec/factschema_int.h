/*
 * factschema_int.h - the compiled form of a fact schema, shared by the
 * loader (factschema_load.c, which builds it from the JSON text and refuses
 * anything outside the subset) and the validator (factschema.c, which only
 * reads it).
 *
 * A compiled node holds exactly the keywords it enforces; annotations are
 * dropped.  Values it borrows (enum, const, minimum, maximum) point into the
 * schema document, which the struct gw_factschema keeps alive and never
 * modifies, so validation touches no reference count.
 */
#ifndef GW_FACTSCHEMA_INT_H
#define GW_FACTSCHEMA_INT_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "gw/factschema.h"

/* JSON types as a bit set, for "type" and for naming an instance's type. */
enum gw_fs_type {
  GW_FS_NULL = 1u << 0,
  GW_FS_BOOLEAN = 1u << 1,
  GW_FS_INTEGER = 1u << 2,
  GW_FS_NUMBER = 1u << 3,
  GW_FS_STRING = 1u << 4,
  GW_FS_ARRAY = 1u << 5,
  GW_FS_OBJECT = 1u << 6
};

#define GW_FS_NUMERIC (GW_FS_INTEGER | GW_FS_NUMBER)
#define GW_FS_LIMIT_NONE (-1LL)

struct gw_fs_node;

struct gw_fs_prop {
  char *name;                  /* an identifier, at most GW_FACTSCHEMA_NAME_MAX bytes */
  struct gw_fs_node *schema;   /* owned */
  bool required;
};

struct gw_fs_node {
  unsigned types;              /* enum gw_fs_type bits; never 0 once compiled */
  const json_t *enum_values;   /* borrowed array of scalars, or NULL */
  const json_t *const_value;   /* borrowed scalar, or NULL */
  char *allowed_text;          /* compact JSON of enum/const for messages, or NULL */

  long long min_length, max_length;  /* code points; GW_FS_LIMIT_NONE if absent */
  bool has_pattern;
  regex_t pattern;             /* REG_EXTENDED|REG_NOSUB, valid when has_pattern */
  char *pattern_src;           /* the pattern as written, for messages */
  bool format_date;

  const json_t *minimum, *maximum;   /* borrowed integers or reals, or NULL */

  long long min_items, max_items;    /* GW_FS_LIMIT_NONE if absent */
  struct gw_fs_node *items;          /* owned, or NULL */

  struct gw_fs_prop *props;    /* owned array of nprops, in schema order */
  size_t nprops;
  bool closed;                 /* additionalProperties: false */
};

struct gw_factschema {
  char *label;                 /* where it was loaded from */
  json_t *doc;                 /* the schema document; owns borrowed values */
  char *id;                    /* root "$id" */
  char *text;                  /* compact JSON of doc */
  struct gw_fs_node *root;
};

struct gw_fs_set_entry {
  const char *fact;            /* the catalogue's name (static storage) */
  struct gw_factschema *schema;  /* owned */
};

struct gw_factschema_set {
  struct gw_fs_set_entry *entries;  /* owned, in catalogue order */
  size_t n;
};

/* Validation of one value against a node, shared with the loader (which
 * checks every "examples" entry).  Same contract as gw_factschema_check. */
int gw_fs_check_node(const struct gw_fs_node *n, const json_t *value, char *err, size_t errlen)
  __attribute__((warn_unused_result));

/* Whether an instance of JSON type json_typeof(x) satisfies "type" `types`:
 * an integer is also a number, a real with a zero fraction also an integer. */
bool gw_fs_type_accepts(unsigned types, const json_t *x);

/* The name of one type bit ("integer"), or of an instance's JSON type. */
const char *gw_fs_type_name(unsigned type_bit);

/* Mathematical comparison of two JSON numbers (integers or reals): <0, 0,
 * >0.  Exact for every pair, including integers beyond 2^53 against reals. */
int gw_fs_num_cmp(const json_t *a, const json_t *b);

/* Equality in the JSON Schema sense for scalars: numbers compare by value
 * (1 == 1.0), true/false/null only equal themselves, strings by bytes. */
bool gw_fs_scalar_equal(const json_t *a, const json_t *b);

/* NULL when the pattern p (len bytes, no NUL) lies inside the ECMA-262 /
 * POSIX ERE common subset, else a static sentence saying why not. */
const char *gw_fs_pattern_problem(const char *p, size_t len);

/* Whether `s` (exactly 10 bytes expected) is an RFC 3339 full-date naming a
 * real calendar day in years 0001-9999. */
bool gw_fs_is_date(const char *s, size_t len);

#endif
