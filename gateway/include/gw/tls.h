/*
 * gw/tls.h - TLS contexts for the gateway's listeners.
 *
 * One policy for every listener: TLS 1.2 and 1.3 only, forward-secret AEAD
 * suites only, no compression, no renegotiation, no session tickets shared
 * across restarts.  Client certificates, when the config asks for them, are
 * verified against the configured client CA and a handshake without one is
 * refused.  An SSL_CTX built here is immutable afterwards and shared by all
 * worker threads.
 */
#ifndef GW_TLS_H
#define GW_TLS_H

#include <stddef.h>
#include <openssl/ssl.h>

struct gw_config;

/* Builds the API listener's context from cfg (tls_cert, tls_key,
 * tls_client_ca, require_client_cert).  Returns NULL on error with a
 * one-line reason in err.  Caller frees with SSL_CTX_free(). */
SSL_CTX *gw_tls_server_ctx_new(const struct gw_config *cfg, char *err, size_t errlen)
  __attribute__((warn_unused_result));

/* The subject CN of the verified peer certificate of `ssl` into out
 * (NUL-terminated, truncated to len); returns -1 when there is none. */
int gw_tls_peer_cn(SSL *ssl, char *out, size_t len);

#endif
