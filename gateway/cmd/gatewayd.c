/*
 * gatewayd.c - the gateway daemon: start-up, workers, signals.
 *
 * The main thread reads the config, builds the shared state (adapters,
 * ACL, keys, cache, audit log), binds every socket (so a bad address fails
 * before anything starts), starts the workers, then runs its own event_base
 * for signals, checkpoints and the ops listener (/healthz, /readyz,
 * /metrics).  Workers serve the HTTPS API.  SIGHUP reloads adapters, ACL,
 * keys and the TLS certificate; SIGTERM and SIGINT drain (stop accepting,
 * answer what was accepted), then close the audit log and free everything.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <openssl/ssl.h>

#include "gw/admin.h"
#include "gw/alloc.h"
#include "gw/app.h"
#include "gw/audit.h"
#include "gw/audit_http.h"
#include "gw/cluster.h"
#include "gw/config_load.h"
#include "gw/console.h"
#include "gw/evidence.h"
#include "gw/recheck.h"
#include "gw/front.h"
#include "gw/log.h"
#include "gw/obs_collect.h"
#include "gw/observe.h"
#include "gw/query.h"
#include "gw/tls.h"
#include "gw/worker.h"
#include "gw/witness.h"

#define GATEWAYD_VERSION "0.1.0"

struct daemon {
  struct gw_config *cfg;
  struct gw_app *app;
  struct event_base *base;
  struct event *checkpoint;
  struct event *drain;         /* polls until the API listener is quiet */
  struct gw_workers *workers;
  struct gw_server *api;
  struct timespec drain_started;
  int draining;
  SSL_CTX *old_ssl[64];        /* contexts made by reloads, freed at exit */
  size_t n_old_ssl;
  atomic_int ready;
  int api_port, ops_port;
};

static void health(struct gw_req *req, void *arg)
{
  (void)arg;
  gw_req_respond(req, 200, "application/json", "{\"status\":\"ok\"}", 15);
}

static void readiness(struct gw_req *req, void *arg)
{
  struct daemon *d = arg;
  char why[512];
  if(!atomic_load(&d->ready))
    gw_req_problem(req, 503, "not-ready", "the gateway is starting or stopping");
  else if(d->app && d->app->audit && !gw_audit_ready(d->app->audit, why, sizeof(why)))
    gw_req_problem(req, 503, "audit-unavailable", why);
  else if(d->app && d->app->cluster && !gw_redis_health_ok(gw_cluster_health(d->app->cluster))) {
    /* Still ready: every instance answers on its local state without Redis. */
    static const char body[] =
      "{\"status\":\"ready\",\"degraded\":\"redis\",\"detail\":\"the cluster's Redis is "
      "unreachable or slow: cache, single-flight and agency budgets are local until it is back\"}";
    gw_req_respond(req, 200, "application/json", body, sizeof(body) - 1);
  }
  else
    gw_req_respond(req, 200, "application/json", "{\"status\":\"ready\"}", 18);
}

static void metrics(struct gw_req *req, void *arg)
{
  size_t len;
  char *text = gw_obs_render(&len);
  (void)arg;
  if(!text) {
    gw_req_problem(req, 500, "internal", "cannot render the metrics");
    return;
  }
  gw_req_respond(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
  gw_free(text);
}

static void *worker_init(struct event_base *base, void *arg)
{
  return gw_worker_ctx_new(arg, base);
}

static void worker_fini(void *ctx)
{
  gw_worker_ctx_free(ctx);
}

/* Signed checkpoints at the configured interval, made off the loop. */
static void on_checkpoint(evutil_socket_t fd, short what, void *arg)
{
  struct daemon *d = arg;
  enum gw_audit_result r;
  (void)fd; (void)what;
  r = gw_audit_checkpoint_async(d->app->audit);
  if(r != GW_AUDIT_OK)
    gw_log(GW_LOG_WARN, "checkpoint_failed", "%s", gw_audit_strerror(r));
}

/* How long a drain waits for answers in progress: the longest deadline a
 * query may have, twice (agency answer, then the audit commit). */
static long drain_grace_ms(const struct daemon *d)
{
  long ms = 2L * d->cfg->deadline_max_ms;
  return ms > 60000 ? 60000 : ms;
}

static void on_drain_tick(evutil_socket_t fd, short what, void *arg)
{
  struct daemon *d = arg;
  struct timespec now;
  long waited;
  int open;
  (void)fd; (void)what;
  clock_gettime(CLOCK_MONOTONIC, &now);
  waited = (long)(now.tv_sec - d->drain_started.tv_sec) * 1000 +
           (now.tv_nsec - d->drain_started.tv_nsec) / 1000000;
  open = gw_server_open_connections(d->api);
  if(open && waited < drain_grace_ms(d))
    return;
  if(open)
    gw_log(GW_LOG_WARN, "drain_timeout", "%d connections still open after %ld ms", open, waited);
  else
    gw_log(GW_LOG_INFO, "drained", "every accepted request answered in %ld ms", waited);
  event_del(d->drain);
  event_base_loopexit(d->base, NULL);
}

/* SIGTERM/SIGINT: stop accepting, answer every accepted request (within a
 * grace period), then stop; the audit log is made durable at close.  A
 * second signal stops at once. */
static void on_stop(evutil_socket_t sig, short what, void *arg)
{
  struct daemon *d = arg;
  struct timeval tick = { 0, 20000 };
  (void)what;
  atomic_store(&d->ready, 0);
  if(d->draining) {
    gw_log(GW_LOG_WARN, "stopping", "signal %d again: stopping without waiting", (int)sig);
    event_base_loopexit(d->base, NULL);
    return;
  }
  d->draining = 1;
  gw_log(GW_LOG_INFO, "stopping", "signal %d: draining", (int)sig);
  clock_gettime(CLOCK_MONOTONIC, &d->drain_started);
  gw_workers_drain(d->workers);
  d->drain = event_new(d->base, -1, EV_PERSIST, on_drain_tick, d);
  if(!d->drain || event_add(d->drain, &tick))
    event_base_loopexit(d->base, NULL);
}

/* SIGHUP: re-read adapters and ACL; a broken set is refused and logged,
 * and the running one keeps serving. */
static void on_hup(evutil_socket_t sig, short what, void *arg)
{
  struct daemon *d = arg;
  char err[1024];
  SSL_CTX *ssl;
  (void)sig; (void)what;
  /* certificates first: nothing changes unless everything loads */
  ssl = gw_tls_server_ctx_new(d->cfg, err, sizeof(err));
  if(!ssl) {
    gw_log(GW_LOG_ERROR, "reload_refused", "tls: %s", err);
    return;
  }
  if(gw_app_reload(d->app, "sighup", err, sizeof(err))) {
    SSL_CTX_free(ssl);
    gw_log(GW_LOG_ERROR, "reload_refused", "%s", err);
    return;
  }
  /* Connections already open keep the context they started with; every
   * context stays allocated until exit (rotations are rare). */
  if(d->n_old_ssl < sizeof(d->old_ssl) / sizeof(d->old_ssl[0])) {
    d->old_ssl[d->n_old_ssl++] = ssl;
    (void)gw_server_set_ssl(d->api, ssl);
    gw_log(GW_LOG_INFO, "reloaded", "adapters, ACL, attestation keys and TLS certificates re-read");
  }
  else {
    SSL_CTX_free(ssl);
    gw_log(GW_LOG_WARN, "reloaded", "adapters, ACL and keys re-read; TLS certificates kept "
           "(restart to rotate them again)");
  }
}

/* Writes {"api": P, "ops": P} atomically, for tests and the stack launcher
 * that start the gateway on port 0. */
static int write_ports_file(const char *path, int api, int ops)
{
  char tmp[4096];
  FILE *fp;
  if(snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
    return -1;
  fp = fopen(tmp, "w");
  if(!fp)
    return -1;
  fprintf(fp, "{\"api\": %d, \"ops\": %d}\n", api, ops);
  if(fclose(fp) || rename(tmp, path))
    return -1;
  return 0;
}

static void usage(FILE *fp)
{
  fprintf(fp,
          "usage: gatewayd --config FILE [--check-config] [--ports-file FILE]\n"
          "  --config FILE      JSON configuration (see docs/operations.md)\n"
          "  --check-config     validate the configuration and exit (0 = valid)\n"
          "  --ports-file FILE  after binding, write the bound ports as JSON\n"
          "  --version          print the version and exit\n");
}

int main(int argc, char **argv)
{
  static const struct option opts[] = {
    { "config", required_argument, NULL, 'c' },
    { "check-config", no_argument, NULL, 'k' },
    { "ports-file", required_argument, NULL, 'p' },
    { "version", no_argument, NULL, 'V' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 }
  };
  struct daemon d;
  const char *config_path = NULL, *ports_file = NULL;
  int check_only = 0, opt, rc = 1;
  char err[1024];
  SSL_CTX *ssl = NULL;
  evutil_socket_t *fds = NULL, ops_fd = -1;
  struct gw_server *api = NULL, *ops = NULL;
  struct gw_listener *ops_listener = NULL;
  struct gw_workers *workers = NULL;
  struct event *sig_term = NULL, *sig_int = NULL, *sig_hup = NULL;
  struct gw_route api_routes[29], ops_routes[4];
  struct gw_console console;
  struct gw_worker_hooks hooks;

  memset(&d, 0, sizeof(d));
  while((opt = getopt_long(argc, argv, "c:kp:Vh", opts, NULL)) != -1) {
    switch(opt) {
    case 'c': config_path = optarg; break;
    case 'k': check_only = 1; break;
    case 'p': ports_file = optarg; break;
    case 'V': printf("gatewayd %s\n", GATEWAYD_VERSION); return 0;
    case 'h': usage(stdout); return 0;
    default: usage(stderr); return 2;
    }
  }
  if(!config_path || optind != argc) {
    usage(stderr);
    return 2;
  }
  if(gw_config_load(config_path, &d.cfg, err, sizeof(err))) {
    fprintf(stderr, "%s\n", err);
    return 2;
  }
  gw_log_set_level(d.cfg->log_level);
  ssl = gw_tls_server_ctx_new(d.cfg, err, sizeof(err));
  if(!ssl) {
    fprintf(stderr, "%s: %s\n", config_path, err);
    rc = 2;
    goto out;
  }
  d.app = gw_app_new(d.cfg, check_only, err, sizeof(err));
  if(!d.app) {
    fprintf(stderr, "%s: %s\n", config_path, err);
    rc = 2;
    goto out;
  }
  if(check_only) {
    printf("%s: ok\n", config_path);
    rc = 0;
    goto out;
  }

  signal(SIGPIPE, SIG_IGN);
  if(evthread_use_pthreads()) {
    gw_log(GW_LOG_ERROR, "startup_failed", "libevent without pthreads support");
    goto out;
  }

  /* Bind everything before starting anything. */
  fds = gw_calloc((size_t)d.cfg->workers, sizeof(*fds));
  for(int i = 0; i < d.cfg->workers; i++) {
    int port;
    if(gw_listen_socket(d.cfg->api.address, i ? d.api_port : d.cfg->api.port,
                        &fds[i], &port, err, sizeof(err))) {
      gw_log(GW_LOG_ERROR, "startup_failed", "listen: %s", err);
      for(int j = 0; j < i; j++)
        close(fds[j]);
      goto out;
    }
    d.api_port = port;
  }
  if(gw_listen_socket(d.cfg->ops.address, d.cfg->ops.port, &ops_fd, &d.ops_port,
                      err, sizeof(err))) {
    gw_log(GW_LOG_ERROR, "startup_failed", "ops listen: %s", err);
    for(int j = 0; j < d.cfg->workers; j++)
      close(fds[j]);
    goto out;
  }

  api_routes[0] = (struct gw_route){ "GET", "/healthz", health, &d };
  api_routes[1] = (struct gw_route){ "GET", "/readyz", readiness, &d };
  api_routes[2] = (struct gw_route){ "POST", "/v1/facts/query", gw_query_handle, d.app };
  api_routes[3] = (struct gw_route){ "GET", "/v1/facts/catalogue", gw_query_catalogue, d.app };
  api_routes[4] = (struct gw_route){ "GET", "/v1/keys", gw_query_keys, d.app };
  api_routes[5] = (struct gw_route){ "GET", "/v1/agencies", gw_query_agencies, d.app };
  api_routes[6] = (struct gw_route){ "GET", "/v1/adapters", gw_admin_list, d.app };
  api_routes[7] = (struct gw_route){ "PUT", "/v1/adapters/*", gw_admin_adapter, d.app };
  api_routes[8] = (struct gw_route){ "DELETE", "/v1/adapters/*", gw_admin_adapter, d.app };
  api_routes[9] = (struct gw_route){ "POST", "/v1/adapters/*", gw_admin_adapter, d.app };
  api_routes[10] = (struct gw_route){ "GET", "/v1/adapters/*", gw_admin_adapter, d.app };
  api_routes[11] = (struct gw_route){ "GET", "/v1/audit/checkpoint", gw_audit_http_checkpoint, d.app };
  api_routes[12] = (struct gw_route){ "GET", "/v1/audit/checkpoint-key",
                                      gw_audit_http_checkpoint_key, d.app };
  api_routes[13] = (struct gw_route){ "GET", "/v1/audit/proof", gw_audit_http_proof, d.app };
  api_routes[14] = (struct gw_route){ "GET", "/v1/audit/consistency",
                                      gw_audit_http_consistency, d.app };
  api_routes[15] = (struct gw_route){ "GET", "/v1/audit/entries", gw_audit_http_entries, d.app };
  api_routes[16] = (struct gw_route){ "GET", "/v1/audit/checkpoint-key-sm2",
                                      gw_audit_http_checkpoint_key_sm2, d.app };
  api_routes[17] = (struct gw_route){ "GET", "/v1/cases/*", gw_evidence_handle, d.app };
  api_routes[18] = (struct gw_route){ "POST", "/v1/facts/recheck", gw_recheck_handle, d.app };
  api_routes[19] = (struct gw_route){ "POST", "/v1/audit/witness/add-checkpoint",
                                      gw_audit_http_witness_add, d.app };
  api_routes[20] = (struct gw_route){ "GET", "/v1/audit/witness-key", gw_audit_http_witness_key,
                                      d.app };
  /* after the exact /v1/facts/... routes, which they must not shadow */
  api_routes[21] = (struct gw_route){ "GET", "/v1/facts/*", gw_admin_definition, d.app };
  api_routes[22] = (struct gw_route){ "PUT", "/v1/facts/*", gw_admin_definition, d.app };
  api_routes[23] = (struct gw_route){ "DELETE", "/v1/facts/*", gw_admin_definition, d.app };
  api_routes[24] = (struct gw_route){ "GET", "/v1/predicates/*", gw_admin_definition, d.app };
  api_routes[25] = (struct gw_route){ "PUT", "/v1/predicates/*", gw_admin_definition, d.app };
  api_routes[26] = (struct gw_route){ "DELETE", "/v1/predicates/*", gw_admin_definition, d.app };
  api_routes[27] = (struct gw_route){ "GET", "/v1/purposes", gw_admin_definition, d.app };
  api_routes[28] = (struct gw_route){ "PUT", "/v1/purposes", gw_admin_definition, d.app };
  ops_routes[0] = api_routes[0];
  ops_routes[1] = api_routes[1];
  ops_routes[2] = (struct gw_route){ "GET", "/metrics", metrics, NULL };
  ops_routes[3] = (struct gw_route){ "GET", "/console", gw_console_handle, &console };
  api = gw_server_new(d.cfg, ssl, api_routes, sizeof(api_routes) / sizeof(api_routes[0]), "api");
  ops = gw_server_new(d.cfg, NULL, ops_routes, 4, "ops");
  console = (struct gw_console){ d.app, GATEWAYD_VERSION, time(NULL), api, 10 };
  if(gw_obs_init(d.app, GATEWAYD_VERSION))
    gw_log(GW_LOG_WARN, "metrics_unavailable", "metric registration failed");
  gw_obs_bind_listener("api", api);
  gw_obs_bind_listener("ops", ops);

  d.base = event_base_new();
  if(!d.base) {
    close(ops_fd);
    for(int j = 0; j < d.cfg->workers; j++)
      close(fds[j]);
    goto out;
  }
  ops_listener = gw_listener_new(ops, d.base, ops_fd);
  hooks.init = worker_init;
  hooks.fini = worker_fini;
  hooks.arg = d.app;
  workers = gw_workers_start(api, fds, d.cfg->workers, &hooks, err, sizeof(err));
  d.workers = workers;
  d.api = api;
  if(!ops_listener || !workers) {
    gw_log(GW_LOG_ERROR, "startup_failed", "%s", workers ? "ops listener" : err);
    goto out;
  }
  sig_term = evsignal_new(d.base, SIGTERM, on_stop, &d);
  sig_int = evsignal_new(d.base, SIGINT, on_stop, &d);
  sig_hup = evsignal_new(d.base, SIGHUP, on_hup, &d);
  if(!sig_term || !sig_int || !sig_hup || evsignal_add(sig_term, NULL) ||
     evsignal_add(sig_int, NULL) || evsignal_add(sig_hup, NULL)) {
    gw_log(GW_LOG_ERROR, "startup_failed", "cannot install signal handlers");
    goto out;
  }
  d.checkpoint = event_new(d.base, -1, EV_PERSIST, on_checkpoint, &d);
  if(d.checkpoint) {
    struct timeval tv = { d.cfg->audit_checkpoint_interval_s, 0 };
    event_add(d.checkpoint, &tv);
  }
  /* Our checkpoints go to the peers from this loop, never a worker's. */
  if(d.app->witness && gw_witness_submit_start(d.app->witness, d.app->audit, d.base, err,
                                               sizeof(err))) {
    gw_log(GW_LOG_ERROR, "startup_failed", "witness submitter: %s", err);
    goto out;
  }
  if(ports_file && write_ports_file(ports_file, d.api_port, d.ops_port)) {
    gw_log(GW_LOG_ERROR, "startup_failed", "cannot write %s: %s", ports_file, strerror(errno));
    goto out;
  }
  atomic_store(&d.ready, 1);
  {
    json_t *f = json_object();
    json_object_set_new(f, "version", json_string(GATEWAYD_VERSION));
    json_object_set_new(f, "gateway_id", json_string(d.cfg->gateway_id));
    json_object_set_new(f, "api_port", json_integer(d.api_port));
    json_object_set_new(f, "ops_port", json_integer(d.ops_port));
    json_object_set_new(f, "workers", json_integer(d.cfg->workers));
    json_object_set_new(f, "client_certs", json_string(d.cfg->require_client_cert ? "required"
                                                      : d.cfg->tls_client_ca ? "optional" : "off"));
    gw_log_fields(GW_LOG_INFO, "started", f);
  }
  event_base_dispatch(d.base);
  rc = 0;

out:
  atomic_store(&d.ready, 0);
  gw_workers_stop(workers);
  gw_listener_free(ops_listener);
  if(sig_term)
    event_free(sig_term);
  if(sig_int)
    event_free(sig_int);
  if(sig_hup)
    event_free(sig_hup);
  if(d.checkpoint)
    event_free(d.checkpoint);
  if(d.drain)
    event_free(d.drain);
  if(d.app)
    gw_witness_submit_stop(d.app->witness);
  if(d.base)
    event_base_free(d.base);
  gw_server_free(api);
  gw_server_free(ops);
  gw_free(fds);
  SSL_CTX_free(ssl);
  for(size_t i = 0; i < d.n_old_ssl; i++)
    SSL_CTX_free(d.old_ssl[i]);
  gw_obs_shutdown();
  gw_app_free(d.app);
  if(rc == 0 && !check_only)
    gw_log(GW_LOG_INFO, "stopped", NULL);
  gw_config_free(d.cfg);
  return rc;
}
