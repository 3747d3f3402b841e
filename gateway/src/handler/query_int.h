/*
 * query_int.h - what query.c shares with query_fast.c (the fast body
 * scanner) and query_shared.c (the Redis level of the cache).
 */
#ifndef GW_QUERY_INT_H
#define GW_QUERY_INT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "gw/adapter.h"
#include "gw/attest.h"
#include "codec.h"
#include "gw/idnum.h"
#include "msg.h"

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

/* ---- the request body: query_fast.c finds it, query_body.c judges it ------ */

#define QUERY_MAX_FACTS 16          /* facts one body may ask */
#define QUERY_MAX_DEPTH 8           /* JSON nesting of a body */
#define QUERY_NAME_MAX_BYTES 256    /* subject.name */
#define QUERY_MAX_AGE_S (31 * 86400)
#define QUERY_PURPOSE_BUF 40        /* a purpose name and its NUL */
#define QUERY_CASE_REF_BUF 65       /* case_ref: 1 to 64 bytes and the NUL */
/* A detail of query_body_read: jansson's error text with its token echoed,
 * or the purpose list, and the words around them. */
#define QUERY_DETAIL_BUF (JSON_ERROR_TEXT_LENGTH + GW_MSG_ECHO_BUF + 128)

/* A string value inside the body: its bytes without quotes, never
 * NUL-terminated.  p NULL: the member is absent or not a string. */
struct query_slice {
  const char *p;
  size_t n;
};

/* How an optional member is present. */
enum query_member {
  QUERY_M_ABSENT = 0,
  QUERY_M_OK,                   /* present with the right JSON type */
  QUERY_M_BAD                   /* present with another type (facts: also
                                   more than QUERY_MAX_FACTS items) */
};

/* What a body says, found but not judged: either parser fills it (the fast
 * scanner straight off the bytes, the full one from a jansson tree) and
 * query_body_check alone applies the rules.  Pointers point into the body
 * (or the jansson tree), so it lives no longer than they do. */
struct query_body {
  int subject_ok;               /* "subject" is an object of three members */
  struct query_slice id_type, id, name;
  const json_t *predicates;     /* the "predicates" member; NULL when absent
                                   (always, from the fast scanner) */
  enum query_member facts;
  struct query_slice fact[QUERY_MAX_FACTS];   /* p NULL: an item not a string */
  size_t n_facts;
  struct query_slice purpose;
  enum query_member case_ref_m, deadline_m, max_age_m, sign_m;
  struct query_slice case_ref;
  int64_t deadline_ms, max_age_s;
  int sign;
};

/* What a valid body asks: query_body_read's output. */
struct query_ask {
  char subject_id[GW_IDNUM_LEN + 1];   /* normalized (GB 11643) */
  char *subject_name;           /* owned: query_ask_clear wipes and frees it */
  const char *facts[QUERY_MAX_FACTS];  /* catalogue storage, no repeats */
  size_t n_facts;
  char purpose[QUERY_PURPOSE_BUF];     /* a purpose of the catalogue */
  char case_ref[QUERY_CASE_REF_BUF];   /* "" when absent */
  uint64_t deadline_ms;         /* from the body or cfg's default */
  int64_t max_age_ms;           /* likewise */
  int sign;
};

struct gw_config;
struct gw_predset;
struct qpreds;

/* query_fast.c: 0 when body[0..len) is a JSON object of the plain shape
 * (no escapes, no predicates, known members once each), with *b filled;
 * -1 when the full parser must read it (*b then means nothing).  Never
 * judges a value: that is query_body_check's. */
int query_scan_fast(const char *body, size_t len, struct query_body *b);

/* query_body.c: the rules of a query body, written once.  Judges what *b
 * says in a fixed order (subject, id_type, id, name, predicates, facts,
 * purpose, case_ref, deadline_ms, max_age_s, sign) and fills *out; fact and
 * purpose names are looked up in the catalogue in force on this thread
 * (gw_catalogue_use), predicates in `set` into *preds (which the caller
 * frees with qpred_free, also on error).  Returns 0, or -1 with the first
 * broken rule in detail[0..detail_len) (never echoing client digits) and
 * *out untouched.  cfg gives the deadline's maximum and the defaults. */
int query_body_check(const struct query_body *b, const struct gw_config *cfg,
                     const struct gw_predset *set, struct qpreds *preds,
                     struct query_ask *out, char *detail, size_t detail_len)
  __attribute__((warn_unused_result));

/* query_body.c: reads a whole body: the fast scanner, else jansson (syntax,
 * depth, unknown members), then query_body_check.  Same contract as
 * query_body_check; out must be zeroed by the caller. */
int query_body_read(const char *body, size_t len, const struct gw_config *cfg,
                    const struct gw_predset *set, struct qpreds *preds,
                    struct query_ask *out, char *detail, size_t detail_len)
  __attribute__((warn_unused_result));

/* Wipes the subject out of *a and frees what it owns; *a is zeroed. */
void query_ask_clear(struct query_ask *a);

#endif /* GW_QUERY_INT_H */
