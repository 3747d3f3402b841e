/*
 * gw/template.h - request templates: an adapter's body, header and query
 * strings with {{placeholders}}, expanded and escaped for one context.
 *
 * A template is literal text (written by an agency IT team, trusted as far
 * as the adapter file is) with placeholders {{subject.id}}, {{subject.name}},
 * {{request_id}} and {{now}} (spaces or tabs around the name allowed).  Only
 * the placeholder values come from a request, and each value is escaped for
 * the context the template is used in, or refused when the context cannot
 * carry it.  A stray "}}" outside a placeholder is literal text (a JSON
 * body ends with "}}" whenever two objects close); "{{" always opens one.
 *
 * Contexts:
 *   GW_ESC_XML     XML character data or attribute value: & < > " ' become
 *                  entity references; tab, LF and CR become &#x9; &#xA;
 *                  &#xD; (so they survive attribute-value normalization);
 *                  other characters XML 1.0 forbids (C0 controls, U+FFFE,
 *                  U+FFFF) are refused.  A placeholder inside a CDATA
 *                  section or a comment of the template is refused too.
 *   GW_ESC_JSON    JSON string content (the template supplies the quotes):
 *                  \" \\ and \u00XX for every C0 control, \u2028 \u2029.
 *   GW_ESC_URL     RFC 3986 percent-encoding (uppercase hex) of every byte
 *                  of the UTF-8 encoding except the unreserved characters
 *                  A-Z a-z 0-9 - . _ ~; for query values and path segments.
 *   GW_ESC_HEADER  a header field value: copied as is, but CR, LF, NUL and
 *                  every other control except tab are refused, in the value
 *                  and in the template's literal text alike.
 * In every context a value must be valid UTF-8 (no overlongs, no
 * surrogates) and must not contain NUL: no legitimate value holds one and
 * C code downstream would truncate at it.
 *
 * Nothing here allocates except the result, logs, or keeps state.
 */
#ifndef GW_TEMPLATE_H
#define GW_TEMPLATE_H

#include <stddef.h>
#include <time.h>

/* Cap on one expanded template (body, header value or query value). */
#define GW_TEMPLATE_MAX_OUTPUT (64u * 1024u)
/* Cap on one placeholder value before escaping. */
#define GW_TEMPLATE_MAX_VALUE 1024u
/* Cap on a template itself (the loader refuses longer ones). */
#define GW_TEMPLATE_MAX_TEMPLATE (32u * 1024u)

enum gw_esc {
  GW_ESC_XML = 0,
  GW_ESC_JSON,
  GW_ESC_URL,
  GW_ESC_HEADER
};

enum gw_template_result {
  GW_TEMPLATE_OK = 0,
  GW_TEMPLATE_SYNTAX,          /* unterminated or malformed placeholder,
                                * placeholder in CDATA/comment, template
                                * too long, control in a header template */
  GW_TEMPLATE_UNKNOWN,         /* a placeholder name we do not know */
  GW_TEMPLATE_MISSING,         /* a placeholder whose value is NULL */
  GW_TEMPLATE_BAD_UTF8,        /* a value is not valid UTF-8 */
  GW_TEMPLATE_FORBIDDEN_CHAR,  /* a value holds a character the context
                                * cannot carry (NUL, CR/LF in a header...) */
  GW_TEMPLATE_TOO_LARGE        /* a value or the output exceeds its cap */
};

/* The values placeholders stand for.  Pointers are borrowed for the call. */
struct gw_template_values {
  const char *subject_id;      /* {{subject.id}}: normalized GB 11643 number,
                                * NUL-terminated */
  const char *subject_name;    /* {{subject.name}}: UTF-8, exactly
                                * subject_name_len bytes (not terminated) */
  size_t subject_name_len;
  const char *request_id;      /* {{request_id}}: NUL-terminated */
  time_t now;                  /* {{now}}: RFC 3339 UTC, whole seconds,
                                * "2026-11-28T08:30:00Z" */
};

/* Expands `tmpl` (NUL-terminated) with `v`, escaped for `esc`.  On success
 * returns GW_TEMPLATE_OK and sets *out to a NUL-terminated string of *out_len
 * bytes, which the caller owns and frees with gw_free(); out_len may be NULL.
 * On error *out is NULL and err (may be NULL when errlen is 0) holds a short
 * English reason naming the placeholder and offset, never the value itself
 * (it may be personal data). */
enum gw_template_result gw_template_expand(const char *tmpl, enum gw_esc esc,
                                           const struct gw_template_values *v,
                                           char **out, size_t *out_len,
                                           char *err, size_t errlen)
  __attribute__((warn_unused_result));

/* Checks `tmpl`'s placeholders without expanding it (for the adapter
 * loader): every "{{" closed, every name known, the template within
 * GW_TEMPLATE_MAX_TEMPLATE.  Returns 0 when fine, -1 with a reason such as
 * "unknown placeholder {{subject.age}} at offset 12" in err. */
int gw_template_check(const char *tmpl, char *err, size_t errlen)
  __attribute__((warn_unused_result));

/* A short English description of a result.  Static storage; never NULL. */
const char *gw_template_strerror(enum gw_template_result r);

#endif
