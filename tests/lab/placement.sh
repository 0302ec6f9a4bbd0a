# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# A real OpenStack Placement API for tests: Debian 12's placement-api
# (8.0.0, Zed) on 127.0.0.1 with SQLite and noauth2, no systemd, no MySQL,
# no Keystone; and the curl/openstack helpers to drive it the way
# nova-compute does.  Source it, or run it:
#
#   bash tests/lab/placement.sh install          # the packages (~45 s the first time)
#   PLACEMENT_DIR=/tmp/p PLACEMENT_PORT=18778 bash tests/lab/placement.sh start
#   PLACEMENT_DIR=/tmp/p bash tests/lab/placement.sh stop
#
# Pitfalls this works around (each cost an afternoon once):
#  - the WSGI app reads $OS_PLACEMENT_CONFIG_DIR/placement.conf only; its
#    --config-file is ignored (placement-manage does take it);
#  - [oslo_policy] policy_dirs must name an empty directory: empty, it makes
#    oslo.policy read every file of the config dir as a policy and the app
#    does not start;
#  - SQLite wants the single-threaded server (pbr's wsgiref entry point, as
#    here); uWSGI with workers gives "database is locked" 500s;
#  - noauth2 wants X-Auth-Token: admin; the openstack CLI needs
#    --os-auth-type admin_token --os-token admin --os-endpoint URL and
#    OS_PLACEMENT_API_VERSION (forbidden traits need >= 1.22);
#  - /usr/bin/python3: a pyenv or venv python3 does not see Debian's modules;
#  - --no-install-recommends: the Recommends pull gtk and gnome-keyring.

PLACEMENT_PACKAGES=(placement-api python3-osc-placement curl)
PLACEMENT_DIR=${PLACEMENT_DIR:-}
PLACEMENT_PORT=${PLACEMENT_PORT:-18778}
PLACEMENT_PY=/usr/bin/python3
PLACEMENT_INSTALL_S=
PLACEMENT_READY_S=

placement_url() { echo "http://127.0.0.1:$PLACEMENT_PORT"; }

# openstack_lab_install PKG...: installs those of PKG that are missing,
# quietly and idempotently, and prints how many seconds it took.  Returns 1
# (with the reason on stderr) when apt-get cannot install them (no network,
# no mirror): the caller skips.  debconf's defaults (configure_db=false,
# ...) ask nothing; without a running init system the postinsts'
# "invoke-rc.d ... || true" fail harmlessly.
openstack_lab_install() {
    local missing=() p t0=$SECONDS
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
            missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        export DEBIAN_FRONTEND=noninteractive
        if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
            apt-get update -q >/dev/null 2>&1 || { echo "apt-get update failed" >&2; return 1; }
            apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
                { echo "apt-get install ${missing[*]} failed" >&2; return 1; }
        fi
    fi
    echo $((SECONDS - t0))
}

# placement_install: the packages (openstack_lab_install).
placement_install() {
    PLACEMENT_INSTALL_S=$(openstack_lab_install "${PLACEMENT_PACKAGES[@]}")
}

# placement_config: placement.conf and a fresh SQLite database in
# $PLACEMENT_DIR.  With PLACEMENT_KEYSTONE_URL set (tests/lab/keystone.sh),
# tokens are checked by that Keystone (keystonemiddleware, service user
# "placement", password $PLACEMENT_KEYSTONE_PASSWORD) instead of noauth2.
PLACEMENT_KEYSTONE_URL=${PLACEMENT_KEYSTONE_URL:-}
PLACEMENT_KEYSTONE_PASSWORD=${PLACEMENT_KEYSTONE_PASSWORD:-placement-secret}
placement_config() {
    : "${PLACEMENT_DIR:?}"
    local auth=noauth2
    [ -z "$PLACEMENT_KEYSTONE_URL" ] || auth=keystone
    mkdir -p "$PLACEMENT_DIR/policy.d"
    cat >"$PLACEMENT_DIR/placement.conf" <<EOF
[DEFAULT]
debug = false
use_stderr = true

[api]
auth_strategy = $auth

[placement_database]
connection = sqlite:///$PLACEMENT_DIR/placement.db

[oslo_policy]
policy_dirs = $PLACEMENT_DIR/policy.d
EOF
    [ -z "$PLACEMENT_KEYSTONE_URL" ] || cat >>"$PLACEMENT_DIR/placement.conf" <<EOF

[keystone_authtoken]
www_authenticate_uri = $PLACEMENT_KEYSTONE_URL
auth_url = $PLACEMENT_KEYSTONE_URL
auth_type = password
project_name = service
project_domain_name = Default
user_domain_name = Default
username = placement
password = $PLACEMENT_KEYSTONE_PASSWORD
EOF
    rm -f "$PLACEMENT_DIR/placement.db"
    placement-manage --config-file "$PLACEMENT_DIR/placement.conf" db sync >/dev/null 2>&1
}

# lab_service_up URL PID LOG T0-NS [CURL-OPTION]: the service started at
# T0-NS (date +%s%N) as PID answers URL within 15 s; prints how long it
# took, in seconds.  Else the tail of LOG, and 1.  (Also for keystone.sh.)
lab_service_up() {
    local url=$1 pid=$2 log=$3 t0=$4 opt=${5:-}
    for _ in $(seq 300); do
        # shellcheck disable=SC2086 # opt is one option or none
        if curl $opt -s -o /dev/null "$url"; then
            awk -v n="$(($(date +%s%N) - t0))" 'BEGIN { printf "%.2f", n / 1e9 }'
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || { tail -20 "$log" >&2; return 1; }
        sleep 0.05
    done
    echo "$url: not answering after 15 s" >&2
    tail -20 "$log" >&2
    return 1
}

# lab_service_stop PIDFILE: the process it names is gone (TERM, then KILL
# after 2.5 s), and so is the file.
lab_service_stop() {
    local pid
    [ -s "$1" ] || return 0
    pid=$(cat "$1")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$1"
}

# placement_start: the API on 127.0.0.1:$PLACEMENT_PORT, answering within
# 15 s; sets PLACEMENT_READY_S.
placement_start() {
    : "${PLACEMENT_DIR:?}"
    local t0 pid
    t0=$(date +%s%N)
    OS_PLACEMENT_CONFIG_DIR=$PLACEMENT_DIR setsid /usr/bin/placement-api --host 127.0.0.1 \
        --port "$PLACEMENT_PORT" >>"$PLACEMENT_DIR/placement-api.log" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$PLACEMENT_DIR/placement-api.pid"
    # The root answers 200 (noauth2) or 401 (keystone): either is up.
    PLACEMENT_READY_S=$(lab_service_up "$(placement_url)/" "$pid" "$PLACEMENT_DIR/placement-api.log" "$t0")
}

# placement_stop: the API is gone (connections refused).
placement_stop() {
    [ -n "$PLACEMENT_DIR" ] || return 0
    lab_service_stop "$PLACEMENT_DIR/placement-api.pid"
}

# pl EXPECTED_CODE METHOD PATH [JSON]: one request as nova-compute makes
# it (token $PL_TOKEN, default "admin" for noauth2); the body goes to
# $PL_BODY; returns 1 on another status.
PL_BODY=
pl() {
    local want=$1 m=$2 p=$3 data=${4:-} out code
    out=$(curl -s -w '\n%{http_code}' -X "$m" -H "X-Auth-Token: ${PL_TOKEN:-admin}" \
        -H "OpenStack-API-Version: placement 1.39" -H "Content-Type: application/json" \
        -H "Accept: application/json" ${data:+--data "$data"} "$(placement_url)$p")
    code=${out##*$'\n'}
    PL_BODY=${out%$'\n'*}
    [ "$code" = "$want" ] || { echo "$m $p: HTTP $code, not $want: $PL_BODY" >&2; return 1; }
}

# pl_json EXPR: EXPR of the last body, d being the parsed JSON.
pl_json() { "$PLACEMENT_PY" -c "import json,sys; d=json.load(sys.stdin); print($1)" <<<"$PL_BODY"; }

# placement_add_compute NAME UUID: a compute node's provider with the
# inventories nova-compute reports.
placement_add_compute() {
    local gen
    pl 200 POST /resource_providers "{\"name\": \"$1\", \"uuid\": \"$2\"}" || return 1
    gen=$(pl_json 'd["generation"]')
    pl 200 PUT "/resource_providers/$2/inventories" "{\"resource_provider_generation\": $gen,
      \"inventories\": {
      \"VCPU\": {\"total\": 16, \"reserved\": 0, \"min_unit\": 1, \"max_unit\": 16, \"step_size\": 1, \"allocation_ratio\": 4.0},
      \"MEMORY_MB\": {\"total\": 65536, \"reserved\": 512, \"min_unit\": 1, \"max_unit\": 65536, \"step_size\": 1, \"allocation_ratio\": 1.5}}}"
}

# placement_traits UUID: the provider's traits, sorted, comma-separated.
placement_traits() {
    pl 200 GET "/resource_providers/$1/traits" || return 1
    pl_json '",".join(sorted(d["traits"]))'
}

# placement_set_traits UUID TRAIT...: read-modify-write as an operator's
# `openstack resource provider trait set` does (replaces the list).
placement_set_traits() {
    local uuid=$1 gen list
    shift
    pl 200 GET "/resource_providers/$uuid/traits" || return 1
    gen=$(pl_json 'd["resource_provider_generation"]')
    list=$(printf '"%s",' "$@")
    pl 200 PUT "/resource_providers/$uuid/traits" \
        "{\"resource_provider_generation\": $gen, \"traits\": [${list%,}]}"
}

# placement_candidates QUERY: the providers of GET /allocation_candidates?QUERY, sorted.
placement_candidates() {
    pl 200 GET "/allocation_candidates?$1" || return 1
    pl_json '",".join(sorted(d["provider_summaries"]))'
}

# placement_cli ARGS...: the openstack CLI against the lab.
placement_cli() {
    OS_AUTH_TYPE=admin_token OS_TOKEN=admin OS_ENDPOINT=$(placement_url) \
        OS_PLACEMENT_API_VERSION=1.39 openstack "$@"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    case ${1:-} in
    install) placement_install && echo "installed in ${PLACEMENT_INSTALL_S}s" ;;
    start) placement_config && placement_start && echo "ready at $(placement_url) after ${PLACEMENT_READY_S}s" ;;
    stop) placement_stop ;;
    *) echo "usage: $0 install|start|stop" >&2; exit 2 ;;
    esac
fi
