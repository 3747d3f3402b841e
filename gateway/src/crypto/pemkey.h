/*
 * pemkey.h - the one reader of a PEM key: exactly one unencrypted PKCS#8
 * private key ("PRIVATE KEY") or SubjectPublicKeyInfo ("PUBLIC KEY"),
 * with nothing after its DER.  The JWS keys (ES256) and the 国密 keys (SM2)
 * are read through it; each caller then checks the algorithm it wants.
 *
 * Beside it, the other two forms those keys travel in: a public key built
 * from its curve coordinates (a JWK's x and y, an SM2 key in a DID
 * document) and the coordinates read back out of a key.  The JWS and the
 * 国密 code differ only in the curve they name.
 */
#ifndef GW_PEMKEY_H
#define GW_PEMKEY_H

#include <stddef.h>

#include <openssl/evp.h>

/* Parses pem[0..len).  Returns the key (the caller's; *priv says whether
 * it is a private key) or NULL: not PEM, an encrypted key (another label
 * or Proc-Type headers; never a passphrase prompt), another label,
 * trailing bytes after the DER.  Every intermediate copy of the key
 * material is wiped. */
EVP_PKEY *gw_pemkey_parse(const char *pem, size_t len, int *priv);

/* Reads the key file at `path`, at most `max` bytes, into *buf (max + 1
 * bytes, NUL-terminated after *len; the caller's, released with
 * gw_pemkey_buf_free, which wipes it: it may hold a private key).
 * 0; -1 (nothing to free): cannot be read; -2 (nothing to free): larger
 * than max. */
int gw_pemkey_read_file(const char *path, size_t max, char **buf, size_t *len);
/* Wipes and frees a buffer of gw_pemkey_read_file (NULL: nothing). */
void gw_pemkey_buf_free(char *buf, size_t max);

/* The largest coordinate taken (P-521's 66 bytes). */
#define GW_PEMKEY_COORD_MAX 66

/* The public key at point (x, y) on curve `group` (an OpenSSL short name:
 * SN_X9_62_prime256v1, SN_sm2; the key's type is "SM2" for SN_sm2, else
 * "EC"), each coordinate `coord_len` big-endian bytes.  Returns the key
 * (the caller's) or NULL: a point not on the curve, coord_len 0 or over
 * GW_PEMKEY_COORD_MAX, out of memory.  Leaves OpenSSL's error queue to the
 * caller. */
EVP_PKEY *gw_pemkey_from_coords(const char *group, const unsigned char *x,
                                const unsigned char *y, size_t coord_len);

/* Reads the public point of an EC or SM2 key into x and y, each left-padded
 * to `coord_len` bytes.  0, or -1: not an EC key, or a coordinate longer
 * than coord_len.  The caller checks the curve first. */
int gw_pemkey_coords(const EVP_PKEY *pkey, unsigned char *x, unsigned char *y,
                     size_t coord_len);

#endif
