/*
 * gw/admin.h - the admin API for adapters (role admin).
 *
 *   GET    /v1/adapters              the active adapters
 *   PUT    /v1/adapters/{id}         validate, persist, activate atomically
 *   DELETE /v1/adapters/{id}         remove, persist, activate atomically
 *   POST   /v1/adapters/{id}/test    dry run for a subject against the agency
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

#endif
