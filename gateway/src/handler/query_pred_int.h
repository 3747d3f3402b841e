/*
 * query_pred_int.h - what query.c shares with query_pred.c: the predicates
 * of one query, from request to answer.
 *
 * query.c owns the fact slots (it fetches the facts a predicate reads as
 * hidden slots: fetched, attested and logged, never returned); query_pred.c
 * owns everything about the predicates themselves: parsing, the ACL and
 * probing checks, evaluation, predicate attestations, and their parts of
 * the answer and of the query record.
 */
#ifndef GW_QUERY_PRED_INT_H
#define GW_QUERY_PRED_INT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "codec.h"
#include "jsonw.h"
#include "gw/predicate.h"

#define QUERY_MAX_PREDICATES 16

struct gw_app;
struct gw_acl;
struct gw_gen;
struct gw_attest_signer;

struct qpred {
  const struct gw_pred_def *def;    /* borrowed from the app's set, which a
                                       reload retires but never frees early */
  json_t *arg;                      /* owned; NULL when the predicate takes none */
  char key[GW_PRED_KEY_MAX];        /* "id(arg)", the answer's key */
  int denied;
  char deny_reason[200];
  int slot[GW_PRED_MAX_FACTS];      /* per def->facts[i]: the query's fact
                                       slot, or -1 when nothing serves it */
  enum gw_pred_result result;
  char why[200];                    /* unknown: why */
  enum gw_fact_error error;         /* unknown for want of a fact */
  const char *agency;               /* borrowed for the query's life */
  char *attestation;                /* owned: compact JWS, true/false only */
  char *attestation_sm2;            /* owned: dual only, the GmSM2 JWS of the
                                       same payload bytes; else NULL */
  char attestation_sha256[65];
  char basis[GW_PRED_MAX_FACTS][65];
  size_t n_basis;
  char as_of[11];
  const char *src_agency[GW_PRED_MAX_FACTS];  /* per def->facts[i]; borrowed */
  int unserved;                     /* a fact it reads has no adapter yet */
};

struct qpreds {
  struct qpred p[QUERY_MAX_PREDICATES];
  size_t n;
};

/* One fact slot as the query ended, what the predicates read. */
struct qpred_fact {
  const char *name;
  enum gw_pred_fact_status status;
  const char *value_json;           /* ok: compact JSON text */
  size_t value_len;
  const char *attestation_sha256;   /* ok: hex */
  const char *attestation;          /* ok: the JWS as a JSON string (quoted) */
  size_t attestation_len;
  const char *attestation_sm2;      /* ok, dual: the GmSM2 twin, quoted; or NULL */
  size_t attestation_sm2_len;
  int hidden;                       /* not returned to the client */
  enum gw_fact_error error;         /* unavailable */
  const char *agency;
  const char *detail;
};

/* ---- re-checks (recheck.c) ---------------------------------------------- */

struct gw_recheck;
struct gw_req;

/* What a re-check asks again: the original query's, found in the log. */
struct query_spec {
  const char *subject_id;           /* normalized */
  const char *subject_name;
  const char *facts[16];
  size_t n_facts;
  const char *purpose, *case_ref, *client;
  uint64_t deadline_ms;
};
/* query.c: runs spec as a query that never reads the cache, on the
 * generation `gen` (the caller's reference passes to the query), moving
 * *preds (left empty) and taking rc; at the end gw_recheck_finish writes
 * the answer and the record. */
void query_start_recheck(struct gw_req *req, struct gw_app *app, struct gw_gen *gen,
                         const struct query_spec *spec, struct qpreds *preds,
                         struct gw_recheck *rc);
/* recheck.c: the answer's members (the caller opened the object and adds
 * "audit") and the "recheck" record, which cites `gen` (returned, gw_free;
 * NULL on error). */
char *gw_recheck_finish(struct gw_recheck *rc, const struct gw_gen *gen,
                        const struct qpred_fact *facts, size_t n_facts,
                        const struct qpreds *ps, const char *query_id, const char *subject_ref,
                        const char *request_id, struct gw_jw *answer, size_t *record_len);
void gw_recheck_free(struct gw_recheck *rc);

/* Parses the request's "predicates" (arr may be NULL: none) against `set`.
 * 0, or -1 with a message naming the entry in detail. */
int qpred_parse(struct qpreds *ps, const struct gw_predset *set, const json_t *arr,
                char *detail, size_t detail_len);
void qpred_free(struct qpreds *ps);

/* Marks each predicate denied that the predicate's purposes, the client's
 * ACL (`acl`, the query's generation's) or the probing defence refuse
 * (gw/predicate.h; window from app's config). */
void qpred_authorize(struct qpreds *ps, struct gw_app *app, const struct gw_acl *acl,
                     const char *client,
                     const char *purpose, const char *subject_ref, int64_t now_ms);

/* Evaluates and signs every allowed predicate; returns 1 when each answer
 * is true or false. */
int qpred_evaluate(struct qpreds *ps, const struct qpred_fact *facts, size_t n_facts,
                   const struct gw_attest_signer *signer, const char *subject_ref, int64_t now_s);

/* The answer's "predicates" member and the query record's (keys sorted). */
void qpred_write_answer(const struct qpreds *ps, struct gw_jw *w);
void qpred_write_record(const struct qpreds *ps, struct gw_jw *w);

#endif
