# Sourced by train.sh and inference.sh (from the project root): sets PY to the interpreter that runs the tools.
# PYTHON may be a path or a bare command name (PYTHON=python3); without it the project's .venv is used, else
# python3. Any interpreter other than the project's .venv is named on stderr, so a wrong one is seen at once.
resolve_python() {
    local want=${PYTHON:-.venv/bin/python}
    PY=$(command -v -- "$want" 2>/dev/null || true)
    if [ -z "$PY" ]; then
        if [ -n "${PYTHON:-}" ]; then
            echo "$(basename "$0"): PYTHON=$PYTHON is not an executable or a command on PATH" >&2
            exit 2
        fi
        PY=$(command -v python3 || command -v python || true)
        [ -n "$PY" ] || { echo "$(basename "$0"): no .venv (run make setup) and no python3 on PATH" >&2; exit 2; }
    fi
    case "$PY" in /*) ;; *) PY="$(pwd)/$PY" ;; esac
    if [ "$PY" != "$(pwd)/.venv/bin/python" ]; then
        echo "$(basename "$0"): using $PY ($("$PY" -c 'import sys; print("Python", sys.version.split()[0])' 2>&1))" >&2
    fi
}
resolve_python
