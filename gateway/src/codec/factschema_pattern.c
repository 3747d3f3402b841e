/*
 * factschema_pattern.c - which JSON Schema patterns the gateway accepts.
 *
 * JSON Schema patterns are ECMA-262 regular expressions; the gateway runs
 * them with POSIX regcomp (REG_EXTENDED) from libc.  The two languages agree
 * only on a common subset, and this file is the gate to it: anchored ^...$,
 * printable ASCII, literals, \-escaped metacharacters, bracket expressions
 * without negation, escapes or classes, groups, alternation inside a group,
 * and the quantifiers * + ? {n} {n,} {n,m}.
 *
 * The one idea: inside the subset every atom matches exactly one ASCII
 * character, so byte semantics (POSIX in the C locale) and code point
 * semantics (ECMA-262) coincide and a non-ASCII character never matches in
 * either; and without back-references or look-around a backtracking engine
 * and a POSIX engine accept the same strings when the match is anchored at
 * both ends.  Each refusal says which difference it avoids (docs/facts.md
 * has the table).  Pure functions: no allocation, no locale, no state.
 */
#include "factschema_int.h"

#include <string.h>

#define STR_(x) #x
#define STR(x) STR_(x)

static bool printable(char ch)
{
  return ch >= 0x20 && ch <= 0x7e;
}

/* One quantifier {n}, {n,} or {n,m} at p[*i] == '{'; advances *i past it. */
static const char *repeat_problem(const char *p, size_t len, size_t *i)
{
  long n = -1, m = -1;
  size_t j = *i + 1;
  bool comma = false;

  for(long *cur = &n; j < len; j++) {
    if(p[j] >= '0' && p[j] <= '9') {
      *cur = (*cur < 0 ? 0 : *cur) * 10 + (p[j] - '0');
      if(*cur > GW_FACTSCHEMA_REPEAT_MAX)
        return "a {n,m} bound is larger than " STR(GW_FACTSCHEMA_REPEAT_MAX);
    }
    else if(p[j] == ',' && !comma && n >= 0) {
      comma = true;
      cur = &m;
    }
    else if(p[j] == '}')
      break;
    else
      return "'{' must start a quantifier {n}, {n,} or {n,m} (write \\{ for the character)";
  }
  if(j >= len || n < 0)
    return "'{' must start a quantifier {n}, {n,} or {n,m} (write \\{ for the character)";
  if(comma && m >= 0 && m < n)
    return "a {n,m} quantifier has m smaller than n";
  *i = j + 1;
  return NULL;
}

/* A bracket expression at p[*i] == '['; advances *i past its ']'. */
static const char *bracket_problem(const char *p, size_t len, size_t *i)
{
  size_t j = *i + 1, items = 0;

  if(j < len && p[j] == '^')
    return "negated bracket expressions [^...] are not supported (they would match one byte "
           "in POSIX but one character in ECMA-262)";
  for(; j < len && p[j] != ']'; items++) {
    char lo = p[j];

    if(!printable(lo) || lo == '\\' || lo == '[')
      return "inside [...] only printable ASCII other than \\ and [ is supported (escapes and "
             "classes differ between ECMA-262 and POSIX)";
    if(j + 2 < len && p[j + 1] == '-' && p[j + 2] != ']') {
      char hi = p[j + 2];
      if(lo == '-' || hi == '-' || !printable(hi) || hi == '\\' || hi == '[')
        return "a range in [...] must join two printable ASCII characters other than - \\ [";
      if(lo > hi)
        return "a range in [...] runs backwards";
      j += 3;
      continue;
    }
    if(lo == '-' && items != 0 && !(j + 1 < len && p[j + 1] == ']'))
      return "a literal - in [...] must come first or last";
    j++;
  }
  if(j >= len)
    return "unterminated [";
  if(!items)
    return "empty []";
  *i = j + 1;
  return NULL;
}

const char *gw_fs_pattern_problem(const char *p, size_t len)
{
  size_t i = 1;
  int depth = 0;
  bool atom = false;                  /* the last token may take a quantifier */
  bool empty = true;                  /* nothing yet in the current alternative */
  bool ended = false;

  if(len < 2 || p[0] != '^')
    return "must be anchored: begin with ^ and end with $ (JSON Schema patterns are not "
           "implicitly anchored)";
  while(i < len) {
    char ch = p[i];
    const char *why;

    if(ended)
      return "$ may only end the pattern";
    if(!printable(ch))
      return "only printable ASCII is supported";
    switch(ch) {
    case '\\':
      if(i + 1 >= len || !strchr("\\.^$|?*+()[]{}", p[i + 1]) || !p[i + 1])
        return "only \\ before one of \\ . ^ $ | ? * + ( ) [ ] { } is supported (no \\d, \\w, "
               "\\s, \\b: they differ between ECMA-262 and POSIX)";
      i += 2;
      atom = true;
      empty = false;
      break;
    case '.':
      return "'.' is not supported (it matches a byte in POSIX but a character in ECMA-262); "
             "use a bracket expression";
    case '[':
      if((why = bracket_problem(p, len, &i)))
        return why;
      atom = true;
      empty = false;
      break;
    case '(':
      if(i + 1 < len && p[i + 1] == '?')
        return "(? groups (non-capturing, look-around, named) are not supported";
      depth++;
      i++;
      atom = false;
      empty = true;
      break;
    case ')':
      if(!depth)
        return "unbalanced )";
      if(empty)
        return "empty group or alternative";
      depth--;
      i++;
      atom = true;
      empty = false;
      break;
    case '|':
      if(!depth)
        return "| must sit inside a group, so that ^ and $ anchor every alternative";
      if(empty)
        return "empty alternative";
      i++;
      atom = false;
      empty = true;
      break;
    case '*':
    case '+':
    case '?':
      if(!atom)
        return "a quantifier must follow a character, bracket expression or group "
               "(no lazy or stacked quantifiers)";
      i++;
      atom = false;
      break;
    case '{':
      if(!atom)
        return "a quantifier must follow a character, bracket expression or group "
               "(no lazy or stacked quantifiers)";
      if((why = repeat_problem(p, len, &i)))
        return why;
      atom = false;
      break;
    case '}':
    case ']':
      return "a bare } or ] is not supported (write \\} or \\])";
    case '^':
      return "^ may only begin the pattern";
    case '$':
      if(i != len - 1 || depth)
        return "$ may only end the pattern";
      ended = true;
      i++;
      break;
    default:
      i++;
      atom = true;
      empty = false;
      break;
    }
  }
  if(depth)
    return "unbalanced (";
  if(!ended)
    return "must be anchored: begin with ^ and end with $ (JSON Schema patterns are not "
           "implicitly anchored)";
  return NULL;
}
