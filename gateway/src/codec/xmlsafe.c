/*
 * xmlsafe.c - hardened libxml2 parsing of agency responses.
 *
 * The one idea: enforce every limit while the tree is being built, from SAX
 * hooks wrapped around libxml2's own tree builder, and stop the parser the
 * moment one is crossed.  A DOCTYPE stops it in the internalSubset hook,
 * which libxml2 calls after reading the DOCTYPE name and external id and
 * before the first declaration of an internal subset, so not one entity is
 * ever declared, let alone expanded or fetched.  After the parse the result
 * is decided by our own state first (a stopped parse may still look
 * well-formed to libxml2, which suppresses errors after a stop), then by
 * libxml2's verdict.
 *
 * Errors: the parser context's structured handler (sax->serror) receives
 * every parser-domain error with the context, so it is per call and
 * thread-safe by construction.  Errors raised without a context (the
 * encoding layer) go to libxml2's structured handler, which is thread-local
 * in a threaded libxml2: we install ours around the parse and restore the
 * previous one, so other users on the same thread (xmlsec) are undisturbed.
 */
#include "gw/xmlsafe.h"
#include "msg.h"

#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/SAX2.h>
#include <libxml/xmlerror.h>

#define STATE_MAGIC 0x584d4c53u /* "XMLS" */

/* Options: no NOENT, DTDLOAD, DTDATTR, DTDVALID, XINCLUDE or HUGE, ever. */
#define PARSE_OPTIONS (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)

/* Longest libxml2 message kept for the error detail. */
#define FIRST_MSG_MAX 200

struct parse_state {
  unsigned magic;
  unsigned depth;
  unsigned max_depth;
  size_t nodes;
  size_t max_nodes;
  enum gw_xml_result stop;        /* GW_XML_OK unless a hook stopped us */
  int have_error;
  int first_domain;
  int first_code;
  int first_line;
  char first_msg[FIRST_MSG_MAX];
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init_libxml(void)
{
  xmlInitParser();
}

void gw_xml_init(void)
{
  pthread_once(&init_once, init_libxml);
}

static void discard_generic(void *ctx, const char *msg, ...)
  __attribute__((format(printf, 2, 3)));

static void discard_generic(void *ctx, const char *msg, ...)
{
  (void)ctx;
  (void)msg;
}

static void discard_structured(void *ctx, xmlErrorPtr e)
{
  (void)ctx;
  (void)e;
}

void gw_xml_errors_redirect(struct gw_xml_errors *saved, xmlStructuredErrorFunc fn, void *data)
{
  saved->structured = xmlStructuredError;
  saved->structured_data = xmlStructuredErrorContext;
  saved->generic = xmlGenericError;
  saved->generic_data = xmlGenericErrorContext;
  xmlSetStructuredErrorFunc(data, fn ? fn : discard_structured);
  xmlSetGenericErrorFunc(NULL, discard_generic);
}

void gw_xml_errors_restore(const struct gw_xml_errors *saved)
{
  xmlSetStructuredErrorFunc(saved->structured_data, saved->structured);
  xmlSetGenericErrorFunc(saved->generic_data, saved->generic);
}

static struct parse_state *state_of(void *ctx)
{
  xmlParserCtxtPtr ctxt = ctx;
  struct parse_state *st = ctxt->_private;
  return st && st->magic == STATE_MAGIC ? st : NULL;
}

/* Ends the parse with `why`; libxml2 sees a user stop and calls no more
 * hooks. */
static void stop(void *ctx, enum gw_xml_result why)
{
  xmlParserCtxtPtr ctxt = ctx;
  struct parse_state *st = state_of(ctx);
  if(st && st->stop == GW_XML_OK)
    st->stop = why;
  ctxt->wellFormed = 0;
  xmlStopParser(ctxt);
}

static void record_error(struct parse_state *st, const xmlError *e)
{
  size_t n;
  if(!st || st->have_error || !e || e->level < XML_ERR_ERROR)
    return;
  st->have_error = 1;
  st->first_domain = e->domain;
  st->first_code = e->code;
  st->first_line = e->line;
  snprintf(st->first_msg, sizeof(st->first_msg), "%s", e->message ? e->message : "error");
  /* libxml2 messages may span lines ("...encoding !\nBytes: 0xC3 0x28");
   * details are one line */
  for(char *p = st->first_msg; *p; p++)
    if(*p == '\n' || *p == '\r' || *p == '\t')
      *p = ' ';
  n = strlen(st->first_msg);
  while(n && st->first_msg[n - 1] == ' ')
    st->first_msg[--n] = '\0';
}

/* sax->serror: called with ctxt->userData, which is the parser context. */
static void on_parser_error(void *ctx, xmlErrorPtr e)
{
  record_error(state_of(ctx), e);
}

/* The thread-local structured handler: called with our state directly. */
static void on_global_error(void *data, xmlErrorPtr e)
{
  struct parse_state *st = data;
  if(st && st->magic == STATE_MAGIC)
    record_error(st, e);
}

static void hook_internal_subset(void *ctx, const xmlChar *name, const xmlChar *ext_id,
                                 const xmlChar *sys_id)
{
  (void)name;
  (void)ext_id;
  (void)sys_id;
  stop(ctx, GW_XML_DOCTYPE_FORBIDDEN);
}

static void hook_external_subset(void *ctx, const xmlChar *name, const xmlChar *ext_id,
                                 const xmlChar *sys_id)
{
  (void)name;
  (void)ext_id;
  (void)sys_id;
  stop(ctx, GW_XML_DOCTYPE_FORBIDDEN);
}

static void hook_entity_decl(void *ctx, const xmlChar *name, int type, const xmlChar *pub,
                             const xmlChar *sys, xmlChar *content)
{
  (void)name;
  (void)type;
  (void)pub;
  (void)sys;
  (void)content;
  stop(ctx, GW_XML_DOCTYPE_FORBIDDEN);
}

/* Counts one more node; 0 when the parse may go on. */
static int count_nodes(void *ctx, size_t n)
{
  struct parse_state *st = state_of(ctx);
  if(!st)
    return 0;
  if(n > st->max_nodes - st->nodes) {
    stop(ctx, GW_XML_TOO_MANY_NODES);
    return -1;
  }
  st->nodes += n;
  return 0;
}

static void hook_start_element(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                               const xmlChar *uri, int nb_namespaces,
                               const xmlChar **namespaces, int nb_attributes,
                               int nb_defaulted, const xmlChar **attributes)
{
  struct parse_state *st = state_of(ctx);
  if(st && ++st->depth > st->max_depth) {
    stop(ctx, GW_XML_TOO_DEEP);
    return;
  }
  if(count_nodes(ctx, 1 + (size_t)(nb_attributes > 0 ? nb_attributes : 0)))
    return;
  xmlSAX2StartElementNs(ctx, localname, prefix, uri, nb_namespaces, namespaces,
                        nb_attributes, nb_defaulted, attributes);
}

static void hook_end_element(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                             const xmlChar *uri)
{
  struct parse_state *st = state_of(ctx);
  if(st && st->depth)
    st->depth--;
  xmlSAX2EndElementNs(ctx, localname, prefix, uri);
}

static void hook_comment(void *ctx, const xmlChar *value)
{
  if(!count_nodes(ctx, 1))
    xmlSAX2Comment(ctx, value);
}

static void hook_pi(void *ctx, const xmlChar *target, const xmlChar *data)
{
  if(!count_nodes(ctx, 1))
    xmlSAX2ProcessingInstruction(ctx, target, data);
}

static void hook_cdata(void *ctx, const xmlChar *value, int len)
{
  if(!count_nodes(ctx, 1))
    xmlSAX2CDataBlock(ctx, value, len);
}

static int is_encoding_error(int domain, int code)
{
  return domain == XML_FROM_I18N || code == XML_ERR_UNKNOWN_ENCODING ||
         code == XML_ERR_UNSUPPORTED_ENCODING || code == XML_ERR_INVALID_ENCODING ||
         code == XML_ERR_ENCODING_NAME || code == XML_ERR_INVALID_CHAR;
}

static void clamp_limits(const struct gw_xml_limits *lim, struct gw_xml_limits *out)
{
  out->max_bytes = GW_XML_MAX_BYTES;
  out->max_depth = GW_XML_MAX_DEPTH;
  out->max_nodes = GW_XML_MAX_NODES;
  if(!lim)
    return;
  if(lim->max_bytes && lim->max_bytes < out->max_bytes)
    out->max_bytes = lim->max_bytes;
  if(lim->max_depth && lim->max_depth < out->max_depth)
    out->max_depth = lim->max_depth;
  if(lim->max_nodes && lim->max_nodes < out->max_nodes)
    out->max_nodes = lim->max_nodes;
}

enum gw_xml_result gw_xml_parse(const void *buf, size_t len, const struct gw_xml_limits *lim,
                                xmlDoc **out, char *err, size_t errlen)
{
  struct parse_state st;
  struct gw_xml_limits l;
  xmlParserCtxtPtr ctxt = NULL;
  struct gw_xml_errors saved;
  xmlDocPtr doc = NULL;
  enum gw_xml_result r = GW_XML_MALFORMED;

  *out = NULL;
  gw_xml_init();
  clamp_limits(lim, &l);
  if(len > l.max_bytes || len > INT_MAX) {
    gw_msg_set(err, errlen, "document of %zu bytes exceeds the cap of %zu", len, l.max_bytes);
    return GW_XML_TOO_LARGE;
  }
  if(!buf || !len) {
    gw_msg_set(err, errlen, "empty document");
    return GW_XML_MALFORMED;
  }

  memset(&st, 0, sizeof(st));
  st.magic = STATE_MAGIC;
  st.max_depth = l.max_depth;
  st.max_nodes = l.max_nodes;
  st.stop = GW_XML_OK;

  gw_xml_errors_redirect(&saved, on_global_error, &st);

  ctxt = xmlNewParserCtxt();
  if(!ctxt) {
    gw_msg_set(err, errlen, "cannot create an XML parser context");
    goto out;
  }
  ctxt->_private = &st;
  ctxt->sax->serror = on_parser_error;
  ctxt->sax->internalSubset = hook_internal_subset;
  ctxt->sax->externalSubset = hook_external_subset;
  ctxt->sax->entityDecl = hook_entity_decl;
  ctxt->sax->startElementNs = hook_start_element;
  ctxt->sax->endElementNs = hook_end_element;
  ctxt->sax->comment = hook_comment;
  ctxt->sax->processingInstruction = hook_pi;
  ctxt->sax->cdataBlock = hook_cdata;

  doc = xmlCtxtReadMemory(ctxt, buf, (int)len, NULL, NULL, PARSE_OPTIONS);

  if(st.stop != GW_XML_OK) {
    r = st.stop;
    if(r == GW_XML_DOCTYPE_FORBIDDEN)
      gw_msg_set(err, errlen, "document has a DOCTYPE (line %d); DTDs are refused",
               ctxt->input ? ctxt->input->line : 0);
    else if(r == GW_XML_TOO_DEEP)
      gw_msg_set(err, errlen, "elements nested deeper than %u", l.max_depth);
    else
      gw_msg_set(err, errlen, "document has more than %zu nodes", l.max_nodes);
    goto out;
  }
  /* namespace errors (an undeclared prefix) leave libxml2's wellFormed set,
   * but XPath over such a tree would silently miss: refuse them too */
  if(!doc || !ctxt->wellFormed || !ctxt->nsWellFormed) {
    if(st.have_error && is_encoding_error(st.first_domain, st.first_code))
      r = GW_XML_ENCODING;
    else
      r = GW_XML_MALFORMED;
    if(st.have_error && st.first_line > 0)
      gw_msg_set(err, errlen, "line %d: %s", st.first_line, st.first_msg);
    else if(st.have_error)
      gw_msg_set(err, errlen, "%s", st.first_msg);
    else
      gw_msg_set(err, errlen, "not well-formed XML");
    goto out;
  }
  if(doc->intSubset || doc->extSubset) {
    r = GW_XML_DOCTYPE_FORBIDDEN;
    gw_msg_set(err, errlen, "document has a DOCTYPE; DTDs are refused");
    goto out;
  }
  *out = doc;
  doc = NULL;
  r = GW_XML_OK;

out:
  if(doc)
    xmlFreeDoc(doc);
  if(ctxt) {
    ctxt->_private = NULL;
    xmlFreeParserCtxt(ctxt);
  }
  gw_xml_errors_restore(&saved);
  return r;
}

const char *gw_xml_strerror(enum gw_xml_result r)
{
  switch(r) {
  case GW_XML_OK: return "ok";
  case GW_XML_MALFORMED: return "malformed";
  case GW_XML_DOCTYPE_FORBIDDEN: return "doctype_forbidden";
  case GW_XML_TOO_DEEP: return "too_deep";
  case GW_XML_TOO_LARGE: return "too_large";
  case GW_XML_TOO_MANY_NODES: return "too_many_nodes";
  case GW_XML_ENCODING: return "encoding";
  }
  return "unknown";
}
