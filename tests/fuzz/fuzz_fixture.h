/*
 * fuzz_fixture.h - what the adapter-based harnesses (fuzz_adapter_load,
 * fuzz_codec_xml, fuzz_codec_json) need around the code they fuzz: a
 * throwaway PKI in a temporary directory laid out the way the shipped
 * adapter files expect it, the env: secrets they name, and the source tree
 * (adapter files, fact schemas).  Included by those harnesses only; every
 * function is static.
 *
 * The one idea: every private key is generated here and dropped in memory
 * right after use (except the mTLS client key, which the adapter loader
 * insists on reading), so an agency signature that verifies against this
 * PKI can only be a forgery.
 *
 * Layout under the root (base_dir for adapter texts is ROOT/adapters, so
 * adapters/NAME.json ("../pki/..."), tests/adapters/NAME.json ("certs/...",
 * "file:secrets/...") and tests/adapters/invalid/NAME.json ("../certs/...",
 * "file:../secrets/...") all resolve unchanged):
 *   pki/agency-ca.pem              a CA certificate (P-256)
 *   pki/signing/chsi.pem           the xmldsig signer: P-256, issued by the CA
 *   pki/signing/cscse.pub.pem      the JWS key: P-256 public key
 *   pki/signing/rsa.pem            an RSA-2048 self-signed certificate
 *   pki/gateway/agency-client.pem  an mTLS client certificate ...
 *   pki/gateway/agency-client.key  ... and its unencrypted key
 *   pki/secrets/si-client-secret, qual-api-key, talent-api-key
 *   {adapters/,}certs/agency-ca.pem, agency-signer.pem, agency-jws.pub.pem
 *   {adapters/,}secrets/qual-api-key.txt
 * The directory, TMPDIR/gw-fuzz-<pid>-XXXXXX, is removed at exit
 * (fuzz_fixture_remove, registered with atexit by fuzz_fixture_make).  A
 * run that crashes or times out ends without atexit, so each start also
 * removes the directories of gw-fuzz processes that no longer exist.
 */
#ifndef FUZZ_FIXTURE_H
#define FUZZ_FIXTURE_H

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* Secret values the loader resolves: no error message may ever hold them. */
#define FUZZ_SECRET_ENV "fuzz-env-secret-7f3a9c0e51d2"
#define FUZZ_SECRET_SI "fuzz-si-secret-2b8e4d6a90c7"
#define FUZZ_SECRET_QUAL "fuzz-qual-key-5c1f7e3b2a94"
#define FUZZ_SECRET_TALENT "fuzz-talent-key-9d4e2a7c18b3"
#define FUZZ_ENV_NAME "GW_EXAMPLE_SI_CLIENT_SECRET"

/* Not every harness uses every helper. */
#define FUZZ_FN static __attribute__((unused))

static char fuzz_root[PATH_MAX];
static char fuzz_base_dir[PATH_MAX];

FUZZ_FN int fuzz_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  (void)st; (void)flag; (void)ftw;
  return remove(path);
}

FUZZ_FN void fuzz_fixture_remove(void)
{
  if(fuzz_root[0])
    nftw(fuzz_root, fuzz_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  fuzz_root[0] = '\0';
}

/* Removes TMP/gw-fuzz-<pid>-* left by processes that are gone. */
FUZZ_FN void fuzz_sweep_stale(const char *tmp)
{
  DIR *d = opendir(tmp);
  struct dirent *e;
  char path[PATH_MAX];

  if(!d)
    return;
  while((e = readdir(d))) {
    char *end;
    long pid;
    if(strncmp(e->d_name, "gw-fuzz-", 8))
      continue;
    pid = strtol(e->d_name + 8, &end, 10);
    if(end == e->d_name + 8 || *end != '-' || pid <= 0 || kill((pid_t)pid, 0) == 0 ||
       errno != ESRCH)
      continue;
    snprintf(path, sizeof(path), "%s/%s", tmp, e->d_name);
    nftw(path, fuzz_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  }
  closedir(d);
}

FUZZ_FN __attribute__((noreturn)) void fuzz_die(const char *what)
{
  fprintf(stderr, "fuzz fixture: %s\n", what);
  fuzz_fixture_remove();
  abort();
}

FUZZ_FN void fuzz_mkdirs(const char *rel)
{
  char path[PATH_MAX], *p;
  snprintf(path, sizeof(path), "%s/%s", fuzz_root, rel);
  for(p = path + strlen(fuzz_root) + 1; (p = strchr(p, '/')); p++) {
    *p = '\0';
    mkdir(path, 0700);
    *p = '/';
  }
  if(mkdir(path, 0700) && access(path, F_OK))
    fuzz_die(path);
}

/* Writes PEM (or any) text to ROOT/rel. */
FUZZ_FN void fuzz_write(const char *rel, const char *text, size_t len)
{
  char path[PATH_MAX];
  FILE *fp;
  snprintf(path, sizeof(path), "%s/%s", fuzz_root, rel);
  if(!(fp = fopen(path, "wb")) || fwrite(text, 1, len, fp) != len || fclose(fp))
    fuzz_die(path);
}

FUZZ_FN char *fuzz_bio_text(BIO *b, size_t *len)
{
  char *data, *copy;
  long n = BIO_get_mem_data(b, &data);
  if(n <= 0 || !(copy = malloc((size_t)n + 1)))
    fuzz_die("BIO");
  memcpy(copy, data, (size_t)n);
  copy[n] = '\0';
  *len = (size_t)n;
  BIO_free(b);
  return copy;
}

FUZZ_FN void fuzz_write_cert(const char *rel, X509 *x)
{
  BIO *b = BIO_new(BIO_s_mem());
  size_t len;
  char *t;
  if(!b || !PEM_write_bio_X509(b, x))
    fuzz_die("PEM_write_bio_X509");
  t = fuzz_bio_text(b, &len);
  fuzz_write(rel, t, len);
  free(t);
}

FUZZ_FN void fuzz_write_pubkey(const char *rel, EVP_PKEY *k)
{
  BIO *b = BIO_new(BIO_s_mem());
  size_t len;
  char *t;
  if(!b || !PEM_write_bio_PUBKEY(b, k))
    fuzz_die("PEM_write_bio_PUBKEY");
  t = fuzz_bio_text(b, &len);
  fuzz_write(rel, t, len);
  free(t);
}

FUZZ_FN void fuzz_write_key(const char *rel, EVP_PKEY *k)
{
  BIO *b = BIO_new(BIO_s_mem());
  size_t len;
  char *t;
  if(!b || !PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL))
    fuzz_die("PEM_write_bio_PrivateKey");
  t = fuzz_bio_text(b, &len);
  fuzz_write(rel, t, len);
  OPENSSL_cleanse(t, len);
  free(t);
}

/* A certificate for `key` named `cn`, signed by issuer/ikey (NULL: itself). */
FUZZ_FN X509 *fuzz_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *ikey, int ca)
{
  static long serial = 1;
  X509 *x = X509_new();
  X509V3_CTX ctx;
  X509_EXTENSION *ext;

  if(!x || !X509_set_version(x, 2) || !ASN1_INTEGER_set(X509_get_serialNumber(x), serial++) ||
     !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
     !X509_gmtime_adj(X509_getm_notAfter(x), 10L * 365 * 86400) || !X509_set_pubkey(x, key) ||
     !X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                                 (const unsigned char *)cn, -1, -1, 0) ||
     !X509_set_issuer_name(x, X509_get_subject_name(issuer ? issuer : x)))
    fuzz_die("X509 fields");
  X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
  ext = X509V3_EXT_nconf_nid(NULL, &ctx, NID_basic_constraints,
                             ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  if(!ext || !X509_add_ext(x, ext, -1))
    fuzz_die("X509 extension");
  X509_EXTENSION_free(ext);
  if(!X509_sign(x, ikey ? ikey : key, EVP_sha256()))
    fuzz_die("X509_sign");
  return x;
}

/* Builds the tree described above, sets the env: secret, and registers its
 * removal at exit.  Aborts on any failure (a harness without its fixture
 * would only fuzz error paths). */
FUZZ_FN void fuzz_fixture_make(void)
{
  static const char *const certdirs[] = { "certs", "adapters/certs" };
  static const char *const secretdirs[] = { "secrets", "adapters/secrets" };
  const char *tmp = getenv("TMPDIR");
  EVP_PKEY *ca_key, *signer_key, *jws_key, *rsa_key, *client_key;
  X509 *ca, *signer, *rsa, *client;
  char rel[128];

  if(!tmp || !*tmp)
    tmp = "/tmp";
  fuzz_sweep_stale(tmp);
  snprintf(fuzz_root, sizeof(fuzz_root), "%s/gw-fuzz-%ld-XXXXXX", tmp, (long)getpid());
  if(!mkdtemp(fuzz_root)) {
    fuzz_root[0] = '\0';
    fuzz_die("mkdtemp");
  }
  atexit(fuzz_fixture_remove);
  snprintf(fuzz_base_dir, sizeof(fuzz_base_dir), "%s/adapters", fuzz_root);
  fuzz_mkdirs("pki/signing");
  fuzz_mkdirs("pki/gateway");
  fuzz_mkdirs("pki/secrets");
  fuzz_mkdirs("adapters/certs");
  fuzz_mkdirs("adapters/secrets");
  fuzz_mkdirs("certs");
  fuzz_mkdirs("secrets");

  ca_key = EVP_EC_gen("P-256");
  signer_key = EVP_EC_gen("P-256");
  jws_key = EVP_EC_gen("P-256");
  rsa_key = EVP_RSA_gen(2048);
  client_key = EVP_EC_gen("P-256");
  if(!ca_key || !signer_key || !jws_key || !rsa_key || !client_key)
    fuzz_die("key generation");
  ca = fuzz_cert(ca_key, "fuzz agency CA", NULL, NULL, 1);
  signer = fuzz_cert(signer_key, "fuzz chsi signing", ca, ca_key, 0);
  rsa = fuzz_cert(rsa_key, "fuzz rsa signing", NULL, NULL, 0);
  client = fuzz_cert(client_key, "fuzz gateway client", ca, ca_key, 0);

  fuzz_write_cert("pki/agency-ca.pem", ca);
  fuzz_write_cert("pki/signing/chsi.pem", signer);
  fuzz_write_pubkey("pki/signing/cscse.pub.pem", jws_key);
  fuzz_write_cert("pki/signing/rsa.pem", rsa);
  fuzz_write_cert("pki/gateway/agency-client.pem", client);
  fuzz_write_key("pki/gateway/agency-client.key", client_key);
  fuzz_write("pki/secrets/si-client-secret", FUZZ_SECRET_SI "\n", strlen(FUZZ_SECRET_SI) + 1);
  fuzz_write("pki/secrets/qual-api-key", FUZZ_SECRET_QUAL "\n", strlen(FUZZ_SECRET_QUAL) + 1);
  fuzz_write("pki/secrets/talent-api-key", FUZZ_SECRET_TALENT "\n",
             strlen(FUZZ_SECRET_TALENT) + 1);
  for(size_t i = 0; i < 2; i++) {
    snprintf(rel, sizeof(rel), "%s/agency-ca.pem", certdirs[i]);
    fuzz_write_cert(rel, ca);
    snprintf(rel, sizeof(rel), "%s/agency-signer.pem", certdirs[i]);
    fuzz_write_cert(rel, signer);
    snprintf(rel, sizeof(rel), "%s/agency-jws.pub.pem", certdirs[i]);
    fuzz_write_pubkey(rel, jws_key);
    snprintf(rel, sizeof(rel), "%s/qual-api-key.txt", secretdirs[i]);
    fuzz_write(rel, FUZZ_SECRET_QUAL "\n", strlen(FUZZ_SECRET_QUAL) + 1);
  }
  if(setenv(FUZZ_ENV_NAME, FUZZ_SECRET_ENV, 1))
    fuzz_die("setenv");

  /* The signing halves are gone from here on: nothing can sign for them. */
  X509_free(ca);
  X509_free(signer);
  X509_free(rsa);
  X509_free(client);
  EVP_PKEY_free(ca_key);
  EVP_PKEY_free(signer_key);
  EVP_PKEY_free(jws_key);
  EVP_PKEY_free(rsa_key);
  EVP_PKEY_free(client_key);
}

/* The repository root: $GW_SOURCE_DIR, else three levels above this file
 * (CMake compiles with absolute paths: ROOT/tests/fuzz/fuzz_x.c). */
FUZZ_FN const char *fuzz_source_dir(void)
{
  static char dir[PATH_MAX];
  const char *env = getenv("GW_SOURCE_DIR");
  char *p;
  if(dir[0])
    return dir;
  if(env && *env) {
    snprintf(dir, sizeof(dir), "%s", env);
    return dir;
  }
  snprintf(dir, sizeof(dir), "%s", __FILE__);
  for(int i = 0; i < 3; i++) {
    if(!(p = strrchr(dir, '/')))
      fuzz_die("cannot find the source tree from __FILE__; set GW_SOURCE_DIR");
    *p = '\0';
  }
  return dir;
}

/* ROOT-of-source/rel read whole; caller frees (free()). */
FUZZ_FN char *fuzz_read_source(const char *rel, size_t *len)
{
  char path[PATH_MAX];
  FILE *fp;
  char *buf;
  long n;
  snprintf(path, sizeof(path), "%s/%s", fuzz_source_dir(), rel);
  if(!(fp = fopen(path, "rb")) || fseek(fp, 0, SEEK_END) || (n = ftell(fp)) < 0 ||
     fseek(fp, 0, SEEK_SET) || !(buf = malloc((size_t)n + 1)) ||
     fread(buf, 1, (size_t)n, fp) != (size_t)n)
    fuzz_die(path);
  fclose(fp);
  buf[n] = '\0';
  *len = (size_t)n;
  return buf;
}

#endif
