#!/usr/bin/env bash
# Lint the Python model core (training/) with pyflakes: unused imports and variables, undefined names, etc.
# Called by `npm test`; run it alone as `scripts/lint-python.sh`. Set SIGHTLINE_PYTHON to use another Python.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${SIGHTLINE_PYTHON:-/usr/bin/python3}"
if ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "lint-python: $PYTHON not found (install Debian's python3, or point SIGHTLINE_PYTHON at a Python 3)" >&2
  exit 2
fi
if ! "$PYTHON" -c 'import pyflakes' >/dev/null 2>&1; then
  echo "lint-python: pyflakes is not installed for $PYTHON (Debian: apt-get install python3-pyflakes;" \
       "elsewhere: $PYTHON -m pip install pyflakes)" >&2
  exit 2
fi
if "$PYTHON" -m pyflakes training; then
  echo "lint-python: pyflakes found nothing in training/"
else
  echo "lint-python: pyflakes reported the problems above in training/" >&2
  exit 1
fi
