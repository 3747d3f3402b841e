/*
 * adapter_load.c - reads one adapter definition (JSON) into a struct
 * gw_adapter, refusing every mistake with "FILE: FIELD: PROBLEM".
 *
 * The one idea: the file is walked section by section in a fixed order, and
 * every accessor knows the dotted path of the member it reads, so the first
 * problem found is reported precisely and nothing after it is (struct
 * gw_adl's jr.failed).  Each object is checked for unknown members *before* its
 * members are read: a misspelt "ca_flie" is reported as unknown rather than
 * as a missing "ca_file".  Duplicate members are refused by the JSON parser.
 *
 * Sections and their order: identity (id, version, agency, description,
 * facts, protocol), endpoint, request, tls, auth, response (namespaces
 * first, since every XPath after them depends on them), verify, mapping
 * (adapter_spec.c), policy, cache.  Cross-field rules are checked where the
 * second field is read (GET has no body; mtls needs a client certificate;
 * xmldsig needs an XML protocol).  Nothing here touches the network; files
 * are read (certificates, keys, secrets) and the environment is consulted
 * for "env:" secrets, so a definition that loads is one the upstream engine
 * can use.  Format reference: docs/adapter-format.md.
 */
#include "adapter_int.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/evp.h>

#include "gw/alloc.h"
#include "gw/b64.h"
#include "gw/facts.h"
#include "gw/gm.h"
#include "gw/jws.h"
#include "gw/xmlsig.h"
#include "template.h"

#define URL_MAX 2048
#define TEXT_MAX 512                 /* description, client_id, scope, ... */

/* A string matching [first][rest]{0,max-1}, where first/rest are classes
 * given as a set of extra characters beside a-z and 0-9. */
static int name_ok(const char *s, const char *rest_extra, size_t max)
{
  size_t len = strlen(s);
  if(!len || len > max || !(islower((unsigned char)s[0]) || isdigit((unsigned char)s[0])))
    return 0;
  for(size_t i = 1; i < len; i++)
    if(!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) ||
         strchr(rest_extra, s[i])))
      return 0;
  return 1;
}

/* --- identity ---------------------------------------------------------- */

static void read_facts(struct gw_adl *r, json_t *root)
{
  struct gw_adapter *a = r->a;
  json_t *arr = gw_adl_array(r, root, "", "facts", 1, GW_ADAPTER_MAX_FACTS);
  size_t i;
  json_t *v;
  if(!arr)
    return;
  json_array_foreach(arr, i, v) {
    char field[GW_ADL_FIELD_MAX];
    const char *name;
    gw_adl_index(field, sizeof(field), "facts", i);
    if(!(name = gw_adl_string_value(r, v, field, 64)))
      return;
    if(!gw_fact_find(name)) {
      gw_adl_fail(r, field, "unknown fact \"%s\" (not in the fact catalogue; "
                  "see GET /v1/facts/catalogue)", name);
      return;
    }
    for(size_t j = 0; j < a->n_facts; j++)
      if(!strcmp(a->facts[j], name)) {
        gw_adl_fail(r, field, "\"%s\" is listed twice", name);
        return;
      }
    a->facts[a->n_facts++] = gw_strdup(name);
  }
}

static void read_identity(struct gw_adl *r, json_t *root)
{
  static const char *const protocols[] = { "soap11", "soap12", "json", "xml",
                                           "jws-json", NULL };
  struct gw_adapter *a = r->a;
  json_t *v;
  int p;

  a->id = gw_adl_string(r, root, "", "id", 1, 64);
  if(a->id && !name_ok(a->id, "._-", 64))
    gw_adl_fail(r, "id", "must match [a-z0-9][a-z0-9._-]{0,63} (got \"%s\")", a->id);
  v = json_object_get(root, "version");
  if(!r->jr.failed && !v)
    gw_adl_fail(r, "version", "missing (an integer >= 1 is required)");
  else if(!r->jr.failed && !json_is_integer(v))
    gw_adl_fail(r, "version", "must be an integer");
  else if(!r->jr.failed && (json_integer_value(v) < 1 || json_integer_value(v) > INT_MAX))
    gw_adl_fail(r, "version", "must be between 1 and %d (got %lld)", INT_MAX,
                (long long)json_integer_value(v));
  else if(!r->jr.failed)
    a->version = (int)json_integer_value(v);
  a->agency = gw_adl_string(r, root, "", "agency", 1, 32);
  if(a->agency && !name_ok(a->agency, "_-", 32))
    gw_adl_fail(r, "agency", "must match [a-z0-9][a-z0-9_-]{0,31} (got \"%s\")",
                a->agency);
  a->description = gw_adl_string(r, root, "", "description", 0, TEXT_MAX);
  /* Which of several adapters serving one fact is asked first (1), next (2)... */
  a->order = (int)gw_adl_int(r, root, "", "order", 1, 1, GW_ADAPTER_MAX_ORDER);
  if(r->jr.failed)
    return;
  read_facts(r, root);
  p = gw_adl_choice(r, root, "", "protocol", protocols,
             "soap11, soap12, json, xml, jws-json");
  if(p >= 0)
    a->protocol = (enum gw_protocol)p;
}

/* --- endpoint and request ---------------------------------------------- */

/* Our template check (for its messages and the strict "}}" rule), then the
 * template engine's own (gw/template.h), so what loads also expands. */
static int template_ok(struct gw_adl *r, const char *tmpl, enum gw_adl_tmpl kind,
                       const char *field, size_t *n_placeholders)
{
  char why[400];
  if(gw_adl_check_template(tmpl, kind, n_placeholders, why, sizeof(why))) {
    gw_adl_fail(r, field, "%s", why);
    return 0;
  }
  if(gw_template_check(tmpl, why, sizeof(why))) {
    gw_adl_fail(r, field, "refused by the template engine: %s", why);
    return 0;
  }
  return 1;
}

/* Header and query names whose literal value is a credential in every API
 * we know ("X-Api-Key", "appSecret", "access_token"); compared without case,
 * '-' or '_'.  A credential belongs in auth, read from env: or file:. */
static int credential_name(const char *name)
{
  static const char *const names[] = {
    "apikey", "xapikey", "apitoken", "xapitoken", "authtoken", "xauthtoken",
    "accesstoken", "xaccesstoken", "token", "secret", "clientsecret", "password",
    "passwd", "appkey", "xappkey", "appsecret", "xappsecret", "accesskey",
    "secretkey", NULL };
  char norm[64];
  size_t n = 0;
  for(const char *p = name; *p; p++) {
    if(*p == '-' || *p == '_')
      continue;
    if(n + 1 >= sizeof(norm))
      return 0;
    norm[n++] = (char)tolower((unsigned char)*p);
  }
  norm[n] = '\0';
  for(const char *const *k = names; *k; k++)
    if(!strcmp(*k, norm))
      return 1;
  return 0;
}

/* A fixed query string in endpoint.url must not carry a credential either. */
static void url_query_credentials(struct gw_adl *r, const char *url)
{
  const char *q = strchr(url, '?');
  if(!q)
    return;
  for(const char *p = q + 1; *p && *p != '#';) {
    size_t len = strcspn(p, "=&#");
    char name[64];
    if(len < sizeof(name)) {
      snprintf(name, sizeof(name), "%.*s", (int)len, p);
      if(credential_name(name)) {
        gw_adl_fail(r, "endpoint.url", "the query parameter \"%s\" would carry a "
                    "credential in the adapter file; use auth (the value comes "
                    "from env: or file:)", name);
        return;
      }
    }
    p += strcspn(p, "&#");
    if(*p == '&')
      p++;
  }
}

/* Whether a numeric host lies in endpoint.allow_addresses (which the
 * upstream engine applies to the endpoint and to the OAuth2 token URL
 * alike); true for names (resolved later) and when no list is given. */
static int host_allowed(const struct gw_adapter *a, const char *host)
{
  struct gw_net_cidr c;
  unsigned char addr[16];
  int family = gw_net_addr_parse(host, addr);
  if(!family)
    return 1;                  /* a name: resolved and checked later */
  for(size_t i = 0; i < a->n_allow; i++) {
    if(gw_net_cidr_parse(a->allow_cidrs[i], GW_NET_CIDR_STRICT, &c, NULL, 0))
      continue;                /* cannot happen: checked when read */
    if(gw_net_cidr_match(&c, family, addr))
      return 1;
  }
  return !a->n_allow;
}

static void read_endpoint(struct gw_adl *r, json_t *root)
{
  static const char *const known[] = { "url", "method", "allow_addresses", NULL };
  struct gw_adapter *a = r->a;
  struct gw_net_cidr cidr;
  json_t *ep = gw_adl_object(r, root, "", "endpoint", 1), *arr;
  char why[400], host[256] = "";
  size_t i;
  json_t *v;

  if(!ep || gw_adl_unknown(r, ep, "endpoint", known))
    return;
  a->url = gw_adl_string(r, ep, "endpoint", "url", 1, URL_MAX);
  if(a->url && template_ok(r, a->url, GW_ADL_TMPL_STRICT, "endpoint.url", NULL) &&
     gw_adl_check_url(a->url, 1, host, sizeof(host), why, sizeof(why)))
    gw_adl_fail(r, "endpoint.url", "%s", why);
  if(a->url)
    url_query_credentials(r, a->url);
  a->method = gw_adl_string(r, ep, "endpoint", "method", 1, 8);
  if(a->method && strcmp(a->method, "GET") && strcmp(a->method, "POST"))
    gw_adl_fail(r, "endpoint.method", "must be GET or POST (got \"%s\")", a->method);
  if(a->method && !strcmp(a->method, "GET") &&
     (a->protocol == GW_PROTO_SOAP11 || a->protocol == GW_PROTO_SOAP12))
    gw_adl_fail(r, "endpoint.method", "must be POST for protocol %s (SOAP "
                "requests are POSTs)", gw_protocol_name(a->protocol));
  if(r->jr.failed || !(arr = gw_adl_array(r, ep, "endpoint", "allow_addresses", 0,
                                       GW_ADAPTER_MAX_ALLOW)))
    return;
  json_array_foreach(arr, i, v) {
    char field[GW_ADL_FIELD_MAX];
    const char *s;
    gw_adl_index(field, sizeof(field), "endpoint.allow_addresses", i);
    if(!(s = gw_adl_string_value(r, v, field, 64)))
      return;
    if(gw_net_cidr_parse(s, GW_NET_CIDR_STRICT, &cidr, why, sizeof(why))) {
      gw_adl_fail(r, field, "%s", why);
      return;
    }
    a->allow_cidrs[a->n_allow++] = gw_strdup(s);
  }
  if(!host_allowed(a, host))
    gw_adl_fail(r, "endpoint.url", "host %s is outside endpoint.allow_addresses", host);
}

/* Headers the gateway sets itself, or that would hold a credential. */
const char *gw_adl_header_refused(const char *name)
{
  static const char *const framing[] = {
    "host", "content-length", "transfer-encoding", "connection", "keep-alive",
    "upgrade", "te", "trailer", "proxy-connection", "expect", NULL
  };
  static const char *const credentials[] = {
    "authorization", "proxy-authorization", "cookie", NULL
  };
  for(const char *const *h = framing; *h; h++)
    if(!strcasecmp(*h, name))
      return "is set by the gateway itself";
  if(!strcasecmp(name, "content-type"))
    return "is set from request.content_type";
  for(const char *const *h = credentials; *h; h++)
    if(!strcasecmp(*h, name))
      return "would carry a credential in the adapter file; use auth "
             "(type api_key names the header, the key comes from env: or file:)";
  return NULL;
}

/* request.headers or request.query: name -> template. */
static size_t read_templates(struct gw_adl *r, json_t *req, const char *key,
                             struct gw_kv *out, int headers)
{
  char at[64];
  json_t *obj = gw_adl_object(r, req, "request", key, 0), *v;
  const char *name;
  size_t n = 0;

  snprintf(at, sizeof(at), "request.%s", key);
  if(!obj)
    return 0;
  if(json_object_size(obj) > GW_ADAPTER_MAX_HEADERS) {
    gw_adl_fail(r, at, "at most %d entries (got %zu)", GW_ADAPTER_MAX_HEADERS,
                json_object_size(obj));
    return 0;
  }
  json_object_foreach(obj, name, v) {
    char field[GW_ADL_FIELD_MAX];
    const char *val, *refused;
    size_t placeholders = 0;
    gw_adl_join(field, sizeof(field), at, name);
    if(headers && !gw_adl_is_token(name)) {
      gw_adl_fail(r, field, "not a valid header name (letters, digits and "
                  "!#$%%&'*+-.^_`|~ only)");
      return n;
    }
    if(headers && (refused = gw_adl_header_refused(name))) {
      gw_adl_fail(r, field, "header %s", refused);
      return n;
    }
    if(!headers && (!*name || strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                            "0123456789._~-") != strlen(name))) {
      gw_adl_fail(r, field, "a query parameter name may hold only letters, "
                  "digits and . _ ~ -");
      return n;
    }
    for(size_t j = 0; headers && j < n; j++)
      if(!strcasecmp(out[j].name, name)) {
        gw_adl_fail(r, field, "header given twice (as \"%s\" and \"%s\"; header "
                    "names ignore case)", out[j].name, name);
        return n;
      }
    if(!(val = gw_adl_string_value(r, v, field, GW_ADAPTER_VALUE_MAX)))
      return n;
    if(!template_ok(r, val, GW_ADL_TMPL_STRICT, field, &placeholders))
      return n;
    if(!placeholders && credential_name(name)) {
      gw_adl_fail(r, field, "a literal %s would carry a credential in the adapter "
                  "file; use auth (type api_key, the value from env: or file:; the "
                  "value is not shown here)", headers ? "header" : "query parameter");
      return n;
    }
    out[n].name = gw_strdup(name);
    out[n].value = gw_strdup(val);
    n++;
  }
  return n;
}

/* request.body: like any string, except that a body may be laid out on
 * several lines (tabs, CR and LF are kept). */
static char *read_body(struct gw_adl *r, json_t *req)
{
  json_t *v = json_object_get(req, "body");
  const char *s;
  size_t len;
  if(!v)
    return NULL;
  if(!json_is_string(v)) {
    gw_adl_fail(r, "request.body", "must be a string (a body template)");
    return NULL;
  }
  s = json_string_value(v);
  len = json_string_length(v);
  if(!len) {
    gw_adl_fail(r, "request.body", "must not be empty");
    return NULL;
  }
  if(len > GW_ADAPTER_BODY_MAX) {
    gw_adl_fail(r, "request.body", "at most %d bytes (got %zu)", GW_ADAPTER_BODY_MAX, len);
    return NULL;
  }
  for(size_t i = 0; i < len; i++)
    if(((unsigned char)s[i] < 0x20 && !strchr("\t\r\n", s[i])) || s[i] == 0x7f) {
      gw_adl_fail(r, "request.body", "must not contain control characters "
                  "other than tab and line breaks (found 0x%02x at byte %zu)",
                  (unsigned char)s[i], i + 1);
      return NULL;
    }
  return gw_strdup(s);
}

static const char *default_content_type(enum gw_protocol p)
{
  switch(p) {
  case GW_PROTO_SOAP11: return "text/xml; charset=utf-8";
  case GW_PROTO_SOAP12: return "application/soap+xml; charset=utf-8";
  case GW_PROTO_XML: return "application/xml; charset=utf-8";
  default: return "application/json";
  }
}

static int media_type_ok(const char *s)
{
  char type[128];
  size_t len = strcspn(s, ";");
  const char *slash;
  if(len >= sizeof(type))
    return 0;
  snprintf(type, sizeof(type), "%.*s", (int)len, s);
  while(len && type[len - 1] == ' ')
    type[--len] = '\0';
  slash = strchr(type, '/');
  if(!slash || slash == type || !slash[1])
    return 0;
  type[slash - type] = '\0';
  return gw_adl_is_token(type) && gw_adl_is_token(slash + 1);
}

static int query_name_ok(const char *name)
{
  return *name && strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                               "0123456789._~-") == strlen(name);
}

/* Is `name` already a parameter of request.query or of endpoint.url? */
static int query_name_taken(const struct gw_adapter *a, const char *name)
{
  const char *q = a->url ? strchr(a->url, '?') : NULL;
  size_t n = strlen(name);
  for(size_t i = 0; i < a->n_query; i++)
    if(!strcmp(a->query[i].name, name))
      return 1;
  for(const char *p = q ? q + 1 : NULL; p && *p;) {
    size_t len = strcspn(p, "=&#");
    if(len == n && !memcmp(p, name, n))
      return 1;
    p += strcspn(p, "&#");
    p = *p == '&' ? p + 1 : NULL;
  }
  return 0;
}

static char *read_paging_param(struct gw_adl *r, json_t *pg, const char *key, int required)
{
  char field[GW_ADL_FIELD_MAX];
  char *s = gw_adl_string(r, pg, "request.paging", key, required, 64);
  gw_adl_join(field, sizeof(field), "request.paging", key);
  if(s && !query_name_ok(s))
    gw_adl_fail(r, field, "a query parameter name may hold only letters, digits "
                "and . _ ~ -");
  else if(s && query_name_taken(r->a, s))
    gw_adl_fail(r, field, "\"%s\" is already a parameter of request.query or "
                "endpoint.url; the gateway sets it for each page", s);
  return s;
}

static char *read_paging_pointer(struct gw_adl *r, json_t *pg, const char *key)
{
  char field[GW_ADL_FIELD_MAX];
  char *s = gw_adl_string(r, pg, "request.paging", key, 1, GW_ADAPTER_EXPR_MAX);
  gw_adl_join(field, sizeof(field), "request.paging", key);
  if(s && s[0] != '/')
    gw_adl_fail(r, field, "must be a JSON Pointer into the answer, starting with "
                "\"/\" (got \"%.40s\")", s);
  else if(s)
    gw_adl_expr(r, s, field, 0);
  return s;
}

/* request.paging: JSON answers only, the page number (and size) sent as
 * query parameters the gateway adds for each page. */
static void read_paging(struct gw_adl *r, json_t *req)
{
  static const char *const known[] = { "page_param", "size_param", "size", "first",
                                       "total_pages", "items", "max_pages", NULL };
  struct gw_adapter *a = r->a;
  struct gw_paging *pg = &a->paging;
  json_t *obj = gw_adl_object(r, req, "request", "paging", 0);

  if(!obj || gw_adl_unknown(r, obj, "request.paging", known))
    return;
  if(a->protocol != GW_PROTO_JSON) {
    gw_adl_fail(r, "request.paging", "only for protocol json (got %s): the pages' "
                "item arrays are joined as JSON", gw_protocol_name(a->protocol));
    return;
  }
  pg->page_param = read_paging_param(r, obj, "page_param", 1);
  if(!r->jr.failed)
    pg->size_param = read_paging_param(r, obj, "size_param", 0);
  if(!r->jr.failed && pg->size_param && !strcmp(pg->size_param, pg->page_param))
    gw_adl_fail(r, "request.paging.size_param", "must differ from page_param");
  if(!r->jr.failed && pg->size_param && !json_object_get(obj, "size"))
    gw_adl_fail(r, "request.paging.size", "missing: required with "
                "request.paging.size_param (the page size to ask for)");
  else if(!r->jr.failed && !pg->size_param && json_object_get(obj, "size"))
    gw_adl_fail(r, "request.paging.size", "only with request.paging.size_param "
                "(the parameter that carries it)");
  pg->size = (int)gw_adl_int(r, obj, "request.paging", "size", 0, 1, 10000);
  pg->first = (int)gw_adl_int(r, obj, "request.paging", "first", 1, 0, 1);
  if(!r->jr.failed)
    pg->total_pages = read_paging_pointer(r, obj, "total_pages");
  if(!r->jr.failed)
    pg->items = read_paging_pointer(r, obj, "items");
  pg->max_pages = (int)gw_adl_int(r, obj, "request.paging", "max_pages", 20, 1,
                                  GW_ADAPTER_MAX_PAGES);
}

static void read_request(struct gw_adl *r, json_t *root)
{
  static const char *const known[] = { "content_type", "headers", "body", "query",
                                       "paging", NULL };
  struct gw_adapter *a = r->a;
  int get = a->method && !strcmp(a->method, "GET");
  json_t *req = gw_adl_object(r, root, "", "request", 0);
  char why[400];

  if(!req) {
    if(!get)
      gw_adl_fail(r, "request", "missing (a POST needs request.body)");
    return;
  }
  if(gw_adl_unknown(r, req, "request", known))
    return;
  a->body_template = read_body(r, req);
  if(r->jr.failed)
    return;
  if(get && a->body_template) {
    gw_adl_fail(r, "request.body", "not allowed with method GET");
    return;
  }
  if(!get && !a->body_template) {
    gw_adl_fail(r, "request.body", "missing (a POST needs a body template)");
    return;
  }
  if(a->body_template &&
     !template_ok(r, a->body_template, gw_protocol_is_xml(a->protocol)
                  ? GW_ADL_TMPL_STRICT : GW_ADL_TMPL_JSON, "request.body", NULL))
    return;
  if(a->body_template && gw_adl_check_body(a->body_template, a->protocol, why, sizeof(why))) {
    gw_adl_fail(r, "request.body", "%s", why);
    return;
  }
  a->content_type = gw_adl_string(r, req, "request", "content_type", 0, 128);
  if(a->content_type && get)
    gw_adl_fail(r, "request.content_type", "only with a request body (method POST)");
  else if(a->content_type && !media_type_ok(a->content_type))
    gw_adl_fail(r, "request.content_type", "must be a media type like "
                "\"application/json\" (got \"%s\")", a->content_type);
  else if(a->content_type && a->protocol == GW_PROTO_SOAP11 &&
          strncasecmp(a->content_type, "text/xml", 8))
    gw_adl_fail(r, "request.content_type", "must be text/xml for protocol soap11 "
                "(the SOAP 1.1 HTTP binding)");
  else if(a->content_type && a->protocol == GW_PROTO_SOAP12 &&
          strncasecmp(a->content_type, "application/soap+xml", 20))
    gw_adl_fail(r, "request.content_type", "must be application/soap+xml for "
                "protocol soap12 (the SOAP 1.2 HTTP binding)");
  if(!a->content_type && !get)
    a->content_type = gw_strdup(default_content_type(a->protocol));
  if(r->jr.failed)
    return;
  a->n_headers = read_templates(r, req, "headers", a->headers, 1);
  if(!r->jr.failed)
    a->n_query = read_templates(r, req, "query", a->query, 0);
  if(!r->jr.failed)
    read_paging(r, req);
}

/* --- tls and auth ------------------------------------------------------ */

static void read_tls(struct gw_adl *r, json_t *root)
{
  static const char *const known[] = { "ca_file", "client_cert", "client_key",
                                       "pin_sha256", NULL };
  struct gw_adapter *a = r->a;
  json_t *tls = gw_adl_object(r, root, "", "tls", 1);
  char why[400];

  if(!tls || gw_adl_unknown(r, tls, "tls", known))
    return;
  if((a->ca_file = gw_adl_path(r, tls, "tls", "ca_file", 1)))
    gw_free(gw_adl_cert_file(r, a->ca_file, "tls.ca_file", 0));
  if(r->jr.failed)
    return;
  a->client_cert = gw_adl_path(r, tls, "tls", "client_cert", 0);
  if(a->client_cert)
    gw_free(gw_adl_cert_file(r, a->client_cert, "tls.client_cert", 0));
  a->client_key = gw_adl_path(r, tls, "tls", "client_key", 0);
  if(r->jr.failed)
    return;
  if(a->client_cert && !a->client_key)
    gw_adl_fail(r, "tls.client_key", "missing: required with tls.client_cert");
  else if(a->client_key && !a->client_cert)
    gw_adl_fail(r, "tls.client_cert", "missing: required with tls.client_key");
  else if(a->client_key)
    gw_adl_key_matches(r, a->client_key, a->client_cert, "tls.client_key");
  a->pin_sha256 = gw_adl_string(r, tls, "tls", "pin_sha256", 0, 8 * 53);  /* count: check_pin */
  if(a->pin_sha256 && gw_net_pins_check(a->pin_sha256, why, sizeof(why)))
    gw_adl_fail(r, "tls.pin_sha256", "%s", why);
}

/* Fails on a member that exists but is not used by the chosen type. */
static void only_for(struct gw_adl *r, json_t *obj, const char *at,
                     const char *const *allowed, const char *type)
{
  const char *key;
  json_t *v;
  json_object_foreach(obj, key, v) {
    int ok = 0;
    for(const char *const *k = allowed; *k; k++)
      if(!strcmp(*k, key))
        ok = 1;
    if(!ok) {
      char field[GW_ADL_FIELD_MAX];
      gw_adl_join(field, sizeof(field), at, key);
      gw_adl_fail(r, field, "not used with %s.type \"%s\"", at, type);
      return;
    }
  }
}

static void read_auth(struct gw_adl *r, json_t *root)
{
  static const char *const known[] = { "type", "token_url", "client_id",
                                       "client_secret", "scope", "header", "key",
                                       GW_ADL_SIGNED_MEMBERS, GW_ADL_WSSE_MEMBERS, NULL };
  static const char *const types[] = { "none", "mtls", "oauth2", "api_key",
                                       "signed_headers", "wsse_username_token", NULL };
  static const char *const signed_h[] = { "type", GW_ADL_SIGNED_MEMBERS, NULL };
  static const char *const wsse[] = { "type", GW_ADL_WSSE_MEMBERS, NULL };
  static const char *const type_only[] = { "type", NULL };
  static const char *const oauth2[] = { "type", "token_url", "client_id",
                                        "client_secret", "scope", NULL };
  static const char *const api_key[] = { "type", "header", "key", NULL };
  struct gw_adapter *a = r->a;
  json_t *auth = gw_adl_object(r, root, "", "auth", 1);
  char why[400], host[256];
  int t;

  if(!auth || gw_adl_unknown(r, auth, "auth", known))
    return;
  if((t = gw_adl_choice(r, auth, "auth", "type", types, "none, mtls, oauth2, api_key, "
                        "signed_headers, wsse_username_token")) < 0)
    return;
  a->auth = (enum gw_auth_type)t;
  only_for(r, auth, "auth", t == GW_AUTH_OAUTH2 ? oauth2 :
                            t == GW_AUTH_API_KEY ? api_key :
                            t == GW_AUTH_SIGNED_HEADERS ? signed_h :
                            t == GW_AUTH_WSSE_USERNAME_TOKEN ? wsse : type_only, types[t]);
  if(r->jr.failed)
    return;
  switch(a->auth) {
  case GW_AUTH_NONE:
    break;
  case GW_AUTH_MTLS:
    if(!a->client_cert)
      gw_adl_fail(r, "auth.type", "mtls needs tls.client_cert and tls.client_key");
    break;
  case GW_AUTH_OAUTH2:
    a->token_url = gw_adl_string(r, auth, "auth", "token_url", 1, URL_MAX);
    if(a->token_url && gw_adl_check_url(a->token_url, 0, host, sizeof(host),
                                        why, sizeof(why)))
      gw_adl_fail(r, "auth.token_url", "%s", why);
    else if(a->token_url && !host_allowed(a, host))
      gw_adl_fail(r, "auth.token_url", "host %s is outside endpoint.allow_addresses "
                  "(which the token request must pass too)", host);
    a->client_id = gw_adl_string(r, auth, "auth", "client_id", 1, TEXT_MAX);
    if(!r->jr.failed)
      a->client_secret = gw_adl_secret(r, auth, "auth", "client_secret", 1);
    if(!r->jr.failed)
      a->scope = gw_adl_string(r, auth, "auth", "scope", 0, TEXT_MAX);
    break;
  case GW_AUTH_API_KEY:
    a->api_key_header = gw_adl_string(r, auth, "auth", "header", 1, 64);
    if(a->api_key_header && !gw_adl_is_token(a->api_key_header))
      gw_adl_fail(r, "auth.header", "not a valid header name (letters, digits "
                  "and !#$%%&'*+-.^_`|~ only)");
    else if(a->api_key_header && gw_adl_header_refused(a->api_key_header) &&
            strcasecmp(a->api_key_header, "authorization"))
      gw_adl_fail(r, "auth.header", "header %s", gw_adl_header_refused(a->api_key_header));
    for(size_t i = 0; !r->jr.failed && i < a->n_headers; i++)
      if(!strcasecmp(a->headers[i].name, a->api_key_header))
        gw_adl_fail(r, "auth.header", "\"%s\" is also in request.headers; the "
                    "key header must be set only here", a->api_key_header);
    if(!r->jr.failed)
      a->api_key = gw_adl_secret(r, auth, "auth", "key", 1);
    break;
  case GW_AUTH_SIGNED_HEADERS:
    gw_adl_read_signed(r, auth);
    break;
  case GW_AUTH_WSSE_USERNAME_TOKEN:
    gw_adl_read_wsse(r, auth);
    break;
  }
}

/* --- response and verify ----------------------------------------------- */

static void read_namespaces(struct gw_adl *r, json_t *resp)
{
  struct gw_adapter *a = r->a;
  json_t *ns = gw_adl_object(r, resp, "response", "namespaces", 0), *v;
  const char *prefix;

  if(!ns)
    return;
  if(!gw_protocol_is_xml(a->protocol)) {
    gw_adl_fail(r, "response.namespaces", "only for XML protocols (soap11, "
                "soap12, xml), not %s", gw_protocol_name(a->protocol));
    return;
  }
  if(json_object_size(ns) > GW_ADAPTER_MAX_NAMESPACES) {
    gw_adl_fail(r, "response.namespaces", "at most %d prefixes (got %zu)",
                GW_ADAPTER_MAX_NAMESPACES, json_object_size(ns));
    return;
  }
  json_object_foreach(ns, prefix, v) {
    char field[GW_ADL_FIELD_MAX];
    const char *uri;
    gw_adl_join(field, sizeof(field), "response.namespaces", prefix);
    if(!gw_adl_is_ncname(prefix) || strlen(prefix) > 64) {
      gw_adl_fail(r, field, "a prefix must be an XML name ([A-Za-z_][A-Za-z0-9._-]*, "
                  "at most 64 characters)");
      return;
    }
    if(!strcasecmp(prefix, "xml") || !strcasecmp(prefix, "xmlns")) {
      gw_adl_fail(r, field, "the prefix \"%s\" is reserved by XML", prefix);
      return;
    }
    if(!(uri = gw_adl_string_value(r, v, field, 1024)))
      return;
    a->namespaces[a->n_namespaces].name = gw_strdup(prefix);
    a->namespaces[a->n_namespaces].value = gw_strdup(uri);
    a->n_namespaces++;
  }
}

static void read_response(struct gw_adl *r, json_t *root)
{
  static const char *const known[] = { "max_bytes", "ok_status", "namespaces",
                                       "subject", "not_found", "fault", NULL };
  struct gw_adapter *a = r->a;
  json_t *resp = gw_adl_object(r, root, "", "response", 0), *arr;

  a->max_response_bytes = 1024 * 1024;
  a->ok_status[0] = 200;
  a->n_ok_status = 1;
  if(resp && gw_adl_unknown(r, resp, "response", known))
    return;
  if(resp) {
    a->max_response_bytes = (size_t)gw_adl_int(r, resp, "response", "max_bytes",
                                               (long long)a->max_response_bytes,
                                               1024, 64LL * 1024 * 1024);
    if((arr = gw_adl_array(r, resp, "response", "ok_status", 0, GW_ADAPTER_MAX_STATUS)))
      a->n_ok_status = gw_adl_status(r, arr, "response.ok_status", a->ok_status);
    read_namespaces(r, resp);
  }
  if(r->jr.failed)
    return;
  if(gw_protocol_is_xml(a->protocol) && !(r->xpath = gw_adl_xpath_context(r))) {
    gw_adl_fail(r, "response.namespaces", "libxml2 could not register the namespaces");
    return;
  }
  if(resp) {
    gw_adl_read_subject(r, resp);
    gw_adl_read_rule(r, resp, "not_found", &a->not_found);
    gw_adl_read_rule(r, resp, "fault", &a->fault);
  }
  /* every page is held until the last arrives */
  if(!r->jr.failed && a->paging.page_param &&
     (long long)a->paging.max_pages * (long long)a->max_response_bytes >
     GW_ADAPTER_PAGED_MAX_BYTES)
    gw_adl_fail(r, "request.paging.max_pages", "%d pages of response.max_bytes (%zu) "
                "exceed %d bytes; lower one of them", a->paging.max_pages,
                a->max_response_bytes, GW_ADAPTER_PAGED_MAX_BYTES);
}

/* verify.alg (may be NULL) against the xmldsig certificate's key: sm2-sm3
 * needs an SM2 key and an SM2 key needs sm2-sm3 (or no alg); rsa-* an RSA
 * key, ecdsa-sha256 an EC one. */
static void xmldsig_alg_fits_cert(struct gw_adl *r, const char *alg, const char *pem)
{
  BIO *bio = BIO_new_mem_buf(pem, -1);
  X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
  EVP_PKEY *pk = x ? X509_get0_pubkey(x) : NULL;
  const char *have = !pk ? NULL : gw_gm_is_sm2(pk) ? "SM2" : EVP_PKEY_is_a(pk, "RSA") ? "RSA"
                     : EVP_PKEY_is_a(pk, "EC") ? "EC" : "other";
  const char *want = !alg ? NULL : !strcmp(alg, "sm2-sm3") ? "SM2"
                     : !strncmp(alg, "rsa-", 4) ? "RSA" : "EC";

  if(have && want && strcmp(want, have))
    gw_adl_fail(r, "verify.alg", "is \"%s\" but verify.cert has %s key", alg,
                !strcmp(have, "SM2") ? "an SM2" : !strcmp(have, "RSA") ? "an RSA"
                : !strcmp(have, "EC") ? "an EC" : "an unsupported");
  X509_free(x);
  BIO_free(bio);
  ERR_clear_error();
}

/* verify.sm2_id: the distinguishing ID an agency whose CA does not use
 * GM/T 0009's default signs under; only with an SM2 key or certificate. */
static void read_sm2_id(struct gw_adl *r, json_t *ver)
{
  struct gw_adapter *a = r->a;
  const char *pem = a->verify == GW_VERIFY_XMLDSIG ? a->verify_cert : a->verify_key;
  json_t *v = json_object_get(ver, "sm2_id");
  int sm2 = 0;

  if(!v || r->jr.failed)
    return;
  if(!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v) ||
     !gw_gm_sm2_id_ok(json_string_value(v), json_string_length(v))) {
    gw_adl_fail(r, "verify.sm2_id", "must be 1 to %d printable ASCII characters (GM/T "
                "0009's default, \"%s\", is used when it is absent)", GW_GM_SM2_ID_MAX,
                GW_GM_SM2_ID);
    return;
  }
  if(pem) {
    BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *pk = NULL;
    X509 *x = NULL;
    if(bio && a->verify == GW_VERIFY_XMLDSIG) {
      x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
      sm2 = x && gw_gm_is_sm2(X509_get0_pubkey(x));
    }
    else if(bio) {
      pk = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
      sm2 = gw_gm_is_sm2(pk);
    }
    X509_free(x);
    EVP_PKEY_free(pk);
    BIO_free(bio);
    ERR_clear_error();
  }
  if(!sm2) {
    gw_adl_fail(r, "verify.sm2_id", "only for an SM2 %s", a->verify == GW_VERIFY_XMLDSIG
                ? "verify.cert" : "verify.key");
    return;
  }
  a->verify_sm2_id = gw_strdup(json_string_value(v));
}

static void read_verify(struct gw_adl *r, json_t *root)
{
  static const char *const known[] = { "type", "cert", "key", "alg", "signed_node", "sm2_id",
                                       NULL };
  static const char *const types[] = { "none", "xmldsig", "jws", NULL };
  static const char *const type_only[] = { "type", NULL };
  static const char *const xmldsig[] = { "type", "cert", "alg", "signed_node", "sm2_id", NULL };
  static const char *const jws[] = { "type", "key", "alg", "sm2_id", NULL };
  struct gw_adapter *a = r->a;
  json_t *ver = gw_adl_object(r, root, "", "verify", 1);
  char *path;
  int t;

  if(!ver || gw_adl_unknown(r, ver, "verify", known))
    return;
  if((t = gw_adl_choice(r, ver, "verify", "type", types, "none, xmldsig, jws")) < 0)
    return;
  a->verify = (enum gw_verify_type)t;
  if(a->verify == GW_VERIFY_XMLDSIG && !gw_protocol_is_xml(a->protocol))
    gw_adl_fail(r, "verify.type", "xmldsig needs an XML protocol (soap11, soap12, "
                "xml), not %s", gw_protocol_name(a->protocol));
  else if(a->verify == GW_VERIFY_JWS && a->protocol != GW_PROTO_JWS_JSON)
    gw_adl_fail(r, "verify.type", "jws is only for protocol jws-json, not %s",
                gw_protocol_name(a->protocol));
  else if(a->verify != GW_VERIFY_JWS && a->protocol == GW_PROTO_JWS_JSON)
    gw_adl_fail(r, "verify.type", "must be jws for protocol jws-json (the "
                "response body is a JWS)");
  only_for(r, ver, "verify", t == GW_VERIFY_XMLDSIG ? xmldsig :
                             t == GW_VERIFY_JWS ? jws : type_only, types[t]);
  if(r->jr.failed)
    return;
  if(a->verify == GW_VERIFY_XMLDSIG) {
    if((path = gw_adl_path(r, ver, "verify", "cert", 1)))
      a->verify_cert = gw_adl_cert_file(r, path, "verify.cert", 1);
    gw_free(path);
    /* the signature algorithm is the adapter's, never the answer's */
    a->verify_alg = gw_adl_string(r, ver, "verify", "alg", 0, 16);
    if(a->verify_alg && !gw_xmlsig_alg_known(a->verify_alg))
      gw_adl_fail(r, "verify.alg", "must be \"rsa-sha256\", \"rsa-sha512\", "
                  "\"ecdsa-sha256\" or \"sm2-sm3\" (got \"%s\")", a->verify_alg);
    else if(a->verify_cert)
      xmldsig_alg_fits_cert(r, a->verify_alg, a->verify_cert);
    a->signed_node = gw_adl_string(r, ver, "verify", "signed_node", 1,
                                   GW_ADAPTER_EXPR_MAX);
    if(a->signed_node)
      gw_adl_expr(r, a->signed_node, "verify.signed_node", 0);
  }
  else if(a->verify == GW_VERIFY_JWS) {
    if((path = gw_adl_path(r, ver, "verify", "key", 1)))
      a->verify_key = gw_adl_es256_public_key(r, path, "verify.key");
    gw_free(path);
    a->verify_alg = gw_adl_string(r, ver, "verify", "alg", 1, 16);
    if(a->verify_alg && strcmp(a->verify_alg, "ES256") &&
       strcmp(a->verify_alg, GW_JWS_ALG_SM2_NAME))
      gw_adl_fail(r, "verify.alg", "must be \"ES256\" or \"GmSM2\" (got \"%s\")",
                  a->verify_alg);
    else if(a->verify_alg && a->verify_key) {
      /* the algorithm named must be the key's: an SM2 key is GmSM2 */
      struct gw_jws_key *k = NULL;
      if(gw_jws_key_from_pem(a->verify_key, strlen(a->verify_key), &k) == GW_JWS_OK &&
         strcmp(a->verify_alg, gw_jws_key_alg(k) == GW_JWS_ALG_SM2 ? GW_JWS_ALG_SM2_NAME
                                                                   : "ES256"))
        gw_adl_fail(r, "verify.alg", "is \"%s\" but verify.key is %s key", a->verify_alg,
                    gw_jws_key_alg(k) == GW_JWS_ALG_SM2 ? "an SM2" : "a P-256");
      gw_jws_key_free(k);
    }
  }
  read_sm2_id(r, ver);
}

/* --- policy and cache -------------------------------------------------- */

static void read_policy(struct gw_adl *r, json_t *root)
{
  static const char *const known[] = {
    "connect_timeout_ms", "timeout_ms", "retries", "backoff_base_ms",
    "backoff_max_ms", "retry_budget_ratio", "max_concurrency", "max_queue",
    "rate_per_s", "burst", "breaker", NULL };
  static const char *const bknown[] = { "failure_threshold", "window_s", "open_s",
                                        "half_open_max", NULL };
  struct gw_policy *p = &r->a->policy;
  json_t *pol = gw_adl_object(r, root, "", "policy", 0), *br = NULL;
  const char *at = "policy";

  *p = (struct gw_policy){ .connect_timeout_ms = 1000, .timeout_ms = 3000,
    .retries = 1, .backoff_base_ms = 50, .backoff_max_ms = 1000,
    .retry_budget_ratio = 0.1, .max_concurrency = 64, .max_queue = 1024,
    .rate_per_s = 0, .burst = 50, .breaker_failure_threshold = 5,
    .breaker_window_s = 10, .breaker_open_s = 5, .breaker_half_open_max = 1 };
  if(!pol || gw_adl_unknown(r, pol, at, known))
    return;
  p->connect_timeout_ms = (int)gw_adl_int(r, pol, at, "connect_timeout_ms",
                                          p->connect_timeout_ms, 1, 60000);
  p->timeout_ms = (int)gw_adl_int(r, pol, at, "timeout_ms", p->timeout_ms, 1, 120000);
  p->retries = (int)gw_adl_int(r, pol, at, "retries", p->retries, 0, 5);
  p->backoff_base_ms = (int)gw_adl_int(r, pol, at, "backoff_base_ms",
                                       p->backoff_base_ms, 1, 60000);
  p->backoff_max_ms = (int)gw_adl_int(r, pol, at, "backoff_max_ms",
                                      p->backoff_max_ms, 1, 60000);
  p->retry_budget_ratio = gw_adl_number(r, pol, at, "retry_budget_ratio",
                                        p->retry_budget_ratio, 0, 1);
  p->max_concurrency = (int)gw_adl_int(r, pol, at, "max_concurrency",
                                       p->max_concurrency, 1, 10000);
  p->max_queue = (int)gw_adl_int(r, pol, at, "max_queue", p->max_queue, 0, 100000);
  p->rate_per_s = gw_adl_number(r, pol, at, "rate_per_s", p->rate_per_s, 0, 100000);
  p->burst = (int)gw_adl_int(r, pol, at, "burst", p->burst, 1, 100000);
  if(r->jr.failed)
    return;
  if(p->timeout_ms < p->connect_timeout_ms)
    gw_adl_fail(r, "policy.timeout_ms", "must be at least policy.connect_timeout_ms "
                "(%d): the attempt timeout includes connecting", p->connect_timeout_ms);
  else if(p->backoff_max_ms < p->backoff_base_ms)
    gw_adl_fail(r, "policy.backoff_max_ms", "must be at least policy.backoff_base_ms (%d)",
                p->backoff_base_ms);
  if(r->jr.failed || !(br = gw_adl_object(r, pol, at, "breaker", 0)) ||
     gw_adl_unknown(r, br, "policy.breaker", bknown))
    return;
  at = "policy.breaker";
  p->breaker_failure_threshold = (int)gw_adl_int(r, br, at, "failure_threshold",
                                                 p->breaker_failure_threshold, 1, 1000);
  p->breaker_window_s = (int)gw_adl_int(r, br, at, "window_s", p->breaker_window_s, 1, 3600);
  p->breaker_open_s = (int)gw_adl_int(r, br, at, "open_s", p->breaker_open_s, 1, 3600);
  p->breaker_half_open_max = (int)gw_adl_int(r, br, at, "half_open_max",
                                             p->breaker_half_open_max, 1, 100);
}

static void read_cache(struct gw_adl *r, json_t *root)
{
  static const char *const known[] = { "ttl_s", "negative_ttl_s", "stale_if_error_s", NULL };
  struct gw_adapter *a = r->a;
  json_t *c = gw_adl_object(r, root, "", "cache", 0);
  a->ttl_s = 3600;
  a->negative_ttl_s = 300;
  a->stale_if_error_s = 0;
  if(!c || gw_adl_unknown(r, c, "cache", known))
    return;
  a->ttl_s = (int)gw_adl_int(r, c, "cache", "ttl_s", a->ttl_s, 0, 30 * 86400);
  a->negative_ttl_s = (int)gw_adl_int(r, c, "cache", "negative_ttl_s",
                                      a->negative_ttl_s, 0, 7 * 86400);
  a->stale_if_error_s = (int)gw_adl_int(r, c, "cache", "stale_if_error_s",
                                        a->stale_if_error_s, 0, 7 * 86400);
}

/* --- entry points ------------------------------------------------------ */

static void read_all(struct gw_adl *r, json_t *root)
{
  static const char *const known[] = {
    "$schema", "id", "version", "agency", "description", "order", "facts", "protocol",
    "endpoint", "request", "tls", "auth", "verify", "response", "mapping",
    "policy", "cache", NULL };
  json_t *schema = json_object_get(root, "$schema");
  if(gw_adl_unknown(r, root, "", known))
    return;
  if(schema && !json_is_string(schema)) {
    gw_adl_fail(r, "$schema", "must be a string (the schema's URI or path)");
    return;
  }
  read_identity(r, root);
  if(!r->jr.failed)
    read_endpoint(r, root);
  if(!r->jr.failed)
    read_request(r, root);
  if(!r->jr.failed)
    read_tls(r, root);
  if(!r->jr.failed)
    read_auth(r, root);
  if(!r->jr.failed)
    read_response(r, root);
  if(!r->jr.failed)
    read_verify(r, root);
  if(!r->jr.failed)
    gw_adl_read_mapping(r, root);
  if(!r->jr.failed)
    read_policy(r, root);
  if(!r->jr.failed)
    read_cache(r, root);
}

/* Does any template of the request (URL, query values, headers, body) put
 * the subject's name into it?  Then the agency's answer depends on the name
 * as well as the number. */
static int uses_name(const struct gw_adapter *a)
{
  static const char ph[] = "{{subject.name}}";
  if((a->url && strstr(a->url, ph)) || (a->body_template && strstr(a->body_template, ph)))
    return 1;
  for(size_t i = 0; i < a->n_query; i++)
    if(strstr(a->query[i].value, ph))
      return 1;
  for(size_t i = 0; i < a->n_headers; i++)
    if(strstr(a->headers[i].value, ph))
      return 1;
  return 0;
}

int gw_adapter_load_text(const char *text, size_t len, const char *name,
                         const char *base_dir, struct gw_adapter **out,
                         char *err, size_t errlen)
{
  struct gw_adl r = { .jr = { .file = name, .err = err, .errlen = errlen },
                      .base_dir = base_dir };
  struct gw_adapter *a = NULL;
  json_error_t jerr;
  json_t *root = NULL;
  int rc = -1;

  *out = NULL;
  err[0] = '\0';
  if(len > GW_ADAPTER_FILE_MAX) {
    snprintf(err, errlen, "%s: larger than %d bytes (at most %d)", name,
             GW_ADAPTER_FILE_MAX, GW_ADAPTER_FILE_MAX);
    goto out;
  }
  root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
  if(!root) {
    snprintf(err, errlen, "%s: line %d, column %d: %s", name, jerr.line,
             jerr.column, jerr.text);
    goto out;
  }
  if(!json_is_object(root)) {
    snprintf(err, errlen, "%s: (top level): must be a JSON object", name);
    goto out;
  }
  xmlInitParser();
  a = gw_calloc(1, sizeof(*a));
  atomic_init(&a->refs, 1);
  a->file = gw_strdup(name);
  r.a = a;
  read_all(&r, root);
  if(r.jr.failed)
    goto out;
  a->uses_name = uses_name(a);
  *out = a;
  a = NULL;
  rc = 0;
out:
  if(r.xpath)
    xmlXPathFreeContext(r.xpath);
  gw_adapter_unref(a);
  json_decref(root);
  return rc;
}

int gw_adapter_load(const char *path, struct gw_adapter **out, char *err, size_t errlen)
{
  const char *slash = strrchr(path, '/');
  char *dir = NULL, *text = NULL;
  size_t len = 0, cap = GW_ADAPTER_FILE_MAX + 1;
  FILE *fp;
  int rc = -1;

  *out = NULL;
  err[0] = '\0';
  fp = gw_adl_fopen_regular(path);
  if(!fp) {
    if(errno == EINVAL)
      snprintf(err, errlen, "%s: not a regular file", path);
    else
      snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    goto out;
  }
  text = gw_malloc(cap);
  len = fread(text, 1, cap, fp);
  if(ferror(fp)) {
    snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
    fclose(fp);
    goto out;
  }
  fclose(fp);
  if(len > GW_ADAPTER_FILE_MAX) {
    snprintf(err, errlen, "%s: larger than %d bytes (at most %d)", path,
             GW_ADAPTER_FILE_MAX, GW_ADAPTER_FILE_MAX);
    goto out;
  }
  if(slash == path)
    dir = gw_strdup("/");
  else if(slash)
    dir = gw_strndup(path, (size_t)(slash - path));
  else
    dir = gw_strdup(".");
  rc = gw_adapter_load_text(text, len, path, dir, out, err, errlen);
  if(!rc) {
    unsigned char md[EVP_MAX_MD_SIZE];
    if(!EVP_Digest(text, len, md, NULL, EVP_sha256(), NULL))
      abort();                 /* OpenSSL cannot hash: the alloc policy */
    gw_hex_encode(md, 32, (*out)->sha256);
  }
out:
  gw_free(dir);
  gw_free(text);
  return rc;
}
