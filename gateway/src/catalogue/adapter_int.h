/*
 * adapter_int.h - internals of the adapter definition loader, shared by its
 * five files:
 *
 *   adapter_load.c   the entry points and every section of the file except
 *                    the mapping, read in a fixed order
 *   adapter_read.c   typed member accessors that know the dotted path of
 *                    what they read
 *   adapter_spec.c   value-specs, the mapping, the response rules and
 *                    the subject binding
 *   adapter_files.c  file paths, PEM certificates and keys, secrets
 *   adapter_check.c  syntax checks (templates, URLs, CIDRs, pins, JSON
 *                    Pointers, XPath, request bodies) with no knowledge of
 *                    which field the checked text came from
 *
 * The one idea: every problem is reported once, as "FILE: FIELD: PROBLEM",
 * by the first check that finds it (struct gw_adl's jr.failed makes later
 * reports no-ops), and nothing a check prints ever includes a secret.
 * The syntax checks return 0 or -1 and describe the problem in `why`
 * (no field, no file); the reader prefixes both.
 */
#ifndef GW_ADAPTER_INT_H
#define GW_ADAPTER_INT_H

#include <stddef.h>

#include <jansson.h>
#include <libxml/xpath.h>

#include "gw/adapter.h"
#include "jread.h"
#include "netspec.h"

/* Longest dotted field path we print; deeper paths are cut, never overrun. */
#define GW_ADL_FIELD_MAX GW_JREAD_FIELD_MAX

/* One load in progress. */
struct gw_adl {
  struct gw_jread jr;          /* FILE in messages, the first failure */
  const char *base_dir;        /* resolves relative paths; NULL: refuse them */
  struct gw_adapter *a;        /* being filled; owned by the caller */
  xmlXPathContextPtr xpath;    /* XML protocols: namespaces registered */
  int xpath_code;              /* last XPath compile error (libxml2 code) */
  int xpath_pos;               /* and its character offset */
  size_t spec_nodes;           /* value-spec nodes read so far */
};

/* The typed accessors are base's one JSON reader (jread.h) applied to the
 * loader's state; these forward to it.  gw_adl_fail records
 * "FILE: FIELD: PROBLEM" unless an earlier problem was recorded. */
#define gw_adl_fail(r, ...) gw_jread_fail(&(r)->jr, __VA_ARGS__)
#define gw_adl_join gw_jread_join
#define gw_adl_index gw_jread_index

__attribute__((warn_unused_result))
static inline int gw_adl_unknown(struct gw_adl *r, json_t *obj, const char *at,
                                 const char *const *known)
{ return gw_jread_unknown(&r->jr, obj, at, known); }
static inline json_t *gw_adl_object(struct gw_adl *r, json_t *obj, const char *at,
                                    const char *key, int required)
{ return gw_jread_object(&r->jr, obj, at, key, required); }
static inline json_t *gw_adl_array(struct gw_adl *r, json_t *obj, const char *at,
                                   const char *key, int required, size_t max)
{ return gw_jread_array(&r->jr, obj, at, key, required, max); }
static inline char *gw_adl_string(struct gw_adl *r, json_t *obj, const char *at,
                                  const char *key, int required, size_t max)
{ return gw_jread_string(&r->jr, obj, at, key, required, max); }
static inline const char *gw_adl_string_value(struct gw_adl *r, json_t *v, const char *field,
                                              size_t max)
{ return gw_jread_string_value(&r->jr, v, field, max); }
static inline long long gw_adl_int(struct gw_adl *r, json_t *obj, const char *at,
                                   const char *key, long long dflt, long long min, long long max)
{ return gw_jread_int(&r->jr, obj, at, key, dflt, min, max); }
static inline double gw_adl_number(struct gw_adl *r, json_t *obj, const char *at,
                                   const char *key, double dflt, double min, double max)
{ return gw_jread_number(&r->jr, obj, at, key, dflt, min, max); }
static inline int gw_adl_bool(struct gw_adl *r, json_t *obj, const char *at,
                              const char *key, int dflt)
{ return gw_jread_bool(&r->jr, obj, at, key, dflt); }

/* A string member that must be one of `names` (NULL-terminated); its
 * index, or -1 after a failure ("must be one of SHOWN (got \"x\")"). */
int gw_adl_choice(struct gw_adl *r, json_t *obj, const char *at, const char *key,
                  const char *const *names, const char *shown)
  __attribute__((warn_unused_result));

/* HTTP status codes (100..599, no repeats) from a non-empty array checked
 * for size by the caller; returns how many went into out. */
size_t gw_adl_status(struct gw_adl *r, json_t *arr, const char *field, int *out);

/* Checks an expression (XPath for XML protocols, JSON Pointer otherwise)
 * and fails naming `field`.  `relative`: a list item's path (an XPath must
 * not start with '/'; a pointer may be "" for the item itself). */
void gw_adl_expr(struct gw_adl *r, const char *expr, const char *field, int relative);

/* --- adapter_spec.c ------------------------------------------------------ */

/* Reads "mapping" into r->a->mappings, one per fact of r->a->facts. */
void gw_adl_read_mapping(struct gw_adl *r, json_t *root);
/* Reads response.not_found / response.fault into *rule. */
void gw_adl_read_rule(struct gw_adl *r, json_t *response, const char *key,
                      struct gw_result_rule *rule);
/* Reads response.subject into r->a->subject_path / subject_form. */
void gw_adl_read_subject(struct gw_adl *r, json_t *response);
/* Frees a value-spec tree (NULL is fine). */
void gw_adl_spec_free(struct gw_value_spec *s);

/* --- adapter_files.c ----------------------------------------------------- */

/* Member `key` as a readable file path resolved against r->base_dir (a new
 * string, the caller's); NULL when absent (a failure when `required`). */
char *gw_adl_path(struct gw_adl *r, json_t *obj, const char *at,
                  const char *key, int required);
/* Reads `path` (at most `max` bytes) into a new NUL-terminated buffer, the
 * caller's; fails naming `field` and returns NULL on error. */
/* Opens `path` for reading only if it is a regular file, without ever
 * blocking on a FIFO or a device (O_NONBLOCK until the type is known).
 * NULL with errno set (EINVAL: not a regular file). */
FILE *gw_adl_fopen_regular(const char *path);

char *gw_adl_slurp(struct gw_adl *r, const char *path, size_t max,
                   const char *field, size_t *len);
/* Checks that `path` holds at least one PEM X.509 certificate (all of them
 * parse).  Returns the file's text (the caller's) when `want_text`, else
 * NULL after success too; r->failed tells. */
char *gw_adl_cert_file(struct gw_adl *r, const char *path, const char *field,
                       int want_text);
/* Checks that key_path holds an unencrypted PEM private key matching the
 * first certificate in cert_path. */
void gw_adl_key_matches(struct gw_adl *r, const char *key_path,
                        const char *cert_path, const char *field);
/* Checks that `path` holds a PEM EC P-256 public key (what ES256 needs) and
 * returns its text (the caller's), or NULL after a failure. */
char *gw_adl_es256_public_key(struct gw_adl *r, const char *path, const char *field);
/* Member `key` as a secret reference ("env:NAME" or "file:PATH") resolved
 * to its value: a new string the caller must OPENSSL_cleanse and free.
 * NULL when absent (a failure when `required`) or invalid.  Messages never
 * contain the value, nor a literal secret written in the file. */
char *gw_adl_secret(struct gw_adl *r, json_t *obj, const char *at,
                    const char *key, int required);

/* --- adapter_auth.c ------------------------------------------------------ */

/* Members of auth for the two signing schemes (gw/sigauth.h). */
#define GW_ADL_SIGNED_MEMBERS "app_id", "secret", "headers", "canonical", \
                              "timestamp_format", "encoding"
#define GW_ADL_WSSE_MEMBERS "username", "password"

/* auth of type signed_headers / wsse_username_token, into a->signed_auth /
 * a->wsse (request and protocol already read). */
void gw_adl_read_signed(struct gw_adl *r, json_t *auth);
void gw_adl_read_wsse(struct gw_adl *r, json_t *auth);

/* Why a header name may not be set by an adapter (framing, Content-Type,
 * credentials), or NULL when it may (adapter_load.c). */
const char *gw_adl_header_refused(const char *name);

/* --- adapter_check.c ----------------------------------------------------- */

/* Placeholders a template may use, for messages. */
#define GW_ADL_PLACEHOLDERS "{{subject.id}}, {{subject.name}}, {{request_id}}, {{now}}"

/* Where a template is used: decides whether a lone "}}" is text. */
enum gw_adl_tmpl {
  GW_ADL_TMPL_STRICT = 0,      /* headers, query, URL, XML bodies */
  GW_ADL_TMPL_JSON             /* JSON bodies, where "}}" closes objects */
};

/* A template uses only known placeholders, every "{{" closes, and (strict)
 * no "}}" stands alone.  *n_placeholders counts them. */
int gw_adl_check_template(const char *s, enum gw_adl_tmpl kind,
                          size_t *n_placeholders, char *why, size_t n)
  __attribute__((warn_unused_result));

/* A request body: well-formed XML (a SOAP Envelope of the right version for
 * soap11/soap12, no DOCTYPE) or JSON once placeholders are filled in, with
 * every placeholder inside element text, an attribute value or a JSON
 * string value. */
int gw_adl_check_body(const char *tmpl, enum gw_protocol p, char *why, size_t n)
  __attribute__((warn_unused_result));

/* An https:// URL with a host and no userinfo, fragment or NUL/space;
 * placeholders (already checked with gw_adl_check_template) only in the path
 * when `templates`, refused otherwise.  The host goes to host[hostlen]
 * (IPv6 without brackets). */
int gw_adl_check_url(const char *url, int templates, char *host, size_t hostlen,
                     char *why, size_t n)
  __attribute__((warn_unused_result));

/* Address blocks and pins are read with base's one parser (netspec.h):
 * gw_net_cidr_parse(s, GW_NET_CIDR_STRICT, ...) and gw_net_pins_check. */

/* An HTTP header name (RFC 9110 token). */
int gw_adl_is_token(const char *s);

/* RFC 6901 JSON Pointer: "" or "/"-separated, '~' only as "~0" or "~1". */
int gw_adl_check_pointer(const char *s, char *why, size_t n)
  __attribute__((warn_unused_result));

/* The JSON-side rule test: "POINTER == \"value\"" or "POINTER exists",
 * exactly as gw/mapping.h runs it (pointer starting with '/', value in
 * double quotes with only \" and \\ as escapes, at most this long). */
#define GW_ADL_TEST_VALUE_MAX 256
int gw_adl_check_json_test(const char *s, char *why, size_t n)
  __attribute__((warn_unused_result));

/* XPath 1.0 that compiles in `ctx` (which holds the declared namespaces),
 * uses only declared prefixes (or "xml"), only core XPath 1.0 functions and
 * no variables; `relative`: must not start with '/'.  `code`/`pos` receive
 * libxml2's error when it fails to compile (ctx->error must be a handler
 * storing them; gw_adl_xpath_context sets one up). */
int gw_adl_check_xpath(struct gw_adl *r, const char *expr, int relative,
                       char *why, size_t n)
  __attribute__((warn_unused_result));

/* A fresh XPath context with r->a's namespaces registered and libxml2's
 * errors routed into r (never to stderr).  NULL only if libxml2 fails. */
xmlXPathContextPtr gw_adl_xpath_context(struct gw_adl *r);

/* NCName (XML namespaces), ASCII subset: [A-Za-z_][A-Za-z0-9._-]*. */
int gw_adl_is_ncname(const char *s);

#endif
