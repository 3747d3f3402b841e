/*
 * gwctl_int.h - shared pieces of the gwctl subcommands.
 *
 * Each subcommand lives in its own gwctl_<name>.c and has one entry point
 * taking the arguments after its name; it returns the process exit status
 * (0 success, 1 a check failed, 2 a usage or input error).
 */
#ifndef GWCTL_INT_H
#define GWCTL_INT_H

#include <stddef.h>

int gwctl_verify(int argc, char **argv);
int gwctl_audit(int argc, char **argv);
int gwctl_query(int argc, char **argv);
int gwctl_adapter(int argc, char **argv);
int gwctl_adapter_push(int argc, char **argv);
int gwctl_status(int argc, char **argv);
int gwctl_predicate(int argc, char **argv);
int gwctl_predicate_push(int argc, char **argv);
int gwctl_fact_push(int argc, char **argv);
int gwctl_fact_validate(int argc, char **argv);
int gwctl_purposes_push(int argc, char **argv);
int gwctl_purposes_validate(int argc, char **argv);
int gwctl_verify_bundle(int argc, char **argv);

/* Reads a file, or a URL with https:// (with optional CA file), into a
 * NUL-terminated buffer of at most `cap` bytes (caller frees with gw_free).
 * "-" reads standard input.  Returns NULL with a reason in err. */
char *gwctl_read_source(const char *src, const char *cacert, size_t cap, size_t *len,
                        char *err, size_t errlen);

/* Client certificate and key for the HTTPS reads of gwctl_read_source
 * (NULL: none).  The gateway asks every client for one. */
void gwctl_set_client_cert(const char *cert, const char *key);

/* Installs the fact catalogue of DIR (schema files) and DIR/../purposes.json,
 * DIR defaulting to ./schemas/facts, for the adapter loader; kept for the
 * process's life.  0, or -1 after printing why (prefixed by `who`). */
int gwctl_use_catalogue(const char *dir, const char *who);

#endif
