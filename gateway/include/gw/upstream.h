/*
 * gw/upstream.h - the upstream engine: HTTPS exchanges with agencies, driven
 * by a worker's event loop.
 *
 * One struct gw_upstream per worker thread owns one libcurl multi handle
 * whose sockets and single timer live on that worker's event_base, so no
 * call here ever blocks the loop and every callback runs on that thread.
 * The multi's connection cache gives keep-alive reuse across exchanges.  The
 * engine knows nothing about adapters, codecs or policy: the caller says
 * exactly what to send, where, with which TLS material and within which
 * bounds, and gets back one classified outcome.  It never follows
 * redirects, never speaks anything but HTTPS (TLS 1.2+, peer and host name
 * always verified), never uses a proxy from the environment, never retries
 * and never logs a header, a body or a query string.
 *
 * Names are resolved by libcurl's threaded resolver, off the loop.  If the
 * linked libcurl lacks asynchronous DNS, only numeric hosts (and
 * "localhost") are accepted, so a lookup can still never block the loop.
 *
 * Not thread-safe: create, use and free an engine on one thread (it may be
 * created on another thread before its loop starts).  See docs/upstream.md.
 */
#ifndef GW_UPSTREAM_H
#define GW_UPSTREAM_H

#include <stddef.h>
#include <stdint.h>

#include "netspec.h"

struct event_base;
struct gw_upstream;
struct gw_upstream_exchange;

/* Caps on what a caller may ask for (all checked by gw_upstream_start). */
#define GW_UP_MAX_URL_LEN            8192       /* bytes of a URL */
#define GW_UP_MAX_HEADERS            64         /* request headers */
#define GW_UP_MAX_HEADER_LEN         8192       /* "Name: value" of one header */
#define GW_UP_MAX_REQUEST_BODY       (8u << 20) /* request body bytes */
#define GW_UP_MAX_CIDRS              GW_NET_MAX_CIDRS /* entries of an address allow-list */
#define GW_UP_MAX_PINS               GW_NET_MAX_PINS  /* ";"-separated pins */
#define GW_UP_MAX_TIMEOUT_MS         300000L    /* 5 minutes */
/* Caps on what an agency may send back. */
#define GW_UP_DEFAULT_MAX_RESPONSE   (4u << 20) /* body bytes when the caller says 0 */
#define GW_UP_MAX_RESPONSE           (64u << 20) /* ceiling for max_response_bytes */
#define GW_UP_MAX_RESPONSE_HEAD      (64u << 10) /* all response header lines */
#define GW_UP_DETAIL_LEN             256        /* result detail, with its NUL */
#define GW_UP_CONTENT_TYPE_LEN       128        /* result content_type, with its NUL */

/* Connection limits of one engine; zero fields take the defaults. */
struct gw_upstream_options {
  long max_host_connections;   /* per host:port, default 1024; more exchanges
                                * queue (result queued_us) */
  long max_total_connections;  /* default 4096; more exchanges queue */
  long max_idle_connections;   /* kept in the connection cache, default 1024 */
  long max_idle_age_s;         /* an idle connection older than this is not
                                * reused, default 55 s (agencies commonly drop
                                * idle connections at 60 s) */
  size_t max_exchanges;        /* in flight at once, default 8192 */
  struct gw_upstream_gates *gates;  /* borrowed, may be NULL (no bound): how
                                * many connections to one host:port are being
                                * opened at once, shared by every engine given
                                * the same registry; must outlive the engine */
};

/* Registry of per-host:port opening gates (upstream_gate.c).  A new
 * connection (TCP + TLS handshake) to a host:port is only started while
 * fewer than max_connecting (<= 0: GW_UP_DEFAULT_MAX_CONNECTING) of the
 * registry's engines' connections to it are still being opened; other
 * exchanges wait (result open_wait_us) for a slot or an idle connection,
 * and that wait does not run against their timeout_ms.  Never NULL.  Free
 * after every engine using it. */
#define GW_UP_DEFAULT_MAX_CONNECTING 8
struct gw_upstream_gates;
struct gw_upstream_gates *gw_upstream_gates_new(int max_connecting);
void gw_upstream_gates_free(struct gw_upstream_gates *g);

enum gw_upstream_outcome {
  GW_UP_OK = 0,          /* a complete HTTP response, whatever its status (3xx too) */
  GW_UP_TIMEOUT,         /* timeout_ms or connect_timeout_ms elapsed */
  GW_UP_CONNECT,         /* refused, unreachable, name not resolved */
  GW_UP_TLS,             /* handshake, verification, pin or local TLS material; see tls_error */
  GW_UP_TOO_LARGE,       /* body (or head) exceeded its cap; the transfer was aborted */
  GW_UP_PROTOCOL,        /* malformed HTTP, truncated body */
  GW_UP_RESET,           /* connection reset or closed before any response */
  GW_UP_ADDRESS_DENIED,  /* the peer address is outside allowed_cidrs; nothing was sent */
  GW_UP_CANCELLED,       /* only in logs: a cancelled exchange gets no callback */
  GW_UP_INTERNAL         /* a local failure (libcurl or event loop) */
};

enum gw_upstream_tls_error {
  GW_UP_TLS_NONE = 0,
  GW_UP_TLS_HANDSHAKE,   /* negotiation failed, or the peer sent an alert
                          * (e.g. it rejected or required our client cert) */
  GW_UP_TLS_VERIFY,      /* the server certificate did not verify: unknown
                          * CA, expired, wrong host name */
  GW_UP_TLS_PIN,         /* verified, but its public key matches no pin */
  GW_UP_TLS_LOCAL        /* our CA file, client certificate or key is unusable */
};

/* What the completion callback gets.  Every pointer is owned by the exchange
 * and valid only during the callback, except the body after
 * gw_upstream_take_body(). */
struct gw_upstream_result {
  uint64_t xid;                      /* exchange id, as in the logs */
  enum gw_upstream_outcome outcome;
  enum gw_upstream_tls_error tls_error;  /* GW_UP_TLS only */
  long status;                       /* final HTTP status; 0 if none arrived */
  const char *content_type;          /* "" when absent */
  const unsigned char *body;         /* never NULL; NUL-terminated after body_len */
  size_t body_len;                   /* complete only when outcome == GW_UP_OK */
  int64_t total_us;                  /* start to end */
  int64_t connect_us;                /* start to TCP connected (0 if reused) */
  int64_t tls_us;                    /* start to TLS done (0 if reused) */
  uint64_t bytes_in;                 /* response head + body bytes */
  int reused;                        /* 1 when an existing connection was reused */
  int64_t queued_us;                 /* start to having a connection (a new one
                                      * may be opened, or an idle one was
                                      * handed over): time spent waiting for a
                                      * free slot in the connection pool,
                                      * open_wait_us included */
  int64_t open_wait_us;              /* part of queued_us spent waiting for
                                      * a slot to open a connection
                                      * (gw_upstream_gates) */
  const char *detail;                /* short reason, "" on GW_UP_OK; never
                                      * holds a header, body or query string */
};

/* Called exactly once per exchange that was started and not cancelled, on
 * the engine's thread, never from inside gw_upstream_start().  `ex` stays
 * valid until the callback returns and is freed by the engine right after;
 * gw_upstream_cancel(ex) inside it is a no-op.  The callback may start and
 * cancel other exchanges, but must not free the engine. */
typedef void gw_upstream_done_fn(struct gw_upstream_exchange *ex,
                                 const struct gw_upstream_result *res, void *arg);

struct gw_upstream_header {
  const char *name;       /* RFC 9110 token characters only */
  const char *value;      /* value_len bytes, or up to the NUL when value_len is 0 */
  size_t value_len;
};

/* TLS material for one upstream (file paths, PEM). */
struct gw_upstream_tls {
  const char *ca_file;     /* the only trust anchors used (the system store and
                            * CA path are disabled); NULL = the system store */
  const char *client_cert; /* NULL = no client certificate */
  const char *client_key;  /* its unencrypted PEM key; NULL = in client_cert */
  const char *pin_sha256;  /* "sha256//<base64>" (";"-joined for rotation,
                            * up to GW_UP_MAX_PINS) or NULL = no pin */
};

/* One exchange, filled by the caller.  Everything is copied by
 * gw_upstream_start(): the caller may release it all when that returns. */
struct gw_upstream_request {
  const char *url;               /* https://host[:port]/path[?query]; no userinfo */
  const char *method;            /* GET, POST, PUT, PATCH, DELETE; NULL = POST
                                  * when body_len > 0, else GET */
  const struct gw_upstream_header *headers;
  size_t n_headers;              /* Host, Content-Length, Transfer-Encoding,
                                  * Connection, Expect, Upgrade, TE, Trailer,
                                  * Keep-Alive and Accept-Encoding are the
                                  * engine's and are refused */
  const void *body;
  size_t body_len;               /* a GET must have none */
  struct gw_upstream_tls tls;
  long connect_timeout_ms;       /* 0 = timeout_ms */
  long timeout_ms;               /* total bound, 1..GW_UP_MAX_TIMEOUT_MS; the
                                  * caller passes min(policy, deadline left) */
  size_t max_response_bytes;     /* body cap, 0 = GW_UP_DEFAULT_MAX_RESPONSE,
                                  * at most GW_UP_MAX_RESPONSE */
  const char *const *allowed_cidrs;  /* "10.0.0.0/8", "::1", ...: the peer
                                      * address must match one, checked before
                                      * connecting and again before sending on
                                      * a reused connection.  NULL or empty =
                                      * no restriction. */
  size_t n_allowed_cidrs;
  gw_upstream_done_fn *on_done;  /* required */
  void *arg;
};

enum gw_upstream_start_result {
  GW_UP_START_OK = 0,
  GW_UP_START_BAD_URL,      /* unparseable, not https, userinfo, non-ASCII,
                             * too long, or a name the engine cannot resolve
                             * without blocking */
  GW_UP_START_BAD_METHOD,
  GW_UP_START_BAD_HEADER,   /* CR, LF or NUL, a bad name, an engine-owned
                             * header, too many or too long */
  GW_UP_START_BAD_REQUEST,  /* timeouts, caps, body, pin or CIDR syntax,
                             * missing callback */
  GW_UP_START_BUSY,         /* max_exchanges in flight */
  GW_UP_START_INTERNAL      /* libcurl refused the transfer */
};

/* Initializes libcurl once per process (idempotent, thread-safe).  Called
 * by gw_upstream_new(); gatewayd calls it early so a failure is reported at
 * start-up.  Returns 0, or -1 when libcurl cannot be initialized or lacks
 * what the engine needs (HTTPS, libcurl >= 7.85). */
int gw_upstream_global_init(char *err, size_t errlen) __attribute__((warn_unused_result));

/* Creates an engine driven by `base` (borrowed; must outlive the engine).
 * `opt` may be NULL (defaults).  Returns NULL with a reason in err.  Free
 * with gw_upstream_free(). */
struct gw_upstream *gw_upstream_new(struct event_base *base,
                                    const struct gw_upstream_options *opt,
                                    char *err, size_t errlen)
  __attribute__((warn_unused_result));

/* Cancels every outstanding exchange (no callbacks, as gw_upstream_cancel),
 * closes every connection and frees the engine.  Never call it from an
 * upstream callback.  NULL is a no-op. */
void gw_upstream_free(struct gw_upstream *up);

/* The event_base the engine runs on. */
struct event_base *gw_upstream_base(const struct gw_upstream *up);

/* Exchanges started and not yet completed or cancelled. */
size_t gw_upstream_active(const struct gw_upstream *up);

/* Starts one exchange.  On GW_UP_START_OK sets *out (may be NULL when the
 * caller will never cancel) to a handle valid until the callback returns or
 * gw_upstream_cancel() is called; the callback will be called exactly once
 * unless the exchange is cancelled.  On any other result nothing was sent,
 * no connection was opened, *out is NULL and the callback is never called. */
enum gw_upstream_start_result gw_upstream_start(struct gw_upstream *up,
                                                const struct gw_upstream_request *req,
                                                struct gw_upstream_exchange **out)
  __attribute__((warn_unused_result));

/* Cancels an exchange from the engine's thread (typically: the query's
 * deadline fired).  Its callback is NOT called, now or later; the handle is
 * invalid when this returns and the connection it was using is closed if
 * the exchange was mid-flight.  Inside the exchange's own callback it is a
 * no-op. */
void gw_upstream_cancel(struct gw_upstream_exchange *ex);

/* 1 once the exchange has reached the agency: a connection of its own is
 * being opened, or it holds one (new or reused).  0 while it waits on our
 * side (an opening slot, libcurl's pool): a deadline then is not the
 * agency's fault. */
int gw_upstream_reached_agency(const struct gw_upstream_exchange *ex);

/* Inside the callback only: hands the response body to the caller, who
 * frees it with gw_free().  The buffer holds *len bytes plus a NUL and is
 * the one res->body points at.  Returns NULL after a first take. */
unsigned char *gw_upstream_take_body(struct gw_upstream_exchange *ex, size_t *len)
  __attribute__((warn_unused_result));

/* Stable lower-case names for logs and metrics: "ok", "timeout", ... */
const char *gw_upstream_outcome_name(enum gw_upstream_outcome o);
const char *gw_upstream_tls_error_name(enum gw_upstream_tls_error e);

#endif
