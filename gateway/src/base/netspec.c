/*
 * netspec.c - the one parser of address blocks and public-key pins
 * (netspec.h), for the adapter loader and the upstream engine alike.
 */
#include "netspec.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "msg.h"

int gw_net_addr_parse(const char *s, unsigned char addr[16])
{
  memset(addr, 0, 16);
  if(inet_pton(AF_INET, s, addr) == 1)
    return AF_INET;
  if(inet_pton(AF_INET6, s, addr) == 1)
    return AF_INET6;
  return 0;
}

static int prefix_match(const unsigned char *a, const unsigned char *b, int bits)
{
  int full = bits / 8, rest = bits % 8;
  if(memcmp(a, b, (size_t)full))
    return 0;
  if(rest) {
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    if((a[full] & mask) != (b[full] & mask))
      return 0;
  }
  return 1;
}

int gw_net_cidr_parse(const char *s, int flags, struct gw_net_cidr *out, char *why, size_t n)
{
  const char *slash = strchr(s, '/');
  size_t alen = slash ? (size_t)(slash - s) : strlen(s);
  char addr[INET6_ADDRSTRLEN], net[INET6_ADDRSTRLEN];
  unsigned char masked[16];
  int max, prefix = 0;

  memset(out, 0, sizeof(*out));
  if(!slash && (flags & GW_NET_CIDR_STRICT))
    return gw_msg_set(why, n, "must be an address block like \"10.0.0.0/8\" or "
                      "\"fd00::/8\" (no \"/prefix\")");
  if(alen && alen < sizeof(addr)) {
    memcpy(addr, s, alen);
    addr[alen] = '\0';
    out->family = gw_net_addr_parse(addr, out->addr);
  }
  if(!out->family)
    return gw_msg_set(why, n, "\"%.*s\" is not a numeric IPv4 or IPv6 address",
                      (int)(alen > 45 ? 45 : alen), s);
  max = out->family == AF_INET ? 32 : 128;
  out->prefix = max;
  if(!slash)
    return 0;
  if(!slash[1] || strlen(slash + 1) > 3 ||
     ((flags & GW_NET_CIDR_STRICT) && slash[1] == '0' && slash[2]))
    return gw_msg_set(why, n, "the prefix length must be a number from 0 to %d", max);
  for(const char *d = slash + 1; *d; d++) {
    if(*d < '0' || *d > '9')
      return gw_msg_set(why, n, "the prefix length must be a number from 0 to %d", max);
    prefix = prefix * 10 + (*d - '0');
  }
  if(prefix > max)
    return gw_msg_set(why, n, "the prefix length must be a number from 0 to %d", max);
  out->prefix = prefix;
  if(!(flags & GW_NET_CIDR_STRICT))
    return 0;
  memset(masked, 0, sizeof(masked));
  memcpy(masked, out->addr, (size_t)prefix / 8);
  if(prefix % 8)
    masked[prefix / 8] = (unsigned char)(out->addr[prefix / 8] & (0xff << (8 - prefix % 8)));
  if(memcmp(masked, out->addr, (size_t)max / 8)) {
    inet_ntop(out->family, masked, net, sizeof(net));
    return gw_msg_set(why, n, "has host bits set (did you mean \"%s/%d\"?)", net, prefix);
  }
  return 0;
}

int gw_net_cidr_match(const struct gw_net_cidr *c, int family, const unsigned char *addr)
{
  static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

  if(family == AF_INET6 && !memcmp(addr, v4mapped, sizeof(v4mapped))) {
    family = AF_INET;
    addr += 12;
  }
  return c->family == family && prefix_match(addr, c->addr, c->prefix);
}

int gw_net_pins_check(const char *s, char *why, size_t n)
{
  static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const char *p = s;
  int pins = 0;

  for(;;) {
    const char *end = strchr(p, ';');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    const char *d = p + 8;
    const char *last;
    if(len != 8 + 44 || strncmp(p, "sha256//", 8) || d[43] != '=')
      return gw_msg_set(why, n, "must be \"sha256//\" followed by the base64 SHA-256 of the "
                        "server's public key (44 characters), several joined by \";\"");
    for(int i = 0; i < 43; i++)
      if(!d[i] || !strchr(b64, d[i]))
        return gw_msg_set(why, n, "pin %d: \"%c\" is not a base64 character", pins + 1, d[i]);
    last = strchr(b64, d[42]);
    if((last - b64) & 3)       /* 32 bytes use only 4 bits of the 43rd char */
      return gw_msg_set(why, n, "pin %d: not the canonical base64 of 32 bytes", pins + 1);
    if(++pins > GW_NET_MAX_PINS)
      return gw_msg_set(why, n, "at most %d pins", GW_NET_MAX_PINS);
    if(!end)
      return 0;
    p = end + 1;
  }
}
