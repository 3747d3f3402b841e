/*
 * audit_verify.c - the offline verifier of an audit log directory, for
 * `gwctl audit verify` and for tests.
 *
 * The one idea: trust nothing the gateway derived.  The verifier reads only
 * the two logs (records and checkpoints), never derived/: it checks every
 * frame and record, rehashes the whole tree in a frontier-only tree (memory
 * O(log n) whatever the log size), verifies every checkpoint's signature and
 * origin, and compares each checkpoint's root with the recomputed root when
 * the replay reaches its size.  Checkpoints are read first, then the
 * records, so a live gateway appending meanwhile cannot make a checkpoint
 * name records the verifier has not seen.  It never writes: a torn tail is
 * reported as a notice and left for the gateway's next open.
 */
#include "audit_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gw/alloc.h"
#include "gw/checkpoint.h"

#define HLEN GW_MERKLE_HASH_LEN

struct ckpt {
  uint64_t number, offset, size;
  uint8_t root[HLEN];
};

struct verify {
  gw_audit_verify_cb cb;
  void *arg;
  struct gw_audit_verify_report *rep;
  char log_id[GW_AUDIT_LOG_ID_LEN + 1];
  struct ckpt *ck;
  size_t nck, capck;
};

static void emit(struct verify *v, enum gw_audit_verify_what what,
                 enum gw_audit_verify_subject subject, uint64_t number, uint64_t offset,
                 uint64_t tree_size, const char *fmt, ...)
  __attribute__((format(printf, 7, 8)));

static void emit(struct verify *v, enum gw_audit_verify_what what,
                 enum gw_audit_verify_subject subject, uint64_t number, uint64_t offset,
                 uint64_t tree_size, const char *fmt, ...)
{
  struct gw_audit_verify_event e;
  char msg[320];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  if(what == GW_AUDIT_VERIFY_PROBLEM && !v->rep->problem) {
    v->rep->problem = 1;
    v->rep->problem_subject = subject;
    v->rep->problem_number = number;
    v->rep->problem_offset = offset;
    snprintf(v->rep->message, sizeof(v->rep->message), "%s", msg);
  }
  if(v->cb) {
    e.what = what;
    e.subject = subject;
    e.number = number;
    e.offset = offset;
    e.tree_size = tree_size;
    e.message = msg;
    v->cb(&e, v->arg);
  }
}

static int read_log_id(struct verify *v, int dirfd)
{
  char text[GW_AUDIT_LOG_ID_LEN + 8];
  ssize_t n;
  int fd = openat(dirfd, AUDIT_F_LOG_ID, O_RDONLY | O_CLOEXEC);

  if(fd < 0) {
    emit(v, GW_AUDIT_VERIFY_PROBLEM, GW_AUDIT_VERIFY_DIR, 0, 0, 0, "no log-id file: %s",
         strerror(errno));
    return -1;
  }
  n = read(fd, text, sizeof(text));
  close(fd);
  if(n != GW_AUDIT_LOG_ID_LEN + 1 || text[GW_AUDIT_LOG_ID_LEN] != '\n' ||
     strspn(text, "0123456789abcdef") != GW_AUDIT_LOG_ID_LEN) {
    emit(v, GW_AUDIT_VERIFY_PROBLEM, GW_AUDIT_VERIFY_DIR, 0, 0, 0,
         "log-id is not 32 lowercase hex characters and a newline");
    return -1;
  }
  memcpy(v->log_id, text, GW_AUDIT_LOG_ID_LEN);
  v->log_id[GW_AUDIT_LOG_ID_LEN] = '\0';
  return 0;
}

static int open_framed(struct verify *v, int dirfd, const char *name, const char *magic)
{
  char why[128];
  int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);

  if(fd < 0) {
    emit(v, GW_AUDIT_VERIFY_PROBLEM, GW_AUDIT_VERIFY_DIR, 0, 0, 0, "cannot open %s: %s", name,
         strerror(errno));
    return -1;
  }
  if(audit_header_check(fd, magic, why, sizeof(why))) {
    emit(v, GW_AUDIT_VERIFY_PROBLEM, GW_AUDIT_VERIFY_DIR, 0, 0, 0, "%s: %s", name, why);
    close(fd);
    return -1;
  }
  return fd;
}

/* A checkpoint's origin must be "<gateway id>/audit/<this log id>", the same
 * for every checkpoint of the log. */
static int origin_ok(const struct verify *v, const char *origin, const char *first)
{
  size_t n = strlen(origin), tail = 7 + GW_AUDIT_LOG_ID_LEN;

  if(first && strcmp(origin, first) != 0)
    return 0;
  return n > tail && memcmp(origin + n - tail, "/audit/", 7) == 0 &&
         strcmp(origin + n - GW_AUDIT_LOG_ID_LEN, v->log_id) == 0;
}

static enum gw_audit_result read_checkpoints(struct verify *v, int fd,
                                             const struct gw_checkpoint_verifier *ver)
{
  enum gw_audit_result r = GW_AUDIT_OK;
  enum gw_checkpoint_result cr;
  enum audit_scan_status st;
  struct gw_checkpoint cp;
  struct audit_scan s;
  char first[GW_CHECKPOINT_NAME_MAX + 1] = "";

  if(audit_scan_init(&s, fd, AUDIT_HDR_LEN, 0, GW_CHECKPOINT_NOTE_MAX))
    return GW_AUDIT_EIO;
  while((st = audit_scan_next(&s)) == AUDIT_SCAN_RECORD) {
    cr = ver ? gw_checkpoint_verify(ver, (const char *)s.rec, s.rec_len, NULL, &cp)
             : gw_checkpoint_parse_body((const char *)s.rec, s.rec_len, &cp);
    if(cr != GW_CHECKPOINT_OK) {
      emit(v, GW_AUDIT_VERIFY_PROBLEM, GW_AUDIT_VERIFY_CHECKPOINT, s.rec_index, s.rec_offset, 0,
           "checkpoint %llu at byte offset %llu: %s", (unsigned long long)s.rec_index,
           (unsigned long long)s.rec_offset, gw_checkpoint_strerror(cr));
      r = GW_AUDIT_ECORRUPT;
      goto out;
    }
    if(!origin_ok(v, cp.origin, first[0] ? first : NULL)) {
      emit(v, GW_AUDIT_VERIFY_PROBLEM, GW_AUDIT_VERIFY_CHECKPOINT, s.rec_index, s.rec_offset,
           cp.size, "checkpoint %llu at byte offset %llu has origin \"%s\", not this log's",
           (unsigned long long)s.rec_index, (unsigned long long)s.rec_offset, cp.origin);
      r = GW_AUDIT_ECORRUPT;
      goto out;
    }
    if(!first[0])
      snprintf(first, sizeof(first), "%s", cp.origin);
    if(v->nck && cp.size < v->ck[v->nck - 1].size) {
      emit(v, GW_AUDIT_VERIFY_PROBLEM, GW_AUDIT_VERIFY_CHECKPOINT, s.rec_index, s.rec_offset,
           cp.size, "checkpoint %llu signs %llu records, fewer than checkpoint %llu before it",
           (unsigned long long)s.rec_index, (unsigned long long)cp.size,
           (unsigned long long)v->ck[v->nck - 1].number);
      r = GW_AUDIT_ECORRUPT;
      goto out;
    }
    if(v->nck == v->capck) {
      v->capck = v->capck ? v->capck * 2 : 64;
      v->ck = gw_realloc(v->ck, v->capck * sizeof(*v->ck));
    }
    v->ck[v->nck].number = s.rec_index;
    v->ck[v->nck].offset = s.rec_offset;
    v->ck[v->nck].size = cp.size;
    memcpy(v->ck[v->nck].root, cp.root, HLEN);
    v->nck++;
  }
  if(st == AUDIT_SCAN_TORN)
    emit(v, GW_AUDIT_VERIFY_NOTICE, GW_AUDIT_VERIFY_CHECKPOINT, s.index, s.pos, 0,
         "checkpoints file has a torn tail of %llu bytes at byte offset %llu (%s); the "
         "gateway removes it on its next start", (unsigned long long)(s.end - s.pos),
         (unsigned long long)s.pos, s.why);
  else if(st == AUDIT_SCAN_CORRUPT) {
    emit(v, GW_AUDIT_VERIFY_PROBLEM, GW_AUDIT_VERIFY_CHECKPOINT, s.index, s.pos, 0,
         "checkpoint %llu at byte offset %llu: %s", (unsigned long long)s.index,
         (unsigned long long)s.pos, s.why);
    r = GW_AUDIT_ECORRUPT;
  }
  else if(st == AUDIT_SCAN_IO) {
    emit(v, GW_AUDIT_VERIFY_PROBLEM, GW_AUDIT_VERIFY_CHECKPOINT, s.index, s.pos, 0,
         "checkpoints file: %s", s.why);
    r = GW_AUDIT_EIO;
  }
out:
  audit_scan_free(&s);
  return r;
}

/* Compares every checkpoint of the tree's current size; *next advances. */
static enum gw_audit_result check_roots(struct verify *v, struct gw_merkle_tree *t, size_t *next)
{
  uint64_t size = gw_merkle_tree_size(t);
  uint8_t root[HLEN];

  while(*next < v->nck && v->ck[*next].size == size) {
    const struct ckpt *c = &v->ck[*next];
    if(gw_merkle_tree_root(t, root) != GW_MERKLE_OK)
      return GW_AUDIT_ECRYPTO;
    if(memcmp(root, c->root, HLEN) != 0) {
      emit(v, GW_AUDIT_VERIFY_PROBLEM, GW_AUDIT_VERIFY_CHECKPOINT, c->number, c->offset, size,
           "checkpoint %llu (tree size %llu) does not match the records: the root "
           "recomputed from records 0..%llu differs", (unsigned long long)c->number,
           (unsigned long long)size, (unsigned long long)(size ? size - 1 : 0));
      return GW_AUDIT_ECORRUPT;
    }
    emit(v, GW_AUDIT_VERIFY_CHECKPOINT_OK, GW_AUDIT_VERIFY_CHECKPOINT, c->number, c->offset,
         size, "checkpoint %llu (tree size %llu) verified", (unsigned long long)c->number,
         (unsigned long long)size);
    v->rep->checkpoints++;
    (*next)++;
  }
  return GW_AUDIT_OK;
}

static enum gw_audit_result read_records(struct verify *v, int fd, struct gw_merkle_tree *t)
{
  enum gw_audit_result r;
  enum audit_scan_status st;
  struct audit_scan s;
  size_t next = 0;
  char why[200];

  r = check_roots(v, t, &next);
  if(r != GW_AUDIT_OK)
    return r;
  if(audit_scan_init(&s, fd, AUDIT_HDR_LEN, 0, GW_AUDIT_RECORD_MAX))
    return GW_AUDIT_EIO;
  while((st = audit_scan_next(&s)) == AUDIT_SCAN_RECORD) {
    if(audit_record_check(s.rec, s.rec_len, why, sizeof(why)) != GW_AUDIT_OK) {
      emit(v, GW_AUDIT_VERIFY_PROBLEM, GW_AUDIT_VERIFY_RECORD, s.rec_index, s.rec_offset, 0,
           "record %llu at byte offset %llu: %s", (unsigned long long)s.rec_index,
           (unsigned long long)s.rec_offset, why);
      r = GW_AUDIT_ECORRUPT;
      goto out;
    }
    if(gw_merkle_tree_append_data(t, s.rec, s.rec_len, NULL) != GW_MERKLE_OK) {
      r = GW_AUDIT_ECRYPTO;
      goto out;
    }
    v->rep->records++;
    r = check_roots(v, t, &next);
    if(r != GW_AUDIT_OK)
      goto out;
  }
  if(st == AUDIT_SCAN_TORN && next < v->nck) {
    const struct ckpt *c = &v->ck[next];
    emit(v, GW_AUDIT_VERIFY_PROBLEM, GW_AUDIT_VERIFY_RECORD, s.index, s.pos, 0,
         "record %llu at byte offset %llu is damaged (%s), yet checkpoint %llu signs %llu "
         "records: not a torn tail", (unsigned long long)s.index, (unsigned long long)s.pos,
         s.why, (unsigned long long)c->number, (unsigned long long)c->size);
    r = GW_AUDIT_ECORRUPT;
    goto out;
  }
  else if(st == AUDIT_SCAN_TORN)
    emit(v, GW_AUDIT_VERIFY_NOTICE, GW_AUDIT_VERIFY_RECORD, s.index, s.pos, 0,
         "records file has a torn tail of %llu bytes at byte offset %llu (%s); the gateway "
         "removes it on its next start", (unsigned long long)(s.end - s.pos),
         (unsigned long long)s.pos, s.why);
  else if(st == AUDIT_SCAN_CORRUPT) {
    emit(v, GW_AUDIT_VERIFY_PROBLEM, GW_AUDIT_VERIFY_RECORD, s.index, s.pos, 0,
         "record %llu at byte offset %llu: %s", (unsigned long long)s.index,
         (unsigned long long)s.pos, s.why);
    r = GW_AUDIT_ECORRUPT;
    goto out;
  }
  else if(st == AUDIT_SCAN_IO) {
    emit(v, GW_AUDIT_VERIFY_PROBLEM, GW_AUDIT_VERIFY_RECORD, s.index, s.pos, 0,
         "records file: %s", s.why);
    r = GW_AUDIT_EIO;
    goto out;
  }
  if(next < v->nck) {
    const struct ckpt *c = &v->ck[next];
    emit(v, GW_AUDIT_VERIFY_PROBLEM, GW_AUDIT_VERIFY_CHECKPOINT, c->number, c->offset, c->size,
         "checkpoint %llu signs %llu records but the log holds %llu: signed records are "
         "missing", (unsigned long long)c->number, (unsigned long long)c->size,
         (unsigned long long)gw_merkle_tree_size(t));
    r = GW_AUDIT_ECORRUPT;
  }
out:
  audit_scan_free(&s);
  return r;
}

enum gw_audit_result gw_audit_verify_dir(const char *dir, const char *vkey,
                                         gw_audit_verify_cb cb, void *arg,
                                         struct gw_audit_verify_report *report)
{
  enum gw_audit_result r = GW_AUDIT_ECORRUPT;
  struct gw_audit_verify_report local;
  struct gw_checkpoint_verifier *ver = NULL;
  struct gw_merkle_tree *t = NULL;
  struct verify v;
  int dirfd = -1, rec_fd = -1, ckpt_fd = -1;

  memset(&v, 0, sizeof(v));
  v.cb = cb;
  v.arg = arg;
  v.rep = report ? report : &local;
  memset(v.rep, 0, sizeof(*v.rep));
  if(!dir)
    return GW_AUDIT_EINVAL;
  if(vkey && gw_checkpoint_verifier_new(vkey, &ver) != GW_CHECKPOINT_OK) {
    snprintf(v.rep->message, sizeof(v.rep->message), "not a note verifier key: %s", vkey);
    return GW_AUDIT_EINVAL;
  }
  v.rep->signatures_checked = ver != NULL;
  dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if(dirfd < 0) {
    emit(&v, GW_AUDIT_VERIFY_PROBLEM, GW_AUDIT_VERIFY_DIR, 0, 0, 0, "cannot open %s: %s", dir,
         strerror(errno));
    r = GW_AUDIT_EIO;
    goto out;
  }
  if(read_log_id(&v, dirfd))
    goto out;
  ckpt_fd = open_framed(&v, dirfd, AUDIT_F_CHECKPOINTS, AUDIT_MAGIC_CKPTS);
  if(ckpt_fd < 0)
    goto out;
  rec_fd = open_framed(&v, dirfd, AUDIT_F_RECORDS, AUDIT_MAGIC_RECORDS);
  if(rec_fd < 0)
    goto out;
  if(!ver)
    emit(&v, GW_AUDIT_VERIFY_NOTICE, GW_AUDIT_VERIFY_DIR, 0, 0, 0,
         "no verifier key given: checkpoint signatures are not checked");
  r = read_checkpoints(&v, ckpt_fd, ver);
  if(r != GW_AUDIT_OK)
    goto out;
  if(gw_merkle_tree_new(NULL, &t) != GW_MERKLE_OK) {
    r = GW_AUDIT_ENOMEM;
    goto out;
  }
  r = read_records(&v, rec_fd, t);
  if(r == GW_AUDIT_OK && gw_merkle_tree_root(t, v.rep->root) != GW_MERKLE_OK)
    r = GW_AUDIT_ECRYPTO;
out:
  if(r != GW_AUDIT_OK && !v.rep->message[0])
    snprintf(v.rep->message, sizeof(v.rep->message), "%s", gw_audit_strerror(r));
  gw_merkle_tree_free(t);
  gw_checkpoint_verifier_free(ver);
  gw_free(v.ck);
  if(rec_fd >= 0)
    close(rec_fd);
  if(ckpt_fd >= 0)
    close(ckpt_fd);
  if(dirfd >= 0)
    close(dirfd);
  return r;
}
