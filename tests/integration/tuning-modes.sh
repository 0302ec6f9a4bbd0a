#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The tuner's modes and controls, through the real footprintd in a netns lab
# (tests/lib/tuning-lab.sh: its VMs are libvirt test-driver domains):
#  - advise (the default): the plan is shown, nothing changes (tc, marks,
#    journal);
#  - a qdisc someone else configured (an HTB on vnet-b, as libvirt's
#    <bandwidth> makes) is never replaced, and footprintctl says why;
#  - footprintctl tuning --mode enforce applies; --json lists every change
#    with its previous value and reason; --undo reverts all and switches to
#    advise; --mode observe from enforce undoes everything;
#  - SIGHUP re-reads [tuning] mode;
#  - SetTuningMode and UndoTuning are root only: refused by the bus policy,
#    and by the daemon itself when the policy lets a caller through;
#  - after all, tc is as it was, no mark bit, an empty journal.
set -euo pipefail
: "${FP_SRCDIR:?}" "${FP_BUILDDIR:?}"
# shellcheck source=../lib/tuning-lab.sh
. "$FP_SRCDIR/tests/lib/tuning-lab.sh"
trap tlab_cleanup EXIT

MASK=0x00ff0000
N=0
ok() { N=$((N + 1)); echo "ok $N - $*"; }

# as_nobody ARGS...: footprintctl as an unprivileged user.
as_nobody() {
    setpriv --reuid=65534 --regid=65534 --clear-groups "$TLAB_DIR/footprintctl" "$@"
}

# setup POLICY: a lab whose bus has POLICY, with an operator's HTB on
# vnet-b, footprintd started with CONF lines.
setup() {
    TLAB_BUS_POLICY=$1
    shift
    tlab_setup
    chmod 755 "$TLAB_DIR"
    cp "$FP_BUILDDIR/src/footprintctl" "$TLAB_DIR/footprintctl"
    H tc qdisc add dev vnet-b root handle 1: htb default 1 r2q 100
    H tc class add dev vnet-b parent 1: classid 1:1 htb rate 50mbit
    tlab_vms a:latency:vnet-a b:latency:vnet-b
    tlab_config egress=up0,vnet-b egress_rate_mbit=200 flow_idle=60 demotion_hold=2 "$@"
    tlab_tc_state >"$TLAB_DIR/tc-before.txt"
    tlab_start_agent
    local p
    for p in 5201 5202 5203 5204; do tlab_bg ip netns exec fp14-world iperf3 -s -p $p; done
    sleep 0.3
}

same_as_before() {
    tlab_tc_state >"$TLAB_DIR/tc-now.txt"
    diff -u "$TLAB_DIR/tc-before.txt" "$TLAB_DIR/tc-now.txt" >&2 || lab_fail "$1: tc state changed"
    [ "$(tlab_our_marks $MASK)" = 0 ] || lab_fail "$1: mark bits set"
    [ "$(tlab_journal_size)" = 0 ] || lab_fail "$1: journal entries"
}

# elephant PORT SECONDS: an iperf3 flow from VM a to the world's server on
# PORT (one per flow: an iperf3 server takes one client at a time).
elephant() { tlab_bg ip netns exec fp14-vma iperf3 -c 10.214.9.2 -p "$1" -t "$2" -b 100M; }
marked() { [ "$(tlab_our_marks $MASK)" -ge 1 ]; }
mode_is() { [ "$(tlab_tuning mode)" = "$1" ]; }

setup "$FP_SRCDIR/conf/org.footprintd.Footprint1.conf"

# advise: a plan, no change.
elephant 5201 3
planned() { fpctl tuning | grep "flow tcp 10.214.1.2:[0-9]* -> 10.214.9.2:5201: demoted to slot 1" >/dev/null; }
lab_wait_for 5 planned || lab_fail "advise: no plan for the elephant: $(fpctl tuning)"
mode_is advise || lab_fail "the default mode is not advise"
same_as_before advise
fpctl tuning | grep "device vnet-b: not managed: root qdisc htb 1: is someone else's" >/dev/null ||
    lab_fail "vnet-b's HTB not reported: $(fpctl tuning)"
ok "advise (the default): the elephant is planned, nothing changes; an operator's HTB is reported"

# Root only, by the bus policy.
out=$(as_nobody tuning --mode enforce 2>&1) && lab_fail "nobody switched to enforce: $out"
grep -q "Rejected send message" <<<"$out" || lab_fail "nobody: $out"
out=$(as_nobody tuning --undo 2>&1) && lab_fail "nobody undid: $out"
mode_is advise || lab_fail "the mode changed"
ok "the bus policy refuses SetTuningMode and UndoTuning to others than root"

# enforce: applied; vnet-b's HTB stays; --json lists the changes.
fpctl tuning --mode enforce >/dev/null
lab_wait_for 5 marked || lab_fail "enforce: the elephant is not marked: $(fpctl tuning)"
H tc qdisc show dev up0 | grep "htb fd00:" >/dev/null || lab_fail "enforce: up0 not shaped"
H tc qdisc show dev vnet-b | grep "htb 1: root" >/dev/null || lab_fail "enforce: vnet-b's HTB replaced"
fpctl tuning --json >"$TLAB_DIR/tuning.json"
"$PY" - "$TLAB_DIR/tuning.json" <<'PY' || lab_fail "tuning --json: $(cat "$TLAB_DIR/tuning.json")"
import json, sys
t = json.load(open(sys.argv[1]))
assert t["mode"] == "enforce", t["mode"]
acts = {a["knob"]: a for a in t["actions"]}
assert acts["tc"]["object"] == "up0" and acts["tc"]["previous"] == "noqueue 0:", acts["tc"]
assert acts["tc"]["value"] == "htb fd00:"
m = acts["ctmark"]
assert m["previous"] == "0x00000000/0x00ff0000" and m["value"] == "0x00010000/0x00ff0000", m
assert "vm a (00000001-" in m["reason"] and "class latency" in m["reason"], m["reason"]
assert m["vm"].startswith("00000001-") and m["age_s"] >= 0
dev = {d["name"]: d for d in t["devices"]}
assert dev["up0"]["shaped"] and dev["up0"]["applied"] and dev["up0"]["rate_bps"] == 200000000
assert not dev["vnet-b"]["managed"] and "someone else's" in dev["vnet-b"]["reason"]
f = t["flows"][0]
assert f["demoted"] and f["applied"] and f["slot"] == 1 and f["vm"] == "a" and f["class"] == "latency"
PY
ok "enforce (footprintctl tuning --mode): demoted; vnet-b's HTB untouched; --json has every change with its previous value and reason"

# --undo: everything back, and advise.
fpctl tuning --undo >/dev/null
mode_is advise || lab_fail "--undo did not switch to advise"
same_as_before "--undo"
ok "footprintctl tuning --undo: everything back, mode advise"

# observe from enforce: everything back.
fpctl tuning --mode enforce >/dev/null
elephant 5202 4
lab_wait_for 5 marked || lab_fail "enforce again: not marked"
fpctl tuning --mode observe >/dev/null
same_as_before "observe"
fpctl tuning | grep "^plan: none" >/dev/null || lab_fail "observe shows a plan"
ok "switching to observe undoes everything"

# SIGHUP: [tuning] mode read again.
sed -i 's/^\[tuning\]$/[tuning]\nmode=enforce/' "$TLAB_DIR/footprintd.conf"
kill -HUP "$TLAB_AGENT_PID"
lab_wait_for 5 mode_is enforce || lab_fail "SIGHUP: mode $(tlab_tuning mode)"
elephant 5203 3
lab_wait_for 5 marked || lab_fail "SIGHUP enforce: not marked: $(fpctl tuning; tail -5 "$TLAB_DIR/agent.log")"
ok "SIGHUP re-reads [tuning] mode"

# SIGHUP to observe: everything back, as through the bus.
sed -i 's/^mode=enforce$/mode=observe/' "$TLAB_DIR/footprintd.conf"
kill -HUP "$TLAB_AGENT_PID"
lab_wait_for 5 mode_is observe || lab_fail "SIGHUP: mode $(tlab_tuning mode)"
same_as_before "SIGHUP observe"
kill -0 "$TLAB_AGENT_PID" || lab_fail "footprintd died: $(tail -5 "$TLAB_DIR/agent.log")"
ok "SIGHUP to observe undoes everything"

tlab_stop_agent TERM || lab_fail "footprintd did not stop cleanly"
same_as_before "stop"
ok "stopped: tc state as before (vnet-b's HTB included), no mark bit, empty journal"
tlab_cleanup

# The daemon checks the caller itself: a bus policy that lets anyone call
# (an empty one here) still gets AccessDenied from the daemon.
echo '<busconfig/>' >/tmp/fp14-empty-policy.conf
setup /tmp/fp14-empty-policy.conf mode=advise
rm -f /tmp/fp14-empty-policy.conf
as_nobody tuning >/dev/null || lab_fail "nobody cannot read the tuning with an open policy"
out=$(as_nobody tuning --mode enforce 2>&1) && lab_fail "nobody switched to enforce: $out"
grep -q "SetTuningMode is for root only (caller uid 65534)" <<<"$out" || lab_fail "nobody: $out"
out=$(as_nobody tuning --undo 2>&1) && lab_fail "nobody undid: $out"
grep -q "UndoTuning is for root only (caller uid 65534)" <<<"$out" || lab_fail "nobody: $out"
mode_is advise || lab_fail "the mode changed"
out=$(fpctl tuning --mode enforced 2>&1) && lab_fail "a bad mode was taken"
grep -q "'enforced' is not a mode" <<<"$out" || lab_fail "bad mode: $out"
ok "the daemon refuses SetTuningMode and UndoTuning to non-root callers itself"
tlab_stop_agent TERM
echo "1..$N"
