/*
 * gw/b64.h - strict base64 (RFC 4648 section 4) and base64url (section 5),
 * and lowercase hex (section 8) for digests and ids.
 *
 * The one idea: there is exactly one accepted spelling of every byte string.
 * Standard base64 is always padded with '='; base64url (as JOSE uses it) is
 * never padded.  The decoder refuses everything else: characters outside the
 * variant's alphabet (including whitespace, line breaks and NUL), missing or
 * misplaced padding, an impossible length, and non-zero bits in the last
 * character that the byte string does not use (so "QQ==" decodes but "QR=="
 * does not).  Inputs carry explicit lengths and need not be NUL-terminated.
 *
 * No global state, no locale, no allocation except in the *_alloc calls
 * (which use gw/alloc.h and so never fail for want of memory); every
 * function is safe to call from any thread.
 */
#ifndef GW_B64_H
#define GW_B64_H

#include <stddef.h>

enum gw_b64_variant {
  GW_B64_STD = 0,  /* A-Z a-z 0-9 + /, padded with '=' to a multiple of 4 */
  GW_B64_URL       /* A-Z a-z 0-9 - _, no padding */
};

enum gw_b64_result {
  GW_B64_OK = 0,
  GW_B64_ESPACE,   /* the caller's output buffer is too small */
  GW_B64_ELENGTH,  /* the input length cannot be a valid encoding */
  GW_B64_ECHAR,    /* a character outside the variant's alphabet */
  GW_B64_EPAD,     /* padding missing, misplaced, or present in base64url */
  GW_B64_ETRAIL    /* unused low bits of the last character are not zero */
};

/* Length of the encoding of `n` bytes, not counting a terminating NUL.
 * Returns 0 for n == 0 and also when the result would not fit in size_t
 * (which the encoders then report as GW_B64_ESPACE). */
size_t gw_b64_encoded_len(enum gw_b64_variant v, size_t n);

/* An upper bound on the decoded length of `n` input characters; the exact
 * length is returned by the decoder.  Never overflows. */
size_t gw_b64_decoded_max(size_t n);

/* Encodes in[0..n) into `out` followed by a NUL.  `out_size` must be at least
 * gw_b64_encoded_len(v, n) + 1, otherwise GW_B64_ESPACE and `out` is not
 * touched.  `out_len` (may be NULL) receives the length without the NUL.
 * `in` may be NULL when n == 0. */
enum gw_b64_result gw_b64_encode(enum gw_b64_variant v, const void *in, size_t n,
                                 char *out, size_t out_size, size_t *out_len)
  __attribute__((warn_unused_result));

/* Strictly decodes in[0..n) into `out`.  `out_size` must be at least the
 * exact decoded length (gw_b64_decoded_max(n) is always enough), otherwise
 * GW_B64_ESPACE.  `out_len` receives the decoded length.  No NUL is written.
 * On any error `out` may have been partly written and must be ignored. */
enum gw_b64_result gw_b64_decode(enum gw_b64_variant v, const char *in, size_t n,
                                 unsigned char *out, size_t out_size,
                                 size_t *out_len)
  __attribute__((warn_unused_result));

/* As gw_b64_encode, into a new NUL-terminated string.  On success *out is
 * owned by the caller, who frees it with gw_free(); on error (only
 * GW_B64_ESPACE, for an input whose encoding would not fit in size_t) *out
 * is NULL. */
enum gw_b64_result gw_b64_encode_alloc(enum gw_b64_variant v, const void *in,
                                       size_t n, char **out, size_t *out_len)
  __attribute__((warn_unused_result));

/* As gw_b64_decode, into a new buffer of *out_len bytes followed by one NUL
 * byte (not counted) so that decoded text can be used as a C string when it
 * holds no NUL itself.  On success *out is owned by the caller, who frees it
 * with gw_free() (non-NULL even for empty input); on error *out is NULL. */
enum gw_b64_result gw_b64_decode_alloc(enum gw_b64_variant v, const char *in,
                                       size_t n, unsigned char **out,
                                       size_t *out_len)
  __attribute__((warn_unused_result));

/* A short English description of a result.  Static storage; never NULL. */
const char *gw_b64_strerror(enum gw_b64_result r);

/* Lowercase hex of in[0..n) and a NUL into out (2n + 1 bytes). */
void gw_hex_encode(const void *in, size_t n, char *out);

#endif
