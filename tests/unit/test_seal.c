/*
 * test_seal.c - sealing to the auditors' certificate of the test PKI
 * (certs/gen-pki.sh: auditor/seal.pem, RSA 3072): the stock openssl command
 * line opens what we seal with the auditors' key and gives back exactly the
 * number, with no flags beyond -decrypt; the structure is EnvelopedData with
 * RSAES-OAEP and AES-256-CBC; two seals of one number differ; certificates
 * that are not sealing certificates are refused; several threads seal at
 * once; the memo hands out one blob per key until evicted or expired.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "gw/alloc.h"
#include "gw/b64.h"
#include "seal.h"

#define ID_NUMBER "11010519491231002X"

static char dir[] = "/tmp/gw-seal-XXXXXX";
static char cert[300], key[300];

static int setup(void **state)
{
  char cmd[1024];
  const char *src = getenv("GW_SOURCE_DIR");
  (void)state;
  if(!src || !mkdtemp(dir))
    return -1;
  snprintf(cmd, sizeof(cmd), "bash %s/certs/gen-pki.sh %s/pki >/dev/null", src, dir);
  if(system(cmd) != 0)
    return -1;
  snprintf(cert, sizeof(cert), "%s/pki/auditor/seal.pem", dir);
  snprintf(key, sizeof(key), "%s/pki/auditor/seal.key", dir);
  return 0;
}

static int teardown(void **state)
{
  char cmd[300];
  (void)state;
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const void *data, size_t len)
{
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, len, f), len);
  assert_int_equal(fclose(f), 0);
}

static size_t read_file(const char *path, char *buf, size_t cap)
{
  FILE *f = fopen(path, "rb");
  size_t n;
  assert_non_null(f);
  n = fread(buf, 1, cap, f);
  fclose(f);
  return n;
}

/* Opens a base64-DER seal with `openssl cms -decrypt` into out. */
static size_t openssl_open(const char *b64, char *out, size_t cap)
{
  char der_path[320], out_path[320], cmd[1500];
  unsigned char *der = NULL;
  size_t der_len = 0;

  assert_int_equal(gw_b64_decode_alloc(GW_B64_STD, b64, strlen(b64), &der, &der_len), GW_B64_OK);
  snprintf(der_path, sizeof(der_path), "%s/sealed.der", dir);
  snprintf(out_path, sizeof(out_path), "%s/opened.txt", dir);
  write_file(der_path, der, der_len);
  gw_free(der);
  snprintf(cmd, sizeof(cmd),
           "openssl cms -decrypt -inform DER -in %s -inkey %s -recip %s -out %s",
           der_path, key, cert, out_path);
  assert_int_equal(system(cmd), 0);
  return read_file(out_path, out, cap);
}

static void test_openssl_opens_it(void **state)
{
  struct gw_seal *s = NULL;
  char *sealed = NULL, opened[64], cmd[1500], path[320], printed[8192];
  size_t len = 0, n;
  (void)state;

  assert_int_equal(gw_seal_load(cert, &s), GW_SEAL_OK);
  assert_int_equal(gw_seal_seal(s, ID_NUMBER, strlen(ID_NUMBER), GW_SEAL_B64_DER, &sealed, &len),
                   GW_SEAL_OK);
  assert_int_equal(strlen(sealed), len);
  assert_null(strchr(sealed, '\n'));
  n = openssl_open(sealed, opened, sizeof(opened));
  assert_int_equal(n, strlen(ID_NUMBER));
  assert_memory_equal(opened, ID_NUMBER, n);

  /* What the structure is, as openssl prints it. */
  snprintf(path, sizeof(path), "%s/print.txt", dir);
  snprintf(cmd, sizeof(cmd), "openssl cms -cmsout -print -inform DER -in %s/sealed.der > %s",
           dir, path);
  assert_int_equal(system(cmd), 0);
  n = read_file(path, printed, sizeof(printed) - 1);
  printed[n] = '\0';
  assert_non_null(strstr(printed, "pkcs7-envelopedData"));
  assert_non_null(strstr(printed, "rsaesOaep"));
  assert_non_null(strstr(printed, "aes-256-cbc"));
  assert_non_null(strstr(printed, "sha256"));
  /* The identity number is not in the clear anywhere. */
  assert_null(strstr(printed, ID_NUMBER));

  /* PEM form opens too. */
  gw_free(sealed);
  assert_int_equal(gw_seal_seal(s, ID_NUMBER, strlen(ID_NUMBER), GW_SEAL_PEM, &sealed, &len),
                   GW_SEAL_OK);
  assert_non_null(strstr(sealed, "-----BEGIN CMS-----"));
  snprintf(path, sizeof(path), "%s/sealed.pem", dir);
  write_file(path, sealed, len);
  snprintf(cmd, sizeof(cmd), "openssl cms -decrypt -inform PEM -in %s -inkey %s -out %s/opened.txt",
           path, key, dir);
  assert_int_equal(system(cmd), 0);
  snprintf(path, sizeof(path), "%s/opened.txt", dir);
  n = read_file(path, opened, sizeof(opened));
  assert_int_equal(n, strlen(ID_NUMBER));
  assert_memory_equal(opened, ID_NUMBER, n);

  assert_string_not_equal(gw_seal_fingerprint(s), "");
  assert_int_equal(strlen(gw_seal_fingerprint(s)), 7 + 64);
  gw_free(sealed);
  gw_seal_free(s);
}

static void test_random_each_time(void **state)
{
  struct gw_seal *s = NULL;
  char *a = NULL, *b = NULL, opened[64];
  size_t la = 0, lb = 0;
  (void)state;

  assert_int_equal(gw_seal_load(cert, &s), GW_SEAL_OK);
  assert_int_equal(gw_seal_seal(s, ID_NUMBER, 18, GW_SEAL_B64_DER, &a, &la), GW_SEAL_OK);
  assert_int_equal(gw_seal_seal(s, ID_NUMBER, 18, GW_SEAL_B64_DER, &b, &lb), GW_SEAL_OK);
  assert_string_not_equal(a, b);
  assert_int_equal(openssl_open(b, opened, sizeof(opened)), 18);
  assert_memory_equal(opened, ID_NUMBER, 18);
  gw_free(a);
  gw_free(b);
  gw_seal_free(s);
}

static void test_refusals(void **state)
{
  struct gw_seal *s = NULL;
  char path[320], cmd[1500], big[GW_SEAL_INPUT_MAX + 1], *out = NULL;
  size_t len = 0;
  (void)state;

  /* EC client certificate: not RSA. */
  snprintf(path, sizeof(path), "%s/pki/clients/engine.pem", dir);
  assert_int_equal(gw_seal_load(path, &s), GW_SEAL_ECERT);
  assert_null(s);
  /* RSA, but keyUsage digitalSignature only; RSA 1024; and RSA 2048 with no
   * keyUsage at all, which is allowed (made here with openssl req). */
  snprintf(cmd, sizeof(cmd),
           "cd %s && "
           "openssl req -x509 -newkey rsa:2048 -nodes -keyout ds.key -out ds.pem -days 1 "
           "-subj /CN=sign-only -addext keyUsage=critical,digitalSignature 2>/dev/null && "
           "openssl req -x509 -newkey rsa:1024 -nodes -keyout small.key -out small.pem -days 1 "
           "-subj /CN=small -addext keyUsage=critical,keyEncipherment 2>/dev/null && "
           "openssl req -x509 -newkey rsa:2048 -nodes -keyout noku.key -out noku.pem -days 1 "
           "-subj /CN=no-key-usage 2>/dev/null", dir);
  assert_int_equal(system(cmd), 0);
  snprintf(path, sizeof(path), "%s/ds.pem", dir);
  assert_int_equal(gw_seal_load(path, &s), GW_SEAL_ECERT);
  snprintf(path, sizeof(path), "%s/small.pem", dir);
  assert_int_equal(gw_seal_load(path, &s), GW_SEAL_ECERT);
  snprintf(path, sizeof(path), "%s/noku.pem", dir);
  assert_int_equal(gw_seal_load(path, &s), GW_SEAL_OK);
  gw_seal_free(s);
  s = NULL;
  /* Two certificates in one file: unclear who can read, refused. */
  snprintf(cmd, sizeof(cmd), "cat %s %s/noku.pem > %s/two.pem", cert, dir, dir);
  assert_int_equal(system(cmd), 0);
  snprintf(path, sizeof(path), "%s/two.pem", dir);
  assert_int_equal(gw_seal_load(path, &s), GW_SEAL_ECERT);
  /* A private key is not a certificate. */
  assert_int_equal(gw_seal_load(key, &s), GW_SEAL_ECERT);
  assert_int_equal(gw_seal_load("/nonexistent.pem", &s), GW_SEAL_EIO);
  assert_int_equal(gw_seal_from_pem("junk", 4, &s), GW_SEAL_ECERT);

  assert_int_equal(gw_seal_load(cert, &s), GW_SEAL_OK);
  memset(big, '1', sizeof(big));
  assert_int_equal(gw_seal_seal(s, big, sizeof(big), GW_SEAL_B64_DER, &out, &len), GW_SEAL_ETOOBIG);
  assert_int_equal(gw_seal_seal(s, big, 0, GW_SEAL_B64_DER, &out, &len), GW_SEAL_EINVAL);
  assert_int_equal(gw_seal_seal(s, big, GW_SEAL_INPUT_MAX, GW_SEAL_B64_DER, &out, &len), GW_SEAL_OK);
  gw_free(out);
  gw_seal_free(s);
}

struct worker {
  struct gw_seal *s;
  int ok;
};

static void *seal_many(void *arg)
{
  struct worker *w = arg;
  for(int i = 0; i < 50; i++) {
    char *out = NULL;
    size_t len = 0;
    if(gw_seal_seal(w->s, ID_NUMBER, 18, GW_SEAL_B64_DER, &out, &len) == GW_SEAL_OK)
      w->ok++;
    gw_free(out);
  }
  return NULL;
}

static void test_threads(void **state)
{
  struct gw_seal *s = NULL;
  pthread_t th[4];
  struct worker w[4];
  (void)state;

  assert_int_equal(gw_seal_load(cert, &s), GW_SEAL_OK);
  for(int i = 0; i < 4; i++) {
    w[i].s = s;
    w[i].ok = 0;
    assert_int_equal(pthread_create(&th[i], NULL, seal_many, &w[i]), 0);
  }
  for(int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(w[i].ok, 50);
  }
  gw_seal_free(s);
}

/* The memo: the same key gives the same blob (which still opens to the
 * sealed input), another key a fresh one; a key evicted from its slot or
 * past its TTL is sealed afresh; bad arguments are refused. */
static void test_memo(void **state)
{
  struct gw_seal *s = NULL;
  struct gw_seal_memo *m;
  char *a = NULL, *b = NULL, *c = NULL, opened[64];
  size_t la = 0, lb = 0, lc = 0;
  int hit = -1;
  static const char k1[] = "subject-key-one", k2[] = "subject-key-two";
  (void)state;

  assert_int_equal(gw_seal_load(cert, &s), GW_SEAL_OK);
  assert_null(gw_seal_memo_new(NULL, 8, 60));
  assert_null(gw_seal_memo_new(s, 0, 60));
  assert_null(gw_seal_memo_new(s, 8, 0));
  m = gw_seal_memo_new(s, 1, 3600);          /* one slot: k2 evicts k1 */
  assert_non_null(m);
  assert_int_equal(gw_seal_memo_seal(m, k1, sizeof(k1), ID_NUMBER, 18, &a, &la, &hit), GW_SEAL_OK);
  assert_int_equal(hit, 0);
  assert_int_equal(gw_seal_memo_seal(m, k1, sizeof(k1), ID_NUMBER, 18, &b, &lb, &hit), GW_SEAL_OK);
  assert_int_equal(hit, 1);
  assert_int_equal(la, lb);
  assert_string_equal(a, b);
  assert_int_equal(openssl_open(b, opened, sizeof(opened)), 18);
  assert_memory_equal(opened, ID_NUMBER, 18);
  assert_int_equal(gw_seal_memo_seal(m, k2, sizeof(k2), "440524188001010014", 18, &c, &lc, &hit),
                   GW_SEAL_OK);
  assert_int_equal(hit, 0);
  assert_string_not_equal(a, c);
  assert_int_equal(openssl_open(c, opened, sizeof(opened)), 18);
  assert_memory_equal(opened, "440524188001010014", 18);
  gw_free(c);
  c = NULL;
  gw_free(b);
  assert_int_equal(gw_seal_memo_seal(m, k1, sizeof(k1), ID_NUMBER, 18, &b, &lb, &hit), GW_SEAL_OK);
  assert_int_equal(hit, 0);                  /* k1 was evicted */
  assert_string_not_equal(a, b);
  /* refusals */
  assert_int_equal(gw_seal_memo_seal(m, k1, 0, ID_NUMBER, 18, &c, &lc, &hit), GW_SEAL_EINVAL);
  {
    char big[65];
    memset(big, 'k', sizeof(big));
    assert_int_equal(gw_seal_memo_seal(m, big, sizeof(big), ID_NUMBER, 18, &c, &lc, &hit),
                     GW_SEAL_EINVAL);
  }
  gw_free(a);
  gw_free(b);
  gw_seal_memo_free(m);
  gw_seal_memo_free(NULL);

  /* past the TTL (1 s, with the clock moved by waiting for it) */
  m = gw_seal_memo_new(s, 4, 1);
  assert_int_equal(gw_seal_memo_seal(m, k1, sizeof(k1), ID_NUMBER, 18, &a, &la, &hit), GW_SEAL_OK);
  {
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do
      clock_gettime(CLOCK_MONOTONIC, &t);
    while(t.tv_sec < t0.tv_sec + 2 && !usleep(10000));
  }
  assert_int_equal(gw_seal_memo_seal(m, k1, sizeof(k1), ID_NUMBER, 18, &b, &lb, &hit), GW_SEAL_OK);
  assert_int_equal(hit, 0);
  assert_string_not_equal(a, b);
  gw_free(a);
  gw_free(b);
  gw_seal_memo_free(m);
  gw_seal_free(s);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_openssl_opens_it),
    cmocka_unit_test(test_random_each_time),
    cmocka_unit_test(test_refusals),
    cmocka_unit_test(test_threads),
    cmocka_unit_test(test_memo),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
