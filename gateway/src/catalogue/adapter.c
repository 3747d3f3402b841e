/*
 * adapter.c - the life of a loaded adapter: reference counting, freeing,
 * and the protocol names.
 *
 * The one idea: a struct gw_adapter is immutable after gw_adapter_load, so
 * the only thing that ever changes is its reference count.  The registry
 * holds one reference and every request in flight holds one; whoever drops
 * the last frees the whole tree (value-specs included) and wipes the two
 * resolved secrets with OPENSSL_cleanse first, so a client secret or API key
 * does not linger in freed heap memory.  Loading lives in adapter_load.c and
 * its helpers; this file never parses anything.
 */
#include "gw/adapter.h"

#include <assert.h>
#include <string.h>

#include <openssl/crypto.h>

#include "adapter_int.h"
#include "gw/alloc.h"

static const char *const protocol_names[] = {
  [GW_PROTO_SOAP11] = "soap11",
  [GW_PROTO_SOAP12] = "soap12",
  [GW_PROTO_JSON] = "json",
  [GW_PROTO_XML] = "xml",
  [GW_PROTO_JWS_JSON] = "jws-json",
};

const char *gw_protocol_name(enum gw_protocol p)
{
  if((unsigned)p < sizeof(protocol_names) / sizeof(protocol_names[0]))
    return protocol_names[p];
  return "unknown";
}

int gw_protocol_is_xml(enum gw_protocol p)
{
  return p == GW_PROTO_SOAP11 || p == GW_PROTO_SOAP12 || p == GW_PROTO_XML;
}

struct gw_adapter *gw_adapter_ref(struct gw_adapter *a)
{
  if(a) {
    int before = atomic_fetch_add_explicit(&a->refs, 1, memory_order_relaxed);
    assert(before > 0);        /* taking a reference needs one already */
    (void)before;
  }
  return a;
}

static void free_secret(char *s)
{
  if(s) {
    OPENSSL_cleanse(s, strlen(s));
    gw_free(s);
  }
}

static void free_strings(char **v, size_t n)
{
  if(!v)
    return;
  for(size_t i = 0; i < n; i++)
    gw_free(v[i]);
  gw_free(v);
}

void gw_adl_spec_free(struct gw_value_spec *s)
{
  if(!s)
    return;
  gw_free(s->path);
  for(size_t i = 0; i < s->n_enum; i++) {
    gw_free(s->enum_map[i].name);
    gw_free(s->enum_map[i].value);
  }
  gw_free(s->enum_map);
  free_strings(s->true_values, s->n_true);
  free_strings(s->false_values, s->n_false);
  for(size_t i = 0; i < s->n_members; i++) {
    gw_free(s->member_names[i]);
    gw_adl_spec_free(s->members[i]);
  }
  gw_free(s->member_names);
  gw_free(s->members);
  gw_adl_spec_free(s->item);
  for(size_t i = 0; i < s->n_where; i++) {
    gw_free(s->where[i].name);
    gw_free(s->where[i].value);
  }
  gw_free(s->where);
  gw_free(s->default_json);
  gw_free(s);
}

static void free_kvs(struct gw_kv *kv, size_t n)
{
  for(size_t i = 0; i < n; i++) {
    gw_free(kv[i].name);
    gw_free(kv[i].value);
  }
}

static void adapter_free(struct gw_adapter *a)
{
  gw_free(a->file);
  gw_free(a->id);
  gw_free(a->agency);
  gw_free(a->description);
  for(size_t i = 0; i < a->n_facts; i++)
    gw_free(a->facts[i]);
  gw_free(a->url);
  gw_free(a->method);
  for(size_t i = 0; i < a->n_allow; i++)
    gw_free(a->allow_cidrs[i]);
  gw_free(a->content_type);
  free_kvs(a->headers, a->n_headers);
  gw_free(a->body_template);
  free_kvs(a->query, a->n_query);
  gw_free(a->paging.page_param);
  gw_free(a->paging.size_param);
  gw_free(a->paging.total_pages);
  gw_free(a->paging.items);
  gw_free(a->ca_file);
  gw_free(a->client_cert);
  gw_free(a->client_key);
  gw_free(a->pin_sha256);
  gw_free(a->token_url);
  gw_free(a->client_id);
  free_secret(a->client_secret);
  gw_free(a->scope);
  gw_free(a->api_key_header);
  free_secret(a->api_key);
  gw_sigauth_signed_clear(&a->signed_auth);
  gw_sigauth_wsse_clear(&a->wsse);
  gw_free(a->verify_cert);
  gw_free(a->verify_key);
  gw_free(a->verify_sm2_id);
  gw_free(a->verify_alg);
  gw_free(a->signed_node);
  free_kvs(a->namespaces, a->n_namespaces);
  gw_free(a->not_found.test);
  gw_free(a->fault.test);
  gw_free(a->subject_path);
  for(size_t i = 0; i < a->n_mappings; i++) {
    gw_free(a->mappings[i].fact);
    gw_adl_spec_free(a->mappings[i].spec);
  }
  OPENSSL_cleanse(a, sizeof(*a));
  gw_free(a);
}

void gw_adapter_unref(struct gw_adapter *a)
{
  int before;
  if(!a)
    return;
  /* acq_rel: every use through other references happens before the free */
  before = atomic_fetch_sub_explicit(&a->refs, 1, memory_order_acq_rel);
  assert(before > 0);
  if(before == 1)
    adapter_free(a);
}
