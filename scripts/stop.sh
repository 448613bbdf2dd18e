#!/usr/bin/env bash
# make stop: stops what make run started, by pid (services first, SIGTERM then SIGKILL, then redis).
set -uo pipefail
cd "$(dirname "$0")/.."
pids=.run/pids
[[ -d $pids ]] || { echo "nothing to stop"; exit 0; }

stop_pid() {
    local name=$1 pid=$2
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || { echo "stopped $name"; return 0; }; sleep 0.1; done
    echo "$name did not stop in 10 s; killing it"
    kill -KILL "$pid" 2>/dev/null
}

for file in "$pids"/*.pid; do
    [[ -e $file ]] || continue
    name=$(basename "$file" .pid)
    [[ $name == redis ]] && continue
    stop_pid "$name" "$(cat "$file")"
    rm -f "$file"
done
if [[ -f $pids/redis.pid ]]; then
    stop_pid redis "$(cat "$pids/redis.pid")"
    rm -f "$pids/redis.pid"
fi
