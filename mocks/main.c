/*
 * main.c - the mock-agencies command: options, keys, ports file.
 *
 * Start-up does everything that can fail before anything listens for good:
 * it loads the population and every key and secret of the PKI folder, binds
 * every port, and only then writes the ports file, atomically (temp file and
 * rename), so a launcher that sees the file may use every URL in it.
 * `--sample N --seed S` needs no PKI: it prints synthetic subjects and exits.
 * The options are documented in docs/mocks.md.
 */
#include "server.h"

#include "gw/jws.h"

#include <getopt.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef MOCK_DEFAULT_DATA
#define MOCK_DEFAULT_DATA "mocks/data/population.json"
#endif

#define MOCK_MAX_THREADS 64
#define MOCK_MAX_TOKEN_TTL_S 86400

struct options {
  const char *pki;
  const char *data;
  const char *ports_file;
  struct mock_server_config cfg;
  unsigned long sample;
  uint64_t seed;
  int sampling;
  int sign_sm2;                /* --sign sm2: cscse GmSM2, chsi sm2-sm3 (docs/crypto.md) */
};

static const char *const agency_names[MOCK_N_AGENCIES] = {
  "chsi", "mps", "si", "credit", "cscse", "qual", "talent", "fund", "tax"
};

static void usage(FILE *out)
{
  fprintf(out,
    "usage: mock-agencies --pki DIR [--data FILE] [--listen ADDR] [--ports-file FILE]\n"
    "                     [--control-port N] [--port AGENCY=N ...] [--si-token-ttl S]\n"
    "                     [--sign intl|sm2]\n"
    "                     [--threads N] [--verbose]\n"
    "       mock-agencies --sample N [--seed S] [--data FILE]\n"
    "Serves the nine mock agencies (chsi mps si credit cscse qual talent fund tax) on\n"
    "loopback ports, plus a plain-HTTP control endpoint.  See docs/mocks.md.\n");
}

static int parse_long(const char *s, long min, long max, long *out)
{
  char *end;
  long v;

  errno = 0;
  v = strtol(s, &end, 10);
  if(errno || end == s || *end || v < min || v > max)
    return -1;
  *out = v;
  return 0;
}

static int parse_port_opt(struct options *o, const char *arg)
{
  const char *eq = strchr(arg, '=');
  long port;

  if(!eq || parse_long(eq + 1, 0, 65535, &port))
    return -1;
  for(int i = 0; i < MOCK_N_AGENCIES; i++)
    if(strlen(agency_names[i]) == (size_t)(eq - arg) && !strncmp(agency_names[i], arg, (size_t)(eq - arg))) {
      o->cfg.agency_ports[i] = (int)port;
      return 0;
    }
  return -1;
}

static int parse_options(int argc, char **argv, struct options *o)
{
  enum { O_PKI = 1, O_DATA, O_LISTEN, O_PORTS_FILE, O_CONTROL_PORT, O_PORT, O_TTL,
         O_THREADS, O_SAMPLE, O_SEED, O_VERBOSE, O_HELP, O_SIGN };
  static const struct option longopts[] = {
    { "pki", required_argument, NULL, O_PKI },
    { "data", required_argument, NULL, O_DATA },
    { "listen", required_argument, NULL, O_LISTEN },
    { "ports-file", required_argument, NULL, O_PORTS_FILE },
    { "control-port", required_argument, NULL, O_CONTROL_PORT },
    { "port", required_argument, NULL, O_PORT },
    { "si-token-ttl", required_argument, NULL, O_TTL },
    { "threads", required_argument, NULL, O_THREADS },
    { "sign", required_argument, NULL, O_SIGN },
    { "sample", required_argument, NULL, O_SAMPLE },
    { "seed", required_argument, NULL, O_SEED },
    { "verbose", no_argument, NULL, O_VERBOSE },
    { "help", no_argument, NULL, O_HELP },
    { NULL, 0, NULL, 0 }
  };
  long cpus = sysconf(_SC_NPROCESSORS_ONLN), v;
  int opt;

  o->data = MOCK_DEFAULT_DATA;
  o->cfg.listen_addr = "127.0.0.1";
  o->cfg.si_token_ttl_s = 300;
  o->cfg.threads = cpus < 1 ? 1 : cpus > MOCK_MAX_THREADS ? MOCK_MAX_THREADS : (int)cpus;
  while((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    switch(opt) {
    case O_PKI: o->pki = optarg; break;
    case O_DATA: o->data = optarg; break;
    case O_LISTEN: o->cfg.listen_addr = optarg; break;
    case O_PORTS_FILE: o->ports_file = optarg; break;
    case O_CONTROL_PORT:
      if(parse_long(optarg, 0, 65535, &v))
        goto bad;
      o->cfg.control_port = (int)v;
      break;
    case O_PORT:
      if(parse_port_opt(o, optarg))
        goto bad;
      break;
    case O_TTL:
      if(parse_long(optarg, 1, MOCK_MAX_TOKEN_TTL_S, &v))
        goto bad;
      o->cfg.si_token_ttl_s = (int)v;
      break;
    case O_THREADS:
      if(parse_long(optarg, 1, MOCK_MAX_THREADS, &v))
        goto bad;
      o->cfg.threads = (int)v;
      break;
    case O_SIGN:
      /* sm2: cscse's JWS keys are the PKI's SM2 ones (GmSM2), chsi signs
       * its XML-DSig with sm2-sm3 and its SM2 certificate */
      if(strcmp(optarg, "sm2") && strcmp(optarg, "intl"))
        goto bad;
      o->sign_sm2 = !strcmp(optarg, "sm2");
      break;
    case O_SAMPLE:
      if(parse_long(optarg, 0, 100000000, &v))
        goto bad;
      o->sample = (unsigned long)v;
      o->sampling = 1;
      break;
    case O_SEED: {
      char *end;
      errno = 0;
      o->seed = strtoull(optarg, &end, 10);
      if(errno || end == optarg || *end)
        goto bad;
      break;
    }
    case O_VERBOSE: o->cfg.verbose = 1; break;
    case O_HELP: usage(stdout); exit(0);
    default: usage(stderr); return -1;
    }
    continue;
bad:
    fprintf(stderr, "mock-agencies: bad value for --%s: %s\n", longopts[opt - 1].name, optarg);
    return -1;
  }
  if(optind < argc) {
    fprintf(stderr, "mock-agencies: unexpected argument %s\n", argv[optind]);
    return -1;
  }
  if(!o->sampling && !o->pki) {
    fprintf(stderr, "mock-agencies: --pki DIR is required\n");
    usage(stderr);
    return -1;
  }
  return 0;
}

/* ---- keys and secrets ------------------------------------------------------- */

static int path_in(char *out, size_t cap, const char *dir, const char *rel)
{
  int n = snprintf(out, cap, "%s/%s", dir, rel);
  return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static EVP_PKEY *load_key(const char *dir, const char *rel)
{
  char path[4096];
  FILE *f;
  EVP_PKEY *k = NULL;

  if(path_in(path, sizeof(path), dir, rel) || !(f = fopen(path, "r"))) {
    fprintf(stderr, "mock-agencies: cannot open %s/%s: %s\n", dir, rel, strerror(errno));
    return NULL;
  }
  k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
  fclose(f);
  if(!k)
    fprintf(stderr, "mock-agencies: %s: not a PEM private key\n", path);
  return k;
}

static X509 *load_cert(const char *dir, const char *rel)
{
  char path[4096];
  FILE *f;
  X509 *x;

  if(path_in(path, sizeof(path), dir, rel) || !(f = fopen(path, "r"))) {
    fprintf(stderr, "mock-agencies: cannot open %s/%s: %s\n", dir, rel, strerror(errno));
    return NULL;
  }
  x = PEM_read_X509(f, NULL, NULL, NULL);
  fclose(f);
  if(!x)
    fprintf(stderr, "mock-agencies: %s: not a PEM certificate\n", path);
  return x;
}

/* A secret file: the whole content, trailing newlines dropped. */
static int load_secret(const char *dir, const char *rel, char *out, size_t cap)
{
  char path[4096];
  FILE *f;
  size_t n;

  if(path_in(path, sizeof(path), dir, rel) || !(f = fopen(path, "r"))) {
    fprintf(stderr, "mock-agencies: cannot open %s/%s: %s\n", dir, rel, strerror(errno));
    return -1;
  }
  n = fread(out, 1, cap, f);
  fclose(f);
  if(n == cap) {
    fprintf(stderr, "mock-agencies: %s: longer than %zu bytes\n", path, cap - 1);
    return -1;
  }
  while(n && (out[n - 1] == '\n' || out[n - 1] == '\r'))
    n--;
  out[n] = '\0';
  if(!n || strlen(out) != n) {
    fprintf(stderr, "mock-agencies: %s: empty or contains NUL\n", path);
    return -1;
  }
  return 0;
}

/* The cscse kid is the RFC 7638 thumbprint of its public key, as the
 * gateway's own JWS module computes it. */
static int cscse_kid(const char *pki, const char *file, char *out, size_t cap)
{
  char path[4096], tp[GW_JWS_THUMBPRINT_LEN + 1];
  struct gw_jws_key *key = NULL;
  enum gw_jws_result r;

  if(path_in(path, sizeof(path), pki, file))
    return -1;
  r = gw_jws_key_load_pem(path, &key);
  if(r == GW_JWS_OK)
    r = gw_jws_key_thumbprint(key, tp);
  gw_jws_key_free(key);
  if(r != GW_JWS_OK || strlen(tp) >= cap) {
    fprintf(stderr, "mock-agencies: %s: %s\n", path,
            r != GW_JWS_OK ? gw_jws_strerror(r) : "thumbprint too long");
    return -1;
  }
  memcpy(out, tp, strlen(tp) + 1);
  return 0;
}

static void keys_free(struct mock_keys *k)
{
  EVP_PKEY_free(k->chsi_key);
  X509_free(k->chsi_cert);
  EVP_PKEY_free(k->wrong_key);
  X509_free(k->wrong_cert);
  EVP_PKEY_free(k->cscse_key);
  EVP_PKEY_free(k->cscse_wrong_key);
  memset(k, 0, sizeof(*k));
}

static int keys_load(const char *pki, int sm2, struct mock_keys *k)
{
  const char *cscse = sm2 ? "signing/cscse-sm2.key" : "signing/cscse.key";
  memset(k, 0, sizeof(*k));
  /* sm2: chsi's certificate is from the SM2 CA, its wrong signer's from an
   * unknown SM2 CA (certs/gen-pki.sh) */
  if(!(k->chsi_key = load_key(pki, sm2 ? "signing/chsi-sm2.key" : "signing/chsi.key")) ||
     !(k->chsi_cert = load_cert(pki, sm2 ? "signing/chsi-sm2.pem" : "signing/chsi.pem")) ||
     !(k->wrong_key = load_key(pki, sm2 ? "signing/rogue-sm2.key" : "signing/rogue.key")) ||
     !(k->wrong_cert = load_cert(pki, sm2 ? "signing/rogue-sm2.pem" : "signing/rogue.pem")) ||
     !(k->cscse_key = load_key(pki, cscse)) ||
     !(k->cscse_wrong_key = load_key(pki, sm2 ? "signing/rogue-jws-sm2.key"
                                              : "signing/rogue-jws.key")) ||
     load_secret(pki, "secrets/si-client-id", k->si_client_id, sizeof(k->si_client_id)) ||
     load_secret(pki, "secrets/si-client-secret", k->si_client_secret, sizeof(k->si_client_secret)) ||
     load_secret(pki, "secrets/qual-api-key", k->qual_api_key, sizeof(k->qual_api_key)) ||
     load_secret(pki, "secrets/talent-api-key", k->talent_api_key, sizeof(k->talent_api_key)) ||
     load_secret(pki, "secrets/fund-app-id", k->fund_app_id, sizeof(k->fund_app_id)) ||
     load_secret(pki, "secrets/fund-app-secret", k->fund_app_secret, sizeof(k->fund_app_secret)) ||
     load_secret(pki, "secrets/tax-username", k->tax_username, sizeof(k->tax_username)) ||
     load_secret(pki, "secrets/tax-password", k->tax_password, sizeof(k->tax_password)))
    goto fail;
  if(cscse_kid(pki, cscse, k->cscse_kid, sizeof(k->cscse_kid)))
    goto fail;
  return 0;
fail:
  keys_free(k);
  return -1;
}

/* ---- ports file ------------------------------------------------------------------ */

static void url_host(const char *addr, char *out, size_t cap)
{
  snprintf(out, cap, strchr(addr, ':') ? "[%s]" : "%s", addr);
}

static int write_ports_file(struct mock_server *srv, const char *path)
{
  char host[80], url[160], tmp[4096];
  json_t *doc = json_object(), *agencies = json_object();
  int rc = -1, n;

  url_host(mock_server_listen_addr(srv), host, sizeof(host));
  snprintf(url, sizeof(url), "http://%s:%d", host, mock_server_control_port(srv));
  if(!doc || !agencies || json_object_set_new(doc, "control_url", json_string(url)) ||
     json_object_set_new(doc, "pid", json_integer((json_int_t)getpid())) ||
     json_object_set(doc, "agencies", agencies))
    goto out;
  for(int i = 0; i < MOCK_N_AGENCIES; i++) {
    struct mock_agency *ag = mock_server_agency(srv, (enum mock_agency_id)i);
    snprintf(url, sizeof(url), "https://%s:%d%s", host, ag->port, ag->base_path);
    if(json_object_set_new(agencies, ag->ops->name,
                           json_pack("{s:s, s:i}", "url", url, "port", ag->port)))
      goto out;
  }
  if(!path) {
    rc = json_dumpf(doc, stdout, JSON_COMPACT) || fputc('\n', stdout) == EOF || fflush(stdout);
    goto out;
  }
  n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
  if(n < 0 || (size_t)n >= sizeof(tmp) ||
     json_dump_file(doc, tmp, JSON_INDENT(2)) || rename(tmp, path)) {
    fprintf(stderr, "mock-agencies: cannot write %s: %s\n", path, strerror(errno));
    unlink(tmp);
    goto out;
  }
  rc = 0;
out:
  json_decref(agencies);
  json_decref(doc);
  return rc;
}

int main(int argc, char **argv)
{
  struct options o;
  struct mock_population *pop = NULL;
  struct mock_keys keys;
  struct mock_server *srv = NULL;
  char err[512];
  int rc = 1;

  memset(&o, 0, sizeof(o));
  memset(&keys, 0, sizeof(keys));
  /* Seed jansson's hash tables here, before any worker thread builds JSON. */
  json_object_seed(0);
  if(parse_options(argc, argv, &o))
    return 2;
  if(mock_population_load(o.data, &pop, err, sizeof(err))) {
    fprintf(stderr, "mock-agencies: %s\n", err);
    return 1;
  }
  if(o.sampling) {
    rc = mock_population_sample(pop, o.sample, o.seed, stdout) ? 1 : 0;
    goto out;
  }
  /* Writes to a client that went away must be errors, not a dead process. */
  signal(SIGPIPE, SIG_IGN);
  if(keys_load(o.pki, o.sign_sm2, &keys))
    goto out;
  o.cfg.pki_dir = o.pki;
  o.cfg.pop = pop;
  o.cfg.keys = &keys;
  if(mock_server_start(&srv, &o.cfg, err, sizeof(err))) {
    fprintf(stderr, "mock-agencies: %s\n", err);
    goto out;
  }
  if(write_ports_file(srv, o.ports_file))
    goto out;
  fprintf(stderr, "mock-agencies: ready: control on %s port %d, %d worker threads, "
          "%zu curated people, si token ttl %d s\n", o.cfg.listen_addr,
          mock_server_control_port(srv), o.cfg.threads, mock_population_count(pop),
          o.cfg.si_token_ttl_s);
  rc = mock_server_run(srv) ? 1 : 0;
  fprintf(stderr, "mock-agencies: stopped\n");
out:
  mock_server_free(srv);
  keys_free(&keys);
  mock_population_free(pop);
  return rc;
}
