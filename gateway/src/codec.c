/*
 * codec.c - request building and response processing for every protocol
 * family.
 *
 * The families differ in three small things only: how a body is escaped
 * (XML or JSON), how a response is parsed (hardened libxml2, strict
 * jansson, or a compact JWS around JSON) and which signature it carries.
 * So there is one pipeline with two parsers, not five codecs: a family that
 * does not fit would get its own process function behind the same header.
 */
#include "gw/codec.h"

#include <stdio.h>
#include <string.h>

#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "gw/alloc.h"
#include "gw/factschema.h"
#include "gw/jws.h"
#include "gw/mapping.h"
#include "gw/template.h"
#include "gw/xmlsafe.h"
#include "gw/xmlsig.h"

#define CODEC_MAX_URL 8192

const char *gw_fact_status_name(enum gw_fact_status s)
{
  switch(s) {
  case GW_FACT_OK:          return "ok";
  case GW_FACT_NOT_FOUND:   return "not_found";
  case GW_FACT_UNAVAILABLE: return "unavailable";
  case GW_FACT_DENIED:      return "denied";
  }
  return "unavailable";
}

const char *gw_fact_error_name(enum gw_fact_error e)
{
  switch(e) {
  case GW_FERR_NONE:          return "none";
  case GW_FERR_TIMEOUT:       return "timeout";
  case GW_FERR_CIRCUIT_OPEN:  return "circuit_open";
  case GW_FERR_AGENCY_FAULT:  return "agency_fault";
  case GW_FERR_TRANSPORT:     return "transport";
  case GW_FERR_BAD_RESPONSE:  return "bad_response";
  case GW_FERR_BAD_SIGNATURE: return "bad_signature";
  case GW_FERR_RATE_LIMITED:  return "rate_limited";
  }
  return "transport";
}

void gw_codec_result_clear(struct gw_codec_result *r)
{
  for(size_t i = 0; i < GW_ADAPTER_MAX_FACTS; i++) {
    json_decref(r->facts[i].value);
    r->facts[i].value = NULL;
  }
}

void gw_codec_result_fail(struct gw_codec_result *r, size_t n, enum gw_fact_error e,
                          const char *detail)
{
  for(size_t i = 0; i < n && i < GW_ADAPTER_MAX_FACTS; i++) {
    json_decref(r->facts[i].value);
    r->facts[i].value = NULL;
    r->facts[i].status = GW_FACT_UNAVAILABLE;
    r->facts[i].error = e;
    snprintf(r->facts[i].detail, sizeof(r->facts[i].detail), "%s", detail);
  }
  r->n_facts = n;
}

static void all_not_found(struct gw_codec_result *r, size_t n, const char *detail)
{
  for(size_t i = 0; i < n; i++) {
    r->facts[i].status = GW_FACT_NOT_FOUND;
    snprintf(r->facts[i].detail, sizeof(r->facts[i].detail), "%s", detail);
  }
  r->n_facts = n;
  r->negative = 1;
}

int gw_codec_keys_init(struct gw_codec_keys *k, const struct gw_adapter *a,
                       char *err, size_t errlen)
{
  memset(k, 0, sizeof(*k));
  if(a->verify == GW_VERIFY_XMLDSIG) {
    k->xmlsig = gw_xmlsig_verifier_new_pem(a->verify_cert, strlen(a->verify_cert), err, errlen);
    return k->xmlsig ? 0 : -1;
  }
  if(a->verify == GW_VERIFY_JWS) {
    enum gw_jws_result r = gw_jws_key_from_pem(a->verify_key, strlen(a->verify_key), &k->jws);
    if(r != GW_JWS_OK) {
      snprintf(err, errlen, "verify.key: %s", gw_jws_strerror(r));
      return -1;
    }
  }
  return 0;
}

void gw_codec_keys_clear(struct gw_codec_keys *k)
{
  gw_xmlsig_verifier_free(k->xmlsig);
  gw_jws_key_free(k->jws);
  memset(k, 0, sizeof(*k));
}

/* ---- building ------------------------------------------------------------ */

void gw_codec_request_clear(struct gw_codec_request *r)
{
  gw_free(r->url);
  for(size_t i = 0; i < r->n_headers; i++) {
    gw_free(r->header_names[i]);
    gw_free(r->header_values[i]);
  }
  gw_free(r->body);
  memset(r, 0, sizeof(*r));
}

static int expand(const char *tmpl, enum gw_esc esc, const struct gw_template_values *v,
                  char **out, size_t *len, const char *what, char *err, size_t errlen)
{
  char why[160];
  enum gw_template_result r = gw_template_expand(tmpl, esc, v, out, len, why, sizeof(why));
  if(r != GW_TEMPLATE_OK) {
    snprintf(err, errlen, "%s: %s", what, why);
    return -1;
  }
  return 0;
}

int gw_codec_build(const struct gw_adapter *a, const char *subject_id,
                   const char *subject_name, const char *request_id, time_t now,
                   struct gw_codec_request *out, char *err, size_t errlen)
{
  struct gw_template_values v = { subject_id, subject_name,
                                  subject_name ? strlen(subject_name) : 0, request_id, now };
  enum gw_esc body_esc = gw_protocol_is_xml(a->protocol) ? GW_ESC_XML : GW_ESC_JSON;
  size_t url_len, n;
  char *url;

  memset(out, 0, sizeof(*out));
  out->method = a->method;
  url = gw_malloc(CODEC_MAX_URL + 1);
  {
    /* Placeholders in the URL's path are percent-encoded like query values
     * (the loader allows them in path segments only). */
    char *expanded;
    if(expand(a->url, GW_ESC_URL, &v, &expanded, &url_len, "endpoint.url", err, errlen)) {
      gw_free(url);
      return -1;
    }
    if(url_len > CODEC_MAX_URL) {
      gw_free(expanded);
      goto too_long;
    }
    memcpy(url, expanded, url_len);
    gw_free(expanded);
  }
  for(size_t i = 0; i < a->n_query; i++) {
    char *val;
    size_t vlen, klen = strlen(a->query[i].name);
    if(expand(a->query[i].value, GW_ESC_URL, &v, &val, &vlen, "request.query", err, errlen)) {
      gw_free(url);
      return -1;
    }
    if(url_len + 1 + klen + 1 + vlen > CODEC_MAX_URL) {
      gw_free(val);
      goto too_long;
    }
    url[url_len++] = i || strchr(a->url, '?') ? '&' : '?';
    memcpy(url + url_len, a->query[i].name, klen);   /* names are tokens (loader) */
    url_len += klen;
    url[url_len++] = '=';
    memcpy(url + url_len, val, vlen);
    url_len += vlen;
    gw_free(val);
  }
  url[url_len] = '\0';
  out->url = url;

  for(size_t i = 0; i < a->n_headers; i++) {
    if(expand(a->headers[i].value, GW_ESC_HEADER, &v, &out->header_values[out->n_headers], &n,
              "request.headers", err, errlen))
      goto fail;
    out->header_names[out->n_headers++] = gw_strdup(a->headers[i].name);
  }
  if(a->content_type && a->body_template) {
    out->header_names[out->n_headers] = gw_strdup("Content-Type");
    out->header_values[out->n_headers++] = gw_strdup(a->content_type);
  }
  if(a->body_template &&
     expand(a->body_template, body_esc, &v, &out->body, &out->body_len, "request.body", err, errlen))
    goto fail;
  return 0;

too_long:
  gw_free(url);
  snprintf(err, errlen, "request URL longer than %d bytes", CODEC_MAX_URL);
  return -1;
fail:
  gw_codec_request_clear(out);
  return -1;
}

/* ---- processing ------------------------------------------------------------ */

static int status_in(int status, const int *list, size_t n)
{
  for(size_t i = 0; i < n; i++)
    if(list[i] == status)
      return 1;
  return 0;
}

/* An error status that is not the agency's "not found". */
static void error_status(const struct gw_adapter *a, int status, struct gw_codec_result *out)
{
  char detail[96];
  snprintf(detail, sizeof(detail), "agency answered HTTP %d", status);
  if(status == 401)
    out->auth_rejected = 1;
  if(status >= 500 || status == 429 || status == 408)
    out->retryable = 1;
  gw_codec_result_fail(out, a->n_facts,
                       status == 429 ? GW_FERR_RATE_LIMITED :
                       (status >= 500 || status == 401 || status == 403 || status == 408 ||
                        status == 404 || status == 405) ? GW_FERR_AGENCY_FAULT
                                                        : GW_FERR_BAD_RESPONSE, detail);
}

/* Maps and schema-checks one fact value (already produced by `mapped`). */
static void accept_value(const struct gw_adapter *a, const struct gw_factschema_set *schemas,
                         size_t i, enum gw_map_result mr, json_t *value, const char *why,
                         struct gw_codec_result *out)
{
  struct gw_fact_result *f = &out->facts[i];
  char serr[160];
  if(mr != GW_MAP_OK) {
    f->status = GW_FACT_UNAVAILABLE;
    f->error = GW_FERR_BAD_RESPONSE;
    snprintf(f->detail, sizeof(f->detail), "mapping: %s", why);
    return;
  }
  if(schemas && gw_factschema_validate(schemas, a->facts[i], value, serr, sizeof(serr))) {
    json_decref(value);
    f->status = GW_FACT_UNAVAILABLE;
    f->error = GW_FERR_BAD_RESPONSE;
    snprintf(f->detail, sizeof(f->detail), "schema: %s", serr);
    return;
  }
  f->status = GW_FACT_OK;
  f->value = value;
}

static const struct gw_value_spec *spec_of(const struct gw_adapter *a, size_t i)
{
  for(size_t m = 0; m < a->n_mappings; m++)
    if(!strcmp(a->mappings[m].fact, a->facts[i]))
      return a->mappings[m].spec;
  return NULL;
}

/* The one element the signature must cover: the adapter's signed_node. */
static xmlNodePtr signed_node(const struct gw_adapter *a, xmlDocPtr doc)
{
  xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
  xmlXPathObjectPtr res = NULL;
  xmlNodePtr node = NULL;
  if(!ctx)
    return NULL;
  for(size_t i = 0; i < a->n_namespaces; i++)
    xmlXPathRegisterNs(ctx, BAD_CAST a->namespaces[i].name, BAD_CAST a->namespaces[i].value);
  res = xmlXPathEvalExpression(BAD_CAST a->signed_node, ctx);
  if(res && res->type == XPATH_NODESET && res->nodesetval &&
     res->nodesetval->nodeNr == 1 && res->nodesetval->nodeTab[0]->type == XML_ELEMENT_NODE)
    node = res->nodesetval->nodeTab[0];
  xmlXPathFreeObject(res);
  xmlXPathFreeContext(ctx);
  return node;
}

static void process_xml(const struct gw_adapter *a, const struct gw_codec_keys *keys,
                        const struct gw_factschema_set *schemas, int status,
                        const unsigned char *body, size_t len, struct gw_codec_result *out)
{
  char why[256];
  xmlDocPtr doc = NULL;
  enum gw_xml_result xr;
  enum gw_rule_result rr;

  xr = gw_xml_parse(body, len, NULL, &doc, why, sizeof(why));
  if(xr != GW_XML_OK) {
    char detail[300];
    /* an error status with an unreadable body is still an error status */
    if(!status_in(status, a->ok_status, a->n_ok_status)) {
      error_status(a, status, out);
      return;
    }
    snprintf(detail, sizeof(detail), "response rejected: %s", gw_xml_strerror(xr));
    gw_codec_result_fail(out, a->n_facts, GW_FERR_BAD_RESPONSE, detail);
    return;
  }
  rr = gw_mapping_rule_matches_xml(a, &a->fault, status, doc, why, sizeof(why));
  if(rr == GW_RULE_MATCH) {
    gw_codec_result_fail(out, a->n_facts, GW_FERR_AGENCY_FAULT, "the agency reported a fault");
    out->retryable = status >= 500;
    goto out;
  }
  if(!status_in(status, a->ok_status, a->n_ok_status)) {
    if(gw_mapping_rule_matches_xml(a, &a->not_found, status, doc, why, sizeof(why)) == GW_RULE_MATCH)
      all_not_found(out, a->n_facts, "the agency has no record");
    else
      error_status(a, status, out);
    goto out;
  }
  if(a->verify == GW_VERIFY_XMLDSIG) {
    xmlNodePtr mapped = signed_node(a, doc);
    enum gw_xmlsig_result sr;
    char detail[300];
    if(!mapped) {
      gw_codec_result_fail(out, a->n_facts, GW_FERR_BAD_SIGNATURE,
                           "the response has no single element to verify (verify.signed_node)");
      goto out;
    }
    sr = gw_xmlsig_verify(keys->xmlsig, doc, mapped, why, sizeof(why));
    if(sr != GW_XMLSIG_OK) {
      snprintf(detail, sizeof(detail), "%s: %s", gw_xmlsig_result_name(sr), why);
      gw_codec_result_fail(out, a->n_facts, GW_FERR_BAD_SIGNATURE, detail);
      goto out;
    }
    out->signature = "xmldsig";
  }
  if(gw_mapping_rule_matches_xml(a, &a->not_found, status, doc, why, sizeof(why)) == GW_RULE_MATCH) {
    all_not_found(out, a->n_facts, "the agency has no record");
    goto out;
  }
  out->n_facts = a->n_facts;
  for(size_t i = 0; i < a->n_facts; i++) {
    json_t *value = NULL;
    const struct gw_value_spec *spec = spec_of(a, i);
    enum gw_map_result mr = spec ? gw_mapping_xml(a, spec, doc, &value, why, sizeof(why))
                                 : GW_MAP_BAD_PATH;
    accept_value(a, schemas, i, mr, value, spec ? why : "no mapping", out);
  }

out:
  xmlFreeDoc(doc);
}

static void process_json_doc(const struct gw_adapter *a, const struct gw_factschema_set *schemas,
                             int status, const json_t *doc, struct gw_codec_result *out)
{
  char why[256];
  if(gw_mapping_rule_matches_json(&a->fault, status, doc, why, sizeof(why)) == GW_RULE_MATCH) {
    gw_codec_result_fail(out, a->n_facts, GW_FERR_AGENCY_FAULT, "the agency reported a fault");
    out->retryable = status >= 500;
    return;
  }
  if(!status_in(status, a->ok_status, a->n_ok_status)) {
    if(gw_mapping_rule_matches_json(&a->not_found, status, doc, why, sizeof(why)) == GW_RULE_MATCH)
      all_not_found(out, a->n_facts, "the agency has no record");
    else
      error_status(a, status, out);
    return;
  }
  if(gw_mapping_rule_matches_json(&a->not_found, status, doc, why, sizeof(why)) == GW_RULE_MATCH) {
    all_not_found(out, a->n_facts, "the agency has no record");
    return;
  }
  out->n_facts = a->n_facts;
  for(size_t i = 0; i < a->n_facts; i++) {
    json_t *value = NULL;
    const struct gw_value_spec *spec = spec_of(a, i);
    enum gw_map_result mr = spec ? gw_mapping_json(spec, doc, &value, why, sizeof(why))
                                 : GW_MAP_BAD_PATH;
    accept_value(a, schemas, i, mr, value, spec ? why : "no mapping", out);
  }
}

static json_t *parse_json(const void *buf, size_t len)
{
  return json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
}

static void process_json(const struct gw_adapter *a, const struct gw_codec_keys *keys,
                         const struct gw_factschema_set *schemas, int status,
                         const unsigned char *body, size_t len, struct gw_codec_result *out)
{
  json_t *doc = NULL;
  unsigned char *payload = NULL;
  size_t plen;
  size_t skip = 0;

  while(skip < len && (body[skip] == ' ' || body[skip] == '\n' || body[skip] == '\r' ||
                       body[skip] == '\t'))
    skip++;
  if(a->protocol == GW_PROTO_JWS_JSON && skip < len && body[skip] != '{') {
    /* A signed answer: the JSON is only what the agency's key vouches for. */
    size_t end = len;
    enum gw_jws_result jr;
    while(end > skip && (body[end - 1] == '\n' || body[end - 1] == '\r' || body[end - 1] == ' '))
      end--;
    jr = gw_jws_verify_compact(keys->jws, NULL, (const char *)body + skip, end - skip,
                               &payload, &plen, NULL);
    if(jr != GW_JWS_OK) {
      char detail[160];
      if(!status_in(status, a->ok_status, a->n_ok_status)) {
        error_status(a, status, out);
        return;
      }
      snprintf(detail, sizeof(detail), "agency JWS rejected: %s", gw_jws_strerror(jr));
      gw_codec_result_fail(out, a->n_facts, GW_FERR_BAD_SIGNATURE, detail);
      return;
    }
    out->signature = "jws";
    doc = parse_json(payload, plen);
    gw_free(payload);
    if(!doc) {
      gw_codec_result_fail(out, a->n_facts, GW_FERR_BAD_RESPONSE,
                           "the signed payload is not JSON");
      return;
    }
  }
  else {
    doc = parse_json(body, len);
    if(!doc) {
      if(!status_in(status, a->ok_status, a->n_ok_status))
        error_status(a, status, out);
      else
        gw_codec_result_fail(out, a->n_facts, GW_FERR_BAD_RESPONSE,
                             "response is not well-formed JSON");
      return;
    }
    /* An unsigned success from an agency that signs is not a success. */
    if(a->protocol == GW_PROTO_JWS_JSON && status_in(status, a->ok_status, a->n_ok_status) &&
       gw_mapping_rule_matches_json(&a->fault, status, doc, NULL, 0) != GW_RULE_MATCH) {
      json_decref(doc);
      gw_codec_result_fail(out, a->n_facts, GW_FERR_BAD_SIGNATURE,
                           "the agency's answer is not signed");
      return;
    }
  }
  process_json_doc(a, schemas, status, doc, out);
  json_decref(doc);
}

void gw_codec_process(const struct gw_adapter *a, const struct gw_codec_keys *keys,
                      const struct gw_factschema_set *schemas, int http_status,
                      const unsigned char *body, size_t len, struct gw_codec_result *out)
{
  memset(out, 0, sizeof(*out));
  out->signature = "none";
  out->n_facts = a->n_facts;
  if(!len) {
    if(!status_in(http_status, a->ok_status, a->n_ok_status) &&
       a->not_found.n_status && status_in(http_status, a->not_found.status, a->not_found.n_status) &&
       !a->not_found.test)
      all_not_found(out, a->n_facts, "the agency has no record");
    else if(!status_in(http_status, a->ok_status, a->n_ok_status))
      error_status(a, http_status, out);
    else
      gw_codec_result_fail(out, a->n_facts, GW_FERR_BAD_RESPONSE, "empty response");
    return;
  }
  if(gw_protocol_is_xml(a->protocol))
    process_xml(a, keys, schemas, http_status, body, len, out);
  else
    process_json(a, keys, schemas, http_status, body, len, out);
}
