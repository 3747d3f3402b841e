/*
 * upstream_gate.c - how many connections to one agency are being opened at
 * once, for the whole gateway (all workers).
 *
 * Connections to an agency are cheap once open and dear while opening: a
 * TCP and TLS handshake costs both sides CPU, and a fan-out against a fresh
 * gateway used to start hundreds of them at once (issue 14: 600 handshakes,
 * some slower than the adapters' timeout_ms, breakers opened).  One gate
 * per host:port is a counting semaphore (a gw_policy_limiter) of "opening"
 * slots: upstream.c takes one before it creates a socket and gives it back
 * when the TLS handshake is done or the exchange ends.  An exchange that
 * finds an idle connection never asks.  The gates live as long as the
 * registry (the app): there is one per host:port ever seen, a handful.
 */
#include "gw/upstream.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/queue.h>

#include "gw/alloc.h"
#include "gw/policy.h"
#include "upstream_int.h"

#define GATE_KEY_LEN    300          /* host (<= 255) ":" port */
#define GATE_MAX_QUEUE  1000000      /* waiters: bounded by max_exchanges anyway */

struct gate {
  LIST_ENTRY(gate) link;
  char key[GATE_KEY_LEN];
  struct gw_policy_limiter *lim;
};

struct gw_upstream_gates {
  pthread_mutex_t mu;
  int max_connecting;
  LIST_HEAD(, gate) gates;
};

struct gw_upstream_gates *gw_upstream_gates_new(int max_connecting)
{
  struct gw_upstream_gates *g = gw_calloc(1, sizeof(*g));
  pthread_mutex_init(&g->mu, NULL);
  g->max_connecting = max_connecting > 0 ? max_connecting : GW_UP_DEFAULT_MAX_CONNECTING;
  LIST_INIT(&g->gates);
  return g;
}

void gw_upstream_gates_free(struct gw_upstream_gates *g)
{
  struct gate *t;
  if(!g)
    return;
  while((t = LIST_FIRST(&g->gates))) {
    LIST_REMOVE(t, link);
    gw_policy_limiter_free(t->lim);
    gw_free(t);
  }
  pthread_mutex_destroy(&g->mu);
  gw_free(g);
}

struct gw_policy_limiter *upstream_gate_for(struct gw_upstream_gates *g, const char *host,
                                            const char *port)
{
  char key[GATE_KEY_LEN];
  struct gate *t;

  if(!g)
    return NULL;
  snprintf(key, sizeof(key), "%s:%s", host ? host : "", port ? port : "");
  pthread_mutex_lock(&g->mu);
  LIST_FOREACH(t, &g->gates, link)
    if(!strcmp(t->key, key))
      break;
  if(!t) {
    t = gw_calloc(1, sizeof(*t));
    snprintf(t->key, sizeof(t->key), "%s", key);
    t->lim = gw_policy_limiter_new(g->max_connecting, GATE_MAX_QUEUE);
    LIST_INSERT_HEAD(&g->gates, t, link);
  }
  pthread_mutex_unlock(&g->mu);
  return t->lim;
}
