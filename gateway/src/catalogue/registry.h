/*
 * gw/registry.h - the set of active adapters, swapped atomically.
 *
 * The one idea: the registry never changes a set in place.  It holds one
 * immutable snapshot (every loaded adapter, indexed by id and by fact);
 * loading a directory, adding or removing one adapter builds a complete new
 * snapshot, checks it as a whole (ids unique, no fact claimed by two
 * adapters) and publishes it with one atomic pointer exchange.  A request
 * takes a reference to the snapshot current when it starts and keeps using
 * that version until it releases it, however many swaps happen meanwhile;
 * the last release frees a retired snapshot and drops its references to the
 * adapters (an adapter shared by two snapshots lives until both are gone).
 *
 * Readers never wait: gw_registry_acquire is a handful of atomic operations
 * and never takes a lock.  Writers are serialized by a mutex among
 * themselves and, after publishing, wait only for readers that are inside
 * the few instructions between reading the pointer and counting their
 * reference (a two-counter grace period), never for readers holding a
 * snapshot.  A failed change leaves the current snapshot untouched.
 *
 * What it never does: parse or validate an adapter file (gw_adapter_load
 * does), talk to agencies, or decide which client may ask which fact.
 */
#ifndef GW_REGISTRY_H
#define GW_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "gw/adapter.h"

/* Most adapters one snapshot holds. */
#define GW_REGISTRY_MAX_ADAPTERS 256
/* Most adapters serving one fact (at different orders). */
#define GW_REGISTRY_MAX_ORDER 8

struct gw_registry;            /* opaque: the current snapshot and the locks */
struct gw_registry_snapshot;   /* opaque: one immutable set of adapters */

/* A new, empty registry (generation 0, no adapters).  Free with
 * gw_registry_free once no thread uses it any more. */
struct gw_registry *gw_registry_new(void);

/* Drops the registry's reference to its snapshot and frees the registry;
 * snapshots still acquired stay valid until released.  NULL is fine. */
void gw_registry_free(struct gw_registry *reg);

/* Loads every "*.json" file of `dir` (names starting with '.' skipped, in
 * name order) with gw_adapter_load and, if all load and no two share an id
 * or a fact, makes them the new snapshot.  Returns 0 on success.  On error
 * returns -1, writes "FILE: FIELD: PROBLEM" (or "DIR: PROBLEM") into err
 * and keeps the current snapshot. */
int gw_registry_load_dir(struct gw_registry *reg, const char *dir,
                         char *err, size_t errlen)
  __attribute__((warn_unused_result));

/* Publishes a snapshot with `a` added, or replacing the adapter with the
 * same id, whose version must then be lower than a->version.  Takes its
 * own reference to `a` on success (the caller keeps theirs).  On error
 * returns -1 with "ID: PROBLEM" in err (a fact another adapter provides,
 * a version not newer, too many adapters) and changes nothing. */
int gw_registry_put(struct gw_registry *reg, struct gw_adapter *a,
                    char *err, size_t errlen)
  __attribute__((warn_unused_result));

/* Publishes a snapshot without the adapter `id`.  -1 with err when there
 * is none. */
int gw_registry_remove(struct gw_registry *reg, const char *id,
                       char *err, size_t errlen)
  __attribute__((warn_unused_result));

/* The current snapshot, with one reference the caller must release.  Never
 * NULL (a new registry has an empty snapshot).  Lock-free; any thread. */
struct gw_registry_snapshot *gw_registry_acquire(struct gw_registry *reg);

/* Drops a reference taken by gw_registry_acquire.  NULL is fine. */
void gw_registry_release(struct gw_registry_snapshot *s);

/* Lookups in a snapshot.  The adapters returned are borrowed: valid while
 * the caller holds the snapshot (or a reference of its own, taken with
 * gw_adapter_ref).  NULL when absent. */
const struct gw_adapter *gw_registry_find(const struct gw_registry_snapshot *s,
                                          const char *id);
const struct gw_adapter *gw_registry_for_fact(const struct gw_registry_snapshot *s,
                                              const char *fact);
/* The k-th adapter serving `fact` by "order" (k = 0: the first asked). */
const struct gw_adapter *gw_registry_for_fact_nth(const struct gw_registry_snapshot *s,
                                                  const char *fact, size_t k);

/* The adapters of a snapshot in id order: count, and the i-th (i < count). */
size_t gw_registry_count(const struct gw_registry_snapshot *s);
const struct gw_adapter *gw_registry_at(const struct gw_registry_snapshot *s, size_t i);

/* 0 for the empty snapshot of a new registry, then 1, 2, ... for each
 * snapshot published: tells two versions of the set apart. */
uint64_t gw_registry_generation(const struct gw_registry_snapshot *s);

#endif
