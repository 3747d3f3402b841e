/*
 * audit_http.c - GET /v1/audit/{checkpoint, checkpoint-key, proof,
 * consistency, entries}: the log's readers rendered as DESIGN section 3
 * shapes (see gw/audit_http.h for the contract).
 *
 * The one idea: the HTTP layer adds nothing an auditor has to trust.  It
 * parses the query string strictly, checks the role, asks gw/audit.h, and
 * renders hashes as standard base64 and records as the base64 of their
 * exact bytes, so every answer can be checked against a signed checkpoint
 * with generic tools.
 */
#include "gw/audit_http.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <jansson.h>

#include "acl.h"
#include "gw/alloc.h"
#include "gw/app.h"
#include "gw/audit.h"
#include "gw/b64.h"
#include "gw/front.h"
#include "gen.h"
#include "gw/merkle.h"
#include "gw/witness.h"

/* A query string longer than this is refused before it is parsed. */
#define AUDIT_HTTP_QUERY_MAX 256
/* Characters of a decimal parameter: 2^63 has 19 digits. */
#define AUDIT_HTTP_DIGITS_MAX 19

struct qparam {
  const char *name;
  int required;
  int seen;
  uint64_t value;
};

/* Copies at most 32 bytes of s[0..n) into out, printable ASCII only, so a
 * hostile parameter name can be echoed in a problem detail. */
static void printable(const char *s, size_t n, char *out, size_t cap)
{
  size_t i, k = 0;
  for(i = 0; i < n && i < 32 && k + 1 < cap; i++)
    out[k++] = (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"') ? s[i] : '?';
  if(i < n && k + 3 < cap) {
    memcpy(out + k, "...", 3);
    k += 3;
  }
  out[k] = '\0';
}

/* Strict decimal: 1-19 digits, no sign, no leading zero, at most 2^63. */
static int parse_decimal(const char *s, size_t n, uint64_t *out)
{
  uint64_t v = 0;
  if(n == 0 || n > AUDIT_HTTP_DIGITS_MAX || (n > 1 && s[0] == '0'))
    return -1;
  for(size_t i = 0; i < n; i++) {
    if(s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (uint64_t)(s[i] - '0');   /* 19 digits cannot wrap u64 */
  }
  if(v > GW_MERKLE_MAX_SIZE)
    return -1;
  *out = v;
  return 0;
}

/* Parses the request's query string into p[0..n).  Returns 0, or -1 after
 * answering 400 with a detail naming the offending parameter. */
static int parse_query(struct gw_req *req, struct qparam *p, size_t n)
{
  const char *q = gw_req_query(req), *end;
  char detail[160], name[48];
  size_t qlen = q ? strlen(q) : 0;

  for(size_t i = 0; i < n; i++)
    p[i].seen = 0;
  if(qlen > AUDIT_HTTP_QUERY_MAX) {
    gw_req_problem(req, 400, "invalid-parameter", "query string too long");
    return -1;
  }
  end = q ? q + qlen : NULL;
  while(q && q < end) {
    const char *amp = memchr(q, '&', (size_t)(end - q)), *stop = amp ? amp : end;
    const char *eq = memchr(q, '=', (size_t)(stop - q));
    size_t i;
    if(stop == q) {
      gw_req_problem(req, 400, "invalid-parameter", "empty parameter in the query string");
      return -1;
    }
    if(!eq) {
      printable(q, (size_t)(stop - q), name, sizeof(name));
      snprintf(detail, sizeof(detail), "parameter \"%s\" has no value", name);
      gw_req_problem(req, 400, "invalid-parameter", detail);
      return -1;
    }
    for(i = 0; i < n; i++)
      if(strlen(p[i].name) == (size_t)(eq - q) && !memcmp(p[i].name, q, (size_t)(eq - q)))
        break;
    if(i == n) {
      printable(q, (size_t)(eq - q), name, sizeof(name));
      snprintf(detail, sizeof(detail), "unknown parameter \"%s\"", name);
      gw_req_problem(req, 400, "invalid-parameter", detail);
      return -1;
    }
    if(p[i].seen) {
      snprintf(detail, sizeof(detail), "parameter \"%s\" given more than once", p[i].name);
      gw_req_problem(req, 400, "invalid-parameter", detail);
      return -1;
    }
    if(parse_decimal(eq + 1, (size_t)(stop - eq - 1), &p[i].value)) {
      snprintf(detail, sizeof(detail),
               "parameter \"%s\" must be a decimal number (digits only, no leading zero, "
               "at most 2^63)", p[i].name);
      gw_req_problem(req, 400, "invalid-parameter", detail);
      return -1;
    }
    p[i].seen = 1;
    q = amp ? amp + 1 : end;
    if(amp && q == end) {
      gw_req_problem(req, 400, "invalid-parameter", "empty parameter in the query string");
      return -1;
    }
  }
  for(size_t i = 0; i < n; i++)
    if(p[i].required && !p[i].seen) {
      snprintf(detail, sizeof(detail), "parameter \"%s\" is required", p[i].name);
      gw_req_problem(req, 400, "invalid-parameter", detail);
      return -1;
    }
  return 0;
}

/* The log, or NULL after answering 503. */
static struct gw_audit_log *log_of(struct gw_req *req, struct gw_app *app)
{
  if(!app || !app->audit) {
    gw_req_problem(req, 503, "audit-unavailable", "this gateway has no audit log open");
    return NULL;
  }
  return app->audit;
}

static int has_role(struct gw_req *req, struct gw_app *app, unsigned roles, const char *what)
{
  char detail[128];
  struct gw_gen *gen = gw_gen_acquire(app->gens);
  unsigned have = gw_acl_roles(gen->acl, gw_req_client(req));
  gw_gen_release(gen);
  if(have & roles)
    return 1;
  snprintf(detail, sizeof(detail), "this client may not read %s", what);
  gw_req_problem(req, 403, "forbidden", detail);
  return 0;
}

/* A reader failure that the precondition checks did not catch. */
static void reader_failed(struct gw_req *req, enum gw_audit_result r)
{
  if(r == GW_AUDIT_ECORRUPT)
    gw_req_problem(req, 500, "audit-corrupt",
                   "the audit log failed its own check while reading; see the gateway log");
  else if(r == GW_AUDIT_EBAD_INDEX || r == GW_AUDIT_EBAD_SIZE)
    gw_req_problem(req, 404, "not-found", gw_audit_strerror(r));
  else
    gw_req_problem(req, 500, "internal", gw_audit_strerror(r));
}

static json_t *b64_hash(const uint8_t h[GW_MERKLE_HASH_LEN])
{
  char out[64];
  if(gw_b64_encode(GW_B64_STD, h, GW_MERKLE_HASH_LEN, out, sizeof(out), NULL) != GW_B64_OK)
    return NULL;
  return json_string(out);
}

static json_t *proof_path(const struct gw_merkle_proof *proof)
{
  json_t *a = json_array();
  for(size_t i = 0; i < proof->len; i++)
    json_array_append_new(a, b64_hash(proof->hash[i]));
  return a;
}

void gw_audit_http_checkpoint(struct gw_req *req, void *arg)
{
  struct gw_audit_log *log = log_of(req, arg);
  enum gw_audit_result r;
  char *note = NULL;
  size_t len;

  if(!log)
    return;
  if(gw_req_query(req)) {
    gw_req_problem(req, 400, "invalid-parameter", "this endpoint takes no parameters");
    return;
  }
  r = gw_audit_latest_checkpoint(log, &note, &len);
  if(r == GW_AUDIT_ENOCHECKPOINT || r == GW_AUDIT_ENOKEY) {
    gw_req_problem(req, 503, "no-checkpoint", gw_audit_strerror(r));
    return;
  }
  if(r != GW_AUDIT_OK) {
    reader_failed(req, r);
    return;
  }
  /* With peers: the note with every cosignature held for exactly it. */
  if(((struct gw_app *)arg)->witness) {
    char *with;
    size_t wlen;
    gw_witness_cosigned_note(((struct gw_app *)arg)->witness, note, len, &with, &wlen);
    gw_free(note);
    note = with;
    len = wlen;
  }
  gw_req_set_header(req, "Cache-Control", "no-cache");
  gw_req_respond(req, 200, "text/plain; charset=utf-8", note, len);
  gw_free(note);
}

void gw_audit_http_witness_key(struct gw_req *req, void *arg)
{
  struct gw_app *app = arg;
  char *vkey, *body;
  size_t len;

  if(!app || !app->witness) {
    gw_req_problem(req, 404, "not-found", "this gateway witnesses no peer (audit.witness)");
    return;
  }
  vkey = gw_witness_vkey(app->witness);
  len = strlen(vkey);
  body = gw_malloc(len + 2);
  memcpy(body, vkey, len);
  body[len] = '\n';
  body[len + 1] = '\0';
  gw_req_set_header(req, "Cache-Control", "max-age=300");
  gw_req_respond(req, 200, "text/plain; charset=utf-8", body, len + 1);
  gw_free(body);
  gw_free(vkey);
}

static void witness_answered(int status, const char *ctype, const char *body, size_t len,
                             void *arg)
{
  gw_req_respond(arg, status, ctype, body, len);
}

void gw_audit_http_witness_add(struct gw_req *req, void *arg)
{
  struct gw_app *app = arg;
  const char *body;
  size_t len;

  if(!app || !app->witness) {
    gw_req_problem(req, 404, "not-found", "this gateway witnesses no peer (audit.witness)");
    return;
  }
  if(!has_role(req, app, GW_ROLE_WITNESS, "the witness endpoint (role witness)"))
    return;
  if(gw_req_query(req)) {
    gw_req_problem(req, 400, "invalid-parameter", "this endpoint takes no parameters");
    return;
  }
  body = gw_req_body(req, &len);
  if(len > GW_WITNESS_REQUEST_MAX) {
    gw_req_problem(req, 413, "too-large", "an add-checkpoint request is at most 32 KiB");
    return;
  }
  /* The witness's thread verifies, saves its state and signs; the answer
   * comes back on this loop. */
  if(gw_witness_add_async(app->witness, body ? body : "", len, gw_req_base(req),
                          witness_answered, req))
    gw_req_problem(req, 503, "busy", "the witness has too much queued; try again");
}

/* Both verifier-key endpoints: `get` gives the key string. */
static void serve_key(struct gw_req *req, void *arg,
                      enum gw_audit_result (*get)(struct gw_audit_log *, char **),
                      const char *none)
{
  struct gw_audit_log *log = log_of(req, arg);
  enum gw_audit_result r;
  char *vkey = NULL, *body;
  size_t len;

  if(!log)
    return;
  if(gw_req_query(req)) {
    gw_req_problem(req, 400, "invalid-parameter", "this endpoint takes no parameters");
    return;
  }
  r = get(log, &vkey);
  if(r == GW_AUDIT_ENOKEY) {
    gw_req_problem(req, 503, "no-checkpoint", none);
    return;
  }
  if(r != GW_AUDIT_OK) {
    reader_failed(req, r);
    return;
  }
  /* One line, as a text file holding a verifier key would be. */
  len = strlen(vkey);
  body = gw_malloc(len + 2);
  memcpy(body, vkey, len);
  body[len] = '\n';
  body[len + 1] = '\0';
  gw_req_set_header(req, "Cache-Control", "max-age=300");
  gw_req_respond(req, 200, "text/plain; charset=utf-8", body, len + 1);
  gw_free(body);
  gw_free(vkey);
}

void gw_audit_http_checkpoint_key(struct gw_req *req, void *arg)
{
  serve_key(req, arg, gw_audit_checkpoint_key, "this gateway has no checkpoint key");
}

void gw_audit_http_checkpoint_key_sm2(struct gw_req *req, void *arg)
{
  serve_key(req, arg, gw_audit_checkpoint_key_sm2,
            "checkpoints carry no SM2 line (crypto.profile is intl)");
}

void gw_audit_http_proof(struct gw_req *req, void *arg)
{
  struct gw_app *app = arg;
  struct gw_audit_log *log = log_of(req, app);
  struct qparam p[2] = { { "index", 1, 0, 0 }, { "tree_size", 0, 0, 0 } };
  struct gw_merkle_proof proof;
  uint8_t leaf[GW_MERKLE_HASH_LEN];
  uint64_t size, tree_size;
  enum gw_audit_result r;
  char detail[192];
  json_t *out;

  if(!log || !has_role(req, app, GW_ROLE_CLIENT | GW_ROLE_AUDITOR, "inclusion proofs") ||
     parse_query(req, p, 2))
    return;
  size = gw_audit_size(log);
  tree_size = p[1].seen ? p[1].value : size;
  if(p[1].seen && tree_size > size) {
    snprintf(detail, sizeof(detail), "tree_size %llu is past the committed size %llu",
             (unsigned long long)tree_size, (unsigned long long)size);
    gw_req_problem(req, 404, "not-found", detail);
    return;
  }
  if(p[0].value >= tree_size) {
    if(p[1].seen)
      snprintf(detail, sizeof(detail), "index %llu is not below tree_size %llu",
               (unsigned long long)p[0].value, (unsigned long long)tree_size);
    else
      snprintf(detail, sizeof(detail), "index %llu is past the committed size %llu",
               (unsigned long long)p[0].value, (unsigned long long)size);
    gw_req_problem(req, p[1].seen && p[0].value < size ? 400 : 404,
                   p[1].seen && p[0].value < size ? "invalid-parameter" : "not-found", detail);
    return;
  }
  r = gw_audit_inclusion_proof(log, p[0].value, tree_size, leaf, &proof);
  if(r != GW_AUDIT_OK) {
    reader_failed(req, r);
    return;
  }
  out = json_object();
  json_object_set_new(out, "index", json_integer((json_int_t)p[0].value));
  json_object_set_new(out, "tree_size", json_integer((json_int_t)tree_size));
  json_object_set_new(out, "leaf_hash", b64_hash(leaf));
  json_object_set_new(out, "path", proof_path(&proof));
  gw_req_respond_json(req, 200, out);
}

void gw_audit_http_consistency(struct gw_req *req, void *arg)
{
  struct gw_audit_log *log = log_of(req, arg);
  struct qparam p[2] = { { "from", 1, 0, 0 }, { "to", 1, 0, 0 } };
  struct gw_merkle_proof proof;
  uint64_t size;
  enum gw_audit_result r;
  char detail[160];
  json_t *out;

  if(!log || parse_query(req, p, 2))
    return;
  size = gw_audit_size(log);
  if(p[1].value > size) {
    snprintf(detail, sizeof(detail), "to %llu is past the committed size %llu",
             (unsigned long long)p[1].value, (unsigned long long)size);
    gw_req_problem(req, 404, "not-found", detail);
    return;
  }
  if(p[0].value > p[1].value) {
    snprintf(detail, sizeof(detail), "from %llu is past to %llu",
             (unsigned long long)p[0].value, (unsigned long long)p[1].value);
    gw_req_problem(req, 400, "invalid-parameter", detail);
    return;
  }
  r = gw_audit_consistency_proof(log, p[0].value, p[1].value, &proof);
  if(r != GW_AUDIT_OK) {
    reader_failed(req, r);
    return;
  }
  out = json_object();
  json_object_set_new(out, "from", json_integer((json_int_t)p[0].value));
  json_object_set_new(out, "to", json_integer((json_int_t)p[1].value));
  json_object_set_new(out, "path", proof_path(&proof));
  gw_req_respond_json(req, 200, out);
}

void gw_audit_http_entries(struct gw_req *req, void *arg)
{
  struct gw_app *app = arg;
  struct gw_audit_log *log = log_of(req, app);
  struct qparam p[2] = { { "start", 1, 0, 0 }, { "count", 1, 0, 0 } };
  struct gw_audit_entry *e = NULL;
  size_t n = 0;
  uint64_t size;
  enum gw_audit_result r;
  char detail[160];
  json_t *out, *list;

  if(!log || !has_role(req, app, GW_ROLE_AUDITOR, "log entries") || parse_query(req, p, 2))
    return;
  if(p[1].value == 0) {
    gw_req_problem(req, 400, "invalid-parameter", "parameter \"count\" must be at least 1");
    return;
  }
  size = gw_audit_size(log);
  if(p[0].value >= size) {
    snprintf(detail, sizeof(detail), "start %llu is past the committed size %llu",
             (unsigned long long)p[0].value, (unsigned long long)size);
    gw_req_problem(req, 404, "not-found", detail);
    return;
  }
  r = gw_audit_get_entries(log, p[0].value, p[1].value, &e, &n);
  if(r != GW_AUDIT_OK) {
    reader_failed(req, r);
    return;
  }
  list = json_array();
  for(size_t i = 0; i < n; i++) {
    char *b64 = NULL;
    size_t blen;
    if(gw_b64_encode_alloc(GW_B64_STD, e[i].data, e[i].len, &b64, &blen) != GW_B64_OK) {
      json_decref(list);
      gw_audit_entries_free(e, n);
      gw_req_problem(req, 500, "internal", "cannot encode an entry");
      return;
    }
    json_array_append_new(list, json_pack("{s:I, s:s}", "index", (json_int_t)e[i].index,
                                          "data", b64));
    gw_free(b64);
  }
  gw_audit_entries_free(e, n);
  out = json_object();
  json_object_set_new(out, "entries", list);
  gw_req_respond_json(req, 200, out);
}
