/*
 * audit_store.c - derived/: what the audit log keeps beside its records so
 * that a restart does not rehash the log.
 *
 * The one idea: everything here is a function of the records file, so none
 * of it needs to be durable at once; it only has to be durable up to the
 * resume point named in derived/state, and the log replays the records
 * after that point on open.  So nodes and offsets are appended to files of
 * fixed-width entries (node i of level k at byte 32*i of level-kk, the
 * layout docs/merkle.md plans; the offset of record i at byte 8*i of
 * offsets), buffered in memory and written out in 64 KiB pieces, and synced
 * only when a resume point is saved: at a checkpoint, every
 * GW_AUDIT_STATE_INTERVAL records, and at close.  Anything found past the
 * resume point on open is cut off and rebuilt; a state that does not match
 * the files makes the log rebuild derived/ from its first record.
 *
 * Locking is the caller's (audit.c): the commit thread puts, flushes and
 * truncates under the tree's write lock; readers get under the read lock;
 * syncing touches no entry and needs no lock.
 */
#include "audit_int.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "gw/alloc.h"

#define STORE_MAGIC 0x41535453u /* "ASTS" */
/* Pending entries are written out once they reach this many bytes. */
#define PEND_FLUSH_BYTES (64 * 1024)
#define OFFSET_WIDTH 8

#define STATE_MAGIC "GWAS"
#define STATE_VERSION 1
#define STATE_FIXED (8 + 5 * 8 + 4)
#define STATE_MAX (STATE_FIXED + GW_MERKLE_FRONTIER_MAX_LEN + SHA256_DIGEST_LENGTH)

/* ---- columns ----------------------------------------------------------- */

static int column_init(struct audit_column *c, int dirfd, const char *name, unsigned width)
{
  struct stat st;

  memset(c, 0, sizeof(*c));
  c->fd = -1;
  c->dirfd = dirfd;
  c->width = width;
  snprintf(c->name, sizeof(c->name), "%s", name);
  c->fd = openat(dirfd, name, O_RDWR | O_CLOEXEC);
  if(c->fd < 0)
    return errno == ENOENT ? 0 : -1;
  if(fstat(c->fd, &st))
    return -1;
  c->count = c->flushed = (uint64_t)st.st_size / width;
  /* A partial entry is a write cut short by a crash: never part of a saved
   * state, so drop it. */
  if((uint64_t)st.st_size % width && ftruncate(c->fd, (off_t)(c->count * width)))
    return -1;
  return 0;
}

static void column_close(struct audit_column *c)
{
  if(c->fd >= 0)
    close(c->fd);
  c->fd = -1;
  gw_free(c->pend);
  c->pend = NULL;
}

static int column_open_fd(struct audit_column *c)
{
  if(c->fd >= 0)
    return 0;
  c->fd = openat(c->dirfd, c->name, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if(c->fd < 0)
    return -1;
  c->created = 1;
  return 0;
}

/* 0 found, 1 not held, -1 I/O error. */
static int column_get(const struct audit_column *c, uint64_t i, uint8_t *out)
{
  if(i >= c->count)
    return 1;
  if(i >= c->flushed) {
    memcpy(out, c->pend + (size_t)(i - c->flushed) * c->width, c->width);
    return 0;
  }
  return audit_pread_all(c->fd, out, c->width, i * c->width) ? -1 : 0;
}

static int column_flush(struct audit_column *c)
{
  uint64_t n = c->count - c->flushed;

  if(!n)
    return 0;
  if(column_open_fd(c) ||
     audit_pwrite_all(c->fd, c->pend, (size_t)n * c->width, c->flushed * c->width))
    return -1;
  c->flushed = c->count;
  c->dirty = 1;
  return 0;
}

/* Puts entry i: i == count appends, i < count replaces.  -1 on error or a
 * gap. */
static int column_put(struct audit_column *c, uint64_t i, const uint8_t *v)
{
  size_t slot;

  if(i > c->count)
    return -1;
  if(i < c->flushed) {
    if(column_open_fd(c) || audit_pwrite_all(c->fd, v, c->width, i * c->width))
      return -1;
    c->dirty = 1;
    return 0;
  }
  if(i == c->count && (c->count - c->flushed) * c->width >= PEND_FLUSH_BYTES) {
    if(column_flush(c))
      return -1;
  }
  slot = (size_t)(i - c->flushed);
  if(slot >= c->pend_cap) {
    c->pend_cap = c->pend_cap ? c->pend_cap * 2 : 64;
    c->pend = gw_realloc(c->pend, c->pend_cap * c->width);
  }
  memcpy(c->pend + slot * c->width, v, c->width);
  if(i == c->count)
    c->count++;
  return 0;
}

static int column_truncate(struct audit_column *c, uint64_t n)
{
  if(n >= c->count)
    return 0;
  if(n >= c->flushed) {
    c->count = n;
    return 0;
  }
  c->count = c->flushed = n;
  if(c->fd >= 0) {
    if(ftruncate(c->fd, (off_t)(n * c->width)))
      return -1;
    c->dirty = 1;
  }
  return 0;
}

static int column_sync(struct audit_column *c)
{
  if(!c->dirty || c->fd < 0)
    return 0;
  if(fdatasync(c->fd))
    return -1;
  c->dirty = 0;
  return 0;
}

/* ---- the node store ---------------------------------------------------- */

static struct audit_store *store_of(struct gw_merkle_store *s)
{
  struct audit_store *st = (struct audit_store *)s;
  assert(st->magic == STORE_MAGIC);
  return st;
}

static enum gw_merkle_result st_get(struct gw_merkle_store *s, unsigned level, uint64_t index,
                                    uint8_t out[GW_MERKLE_HASH_LEN])
{
  struct audit_store *st = store_of(s);
  int rc;

  if(level >= GW_MERKLE_MAX_LEVELS)
    return GW_MERKLE_NO_NODE;
  rc = column_get(&st->level[level], index, out);
  return rc == 0 ? GW_MERKLE_OK : rc > 0 ? GW_MERKLE_NO_NODE : GW_MERKLE_STORE;
}

static enum gw_merkle_result st_put(struct gw_merkle_store *s, unsigned level, uint64_t index,
                                    const uint8_t hash[GW_MERKLE_HASH_LEN])
{
  struct audit_store *st = store_of(s);

  if(level >= GW_MERKLE_MAX_LEVELS)
    return GW_MERKLE_STORE;
  return column_put(&st->level[level], index, hash) ? GW_MERKLE_STORE : GW_MERKLE_OK;
}

static enum gw_merkle_result st_truncate(struct gw_merkle_store *s, uint64_t size)
{
  struct audit_store *st = store_of(s);

  for(unsigned k = 0; k < GW_MERKLE_MAX_LEVELS; k++)
    if(column_truncate(&st->level[k], size >> k))
      return GW_MERKLE_STORE;
  return GW_MERKLE_OK;
}

static void st_destroy(struct gw_merkle_store *s)
{
  struct audit_store *st = store_of(s);

  for(unsigned k = 0; k < GW_MERKLE_MAX_LEVELS; k++)
    column_close(&st->level[k]);
  column_close(&st->offsets);
  if(st->dirfd >= 0)
    close(st->dirfd);
  st->magic = 0;
  gw_free(st);
}

static const struct gw_merkle_store_ops store_ops = {
  .name = "audit-file",
  .get = st_get,
  .put = st_put,
  .truncate = st_truncate,
  .destroy = st_destroy,
};

struct audit_store *audit_store_open(int dirfd)
{
  struct audit_store *st;
  char name[16];
  int err;

  if(mkdirat(dirfd, AUDIT_D_DERIVED, 0700) && errno != EEXIST)
    return NULL;
  st = gw_calloc(1, sizeof(*st));
  st->base.ops = &store_ops;
  st->magic = STORE_MAGIC;
  for(unsigned k = 0; k < GW_MERKLE_MAX_LEVELS; k++)
    st->level[k].fd = -1;
  st->offsets.fd = -1;
  st->dirfd = openat(dirfd, AUDIT_D_DERIVED, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if(st->dirfd < 0)
    goto fail;
  for(unsigned k = 0; k < GW_MERKLE_MAX_LEVELS; k++) {
    snprintf(name, sizeof(name), "level-%02u", k);
    if(column_init(&st->level[k], st->dirfd, name, GW_MERKLE_HASH_LEN))
      goto fail;
  }
  if(column_init(&st->offsets, st->dirfd, AUDIT_F_OFFSETS, OFFSET_WIDTH))
    goto fail;
  return st;
fail:
  err = errno;
  st_destroy(&st->base);
  errno = err;
  return NULL;
}

int audit_offsets_get(struct audit_store *st, uint64_t i, uint64_t *off)
{
  uint8_t b[OFFSET_WIDTH];

  if(column_get(&st->offsets, i, b))
    return -1;
  *off = audit_get_be64(b);
  return 0;
}

int audit_offsets_put(struct audit_store *st, uint64_t i, uint64_t off)
{
  uint8_t b[OFFSET_WIDTH];

  audit_put_be64(b, off);
  return column_put(&st->offsets, i, b);
}

uint64_t audit_offsets_count(const struct audit_store *st)
{
  return st->offsets.count;
}

int audit_offsets_truncate(struct audit_store *st, uint64_t n)
{
  return column_truncate(&st->offsets, n);
}

int audit_store_reset(struct audit_store *st)
{
  if(st_truncate(&st->base, 0) != GW_MERKLE_OK)
    return -1;
  return column_truncate(&st->offsets, 0);
}

int audit_store_flush(struct audit_store *st)
{
  for(unsigned k = 0; k < GW_MERKLE_MAX_LEVELS; k++)
    if(column_flush(&st->level[k]))
      return -1;
  return column_flush(&st->offsets);
}

int audit_store_sync(struct audit_store *st)
{
  int created = st->offsets.created;

  for(unsigned k = 0; k < GW_MERKLE_MAX_LEVELS; k++) {
    created |= st->level[k].created;
    if(column_sync(&st->level[k]))
      return -1;
  }
  if(column_sync(&st->offsets))
    return -1;
  if(created) {
    if(fsync(st->dirfd))
      return -1;
    for(unsigned k = 0; k < GW_MERKLE_MAX_LEVELS; k++)
      st->level[k].created = 0;
    st->offsets.created = 0;
  }
  return 0;
}

/* ---- files written whole ---------------------------------------------- */

int audit_write_file_atomic(int dirfd, const char *name, const void *data, size_t len)
{
  char tmp[64];
  int fd = -1, rc = -1, err = 0;

  if(snprintf(tmp, sizeof(tmp), "%s.tmp", name) >= (int)sizeof(tmp)) {
    errno = ENAMETOOLONG;
    return -1;
  }
  fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if(fd < 0)
    return -1;
  if(audit_pwrite_all(fd, data, len, 0) || fsync(fd))
    goto out;
  if(close(fd)) {
    fd = -1;
    goto out;
  }
  fd = -1;
  if(renameat(dirfd, tmp, dirfd, name) || fsync(dirfd))
    goto out;
  rc = 0;
out:
  err = errno;
  if(fd >= 0)
    close(fd);
  if(rc)
    unlinkat(dirfd, tmp, 0);
  errno = err;
  return rc;
}

/* ---- the resume state -------------------------------------------------- */

int audit_state_save(struct audit_store *store, const struct audit_state *st)
{
  uint8_t buf[STATE_MAX];
  size_t n = 0;

  memcpy(buf, STATE_MAGIC, 4);
  buf[4] = STATE_VERSION;
  buf[5] = buf[6] = buf[7] = 0;
  audit_put_be64(buf + 8, st->size);
  audit_put_be64(buf + 16, st->records_end);
  audit_put_be64(buf + 24, st->ckpt_end);
  audit_put_be64(buf + 32, st->ckpt_count);
  audit_put_be64(buf + 40, st->ckpt_last);
  audit_put_be32(buf + 48, (uint32_t)st->frontier_len);
  n = STATE_FIXED;
  memcpy(buf + n, st->frontier, st->frontier_len);
  n += st->frontier_len;
  SHA256(buf, n, buf + n);
  n += SHA256_DIGEST_LENGTH;
  return audit_write_file_atomic(store->dirfd, AUDIT_F_STATE, buf, n);
}

int audit_state_load(struct audit_store *store, struct audit_state *st, char *why, size_t why_len)
{
  uint8_t buf[STATE_MAX + 1], md[SHA256_DIGEST_LENGTH];
  ssize_t got;
  size_t n = 0, flen;
  int fd;

  memset(st, 0, sizeof(*st));
  fd = openat(store->dirfd, AUDIT_F_STATE, O_RDONLY | O_CLOEXEC);
  if(fd < 0) {
    if(errno == ENOENT)
      return 1;
    snprintf(why, why_len, "cannot open derived/state: %s", strerror(errno));
    return -1;
  }
  while(n < sizeof(buf)) {
    got = read(fd, buf + n, sizeof(buf) - n);
    if(got < 0 && errno == EINTR)
      continue;
    if(got <= 0)
      break;
    n += (size_t)got;
  }
  close(fd);
  if(n < STATE_FIXED + SHA256_DIGEST_LENGTH || n > STATE_MAX ||
     memcmp(buf, STATE_MAGIC, 4) != 0 || buf[4] != STATE_VERSION) {
    snprintf(why, why_len, "derived/state is malformed (%zu bytes)", n);
    return -1;
  }
  flen = audit_get_be32(buf + 48);
  if(flen > GW_MERKLE_FRONTIER_MAX_LEN || n != STATE_FIXED + flen + SHA256_DIGEST_LENGTH) {
    snprintf(why, why_len, "derived/state has a bad frontier length");
    return -1;
  }
  SHA256(buf, n - SHA256_DIGEST_LENGTH, md);
  if(memcmp(md, buf + n - SHA256_DIGEST_LENGTH, sizeof(md)) != 0) {
    snprintf(why, why_len, "derived/state fails its check");
    return -1;
  }
  st->size = audit_get_be64(buf + 8);
  st->records_end = audit_get_be64(buf + 16);
  st->ckpt_end = audit_get_be64(buf + 24);
  st->ckpt_count = audit_get_be64(buf + 32);
  st->ckpt_last = audit_get_be64(buf + 40);
  st->frontier_len = flen;
  memcpy(st->frontier, buf + STATE_FIXED, flen);
  return 0;
}
