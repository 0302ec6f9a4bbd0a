#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The Placement client's Keystone auth against a real Keystone (Debian's
# keystone: SQLite, Fernet, keystone-manage bootstrap; tests/lab/keystone.sh)
# in front of a real Placement that checks tokens with keystonemiddleware:
#  - auth=password, [placement] url empty: a project-scoped token, Placement's
#    endpoint from the token's catalog, the trait set;
#  - auth=application_credential: the trait changed;
#  - a wrong password: retried with backoff, the health names Keystone's 401.
# Exit 77 only when the packages cannot be installed.
set -euo pipefail
: "${FP_SRCDIR:?}" "${FP_BUILDDIR:?}"
# shellcheck source=../lib/lab.sh
. "$FP_SRCDIR/tests/lib/lab.sh"
# shellcheck source=../lab/placement.sh
. "$FP_SRCDIR/tests/lab/placement.sh"
# shellcheck source=../lab/keystone.sh
. "$FP_SRCDIR/tests/lab/keystone.sh"

[ "$(id -u)" = 0 ] || lab_skip "needs root (apt-get install ${KEYSTONE_PACKAGES[*]})"
placement_install || lab_skip "cannot install ${PLACEMENT_PACKAGES[*]} (no package mirror?)"
keystone_install || lab_skip "cannot install ${KEYSTONE_PACKAGES[*]} (no package mirror?)"
echo "# packages: ${PLACEMENT_INSTALL_S}s (placement) + ${KEYSTONE_INSTALL_S}s (keystone) to install"

LAB=$(mktemp -d /tmp/fp-keystone-lab.XXXXXX)
KEYSTONE_DIR=$LAB/keystone
PLACEMENT_DIR=$LAB/placement
KEYSTONE_PORT=${FP_KEYSTONE_PORT:-$(lab_free_port)}
PLACEMENT_PORT=${FP_PLACEMENT_PORT:-$(lab_free_port)}
PLACEMENT_KEYSTONE_URL=$(keystone_url)
FP_PASSWORD=footprintd-lab-secret
DRIVE_PID=
OUT=$LAB/drive.out
mkdir -p "$KEYSTONE_DIR" "$PLACEMENT_DIR" "$LAB/run"

cleanup() {
    local rc=$?
    set +e
    exec 3>&- 2>/dev/null || true
    placement_stop
    keystone_stop
    [ -z "$DRIVE_PID" ] || { kill "$DRIVE_PID" 2>/dev/null; wait "$DRIVE_PID" 2>/dev/null; } || true
    if [ "$rc" != 0 ]; then
        echo "# placement-drive:"; tail -5 "$OUT" 2>/dev/null | sed 's/^/#   /'
        tail -5 "$LAB/drive.err" 2>/dev/null | sed 's/^/#   /'
        echo "# keystone:"; grep -E 'ERROR|WARNING' "$KEYSTONE_DIR/keystone.log" 2>/dev/null | tail -5 | sed 's/^/#   /'
        echo "# placement:"; tail -5 "$PLACEMENT_DIR/placement-api.log" 2>/dev/null | sed 's/^/#   /'
    fi
    rm -rf "$LAB"
}
trap cleanup EXIT

t0=$SECONDS
keystone_config || lab_fail "keystone-manage failed: $(tail -5 "$KEYSTONE_DIR/manage.log")"
keystone_start || lab_fail "keystone did not start"
keystone_setup_openstack "$(placement_url)" "$FP_PASSWORD" || lab_fail "cannot set Keystone up"
placement_config || lab_fail "placement-manage db sync failed"
placement_start || lab_fail "placement-api did not start"
echo "# keystone ready ${KEYSTONE_READY_S}s after start, placement ${PLACEMENT_READY_S}s; whole setup $((SECONDS - t0))s"

CN=fp-lab-compute-1.example.org
CN_UUID=11111111-1111-4111-8111-111111111111
PL_TOKEN=not-a-token pl 401 GET /resource_providers || lab_fail "Placement does not check tokens"
PL_TOKEN=$(keystone_token footprintd "$FP_PASSWORD" service) || lab_fail "no token for footprintd"
export PL_TOKEN
placement_add_compute "$CN" "$CN_UUID" || lab_fail "cannot create $CN"

# run_drive AUTH-KEYS...: placement-drive with [placement] AUTH-KEYS.
run_drive() {
    [ -z "$DRIVE_PID" ] || { send quit; wait "$DRIVE_PID" || true; DRIVE_PID=; exec 3>&-; }
    {
        printf '[agent]\nruntime_dir=%s\n[placement]\nprovider=%s\n' "$LAB/run" "$CN"
        printf 'retry_max=2\ntimeout=5\nhold=0\nmature_after=0\n'
        printf '%s\n' "$@"
    } >"$LAB/footprintd.conf"
    rm -f "$LAB/drive.in" && mkfifo "$LAB/drive.in"
    "$FP_BUILDDIR/tests/integration/placement-drive" --config "$LAB/footprintd.conf" \
        --interval 200 <"$LAB/drive.in" >"$OUT" 2>"$LAB/drive.err" &
    DRIVE_PID=$!
    exec 3>"$LAB/drive.in"
}
send() { echo "$*" >&3; }
health() {
    tail -n1 "$OUT" 2>/dev/null | "$PY" -c "import json, sys
line = sys.stdin.read().strip()
print(json.loads(line)['$1'] if line else '')"
}
has() { [ "$(placement_traits "$CN_UUID")" = "$1" ] && [ "$(health state)" = synced ]; }
VM=6b1f2c55-0b0e-4c3a-9d5e-0a0000000001

run_drive auth=password "auth_url=$(keystone_url)" username=footprintd "password=$FP_PASSWORD" \
    project_name=service
send "vm $VM web-1 latency 2e6 3e6 0.02"
lab_wait_for 30 has CUSTOM_FOOTPRINT_QUIET ||
    lab_fail "password: '$(placement_traits "$CN_UUID")', state $(health state): $(health error)"
grep -q "endpoint from Keystone's catalog: $(placement_url)" "$LAB/drive.err" ||
    lab_fail "the endpoint did not come from the catalog: $(cat "$LAB/drive.err")"
echo "ok - auth=password, url from Keystone's catalog: CUSTOM_FOOTPRINT_QUIET set through keystonemiddleware"

read -r AC_ID AC_SECRET < <(keystone_application_credential footprintd "$FP_PASSWORD") ||
    lab_fail "no application credential"
run_drive auth=application_credential "auth_url=$(keystone_url)" \
    "application_credential_id=$AC_ID" "application_credential_secret=$AC_SECRET" \
    "url=$(placement_url)"
send "vm $VM spark-1 throughput 1e6 100e6 0.95"
lab_wait_for 30 has CUSTOM_FOOTPRINT_ELEPHANTS ||
    lab_fail "application credential: '$(placement_traits "$CN_UUID")', state $(health state): $(health error)"
echo "ok - auth=application_credential: CUSTOM_FOOTPRINT_ELEPHANTS"

run_drive auth=password "auth_url=$(keystone_url)" username=footprintd password=wrong \
    project_name=service
send "vm $VM web-1 latency 2e6 3e6 0.02"
refused() { [ "$(health state)" = retrying ] && [ "$(health failures)" -ge 2 ]; }
lab_wait_for 30 refused || lab_fail "a wrong password: $(tail -n1 "$OUT")"
error=$(health error)
grep -q "^Keystone token: HTTP 401" <<<"$error" || lab_fail "health error: $error"
[ "$(placement_traits "$CN_UUID")" = CUSTOM_FOOTPRINT_ELEPHANTS ] || lab_fail "the traits changed"
echo "ok - a wrong password: retried with backoff, the health says: $error"
send quit
wait "$DRIVE_PID" || lab_fail "placement-drive exited with an error"
DRIVE_PID=
echo "PASS: keystone lab"
