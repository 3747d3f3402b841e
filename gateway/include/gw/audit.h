/*
 * gw/audit.h - the tamper-evident audit log: durable appends with group
 * commit, an RFC 9162 Merkle tree over the records, signed C2SP checkpoints,
 * proofs for auditors, crash recovery and an offline verifier.
 *
 * The one idea: a record is acknowledged only once it is on disk, and one
 * fdatasync() acknowledges every record that arrived while the previous one
 * ran.  Worker threads hand records to gw_audit_append(), which checks the
 * record, hashes it and assigns its index at once, then queues it; a single
 * commit thread writes the queued batch with one pwrite(), syncs it, appends
 * the leaf hashes to the tree, and wakes each appender on its own event_base.
 * Only committed (durable) records are ever visible to readers: the tree, the
 * proofs and the entries all stop at the last synced batch.
 *
 * On disk (a directory; docs/audit.md has the byte layout):
 *   log-id        32 lowercase hex characters (16 random bytes) and "\n"
 *   records       the log: a 16-byte header, then per record a big-endian u32
 *                 length, the record bytes, and a big-endian CRC-32C of
 *                 length and bytes
 *   checkpoints   every signed checkpoint ever made, framed the same way
 *   derived/      the Merkle node store (one file of 32-byte hashes per
 *                 level), record offsets and the saved resume state; all of
 *                 it can be deleted and is rebuilt from records on open
 *   lock          flock()ed while a process has the log open
 *
 * A record is a JSON object with a "kind" of "config" (an activated
 * generation), "fetch", "query" or "recheck", at most
 * GW_AUDIT_RECORD_MAX bytes, which the caller builds (raw identity numbers
 * only ever sealed, see gw/seal.h).  Its leaf hash is SHA-256(0x00 || record
 * bytes), which auditors recompute from GET /v1/audit/entries.  The origin
 * line of checkpoints is "<gateway_id>/audit/<log id>".
 *
 * Never here: HTTP, JSON rendering of proofs, building records, timers (the
 * caller drives the checkpoint interval), or reading sealed data.
 *
 * Threads: every function may be called from any thread, except that
 * gw_audit_close() must not race with any other call on the same log.
 * gw_audit_append() never blocks on I/O (one mutex, no syscalls beyond
 * libevent's event_new); the *_sync and *_now calls block until the disk
 * answers and must never be called on an event loop.  Callbacks need
 * evthread_use_pthreads() to have been called before the caller's
 * event_base was created.
 */
#ifndef GW_AUDIT_H
#define GW_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "gw/merkle.h"

struct event_base;

/* Largest record, bytes of JSON. */
#define GW_AUDIT_RECORD_MAX        (64 * 1024)
/* gw_audit_get_entries returns at most this many entries ... */
#define GW_AUDIT_ENTRIES_MAX       1000
/* ... and stops before their record bytes pass this many. */
#define GW_AUDIT_ENTRIES_BYTES_MAX (4 * 1024 * 1024)
/* Record bytes queued but not yet durable; beyond it appends get EBUSY. */
#define GW_AUDIT_QUEUE_BYTES_MAX   (64 * 1024 * 1024)
/* Characters of a log id (hex of 16 random bytes). */
#define GW_AUDIT_LOG_ID_LEN        32
/* Resume state is saved at least every this many records by default. */
#define GW_AUDIT_STATE_INTERVAL    65536
/* Buckets of the fsync duration histogram (seconds, "le" bounds). */
#define GW_AUDIT_FSYNC_BUCKETS     12
/* How often a log that failed for want of space (ENOSPC, EDQUOT, EFBIG on
 * the records write) tries the write again; see gw_audit_ready. */
#define GW_AUDIT_RETRY_MS          5000

enum gw_audit_result {
  GW_AUDIT_OK = 0,
  GW_AUDIT_EINVAL,      /* NULL argument or bad configuration */
  GW_AUDIT_ERECORD,     /* not a JSON object with "kind" config|fetch|query|recheck */
  GW_AUDIT_ETOOBIG,     /* record over GW_AUDIT_RECORD_MAX */
  GW_AUDIT_EBUSY,       /* queue over GW_AUDIT_QUEUE_BYTES_MAX: try later */
  GW_AUDIT_EFAILED,     /* the log failed earlier (write, sync, store) and
                           accepts nothing until restarted */
  GW_AUDIT_ECLOSED,     /* gw_audit_close has begun */
  GW_AUDIT_EIO,         /* a read, write or sync failed (errno in the log) */
  GW_AUDIT_ECORRUPT,    /* the log on disk is damaged (see the report) */
  GW_AUDIT_ELOCKED,     /* another process has the directory open */
  GW_AUDIT_EBAD_INDEX,  /* index at or past the (given) tree size */
  GW_AUDIT_EBAD_SIZE,   /* tree size past the committed size, or from > to */
  GW_AUDIT_ENOKEY,      /* no checkpoint key configured */
  GW_AUDIT_ENOCHECKPOINT, /* no checkpoint made yet */
  GW_AUDIT_ECRYPTO,     /* OpenSSL failed */
  GW_AUDIT_ENOMEM       /* libevent or OpenSSL could not allocate */
};

/* A short English description.  Static storage; never NULL. */
const char *gw_audit_strerror(enum gw_audit_result r);

struct gw_audit_config {
  const char *dir;              /* created (0700) if missing */
  const char *gateway_id;       /* origin prefix: printable ASCII, no ' '
                                   or '+', e.g. "gw.sz.example" */
  const char *checkpoint_key;   /* Ed25519 PKCS#8 PEM path; NULL: no
                                   checkpoints (ENOKEY) */
  const char *checkpoint_key_name; /* NULL: the origin, as C2SP advises */
  const char *checkpoint_sm2_key; /* SM2 PKCS#8 PEM path: every checkpoint
                                   also gets an SM2 line under the same key
                                   name (gw/checkpoint_sm2.h); NULL: none */
  const char *checkpoint_sm2_id; /* its distinguishing ID; NULL: GM/T 0009's */
  int full_scan;                /* ignore the saved resume state: rehash
                                   every record and rebuild derived/ */
  uint64_t state_interval;      /* 0: GW_AUDIT_STATE_INTERVAL */
  int no_prealloc;              /* 1: never write the records file ahead
                                   with zeros (copy-on-write filesystems,
                                   where it saves nothing) */
  unsigned retry_ms;            /* a log failed for want of space retries
                                   this often; 0: GW_AUDIT_RETRY_MS */
};

/* What gw_audit_open found.  Plain value owned by the caller. */
struct gw_audit_open_report {
  uint64_t size;             /* records in the log after recovery */
  uint64_t resumed_at;       /* tree size restored from the saved state */
  uint64_t replayed;         /* records read and hashed during open */
  int rebuilt;               /* derived/ was rebuilt from scratch */
  int created;               /* the log was created by this open */
  uint64_t truncated_offset; /* torn tail: records file cut at this byte */
  uint64_t truncated_bytes;  /* ... removing this many (0: none) */
  uint64_t ckpt_truncated_bytes; /* torn tail of the checkpoints file */
  uint64_t checkpoints;      /* checkpoints in the file */
  uint64_t bad_index;        /* ECORRUPT: the record (or checkpoint) number */
  uint64_t bad_offset;       /* ECORRUPT: its byte offset */
  double seconds;            /* wall time of the open */
  char message[320];         /* ECORRUPT and other errors: the reason */
};

struct gw_audit_log;

/* Opens (creating if needed) the log in cfg->dir, recovers it and starts its
 * commit thread.  Recovery: a torn tail of the records file (a partial
 * length prefix or record, or a bad checksum with no valid record after it,
 * or a zero-filled end) is truncated and reported (log line
 * "audit_torn_tail" with offset and bytes; report->truncated_*); a damaged
 * record followed by valid data, an invalid length, a checkpoint whose root
 * disagrees with the records, or a records file shorter than its saved state
 * give GW_AUDIT_ECORRUPT with report->message naming the record index and
 * byte offset; the gateway must then refuse to serve.  Records before the
 * saved resume point are not re-read (that is what keeps the open fast):
 * gw_audit_verify_dir or cfg->full_scan check them.  `report` may be NULL.
 * On success *out is owned by the caller (gw_audit_close). */
enum gw_audit_result gw_audit_open(const struct gw_audit_config *cfg, struct gw_audit_log **out,
                                   struct gw_audit_open_report *report)
  __attribute__((warn_unused_result));

/* Stops accepting appends (they get ECLOSED), commits everything queued,
 * makes a last checkpoint when a key is configured and records were added
 * since the latest, saves the resume state, stops the thread and frees the
 * log.  Blocks on the disk.  Callbacks of queued appends are activated on
 * their bases before this returns; those bases must live until they ran.
 * NULL is a no-op. */
void gw_audit_close(struct gw_audit_log *log);

/* The result handed to an append callback.  Valid during the call only. */
struct gw_audit_append_result {
  enum gw_audit_result status;   /* OK: durable.  EIO/EFAILED: not durable
                                    (it may still appear after a restart:
                                    the write may have reached the disk
                                    before its sync failed) */
  uint64_t index;                /* assigned at append, whatever status */
  uint8_t leaf_hash[GW_MERKLE_HASH_LEN];
};

typedef void (*gw_audit_append_cb)(const struct gw_audit_append_result *r, void *arg);

/* Appends record bytes[0..len) (copied).  Checks the record, hashes it,
 * assigns the next index and queues it for the commit thread.  On GW_AUDIT_OK
 * `cb(result, arg)` is called exactly once on `base`'s loop thread after the
 * record is durable or has failed; on any other result it is never called.
 * `base` must outlive that call.  Never blocks on I/O. */
enum gw_audit_result gw_audit_append(struct gw_audit_log *log, const void *bytes, size_t len,
                                     gw_audit_append_cb cb, void *arg, struct event_base *base)
  __attribute__((warn_unused_result));

/* Flag for gw_audit_append_ex: the caller wrote the record itself with
 * gw/jsonw.h (one object whose "kind" is one of the above, valid UTF-8,
 * no duplicate keys by construction), so append only checks its size and
 * skips parsing it again, which costs more than building it.  Builds without
 * NDEBUG still parse it and abort on a bad one, so the test suite under the
 * sanitizers checks every record the gateway writes. */
#define GW_AUDIT_BUILT 1u

/* gw_audit_append with flags (0 or GW_AUDIT_BUILT). */
enum gw_audit_result gw_audit_append_ex(struct gw_audit_log *log, const void *bytes, size_t len,
                                        unsigned flags, gw_audit_append_cb cb, void *arg,
                                        struct event_base *base)
  __attribute__((warn_unused_result));

/* As gw_audit_append, but blocks until the record is durable (never on an
 * event loop: tools, tests, start-up).  *out (may be NULL) gets the result;
 * the return value is its status. */
enum gw_audit_result gw_audit_append_sync(struct gw_audit_log *log, const void *bytes, size_t len,
                                          struct gw_audit_append_result *out)
  __attribute__((warn_unused_result));

/* Checks a record as append does, without appending.  `why` (may be NULL)
 * gets a reason. */
enum gw_audit_result gw_audit_record_check(const void *bytes, size_t len, char *why, size_t why_len)
  __attribute__((warn_unused_result));

/* ---- identity, health, metrics ----------------------------------------- */

/* 32 hex characters; owned by the log. */
const char *gw_audit_log_id(const struct gw_audit_log *log);

/* "<gateway_id>/audit/<log id>"; owned by the log. */
const char *gw_audit_origin(const struct gw_audit_log *log);

/* Committed (durable) records. */
uint64_t gw_audit_size(struct gw_audit_log *log);

/* 1 while the log accepts appends; 0 once it failed (readiness should
 * drop).  `why` (may be NULL) gets the reason of a failure and what comes
 * next: a log that failed for want of space (the records write or its
 * fdatasync gave ENOSPC, EDQUOT or EFBIG, and the unacknowledged bytes were
 * cut off again) retries every retry_ms and comes back by itself once the
 * write succeeds and the tail re-reads as acknowledged ("retrying every N s");
 * any other failure stays until gatewayd is restarted ("restart gatewayd"),
 * because only the open's recovery can vouch for the files then. */
int gw_audit_ready(struct gw_audit_log *log, char *why, size_t why_len);

/* Upper bounds of the fsync histogram buckets, seconds; +Inf is `count`. */
extern const double gw_audit_fsync_buckets[GW_AUDIT_FSYNC_BUCKETS];

struct gw_audit_metrics {
  uint64_t entries;          /* committed records */
  uint64_t appends_failed;   /* appends answered with an error */
  uint64_t batches;          /* group commits (one write + one fdatasync) */
  uint64_t largest_batch;    /* most records in one commit */
  uint64_t bytes;            /* size of the records file */
  uint64_t queued;           /* records waiting for the commit thread */
  uint64_t checkpoints;      /* checkpoints in the file */
  double fsync_last_s;       /* duration of the latest fdatasync */
  double fsync_max_s;
  double fsync_sum_s;
  uint64_t fsync_count;
  uint64_t fsync_bucket[GW_AUDIT_FSYNC_BUCKETS]; /* cumulative, as Prometheus */
  int failed;
  int failed_retrying;       /* failed for want of space: retried every retry_ms */
  uint64_t retries;          /* retries of a write that failed for want of space */
  uint64_t recoveries;       /* times a failed log came back by itself */
  double checkpoint_unix;    /* wall time the latest checkpoint was known to
                                cover the tree (signed, or nothing new to
                                sign); the open's time until then */
  uint64_t checkpoint_size;  /* tree size the latest checkpoint signs */
};

/* A consistent snapshot of the counters into *out. */
void gw_audit_metrics(struct gw_audit_log *log, struct gw_audit_metrics *out);

/* ---- checkpoints ------------------------------------------------------- */

/* Has the commit thread sign a checkpoint of the committed tree (unless the
 * latest already has that size), append it to the checkpoints file, sync it
 * and save the resume state; blocks until done (not on an event loop). */
enum gw_audit_result gw_audit_checkpoint_now(struct gw_audit_log *log)
  __attribute__((warn_unused_result));

/* The same without waiting (for a timer on an event loop).  A failure shows
 * in the log, in gw_audit_ready and in the metrics. */
enum gw_audit_result gw_audit_checkpoint_async(struct gw_audit_log *log)
  __attribute__((warn_unused_result));

/* The latest signed note (what GET /v1/audit/checkpoint serves), copied into
 * a new string (*note, *len; NUL-terminated) owned by the caller
 * (gw_free()).  ENOCHECKPOINT before the first. */
enum gw_audit_result gw_audit_latest_checkpoint(struct gw_audit_log *log, char **note, size_t *len)
  __attribute__((warn_unused_result));

/* The note verifier key "<name>+<hex>+<base64>" into a new string owned by
 * the caller (gw_free()).  ENOKEY without a key. */
enum gw_audit_result gw_audit_checkpoint_key(struct gw_audit_log *log, char **vkey)
  __attribute__((warn_unused_result));

/* The SM2 line's verifier key (gw/checkpoint_sm2.h) into a new string
 * owned by the caller (gw_free()).  ENOKEY when checkpoints carry no SM2
 * line. */
enum gw_audit_result gw_audit_checkpoint_key_sm2(struct gw_audit_log *log, char **vkey)
  __attribute__((warn_unused_result));

/* ---- readers (committed state only) ------------------------------------ */

/* Record `index`, copied into a new buffer (*bytes, *len) owned by the
 * caller (gw_free()).  The record's checksum and leaf hash are checked
 * against the tree before it is handed out (ECORRUPT otherwise).
 * EBAD_INDEX at or past the committed size. */
enum gw_audit_result gw_audit_get_entry(struct gw_audit_log *log, uint64_t index,
                                        uint8_t **bytes, size_t *len)
  __attribute__((warn_unused_result));

struct gw_audit_entry {
  uint64_t index;
  uint8_t *data;  /* record bytes */
  size_t len;
};

/* Entries [start, start + count), cut at the committed size, at
 * GW_AUDIT_ENTRIES_MAX entries and before their record bytes would pass
 * GW_AUDIT_ENTRIES_BYTES_MAX (always at least one entry), so *n may be less
 * than count: ask again from start + *n.  *out (an array of *n entries) is
 * owned by the caller: gw_audit_entries_free.  EBAD_INDEX when start is at
 * or past the committed size, EINVAL when count is 0.  Each record is
 * checked as in gw_audit_get_entry. */
enum gw_audit_result gw_audit_get_entries(struct gw_audit_log *log, uint64_t start, uint64_t count,
                                          struct gw_audit_entry **out, size_t *n)
  __attribute__((warn_unused_result));

void gw_audit_entries_free(struct gw_audit_entry *e, size_t n);

/* RFC 9162 inclusion proof of `index` in the tree of `tree_size` records
 * (<= committed size) and that record's leaf hash (leaf may be NULL). */
enum gw_audit_result gw_audit_inclusion_proof(struct gw_audit_log *log, uint64_t index,
                                              uint64_t tree_size,
                                              uint8_t leaf[GW_MERKLE_HASH_LEN],
                                              struct gw_merkle_proof *proof)
  __attribute__((warn_unused_result));

/* RFC 9162 consistency proof between sizes from <= to <= committed size. */
enum gw_audit_result gw_audit_consistency_proof(struct gw_audit_log *log, uint64_t from,
                                                uint64_t to, struct gw_merkle_proof *proof)
  __attribute__((warn_unused_result));

/* The root at `size` (<= committed size); size 0 gives SHA-256(""). */
enum gw_audit_result gw_audit_root_at(struct gw_audit_log *log, uint64_t size,
                                      uint8_t root[GW_MERKLE_HASH_LEN])
  __attribute__((warn_unused_result));

/* ---- offline verification ---------------------------------------------- */

enum gw_audit_verify_what {
  GW_AUDIT_VERIFY_PROBLEM = 0,  /* the first problem; verification stops */
  GW_AUDIT_VERIFY_NOTICE,       /* worth telling, not a failure (a torn
                                   tail not yet recovered, signatures not
                                   checked for want of a key) */
  GW_AUDIT_VERIFY_CHECKPOINT_OK /* one checkpoint verified */
};

enum gw_audit_verify_subject {
  GW_AUDIT_VERIFY_DIR = 0,      /* the directory or a file header */
  GW_AUDIT_VERIFY_RECORD,       /* number = record index */
  GW_AUDIT_VERIFY_CHECKPOINT    /* number = checkpoint number, from 0 */
};

struct gw_audit_verify_event {
  enum gw_audit_verify_what what;
  enum gw_audit_verify_subject subject;
  uint64_t number;
  uint64_t offset;              /* byte offset in its file */
  uint64_t tree_size;           /* checkpoints: the size they sign */
  const char *message;          /* valid during the callback */
};

typedef void (*gw_audit_verify_cb)(const struct gw_audit_verify_event *e, void *arg);

struct gw_audit_verify_report {
  uint64_t records;             /* valid records read */
  uint64_t checkpoints;         /* checkpoints verified */
  uint8_t root[GW_MERKLE_HASH_LEN]; /* recomputed root of all records */
  int signatures_checked;       /* 0 when no verifier key was given */
  int problem;                  /* 1: verification failed; the fields below */
  enum gw_audit_verify_subject problem_subject;
  uint64_t problem_number;
  uint64_t problem_offset;
  char message[320];
};

/* Checks a log directory without the gateway and without writing to it:
 * re-reads every record (framing, checksum, JSON kind), recomputes the whole
 * tree from scratch, verifies every stored checkpoint's signature with
 * `vkey` (a note verifier key string; NULL: signatures unchecked, noticed),
 * its origin, and that its root equals the recomputed root at its size.
 * Stops at the first problem (GW_AUDIT_ECORRUPT, reported through `cb` and
 * in *report).  A torn tail is a notice, not a problem: the gateway removes
 * it on its next open.  May run beside a live gateway.  `cb` and `report`
 * may be NULL. */
enum gw_audit_result gw_audit_verify_dir(const char *dir, const char *vkey,
                                         gw_audit_verify_cb cb, void *arg,
                                         struct gw_audit_verify_report *report)
  __attribute__((warn_unused_result));

#endif
