/*
 * catalogue_fixture.h - tests that look facts up (adapter loader, ACL,
 * registry, schemas, codecs) need a catalogue installed, as gatewayd
 * installs one at start.  Including this header installs the repository's
 * (schemas/facts and schemas/purposes.json of GW_SOURCE_DIR, or of
 * GW_SOURCE_DIR_DEFAULT given at compile time) before main runs, and
 * aborts loudly when it cannot: a test must not run against no catalogue.
 */
#ifndef GW_TEST_CATALOGUE_FIXTURE_H
#define GW_TEST_CATALOGUE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>

#include "gw/facts.h"

static struct gw_catalogue *gw_test_catalogue;

__attribute__((constructor)) static void gw_test_catalogue_install(void)
{
  const char *root = getenv("GW_SOURCE_DIR");
  char facts[1024], purposes[1024], err[1024];

#ifdef GW_SOURCE_DIR_DEFAULT
  if(!root || !*root)
    root = GW_SOURCE_DIR_DEFAULT;
#endif
  if(!root || !*root) {
    fprintf(stderr, "catalogue fixture: GW_SOURCE_DIR is not set\n");
    abort();
  }
  snprintf(facts, sizeof(facts), "%s/schemas/facts", root);
  snprintf(purposes, sizeof(purposes), "%s/schemas/purposes.json", root);
  if(gw_catalogue_load(facts, purposes, &gw_test_catalogue, err, sizeof(err))) {
    fprintf(stderr, "catalogue fixture: %s\n", err);
    abort();
  }
  gw_catalogue_install(gw_test_catalogue);
}

__attribute__((destructor)) static void gw_test_catalogue_remove(void)
{
  gw_catalogue_install(NULL);
  gw_catalogue_free(gw_test_catalogue);
}

#endif
