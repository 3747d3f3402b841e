/*
 * acl.c - the client ACL: roles, purposes and facts per purpose.
 *
 * Loaded into plain arrays; lookups are linear scans over a handful of
 * clients and purposes, which is faster than hashing at this size and has
 * nothing to go wrong.
 */
#include "acl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "gw/alloc.h"
#include "gw/b64.h"
#include "gw/facts.h"

#define ACL_MAX_CLIENTS 256
#define ACL_MAX_PURPOSES 16
#define ACL_MAX_FACTS 32
#define ACL_MAX_PREDICATES 32
#define ACL_MAX_BYTES (1024 * 1024)

struct acl_purpose {
  char *name;
  const char *facts[ACL_MAX_FACTS];    /* catalogue names (catalogue storage) */
  size_t n_facts;
  char *predicates[ACL_MAX_PREDICATES];  /* predicate ids (checked against the
                                          predicate set when asked) */
  size_t n_predicates;
};

struct acl_client {
  char *name;
  unsigned roles;
  struct acl_purpose purposes[ACL_MAX_PURPOSES];
  size_t n_purposes;
};

struct gw_acl {
  struct acl_client *clients;
  size_t n_clients;
  char sha256[65];             /* of the file's bytes, as loaded */
};

const char *gw_acl_sha256(const struct gw_acl *acl)
{
  return acl->sha256;
}

void gw_acl_free(struct gw_acl *acl)
{
  if(!acl)
    return;
  for(size_t i = 0; i < acl->n_clients; i++) {
    gw_free(acl->clients[i].name);
    for(size_t j = 0; j < acl->clients[i].n_purposes; j++) {
      gw_free(acl->clients[i].purposes[j].name);
      for(size_t k = 0; k < acl->clients[i].purposes[j].n_predicates; k++)
        gw_free(acl->clients[i].purposes[j].predicates[k]);
    }
  }
  gw_free(acl->clients);
  gw_free(acl);
}

static int load_purposes(struct acl_client *c, json_t *purposes, const char *path,
                         const char *cname, char *err, size_t errlen)
{
  const char *pname;
  json_t *facts;
  if(!json_is_object(purposes)) {
    snprintf(err, errlen, "%s: clients.%s.purposes: must be an object", path, cname);
    return -1;
  }
  if(json_object_size(purposes) > ACL_MAX_PURPOSES) {
    snprintf(err, errlen, "%s: clients.%s.purposes: at most %d", path, cname, ACL_MAX_PURPOSES);
    return -1;
  }
  json_object_foreach(purposes, pname, facts) {
    struct acl_purpose *p = &c->purposes[c->n_purposes];
    size_t i;
    json_t *f;
    if(!gw_purpose_known(pname)) {
      snprintf(err, errlen, "%s: clients.%s.purposes.%s: unknown purpose (not in purposes.json)",
               path, cname, pname);
      return -1;
    }
    if(!json_is_array(facts) || json_array_size(facts) > ACL_MAX_FACTS) {
      snprintf(err, errlen, "%s: clients.%s.purposes.%s: must be an array of at most %d fact names",
               path, cname, pname, ACL_MAX_FACTS);
      return -1;
    }
    p->name = gw_strdup(pname);
    c->n_purposes++;
    json_array_foreach(facts, i, f) {
      const struct gw_fact_def *def = json_is_string(f) ? gw_fact_find(json_string_value(f)) : NULL;
      if(!def) {
        snprintf(err, errlen, "%s: clients.%s.purposes.%s[%zu]: not a fact in the catalogue",
                 path, cname, pname, i);
        return -1;
      }
      if(!gw_purpose_has_fact(pname, def->name)) {
        snprintf(err, errlen, "%s: clients.%s.purposes.%s[%zu]: purposes.json does not let "
                 "purpose %s read %s (an ACL only narrows a purpose)", path, cname, pname, i,
                 pname, def->name);
        return -1;
      }
      p->facts[p->n_facts++] = def->name;
    }
  }
  return 0;
}

static struct acl_purpose *find_purpose_rw(struct acl_client *c, const char *purpose);

/* "predicates": {"purpose": ["predicate.id", ...]}: known purposes; a list
 * for a purpose the client does not state is checked and unused.  The ids are checked for shape here and against the
 * predicate set when a query asks (the two load together on reload). */
static int load_predicates(struct acl_client *c, json_t *preds, const char *path,
                           const char *cname, char *err, size_t errlen)
{
  const char *pname;
  json_t *list;
  if(!json_is_object(preds)) {
    snprintf(err, errlen, "%s: clients.%s.predicates: must be an object", path, cname);
    return -1;
  }
  json_object_foreach(preds, pname, list) {
    struct acl_purpose *p = find_purpose_rw(c, pname);
    size_t i;
    json_t *v;
    if(!gw_purpose_known(pname)) {
      snprintf(err, errlen, "%s: clients.%s.predicates.%s: unknown purpose", path, cname, pname);
      return -1;
    }
    if(!json_is_array(list) || json_array_size(list) > ACL_MAX_PREDICATES) {
      snprintf(err, errlen, "%s: clients.%s.predicates.%s: must be an array of at most %d "
               "predicate ids", path, cname, pname, ACL_MAX_PREDICATES);
      return -1;
    }
    json_array_foreach(list, i, v) {
      const char *id = json_string_value(v);
      if(!id || !*id || strlen(id) > 64 || strchr(id, '(')) {
        snprintf(err, errlen, "%s: clients.%s.predicates.%s[%zu]: must be a predicate id",
                 path, cname, pname, i);
        return -1;
      }
      /* a list for a purpose the client may not state is never consulted */
      if(p)
        p->predicates[p->n_predicates++] = gw_strdup(id);
    }
  }
  return 0;
}

struct gw_acl *gw_acl_load(const char *path, char *err, size_t errlen)
{
  struct gw_acl *acl = gw_calloc(1, sizeof(*acl));
  json_error_t jerr;
  json_t *root = NULL, *clients, *entry;
  const char *cname;
  FILE *fp = fopen(path, "rb");
  char *text;
  size_t len;
  unsigned char md[EVP_MAX_MD_SIZE];

  if(!fp) {
    snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    gw_free(acl);
    return NULL;
  }
  /* read once: what is parsed is what is hashed for the config record */
  text = gw_malloc(ACL_MAX_BYTES + 1);
  len = fread(text, 1, ACL_MAX_BYTES + 1, fp);
  if(ferror(fp) || len > ACL_MAX_BYTES) {
    snprintf(err, errlen, "%s: %s", path, ferror(fp) ? "cannot read" : "larger than 1 MiB");
    fclose(fp);
    gw_free(text);
    gw_free(acl);
    return NULL;
  }
  fclose(fp);
  if(!EVP_Digest(text, len, md, NULL, EVP_sha256(), NULL))
    abort();                   /* OpenSSL cannot hash: the alloc policy */
  gw_hex_encode(md, 32, acl->sha256);
  root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
  gw_free(text);
  if(!root) {
    snprintf(err, errlen, "%s: line %d, column %d: %s", path, jerr.line, jerr.column, jerr.text);
    goto fail;
  }
  if(!json_is_object(root) || json_object_size(root) != 1 ||
     !json_is_object(clients = json_object_get(root, "clients"))) {
    snprintf(err, errlen, "%s: clients: an object \"clients\" is required, and nothing else", path);
    goto fail;
  }
  if(json_object_size(clients) > ACL_MAX_CLIENTS) {
    snprintf(err, errlen, "%s: clients: at most %d", path, ACL_MAX_CLIENTS);
    goto fail;
  }
  acl->clients = gw_calloc(json_object_size(clients) + 1, sizeof(struct acl_client));
  json_object_foreach(clients, cname, entry) {
    struct acl_client *c = &acl->clients[acl->n_clients];
    json_t *roles, *purposes, *r;
    const char *key;
    json_t *val;
    size_t i;

    c->name = gw_strdup(cname);
    acl->n_clients++;
    if(!json_is_object(entry)) {
      snprintf(err, errlen, "%s: clients.%s: must be an object", path, cname);
      goto fail;
    }
    json_object_foreach(entry, key, val) {
      if(strcmp(key, "roles") && strcmp(key, "purposes") && strcmp(key, "predicates")) {
        snprintf(err, errlen, "%s: clients.%s.%s: unknown field", path, cname, key);
        goto fail;
      }
    }
    roles = json_object_get(entry, "roles");
    if(!json_is_array(roles) || !json_array_size(roles)) {
      snprintf(err, errlen, "%s: clients.%s.roles: must be a non-empty array", path, cname);
      goto fail;
    }
    json_array_foreach(roles, i, r) {
      const char *s = json_string_value(r);
      if(s && !strcmp(s, "client"))
        c->roles |= GW_ROLE_CLIENT;
      else if(s && !strcmp(s, "auditor"))
        c->roles |= GW_ROLE_AUDITOR;
      else if(s && !strcmp(s, "admin"))
        c->roles |= GW_ROLE_ADMIN;
      else {
        snprintf(err, errlen, "%s: clients.%s.roles[%zu]: must be client, auditor or admin",
                 path, cname, i);
        goto fail;
      }
    }
    purposes = json_object_get(entry, "purposes");
    if(purposes && load_purposes(c, purposes, path, cname, err, errlen))
      goto fail;
    if(json_object_get(entry, "predicates") &&
       load_predicates(c, json_object_get(entry, "predicates"), path, cname, err, errlen))
      goto fail;
    if((c->roles & GW_ROLE_CLIENT) && !c->n_purposes) {
      snprintf(err, errlen, "%s: clients.%s.purposes: a client needs at least one purpose",
               path, cname);
      goto fail;
    }
  }
  json_decref(root);
  return acl;

fail:
  json_decref(root);
  gw_acl_free(acl);
  return NULL;
}

static const struct acl_client *find(const struct gw_acl *acl, const char *client)
{
  if(!acl || !client)
    return NULL;
  for(size_t i = 0; i < acl->n_clients; i++)
    if(!strcmp(acl->clients[i].name, client))
      return &acl->clients[i];
  return NULL;
}

unsigned gw_acl_roles(const struct gw_acl *acl, const char *client)
{
  const struct acl_client *c = find(acl, client);
  return c ? c->roles : 0;
}

static const struct acl_purpose *find_purpose(const struct acl_client *c, const char *purpose)
{
  for(size_t i = 0; c && i < c->n_purposes; i++)
    if(!strcmp(c->purposes[i].name, purpose))
      return &c->purposes[i];
  return NULL;
}

int gw_acl_purpose_allowed(const struct gw_acl *acl, const char *client, const char *purpose)
{
  const struct acl_client *c = find(acl, client);
  return c && (c->roles & GW_ROLE_CLIENT) && find_purpose(c, purpose) != NULL;
}

int gw_acl_fact_allowed(const struct gw_acl *acl, const char *client, const char *purpose,
                        const char *fact)
{
  const struct acl_purpose *p = find_purpose(find(acl, client), purpose);
  for(size_t i = 0; p && i < p->n_facts; i++)
    if(!strcmp(p->facts[i], fact))
      return 1;
  return 0;
}

static struct acl_purpose *find_purpose_rw(struct acl_client *c, const char *purpose)
{
  for(size_t i = 0; i < c->n_purposes; i++)
    if(!strcmp(c->purposes[i].name, purpose))
      return &c->purposes[i];
  return NULL;
}

int gw_acl_predicate_allowed(const struct gw_acl *acl, const char *client, const char *purpose,
                             const char *predicate)
{
  const struct acl_purpose *p = find_purpose(find(acl, client), purpose);
  for(size_t i = 0; p && i < p->n_predicates; i++)
    if(!strcmp(p->predicates[i], predicate))
      return 1;
  return 0;
}
