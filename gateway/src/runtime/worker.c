/*
 * worker.c - worker threads: an event_base and a listener each.
 */
#include "gw/worker.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <event2/event.h>

#include "gw/alloc.h"
#include "gw/front.h"
#include "gw/log.h"

struct worker {
  int id;
  const struct gw_worker_hooks *hooks;
  pthread_t thread;
  int started;
  struct event_base *base;
  struct gw_listener *listener;
};

struct gw_workers {
  int n;
  struct worker *w;
};

static void *worker_main(void *arg)
{
  struct worker *w = arg;
  void *ctx = NULL;
  char name[16];
  snprintf(name, sizeof(name), "gw-worker-%d", w->id % 1000);
  pthread_setname_np(pthread_self(), name);   /* for top -H, perf, gdb */
  if(w->hooks && w->hooks->init)
    ctx = w->hooks->init(w->base, w->hooks->arg);
  gw_log(GW_LOG_DEBUG, "worker_started", "worker %d", w->id);
  /* Not "until nothing is pending": a drained worker may have nothing
   * pending while an audit commit it waits for is on another thread. */
  event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY);
  gw_log(GW_LOG_DEBUG, "worker_stopped", "worker %d", w->id);
  /* Connections first (they may hold requests that reference the context). */
  gw_listener_free(w->listener);
  w->listener = NULL;
  if(w->hooks && w->hooks->fini)
    w->hooks->fini(ctx);
  return NULL;
}

struct gw_workers *gw_workers_start(struct gw_server *srv, const evutil_socket_t *fds,
                                    int n, const struct gw_worker_hooks *hooks,
                                    char *err, size_t errlen)
{
  struct gw_workers *ws = gw_calloc(1, sizeof(*ws));
  sigset_t all, old;
  int i;

  ws->n = n;
  ws->w = gw_calloc((size_t)n, sizeof(struct worker));
  for(i = 0; i < n; i++) {
    struct worker *w = &ws->w[i];
    w->id = i;
    w->hooks = hooks;
    {
      /* The changelist folds the enable/disable pairs a request makes on
       * its socket within one loop turn into one epoll_ctl; no fd is ever
       * dup'ed here, which is the flag's one caveat. */
      struct event_config *ec = event_config_new();
      if(ec) {
        event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
        w->base = event_base_new_with_config(ec);
        event_config_free(ec);
      }
    }
    if(!w->base) {
      snprintf(err, errlen, "worker %d: cannot create an event base", i);
      goto fail;
    }
    w->listener = gw_listener_new(srv, w->base, fds[i]);
    if(!w->listener) {
      snprintf(err, errlen, "worker %d: cannot listen", i);
      i++;                   /* fds[i] was consumed by gw_listener_new */
      goto fail;
    }
  }
  /* Threads inherit the mask: workers never take signals. */
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  for(i = 0; i < n; i++) {
    if(pthread_create(&ws->w[i].thread, NULL, worker_main, &ws->w[i])) {
      snprintf(err, errlen, "worker %d: cannot start a thread", i);
      pthread_sigmask(SIG_SETMASK, &old, NULL);
      i = n;
      goto fail;
    }
    ws->w[i].started = 1;
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return ws;

fail:
  for(int j = i; j < n; j++)
    close(fds[j]);
  gw_workers_stop(ws);
  return NULL;
}

static void drain_on_worker(evutil_socket_t fd, short what, void *arg)
{
  (void)fd; (void)what;
  gw_listener_drain(arg);
}

void gw_workers_drain(struct gw_workers *ws)
{
  if(!ws)
    return;
  for(int i = 0; i < ws->n; i++)
    if(ws->w[i].started && ws->w[i].listener)
      (void)event_base_once(ws->w[i].base, -1, EV_TIMEOUT, drain_on_worker,
                            ws->w[i].listener, NULL);
}

void gw_workers_stop(struct gw_workers *ws)
{
  if(!ws)
    return;
  for(int i = 0; i < ws->n; i++)
    if(ws->w[i].started)
      event_base_loopexit(ws->w[i].base, NULL);
  for(int i = 0; i < ws->n; i++) {
    struct worker *w = &ws->w[i];
    if(w->started)
      pthread_join(w->thread, NULL);
    gw_listener_free(w->listener);
    if(w->base)
      event_base_free(w->base);
  }
  gw_free(ws->w);
  gw_free(ws);
}
