/*
 * fuzz_xml_parse.c - the hardened agency-XML parser (gw_xml_parse) and
 * XPath mapping on what it accepts (gw_mapping_xml, the rule tests).
 *
 * Input: byte 0 chooses the limits (bit 0: the ceilings, or small limits a
 * fuzzer can reach: 4 KiB, depth 6, 64 nodes); the rest is the document.
 *
 * Invariants checked beyond "no crash, no leak":
 *   - a refusal has no document and a reason; an input over max_bytes is
 *     always GW_XML_TOO_LARGE;
 *   - an accepted document has no DTD (internal or external subset), no
 *     entity declarations or references, no XInclude nodes; its element
 *     nesting and node count (elements, attributes, comments, PIs) are within
 *     the limits it was parsed under; every text, attribute and name is
 *     valid UTF-8 (whatever the declared encoding);
 *   - mapping it with a small spec (a list of items with string, date, int,
 *     enum and bool members, plus top-level count and boolean XPaths)
 *     either yields a value of exactly the spec's shape or an error with a
 *     message and no value; rule tests answer match / no match / error.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libxml/tree.h>
#include <libxml/xmlstring.h>

#include "gw/adapter.h"
#include "mapping.h"
#include "gw/xmlsafe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SMALL_BYTES 4096u
#define SMALL_DEPTH 6u
#define SMALL_NODES 64u

/* ---- a small adapter: namespaces, rules and a spec --------------------- */

/* The spec structs hold char * (a loaded adapter owns its strings); these
 * literals are only ever read. */
#define S(lit) ((char *)(lit))

static char *true_values[] = { S("Y"), S("true") };
static char *false_values[] = { S("N"), S("false") };
static struct gw_kv level_map[] = { { S("bachelor"), S("bachelor") },
                                    { S("master"), S("master") },
                                    { S("doctor"), S("doctor") } };

static struct gw_value_spec s_name = { .kind = GW_VALUE_SCALAR, .path = S("x:name"),
                                       .type = GW_TYPE_STRING };
static struct gw_value_spec s_date = { .kind = GW_VALUE_SCALAR, .path = S("x:date"),
                                       .type = GW_TYPE_DATE, .optional = 1 };
static struct gw_value_spec s_num = { .kind = GW_VALUE_SCALAR, .path = S("@n"),
                                      .type = GW_TYPE_INT, .optional = 1 };
static struct gw_value_spec s_level = { .kind = GW_VALUE_SCALAR, .path = S("string(x:level)"),
                                        .type = GW_TYPE_ENUM, .optional = 1,
                                        .enum_map = level_map, .n_enum = 3 };
static struct gw_value_spec s_flag = { .kind = GW_VALUE_SCALAR, .path = S("x:flag"),
                                       .type = GW_TYPE_BOOL, .optional = 1,
                                       .true_values = true_values, .n_true = 2,
                                       .false_values = false_values, .n_false = 2 };
static char *item_names[] = { S("name"), S("date"), S("n"), S("level"), S("flag") };
static struct gw_value_spec *item_members[] = { &s_name, &s_date, &s_num, &s_level, &s_flag };
static struct gw_value_spec s_item = { .kind = GW_VALUE_OBJECT, .member_names = item_names,
                                       .members = item_members, .n_members = 5 };
static struct gw_value_spec s_list = { .kind = GW_VALUE_LIST, .path = S("/x:r/x:items/x:item"),
                                       .item = &s_item };
static struct gw_value_spec s_count = { .kind = GW_VALUE_SCALAR, .path = S("count(//x:item)"),
                                        .type = GW_TYPE_INT };
static struct gw_value_spec s_any = { .kind = GW_VALUE_SCALAR, .path = S("boolean(//x:fault)"),
                                      .type = GW_TYPE_BOOL };
static struct gw_value_spec s_number = { .kind = GW_VALUE_SCALAR, .path = S("//x:amount"),
                                         .type = GW_TYPE_NUMBER, .optional = 1 };
static char *top_names[] = { S("items"), S("count"), S("fault"), S("amount") };
static struct gw_value_spec *top_members[] = { &s_list, &s_count, &s_any, &s_number };
static struct gw_value_spec s_top = { .kind = GW_VALUE_OBJECT, .member_names = top_names,
                                      .members = top_members, .n_members = 4 };

static struct gw_adapter adapter = {
  .id = S("fuzz.xml"),
  .protocol = GW_PROTO_XML,
  .namespaces = { { S("x"), S("urn:fuzz:1") },
                  { S("soap"), S("http://schemas.xmlsoap.org/soap/envelope/") } },
  .n_namespaces = 2,
  .not_found = { .status = { 200 }, .n_status = 1, .test = S("/x:r/x:result = 'no_record'") },
  .fault = { .test = S("boolean(/soap:Envelope/soap:Body/soap:Fault) or boolean(//x:fault)") },
};

/* ---- checks on an accepted tree ------------------------------------------ */

struct walk {
  unsigned max_depth;
  size_t nodes;
};

static int utf8_ok(const xmlChar *s)
{
  return !s || xmlCheckUTF8(s);
}

static void walk(xmlNode *n, unsigned depth, struct walk *w)
{
  for(; n; n = n->next) {
    switch(n->type) {
    case XML_ELEMENT_NODE:
      w->nodes++;
      if(depth > w->max_depth)
        w->max_depth = depth;
      if(!utf8_ok(n->name))
        abort();
      for(xmlAttr *a = n->properties; a; a = a->next) {
        xmlChar *v = xmlNodeGetContent((xmlNode *)a);
        w->nodes++;
        if(!utf8_ok(a->name) || !utf8_ok(v))
          abort();
        xmlFree(v);
      }
      walk(n->children, depth + 1, w);
      break;
    case XML_COMMENT_NODE:
    case XML_PI_NODE:
      w->nodes++;
      /* fall through */
    case XML_TEXT_NODE:
    case XML_CDATA_SECTION_NODE:
      if(!utf8_ok(n->content))
        abort();
      break;
    case XML_ENTITY_REF_NODE:
    case XML_ENTITY_NODE:
    case XML_ENTITY_DECL:
    case XML_DTD_NODE:
    case XML_XINCLUDE_START:
    case XML_XINCLUDE_END:
      abort();
    default:
      break;
    }
  }
}

/* The mapped value has exactly the spec's shape. */
static void check_shape(const json_t *v)
{
  json_t *items = json_object_get(v, "items"), *it;
  size_t i;

  if(!json_is_object(v) || json_object_size(v) != 4 || !json_is_array(items) ||
     !json_is_integer(json_object_get(v, "count")) ||
     !json_is_boolean(json_object_get(v, "fault")))
    abort();
  if(json_integer_value(json_object_get(v, "count")) < (json_int_t)json_array_size(items))
    abort();
  json_array_foreach(items, i, it) {
    json_t *level = json_object_get(it, "level");
    if(!json_is_object(it) || json_object_size(it) != 5 ||
       !json_is_string(json_object_get(it, "name")))
      abort();
    if(!json_is_null(level) && strcmp(json_string_value(level), "bachelor") &&
       strcmp(json_string_value(level), "master") && strcmp(json_string_value(level), "doctor"))
      abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct gw_xml_limits small = { SMALL_BYTES, SMALL_DEPTH, SMALL_NODES };
  const struct gw_xml_limits *lim;
  size_t max_bytes;
  unsigned max_depth;
  size_t max_nodes;
  xmlDoc *doc = NULL;
  enum gw_xml_result xr;
  enum gw_map_result mr;
  enum gw_rule_result rr;
  json_t *value = NULL;
  char err[512];
  struct walk w = { 0, 0 };

  if(size < 1)
    return 0;
  lim = (data[0] & 1) ? &small : NULL;
  max_bytes = lim ? SMALL_BYTES : GW_XML_MAX_BYTES;
  max_depth = lim ? SMALL_DEPTH : GW_XML_MAX_DEPTH;
  max_nodes = lim ? SMALL_NODES : GW_XML_MAX_NODES;
  data++;
  size--;

  err[0] = '\0';
  xr = gw_xml_parse(data, size, lim, &doc, err, sizeof(err));
  if(size > max_bytes && xr != GW_XML_TOO_LARGE)
    abort();
  if(xr != GW_XML_OK) {
    if(doc || !err[0])
      abort();
    return 0;
  }
  if(!doc || doc->intSubset || doc->extSubset || !xmlDocGetRootElement(doc))
    abort();
  walk(doc->children, 1, &w);
  if(w.max_depth > max_depth || w.nodes > max_nodes)
    abort();

  err[0] = '\0';
  mr = gw_mapping_xml(&adapter, &s_top, doc, &value, err, sizeof(err));
  if(mr == GW_MAP_OK)
    check_shape(value);
  else if(value || !err[0])
    abort();
  json_decref(value);

  for(int i = 0; i < 2; i++) {
    const struct gw_result_rule *rule = i ? &adapter.fault : &adapter.not_found;
    err[0] = '\0';
    rr = gw_mapping_rule_matches_xml(&adapter, rule, 200, doc, err, sizeof(err));
    if(rr != GW_RULE_MATCH && rr != GW_RULE_NO_MATCH && !(rr == GW_RULE_ERROR && err[0]))
      abort();
  }
  xmlFreeDoc(doc);
  return 0;
}
