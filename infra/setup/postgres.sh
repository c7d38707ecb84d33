#!/usr/bin/env bash
# Make sure PostgreSQL 15 runs locally with the role and database the test suite uses.
# The role may create databases: every test gets a scratch database of its own.
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

VERSION=15
CLUSTER=main
URL="postgresql+asyncpg://dockyard:dockyard@127.0.0.1:5432/dockyard_test"
LIBPQ_URL="postgresql://dockyard:dockyard@127.0.0.1:5432/dockyard_test"

can_log_in() { psql "$LIBPQ_URL" -X -q -tA -c 'SELECT 1' >/dev/null 2>&1; }

if ! is_root; then
    # Someone else's server is fine as long as the test role can log in.
    command -v psql >/dev/null 2>&1 || die "psql is missing and installing PostgreSQL $VERSION needs root"
    can_log_in || die "cannot log in at $LIBPQ_URL; creating the role and database needs root"
    say "$URL"
    exit 0
fi

if [ ! -x "/usr/lib/postgresql/$VERSION/bin/postgres" ]; then
    is_debian || die "PostgreSQL $VERSION is not installed and this is not Debian"
    apt_install "postgresql-$VERSION"
fi
if [ ! -d "/etc/postgresql/$VERSION/$CLUSTER" ]; then
    say "creating cluster $VERSION/$CLUSTER"
    pg_createcluster "$VERSION" "$CLUSTER" >/dev/null
fi
if ! pg_ctlcluster "$VERSION" "$CLUSTER" status >/dev/null 2>&1; then
    say "starting cluster $VERSION/$CLUSTER"
    pg_ctlcluster "$VERSION" "$CLUSTER" start
fi

# Create what is missing, and reset the password and rights in case they drifted.
(cd / && runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -d postgres) <<'SQL'
SELECT 'CREATE ROLE dockyard'
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'dockyard')\gexec
ALTER ROLE dockyard LOGIN CREATEDB PASSWORD 'dockyard';
-- DROP DATABASE ... WITH (FORCE) (the tests' clean-up) must also end an autovacuum worker
-- that happens to be in the database; on PostgreSQL 15 that takes pg_signal_backend.
GRANT pg_signal_backend TO dockyard;
SELECT 'CREATE DATABASE dockyard_test OWNER dockyard'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'dockyard_test')\gexec
SQL

can_log_in || die "role dockyard cannot log in over TCP at 127.0.0.1:5432 (check pg_hba.conf and the port)"
say "$URL"
