/*
 * xt_support.c - hand-made population, keys and client requests for the
 * XML/JOSE mock agency tests (see xt_support.h).
 *
 * The one idea: a test names a person and an agency and gets exactly the
 * bytes a conforming client would send, so what is asserted is the agency's
 * behaviour and nothing of the harness.
 */
#include "xt_support.h"
#include "mock_xml.h"
#include "gw/idnum.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <xmlsec/openssl/evp.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmltree.h>

static const struct mock_person people[] = {
  {
    .id = XT_ID_GRADUATE, .name = XT_NAME_GRADUATE, .scenario = "graduate-master",
    .in_mps = 1, .birth_date = "1998-03-15",
    .n_degrees = 2,
    .degrees = {
      { "bachelor", "北京大学", "计算机科学与技术", "full-time", "2020-07-01",
        "100011202005000123" },
      { "master", "清华大学", "软件工程", "full-time", "2023-06-30",
        "100031202302000456" },
    },
    .credit_status = "good",
    .n_quals = 1,
    .quals = {
      { "professional_title", "软件设计师", "intermediate", "2022-05-20",
        "2022SZ0001" },
    },
  },
  {
    .id = XT_ID_OVERSEAS, .name = "李娜", .scenario = "overseas-master",
    .in_mps = 1, .birth_date = "1995-07-20",
    .n_overseas = 1,
    .overseas = {
      { "United Kingdom", "University of Cambridge", "master", "2021-06-30",
        "CSCSE-2021-000789", "2021-09-15" },
    },
    .credit_status = "warning",
    .n_credit = 1,
    .credit = {
      { "tax_arrears", "国家税务总局深圳市税务局", "2023-03-01", "逾期未申报个人所得税" },
    },
  },
  {
    .id = XT_ID_DISHONEST, .name = "王芳", .scenario = "credit-dishonest",
    .in_mps = 1, .birth_date = "1990-01-02",
    .n_degrees = 1,
    .degrees = {
      { "bachelor", "École \"Polytechnique\" <Paris> & Co's", "Génie & <Logiciel>",
        "part-time", "2012-07-01", "FR-<2012>&'001'" },
    },
    .credit_status = "dishonest",
    .n_credit = 2,
    .credit = {
      { "dishonest_judgment_debtor", "上海市浦东新区人民法院", "2022-11-08",
        "拒不履行生效判决 <案号 (2022)沪0115执1234号> & 限制高消费" },
      { "tax_arrears", "国家税务总局上海市税务局", "2021-04-30", "" },
    },
    .n_quals = 2,
    .quals = {
      { "vocational", "电工", "senior", "2015-09-01", "GZ-2015-0042" },
      { "professional_title", "经济师 (金融)", "intermediate", "2018-11-11", "JJ-2018-7788" },
    },
  },
};

struct mock_population {
  const struct mock_person *people;
  size_t n;
};

static const struct mock_population population = {
  people, sizeof(people) / sizeof(people[0])
};

const struct mock_population *xt_population(void)
{
  return &population;
}

const struct mock_person *xt_person(const char *id)
{
  for(size_t i = 0; i < population.n; i++)
    if(strcmp(population.people[i].id, id) == 0)
      return &population.people[i];
  return NULL;
}

/* Stands in for the server core's population (mocks/population.c). */
enum mock_lookup mock_population_lookup(const struct mock_population *pop,
                                        const char *id, struct mock_person *out)
{
  char norm[GW_IDNUM_LEN + 1];

  if(gw_idnum_normalize(id, norm, 0) != GW_IDNUM_OK)
    return MOCK_LOOKUP_INVALID;
  for(size_t i = 0; i < pop->n; i++)
    if(strcmp(pop->people[i].id, norm) == 0) {
      *out = pop->people[i];
      return MOCK_LOOKUP_FOUND;
    }
  return MOCK_LOOKUP_NO_RECORD;
}

/* ---- keys ------------------------------------------------------------- */

X509 *xt_self_signed(EVP_PKEY *key, const char *cn)
{
  X509 *x = X509_new();
  X509_NAME *name;

  if(!x)
    return NULL;
  if(X509_set_version(x, 2) != 1 ||
     ASN1_INTEGER_set(X509_get_serialNumber(x), 1) != 1 ||
     !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
     !X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 30) ||
     X509_set_pubkey(x, key) != 1)
    goto fail;
  name = X509_get_subject_name(x);
  if(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn,
                                -1, -1, 0) != 1 ||
     X509_set_issuer_name(x, name) != 1 || X509_sign(x, key, EVP_sha256()) <= 0)
    goto fail;
  return x;
fail:
  X509_free(x);
  return NULL;
}

int xt_keys_generate(struct mock_keys *k)
{
  memset(k, 0, sizeof(*k));
  k->chsi_key = EVP_EC_gen("P-256");    /* as certs/gen-pki.sh makes them */
  k->wrong_key = EVP_EC_gen("P-256");
  k->cscse_key = EVP_EC_gen("P-256");
  k->cscse_wrong_key = EVP_EC_gen("P-256");
  if(!k->chsi_key || !k->wrong_key || !k->cscse_key || !k->cscse_wrong_key)
    goto fail;
  k->chsi_cert = xt_self_signed(k->chsi_key, "chsi signing");
  k->wrong_cert = xt_self_signed(k->wrong_key, "chsi signing");
  if(!k->chsi_cert || !k->wrong_cert)
    goto fail;
  snprintf(k->cscse_kid, sizeof(k->cscse_kid), "%s", "xt-kid");
  snprintf(k->qual_api_key, sizeof(k->qual_api_key), "%s", "xt-api-key");
  return 0;
fail:
  xt_keys_free(k);
  return -1;
}

static EVP_PKEY *load_key(const char *dir, const char *file)
{
  char path[1024];
  EVP_PKEY *key = NULL;
  FILE *f;

  snprintf(path, sizeof(path), "%s/%s", dir, file);
  f = fopen(path, "r");
  if(f) {
    key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
  }
  if(!key)
    fprintf(stderr, "xt: cannot load private key %s\n", path);
  return key;
}

static X509 *load_cert(const char *dir, const char *file)
{
  char path[1024];
  X509 *x = NULL;
  FILE *f;

  snprintf(path, sizeof(path), "%s/%s", dir, file);
  f = fopen(path, "r");
  if(f) {
    x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
  }
  if(!x)
    fprintf(stderr, "xt: cannot load certificate %s\n", path);
  return x;
}

static int load_secret(const char *dir, const char *file, char *out, size_t cap)
{
  char path[1024];
  size_t n = 0;
  FILE *f;

  snprintf(path, sizeof(path), "%s/%s", dir, file);
  f = fopen(path, "r");
  if(f) {
    n = fread(out, 1, cap - 1, f);
    fclose(f);
  }
  while(n && (out[n - 1] == '\n' || out[n - 1] == '\r'))
    n--;
  out[n] = '\0';
  if(!n)
    fprintf(stderr, "xt: cannot read secret %s\n", path);
  return n ? 0 : -1;
}

int xt_keys_load(const char *pki_dir, struct mock_keys *k)
{
  memset(k, 0, sizeof(*k));
  k->chsi_key = load_key(pki_dir, "signing/chsi.key");
  k->chsi_cert = load_cert(pki_dir, "signing/chsi.pem");
  k->wrong_key = load_key(pki_dir, "signing/rogue.key");
  k->wrong_cert = load_cert(pki_dir, "signing/rogue.pem");
  k->cscse_key = load_key(pki_dir, "signing/cscse.key");
  k->cscse_wrong_key = load_key(pki_dir, "signing/rogue-jws.key");
  snprintf(k->cscse_kid, sizeof(k->cscse_kid), "%s", "cscse-signing-1");
  if(!k->chsi_key || !k->chsi_cert || !k->wrong_key || !k->wrong_cert ||
     !k->cscse_key || !k->cscse_wrong_key ||
     load_secret(pki_dir, "secrets/qual-api-key", k->qual_api_key,
                 sizeof(k->qual_api_key)) < 0) {
    xt_keys_free(k);
    return -1;
  }
  return 0;
}

int xt_keys_use_sm2(const char *pki_dir, struct mock_keys *k)
{
  EVP_PKEY_free(k->chsi_key);
  EVP_PKEY_free(k->wrong_key);
  X509_free(k->chsi_cert);
  X509_free(k->wrong_cert);
  k->chsi_key = load_key(pki_dir, "signing/chsi-sm2.key");
  k->chsi_cert = load_cert(pki_dir, "signing/chsi-sm2.pem");
  k->wrong_key = load_key(pki_dir, "signing/rogue-sm2.key");
  k->wrong_cert = load_cert(pki_dir, "signing/rogue-sm2.pem");
  return k->chsi_key && k->chsi_cert && k->wrong_key && k->wrong_cert ? 0 : -1;
}

void xt_keys_free(struct mock_keys *k)
{
  EVP_PKEY_free(k->chsi_key);
  EVP_PKEY_free(k->wrong_key);
  EVP_PKEY_free(k->cscse_key);
  EVP_PKEY_free(k->cscse_wrong_key);
  X509_free(k->chsi_cert);
  X509_free(k->wrong_cert);
  memset(k, 0, sizeof(*k));
}

int xt_fault_by_name(const char *name)
{
  static const struct { const char *name; enum mock_content_fault cf; } map[] = {
    { "none", MOCK_CF_NONE }, { "fault", MOCK_CF_FAULT },
    { "malformed", MOCK_CF_MALFORMED }, { "bad_signature", MOCK_CF_BAD_SIGNATURE },
    { "wrong_signer", MOCK_CF_WRONG_SIGNER },
    { "signature_wrapping", MOCK_CF_SIGNATURE_WRAPPING },
    { "xxe", MOCK_CF_XXE }, { "billion_laughs", MOCK_CF_BILLION_LAUGHS },
    { "expired_token", MOCK_CF_EXPIRED_TOKEN },
  };
  for(size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
    if(strcmp(map[i].name, name) == 0)
      return (int)map[i].cf;
  return -1;
}

/* ---- requests ---------------------------------------------------------- */

static char *soap_body(const char *version_ns, const char *prefix, const char *ns,
                       const char *op, const char *id, const char *name)
{
  struct mock_buf b;

  mock_buf_init(&b, MOCK_XML_MAX_REQUEST);
  mock_buf_adds(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<s:Envelope xmlns:s=\"");
  mock_buf_adds(&b, version_ns);
  mock_buf_addf(&b, "\"><s:Body><%s:%s xmlns:%s=\"%s\">", prefix, op, prefix, ns);
  mock_buf_addf(&b, "<%s:idNumber>", prefix);
  mock_buf_add_xml(&b, id);
  mock_buf_addf(&b, "</%s:idNumber><%s:name>", prefix, prefix);
  mock_buf_add_xml(&b, name);
  mock_buf_addf(&b, "</%s:name><%s:requestId>xt-0001</%s:requestId></%s:%s>",
                prefix, prefix, prefix, prefix, op);
  mock_buf_adds(&b, "</s:Body></s:Envelope>\n");
  if(mock_buf_failed(&b)) {
    mock_buf_free(&b);
    return NULL;
  }
  return b.data;
}

static int url_encode(const char *s, char *out, size_t cap)
{
  static const char hex[] = "0123456789ABCDEF";
  size_t o = 0;

  for(; *s; s++) {
    unsigned char c = (unsigned char)*s;
    int plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
    if(o + 4 >= cap)
      return -1;
    if(plain)
      out[o++] = (char)c;
    else {
      out[o++] = '%';
      out[o++] = hex[c >> 4];
      out[o++] = hex[c & 15];
    }
  }
  out[o] = '\0';
  return 0;
}

int xt_request_build(struct xt_request *r, const char *agency, const char *id,
                     const char *name, const char *api_key)
{
  memset(r, 0, sizeof(*r));
  r->req.method = "POST";
  if(strcmp(agency, "chsi") == 0) {
    snprintf(r->path, sizeof(r->path), "%s", "/chsi/DegreeService");
    snprintf(r->content_type, sizeof(r->content_type), "%s", "text/xml; charset=utf-8");
    snprintf(r->soap_action, sizeof(r->soap_action), "%s",
             "\"urn:mock:chsi:degree:1#VerifyDegrees\"");
    r->body = soap_body(MOCK_NS_SOAP11, "chsi", "urn:mock:chsi:degree:1",
                        "VerifyDegrees", id, name);
  }
  else if(strcmp(agency, "credit") == 0) {
    snprintf(r->path, sizeof(r->path), "%s", "/credit/CreditService");
    snprintf(r->content_type, sizeof(r->content_type), "%s",
             "application/soap+xml; charset=utf-8; "
             "action=\"urn:mock:credit:1#QueryCreditStatus\"");
    r->body = soap_body(MOCK_NS_SOAP12, "credit", "urn:mock:credit:1",
                        "QueryCreditStatus", id, name);
  }
  else if(strcmp(agency, "qual") == 0) {
    char eid[128], ename[768];
    r->req.method = "GET";
    snprintf(r->path, sizeof(r->path), "%s", "/qual/api/certificates");
    if(url_encode(id, eid, sizeof(eid)) < 0 || url_encode(name, ename, sizeof(ename)) < 0)
      return -1;
    snprintf(r->query, sizeof(r->query), "idNumber=%s&name=%s", eid, ename);
    r->req.query = r->query;
    r->req.api_key = api_key;
    r->body = strdup("");
  }
  else if(strcmp(agency, "cscse") == 0) {
    json_t *o = json_pack("{s:s, s:s, s:s}", "idNumber", id, "name", name,
                          "requestId", "xt-0001");
    snprintf(r->path, sizeof(r->path), "%s", "/cscse/api/v1/certifications/query");
    snprintf(r->content_type, sizeof(r->content_type), "%s", "application/json");
    r->body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
  }
  else
    return -1;
  if(!r->body)
    return -1;
  r->req.path = r->path;
  r->req.content_type = r->content_type[0] ? r->content_type : NULL;
  r->req.soap_action = r->soap_action[0] ? r->soap_action : NULL;
  r->req.body = r->body;
  r->req.body_len = strlen(r->body);
  return 0;
}

void xt_request_free(struct xt_request *r)
{
  free(r->body);
  r->body = NULL;
}

const struct mock_agency_ops *xt_agency(const char *agency)
{
  if(strcmp(agency, "chsi") == 0)
    return &mock_agency_chsi;
  if(strcmp(agency, "credit") == 0)
    return &mock_agency_credit;
  if(strcmp(agency, "qual") == 0)
    return &mock_agency_qual;
  if(strcmp(agency, "cscse") == 0)
    return &mock_agency_cscse;
  return NULL;
}

/* ---- independent verification -------------------------------------------- */

int xt_jws_verify(const char *jws, EVP_PKEY *pub, char **payload_out)
{
  const char *d1 = strchr(jws, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
  unsigned char *sig = NULL, *der = NULL, *payload = NULL;
  size_t sig_len = 0, plen = 0;
  ECDSA_SIG *es = NULL;
  EVP_MD_CTX *md = NULL;
  BIGNUM *r = NULL, *s = NULL;
  int der_len, ok = -1;

  if(payload_out)
    *payload_out = NULL;
  if(!d2 || mock_b64url_decode(d2 + 1, strlen(d2 + 1), &sig, &sig_len) < 0 || sig_len != 64)
    goto out;
  es = ECDSA_SIG_new();
  r = BN_bin2bn(sig, 32, NULL);
  s = BN_bin2bn(sig + 32, 32, NULL);
  if(!es || !r || !s || ECDSA_SIG_set0(es, r, s) != 1)
    goto out;
  r = s = NULL;
  der_len = i2d_ECDSA_SIG(es, &der);
  md = EVP_MD_CTX_new();
  if(der_len <= 0 || !md || EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pub) != 1)
    goto out;
  ok = EVP_DigestVerify(md, der, (size_t)der_len, (const unsigned char *)jws,
                        (size_t)(d2 - jws)) == 1 ? 1 : 0;
  if(payload_out && mock_b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), &payload, &plen) == 0) {
    *payload_out = (char *)payload;
    payload = NULL;
  }
out:
  BN_free(r);
  BN_free(s);
  OPENSSL_free(der);
  EVP_MD_CTX_free(md);
  ECDSA_SIG_free(es);
  free(sig);
  free(payload);
  return ok;
}

static void register_ids(xmlDocPtr doc, xmlNodePtr n)
{
  for(; n; n = n->next) {
    if(n->type != XML_ELEMENT_NODE)
      continue;
    for(xmlAttrPtr a = n->properties; a; a = a->next)
      if(strcmp((const char *)a->name, "Id") == 0) {
        xmlChar *v = xmlNodeListGetString(doc, a->children, 1);
        if(v && !xmlGetID(doc, v))
          xmlAddID(NULL, doc, v, a);
        xmlFree(v);
      }
    register_ids(doc, n->children);
  }
}

int xt_dsig_verify(xmlDocPtr doc, EVP_PKEY *pub)
{
  xmlNodePtr sig = xmlSecFindNode(xmlDocGetRootElement(doc), xmlSecNodeSignature,
                                  xmlSecDSigNs);
  xmlSecDSigCtxPtr ctx;
  xmlSecKeyDataPtr data;
  int ok = 0;

  if(!sig)
    return -1;
  register_ids(doc, xmlDocGetRootElement(doc));
  ctx = xmlSecDSigCtxCreate(NULL);
  if(!ctx || EVP_PKEY_up_ref(pub) != 1)
    goto out;
  data = xmlSecOpenSSLEvpKeyAdopt(pub);
  ctx->signKey = data ? xmlSecKeyCreate() : NULL;
  if(!ctx->signKey || xmlSecKeySetValue(ctx->signKey, data) < 0)
    goto out;
  if(xmlSecDSigCtxVerify(ctx, sig) == 0)
    ok = ctx->status == xmlSecDSigStatusSucceeded;
out:
  if(ctx)
    xmlSecDSigCtxDestroy(ctx);
  return ok;
}
