/*
 * merkle.c - RFC 9162 Merkle tree: hashing, the incremental tree over a node
 * store, proof generation and hash-only proof verification.
 *
 * The one idea: every subtree the RFC recursion ever names is either a
 * perfect subtree (one stored node) or the left-aligned prefix of one, whose
 * hash is the right-to-left fold of the perfect blocks given by the set bits
 * of its length.  So nothing here recurses: roots, proofs and appends are
 * loops of at most 64 steps over (level, index) node reads.  See
 * docs/merkle.md for the layout and the resume story.
 */
#include "gw/merkle.h"
#include "gw/alloc.h"

#include <assert.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#define HLEN GW_MERKLE_HASH_LEN
#define TREE_MAGIC 0x4d4b4c54u /* "MKLT" */
#define MEM_MAGIC 0x4d4b4d53u  /* "MKMS" */

#define FRONTIER_HDR 16
static const uint8_t frontier_magic[4] = { 'G', 'W', 'M', 'F' };
#define FRONTIER_VERSION 1

/* SHA-256("") */
static const uint8_t empty_root[HLEN] = {
  0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8,
  0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c,
  0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55
};

struct gw_merkle_tree {
  unsigned magic;
  struct gw_merkle_store *store; /* borrowed; NULL = frontier only */
  uint64_t size;
  /* frontier[k] is node (k, (size >> k) - 1), valid iff bit k of size is set */
  uint8_t frontier[GW_MERKLE_MAX_LEVELS][HLEN];
  /* The append path hashes through one reusable context (about 3x faster
   * than a one-shot digest); reads use SHA256() so readers share nothing. */
  EVP_MD *md;
  EVP_MD_CTX *ctx;
};

const char *gw_merkle_strerror(enum gw_merkle_result r)
{
  switch(r) {
  case GW_MERKLE_OK:              return "ok";
  case GW_MERKLE_BAD_INDEX:       return "leaf index not below the tree size";
  case GW_MERKLE_BAD_SIZE:        return "tree size out of range";
  case GW_MERKLE_PROOF_TOO_SHORT: return "proof has too few hashes";
  case GW_MERKLE_PROOF_TOO_LONG:  return "proof has too many hashes";
  case GW_MERKLE_MISMATCH:        return "proof does not lead to the root";
  case GW_MERKLE_FULL:            return "tree is at its maximum size";
  case GW_MERKLE_BAD_FRONTIER:    return "saved frontier is damaged or does not match the store";
  case GW_MERKLE_STORE_NOT_EMPTY: return "store already holds nodes";
  case GW_MERKLE_NO_NODE:         return "node not held by the store";
  case GW_MERKLE_STORE:           return "node store failed";
  case GW_MERKLE_NOMEM:           return "out of memory";
  case GW_MERKLE_CRYPTO:          return "SHA-256 failed";
  case GW_MERKLE_SHORT_BUFFER:    return "buffer too small";
  }
  return "unknown error";
}

/* ---- hashing ---------------------------------------------------------- */

/* SHA-256 fetched once for the process: EVP_sha256() makes every init
 * look the algorithm up again, which cost as much as hashing a record. */
static EVP_MD *leaf_md;
static pthread_once_t leaf_md_once = PTHREAD_ONCE_INIT;

static void leaf_md_fetch(void)
{
  leaf_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

enum gw_merkle_result gw_merkle_hash_leaf(const void *data, size_t len, uint8_t out[HLEN])
{
  static const uint8_t prefix = 0x00;
  enum gw_merkle_result rc = GW_MERKLE_CRYPTO;
  EVP_MD_CTX *ctx;

  pthread_once(&leaf_md_once, leaf_md_fetch);
  if(!leaf_md)
    return GW_MERKLE_CRYPTO;
  ctx = EVP_MD_CTX_new();
  if(!ctx)
    return GW_MERKLE_NOMEM;
  if(EVP_DigestInit_ex2(ctx, leaf_md, NULL) != 1 ||
     EVP_DigestUpdate(ctx, &prefix, 1) != 1 ||
     (len && EVP_DigestUpdate(ctx, data, len) != 1) ||
     EVP_DigestFinal_ex(ctx, out, NULL) != 1)
    goto out;
  rc = GW_MERKLE_OK;
out:
  EVP_MD_CTX_free(ctx);
  return rc;
}

enum gw_merkle_result gw_merkle_hash_node(const uint8_t left[HLEN], const uint8_t right[HLEN],
                                          uint8_t out[HLEN])
{
  uint8_t buf[1 + 2 * HLEN];

  buf[0] = 0x01;
  memcpy(buf + 1, left, HLEN);
  memcpy(buf + 1 + HLEN, right, HLEN);
  return SHA256(buf, sizeof(buf), out) ? GW_MERKLE_OK : GW_MERKLE_CRYPTO;
}

void gw_merkle_empty_root(uint8_t out[HLEN])
{
  memcpy(out, empty_root, HLEN);
}

/* The tree's own context: the append path only. */
static enum gw_merkle_result tree_hash(struct gw_merkle_tree *t, uint8_t prefix,
                                       const void *a, size_t alen,
                                       const void *b, size_t blen, uint8_t out[HLEN])
{
  if(EVP_DigestInit_ex2(t->ctx, t->md, NULL) != 1 ||
     EVP_DigestUpdate(t->ctx, &prefix, 1) != 1 ||
     (alen && EVP_DigestUpdate(t->ctx, a, alen) != 1) ||
     (blen && EVP_DigestUpdate(t->ctx, b, blen) != 1) ||
     EVP_DigestFinal_ex(t->ctx, out, NULL) != 1)
    return GW_MERKLE_CRYPTO;
  return GW_MERKLE_OK;
}

/* ---- small arithmetic -------------------------------------------------- */

/* The largest power of two strictly below x, for x >= 2 (RFC 9162's k). */
static uint64_t split_point(uint64_t x)
{
  assert(x >= 2);
  return (uint64_t)1 << (63 - __builtin_clzll(x - 1));
}

static int is_pow2(uint64_t x)
{
  return x && !(x & (x - 1));
}

/* ---- the in-memory store ----------------------------------------------- */

struct mem_level {
  uint8_t *hashes; /* count * HLEN bytes used, cap * HLEN allocated */
  uint64_t count;
  uint64_t cap;
};

struct mem_store {
  struct gw_merkle_store base; /* first: the ops see a gw_merkle_store */
  unsigned magic;
  struct mem_level level[GW_MERKLE_MAX_LEVELS];
};

static struct mem_store *mem_of(struct gw_merkle_store *s)
{
  struct mem_store *m = (struct mem_store *)s;
  assert(m->magic == MEM_MAGIC);
  return m;
}

static enum gw_merkle_result mem_get(struct gw_merkle_store *s, unsigned level,
                                     uint64_t index, uint8_t out[HLEN])
{
  struct mem_store *m = mem_of(s);

  if(level >= GW_MERKLE_MAX_LEVELS || index >= m->level[level].count)
    return GW_MERKLE_NO_NODE;
  memcpy(out, m->level[level].hashes + index * HLEN, HLEN);
  return GW_MERKLE_OK;
}

static enum gw_merkle_result mem_put(struct gw_merkle_store *s, unsigned level,
                                     uint64_t index, const uint8_t hash[HLEN])
{
  struct mem_store *m = mem_of(s);
  struct mem_level *l;

  if(level >= GW_MERKLE_MAX_LEVELS)
    return GW_MERKLE_STORE;
  l = &m->level[level];
  if(index > l->count)
    return GW_MERKLE_STORE; /* a gap: the tree never does this */
  if(index == l->cap) {
    uint64_t ncap = l->cap ? l->cap * 2 : 64;
    if(ncap > SIZE_MAX / HLEN)
      return GW_MERKLE_NOMEM; /* more than the address space: not an OOM to abort on */
    l->hashes = gw_realloc(l->hashes, (size_t)ncap * HLEN);
    l->cap = ncap;
  }
  memcpy(l->hashes + index * HLEN, hash, HLEN);
  if(index == l->count)
    l->count++;
  return GW_MERKLE_OK;
}

static enum gw_merkle_result mem_truncate(struct gw_merkle_store *s, uint64_t size)
{
  struct mem_store *m = mem_of(s);

  for(unsigned k = 0; k < GW_MERKLE_MAX_LEVELS; k++)
    if(m->level[k].count > (size >> k))
      m->level[k].count = size >> k;
  return GW_MERKLE_OK;
}

static void mem_destroy(struct gw_merkle_store *s)
{
  struct mem_store *m = mem_of(s);

  for(unsigned k = 0; k < GW_MERKLE_MAX_LEVELS; k++)
    gw_free(m->level[k].hashes);
  m->magic = 0;
  gw_free(m);
}

static const struct gw_merkle_store_ops mem_ops = {
  "memory", mem_get, mem_put, mem_truncate, mem_destroy
};

struct gw_merkle_store *gw_merkle_store_mem_new(void)
{
  struct mem_store *m = gw_calloc(1, sizeof(*m));

  m->base.ops = &mem_ops;
  m->magic = MEM_MAGIC;
  return &m->base;
}

void gw_merkle_store_free(struct gw_merkle_store *s)
{
  if(s)
    s->ops->destroy(s);
}

/* ---- tree: node access -------------------------------------------------- */

/* Node (level, index), which the caller knows is complete within t->size:
 * from the frontier when it is a frontier node, else from the store. */
static enum gw_merkle_result node_get(const struct gw_merkle_tree *t, unsigned level,
                                      uint64_t index, uint8_t out[HLEN])
{
  uint64_t top = t->size >> level;

  assert(level < GW_MERKLE_MAX_LEVELS && index < top);
  if((top & 1) && index == top - 1) {
    memcpy(out, t->frontier[level], HLEN);
    return GW_MERKLE_OK;
  }
  if(!t->store)
    return GW_MERKLE_NO_NODE;
  return t->store->ops->get(t->store, level, index, out);
}

/*
 * MTH(D[lo:hi]) for a range the RFC recursion can name: lo is a multiple of a
 * power of two >= hi - lo.  The range splits into perfect blocks, one per set
 * bit of its length, largest first; its hash folds them from the right.  At
 * most 64 reads and 63 hashes.
 */
static enum gw_merkle_result range_hash(const struct gw_merkle_tree *t, uint64_t lo,
                                        uint64_t hi, uint8_t out[HLEN])
{
  uint64_t len = hi - lo;
  uint8_t node[HLEN];
  enum gw_merkle_result rc;
  int first = 1;

  assert(hi > lo);
  for(unsigned k = 0; k < GW_MERKLE_MAX_LEVELS; k++) {
    uint64_t start;
    if(!((len >> k) & 1))
      continue;
    /* the block for bit k follows every larger block */
    start = lo + (len & ~(((uint64_t)2 << k) - 1));
    rc = node_get(t, k, start >> k, first ? out : node);
    if(rc != GW_MERKLE_OK)
      return rc;
    if(!first) {
      rc = gw_merkle_hash_node(node, out, out);
      if(rc != GW_MERKLE_OK)
        return rc;
    }
    first = 0;
  }
  return GW_MERKLE_OK;
}

/* ---- tree: lifecycle and appends ---------------------------------------- */

static enum gw_merkle_result tree_alloc(struct gw_merkle_store *store,
                                        struct gw_merkle_tree **out)
{
  struct gw_merkle_tree *t = gw_calloc(1, sizeof(*t));
  enum gw_merkle_result rc = GW_MERKLE_NOMEM;

  t->magic = TREE_MAGIC;
  t->store = store;
  t->ctx = EVP_MD_CTX_new();
  if(!t->ctx)
    goto fail;
  t->md = EVP_MD_fetch(NULL, "SHA256", NULL);
  if(!t->md) {
    rc = GW_MERKLE_CRYPTO;
    goto fail;
  }
  *out = t;
  return GW_MERKLE_OK;
fail:
  gw_merkle_tree_free(t);
  return rc;
}

enum gw_merkle_result gw_merkle_tree_new(struct gw_merkle_store *store,
                                         struct gw_merkle_tree **out)
{
  uint8_t probe[HLEN];
  enum gw_merkle_result rc;

  if(store) {
    rc = store->ops->get(store, 0, 0, probe);
    if(rc == GW_MERKLE_OK)
      return GW_MERKLE_STORE_NOT_EMPTY;
    if(rc != GW_MERKLE_NO_NODE)
      return rc;
  }
  return tree_alloc(store, out);
}

void gw_merkle_tree_free(struct gw_merkle_tree *t)
{
  if(!t)
    return;
  assert(t->magic == TREE_MAGIC);
  EVP_MD_CTX_free(t->ctx);
  EVP_MD_free(t->md);
  t->magic = 0;
  gw_free(t);
}

uint64_t gw_merkle_tree_size(const struct gw_merkle_tree *t)
{
  assert(t->magic == TREE_MAGIC);
  return t->size;
}

enum gw_merkle_result gw_merkle_tree_append(struct gw_merkle_tree *t,
                                            const uint8_t leaf_hash[HLEN])
{
  /* done[k]: the node completed at level k by this leaf */
  uint8_t done[GW_MERKLE_MAX_LEVELS][HLEN];
  uint64_t n;
  unsigned top = 0;
  enum gw_merkle_result rc;

  assert(t->magic == TREE_MAGIC);
  n = t->size;
  if(n >= GW_MERKLE_MAX_SIZE)
    return GW_MERKLE_FULL;

  /* Leaf n completes one node per trailing one bit of n, each the parent of
   * the frontier node at that level and the node just completed below. */
  memcpy(done[0], leaf_hash, HLEN);
  while((n >> top) & 1) {
    rc = tree_hash(t, 0x01, t->frontier[top], HLEN, done[top], HLEN, done[top + 1]);
    if(rc != GW_MERKLE_OK)
      return rc;
    top++;
  }
  if(t->store) {
    for(unsigned k = 0; k <= top; k++) {
      rc = t->store->ops->put(t->store, k, n >> k, done[k]);
      if(rc != GW_MERKLE_OK)
        return rc;
    }
  }
  /* Levels below top leave the frontier (their bits clear); top joins it. */
  memcpy(t->frontier[top], done[top], HLEN);
  t->size = n + 1;
  return GW_MERKLE_OK;
}

enum gw_merkle_result gw_merkle_tree_append_data(struct gw_merkle_tree *t,
                                                 const void *data, size_t len,
                                                 uint8_t leaf_hash_out[HLEN])
{
  uint8_t leaf[HLEN];
  enum gw_merkle_result rc;

  assert(t->magic == TREE_MAGIC);
  rc = tree_hash(t, 0x00, data, len, NULL, 0, leaf);
  if(rc != GW_MERKLE_OK)
    return rc;
  rc = gw_merkle_tree_append(t, leaf);
  if(rc == GW_MERKLE_OK && leaf_hash_out)
    memcpy(leaf_hash_out, leaf, HLEN);
  return rc;
}

/* ---- tree: roots and proofs --------------------------------------------- */

enum gw_merkle_result gw_merkle_tree_root(const struct gw_merkle_tree *t, uint8_t out[HLEN])
{
  assert(t->magic == TREE_MAGIC);
  if(!t->size) {
    gw_merkle_empty_root(out);
    return GW_MERKLE_OK;
  }
  return range_hash(t, 0, t->size, out);
}

enum gw_merkle_result gw_merkle_tree_root_at(const struct gw_merkle_tree *t, uint64_t size,
                                             uint8_t out[HLEN])
{
  assert(t->magic == TREE_MAGIC);
  if(size > t->size)
    return GW_MERKLE_BAD_SIZE;
  if(!size) {
    gw_merkle_empty_root(out);
    return GW_MERKLE_OK;
  }
  return range_hash(t, 0, size, out);
}

enum gw_merkle_result gw_merkle_tree_leaf_hash(const struct gw_merkle_tree *t, uint64_t index,
                                               uint8_t out[HLEN])
{
  assert(t->magic == TREE_MAGIC);
  if(index >= t->size)
    return GW_MERKLE_BAD_INDEX;
  return node_get(t, 0, index, out);
}

/* The walks below collect hashes root-first; RFC order is leaf-first. */
static void proof_reverse(struct gw_merkle_proof *p)
{
  uint8_t tmp[HLEN];

  for(size_t i = 0, j = p->len; i + 1 < j; i++, j--) {
    memcpy(tmp, p->hash[i], HLEN);
    memcpy(p->hash[i], p->hash[j - 1], HLEN);
    memcpy(p->hash[j - 1], tmp, HLEN);
  }
}

/*
 * PATH(index, D[0:n]) unrolled: walk from the root towards the leaf, taking
 * the sibling subtree at each split.  Once the walk goes left the rest is
 * perfect, so only one sibling can need range_hash's fold: O(log n) reads.
 */
enum gw_merkle_result gw_merkle_tree_inclusion_proof(const struct gw_merkle_tree *t,
                                                     uint64_t index, uint64_t tree_size,
                                                     struct gw_merkle_proof *proof)
{
  uint64_t lo = 0, hi = tree_size;
  enum gw_merkle_result rc;

  assert(t->magic == TREE_MAGIC);
  if(tree_size > t->size)
    return GW_MERKLE_BAD_SIZE;
  if(index >= tree_size)
    return GW_MERKLE_BAD_INDEX;
  proof->len = 0;
  while(hi - lo > 1) {
    uint64_t k = split_point(hi - lo);
    if(proof->len == GW_MERKLE_MAX_PROOF)
      return GW_MERKLE_PROOF_TOO_LONG; /* unreachable below GW_MERKLE_MAX_SIZE */
    if(index < lo + k) {
      rc = range_hash(t, lo + k, hi, proof->hash[proof->len]);
      hi = lo + k;
    }
    else {
      rc = range_hash(t, lo, lo + k, proof->hash[proof->len]);
      lo += k;
    }
    if(rc != GW_MERKLE_OK)
      return rc;
    proof->len++;
  }
  proof_reverse(proof);
  return GW_MERKLE_OK;
}

/*
 * SUBPROOF(m, D[0:n], true) unrolled.  At each split the side not containing
 * the old tree's right edge is emitted whole; when the walk has gone right at
 * least once, the old tree's root is not known to the verifier, so the final
 * subtree D[lo:m] is emitted too.
 */
enum gw_merkle_result gw_merkle_tree_consistency_proof(const struct gw_merkle_tree *t,
                                                       uint64_t m, uint64_t n,
                                                       struct gw_merkle_proof *proof)
{
  uint64_t lo = 0, hi = n;
  int have_root = 1;
  enum gw_merkle_result rc;

  assert(t->magic == TREE_MAGIC);
  if(n > t->size || m > n)
    return GW_MERKLE_BAD_SIZE;
  proof->len = 0;
  if(m == 0 || m == n)
    return GW_MERKLE_OK;
  while(m != hi) {
    uint64_t k = split_point(hi - lo);
    if(proof->len == GW_MERKLE_MAX_PROOF)
      return GW_MERKLE_PROOF_TOO_LONG;
    if(m - lo <= k) {
      rc = range_hash(t, lo + k, hi, proof->hash[proof->len]);
      hi = lo + k;
    }
    else {
      rc = range_hash(t, lo, lo + k, proof->hash[proof->len]);
      lo += k;
      have_root = 0;
    }
    if(rc != GW_MERKLE_OK)
      return rc;
    proof->len++;
  }
  if(!have_root) {
    if(proof->len == GW_MERKLE_MAX_PROOF)
      return GW_MERKLE_PROOF_TOO_LONG;
    rc = range_hash(t, lo, hi, proof->hash[proof->len]);
    if(rc != GW_MERKLE_OK)
      return rc;
    proof->len++;
  }
  proof_reverse(proof);
  return GW_MERKLE_OK;
}

/* ---- frontier save/restore ---------------------------------------------- */

static void put_be64(uint8_t *p, uint64_t v)
{
  for(int i = 7; i >= 0; i--) {
    p[i] = (uint8_t)v;
    v >>= 8;
  }
}

static uint64_t get_be64(const uint8_t *p)
{
  uint64_t v = 0;

  for(int i = 0; i < 8; i++)
    v = (v << 8) | p[i];
  return v;
}

static size_t frontier_len(uint64_t size)
{
  return FRONTIER_HDR + (size_t)__builtin_popcountll(size) * HLEN + HLEN;
}

enum gw_merkle_result gw_merkle_tree_save_frontier(const struct gw_merkle_tree *t,
                                                   uint8_t *buf, size_t cap, size_t *len)
{
  size_t need, off = FRONTIER_HDR;

  assert(t->magic == TREE_MAGIC);
  need = frontier_len(t->size);
  if(cap < need)
    return GW_MERKLE_SHORT_BUFFER;
  memcpy(buf, frontier_magic, 4);
  buf[4] = FRONTIER_VERSION;
  buf[5] = buf[6] = buf[7] = 0;
  put_be64(buf + 8, t->size);
  for(int k = GW_MERKLE_MAX_LEVELS - 1; k >= 0; k--) {
    if((t->size >> k) & 1) {
      memcpy(buf + off, t->frontier[k], HLEN);
      off += HLEN;
    }
  }
  if(!SHA256(buf, off, buf + off))
    return GW_MERKLE_CRYPTO;
  *len = need;
  return GW_MERKLE_OK;
}

enum gw_merkle_result gw_merkle_tree_restore(struct gw_merkle_store *store,
                                             const uint8_t *buf, size_t len,
                                             struct gw_merkle_tree **out)
{
  struct gw_merkle_tree *t = NULL;
  uint8_t check[HLEN], stored[HLEN];
  uint64_t size;
  size_t off = FRONTIER_HDR;
  enum gw_merkle_result rc;

  if(len < FRONTIER_HDR + HLEN || memcmp(buf, frontier_magic, 4) != 0 ||
     buf[4] != FRONTIER_VERSION || buf[5] || buf[6] || buf[7])
    return GW_MERKLE_BAD_FRONTIER;
  size = get_be64(buf + 8);
  if(size > GW_MERKLE_MAX_SIZE || len != frontier_len(size))
    return GW_MERKLE_BAD_FRONTIER;
  if(!SHA256(buf, len - HLEN, check))
    return GW_MERKLE_CRYPTO;
  if(memcmp(check, buf + len - HLEN, HLEN) != 0)
    return GW_MERKLE_BAD_FRONTIER;

  rc = tree_alloc(store, &t);
  if(rc != GW_MERKLE_OK)
    return rc;
  t->size = size;
  for(int k = GW_MERKLE_MAX_LEVELS - 1; k >= 0; k--) {
    if((size >> k) & 1) {
      memcpy(t->frontier[k], buf + off, HLEN);
      off += HLEN;
    }
  }

  /* Check before truncating: a frontier that does not belong to this store
   * must not cost the store its nodes. */
  if(store) {
    for(unsigned k = 0; k < GW_MERKLE_MAX_LEVELS; k++) {
      if(!((size >> k) & 1))
        continue;
      rc = store->ops->get(store, k, (size >> k) - 1, stored);
      if(rc == GW_MERKLE_NO_NODE || (rc == GW_MERKLE_OK && memcmp(stored, t->frontier[k], HLEN)))
        rc = GW_MERKLE_BAD_FRONTIER;
      if(rc != GW_MERKLE_OK)
        goto fail;
    }
    rc = store->ops->truncate(store, size);
    if(rc != GW_MERKLE_OK)
      goto fail;
  }
  *out = t;
  return GW_MERKLE_OK;
fail:
  gw_merkle_tree_free(t);
  return rc;
}

/* ---- verification -------------------------------------------------------- */

enum gw_merkle_result gw_merkle_root_from_inclusion(const uint8_t leaf_hash[HLEN],
                                                   uint64_t index, uint64_t tree_size,
                                                   const struct gw_merkle_proof *proof,
                                                   uint8_t root_out[HLEN])
{
  uint8_t r[HLEN];
  uint64_t fn, sn;
  enum gw_merkle_result rc;

  if(tree_size > GW_MERKLE_MAX_SIZE)
    return GW_MERKLE_BAD_SIZE;
  if(index >= tree_size)
    return GW_MERKLE_BAD_INDEX;
  if(proof->len > GW_MERKLE_MAX_PROOF)
    return GW_MERKLE_PROOF_TOO_LONG;

  /* RFC 9162 2.1.3.2, steps 2-5 */
  fn = index;
  sn = tree_size - 1;
  memcpy(r, leaf_hash, HLEN);
  for(size_t i = 0; i < proof->len; i++) {
    const uint8_t *p = proof->hash[i];
    if(sn == 0)
      return GW_MERKLE_PROOF_TOO_LONG;
    if((fn & 1) || fn == sn) {
      rc = gw_merkle_hash_node(p, r, r);
      if(!(fn & 1))
        while(!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
    }
    else
      rc = gw_merkle_hash_node(r, p, r);
    if(rc != GW_MERKLE_OK)
      return rc;
    fn >>= 1;
    sn >>= 1;
  }
  if(sn != 0)
    return GW_MERKLE_PROOF_TOO_SHORT;
  memcpy(root_out, r, HLEN);
  return GW_MERKLE_OK;
}

enum gw_merkle_result gw_merkle_verify_inclusion(const uint8_t leaf_hash[HLEN],
                                                 uint64_t index, uint64_t tree_size,
                                                 const struct gw_merkle_proof *proof,
                                                 const uint8_t root[HLEN])
{
  uint8_t r[HLEN];
  enum gw_merkle_result rc = gw_merkle_root_from_inclusion(leaf_hash, index, tree_size,
                                                           proof, r);
  if(rc != GW_MERKLE_OK)
    return rc;
  return memcmp(r, root, HLEN) ? GW_MERKLE_MISMATCH : GW_MERKLE_OK;
}

enum gw_merkle_result gw_merkle_verify_consistency(uint64_t m, uint64_t n,
                                                   const uint8_t root_m[HLEN],
                                                   const uint8_t root_n[HLEN],
                                                   const struct gw_merkle_proof *proof)
{
  uint8_t fr[HLEN], sr[HLEN];
  uint64_t fn, sn;
  size_t i;
  enum gw_merkle_result rc;

  if(n > GW_MERKLE_MAX_SIZE || m > n)
    return GW_MERKLE_BAD_SIZE;
  if(proof->len > GW_MERKLE_MAX_PROOF)
    return GW_MERKLE_PROOF_TOO_LONG;
  if(m == n || m == 0) {
    if(proof->len)
      return GW_MERKLE_PROOF_TOO_LONG;
    if(m == 0 && memcmp(root_m, empty_root, HLEN))
      return GW_MERKLE_MISMATCH;
    if(m == n && memcmp(root_m, root_n, HLEN))
      return GW_MERKLE_MISMATCH;
    return GW_MERKLE_OK;
  }
  /* RFC 9162 2.1.4.2; step 2 ("prepend first_hash when m is a power of
   * two") is done by seeding fr/sr from root_m instead of proof[0]. */
  if(proof->len == 0)
    return GW_MERKLE_PROOF_TOO_SHORT;
  fn = m - 1;
  sn = n - 1;
  while(fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  if(is_pow2(m)) {
    memcpy(fr, root_m, HLEN);
    i = 0;
  }
  else {
    memcpy(fr, proof->hash[0], HLEN);
    i = 1;
  }
  memcpy(sr, fr, HLEN);
  for(; i < proof->len; i++) {
    const uint8_t *c = proof->hash[i];
    if(sn == 0)
      return GW_MERKLE_PROOF_TOO_LONG;
    if((fn & 1) || fn == sn) {
      rc = gw_merkle_hash_node(c, fr, fr);
      if(rc == GW_MERKLE_OK)
        rc = gw_merkle_hash_node(c, sr, sr);
      if(!(fn & 1))
        while(!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
    }
    else
      rc = gw_merkle_hash_node(sr, c, sr);
    if(rc != GW_MERKLE_OK)
      return rc;
    fn >>= 1;
    sn >>= 1;
  }
  if(sn != 0)
    return GW_MERKLE_PROOF_TOO_SHORT;
  if(memcmp(fr, root_m, HLEN) || memcmp(sr, root_n, HLEN))
    return GW_MERKLE_MISMATCH;
  return GW_MERKLE_OK;
}
