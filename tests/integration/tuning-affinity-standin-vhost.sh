#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# CPU separation (tuning/affinity.c, tuning/queues.c) on real qemu
# processes, in a netns lab (tests/lib/tuning-lab.sh: the real footprintd,
# its VMs test-driver domains of the lab's own libvirtd, each linked to a
# real qemu by the pid file [tuning] qemu_run_dir names; the test driver
# has no pins, so every thread goes through its affinity).  This machine has no
# vhost-net and no usable KVM: the VMs are qemu TCG processes (started with
# -S: their threads exist, no guest runs), and the vhost-net worker is a
# STAND-IN: a process of this test named "vhost-<qemu pid>", the shape of a
# vhost-net kernel thread before Linux 6.4 (hence the test's name).  The
# stand-in also holds a 4-queue tap (IFF_MULTI_QUEUE, one fd per queue, as
# qemu opens them for queues=4): qemu's own tap attaches one queue only
# until a guest driver enables more.
#
# Three VMs on 2 CPUs (the elephant set is CPU 1, the rest CPU 0):
#  - bulk (throughput): qemu + the vhost stand-in, taps fp15-tb (qemu's)
#    and fp15-tq (4 queues), and the lab's vnet-a, whose namespace sends
#    an elephant flow to the world (the split follows the elephants);
#  - web (latency): qemu, tap fp15-tw;
#  - pin (latency): qemu pinned to CPU 1 with taskset, as libvirt's
#    <cputune> pins do: it must never be widened, and footprintctl tuning
#    says it cannot move.
# Checked, reading /proc/PID/task/*/status (Cpus_allowed_list) and
# /sys/class/net/TAP/queues/*/{rps,xps}_cpus:
#  - advise plans and changes nothing;
#  - enforce moves bulk's emulator, I/O thread and vhost worker to CPU 1
#    (its vCPUs stay), its taps' RPS/XPS masks to CPU 1, every thread of
#    web to CPU 0, and leaves pin as it was; the journal lists each thread
#    and mask with its previous value;
#  - after SIGKILL, a restart in observe mode leaves everything as found;
#  - a VM that goes away gets its threads back at once;
#  - when the elephant ends, bulk's threads and masks come back within
#    flow_idle + cpu_hold (+ sweeps) seconds, web's too (no split left);
#  - SIGTERM undoes the rest.
set -euo pipefail
: "${FP_SRCDIR:?}" "${FP_BUILDDIR:?}"
# shellcheck source=../lib/tuning-lab.sh
. "$FP_SRCDIR/tests/lib/tuning-lab.sh"
trap tlab_cleanup EXIT

N=0
ok() { N=$((N + 1)); echo "ok $N - $*"; }

command -v qemu-system-x86_64 >/dev/null || lab_fail "qemu-system-x86_64 missing (apt-get install qemu-system-x86)"
[ -c /dev/net/tun ] || lab_skip "no /dev/net/tun (kernel without CONFIG_TUN)"
[ "$(nproc --all)" -ge 2 ] || lab_skip "one CPU: nothing to split"
[ -e /sys/devices/system/cpu/online ] || lab_skip "no /sys/devices/system/cpu/online"

tlab_setup
QDIR=$TLAB_DIR/qemu
mkdir -p "$QDIR"

# start_qemu NAME TAP [taskset CPUS]: a TCG qemu in the lab's host namespace,
# its threads named as libvirt has them (debug-threads=on), its pid in
# $QDIR/NAME.pid as libvirt writes it.
start_qemu() {
    local name=$1 tap=$2 pin=${3:-}
    # shellcheck disable=SC2054 # qemu's options are comma-separated
    local -a cmd=(qemu-system-x86_64 -name "$name,debug-threads=on" -M pc -accel tcg -nodefaults
        -S -smp 2 -m 64 -display none -monitor none -serial none
        -object iothread,id=io1
        -netdev "tap,id=n0,ifname=$tap,script=no,downscript=no,queues=4"
        -device virtio-net-pci,netdev=n0,mq=on,vectors=10 -pidfile "$QDIR/$name.pid")
    [ -n "$pin" ] && cmd=(taskset -c "$pin" "${cmd[@]}")
    ip netns exec fp14-host "${cmd[@]}" >>"$TLAB_DIR/qemu-$name.log" 2>&1 &
    TLAB_PIDS+=($!)
    lab_wait_for 20 test -s "$QDIR/$name.pid" || lab_fail "qemu $name did not start: $(cat "$TLAB_DIR/qemu-$name.log")"
    lab_wait_for 20 sh -c "cat /proc/$(cat "$QDIR/$name.pid")/task/*/comm | grep -x 'CPU 1/TCG' >/dev/null" ||
        lab_fail "qemu $name has no vCPU threads"
    H ip link set "$tap" up
}

start_qemu bulk fp15-tb
start_qemu web fp15-tw
start_qemu pin fp15-tp 1
BULK=$(cat "$QDIR/bulk.pid")

# The vhost-net STAND-IN: a process named vhost-<bulk's qemu pid>, holding
# the 4 queues of tap fp15-tq.
ip netns exec fp14-host "$PY" - "$BULK" fp15-tq <<'PYEOF' >>"$TLAB_DIR/standin.log" 2>&1 &
import fcntl, os, signal, struct, sys
owner, tap = sys.argv[1], sys.argv[2]
TUNSETIFF, IFF_TAP, IFF_NO_PI, IFF_MULTI_QUEUE = 0x400454CA, 0x0002, 0x1000, 0x0100
fds = []
for _ in range(4):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", tap.encode(), IFF_TAP | IFF_NO_PI | IFF_MULTI_QUEUE))
    fds.append(fd)
with open("/proc/self/comm", "w") as f:
    f.write("vhost-%s" % owner)
print("ready", flush=True)
signal.pause()
PYEOF
STANDIN=$!
TLAB_PIDS+=("$STANDIN")
lab_wait_for 10 grep -q ready "$TLAB_DIR/standin.log" || lab_fail "stand-in: $(cat "$TLAB_DIR/standin.log")"
[ "$(cat "/proc/$STANDIN/comm")" = "vhost-$BULK" ] || lab_fail "stand-in not named vhost-$BULK"
H ip link set fp15-tq up
[ "$(H ls /sys/class/net/fp15-tq/queues | grep -c rx-)" = 4 ] || lab_fail "fp15-tq has not 4 rx queues"

# state: every thread's "pid/tid comm: Cpus_allowed_list" and every queue mask.
state() {
    local p t
    for p in $(cat "$QDIR"/*.pid) "$STANDIN"; do
        [ -d "/proc/$p" ] || continue
        for t in /proc/"$p"/task/*; do
            printf '%s/%s %s: %s\n' "$p" "${t##*/}" "$(cat "$t/comm")" \
                "$(awk '/^Cpus_allowed_list/ {print $2}' "$t/status")"
        done
    done
    for t in fp15-tb fp15-tq fp15-tw fp15-tp; do
        H sh -c "cd /sys/class/net/$t/queues && grep -H . rx-*/rps_cpus tx-*/xps_cpus" 2>/dev/null |
            sed "s|^|$t/|"
    done
}
# cpus PID COMM: the Cpus_allowed_list of PID's threads named COMM.
cpus() {
    local t
    for t in /proc/"$1"/task/*; do
        [ "$(cat "$t/comm")" = "$2" ] && awk '/^Cpus_allowed_list/ {print $2}' "$t/status"
    done | sort -u | paste -sd' '
}
mask() { H cat "/sys/class/net/$1/queues/$2"; }
# as_cpu1 MASK: the mask holds CPU 1 only.
as_cpu1() { [ $((16#${1//,/})) = 2 ]; }

tlab_vms "bulk:throughput:fp15-tb;fp15-tq;vnet-a" web:latency:fp15-tw pin:latency:fp15-tp
# nic_devices (no NIC here has queue IRQs or RSS: tuning-nic-guest.sh runs
# the NIC lever on one in a guest): lo has one queue, up0 (a veth) one per
# CPU but no IRQs and no RSS table, fp15-nosuch does not exist; each must
# be said so, and nothing touched.
tlab_config mode=advise egress=up0 egress_rate_mbit=1000 "qemu_run_dir=$QDIR" \
    nic_devices=lo,up0,fp15-nosuch
state >"$TLAB_DIR/before.txt"
grep -q "vhost-$BULK: 0-1" "$TLAB_DIR/before.txt" || lab_fail "stand-in not in the state"
# bulk's elephant, all along until step 5 (100 Mbit/s from VM a's namespace).
tlab_bg ip netns exec fp14-world iperf3 -s -p 5201
sleep 0.3
tlab_bg ip netns exec fp14-vma iperf3 -c 10.214.9.2 -p 5201 -t 600 -b 100M
ELEPHANT=${TLAB_PIDS[-1]}

# 1. advise: a plan, no change.
tlab_start_agent
lab_wait_for 10 sh -c "'$FP_BUILDDIR/src/footprintctl' tuning | grep -q 'affinity .*vhost-$BULK'" ||
    lab_fail "advise: no plan for the vhost worker: $(fpctl tuning)"
fpctl tuning | grep -q 'cpus: elephant CPUs 1, the rest 0' || lab_fail "advise: no CPU split: $(fpctl tuning)"
sleep 1
state >"$TLAB_DIR/now.txt"
diff -u "$TLAB_DIR/before.txt" "$TLAB_DIR/now.txt" >&2 || lab_fail "advise changed affinities or masks"
[ "$(tlab_journal_size)" = 0 ] || lab_fail "advise wrote the journal"
fpctl tuning | grep -q '^ *note: nic lo has 1 RX queue(s): no queue to keep for the elephants, left alone$' ||
    lab_fail "advise: the 1-queue device is not reported: $(fpctl tuning)"
fpctl tuning | grep -q '^ *note: nic up0: no queue IRQ found .*: IRQs left alone$' ||
    lab_fail "advise: up0's IRQs are not reported: $(fpctl tuning)"
fpctl tuning | grep -q "^ *note: nic up0: RSS table left alone: nic 'up0': cannot read its RSS indirection table: its driver has none$" ||
    lab_fail "advise: up0's RSS table is not reported: $(fpctl tuning)"
fpctl tuning | grep -q '^ *note: nic fp15-nosuch: left alone: no such device' ||
    lab_fail "advise: the missing NIC is not reported: $(fpctl tuning)"
ok "advise plans the split (elephant CPUs 1, the rest 0) and changes nothing; nic_devices without IRQs or RSS, with one queue, or missing are said to be left alone"

# 2. enforce.
fpctl tuning --mode enforce >/dev/null
lab_wait_for 10 sh -c "[ \"\$(awk '/^Cpus_allowed_list/ {print \$2}' /proc/$STANDIN/status)\" = 1 ]" ||
    lab_fail "enforce: the vhost stand-in was not moved: $(fpctl tuning)"
sleep 1 # one more sweep: everything of the plan is applied by now
[ "$(cpus "$BULK" qemu-system-x86)" = 1 ] || lab_fail "bulk's emulator threads: $(cpus "$BULK" qemu-system-x86)"
[ "$(cpus "$BULK" "IO io1")" = 1 ] || lab_fail "bulk's I/O thread: $(cpus "$BULK" "IO io1")"
[ "$(cpus "$BULK" "CPU 0/TCG")" = 0-1 ] || lab_fail "bulk's vCPU moved (elephant_vcpus is false)"
for q in rx-0/rps_cpus tx-0/xps_cpus; do
    as_cpu1 "$(mask fp15-tb "$q")" || lab_fail "fp15-tb $q: $(mask fp15-tb "$q"): $(fpctl tuning)"
done
for i in 0 1 2 3; do
    as_cpu1 "$(mask fp15-tq "rx-$i/rps_cpus")" || lab_fail "fp15-tq rx-$i: $(mask fp15-tq "rx-$i/rps_cpus")"
    as_cpu1 "$(mask fp15-tq "tx-$i/xps_cpus")" || lab_fail "fp15-tq tx-$i: $(mask fp15-tq "tx-$i/xps_cpus")"
done
WEB=$(cat "$QDIR/web.pid")
PIN=$(cat "$QDIR/pin.pid")
for c in qemu-system-x86 "IO io1" "CPU 0/TCG" "CPU 1/TCG"; do
    [ "$(cpus "$WEB" "$c")" = 0 ] || lab_fail "web's '$c' not on CPU 0: $(cpus "$WEB" "$c")"
    [ "$(cpus "$PIN" "$c")" = 1 ] || lab_fail "pin's '$c' widened or moved: $(cpus "$PIN" "$c")"
done
[ "$(mask fp15-tw rx-0/rps_cpus | tr -d '0,')" = "" ] || lab_fail "web's RPS mask was touched"
ok "enforce: bulk's emulator, I/O thread, vhost worker and 10 queue masks on CPU 1, its vCPUs left; web on CPU 0"
diff <(grep "^$PIN/\|^fp15-tp/" "$TLAB_DIR/before.txt") <(state | grep "^$PIN/\|^fp15-tp/") >&2 ||
    lab_fail "the pinned VM changed"
fpctl tuning | grep -q "vm pin .*pinned so tightly that nothing of it can leave the elephant CPUs" ||
    lab_fail "footprintctl tuning does not report the pinned VM: $(fpctl tuning)"
ok "the VM pinned to CPU 1 is never widened, and footprintctl tuning says it cannot move"
fpctl tuning --json | "$PY" -c '
import json, sys
standin = sys.argv[1]
acts = json.load(sys.stdin)["actions"]
aff = [a for a in acts if a["knob"] == "affinity"]
que = [a for a in acts if a["knob"] == "queues"]
assert any("vhost-" + sys.argv[2] in a["reason"] and a["previous"] == "0-1" and a["value"] == "1"
           for a in aff), aff
assert all(a["previous"] == "0-1" for a in aff), aff
assert len([a for a in que if a["object"].startswith("fp15-t")]) == 10, que
assert all(int(a["previous"].replace(",", ""), 16) == 0 for a in que), que
assert all(a["vm"] for a in acts if a["knob"] in ("affinity", "queues")), acts
assert not [a for a in acts if a["knob"] in ("irq", "rss")], acts
' "$STANDIN" "$BULK" || lab_fail "footprintctl tuning --json: $(fpctl tuning --json)"
ok "footprintctl tuning lists each thread and mask moved with its previous value"

# 3. crash, then a restart in observe: everything as found.
tlab_stop_agent KILL || true
state >"$TLAB_DIR/now.txt"
diff -q "$TLAB_DIR/before.txt" "$TLAB_DIR/now.txt" >/dev/null && lab_fail "nothing was in force at the crash"
[ "$(tlab_journal_size)" -gt 0 ] || lab_fail "no journal after the crash"
# And the NIC knobs' entries as a crashed run on a host with a NIC would
# leave them, for an IRQ and a NIC gone since (no NIC here has IRQs): the
# replay must know both knobs (an unknown one is dropped with an error)
# and take a gone object as undone.
for e in "fffffff0|irq|999999:fp15-gone-input.0|0-1|1" "fffffff1|rss|fp15-gone|0 1 0 1|1 1 1 0"; do
    IFS='|' read -r seq knob object previous value <<<"$e"
    printf '[change]\nseq=%d\nknob=%s\nobject=%s\nprevious=%s\nvalue=%s\ntime_us=0\n' \
        $((16#$seq)) "$knob" "$object" "$previous" "$value" >"$TLAB_DIR/state/tuning/00000000$seq.entry"
done
tlab_config mode=observe egress=up0 egress_rate_mbit=1000 "qemu_run_dir=$QDIR"
tlab_start_agent
state >"$TLAB_DIR/now.txt"
diff -u "$TLAB_DIR/before.txt" "$TLAB_DIR/now.txt" >&2 || lab_fail "observe after a crash: not as found"
[ "$(tlab_journal_size)" = 0 ] || lab_fail "journal left after the replay"
! grep -E "unknown knob|cannot be undone" "$TLAB_DIR/agent.log" >&2 ||
    lab_fail "the replay did not know the NIC knobs"
tlab_stop_agent TERM
ok "after SIGKILL, a restart in observe mode puts every affinity and mask back"

# 4. a VM that goes away, then SIGTERM.
tlab_config mode=enforce egress=up0 egress_rate_mbit=1000 "qemu_run_dir=$QDIR"
tlab_start_agent
lab_wait_for 10 sh -c "[ \"\$(awk '/^Cpus_allowed_list/ {print \$2}' /proc/$STANDIN/status)\" = 1 ]" ||
    lab_fail "enforce again: the vhost stand-in was not moved"
lab_wait_for 10 sh -c "grep -q '^Cpus_allowed_list:.0\$' /proc/$WEB/status" || lab_fail "web not moved"
# web's domain goes away (destroyed: the agent gets libvirt's event; its
# qemu stand-in lives on): its threads come back.
tlab_vms "bulk:throughput:fp15-tb;fp15-tq;vnet-a" pin:latency:fp15-tp
lab_wait_for 10 sh -c "grep -q '^Cpus_allowed_list:.0-1\$' /proc/$WEB/status" ||
    lab_fail "web's threads not given back when it went away: $(grep Cpus_allowed_list "/proc/$WEB/status")"
ok "a VM that goes away gets its threads back at once"

# 5. the elephant ends: the split goes (flow_idle 5 s + cpu_hold 5 s).
[ "$(cpus "$BULK" "IO io1")" = 1 ] || lab_fail "bulk not in the split before its elephant ends"
kill "$ELEPHANT"
t0=$(date +%s%N)
lab_wait_for 20 sh -c "[ \"\$(awk '/^Cpus_allowed_list/ {print \$2}' /proc/$STANDIN/status)\" = 0-1 ]" ||
    lab_fail "the split stayed after the elephant ended: $(fpctl tuning)"
echo "# split undone $((($(date +%s%N) - t0) / 1000000)) ms after the elephant ended"
sleep 1
state >"$TLAB_DIR/now.txt"
diff -u "$TLAB_DIR/before.txt" "$TLAB_DIR/now.txt" >&2 || lab_fail "after the elephant: not as found"
# (The egress lever's entries stay for demotion_hold: only ours are checked.)
cpu_entries() { cat "$TLAB_DIR"/state/tuning/*.entry 2>/dev/null | grep -c '^knob=\(affinity\|queues\)$' || true; }
[ "$(cpu_entries)" = 0 ] || lab_fail "affinity/queues journal entries left after the elephant ended"
ok "the elephant ends: every thread and mask back as found"
tlab_stop_agent TERM
state >"$TLAB_DIR/now.txt"
diff -u "$TLAB_DIR/before.txt" "$TLAB_DIR/now.txt" >&2 || lab_fail "SIGTERM: not as found"
[ "$(tlab_journal_size)" = 0 ] || lab_fail "journal left after SIGTERM"
ok "SIGTERM leaves everything as found"
echo "1..$N"
