/*
 * gw/mapping.h - turning a parsed agency response into fact values.
 *
 * A fact's struct gw_value_spec (gw/adapter.h) is evaluated against a
 * parsed response: an XML document (gw/xmlsafe.h) with XPath 1.0 paths and
 * the adapter's namespace prefixes, or a jansson value with RFC 6901 JSON
 * Pointers.  The result is a jansson value built member by member, or an
 * error whose message names the place and the problem, e.g.
 *   //chsi:degree[2]/chsi:graduatedOn: "2021-13-40" is not a date
 * (for JSON the place is the full pointer: /data/records/1/graduated_on).
 * Quoted agency values are cut to a few dozen bytes and escaped.
 *
 * Paths:
 *   XML   a scalar path is evaluated with the context node set to the
 *         document (top level) or to the list item; a node-set result gives
 *         the string-value of its single node (0 nodes: absent; more than
 *         one: GW_MAP_AMBIGUOUS), a string, number or boolean result is used
 *         as is.  A list path must yield a node-set; items in document order.
 *   JSON  a JSON Pointer; "" is the value itself (for a list item: the
 *         item).  A list pointer must reach an array.  A token that is not a
 *         canonical index ("-", "01", "x") reaches nothing in an array.
 *
 * Coercion (the "type" of a scalar):
 *   string  XML: the text with surrounding XML whitespace (space, tab, CR,
 *           LF) trimmed; JSON: a string exactly as sent (never trimmed), or
 *           an integer's decimal form.  At most GW_MAP_MAX_STRING bytes, no
 *           NUL.  An XPath boolean becomes "true"/"false".
 *   int     a JSON integer, or an optionally signed decimal digit string
 *           (leading zeros allowed, nothing else: no blanks inside JSON
 *           strings, no "0x", no "4.0"); overflow beyond int64 is an error.
 *           XPath numbers must be integral.  JSON reals are refused.
 *   number  any JSON number or decimal text ("1.5", "-2e3", ".5"); integral
 *           values within +-2^53 come out as JSON integers, the rest as
 *           reals; NaN and infinities are refused.
 *   bool    JSON true/false, XPath booleans, or text (JSON integers by their
 *           decimal form) matched exactly, case included, against
 *           true_values/false_values, by default "true","1" / "false","0".
 *   date    YYYY-MM-DD, YYYYMMDD or YYYY/MM/DD (JSON integers by their
 *           decimal form), a real Gregorian date with year 0001-9999,
 *           always written YYYY-MM-DD.  No times, no zones.
 *   enum    the text (JSON integers and booleans by their spelling) looked
 *           up exactly in enum_map; an unknown value is an error, never
 *           passed through.
 *   name_agrees  the text is the name on the agency's record; the value is
           true when it equals the query's subject.name, false when not.
           Both are compared after Unicode NFC, with White_Space trimmed
           at both ends and inner runs made one space (mapping_name.c);
           at most GW_MAP_MAX_NAME bytes.  Neither name is kept, quoted in
           a message or logged: only the boolean leaves the mapping.
           Numbers and booleans are not names (GW_MAP_BAD_VALUE).
Absence: no node / no member / JSON null / an XPath NaN is absent, and
 * so is an empty string (after trimming) for every type but string.  An
 * absent optional scalar becomes JSON null; an absent required one is
 * GW_MAP_ABSENT.  A list whose path reaches nothing is [] for XML (an
 * empty node-set) and GW_MAP_ABSENT for JSON unless the list spec is
 * optional (then []).
 *
 * Selection ("first"): the list path is resolved as for a list (JSON: it
 * must reach an array; absent or null is GW_MAP_ABSENT; XML: a node-set),
 * then each item in order is tested against every "where" condition: the
 * relative path must reach a string equal to the value (JSON: also an
 * integer whose decimal form is the value, or true/false spelled so;
 * XML: the string-value of a single node, or a string/number/boolean
 * result, XML whitespace trimmed; no node never matches, several nodes are
 * GW_MAP_AMBIGUOUS).  The first item that passes is mapped with `item`;
 * when none does, the spec's "default" (parsed from default_json) is the
 * value, or, without one, the result is GW_MAP_NOT_FOUND.
 *
 * when_absent (a fact's root spec only): with GW_ABSENT_NOT_FOUND the root
 * is looked at before mapping, and when what it reads is absent the result
 * is GW_MAP_NOT_FOUND.  Absent means: a scalar's, list's or first's path
 * reaches nothing or JSON null (XML: an empty node-set; an XPath that
 * yields a string, number or boolean is always present); an object is
 * absent when every member is absent.  Anything present is mapped as
 * usual, so a half-present object is still a GW_MAP_ABSENT error.
 *
 * Every evaluation is bounded: items per list, bytes per string, total
 * output bytes, spec nesting, and XPath operations per evaluation.
 * All functions are thread-safe; specs and adapters are only read.
 */
#ifndef GW_MAPPING_H
#define GW_MAPPING_H

#include <stddef.h>

#include <jansson.h>
#include <libxml/tree.h>

#include "gw/adapter.h"

#define GW_MAP_MAX_LIST_ITEMS 1000u         /* items in one list */
#define GW_MAP_MAX_STRING 4096u             /* bytes of one string value */
#define GW_MAP_MAX_NAME 256u                /* bytes of a record's name (name_agrees) */
#define GW_MAP_MAX_OUTPUT (256u * 1024u)    /* bytes of one mapped fact value */
#define GW_MAP_MAX_SPEC_DEPTH 16u           /* object/list nesting of a spec */
#define GW_MAP_MAX_POINTER 1024u            /* bytes of a JSON Pointer */
#define GW_MAP_XPATH_OP_LIMIT 5000000ul     /* libxml2 XPath steps per evaluation */

enum gw_map_result {
  GW_MAP_OK = 0,
  GW_MAP_ABSENT,               /* a required value (or JSON list) is absent */
  GW_MAP_BAD_VALUE,            /* present but not of its type: not a date,
                                * unknown enum value, list not an array... */
  GW_MAP_AMBIGUOUS,            /* a scalar XPath selected several nodes */
  GW_MAP_BAD_PATH,             /* the path does not compile or evaluate, a
                                * list XPath does not yield a node-set, a
                                * malformed pointer or test expression */
  GW_MAP_TOO_LARGE,            /* a list, string or the output over its cap */
  GW_MAP_NOT_FOUND             /* the answer holds no such fact: a "first"
                                * with no match and no default, or an absent
                                * root under when_absent "not_found"; the
                                * codec makes the fact not_found */
};

enum gw_rule_result {
  GW_RULE_NO_MATCH = 0,
  GW_RULE_MATCH,
  GW_RULE_ERROR                /* the test is malformed or cannot be run */
};

/* Maps `doc` with `spec` using a's namespace prefixes.  On GW_MAP_OK *out is
 * a new reference the caller owns (json_decref); on error *out is NULL and
 * err (may be NULL when errlen is 0) says where and what. */
enum gw_map_result gw_mapping_xml(const struct gw_adapter *a, const struct gw_value_spec *spec,
                                  xmlDoc *doc, json_t **out, char *err, size_t errlen)
  __attribute__((warn_unused_result));

/* The same for a JSON response (`doc` is only read). */
enum gw_map_result gw_mapping_json(const struct gw_value_spec *spec, const json_t *doc,
                                   json_t **out, char *err, size_t errlen)
  __attribute__((warn_unused_result));

/* Both with the name the query gave (borrowed; NULL: none), which type
 * name_agrees compares the record's name with.  Without a name a
 * name_agrees scalar is GW_MAP_BAD_VALUE. */
enum gw_map_result gw_mapping_xml_named(const struct gw_adapter *a,
                                        const struct gw_value_spec *spec, xmlDoc *doc,
                                        const char *subject_name, json_t **out, char *err,
                                        size_t errlen)
  __attribute__((warn_unused_result));
enum gw_map_result gw_mapping_json_named(const struct gw_value_spec *spec, const json_t *doc,
                                         const char *subject_name, json_t **out, char *err,
                                         size_t errlen)
  __attribute__((warn_unused_result));

/* Does `rule` match this response?  A rule with statuses needs http_status
 * among them; a rule with a test needs the test to hold (XPath 1.0 converted
 * to boolean, context node the document); a rule with both needs both; a
 * rule with neither never matches.  A test never holds when doc is NULL (no
 * parsable body).  GW_RULE_ERROR sets err. */
enum gw_rule_result gw_mapping_rule_matches_xml(const struct gw_adapter *a,
                                                const struct gw_result_rule *rule,
                                                int http_status, xmlDoc *doc,
                                                char *err, size_t errlen)
  __attribute__((warn_unused_result));

/* The same for JSON; the test is exactly one of
 *   POINTER exists           the pointer reaches a value that is not null
 *   POINTER == "value"       ... a string equal to value, an integer whose
 *                            decimal form is value, or true/false spelled so
 * with POINTER a run of non-blank characters starting with '/', blanks
 * (spaces, tabs) around the operator, and value a double-quoted string in
 * which only \" and \\ are escapes. */
enum gw_rule_result gw_mapping_rule_matches_json(const struct gw_result_rule *rule,
                                                 int http_status, const json_t *doc,
                                                 char *err, size_t errlen)
  __attribute__((warn_unused_result));

/* Resolves RFC 6901 pointer `ptr` in `root`.  GW_MAP_OK sets *out to the
 * value (borrowed from root); GW_MAP_ABSENT when nothing is there;
 * GW_MAP_BAD_PATH (err set) when ptr is not a pointer. */
enum gw_map_result gw_mapping_pointer_get(const json_t *root, const char *ptr, json_t **out,
                                          char *err, size_t errlen)
  __attribute__((warn_unused_result));

/* Load-time checks for the adapter loader; each returns 0 or -1 with a
 * reason in err.  The XPath one compiles `expr` and runs it once against an
 * empty document with the namespaces registered, which catches undeclared
 * prefixes and unknown functions. */
int gw_mapping_xpath_check(const struct gw_kv *namespaces, size_t n_namespaces,
                           const char *expr, char *err, size_t errlen)
  __attribute__((warn_unused_result));
int gw_mapping_pointer_check(const char *ptr, char *err, size_t errlen)
  __attribute__((warn_unused_result));
int gw_mapping_json_test_check(const char *test, char *err, size_t errlen)
  __attribute__((warn_unused_result));

/* A short snake_case name of a result.  Static storage; never NULL. */
const char *gw_mapping_strerror(enum gw_map_result r);

#endif
