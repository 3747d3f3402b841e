/*
 * fuzz_adapter_load.c - the adapter definition loader (gw_adapter_load_text,
 * what PUT /v1/adapters/{id} feeds) on arbitrary JSON, with a base
 * directory holding real certificates, keys and secret files
 * (fuzz_fixture.h) so the file and key checks run, not only the syntax ones.
 *
 * Invariants checked beyond "no crash, no leak":
 *   - a refused text leaves *out NULL and says "NAME: ..." in err, and no
 *     error message ever holds a resolved secret's value;
 *   - a loaded adapter is consistent: id non-empty, version >= 1, 1..8
 *     catalogue facts of its own agency, one mapping per fact in facts[]
 *     order, an https:// endpoint, no body on GET, the verification and
 *     auth material its types need;
 *   - its verification material compiles (gw_codec_keys_init), a request
 *     for a valid subject builds (gw_codec_build) onto its endpoint with
 *     header values free of CR/LF, and it is freed cleanly by reference
 *     counting (ref + unref twice).
 *
 * Paths in an input are confined to the fixture directory: an input with a
 * string that could name an existing file elsewhere (absolute, outside the
 * fixture, starting with a name that exists in /; more than one "..") is
 * skipped, so the fuzzer never opens device, /proc or /sys files (an open
 * alone can have effects there) on the machine it runs on.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gw/adapter.h"
#include "codec.h"
#include "gw/facts.h"

#include "fuzz_fixture.h"
#include "../lib/catalogue_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NAME "fuzz.json"
#define FUZZ_SUBJECT_ID "11010519491231002X"
#define FUZZ_SUBJECT_NAME "张三"

/* 1 when a string from the input cannot name an existing file outside the
 * fixture.  Strings are not only paths (XPath and JSON Pointers start with
 * '/' too), so an absolute string passes when its first component does not
 * exist on this machine; otherwise it must lie inside the fixture. */
static int confined(const char *s)
{
  const char *p = s, *slash;
  char first[256];
  struct stat st;
  size_t n;
  int dots = 0;

  if(!strncmp(p, "file:", 5))
    p += 5;
  for(const char *q = p; (q = strstr(q, "..")); q += 2)
    dots++;
  if(p[0] != '/')
    return dots == 0 || (dots == 1 && !strncmp(p, "../", 3));
  if(!strncmp(p, fuzz_root, strlen(fuzz_root)) && p[strlen(fuzz_root)] == '/')
    return !dots;
  while(*p == '/')
    p++;
  if(!*p)
    return 1;                  /* "/" itself: a directory, never read */
  slash = strchr(p, '/');
  n = slash ? (size_t)(slash - p) : strlen(p);
  if(n >= sizeof(first) - 1)
    return 1;                  /* longer than any name: cannot exist */
  first[0] = '/';
  memcpy(first + 1, p, n);
  first[n + 1] = '\0';
  return lstat(first, &st) != 0;
}

static int all_confined(json_t *v, int depth)
{
  const char *k;
  json_t *x;
  size_t i;

  if(depth > 64)
    return 0;
  if(json_is_string(v))
    return confined(json_string_value(v));
  if(json_is_object(v)) {
    json_object_foreach(v, k, x)
      if(!(depth == 0 && !strcmp(k, "$schema")) &&   /* never opened by the loader */
         !all_confined(x, depth + 1))
        return 0;
  }
  else if(json_is_array(v)) {
    json_array_foreach(v, i, x)
      if(!all_confined(x, depth + 1))
        return 0;
  }
  return 1;
}

static int is_https(const char *url)
{
  return url && !strncmp(url, "https://", 8) && url[8];
}

static const uint8_t *fuzz_in;
static size_t fuzz_in_len;

/* Does `s` hold a resolved secret that the input itself did not hold (an
 * echoed field name may legitimately repeat the input's own bytes)? */
static int leaks_secret(const char *s)
{
  static const char *const secrets[] = { FUZZ_SECRET_ENV, FUZZ_SECRET_SI, FUZZ_SECRET_QUAL,
                                         FUZZ_SECRET_TALENT };
  for(size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
    if(strstr(s, secrets[i]) && !memmem(fuzz_in, fuzz_in_len, secrets[i], strlen(secrets[i])))
      return 1;
  return 0;
}

static void check_loaded(struct gw_adapter *a)
{
  struct gw_codec_keys keys;
  struct gw_codec_request req;
  char err[512];

  if(!a->id || !a->id[0] || a->version < 1 || !a->agency || !a->agency[0])
    abort();
  if(a->n_facts < 1 || a->n_facts > GW_ADAPTER_MAX_FACTS || a->n_mappings != a->n_facts)
    abort();
  for(size_t i = 0; i < a->n_facts; i++) {
    const struct gw_fact_def *def = gw_fact_find(a->facts[i]);
    /* agencies are bound by adapters only: the fact need only exist */
    if(!def || !a->mappings[i].fact ||
       strcmp(a->mappings[i].fact, a->facts[i]) || !a->mappings[i].spec)
      abort();
  }
  if(!is_https(a->url) || !a->method ||
     (strcmp(a->method, "GET") && strcmp(a->method, "POST")) ||
     (!strcmp(a->method, "GET") && a->body_template))
    abort();
  switch(a->verify) {
  case GW_VERIFY_XMLDSIG:
    if(!gw_protocol_is_xml(a->protocol) || !a->verify_cert || !a->signed_node)
      abort();
    break;
  case GW_VERIFY_JWS:
    if(a->protocol != GW_PROTO_JWS_JSON || !a->verify_key)
      abort();
    break;
  case GW_VERIFY_NONE:
    break;
  }
  switch(a->auth) {
  case GW_AUTH_MTLS:
    if(!a->client_cert || !a->client_key)
      abort();
    break;
  case GW_AUTH_OAUTH2:
    if(!is_https(a->token_url) || !a->client_id || !a->client_secret || !a->client_secret[0])
      abort();
    break;
  case GW_AUTH_API_KEY:
    if(!a->api_key_header || !a->api_key || !a->api_key[0])
      abort();
    break;
  case GW_AUTH_SIGNED_HEADERS:
    if(!a->signed_auth.app_id || !a->signed_auth.secret || !a->signed_auth.secret[0] ||
       !a->signed_auth.canonical || !a->signed_auth.h_app_id || !a->signed_auth.h_timestamp ||
       !a->signed_auth.h_nonce || !a->signed_auth.h_signature)
      abort();
    break;
  case GW_AUTH_WSSE_USERNAME_TOKEN:
    if(!gw_protocol_is_xml(a->protocol) || !a->wsse.username || !a->wsse.password ||
       !a->wsse.header_tag)
      abort();
    break;
  case GW_AUTH_NONE:
    break;
  }
  if(a->n_ok_status < 1 || a->n_ok_status > GW_ADAPTER_MAX_STATUS)
    abort();

  if(gw_codec_keys_init(&keys, a, err, sizeof(err)))
    abort();           /* the loader checked this material: it must compile */
  gw_codec_keys_clear(&keys);

  memset(&req, 0, sizeof(req));
  if(gw_codec_build(a, FUZZ_SUBJECT_ID, FUZZ_SUBJECT_NAME, "fuzz-request-1",
                    (time_t)1790000000, &req, err, sizeof(err)) == 0) {
    if(!req.url || strncmp(req.url, a->url, strlen(a->url)))
      abort();
    for(size_t i = 0; i < req.n_headers; i++)
      if(strpbrk(req.header_values[i], "\r\n"))
        abort();
    gw_codec_request_clear(&req);
  }
  else if(!err[0] || leaks_secret(err))
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static int ready;
  struct gw_adapter *a = (struct gw_adapter *)1;
  char err[1024];
  json_t *probe;

  if(!ready) {
    fuzz_fixture_make();
    ready = 1;
  }
  fuzz_in = data;
  fuzz_in_len = size;
  probe = json_loadb((const char *)data, size, 0, NULL);
  if(probe && !all_confined(probe, 0)) {
    json_decref(probe);
    return 0;
  }
  json_decref(probe);

  if(gw_adapter_load_text((const char *)data, size, FUZZ_NAME, fuzz_base_dir, &a,
                          err, sizeof(err))) {
    if(a || strncmp(err, FUZZ_NAME ": ", strlen(FUZZ_NAME ": ")) || leaks_secret(err))
      abort();
    return 0;
  }
  if(!a)
    abort();
  check_loaded(a);
  gw_adapter_ref(a);
  gw_adapter_unref(a);
  gw_adapter_unref(a);
  return 0;
}
