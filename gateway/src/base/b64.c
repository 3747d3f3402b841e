/*
 * b64.c - strict base64 and base64url.
 *
 * The one idea: work out the exact output length from the input length (and,
 * for standard base64, the padding) before touching a byte, so the decoder
 * can refuse every non-canonical spelling in one pass and never writes past
 * what the caller said it has.  Characters are classified by comparison, not
 * by a 256-entry table, so the alphabet is visible in the code.
 */
#include "gw/b64.h"

#include "gw/alloc.h"

#include <stdint.h>

static const char alphabet_std[] =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char alphabet_url[] =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The 6-bit value of `c` in variant `v`, or -1 when it is not in the
 * alphabet. */
static int sextet(enum gw_b64_variant v, unsigned char c)
{
  if(c >= 'A' && c <= 'Z')
    return c - 'A';
  if(c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if(c >= '0' && c <= '9')
    return c - '0' + 52;
  if(c == (v == GW_B64_URL ? '-' : '+'))
    return 62;
  if(c == (v == GW_B64_URL ? '_' : '/'))
    return 63;
  return -1;
}

size_t gw_b64_encoded_len(enum gw_b64_variant v, size_t n)
{
  size_t groups = n / 3, rem = n % 3;

  if(groups > (SIZE_MAX - 4) / 4)
    return 0;
  if(!rem)
    return groups * 4;
  return groups * 4 + (v == GW_B64_URL ? rem + 1 : 4);
}

size_t gw_b64_decoded_max(size_t n)
{
  return n / 4 * 3 + (n % 4 ? 2 : 0);
}

enum gw_b64_result gw_b64_encode(enum gw_b64_variant v, const void *in, size_t n,
                                 char *out, size_t out_size, size_t *out_len)
{
  const char *abc = v == GW_B64_URL ? alphabet_url : alphabet_std;
  const unsigned char *p = in;
  size_t need = gw_b64_encoded_len(v, n), o = 0, i = 0;

  if((n && !need) || !out || out_size <= need)
    return GW_B64_ESPACE;
  for(; n - i >= 3; i += 3) {
    uint32_t w = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
    out[o++] = abc[w >> 18];
    out[o++] = abc[(w >> 12) & 0x3f];
    out[o++] = abc[(w >> 6) & 0x3f];
    out[o++] = abc[w & 0x3f];
  }
  if(n - i == 1) {
    out[o++] = abc[p[i] >> 2];
    out[o++] = abc[(p[i] & 0x03) << 4];
    if(v == GW_B64_STD) {
      out[o++] = '=';
      out[o++] = '=';
    }
  }
  else if(n - i == 2) {
    out[o++] = abc[p[i] >> 2];
    out[o++] = abc[(p[i] & 0x03) << 4 | p[i + 1] >> 4];
    out[o++] = abc[(p[i + 1] & 0x0f) << 2];
    if(v == GW_B64_STD)
      out[o++] = '=';
  }
  out[o] = '\0';
  if(out_len)
    *out_len = o;
  return GW_B64_OK;
}

/* Validates the shape of the input (length, where padding may be) and
 * computes how many of its characters carry data and how many bytes they
 * decode to.  The characters themselves are checked while decoding. */
static enum gw_b64_result measure(enum gw_b64_variant v, const char *in, size_t n,
                                  size_t *data_chars, size_t *bytes)
{
  size_t pad = 0;

  if(v == GW_B64_STD) {
    if(n % 4 == 1)
      return GW_B64_ELENGTH;
    if(n % 4)
      return GW_B64_EPAD;   /* looks like base64 with the padding left off */
    if(n && in[n - 1] == '=')
      pad = in[n - 2] == '=' ? 2 : 1;
    *data_chars = n - pad;
    *bytes = n / 4 * 3 - pad;
    return GW_B64_OK;
  }
  if(n % 4 == 1)
    return GW_B64_ELENGTH;
  *data_chars = n;
  *bytes = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
  return GW_B64_OK;
}

enum gw_b64_result gw_b64_decode(enum gw_b64_variant v, const char *in, size_t n,
                                 unsigned char *out, size_t out_size,
                                 size_t *out_len)
{
  size_t data_chars, bytes, i = 0, o = 0;
  uint32_t w = 0;
  int s, k = 0;
  enum gw_b64_result r = measure(v, in, n, &data_chars, &bytes);

  if(r)
    return r;
  if(bytes > out_size || (bytes && !out))
    return GW_B64_ESPACE;
  for(; i < data_chars; i++) {
    s = sextet(v, (unsigned char)in[i]);
    if(s < 0)
      return in[i] == '=' ? GW_B64_EPAD : GW_B64_ECHAR;
    w = w << 6 | (uint32_t)s;
    if(++k == 4) {
      out[o++] = (unsigned char)(w >> 16);
      out[o++] = (unsigned char)(w >> 8);
      out[o++] = (unsigned char)w;
      w = 0;
      k = 0;
    }
  }
  /* k is 0, 2 or 3 here: measure() refused every other remainder. */
  if(k == 2) {
    if(w & 0x0f)
      return GW_B64_ETRAIL;
    out[o++] = (unsigned char)(w >> 4);
  }
  else if(k == 3) {
    if(w & 0x03)
      return GW_B64_ETRAIL;
    out[o++] = (unsigned char)(w >> 10);
    out[o++] = (unsigned char)(w >> 2);
  }
  *out_len = o;
  return GW_B64_OK;
}

enum gw_b64_result gw_b64_encode_alloc(enum gw_b64_variant v, const void *in,
                                       size_t n, char **out, size_t *out_len)
{
  size_t need = gw_b64_encoded_len(v, n);
  enum gw_b64_result r;
  char *buf;

  *out = NULL;
  if(n && !need)
    return GW_B64_ESPACE;
  buf = gw_malloc(need + 1);
  r = gw_b64_encode(v, in, n, buf, need + 1, out_len);
  if(r) {
    gw_free(buf);
    return r;
  }
  *out = buf;
  return GW_B64_OK;
}

enum gw_b64_result gw_b64_decode_alloc(enum gw_b64_variant v, const char *in,
                                       size_t n, unsigned char **out,
                                       size_t *out_len)
{
  size_t data_chars, bytes, len = 0;
  unsigned char *buf;
  enum gw_b64_result r = measure(v, in, n, &data_chars, &bytes);

  *out = NULL;
  if(r)
    return r;
  buf = gw_malloc(bytes + 1);
  r = gw_b64_decode(v, in, n, buf, bytes, &len);
  if(r) {
    gw_free(buf);
    return r;
  }
  buf[len] = '\0';
  *out = buf;
  *out_len = len;
  return GW_B64_OK;
}

const char *gw_b64_strerror(enum gw_b64_result r)
{
  switch(r) {
  case GW_B64_OK:      return "ok";
  case GW_B64_ESPACE:  return "output buffer too small";
  case GW_B64_ELENGTH: return "impossible encoded length";
  case GW_B64_ECHAR:   return "character outside the alphabet";
  case GW_B64_EPAD:    return "missing or misplaced padding";
  case GW_B64_ETRAIL:  return "non-zero unused trailing bits";
  }
  return "unknown error";
}

void gw_hex_encode(const void *in, size_t n, char *out)
{
  static const char digits[] = "0123456789abcdef";
  const unsigned char *p = in;
  for(size_t i = 0; i < n; i++) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 15];
  }
  out[2 * n] = '\0';
}
