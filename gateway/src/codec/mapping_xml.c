/*
 * mapping_xml.c - value-specs and result rules over XML responses (XPath).
 *
 * The one idea: one XPath context per call, with the adapter's namespace
 * prefixes registered once, its context node moved to the document or to
 * each list item as the spec tree is walked; every evaluation's result type
 * is then reduced to the shapes mapping_coerce.c knows (text, number,
 * boolean), so XPath's own conversions never decide a fact silently: a
 * node-set of two where one is expected is an error, not "the first".
 *
 * Expressions are compiled on every evaluation.  Measured on the realistic
 * SOAP degree response of tests/unit/test_mapping.c (3 degrees x 6 fields,
 * 19 evaluations, RelWithDebInfo): the whole mapping takes about 28 us, of
 * which compiling is about 6.5 us (0.34 us an expression) - next to 20 us
 * for the hardened parse of the same response and milliseconds for the
 * agency round trip.  A cache would need care for little gain: libxml2
 * writes into a compiled expression while evaluating it (function lookups
 * are memoized in the steps), so sharing one across worker threads is a
 * data race, and keying by spec pointer breaks when a reloaded adapter
 * reuses an address.  See docs/codecs.md.
 *
 * libxml2 errors: XPath errors go to the context's own handler (xp->error),
 * anything raised without a context to a thread-local handler installed for
 * the call (gw_xml_errors_redirect), so nothing reaches stderr.
 */
#include "mapping_int.h"

#include "gw/xmlsafe.h"

#include <stdio.h>
#include <string.h>

#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

/* Longest libxml2 XPath message kept for an error. */
#define XPATH_MSG_MAX 120

struct xml_run {
  struct gw_map_run m;
  xmlXPathContextPtr xp;
  int have_error;
  int error_offset;            /* where in the expression, for compile errors */
  char xpath_msg[XPATH_MSG_MAX];
};

/* libxml2 hands XPath errors to a context's handler with a code but no
 * message text, so the words are ours. */
static const char *xpath_error_text(int code)
{
  switch(code - XML_XPATH_EXPRESSION_OK + XPATH_EXPRESSION_OK) {
  case XPATH_NUMBER_ERROR: return "malformed number";
  case XPATH_UNFINISHED_LITERAL_ERROR: return "unterminated string literal";
  case XPATH_START_LITERAL_ERROR: return "string literal expected";
  case XPATH_VARIABLE_REF_ERROR: return "malformed variable reference";
  case XPATH_UNDEF_VARIABLE_ERROR: return "undefined variable";
  case XPATH_INVALID_PREDICATE_ERROR: return "invalid predicate";
  case XPATH_EXPR_ERROR: return "invalid expression";
  case XPATH_UNCLOSED_ERROR: return "unclosed bracket or parenthesis";
  case XPATH_UNKNOWN_FUNC_ERROR: return "unknown function";
  case XPATH_INVALID_OPERAND: return "invalid operand";
  case XPATH_INVALID_TYPE: return "invalid type";
  case XPATH_INVALID_ARITY: return "wrong number of arguments";
  case XPATH_INVALID_CTXT_SIZE: return "invalid context size";
  case XPATH_INVALID_CTXT_POSITION: return "invalid context position";
  case XPATH_MEMORY_ERROR: return "out of memory";
  case XPATH_UNDEF_PREFIX_ERROR: return "undefined namespace prefix";
  case XPATH_ENCODING_ERROR: return "encoding error";
  case XPATH_INVALID_CHAR_ERROR: return "character out of the XML range";
  case XPATH_INVALID_CTXT: return "invalid context";
  case XPATH_STACK_ERROR: return "stack error";
  case XPATH_FORBID_VARIABLE_ERROR: return "variables are not allowed";
  case XPATH_OP_LIMIT_EXCEEDED: return "operation limit exceeded";
  case XPATH_RECURSION_LIMIT_EXCEEDED: return "recursion limit exceeded";
  default: return "XPath error";
  }
}

static void on_xpath_error(void *data, xmlErrorPtr e)
{
  struct xml_run *run = data;
  size_t n;

  if(!run || run->have_error || !e)
    return;
  run->have_error = 1;
  run->error_offset = e->int1;
  if(e->message)
    snprintf(run->xpath_msg, sizeof(run->xpath_msg), "%s", e->message);
  else
    snprintf(run->xpath_msg, sizeof(run->xpath_msg), "%s", xpath_error_text(e->code));
  n = strlen(run->xpath_msg);
  while(n && (run->xpath_msg[n - 1] == '\n' || run->xpath_msg[n - 1] == ' '))
    run->xpath_msg[--n] = '\0';
}

/* Creates the XPath context for `doc` with the namespace prefixes. */
static enum gw_map_result run_open(struct xml_run *run, const struct gw_kv *ns, size_t n_ns,
                                   xmlDoc *doc)
{
  run->xp = xmlXPathNewContext(doc);
  if(!run->xp)
    return gw_map_fail(&run->m, GW_MAP_BAD_PATH, "", "cannot create an XPath context");
  run->xp->error = on_xpath_error;
  run->xp->userData = run;
  run->xp->opLimit = GW_MAP_XPATH_OP_LIMIT;
  for(size_t i = 0; i < n_ns && i < GW_ADAPTER_MAX_NAMESPACES; i++) {
    if(!ns[i].name || !ns[i].value ||
       xmlXPathRegisterNs(run->xp, BAD_CAST ns[i].name, BAD_CAST ns[i].value))
      return gw_map_fail(&run->m, GW_MAP_BAD_PATH, "", "cannot register namespace prefix %s",
                         ns[i].name ? ns[i].name : "(null)");
  }
  return GW_MAP_OK;
}

static void run_close(struct xml_run *run)
{
  if(run->xp)
    xmlXPathFreeContext(run->xp);
  run->xp = NULL;
}

/* Evaluates `path` with context node `node`; *res is the caller's. */
static enum gw_map_result eval(struct xml_run *run, const char *path, xmlNodePtr node,
                               xmlXPathObjectPtr *res)
{
  xmlXPathCompExprPtr comp;

  *res = NULL;
  if(!path)
    return gw_map_fail(&run->m, GW_MAP_BAD_PATH, "", "spec has no path");
  run->have_error = 0;
  run->xp->node = node;
  run->xp->opCount = 0;
  comp = xmlXPathCtxtCompile(run->xp, BAD_CAST path);
  if(!comp)
    return gw_map_fail(&run->m, GW_MAP_BAD_PATH, path, "XPath does not compile (%s at offset %d)",
                       run->have_error ? run->xpath_msg : "error",
                       run->have_error ? run->error_offset : 0);
  *res = xmlXPathCompiledEval(comp, run->xp);
  xmlXPathFreeCompExpr(comp);
  if(!*res)
    return gw_map_fail(&run->m, GW_MAP_BAD_PATH, path, "XPath cannot be evaluated (%s)",
                       run->have_error ? run->xpath_msg : "error");
  return GW_MAP_OK;
}

static enum gw_map_result map_spec(struct xml_run *run, const struct gw_value_spec *spec,
                                   xmlNodePtr node, json_t **out);

static enum gw_map_result map_scalar(struct xml_run *run, const struct gw_value_spec *spec,
                                     xmlNodePtr node, json_t **out)
{
  xmlXPathObjectPtr res;
  enum gw_map_result r = eval(run, spec->path, node, &res);
  xmlChar *text;
  int n;

  if(r != GW_MAP_OK)
    return r;
  switch(res->type) {
  case XPATH_NODESET:
    n = res->nodesetval ? res->nodesetval->nodeNr : 0;
    if(n == 0)
      r = gw_map_absent(&run->m, spec, spec->path, out);
    else if(n > 1)
      r = gw_map_fail(&run->m, GW_MAP_AMBIGUOUS, spec->path,
                      "selects %d nodes where one is expected", n);
    else {
      text = xmlXPathCastNodeToString(res->nodesetval->nodeTab[0]);
      if(!text)
        r = gw_map_fail(&run->m, GW_MAP_BAD_VALUE, spec->path, "node has no string value");
      else
        r = gw_map_from_text(&run->m, spec, spec->path, (const char *)text,
                             strlen((const char *)text), 1, out);
      xmlFree(text);
    }
    break;
  case XPATH_STRING:
    r = gw_map_from_text(&run->m, spec, spec->path, (const char *)res->stringval,
                         res->stringval ? strlen((const char *)res->stringval) : 0, 1, out);
    break;
  case XPATH_NUMBER:
    r = gw_map_from_double(&run->m, spec, spec->path, res->floatval, out);
    break;
  case XPATH_BOOLEAN:
    r = gw_map_from_bool(&run->m, spec, spec->path, res->boolval, out);
    break;
  default:
    r = gw_map_fail(&run->m, GW_MAP_BAD_PATH, spec->path,
                    "XPath yields neither nodes, a string, a number nor a boolean");
    break;
  }
  xmlXPathFreeObject(res);
  return r;
}

static enum gw_map_result map_list(struct xml_run *run, const struct gw_value_spec *spec,
                                   xmlNodePtr node, json_t **out)
{
  xmlXPathObjectPtr res;
  enum gw_map_result r = eval(run, spec->path, node, &res);
  json_t *list = NULL;
  int n;

  if(r != GW_MAP_OK)
    return r;
  if(res->type != XPATH_NODESET) {
    r = gw_map_fail(&run->m, GW_MAP_BAD_PATH, spec->path, "list XPath does not select nodes");
    goto out;
  }
  if(!spec->item) {
    r = gw_map_fail(&run->m, GW_MAP_BAD_PATH, spec->path, "list spec has no item spec");
    goto out;
  }
  n = res->nodesetval ? res->nodesetval->nodeNr : 0;
  if((size_t)n > GW_MAP_MAX_LIST_ITEMS) {
    r = gw_map_fail(&run->m, GW_MAP_TOO_LARGE, spec->path,
                    "selects %d items, over the cap of %u", n, GW_MAP_MAX_LIST_ITEMS);
    goto out;
  }
  list = json_array();
  r = gw_map_charge(&run->m, spec->path, 2);
  for(int i = 0; i < n && r == GW_MAP_OK; i++) {
    size_t mark = gw_map_where_push(&run->m, "%s[%d]/", spec->path, i + 1);
    json_t *v = NULL;
    r = map_spec(run, spec->item, res->nodesetval->nodeTab[i], &v);
    gw_map_where_pop(&run->m, mark);
    if(r == GW_MAP_OK) {
      json_array_append_new(list, v);
      r = gw_map_charge(&run->m, spec->path, 2);
    }
  }
  if(r == GW_MAP_OK) {
    *out = list;
    list = NULL;
  }

out:
  json_decref(list);
  xmlXPathFreeObject(res);
  return r;
}

static int is_xml_space(char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Does the string-value of `res` (trimmed of XML whitespace) equal want? */
static enum gw_map_result result_equals(struct xml_run *run, const char *path,
                                        xmlXPathObjectPtr res, const char *want, int *match)
{
  xmlChar *text = NULL;
  const char *s;
  size_t n;

  *match = 0;
  if(res->type == XPATH_NODESET) {
    int count = res->nodesetval ? res->nodesetval->nodeNr : 0;
    if(count == 0)
      return GW_MAP_OK;
    if(count > 1)
      return gw_map_fail(&run->m, GW_MAP_AMBIGUOUS, path,
                         "selects %d nodes where one is expected", count);
    text = xmlXPathCastNodeToString(res->nodesetval->nodeTab[0]);
  }
  else
    text = xmlXPathCastToString(res);
  if(!text)
    return gw_map_fail(&run->m, GW_MAP_BAD_VALUE, path, "has no string value");
  s = (const char *)text;
  n = strlen(s);
  while(n && is_xml_space(*s)) {
    s++;
    n--;
  }
  while(n && is_xml_space(s[n - 1]))
    n--;
  *match = n == strlen(want) && !memcmp(s, want, n);
  xmlFree(text);
  return GW_MAP_OK;
}

static enum gw_map_result map_first(struct xml_run *run, const struct gw_value_spec *spec,
                                    xmlNodePtr node, json_t **out)
{
  xmlXPathObjectPtr res;
  enum gw_map_result r = eval(run, spec->path, node, &res);
  int n;

  if(r != GW_MAP_OK)
    return r;
  if(res->type != XPATH_NODESET) {
    r = gw_map_fail(&run->m, GW_MAP_BAD_PATH, spec->path, "first XPath does not select nodes");
    goto out;
  }
  if(!spec->item) {
    r = gw_map_fail(&run->m, GW_MAP_BAD_PATH, spec->path, "first spec has no item spec");
    goto out;
  }
  n = res->nodesetval ? res->nodesetval->nodeNr : 0;
  if((size_t)n > GW_MAP_MAX_LIST_ITEMS) {
    r = gw_map_fail(&run->m, GW_MAP_TOO_LARGE, spec->path,
                    "selects %d items, over the cap of %u", n, GW_MAP_MAX_LIST_ITEMS);
    goto out;
  }
  for(int i = 0; i < n; i++) {
    xmlNodePtr item = res->nodesetval->nodeTab[i];
    size_t mark = gw_map_where_push(&run->m, "%s[%d]/", spec->path, i + 1);
    int match = 1;
    for(size_t c = 0; c < spec->n_where && match && r == GW_MAP_OK; c++) {
      xmlXPathObjectPtr cond;
      r = eval(run, spec->where[c].name, item, &cond);
      if(r == GW_MAP_OK) {
        r = result_equals(run, spec->where[c].name, cond, spec->where[c].value, &match);
        xmlXPathFreeObject(cond);
      }
    }
    if(r == GW_MAP_OK && match)
      r = map_spec(run, spec->item, item, out);
    gw_map_where_pop(&run->m, mark);
    if(r != GW_MAP_OK || match)
      goto out;
  }
  r = gw_map_no_match(&run->m, spec, out);

out:
  xmlXPathFreeObject(res);
  return r;
}

/* when_absent: is what `spec` reads absent at `node`? */
static int spec_absent(struct xml_run *run, const struct gw_value_spec *spec, xmlNodePtr node)
{
  xmlXPathObjectPtr res;
  int absent;
  if(!spec)
    return 0;
  if(spec->kind == GW_VALUE_OBJECT) {
    for(size_t i = 0; i < spec->n_members; i++)
      if(!spec_absent(run, spec->members[i], node))
        return 0;
    return spec->n_members > 0;
  }
  if(eval(run, spec->path, node, &res) != GW_MAP_OK)
    return 0;                  /* mapping reports the bad path */
  absent = res->type == XPATH_NODESET && (!res->nodesetval || !res->nodesetval->nodeNr);
  xmlXPathFreeObject(res);
  return absent;
}

static enum gw_map_result map_object(struct xml_run *run, const struct gw_value_spec *spec,
                                     xmlNodePtr node, json_t **out)
{
  enum gw_map_result r = gw_map_charge(&run->m, "", 2);
  json_t *obj = json_object();

  for(size_t i = 0; i < spec->n_members && r == GW_MAP_OK; i++) {
    json_t *v = NULL;
    if(!spec->member_names || !spec->member_names[i] || !spec->members) {
      r = gw_map_fail(&run->m, GW_MAP_BAD_PATH, "", "object spec member %zu has no name", i);
      break;
    }
    r = gw_map_charge(&run->m, "", strlen(spec->member_names[i]) + 4);
    if(r == GW_MAP_OK)
      r = map_spec(run, spec->members[i], node, &v);
    if(r == GW_MAP_OK)
      json_object_set_new(obj, spec->member_names[i], v);
  }
  if(r != GW_MAP_OK) {
    json_decref(obj);
    return r;
  }
  *out = obj;
  return GW_MAP_OK;
}

static enum gw_map_result map_spec(struct xml_run *run, const struct gw_value_spec *spec,
                                   xmlNodePtr node, json_t **out)
{
  enum gw_map_result r;

  if(!spec)
    return gw_map_fail(&run->m, GW_MAP_BAD_PATH, "", "missing value spec");
  if(spec->kind == GW_VALUE_SCALAR)
    return map_scalar(run, spec, node, out);
  if(++run->m.depth > GW_MAP_MAX_SPEC_DEPTH) {
    run->m.depth--;
    return gw_map_fail(&run->m, GW_MAP_BAD_PATH, "", "spec nested deeper than %u",
                       GW_MAP_MAX_SPEC_DEPTH);
  }
  if(spec->kind == GW_VALUE_LIST)
    r = map_list(run, spec, node, out);
  else if(spec->kind == GW_VALUE_FIRST)
    r = map_first(run, spec, node, out);
  else
    r = map_object(run, spec, node, out);
  run->m.depth--;
  return r;
}

enum gw_map_result gw_mapping_xml(const struct gw_adapter *a, const struct gw_value_spec *spec,
                                  xmlDoc *doc, json_t **out, char *err, size_t errlen)
{
  return gw_mapping_xml_named(a, spec, doc, NULL, out, err, errlen);
}

enum gw_map_result gw_mapping_xml_named(const struct gw_adapter *a,
                                        const struct gw_value_spec *spec, xmlDoc *doc,
                                        const char *subject_name, json_t **out, char *err,
                                        size_t errlen)
{
  struct gw_xml_errors saved;
  struct xml_run run;
  enum gw_map_result r;

  *out = NULL;
  memset(&run, 0, sizeof(run));
  gw_map_run_init(&run.m, err, errlen);
  run.m.subject_name = subject_name;
  if(!doc)
    return gw_map_fail(&run.m, GW_MAP_BAD_PATH, "", "no document");
  gw_xml_errors_redirect(&saved, NULL, NULL);
  r = run_open(&run, a ? a->namespaces : NULL, a ? a->n_namespaces : 0, doc);
  if(r == GW_MAP_OK && spec && spec->when_absent == GW_ABSENT_NOT_FOUND &&
     spec_absent(&run, spec, (xmlNodePtr)doc)) {
    r = gw_map_fail(&run.m, GW_MAP_NOT_FOUND, spec->path ? spec->path : "",
                    "absent (when_absent: not_found)");
  }
  else if(r == GW_MAP_OK)
    r = map_spec(&run, spec, (xmlNodePtr)doc, out);
  run_close(&run);
  gw_xml_errors_restore(&saved);
  return r;
}

enum gw_rule_result gw_mapping_rule_matches_xml(const struct gw_adapter *a,
                                                const struct gw_result_rule *rule,
                                                int http_status, xmlDoc *doc,
                                                char *err, size_t errlen)
{
  struct gw_xml_errors saved;
  struct xml_run run;
  xmlXPathObjectPtr res = NULL;
  enum gw_rule_result rr = GW_RULE_ERROR;

  if(!rule->n_status && !rule->test)
    return GW_RULE_NO_MATCH;
  if(rule->n_status && !gw_map_status_listed(rule, http_status))
    return GW_RULE_NO_MATCH;
  if(!rule->test)
    return GW_RULE_MATCH;
  if(!doc)
    return GW_RULE_NO_MATCH;

  memset(&run, 0, sizeof(run));
  gw_map_run_init(&run.m, err, errlen);
  gw_xml_errors_redirect(&saved, NULL, NULL);
  if(run_open(&run, a ? a->namespaces : NULL, a ? a->n_namespaces : 0, doc) != GW_MAP_OK)
    goto out;
  if(eval(&run, rule->test, (xmlNodePtr)doc, &res) != GW_MAP_OK)
    goto out;
  rr = xmlXPathCastToBoolean(res) ? GW_RULE_MATCH : GW_RULE_NO_MATCH;

out:
  if(res)
    xmlXPathFreeObject(res);
  run_close(&run);
  gw_xml_errors_restore(&saved);
  return rr;
}

int gw_mapping_xpath_check(const struct gw_kv *namespaces, size_t n_namespaces,
                           const char *expr, char *err, size_t errlen)
{
  struct gw_xml_errors saved;
  struct xml_run run;
  xmlXPathObjectPtr res = NULL;
  xmlDocPtr doc;
  int rc = -1;

  memset(&run, 0, sizeof(run));
  gw_map_run_init(&run.m, err, errlen);
  gw_xml_errors_redirect(&saved, NULL, NULL);
  doc = xmlNewDoc(BAD_CAST "1.0");
  if(!doc)
    goto out;
  xmlDocSetRootElement(doc, xmlNewDocNode(doc, NULL, BAD_CAST "x", NULL));
  if(run_open(&run, namespaces, n_namespaces, doc) != GW_MAP_OK)
    goto out;
  if(eval(&run, expr, (xmlNodePtr)doc, &res) != GW_MAP_OK)
    goto out;
  rc = 0;

out:
  if(res)
    xmlXPathFreeObject(res);
  run_close(&run);
  if(doc)
    xmlFreeDoc(doc);
  gw_xml_errors_restore(&saved);
  return rc;
}
