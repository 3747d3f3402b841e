/*
 * audit.c - the audit log at run time: the append path, the commit thread
 * with group commit, checkpoints, and the readers (open, recovery and close
 * are in audit_open.c).
 *
 * The one idea: one thread owns the disk.  Appenders (worker threads) do the
 * CPU work themselves (check the JSON, frame it, hash the leaf), take an
 * index under a mutex and queue the record; the commit thread takes the
 * whole queue at once, writes it with one pwrite, makes it durable with one
 * fdatasync, and only then appends the leaves to the Merkle tree and wakes
 * each appender on its own event_base.  Records that arrive while a sync
 * runs form the next batch, so the batch grows with the load.  Because the
 * tree only ever holds durable records, everything readers see (size, roots,
 * proofs, entries) is durable.
 *
 * Locks: q_mu (the queue, indexes, failure, checkpoint requests), rw (the
 * tree, the node store and the latest checkpoint: the commit thread writes
 * under it, readers read under it) and m_mu (metrics) are never nested, so
 * there is no lock order to get wrong.  Nothing holds a lock across a disk
 * sync; only the store flush (pwrite to the page cache) runs under rw.
 *
 * See gw/audit.h for the contract and docs/audit.md for the formats.
 */
#include "audit_int.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "gw/alloc.h"
#include "gw/b64.h"
#include "gw/checkpoint.h"
#include "gw/log.h"

#define HLEN GW_MERKLE_HASH_LEN

const double gw_audit_fsync_buckets[GW_AUDIT_FSYNC_BUCKETS] = {
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5
};

const char *gw_audit_strerror(enum gw_audit_result r)
{
  switch(r) {
  case GW_AUDIT_OK:            return "ok";
  case GW_AUDIT_EINVAL:        return "invalid argument or configuration";
  case GW_AUDIT_ERECORD:       return "not a JSON object with kind fetch or query";
  case GW_AUDIT_ETOOBIG:       return "record too large";
  case GW_AUDIT_EBUSY:         return "audit queue full";
  case GW_AUDIT_EFAILED:       return "audit log has failed and accepts nothing";
  case GW_AUDIT_ECLOSED:       return "audit log is closing";
  case GW_AUDIT_EIO:           return "audit log I/O error";
  case GW_AUDIT_ECORRUPT:      return "audit log is corrupt";
  case GW_AUDIT_ELOCKED:       return "audit log is open in another process";
  case GW_AUDIT_EBAD_INDEX:    return "index out of range";
  case GW_AUDIT_EBAD_SIZE:     return "tree size out of range";
  case GW_AUDIT_ENOKEY:        return "no checkpoint key configured";
  case GW_AUDIT_ENOCHECKPOINT: return "no checkpoint yet";
  case GW_AUDIT_ECRYPTO:       return "OpenSSL failure";
  case GW_AUDIT_ENOMEM:        return "out of memory";
  }
  return "unknown error";
}

double audit_now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Puts the log into the failed state (first reason wins) and logs it. */
void audit_log_fail(struct gw_audit_log *log, const char *fmt, ...)
{
  char why[256];
  va_list ap;
  int first;

  va_start(ap, fmt);
  vsnprintf(why, sizeof(why), fmt, ap);
  va_end(ap);
  pthread_mutex_lock(&log->q_mu);
  first = !log->failed;
  if(first) {
    log->failed = 1;
    snprintf(log->fail_reason, sizeof(log->fail_reason), "%s", why);
  }
  pthread_mutex_unlock(&log->q_mu);
  pthread_mutex_lock(&log->m_mu);
  log->m.failed = 1;
  pthread_mutex_unlock(&log->m_mu);
  if(first)
    gw_log(GW_LOG_ERROR, "audit_failed", "audit log %s refuses appends: %s", log->log_id, why);
}

int audit_is_failed(struct gw_audit_log *log)
{
  int f;
  pthread_mutex_lock(&log->q_mu);
  f = log->failed;
  pthread_mutex_unlock(&log->q_mu);
  return f;
}

/* ---- resume state and checkpoints (commit thread, or open/close) ------- */

enum gw_audit_result audit_save_state(struct gw_audit_log *log)
{
  struct audit_state st;
  int rc;

  memset(&st, 0, sizeof(st));
  pthread_rwlock_wrlock(&log->rw);
  rc = audit_store_flush(log->store);
  pthread_rwlock_unlock(&log->rw);
  if(rc || audit_store_sync(log->store)) {
    audit_log_fail(log, "cannot write the Merkle node store: %s", strerror(errno));
    return GW_AUDIT_EIO;
  }
  st.size = log->size;
  st.records_end = log->rec_end;
  st.ckpt_end = log->ckpt_end;
  st.ckpt_count = log->ckpt_count;
  st.ckpt_last = log->ckpt_last;
  if(gw_merkle_tree_save_frontier(log->tree, st.frontier, sizeof(st.frontier),
                                  &st.frontier_len) != GW_MERKLE_OK)
    return GW_AUDIT_EIO;
  if(audit_state_save(log->store, &st)) {
    audit_log_fail(log, "cannot save derived/state: %s", strerror(errno));
    return GW_AUDIT_EIO;
  }
  log->state_size = log->size;
  return GW_AUDIT_OK;
}

/* The latest checkpoint covers the whole tree now (for staleness alerts). */
static void checkpoint_covers(struct gw_audit_log *log)
{
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  pthread_mutex_lock(&log->m_mu);
  log->m.checkpoint_unix = (double)now.tv_sec + (double)now.tv_nsec / 1e9;
  log->m.checkpoint_size = log->ckpt_size;
  pthread_mutex_unlock(&log->m_mu);
}

enum gw_audit_result audit_make_checkpoint(struct gw_audit_log *log)
{
  enum gw_audit_result r = GW_AUDIT_ECRYPTO;
  uint8_t root[HLEN], *frame = NULL;
  char *note = NULL, root64[48];
  size_t note_len = 0, frame_len;
  uint64_t size = log->size;

  if(!log->signer)
    return GW_AUDIT_ENOKEY;
  if(audit_is_failed(log))
    return GW_AUDIT_EFAILED;
  if(log->ckpt_note && log->ckpt_size == size) {
    checkpoint_covers(log);
    return GW_AUDIT_OK;  /* nothing new to sign */
  }
  if(gw_merkle_tree_root(log->tree, root) != GW_MERKLE_OK ||
     gw_checkpoint_sign(log->signer, log->origin, size, root, &note, &note_len) !=
     GW_CHECKPOINT_OK ||
     (log->sm2 && gw_checkpoint_sm2_cosign(log->sm2, &note, &note_len) != GW_CHECKPOINT_OK))
    goto out;
  frame_len = note_len + AUDIT_FRAME_OVERHEAD;
  frame = gw_malloc(frame_len);
  audit_frame(note, note_len, frame);
  if(audit_pwrite_all(log->ckpt_fd, frame, frame_len, log->ckpt_end) || fdatasync(log->ckpt_fd)) {
    audit_log_fail(log, "cannot write checkpoint %llu at byte offset %llu: %s",
             (unsigned long long)log->ckpt_count, (unsigned long long)log->ckpt_end,
             strerror(errno));
    if(ftruncate(log->ckpt_fd, (off_t)log->ckpt_end)) {
      /* the failure is already recorded; the next open cuts the tail */
    }
    r = GW_AUDIT_EIO;
    goto out;
  }
  pthread_rwlock_wrlock(&log->rw);
  gw_free(log->ckpt_note);
  log->ckpt_note = note;
  log->ckpt_note_len = note_len;
  log->ckpt_size = size;
  pthread_rwlock_unlock(&log->rw);
  note = NULL;
  log->ckpt_last = log->ckpt_end;
  log->ckpt_end += frame_len;
  log->ckpt_count++;
  pthread_mutex_lock(&log->m_mu);
  log->m.checkpoints = log->ckpt_count;
  pthread_mutex_unlock(&log->m_mu);
  if(gw_b64_encode(GW_B64_STD, root, HLEN, root64, sizeof(root64), NULL) == GW_B64_OK)
    gw_log_fields(GW_LOG_INFO, "audit_checkpoint",
                  json_pack("{s:s, s:I, s:s, s:I}", "origin", log->origin,
                            "tree_size", (json_int_t)size, "root", root64,
                            "number", (json_int_t)(log->ckpt_count - 1)));
  r = audit_save_state(log);
  if(r == GW_AUDIT_OK)
    checkpoint_covers(log);
out:
  gw_free(note);
  gw_free(frame);
  return r;
}

/* ---- the commit thread --------------------------------------------------- */

static void observe_fsync(struct gw_audit_log *log, double s)
{
  pthread_mutex_lock(&log->m_mu);
  log->m.fsync_last_s = s;
  log->m.fsync_sum_s += s;
  log->m.fsync_count++;
  if(s > log->m.fsync_max_s)
    log->m.fsync_max_s = s;
  for(int b = 0; b < GW_AUDIT_FSYNC_BUCKETS; b++)
    if(s <= gw_audit_fsync_buckets[b])
      log->m.fsync_bucket[b]++;
  pthread_mutex_unlock(&log->m_mu);
}

/* Hands each pending append of a list back to its appender.  Never touches
 * an entry after handing it over: the appender's side frees it. */
static void deliver(struct gw_audit_log *log, struct audit_pending *list)
{
  struct audit_pending *p, *next;
  uint64_t failed = 0;
  int any_sync = 0;

  for(p = list; p; p = next) {
    next = p->next;
    if(p->status != GW_AUDIT_OK)
      failed++;
    if(p->ev) {
      event_active(p->ev, EV_WRITE, 0);
    }
    else {
      pthread_mutex_lock(&log->q_mu);
      p->done = 1;
      pthread_mutex_unlock(&log->q_mu);
      any_sync = 1;
    }
  }
  if(any_sync) {
    pthread_mutex_lock(&log->q_mu);
    pthread_cond_broadcast(&log->done_cv);
    pthread_mutex_unlock(&log->q_mu);
  }
  if(failed) {
    pthread_mutex_lock(&log->m_mu);
    log->m.appends_failed += failed;
    pthread_mutex_unlock(&log->m_mu);
  }
}

static void set_status(struct audit_pending *list, enum gw_audit_result r)
{
  for(struct audit_pending *p = list; p; p = p->next)
    p->status = r;
}

/* The records file is written ahead with zeros, AUDIT_PREALLOC_BYTES at a
 * time, and made durable once (fsync: data and size).  Appends then
 * overwrite blocks that already exist inside the file's size, so each
 * group commit's fdatasync writes the data alone: no inode, no block
 * bitmap, one disk write instead of two in a row.  After a crash the zeros
 * past the last record are a zero-filled tail, which the next open cuts like
 * a torn one; a clean close cuts them itself.  If the space cannot be
 * written (a full disk), appends extend the file as before until the next
 * start. */
#define AUDIT_PREALLOC_BYTES ((uint64_t)4 << 20)

static void preallocate(struct gw_audit_log *log, uint64_t need)
{
  static const uint8_t zeros[64 * 1024];
  uint64_t from = log->rec_alloc > log->rec_end ? log->rec_alloc : log->rec_end;
  uint64_t to = (need / AUDIT_PREALLOC_BYTES + 1) * AUDIT_PREALLOC_BYTES;

  for(uint64_t off = from; off < to; off += sizeof(zeros)) {
    size_t n = (size_t)(to - off < sizeof(zeros) ? to - off : sizeof(zeros));
    if(audit_pwrite_all(log->rec_fd, zeros, n, off))
      goto undo;
  }
  if(fsync(log->rec_fd))
    goto undo;
  log->rec_alloc = to;
  return;
undo:
  gw_log(GW_LOG_WARN, "audit_prealloc_failed",
         "cannot write %llu bytes ahead in the records file (%s); appending without it "
         "until the next start", (unsigned long long)(to - from), strerror(errno));
  if(ftruncate(log->rec_fd, (off_t)log->rec_end)) {
    /* appends overwrite whatever is left */
  }
  log->rec_alloc = 0;
  log->prealloc_off = 1;        /* not again on every batch of a full disk */
}

/* Errors that say "no room now", which an operator can fix while we run. */
static int no_space(int err)
{
  return err == ENOSPC || err == EDQUOT || err == EFBIG;
}

/* A log failed for want of space, tried again (commit thread): the write
 * that failed, a batch's worth of bytes past the acknowledged end, made
 * durable and cut off again; then the tail re-checked: the file ends at the
 * last acknowledged record, which reads back with the leaf hash the tree
 * holds; then the resume state saved (the node store written too).  Only
 * when all of that succeeds does the log accept appends again.  A tail that
 * no longer matches ends the retrying: only a restart's recovery may judge
 * the files then. */
static void audit_try_recover(struct gw_audit_log *log)
{
  static const uint8_t zeros[64 * 1024];
  uint8_t want[HLEN], got[HLEN], *rec = NULL;
  uint64_t size, last_off = 0;
  struct stat st;
  size_t len = 0;
  int tail_ok = 1;
  char why[192] = "";

  pthread_mutex_lock(&log->m_mu);
  log->m.retries++;
  pthread_mutex_unlock(&log->m_mu);
  if(audit_pwrite_all(log->rec_fd, zeros, sizeof(zeros), log->rec_end) ||
     fdatasync(log->rec_fd)) {
    if(ftruncate(log->rec_fd, (off_t)log->rec_end)) {
      /* still no room: the next try cuts it again */
    }
    gw_log(GW_LOG_INFO, "audit_retry", "audit log %s: still cannot write: %s",
           log->log_id, strerror(errno));
    return;
  }
  if(ftruncate(log->rec_fd, (off_t)log->rec_end) || fdatasync(log->rec_fd))
    return;

  pthread_rwlock_rdlock(&log->rw);
  size = log->size;
  if(size && (audit_offsets_get(log->store, size - 1, &last_off) ||
              gw_merkle_tree_leaf_hash(log->tree, size - 1, want) != GW_MERKLE_OK))
    tail_ok = 0;
  pthread_rwlock_unlock(&log->rw);
  if(!tail_ok)
    snprintf(why, sizeof(why), "the index of record %llu cannot be read",
             (unsigned long long)(size - 1));
  else if(fstat(log->rec_fd, &st) || (uint64_t)st.st_size != log->rec_end)
    snprintf(why, sizeof(why), "the records file is %lld bytes, not the acknowledged %llu",
             (long long)st.st_size, (unsigned long long)log->rec_end);
  else if(size && (audit_read_frame(log->rec_fd, last_off, GW_AUDIT_RECORD_MAX, &rec, &len) ||
                   last_off + len + AUDIT_FRAME_OVERHEAD != log->rec_end ||
                   gw_merkle_hash_leaf(rec, len, got) != GW_MERKLE_OK ||
                   memcmp(got, want, HLEN)))
    snprintf(why, sizeof(why), "record %llu no longer reads back as acknowledged",
             (unsigned long long)(size - 1));
  gw_free(rec);
  if(why[0]) {
    pthread_mutex_lock(&log->q_mu);
    log->retrying = 0;
    snprintf(log->fail_reason, sizeof(log->fail_reason), "the tail changed while failed: %s",
             why);
    pthread_mutex_unlock(&log->q_mu);
    pthread_mutex_lock(&log->m_mu);
    log->m.failed_retrying = 0;
    pthread_mutex_unlock(&log->m_mu);
    gw_log(GW_LOG_ERROR, "audit_failed", "audit log %s stops retrying: %s; restart gatewayd",
           log->log_id, why);
    return;
  }
  /* save_state fails the log again (reason kept) if the store cannot be written */
  if(audit_save_state(log) != GW_AUDIT_OK)
    return;

  pthread_mutex_lock(&log->q_mu);
  /* The refused batches took indexes; nothing is queued while failed, so
   * numbering goes on from the committed size. */
  assert(!log->q_head);
  log->next_index = size;
  log->failed = 0;
  log->retrying = 0;
  log->fail_reason[0] = '\0';
  pthread_mutex_unlock(&log->q_mu);
  pthread_mutex_lock(&log->m_mu);
  log->m.failed = 0;
  log->m.failed_retrying = 0;
  log->m.recoveries++;
  pthread_mutex_unlock(&log->m_mu);
  gw_log(GW_LOG_WARN, "audit_recovered",
         "audit log %s accepts appends again: a retried write succeeded and the tail "
         "(%llu records, %llu bytes) re-read as acknowledged",
         log->log_id, (unsigned long long)size, (unsigned long long)log->rec_end);
}

static void commit_batch(struct gw_audit_log *log, struct audit_pending *batch)
{
  struct audit_pending *p;
  size_t total = 0, n = 0, pos;
  uint64_t off = log->rec_end;
  double t0, t1;
  int rc, err = 0;

  if(audit_is_failed(log)) {
    set_status(batch, GW_AUDIT_EFAILED);
    goto out;
  }
  for(p = batch; p; p = p->next) {
    total += p->frame_len;
    n++;
  }
  if(total > log->wcap) {
    log->wcap = total;
    log->wbuf = gw_realloc(log->wbuf, total);
  }
  pos = 0;
  for(p = batch; p; p = p->next) {
    /* a frame is the u32 length, the record, the u32 checksum */
    p->has_qid = audit_qid_extract(p->frame + 4, p->frame_len - AUDIT_FRAME_OVERHEAD, p->qid);
    p->has_case = audit_case_extract(p->frame + 4, p->frame_len - AUDIT_FRAME_OVERHEAD,
                                     p->case_key);
    memcpy(log->wbuf + pos, p->frame, p->frame_len);
    pos += p->frame_len;
    gw_free(p->frame);
    p->frame = NULL;
  }
  if(off + total > log->rec_alloc && !log->prealloc_off)
    preallocate(log, off + total);
  rc = audit_pwrite_all(log->rec_fd, log->wbuf, total, off);
  if(!rc) {
    t0 = audit_now_s();
    rc = fdatasync(log->rec_fd);
    err = errno;
    t1 = audit_now_s();
    observe_fsync(log, t1 - t0);
    if(rc)
      audit_log_fail(log, "fdatasync of %zu records (indexes %llu..) failed: %s", n,
               (unsigned long long)batch->index, strerror(err));
  }
  else {
    err = errno;
    audit_log_fail(log, "write of %zu records at byte offset %llu failed: %s", n,
             (unsigned long long)off, strerror(err));
  }
  if(rc) {
    /* Best effort: take the unacknowledged bytes back out.  If this fails
     * too, the next open treats them as it finds them.  A want of space
     * with the bytes cut off cleanly is retried (audit_try_recover). */
    if(!ftruncate(log->rec_fd, (off_t)off) && no_space(err)) {
      pthread_mutex_lock(&log->q_mu);
      log->retrying = 1;
      pthread_mutex_unlock(&log->q_mu);
      pthread_mutex_lock(&log->m_mu);
      log->m.failed_retrying = 1;
      pthread_mutex_unlock(&log->m_mu);
    }
    log->rec_alloc = 0;
    set_status(batch, GW_AUDIT_EIO);
    goto out;
  }

  /* Durable: now the records become visible. */
  pthread_rwlock_wrlock(&log->rw);
  pos = off;
  for(p = batch; p; p = p->next) {
    assert(p->index == log->size);
    if(audit_offsets_put(log->store, p->index, pos) ||
       gw_merkle_tree_append(log->tree, p->leaf) != GW_MERKLE_OK)
      break;
    p->status = GW_AUDIT_OK;
    if(p->has_qid)
      audit_qindex_add(&log->qindex, p->qid, p->index);
    if(p->has_case)
      audit_qindex_add(&log->qindex, p->case_key, p->index);
    pos += p->frame_len;
    log->size++;
  }
  pthread_rwlock_unlock(&log->rw);
  log->rec_end = off + total;
  if(p) {
    audit_log_fail(log, "cannot add record %llu to the Merkle tree", (unsigned long long)p->index);
    set_status(p, GW_AUDIT_EFAILED);
  }
  pthread_mutex_lock(&log->m_mu);
  log->m.entries = log->size;
  log->m.batches++;
  log->m.bytes = log->rec_end;
  if(n > log->m.largest_batch)
    log->m.largest_batch = n;
  pthread_mutex_unlock(&log->m_mu);
out:
  deliver(log, batch);
}

void *audit_commit_main(void *arg)
{
  struct gw_audit_log *log = arg;
  struct audit_pending *batch;
  uint64_t want, done;
  int stop, retry;

  pthread_setname_np(pthread_self(), "gw-audit");

  for(;;) {
    pthread_mutex_lock(&log->q_mu);
    retry = 0;
    while(!log->q_head && log->ckpt_req == log->ckpt_done && !log->stopping) {
      if(log->failed && log->retrying) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += (time_t)(log->retry_ms / 1000);
        until.tv_nsec += (long)(log->retry_ms % 1000) * 1000000L;
        if(until.tv_nsec >= 1000000000L) {
          until.tv_sec++;
          until.tv_nsec -= 1000000000L;
        }
        if(pthread_cond_timedwait(&log->q_cv, &log->q_mu, &until) == ETIMEDOUT) {
          retry = log->failed && log->retrying;
          break;
        }
      }
      else
        pthread_cond_wait(&log->q_cv, &log->q_mu);
    }
    batch = log->q_head;
    log->q_head = NULL;
    log->q_tail = &log->q_head;
    log->q_bytes = 0;
    log->q_count = 0;
    want = log->ckpt_req;
    done = log->ckpt_done;
    stop = log->stopping;
    pthread_mutex_unlock(&log->q_mu);

    if(retry && !stop)
      audit_try_recover(log);
    if(batch)
      commit_batch(log, batch);
    if(want != done) {
      enum gw_audit_result r = audit_make_checkpoint(log);
      pthread_mutex_lock(&log->q_mu);
      log->ckpt_done = want;
      log->ckpt_result = r;
      pthread_cond_broadcast(&log->done_cv);
      pthread_mutex_unlock(&log->q_mu);
    }
    else if(log->size - log->state_size >= log->state_interval && !audit_is_failed(log)) {
      if(audit_save_state(log) != GW_AUDIT_OK) {
        /* save_state marked the log failed */
      }
    }
    /* Appends are refused once stopping is set, so the batch taken with it
     * was the last. */
    if(stop)
      break;
  }
  return NULL;
}

/* ---- appending ----------------------------------------------------------- */

static void pending_free(struct audit_pending *p)
{
  if(!p)
    return;
  gw_free(p->frame);
  gw_free(p);
}

static void pending_finalize(struct event *ev, void *arg)
{
  (void)ev;
  pending_free(arg);
}

/* On the appender's loop: report, then let libevent free the event after
 * this callback has returned (never free an object inside its callback). */
static void append_done(evutil_socket_t fd, short what, void *arg)
{
  struct audit_pending *p = arg;
  struct gw_audit_append_result res;

  (void)fd;
  (void)what;
  res.status = p->status;
  res.index = p->index;
  memcpy(res.leaf_hash, p->leaf, HLEN);
  p->cb(&res, p->arg);
  if(event_free_finalize(0, p->ev, pending_finalize)) {
    /* cannot happen for an event that is not finalizing yet */
  }
}

enum gw_audit_result gw_audit_record_check(const void *bytes, size_t len, char *why, size_t why_len)
{
  if(!bytes)
    return GW_AUDIT_EINVAL;
  return audit_record_check(bytes, len, why, why_len);
}

/* Checks, frames and hashes a record into a new pending append. */
static enum gw_audit_result pending_new(const void *bytes, size_t len, unsigned flags,
                                        struct audit_pending **out)
{
  enum gw_audit_result r;
  struct audit_pending *p;

  *out = NULL;
  if(flags & GW_AUDIT_BUILT) {
    if(len > GW_AUDIT_RECORD_MAX)
      return GW_AUDIT_ETOOBIG;
    if(len < 2 || ((const char *)bytes)[0] != '{' || ((const char *)bytes)[len - 1] != '}')
      return GW_AUDIT_ERECORD;
#ifndef NDEBUG
    assert(audit_record_check(bytes, len, NULL, 0) == GW_AUDIT_OK);
#endif
  }
  else {
    r = audit_record_check(bytes, len, NULL, 0);
    if(r != GW_AUDIT_OK)
      return r;
  }
  p = gw_calloc(1, sizeof(*p));
  p->frame_len = len + AUDIT_FRAME_OVERHEAD;
  p->frame = gw_malloc(p->frame_len);
  audit_frame(bytes, len, p->frame);
  if(gw_merkle_hash_leaf(bytes, len, p->leaf) != GW_MERKLE_OK) {
    pending_free(p);
    return GW_AUDIT_ECRYPTO;
  }
  p->status = GW_AUDIT_EIO;
  *out = p;
  return GW_AUDIT_OK;
}

static enum gw_audit_result enqueue(struct gw_audit_log *log, struct audit_pending *p)
{
  enum gw_audit_result r = GW_AUDIT_OK;

  pthread_mutex_lock(&log->q_mu);
  if(log->stopping)
    r = GW_AUDIT_ECLOSED;
  else if(log->failed)
    r = GW_AUDIT_EFAILED;
  else if(log->q_bytes + p->frame_len > GW_AUDIT_QUEUE_BYTES_MAX)
    r = GW_AUDIT_EBUSY;
  else {
    p->index = log->next_index++;
    *log->q_tail = p;
    log->q_tail = &p->next;
    log->q_bytes += p->frame_len;
    log->q_count++;
    pthread_cond_signal(&log->q_cv);
  }
  pthread_mutex_unlock(&log->q_mu);
  if(r != GW_AUDIT_OK) {
    pthread_mutex_lock(&log->m_mu);
    log->m.appends_failed++;
    pthread_mutex_unlock(&log->m_mu);
  }
  return r;
}

enum gw_audit_result gw_audit_append(struct gw_audit_log *log, const void *bytes, size_t len,
                                     gw_audit_append_cb cb, void *arg, struct event_base *base)
{
  return gw_audit_append_ex(log, bytes, len, 0, cb, arg, base);
}

enum gw_audit_result gw_audit_append_ex(struct gw_audit_log *log, const void *bytes, size_t len,
                                        unsigned flags, gw_audit_append_cb cb, void *arg,
                                        struct event_base *base)
{
  enum gw_audit_result r;
  struct audit_pending *p = NULL;

  if(!log || !bytes || !cb || !base || (flags & ~GW_AUDIT_BUILT))
    return GW_AUDIT_EINVAL;
  assert(log->magic == AUDIT_LOG_MAGIC);
  r = pending_new(bytes, len, flags, &p);
  if(r != GW_AUDIT_OK)
    return r;
  p->cb = cb;
  p->arg = arg;
  p->ev = event_new(base, -1, 0, append_done, p);
  if(!p->ev) {
    pending_free(p);
    return GW_AUDIT_ENOMEM;
  }
  r = enqueue(log, p);
  if(r != GW_AUDIT_OK) {
    event_free(p->ev);
    pending_free(p);
  }
  return r;
}

enum gw_audit_result gw_audit_append_sync(struct gw_audit_log *log, const void *bytes, size_t len,
                                          struct gw_audit_append_result *out)
{
  enum gw_audit_result r;
  struct audit_pending *p = NULL;

  if(!log || !bytes)
    return GW_AUDIT_EINVAL;
  assert(log->magic == AUDIT_LOG_MAGIC);
  r = pending_new(bytes, len, 0, &p);
  if(r == GW_AUDIT_OK)
    r = enqueue(log, p);
  if(r != GW_AUDIT_OK)
    goto out;
  pthread_mutex_lock(&log->q_mu);
  while(!p->done)
    pthread_cond_wait(&log->done_cv, &log->q_mu);
  pthread_mutex_unlock(&log->q_mu);
  r = p->status;
out:
  if(out) {
    memset(out, 0, sizeof(*out));
    out->status = r;
    if(p) {
      out->index = p->index;
      memcpy(out->leaf_hash, p->leaf, HLEN);
    }
  }
  pending_free(p);
  return r;
}

/* ---- checkpoints (public) ------------------------------------------------ */

enum gw_audit_result gw_audit_checkpoint_now(struct gw_audit_log *log)
{
  enum gw_audit_result r;
  uint64_t mine;

  if(!log)
    return GW_AUDIT_EINVAL;
  if(!log->signer)
    return GW_AUDIT_ENOKEY;
  pthread_mutex_lock(&log->q_mu);
  if(log->stopping) {
    pthread_mutex_unlock(&log->q_mu);
    return GW_AUDIT_ECLOSED;
  }
  mine = ++log->ckpt_req;
  pthread_cond_signal(&log->q_cv);
  while(log->ckpt_done < mine)
    pthread_cond_wait(&log->done_cv, &log->q_mu);
  r = log->ckpt_result;
  pthread_mutex_unlock(&log->q_mu);
  return r;
}

enum gw_audit_result gw_audit_checkpoint_async(struct gw_audit_log *log)
{
  enum gw_audit_result r = GW_AUDIT_OK;

  if(!log)
    return GW_AUDIT_EINVAL;
  if(!log->signer)
    return GW_AUDIT_ENOKEY;
  pthread_mutex_lock(&log->q_mu);
  if(log->stopping)
    r = GW_AUDIT_ECLOSED;
  else if(log->failed)
    r = GW_AUDIT_EFAILED;
  else {
    log->ckpt_req++;
    pthread_cond_signal(&log->q_cv);
  }
  pthread_mutex_unlock(&log->q_mu);
  return r;
}

enum gw_audit_result gw_audit_latest_checkpoint(struct gw_audit_log *log, char **note, size_t *len)
{
  enum gw_audit_result r = GW_AUDIT_ENOCHECKPOINT;

  if(!log || !note || !len)
    return GW_AUDIT_EINVAL;
  *note = NULL;
  *len = 0;
  pthread_rwlock_rdlock(&log->rw);
  if(log->ckpt_note) {
    *note = gw_strndup(log->ckpt_note, log->ckpt_note_len);
    *len = log->ckpt_note_len;
    r = GW_AUDIT_OK;
  }
  pthread_rwlock_unlock(&log->rw);
  return r;
}

enum gw_audit_result gw_audit_checkpoint_key(struct gw_audit_log *log, char **vkey)
{
  if(!log || !vkey)
    return GW_AUDIT_EINVAL;
  *vkey = NULL;
  if(!log->signer)
    return GW_AUDIT_ENOKEY;
  return gw_checkpoint_signer_verifier_key(log->signer, vkey) == GW_CHECKPOINT_OK ?
         GW_AUDIT_OK : GW_AUDIT_ECRYPTO;
}

enum gw_audit_result gw_audit_checkpoint_key_sm2(struct gw_audit_log *log, char **vkey)
{
  if(!log || !vkey)
    return GW_AUDIT_EINVAL;
  *vkey = NULL;
  if(!log->sm2)
    return GW_AUDIT_ENOKEY;
  return gw_checkpoint_sm2_verifier_key(log->sm2, vkey) == GW_CHECKPOINT_OK ?
         GW_AUDIT_OK : GW_AUDIT_ECRYPTO;
}

/* ---- identity, health, metrics ------------------------------------------ */

const char *gw_audit_log_id(const struct gw_audit_log *log)
{
  return log->log_id;
}

const char *gw_audit_origin(const struct gw_audit_log *log)
{
  return log->origin;
}

uint64_t gw_audit_size(struct gw_audit_log *log)
{
  uint64_t n;
  pthread_rwlock_rdlock(&log->rw);
  n = log->size;
  pthread_rwlock_unlock(&log->rw);
  return n;
}

int gw_audit_ready(struct gw_audit_log *log, char *why, size_t why_len)
{
  int ok;

  pthread_mutex_lock(&log->q_mu);
  ok = !log->failed && !log->stopping;
  if(why && why_len) {
    if(log->failed && log->retrying)
      snprintf(why, why_len, "%s; retrying every %u s, recovers by itself once the write "
               "succeeds (free space in the audit directory)", log->fail_reason,
               (log->retry_ms + 999) / 1000);
    else if(log->failed)
      snprintf(why, why_len, "%s; restart gatewayd once the cause is fixed (its open "
               "recovers the log; docs/operations.md)", log->fail_reason);
    else
      snprintf(why, why_len, "%s", log->stopping ? "closing" : "");
  }
  pthread_mutex_unlock(&log->q_mu);
  return ok;
}

void gw_audit_metrics(struct gw_audit_log *log, struct gw_audit_metrics *out)
{
  uint64_t queued;

  pthread_mutex_lock(&log->q_mu);
  queued = log->q_count;
  pthread_mutex_unlock(&log->q_mu);
  pthread_mutex_lock(&log->m_mu);
  *out = log->m;
  pthread_mutex_unlock(&log->m_mu);
  out->queued = queued;
}

/* ---- readers ----------------------------------------------------------- */

static enum gw_audit_result merkle_to_audit(enum gw_merkle_result m)
{
  switch(m) {
  case GW_MERKLE_OK:        return GW_AUDIT_OK;
  case GW_MERKLE_BAD_INDEX: return GW_AUDIT_EBAD_INDEX;
  case GW_MERKLE_BAD_SIZE:  return GW_AUDIT_EBAD_SIZE;
  case GW_MERKLE_NOMEM:     return GW_AUDIT_ENOMEM;
  case GW_MERKLE_CRYPTO:    return GW_AUDIT_ECRYPTO;
  default:                  return GW_AUDIT_EIO;
  }
}

/* Reads record `index` at `off` and checks it against its leaf hash. */
static enum gw_audit_result read_record(struct gw_audit_log *log, uint64_t index, uint64_t off,
                                        const uint8_t leaf[HLEN], uint8_t **bytes, size_t *len)
{
  uint8_t got[HLEN];
  int rc = audit_read_frame(log->rec_fd, off, GW_AUDIT_RECORD_MAX, bytes, len);

  if(rc == 0 && gw_merkle_hash_leaf(*bytes, *len, got) == GW_MERKLE_OK &&
     memcmp(got, leaf, HLEN) == 0)
    return GW_AUDIT_OK;
  gw_free(*bytes);
  *bytes = NULL;
  *len = 0;
  if(rc == -1)
    return GW_AUDIT_EIO;
  gw_log(GW_LOG_ERROR, "audit_entry_corrupt",
         "record %llu at byte offset %llu no longer matches its leaf hash; "
         "run gwctl audit verify", (unsigned long long)index, (unsigned long long)off);
  return GW_AUDIT_ECORRUPT;
}

enum gw_audit_result gw_audit_get_entry(struct gw_audit_log *log, uint64_t index,
                                        uint8_t **bytes, size_t *len)
{
  enum gw_audit_result r = GW_AUDIT_OK;
  uint8_t leaf[HLEN];
  uint64_t off = 0;

  if(!log || !bytes || !len)
    return GW_AUDIT_EINVAL;
  *bytes = NULL;
  *len = 0;
  pthread_rwlock_rdlock(&log->rw);
  if(index >= log->size)
    r = GW_AUDIT_EBAD_INDEX;
  else if(audit_offsets_get(log->store, index, &off))
    r = GW_AUDIT_EIO;
  else
    r = merkle_to_audit(gw_merkle_tree_leaf_hash(log->tree, index, leaf));
  pthread_rwlock_unlock(&log->rw);
  if(r != GW_AUDIT_OK)
    return r;
  /* Committed records never change: read them without the lock. */
  return read_record(log, index, off, leaf, bytes, len);
}

void gw_audit_entries_free(struct gw_audit_entry *e, size_t n)
{
  if(!e)
    return;
  for(size_t i = 0; i < n; i++)
    gw_free(e[i].data);
  gw_free(e);
}

enum gw_audit_result gw_audit_get_entries(struct gw_audit_log *log, uint64_t start, uint64_t count,
                                          struct gw_audit_entry **out, size_t *n)
{
  enum gw_audit_result r = GW_AUDIT_OK;
  struct gw_audit_entry *e = NULL;
  uint64_t *offs = NULL;
  uint8_t (*leaves)[HLEN] = NULL;
  size_t want = 0, got = 0, bytes = 0;

  if(!log || !out || !n)
    return GW_AUDIT_EINVAL;
  *out = NULL;
  *n = 0;
  if(count > GW_AUDIT_ENTRIES_MAX)
    count = GW_AUDIT_ENTRIES_MAX;
  if(!count)
    return GW_AUDIT_EINVAL;
  offs = gw_malloc((size_t)count * sizeof(*offs));
  leaves = gw_malloc((size_t)count * HLEN);
  pthread_rwlock_rdlock(&log->rw);
  if(start >= log->size)
    r = GW_AUDIT_EBAD_INDEX;
  for(; r == GW_AUDIT_OK && want < count && start + want < log->size; want++) {
    if(audit_offsets_get(log->store, start + want, &offs[want]))
      r = GW_AUDIT_EIO;
    else
      r = merkle_to_audit(gw_merkle_tree_leaf_hash(log->tree, start + want, leaves[want]));
  }
  pthread_rwlock_unlock(&log->rw);
  if(r != GW_AUDIT_OK)
    goto out;
  e = gw_calloc(want, sizeof(*e));
  for(got = 0; got < want; got++) {
    r = read_record(log, start + got, offs[got], leaves[got], &e[got].data, &e[got].len);
    if(r != GW_AUDIT_OK)
      goto out;
    e[got].index = start + got;
    if(got && bytes + e[got].len > GW_AUDIT_ENTRIES_BYTES_MAX) {
      gw_free(e[got].data);  /* would pass the cap: the next page starts here */
      e[got].data = NULL;
      break;
    }
    bytes += e[got].len;
  }
  *out = e;
  *n = got;
  e = NULL;
out:
  gw_audit_entries_free(e, got);
  gw_free(offs);
  gw_free(leaves);
  return r;
}

enum gw_audit_result gw_audit_inclusion_proof(struct gw_audit_log *log, uint64_t index,
                                              uint64_t tree_size, uint8_t leaf[HLEN],
                                              struct gw_merkle_proof *proof)
{
  enum gw_audit_result r;

  if(!log || !proof)
    return GW_AUDIT_EINVAL;
  pthread_rwlock_rdlock(&log->rw);
  if(tree_size > log->size)
    r = GW_AUDIT_EBAD_SIZE;
  else if(index >= tree_size)
    r = GW_AUDIT_EBAD_INDEX;
  else {
    r = merkle_to_audit(gw_merkle_tree_inclusion_proof(log->tree, index, tree_size, proof));
    if(r == GW_AUDIT_OK && leaf)
      r = merkle_to_audit(gw_merkle_tree_leaf_hash(log->tree, index, leaf));
  }
  pthread_rwlock_unlock(&log->rw);
  return r;
}

enum gw_audit_result gw_audit_consistency_proof(struct gw_audit_log *log, uint64_t from,
                                                uint64_t to, struct gw_merkle_proof *proof)
{
  enum gw_audit_result r;

  if(!log || !proof)
    return GW_AUDIT_EINVAL;
  pthread_rwlock_rdlock(&log->rw);
  if(from > to || to > log->size)
    r = GW_AUDIT_EBAD_SIZE;
  else
    r = merkle_to_audit(gw_merkle_tree_consistency_proof(log->tree, from, to, proof));
  pthread_rwlock_unlock(&log->rw);
  return r;
}

enum gw_audit_result gw_audit_root_at(struct gw_audit_log *log, uint64_t size, uint8_t root[HLEN])
{
  enum gw_audit_result r;

  if(!log || !root)
    return GW_AUDIT_EINVAL;
  pthread_rwlock_rdlock(&log->rw);
  if(size > log->size)
    r = GW_AUDIT_EBAD_SIZE;
  else
    r = merkle_to_audit(gw_merkle_tree_root_at(log->tree, size, root));
  pthread_rwlock_unlock(&log->rw);
  return r;
}

