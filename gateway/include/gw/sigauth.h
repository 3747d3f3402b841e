/*
 * gw/sigauth.h - the two request-signing auth schemes of government API
 * platforms: signed headers and WS-Security UsernameToken.
 *
 * Signed headers (auth.type "signed_headers"): the gateway sends its app
 * id, a timestamp, a fresh nonce and a signature in headers whose names the
 * adapter declares.  The signature is HMAC-SHA256, under a secret read from
 * env: or file:, of a canonical string whose shape the adapter declares as
 * a template over these placeholders only:
 *
 *   {{method}}       the HTTP method, "GET"
 *   {{path}}         the URL path as sent, "/api/v1/deposit"
 *   {{query}}        the query string as sent, without "?" ("" when none)
 *   {{app_id}}       the adapter's auth.app_id
 *   {{timestamp}}    the timestamp header's value
 *   {{nonce}}        the nonce header's value (32 lowercase hex digits)
 *   {{body.sha256}}  lowercase hex SHA-256 of the body ("" body included)
 *
 * WS-Security UsernameToken (auth.type "wsse_username_token", SOAP only):
 * a <wsse:Security> header holding Username, Password of type
 * PasswordDigest = base64(SHA-1(nonce + created + password)), Nonce
 * (base64 of 16 random bytes) and wsu:Created (RFC 3339 UTC), put as the
 * first child of the envelope's SOAP Header.
 *
 * Both are computed afresh for every attempt (a retry is not a replay), at
 * send time, from the request exactly as it leaves.  Nothing here logs, and
 * nothing returned holds the secret itself.
 */
#ifndef GW_SIGAUTH_H
#define GW_SIGAUTH_H

#include <stddef.h>
#include <time.h>

/* Caps: the canonical-string template, one expanded canonical string, a
 * header value, the username. */
#define GW_SIGAUTH_CANONICAL_MAX 1024
#define GW_SIGAUTH_STRING_MAX (8 * 1024)
#define GW_SIGAUTH_USERNAME_MAX 256
/* The Security element, with the username at its cap. */
#define GW_SIGAUTH_WSSE_MAX 2048

enum gw_sigauth_ts {
  GW_SIGAUTH_TS_UNIX = 0,      /* seconds since the epoch, "1796000000" */
  GW_SIGAUTH_TS_UNIX_MS,       /* milliseconds, "1796000000123" */
  GW_SIGAUTH_TS_RFC3339        /* "2026-12-07T19:40:00Z" */
};

enum gw_sigauth_enc {
  GW_SIGAUTH_ENC_BASE64 = 0,   /* standard, padded */
  GW_SIGAUTH_ENC_HEX           /* lowercase */
};

/* An adapter's signed-header settings (owned by struct gw_adapter). */
struct gw_sigauth_signed {
  char *app_id;
  char *secret;                /* resolved; never logged */
  char *canonical;             /* checked template */
  char *h_app_id, *h_timestamp, *h_nonce, *h_signature;   /* header names */
  enum gw_sigauth_ts ts;
  enum gw_sigauth_enc enc;
};

/* An adapter's UsernameToken settings (owned by struct gw_adapter). */
struct gw_sigauth_wsse {
  char *username;              /* checked: printable, no XML markup */
  char *password;              /* resolved; never logged */
  char *header_tag;            /* "<soapenv:Header", found in the body template */
};

/* Checks a canonical-string template: every "{{" opens a placeholder that
 * closes, names one of the placeholders above (spaces around allowed), and
 * the whole is at most GW_SIGAUTH_CANONICAL_MAX bytes.  0, or -1 with the
 * problem in why (e.g. "unknown placeholder {{body.md5}} (known: ...)"). */
int gw_sigauth_check_canonical(const char *tmpl, char *why, size_t n)
  __attribute__((warn_unused_result));

/* The values of one signed request.  Borrowed for the call. */
struct gw_sigauth_msg {
  const char *method;
  const char *url;             /* absolute https URL as sent */
  const void *body;
  size_t body_len;
  time_t now;
  unsigned now_ms;             /* 0..999, for GW_SIGAUTH_TS_UNIX_MS */
  const char *nonce;           /* NULL: a fresh one is drawn */
};

/* The four header values of a signed request (names from the settings). */
struct gw_sigauth_headers {
  char timestamp[32];
  char nonce[33];
  char signature[96];
};

/* Fills out->timestamp, nonce and signature for `m` under `s`.  When
 * `canonical_out` is not NULL the canonical string is copied there (caller
 * frees; tests and the mock compare it).  0, or -1 when a value is too long
 * or the crypto fails. */
int gw_sigauth_sign(const struct gw_sigauth_signed *s, const struct gw_sigauth_msg *m,
                    struct gw_sigauth_headers *out, char **canonical_out)
  __attribute__((warn_unused_result));

/* PasswordDigest: base64(SHA-1(nonce + created + password)) into out (at
 * least 29 bytes).  0 or -1. */
int gw_sigauth_wsse_digest(const unsigned char *nonce, size_t nonce_len,
                           const char *created, const char *password,
                           char *out, size_t outlen)
  __attribute__((warn_unused_result));

/* Returns a copy of `body` (the caller's, gw_free) with a fresh
 * <wsse:Security> UsernameToken header put right after the start tag named
 * by w->header_tag (a self-closing one is opened), or NULL when the tag is
 * not there or the result would exceed `max`.  `nonce` (16 bytes) NULL:
 * drawn fresh. */
char *gw_sigauth_wsse_apply(const struct gw_sigauth_wsse *w, const char *body, size_t len,
                            time_t now, const unsigned char *nonce, size_t max,
                            size_t *out_len);

/* Is `s` a username the Security element can carry verbatim (1..cap
 * printable ASCII bytes, none of < > & " ')?  1 or 0. */
int gw_sigauth_username_ok(const char *s);

/* Frees what the settings own (secrets cleansed first).  NULL members ok. */
void gw_sigauth_signed_clear(struct gw_sigauth_signed *s);
void gw_sigauth_wsse_clear(struct gw_sigauth_wsse *w);

#endif /* GW_SIGAUTH_H */
