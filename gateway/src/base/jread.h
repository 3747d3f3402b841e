/*
 * jread.h - the one typed JSON reader: every file the gateway reads as
 * configuration (gatewayd's config, adapters, ...) goes through it, so
 * every refusal reads the same way: "FILE: FIELD: PROBLEM".
 *
 * The one idea: an accessor is given the dotted path of the object it reads
 * from (`at`) and the member's name, so the failure it records names the
 * exact field ("adapters/mps.json: endpoint.allow_addresses[1]: ...").  Only
 * the first failure is kept: once `failed` is set, later calls record
 * nothing and return their default, so a reader can read a whole object and
 * look at `failed` once.  Strings are refused when empty, too long, or
 * holding control characters (NUL included); numbers when out of range or of
 * the wrong JSON type; objects when they hold members nobody reads (the
 * message lists the members that are known there).
 */
#ifndef GW_JREAD_H
#define GW_JREAD_H

#include <stddef.h>

#include <jansson.h>

/* Longest dotted field path a message names (longer ones are cut). */
#define GW_JREAD_FIELD_MAX 512

struct gw_jread {
  const char *file;            /* FILE in messages (borrowed) */
  char *err;                   /* where the first failure is written */
  size_t errlen;
  int failed;                  /* set by the first gw_jread_fail */
};

/* Records "FILE: FIELD: PROBLEM" in r->err unless a failure was recorded. */
void gw_jread_fail(struct gw_jread *r, const char *field, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));

/* "at.key" (or "key" when at is NULL or empty) into out[0..len). */
void gw_jread_join(char *out, size_t len, const char *at, const char *key);
/* "at[i]" into out[0..len). */
void gw_jread_index(char *out, size_t len, const char *at, size_t i);

/* Fails (and returns -1) on the first member of obj not in `known`
 * (NULL-terminated); the message lists the known members. */
int gw_jread_unknown(struct gw_jread *r, json_t *obj, const char *at,
                     const char *const *known);

/* The member `key` of obj (borrowed), or NULL: absent (a failure only when
 * required) or of the wrong type (always a failure). */
json_t *gw_jread_object(struct gw_jread *r, json_t *obj, const char *at, const char *key,
                        int required);
/* v itself (borrowed) if it is an object, else NULL (a failure naming
 * `field`): for the items of an array. */
json_t *gw_jread_object_value(struct gw_jread *r, json_t *v, const char *field);
/* A non-empty array of at most `max` items. */
json_t *gw_jread_array(struct gw_jread *r, json_t *obj, const char *at, const char *key,
                       int required, size_t max);

/* The text of string value v (borrowed) if it is a non-empty string of at
 * most `max` bytes without control characters; else NULL (a failure naming
 * `field`). */
const char *gw_jread_string_value(struct gw_jread *r, json_t *v, const char *field, size_t max);
/* A copy (gw_free it) of the string member `key`, or NULL (absent and not
 * required, or a failure). */
char *gw_jread_string(struct gw_jread *r, json_t *obj, const char *at, const char *key,
                      int required, size_t max);

/* The integer, number or boolean member `key`; `dflt` when absent or on a
 * failure (wrong type, outside [min, max], not finite). */
long long gw_jread_int(struct gw_jread *r, json_t *obj, const char *at, const char *key,
                       long long dflt, long long min, long long max);
double gw_jread_number(struct gw_jread *r, json_t *obj, const char *at, const char *key,
                       double dflt, double min, double max);
int gw_jread_bool(struct gw_jread *r, json_t *obj, const char *at, const char *key, int dflt);

#endif
