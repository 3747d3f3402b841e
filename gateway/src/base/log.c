/*
 * log.c - JSON lines on stderr, one write(2) per line.
 *
 * Lines are built with jansson so every value is escaped correctly whatever
 * arrives; the level filter is a relaxed atomic so the hot path costs one
 * load when a level is off.
 */
#include "gw/log.h"
#include "gw/alloc.h"
#include "jsonw.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static atomic_int min_level = GW_LOG_INFO;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void gw_log_set_level(enum gw_log_level min)
{
  atomic_store_explicit(&min_level, (int)min, memory_order_relaxed);
}

int gw_log_level_parse(const char *s, enum gw_log_level *out)
{
  for(int i = 0; i <= GW_LOG_ERROR; i++) {
    if(!strcmp(s, level_names[i])) {
      *out = (enum gw_log_level)i;
      return 0;
    }
  }
  return -1;
}

int gw_log_enabled(enum gw_log_level lvl)
{
  return (int)lvl >= atomic_load_explicit(&min_level, memory_order_relaxed);
}

/* RFC 3339 UTC with milliseconds.  The calendar part changes once a
 * second; each thread remembers it. */
static void format_ts(char *buf, size_t len)
{
  static _Thread_local time_t last_sec = -1;
  static _Thread_local char last_day[80];
  struct timeval tv;
  gettimeofday(&tv, NULL);
  if(tv.tv_sec != last_sec) {
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    snprintf(last_day, sizeof(last_day), "%04d-%02d-%02dT%02d:%02d:%02d",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    last_sec = tv.tv_sec;
  }
  {
    size_t n = strlen(last_day);
    int ms = (int)(tv.tv_usec / 1000);
    if(n + 6 > len) {
      buf[0] = '\0';
      return;
    }
    memcpy(buf, last_day, n);
    buf[n] = '.';
    buf[n + 1] = (char)('0' + ms / 100);
    buf[n + 2] = (char)('0' + ms / 10 % 10);
    buf[n + 3] = (char)('0' + ms % 10);
    buf[n + 4] = 'Z';
    buf[n + 5] = '\0';
  }
}

/* text[0..len) and a newline in one write(2), so lines from several threads
 * never interleave.  text[len] is the NUL both line builders leave there:
 * it becomes the newline. */
static void write_line(char *text, size_t len)
{
  text[len] = '\n';
  (void)!write(STDERR_FILENO, text, len + 1);
}

void gw_log_begin(struct gw_jw *w, enum gw_log_level lvl, const char *event)
{
  char ts[64];
  format_ts(ts, sizeof(ts));
  gw_jw_init(w, 256);
  gw_jw_open(w);
  gw_jw_kstr(w, "ts", ts);
  gw_jw_kstr(w, "level", level_names[lvl]);
  gw_jw_kstr(w, "event", event);
}

void gw_log_end(struct gw_jw *w)
{
  size_t len = 0;
  char *text;
  gw_jw_close(w);
  text = gw_jw_finish(w, &len);
  if(!text)
    return;
  write_line(text, len);
  gw_free(text);
}

void gw_log_fields(enum gw_log_level lvl, const char *event, json_t *fields)
{
  char ts[64];
  json_t *line;
  char *text;
  size_t len;

  if(!gw_log_enabled(lvl)) {
    json_decref(fields);
    return;
  }
  format_ts(ts, sizeof(ts));
  line = json_object();
  json_object_set_new(line, "ts", json_string(ts));
  json_object_set_new(line, "level", json_string(level_names[lvl]));
  json_object_set_new(line, "event", json_string(event));
  if(fields && json_is_object(fields))
    json_object_update_missing(line, fields);
  json_decref(fields);

  text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(line);
  if(!text)
    return;
  len = strlen(text);
  write_line(text, len);
  free(text);
}

void gw_log(enum gw_log_level lvl, const char *event, const char *fmt, ...)
{
  json_t *fields;
  char msg[1024];
  va_list ap;

  if(!gw_log_enabled(lvl))
    return;
  fields = json_object();
  if(fmt) {
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_object_set_new(fields, "msg", json_string(msg));
  }
  gw_log_fields(lvl, event, fields);
}
