/*
 * replay.c - the nonces an agency has seen inside its replay window, for
 * the two agencies that refuse a replayed request (fund's signed headers,
 * tax's WS-Security UsernameToken).
 *
 * The one idea: a nonce need only be remembered while its timestamp could
 * still pass the window check, so the store is a fixed open-addressing
 * table whose slots expire and are reused; it never grows.  When every slot
 * a nonce may go to is live, the agency answers "busy" rather than forget a
 * nonce that could then be replayed.  One mutex per store: both agencies
 * answer a few thousand requests a second at most.
 */
#include "mock.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS (1u << 16)               /* per store */
#define PROBES 64                      /* slots a nonce may occupy */
#define KEY_LEN 32                     /* SHA-256 of the nonce */

struct slot {
  unsigned char key[KEY_LEN];
  time_t expires;                      /* 0: never used */
};

struct mock_replay {
  pthread_mutex_t lock;
  struct slot *slots;
};

static struct mock_replay stores[MOCK_REPLAY_STORES] = {
  { PTHREAD_MUTEX_INITIALIZER, NULL }, { PTHREAD_MUTEX_INITIALIZER, NULL }
};

enum mock_replay_result mock_replay_check(enum mock_replay_store which, const void *nonce,
                                          size_t len, time_t now, int ttl_s)
{
  struct mock_replay *st = &stores[which];
  unsigned char key[KEY_LEN];
  enum mock_replay_result r = MOCK_REPLAY_FULL;
  uint32_t h;
  struct slot *free_slot = NULL;

  if(!EVP_Digest(nonce, len, key, NULL, EVP_sha256(), NULL))
    return MOCK_REPLAY_FULL;
  h = (uint32_t)key[0] << 24 | (uint32_t)key[1] << 16 | (uint32_t)key[2] << 8 | key[3];
  pthread_mutex_lock(&st->lock);
  if(!st->slots && !(st->slots = calloc(SLOTS, sizeof(*st->slots))))
    goto out;
  for(unsigned i = 0; i < PROBES; i++) {
    struct slot *s = &st->slots[(h + i) & (SLOTS - 1)];
    if(s->expires > now && !memcmp(s->key, key, KEY_LEN)) {
      r = MOCK_REPLAY_SEEN;
      goto out;
    }
    if(s->expires <= now && !free_slot)
      free_slot = s;
  }
  if(free_slot) {
    memcpy(free_slot->key, key, KEY_LEN);
    free_slot->expires = now + ttl_s;
    r = MOCK_REPLAY_FRESH;
  }
out:
  pthread_mutex_unlock(&st->lock);
  return r;
}
