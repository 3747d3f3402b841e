/*
 * mock_render.c - run one XML/JOSE mock agency handler once, no server.
 *
 *   mock-render --pki DIR [--sm2] [--request] AGENCY ID NAME [FAULT]
 *   mock-render --pki DIR --raw AGENCY METHOD PATH [QUERY] < BODY
 *       [--ctype TYPE] [--action URI] [--api-key KEY]
 *
 * The first form sends the request a conforming client would send for
 * (ID, NAME) to AGENCY (chsi, credit, qual, cscse) under content fault
 * FAULT (control endpoint names; default none); the second sends exactly
 * what it is given.  --request prints the request body instead of sending
 * it (for schema checks).  --sm2 signs chsi with the PKI's SM2 pair, as
 * mock-agencies --sign sm2 does (sm2-sm3 XML-DSig).  The response body goes
 * to stdout unchanged, and one
 * line "STATUS CONTENT-TYPE" to stderr.  Keys come from a certs/gen-pki.sh
 * folder; the people are the hand-made ones of xt_support.c.  The scripts in
 * this folder use it to put the agencies' bytes in front of independent
 * tools (xmlsec1, xmllint, openssl, iconv) without the server core.
 */
#include "xt_support.h"
#include "mock_xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RENDER_MAX_STDIN (4 * 1024 * 1024)  /* raw bodies, hostile ones included */

static void usage(void)
{
  fprintf(stderr,
          "usage: mock-render --pki DIR [--sm2] [--request] AGENCY ID NAME [FAULT]\n"
          "       mock-render --pki DIR [--ctype T] [--action A] [--api-key K]"
          " --raw AGENCY METHOD PATH [QUERY] < BODY\n");
}

static char *read_stdin(size_t *len)
{
  size_t cap = 65536, n = 0;
  char *buf = malloc(cap);

  while(buf) {
    size_t got;
    if(n == cap) {
      char *p = cap >= RENDER_MAX_STDIN ? NULL : realloc(buf, cap * 2);
      if(!p) {
        free(buf);
        return NULL;
      }
      buf = p;
      cap *= 2;
    }
    got = fread(buf + n, 1, cap - n, stdin);
    n += got;
    if(got == 0)
      break;
  }
  *len = n;
  return buf;
}

int main(int argc, char **argv)
{
  const char *pki = NULL, *ctype = NULL, *action = NULL, *api_key = NULL;
  const struct mock_agency_ops *ops;
  struct mock_keys keys;
  struct mock_ctx ctx;
  struct mock_response resp;
  struct xt_request xr;
  int raw = 0, print_request = 0, sm2 = 0, cf = MOCK_CF_NONE, i = 1, rc = 1;

  memset(&xr, 0, sizeof(xr));
  memset(&resp, 0, sizeof(resp));
  for(; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
    if(strcmp(argv[i], "--raw") == 0)
      raw = 1;
    else if(strcmp(argv[i], "--sm2") == 0)
      sm2 = 1;
    else if(strcmp(argv[i], "--request") == 0)
      print_request = 1;
    else if(i + 1 < argc && strcmp(argv[i], "--pki") == 0)
      pki = argv[++i];
    else if(i + 1 < argc && strcmp(argv[i], "--ctype") == 0)
      ctype = argv[++i];
    else if(i + 1 < argc && strcmp(argv[i], "--action") == 0)
      action = argv[++i];
    else if(i + 1 < argc && strcmp(argv[i], "--api-key") == 0)
      api_key = argv[++i];
    else {
      usage();
      return 2;
    }
  }
  if(!pki || argc - i < 3 || !(ops = xt_agency(argv[i]))) {
    usage();
    return 2;
  }
  if(xt_keys_load(pki, &keys) < 0 || (sm2 && xt_keys_use_sm2(pki, &keys) < 0))
    return 1;
  ctx.pop = xt_population();
  ctx.keys = &keys;
  ctx.si_token_ttl_s = 0;

  if(raw) {
    xr.req.method = argv[i + 1];
    xr.req.path = argv[i + 2];
    xr.req.query = argc - i > 3 ? argv[i + 3] : NULL;
    xr.req.content_type = ctype;
    xr.req.soap_action = action;
    xr.req.api_key = api_key;
    xr.body = read_stdin(&xr.req.body_len);
    if(!xr.body)
      goto out;
    xr.req.body = xr.body;
  }
  else {
    if(argc - i > 3 && (cf = xt_fault_by_name(argv[i + 3])) < 0) {
      fprintf(stderr, "mock-render: unknown fault %s\n", argv[i + 3]);
      goto out;
    }
    if(xt_request_build(&xr, argv[i], argv[i + 1], argv[i + 2],
                        api_key ? api_key : keys.qual_api_key) < 0) {
      fprintf(stderr, "mock-render: cannot build the request\n");
      goto out;
    }
    if(print_request) {
      rc = fwrite(xr.req.body, 1, xr.req.body_len, stdout) == xr.req.body_len ? 0 : 1;
      goto out;
    }
  }
  if(ops->handle(&ctx, &xr.req, (enum mock_content_fault)cf, &resp) < 0) {
    fprintf(stderr, "mock-render: handler failed (out of memory)\n");
    goto out;
  }
  fprintf(stderr, "%d %s\n", resp.status, resp.content_type);
  if(resp.body_len && fwrite(resp.body, 1, resp.body_len, stdout) != resp.body_len)
    goto out;
  rc = fflush(stdout) == 0 ? 0 : 1;
out:
  free(resp.body);
  xt_request_free(&xr);
  xt_keys_free(&keys);
  mock_xml_cleanup();
  return rc;
}
