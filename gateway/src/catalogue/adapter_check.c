/*
 * adapter_check.c - syntax checks for the text an adapter file holds:
 * templates, request bodies, URLs, address blocks, key pins, header names,
 * JSON Pointers, the JSON rule test, and XPath expressions.
 *
 * The one idea: each check knows a single grammar and describes what is
 * wrong in words an agency IT team can act on ("unknown placeholder
 * \"{{subject.idd}}\""), without knowing which field the text came from;
 * the loader adds "FILE: FIELD: ".  Checks are strict where the runtime
 * would otherwise guess: a request body must parse once its placeholders
 * are filled in, and each placeholder must sit where its escaping is right
 * (XML text or attribute value, JSON string value).  None of these checks
 * ever sees a secret.
 */
#include "adapter_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpathInternals.h>

#include "gw/alloc.h"
#include "netspec.h"

static const char *const placeholders[] = {
  "subject.id", "subject.name", "request_id", "now", NULL
};

/* Stands in for every placeholder when a body is parsed: plain letters, so
 * it is valid wherever text is, and unlikely to occur by itself. */
#define MARK "gwPlaceholder7q"

static void say(char *why, size_t n, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));

static void say(char *why, size_t n, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, n, fmt, ap);
  va_end(ap);
}

int gw_adl_check_template(const char *s, enum gw_adl_tmpl kind,
                          size_t *n_placeholders, char *why, size_t n)
{
  size_t count = 0;
  const char *p = s;

  while(*p) {
    if(p[0] == '{' && p[1] == '{') {
      const char *name = p + 2;
      const char *end = strstr(name, "}}");
      size_t len;
      int known = 0;
      if(!end) {
        say(why, n, "unbalanced \"{{\" at character %zu (no closing \"}}\")",
            (size_t)(p - s) + 1);
        return -1;
      }
      len = (size_t)(end - name);
      {
        /* blanks around the name are allowed, as gw/template.h reads it */
        const char *w = name;
        size_t wl = len;
        while(wl && (*w == ' ' || *w == '\t')) {
          w++;
          wl--;
        }
        while(wl && (w[wl - 1] == ' ' || w[wl - 1] == '\t'))
          wl--;
        for(const char *const *k = placeholders; *k; k++)
          if(strlen(*k) == wl && !memcmp(*k, w, wl))
            known = 1;
      }
      if(!known) {
        say(why, n, "unknown placeholder \"{{%.*s}}\" (known: %s)",
            (int)(len > 40 ? 40 : len), name, GW_ADL_PLACEHOLDERS);
        return -1;
      }
      count++;
      p = end + 2;
      continue;
    }
    if(kind == GW_ADL_TMPL_STRICT && p[0] == '}' && p[1] == '}') {
      say(why, n, "unbalanced \"}}\" at character %zu (no opening \"{{\")",
          (size_t)(p - s) + 1);
      return -1;
    }
    p++;
  }
  if(n_placeholders)
    *n_placeholders = count;
  return 0;
}

/* The template with every placeholder replaced by `with`; the caller's. */
static char *fill(const char *tmpl, const char *with)
{
  size_t cap = strlen(tmpl) + 1, wl = strlen(with), len = 0;
  char *out;
  for(const char *p = strstr(tmpl, "{{"); p; p = strstr(p + 2, "{{"))
    cap += wl;
  out = gw_malloc(cap);
  for(const char *p = tmpl; *p;) {
    const char *end;
    if(p[0] == '{' && p[1] == '{' && (end = strstr(p + 2, "}}"))) {
      memcpy(out + len, with, wl);
      len += wl;
      p = end + 2;
    }
    else
      out[len++] = *p++;
  }
  out[len] = '\0';
  return out;
}

static size_t count_marks(const char *s)
{
  size_t c = 0;
  if(!s)
    return 0;
  for(const char *p = strstr(s, MARK); p; p = strstr(p + 1, MARK))
    c++;
  return c;
}

/* Marks in element text and attribute values, where XML escaping is right;
 * marks in names, comments, CDATA or processing instructions do not count. */
static size_t xml_marks(xmlNodePtr node)
{
  size_t c = 0;
  for(; node; node = node->next) {
    if(node->type == XML_TEXT_NODE)
      c += count_marks((const char *)node->content);
    else if(node->type == XML_ELEMENT_NODE) {
      for(xmlAttrPtr at = node->properties; at; at = at->next)
        c += xml_marks(at->children);
      c += xml_marks(node->children);
    }
  }
  return c;
}

static size_t json_marks(json_t *v)
{
  size_t c = 0, i;
  const char *key;
  json_t *m;
  if(json_is_string(v))
    return count_marks(json_string_value(v));
  if(json_is_object(v))
    json_object_foreach(v, key, m)
      c += json_marks(m);
  if(json_is_array(v))
    json_array_foreach(v, i, m)
      c += json_marks(m);
  return c;
}

static int check_xml_body(const char *filled, size_t marks, enum gw_protocol p,
                          char *why, size_t n)
{
  static const char *const soap_ns[] = {
    [GW_PROTO_SOAP11] = "http://schemas.xmlsoap.org/soap/envelope/",
    [GW_PROTO_SOAP12] = "http://www.w3.org/2003/05/soap-envelope",
  };
  xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
  xmlDocPtr doc = NULL;
  xmlNodePtr root;
  int rc = -1;

  if(!ctxt) {
    say(why, n, "cannot check: libxml2 failed to start a parser");
    goto out;
  }
  if(strstr(filled, "<!DOCTYPE")) {      /* refused before any DTD is read */
    say(why, n, "must not contain a DOCTYPE");
    goto out;
  }
  doc = xmlCtxtReadMemory(ctxt, filled, (int)strlen(filled), "body", "UTF-8",
                          XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  if(!doc) {
    xmlErrorPtr e = xmlCtxtGetLastError(ctxt);
    const char *msg = e && e->message ? e->message : "parse error";
    size_t ml = strlen(msg);
    while(ml && (msg[ml - 1] == '\n' || msg[ml - 1] == ' '))
      ml--;
    say(why, n, "not well-formed XML once placeholders are filled in "
        "(line %d: %.*s)", e ? e->line : 0, (int)ml, msg);
    goto out;
  }
  if(doc->intSubset || doc->extSubset) {
    say(why, n, "must not contain a DOCTYPE");
    goto out;
  }
  root = xmlDocGetRootElement(doc);
  if((p == GW_PROTO_SOAP11 || p == GW_PROTO_SOAP12) &&
     (!root || strcmp((const char *)root->name, "Envelope") || !root->ns ||
      strcmp((const char *)root->ns->href, soap_ns[p]))) {
    say(why, n, "must be a SOAP %s Envelope (root element Envelope in "
        "namespace %s)", p == GW_PROTO_SOAP11 ? "1.1" : "1.2", soap_ns[p]);
    goto out;
  }
  if(xml_marks(root) < marks) {
    say(why, n, "a placeholder stands outside element text and attribute "
        "values (in a name, comment, CDATA section or processing "
        "instruction), where XML escaping would be wrong");
    goto out;
  }
  rc = 0;
out:
  xmlFreeDoc(doc);
  xmlFreeParserCtxt(ctxt);
  return rc;
}

static int check_json_body(const char *filled, size_t marks, char *why, size_t n)
{
  json_error_t jerr;
  json_t *v = json_loads(filled, JSON_REJECT_DUPLICATES, &jerr);
  int rc = -1;
  if(!v) {
    say(why, n, "not valid JSON once placeholders are filled in (line %d, "
        "column %d: %s)%s", jerr.line, jerr.column, jerr.text,
        marks ? "; a placeholder stands for string content, so it goes "
        "inside quotes" : "");
    goto out;
  }
  if(json_marks(v) < marks) {
    say(why, n, "a placeholder stands in an object key; placeholders belong "
        "in string values");
    goto out;
  }
  rc = 0;
out:
  json_decref(v);
  return rc;
}

int gw_adl_check_body(const char *tmpl, enum gw_protocol p, char *why, size_t n)
{
  size_t marks = 0;
  char *filled;
  int rc;
  if(gw_adl_check_template(tmpl, gw_protocol_is_xml(p) ? GW_ADL_TMPL_STRICT
                                                       : GW_ADL_TMPL_JSON,
                           &marks, why, n))
    return -1;
  filled = fill(tmpl, MARK);
  if(gw_protocol_is_xml(p))
    rc = check_xml_body(filled, marks, p, why, n);
  else
    rc = check_json_body(filled, marks, why, n);
  gw_free(filled);
  return rc;
}

int gw_adl_check_url(const char *url, int templates, char *host, size_t hostlen,
                     char *why, size_t n)
{
  CURLU *u = curl_url();
  CURLUcode uc;
  char *part = NULL, *filled = NULL;
  const char *ph = strstr(url, "{{");
  int rc = -1;

  host[0] = '\0';
  if(!u) {
    say(why, n, "cannot check: libcurl failed to allocate a URL handle");
    goto out;
  }
  if(ph && !templates) {
    say(why, n, "must not contain placeholders");
    goto out;
  }
  filled = fill(url, "x");
  uc = curl_url_set(u, CURLUPART_URL, filled, 0);
  if(uc) {
    say(why, n, "not a valid absolute URL (%s)", curl_url_strerror(uc));
    goto out;
  }
  if(curl_url_get(u, CURLUPART_SCHEME, &part, 0) || strcmp(part, "https")) {
    say(why, n, "must use https:// (got %s://)", part ? part : "?");
    goto out;
  }
  curl_free(part);
  part = NULL;
  /* curl forgives "HTTPS://" and "https:///host"; an adapter file should
   * say exactly what it means */
  if(strncmp(url, "https://", 8)) {
    say(why, n, "must start with \"https://\" in lower case");
    goto out;
  }
  if(strchr("/?#", url[8])) {
    say(why, n, "has no host");
    goto out;
  }
  if(curl_url_get(u, CURLUPART_USER, &part, 0) == CURLUE_OK ||
     curl_url_get(u, CURLUPART_PASSWORD, &part, 0) == CURLUE_OK) {
    say(why, n, "must not contain userinfo (user:password@); credentials "
        "belong in auth");
    goto out;
  }
  if(curl_url_get(u, CURLUPART_FRAGMENT, &part, 0) == CURLUE_OK) {
    say(why, n, "must not have a fragment (#...)");
    goto out;
  }
  if(curl_url_get(u, CURLUPART_HOST, &part, 0) || !part[0]) {
    say(why, n, "has no host");
    goto out;
  }
  if(part[0] == '[') {
    size_t hl = strlen(part);
    snprintf(host, hostlen, "%.*s", (int)(hl > 2 ? hl - 2 : 0), part + 1);
  }
  else
    snprintf(host, hostlen, "%s", part);
  if(ph) {
    /* the URL parsed, so "://" is there; the path starts at the next '/' */
    const char *path = strpbrk(strstr(url, "://") + 3, "/?#");
    const char *query = strpbrk(url, "?#");
    if(!path || *path != '/' || ph < path) {
      say(why, n, "placeholders may stand only in the URL path");
      goto out;
    }
    for(const char *q = ph; query && q; q = strstr(q + 2, "{{"))
      if(q > query) {
        say(why, n, "placeholders may stand only in the URL path; use "
            "request.query for query parameters");
        goto out;
      }
  }
  rc = 0;
out:
  curl_free(part);
  gw_free(filled);
  curl_url_cleanup(u);
  return rc;
}

int gw_adl_is_token(const char *s)
{
  if(!*s)
    return 0;
  for(; *s; s++)
    if(!isalnum((unsigned char)*s) || (unsigned char)*s >= 0x80) {
      if(!strchr("!#$%&'*+-.^_`|~", *s))
        return 0;
    }
  return 1;
}

int gw_adl_is_ncname(const char *s)
{
  if(!(isalpha((unsigned char)*s) || *s == '_'))
    return 0;
  for(s++; *s; s++)
    if(!(isalnum((unsigned char)*s) || *s == '_' || *s == '-' || *s == '.'))
      return 0;
  return 1;
}

int gw_adl_check_pointer(const char *s, char *why, size_t n)
{
  if(!*s)
    return 0;
  if(*s != '/') {
    say(why, n, "must be a JSON Pointer (RFC 6901): \"\" or starting with "
        "\"/\" (got \"%.40s\")", s);
    return -1;
  }
  for(const char *p = s; *p; p++)
    if(*p == '~' && p[1] != '0' && p[1] != '1') {
      say(why, n, "invalid JSON Pointer: \"~\" must be followed by 0 or 1 "
          "(\"~0\" means \"~\", \"~1\" means \"/\")");
      return -1;
    }
  return 0;
}

/* The grammar of gw_mapping_rule_matches_json (gw/mapping.h), which runs
 * the test: a pointer (a run of non-blank characters starting with '/'),
 * blanks, then "exists" or "==" and a double-quoted value in which only \"
 * and \\ are escapes. */
int gw_adl_check_json_test(const char *s, char *why, size_t n)
{
  char ptr[GW_ADAPTER_EXPR_MAX + 1];
  const char *p = s, *start;
  size_t len, vlen = 0;

  while(*p == ' ' || *p == '\t')
    p++;
  start = p;
  while(*p && *p != ' ' && *p != '\t')
    p++;
  len = (size_t)(p - start);
  if(!len || *start != '/') {
    say(why, n, "must be \"POINTER == \\\"value\\\"\" or \"POINTER exists\", the "
        "pointer starting with \"/\"");
    return -1;
  }
  if(len > GW_ADAPTER_EXPR_MAX) {
    say(why, n, "the pointer is longer than %d bytes", GW_ADAPTER_EXPR_MAX);
    return -1;
  }
  snprintf(ptr, sizeof(ptr), "%.*s", (int)len, start);
  if(gw_adl_check_pointer(ptr, why, n))
    return -1;
  while(*p == ' ' || *p == '\t')
    p++;
  if(!strncmp(p, "exists", 6))
    p += 6;
  else if(!strncmp(p, "==", 2)) {
    p += 2;
    while(*p == ' ' || *p == '\t')
      p++;
    if(*p++ != '"') {
      say(why, n, "the value after \"==\" must be in double quotes");
      return -1;
    }
    for(; *p && *p != '"'; p++, vlen++) {
      if(*p == '\\' && p[1] != '"' && p[1] != '\\') {
        say(why, n, "in the value only \\\" and \\\\ are escapes");
        return -1;
      }
      if(*p == '\\')
        p++;
    }
    if(*p++ != '"') {
      say(why, n, "the value after \"==\" has no closing double quote");
      return -1;
    }
    if(vlen > GW_ADL_TEST_VALUE_MAX) {
      say(why, n, "the value is longer than %d bytes", GW_ADL_TEST_VALUE_MAX);
      return -1;
    }
  }
  else {
    say(why, n, "must be \"POINTER == \\\"value\\\"\" or \"POINTER exists\"");
    return -1;
  }
  while(*p == ' ' || *p == '\t')
    p++;
  if(*p) {
    say(why, n, "unexpected text after the test (\"%.20s\")", p);
    return -1;
  }
  return 0;
}

/* --- XPath ------------------------------------------------------------- */

static const char *const xpath_functions[] = {
  "last", "position", "count", "id", "local-name", "namespace-uri", "name",
  "string", "concat", "starts-with", "contains", "substring-before",
  "substring-after", "substring", "string-length", "normalize-space",
  "translate", "boolean", "not", "true", "false", "lang", "number", "sum",
  "floor", "ceiling", "round",
  /* node types and operator names, which may also stand before "(" */
  "node", "text", "comment", "processing-instruction", "and", "or", "div", "mod",
  NULL
};

static int in_list(const char *const *list, const char *s, size_t len)
{
  for(; *list; list++)
    if(strlen(*list) == len && !memcmp(*list, s, len))
      return 1;
  return 0;
}

static int xname_start(unsigned char c)
{
  return isalpha(c) || c == '_' || c >= 0x80;
}

static int xname_char(unsigned char c)
{
  return xname_start(c) || isdigit(c) || c == '.' || c == '-';
}

static int prefix_declared(const struct gw_adapter *a, const char *p, size_t len)
{
  if(len == 3 && !memcmp(p, "xml", 3))
    return 1;
  for(size_t i = 0; i < a->n_namespaces; i++)
    if(strlen(a->namespaces[i].name) == len && !memcmp(a->namespaces[i].name, p, len))
      return 1;
  return 0;
}

/* What libxml2's compiler cannot see: prefixes and function names are
 * resolved only when an expression is evaluated, so an undeclared prefix or
 * a misspelt function would surface as a bad_response at the first query.
 * A small lexer over the XPath 1.0 token grammar finds them now. */
static int xpath_lex(const struct gw_adapter *a, const char *s, char *why, size_t n)
{
  size_t i = 0;
  while(s[i]) {
    unsigned char c = (unsigned char)s[i];
    if(c == '"' || c == '\'') {
      const char *q = strchr(s + i + 1, c);
      if(!q)
        return 0;              /* unfinished literal: the compiler says so */
      i = (size_t)(q - s) + 1;
    }
    else if(c == '$') {
      say(why, n, "uses a variable (%.20s); none are defined", s + i);
      return -1;
    }
    else if(isdigit(c)) {
      while(isdigit((unsigned char)s[i]) || s[i] == '.')
        i++;
    }
    else if(xname_start(c)) {
      size_t start = i, j = i, k;
      int prefixed = 0;
      while(xname_char((unsigned char)s[j]))
        j++;
      if(s[j] == ':' && s[j + 1] != ':') {
        if(!prefix_declared(a, s + start, j - start)) {
          say(why, n, "uses namespace prefix \"%.*s\", which "
              "response.namespaces does not declare", (int)(j - start), s + start);
          return -1;
        }
        prefixed = 1;
        j++;
        if(s[j] == '*')
          j++;
        else
          while(xname_char((unsigned char)s[j]))
            j++;
      }
      for(k = j; s[k] == ' ' || s[k] == '\t' || s[k] == '\n' || s[k] == '\r'; k++)
        ;
      if(s[k] == '(' && (prefixed || !in_list(xpath_functions, s + start, j - start))) {
        say(why, n, "calls %.*s(), which is not an XPath 1.0 function",
            (int)(j - start > 40 ? 40 : j - start), s + start);
        return -1;
      }
      i = j;
    }
    else
      i++;
  }
  return 0;
}

static const char *xpath_problem(int code)
{
  switch(code) {
  case XML_XPATH_NUMBER_ERROR: return "bad number";
  case XML_XPATH_UNFINISHED_LITERAL_ERROR: return "unfinished string literal";
  case XML_XPATH_START_LITERAL_ERROR: return "expected a string literal";
  case XML_XPATH_VARIABLE_REF_ERROR: return "bad variable reference";
  case XML_XPATH_INVALID_PREDICATE_ERROR: return "invalid predicate";
  case XML_XPATH_UNCLOSED_ERROR: return "unclosed bracket or parenthesis";
  case XML_XPATH_UNKNOWN_FUNC_ERROR: return "unknown function";
  case XML_XPATH_INVALID_ARITY: return "wrong number of arguments";
  case XML_XPATH_INVALID_CHAR_ERROR: return "invalid character";
  default: return "invalid expression";
  }
}

#if LIBXML_VERSION >= 21200
static void xpath_error(void *data, const xmlError *e)
#else
static void xpath_error(void *data, xmlErrorPtr e)
#endif
{
  struct gw_adl *r = data;
  if(!r->xpath_code) {         /* the first error is where it went wrong */
    r->xpath_code = e->code;
    r->xpath_pos = e->int1;
  }
}

xmlXPathContextPtr gw_adl_xpath_context(struct gw_adl *r)
{
  xmlXPathContextPtr ctx = xmlXPathNewContext(NULL);
  if(!ctx)
    return NULL;
  ctx->userData = r;
  ctx->error = xpath_error;
  for(size_t i = 0; i < r->a->n_namespaces; i++)
    if(xmlXPathRegisterNs(ctx, (const xmlChar *)r->a->namespaces[i].name,
                          (const xmlChar *)r->a->namespaces[i].value)) {
      xmlXPathFreeContext(ctx);
      return NULL;
    }
  return ctx;
}

int gw_adl_check_xpath(struct gw_adl *r, const char *expr, int relative,
                       char *why, size_t n)
{
  xmlXPathCompExprPtr comp;
  const char *p = expr;
  while(*p == ' ' || *p == '\t')
    p++;
  if(!*p) {
    say(why, n, "must not be empty (an XPath 1.0 expression)");
    return -1;
  }
  if(relative && *p == '/') {
    say(why, n, "must be relative to the list item (must not start with \"/\")");
    return -1;
  }
  if(xpath_lex(r->a, expr, why, n))
    return -1;
  r->xpath_code = 0;
  r->xpath_pos = 0;
  comp = xmlXPathCtxtCompile(r->xpath, (const xmlChar *)expr);
  if(!comp || r->xpath_code) {
    say(why, n, "does not compile as XPath 1.0: %s at character %d",
        xpath_problem(r->xpath_code), r->xpath_pos + 1);
    xmlXPathFreeCompExpr(comp);
    return -1;
  }
  xmlXPathFreeCompExpr(comp);
  return 0;
}
