/*
 * witness_int.h - what witness.c (the witness, the cosignature format, the
 * state file) and witness_submit.c (the log's side) share.  Nothing here
 * is public.
 */
#ifndef GW_WITNESS_INT_H
#define GW_WITNESS_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "gw/witness.h"

struct witness_job;
struct witness_submit;

struct witness_peer {
  char *gateway_id;
  char *prefix;               /* "<gateway_id>/audit/" */
  uint8_t log_pub[32];        /* verifies its checkpoints (key name = origin) */
  EVP_PKEY *wpub;             /* verifies its cosignatures */
  char *wname;                /* "<gateway_id>/witness" */
  uint8_t wid[4];

  /* mu: as its witness, what we cosigned (origin NULL: nothing yet) */
  char *origin;
  uint64_t size;
  uint8_t root[32];
  uint64_t n_cosigned, n_refused;

  /* mu: as its log, the latest cosignature it gave us */
  char *cos_text;             /* the checkpoint text it covers */
  size_t cos_text_len;
  char *cos_line;
  uint64_t cos_size;
  int cos_current;
  uint64_t n_received, n_failures;
  char last_error[160];
};

struct gw_witness {
  const struct gw_witness_config *cfg;
  EVP_PKEY *key;
  uint8_t pub[32];
  char *name;                 /* "<gateway_id>/witness" */
  uint8_t id[4];
  char *state_path;
  size_t n_peers;
  struct witness_peer *peers;

  pthread_mutex_t mu;
  pthread_cond_t cv;
  struct witness_job *jobs;   /* mu */
  int stopping;               /* mu */
  pthread_t thread;
  int thread_started;

  struct witness_submit *submit;  /* the submitter's thread only */
};

/* SHA-256(name || 0x0a || type || pub)[:4] */
void witness_key_id(const char *name, uint8_t type, const uint8_t pub[32], uint8_t id[4]);
/* "name+hex id+base64(type || pub)" (gw_free()) */
char *witness_vkey_string(const char *name, uint8_t type, const uint8_t pub[32]);
/* A cosignature line (no newline) over text at time t, or NULL. */
char *witness_cosign(EVP_PKEY *key, const char *name, const uint8_t id[4], const char *text,
                     size_t text_len, uint64_t t);
/* 1 verifies, 0 another key's line, -1 fails. */
int witness_verify_cosig(EVP_PKEY *pub, const char *name, const uint8_t id[4], const char *text,
                         size_t text_len, const char *line, size_t line_len, uint64_t *t);
void *witness_thread_main(void *arg);
void witness_note_failure(struct gw_witness *w, size_t i, const char *why);
void witness_mark_stale(struct gw_witness *w, size_t i);

#endif
