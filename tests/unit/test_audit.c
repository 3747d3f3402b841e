/*
 * test_audit.c - the audit log as its users see it: the bytes on disk
 * (checked by an independent reader here: framing, CRC-32C, leaf hashes, the
 * root), appends from several threads with callbacks on their own bases
 * (dense unique indexes, correct leaf hashes, committed before the
 * callback), group commit that batches, torn tails cut and reported, middle
 * corruption named by record index and offset, every single-byte flip
 * caught, restarts that resume with the same root and proofs without
 * rehashing, the failed state after a write error, a child process killed
 * at a random moment while appending, and two printed measurements (not
 * asserted): open time of a million-record log and durable append
 * throughput with group commit.
 *
 * Environment: GW_AUDIT_BIG (records in the big-log test, default 1000000),
 * GW_AUDIT_BENCH_SECONDS (default 2), GW_AUDIT_BENCH_THREADS (default 4).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <openssl/evp.h>

#include "audit_int.h"
#include "gw/alloc.h"
#include "gw/audit.h"
#include "gw/b64.h"
#include "gw/checkpoint.h"

#define HLEN 32

static char root_dir[] = "/tmp/gw-audit-XXXXXX";
static char key_path[300];
static int dir_seq;

/* ---- helpers -------------------------------------------------------------- */

static int setup(void **state)
{
  char cmd[600];
  (void)state;
  if(!mkdtemp(root_dir))
    return -1;
  snprintf(key_path, sizeof(key_path), "%s/checkpoint.key", root_dir);
  snprintf(cmd, sizeof(cmd), "openssl genpkey -algorithm ed25519 -out %s 2>/dev/null", key_path);
  return system(cmd) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
  char cmd[300];
  (void)state;
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root_dir);
  return system(cmd) == 0 ? 0 : -1;
}

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void new_dir(char *out, size_t cap)
{
  snprintf(out, cap, "%s/log%d", root_dir, dir_seq++);
}

static struct gw_audit_config config(const char *dir, int with_key)
{
  struct gw_audit_config c;
  memset(&c, 0, sizeof(c));
  c.dir = dir;
  c.gateway_id = "gw.test.example";
  c.checkpoint_key = with_key ? key_path : NULL;
  return c;
}

static struct gw_audit_log *open_ok(const char *dir, int with_key,
                                    struct gw_audit_open_report *rep)
{
  struct gw_audit_config c = config(dir, with_key);
  struct gw_audit_open_report local;
  struct gw_audit_log *log = NULL;
  enum gw_audit_result r = gw_audit_open(&c, &log, rep ? rep : &local);
  if(r != GW_AUDIT_OK)
    fprintf(stderr, "open %s: %s: %s\n", dir, gw_audit_strerror(r),
            (rep ? rep : &local)->message);
  assert_int_equal(r, GW_AUDIT_OK);
  return log;
}

static size_t make_record(char *buf, size_t cap, uint64_t run, uint64_t seq, size_t pad)
{
  char padding[512];
  int n;
  if(pad >= sizeof(padding))
    pad = sizeof(padding) - 1;
  memset(padding, 'p', pad);
  padding[pad] = '\0';
  n = snprintf(buf, cap, "{\"kind\":\"%s\",\"run\":%llu,\"seq\":%llu,\"pad\":\"%s\"}",
               seq % 3 ? "fetch" : "query", (unsigned long long)run, (unsigned long long)seq,
               padding);
  assert_true(n > 0 && (size_t)n < cap);
  return (size_t)n;
}

/* SHA-256(0x00 || d), computed here, not by gw/merkle.h. */
static void ref_leaf(const void *d, size_t n, uint8_t out[HLEN])
{
  static const uint8_t zero = 0;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  assert_int_equal(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL), 1);
  EVP_DigestUpdate(ctx, &zero, 1);
  EVP_DigestUpdate(ctx, d, n);
  EVP_DigestFinal_ex(ctx, out, NULL);
  EVP_MD_CTX_free(ctx);
}

static void ref_node(const uint8_t l[HLEN], const uint8_t r[HLEN], uint8_t out[HLEN])
{
  static const uint8_t one = 1;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
  EVP_DigestUpdate(ctx, &one, 1);
  EVP_DigestUpdate(ctx, l, HLEN);
  EVP_DigestUpdate(ctx, r, HLEN);
  EVP_DigestFinal_ex(ctx, out, NULL);
  EVP_MD_CTX_free(ctx);
}

/* Bit-at-a-time CRC-32C: a second implementation for the slicing one. */
static uint32_t ref_crc32c(const uint8_t *p, size_t n)
{
  uint32_t c = 0xffffffffu;
  for(size_t i = 0; i < n; i++) {
    c ^= p[i];
    for(int k = 0; k < 8; k++)
      c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1)));
  }
  return ~c;
}

static uint8_t *slurp(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  uint8_t *buf;
  long n;
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  buf = gw_malloc((size_t)n + 1);
  assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  *len = (size_t)n;
  return buf;
}

static void spit(const char *path, const void *data, size_t len)
{
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, len, f), len);
  assert_int_equal(fclose(f), 0);
}

static void path_of(char *out, size_t cap, const char *dir, const char *name)
{
  snprintf(out, cap, "%s/%s", dir, name);
}

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
  char cmd[1200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof(cmd), fmt, ap);
  va_end(ap);
  assert_int_equal(system(cmd), 0);
}

/* Offsets of every complete frame of a framed file, parsed here. */
static size_t frame_offsets(const uint8_t *f, size_t len, uint64_t *out, size_t cap)
{
  size_t n = 0, off = AUDIT_HDR_LEN;
  while(off + 8 <= len && n < cap) {
    uint32_t l = (uint32_t)f[off] << 24 | (uint32_t)f[off + 1] << 16 |
                 (uint32_t)f[off + 2] << 8 | f[off + 3];
    if(off + 8 + l > len)
      break;
    out[n++] = off;
    off += 8 + l;
  }
  return n;
}

static void vkey_of(struct gw_audit_log *log, char *out, size_t cap)
{
  char *vkey = NULL;
  assert_int_equal(gw_audit_checkpoint_key(log, &vkey), GW_AUDIT_OK);
  snprintf(out, cap, "%s", vkey);
  gw_free(vkey);
}

/* Appends n records (run, seq first..) from this thread through a private
 * event_base, and waits for every callback; all must succeed. */
struct bulk {
  struct event_base *base;
  size_t left, failed;
};

static void bulk_cb(const struct gw_audit_append_result *r, void *arg)
{
  struct bulk *b = arg;
  if(r->status != GW_AUDIT_OK)
    b->failed++;
  if(--b->left == 0)
    event_base_loopbreak(b->base);
}

static void bulk_append(struct gw_audit_log *log, size_t n, uint64_t run, uint64_t first)
{
  struct bulk b = { event_base_new(), n, 0 };
  char rec[256];
  assert_non_null(b.base);
  for(size_t i = 0; i < n; i++) {
    size_t len = make_record(rec, sizeof(rec), run, first + i, 16);
    assert_int_equal(gw_audit_append(log, rec, len, bulk_cb, &b, b.base), GW_AUDIT_OK);
  }
  if(n)
    event_base_loop(b.base, EVLOOP_NO_EXIT_ON_EMPTY);
  assert_int_equal(b.left, 0);
  assert_int_equal(b.failed, 0);
  event_base_free(b.base);
}

/* ---- format ------------------------------------------------------------------ */

static void test_crc32c(void **state)
{
  uint8_t buf[1000];
  (void)state;
  assert_int_equal(audit_crc32c(0, "123456789", 9), 0xe3069283u);
  assert_int_equal(audit_crc32c_sw(0, "123456789", 9), 0xe3069283u);
  for(size_t i = 0; i < sizeof(buf); i++)
    buf[i] = (uint8_t)(i * 31 + 7);
  for(size_t n = 0; n <= sizeof(buf); n += 37) {
    assert_int_equal(audit_crc32c(0, buf, n), ref_crc32c(buf, n));
    assert_int_equal(audit_crc32c_sw(0, buf, n), ref_crc32c(buf, n));
    /* every length and start the 8-byte loop and its tail can meet */
    for(size_t off = 1; off < 9 && off + n <= sizeof(buf); off++)
      assert_int_equal(audit_crc32c(0, buf + off, n), ref_crc32c(buf + off, n));
  }
  /* chaining */
  assert_int_equal(audit_crc32c(audit_crc32c(0, buf, 100), buf + 100, 900),
                   ref_crc32c(buf, 1000));
}

static void test_record_check(void **state)
{
  static const char *const bad[] = {
    "", "{", "[]", "\"kind\"", "{\"kind\":\"other\"}", "{\"kind\":1}", "{}",
    "{\"kind\":\"fetch\",\"kind\":\"query\"}", "{\"kind\":\"fetch\"} x", "{\"kind\":\"fetch\"}{}",
  };
  char why[200], *big;
  (void)state;
  for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    assert_int_equal(gw_audit_record_check(bad[i], strlen(bad[i]), why, sizeof(why)),
                     GW_AUDIT_ERECORD);
  assert_int_equal(gw_audit_record_check("{\"kind\":\"fetch\"}", 16, why, sizeof(why)), GW_AUDIT_OK);
  assert_int_equal(gw_audit_record_check("{\"kind\":\"query\",\"x\":[1]}", 24, NULL, 0), GW_AUDIT_OK);
  /* a config record (an activated generation) must say what it is */
  {
#define SHA "\"sha256\":\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\""
#define CFG(gen, who, acl) "{\"kind\":\"config\",\"generation\":" gen ",\"who\":" who \
    ",\"time\":1,\"acl\":" acl ",\"adapters\":[{\"path\":\"a.json\"," SHA ",\"version\":2}]," \
    "\"predicates\":[],\"catalogue\":{\"facts\":[],\"purposes\":{\"path\":\"p.json\"," SHA "}}}"
    static const char *const cfg_bad[] = {
      CFG("0", "\"start\"", "{\"path\":\"acl.json\"," SHA "}"),
      CFG("1", "\"\"", "{\"path\":\"acl.json\"," SHA "}"),
      CFG("1", "\"start\"", "{\"path\":\"acl.json\",\"sha256\":\"ABC\"}"),
      CFG("1", "\"start\"", "null"),
    };
    const char *ok = CFG("1", "\"start\"", "{\"path\":\"acl.json\"," SHA "}");
    assert_int_equal(gw_audit_record_check(ok, strlen(ok), why, sizeof(why)), GW_AUDIT_OK);
    for(size_t i = 0; i < sizeof(cfg_bad) / sizeof(cfg_bad[0]); i++) {
      assert_int_equal(gw_audit_record_check(cfg_bad[i], strlen(cfg_bad[i]), why, sizeof(why)),
                       GW_AUDIT_ERECORD);
      assert_non_null(strstr(why, "config record: "));
    }
#undef CFG
#undef SHA
  }
  big = gw_malloc(GW_AUDIT_RECORD_MAX + 2);
  memset(big, ' ', GW_AUDIT_RECORD_MAX + 1);
  memcpy(big, "{\"kind\":\"fetch\"}", 16);
  assert_int_equal(gw_audit_record_check(big, GW_AUDIT_RECORD_MAX, NULL, 0), GW_AUDIT_OK);
  assert_int_equal(gw_audit_record_check(big, GW_AUDIT_RECORD_MAX + 1, NULL, 0), GW_AUDIT_ETOOBIG);
  gw_free(big);
}

/* A fresh log on disk, read back by this test's own parser. */
static void test_on_disk_format(void **state)
{
  char dir[300], path[400], vkey[400], *note = NULL, rec[3][256];
  struct gw_audit_open_report rep;
  struct gw_audit_append_result res;
  struct gw_checkpoint_verifier *v = NULL;
  struct gw_checkpoint cp;
  struct gw_audit_log *log;
  uint8_t *f, leaf[3][HLEN], n01[HLEN], root[HLEN], got[HLEN];
  uint64_t offs[8];
  size_t len, rl[3], note_len = 0;
  (void)state;

  new_dir(dir, sizeof(dir));
  log = open_ok(dir, 1, &rep);
  assert_int_equal(rep.created, 1);
  assert_int_equal(rep.size, 0);
  assert_int_equal(rep.checkpoints, 1);  /* the empty tree is signed at creation */
  assert_int_equal(strlen(gw_audit_log_id(log)), 32);
  snprintf(path, sizeof(path), "gw.test.example/audit/%s", gw_audit_log_id(log));
  assert_string_equal(gw_audit_origin(log), path);

  for(int i = 0; i < 3; i++) {
    rl[i] = make_record(rec[i], sizeof(rec[i]), 1, (uint64_t)i, (size_t)i * 10);
    assert_int_equal(gw_audit_append_sync(log, rec[i], rl[i], &res), GW_AUDIT_OK);
    assert_int_equal(res.index, (uint64_t)i);
    ref_leaf(rec[i], rl[i], leaf[i]);
    assert_memory_equal(res.leaf_hash, leaf[i], HLEN);
  }
  assert_int_equal(gw_audit_checkpoint_now(log), GW_AUDIT_OK);
  /* Root of 3 leaves by hand: H(1, H(1, l0, l1), l2). */
  ref_node(leaf[0], leaf[1], n01);
  ref_node(n01, leaf[2], root);
  assert_int_equal(gw_audit_root_at(log, 3, got), GW_AUDIT_OK);
  assert_memory_equal(got, root, HLEN);
  assert_int_equal(gw_audit_root_at(log, 4, got), GW_AUDIT_EBAD_SIZE);

  /* The latest checkpoint verifies with the served key and names the root. */
  vkey_of(log, vkey, sizeof(vkey));
  assert_int_equal(gw_checkpoint_verifier_new(vkey, &v), GW_CHECKPOINT_OK);
  assert_int_equal(gw_audit_latest_checkpoint(log, &note, &note_len), GW_AUDIT_OK);
  assert_int_equal(gw_checkpoint_verify(v, note, note_len, gw_audit_origin(log), &cp),
                   GW_CHECKPOINT_OK);
  assert_true(cp.size == 3);
  assert_memory_equal(cp.root, root, HLEN);
  gw_free(note);
  gw_checkpoint_verifier_free(v);
  gw_audit_close(log);

  /* log-id */
  path_of(path, sizeof(path), dir, "log-id");
  f = slurp(path, &len);
  assert_int_equal(len, 33);
  assert_int_equal(f[32], '\n');
  gw_free(f);
  /* records: header, then length | bytes | CRC-32C(length | bytes) */
  path_of(path, sizeof(path), dir, "records");
  f = slurp(path, &len);
  assert_memory_equal(f, "GWAUDREC\0\0\0\1\0\0\0\0", 16);
  assert_int_equal(frame_offsets(f, len, offs, 8), 3);
  for(int i = 0; i < 3; i++) {
    const uint8_t *p = f + offs[i];
    uint32_t l = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    uint32_t crc = (uint32_t)p[4 + l] << 24 | (uint32_t)p[5 + l] << 16 |
                   (uint32_t)p[6 + l] << 8 | p[7 + l];
    assert_int_equal(l, rl[i]);
    assert_memory_equal(p + 4, rec[i], rl[i]);
    assert_int_equal(crc, ref_crc32c(p, 4 + l));
  }
  assert_int_equal(offs[2] + 8 + rl[2], len);
  gw_free(f);
  /* checkpoints: the same framing around the notes. */
  path_of(path, sizeof(path), dir, "checkpoints");
  f = slurp(path, &len);
  assert_memory_equal(f, "GWAUDCKP\0\0\0\1\0\0\0\0", 16);
  assert_int_equal(frame_offsets(f, len, offs, 8), 2);  /* size 0, size 3; none at close */
  gw_free(f);
}

/* ---- appends from threads ----------------------------------------------------- */

struct appender;

struct one_append {
  struct appender *a;
  size_t seq;
  size_t len;
  char rec[160];
};

struct appender {
  struct gw_audit_log *log;
  struct event_base *base;
  pthread_t self;
  size_t id, n, done, ok, wrong_thread, leaf_bad, not_visible, refused;
  uint64_t *index;  /* index[seq] */
};

static void thread_cb(const struct gw_audit_append_result *r, void *arg)
{
  struct one_append *o = arg;
  struct appender *a = o->a;
  uint8_t leaf[HLEN], *bytes = NULL;
  size_t len = 0;

  if(!pthread_equal(pthread_self(), a->self))
    a->wrong_thread++;
  if(r->status == GW_AUDIT_OK) {
    a->ok++;
    a->index[o->seq] = r->index;
    ref_leaf(o->rec, o->len, leaf);
    if(memcmp(leaf, r->leaf_hash, HLEN))
      a->leaf_bad++;
    /* Committed before the callback: readers already see it. */
    if(gw_audit_get_entry(a->log, r->index, &bytes, &len) != GW_AUDIT_OK || len != o->len ||
       memcmp(bytes, o->rec, len))
      a->not_visible++;
    gw_free(bytes);
  }
  gw_free(o);
  if(++a->done == a->n)
    event_base_loopbreak(a->base);
}

static void *appender_main(void *arg)
{
  struct appender *a = arg;

  a->base = event_base_new();
  a->self = pthread_self();
  for(size_t i = 0; i < a->n; i++) {
    struct one_append *o = gw_calloc(1, sizeof(*o));
    o->a = a;
    o->seq = i;
    o->len = make_record(o->rec, sizeof(o->rec), a->id, i, i % 40);
    if(gw_audit_append(a->log, o->rec, o->len, thread_cb, o, a->base) != GW_AUDIT_OK) {
      a->refused++;
      gw_free(o);
      a->done++;
    }
  }
  if(a->done < a->n)
    event_base_loop(a->base, EVLOOP_NO_EXIT_ON_EMPTY);
  event_base_free(a->base);
  return NULL;
}

static void run_appenders(struct gw_audit_log *log, size_t threads, size_t per_thread,
                          uint64_t *batches_out)
{
  pthread_t th[16];
  struct appender a[16];
  struct gw_audit_metrics m;
  uint64_t before, total = threads * per_thread;
  uint8_t *seen;

  gw_audit_metrics(log, &m);
  before = m.entries;
  for(size_t t = 0; t < threads; t++) {
    memset(&a[t], 0, sizeof(a[t]));
    a[t].log = log;
    a[t].id = 100 + t;
    a[t].n = per_thread;
    a[t].index = gw_calloc(per_thread, sizeof(uint64_t));
    assert_int_equal(pthread_create(&th[t], NULL, appender_main, &a[t]), 0);
  }
  seen = gw_calloc(total, 1);
  for(size_t t = 0; t < threads; t++) {
    pthread_join(th[t], NULL);
    assert_int_equal(a[t].refused, 0);
    assert_int_equal(a[t].ok, per_thread);
    assert_int_equal(a[t].wrong_thread, 0);
    assert_int_equal(a[t].leaf_bad, 0);
    assert_int_equal(a[t].not_visible, 0);
    for(size_t i = 0; i < per_thread; i++) {
      uint64_t idx = a[t].index[i] - before;
      assert_true(idx < total);
      assert_int_equal(seen[idx], 0);  /* unique ... */
      seen[idx] = 1;
      /* one thread's appends keep their order */
      if(i)
        assert_true(a[t].index[i] > a[t].index[i - 1]);
    }
    gw_free(a[t].index);
  }
  for(uint64_t i = 0; i < total; i++)
    assert_int_equal(seen[i], 1);  /* ... and dense */
  gw_free(seen);
  gw_audit_metrics(log, &m);
  assert_int_equal(m.entries, before + total);
  if(batches_out)
    *batches_out = m.batches;
}

static void test_threads_own_bases(void **state)
{
  char dir[300], vkey[400];
  struct gw_audit_verify_report vr;
  struct gw_audit_log *log;
  struct gw_audit_open_report rep;
  (void)state;

  new_dir(dir, sizeof(dir));
  log = open_ok(dir, 1, NULL);
  vkey_of(log, vkey, sizeof(vkey));
  run_appenders(log, 4, 250, NULL);
  assert_int_equal(gw_audit_size(log), 1000);
  assert_int_equal(gw_audit_checkpoint_now(log), GW_AUDIT_OK);
  /* Read back from the directory by the offline verifier while it is open. */
  assert_int_equal(gw_audit_verify_dir(dir, vkey, NULL, NULL, &vr), GW_AUDIT_OK);
  assert_int_equal(vr.records, 1000);
  gw_audit_close(log);
  log = open_ok(dir, 1, &rep);
  assert_int_equal(rep.size, 1000);
  assert_int_equal(rep.replayed, 0);
  gw_audit_close(log);
}

/* The record is durable when its callback runs: a second, read-only look at
 * the directory from inside the callback finds it, and so does a reopen. */
struct durable_ctx {
  struct event_base *base;
  const char *dir;
  const char *vkey;
  uint64_t index, seen_records;
  enum gw_audit_result vr, status;
};

static void durable_cb(const struct gw_audit_append_result *r, void *arg)
{
  struct durable_ctx *c = arg;
  struct gw_audit_verify_report rep;
  c->status = r->status;
  c->index = r->index;
  c->vr = gw_audit_verify_dir(c->dir, c->vkey, NULL, NULL, &rep);
  c->seen_records = rep.records;
  event_base_loopbreak(c->base);
}

static void test_durable_before_callback(void **state)
{
  char dir[300], vkey[400], rec[200];
  struct durable_ctx c;
  struct gw_audit_log *log;
  uint8_t *bytes = NULL;
  size_t len, blen = 0;
  (void)state;

  new_dir(dir, sizeof(dir));
  log = open_ok(dir, 1, NULL);
  vkey_of(log, vkey, sizeof(vkey));
  memset(&c, 0, sizeof(c));
  c.base = event_base_new();
  c.dir = dir;
  c.vkey = vkey;
  for(uint64_t i = 0; i < 5; i++) {
    len = make_record(rec, sizeof(rec), 7, i, 3);
    assert_int_equal(gw_audit_append(log, rec, len, durable_cb, &c, c.base), GW_AUDIT_OK);
    event_base_loop(c.base, EVLOOP_NO_EXIT_ON_EMPTY);
    assert_int_equal(c.status, GW_AUDIT_OK);
    assert_int_equal(c.index, i);
    assert_int_equal(c.vr, GW_AUDIT_OK);
    assert_int_equal(c.seen_records, i + 1);
  }
  event_base_free(c.base);
  gw_audit_close(log);
  log = open_ok(dir, 1, NULL);
  assert_int_equal(gw_audit_size(log), 5);
  assert_int_equal(gw_audit_get_entry(log, 4, &bytes, &blen), GW_AUDIT_OK);
  len = make_record(rec, sizeof(rec), 7, 4, 3);
  assert_int_equal(blen, len);
  assert_memory_equal(bytes, rec, len);
  gw_free(bytes);
  gw_audit_close(log);
}

/* The query index: records naming a query id or a case are found without
 * a scan, on append and after a reopen (rebuilt from the records file). */
/* One key named by many records (a case asked about again and again) is one
 * slot and a chain: every record of it is found, in order, and the keys
 * around it still find exactly their own record after the table has grown
 * and been rehashed several times. */
static void test_query_index_hot_key(void **state)
{
  enum { PAIRS = 20000 };
  struct audit_qindex x = { 0 };
  uint8_t hot[AUDIT_QID_BYTES], id[AUDIT_QID_BYTES];
  uint64_t *out = malloc(PAIRS * sizeof(*out)), one[2];
  (void)state;

  assert_non_null(out);
  assert_int_equal(audit_case_key("SZ-BENCH-C", 10, hot), 0);
  for(uint64_t i = 0; i < PAIRS; i++) {
    audit_qindex_add(&x, hot, 2 * i);
    memset(id, 0, sizeof(id));
    memcpy(id, &i, sizeof(i));
    id[AUDIT_QID_BYTES - 1] = 0x5a;
    audit_qindex_add(&x, id, 2 * i + 1);
  }
  assert_int_equal(audit_qindex_find(&x, hot, out, PAIRS), PAIRS);
  for(uint64_t i = 0; i < PAIRS; i++)
    assert_int_equal(out[i], 2 * i);
  for(uint64_t i = 0; i < PAIRS; i += 997) {
    memset(id, 0, sizeof(id));
    memcpy(id, &i, sizeof(i));
    id[AUDIT_QID_BYTES - 1] = 0x5a;
    assert_int_equal(audit_qindex_find(&x, id, one, 2), 1);
    assert_int_equal(one[0], 2 * i + 1);
  }
  /* fewer slots than the records: the hot key took one */
  assert_true(audit_qindex_bytes(&x) < (size_t)PAIRS * 2 * 64);
  audit_qindex_free(&x);
  free(out);
}

static void test_query_index(void **state)
{
  static const char qa[] = "q_00112233445566778899aabb", qb[] = "q_ffeeddccbbaa998877665544";
  char dir[300], rec[300];
  struct gw_audit_log *log;
  uint64_t idx[8];
  size_t n = 0;
  (void)state;

  new_dir(dir, sizeof(dir));
  log = open_ok(dir, 0, NULL);
  for(int pass = 0; pass < 2; pass++) {
    if(pass == 0) {
      /* 0: fetch of qa, 1: fetch of qb, 2: query qa of case C-1, 3: no id,
       * 4: query qb of case C-1, 5: a query id spelled wrong */
      const char *pre[] = {
        "{\"kind\":\"fetch\",\"query_id\":\"", "{\"kind\":\"fetch\",\"query_id\":\"",
        "{\"case_ref\":\"C-1\",\"kind\":\"query\",\"query_id\":\"", "{\"kind\":\"fetch",
        "{\"case_ref\":\"C-1\",\"kind\":\"query\",\"query_id\":\"",
        "{\"kind\":\"query\",\"query_id\":\"q_0011",
      };
      const char *ids[] = { qa, qb, qa, "", qb, "" };
      for(int i = 0; i < 6; i++) {
        int len = snprintf(rec, sizeof(rec), "%s%s\"}", pre[i], ids[i]);
        assert_int_equal(gw_audit_append_sync(log, rec, (size_t)len, NULL), GW_AUDIT_OK);
      }
    }
    else {
      gw_audit_close(log);
      log = open_ok(dir, 0, NULL);
    }
    assert_int_equal(gw_audit_find_query(log, qa, idx, 8, &n), GW_AUDIT_OK);
    assert_int_equal(n, 2);
    assert_int_equal(idx[0], 0);
    assert_int_equal(idx[1], 2);
    assert_int_equal(gw_audit_find_query(log, qb, idx, 8, &n), GW_AUDIT_OK);
    assert_int_equal(n, 2);
    assert_int_equal(idx[0], 1);
    assert_int_equal(idx[1], 4);
    assert_int_equal(gw_audit_find_case(log, "C-1", idx, 8, &n), GW_AUDIT_OK);
    assert_int_equal(n, 2);
    assert_int_equal(idx[0], 2);
    assert_int_equal(idx[1], 4);
    /* more than max: the count says so */
    assert_int_equal(gw_audit_find_query(log, qa, idx, 1, &n), GW_AUDIT_OK);
    assert_int_equal(n, 2);
    assert_int_equal(gw_audit_find_query(log, "q_000000000000000000000000", idx, 8, &n),
                     GW_AUDIT_OK);
    assert_int_equal(n, 0);
    assert_int_equal(gw_audit_find_case(log, "C-2", idx, 8, &n), GW_AUDIT_OK);
    assert_int_equal(n, 0);
    assert_int_equal(gw_audit_find_query(log, "q_0011", idx, 8, &n), GW_AUDIT_EINVAL);
    assert_int_equal(gw_audit_find_query(log, "q_00112233445566778899AABB", idx, 8, &n),
                     GW_AUDIT_EINVAL);
    assert_int_equal(gw_audit_find_case(log, "C 1", idx, 8, &n), GW_AUDIT_EINVAL);
  }
  /* many: the table grows past its first size and keeps every entry */
  for(unsigned i = 0; i < 3000; i++) {
    int len = snprintf(rec, sizeof(rec), "{\"kind\":\"fetch\",\"query_id\":\"q_%024x\"}", i);
    assert_int_equal(gw_audit_append_sync(log, rec, (size_t)len, NULL), GW_AUDIT_OK);
  }
  gw_audit_close(log);
  log = open_ok(dir, 0, NULL);
  for(unsigned i = 0; i < 3000; i += 7) {
    char q[32];
    snprintf(q, sizeof(q), "q_%024x", i);
    assert_int_equal(gw_audit_find_query(log, q, idx, 8, &n), GW_AUDIT_OK);
    assert_int_equal(n, 1);
    assert_int_equal(idx[0], 6 + i);
  }
  gw_audit_close(log);
}

static void test_group_commit_batches(void **state)
{
  char dir[300];
  struct gw_audit_log *log;
  struct gw_audit_metrics m;
  uint64_t batches = 0;
  (void)state;

  new_dir(dir, sizeof(dir));
  log = open_ok(dir, 0, NULL);
  run_appenders(log, 2, 1000, &batches);
  gw_audit_metrics(log, &m);
  printf("group commit: 2000 appends from 2 threads in %llu batches (largest %llu); "
         "fsync mean %.3f ms, max %.3f ms\n", (unsigned long long)batches,
         (unsigned long long)m.largest_batch, m.fsync_sum_s * 1e3 / (double)m.fsync_count,
         m.fsync_max_s * 1e3);
  assert_true(batches < 2000);
  assert_true(m.largest_batch > 1);
  assert_int_equal(m.fsync_count, m.batches);
  assert_int_equal(m.fsync_bucket[GW_AUDIT_FSYNC_BUCKETS - 1] <= m.fsync_count, 1);
  assert_int_equal(m.appends_failed, 0);
  assert_int_equal(m.failed, 0);
  gw_audit_close(log);
}

/* ---- recovery --------------------------------------------------------------------- */

/* A log of `n` records, closed.  Returns the records file size. */
static size_t make_log(const char *dir, size_t n, int with_key)
{
  struct gw_audit_log *log = open_ok(dir, with_key, NULL);
  char path[400];
  struct stat st;
  bulk_append(log, n, 1, 0);
  gw_audit_close(log);
  path_of(path, sizeof(path), dir, "records");
  assert_int_equal(stat(path, &st), 0);
  return (size_t)st.st_size;
}

static void append_bytes(const char *dir, const void *data, size_t len)
{
  char path[400];
  FILE *f;
  path_of(path, sizeof(path), dir, "records");
  f = fopen(path, "ab");
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, len, f), len);
  fclose(f);
}

static void test_torn_tails(void **state)
{
  char base_dir[300], dir[300], path[400], rec[200];
  uint8_t frame[300], zeros[100] = { 0 };
  struct gw_audit_open_report rep;
  struct gw_audit_verify_report vr;
  struct gw_audit_log *log;
  size_t size, len, flen;
  struct stat st;
  (void)state;

  new_dir(base_dir, sizeof(base_dir));
  size = make_log(base_dir, 10, 0);
  len = make_record(rec, sizeof(rec), 9, 99, 5);
  audit_frame(rec, len, frame);
  flen = len + 8;

  struct { const char *what; const uint8_t *bytes; size_t n; int flip_crc; } tails[] = {
    { "partial length prefix", frame, 2, 0 },
    { "length prefix only", frame, 4, 0 },
    { "partial record", frame, flen - 5, 0 },
    { "whole frame, bad checksum", frame, flen, 1 },
    { "zero-filled tail", zeros, sizeof(zeros), 0 },
  };
  for(size_t t = 0; t < sizeof(tails) / sizeof(tails[0]); t++) {
    uint8_t buf[300];
    new_dir(dir, sizeof(dir));
    sh("cp -a %s %s", base_dir, dir);
    memcpy(buf, tails[t].bytes, tails[t].n);
    if(tails[t].flip_crc)
      buf[tails[t].n - 1] ^= 0x40;
    append_bytes(dir, buf, tails[t].n);
    /* The offline verifier notices it but does not fail. */
    assert_int_equal(gw_audit_verify_dir(dir, NULL, NULL, NULL, &vr), GW_AUDIT_OK);
    assert_int_equal(vr.records, 10);
    log = open_ok(dir, 0, &rep);
    printf("torn tail \"%s\": cut at byte %llu, %llu bytes removed\n", tails[t].what,
           (unsigned long long)rep.truncated_offset, (unsigned long long)rep.truncated_bytes);
    assert_int_equal(rep.truncated_offset, size);
    assert_int_equal(rep.truncated_bytes, tails[t].n);
    assert_int_equal(rep.size, 10);
    path_of(path, sizeof(path), dir, "records");
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal((size_t)st.st_size, size);
    /* The log goes on normally after its tail was cut. */
    bulk_append(log, 3, 2, 0);
    gw_audit_close(log);
    log = open_ok(dir, 0, &rep);
    assert_int_equal(rep.size, 13);
    assert_int_equal(rep.truncated_bytes, 0);
    gw_audit_close(log);
    assert_int_equal(gw_audit_verify_dir(dir, NULL, NULL, NULL, &vr), GW_AUDIT_OK);
    assert_int_equal(vr.records, 13);
  }

  /* A bad frame followed by a partial one: still nothing valid after it. */
  new_dir(dir, sizeof(dir));
  sh("cp -a %s %s", base_dir, dir);
  frame[10] ^= 1;
  append_bytes(dir, frame, flen);
  frame[10] ^= 1;
  append_bytes(dir, frame, 6);
  log = open_ok(dir, 0, &rep);
  assert_int_equal(rep.truncated_bytes, flen + 6);
  gw_audit_close(log);
}

/* Copies derived/state aside and back: reopening with the old one looks like
 * a crash after the records appended since (the resume point is older). */
static void save_state_copy(const char *dir, const char *as)
{
  sh("cp %s/derived/state %s/%s", dir, root_dir, as);
}

static void restore_state_copy(const char *dir, const char *as)
{
  sh("cp %s/%s %s/derived/state", root_dir, as, dir);
}

static void test_middle_corruption(void **state)
{
  char dir[300], path[400];
  struct gw_audit_config c;
  struct gw_audit_open_report rep;
  struct gw_audit_verify_report vr;
  struct gw_audit_log *log;
  uint8_t *f, *bytes = NULL;
  uint64_t offs[64];
  size_t len, blen = 0;
  (void)state;

  new_dir(dir, sizeof(dir));
  make_log(dir, 10, 1);
  save_state_copy(dir, "state-10");
  log = open_ok(dir, 1, NULL);
  bulk_append(log, 10, 2, 0);
  gw_audit_close(log);
  path_of(path, sizeof(path), dir, "records");
  f = slurp(path, &len);
  assert_int_equal(frame_offsets(f, len, offs, 64), 20);

  /* 1. Record 15 (after the resume point at 10) damaged, valid data after. */
  f[offs[15] + 12] ^= 0x20;
  spit(path, f, len);
  restore_state_copy(dir, "state-10");
  c = config(dir, 1);
  log = NULL;
  assert_int_equal(gw_audit_open(&c, &log, &rep), GW_AUDIT_ECORRUPT);
  assert_null(log);
  printf("middle corruption: %s\n", rep.message);
  assert_int_equal(rep.bad_index, 15);
  assert_int_equal(rep.bad_offset, offs[15]);
  assert_non_null(strstr(rep.message, "record 15"));
  assert_int_equal(gw_audit_verify_dir(dir, NULL, NULL, NULL, &vr), GW_AUDIT_ECORRUPT);
  assert_int_equal(vr.problem_subject, GW_AUDIT_VERIFY_RECORD);
  assert_int_equal(vr.problem_number, 15);
  assert_int_equal(vr.problem_offset, offs[15]);
  f[offs[15] + 12] ^= 0x20;

  /* 2. An invalid length in the middle. */
  f[offs[12]] = 0xff;
  spit(path, f, len);
  restore_state_copy(dir, "state-10");
  assert_int_equal(gw_audit_open(&c, &log, &rep), GW_AUDIT_ECORRUPT);
  assert_int_equal(rep.bad_index, 12);
  assert_int_equal(rep.bad_offset, offs[12]);
  assert_non_null(strstr(rep.message, "invalid length"));
  f[offs[12]] = 0;

  /* 3. A damaged record before the resume point: the fast open does not read
   * it, but the reader refuses to serve it, a full scan and the verifier
   * name it. */
  f[offs[3] + 20] ^= 0x01;
  spit(path, f, len);
  log = open_ok(dir, 1, &rep);
  assert_int_equal(rep.resumed_at, 10);
  assert_int_equal(rep.replayed, 10);
  assert_int_equal(gw_audit_get_entry(log, 3, &bytes, &blen), GW_AUDIT_ECORRUPT);
  assert_null(bytes);
  assert_int_equal(gw_audit_get_entry(log, 4, &bytes, &blen), GW_AUDIT_OK);
  gw_free(bytes);
  gw_audit_close(log);
  c.full_scan = 1;
  assert_int_equal(gw_audit_open(&c, &log, &rep), GW_AUDIT_ECORRUPT);
  assert_int_equal(rep.bad_index, 3);
  assert_int_equal(gw_audit_verify_dir(dir, NULL, NULL, NULL, &vr), GW_AUDIT_ECORRUPT);
  assert_int_equal(vr.problem_number, 3);
  f[offs[3] + 20] ^= 0x01;
  spit(path, f, len);
  /* Repaired, the full scan rebuilds derived/ and all is well again. */
  log = open_ok(dir, 1, &rep);
  assert_int_equal(rep.size, 20);
  gw_audit_close(log);
  gw_free(f);
}

struct verify_events {
  size_t problems, notices, ckpt_ok;
};

static void count_events(const struct gw_audit_verify_event *e, void *arg)
{
  struct verify_events *v = arg;
  if(e->what == GW_AUDIT_VERIFY_PROBLEM)
    v->problems++;
  else if(e->what == GW_AUDIT_VERIFY_NOTICE)
    v->notices++;
  else
    v->ckpt_ok++;
}

/* Every single-byte flip in the records file fails the offline verifier
 * naming the record that holds the byte; a full-scan open fails too. */
static void test_every_byte_flip(void **state)
{
  char dir[300], path[400], vkey[400];
  struct gw_audit_verify_report vr;
  struct gw_audit_open_report rep;
  struct gw_audit_config c;
  struct gw_audit_log *log;
  struct verify_events ev;
  uint8_t *f;
  uint64_t offs[16];
  size_t len, nrec;
  (void)state;

  new_dir(dir, sizeof(dir));
  make_log(dir, 6, 1);  /* closing signs a checkpoint of all 6 */
  log = open_ok(dir, 1, NULL);
  vkey_of(log, vkey, sizeof(vkey));
  gw_audit_close(log);
  memset(&ev, 0, sizeof(ev));
  assert_int_equal(gw_audit_verify_dir(dir, vkey, count_events, &ev, &vr), GW_AUDIT_OK);
  assert_int_equal(ev.problems, 0);
  assert_int_equal(vr.checkpoints, 2);  /* size 0 at creation, 6 at close */
  assert_int_equal(ev.ckpt_ok, 2);
  assert_int_equal(vr.signatures_checked, 1);

  path_of(path, sizeof(path), dir, "records");
  f = slurp(path, &len);
  nrec = frame_offsets(f, len, offs, 16);
  assert_int_equal(nrec, 6);
  c = config(dir, 1);
  c.full_scan = 1;
  for(size_t pos = AUDIT_HDR_LEN; pos < len; pos++) {
    size_t owner = 0;
    while(owner + 1 < nrec && offs[owner + 1] <= pos)
      owner++;
    f[pos] ^= 0x10;
    spit(path, f, len);
    assert_int_equal(gw_audit_verify_dir(dir, vkey, NULL, NULL, &vr), GW_AUDIT_ECORRUPT);
    if(vr.problem_subject != GW_AUDIT_VERIFY_RECORD || vr.problem_number != owner)
      fprintf(stderr, "byte %zu of record %zu: %s\n", pos, owner, vr.message);
    assert_int_equal(vr.problem_subject, GW_AUDIT_VERIFY_RECORD);
    assert_int_equal(vr.problem_number, owner);
    if(pos % 5 == 0) {
      log = NULL;
      assert_int_equal(gw_audit_open(&c, &log, &rep), GW_AUDIT_ECORRUPT);
      assert_int_equal(rep.bad_index, owner);
    }
    f[pos] ^= 0x10;
  }
  spit(path, f, len);
  gw_free(f);
  log = open_ok(dir, 1, &rep);
  assert_int_equal(rep.size, 6);
  gw_audit_close(log);
  assert_int_equal(gw_audit_verify_dir(dir, vkey, NULL, NULL, &vr), GW_AUDIT_OK);

  /* A flipped byte in a checkpoint names the checkpoint. */
  path_of(path, sizeof(path), dir, "checkpoints");
  f = slurp(path, &len);
  nrec = frame_offsets(f, len, offs, 16);
  assert_int_equal(nrec, 2);
  f[offs[0] + 8] ^= 0x01;  /* inside the first note's origin line */
  spit(path, f, len);
  assert_int_equal(gw_audit_verify_dir(dir, vkey, NULL, NULL, &vr), GW_AUDIT_ECORRUPT);
  assert_int_equal(vr.problem_subject, GW_AUDIT_VERIFY_CHECKPOINT);
  assert_int_equal(vr.problem_number, 0);
  f[offs[0] + 8] ^= 0x01;
  /* The last one damaged looks like a checkpoint write cut by a crash: the
   * verifier notices it; the gateway, whose resume point names it as
   * written, refuses to open. */
  f[offs[1] + 8] ^= 0x01;
  spit(path, f, len);
  memset(&ev, 0, sizeof(ev));
  assert_int_equal(gw_audit_verify_dir(dir, vkey, count_events, &ev, &vr), GW_AUDIT_OK);
  assert_int_equal(ev.notices, 1);
  c.full_scan = 0;
  assert_int_equal(gw_audit_open(&c, &log, &rep), GW_AUDIT_ECORRUPT);
  assert_int_equal(rep.bad_index, 1);
  printf("damaged last checkpoint: %s\n", rep.message);
  gw_free(f);
}

/* ---- restart --------------------------------------------------------------- */

struct snapshot {
  uint8_t root[HLEN];
  struct gw_merkle_proof incl[5], cons[2];
};

static const uint64_t incl_idx[5] = { 0, 1, 499, 998, 999 };

static void snap(struct gw_audit_log *log, uint64_t size, struct snapshot *s)
{
  uint8_t leaf[HLEN];
  assert_int_equal(gw_audit_root_at(log, size, s->root), GW_AUDIT_OK);
  for(int i = 0; i < 5; i++) {
    assert_int_equal(gw_audit_inclusion_proof(log, incl_idx[i], size, leaf, &s->incl[i]),
                     GW_AUDIT_OK);
    assert_int_equal(gw_merkle_verify_inclusion(leaf, incl_idx[i], size, &s->incl[i], s->root),
                     GW_MERKLE_OK);
  }
  assert_int_equal(gw_audit_consistency_proof(log, 1, size, &s->cons[0]), GW_AUDIT_OK);
  assert_int_equal(gw_audit_consistency_proof(log, 500, size, &s->cons[1]), GW_AUDIT_OK);
}

static void same_snap(const struct snapshot *a, const struct snapshot *b)
{
  assert_memory_equal(a->root, b->root, HLEN);
  for(int i = 0; i < 5; i++) {
    assert_int_equal(a->incl[i].len, b->incl[i].len);
    assert_memory_equal(a->incl[i].hash, b->incl[i].hash, a->incl[i].len * HLEN);
  }
  for(int i = 0; i < 2; i++) {
    assert_int_equal(a->cons[i].len, b->cons[i].len);
    assert_memory_equal(a->cons[i].hash, b->cons[i].hash, a->cons[i].len * HLEN);
  }
}

static void test_restart_same_root_and_proofs(void **state)
{
  char dir[300];
  struct gw_audit_open_report rep;
  struct gw_merkle_proof p;
  struct gw_audit_log *log;
  struct snapshot s1, s2;
  uint8_t root1037[HLEN], r[HLEN];
  (void)state;

  new_dir(dir, sizeof(dir));
  log = open_ok(dir, 1, NULL);
  bulk_append(log, 1000, 1, 0);
  snap(log, 1000, &s1);
  gw_audit_close(log);
  save_state_copy(dir, "state-1000");

  log = open_ok(dir, 1, &rep);
  assert_int_equal(rep.resumed_at, 1000);
  assert_int_equal(rep.replayed, 0);
  assert_int_equal(rep.rebuilt, 0);
  snap(log, 1000, &s2);
  same_snap(&s1, &s2);
  bulk_append(log, 37, 2, 0);
  snap(log, 1000, &s2);  /* past sizes keep their root and proofs */
  same_snap(&s1, &s2);
  assert_int_equal(gw_audit_root_at(log, 1037, root1037), GW_AUDIT_OK);
  assert_int_equal(gw_audit_consistency_proof(log, 1000, 1037, &p), GW_AUDIT_OK);
  assert_int_equal(gw_merkle_verify_consistency(1000, 1037, s1.root, root1037, &p), GW_MERKLE_OK);
  gw_audit_close(log);

  /* As after a crash past the resume point: replays only what is after it. */
  restore_state_copy(dir, "state-1000");
  log = open_ok(dir, 1, &rep);
  assert_int_equal(rep.resumed_at, 1000);
  assert_int_equal(rep.replayed, 37);
  assert_int_equal(gw_audit_root_at(log, 1037, r), GW_AUDIT_OK);
  assert_memory_equal(r, root1037, HLEN);
  snap(log, 1000, &s2);
  same_snap(&s1, &s2);
  gw_audit_close(log);

  /* derived/ lost entirely: rebuilt from the records, same everything. */
  sh("rm -rf %s/derived", dir);
  log = open_ok(dir, 1, &rep);
  assert_int_equal(rep.rebuilt, 1);
  assert_int_equal(rep.replayed, 1037);
  assert_int_equal(gw_audit_root_at(log, 1037, r), GW_AUDIT_OK);
  assert_memory_equal(r, root1037, HLEN);
  snap(log, 1000, &s2);
  same_snap(&s1, &s2);
  gw_audit_close(log);

  /* A damaged state file is not trusted either. */
  sh("printf 'x' | dd of=%s/derived/state bs=1 seek=20 conv=notrunc 2>/dev/null", dir);
  log = open_ok(dir, 1, &rep);
  assert_int_equal(rep.rebuilt, 1);
  assert_int_equal(gw_audit_root_at(log, 1037, r), GW_AUDIT_OK);
  assert_memory_equal(r, root1037, HLEN);
  gw_audit_close(log);

  /* A node file cut short where the frontier does not look (1037 has no
   * level-1 frontier node): caught, rebuilt, same root and proofs. */
  sh("truncate -s 3200 %s/derived/level-01", dir);
  log = open_ok(dir, 1, &rep);
  assert_int_equal(rep.rebuilt, 1);
  assert_int_equal(gw_audit_root_at(log, 1037, r), GW_AUDIT_OK);
  assert_memory_equal(r, root1037, HLEN);
  snap(log, 1000, &s2);
  same_snap(&s1, &s2);
  gw_audit_close(log);

  /* Records lost below the resume point: refused, never silently re-served. */
  sh("truncate -s -10 %s/records", dir);
  {
    struct gw_audit_config c = config(dir, 1);
    log = NULL;
    assert_int_equal(gw_audit_open(&c, &log, &rep), GW_AUDIT_ECORRUPT);
    printf("records lost: %s\n", rep.message);
  }
}

static void test_readers_and_checkpoints(void **state)
{
  char dir[300], *note = NULL, *note2 = NULL, big[GW_AUDIT_RECORD_MAX];
  struct gw_audit_entry *e = NULL;
  struct gw_audit_config c;
  struct gw_audit_open_report rep;
  struct gw_merkle_proof p;
  struct gw_audit_metrics m;
  struct gw_audit_log *log, *other = NULL;
  uint8_t leaf[HLEN];
  size_t n = 0, nl = 0, nl2 = 0;
  (void)state;

  new_dir(dir, sizeof(dir));
  log = open_ok(dir, 1, NULL);
  /* A second process (or open) on the same directory is refused. */
  c = config(dir, 1);
  assert_int_equal(gw_audit_open(&c, &other, &rep), GW_AUDIT_ELOCKED);

  bulk_append(log, 1500, 1, 0);
  assert_int_equal(gw_audit_get_entries(log, 0, 5000, &e, &n), GW_AUDIT_OK);
  assert_int_equal(n, GW_AUDIT_ENTRIES_MAX);
  assert_int_equal(e[999].index, 999);
  gw_audit_entries_free(e, n);
  assert_int_equal(gw_audit_get_entries(log, 1490, 100, &e, &n), GW_AUDIT_OK);
  assert_int_equal(n, 10);
  gw_audit_entries_free(e, n);
  assert_int_equal(gw_audit_get_entries(log, 1500, 1, &e, &n), GW_AUDIT_EBAD_INDEX);
  assert_int_equal(gw_audit_inclusion_proof(log, 3, 1501, leaf, &p), GW_AUDIT_EBAD_SIZE);
  assert_int_equal(gw_audit_inclusion_proof(log, 10, 10, leaf, &p), GW_AUDIT_EBAD_INDEX);
  assert_int_equal(gw_audit_consistency_proof(log, 11, 10, &p), GW_AUDIT_EBAD_SIZE);
  assert_int_equal(gw_audit_consistency_proof(log, 10, 1501, &p), GW_AUDIT_EBAD_SIZE);

  /* The byte cap: 64 KiB records stop a page before 4 MiB. */
  memset(big, ' ', sizeof(big));
  memcpy(big, "{\"kind\":\"fetch\"}", 16);
  for(int i = 0; i < 70; i++)
    assert_int_equal(gw_audit_append_sync(log, big, sizeof(big), NULL), GW_AUDIT_OK);
  assert_int_equal(gw_audit_get_entries(log, 1500, 70, &e, &n), GW_AUDIT_OK);
  assert_int_equal(n, GW_AUDIT_ENTRIES_BYTES_MAX / GW_AUDIT_RECORD_MAX);
  gw_audit_entries_free(e, n);
  /* Refused records never get an index. */
  assert_int_equal(gw_audit_append_sync(log, "{}", 2, NULL), GW_AUDIT_ERECORD);
  assert_int_equal(gw_audit_size(log), 1570);

  /* Checkpoints: one per new size, none when nothing changed. */
  gw_audit_metrics(log, &m);
  assert_int_equal(gw_audit_checkpoint_now(log), GW_AUDIT_OK);
  assert_int_equal(gw_audit_latest_checkpoint(log, &note, &nl), GW_AUDIT_OK);
  assert_int_equal(gw_audit_checkpoint_now(log), GW_AUDIT_OK);
  assert_int_equal(gw_audit_latest_checkpoint(log, &note2, &nl2), GW_AUDIT_OK);
  assert_string_equal(note, note2);
  assert_non_null(strstr(note, "\n1570\n"));
  gw_free(note);
  gw_free(note2);
  {
    struct gw_audit_metrics m2;
    gw_audit_metrics(log, &m2);
    assert_int_equal(m2.checkpoints, m.checkpoints + 1);
  }
  assert_int_equal(gw_audit_checkpoint_async(log), GW_AUDIT_OK);
  assert_int_equal(gw_audit_ready(log, NULL, 0), 1);
  gw_audit_close(log);

  /* Without a key there are no checkpoints, and no verifier key. */
  new_dir(dir, sizeof(dir));
  log = open_ok(dir, 0, NULL);
  assert_int_equal(gw_audit_checkpoint_now(log), GW_AUDIT_ENOKEY);
  assert_int_equal(gw_audit_latest_checkpoint(log, &note, &nl), GW_AUDIT_ENOCHECKPOINT);
  assert_int_equal(gw_audit_checkpoint_key(log, &note), GW_AUDIT_ENOKEY);
  gw_audit_close(log);
  /* Bad configuration. */
  c = config(dir, 0);
  c.gateway_id = "has space";
  assert_int_equal(gw_audit_open(&c, &other, &rep), GW_AUDIT_EINVAL);
  c.gateway_id = "gw";
  c.checkpoint_key = "/nonexistent.key";
  assert_int_equal(gw_audit_open(&c, &other, &rep), GW_AUDIT_EIO);
}

/* ---- failure ------------------------------------------------------------------- */

/* A real write error: RLIMIT_FSIZE makes pwrite fail with EFBIG. */
static void test_write_failure_fails_the_log(void **state)
{
  char dir[300], rec[400], why[300];
  struct gw_audit_append_result res;
  struct gw_audit_open_report rep;
  struct gw_audit_metrics m;
  struct gw_audit_log *log;
  struct rlimit old, lim;
  struct sigaction ign, old_sa;
  struct stat st;
  char path[400];
  enum gw_audit_result r = GW_AUDIT_OK;
  size_t len;
  int i;
  (void)state;

  new_dir(dir, sizeof(dir));
  log = open_ok(dir, 1, NULL);
  bulk_append(log, 5, 1, 0);
  path_of(path, sizeof(path), dir, "records");
  assert_int_equal(stat(path, &st), 0);
  /* The file was written ahead: it is larger than its records. */
  gw_audit_metrics(log, &m);
  assert_true((uint64_t)st.st_size >= ((uint64_t)4 << 20));
  assert_true(m.bytes < (uint64_t)st.st_size);
  memset(&ign, 0, sizeof(ign));
  ign.sa_handler = SIG_IGN;
  assert_int_equal(sigaction(SIGXFSZ, &ign, &old_sa), 0);
  assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
  /* Writes past the records' end + 1000 bytes fail (EFBIG), whether or not
   * the space was written ahead. */
  lim.rlim_cur = (rlim_t)m.bytes + 1000;
  lim.rlim_max = old.rlim_max;
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
  for(i = 0; i < 10 && r == GW_AUDIT_OK; i++) {
    len = make_record(rec, sizeof(rec), 2, (uint64_t)i, 300);
    r = gw_audit_append_sync(log, rec, len, &res);
  }
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
  assert_int_equal(sigaction(SIGXFSZ, &old_sa, NULL), 0);
  assert_int_equal(r, GW_AUDIT_EIO);
  assert_true(i >= 2);  /* the first ones fit */
  assert_int_equal(gw_audit_ready(log, why, sizeof(why)), 0);
  printf("failed state: %s\n", why);
  assert_non_null(strstr(why, "write"));
  assert_int_equal(gw_audit_append_sync(log, rec, len, NULL), GW_AUDIT_EFAILED);
  assert_int_equal(gw_audit_checkpoint_now(log), GW_AUDIT_EFAILED);
  gw_audit_metrics(log, &m);
  assert_int_equal(m.failed, 1);
  assert_int_equal(m.appends_failed, 2);
  assert_int_equal(m.entries, 5 + (uint64_t)i - 1);
  gw_audit_close(log);

  /* After a restart what was acknowledged is there, nothing else. */
  log = open_ok(dir, 1, &rep);
  assert_int_equal(rep.size, 5 + (uint64_t)i - 1);
  assert_int_equal(gw_audit_ready(log, NULL, 0), 1);
  bulk_append(log, 2, 3, 0);
  gw_audit_close(log);
}


/* A full disk mends by itself: the log failed for want of space (EFBIG
 * from RLIMIT_FSIZE here, ENOSPC on a real disk) retries the write; while
 * there is no room it stays failed and says so, once there is it accepts
 * appends again, and what it acknowledged before and after is all there on
 * the next open. */
static void test_full_disk_recovers(void **state)
{
  char dir[300], rec[400], why[400];
  struct gw_audit_config c;
  struct gw_audit_open_report rep;
  struct gw_audit_metrics m;
  struct gw_audit_log *log = NULL;
  struct rlimit old, lim;
  struct sigaction ign, old_sa;
  enum gw_audit_result r = GW_AUDIT_OK;
  struct timespec tick = { 0, 10 * 1000000L };
  uint64_t acked;
  size_t len;
  int i;
  (void)state;

  new_dir(dir, sizeof(dir));
  c = config(dir, 1);
  c.retry_ms = 20;
  assert_int_equal(gw_audit_open(&c, &log, &rep), GW_AUDIT_OK);
  bulk_append(log, 5, 1, 0);
  gw_audit_metrics(log, &m);
  memset(&ign, 0, sizeof(ign));
  ign.sa_handler = SIG_IGN;
  assert_int_equal(sigaction(SIGXFSZ, &ign, &old_sa), 0);
  assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
  lim.rlim_cur = (rlim_t)m.bytes + 1000;
  lim.rlim_max = old.rlim_max;
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
  for(i = 0; i < 10 && r == GW_AUDIT_OK; i++) {
    len = make_record(rec, sizeof(rec), 2, (uint64_t)i, 300);
    r = gw_audit_append_sync(log, rec, len, NULL);
  }
  assert_int_equal(r, GW_AUDIT_EIO);
  assert_int_equal(gw_audit_ready(log, why, sizeof(why)), 0);
  assert_non_null(strstr(why, "retrying every 1 s, recovers by itself"));
  /* still no room: retries fail, the log stays failed */
  for(i = 0; i < 500; i++) {
    gw_audit_metrics(log, &m);
    if(m.retries >= 3)
      break;
    nanosleep(&tick, NULL);
  }
  assert_true(m.retries >= 3);
  assert_int_equal(m.failed, 1);
  assert_int_equal(m.failed_retrying, 1);
  assert_int_equal(gw_audit_ready(log, NULL, 0), 0);
  assert_int_equal(gw_audit_append_sync(log, rec, len, NULL), GW_AUDIT_EFAILED);

  /* room again */
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
  assert_int_equal(sigaction(SIGXFSZ, &old_sa, NULL), 0);
  for(i = 0; i < 500 && !gw_audit_ready(log, NULL, 0); i++)
    nanosleep(&tick, NULL);
  assert_int_equal(gw_audit_ready(log, why, sizeof(why)), 1);
  gw_audit_metrics(log, &m);
  assert_int_equal(m.failed, 0);
  assert_int_equal(m.recoveries, 1);
  acked = m.entries;
  bulk_append(log, 4, 3, 0);
  assert_int_equal(gw_audit_checkpoint_now(log), GW_AUDIT_OK);
  gw_audit_close(log);

  log = open_ok(dir, 1, &rep);
  assert_int_equal(rep.size, acked + 4);
  assert_int_equal(rep.truncated_bytes, 0);
  gw_audit_close(log);
}

/* A failure that is not a want of space is not retried: restart. */
static void test_other_failure_says_restart(void **state)
{
  char dir[300], why[400];
  struct gw_audit_log *log;
  (void)state;

  new_dir(dir, sizeof(dir));
  log = open_ok(dir, 1, NULL);
  audit_log_fail(log, "cannot save derived/state: %s", "Input/output error");
  assert_int_equal(gw_audit_ready(log, why, sizeof(why)), 0);
  assert_non_null(strstr(why, "restart gatewayd once the cause is fixed"));
  gw_audit_close(log);
}

/* ---- space written ahead ------------------------------------------------------ */

static uint64_t file_bytes(const char *dir)
{
  char path[400];
  struct stat st;
  path_of(path, sizeof(path), dir, "records");
  assert_int_equal(stat(path, &st), 0);
  return (uint64_t)st.st_size;
}

/* While open the records file runs 4 MiB ahead of its records; a clean
 * close cuts it back to the last record; with no_prealloc it never runs
 * ahead; when the space cannot be written (a file size limit) appends go on
 * durably without it. */
static void test_written_ahead(void **state)
{
  char dir[300], rec[600];
  struct gw_audit_config c;
  struct gw_audit_metrics m;
  struct gw_audit_log *log = NULL;
  struct gw_audit_open_report rep;
  struct rlimit old, lim;
  struct sigaction ign, old_sa;
  size_t len;
  (void)state;

  new_dir(dir, sizeof(dir));
  log = open_ok(dir, 1, NULL);
  bulk_append(log, 20, 1, 0);
  gw_audit_metrics(log, &m);
  assert_int_equal(file_bytes(dir), (uint64_t)4 << 20);
  gw_audit_close(log);
  assert_int_equal(file_bytes(dir), m.bytes);
  log = open_ok(dir, 1, &rep);
  assert_int_equal(rep.size, 20);
  assert_int_equal(rep.truncated_bytes, 0);
  gw_audit_close(log);

  /* off */
  c = config(dir, 1);
  c.no_prealloc = 1;
  assert_int_equal(gw_audit_open(&c, &log, &rep), GW_AUDIT_OK);
  bulk_append(log, 5, 2, 0);
  gw_audit_metrics(log, &m);
  assert_int_equal(file_bytes(dir), m.bytes);
  gw_audit_close(log);

  /* refused: appends extend the file as before */
  log = open_ok(dir, 1, NULL);
  gw_audit_metrics(log, &m);
  memset(&ign, 0, sizeof(ign));
  ign.sa_handler = SIG_IGN;
  assert_int_equal(sigaction(SIGXFSZ, &ign, &old_sa), 0);
  assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
  lim.rlim_cur = (rlim_t)m.bytes + 100000;
  lim.rlim_max = old.rlim_max;
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
  for(int i = 0; i < 10; i++) {
    len = make_record(rec, sizeof(rec), 3, (uint64_t)i, 300);
    assert_int_equal(gw_audit_append_sync(log, rec, len, NULL), GW_AUDIT_OK);
  }
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
  assert_int_equal(sigaction(SIGXFSZ, &old_sa, NULL), 0);
  gw_audit_metrics(log, &m);
  assert_int_equal(m.entries, 35);
  assert_int_equal(gw_audit_ready(log, NULL, 0), 1);
  gw_audit_close(log);
  log = open_ok(dir, 1, &rep);
  assert_int_equal(rep.size, 35);
  assert_int_equal(rep.truncated_bytes, 0);
  gw_audit_close(log);
}

/* ---- a crash: SIGKILL while appending ---------------------------------------- */

struct crash_child {
  struct gw_audit_log *log;
  struct event_base *base;
  int fd;
  uint64_t run, seq;
};

static void crash_cb(const struct gw_audit_append_result *r, void *arg);

static void crash_append(struct crash_child *c)
{
  char rec[300];
  uint64_t seq = c->seq++;
  size_t len = make_record(rec, sizeof(rec), c->run, seq, (size_t)(seq % 150));
  if(gw_audit_append(c->log, rec, len, crash_cb, (void *)(uintptr_t)seq, c->base) != GW_AUDIT_OK)
    _exit(3);
}

static struct crash_child *crash_ctx;

static void crash_cb(const struct gw_audit_append_result *r, void *arg)
{
  struct crash_child *c = crash_ctx;
  uint64_t pair[2] = { r->index, (uint64_t)(uintptr_t)arg };
  if(r->status != GW_AUDIT_OK)
    _exit(4);
  /* Reported only after the callback: durable. */
  if(write(c->fd, pair, sizeof(pair)) != (ssize_t)sizeof(pair))
    _exit(5);
  if(pair[1] % 97 == 0 && gw_audit_checkpoint_async(c->log) != GW_AUDIT_OK)
    _exit(6);
  crash_append(c);
}

static void crash_child_main(const char *dir, int fd, uint64_t run)
{
  struct gw_audit_config cfg = config(dir, 1);
  struct crash_child c;
  memset(&c, 0, sizeof(c));
  cfg.state_interval = 500;  /* resume points (and their syncs) often */
  if(gw_audit_open(&cfg, &c.log, NULL) != GW_AUDIT_OK)
    _exit(2);
  c.base = event_base_new();
  c.fd = fd;
  c.run = run;
  crash_ctx = &c;
  for(int i = 0; i < 32; i++)
    crash_append(&c);
  event_base_loop(c.base, EVLOOP_NO_EXIT_ON_EMPTY);
  _exit(7);
}

static void test_crash_kill(void **state)
{
  char dir[300], vkey[400];
  struct gw_audit_verify_report vr;
  struct gw_audit_open_report rep;
  struct gw_audit_log *log;
  uint64_t (*pairs)[2] = gw_malloc(1 << 24);
  uint64_t (*all)[3] = gw_malloc(3 << 24);
  size_t nall = 0;
  (void)state;

  new_dir(dir, sizeof(dir));
  log = open_ok(dir, 1, NULL);
  vkey_of(log, vkey, sizeof(vkey));
  gw_audit_close(log);
  srand((unsigned)time(NULL) ^ (unsigned)getpid());

  for(uint64_t run = 1; run <= 3; run++) {
    int p[2], status = 0;
    size_t got = 0;
    double deadline;
    pid_t pid;
    long wait_ms = 150 + rand() % 500;

    assert_int_equal(pipe(p), 0);
    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if(pid == 0) {
      close(p[0]);
      crash_child_main(dir, p[1], run);
    }
    close(p[1]);
    deadline = now_s() + (double)wait_ms / 1000.0;
    for(;;) {
      struct pollfd pf = { p[0], POLLIN, 0 };
      double left = deadline - now_s();
      ssize_t n;
      if(left <= 0)
        break;
      if(poll(&pf, 1, (int)(left * 1000) + 1) > 0) {
        n = read(p[0], (uint8_t *)pairs + got, (1 << 24) - got);
        if(n <= 0)
          break;
        got += (size_t)n;
      }
    }
    kill(pid, SIGKILL);
    for(;;) {  /* what the child reported before it died */
      ssize_t n = read(p[0], (uint8_t *)pairs + got, (1 << 24) - got);
      if(n <= 0)
        break;
      got += (size_t)n;
    }
    close(p[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    got /= sizeof(pairs[0]);
    for(size_t i = 0; i < got; i++) {
      all[nall][0] = pairs[i][0];
      all[nall][1] = pairs[i][1];
      all[nall][2] = run;
      nall++;
    }

    log = open_ok(dir, 1, &rep);
    printf("crash run %llu: killed after %ld ms with %zu acknowledged appends; reopened at %llu "
           "records (resumed at %llu, replayed %llu, torn tail %llu bytes) in %.3f s\n",
           (unsigned long long)run, wait_ms, got, (unsigned long long)rep.size,
           (unsigned long long)rep.resumed_at, (unsigned long long)rep.replayed,
           (unsigned long long)rep.truncated_bytes, rep.seconds);
    assert_true(got > 0);
    /* Every acknowledged record of every run so far is there, unchanged. */
    for(size_t i = 0; i < nall; i++) {
      char want[300];
      uint8_t *bytes = NULL;
      size_t len = 0, wl = make_record(want, sizeof(want), all[i][2], all[i][1],
                                       (size_t)(all[i][1] % 150));
      assert_true(all[i][0] < rep.size);
      assert_int_equal(gw_audit_get_entry(log, all[i][0], &bytes, &len), GW_AUDIT_OK);
      assert_int_equal(len, wl);
      assert_memory_equal(bytes, want, wl);
      gw_free(bytes);
    }
    gw_audit_close(log);
    assert_int_equal(gw_audit_verify_dir(dir, vkey, NULL, NULL, &vr), GW_AUDIT_OK);
    assert_true(vr.records >= got);
  }
  gw_free(pairs);
  gw_free(all);
}

/* ---- measurements (printed, not asserted) -------------------------------------- */

static void test_big_log_open_time(void **state)
{
  const char *env = getenv("GW_AUDIT_BIG");
  size_t n = env ? (size_t)strtoull(env, NULL, 10) : 1000000;
  char dir[300], path[400], vkey[400], rec[200];
  struct gw_audit_open_report rep;
  struct gw_audit_verify_report vr;
  struct gw_merkle_proof p;
  struct gw_audit_log *log;
  uint8_t *buf, leaf[HLEN], root[HLEN];
  size_t cap = 64 * 1024 * 1024, used = 0;
  double t0;
  FILE *f;
  (void)state;

  new_dir(dir, sizeof(dir));
  log = open_ok(dir, 1, NULL);
  vkey_of(log, vkey, sizeof(vkey));
  gw_audit_close(log);
  /* Write the records straight into the file, as if appended earlier. */
  path_of(path, sizeof(path), dir, "records");
  f = fopen(path, "ab");
  assert_non_null(f);
  buf = gw_malloc(cap);
  for(size_t i = 0; i < n; i++) {
    size_t len = make_record(rec, sizeof(rec), 1, i, 24);
    if(used + len + 8 > cap) {
      assert_int_equal(fwrite(buf, 1, used, f), used);
      used = 0;
    }
    audit_frame(rec, len, buf + used);
    used += len + 8;
  }
  assert_int_equal(fwrite(buf, 1, used, f), used);
  fclose(f);
  gw_free(buf);

  log = open_ok(dir, 1, &rep);
  printf("big log: first open replayed %llu records (no resume point covers them) in %.3f s\n",
         (unsigned long long)rep.replayed, rep.seconds);
  assert_int_equal(rep.size, n);
  gw_audit_close(log);
  t0 = now_s();
  log = open_ok(dir, 1, &rep);
  printf("big log: reopen of %llu records: %.4f s (replayed %llu, wall incl. thread start "
         "%.4f s)\n", (unsigned long long)rep.size, rep.seconds,
         (unsigned long long)rep.replayed, now_s() - t0);
  assert_int_equal(rep.replayed, 0);
  assert_int_equal(rep.resumed_at, n);
  bulk_append(log, 1, 2, 0);
  assert_int_equal(gw_audit_root_at(log, n + 1, root), GW_AUDIT_OK);
  assert_int_equal(gw_audit_inclusion_proof(log, n / 3, n + 1, leaf, &p), GW_AUDIT_OK);
  assert_int_equal(gw_merkle_verify_inclusion(leaf, n / 3, n + 1, &p, root), GW_MERKLE_OK);
  gw_audit_close(log);
  t0 = now_s();
  assert_int_equal(gw_audit_verify_dir(dir, vkey, NULL, NULL, &vr), GW_AUDIT_OK);
  printf("big log: offline verify of %llu records and %llu checkpoints: %.3f s\n",
         (unsigned long long)vr.records, (unsigned long long)vr.checkpoints, now_s() - t0);
  assert_int_equal(vr.records, n + 1);
  sh("rm -rf %s", dir);
}

struct bench_thread {
  struct gw_audit_log *log;
  struct event_base *base;
  double stop_at;
  size_t id, outstanding, done, failed;
  uint64_t seq;
};

static void bench_cb(const struct gw_audit_append_result *r, void *arg);

static void bench_append(struct bench_thread *b)
{
  char rec[600];
  size_t len = make_record(rec, sizeof(rec), b->id, b->seq++, 260);  /* ~300 bytes */
  if(gw_audit_append(b->log, rec, len, bench_cb, b, b->base) == GW_AUDIT_OK)
    b->outstanding++;
  else
    b->failed++;
}

static void bench_cb(const struct gw_audit_append_result *r, void *arg)
{
  struct bench_thread *b = arg;
  b->outstanding--;
  if(r->status == GW_AUDIT_OK)
    b->done++;
  else
    b->failed++;
  if(now_s() < b->stop_at)
    bench_append(b);
  else if(!b->outstanding)
    event_base_loopbreak(b->base);
}

static void *bench_main(void *arg)
{
  struct bench_thread *b = arg;
  b->base = event_base_new();
  for(int i = 0; i < 64; i++)  /* each worker keeps 64 appends in flight */
    bench_append(b);
  event_base_loop(b->base, EVLOOP_NO_EXIT_ON_EMPTY);
  event_base_free(b->base);
  return NULL;
}

static void test_bench_throughput(void **state)
{
  const char *env_s = getenv("GW_AUDIT_BENCH_SECONDS"), *env_t = getenv("GW_AUDIT_BENCH_THREADS");
  double secs = env_s ? strtod(env_s, NULL) : 2.0, t0, t1;
  size_t threads = env_t ? (size_t)strtoul(env_t, NULL, 10) : 4, total = 0;
  struct bench_thread b[16];
  struct gw_audit_metrics m;
  struct gw_audit_log *log;
  pthread_t th[16];
  char dir[300];
  (void)state;

  if(threads < 1 || threads > 16)
    threads = 4;
  new_dir(dir, sizeof(dir));
  log = open_ok(dir, 1, NULL);
  t0 = now_s();
  for(size_t i = 0; i < threads; i++) {
    memset(&b[i], 0, sizeof(b[i]));
    b[i].log = log;
    b[i].id = i;
    b[i].stop_at = t0 + secs;
    assert_int_equal(pthread_create(&th[i], NULL, bench_main, &b[i]), 0);
  }
  for(size_t i = 0; i < threads; i++) {
    pthread_join(th[i], NULL);
    total += b[i].done;
    assert_int_equal(b[i].failed, 0);
  }
  t1 = now_s();
  gw_audit_metrics(log, &m);
  printf("bench: %zu threads x 64 in flight, ~300-byte records: %zu durable appends in %.2f s "
         "= %.0f records/s; %llu group commits (%.1f records each, largest %llu); fdatasync "
         "mean %.3f ms, max %.3f ms, last %.3f ms\n", threads, total, t1 - t0,
         (double)total / (t1 - t0), (unsigned long long)m.batches,
         (double)total / (double)m.batches, (unsigned long long)m.largest_batch,
         m.fsync_sum_s * 1e3 / (double)m.fsync_count, m.fsync_max_s * 1e3,
         m.fsync_last_s * 1e3);
  printf("bench: fdatasync histogram (le seconds: count):");
  for(int i = 0; i < GW_AUDIT_FSYNC_BUCKETS; i++)
    printf(" %g:%llu", gw_audit_fsync_buckets[i], (unsigned long long)m.fsync_bucket[i]);
  printf(" +Inf:%llu\n", (unsigned long long)m.fsync_count);
  gw_audit_close(log);
  sh("rm -rf %s", dir);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_crc32c),
    cmocka_unit_test(test_record_check),
    cmocka_unit_test(test_on_disk_format),
    cmocka_unit_test(test_full_disk_recovers),
    cmocka_unit_test(test_other_failure_says_restart),
    cmocka_unit_test(test_threads_own_bases),
    cmocka_unit_test(test_durable_before_callback),
    cmocka_unit_test(test_group_commit_batches),
    cmocka_unit_test(test_torn_tails),
    cmocka_unit_test(test_middle_corruption),
    cmocka_unit_test(test_every_byte_flip),
    cmocka_unit_test(test_restart_same_root_and_proofs),
    cmocka_unit_test(test_readers_and_checkpoints),
    cmocka_unit_test(test_write_failure_fails_the_log),
    cmocka_unit_test(test_written_ahead),
    cmocka_unit_test(test_crash_kill),
    cmocka_unit_test(test_query_index),
    cmocka_unit_test(test_query_index_hot_key),
    cmocka_unit_test(test_big_log_open_time),
    cmocka_unit_test(test_bench_throughput),
  };
  if(evthread_use_pthreads())
    return 1;
  return cmocka_run_group_tests(tests, setup, teardown);
}
