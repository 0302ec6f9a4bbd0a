#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Flow demotion end to end, on a real kernel, for the four kinds of flow a
# hypervisor forwards: routed, NAT'd (masquerade), bridged (br_netfilter)
# and VM to VM.  For each, in a lab of tests/lib/tuning-lab.sh (its VMs
# libvirt test-driver domains, pinned to latency: only the elephant flow,
# by its conntrack mark, may be demoted) with the real footprintd in
# enforce mode:
#  - an iperf3 elephant's conntrack entry gets footprintd's mark bits (and
#    only those), as fast as its elephant event;
#  - its packets leave through the slot's leaf of the demoted band, while a
#    ping of the other VM keeps the normal band;
#  - once it goes idle (flow_idle), its mark is back to what it was;
#  - stopping footprintd (SIGTERM) leaves the tc state as it was before it
#    started, no mark bit of ours, and an empty journal.
# Then a throughput VM is demoted as a whole: its ping leaves through its
# slot, with no mark on its flow.
set -euo pipefail
: "${FP_SRCDIR:?}" "${FP_BUILDDIR:?}"
# shellcheck source=../lib/tuning-lab.sh
. "$FP_SRCDIR/tests/lib/tuning-lab.sh"
trap tlab_cleanup EXIT

MASK=0x00ff0000
N=0
ok() { N=$((N + 1)); echo "ok $N - $*"; }

# demote KIND EGRESS SRC-NS DST-IP CONF...: one kind of flow.
demote() {
    local kind=$1 egress=$2 src=$3 dst=$4
    shift 4
    TLAB_MODE=$kind
    [ "$kind" = vm2vm ] && TLAB_MODE=routed
    tlab_setup
    tlab_vms a:latency:vnet-a b:latency:vnet-b c:latency:vnet-c
    tlab_config mode=enforce "egress=$egress" flow_idle=2 demotion_hold=2 "ct_mark_mask=$MASK" "$@"
    tlab_tc_state >"$TLAB_DIR/tc-before.txt"
    local marks_before
    marks_before=$(tlab_marks)
    tlab_start_agent
    if [ "$kind" = vm2vm ]; then
        tlab_bg ip netns exec fp14-vmc iperf3 -s -p 5201
    else
        tlab_bg ip netns exec fp14-world iperf3 -s -p 5201
    fi
    sleep 0.3
    # The other VM's pings, to the same place, all along.
    local pingdst=$dst
    tlab_bg ip netns exec fp14-vmb ping -q -i 0.05 -c 100 "$pingdst"
    ip netns exec "$src" iperf3 -c "$dst" -p 5201 -t 3 -b 150M -J >"$TLAB_DIR/iperf.json" ||
        lab_fail "$kind: iperf3 failed: $(tail -3 "$TLAB_DIR/iperf.json")"
    local sent slot normal marked
    sent=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["end"]["sum_sent"]["bytes"])' \
        "$TLAB_DIR/iperf.json")
    slot=$(tlab_class_bytes "$egress" fd00:101)
    normal=$(tlab_class_bytes "$egress" fd00:10)
    marked=$(H conntrack -L -p tcp --dport 5201 -o extended 2>/dev/null | grep -c "mark=65536 " || true)
    fpctl tuning >"$TLAB_DIR/tuning.txt"
    [ "$marked" -ge 1 ] || lab_fail "$kind: no conntrack entry of the elephant has mark 0x10000: $(H conntrack -L -p tcp --dport 5201 -o extended 2>&1 | head -3)"
    # The first 4 MiB (the threshold) and the handshake go before the mark.
    "$PY" -c 'import sys; s, c = int(sys.argv[1]), int(sys.argv[2]); sys.exit(0 if c >= 0.6 * s else 1)' \
        "$sent" "$slot" ||
        lab_fail "$kind: the slot leaf sent $slot of the elephant's $sent bytes: $(cat "$TLAB_DIR/tuning.txt")"
    [ "$normal" -gt 0 ] || lab_fail "$kind: nothing in the normal band (the pings)"
    local latency
    latency=$(tlab_tuning demote_latency_max_us)
    if [ "$latency" -le 0 ] || [ "$latency" -ge 2000000 ]; then
        lab_fail "$kind: demotion latency ${latency} us"
    fi
    ok "$kind: elephant demoted $((latency / 1000)) ms after it crossed the threshold; slot leaf sent $slot of $sent bytes, normal band $normal"
    # split_gso: every slot's leaf is a TBF (which segments GSO packets as
    # they queue; this lab's packets are MTU-sized already, so the
    # segmenting itself shows in bench-contention's enforce-split, as the
    # uplink's bytes per packet), and the elephant still went through it.
    if [[ " $* " == *" split_gso=true "* ]]; then
        local leaves
        leaves=$(H tc qdisc show dev "$egress" | grep -cE "^qdisc tbf [0-9a-f]+: parent fd00:1[0-9a-f]{2} " || true)
        [ "$leaves" = 16 ] ||
            lab_fail "$kind: split_gso: $leaves tbf leaves, not 16: $(H tc qdisc show dev "$egress")"
        H tc -d -s qdisc show dev "$egress" | grep -A4 "tbf.*parent fd00:101 " | sed 's/^/# /'
        ok "$kind: split_gso: the 16 slots' leaves are tbf, and the elephant went through its slot"
    fi
    # Idle (the connection in TIME_WAIT): back to the normal band.
    back() { [ "$(tlab_our_marks $MASK)" = 0 ]; }
    lab_wait_for 8 back || lab_fail "$kind: the idle flow keeps its mark: $(fpctl tuning)"
    ok "$kind: the idle flow's mark is back"
    tlab_stop_agent TERM || lab_fail "$kind: footprintd did not stop cleanly: $(tail -5 "$TLAB_DIR/agent.log")"
    tlab_tc_state >"$TLAB_DIR/tc-after.txt"
    diff -u "$TLAB_DIR/tc-before.txt" "$TLAB_DIR/tc-after.txt" >&2 ||
        lab_fail "$kind: tc state differs after stop"
    [ "$(tlab_our_marks $MASK)" = 0 ] || lab_fail "$kind: marks left"
    [ "$(tlab_journal_size)" = 0 ] || lab_fail "$kind: journal entries left"
    # No mark of anyone else's changed either (the entries that were there).
    [ -z "$marks_before" ] || [ "$(tlab_marks | grep -c 'mark=[1-9]')" = 0 ] ||
        lab_fail "$kind: marks changed"
    ok "$kind: stopped: tc state as before, no mark bit, empty journal"
    tlab_cleanup
}

demote routed up0 fp14-vma 10.214.9.2 egress_rate_mbit=200
demote nat up0 fp14-vma 10.214.9.2 egress_rate_mbit=200 split_gso=true
demote bridged up0 fp14-vma 10.214.8.100 egress_rate_mbit=200
demote vm2vm vnet-c fp14-vma 10.214.3.2

# A VM demoted as a whole: everything it sends (here pings: no elephant, no
# mark) leaves through its slot.  No [tuning] egress: the device of the
# default route, up0.  Routed taps (the packet's ingress device is the
# tap), and a bridge the host routes from, as libvirt's NAT network (the
# ingress device is the bridge; br_netfilter's record of the port is not).
whole_vm() {
    local kind=$1
    TLAB_MODE=$kind
    tlab_setup
    tlab_vms a:throughput:vnet-a b:latency:vnet-b
    tlab_config mode=enforce egress_rate_mbit=200 demotion_hold=2 "ct_mark_mask=$MASK"
    tlab_start_agent
    shaped() { H tc qdisc show dev up0 | grep "htb fd00:" >/dev/null; }
    lab_wait_for 5 shaped || lab_fail "$kind: up0 not shaped for the throughput VM"
    ip netns exec fp14-vma ping -q -i 0.05 -c 20 10.214.9.2 >/dev/null
    ip netns exec fp14-vmb ping -q -i 0.05 -c 20 10.214.9.2 >/dev/null
    pkts() { tlab_class_stat up0 "$1" pkt; }
    [ "$(pkts fd00:101)" -ge 20 ] || lab_fail "$kind: the throughput VM's pings are not in its slot: $(pkts fd00:101)"
    [ "$(pkts fd00:10)" -ge 20 ] || lab_fail "$kind: the latency VM's pings are not in the normal band"
    [ "$(pkts fd00:101)" -lt 40 ] || lab_fail "$kind: the latency VM's pings went to the slot too: $(pkts fd00:101)"
    [ "$(tlab_our_marks $MASK)" = 0 ] || lab_fail "$kind: a VM demoted whole needs no mark"
    ok "$kind: a throughput VM is demoted as a whole (by its device), a latency VM is not; the default egress is the default route's device"
    tlab_stop_agent TERM
    tlab_cleanup
}
whole_vm routed
whole_vm natbridge
echo "1..$N"
