/*
 * xt_support.h - test support for the XML/JOSE mock agencies.
 *
 * A hand-made population (four people, fixed numbers) standing in for the
 * server core's population, keys either generated in memory or loaded from a
 * PKI folder made by certs/gen-pki.sh, and helpers that build the requests a
 * well-behaved client sends.  Linked into the unit tests and mock-render
 * instead of mocks/population.c, so these tests depend on nothing but the
 * agency code under test.
 */
#ifndef XT_SUPPORT_H
#define XT_SUPPORT_H

#include "mock.h"

#include <libxml/tree.h>

/* The hand-made people.  XT_ID_NOBODY is valid but known to nobody. */
#define XT_ID_GRADUATE   "440305199803151234"  /* 张伟: two degrees, one qualification */
#define XT_ID_OVERSEAS   "110108199507204567"  /* 李娜: overseas master, credit warning */
#define XT_ID_DISHONEST  "310115199001027891"  /* 王芳: dishonest; hostile characters */
#define XT_ID_NOBODY     "440304200002290014"
#define XT_NAME_GRADUATE "张伟"

/* The population over the people above. */
const struct mock_population *xt_population(void);
/* The person record behind `id`, or NULL. */
const struct mock_person *xt_person(const char *id);

/* Fills *k with fresh in-memory keys: P-256 chsi and wrong keys (the key
 * type certs/gen-pki.sh makes) with self-signed certificates, P-256 cscse
 * keys, kid "xt-kid", API key "xt-api-key".  0 or -1.  Free with
 * xt_keys_free(). */
int xt_keys_generate(struct mock_keys *k);
/* A self-signed certificate CN=cn for `key` (not consumed), valid for 30
 * days; NULL on error.  Caller frees (X509_free). */
X509 *xt_self_signed(EVP_PKEY *key, const char *cn);
/* Loads keys from a gen-pki.sh folder: signing/chsi.{key,pem},
 * signing/rogue.{key,pem}, signing/cscse.key, signing/rogue-jws.key,
 * secrets/qual-api-key; kid "cscse-signing-1".  0 or -1 (message on stderr). */
int xt_keys_load(const char *pki_dir, struct mock_keys *k);
/* chsi's signing pair and its wrong signer replaced by the PKI's SM2 ones
 * (signing/chsi-sm2.*, signing/rogue-sm2.*), as mock-agencies --sign sm2
 * does.  0 or -1. */
int xt_keys_use_sm2(const char *pki_dir, struct mock_keys *k);
void xt_keys_free(struct mock_keys *k);

/* The content fault named as on the control endpoint ("none" for none), or
 * -1 for an unknown name. */
int xt_fault_by_name(const char *name);

/* A request as a client would send it to `agency` for (id, name), with the
 * body and headers owned by *store.  `api_key` is sent as X-Api-Key. */
struct xt_request {
  struct mock_request req;
  char path[128];
  char content_type[128];
  char soap_action[128];
  char query[1024];
  char *body;
};
int xt_request_build(struct xt_request *r, const char *agency, const char *id,
                     const char *name, const char *api_key);
void xt_request_free(struct xt_request *r);

/* Verifies a compact ES256 JWS the way an independent client would: split,
 * base64url-decode, DER-encode r||s, EVP_DigestVerify.  1 valid, 0 invalid,
 * -1 not a JWS with a 64-byte signature.  With payload_out, the decoded
 * payload (NUL-terminated, caller frees) when it decodes. */
int xt_jws_verify(const char *jws, EVP_PKEY *pub, char **payload_out);

/* Verifies the first ds:Signature of `doc` with libxmlsec1 and `pub`, after
 * registering every attribute named Id as an ID (what `xmlsec1 --id-attr`
 * does: a naive verifier).  1 valid, 0 invalid, -1 no signature. */
int xt_dsig_verify(xmlDocPtr doc, EVP_PKEY *pub);

/* The handler of `agency` ("chsi", "credit", "qual", "cscse"), or NULL. */
const struct mock_agency_ops *xt_agency(const char *agency);

#endif
