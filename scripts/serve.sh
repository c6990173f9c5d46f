#!/usr/bin/env bash
# `make run`: the development web server and a procrastinate worker side by side; Ctrl-C stops both.
set -u
host=${1:-127.0.0.1}
port=${2:-8000}
cd "$(dirname "${BASH_SOURCE[0]}")/.."
py=.venv/bin/python

$py manage.py procrastinate worker &
worker=$!
$py manage.py runserver "$host:$port" &
web=$!

stop() {
    kill "$web" "$worker" 2>/dev/null
    wait "$web" "$worker" 2>/dev/null
    exit 0
}
trap stop INT TERM
# Whichever ends first (a crash, or Ctrl-C) takes the other down with it.
wait -n "$web" "$worker"
stop
