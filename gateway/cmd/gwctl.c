/*
 * gwctl.c - the gateway's command-line client.
 *
 * One file per subcommand (gwctl_<name>.c); this file dispatches and holds
 * the smallest one, "idnum check", which validates identity numbers the way
 * the gateway does (what testers reach for when an agency refuses one).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw/idnum.h"
#include "gw/log.h"
#include "gwctl_int.h"

static void usage(FILE *fp)
{
  fprintf(fp,
          "usage: gwctl COMMAND ...\n"
          "  idnum check ID...       validate GB 11643 identity numbers\n"
          "  predicate validate [--schemas DIR] FILE...\n"
          "                          check predicate definitions as the gateway loads them\n"
          "  predicate push FILE (--stack S | --url URL --cacert CA --cert C --key K)\n"
          "                          validate, then register or replace through the admin API\n"
          "  fact validate FILE...   check fact schemas (<fact>.schema.json) as the gateway loads them\n"
          "  fact push FILE (--stack S | --url URL --cacert CA --cert C --key K)\n"
          "                          validate, then add or replace the fact through the admin API\n"
          "  purposes validate [--schemas DIR] FILE...\n"
          "                          check a purposes.json against a fact catalogue\n"
          "  purposes push FILE (--stack S | --url URL --cacert CA --cert C --key K)\n"
          "                          validate, then replace purposes.json through the admin API\n"
          "  adapter validate FILE...\n"
          "                          check adapter definitions as the gateway loads them\n"
          "  adapter test FILE --subject ID --name NAME [--schemas DIR] [--deadline MS] [--json]\n"
          "                          one real exchange with the agency: facts, signature, timing\n"
          "  adapter push FILE (--stack S | --url URL --cacert CA --cert C --key K)\n"
          "                          validate, then register or replace through the admin API\n"
          "  status (--stack S | --url URL --cacert CA --cert C --key K [--ops URL]) [--json]\n"
          "                          readiness, audit log size, breaker state per adapter\n"
          "  verify --jwks FILE|URL [--cacert CA] [--json] [INPUT]\n"
          "  verify --bundle FILE [--checkpoint-key VKEY] [--jwks FILE]\n"
          "                          check a case's evidence bundle offline\n"
          "                          check attestations offline (a query response,\n"
          "                          or one compact JWS per line)\n"
          "  audit explain QUERY_ID --stack S [--predicates DIR] [--schemas DIR]\n"
          "                          recompute a query's predicates from the log (auditor)\n"
          "  audit verify DIR [--key VKEY|--key-file FILE]\n"
          "                          check a log directory offline: records, tree,\n"
          "                          checkpoint signatures\n"
          "  audit proof (--stack S|--url URL ...) (--index N|--query-response FILE)\n"
          "                          prove a record is under the signed checkpoint\n"
          "  audit sample --stack S --fraction F --seed N [--unseal-key KEY]\n"
          "                          re-check past queries at the agencies\n"
          "  query [--stack DIR/stack.json | --url URL --cacert CA --cert C --key K]\n"
          "        --id ID --name NAME --facts a,b,c --purpose P [--case-ref R]\n"
          "        [--max-age S] [--deadline MS] [--sign] [--save FILE] [--json]\n"
          "                          ask the gateway for facts; show them as a table\n"
          "                          with every attestation checked against /v1/keys\n");
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
  /* The library's JSON log lines are for the daemon; a CLI shows problems only. */
  gw_log_set_level(getenv("GWCTL_DEBUG") ? GW_LOG_DEBUG : GW_LOG_WARN);
  if(argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
    usage(stdout);
    return 0;
  }
  if(argc >= 4 && !strcmp(argv[1], "idnum") && !strcmp(argv[2], "check"))
    return idnum_check(argc - 3, argv + 3);
  if(argc >= 2 && !strcmp(argv[1], "verify"))
    return gwctl_verify(argc - 1, argv + 1);
  if(argc >= 2 && !strcmp(argv[1], "audit"))
    return gwctl_audit(argc - 1, argv + 1);
  if(argc >= 2 && !strcmp(argv[1], "query"))
    return gwctl_query(argc - 1, argv + 1);
  if(argc >= 2 && !strcmp(argv[1], "adapter"))
    return gwctl_adapter(argc - 1, argv + 1);
  if(argc >= 3 && !strcmp(argv[1], "fact") && !strcmp(argv[2], "validate"))
    return gwctl_fact_validate(argc - 3, argv + 3);
  if(argc >= 3 && !strcmp(argv[1], "fact") && !strcmp(argv[2], "push"))
    return gwctl_fact_push(argc - 2, argv + 2);
  if(argc >= 3 && !strcmp(argv[1], "purposes") && !strcmp(argv[2], "validate"))
    return gwctl_purposes_validate(argc - 3, argv + 3);
  if(argc >= 3 && !strcmp(argv[1], "purposes") && !strcmp(argv[2], "push"))
    return gwctl_purposes_push(argc - 2, argv + 2);
  if(argc >= 2 && !strcmp(argv[1], "predicate"))
    return gwctl_predicate(argc - 1, argv + 1);
  if(argc >= 2 && !strcmp(argv[1], "status"))
    return gwctl_status(argc - 1, argv + 1);
  usage(stderr);
  return 2;
}
