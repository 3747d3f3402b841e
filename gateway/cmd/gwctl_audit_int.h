/*
 * gwctl_audit_int.h - what the "gwctl audit" files share (gwctl_audit.c:
 * verify, proof, the HTTPS client, stack.json; gwctl_audit_log.c: the
 * options, checkpoint and entry walk of the subcommands that read the whole
 * log; gwctl_audit_sample.c: the post-approval spot check;
 * gwctl_audit_explain.c, gwctl_audit_generation.c).
 */
#ifndef GWCTL_AUDIT_INT_H
#define GWCTL_AUDIT_INT_H

#include <stddef.h>
#include <stdint.h>

#include <getopt.h>

#include <jansson.h>

#include "gw/checkpoint.h"
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

/* ---- the whole log, as an auditor reads it (gwctl_audit_log.c) ---- */

/* getopt codes of the options every log-reading subcommand takes; above
 * any character a subcommand's own options use. */
enum gwctl_log_opt {
  GWCTL_LOG_OPT_STACK = 0x100,       /* --stack S (its auditor client) */
  GWCTL_LOG_OPT_VKEY,                /* --vkey VKEY: the checkpoint key, pinned */
  GWCTL_LOG_OPT_VKEY_FILE            /* --vkey-file FILE: the same, from a file */
};

/* At the head of a subcommand's struct option table. */
#define GWCTL_AUDIT_LOG_OPTS                                                 \
  { "stack", required_argument, NULL, GWCTL_LOG_OPT_STACK },                 \
  { "vkey", required_argument, NULL, GWCTL_LOG_OPT_VKEY },                   \
  { "vkey-file", required_argument, NULL, GWCTL_LOG_OPT_VKEY_FILE }
#define GWCTL_AUDIT_LOG_USAGE "--stack S [--vkey VKEY | --vkey-file FILE]"

struct gwctl_audit_log {
  const char *stack, *vkey_arg, *vkey_file;  /* from the options (borrowed) */
  struct gwctl_stack st;                     /* after gwctl_audit_log_open */
  struct gwctl_http auditor;                 /* strings borrowed from st */
  char *pinned;                              /* the key given (owned), or NULL:
                                              * the one the gateway serves */
  char *vkey;                                /* the key the checkpoint verified
                                              * with (owned) */
  struct gw_checkpoint cp;                   /* after gwctl_audit_log_checkpoint */
};

/* Empties l and restarts getopt (optind = 1). */
void gwctl_audit_log_init(struct gwctl_audit_log *l);
/* getopt_long over argv with `opts` (which holds GWCTL_AUDIT_LOG_OPTS):
 * keeps the values of the log options and returns the next other option
 * (optarg set), '?' for an unknown one, -1 at the end. */
int gwctl_audit_log_getopt(struct gwctl_audit_log *l, int argc, char **argv,
                           const struct option *opts);
/* After the loop: --stack was given, and not both --vkey and --vkey-file. */
int gwctl_audit_log_opts_ok(const struct gwctl_audit_log *l);
/* Loads the stack (it must name an auditor client) and the pinned key.
 * 0, or -1 with err. */
int gwctl_audit_log_open(struct gwctl_audit_log *l, char *err, size_t errlen);
/* Fetches GET /v1/audit/checkpoint into l->cp, verified with the pinned key
 * or the gateway's (l->vkey says which).  0, or -1 with err. */
int gwctl_audit_log_checkpoint(struct gwctl_audit_log *l, char *err, size_t errlen);
/* Frees what open and checkpoint took; l may be only initialized. */
void gwctl_audit_log_close(struct gwctl_audit_log *l);

/* One entry of the walk: its index, its bytes (borrowed for the call) and
 * its leaf hash.  Nonzero stops the walk (it then fails). */
typedef int gwctl_audit_entry_fn(void *arg, uint64_t index, const unsigned char *data,
                                 size_t len, const uint8_t leaf[GW_MERKLE_HASH_LEN]);

enum gwctl_walk {
  GWCTL_WALK_TO_CHECKPOINT,          /* entries [0, cp.size) */
  GWCTL_WALK_TO_END                  /* every entry the gateway serves; those at
                                      * cp.size and after are not vouched for */
};

/* Reads the entries (GET /v1/audit/entries, in pages) as the auditor, hashes
 * each into a Merkle tree, hands each to fn in index order, and checks that
 * the root at cp.size is the checkpoint's signed one.  0 with *n_read (may
 * be NULL) the entries read, or -1 with err: transport or HTTP error, a
 * malformed or out-of-order entry, the root differs, fewer entries than the
 * checkpoint signs, fn stopped. */
int gwctl_audit_log_walk(struct gwctl_audit_log *l, enum gwctl_walk how,
                         gwctl_audit_entry_fn *fn, void *arg, uint64_t *n_read, char *err,
                         size_t errlen);

/* The record bytes of entry `e` of an entries answer, which must be entry
 * `want` (gw_free *data).  0, or -1. */
int gwctl_audit_entry_bytes(json_t *e, uint64_t want, unsigned char **data, size_t *len);

int gwctl_audit_sample(int argc, char **argv);
int gwctl_audit_explain(int argc, char **argv);
int gwctl_audit_witnessed(int argc, char **argv);
int gwctl_audit_generation(int argc, char **argv);

#endif
