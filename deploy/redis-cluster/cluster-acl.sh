#!/usr/bin/env bash
# Writes the ACL file of a Redis Cluster: deploy/users.acl, with the rights a cluster client needs
# added to every service user (learning the slot map, following redirections), plus two users the
# cluster itself needs: "replication" (replicas syncing from their master) and "cluster-admin"
# (creating and resharding the cluster, operators only).
#
#   deploy/redis-cluster/cluster-acl.sh > /etc/nexus-crm/users-cluster.acl
#
# Environment: REPLICATION_PASSWORD, CLUSTER_ADMIN_PASSWORD (default: the development passwords
# replication-dev-secret and cluster-admin-dev-secret, which are public), USERS_ACL (default:
# users.acl beside this folder).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
users_acl=${USERS_ACL:-$here/../users.acl}
hash() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }

# Slot map and redirections: CLUSTER SLOTS/SHARDS/NODES read the topology, ASKING follows a
# migrating slot, READONLY/READWRITE choose replicas for reads. None touches a key.
cluster_client_rights='+cluster|slots +cluster|shards +cluster|nodes +cluster|myid +asking +readonly +readwrite'

while IFS= read -r line || [[ -n $line ]]; do
    read -r -a words <<<"$line"
    if [[ ${#words[@]} -ge 2 && ${words[0]} == user && ${words[1]} != default ]]; then
        printf '%s %s\n' "$line" "$cluster_client_rights"
    else
        printf '%s\n' "$line"
    fi
done <"$users_acl"
printf 'user replication on #%s resetkeys resetchannels -@all +psync +sync +replconf +ping\n' "$(hash "${REPLICATION_PASSWORD:-replication-dev-secret}")"
printf 'user cluster-admin on #%s ~* &* +@all\n' "$(hash "${CLUSTER_ADMIN_PASSWORD:-cluster-admin-dev-secret}")"
