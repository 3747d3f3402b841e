/*
 * gw/codec.h - turning an adapter definition into a request, and an agency's
 * answer into verified, normalized facts.
 *
 * Five protocol families (soap11, soap12, json, xml over GET, JWS-bodied
 * JSON) share one shape: build() expands the adapter's templates with the
 * escaping right for each context; process() classifies the answer (fault,
 * not found, error status), verifies the agency's signature, maps each fact
 * and checks it against the fact's schema.  Both are pure: no I/O, no
 * clock, no logging of values, so every decision is unit-testable with the
 * mock agencies' own handlers and fuzzable.
 *
 * What process() decides, in this order:
 *   1. an empty or unparsable body, a DOCTYPE, over-deep XML: bad_response
 *   2. the adapter's fault rule matches: agency_fault
 *   3. the status is not an ok_status: not_found if the not_found rule
 *      matches, else agency_fault (5xx, 401/403/429...) or bad_response
 *   4. signature (xmldsig / jws) over the node that is mapped: bad_signature
 *   4b. subject binding (response.subject): the answer must name the
 *      subject asked about (the normalized id, or its lowercase hex SHA-256),
 *      else every fact is bad_response "the answer is about another
 *      subject" (or "... does not name its subject" when the path finds
 *      nothing); checked on every answer with an ok_status, so also before
 *      a "no record" there is believed
 *   5. the not_found rule matches: not_found (for every fact)
 *   6. each fact mapped and schema-checked: ok, or bad_response for it
 *      alone, or not_found for it alone when its mapping says the answer
 *      holds no such fact (a "first" without match or default, or
 *      when_absent "not_found"; gw/mapping.h GW_MAP_NOT_FOUND)
 *
 * Paged answers (request.paging, JSON only): every page goes through steps
 * 1 to 4b on its own; then page 1's paging.total_pages must be a count of
 * at most paging.max_pages, exactly that many pages (at least one) must be
 * there, every page must give the same count, and the arrays at
 * paging.items are joined, in page order, into page 1's document, which
 * then goes through steps 5 and 6 once.  A failure on page N > 1 reports
 * "page N of M: ..."; a "no record" on such a page is a bad_response.
 */
#ifndef GW_CODEC_H
#define GW_CODEC_H

#include <stddef.h>
#include <time.h>
#include <jansson.h>

#include "gw/adapter.h"

struct gw_factschema_set;
struct gw_xmlsig_verifier;
struct gw_jws_key;

enum gw_fact_status {
  GW_FACT_OK = 0,
  GW_FACT_NOT_FOUND,
  GW_FACT_UNAVAILABLE,
  GW_FACT_DENIED
};

/* The codes of "unavailable" (DESIGN section 3). */
enum gw_fact_error {
  GW_FERR_NONE = 0,
  GW_FERR_TIMEOUT,
  GW_FERR_CIRCUIT_OPEN,
  GW_FERR_AGENCY_FAULT,
  GW_FERR_TRANSPORT,
  GW_FERR_BAD_RESPONSE,
  GW_FERR_BAD_SIGNATURE,
  GW_FERR_RATE_LIMITED
};

const char *gw_fact_status_name(enum gw_fact_status s);
const char *gw_fact_error_name(enum gw_fact_error e);

struct gw_fact_result {
  enum gw_fact_status status;
  enum gw_fact_error error;    /* GW_FACT_UNAVAILABLE only */
  json_t *value;               /* GW_FACT_OK only; owned by the result */
  char detail[192];            /* never holds a raw identity number */
};

/* What one agency answer meant, fact by fact (in adapter->facts order). */
struct gw_codec_result {
  struct gw_fact_result facts[GW_ADAPTER_MAX_FACTS];
  size_t n_facts;
  const char *signature;       /* "xmldsig" | "jws" | "none": what verified */
  int retryable;               /* a fresh attempt might succeed (5xx, 429) */
  int auth_rejected;           /* 401: an OAuth token should be refreshed */
  int negative;                /* not found: cache as a negative entry */
};

/* Releases the values held by a result (the struct itself is the caller's). */
void gw_codec_result_clear(struct gw_codec_result *r);

/* Marks every fact of `r` (n facts) unavailable with `e` and `detail`. */
void gw_codec_result_fail(struct gw_codec_result *r, size_t n, enum gw_fact_error e,
                          const char *detail);

/* The verification material of one adapter version, made once at load. */
struct gw_codec_keys {
  struct gw_xmlsig_verifier *xmlsig;
  struct gw_jws_key *jws;
};

int gw_codec_keys_init(struct gw_codec_keys *k, const struct gw_adapter *a,
                       char *err, size_t errlen)
  __attribute__((warn_unused_result));
void gw_codec_keys_clear(struct gw_codec_keys *k);

#define GW_CODEC_MAX_HEADERS (GW_ADAPTER_MAX_HEADERS + 2)

/* A request ready for the upstream engine; strings owned by it. */
struct gw_codec_request {
  char *url;                   /* endpoint + expanded, URL-encoded query */
  const char *method;          /* borrowed from the adapter */
  char *header_names[GW_CODEC_MAX_HEADERS];
  char *header_values[GW_CODEC_MAX_HEADERS];
  size_t n_headers;
  char *body;
  size_t body_len;
};

/* Expands the adapter's templates for one subject.  Returns 0, or -1 with
 * a reason in err (never echoing the values).  For a paged adapter this is
 * the first page (gw_codec_build_page with paging.first). */
int gw_codec_build(const struct gw_adapter *a, const char *subject_id,
                   const char *subject_name, const char *request_id, time_t now,
                   struct gw_codec_request *out, char *err, size_t errlen)
  __attribute__((warn_unused_result));

/* The same for page `page` (in the agency's numbering, from paging.first)
 * of a paged adapter: the query gains paging.page_param=page and, when
 * given, paging.size_param=paging.size.  -1 for an adapter without paging
 * or a page before paging.first. */
int gw_codec_build_page(const struct gw_adapter *a, const char *subject_id,
                        const char *subject_name, const char *request_id, time_t now,
                        long page, struct gw_codec_request *out, char *err, size_t errlen)
  __attribute__((warn_unused_result));
void gw_codec_request_clear(struct gw_codec_request *r);

/* Processes one complete answer.  `schemas` may be NULL (no schema check,
 * for tools).  `subject_id` is the normalized identity number the request
 * was about (what gw_codec_build got); NULL only for tools, and then an
 * adapter with response.subject fails every fact ("no subject to bind the
 * answer to").  Fills *out (cleared first); never fails as a call — every
 * problem becomes a per-fact status.  A paged adapter's answer given here
 * is taken as its only page (gw_codec_process_pages with n = 1). */
void gw_codec_process(const struct gw_adapter *a, const struct gw_codec_keys *keys,
                      const struct gw_factschema_set *schemas, const char *subject_id,
                      int http_status, const unsigned char *body, size_t len,
                      struct gw_codec_result *out);

/* One page of a paged answer, as received (borrowed). */
struct gw_codec_page {
  int http_status;
  const unsigned char *body;
  size_t len;
};

/* Processes the pages of one paged answer, in page order (pages[0] is
 * paging.first); as gw_codec_process otherwise.  For an adapter without
 * request.paging only n == 1 is meaningful. */
void gw_codec_process_pages(const struct gw_adapter *a, const struct gw_codec_keys *keys,
                            const struct gw_factschema_set *schemas, const char *subject_id,
                            const struct gw_codec_page *pages, size_t n,
                            struct gw_codec_result *out);

/* Both with the name the request was about (borrowed; NULL: none given),
 * which mappings of type name_agrees compare the record's name with
 * (mapping.h); the name is only compared, never kept.  The fetch uses
 * these; the forms above pass NULL. */
void gw_codec_process_named(const struct gw_adapter *a, const struct gw_codec_keys *keys,
                            const struct gw_factschema_set *schemas, const char *subject_id,
                            const char *subject_name, int http_status,
                            const unsigned char *body, size_t len, struct gw_codec_result *out);
void gw_codec_process_pages_named(const struct gw_adapter *a, const struct gw_codec_keys *keys,
                                  const struct gw_factschema_set *schemas,
                                  const char *subject_id, const char *subject_name,
                                  const struct gw_codec_page *pages, size_t n,
                                  struct gw_codec_result *out);

/* For the fetch: does this page (any page) carry data, about subject_id,
 * and how many pages does the answer say it has?  0 with *total_pages
 * (>= 0; 0 means one empty page) when the page passes steps 1 to 4b and
 * holds an integer at paging.total_pages; -1 otherwise, and then the pages
 * received so far go to gw_codec_process_pages, which says why. */
int gw_codec_page_total(const struct gw_adapter *a, const struct gw_codec_keys *keys,
                        const char *subject_id, int http_status, const unsigned char *body,
                        size_t len, long long *total_pages)
  __attribute__((warn_unused_result));

#endif
