/*
 * gwctl_audit_generation.c - "gwctl audit generation": which generation
 * (catalogue, predicates, adapters, ACL) served a query, and what was in
 * force in it.
 *
 *   gwctl audit generation --stack S (--query-id Q | --id N)
 *                          [--vkey VKEY | --vkey-file FILE] [--json]
 *
 * As the auditor: the checkpoint is verified, every entry up to its size
 * read and hashed into a tree whose root must be the signed one, so the
 * answer rests on what the log vouches for, not on what the gateway says.
 * Every activated generation is a `config` record (who, when, and the
 * file name, sha256 and version of each file in force); every query, fetch
 * and recheck record cites the "generation" that served it and the log
 * index of its config record ("generation_index").  The config record is
 * found by that index and must be a config record of the same generation;
 * for a record without the index, it is the last config record of that
 * generation before the query (generation ids restart at 1 when a gateway
 * restarts, and each start is recorded first).  With --id N: the latest
 * config record of generation N.
 *
 * Prints the generation and its files (or, with --json, one object:
 * {"query_id", "query_index", "generation_index", "config": <the record>}).
 * Exit 0 when found and consistent, 1 when not found or inconsistent, 2 on
 * usage or transport errors.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "gw/merkle.h"

#include "gwctl_audit_int.h"
#include "gwctl_int.h"

struct gen_scan {
  const char *qid;             /* NULL: by id */
  long long want_id;           /* by id: the generation asked */
  json_t *configs;             /* array of {"index": N, "record": {...}} in log order */
  json_t *query;               /* the query (or recheck) record, once found */
  uint64_t query_index;
};

/* Each entry up to the checkpoint (gwctl_audit_log_walk): keeps every
 * config record and the record of the query asked. */
static int scan_record(void *arg, uint64_t index, const unsigned char *data, size_t len,
                       const uint8_t leaf[GW_MERKLE_HASH_LEN])
{
  struct gen_scan *g = arg;
  json_t *rec = json_loadb((const char *)data, len, 0, NULL);
  const char *kind = json_string_value(json_object_get(rec, "kind"));

  (void)leaf;
  if(kind && !strcmp(kind, "config"))
    json_array_append_new(g->configs, json_pack("{s:I, s:O}", "index", (json_int_t)index,
                                                "record", rec));
  else if(kind && g->qid && !g->query && (!strcmp(kind, "query") || !strcmp(kind, "recheck")) &&
          json_is_string(json_object_get(rec, "query_id")) &&
          !strcmp(json_string_value(json_object_get(rec, "query_id")), g->qid)) {
    g->query = json_incref(rec);
    g->query_index = index;
  }
  json_decref(rec);
  return 0;
}

/* The config entry ({"index", "record"}) that served, or NULL with why. */
static json_t *resolve(const struct gen_scan *g, const char **why)
{
  json_t *e, *found = NULL;
  size_t i;

  if(g->qid) {
    json_t *gi = json_object_get(g->query, "generation_index");
    long long id = json_integer_value(json_object_get(g->query, "generation"));
    if(!json_is_integer(json_object_get(g->query, "generation"))) {
      *why = "the query record cites no generation (written before generations were recorded)";
      return NULL;
    }
    json_array_foreach(g->configs, i, e) {
      uint64_t at = (uint64_t)json_integer_value(json_object_get(e, "index"));
      long long cid = json_integer_value(json_object_get(json_object_get(e, "record"),
                                                         "generation"));
      if(json_is_integer(gi)) {
        if(at == (uint64_t)json_integer_value(gi))
          found = cid == id ? e : NULL;
        continue;
      }
      if(at < g->query_index && cid == id)
        found = e;              /* the last one before the query */
    }
    if(!found)
      *why = json_is_integer(gi) ? "generation_index does not name a config record of that "
                                   "generation"
                                 : "no config record of that generation precedes the query";
    return found;
  }
  json_array_foreach(g->configs, i, e)
    if(json_integer_value(json_object_get(json_object_get(e, "record"), "generation")) ==
       g->want_id)
      found = e;
  if(!found)
    *why = "no config record of that generation in the log";
  return found;
}

static void print_file(const char *what, json_t *f)
{
  printf("  %-10s %s", what, json_string_value(json_object_get(f, "path")));
  if(json_is_string(json_object_get(f, "id")))
    printf("  %s", json_string_value(json_object_get(f, "id")));
  if(json_is_integer(json_object_get(f, "version")))
    printf("  v%lld", (long long)json_integer_value(json_object_get(f, "version")));
  printf("  sha256 %s\n", json_string_value(json_object_get(f, "sha256")));
}

static void print_config(uint64_t index, json_t *rec)
{
  json_t *cat = json_object_get(rec, "catalogue"), *f;
  time_t t = (time_t)(json_integer_value(json_object_get(rec, "time")) / 1000);
  char when[32];
  size_t i;
  struct tm tm;

  gmtime_r(&t, &tm);
  strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
  printf("generation: %lld, activated %s by %s (config record at index %llu)\n",
         (long long)json_integer_value(json_object_get(rec, "generation")), when,
         json_string_value(json_object_get(rec, "who")), (unsigned long long)index);
  printf("catalogue:  version %lld, digest %s\n",
         (long long)json_integer_value(json_object_get(cat, "version")),
         json_string_value(json_object_get(cat, "digest")));
  json_array_foreach(json_object_get(cat, "facts"), i, f)
    print_file("fact", f);
  if(json_is_object(json_object_get(cat, "purposes")))
    print_file("purposes", json_object_get(cat, "purposes"));
  json_array_foreach(json_object_get(rec, "predicates"), i, f)
    print_file("predicate", f);
  json_array_foreach(json_object_get(rec, "adapters"), i, f)
    print_file("adapter", f);
  if(json_is_object(json_object_get(rec, "acl")))
    print_file("acl", json_object_get(rec, "acl"));
}

int gwctl_audit_generation(int argc, char **argv)
{
  static const struct option opts[] = {
    GWCTL_AUDIT_LOG_OPTS,
    { "query-id", required_argument, NULL, 'q' },
    { "id", required_argument, NULL, 'i' },
    { "json", no_argument, NULL, 'j' },
    { NULL, 0, NULL, 0 }
  };
  struct gen_scan g;
  struct gwctl_audit_log log;
  const char *why = NULL;
  char err[512], *end;
  int opt, rc = 2, as_json = 0, by_id = 0;
  json_t *found;

  memset(&g, 0, sizeof(g));
  gwctl_audit_log_init(&log);
  while((opt = gwctl_audit_log_getopt(&log, argc, argv, opts)) != -1) {
    switch(opt) {
    case 'q': g.qid = optarg; break;
    case 'i':
      g.want_id = strtoll(optarg, &end, 10);
      if(*end || g.want_id < 1)
        goto usage;
      by_id = 1;
      break;
    case 'j': as_json = 1; break;
    default: goto usage;
    }
  }
  if(optind != argc || !gwctl_audit_log_opts_ok(&log) || (!g.qid == !by_id))
    goto usage;
  if(gwctl_audit_log_open(&log, err, sizeof(err)) ||
     gwctl_audit_log_checkpoint(&log, err, sizeof(err))) {
    fprintf(stderr, "gwctl audit generation: %s\n", err);
    goto out;
  }
  g.configs = json_array();
  if(gwctl_audit_log_walk(&log, GWCTL_WALK_TO_CHECKPOINT, scan_record, &g, NULL, err,
                          sizeof(err))) {
    fprintf(stderr, "gwctl audit generation: %s\n", err);
    goto out;
  }
  rc = 1;
  if(g.qid && !g.query) {
    fprintf(stderr, "gwctl audit generation: no query %s in the log up to the checkpoint "
                    "(tree size %llu)\n", g.qid, (unsigned long long)log.cp.size);
    goto out;
  }
  found = resolve(&g, &why);
  if(!found) {
    fprintf(stderr, "gwctl audit generation: %s\n", why);
    goto out;
  }
  if(as_json) {
    json_t *o = json_object();
    char *s;
    if(g.qid) {
      json_object_set_new(o, "query_id", json_string(g.qid));
      json_object_set_new(o, "query_index", json_integer((json_int_t)g.query_index));
    }
    json_object_set(o, "generation_index", json_object_get(found, "index"));
    json_object_set(o, "config", json_object_get(found, "record"));
    s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(o);
    if(s)
      puts(s);
    free(s);
  }
  else {
    printf("checkpoint: tree size %llu, signature and root verified\n",
           (unsigned long long)log.cp.size);
    if(g.qid)
      printf("query:      %s (%s record at index %llu) was served by generation %lld\n",
             g.qid, json_string_value(json_object_get(g.query, "kind")),
             (unsigned long long)g.query_index,
             (long long)json_integer_value(json_object_get(g.query, "generation")));
    print_config((uint64_t)json_integer_value(json_object_get(found, "index")),
                 json_object_get(found, "record"));
  }
  rc = 0;
out:
  json_decref(g.configs);
  json_decref(g.query);
  gwctl_audit_log_close(&log);
  return rc;

usage:
  fprintf(stderr, "usage: gwctl audit generation " GWCTL_AUDIT_LOG_USAGE
                  " (--query-id Q | --id N) [--json]\n");
  return 2;
}
