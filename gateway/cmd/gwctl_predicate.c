/*
 * gwctl_predicate.c - `gwctl predicate validate FILE...`: checks predicate
 * definitions (schemas/predicates/) exactly as the gateway loads them, so an
 * operator sees FILE: FIELD: PROBLEM before a reload is refused.
 * `gwctl predicate push` is in gwctl_admin.c with the other pushes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "gw/alloc.h"
#include "gw/b64.h"
#include "gw/predicate.h"

#include "gwctl_int.h"

#define PRED_FILE_MAX (GW_PRED_FILE_MAX_BYTES + 1)

static int validate_one(const char *path)
{
  FILE *f = fopen(path, "rb");
  char *buf, err[512], hex[65];
  unsigned char md[32];
  size_t n;
  int rc = 1;

  if(!f) {
    fprintf(stderr, "%s: (file): cannot open\n", path);
    return 1;
  }
  buf = gw_malloc(PRED_FILE_MAX);
  n = fread(buf, 1, PRED_FILE_MAX, f);
  fclose(f);
  if(n > GW_PRED_FILE_MAX_BYTES)
    fprintf(stderr, "%s: (file): larger than 64 KiB\n", path);
  else if(gw_pred_check_text(path, buf, n, err, sizeof(err)))
    fprintf(stderr, "%s\n", err);
  else {
    EVP_Digest(buf, n, md, NULL, EVP_sha256(), NULL);
    gw_hex_encode(md, 32, hex);
    printf("ok\t%s\tsha256=%s\n", path, hex);
    rc = 0;
  }
  gw_free(buf);
  return rc;
}

int gwctl_predicate(int argc, char **argv)
{
  const char *schemas = NULL;
  int bad = 0, first = 2;
  if(argc >= 4 && !strcmp(argv[2], "--schemas")) {
    schemas = argv[3];
    first = 4;
  }
  if(argc >= 2 && !strcmp(argv[1], "push"))
    return gwctl_predicate_push(argc - 1, argv + 1);
  if(argc <= first || strcmp(argv[1], "validate")) {
    fprintf(stderr, "usage: gwctl predicate validate [--schemas DIR] FILE...\n"
                    "       gwctl predicate push FILE (--stack S | --url URL --cacert CA --cert C --key K)\n"
                    "  --schemas the fact catalogue the definitions name facts and purposes of\n"
                    "            (default $GW_SCHEMAS_DIR, else ./schemas/facts)\n");
    return 2;
  }
  /* a definition names facts and purposes: they are judged against a catalogue */
  if(gwctl_use_catalogue(schemas, "gwctl predicate validate"))
    return 2;
  for(int i = first; i < argc; i++)
    bad |= validate_one(argv[i]);
  return bad;
}
