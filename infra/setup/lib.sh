# shellcheck shell=bash
# Shared helpers for the infra/setup scripts. Sourced, never run.
#
# Every script runs from the repository root, prints one line per thing it checks or
# changes, and installs only what is missing, so a second run is a handful of fast checks.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

SETUP_NAME="$(basename "$0" .sh)"

say() { printf '%s: %s\n' "$SETUP_NAME" "$*"; }
die() { printf '%s: error: %s\n' "$SETUP_NAME" "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" -eq 0 ]; }
is_debian() { [ -r /etc/debian_version ] && command -v apt-get >/dev/null 2>&1; }
# Installing system packages is only attempted where it is known to work.
can_install() { is_root && is_debian; }

# Debian packages (among the arguments) that are not installed.
missing_packages() {
    local pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' \
            || printf '%s ' "$pkg"
    done
}

# apt-get install, refreshing the package lists first unless a script did so within the
# hour: a fresh CI machine needs one update, not one per script, and a warm one needs none.
apt_install() {
    local stamp="$ROOT/var/setup/apt-updated"
    if [ -z "$(find "$stamp" -mmin -60 2>/dev/null)" ]; then
        say "apt-get update"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        mkdir -p "$(dirname "$stamp")"
        touch "$stamp"
    fi
    say "apt-get install $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
