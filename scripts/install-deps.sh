#!/usr/bin/env bash
# Installs what building, running and testing need and is missing: redis-server, redis-tools,
# libhiredis-dev and systemd-analyze from Debian, chromium and chromium-driver for the browser test,
# Python's jsonschema for the contract checks, aiosmtpd for the email tests, selenium for the browser
# test, kubernetes-validate and check-jsonschema (bundled Kubernetes and compose schemas) for the
# deployment checks. Uses sudo when not root.
set -euo pipefail

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi

missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v redis-cli >/dev/null || missing+=(redis-tools)
[[ -f /usr/include/hiredis/hiredis.h ]] || missing+=(libhiredis-dev)
command -v systemd-analyze >/dev/null || missing+=(systemd)
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
[[ -x /usr/bin/chromedriver ]] || missing+=(chromium-driver)
if ((${#missing[@]})); then
    echo "installing ${missing[*]}"
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# The packaged redis-server unit may have started a server on 6379; ours run on their own ports.

if ! python3 -c 'import jsonschema, referencing, rfc3339_validator' 2>/dev/null; then
    echo "installing jsonschema and rfc3339-validator for python3"
    python3 -m pip install --quiet jsonschema rfc3339-validator 2>/dev/null \
        || python3 -m pip install --quiet --break-system-packages jsonschema rfc3339-validator
fi
if ! python3 -c 'import aiosmtpd' 2>/dev/null; then
    echo "installing aiosmtpd for python3 (the SMTP sink of the email tests)"
    python3 -m pip install --quiet aiosmtpd 2>/dev/null || python3 -m pip install --quiet --break-system-packages aiosmtpd
fi
if ! python3 -c 'import kubernetes_validate, check_jsonschema, yaml' 2>/dev/null; then
    echo "installing kubernetes-validate and check-jsonschema for python3 (offline schemas of make test-deploy)"
    python3 -m pip install --quiet kubernetes-validate check-jsonschema pyyaml 2>/dev/null \
        || python3 -m pip install --quiet --break-system-packages kubernetes-validate check-jsonschema pyyaml
fi
if ! python3 -c 'import selenium' 2>/dev/null; then
    echo "installing selenium for python3 (the browser test of the gateway's pages)"
    python3 -m pip install --quiet selenium 2>/dev/null || python3 -m pip install --quiet --break-system-packages selenium
fi
command -v swift >/dev/null || { echo "swift is not on PATH: install Swift 6.1 or newer (see README.md)" >&2; exit 1; }
