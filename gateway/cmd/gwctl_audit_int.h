/*
 * gwctl_audit_int.h - what the "gwctl audit" files share (gwctl_audit.c:
 * verify, proof, the HTTPS client, stack.json; gwctl_audit_sample.c: the
 * post-approval spot check; gwctl_audit_explain.c, gwctl_audit_generation.c).
 */
#ifndef GWCTL_AUDIT_INT_H
#define GWCTL_AUDIT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "gw/merkle.h"

struct gw_checkpoint;

/* Where and as whom to talk HTTPS; every string borrowed, NULL: unused. */
struct gwctl_http {
  const char *base;        /* "https://127.0.0.1:P", no trailing slash */
  const char *cacert;      /* verifies the gateway's certificate */
  const char *cert, *key;  /* client certificate (mTLS) */
};

struct gwctl_http_resp {
  long status;
  char *body;              /* NUL-terminated; gwctl_http_free */
  size_t len;
};

/* One exchange: `body` (NULL for none) is sent as application/json.  At
 * most `cap` bytes of answer are read.  Returns 0 with *r filled (any HTTP
 * status), or -1 with a reason in err (transport, TLS, over cap). */
int gwctl_http(const struct gwctl_http *h, const char *method, const char *path,
               const char *body, size_t cap, struct gwctl_http_resp *r,
               char *err, size_t errlen);

/* GET that must answer 200; otherwise -1 with the problem's detail in err
 * (and nothing to free). */
int gwctl_http_get_ok(const struct gwctl_http *h, const char *path, size_t cap,
                      struct gwctl_http_resp *r, char *err, size_t errlen);

/* "PATH: HTTP 403: <problem detail>" into err. */
void gwctl_http_problem(const char *path, const struct gwctl_http_resp *r, char *err,
                        size_t errlen);

void gwctl_http_free(struct gwctl_http_resp *r);

/* What gwctl takes from DIR/stack.json (or the file itself).  Strings are
 * owned (gwctl_stack_free); engine_*, unseal_key and pki_dir may be NULL. */
struct gwctl_stack {
  char *url, *gateway_ca;
  char *engine_cert, *engine_key;
  char *auditor_cert, *auditor_key;
  char *admin_cert, *admin_key;
  char *ops_url;
  char *unseal_key, *pki_dir;
};

int gwctl_stack_load(const char *path, struct gwctl_stack *st, char *err, size_t errlen);
void gwctl_stack_free(struct gwctl_stack *st);

/* A verifier key from the command line: `vkey` itself, else the first line
 * of `file`, else NULL.  The result is owned (gw_free); NULL with err set
 * when the file cannot be read. */
char *gwctl_vkey_read(const char *vkey, const char *file, char *err, size_t errlen);

/* Fetches GET /v1/audit/checkpoint and verifies it with `pinned_vkey`, or
 * when that is NULL with the key GET /v1/audit/checkpoint-key serves.
 * *vkey_out (may be NULL) gets the key used (gw_free).  0, or -1 with err. */
int gwctl_fetch_checkpoint(const struct gwctl_http *h, const char *pinned_vkey,
                           struct gw_checkpoint *cp, char **vkey_out, char *err,
                           size_t errlen);

/* Standard base64 of exactly 32 bytes into out; 0, or -1. */
int gwctl_b64_hash(const char *s, uint8_t out[GW_MERKLE_HASH_LEN]);

int gwctl_audit_sample(int argc, char **argv);
int gwctl_audit_explain(int argc, char **argv);
int gwctl_audit_witnessed(int argc, char **argv);
int gwctl_audit_generation(int argc, char **argv);

#endif
