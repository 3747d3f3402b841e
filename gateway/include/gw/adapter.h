/*
 * gw/adapter.h - a loaded adapter definition: how to ask one agency for
 * facts, and how to turn its answer into them.
 *
 * An agency IT team writes one JSON file per adapter (adapters/NAME.json, format
 * in schemas/adapter.schema.json, guide in docs/adapter-guide.md); the
 * registry (registry.c, loader in adapter_load.c) turns it into this
 * immutable structure.  Once loaded an adapter is never modified: a new
 * version is a new struct gw_adapter, swapped in atomically, and requests
 * in flight keep a reference to the version they started with.
 *
 * The JSON file, member by member (every string path relative to the file's
 * directory unless absolute; every secret only as "env:NAME" or "file:PATH"):
 *
 *   id, version, agency, description      identity of the definition
 *   order: 1..8 (default 1)                when several adapters serve one
 *                                          fact, lower orders are asked first
 *   facts: ["education.degrees", ...]      facts this adapter provides
 *   protocol: soap11 | soap12 | json | xml | jws-json
 *   endpoint: {url, method, allow_addresses: ["127.0.0.0/8", ...]}
 *   request: {content_type, headers: {name: template}, body: template,
 *             query: {name: template},
 *             paging: {page_param, size_param, size, first, total_pages,
 *                      items, max_pages}}
 *   tls: {ca_file, client_cert, client_key, pin_sha256}
 *   auth: {type: none|mtls|oauth2|api_key|signed_headers|wsse_username_token,
 *          token_url, client_id, client_secret, scope, header, key,
 *          app_id, secret, headers: {app_id, timestamp, nonce, signature},
 *          canonical, timestamp_format, encoding, username, password}
 *   verify: {type: none|xmldsig|jws, cert (xmldsig signer certificate),
 *            key (jws public key PEM), alg (jws: ES256|GmSM2; xmldsig:
 *            rsa-sha256|rsa-sha512|ecdsa-sha256|sm2-sm3), signed_node (XPath)}
 *   response: {max_bytes, ok_status: [200], namespaces: {prefix: uri},
 *              subject: {path: P, form: id | sha256},
 *              not_found: {status: [...], test: expr},
 *              fault: {status: [...], test: expr}}
 *   mapping: {fact: value-spec, ...}
 *   policy: {connect_timeout_ms, timeout_ms, retries, backoff_base_ms,
 *            backoff_max_ms, retry_budget_ratio, max_concurrency, max_queue,
 *            rate_per_s, burst, breaker: {failure_threshold, window_s,
 *            open_s, half_open_max}}
 *   cache: {ttl_s, negative_ttl_s, stale_if_error_s}
 *
 * Templates are strings with placeholders {{subject.id}}, {{subject.name}},
 * {{request_id}}, {{now}}; each is escaped for its context (XML for XML
 * bodies, JSON string content for JSON bodies, percent-encoding for query
 * values and URL path segments, and refused outright in headers if the value
 * holds CR, LF or NUL).  Nothing outside a placeholder comes from a request.
 *
 * A value-spec describes one fact value:
 *   {"path": P, "type": T, ...}        a scalar at P
 *   {"object": {"member": spec, ...}}  an object built member by member
 *   {"list": P, "item": spec}          one item per node/element P selects;
 *                                      the item's paths are relative to it
 *   {"first": P, "where": {Q: "v", ...}, "item": spec, "default": JSON}
 *                                      the first item P selects whose value
 *                                      at every relative Q is "v", mapped
 *                                      with item; none: default, or else
 *                                      the fact is not_found
 * A fact's own value-spec (not one inside it) may add
 * "when_absent": "not_found": when what it reads is absent (JSON null or
 * missing, no XPath node; for an object, every member), the fact is
 * not_found instead of a bad_response.
 * P is an XPath 1.0 expression (with the adapter's namespace prefixes) for
 * XML protocols and a JSON Pointer (RFC 6901) for JSON ones.  T is one of
 * string, int, number, bool, date (YYYY-MM-DD, from YYYY-MM-DD, YYYYMMDD or
 * YYYY/MM/DD), enum (with "values": {"agency value": "fact value"}); bool
 * takes "true_values"/"false_values" lists of strings.  "optional": true lets
 * a scalar be absent (JSON null in the fact); otherwise absence is a
 * bad_response.
 */
#ifndef GW_ADAPTER_H
#define GW_ADAPTER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "gw/sigauth.h"

#define GW_ADAPTER_MAX_FACTS 8
#define GW_ADAPTER_MAX_ORDER 8       /* "order": 1..8 */
#define GW_ADAPTER_MAX_HEADERS 16
#define GW_ADAPTER_MAX_NAMESPACES 16
#define GW_ADAPTER_MAX_STATUS 8
#define GW_ADAPTER_MAX_ALLOW 8

/* Further caps the loader enforces (each refused with "at most N"); the
 * reference of every field is docs/adapter-format.md. */
#define GW_ADAPTER_FILE_MAX (256 * 1024)      /* bytes of one adapter file */
#define GW_ADAPTER_BODY_MAX (32 * 1024)       /* bytes of request.body (gw/template.h) */
#define GW_ADAPTER_VALUE_MAX 1024             /* bytes of a header/query template */
#define GW_ADAPTER_EXPR_MAX 1024              /* bytes of one XPath, pointer or test */
#define GW_ADAPTER_SECRET_MAX 4096            /* bytes of a resolved secret */
#define GW_ADAPTER_PEM_MAX (1024 * 1024)      /* bytes of a PEM file (CA bundles) */
#define GW_VALUE_SPEC_MAX_DEPTH 8             /* nesting of value-specs */
#define GW_VALUE_SPEC_MAX_MEMBERS 32          /* members of one "object" */
#define GW_VALUE_SPEC_MAX_NODES 256           /* value-spec nodes in one adapter */
#define GW_VALUE_SPEC_MAX_ENUM 64             /* entries of one enum "values" */
#define GW_VALUE_SPEC_MAX_BOOL 16             /* entries of true_values/false_values */
#define GW_VALUE_SPEC_MAX_WHERE 8             /* conditions of one "where" */
#define GW_VALUE_SPEC_DEFAULT_MAX 1024        /* bytes of a "default", as compact JSON */
#define GW_ADAPTER_MAX_PAGES 100              /* request.paging.max_pages */
#define GW_ADAPTER_PAGED_MAX_BYTES (64 * 1024 * 1024)  /* max_pages x response.max_bytes */

enum gw_protocol {
  GW_PROTO_SOAP11 = 0,
  GW_PROTO_SOAP12,
  GW_PROTO_JSON,
  GW_PROTO_XML,
  GW_PROTO_JWS_JSON
};

enum gw_auth_type {
  GW_AUTH_NONE = 0,
  GW_AUTH_MTLS,
  GW_AUTH_OAUTH2,              /* client credentials, bearer token */
  GW_AUTH_API_KEY,
  GW_AUTH_SIGNED_HEADERS,      /* app id, timestamp, nonce, HMAC (gw/sigauth.h) */
  GW_AUTH_WSSE_USERNAME_TOKEN  /* WS-Security UsernameToken, PasswordDigest */
};

enum gw_verify_type {
  GW_VERIFY_NONE = 0,
  GW_VERIFY_XMLDSIG,
  GW_VERIFY_JWS
};

enum gw_value_kind {
  GW_VALUE_SCALAR = 0,
  GW_VALUE_OBJECT,
  GW_VALUE_LIST,
  GW_VALUE_FIRST               /* the first list item matching "where" */
};

/* What a fact's value-spec means when what it reads is absent. */
enum gw_when_absent {
  GW_ABSENT_BAD_RESPONSE = 0,  /* the default: absence is an error */
  GW_ABSENT_NOT_FOUND          /* "when_absent": "not_found" */
};

/* How response.subject names the person an answer is about. */
enum gw_subject_form {
  GW_SUBJECT_NONE = 0,         /* no response.subject: not checked */
  GW_SUBJECT_ID,               /* the normalized identity number itself */
  GW_SUBJECT_SHA256            /* lowercase hex SHA-256 of it (cscse) */
};

enum gw_value_type {
  GW_TYPE_STRING = 0,
  GW_TYPE_INT,
  GW_TYPE_NUMBER,
  GW_TYPE_BOOL,
  GW_TYPE_DATE,
  GW_TYPE_ENUM
};

struct gw_kv {
  char *name;
  char *value;
};

/* One node of a value-spec tree. */
struct gw_value_spec {
  enum gw_value_kind kind;
  char *path;                  /* scalar: where; list: what selects items */
  enum gw_value_type type;     /* scalar only */
  int optional;                /* scalar only: absent -> null */
  struct gw_kv *enum_map;      /* GW_TYPE_ENUM: agency value -> fact value */
  size_t n_enum;
  char **true_values;          /* GW_TYPE_BOOL; NULL = "true","1" */
  size_t n_true;
  char **false_values;         /* GW_TYPE_BOOL; NULL = "false","0" */
  size_t n_false;
  char **member_names;         /* object: member names, in file order */
  struct gw_value_spec **members;
  size_t n_members;
  struct gw_value_spec *item;  /* list, first: spec of each item */
  struct gw_kv *where;         /* first: relative path -> value it must hold */
  size_t n_where;
  char *default_json;          /* first: compact JSON text of "default", or NULL */
  enum gw_when_absent when_absent;  /* a fact's root spec only */
};

struct gw_fact_mapping {
  char *fact;                  /* "education.degrees" */
  struct gw_value_spec *spec;
};

/* A rule that classifies a response: by HTTP status and/or a test
 * expression (XPath 1.0 boolean for XML, "POINTER == \"value\"" or
 * "POINTER exists" for JSON). */
struct gw_result_rule {
  int status[GW_ADAPTER_MAX_STATUS];
  size_t n_status;
  char *test;                  /* or NULL */
};

/* request.paging: the answer comes in pages, fetched one after another
 * (page_param, and size_param when given, appended to the query), and the
 * arrays at `items` are concatenated into page 1's document before it is
 * mapped.  JSON protocol only.  page_param == NULL: no paging. */
struct gw_paging {
  char *page_param;            /* "page" */
  char *size_param;            /* "page_size", or NULL: not sent */
  int size;                    /* sent as size_param */
  int first;                   /* number of the first page: 0 or 1 */
  char *total_pages;           /* JSON Pointer of the page count (page 1) */
  char *items;                 /* JSON Pointer of each page's item array */
  int max_pages;               /* more pages than this: bad_response */
};

struct gw_policy {
  int connect_timeout_ms;
  int timeout_ms;              /* per attempt; always bounded by the deadline */
  int retries;                 /* extra attempts for safe failures */
  int backoff_base_ms;
  int backoff_max_ms;
  double retry_budget_ratio;   /* retries at most this share of requests */
  int max_concurrency;
  int max_queue;
  double rate_per_s;           /* 0 = unlimited */
  int burst;
  int breaker_failure_threshold;
  int breaker_window_s;
  int breaker_open_s;
  int breaker_half_open_max;
};

struct gw_adapter {
  atomic_int refs;             /* gw_adapter_ref / gw_adapter_unref */
  char *file;                  /* where it was loaded from */
  char sha256[65];             /* hex SHA-256 of the file's bytes as loaded
                                  (gw_adapter_load; "" from text) */
  char *id;
  int version;
  char *agency;
  char *description;
  int order;                   /* 1 = asked first for its facts; 2 = when
                                  the order-1 adapter is unavailable, ... */
  char *facts[GW_ADAPTER_MAX_FACTS];
  size_t n_facts;
  enum gw_protocol protocol;

  char *url;                   /* https only */
  char *method;                /* "GET" | "POST" */
  char *allow_cidrs[GW_ADAPTER_MAX_ALLOW];
  size_t n_allow;

  char *content_type;
  struct gw_kv headers[GW_ADAPTER_MAX_HEADERS];   /* value = template */
  size_t n_headers;
  char *body_template;         /* or NULL */
  struct gw_kv query[GW_ADAPTER_MAX_HEADERS];     /* value = template */
  size_t n_query;
  struct gw_paging paging;

  char *ca_file;
  char *client_cert;
  char *client_key;
  char *pin_sha256;            /* curl "sha256//..." form, or NULL */

  enum gw_auth_type auth;
  char *token_url;
  char *client_id;
  char *client_secret;         /* resolved secret; never logged */
  char *scope;
  char *api_key_header;
  char *api_key;               /* resolved secret; never logged */
  struct gw_sigauth_signed signed_auth;   /* GW_AUTH_SIGNED_HEADERS */
  struct gw_sigauth_wsse wsse;            /* GW_AUTH_WSSE_USERNAME_TOKEN */

  enum gw_verify_type verify;
  char *verify_cert;           /* xmldsig: PEM text of the agency's signing
                                  cert (the file's contents, read and checked
                                  at load, so a loaded version never changes) */
  char *verify_key;            /* jws: PEM text of the public key (likewise) */
  char *verify_alg;            /* jws: "ES256" or "GmSM2"; xmldsig: NULL (follows
                                  the certificate's key) or "rsa-sha256",
                                  "rsa-sha512", "ecdsa-sha256", "sm2-sm3" */
  char *signed_node;           /* xmldsig: XPath of the node that must be signed */
  char *verify_sm2_id;         /* SM2 key or certificate: the agency's
                                  distinguishing ID (verify.sm2_id); NULL:
                                  GM/T 0009's "1234567812345678" */

  size_t max_response_bytes;
  int ok_status[GW_ADAPTER_MAX_STATUS];
  size_t n_ok_status;
  struct gw_kv namespaces[GW_ADAPTER_MAX_NAMESPACES];  /* prefix -> URI */
  size_t n_namespaces;
  struct gw_result_rule not_found;
  struct gw_result_rule fault;
  char *subject_path;          /* response.subject.path (XPath or pointer), or NULL */
  enum gw_subject_form subject_form;

  struct gw_fact_mapping mappings[GW_ADAPTER_MAX_FACTS];  /* in facts[] order:
                                  mappings[i].fact equals facts[i] */
  size_t n_mappings;

  struct gw_policy policy;
  int ttl_s;
  int negative_ttl_s;
  int stale_if_error_s;

  int uses_name;               /* a request template holds {{subject.name}}:
                                  answers depend on the name too, so cache
                                  keys include it (set once, at load) */
};

/* Reference counting: the registry holds one reference; each request that
 * uses an adapter takes one for its lifetime.  unref frees at zero. */
struct gw_adapter *gw_adapter_ref(struct gw_adapter *a);
void gw_adapter_unref(struct gw_adapter *a);

/* Loads and validates one adapter file.  On success returns 0 and *out (one
 * reference, the caller's).  On error returns -1 and writes
 * "FILE: FIELD: PROBLEM" into err (fields as dotted paths, array elements as
 * [i], e.g. "mapping.education.degrees.item.object.level.type"). */
int gw_adapter_load(const char *path, struct gw_adapter **out, char *err, size_t errlen)
  __attribute__((warn_unused_result));

/* The same from a JSON text already in memory (admin API); `name` stands for
 * FILE in messages and `base_dir` resolves relative paths. */
int gw_adapter_load_text(const char *text, size_t len, const char *name,
                         const char *base_dir, struct gw_adapter **out,
                         char *err, size_t errlen)
  __attribute__((warn_unused_result));

const char *gw_protocol_name(enum gw_protocol p);

/* Does the protocol carry XML (XPath mapping) rather than JSON? */
int gw_protocol_is_xml(enum gw_protocol p);

#endif
