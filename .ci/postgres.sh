#!/usr/bin/env bash
# Start a throw-away PostgreSQL server for the archive tests and print the URL they read.
#
# Usage (from .ci/run):  eval "$(bash .ci/postgres.sh)" || true
# Prints `export XINLI_TEST_PG_URL=...` on stdout when a server is up; prints nothing (and says
# why on stderr) when none can be started, so the PostgreSQL tests skip and say so.
set -uo pipefail

say() { echo "postgres.sh: $*" >&2; }

if ! command -v pg_ctlcluster >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    say "installing postgresql (Debian package)"
    if ! { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2; }; then
        say "could not install postgresql; the PostgreSQL tests will be skipped"
        exit 0
    fi
fi
python -m pip install --quiet --disable-pip-version-check 'psycopg[binary]>=3.1' >&2 \
    || { say "could not install psycopg; the PostgreSQL tests will be skipped"; exit 0; }

BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
PORT=${XINLI_PG_PORT:-54329}
DATA=${XINLI_PG_DATA:-/tmp/xinli-pg-data}
LOG=/tmp/xinli-pg.log
USER_NAME=xinli
PASSWORD=xinli
DB=xinli_test

if ! runuser -u postgres -- "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    rm -rf "$DATA"
    mkdir -p "$DATA" && chown postgres:postgres "$DATA"
    if ! runuser -u postgres -- "$BIN/initdb" -D "$DATA" -A trust -U postgres >&2; then
        say "initdb failed; the PostgreSQL tests will be skipped"
        exit 0
    fi
    if ! runuser -u postgres -- "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -w \
            -o "-p $PORT -k /tmp -c listen_addresses=127.0.0.1" start >&2; then
        say "the server did not start (see $LOG); the PostgreSQL tests will be skipped"
        exit 0
    fi
fi
PSQL=(runuser -u postgres -- "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -v ON_ERROR_STOP=1 -q)
"${PSQL[@]}" -c "DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$USER_NAME')
    THEN CREATE ROLE $USER_NAME LOGIN PASSWORD '$PASSWORD'; END IF; END \$\$;" >&2 || exit 0
if ! "${PSQL[@]}" -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
    "${PSQL[@]}" -c "CREATE DATABASE $DB OWNER $USER_NAME" >&2 || exit 0
fi
say "PostgreSQL up on 127.0.0.1:$PORT, database $DB"
echo "export XINLI_TEST_PG_URL=postgresql+psycopg://$USER_NAME:$PASSWORD@127.0.0.1:$PORT/$DB"
