/*
 * test_xt_mock_xml.c - unit tests of mocks/mock_xml.c.
 *
 * What a user of the helpers relies on: escaped text always parses back to
 * what was escaped, the builder never passes its cap, hostile requests are
 * refused before any entity is read, base64url matches RFC 4648, an ES256
 * JWS verifies with plain OpenSSL once r||s is turned back into DER, an
 * enveloped XML-DSig (ecdsa-sha256 for a P-256 key, rsa-sha256 for RSA)
 * verifies with libxmlsec1 and stops verifying when a signed byte changes,
 * and GB18030 round-trips Chinese text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libxml/parser.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <xmlsec/openssl/evp.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmltree.h>
#include <xmlsec/errors.h>
#include <xmlsec/xmlsec.h>

#include "mock_xml.h"
#include "xt_support.h"

/* ---- escaping and the builder --------------------------------------- */

static char *escaped(const char *s)
{
  struct mock_buf b;
  mock_buf_init(&b, 4096);
  mock_buf_add_xml(&b, s);
  assert_false(mock_buf_failed(&b));
  return b.data ? b.data : strdup("");
}

/* Wraps the escaped text in an element and returns what a parser reads. */
static char *round_trip(const char *s)
{
  struct mock_buf b;
  xmlDocPtr doc;
  xmlChar *text;
  char *out;

  mock_buf_init(&b, 4096);
  mock_buf_adds(&b, "<r a=\"");
  mock_buf_add_xml(&b, s);
  mock_buf_adds(&b, "\">");
  mock_buf_add_xml(&b, s);
  mock_buf_adds(&b, "</r>");
  assert_false(mock_buf_failed(&b));
  doc = xmlReadMemory(b.data, (int)b.len, NULL, "UTF-8", XML_PARSE_NONET);
  assert_non_null(doc);
  text = xmlGetProp(xmlDocGetRootElement(doc), BAD_CAST "a");
  out = strdup((const char *)text);
  xmlFree(text);
  text = xmlNodeGetContent(xmlDocGetRootElement(doc));
  assert_string_equal(out, (const char *)text);  /* attribute and text agree */
  xmlFree(text);
  xmlFreeDoc(doc);
  mock_buf_free(&b);
  return out;
}

static void test_escape_markup(void **state)
{
  char *e = escaped("a&b<c>\"d'e");
  (void)state;
  assert_string_equal(e, "a&amp;b&lt;c&gt;&quot;d&apos;e");
  free(e);
  e = round_trip("<script>alert('x') & \"y\"</script>");
  assert_string_equal(e, "<script>alert('x') & \"y\"</script>");
  free(e);
}

static void test_escape_chinese_and_controls(void **state)
{
  char *e;
  (void)state;
  e = escaped("张伟\t\n");
  assert_string_equal(e, "张伟&#9;&#10;");
  free(e);
  /* CR survives as a reference; C0 controls and U+FFFE are dropped. */
  e = escaped("a\rb\x01" "c\x1f" "d\xef\xbf\xbe" "e");
  assert_string_equal(e, "a&#13;bcde");
  free(e);
  e = round_trip("line1\r\nline2");
  assert_string_equal(e, "line1\r\nline2");
  free(e);
}

static void test_escape_invalid_utf8(void **state)
{
  char *e;
  (void)state;
  e = escaped("x\xffy");                     /* stray byte */
  assert_string_equal(e, "x\xef\xbf\xbdy");
  free(e);
  e = escaped("\xc0\xaf");                   /* overlong '/' */
  assert_string_equal(e, "\xef\xbf\xbd\xef\xbf\xbd");
  free(e);
  e = escaped("\xed\xa0\x80");               /* UTF-16 surrogate */
  assert_string_equal(e, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
  free(e);
  e = escaped("\xe5\xbc");                   /* truncated 张 */
  assert_string_equal(e, "\xef\xbf\xbd\xef\xbf\xbd");
  free(e);
  e = round_trip("ok\xf8\x88\x80\x80\x80!");
  assert_true(mock_utf8_valid(e, strlen(e)));
  free(e);
  assert_true(mock_utf8_valid("张伟", strlen("张伟")));
  assert_false(mock_utf8_valid("\xf4\x90\x80\x80", 4));  /* > U+10FFFF */
}

static void test_buf_cap_is_sticky(void **state)
{
  struct mock_buf b;
  (void)state;
  mock_buf_init(&b, 8);
  mock_buf_adds(&b, "12345678");
  assert_false(mock_buf_failed(&b));
  assert_int_equal(b.len, 8);
  mock_buf_adds(&b, "9");
  assert_true(mock_buf_failed(&b));
  mock_buf_free(&b);
  mock_buf_adds(&b, "x");                    /* a freed buffer starts afresh */
  assert_false(mock_buf_failed(&b));
  mock_buf_free(&b);

  mock_buf_init(&b, 4);
  mock_buf_add_xml(&b, "&&");                /* escaping counts against the cap */
  assert_true(mock_buf_failed(&b));
  mock_buf_adds(&b, "");
  assert_true(mock_buf_failed(&b));
  mock_buf_free(&b);
}

/* ---- parsing requests --------------------------------------------------- */

static void test_parse_refuses_dtd(void **state)
{
  static const char xxe[] =
    "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><r>&x;</r>";
  static const char bomb[] =
    "<!DOCTYPE r [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">"
    "<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;\">]><r>&c;</r>";
  xmlDocPtr doc = NULL;
  (void)state;
  assert_int_equal(mock_xml_parse(xxe, sizeof(xxe) - 1, &doc), MOCK_PARSE_DTD);
  assert_null(doc);
  assert_int_equal(mock_xml_parse(bomb, sizeof(bomb) - 1, &doc), MOCK_PARSE_DTD);
  assert_null(doc);
}

static void test_parse_limits_and_soap(void **state)
{
  static const char s11[] =
    "<s:Envelope xmlns:s=\"" MOCK_NS_SOAP11 "\"><s:Header/><s:Body> <p:Op xmlns:p=\"urn:p\"/></s:Body></s:Envelope>";
  static const char empty[] =
    "<s:Envelope xmlns:s=\"" MOCK_NS_SOAP11 "\"><s:Body>  </s:Body></s:Envelope>";
  char *big = malloc(MOCK_XML_MAX_REQUEST + 2);
  xmlDocPtr doc = NULL;
  xmlNodePtr payload;
  (void)state;

  memset(big, ' ', MOCK_XML_MAX_REQUEST + 1);
  assert_int_equal(mock_xml_parse(big, MOCK_XML_MAX_REQUEST + 1, &doc), MOCK_PARSE_TOO_BIG);
  free(big);
  assert_int_equal(mock_xml_parse("<a><b></a>", 10, &doc), MOCK_PARSE_NOT_WELL_FORMED);
  assert_int_equal(mock_xml_parse("", 0, &doc), MOCK_PARSE_NOT_WELL_FORMED);

  assert_int_equal(mock_xml_parse(s11, sizeof(s11) - 1, &doc), MOCK_PARSE_OK);
  assert_int_equal(mock_soap_payload(doc, MOCK_SOAP12, &payload), MOCK_PARSE_VERSION_MISMATCH);
  assert_int_equal(mock_soap_payload(doc, MOCK_SOAP11, &payload), MOCK_PARSE_OK);
  assert_string_equal((const char *)payload->name, "Op");
  xmlFreeDoc(doc);

  assert_int_equal(mock_xml_parse(empty, sizeof(empty) - 1, &doc), MOCK_PARSE_OK);
  assert_int_equal(mock_soap_payload(doc, MOCK_SOAP11, &payload), MOCK_PARSE_NO_PAYLOAD);
  xmlFreeDoc(doc);
  assert_int_equal(mock_xml_parse("<x/>", 4, &doc), MOCK_PARSE_OK);
  assert_int_equal(mock_soap_payload(doc, MOCK_SOAP11, &payload), MOCK_PARSE_NOT_ENVELOPE);
  xmlFreeDoc(doc);
}

static void test_fields_and_media_types(void **state)
{
  static const char x[] =
    "<p:q xmlns:p=\"urn:p\"><p:idNumber> 440305199803151234\n</p:idNumber>"
    "<p:name>张伟</p:name><other:name xmlns:other=\"urn:o\">no</other:name>"
    "<p:requestId>bad id!</p:requestId></p:q>";
  struct mock_subject_query q;
  char out[8], param[64];
  const char *why = NULL;
  xmlDocPtr doc;
  (void)state;

  assert_int_equal(mock_xml_parse(x, sizeof(x) - 1, &doc), MOCK_PARSE_OK);
  assert_int_equal(mock_xml_field(xmlDocGetRootElement(doc), "urn:p", "name", out, sizeof(out)),
                   MOCK_FIELD_OK);
  assert_string_equal(out, "张伟");
  assert_int_equal(mock_xml_field(xmlDocGetRootElement(doc), "urn:p", "idNumber", out,
                                  sizeof(out)), MOCK_FIELD_TOO_LONG);
  assert_int_equal(mock_xml_field(xmlDocGetRootElement(doc), "urn:p", "missing", out,
                                  sizeof(out)), MOCK_FIELD_ABSENT);
  assert_int_equal(mock_xml_read_subject(xmlDocGetRootElement(doc), "urn:p", &q, &why),
                   MOCK_SUBJECT_BAD_FIELD);   /* the requestId */
  assert_string_equal(q.id, XT_ID_GRADUATE);
  xmlFreeDoc(doc);

  assert_true(mock_media_type_is("Text/XML; charset=utf-8", "text/xml"));
  assert_true(mock_media_type_is("  application/json", "application/json"));
  assert_false(mock_media_type_is("text/xmlx", "text/xml"));
  assert_false(mock_media_type_is(NULL, "text/xml"));
  assert_int_equal(mock_media_type_param("application/soap+xml; charset=utf-8; action=\"urn:a#b\"",
                                         "action", param, sizeof(param)), 0);
  assert_string_equal(param, "urn:a#b");
  assert_int_equal(mock_media_type_param("application/soap+xml;action=urn:x", "action",
                                         param, sizeof(param)), 0);
  assert_string_equal(param, "urn:x");
  assert_int_equal(mock_media_type_param("text/xml", "action", param, sizeof(param)), -1);
  assert_true(mock_soap_action_ok(NULL, "urn:a#b"));
  assert_true(mock_soap_action_ok("\"\"", "urn:a#b"));
  assert_true(mock_soap_action_ok("\"urn:a#b\"", "urn:a#b"));
  assert_false(mock_soap_action_ok("urn:a#c", "urn:a#b"));
}

/* ---- hostile documents ---------------------------------------------------- */

static void test_attack_and_break(void **state)
{
  static const char doc[] = "<?xml version=\"1.0\"?>\n<r><a>1</a><name>张伟</name></r>\n";
  static const char *const targets[] = { "missing", "name", NULL };
  char *out = NULL;
  size_t len = 0;
  xmlDocPtr parsed;
  (void)state;

  assert_int_equal(mock_xml_attack(doc, sizeof(doc) - 1, "r", targets, MOCK_ATTACK_XXE,
                                   &out, &len), 0);
  assert_non_null(strstr(out, "<!DOCTYPE r [\n  <!ENTITY xxe SYSTEM \"file:///etc/passwd\">"));
  assert_non_null(strstr(out, "<name>&xxe;</name>"));
  assert_ptr_equal(strstr(out, "<?xml"), out);
  free(out);

  assert_int_equal(mock_xml_attack(doc, sizeof(doc) - 1, "r", targets,
                                   MOCK_ATTACK_BILLION_LAUGHS, &out, &len), 0);
  assert_non_null(strstr(out, "<!ENTITY lol9 \"&lol8;&lol8;&lol8;"));
  assert_non_null(strstr(out, "<name>&lol9;</name>"));
  /* And our own parser refuses it without expanding anything. */
  assert_int_equal(mock_xml_parse(out, len, &parsed), MOCK_PARSE_DTD);
  free(out);

  assert_int_equal(mock_xml_attack(doc, sizeof(doc) - 1, "r", targets + 2, MOCK_ATTACK_XXE,
                                   &out, &len), -1);

  assert_int_equal(mock_xml_break(doc, sizeof(doc) - 1, &out, &len), 0);
  assert_int_equal(mock_xml_parse(out, len, &parsed), MOCK_PARSE_NOT_WELL_FORMED);
  assert_true(mock_utf8_valid(out, len));
  free(out);
}

/* ---- base64url and JWS --------------------------------------------------- */

static void test_b64url_vectors(void **state)
{
  static const char *const plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
  static const char *const coded[] = { "", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy" };
  static const unsigned char high[] = { 0xfb, 0xff, 0xbf };
  unsigned char *d;
  size_t dl;
  char *e;
  (void)state;

  for(size_t i = 0; i < 7; i++) {
    assert_int_equal(mock_b64url_encode((const unsigned char *)plain[i], strlen(plain[i]), &e), 0);
    assert_string_equal(e, coded[i]);
    free(e);
    assert_int_equal(mock_b64url_decode(coded[i], strlen(coded[i]), &d, &dl), 0);
    assert_int_equal(dl, strlen(plain[i]));
    assert_memory_equal(d, plain[i], dl);
    free(d);
  }
  assert_int_equal(mock_b64url_encode(high, sizeof(high), &e), 0);
  assert_string_equal(e, "-_-_");            /* URL alphabet, never + or / */
  free(e);
  assert_int_equal(mock_b64url_decode("Zg==", 4, &d, &dl), -1);  /* padding */
  assert_int_equal(mock_b64url_decode("Z", 1, &d, &dl), -1);     /* length */
  assert_int_equal(mock_b64url_decode("Zh", 2, &d, &dl), -1);    /* trailing bits */
  assert_int_equal(mock_b64url_decode("+/8", 3, &d, &dl), -1);   /* std alphabet */
}

static void test_jws_round_trip(void **state)
{
  static const char payload[] = "{\"name\":\"张伟\",\"n\":1}";
  EVP_PKEY *key = EVP_EC_gen("P-256"), *other = EVP_EC_gen("P-256"), *rsa = EVP_RSA_gen(2048);
  char *jws = NULL, *got = NULL, *hdr_json;
  unsigned char *hdr;
  size_t hlen;
  json_t *hdr_obj;
  (void)state;

  assert_non_null(key);
  for(int i = 0; i < 16; i++) {              /* r or s with leading zero bytes too */
    assert_int_equal(mock_jws_es256(key, "k\"1", payload, sizeof(payload) - 1, &jws), 0);
    assert_int_equal(xt_jws_verify(jws, key, &got), 1);
    assert_string_equal(got, payload);
    assert_int_equal(xt_jws_verify(jws, other, NULL), 0);
    free(got);
    if(i < 15)
      free(jws);
  }
  /* Header: exactly alg and kid, the kid JSON-escaped. */
  assert_int_equal(mock_b64url_decode(jws, (size_t)(strchr(jws, '.') - jws), &hdr, &hlen), 0);
  hdr_json = (char *)hdr;
  hdr_obj = json_loads(hdr_json, 0, NULL);
  assert_non_null(hdr_obj);
  assert_string_equal(json_string_value(json_object_get(hdr_obj, "alg")), "ES256");
  assert_string_equal(json_string_value(json_object_get(hdr_obj, "kid")), "k\"1");
  assert_int_equal(json_object_size(hdr_obj), 2);
  json_decref(hdr_obj);
  free(hdr);
  /* A changed payload byte breaks it. */
  jws[strchr(jws, '.') - jws + 2] ^= 1;
  assert_int_not_equal(xt_jws_verify(jws, key, NULL), 1);
  free(jws);
  /* Only P-256 keys sign ES256. */
  assert_int_equal(mock_jws_es256(rsa, "k", "{}", 2, &jws), -1);
  EVP_PKEY_free(key);
  EVP_PKEY_free(other);
  EVP_PKEY_free(rsa);
}

/* ---- XML-DSig ------------------------------------------------------------------ */

#define DSIG_TEST_DOC \
  "<e:Envelope xmlns:e=\"" MOCK_NS_SOAP11 "\" xmlns:wsu=\"" MOCK_NS_WSU "\">" \
  "<e:Body wsu:Id=\"Body-1\"><p:v xmlns:p=\"urn:p\">张伟</p:v></e:Body></e:Envelope>"

/* The base64 text of the SignatureValue in `out`, whitespace removed, into
 * b64[cap]; its length. */
static size_t signature_value_b64(const char *out, char *b64, size_t cap)
{
  const char *p = strstr(out, "<ds:SignatureValue>"), *end;
  size_t n = 0;

  assert_non_null(p);
  p += strlen("<ds:SignatureValue>");
  end = strstr(p, "</ds:SignatureValue>");
  assert_non_null(end);
  for(; p < end; p++)
    if(*p != '\n' && *p != '\r' && *p != ' ' && *p != '\t') {
      assert_true(n + 1 < cap);
      b64[n++] = *p;
    }
  b64[n] = '\0';
  return n;
}

static void test_dsig_enveloped(void **state)
{
  static const char text[] = DSIG_TEST_DOC;
  struct mock_keys k;
  xmlDocPtr doc;
  xmlNodePtr body;
  char *out, b64[512];
  size_t len;
  (void)state;

  assert_int_equal(xt_keys_generate(&k), 0);   /* P-256, like the PKI's chsi key */
  doc = xmlReadMemory(text, sizeof(text) - 1, NULL, NULL, XML_PARSE_NONET);
  body = xmlDocGetRootElement(doc)->children;
  assert_int_equal(mock_xml_dsig_sign(doc, body, "Body-1", k.chsi_key, k.chsi_cert), 0);
  assert_int_equal(mock_xml_dump(doc, &out, &len), 0);
  assert_non_null(strstr(out, "<ds:Reference URI=\"#Body-1\">"));
  assert_non_null(strstr(out, "<ds:SignatureMethod "
                              "Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256\"/>"));
  assert_null(strstr(out, "rsa-sha256"));
  assert_non_null(strstr(out, "Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\""));
  assert_non_null(strstr(out, "Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\""));
  assert_non_null(strstr(out, "Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\""));
  assert_non_null(strstr(out, "<ds:X509Certificate>"));
  /* XML-DSig ECDSA values are the raw 64-byte r||s (RFC 4050), not DER. */
  assert_int_equal(signature_value_b64(out, b64, sizeof(b64)), 88);
  assert_string_equal(b64 + 86, "==");
  assert_ptr_equal(xmlDocGetRootElement(doc)->children->children->next->parent, body);
  assert_int_equal(xt_dsig_verify(doc, k.chsi_key), 1);
  assert_int_equal(xt_dsig_verify(doc, k.wrong_key), 0);
  xmlFreeDoc(doc);

  /* Reparse the bytes and change one signed character. */
  doc = xmlReadMemory(out, (int)len, NULL, NULL, XML_PARSE_NONET);
  xmlAddID(NULL, doc, BAD_CAST "Body-1",
           xmlHasNsProp(xmlDocGetRootElement(doc)->children, BAD_CAST "Id", BAD_CAST MOCK_NS_WSU));
  assert_int_equal(xt_dsig_verify(doc, k.chsi_key), 1);
  xmlNodeSetContent(xmlDocGetRootElement(doc)->children->children, BAD_CAST "李四");
  assert_int_equal(xt_dsig_verify(doc, k.chsi_key), 0);
  xmlFreeDoc(doc);
  free(out);

  /* No such Id: refused, nothing signed. */
  doc = xmlReadMemory(text, sizeof(text) - 1, NULL, NULL, XML_PARSE_NONET);
  assert_int_equal(mock_xml_dsig_sign(doc, xmlDocGetRootElement(doc)->children, "Body-2",
                                      k.chsi_key, k.chsi_cert), -1);
  xmlFreeDoc(doc);
  xt_keys_free(&k);
}

/* The SignatureMethod follows the key: RSA signs rsa-sha256; keys with no
 * method here (Ed25519, P-384) are refused and nothing is added. */
static void test_dsig_method_follows_key(void **state)
{
  static const char text[] = DSIG_TEST_DOC;
  EVP_PKEY *rsa = EVP_RSA_gen(2048), *ec = EVP_EC_gen("P-256");
  EVP_PKEY *others[] = { EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"), EVP_EC_gen("P-384") };
  X509 *cert = rsa ? xt_self_signed(rsa, "chsi signing") : NULL;
  xmlDocPtr doc;
  xmlNodePtr body;
  char *out, b64[512];
  size_t len;
  (void)state;

  assert_non_null(cert);
  assert_non_null(ec);
  doc = xmlReadMemory(text, sizeof(text) - 1, NULL, NULL, XML_PARSE_NONET);
  body = xmlDocGetRootElement(doc)->children;
  assert_int_equal(mock_xml_dsig_sign(doc, body, "Body-1", rsa, cert), 0);
  assert_int_equal(mock_xml_dump(doc, &out, &len), 0);
  assert_non_null(strstr(out, "<ds:SignatureMethod "
                              "Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\"/>"));
  assert_null(strstr(out, "ecdsa-sha256"));
  assert_non_null(strstr(out, "<ds:X509Certificate>"));
  assert_int_equal(signature_value_b64(out, b64, sizeof(b64)), 344);   /* 256 bytes */
  assert_int_equal(xt_dsig_verify(doc, rsa), 1);
  assert_int_equal(xt_dsig_verify(doc, ec), 0);
  xmlFreeDoc(doc);
  free(out);

  /* Refused for the key alone (the certificate is never looked at). */
  for(size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
    assert_non_null(others[i]);
    doc = xmlReadMemory(text, sizeof(text) - 1, NULL, NULL, XML_PARSE_NONET);
    body = xmlDocGetRootElement(doc)->children;
    assert_int_equal(mock_xml_dsig_sign(doc, body, "Body-1", others[i], cert), -1);
    assert_int_equal(xt_dsig_verify(doc, others[i]), -1);    /* no Signature added */
    xmlFreeDoc(doc);
    EVP_PKEY_free(others[i]);
  }
  X509_free(cert);
  EVP_PKEY_free(rsa);
  EVP_PKEY_free(ec);
}

/* The server signs every response with the same key and certificate, so
 * signing must leave the pair as it was: every signature verifies, the
 * certificate's DER is unchanged, and a reference not given back shows up
 * as a leak under ASan or valgrind. */
static void test_dsig_reuses_key(void **state)
{
  static const char text[] = DSIG_TEST_DOC;
  struct mock_keys k;
  unsigned char *der0 = NULL, *der1 = NULL;
  int n0, n1;
  (void)state;

  assert_int_equal(xt_keys_generate(&k), 0);
  n0 = i2d_X509(k.chsi_cert, &der0);
  for(int i = 0; i < 50; i++) {
    xmlDocPtr doc = xmlReadMemory(text, sizeof(text) - 1, NULL, NULL, XML_PARSE_NONET);
    xmlNodePtr body = xmlDocGetRootElement(doc)->children;
    assert_int_equal(mock_xml_dsig_sign(doc, body, "Body-1", k.chsi_key, k.chsi_cert), 0);
    assert_int_equal(xt_dsig_verify(doc, k.chsi_key), 1);
    xmlFreeDoc(doc);
  }
  n1 = i2d_X509(k.chsi_cert, &der1);
  assert_true(n0 > 0);
  assert_int_equal(n0, n1);
  assert_memory_equal(der0, der1, (size_t)n0);
  OPENSSL_free(der0);
  OPENSSL_free(der1);
  xt_keys_free(&k);
}

/* ---- encodings ------------------------------------------------------------------- */

static void test_gb18030_round_trip(void **state)
{
  static const char utf8[] = "张伟 北京大学 \xf0\x9f\x98\x80";  /* and an emoji (4-byte GB18030) */
  char *gb = NULL, *back = NULL;
  size_t gl = 0, bl = 0;
  (void)state;

  assert_int_equal(mock_iconv("GB18030", "UTF-8", utf8, sizeof(utf8) - 1, &gb, &gl), 0);
  assert_memory_equal(gb, "\xd5\xc5\xce\xb0", 4);        /* 张伟 in GB18030 */
  assert_memory_equal(gb + gl - 4, "\x94\x39\xfc\x36", 4);  /* U+1F600 */
  assert_int_equal(mock_iconv("UTF-8", "GB18030", gb, gl, &back, &bl), 0);
  assert_int_equal(bl, sizeof(utf8) - 1);
  assert_string_equal(back, utf8);
  free(gb);
  free(back);
  assert_int_equal(mock_iconv("GB18030", "UTF-8", "\xff\xfe", 2, &gb, &gl), -1);
  assert_int_equal(mock_iconv("UTF-8", "GB18030", "\xd5", 1, &gb, &gl), -1);  /* incomplete */
  assert_int_equal(mock_iconv("NO-SUCH-CHARSET", "UTF-8", "a", 1, &gb, &gl), -1);
}

static void test_small_things(void **state)
{
  char now[21], id1[40], id2[40];
  (void)state;
  mock_xml_now(now);
  assert_int_equal(strlen(now), 20);
  assert_int_equal(now[10], 'T');
  assert_int_equal(now[19], 'Z');
  mock_xml_random_id("Body-", id1, sizeof(id1));
  mock_xml_random_id("Body-", id2, sizeof(id2));
  assert_int_equal(strlen(id1), 21);
  assert_string_not_equal(id1, id2);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_escape_markup),
    cmocka_unit_test(test_escape_chinese_and_controls),
    cmocka_unit_test(test_escape_invalid_utf8),
    cmocka_unit_test(test_buf_cap_is_sticky),
    cmocka_unit_test(test_parse_refuses_dtd),
    cmocka_unit_test(test_parse_limits_and_soap),
    cmocka_unit_test(test_fields_and_media_types),
    cmocka_unit_test(test_attack_and_break),
    cmocka_unit_test(test_b64url_vectors),
    cmocka_unit_test(test_jws_round_trip),
    cmocka_unit_test(test_dsig_enveloped),
    cmocka_unit_test(test_dsig_method_follows_key),
    cmocka_unit_test(test_dsig_reuses_key),
    cmocka_unit_test(test_gb18030_round_trip),
    cmocka_unit_test(test_small_things),
  };
  int rc;

  if(mock_xml_init() < 0)
    return 1;
  xmlSecErrorsDefaultCallbackEnableOutput(0);  /* expected failures are quiet */
  rc = cmocka_run_group_tests(tests, NULL, NULL);
  mock_xml_cleanup();
  return rc;
}
