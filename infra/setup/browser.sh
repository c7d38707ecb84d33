#!/usr/bin/env bash
# Make sure Debian's Chromium is there: Playwright drives it for the portal's browser tests
# (Playwright's own browser download cannot reach the internet from CI).
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CHROMIUM=/usr/bin/chromium

if [ ! -x "$CHROMIUM" ]; then
    can_install || die "$CHROMIUM is missing (as root on Debian: apt-get install chromium)"
    apt_install chromium
fi
say "$CHROMIUM is installed"
