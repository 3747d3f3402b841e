/*
 * gw/utf8.h - one UTF-8 decoder for everything that must judge text.
 *
 * Strict RFC 3629: stray continuation bytes, truncated sequences, overlong
 * forms, surrogates and code points above U+10FFFF are all refused.  Used by
 * the template escaper, the checkpoint note parser and the JSON writer, so
 * all three agree on what "valid UTF-8" means.
 */
#ifndef GW_UTF8_H
#define GW_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Decodes the sequence at s[0..n) (n >= 1).  Returns its length (1..4) and
 * sets *cp, or returns 0 when it is not well formed. */
size_t gw_utf8_next(const unsigned char *s, size_t n, uint32_t *cp);

#endif /* GW_UTF8_H */
