/*
 * fuzz_http_head.c - the HTTP/1.1 request-head parser.  Invariants checked
 * beyond "no crash": every returned pointer lies inside the input, and an
 * accepted head has a method, an origin-form target and sane lengths.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct gw_http_header headers[64];
  struct gw_http_head h;
  const char *buf = (const char *)data, *end = buf + size;

  if(gw_http_parse_head(buf, size, headers, 64, &h) != GW_HTTP_PARSE_OK)
    return 0;
  if(!h.method_len || h.method < buf || h.method + h.method_len > end ||
     h.target < buf || h.target + h.target_len > end || h.target[0] != '/' ||
     h.n_headers > 64 || (h.chunked && h.content_length >= 0))
    abort();
  for(int i = 0; i < h.n_headers; i++)
    if(headers[i].name < buf || headers[i].name + headers[i].name_len > end ||
       headers[i].value < buf || headers[i].value + headers[i].value_len > end ||
       memchr(headers[i].value, '\n', headers[i].value_len))
      abort();
  return 0;
}
