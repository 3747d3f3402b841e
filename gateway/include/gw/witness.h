/*
 * gw/witness.h - mutual witnessing of the instances' audit logs (DESIGN
 * section 8): each instance cosigns its peers' checkpoints, and collects its
 * peers' cosignatures on its own.
 *
 * The one idea: speak the C2SP formats and nothing of our own, so any
 * transparency-log tool checks what we make.
 *
 *   cosignature   c2sp.org/tlog-cosignature v1, Ed25519: a signed-note line
 *                 "— <name> base64(key ID || u64 BE time || signature)" over
 *                 "cosignature/v1\ntime <time>\n" || checkpoint body, with
 *                 key ID SHA-256(name || 0x0a || 0x04 || public key)[:4];
 *                 the verifier key is "<name>+<hex id>+base64(0x04 || pub)"
 *   submission    c2sp.org/tlog-witness add-checkpoint: the body is
 *                 "old <size>\n", one base64 consistency-proof hash per
 *                 line, an empty line, then the signed checkpoint note;
 *                 200 answers the cosignature line, 409 the size the
 *                 witness has ("<size>\n", text/x.tlog.size), 403 a
 *                 checkpoint not signed by the log's key, 422 a proof that
 *                 does not verify (the log was rewritten), 400 nonsense
 *
 * As a witness, an instance keeps for each configured peer the origin it
 * first cosigned (the peer's "<gateway_id>/audit/<log id>"; a later other
 * origin is a replaced log and is refused) and the latest size and root it
 * cosigned, in a small state file written atomically and synced before a
 * cosignature leaves.  It cosigns a checkpoint only if a consistency proof
 * from that size verifies: a rewritten log is refused, logged as an error
 * ("witness_refused") and counted (gw_witness_refusals_total{peer}).
 *
 * As a log, the submitter (gw_witness_submit_*) runs on one event_base (the
 * daemon's main loop, never a worker's): every second it looks at the
 * latest checkpoint and sends it to every peer that has not cosigned it,
 * with a consistency proof from the size that peer last cosigned, over
 * mutual TLS through the upstream engine, each call bounded by timeout_ms.
 * Answers are verified with the peer's witness key and kept in memory;
 * gw_witness_cosigned_note() appends them to the note GET
 * /v1/audit/checkpoint serves.  A peer that is down delays a cosignature,
 * never an answer.
 *
 * Threads: a struct gw_witness is shared by every thread (one mutex); the
 * add-checkpoint work that writes the state file runs on the witness's own
 * thread (gw_witness_add_async), so no event loop waits for the disk.
 */
#ifndef GW_WITNESS_H
#define GW_WITNESS_H

#include <stddef.h>
#include <stdint.h>

#include "gw/config.h"

struct event_base;
struct gw_audit_log;
struct gw_witness;

/* Peers configured, at most. */
#define GW_WITNESS_PEERS_MAX 16
/* An add-checkpoint request body we read, bytes (a note, 64 proof lines). */
#define GW_WITNESS_REQUEST_MAX (32 * 1024)
/* A cosignature line, bytes (name up to 255, base64 of 76 bytes). */
#define GW_WITNESS_LINE_MAX 400

/* struct gw_witness_config and gw_witness_peer_config: gw/config.h. */

/* The counters one peer has (a plain value). */
struct gw_witness_peer_stats {
  const char *gateway_id;      /* owned by the witness */
  /* as its witness */
  uint64_t cosigned;           /* checkpoints of the peer we cosigned */
  uint64_t refused;            /* refused: inconsistent, replaced, bad proof */
  uint64_t witnessed_size;     /* the latest size we cosigned (0: none) */
  /* as its log */
  uint64_t received;           /* valid cosignatures the peer gave us */
  uint64_t failures;           /* calls that failed or were refused */
  uint64_t cosigned_size;      /* size of our latest checkpoint it cosigned */
  int current;                 /* it cosigned our latest checkpoint */
  char last_error[160];        /* why the latest call failed ("" if none) */
};

/* Builds the witness of `gateway_id` (its key name "<gateway_id>/witness")
 * from cfg (borrowed; must outlive it), loading every key and the state
 * file (`state_path`, created at the first cosignature), and starts its
 * thread.  NULL with "field: why" in err. */
struct gw_witness *gw_witness_new(const struct gw_witness_config *cfg, const char *gateway_id,
                                  const char *state_path, char *err, size_t errlen);
/* Stops the thread (pending work is answered first) and frees.  NULL ok. */
void gw_witness_free(struct gw_witness *w);

/* This instance's witness verifier key into a new string (gw_free()). */
char *gw_witness_vkey(const struct gw_witness *w);

/* ---- as a witness ------------------------------------------------------ */

/* The outcome of an add-checkpoint request: the HTTP status, content type
 * and body to answer (body owned by the callback's caller, valid during the
 * call). */
typedef void gw_witness_done_fn(int status, const char *content_type, const char *body,
                                size_t len, void *arg);

/* Processes the add-checkpoint request body[0..len) (copied) on the
 * witness's thread and calls done(arg) on `base` (the caller's loop; needs
 * evthread_use_pthreads) with the answer.  Returns 0, or -1 when it cannot
 * be queued (done is then never called). */
int gw_witness_add_async(struct gw_witness *w, const char *body, size_t len,
                         struct event_base *base, gw_witness_done_fn *done, void *arg);

/* The same, synchronously (blocks on the disk: never on an event loop;
 * tests).  *body is a new string the caller frees with gw_free(). */
int gw_witness_add_checkpoint(struct gw_witness *w, const char *req, size_t len,
                              const char **content_type, char **body, size_t *body_len);

/* ---- as a log ---------------------------------------------------------- */

/* Starts submitting the checkpoints of `log` to the peers from `base` (the
 * daemon's main loop).  0 or -1 (err filled). */
int gw_witness_submit_start(struct gw_witness *w, struct gw_audit_log *log,
                            struct event_base *base, char *err, size_t errlen);
/* Stops it (in-flight calls are cancelled); on the base's thread.  Called
 * by gw_witness_free too. */
void gw_witness_submit_stop(struct gw_witness *w);

/* `note` (len bytes, a checkpoint signed by this instance) followed by every
 * cosignature line we hold for exactly its body, into a new string
 * (*out, *out_len; gw_free()).  Lines for other checkpoints are not added. */
void gw_witness_cosigned_note(struct gw_witness *w, const char *note, size_t len, char **out,
                              size_t *out_len);

/* Stores a cosignature line of peer i for checkpoint body `text`
 * (text_len bytes, the note text) after verifying it with the peer's
 * witness key.  0, or -1 with why (the submitter's, and tests'). */
int gw_witness_accept_cosignature(struct gw_witness *w, size_t i, const char *text,
                                  size_t text_len, const char *line, size_t line_len,
                                  char *why, size_t whylen);

/* ---- reading ----------------------------------------------------------- */

size_t gw_witness_peer_count(const struct gw_witness *w);
/* A snapshot of peer i's counters into *out. */
void gw_witness_peer_stats(struct gw_witness *w, size_t i, struct gw_witness_peer_stats *out);

/* ---- the format, for gwctl and tests ------------------------------------ */

/* Verifies a tlog-cosignature/v1 line ("— name base64", without its
 * newline) over the note text `text` (body through its final newline) with
 * the verifier key `vkey` ("name+hex+base64(0x04 || pub)").  Returns 1 when
 * the line is by that key and verifies (*time set), 0 when it is by another
 * key (ignored), -1 when it is by that key and fails, -2 when vkey is not a
 * cosignature verifier key. */
int gw_witness_verify_line(const char *vkey, const char *text, size_t text_len,
                           const char *line, size_t line_len, uint64_t *time);

#endif
