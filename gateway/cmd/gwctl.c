/*
 * gwctl.c - the gateway's command-line client.
 *
 * Subcommands grow with the gateway (query, verify, adapter, audit, status);
 * this first one checks identity numbers the way the gateway does, which is
 * what testers reach for when an agency refuses a subject.
 */
#include <stdio.h>
#include <string.h>

#include "gw/idnum.h"

static void usage(FILE *fp)
{
  fprintf(fp,
          "usage: gwctl idnum check ID...\n"
          "  idnum check   validate GB 11643 identity numbers; prints the\n"
          "                normalized form or the reason it is invalid\n");
}

static int idnum_check(int argc, char **argv)
{
  int bad = 0;
  for(int i = 0; i < argc; i++) {
    char norm[GW_IDNUM_LEN + 1];
    enum gw_idnum_result r = gw_idnum_normalize(argv[i], norm, 0);
    if(r == GW_IDNUM_OK) {
      printf("valid\t%s\n", norm);
    }
    else {
      printf("invalid\t%s\n", gw_idnum_strerror(r));
      bad = 1;
    }
  }
  return bad;
}

int main(int argc, char **argv)
{
  if(argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
    usage(stdout);
    return 0;
  }
  if(argc >= 4 && !strcmp(argv[1], "idnum") && !strcmp(argv[2], "check"))
    return idnum_check(argc - 3, argv + 3);
  usage(stderr);
  return 2;
}
