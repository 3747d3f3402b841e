/*
 * audit_open.c - opening an audit log directory, recovering it after a
 * crash, and closing it.
 *
 * The one idea: trust the records file, and check everything derived from
 * it before serving.  Open restores the tree from the saved resume state
 * (derived/state: a frontier, the offset where its records end, and where
 * the checkpoints file stood), checks that the node store and the record
 * offsets agree with it, and replays only the records after it.  A torn
 * tail is cut off and reported; damage anywhere the scan reaches, or a
 * checkpoint whose root the records no longer give, stops the open with the
 * record index and byte offset.  Whenever the derived state cannot be
 * trusted (missing, damaged, disagreeing, or cfg->full_scan) the log is
 * rehashed from its first record instead: slower, never wrong.
 */
#include "audit_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "gw/alloc.h"
#include "gw/b64.h"
#include "gw/log.h"

#define HLEN GW_MERKLE_HASH_LEN
/* The origin "<id>/audit/<32 hex>" must fit a note name. */
#define GATEWAY_ID_MAX (GW_CHECKPOINT_NAME_MAX - 7 - GW_AUDIT_LOG_ID_LEN)

static int gateway_id_ok(const char *id)
{
  size_t n = id ? strlen(id) : 0;

  if(!n || n > GATEWAY_ID_MAX)
    return 0;
  for(size_t i = 0; i < n; i++)
    if((unsigned char)id[i] <= 0x20 || (unsigned char)id[i] >= 0x7f || id[i] == '+')
      return 0;
  return 1;
}

static enum gw_audit_result corrupt(struct gw_audit_open_report *rep, uint64_t index,
                                    uint64_t offset, const char *fmt, ...)
  __attribute__((format(printf, 4, 5)));

static enum gw_audit_result corrupt(struct gw_audit_open_report *rep, uint64_t index,
                                    uint64_t offset, const char *fmt, ...)
{
  va_list ap;

  rep->bad_index = index;
  rep->bad_offset = offset;
  va_start(ap, fmt);
  vsnprintf(rep->message, sizeof(rep->message), fmt, ap);
  va_end(ap);
  gw_log_fields(GW_LOG_ERROR, "audit_corrupt",
                json_pack("{s:s, s:I, s:I}", "msg", rep->message,
                          "index", (json_int_t)index, "offset", (json_int_t)offset));
  return GW_AUDIT_ECORRUPT;
}

static enum gw_audit_result io_error(struct gw_audit_open_report *rep, const char *what)
{
  snprintf(rep->message, sizeof(rep->message), "%s: %s", what, strerror(errno));
  gw_log(GW_LOG_ERROR, "audit_io", "%s", rep->message);
  return GW_AUDIT_EIO;
}

/* ---- the directory ------------------------------------------------------ */

static int file_size(int fd, uint64_t *size)
{
  struct stat st;

  if(fstat(fd, &st))
    return -1;
  *size = (uint64_t)st.st_size;
  return 0;
}

/* A new log: header-only records and checkpoints files, then log-id last
 * (its presence is what says the log exists). */
static enum gw_audit_result create_log(struct gw_audit_log *log, struct gw_audit_open_report *rep)
{
  uint8_t hdr[AUDIT_HDR_LEN], id[GW_AUDIT_LOG_ID_LEN / 2];
  char text[GW_AUDIT_LOG_ID_LEN + 2];
  uint64_t size;
  int fd;

  fd = openat(log->dirfd, AUDIT_F_RECORDS, O_RDONLY | O_CLOEXEC);
  if(fd >= 0) {
    int bad = file_size(fd, &size) || size > AUDIT_HDR_LEN;
    close(fd);
    if(bad)
      return corrupt(rep, 0, 0, "records file present without a log-id: not creating a "
                     "new log over it");
  }
  if(RAND_bytes(id, sizeof(id)) != 1) {
    snprintf(rep->message, sizeof(rep->message), "no randomness for the log id");
    return GW_AUDIT_ECRYPTO;
  }
  gw_hex_encode(id, sizeof(id), text);
  text[GW_AUDIT_LOG_ID_LEN] = '\n';
  audit_header(AUDIT_MAGIC_RECORDS, hdr);
  if(audit_write_file_atomic(log->dirfd, AUDIT_F_RECORDS, hdr, sizeof(hdr)))
    return io_error(rep, "cannot create the records file");
  audit_header(AUDIT_MAGIC_CKPTS, hdr);
  if(audit_write_file_atomic(log->dirfd, AUDIT_F_CHECKPOINTS, hdr, sizeof(hdr)))
    return io_error(rep, "cannot create the checkpoints file");
  if(audit_write_file_atomic(log->dirfd, AUDIT_F_LOG_ID, text, GW_AUDIT_LOG_ID_LEN + 1))
    return io_error(rep, "cannot write log-id");
  rep->created = 1;
  return GW_AUDIT_OK;
}

static enum gw_audit_result open_files(struct gw_audit_log *log, struct gw_audit_open_report *rep)
{
  char text[GW_AUDIT_LOG_ID_LEN + 8], why[128];
  enum gw_audit_result r;
  ssize_t n;
  int fd;

  fd = openat(log->dirfd, AUDIT_F_LOG_ID, O_RDONLY | O_CLOEXEC);
  if(fd < 0 && errno == ENOENT) {
    r = create_log(log, rep);
    if(r != GW_AUDIT_OK)
      return r;
    fd = openat(log->dirfd, AUDIT_F_LOG_ID, O_RDONLY | O_CLOEXEC);
  }
  if(fd < 0)
    return io_error(rep, "cannot open log-id");
  n = read(fd, text, sizeof(text) - 1);
  close(fd);
  text[n > 0 ? n : 0] = '\0';            /* strspn below needs a string */
  if(n != GW_AUDIT_LOG_ID_LEN + 1 || text[GW_AUDIT_LOG_ID_LEN] != '\n' ||
     strspn(text, "0123456789abcdef") != GW_AUDIT_LOG_ID_LEN)
    return corrupt(rep, 0, 0, "log-id is not 32 lowercase hex characters and a newline");
  memcpy(log->log_id, text, GW_AUDIT_LOG_ID_LEN);
  log->log_id[GW_AUDIT_LOG_ID_LEN] = '\0';

  log->rec_fd = openat(log->dirfd, AUDIT_F_RECORDS, O_RDWR | O_CLOEXEC);
  if(log->rec_fd < 0)
    return errno == ENOENT ? corrupt(rep, 0, 0, "the records file is missing")
                           : io_error(rep, "cannot open the records file");
  if(audit_header_check(log->rec_fd, AUDIT_MAGIC_RECORDS, why, sizeof(why)))
    return corrupt(rep, 0, 0, "records file: %s", why);
  log->ckpt_fd = openat(log->dirfd, AUDIT_F_CHECKPOINTS, O_RDWR | O_CLOEXEC);
  if(log->ckpt_fd < 0)
    return errno == ENOENT ? corrupt(rep, 0, 0, "the checkpoints file is missing")
                           : io_error(rep, "cannot open the checkpoints file");
  if(audit_header_check(log->ckpt_fd, AUDIT_MAGIC_CKPTS, why, sizeof(why)))
    return corrupt(rep, 0, 0, "checkpoints file: %s", why);
  return GW_AUDIT_OK;
}

/* ---- recovery ------------------------------------------------------------ */

/* derived/ holds at least what a tree of st->size needs (every level, not
 * only the frontier that restore checks), and record size-1 ends exactly
 * where the state says the records end. */
static int derived_agrees(struct gw_audit_log *log, const struct audit_state *st)
{
  uint8_t hdr[4];
  uint64_t off;

  for(unsigned k = 0; k < GW_MERKLE_MAX_LEVELS; k++)
    if(log->store->level[k].count < st->size >> k)
      return 0;
  if(!st->size)
    return st->records_end == AUDIT_HDR_LEN;
  if(audit_offsets_count(log->store) < st->size ||
     audit_offsets_get(log->store, st->size - 1, &off) ||
     audit_pread_all(log->rec_fd, hdr, sizeof(hdr), off))
    return 0;
  return off + AUDIT_FRAME_OVERHEAD + audit_get_be32(hdr) == st->records_end;
}

/* Restores the tree from derived/state when it agrees with the files: 1
 * restored, 0 not usable (rebuild from the first record), -1 refused with
 * *err set (the log lost data the state says was durable). */
static int try_resume(struct gw_audit_log *log, struct audit_state *st,
                      struct gw_audit_open_report *rep, enum gw_audit_result *err)
{
  uint64_t rec_size, ckpt_size;
  char why[200];
  int v;

  v = audit_state_load(log->store, st, why, sizeof(why));
  if(v == 1)
    return 0;
  if(v < 0) {
    gw_log(GW_LOG_WARN, "audit_state_unusable", "%s; rehashing the whole log", why);
    return 0;
  }
  if(file_size(log->rec_fd, &rec_size) || file_size(log->ckpt_fd, &ckpt_size)) {
    *err = io_error(rep, "cannot stat the log files");
    return -1;
  }
  /* The state is saved only after what it names was synced: a shorter file
   * lost acknowledged records. */
  if(st->records_end > rec_size || st->records_end < AUDIT_HDR_LEN) {
    *err = corrupt(rep, st->size, rec_size,
                   "the records file is %llu bytes but %llu durable records ended at "
                   "byte %llu: acknowledged records were lost",
                   (unsigned long long)rec_size, (unsigned long long)st->size,
                   (unsigned long long)st->records_end);
    return -1;
  }
  if(st->ckpt_end > ckpt_size || st->ckpt_end < AUDIT_HDR_LEN) {
    *err = corrupt(rep, st->ckpt_count, ckpt_size,
                   "the checkpoints file is %llu bytes but %llu checkpoints ended at "
                   "byte %llu: checkpoints were lost", (unsigned long long)ckpt_size,
                   (unsigned long long)st->ckpt_count, (unsigned long long)st->ckpt_end);
    return -1;
  }
  if(gw_merkle_tree_restore(&log->store->base, st->frontier, st->frontier_len, &log->tree) !=
     GW_MERKLE_OK || gw_merkle_tree_size(log->tree) != st->size) {
    gw_log(GW_LOG_WARN, "audit_state_unusable",
           "saved frontier does not match derived/; rehashing the whole log");
    gw_merkle_tree_free(log->tree);
    log->tree = NULL;
    return 0;
  }
  if(!derived_agrees(log, st) || audit_offsets_truncate(log->store, st->size)) {
    gw_log(GW_LOG_WARN, "audit_state_unusable",
           "derived/ does not hold what derived/state names; rehashing the whole log");
    gw_merkle_tree_free(log->tree);
    log->tree = NULL;
    return 0;
  }
  return 1;
}

/* Cuts a torn tail of `fd` at s->pos and says so. */
static enum gw_audit_result cut_tail(struct gw_audit_log *log, int fd, const char *file,
                                     const struct audit_scan *s, uint64_t *bytes_out,
                                     struct gw_audit_open_report *rep)
{
  uint64_t bytes = s->end - s->pos;

  if(ftruncate(fd, (off_t)s->pos) || fdatasync(fd))
    return io_error(rep, "cannot truncate a torn tail");
  *bytes_out = bytes;
  gw_log_fields(GW_LOG_WARN, "audit_torn_tail",
                json_pack("{s:s, s:s, s:I, s:I, s:I, s:s}", "log_id", log->log_id,
                          "file", file, "offset", (json_int_t)s->pos,
                          "bytes_removed", (json_int_t)bytes, "index", (json_int_t)s->index,
                          "reason", s->why));
  return GW_AUDIT_OK;
}

static enum gw_audit_result replay_records(struct gw_audit_log *log, uint64_t start,
                                           struct audit_scan *torn,
                                           struct gw_audit_open_report *rep)
{
  enum gw_audit_result r = GW_AUDIT_OK;
  struct audit_scan s;
  enum audit_scan_status st;

  if(audit_scan_init(&s, log->rec_fd, start, log->size, GW_AUDIT_RECORD_MAX))
    return io_error(rep, "cannot stat the records file");
  while((st = audit_scan_next(&s)) == AUDIT_SCAN_RECORD) {
    if(audit_offsets_put(log->store, s.rec_index, s.rec_offset) ||
       gw_merkle_tree_append_data(log->tree, s.rec, s.rec_len, NULL) != GW_MERKLE_OK) {
      r = io_error(rep, "cannot rebuild the Merkle node store");
      goto out;
    }
    rep->replayed++;
  }
  switch(st) {
  case AUDIT_SCAN_TORN:
    /* Cut only once the checkpoints are known: a tail a checkpoint signs
     * is damage, not a torn write. */
    *torn = s;
    torn->buf = NULL;
    break;
  case AUDIT_SCAN_CORRUPT:
    r = corrupt(rep, s.index, s.pos, "record %llu at byte offset %llu of %s/records: %s",
                (unsigned long long)s.index, (unsigned long long)s.pos, log->log_id, s.why);
    break;
  case AUDIT_SCAN_IO:
    snprintf(rep->message, sizeof(rep->message), "records file: %s", s.why);
    r = GW_AUDIT_EIO;
    break;
  default:
    break;
  }
  log->size = gw_merkle_tree_size(log->tree);
  log->rec_end = s.pos;
out:
  audit_scan_free(&s);
  return r;
}

/* Checks one checkpoint body against the tree and keeps it as the latest. */
static enum gw_audit_result take_checkpoint(struct gw_audit_log *log, const uint8_t *note,
                                            size_t len, uint64_t number, uint64_t offset,
                                            const struct audit_scan *torn,
                                            struct gw_audit_open_report *rep)
{
  struct gw_checkpoint cp;
  uint8_t root[HLEN];

  if(gw_checkpoint_parse_body((const char *)note, len, &cp) != GW_CHECKPOINT_OK)
    return corrupt(rep, number, offset, "checkpoint %llu at byte offset %llu is not a "
                   "checkpoint", (unsigned long long)number, (unsigned long long)offset);
  if(strcmp(cp.origin, log->origin) != 0)
    return corrupt(rep, number, offset, "checkpoint %llu at byte offset %llu is for origin "
                   "\"%s\", not this log's \"%s\"", (unsigned long long)number,
                   (unsigned long long)offset, cp.origin, log->origin);
  if(cp.size > log->size && torn->end)
    return corrupt(rep, torn->index, torn->pos, "record %llu at byte offset %llu is damaged "
                   "(%s), yet checkpoint %llu signs %llu records: not a torn tail",
                   (unsigned long long)torn->index, (unsigned long long)torn->pos, torn->why,
                   (unsigned long long)number, (unsigned long long)cp.size);
  if(cp.size > log->size)
    return corrupt(rep, log->size, log->rec_end, "checkpoint %llu signs %llu records but the "
                   "log holds %llu: signed records were lost", (unsigned long long)number,
                   (unsigned long long)cp.size, (unsigned long long)log->size);
  if(gw_merkle_tree_root_at(log->tree, cp.size, root) != GW_MERKLE_OK)
    return io_error(rep, "cannot read the Merkle node store");
  if(memcmp(root, cp.root, HLEN) != 0)
    return corrupt(rep, number, offset, "checkpoint %llu (tree size %llu) does not match the "
                   "records: their root differs, the log was changed",
                   (unsigned long long)number, (unsigned long long)cp.size);
  gw_free(log->ckpt_note);
  log->ckpt_note = gw_strndup((const char *)note, len);
  log->ckpt_note_len = len;
  log->ckpt_size = cp.size;
  return GW_AUDIT_OK;
}

static enum gw_audit_result replay_checkpoints(struct gw_audit_log *log, uint64_t start,
                                               const struct audit_scan *torn,
                                               struct gw_audit_open_report *rep)
{
  enum gw_audit_result r = GW_AUDIT_OK;
  struct audit_scan s;
  enum audit_scan_status st;
  uint8_t *note = NULL;
  size_t len = 0;

  /* The latest checkpoint before the resume point is not re-scanned. */
  if(log->ckpt_last) {
    int rc = audit_read_frame(log->ckpt_fd, log->ckpt_last, GW_CHECKPOINT_NOTE_MAX, &note, &len);
    if(rc)
      return corrupt(rep, log->ckpt_count - 1, log->ckpt_last, "checkpoint %llu at byte "
                     "offset %llu cannot be read back", (unsigned long long)log->ckpt_count - 1,
                     (unsigned long long)log->ckpt_last);
    r = take_checkpoint(log, note, len, log->ckpt_count - 1, log->ckpt_last, torn, rep);
    gw_free(note);
    if(r != GW_AUDIT_OK)
      return r;
  }
  if(audit_scan_init(&s, log->ckpt_fd, start, log->ckpt_count, GW_CHECKPOINT_NOTE_MAX))
    return io_error(rep, "cannot stat the checkpoints file");
  while((st = audit_scan_next(&s)) == AUDIT_SCAN_RECORD) {
    r = take_checkpoint(log, s.rec, s.rec_len, s.rec_index, s.rec_offset, torn, rep);
    if(r != GW_AUDIT_OK)
      goto out;
    log->ckpt_last = s.rec_offset;
  }
  if(st == AUDIT_SCAN_TORN)
    r = cut_tail(log, log->ckpt_fd, AUDIT_F_CHECKPOINTS, &s, &rep->ckpt_truncated_bytes, rep);
  else if(st == AUDIT_SCAN_CORRUPT)
    r = corrupt(rep, s.index, s.pos, "checkpoint %llu at byte offset %llu: %s",
                (unsigned long long)s.index, (unsigned long long)s.pos, s.why);
  else if(st == AUDIT_SCAN_IO) {
    snprintf(rep->message, sizeof(rep->message), "checkpoints file: %s", s.why);
    r = GW_AUDIT_EIO;
  }
  log->ckpt_count = s.index;
  log->ckpt_end = s.pos;
out:
  audit_scan_free(&s);
  return r;
}

static enum gw_audit_result recover(struct gw_audit_log *log, const struct gw_audit_config *cfg,
                                    struct gw_audit_open_report *rep)
{
  enum gw_audit_result r = GW_AUDIT_OK;
  struct audit_state st;
  struct audit_scan torn;       /* torn.end != 0: a torn tail to cut */
  uint64_t rec_start = AUDIT_HDR_LEN, ckpt_start = AUDIT_HDR_LEN;
  int resumed = 0;

  memset(&st, 0, sizeof(st));
  memset(&torn, 0, sizeof(torn));
  if(!cfg->full_scan) {
    resumed = try_resume(log, &st, rep, &r);
    if(resumed < 0)
      return r;
  }
  if(resumed) {
    rec_start = st.records_end;
    ckpt_start = st.ckpt_end;
    log->ckpt_count = st.ckpt_count;
    log->ckpt_last = st.ckpt_last;
    log->size = st.size;
    log->state_size = st.size;
    rep->resumed_at = st.size;
  }
  else {
    if(audit_store_reset(log->store) ||
       gw_merkle_tree_new(&log->store->base, &log->tree) != GW_MERKLE_OK)
      return io_error(rep, "cannot reset the Merkle node store");
    rep->rebuilt = !rep->created;
  }
  r = replay_records(log, rec_start, &torn, rep);
  if(r != GW_AUDIT_OK)
    return r;
  r = replay_checkpoints(log, ckpt_start, &torn, rep);
  if(r != GW_AUDIT_OK)
    return r;
  if(torn.end) {
    rep->truncated_offset = torn.pos;
    r = cut_tail(log, log->rec_fd, AUDIT_F_RECORDS, &torn, &rep->truncated_bytes, rep);
    if(r != GW_AUDIT_OK)
      return r;
  }
  rep->size = log->size;
  rep->checkpoints = log->ckpt_count;
  log->next_index = log->size;
  log->m.entries = log->size;
  log->m.bytes = log->rec_end;
  log->m.checkpoints = log->ckpt_count;
  log->m.checkpoint_size = log->ckpt_size;
  {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    log->m.checkpoint_unix = (double)now.tv_sec;   /* staleness counts from the open */
  }
  /* Make the next open fast: save a resume point at what was replayed. */
  if(!resumed || log->size != log->state_size)
    r = audit_save_state(log);
  return r;
}

/* ---- open and close ------------------------------------------------------ */

static struct gw_audit_log *log_alloc(void)
{
  struct gw_audit_log *log = gw_calloc(1, sizeof(*log));

  log->magic = AUDIT_LOG_MAGIC;
  log->dirfd = log->lockfd = log->rec_fd = log->ckpt_fd = -1;
  log->q_tail = &log->q_head;
  pthread_mutex_init(&log->q_mu, NULL);
  pthread_cond_init(&log->q_cv, NULL);
  pthread_cond_init(&log->done_cv, NULL);
  pthread_rwlock_init(&log->rw, NULL);
  pthread_mutex_init(&log->m_mu, NULL);
  return log;
}

static void log_free(struct gw_audit_log *log)
{
  gw_merkle_tree_free(log->tree);
  if(log->store)
    gw_merkle_store_free(&log->store->base);
  gw_checkpoint_signer_free(log->signer);
  gw_checkpoint_sm2_free(log->sm2);
  gw_free(log->origin);
  gw_free(log->ckpt_note);
  gw_free(log->wbuf);
  if(log->rec_fd >= 0)
    close(log->rec_fd);
  if(log->ckpt_fd >= 0)
    close(log->ckpt_fd);
  if(log->lockfd >= 0)
    close(log->lockfd);  /* drops the flock */
  if(log->dirfd >= 0)
    close(log->dirfd);
  pthread_mutex_destroy(&log->q_mu);
  pthread_cond_destroy(&log->q_cv);
  pthread_cond_destroy(&log->done_cv);
  pthread_rwlock_destroy(&log->rw);
  pthread_mutex_destroy(&log->m_mu);
  log->magic = 0;
  gw_free(log);
}

enum gw_audit_result gw_audit_open(const struct gw_audit_config *cfg, struct gw_audit_log **out,
                                   struct gw_audit_open_report *report)
{
  enum gw_audit_result r = GW_AUDIT_EINVAL;
  struct gw_audit_open_report local;
  struct gw_audit_open_report *rep = report ? report : &local;
  struct gw_audit_log *log = NULL;
  enum gw_checkpoint_result cr;
  size_t olen;
  double t0 = audit_now_s();

  memset(rep, 0, sizeof(*rep));
  if(!out)
    return GW_AUDIT_EINVAL;
  *out = NULL;
  if(!cfg || !cfg->dir || !gateway_id_ok(cfg->gateway_id)) {
    snprintf(rep->message, sizeof(rep->message), "audit: a directory and a gateway id "
             "(printable ASCII without spaces or '+', up to %d bytes) are required",
             GATEWAY_ID_MAX);
    return GW_AUDIT_EINVAL;
  }
  log = log_alloc();
  log->state_interval = cfg->state_interval ? cfg->state_interval : GW_AUDIT_STATE_INTERVAL;
  log->retry_ms = cfg->retry_ms ? cfg->retry_ms : GW_AUDIT_RETRY_MS;
  log->prealloc_off = cfg->no_prealloc;
  if(mkdir(cfg->dir, 0700) && errno != EEXIST) {
    r = io_error(rep, "cannot create the audit directory");
    goto fail;
  }
  log->dirfd = open(cfg->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if(log->dirfd < 0) {
    r = io_error(rep, "cannot open the audit directory");
    goto fail;
  }
  log->lockfd = openat(log->dirfd, AUDIT_F_LOCK, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if(log->lockfd < 0) {
    r = io_error(rep, "cannot open the lock file");
    goto fail;
  }
  if(flock(log->lockfd, LOCK_EX | LOCK_NB)) {
    if(errno == EWOULDBLOCK) {
      snprintf(rep->message, sizeof(rep->message), "%s is open in another process", cfg->dir);
      r = GW_AUDIT_ELOCKED;
    }
    else
      r = io_error(rep, "cannot lock the audit directory");
    goto fail;
  }
  r = open_files(log, rep);
  if(r != GW_AUDIT_OK)
    goto fail;
  olen = strlen(cfg->gateway_id) + 7 + GW_AUDIT_LOG_ID_LEN + 1;
  log->origin = gw_malloc(olen);
  snprintf(log->origin, olen, "%s/audit/%s", cfg->gateway_id, log->log_id);
  if(cfg->checkpoint_key) {
    cr = gw_checkpoint_signer_load(cfg->checkpoint_key,
                                   cfg->checkpoint_key_name ? cfg->checkpoint_key_name
                                                            : log->origin, &log->signer);
    if(cr != GW_CHECKPOINT_OK) {
      snprintf(rep->message, sizeof(rep->message), "checkpoint key %s: %s",
               cfg->checkpoint_key, gw_checkpoint_strerror(cr));
      r = cr == GW_CHECKPOINT_EIO ? GW_AUDIT_EIO : GW_AUDIT_EINVAL;
      goto fail;
    }
  }
  if(cfg->checkpoint_sm2_key) {
    cr = log->signer ? gw_checkpoint_sm2_load_id(cfg->checkpoint_sm2_key,
                                                 gw_checkpoint_signer_name(log->signer),
                                                 cfg->checkpoint_sm2_id, &log->sm2)
                     : GW_CHECKPOINT_EINVAL;
    if(cr != GW_CHECKPOINT_OK) {
      snprintf(rep->message, sizeof(rep->message), "SM2 checkpoint key %s: %s",
               cfg->checkpoint_sm2_key, cr == GW_CHECKPOINT_EKEY ? "not an SM2 private key"
               : log->signer ? gw_checkpoint_strerror(cr) : "needs the Ed25519 key too");
      r = cr == GW_CHECKPOINT_EIO ? GW_AUDIT_EIO : GW_AUDIT_EINVAL;
      goto fail;
    }
  }
  log->store = audit_store_open(log->dirfd);
  if(!log->store) {
    r = io_error(rep, "cannot open derived/");
    goto fail;
  }
  r = recover(log, cfg, rep);
  if(r != GW_AUDIT_OK)
    goto fail;
  if(log->signer && !log->ckpt_note) {
    r = audit_make_checkpoint(log);
    if(r != GW_AUDIT_OK)
      goto fail;
    rep->checkpoints = log->ckpt_count;
  }
  if(pthread_create(&log->thread, NULL, audit_commit_main, log)) {
    r = io_error(rep, "cannot start the commit thread");
    goto fail;
  }
  log->thread_started = 1;
  rep->seconds = audit_now_s() - t0;
  gw_log_fields(GW_LOG_INFO, "audit_open",
                json_pack("{s:s, s:s, s:I, s:I, s:I, s:b, s:I, s:f}", "log_id", log->log_id,
                          "origin", log->origin, "size", (json_int_t)rep->size,
                          "resumed_at", (json_int_t)rep->resumed_at,
                          "replayed", (json_int_t)rep->replayed, "rebuilt", rep->rebuilt,
                          "truncated_bytes", (json_int_t)rep->truncated_bytes,
                          "seconds", rep->seconds));
  *out = log;
  return GW_AUDIT_OK;
fail:
  rep->seconds = audit_now_s() - t0;
  if(!rep->message[0])
    snprintf(rep->message, sizeof(rep->message), "%s", gw_audit_strerror(r));
  log_free(log);
  return r;
}

void gw_audit_close(struct gw_audit_log *log)
{
  if(!log)
    return;
  pthread_mutex_lock(&log->q_mu);
  log->stopping = 1;
  pthread_cond_signal(&log->q_cv);
  pthread_mutex_unlock(&log->q_mu);
  if(log->thread_started)
    pthread_join(log->thread, NULL);
  /* Only this thread is left: leave a checkpoint and a resume point at the
   * last durable record so the next open replays nothing. */
  if(!audit_is_failed(log)) {
    enum gw_audit_result r = GW_AUDIT_OK;
    if(log->signer && log->ckpt_size != log->size)
      r = audit_make_checkpoint(log);
    else if(log->state_size != log->size)
      r = audit_save_state(log);
    if(r != GW_AUDIT_OK)
      gw_log(GW_LOG_ERROR, "audit_close", "could not save the resume state: %s",
             gw_audit_strerror(r));
  }
  /* A cleanly closed records file ends at its last record: the space
   * written ahead goes (after a crash the next open cuts it instead). */
  if(log->rec_alloc > log->rec_end && log->rec_fd >= 0) {
    if(ftruncate(log->rec_fd, (off_t)log->rec_end) || fsync(log->rec_fd))
      gw_log(GW_LOG_WARN, "audit_close", "could not cut the space written ahead: %s",
             strerror(errno));
  }
  gw_log(GW_LOG_INFO, "audit_close", "audit log %s closed at %llu records", log->log_id,
         (unsigned long long)log->size);
  log_free(log);
}
