/*
 * gwctl_admin.c - "gwctl adapter push" and "gwctl status": the admin API
 * and the gateway's health from the command line.
 *
 *   gwctl adapter push FILE (--stack S | --url URL --cacert CA --cert C --key K)
 *   gwctl status (--stack S | --url URL --cacert CA --cert C --key K [--ops URL]) [--json]
 *
 * push validates FILE locally first (the same loader), then PUTs it to
 * /v1/adapters/{id}; the gateway validates again, persists and activates
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

int gwctl_adapter_push(int argc, char **argv)
{
  struct target t;
  struct gwctl_http_resp r = { 0, NULL, 0 };
  struct gw_adapter *a = NULL;
  const char *file = NULL;
  char err[1024], path[256], *text = NULL;
  size_t len;
  int rc = 2;

  switch(parse_target(argc, argv, &t, &file, NULL, 1, err, sizeof(err))) {
  case -1:
    fprintf(stderr, "usage: gwctl adapter push FILE (--stack S | --url URL --cacert CA "
                    "--cert C --key K)\n");
    return 2;
  case -2:
    fprintf(stderr, "gwctl adapter push: %s\n", err);
    return 2;
  }
  /* Checked here first when a local catalogue is at hand ($GW_SCHEMAS_DIR
   * or schemas/facts of the working directory); the gateway judges again
   * against its own, which may know facts this one does not yet. */
  if((getenv("GW_SCHEMAS_DIR") || access("schemas/facts", R_OK) == 0) &&
     gwctl_use_catalogue(NULL, "gwctl adapter push"))
    goto out;
  if(gw_catalogue_current() && gw_adapter_load(file, &a, err, sizeof(err))) {
    printf("%s\n", err);              /* refused here: nothing sent */
    rc = 1;
    goto out;
  }
  text = gwctl_read_source(file, NULL, GW_ADAPTER_FILE_MAX, &len, err, sizeof(err));
  if(!text) {
    fprintf(stderr, "gwctl adapter push: %s\n", err);
    goto out;
  }
  {
    json_t *doc = a ? NULL : json_loadb(text, len, 0, NULL);
    const char *id = a ? a->id : json_string_value(json_object_get(doc, "id"));
    if(!id || !*id || strlen(id) > 64 || strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789._-") !=
       strlen(id)) {
      printf("%s: id: missing or not an adapter id\n", file);
      json_decref(doc);
      rc = 1;
      goto out;
    }
    snprintf(path, sizeof(path), "/v1/adapters/%s", id);
    json_decref(doc);
  }
  if(gwctl_http(&t.h, "PUT", path, text, ADMIN_MAX_ANSWER, &r, err, sizeof(err))) {
    fprintf(stderr, "gwctl adapter push: %s\n", err);
    goto out;
  }
  if(r.status == 200 || r.status == 201) {
    json_t *doc = a ? NULL : json_loadb(text, len, 0, NULL);
    printf("%s: %s version %d %s\n", file, path + strlen("/v1/adapters/"),
           a ? a->version : (int)json_integer_value(json_object_get(doc, "version")),
           r.status == 201 ? "registered and active" : "active (replaced the previous version)");
    json_decref(doc);
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
  gw_adapter_unref(a);
  target_free(&t);
  return rc;
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
