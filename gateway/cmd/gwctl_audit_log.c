/*
 * gwctl_audit_log.c - the log as the subcommands that read all of it
 * (sample, explain, generation) read it: their common options (--stack,
 * --vkey, --vkey-file), the stack's auditor client, a verified checkpoint,
 * and one walk over the entries that hashes each into a Merkle tree and
 * checks the signed root at the checkpoint's size.
 *
 * The one idea: a subcommand sees an entry only through the walk, so
 * nothing it concludes rests on an entry the checkpoint does not vouch for
 * (or, with GWCTL_WALK_TO_END, on one it reads past the checkpoint knowing
 * that it is past it).  What a subcommand does with an entry is its
 * callback; how it reports a failure (a PROBLEM line, a message on stderr)
 * is its own: these functions only fill err.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gw/alloc.h"
#include "gw/b64.h"
#include "gw/checkpoint.h"
#include "gw/merkle.h"
#include "gwctl_audit_int.h"

/* Entries asked for per page (the gateway may answer fewer). */
#define LOG_PAGE 1000
/* Largest answer read: a page of entries is at most 4 MiB of records. */
#define LOG_PAGE_MAX (8u << 20)

void gwctl_audit_log_init(struct gwctl_audit_log *l)
{
  memset(l, 0, sizeof(*l));
  optind = 1;
}

int gwctl_audit_log_getopt(struct gwctl_audit_log *l, int argc, char **argv,
                           const struct option *opts)
{
  int opt;
  while((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch(opt) {
    case GWCTL_LOG_OPT_STACK: l->stack = optarg; break;
    case GWCTL_LOG_OPT_VKEY: l->vkey_arg = optarg; break;
    case GWCTL_LOG_OPT_VKEY_FILE: l->vkey_file = optarg; break;
    default: return opt;
    }
  }
  return -1;
}

int gwctl_audit_log_opts_ok(const struct gwctl_audit_log *l)
{
  return l->stack && !(l->vkey_arg && l->vkey_file);
}

int gwctl_audit_log_open(struct gwctl_audit_log *l, char *err, size_t errlen)
{
  if(gwctl_stack_load(l->stack, &l->st, err, errlen))
    return -1;
  l->auditor = (struct gwctl_http){ l->st.url, l->st.gateway_ca, l->st.auditor_cert,
                                    l->st.auditor_key };
  l->pinned = gwctl_vkey_read(l->vkey_arg, l->vkey_file, err, errlen);
  if(l->vkey_file && !l->pinned)
    return -1;
  return 0;
}

int gwctl_audit_log_checkpoint(struct gwctl_audit_log *l, char *err, size_t errlen)
{
  gw_free(l->vkey);
  l->vkey = NULL;
  return gwctl_fetch_checkpoint(&l->auditor, l->pinned, &l->cp, &l->vkey, err, errlen);
}

void gwctl_audit_log_close(struct gwctl_audit_log *l)
{
  gwctl_stack_free(&l->st);
  gw_free(l->pinned);
  gw_free(l->vkey);
  l->pinned = l->vkey = NULL;
}

int gwctl_audit_entry_bytes(json_t *e, uint64_t want, unsigned char **data, size_t *len)
{
  const char *b64 = json_string_value(json_object_get(e, "data"));
  *data = NULL;
  if(json_integer_value(json_object_get(e, "index")) != (json_int_t)want || !b64)
    return -1;
  return gw_b64_decode_alloc(GW_B64_STD, b64, strlen(b64), data, len) == GW_B64_OK ? 0 : -1;
}

/* One page from `next`: 1 with *doc (its "entries" a non-empty array), 0
 * when a walk to the end is past the last entry, -1 with err. */
static int get_page(struct gwctl_audit_log *l, uint64_t next, int to_end, json_t **doc,
                    char *err, size_t errlen)
{
  struct gwctl_http_resp r;
  char path[96];
  uint64_t count = LOG_PAGE;

  if(!to_end && l->cp.size - next < count)
    count = l->cp.size - next;
  snprintf(path, sizeof(path), "/v1/audit/entries?start=%llu&count=%llu",
           (unsigned long long)next, (unsigned long long)count);
  if(gwctl_http(&l->auditor, "GET", path, NULL, LOG_PAGE_MAX, &r, err, errlen))
    return -1;
  if(to_end && r.status == 404 && next > 0) {   /* past the committed size: done */
    gwctl_http_free(&r);
    return 0;
  }
  if(r.status != 200) {
    gwctl_http_problem(path, &r, err, errlen);
    gwctl_http_free(&r);
    return -1;
  }
  *doc = json_loadb(r.body, r.len, JSON_REJECT_DUPLICATES, NULL);
  gwctl_http_free(&r);
  if(!json_array_size(json_object_get(*doc, "entries"))) {
    json_decref(*doc);
    snprintf(err, errlen, "%s: no entries in the answer", path);
    return -1;
  }
  return 1;
}

int gwctl_audit_log_walk(struct gwctl_audit_log *l, enum gwctl_walk how,
                         gwctl_audit_entry_fn *fn, void *arg, uint64_t *n_read, char *err,
                         size_t errlen)
{
  struct gw_merkle_tree *tree = NULL;
  uint64_t next = 0;
  int rc = -1, root_checked = l->cp.size == 0, to_end = how == GWCTL_WALK_TO_END;
  uint8_t root[GW_MERKLE_HASH_LEN];

  if(gw_merkle_tree_new(NULL, &tree) != GW_MERKLE_OK) {
    snprintf(err, errlen, "cannot make a Merkle tree");
    return -1;
  }
  while(to_end || next < l->cp.size) {
    json_t *doc = NULL, *e;
    size_t i;
    int got = get_page(l, next, to_end, &doc, err, errlen);
    if(got < 0)
      goto out;
    if(!got)
      break;
    json_array_foreach(json_object_get(doc, "entries"), i, e) {
      unsigned char *data = NULL;
      size_t len = 0;
      uint8_t leaf[GW_MERKLE_HASH_LEN];
      int stop;
      if(!to_end && next >= l->cp.size)
        break;
      if(gwctl_audit_entry_bytes(e, next, &data, &len) ||
         gw_merkle_tree_append_data(tree, data, len, leaf) != GW_MERKLE_OK) {
        gw_free(data);
        json_decref(doc);
        snprintf(err, errlen, "entry %llu is malformed or out of order",
                 (unsigned long long)next);
        goto out;
      }
      stop = fn(arg, next, data, len, leaf);
      gw_free(data);
      next++;
      if(next == l->cp.size) {
        if(gw_merkle_tree_root(tree, root) != GW_MERKLE_OK ||
           memcmp(root, l->cp.root, GW_MERKLE_HASH_LEN)) {
          json_decref(doc);
          snprintf(err, errlen, "the entries 0..%llu do not give the checkpoint's signed root",
                   (unsigned long long)l->cp.size - 1);
          goto out;
        }
        root_checked = 1;
      }
      if(stop) {
        json_decref(doc);
        snprintf(err, errlen, "stopped at entry %llu", (unsigned long long)next - 1);
        goto out;
      }
    }
    json_decref(doc);
  }
  if(!root_checked) {
    snprintf(err, errlen, "the log serves %llu entries, fewer than the checkpoint signs (%llu)",
             (unsigned long long)next, (unsigned long long)l->cp.size);
    goto out;
  }
  if(n_read)
    *n_read = next;
  rc = 0;
out:
  gw_merkle_tree_free(tree);
  return rc;
}
