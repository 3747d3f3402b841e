#!/bin/sh
# Runs jsonschema_agree.py with a Python that has the Debian python3-jsonschema
# (Draft202012Validator).  /usr/bin/python3 comes first so a virtualenv or
# pyenv on PATH does not swap in another jsonschema.
#
#   jsonschema_agree.sh FACTSCHEMA_TOOL SCHEMA_DIR SAMPLES_DIR
#
# Exit 0 pass, 1 fail, 77 skipped (no python3 with jsonschema >= 4 found).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
for py in /usr/bin/python3 python3; do
  if command -v "$py" >/dev/null 2>&1 &&
     "$py" -c 'from jsonschema import Draft202012Validator, FormatChecker' 2>/dev/null; then
    exec "$py" "$here/jsonschema_agree.py" "$@"
  fi
done
echo "skip: no python3 with jsonschema (apt-get install python3-jsonschema)"
exit 77
