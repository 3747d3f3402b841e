/*
 * gw/alloc.h - the allocation wrappers every gateway subsystem uses.
 *
 * Out-of-memory policy, written once: the gateway cannot answer truthfully
 * without memory (an attestation, an audit record half-built), so a failed
 * allocation logs one line and aborts the process; the supervisor restarts
 * it and the audit log's recovery takes over.  Callers therefore never check
 * these for NULL.  Code that must survive hostile sizes bounds the size
 * *before* allocating (every network-fed buffer has a named cap).
 */
#ifndef GW_ALLOC_H
#define GW_ALLOC_H

#include <stddef.h>

/* Never return NULL (abort on exhaustion).  Free with gw_free(). */
void *gw_malloc(size_t n) __attribute__((malloc, returns_nonnull));
void *gw_calloc(size_t nmemb, size_t size) __attribute__((malloc, returns_nonnull));
void *gw_realloc(void *p, size_t n) __attribute__((returns_nonnull));
char *gw_strdup(const char *s) __attribute__((malloc, returns_nonnull));
char *gw_strndup(const char *s, size_t n) __attribute__((malloc, returns_nonnull));
void gw_free(void *p);

#endif
