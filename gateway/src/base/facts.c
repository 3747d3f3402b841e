/*
 * facts.c - the compiled-in fact catalogue.
 */
#include "facts.h"

#include <string.h>

static const struct gw_fact_def facts[] = {
  { "identity.match", "mps", "whether the name and the identity number belong together" },
  { "identity.birth_date", "mps", "registered date of birth" },
  { "hukou.region", "mps", "household registration: province, city, district, is_shenzhen" },
  { "education.degrees", "chsi", "degrees: level, institution, major, study mode, date, certificate" },
  { "overseas.certifications", "cscse", "certified overseas degrees" },
  { "social_insurance.shenzhen_months", "si", "months of social insurance paid in Shenzhen" },
  { "social_insurance.employer", "si", "current employer: name and unified social credit code" },
  { "credit.status", "credit", "good, warning or dishonest, with the records behind it" },
  { "qualification.certificates", "qual", "professional qualification certificates" },
  { "talent.level", "talent", "high-level talent recognition: none, A, B, C or reserve" },
  { "postdoc.status", "talent", "postdoctoral station: in station, station, entry and exit dates" },
};

const struct gw_fact_def *gw_fact_find(const char *name)
{
  for(size_t i = 0; i < sizeof(facts) / sizeof(facts[0]); i++)
    if(!strcmp(facts[i].name, name))
      return &facts[i];
  return NULL;
}

const struct gw_fact_def *gw_fact_all(size_t *n)
{
  *n = sizeof(facts) / sizeof(facts[0]);
  return facts;
}
