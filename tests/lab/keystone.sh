# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# A real OpenStack Keystone for tests: Debian 12's keystone (22.0, Zed) on
# 127.0.0.1 with SQLite and Fernet tokens, no Apache, no systemd; a
# "service" project with the users "placement" (for Placement's
# keystonemiddleware) and "footprintd", both admin there, and Placement in
# the catalog.  Source it after tests/lab/placement.sh.
#
# Pitfalls this works around:
#  - the WSGI app reads $OS_KEYSTONE_CONFIG_DIR/keystone.conf (keystone-manage
#    takes --config-file);
#  - SQLite in its default journal mode gives "database is locked" 500s as
#    soon as a read and a write overlap: the lab switches the database to WAL;
#  - fernet_setup and credential_setup want a user and group to own the keys;
#  - keystonemiddleware (in Placement) looks Keystone up at its *internal*
#    endpoint: bootstrap all three interfaces;
#  - the keystone package's postinst cannot start a service without an init
#    system: harmless ("policy-rc.d denied execution").

# Read by the scripts that source this file.
# shellcheck disable=SC2034
KEYSTONE_PACKAGES=(keystone sqlite3)
KEYSTONE_DIR=${KEYSTONE_DIR:-}
KEYSTONE_PORT=${KEYSTONE_PORT:-15000}
KEYSTONE_ADMIN_PASSWORD=keystone-lab-admin
KEYSTONE_INSTALL_S=
KEYSTONE_READY_S=
KS_BODY=
KS_HEADERS=

keystone_url() { echo "http://127.0.0.1:$KEYSTONE_PORT/v3"; }

# keystone_install: the packages (openstack_lab_install, placement.sh).
keystone_install() {
    KEYSTONE_INSTALL_S=$(openstack_lab_install "${KEYSTONE_PACKAGES[@]}")
}

# keystone_config: keystone.conf, a fresh database (WAL), keys, and the
# bootstrap admin with Keystone's own endpoints, in $KEYSTONE_DIR.
keystone_config() {
    : "${KEYSTONE_DIR:?}"
    local conf=$KEYSTONE_DIR/keystone.conf
    cat >"$conf" <<EOF
[DEFAULT]
use_stderr = true

[database]
connection = sqlite:///$KEYSTONE_DIR/keystone.db

[fernet_tokens]
key_repository = $KEYSTONE_DIR/fernet-keys

[credential]
key_repository = $KEYSTONE_DIR/credential-keys
EOF
    {
        keystone-manage --config-file "$conf" db_sync &&
            sqlite3 "$KEYSTONE_DIR/keystone.db" 'PRAGMA journal_mode=WAL;' &&
            keystone-manage --config-file "$conf" fernet_setup --keystone-user root \
                --keystone-group root &&
            keystone-manage --config-file "$conf" credential_setup --keystone-user root \
                --keystone-group root &&
            keystone-manage --config-file "$conf" bootstrap \
                --bootstrap-password "$KEYSTONE_ADMIN_PASSWORD" \
                --bootstrap-public-url "$(keystone_url)" --bootstrap-internal-url "$(keystone_url)" \
                --bootstrap-admin-url "$(keystone_url)" --bootstrap-region-id RegionOne
    } >>"$KEYSTONE_DIR/manage.log" 2>&1
}

# keystone_start: Keystone answering on $KEYSTONE_PORT within 15 s
# (lab_service_up, from placement.sh).
keystone_start() {
    : "${KEYSTONE_DIR:?}"
    local t0 pid
    t0=$(date +%s%N)
    OS_KEYSTONE_CONFIG_DIR=$KEYSTONE_DIR setsid /usr/bin/keystone-wsgi-public --host 127.0.0.1 \
        --port "$KEYSTONE_PORT" >>"$KEYSTONE_DIR/keystone.log" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$KEYSTONE_DIR/keystone.pid"
    KEYSTONE_READY_S=$(lab_service_up "$(keystone_url)" "$pid" "$KEYSTONE_DIR/keystone.log" "$t0" -f)
}

keystone_stop() {
    [ -n "$KEYSTONE_DIR" ] || return 0
    lab_service_stop "$KEYSTONE_DIR/keystone.pid"
}

# ks EXPECTED_CODE METHOD PATH TOKEN [JSON]: one Keystone request; the
# body goes to $KS_BODY, the headers to $KS_HEADERS.
ks() {
    local want=$1 m=$2 p=$3 token=$4 data=${5:-} code
    KS_HEADERS=$(mktemp)
    KS_BODY=$(curl -s -D "$KS_HEADERS" -o - -w '\n%{http_code}' -X "$m" \
        -H "Content-Type: application/json" ${token:+-H "X-Auth-Token: $token"} \
        ${data:+--data "$data"} "$(keystone_url)$p")
    code=${KS_BODY##*$'\n'}
    KS_BODY=${KS_BODY%$'\n'*}
    KS_HEADERS=$(cat "$KS_HEADERS" && rm -f "$KS_HEADERS")
    [ "$code" = "$want" ] || { echo "$m $p: HTTP $code, not $want: $KS_BODY" >&2; return 1; }
}
ks_json() { /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print($1)" <<<"$KS_BODY"; }

# keystone_token USER PASSWORD PROJECT: a project-scoped token on stdout.
keystone_token() {
    ks 201 POST /auth/tokens "" "{\"auth\": {\"identity\": {\"methods\": [\"password\"],
        \"password\": {\"user\": {\"name\": \"$1\", \"domain\": {\"name\": \"Default\"},
        \"password\": \"$2\"}}}, \"scope\": {\"project\": {\"name\": \"$3\",
        \"domain\": {\"name\": \"Default\"}}}}}" || return 1
    sed -n 's/^[Xx]-[Ss]ubject-[Tt]oken: *\([^[:space:]]*\).*/\1/p' <<<"$KS_HEADERS"
}

# keystone_setup_openstack PLACEMENT_URL FOOTPRINTD_PASSWORD: the project
# "service", its admins "placement" ($PLACEMENT_KEYSTONE_PASSWORD) and
# "footprintd", and Placement in the catalog (public, RegionOne).
keystone_setup_openstack() {
    local admin project role user svc
    admin=$(keystone_token admin "$KEYSTONE_ADMIN_PASSWORD" admin) || return 1
    ks 201 POST /projects "$admin" '{"project": {"name": "service", "domain_id": "default"}}' ||
        return 1
    project=$(ks_json 'd["project"]["id"]')
    ks 200 GET "/roles?name=admin" "$admin" || return 1
    role=$(ks_json 'd["roles"][0]["id"]')
    for user in "placement:$PLACEMENT_KEYSTONE_PASSWORD" "footprintd:$2"; do
        ks 201 POST /users "$admin" "{\"user\": {\"name\": \"${user%%:*}\",
            \"password\": \"${user#*:}\", \"domain_id\": \"default\"}}" || return 1
        ks 204 PUT "/projects/$project/users/$(ks_json 'd["user"]["id"]')/roles/$role" "$admin" ||
            return 1
    done
    ks 201 POST /services "$admin" '{"service": {"name": "placement", "type": "placement"}}' ||
        return 1
    svc=$(ks_json 'd["service"]["id"]')
    ks 201 POST /endpoints "$admin" "{\"endpoint\": {\"service_id\": \"$svc\",
        \"interface\": \"public\", \"region_id\": \"RegionOne\", \"url\": \"$1\"}}"
}

# keystone_application_credential USER PASSWORD: "ID SECRET" of a new
# application credential of USER in project "service".
keystone_application_credential() {
    local token uid
    token=$(keystone_token "$1" "$2" service) || return 1
    ks 200 GET "/users?name=$1" "$token" || return 1
    uid=$(ks_json 'd["users"][0]["id"]')
    ks 201 POST "/users/$uid/application_credentials" "$token" \
        '{"application_credential": {"name": "footprintd-lab"}}' || return 1
    ks_json 'd["application_credential"]["id"] + " " + d["application_credential"]["secret"]'
}
