/*
 * gw/hmac.h - HMAC-SHA256 under a key set once.
 *
 * The one idea: the gateway computes two HMACs under its subject secret on
 * every query (subject_ref and the name-bound cache key).  OpenSSL's one-shot
 * HMAC() fetches the algorithms by name and keys a fresh context each time;
 * here the keyed context is made once and copied per message, which costs a
 * fraction of that, and used copies are kept (a few, under a mutex) and
 * re-initialised rather than freed (so a key is not const once made, though
 * its key never changes).  Any number of threads may use a key at once (each
 * call works on a context of its own).
 */
#ifndef GW_HMAC_H
#define GW_HMAC_H

#include <stddef.h>

struct gw_hmac_key;

/* NULL on an empty key or when OpenSSL fails. */
struct gw_hmac_key *gw_hmac_key_new(const unsigned char *key, size_t len);

/* NULL is a no-op. */
void gw_hmac_key_free(struct gw_hmac_key *k);

/* out = HMAC-SHA256(key, data[0..len)); 0, or -1 when OpenSSL fails. */
int gw_hmac_sha256(struct gw_hmac_key *k, const void *data, size_t len,
                   unsigned char out[32]);

#endif /* GW_HMAC_H */
