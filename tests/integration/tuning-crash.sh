#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Crashes and vanishing VMs, with the real footprintd in a netns lab
# (tests/lib/tuning-lab.sh: its VMs are libvirt test-driver domains):
#  - footprintd (enforce) is SIGKILLed mid-tuning 20 times in a row, at
#    varied moments (at once, while it replays the last crash's journal or
#    shapes; once its changes are in force), elephants flowing all along;
#    then started in observe and stopped: `tc -j qdisc/class/filter show`
#    of every device and every conntrack entry's mark are exactly as before
#    it first started, and the journal is empty.  Someone else's mark bit
#    (0x1, set by an nft rule on the elephant's first packet only) must
#    survive every step: a write of ours that touched it would show;
#  - a VM destroyed mid-tuning (virsh destroy, its veth removed): its
#    changes are undone at once, footprintd goes on;
#  - a flow whose conntrack entry is gone before footprintd reads its
#    elephant event: nothing is marked or journaled, footprintd goes on;
#    and stopping leaves the rest as it was.
set -euo pipefail
: "${FP_SRCDIR:?}" "${FP_BUILDDIR:?}"
# shellcheck source=../lib/tuning-lab.sh
. "$FP_SRCDIR/tests/lib/tuning-lab.sh"
trap tlab_cleanup EXIT

MASK=0x00ff0000
N=0
ok() { N=$((N + 1)); echo "ok $N - $*"; }
marked() { [ "$(tlab_our_marks $MASK)" -ge 1 ]; }
shaped() { H tc qdisc show dev "$1" | grep "htb fd00:" >/dev/null; }

# others_bit WHEN: every conntrack entry of the flows to the world's port
# 5201 (the elephant and iperf3's control connection) still has the 0x1
# bit someone else set.
others_bit() {
    local m n=0
    for m in $({ H conntrack -L -p tcp --dport 5201 -o extended 2>/dev/null || true; } |
        { grep -o 'mark=[0-9]*' || true; } | cut -d= -f2); do
        (((m & 1) == 1)) || lab_fail "$1: someone else's mark bit 0x1 is gone: $(tlab_flow_marks)"
        n=$((n + 1))
    done
    [ "$n" -ge 2 ] || lab_fail "$1: the flows to port 5201 are gone: $(tlab_flow_marks)"
}

tlab_setup
tlab_vms a:latency:vnet-a c:latency:vnet-c
tlab_config mode=enforce egress=up0,vnet-c egress_rate_mbit=200 flow_idle=60
# Someone else's bit of the conntrack mark: set once, on the first packet
# of each connection to the world's port 5201, never again (so a write of
# footprintd's that cleared it would not be repaired by the next packet).
H nft add chain inet fp14_lab others '{ type filter hook forward priority -10; }'
H nft add rule inet fp14_lab others ct state new tcp dport 5201 ct mark set ct mark or 0x1
for p in 5201 5202; do tlab_bg ip netns exec fp14-world iperf3 -s -p $p; done
tlab_bg ip netns exec fp14-vmc iperf3 -s -p 5203
sleep 0.3
# Elephants all along (their counters from the start: tlab_setup turned
# nf_conntrack_acct on): VM a to the world (up0), VM a to VM c (vnet-c).
tlab_bg ip netns exec fp14-vma iperf3 -c 10.214.9.2 -p 5201 -t 600 -b 60M
tlab_bg ip netns exec fp14-vma iperf3 -c 10.214.3.2 -p 5203 -t 600 -b 60M
flowing() { [ "$(tlab_flow_marks | grep -c 'dport=520[13] ')" -ge 4 ]; }
lab_wait_for 10 flowing || lab_fail "the elephants do not flow: $(tlab_flow_marks)"
others_bit "before footprintd"
# What footprintd must leave as it found it.
tlab_tc_state >"$TLAB_DIR/tc-before.txt"
tlab_flow_marks >"$TLAB_DIR/marks-before.txt"

in_force=0
waited=0
for i in $(seq 20); do
    # Varied moments: at once (before or while it replays the last crash's
    # journal), just after it answers (shaping), or once the elephants are
    # demoted.
    case $((i % 5)) in
    1)
        tlab_spawn_agent
        sleep "0.0$((i % 10))"
        ;;
    3)
        tlab_start_agent
        sleep 0.1
        ;;
    *)
        tlab_start_agent
        lab_wait_for 10 marked || lab_fail "crash $i: never demoted: $(fpctl tuning)"
        waited=$((waited + 1))
        ;;
    esac
    [ "$(tlab_journal_size)" -gt 0 ] && in_force=$((in_force + 1))
    tlab_stop_agent KILL || true
    others_bit "crash $i"
done
# Most of them (at least every one that waited for the demotion).
if [ "$in_force" -lt "$waited" ] || [ "$in_force" -le 10 ]; then
    lab_fail "only $in_force of 20 crashes had changes in force ($waited waited for them)"
fi
ok "footprintd SIGKILLed 20 times mid-tuning ($in_force with changes in force); someone else's mark bit kept"

# Restarted in observe: what the last crash left is undone, nothing else done.
left=$(tlab_journal_size)
[ "$left" -gt 0 ] || lab_fail "the last crash left no change in force"
tlab_config mode=observe egress=up0,vnet-c egress_rate_mbit=200
tlab_start_agent
# This start's log: after the last start marker tlab_spawn_agent wrote.
awk '/^# \[.*\] start$/ { b = "" } { b = b $0 "\n" } END { printf "%s", b }' \
    "$TLAB_DIR/agent.log" >"$TLAB_DIR/agent-last.log"
grep "undoing $left change(s) a previous run left" "$TLAB_DIR/agent-last.log" >/dev/null ||
    lab_fail "no replay of the $left changes at start-up: $(cat "$TLAB_DIR/agent-last.log")"
others_bit "restarted in observe"
tlab_stop_agent TERM || lab_fail "footprintd did not stop cleanly"
tlab_tc_state >"$TLAB_DIR/tc-after.txt"
diff -u "$TLAB_DIR/tc-before.txt" "$TLAB_DIR/tc-after.txt" >&2 ||
    lab_fail "tc state differs after the crashes"
tlab_flow_marks >"$TLAB_DIR/marks-after.txt"
diff -u "$TLAB_DIR/marks-before.txt" "$TLAB_DIR/marks-after.txt" >&2 ||
    lab_fail "conntrack marks differ after the crashes"
[ "$(tlab_journal_size)" = 0 ] || lab_fail "journal entries left"
ok "restarted in observe after 20 crashes (the $left changes the last left replayed): tc -j state and every conntrack mark exactly as before, empty journal"

# A VM destroyed mid-tuning: c, whose tap vnet-c is an egress device, with
# an elephant of its own to the world.
tlab_config mode=enforce egress=up0,vnet-c egress_rate_mbit=200 flow_idle=60
tlab_start_agent
tlab_bg ip netns exec fp14-vmc iperf3 -c 10.214.9.2 -p 5202 -t 600 -b 60M
C_UUID=$(tlab_uuid c)
c_marked() {
    fpctl tuning --json | "$PY" -c '
import json, sys
t = json.load(sys.stdin)
sys.exit(0 if any(a["knob"] == "ctmark" and a["vm"] == sys.argv[1] for a in t["actions"]) else 1)' "$C_UUID"
}
lab_wait_for 10 c_marked || lab_fail "VM c's elephant not demoted: $(fpctl tuning)"
lab_wait_for 10 shaped vnet-c || lab_fail "vnet-c not shaped"
c_bits() {
    { H conntrack -L -p tcp --dport 5202 -o extended 2>/dev/null || true; } |
        { grep -o 'mark=[0-9]*' || true; } | cut -d= -f2 | while read -r m; do
        echo $(((m & MASK) != 0))
    done | grep -c 1 || true
}
[ "$(c_bits)" -ge 1 ] || lab_fail "VM c's elephant has no mark bit of ours: $(tlab_flow_marks)"
c_gone() { ! c_marked && [ "$(c_bits)" = 0 ]; }
t0=$(date +%s%N)
tlab_virsh -q destroy c >/dev/null || lab_fail "virsh destroy c failed"
lab_wait_for 5 c_gone || lab_fail "VM c's changes still in force: $(fpctl tuning; tlab_flow_marks)"
t1=$(date +%s%N)
# Its tap goes as libvirt's would, and footprintd's tree on it with it (VM
# a's elephant to VM c's address kept vnet-c shaped until now).
H ip link del vnet-c
tap_gone() { ! fpctl tuning --json | grep '"object" : "vnet-c"' >/dev/null; }
lab_wait_for 5 tap_gone || lab_fail "vnet-c's change still listed: $(fpctl tuning)"
kill -0 "$TLAB_AGENT_PID" || lab_fail "footprintd died: $(tail -5 "$TLAB_DIR/agent.log")"
shaped up0 || lab_fail "up0 lost its shaping"
marked || lab_fail "VM a's elephants lost their demotion"
sleep 1
kill -0 "$TLAB_AGENT_PID" || lab_fail "footprintd died once vnet-c went: $(tail -5 "$TLAB_DIR/agent.log")"
ok "a VM destroyed mid-tuning: its elephant's mark undone $(((t1 - t0) / 1000000)) ms after virsh destroy; its veth removed, the tree on it forgotten; footprintd goes on"
# A flow gone before its demotion: it crosses the threshold while
# footprintd is stopped (SIGSTOP; the kernel still queues the elephant
# event) and its conntrack entry is deleted before footprintd reads the
# event.  The tuner finds no entry to mark and forgets the flow at once
# (before the fix it then read the flow it had just freed: the sanitizer
# gate reports that read).
tlab_bg ip netns exec fp14-world iperf3 -s -p 5204
sleep 0.3
e0=$(tlab_tuning elephants)
j0=$(tlab_journal_size)
kill -STOP "$TLAB_AGENT_PID"
ip netns exec fp14-vma iperf3 -c 10.214.9.2 -p 5204 -n 6M -b 100M >/dev/null ||
    { kill -CONT "$TLAB_AGENT_PID"; lab_fail "iperf3 to port 5204 failed"; }
H conntrack -D -p tcp --dport 5204 >/dev/null 2>&1 || true
kill -CONT "$TLAB_AGENT_PID"
[ "$(H conntrack -L -p tcp --dport 5204 2>/dev/null | grep -c . || true)" = 0 ] ||
    lab_fail "the flow to port 5204 is still in conntrack"
seen() { [ "$(tlab_tuning elephants)" -gt "$e0" ]; }
lab_wait_for 10 seen || lab_fail "the elephant event of the flow to port 5204 never came"
sleep 0.5
kill -0 "$TLAB_AGENT_PID" || lab_fail "footprintd died: $(tail -5 "$TLAB_DIR/agent.log")"
fpctl tuning --json >"$TLAB_DIR/tuning.json"
"$PY" - "$TLAB_DIR/tuning.json" <<'EOF' || lab_fail "the ended flow: $(fpctl tuning)"
import json, sys
t = json.load(open(sys.argv[1]))
assert not any(":5204" in f.get("flow", "") or f.get("dport") == 5204 for f in t["flows"]), t["flows"]
assert not any(":5204" in a["object"] for a in t["actions"]), t["actions"]
EOF
[ "$(tlab_journal_size)" = "$j0" ] || lab_fail "the journal changed for a flow conntrack no longer has"
ok "a flow gone before its elephant event was read: nothing marked or journaled, footprintd goes on"

tlab_stop_agent TERM || lab_fail "footprintd did not stop cleanly"
tlab_tc_state >"$TLAB_DIR/tc-after.txt"
# As before, but for the tap that is gone.
awk '/^== /{skip = ($2 == "vnet-c")} !skip' "$TLAB_DIR/tc-before.txt" >"$TLAB_DIR/tc-before-nc.txt"
diff -u "$TLAB_DIR/tc-before-nc.txt" "$TLAB_DIR/tc-after.txt" >&2 || lab_fail "tc state differs"
[ "$(tlab_our_marks $MASK)" = 0 ] || lab_fail "mark bits left"
others_bit "stopped"
[ "$(tlab_journal_size)" = 0 ] || lab_fail "journal entries left"
ok "stopped: tc state as before, no mark bit of ours, someone else's kept, empty journal"
echo "1..$N"
