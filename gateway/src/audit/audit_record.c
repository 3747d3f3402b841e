/*
 * audit_record.c - the framed-file format of the audit log: file headers,
 * record frames with CRC-32C, the record check, and the scanner that reads
 * frames back and decides what a bad frame means.
 *
 * The one idea: a crash can only damage the end of an append-only file, so
 * damage is a torn tail exactly when nothing valid follows it.  The scanner
 * stops at the first bad frame and looks ahead: if the length chain from
 * there reaches a frame whose checksum holds, the damage is in the middle
 * (corruption: refuse to serve); if it runs into the end of the file, a
 * zero-filled region or an impossible length, it is a tail (truncate it).
 * An impossible length (0, or over the cap) is a tail only when every byte
 * from it to the end is zero, the one pattern a crash leaves (a file size
 * that reached the disk before its data); otherwise it is corruption.
 *
 * CRC-32C (not SHA-256) because the frame checksum only has to catch torn
 * writes and media errors: tampering is the Merkle tree's job, and the leaf
 * hash is computed anyway.  CRC-32C detects every burst of up to 32 bits and
 * is what ext4, iSCSI and LevelDB use; here it is slicing-by-8 in portable C.
 */
#include "audit_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "gw/alloc.h"

/* Read buffer of the scanner; always holds at least one largest frame. */
#define SCAN_BUF_MIN (1024 * 1024)
/* Chunk for the zero-tail check. */
#define ZERO_CHUNK   (64 * 1024)

/* ---- bytes ------------------------------------------------------------ */

void audit_put_be32(uint8_t *p, uint32_t v)
{
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

uint32_t audit_get_be32(const uint8_t *p)
{
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void audit_put_be64(uint8_t *p, uint64_t v)
{
  audit_put_be32(p, (uint32_t)(v >> 32));
  audit_put_be32(p + 4, (uint32_t)v);
}

uint64_t audit_get_be64(const uint8_t *p)
{
  return (uint64_t)audit_get_be32(p) << 32 | audit_get_be32(p + 4);
}

/* ---- CRC-32C ------------------------------------------------------------ */

static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
  for(uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for(int k = 0; k < 8; k++)
      c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1)));
    crc_table[0][i] = c;
  }
  for(uint32_t i = 0; i < 256; i++)
    for(int t = 1; t < 8; t++)
      crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
}

uint32_t audit_crc32c_sw(uint32_t crc, const void *data, size_t n)
{
  const uint8_t *p = data;

  pthread_once(&crc_once, crc_init);
  crc = ~crc;
  while(n >= 8) {
    uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                         (uint32_t)p[3] << 24);
    uint32_t hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 |
                  (uint32_t)p[7] << 24;
    crc = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
          crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^
          crc_table[3][hi & 0xff] ^ crc_table[2][(hi >> 8) & 0xff] ^
          crc_table[1][(hi >> 16) & 0xff] ^ crc_table[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while(n--)
    crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xff];
  return ~crc;
}

#if defined(__x86_64__) && defined(__GNUC__)
/* SSE 4.2 has CRC-32C itself (same polynomial, same bit order): eight bytes
 * an instruction instead of eight table lookups. */
__attribute__((target("sse4.2")))
static uint32_t crc32c_sse42(uint32_t crc, const void *data, size_t n)
{
  const uint8_t *p = data;
  uint64_t c = ~crc;
  while(n >= 8) {
    uint64_t v;
    memcpy(&v, p, 8);
    c = __builtin_ia32_crc32di(c, v);
    p += 8;
    n -= 8;
  }
  while(n--)
    c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
  return ~(uint32_t)c;
}

static int crc_hw;
static pthread_once_t crc_hw_once = PTHREAD_ONCE_INIT;

static void crc_hw_init(void)
{
  __builtin_cpu_init();
  crc_hw = __builtin_cpu_supports("sse4.2");
}

uint32_t audit_crc32c(uint32_t crc, const void *data, size_t n)
{
  pthread_once(&crc_hw_once, crc_hw_init);
  return crc_hw ? crc32c_sse42(crc, data, n) : audit_crc32c_sw(crc, data, n);
}
#else
uint32_t audit_crc32c(uint32_t crc, const void *data, size_t n)
{
  return audit_crc32c_sw(crc, data, n);
}
#endif

/* ---- frames and headers ------------------------------------------------- */

void audit_frame(const void *bytes, size_t len, uint8_t *out)
{
  audit_put_be32(out, (uint32_t)len);
  memcpy(out + 4, bytes, len);
  audit_put_be32(out + 4 + len, audit_crc32c(0, out, 4 + len));
}

void audit_header(const char *magic, uint8_t out[AUDIT_HDR_LEN])
{
  memset(out, 0, AUDIT_HDR_LEN);
  memcpy(out, magic, 8);
  audit_put_be32(out + 8, AUDIT_VERSION);
}

int audit_header_check(int fd, const char *magic, char *why, size_t why_len)
{
  uint8_t got[AUDIT_HDR_LEN], want[AUDIT_HDR_LEN];

  audit_header(magic, want);
  if(audit_pread_all(fd, got, sizeof(got), 0)) {
    snprintf(why, why_len, "cannot read the %s header: %s", magic,
             errno ? strerror(errno) : "file too short");
    return -1;
  }
  if(memcmp(got, want, 8) != 0) {
    snprintf(why, why_len, "not a %s file (bad magic)", magic);
    return -1;
  }
  if(memcmp(got + 8, want + 8, 8) != 0) {
    snprintf(why, why_len, "%s file of unknown version %u", magic, audit_get_be32(got + 8));
    return -1;
  }
  return 0;
}

/* ---- the record check --------------------------------------------------- */

/* A file entry of a config record: {"path": name, "sha256": 64 lowercase
 * hex, ...}.  NULL when it is one, else what is wrong. */
static const char *config_file_problem(const json_t *f)
{
  const char *sha = json_string_value(json_object_get(f, "sha256"));
  const char *path = json_string_value(json_object_get(f, "path"));
  if(!json_is_object(f) || !path || !*path)
    return "a file entry without a \"path\"";
  if(!sha || strlen(sha) != 64 || strspn(sha, "0123456789abcdef") != 64)
    return "a file entry whose \"sha256\" is not 64 lowercase hex";
  return NULL;
}

/* What an activated generation must say (docs/audit.md): its id, who,
 * when, and every file in force with its sha256.  NULL when it does. */
static const char *config_problem(const json_t *doc)
{
  const json_t *cat = json_object_get(doc, "catalogue"), *f;
  const char *who = json_string_value(json_object_get(doc, "who")), *p;
  size_t i;

  if(!json_is_integer(json_object_get(doc, "generation")) ||
     json_integer_value(json_object_get(doc, "generation")) < 1)
    return "\"generation\" is not a positive integer";
  if(!who || !*who)
    return "\"who\" is not a non-empty string";
  if(!json_is_integer(json_object_get(doc, "time")))
    return "\"time\" is not an integer";
  if(!json_is_object(cat) || !json_is_array(json_object_get(cat, "facts")) ||
     !json_is_array(json_object_get(doc, "adapters")) ||
     !json_is_array(json_object_get(doc, "predicates")))
    return "\"catalogue.facts\", \"adapters\" or \"predicates\" is not a list";
  if((p = config_file_problem(json_object_get(doc, "acl"))) ||
     (p = config_file_problem(json_object_get(cat, "purposes"))))
    return p;
  json_array_foreach(json_object_get(cat, "facts"), i, f)
    if((p = config_file_problem(f)))
      return p;
  json_array_foreach(json_object_get(doc, "adapters"), i, f)
    if((p = config_file_problem(f)))
      return p;
  json_array_foreach(json_object_get(doc, "predicates"), i, f)
    if((p = config_file_problem(f)))
      return p;
  return NULL;
}

enum gw_audit_result audit_record_check(const void *bytes, size_t len, char *why, size_t why_len)
{
  enum gw_audit_result r = GW_AUDIT_ERECORD;
  json_error_t err;
  json_t *doc = NULL, *kind;
  const char *k;

  if(len > GW_AUDIT_RECORD_MAX) {
    if(why)
      snprintf(why, why_len, "record of %zu bytes is over the %d-byte cap", len,
               GW_AUDIT_RECORD_MAX);
    return GW_AUDIT_ETOOBIG;
  }
  if(!len) {
    if(why)
      snprintf(why, why_len, "empty record");
    return GW_AUDIT_ERECORD;
  }
  doc = json_loadb(bytes, len, JSON_REJECT_DUPLICATES, &err);
  if(!doc) {
    if(why)
      snprintf(why, why_len, "not JSON: %s at byte %d", err.text, err.position);
    goto out;
  }
  if(!json_is_object(doc)) {
    if(why)
      snprintf(why, why_len, "not a JSON object");
    goto out;
  }
  kind = json_object_get(doc, "kind");
  k = json_is_string(kind) ? json_string_value(kind) : NULL;
  if(!k || (strcmp(k, "fetch") != 0 && strcmp(k, "query") != 0 && strcmp(k, "recheck") != 0 &&
            strcmp(k, "config") != 0)) {
    if(why)
      snprintf(why, why_len, "\"kind\" is not \"config\", \"fetch\", \"query\" or \"recheck\"");
    goto out;
  }
  if(!strcmp(k, "config")) {
    const char *p = config_problem(doc);
    if(p) {
      if(why)
        snprintf(why, why_len, "config record: %s", p);
      goto out;
    }
  }
  r = GW_AUDIT_OK;
out:
  json_decref(doc);
  return r;
}

/* ---- plain I/O ---------------------------------------------------------- */

int audit_pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
  const uint8_t *p = buf;

  while(len) {
    ssize_t n = pwrite(fd, p, len, (off_t)off);
    if(n < 0) {
      if(errno == EINTR)
        continue;
      return -1;
    }
    p += n;
    len -= (size_t)n;
    off += (uint64_t)n;
  }
  return 0;
}

int audit_pread_all(int fd, void *buf, size_t len, uint64_t off)
{
  uint8_t *p = buf;

  while(len) {
    ssize_t n = pread(fd, p, len, (off_t)off);
    if(n < 0) {
      if(errno == EINTR)
        continue;
      return -1;
    }
    if(n == 0) {
      errno = 0;
      return -1;
    }
    p += n;
    len -= (size_t)n;
    off += (uint64_t)n;
  }
  return 0;
}

int audit_read_frame(int fd, uint64_t off, uint32_t max_len, uint8_t **out, size_t *len)
{
  uint8_t hdr[4], *frame;
  uint32_t n;

  *out = NULL;
  *len = 0;
  if(audit_pread_all(fd, hdr, sizeof(hdr), off))
    return -1;
  n = audit_get_be32(hdr);
  if(!n || n > max_len)
    return -2;
  frame = gw_malloc((size_t)n + AUDIT_FRAME_OVERHEAD);
  if(audit_pread_all(fd, frame, (size_t)n + AUDIT_FRAME_OVERHEAD, off)) {
    gw_free(frame);
    return -1;
  }
  if(audit_crc32c(0, frame, 4 + (size_t)n) != audit_get_be32(frame + 4 + n)) {
    gw_free(frame);
    return -2;
  }
  /* Hand out the record bytes alone, NUL-terminated for text users. */
  memmove(frame, frame + 4, n);
  frame[n] = '\0';
  *out = frame;
  *len = n;
  return 0;
}

/* ---- the scanner -------------------------------------------------------- */

int audit_scan_init(struct audit_scan *s, int fd, uint64_t offset, uint64_t first_index,
                    uint32_t max_len)
{
  struct stat st;

  memset(s, 0, sizeof(*s));
  s->fd = fd;
  if(fstat(fd, &st))
    return -1;
  s->end = (uint64_t)st.st_size;
  s->pos = offset;
  s->index = first_index;
  s->max_len = max_len;
  s->buf_cap = SCAN_BUF_MIN + (size_t)max_len + AUDIT_FRAME_OVERHEAD;
  s->buf = gw_malloc(s->buf_cap);
  s->buf_off = offset;
  return 0;
}

void audit_scan_free(struct audit_scan *s)
{
  gw_free(s->buf);
  s->buf = NULL;
}

/* Makes buf hold file bytes [off, off + want) (fewer at the end of the
 * file: *have says how many).  -1 on a read error. */
static int fill(struct audit_scan *s, uint64_t off, size_t want, size_t *have)
{
  uint64_t left = off < s->end ? s->end - off : 0;

  if(want > left)
    want = (size_t)left;
  if(off < s->buf_off || off > s->buf_off + s->buf_len) {
    s->buf_off = off;
    s->buf_len = 0;
  }
  if(off + want > s->buf_off + s->buf_len) {
    size_t skip = (size_t)(off - s->buf_off);
    memmove(s->buf, s->buf + skip, s->buf_len - skip);
    s->buf_len -= skip;
    s->buf_off = off;
    while(s->buf_len < want) {
      uint64_t file_left = s->end - (s->buf_off + s->buf_len);
      size_t room = s->buf_cap - s->buf_len;
      size_t chunk = file_left < room ? (size_t)file_left : room;
      ssize_t n = pread(s->fd, s->buf + s->buf_len, chunk, (off_t)(s->buf_off + s->buf_len));
      if(n < 0) {
        if(errno == EINTR)
          continue;
        return -1;
      }
      if(n == 0)
        break;  /* the file shrank under us: what is there is all there is */
      s->buf_len += (size_t)n;
    }
  }
  *have = (size_t)(s->buf_off + s->buf_len - off) < want ?
          (size_t)(s->buf_off + s->buf_len - off) : want;
  return 0;
}

/* 1 when every byte of [off, end) is zero, 0 when not, -1 on error. */
static int zeros_to_end(const struct audit_scan *s, uint64_t off)
{
  uint8_t chunk[ZERO_CHUNK];

  while(off < s->end) {
    size_t n = s->end - off < sizeof(chunk) ? (size_t)(s->end - off) : sizeof(chunk);
    if(audit_pread_all(s->fd, chunk, n, off))
      return -1;
    for(size_t i = 0; i < n; i++)
      if(chunk[i])
        return 0;
    off += n;
  }
  return 1;
}

/* Follows the length chain from `off`: 1 (and *found) when it reaches a
 * frame whose checksum holds, 0 when it runs out first, -1 on error. */
static int valid_frame_after(const struct audit_scan *s, uint64_t off, uint64_t *found)
{
  uint8_t *frame = gw_malloc((size_t)s->max_len + AUDIT_FRAME_OVERHEAD);
  int rc = 0;

  while(off + AUDIT_FRAME_OVERHEAD <= s->end) {
    uint32_t len;
    if(audit_pread_all(s->fd, frame, 4, off)) {
      rc = -1;
      break;
    }
    len = audit_get_be32(frame);
    if(!len || len > s->max_len || off + AUDIT_FRAME_OVERHEAD + len > s->end)
      break;
    if(audit_pread_all(s->fd, frame, len + AUDIT_FRAME_OVERHEAD, off)) {
      rc = -1;
      break;
    }
    if(audit_crc32c(0, frame, 4 + (size_t)len) == audit_get_be32(frame + 4 + len)) {
      *found = off;
      rc = 1;
      break;
    }
    off += AUDIT_FRAME_OVERHEAD + len;
  }
  gw_free(frame);
  return rc;
}

enum audit_scan_status audit_scan_next(struct audit_scan *s)
{
  uint64_t remaining, after = 0;
  size_t have;
  uint32_t len;
  const uint8_t *f;
  int v;

  s->rec = NULL;
  if(s->pos >= s->end)
    return AUDIT_SCAN_END;
  remaining = s->end - s->pos;
  if(remaining < 4) {
    snprintf(s->why, sizeof(s->why), "partial length prefix (%llu of 4 bytes)",
             (unsigned long long)remaining);
    return AUDIT_SCAN_TORN;
  }
  if(fill(s, s->pos, 4, &have) || have < 4)
    goto io;
  len = audit_get_be32(s->buf + (s->pos - s->buf_off));
  if(!len || len > s->max_len) {
    v = zeros_to_end(s, s->pos);
    if(v < 0)
      goto io;
    if(v) {
      snprintf(s->why, sizeof(s->why), "zero-filled tail of %llu bytes: space written "
               "ahead, or a write cut short", (unsigned long long)remaining);
      return AUDIT_SCAN_TORN;
    }
    snprintf(s->why, sizeof(s->why), "invalid length %u (allowed 1..%u)", len, s->max_len);
    return AUDIT_SCAN_CORRUPT;
  }
  if(remaining < (uint64_t)len + AUDIT_FRAME_OVERHEAD) {
    snprintf(s->why, sizeof(s->why), "partial frame (%llu of %u bytes)",
             (unsigned long long)remaining, len + AUDIT_FRAME_OVERHEAD);
    return AUDIT_SCAN_TORN;
  }
  if(fill(s, s->pos, (size_t)len + AUDIT_FRAME_OVERHEAD, &have) ||
     have < (size_t)len + AUDIT_FRAME_OVERHEAD)
    goto io;
  f = s->buf + (s->pos - s->buf_off);
  if(audit_crc32c(0, f, 4 + (size_t)len) != audit_get_be32(f + 4 + len)) {
    v = valid_frame_after(s, s->pos + AUDIT_FRAME_OVERHEAD + len, &after);
    if(v < 0)
      goto io;
    if(v) {
      snprintf(s->why, sizeof(s->why),
               "checksum mismatch, and a valid frame follows at byte offset %llu",
               (unsigned long long)after);
      return AUDIT_SCAN_CORRUPT;
    }
    snprintf(s->why, sizeof(s->why), "checksum mismatch in the last frame");
    return AUDIT_SCAN_TORN;
  }
  s->rec = f + 4;
  s->rec_len = len;
  s->rec_offset = s->pos;
  s->rec_index = s->index;
  s->pos += (uint64_t)len + AUDIT_FRAME_OVERHEAD;
  s->index++;
  return AUDIT_SCAN_RECORD;
io:
  snprintf(s->why, sizeof(s->why), "read failed at byte offset %llu: %s",
           (unsigned long long)s->pos, errno ? strerror(errno) : "file shrank");
  return AUDIT_SCAN_IO;
}
