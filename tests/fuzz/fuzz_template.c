/*
 * fuzz_template.c - request templates (gw_template_expand) in each escaping
 * context, with arbitrary templates and arbitrary placeholder values.
 *
 * Input: byte 0 picks the context (modulo 4), byte 1 the length of the
 * subject name, byte 2 the length of the request id; then the name bytes,
 * the request id bytes, and the rest is the template (up to its first NUL).
 *
 * Invariants checked beyond "no crash, no leak":
 *   - for the fuzzed template: a success has out_len == strlen(out) within
 *     GW_TEMPLATE_MAX_OUTPUT, header output has no CR, LF or NUL; a failure
 *     has no output and a reason that never repeats the name; a template
 *     that gw_template_check refuses never expands;
 *   - for a fixed template per context carrying the fuzzed name (and id),
 *     expansion succeeds exactly when the value is one the context can
 *     carry (valid UTF-8 without NUL; XML also without C0 controls other
 *     than tab/LF/CR and without U+FFFE/U+FFFF; header also without C0
 *     controls other than tab and without DEL), and then:
 *       XML     <r a="NAME">NAME</r> re-parses (gw_xml_parse) with the
 *               element text and the attribute value both exactly the name;
 *       JSON    {"n": "NAME", "r": "RID"} re-parses with jansson to exactly
 *               the name and the id;
 *       URL     NAME is only unreserved characters and %XX (uppercase hex),
 *               and percent-decodes to exactly the name;
 *       header  x NAME is exactly "x" followed by the name.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libxml/tree.h>

#include "gw/alloc.h"
#include "template.h"
#include "gw/xmlsafe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ID "11010519491231002X"
#define FUZZ_NOW ((time_t)1795862400)   /* 2026-11-28T08:00:00Z */

/* The next code point of s[0..n) into *cp; its length, or 0 when the bytes
 * are not UTF-8 (overlong, surrogate, above U+10FFFF, cut short). */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
  size_t len;
  uint32_t c, min;

  if(s[0] < 0x80) {
    *cp = s[0];
    return 1;
  }
  if(s[0] >= 0xC2 && s[0] <= 0xDF) {
    len = 2; c = s[0] & 0x1F; min = 0x80;
  }
  else if(s[0] >= 0xE0 && s[0] <= 0xEF) {
    len = 3; c = s[0] & 0x0F; min = 0x800;
  }
  else if(s[0] >= 0xF0 && s[0] <= 0xF4) {
    len = 4; c = s[0] & 0x07; min = 0x10000;
  }
  else
    return 0;
  if(n < len)
    return 0;
  for(size_t i = 1; i < len; i++) {
    if((s[i] & 0xC0) != 0x80)
      return 0;
    c = c << 6 | (s[i] & 0x3F);
  }
  if(c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
    return 0;
  *cp = c;
  return len;
}

/* Can context `esc` carry value v[0..n)?  The contract of gw/template.h,
 * written out independently of template.c. */
static int carries(enum gw_esc esc, const unsigned char *v, size_t n)
{
  for(size_t i = 0; i < n;) {
    uint32_t c;
    size_t len = utf8_next(v + i, n - i, &c);
    if(!len || c == 0)
      return 0;
    if(esc == GW_ESC_XML && ((c < 0x20 && c != 0x9 && c != 0xA && c != 0xD) ||
                             c == 0xFFFE || c == 0xFFFF))
      return 0;
    if(esc == GW_ESC_HEADER && ((c < 0x20 && c != 0x9) || c == 0x7F))
      return 0;
    i += len;
  }
  return 1;
}

static int hexval(char c)
{
  if(c >= '0' && c <= '9')
    return c - '0';
  if(c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;         /* lowercase hex is not what the contract promises */
}

static int unreserved(unsigned char c)
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '.' || c == '_' || c == '~';
}

static void check_xml(const char *out, size_t len, const char *name, size_t nlen)
{
  char err[256];
  xmlDoc *doc = NULL;
  xmlNode *root;
  xmlChar *text, *attr;

  if(gw_xml_parse(out, len, NULL, &doc, err, sizeof(err)) != GW_XML_OK)
    abort();
  root = xmlDocGetRootElement(doc);
  text = xmlNodeGetContent(root);
  attr = xmlGetProp(root, (const xmlChar *)"a");
  if(!text || !attr || strlen((char *)text) != nlen || memcmp(text, name, nlen) ||
     strlen((char *)attr) != nlen || memcmp(attr, name, nlen))
    abort();
  xmlFree(text);
  xmlFree(attr);
  xmlFreeDoc(doc);
}

static void check_json(const char *out, size_t len, const char *name, size_t nlen,
                       const char *rid)
{
  json_t *v = json_loadb(out, len, JSON_REJECT_DUPLICATES, NULL);
  json_t *n = json_object_get(v, "n"), *r = json_object_get(v, "r");

  if(!json_is_string(n) || json_string_length(n) != nlen ||
     memcmp(json_string_value(n), name, nlen) || !json_is_string(r) ||
     strcmp(json_string_value(r), rid) || json_object_size(v) != 2)
    abort();
  json_decref(v);
}

static void check_url(const char *out, size_t len, const char *name, size_t nlen)
{
  size_t o = 0;
  for(size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)out[i];
    if(c == '%') {
      int hi, lo;
      if(i + 2 >= len || (hi = hexval(out[i + 1])) < 0 || (lo = hexval(out[i + 2])) < 0)
        abort();
      c = (unsigned char)(hi << 4 | lo);
      i += 2;
    }
    else if(!unreserved(c))
      abort();
    if(o >= nlen || (unsigned char)name[o] != c)
      abort();
    o++;
  }
  if(o != nlen)
    abort();
}

/* Expands the fixed template of `esc` with the fuzzed values. */
static void fixed(enum gw_esc esc, const struct gw_template_values *v)
{
  static const char *const tmpl[] = {
    [GW_ESC_XML] = "<r a=\"{{subject.name}}\">{{ subject.name }}</r>",
    [GW_ESC_JSON] = "{\"n\": \"{{subject.name}}\", \"r\": \"{{request_id}}\"}",
    [GW_ESC_URL] = "{{subject.name}}",
    [GW_ESC_HEADER] = "x{{\tsubject.name}}",
  };
  char *out = NULL, err[256];
  size_t len = 0;
  enum gw_template_result r;
  int can = carries(esc, (const unsigned char *)v->subject_name, v->subject_name_len) &&
            (esc != GW_ESC_JSON ||
             carries(esc, (const unsigned char *)v->request_id, strlen(v->request_id)));

  r = gw_template_expand(tmpl[esc], esc, v, &out, &len, err, sizeof(err));
  if((r == GW_TEMPLATE_OK) != can)
    abort();
  if(r != GW_TEMPLATE_OK)
    return;
  switch(esc) {
  case GW_ESC_XML:
    check_xml(out, len, v->subject_name, v->subject_name_len);
    break;
  case GW_ESC_JSON:
    check_json(out, len, v->subject_name, v->subject_name_len, v->request_id);
    break;
  case GW_ESC_URL:
    check_url(out, len, v->subject_name, v->subject_name_len);
    break;
  case GW_ESC_HEADER:
    if(len != v->subject_name_len + 1 || out[0] != 'x' ||
       memcmp(out + 1, v->subject_name, v->subject_name_len))
      abort();
    break;
  }
  gw_free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct gw_template_values v;
  enum gw_esc esc;
  size_t nlen, rlen, tlen;
  char *name, *rid, *tmpl, *out = NULL, err[256];
  size_t out_len = 0;
  enum gw_template_result r;

  if(size < 3)
    return 0;
  esc = (enum gw_esc)(data[0] % 4);
  nlen = data[1];
  rlen = data[2];
  data += 3;
  size -= 3;
  if(nlen + rlen > size)
    return 0;
  /* Own copies, so ASan sees every read past a value's end. */
  name = malloc(nlen ? nlen : 1);
  memcpy(name, data, nlen);
  rid = malloc(rlen + 1);
  memcpy(rid, data + nlen, rlen);
  rid[rlen] = '\0';
  tlen = size - nlen - rlen;
  tmpl = malloc(tlen + 1);
  memcpy(tmpl, data + nlen + rlen, tlen);
  tmpl[tlen] = '\0';

  v.subject_id = FUZZ_ID;
  v.subject_name = name;
  v.subject_name_len = nlen;
  v.request_id = rid;
  v.now = FUZZ_NOW;

  r = gw_template_expand(tmpl, esc, &v, &out, &out_len, err, sizeof(err));
  if(r == GW_TEMPLATE_OK) {
    if(!out || out_len != strlen(out) || out_len > GW_TEMPLATE_MAX_OUTPUT)
      abort();
    if(esc == GW_ESC_HEADER && strpbrk(out, "\r\n"))
      abort();
    if(gw_template_check(tmpl, err, sizeof(err)))
      abort();
    gw_free(out);
  }
  else {
    if(out || !err[0])
      abort();
    /* the template's own text may be quoted back; the value never */
    if(nlen >= 8 && memmem(err, strlen(err), name, nlen) && !memmem(tmpl, tlen, name, nlen))
      abort();
  }
  fixed(esc, &v);
  free(name);
  free(rid);
  free(tmpl);
  return 0;
}
