/*
 * test_merkle.c - unit tests of the RFC 9162 Merkle tree (gw/merkle.h).
 *
 * Three sources of truth, so a bug has to fool all of them:
 *  - published known answers for the 8-leaf reference tree, transcribed from
 *    google/certificate-transparency cpp/merkletree/merkle_tree_test.cc
 *    (kInputs, kSHA256Roots, kSHA256Paths, kSHA256Proofs) and
 *    transparency-dev/merkle proof/verify_test.go (the same roots and proofs
 *    plus the consistency proof 6 -> 7) and rfc6962/rfc6962_test.go (the
 *    empty-tree, empty-leaf and "L123456" leaf hashes);
 *  - a naive recursive implementation of MTH, PATH and SUBPROOF written here
 *    straight from RFC 9162 2.1.1, 2.1.3.1 and 2.1.4.1, hashing with SHA256()
 *    on concatenated buffers (not through the library);
 *  - the library's own verifier, fed both good proofs and the tampered
 *    variants the transparency-dev verifier tests use.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/sha.h>

#include "gw/merkle.h"

#define HL GW_MERKLE_HASH_LEN

/* ---- helpers ------------------------------------------------------------ */

static int nibble(char c)
{
  if(c >= '0' && c <= '9')
    return c - '0';
  if(c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

/* Decodes lowercase hex into out; returns the byte count. */
static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
  size_t n = strlen(hex) / 2;

  assert_true(strlen(hex) % 2 == 0 && n <= cap);
  for(size_t i = 0; i < n; i++) {
    int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    assert_true(hi >= 0 && lo >= 0);
    out[i] = (uint8_t)(hi << 4 | lo);
  }
  return n;
}

static void hash_from_hex(const char *hex, uint8_t out[HL])
{
  assert_int_equal(unhex(hex, out, HL), HL);
}

static void assert_hash_hex(const uint8_t h[HL], const char *hex)
{
  uint8_t want[HL];

  hash_from_hex(hex, want);
  assert_memory_equal(h, want, HL);
}

static void proof_from_hex(struct gw_merkle_proof *p, const char *const *hex, size_t n)
{
  p->len = n;
  for(size_t i = 0; i < n; i++)
    hash_from_hex(hex[i], p->hash[i]);
}

static void assert_proof_equal(const struct gw_merkle_proof *a, const struct gw_merkle_proof *b)
{
  assert_int_equal(a->len, b->len);
  for(size_t i = 0; i < a->len; i++)
    assert_memory_equal(a->hash[i], b->hash[i], HL);
}

/* Leaf data for generated trees: the 8-byte big-endian index. */
static void index_data(uint64_t i, uint8_t out[8])
{
  for(int b = 7; b >= 0; b--) {
    out[b] = (uint8_t)i;
    i >>= 8;
  }
}

static struct gw_merkle_store *new_mem_store(void)
{
  struct gw_merkle_store *s = gw_merkle_store_mem_new();

  assert_non_null(s);
  return s;
}

static struct gw_merkle_tree *new_tree(struct gw_merkle_store *s)
{
  struct gw_merkle_tree *t = NULL;

  assert_int_equal(gw_merkle_tree_new(s, &t), GW_MERKLE_OK);
  assert_non_null(t);
  return t;
}

static void append_index_leaves(struct gw_merkle_tree *t, uint64_t from, uint64_t to)
{
  uint8_t d[8];

  for(uint64_t i = from; i < to; i++) {
    index_data(i, d);
    assert_int_equal(gw_merkle_tree_append_data(t, d, sizeof(d), NULL), GW_MERKLE_OK);
  }
}

static void root_at(const struct gw_merkle_tree *t, uint64_t size, uint8_t out[HL])
{
  assert_int_equal(gw_merkle_tree_root_at(t, size, out), GW_MERKLE_OK);
}

/* ---- naive reference, straight from RFC 9162 ---------------------------- */

static void ref_leaf(const uint8_t *d, size_t len, uint8_t out[HL])
{
  uint8_t *buf = malloc(len + 1);

  assert_non_null(buf);
  buf[0] = 0x00;
  if(len)
    memcpy(buf + 1, d, len);
  assert_non_null(SHA256(buf, len + 1, out));
  free(buf);
}

static void ref_node(const uint8_t l[HL], const uint8_t r[HL], uint8_t out[HL])
{
  uint8_t buf[1 + 2 * HL];

  buf[0] = 0x01;
  memcpy(buf + 1, l, HL);
  memcpy(buf + 1 + HL, r, HL);
  assert_non_null(SHA256(buf, sizeof(buf), out));
}

/* k: the largest power of two smaller than n (n > 1). */
static uint64_t ref_k(uint64_t n)
{
  uint64_t k = 1;

  while(k * 2 < n)
    k *= 2;
  return k;
}

/* MTH(D[lo:hi]) over precomputed leaf hashes. */
static void ref_mth(uint8_t (*leaves)[HL], uint64_t lo, uint64_t hi, uint8_t out[HL])
{
  uint8_t l[HL], r[HL];
  uint64_t n = hi - lo, k;

  if(n == 0) {
    assert_non_null(SHA256((const uint8_t *)"", 0, out));
    return;
  }
  if(n == 1) {
    memcpy(out, leaves[lo], HL);
    return;
  }
  k = ref_k(n);
  ref_mth(leaves, lo, lo + k, l);
  ref_mth(leaves, lo + k, hi, r);
  ref_node(l, r, out);
}

static void ref_push(struct gw_merkle_proof *p, uint8_t (*leaves)[HL], uint64_t lo, uint64_t hi)
{
  assert_true(p->len < GW_MERKLE_MAX_PROOF);
  ref_mth(leaves, lo, hi, p->hash[p->len++]);
}

/* PATH(m, D[lo:hi]), m relative to lo, appended to p. */
static void ref_path(uint8_t (*leaves)[HL], uint64_t m, uint64_t lo, uint64_t hi,
                     struct gw_merkle_proof *p)
{
  uint64_t n = hi - lo, k;

  if(n <= 1)
    return;
  k = ref_k(n);
  if(m < k) {
    ref_path(leaves, m, lo, lo + k, p);
    ref_push(p, leaves, lo + k, hi);
  }
  else {
    ref_path(leaves, m - k, lo + k, hi, p);
    ref_push(p, leaves, lo, lo + k);
  }
}

/* SUBPROOF(m, D[lo:hi], b), m relative to lo, appended to p. */
static void ref_subproof(uint8_t (*leaves)[HL], uint64_t m, uint64_t lo, uint64_t hi, int b,
                         struct gw_merkle_proof *p)
{
  uint64_t n = hi - lo, k;

  if(m == n) {
    if(!b)
      ref_push(p, leaves, lo, hi);
    return;
  }
  k = ref_k(n);
  if(m <= k) {
    ref_subproof(leaves, m, lo, lo + k, b, p);
    ref_push(p, leaves, lo + k, hi);
  }
  else {
    ref_subproof(leaves, m - k, lo + k, hi, 0, p);
    ref_push(p, leaves, lo, lo + k);
  }
}

/* ---- tampering (after transparency-dev/merkle proof/verify_test.go) ----- */

static const char some_hash_hex[] =
  "abacaba000000000000000000000000000000000000000000060061e00123456";

/* p with `h` inserted at position `at` (0 = front, len = back). */
static void proof_insert(struct gw_merkle_proof *out, const struct gw_merkle_proof *p,
                         size_t at, const uint8_t h[HL])
{
  assert_true(p->len < GW_MERKLE_MAX_PROOF);
  out->len = p->len + 1;
  for(size_t i = 0, j = 0; i < out->len; i++)
    memcpy(out->hash[i], i == at ? h : p->hash[j++], HL);
}

static void check_inclusion_tampering(const uint8_t leaf[HL], uint64_t index, uint64_t size,
                                      const struct gw_merkle_proof *good, const uint8_t root[HL])
{
  struct gw_merkle_proof bad;
  uint8_t other[HL], zero[HL] = { 0 }, some[HL], empty[HL], got[HL];

  hash_from_hex(some_hash_hex, some);
  gw_merkle_empty_root(empty);
  assert_int_equal(gw_merkle_verify_inclusion(leaf, index, size, good, root), GW_MERKLE_OK);
  assert_int_equal(gw_merkle_root_from_inclusion(leaf, index, size, good, got), GW_MERKLE_OK);
  assert_memory_equal(got, root, HL);

  /* wrong index or size */
  assert_int_not_equal(gw_merkle_verify_inclusion(leaf, index - 1, size, good, root), GW_MERKLE_OK);
  assert_int_not_equal(gw_merkle_verify_inclusion(leaf, index + 1, size, good, root), GW_MERKLE_OK);
  assert_int_not_equal(gw_merkle_verify_inclusion(leaf, index ^ 2, size, good, root), GW_MERKLE_OK);
  assert_int_not_equal(gw_merkle_verify_inclusion(leaf, index, size * 2, good, root), GW_MERKLE_OK);
  assert_int_not_equal(gw_merkle_verify_inclusion(leaf, index, size / 2, good, root), GW_MERKLE_OK);
  assert_int_equal(gw_merkle_verify_inclusion(leaf, size, size, good, root), GW_MERKLE_BAD_INDEX);

  /* wrong leaf or root */
  memcpy(other, leaf, HL);
  other[HL - 1] ^= 1;
  assert_int_equal(gw_merkle_verify_inclusion(other, index, size, good, root), GW_MERKLE_MISMATCH);
  assert_int_equal(gw_merkle_verify_inclusion(leaf, index, size, good, empty), GW_MERKLE_MISMATCH);
  assert_int_equal(gw_merkle_verify_inclusion(leaf, index, size, good, some), GW_MERKLE_MISMATCH);

  /* hashes added at either end, or in the middle */
  if(good->len < GW_MERKLE_MAX_PROOF) {
    proof_insert(&bad, good, good->len, zero);
    assert_int_equal(gw_merkle_verify_inclusion(leaf, index, size, &bad, root), GW_MERKLE_PROOF_TOO_LONG);
    proof_insert(&bad, good, good->len, root);
    assert_int_equal(gw_merkle_verify_inclusion(leaf, index, size, &bad, root), GW_MERKLE_PROOF_TOO_LONG);
    proof_insert(&bad, good, 0, zero);
    assert_int_equal(gw_merkle_verify_inclusion(leaf, index, size, &bad, root), GW_MERKLE_PROOF_TOO_LONG);
    proof_insert(&bad, good, 0, root);
    assert_int_equal(gw_merkle_verify_inclusion(leaf, index, size, &bad, root), GW_MERKLE_PROOF_TOO_LONG);
    if(good->len > 1) {
      proof_insert(&bad, good, 1, some);
      assert_int_equal(gw_merkle_verify_inclusion(leaf, index, size, &bad, root), GW_MERKLE_PROOF_TOO_LONG);
    }
  }

  /* one bit flipped in each element, in the first and the last byte */
  for(size_t i = 0; i < good->len; i++) {
    bad = *good;
    bad.hash[i][0] ^= 8;
    assert_int_equal(gw_merkle_verify_inclusion(leaf, index, size, &bad, root), GW_MERKLE_MISMATCH);
    bad = *good;
    bad.hash[i][HL - 1] ^= 0x80;
    assert_int_equal(gw_merkle_verify_inclusion(leaf, index, size, &bad, root), GW_MERKLE_MISMATCH);
  }

  /* a hash removed from the end or the front */
  if(good->len > 0) {
    bad = *good;
    bad.len--;
    assert_int_equal(gw_merkle_verify_inclusion(leaf, index, size, &bad, root), GW_MERKLE_PROOF_TOO_SHORT);
    for(size_t i = 1; i < good->len; i++)
      memcpy(bad.hash[i - 1], good->hash[i], HL);
    assert_int_equal(gw_merkle_verify_inclusion(leaf, index, size, &bad, root), GW_MERKLE_PROOF_TOO_SHORT);
  }
}

static void check_consistency_tampering(uint64_t m, uint64_t n, const uint8_t root1[HL],
                                        const uint8_t root2[HL], const struct gw_merkle_proof *good)
{
  struct gw_merkle_proof bad;
  uint8_t wrong[HL], zero[HL] = { 0 };

  assert_int_equal(gw_merkle_verify_consistency(m, n, root1, root2, good), GW_MERKLE_OK);
  /* as transparency-dev: probe only non-trivial proofs */
  if(good->len == 0)
    return;

  /* wrong sizes */
  assert_int_not_equal(gw_merkle_verify_consistency(m - 1, n, root1, root2, good), GW_MERKLE_OK);
  assert_int_not_equal(gw_merkle_verify_consistency(m + 1, n, root1, root2, good), GW_MERKLE_OK);
  assert_int_not_equal(gw_merkle_verify_consistency(m ^ 2, n, root1, root2, good), GW_MERKLE_OK);
  assert_int_not_equal(gw_merkle_verify_consistency(m, n * 2, root1, root2, good), GW_MERKLE_OK);
  assert_int_not_equal(gw_merkle_verify_consistency(m, n / 2, root1, root2, good), GW_MERKLE_OK);

  /* wrong roots */
  memcpy(wrong, root1, HL);
  wrong[0] ^= 1;
  assert_int_equal(gw_merkle_verify_consistency(m, n, wrong, root2, good), GW_MERKLE_MISMATCH);
  memcpy(wrong, root2, HL);
  wrong[0] ^= 1;
  assert_int_equal(gw_merkle_verify_consistency(m, n, root1, wrong, good), GW_MERKLE_MISMATCH);
  assert_int_equal(gw_merkle_verify_consistency(m, n, root2, root1, good), GW_MERKLE_MISMATCH);

  /* empty, truncated, extended */
  bad.len = 0;
  assert_int_equal(gw_merkle_verify_consistency(m, n, root1, root2, &bad), GW_MERKLE_PROOF_TOO_SHORT);
  bad = *good;
  bad.len--;
  assert_int_equal(gw_merkle_verify_consistency(m, n, root1, root2, &bad), GW_MERKLE_PROOF_TOO_SHORT);
  if(good->len < GW_MERKLE_MAX_PROOF) {
    proof_insert(&bad, good, good->len, zero);
    assert_int_equal(gw_merkle_verify_consistency(m, n, root1, root2, &bad), GW_MERKLE_PROOF_TOO_LONG);
    proof_insert(&bad, good, good->len, root1);
    assert_int_equal(gw_merkle_verify_consistency(m, n, root1, root2, &bad), GW_MERKLE_PROOF_TOO_LONG);
    proof_insert(&bad, good, good->len, root2);
    assert_int_equal(gw_merkle_verify_consistency(m, n, root1, root2, &bad), GW_MERKLE_PROOF_TOO_LONG);
    proof_insert(&bad, good, 0, zero);
    assert_int_equal(gw_merkle_verify_consistency(m, n, root1, root2, &bad), GW_MERKLE_PROOF_TOO_LONG);
    proof_insert(&bad, good, 0, root1);
    assert_int_equal(gw_merkle_verify_consistency(m, n, root1, root2, &bad), GW_MERKLE_PROOF_TOO_LONG);
    proof_insert(&bad, good, 0, root2);
    assert_int_equal(gw_merkle_verify_consistency(m, n, root1, root2, &bad), GW_MERKLE_PROOF_TOO_LONG);
    proof_insert(&bad, good, 0, good->hash[0]);
    assert_int_equal(gw_merkle_verify_consistency(m, n, root1, root2, &bad), GW_MERKLE_PROOF_TOO_LONG);
  }

  /* one bit flipped in each element */
  for(size_t i = 0; i < good->len; i++) {
    bad = *good;
    bad.hash[i][0] ^= 16;
    assert_int_equal(gw_merkle_verify_consistency(m, n, root1, root2, &bad), GW_MERKLE_MISMATCH);
    bad = *good;
    bad.hash[i][HL - 1] ^= 1;
    assert_int_equal(gw_merkle_verify_consistency(m, n, root1, root2, &bad), GW_MERKLE_MISMATCH);
  }
}

/* ---- the reference tree ------------------------------------------------- */

/* certificate-transparency kInputs / transparency-dev leaves */
static const char *const ref_inputs[8] = {
  "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
  "606162636465666768696a6b6c6d6e6f"
};

/* kSHA256Roots: roots of the reference tree at sizes 1..8 */
static const char *const ref_roots[8] = {
  "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
  "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
  "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
  "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
  "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
  "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
  "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

static const char empty_hex[] =
  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/* kSHA256Paths; the published leaf numbers are 1-based, these are 0-based. */
struct ref_inclusion {
  uint64_t index, size;
  size_t len;
  const char *path[3];
};

static const struct ref_inclusion ref_inclusions[] = {
  { 0, 1, 0, { NULL } },
  { 0, 8, 3, { "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
               "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
               "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4" } },
  { 5, 8, 3, { "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
               "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
               "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } },
  { 2, 3, 1, { "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125" } },
  { 1, 5, 3, { "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
               "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
               "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b" } },
};

/* kSHA256Proofs plus transparency-dev's 6 -> 7 */
struct ref_consistency {
  uint64_t m, n;
  size_t len;
  const char *proof[3];
};

static const struct ref_consistency ref_consistencies[] = {
  { 1, 1, 0, { NULL } },
  { 1, 8, 3, { "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
               "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
               "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4" } },
  { 6, 8, 3, { "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
               "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
               "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } },
  { 2, 5, 2, { "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
               "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b" } },
  { 6, 7, 3, { "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
               "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
               "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } },
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* The reference tree, built leaf by leaf; checks the root after each. */
static struct gw_merkle_tree *build_reference(struct gw_merkle_store *s)
{
  struct gw_merkle_tree *t = new_tree(s);
  uint8_t d[16], leaf[HL], root[HL];

  for(size_t i = 0; i < 8; i++) {
    size_t len = unhex(ref_inputs[i], d, sizeof(d));
    assert_int_equal(gw_merkle_tree_append_data(t, d, len, leaf), GW_MERKLE_OK);
    assert_int_equal(gw_merkle_tree_size(t), i + 1);
    assert_int_equal(gw_merkle_tree_root(t, root), GW_MERKLE_OK);
    assert_hash_hex(root, ref_roots[i]);
  }
  return t;
}

static void ref_leaf_hash(size_t i, uint8_t out[HL])
{
  uint8_t d[16];
  size_t len = unhex(ref_inputs[i], d, sizeof(d));

  assert_int_equal(gw_merkle_hash_leaf(len ? d : NULL, len, out), GW_MERKLE_OK);
}

/* ---- tests ----------------------------------------------------------------- */

static void test_hashes(void **state)
{
  uint8_t h[HL], l[HL], r[HL];

  (void)state;
  gw_merkle_empty_root(h);
  assert_hash_hex(h, empty_hex);
  /* transparency-dev rfc6962_test.go: "RFC6962 Empty Leaf", "RFC6962 Leaf" */
  assert_int_equal(gw_merkle_hash_leaf(NULL, 0, h), GW_MERKLE_OK);
  assert_hash_hex(h, "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
  assert_int_equal(gw_merkle_hash_leaf("L123456", 7, h), GW_MERKLE_OK);
  assert_hash_hex(h, "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56");
  ref_leaf((const uint8_t *)"L123456", 7, l);
  assert_memory_equal(h, l, HL);

  /* node = SHA-256(0x01 || l || r), order matters, output may alias input */
  ref_leaf_hash(0, l);
  ref_leaf_hash(1, r);
  assert_int_equal(gw_merkle_hash_node(l, r, h), GW_MERKLE_OK);
  assert_hash_hex(h, ref_roots[1]);
  assert_int_equal(gw_merkle_hash_node(r, l, h), GW_MERKLE_OK);
  assert_memory_not_equal(h, l, HL);
  assert_int_equal(gw_merkle_hash_node(l, r, l), GW_MERKLE_OK);
  assert_hash_hex(l, ref_roots[1]);

  assert_string_equal(gw_merkle_strerror(GW_MERKLE_PROOF_TOO_SHORT), "proof has too few hashes");
  assert_string_equal(gw_merkle_strerror((enum gw_merkle_result)999), "unknown error");
}

static void test_reference_roots(void **state)
{
  struct gw_merkle_store *s = new_mem_store();
  struct gw_merkle_tree *t = build_reference(s), *one_go;
  uint8_t root[HL];

  (void)state;
  root_at(t, 0, root);
  assert_hash_hex(root, empty_hex);
  for(uint64_t n = 1; n <= 8; n++) {
    root_at(t, n, root);
    assert_hash_hex(root, ref_roots[n - 1]);
  }
  assert_int_equal(gw_merkle_tree_root_at(t, 9, root), GW_MERKLE_BAD_SIZE);

  /* the same leaves through gw_merkle_tree_append, into a frontier-only tree */
  one_go = new_tree(NULL);
  assert_int_equal(gw_merkle_tree_root(one_go, root), GW_MERKLE_OK);
  assert_hash_hex(root, empty_hex);
  for(size_t i = 0; i < 8; i++) {
    uint8_t leaf[HL];
    ref_leaf_hash(i, leaf);
    assert_int_equal(gw_merkle_tree_append(one_go, leaf), GW_MERKLE_OK);
  }
  assert_int_equal(gw_merkle_tree_root(one_go, root), GW_MERKLE_OK);
  assert_hash_hex(root, ref_roots[7]);

  gw_merkle_tree_free(one_go);
  gw_merkle_tree_free(t);
  gw_merkle_store_free(s);
}

static void test_reference_inclusion(void **state)
{
  struct gw_merkle_store *s = new_mem_store();
  struct gw_merkle_tree *t = build_reference(s);
  struct gw_merkle_proof got, want;
  uint8_t leaf[HL], root[HL];

  (void)state;
  for(size_t i = 0; i < NELEM(ref_inclusions); i++) {
    const struct ref_inclusion *v = &ref_inclusions[i];
    proof_from_hex(&want, v->path, v->len);
    assert_int_equal(gw_merkle_tree_inclusion_proof(t, v->index, v->size, &got), GW_MERKLE_OK);
    assert_proof_equal(&got, &want);
    ref_leaf_hash(v->index, leaf);
    hash_from_hex(ref_roots[v->size - 1], root);
    check_inclusion_tampering(leaf, v->index, v->size, &want, root);
  }
  /* kSHA256Paths {0, 0}: no proof in an empty tree */
  assert_int_equal(gw_merkle_tree_inclusion_proof(t, 0, 0, &got), GW_MERKLE_BAD_INDEX);
  assert_int_equal(gw_merkle_tree_inclusion_proof(t, 8, 8, &got), GW_MERKLE_BAD_INDEX);
  assert_int_equal(gw_merkle_tree_inclusion_proof(t, 0, 9, &got), GW_MERKLE_BAD_SIZE);

  assert_int_equal(gw_merkle_tree_leaf_hash(t, 7, leaf), GW_MERKLE_OK);
  ref_leaf_hash(7, root);
  assert_memory_equal(leaf, root, HL);
  assert_int_equal(gw_merkle_tree_leaf_hash(t, 8, leaf), GW_MERKLE_BAD_INDEX);

  gw_merkle_tree_free(t);
  gw_merkle_store_free(s);
}

static void test_reference_consistency(void **state)
{
  struct gw_merkle_store *s = new_mem_store();
  struct gw_merkle_tree *t = build_reference(s);
  struct gw_merkle_proof got, want;
  uint8_t r1[HL], r2[HL];

  (void)state;
  for(size_t i = 0; i < NELEM(ref_consistencies); i++) {
    const struct ref_consistency *v = &ref_consistencies[i];
    proof_from_hex(&want, v->proof, v->len);
    assert_int_equal(gw_merkle_tree_consistency_proof(t, v->m, v->n, &got), GW_MERKLE_OK);
    assert_proof_equal(&got, &want);
    hash_from_hex(ref_roots[v->m - 1], r1);
    hash_from_hex(ref_roots[v->n - 1], r2);
    check_consistency_tampering(v->m, v->n, r1, r2, &want);
  }
  assert_int_equal(gw_merkle_tree_consistency_proof(t, 3, 9, &got), GW_MERKLE_BAD_SIZE);
  assert_int_equal(gw_merkle_tree_consistency_proof(t, 5, 4, &got), GW_MERKLE_BAD_SIZE);
  assert_int_equal(gw_merkle_tree_consistency_proof(t, 0, 8, &got), GW_MERKLE_OK);
  assert_int_equal(got.len, 0);

  gw_merkle_tree_free(t);
  gw_merkle_store_free(s);
}

/* The edge cases of transparency-dev's TestVerifyInclusion and
 * TestVerifyConsistency, with this API's stricter answers for size 0. */
static void test_verify_edge_cases(void **state)
{
  struct gw_merkle_proof empty_proof = { 0 }, one = { 0 };
  uint8_t empty[HL], some[HL], a[HL], b[HL];

  (void)state;
  gw_merkle_empty_root(empty);
  hash_from_hex(some_hash_hex, some);
  memset(a, 0xaa, HL);
  memset(b, 0xbb, HL);
  one.len = 1;
  memcpy(one.hash[0], empty, HL);

  /* inclusion: (index, size) = (0,0), (1,0), (2,1) have no leaf */
  assert_int_equal(gw_merkle_verify_inclusion(some, 0, 0, &empty_proof, empty), GW_MERKLE_BAD_INDEX);
  assert_int_equal(gw_merkle_verify_inclusion(some, 1, 0, &empty_proof, empty), GW_MERKLE_BAD_INDEX);
  assert_int_equal(gw_merkle_verify_inclusion(some, 2, 1, &empty_proof, empty), GW_MERKLE_BAD_INDEX);
  /* a single-leaf tree: root == leaf, empty proof */
  assert_int_equal(gw_merkle_verify_inclusion(some, 0, 1, &empty_proof, some), GW_MERKLE_OK);
  assert_int_equal(gw_merkle_verify_inclusion(some, 0, 1, &empty_proof, empty), GW_MERKLE_MISMATCH);
  assert_int_equal(gw_merkle_verify_inclusion(some, 0, 1, &one, some), GW_MERKLE_PROOF_TOO_LONG);
  assert_int_equal(gw_merkle_verify_inclusion(some, 0, 2, &empty_proof, some), GW_MERKLE_PROOF_TOO_SHORT);

  /* consistency: equal sizes, the empty tree, time travel */
  assert_int_equal(gw_merkle_verify_consistency(0, 0, empty, empty, &empty_proof), GW_MERKLE_OK);
  assert_int_equal(gw_merkle_verify_consistency(0, 5, empty, a, &empty_proof), GW_MERKLE_OK);
  assert_int_equal(gw_merkle_verify_consistency(0, 5, a, a, &empty_proof), GW_MERKLE_MISMATCH);
  assert_int_equal(gw_merkle_verify_consistency(1, 1, a, a, &empty_proof), GW_MERKLE_OK);
  assert_int_equal(gw_merkle_verify_consistency(1, 1, a, b, &empty_proof), GW_MERKLE_MISMATCH);
  assert_int_equal(gw_merkle_verify_consistency(0, 0, empty, b, &empty_proof), GW_MERKLE_MISMATCH);
  assert_int_equal(gw_merkle_verify_consistency(1, 0, a, b, &empty_proof), GW_MERKLE_BAD_SIZE);
  assert_int_equal(gw_merkle_verify_consistency(2, 1, a, b, &empty_proof), GW_MERKLE_BAD_SIZE);
  assert_int_equal(gw_merkle_verify_consistency(1, 2, a, b, &empty_proof), GW_MERKLE_PROOF_TOO_SHORT);
  /* roots match but the proof is not empty */
  assert_int_equal(gw_merkle_verify_consistency(0, 0, empty, empty, &one), GW_MERKLE_PROOF_TOO_LONG);
  assert_int_equal(gw_merkle_verify_consistency(0, 1, empty, empty, &one), GW_MERKLE_PROOF_TOO_LONG);
  assert_int_equal(gw_merkle_verify_consistency(1, 1, empty, empty, &one), GW_MERKLE_PROOF_TOO_LONG);
}

/* Proof lengths at the size limit: every proof fits in 64 hashes, and a
 * length the verifier cannot hold is refused without reading past it. */
static void test_size_limits(void **state)
{
  struct gw_merkle_proof p;
  uint8_t a[HL], b[HL];
  const uint64_t max = GW_MERKLE_MAX_SIZE;

  (void)state;
  memset(&p, 0x5a, sizeof(p));
  memset(a, 1, HL);
  memset(b, 2, HL);

  /* inclusion of leaf 0 in 2^63 leaves takes exactly 63 hashes */
  p.len = 63;
  assert_int_equal(gw_merkle_verify_inclusion(a, 0, max, &p, b), GW_MERKLE_MISMATCH);
  p.len = 62;
  assert_int_equal(gw_merkle_verify_inclusion(a, 0, max, &p, b), GW_MERKLE_PROOF_TOO_SHORT);
  p.len = 64;
  assert_int_equal(gw_merkle_verify_inclusion(a, 0, max, &p, b), GW_MERKLE_PROOF_TOO_LONG);
  p.len = GW_MERKLE_MAX_PROOF + 1;
  assert_int_equal(gw_merkle_verify_inclusion(a, 0, max, &p, b), GW_MERKLE_PROOF_TOO_LONG);
  p.len = 63;
  assert_int_equal(gw_merkle_verify_inclusion(a, 0, max + 1, &p, b), GW_MERKLE_BAD_SIZE);
  assert_int_equal(gw_merkle_verify_inclusion(a, 0, UINT64_MAX, &p, b), GW_MERKLE_BAD_SIZE);

  /* the longest consistency proof below the limit: 2^63 - 1 -> 2^63, 64 hashes */
  p.len = 64;
  assert_int_equal(gw_merkle_verify_consistency(max - 1, max, a, b, &p), GW_MERKLE_MISMATCH);
  p.len = 63;
  assert_int_equal(gw_merkle_verify_consistency(max - 1, max, a, b, &p), GW_MERKLE_PROOF_TOO_SHORT);
  p.len = GW_MERKLE_MAX_PROOF + 1;
  assert_int_equal(gw_merkle_verify_consistency(max - 1, max, a, b, &p), GW_MERKLE_PROOF_TOO_LONG);
  p.len = 64;
  assert_int_equal(gw_merkle_verify_consistency(max - 1, max + 1, a, b, &p), GW_MERKLE_BAD_SIZE);
}

/* Every inclusion proof (index < n) and consistency proof (m <= n) for
 * n <= 64: the tree's proof equals the naive RFC recursion's, verifies, and
 * every tampered variant is refused. */
static void test_all_proofs_up_to_64(void **state)
{
  enum { N = 64 };
  static uint8_t leaves[N][HL];
  struct gw_merkle_store *s = new_mem_store();
  struct gw_merkle_tree *t = new_tree(s);
  struct gw_merkle_proof got, want;
  uint8_t d[1], roots[N + 1][HL], root[HL], leaf[HL];

  (void)state;
  for(unsigned i = 0; i < N; i++) {
    d[0] = (uint8_t)i;
    ref_leaf(d, 1, leaves[i]);
    assert_int_equal(gw_merkle_tree_append_data(t, d, 1, leaf), GW_MERKLE_OK);
    assert_memory_equal(leaf, leaves[i], HL);
    /* the current root after every append, against the recursion */
    assert_int_equal(gw_merkle_tree_root(t, root), GW_MERKLE_OK);
    ref_mth(leaves, 0, i + 1, roots[i + 1]);
    assert_memory_equal(root, roots[i + 1], HL);
  }
  ref_mth(leaves, 0, 0, roots[0]);

  for(uint64_t n = 0; n <= N; n++) {
    root_at(t, n, root);
    assert_memory_equal(root, roots[n], HL);

    for(uint64_t i = 0; i < n; i++) {
      want.len = 0;
      ref_path(leaves, i, 0, n, &want);
      assert_int_equal(gw_merkle_tree_inclusion_proof(t, i, n, &got), GW_MERKLE_OK);
      assert_proof_equal(&got, &want);
      check_inclusion_tampering(leaves[i], i, n, &got, roots[n]);
    }

    for(uint64_t m = 0; m <= n; m++) {
      want.len = 0;
      if(m > 0)
        ref_subproof(leaves, m, 0, n, 1, &want);
      assert_int_equal(gw_merkle_tree_consistency_proof(t, m, n, &got), GW_MERKLE_OK);
      assert_proof_equal(&got, &want);
      check_consistency_tampering(m, n, roots[m], roots[n], &got);
    }
  }
  gw_merkle_tree_free(t);
  gw_merkle_store_free(s);
}

/* Node (level, index) is the hash of leaves [index * 2^level, (index+1) * 2^level). */
static void test_store_layout(void **state)
{
  struct gw_merkle_store *s = new_mem_store();
  struct gw_merkle_tree *t, *again = NULL;
  uint8_t h[HL], want[HL];
  static uint8_t leaves[13][HL];
  uint8_t d[8];

  (void)state;
  t = new_tree(s);
  for(uint64_t i = 0; i < 13; i++) {
    index_data(i, d);
    ref_leaf(d, sizeof(d), leaves[i]);
  }
  append_index_leaves(t, 0, 13);
  for(unsigned level = 0; level < 5; level++) {
    uint64_t count = 13 >> level;
    for(uint64_t i = 0; i < count; i++) {
      assert_int_equal(s->ops->get(s, level, i, h), GW_MERKLE_OK);
      ref_mth(leaves, i << level, (i + 1) << level, want);
      assert_memory_equal(h, want, HL);
    }
    /* incomplete subtrees are never stored */
    assert_int_equal(s->ops->get(s, level, count, h), GW_MERKLE_NO_NODE);
  }
  assert_int_equal(s->ops->get(s, GW_MERKLE_MAX_LEVELS, 0, h), GW_MERKLE_NO_NODE);

  /* the put contract: replace in place, no gaps, truncate per level */
  {
    struct gw_merkle_store *m = new_mem_store();
    uint8_t x[HL], y[HL], z[HL];
    memset(x, 'x', HL);
    memset(y, 'y', HL);
    memset(z, 'z', HL);
    assert_string_equal(m->ops->name, "memory");
    assert_int_equal(m->ops->put(m, 0, 0, x), GW_MERKLE_OK);
    assert_int_equal(m->ops->put(m, 0, 1, y), GW_MERKLE_OK);
    assert_int_equal(m->ops->put(m, 1, 0, z), GW_MERKLE_OK);
    assert_int_equal(m->ops->put(m, 0, 0, z), GW_MERKLE_OK);
    assert_int_equal(m->ops->get(m, 0, 0, h), GW_MERKLE_OK);
    assert_memory_equal(h, z, HL);
    assert_int_equal(m->ops->get(m, 0, 1, h), GW_MERKLE_OK);
    assert_memory_equal(h, y, HL);
    assert_int_equal(m->ops->put(m, 0, 3, x), GW_MERKLE_STORE);
    assert_int_equal(m->ops->put(m, GW_MERKLE_MAX_LEVELS, 0, x), GW_MERKLE_STORE);
    assert_int_equal(m->ops->truncate(m, 1), GW_MERKLE_OK);
    assert_int_equal(m->ops->get(m, 0, 0, h), GW_MERKLE_OK);
    assert_int_equal(m->ops->get(m, 0, 1, h), GW_MERKLE_NO_NODE);
    assert_int_equal(m->ops->get(m, 1, 0, h), GW_MERKLE_NO_NODE);
    gw_merkle_store_free(m);
    gw_merkle_store_free(NULL);
    gw_merkle_tree_free(NULL);
  }

  /* a new tree refuses a store that holds a log */
  assert_int_equal(gw_merkle_tree_new(s, &again), GW_MERKLE_STORE_NOT_EMPTY);
  assert_null(again);

  gw_merkle_tree_free(t);
  gw_merkle_store_free(s);
}

/* A tree with no store keeps only its frontier. */
static void test_frontier_only_tree(void **state)
{
  struct gw_merkle_tree *t = new_tree(NULL), *full;
  struct gw_merkle_store *s = new_mem_store();
  struct gw_merkle_proof p;
  uint8_t a[HL], b[HL], d[8];

  (void)state;
  full = new_tree(s);
  append_index_leaves(t, 0, 1000);
  append_index_leaves(full, 0, 1000);
  assert_int_equal(gw_merkle_tree_size(t), 1000);
  assert_int_equal(gw_merkle_tree_root(t, a), GW_MERKLE_OK);
  assert_int_equal(gw_merkle_tree_root(full, b), GW_MERKLE_OK);
  assert_memory_equal(a, b, HL);
  root_at(t, 1000, a);
  assert_memory_equal(a, b, HL);
  /* 512 is a frontier node of 1000 (bit 9), so that root is still known */
  root_at(t, 512, a);
  root_at(full, 512, b);
  assert_memory_equal(a, b, HL);
  assert_int_equal(gw_merkle_tree_root_at(t, 999, a), GW_MERKLE_NO_NODE);
  assert_int_equal(gw_merkle_tree_inclusion_proof(t, 0, 1000, &p), GW_MERKLE_NO_NODE);
  assert_int_equal(gw_merkle_tree_consistency_proof(t, 10, 1000, &p), GW_MERKLE_NO_NODE);
  assert_int_equal(gw_merkle_tree_leaf_hash(t, 999, a), GW_MERKLE_NO_NODE);
  /* after an odd size the last leaf is itself a frontier node */
  append_index_leaves(t, 1000, 1001);
  assert_int_equal(gw_merkle_tree_leaf_hash(t, 1000, a), GW_MERKLE_OK);
  index_data(1000, d);
  ref_leaf(d, sizeof(d), b);
  assert_memory_equal(a, b, HL);

  gw_merkle_tree_free(t);
  gw_merkle_tree_free(full);
  gw_merkle_store_free(s);
}

static size_t popcount64(uint64_t x)
{
  size_t n = 0;

  for(; x; x &= x - 1)
    n++;
  return n;
}

/* Append N, save, restore (a restart with the store kept, and a frontier-only
 * tree), append more: every root equals the tree built in one go, and the
 * restored tree's proofs equal its proofs. */
static void test_frontier_save_restore(void **state)
{
  static const uint64_t sizes[] = { 0, 1, 2, 3, 4, 5, 7, 8, 9, 31, 32, 33, 63, 64, 65,
                                    100, 255, 256, 257, 1000, 1023, 1024 };
  enum { MORE = 70 };
  struct gw_merkle_store *ref_s = new_mem_store();
  struct gw_merkle_tree *ref = new_tree(ref_s);
  uint8_t blob[GW_MERKLE_FRONTIER_MAX_LEN], a[HL], b[HL];
  struct gw_merkle_proof pa, pb;
  size_t len = 0;

  (void)state;
  append_index_leaves(ref, 0, 1024 + MORE);

  for(size_t z = 0; z < NELEM(sizes); z++) {
    const uint64_t n = sizes[z];
    struct gw_merkle_store *s = new_mem_store(), *fresh = new_mem_store();
    struct gw_merkle_tree *t = new_tree(s), *kept = NULL, *bare = NULL, *wrong = NULL;

    append_index_leaves(t, 0, n);
    assert_int_equal(gw_merkle_tree_save_frontier(t, blob, sizeof(blob), &len), GW_MERKLE_OK);
    assert_int_equal(len, 16 + popcount64(n) * HL + HL);
    assert_int_equal(gw_merkle_tree_save_frontier(t, blob, len - 1, &len), GW_MERKLE_SHORT_BUFFER);
    gw_merkle_tree_free(t); /* the restart */

    assert_int_equal(gw_merkle_tree_restore(s, blob, len, &kept), GW_MERKLE_OK);
    assert_int_equal(gw_merkle_tree_restore(NULL, blob, len, &bare), GW_MERKLE_OK);
    assert_int_equal(gw_merkle_tree_size(kept), n);
    assert_int_equal(gw_merkle_tree_size(bare), n);
    /* a store that never saw this log does not fit the frontier */
    if(n) {
      assert_int_equal(gw_merkle_tree_restore(fresh, blob, len, &wrong), GW_MERKLE_BAD_FRONTIER);
      assert_null(wrong);
    }

    for(uint64_t i = n; i <= n + MORE; i++) {
      if(i > n) {
        append_index_leaves(kept, i - 1, i);
        append_index_leaves(bare, i - 1, i);
      }
      root_at(ref, i, a);
      assert_int_equal(gw_merkle_tree_root(kept, b), GW_MERKLE_OK);
      assert_memory_equal(a, b, HL);
      assert_int_equal(gw_merkle_tree_root(bare, b), GW_MERKLE_OK);
      assert_memory_equal(a, b, HL);
    }
    /* the kept store answers for the whole history, old and new */
    for(uint64_t i = 0; i < n + MORE; i += 1 + (n + MORE) / 40) {
      assert_int_equal(gw_merkle_tree_inclusion_proof(kept, i, n + MORE, &pa), GW_MERKLE_OK);
      assert_int_equal(gw_merkle_tree_inclusion_proof(ref, i, n + MORE, &pb), GW_MERKLE_OK);
      assert_proof_equal(&pa, &pb);
      assert_int_equal(gw_merkle_tree_consistency_proof(kept, i, n + MORE, &pa), GW_MERKLE_OK);
      assert_int_equal(gw_merkle_tree_consistency_proof(ref, i, n + MORE, &pb), GW_MERKLE_OK);
      assert_proof_equal(&pa, &pb);
    }
    printf("frontier of %llu leaves: %zu bytes\n", (unsigned long long)n, len);

    gw_merkle_tree_free(kept);
    gw_merkle_tree_free(bare);
    gw_merkle_store_free(s);
    gw_merkle_store_free(fresh);
  }
  gw_merkle_tree_free(ref);
  gw_merkle_store_free(ref_s);
}

/* A crash after the checkpoint: the store holds nodes past the saved size.
 * Restore truncates them; the replay (the same or other leaves) then gives
 * the roots of a tree built in one go. */
static void test_restore_truncates_store_ahead(void **state)
{
  struct gw_merkle_store *s = new_mem_store(), *ref_s = new_mem_store();
  struct gw_merkle_tree *t = new_tree(s), *r = NULL, *ref = new_tree(ref_s);
  uint8_t blob[GW_MERKLE_FRONTIER_MAX_LEN], a[HL], b[HL], d[8];
  struct gw_merkle_proof pa, pb;
  size_t len;

  (void)state;
  append_index_leaves(t, 0, 37);
  assert_int_equal(gw_merkle_tree_save_frontier(t, blob, sizeof(blob), &len), GW_MERKLE_OK);
  append_index_leaves(t, 37, 60); /* then the crash */
  gw_merkle_tree_free(t);

  assert_int_equal(gw_merkle_tree_restore(s, blob, len, &r), GW_MERKLE_OK);
  assert_int_equal(s->ops->get(s, 0, 36, a), GW_MERKLE_OK);
  assert_int_equal(s->ops->get(s, 0, 37, a), GW_MERKLE_NO_NODE);
  assert_int_equal(s->ops->get(s, 5, 1, a), GW_MERKLE_NO_NODE); /* leaves 32..63 */

  /* replay different records from 37 on */
  append_index_leaves(ref, 0, 37);
  for(uint64_t i = 37; i < 80; i++) {
    index_data(i ^ 0xffff, d);
    assert_int_equal(gw_merkle_tree_append_data(r, d, sizeof(d), NULL), GW_MERKLE_OK);
    assert_int_equal(gw_merkle_tree_append_data(ref, d, sizeof(d), NULL), GW_MERKLE_OK);
  }
  for(uint64_t n = 1; n <= 80; n++) {
    root_at(r, n, a);
    root_at(ref, n, b);
    assert_memory_equal(a, b, HL);
    assert_int_equal(gw_merkle_tree_inclusion_proof(r, n - 1, n, &pa), GW_MERKLE_OK);
    assert_int_equal(gw_merkle_tree_inclusion_proof(ref, n - 1, n, &pb), GW_MERKLE_OK);
    assert_proof_equal(&pa, &pb);
  }
  gw_merkle_tree_free(r);
  gw_merkle_tree_free(ref);
  gw_merkle_store_free(s);
  gw_merkle_store_free(ref_s);
}

static void reseal(uint8_t *blob, size_t len)
{
  assert_non_null(SHA256(blob, len - HL, blob + len - HL));
}

/* Any damaged byte, a wrong length, or a size beyond the limit is refused;
 * a frontier that disagrees with the store leaves the store alone. */
static void test_frontier_rejects_damage(void **state)
{
  struct gw_merkle_store *s = new_mem_store();
  struct gw_merkle_tree *t = new_tree(s), *r = NULL;
  uint8_t blob[GW_MERKLE_FRONTIER_MAX_LEN], bad[GW_MERKLE_FRONTIER_MAX_LEN], h[HL];
  size_t len;

  (void)state;
  append_index_leaves(t, 0, 1000);
  assert_int_equal(gw_merkle_tree_save_frontier(t, blob, sizeof(blob), &len), GW_MERKLE_OK);
  assert_memory_equal(blob, "GWMF\x01\0\0\0", 8);
  assert_int_equal(len, 16 + 6 * HL + HL); /* 1000 = 0b1111101000 */

  for(size_t i = 0; i < len; i++) {
    for(int bit = 0; bit < 8; bit++) {
      memcpy(bad, blob, len);
      bad[i] ^= (uint8_t)(1u << bit);
      assert_int_equal(gw_merkle_tree_restore(NULL, bad, len, &r), GW_MERKLE_BAD_FRONTIER);
    }
  }
  assert_int_equal(gw_merkle_tree_restore(NULL, blob, len - 1, &r), GW_MERKLE_BAD_FRONTIER);
  memcpy(bad, blob, len);
  bad[len] = 0;
  assert_int_equal(gw_merkle_tree_restore(NULL, bad, len + 1, &r), GW_MERKLE_BAD_FRONTIER);
  assert_int_equal(gw_merkle_tree_restore(NULL, blob, 3, &r), GW_MERKLE_BAD_FRONTIER);
  assert_null(r);

  /* well sealed but naming other nodes: size 1000 -> 1000 ^ 0b11000 keeps the
   * popcount, so only the store check can tell */
  memcpy(bad, blob, len);
  bad[15] ^= 0x18;
  reseal(bad, len);
  assert_int_equal(gw_merkle_tree_restore(NULL, bad, len, &r), GW_MERKLE_OK);
  gw_merkle_tree_free(r);
  r = NULL;
  assert_int_equal(gw_merkle_tree_restore(s, bad, len, &r), GW_MERKLE_BAD_FRONTIER);
  assert_int_equal(s->ops->get(s, 0, 999, h), GW_MERKLE_OK); /* not truncated */

  /* a size past 2^63, sealed: refused; exactly 2^63: accepted, then full */
  memset(bad, 0, sizeof(bad));
  memcpy(bad, "GWMF\x01\0\0\0", 8);
  bad[8] = 0x80;
  bad[15] = 0x01;
  reseal(bad, 16 + 2 * HL + HL);
  assert_int_equal(gw_merkle_tree_restore(NULL, bad, 16 + 2 * HL + HL, &r), GW_MERKLE_BAD_FRONTIER);
  bad[15] = 0x00;
  reseal(bad, 16 + HL + HL);
  assert_int_equal(gw_merkle_tree_restore(NULL, bad, 16 + HL + HL, &r), GW_MERKLE_OK);
  assert_int_equal(gw_merkle_tree_size(r), GW_MERKLE_MAX_SIZE);
  memset(h, 0, HL);
  assert_int_equal(gw_merkle_tree_append(r, h), GW_MERKLE_FULL);
  assert_int_equal(gw_merkle_tree_size(r), GW_MERKLE_MAX_SIZE);
  gw_merkle_tree_free(r);

  gw_merkle_tree_free(t);
  gw_merkle_store_free(s);
}

/* A store that fails its n-th put, wrapping the in-memory store. */
struct flaky_store {
  struct gw_merkle_store base;
  struct gw_merkle_store *inner;
  int puts_left; /* fail when it reaches 0; negative: never */
};

static enum gw_merkle_result flaky_get(struct gw_merkle_store *s, unsigned level,
                                       uint64_t index, uint8_t out[HL])
{
  struct flaky_store *f = (struct flaky_store *)s;
  return f->inner->ops->get(f->inner, level, index, out);
}

static enum gw_merkle_result flaky_put(struct gw_merkle_store *s, unsigned level,
                                       uint64_t index, const uint8_t h[HL])
{
  struct flaky_store *f = (struct flaky_store *)s;

  if(f->puts_left == 0)
    return GW_MERKLE_STORE;
  if(f->puts_left > 0)
    f->puts_left--;
  return f->inner->ops->put(f->inner, level, index, h);
}

static enum gw_merkle_result flaky_truncate(struct gw_merkle_store *s, uint64_t size)
{
  struct flaky_store *f = (struct flaky_store *)s;
  return f->inner->ops->truncate(f->inner, size);
}

static void flaky_destroy(struct gw_merkle_store *s)
{
  (void)s; /* lives on the test's stack */
}

static const struct gw_merkle_store_ops flaky_ops = {
  "flaky", flaky_get, flaky_put, flaky_truncate, flaky_destroy
};

/* A failed put leaves the tree as it was; the retry repairs the store. */
static void test_failed_put_leaves_tree_unchanged(void **state)
{
  struct flaky_store f = { { &flaky_ops }, NULL, -1 };
  struct gw_merkle_store *ref_s = new_mem_store();
  struct gw_merkle_tree *t, *ref = new_tree(ref_s);
  struct gw_merkle_proof p;
  uint8_t a[HL], b[HL], d[8];

  (void)state;
  f.inner = new_mem_store();
  t = new_tree(&f.base);
  append_index_leaves(t, 0, 7);
  append_index_leaves(ref, 0, 8);

  /* leaf 7 completes nodes at levels 0..3: fail the 3rd put (level 2) */
  f.puts_left = 2;
  index_data(7, d);
  assert_int_equal(gw_merkle_tree_append_data(t, d, sizeof(d), NULL), GW_MERKLE_STORE);
  assert_int_equal(gw_merkle_tree_size(t), 7);
  root_at(t, 7, a);
  root_at(ref, 7, b);
  assert_memory_equal(a, b, HL);

  f.puts_left = -1;
  assert_int_equal(gw_merkle_tree_append_data(t, d, sizeof(d), NULL), GW_MERKLE_OK);
  assert_int_equal(gw_merkle_tree_root(t, a), GW_MERKLE_OK);
  assert_int_equal(gw_merkle_tree_root(ref, b), GW_MERKLE_OK);
  assert_memory_equal(a, b, HL);
  for(uint64_t i = 0; i < 8; i++) {
    assert_int_equal(gw_merkle_tree_inclusion_proof(t, i, 8, &p), GW_MERKLE_OK);
    assert_int_equal(gw_merkle_tree_leaf_hash(t, i, a), GW_MERKLE_OK);
    assert_int_equal(gw_merkle_verify_inclusion(a, i, 8, &p, b), GW_MERKLE_OK);
  }
  gw_merkle_tree_free(t);
  gw_merkle_tree_free(ref);
  gw_merkle_store_free(ref_s);
  gw_merkle_store_free(f.inner);
}

static double now_s(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A million appends, then proofs against the full tree and a past size. */
static void test_large_append(void **state)
{
  enum { BIG = 1000000, HALF = BIG / 2 };
  struct gw_merkle_store *s = new_mem_store();
  struct gw_merkle_tree *t = new_tree(s);
  struct gw_merkle_proof p;
  uint8_t root[HL], half[HL], leaf[HL], d[8], got[HL];
  double t0, t1, t2;

  (void)state;
  t0 = now_s();
  for(uint64_t i = 0; i < BIG; i++) {
    index_data(i, d);
    assert_int_equal(gw_merkle_tree_append_data(t, d, sizeof(d), NULL), GW_MERKLE_OK);
    if(i + 1 == HALF)
      assert_int_equal(gw_merkle_tree_root(t, half), GW_MERKLE_OK);
  }
  t1 = now_s();
  assert_int_equal(gw_merkle_tree_size(t), BIG);
  assert_int_equal(gw_merkle_tree_root(t, root), GW_MERKLE_OK);
  root_at(t, HALF, got);
  assert_memory_equal(got, half, HL);

  for(uint64_t i = 0; i < BIG; i += 99991) {
    index_data(i, d);
    ref_leaf(d, sizeof(d), leaf);
    assert_int_equal(gw_merkle_tree_inclusion_proof(t, i, BIG, &p), GW_MERKLE_OK);
    assert_int_equal(gw_merkle_verify_inclusion(leaf, i, BIG, &p, root), GW_MERKLE_OK);
    if(i < HALF) {
      assert_int_equal(gw_merkle_tree_inclusion_proof(t, i, HALF, &p), GW_MERKLE_OK);
      assert_int_equal(gw_merkle_verify_inclusion(leaf, i, HALF, &p, half), GW_MERKLE_OK);
    }
  }
  assert_int_equal(gw_merkle_tree_consistency_proof(t, HALF, BIG, &p), GW_MERKLE_OK);
  assert_int_equal(gw_merkle_verify_consistency(HALF, BIG, half, root, &p), GW_MERKLE_OK);
  t2 = now_s();
  printf("appended %d leaves in %.3f s (%.0f ns/leaf incl. leaf hashing); "
         "root %02x%02x%02x%02x...; proofs %.3f s\n",
         BIG, t1 - t0, (t1 - t0) * 1e9 / BIG, root[0], root[1], root[2], root[3], t2 - t1);

  gw_merkle_tree_free(t);
  gw_merkle_store_free(s);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_hashes),
    cmocka_unit_test(test_reference_roots),
    cmocka_unit_test(test_reference_inclusion),
    cmocka_unit_test(test_reference_consistency),
    cmocka_unit_test(test_verify_edge_cases),
    cmocka_unit_test(test_size_limits),
    cmocka_unit_test(test_all_proofs_up_to_64),
    cmocka_unit_test(test_store_layout),
    cmocka_unit_test(test_frontier_only_tree),
    cmocka_unit_test(test_frontier_save_restore),
    cmocka_unit_test(test_restore_truncates_store_ahead),
    cmocka_unit_test(test_frontier_rejects_damage),
    cmocka_unit_test(test_failed_put_leaves_tree_unchanged),
    cmocka_unit_test(test_large_append),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
