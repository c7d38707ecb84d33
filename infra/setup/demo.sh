#!/usr/bin/env bash
# What `make run` needs besides the engine: the database at the newest schema and a demo
# operator to sign in with. Then it says where the portal is. Quick when done already.
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DOCKYARD=.venv/bin/dockyard
PORT="${PORT:-8000}"
OPERATOR_EMAIL="operator@dockyard.localhost"
# Published in the README: fine for a portal on 127.0.0.1, never for one others can reach.
OPERATOR_PASSWORD="dockyard-demo"

if [ "${DOCKYARD_ENV:-development}" = production ]; then
    die "DOCKYARD_ENV=production: make run is a local demo; create operators with" \
        "dockyard operators create and start dockyard serve yourself"
fi

mkdir -p var
say "$("$DOCKYARD" db upgrade)"
say "$(DOCKYARD_NEW_PASSWORD="$OPERATOR_PASSWORD" "$DOCKYARD" operators create \
    "$OPERATOR_EMAIL" --name "Demo operator" --if-missing)"

cat <<TEXT

  Dockyard is starting at http://127.0.0.1:$PORT  (Ctrl-C stops it)

  Customers: open it, pick a plan, sign up.
  Operators: sign in at http://127.0.0.1:$PORT/signin as
             $OPERATOR_EMAIL  /  $OPERATOR_PASSWORD   (the demo password, unless you changed it)
  Health:    /healthz  /readyz  /metrics        API: /api/v1 (schema: /api/v1/schema)

  Unless DOCKYARD_* variables say otherwise (see the README): SQLite in var/, the local
  Docker engine, the sample catalog in plans/catalog/, billing offline (no Stripe key),
  mail written to var/mail/outbox.txt.

TEXT
