/*
 * gwctl_adapter.c - "gwctl adapter validate|test": what an agency IT team
 * runs before pushing an adapter.
 *
 *   gwctl adapter validate [--stack STACK.json | --base DIR] FILE...
 *   gwctl adapter test FILE --subject ID --name NAME [--schemas DIR]
 *                           [--deadline MS] [--json]
 *
 * validate loads each file exactly as the gateway would and prints either
 * "FILE: ok" or the loader's "FILE: FIELD: PROBLEM".  Relative paths in an
 * adapter resolve against its own folder, as in the gateway; --stack or
 * --base resolve them elsewhere (the shipped adapters name a stack's PKI),
 * and the output says so.  test runs one real
 * exchange with the agency through the gateway's own engine (TLS, auth,
 * policy, verification, mapping, schema check) and prints the normalized
 * facts, the verification result and the timing.  The identity number is
 * validated first and never printed.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "gw/adapter.h"
#include "gw/alloc.h"
#include "gw/factschema.h"
#include "gw/facts.h"
#include "gw/fetch.h"
#include "gw/idnum.h"
#include "gw/oauth.h"
#include "gw/policy.h"
#include "gw/upstream.h"
#include "gw/xmlsafe.h"
#include "gw/xmlsig.h"
#include "gwctl_int.h"

/* The folder relative paths of the adapters resolve against, from
 * --stack STACK.json (the stack's adapters/ folder, where scripts/stack
 * puts its copies, so the shipped "../pki/..." names the stack's PKI) or
 * --base DIR.  NULL: each file's own folder, as the gateway does.  The
 * result is the caller's (gw_free). */
static char *validate_base(const char *stack, const char *base)
{
  json_t *doc;
  json_error_t jerr;
  const char *dir;
  char *out = NULL;
  size_t n;

  if(base)
    return gw_strdup(base);
  if(!stack)
    return NULL;
  doc = json_load_file(stack, 0, &jerr);
  if(!doc || !(dir = json_string_value(json_object_get(doc, "dir")))) {
    fprintf(stderr, "gwctl adapter validate: %s: not a stack.json with \"dir\" (%s)\n", stack,
            doc ? "no dir member" : jerr.text);
    json_decref(doc);
    return NULL;
  }
  n = strlen(dir) + sizeof("/adapters");
  out = gw_malloc(n);
  snprintf(out, n, "%s/adapters", dir);
  json_decref(doc);
  return out;
}

/* An adapter is judged against a catalogue (which facts exist): DIR's
 * schema files and DIR/../purposes.json, by default $GW_SCHEMAS_DIR, else
 * schemas/facts of the working directory (a checkout or an installed
 * gateway's data dir).
 * Kept for the process's life.  0, or -1 after saying why. */
int gwctl_use_catalogue(const char *dir, const char *who)
{
  static struct gw_catalogue *cat;
  char purposes[4096], err[1024];

  if(!dir && getenv("GW_SCHEMAS_DIR") && *getenv("GW_SCHEMAS_DIR"))
    dir = getenv("GW_SCHEMAS_DIR");
  if(!dir && !access("schemas/facts", R_OK))
    dir = "schemas/facts";
  if(!dir) {
    fprintf(stderr, "%s: no fact catalogue: run where schemas/facts is, or give --schemas DIR\n",
            who);
    return -1;
  }
  snprintf(purposes, sizeof(purposes), "%s/../purposes.json", dir);
  if(gw_catalogue_load(dir, purposes, &cat, err, sizeof(err))) {
    fprintf(stderr, "%s: --schemas: %s\n", who, err);
    return -1;
  }
  gw_catalogue_install(cat);
  return 0;
}

static int validate(int argc, char **argv)
{
  static const struct option opts[] = {
    { "stack", required_argument, NULL, 's' },
    { "base", required_argument, NULL, 'b' },
    { "schemas", required_argument, NULL, 'S' },
    { NULL, 0, NULL, 0 }
  };
  const char *stack = NULL, *base = NULL, *schemas_dir = NULL;
  char *dir = NULL;
  int bad = 0, missing_file = 0, opt;

  optind = 1;
  while((opt = getopt_long(argc + 1, argv - 1, "", opts, NULL)) != -1) {
    if(opt == 's')
      stack = optarg;
    else if(opt == 'b')
      base = optarg;
    else if(opt == 'S')
      schemas_dir = optarg;
    else
      goto usage;
  }
  argv += optind - 1;
  argc -= optind - 1;
  if(argc < 1 || (stack && base))
    goto usage;
  if(gwctl_use_catalogue(schemas_dir, "gwctl adapter validate"))
    return 2;
  if((stack || base) && !(dir = validate_base(stack, base)))
    return 2;
  if(dir)
    printf("relative paths (CA files, keys, file: secrets) resolved against %s\n", dir);
  for(int i = 0; i < argc; i++) {
    struct gw_adapter *a;
    char err[1024];
    int rc;
    if(dir) {
      size_t len;
      char *text = gwctl_read_source(argv[i], NULL, GW_ADAPTER_FILE_MAX, &len, err,
                                     sizeof(err));
      if(!text) {
        printf("%s: %s\n", argv[i], err);
        bad = 1;
        continue;
      }
      rc = gw_adapter_load_text(text, len, argv[i], dir, &a, err, sizeof(err));
      gw_free(text);
    }
    else
      rc = gw_adapter_load(argv[i], &a, err, sizeof(err));
    if(rc) {
      printf("%s\n", err);
      if(strstr(err, "No such file"))
        missing_file = 1;
      bad = 1;
      continue;
    }
    printf("%s: ok (%s version %d, agency %s, protocol %s, %zu fact%s)\n", argv[i], a->id,
           a->version, a->agency, gw_protocol_name(a->protocol), a->n_facts,
           a->n_facts == 1 ? "" : "s");
    gw_adapter_unref(a);
  }
  if(missing_file && !dir)
    fprintf(stderr, "gwctl adapter validate: relative paths resolve against each adapter's "
            "own folder, as in the gateway's adapters_dir; the shipped adapters name a "
            "stack's files (../pki/...): check them with --stack STACK.json or --base DIR\n");
  gw_free(dir);
  return bad;
usage:
  fprintf(stderr, "usage: gwctl adapter validate [--stack STACK.json | --base DIR] [--schemas DIR] FILE...\n"
                  "  --stack  resolve relative paths against the stack's adapters/ folder\n"
                  "  --base   resolve relative paths against DIR\n"
                  "  --schemas the fact catalogue (default $GW_SCHEMAS_DIR, else ./schemas/facts)\n");
  return 2;
}

struct test_run {
  struct event_base *base;
  json_t *out;
  int done;
};

static void on_done(const struct gw_fetch_result *res, void *arg)
{
  struct test_run *t = arg;
  t->out = gw_fetch_result_json(res);
  t->done = 1;
  event_base_loopbreak(t->base);
}

static int test(int argc, char **argv)
{
  static const struct option opts[] = {
    { "subject", required_argument, NULL, 's' },
    { "name", required_argument, NULL, 'n' },
    { "schemas", required_argument, NULL, 'S' },
    { "deadline", required_argument, NULL, 'd' },
    { "json", no_argument, NULL, 'j' },
    { NULL, 0, NULL, 0 }
  };
  const char *subject = NULL, *name = NULL, *schemas_dir = NULL;
  char id[GW_IDNUM_LEN + 1], err[1024];
  long deadline = 5000;
  int opt, json_out = 0, rc = 2;
  struct gw_adapter *a = NULL;
  struct gw_adapter_rt *rt = NULL;
  struct gw_factschema_set *schemas = NULL;
  struct gw_upstream *up = NULL;
  struct gw_oauth *oauth = NULL;
  struct gw_fetch_env env;
  struct test_run t = { NULL, NULL, 0 };
  enum gw_idnum_result ir;

  optind = 1;
  while((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch(opt) {
    case 's': subject = optarg; break;
    case 'n': name = optarg; break;
    case 'S': schemas_dir = optarg; break;
    case 'd': deadline = strtol(optarg, NULL, 10); break;
    case 'j': json_out = 1; break;
    default: goto usage;
    }
  }
  if(argc - optind != 1 || !subject || !name || deadline < 1 || deadline > 120000)
    goto usage;
  ir = gw_idnum_normalize(subject, id, 0);
  if(ir != GW_IDNUM_OK) {
    fprintf(stderr, "gwctl adapter test: --subject: %s\n", gw_idnum_strerror(ir));
    return 2;
  }
  if(!schemas_dir && !access("schemas/facts", R_OK))
    schemas_dir = "schemas/facts";
  if(gwctl_use_catalogue(schemas_dir, "gwctl adapter test"))
    return 2;
  if(gw_adapter_load(argv[optind], &a, err, sizeof(err))) {
    printf("%s\n", err);
    return 1;
  }
  gw_xml_init();
  if(gw_xmlsig_global_init() || gw_upstream_global_init(err, sizeof(err))) {
    fprintf(stderr, "gwctl adapter test: cannot initialize libxmlsec1/libcurl\n");
    goto out;
  }
  if(schemas_dir && gw_factschema_set_load(schemas_dir, &schemas, err, sizeof(err))) {
    fprintf(stderr, "gwctl adapter test: --schemas: %s\n", err);
    goto out;
  }
  rt = gw_adapter_rt_new(a, err, sizeof(err));
  if(!rt) {
    printf("%s: %s\n", argv[optind], err);
    rc = 1;
    goto out;
  }
  t.base = event_base_new();
  up = t.base ? gw_upstream_new(t.base, NULL, err, sizeof(err)) : NULL;
  if(!up) {
    fprintf(stderr, "gwctl adapter test: %s\n", err);
    goto out;
  }
  oauth = gw_oauth_new(up, NULL, NULL);
  memset(&env, 0, sizeof(env));
  env.base = t.base;
  env.up = up;
  env.oauth = oauth;
  env.schemas = schemas;
  (void)gw_fetch_start(&env, rt, id, name, "gwctl-adapter-test",
                       gw_policy_now_ms() + (uint64_t)deadline, on_done, &t);
  event_base_dispatch(t.base);
  if(!t.done) {
    fprintf(stderr, "gwctl adapter test: the exchange did not finish\n");
    goto out;
  }
  if(json_out) {
    char *s = json_dumps(t.out, JSON_INDENT(2));
    printf("%s\n", s);
    free(s);
  }
  else {
    const char *k;
    json_t *f;
    printf("adapter    %s v%lld (%s)\n", json_string_value(json_object_get(t.out, "adapter")),
           (long long)json_integer_value(json_object_get(t.out, "version")),
           json_string_value(json_object_get(t.out, "agency")));
    printf("exchange   %s, HTTP %lld, %lld attempt(s), %.1f ms, channel %s\n",
           json_string_value(json_object_get(t.out, "outcome")),
           (long long)json_integer_value(json_object_get(t.out, "http_status")),
           (long long)json_integer_value(json_object_get(t.out, "attempts")),
           json_real_value(json_object_get(t.out, "duration_ms")),
           json_string_value(json_object_get(t.out, "channel")));
    printf("signature  %s\n", json_string_value(json_object_get(t.out, "agency_signature")));
    json_object_foreach(json_object_get(t.out, "facts"), k, f) {
      char *v = json_object_get(f, "value") ? json_dumps(json_object_get(f, "value"),
                                                         JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
      printf("fact       %-34s %-12s %s%s%s\n", k, json_string_value(json_object_get(f, "status")),
             v ? v : (json_string_value(json_object_get(f, "error")) ?
                      json_string_value(json_object_get(f, "error")) : ""),
             json_object_get(f, "detail") ? "  " : "",
             json_object_get(f, "detail") ? json_string_value(json_object_get(f, "detail")) : "");
      free(v);
    }
  }
  rc = 0;
  {
    const char *k;
    json_t *f;
    json_object_foreach(json_object_get(t.out, "facts"), k, f)
      if(!strcmp(json_string_value(json_object_get(f, "status")), "unavailable"))
        rc = 1;
  }

out:
  memset(id, 0, sizeof(id));
  json_decref(t.out);
  gw_oauth_free(oauth);
  gw_upstream_free(up);
  if(t.base)
    event_base_free(t.base);
  gw_adapter_rt_unref(rt);
  gw_adapter_unref(a);
  gw_factschema_set_free(schemas);
  return rc;

usage:
  fprintf(stderr, "usage: gwctl adapter test FILE --subject ID --name NAME [--schemas DIR] "
                  "[--deadline MS] [--json]\n");
  return 2;
}

int gwctl_adapter(int argc, char **argv)
{
  if(argc >= 2 && !strcmp(argv[1], "validate"))
    return validate(argc - 2, argv + 2);
  if(argc >= 2 && !strcmp(argv[1], "test"))
    return test(argc - 1, argv + 1);
  if(argc >= 2 && !strcmp(argv[1], "push"))
    return gwctl_adapter_push(argc - 1, argv + 1);
  fprintf(stderr, "usage: gwctl adapter validate [--stack S | --base DIR] FILE... | test FILE --subject ID --name NAME | "
                  "push FILE --stack S\n");
  return 2;
}
