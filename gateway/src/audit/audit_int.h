/*
 * audit_int.h - internals shared by the audit files:
 *
 *   audit.c         the append path, the commit thread, checkpoints, readers
 *   audit_open.c    open, recovery and close
 *   audit_record.c  the framed-file format: headers, CRC-32C, record checks,
 *                   and the scanner that tells a torn tail from corruption
 *   audit_store.c   derived/: fixed-width column files, the file-backed
 *                   Merkle node store, record offsets, the resume state
 *   audit_verify.c  the offline verifier
 *
 * Nothing here is public; tests include it to build or damage logs.
 */
#ifndef GW_AUDIT_INT_H
#define GW_AUDIT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "gw/audit.h"
#include "gw/merkle.h"

/* ---- file names -------------------------------------------------------- */

#define AUDIT_F_LOG_ID      "log-id"
#define AUDIT_F_RECORDS     "records"
#define AUDIT_F_CHECKPOINTS "checkpoints"
#define AUDIT_F_LOCK        "lock"
#define AUDIT_D_DERIVED     "derived"
#define AUDIT_F_STATE       "state"
#define AUDIT_F_OFFSETS     "offsets"

/* ---- framed files (audit_record.c) -------------------------------------- */

/* Header: 8 magic bytes, version (u32 BE) = 1, 4 zero bytes. */
#define AUDIT_HDR_LEN       16
#define AUDIT_VERSION       1
#define AUDIT_MAGIC_RECORDS "GWAUDREC"
#define AUDIT_MAGIC_CKPTS   "GWAUDCKP"
/* A frame: u32 BE length, bytes, u32 BE CRC-32C of length and bytes. */
#define AUDIT_FRAME_OVERHEAD 8

void audit_put_be32(uint8_t *p, uint32_t v);
uint32_t audit_get_be32(const uint8_t *p);
void audit_put_be64(uint8_t *p, uint64_t v);
uint64_t audit_get_be64(const uint8_t *p);

/* CRC-32C (Castagnoli, reflected 0x82F63B78), chainable: start with crc = 0.
 * audit_crc32c(0, "123456789", 9) == 0xe3069283. */
uint32_t audit_crc32c(uint32_t crc, const void *p, size_t n);
/* The portable table-driven one, which audit_crc32c uses where the CPU has
 * no CRC-32C instruction (exposed so tests check both). */
uint32_t audit_crc32c_sw(uint32_t crc, const void *p, size_t n);

/* Frames bytes[0..len) into out[0..len + AUDIT_FRAME_OVERHEAD). */
void audit_frame(const void *bytes, size_t len, uint8_t *out);

/* The 16-byte header with `magic` (8 characters). */
void audit_header(const char *magic, uint8_t out[AUDIT_HDR_LEN]);

/* 0 when fd starts with the header of `magic`, else -1 (why filled). */
int audit_header_check(int fd, const char *magic, char *why, size_t why_len);

/* gw_audit_record_check without the public wrapper's NULL checks. */
enum gw_audit_result audit_record_check(const void *bytes, size_t len, char *why, size_t why_len);

enum audit_scan_status {
  AUDIT_SCAN_RECORD = 0, /* s->rec / rec_len / rec_offset hold the next one */
  AUDIT_SCAN_END,        /* clean end of file at s->pos */
  AUDIT_SCAN_TORN,       /* bytes from s->pos to EOF are a torn tail */
  AUDIT_SCAN_CORRUPT,    /* damage at s->pos that is not a tail (s->why) */
  AUDIT_SCAN_IO          /* read failed (s->why, errno) */
};

/* A buffered forward reader of a framed file from a given offset up to the
 * file size seen at init.  Single-threaded; pread only, so other threads
 * may append to the file meanwhile (what was appended after init is not
 * seen). */
struct audit_scan {
  int fd;
  uint64_t end;          /* file size at init */
  uint64_t pos;          /* offset of the next frame */
  uint64_t index;        /* number of the frame at pos */
  uint32_t max_len;
  uint8_t *buf;
  size_t buf_cap;
  uint64_t buf_off;      /* file offset of buf[0] */
  size_t buf_len;
  const uint8_t *rec;    /* AUDIT_SCAN_RECORD: points into buf, valid until
                            the next call */
  uint32_t rec_len;
  uint64_t rec_offset;
  uint64_t rec_index;
  char why[256];
};

/* Starts at `offset` (numbering frames from `first_index`).  -1 when the
 * file cannot be stat()ed. */
int audit_scan_init(struct audit_scan *s, int fd, uint64_t offset, uint64_t first_index,
                    uint32_t max_len);
enum audit_scan_status audit_scan_next(struct audit_scan *s);
void audit_scan_free(struct audit_scan *s);

/* Reads the frame at `off` (length at most max_len) and checks it: 0 with
 * *out (record bytes, owned by the caller: gw_free()) and *len; -1 when the
 * read fails or the file ends (errno, 0 for a short file); -2 when the
 * length or the checksum is wrong. */
int audit_read_frame(int fd, uint64_t off, uint32_t max_len, uint8_t **out, size_t *len);

/* Writes all of buf at `off`.  0 or -1 (errno set). */
int audit_pwrite_all(int fd, const void *buf, size_t len, uint64_t off);
/* Reads exactly len bytes at `off`.  0, or -1 (errno set; 0 = short file). */
int audit_pread_all(int fd, void *buf, size_t len, uint64_t off);

/* ---- derived/ (audit_store.c) ------------------------------------------ */

/* A file of fixed-width entries that only grows at its end.  Entries not yet
 * written out wait in memory (`pend`); `flushed` entries are in the file.
 * Locking is the caller's: get may run concurrently with other gets, never
 * with put/truncate/flush. */
struct audit_column {
  int fd;                /* -1 until the first put (file created lazily) */
  int dirfd;             /* borrowed */
  char name[24];
  unsigned width;
  uint64_t count;        /* entries held (file + pend) */
  uint64_t flushed;      /* entries written to the file */
  uint8_t *pend;         /* entries [flushed, count) */
  size_t pend_cap;       /* in entries */
  int dirty;             /* written since the last sync */
  int created;           /* file created since the last sync of the dir */
};

/* The node store over derived/level-NN plus the offsets column.  Its first
 * member makes it a struct gw_merkle_store for gw/merkle.h. */
struct audit_store {
  struct gw_merkle_store base;
  unsigned magic;
  int dirfd;                                   /* owned */
  struct audit_column level[GW_MERKLE_MAX_LEVELS];
  struct audit_column offsets;                 /* u64 BE record offsets */
};

/* Opens derived/ under `dirfd`, creating it if needed.  NULL on failure
 * (errno set).  Freed through gw_merkle_store_free. */
struct audit_store *audit_store_open(int dirfd);

/* Record offsets: the byte offset of record i in the records file. */
int audit_offsets_get(struct audit_store *st, uint64_t i, uint64_t *off);
int audit_offsets_put(struct audit_store *st, uint64_t i, uint64_t off);
uint64_t audit_offsets_count(const struct audit_store *st);

/* Drops everything: the log is rehashed from its first record. */
int audit_store_reset(struct audit_store *st);
/* Truncates the offsets to n entries (the levels via the merkle ops). */
int audit_offsets_truncate(struct audit_store *st, uint64_t n);

/* Writes every pending entry to its file (no sync).  Needs exclusive
 * access. */
int audit_store_flush(struct audit_store *st);
/* fdatasync()s every file written since the last sync, and derived/ when a
 * file was created.  Touches no entry: may run beside readers. */
int audit_store_sync(struct audit_store *st);

/* The resume point: the tree at `size` records ends at records_end in the
 * records file; the checkpoints file was ckpt_end bytes holding ckpt_count
 * notes, the latest at ckpt_last (0: none).  Saved as derived/state:
 *   "GWAS" | version 1 | 3 zero | size | records_end | ckpt_end |
 *   ckpt_count | ckpt_last (u64 BE each) | u32 BE frontier length |
 *   frontier | SHA-256 of everything before it */
struct audit_state {
  uint64_t size;
  uint64_t records_end;
  uint64_t ckpt_end;
  uint64_t ckpt_count;
  uint64_t ckpt_last;
  uint8_t frontier[GW_MERKLE_FRONTIER_MAX_LEN];
  size_t frontier_len;
};

/* Atomically replaces derived/state (temp file, fsync, rename, fsync dir).
 * The node store must be synced up to st->size first. */
int audit_state_save(struct audit_store *store, const struct audit_state *st);
/* 0 loaded; 1 no state file; -1 damaged (why filled). */
int audit_state_load(struct audit_store *store, struct audit_state *st, char *why, size_t why_len);

/* Writes `len` bytes as file `name` in dirfd atomically (temp + fsync +
 * rename + fsync of the directory).  0 or -1 (errno). */
int audit_write_file_atomic(int dirfd, const char *name, const void *data, size_t len);

/* ---- the query index (audit_index.c) ------------------------------------ */

#define AUDIT_QID_BYTES 12     /* "q_" + 24 hex digits (gw_randid) */

struct audit_qslot;
/* A multimap query id -> record index, in memory only (rebuilt at open).
 * Locking is the log's rw: add under the write lock, find under either. */
struct audit_qentry;
struct audit_qindex {
  struct audit_qslot *slots;   /* cap slots, a power of two, or NULL: one per key */
  size_t cap, n;               /* n: keys held */
  struct audit_qentry *ents;   /* every (key, record) pair, chained per key */
  size_t n_ents, cap_ents;
};

/* "q_" + 24 lowercase hex digits s[0..n) into id.  0, or -1 when it is not. */
int audit_qid_parse(const char *s, size_t n, uint8_t id[AUDIT_QID_BYTES]);
/* 1 with id set when record bytes rec[0..len) hold "query_id":"q_<hex>"
 * (the first such member), else 0. */
int audit_qid_extract(const uint8_t *rec, size_t len, uint8_t id[AUDIT_QID_BYTES]);
/* The key of case reference s[0..n) (tagged SHA-256, first 12 bytes): 0, or
 * -1 when it is not a case reference. */
int audit_case_key(const char *s, size_t n, uint8_t key[AUDIT_QID_BYTES]);
/* 1 with key set when rec[0..len) holds "case_ref":"<a case reference>". */
int audit_case_extract(const uint8_t *rec, size_t len, uint8_t key[AUDIT_QID_BYTES]);
void audit_qindex_add(struct audit_qindex *x, const uint8_t id[AUDIT_QID_BYTES], uint64_t index);
/* The number of records naming id; the first max of them (which ones, when
 * there are more, is unspecified) in out, ascending. */
size_t audit_qindex_find(const struct audit_qindex *x, const uint8_t id[AUDIT_QID_BYTES],
                         uint64_t *out, size_t max);
void audit_qindex_free(struct audit_qindex *x);
/* Bytes the table holds. */
size_t audit_qindex_bytes(const struct audit_qindex *x);

/* ---- the log (audit.c, audit_open.c) ------------------------------------ */

#include <pthread.h>

#include "gw/checkpoint.h"
#include "gw/checkpoint_sm2.h"

struct event;

#define AUDIT_LOG_MAGIC 0x4155444cu /* "AUDL" */

/* One queued append.  Owned by the queue, then by the commit thread, then
 * (once activated or marked done) by the appender's side, which frees it. */
struct audit_pending {
  struct audit_pending *next;
  uint8_t *frame;        /* freed by the commit thread once written */
  size_t frame_len;
  uint64_t index;
  uint8_t leaf[GW_MERKLE_HASH_LEN];
  enum gw_audit_result status;
  int has_qid;           /* the record names a query id (qid) */
  uint8_t qid[AUDIT_QID_BYTES];
  int has_case;          /* ... a case reference (case_key) */
  uint8_t case_key[AUDIT_QID_BYTES];
  gw_audit_append_cb cb; /* NULL: a synchronous append */
  void *arg;
  struct event *ev;
  int done;              /* synchronous appends: set under q_mu */
};

/* The log.  Fields are grouped by the lock that guards them. */
struct gw_audit_log {
  unsigned magic;
  /* Set at open, constant until close. */
  int dirfd, lockfd, rec_fd, ckpt_fd;
  char log_id[GW_AUDIT_LOG_ID_LEN + 1];
  char *origin;
  struct gw_checkpoint_signer *signer;  /* NULL: no checkpoints */
  struct gw_checkpoint_sm2 *sm2;        /* NULL: no SM2 line (docs/crypto.md) */
  uint64_t state_interval;
  unsigned retry_ms;

  /* q_mu: the queue, indexes, failure, checkpoint requests. */
  pthread_mutex_t q_mu;
  pthread_cond_t q_cv;        /* the commit thread waits for work */
  pthread_cond_t done_cv;     /* synchronous appends and checkpoints wait */
  struct audit_pending *q_head, **q_tail;
  uint64_t q_bytes, q_count, next_index;
  int failed, stopping;
  int retrying;               /* failed for want of space; the commit thread retries */
  char fail_reason[256];
  uint64_t ckpt_req, ckpt_done;
  enum gw_audit_result ckpt_result;

  /* rw: written by the commit thread, read by readers. */
  pthread_rwlock_t rw;
  struct gw_merkle_tree *tree;
  struct audit_store *store;
  uint64_t size;              /* committed records == tree size */
  struct audit_qindex qindex; /* query id -> records (audit_index.c) */
  char *ckpt_note;            /* latest signed note */
  size_t ckpt_note_len;
  uint64_t ckpt_size;

  /* The commit thread's own (open and close use them before and after it). */
  uint64_t rec_end, ckpt_end, ckpt_count, ckpt_last, state_size;
  uint64_t rec_alloc;           /* records file written (zeros past rec_end) to here */
  int prealloc_off;             /* cfg->no_prealloc */
  uint8_t *wbuf;
  size_t wcap;
  pthread_t thread;
  int thread_started;

  /* m_mu: the counters. */
  pthread_mutex_t m_mu;
  struct gw_audit_metrics m;
};

/* Monotonic seconds. */
double audit_now_s(void);
/* Puts the log into the failed state (the first reason is kept) and logs
 * it; appends are refused from then on and gw_audit_ready says 0. */
void audit_log_fail(struct gw_audit_log *log, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));
int audit_is_failed(struct gw_audit_log *log);
/* Commit thread (or open/close while it does not run): flush and sync the
 * node store, then write derived/state at the committed size. */
enum gw_audit_result audit_save_state(struct gw_audit_log *log)
  __attribute__((warn_unused_result));
/* Commit thread (or open/close): sign the committed tree unless the latest
 * checkpoint has its size, append, sync, save the state. */
enum gw_audit_result audit_make_checkpoint(struct gw_audit_log *log)
  __attribute__((warn_unused_result));
/* Open (before the commit thread starts): indexes records [0, size). */
enum gw_audit_result audit_qindex_build(struct gw_audit_log *log, char *why, size_t why_len)
  __attribute__((warn_unused_result));

/* The commit thread's body; arg is the log. */
void *audit_commit_main(void *arg);

#endif
