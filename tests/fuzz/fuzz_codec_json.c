/*
 * fuzz_codec_json.c - agency answers for the JSON families through the
 * codec: mps (JSON REST behind mTLS), si (JSON REST, OAuth2, errcode in a
 * 200), cscse (a compact JWS around JSON: with a discarded key, never ok)
 * and talent (paged: the body is split into pages at form feeds, first-match
 * selection, per-fact not_found).  The input framing and the invariants are
 * in fuzz_codec.h.
 */
#define FUZZ_ADAPTERS { "adapters/mps.json", "adapters/si.json", "adapters/cscse.json", \
                        "adapters/talent.json" }
#include "fuzz_codec.h"
