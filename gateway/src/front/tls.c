/*
 * tls.c - server-side TLS policy, built once and shared by the workers.
 */
#include "gw/tls.h"

#include <stdio.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "gw/config.h"

/* TLS 1.2: ECDHE with AEAD only.  TLS 1.3 suites are all AEAD already. */
#define GW_TLS12_CIPHERS \
  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define GW_TLS13_SUITES \
  "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

static void ssl_reason(char *err, size_t errlen, const char *what, const char *file)
{
  char buf[256];
  unsigned long e = ERR_peek_last_error();
  ERR_error_string_n(e, buf, sizeof(buf));
  ERR_clear_error();
  snprintf(err, errlen, "%s %s: %s", what, file ? file : "", e ? buf : "unknown error");
}

SSL_CTX *gw_tls_server_ctx_new(const struct gw_config *cfg, char *err, size_t errlen)
{
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  static const unsigned char sid_ctx[] = "gatewayd";

  if(!ctx) {
    ssl_reason(err, errlen, "SSL_CTX_new", NULL);
    return NULL;
  }
  if(!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
     !SSL_CTX_set_cipher_list(ctx, GW_TLS12_CIPHERS) ||
     !SSL_CTX_set_ciphersuites(ctx, GW_TLS13_SUITES)) {
    ssl_reason(err, errlen, "TLS policy", NULL);
    goto fail;
  }
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                      SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);

  if(SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert) != 1) {
    ssl_reason(err, errlen, "tls.cert", cfg->tls_cert);
    goto fail;
  }
  if(SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key, SSL_FILETYPE_PEM) != 1) {
    ssl_reason(err, errlen, "tls.key", cfg->tls_key);
    goto fail;
  }
  if(SSL_CTX_check_private_key(ctx) != 1) {
    ssl_reason(err, errlen, "tls.key does not match tls.cert", cfg->tls_key);
    goto fail;
  }
  if(cfg->tls_client_ca) {
    STACK_OF(X509_NAME) *names;
    if(SSL_CTX_load_verify_locations(ctx, cfg->tls_client_ca, NULL) != 1) {
      ssl_reason(err, errlen, "tls.client_ca", cfg->tls_client_ca);
      goto fail;
    }
    names = SSL_load_client_CA_file(cfg->tls_client_ca);
    if(names)
      SSL_CTX_set_client_CA_list(ctx, names);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
                       (cfg->require_client_cert ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
                       NULL);
    SSL_CTX_set_verify_depth(ctx, 4);
  }
  return ctx;

fail:
  SSL_CTX_free(ctx);
  return NULL;
}

int gw_tls_peer_cn(SSL *ssl, char *out, size_t len)
{
  X509 *peer;
  int n;
  if(!len)
    return -1;
  out[0] = '\0';
  if(SSL_get_verify_result(ssl) != X509_V_OK)
    return -1;
  peer = SSL_get1_peer_certificate(ssl);
  if(!peer)
    return -1;
  n = X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName,
                                out, (int)len);
  X509_free(peer);
  return n > 0 ? 0 : -1;
}
