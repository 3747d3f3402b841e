/*
 * factschema_tool.c - a command-line face of gw/factschema.h for the
 * independent check in jsonschema_agree.py, which compares its verdicts with
 * python3-jsonschema's.
 *
 *   factschema_tool SCHEMA_DIR                 load (and so check every
 *                                              example); print the facts
 *   factschema_tool SCHEMA_DIR FACT FILE...    validate each FILE's JSON
 *                                              value as FACT
 *   factschema_tool --match PATTERN STRING...  run a schema pattern the way
 *                                              the validator does
 *
 * One line per FILE on stdout: "FILE<TAB>valid" or
 * "FILE<TAB>invalid<TAB>MESSAGE".  Exit 0 when every file was judged
 * (whatever the verdicts), 2 when the schemas do not load, a file does not
 * parse, or the usage is wrong (the reason on stderr).  --match prints one
 * line per STRING, "1" (matches) or "0", or exits 3 with the reason when
 * the pattern is outside the supported subset.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "gw/factschema.h"
#include "gw/facts.h"
#include "factschema_int.h"
#include "../lib/catalogue_fixture.h"

/* The same checks and flags as the loader's "pattern" keyword. */
static int match(int argc, char **argv)
{
  const char *why = gw_fs_pattern_problem(argv[2], strlen(argv[2]));
  regex_t re;

  if(why) {
    printf("refused\t%s\n", why);
    return 3;
  }
  if(regcomp(&re, argv[2], REG_EXTENDED | REG_NOSUB)) {
    fprintf(stderr, "regcomp refused %s\n", argv[2]);
    return 2;
  }
  for(int i = 3; i < argc; i++)
    printf("%d\n", regexec(&re, argv[i], 0, NULL, 0) == 0);
  regfree(&re);
  return 0;
}

int main(int argc, char **argv)
{
  struct gw_factschema_set *set = NULL;
  char err[1024];
  int rc = 2;

  if(argc >= 3 && !strcmp(argv[1], "--match"))
    return match(argc, argv);
  if(argc < 2 || argc == 3) {
    fprintf(stderr, "usage: factschema_tool SCHEMA_DIR [FACT FILE...]\n"
                    "       factschema_tool --match PATTERN [STRING...]\n");
    return 2;
  }
  if(gw_factschema_set_load(argv[1], &set, err, sizeof(err)) < 0) {
    fprintf(stderr, "%s\n", err);
    goto out;
  }
  if(argc == 2) {
    size_t n;
    const struct gw_fact_def *all = gw_fact_all(&n);
    for(size_t i = 0; i < n; i++)
      printf("%s\t%s\n", all[i].name, gw_factschema_id(gw_factschema_set_get(set, all[i].name)));
    rc = 0;
    goto out;
  }
  for(int i = 3; i < argc; i++) {
    json_error_t jerr;
    json_t *v = json_load_file(argv[i], JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);

    if(!v) {
      fprintf(stderr, "%s: line %d column %d: %s\n", argv[i], jerr.line, jerr.column, jerr.text);
      goto out;
    }
    if(gw_factschema_validate(set, argv[2], v, err, sizeof(err)) == 0)
      printf("%s\tvalid\n", argv[i]);
    else
      printf("%s\tinvalid\t%s\n", argv[i], err);
    json_decref(v);
  }
  rc = 0;
out:
  gw_factschema_set_free(set);
  return rc;
}
