/*
 * pemkey.h - the one reader of a PEM key: exactly one unencrypted PKCS#8
 * private key ("PRIVATE KEY") or SubjectPublicKeyInfo ("PUBLIC KEY"),
 * with nothing after its DER.  The JWS keys (ES256) and the 国密 keys (SM2)
 * are read through it; each caller then checks the algorithm it wants.
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

#endif
