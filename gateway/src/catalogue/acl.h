/*
 * gw/acl.h - who may ask what, for which purpose (data minimization).
 *
 * A client is identified by the subject CN of its verified client
 * certificate (the client CA issues one CN per client system).  The ACL
 * file maps each client to its roles (client, auditor, admin, witness), the purposes
 * it may state, and per purpose the facts it may receive:
 *
 *   {"clients": {
 *      "engine":  {"roles": ["client"],
 *                  "purposes": {"talent.graduate": ["identity.match", "education.degrees", ...],
 *                               ...}},
 *      "auditor": {"roles": ["auditor"]},
 *      "admin":   {"roles": ["admin"]}}}
 *
 * Purposes are the talent paths of DESIGN section 3; facts must be in the
 * catalogue.  A client in no ACL entry gets 403 everywhere but the public
 * endpoints; a fact outside the stated purpose gets status "denied".  An ACL
 * is immutable after load (reload builds a new one and swaps it).
 */
#ifndef GW_ACL_H
#define GW_ACL_H

#include <stddef.h>

enum gw_role {
  GW_ROLE_CLIENT = 1 << 0,
  GW_ROLE_AUDITOR = 1 << 1,
  GW_ROLE_ADMIN = 1 << 2,
  GW_ROLE_WITNESS = 1 << 3     /* a peer gateway submitting its checkpoints */
};

struct gw_acl;

/* Loads an ACL file; on error returns NULL with "FILE: FIELD: PROBLEM". */
struct gw_acl *gw_acl_load(const char *path, char *err, size_t errlen);
void gw_acl_free(struct gw_acl *acl);

/* Lowercase hex SHA-256 of the file's bytes as they were loaded (the
 * config audit record cites it).  Owned by acl. */
const char *gw_acl_sha256(const struct gw_acl *acl);

/* The roles (bit set of enum gw_role) of `client`; 0 when unknown or NULL. */
unsigned gw_acl_roles(const struct gw_acl *acl, const char *client);

/* May `client` state `purpose`? */
int gw_acl_purpose_allowed(const struct gw_acl *acl, const char *client, const char *purpose);

/* May `client` receive `fact` when it states `purpose`? */
int gw_acl_fact_allowed(const struct gw_acl *acl, const char *client, const char *purpose,
                        const char *fact);

/* May `client` ask `predicate` (an id) when it states `purpose`?  From the
 * client's optional "predicates": {"purpose": ["id", ...]} (none: no
 * predicate); the predicate's own purposes are checked by the caller. */
int gw_acl_predicate_allowed(const struct gw_acl *acl, const char *client, const char *purpose,
                             const char *predicate);
/* Purposes themselves come from the catalogue (gw_purpose_known in
 * gw/facts.h); an ACL may only narrow them. */

#endif
