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
#include "jread.h"

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

/* "purposes": {"purpose": ["fact", ...]}: purposes.json's purposes, and
 * for each only facts that purposes.json lets it read. */
static void load_purposes(struct gw_jread *r, struct acl_client *c, json_t *entry,
                          const char *at)
{
  char field[GW_JREAD_FIELD_MAX], item[GW_JREAD_FIELD_MAX];
  json_t *purposes = gw_jread_object(r, entry, at, "purposes", 0), *facts;
  const char *pname;

  gw_jread_join(field, sizeof(field), at, "purposes");
  if(!purposes)
    return;
  if(json_object_size(purposes) > ACL_MAX_PURPOSES) {
    gw_jread_fail(r, field, "at most %d purposes", ACL_MAX_PURPOSES);
    return;
  }
  json_object_foreach(purposes, pname, facts) {
    struct acl_purpose *p = &c->purposes[c->n_purposes];
    size_t i;
    json_t *f;
    if(!gw_purpose_known(pname)) {
      gw_jread_join(item, sizeof(item), field, pname);
      gw_jread_fail(r, item, "unknown purpose (not in purposes.json)");
      return;
    }
    /* may be empty: a client of predicates only sees no raw fact */
    gw_jread_join(item, sizeof(item), field, pname);
    if(!json_is_array(facts) || json_array_size(facts) > ACL_MAX_FACTS) {
      gw_jread_fail(r, item, "must be an array of at most %d fact names", ACL_MAX_FACTS);
      return;
    }
    p->name = gw_strdup(pname);
    c->n_purposes++;
    json_array_foreach(facts, i, f) {
      char one[GW_JREAD_FIELD_MAX];
      const char *name;
      const struct gw_fact_def *def;
      gw_jread_index(one, sizeof(one), item, i);
      name = gw_jread_string_value(r, f, one, GW_CATALOGUE_NAME_MAX);
      if(!name)
        return;
      def = gw_fact_find(name);
      if(!def) {
        gw_jread_fail(r, one, "not a fact in the catalogue");
        return;
      }
      if(!gw_purpose_has_fact(pname, def->name)) {
        gw_jread_fail(r, one, "purposes.json does not let purpose %s read %s (an ACL only "
                      "narrows a purpose)", pname, def->name);
        return;
      }
      p->facts[p->n_facts++] = def->name;
    }
  }
}

static struct acl_purpose *find_purpose_rw(struct acl_client *c, const char *purpose);

/* "predicates": {"purpose": ["predicate.id", ...]}: known purposes; a list
 * for a purpose the client does not state is checked and unused.  The ids
 * are checked for shape here and against the predicate set when a query
 * asks (the two load together on reload). */
static void load_predicates(struct gw_jread *r, struct acl_client *c, json_t *entry,
                            const char *at)
{
  char field[GW_JREAD_FIELD_MAX], item[GW_JREAD_FIELD_MAX];
  json_t *preds = gw_jread_object(r, entry, at, "predicates", 0), *list;
  const char *pname;

  gw_jread_join(field, sizeof(field), at, "predicates");
  if(!preds)
    return;
  json_object_foreach(preds, pname, list) {
    struct acl_purpose *p = find_purpose_rw(c, pname);
    size_t i;
    json_t *v;
    gw_jread_join(item, sizeof(item), field, pname);
    if(!gw_purpose_known(pname)) {
      gw_jread_fail(r, item, "unknown purpose");
      return;
    }
    if(!json_is_array(list) || json_array_size(list) > ACL_MAX_PREDICATES) {
      gw_jread_fail(r, item, "must be an array of at most %d predicate ids", ACL_MAX_PREDICATES);
      return;
    }
    json_array_foreach(list, i, v) {
      char one[GW_JREAD_FIELD_MAX];
      const char *id;
      gw_jread_index(one, sizeof(one), item, i);
      id = gw_jread_string_value(r, v, one, 64);
      if(!id)
        return;
      if(strchr(id, '(')) {
        gw_jread_fail(r, one, "must be a predicate id (no arguments)");
        return;
      }
      /* a list for a purpose the client may not state is never consulted */
      if(p)
        p->predicates[p->n_predicates++] = gw_strdup(id);
    }
  }
}

static void load_client(struct gw_jread *r, struct acl_client *c, json_t *entry,
                        const char *at)
{
  static const char *const known[] = { "roles", "purposes", "predicates", NULL };
  static const char *const role_names[] = { "client", "auditor", "admin", "witness", NULL };
  static const unsigned role_bits[] = { GW_ROLE_CLIENT, GW_ROLE_AUDITOR, GW_ROLE_ADMIN,
                                        GW_ROLE_WITNESS };
  char field[GW_JREAD_FIELD_MAX];
  json_t *roles, *v;
  size_t i;

  if(gw_jread_unknown(r, entry, at, known))
    return;
  roles = gw_jread_array(r, entry, at, "roles", 1, 8);
  if(!roles)
    return;
  gw_jread_join(field, sizeof(field), at, "roles");
  json_array_foreach(roles, i, v) {
    char one[GW_JREAD_FIELD_MAX];
    const char *s;
    size_t k;
    gw_jread_index(one, sizeof(one), field, i);
    s = gw_jread_string_value(r, v, one, 16);
    if(!s)
      return;
    for(k = 0; role_names[k] && strcmp(role_names[k], s); k++)
      ;
    if(!role_names[k]) {
      gw_jread_fail(r, one, "must be client, auditor, admin or witness");
      return;
    }
    c->roles |= role_bits[k];
  }
  load_purposes(r, c, entry, at);
  load_predicates(r, c, entry, at);
  if(!r->failed && (c->roles & GW_ROLE_CLIENT) && !c->n_purposes) {
    gw_jread_join(field, sizeof(field), at, "purposes");
    gw_jread_fail(r, field, "a client needs at least one purpose");
  }
}

struct gw_acl *gw_acl_load(const char *path, char *err, size_t errlen)
{
  static const char *const known[] = { "clients", NULL };
  struct gw_jread r = { .file = path, .err = err, .errlen = errlen };
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
  if(!json_is_object(root)) {
    snprintf(err, errlen, "%s: (top level): must be a JSON object", path);
    goto fail;
  }
  clients = gw_jread_object(&r, root, "", "clients", 1);
  if(!clients || gw_jread_unknown(&r, root, "", known))
    goto fail;
  if(json_object_size(clients) > ACL_MAX_CLIENTS) {
    gw_jread_fail(&r, "clients", "at most %d clients", ACL_MAX_CLIENTS);
    goto fail;
  }
  acl->clients = gw_calloc(json_object_size(clients) + 1, sizeof(struct acl_client));
  json_object_foreach(clients, cname, entry) {
    struct acl_client *c = &acl->clients[acl->n_clients];
    c->name = gw_strdup(cname);
    acl->n_clients++;
    (void)gw_jread_object(&r, clients, "clients", cname, 1);
    if(r.failed)
      goto fail;
    {
      char at[GW_JREAD_FIELD_MAX];
      gw_jread_join(at, sizeof(at), "clients", cname);
      load_client(&r, c, entry, at);
    }
    if(r.failed)
      goto fail;
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
