/*
 * admin.c - registering, replacing, removing and testing adapters while the
 * gateway serves.
 *
 * The admin API never edits a live structure: it changes the adapters
 * directory on disk (atomically, durably) and then asks for the same
 * reload SIGHUP does.  The directory is therefore always the truth, and a
 * refused change is rolled back on disk before the answer goes out.
 */
#include "gw/admin.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "acl.h"
#include "gw/adapter.h"
#include "gw/alloc.h"
#include "gw/app.h"
#include "codec.h"
#include "gw/config.h"
#include "gw/fetch.h"
#include "gw/front.h"
#include "gen.h"
#include "gw/idnum.h"
#include "gw/log.h"
#include "gw/policy.h"
#include "registry.h"

#define ADMIN_PREFIX "/v1/adapters/"
#define ADMIN_MAX_ID 64

/* One admin change at a time: they rewrite the directory. */
static pthread_mutex_t admin_lock = PTHREAD_MUTEX_INITIALIZER;

static int is_admin(struct gw_req *req, struct gw_app *app)
{
  struct gw_gen *gen = gw_gen_acquire(app->gens);
  unsigned roles = gw_acl_roles(gen->acl, gw_req_client(req));
  gw_gen_release(gen);
  if(roles & GW_ROLE_ADMIN)
    return 1;
  gw_req_problem(req, 403, "forbidden", "the admin API needs the admin role");
  return 0;
}

void gw_admin_list(struct gw_req *req, void *arg)
{
  struct gw_app *app = arg;
  struct gw_gen *gen;
  json_t *list, *out;

  if(!is_admin(req, app))
    return;
  gen = gw_gen_acquire(app->gens);
  list = json_array();
  for(size_t i = 0; i < gen->n_rt; i++) {
    const struct gw_adapter *a = gen->rt[i]->adapter;
    json_t *facts = json_array(), *o;
    for(size_t f = 0; f < a->n_facts; f++)
      json_array_append_new(facts, json_string(a->facts[f]));
    o = json_pack("{s:s, s:i, s:s, s:s, s:o, s:s}", "id", a->id, "version", a->version,
                  "agency", a->agency, "protocol", gw_protocol_name(a->protocol),
                  "facts", facts, "file", a->file ? a->file : "");
    json_array_append_new(list, o);
  }
  out = json_pack("{s:o, s:I}", "adapters", list, "generation", (json_int_t)gen->id);
  gw_gen_release(gen);
  gw_req_respond_json(req, 200, out);
}

/* The adapter file that holds `id` now, or NULL. */
static char *current_file(struct gw_app *app, const char *id)
{
  struct gw_gen *gen = gw_gen_acquire(app->gens);
  struct gw_adapter_rt *rt = gw_gen_rt_by_id(gen, id);
  char *file = rt && rt->adapter->file ? gw_strdup(rt->adapter->file) : NULL;
  gw_gen_release(gen);
  return file;
}

/* The active version of `id`, or 0. */
static int current_version(struct gw_app *app, const char *id)
{
  struct gw_gen *gen = gw_gen_acquire(app->gens);
  struct gw_adapter_rt *rt = gw_gen_rt_by_id(gen, id);
  int v = rt ? rt->adapter->version : 0;
  gw_gen_release(gen);
  return v;
}

/* Writes `len` bytes to path durably: temporary file, fsync, rename, fsync
 * of the directory. */
static int write_durably(const char *dir, const char *path, const char *text, size_t len,
                         char *err, size_t errlen)
{
  char tmp[4096];
  int fd, dfd;
  if(snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp)) {
    snprintf(err, errlen, "path too long");
    return -1;
  }
  fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if(fd < 0 || write(fd, text, len) != (ssize_t)len || fsync(fd)) {
    snprintf(err, errlen, "cannot write %.900s: %s", tmp, strerror(errno));
    if(fd >= 0)
      close(fd);
    unlink(tmp);
    return -1;
  }
  close(fd);
  if(rename(tmp, path)) {
    snprintf(err, errlen, "cannot rename into %.900s: %s", path, strerror(errno));
    unlink(tmp);
    return -1;
  }
  dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if(dfd >= 0) {
    (void)fsync(dfd);
    close(dfd);
  }
  return 0;
}

static char *slurp(const char *path, size_t *len)
{
  FILE *fp = fopen(path, "rb");
  char *buf;
  long n;
  if(!fp)
    return NULL;
  if(fseek(fp, 0, SEEK_END) || (n = ftell(fp)) < 0 || n > GW_ADAPTER_FILE_MAX) {
    fclose(fp);
    return NULL;
  }
  rewind(fp);
  buf = gw_malloc((size_t)n + 1);
  *len = fread(buf, 1, (size_t)n, fp);
  buf[*len] = '\0';
  fclose(fp);
  return buf;
}

static int valid_id(const char *id)
{
  size_t n = strlen(id);
  if(!n || n > ADMIN_MAX_ID)
    return 0;
  for(const char *p = id; *p; p++)
    if(!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' ||
         *p == '-'))
      return 0;
  return id[0] != '.';
}

static void put_adapter(struct gw_req *req, struct gw_app *app, const char *id)
{
  const char *dir = app->cfg->adapters_dir;
  struct gw_adapter *a = NULL;
  char name[ADMIN_MAX_ID + 8], path[4096], err[1024], why[1024];
  char *file = NULL, *old = NULL;
  size_t len, old_len = 0;
  int new_version;
  const char *body = gw_req_body(req, &len);

  snprintf(name, sizeof(name), "%s.json", id);
  if(gw_adapter_load_text(body, len, name, dir, &a, err, sizeof(err))) {
    gw_req_problem(req, 400, "invalid-adapter", err);
    return;
  }
  if(strcmp(a->id, id)) {
    gw_adapter_unref(a);
    gw_req_problem(req, 400, "invalid-adapter", "id: must equal the id in the URL");
    return;
  }
  new_version = a->version;
  gw_adapter_unref(a);

  pthread_mutex_lock(&admin_lock);
  file = current_file(app, id);
  {
    int cur = current_version(app, id);
    if(cur >= new_version) {
      pthread_mutex_unlock(&admin_lock);
      snprintf(err, sizeof(err), "%s: version: must be newer than the active version %d",
               name, cur);
      gw_req_problem(req, 409, "version-conflict", err);
      goto out;
    }
  }
  if(file)
    snprintf(path, sizeof(path), "%s", file);
  else
    snprintf(path, sizeof(path), "%s/%s", dir, name);
  if(file)
    old = slurp(path, &old_len);
  if(write_durably(dir, path, body, len, why, sizeof(why))) {
    pthread_mutex_unlock(&admin_lock);
    gw_req_problem(req, 500, "internal", why);
    goto out;
  }
  if(gw_app_reload(app, gw_req_client(req), err, sizeof(err))) {
    /* refused as a set: put the directory back as it was */
    if(old)
      (void)write_durably(dir, path, old, old_len, why, sizeof(why));
    else
      unlink(path);
    pthread_mutex_unlock(&admin_lock);
    gw_log(GW_LOG_WARN, "adapter_refused", "%s: %s", id, err);
    gw_req_problem(req, 400, "invalid-adapter", err);
    goto out;
  }
  pthread_mutex_unlock(&admin_lock);
  gw_log(GW_LOG_INFO, "adapter_activated", "%s (%s)", id, path);
  gw_req_respond_json(req, file ? 200 : 201,
                      json_pack("{s:s, s:s, s:s}", "id", id, "status", "active", "file", path));

out:
  gw_free(file);
  gw_free(old);
}

static void delete_adapter(struct gw_req *req, struct gw_app *app, const char *id)
{
  char *file, *old = NULL, err[1024], why[512];
  size_t old_len = 0;

  pthread_mutex_lock(&admin_lock);
  file = current_file(app, id);
  if(!file) {
    pthread_mutex_unlock(&admin_lock);
    gw_req_problem(req, 404, "not-found", "no active adapter has that id");
    return;
  }
  old = slurp(file, &old_len);
  if(!old || unlink(file)) {
    pthread_mutex_unlock(&admin_lock);
    gw_req_problem(req, 500, "internal", "cannot remove the adapter file");
    goto out;
  }
  if(gw_app_reload(app, gw_req_client(req), err, sizeof(err))) {
    (void)write_durably(app->cfg->adapters_dir, file, old, old_len, why, sizeof(why));
    pthread_mutex_unlock(&admin_lock);
    gw_req_problem(req, 400, "invalid-adapter", err);
    goto out;
  }
  pthread_mutex_unlock(&admin_lock);
  gw_log(GW_LOG_INFO, "adapter_removed", "%s", id);
  gw_req_respond(req, 204, NULL, "", 0);

out:
  gw_free(file);
  gw_free(old);
}

/* ---- dry run -------------------------------------------------------------------- */

struct dry_run {
  struct gw_req *req;
  struct gw_gen *gen;               /* held until the dry run ends */
  struct gw_adapter_rt *rt;         /* borrowed from gen */
};

static void on_dry_run(const struct gw_fetch_result *res, void *arg)
{
  struct dry_run *d = arg;
  const struct gw_adapter *a = res->rt->adapter;
  json_t *facts = json_object();
  for(size_t i = 0; i < res->codec.n_facts; i++) {
    const struct gw_fact_result *f = &res->codec.facts[i];
    json_t *o = json_pack("{s:s}", "status", gw_fact_status_name(f->status));
    if(f->status == GW_FACT_OK)
      json_object_set(o, "value", f->value);
    if(f->status == GW_FACT_UNAVAILABLE)
      json_object_set_new(o, "error", json_string(gw_fact_error_name(f->error)));
    if(f->detail[0])
      json_object_set_new(o, "detail", json_string(f->detail));
    json_object_set_new(facts, a->facts[i], o);
  }
  gw_req_respond_json(d->req, 200,
    json_pack("{s:s, s:i, s:s, s:s, s:i, s:i, s:f, s:s, s:s, s:o}", "adapter", a->id,
              "version", a->version, "agency", a->agency, "outcome", res->outcome,
              "http_status", res->http_status, "attempts", (int)res->attempts,
              "duration_ms", (double)res->latency_us / 1000.0,
              "channel", res->rt->channel, "agency_signature", res->codec.signature,
              "facts", facts));
  gw_gen_release(d->gen);
  gw_free(d);
}

static void test_adapter(struct gw_req *req, struct gw_app *app, const char *id)
{
  struct gw_worker_ctx *w = gw_worker_current();
  struct gw_gen *gen;
  struct gw_adapter_rt *rt = NULL;
  struct dry_run *d;
  json_t *body, *subj;
  const char *raw, *sid, *name;
  char norm[GW_IDNUM_LEN + 1];
  size_t len;
  enum gw_idnum_result ir;

  raw = gw_req_body(req, &len);
  body = json_loadb(raw, len, JSON_REJECT_DUPLICATES, NULL);
  subj = json_object_get(body, "subject");
  sid = json_string_value(json_object_get(subj, "id"));
  name = json_string_value(json_object_get(subj, "name"));
  if(!json_is_object(body) || !sid || !name || json_object_size(body) != 1) {
    json_decref(body);
    gw_req_problem(req, 400, "invalid-request",
                   "body must be {\"subject\": {\"id\": ..., \"name\": ...}}");
    return;
  }
  ir = gw_idnum_normalize(sid, norm, 0);
  if(ir != GW_IDNUM_OK) {
    json_decref(body);
    gw_req_problem(req, 400, "invalid-request", gw_idnum_strerror(ir));
    return;
  }
  gen = gw_gen_acquire(app->gens);
  rt = gw_gen_rt_by_id(gen, id);
  if(!rt || !w) {
    json_decref(body);
    gw_gen_release(gen);
    gw_req_problem(req, 404, "not-found", "no active adapter has that id");
    return;
  }
  d = gw_calloc(1, sizeof(*d));
  d->req = req;
  d->gen = gen;                      /* the runtime and its schemas live in it */
  d->rt = rt;
  (void)gw_fetch_start(&w->env, rt, norm, name, gw_req_id(req),
                       gw_policy_now_ms() + (uint64_t)app->cfg->deadline_max_ms, on_dry_run, d);
  OPENSSL_cleanse(norm, sizeof(norm));
  json_decref(body);
}

void gw_admin_adapter(struct gw_req *req, void *arg)
{
  struct gw_app *app = arg;
  const char *path = gw_req_path(req), *method = gw_req_method(req), *rest;
  char id[ADMIN_MAX_ID + 1];
  size_t n;
  int test;

  if(!is_admin(req, app))
    return;
  if(strncmp(path, ADMIN_PREFIX, strlen(ADMIN_PREFIX))) {
    gw_req_problem(req, 404, "not-found", "no such resource");
    return;
  }
  rest = path + strlen(ADMIN_PREFIX);
  n = strcspn(rest, "/");
  test = !strcmp(rest + n, "/test");
  if(!n || n > ADMIN_MAX_ID || (rest[n] && !test)) {
    gw_req_problem(req, 404, "not-found", "no such resource");
    return;
  }
  memcpy(id, rest, n);
  id[n] = '\0';
  if(!valid_id(id)) {
    gw_req_problem(req, 400, "invalid-request", "adapter ids are 1 to 64 of a-z 0-9 . _ -");
    return;
  }
  if(test && !strcmp(method, "POST"))
    test_adapter(req, app, id);
  else if(!test && !strcmp(method, "PUT"))
    put_adapter(req, app, id);
  else if(!test && !strcmp(method, "DELETE"))
    delete_adapter(req, app, id);
  else {
    gw_req_set_header(req, "Allow", test ? "POST" : "PUT, DELETE");
    gw_req_problem(req, 405, "method-not-allowed", "this resource does not support that method");
  }
}
