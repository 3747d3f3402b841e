/*
 * randid.c - random identifiers from a per-thread pool (gw/randid.h).
 */
#include "randid.h"
#include "gw/b64.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#define POOL_BYTES 1024

static _Thread_local unsigned char pool[POOL_BYTES];
static _Thread_local size_t pool_left;

int gw_randid_hex(char *out, size_t nbytes)
{
  unsigned char *p;
  int rc = 0;

  if(!nbytes || nbytes > GW_RANDID_MAX_BYTES) {
    out[0] = '\0';
    return -1;
  }
  if(pool_left < nbytes) {
    if(RAND_bytes(pool, POOL_BYTES) != 1) {
      memset(pool, 0, POOL_BYTES);
      rc = -1;
    }
    pool_left = POOL_BYTES;
  }
  p = pool + POOL_BYTES - pool_left;
  gw_hex_encode(p, nbytes, out);
  OPENSSL_cleanse(p, nbytes);
  pool_left -= nbytes;
  if(rc)
    pool_left = 0;              /* try the DRBG again next time */
  return rc;
}
