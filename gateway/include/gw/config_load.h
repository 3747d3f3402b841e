/*
 * gw/config_load.h - reading and validating the gateway's configuration file.
 *
 * The type, struct gw_config, is gw/config.h (base layer, read by every
 * layer); loading it belongs to the runtime, which alone decides when the
 * file is read (start-up, reload).
 */
#ifndef GW_CONFIG_LOAD_H
#define GW_CONFIG_LOAD_H

#include <stddef.h>
#include "gw/config.h"

/* Reads and validates `path`.  On success returns 0 and sets *out (caller
 * frees with gw_config_free).  On error returns -1, writes one line
 * "FILE: FIELD: PROBLEM" into err (always NUL-terminated) and sets *out to
 * NULL. */
int gw_config_load(const char *path, struct gw_config **out,
                   char *err, size_t errlen)
  __attribute__((warn_unused_result));

void gw_config_free(struct gw_config *cfg);

#endif
