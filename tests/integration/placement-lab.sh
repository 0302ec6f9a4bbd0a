#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The Placement consumers against a real OpenStack Placement (Debian's
# placement-api, SQLite, noauth2, 127.0.0.1; tests/lab/placement.sh):
# two compute-node providers created as nova-compute creates them, one with
# nova's traits and an operator's; placement-drive feeds fixture snapshots
# through the host summary, the Placement client and the hints file, as
# main.c does.  Checked with curl and the openstack CLI:
#  - the summary's trait appears, the others' traits are untouched;
#  - allocation candidates with required/forbidden traits select the host
#    as a flavor's trait:CUSTOM_FOOTPRINT_*=required/forbidden would;
#  - a writer bumping the provider generation meanwhile (409s) is retried:
#    one races freely, and tests/lab/placement-race-proxy.py, between the
#    agent and Placement, makes another client write between the agent's
#    read and its write twice, so Placement's 409 is certain, not luck;
#  - Placement stopped: retries with backoff, the health says so; started
#    again: converges;
#  - hints.json says the same.
# Exit 77 only when the packages cannot be installed.  FP_PLACEMENT_PORT
# chooses the port (default 18778, else a free one).
set -euo pipefail
: "${FP_SRCDIR:?}" "${FP_BUILDDIR:?}"
# shellcheck source=../lib/lab.sh
. "$FP_SRCDIR/tests/lib/lab.sh"
# shellcheck source=../lab/placement.sh
. "$FP_SRCDIR/tests/lab/placement.sh"

[ "$(id -u)" = 0 ] || lab_skip "needs root (apt-get install ${PLACEMENT_PACKAGES[*]})"
placement_install || lab_skip "cannot install ${PLACEMENT_PACKAGES[*]} (no package mirror?)"
echo "# packages: ${PLACEMENT_INSTALL_S}s to install"

PLACEMENT_DIR=$(mktemp -d /tmp/fp-placement-lab.XXXXXX)
if [ -n "${FP_PLACEMENT_PORT:-}" ]; then
    PLACEMENT_PORT=$FP_PLACEMENT_PORT
elif curl -s -o /dev/null "http://127.0.0.1:18778/"; then
    PLACEMENT_PORT=$(lab_free_port)
else
    PLACEMENT_PORT=18778
fi
DRIVE_PID=
BUMP_PID=
PROXY_PID=
OUT=$PLACEMENT_DIR/drive.out

cleanup() {
    local rc=$?
    set +e
    exec 3>&- 2>/dev/null || true
    # placement-api is a child of this shell too: stopped, not waited for.
    placement_stop
    proxy_stop
    [ -z "$BUMP_PID" ] || { kill "$BUMP_PID" 2>/dev/null; wait "$BUMP_PID" 2>/dev/null; } || true
    [ -z "$DRIVE_PID" ] || { kill "$DRIVE_PID" 2>/dev/null; wait "$DRIVE_PID" 2>/dev/null; } || true
    if [ "$rc" != 0 ]; then
        echo "# placement-drive's last lines:"
        tail -5 "$OUT" 2>/dev/null | sed 's/^/#   /'
        sed 's/^/#   /' "$PLACEMENT_DIR/drive.err" 2>/dev/null | tail -10
        echo "# placement-api's log:"
        tail -10 "$PLACEMENT_DIR/placement-api.log" 2>/dev/null | sed 's/^/#   /'
    fi
    rm -rf "$PLACEMENT_DIR"
}
trap cleanup EXIT

# The agent reaches Placement through the race proxy, which is stopped and
# started with it (connections refused means Placement is down, as the
# agent sees it).
PROXY_PORT=$(lab_free_port)
proxy_start() {
    "$PY" "$FP_SRCDIR/tests/lab/placement-race-proxy.py" "$PROXY_PORT" "$(placement_url)" \
        "$PLACEMENT_DIR/race.arm" >"$PLACEMENT_DIR/proxy.out" 2>>"$PLACEMENT_DIR/proxy.log" &
    PROXY_PID=$!
    lab_wait_for 10 grep -q listening "$PLACEMENT_DIR/proxy.out"
}
proxy_stop() {
    [ -z "$PROXY_PID" ] || { kill "$PROXY_PID" 2>/dev/null; wait "$PROXY_PID" 2>/dev/null; } || true
    PROXY_PID=
}

placement_config || lab_fail "placement-manage db sync failed"
placement_start || lab_fail "placement-api did not start"
echo "# placement-api: ready ${PLACEMENT_READY_S}s after start, $(placement_url)"
proxy_start || lab_fail "the race proxy did not start: $(cat "$PLACEMENT_DIR/proxy.log")"

# ---- the providers, as nova-compute registers them ----------------------
CN1=fp-lab-compute-1.example.org
CN1_UUID=11111111-1111-4111-8111-111111111111
CN2=fp-lab-compute-2.example.org
CN2_UUID=22222222-2222-4222-8222-222222222222
placement_add_compute "$CN1" "$CN1_UUID" || lab_fail "cannot create $CN1"
placement_add_compute "$CN2" "$CN2_UUID" || lab_fail "cannot create $CN2"
# nova-compute's libvirt driver reports capability traits; an operator
# sets a custom one of their own.
pl 201 PUT /traits/CUSTOM_OPERATOR_GOLD || lab_fail "cannot create CUSTOM_OPERATOR_GOLD"
pl 201 PUT /traits/CUSTOM_LAB_RACE || lab_fail "cannot create CUSTOM_LAB_RACE"
placement_set_traits "$CN1_UUID" COMPUTE_NET_VIF_MODEL_VIRTIO HW_CPU_X86_AVX2 \
    CUSTOM_OPERATOR_GOLD || lab_fail "cannot set $CN1's traits"
placement_set_traits "$CN2_UUID" COMPUTE_NET_VIF_MODEL_VIRTIO || lab_fail "cannot set $CN2's traits"
OTHERS=COMPUTE_NET_VIF_MODEL_VIRTIO,CUSTOM_OPERATOR_GOLD,HW_CPU_X86_AVX2
sorted() { tr ',' '\n' <<<"$1" | sort | paste -sd,; }

# ---- the agent's consumers ----------------------------------------------
mkdir -p "$PLACEMENT_DIR/run"
cat >"$PLACEMENT_DIR/footprintd.conf" <<EOF
[agent]
runtime_dir=$PLACEMENT_DIR/run
[placement]
url=http://127.0.0.1:$PROXY_PORT
auth=token
token=admin
provider=$CN1
timeout=2
retry_max=2
resync=10
egress_capacity_mbit=1000
elephant_load=0.3
hold=0
mature_after=1
EOF
mkfifo "$PLACEMENT_DIR/drive.in"
"$FP_BUILDDIR/tests/integration/placement-drive" --config "$PLACEMENT_DIR/footprintd.conf" \
    --interval 200 <"$PLACEMENT_DIR/drive.in" >"$OUT" 2>"$PLACEMENT_DIR/drive.err" &
DRIVE_PID=$!
exec 3>"$PLACEMENT_DIR/drive.in"
send() { echo "$*" >&3; }
# health FIELD: the field of placement-drive's latest health line.
health() {
    tail -n1 "$OUT" 2>/dev/null | "$PY" -c "import json, sys
line = sys.stdin.read().strip()
print(json.loads(line)['$1'] if line else '')"
}
# has_traits LIST: CN1 has these traits, and the agent's latest health line
# says it wrote its own (placement-drive prints it up to 200 ms later:
# its counters are then those of that write).
has_traits() {
    [ "$(placement_traits "$CN1_UUID")" = "$(sorted "$1")" ] && [ "$(health state)" = synced ] &&
        [ "$(health traits)" = "$(grep -o 'CUSTOM_FOOTPRINT_[A-Z]*' <<<"$1")" ]
}

WEB=6b1f2c55-0b0e-4c3a-9d5e-0a0000000001
BULK=6b1f2c55-0b0e-4c3a-9d5e-0a0000000002
send "vm $WEB web-1 latency 2e6 3e6 0.02"
lab_wait_for 20 has_traits "$OTHERS,CUSTOM_FOOTPRINT_QUIET" ||
    lab_fail "CN1 has '$(placement_traits "$CN1_UUID")', state $(health state): $(health error)"
echo "ok - a latency VM: $CN1 gets CUSTOM_FOOTPRINT_QUIET; nova's and the operator's traits stay"
placement_cli resource provider trait list "$CN1_UUID" -f value | sort | paste -sd, |
    grep -qx "$(sorted "$OTHERS,CUSTOM_FOOTPRINT_QUIET")" ||
    lab_fail "openstack resource provider trait list disagrees"
[ "$(placement_traits "$CN2_UUID")" = COMPUTE_NET_VIF_MODEL_VIRTIO ] || lab_fail "CN2 was touched"
echo "ok - openstack resource provider trait list shows it; $CN2 untouched"

# A flavor with trait:CUSTOM_FOOTPRINT_QUIET=required is offered CN1 only.
[ "$(placement_candidates 'resources=VCPU:1&required=CUSTOM_FOOTPRINT_QUIET')" = "$CN1_UUID" ] ||
    lab_fail "required=CUSTOM_FOOTPRINT_QUIET: $(pl_json 'sorted(d["provider_summaries"])')"
[ "$(placement_candidates 'resources=VCPU:1')" = "$CN1_UUID,$CN2_UUID" ] || lab_fail "both hosts?"
cli=$(placement_cli allocation candidate list --resource VCPU=1 --required CUSTOM_FOOTPRINT_QUIET \
    -f value -c 'resource provider' | sort -u | paste -sd,)
[ "$cli" = "$CN1_UUID" ] || lab_fail "openstack allocation candidate list --required: '$cli'"
echo "ok - GET /allocation_candidates?required=CUSTOM_FOOTPRINT_QUIET (and the CLI) offers $CN1 only"

send "vm $BULK spark-1 throughput 1e6 100e6 0.95"
lab_wait_for 20 has_traits "$OTHERS,CUSTOM_FOOTPRINT_ELEPHANTS" ||
    lab_fail "CN1 has '$(placement_traits "$CN1_UUID")', state $(health state): $(health error)"
[ -z "$(placement_candidates 'resources=VCPU:1&required=CUSTOM_FOOTPRINT_QUIET')" ] ||
    lab_fail "QUIET still offered"
[ "$(placement_candidates 'resources=VCPU:1&required=!CUSTOM_FOOTPRINT_ELEPHANTS')" = "$CN2_UUID" ] ||
    lab_fail "forbidden ELEPHANTS offers: $(pl_json 'sorted(d["provider_summaries"])')"
cli=$(placement_cli allocation candidate list --resource VCPU=1 --forbidden CUSTOM_FOOTPRINT_ELEPHANTS \
    -f value -c 'resource provider' | sort -u | paste -sd,)
[ "$cli" = "$CN2_UUID" ] || lab_fail "openstack allocation candidate list --forbidden: '$cli'"
echo "ok - a throughput VM: CUSTOM_FOOTPRINT_ELEPHANTS; QUIET=required offers no host, ELEPHANTS=forbidden only $CN2"

# ---- a concurrent writer bumps the generation ---------------------------
# Another client (as nova-compute's periodic update) rewrites CN1's traits
# as fast as Placement answers, toggling its own CUSTOM_LAB_RACE, while the
# summary's trait flips; at the end it takes its trait away again.
"$PY" - "$(placement_url)" "$CN1_UUID" "$PLACEMENT_DIR/bump.stop" >"$PLACEMENT_DIR/bump.out" 2>&1 <<'EOF' &
import json, os, sys, urllib.request, urllib.error
url, uuid, stop = sys.argv[1:]
H = {"X-Auth-Token": "admin", "OpenStack-API-Version": "placement 1.39",
     "Content-Type": "application/json", "Accept": "application/json"}
def call(method, body=None):
    req = urllib.request.Request(f"{url}/resource_providers/{uuid}/traits", method=method,
                                 headers=H, data=json.dumps(body).encode() if body else None)
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, None
writes = conflicts = 0
while True:
    done = os.path.exists(stop)
    _, d = call("GET")
    traits = set(d["traits"])
    if done and "CUSTOM_LAB_RACE" not in traits:
        break
    traits ^= {"CUSTOM_LAB_RACE"} if not done else traits & {"CUSTOM_LAB_RACE"}
    code, _ = call("PUT", {"resource_provider_generation": d["resource_provider_generation"],
                           "traits": sorted(traits)})
    writes += code == 200
    conflicts += code == 409
print(f"bumper: {writes} writes, {conflicts} conflicts")
EOF
BUMP_PID=$!
for i in 1 2 3 4 5 6; do
    send "drop $BULK"
    sleep 0.4
    send "vm $BULK spark-1 throughput 1e6 100e6 0.95"
    sleep 0.4
done
touch "$PLACEMENT_DIR/bump.stop"
wait "$BUMP_PID" || lab_fail "the bumper failed: $(cat "$PLACEMENT_DIR/bump.out")"
BUMP_PID=
echo "# $(cat "$PLACEMENT_DIR/bump.out")"
send sync
lab_wait_for 20 has_traits "$OTHERS,CUSTOM_FOOTPRINT_ELEPHANTS" ||
    lab_fail "after the bumps CN1 has '$(placement_traits "$CN1_UUID")', state $(health state): $(health error)"
echo "ok - converged on ELEPHANTS beside a free-running writer, the others' traits intact ($(health conflicts) 409s met)"

# ---- another client wins the race, on purpose ---------------------------
# The free-running writer above meets the agent's window between its read
# and its write only by luck (the agent's is short).  The race proxy makes
# another client write in that window on the agent's next two writes, so
# the real Placement answers 409 twice; the agent reads again each time.
before=$(health conflicts)
echo 2 >"$PLACEMENT_DIR/race.arm"
send "drop $BULK"
lab_wait_for 20 has_traits "$OTHERS,CUSTOM_FOOTPRINT_QUIET" ||
    lab_fail "after the raced writes CN1 has '$(placement_traits "$CN1_UUID")', state $(health state): $(health error); proxy: $(tail -5 "$PLACEMENT_DIR/proxy.log")"
raced=$(wc -l <"$PLACEMENT_DIR/race.arm.done" 2>/dev/null || echo 0)
[ "$raced" = 2 ] || lab_fail "the proxy's other client wrote $raced times, not 2: $(tail -5 "$PLACEMENT_DIR/proxy.log")"
after=$(health conflicts)
[ "$((after - before))" -ge 2 ] ||
    lab_fail "$((after - before)) 409s counted after 2 writes between the agent's read and write"
echo "ok - another client wrote between the agent's read and write twice: $((after - before)) 409s, read again, converged on QUIET; its CUSTOM_LAB_RACE toggled on and off"
send "vm $BULK spark-1 throughput 1e6 100e6 0.95"
lab_wait_for 20 has_traits "$OTHERS,CUSTOM_FOOTPRINT_ELEPHANTS" ||
    lab_fail "ELEPHANTS again: CN1 has '$(placement_traits "$CN1_UUID")', state $(health state): $(health error)"

# ---- Placement stopped, then started again ------------------------------
placement_stop
proxy_stop
send "drop $BULK"
retrying() { [ "$(health state)" = retrying ] && [ "$(health failures)" -ge 2 ]; }
lab_wait_for 20 retrying || lab_fail "no retries with Placement down: $(tail -n1 "$OUT")"
error=$(health error)
grep -q "Connection refused" <<<"$error" || lab_fail "health error: $error"
echo "ok - Placement stopped: state retrying, $(health failures) failures, error: $error"
sleep 2
[ "$(health state)" = retrying ] || lab_fail "state $(health state) while Placement is down"
placement_start || lab_fail "placement-api did not start again"
proxy_start || lab_fail "the race proxy did not start again"
lab_wait_for 20 has_traits "$OTHERS,CUSTOM_FOOTPRINT_QUIET" ||
    lab_fail "after the restart CN1 has '$(placement_traits "$CN1_UUID")', state $(health state): $(health error)"
[ "$(health error)" = None ] || lab_fail "error left after recovery: $(health error)"
echo "ok - Placement started again: converged on QUIET, error cleared"

# ---- hints.json ----------------------------------------------------------
"$PY" - "$PLACEMENT_DIR/run/hints.json" "$WEB" <<'EOF' || lab_fail "hints.json: $(cat "$PLACEMENT_DIR/run/hints.json")"
import json, sys
h = json.load(open(sys.argv[1]))
assert h["version"] == 1 and h["traits"] == ["CUSTOM_FOOTPRINT_QUIET"], h["traits"]
assert h["summary"]["mature"] and h["summary"]["vms_by_class"]["latency"] == 1
assert [v["nova_instance_uuid"] for v in h["vms"]] == [sys.argv[2]]
EOF
echo "ok - hints.json carries the summary, the trait and the VM with its Nova instance uuid"
send quit
wait "$DRIVE_PID" || lab_fail "placement-drive exited with an error"
DRIVE_PID=
echo "PASS: placement lab"
