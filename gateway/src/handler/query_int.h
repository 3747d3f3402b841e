/*
 * query_int.h - what query.c shares with query_fast.c (the fast body
 * scanner) and query_shared.c (the Redis level of the cache).
 */
#ifndef GW_QUERY_INT_H
#define GW_QUERY_INT_H

#include <stddef.h>
#include <stdint.h>

#include "gw/adapter.h"
#include "gw/attest.h"
#include "codec.h"
#include "gw/idnum.h"

struct gw_app;
struct gw_gen;
struct gw_adapter_rt;
struct gw_cache_flight;
struct gw_fetch;
struct gw_worker_ctx;
struct gw_cluster_op;
struct event;
struct qgroup;

/* ---- what the cache holds: one agency answer, signed fact by fact --------- */

struct cached_fact {
  enum gw_fact_status status;
  enum gw_fact_error error;
  char detail[192];
  char *value;                  /* ok only: the value as compact JSON text
                                   (malloc storage: json_dumps or a copy) */
  size_t value_len;
  char *attestation;            /* ok only: "<compact JWS>" with its quotes, a
                                   JSON string (base64url and dots need no
                                   escaping), written into answers as is */
  size_t attestation_len;       /* with the quotes */
  char attestation_sha256[65];  /* ok only: hex of the JWS, what query
                                   records cite */
  char *attestation_sm2;        /* dual profile, ok only: the GmSM2 JWS of
                                   the same payload, quoted like attestation */
  size_t attestation_sm2_len;
  int agency_down;              /* unavailable because the agency was (timeout,
                                   breaker open, transport, HTTP 5xx): the
                                   next adapter by order may be asked; never
                                   for not_found or a refused answer */
};

struct cached_fetch {
  struct cached_fact facts[GW_ADAPTER_MAX_FACTS];
  size_t n;
  char *adapter_id;
  int adapter_version;
  char *agency;
  const char *signature;        /* static storage */
  int64_t fetched_at;
};

/* Frees a cached_fetch (the cache's free_fn). */
void query_cached_free(void *p);

/* The cached form as bytes for the shared cache (caller frees with
 * gw_free), and back: NULL when the bytes are not a cached answer of
 * adapter `a` (id and version must match). */
char *query_cached_encode(const struct cached_fetch *cf, int negative, size_t *len);
struct cached_fetch *query_cached_decode(const char *text, size_t len,
                                         const struct gw_adapter *a, int *negative,
                                         size_t *bytes);

/* ---- a flight: one fetch for one cache key, owned by nobody but itself ---- */

struct flight {
  struct gw_app *app;
  struct gw_gen *gen;           /* its own reference: signer and schemas of the
                                   generation the leading query started on */
  struct gw_worker_ctx *w;      /* the worker it runs on, start to end */
  struct gw_adapter_rt *rt;
  struct gw_cache_flight *cf;
  struct gw_fetch *fetch;
  struct qgroup *g;             /* NULL once the query stopped waiting */
  char subject_ref[GW_SUBJECT_REF_LEN + 1];
  char query_id[48];
  /* the shared level (query_shared.c) */
  char key[256];                /* the local cache key */
  char subject_id[GW_IDNUM_LEN + 1];   /* wiped when the flight ends */
  char *subject_name;
  uint64_t deadline_ms;         /* monotonic: the fetch's deadline */
  uint64_t wait_until_ms;       /* monotonic: waiting for another instance ends */
  int64_t max_age_ms;
  struct gw_cluster_op *op;     /* a claim in flight */
  struct event *poll;           /* another instance fetches: look again */
  uint64_t token;               /* the lease this instance holds, 0: none */
  int skip_value;               /* Redis's value was too old for us */
};

/* query_shared.c: begins a flight, through Redis when the cluster is
 * configured and reachable, else straight to query_flight_fetch. */
void query_flight_begin(struct flight *fl);

/* query_shared.c: after the fetch, what the other instances should see:
 * the value published under our lease, or the lease given back. */
void query_flight_share(struct flight *fl, const struct cached_fetch *cf, int negative,
                        int failed);

/* query.c: starts the agency fetch of a flight. */
void query_flight_fetch(struct flight *fl);

/* query.c: ends a flight with a value another instance fetched (ownership
 * of cf passes); the flight is freed. */
void query_flight_shared_value(struct flight *fl, struct cached_fetch *cf, size_t bytes,
                               int negative);

/* query.c: frees a flight (after its cache flight ended). */
void query_flight_free(struct flight *fl);

/* As QUERY_MAX_FACTS in query.c: more facts than this go the slow way. */
#define QUERY_FAST_MAX_FACTS 16

/* A body in the plain shape, as pointers into it (strings without their
 * quotes, never NUL-terminated).  Only syntax and shape were checked: the
 * values are still the caller's to validate. */
struct query_fast {
  const char *id_type, *id, *name;
  size_t id_type_len, id_len, name_len;
  const char *facts[QUERY_FAST_MAX_FACTS];
  size_t fact_len[QUERY_FAST_MAX_FACTS];
  size_t n_facts;
  const char *purpose, *case_ref;
  size_t purpose_len, case_ref_len;
  int has_case_ref, has_deadline, has_max_age;
  int64_t deadline_ms, max_age_s;
  int sign;
};

/* 0 when body[0..len) is a JSON object of the plain shape (see
 * query_fast.c), with *f filled; -1 when the full parser must judge it. */
int query_scan_fast(const char *body, size_t len, struct query_fast *f);

#endif /* GW_QUERY_INT_H */
