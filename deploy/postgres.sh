#!/usr/bin/env bash
# deploy/postgres.sh — run an isolated PostgreSQL server (Debian `postgresql`) without systemd: own data folder,
# own port on 127.0.0.1, own socket folder. For tests, benchmarks and trying Mostrador on PostgreSQL.
#
#   deploy/postgres.sh start [--dir DIR] [--port PORT|auto] [--throwaway]   # prints postgres://mostrador:…@127.0.0.1:PORT/mostrador
#   deploy/postgres.sh stop  [--dir DIR]
#   deploy/postgres.sh url   [--dir DIR]
#
# The cluster is created on first start (UTF-8, locale C: text sorts by code point, as in SQLite) with a role and a
# database `mostrador` (password in DIR/password, connections from 127.0.0.1 only, SCRAM). Run as root, the server
# runs as the `postgres` user. stdout carries only the URL. --throwaway (tests): commits do not wait for the disk
# (fsync, synchronous_commit off), as the SQLite suites run with synchronous=NORMAL; never for data you keep.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
DIR=${MOSTRADOR_POSTGRES_DIR:-$SCRIPT_DIR/../.postgres}
PORT=auto
DURABILITY="-c fsync=on"
log() { printf 'postgres.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

CMD=${1:-}
[ $# -gt 0 ] && shift
while [ $# -gt 0 ]; do
    case $1 in
        --dir) DIR=$2; shift 2 ;;
        --port) PORT=$2; shift 2 ;;
        --throwaway) DURABILITY="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"; shift ;;
        *) die "unknown argument '$1'" ;;
    esac
done
case $CMD in start | stop | url) ;; *) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;; esac

BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$BIN" ] || die "PostgreSQL is not installed (apt-get install postgresql)"
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd -P)

# Runs a PostgreSQL program as the user that owns the cluster.
as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

url() {
    printf 'postgres://mostrador:%s@127.0.0.1:%s/mostrador\n' "$(cat "$DIR/password")" "$(cat "$DIR/port")"
}

case $CMD in
    url)
        [ -f "$DIR/port" ] || die "no server in $DIR"
        url
        ;;
    stop)
        if [ -f "$DIR/data/postmaster.pid" ]; then
            as_owner "$BIN/pg_ctl" -D "$DIR/data" -m fast -w stop >&2 || true
        fi
        ;;
    start)
        if [ "$PORT" = auto ]; then
            PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        fi
        if [ ! -f "$DIR/data/PG_VERSION" ]; then
            [ "$(id -u)" = 0 ] && chown postgres "$DIR"
            head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$DIR/password"
            as_owner "$BIN/initdb" -D "$DIR/data" -U postgres --encoding=UTF8 --locale=C \
                --auth-local=trust --auth-host=scram-sha-256 >&2
        fi
        mkdir -p "$DIR/run"
        [ "$(id -u)" = 0 ] && chown postgres "$DIR/run"
        echo "$PORT" > "$DIR/port"
        as_owner "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
            -o "-p $PORT -k $DIR/run -c listen_addresses=127.0.0.1 -c max_connections=300 $DURABILITY" start >&2 \
            || die "the server did not start (see $DIR/server.log)"
        psql=(as_owner "$BIN/psql" -h "$DIR/run" -p "$PORT" -U postgres -v ON_ERROR_STOP=1 -qAt)
        if [ "$("${psql[@]}" -d postgres -c "SELECT 1 FROM pg_roles WHERE rolname = 'mostrador'")" != 1 ]; then
            "${psql[@]}" -d postgres -c "CREATE ROLE mostrador LOGIN CREATEDB PASSWORD '$(cat "$DIR/password")'" >&2
            "${psql[@]}" -d postgres -c "CREATE DATABASE mostrador OWNER mostrador" >&2
        fi
        url
        ;;
esac
