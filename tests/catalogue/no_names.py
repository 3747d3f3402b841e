#!/usr/bin/python3
"""catalogue.no_names: no compiled gateway source names a fact, a purpose
or an agency (DESIGN section 4: the catalogue is data).

Every fact (schemas/facts/*.schema.json), purpose (schemas/purposes.json)
and agency (the "agency" of adapters/*.json and the mock agencies,
mocks/agency_*.c) is looked for in the string literals of gateway/src,
gateway/include and gateway/cmd, comments removed first (a comment may
give an example; code may not depend on one).  A dotted name counts
anywhere inside a literal; an agency name counts as a whole literal or
as a path or dotted segment ("/si/", "si.x").  The scanner is first run on
a planted source to show it finds what it must.

usage: no_names.py REPO      exit 0 when no source names one
"""
import glob
import json
import os
import re
import sys
import tempfile

LITERAL = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
COMMENT = re.compile(r'//[^\n]*|/\*.*?\*/', re.S)


def strip_comments(text):
    # Keep string literals intact: blank comments only outside them.
    out, i = [], 0
    while i < len(text):
        if text[i] == '"':
            m = LITERAL.match(text, i)
            if m:
                out.append(m.group(0))
                i = m.end()
                continue
        if text[i] == "'":
            m = re.compile(r"'(?:[^'\\\n]|\\.)*'").match(text, i)
            if m:
                out.append(m.group(0))
                i = m.end()
                continue
        m = COMMENT.match(text, i)
        if m:
            out.append(" ")
            i = m.end()
            continue
        out.append(text[i])
        i += 1
    return "".join(out)


def findings(path, dotted, agencies):
    with open(path, encoding="utf-8", errors="replace") as f:
        text = strip_comments(f.read())
    found = []
    for m in LITERAL.finditer(text):
        lit = m.group(1)
        line = text.count("\n", 0, m.start()) + 1
        for name in dotted:
            if re.search(r'(?<![a-z0-9_.])' + re.escape(name) + r'(?![a-z0-9_])', lit):
                found.append("%s:%d: \"%s\" names %s" % (path, line, lit[:60], name))
        for name in agencies:
            if lit == name or re.search(r'(^|[/.])' + re.escape(name) + r'([/.]|$)', lit):
                found.append("%s:%d: \"%s\" names agency %s" % (path, line, lit[:60], name))
    return found


def main():
    repo = sys.argv[1]
    facts = [os.path.basename(p)[:-len(".schema.json")]
             for p in glob.glob(os.path.join(repo, "schemas/facts/*.schema.json"))]
    with open(os.path.join(repo, "schemas/purposes.json"), encoding="utf-8") as f:
        purposes = list(json.load(f)["purposes"])
    agencies = set()
    for p in glob.glob(os.path.join(repo, "adapters/*.json")):
        with open(p, encoding="utf-8") as f:
            agencies.add(json.load(f)["agency"])
    for p in glob.glob(os.path.join(repo, "mocks/agency_*.c")):
        agencies.add(os.path.basename(p)[len("agency_"):-2])
    if len(facts) < 11 or len(purposes) < 5 or len(agencies) < 7:
        print("the catalogue, purposes or agencies were not found under", repo)
        return 1
    dotted = sorted(set(facts) | set(purposes))

    # The scanner must find a planted name, and not one in a comment.
    with tempfile.NamedTemporaryFile("w", suffix=".c", delete=False) as t:
        t.write('/* "%s" in a comment is fine */\nstatic const char *x = "%s";\n'
                'static const char *y = "/%s/v1";\n' % (facts[0], facts[0], sorted(agencies)[0]))
    planted = findings(t.name, dotted, sorted(agencies))
    os.unlink(t.name)
    if len(planted) != 2:
        print("scanner self-check failed:", planted)
        return 1

    bad = []
    for pattern in ("gateway/src/**/*.[ch]", "gateway/include/**/*.h", "gateway/cmd/**/*.[ch]"):
        for path in sorted(glob.glob(os.path.join(repo, pattern), recursive=True)):
            bad += findings(path, dotted, sorted(agencies))
    for b in bad:
        print(b)
    print("%d facts, %d purposes, %d agencies: %s" % (
        len(facts), len(purposes), len(agencies),
        "%d names in compiled gateway sources" % len(bad) if bad else "none named in gateway C"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
