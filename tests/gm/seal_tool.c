/*
 * seal_tool.c - a test helper for the gm profile's sealed subjects
 * (crypto/seal.h with an SM2 certificate, crypto/seal_sm2.h), so that
 * seal_interop.sh can open what the gateway seals with the openssl command
 * line alone, and the other way round.
 *
 *   seal_tool seal CERT.pem TEXT     base64 of the sealed TEXT (as records hold it)
 *   seal_tool open KEY.pem BASE64    the plaintext, or exit 1
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "gw/alloc.h"
#include "gw/b64.h"
#include "seal.h"
#include "seal_sm2.h"

int main(int argc, char **argv)
{
  if(argc == 4 && !strcmp(argv[1], "seal")) {
    struct gw_seal *s = NULL;
    char *out = NULL;
    size_t n = 0;
    enum gw_seal_result r = gw_seal_load(argv[2], &s);
    if(!r)
      r = gw_seal_seal(s, argv[3], strlen(argv[3]), GW_SEAL_B64_DER, &out, &n);
    gw_seal_free(s);
    if(r) {
      fprintf(stderr, "seal_tool: %s\n", gw_seal_strerror(r));
      return 1;
    }
    fwrite(out, 1, n, stdout);
    gw_free(out);
    return 0;
  }
  if(argc == 4 && !strcmp(argv[1], "open")) {
    FILE *f = fopen(argv[2], "r");
    EVP_PKEY *key = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    unsigned char *blob = NULL, *pt = NULL;
    size_t bl = 0, pl = 0;
    enum gw_seal_result r = GW_SEAL_EINVAL;
    if(f)
      fclose(f);
    if(key && !gw_b64_decode_alloc(GW_B64_STD, argv[3], strlen(argv[3]), &blob, &bl))
      r = gw_seal_sm2_open(key, blob, bl, &pt, &pl);
    EVP_PKEY_free(key);
    gw_free(blob);
    if(r) {
      fprintf(stderr, "seal_tool: %s\n", gw_seal_strerror(r));
      return 1;
    }
    fwrite(pt, 1, pl, stdout);
    OPENSSL_cleanse(pt, pl);
    gw_free(pt);
    return 0;
  }
  fprintf(stderr, "usage: seal_tool seal CERT TEXT | open KEY BASE64\n");
  return 2;
}
