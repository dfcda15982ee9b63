#!/usr/bin/env bash
# Create .venv and install SpineKey with its pinned stack (torch 2.13.0, mmcv 2.1.0 with ops, mmdet 3.3.0,
# mmengine 0.10.7). mmcv comes from ../shared/wheelhouse when that folder exists, otherwise it is compiled
# from the PyPI sdist (several minutes). A second run with nothing changed takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
WHEELHOUSE=${WHEELHOUSE:-../shared/wheelhouse}
STAMP="$VENV/.spinekey-installed"
CONSTRAINTS=${CONSTRAINTS:-constraints.txt}  # the versions CI tested (make lock refreshes it)
want=$(cat pyproject.toml scripts/setup_env.sh "$CONSTRAINTS" 2>/dev/null | sha256sum | cut -c1-16)

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && "$VENV/bin/python" -c "import spinekey, mmcv.ops" 2>/dev/null; then
    echo "setup: $VENV is up to date"
    exit 0
fi

[ -x "$VENV/bin/python" ] || { echo "setup: creating $VENV with $PYTHON"; "$PYTHON" -m venv "$VENV"; }
PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check -q)
[ -f "$CONSTRAINTS" ] && PIP+=(-c "$CONSTRAINTS")
find_links=()
[ -d "$WHEELHOUSE" ] && find_links=(--find-links "$WHEELHOUSE")

echo "setup: installing torch 2.13.0 and build tools"
# setuptools < 81: mmcv's build and mmengine at run time need pkg_resources
"${PIP[@]}" "torch==2.13.0" wheel "setuptools>=77.0.3,<81" numpy

if ! "$VENV/bin/python" -c "import mmcv.ops" 2>/dev/null; then
    if ls "$WHEELHOUSE"/mmcv-2.1.0-*.whl >/dev/null 2>&1; then
        echo "setup: installing mmcv 2.1.0 from $WHEELHOUSE"
        "${PIP[@]}" "${find_links[@]}" --no-build-isolation "mmcv==2.1.0"
    else
        echo "setup: compiling mmcv 2.1.0 with ops from source; this takes about 5 minutes on 2 cores"
        # -O3 without -g: a fast build and fast ops (the default '-g -O3' takes ~25 min)
        MMCV_WITH_OPS=1 FORCE_CUDA=${FORCE_CUDA:-0} MAX_JOBS=${MAX_JOBS:-$(nproc)} CFLAGS=-O3 CXXFLAGS=-O3 \
            "${PIP[@]}" --no-build-isolation "mmcv==2.1.0"
    fi
fi

echo "setup: installing spinekey (editable) and its dependencies"
"${PIP[@]}" "${find_links[@]}" --no-build-isolation -e ".[test,bench,pretrained]"
# torchvision from the registry links CUDA torch and breaks next to torch+cpu; mmdet does not need it
if "$VENV/bin/python" -m pip show torchvision >/dev/null 2>&1; then
    echo "setup: removing torchvision (incompatible with this torch build, not needed)"
    "$VENV/bin/python" -m pip uninstall -y -q torchvision
fi
"$VENV/bin/python" -c "import spinekey, mmcv.ops, mmdet; print('setup: ok, mmdet', mmdet.__version__)"
echo "$want" > "$STAMP"
