/*
 * adapter_auth.c - the adapter loader's reading of the two signing auth
 * schemes: signed headers (app id, timestamp, nonce, HMAC-SHA256 over a
 * declared canonical string) and WS-Security UsernameToken for SOAP.
 *
 * The one idea: everything a request will need is checked here, once,
 * so that signing at send time cannot meet a surprise: the canonical
 * string's placeholders are known ones, the four header names are tokens
 * that collide with nothing the request sets, the SOAP body has a Header
 * the Security element can go into, and the secrets come from env:/file:
 * only (messages never include them).
 */
#include "adapter_int.h"

#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "gw/alloc.h"
#include "gw/sigauth.h"

#define SOAP11_NS "http://schemas.xmlsoap.org/soap/envelope/"
#define SOAP12_NS "http://www.w3.org/2003/05/soap-envelope"

/* One header name of auth.headers: a token, not refused, not also in
 * request.headers, and not the same as another of the four. */
static char *header_name(struct gw_adl *r, json_t *h, const char *key, char *const *others,
                         size_t n_others)
{
  struct gw_adapter *a = r->a;
  char field[GW_ADL_FIELD_MAX];
  char *name = gw_adl_string(r, h, "auth.headers", key, 1, 64);
  const char *refused;

  gw_adl_join(field, sizeof(field), "auth.headers", key);
  if(!name)
    return NULL;
  if(!gw_adl_is_token(name))
    gw_adl_fail(r, field, "not a valid header name (letters, digits and "
                "!#$%%&'*+-.^_`|~ only)");
  else if((refused = gw_adl_header_refused(name)) && strcasecmp(name, "authorization"))
    gw_adl_fail(r, field, "header %s", refused);
  for(size_t i = 0; !r->jr.failed && i < a->n_headers; i++)
    if(!strcasecmp(a->headers[i].name, name))
      gw_adl_fail(r, field, "\"%s\" is also in request.headers; a signed "
                  "header must be set only here", name);
  for(size_t i = 0; !r->jr.failed && i < n_others; i++)
    if(others[i] && !strcasecmp(others[i], name))
      gw_adl_fail(r, field, "\"%s\" names another of auth.headers too", name);
  if(r->jr.failed) {
    gw_free(name);
    return NULL;
  }
  return name;
}

void gw_adl_read_signed(struct gw_adl *r, json_t *auth)
{
  static const char *const hkeys[] = { "app_id", "timestamp", "nonce", "signature", NULL };
  static const char *const ts[] = { "unix", "unix_ms", "rfc3339", NULL };
  static const char *const enc[] = { "base64", "hex", NULL };
  struct gw_sigauth_signed *s = &r->a->signed_auth;
  json_t *h, *canon;
  char why[400];
  char *names[4] = { NULL, NULL, NULL, NULL };
  int t;

  s->app_id = gw_adl_string(r, auth, "auth", "app_id", 1, 128);
  if(s->app_id && strpbrk(s->app_id, " \t"))
    gw_adl_fail(r, "auth.app_id", "must not contain spaces or tabs (it travels in a header)");
  if(r->jr.failed)
    return;
  h = gw_adl_object(r, auth, "auth", "headers", 1);
  if(!h || gw_adl_unknown(r, h, "auth.headers", hkeys))
    return;
  for(size_t i = 0; i < 4 && !r->jr.failed; i++)
    names[i] = header_name(r, h, hkeys[i], names, i);
  s->h_app_id = names[0];
  s->h_timestamp = names[1];
  s->h_nonce = names[2];
  s->h_signature = names[3];
  if(r->jr.failed)
    return;

  /* Read raw: the canonical string usually holds "\n" separators, which
   * gw_adl_string refuses as control characters. */
  canon = json_object_get(auth, "canonical");
  if(!canon) {
    gw_adl_fail(r, "auth.canonical", "missing: the canonical string the signature "
                "covers, e.g. \"{{method}}\\n{{path}}\\n{{timestamp}}\\n{{nonce}}\\n"
                "{{body.sha256}}\"");
    return;
  }
  if(!json_is_string(canon) || strlen(json_string_value(canon)) != json_string_length(canon)) {
    gw_adl_fail(r, "auth.canonical", "must be a string without NUL");
    return;
  }
  if(gw_sigauth_check_canonical(json_string_value(canon), why, sizeof(why))) {
    gw_adl_fail(r, "auth.canonical", "%s", why);
    return;
  }
  s->canonical = gw_strdup(json_string_value(canon));

  if(json_object_get(auth, "timestamp_format")) {
    if((t = gw_adl_choice(r, auth, "auth", "timestamp_format", ts, "unix, unix_ms, rfc3339")) < 0)
      return;
    s->ts = (enum gw_sigauth_ts)t;
  }
  if(json_object_get(auth, "encoding")) {
    if((t = gw_adl_choice(r, auth, "auth", "encoding", enc, "base64, hex")) < 0)
      return;
    s->enc = (enum gw_sigauth_enc)t;
  }
  s->secret = gw_adl_secret(r, auth, "auth", "secret", 1);
  if(s->secret && strlen(s->secret) < 16)
    gw_adl_fail(r, "auth.secret", "the resolved secret is shorter than 16 bytes");
}

/* The "<prefix:Header" start tag of the body template's SOAP envelope, as
 * it will be searched for in the expanded body; NULL after a failure. */
static char *soap_header_tag(struct gw_adl *r)
{
  struct gw_adapter *a = r->a;
  const char *want = a->protocol == GW_PROTO_SOAP12 ? SOAP12_NS : SOAP11_NS;
  xmlDocPtr doc;
  xmlNodePtr root, n;
  char *tag = NULL;
  const char *at, *comment, *ph;

  /* Placeholders sit in text or attribute values, where XML takes them as
   * they are; the body was checked as a whole by read_request already. */
  doc = xmlReadMemory(a->body_template, (int)strlen(a->body_template), "body.xml", NULL,
                      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  root = doc ? xmlDocGetRootElement(doc) : NULL;
  if(!root || !root->ns || strcmp((const char *)root->ns->href, want) ||
     strcmp((const char *)root->name, "Envelope")) {
    gw_adl_fail(r, "request.body", "wsse_username_token needs a SOAP %s Envelope "
                "(namespace %s)", a->protocol == GW_PROTO_SOAP12 ? "1.2" : "1.1", want);
    goto out;
  }
  for(n = root->children; n; n = n->next)
    if(n->type == XML_ELEMENT_NODE)
      break;
  if(!n || strcmp((const char *)n->name, "Header") || !n->ns ||
     strcmp((const char *)n->ns->href, want)) {
    gw_adl_fail(r, "request.body", "wsse_username_token needs a soap Header element "
                "as the Envelope's first child (the Security element goes into it)");
    goto out;
  }
  {
    const char *prefix = n->ns->prefix ? (const char *)n->ns->prefix : NULL;
    size_t len = 1 + (prefix ? strlen(prefix) + 1 : 0) + 6 + 1;
    tag = gw_malloc(len);
    snprintf(tag, len, "<%s%sHeader", prefix ? prefix : "", prefix ? ":" : "");
  }
  /* The first occurrence in the text must be the element itself: not in a
   * comment and not after a placeholder (whose value could hold anything). */
  at = strstr(a->body_template, tag);
  comment = strstr(a->body_template, "<!--");
  ph = strstr(a->body_template, "{{");
  if(!at || (comment && comment < at) || (ph && ph < at)) {
    gw_adl_fail(r, "request.body", "the SOAP Header start tag must come before any "
                "comment or placeholder in the body");
    gw_free(tag);
    tag = NULL;
  }

out:
  xmlFreeDoc(doc);
  return tag;
}

void gw_adl_read_wsse(struct gw_adl *r, json_t *auth)
{
  struct gw_adapter *a = r->a;
  struct gw_sigauth_wsse *w = &a->wsse;

  if(a->protocol != GW_PROTO_SOAP11 && a->protocol != GW_PROTO_SOAP12) {
    gw_adl_fail(r, "auth.type", "wsse_username_token is for SOAP (soap11, soap12), not %s",
                gw_protocol_name(a->protocol));
    return;
  }
  if(!a->body_template) {
    gw_adl_fail(r, "auth.type", "wsse_username_token needs request.body");
    return;
  }
  w->username = gw_adl_string(r, auth, "auth", "username", 1, GW_SIGAUTH_USERNAME_MAX);
  if(w->username && !gw_sigauth_username_ok(w->username))
    gw_adl_fail(r, "auth.username", "printable ASCII only, without < > & \" '");
  if(r->jr.failed)
    return;
  if(!(w->header_tag = soap_header_tag(r)))
    return;
  w->password = gw_adl_secret(r, auth, "auth", "password", 1);
}
