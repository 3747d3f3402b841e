/*
 * mapping_int.h - what mapping_xml.c and mapping_json.c share: one mapping
 * run's state (output budget, location for messages, error sink) and the
 * type coercions of mapping_coerce.c.  Not part of the public API.
 *
 * A run carries a "where" prefix that grows as lists are entered
 * ("//chsi:degree[2]/" for XML, "/records/1" for JSON); every message is
 * "<where><path>: <problem>".
 */
#ifndef GW_MAPPING_INT_H
#define GW_MAPPING_INT_H

#include <stddef.h>

#include <jansson.h>

#include "gw/adapter.h"
#include "mapping.h"

/* Longest location prefix kept for messages (longer ones are cut). */
#define GW_MAP_WHERE_MAX 256u

struct gw_map_run {
  size_t out_used;             /* bytes charged against GW_MAP_MAX_OUTPUT */
  unsigned depth;              /* spec nesting */
  char *err;
  size_t errlen;
  char where[GW_MAP_WHERE_MAX];
  size_t where_len;
  const char *subject_name;    /* the name the query gave (borrowed), or NULL */
};

void gw_map_run_init(struct gw_map_run *run, char *err, size_t errlen);

/* Writes "<where><path>: <fmt...>" into run->err and returns `r`. */
enum gw_map_result gw_map_fail(struct gw_map_run *run, enum gw_map_result r, const char *path,
                               const char *fmt, ...)
  __attribute__((format(printf, 4, 5)));

/* Appends to the location prefix (printf-style); returns the old length
 * for gw_map_where_pop. */
size_t gw_map_where_push(struct gw_map_run *run, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));
void gw_map_where_pop(struct gw_map_run *run, size_t len);

/* Charges n output bytes; GW_MAP_TOO_LARGE (message set) past the cap. */
enum gw_map_result gw_map_charge(struct gw_map_run *run, const char *path, size_t n)
  __attribute__((warn_unused_result));

/* An absent scalar: JSON null when optional, else GW_MAP_ABSENT. */
enum gw_map_result gw_map_absent(struct gw_map_run *run, const struct gw_value_spec *spec,
                                 const char *path, json_t **out)
  __attribute__((warn_unused_result));

/* A "first" that matched nothing: its default (a new reference in *out),
 * or GW_MAP_NOT_FOUND without one. */
enum gw_map_result gw_map_no_match(struct gw_map_run *run, const struct gw_value_spec *spec,
                                   json_t **out)
  __attribute__((warn_unused_result));

/* "an integer", "a date"... for messages.  Static storage. */
const char *gw_map_type_name(enum gw_value_type t);

/* Coerces text s[0..n) (UTF-8) to spec's type.  `trim` strips surrounding
 * XML whitespace first.  An empty text is absent for every type but
 * string.  On GW_MAP_OK *out is a new reference. */
enum gw_map_result gw_map_from_text(struct gw_map_run *run, const struct gw_value_spec *spec,
                                    const char *path, const char *s, size_t n, int trim,
                                    json_t **out)
  __attribute__((warn_unused_result));

/* Coerces a number (an XPath result or a JSON real). */
enum gw_map_result gw_map_from_double(struct gw_map_run *run, const struct gw_value_spec *spec,
                                      const char *path, double d, json_t **out)
  __attribute__((warn_unused_result));

/* Coerces a JSON integer. */
enum gw_map_result gw_map_from_integer(struct gw_map_run *run, const struct gw_value_spec *spec,
                                       const char *path, json_int_t v, json_t **out)
  __attribute__((warn_unused_result));

/* Coerces a boolean (an XPath result or JSON true/false). */
enum gw_map_result gw_map_from_bool(struct gw_map_run *run, const struct gw_value_spec *spec,
                                    const char *path, int b, json_t **out)
  __attribute__((warn_unused_result));

/* Type name_agrees (mapping_name.c): compares the record's name s[0..n)
 * with run->subject_name, both NFC-normalised with White_Space trimmed and
 * collapsed; *agrees 1 or 0.  GW_MAP_BAD_VALUE without a subject name or
 * for text that is not UTF-8 of at most GW_MAP_MAX_NAME bytes;
 * GW_MAP_ABSENT for a blank name.  Neither name is kept or logged. */
enum gw_map_result gw_map_name_agrees(struct gw_map_run *run, const char *path, const char *s,
                                      size_t n, int *agrees)
  __attribute__((warn_unused_result));

/* Is `status` among rule's statuses? */
int gw_map_status_listed(const struct gw_result_rule *rule, int status);

#endif
