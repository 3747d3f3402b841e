/*
 * checkpoint_sm2.c - the SM2 signature line of a signed note
 * (gw/checkpoint_sm2.h): C2SP signature type 0xff followed by the OID of
 * SM2-with-SM3, signed through gw/gm.h with the GM/T 0009 ID.
 *
 * The one idea: this file never touches the Ed25519 line or the body; it
 * signs whatever text a note already carries and adds one line, so a note
 * C2SP tools accepted before is accepted after.
 */
#include "gw/checkpoint_sm2.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "gw/alloc.h"
#include "gw/b64.h"
#include "gw/gm.h"

#define SM2_IDENT_LEN  (sizeof(GW_CHECKPOINT_SM2_IDENT) - 1)
#define SM2_ENC_LEN    (1 + SM2_IDENT_LEN + 65)   /* 0xff || ident || point */
#define SM2_ENC_MAX    (SM2_ENC_LEN + GW_GM_SM2_ID_MAX)   /* || a configured ID */
#define SM2_BLOB_LEN   (GW_CHECKPOINT_KEY_ID_LEN + GW_GM_SM2_SIG_LEN)
#define SM2_BLOB_B64   96                          /* base64 of 68 bytes + NUL */

static const char dash[] = "\xe2\x80\x94 ";       /* U+2014 and a space */

struct gw_checkpoint_sm2 {
  EVP_PKEY *pkey;
  char *name;
  unsigned char enc[SM2_ENC_MAX];
  size_t enc_len;
  char sm2_id[GW_GM_SM2_ID_MAX + 1];      /* the distinguishing ID it signs under */
  unsigned char id[GW_CHECKPOINT_KEY_ID_LEN];
};

/* Printable ASCII without space or '+', 1..NAME_MAX bytes (as checkpoint.c). */
static int name_ok(const char *name, size_t n)
{
  if(!n || n > GW_CHECKPOINT_NAME_MAX)
    return 0;
  for(size_t i = 0; i < n; i++)
    if((unsigned char)name[i] <= 0x20 || (unsigned char)name[i] >= 0x7f || name[i] == '+')
      return 0;
  return 1;
}

/* enc = 0xff || ident || 0x04 || x || y [|| ID]; id = SHA-256(name || 0x0a || enc)[:4]. */
static void key_id(const char *name, size_t name_len, const unsigned char *enc, size_t enc_len,
                   unsigned char id[GW_CHECKPOINT_KEY_ID_LEN])
{
  unsigned char buf[GW_CHECKPOINT_NAME_MAX + 1 + SM2_ENC_MAX], md[32];
  memcpy(buf, name, name_len);   /* name_len <= NAME_MAX: name_ok() said so */
  buf[name_len] = '\n';
  memcpy(buf + name_len + 1, enc, enc_len);   /* enc_len <= SM2_ENC_MAX */
  /* SHA-256 of a stack buffer cannot fail short of a broken library */
  if(EVP_Digest(buf, name_len + 1 + enc_len, md, NULL, EVP_sha256(), NULL) != 1)
    abort();
  memcpy(id, md, GW_CHECKPOINT_KEY_ID_LEN);
}

static enum gw_checkpoint_result encode_key(EVP_PKEY *pkey, unsigned char enc[SM2_ENC_LEN])
{
  enc[0] = 0xff;
  memcpy(enc + 1, GW_CHECKPOINT_SM2_IDENT, SM2_IDENT_LEN);
  enc[1 + SM2_IDENT_LEN] = 0x04;
  return gw_gm_sm2_coords(pkey, enc + 2 + SM2_IDENT_LEN, enc + 2 + SM2_IDENT_LEN + 32)
         == GW_GM_OK ? GW_CHECKPOINT_OK : GW_CHECKPOINT_EKEY;
}

enum gw_checkpoint_result gw_checkpoint_sm2_load(const char *pem_path, const char *key_name,
                                                 struct gw_checkpoint_sm2 **out)
{
  return gw_checkpoint_sm2_load_id(pem_path, key_name, NULL, out);
}

enum gw_checkpoint_result gw_checkpoint_sm2_load_id(const char *pem_path, const char *key_name,
                                                    const char *sm2_id,
                                                    struct gw_checkpoint_sm2 **out)
{
  struct gw_checkpoint_sm2 *s;
  enum gw_gm_result g;
  EVP_PKEY *pkey = NULL;
  int priv = 0;

  if(!out)
    return GW_CHECKPOINT_EINVAL;
  *out = NULL;
  if(!sm2_id)
    sm2_id = GW_GM_SM2_ID;
  if(!pem_path || !key_name || !name_ok(key_name, strlen(key_name)) ||
     !gw_gm_sm2_id_ok(sm2_id, strlen(sm2_id)))
    return GW_CHECKPOINT_EINVAL;
  g = gw_gm_key_load(pem_path, &pkey, &priv);
  if(g == GW_GM_EIO)
    return GW_CHECKPOINT_EIO;
  if(g != GW_GM_OK || !priv) {
    EVP_PKEY_free(pkey);
    return GW_CHECKPOINT_EKEY;
  }
  s = gw_calloc(1, sizeof(*s));
  s->pkey = pkey;
  s->name = gw_strdup(key_name);
  if(encode_key(pkey, s->enc) != GW_CHECKPOINT_OK) {
    gw_checkpoint_sm2_free(s);
    return GW_CHECKPOINT_EKEY;
  }
  s->enc_len = SM2_ENC_LEN;
  memcpy(s->sm2_id, sm2_id, strlen(sm2_id) + 1);
  /* another ID than GM/T 0009's travels in the key, after the point */
  if(strcmp(sm2_id, GW_GM_SM2_ID)) {
    memcpy(s->enc + SM2_ENC_LEN, sm2_id, strlen(sm2_id));
    s->enc_len += strlen(sm2_id);
  }
  key_id(s->name, strlen(s->name), s->enc, s->enc_len, s->id);
  *out = s;
  return GW_CHECKPOINT_OK;
}

void gw_checkpoint_sm2_free(struct gw_checkpoint_sm2 *s)
{
  if(!s)
    return;
  EVP_PKEY_free(s->pkey);
  gw_free(s->name);
  gw_free(s);
}

enum gw_checkpoint_result gw_checkpoint_sm2_verifier_key(const struct gw_checkpoint_sm2 *s,
                                                         char **out)
{
  char b64[SM2_ENC_MAX * 2];
  size_t cap;
  char *v;

  if(!s || !out)
    return GW_CHECKPOINT_EINVAL;
  if(gw_b64_encode(GW_B64_STD, s->enc, s->enc_len, b64, sizeof(b64), NULL))
    return GW_CHECKPOINT_ECRYPTO;
  cap = strlen(s->name) + 1 + 8 + 1 + strlen(b64) + 1;
  v = gw_malloc(cap);
  snprintf(v, cap, "%s+%02x%02x%02x%02x+%s", s->name, s->id[0], s->id[1], s->id[2], s->id[3],
           b64);
  *out = v;
  return GW_CHECKPOINT_OK;
}

/* Length of the note text: up to and including the newline before the
 * last blank line ("\n\n"); 0 when there is none. */
static size_t text_len(const char *note, size_t len)
{
  for(size_t i = len; i >= 2; i--)
    if(note[i - 2] == '\n' && note[i - 1] == '\n')
      return i - 1;
  return 0;
}

enum gw_checkpoint_result gw_checkpoint_sm2_cosign(const struct gw_checkpoint_sm2 *s,
                                                   char **note, size_t *len)
{
  unsigned char blob[SM2_BLOB_LEN];
  char b64[SM2_BLOB_B64];
  size_t tl, cap, n;
  char *out;

  if(!s || !note || !*note || !len)
    return GW_CHECKPOINT_EINVAL;
  if(*len > GW_CHECKPOINT_NOTE_MAX)
    return GW_CHECKPOINT_ETOOBIG;
  tl = text_len(*note, *len);
  if(!tl || (*note)[*len - 1] != '\n')
    return GW_CHECKPOINT_EFORMAT;
  memcpy(blob, s->id, GW_CHECKPOINT_KEY_ID_LEN);
  if(gw_gm_sm2_sign(s->pkey, s->sm2_id, strlen(s->sm2_id), *note, tl,
                    blob + GW_CHECKPOINT_KEY_ID_LEN) != GW_GM_OK)
    return GW_CHECKPOINT_ECRYPTO;
  if(gw_b64_encode(GW_B64_STD, blob, sizeof(blob), b64, sizeof(b64), NULL))
    return GW_CHECKPOINT_ECRYPTO;
  cap = *len + sizeof(dash) - 1 + strlen(s->name) + 1 + strlen(b64) + 2;
  out = gw_malloc(cap);
  memcpy(out, *note, *len);
  n = *len;
  n += (size_t)snprintf(out + n, cap - n, "%s%s %s\n", dash, s->name, b64);
  gw_free(*note);
  *note = out;
  *len = n;
  return GW_CHECKPOINT_OK;
}

enum gw_checkpoint_result gw_checkpoint_sm2_verify(const char *vkey, const char *note,
                                                   size_t len)
{
  const char *p1, *p2;
  unsigned char enc[SM2_ENC_MAX + 4], id[GW_CHECKPOINT_KEY_ID_LEN], blob[SM2_BLOB_LEN + 4];
  char want_id[9], name[GW_CHECKPOINT_NAME_MAX + 1], sm2_id[GW_GM_SM2_ID_MAX + 1];
  size_t name_len, enc_len = 0, tl, pos, blob_len;
  EVP_PKEY *pkey = NULL;
  enum gw_checkpoint_result r = GW_CHECKPOINT_EKEY;
  int found = 0;

  if(!vkey || !note)
    return GW_CHECKPOINT_EINVAL;
  if(len > GW_CHECKPOINT_NOTE_MAX)
    return GW_CHECKPOINT_ETOOBIG;
  p1 = strchr(vkey, '+');
  p2 = p1 ? strchr(p1 + 1, '+') : NULL;
  if(!p1 || !p2 || p2 - p1 != 9)
    goto out;
  name_len = (size_t)(p1 - vkey);
  if(!name_ok(vkey, name_len))
    goto out;
  memcpy(name, vkey, name_len);
  name[name_len] = '\0';
  if(gw_b64_decode(GW_B64_STD, p2 + 1, strlen(p2 + 1), enc, sizeof(enc), &enc_len) ||
     enc_len < SM2_ENC_LEN || enc_len > SM2_ENC_MAX || enc[0] != 0xff ||
     memcmp(enc + 1, GW_CHECKPOINT_SM2_IDENT, SM2_IDENT_LEN) || enc[1 + SM2_IDENT_LEN] != 4)
    goto out;
  if(enc_len == SM2_ENC_LEN)
    memcpy(sm2_id, GW_GM_SM2_ID, GW_GM_SM2_ID_LEN + 1);
  else {
    if(!gw_gm_sm2_id_ok((const char *)enc + SM2_ENC_LEN, enc_len - SM2_ENC_LEN))
      goto out;
    memcpy(sm2_id, enc + SM2_ENC_LEN, enc_len - SM2_ENC_LEN);
    sm2_id[enc_len - SM2_ENC_LEN] = '\0';
  }
  key_id(name, name_len, enc, enc_len, id);
  snprintf(want_id, sizeof(want_id), "%02x%02x%02x%02x", id[0], id[1], id[2], id[3]);
  if(memcmp(p1 + 1, want_id, 8))
    goto out;
  if(gw_gm_sm2_from_coords(enc + 2 + SM2_IDENT_LEN, enc + 2 + SM2_IDENT_LEN + 32, &pkey))
    goto out;
  r = GW_CHECKPOINT_EFORMAT;
  tl = text_len(note, len);
  if(!tl || note[len - 1] != '\n')
    goto out;
  /* signature lines: "— name base64\n" after the blank line */
  for(pos = tl + 1; pos < len;) {
    const char *line = note + pos, *nl = memchr(line, '\n', len - pos), *sp;
    size_t ll = (size_t)(nl - line);
    pos += ll + 1;
    if(ll < sizeof(dash) - 1 || memcmp(line, dash, sizeof(dash) - 1))
      goto out;
    line += sizeof(dash) - 1;
    ll -= sizeof(dash) - 1;
    sp = memchr(line, ' ', ll);
    if(!sp)
      goto out;
    if((size_t)(sp - line) != name_len || memcmp(line, name, name_len))
      continue;
    if(gw_b64_decode(GW_B64_STD, sp + 1, ll - (size_t)(sp - line) - 1, blob, sizeof(blob),
                     &blob_len) || blob_len < GW_CHECKPOINT_KEY_ID_LEN)
      goto out;
    if(memcmp(blob, id, GW_CHECKPOINT_KEY_ID_LEN))
      continue;  /* same name, another key: the Ed25519 line */
    if(blob_len != SM2_BLOB_LEN ||
       gw_gm_sm2_verify(pkey, sm2_id, strlen(sm2_id), note, tl,
                        blob + GW_CHECKPOINT_KEY_ID_LEN) != GW_GM_OK) {
      r = GW_CHECKPOINT_EBADSIG;
      goto out;
    }
    found = 1;
  }
  r = found ? GW_CHECKPOINT_OK : GW_CHECKPOINT_EUNKNOWN_KEY;
out:
  EVP_PKEY_free(pkey);
  return r;
}
