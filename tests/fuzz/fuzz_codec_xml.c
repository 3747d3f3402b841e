/*
 * fuzz_codec_xml.c - agency answers for the XML families through the codec:
 * chsi (SOAP 1.1, XML-DSig: with a discarded key, never ok), credit
 * (SOAP 1.2 with SOAP faults) and qual (GB18030 XML over GET).  The input
 * framing and the invariants are in fuzz_codec.h.
 */
#define FUZZ_ADAPTERS { "adapters/chsi.json", "adapters/credit.json", "adapters/qual.json" }
#include "fuzz_codec.h"
