/*
 * mock.h - contracts shared by the parts of mock-agencies.
 *
 * mock-agencies serves nine mock agencies (DESIGN section 4) on their own
 * loopback ports.  The server core (server.c, control.c) owns transport:
 * TLS, mutual TLS, timing faults (latency, hang, reset, http_500, truncated,
 * slow_body, huge_body) and the control endpoint.  Each agency owns its
 * protocol: it parses the request, looks the subject up in the population
 * and writes the response document, including the content faults
 * (fault, malformed, bad_signature, wrong_signer, signature_wrapping, xxe,
 * billion_laughs, expired_token) that only the agency's own format can show.
 *
 * Ownership: every struct mock_response body is malloc'd by the agency
 * handler and freed by the server core.
 */
#ifndef MOCK_H
#define MOCK_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#define MOCK_MAX_DEGREES   4
#define MOCK_MAX_OVERSEAS  2
#define MOCK_MAX_QUALS     4
#define MOCK_MAX_CREDIT    4

struct mock_degree {
  char level[16];          /* "bachelor" | "master" | "doctor" */
  char institution[96];
  char major[96];
  char study_mode[16];     /* "full-time" | "part-time" */
  char graduated_on[11];   /* YYYY-MM-DD */
  char certificate_no[32];
};

struct mock_overseas_cert {
  char country[48];
  char institution[96];
  char degree_level[16];   /* "bachelor" | "master" | "doctor" */
  char awarded_on[11];
  char certification_no[32];
  char certified_on[11];
};

struct mock_qual_cert {
  char kind[32];           /* "professional_title" | "vocational" | ... */
  char name[96];
  char level[32];          /* "senior" | "intermediate" | "junior" | ... */
  char issued_on[11];
  char cert_no[32];
};

struct mock_credit_record {
  char kind[32];           /* "dishonest_judgment_debtor" | "tax_arrears" | ... */
  char authority[96];
  char decided_on[11];
  char detail[128];
};

/* One person as every agency knows them.  Strings are UTF-8, NUL-terminated;
 * an empty string means "absent". */
struct mock_person {
  char id[19];             /* normalized GB 11643 number (uppercase X) */
  char name[64];           /* registered name */
  char scenario[48];       /* curated scenario name, "" for synthetic people */

  int in_mps;              /* population registry has a record */
  char birth_date[11];
  char hukou_province[32], hukou_city[32], hukou_district[32];
  int hukou_is_shenzhen;

  int n_degrees;
  struct mock_degree degrees[MOCK_MAX_DEGREES];

  int n_overseas;
  struct mock_overseas_cert overseas[MOCK_MAX_OVERSEAS];

  int in_si;               /* social insurance has a record */
  char si_name[64];        /* the name on si's record when it is spelled
                              other than `name` (a record keyed in with a
                              homophone), "" = `name`; likewise fund_name
                              and tax_name (mock_record_name) */
  int si_shenzhen_months;
  char employer_name[96];
  char employer_uscc[19];  /* 18-character unified social credit code */

  char credit_status[12];  /* "good" | "warning" | "dishonest" */
  int n_credit;
  struct mock_credit_record credit[MOCK_MAX_CREDIT];

  int n_quals;
  struct mock_qual_cert quals[MOCK_MAX_QUALS];

  /* Housing provident fund and individual income tax.  Without their own
   * section in the curated file (and for synthetic people) both follow si:
   * the employer that pays social insurance deposits the fund and
   * withholds the tax (population.c derive_fund_tax). */
  int in_fund;             /* housing fund has a deposit account */
  int fund_shenzhen_months;
  char fund_name[64];
  char fund_employer_name[96];   /* "" when no employer deposits now */
  char fund_employer_uscc[19];
  int in_tax;              /* tax bureau has an individual income tax record */
  int tax_shenzhen_months; /* months with Shenzhen IIT paid in the last 24 */
  char tax_name[64];
  char tax_employer_name[96];    /* current withholding agent, "" if none */
  char tax_employer_uscc[19];

  char talent_level[8];    /* "none" | "A" | "B" | "C" | "reserve" */
  int postdoc_known;       /* talent registry has a postdoc record */
  int postdoc_in_station;
  char postdoc_station[96];
  char postdoc_entered_on[11];
  char postdoc_left_on[11];
};

/* The name an agency's record holds: its own spelling when it has one
 * (si_name, fund_name, tax_name), else the registered name. */
static inline const char *mock_record_name(const struct mock_person *p, const char *own)
{
  return own[0] ? own : p->name;
}

enum mock_lookup {
  MOCK_LOOKUP_FOUND = 0,     /* *out filled (curated or synthetic) */
  MOCK_LOOKUP_NO_RECORD = 1, /* valid number, nobody by that number */
  MOCK_LOOKUP_INVALID = 2    /* not a valid GB 11643 number */
};

struct mock_population;      /* curated people + synthetic derivation */

/* Looks up `id` (raw, as received: validated and normalized inside).
 * Never fails for a valid number that is not curated: synthetic people are
 * derived deterministically from the number. */
enum mock_lookup mock_population_lookup(const struct mock_population *pop,
                                        const char *id,
                                        struct mock_person *out);

/* Content faults an agency renders in its own format. */
enum mock_content_fault {
  MOCK_CF_NONE = 0,
  MOCK_CF_FAULT,              /* the agency's own error document */
  MOCK_CF_MALFORMED,          /* not well-formed XML / JSON */
  MOCK_CF_BAD_SIGNATURE,      /* signed, then a signed value changed */
  MOCK_CF_WRONG_SIGNER,       /* valid signature by a key that is not the agency's */
  MOCK_CF_SIGNATURE_WRAPPING, /* valid signed Body moved, forged Body mapped */
  MOCK_CF_XXE,                /* external entity pointing at a local file */
  MOCK_CF_BILLION_LAUGHS,     /* nested entity expansion */
  MOCK_CF_EXPIRED_TOKEN       /* si: treat every token as expired */
};

/* Keys the agencies sign with (loaded by the core from the PKI folder). */
struct mock_keys {
  EVP_PKEY *chsi_key;          /* XML-DSig signing key (RSA) */
  X509 *chsi_cert;             /* its certificate, issued by the agency CA */
  EVP_PKEY *wrong_key;         /* a key that is not the agency's (RSA) */
  X509 *wrong_cert;
  EVP_PKEY *cscse_key;         /* P-256 JWS key */
  EVP_PKEY *cscse_wrong_key;   /* P-256 key that is not cscse's */
  char cscse_kid[64];
  char si_client_id[64];
  char si_client_secret[128];
  char qual_api_key[128];
  char talent_api_key[128];
  char fund_app_id[64];        /* signed headers: the gateway's app id */
  char fund_app_secret[128];   /* and its HMAC secret */
  char tax_username[64];       /* WS-Security UsernameToken */
  char tax_password[128];
};

#define MOCK_MAX_REQ_HEADERS 64     /* headers an agency can look at */

struct mock_request {
  const char *method;          /* "GET", "POST" */
  const char *path;            /* path without the query, e.g. "/chsi/DegreeService" */
  const char *query;           /* raw query string after '?', or NULL */
  const char *content_type;    /* or NULL */
  const char *soap_action;     /* SOAPAction header, or NULL */
  const char *authorization;   /* Authorization header, or NULL */
  const char *api_key;         /* X-Api-Key header, or NULL */
  const char *body;            /* request body, not NUL-terminated */
  size_t body_len;
  const char *origin;          /* where the request came to: "https://127.0.0.1:PORT"
                                  (the connection's local address), or "" */
  /* Every header as received (names as sent), for agencies that read
   * their own (fund's signed headers); see mock_request_header. */
  const char *hdr_names[MOCK_MAX_REQ_HEADERS];
  const char *hdr_values[MOCK_MAX_REQ_HEADERS];
  size_t n_hdrs;
};

/* The value of header `name` (case-insensitive), NULL when absent; when a
 * header is repeated, NULL too and *repeated (if given) is set. */
const char *mock_request_header(const struct mock_request *req, const char *name,
                                int *repeated);

#define MOCK_MAX_EXTRA_HEADERS 512  /* bytes of extra response header lines */

struct mock_response {
  int status;                  /* HTTP status */
  char content_type[96];
  char *body;                  /* malloc'd; freed by the core */
  size_t body_len;
  char headers[MOCK_MAX_EXTRA_HEADERS]; /* extra "Name: value\r\n" lines, or "" */
};

struct mock_ctx {
  const struct mock_population *pop;
  const struct mock_keys *keys;
  int si_token_ttl_s;          /* OAuth2 token lifetime */
};

/* One agency.  handle() must always fill *resp (status 4xx/5xx with the
 * agency's own error document for bad requests); returns 0, or -1 only on
 * out-of-memory. */
struct mock_agency_ops {
  const char *name;            /* "chsi", "mps", ... */
  int (*handle)(const struct mock_ctx *ctx, const struct mock_request *req,
                enum mock_content_fault cf, struct mock_response *resp);
};

extern const struct mock_agency_ops mock_agency_chsi;
extern const struct mock_agency_ops mock_agency_mps;
extern const struct mock_agency_ops mock_agency_si;
extern const struct mock_agency_ops mock_agency_credit;
extern const struct mock_agency_ops mock_agency_cscse;
extern const struct mock_agency_ops mock_agency_qual;
extern const struct mock_agency_ops mock_agency_talent;
extern const struct mock_agency_ops mock_agency_fund;
extern const struct mock_agency_ops mock_agency_tax;

/* Sets *resp to a copy of `body` (len bytes) with `status` and content type. */
int mock_response_set(struct mock_response *resp, int status,
                      const char *content_type, const char *body, size_t len);

/* ---- Added by the server core: helpers for agency handlers ------------- */

struct json_t;                 /* jansson */

/* Appends "name: value\r\n" to resp->headers.  Returns 0, or -1 when the
 * line does not fit MOCK_MAX_EXTRA_HEADERS or contains CR/LF. */
int mock_response_add_header(struct mock_response *resp, const char *name,
                             const char *value)
  __attribute__((warn_unused_result));

/* Serializes `doc` (compact, UTF-8) into resp->body with `status` and
 * content type "application/json; charset=utf-8".  Steals the reference to
 * `doc` (decref'd on every path; NULL doc means out-of-memory).  0 or -1. */
int mock_response_json(struct mock_response *resp, int status,
                       struct json_t *doc)
  __attribute__((warn_unused_result));

/* Finds `name` in a raw query string ("a=1&b=x%20y") and writes its
 * percent-decoded value ('+' is a space) into out[cap].  Returns 1 found,
 * 0 absent, -1 present but too long for `cap` or badly escaped. */
int mock_query_param(const char *query, const char *name, char *out, size_t cap);

/* Makes a JSON body not well-formed in place: the closing brace becomes
 * ',"' (an unterminated member), as a backend that died mid-write would
 * leave it.  Keeps status and headers.  0, or -1 on out-of-memory. */
int mock_response_malform_json(struct mock_response *resp)
  __attribute__((warn_unused_result));

/* Percent-decodes src[0..len) ('+' is a space) into out[cap], NUL-terminated.
 * Returns 0, or -1 when it does not fit or an escape is bad. */
int mock_url_decode(const char *src, size_t len, char *out, size_t cap);

/* ---- Added: the population's life cycle (population.c) ----------------- */

/* Loads the curated people of `path` (mocks/data/population.json format,
 * docs/mocks.md).  On error returns -1 and writes a message naming the file,
 * the person and the field into err[errlen].  The caller owns *out and frees
 * it with mock_population_free(). */
int mock_population_load(const char *path, struct mock_population **out,
                         char *err, size_t errlen)
  __attribute__((warn_unused_result));
void mock_population_free(struct mock_population *pop);

/* Number of curated people (synthetic people are not counted). */
size_t mock_population_count(const struct mock_population *pop);

/* Writes `n` valid, distinct synthetic subjects as JSON lines
 * {"id": ..., "name": ...} to `out`; the same seed gives the same lines.
 * Curated numbers are skipped.  0, or -1 on a write error. */
int mock_population_sample(const struct mock_population *pop, unsigned long n,
                           uint64_t seed, FILE *out)
  __attribute__((warn_unused_result));

/* ---- Added: per-person overrides (population.c; control endpoint) ------ */

/* People overridden at once, at most. */
#define MOCK_OVERRIDES_MAX 1024

/* From now on, lookups of `id` (any valid number, curated or synthetic)
 * return the person with the sections named in the JSON object body[0..len)
 * replaced: "name", "exists", and "mps", "degrees", "overseas", "si",
 * "credit", "qualifications", "talent" in the curated file's format (null
 * removes that agency's record).  Replaces an earlier override of `id`.
 * Returns 0; -1 for a bad id or body, -2 when MOCK_OVERRIDES_MAX people are
 * overridden (message in err).  Thread-safe. */
int mock_population_override_set(const char *id, const char *body, size_t len,
                                 char *err, size_t errlen)
  __attribute__((warn_unused_result));
/* Drops the override of `id`: 1 dropped, 0 there was none, -1 bad id. */
int mock_population_override_clear(const char *id);
/* Drops every override. */
void mock_population_override_reset(void);
/* A copy of the override of `id` as given (caller decrefs), or NULL. */
struct json_t *mock_population_override_get(const char *id);

/* ---- Added: replay protection (replay.c) -------------------------------- */

enum mock_replay_store { MOCK_REPLAY_FUND = 0, MOCK_REPLAY_TAX, MOCK_REPLAY_STORES };

enum mock_replay_result {
  MOCK_REPLAY_FRESH = 0,       /* not seen in its window; now remembered */
  MOCK_REPLAY_SEEN,            /* a replay */
  MOCK_REPLAY_FULL             /* no room (or out of memory): answer busy */
};

/* Records `nonce` (len bytes) in the store as seen until now + ttl_s, or
 * says it was seen already.  Thread-safe; bounded memory (2 MiB a store). */
enum mock_replay_result mock_replay_check(enum mock_replay_store which, const void *nonce,
                                          size_t len, time_t now, int ttl_s)
  __attribute__((warn_unused_result));

#endif
