/*
 * gw/worker.h - worker threads, one event_base each.
 *
 * Each worker owns an event_base and its own SO_REUSEPORT listening socket
 * for the API listener, so the kernel spreads connections and no lock is
 * taken on the accept path.  Workers block every signal: signals are the
 * main thread's business (gatewayd.c), which stops workers through
 * event_base_loopexit(), safe across threads once evthread_use_pthreads()
 * has been called.
 */
#ifndef GW_WORKER_H
#define GW_WORKER_H

#include <event2/util.h>

struct event_base;
struct gw_server;
struct gw_workers;

/* Called on each worker's own thread: init before its loop runs (its
 * result is handed to fini after the loop ended).  Either may be NULL. */
struct gw_worker_hooks {
  void *(*init)(struct event_base *base, void *arg);
  void (*fini)(void *ctx);
  void *arg;
};

/* Starts n workers, worker i accepting on fds[i] for `srv` (fd ownership
 * passes to the workers, also on failure).  `hooks` may be NULL.  Returns
 * NULL on error with a reason in err. */
struct gw_workers *gw_workers_start(struct gw_server *srv, const evutil_socket_t *fds,
                                    int n, const struct gw_worker_hooks *hooks,
                                    char *err, size_t errlen)
  __attribute__((warn_unused_result));

/* Asks every worker to drain its listener (gw_listener_drain, run on the
 * worker's own thread).  Returns at once; watch the server's open
 * connections to know when it is done. */
void gw_workers_drain(struct gw_workers *w);

/* Stops accepting, ends every worker loop, joins the threads, frees. */
void gw_workers_stop(struct gw_workers *w);

#endif
