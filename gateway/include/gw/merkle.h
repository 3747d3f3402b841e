/*
 * gw/merkle.h - the RFC 9162 Merkle tree behind the audit log.
 *
 * The one idea: an append-only tree needs only its right edge (the
 * "frontier": one perfect-subtree root per set bit of the size) to append and
 * to give the current root, and every other question (a root at a past size,
 * an inclusion or consistency proof) is answered from perfect-subtree hashes
 * that never change once complete.  So the tree keeps the frontier in memory
 * and hands every completed node to a small storage interface, addressed by
 * (level, index); proofs then cost O(log n) node reads.  The frontier can be
 * saved and restored in a few hundred bytes, so a restart does not rehash the
 * log.  Verification takes hashes only (no tree, no store, no allocation), so
 * gwctl can check proofs offline.
 *
 * Hashing (RFC 9162 section 2.1): leaf = SHA-256(0x00 || d),
 * node = SHA-256(0x01 || left || right), empty tree = SHA-256("").
 *
 * Never here: the log file, record framing, fsync, checkpoints, signatures,
 * HTTP, base64.  Those belong to the audit subsystem; see docs/merkle.md.
 *
 * Threads: a tree is not locked.  Appends need exclusive access; reads
 * (roots, proofs, leaf hashes) may run concurrently with each other when the
 * store's get() allows it (the in-memory store does while nobody appends).
 */
#ifndef GW_MERKLE_H
#define GW_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#define GW_MERKLE_HASH_LEN 32

/* Every proof has at most this many hashes, and no loop walks deeper. */
#define GW_MERKLE_MAX_PROOF 64

/* Node levels 0 (leaves) .. 63 (a perfect subtree of 2^63 leaves). */
#define GW_MERKLE_MAX_LEVELS 64

/* Largest tree size accepted anywhere, 2^63.  Beyond it a consistency proof
 * could need 65 hashes (e.g. m = 2^64-3, n = 2^64-1); at a million records a
 * second the log reaches 2^63 in some 290,000 years. */
#define GW_MERKLE_MAX_SIZE ((uint64_t)1 << 63)

/* Upper bound of a saved frontier: 16-byte header, one hash per set bit of
 * the size, and a SHA-256 check of the rest.  A log of a million entries needs
 * 16 + 7*32 + 32 = 272 bytes. */
#define GW_MERKLE_FRONTIER_MAX_LEN (16 + GW_MERKLE_MAX_LEVELS * GW_MERKLE_HASH_LEN + GW_MERKLE_HASH_LEN)

enum gw_merkle_result {
  GW_MERKLE_OK = 0,
  GW_MERKLE_BAD_INDEX,        /* leaf index >= tree size */
  GW_MERKLE_BAD_SIZE,         /* size larger than the tree, first > second,
                                 or above GW_MERKLE_MAX_SIZE */
  GW_MERKLE_PROOF_TOO_SHORT,  /* fewer hashes than (index, size) or (m, n) need */
  GW_MERKLE_PROOF_TOO_LONG,   /* more hashes than needed, or > GW_MERKLE_MAX_PROOF */
  GW_MERKLE_MISMATCH,         /* well-formed proof, but the root(s) differ */
  GW_MERKLE_FULL,             /* append would pass GW_MERKLE_MAX_SIZE */
  GW_MERKLE_BAD_FRONTIER,     /* saved frontier malformed, fails its check,
                                 or disagrees with the store */
  GW_MERKLE_STORE_NOT_EMPTY,  /* a new tree was given a store holding nodes */
  GW_MERKLE_NO_NODE,          /* the store does not hold a node asked for
                                 (or the tree has no store) */
  GW_MERKLE_STORE,            /* the store failed (I/O, a gap in its levels) */
  GW_MERKLE_NOMEM,            /* OpenSSL could not allocate, or a store
                                 level would pass the address space (our own
                                 allocations abort, see gw/alloc.h) */
  GW_MERKLE_CRYPTO,           /* OpenSSL's SHA-256 failed */
  GW_MERKLE_SHORT_BUFFER      /* output buffer too small */
};

/* A short English description, e.g. "proof has too few hashes".  Static
 * storage; never NULL. */
const char *gw_merkle_strerror(enum gw_merkle_result r);

/* An inclusion or consistency proof: `len` hashes in RFC 9162 order (from
 * the leaf or the old root upward).  A plain value the caller owns, 2 KiB;
 * fine on the stack. */
struct gw_merkle_proof {
  size_t len;
  uint8_t hash[GW_MERKLE_MAX_PROOF][GW_MERKLE_HASH_LEN];
};

/* ---- hashing ---------------------------------------------------------- */

/* out = SHA-256(0x00 || data[0..len)).  `data` may be NULL when len is 0.
 * Returns GW_MERKLE_OK or GW_MERKLE_NOMEM/GW_MERKLE_CRYPTO. */
enum gw_merkle_result gw_merkle_hash_leaf(const void *data, size_t len,
                                          uint8_t out[GW_MERKLE_HASH_LEN])
  __attribute__((warn_unused_result));

/* out = SHA-256(0x01 || left || right).  `out` may alias either input.
 * No allocation in this code.  Returns GW_MERKLE_OK or GW_MERKLE_CRYPTO. */
enum gw_merkle_result gw_merkle_hash_node(const uint8_t left[GW_MERKLE_HASH_LEN],
                                          const uint8_t right[GW_MERKLE_HASH_LEN],
                                          uint8_t out[GW_MERKLE_HASH_LEN])
  __attribute__((warn_unused_result));

/* The root of the empty tree, SHA-256(""), copied into out. */
void gw_merkle_empty_root(uint8_t out[GW_MERKLE_HASH_LEN]);

/* ---- node storage ----------------------------------------------------- */

/*
 * Layout.  Node (level, index) is the root of the perfect subtree over leaves
 * [index * 2^level, (index + 1) * 2^level); level 0 holds the leaf hashes.
 * A node is put once it is complete and never changes, so a tree of size n
 * holds floor(n / 2^level) nodes at each level, fewer than 2n in all, and
 * each level only grows at its end: a file-backed store can keep one file per
 * level with node i at byte offset 32 * i and truncate a level to
 * (n >> level) * 32 bytes.
 *
 * An implementation embeds struct gw_merkle_store as its first member and
 * points `ops` at a const table.  Every callback returns GW_MERKLE_OK or an
 * error; the tree passes errors through to its caller unchanged.
 */
struct gw_merkle_store;

struct gw_merkle_store_ops {
  const char *name;
  /* Copies node (level, index) into out.  GW_MERKLE_NO_NODE when the store
   * does not hold it, GW_MERKLE_STORE on I/O failure. */
  enum gw_merkle_result (*get)(struct gw_merkle_store *s, unsigned level,
                               uint64_t index, uint8_t out[GW_MERKLE_HASH_LEN]);
  /* Stores node (level, index).  Per level the tree puts indexes in order
   * without gaps (0, 1, 2, ... after a truncate to n: n >> level, ...), and
   * may put an index it put before (an append retried after a failed put);
   * the store then replaces it.  Durability is the store's business. */
  enum gw_merkle_result (*put)(struct gw_merkle_store *s, unsigned level,
                               uint64_t index, const uint8_t hash[GW_MERKLE_HASH_LEN]);
  /* Drops every node not wholly inside leaves [0, size): at each level keeps
   * indexes below size >> level.  Keeping more is harmless. */
  enum gw_merkle_result (*truncate)(struct gw_merkle_store *s, uint64_t size);
  /* Frees the store and everything it owns. */
  void (*destroy)(struct gw_merkle_store *s);
};

struct gw_merkle_store {
  const struct gw_merkle_store_ops *ops;
};

/* A new empty store in process memory: one growing array of hashes per
 * level (64 bytes per leaf in all).  The caller owns it and frees it with
 * gw_merkle_store_free.  Never NULL: memory comes from gw/alloc.h, which
 * aborts on exhaustion. */
struct gw_merkle_store *gw_merkle_store_mem_new(void);

/* Destroys any store through its ops.  NULL is a no-op.  The caller makes
 * sure no tree still uses it. */
void gw_merkle_store_free(struct gw_merkle_store *s);

/* ---- the incremental tree --------------------------------------------- */

struct gw_merkle_tree;

/* A new empty tree over `store`, which the tree borrows: the caller keeps
 * ownership and keeps it alive until gw_merkle_tree_free.  `store` may be
 * NULL: the tree then keeps only its frontier (appends and the current root
 * work; past roots and proofs give GW_MERKLE_NO_NODE).  A store that already
 * holds a leaf gives GW_MERKLE_STORE_NOT_EMPTY (continue it with
 * gw_merkle_tree_restore instead).  On success *out is owned by the caller. */
enum gw_merkle_result gw_merkle_tree_new(struct gw_merkle_store *store,
                                         struct gw_merkle_tree **out)
  __attribute__((warn_unused_result));

/* Frees the tree; never touches the store.  NULL is a no-op. */
void gw_merkle_tree_free(struct gw_merkle_tree *t);

/* The number of leaves appended so far. */
uint64_t gw_merkle_tree_size(const struct gw_merkle_tree *t);

/* Appends one leaf hash (already SHA-256(0x00 || record)): puts the leaf and
 * every node it completes, O(1) amortized hashes and puts.  On any error the
 * tree is unchanged (the store may hold nodes the retry will put again). */
enum gw_merkle_result gw_merkle_tree_append(struct gw_merkle_tree *t,
                                            const uint8_t leaf_hash[GW_MERKLE_HASH_LEN])
  __attribute__((warn_unused_result));

/* Hashes `data` as a leaf and appends it.  `leaf_hash_out` (may be NULL)
 * receives the leaf hash. */
enum gw_merkle_result gw_merkle_tree_append_data(struct gw_merkle_tree *t,
                                                 const void *data, size_t len,
                                                 uint8_t leaf_hash_out[GW_MERKLE_HASH_LEN])
  __attribute__((warn_unused_result));

/* The root at the current size, from the frontier only (no store reads). */
enum gw_merkle_result gw_merkle_tree_root(const struct gw_merkle_tree *t,
                                          uint8_t out[GW_MERKLE_HASH_LEN])
  __attribute__((warn_unused_result));

/* The root the tree had at `size` (0 .. current size): one store read per
 * set bit of size.  GW_MERKLE_BAD_SIZE past the current size. */
enum gw_merkle_result gw_merkle_tree_root_at(const struct gw_merkle_tree *t, uint64_t size,
                                             uint8_t out[GW_MERKLE_HASH_LEN])
  __attribute__((warn_unused_result));

/* The leaf hash at `index`.  GW_MERKLE_BAD_INDEX past the end. */
enum gw_merkle_result gw_merkle_tree_leaf_hash(const struct gw_merkle_tree *t, uint64_t index,
                                               uint8_t out[GW_MERKLE_HASH_LEN])
  __attribute__((warn_unused_result));

/* RFC 9162 2.1.3.1 PATH(index, D[0:tree_size]) into *proof, for any
 * tree_size up to the current size.  GW_MERKLE_BAD_SIZE when tree_size is
 * past the current size, GW_MERKLE_BAD_INDEX when index >= tree_size.
 * O(log n) store reads.  *proof is undefined on error. */
enum gw_merkle_result gw_merkle_tree_inclusion_proof(const struct gw_merkle_tree *t,
                                                     uint64_t index, uint64_t tree_size,
                                                     struct gw_merkle_proof *proof)
  __attribute__((warn_unused_result));

/* RFC 9162 2.1.4.1 PROOF(m, D[0:n]) into *proof, 0 <= m <= n <= current
 * size.  m == 0 and m == n give an empty proof (RFC 9162 leaves them
 * undefined; this is what transparency-dev/merkle does).  GW_MERKLE_BAD_SIZE
 * when m > n or n is past the current size. */
enum gw_merkle_result gw_merkle_tree_consistency_proof(const struct gw_merkle_tree *t,
                                                       uint64_t m, uint64_t n,
                                                       struct gw_merkle_proof *proof)
  __attribute__((warn_unused_result));

/*
 * Frontier save/restore.  The saved form (all integers big-endian):
 *   "GWMF" | version 1 | 3 zero bytes | size (u64) |
 *   popcount(size) hashes, largest subtree (leftmost) first |
 *   SHA-256 of everything before it
 * The check catches damage, not forgery: after restoring, the caller compares
 * gw_merkle_tree_root with the root in its signed checkpoint.
 */

/* Writes the frontier into buf[0..cap) and its length into *len.
 * GW_MERKLE_SHORT_BUFFER when cap is too small (GW_MERKLE_FRONTIER_MAX_LEN
 * always suffices). */
enum gw_merkle_result gw_merkle_tree_save_frontier(const struct gw_merkle_tree *t,
                                                   uint8_t *buf, size_t cap, size_t *len)
  __attribute__((warn_unused_result));

/* A tree at the size saved in buf[0..len), over `store` (borrowed as in
 * gw_merkle_tree_new; may be NULL).  With a store, restore first checks that
 * the store holds each frontier node with the saved hash (so the store must
 * be durable up to the size before the frontier is saved), then truncates the
 * store to the saved size: nodes past it are put again as the caller replays
 * the log records after the checkpoint.  GW_MERKLE_BAD_FRONTIER when the blob
 * is malformed, fails its check or disagrees with the store (the store is
 * then left as it was).  On success *out is owned by the caller. */
enum gw_merkle_result gw_merkle_tree_restore(struct gw_merkle_store *store,
                                             const uint8_t *buf, size_t len,
                                             struct gw_merkle_tree **out)
  __attribute__((warn_unused_result));

/* ---- verification (hashes only; no allocation in this code) ------------ */

/* RFC 9162 2.1.3.2: the root that `proof` yields for leaf_hash at index in a
 * tree of tree_size leaves, into root_out.  GW_MERKLE_BAD_SIZE above
 * GW_MERKLE_MAX_SIZE, GW_MERKLE_BAD_INDEX when index >= tree_size,
 * GW_MERKLE_PROOF_TOO_SHORT / _TOO_LONG when the length does not fit. */
enum gw_merkle_result gw_merkle_root_from_inclusion(const uint8_t leaf_hash[GW_MERKLE_HASH_LEN],
                                                   uint64_t index, uint64_t tree_size,
                                                   const struct gw_merkle_proof *proof,
                                                   uint8_t root_out[GW_MERKLE_HASH_LEN])
  __attribute__((warn_unused_result));

/* As above, then GW_MERKLE_MISMATCH unless the result equals `root`. */
enum gw_merkle_result gw_merkle_verify_inclusion(const uint8_t leaf_hash[GW_MERKLE_HASH_LEN],
                                                 uint64_t index, uint64_t tree_size,
                                                 const struct gw_merkle_proof *proof,
                                                 const uint8_t root[GW_MERKLE_HASH_LEN])
  __attribute__((warn_unused_result));

/* RFC 9162 2.1.4.2: checks that the tree of m leaves with root root_m is a
 * prefix of the tree of n leaves with root root_n.  m == n needs an empty
 * proof and equal roots; m == 0 needs an empty proof and root_m equal to the
 * empty root.  GW_MERKLE_BAD_SIZE when m > n or n > GW_MERKLE_MAX_SIZE. */
enum gw_merkle_result gw_merkle_verify_consistency(uint64_t m, uint64_t n,
                                                   const uint8_t root_m[GW_MERKLE_HASH_LEN],
                                                   const uint8_t root_n[GW_MERKLE_HASH_LEN],
                                                   const struct gw_merkle_proof *proof)
  __attribute__((warn_unused_result));

#endif
