#!/usr/bin/env bash
# Create .venv and install Dockyard with its dev tools, re-installing only when
# pyproject.toml changed since the last successful install.
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PYTHON="${PYTHON:-python3}"
STAMP=".venv/.installed"

if [ ! -x .venv/bin/python ]; then
    command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found: install Python 3.11 or newer"
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || die "$("$PYTHON" --version 2>&1) is too old: Dockyard needs Python 3.11 or newer"
    # Debian splits venv support out of the interpreter package.
    if ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then
        can_install || die "$PYTHON lacks the venv module (on Debian: apt-get install python3-venv)"
        apt_install python3-venv
    fi
    say "creating .venv with $("$PYTHON" --version 2>&1)"
    "$PYTHON" -m venv .venv
fi

if [ pyproject.toml -nt "$STAMP" ]; then
    say "installing dockyard[dev] into .venv"
    .venv/bin/python -m pip install --quiet --editable '.[dev]'
    touch "$STAMP"
else
    say ".venv is up to date"
fi
