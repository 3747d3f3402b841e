/*
 * query_int.h - what query.c shares with query_fast.c.
 */
#ifndef GW_QUERY_INT_H
#define GW_QUERY_INT_H

#include <stddef.h>
#include <stdint.h>

/* As QUERY_MAX_FACTS in query.c: more facts than this go the slow way. */
#define QUERY_FAST_MAX_FACTS 16

/* A body in the plain shape, as pointers into it (strings without their
 * quotes, never NUL-terminated).  Only syntax and shape were checked: the
 * values are still the caller's to validate. */
struct query_fast {
  const char *id_type, *id, *name;
  size_t id_type_len, id_len, name_len;
  const char *facts[QUERY_FAST_MAX_FACTS];
  size_t fact_len[QUERY_FAST_MAX_FACTS];
  size_t n_facts;
  const char *purpose, *case_ref;
  size_t purpose_len, case_ref_len;
  int has_case_ref, has_deadline, has_max_age;
  int64_t deadline_ms, max_age_s;
  int sign;
};

/* 0 when body[0..len) is a JSON object of the plain shape (see
 * query_fast.c), with *f filled; -1 when the full parser must judge it. */
int query_scan_fast(const char *body, size_t len, struct query_fast *f);

#endif /* GW_QUERY_INT_H */
