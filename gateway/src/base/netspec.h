/*
 * netspec.h - network specifications an adapter gives (address
 * allow-lists, public-key pins): their limits and their one parser, shared
 * by the adapter loader (catalogue layer), which refuses a definition with a
 * message naming the problem, and the upstream engine, which refuses an
 * exchange beyond them.  Base layer: both read the same rules without one
 * depending on the other.
 */
#ifndef GW_NETSPEC_H
#define GW_NETSPEC_H

#include <stddef.h>

#define GW_NET_MAX_CIDRS  32   /* entries of an address allow-list */
#define GW_NET_MAX_PINS   4    /* ";"-separated "sha256//..." pins */

/* An address block: `prefix` leading bits of `addr` (4 or 16 bytes). */
struct gw_net_cidr {
  int family;                  /* AF_INET or AF_INET6 */
  int prefix;                  /* bits */
  unsigned char addr[16];
};

/* A numeric IPv4 or IPv6 address into addr[16]: AF_INET or AF_INET6, or 0
 * when s is neither (names are never resolved here). */
int gw_net_addr_parse(const char *s, unsigned char addr[16]);

/* Parses "ADDR/PREFIX" (or a bare ADDR = one address, unless
 * GW_NET_CIDR_STRICT) into *out.  Strict also refuses host bits set past
 * the prefix ("10.1.0.0/8": did you mean 10.0.0.0/8?) and a prefix with a
 * leading zero.  Returns 0, or -1 with the problem in why[0..n) (why may be
 * NULL). */
#define GW_NET_CIDR_STRICT 1
int gw_net_cidr_parse(const char *s, int flags, struct gw_net_cidr *out, char *why, size_t n)
  __attribute__((warn_unused_result));

/* 1 when the address (4 or 16 bytes by family) is in block c.  An
 * IPv4-mapped IPv6 address is judged as the IPv4 it carries. */
int gw_net_cidr_match(const struct gw_net_cidr *c, int family, const unsigned char *addr);

/* Checks a pin list: "sha256//" and the canonical base64 of 32 bytes (44
 * characters), at most GW_NET_MAX_PINS joined by ";" (libcurl's
 * CURLOPT_PINNEDPUBLICKEY form, without its file-path form: a pin is a
 * value).  Returns 0, or -1 with the problem in why[0..n) (why may be NULL). */
int gw_net_pins_check(const char *s, char *why, size_t n)
  __attribute__((warn_unused_result));

#endif
