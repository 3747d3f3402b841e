#!/usr/bin/python3
"""Checks schemas/adapter.schema.json against the example adapters with an
independent validator (Debian's python3-jsonschema, draft 2020-12):
every tests/adapters/*.json must be valid and every
tests/adapters/invalid/*.json invalid; the repository's own adapters
(adapters/*.json, two levels above ADAPTERS_DIR) must be valid too (the C
loader needs a deployment's PKI for those, so only the schema checks them
here; tests/unit/test_codec_paging.c loads them).  The C loader must give the same
verdicts; tests/unit/test_adapter_schema.c checks that side.

usage: check_schema.py SCHEMA ADAPTERS_DIR     exit 0 when all agree
"""
import glob
import json
import os
import sys

import jsonschema


def main():
    schema_path, adapters = sys.argv[1], sys.argv[2]
    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    bad = 0
    valid = sorted(glob.glob(os.path.join(adapters, "*.json")))
    valid += sorted(glob.glob(os.path.join(adapters, "..", "..", "adapters", "*.json")))
    invalid = sorted(glob.glob(os.path.join(adapters, "invalid", "*.json")))
    if not valid or not invalid:
        print("no example adapters found under", adapters)
        return 1
    for path in valid + invalid:
        with open(path, encoding="utf-8") as f:
            errors = list(validator.iter_errors(json.load(f)))
        want_valid = path in valid
        if want_valid and errors:
            bad += 1
            print("%s: the schema refuses a valid adapter:" % path)
            for e in errors[:3]:
                print("   at /%s: %s" % ("/".join(str(p) for p in e.absolute_path), e.message[:300]))
        elif not want_valid and not errors:
            bad += 1
            print("%s: the schema accepts an invalid adapter" % path)
    print("%d valid and %d invalid example adapters: %s" %
          (len(valid), len(invalid), "%d disagreements" % bad if bad else "the schema agrees"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
