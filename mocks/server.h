/*
 * server.h - internals shared by the core of mock-agencies (server.c, the
 * transport; control.c, fault state, counters and the control endpoint;
 * main.c, the command line).
 *
 * The server owns one struct mock_agency per agency: its handler, its TLS
 * context, its listening port, the fault the control endpoint set for it and
 * its counters.  Worker threads read the fault through mock_fault_plan() and
 * bump counters with relaxed atomics; only control.c writes the fault, under
 * the agency's mutex.  Nothing here is public outside mocks/.
 */
#ifndef MOCK_SERVER_H
#define MOCK_SERVER_H

#include "mock.h"

#include <pthread.h>
#include <stdatomic.h>

#define MOCK_MAX_HEAD      (16 * 1024)     /* request line + headers */
#define MOCK_MAX_BODY      (1024 * 1024)   /* request body, any agency */
#define MOCK_IDLE_TIMEOUT_S 60             /* keep-alive idle / slow request */
#define MOCK_WRITE_TIMEOUT_S 30            /* client stopped reading */
#define MOCK_HANG_MAX_S    600             /* "hang" gives up after this */
#define MOCK_HUGE_BODY_LEN ((uint64_t)64 << 20)
#define MOCK_MAX_LATENCY_MS 600000         /* control: latency/jitter bound */

enum mock_agency_id {
  MOCK_AG_CHSI = 0,
  MOCK_AG_MPS,
  MOCK_AG_SI,
  MOCK_AG_CREDIT,
  MOCK_AG_CSCSE,
  MOCK_AG_QUAL,
  MOCK_AG_TALENT,
  MOCK_AG_FUND,
  MOCK_AG_TAX,
  MOCK_N_AGENCIES
};

/* What the core does to a request before or instead of the agency. */
enum mock_transport {
  MOCK_TR_NONE = 0,   /* answer normally (after the latency, if any) */
  MOCK_TR_HANG,       /* never answer */
  MOCK_TR_RESET,      /* close with a TCP RST, no answer */
  MOCK_TR_HTTP_500,   /* a generic 500 page, not the agency's document */
  MOCK_TR_TRUNCATED,  /* full Content-Length, half the body, then close */
  MOCK_TR_HUGE_BODY,  /* the real body padded with spaces to 64 MiB, streamed */
  MOCK_TR_SLOW_BODY   /* the real body, one byte a second */
};

/* The fault the control endpoint set for one agency. */
struct mock_fault {
  int active;
  char mode[24];                 /* control-endpoint name, e.g. "http_500" */
  enum mock_transport transport;
  enum mock_content_fault content;
  unsigned latency_ms, jitter_ms;
  uint32_t rate_ppm;             /* share of requests hit, per million */
};

/* What one request gets. */
struct mock_fault_plan {
  int hit;
  enum mock_transport transport;
  enum mock_content_fault content;
  unsigned delay_ms;
};

struct mock_agency {
  enum mock_agency_id id;
  const struct mock_agency_ops *ops;
  const char *base_path;         /* "/mps": the URL the ports file names */
  int port;

  pthread_mutex_t lock;          /* guards fault and fault_seq */
  atomic_int fault_active;       /* fault.active, readable without the lock */
  struct mock_fault fault;
  uint64_t fault_seq;            /* requests seen since the fault was set */

  atomic_uint_fast64_t requests;        /* complete requests received */
  atomic_uint_fast64_t faults;          /* of those, hit by the fault */
  atomic_uint_fast64_t responses;       /* answers queued (any status) */
  atomic_uint_fast64_t connections;     /* accepted */
  atomic_uint_fast64_t open_connections;
  atomic_uint_fast64_t tls_failures;    /* handshakes that failed */
  /* TLS handshakes in progress: from accept until this side starts writing
   * its Finished (before the client can finish, so a client that opens its
   * next connection once a handshake is done is never counted twice), or
   * the connection's end.  max_handshaking is its high-water mark since the
   * start or the last reset. */
  atomic_uint_fast64_t handshaking;
  atomic_uint_fast64_t max_handshaking;
};

struct mock_server;

struct mock_server_config {
  const char *listen_addr;       /* numeric loopback address */
  int agency_ports[MOCK_N_AGENCIES];   /* 0: a free port */
  int control_port;
  int threads;                   /* worker threads, >= 1 */
  const char *pki_dir;
  const struct mock_population *pop;
  const struct mock_keys *keys;
  int si_token_ttl_s;
  int verbose;                   /* log every connection state change */
};

/* Binds every listener (agencies on each worker, control on the main
 * thread) and starts the workers.  On error returns -1 with a message in
 * err.  The caller owns *out (mock_server_free). */
int mock_server_start(struct mock_server **out, const struct mock_server_config *cfg,
                      char *err, size_t errlen)
  __attribute__((warn_unused_result));

/* Runs the control endpoint and waits for SIGTERM/SIGINT; then stops the
 * workers.  Returns 0 on a clean stop. */
int mock_server_run(struct mock_server *srv);

/* Stops (if still running) and frees everything; NULL is fine. */
void mock_server_free(struct mock_server *srv);

struct mock_agency *mock_server_agency(struct mock_server *srv, enum mock_agency_id id);
int mock_server_control_port(const struct mock_server *srv);
const char *mock_server_listen_addr(const struct mock_server *srv);

/* ---- control.c -------------------------------------------------------- */

/* Initializes / destroys the agency's lock and zeroes fault and counters. */
int mock_agency_state_init(struct mock_agency *ag) __attribute__((warn_unused_result));
void mock_agency_state_destroy(struct mock_agency *ag);

/* Counts a request and decides its fate.  `rnd` is a uniform random 64-bit
 * number from the calling worker, used only for jitter. */
void mock_fault_plan(struct mock_agency *ag, uint64_t rnd, struct mock_fault_plan *plan);

/* The control endpoint's one handler (plain HTTP on the main thread). */
int mock_control_handle(struct mock_server *srv, const struct mock_request *req,
                        struct mock_response *resp);

#endif
