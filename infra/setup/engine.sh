#!/usr/bin/env bash
# Make sure a Docker engine answers and is a Swarm manager: the provisioner's tests run
# containers on it and its Swarm backend places services on it.
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LOG="$ROOT/var/log/dockerd.log"
ADDRESS_POOL="base=10.200.0.0/14,size=24"

engine_answers() { docker info >/dev/null 2>&1; }

# Looks in /proc rather than kill -0, which other users' processes refuse.
dockerd_running() {
    local pid
    pid="$(cat /var/run/docker.pid 2>/dev/null || true)"
    [ -n "$pid" ] && [ -d "/proc/$pid" ]
}

start_engine() {
    if dockerd_running; then
        # Root waits for a dockerd that is still starting; anyone else is refused by the
        # socket, and waiting would not change that.
        is_root || die "dockerd runs but does not answer this user: $(docker info 2>&1 | tail -n 1)"
    else
        if ! command -v dockerd >/dev/null 2>&1; then
            can_install || die "no Docker engine answers and dockerd is not installed" \
                "(as root on Debian this script installs docker.io)"
            apt_install docker.io
        fi
        is_root || die "no Docker engine answers and starting dockerd needs root:" \
            "run make as root (CI does), or start Docker and let this user reach it"
        mkdir -p "$(dirname "$LOG")"
        say "starting dockerd (log: ${LOG#"$ROOT"/})"
        # setsid + nohup detach it from make's session and terminal, the redirections keep
        # make (or a CI log pipe) from waiting on its output, and cd / frees the checkout.
        # Dockyard gives every customer a network of their own; Docker's default pools
        # run out after about 30 bridge networks, so hand it room for 1,024 /24s.
        (cd / && exec setsid nohup dockerd --default-address-pool "$ADDRESS_POOL" \
            >>"$LOG" 2>&1 </dev/null) &
    fi
    local _
    for _ in $(seq 60); do
        engine_answers && return 0
        sleep 0.5
    done
    die "dockerd did not answer within 30 s; last lines of ${LOG#"$ROOT"/}: $(tail -n 3 "$LOG" 2>/dev/null)"
}

# The demo application images are FROM scratch plus Debian's static busybox.
if is_debian && [ -n "$(missing_packages busybox-static)" ]; then
    can_install || die "busybox-static is not installed (apt-get install busybox-static)"
    apt_install busybox-static
fi

engine_answers || start_engine

swarm="$(docker info --format '{{.Swarm.LocalNodeState}}')"
case "$swarm" in
    active) ;;
    inactive)
        say "initialising a single-node swarm"
        docker swarm init --advertise-addr 127.0.0.1 >/dev/null
        ;;
    *) die "swarm is '$swarm'; expected active or inactive" ;;
esac

say "Docker $(docker version --format '{{.Server.Version}}') answers, swarm active"

# The images the sample catalog and the tests run (quick when they are up to date).
"$ROOT/infra/demo-app/build.sh"
