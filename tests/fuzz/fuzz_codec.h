/*
 * fuzz_codec.h - the body of fuzz_codec_xml and fuzz_codec_json: an agency
 * answer (status and body) through gw_codec_process for one of a few real
 * adapters, loaded from the repository's adapters/ against the throwaway
 * PKI of fuzz_fixture.h, with the real fact schemas.
 *
 * The including file defines, before including this one:
 *   FUZZ_ADAPTERS   a brace list of adapter files (relative to the source
 *                   tree), e.g. { "adapters/chsi.json", ... }
 *
 * Input: byte 0 picks the adapter (modulo their count), byte 1 the HTTP
 * status (modulo the table below), byte 2 the subject asked about (modulo
 * the curated people of mocks/data/population.json, in file order); the
 * rest is the response body.  For a paged adapter (request.paging) the body
 * is split at form feeds (0x0c, never in JSON text) into up to
 * FUZZ_MAX_PAGES pages, all with that status, for gw_codec_process_pages.
 * Seeds are real mock-agency answers framed so.
 *
 * Invariants checked beyond "no crash, no leak":
 *   - one result per fact of the adapter, each with a status the codec may
 *     give (ok, not_found, unavailable with a codec error code); a value
 *     exactly on the ok ones; NUL-terminated details that never hold a
 *     valid GB 11643 identity number;
 *   - every ok value passes its fact schema (checked again here);
 *   - ok facts only for an ok_status, and only with the signature the
 *     adapter demands having verified ("xmldsig" / "jws");
 *   - ok facts only from an answer that names the subject asked about
 *     (response.subject, form id): the value at its path (XPath or JSON
 *     Pointer, evaluated here again, on every page) is that identity
 *     number, blanks around it and the case of X aside;
 *   - for a paged adapter, gw_codec_page_total on the first page either
 *     refuses or gives a count >= 0;
 *   - adapters that verify a signature (chsi, cscse) never give an ok fact
 *     and never report a verified signature: their keys' private halves
 *     were discarded, so anything that verifies would be a forgery;
 *   - retryable only for 5xx/408/429, auth_rejected only for 401, a
 *     negative (cacheable "no record") answer only when every fact is
 *     not_found;
 *   - gw_codec_result_clear releases every value (the leak checker).
 */
#ifndef FUZZ_CODEC_H
#define FUZZ_CODEC_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <strings.h>

#include <jansson.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "../lib/catalogue_fixture.h"
#include "gw/adapter.h"
#include "codec.h"
#include "gw/factschema.h"
#include "gw/idnum.h"
#include "gw/xmlsafe.h"

#include "fuzz_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Statuses byte 1 chooses from: the ones agencies send, and a few odd ones. */
static const int fuzz_statuses[16] = { 200, 404, 500, 503, 401, 403, 429, 408,
                                       400, 405, 502, 504, 201, 204, 302, 418 };

#define FUZZ_MAX_ADAPTERS 8
#define FUZZ_MAX_PAGES 8
#define FUZZ_MAX_SUBJECTS 64

struct fuzz_codec_ctx {
  struct gw_adapter *adapters[FUZZ_MAX_ADAPTERS];
  struct gw_codec_keys keys[FUZZ_MAX_ADAPTERS];
  size_t n_adapters;
  struct gw_factschema_set *schemas;
  char subjects[FUZZ_MAX_SUBJECTS][GW_IDNUM_LEN + 1];
  size_t n_subjects;
};

static void fuzz_load_subjects(struct fuzz_codec_ctx *c)
{
  size_t len, i;
  char *text = fuzz_read_source("mocks/data/population.json", &len);
  json_t *root = json_loadb(text, len, 0, NULL), *p;

  free(text);
  json_array_foreach(json_object_get(root, "people"), i, p) {
    const char *id = json_string_value(json_object_get(p, "id"));
    if(c->n_subjects < FUZZ_MAX_SUBJECTS && id &&
       gw_idnum_normalize(id, c->subjects[c->n_subjects], 0) == GW_IDNUM_OK)
      c->n_subjects++;
  }
  json_decref(root);
  if(!c->n_subjects)
    fuzz_die("no subjects in mocks/data/population.json");
}

static struct fuzz_codec_ctx *fuzz_codec_ctx(void)
{
  static const char *const files[] = FUZZ_ADAPTERS;
  static struct fuzz_codec_ctx c;
  static int ready;
  char path[PATH_MAX], err[1024];

  if(ready)
    return &c;
  gw_xml_init();
  fuzz_fixture_make();
  for(size_t i = 0; i < sizeof(files) / sizeof(files[0]) && i < FUZZ_MAX_ADAPTERS; i++) {
    size_t len;
    char *text = fuzz_read_source(files[i], &len);
    if(gw_adapter_load_text(text, len, files[i], fuzz_base_dir, &c.adapters[i], err, sizeof(err)) ||
       gw_codec_keys_init(&c.keys[i], c.adapters[i], err, sizeof(err)))
      fuzz_die(err);
    free(text);
    c.n_adapters++;
  }
  snprintf(path, sizeof(path), "%s/schemas/facts", fuzz_source_dir());
  if(gw_factschema_set_load(path, &c.schemas, err, sizeof(err)))
    fuzz_die(err);
  fuzz_load_subjects(&c);
  /* Everything needed is in memory now: leave nothing behind on disk. */
  fuzz_fixture_remove();
  ready = 1;
  return &c;
}

/* Does `s` hold 18 characters that make a valid identity number? */
static int holds_idnum(const char *s)
{
  size_t n = strlen(s);
  char win[GW_IDNUM_LEN + 1], out[GW_IDNUM_LEN + 1];

  for(size_t i = 0; i + GW_IDNUM_LEN <= n; i++) {
    if(s[i] < '0' || s[i] > '9')
      continue;
    memcpy(win, s + i, GW_IDNUM_LEN);
    win[GW_IDNUM_LEN] = '\0';
    if(gw_idnum_normalize(win, out, 0) == GW_IDNUM_OK)
      return 1;
  }
  return 0;
}

static int status_ok(const struct gw_adapter *a, int status)
{
  for(size_t i = 0; i < a->n_ok_status; i++)
    if(a->ok_status[i] == status)
      return 1;
  return 0;
}

/* ---- what an answer says it is about ------------------------------------- */

static int blank(char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* s[0..n) without blanks around it equals id, ignoring ASCII case? */
static int names(const char *s, size_t n, const char *id)
{
  while(n && blank(*s)) {
    s++;
    n--;
  }
  while(n && blank(s[n - 1]))
    n--;
  return n == strlen(id) && !strncasecmp(s, id, n);
}

/* RFC 6901, written here again rather than borrowed from the code under
 * test: the value at `ptr` in `v`, or NULL. */
static json_t *pointer(json_t *v, const char *ptr)
{
  char tok[GW_ADAPTER_EXPR_MAX + 1];
  while(v && *ptr == '/') {
    size_t n = 0;
    for(ptr++; *ptr && *ptr != '/' && n < sizeof(tok) - 1; ptr++) {
      if(*ptr == '~' && (ptr[1] == '0' || ptr[1] == '1'))
        tok[n++] = *++ptr == '0' ? '~' : '/';
      else
        tok[n++] = *ptr;
    }
    tok[n] = '\0';
    if(json_is_object(v))
      v = json_object_get(v, tok);
    else if(json_is_array(v) && n && strspn(tok, "0123456789") == n && (n == 1 || tok[0] != '0'))
      v = n < 10 ? json_array_get(v, (size_t)strtoul(tok, NULL, 10)) : NULL;
    else
      v = NULL;
  }
  return *ptr ? NULL : v;
}

static int names_subject_json(const struct gw_adapter *a, const unsigned char *body, size_t len,
                              const char *id)
{
  json_t *doc = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, NULL);
  json_t *v = doc ? pointer(doc, a->subject_path) : NULL;
  int ok = json_is_string(v) && names(json_string_value(v), json_string_length(v), id);
  json_decref(doc);
  return ok;
}

static int names_subject_xml(const struct gw_adapter *a, const unsigned char *body, size_t len,
                             const char *id)
{
  xmlDoc *doc = NULL;
  xmlXPathContextPtr ctx;
  xmlXPathObjectPtr res = NULL;
  xmlChar *text = NULL;
  int ok = 0;

  if(gw_xml_parse(body, len, NULL, &doc, NULL, 0) != GW_XML_OK)
    return 0;
  if((ctx = xmlXPathNewContext(doc))) {
    for(size_t i = 0; i < a->n_namespaces; i++)
      xmlXPathRegisterNs(ctx, BAD_CAST a->namespaces[i].name, BAD_CAST a->namespaces[i].value);
    res = xmlXPathEvalExpression(BAD_CAST a->subject_path, ctx);
  }
  if(res && res->type == XPATH_NODESET && res->nodesetval && res->nodesetval->nodeNr == 1)
    text = xmlXPathCastNodeToString(res->nodesetval->nodeTab[0]);
  else if(res && res->type == XPATH_STRING)
    text = xmlStrdup(res->stringval);
  ok = text && names((const char *)text, strlen((const char *)text), id);
  xmlFree(text);
  xmlXPathFreeObject(res);
  xmlXPathFreeContext(ctx);
  xmlFreeDoc(doc);
  return ok;
}

/* Does every page name `id` where the adapter says answers name their
 * subject?  (Only form "id" is checked here; sha256-bound adapters sign.) */
static int about_subject(const struct gw_adapter *a, const struct gw_codec_page *pages,
                         size_t n, const char *id)
{
  if(a->subject_form != GW_SUBJECT_ID)
    return 1;
  for(size_t i = 0; i < n; i++)
    if(!(gw_protocol_is_xml(a->protocol)
         ? names_subject_xml(a, pages[i].body, pages[i].len, id)
         : names_subject_json(a, pages[i].body, pages[i].len, id)))
      return 0;
  return 1;
}

static void fuzz_check(const struct fuzz_codec_ctx *c, const struct gw_adapter *a, int status,
                       const struct gw_codec_page *pages, size_t n_pages, const char *subject,
                       const struct gw_codec_result *r)
{
  int about = -1;   /* computed on the first ok fact */
  int sig_none = !strcmp(r->signature, "none");
  int sig_xml = !strcmp(r->signature, "xmldsig");
  int sig_jws = !strcmp(r->signature, "jws");
  char err[256];

  if(r->n_facts != a->n_facts || (!sig_none && !sig_xml && !sig_jws))
    abort();
  if((sig_xml && a->verify != GW_VERIFY_XMLDSIG) || (sig_jws && a->verify != GW_VERIFY_JWS))
    abort();
  /* A discarded key: nothing can have verified. */
  if(a->verify != GW_VERIFY_NONE && !sig_none)
    abort();
  if(r->retryable && !(status >= 500 || status == 408 || status == 429))
    abort();
  if(r->auth_rejected && status != 401)
    abort();
  for(size_t i = 0; r->negative && i < r->n_facts; i++)
    if(r->facts[i].status != GW_FACT_NOT_FOUND)
      abort();
  for(size_t i = 0; i < GW_ADAPTER_MAX_FACTS; i++) {
    const struct gw_fact_result *f = &r->facts[i];
    if(i >= r->n_facts) {
      if(f->value)
        abort();
      continue;
    }
    if(!memchr(f->detail, '\0', sizeof(f->detail)))
      abort();
    if(holds_idnum(f->detail)) {
      fprintf(stderr, "fuzz_codec: %s fact %s: the detail holds an identity number: %s\n",
              a->id, a->facts[i], f->detail);
      abort();
    }
    switch(f->status) {
    case GW_FACT_OK:
      if(!f->value || f->error != GW_FERR_NONE || !status_ok(a, status) ||
         a->verify != GW_VERIFY_NONE)
        abort();
      if(gw_factschema_validate(c->schemas, a->facts[i], f->value, err, sizeof(err)))
        abort();
      if(about < 0)
        about = about_subject(a, pages, n_pages, subject);
      if(!about)
        abort();
      break;
    case GW_FACT_NOT_FOUND:
      if(f->value)
        abort();
      break;
    case GW_FACT_UNAVAILABLE:
      if(f->value || (f->error != GW_FERR_AGENCY_FAULT && f->error != GW_FERR_BAD_RESPONSE &&
                      f->error != GW_FERR_BAD_SIGNATURE && f->error != GW_FERR_RATE_LIMITED))
        abort();
      break;
    default:
      abort();
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct fuzz_codec_ctx *c = fuzz_codec_ctx();
  struct gw_codec_page pages[FUZZ_MAX_PAGES];
  struct gw_codec_result r;
  const struct gw_adapter *a;
  const struct gw_codec_keys *keys;
  const unsigned char *body;
  const char *subject;
  size_t n_pages = 0, len;
  long long total;
  int status;

  if(size < 3)
    return 0;
  a = c->adapters[data[0] % c->n_adapters];
  keys = &c->keys[data[0] % c->n_adapters];
  status = fuzz_statuses[data[1] % 16];
  subject = c->subjects[data[2] % c->n_subjects];
  body = data + 3;
  len = size - 3;

  if(a->paging.page_param) {
    /* pages at form feeds; the last page takes the rest */
    while(n_pages < FUZZ_MAX_PAGES) {
      const unsigned char *ff = n_pages + 1 < FUZZ_MAX_PAGES ? memchr(body, '\f', len) : NULL;
      size_t plen = ff ? (size_t)(ff - body) : len;
      pages[n_pages].http_status = status;
      pages[n_pages].body = body;
      pages[n_pages].len = plen;
      n_pages++;
      if(!ff)
        break;
      body += plen + 1;
      len -= plen + 1;
    }
    total = -2;
    if(gw_codec_page_total(a, keys, subject, status, pages[0].body, pages[0].len, &total) == 0 &&
       total < 0)
      abort();
    gw_codec_process_pages(a, keys, c->schemas, subject, pages, n_pages, &r);
  }
  else {
    pages[0].http_status = status;
    pages[0].body = body;
    pages[0].len = len;
    n_pages = 1;
    gw_codec_process(a, keys, c->schemas, subject, status, body, len, &r);
  }
  fuzz_check(c, a, status, pages, n_pages, subject, &r);
  gw_codec_result_clear(&r);
  for(size_t i = 0; i < GW_ADAPTER_MAX_FACTS; i++)
    if(r.facts[i].value)
      abort();
  return 0;
}

#endif
