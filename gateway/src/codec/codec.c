/*
 * codec.c - request building and response processing for every protocol
 * family.
 *
 * The families differ in three small things only: how a body is escaped
 * (XML or JSON), how a response is parsed (hardened libxml2, strict
 * jansson, or a compact JWS around JSON) and which signature it carries.
 * So there is one pipeline with two parsers, not five codecs: a family that
 * does not fit would get its own process function behind the same header.
 *
 * A paged JSON answer (request.paging) goes through the same pipeline: each
 * page alone up to the subject check (json_answer), then the pages' item
 * arrays joined into page 1's document, which is mapped once (map_json).
 */
#include "codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <openssl/evp.h>
#include <strings.h>

#include "gw/alloc.h"
#include "gw/b64.h"
#include "gw/factschema.h"
#include "gw/gm.h"
#include "gw/jws.h"
#include "mapping.h"
#include "template.h"
#include "gw/xmlsafe.h"
#include "gw/xmlsig.h"

#define CODEC_MAX_URL 8192
/* Longest subject value read from an answer (an id is 18, a hex digest 64). */
#define SUBJECT_MAX 128

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
    k->xmlsig = gw_xmlsig_verifier_new_pem_alg(a->verify_cert, strlen(a->verify_cert),
                                               a->verify_alg, err, errlen);
    if(k->xmlsig && a->verify_sm2_id &&
       gw_xmlsig_verifier_set_sm2_id(k->xmlsig, a->verify_sm2_id)) {
      snprintf(err, errlen, "verify.sm2_id: needs an SM2 certificate and 1 to %d printable "
               "ASCII characters", GW_GM_SM2_ID_MAX);
      gw_xmlsig_verifier_free(k->xmlsig);
      k->xmlsig = NULL;
    }
    return k->xmlsig ? 0 : -1;
  }
  if(a->verify == GW_VERIFY_JWS) {
    enum gw_jws_result r = gw_jws_key_from_pem(a->verify_key, strlen(a->verify_key), &k->jws);
    if(r != GW_JWS_OK) {
      snprintf(err, errlen, "verify.key: %s", gw_jws_strerror(r));
      return -1;
    }
    if(a->verify_sm2_id && gw_jws_key_set_sm2_id(k->jws, a->verify_sm2_id) != GW_JWS_OK) {
      snprintf(err, errlen, "verify.sm2_id: needs an SM2 key and 1 to %d printable ASCII "
               "characters", GW_GM_SM2_ID_MAX);
      gw_jws_key_free(k->jws);
      k->jws = NULL;
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

/* Appends "&name=value" (or "?..." first) for a paging parameter. */
static int add_param(char *url, size_t *url_len, const char *base, const char *name, long v)
{
  char val[24];
  size_t klen = strlen(name), vlen;
  snprintf(val, sizeof(val), "%ld", v);
  vlen = strlen(val);
  if(*url_len + 1 + klen + 1 + vlen > CODEC_MAX_URL)
    return -1;
  url[*url_len] = memchr(url, '?', *url_len) || strchr(base, '?') ? '&' : '?';
  (*url_len)++;
  memcpy(url + *url_len, name, klen);
  *url_len += klen;
  url[(*url_len)++] = '=';
  memcpy(url + *url_len, val, vlen);
  *url_len += vlen;
  return 0;
}

static int build(const struct gw_adapter *a, const char *subject_id,
                 const char *subject_name, const char *request_id, time_t now, long page,
                 struct gw_codec_request *out, char *err, size_t errlen);

int gw_codec_build(const struct gw_adapter *a, const char *subject_id,
                   const char *subject_name, const char *request_id, time_t now,
                   struct gw_codec_request *out, char *err, size_t errlen)
{
  return build(a, subject_id, subject_name, request_id, now,
               a->paging.page_param ? a->paging.first : -1, out, err, errlen);
}

int gw_codec_build_page(const struct gw_adapter *a, const char *subject_id,
                        const char *subject_name, const char *request_id, time_t now,
                        long page, struct gw_codec_request *out, char *err, size_t errlen)
{
  if(!a->paging.page_param || page < a->paging.first) {
    memset(out, 0, sizeof(*out));
    snprintf(err, errlen, "no page %ld: the adapter %s", page,
             a->paging.page_param ? "numbers its pages from request.paging.first"
                                  : "has no request.paging");
    return -1;
  }
  return build(a, subject_id, subject_name, request_id, now, page, out, err, errlen);
}

static int build(const struct gw_adapter *a, const char *subject_id,
                 const char *subject_name, const char *request_id, time_t now, long page,
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
  if(page >= 0 && (add_param(url, &url_len, a->url, a->paging.page_param, page) ||
                   (a->paging.size_param &&
                    add_param(url, &url_len, a->url, a->paging.size_param, a->paging.size))))
    goto too_long;
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

/* An empty body: only an error status or a status-only not_found rule can
 * make sense of it. */
static void empty_answer(const struct gw_adapter *a, int http_status, struct gw_codec_result *out)
{
  if(!status_in(http_status, a->ok_status, a->n_ok_status) && a->verify == GW_VERIFY_NONE &&
     a->not_found.n_status && status_in(http_status, a->not_found.status, a->not_found.n_status) &&
     !a->not_found.test)
    all_not_found(out, a->n_facts, "the agency has no record");
  else if(!status_in(http_status, a->ok_status, a->n_ok_status))
    error_status(a, http_status, out);
  else
    gw_codec_result_fail(out, a->n_facts, GW_FERR_BAD_RESPONSE, "empty response");
}

/* Maps and schema-checks one fact value (already produced by `mapped`). */
static void accept_value(const struct gw_adapter *a, const struct gw_factschema_set *schemas,
                         size_t i, enum gw_map_result mr, json_t *value, const char *why,
                         struct gw_codec_result *out)
{
  struct gw_fact_result *f = &out->facts[i];
  char serr[160];
  if(mr == GW_MAP_NOT_FOUND) {
    /* the answer is good; it just holds nothing for this fact */
    f->status = GW_FACT_NOT_FOUND;
    snprintf(f->detail, sizeof(f->detail), "the agency has no record (%s)", why);
    return;
  }
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

/* Every fact not found (each by its own mapping): a negative answer. */
static void mark_negative(struct gw_codec_result *out)
{
  out->negative = out->n_facts > 0;
  for(size_t i = 0; i < out->n_facts; i++)
    if(out->facts[i].status != GW_FACT_NOT_FOUND)
      out->negative = 0;
}

static const struct gw_value_spec *spec_of(const struct gw_adapter *a, size_t i)
{
  for(size_t m = 0; m < a->n_mappings; m++)
    if(!strcmp(a->mappings[m].fact, a->facts[i]))
      return a->mappings[m].spec;
  return NULL;
}

/* ---- subject binding -------------------------------------------------------- */

/* Does the subject value an answer names (s[0..n), already trimmed) stand
 * for subject_id in the adapter's form?  Both forms ignore ASCII case: an
 * identity number's check character X and hex digits alike. */
static int subject_equals(const struct gw_adapter *a, const char *subject_id,
                          const char *s, size_t n)
{
  char want[2 * EVP_MAX_MD_SIZE + 1];
  if(a->subject_form == GW_SUBJECT_SHA256) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if(!EVP_Digest(subject_id, strlen(subject_id), md, &mdlen, EVP_sha256(), NULL))
      return 0;
    gw_hex_encode(md, mdlen, want);
  }
  else
    snprintf(want, sizeof(want), "%s", subject_id);
  return n == strlen(want) && !strncasecmp(s, want, n);
}

/* Fails every fact when the answer is not about subject_id.  0 when it is
 * (or the adapter does not bind answers).  Details never hold either id. */
static int subject_check(const struct gw_adapter *a, const char *subject_id, const char *s,
                         size_t n, int named, struct gw_codec_result *out)
{
  if(a->subject_form == GW_SUBJECT_NONE)
    return 0;
  if(!subject_id) {
    gw_codec_result_fail(out, a->n_facts, GW_FERR_BAD_RESPONSE,
                         "no subject to bind the answer to");
    return -1;
  }
  if(!named) {
    gw_codec_result_fail(out, a->n_facts, GW_FERR_BAD_RESPONSE,
                         "the answer does not name its subject (response.subject.path)");
    return -1;
  }
  while(n && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')) {
    s++;
    n--;
  }
  while(n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
    n--;
  if(!subject_equals(a, subject_id, s, n)) {
    gw_codec_result_fail(out, a->n_facts, GW_FERR_BAD_RESPONSE,
                         "the answer is about another subject");
    return -1;
  }
  return 0;
}

static int subject_check_xml(const struct gw_adapter *a, const char *subject_id, xmlDocPtr doc,
                             struct gw_codec_result *out)
{
  xmlXPathContextPtr ctx;
  xmlXPathObjectPtr res = NULL;
  xmlChar *text = NULL;
  int rc;

  if(a->subject_form == GW_SUBJECT_NONE || !subject_id)
    return subject_check(a, subject_id, NULL, 0, 0, out);
  ctx = xmlXPathNewContext(doc);
  if(ctx) {
    for(size_t i = 0; i < a->n_namespaces; i++)
      xmlXPathRegisterNs(ctx, BAD_CAST a->namespaces[i].name, BAD_CAST a->namespaces[i].value);
    res = xmlXPathEvalExpression(BAD_CAST a->subject_path, ctx);
  }
  if(res && res->type == XPATH_NODESET) {
    if(res->nodesetval && res->nodesetval->nodeNr == 1)
      text = xmlXPathCastNodeToString(res->nodesetval->nodeTab[0]);
  }
  else if(res && res->type == XPATH_STRING)
    text = xmlStrdup(res->stringval);
  rc = subject_check(a, subject_id, text ? (const char *)text : NULL,
                     text ? strnlen((const char *)text, SUBJECT_MAX + 1) : 0, text != NULL, out);
  xmlFree(text);
  xmlXPathFreeObject(res);
  xmlXPathFreeContext(ctx);
  return rc;
}

static int subject_check_json(const struct gw_adapter *a, const char *subject_id,
                              const json_t *doc, struct gw_codec_result *out)
{
  json_t *v = NULL;
  if(a->subject_form == GW_SUBJECT_NONE || !subject_id)
    return subject_check(a, subject_id, NULL, 0, 0, out);
  if(gw_mapping_pointer_get(doc, a->subject_path, &v, NULL, 0) != GW_MAP_OK ||
     !json_is_string(v))
    return subject_check(a, subject_id, NULL, 0, 0, out);
  return subject_check(a, subject_id, json_string_value(v),
                       json_string_length(v) > SUBJECT_MAX ? SUBJECT_MAX + 1
                                                           : json_string_length(v), 1, out);
}

/* ---- XML ---------------------------------------------------------------------- */

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
                        const struct gw_factschema_set *schemas, const char *subject_id,
                        int status, const unsigned char *body, size_t len,
                        struct gw_codec_result *out)
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
    /* An agency that signs its answers must sign "no record" too: an
     * unsigned one could be anybody's, and would be cached as negative. */
    if(a->verify == GW_VERIFY_NONE &&
       gw_mapping_rule_matches_xml(a, &a->not_found, status, doc, why, sizeof(why)) == GW_RULE_MATCH)
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
  if(subject_check_xml(a, subject_id, doc, out))
    goto out;
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
  mark_negative(out);

out:
  xmlFreeDoc(doc);
}

/* ---- JSON ---------------------------------------------------------------------- */

static json_t *parse_json(const void *buf, size_t len)
{
  return json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
}

/* Steps 1 to 4 and the subject binding for one JSON (or JWS) answer: the
 * document (the caller's) when it carries data to map, else NULL with *out
 * saying what the answer meant. */
static json_t *json_answer(const struct gw_adapter *a, const struct gw_codec_keys *keys,
                           const char *subject_id, int status, const unsigned char *body,
                           size_t len, struct gw_codec_result *out)
{
  char why[256];
  json_t *doc = NULL;
  unsigned char *payload = NULL;
  size_t plen;
  size_t skip = 0;

  if(!len) {
    empty_answer(a, status, out);
    return NULL;
  }
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
        return NULL;
      }
      snprintf(detail, sizeof(detail), "agency JWS rejected: %s", gw_jws_strerror(jr));
      gw_codec_result_fail(out, a->n_facts, GW_FERR_BAD_SIGNATURE, detail);
      return NULL;
    }
    out->signature = "jws";
    doc = parse_json(payload, plen);
    gw_free(payload);
    if(!doc) {
      gw_codec_result_fail(out, a->n_facts, GW_FERR_BAD_RESPONSE,
                           "the signed payload is not JSON");
      return NULL;
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
      return NULL;
    }
    /* An unsigned success from an agency that signs is not a success. */
    if(a->protocol == GW_PROTO_JWS_JSON && status_in(status, a->ok_status, a->n_ok_status) &&
       gw_mapping_rule_matches_json(&a->fault, status, doc, NULL, 0) != GW_RULE_MATCH) {
      json_decref(doc);
      gw_codec_result_fail(out, a->n_facts, GW_FERR_BAD_SIGNATURE,
                           "the agency's answer is not signed");
      return NULL;
    }
  }
  if(gw_mapping_rule_matches_json(&a->fault, status, doc, why, sizeof(why)) == GW_RULE_MATCH) {
    gw_codec_result_fail(out, a->n_facts, GW_FERR_AGENCY_FAULT, "the agency reported a fault");
    out->retryable = status >= 500;
    goto fail;
  }
  if(!status_in(status, a->ok_status, a->n_ok_status)) {
    /* As for XML: "no record" from a signing agency counts only if signed. */
    if((a->verify == GW_VERIFY_NONE || strcmp(out->signature, "none")) &&
       gw_mapping_rule_matches_json(&a->not_found, status, doc, why, sizeof(why)) == GW_RULE_MATCH)
      all_not_found(out, a->n_facts, "the agency has no record");
    else
      error_status(a, status, out);
    goto fail;
  }
  if(subject_check_json(a, subject_id, doc, out))
    goto fail;
  return doc;

fail:
  json_decref(doc);
  return NULL;
}

/* Steps 5 and 6 on a document json_answer accepted. */
static void map_json(const struct gw_adapter *a, const struct gw_factschema_set *schemas,
                     int status, const json_t *doc, struct gw_codec_result *out)
{
  char why[256];
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
  mark_negative(out);
}

static void result_init(const struct gw_adapter *a, struct gw_codec_result *out)
{
  memset(out, 0, sizeof(*out));
  out->signature = "none";
  out->n_facts = a->n_facts;
}

void gw_codec_process(const struct gw_adapter *a, const struct gw_codec_keys *keys,
                      const struct gw_factschema_set *schemas, const char *subject_id,
                      int http_status, const unsigned char *body, size_t len,
                      struct gw_codec_result *out)
{
  json_t *doc;

  if(a->paging.page_param) {
    struct gw_codec_page page = { http_status, body, len };
    gw_codec_process_pages(a, keys, schemas, subject_id, &page, 1, out);
    return;
  }
  result_init(a, out);
  if(!len) {
    empty_answer(a, http_status, out);
    return;
  }
  if(gw_protocol_is_xml(a->protocol)) {
    process_xml(a, keys, schemas, subject_id, http_status, body, len, out);
    return;
  }
  if((doc = json_answer(a, keys, subject_id, http_status, body, len, out))) {
    map_json(a, schemas, http_status, doc, out);
    json_decref(doc);
  }
}

/* ---- paging ------------------------------------------------------------------------ */

/* The page count at paging.total_pages: 0 and *total, or -1. */
static int page_count(const struct gw_adapter *a, const json_t *doc, long long *total)
{
  json_t *v = NULL;
  if(gw_mapping_pointer_get(doc, a->paging.total_pages, &v, NULL, 0) != GW_MAP_OK ||
     !json_is_integer(v) || json_integer_value(v) < 0)
    return -1;
  *total = json_integer_value(v);
  return 0;
}

int gw_codec_page_total(const struct gw_adapter *a, const struct gw_codec_keys *keys,
                        const char *subject_id, int http_status, const unsigned char *body,
                        size_t len, long long *total_pages)
{
  struct gw_codec_result scratch;
  json_t *doc;
  int rc = -1;

  if(!a->paging.page_param)
    return -1;
  result_init(a, &scratch);
  doc = json_answer(a, keys, subject_id, http_status, body, len, &scratch);
  if(doc)
    rc = page_count(a, doc, total_pages);
  json_decref(doc);
  gw_codec_result_clear(&scratch);
  return rc;
}

/* Puts `value` at JSON Pointer `ptr` (not "") of doc, replacing what is
 * there; the parent must exist.  0 or -1. */
static int set_at(json_t *doc, const char *ptr, json_t *value)
{
  const char *slash = strrchr(ptr, '/');
  char parent_ptr[GW_ADAPTER_EXPR_MAX + 1], tok[GW_ADAPTER_EXPR_MAX + 1];
  json_t *parent = NULL;
  size_t n = 0;

  if(!slash || (size_t)(slash - ptr) > GW_ADAPTER_EXPR_MAX)
    return -1;
  snprintf(parent_ptr, sizeof(parent_ptr), "%.*s", (int)(slash - ptr), ptr);
  if(gw_mapping_pointer_get(doc, parent_ptr, &parent, NULL, 0) != GW_MAP_OK)
    return -1;
  for(const char *p = slash + 1; *p && n < GW_ADAPTER_EXPR_MAX; p++) {
    if(*p == '~' && (p[1] == '0' || p[1] == '1')) {
      tok[n++] = p[1] == '1' ? '/' : '~';
      p++;
    }
    else
      tok[n++] = *p;
  }
  tok[n] = '\0';
  if(json_is_object(parent))
    return json_object_set(parent, tok, value) ? -1 : 0;
  if(json_is_array(parent)) {
    char *end;
    unsigned long idx = strtoul(tok, &end, 10);
    if(!*tok || *end || (tok[0] == '0' && tok[1]))
      return -1;
    return json_array_set(parent, idx, value) ? -1 : 0;
  }
  return -1;
}

/* "page N of M: " before every detail a later page's failure left. */
static void page_prefix(struct gw_codec_result *out, size_t page, size_t n)
{
  for(size_t i = 0; i < out->n_facts; i++) {
    char detail[sizeof(out->facts[i].detail)];
    /* the detail is cut to fit; %.150s keeps the compiler's arithmetic exact */
    snprintf(detail, sizeof(detail), "page %zu of %zu: %.150s", page % 1000, n % 1000,
             out->facts[i].detail);
    memcpy(out->facts[i].detail, detail, sizeof(detail));
  }
}

void gw_codec_process_pages(const struct gw_adapter *a, const struct gw_codec_keys *keys,
                            const struct gw_factschema_set *schemas, const char *subject_id,
                            const struct gw_codec_page *pages, size_t n,
                            struct gw_codec_result *out)
{
  const struct gw_paging *pg = &a->paging;
  json_t **docs = NULL, *items = NULL;
  long long total = 0;
  char detail[192];

  result_init(a, out);
  if(!n || (!pg->page_param && n > 1)) {
    gw_codec_result_fail(out, a->n_facts, GW_FERR_BAD_RESPONSE,
                         n ? "several pages for an adapter without request.paging"
                           : "no answer");
    return;
  }
  if(!pg->page_param) {
    gw_codec_process(a, keys, schemas, subject_id, pages[0].http_status, pages[0].body,
                     pages[0].len, out);
    return;
  }
  docs = gw_calloc(n, sizeof(*docs));
  for(size_t i = 0; i < n; i++) {
    docs[i] = json_answer(a, keys, subject_id, pages[i].http_status, pages[i].body,
                          pages[i].len, out);
    if(docs[i])
      continue;
    if(i && out->negative) {
      /* "no record" after page 1 had an answer: the pages disagree */
      out->negative = 0;
      gw_codec_result_fail(out, a->n_facts, GW_FERR_BAD_RESPONSE,
                           "the agency said it has no record after page 1 answered");
    }
    if(n > 1)
      page_prefix(out, i + 1, n);
    goto out;
  }
  if(page_count(a, docs[0], &total)) {
    snprintf(detail, sizeof(detail), "request.paging.total_pages (%.80s) is not a page count",
             pg->total_pages);
    gw_codec_result_fail(out, a->n_facts, GW_FERR_BAD_RESPONSE, detail);
    goto out;
  }
  if(total > pg->max_pages) {
    /* the count is the agency's: a long one is not repeated (it could be
     * anything, an identity number included), only said to be large */
    if(total <= 99999)
      snprintf(detail, sizeof(detail), "the answer has %lld pages, more than "
               "request.paging.max_pages (%d)", total, pg->max_pages);
    else
      snprintf(detail, sizeof(detail), "the answer has more than 99999 pages, more than "
               "request.paging.max_pages (%d)", pg->max_pages);
    gw_codec_result_fail(out, a->n_facts, GW_FERR_BAD_RESPONSE, detail);
    goto out;
  }
  if((long long)n != (total ? total : 1)) {
    snprintf(detail, sizeof(detail), "got %zu of the answer's %lld pages", n, total ? total : 1);
    gw_codec_result_fail(out, a->n_facts, GW_FERR_BAD_RESPONSE, detail);
    goto out;
  }
  items = json_array();
  for(size_t i = 0; i < n; i++) {
    json_t *v = NULL;
    long long t = 0;
    if(i && (page_count(a, docs[i], &t) || t != total)) {
      snprintf(detail, sizeof(detail), "page %zu counts other than %lld pages (the records "
               "changed while paging)", i + 1, total);
      gw_codec_result_fail(out, a->n_facts, GW_FERR_BAD_RESPONSE, detail);
      goto out;
    }
    if(gw_mapping_pointer_get(docs[i], pg->items, &v, NULL, 0) != GW_MAP_OK || json_is_null(v))
      continue;                /* a page without items adds none */
    if(!json_is_array(v)) {
      snprintf(detail, sizeof(detail), "page %zu: request.paging.items (%.80s) is not an array",
               i + 1, pg->items);
      gw_codec_result_fail(out, a->n_facts, GW_FERR_BAD_RESPONSE, detail);
      goto out;
    }
    if(json_array_size(items) + json_array_size(v) > GW_MAP_MAX_LIST_ITEMS) {
      snprintf(detail, sizeof(detail), "the pages hold more than %u items", GW_MAP_MAX_LIST_ITEMS);
      gw_codec_result_fail(out, a->n_facts, GW_FERR_BAD_RESPONSE, detail);
      goto out;
    }
    json_array_extend(items, v);
  }
  if(json_array_size(items) && set_at(docs[0], pg->items, items)) {
    snprintf(detail, sizeof(detail), "page 1 has no place for the items at "
             "request.paging.items (%.80s)", pg->items);
    gw_codec_result_fail(out, a->n_facts, GW_FERR_BAD_RESPONSE, detail);
    goto out;
  }
  map_json(a, schemas, pages[0].http_status, docs[0], out);

out:
  json_decref(items);
  for(size_t i = 0; docs && i < n; i++)
    json_decref(docs[i]);
  gw_free(docs);
}
