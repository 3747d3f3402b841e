/*
 * gw/recheck.h - POST /v1/facts/recheck (DESIGN section 3): re-asks the
 * agencies for a past query, without the cache, and answers per fact and
 * predicate unchanged / changed / unavailable.  Body:
 *
 *   {"query_id": "q_…", "subject": {"id_type", "id", "name"}, "deadline_ms": 3000}
 *
 * The subject is sent again because the gateway cannot read it from its log
 * (sealed to the auditors); its HMAC must be the original subject_ref.
 * Roles: the client that made the original query, or an auditor.  See
 * recheck.c and docs/query.md.
 */
#ifndef GW_RECHECK_H
#define GW_RECHECK_H

struct gw_req;

/* Route handler, argument the struct gw_app. */
void gw_recheck_handle(struct gw_req *req, void *app);

#endif
