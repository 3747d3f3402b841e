/*
 * query_state.c - the names of a query's states and the table of its legal
 * moves (query_state.h).  Pure functions, so the table is tested alone
 * (tests/unit/test_query_state.c); query.c's query_state_set applies it.
 */
#include "query_state.h"

#define BIT(s) (1u << (QS_##s))

static const char *const names[QS_COUNT] = {
#define QUERY_STATE_NAME(name, what) #name,
  QUERY_STATES(QUERY_STATE_NAME)
#undef QUERY_STATE_NAME
};

/* legal[from]: the states `from` may move to. */
static const unsigned legal[QS_COUNT] = {
  [QS_NEW] = BIT(WAITING) | BIT(DONE),
  [QS_WAITING] = BIT(GATHERED) | BIT(FINISHING),
  [QS_GATHERED] = BIT(FINISHING),
  [QS_FINISHING] = BIT(AUDITING) | BIT(DONE),
  [QS_AUDITING] = BIT(DONE),
  [QS_DONE] = 0,
};

const char *query_state_name(enum query_state s)
{
  return (unsigned)s < QS_COUNT ? names[s] : "?";
}

int query_state_legal(enum query_state from, enum query_state to)
{
  if((unsigned)from >= QS_COUNT || (unsigned)to >= QS_COUNT)
    return 0;
  return (legal[from] >> to) & 1u;
}
