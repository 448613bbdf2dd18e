#!/usr/bin/env bash
# make test-setup: what a new user does, on a clean clone of this checkout's HEAD: `make run`, look at
# the demo's events with `crmctl audit tail`, `make stop`, and check that no process is left behind.
# Not part of `make test` (it builds release binaries: a few minutes); run it before a release.
set -euo pipefail
cd "$(dirname "$0")/.."
clone=$(mktemp -d "${TMPDIR:-/tmp}/crm-new-user.XXXXXX")
trap 'cd /; (cd "$clone" && scripts/stop.sh >/dev/null 2>&1) || true; rm -rf "$clone"' EXIT
git clone -q . "$clone"
cd "$clone"
CRM_REDIS_PORT=${CRM_REDIS_PORT:-6479} CRM_HTTP_PORT=${CRM_HTTP_PORT:-8480} make run
source .run/env
events=$(crmctl audit tail --json --tenant acme | grep -c '"lead.created"' || true)
echo "audit tail shows $events lead.created events"
[[ $events -ge 6 ]] || { echo "FAIL: expected the demo's 6 leads in the audit trail"; exit 1; }
# The gateway answers with the demo API key that make run printed, and refuses without one.
http_port=$(cat .run/http-port)
status=$(curl -s -o /dev/null -w '%{http_code}' -H "authorization: Bearer $(cat .run/demo-api-key)" "http://127.0.0.1:$http_port/v1/tenants/acme/leads/L-1001")
[[ $status == 200 ]] || { echo "FAIL: the gateway answered $status with the demo key"; exit 1; }
status=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http_port/v1/tenants/acme/leads/L-1001")
[[ $status == 401 ]] || { echo "FAIL: the gateway answered $status without a key"; exit 1; }
echo "the gateway serves the demo key, and refuses requests without one"
# The dashboard, logged in with the demo key's cookie, lists the demo leads assigned to its user.
page=$(curl -s -H "cookie: crm_session=$(cat .run/demo-api-key)" "http://127.0.0.1:$http_port/")
grep -q 'href="/records/lead/L-201"' <<< "$page" || { echo "FAIL: the dashboard does not list the demo lead L-201"; exit 1; }
echo "the dashboard lists the demo leads"
make stop
sleep 0.5
left=$(pgrep -f "$clone/" || true)
[[ -z $left ]] || { echo "FAIL: processes left behind: $left"; exit 1; }
echo "new-user check: 4 passed, 0 failed"
