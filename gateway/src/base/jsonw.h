/*
 * gw/jsonw.h - writing JSON text straight into a buffer.
 *
 * The one idea: the documents the gateway emits on every query (the answer
 * and its audit record) are assembled from pieces it already holds as text
 * (a fact's value serialized once when it was fetched, its attestation,
 * identifiers), so they are written, not built as a tree and then dumped.
 * The writer places commas and colons itself, escapes every string, and
 * refuses a string that is not valid UTF-8 (as jansson does): once anything
 * is refused the writer is spoiled and gw_jw_finish() returns NULL, so a
 * half-written document is never used.
 *
 *   struct gw_jw w;
 *   gw_jw_init(&w, 512);
 *   gw_jw_open(&w);                       {
 *   gw_jw_kstr(&w, "kind", "query");        "kind":"query",
 *   gw_jw_key(&w, "facts");                 "facts":
 *   gw_jw_open(&w); ... gw_jw_close(&w);    {...}
 *   gw_jw_close(&w);                      }
 *   text = gw_jw_finish(&w, &len);        owned by the caller: gw_free()
 *
 * Output is compact (no whitespace); non-ASCII is written as UTF-8; control
 * characters, '"' and '\' are escaped as RFC 8259 section 7 asks.  Keys are
 * written in the order given: callers that want sorted keys give them
 * sorted.  Nothing here checks for duplicate keys.
 *
 * Memory comes from gw/alloc.h (never fails).  A writer is used by one
 * thread at a time.
 */
#ifndef GW_JSONW_H
#define GW_JSONW_H

#include <stddef.h>
#include <stdint.h>

/* Deepest nesting of objects and arrays a writer keeps track of. */
#define GW_JW_MAX_DEPTH 16

struct gw_jw {
  char *buf;
  size_t len, cap;
  int depth;
  int spoiled;                        /* invalid UTF-8, bad nesting */
  unsigned char first[GW_JW_MAX_DEPTH]; /* nothing written yet at this level */
  unsigned char after_key;            /* a key was written, its value comes next */
};

/* Starts an empty writer with room for `hint` bytes. */
void gw_jw_init(struct gw_jw *w, size_t hint);

/* Frees the buffer of a writer not finished (no-op after gw_jw_finish). */
void gw_jw_free(struct gw_jw *w);

/* Containers.  Unbalanced or deeper than GW_JW_MAX_DEPTH spoils the writer. */
void gw_jw_open(struct gw_jw *w);        /* { */
void gw_jw_close(struct gw_jw *w);       /* } */
void gw_jw_open_array(struct gw_jw *w);  /* [ */
void gw_jw_close_array(struct gw_jw *w); /* ] */

/* An object member's name; its value is the next thing written. */
void gw_jw_key(struct gw_jw *w, const char *key);

/* Values. */
void gw_jw_str(struct gw_jw *w, const char *s);
void gw_jw_strn(struct gw_jw *w, const char *s, size_t n);
void gw_jw_int(struct gw_jw *w, int64_t v);
void gw_jw_bool(struct gw_jw *w, int v);
void gw_jw_null(struct gw_jw *w);
/* A string the caller knows needs no escaping and no UTF-8 check: only
 * printable ASCII without '"' or '\\' (base64, hex, ids the gateway made).
 * Copied between quotes; builds without NDEBUG check the promise. */
void gw_jw_plain(struct gw_jw *w, const char *s, size_t n);

/* `json` is already one complete JSON value (e.g. json_dumps() output);
 * it is copied as is. */
void gw_jw_raw(struct gw_jw *w, const char *json, size_t n);

/* key + value in one call. */
void gw_jw_kstr(struct gw_jw *w, const char *key, const char *s);
void gw_jw_kint(struct gw_jw *w, const char *key, int64_t v);
void gw_jw_kbool(struct gw_jw *w, const char *key, int v);

/* The text so far (not NUL-terminated while open); for callers that append
 * a document in two steps.  NULL once spoiled. */
const char *gw_jw_peek(const struct gw_jw *w, size_t *len);

/* Ends the writer: the NUL-terminated text (caller frees with gw_free()) and
 * its length, or NULL when the writer was spoiled or containers are still
 * open.  The writer is empty afterwards either way. */
char *gw_jw_finish(struct gw_jw *w, size_t *len);

#endif /* GW_JSONW_H */
