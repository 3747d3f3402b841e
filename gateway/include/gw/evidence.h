/*
 * gw/evidence.h - the evidence bundle of one approval case (DESIGN section
 * 3): GET /v1/cases/{case_ref}/evidence, and the backward log scan that
 * finds a case's (or a query's) records.
 *
 * A bundle is everything a supervisor needs to check a case offline:
 *
 *   {"case_ref": "...", "checkpoint": "<signed note>",
 *    "checkpoint_key": "<note verifier key>", "jwks": {...},
 *    "tree_size": M,
 *    "records": [{"index": N, "kind": "query"|"fetch", "data": "<base64 of
 *                 the exact record bytes>", "proof": ["<base64 hash>", ...]}],
 *    "attestations": ["<compact JWS>", ...]}
 *
 * Every record has an RFC 9162 inclusion proof to the checkpoint's tree.
 * The query records carry the predicate attestations and cite every fact
 * attestation by hash; "attestations" holds the fact attestations the
 * client was served.  An auditor's bundle adds the fetch records holding
 * every cited fact attestation (predicate inputs included), so each
 * predicate can be recomputed; a client's bundle never holds a value it was
 * not served.  `gwctl verify --bundle FILE` checks all of it.
 *
 * A case's records are found through the log's index (gw_audit_find_case,
 * gw_audit_find_query: docs/audit.md), not by reading the log.  Only the
 * fetch records of attestations a query was served from the cache (which
 * name an earlier query) are looked for with the scan below, backwards
 * from the case's oldest query record until all are found, at most
 * GW_EVIDENCE_SCAN_MAX records, on the calling thread (a worker: the reads
 * are page-cache reads of the records file).
 */
#ifndef GW_EVIDENCE_H
#define GW_EVIDENCE_H

#include <stddef.h>
#include <stdint.h>

#include "gw/audit.h"

#define GW_EVIDENCE_SCAN_MAX 1000000     /* records scanned per request */
#define GW_EVIDENCE_RECORDS_MAX 256      /* records in one bundle */

struct gw_req;

/* Calls fn(index, bytes, len, arg) for each committed record below `below`,
 * newest first, at most `max` of them; fn returns non-zero to stop.  Returns
 * the first reader error, or GW_AUDIT_OK. */
enum gw_audit_result gw_evidence_scan(struct gw_audit_log *log, uint64_t below, uint64_t max,
                                      int (*fn)(uint64_t index, const uint8_t *bytes,
                                                size_t len, void *arg),
                                      void *arg)
  __attribute__((warn_unused_result));

/* Route handler, argument the struct gw_app. */
void gw_evidence_handle(struct gw_req *req, void *app);

#endif
