/*
 * upstream_int.h - request checking for the upstream engine (internal).
 *
 * Everything the engine decides about a request before any socket exists:
 * the URL (https only, no credentials, ASCII), the method, the headers (no
 * CR/LF/NUL, none of the engine's own), timeouts, caps, the pin and the
 * address allow-list.  Pure functions apart from allocation, so the tests
 * can reach every rule without a network.
 */
#ifndef GW_UPSTREAM_INT_H
#define GW_UPSTREAM_INT_H

#include <stddef.h>
#include <curl/curl.h>

#include "gw/upstream.h"
#include "netspec.h"

#define GW_UPREQ_HOST_LEN 256     /* host as logged, with NUL (truncated) */
#define GW_UPREQ_PATH_LEN 256     /* path as logged, with NUL (truncated) */


/* A request that passed every check, in the form the engine needs. */
struct gw_upreq {
  const char *method;            /* static string: "GET", "POST", ... */
  size_t max_body;               /* the body cap, default applied */
  long connect_timeout_ms;       /* default applied */
  struct gw_net_cidr *cidrs;      /* n_cidrs entries, or NULL: unrestricted */
  size_t n_cidrs;
  CURLU *url;                    /* the parsed URL handed to libcurl */
  struct curl_slist *headers;    /* the caller's headers plus "Expect:" */
  char host[GW_UPREQ_HOST_LEN];  /* for logs: printable, no query string */
  char port[8];
  char path[GW_UPREQ_PATH_LEN];
};

/* Checks `req` and fills *out.  `async_dns` = 0 restricts hosts to numeric
 * addresses and "localhost".  On success the caller owns *out and releases
 * it with gw_upreq_release(); on failure *out holds nothing to release. */
enum gw_upstream_start_result gw_upreq_prepare(const struct gw_upstream_request *req,
                                               int async_dns, struct gw_upreq *out)
  __attribute__((warn_unused_result));

/* Frees what gw_upreq_prepare() allocated; safe on a zeroed struct. */
void gw_upreq_release(struct gw_upreq *r);

/* 1 when the address (4 or 16 bytes by family) is in one of the n CIDRs or
 * n is 0.  An IPv4-mapped IPv6 address is judged as the IPv4 it carries. */
int gw_upreq_address_allowed(const struct gw_net_cidr *cidrs, size_t n,
                             int family, const unsigned char *addr);

/* Copies at most dstlen-1 bytes of src (NULL = ""), printable ASCII only
 * ('?' for anything else), trailing spaces trimmed: what libcurl or a peer
 * wrote becomes safe for a log line. */
void gw_upreq_printable(char *dst, size_t dstlen, const char *src);

/* For tests only: behave as if libevent had refused a registration, so
 * the engine takes its repair path (every exchange in flight fails with
 * GW_UP_INTERNAL, the multi handle is rebuilt).  Implemented in upstream.c. */
void gw_upstream_test_break(struct gw_upstream *up);

/* The opening-slot limiter of host:port (upstream_gate.c), made on first
 * use; NULL when g is NULL (no gate).  Lives as long as g.  Any thread. */
struct gw_policy_limiter;
struct gw_policy_limiter *upstream_gate_for(struct gw_upstream_gates *g, const char *host,
                                            const char *port);

#endif
