/*
 * catalogue_http.c - the read-only companions of the query:
 * GET /v1/facts/catalogue (what a client may ask, for which purposes, who
 * serves it and the schema of its value), GET /v1/keys (the JWKS that
 * verifies attestations) and GET /v1/agencies (each adapter's health).
 *
 * Each takes the current generation once, answers from it alone and
 * releases it before returning: nothing here outlives the request.
 */
#include "gw/query.h"

#include <string.h>

#include <jansson.h>

#include "acl.h"
#include "gw/alloc.h"
#include "gw/app.h"
#include "gw/attest.h"
#include "gw/facts.h"
#include "gw/factschema.h"
#include "gw/front.h"
#include "gw/policy.h"
#include "gen.h"

void gw_query_catalogue(struct gw_req *req, void *arg)
{
  struct gw_app *app = arg;
  const char *client = gw_req_client(req);
  const struct gw_fact_def *defs;
  struct gw_gen *gen = gw_gen_acquire(app->gens);
  const struct gw_catalogue *prev;
  json_t *out, *list;
  size_t n;

  if(!(gw_acl_roles(gen->acl, client) & GW_ROLE_CLIENT)) {
    gw_req_problem(req, 403, "forbidden", "this client may not read the catalogue");
    gw_gen_release(gen);
    return;
  }
  prev = gw_catalogue_use(gen->catalogue);
  defs = gw_fact_all(&n);
  list = json_array();
  for(size_t i = 0; i < n; i++) {
    const struct gw_factschema *fs = gw_factschema_set_get(gen->schemas, defs[i].name);
    struct gw_adapter_rt *rt = gw_gen_rt_for_fact(gen, defs[i].name);
    json_t *o = json_object(), *allowed = json_array(), *served = json_array();
    json_object_set_new(o, "name", json_string(defs[i].name));
    json_object_set_new(o, "agency", rt ? json_string(rt->adapter->agency) : json_null());
    json_object_set_new(o, "summary", json_string(defs[i].summary));
    json_object_set_new(o, "sensitivity", json_string(defs[i].sensitivity));
    json_object_set_new(o, "max_cache_age_s", json_integer(defs[i].max_cache_s));
    json_object_set_new(o, "adapter", rt ? json_string(rt->adapter->id) : json_null());
    for(size_t k = 0; (rt = gw_gen_rt_for_fact_nth(gen, defs[i].name, k)); k++)
      json_array_append_new(served, json_pack("{s:s, s:s, s:i}", "adapter", rt->adapter->id,
                                              "agency", rt->adapter->agency,
                                              "order", rt->adapter->order));
    json_object_set_new(o, "served_by", served);
    json_object_set_new(o, "schema", fs ? json_loads(gw_factschema_text(fs), 0, NULL) : json_null());
    for(size_t p = 0; p < gw_purpose_count(); p++)
      if(gw_acl_fact_allowed(gen->acl, client, gw_purpose_at(p), defs[i].name))
        json_array_append_new(allowed, json_string(gw_purpose_at(p)));
    json_object_set_new(o, "allowed_purposes", allowed);
    json_array_append_new(list, o);
  }
  gw_catalogue_use(prev);
  out = json_object();
  json_object_set_new(out, "version", json_integer(gw_catalogue_version(gen->catalogue)));
  json_object_set_new(out, "digest", json_string(gw_catalogue_digest(gen->catalogue)));
  json_object_set_new(out, "generation", json_integer((json_int_t)gen->id));
  json_object_set_new(out, "facts", list);
  gw_gen_release(gen);
  gw_req_respond_json(req, 200, out);
}

void gw_query_keys(struct gw_req *req, void *arg)
{
  struct gw_app *app = arg;
  struct gw_gen *gen = gw_gen_acquire(app->gens);
  char *jwks = gw_attest_jwks(gen->signer);
  gw_gen_release(gen);
  if(!jwks) {
    gw_req_problem(req, 500, "internal", "cannot build the JWKS");
    return;
  }
  gw_req_set_header(req, "Cache-Control", "max-age=300");
  gw_req_respond(req, 200, "application/jwk-set+json", jwks, strlen(jwks));
  gw_free(jwks);
}

void gw_query_agencies(struct gw_req *req, void *arg)
{
  struct gw_app *app = arg;
  struct gw_gen *gen = gw_gen_acquire(app->gens);
  unsigned roles = gw_acl_roles(gen->acl, gw_req_client(req));
  json_t *out, *list;

  if(!(roles & (GW_ROLE_CLIENT | GW_ROLE_ADMIN))) {
    gw_req_problem(req, 403, "forbidden", "this client may not read agency health");
    gw_gen_release(gen);
    return;
  }
  list = json_array();
  for(size_t i = 0; i < gen->n_rt; i++) {
    json_t *o = gw_policy_state_snapshot(gen->rt[i]->policy, gw_policy_now_ms());
    json_object_set_new(o, "agency", json_string(gen->rt[i]->adapter->agency));
    json_object_set_new(o, "recent", gw_adapter_rt_recent(gen->rt[i]));
    json_object_set_new(o, "adapter_version", json_integer(gen->rt[i]->adapter->version));
    json_array_append_new(list, o);
  }
  gw_gen_release(gen);
  out = json_object();
  json_object_set_new(out, "agencies", list);
  gw_req_respond_json(req, 200, out);
}
