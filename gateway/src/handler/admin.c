/*
 * admin.c - registering, replacing and removing the definitions the
 * gateway runs on while it serves: adapters, facts (schemas/facts),
 * predicates (schemas/predicates) and the purposes file (schemas/
 * purposes.json, one file, no id); and testing adapters.
 *
 * The admin API never edits a live structure: it changes a directory on
 * disk (atomically, durably) and then asks for the same reload SIGHUP does.
 * The directories are therefore always the truth, and a refused change is
 * rolled back on disk before the answer goes out.  The three kinds differ
 * only in data (struct admin_kind: folder, file suffix, id rule, the text
 * check, the version in force), so there is one write and roll-back path.
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
#include "gw/facts.h"
#include "gw/factschema.h"
#include "gw/fetch.h"
#include "gw/front.h"
#include "gen.h"
#include "gw/idnum.h"
#include "gw/log.h"
#include "gw/policy.h"
#include "gw/predicate.h"
#include "registry.h"

#define ADMIN_MAX_ID 64

/* One admin change at a time: they rewrite the directories. */
static pthread_mutex_t admin_lock = PTHREAD_MUTEX_INITIALIZER;

/* What differs between adapters, facts and predicates. */
struct admin_kind {
  const char *kind;             /* "adapter", in messages and log events */
  const char *prefix;           /* "/v1/adapters/" */
  const char *suffix;           /* file name: id + suffix */
  const char *problem;          /* problem slug of a refused definition */
  const char *id_rule;          /* what a valid id is, for the 400 */
  size_t max_bytes;             /* largest file */
  int refused_delete;           /* status of a DELETE the reload refuses */
  const char *(*dir)(const struct gw_config *cfg);
  int (*id_ok)(const char *id);
  /* Judges `text` for `id` as the loader will (label names it in messages):
   * 0 and *version, or -1 with "LABEL: FIELD: PROBLEM" in err. */
  int (*check)(const char *id, const char *label, const char *dir, const char *text,
               size_t len, int *version, char *err, size_t errlen);
  /* The file in force for id (caller frees) and its version; NULL and 0. */
  char *(*current)(struct gw_app *app, const char *id, int *version);
};

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

/* ---- the three kinds ------------------------------------------------------------ */

static const char *adapters_dir(const struct gw_config *cfg) { return cfg->adapters_dir; }
static const char *facts_dir(const struct gw_config *cfg) { return cfg->schemas_dir; }
static const char *predicates_dir(const struct gw_config *cfg) { return cfg->predicates_dir; }

static int adapter_id_ok(const char *id)
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

static int adapter_check(const char *id, const char *label, const char *dir, const char *text,
                         size_t len, int *version, char *err, size_t errlen)
{
  struct gw_adapter *a = NULL;
  if(gw_adapter_load_text(text, len, label, dir, &a, err, errlen))
    return -1;
  if(strcmp(a->id, id)) {
    gw_adapter_unref(a);
    snprintf(err, errlen, "id: must equal the id in the URL");
    return -1;
  }
  *version = a->version;
  gw_adapter_unref(a);
  return 0;
}

static char *adapter_current(struct gw_app *app, const char *id, int *version)
{
  struct gw_gen *gen = gw_gen_acquire(app->gens);
  struct gw_adapter_rt *rt = gw_gen_rt_by_id(gen, id);
  char *file = rt && rt->adapter->file ? gw_strdup(rt->adapter->file) : NULL;
  *version = rt ? rt->adapter->version : 0;
  gw_gen_release(gen);
  return file;
}

static int fact_check(const char *id, const char *label, const char *dir, const char *text,
                      size_t len, int *version, char *err, size_t errlen)
{
  struct gw_factschema *s = NULL;
  char want[256];
  (void)dir;
  if(gw_fact_check_text(id, label, text, len, version, err, errlen) ||
     gw_factschema_compile(label, text, len, &s, err, errlen))
    return -1;
  snprintf(want, sizeof(want), "%s%s.schema.json", GW_FACTSCHEMA_ID_BASE, id);
  if(strcmp(gw_factschema_id(s), want)) {
    snprintf(err, errlen, "%s: #/$id: must be \"%s\"", label, want);
    gw_factschema_free(s);
    return -1;
  }
  gw_factschema_free(s);
  return 0;
}

static char *fact_current(struct gw_app *app, const char *id, int *version)
{
  /* through a held generation: a reload may publish (and free the
   * installed catalogue) while this runs */
  struct gw_gen *gen = gw_gen_acquire(app->gens);
  const struct gw_catalogue *prev = gw_catalogue_use(gen->catalogue);
  const struct gw_fact_def *d = gw_fact_find(id);
  char *file = d && d->file ? gw_strdup(d->file) : NULL;
  *version = d ? d->version : 0;
  (void)gw_catalogue_use(prev);
  gw_gen_release(gen);
  return file;
}

static int predicate_check(const char *id, const char *label, const char *dir, const char *text,
                           size_t len, int *version, char *err, size_t errlen)
{
  char got[ADMIN_MAX_ID + 1];
  (void)dir;
  /* judged against the catalogue in force; the reload judges it again
   * against the one it builds */
  if(gw_pred_check_text_ex(label, text, len, got, version, sizeof(got), err, errlen))
    return -1;
  if(strcmp(got, id)) {
    snprintf(err, errlen, "%s: id: must equal the id in the URL", label);
    return -1;
  }
  return 0;
}

static char *predicate_current(struct gw_app *app, const char *id, int *version)
{
  struct gw_gen *gen = gw_gen_acquire(app->gens);
  const struct gw_pred_def *d = gw_predset_find(gen->preds, id);
  char *file = d && d->file ? gw_strdup(d->file) : NULL;
  *version = d ? d->version : 0;
  gw_gen_release(gen);
  return file;
}

/* purposes.json: one file, always there (the catalogue cannot load
 * without it); its "version" is the catalogue's. */
static const char *purposes_path(const struct gw_config *cfg) { return cfg->purposes_file; }

static int purposes_id_ok(const char *id)
{
  return !strcmp(id, "purposes");
}

static int purposes_check(const char *id, const char *label, const char *dir, const char *text,
                          size_t len, int *version, char *err, size_t errlen)
{
  (void)id; (void)dir;
  /* against the catalogue in force (put_item holds its generation); the
   * reload judges it again, with the predicates and the ACL */
  return gw_purposes_check_text(label, text, len, version, err, errlen);
}

static char *purposes_current(struct gw_app *app, const char *id, int *version)
{
  struct gw_gen *gen = gw_gen_acquire(app->gens);
  (void)id;
  *version = (int)gw_catalogue_version(gen->catalogue);
  gw_gen_release(gen);
  return gw_strdup(app->cfg->purposes_file);
}

static const struct admin_kind kinds[] = {
  { "adapter", "/v1/adapters/", ".json", "invalid-adapter",
    "adapter ids are 1 to 64 of a-z 0-9 . _ -", GW_ADAPTER_FILE_MAX, 400,
    adapters_dir, adapter_id_ok, adapter_check, adapter_current },
  { "fact", "/v1/facts/", ".schema.json", "invalid-fact",
    "fact names are [a-z0-9_]+(.[a-z0-9_]+)+, at most 64 bytes",
    GW_FACTSCHEMA_FILE_MAX, 409, facts_dir, gw_fact_name_ok, fact_check, fact_current },
  { "predicate", "/v1/predicates/", ".json", "invalid-predicate",
    "predicate ids are [a-z0-9_]+(.[a-z0-9_]+)+, at most 64 bytes",
    GW_PRED_FILE_MAX_BYTES, 409, predicates_dir, gw_fact_name_ok, predicate_check,
    predicate_current },
  /* a prefix without a trailing slash: one resource, no id, no DELETE */
  { "purposes", "/v1/purposes", ".json", "invalid-purposes", "", GW_CATALOGUE_FILE_MAX, 405,
    purposes_path, purposes_id_ok, purposes_check, purposes_current },
};

/* The purposes file: one resource at the prefix itself. */
static int single(const struct admin_kind *k)
{
  return k->prefix[strlen(k->prefix) - 1] != '/';
}

/* ---- disk ----------------------------------------------------------------------- */

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

/* Removes path and makes the removal durable. */
static int unlink_durably(const char *dir, const char *path)
{
  int dfd;
  if(unlink(path))
    return -1;
  dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if(dfd >= 0) {
    (void)fsync(dfd);
    close(dfd);
  }
  return 0;
}

static char *slurp(const char *path, size_t max, size_t *len)
{
  FILE *fp = fopen(path, "rb");
  char *buf;
  long n;
  if(!fp)
    return NULL;
  if(fseek(fp, 0, SEEK_END) || (n = ftell(fp)) < 0 || (size_t)n > max) {
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

/* The folder of path (a new string). */
static char *dir_of(const char *path)
{
  const char *slash = strrchr(path, '/');
  return slash ? gw_strndup(path, (size_t)(slash - path)) : gw_strdup(".");
}

/* ---- PUT and DELETE, for every kind ---------------------------------------------- */

static void put_item(struct gw_req *req, struct gw_app *app, const struct admin_kind *k,
                     const char *id)
{
  const char *dir = k->dir(app->cfg);
  char name[ADMIN_MAX_ID + 16], path[4096], err[1024], why[1024];
  char *file = NULL, *old = NULL, *fdir = NULL;
  size_t len, old_len = 0;
  int new_version = 0, cur = 0;
  const char *body = gw_req_body(req, &len);

  if(single(k)) {               /* the configured file's own name */
    const char *base = strrchr(dir, '/');
    snprintf(name, sizeof(name), "%s", base ? base + 1 : dir);
  }
  else
    snprintf(name, sizeof(name), "%s%s", id, k->suffix);
  if(len > k->max_bytes) {
    snprintf(err, sizeof(err), "%s: larger than %zu bytes", name, k->max_bytes);
    gw_req_problem(req, 413, "too-large", err);
    return;
  }
  {
    /* judged against the generation in force, held: a reload may publish
     * (and free the installed catalogue) while this runs */
    struct gw_gen *gen = gw_gen_acquire(app->gens);
    const struct gw_catalogue *prev = gw_catalogue_use(gen->catalogue);
    int bad = k->check(id, name, dir, body, len, &new_version, err, sizeof(err));
    (void)gw_catalogue_use(prev);
    gw_gen_release(gen);
    if(bad) {
      gw_req_problem(req, 400, k->problem, err);
      return;
    }
  }

  pthread_mutex_lock(&admin_lock);
  file = k->current(app, id, &cur);
  if(cur >= new_version) {
    pthread_mutex_unlock(&admin_lock);
    snprintf(err, sizeof(err), "%s: %sversion: must be newer than the active version %d", name,
             strcmp(k->kind, "fact") ? "" : "#/x-gw/", cur);
    gw_req_problem(req, 409, "version-conflict", err);
    goto out;
  }
  if(file)
    snprintf(path, sizeof(path), "%s", file);
  else
    snprintf(path, sizeof(path), "%s/%s", dir, name);
  fdir = dir_of(path);
  if(!file && mkdir(fdir, 0750) && errno != EEXIST) {
    pthread_mutex_unlock(&admin_lock);
    snprintf(why, sizeof(why), "cannot create %.900s: %s", fdir, strerror(errno));
    gw_req_problem(req, 500, "internal", why);
    goto out;
  }
  if(file)
    old = slurp(path, k->max_bytes, &old_len);
  if(write_durably(fdir, path, body, len, why, sizeof(why))) {
    pthread_mutex_unlock(&admin_lock);
    gw_req_problem(req, 500, "internal", why);
    goto out;
  }
  if(gw_app_reload(app, gw_req_client(req), err, sizeof(err))) {
    /* refused as a set: put the directory back as it was */
    if(old)
      (void)write_durably(fdir, path, old, old_len, why, sizeof(why));
    else
      (void)unlink_durably(fdir, path);
    pthread_mutex_unlock(&admin_lock);
    gw_log(GW_LOG_WARN, "admin_change_refused", "%s %s: %s", k->kind, id, err);
    gw_req_problem(req, 400, k->problem, err);
    goto out;
  }
  pthread_mutex_unlock(&admin_lock);
  gw_log(GW_LOG_INFO, "admin_change_activated", "%s %s version %d (%s)", k->kind, id,
         new_version, path);
  gw_req_respond_json(req, file ? 200 : 201,
                      json_pack("{s:s, s:s, s:i, s:s, s:s}", "kind", k->kind, "id", id,
                                "version", new_version, "status", "active", "file", path));

out:
  gw_free(fdir);
  gw_free(file);
  gw_free(old);
}

static void delete_item(struct gw_req *req, struct gw_app *app, const struct admin_kind *k,
                        const char *id)
{
  char *file, *old = NULL, *fdir = NULL, err[1024], why[512], msg[128];
  size_t old_len = 0;
  int cur = 0;

  pthread_mutex_lock(&admin_lock);
  file = k->current(app, id, &cur);
  if(!file) {
    pthread_mutex_unlock(&admin_lock);
    snprintf(msg, sizeof(msg), "no active %s has that id", k->kind);
    gw_req_problem(req, 404, "not-found", msg);
    return;
  }
  fdir = dir_of(file);
  old = slurp(file, k->max_bytes, &old_len);
  if(!old || unlink_durably(fdir, file)) {
    pthread_mutex_unlock(&admin_lock);
    snprintf(msg, sizeof(msg), "cannot remove the %s file", k->kind);
    gw_req_problem(req, 500, "internal", msg);
    goto out;
  }
  if(gw_app_reload(app, gw_req_client(req), err, sizeof(err))) {
    (void)write_durably(fdir, file, old, old_len, why, sizeof(why));
    pthread_mutex_unlock(&admin_lock);
    gw_log(GW_LOG_WARN, "admin_change_refused", "delete %s %s: %s", k->kind, id, err);
    gw_req_problem(req, k->refused_delete,
                   k->refused_delete == 409 ? "in-use" : k->problem, err);
    goto out;
  }
  pthread_mutex_unlock(&admin_lock);
  gw_log(GW_LOG_INFO, "admin_change_removed", "%s %s", k->kind, id);
  gw_req_respond(req, 204, NULL, "", 0);

out:
  gw_free(fdir);
  gw_free(file);
  gw_free(old);
}

/* GET of a fact or predicate: the file in force, its version and sha256. */
static void show_item(struct gw_req *req, struct gw_app *app, const struct admin_kind *k,
                      const char *id)
{
  struct gw_gen *gen = gw_gen_acquire(app->gens);
  json_t *out = NULL, *doc;
  char msg[128];

  if(single(k)) {
    const char *sha = "";
    size_t len = 0;
    const char *text = gw_catalogue_purposes_text(gen->catalogue, &len, &sha);
    if(text && (doc = json_loadb(text, len, 0, NULL)))
      out = json_pack("{s:s, s:I, s:s, s:s, s:o}", "kind", k->kind, "version",
                      (json_int_t)gw_catalogue_version(gen->catalogue), "sha256", sha, "file",
                      app->cfg->purposes_file, "document", doc);
  }
  else if(k == &kinds[1]) {
    const struct gw_catalogue *prev = gw_catalogue_use(gen->catalogue);
    const struct gw_fact_def *d = gw_fact_find(id);
    const struct gw_factschema *fs = d ? gw_factschema_set_get(gen->schemas, d->name) : NULL;
    if(d && fs && (doc = json_loads(gw_factschema_text(fs), JSON_DECODE_ANY, NULL)))
      out = json_pack("{s:s, s:s, s:i, s:s, s:s, s:o}", "kind", k->kind, "id", d->name,
                      "version", d->version, "sha256", d->sha256, "file",
                      d->file ? d->file : "", "document", doc);
    (void)gw_catalogue_use(prev);
  }
  else {
    const struct gw_pred_def *d = gw_predset_find(gen->preds, id);
    if(d && d->text && (doc = json_loadb(d->text, d->text_len, 0, NULL)))
      out = json_pack("{s:s, s:s, s:i, s:s, s:s, s:o}", "kind", k->kind, "id", d->id,
                      "version", d->version, "sha256", d->sha256, "file", d->file,
                      "document", doc);
  }
  gw_gen_release(gen);
  if(!out) {
    snprintf(msg, sizeof(msg), "no active %s has that id", k->kind);
    gw_req_problem(req, 404, "not-found", msg);
    return;
  }
  gw_req_respond_json(req, 200, out);
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
  gw_req_respond_json(d->req, 200, gw_fetch_result_json(res));
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

/* /PREFIX/{id}[/test] for the kind whose prefix the path has. */
static void admin_route(struct gw_req *req, struct gw_app *app, const struct admin_kind *k)
{
  const char *path = gw_req_path(req), *method = gw_req_method(req), *rest;
  char id[ADMIN_MAX_ID + 1];
  size_t n;
  int test, adapter = k == &kinds[0];

  if(!is_admin(req, app))
    return;
  if(single(k)) {
    if(path[strlen(k->prefix)]) {
      gw_req_problem(req, 404, "not-found", "no such resource");
      return;
    }
    if(!strcmp(method, "GET"))
      show_item(req, app, k, k->kind);
    else if(!strcmp(method, "PUT"))
      put_item(req, app, k, k->kind);
    else {
      gw_req_set_header(req, "Allow", "GET, PUT");
      gw_req_problem(req, 405, "method-not-allowed", "this resource takes GET and PUT");
    }
    return;
  }
  rest = path + strlen(k->prefix);
  n = strcspn(rest, "/");
  test = adapter && !strcmp(rest + n, "/test");
  if(!n || n > ADMIN_MAX_ID || (rest[n] && !test)) {
    gw_req_problem(req, 404, "not-found", "no such resource");
    return;
  }
  memcpy(id, rest, n);
  id[n] = '\0';
  if(!k->id_ok(id)) {
    gw_req_problem(req, 400, "invalid-request", k->id_rule);
    return;
  }
  if(test && !strcmp(method, "POST"))
    test_adapter(req, app, id);
  else if(!test && !strcmp(method, "PUT"))
    put_item(req, app, k, id);
  else if(!test && !strcmp(method, "DELETE"))
    delete_item(req, app, k, id);
  else if(!test && !adapter && !strcmp(method, "GET"))
    show_item(req, app, k, id);
  else {
    gw_req_set_header(req, "Allow", test ? "POST" : adapter ? "PUT, DELETE" : "GET, PUT, DELETE");
    gw_req_problem(req, 405, "method-not-allowed", "this resource does not support that method");
  }
}

void gw_admin_definition(struct gw_req *req, void *arg)
{
  /* The query calls are POST-only routes of their own; a GET, PUT or
   * DELETE of them reaches this wildcard and is told so, not treated as
   * a fact called "query". */
  static const char *const post_only[] = { "/v1/facts/query", "/v1/facts/recheck", NULL };
  const char *path = gw_req_path(req);
  for(size_t i = 0; post_only[i]; i++)
    if(!strcmp(path, post_only[i])) {
      gw_req_set_header(req, "Allow", "POST");
      gw_req_problem(req, 405, "method-not-allowed", "this resource takes POST only");
      return;
    }
  for(size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
    if(!strncmp(path, kinds[i].prefix, strlen(kinds[i].prefix))) {
      admin_route(req, arg, &kinds[i]);
      return;
    }
  gw_req_problem(req, 404, "not-found", "no such resource");
}

void gw_admin_adapter(struct gw_req *req, void *arg)
{
  gw_admin_definition(req, arg);
}
