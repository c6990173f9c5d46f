#!/usr/bin/env bash
# `make run`: the development web server and a procrastinate worker side by side; Ctrl-C stops both.
#   scripts/serve.sh [HOST] [PORT]
# The worker (`manage.py jobs_worker`) rides out short database restarts itself; if it exits anyway (it gave
# up on the database, or crashed), it is started again here, like systemd's Restart=always in production,
# and the web server keeps serving.
set -u
host=${1:-127.0.0.1}
port=${2:-8000}
cd "$(dirname "${BASH_SOURCE[0]}")/.."
py=.venv/bin/python

# Fail early and clearly rather than leave a worker running beside a web server that could not bind.
if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
    echo "Port $port on $host is already in use: stop what runs there or pick another, e.g. \`make run PORT=8001\`." >&2
    exit 1
fi

WORKER_RESTART_DELAY=${WORKER_RESTART_DELAY:-2}
worker_loop() {
    local child status
    trap 'kill "$child" 2>/dev/null; wait "$child" 2>/dev/null; exit 0' INT TERM
    while :; do
        $py manage.py jobs_worker &
        child=$!
        wait "$child"
        status=$?
        echo "Custodian: the worker exited (status $status); starting it again in ${WORKER_RESTART_DELAY} s." >&2
        sleep "$WORKER_RESTART_DELAY" &
        wait $!
    done
}
worker_loop &
worker=$!
$py manage.py runserver "$host:$port" &
web=$!
echo "Custodian: web server (pid $web) on http://$host:$port/ and procrastinate worker (pid $worker); Ctrl-C stops both."

stop() {
    trap - INT TERM
    kill "$web" "$worker" 2>/dev/null
    wait "$web" "$worker" 2>/dev/null
    exit "${1:-0}"
}
trap 'stop 0' INT TERM
# The worker loop only ends when told to; the web server ending (a crash) stops everything.
wait "$web"
status=$?
echo "Custodian: the web server exited (status $status); stopping the worker." >&2
stop "$status"
