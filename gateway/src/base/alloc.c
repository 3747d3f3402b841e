/*
 * alloc.c - allocation wrappers with the one out-of-memory policy: abort.
 */
#include "gw/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void oom(size_t n) __attribute__((noreturn));

static void oom(size_t n)
{
  char line[96];
  int len = snprintf(line, sizeof(line),
                     "{\"level\":\"fatal\",\"event\":\"out_of_memory\",\"bytes\":%zu}\n", n);
  if(len > 0)
    (void)!write(STDERR_FILENO, line, (size_t)len);
  abort();
}

void *gw_malloc(size_t n)
{
  void *p = malloc(n ? n : 1);
  if(!p)
    oom(n);
  return p;
}

void *gw_calloc(size_t nmemb, size_t size)
{
  void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
  if(!p)
    oom(nmemb * size);
  return p;
}

void *gw_realloc(void *p, size_t n)
{
  void *q = realloc(p, n ? n : 1);
  if(!q)
    oom(n);
  return q;
}

char *gw_strdup(const char *s)
{
  return gw_strndup(s, strlen(s));
}

char *gw_strndup(const char *s, size_t n)
{
  size_t len = strnlen(s, n);
  char *p = gw_malloc(len + 1);
  memcpy(p, s, len);
  p[len] = '\0';
  return p;
}

void gw_free(void *p)
{
  free(p);
}
