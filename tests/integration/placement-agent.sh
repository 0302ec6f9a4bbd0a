#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The daemon runs the Placement consumers each sweep (agent.c): with
# [placement] url pointing at nothing that answers, footprintd keeps
# running, retries with backoff and says so in footprintctl status, and
# writes hints.json under its runtime dir.  (placement-lab.sh drives the
# same client against a real Placement API.)
set -euo pipefail
: "${FP_SRCDIR:?}" "${FP_BUILDDIR:?}"
# shellcheck source=../lib/lab.sh
. "$FP_SRCDIR/tests/lib/lab.sh"
trap lab_cleanup EXIT

lab_require_kernel
lab_begin
lab_start_bus
# Port 9 (discard) on the loopback: nothing listens, the connection is refused.
LAB_SWEEP_MS=500 lab_start_agent "[placement]" "url=http://127.0.0.1:9" "retry_max=2"
failures() { [ "$(lab_status_field placement_failures)" -ge 2 ]; }
lab_wait_for 10 failures || lab_fail "no retries: $("$FP_BUILDDIR/src/footprintctl" status)"
[ "$(lab_status_field placement_state)" = retrying ] ||
    lab_fail "placement_state is '$(lab_status_field placement_state)', expected retrying"
lab_status_field placement_error | grep -q "Connection refused" ||
    lab_fail "placement_error: '$(lab_status_field placement_error)'"
grep -q "placement: provider '.*': resource provider lookup: .*retrying in" "$LAB_DIR/agent.log" ||
    lab_fail "the retry is not logged"
echo "ok - Placement unreachable: the agent retries with backoff and says so in status"

hints=$(find "$LAB_DIR" -name hints.json | head -1)
[ -n "$hints" ] || lab_fail "no hints.json under the runtime dir"
"$PY" -c 'import json, sys; h = json.load(open(sys.argv[1])); assert isinstance(h, dict) and h, h' \
    "$hints" || lab_fail "hints.json is not a JSON object: $(cat "$hints")"
echo "ok - hints.json written under the runtime dir"

lab_stop_agent || lab_fail "footprintd did not exit cleanly: $(tail -5 "$LAB_DIR/agent.log")"
echo "ok - clean stop"

# Without [placement] egress_capacity_mbit, the capacity is the tuner's
# egress rate (observe: the tuner reads the device, changes nothing).
capacity() {
    local h
    h=$(find "$LAB_DIR" -name hints.json | head -1)
    [ -n "$h" ] && "$PY" -c 'import json, sys; print(int(json.load(open(sys.argv[1]))["summary"]["egress_capacity_bps"] or 0))' "$h" 2>/dev/null
}
rm -f "$(find "$LAB_DIR" -name hints.json | head -1)"
LAB_SWEEP_MS=500 lab_start_agent "[tuning]" "mode=observe" "egress=lo" "egress_rate_mbit=300"
got() { [ "$(capacity)" = 37500000 ]; }
lab_wait_for 10 got || lab_fail "egress_capacity_bps is '$(capacity)', expected 37500000 (300 Mbit/s from [tuning])"
echo "ok - the host summary's capacity is the tuner's egress rate"
lab_stop_agent || lab_fail "footprintd did not exit cleanly: $(tail -5 "$LAB_DIR/agent.log")"
