/*
 * audit_index.c - which records of the log name a query id.
 *
 * The one idea: finding a query should not read the whole log.  Every
 * record that carries "query_id":"q_<24 hex>" (a query record, the fetch
 * records made for it, a recheck record) puts (id, record index) into an
 * in-memory multimap, and every record with a "case_ref" puts (a 12-byte
 * tagged SHA-256 of the case reference, record index);
 * gw_audit_find_query / gw_audit_find_case return the record indexes of
 * one key, and the caller reads just those records (and checks them, as
 * it would after a scan: the index only points).  It is rebuilt from the
 * records file every time the log opens (one sequential read) and kept on
 * append by the commit thread, under the log's rw lock, in the same step
 * that makes a record visible; nothing of it is written to disk.
 *
 * Query ids are random (gw_randid), not personal data.  The table holds
 * one slot per distinct key (12 bytes of id, the head of its chain: 24
 * bytes), open addressing with linear probing, kept at most 3/4 full; every
 * (key, record) pair is a 16-byte entry (record index, next entry of the
 * same key) in one array that doubles.  A key named by many records (one
 * case_ref asked about thousands of times) is one slot and a chain, so an
 * append costs the same whatever the key: probing runs over distinct keys
 * only.  One indexed record costs 16 bytes (32 just after a doubling) plus
 * its key's slot, 32 bytes on average, when the key is new.
 */
#include "audit_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw/alloc.h"
#include "gw/log.h"
#include "hmac.h"

#define QINDEX_MIN_SLOTS 1024u
static const char qid_key[] = "\"query_id\":\"q_";
static const char case_key[] = "\"case_ref\":\"";
#define CASE_REF_MAX 64        /* DESIGN section 3: up to 64 of A-Za-z0-9._- */

struct audit_qslot {
  uint8_t id[AUDIT_QID_BYTES];
  uint32_t used;
  uint64_t head;               /* entry number + 1 of the key's newest record */
};

struct audit_qentry {
  uint64_t index;              /* the record's index in the log */
  uint64_t next;               /* entry number + 1 of the key's previous one, or 0 */
};

static int hexval(uint8_t c)
{
  if(c >= '0' && c <= '9')
    return c - '0';
  if(c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

int audit_qid_parse(const char *s, size_t n, uint8_t id[AUDIT_QID_BYTES])
{
  if(n != 2 + 2 * AUDIT_QID_BYTES || s[0] != 'q' || s[1] != '_')
    return -1;
  for(size_t i = 0; i < AUDIT_QID_BYTES; i++) {
    int hi = hexval((uint8_t)s[2 + 2 * i]), lo = hexval((uint8_t)s[3 + 2 * i]);
    if(hi < 0 || lo < 0)
      return -1;
    id[i] = (uint8_t)(hi << 4 | lo);
  }
  return 0;
}

int audit_qid_extract(const uint8_t *rec, size_t len, uint8_t id[AUDIT_QID_BYTES])
{
  const size_t klen = sizeof(qid_key) - 1, vlen = 2 * AUDIT_QID_BYTES;
  const uint8_t *p = rec, *end = rec + len;

  while(p < end) {
    const uint8_t *hit = memmem(p, (size_t)(end - p), qid_key, klen);
    if(!hit)
      return 0;
    hit += klen;
    /* "q_" is part of the key; the value's hex and its closing quote follow */
    if((size_t)(end - hit) > vlen && hit[vlen] == '"' &&
       !audit_qid_parse((const char *)hit - 2, vlen + 2, id))
      return 1;
    p = hit;
  }
  return 0;
}

int audit_case_key(const char *s, size_t n, uint8_t key[AUDIT_QID_BYTES])
{
  static const char tag[] = "gw-audit-case-ref";
  unsigned char md[32], buf[sizeof(tag) + CASE_REF_MAX];

  if(!n || n > CASE_REF_MAX)
    return -1;
  for(size_t i = 0; i < n; i++) {
    char c = s[i];
    if(!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         c == '.' || c == '_' || c == '-'))
      return -1;
  }
  /* hashed with a tag: a case's key cannot be a query id's */
  memcpy(buf, tag, sizeof(tag));
  memcpy(buf + sizeof(tag), s, n);
  if(gw_sha256(buf, sizeof(tag) + n, md))
    return -1;
  memcpy(key, md, AUDIT_QID_BYTES);
  return 0;
}

int audit_case_extract(const uint8_t *rec, size_t len, uint8_t key[AUDIT_QID_BYTES])
{
  const size_t klen = sizeof(case_key) - 1;
  const uint8_t *hit = memmem(rec, len, case_key, klen), *end = rec + len, *q;

  if(!hit)
    return 0;
  hit += klen;
  q = memchr(hit, '"', (size_t)(end - hit));
  return q && !audit_case_key((const char *)hit, (size_t)(q - hit), key);
}

static size_t slot_of(const uint8_t id[AUDIT_QID_BYTES], size_t cap)
{
  uint64_t h;
  memcpy(&h, id, sizeof(h));
  return (size_t)(h & (cap - 1));
}

/* The slot of id: the one holding it, or the empty one where it goes. */
static struct audit_qslot *slot_find(struct audit_qslot *slots, size_t cap,
                                     const uint8_t id[AUDIT_QID_BYTES])
{
  size_t i = slot_of(id, cap);
  while(slots[i].used && memcmp(slots[i].id, id, AUDIT_QID_BYTES))
    i = (i + 1) & (cap - 1);
  return &slots[i];
}

void audit_qindex_add(struct audit_qindex *x, const uint8_t id[AUDIT_QID_BYTES], uint64_t index)
{
  struct audit_qslot *sl;

  if((x->n + 1) * 4 > x->cap * 3) {
    size_t cap = x->cap ? x->cap * 2 : QINDEX_MIN_SLOTS;
    struct audit_qslot *slots = gw_calloc(cap, sizeof(*slots));
    for(size_t i = 0; i < x->cap; i++)
      if(x->slots[i].used)
        *slot_find(slots, cap, x->slots[i].id) = x->slots[i];
    gw_free(x->slots);
    x->slots = slots;
    x->cap = cap;
  }
  if(x->n_ents == x->cap_ents) {
    x->cap_ents = x->cap_ents ? x->cap_ents * 2 : QINDEX_MIN_SLOTS;
    x->ents = gw_realloc(x->ents, x->cap_ents * sizeof(*x->ents));
  }
  sl = slot_find(x->slots, x->cap, id);
  if(!sl->used) {
    memcpy(sl->id, id, AUDIT_QID_BYTES);
    sl->used = 1;
    sl->head = 0;
    x->n++;
  }
  x->ents[x->n_ents] = (struct audit_qentry){ .index = index, .next = sl->head };
  sl->head = ++x->n_ents;
}

static int by_index(const void *a, const void *b)
{
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

size_t audit_qindex_find(const struct audit_qindex *x, const uint8_t id[AUDIT_QID_BYTES],
                         uint64_t *out, size_t max)
{
  const struct audit_qslot *sl;
  size_t n = 0;

  if(!x->cap)
    return 0;
  sl = slot_find(x->slots, x->cap, id);
  if(!sl->used)
    return 0;
  /* newest first along the chain; all are counted, max kept, then sorted */
  for(uint64_t e = sl->head; e; e = x->ents[e - 1].next) {
    if(n < max)
      out[n] = x->ents[e - 1].index;
    n++;
  }
  qsort(out, n < max ? n : max, sizeof(*out), by_index);
  return n;
}

void audit_qindex_free(struct audit_qindex *x)
{
  gw_free(x->slots);
  gw_free(x->ents);
  memset(x, 0, sizeof(*x));
}

size_t audit_qindex_bytes(const struct audit_qindex *x)
{
  return x->cap * sizeof(struct audit_qslot) + x->cap_ents * sizeof(struct audit_qentry);
}

enum gw_audit_result audit_qindex_build(struct gw_audit_log *log, char *why, size_t why_len)
{
  struct audit_scan s;
  uint64_t seen = 0, skipped = 0, off = AUDIT_HDR_LEN;
  uint8_t id[AUDIT_QID_BYTES];

  (void)why;
  (void)why_len;
  /* A record the reader would refuse (a damaged one before the resume
   * point, which the fast open does not read) is skipped, not fatal: the
   * scan starts again at the next record's offset. */
  while(seen < log->size) {
    enum audit_scan_status st = AUDIT_SCAN_IO;
    if(audit_scan_init(&s, log->rec_fd, off, seen, GW_AUDIT_RECORD_MAX))
      break;
    while(seen < log->size && (st = audit_scan_next(&s)) == AUDIT_SCAN_RECORD) {
      if(audit_qid_extract(s.rec, s.rec_len, id))
        audit_qindex_add(&log->qindex, id, s.rec_index);
      if(audit_case_extract(s.rec, s.rec_len, id))
        audit_qindex_add(&log->qindex, id, s.rec_index);
      seen++;
    }
    audit_scan_free(&s);
    if(seen >= log->size)
      break;
    (void)st;
    skipped++;
    if(++seen >= log->size)
      break;
    if(audit_offsets_get(log->store, seen, &off)) {
      skipped += log->size - seen;
      break;
    }
  }
  if(skipped)
    gw_log(GW_LOG_WARN, "audit_index_incomplete",
           "%llu of %llu records could not be read to index them; queries and cases in them "
           "are not found by id", (unsigned long long)skipped, (unsigned long long)log->size);
  return GW_AUDIT_OK;
}

static enum gw_audit_result find(struct gw_audit_log *log, const uint8_t id[AUDIT_QID_BYTES],
                                 uint64_t *indexes, size_t max, size_t *n)
{
  pthread_rwlock_rdlock(&log->rw);
  *n = audit_qindex_find(&log->qindex, id, indexes, max);
  pthread_rwlock_unlock(&log->rw);
  return GW_AUDIT_OK;
}

enum gw_audit_result gw_audit_find_query(struct gw_audit_log *log, const char *query_id,
                                         uint64_t *indexes, size_t max, size_t *n)
{
  uint8_t id[AUDIT_QID_BYTES];

  *n = 0;
  if(!log || !query_id || audit_qid_parse(query_id, strlen(query_id), id))
    return GW_AUDIT_EINVAL;
  return find(log, id, indexes, max, n);
}

enum gw_audit_result gw_audit_find_case(struct gw_audit_log *log, const char *case_ref,
                                        uint64_t *indexes, size_t max, size_t *n)
{
  uint8_t key[AUDIT_QID_BYTES];

  *n = 0;
  if(!log || !case_ref || audit_case_key(case_ref, strlen(case_ref), key))
    return GW_AUDIT_EINVAL;
  return find(log, key, indexes, max, n);
}
