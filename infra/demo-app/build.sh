#!/usr/bin/env bash
# Build the demo images Dockyard's sample catalog and tests run: FROM scratch plus Debian's
# static busybox, so they build offline in well under a second.
#
#   dockyard-demo:1, :2    busybox httpd on :8080, a page naming the version, /healthz
#   dockyard-demo:broken   runs, but listens on :8081: its health check never passes
#   dockyard-demo:crash    exits with status 3 right after it starts
#   dockyard-server:1      server hosting: httpd on :8080 serving a "your server" page
#
# Idempotent: every image carries a hash of what it was built from, and an image whose
# hash matches is left alone.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BUSYBOX="${BUSYBOX:-/bin/busybox}"
HASH_LABEL="dockyard.build-hash"

say() { printf 'demo-app: %s\n' "$*"; }
die() { printf 'demo-app: error: %s\n' "$*" >&2; exit 1; }

[ -x "$BUSYBOX" ] || die "$BUSYBOX is missing (on Debian: apt-get install busybox-static)"
# A dynamically linked busybox (Debian's plain busybox package) cannot run FROM scratch.
if ldd "$BUSYBOX" >/dev/null 2>&1; then
    die "$BUSYBOX is dynamically linked; install busybox-static (or set BUSYBOX)"
fi
docker info >/dev/null 2>&1 || die "no Docker engine answers (make services starts one)"

page() { # title, body
    cat <<HTML
<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>$1</title></head>
<body>
$2
</body>
</html>
HTML
}

# site directory: its pages in the build context
write_site() {
    local dir="$CONTEXT/$1"
    mkdir -p "$dir"
    case "$1" in
        demo-*)
            local version="${1#demo-}"
            page "Dockyard demo application $version" \
                "<h1>Dockyard demo application</h1>
<p id=\"version\">version $version</p>" >"$dir/index.html"
            ;;
        server)
            page "Your server" \
                "<h1>Your server</h1>
<p>This server is hosted by Dockyard. Log in and make it yours.</p>" >"$dir/index.html"
            ;;
    esac
    echo ok >"$dir/healthz"
}

CONTEXT="$(mktemp -d)"
trap 'rm -rf "$CONTEXT"' EXIT
cp "$BUSYBOX" "$CONTEXT/busybox"
cp "$HERE/Dockerfile" "$CONTEXT/Dockerfile"
for site in demo-1 demo-2 demo-broken server; do
    write_site "$site"
done

# What the images are made of: this script (which writes the pages), the Dockerfile and
# busybox itself.
HASH="$(cat "$HERE/build.sh" "$HERE/Dockerfile" "$BUSYBOX" | sha256sum | cut -c1-16)"

# image target site
build() {
    local image="$1" target="$2" site="$3" current
    current="$(docker image inspect --format "{{ index .Config.Labels \"$HASH_LABEL\" }}" \
        "$image" 2>/dev/null || true)"
    if [ "$current" = "$HASH" ]; then
        say "$image is up to date"
        return
    fi
    # The legacy builder: the engine here (20.10) has no BuildKit client plugin beside it,
    # and nothing in these images needs BuildKit.
    DOCKER_BUILDKIT=0 docker build --quiet --target "$target" --build-arg "SITE=$site" \
        --label "$HASH_LABEL=$HASH" --tag "$image" "$CONTEXT" >/dev/null 2>"$CONTEXT/build.log" \
        || die "building $image failed: $(tail -n 5 "$CONTEXT/build.log")"
    say "built $image"
}

build dockyard-demo:1 app demo-1
build dockyard-demo:2 app demo-2
build dockyard-demo:broken broken demo-broken
build dockyard-demo:crash crash demo-broken
build dockyard-server:1 app server

# Earlier builds of these tags, now untagged (a container still using one keeps it).
docker image prune --force --filter "label=$HASH_LABEL" >/dev/null
