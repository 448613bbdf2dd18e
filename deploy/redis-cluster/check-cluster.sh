#!/usr/bin/env bash
# Builds the 6-node example cluster on this machine from cluster-node.conf, cluster-acl.sh and
# create-cluster.sh (throwaway nodes on free ports in a temp directory, always stopped on exit),
# then checks it: cluster_state ok, 3 masters with one replica each, writes replicated, every
# shard tag of CRM_SHARDS=16 reachable by the service users through redirections, and the ACL
# rules still enforced. Prints one line per check and "redis-cluster: N passed, M failed".
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
server=${REDIS_SERVER:-redis-server}
cli=${REDIS_CLI:-redis-cli}
for tool in "$server" "$cli" sha256sum python3; do
    command -v "$tool" >/dev/null || { echo "check-cluster: $tool not found" >&2; exit 2; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nexus-crm-cluster.XXXXXX")
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

passed=0 failed=0
check() { # check NAME COMMAND...: passes when the command succeeds
    local name=$1; shift
    if "$@" >"$tmp/last.out" 2>&1; then passed=$((passed + 1)); echo "ok   $name"
    else failed=$((failed + 1)); echo "FAIL $name: $(head -c 300 "$tmp/last.out")"; fi
}

# Six free ports whose bus ports (port + 10000) are free too.
read -r -a ports < <(python3 - <<'PY'
import socket
ports = []
while len(ports) < 6:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
    if port + 10000 > 65535 or port in ports: continue
    b = socket.socket()
    try: b.bind(("127.0.0.1", port + 10000))
    except OSError: continue
    finally: b.close()
    ports.append(port)
print(*ports)
PY
)
"$here/cluster-acl.sh" >"$tmp/users-cluster.acl"
for port in "${ports[@]}"; do
    mkdir -p "$tmp/$port"
    # cluster-node.conf as shipped; only paths and the address differ from production.
    "$server" "$here/cluster-node.conf" --port "$port" --bind 127.0.0.1 --dir "$tmp/$port" --cluster-config-file "nodes-$port.conf" \
        --aclfile "$tmp/users-cluster.acl" --logfile "$tmp/$port.log" --supervised no --maxmemory 64mb --appendfsync everysec &
    pids+=($!)
done
admin=(--no-auth-warning --user cluster-admin --pass cluster-admin-dev-secret -h 127.0.0.1)
for port in "${ports[@]}"; do
    for _ in $(seq 1 100); do "$cli" "${admin[@]}" -p "$port" ping 2>/dev/null | grep -q PONG && break; sleep 0.05; done
done
nodes=(); for port in "${ports[@]}"; do nodes+=("127.0.0.1:$port"); done
check "create-cluster.sh makes a cluster of the 6 nodes" "$here/create-cluster.sh" "${nodes[@]}"

first=${ports[0]}
"$cli" "${admin[@]}" -p "$first" cluster nodes >"$tmp/nodes.txt"
# The topology as "masters replicas masters-with-a-replica", from CLUSTER NODES.
topology() { python3 - "$tmp/nodes.txt" <<'PY'
import sys
nodes = [line.split() for line in open(sys.argv[1]) if line.strip()]
masters = {n[0] for n in nodes if "master" in n[2].split(",")}
replicas = [n for n in nodes if "slave" in n[2].split(",")]
print(len(masters), len(replicas), len(masters & {r[3] for r in replicas}))
PY
}
# The master that serves a slot: its id.
master_of_slot() { python3 - "$tmp/nodes.txt" "$1" <<'PY'
import sys
slot = int(sys.argv[2])
for n in (line.split() for line in open(sys.argv[1]) if line.strip()):
    if "master" not in n[2].split(","): continue
    for part in n[8:]:
        low, _, high = part.partition("-")
        if low.isdigit() and int(low) <= slot <= int(high or low): print(n[0])
PY
}
read -r masters replicas covered < <(topology)
[[ -n ${CHECK_CLUSTER_DEBUG:-} ]] && { cat "$tmp/nodes.txt"; echo "topology: $masters $replicas $covered"; }
check "3 masters" test "$masters" = 3
check "3 replicas" test "$replicas" = 3
check "every master has a replica" test "$covered" = 3
check "replicas are in sync with their masters (the replication user)" bash -c "
    for port in ${ports[*]}; do
        for _ in \$(seq 1 100); do
            info=\$('$cli' ${admin[*]} -p \$port info replication)
            grep -q '^role:master' <<<\"\$info\" && continue 2
            grep -q '^master_link_status:up' <<<\"\$info\" && continue 2
            sleep 0.1
        done
        exit 1
    done"

shard_masters=$(for n in $(seq 0 15); do master_of_slot "$("$cli" "${admin[@]}" -p "$first" cluster keyslot "crm:{s$n}:events")"; done | sort -u | wc -l)
check "the 16 shard tags of CRM_SHARDS=16 spread over all 3 masters" test "$shard_masters" = 3

pipeline=(--no-auth-warning -c --user pipeline --pass pipeline-dev-secret -h 127.0.0.1 -p "$first")
audit=(--no-auth-warning -c --user audit --pass audit-dev-secret -h 127.0.0.1 -p "$first")
check "pipeline appends events on every shard, following redirections" bash -c "
    for n in \$(seq 0 15); do '$cli' ${pipeline[*]} xadd \"crm:{s\$n}:events\" '*' envelope '{}' | grep -q -- - || exit 1; done"
check "pipeline reads the slot map (cluster-aware clients)" bash -c "'$cli' ${pipeline[*]} cluster slots | grep -q ."
check "pipeline may not append to the audit stream" bash -c "'$cli' ${pipeline[*]} xadd 'crm:{s3}:audit' '*' envelope '{}' 2>&1 | grep -q NOPERM"
check "audit may not touch tenant data" bash -c "'$cli' ${audit[*]} set 'crm:{s5}:t:acme:lead:L-1' x 2>&1 | grep -q NOPERM"
check "the default user cannot log in" bash -c "'$cli' --no-auth-warning -h 127.0.0.1 -p $first ping 2>&1 | grep -q NOAUTH"

probe='crm:{s7}:idem:pipeline:probe'
"$cli" "${pipeline[@]}" set "$probe" replicated >/dev/null
probe_master=$(master_of_slot "$("$cli" "${admin[@]}" -p "$first" cluster keyslot "$probe")")
probe_replica=$(awk -v m="$probe_master" '$4 == m { split($2, a, "[:@]"); print a[2] }' "$tmp/nodes.txt")
check "a write on a master reaches its replica" bash -c "
    for _ in \$(seq 1 50); do
        [[ \$(printf 'READONLY\nGET %s\n' '$probe' | '$cli' ${admin[*]} -p '$probe_replica' | tail -n 1) == replicated ]] && exit 0
        sleep 0.1
    done; exit 1"
echo "redis-cluster: $passed passed, $failed failed"
((failed == 0))
