/*
 * gwctl_admin.c - "gwctl adapter|fact|predicate push", "gwctl fact
 * validate" and "gwctl status": the admin API and the gateway's health from
 * the command line.
 *
 *   gwctl adapter push FILE (--stack S | --url URL --cacert CA --cert C --key K)
 *   gwctl fact push FILE ...       (FILE named <fact>.schema.json)
 *   gwctl predicate push FILE ...
 *   gwctl purposes push FILE ...   (the whole purposes.json, PUT /v1/purposes)
 *   gwctl purposes validate [--schemas DIR] FILE...
 *   gwctl fact validate FILE...
 *   gwctl status (--stack S | --url URL --cacert CA --cert C --key K [--ops URL]) [--json]
 *
 * push validates FILE locally first (the same loader), then PUTs it to
 * /v1/adapters/{id}, /v1/facts/{name} or /v1/predicates/{id}; the gateway validates again, persists and activates
 * it, or answers problem+json naming the field, and the running version
 * keeps serving.  status prints readiness, the checkpoint's tree size and,
 * per adapter, the breaker state and its recent figures.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <curl/curl.h>
#include <jansson.h>

#include "gw/adapter.h"
#include "gw/alloc.h"
#include "gw/facts.h"
#include "gw/factschema.h"
#include "gw/predicate.h"
#include "gwctl_audit_int.h"
#include "gwctl_int.h"

#define ADMIN_MAX_ANSWER (1u << 20)

struct target {
  struct gwctl_http h;
  struct gwctl_stack st;
  const char *ops;
  int have_stack;
};

static int parse_target(int argc, char **argv, struct target *t, const char **file, int *json_out,
                        int want_file, char *err, size_t errlen)
{
  static const struct option opts[] = {
    { "stack", required_argument, NULL, 's' },
    { "url", required_argument, NULL, 'u' },
    { "cacert", required_argument, NULL, 'a' },
    { "cert", required_argument, NULL, 'c' },
    { "key", required_argument, NULL, 'k' },
    { "ops", required_argument, NULL, 'o' },
    { "json", no_argument, NULL, 'j' },
    { NULL, 0, NULL, 0 }
  };
  const char *stack = NULL;
  int opt;
  memset(t, 0, sizeof(*t));
  optind = 1;
  while((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch(opt) {
    case 's': stack = optarg; break;
    case 'u': t->h.base = optarg; break;
    case 'a': t->h.cacert = optarg; break;
    case 'c': t->h.cert = optarg; break;
    case 'k': t->h.key = optarg; break;
    case 'o': t->ops = optarg; break;
    case 'j': if(json_out) *json_out = 1; break;
    default: return -1;
    }
  }
  if(want_file) {
    if(argc - optind != 1)
      return -1;
    *file = argv[optind];
  }
  else if(argc != optind)
    return -1;
  if(stack) {
    if(gwctl_stack_load(stack, &t->st, err, errlen))
      return -2;
    t->have_stack = 1;
    t->h.base = t->st.url;
    t->h.cacert = t->st.gateway_ca;
    t->h.cert = t->st.admin_cert;
    t->h.key = t->st.admin_key;
    if(!t->ops)
      t->ops = t->st.ops_url;
  }
  if(!t->h.base || !t->h.cacert || !t->h.cert || !t->h.key)
    return -1;
  return 0;
}

static void target_free(struct target *t)
{
  if(t->have_stack)
    gwctl_stack_free(&t->st);
}

/* What differs between pushing an adapter, a fact and a predicate. */
struct push_kind {
  const char *cmd;              /* "adapter" */
  const char *prefix;           /* "/v1/adapters/" */
  size_t max_bytes;
  /* Judges the file locally: 0 with id and version, 1 refused (err says
   * FILE: FIELD: PROBLEM), 2 cannot be read. */
  int (*local)(const char *file, const char *text, size_t len, char *id, size_t idlen,
               int *version, char *err, size_t errlen);
};

static int id_chars_ok(const char *id)
{
  return id && *id && strlen(id) <= 64 &&
         strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789._-") == strlen(id);
}

static int adapter_local(const char *file, const char *text, size_t len, char *id,
                         size_t idlen, int *version, char *err, size_t errlen)
{
  struct gw_adapter *a = NULL;
  json_t *doc;
  (void)text; (void)len;
  /* Checked here first when a local catalogue is at hand ($GW_SCHEMAS_DIR
   * or schemas/facts of the working directory); the gateway judges again
   * against its own, which may know facts this one does not yet. */
  if((getenv("GW_SCHEMAS_DIR") || access("schemas/facts", R_OK) == 0) &&
     gwctl_use_catalogue(NULL, "gwctl adapter push"))
    return 2;
  if(gw_catalogue_current()) {
    if(gw_adapter_load(file, &a, err, errlen))
      return 1;                 /* refused here: nothing sent */
    snprintf(id, idlen, "%s", a->id);
    *version = a->version;
    gw_adapter_unref(a);
    return 0;
  }
  doc = json_loadb(text, len, 0, NULL);
  if(!id_chars_ok(json_string_value(json_object_get(doc, "id")))) {
    snprintf(err, errlen, "%s: id: missing or not an adapter id", file);
    json_decref(doc);
    return 1;
  }
  snprintf(id, idlen, "%s", json_string_value(json_object_get(doc, "id")));
  *version = (int)json_integer_value(json_object_get(doc, "version"));
  json_decref(doc);
  return 0;
}

/* A fact file is named <fact>.schema.json, as in schemas/facts. */
static int fact_local(const char *file, const char *text, size_t len, char *id, size_t idlen,
                      int *version, char *err, size_t errlen)
{
  const char *base = strrchr(file, '/'), *suffix = ".schema.json";
  struct gw_factschema *s = NULL;
  char want[256];
  size_t n;

  base = base ? base + 1 : file;
  n = strlen(base);
  if(n <= strlen(suffix) || strcmp(base + n - strlen(suffix), suffix) ||
     n - strlen(suffix) >= idlen) {
    snprintf(err, errlen, "%s: name: a fact file is named <fact>.schema.json", file);
    return 1;
  }
  memcpy(id, base, n - strlen(suffix));
  id[n - strlen(suffix)] = '\0';
  if(gw_fact_check_text(id, file, text, len, version, err, errlen) ||
     gw_factschema_compile(file, text, len, &s, err, errlen))
    return 1;
  snprintf(want, sizeof(want), "%s%s.schema.json", GW_FACTSCHEMA_ID_BASE, id);
  if(strcmp(gw_factschema_id(s), want)) {
    snprintf(err, errlen, "%s: #/$id: must be \"%s\"", file, want);
    gw_factschema_free(s);
    return 1;
  }
  gw_factschema_free(s);
  return 0;
}

static int predicate_local(const char *file, const char *text, size_t len, char *id,
                           size_t idlen, int *version, char *err, size_t errlen)
{
  json_t *doc;
  /* a definition names facts and purposes: judged here when a catalogue is
   * at hand, by the gateway in any case */
  if((getenv("GW_SCHEMAS_DIR") || access("schemas/facts", R_OK) == 0) &&
     gwctl_use_catalogue(NULL, "gwctl predicate push"))
    return 2;
  if(gw_catalogue_current())
    return gw_pred_check_text_ex(file, text, len, id, version, idlen, err, errlen) ? 1 : 0;
  doc = json_loadb(text, len, 0, NULL);
  if(!id_chars_ok(json_string_value(json_object_get(doc, "id")))) {
    snprintf(err, errlen, "%s: id: missing or not a predicate id", file);
    json_decref(doc);
    return 1;
  }
  snprintf(id, idlen, "%s", json_string_value(json_object_get(doc, "id")));
  *version = (int)json_integer_value(json_object_get(doc, "version"));
  json_decref(doc);
  return 0;
}

/* The schemas/facts folder to judge against: $GW_SCHEMAS_DIR, else
 * ./schemas/facts, else NULL. */
static const char *local_facts_dir(void)
{
  const char *dir = getenv("GW_SCHEMAS_DIR");
  if(dir && *dir)
    return dir;
  return access("schemas/facts", R_OK) == 0 ? "schemas/facts" : NULL;
}

/* purposes.json: judged with a local catalogue's facts when one is at hand
 * (the same loader as the gateway's), else for form only; the gateway
 * judges again against its own.  The resource has no id (id is ""). */
static int purposes_local(const char *file, const char *text, size_t len, char *id,
                          size_t idlen, int *version, char *err, size_t errlen)
{
  const char *dir = local_facts_dir();
  struct gw_catalogue *c = NULL;
  if(idlen)
    id[0] = '\0';
  if(!dir)
    return gw_purposes_check_text(file, text, len, version, err, errlen) ? 1 : 0;
  if(gw_catalogue_load(dir, file, &c, err, errlen))
    return 1;
  *version = (int)gw_catalogue_version(c);
  gw_catalogue_free(c);
  return 0;
}

static const struct push_kind push_adapter = { "adapter", "/v1/adapters/", GW_ADAPTER_FILE_MAX,
                                               adapter_local };
static const struct push_kind push_fact = { "fact", "/v1/facts/", GW_FACTSCHEMA_FILE_MAX,
                                            fact_local };
static const struct push_kind push_predicate = { "predicate", "/v1/predicates/",
                                                 GW_PRED_FILE_MAX_BYTES, predicate_local };
static const struct push_kind push_purposes = { "purposes", "/v1/purposes",
                                                GW_CATALOGUE_FILE_MAX, purposes_local };

/* gwctl KIND push FILE TARGET: validated locally, then PUT. */
static int push(const struct push_kind *k, int argc, char **argv)
{
  struct target t;
  struct gwctl_http_resp r = { 0, NULL, 0 };
  const char *file = NULL;
  char err[1024], path[256], id[80], *text = NULL;
  size_t len;
  int rc = 2, version = 0;

  switch(parse_target(argc, argv, &t, &file, NULL, 1, err, sizeof(err))) {
  case -1:
    fprintf(stderr, "usage: gwctl %s push FILE (--stack S | --url URL --cacert CA "
                    "--cert C --key K)\n", k->cmd);
    return 2;
  case -2:
    fprintf(stderr, "gwctl %s push: %s\n", k->cmd, err);
    return 2;
  }
  text = gwctl_read_source(file, NULL, k->max_bytes, &len, err, sizeof(err));
  if(!text) {
    fprintf(stderr, "gwctl %s push: %s\n", k->cmd, err);
    goto out;
  }
  switch(k->local(file, text, len, id, sizeof(id), &version, err, sizeof(err))) {
  case 0:
    break;
  case 1:
    printf("%s\n", err);              /* refused here: nothing sent */
    rc = 1;
    goto out;
  default:
    goto out;
  }
  snprintf(path, sizeof(path), "%s%s", k->prefix, id);
  if(gwctl_http(&t.h, "PUT", path, text, ADMIN_MAX_ANSWER, &r, err, sizeof(err))) {
    fprintf(stderr, "gwctl %s push: %s\n", k->cmd, err);
    goto out;
  }
  if(r.status == 200 || r.status == 201) {
    printf("%s: %s version %d %s\n", file, *id ? id : k->cmd, version,
           r.status == 201 ? "registered and active" : "active (replaced the previous version)");
    rc = 0;
  }
  else {
    gwctl_http_problem(path, &r, err, sizeof(err));
    printf("%s\n", err);
    rc = 1;
  }

out:
  gwctl_http_free(&r);
  gw_free(text);
  target_free(&t);
  return rc;
}

int gwctl_adapter_push(int argc, char **argv)
{
  return push(&push_adapter, argc, argv);
}

int gwctl_fact_push(int argc, char **argv)
{
  return push(&push_fact, argc, argv);
}

int gwctl_predicate_push(int argc, char **argv)
{
  return push(&push_predicate, argc, argv);
}

int gwctl_purposes_push(int argc, char **argv)
{
  return push(&push_purposes, argc, argv);
}

/* gwctl purposes validate [--schemas DIR] FILE...: "FILE: ok (purposes
 * version N)" or the loader's FILE: FIELD: PROBLEM.  Every fact named is
 * looked up in DIR ($GW_SCHEMAS_DIR, else ./schemas/facts); with no
 * catalogue at hand only the form is checked, and the line says so. */
int gwctl_purposes_validate(int argc, char **argv)
{
  const char *dir = NULL;
  int bad = 0, first = 0;
  if(argc >= 2 && !strcmp(argv[0], "--schemas")) {
    dir = argv[1];
    first = 2;
  }
  if(argc <= first) {
    fprintf(stderr, "usage: gwctl purposes validate [--schemas DIR] FILE...\n");
    return 2;
  }
  if(!dir)
    dir = local_facts_dir();
  for(int i = first; i < argc; i++) {
    char err[1024], *text;
    size_t len;
    int version = 0;
    text = gwctl_read_source(argv[i], NULL, GW_CATALOGUE_FILE_MAX, &len, err, sizeof(err));
    if(!text) {
      printf("%s: %s\n", argv[i], err);
      bad = 1;
      continue;
    }
    if(dir) {
      struct gw_catalogue *c = NULL;
      if(gw_catalogue_load(dir, argv[i], &c, err, sizeof(err))) {
        printf("%s\n", err);
        bad = 1;
      }
      else
        printf("%s: ok (purposes version %lld, facts checked against %s)\n", argv[i],
               gw_catalogue_version(c), dir);
      gw_catalogue_free(c);
    }
    else if(gw_purposes_check_text(argv[i], text, len, &version, err, sizeof(err))) {
      printf("%s\n", err);
      bad = 1;
    }
    else
      printf("%s: ok (purposes version %d; form only: no catalogue to check the facts "
             "against, give --schemas DIR)\n", argv[i], version);
    gw_free(text);
  }
  return bad;
}

/* gwctl fact validate FILE...: "FILE: ok (fact NAME version N)" or the
 * loader's FILE: FIELD: PROBLEM.  Nothing but the file is needed. */
int gwctl_fact_validate(int argc, char **argv)
{
  int bad = 0;
  if(argc < 1) {
    fprintf(stderr, "usage: gwctl fact validate FILE...\n");
    return 2;
  }
  for(int i = 0; i < argc; i++) {
    char err[1024], id[80], *text;
    size_t len;
    int version = 0;
    text = gwctl_read_source(argv[i], NULL, GW_FACTSCHEMA_FILE_MAX, &len, err, sizeof(err));
    if(!text) {
      printf("%s: %s\n", argv[i], err);
      bad = 1;
      continue;
    }
    if(fact_local(argv[i], text, len, id, sizeof(id), &version, err, sizeof(err))) {
      printf("%s\n", err);
      bad = 1;
    }
    else
      printf("%s: ok (fact %s version %d)\n", argv[i], id, version);
    gw_free(text);
  }
  return bad;
}

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
  (void)p; (void)arg;
  return size * n;
}

/* The ops listener is plain HTTP on a management address: its status code. */
static long ops_status(const char *base, const char *path)
{
  char url[1024];
  long status = 0;
  CURL *c = curl_easy_init();
  if(!c || snprintf(url, sizeof(url), "%s%s", base, path) >= (int)sizeof(url)) {
    if(c)
      curl_easy_cleanup(c);
    return 0;
  }
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
  if(curl_easy_perform(c) == CURLE_OK)
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(c);
  return status;
}

int gwctl_status(int argc, char **argv)
{
  struct target t;
  struct gwctl_http_resp r = { 0, NULL, 0 }, ck = { 0, NULL, 0 }, ready = { 0, NULL, 0 };
  char err[1024];
  json_t *ag = NULL, *e;
  size_t i;
  int json_out = 0, rc = 2;

  switch(parse_target(argc, argv, &t, NULL, &json_out, 0, err, sizeof(err))) {
  case -1:
    fprintf(stderr, "usage: gwctl status (--stack S | --url URL --cacert CA --cert C --key K "
                    "[--ops URL]) [--json]\n");
    return 2;
  case -2:
    fprintf(stderr, "gwctl status: %s\n", err);
    return 2;
  }
  if(gwctl_http_get_ok(&t.h, "/v1/agencies", ADMIN_MAX_ANSWER, &r, err, sizeof(err))) {
    fprintf(stderr, "gwctl status: %s\n", err);
    rc = 1;
    goto out;
  }
  ag = json_loads(r.body, 0, NULL);
  (void)gwctl_http(&t.h, "GET", "/v1/audit/checkpoint", NULL, 64 * 1024, &ck, err, sizeof(err));
  if(t.ops)
    ready.status = ops_status(t.ops, "/readyz");
  if(json_out) {
    printf("%s\n", r.body);
    rc = 0;
    goto out;
  }
  printf("gateway     %s  %s\n", t.h.base,
         !t.ops ? "(readiness unknown: no ops URL)" : ready.status == 200 ? "ready" : "NOT READY");
  if(ck.status == 200 && ck.body) {
    char *size = strchr(ck.body, '\n');
    printf("audit log   %.*s records (latest checkpoint)\n",
           size ? (int)strcspn(size + 1, "\n") : 1, size ? size + 1 : "?");
  }
  printf("%-24s %-8s %-10s %-9s %-7s %s\n", "ADAPTER", "AGENCY", "BREAKER", "FAILURES",
         "INFLIGHT", "RATE");
  json_array_foreach(json_object_get(ag, "agencies"), i, e) {
    json_t *br = json_object_get(e, "breaker"), *cc = json_object_get(e, "concurrency");
    json_t *rate = json_object_get(e, "rate");
    printf("%-24s %-8s %-10s %-9lld %-7lld %s\n",
           json_string_value(json_object_get(e, "adapter")),
           json_string_value(json_object_get(e, "agency")),
           json_string_value(json_object_get(br, "state")),
           (long long)json_integer_value(json_object_get(br, "failures")),
           (long long)json_integer_value(json_object_get(cc, "in_flight")),
           json_is_true(json_object_get(rate, "unlimited")) ? "unlimited" : "limited");
  }
  rc = 0;

out:
  json_decref(ag);
  gwctl_http_free(&r);
  gwctl_http_free(&ck);
  gwctl_http_free(&ready);
  target_free(&t);
  return rc;
}
