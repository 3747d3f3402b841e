/*
 * registry.h - the adapters of one generation: every adapter file of a
 * directory, loaded and checked as a whole into one immutable set.
 *
 * The one idea: the set never changes once built.  Loading a directory
 * builds a complete new set and checks it as a whole (ids unique, no fact
 * served twice at one order, every fact in the catalogue); a reload builds
 * a new set inside a new generation (runtime/gen.h), which is what requests
 * hold and what is swapped.  The set is read by any number of threads
 * without locks.
 *
 * What it never does: parse or validate an adapter file (gw_adapter_load
 * does), talk to agencies, decide which client may ask which fact, or swap
 * anything.
 */
#ifndef GW_REGISTRY_H
#define GW_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "gw/adapter.h"

/* Most adapters one set holds. */
#define GW_REGISTRY_MAX_ADAPTERS 256
/* Most adapters serving one fact (at different orders). */
#define GW_REGISTRY_MAX_ORDER 8

struct gw_registry;            /* opaque: one immutable set of adapters */

/* Loads every "*.json" file of `dir` (names starting with '.' skipped, in
 * name order) with gw_adapter_load and checks them against the catalogue in
 * force on this thread; if all load and no two share an id or serve a fact
 * at the same order, returns 0 with the set in *out (gw_registry_free).  On
 * error returns -1, sets *out to NULL and writes "FILE: FIELD: PROBLEM" (or
 * "DIR: PROBLEM") into err.  An empty directory is an empty set. */
int gw_registry_load_dir(const char *dir, struct gw_registry **out, char *err, size_t errlen)
  __attribute__((warn_unused_result));

/* Drops the set's references to its adapters and frees it (an adapter
 * someone else holds a reference to lives on).  NULL is fine. */
void gw_registry_free(struct gw_registry *s);

/* Lookups.  The adapters returned are borrowed: valid while the set lives
 * (or while the caller holds a reference of its own, gw_adapter_ref).  NULL
 * when absent. */
const struct gw_adapter *gw_registry_find(const struct gw_registry *s, const char *id);
const struct gw_adapter *gw_registry_for_fact(const struct gw_registry *s, const char *fact);
/* The k-th adapter serving `fact` by "order" (k = 0: the first asked). */
const struct gw_adapter *gw_registry_for_fact_nth(const struct gw_registry *s,
                                                  const char *fact, size_t k);

/* The adapters of a set in id order: count, and the i-th (i < count). */
size_t gw_registry_count(const struct gw_registry *s);
const struct gw_adapter *gw_registry_at(const struct gw_registry *s, size_t i);

#endif
