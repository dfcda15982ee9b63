# Sourced by the launchers (inference.sh, train.sh): need_value "$@" in a flag's case arm stops with one line
# when the flag has no value after it, instead of bash's "$2: unbound variable".
need_value() {
    [ $# -ge 2 ] || { echo "${0##*/}: $1 needs a value (see --help)" >&2; exit 2; }
}

# canonical_flag FLAG: --output-dir and --output_dir are one flag (the tools spell with '-', the launchers
# grew up with '_'): the launchers match on the '_' form of every --flag, so both spellings work everywhere.
canonical_flag() {
    case "$1" in
        --*) printf -- '--%s' "$(printf '%s' "${1#--}" | tr - _)" ;;
        *) printf '%s' "$1" ;;
    esac
}
