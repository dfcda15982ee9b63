# Sourced by the launchers (inference.sh, train.sh) right after they cd into the repository, with
# CALLER_PWD set to the folder the command was typed in: a path on their command line means what it means
# there (bash ~/SpineKey/inference.sh --images_dir scans/ from a project folder runs scans/ of that folder
# and writes --output_dir there, never into the repository).
REPO_PWD=$PWD

# caller_path P: P as the caller meant it. Absolute stays; relative is resolved against CALLER_PWD, unless
# only the repository holds it (configs/spinekey/... typed from elsewhere, as the README writes it).
caller_path() {
    case "$1" in
        /*|"") printf '%s\n' "$1" ;;
        *) if [ "$CALLER_PWD" = "$REPO_PWD" ] || { [ -e "$1" ] && [ ! -e "$CALLER_PWD/$1" ]; }; then
               printf '%s\n' "$1"
           else
               printf '%s\n' "$CALLER_PWD/$1"
           fi ;;
    esac
}

# caller_cfg_option K=V: a --cfg-options entry with a path value (a data_root, load_from or work_dir key)
# resolved as caller_path; None/True/False and every other entry unchanged.
caller_cfg_option() {
    local key=${1%%=*} value=${1#*=}
    case "$key=$value" in
        *=None|*=True|*=False|*=) printf '%s\n' "$1" ;;
        *data_root=*|load_from=*|work_dir=*) printf '%s=%s\n' "$key" "$(caller_path "$value")" ;;
        *) printf '%s\n' "$1" ;;
    esac
}
