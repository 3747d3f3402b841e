/*
 * note_tool.c - a test helper: signs a checkpoint as the gm profile's audit
 * log does (gw/checkpoint.h's Ed25519 line, then gw/checkpoint_sm2.h's SM2
 * line) so that note_interop.sh can check it with Go's sumdb/note, gmsm and
 * the openssl command line, and verifies notes with our own verifiers.
 *
 *   note_tool sign ED25519.key SM2.key ORIGIN SIZE OUTDIR
 *       writes OUTDIR/note, OUTDIR/ed.vkey, OUTDIR/sm2.vkey
 *   note_tool verify ED.vkey SM2.vkey NOTE-FILE
 *       exit 0 when both lines verify, 1 otherwise (reason on stderr)
 *
 * The root hash is SHA-256 of the decimal SIZE: any 32 bytes do here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "gw/alloc.h"
#include "gw/checkpoint.h"
#include "gw/checkpoint_sm2.h"

static int write_str(const char *dir, const char *name, const char *s, size_t len)
{
  char p[1024];
  FILE *f;
  snprintf(p, sizeof(p), "%s/%s", dir, name);
  f = fopen(p, "wb");
  if(!f || fwrite(s, 1, len, f) != len || fclose(f)) {
    fprintf(stderr, "note_tool: cannot write %s\n", p);
    return -1;
  }
  return 0;
}

static char *read_str(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  char *buf = gw_malloc(GW_CHECKPOINT_NOTE_MAX + 2);
  size_t n = f ? fread(buf, 1, GW_CHECKPOINT_NOTE_MAX + 1, f) : 0;
  if(f)
    fclose(f);
  if(!f || n > GW_CHECKPOINT_NOTE_MAX) {
    fprintf(stderr, "note_tool: cannot read %s\n", path);
    gw_free(buf);
    return NULL;
  }
  buf[n] = '\0';
  *len = n;
  return buf;
}

static int cmd_sign(char **argv)
{
  struct gw_checkpoint_signer *ed = NULL;
  struct gw_checkpoint_sm2 *sm = NULL;
  uint8_t root[32];
  char *note = NULL, *edv = NULL, *smv = NULL;
  size_t len = 0;
  enum gw_checkpoint_result r;
  int rc = 1;

  EVP_Digest(argv[4], strlen(argv[4]), root, NULL, EVP_sha256(), NULL);
  if((r = gw_checkpoint_signer_load(argv[1], argv[3], &ed)) ||
     (r = gw_checkpoint_sm2_load(argv[2], argv[3], &sm)) ||
     (r = gw_checkpoint_sign(ed, argv[3], strtoull(argv[4], NULL, 10), root, &note, &len)) ||
     (r = gw_checkpoint_sm2_cosign(sm, &note, &len)) ||
     (r = gw_checkpoint_signer_verifier_key(ed, &edv)) ||
     (r = gw_checkpoint_sm2_verifier_key(sm, &smv))) {
    fprintf(stderr, "note_tool: %s\n", gw_checkpoint_strerror(r));
    goto out;
  }
  if(write_str(argv[5], "note", note, len) || write_str(argv[5], "ed.vkey", edv, strlen(edv)) ||
     write_str(argv[5], "sm2.vkey", smv, strlen(smv)))
    goto out;
  rc = 0;
out:
  gw_free(note);
  gw_free(edv);
  gw_free(smv);
  gw_checkpoint_signer_free(ed);
  gw_checkpoint_sm2_free(sm);
  return rc;
}

static int cmd_verify(char **argv)
{
  size_t el = 0, sl = 0, nl = 0;
  char *edv = read_str(argv[1], &el), *smv = read_str(argv[2], &sl), *note = read_str(argv[3], &nl);
  struct gw_checkpoint_verifier *v = NULL;
  enum gw_checkpoint_result r = GW_CHECKPOINT_EIO;
  int rc = 1;

  if(!edv || !smv || !note)
    goto out;
  while(el && edv[el - 1] == '\n')
    edv[--el] = '\0';
  while(sl && smv[sl - 1] == '\n')
    smv[--sl] = '\0';
  if((r = gw_checkpoint_verifier_new(edv, &v)) ||
     (r = gw_checkpoint_verify(v, note, nl, NULL, NULL)))
    goto out;
  if((r = gw_checkpoint_sm2_verify(smv, note, nl)))
    goto out;
  rc = 0;
out:
  if(rc)
    fprintf(stderr, "note_tool: %s\n", gw_checkpoint_strerror(r));
  gw_checkpoint_verifier_free(v);
  gw_free(edv);
  gw_free(smv);
  gw_free(note);
  return rc;
}

int main(int argc, char **argv)
{
  if(argc == 7 && !strcmp(argv[1], "sign"))
    return cmd_sign(argv + 1);
  if(argc == 5 && !strcmp(argv[1], "verify"))
    return cmd_verify(argv + 1);
  fprintf(stderr, "usage: note_tool sign ED.key SM2.key ORIGIN SIZE OUTDIR | "
                  "verify ED.vkey SM2.vkey NOTE\n");
  return 2;
}
