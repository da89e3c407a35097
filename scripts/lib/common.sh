# Shared shell helpers of the scripts in scripts/. Source it; it defines
# functions and variables only.

INDEXER_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
INDEXER_CACHE="${INDEXER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/indexer}"

say() { printf '%s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

# as_root CMD...: runs CMD as root, through sudo when not root already.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "'$*' needs root and sudo is not installed"
    fi
}

# phase NAME CMD...: runs one phase of a longer job and prints how long it took.
phase() {
    local name="$1"
    shift
    local start=$SECONDS
    say "==> $name"
    local status=0
    "$@" || status=$?
    say "==> $name: $((SECONDS - start))s$([ $status -eq 0 ] || printf ', FAILED (exit %s)' $status)"
    return $status
}

# The Debian packages of a role (build, runtime, dev, services) from the one list.
packages_of() {
    awk -v role="$1" '!/^#/ && NF && ($1 == role || role == "all") { print $2 }' \
        "$INDEXER_ROOT/scripts/debian-packages.txt"
}

# Number of parallel build jobs: every core, but never more than memory allows.
build_jobs() {
    local cores
    cores=$(nproc 2>/dev/null || echo 2)
    printf '%s\n' "${INDEXER_BUILD_JOBS:-$cores}"
}
