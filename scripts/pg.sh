#!/usr/bin/env bash
# Private PostgreSQL cluster for this checkout (used when DATABASE_URL is not set).
#   scripts/pg.sh start   create on first use, then start (idempotent)
#   scripts/pg.sh stop    stop if running
#   scripts/pg.sh status  print whether it runs and on which port
#   scripts/pg.sh port    print its port: the one it runs or last ran on, else the one it would start on
#   scripts/pg.sh replica start|stop|status
#                         a streaming replica of it (pg_basebackup -R) in .pg/replica/, on its own port
# The cluster lives in .pg/ (git-ignored), or in $CUSTODIAN_PG_HOME when set (the fault tests stop and
# start a cluster of their own there, leaving the suite's cluster alone). As root it runs as the
# `postgres` user, because PostgreSQL refuses to run as root.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PGHOME="${CUSTODIAN_PG_HOME:-$ROOT/.pg}"
DATA="$PGHOME/data"
PORT_FILE="$PGHOME/port"
LOG="$PGHOME/server.log"
DB_NAME=custodian

find_bindir() {
    if [ -n "${PG_BINDIR:-}" ] && [ -x "$PG_BINDIR/pg_ctl" ]; then echo "$PG_BINDIR"; return; fi
    local d
    for d in /usr/lib/postgresql/*/bin /usr/local/pgsql/bin /opt/homebrew/bin /usr/local/bin /usr/bin; do
        if [ -x "$d/pg_ctl" ] && [ -x "$d/initdb" ]; then echo "$d"; return; fi
    done
    if command -v pg_ctl >/dev/null 2>&1; then dirname "$(command -v pg_ctl)"; return; fi
    echo "PostgreSQL server binaries (initdb, pg_ctl) not found: install them (Debian: apt-get install postgresql) or set DATABASE_URL." >&2
    exit 1
}

BIN=$(find_bindir)

# Run a PostgreSQL binary as the cluster owner: `postgres` when we are root, ourselves otherwise.
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

port_free() {
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# A port derived from the cluster's folder (the checkout's .pg/, or CUSTODIAN_PG_HOME) so two clusters on
# one machine pick different ones, a checkout's own and the one its fault tests start beside it included;
# if it is taken anyway, walk forward to a free one. Remembered in the cluster's port file.
choose_port() {
    local sum port
    sum=$(printf '%s' "$PGHOME" | cksum | cut -d' ' -f1)
    port=$((20000 + sum % 20000))
    while ! port_free "$port"; do port=$((port + 1)); done
    echo "$port"
}

# When root, the postgres user must be able to reach .pg/ through every parent folder
# (a clone in `mktemp -d` is mode 700): grant search (x) only where it is missing.
grant_traverse() {
    [ "$(id -u)" = 0 ] || return 0
    local d="$PGHOME"
    while [ "$d" != "/" ]; do
        if ! runuser -u postgres -- test -x "$d" 2>/dev/null; then
            chmod o+x "$d"
        fi
        d=$(dirname "$d")
    done
}

is_running() {
    [ -f "$DATA/PG_VERSION" ] && as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

init_cluster() {
    mkdir -p "$PGHOME"
    grant_traverse
    if [ "$(id -u)" = 0 ]; then chown postgres "$PGHOME"; fi
    echo "Creating a private PostgreSQL cluster in $DATA"
    as_owner "$BIN/initdb" -D "$DATA" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$PGHOME/initdb.log" 2>&1 \
        || { cat "$PGHOME/initdb.log" >&2; exit 1; }
    {
        echo "listen_addresses = '127.0.0.1'"
        echo "unix_socket_directories = ''"
        echo "fsync = off"              # a disposable development cluster: speed over durability
        echo "synchronous_commit = off"
        echo "full_page_writes = off"
        echo "max_connections = 200"
        echo "shared_preload_libraries = 'pg_stat_statements'"
        echo "track_io_timing = on"
    } | as_owner tee -a "$DATA/postgresql.conf" >/dev/null
}

start() {
    if [ -n "${DATABASE_URL:-}" ]; then
        echo "DATABASE_URL is set: using that server, not starting a private one."
        return 0
    fi
    [ -f "$DATA/PG_VERSION" ] || init_cluster
    grant_traverse
    if is_running; then
        echo "PostgreSQL already running on 127.0.0.1:$(cat "$PORT_FILE")"
    else
        # A crash can leave postmaster.pid behind; pg_ctl status said no server runs, so it is stale.
        rm -f "$DATA/postmaster.pid"
        local port
        if [ -f "$PORT_FILE" ] && port_free "$(cat "$PORT_FILE")"; then port=$(cat "$PORT_FILE"); else port=$(choose_port); fi
        echo "$port" >"$PORT_FILE"
        [ "$(id -u)" = 0 ] && { touch "$LOG"; chown postgres "$LOG"; }
        as_owner "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -o "-p $port" -w -t 60 start >/dev/null \
            || { tail -20 "$LOG" >&2; exit 1; }
        echo "PostgreSQL started on 127.0.0.1:$port (data in $DATA, log in $LOG)"
    fi
    local port; port=$(cat "$PORT_FILE")
    if ! as_owner "$BIN/psql" -h 127.0.0.1 -p "$port" -U postgres -Atc "SELECT 1 FROM pg_database WHERE datname='$DB_NAME'" postgres | grep -q 1; then
        as_owner "$BIN/createdb" -h 127.0.0.1 -p "$port" -U postgres "$DB_NAME"
    fi
}

stop() {
    if is_running; then
        as_owner "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
        echo "PostgreSQL stopped"
    else
        echo "PostgreSQL is not running"
    fi
}

status() {
    if is_running; then echo "running on 127.0.0.1:$(cat "$PORT_FILE")"; else echo "not running"; exit 3; fi
}

# Replica
# A hot standby streaming from the private cluster, for DB health's "every node" readings. It has the
# primary's databases and settings (pg_basebackup copies postgresql.conf), its own data folder and port.
REPLICA="$PGHOME/replica"
REPLICA_DATA="$REPLICA/data"
REPLICA_PORT_FILE="$REPLICA/port"
REPLICA_LOG="$REPLICA/server.log"

replica_running() {
    [ -f "$REPLICA_DATA/PG_VERSION" ] && as_owner "$BIN/pg_ctl" -D "$REPLICA_DATA" status >/dev/null 2>&1
}

replica_copy() {
    local primary_port; primary_port=$(cat "$PORT_FILE")
    mkdir -p "$REPLICA"
    [ "$(id -u)" = 0 ] && chown postgres "$REPLICA"
    # -c fast: checkpoint now, not spread over checkpoint_timeout (minutes of waiting otherwise).
    echo "Copying the primary into $REPLICA_DATA (pg_basebackup)"
    as_owner "$BIN/pg_basebackup" -h 127.0.0.1 -p "$primary_port" -U postgres -D "$REPLICA_DATA" -R -X stream -c fast \
        >"$REPLICA/basebackup.log" 2>&1 || { cat "$REPLICA/basebackup.log" >&2; exit 1; }
}

replica_launch() {
    rm -f "$REPLICA_DATA/postmaster.pid"
    local port primary_port; primary_port=$(cat "$PORT_FILE")
    if [ -f "$REPLICA_PORT_FILE" ] && port_free "$(cat "$REPLICA_PORT_FILE")"; then
        port=$(cat "$REPLICA_PORT_FILE")
    else
        port=$((primary_port + 1)); while ! port_free "$port"; do port=$((port + 1)); done
    fi
    echo "$port" >"$REPLICA_PORT_FILE"
    [ "$(id -u)" = 0 ] && { touch "$REPLICA_LOG"; chown postgres "$REPLICA_LOG"; }
    as_owner "$BIN/pg_ctl" -D "$REPLICA_DATA" -l "$REPLICA_LOG" -o "-p $port" -w -t 60 start >/dev/null \
        || { tail -20 "$REPLICA_LOG" >&2; exit 1; }
}

replica_streaming() {
    # The WAL receiver shows "streaming" within a second of connecting; one refused its WAL dies at once.
    local port; port=$(cat "$REPLICA_PORT_FILE")
    for _ in $(seq 1 20); do
        as_owner "$BIN/psql" -h 127.0.0.1 -p "$port" -U postgres -Atc "SELECT status FROM pg_stat_wal_receiver" postgres \
            2>/dev/null | grep -qx streaming && return 0
        sleep 0.5
    done
    return 1
}

replica_start() {
    if [ -n "${DATABASE_URL:-}" ]; then
        echo "DATABASE_URL is set: start replicas of that server yourself and list them in REPLICA_DATABASE_URLS." >&2
        exit 1
    fi
    is_running || start >/dev/null
    [ -f "$REPLICA_DATA/PG_VERSION" ] || replica_copy
    replica_running || replica_launch
    if ! replica_streaming; then
        # Stopped while the primary wrote more WAL than it keeps (a `make bench` dataset, a long session), the
        # replica asks for segments the primary has removed and never catches up: its tables stay as they
        # were, without the databases created since. No slot keeps the WAL for it (a stopped replica would
        # then fill the disk); it is copied again instead.
        echo "The replica cannot stream (the primary no longer has the WAL it needs); copying the primary again"
        replica_stop >/dev/null
        rm -rf "$REPLICA_DATA"
        replica_copy
        replica_launch
        replica_streaming || { tail -20 "$REPLICA_LOG" >&2; exit 1; }
    fi
    echo "Replica running on 127.0.0.1:$(cat "$REPLICA_PORT_FILE"), streaming from 127.0.0.1:$(cat "$PORT_FILE")"
    echo "  REPLICA_DATABASE_URLS=postgres://postgres@127.0.0.1:$(cat "$REPLICA_PORT_FILE")/$DB_NAME"
}

replica_stop() {
    if replica_running; then
        as_owner "$BIN/pg_ctl" -D "$REPLICA_DATA" -m fast -w stop >/dev/null
        echo "Replica stopped"
    else
        echo "Replica is not running"
    fi
}

replica_status() {
    if replica_running; then echo "replica running on 127.0.0.1:$(cat "$REPLICA_PORT_FILE")"; else echo "replica not running"; exit 3; fi
}

case "${1:-}" in
    start) start ;;
    stop) replica_running && replica_stop; stop ;;
    status) status ;;
    port) if [ -f "$PORT_FILE" ]; then cat "$PORT_FILE"; else choose_port; fi ;;
    replica)
        case "${2:-}" in
            start) replica_start ;;
            stop) replica_stop ;;
            status) replica_status ;;
            *) echo "usage: $0 replica start|stop|status" >&2; exit 2 ;;
        esac ;;
    *) echo "usage: $0 start|stop|status|port|replica start|stop|status" >&2; exit 2 ;;
esac
