/*
 * cluster.c - the shared state's protocol on Redis: sealed values under
 * HMAC'd names, the lease with a fencing token, the rate bucket.
 *
 * The one idea: every decision that two instances could race on is one Lua
 * script, so Redis runs it atomically and it costs one round trip:
 *
 *   claim    value? -> return it; lease free? -> INCR fence, SET lease
 *            token PX; else "busy"
 *   publish  fence still == my token? -> SET value PX ttl, DEL my lease;
 *            else refuse (a newer instance took over: my write is late)
 *   release  lease == my token? -> DEL it
 *   rate     refill the bucket from Redis's own clock, take one or say
 *            how long until one is due
 *
 * The fence counter, not the lease, decides whether a write is late: a
 * lease may lapse while its holder is still fetching, and the write is
 * still the newest unless someone else took a token since.
 */
#include "gw/cluster.h"

#include <stdio.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "gw/alloc.h"
#include "gw/attest.h"
#include "gw/b64.h"
#include "gw/config.h"
#include "hmac.h"
#include "gw/log.h"

#define CLUSTER_KEY_MAX 160
#define SEAL_VERSION 1
#define SEAL_NONCE 12
#define SEAL_TAG 16
#define SEAL_MAX_VALUE (4u * 1024 * 1024)   /* a value from Redis bigger than this is refused */
#define FENCE_TTL_MS "86400000"

static const char claim_lua[] =
  "if ARGV[2] == '0' then\n"
  "  local v = redis.call('GET', KEYS[1])\n"
  "  if v then return {1, v} end\n"
  "end\n"
  "if redis.call('EXISTS', KEYS[2]) == 1 then return {3} end\n"
  "local t = redis.call('INCR', KEYS[3])\n"
  "redis.call('PEXPIRE', KEYS[3], " FENCE_TTL_MS ")\n"
  "redis.call('SET', KEYS[2], t, 'PX', ARGV[1])\n"
  "return {2, t}\n";

static const char publish_lua[] =
  "if redis.call('GET', KEYS[3]) ~= ARGV[1] then return 0 end\n"
  "redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])\n"
  "if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end\n"
  "return 1\n";

static const char release_lua[] =
  "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end\n"
  "return 0\n";

static const char rate_lua[] =
  "local t = redis.call('TIME')\n"
  "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
  "local rate = tonumber(ARGV[1])\n"
  "local burst = tonumber(ARGV[2])\n"
  "local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')\n"
  "local tokens = tonumber(b[1]) or burst\n"
  "local ts = tonumber(b[2]) or now\n"
  "if now > ts then tokens = math.min(burst, tokens + (now - ts) * rate / 1000) end\n"
  "local wait = 0\n"
  "if tokens >= 1 then tokens = tokens - 1\n"
  "else wait = math.ceil((1 - tokens) * 1000 / rate) end\n"
  "redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now)\n"
  "redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)\n"
  "return wait\n";

static const char *const fallback_names[GW_CF_COUNT] = {
  "unavailable", "timeout", "disconnected", "error", "bad_value", "wait_deadline"
};

struct gw_cluster {
  const struct gw_cluster_config *cfg;
  struct gw_redis_cfg rcfg;
  struct gw_redis_health health;
  unsigned char seal_key[32];
  struct gw_hmac_key *names;
  atomic_uint_fast64_t lookups, hits, leases, busy, published, refused, rate_checks;
  atomic_uint_fast64_t fallbacks[GW_CF_COUNT];
};

struct gw_cluster_op {
  struct gw_cluster *c;
  struct gw_redis_cmd *cmd;
  char cache_key[256];
  gw_claim_cb *claim_cb;
  gw_rate_cb *rate_cb;
  void *arg;
};

struct gw_cluster *gw_cluster_new(const struct gw_cluster_config *cfg, char *err, size_t errlen)
{
  struct gw_cluster *c = gw_calloc(1, sizeof(*c));
  unsigned char *secret = NULL, k[32];
  size_t slen = 0;
  char why[256];

  c->cfg = cfg;
  c->rcfg.host = cfg->host;
  c->rcfg.port = cfg->port;
  c->rcfg.user = cfg->user;
  c->rcfg.password = cfg->password;
  c->rcfg.connect_timeout_ms = cfg->connect_timeout_ms;
  c->rcfg.command_timeout_ms = cfg->command_timeout_ms;
  c->rcfg.retry_ms = cfg->retry_ms;
  if(gw_secret_load_hex(cfg->seal_key, &secret, &slen, why, sizeof(why))) {
    snprintf(err, errlen, "%s", why);
    goto fail;
  }
  if(slen != 32) {
    snprintf(err, errlen, "%s: must hold 32 bytes as 64 hex digits (holds %zu bytes)",
             cfg->seal_key, slen);
    goto fail;
  }
  /* Two keys from one secret, each for one purpose. */
  if(!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, secret, slen, (const unsigned char *)"gw redis values v1", 18,
                c->seal_key, sizeof(c->seal_key), NULL) ||
     !EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, secret, slen, (const unsigned char *)"gw redis names v1", 17,
                k, sizeof(k), NULL)) {
    snprintf(err, errlen, "%s: cannot derive the keys (OpenSSL)", cfg->seal_key);
    goto fail;
  }
  c->names = gw_hmac_key_new(k, sizeof(k));
  OPENSSL_cleanse(k, sizeof(k));
  if(!c->names) {
    snprintf(err, errlen, "cannot key HMAC-SHA256");
    goto fail;
  }
  OPENSSL_cleanse(secret, slen);
  gw_free(secret);
  return c;

fail:
  if(secret) {
    OPENSSL_cleanse(secret, slen);
    gw_free(secret);
  }
  gw_cluster_free(c);
  return NULL;
}

void gw_cluster_free(struct gw_cluster *c)
{
  if(!c)
    return;
  OPENSSL_cleanse(c->seal_key, sizeof(c->seal_key));
  gw_hmac_key_free(c->names);
  gw_free(c);
}

const struct gw_redis_cfg *gw_cluster_redis_cfg(const struct gw_cluster *c) { return &c->rcfg; }
struct gw_redis_health *gw_cluster_health(struct gw_cluster *c) { return &c->health; }
int gw_cluster_instances(const struct gw_cluster *c) { return c->cfg->instances; }
int gw_cluster_poll_ms(const struct gw_cluster *c) { return c->cfg->wait_poll_ms; }

void gw_cluster_count_fallback(struct gw_cluster *c, enum gw_cluster_fallback why)
{
  if(why < GW_CF_COUNT)
    atomic_fetch_add(&c->fallbacks[why], 1);
}

const char *gw_cluster_fallback_name(enum gw_cluster_fallback why)
{
  return why < GW_CF_COUNT ? fallback_names[why] : "unknown";
}

void gw_cluster_get_stats(struct gw_cluster *c, struct gw_cluster_stats *out)
{
  memset(out, 0, sizeof(*out));
  out->lookups = atomic_load(&c->lookups);
  out->hits = atomic_load(&c->hits);
  out->leases = atomic_load(&c->leases);
  out->busy = atomic_load(&c->busy);
  out->published = atomic_load(&c->published);
  out->refused = atomic_load(&c->refused);
  out->rate_checks = atomic_load(&c->rate_checks);
  for(int i = 0; i < GW_CF_COUNT; i++)
    out->fallbacks[i] = atomic_load(&c->fallbacks[i]);
}

/* ---- names and seals ---------------------------------------------------------- */

int gw_cluster_key(struct gw_cluster *c, char kind, const char *cache_key, char *out,
                   size_t outlen)
{
  unsigned char mac[32];
  size_t plen = strlen(c->cfg->key_prefix), n = 0;
  if(plen + 2 + 44 >= outlen || gw_hmac_sha256(c->names, cache_key, strlen(cache_key), mac))
    return -1;
  memcpy(out, c->cfg->key_prefix, plen);
  out[plen] = kind;
  out[plen + 1] = ':';
  if(gw_b64_encode(GW_B64_URL, mac, sizeof(mac), out + plen + 2, outlen - plen - 2, &n) !=
     GW_B64_OK)
    return -1;
  out[plen + 2 + n] = '\0';
  return 0;
}

unsigned char *gw_cluster_seal(struct gw_cluster *c, const char *cache_key,
                               const unsigned char *plain, size_t len, size_t *outlen)
{
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  unsigned char *out = gw_malloc(1 + SEAL_NONCE + len + SEAL_TAG);
  int n = 0, fin = 0;
  if(!ctx || RAND_bytes(out + 1, SEAL_NONCE) != 1 ||
     !EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, c->seal_key, out + 1) ||
     !EVP_EncryptUpdate(ctx, NULL, &n, (const unsigned char *)cache_key, (int)strlen(cache_key)) ||
     !EVP_EncryptUpdate(ctx, out + 1 + SEAL_NONCE, &n, plain, (int)len) ||
     !EVP_EncryptFinal_ex(ctx, out + 1 + SEAL_NONCE + n, &fin) ||
     !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SEAL_TAG, out + 1 + SEAL_NONCE + len)) {
    EVP_CIPHER_CTX_free(ctx);
    gw_free(out);
    return NULL;
  }
  EVP_CIPHER_CTX_free(ctx);
  out[0] = SEAL_VERSION;
  *outlen = 1 + SEAL_NONCE + len + SEAL_TAG;
  return out;
}

unsigned char *gw_cluster_open(struct gw_cluster *c, const char *cache_key,
                               const unsigned char *sealed, size_t len, size_t *outlen)
{
  EVP_CIPHER_CTX *ctx;
  unsigned char *out, tag[SEAL_TAG];
  size_t clen;
  int n = 0, fin = 0;
  if(len < 1 + SEAL_NONCE + SEAL_TAG || len > SEAL_MAX_VALUE || sealed[0] != SEAL_VERSION)
    return NULL;
  clen = len - 1 - SEAL_NONCE - SEAL_TAG;
  memcpy(tag, sealed + len - SEAL_TAG, SEAL_TAG);
  ctx = EVP_CIPHER_CTX_new();
  out = gw_malloc(clen + 1);
  if(!ctx || !EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, c->seal_key, sealed + 1) ||
     !EVP_DecryptUpdate(ctx, NULL, &n, (const unsigned char *)cache_key, (int)strlen(cache_key)) ||
     !EVP_DecryptUpdate(ctx, out, &n, sealed + 1 + SEAL_NONCE, (int)clen) ||
     !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SEAL_TAG, tag) ||
     EVP_DecryptFinal_ex(ctx, out + n, &fin) <= 0) {
    EVP_CIPHER_CTX_free(ctx);
    OPENSSL_cleanse(out, clen + 1);
    gw_free(out);
    return NULL;
  }
  EVP_CIPHER_CTX_free(ctx);
  out[clen] = '\0';
  *outlen = clen;
  return out;
}

/* ---- operations ------------------------------------------------------------------ */

static enum gw_cluster_fallback why_failed(const char *why)
{
  return why && !strcmp(why, "timeout") ? GW_CF_TIMEOUT : GW_CF_DISCONNECTED;
}

static void on_claim(const struct redisReply *reply, const char *why, void *arg)
{
  struct gw_cluster_op *op = arg;
  struct gw_cluster *c = op->c;
  struct gw_claim_result res = { .status = GW_CLAIM_FAILED };
  unsigned char *plain = NULL;

  op->cmd = NULL;
  if(!reply)
    res.why = why_failed(why);
  else if(reply->type != REDIS_REPLY_ARRAY || reply->elements < 1 ||
          reply->element[0]->type != REDIS_REPLY_INTEGER) {
    res.why = GW_CF_ERROR;
    if(reply->type == REDIS_REPLY_ERROR)
      gw_log(GW_LOG_WARN, "redis_error", "claim: %.200s", reply->str);
  }
  else if(reply->element[0]->integer == 1 && reply->elements == 2 &&
          reply->element[1]->type == REDIS_REPLY_STRING) {
    size_t plen = 0;
    plain = gw_cluster_open(c, op->cache_key, (const unsigned char *)reply->element[1]->str,
                            reply->element[1]->len, &plen);
    if(plain) {
      res.status = GW_CLAIM_VALUE;
      res.plain = plain;
      res.plain_len = plen;
      atomic_fetch_add(&c->hits, 1);
    }
    else {
      res.why = GW_CF_BAD_VALUE;
      gw_log(GW_LOG_WARN, "redis_bad_value", "a shared value does not open under our key");
    }
  }
  else if(reply->element[0]->integer == 2 && reply->elements == 2 &&
          reply->element[1]->type == REDIS_REPLY_INTEGER) {
    res.status = GW_CLAIM_LEASE;
    res.token = (uint64_t)reply->element[1]->integer;
    atomic_fetch_add(&c->leases, 1);
  }
  else if(reply->element[0]->integer == 3) {
    res.status = GW_CLAIM_BUSY;
    atomic_fetch_add(&c->busy, 1);
  }
  else
    res.why = GW_CF_ERROR;
  op->claim_cb(&res, op->arg);
  if(plain) {
    OPENSSL_cleanse(plain, res.plain_len);
    gw_free(plain);
  }
  gw_free(op);
}

struct gw_cluster_op *gw_cluster_claim(struct gw_cluster *c, struct gw_redis *r,
                                       const char *cache_key, int skip_value, int64_t lease_ms,
                                       gw_claim_cb *cb, void *arg)
{
  char kv[CLUSTER_KEY_MAX], kl[CLUSTER_KEY_MAX], kf[CLUSTER_KEY_MAX], px[24];
  const char *argv[8];
  size_t lens[8];
  struct gw_cluster_op *op;

  if(!gw_redis_usable(r) || strlen(cache_key) >= sizeof(op->cache_key) ||
     gw_cluster_key(c, 'v', cache_key, kv, sizeof(kv)) ||
     gw_cluster_key(c, 'l', cache_key, kl, sizeof(kl)) ||
     gw_cluster_key(c, 'f', cache_key, kf, sizeof(kf)))
    return NULL;
  snprintf(px, sizeof(px), "%lld", (long long)(lease_ms > 0 ? lease_ms : 1));
  op = gw_calloc(1, sizeof(*op));
  op->c = c;
  snprintf(op->cache_key, sizeof(op->cache_key), "%s", cache_key);
  op->claim_cb = cb;
  op->arg = arg;
  argv[0] = "EVAL"; argv[1] = claim_lua; argv[2] = "3";
  argv[3] = kv; argv[4] = kl; argv[5] = kf;
  argv[6] = px; argv[7] = skip_value ? "1" : "0";
  for(int i = 0; i < 8; i++)
    lens[i] = strlen(argv[i]);
  atomic_fetch_add(&c->lookups, 1);
  op->cmd = gw_redis_command(r, 8, argv, lens, on_claim, op);
  if(!op->cmd) {
    gw_free(op);
    return NULL;
  }
  return op;
}

void gw_cluster_op_cancel(struct gw_cluster_op *op)
{
  if(!op)
    return;
  gw_redis_cancel(op->cmd);
  gw_free(op);
}

static void on_publish(const struct redisReply *reply, const char *why, void *arg)
{
  struct gw_cluster *c = arg;
  if(!reply) {
    gw_cluster_count_fallback(c, why_failed(why));
    return;
  }
  if(reply->type == REDIS_REPLY_INTEGER && reply->integer == 1)
    atomic_fetch_add(&c->published, 1);
  else if(reply->type == REDIS_REPLY_INTEGER) {
    atomic_fetch_add(&c->refused, 1);
    gw_log(GW_LOG_INFO, "redis_late_write",
           "a shared value was not stored: another instance took the lease after ours");
  }
  else {
    gw_cluster_count_fallback(c, GW_CF_ERROR);
    if(reply->type == REDIS_REPLY_ERROR)
      gw_log(GW_LOG_WARN, "redis_error", "publish: %.200s", reply->str);
  }
}

void gw_cluster_publish(struct gw_cluster *c, struct gw_redis *r, const char *cache_key,
                        uint64_t token, const unsigned char *plain, size_t len, int64_t ttl_ms)
{
  char kv[CLUSTER_KEY_MAX], kl[CLUSTER_KEY_MAX], kf[CLUSTER_KEY_MAX], tok[24], px[24];
  const char *argv[9];
  size_t lens[9], slen = 0;
  unsigned char *sealed;

  if(!gw_redis_usable(r) || ttl_ms <= 0 || gw_cluster_key(c, 'v', cache_key, kv, sizeof(kv)) ||
     gw_cluster_key(c, 'l', cache_key, kl, sizeof(kl)) ||
     gw_cluster_key(c, 'f', cache_key, kf, sizeof(kf)))
    return;
  sealed = gw_cluster_seal(c, cache_key, plain, len, &slen);
  if(!sealed)
    return;
  snprintf(tok, sizeof(tok), "%llu", (unsigned long long)token);
  snprintf(px, sizeof(px), "%lld", (long long)ttl_ms);
  argv[0] = "EVAL"; argv[1] = publish_lua; argv[2] = "3";
  argv[3] = kv; argv[4] = kl; argv[5] = kf;
  argv[6] = tok; argv[7] = (const char *)sealed; argv[8] = px;
  for(int i = 0; i < 9; i++)
    lens[i] = i == 7 ? slen : strlen(argv[i]);
  if(!gw_redis_command(r, 9, argv, lens, on_publish, c))
    gw_cluster_count_fallback(c, GW_CF_UNAVAILABLE);
  gw_free(sealed);
}

static void on_release(const struct redisReply *reply, const char *why, void *arg)
{
  (void)reply; (void)why; (void)arg;   /* a lease not released lapses by itself */
}

void gw_cluster_release(struct gw_cluster *c, struct gw_redis *r, const char *cache_key,
                        uint64_t token)
{
  char kl[CLUSTER_KEY_MAX], tok[24];
  const char *argv[5];
  size_t lens[5];
  if(!gw_redis_usable(r) || gw_cluster_key(c, 'l', cache_key, kl, sizeof(kl)))
    return;
  snprintf(tok, sizeof(tok), "%llu", (unsigned long long)token);
  argv[0] = "EVAL"; argv[1] = release_lua; argv[2] = "1"; argv[3] = kl; argv[4] = tok;
  for(int i = 0; i < 5; i++)
    lens[i] = strlen(argv[i]);
  (void)gw_redis_command(r, 5, argv, lens, on_release, NULL);
}

static void on_rate(const struct redisReply *reply, const char *why, void *arg)
{
  struct gw_cluster_op *op = arg;
  (void)why;
  op->cmd = NULL;
  if(!reply || reply->type != REDIS_REPLY_INTEGER || reply->integer < 0) {
    gw_cluster_count_fallback(op->c, !reply ? why_failed(why) : GW_CF_ERROR);
    op->rate_cb(1, 0, op->arg);
  }
  else
    op->rate_cb(0, (uint64_t)reply->integer, op->arg);
  gw_free(op);
}

struct gw_cluster_op *gw_cluster_rate_take(struct gw_cluster *c, struct gw_redis *r,
                                           const char *name, double rate, double burst,
                                           gw_rate_cb *cb, void *arg)
{
  char kr[CLUSTER_KEY_MAX], srate[32], sburst[32];
  const char *argv[6];
  size_t lens[6];
  struct gw_cluster_op *op;
  if(!gw_redis_usable(r) || rate <= 0 || gw_cluster_key(c, 'r', name, kr, sizeof(kr)))
    return NULL;
  snprintf(srate, sizeof(srate), "%.6f", rate);
  snprintf(sburst, sizeof(sburst), "%.6f", burst < 1 ? 1.0 : burst);
  op = gw_calloc(1, sizeof(*op));
  op->c = c;
  op->rate_cb = cb;
  op->arg = arg;
  argv[0] = "EVAL"; argv[1] = rate_lua; argv[2] = "1"; argv[3] = kr;
  argv[4] = srate; argv[5] = sburst;
  for(int i = 0; i < 6; i++)
    lens[i] = strlen(argv[i]);
  atomic_fetch_add(&c->rate_checks, 1);
  op->cmd = gw_redis_command(r, 6, argv, lens, on_rate, op);
  if(!op->cmd) {
    gw_free(op);
    return NULL;
  }
  return op;
}
