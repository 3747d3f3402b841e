/*
 * msg.h - writing error messages: the one "err, errlen" writer, and the one
 * way to repeat outside text (a client's field name, a parser's token, an
 * agency's value) inside a message.
 *
 * Messages reach problem+json answers, per-fact errors, logs and the cache,
 * where a raw identity number must never go.  Outside text may hold one, so
 * it is never copied as is: gw_msg_echo keeps its shape (which field,
 * "####-##-##") and drops its digits.
 */
#ifndef GW_MSG_H
#define GW_MSG_H

#include <stddef.h>

/* Most bytes of outside text a message repeats (before "..."). */
#define GW_MSG_ECHO_MAX 64
/* A buffer that always holds an echo of GW_MSG_ECHO_MAX bytes. */
#define GW_MSG_ECHO_BUF (GW_MSG_ECHO_MAX + 4)

/* printf into err[0..errlen) (always NUL-terminated, cut if longer); err
 * NULL or errlen 0 writes nothing.  Returns -1, so a failing path can
 * `return gw_msg_set(err, errlen, ...)`. */
int gw_msg_set(char *err, size_t errlen, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));

/* Copies s[0..n) into buf[0..buflen) for a message: at most `max` input bytes,
 * never splitting a UTF-8 sequence; every ASCII digit becomes '#', every
 * control byte and every byte of an ill-formed sequence '?'; "..." follows
 * when s was cut.  buf is always NUL-terminated (buflen >= 1; the output is
 * cut to fit).  Returns buf. */
char *gw_msg_echo(const char *s, size_t n, size_t max, char *buf, size_t buflen);

/* gw_msg_echo over a NUL-terminated string with GW_MSG_ECHO_MAX. */
char *gw_msg_echo_str(const char *s, char *buf, size_t buflen);

#endif
