/*
 * gen.h - the running generation: everything a reload swaps, as one
 * immutable, reference-counted object.
 *
 * A generation holds the catalogue (facts and purposes), the compiled fact
 * schemas, the ACL, the predicate set, the adapters (the registry) with the
 * runtime of each (keys, policy state, cluster rate share), the attestation
 * signer of the crypto profile, and what it is: its id (1 at start, +1 per
 * activation), when and by whom it was activated, the log index of its
 * `config` audit record, and the file name, SHA-256 and version of every
 * file in force.  Once published nothing in it changes.
 *
 * A request takes the current generation once, when it starts
 * (gw_gen_acquire), reads every one of those things through it and nothing
 * else, and releases it when it ends (gw_gen_release); work that outlives
 * the request (a cache flight other queries wait on) takes its own
 * reference with gw_gen_ref.  A reload builds a complete new generation
 * (gw_gen_load); only if every part loads and checks, and its config record
 * is durable, does gw_gen_publish swap it in.  The old one is freed by
 * whichever thread drops its last reference.  A refused reload changes
 * nothing.
 *
 * The catalogue rule.  Lookups by name (gw_fact_find, gw_purpose_known,
 * gw/facts.h) answer from the catalogue in force on the calling thread: the
 * one a handler set for a synchronous step with gw_catalogue_use (the
 * generation it holds), else the installed one.  gw_gen_publish installs
 * the new generation's catalogue under the slot's lock; the installed
 * catalogue belongs to the current generation, so it is freed only when
 * that generation is freed, which cannot happen before another is
 * installed.  Handlers that hold a generation set its catalogue around
 * their lookups so a reload between two lookups cannot mix two catalogues.
 *
 * Adding a part: a field in struct gw_gen, its loading in gw_gen_load, its
 * release in gen.c's gen_free, and its files in the file list (so the
 * config record names them).  Shared state that is not swapped (cache,
 * audit log, subject secret, seal) lives in struct gw_app, not here.
 */
#ifndef GW_GEN_H
#define GW_GEN_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct gw_config;
struct gw_registry;
struct gw_adapter_rt;
struct gw_acl;
struct gw_attest_signer;
struct gw_factschema_set;
struct gw_catalogue;
struct gw_predset;

/* Longest "who" kept (an admin client's certificate name is cut there). */
#define GW_GEN_WHO_MAX 128

/* What a file is to the generation. */
enum gw_gen_part {
  GW_GEN_FACT,                       /* schemas_dir/facts/NAME.schema.json */
  GW_GEN_PURPOSES,                   /* purposes_file */
  GW_GEN_PREDICATE,                  /* predicates_dir/FILE */
  GW_GEN_ADAPTER,                    /* adapters_dir/FILE */
  GW_GEN_ACL                         /* acl_file */
};

/* One file in force: its name relative to its directory, the hex SHA-256
 * of the bytes that were loaded, its version (-1: the file has none) and,
 * for adapters and predicates, the id it defines (else NULL). */
struct gw_gen_file {
  enum gw_gen_part part;
  char *path;
  char sha256[65];
  long long version;
  char *id;
};

struct gw_gen {
  atomic_int refs;
  uint64_t id;                       /* 1, 2, ...: set by gw_gen_number */
  int64_t when_ms;                   /* wall clock of activation */
  char who[GW_GEN_WHO_MAX];          /* "start", "sighup", an admin's name */
  uint64_t record_index;             /* its config record in the audit log */
  int recorded;                      /* record_index is set */
  struct gw_catalogue *catalogue;
  struct gw_factschema_set *schemas;
  struct gw_acl *acl;
  struct gw_predset *preds;
  struct gw_registry *registry;      /* the adapter set, never changed */
  size_t n_rt;
  struct gw_adapter_rt **rt;         /* one per adapter, in id order */
  struct gw_attest_signer *signer;
  size_t n_files;
  struct gw_gen_file *files;         /* in record order: facts, purposes,
                                        predicates, adapters, ACL */
};

/* Loads every part from the configuration (schemas_dir, purposes_file,
 * acl_file, predicates_dir, adapters_dir, the attestation keys of
 * crypto.profile) and builds the adapter runtimes; `instances` > 1 gives
 * each runtime its share of the adapter's rate (a cluster).  The catalogue
 * is checked on this thread only (gw_catalogue_use, restored before it
 * returns); nothing is installed.  Returns the generation with one reference, unnumbered (id 0),
 * or NULL with "FIELD: why" in err and nothing left allocated. */
struct gw_gen *gw_gen_load(const struct gw_config *cfg, int instances, char *err,
                           size_t errlen);

/* One more reference to a generation the caller holds.  Returns g. */
struct gw_gen *gw_gen_ref(struct gw_gen *g);

/* Drops a reference; the last frees the generation and every part.  NULL
 * is fine.  Any thread. */
void gw_gen_release(struct gw_gen *g);

/* The runtime asked first for `fact` in g (lowest adapter "order"), or
 * NULL; _nth: the k-th by order (k = 1: asked when the first is
 * unavailable).  Borrowed: valid while g is held. */
struct gw_adapter_rt *gw_gen_rt_for_fact_nth(const struct gw_gen *g, const char *fact, size_t k);
struct gw_adapter_rt *gw_gen_rt_for_fact(const struct gw_gen *g, const char *fact);

/* The runtime of the adapter `id` in g, or NULL (borrowed). */
struct gw_adapter_rt *gw_gen_rt_by_id(const struct gw_gen *g, const char *id);

/* The `config` audit record of g (docs/audit-api.md): id, who, when, the
 * catalogue's version and digest and every file in force.  JSON text with
 * sorted keys (gw_free), or NULL when it cannot be built. */
char *gw_gen_record(const struct gw_gen *g, size_t *len);

/* ---- where the current generation is published ------------------------- */

struct gw_gen_slot;

/* An empty slot (nothing published yet; gw_gen_acquire must not be called
 * before the first gw_gen_publish). */
struct gw_gen_slot *gw_gen_slot_new(void);

/* Drops the slot's reference to its generation and frees the slot; users
 * still holding generations keep them.  Uninstalls the catalogue if it is
 * the slot's.  NULL is fine. */
void gw_gen_slot_free(struct gw_gen_slot *slot);

/* Serializes activations (SIGHUP on the main thread, the admin API on a
 * worker): between lock and unlock at most one caller numbers, records
 * and publishes. */
void gw_gen_slot_lock(struct gw_gen_slot *slot);
void gw_gen_slot_unlock(struct gw_gen_slot *slot);

/* Gives `next` the id it will have when published (one more than the
 * last published), who and when.  Under gw_gen_slot_lock. */
void gw_gen_number(struct gw_gen_slot *slot, struct gw_gen *next, const char *who);

/* The current generation with a reference for the caller (release with
 * gw_gen_release).  Never NULL once something was published.  Any thread;
 * a few instructions under a mutex no writer holds for longer. */
struct gw_gen *gw_gen_acquire(struct gw_gen_slot *slot);

/* Makes `next` (numbered by gw_gen_number) current, installs its
 * catalogue, takes the caller's reference and drops the slot's reference
 * to the previous one.  Under gw_gen_slot_lock. */
void gw_gen_publish(struct gw_gen_slot *slot, struct gw_gen *next);

/* Generations built and not yet freed (all slots): for tests and the
 * activation log line. */
long gw_gen_live(void);

#endif
