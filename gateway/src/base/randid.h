/*
 * gw/randid.h - random identifiers (request ids, query ids) cheaply.
 *
 * The one idea: every request needs a fresh unguessable id, and asking
 * OpenSSL's DRBG for 12 or 16 bytes at a time costs a lock, a fork check
 * (getpid) and a generate call each.  Each thread draws 1 KiB from the DRBG
 * at once and hands it out in slices; bytes are used once and wiped as they
 * are handed out.  Ids are unique and unpredictable as RAND_bytes output is;
 * they are not secrets (they are returned to clients and logged).
 */
#ifndef GW_RANDID_H
#define GW_RANDID_H

#include <stddef.h>

/* Largest id, in random bytes. */
#define GW_RANDID_MAX_BYTES 32

/* Writes 2 * nbytes lowercase hex digits and a NUL to out (which holds
 * 2 * nbytes + 1).  nbytes 1..GW_RANDID_MAX_BYTES.  Returns 0, or -1 when the
 * DRBG fails (out is then all zeros, still NUL-terminated). */
int gw_randid_hex(char *out, size_t nbytes);

#endif /* GW_RANDID_H */
