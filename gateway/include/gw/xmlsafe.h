/*
 * gw/xmlsafe.h - hardened parsing of XML that an agency sent us.
 *
 * Agency responses are parsed into a libxml2 tree with every feature that
 * reaches outside the document switched off, and with the size of the tree
 * bounded while it is built:
 *   - any DOCTYPE is refused the moment the parser sees it (before an
 *     internal subset is read), so external entities (XXE), parameter
 *     entities and entity expansion ("billion laughs") never happen; no
 *     agency has a reason to send a DTD;
 *   - no network access, no entity substitution, no DTD loading, defaulting
 *     or validation, no XInclude, no XML_PARSE_HUGE;
 *   - a byte cap, an element nesting depth cap and a node cap (elements,
 *     attributes, comments, PIs; text nodes are bounded by the element
 *     count), all enforced by SAX hooks that stop the parser, never after
 *     the fact on a tree that already ate the memory;
 *   - the encoding declared in the XML declaration is honoured (GB18030 and
 *     the other iconv encodings included); bytes that do not decode are an
 *     error, never replaced.
 * libxml2 never writes to stderr from here: parser errors go to a handler
 * on the parser context, and errors libxml2 raises without a context (the
 * encoding layer) to a thread-local handler installed only for the
 * duration of the call and restored afterwards.  The first message is kept
 * for the error detail.
 */
#ifndef GW_XMLSAFE_H
#define GW_XMLSAFE_H

#include <stddef.h>

#include <libxml/tree.h>
#include <libxml/xmlerror.h>

/* Hard ceilings; a caller's struct gw_xml_limits can only lower them. */
#define GW_XML_MAX_BYTES (8u * 1024u * 1024u)
#define GW_XML_MAX_DEPTH 64u
#define GW_XML_MAX_NODES 100000u

enum gw_xml_result {
  GW_XML_OK = 0,
  GW_XML_MALFORMED,            /* not well-formed XML, not namespace-
                                * well-formed (undeclared prefix), empty */
  GW_XML_DOCTYPE_FORBIDDEN,    /* a DOCTYPE / DTD declaration of any kind */
  GW_XML_TOO_DEEP,             /* element nesting beyond max_depth */
  GW_XML_TOO_LARGE,            /* more than max_bytes */
  GW_XML_TOO_MANY_NODES,       /* more than max_nodes */
  GW_XML_ENCODING              /* unknown encoding or bytes that do not
                                * decode in the declared one */
};

/* Per-call limits; a zero member means "the ceiling above", and a member
 * above its ceiling is lowered to it. */
struct gw_xml_limits {
  size_t max_bytes;
  unsigned max_depth;
  size_t max_nodes;
};

/* Initializes libxml2 once per process.  Call it from the main thread
 * before worker threads start; gw_xml_parse also calls it (through
 * pthread_once), so tests and tools need not. */
void gw_xml_init(void);

/* Parses buf[0..len) under `lim` (NULL = the ceilings).  On success returns
 * GW_XML_OK and sets *out to a document the caller owns and frees with
 * xmlFreeDoc().  On error *out is NULL and err (may be NULL when errlen is
 * 0) holds a one-line reason: libxml2's first message with its line for
 * GW_XML_MALFORMED / GW_XML_ENCODING, the limit for the others.  Safe to
 * call from several threads at once. */
enum gw_xml_result gw_xml_parse(const void *buf, size_t len, const struct gw_xml_limits *lim,
                                xmlDoc **out, char *err, size_t errlen)
  __attribute__((warn_unused_result));

/* libxml2's thread-local error handlers, saved by gw_xml_errors_redirect.
 * Only a save area: callers never read or set the members. */
struct gw_xml_errors {
  xmlStructuredErrorFunc structured;
  void *structured_data;
  xmlGenericErrorFunc generic;
  void *generic_data;
};

/* For the duration of some libxml2 work on this thread, sends structured
 * errors raised without a parser or XPath context to fn(data, error) (fn
 * NULL: discard them) and discards generic (printf-style) messages, after
 * saving the current handlers in *saved.  Pair every call with
 * gw_xml_errors_restore(saved) on the same thread; pairs nest. */
void gw_xml_errors_redirect(struct gw_xml_errors *saved, xmlStructuredErrorFunc fn, void *data);
void gw_xml_errors_restore(const struct gw_xml_errors *saved);

/* A short snake_case name of a result ("doctype_forbidden"), for logs and
 * problem details.  Static storage; never NULL. */
const char *gw_xml_strerror(enum gw_xml_result r);

#endif
