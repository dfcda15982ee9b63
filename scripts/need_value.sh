# Sourced by the launchers (inference.sh, train.sh): need_value "$@" in a flag's case arm stops with one line
# when the flag has no value after it, instead of bash's "$2: unbound variable".
need_value() {
    [ $# -ge 2 ] || { echo "${0##*/}: $1 needs a value (see --help)" >&2; exit 2; }
}
