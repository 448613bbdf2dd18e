#!/usr/bin/env bash
# Joins six running, empty nodes into a cluster of 3 masters with one replica each.
#
#   deploy/redis-cluster/create-cluster.sh 10.0.0.1:7000 10.0.0.2:7000 10.0.0.3:7000 \
#                                          10.0.0.1:7001 10.0.0.2:7001 10.0.0.3:7001
#
# redis-cli makes the first three masters and places each replica on another host than its
# master when it can. Environment: CLUSTER_ADMIN_PASSWORD (default: the development password),
# REDIS_CLI (default: redis-cli).
set -euo pipefail
(($# == 6)) || { echo "usage: $0 HOST:PORT x 6 (3 masters first)" >&2; exit 2; }
cli=${REDIS_CLI:-redis-cli}
export REDISCLI_AUTH=${CLUSTER_ADMIN_PASSWORD:-cluster-admin-dev-secret}
"$cli" --user cluster-admin --cluster create "$@" --cluster-replicas 1 --cluster-yes
# Wait until every node reports the cluster up and knows the three replicas (roles spread by gossip).
for node in "$@"; do
    for _ in $(seq 1 300); do
        if "$cli" --user cluster-admin -h "${node%:*}" -p "${node##*:}" cluster info | grep -q '^cluster_state:ok' \
           && [[ $("$cli" --user cluster-admin -h "${node%:*}" -p "${node##*:}" cluster nodes | awk '$3 ~ /slave/' | wc -l) -eq 3 ]]; then
            continue 2
        fi
        sleep 0.1
    done
    echo "create-cluster: $node does not report cluster_state:ok with 3 replicas" >&2
    exit 1
done
"$cli" --user cluster-admin -h "${1%:*}" -p "${1##*:}" --cluster check "$1"
