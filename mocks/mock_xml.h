/*
 * mock_xml.h - the helpers the XML and JOSE mock agencies share.
 *
 * chsi (SOAP 1.1, XML-DSig), credit (SOAP 1.2), qual (GB18030 XML) and cscse
 * (ES256 compact JWS) build their documents from the same few pieces: a
 * bounded text builder with XML escaping, SOAP envelopes and faults, a
 * hardened request parser, an enveloped XML-DSig signer on libxmlsec1, an
 * ES256 JWS signer on OpenSSL EVP, base64url, iconv conversion, and the
 * text surgery that turns a good document into a hostile one (XXE, billion
 * laughs, broken XML).  The one idea: every byte an agency emits goes through
 * an escaping builder with a named cap, and every byte it parses goes through
 * a parser that loads nothing and expands nothing.
 *
 * Deliberately independent of the gateway's own codecs (gw/b64.h, the jws
 * and xmlsig modules): a mock that shared the gateway's code would share its
 * bugs, and the tests would prove nothing.
 *
 * Memory: everything returned through a `char **out` is malloc'd and owned
 * by the caller (free()).  Nothing here logs.
 */
#ifndef MOCK_XML_H
#define MOCK_XML_H

#include <stddef.h>
#include <libxml/tree.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "mock.h"

/* Named caps. */
#define MOCK_XML_MAX_DOC      (1024 * 1024) /* any document an agency builds */
#define MOCK_XML_MAX_REQUEST  (64 * 1024)   /* a request body an agency parses */
#define MOCK_XML_MAX_FIELD    256           /* one request field (id, name, ...) */

#define MOCK_NS_SOAP11 "http://schemas.xmlsoap.org/soap/envelope/"
#define MOCK_NS_SOAP12 "http://www.w3.org/2003/05/soap-envelope"
#define MOCK_NS_WSU \
  "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
#define MOCK_NS_DSIG "http://www.w3.org/2000/09/xmldsig#"

/* ---- bounded text builder -------------------------------------------- */

/* A growable buffer that refuses to grow past `limit`.  Errors are sticky:
 * appends after a failure do nothing, so a builder appends freely and checks
 * mock_buf_failed() once at the end. */
struct mock_buf {
  char *data;                  /* NUL-terminated when non-NULL */
  size_t len;
  size_t cap;
  size_t limit;
  int failed;                  /* out of memory or over the limit */
};

void mock_buf_init(struct mock_buf *b, size_t limit);
void mock_buf_add(struct mock_buf *b, const char *s, size_t n);
void mock_buf_adds(struct mock_buf *b, const char *s);
void mock_buf_addf(struct mock_buf *b, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));
/* Appends `s` (NUL-terminated, meant to be UTF-8) escaped for XML text and
 * attribute values: & < > " ' and CR, LF, TAB become references (so they
 * survive attribute-value normalization), other
 * characters XML 1.0 forbids (C0 controls, U+FFFE/U+FFFF) are dropped and
 * invalid UTF-8 becomes U+FFFD, so the result is always well-formed. */
void mock_buf_add_xml(struct mock_buf *b, const char *s);
/* Appends <prefix:name>escaped text</prefix:name>. */
void mock_buf_add_elem(struct mock_buf *b, const char *qname, const char *text);
int mock_buf_failed(const struct mock_buf *b) __attribute__((warn_unused_result));
void mock_buf_free(struct mock_buf *b);

/* Hands the buffer's bytes to `resp` (status, content type) without copying;
 * `b` is left empty.  Returns -1 (and frees the bytes) when the buffer failed. */
int mock_buf_respond(struct mock_buf *b, struct mock_response *resp, int status,
                     const char *content_type) __attribute__((warn_unused_result));

/* 1 when s[0..n) is valid UTF-8 (no overlongs, no surrogates), else 0. */
int mock_utf8_valid(const char *s, size_t n);

/* ---- SOAP ---------------------------------------------------------------- */

enum mock_soap_version { MOCK_SOAP11, MOCK_SOAP12 };

/* Content-Type of a SOAP message of that version (without action). */
const char *mock_soap_content_type(enum mock_soap_version v);

/* Opens "<?xml?><P:Envelope><P:Body>" with P = soap (1.1) or env (1.2).
 * With a non-NULL body_id the Body gets wsu:Id="body_id". */
void mock_soap_open(struct mock_buf *b, enum mock_soap_version v, const char *body_id);
void mock_soap_close(struct mock_buf *b, enum mock_soap_version v);

enum mock_soap_fault_code {
  MOCK_SOAP_SENDER,            /* 1.1 soap:Client,  1.2 env:Sender   */
  MOCK_SOAP_RECEIVER,          /* 1.1 soap:Server,  1.2 env:Receiver */
  MOCK_SOAP_VERSION_MISMATCH   /* 1.1 soap:VersionMismatch, 1.2 env:VersionMismatch */
};

/* What an agency says in a fault.  The detail is the agency's own element
 * <p:error xmlns:p="ns"><p:code>code</p:code><p:message>reason</p:message>
 * </p:error>; SOAP 1.2 also gets Subcode p:`code` and a Chinese Reason
 * text when reason_zh is set. */
struct mock_soap_fault {
  enum mock_soap_fault_code code;
  const char *ns_prefix;       /* agency namespace prefix, e.g. "chsi" */
  const char *ns;              /* agency namespace URI */
  const char *detail_code;     /* e.g. "InvalidIdNumber" (an NCName) */
  const char *reason;          /* English; escaped on output */
  const char *reason_zh;       /* Chinese, or NULL */
};

/* Writes a complete fault envelope into *resp.  status 0 means the binding's
 * own status: 500 for SOAP 1.1; 400 for env:Sender and 500 otherwise for
 * SOAP 1.2.  Returns 0, or -1 on out-of-memory. */
int mock_soap_fault_respond(struct mock_response *resp, enum mock_soap_version v,
                            const struct mock_soap_fault *f, int status)
  __attribute__((warn_unused_result));

/* ---- parsing what clients send ----------------------------------------- */

enum mock_parse {
  MOCK_PARSE_OK = 0,
  MOCK_PARSE_TOO_BIG,          /* over MOCK_XML_MAX_REQUEST */
  MOCK_PARSE_NOT_WELL_FORMED,
  MOCK_PARSE_DTD,              /* has a DOCTYPE: refused, never expanded */
  MOCK_PARSE_NOT_ENVELOPE,     /* root is not a SOAP Envelope of any version */
  MOCK_PARSE_VERSION_MISMATCH, /* an Envelope of the other SOAP version */
  MOCK_PARSE_NO_PAYLOAD,       /* no Body, or an empty Body */
  MOCK_PARSE_NOMEM
};

/* Parses `body` with no network, no DTD loading, no entity substitution and
 * libxml2's default depth limit; refuses any DOCTYPE.  On MOCK_PARSE_OK
 * *doc is the caller's (xmlFreeDoc). */
enum mock_parse mock_xml_parse(const char *body, size_t len, xmlDocPtr *doc)
  __attribute__((warn_unused_result));

/* Checks that `doc` is a SOAP envelope of version `v` and points *payload at
 * the first element child of its Body. */
enum mock_parse mock_soap_payload(xmlDocPtr doc, enum mock_soap_version v,
                                  xmlNodePtr *payload)
  __attribute__((warn_unused_result));

/* A short English description of a parse result.  Static; never NULL. */
const char *mock_parse_strerror(enum mock_parse r);

enum mock_field {
  MOCK_FIELD_OK = 0,
  MOCK_FIELD_ABSENT,           /* no such child element, or it is empty */
  MOCK_FIELD_TOO_LONG          /* longer than cap - 1 bytes */
};

/* Copies the text of the first child element {ns}name of `parent` into
 * out[cap], trimmed of surrounding XML whitespace. */
enum mock_field mock_xml_field(xmlNodePtr parent, const char *ns, const char *name,
                               char *out, size_t cap) __attribute__((warn_unused_result));

/* The subject of a query, as every XML agency takes it. */
#define MOCK_XML_MAX_REQID 65       /* requestId: 1-64 of [A-Za-z0-9._-] */
struct mock_subject_query {
  char id[19];                 /* normalized GB 11643 number */
  char name[MOCK_XML_MAX_FIELD];
  char request_id[MOCK_XML_MAX_REQID]; /* "" when absent */
};

enum mock_subject_err {
  MOCK_SUBJECT_OK = 0,
  MOCK_SUBJECT_BAD_ID,         /* idNumber missing or not a valid number */
  MOCK_SUBJECT_BAD_FIELD       /* name missing/too long, requestId malformed */
};

/* Reads {ns}idNumber, {ns}name and optional {ns}requestId children of
 * `payload` into *q, normalizing the number.  On error *why (static English)
 * says what is wrong. */
enum mock_subject_err mock_xml_read_subject(xmlNodePtr payload, const char *ns,
                                            struct mock_subject_query *q,
                                            const char **why)
  __attribute__((warn_unused_result));

/* 1 when a SOAPAction value (quoted or not; NULL or empty means "dispatch on
 * the Body") is acceptable for an operation whose action URI is `want`. */
int mock_soap_action_ok(const char *action, const char *want);

/* 1 when `ctype` names `want` ("text/xml") ignoring case and parameters. */
int mock_media_type_is(const char *ctype, const char *want);

/* Finds parameter `name` in a Content-Type value and copies its value
 * (unquoted) into out[cap].  Returns 0 found, -1 absent or too long. */
int mock_media_type_param(const char *ctype, const char *name, char *out, size_t cap)
  __attribute__((warn_unused_result));

/* ---- XML-DSig -------------------------------------------------------------- */

/* Signs `node` (which carries an Id attribute of any namespace whose value is
 * `id`) with an enveloped signature appended as its last child:
 * exc-c14n, a SignatureMethod that follows the key (rsa-sha256 for RSA,
 * ecdsa-sha256 for EC P-256, whose SignatureValue is the raw 64-byte r||s;
 * sm2-sm3 with an sm3 digest for SM2, below; any other key is refused and
 * nothing is added), one Reference URI="#id"
 * with sha256 and the enveloped-signature + exc-c14n transforms,
 * KeyInfo/X509Data holding `cert`.  `key` and `cert` are not consumed and
 * not copied (only referenced while signing), so one pair may sign for
 * several threads at once.  Returns 0 or -1. */
int mock_xml_dsig_sign(xmlDocPtr doc, xmlNodePtr node, const char *id,
                       EVP_PKEY *key, X509 *cert) __attribute__((warn_unused_result));

/* SM2 keys (mocks.sign=sm2, docs/crypto.md): the same template with
 * SignatureMethod MOCK_DSIG_SM2_SM3, DigestMethod MOCK_DSIG_SM3 and
 * SignatureValue the raw r||s of SM2 with SM3 and ID 1234567812345678 over
 * the exclusive canonical SignedInfo; libxmlsec1 has no SM2, so
 * mock_xml_dsig_sign() uses these two (mock_dsig_sm2.c): the SM3 digest of
 * `node` exclusive-canonicalized (called before the signature is appended),
 * then the filling of the appended template `sig`.  0 or -1. */
#define MOCK_DSIG_SM2_SM3 "http://www.w3.org/2000/09/xmldsig#sm2-sm3"
#define MOCK_DSIG_SM3     "http://www.w3.org/2000/09/xmldsig#sm3"
int mock_dsig_sm2_digest(xmlNodePtr node, unsigned char digest[32])
  __attribute__((warn_unused_result));
int mock_dsig_sm2_finish(xmlNodePtr sig, EVP_PKEY *key, X509 *cert,
                         const unsigned char digest[32]) __attribute__((warn_unused_result));

/* Serializes `doc` as UTF-8 with an XML declaration into a new buffer. */
int mock_xml_dump(xmlDocPtr doc, char **out, size_t *out_len)
  __attribute__((warn_unused_result));

/* Initializes libxml2 and xmlsec once per process (thread-safe, idempotent;
 * the signer calls it itself).  Returns 0 or -1. */
int mock_xml_init(void) __attribute__((warn_unused_result));
/* Releases xmlsec; only for leak checkers at process exit. */
void mock_xml_cleanup(void);

/* ---- hostile documents ------------------------------------------------------ */

enum mock_xml_attack {
  MOCK_ATTACK_XXE,             /* <!ENTITY xxe SYSTEM "file:///etc/passwd"> */
  MOCK_ATTACK_BILLION_LAUGHS   /* ten levels of ten-fold entity expansion */
};

/* Copies doc[0..len) with a DOCTYPE for `root_qname` inserted after the XML
 * declaration and the text of the first element named by targets[] (tried
 * in order, NULL-terminated qnames) replaced by the entity reference. */
int mock_xml_attack(const char *doc, size_t len, const char *root_qname,
                    const char *const *targets, enum mock_xml_attack a,
                    char **out, size_t *out_len) __attribute__((warn_unused_result));

/* Copies doc[0..len) cut at a tag boundary two thirds in, followed by an
 * unclosed attribute and a mismatched end tag: never well-formed. */
int mock_xml_break(const char *doc, size_t len, char **out, size_t *out_len)
  __attribute__((warn_unused_result));

/* Renders a content fault into the finished document in b, as every XML
 * agency does: MOCK_CF_MALFORMED breaks it (mock_xml_break), MOCK_CF_XXE
 * and MOCK_CF_BILLION_LAUGHS put the attack under `root_qname` at
 * `targets` (mock_xml_attack); any other fault leaves it as it is.
 * Returns 0, or -1 with b unchanged. */
int mock_buf_xml_fault(struct mock_buf *b, enum mock_content_fault cf, const char *root_qname,
                       const char *const *targets) __attribute__((warn_unused_result));

/* ---- JOSE ----------------------------------------------------------------------- */

/* base64url without padding (RFC 7515 section 2). */
int mock_b64url_encode(const unsigned char *in, size_t len, char **out)
  __attribute__((warn_unused_result));
/* Decodes unpadded base64url; refuses any other character. */
int mock_b64url_decode(const char *in, size_t len, unsigned char **out, size_t *out_len)
  __attribute__((warn_unused_result));

/* Makes BASE64URL(header).BASE64URL(payload).BASE64URL(r||s): ES256, header
 * {"alg":"ES256","kid":kid}, signature the raw 64-byte r||s of ECDSA P-256
 * (an SM2 key: "alg" "GmSM2", SM2 with SM3 and ID 1234567812345678, r||s;
 * docs/crypto.md)
 * SHA-256.  `key` must be a P-256 key.  *out is NUL-terminated. */
int mock_jws_es256(EVP_PKEY *key, const char *kid, const char *payload, size_t len,
                   char **out) __attribute__((warn_unused_result));

/* ---- encodings and small things ---------------------------------------------------- */

/* Converts in[0..len) from `from` to `to` with iconv; refuses invalid or
 * incomplete input instead of guessing.  *out is NUL-terminated. */
int mock_iconv(const char *to, const char *from, const char *in, size_t len,
               char **out, size_t *out_len) __attribute__((warn_unused_result));

/* Current UTC time as "YYYY-MM-DDThh:mm:ssZ". */
void mock_xml_now(char out[21]);

/* `prefix` followed by 16 random lowercase hex digits, for Ids. */
void mock_xml_random_id(const char *prefix, char *out, size_t cap);

#endif
