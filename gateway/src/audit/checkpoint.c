/*
 * checkpoint.c - C2SP tlog-checkpoint bodies in C2SP signed notes, Ed25519.
 *
 * The one idea: be byte-exact and strict on the way in.  Notes are parsed
 * from explicit lengths with one pass that refuses anything the signed-note
 * spec forbids (bad UTF-8, control characters, malformed signature lines)
 * before a signature is looked at, and the body is parsed only after the
 * verifier's own key has verified it.  Base64 is the strict gw/b64.h kind,
 * so a note has one spelling.  See gw/checkpoint.h for the formats.
 */
#include "gw/checkpoint.h"
#include "gw/alloc.h"
#include "gw/b64.h"
#include "pemkey.h"
#include "utf8.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#define SIGNER_MAGIC   0x434b5053u /* "CKPS" */
#define VERIFIER_MAGIC 0x434b5056u /* "CKPV" */

#define ED25519_PUB_LEN 32
#define ED25519_SIG_LEN 64
#define SIG_TYPE_ED25519 0x01
#define SIGBLOB_LEN (GW_CHECKPOINT_KEY_ID_LEN + ED25519_SIG_LEN)
/* "— " : U+2014 EM DASH then a space */
static const char sig_prefix[] = "\xe2\x80\x94 ";
#define SIG_PREFIX_LEN 4
/* Largest tree size a checkpoint may name (GW_MERKLE_MAX_SIZE). */
#define MAX_TREE_SIZE ((uint64_t)1 << 63)
/* Upper bound of a body we make: origin, 20 digits, 44 base64, 3 newlines. */
#define BODY_MAX (GW_CHECKPOINT_NAME_MAX + 20 + 44 + 3)

struct gw_checkpoint_signer {
  unsigned magic;
  EVP_PKEY *pkey;
  char *name;
  uint8_t pub[ED25519_PUB_LEN];
  uint8_t id[GW_CHECKPOINT_KEY_ID_LEN];
};

struct gw_checkpoint_verifier {
  unsigned magic;
  EVP_PKEY *pkey;
  char *name;
  uint8_t id[GW_CHECKPOINT_KEY_ID_LEN];
};

const char *gw_checkpoint_strerror(enum gw_checkpoint_result r)
{
  switch(r) {
  case GW_CHECKPOINT_OK:            return "ok";
  case GW_CHECKPOINT_EINVAL:        return "invalid argument or name";
  case GW_CHECKPOINT_EIO:           return "key file cannot be read";
  case GW_CHECKPOINT_EKEY:          return "not an Ed25519 key or verifier key";
  case GW_CHECKPOINT_ETOOBIG:       return "note too large or too many signatures";
  case GW_CHECKPOINT_EFORMAT:       return "malformed signed note";
  case GW_CHECKPOINT_EBODY:         return "malformed checkpoint body";
  case GW_CHECKPOINT_EUNKNOWN_KEY:  return "note has no signature by the verifier's key";
  case GW_CHECKPOINT_EBADSIG:       return "signature does not verify";
  case GW_CHECKPOINT_EORIGIN:       return "checkpoint is for another origin";
  case GW_CHECKPOINT_ECRYPTO:       return "OpenSSL failure";
  }
  return "unknown error";
}

/* ---- names ------------------------------------------------------------ */

/* What we sign as or accept in a verifier key: 1..NAME_MAX printable ASCII
 * bytes without space or '+' (stricter than the spec, which allows any
 * UTF-8 without spaces or '+'; origins SHOULD be schema-less URLs). */
static int name_ok(const char *name)
{
  size_t n;

  if(!name)
    return 0;
  n = strlen(name);
  if(!n || n > GW_CHECKPOINT_NAME_MAX)
    return 0;
  for(size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)name[i];
    if(c <= 0x20 || c >= 0x7f || c == '+')
      return 0;
  }
  return 1;
}

enum gw_checkpoint_result gw_checkpoint_key_id(const char *name, const uint8_t pub[32],
                                               uint8_t id[GW_CHECKPOINT_KEY_ID_LEN])
{
  enum gw_checkpoint_result r = GW_CHECKPOINT_ECRYPTO;
  static const uint8_t sep[2] = { 0x0a, SIG_TYPE_ED25519 };
  uint8_t md[SHA256_DIGEST_LENGTH];
  EVP_MD_CTX *ctx;

  if(!name || !pub || !id)
    return GW_CHECKPOINT_EINVAL;
  ctx = EVP_MD_CTX_new();
  if(!ctx)
    return GW_CHECKPOINT_ECRYPTO;
  if(EVP_DigestInit_ex2(ctx, EVP_sha256(), NULL) != 1 ||
     EVP_DigestUpdate(ctx, name, strlen(name)) != 1 ||
     EVP_DigestUpdate(ctx, sep, sizeof(sep)) != 1 ||
     EVP_DigestUpdate(ctx, pub, ED25519_PUB_LEN) != 1 ||
     EVP_DigestFinal_ex(ctx, md, NULL) != 1)
    goto out;
  memcpy(id, md, GW_CHECKPOINT_KEY_ID_LEN);
  r = GW_CHECKPOINT_OK;
out:
  EVP_MD_CTX_free(ctx);
  return r;
}

/* ---- signer ------------------------------------------------------------ */

enum gw_checkpoint_result gw_checkpoint_signer_from_pem(const char *pem, size_t len,
                                                        const char *key_name,
                                                        struct gw_checkpoint_signer **out)
{
  enum gw_checkpoint_result r = GW_CHECKPOINT_EKEY;
  struct gw_checkpoint_signer *s = NULL;
  EVP_PKEY *pkey = NULL;
  size_t publen = ED25519_PUB_LEN;
  int priv = 0;

  if(!out)
    return GW_CHECKPOINT_EINVAL;
  *out = NULL;
  if(!pem || !name_ok(key_name)) {
    r = GW_CHECKPOINT_EINVAL;
    goto out;
  }
  if(len > GW_CHECKPOINT_PEM_MAX) {
    r = GW_CHECKPOINT_ETOOBIG;
    goto out;
  }
  /* one unencrypted PKCS#8 private key, nothing after it (pemkey.h) */
  pkey = gw_pemkey_parse(pem, len, &priv);
  if(!pkey || !priv || EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519)
    goto out;
  s = gw_calloc(1, sizeof(*s));
  s->magic = SIGNER_MAGIC;
  if(EVP_PKEY_get_raw_public_key(pkey, s->pub, &publen) != 1 || publen != ED25519_PUB_LEN)
    goto out;
  r = gw_checkpoint_key_id(key_name, s->pub, s->id);
  if(r != GW_CHECKPOINT_OK)
    goto out;
  s->name = gw_strdup(key_name);
  s->pkey = pkey;
  pkey = NULL;
  *out = s;
  s = NULL;
  r = GW_CHECKPOINT_OK;
out:
  gw_checkpoint_signer_free(s);
  EVP_PKEY_free(pkey);
  if(r != GW_CHECKPOINT_OK)
    ERR_clear_error();
  return r;
}

enum gw_checkpoint_result gw_checkpoint_signer_load(const char *pem_path, const char *key_name,
                                                    struct gw_checkpoint_signer **out)
{
  enum gw_checkpoint_result r;
  char *buf = NULL;
  size_t len;

  if(!out)
    return GW_CHECKPOINT_EINVAL;
  *out = NULL;
  if(!pem_path)
    return GW_CHECKPOINT_EINVAL;
  switch(gw_pemkey_read_file(pem_path, GW_CHECKPOINT_PEM_MAX, &buf, &len)) {
  case 0: break;
  case -2: return GW_CHECKPOINT_ETOOBIG;
  default: return GW_CHECKPOINT_EIO;
  }
  r = gw_checkpoint_signer_from_pem(buf, len, key_name, out);
  gw_pemkey_buf_free(buf, GW_CHECKPOINT_PEM_MAX);   /* it held a private key */
  return r;
}

void gw_checkpoint_signer_free(struct gw_checkpoint_signer *s)
{
  if(!s)
    return;
  assert(s->magic == SIGNER_MAGIC);
  EVP_PKEY_free(s->pkey);
  gw_free(s->name);
  s->magic = 0;
  gw_free(s);
}

const char *gw_checkpoint_signer_name(const struct gw_checkpoint_signer *s)
{
  assert(s && s->magic == SIGNER_MAGIC);
  return s->name;
}

enum gw_checkpoint_result gw_checkpoint_signer_verifier_key(const struct gw_checkpoint_signer *s,
                                                            char **out)
{
  uint8_t typed[1 + ED25519_PUB_LEN];
  char b64[64];
  size_t cap, n;
  char *str;

  if(!out)
    return GW_CHECKPOINT_EINVAL;
  *out = NULL;
  if(!s)
    return GW_CHECKPOINT_EINVAL;
  assert(s->magic == SIGNER_MAGIC);
  typed[0] = SIG_TYPE_ED25519;
  memcpy(typed + 1, s->pub, ED25519_PUB_LEN);
  if(gw_b64_encode(GW_B64_STD, typed, sizeof(typed), b64, sizeof(b64), NULL) != GW_B64_OK)
    return GW_CHECKPOINT_ECRYPTO;
  cap = strlen(s->name) + 1 + 8 + 1 + strlen(b64) + 1;
  str = gw_malloc(cap);
  n = (size_t)snprintf(str, cap, "%s+%02x%02x%02x%02x+%s", s->name,
                       s->id[0], s->id[1], s->id[2], s->id[3], b64);
  assert(n + 1 == cap);
  (void)n;
  *out = str;
  return GW_CHECKPOINT_OK;
}

static enum gw_checkpoint_result ed25519_sign(EVP_PKEY *pkey, const void *msg, size_t len,
                                              uint8_t sig[ED25519_SIG_LEN])
{
  enum gw_checkpoint_result r = GW_CHECKPOINT_ECRYPTO;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  size_t siglen = ED25519_SIG_LEN;

  if(!ctx)
    goto out;
  if(EVP_DigestSignInit(ctx, NULL, NULL, NULL, pkey) != 1 ||
     EVP_DigestSign(ctx, sig, &siglen, msg, len) != 1 || siglen != ED25519_SIG_LEN)
    goto out;
  r = GW_CHECKPOINT_OK;
out:
  EVP_MD_CTX_free(ctx);
  if(r != GW_CHECKPOINT_OK)
    ERR_clear_error();
  return r;
}

enum gw_checkpoint_result gw_checkpoint_sign(const struct gw_checkpoint_signer *s,
                                             const char *origin, uint64_t size,
                                             const uint8_t root[GW_CHECKPOINT_HASH_LEN],
                                             char **note, size_t *len)
{
  enum gw_checkpoint_result r;
  char body[BODY_MAX + 1], root64[48], sig64[96];
  uint8_t sigblob[SIGBLOB_LEN];
  size_t body_len, cap;
  int n;
  char *text;

  if(!note || !len)
    return GW_CHECKPOINT_EINVAL;
  *note = NULL;
  *len = 0;
  if(!s || !root || !name_ok(origin) || size > MAX_TREE_SIZE)
    return GW_CHECKPOINT_EINVAL;
  assert(s->magic == SIGNER_MAGIC);
  if(gw_b64_encode(GW_B64_STD, root, GW_CHECKPOINT_HASH_LEN, root64, sizeof(root64), NULL))
    return GW_CHECKPOINT_ECRYPTO;
  n = snprintf(body, sizeof(body), "%s\n%llu\n%s\n", origin, (unsigned long long)size, root64);
  if(n < 0 || (size_t)n >= sizeof(body))
    return GW_CHECKPOINT_EINVAL;
  body_len = (size_t)n;
  memcpy(sigblob, s->id, GW_CHECKPOINT_KEY_ID_LEN);
  r = ed25519_sign(s->pkey, body, body_len, sigblob + GW_CHECKPOINT_KEY_ID_LEN);
  if(r != GW_CHECKPOINT_OK)
    return r;
  if(gw_b64_encode(GW_B64_STD, sigblob, sizeof(sigblob), sig64, sizeof(sig64), NULL))
    return GW_CHECKPOINT_ECRYPTO;
  cap = body_len + 1 + SIG_PREFIX_LEN + strlen(s->name) + 1 + strlen(sig64) + 2;
  text = gw_malloc(cap);
  n = snprintf(text, cap, "%s\n%s%s %s\n", body, sig_prefix, s->name, sig64);
  assert(n > 0 && (size_t)n + 1 == cap);
  *note = text;
  *len = (size_t)n;
  return GW_CHECKPOINT_OK;
}

/* ---- verifier ---------------------------------------------------------- */

void gw_checkpoint_verifier_free(struct gw_checkpoint_verifier *v)
{
  if(!v)
    return;
  assert(v->magic == VERIFIER_MAGIC);
  EVP_PKEY_free(v->pkey);
  gw_free(v->name);
  v->magic = 0;
  gw_free(v);
}

static int hexval(char c)
{
  if(c >= '0' && c <= '9')
    return c - '0';
  if(c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

enum gw_checkpoint_result gw_checkpoint_verifier_new(const char *vkey,
                                                     struct gw_checkpoint_verifier **out)
{
  enum gw_checkpoint_result r = GW_CHECKPOINT_EKEY;
  struct gw_checkpoint_verifier *v = NULL;
  const char *plus1, *plus2;
  uint8_t id[GW_CHECKPOINT_KEY_ID_LEN], want[GW_CHECKPOINT_KEY_ID_LEN];
  uint8_t typed[1 + ED25519_PUB_LEN + 2];
  size_t typed_len = 0;
  char *name = NULL;

  if(!out)
    return GW_CHECKPOINT_EINVAL;
  *out = NULL;
  if(!vkey)
    return GW_CHECKPOINT_EINVAL;
  if(strlen(vkey) > GW_CHECKPOINT_NAME_MAX + 64)
    return GW_CHECKPOINT_EKEY;
  plus1 = strchr(vkey, '+');
  if(!plus1)
    goto out;
  plus2 = strchr(plus1 + 1, '+');
  if(!plus2 || plus2 - plus1 != 9)
    goto out;
  name = gw_strndup(vkey, (size_t)(plus1 - vkey));
  if(!name_ok(name))
    goto out;
  for(int i = 0; i < GW_CHECKPOINT_KEY_ID_LEN; i++) {
    int hi = hexval(plus1[1 + 2 * i]), lo = hexval(plus1[2 + 2 * i]);
    if(hi < 0 || lo < 0)
      goto out;
    id[i] = (uint8_t)(hi << 4 | lo);
  }
  if(gw_b64_decode(GW_B64_STD, plus2 + 1, strlen(plus2 + 1), typed, sizeof(typed),
                   &typed_len) != GW_B64_OK ||
     typed_len != sizeof(typed) - 2 || typed[0] != SIG_TYPE_ED25519)
    goto out;
  r = gw_checkpoint_key_id(name, typed + 1, want);
  if(r != GW_CHECKPOINT_OK)
    goto out;
  r = GW_CHECKPOINT_EKEY;
  if(memcmp(id, want, sizeof(id)) != 0)
    goto out;
  v = gw_calloc(1, sizeof(*v));
  v->magic = VERIFIER_MAGIC;
  v->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, typed + 1, ED25519_PUB_LEN);
  if(!v->pkey) {
    r = GW_CHECKPOINT_ECRYPTO;
    goto out;
  }
  memcpy(v->id, id, sizeof(id));
  v->name = name;
  name = NULL;
  *out = v;
  v = NULL;
  r = GW_CHECKPOINT_OK;
out:
  gw_checkpoint_verifier_free(v);
  gw_free(name);
  if(r != GW_CHECKPOINT_OK)
    ERR_clear_error();
  return r;
}

/* Unicode White_Space (Go's unicode.IsSpace), for key names in notes. */
static int is_unicode_space(uint32_t c)
{
  return c == ' ' || (c >= 0x09 && c <= 0x0d) || c == 0x85 || c == 0xa0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f ||
         c == 0x205f || c == 0x3000;
}

/* The whole note: valid UTF-8, no control character but '\n'. */
static int note_chars_ok(const unsigned char *p, size_t n)
{
  uint32_t c;

  for(size_t i = 0; i < n;) {
    size_t l = gw_utf8_next(p + i, n - i, &c);
    if(!l || (c < 0x20 && c != '\n') || c == 0x7f)
      return 0;
    i += l;
  }
  return 1;
}

/* A key name inside a signature line: non-empty, no Unicode space, no '+'. */
static int note_name_ok(const unsigned char *p, size_t n)
{
  uint32_t c;

  if(!n)
    return 0;
  for(size_t i = 0; i < n;) {
    size_t l = gw_utf8_next(p + i, n - i, &c);
    if(!l || is_unicode_space(c) || c == '+')
      return 0;
    i += l;
  }
  return 1;
}

/* Decodes the base64 of a signature line (key ID || signature) into
 * blob[0..SIGBLOB_LEN) and its full decoded length into *len.  A longer
 * signature (another algorithm) cannot be the verifier's: only its first
 * bytes are kept, once the whole is known to be well-formed base64. */
static int decode_sig(const char *b64, size_t n, uint8_t blob[SIGBLOB_LEN], size_t *len)
{
  unsigned char *all = NULL;

  if(!n || gw_b64_decode_alloc(GW_B64_STD, b64, n, &all, len) != GW_B64_OK ||
     *len < GW_CHECKPOINT_KEY_ID_LEN + 1) {
    gw_free(all);
    return -1;
  }
  memcpy(blob, all, *len < SIGBLOB_LEN ? *len : SIGBLOB_LEN);
  gw_free(all);
  return 0;
}

static enum gw_checkpoint_result ed25519_verify(EVP_PKEY *pkey, const void *msg, size_t len,
                                                const uint8_t *sig, size_t siglen)
{
  enum gw_checkpoint_result r = GW_CHECKPOINT_ECRYPTO;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  int ok;

  if(!ctx)
    goto out;
  if(EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) != 1)
    goto out;
  ok = siglen == ED25519_SIG_LEN && EVP_DigestVerify(ctx, sig, siglen, msg, len) == 1;
  r = ok ? GW_CHECKPOINT_OK : GW_CHECKPOINT_EBADSIG;
out:
  EVP_MD_CTX_free(ctx);
  ERR_clear_error();
  return r;
}

enum gw_checkpoint_result gw_checkpoint_verify(const struct gw_checkpoint_verifier *v,
                                               const char *note, size_t len,
                                               const char *expected_origin,
                                               struct gw_checkpoint *out)
{
  const unsigned char *p = (const unsigned char *)note;
  struct gw_checkpoint cp;
  size_t text_len = 0, pos, nsigs = 0;
  int verified = 0;
  enum gw_checkpoint_result r;

  if(!v || !note)
    return GW_CHECKPOINT_EINVAL;
  assert(v->magic == VERIFIER_MAGIC);
  if(len > GW_CHECKPOINT_NOTE_MAX)
    return GW_CHECKPOINT_ETOOBIG;
  if(!len || p[len - 1] != '\n' || !note_chars_ok(p, len))
    return GW_CHECKPOINT_EFORMAT;
  /* The text ends at the last blank line: the last "\n\n" in the note. */
  for(size_t i = len - 1; i > 0; i--) {
    if(p[i] == '\n' && p[i - 1] == '\n') {
      text_len = i;  /* text = p[0..i), ending in its own newline */
      break;
    }
  }
  if(!text_len || text_len + 1 >= len)
    return GW_CHECKPOINT_EFORMAT;
  for(pos = text_len + 1; pos < len;) {
    const unsigned char *line = p + pos, *nl, *sp;
    uint8_t blob[SIGBLOB_LEN];
    size_t line_len, blob_len = 0;

    nl = memchr(line, '\n', len - pos);
    line_len = (size_t)(nl - line);  /* the note ends in '\n', so nl exists */
    if(++nsigs > GW_CHECKPOINT_SIGS_MAX)
      return GW_CHECKPOINT_ETOOBIG;
    if(line_len < SIG_PREFIX_LEN || memcmp(line, sig_prefix, SIG_PREFIX_LEN) != 0)
      return GW_CHECKPOINT_EFORMAT;
    sp = memchr(line + SIG_PREFIX_LEN, ' ', line_len - SIG_PREFIX_LEN);
    if(!sp || !note_name_ok(line + SIG_PREFIX_LEN, (size_t)(sp - line) - SIG_PREFIX_LEN))
      return GW_CHECKPOINT_EFORMAT;
    if(decode_sig((const char *)sp + 1, (size_t)(nl - (sp + 1)), blob, &blob_len))
      return GW_CHECKPOINT_EFORMAT;
    if((size_t)(sp - line) - SIG_PREFIX_LEN == strlen(v->name) &&
       memcmp(line + SIG_PREFIX_LEN, v->name, strlen(v->name)) == 0 &&
       memcmp(blob, v->id, GW_CHECKPOINT_KEY_ID_LEN) == 0) {
      if(blob_len != SIGBLOB_LEN)
        return GW_CHECKPOINT_EBADSIG;
      r = ed25519_verify(v->pkey, note, text_len, blob + GW_CHECKPOINT_KEY_ID_LEN,
                         ED25519_SIG_LEN);
      if(r != GW_CHECKPOINT_OK)
        return r;
      verified = 1;
    }
    pos += line_len + 1;
  }
  if(!verified)
    return GW_CHECKPOINT_EUNKNOWN_KEY;
  /* A checkpoint body has no empty line (extension lines are non-empty). */
  if(memmem(note, text_len, "\n\n", 2))
    return GW_CHECKPOINT_EBODY;
  r = gw_checkpoint_parse_body(note, text_len, &cp);
  if(r != GW_CHECKPOINT_OK)
    return r;
  if(expected_origin && strcmp(expected_origin, cp.origin) != 0)
    return GW_CHECKPOINT_EORIGIN;
  if(out)
    *out = cp;
  return GW_CHECKPOINT_OK;
}

/* ---- body ---------------------------------------------------------------- */

static int parse_size(const char *s, size_t n, uint64_t *out)
{
  uint64_t v = 0;

  if(!n || n > 20 || (n > 1 && s[0] == '0'))
    return -1;
  for(size_t i = 0; i < n; i++) {
    if(s[i] < '0' || s[i] > '9')
      return -1;
    if(v > (MAX_TREE_SIZE - (uint64_t)(s[i] - '0')) / 10)
      return -1;
    v = v * 10 + (uint64_t)(s[i] - '0');
  }
  *out = v;
  return 0;
}

enum gw_checkpoint_result gw_checkpoint_parse_body(const char *text, size_t len,
                                                   struct gw_checkpoint *out)
{
  const char *line[3];
  size_t line_len[3], pos = 0, nlines = 0;
  uint8_t root[GW_CHECKPOINT_HASH_LEN + 2];
  size_t root_len = 0;

  if(!text || !out)
    return GW_CHECKPOINT_EINVAL;
  /* Three mandatory lines, then non-empty extension lines up to a blank
   * line (the start of the signatures) or the end. */
  while(pos < len) {
    const char *nl = memchr(text + pos, '\n', len - pos);
    size_t l;
    if(!nl)
      return GW_CHECKPOINT_EBODY;  /* a line without its newline */
    l = (size_t)(nl - (text + pos));
    if(!l) {
      if(nlines < 3)
        return GW_CHECKPOINT_EBODY;
      break;
    }
    if(nlines < 3) {
      line[nlines] = text + pos;
      line_len[nlines] = l;
    }
    nlines++;
    pos += l + 1;
  }
  if(nlines < 3 || line_len[0] > GW_CHECKPOINT_NAME_MAX)
    return GW_CHECKPOINT_EBODY;
  if(!note_chars_ok((const unsigned char *)line[0], line_len[0]))
    return GW_CHECKPOINT_EBODY;
  if(parse_size(line[1], line_len[1], &out->size))
    return GW_CHECKPOINT_EBODY;
  if(gw_b64_decode(GW_B64_STD, line[2], line_len[2], root, sizeof(root), &root_len) !=
     GW_B64_OK || root_len != GW_CHECKPOINT_HASH_LEN)
    return GW_CHECKPOINT_EBODY;
  memcpy(out->root, root, GW_CHECKPOINT_HASH_LEN);
  memcpy(out->origin, line[0], line_len[0]);
  out->origin[line_len[0]] = '\0';
  return GW_CHECKPOINT_OK;
}
