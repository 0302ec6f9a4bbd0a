#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Crashes and vanishing VMs, in a netns lab (tests/lib/tuning-lab.sh):
#  - the tuner (enforce) is SIGKILLed mid-tuning 20 times in a row, at
#    varied moments (while it replays the last crash's journal, while it
#    shapes, with changes in force), an elephant flowing all along; then
#    started in observe and stopped: `tc -j qdisc/class/filter show` of
#    every device and the conntrack marks are exactly as before it first
#    started, and the journal is empty;
#  - a VM destroyed mid-tuning (its tap removed, the VM gone from the
#    list): its changes are undone at once, the tree on its tap goes with
#    the tap, the tuner goes on, and stopping leaves the rest as it was.
set -euo pipefail
: "${FP_SRCDIR:?}" "${FP_BUILDDIR:?}"
# shellcheck source=../lib/tuning-lab.sh
. "$FP_SRCDIR/tests/lib/tuning-lab.sh"
trap tlab_cleanup EXIT

MASK=0x00ff0000
N=0
ok() { N=$((N + 1)); echo "ok $N - $*"; }
marked() { [ "$(tlab_our_marks $MASK)" -ge 1 ]; }
shaped() { H tc qdisc show dev "$1" | grep -q "htb fd00:"; }

tlab_setup
tlab_vms a:latency:vnet-a c:latency:vnet-c
tlab_config mode=enforce egress=up0,vnet-c egress_rate_mbit=200 flow_idle=60
tlab_tc_state >"$TLAB_DIR/tc-before.txt"
tlab_marks >"$TLAB_DIR/marks-before.txt"
for p in 5201 5202; do tlab_bg ip netns exec fp14-world iperf3 -s -p $p; done
tlab_bg ip netns exec fp14-vmc iperf3 -s -p 5203
sleep 0.3
# Elephants all along (their counters from the start: tlab_setup turned
# nf_conntrack_acct on): VM a to the world (up0), VM a to VM c (vnet-c).
tlab_bg ip netns exec fp14-vma iperf3 -c 10.214.9.2 -p 5201 -t 600 -b 60M
tlab_bg ip netns exec fp14-vma iperf3 -c 10.214.3.2 -p 5203 -t 600 -b 60M

in_force=0
for i in $(seq 20); do
    tlab_start_drive
    # Varied moments: at once (replaying the last crash's journal,
    # shaping), or once the elephants are demoted.
    case $((i % 6)) in
    1) ;;
    3) sleep 0.05 ;;
    5) sleep 0.3 ;;
    *) lab_wait_for 10 marked || lab_fail "crash $i: never demoted: $(fpctl tuning)" ;;
    esac
    [ "$(tlab_journal_size)" -gt 0 ] && in_force=$((in_force + 1))
    tlab_stop_drive KILL || true
done
[ "$in_force" -ge 10 ] || lab_fail "only $in_force of 20 crashes had changes in force"
ok "20 SIGKILLs mid-tuning ($in_force with changes in force)"

# Restarted in observe: what the last crash left is undone, nothing else done.
tlab_config mode=observe egress=up0,vnet-c egress_rate_mbit=200
tlab_start_drive
grep -q "undoing [0-9]* change(s) a previous run left" "$TLAB_DIR/drive.log" ||
    lab_fail "no replay at start-up: $(tail -5 "$TLAB_DIR/drive.log")"
tlab_stop_drive TERM || lab_fail "the driver did not stop cleanly"
tlab_tc_state >"$TLAB_DIR/tc-after.txt"
diff -u "$TLAB_DIR/tc-before.txt" "$TLAB_DIR/tc-after.txt" >&2 ||
    lab_fail "tc state differs after the crashes"
[ "$(tlab_our_marks $MASK)" = 0 ] || lab_fail "mark bits left: $(tlab_marks)"
# Marks other than ours: the same as before (none here).
[ "$(tlab_marks | grep -c 'mark=[1-9]' || true)" = "$(grep -c 'mark=[1-9]' "$TLAB_DIR/marks-before.txt" || true)" ] ||
    lab_fail "marks changed: $(tlab_marks)"
[ "$(tlab_journal_size)" = 0 ] || lab_fail "journal entries left"
ok "restarted in observe after 20 crashes: tc -j state and conntrack marks exactly as before, empty journal"

# A VM destroyed mid-tuning: c, whose tap vnet-c is an egress device, with
# an elephant of its own to the world.
tlab_config mode=enforce egress=up0,vnet-c egress_rate_mbit=200 flow_idle=60
tlab_start_drive
tlab_bg ip netns exec fp14-vmc iperf3 -c 10.214.9.2 -p 5202 -t 600 -b 60M
c_marked() {
    fpctl tuning --json | "$PY" -c '
import json, sys
t = json.load(sys.stdin)
sys.exit(0 if any(a["knob"] == "ctmark" and a["vm"].startswith("00000002-") for a in t["actions"]) else 1)'
}
lab_wait_for 10 c_marked || lab_fail "VM c's elephant not demoted: $(fpctl tuning)"
lab_wait_for 10 shaped vnet-c || lab_fail "vnet-c not shaped"
tlab_vms a:latency:vnet-a
H ip link del vnet-c
gone() {
    ! c_marked && ! fpctl tuning --json | grep -q '"object" : "vnet-c"'
}
lab_wait_for 5 gone || lab_fail "VM c's changes still in force: $(fpctl tuning)"
kill -0 "$TLAB_DRIVE_PID" || lab_fail "the driver died: $(tail -5 "$TLAB_DIR/drive.log")"
shaped up0 || lab_fail "up0 lost its shaping"
ok "a VM destroyed mid-tuning: its changes undone, its tap's tree gone with it, the rest goes on"
tlab_stop_drive TERM || lab_fail "the driver did not stop cleanly"
tlab_tc_state >"$TLAB_DIR/tc-after.txt"
# As before, but for the tap that is gone.
awk '/^== /{skip = ($2 == "vnet-c")} !skip' "$TLAB_DIR/tc-before.txt" >"$TLAB_DIR/tc-before-nc.txt"
diff -u "$TLAB_DIR/tc-before-nc.txt" "$TLAB_DIR/tc-after.txt" >&2 || lab_fail "tc state differs"
[ "$(tlab_our_marks $MASK)" = 0 ] || lab_fail "mark bits left"
[ "$(tlab_journal_size)" = 0 ] || lab_fail "journal entries left"
ok "stopped: tc state as before, no mark bit, empty journal"
echo "1..$N"
