/*
 * fuzz_jws_verify.c - JWS compact and detached verification with a fixed
 * P-256 key: nothing an attacker sends may verify (they do not have the
 * key), crash, or leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gw/alloc.h"
#include "gw/jws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A throwaway public key; its private half was discarded, so a "valid"
 * verification here would be a forgery. */
static const char pub[] =
  "-----BEGIN PUBLIC KEY-----\n"
  "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEU5HAT0xakZ0dEFaohyQ1+BeRs428\n"
  "mi3i8LChbF+m486jM+UxjIMdac7RVK/sWJrtEibmAiAPB5Ujj66ReqoR+g==\n"
  "-----END PUBLIC KEY-----\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static struct gw_jws_key *key;
  unsigned char *payload = NULL;
  size_t plen;
  char kid[GW_JWS_KID_MAX + 1];
  size_t split = size ? data[0] % (size + 1) : 0;

  if(!key && gw_jws_key_from_pem(pub, sizeof(pub) - 1, &key) != GW_JWS_OK)
    abort();
  if(gw_jws_verify_compact(key, NULL, (const char *)data, size, &payload, &plen, kid) == GW_JWS_OK)
    abort();
  gw_free(payload);
  /* detached: the first byte chooses where the JWS ends and the body starts */
  if(split && gw_jws_verify_detached(key, NULL, (const char *)data + 1, split - 1,
                                     data + split, size - split, kid) == GW_JWS_OK)
    abort();
  return 0;
}
