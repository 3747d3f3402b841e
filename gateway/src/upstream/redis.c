/*
 * redis.c - a worker's Redis connection: hiredis async on the worker's
 * libevent loop, every command under its own timer, reconnection with a
 * fixed pause, AUTH first.
 *
 * The one idea: a command handle outlives whatever the caller does with
 * it.  hiredis keeps the handle as its callback's private data until the
 * reply arrives or the connection goes (then it calls back with NULL); our
 * timer or gw_redis_cancel may end the caller's interest earlier, which
 * only marks the handle abandoned.  The handle is freed in hiredis's
 * callback, the one place that is certain to run last.  A timeout drops
 * the connection (a Redis that did not answer one command will not answer
 * the ones queued behind it), and every command still queued is answered
 * "disconnected" at once.
 */
#include "gw/redis.h"

#include <string.h>
#include <sys/time.h>

#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeclaration-after-statement"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wcast-qual"
#pragma GCC diagnostic ignored "-Wshadow"
#include <hiredis/adapters/libevent.h>
#pragma GCC diagnostic pop

#include "gw/alloc.h"
#include "gw/log.h"

#define REDIS_MAGIC 0x72656469U   /* "redi" */

enum redis_state { RS_DOWN, RS_CONNECTING, RS_AUTH, RS_UP };

static const char *const state_names[] = { "down", "connecting", "auth", "up" };

struct gw_redis_cmd {
  struct gw_redis *r;          /* NULL once the connection was freed */
  struct event *timer;
  gw_redis_cb *cb;             /* NULL: abandoned (timed out or cancelled) */
  void *arg;
  int in_timeout;              /* on_cmd_timeout is reading: on_reply must not free */
  int replied;
  struct gw_redis_cmd *prev, *next;
};

struct gw_redis {
  unsigned magic;
  struct event_base *base;
  const struct gw_redis_cfg *cfg;
  struct gw_redis_health *health;
  redisAsyncContext *ac;
  enum redis_state state;
  struct event *retry;         /* reconnect pause */
  struct event *conn_timer;    /* connect + AUTH bound */
  struct gw_redis_cmd *pending;
  int counted_up;
  int logged_down;             /* one warning per outage, not per attempt */
};

static void connect_now(evutil_socket_t fd, short what, void *arg);

static void arm_ms(struct event *ev, int ms)
{
  struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
  evtimer_add(ev, &tv);
}

static void set_state(struct gw_redis *r, enum redis_state s, const char *why)
{
  if(r->state == s)
    return;
  if(gw_log_enabled(GW_LOG_DEBUG))
    gw_log(GW_LOG_DEBUG, "redis_state", "%s -> %s%s%s", state_names[r->state], state_names[s],
           why ? ": " : "", why ? why : "");
  if(s == RS_UP) {
    if(!r->counted_up)
      atomic_fetch_add(&r->health->up, 1);
    r->counted_up = 1;
    if(r->logged_down)
      gw_log(GW_LOG_INFO, "redis_up", "%s:%d: connected again, sharing resumes", r->cfg->host,
             r->cfg->port);
    r->logged_down = 0;
  }
  else if(r->counted_up) {
    atomic_fetch_sub(&r->health->up, 1);
    r->counted_up = 0;
  }
  if(s == RS_DOWN && !r->logged_down) {
    gw_log(GW_LOG_WARN, "redis_down", "%s:%d: %s; working on local state until it is back",
           r->cfg->host, r->cfg->port, why ? why : "connection lost");
    r->logged_down = 1;
  }
  r->state = s;
}

static void unlink_cmd(struct gw_redis_cmd *c)
{
  struct gw_redis *r = c->r;
  if(!r)
    return;
  if(c->prev)
    c->prev->next = c->next;
  else if(r->pending == c)
    r->pending = c->next;
  if(c->next)
    c->next->prev = c->prev;
  c->prev = c->next = NULL;
}

static void schedule_retry(struct gw_redis *r)
{
  if(r->magic != REDIS_MAGIC || evtimer_pending(r->retry, NULL))
    return;
  arm_ms(r->retry, r->cfg->retry_ms);
}

/* Frees the hiredis context: every pending command is called back with
 * NULL from inside redisAsyncFree (see on_reply). */
static void drop(struct gw_redis *r, const char *why)
{
  redisAsyncContext *ac = r->ac;
  evtimer_del(r->conn_timer);
  set_state(r, RS_DOWN, why);
  if(ac) {
    r->ac = NULL;
    redisAsyncFree(ac);
  }
  schedule_retry(r);
}

/* hiredis's callback: the one place a command handle is freed. */
static void on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
  struct gw_redis_cmd *c = privdata;
  gw_redis_cb *cb = c->cb;
  (void)ac;
  if(c->in_timeout && !c->replied) {
    /* The reply was waiting in the socket when the timer fired: deliver
     * it, and leave the freeing to on_cmd_timeout. */
    c->replied = 1;
    c->cb = NULL;
    if(cb) {
      if(c->r && reply)
        atomic_fetch_add(&c->r->health->replies, 1);
      cb(reply, reply ? NULL : "disconnected", c->arg);
    }
    return;
  }
  unlink_cmd(c);
  if(c->timer)
    event_free(c->timer);
  c->timer = NULL;
  if(cb) {
    struct gw_redis *r = c->r;
    if(r && reply)
      atomic_fetch_add(&r->health->replies, 1);
    c->cb = NULL;
    cb(reply, reply ? NULL : "disconnected", c->arg);
  }
  gw_free(c);
}

static void on_cmd_timeout(evutil_socket_t fd, short what, void *arg)
{
  struct gw_redis_cmd *c = arg;
  struct gw_redis *r = c->r;
  gw_redis_cb *cb = c->cb;
  void *cbarg = c->arg;
  (void)fd; (void)what;
  if(r && r->ac && cb) {
    /* A busy loop may run this timer in the same turn as the reply's read
     * event: read first, so a loaded gateway does not call a prompt Redis
     * slow. */
    c->in_timeout = 1;
    redisAsyncHandleRead(r->ac);
    if(c->replied) {
      unlink_cmd(c);
      if(c->timer)
        event_free(c->timer);
      gw_free(c);
      return;
    }
    c->in_timeout = 0;
    r = c->r;
  }
  c->cb = NULL;                /* freed when hiredis lets go of it */
  if(r) {
    atomic_fetch_add(&r->health->timeouts, 1);
    if(r->ac)
      drop(r, "a command timed out");   /* may free c: not touched below */
  }
  if(cb)
    cb(NULL, "timeout", cbarg);
}

static struct gw_redis_cmd *send_argv(struct gw_redis *r, int argc, const char **argv,
                                      const size_t *argvlen, gw_redis_cb *cb, void *arg,
                                      int timeout_ms)
{
  struct gw_redis_cmd *c = gw_calloc(1, sizeof(*c));
  c->r = r;
  c->cb = cb;
  c->arg = arg;
  c->timer = evtimer_new(r->base, on_cmd_timeout, c);
  if(!c->timer || redisAsyncCommandArgv(r->ac, on_reply, c, argc, argv, argvlen) != REDIS_OK) {
    if(c->timer)
      event_free(c->timer);
    gw_free(c);
    atomic_fetch_add(&r->health->errors, 1);
    return NULL;
  }
  c->next = r->pending;
  if(r->pending)
    r->pending->prev = c;
  r->pending = c;
  atomic_fetch_add(&r->health->commands, 1);
  arm_ms(c->timer, timeout_ms);
  return c;
}

static void on_auth(const struct redisReply *reply, const char *why, void *arg)
{
  struct gw_redis *r = arg;
  if(!reply) {
    if(r->state != RS_DOWN)
      drop(r, why);
    return;
  }
  if(reply->type == REDIS_REPLY_ERROR) {
    char msg[160];
    snprintf(msg, sizeof(msg), "AUTH refused: %.120s", reply->str ? reply->str : "");
    atomic_fetch_add(&r->health->errors, 1);
    drop(r, msg);
    return;
  }
  evtimer_del(r->conn_timer);
  set_state(r, RS_UP, NULL);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
  struct gw_redis *r = ac->data;
  if(!r || r->ac != ac)
    return;
  if(status != REDIS_OK) {
    char msg[160];
    snprintf(msg, sizeof(msg), "cannot connect: %.120s", ac->errstr);
    r->ac = NULL;              /* hiredis frees it after this callback */
    evtimer_del(r->conn_timer);
    set_state(r, RS_DOWN, msg);
    schedule_retry(r);
    return;
  }
  set_state(r, RS_AUTH, NULL);
  {
    const char *argv[3];
    size_t lens[3];
    int argc = 0;
    if(r->cfg->password) {
      argv[argc] = "AUTH";
      lens[argc++] = 4;
      if(r->cfg->user) {
        argv[argc] = r->cfg->user;
        lens[argc] = strlen(r->cfg->user);
        argc++;
      }
      argv[argc] = r->cfg->password;
      lens[argc] = strlen(r->cfg->password);
      argc++;
    }
    else {
      argv[argc] = "PING";
      lens[argc++] = 4;
    }
    if(!send_argv(r, argc, argv, lens, on_auth, r, r->cfg->connect_timeout_ms))
      drop(r, "cannot send AUTH");
  }
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
  struct gw_redis *r = ac->data;
  (void)status;
  if(!r || r->ac != ac)
    return;                    /* we dropped it ourselves */
  r->ac = NULL;                /* hiredis frees it after this callback */
  evtimer_del(r->conn_timer);
  set_state(r, RS_DOWN, ac->errstr[0] ? ac->errstr : "connection closed");
  schedule_retry(r);
}

static void on_conn_timeout(evutil_socket_t fd, short what, void *arg)
{
  struct gw_redis *r = arg;
  (void)fd; (void)what;
  if(r->state != RS_UP)
    drop(r, "no connection within the connect timeout");
}

static void connect_now(evutil_socket_t fd, short what, void *arg)
{
  struct gw_redis *r = arg;
  redisAsyncContext *ac;
  (void)fd; (void)what;
  if(r->ac)
    return;
  atomic_fetch_add(&r->health->reconnects, 1);
  set_state(r, RS_CONNECTING, NULL);
  ac = redisAsyncConnect(r->cfg->host, r->cfg->port);
  if(!ac || ac->err) {
    char msg[160];
    snprintf(msg, sizeof(msg), "cannot connect: %.120s", ac ? ac->errstr : "out of memory");
    if(ac)
      redisAsyncFree(ac);
    set_state(r, RS_DOWN, msg);
    schedule_retry(r);
    return;
  }
  ac->data = r;
  if(redisLibeventAttach(ac, r->base) != REDIS_OK) {
    redisAsyncFree(ac);
    set_state(r, RS_DOWN, "cannot attach to the event loop");
    schedule_retry(r);
    return;
  }
  r->ac = ac;
  redisAsyncSetConnectCallback(ac, on_connect);
  redisAsyncSetDisconnectCallback(ac, on_disconnect);
  arm_ms(r->conn_timer, r->cfg->connect_timeout_ms);
}

struct gw_redis *gw_redis_new(struct event_base *base, const struct gw_redis_cfg *cfg,
                              struct gw_redis_health *health)
{
  struct gw_redis *r = gw_calloc(1, sizeof(*r));
  r->magic = REDIS_MAGIC;
  r->base = base;
  r->cfg = cfg;
  r->health = health;
  r->state = RS_DOWN;
  r->retry = evtimer_new(base, connect_now, r);
  r->conn_timer = evtimer_new(base, on_conn_timeout, r);
  if(!r->retry || !r->conn_timer)
    abort();                   /* out of memory in libevent: the alloc policy */
  atomic_fetch_add(&health->connections, 1);
  event_active(r->retry, EV_TIMEOUT, 0);   /* connect from the loop */
  return r;
}

void gw_redis_free(struct gw_redis *r)
{
  if(!r)
    return;
  for(struct gw_redis_cmd *c = r->pending; c; c = c->next)
    c->cb = NULL;
  if(r->counted_up)
    atomic_fetch_sub(&r->health->up, 1);
  r->counted_up = 0;
  atomic_fetch_sub(&r->health->connections, 1);
  if(r->ac) {
    redisAsyncContext *ac = r->ac;
    r->ac = NULL;
    redisAsyncFree(ac);        /* frees every pending handle (on_reply) */
  }
  /* Handles hiredis no longer holds: none (it answered them all above). */
  event_free(r->retry);
  event_free(r->conn_timer);
  r->magic = 0;
  gw_free(r);
}

int gw_redis_usable(const struct gw_redis *r)
{
  return r && r->state == RS_UP && r->ac;
}

struct gw_redis_cmd *gw_redis_command(struct gw_redis *r, int argc, const char **argv,
                                      const size_t *argvlen, gw_redis_cb *cb, void *arg)
{
  if(!gw_redis_usable(r))
    return NULL;
  return send_argv(r, argc, argv, argvlen, cb, arg, r->cfg->command_timeout_ms);
}

void gw_redis_cancel(struct gw_redis_cmd *c)
{
  if(!c)
    return;
  c->cb = NULL;
  if(c->timer)
    evtimer_del(c->timer);
}

int gw_redis_health_ok(struct gw_redis_health *h)
{
  int n = atomic_load(&h->connections);
  return n > 0 && atomic_load(&h->up) >= n;
}
