/*
 * config.c - reads the gateway's JSON configuration with precise errors.
 *
 * The one idea: base's typed JSON reader (jread.h), the one adapters are
 * read with too, so every error says "FILE: FIELD: PROBLEM" the same way;
 * here only what is the configuration's own (defaults, paths resolved
 * against the file's directory, secrets by reference).  Objects are checked
 * for unknown members after their known members have been read.  Duplicate
 * keys are rejected by the JSON parser itself.
 */
#include "gw/config_load.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gw/alloc.h"
#include "gw/gm.h"
#include "gw/witness.h"
#include "jread.h"

#define CONFIG_MAX_BYTES (1024 * 1024)

struct reader {
  struct gw_jread jr;          /* FILE in messages, the first failure */
  char *dir;                   /* directory of the file, for relative paths */
};

/* Longest string a configuration field holds (paths, names, specs). */
#define CONFIG_STRING_MAX 4096

#define fail(r, ...) gw_jread_fail(&(r)->jr, __VA_ARGS__)
#define join gw_jread_join

static void check_unknown(struct reader *r, json_t *obj, const char *prefix,
                          const char *const *known)
{
  (void)gw_jread_unknown(&r->jr, obj, prefix, known);
}

static json_t *get_object(struct reader *r, json_t *parent, const char *prefix,
                          const char *key, int required)
{
  return gw_jread_object(&r->jr, parent, prefix, key, required);
}

/* A copy of the string member `key`; a copy of dflt when absent (missing
 * is a failure when dflt is NULL). */
static char *get_string(struct reader *r, json_t *parent, const char *prefix,
                        const char *key, const char *dflt)
{
  if(!json_object_get(parent, key) && dflt)
    return gw_strdup(dflt);
  return gw_jread_string(&r->jr, parent, prefix, key, 1, CONFIG_STRING_MAX);
}

static long long get_int(struct reader *r, json_t *parent, const char *prefix,
                         const char *key, long long dflt, long long min,
                         long long max)
{
  return gw_jread_int(&r->jr, parent, prefix, key, dflt, min, max);
}

static int get_bool(struct reader *r, json_t *parent, const char *prefix,
                    const char *key, int dflt)
{
  return gw_jread_bool(&r->jr, parent, prefix, key, dflt);
}

/* The path member `key` made absolute against the config file's
 * directory; NULL when absent (a failure when required: "missing (a
 * `what` path is required)") or on a failure. */
static char *get_abs(struct reader *r, json_t *parent, const char *prefix, const char *key,
                     int required, const char *what)
{
  char path[GW_JREAD_FIELD_MAX], full[PATH_MAX];
  char *s;
  join(path, sizeof(path), prefix, key);
  if(!json_object_get(parent, key)) {
    if(required)
      fail(r, path, "missing (a %s path is required)", what);
    return NULL;
  }
  s = get_string(r, parent, prefix, key, NULL);
  if(!s || s[0] == '/')
    return s;
  if(snprintf(full, sizeof(full), "%s/%s", r->dir, s) >= (int)sizeof(full)) {
    fail(r, path, "path too long");
    gw_free(s);
    return NULL;
  }
  gw_free(s);
  return gw_strdup(full);
}

/* A readable file path, resolved against the config file's directory. */
static char *get_path(struct reader *r, json_t *parent, const char *prefix,
                      const char *key, int required)
{
  char path[GW_JREAD_FIELD_MAX];
  char *s = get_abs(r, parent, prefix, key, required, "file");
  if(s && access(s, R_OK)) {
    join(path, sizeof(path), prefix, key);
    fail(r, path, "cannot read %s: %s", s, strerror(errno));
    gw_free(s);
    return NULL;
  }
  return s;
}

/* A directory path (made absolute); it need not exist yet. */
static char *get_dir(struct reader *r, json_t *parent, const char *prefix,
                     const char *key, int must_exist)
{
  char path[GW_JREAD_FIELD_MAX];
  char *s = get_abs(r, parent, prefix, key, 1, "directory");
  if(s && must_exist && access(s, R_OK | X_OK)) {
    join(path, sizeof(path), prefix, key);
    fail(r, path, "cannot read directory %s: %s", s, strerror(errno));
    gw_free(s);
    return NULL;
  }
  return s;
}

const char *gw_crypto_profile_name(enum gw_crypto_profile p)
{
  switch(p) {
  case GW_CRYPTO_INTL: return "intl";
  case GW_CRYPTO_GM:   return "gm";
  case GW_CRYPTO_DUAL: return "dual";
  }
  return "intl";
}

/* An array of at most `max` readable file paths; *n of them into *out. */
static void get_path_list(struct reader *r, json_t *obj, const char *prefix, const char *key,
                          size_t max, char ***out, size_t *n)
{
  char path[GW_JREAD_FIELD_MAX];
  json_t *arr = json_object_get(obj, key), *item;
  size_t i;

  join(path, sizeof(path), prefix, key);
  if(!arr)
    return;
  if(!json_is_array(arr) || json_array_size(arr) > max) {
    fail(r, path, "must be an array of at most %zu key files", max);
    return;
  }
  if(!json_array_size(arr))
    return;
  *out = gw_calloc(json_array_size(arr), sizeof(char *));
  json_array_foreach(arr, i, item) {
    char field[32], *p;
    json_t *wrap = json_object();
    snprintf(field, sizeof(field), "[%zu]", i);
    json_object_set(wrap, field, item);
    p = get_path(r, wrap, path, field, 1);
    json_decref(wrap);
    if(!p)
      break;
    (*out)[(*n)++] = p;
  }
}

/* "crypto": the profile and the SM2 keys it needs (docs/crypto.md). */
static void read_crypto(struct reader *r, json_t *root, struct gw_config *cfg)
{
  static const char *const known[] = { "profile", "attestation_sm2", "previous_sm2",
                                       "checkpoint_sm2", "seal_cert_sm2", "subject_ref",
                                       "sm2_id", NULL };
  struct gw_crypto_config *c = &cfg->crypto;
  json_t *obj = get_object(r, root, "", "crypto", 0);
  char *profile, *ref;
  int sm2;

  c->profile = GW_CRYPTO_INTL;
  if(!obj)
    return;
  profile = get_string(r, obj, "crypto", "profile", "intl");
  if(profile && !strcmp(profile, "gm"))
    c->profile = GW_CRYPTO_GM;
  else if(profile && !strcmp(profile, "dual"))
    c->profile = GW_CRYPTO_DUAL;
  else if(profile && strcmp(profile, "intl"))
    fail(r, "crypto.profile", "must be one of intl, gm, dual (got \"%s\")", profile);
  gw_free(profile);
  sm2 = c->profile != GW_CRYPTO_INTL;
  c->attest_sm2 = get_path(r, obj, "crypto", "attestation_sm2", sm2);
  get_path_list(r, obj, "crypto", "previous_sm2", 7, &c->previous_sm2, &c->n_previous_sm2);
  c->checkpoint_sm2 = get_path(r, obj, "crypto", "checkpoint_sm2", sm2);
  c->seal_cert_sm2 = get_path(r, obj, "crypto", "seal_cert_sm2", c->profile == GW_CRYPTO_GM);
  ref = get_string(r, obj, "crypto", "subject_ref", "hmac-sha256");
  if(ref && !strcmp(ref, "hmac-sm3"))
    c->subject_ref_sm3 = 1;
  else if(ref && strcmp(ref, "hmac-sha256"))
    fail(r, "crypto.subject_ref", "must be hmac-sha256 or hmac-sm3 (got \"%s\")", ref);
  gw_free(ref);
  if(json_object_get(obj, "sm2_id")) {
    /* our SM2 signatures' distinguishing ID: a CA or relying party that
     * expects another than GM/T 0009's default (docs/crypto.md) */
    json_t *v = json_object_get(obj, "sm2_id");
    if(!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v) ||
       !gw_gm_sm2_id_ok(json_string_value(v), json_string_length(v)))
      fail(r, "crypto.sm2_id", "must be 1 to %d printable ASCII characters (GM/T 0009's "
           "default is \"%s\")", GW_GM_SM2_ID_MAX, GW_GM_SM2_ID);
    else
      c->sm2_id = gw_strdup(json_string_value(v));
  }
  if(!sm2 && (c->attest_sm2 || c->checkpoint_sm2 || c->seal_cert_sm2 || c->n_previous_sm2 ||
              c->subject_ref_sm3 || c->sm2_id))
    fail(r, "crypto.profile", "is intl: SM2 keys and hmac-sm3 need gm or dual");
  check_unknown(r, obj, "crypto", known);
}

static void read_keys(struct reader *r, json_t *root, struct gw_config *cfg)
{
  static const char *const known[] = { "attestation", "previous", "subject_secret", NULL };
  json_t *obj = get_object(r, root, "", "keys", 1), *prev, *item;
  size_t i;
  if(!obj)
    return;
  /* gm signs attestations with SM2 only: the P-256 key may be left out */
  cfg->attest_key = get_path(r, obj, "keys", "attestation",
                             cfg->crypto.profile != GW_CRYPTO_GM);
  cfg->subject_secret = get_path(r, obj, "keys", "subject_secret", 1);
  prev = json_object_get(obj, "previous");
  if(prev && (!json_is_array(prev) || json_array_size(prev) > 7)) {
    fail(r, "keys.previous", "must be an array of at most 7 key files");
    prev = NULL;
  }
  if(prev && json_array_size(prev)) {
    cfg->attest_previous = gw_calloc(json_array_size(prev), sizeof(char *));
    json_array_foreach(prev, i, item) {
      char field[32], *p;
      json_t *wrap = json_object();
      snprintf(field, sizeof(field), "[%zu]", i);
      json_object_set(wrap, field, item);
      p = get_path(r, wrap, "keys.previous", field, 1);
      json_decref(wrap);
      if(!p)
        break;
      cfg->attest_previous[cfg->n_attest_previous++] = p;
    }
  }
  check_unknown(r, obj, "keys", known);
}

/* "audit.witness": this instance's witness key, the TLS material of its
 * calls to the peers, and the peers (gw/witness.h, docs/scale-out.md). */
static void read_witness(struct reader *r, json_t *audit, struct gw_config *cfg)
{
  static const char *const known[] = { "key", "state", "ca", "client_cert", "client_key",
                                       "timeout_ms", "peers", NULL };
  static const char *const pknown[] = { "gateway_id", "url", "log_key", "witness_key", NULL };
  struct gw_witness_config *w = &cfg->witness;
  json_t *obj = get_object(r, audit, "audit", "witness", 0), *peers, *item;
  size_t i;

  if(!obj)
    return;
  w->enabled = 1;
  w->key = get_path(r, obj, "audit.witness", "key", 1);
  if(json_object_get(obj, "state"))
    w->state = get_string(r, obj, "audit.witness", "state", NULL);
  w->ca = get_path(r, obj, "audit.witness", "ca", 1);
  w->client_cert = get_path(r, obj, "audit.witness", "client_cert", 1);
  w->client_key = get_path(r, obj, "audit.witness", "client_key", 1);
  w->timeout_ms = (int)get_int(r, obj, "audit.witness", "timeout_ms", 5000, 100, 60000);
  check_unknown(r, obj, "audit.witness", known);
  peers = json_object_get(obj, "peers");
  if(!json_is_array(peers) || !json_array_size(peers) ||
     json_array_size(peers) > GW_WITNESS_PEERS_MAX) {
    fail(r, "audit.witness.peers", "must be an array of 1 to %d peers", GW_WITNESS_PEERS_MAX);
    return;
  }
  w->peers = gw_calloc(json_array_size(peers), sizeof(*w->peers));
  json_array_foreach(peers, i, item) {
    struct gw_witness_peer_config *p = &w->peers[i];
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "audit.witness.peers[%zu]", i);
    if(!json_is_object(item)) {
      fail(r, prefix, "must be an object");
      return;
    }
    w->n_peers++;
    p->gateway_id = get_string(r, item, prefix, "gateway_id", NULL);
    p->url = get_string(r, item, prefix, "url", NULL);
    p->log_key = get_path(r, item, prefix, "log_key", 1);
    p->witness_key = get_path(r, item, prefix, "witness_key", 1);
    check_unknown(r, item, prefix, pknown);
    if(p->url && (strncmp(p->url, "https://", 8) || strchr(p->url + 8, '/'))) {
      char f[96];
      snprintf(f, sizeof(f), "%s.url", prefix);
      fail(r, f, "must be https://host:port (the peer's API, no path)");
    }
    if(p->gateway_id && strpbrk(p->gateway_id, " +/")) {
      char f[96];
      snprintf(f, sizeof(f), "%s.gateway_id", prefix);
      fail(r, f, "must not contain a space, '+' or '/'");
    }
  }
}

static void read_audit(struct reader *r, json_t *root, struct gw_config *cfg)
{
  static const char *const known[] = { "dir", "checkpoint_key", "seal_cert",
                                       "checkpoint_interval_s", "preallocate", "witness", NULL };
  json_t *obj = get_object(r, root, "", "audit", 1);
  if(!obj)
    return;
  cfg->audit_dir = get_dir(r, obj, "audit", "dir", 0);
  cfg->audit_checkpoint_key = get_path(r, obj, "audit", "checkpoint_key", 1);
  cfg->audit_seal_cert = get_path(r, obj, "audit", "seal_cert", 1);
  cfg->audit_checkpoint_interval_s = (int)get_int(r, obj, "audit", "checkpoint_interval_s",
                                                  60, 1, 86400);
  cfg->audit_preallocate = get_bool(r, obj, "audit", "preallocate", 1);
  read_witness(r, obj, cfg);
  check_unknown(r, obj, "audit", known);
}

static void read_cache(struct reader *r, json_t *root, struct gw_config *cfg)
{
  static const char *const known[] = { "max_bytes", NULL };
  json_t *obj = get_object(r, root, "", "cache", 0);
  cfg->cache_max_bytes = 256u * 1024 * 1024;
  if(!obj)
    return;
  cfg->cache_max_bytes = (size_t)get_int(r, obj, "cache", "max_bytes",
                                         (long long)cfg->cache_max_bytes, 1024 * 1024,
                                         64LL * 1024 * 1024 * 1024);
  check_unknown(r, obj, "cache", known);
}

static void read_listen(struct reader *r, json_t *root, const char *key,
                        struct gw_listen *out, const char *dflt_addr, int dflt_port)
{
  static const char *const known[] = { "address", "port", NULL };
  unsigned char buf[sizeof(struct in6_addr)];
  json_t *obj = get_object(r, root, "", key, 0);
  char path[GW_JREAD_FIELD_MAX];

  out->address = NULL;
  out->port = dflt_port;
  if(!obj) {
    out->address = gw_strdup(dflt_addr);
    return;
  }
  out->address = get_string(r, obj, key, "address", dflt_addr);
  out->port = (int)get_int(r, obj, key, "port", dflt_port, 0, 65535);
  check_unknown(r, obj, key, known);
  join(path, sizeof(path), key, "address");
  if(out->address && inet_pton(AF_INET, out->address, buf) != 1 &&
     inet_pton(AF_INET6, out->address, buf) != 1)
    fail(r, path, "must be a numeric IPv4 or IPv6 address (got \"%s\")",
         out->address);
}

static void read_tls(struct reader *r, json_t *root, struct gw_config *cfg)
{
  static const char *const known[] = { "cert", "key", "client_ca",
                                       "require_client_cert", NULL };
  json_t *tls = get_object(r, root, "", "tls", 1);
  if(!tls)
    return;
  cfg->tls_cert = get_path(r, tls, "tls", "cert", 1);
  cfg->tls_key = get_path(r, tls, "tls", "key", 1);
  cfg->tls_client_ca = get_path(r, tls, "tls", "client_ca", 0);
  cfg->require_client_cert = get_bool(r, tls, "tls", "require_client_cert", 1);
  if(cfg->require_client_cert && !cfg->tls_client_ca)
    fail(r, "tls.client_ca", "missing: required when tls.require_client_cert is true");
  check_unknown(r, tls, "tls", known);
}

static void read_limits(struct reader *r, json_t *root, struct gw_limits *l)
{
  static const char *const known[] = {
    "max_header_bytes", "max_headers", "max_body_bytes", "max_connections",
    "header_timeout_ms", "idle_timeout_ms", "read_timeout_ms",
    "max_requests_per_connection_per_s", "max_requests_per_connection", NULL };
  json_t *obj = get_object(r, root, "", "limits", 0);

  l->max_header_bytes = 16 * 1024;
  l->max_headers = 64;
  l->max_body_bytes = 64 * 1024;
  l->max_connections = 10000;
  l->header_timeout_ms = 10000;
  l->idle_timeout_ms = 60000;
  l->read_timeout_ms = 10000;
  l->max_requests_per_connection_per_s = 1000;
  l->max_requests_per_connection = 10000;
  if(!obj)
    return;
  l->max_header_bytes = (size_t)get_int(r, obj, "limits", "max_header_bytes",
                                        (long long)l->max_header_bytes, 1024, 1024 * 1024);
  l->max_headers = (int)get_int(r, obj, "limits", "max_headers", l->max_headers, 8, 1024);
  l->max_body_bytes = (size_t)get_int(r, obj, "limits", "max_body_bytes",
                                      (long long)l->max_body_bytes, 1024, 16 * 1024 * 1024);
  l->max_connections = (int)get_int(r, obj, "limits", "max_connections",
                                    l->max_connections, 1, 1000000);
  l->header_timeout_ms = (int)get_int(r, obj, "limits", "header_timeout_ms",
                                      l->header_timeout_ms, 100, 600000);
  l->idle_timeout_ms = (int)get_int(r, obj, "limits", "idle_timeout_ms",
                                    l->idle_timeout_ms, 100, 3600000);
  l->read_timeout_ms = (int)get_int(r, obj, "limits", "read_timeout_ms",
                                    l->read_timeout_ms, 100, 600000);
  l->max_requests_per_connection_per_s =
    (int)get_int(r, obj, "limits", "max_requests_per_connection_per_s",
                 l->max_requests_per_connection_per_s, 0, 1000000);
  l->max_requests_per_connection =
    (int)get_int(r, obj, "limits", "max_requests_per_connection",
                 l->max_requests_per_connection, 0, 1000000000);
  check_unknown(r, obj, "limits", known);
}

static void read_upstream(struct reader *r, json_t *root, struct gw_upstream_limits *u)
{
  static const char *const known[] = {
    "max_connections_per_agency", "max_connections", "max_idle_connections",
    "max_idle_age_s", "max_exchanges", "max_connecting", NULL };
  json_t *obj = get_object(r, root, "", "upstream", 0);

  u->max_connections_per_agency = 1024;
  u->max_connections = 4096;
  u->max_idle_connections = 1024;
  u->max_idle_age_s = 55;
  u->max_exchanges = 8192;
  u->max_connecting = 8;
  if(!obj)
    return;
  u->max_connections_per_agency = (long)get_int(r, obj, "upstream", "max_connections_per_agency",
                                                u->max_connections_per_agency, 1, 100000);
  u->max_connections = (long)get_int(r, obj, "upstream", "max_connections",
                                     u->max_connections, 1, 100000);
  u->max_idle_connections = (long)get_int(r, obj, "upstream", "max_idle_connections",
                                          u->max_idle_connections, 1, 100000);
  u->max_idle_age_s = (long)get_int(r, obj, "upstream", "max_idle_age_s",
                                    u->max_idle_age_s, 1, 3600);
  u->max_exchanges = (long)get_int(r, obj, "upstream", "max_exchanges",
                                   u->max_exchanges, 1, 1000000);
  u->max_connecting = (long)get_int(r, obj, "upstream", "max_connecting",
                                    u->max_connecting, 1, 100000);
  if(!r->jr.failed && u->max_connections_per_agency > u->max_connections)
    fail(r, "upstream.max_connections_per_agency", "must not exceed upstream.max_connections (%ld)",
         u->max_connections);
  check_unknown(r, obj, "upstream", known);
}

static void read_query(struct reader *r, json_t *root, struct gw_config *cfg)
{
  static const char *const known[] = { "deadline_default_ms", "deadline_max_ms",
                                       "max_age_default_s", "predicate_probe_window_s", NULL };
  json_t *obj = get_object(r, root, "", "query", 0);
  cfg->predicate_probe_window_s = 86400;
  cfg->deadline_default_ms = 3000;
  cfg->deadline_max_ms = 10000;
  cfg->max_age_default_s = 86400;
  if(!obj)
    return;
  cfg->max_age_default_s = (int)get_int(r, obj, "query", "max_age_default_s",
                                        cfg->max_age_default_s, 0, 31 * 86400);
  cfg->deadline_max_ms = (int)get_int(r, obj, "query", "deadline_max_ms",
                                      cfg->deadline_max_ms, 10, 120000);
  cfg->deadline_default_ms = (int)get_int(r, obj, "query", "deadline_default_ms",
                                          cfg->deadline_default_ms, 10, 120000);
  cfg->predicate_probe_window_s = (int)get_int(r, obj, "query", "predicate_probe_window_s",
                                               cfg->predicate_probe_window_s, 0, 31 * 86400);
  if(!r->jr.failed && cfg->deadline_default_ms > cfg->deadline_max_ms)
    fail(r, "query.deadline_default_ms", "must not exceed query.deadline_max_ms (%d)",
         cfg->deadline_max_ms);
  check_unknown(r, obj, "query", known);
}

/* A secret given as "env:NAME" or "file:PATH" (never inline in the file);
 * a file's trailing newline is not part of it. */
static char *get_secret(struct reader *r, json_t *parent, const char *prefix, const char *key)
{
  char path[GW_JREAD_FIELD_MAX], buf[512];
  char *spec, *out = NULL;
  join(path, sizeof(path), prefix, key);
  if(!json_object_get(parent, key))
    return NULL;
  spec = get_string(r, parent, prefix, key, NULL);
  if(!spec)
    return NULL;
  if(!strncmp(spec, "env:", 4)) {
    const char *v = getenv(spec + 4);
    if(!v || !*v)
      fail(r, path, "environment variable %s is not set", spec + 4);
    else
      out = gw_strdup(v);
  }
  else if(!strncmp(spec, "file:", 5)) {
    const char *f = spec + 5;
    char full[PATH_MAX];
    FILE *fp;
    size_t n;
    if(f[0] != '/' && snprintf(full, sizeof(full), "%s/%s", r->dir, f) < (int)sizeof(full))
      f = full;
    fp = fopen(f, "rb");
    if(!fp)
      fail(r, path, "cannot read %s: %s", f, strerror(errno));
    else {
      n = fread(buf, 1, sizeof(buf) - 1, fp);
      fclose(fp);
      while(n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
      buf[n] = '\0';
      if(!n || n >= sizeof(buf) - 2)
        fail(r, path, "%s: must hold one secret of 1 to 500 bytes", f);
      else
        out = gw_strdup(buf);
      explicit_bzero(buf, sizeof(buf));
    }
  }
  else
    fail(r, path, "must be \"env:NAME\" or \"file:PATH\" (no secret inline in the file)");
  gw_free(spec);
  return out;
}

static void read_cluster(struct reader *r, json_t *root, struct gw_config *cfg)
{
  static const char *const known[] = { "redis", "instances", NULL };
  static const char *const rknown[] = { "host", "port", "user", "password", "key_prefix",
                                        "seal_key", "connect_timeout_ms", "command_timeout_ms",
                                        "retry_ms", "wait_poll_ms", NULL };
  struct gw_cluster_config *c = &cfg->cluster;
  json_t *obj = get_object(r, root, "", "cluster", 0), *red;
  unsigned char a[16];
  c->instances = 1;
  if(!obj)
    return;
  c->instances = (int)get_int(r, obj, "cluster", "instances", 1, 1, 64);
  red = get_object(r, obj, "cluster", "redis", 0);
  if(red) {
    c->enabled = 1;
    c->host = get_string(r, red, "cluster.redis", "host", NULL);
    if(c->host && inet_pton(AF_INET, c->host, a) != 1 && inet_pton(AF_INET6, c->host, a) != 1)
      fail(r, "cluster.redis.host", "must be a numeric IPv4 or IPv6 address (got \"%s\")",
           c->host);
    c->port = (int)get_int(r, red, "cluster.redis", "port", 6379, 1, 65535);
    if(json_object_get(red, "user"))
      c->user = get_string(r, red, "cluster.redis", "user", NULL);
    c->password = get_secret(r, red, "cluster.redis", "password");
    if(c->user && !c->password)
      fail(r, "cluster.redis.password", "missing (an ACL user needs its password)");
    c->key_prefix = get_string(r, red, "cluster.redis", "key_prefix", "gw:");
    c->seal_key = get_path(r, red, "cluster.redis", "seal_key", 1);
    c->connect_timeout_ms = (int)get_int(r, red, "cluster.redis", "connect_timeout_ms", 500, 10,
                                         10000);
    c->command_timeout_ms = (int)get_int(r, red, "cluster.redis", "command_timeout_ms", 250, 5,
                                         5000);
    c->retry_ms = (int)get_int(r, red, "cluster.redis", "retry_ms", 500, 50, 60000);
    c->wait_poll_ms = (int)get_int(r, red, "cluster.redis", "wait_poll_ms", 25, 5, 1000);
    check_unknown(r, red, "cluster.redis", rknown);
  }
  check_unknown(r, obj, "cluster", known);
}

int gw_config_load(const char *path, struct gw_config **out, char *err, size_t errlen)
{
  static const char *const known[] = { "gateway_id", "workers", "log_level",
                                       "listen", "ops_listen", "tls", "query",
                                       "limits", "adapters_dir", "schemas_dir", "acl", "predicates_dir",
                                       "keys", "cache", "audit", "upstream", "crypto", "cluster",
                                       "purposes", NULL };
  struct reader r = { .jr = { .file = path, .err = err, .errlen = errlen } };
  struct gw_config *cfg = gw_calloc(1, sizeof(*cfg));
  json_error_t jerr;
  json_t *root = NULL;
  char *level = NULL;
  const char *slash;
  struct stat st;
  FILE *fp;

  *out = NULL;
  err[0] = '\0';
  cfg->path = gw_strdup(path);
  slash = strrchr(path, '/');
  r.dir = slash ? gw_strndup(path, (size_t)((slash - path) ? (slash - path) : 1))
                : gw_strdup(".");

  fp = fopen(path, "rb");
  if(!fp) {
    snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    goto fail;
  }
  if(fstat(fileno(fp), &st) == 0 && st.st_size > CONFIG_MAX_BYTES) {
    snprintf(err, errlen, "%s: file larger than %d bytes", path, CONFIG_MAX_BYTES);
    fclose(fp);
    goto fail;
  }
  root = json_loadf(fp, JSON_REJECT_DUPLICATES, &jerr);
  fclose(fp);
  if(!root) {
    if(!err[0])
      snprintf(err, errlen, "%s: line %d, column %d: %s", path, jerr.line,
               jerr.column, jerr.text);
    goto fail;
  }
  if(!json_is_object(root)) {
    snprintf(err, errlen, "%s: (top level): must be a JSON object", path);
    goto fail;
  }

  cfg->gateway_id = get_string(&r, root, "", "gateway_id", NULL);
  cfg->workers = (int)get_int(&r, root, "", "workers", 0, 0, 256);
  level = get_string(&r, root, "", "log_level", "info");
  if(level && gw_log_level_parse(level, &cfg->log_level))
    fail(&r, "log_level", "must be one of debug, info, warn, error (got \"%s\")", level);
  read_listen(&r, root, "listen", &cfg->api, "127.0.0.1", 8443);
  read_listen(&r, root, "ops_listen", &cfg->ops, "127.0.0.1", 9090);
  read_tls(&r, root, cfg);
  read_query(&r, root, cfg);
  read_limits(&r, root, &cfg->limits);
  read_upstream(&r, root, &cfg->upstream);
  cfg->adapters_dir = get_dir(&r, root, "", "adapters_dir", 1);
  cfg->schemas_dir = get_dir(&r, root, "", "schemas_dir", 1);
  cfg->acl_file = get_path(&r, root, "", "acl", 1);
  read_crypto(&r, root, cfg);
  if(json_object_get(root, "predicates_dir"))
    cfg->predicates_dir = get_dir(&r, root, "", "predicates_dir", 1);
  else if(cfg->schemas_dir) {
    /* schemas/facts -> schemas/predicates */
    size_t n = strlen(cfg->schemas_dir) + 16;
    cfg->predicates_dir = gw_malloc(n);
    snprintf(cfg->predicates_dir, n, "%s/../predicates", cfg->schemas_dir);
  }
  /* purposes.json: beside the facts directory unless said otherwise */
  cfg->purposes_file = get_path(&r, root, "", "purposes", 0);
  if(!cfg->purposes_file && cfg->schemas_dir) {
    size_t n = strlen(cfg->schemas_dir) + sizeof("/../purposes.json");
    cfg->purposes_file = gw_malloc(n);
    snprintf(cfg->purposes_file, n, "%s/../purposes.json", cfg->schemas_dir);
  }
  read_keys(&r, root, cfg);
  read_cache(&r, root, cfg);
  read_audit(&r, root, cfg);
  read_cluster(&r, root, cfg);
  check_unknown(&r, root, "", known);
  if(r.jr.failed)
    goto fail;
  if(!cfg->workers) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    cfg->workers = n > 0 ? (int)n : 1;
  }
  json_decref(root);
  gw_free(level);
  cfg->dir = r.dir;
  *out = cfg;
  return 0;

fail:
  json_decref(root);
  gw_free(level);
  gw_free(r.dir);
  gw_config_free(cfg);
  return -1;
}

void gw_config_free(struct gw_config *cfg)
{
  if(!cfg)
    return;
  gw_free(cfg->path);
  gw_free(cfg->gateway_id);
  gw_free(cfg->api.address);
  gw_free(cfg->ops.address);
  gw_free(cfg->tls_cert);
  gw_free(cfg->tls_key);
  gw_free(cfg->tls_client_ca);
  gw_free(cfg->dir);
  gw_free(cfg->adapters_dir);
  gw_free(cfg->schemas_dir);
  gw_free(cfg->acl_file);
  gw_free(cfg->predicates_dir);
  gw_free(cfg->purposes_file);
  gw_free(cfg->attest_key);
  for(size_t i = 0; i < cfg->n_attest_previous; i++)
    gw_free(cfg->attest_previous[i]);
  gw_free(cfg->attest_previous);
  gw_free(cfg->subject_secret);
  gw_free(cfg->audit_dir);
  gw_free(cfg->audit_checkpoint_key);
  gw_free(cfg->audit_seal_cert);
  for(size_t i = 0; i < cfg->witness.n_peers; i++) {
    gw_free(cfg->witness.peers[i].gateway_id);
    gw_free(cfg->witness.peers[i].url);
    gw_free(cfg->witness.peers[i].log_key);
    gw_free(cfg->witness.peers[i].witness_key);
  }
  gw_free(cfg->witness.peers);
  gw_free(cfg->witness.key);
  gw_free(cfg->witness.state);
  gw_free(cfg->witness.ca);
  gw_free(cfg->witness.client_cert);
  gw_free(cfg->witness.client_key);
  gw_free(cfg->crypto.attest_sm2);
  for(size_t i = 0; i < cfg->crypto.n_previous_sm2; i++)
    gw_free(cfg->crypto.previous_sm2[i]);
  gw_free(cfg->crypto.previous_sm2);
  gw_free(cfg->crypto.checkpoint_sm2);
  gw_free(cfg->crypto.sm2_id);
  gw_free(cfg->crypto.seal_cert_sm2);
  gw_free(cfg->cluster.host);
  gw_free(cfg->cluster.user);
  if(cfg->cluster.password)
    explicit_bzero(cfg->cluster.password, strlen(cfg->cluster.password));
  gw_free(cfg->cluster.password);
  gw_free(cfg->cluster.key_prefix);
  gw_free(cfg->cluster.seal_key);
  gw_free(cfg);
}
