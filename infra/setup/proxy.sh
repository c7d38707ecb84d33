#!/usr/bin/env bash
# Make sure Caddy, the reverse proxy in front of every instance, is installed and runs
# with its admin API on loopback. Dockyard's worker loads the routes into it (a proxy
# started empty is filled by the next pass), so it starts with nothing but the admin API.
# Its certificates (the internal CA in development) stay in var/caddy/, not in /root.
# certutil (libnss3-tools) lets the browser tests trust that CA as Chromium would.
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ADMIN="${DOCKYARD_PROXY_ADMIN_URL:-http://127.0.0.1:2019}"
ADMIN_LISTEN="${ADMIN#http://}"
STATE="$ROOT/var/caddy"
LOG="$ROOT/var/log/caddy.log"

if ! command -v caddy >/dev/null 2>&1 || ! command -v certutil >/dev/null 2>&1; then
    can_install || die "caddy or certutil is missing (as root on Debian: apt-get install caddy libnss3-tools)"
    apt_install caddy libnss3-tools
fi

answers() { curl -fsS --max-time 2 --noproxy '*' "$ADMIN/config/" >/dev/null 2>&1; }

if ! answers; then
    mkdir -p "$STATE/data" "$STATE/config" "$(dirname "$LOG")"
    cat >"$STATE/boot.json" <<JSON
{"admin": {"listen": "$ADMIN_LISTEN", "config": {"persist": false}}}
JSON
    say "starting caddy (admin API at $ADMIN, log in var/log/caddy.log)"
    XDG_DATA_HOME="$STATE/data" XDG_CONFIG_HOME="$STATE/config" \
        nohup caddy run --config "$STATE/boot.json" >>"$LOG" 2>&1 </dev/null &
    for _ in $(seq 1 50); do
        answers && break
        sleep 0.1
    done
    answers || die "caddy did not answer at $ADMIN (see var/log/caddy.log)"
fi
say "caddy $(caddy version | cut -d' ' -f1) answers at $ADMIN"
