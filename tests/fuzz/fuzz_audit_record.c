/*
 * fuzz_audit_record.c - what the audit log reads back: the record check,
 * the frame scanner that tells a torn tail from corruption (audit_int.h;
 * run over an in-memory file, a memfd, so no file is written per input),
 * and C2SP checkpoint notes (verify, parse, sign).
 *
 * Input: byte 0 picks the mode (modulo 4), the rest is its data:
 *   0  a record: gw_audit_record_check.  Accepted means at most
 *      GW_AUDIT_RECORD_MAX bytes of a JSON object whose "kind" is "fetch"
 *      or "query" (checked again with jansson); refused means a reason.
 *   1  a records file: byte 1 bit 0 chooses the frame cap (64 bytes or
 *      GW_AUDIT_RECORD_MAX), bit 1 whether the scan starts after a 16-byte
 *      header (checked with audit_header_check) or at 0; the rest is the
 *      file.  The scanner must agree, record by record and on where and how
 *      it stops, with a plain in-memory model of the rules in
 *      audit_record.c's opening comment (torn tail: partial prefix or frame,
 *      a zero-filled region, a bad checksum with no valid frame after it on
 *      the length chain; anything else is corruption); every record must
 *      re-frame to exactly the bytes it came from, and audit_read_frame at
 *      its offset must return the same bytes.
 *   2  a signed note: gw_checkpoint_verify with a key whose private half is
 *      discarded never succeeds; with the harness's own key (fixed seed, so
 *      seeds carry real signatures) a success parses to exactly what
 *      gw_checkpoint_parse_body reads from the same text; a parsed body is
 *      canonical (the text starts "<origin>\n<size>\n<base64 root>\n").
 *      Also gw_checkpoint_verifier_new on the data as a key string.
 *   3  sign then verify: origin (byte 1 = length), size (8 bytes) and root
 *      (32 bytes) from the data; a note that signs must verify with the
 *      matching key, against its origin, to exactly those values.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "audit_int.h"
#include "gw/alloc.h"
#include "gw/b64.h"
#include "gw/checkpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SMALL_MAX_LEN 64u
#define KEY_NAME "fuzz.example/audit"
#define KNOWN_SEED "gateway fuzz checkpoint key 0001"   /* 32 bytes */

struct fixture {
  int memfd;
  struct gw_checkpoint_signer *signer;      /* the known key */
  struct gw_checkpoint_verifier *known;     /* ... its verifier */
  struct gw_checkpoint_verifier *nobody;    /* a key nobody has any more */
};

static struct gw_checkpoint_signer *signer_from_seed(const unsigned char seed[32])
{
  EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
  BIO *b = BIO_new(BIO_s_mem());
  struct gw_checkpoint_signer *s = NULL;
  char *pem;
  long n;

  if(!k || !b || !PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) ||
     (n = BIO_get_mem_data(b, &pem)) <= 0 ||
     gw_checkpoint_signer_from_pem(pem, (size_t)n, KEY_NAME, &s) != GW_CHECKPOINT_OK)
    abort();
  BIO_free(b);
  EVP_PKEY_free(k);
  return s;
}

static struct gw_checkpoint_verifier *verifier_of(const struct gw_checkpoint_signer *s)
{
  struct gw_checkpoint_verifier *v;
  char *vkey;
  if(gw_checkpoint_signer_verifier_key(s, &vkey) != GW_CHECKPOINT_OK ||
     gw_checkpoint_verifier_new(vkey, &v) != GW_CHECKPOINT_OK)
    abort();
  gw_free(vkey);
  return v;
}

static struct fixture *fixture(void)
{
  static struct fixture f;
  static int ready;
  unsigned char seed[32];
  struct gw_checkpoint_signer *gone;

  if(ready)
    return &f;
  f.memfd = memfd_create("fuzz-audit-records", MFD_CLOEXEC);
  if(f.memfd < 0)
    abort();
  memcpy(seed, KNOWN_SEED, 32);
  f.signer = signer_from_seed(seed);
  f.known = verifier_of(f.signer);
  /* Same key name, another key, private half dropped at once. */
  for(int i = 0; i < 32; i++)
    seed[i] = (unsigned char)(seed[i] ^ 0xA5);
  gone = signer_from_seed(seed);
  f.nobody = verifier_of(gone);
  gw_checkpoint_signer_free(gone);
  ready = 1;
  return &f;
}

/* ---- mode 0: the record check --------------------------------------------- */

static void record(const uint8_t *d, size_t n)
{
  char why[256] = "";
  enum gw_audit_result r = gw_audit_record_check(d, n, why, sizeof(why));

  if(r == GW_AUDIT_OK) {
    json_t *doc = json_loadb((const char *)d, n, JSON_REJECT_DUPLICATES, NULL);
    const char *k = json_string_value(json_object_get(doc, "kind"));
    if(n > GW_AUDIT_RECORD_MAX || !json_is_object(doc) || !k ||
       (strcmp(k, "fetch") && strcmp(k, "query")))
      abort();
    json_decref(doc);
  }
  else if((r != GW_AUDIT_ERECORD && r != GW_AUDIT_ETOOBIG) || !why[0] ||
          (r == GW_AUDIT_ETOOBIG) != (n > GW_AUDIT_RECORD_MAX))
    abort();
}

/* ---- mode 1: the scanner against a model ---------------------------------- */

struct model {
  const uint8_t *buf;
  uint64_t end, pos;
  uint32_t max_len;
};

static int crc_ok(const uint8_t *f, uint32_t len)
{
  return audit_crc32c(0, f, 4 + (size_t)len) == audit_get_be32(f + 4 + len);
}

/* The next step of the model: AUDIT_SCAN_RECORD (with *len) or where and how
 * it stops. */
static enum audit_scan_status model_next(struct model *m, uint32_t *len)
{
  uint64_t rem, off;

  if(m->pos >= m->end)
    return AUDIT_SCAN_END;
  rem = m->end - m->pos;
  if(rem < 4)
    return AUDIT_SCAN_TORN;
  *len = audit_get_be32(m->buf + m->pos);
  if(!*len || *len > m->max_len) {
    for(uint64_t i = m->pos; i < m->end; i++)
      if(m->buf[i])
        return AUDIT_SCAN_CORRUPT;
    return AUDIT_SCAN_TORN;
  }
  if(rem < (uint64_t)*len + AUDIT_FRAME_OVERHEAD)
    return AUDIT_SCAN_TORN;
  if(crc_ok(m->buf + m->pos, *len))
    return AUDIT_SCAN_RECORD;
  for(off = m->pos + AUDIT_FRAME_OVERHEAD + *len; off + AUDIT_FRAME_OVERHEAD <= m->end;) {
    uint32_t l = audit_get_be32(m->buf + off);
    if(!l || l > m->max_len || off + AUDIT_FRAME_OVERHEAD + l > m->end)
      break;
    if(crc_ok(m->buf + off, l))
      return AUDIT_SCAN_CORRUPT;
    off += AUDIT_FRAME_OVERHEAD + l;
  }
  return AUDIT_SCAN_TORN;
}

static void scan(int fd, const uint8_t *d, size_t n)
{
  uint32_t max_len = (d[0] & 1) ? GW_AUDIT_RECORD_MAX : SMALL_MAX_LEN;
  int after_header = d[0] & 2;
  const uint8_t *img = d + 1;
  size_t len = n - 1;
  struct audit_scan s;
  struct model m = { img, len, 0, max_len };
  enum audit_scan_status got, want;
  uint8_t frame[GW_AUDIT_RECORD_MAX + AUDIT_FRAME_OVERHEAD];
  char why[256];
  uint32_t rlen = 0;

  if(ftruncate(fd, 0) || (len && audit_pwrite_all(fd, img, len, 0)))
    abort();
  if(after_header) {
    int ok = audit_header_check(fd, AUDIT_MAGIC_RECORDS, why, sizeof(why)) == 0;
    uint8_t hdr[AUDIT_HDR_LEN];
    audit_header(AUDIT_MAGIC_RECORDS, hdr);
    if(ok != (len >= AUDIT_HDR_LEN && !memcmp(img, hdr, AUDIT_HDR_LEN)))
      abort();
    if(!ok)
      return;
    m.pos = AUDIT_HDR_LEN;
  }
  if(audit_scan_init(&s, fd, m.pos, 7, max_len))
    abort();
  for(uint64_t index = 7;; index++) {
    got = audit_scan_next(&s);
    want = model_next(&m, &rlen);
    if(got != want)
      abort();
    if(got != AUDIT_SCAN_RECORD) {
      /* stopped where the model stops, saying why */
      if(s.pos != m.pos || (got != AUDIT_SCAN_END && !s.why[0]))
        abort();
      break;
    }
    if(s.rec_len != rlen || s.rec_offset != m.pos || s.rec_index != index || !s.rec ||
       s.pos != m.pos + rlen + AUDIT_FRAME_OVERHEAD)
      abort();
    audit_frame(s.rec, s.rec_len, frame);
    if(memcmp(frame, img + m.pos, (size_t)rlen + AUDIT_FRAME_OVERHEAD))
      abort();
    {
      uint8_t *rec;
      size_t rl;
      if(audit_read_frame(fd, m.pos, max_len, &rec, &rl) || rl != rlen ||
         memcmp(rec, img + m.pos + 4, rl))
        abort();
      gw_free(rec);
    }
    m.pos += (uint64_t)rlen + AUDIT_FRAME_OVERHEAD;
  }
  audit_scan_free(&s);
}

/* ---- modes 2 and 3: checkpoints -------------------------------------------- */

static int same(const struct gw_checkpoint *a, const struct gw_checkpoint *b)
{
  return !strcmp(a->origin, b->origin) && a->size == b->size &&
         !memcmp(a->root, b->root, GW_CHECKPOINT_HASH_LEN);
}

/* A parsed body must be the canonical text at the start of the note. */
static void canonical(const struct gw_checkpoint *c, const char *text, size_t n)
{
  char b64[64], head[GW_CHECKPOINT_NAME_MAX + 96];
  size_t blen;
  int hl;
  if(gw_b64_encode(GW_B64_STD, c->root, GW_CHECKPOINT_HASH_LEN, b64, sizeof(b64), &blen) !=
     GW_B64_OK)
    abort();
  b64[blen] = '\0';
  hl = snprintf(head, sizeof(head), "%s\n%llu\n%s\n", c->origin, (unsigned long long)c->size,
                b64);
  if(hl < 0 || (size_t)hl > n || memcmp(head, text, (size_t)hl))
    abort();
}

static void note(const struct fixture *f, const uint8_t *d, size_t n)
{
  struct gw_checkpoint a, b;
  struct gw_checkpoint_verifier *v;
  enum gw_checkpoint_result vr, pr;
  char *key;

  if(gw_checkpoint_verify(f->nobody, (const char *)d, n, NULL, &a) == GW_CHECKPOINT_OK)
    abort();
  pr = gw_checkpoint_parse_body((const char *)d, n, &b);
  if(pr == GW_CHECKPOINT_OK)
    canonical(&b, (const char *)d, n);
  vr = gw_checkpoint_verify(f->known, (const char *)d, n, NULL, &a);
  if(vr == GW_CHECKPOINT_OK && (pr != GW_CHECKPOINT_OK || !same(&a, &b)))
    abort();
  if(vr == GW_CHECKPOINT_OK &&
     gw_checkpoint_verify(f->known, (const char *)d, n, a.origin, NULL) != GW_CHECKPOINT_OK)
    abort();

  key = gw_malloc(n + 1);
  memcpy(key, d, n);
  key[n] = '\0';
  if(gw_checkpoint_verifier_new(key, &v) == GW_CHECKPOINT_OK)
    gw_checkpoint_verifier_free(v);
  gw_free(key);
}

static void roundtrip(const struct fixture *f, const uint8_t *d, size_t n)
{
  char origin[GW_CHECKPOINT_NAME_MAX + 2];
  uint8_t root[GW_CHECKPOINT_HASH_LEN];
  struct gw_checkpoint got;
  size_t olen, len;
  uint64_t size = 0;
  char *text = NULL;

  if(n < 1)
    return;
  olen = d[0] % (GW_CHECKPOINT_NAME_MAX + 2);
  if(n < 1 + olen + 8 + GW_CHECKPOINT_HASH_LEN)
    return;
  memcpy(origin, d + 1, olen);
  origin[olen] = '\0';
  for(int i = 0; i < 8; i++)
    size = size << 8 | d[1 + olen + i];
  memcpy(root, d + 1 + olen + 8, GW_CHECKPOINT_HASH_LEN);
  if(gw_checkpoint_sign(f->signer, origin, size, root, &text, &len) != GW_CHECKPOINT_OK) {
    if(text)
      abort();
    return;
  }
  if(strlen(text) != len ||
     gw_checkpoint_verify(f->known, text, len, origin, &got) != GW_CHECKPOINT_OK ||
     strcmp(got.origin, origin) || got.size != size || memcmp(got.root, root, sizeof(root)) ||
     gw_checkpoint_verify(f->nobody, text, len, NULL, NULL) == GW_CHECKPOINT_OK)
    abort();
  gw_free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct fixture *f = fixture();

  if(size < 2)
    return 0;
  switch(data[0] % 4) {
  case 0:
    record(data + 1, size - 1);
    break;
  case 1:
    scan(f->memfd, data + 1, size - 1);
    break;
  case 2:
    note(f, data + 1, size - 1);
    break;
  case 3:
    roundtrip(f, data + 1, size - 1);
    break;
  }
  return 0;
}
