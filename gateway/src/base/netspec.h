/*
 * netspec.h - the limits of a network specification an adapter may give
 * (address allow-lists, public-key pins), shared by the adapter loader
 * (catalogue layer), which rejects a definition beyond them, and the upstream
 * engine, which refuses an exchange beyond them.  Base layer: both read the
 * same numbers without one depending on the other.
 */
#ifndef GW_NETSPEC_H
#define GW_NETSPEC_H

#define GW_NET_MAX_CIDRS  32   /* entries of an address allow-list */
#define GW_NET_MAX_PINS   4    /* ";"-separated "sha256//..." pins */

#endif
