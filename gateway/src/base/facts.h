/*
 * gw/facts.h - the fact catalogue (DESIGN section 4).
 *
 * The names the approval engine asks for, which agency serves each, and the
 * JSON Schema (schemas/facts/<name>.schema.json) a mapped value must satisfy
 * before it is signed.  The catalogue is compiled in: adding a fact is a
 * reviewed change, not a runtime registration, because the ACL and the
 * attestation format both depend on it.
 */
#ifndef GW_FACTS_H
#define GW_FACTS_H

#include <stddef.h>

struct gw_fact_def {
  const char *name;            /* "education.degrees" */
  const char *agency;          /* the agency (mock) that serves it */
  const char *summary;         /* one line for the catalogue endpoint */
};

/* The fact called `name`, or NULL. */
const struct gw_fact_def *gw_fact_find(const char *name);

/* All facts, in catalogue order; *n is set to their count. */
const struct gw_fact_def *gw_fact_all(size_t *n);

#endif
