#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The built-in demo: footprintd on real VMs.  A real libvirtd starts two
# small qemu TCG guests (tests/lab/vmlab.sh): "demo-bulk" streams iperf3 to
# the host (an elephant), "demo-chatty" makes dozens of short connections a
# second (mice).  footprintctl shows both guests, their flows attributed
# and classified, live; then everything is torn down (guests, libvirtd,
# nftables table, sysctls).  DEMO_SECONDS (default 12) sets the live part.
#
# With the tuner in the build (footprintd takes [tuning], footprintctl has
# `tuning`), the elephant streams to a netns "world" behind the host's
# uplink instead, through a bottleneck of DEMO_BOTTLENECK_MBIT (100) beyond
# the host (tests/lib/world.sh), and after the live view the demo shows the
# tuning plan (mode advise), then enforcement (mode enforce, SIGHUP), with
# the chatty guest's round trip from the world before and after, and
# finally mode observe, which undoes it all.  Without the tuner that part
# is skipped, saying so.
set -euo pipefail
: "${FP_SRCDIR:?}" "${FP_BUILDDIR:?}"
# shellcheck source=../lib/lab.sh
. "$FP_SRCDIR/tests/lib/lab.sh"
# shellcheck source=../lab/vmlab.sh
. "$FP_SRCDIR/tests/lab/vmlab.sh"
# shellcheck source=../lib/world.sh
. "$FP_SRCDIR/tests/lib/world.sh"
DUR=${DEMO_SECONDS:-12}
BULK=demo-bulk CHAT=demo-chatty
WORLD_NS=demo-world WORLD_UP=demo-up WORLD_IFB=demo-ifb WORLD_IP=10.218.0.2 WORLD_UP_IP=10.218.0.1
RATE=${DEMO_BOTTLENECK_MBIT:-100}
TUNER=0
if tuner_present "$WORLD_UP"; then TUNER=1; fi
# DEMO_WORLD=1: the world and its bottleneck without the tuner too (the
# round trip with one FIFO only).
WORLD=${DEMO_WORLD:-$TUNER}

on_exit() {
    local rc=$?
    set +e
    echo
    echo "== tearing down: agent, guests, libvirtd, nftables table, sysctls${WORLD_NOTE:+, the world netns}"
    lab_stop_agent
    [ "$WORLD" = 1 ] && world_cleanup
    vmlab_cleanup
    lab_cleanup
    return "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
t0=$(vmlab_now_ms)
since() { echo "$(( ($(vmlab_now_ms) - t0) / 1000 ))s"; }

vmlab_install_packages || lab_fail "cannot install the VM lab packages"
rc=0
vmlab_check_host || rc=$?
[ "$rc" = 0 ] || lab_fail "this host cannot run the VM lab (see above)"
lab_begin
lab_start_bus
export VMLAB_WORKDIR=$LAB_DIR/vm VMLAB_DUR=5 VMLAB_BULK_BW=80M VMLAB_RATE=30
echo "== preparing: guest image, conntrack rules, libvirtd"
vmlab_prepare_guest_image /var/cache/footprintd-lab/image 2>/dev/null || lab_fail "guest image"
vmlab_setup_conntrack || lab_fail "conntrack setup"
vmlab_start_libvirtd "$VMLAB_WORKDIR" 2>/dev/null || lab_fail "libvirtd"
TUNING=()
BULK_PEER=10.213.1.1
if [ "$WORLD" = 1 ]; then
    # The elephant's stream crosses the uplink to the world, where a
    # bottleneck of RATE with a FIFO waits; the agent shapes the uplink to
    # 95 % of it (mode advise for now: plan only).
    world_setup
    world_bottleneck "$RATE" || lab_fail "bottleneck"
    lab_bg ip netns exec "$WORLD_NS" iperf3 -s -p 5301
    [ "$TUNER" = 1 ] && TUNING=("[tuning]" "mode=advise" "egress=$WORLD_UP" "egress_rate_mbit=$((RATE * 95 / 100))")
    BULK_PEER=$WORLD_IP
    WORLD_NOTE=": the bulk guest streams to the world, through a $RATE Mbit/s bottleneck beyond the host"
    # One long stream (a flow, once an elephant, stays one) above the
    # bottleneck's rate; both guests route the world via the host.
    export VMLAB_DUR=600 VMLAB_BULK_BW=$((RATE * 2))M VMLAB_ROUTE=$WORLD_IP/32
fi
# Short learning windows so that the classes settle within the demo.
lab_start_agent "[libvirt]" "uri=qemu:///system" \
    "[footprint]" "window=6" "short_window=2" "warmup=3" "switch_after=3" "${TUNING[@]}"
echo "== footprintd running ($(since)): $(fpctl status | grep -E '^backend ' | sed 's/  */ /g')"

echo "== booting two qemu TCG guests"
VMLAB_TARGET=$BULK_PEER vmlab_define_guest "$BULK" bulk:5301 10.213.1.2 10.213.1.1 demo-bulk0 ||
    lab_fail "bulk guest"
vmlab_start_responder 5302 5303 10.213.2.1 || lab_fail "responder"
vmlab_define_guest "$CHAT" chatty:5302 10.213.2.2 10.213.2.1 demo-chat0 || lab_fail "chatty guest"
vmlab_start_iperf3_server 5301 10.213.1.1 || lab_fail "iperf3 server"
echo "== guests up ($(since)); traffic starts${WORLD_NOTE:-}"

for ((t = 3; t <= DUR; t += 3)); do
    sleep 3
    echo
    echo "== t=${t}s  footprintctl vms"
    fpctl vms
    echo "-- footprintctl flows --elephants"
    fpctl flows --elephants | cut -c1-200
    echo "-- footprintctl flows --vm $CHAT: $(fpctl flows --all --vm "$CHAT" --json | grep -c '"dport" : 5302') short TCP flows live, the 3 newest:"
    fpctl flows --all --vm "$CHAT" | grep ':5302 ' | tail -3 | cut -c1-200
    echo "-- footprints (footprintctl footprint VM)"
    for vm in "$BULK" "$CHAT"; do fpctl footprint "$vm" | head -3; done
done
echo
echo "== footprintctl explain $CHAT"
fpctl explain "$CHAT"
echo
echo "== footprintctl vms --json (one VM)"
fpctl vms --json | "$PY" -c 'import json, sys; print(json.dumps(json.load(sys.stdin)[0], indent=2))'
echo
echo "== agent log: inventory events and elephants"
grep -E 'libvirt:|elephant:' "$LAB_DIR/agent.log" | sed 's/^footprintd-Message: //' | head -12

# ---- tuning: plan, enforce, undo (only with the tuner) ----
# set_mode MODE: rewrite [tuning] mode and tell the agent (SIGHUP).
set_mode() {
    sed -i "s/^mode=.*/mode=$1/" "$LAB_DIR/footprintd.conf"
    kill -HUP "$LAB_AGENT_PID"
}
# rtt LABEL: the chatty guest's round trip from the world (60 pings, 50 ms
# apart); its replies leave through the uplink and the far bottleneck.
rtt() {
    local p50 p99 max loss
    ip netns exec "$WORLD_NS" ping -n -c 60 -i 0.05 10.213.2.2 >"$LAB_DIR/rtt-$1.txt" 2>&1 || true
    read -r p50 p99 max loss < <(world_rtts "$LAB_DIR/rtt-$1.txt")
    echo "-- $CHAT's round trip from the world, $1: p50 $p50 ms, p99 $p99 ms, max $max ms, loss $loss"
}
demoted() {
    fpctl tuning --json 2>/dev/null | "$PY" "$FP_SRCDIR/tests/perf/bench-contention.py" demoted "$BULK" 10.213.1.2
}
echo
if [ "$TUNER" = 1 ]; then
    echo "== footprintctl tuning (mode advise: the plan, nothing applied) ($(since))"
    fpctl tuning
    echo "-- $WORLD_UP, the uplink: $(tc qdisc show dev "$WORLD_UP" root)"
    rtt "before (advise: one FIFO beyond the host, the elephant fills it)"
    echo
    echo "== mode enforce (SIGHUP) ($(since))"
    set_mode enforce
    lab_wait_for 10 demoted || echo "!! the elephant was not demoted within 10 s"
    fpctl tuning
    echo "-- what the agent set on $WORLD_UP:"
    tc qdisc show dev "$WORLD_UP"
    tc class show dev "$WORLD_UP"
    tc filter show dev "$WORLD_UP"
    rtt "after (enforce: the elephant demoted, the uplink shaped to 95 %)"
    echo
    echo "== mode observe (SIGHUP): everything undone ($(since))"
    set_mode observe
    lab_wait_for 10 sh -c "tc qdisc show dev $WORLD_UP root | grep -q noqueue" ||
        echo "!! $WORLD_UP still has: $(tc qdisc show dev "$WORLD_UP" root)"
    echo "-- $WORLD_UP: $(tc qdisc show dev "$WORLD_UP" root)"
    echo "-- the elephant's conntrack mark: $(conntrack -L -s 10.213.1.2 -d "$WORLD_IP" 2>/dev/null | grep -o 'mark=[0-9]*' | sort | uniq -c | tr -s ' ')"
    fpctl tuning | head -5
else
    [ "$WORLD" = 1 ] && rtt "with one FIFO beyond the host, the elephant filling it"
    echo "== tuning: skipped (no tuner in this build)"
fi
echo "== done in $(since)"
