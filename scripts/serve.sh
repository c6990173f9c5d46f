#!/usr/bin/env bash
# `make run`: the development web server and a procrastinate worker side by side; Ctrl-C stops both.
#   scripts/serve.sh [HOST] [PORT]
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

$py manage.py procrastinate worker &
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
# Whichever ends first (a crash, or Ctrl-C) takes the other down with it.
wait -n "$web" "$worker"
status=$?
echo "Custodian: a process exited (status $status); stopping the other." >&2
stop "$status"
