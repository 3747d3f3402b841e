/*
 * gw/config.h - the gateway's configuration file (JSON).
 *
 * The file is read once at start-up (and again on reload); every mistake is
 * reported as "FILE: FIELD: PROBLEM" with the dotted path of the field, so an
 * operator can fix it without reading code.  Unknown fields are errors, not
 * silently ignored: a typo in a security setting must not pass unnoticed.
 * Relative paths in the file are resolved against the file's directory.
 *
 * This header is the plain type (base layer: the front end and TLS read it);
 * reading and validating the file is gw/config_load.h (runtime layer).
 */
#ifndef GW_CONFIG_H
#define GW_CONFIG_H

#include <stddef.h>
#include "gw/log.h"

/* Named caps on everything a client feeds us (see docs/operations.md). */
struct gw_limits {
  size_t max_header_bytes;     /* request line + headers */
  int max_headers;             /* header count */
  size_t max_body_bytes;       /* request body */
  int max_connections;         /* per process, all workers */
  int header_timeout_ms;       /* whole request head must arrive within */
  int idle_timeout_ms;         /* keep-alive idle connection */
  int read_timeout_ms;         /* gap between body reads */
  int max_requests_per_connection_per_s; /* token bucket refill, burst the
                                            same; 0 = no rate cap */
  int max_requests_per_connection;       /* keep-alive cap; 0 = none */
};

/* The path from a query to an agency: each worker's connection pool
 * (libcurl multi handle).  Per worker; the agency's policy.max_concurrency
 * bounds what is in flight to one agency across all workers. */
struct gw_upstream_limits {
  long max_connections_per_agency; /* open connections to one host:port */
  long max_connections;            /* open connections to all agencies */
  long max_idle_connections;       /* kept open for reuse */
  long max_idle_age_s;             /* an idle connection older is not reused */
  long max_exchanges;              /* exchanges in flight */
  long max_connecting;             /* connections to one agency being opened
                                    * at once, all workers together */
};

struct gw_listen {
  char *address;               /* numeric IPv4/IPv6 literal */
  int port;                    /* 0 = any free port */
};

/* crypto.profile (docs/crypto.md): which signatures, seals and MACs. */
enum gw_crypto_profile {
  GW_CRYPTO_INTL = 0,          /* ES256, Ed25519, CMS (default) */
  GW_CRYPTO_GM,                /* SM2/SM3/SM4 (国密); Ed25519 line kept */
  GW_CRYPTO_DUAL               /* both attestations, both checkpoint lines */
};

/* The "crypto" object.  Paths are NULL when absent. */
struct gw_crypto_config {
  enum gw_crypto_profile profile;
  char *attest_sm2;            /* PEM SM2 private key signing attestations */
  char **previous_sm2;         /* SM2 keys kept in the JWKS after a rotation */
  size_t n_previous_sm2;
  char *checkpoint_sm2;        /* PEM SM2 private key: the checkpoint's SM2 line */
  char *seal_cert_sm2;         /* auditors' SM2 certificate (gm sealing) */
  int subject_ref_sm3;         /* subject_ref by HMAC-SM3, not HMAC-SHA256 */
  char *sm2_id;                /* the distinguishing ID of our SM2 signatures
                                  (attestations, checkpoint line); NULL:
                                  GM/T 0009's "1234567812345678" */
};

/* "intl", "gm", "dual".  Static storage. */
const char *gw_crypto_profile_name(enum gw_crypto_profile p);

/* cluster.redis: the state instances share (docs/scale-out.md).  Absent:
 * enabled 0, and the gateway runs alone on its local state. */
struct gw_cluster_config {
  int enabled;
  char *host;                  /* numeric address of redis-server */
  int port;
  char *user;                  /* ACL user, or NULL */
  char *password;              /* resolved from "env:NAME" or "file:PATH", or NULL */
  char *key_prefix;            /* every key starts with it (default "gw:") */
  char *seal_key;              /* file: 32 bytes (or 64 hex digits) sealing values */
  int connect_timeout_ms;
  int command_timeout_ms;
  int retry_ms;
  int wait_poll_ms;            /* how often a waiting instance looks again */
  int instances;               /* cluster size: an adapter's rate share is rate/instances */
};

/* "audit.witness": mutual witnessing of the instances' audit logs
 * (gw/witness.h). */
struct gw_witness_peer_config {
  char *gateway_id;    /* the peer's gateway_id: its origins are
                          "<gateway_id>/audit/<32 hex>", its witness key
                          name "<gateway_id>/witness" */
  char *url;           /* the peer's API base, https://host:port */
  char *log_key;       /* Ed25519 public key PEM: verifies its checkpoints */
  char *witness_key;   /* Ed25519 public key PEM: verifies its cosignatures */
};

struct gw_witness_config {
  int enabled;
  char *key;           /* this instance's Ed25519 witness key (PKCS#8 PEM) */
  char *state;         /* state file; NULL: <audit.dir>/witness-state */
  char *ca;            /* verifies the peers' server certificates */
  char *client_cert;   /* presented to the peers (their ACL: role witness) */
  char *client_key;
  int timeout_ms;      /* each call to a peer, default 5000 */
  size_t n_peers;
  struct gw_witness_peer_config *peers;
};

struct gw_config {
  char *path;                  /* the file this was read from */
  char *dir;                   /* its directory (relative paths resolve here) */
  char *gateway_id;            /* "iss" of attestations, audit origin */
  struct gw_listen api;        /* HTTPS API listener */
  struct gw_listen ops;        /* plain-HTTP ops listener (loopback) */
  int workers;                 /* worker threads; 0 in the file = cores */
  char *tls_cert;              /* PEM server certificate (chain) */
  char *tls_key;               /* PEM private key */
  char *tls_client_ca;         /* PEM CA bundle for client certs, or NULL */
  int require_client_cert;     /* refuse handshakes without a valid one */
  enum gw_log_level log_level;
  int deadline_default_ms;     /* query deadline when the request omits it */
  int deadline_max_ms;         /* cap on a requested deadline */
  int max_age_default_s;       /* cache age a query accepts when it omits max_age_s */
  struct gw_limits limits;
  struct gw_upstream_limits upstream;

  char *adapters_dir;          /* adapter definitions (*.json) */
  char *schemas_dir;           /* fact schemas (schemas/facts) */
  char *acl_file;              /* client ACL */
  char *purposes_file;         /* purposes.json; default schemas_dir/../purposes.json */
  char *predicates_dir;        /* predicate definitions; default: predicates/ beside schemas_dir */
  int predicate_probe_window_s; /* one arg per (client, subject, predicate) this long; 0: off */
  char *attest_key;            /* PEM P-256 private key signing attestations
                                  (NULL in the gm profile when not given) */
  char **attest_previous;      /* PEM keys kept in the JWKS after a rotation */
  size_t n_attest_previous;
  char *subject_secret;        /* hex HMAC key for subject_ref */
  size_t cache_max_bytes;
  char *audit_dir;             /* the audit log directory (created if missing) */
  char *audit_checkpoint_key;  /* PEM Ed25519 key signing checkpoints */
  char *audit_seal_cert;       /* PEM certificate the raw subject is sealed to */
  int audit_checkpoint_interval_s;
  int audit_preallocate;       /* write the records file ahead (default 1) */
  struct gw_witness_config witness; /* audit.witness: mutual witnessing (gw/witness.h) */
  struct gw_crypto_config crypto;
  struct gw_cluster_config cluster;
};

#endif
