/*
 * gw/factschema.h - the JSON Schemas of the fact catalogue, and the validator
 * the gateway runs on every mapped value before it signs it.
 *
 * One idea: a schema never checks less than it says.  The loader understands
 * a small, exactly defined subset of JSON Schema draft 2020-12 and refuses a
 * file that uses anything else, so a keyword we do not implement can never
 * be silently ignored the way a general validator ignores what it does not
 * know.  On top of the vocabulary it enforces the project's strictness
 * profile (every schema states its type, every object is closed and lists
 * all members as required, every string and array is capped, every number
 * is bounded).  The reference is docs/facts.md; in short:
 *
 *   annotations  $schema (root only, must be draft 2020-12), $id (root only),
 *                title, description, $comment, examples (each example is
 *                validated at load: a wrong example is a load error)
 *   any type     type (a name or an array of distinct names), enum and const
 *                (scalar values only)
 *   string       minLength, maxLength (in Unicode code points), pattern
 *                (a documented ECMA-262/POSIX common subset, anchored
 *                ^...$), format "date" (RFC 3339 full-date, a real calendar
 *                day, years 0001-9999)
 *   integer,     minimum, maximum (inclusive); "integer" also accepts a
 *   number       JSON number with a zero fraction (1.0), as the spec says
 *   array        items (one schema), minItems, maxItems
 *   object       properties, required, additionalProperties (false only)
 *
 * Thread rules: a loaded set (and every schema in it) is immutable; any
 * number of threads may validate against it at once.  Load and free are
 * the owner's business (start-up, reload).  Nothing here logs, and no
 * message ever repeats a validated value (values are personal data); a
 * message names only paths, member names and the schema's own limits.
 */
#ifndef GW_FACTSCHEMA_H
#define GW_FACTSCHEMA_H

#include <stddef.h>
#include <jansson.h>

/* Every schema's "$id" is this base followed by "<fact>.schema.json".  The
 * host is under the reserved .invalid TLD: the ids name, they never resolve;
 * clients get the schemas from GET /v1/facts/catalogue. */
#define GW_FACTSCHEMA_ID_BASE "https://gateway.invalid/schemas/facts/"
#define GW_FACTSCHEMA_DRAFT "https://json-schema.org/draft/2020-12/schema"

/* Caps (each refused at load with a message naming it). */
#define GW_FACTSCHEMA_FILE_MAX (64 * 1024)  /* bytes of one schema file */
#define GW_FACTSCHEMA_MAX_FILES 64          /* *.schema.json in the directory */
#define GW_FACTSCHEMA_MAX_DEPTH 8           /* nesting of schemas (root = 1) */
#define GW_FACTSCHEMA_MAX_PROPERTIES 32     /* members of one object schema */
#define GW_FACTSCHEMA_MAX_ENUM 64           /* values of one enum */
#define GW_FACTSCHEMA_NAME_MAX 64           /* bytes of a property name */
#define GW_FACTSCHEMA_PATTERN_MAX 256       /* bytes of one pattern */
#define GW_FACTSCHEMA_REPEAT_MAX 255        /* n and m of a {n,m} quantifier */
#define GW_FACTSCHEMA_PATH_MAX 1024         /* bytes of a reported JSON path */

/* One compiled schema. */
struct gw_factschema;

/* The schemas of every catalogue fact. */
struct gw_factschema_set;

/* Compiles one schema from the JSON text `text` (`len` bytes; need not be
 * NUL-terminated).  `label` names the source in messages (usually the file
 * path).  On success returns 0 and sets *out (caller owns it; free with
 * gw_factschema_free).  On error returns -1, leaves *out NULL and writes
 * "LABEL: KEYWORD-PATH: PROBLEM" into err, where KEYWORD-PATH is a JSON
 * Pointer into the schema written as "#/items/properties/level/enum" ("#"
 * alone for the root); a JSON syntax error is "LABEL: line L column C:
 * PROBLEM".  err may be NULL when errlen is 0; messages are truncated to
 * fit.  The root must carry $schema, $id, title, description and a
 * non-empty examples array. */
int gw_factschema_compile(const char *label, const char *text, size_t len,
                          struct gw_factschema **out, char *err, size_t errlen)
  __attribute__((warn_unused_result));

/* Frees a schema from gw_factschema_compile.  NULL is a no-op.  Never call
 * it on a schema obtained from a set. */
void gw_factschema_free(struct gw_factschema *s);

/* Checks `value` (borrowed, only read) against `s`.  Returns 0 when it is
 * valid; otherwise -1 and, in err, "PATH: PROBLEM" for the first violation
 * found, where PATH is a JSON path from "$" (the value itself) with members
 * as ".name" (or ["name"] when not an identifier) and items as "[i]", e.g.
 * "$[2].graduated_on: not a date (YYYY-MM-DD)".  A missing member and a
 * member not allowed are reported at the member's own path ("$.uscc:
 * required member missing").  value NULL is an error ("$: no value"). */
int gw_factschema_check(const struct gw_factschema *s, const json_t *value,
                        char *err, size_t errlen)
  __attribute__((warn_unused_result));

/* The schema's "$id" and its text as compact JSON (members in file order),
 * for the catalogue endpoint.  Both owned by `s`, valid while it lives. */
const char *gw_factschema_id(const struct gw_factschema *s);
const char *gw_factschema_text(const struct gw_factschema *s);

/* Loads dir/<fact>.schema.json for the compiled-in catalogue (gw/facts.h).
 * Files whose names do not end in ".schema.json" and hidden files are
 * ignored.  Refused, with the first problem in err as
 * "FILE: KEYWORD-PATH: PROBLEM" (files are taken in name order):
 *  - a schema that does not compile (see gw_factschema_compile);
 *  - a schema file for a name that is not a catalogue fact;
 *  - a catalogue fact without a schema file
 *    ("DIR/talent.level.schema.json: #: missing: ...");
 *  - an "$id" other than GW_FACTSCHEMA_ID_BASE "<fact>.schema.json";
 *  - more than GW_FACTSCHEMA_MAX_FILES files, an unreadable directory or
 *    file, a file over GW_FACTSCHEMA_FILE_MAX (these as "PATH: PROBLEM").
 * On success returns 0 and sets *out (caller owns it; free with
 * gw_factschema_set_free); on error returns -1 and leaves *out NULL. */
int gw_factschema_set_load(const char *dir, struct gw_factschema_set **out,
                           char *err, size_t errlen)
  __attribute__((warn_unused_result));

/* Frees a set and every schema in it.  NULL is a no-op.  No thread may be
 * validating against it any more. */
void gw_factschema_set_free(struct gw_factschema_set *set);

/* The schema of catalogue fact `fact` (owned by the set), or NULL. */
const struct gw_factschema *gw_factschema_set_get(const struct gw_factschema_set *set,
                                                  const char *fact);

/* gw_factschema_check against the schema of `fact`.  An unknown fact is
 * an error too ("unknown fact"), so a caller cannot sign an unchecked
 * value by misspelling its name. */
int gw_factschema_validate(const struct gw_factschema_set *set, const char *fact,
                           const json_t *value, char *err, size_t errlen)
  __attribute__((warn_unused_result));

#endif
