/*
 * gw/audit_http.h - the audit log's HTTP face (DESIGN section 3).
 *
 * The one idea: everything an auditor or a witness needs to check the log
 * without trusting the gateway travels in the formats that need no gateway
 * code to check: the checkpoint as a C2SP signed note, its verifier key in
 * the sumdb/note form, RFC 9162 proofs and the exact record bytes as
 * standard base64.  Anyone holding the verifier key recomputes every hash.
 *
 *   GET /v1/audit/checkpoint                       public   text/plain note
 *   GET /v1/audit/checkpoint-key                   public   text/plain key
 *   GET /v1/audit/proof?index=N[&tree_size=M]      client, auditor
 *   GET /v1/audit/consistency?from=A&to=B          public
 *   GET /v1/audit/entries?start=S&count=C          auditor
 *
 * Query strings are strict: decimal digits only (no sign, no leading zero,
 * at most 2^63), every parameter at most once, no unknown parameter; any
 * breach is a 400 problem naming the parameter.  Sizes and indexes past the
 * committed log are 404 with the committed size in the detail; wrong role
 * is 403.  Each handler takes the struct gw_app as its route argument.
 *
 * Never here: building records, signing, anything uncommitted (the readers
 * of gw/audit.h see only durable records).  The readers pread() pages of the
 * log and its node store on the worker's loop: short reads, bounded by
 * GW_AUDIT_ENTRIES_MAX / GW_AUDIT_ENTRIES_BYTES_MAX for entries and
 * O(log n) hashes for proofs.
 */
#ifndef GW_AUDIT_HTTP_H
#define GW_AUDIT_HTTP_H

struct gw_req;

void gw_audit_http_checkpoint(struct gw_req *req, void *app);
void gw_audit_http_checkpoint_key(struct gw_req *req, void *app);
/* GET /v1/audit/checkpoint-key-sm2: the verifier key of the checkpoints'
 * SM2 line (gw/checkpoint_sm2.h); 503 in the intl profile. */
void gw_audit_http_checkpoint_key_sm2(struct gw_req *req, void *app);
void gw_audit_http_proof(struct gw_req *req, void *app);
void gw_audit_http_consistency(struct gw_req *req, void *app);
void gw_audit_http_entries(struct gw_req *req, void *app);
/* POST /v1/audit/witness/add-checkpoint (c2sp.org/tlog-witness; role
 * witness): a peer's checkpoint with a consistency proof, answered with
 * this instance's cosignature or a refusal (gw/witness.h). */
void gw_audit_http_witness_add(struct gw_req *req, void *app);
/* GET /v1/audit/witness-key: this instance's cosignature verifier key
 * ("<gateway_id>/witness+<hex>+<base64(0x04 || key)>"), for witness
 * policies; 404 without audit.witness. */
void gw_audit_http_witness_key(struct gw_req *req, void *app);

#endif
