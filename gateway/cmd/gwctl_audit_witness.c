/*
 * gwctl_audit_witness.c - gwctl audit witnessed: checks a checkpoint's
 * witness cosignatures (c2sp.org/tlog-cosignature v1) against a witness
 * policy: k of these witness keys must have cosigned it.
 *
 *   gwctl audit witnessed (--stack S [--instance N] | --url URL --cacert F
 *                          --cert F --key F | --note FILE)
 *                         [--vkey VKEY | --vkey-file FILE]
 *                         --witnesses POLICY [--quorum K]
 *
 * POLICY is a text file: one witness verifier key per line
 * ("<name>+<hex id>+<base64(0x04 || Ed25519 key)>", what GET
 * /v1/audit/witness-key serves), '#' comments, and optionally a line
 * "quorum K"; --quorum overrides it; the default is every key.  The
 * checkpoint's own signature is verified first (with --vkey, else with the
 * key the gateway serves).  Exit 0: the quorum is met; 1: it is not, or
 * the checkpoint does not verify; 2: usage or unreadable input.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gw/alloc.h"
#include "gw/checkpoint.h"
#include "gw/witness.h"
#include "gwctl_audit_int.h"
#include "gwctl_int.h"

#define POLICY_KEYS_MAX 64

struct policy {
  char *key[POLICY_KEYS_MAX];
  size_t n;
  long quorum;            /* -1: not given */
};

static void policy_free(struct policy *p)
{
  for(size_t i = 0; i < p->n; i++)
    gw_free(p->key[i]);
  p->n = 0;
}

static int policy_read(const char *file, struct policy *p, char *err, size_t errlen)
{
  char line[1024];
  int lineno = 0;
  FILE *f = fopen(file, "r");

  p->n = 0;
  p->quorum = -1;
  if(!f) {
    snprintf(err, errlen, "%s: cannot read it", file);
    return -1;
  }
  while(fgets(line, sizeof(line), f)) {
    size_t l = strlen(line);
    char *s = line;
    lineno++;
    while(l && (line[l - 1] == '\n' || line[l - 1] == '\r' || line[l - 1] == ' '))
      line[--l] = '\0';
    while(*s == ' ')
      s++;
    if(!*s || *s == '#')
      continue;
    if(!strncmp(s, "quorum ", 7)) {
      char *end;
      p->quorum = strtol(s + 7, &end, 10);
      if(*end || p->quorum < 1) {
        snprintf(err, errlen, "%s: line %d: \"quorum\" wants a number of at least 1", file,
                 lineno);
        goto bad;
      }
      continue;
    }
    if(p->n == POLICY_KEYS_MAX || strchr(s, ' ')) {
      snprintf(err, errlen, "%s: line %d: not a witness verifier key (or more than %d)", file,
               lineno, POLICY_KEYS_MAX);
      goto bad;
    }
    /* a cosignature verifier key: checked by parsing it against nothing */
    if(gw_witness_verify_line(s, "", 0, "", 0, NULL) == -2) {
      snprintf(err, errlen, "%s: line %d: \"%.60s\" is not an Ed25519 cosignature verifier key "
               "(name+hex+base64 of 0x04 and the key)", file, lineno, s);
      goto bad;
    }
    p->key[p->n++] = gw_strdup(s);
  }
  fclose(f);
  if(!p->n) {
    snprintf(err, errlen, "%s: no witness key", file);
    return -1;
  }
  return 0;
bad:
  fclose(f);
  policy_free(p);
  return -1;
}

/* The note from the gateway, its own signature verified. */
static char *fetch_note(const struct gwctl_http *h, const char *pinned, size_t *len, char *err,
                        size_t errlen)
{
  struct gwctl_http_resp r;
  struct gw_checkpoint cp;
  char *vkey = NULL, *note;
  /* verify first (it fetches the key unless pinned) ... */
  if(gwctl_fetch_checkpoint(h, pinned, &cp, &vkey, err, errlen))
    return NULL;
  /* ... then take the note again for its signature lines and check it
   * verifies under the same key (a checkpoint made in between is fine) */
  if(gwctl_http_get_ok(h, "/v1/audit/checkpoint", GW_CHECKPOINT_NOTE_MAX, &r, err, errlen)) {
    gw_free(vkey);
    return NULL;
  }
  {
    struct gw_checkpoint_verifier *v = NULL;
    enum gw_checkpoint_result cr = gw_checkpoint_verifier_new(vkey, &v);
    if(cr == GW_CHECKPOINT_OK)
      cr = gw_checkpoint_verify(v, r.body, r.len, NULL, &cp);
    gw_checkpoint_verifier_free(v);
    if(cr != GW_CHECKPOINT_OK) {
      snprintf(err, errlen, "the checkpoint does not verify with %.80s: %s", vkey,
               gw_checkpoint_strerror(cr));
      gw_free(vkey);
      gwctl_http_free(&r);
      return NULL;
    }
  }
  printf("log key:    %s%s\n", vkey, pinned ? "" : " (fetched from the gateway: pin it with --vkey)");
  gw_free(vkey);
  note = r.body;
  *len = r.len;
  return note;
}

int gwctl_audit_witnessed(int argc, char **argv)
{
  static const struct option opts[] = {
    { "stack", required_argument, NULL, 's' },
    { "instance", required_argument, NULL, 'n' },
    { "url", required_argument, NULL, 'u' },
    { "cacert", required_argument, NULL, 'c' },
    { "cert", required_argument, NULL, 'C' },
    { "key", required_argument, NULL, 'K' },
    { "note", required_argument, NULL, 'N' },
    { "vkey", required_argument, NULL, 'v' },
    { "vkey-file", required_argument, NULL, 'V' },
    { "witnesses", required_argument, NULL, 'w' },
    { "quorum", required_argument, NULL, 'q' },
    { NULL, 0, NULL, 0 }
  };
  struct gwctl_stack st;
  struct gwctl_http h = { NULL, NULL, NULL, NULL };
  struct policy pol = { { NULL }, 0, -1 };
  struct gw_checkpoint cp;
  const char *stack = NULL, *note_file = NULL, *vkey_arg = NULL, *vkey_file = NULL;
  const char *policy_file = NULL;
  char err[512], *pinned = NULL, *note = NULL, *end, url[512];
  long quorum = -1, instance = 0;
  size_t len = 0, text_len = 0, good = 0;
  int opt, rc = 2;

  memset(&st, 0, sizeof(st));
  optind = 1;
  while((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch(opt) {
    case 's': stack = optarg; break;
    case 'n':
      instance = strtol(optarg, &end, 10);
      if(*end || instance < 1 || instance > 16)
        goto usage;
      break;
    case 'u': h.base = optarg; break;
    case 'c': h.cacert = optarg; break;
    case 'C': h.cert = optarg; break;
    case 'K': h.key = optarg; break;
    case 'N': note_file = optarg; break;
    case 'v': vkey_arg = optarg; break;
    case 'V': vkey_file = optarg; break;
    case 'w': policy_file = optarg; break;
    case 'q':
      quorum = strtol(optarg, &end, 10);
      if(*end || quorum < 1)
        goto usage;
      break;
    default: goto usage;
    }
  }
  if(optind != argc || !policy_file || (!!stack + !!h.base + !!note_file) != 1 ||
     (vkey_arg && vkey_file) || (instance && !stack))
    goto usage;
  if(policy_read(policy_file, &pol, err, sizeof(err))) {
    fprintf(stderr, "gwctl audit witnessed: %s\n", err);
    return 2;
  }
  if(quorum < 0)
    quorum = pol.quorum > 0 ? pol.quorum : (long)pol.n;
  if(quorum > (long)pol.n) {
    fprintf(stderr, "gwctl audit witnessed: a quorum of %ld cannot be met by %zu keys\n",
            quorum, pol.n);
    goto out;
  }
  pinned = gwctl_vkey_read(vkey_arg, vkey_file, err, sizeof(err));
  if(vkey_file && !pinned) {
    fprintf(stderr, "gwctl audit witnessed: %s\n", err);
    goto out;
  }
  if(stack) {
    if(gwctl_stack_load(stack, &st, err, sizeof(err))) {
      fprintf(stderr, "gwctl audit witnessed: %s\n", err);
      goto out;
    }
    h.base = st.url;
    if(instance) {
      /* gateways[N-1].url of a cluster stack */
      json_t *root = json_load_file(stack, 0, NULL), *u;
      u = json_object_get(json_array_get(json_object_get(root, "gateways"),
                                         (size_t)instance - 1), "url");
      if(!json_is_string(u)) {
        fprintf(stderr, "gwctl audit witnessed: %s has no gateways[%ld]\n", stack, instance - 1);
        json_decref(root);
        goto out;
      }
      snprintf(url, sizeof(url), "%s", json_string_value(u));
      json_decref(root);
      h.base = url;
    }
    h.cacert = st.gateway_ca;
    h.cert = st.auditor_cert;
    h.key = st.auditor_key;
  }
  rc = 1;
  if(note_file) {
    struct gw_checkpoint_verifier *v = NULL;
    enum gw_checkpoint_result cr;
    note = gwctl_read_source(note_file, NULL, GW_CHECKPOINT_NOTE_MAX, &len, err, sizeof(err));
    if(!note) {
      fprintf(stderr, "gwctl audit witnessed: %s\n", err);
      rc = 2;
      goto out;
    }
    if(!pinned) {
      fprintf(stderr, "gwctl audit witnessed: --note needs the log's key (--vkey)\n");
      rc = 2;
      goto out;
    }
    cr = gw_checkpoint_verifier_new(pinned, &v);
    if(cr == GW_CHECKPOINT_OK)
      cr = gw_checkpoint_verify(v, note, len, NULL, &cp);
    gw_checkpoint_verifier_free(v);
    if(cr != GW_CHECKPOINT_OK) {
      printf("PROBLEM:    the checkpoint does not verify with the log's key: %s\n",
             gw_checkpoint_strerror(cr));
      goto out;
    }
  }
  else {
    note = fetch_note(&h, pinned, &len, err, sizeof(err));
    if(!note) {
      printf("PROBLEM:    %s\n", err);
      goto out;
    }
  }
  for(size_t i = 1; i < len; i++)
    if(note[i] == '\n' && note[i - 1] == '\n')
      text_len = i;
  if(gw_checkpoint_parse_body(note, text_len, &cp) != GW_CHECKPOINT_OK) {
    printf("PROBLEM:    not a checkpoint\n");
    goto out;
  }
  printf("checkpoint: %s, %llu records\n", cp.origin, (unsigned long long)cp.size);
  for(size_t k = 0; k < pol.n; k++) {
    int verdict = 0;
    uint64_t t = 0;
    for(size_t pos = text_len + 1; pos < len;) {
      const char *nl = memchr(note + pos, '\n', len - pos);
      size_t l = nl ? (size_t)(nl - (note + pos)) : len - pos;
      int r = gw_witness_verify_line(pol.key[k], note, text_len, note + pos, l, &t);
      if(r == 1)
        verdict = 1;
      else if(r == -1 && verdict == 0)
        verdict = -1;
      pos += l + 1;
    }
    printf("witness:    %s %s\n", verdict == 1 ? "cosigned " : verdict ? "BAD      " : "missing  ",
           pol.key[k]);
    if(verdict == 1) {
      good++;
      printf("            at %llu (Unix time)\n", (unsigned long long)t);
    }
  }
  if((long)good >= quorum) {
    printf("RESULT:     witnessed: %zu of %zu keys cosigned (quorum %ld)\n", good, pol.n, quorum);
    rc = 0;
  }
  else
    printf("RESULT:     NOT WITNESSED: %zu of %zu keys cosigned, quorum %ld\n", good, pol.n,
           quorum);
out:
  gw_free(note);
  gw_free(pinned);
  policy_free(&pol);
  if(stack)
    gwctl_stack_free(&st);
  return rc;
usage:
  fprintf(stderr,
          "usage: gwctl audit witnessed (--stack S [--instance N] | --url URL --cacert F --cert F "
          "--key F | --note FILE)\n"
          "                             [--vkey VKEY | --vkey-file FILE] --witnesses POLICY "
          "[--quorum K]\n");
  return 2;
}
