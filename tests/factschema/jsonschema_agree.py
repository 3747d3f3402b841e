#!/usr/bin/env python3
"""Independent check of the fact schemas and of the gateway's validator.

    jsonschema_agree.py FACTSCHEMA_TOOL SCHEMA_DIR SAMPLES_DIR

python3-jsonschema (Draft202012Validator with its format checker on) is the
second opinion.  Checked:
  1. our loader accepts SCHEMA_DIR (so every example passes ours) and it
     holds exactly the facts the tool lists (the compiled-in catalogue);
  2. every schema is a valid draft 2020-12 schema (meta-schema check);
  3. every "examples" entry is valid for python-jsonschema and for ours;
  4. every sample SAMPLES_DIR/<fact>/valid-*.json is valid and every
     invalid-*.json invalid for both, and for an invalid sample the place
     our message names is a place python-jsonschema reports an error (for
     "required" and "additionalProperties" it reports the object, we the
     member, so ours must be the object's path plus one member);
  5. every fact has at least one valid and one invalid sample;
  6. on a corpus of patterns inside the supported subset (every pattern
     the schemas use among them), our regcomp/regexec matching agrees
     with Python's re, with the final $ read as ECMA-262 reads it (end of
     input, Python's \\Z) rather than Python's "end or before a final
     newline".
Exit 0 pass, 1 fail.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError

SUFFIX = ".schema.json"
MEMBER_SEGMENT = re.compile(r'^(\.[A-Za-z_][A-Za-z0-9_]*|\["(?:[^"\\]|\\.)*"\])$')

# Patterns inside the subset, and strings probing each construct: ranges,
# alternation, bounded and open repeats, escapes, non-ASCII and newlines.
PATTERN_CORPUS = [
    (r"^(AB|C[0-9]{2,3})[+.-]?\.\$x*$",
     ["AB.$", "AB+.$", "C12-.$xx", "C123..$", "C1.$", "C1234.$", "xAB.$", "AB.$\n", "AB.$y",
      "AB\u4e2d.$", "AB*.$", ""]),
    (r"^[a-z_][a-z0-9_]{0,3}$",
     ["a", "_", "a1_b", "a1_bc", "1a", "A", "a-b", "\u00e9", "a\n", ""]),
    (r"^(ab)+c?$", ["ab", "abab", "ababc", "abc", "c", "aba", "abcc", "ab\n"]),
    (r"^[-a]{2,}$", ["--", "a-a", "-", "aa-b", "a\u2010"]),
    (r"^(a|ab)(c|bcd)(d*)$", ["abcd", "acd", "abcdd", "ac", "abd", "abcde"]),
    (r"^[ -~]*$", ["", "hello world", "tab\there", "\u00a0", "~", "x\n"]),
    (r"^x{0}y\{1\}$", ["y{1}", "xy{1}", "y1", "y{1}\n"]),
    (r"^\(\)\[\]\|\^\*\+\?\\$", ["()[]|^*+?\\", "()[]|^*+?", "()[]|^*+?\\\n"]),
    (r"^(([0-9]{3}|X)-)*[0-9]$", ["7", "123-7", "X-123-X-0", "12-7", "X-", "\uff11"]),
]

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg)


def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def run_tool(tool, schema_dir, fact, paths):
    """Our verdicts: {path: (verdict, message)}."""
    r = subprocess.run([tool, schema_dir, fact] + paths, capture_output=True, text=True,
                       encoding="utf-8")
    if r.returncode != 0:
        fail("factschema_tool %s: exit %d: %s" % (fact, r.returncode, r.stderr.strip()))
        return {}
    out = {}
    for line in r.stdout.splitlines():
        parts = line.split("\t", 2)
        out[parts[0]] = (parts[1], parts[2] if len(parts) > 2 else "")
    return out


def collect_patterns(schema, out):
    if isinstance(schema, dict):
        for k, v in schema.items():
            if k == "pattern" and isinstance(v, str):
                out.add(v)
            elif k != "examples":
                collect_patterns(v, out)
    elif isinstance(schema, list):
        for v in schema:
            collect_patterns(v, out)


def same_place(ours, error):
    theirs = error.json_path
    if error.validator in ("required", "additionalProperties"):
        return ours.startswith(theirs) and MEMBER_SEGMENT.match(ours[len(theirs):]) is not None
    return ours == theirs


def main():
    tool, schema_dir, samples_dir = sys.argv[1:4]

    # 1. Our loader: the whole directory, every example, the catalogue.
    r = subprocess.run([tool, schema_dir], capture_output=True, text=True, encoding="utf-8")
    if r.returncode != 0:
        fail("our loader refuses %s: %s" % (schema_dir, r.stderr.strip()))
        return 1
    facts = [line.split("\t")[0] for line in r.stdout.splitlines()]
    files = sorted(f for f in os.listdir(schema_dir) if f.endswith(SUFFIX))
    if sorted(f[:-len(SUFFIX)] for f in files) != sorted(facts):
        fail("schema files %s differ from the catalogue %s" % (files, facts))
    print("ok: our loader accepts %d schemas" % len(facts))

    validators = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in files:
            fact = name[:-len(SUFFIX)]
            schema = load_json(os.path.join(schema_dir, name))
            # 2. A valid 2020-12 schema.
            try:
                Draft202012Validator.check_schema(schema)
            except SchemaError as e:
                fail("%s: not a valid 2020-12 schema: %s" % (name, e.message))
                continue
            v = Draft202012Validator(schema, format_checker=FormatChecker())
            validators[fact] = v
            # 3. Examples, both ways.
            paths = []
            for i, ex in enumerate(schema.get("examples", [])):
                errors = list(v.iter_errors(ex))
                if errors:
                    fail("%s: example %d invalid for python-jsonschema: %s"
                         % (name, i, errors[0].message))
                p = os.path.join(tmp, "%s.example%d.json" % (fact, i))
                with open(p, "w", encoding="utf-8") as f:
                    json.dump(ex, f, ensure_ascii=False)
                paths.append(p)
            for p, (verdict, msg) in run_tool(tool, schema_dir, fact, paths).items():
                if verdict != "valid":
                    fail("%s: example %s invalid for ours: %s" % (name, p, msg))
            print("ok: %s is a 2020-12 schema, %d examples valid for both"
                  % (name, len(paths)))

    # 4. and 5. The shared samples.
    agreed = 0
    for fact in sorted(os.listdir(samples_dir)):
        d = os.path.join(samples_dir, fact)
        if fact not in validators:
            fail("samples for %s, which has no schema" % fact)
            continue
        names = sorted(n for n in os.listdir(d) if n.endswith(".json"))
        if not any(n.startswith("valid-") for n in names) or \
           not any(n.startswith("invalid-") for n in names):
            fail("%s: needs valid-*.json and invalid-*.json samples" % fact)
        paths = [os.path.join(d, n) for n in names]
        ours = run_tool(tool, schema_dir, fact, paths)
        for name, path in zip(names, paths):
            want_valid = name.startswith("valid-")
            if not want_valid and not name.startswith("invalid-"):
                fail("%s/%s: name must start with valid- or invalid-" % (fact, name))
                continue
            errors = list(validators[fact].iter_errors(load_json(path)))
            verdict, msg = ours.get(path, ("missing", ""))
            if (not errors) != want_valid:
                fail("%s/%s: python-jsonschema says %s%s" % (
                    fact, name, "invalid" if errors else "valid",
                    ": " + errors[0].message if errors else ""))
                continue
            if (verdict == "valid") != want_valid:
                fail("%s/%s: ours says %s %s" % (fact, name, verdict, msg))
                continue
            if not want_valid:
                place = msg.split(": ", 1)[0]
                if not any(same_place(place, e) for e in errors):
                    fail("%s/%s: ours reports %s, python-jsonschema %s" % (
                        fact, name, msg, ["%s (%s)" % (e.json_path, e.message[:80])
                                          for e in errors]))
                    continue
            agreed += 1
    for fact in validators:
        if not os.path.isdir(os.path.join(samples_dir, fact)):
            fail("%s: no samples" % fact)
    print("ok: %d samples, same verdict and place from both" % agreed)

    # 6. Patterns: every one the schemas use, plus the corpus.
    used = set()
    for name in files:
        collect_patterns(load_json(os.path.join(schema_dir, name)), used)
    corpus = PATTERN_CORPUS + [(p, []) for p in sorted(used)]
    checked = 0
    for pattern, strings in corpus:
        r = subprocess.run([tool, "--match", pattern] + strings, capture_output=True, text=True,
                           encoding="utf-8")
        if r.returncode != 0:
            fail("pattern %s: ours refuses it: %s%s" % (pattern, r.stdout.strip(), r.stderr.strip()))
            continue
        ecma = re.compile(pattern[:-1] + r"\Z")
        for s_, got in zip(strings, r.stdout.split()):
            want = ecma.search(s_) is not None
            if (got == "1") != want:
                fail("pattern %s on %r: ours %s, Python re %s" % (pattern, s_, got, want))
            checked += 1
    print("ok: %d patterns (%d from the schemas), %d strings, same matches as Python re"
          % (len(corpus), len(used), checked))

    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
