/*
 * adapter_files.c - what an adapter file points at: file paths,
 * certificates and keys, and secrets.
 *
 * The one idea: check now what would otherwise fail at the first query, in
 * the middle of an approval.  A CA file must hold certificates, a client key
 * must be unencrypted and match its certificate, the xmldsig signer must be
 * exactly one certificate, the JWS key must be an EC P-256 public key (and
 * not, by mistake, somebody's private key).  Certificates and keys are read
 * with OpenSSL itself, the library that will use them.
 *
 * Secrets exist only as references: "env:NAME" (the variable must be set
 * and non-empty) or "file:PATH" (one line, trailing newline stripped, at
 * most GW_ADAPTER_SECRET_MAX bytes).  Anything else is refused as a literal
 * secret, and no message here ever contains a secret's value: a mistyped
 * reference might be the secret itself, so even the rejected text is not
 * echoed.  Buffers that held secret bytes are wiped before they are freed.
 */
#include "gw/gm.h"
#include "adapter_int.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "gw/alloc.h"

#define KEY_FILE_MAX (64 * 1024)

/* rel resolved against r->base_dir, made absolute with the working
 * directory when base_dir is relative (so a later chdir cannot move it).
 * Symbolic links are kept, so a rotated certificate behind a link is seen. */
static char *resolve(struct gw_adl *r, const char *rel, const char *field)
{
  char full[PATH_MAX], cwd[PATH_MAX];
  int len;
  if(rel[0] == '/')
    return gw_strdup(rel);
  if(!r->base_dir) {
    gw_adl_fail(r, field, "relative path \"%s\" needs a base directory; give "
                "an absolute path", rel);
    return NULL;
  }
  if(!strcmp(r->base_dir, "/"))
    len = snprintf(full, sizeof(full), "/%s", rel);
  else if(r->base_dir[0] == '/')
    len = snprintf(full, sizeof(full), "%s/%s", r->base_dir, rel);
  else if(!getcwd(cwd, sizeof(cwd))) {
    gw_adl_fail(r, field, "cannot resolve \"%s\": %s", rel, strerror(errno));
    return NULL;
  }
  else if(!strcmp(r->base_dir, "."))
    len = snprintf(full, sizeof(full), "%s/%s", cwd, rel);
  else
    len = snprintf(full, sizeof(full), "%s/%s/%s", cwd, r->base_dir, rel);
  if(len < 0 || (size_t)len >= sizeof(full)) {
    gw_adl_fail(r, field, "path too long (at most %d bytes)", PATH_MAX - 1);
    return NULL;
  }
  return gw_strdup(full);
}

FILE *gw_adl_fopen_regular(const char *path)
{
  struct stat st;
  FILE *fp;
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if(fd < 0)
    return NULL;
  if(fstat(fd, &st) || !S_ISREG(st.st_mode)) {
    close(fd);
    errno = EINVAL;
    return NULL;
  }
  if(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) || !(fp = fdopen(fd, "rb"))) {
    int e = errno;
    close(fd);
    errno = e;
    return NULL;
  }
  return fp;
}

/* What errno from gw_adl_fopen_regular means. */
static const char *open_error(int e)
{
  return e == EINVAL ? "not a regular file" : strerror(e);
}

/* NULL when `path` is a readable regular file, else why not. */
static const char *unreadable(const char *path, char *buf, size_t n)
{
  FILE *fp = gw_adl_fopen_regular(path);
  if(!fp) {
    snprintf(buf, n, "%s", open_error(errno));
    return buf;
  }
  fclose(fp);
  return NULL;
}

char *gw_adl_path(struct gw_adl *r, json_t *obj, const char *at,
                  const char *key, int required)
{
  char field[GW_ADL_FIELD_MAX], buf[128];
  const char *why;
  char *rel, *full;
  gw_adl_join(field, sizeof(field), at, key);
  if(!json_object_get(obj, key)) {
    if(required)
      gw_adl_fail(r, field, "missing (a file path is required)");
    return NULL;
  }
  rel = gw_adl_string(r, obj, at, key, 1, PATH_MAX - 1);
  if(!rel)
    return NULL;
  full = resolve(r, rel, field);
  gw_free(rel);
  if(full && (why = unreadable(full, buf, sizeof(buf)))) {
    gw_adl_fail(r, field, "cannot read %s: %s", full, why);
    gw_free(full);
    return NULL;
  }
  return full;
}

char *gw_adl_slurp(struct gw_adl *r, const char *path, size_t max,
                   const char *field, size_t *len)
{
  FILE *fp = gw_adl_fopen_regular(path);
  char *buf = NULL;
  size_t got = 0, cap = 0;

  if(!fp) {
    gw_adl_fail(r, field, "cannot read %s: %s", path, open_error(errno));
    return NULL;
  }
  for(;;) {
    size_t n;
    if(got == cap) {
      size_t ncap = cap ? cap * 2 : 4096;
      char *nbuf;
      if(ncap > max + 1)
        ncap = max + 1;
      if(ncap <= got) {
        gw_adl_fail(r, field, "%s is larger than %zu bytes (at most %zu)",
                    path, max, max);
        goto fail;
      }
      nbuf = gw_malloc(ncap + 1);
      if(buf) {
        memcpy(nbuf, buf, got);
        OPENSSL_cleanse(buf, got);   /* it may hold a secret */
        gw_free(buf);
      }
      buf = nbuf;
      cap = ncap;
    }
    n = fread(buf + got, 1, cap - got, fp);
    got += n;
    if(n == 0) {
      if(ferror(fp)) {
        gw_adl_fail(r, field, "cannot read %s: %s", path, strerror(errno));
        goto fail;
      }
      break;
    }
  }
  if(got > max) {
    gw_adl_fail(r, field, "%s is larger than %zu bytes (at most %zu)", path, max, max);
    goto fail;
  }
  fclose(fp);
  buf[got] = '\0';
  if(len)
    *len = got;
  return buf;

fail:
  fclose(fp);
  if(buf) {
    OPENSSL_cleanse(buf, got);
    gw_free(buf);
  }
  return NULL;
}

/* Names what a PEM file holds instead of what was wanted. */
static const char *pem_holds(const char *text)
{
  if(strstr(text, "ENCRYPTED PRIVATE KEY-----") || strstr(text, "Proc-Type: 4,ENCRYPTED"))
    return "an encrypted private key";
  if(strstr(text, "PRIVATE KEY-----"))
    return "a private key";
  if(strstr(text, "-----BEGIN CERTIFICATE-----"))
    return "a certificate";
  if(strstr(text, "PUBLIC KEY-----"))
    return "a public key";
  if(strstr(text, "-----BEGIN "))
    return "some other PEM block";
  return "no PEM data";
}

static char *pem_of_cert(X509 *x)
{
  BIO *out = BIO_new(BIO_s_mem());
  char *data, *copy = NULL;
  long n;
  if(out && PEM_write_bio_X509(out, x) && (n = BIO_get_mem_data(out, &data)) > 0)
    copy = gw_strndup(data, (size_t)n);
  BIO_free(out);
  return copy;
}

char *gw_adl_cert_file(struct gw_adl *r, const char *path, const char *field,
                       int want_text)
{
  size_t len;
  char *text = gw_adl_slurp(r, path, GW_ADAPTER_PEM_MAX, field, &len);
  char *pem = NULL;
  BIO *bio = NULL;
  X509 *first = NULL;
  int count = 0;

  if(!text)
    return NULL;
  if(want_text && strstr(text, "PRIVATE KEY-----")) {
    gw_adl_fail(r, field, "%s holds a private key too; give only the agency's "
                "certificate", path);
    goto out;
  }
  bio = BIO_new_mem_buf(text, (int)len);
  for(;;) {
    X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    if(!x) {
      unsigned long e = ERR_peek_last_error();
      if(count && ERR_GET_LIB(e) == ERR_LIB_PEM &&
         ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
        break;                 /* the normal end: no further certificate */
      if(count)
        gw_adl_fail(r, field, "%s: certificate %d is not a valid PEM X.509 "
                    "certificate", path, count + 1);
      else if(strstr(text, "-----BEGIN CERTIFICATE-----"))
        gw_adl_fail(r, field, "%s holds a malformed PEM certificate", path);
      else
        gw_adl_fail(r, field, "%s holds %s, not a PEM X.509 certificate "
                    "(-----BEGIN CERTIFICATE-----)", path, pem_holds(text));
      goto out;
    }
    if(!first)
      first = x;
    else
      X509_free(x);
    count++;
  }
  if(want_text) {
    if(count != 1) {
      gw_adl_fail(r, field, "%s must hold exactly one certificate, the "
                  "signer's (found %d)", path, count);
      goto out;
    }
    pem = pem_of_cert(first);
  }
out:
  ERR_clear_error();
  X509_free(first);
  BIO_free(bio);
  gw_free(text);
  return pem;
}

/* A passphrase callback that has none: encrypted keys fail to load. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
  (void)buf; (void)size; (void)rwflag; (void)u;
  return -1;
}

void gw_adl_key_matches(struct gw_adl *r, const char *key_path,
                        const char *cert_path, const char *field)
{
  size_t len = 0, clen = 0;
  char *text = gw_adl_slurp(r, key_path, KEY_FILE_MAX, field, &len);
  char *ctext = NULL;
  BIO *bio = NULL, *cbio = NULL;
  EVP_PKEY *pkey = NULL;
  X509 *x = NULL;

  if(!text)
    goto out;
  bio = BIO_new_mem_buf(text, (int)len);
  pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL) : NULL;
  if(!pkey) {
    const char *holds = pem_holds(text);
    if(!strcmp(holds, "an encrypted private key"))
      gw_adl_fail(r, field, "%s is an encrypted private key; the gateway needs "
                  "it unencrypted (protect the file's permissions instead)", key_path);
    else
      gw_adl_fail(r, field, "%s holds %s, not a PEM private key", key_path,
                  !strcmp(holds, "a private key") ? "a malformed private key" : holds);
    goto out;
  }
  ctext = gw_adl_slurp(r, cert_path, GW_ADAPTER_PEM_MAX, field, &clen);
  cbio = ctext ? BIO_new_mem_buf(ctext, (int)clen) : NULL;
  x = cbio ? PEM_read_bio_X509(cbio, NULL, NULL, NULL) : NULL;
  if(x && X509_check_private_key(x, pkey) != 1)
    gw_adl_fail(r, field, "%s does not match the certificate in tls.client_cert",
                key_path);
out:
  ERR_clear_error();
  X509_free(x);
  EVP_PKEY_free(pkey);
  BIO_free(cbio);
  BIO_free(bio);
  gw_free(ctext);
  if(text) {
    OPENSSL_cleanse(text, len);
    gw_free(text);
  }
}

char *gw_adl_es256_public_key(struct gw_adl *r, const char *path, const char *field)
{
  size_t len;
  char *text = gw_adl_slurp(r, path, KEY_FILE_MAX, field, &len);
  char *pem = NULL, group[64] = "";
  BIO *bio = NULL, *out = NULL;
  EVP_PKEY *pkey = NULL;

  if(!text)
    return NULL;
  bio = BIO_new_mem_buf(text, (int)len);
  pkey = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
  if(!pkey) {
    const char *holds = pem_holds(text);
    if(strstr(holds, "private key"))
      gw_adl_fail(r, field, "%s holds a private key; give the agency's public "
                  "key (-----BEGIN PUBLIC KEY-----)", path);
    else if(!strcmp(holds, "a certificate"))
      gw_adl_fail(r, field, "%s holds a certificate; give its public key "
                  "(openssl x509 -pubkey -noout)", path);
    else
      gw_adl_fail(r, field, "%s holds %s, not a PEM public key "
                  "(-----BEGIN PUBLIC KEY-----)", path,
                  !strcmp(holds, "a public key") ? "a malformed public key" : holds);
    goto out;
  }
  /* SM2 keys verify GmSM2 (docs/crypto.md); read_verify matches "alg" */
  if(!gw_gm_is_sm2(pkey) &&
     (!EVP_PKEY_is_a(pkey, "EC") ||
      !EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                      sizeof(group), NULL) ||
      (strcmp(group, "prime256v1") && strcmp(group, "P-256")))) {
    gw_adl_fail(r, field, "%s must be an EC P-256 (ES256) or SM2 (GmSM2) public key (got %s%s%s)",
                path, EVP_PKEY_get0_type_name(pkey) ? EVP_PKEY_get0_type_name(pkey) : "?",
                group[0] ? " " : "", group);
    goto out;
  }
  out = BIO_new(BIO_s_mem());
  if(out && PEM_write_bio_PUBKEY(out, pkey)) {
    char *data;
    long n = BIO_get_mem_data(out, &data);
    if(n > 0)
      pem = gw_strndup(data, (size_t)n);
  }
  if(!pem)
    gw_adl_fail(r, field, "%s: OpenSSL could not re-encode the key", path);
out:
  ERR_clear_error();
  EVP_PKEY_free(pkey);
  BIO_free(out);
  BIO_free(bio);
  gw_free(text);
  return pem;
}

static int env_name_ok(const char *s)
{
  if(!(isalpha((unsigned char)*s) || *s == '_'))
    return 0;
  for(s++; *s; s++)
    if(!(isalnum((unsigned char)*s) || *s == '_'))
      return 0;
  return 1;
}

/* A secret goes into HTTP headers and form bodies: printable, one line. */
static int secret_chars_ok(const char *s, size_t len)
{
  for(size_t i = 0; i < len; i++)
    if((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
      return 0;
  return 1;
}

static char *secret_from_file(struct gw_adl *r, const char *ref, const char *field)
{
  char *path = resolve(r, ref, field);
  char *buf, *val = NULL;
  size_t len = 0;
  if(!path)
    return NULL;
  /* room for the secret and a CRLF */
  buf = gw_adl_slurp(r, path, GW_ADAPTER_SECRET_MAX + 2, field, &len);
  if(!buf)
    goto out;
  while(len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
    buf[--len] = '\0';
  if(!len)
    gw_adl_fail(r, field, "secret file %s is empty", path);
  else if(len > GW_ADAPTER_SECRET_MAX)
    gw_adl_fail(r, field, "secret file %s holds more than %d bytes (at most %d)",
                path, GW_ADAPTER_SECRET_MAX, GW_ADAPTER_SECRET_MAX);
  else if(!secret_chars_ok(buf, len))
    gw_adl_fail(r, field, "secret file %s must hold the secret on one line "
                "(found a control character or line break)", path);
  else
    val = gw_strndup(buf, len);
out:
  if(buf) {
    OPENSSL_cleanse(buf, len);
    gw_free(buf);
  }
  gw_free(path);
  return val;
}

char *gw_adl_secret(struct gw_adl *r, json_t *obj, const char *at,
                    const char *key, int required)
{
  char field[GW_ADL_FIELD_MAX];
  json_t *v = json_object_get(obj, key);
  const char *s, *env;
  size_t len;

  gw_adl_join(field, sizeof(field), at, key);
  if(!v) {
    if(required)
      gw_adl_fail(r, field, "missing (a secret reference \"env:NAME\" or "
                  "\"file:PATH\" is required)");
    return NULL;
  }
  if(!json_is_string(v)) {
    gw_adl_fail(r, field, "must be a string: a secret reference \"env:NAME\" "
                "or \"file:PATH\"");
    return NULL;
  }
  s = json_string_value(v);
  len = json_string_length(v);
  if(len != strlen(s)) {
    gw_adl_fail(r, field, "must not contain NUL characters");
    return NULL;
  }
  if(!strncmp(s, "env:", 4)) {
    if(!env_name_ok(s + 4)) {
      gw_adl_fail(r, field, "\"env:\" must be followed by an environment "
                  "variable name ([A-Za-z_][A-Za-z0-9_]*)");
      return NULL;
    }
    env = getenv(s + 4);
    if(!env || !*env) {
      gw_adl_fail(r, field, "environment variable %s is not set or is empty", s + 4);
      return NULL;
    }
    if(strlen(env) > GW_ADAPTER_SECRET_MAX) {
      gw_adl_fail(r, field, "environment variable %s holds more than %d bytes "
                  "(at most %d)", s + 4, GW_ADAPTER_SECRET_MAX, GW_ADAPTER_SECRET_MAX);
      return NULL;
    }
    if(!secret_chars_ok(env, strlen(env))) {
      gw_adl_fail(r, field, "environment variable %s holds a control character "
                  "or line break", s + 4);
      return NULL;
    }
    return gw_strdup(env);
  }
  if(!strncmp(s, "file:", 5)) {
    if(!s[5] || len - 5 >= PATH_MAX) {
      gw_adl_fail(r, field, "\"file:\" must be followed by a path");
      return NULL;
    }
    return secret_from_file(r, s + 5, field);
  }
  gw_adl_fail(r, field, "must be a secret reference \"env:NAME\" or "
              "\"file:PATH\"; literal secrets are not allowed in adapter files "
              "(the value is not shown here)");
  return NULL;
}
