/*
 * console.h - the operations console: GET /console on the ops listener.
 *
 * One read-only HTML page, rendered on the server at each request from what
 * the gateway already keeps (per-adapter recent figures and policy state,
 * cache statistics, audit metrics, the running generation) for the people
 * who run it: bilingual labels (中文 / English), no script, no external
 * asset, no personal data (only adapter ids, counts, codes and times), and
 * a <meta refresh> so a wall screen stays current.
 */
#ifndef GW_CONSOLE_H
#define GW_CONSOLE_H

#include <time.h>

struct gw_app;
struct gw_req;
struct gw_server;

/* What the page shows besides the app.  Borrowed: all of it must outlive
 * the ops server. */
struct gw_console {
  struct gw_app *app;
  const char *version;             /* build version */
  time_t started;                  /* process start, Unix time */
  const struct gw_server *api;     /* for the certificate's expiry; may be NULL */
  int refresh_s;                   /* <meta refresh> period; 0: 10 s */
};

/* Route handler for GET /console; arg is a struct gw_console *.  Answers
 * 200 text/html, or 500 problem+json when the page cannot be built. */
void gw_console_handle(struct gw_req *req, void *arg);

/* Appends `s` to the page HTML-escaped (& < > " '); exposed for tests. */
struct gw_console_buf {
  char *p;
  size_t len, cap;
};
void gw_console_escape(struct gw_console_buf *b, const char *s);

#endif
