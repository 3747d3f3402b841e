/*
 * gw/admin.h - the admin API for adapters, facts and predicates (role admin).
 *
 *   GET    /v1/adapters              the active adapters
 *   PUT    /v1/adapters/{id}         validate, persist, activate atomically
 *   DELETE /v1/adapters/{id}         remove, persist, activate atomically
 *   POST   /v1/adapters/{id}/test    dry run for a subject against the agency
 *   GET    /v1/facts/{name}          the schema file in force, version, sha256
 *   PUT    /v1/facts/{name}          a fact schema with x-gw (version newer)
 *   DELETE /v1/facts/{name}
 *   GET/PUT/DELETE /v1/predicates/{id}   the same for predicate definitions
 *   GET    /v1/purposes              purposes.json in force, version, sha256
 *   PUT    /v1/purposes              the whole file ("version" newer); no
 *                                    DELETE: the catalogue needs one
 *
 * Facts and predicates follow the adapters' rules: the file is judged by
 * the loader first (400 naming file and field), a version not newer than
 * the one in force is 409 version-conflict, and a change the reload refuses
 * (an adapter mapping, a purpose naming or a predicate reading a fact that
 * would no longer exist; a predicate or the ACL naming a purpose the new
 * purposes file drops) is undone on disk: 400 for a PUT, 409 in-use for a
 * DELETE of a fact or predicate (400 for an adapter, as before).
 *
 * A definition is validated exactly as at start-up (same loader, same
 * "FILE: FIELD: PROBLEM" messages, answered as 400 problem+json); only a
 * definition that loads is written, and only into adapters_dir, through a
 * temporary file, fsync and rename, so a restart keeps what was activated.
 * Activation is the SIGHUP reload path: every adapter re-read and swapped
 * as one set; if the new set is refused (a fact claimed twice, a version not
 * newer) the file change is undone and the running set keeps serving.
 */
#ifndef GW_ADMIN_H
#define GW_ADMIN_H

struct gw_req;

/* Route handlers; the route argument is the struct gw_app. */
void gw_admin_list(struct gw_req *req, void *app);
void gw_admin_adapter(struct gw_req *req, void *app);   /* PUT, DELETE, POST .../test */
/* /v1/adapters/ID, /v1/facts/NAME and /v1/predicates/ID alike (gw_admin_adapter
 * is this one); route it after the exact /v1/facts/... routes. */
void gw_admin_definition(struct gw_req *req, void *app);

#endif
