/*
 * gw/query.h - the verified-data interface (DESIGN section 3).
 *
 * Route handlers for POST /v1/facts/query, GET /v1/facts/catalogue,
 * GET /v1/keys and GET /v1/agencies.  Each takes the struct gw_app as its
 * route argument and finds its worker with gw_worker_current().
 *
 * One query's life: validate every field (the identity number before
 * anything leaves the gateway), check the client's purpose and facts
 * against the ACL, plan the facts onto adapters (one agency call can serve
 * several facts), look each adapter's answer up in the cache — hit, lead a
 * fetch, or wait for the fetch another request leads — all in parallel
 * under one deadline, assemble per-fact statuses, append the query record
 * to the audit log, and answer once that record is durable.
 */
#ifndef GW_QUERY_H
#define GW_QUERY_H

struct gw_req;

void gw_query_handle(struct gw_req *req, void *app);
void gw_query_catalogue(struct gw_req *req, void *app);
void gw_query_keys(struct gw_req *req, void *app);
void gw_query_agencies(struct gw_req *req, void *app);

#endif
