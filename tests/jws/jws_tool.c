/*
 * jws_tool.c - a test helper that exposes the JWS module on the command line
 * so that a shell script can check it against the openssl command line,
 * which shares no code with us beyond libcrypto's ECDSA itself.
 *
 *   jws_tool sign     KEY.pem FILE [TYP]   compact JWS of FILE's bytes
 *   jws_tool detached KEY.pem FILE [TYP]   detached JWS (header..signature)
 *   jws_tool jwks     KEY.pem...           the public JWKS of the keys
 *   jws_tool verify   JWKS.json JWS-FILE   payload to stdout, or exit 1
 *
 * Output goes to stdout without a trailing newline so that the bytes are
 * exactly what the module produced.  Exit status: 0 done, 1 refused or
 * failed (reason on stderr), 2 usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw/alloc.h"
#include "gw/jws.h"

/* Reads a whole file of at most `cap` bytes.  On success *out is owned by
 * the caller (gw_free()) and NUL-terminated after *len bytes. */
static int read_file(const char *path, size_t cap, char **out, size_t *len)
{
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  size_t n = 0;
  int rc = -1;

  *out = NULL;
  if(!f)
    goto out;
  buf = gw_malloc(cap + 2);
  n = fread(buf, 1, cap + 1, f);
  if(ferror(f) || n > cap)
    goto out;
  buf[n] = '\0';
  *out = buf;
  *len = n;
  buf = NULL;
  rc = 0;
out:
  gw_free(buf);
  if(f)
    fclose(f);
  if(rc)
    fprintf(stderr, "jws_tool: cannot read %s (or over %zu bytes)\n", path, cap);
  return rc;
}

static int fail(const char *what, enum gw_jws_result r)
{
  fprintf(stderr, "jws_tool: %s: %s\n", what, gw_jws_strerror(r));
  return 1;
}

static int cmd_sign(int detached, int argc, char **argv)
{
  struct gw_jws_key *key = NULL;
  char *body = NULL, *jws = NULL;
  size_t len = 0, jws_len = 0;
  enum gw_jws_result r;
  int rc = 1;

  if(argc < 2 || argc > 3)
    return 2;
  r = gw_jws_key_load_pem(argv[0], &key);
  if(r) {
    rc = fail(argv[0], r);
    goto out;
  }
  if(read_file(argv[1], GW_JWS_DETACHED_MAX, &body, &len))
    goto out;
  r = detached ? gw_jws_sign_detached(key, argc == 3 ? argv[2] : NULL, body, len,
                                      &jws, &jws_len)
               : gw_jws_sign_compact(key, argc == 3 ? argv[2] : NULL, body, len,
                                     &jws, &jws_len);
  if(r) {
    rc = fail("sign", r);
    goto out;
  }
  rc = fwrite(jws, 1, jws_len, stdout) == jws_len ? 0 : 1;
out:
  gw_free(jws);
  gw_free(body);
  gw_jws_key_free(key);
  return rc;
}

static int cmd_jwks(int argc, char **argv)
{
  struct gw_jws_key *keys[GW_JWS_JWKS_KEYS_MAX] = { NULL };
  char *text = NULL;
  enum gw_jws_result r;
  int rc = 1, n = 0;

  if(argc < 1 || argc > GW_JWS_JWKS_KEYS_MAX)
    return 2;
  for(; n < argc; n++) {
    r = gw_jws_key_load_pem(argv[n], &keys[n]);
    if(r) {
      rc = fail(argv[n], r);
      goto out;
    }
  }
  r = gw_jws_jwks_string((const struct gw_jws_key *const *)keys, (size_t)n, &text);
  if(r) {
    rc = fail("jwks", r);
    goto out;
  }
  rc = fputs(text, stdout) >= 0 ? 0 : 1;
out:
  gw_free(text);
  for(int i = 0; i < n; i++)
    gw_jws_key_free(keys[i]);
  return rc;
}

static int cmd_verify(int argc, char **argv)
{
  struct gw_jws_key **keys = NULL;
  const struct gw_jws_key *used = NULL;
  char *jwks = NULL, *jws = NULL;
  unsigned char *payload = NULL;
  size_t nkeys = 0, jwks_len = 0, jws_len = 0, len = 0;
  enum gw_jws_result r;
  int rc = 1;

  if(argc != 2)
    return 2;
  if(read_file(argv[0], GW_JWS_JWKS_MAX, &jwks, &jwks_len) ||
     read_file(argv[1], GW_JWS_COMPACT_MAX, &jws, &jws_len))
    goto out;
  r = gw_jws_jwks_import(jwks, jwks_len, &keys, &nkeys);
  if(r) {
    rc = fail(argv[0], r);
    goto out;
  }
  r = gw_jws_verify_compact_set((const struct gw_jws_key *const *)keys, nkeys, NULL,
                                jws, jws_len, &payload, &len, &used);
  if(r) {
    rc = fail("verify", r);
    goto out;
  }
  fprintf(stderr, "jws_tool: verified with kid %s\n", gw_jws_key_kid(used));
  rc = fwrite(payload, 1, len, stdout) == len ? 0 : 1;
out:
  gw_free(payload);
  gw_jws_keys_free(keys, nkeys);
  gw_free(jws);
  gw_free(jwks);
  return rc;
}

int main(int argc, char **argv)
{
  int rc = 2;

  if(argc >= 2 && strcmp(argv[1], "sign") == 0)
    rc = cmd_sign(0, argc - 2, argv + 2);
  else if(argc >= 2 && strcmp(argv[1], "detached") == 0)
    rc = cmd_sign(1, argc - 2, argv + 2);
  else if(argc >= 2 && strcmp(argv[1], "jwks") == 0)
    rc = cmd_jwks(argc - 2, argv + 2);
  else if(argc >= 2 && strcmp(argv[1], "verify") == 0)
    rc = cmd_verify(argc - 2, argv + 2);
  if(rc == 2)
    fprintf(stderr, "usage: jws_tool sign|detached KEY.pem FILE [TYP]\n"
                    "       jws_tool jwks KEY.pem...\n"
                    "       jws_tool verify JWKS.json JWS-FILE\n");
  if(fflush(stdout))
    rc = 1;
  return rc;
}
