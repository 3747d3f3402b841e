/*
 * audit_tool.c - a test helper that exposes the audit, checkpoint and seal
 * modules on the command line, so that a shell script can check them with
 * the openssl command line and coreutils, which share no code with us
 * beyond libcrypto's primitives.
 *
 *   audit_tool sign KEY NAME ORIGIN SIZE ROOT-B64   signed checkpoint note
 *   audit_tool vkey KEY NAME                        note verifier key
 *   audit_tool verify VKEY NOTE-FILE [ORIGIN]       "origin size root-b64"
 *   audit_tool seal CERT < bytes                    base64 DER EnvelopedData
 *   audit_tool append DIR KEY GATEWAY-ID < lines    appends one record per
 *                                                   line, prints "index
 *                                                   leaf-hex", then makes a
 *                                                   checkpoint and closes
 *   audit_tool checkpoint DIR KEY GATEWAY-ID        the latest note
 *   audit_tool verify-dir DIR [VKEY]                the verifier's report
 *
 * Output has no trailing newline where it is exact bytes (notes, keys,
 * sealed data).  Exit status: 0 done, 1 refused or failed (reason on
 * stderr), 2 usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw/alloc.h"
#include "gw/audit.h"
#include "gw/b64.h"
#include "gw/checkpoint.h"
#include "seal.h"

#define LINE_MAX_BYTES (GW_AUDIT_RECORD_MAX + 2)

static int read_stream(FILE *f, size_t cap, char **out, size_t *len)
{
  char *buf = gw_malloc(cap + 1);
  size_t n = fread(buf, 1, cap + 1, f);
  if(ferror(f) || n > cap) {
    gw_free(buf);
    return -1;
  }
  buf[n] = '\0';
  *out = buf;
  *len = n;
  return 0;
}

static int cmd_sign(char **argv)
{
  struct gw_checkpoint_signer *s = NULL;
  uint8_t root[34];
  size_t root_len = 0, len = 0;
  char *note = NULL, *end;
  unsigned long long size = strtoull(argv[3], &end, 10);
  enum gw_checkpoint_result r;

  if(*end || gw_b64_decode(GW_B64_STD, argv[4], strlen(argv[4]), root, sizeof(root),
                           &root_len) != GW_B64_OK || root_len != 32) {
    fprintf(stderr, "audit_tool: bad size or root\n");
    return 1;
  }
  r = gw_checkpoint_signer_load(argv[0], argv[1], &s);
  if(r == GW_CHECKPOINT_OK)
    r = gw_checkpoint_sign(s, argv[2], size, root, &note, &len);
  gw_checkpoint_signer_free(s);
  if(r != GW_CHECKPOINT_OK) {
    fprintf(stderr, "audit_tool: sign: %s\n", gw_checkpoint_strerror(r));
    return 1;
  }
  fwrite(note, 1, len, stdout);
  gw_free(note);
  return 0;
}

static int cmd_vkey(char **argv)
{
  struct gw_checkpoint_signer *s = NULL;
  char *vkey = NULL;
  enum gw_checkpoint_result r = gw_checkpoint_signer_load(argv[0], argv[1], &s);

  if(r == GW_CHECKPOINT_OK)
    r = gw_checkpoint_signer_verifier_key(s, &vkey);
  gw_checkpoint_signer_free(s);
  if(r != GW_CHECKPOINT_OK) {
    fprintf(stderr, "audit_tool: vkey: %s\n", gw_checkpoint_strerror(r));
    return 1;
  }
  fputs(vkey, stdout);
  gw_free(vkey);
  return 0;
}

static int cmd_verify(int argc, char **argv)
{
  struct gw_checkpoint_verifier *v = NULL;
  struct gw_checkpoint cp;
  enum gw_checkpoint_result r;
  char *note = NULL, root[48];
  size_t len = 0;
  FILE *f = fopen(argv[1], "rb");

  if(!f || read_stream(f, GW_CHECKPOINT_NOTE_MAX + 1, &note, &len)) {
    fprintf(stderr, "audit_tool: cannot read %s\n", argv[1]);
    if(f)
      fclose(f);
    return 1;
  }
  fclose(f);
  r = gw_checkpoint_verifier_new(argv[0], &v);
  if(r == GW_CHECKPOINT_OK)
    r = gw_checkpoint_verify(v, note, len, argc > 2 ? argv[2] : NULL, &cp);
  gw_checkpoint_verifier_free(v);
  gw_free(note);
  if(r != GW_CHECKPOINT_OK) {
    fprintf(stderr, "audit_tool: verify: %s\n", gw_checkpoint_strerror(r));
    return 1;
  }
  if(gw_b64_encode(GW_B64_STD, cp.root, 32, root, sizeof(root), NULL) != GW_B64_OK)
    return 1;
  printf("%s %llu %s", cp.origin, (unsigned long long)cp.size, root);
  return 0;
}

static int cmd_seal(char **argv)
{
  struct gw_seal *s = NULL;
  char *in = NULL, *out = NULL;
  size_t len = 0, out_len = 0;
  enum gw_seal_result r;

  if(read_stream(stdin, GW_SEAL_INPUT_MAX, &in, &len)) {
    fprintf(stderr, "audit_tool: input too large\n");
    return 1;
  }
  r = gw_seal_load(argv[0], &s);
  if(r == GW_SEAL_OK)
    r = gw_seal_seal(s, in, len, GW_SEAL_B64_DER, &out, &out_len);
  gw_seal_free(s);
  gw_free(in);
  if(r != GW_SEAL_OK) {
    fprintf(stderr, "audit_tool: seal: %s\n", gw_seal_strerror(r));
    return 1;
  }
  fwrite(out, 1, out_len, stdout);
  gw_free(out);
  return 0;
}

static struct gw_audit_log *open_log(char **argv)
{
  struct gw_audit_config cfg;
  struct gw_audit_open_report rep;
  struct gw_audit_log *log = NULL;
  enum gw_audit_result r;

  memset(&cfg, 0, sizeof(cfg));
  cfg.dir = argv[0];
  cfg.checkpoint_key = argv[1];
  cfg.gateway_id = argv[2];
  r = gw_audit_open(&cfg, &log, &rep);
  if(r != GW_AUDIT_OK)
    fprintf(stderr, "audit_tool: open: %s: %s\n", gw_audit_strerror(r), rep.message);
  return log;
}

static int cmd_append(char **argv)
{
  struct gw_audit_append_result res;
  struct gw_audit_log *log = open_log(argv);
  char *line = gw_malloc(LINE_MAX_BYTES + 1);
  enum gw_audit_result r;
  int rc = 0;

  if(!log) {
    gw_free(line);
    return 1;
  }
  while(fgets(line, LINE_MAX_BYTES + 1, stdin)) {
    size_t len = strcspn(line, "\n");
    r = gw_audit_append_sync(log, line, len, &res);
    if(r != GW_AUDIT_OK) {
      fprintf(stderr, "audit_tool: append: %s\n", gw_audit_strerror(r));
      rc = 1;
      break;
    }
    printf("%llu ", (unsigned long long)res.index);
    for(int i = 0; i < 32; i++)
      printf("%02x", res.leaf_hash[i]);
    printf("\n");
  }
  if(!rc && gw_audit_checkpoint_now(log) != GW_AUDIT_OK)
    rc = 1;
  gw_audit_close(log);
  gw_free(line);
  return rc;
}

static int cmd_checkpoint(char **argv)
{
  struct gw_audit_log *log = open_log(argv);
  char *note = NULL;
  size_t len = 0;

  if(!log)
    return 1;
  if(gw_audit_latest_checkpoint(log, &note, &len) != GW_AUDIT_OK) {
    gw_audit_close(log);
    return 1;
  }
  fwrite(note, 1, len, stdout);
  gw_free(note);
  gw_audit_close(log);
  return 0;
}

static void report_event(const struct gw_audit_verify_event *e, void *arg)
{
  static const char *const what[] = { "PROBLEM", "notice", "ok" };
  (void)arg;
  printf("%s: %s\n", what[e->what], e->message);
}

static int cmd_verify_dir(int argc, char **argv)
{
  struct gw_audit_verify_report rep;
  enum gw_audit_result r = gw_audit_verify_dir(argv[0], argc > 1 ? argv[1] : NULL,
                                               report_event, NULL, &rep);

  printf("records %llu checkpoints %llu signatures %s: %s\n", (unsigned long long)rep.records,
         (unsigned long long)rep.checkpoints, rep.signatures_checked ? "checked" : "unchecked",
         r == GW_AUDIT_OK ? "verified" : rep.message);
  return r == GW_AUDIT_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
  int rc = 2;

  if(argc < 2)
    goto usage;
  argc -= 2;
  if(!strcmp(argv[1], "sign") && argc == 5)
    rc = cmd_sign(argv + 2);
  else if(!strcmp(argv[1], "vkey") && argc == 2)
    rc = cmd_vkey(argv + 2);
  else if(!strcmp(argv[1], "verify") && (argc == 2 || argc == 3))
    rc = cmd_verify(argc, argv + 2);
  else if(!strcmp(argv[1], "seal") && argc == 1)
    rc = cmd_seal(argv + 2);
  else if(!strcmp(argv[1], "append") && argc == 3)
    rc = cmd_append(argv + 2);
  else if(!strcmp(argv[1], "checkpoint") && argc == 3)
    rc = cmd_checkpoint(argv + 2);
  else if(!strcmp(argv[1], "verify-dir") && (argc == 1 || argc == 2))
    rc = cmd_verify_dir(argc, argv + 2);
usage:
  if(rc == 2)
    fprintf(stderr, "usage: audit_tool sign|vkey|verify|seal|append|checkpoint|verify-dir ...\n");
  return rc;
}
