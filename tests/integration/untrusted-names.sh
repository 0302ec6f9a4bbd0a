#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Untrusted strings and floods.  The host side of fpB's link gets a name
# that is not UTF-8 and holds an ESC (the kernel takes any bytes but '/',
# ':' and whitespace); 40 parallel flows cross a low elephant threshold at
# once.  The agent must go on (a non-UTF-8 string in g_variant_new_string()
# is a critical, fatal under G_DEBUG=fatal-warnings), list the device
# escaped over D-Bus and JSON, keep the ESC off the terminal, and log at
# most 10 elephant lines a second with a line saying how many it
# suppressed (footprintctl status: elephant_log_suppressed).
set -euo pipefail
: "${FP_SRCDIR:?}" "${FP_BUILDDIR:?}"
# shellcheck source=../lib/lab.sh
. "$FP_SRCDIR/tests/lib/lab.sh"
HOSTILE="fpb$(printf '\xff\x1b')h"
cleanup() {
    ip link set "$HOSTILE" name fpb-h 2>/dev/null
    lab_cleanup
}
trap cleanup EXIT

lab_setup
lab_require_bpf_backend "the untrusted-names test needs"
ip link set fpb-h name "$HOSTILE"
lab_bg ip netns exec fpB iperf3 -s -p 15211
LAB_SWEEP_MS=200 lab_start_agent "elephant_bytes=65536" "elephant_window=10"
sleep 0.5

ip netns exec fpA iperf3 -c 10.201.2.2 -p 15211 -P 40 -t 1 >"$LAB_DIR/iperf.txt"
lab_wait_for 5 grep -q "more elephant lines suppressed" "$LAB_DIR/agent.log" ||
    lab_fail "no summary of suppressed elephant lines: $(grep -c 'elephant: tcp' "$LAB_DIR/agent.log") lines"
kill -0 "$LAB_AGENT_PID" || lab_fail "the agent died: $(tail -5 "$LAB_DIR/agent.log")"

# At most 10 a second: count them per second of the log's timestamps.
busiest=$(grep 'elephant: tcp' "$LAB_DIR/agent.log" | sed -E 's/.* ([0-9:]{8})\.[0-9]+: .*/\1/' |
    sort | uniq -c | sort -rn | head -1 | awk '{print $1}')
[ "${busiest:-0}" -le 10 ] || lab_fail "$busiest elephant lines in one second"
suppressed=$(lab_status_field elephant_log_suppressed)
[ "$suppressed" -gt 0 ] || lab_fail "elephant_log_suppressed is $suppressed"
echo "ok - 40 elephants at once: at most $busiest lines a second, $suppressed suppressed and summed up"

fpctl flows --all --json >"$LAB_DIR/flows.json" || lab_fail "footprintctl flows --json failed"
"$PY" - "$LAB_DIR/flows.json" <<'PY' || lab_fail "the device is not listed escaped"
import json, sys
flows = json.load(open(sys.argv[1], encoding="utf-8"))
devs = {f.get(k) for f in flows for k in ("in_dev", "out_dev")}
want = "fpb\\xff\x1bh"  # invalid byte escaped, the ESC kept (JSON escapes it)
sys.exit(0 if want in devs else f"{want!r} not in {sorted(d for d in devs if d)!r}")
PY
echo "ok - the non-UTF-8 device name is listed escaped over D-Bus and JSON"
fpctl flows >"$LAB_DIR/flows.txt" || lab_fail "footprintctl flows failed"
grep -q 'fpb\\xff\\x1bh' "$LAB_DIR/flows.txt" || lab_fail "the device is not shown escaped"
! grep -q "$(printf '\x1b')" "$LAB_DIR/flows.txt" || lab_fail "an ESC reached the terminal"
! grep -q "$(printf '\x1b')" "$LAB_DIR/agent.log" || lab_fail "an ESC reached the log"
echo "ok - and shown escaped on the terminal"
lab_stop_agent || lab_fail "footprintd did not exit cleanly: $(tail -5 "$LAB_DIR/agent.log")"
