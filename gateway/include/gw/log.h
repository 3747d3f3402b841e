/*
 * gw/log.h - structured logs: one JSON object per line on stderr.
 *
 * Every line has "ts" (RFC 3339 UTC, milliseconds), "level" and "event"
 * (a stable snake_case name operators can grep and alert on), then fields.
 * A line is written with a single write(2), so lines from worker threads
 * never interleave.  Callers must never pass raw identity numbers, secrets
 * or tokens: log subject_ref, key ids and adapter ids instead.
 */
#ifndef GW_LOG_H
#define GW_LOG_H

#include <jansson.h>

enum gw_log_level {
  GW_LOG_DEBUG = 0,
  GW_LOG_INFO,
  GW_LOG_WARN,
  GW_LOG_ERROR
};

/* Lines below `min` are dropped.  Thread-safe; default GW_LOG_INFO. */
void gw_log_set_level(enum gw_log_level min);

/* Parses "debug" | "info" | "warn" | "error"; returns -1 for anything else. */
int gw_log_level_parse(const char *s, enum gw_log_level *out)
  __attribute__((warn_unused_result));

int gw_log_enabled(enum gw_log_level lvl);

/* Logs `event` with a printf-style "msg" field (omitted when fmt is NULL). */
void gw_log(enum gw_log_level lvl, const char *event, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));

/* Logs `event` with the members of `fields` (a JSON object, may be NULL).
 * Steals the reference to `fields`. */
void gw_log_fields(enum gw_log_level lvl, const char *event, json_t *fields);

/* The same line written without a tree, for lines logged on every request:
 * gw_log_begin() starts `w` with ts, level and event (the caller adds its
 * fields with gw/jsonw.h), gw_log_end() closes and writes it and frees `w`.
 * Callers check gw_log_enabled() first. */
struct gw_jw;
void gw_log_begin(struct gw_jw *w, enum gw_log_level lvl, const char *event);
void gw_log_end(struct gw_jw *w);

#endif
