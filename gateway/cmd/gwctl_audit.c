/*
 * gwctl_audit.c - "gwctl audit": what an auditor runs against the log.
 *
 *   gwctl audit verify DIR [--key VKEY | --key-file FILE]
 *   gwctl audit proof (--stack S | --url URL [--cacert CA] [--cert C --key K])
 *                     (--index N | --query-response FILE)
 *                     [--vkey VKEY | --vkey-file FILE] [--wait SECONDS]
 *   gwctl audit sample --stack S --fraction F --seed N [--unseal-key KEY] ...
 *   gwctl audit explain QUERY_ID --stack S ...
 *   gwctl audit generation --stack S (--query-id Q | --id N) [--json]
 *
 * The one idea: trust nothing the gateway says that a signed checkpoint
 * does not vouch for.  "verify" re-reads a log directory offline
 * (gw_audit_verify_dir).  "proof" verifies the latest checkpoint note with
 * the verifier key, then the inclusion of a record (or of a saved query
 * answer's record) under that checkpoint's root with gw/merkle.h, using the
 * leaf hash the answer carried, not the one the server sends back.
 * "sample" (gwctl_audit_sample.c) re-checks past queries against the
 * agencies; it, "explain" and "generation" read the whole log through
 * gwctl_audit_log.c.  This file also holds the HTTPS client and the stack.json reader
 * the subcommands share (gwctl_audit_int.h).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include <jansson.h>

#include "gw/alloc.h"
#include "gw/audit.h"
#include "gw/b64.h"
#include "gw/checkpoint.h"
#include "gw/merkle.h"
#include "gwctl_audit_int.h"
#include "gwctl_int.h"

/* ---- HTTPS ------------------------------------------------------------ */

struct sink {
  char *buf;
  size_t len, cap;
  int overflow;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
  struct sink *s = arg;
  size_t add = size * n;
  if(add > s->cap - s->len) {
    s->overflow = 1;
    return 0;
  }
  memcpy(s->buf + s->len, p, add);
  s->len += add;
  return add;
}

void gwctl_http_free(struct gwctl_http_resp *r)
{
  gw_free(r->body);
  r->body = NULL;
}

int gwctl_http(const struct gwctl_http *h, const char *method, const char *path,
               const char *body, size_t cap, struct gwctl_http_resp *r,
               char *err, size_t errlen)
{
  struct sink s = { gw_malloc(cap + 1), 0, cap, 0 };
  char ebuf[CURL_ERROR_SIZE] = "", *url;
  struct curl_slist *hdrs = NULL;
  size_t ulen = strlen(h->base) + strlen(path) + 1;
  CURLcode rc;
  CURL *c = curl_easy_init();

  memset(r, 0, sizeof(*r));
  if(!c) {
    snprintf(err, errlen, "cannot initialize libcurl");
    gw_free(s.buf);
    return -1;
  }
  url = gw_malloc(ulen);
  snprintf(url, ulen, "%s%s", h->base, path);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 60000L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
  if(h->cacert)
    curl_easy_setopt(c, CURLOPT_CAINFO, h->cacert);
  if(h->cert)
    curl_easy_setopt(c, CURLOPT_SSLCERT, h->cert);
  if(h->key)
    curl_easy_setopt(c, CURLOPT_SSLKEY, h->key);
  if(body) {
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
  }
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  rc = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
  curl_easy_cleanup(c);
  curl_slist_free_all(hdrs);
  if(rc != CURLE_OK) {
    if(s.overflow)
      snprintf(err, errlen, "%s: answer larger than %zu bytes", url, cap);
    else
      snprintf(err, errlen, "%s: %s", url, ebuf[0] ? ebuf : curl_easy_strerror(rc));
    gw_free(s.buf);
    gw_free(url);
    return -1;
  }
  gw_free(url);
  s.buf[s.len] = '\0';
  r->body = s.buf;
  r->len = s.len;
  return 0;
}

void gwctl_http_problem(const char *path, const struct gwctl_http_resp *r, char *err,
                        size_t errlen)
{
  json_t *p = json_loadb(r->body, r->len, 0, NULL);
  const char *detail = json_string_value(json_object_get(p, "detail"));
  snprintf(err, errlen, "%s: HTTP %ld%s%s", path, r->status, detail ? ": " : "",
           detail ? detail : "");
  json_decref(p);
}

int gwctl_http_get_ok(const struct gwctl_http *h, const char *path, size_t cap,
                      struct gwctl_http_resp *r, char *err, size_t errlen)
{
  if(gwctl_http(h, "GET", path, NULL, cap, r, err, errlen))
    return -1;
  if(r->status != 200) {
    gwctl_http_problem(path, r, err, errlen);
    gwctl_http_free(r);
    return -1;
  }
  return 0;
}

/* ---- stack.json --------------------------------------------------------- */

static char *dup_path(json_t *root, const char *a, const char *b, const char *c,
                      const char *d)
{
  json_t *v = json_object_get(root, a);
  if(b)
    v = json_object_get(v, b);
  if(c)
    v = json_object_get(v, c);
  if(d)
    v = json_object_get(v, d);
  return json_is_string(v) ? gw_strdup(json_string_value(v)) : NULL;
}

int gwctl_stack_load(const char *path, struct gwctl_stack *st, char *err, size_t errlen)
{
  struct stat sb;
  char file[4096];
  json_error_t jerr;
  json_t *root;

  memset(st, 0, sizeof(*st));
  if(!stat(path, &sb) && S_ISDIR(sb.st_mode))
    snprintf(file, sizeof(file), "%s/stack.json", path);
  else
    snprintf(file, sizeof(file), "%s", path);
  root = json_load_file(file, JSON_REJECT_DUPLICATES, &jerr);
  if(!root) {
    snprintf(err, errlen, "%s: %s", file, jerr.text);
    return -1;
  }
  st->url = dup_path(root, "gateway", "url", NULL, NULL);
  st->gateway_ca = dup_path(root, "pki", "gateway_ca", NULL, NULL);
  st->engine_cert = dup_path(root, "pki", "clients", "engine", "cert");
  st->engine_key = dup_path(root, "pki", "clients", "engine", "key");
  st->auditor_cert = dup_path(root, "pki", "clients", "auditor", "cert");
  st->auditor_key = dup_path(root, "pki", "clients", "auditor", "key");
  st->admin_cert = dup_path(root, "pki", "clients", "admin", "cert");
  st->admin_key = dup_path(root, "pki", "clients", "admin", "key");
  st->ops_url = dup_path(root, "gateway", "ops_url", NULL, NULL);
  st->unseal_key = dup_path(root, "pki", "auditor_unseal_key", NULL, NULL);
  st->pki_dir = dup_path(root, "pki", "dir", NULL, NULL);
  json_decref(root);
  if(!st->url || !st->gateway_ca || !st->auditor_cert || !st->auditor_key) {
    snprintf(err, errlen, "%s: no gateway.url, pki.gateway_ca or pki.clients.auditor", file);
    gwctl_stack_free(st);
    return -1;
  }
  return 0;
}

void gwctl_stack_free(struct gwctl_stack *st)
{
  gw_free(st->url);
  gw_free(st->gateway_ca);
  gw_free(st->engine_cert);
  gw_free(st->engine_key);
  gw_free(st->auditor_cert);
  gw_free(st->admin_cert);
  gw_free(st->admin_key);
  gw_free(st->ops_url);
  gw_free(st->auditor_key);
  gw_free(st->unseal_key);
  gw_free(st->pki_dir);
  memset(st, 0, sizeof(*st));
}

/* ---- verifier keys and checkpoints --------------------------------------- */

char *gwctl_vkey_read(const char *vkey, const char *file, char *err, size_t errlen)
{
  char *text;
  size_t len;
  if(vkey) {              /* as pasted: a trailing newline is not part of it */
    text = gw_strdup(vkey);
    len = strlen(text);
    while(len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
      text[--len] = '\0';
    return text;
  }
  if(!file)
    return NULL;
  text = gwctl_read_source(file, NULL, 4096, &len, err, errlen);
  if(!text)
    return NULL;
  while(len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
    text[--len] = '\0';
  if(!len || memchr(text, '\n', len)) {
    snprintf(err, errlen, "%s: not one line holding a note verifier key", file);
    gw_free(text);
    return NULL;
  }
  return text;
}

int gwctl_fetch_checkpoint(const struct gwctl_http *h, const char *pinned_vkey,
                           struct gw_checkpoint *cp, char **vkey_out, char *err,
                           size_t errlen)
{
  struct gwctl_http_resp r;
  struct gw_checkpoint_verifier *v = NULL;
  enum gw_checkpoint_result cr;
  char *vkey;
  int rc = -1;

  if(pinned_vkey)
    vkey = gw_strdup(pinned_vkey);
  else {
    if(gwctl_http_get_ok(h, "/v1/audit/checkpoint-key", 4096, &r, err, errlen))
      return -1;
    vkey = r.body;
    while(r.len && (vkey[r.len - 1] == '\n' || vkey[r.len - 1] == '\r'))
      vkey[--r.len] = '\0';
  }
  cr = gw_checkpoint_verifier_new(vkey, &v);
  if(cr != GW_CHECKPOINT_OK) {
    snprintf(err, errlen, "checkpoint key \"%.80s\": %s", vkey, gw_checkpoint_strerror(cr));
    goto out;
  }
  if(gwctl_http_get_ok(h, "/v1/audit/checkpoint", GW_CHECKPOINT_NOTE_MAX, &r, err, errlen))
    goto out;
  cr = gw_checkpoint_verify(v, r.body, r.len, NULL, cp);
  gwctl_http_free(&r);
  if(cr != GW_CHECKPOINT_OK) {
    snprintf(err, errlen, "the checkpoint does not verify with key %.80s: %s", vkey,
             gw_checkpoint_strerror(cr));
    goto out;
  }
  rc = 0;
out:
  gw_checkpoint_verifier_free(v);
  if(rc == 0 && vkey_out)
    *vkey_out = vkey;
  else
    gw_free(vkey);
  return rc;
}

int gwctl_b64_hash(const char *s, uint8_t out[GW_MERKLE_HASH_LEN])
{
  size_t n;
  if(!s || gw_b64_decode(GW_B64_STD, s, strlen(s), out, GW_MERKLE_HASH_LEN, &n) != GW_B64_OK ||
     n != GW_MERKLE_HASH_LEN)
    return -1;
  return 0;
}

static void b64_print(const uint8_t *h, char out[64])
{
  if(gw_b64_encode(GW_B64_STD, h, GW_MERKLE_HASH_LEN, out, 64, NULL) != GW_B64_OK)
    snprintf(out, 64, "?");
}

/* ---- gwctl audit verify -------------------------------------------------- */

static void on_verify_event(const struct gw_audit_verify_event *e, void *arg)
{
  static const char *const subjects[] = { "directory", "record", "checkpoint" };
  (void)arg;
  if(e->what == GW_AUDIT_VERIFY_CHECKPOINT_OK)
    return;
  if(e->subject == GW_AUDIT_VERIFY_DIR)
    printf("%s: %s\n", e->what == GW_AUDIT_VERIFY_PROBLEM ? "PROBLEM" : "notice", e->message);
  else
    printf("%s: %s %llu (byte offset %llu): %s\n",
           e->what == GW_AUDIT_VERIFY_PROBLEM ? "PROBLEM" : "notice", subjects[e->subject],
           (unsigned long long)e->number, (unsigned long long)e->offset, e->message);
}

static int audit_verify(int argc, char **argv)
{
  static const struct option opts[] = {
    { "key", required_argument, NULL, 'k' },
    { "key-file", required_argument, NULL, 'f' },
    { NULL, 0, NULL, 0 }
  };
  struct gw_audit_verify_report rep;
  const char *key = NULL, *key_file = NULL;
  char err[512], *vkey = NULL, root[64];
  enum gw_audit_result r;
  int opt, rc = 2;

  optind = 1;
  while((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch(opt) {
    case 'k': key = optarg; break;
    case 'f': key_file = optarg; break;
    default: goto usage;
    }
  }
  if(argc - optind != 1 || (key && key_file))
    goto usage;
  vkey = gwctl_vkey_read(key, key_file, err, sizeof(err));
  if(key_file && !vkey) {
    fprintf(stderr, "gwctl audit verify: %s\n", err);
    return 2;
  }
  memset(&rep, 0, sizeof(rep));
  r = gw_audit_verify_dir(argv[optind], vkey, on_verify_event, NULL, &rep);
  b64_print(rep.root, root);
  printf("log:         %s\n", argv[optind]);
  printf("records:     %llu read, tree recomputed, root %s\n", (unsigned long long)rep.records,
         root);
  printf("checkpoints: %llu, roots match the records, signatures %s\n",
         (unsigned long long)rep.checkpoints,
         rep.signatures_checked ? "checked" : "NOT checked (no --key)");
  if(r == GW_AUDIT_OK && !rep.problem) {
    printf("result:      OK\n");
    rc = 0;
  }
  else {
    if(rep.problem && rep.problem_subject == GW_AUDIT_VERIFY_RECORD)
      printf("result:      FAILED at record %llu: %s\n", (unsigned long long)rep.problem_number,
             rep.message);
    else if(rep.problem && rep.problem_subject == GW_AUDIT_VERIFY_CHECKPOINT)
      printf("result:      FAILED at checkpoint %llu: %s\n", (unsigned long long)rep.problem_number,
             rep.message);
    else
      printf("result:      FAILED: %s\n", rep.message[0] ? rep.message : gw_audit_strerror(r));
    rc = 1;
  }
  gw_free(vkey);
  return rc;

usage:
  fprintf(stderr, "usage: gwctl audit verify DIR [--key VKEY | --key-file FILE]\n");
  return 2;
}

/* ---- gwctl audit proof ---------------------------------------------------- */

/* A saved answer of POST /v1/facts/query: its audit section. */
struct saved_answer {
  uint64_t index;
  uint8_t leaf[GW_MERKLE_HASH_LEN];
  char log_id[GW_AUDIT_LOG_ID_LEN + 1];
  char query_id[128];
};

static int read_answer(const char *file, struct saved_answer *a, char *err, size_t errlen)
{
  char *text;
  size_t len;
  json_t *doc, *audit;
  const char *log_id, *qid;
  int rc = -1;

  text = gwctl_read_source(file, NULL, 16u << 20, &len, err, errlen);
  if(!text)
    return -1;
  doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
  gw_free(text);
  audit = json_object_get(doc, "audit");
  log_id = json_string_value(json_object_get(audit, "log_id"));
  qid = json_string_value(json_object_get(doc, "query_id"));
  if(!json_is_integer(json_object_get(audit, "index")) ||
     json_integer_value(json_object_get(audit, "index")) < 0 || !log_id ||
     strlen(log_id) != GW_AUDIT_LOG_ID_LEN ||
     gwctl_b64_hash(json_string_value(json_object_get(audit, "leaf_hash")), a->leaf)) {
    snprintf(err, errlen, "%s: not a query answer with an audit section "
             "{\"log_id\", \"index\", \"leaf_hash\"}", file);
    goto out;
  }
  a->index = (uint64_t)json_integer_value(json_object_get(audit, "index"));
  memcpy(a->log_id, log_id, GW_AUDIT_LOG_ID_LEN + 1);
  snprintf(a->query_id, sizeof(a->query_id), "%s", qid ? qid : "");
  rc = 0;
out:
  json_decref(doc);
  return rc;
}

/* Parses an inclusion proof answer and checks it echoes what was asked. */
static int parse_inclusion(const struct gwctl_http_resp *r, uint64_t index, uint64_t size,
                           uint8_t leaf[GW_MERKLE_HASH_LEN], struct gw_merkle_proof *proof,
                           char *err, size_t errlen)
{
  json_t *doc = json_loadb(r->body, r->len, JSON_REJECT_DUPLICATES, NULL), *path, *h;
  size_t i;
  int rc = -1;

  path = json_object_get(doc, "path");
  if(json_integer_value(json_object_get(doc, "index")) != (json_int_t)index ||
     json_integer_value(json_object_get(doc, "tree_size")) != (json_int_t)size ||
     gwctl_b64_hash(json_string_value(json_object_get(doc, "leaf_hash")), leaf) ||
     !json_is_array(path) || json_array_size(path) > GW_MERKLE_MAX_PROOF) {
    snprintf(err, errlen, "the proof answer is malformed or is for another index or size");
    goto out;
  }
  proof->len = json_array_size(path);
  json_array_foreach(path, i, h)
    if(gwctl_b64_hash(json_string_value(h), proof->hash[i])) {
      snprintf(err, errlen, "proof hash %zu is not base64 of 32 bytes", i);
      goto out;
    }
  rc = 0;
out:
  json_decref(doc);
  return rc;
}

/* With the auditor role: the record itself, rehashed, must be the leaf. */
static void check_entry(const struct gwctl_http *h, uint64_t index,
                        const uint8_t leaf[GW_MERKLE_HASH_LEN], const char *query_id,
                        int *failed)
{
  struct gwctl_http_resp r;
  char path[96], err[512];
  json_t *doc = NULL, *rec = NULL;
  unsigned char *data = NULL;
  size_t dlen;
  uint8_t mine[GW_MERKLE_HASH_LEN];
  const char *b64, *qid;

  snprintf(path, sizeof(path), "/v1/audit/entries?start=%llu&count=1", (unsigned long long)index);
  if(gwctl_http(h, "GET", path, NULL, 1u << 20, &r, err, sizeof(err))) {
    printf("record:     not read (%s)\n", err);
    return;
  }
  if(r.status == 403) {
    printf("record:     not read (this client has no auditor role)\n");
    goto out;
  }
  if(r.status != 200) {
    gwctl_http_problem(path, &r, err, sizeof(err));
    printf("record:     not read (%s)\n", err);
    goto out;
  }
  doc = json_loadb(r.body, r.len, JSON_REJECT_DUPLICATES, NULL);
  b64 = json_string_value(json_object_get(json_array_get(json_object_get(doc, "entries"), 0),
                                          "data"));
  if(!b64 || gw_b64_decode_alloc(GW_B64_STD, b64, strlen(b64), &data, &dlen) != GW_B64_OK ||
     gw_merkle_hash_leaf(data, dlen, mine) != GW_MERKLE_OK ||
     memcmp(mine, leaf, GW_MERKLE_HASH_LEN)) {
    printf("PROBLEM:    the record served at index %llu does not hash to the leaf\n",
           (unsigned long long)index);
    *failed = 1;
    goto out;
  }
  rec = json_loadb((const char *)data, dlen, 0, NULL);
  qid = json_string_value(json_object_get(rec, "query_id"));
  printf("record:     %s record, %zu bytes, SHA-256(0x00 || record) is the leaf\n",
         json_string_value(json_object_get(rec, "kind")) ? json_string_value(json_object_get(rec, "kind")) : "?",
         dlen);
  if(query_id && query_id[0]) {
    if(!qid || strcmp(qid, query_id)) {
      printf("PROBLEM:    the record is for query %s, the answer for %s\n", qid ? qid : "(none)",
             query_id);
      *failed = 1;
    }
    else
      printf("record:     it is the record of query %s\n", qid);
  }
out:
  json_decref(rec);
  json_decref(doc);
  gw_free(data);
  gwctl_http_free(&r);
}

static int audit_proof(int argc, char **argv)
{
  static const struct option opts[] = {
    { "stack", required_argument, NULL, 's' },
    { "url", required_argument, NULL, 'u' },
    { "cacert", required_argument, NULL, 'c' },
    { "cert", required_argument, NULL, 'C' },
    { "key", required_argument, NULL, 'K' },
    { "index", required_argument, NULL, 'i' },
    { "query-response", required_argument, NULL, 'q' },
    { "vkey", required_argument, NULL, 'v' },
    { "vkey-file", required_argument, NULL, 'V' },
    { "wait", required_argument, NULL, 'w' },
    { NULL, 0, NULL, 0 }
  };
  struct gwctl_stack st;
  struct gwctl_http h = { NULL, NULL, NULL, NULL };
  struct saved_answer ans;
  struct gw_checkpoint cp;
  struct gw_merkle_proof proof;
  struct gwctl_http_resp r;
  const char *stack = NULL, *answer = NULL, *vkey_arg = NULL, *vkey_file = NULL;
  char err[512], path[128], *vkey = NULL, *pinned = NULL, *end, rootb64[64];
  uint8_t leaf[GW_MERKLE_HASH_LEN];
  unsigned long long index = 0;
  long wait_s = 0;
  int opt, rc = 2, have_index = 0, failed = 0;
  enum gw_merkle_result mr;
  time_t deadline;

  memset(&st, 0, sizeof(st));
  memset(&ans, 0, sizeof(ans));
  optind = 1;
  while((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch(opt) {
    case 's': stack = optarg; break;
    case 'u': h.base = optarg; break;
    case 'c': h.cacert = optarg; break;
    case 'C': h.cert = optarg; break;
    case 'K': h.key = optarg; break;
    case 'i':
      errno = 0;
      index = strtoull(optarg, &end, 10);
      if(errno || *end || !*optarg || *optarg == '-')
        goto usage;
      have_index = 1;
      break;
    case 'q': answer = optarg; break;
    case 'v': vkey_arg = optarg; break;
    case 'V': vkey_file = optarg; break;
    case 'w':
      wait_s = strtol(optarg, &end, 10);
      if(*end || wait_s < 0 || wait_s > 3600)
        goto usage;
      break;
    default: goto usage;
    }
  }
  if(optind != argc || !stack == !h.base || have_index == !!answer || (vkey_arg && vkey_file))
    goto usage;
  if(stack) {
    if(gwctl_stack_load(stack, &st, err, sizeof(err))) {
      fprintf(stderr, "gwctl audit proof: %s\n", err);
      return 2;
    }
    h.base = st.url;
    h.cacert = st.gateway_ca;
    h.cert = st.auditor_cert;
    h.key = st.auditor_key;
  }
  if(answer) {
    if(read_answer(answer, &ans, err, sizeof(err))) {
      fprintf(stderr, "gwctl audit proof: %s\n", err);
      goto out;
    }
    index = ans.index;
  }
  pinned = gwctl_vkey_read(vkey_arg, vkey_file, err, sizeof(err));
  if(vkey_file && !pinned) {
    fprintf(stderr, "gwctl audit proof: %s\n", err);
    goto out;
  }
  rc = 1;
  /* The checkpoint must cover the record; a fresh record waits for the
   * gateway's next checkpoint when --wait allows. */
  deadline = time(NULL) + wait_s;
  for(;;) {
    gw_free(vkey);
    vkey = NULL;
    if(gwctl_fetch_checkpoint(&h, pinned, &cp, &vkey, err, sizeof(err))) {
      printf("PROBLEM:    %s\n", err);
      goto out;
    }
    if(index < cp.size || time(NULL) >= deadline)
      break;
    sleep(1);
  }
  b64_print(cp.root, rootb64);
  printf("checkpoint: %s, size %llu, root %s\n", cp.origin, (unsigned long long)cp.size, rootb64);
  printf("key:        %s%s\n", vkey, pinned ? "" : " (fetched from the gateway: pin it with --vkey)");
  if(answer) {
    size_t olen = strlen(cp.origin);
    if(olen < GW_AUDIT_LOG_ID_LEN || strcmp(cp.origin + olen - GW_AUDIT_LOG_ID_LEN, ans.log_id)) {
      printf("PROBLEM:    the answer names log %s, the checkpoint is of %s\n", ans.log_id, cp.origin);
      goto out;
    }
  }
  if(index >= cp.size) {
    printf("PROBLEM:    record %llu is not covered by the latest checkpoint (size %llu) yet; "
           "retry after the next checkpoint (or use --wait SECONDS)\n", index,
           (unsigned long long)cp.size);
    goto out;
  }
  snprintf(path, sizeof(path), "/v1/audit/proof?index=%llu&tree_size=%llu", index,
           (unsigned long long)cp.size);
  if(gwctl_http_get_ok(&h, path, 64u << 10, &r, err, sizeof(err))) {
    printf("PROBLEM:    %s\n", err);
    goto out;
  }
  if(parse_inclusion(&r, index, cp.size, leaf, &proof, err, sizeof(err))) {
    gwctl_http_free(&r);
    printf("PROBLEM:    %s\n", err);
    goto out;
  }
  gwctl_http_free(&r);
  if(answer && memcmp(leaf, ans.leaf, GW_MERKLE_HASH_LEN)) {
    printf("PROBLEM:    the leaf hash at index %llu differs from the one the answer carried\n", index);
    failed = 1;
  }
  /* Verify the hash the client was given, not the one the server sends now. */
  mr = gw_merkle_verify_inclusion(answer ? ans.leaf : leaf, index, cp.size, &proof, cp.root);
  if(mr != GW_MERKLE_OK) {
    printf("PROBLEM:    inclusion of record %llu under the signed root fails: %s\n", index,
           gw_merkle_strerror(mr));
    goto out;
  }
  printf("inclusion:  record %llu verified under the signed root (%zu hashes)\n", index, proof.len);
  if(answer)
    printf("answer:     its leaf hash is the one in the log\n");
  check_entry(&h, index, answer ? ans.leaf : leaf, answer ? ans.query_id : NULL, &failed);
  if(!failed) {
    printf("OK\n");
    rc = 0;
  }
out:
  gw_free(vkey);
  gw_free(pinned);
  gwctl_stack_free(&st);
  return rc;

usage:
  fprintf(stderr,
          "usage: gwctl audit proof (--stack S | --url URL [--cacert CA] [--cert C --key K])\n"
          "                         (--index N | --query-response FILE)\n"
          "                         [--vkey VKEY | --vkey-file FILE] [--wait SECONDS]\n");
  gwctl_stack_free(&st);
  return 2;
}

/* ---- dispatch ------------------------------------------------------------------ */

static void usage(FILE *fp)
{
  fprintf(fp,
          "usage: gwctl audit verify DIR [--key VKEY | --key-file FILE]\n"
          "       gwctl audit proof (--stack S | --url URL ...) (--index N | --query-response FILE)\n"
          "       gwctl audit sample --stack S --fraction F --seed N [--unseal-key KEY]\n"
          "       gwctl audit explain QUERY_ID --stack S [--predicates DIR] [--vkey VKEY | --vkey-file F]\n"
          "       gwctl audit witnessed (--stack S [--instance N] | --url URL ... | --note F) "
          "--witnesses POLICY [--quorum K]\n"
          "       gwctl audit generation --stack S (--query-id Q | --id N) [--vkey VKEY | --vkey-file F]\n"
          "                              [--json]\n"
          "see docs/audit-api.md\n");
}

int gwctl_audit(int argc, char **argv)
{
  int rc;
  if(argc < 2) {
    usage(stderr);
    return 2;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  if(!strcmp(argv[1], "verify"))
    rc = audit_verify(argc - 1, argv + 1);
  else if(!strcmp(argv[1], "proof"))
    rc = audit_proof(argc - 1, argv + 1);
  else if(!strcmp(argv[1], "sample"))
    rc = gwctl_audit_sample(argc - 1, argv + 1);
  else if(!strcmp(argv[1], "explain"))
    rc = gwctl_audit_explain(argc - 1, argv + 1);
  else if(!strcmp(argv[1], "witnessed"))
    rc = gwctl_audit_witnessed(argc - 1, argv + 1);
  else if(!strcmp(argv[1], "generation"))
    rc = gwctl_audit_generation(argc - 1, argv + 1);
  else if(!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
    usage(stdout);
    rc = 0;
  }
  else {
    usage(stderr);
    rc = 2;
  }
  curl_global_cleanup();
  return rc;
}
