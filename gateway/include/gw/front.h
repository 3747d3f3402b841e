/*
 * gw/front.h - the HTTP/1.1 front: listeners, connections, requests.
 *
 * A gw_server is one kind of listener (the TLS API listener, the plain ops
 * listener) with its route table and limits; it is shared by every worker.
 * Each worker attaches a gw_listener for its own socket to its own
 * event_base, so a connection lives and dies on one thread.
 *
 * Requests are answered asynchronously: a handler may answer at once or keep
 * the gw_req and answer later from the same thread (a query waiting for
 * agencies).  If the client goes away first the request is detached, and
 * the late answer is discarded and the request freed by gw_req_respond().
 * Handlers never see a half-read request: heads and bodies are complete and
 * within the configured caps before dispatch.
 */
#ifndef GW_FRONT_H
#define GW_FRONT_H

#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>
#include <event2/util.h>
#include <jansson.h>
#include <openssl/ssl.h>

struct gw_config;
struct gw_server;
struct gw_listener;
struct gw_req;

struct gw_route {
  const char *method;          /* "GET", "POST", ... */
  const char *path;            /* exact path, e.g. "/healthz", or a prefix
                                  ending in a star: "/v1/adapters/" + '*' */
  void (*handler)(struct gw_req *req, void *arg);
  void *arg;
};

/* Creates a server.  `ssl` (borrowed, may be NULL for plain HTTP) must
 * outlive it; `routes` (borrowed) too.  `name` ("api", "ops") appears in
 * logs.  Free with gw_server_free() after every listener is freed. */
struct gw_server *gw_server_new(const struct gw_config *cfg, SSL_CTX *ssl,
                                const struct gw_route *routes, size_t n_routes,
                                const char *name);
void gw_server_free(struct gw_server *srv);

/* Switches a TLS server to a new context (certificate rotation): new
 * connections use `ssl`, open ones keep theirs.  `ssl` (borrowed) and every
 * earlier context must outlive the server.  -1 for a plain server. */
int gw_server_set_ssl(struct gw_server *srv, SSL_CTX *ssl);

/* Connections currently open on this server, across workers. */
int gw_server_open_connections(const struct gw_server *srv);

/* When the certificate that new connections get expires (its notAfter), as
 * Unix seconds in *out.  Returns 0, or -1 for a plain-HTTP server or a date
 * that cannot be read.  Safe from any thread (contexts live until exit). */
int gw_server_cert_not_after(const struct gw_server *srv, double *out);

/* Opens a listening TCP socket on address:port with SO_REUSEADDR and
 * SO_REUSEPORT, non-blocking.  Returns 0 and sets *fd and *bound_port, or -1
 * with a reason in err. */
int gw_listen_socket(const char *address, int port, evutil_socket_t *fd,
                     int *bound_port, char *err, size_t errlen)
  __attribute__((warn_unused_result));

/* Starts accepting on `fd` (ownership passes to the listener) in `base`.
 * Returns NULL on error.  gw_listener_free() stops accepting and closes the
 * listener's open connections (requests still being handled are detached);
 * call it on the listener's thread or after its loop has ended. */
struct gw_listener *gw_listener_new(struct gw_server *srv, struct event_base *base,
                                    evutil_socket_t fd);
void gw_listener_free(struct gw_listener *l);

/* Graceful shutdown: stops accepting, closes idle connections, and lets
 * every connection with a request in progress finish it and then close.
 * On the listener's own thread. */
void gw_listener_drain(struct gw_listener *l);

/* Request accessors: all returned strings are owned by the request and valid
 * until it is answered.  Header lookups are case-insensitive. */
const char *gw_req_method(const struct gw_req *req);
const char *gw_req_path(const struct gw_req *req);          /* no query */
const char *gw_req_query(const struct gw_req *req);         /* or NULL */
const char *gw_req_header(const struct gw_req *req, const char *name, size_t *len);
const char *gw_req_body(const struct gw_req *req, size_t *len);
const char *gw_req_id(const struct gw_req *req);            /* X-Request-Id */
const char *gw_req_client(const struct gw_req *req);        /* cert CN or NULL */
struct event_base *gw_req_base(const struct gw_req *req);

/* Adds a response header.  A name or value with CR, LF or NUL is refused
 * (returns -1) and never written. */
int gw_req_set_header(struct gw_req *req, const char *name, const char *value);

/* Answers and releases the request: after this call `req` is gone.  Must be
 * called exactly once, on the request's own thread. */
void gw_req_respond(struct gw_req *req, int status, const char *content_type,
                    const char *body, size_t len);

/* Answers with `body` serialized compactly (steals the reference). */
void gw_req_respond_json(struct gw_req *req, int status, json_t *body);

/* Answers with an RFC 9457 application/problem+json document: type
 * "/problems/<slug>", title from the status, `detail`, request_id. */
void gw_req_problem(struct gw_req *req, int status, const char *slug,
                    const char *detail);

#endif
