/*
 * test_witness.c - the witness of gw/witness.h: tlog-cosignature/v1 lines
 * (a line signed here by hand with OpenSSL verifies; a tampered one does
 * not; another key's line is ignored), and the add-checkpoint protocol:
 * the first checkpoint is cosigned from size 0, a wrong "old" gets 409
 * with the witness's size, an extension with a valid consistency proof is
 * cosigned, a rewritten tree (same size another root, or a proof that
 * fails) is refused with 422 and counted, a checkpoint by another key is
 * 403, an unknown origin 404, a replaced log (another log id) refused; the
 * state survives a new witness on the same file, and the cosigned note
 * served carries exactly the lines of its checkpoint.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "gw/alloc.h"
#include "gw/b64.h"
#include "gw/checkpoint.h"
#include "gw/merkle.h"
#include "gw/witness.h"

#define ORIGIN_B "gw-b/audit/00112233445566778899aabbccddeeff"
#define EMDASH "\xe2\x80\x94"

static char dir[] = "/tmp/gw-witness-XXXXXX";
static char wkey_a[64], wpub_a[64], lkey_b[64], lpub_b[64], wpub_b[64], other[64];
static char gid_b[] = "gw-b", url_b[] = "https://127.0.0.1:1";
static char state[64];
static struct gw_witness_peer_config peer;
static struct gw_witness_config cfg;

static int setup(void **st)
{
  char cmd[2400];
  (void)st;
  if(!mkdtemp(dir))
    return -1;
  snprintf(wkey_a, sizeof(wkey_a), "%s/wa.key", dir);
  snprintf(wpub_a, sizeof(wpub_a), "%s/wa.pub", dir);
  snprintf(lkey_b, sizeof(lkey_b), "%s/lb.key", dir);
  snprintf(lpub_b, sizeof(lpub_b), "%s/lb.pub", dir);
  snprintf(wpub_b, sizeof(wpub_b), "%s/wb.pub", dir);
  snprintf(other, sizeof(other), "%s/other.key", dir);
  snprintf(state, sizeof(state), "%s/state", dir);
  snprintf(cmd, sizeof(cmd),
           "openssl genpkey -algorithm ed25519 -out %s 2>/dev/null && "
           "openssl pkey -in %s -pubout -out %s 2>/dev/null && "
           "openssl genpkey -algorithm ed25519 -out %s 2>/dev/null && "
           "openssl pkey -in %s -pubout -out %s 2>/dev/null && "
           "openssl genpkey -algorithm ed25519 -out %s.k 2>/dev/null && "
           "openssl pkey -in %s.k -pubout -out %s 2>/dev/null && "
           "openssl genpkey -algorithm ed25519 -out %s 2>/dev/null",
           wkey_a, wkey_a, wpub_a, lkey_b, lkey_b, lpub_b, wpub_b, wpub_b, wpub_b, other);
  if(system(cmd))
    return -1;
  peer = (struct gw_witness_peer_config){ gid_b, url_b, lpub_b, wpub_b };
  cfg = (struct gw_witness_config){ 1, wkey_a, NULL, NULL, NULL, NULL, 1000, 1, &peer };
  return 0;
}

static int teardown(void **st)
{
  char cmd[400];
  (void)st;
  snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
  return system(cmd) == 0 ? 0 : -1;
}

/* The stores of the trees made (a tree does not own its store). */
static struct gw_merkle_store *stores[8];
static size_t n_stores;

static void stores_free(void)
{
  while(n_stores)
    gw_merkle_store_free(stores[--n_stores]);
}

/* A log of n leaves "leaf i" (flip: leaf 0 altered). */
static struct gw_merkle_tree *tree(uint64_t n, int flip)
{
  struct gw_merkle_tree *t = NULL;
  struct gw_merkle_store *st = gw_merkle_store_mem_new();
  stores[n_stores++] = st;
  assert_int_equal(gw_merkle_tree_new(st, &t), GW_MERKLE_OK);
  for(uint64_t i = 0; i < n; i++) {
    char leaf[32];
    int l = snprintf(leaf, sizeof(leaf), "leaf %llu%s", (unsigned long long)i,
                     flip && !i ? "!" : "");
    assert_int_equal(gw_merkle_tree_append_data(t, leaf, (size_t)l, NULL), GW_MERKLE_OK);
  }
  return t;
}

/* "old N\n" proof "\n" note, signed by `key` as `origin`, for tree t. */
static char *request(const char *key, const char *origin, struct gw_merkle_tree *t,
                     uint64_t old, size_t *len)
{
  struct gw_checkpoint_signer *s = NULL;
  struct gw_merkle_proof proof;
  uint8_t root[32];
  char *note = NULL, *req;
  size_t nlen = 0, n;
  uint64_t size = gw_merkle_tree_size(t);

  assert_int_equal(gw_checkpoint_signer_load(key, origin, &s), GW_CHECKPOINT_OK);
  assert_int_equal(gw_merkle_tree_root(t, root), GW_MERKLE_OK);
  assert_int_equal(gw_checkpoint_sign(s, origin, size, root, &note, &nlen), GW_CHECKPOINT_OK);
  proof.len = 0;
  if(old && old < size)
    assert_int_equal(gw_merkle_tree_consistency_proof(t, old, size, &proof), GW_MERKLE_OK);
  req = gw_malloc(64 + proof.len * 46 + nlen + 1);
  n = (size_t)sprintf(req, "old %llu\n", (unsigned long long)old);
  for(size_t i = 0; i < proof.len; i++) {
    size_t l = 0;
    assert_int_equal(gw_b64_encode(GW_B64_STD, proof.hash[i], 32, req + n, 46, &l), GW_B64_OK);
    n += l;
    req[n++] = '\n';
  }
  req[n++] = '\n';
  memcpy(req + n, note, nlen);
  *len = n + nlen;
  req[*len] = '\0';           /* a string too, for the checks that search it */
  gw_free(note);
  gw_checkpoint_signer_free(s);
  return req;
}

static int add(struct gw_witness *w, const char *req, size_t len, char **body)
{
  const char *ct;
  size_t bl;
  return gw_witness_add_checkpoint(w, req, len, &ct, body, &bl);
}

/* The cosignature in `body` verifies over the note text of `req`. */
static void cosig_verifies(struct gw_witness *w, const char *req, size_t len, const char *body)
{
  const char *note = strstr(req, "\n\n") + 2;
  size_t nlen = len - (size_t)(note - req), text_len = 0;
  char *vkey = gw_witness_vkey(w);
  uint64_t t = 0;
  for(size_t i = 1; i < nlen; i++)
    if(note[i] == '\n' && note[i - 1] == '\n')
      text_len = i;
  assert_int_equal(gw_witness_verify_line(vkey, note, text_len, body, strlen(body) - 1, &t), 1);
  assert_true(t > 1700000000u);
  gw_free(vkey);
}

static void test_protocol(void **st)
{
  char err[256], *body = NULL, *req;
  size_t len;
  struct gw_witness *w;
  struct gw_witness_peer_stats ps;
  struct gw_merkle_tree *t3 = tree(3, 0), *t7 = tree(7, 0), *r7 = tree(7, 1), *r9 = tree(9, 1);
  (void)st;

  unlink(state);
  w = gw_witness_new(&cfg, "gw-a", state, err, sizeof(err));
  assert_non_null(w);
  /* first: from 0, no proof */
  req = request(lkey_b, ORIGIN_B, t3, 0, &len);
  assert_int_equal(add(w, req, len, &body), 200);
  assert_true(!strncmp(body, EMDASH " gw-a/witness ", strlen(EMDASH " gw-a/witness ")));
  cosig_verifies(w, req, len, body);
  gw_free(body);
  gw_free(req);
  /* a wrong "old": 409 with the size it has */
  req = request(lkey_b, ORIGIN_B, t7, 0, &len);
  assert_int_equal(add(w, req, len, &body), 409);
  assert_string_equal(body, "3\n");
  gw_free(body);
  gw_free(req);
  /* the extension with its proof */
  req = request(lkey_b, ORIGIN_B, t7, 3, &len);
  assert_int_equal(add(w, req, len, &body), 200);
  cosig_verifies(w, req, len, body);
  gw_free(body);
  gw_free(req);
  /* the same size, another root: rewritten */
  req = request(lkey_b, ORIGIN_B, r7, 7, &len);
  assert_int_equal(add(w, req, len, &body), 422);
  gw_free(body);
  gw_free(req);
  /* larger, its proof from 7 in the rewritten tree: fails against our root */
  req = request(lkey_b, ORIGIN_B, r9, 7, &len);
  assert_int_equal(add(w, req, len, &body), 422);
  gw_free(body);
  gw_free(req);
  /* another key under the peer's origin */
  req = request(other, ORIGIN_B, t7, 7, &len);
  assert_int_equal(add(w, req, len, &body), 403);
  gw_free(body);
  gw_free(req);
  /* an origin of nobody configured */
  req = request(lkey_b, "gw-c/audit/00112233445566778899aabbccddeeff", t7, 7, &len);
  assert_int_equal(add(w, req, len, &body), 404);
  gw_free(body);
  gw_free(req);
  /* the same key, another log id: a replaced log */
  req = request(lkey_b, "gw-b/audit/ffeeddccbbaa99887766554433221100", t3, 0, &len);
  assert_int_equal(add(w, req, len, &body), 409);
  gw_free(body);
  gw_free(req);
  /* nonsense */
  assert_int_equal(add(w, "old x\n\n", 7, &body), 400);
  gw_free(body);
  assert_int_equal(add(w, "hello", 5, &body), 400);
  gw_free(body);
  assert_int_equal(add(w, "old 01\n\n", 8, &body), 400);     /* a leading zero */
  gw_free(body);
  assert_int_equal(add(w, "old 3\nAAAA\n\n", 13, &body), 400); /* not 32 bytes */
  gw_free(body);
  assert_int_equal(add(w, "old 3\n", 6, &body), 400);          /* no empty line */
  gw_free(body);
  {
    /* 65 proof lines: over GW_MERKLE_MAX_PROOF */
    char big[8192];
    size_t n = (size_t)sprintf(big, "old 3\n");
    for(int i = 0; i < 65; i++)
      n += (size_t)sprintf(big + n, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n");
    big[n++] = '\n';
    assert_int_equal(add(w, big, n, &body), 400);
    gw_free(body);
  }
  /* "old" past the checkpoint's size */
  req = request(lkey_b, ORIGIN_B, t3, 5, &len);
  assert_int_equal(add(w, req, len, &body), 400);
  gw_free(body);
  gw_free(req);
  gw_witness_peer_stats(w, 0, &ps);
  assert_int_equal(ps.cosigned, 2);
  assert_int_equal(ps.refused, 3);
  assert_int_equal(ps.witnessed_size, 7);
  gw_witness_free(w);

  /* the state is on disk: a new witness still refuses the rewrite and
   * still knows size 7 */
  w = gw_witness_new(&cfg, "gw-a", state, err, sizeof(err));
  assert_non_null(w);
  req = request(lkey_b, ORIGIN_B, r9, 0, &len);
  assert_int_equal(add(w, req, len, &body), 409);
  assert_string_equal(body, "7\n");
  gw_free(body);
  gw_free(req);
  req = request(lkey_b, ORIGIN_B, r9, 7, &len);
  assert_int_equal(add(w, req, len, &body), 422);
  gw_free(body);
  gw_free(req);
  gw_witness_free(w);
  gw_merkle_tree_free(t3);
  gw_merkle_tree_free(t7);
  gw_merkle_tree_free(r7);
  gw_merkle_tree_free(r9);
  stores_free();
}

/* A cosignature made here with OpenSSL from the spec, not by the module. */
static void test_line_by_hand(void **st)
{
  static const char text[] = "example.com/log\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
  static const char name[] = "w.example/w1";
  char err[256], msg[256], line[300], b64[128], vkey[256], typed64[64];
  uint8_t pub[32], blob[76], typed[33], md[32], kid[40];
  size_t pl = 32, sl = 64, ml;
  EVP_PKEY *k;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  FILE *f = fopen(wkey_a, "r");
  uint64_t t = 1700000000, got = 0;
  (void)st; (void)err;

  k = PEM_read_PrivateKey(f, NULL, NULL, (void *)"");
  fclose(f);
  assert_non_null(k);
  assert_int_equal(EVP_PKEY_get_raw_public_key(k, pub, &pl), 1);
  ml = (size_t)snprintf(msg, sizeof(msg), "cosignature/v1\ntime %llu\n%s",
                        (unsigned long long)t, text);
  memcpy(kid, name, strlen(name));
  kid[strlen(name)] = '\n';
  kid[strlen(name) + 1] = 0x04;
  {
    uint8_t buf[80];
    memcpy(buf, kid, strlen(name) + 2);
    memcpy(buf + strlen(name) + 2, pub, 32);
    EVP_Digest(buf, strlen(name) + 34, md, NULL, EVP_sha256(), NULL);
  }
  memcpy(blob, md, 4);
  for(int i = 0; i < 8; i++)
    blob[4 + i] = (uint8_t)(t >> (56 - 8 * i));
  assert_int_equal(EVP_DigestSignInit(ctx, NULL, NULL, NULL, k), 1);
  assert_int_equal(EVP_DigestSign(ctx, blob + 12, &sl, (uint8_t *)msg, ml), 1);
  assert_int_equal(gw_b64_encode(GW_B64_STD, blob, 76, b64, sizeof(b64), NULL), GW_B64_OK);
  snprintf(line, sizeof(line), EMDASH " %s %s", name, b64);
  typed[0] = 0x04;
  memcpy(typed + 1, pub, 32);
  assert_int_equal(gw_b64_encode(GW_B64_STD, typed, 33, typed64, sizeof(typed64), NULL),
                   GW_B64_OK);
  snprintf(vkey, sizeof(vkey), "%s+%02x%02x%02x%02x+%s", name, md[0], md[1], md[2], md[3],
           typed64);
  assert_int_equal(gw_witness_verify_line(vkey, text, strlen(text), line, strlen(line), &got), 1);
  assert_int_equal(got, t);
  /* the body changed: fails */
  assert_int_equal(gw_witness_verify_line(vkey, "example.com/log\n6\n", 18, line, strlen(line),
                                          NULL), -1);
  /* another name: not this key's line */
  line[6] = 'x';
  assert_int_equal(gw_witness_verify_line(vkey, text, strlen(text), line, strlen(line), NULL), 0);
  /* a checkpoint-type (0x01) vkey is no cosignature key: the same key
   * with the note signature type byte, encoded afresh (editing one base64
   * character would also change the key's first byte, or nothing) */
  typed[0] = 0x01;
  assert_int_equal(gw_b64_encode(GW_B64_STD, typed, 33, typed64, sizeof(typed64), NULL),
                   GW_B64_OK);
  snprintf(vkey, sizeof(vkey), "%s+%02x%02x%02x%02x+%s", name, md[0], md[1], md[2], md[3],
           typed64);
  assert_int_equal(gw_witness_verify_line(vkey, text, strlen(text), line, strlen(line), NULL), -2);
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(k);
}

/* The note served carries the cosignature of exactly its checkpoint. */
static void test_cosigned_note(void **st)
{
  char err[256], *out = NULL, *line, *note = NULL;
  size_t olen, nlen;
  struct gw_witness *w;
  struct gw_checkpoint_signer *s = NULL;
  uint8_t root[32] = { 1 };
  EVP_PKEY *k;
  FILE *f;
  (void)st;

  /* the peer's witness key must sign what it returns: wb.pub's private half */
  unlink(state);
  w = gw_witness_new(&cfg, "gw-a", state, err, sizeof(err));
  assert_non_null(w);
  assert_int_equal(gw_checkpoint_signer_load(lkey_b, "gw-a/audit/x", &s), GW_CHECKPOINT_OK);
  assert_int_equal(gw_checkpoint_sign(s, "gw-a/audit/x", 4, root, &note, &nlen),
                   GW_CHECKPOINT_OK);
  {
    char kpath[320];
    snprintf(kpath, sizeof(kpath), "%s.k", wpub_b);
    f = fopen(kpath, "r");
    k = PEM_read_PrivateKey(f, NULL, NULL, (void *)"");
    fclose(f);
  }
  {
    /* sign as gw-b/witness by hand through the verify-compatible format */
    const char *nl2 = strstr(note, "\n\n");
    size_t tl = (size_t)(nl2 - note) + 1;
    uint8_t pub[32], id[4], md[32], buf[64];
    size_t pl = 32;
    uint8_t blob[76];
    size_t sl = 64;
    char msg[256], b64[128];
    int ml;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    assert_int_equal(EVP_PKEY_get_raw_public_key(k, pub, &pl), 1);
    memcpy(buf, "gw-b/witness\n\x04", 14);
    memcpy(buf + 14, pub, 32);
    EVP_Digest(buf, 46, md, NULL, EVP_sha256(), NULL);
    memcpy(id, md, 4);
    memcpy(blob, id, 4);
    memset(blob + 4, 0, 8);
    blob[11] = 9;
    ml = snprintf(msg, sizeof(msg), "cosignature/v1\ntime 9\n%.*s", (int)tl, note);
    assert_int_equal(EVP_DigestSignInit(ctx, NULL, NULL, NULL, k), 1);
    assert_int_equal(EVP_DigestSign(ctx, blob + 12, &sl, (uint8_t *)msg, (size_t)ml), 1);
    EVP_MD_CTX_free(ctx);
    assert_int_equal(gw_b64_encode(GW_B64_STD, blob, 76, b64, sizeof(b64), NULL), GW_B64_OK);
    line = gw_malloc(300);
    snprintf(line, 300, EMDASH " gw-b/witness %s", b64);
    assert_int_equal(gw_witness_accept_cosignature(w, 0, note, tl, line, strlen(line), err,
                                                   sizeof(err)), 0);
    /* a line by another key is not accepted */
    line[strlen(line) - 3] ^= 1;
    assert_int_equal(gw_witness_accept_cosignature(w, 0, note, tl, line, strlen(line), err,
                                                   sizeof(err)), -1);
    line[strlen(line) - 3] ^= 1;
  }
  gw_witness_cosigned_note(w, note, nlen, &out, &olen);
  assert_int_equal(olen, nlen + strlen(line) + 1);
  assert_memory_equal(out, note, nlen);
  assert_memory_equal(out + nlen, line, strlen(line));
  gw_free(out);
  /* another checkpoint: nothing added */
  gw_free(note);
  root[0] = 2;
  assert_int_equal(gw_checkpoint_sign(s, "gw-a/audit/x", 5, root, &note, &nlen),
                   GW_CHECKPOINT_OK);
  gw_witness_cosigned_note(w, note, nlen, &out, &olen);
  assert_int_equal(olen, nlen);
  gw_free(out);
  gw_free(note);
  gw_free(line);
  EVP_PKEY_free(k);
  gw_checkpoint_signer_free(s);
  gw_witness_free(w);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_protocol),
    cmocka_unit_test(test_line_by_hand),
    cmocka_unit_test(test_cosigned_note),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
