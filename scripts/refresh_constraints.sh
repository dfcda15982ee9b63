#!/usr/bin/env bash
# Write constraints.txt: the exact versions installed in .venv (after a green `make test`), so that
# `make setup` on a fresh clone installs what CI tested instead of whatever numpy, OpenCV, pydicom or
# matplotlib released since. Local build tags (torch's +cpu) are dropped: the same pin serves the GPU build.
# Usage: make lock   (then run make test, and commit constraints.txt with the change that needed it)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
{
    echo "# Versions CI tested; make setup installs with -c constraints.txt. Refresh: make lock (scripts/refresh_constraints.sh)"
    "$VENV/bin/python" -m pip freeze --exclude-editable --disable-pip-version-check | sed -E 's/\+[A-Za-z0-9.]+$//' \
        | grep -viE '^(spinekey|pip|setuptools|wheel)==' | sort -f
} > constraints.txt.tmp
mv constraints.txt.tmp constraints.txt
echo "wrote constraints.txt ($(grep -vc '^#' constraints.txt) packages)"
