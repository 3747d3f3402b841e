/*
 * witness.c - the witness half of mutual witnessing: tlog-cosignature/v1
 * lines (sign, verify), the per-peer state that makes a rewritten log
 * visible, the add-checkpoint request of c2sp.org/tlog-witness, and the
 * thread that answers it off the event loops.  See gw/witness.h.
 *
 * The one idea: a cosignature is a promise about every earlier one, so the
 * state it rests on (origin, size, root per peer) is on disk before the
 * cosignature leaves, and nothing is cosigned that does not extend it.
 */
#include "gw/witness.h"
#include "witness_int.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "gw/alloc.h"
#include "gw/b64.h"
#include "gw/checkpoint.h"
#include "gw/log.h"
#include "gw/merkle.h"
#include "metrics.h"

/* "— " : U+2014 EM DASH then a space */
static const char dash[] = "\xe2\x80\x94 ";
#define DASH_LEN 4
#define COSIG_TYPE 0x04
#define CKPT_TYPE 0x01
#define COSIG_BLOB (4 + 8 + 64)
/* The state file: one line per peer, a few hundred bytes each. */
#define STATE_MAX (GW_WITNESS_PEERS_MAX * 512 + 64)

static struct gw_metric *m_cosigned, *m_refusals, *m_received, *m_failures;

static void metrics_register(void)
{
  struct gw_metrics *r = gw_metrics_default();
  if(m_cosigned)
    return;
  if(gw_metrics_counter(r, "gw_witness_cosignatures_total",
                        "Checkpoints of a peer's audit log this instance cosigned as its witness.",
                        GW_LABELS("peer"), &m_cosigned) != GW_METRICS_OK ||
     gw_metrics_counter(r, "gw_witness_refusals_total",
                        "Checkpoints of a peer refused as inconsistent with what this instance "
                        "cosigned before (a rewritten, rolled back or replaced log).",
                        GW_LABELS("peer"), &m_refusals) != GW_METRICS_OK ||
     gw_metrics_counter(r, "gw_witness_received_total",
                        "Valid cosignatures of this instance's checkpoints received from a peer.",
                        GW_LABELS("peer"), &m_received) != GW_METRICS_OK ||
     gw_metrics_counter(r, "gw_witness_submit_failures_total",
                        "Checkpoint submissions to a peer that failed or were refused.",
                        GW_LABELS("peer"), &m_failures) != GW_METRICS_OK)
    gw_log(GW_LOG_WARN, "metrics_unavailable", "witness counters");
}

/* ---- keys ------------------------------------------------------------------ */

static EVP_PKEY *read_pem(const char *path, int private_key)
{
  EVP_PKEY *k = NULL;
  FILE *f = fopen(path, "r");
  if(!f)
    return NULL;
  /* An empty passphrase: an encrypted key fails instead of prompting. */
  k = private_key ? PEM_read_PrivateKey(f, NULL, NULL, (void *)"")
                  : PEM_read_PUBKEY(f, NULL, NULL, (void *)"");
  fclose(f);
  ERR_clear_error();
  if(k && EVP_PKEY_get_id(k) != EVP_PKEY_ED25519) {
    EVP_PKEY_free(k);
    return NULL;
  }
  return k;
}

static int raw_pub(EVP_PKEY *k, uint8_t pub[32])
{
  size_t n = 32;
  return EVP_PKEY_get_raw_public_key(k, pub, &n) == 1 && n == 32 ? 0 : -1;
}

void witness_key_id(const char *name, uint8_t type, const uint8_t pub[32], uint8_t id[4])
{
  uint8_t md[SHA256_DIGEST_LENGTH], buf[GW_CHECKPOINT_NAME_MAX + 2 + 32 + 16];
  size_t n = strlen(name);
  if(n > GW_CHECKPOINT_NAME_MAX + 16)
    n = GW_CHECKPOINT_NAME_MAX + 16;     /* names are checked shorter elsewhere */
  memcpy(buf, name, n);
  buf[n] = '\n';
  buf[n + 1] = type;
  memcpy(buf + n + 2, pub, 32);
  SHA256(buf, n + 34, md);
  memcpy(id, md, 4);
}

char *witness_vkey_string(const char *name, uint8_t type, const uint8_t pub[32])
{
  uint8_t typed[33], id[4];
  char b64[64];
  size_t cap = strlen(name) + 64;
  char *s = gw_malloc(cap);
  typed[0] = type;
  memcpy(typed + 1, pub, 32);
  witness_key_id(name, type, pub, id);
  if(gw_b64_encode(GW_B64_STD, typed, sizeof(typed), b64, sizeof(b64), NULL) != GW_B64_OK)
    b64[0] = '\0';
  snprintf(s, cap, "%s+%02x%02x%02x%02x+%s", name, id[0], id[1], id[2], id[3], b64);
  return s;
}

/* ---- the cosignature format -------------------------------------------------- */

/* "cosignature/v1\ntime T\n" || text */
static char *signed_message(const char *text, size_t text_len, uint64_t t, size_t *len)
{
  char head[64];
  int n = snprintf(head, sizeof(head), "cosignature/v1\ntime %llu\n", (unsigned long long)t);
  char *m = gw_malloc((size_t)n + text_len);
  memcpy(m, head, (size_t)n);
  memcpy(m + n, text, text_len);
  *len = (size_t)n + text_len;
  return m;
}

char *witness_cosign(EVP_PKEY *key, const char *name, const uint8_t id[4], const char *text,
                     size_t text_len, uint64_t t)
{
  uint8_t blob[COSIG_BLOB];
  size_t mlen, siglen = 64;
  char *msg = signed_message(text, text_len, t, &mlen), *b64 = NULL, *line = NULL;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();

  memcpy(blob, id, 4);
  for(int i = 0; i < 8; i++)
    blob[4 + i] = (uint8_t)(t >> (56 - 8 * i));
  if(ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) == 1 &&
     EVP_DigestSign(ctx, blob + 12, &siglen, (const unsigned char *)msg, mlen) == 1 &&
     siglen == 64 &&
     gw_b64_encode_alloc(GW_B64_STD, blob, sizeof(blob), &b64, &siglen) == GW_B64_OK) {
    size_t cap = DASH_LEN + strlen(name) + 1 + strlen(b64) + 1;
    line = gw_malloc(cap);
    snprintf(line, cap, "%s%s %s", dash, name, b64);
  }
  EVP_MD_CTX_free(ctx);
  ERR_clear_error();
  gw_free(msg);
  gw_free(b64);
  return line;
}

int witness_verify_cosig(EVP_PKEY *pub, const char *name, const uint8_t id[4], const char *text,
                         size_t text_len, const char *line, size_t line_len, uint64_t *t)
{
  size_t nlen = strlen(name), blen = 0, mlen;
  uint8_t blob[COSIG_BLOB + 3];
  const char *b64;
  uint64_t ts = 0;
  char *msg;
  EVP_MD_CTX *ctx;
  int ok;

  if(line_len < DASH_LEN + nlen + 2 || memcmp(line, dash, DASH_LEN) ||
     memcmp(line + DASH_LEN, name, nlen) || line[DASH_LEN + nlen] != ' ')
    return 0;
  b64 = line + DASH_LEN + nlen + 1;
  if(gw_b64_decode(GW_B64_STD, b64, line_len - (size_t)(b64 - line), blob, sizeof(blob), &blen) !=
     GW_B64_OK || blen < 4 || memcmp(blob, id, 4))
    return 0;                               /* another key: not ours to judge */
  if(blen != COSIG_BLOB)
    return -1;
  for(int i = 0; i < 8; i++)
    ts = ts << 8 | blob[4 + i];
  if(ts > INT64_MAX)
    return -1;
  msg = signed_message(text, text_len, ts, &mlen);
  ctx = EVP_MD_CTX_new();
  ok = ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pub) == 1 &&
       EVP_DigestVerify(ctx, blob + 12, 64, (const unsigned char *)msg, mlen) == 1;
  EVP_MD_CTX_free(ctx);
  ERR_clear_error();
  gw_free(msg);
  if(!ok)
    return -1;
  if(t)
    *t = ts;
  return 1;
}

int gw_witness_verify_line(const char *vkey, const char *text, size_t text_len,
                           const char *line, size_t line_len, uint64_t *t)
{
  const char *p1 = strchr(vkey, '+'), *p2;
  uint8_t typed[35], id[4], want[4];
  size_t tl = 0;
  char *name;
  EVP_PKEY *pub;
  int r;

  if(!p1 || !(p2 = strchr(p1 + 1, '+')) || p2 - p1 != 9)
    return -2;
  for(int i = 0; i < 4; i++) {
    unsigned v;
    if(sscanf(p1 + 1 + 2 * i, "%2x", &v) != 1)
      return -2;
    id[i] = (uint8_t)v;
  }
  if(gw_b64_decode(GW_B64_STD, p2 + 1, strlen(p2 + 1), typed, sizeof(typed), &tl) != GW_B64_OK ||
     tl != 33 || typed[0] != COSIG_TYPE)
    return -2;
  name = gw_strndup(vkey, (size_t)(p1 - vkey));
  witness_key_id(name, COSIG_TYPE, typed + 1, want);
  if(memcmp(id, want, 4)) {
    gw_free(name);
    return -2;
  }
  pub = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, typed + 1, 32);
  r = pub ? witness_verify_cosig(pub, name, id, text, text_len, line, line_len, t) : -2;
  EVP_PKEY_free(pub);
  gw_free(name);
  return r;
}

/* ---- the state file ----------------------------------------------------------- */

/* "peer <gateway_id> <origin> <size> <base64 root>\n" per peer with state. */
static int state_save(struct gw_witness *w)
{
  char buf[STATE_MAX], root[64], tmp[4200];
  size_t n = 0;
  int fd = -1, rc = -1;

  n += (size_t)snprintf(buf, sizeof(buf), "gw-witness-state 1\n");
  for(size_t i = 0; i < w->n_peers; i++) {
    struct witness_peer *p = &w->peers[i];
    if(!p->origin)
      continue;
    if(gw_b64_encode(GW_B64_STD, p->root, 32, root, sizeof(root), NULL) != GW_B64_OK)
      return -1;
    n += (size_t)snprintf(buf + n, sizeof(buf) - n, "peer %s %s %llu %s\n", p->gateway_id,
                          p->origin, (unsigned long long)p->size, root);
    if(n >= sizeof(buf))
      return -1;
  }
  if(snprintf(tmp, sizeof(tmp), "%s.tmp", w->state_path) >= (int)sizeof(tmp))
    return -1;
  fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if(fd < 0)
    return -1;
  if(write(fd, buf, n) != (ssize_t)n || fsync(fd))
    goto out;
  if(close(fd)) {
    fd = -1;
    goto out;
  }
  fd = -1;
  if(rename(tmp, w->state_path))
    goto out;
  {
    /* the directory entry too */
    char dir[4096], *slash;
    int dfd;
    snprintf(dir, sizeof(dir), "%s", w->state_path);
    slash = strrchr(dir, '/');
    if(slash)
      *slash = '\0';
    dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if(dfd < 0 || fsync(dfd)) {
      if(dfd >= 0)
        close(dfd);
      goto out;
    }
    close(dfd);
  }
  rc = 0;
out:
  if(fd >= 0)
    close(fd);
  if(rc)
    unlink(tmp);
  return rc;
}

static int state_load(struct gw_witness *w, char *err, size_t errlen)
{
  char line[1024];
  FILE *f = fopen(w->state_path, "r");
  int lineno = 0;

  if(!f) {
    if(errno == ENOENT)
      return 0;
    snprintf(err, errlen, "%s: %s", w->state_path, strerror(errno));
    return -1;
  }
  while(fgets(line, sizeof(line), f)) {
    char gid[300], origin[300], root64[80];
    unsigned long long size;
    uint8_t root[34];
    size_t rl = 0, i;
    lineno++;
    if(lineno == 1) {
      if(strcmp(line, "gw-witness-state 1\n"))
        goto bad;
      continue;
    }
    if(sscanf(line, "peer %299s %299s %llu %79s", gid, origin, &size, root64) != 4 ||
       gw_b64_decode(GW_B64_STD, root64, strlen(root64), root, sizeof(root), &rl) != GW_B64_OK ||
       rl != 32)
      goto bad;
    for(i = 0; i < w->n_peers && strcmp(w->peers[i].gateway_id, gid); i++)
      ;
    if(i == w->n_peers) {
      /* a peer no longer configured: its line is dropped at the next save */
      gw_log(GW_LOG_WARN, "witness_state", "%s: peer %s is no longer configured",
             w->state_path, gid);
      continue;
    }
    w->peers[i].origin = gw_strdup(origin);
    w->peers[i].size = size;
    memcpy(w->peers[i].root, root, 32);
  }
  fclose(f);
  return 0;
bad:
  fclose(f);
  snprintf(err, errlen, "%s: line %d is damaged (the witness state must be restored from a "
           "backup, never guessed)", w->state_path, lineno);
  return -1;
}

/* ---- construction -------------------------------------------------------------- */

static void peer_free(struct witness_peer *p)
{
  gw_free(p->gateway_id);
  gw_free(p->prefix);
  gw_free(p->origin);
  gw_free(p->wname);
  EVP_PKEY_free(p->wpub);
  gw_free(p->cos_text);
  gw_free(p->cos_line);
}

struct gw_witness *gw_witness_new(const struct gw_witness_config *cfg, const char *gateway_id,
                                  const char *state_path, char *err, size_t errlen)
{
  struct gw_witness *w = gw_calloc(1, sizeof(*w));
  EVP_PKEY *k;

  metrics_register();
  w->cfg = cfg;
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->cv, NULL);
  w->key = read_pem(cfg->key, 1);
  if(!w->key || raw_pub(w->key, w->pub)) {
    snprintf(err, errlen, "audit.witness.key: %s: not an unencrypted Ed25519 private key",
             cfg->key);
    goto fail;
  }
  w->name = gw_malloc(strlen(gateway_id) + 16);
  sprintf(w->name, "%s/witness", gateway_id);
  witness_key_id(w->name, COSIG_TYPE, w->pub, w->id);
  w->state_path = gw_strdup(state_path);
  w->peers = gw_calloc(cfg->n_peers ? cfg->n_peers : 1, sizeof(*w->peers));
  for(size_t i = 0; i < cfg->n_peers; i++) {
    const struct gw_witness_peer_config *pc = &cfg->peers[i];
    struct witness_peer *p = &w->peers[i];
    uint8_t wpub[32];
    w->n_peers++;
    p->gateway_id = gw_strdup(pc->gateway_id);
    p->prefix = gw_malloc(strlen(pc->gateway_id) + 8);
    sprintf(p->prefix, "%s/audit/", pc->gateway_id);
    k = read_pem(pc->log_key, 0);
    if(!k || raw_pub(k, p->log_pub)) {
      EVP_PKEY_free(k);
      snprintf(err, errlen, "audit.witness.peers[%zu].log_key: %s: not an Ed25519 public key",
               i, pc->log_key);
      goto fail;
    }
    EVP_PKEY_free(k);
    p->wpub = read_pem(pc->witness_key, 0);
    if(!p->wpub || raw_pub(p->wpub, wpub)) {
      snprintf(err, errlen, "audit.witness.peers[%zu].witness_key: %s: not an Ed25519 public "
               "key", i, pc->witness_key);
      goto fail;
    }
    p->wname = gw_malloc(strlen(pc->gateway_id) + 16);
    sprintf(p->wname, "%s/witness", pc->gateway_id);
    witness_key_id(p->wname, COSIG_TYPE, wpub, p->wid);
    for(size_t j = 0; j < i; j++)
      if(!strcmp(w->peers[j].gateway_id, p->gateway_id)) {
        snprintf(err, errlen, "audit.witness.peers[%zu]: gateway_id %s is listed twice", i,
                 p->gateway_id);
        goto fail;
      }
    if(!strcmp(p->gateway_id, gateway_id)) {
      snprintf(err, errlen, "audit.witness.peers[%zu]: %s is this gateway itself", i,
               p->gateway_id);
      goto fail;
    }
  }
  if(state_load(w, err, errlen))
    goto fail;
  if(pthread_create(&w->thread, NULL, witness_thread_main, w)) {
    snprintf(err, errlen, "audit.witness: cannot start its thread");
    goto fail;
  }
  w->thread_started = 1;
  return w;
fail:
  gw_witness_free(w);
  return NULL;
}

void gw_witness_free(struct gw_witness *w)
{
  if(!w)
    return;
  gw_witness_submit_stop(w);
  if(w->thread_started) {
    pthread_mutex_lock(&w->mu);
    w->stopping = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
  }
  for(size_t i = 0; i < w->n_peers; i++)
    peer_free(&w->peers[i]);
  gw_free(w->peers);
  gw_free(w->name);
  gw_free(w->state_path);
  EVP_PKEY_free(w->key);
  pthread_cond_destroy(&w->cv);
  pthread_mutex_destroy(&w->mu);
  gw_free(w);
}

char *gw_witness_vkey(const struct gw_witness *w)
{
  return witness_vkey_string(w->name, COSIG_TYPE, w->pub);
}

size_t gw_witness_peer_count(const struct gw_witness *w)
{
  return w ? w->n_peers : 0;
}

void gw_witness_peer_stats(struct gw_witness *w, size_t i, struct gw_witness_peer_stats *out)
{
  struct witness_peer *p = &w->peers[i];
  memset(out, 0, sizeof(*out));
  pthread_mutex_lock(&w->mu);
  out->gateway_id = p->gateway_id;
  out->cosigned = p->n_cosigned;
  out->refused = p->n_refused;
  out->witnessed_size = p->origin ? p->size : 0;
  out->received = p->n_received;
  out->failures = p->n_failures;
  out->cosigned_size = p->cos_size;
  out->current = p->cos_current;
  snprintf(out->last_error, sizeof(out->last_error), "%s", p->last_error);
  pthread_mutex_unlock(&w->mu);
}

/* ---- as a witness: add-checkpoint -------------------------------------------------- */

static char *fmt(size_t *len, const char *f, ...) __attribute__((format(printf, 2, 3)));
static char *fmt(size_t *len, const char *f, ...)
{
  char buf[512];
  va_list ap;
  int n;
  va_start(ap, f);
  n = vsnprintf(buf, sizeof(buf), f, ap);
  va_end(ap);
  if(n < 0)
    n = 0;
  if((size_t)n >= sizeof(buf))
    n = (int)sizeof(buf) - 1;
  *len = (size_t)n;
  return gw_strndup(buf, (size_t)n);
}

/* A refusal that shows the log was rewritten: an error event and a count. */
static void refuse(struct gw_witness *w, struct witness_peer *p, const struct gw_checkpoint *cp,
                   const char *why)
{
  json_t *f = json_object();
  p->n_refused++;
  gw_metric_inc_labels(m_refusals, GW_LABELS(p->gateway_id));
  json_object_set_new(f, "peer", json_string(p->gateway_id));
  json_object_set_new(f, "origin", json_string(cp->origin));
  json_object_set_new(f, "size", json_integer((json_int_t)cp->size));
  json_object_set_new(f, "cosigned_origin", json_string(p->origin ? p->origin : ""));
  json_object_set_new(f, "cosigned_size", json_integer((json_int_t)p->size));
  json_object_set_new(f, "reason", json_string(why));
  gw_log_fields(GW_LOG_ERROR, "witness_refused", f);
  (void)w;
}

int gw_witness_add_checkpoint(struct gw_witness *w, const char *req, size_t len,
                              const char **ctype, char **body, size_t *blen)
{
  struct gw_merkle_proof proof;
  struct gw_checkpoint cp;
  struct gw_checkpoint_verifier *v = NULL;
  struct witness_peer *p = NULL;
  const char *pos = req, *end = req + len, *nl;
  unsigned long long old;
  char *vkey, *line, digits[24];
  size_t text_len = 0;
  int status;

  *ctype = "text/plain; charset=utf-8";
  proof.len = 0;
  if(len > GW_WITNESS_REQUEST_MAX) {
    *body = fmt(blen, "request over %d bytes\n", GW_WITNESS_REQUEST_MAX);
    return 413;
  }
  nl = memchr(pos, '\n', len);
  if(!nl || nl - pos < 5 || memcmp(pos, "old ", 4) || (size_t)(nl - pos - 4) > 19) {
    *body = fmt(blen, "the body must start with \"old <size>\"\n");
    return 400;
  }
  memcpy(digits, pos + 4, (size_t)(nl - pos - 4));
  digits[nl - pos - 4] = '\0';
  if(strspn(digits, "0123456789") != strlen(digits) || (digits[0] == '0' && digits[1]) ||
     sscanf(digits, "%llu", &old) != 1) {
    *body = fmt(blen, "\"old\" must be a decimal size\n");
    return 400;
  }
  pos = nl + 1;
  for(;;) {
    size_t l, got = 0;
    nl = memchr(pos, '\n', (size_t)(end - pos));
    if(!nl) {
      *body = fmt(blen, "no empty line before the checkpoint\n");
      return 400;
    }
    l = (size_t)(nl - pos);
    if(!l) {
      pos = nl + 1;
      break;
    }
    if(proof.len == GW_MERKLE_MAX_PROOF ||
       gw_b64_decode(GW_B64_STD, pos, l, proof.hash[proof.len], 32, &got) != GW_B64_OK ||
       got != 32) {
      *body = fmt(blen, "a proof line is not the base64 of a 32-byte hash\n");
      return 400;
    }
    proof.len++;
    pos = nl + 1;
  }
  /* Which peer: by the origin's prefix, read before any signature check
   * only to pick the key; nothing is trusted until it verifies. */
  if(gw_checkpoint_parse_body(pos, (size_t)(end - pos), &cp) != GW_CHECKPOINT_OK) {
    *body = fmt(blen, "not a checkpoint\n");
    return 400;
  }
  for(size_t i = 0; i < w->n_peers; i++)
    if(!strncmp(cp.origin, w->peers[i].prefix, strlen(w->peers[i].prefix)))
      p = &w->peers[i];
  if(!p) {
    *body = fmt(blen, "unknown log %s\n", cp.origin);
    return 404;
  }
  vkey = witness_vkey_string(cp.origin, CKPT_TYPE, p->log_pub);
  if(gw_checkpoint_verifier_new(vkey, &v) != GW_CHECKPOINT_OK ||
     gw_checkpoint_verify(v, pos, (size_t)(end - pos), cp.origin, &cp) != GW_CHECKPOINT_OK) {
    gw_checkpoint_verifier_free(v);
    gw_free(vkey);
    *body = fmt(blen, "the checkpoint is not signed by the key configured for %s\n",
                p->gateway_id);
    return 403;
  }
  gw_checkpoint_verifier_free(v);
  gw_free(vkey);
  for(const char *q = pos; q + 1 < end; q++)
    if(q[0] == '\n' && q[1] == '\n')
      text_len = (size_t)(q + 1 - pos);          /* the last blank line */
  if(old > cp.size) {
    *body = fmt(blen, "\"old\" is past the checkpoint's size\n");
    return 400;
  }

  pthread_mutex_lock(&w->mu);
  if(p->origin && strcmp(p->origin, cp.origin)) {
    refuse(w, p, &cp, "another log under this peer's key: the log was replaced");
    *body = fmt(blen, "this witness cosigned another log of this peer (%s)\n", p->origin);
    status = 409;
    goto out;
  }
  if((p->origin ? p->size : 0) != old) {
    if(p->origin && cp.size < p->size)
      refuse(w, p, &cp, "a smaller tree than the one cosigned: the log was rolled back");
    *ctype = "text/x.tlog.size";
    snprintf(digits, sizeof(digits), "%llu", (unsigned long long)(p->origin ? p->size : 0));
    *body = fmt(blen, "%s\n", digits);
    status = 409;
    goto out;
  }
  if(p->origin) {
    enum gw_merkle_result mr = gw_merkle_verify_consistency(p->size, cp.size, p->root, cp.root,
                                                            &proof);
    if(mr != GW_MERKLE_OK) {
      refuse(w, p, &cp, cp.size == p->size ? "same size, another root: the log was rewritten"
                                           : "the consistency proof fails: the log was rewritten");
      *body = fmt(blen, "the checkpoint does not extend the one this witness cosigned: %s\n",
                  gw_merkle_strerror(mr));
      status = 422;
      goto out;
    }
  }
  else if(proof.len) {
    *body = fmt(blen, "a proof from size 0 must be empty\n");
    status = 422;
    goto out;
  }
  if(!p->origin || p->size != cp.size) {
    char *was = p->origin;
    uint64_t was_size = p->size;
    uint8_t was_root[32];
    memcpy(was_root, p->root, 32);
    p->origin = gw_strdup(cp.origin);
    p->size = cp.size;
    memcpy(p->root, cp.root, 32);
    if(state_save(w)) {
      gw_free(p->origin);
      p->origin = was;
      p->size = was_size;
      memcpy(p->root, was_root, 32);
      gw_log(GW_LOG_ERROR, "witness_state", "cannot write %s: %s", w->state_path,
             strerror(errno));
      *body = fmt(blen, "the witness cannot save its state\n");
      status = 500;
      goto out;
    }
    gw_free(was);
  }
  line = witness_cosign(w->key, w->name, w->id, pos, text_len, (uint64_t)time(NULL));
  if(!line) {
    *body = fmt(blen, "cannot sign\n");
    status = 500;
    goto out;
  }
  p->n_cosigned++;
  gw_metric_inc_labels(m_cosigned, GW_LABELS(p->gateway_id));
  *ctype = "text/x.tlog.signature";
  *body = fmt(blen, "%s\n", line);
  gw_free(line);
  status = 200;
out:
  pthread_mutex_unlock(&w->mu);
  return status;
}

/* ---- the thread -------------------------------------------------------------------- */

struct witness_job {
  struct witness_job *next;
  struct gw_witness *w;
  char *req;
  size_t len;
  struct event_base *base;
  gw_witness_done_fn *done;
  void *arg;
  int status;
  const char *ctype;
  char *body;
  size_t blen;
};

static void job_done(evutil_socket_t fd, short what, void *arg)
{
  struct witness_job *j = arg;
  (void)fd; (void)what;
  j->done(j->status, j->ctype, j->body, j->blen, j->arg);
  gw_free(j->req);
  gw_free(j->body);
  gw_free(j);
}

void *witness_thread_main(void *arg)
{
  struct gw_witness *w = arg;
  pthread_mutex_lock(&w->mu);
  for(;;) {
    struct witness_job *j;
    while(!w->jobs && !w->stopping)
      pthread_cond_wait(&w->cv, &w->mu);
    j = w->jobs;
    if(!j)
      break;                      /* stopping, and nothing left */
    w->jobs = j->next;
    pthread_mutex_unlock(&w->mu);
    j->status = gw_witness_add_checkpoint(w, j->req, j->len, &j->ctype, &j->body, &j->blen);
    /* Answered on the requester's loop; a base that cannot take it any
     * more (stopping) loses the answer, never the state. */
    if(event_base_once(j->base, -1, EV_TIMEOUT, job_done, j, NULL)) {
      gw_free(j->req);
      gw_free(j->body);
      gw_free(j);
    }
    pthread_mutex_lock(&w->mu);
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

int gw_witness_add_async(struct gw_witness *w, const char *body, size_t len,
                         struct event_base *base, gw_witness_done_fn *done, void *arg)
{
  struct witness_job *j, **tail;
  size_t queued = 0;

  if(!w || !done || len > GW_WITNESS_REQUEST_MAX)
    return -1;
  pthread_mutex_lock(&w->mu);
  for(tail = &w->jobs; *tail; tail = &(*tail)->next)
    queued++;
  if(w->stopping || queued >= 64) {   /* peers send one at a time: 64 is abuse */
    pthread_mutex_unlock(&w->mu);
    return -1;
  }
  j = gw_calloc(1, sizeof(*j));
  j->w = w;
  j->req = gw_malloc(len + 1);
  memcpy(j->req, body, len);
  j->req[len] = '\0';
  j->len = len;
  j->base = base;
  j->done = done;
  j->arg = arg;
  *tail = j;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
  return 0;
}

/* ---- as a log: the cosignatures we hold ----------------------------------------------- */

int gw_witness_accept_cosignature(struct gw_witness *w, size_t i, const char *text,
                                  size_t text_len, const char *line, size_t line_len,
                                  char *why, size_t whylen)
{
  struct witness_peer *p = &w->peers[i];
  struct gw_checkpoint cp;
  uint64_t t = 0;
  int r = witness_verify_cosig(p->wpub, p->wname, p->wid, text, text_len, line, line_len, &t);

  if(r != 1) {
    snprintf(why, whylen, r ? "its cosignature does not verify with its witness key"
                            : "its answer is not a cosignature by its witness key");
    return -1;
  }
  if(gw_checkpoint_parse_body(text, text_len, &cp) != GW_CHECKPOINT_OK) {
    snprintf(why, whylen, "not a checkpoint");
    return -1;
  }
  pthread_mutex_lock(&w->mu);
  gw_free(p->cos_text);
  gw_free(p->cos_line);
  p->cos_text = gw_strndup(text, text_len);
  p->cos_text_len = text_len;
  p->cos_line = gw_strndup(line, line_len);
  p->cos_size = cp.size;
  p->cos_current = 1;
  p->n_received++;
  p->last_error[0] = '\0';
  pthread_mutex_unlock(&w->mu);
  gw_metric_inc_labels(m_received, GW_LABELS(p->gateway_id));
  return 0;
}

void gw_witness_cosigned_note(struct gw_witness *w, const char *note, size_t len, char **out,
                              size_t *out_len)
{
  size_t text_len = 0, cap = len + 1, n = len;
  char *s;

  for(size_t i = 1; i < len; i++)
    if(note[i] == '\n' && note[i - 1] == '\n')
      text_len = i;
  pthread_mutex_lock(&w->mu);
  for(size_t i = 0; i < w->n_peers; i++)
    if(w->peers[i].cos_line)
      cap += strlen(w->peers[i].cos_line) + 1;
  s = gw_malloc(cap);
  memcpy(s, note, len);
  for(size_t i = 0; i < w->n_peers; i++) {
    struct witness_peer *p = &w->peers[i];
    if(!p->cos_line || !text_len || p->cos_text_len != text_len ||
       memcmp(p->cos_text, note, text_len))
      continue;
    n += (size_t)sprintf(s + n, "%s\n", p->cos_line);
  }
  pthread_mutex_unlock(&w->mu);
  s[n] = '\0';
  *out = s;
  *out_len = n;
}

void witness_note_failure(struct gw_witness *w, size_t i, const char *why)
{
  struct witness_peer *p = &w->peers[i];
  pthread_mutex_lock(&w->mu);
  p->n_failures++;
  snprintf(p->last_error, sizeof(p->last_error), "%s", why);
  pthread_mutex_unlock(&w->mu);
  gw_metric_inc_labels(m_failures, GW_LABELS(p->gateway_id));
}

void witness_mark_stale(struct gw_witness *w, size_t i)
{
  pthread_mutex_lock(&w->mu);
  w->peers[i].cos_current = 0;
  pthread_mutex_unlock(&w->mu);
}
